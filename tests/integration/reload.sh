#!/bin/sh
# Reload under a running daemon (issue 8), by SIGHUP as systemctl reload
# sends it: a source added is polled and its items classified under a
# theme added in the same reload; a source removed is polled no more; a
# list added gets its digest; a schedule changed is the one used; a fetch
# in flight across the reload is stored; deliveries in flight across a
# second reload all arrive, each once.
set -eu
. "$(dirname "$0")/lib.sh"

command -v sqlite3 >/dev/null || skip "sqlite3 is not installed"
make_workdir
W="$T/work"
cfg="$W/reload.conf"
mkdir -p "$T/www"
cp "$SOURCE_ROOT/config/demo/staff-news.xml" "$T/www/blog.xml"
cp "$SOURCE_ROOT/config/demo/union-site.xml" "$T/www/old.xml"
cat >"$T/www/extra.xml" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Estates news</title>
<link>http://estates.example.org/</link><description>Buildings</description>
<item><title>Car park closure at the Leeds office</title>
<guid>extra-1</guid><pubDate>Mon, 23 Nov 2026 09:00:00 +0000</pubDate>
<description>The car park behind the office closes for resurfacing; parking permits for the multi-storey are available from reception.</description></item>
<item><title>New parking permits from January</title>
<guid>extra-2</guid><pubDate>Mon, 23 Nov 2026 10:00:00 +0000</pubDate>
<description>Staff parking permits change in January; apply through the estates team.</description></item>
</channel></rss>
XML
chmod -R a+rX "$T/www"
start_faultserver "$T/www"
F="http://127.0.0.1:$FAULT_PORT"
start_sink slow -w 1
q() { sqlite3 "$W/reload.db" "$1"; }
PORT=$(free_port)

# write_config A|B|C: A at start; B adds, removes and changes; C is B
# with one title changed, for a reload while deliveries are in flight.
write_config() {
	cat >"$cfg.tmp" <<CONF
[daemon]
database = reload.db
public_url = https://news.example.org
secret_file = demo-secret
timezone = Europe/London
templates = templates

[http]
listen = 127.0.0.1:$PORT

[smtp]
url = smtp://127.0.0.1:$SINK_PORT
connections = 1

[theme workload]
title = Workload and caseloads
keywords = workload, caseload, overtime

[source probation-notes]
title = Notes from the Probation Office
url = $F/hold/blog.xml
interval = 1h
CONF
	if [ "$1" = A ]; then
		cat >>"$cfg.tmp" <<CONF

[source old]
title = The old site
url = $F/old.xml
interval = 2s

[list staff-news]
title = Probation staff news
address = staff-news@example.org
schedule = weekly mon 07:30
sources = probation-notes, old
themes = workload, other
CONF
	else
		cat >>"$cfg.tmp" <<CONF

[theme parking]
title = Parking and buildings
keywords = parking, "car park"

[source extra]
title = Estates news $1
url = $F/extra.xml
interval = 1h

[list staff-news]
title = Probation staff news
address = staff-news@example.org
schedule = daily 06:45
sources = probation-notes, extra
themes = workload, parking, other

[list estates]
title = Estates
address = estates@example.org
schedule = monthly 1 08:00
sources = extra
themes = parking, other
CONF
	fi
	mv "$cfg.tmp" "$cfg"
}

write_config A
ctl() { "$BULLETINCTL" -c "$cfg" "$@"; }
add_subscribers "$cfg" 3
"$BULLETIND" -c "$cfg" >"$T/log" 2>&1 &
DPID=$!
stop_daemon() { kill -9 "$DPID" 2>/dev/null || true; }
cleanup_hooks="$cleanup_hooks stop_daemon"
assert_log() { assert_contains "$T/log" "$@"; }
wait_for "$T/log" "list staff-news: next digest"
assert_log "(every Monday at 07:30)"
# probation-notes is held in flight; old is read.
wait_for "$T/fault.log" "holding blog.xml"
wait_for "$T/log" "source old: "

# ---- reload 1: sources, themes, lists and schedules change ----
write_config B
ctl subscribers estates add a1@example.org >/dev/null
ctl subscribers estates add a2@example.org >/dev/null
kill -HUP "$DPID"
wait_for "$T/log" "reloaded $cfg: 2 sources, 2 lists, 2 themes"
assert_log "list staff-news: next digest"
assert_log "(every day at 06:45)"
assert_log "list estates: next digest"
assert_log "(on the 1st of every month at 08:00)"
old_polls=$(grep -c 'GET /old.xml' "$T/fault.log")
[ "$old_polls" -ge 1 ] || fail "source old was never polled"
# The new source is polled at once, its items under the new theme.
wait_for "$T/log" "source extra: 2 items, 2 new"
[ "$(q "SELECT group_concat(theme) FROM items i JOIN sources s ON s.id = i.source_id WHERE s.name = 'extra'")" = "parking,parking" ] ||
	fail "the new source's items are not under the new theme: $(q "SELECT title, theme FROM items")"
# The fetch that was in flight is stored when it ends.
touch "$T/www/.release"
wait_for "$T/log" "source probation-notes: 18 items, 18 new"
assert_not_contains "$T/log" "probation-notes: its url changed during a fetch"
# Both lists compose their digests (the new one for the first time),
# with the new source's stories.
wait_for "$T/log" "composed: 2 stories for 2 subscribers"
wait_for "$T/log" "composed: 2 stories for 3 subscribers"
# ---- reload 2: while deliveries are in flight to the slow sink ----
wait_for "$T/log" "digest delivered to" 30
sent_before=$(q "SELECT count(*) FROM deliveries WHERE state = 'sent'")
[ "$sent_before" -lt 5 ] || fail "all deliveries were done before reload 2"
write_config C
kill -HUP "$DPID"
i=0
until [ "$(grep -c "reloaded $cfg" "$T/log")" = 2 ]; do
	i=$((i + 1))
	[ $i -lt 150 ] || fail "the second reload was not logged"
	sleep 0.1
done
i=0
until [ "$(q "SELECT count(*) FROM deliveries WHERE state = 'sent'")" = 5 ]; do
	i=$((i + 1))
	[ $i -lt 300 ] || fail "deliveries did not all finish: $(q "SELECT state, count(*) FROM deliveries GROUP BY state")"
	sleep 0.1
done
# Each subscriber got exactly one message: the sink has five, one per
# address.
n=$(ls "$SINK_DIR" | wc -l)
[ "$n" = 5 ] || fail "the sink holds $n messages, expected 5"
for a in r1 r2 r3 a1 a2; do
	c=$(grep -l "^To: $a@example.org" "$SINK_DIR"/* | wc -l)
	[ "$c" = 1 ] || fail "$a@example.org got $c messages"
done
grep -l "^Subject: .*Estates" "$SINK_DIR"/* >/dev/null ||
	fail "no estates digest in the sink"
# The removed source is polled no more (it was due every 2 s, and
# other rounds ran since).
sleep 3
[ "$(grep -c 'GET /old.xml' "$T/fault.log")" = "$old_polls" ] ||
	fail "the removed source was still polled after the reload"

kill -TERM "$DPID"
wait_exit "$DPID" 15
[ "$EXIT_STATUS" = 0 ] || fail "bulletind exited $EXIT_STATUS"
assert_not_contains "$T/log" "error:"
echo PASS
