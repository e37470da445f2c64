#!/bin/sh
# Requests never confirmed expire and are purged (RELIABILITY C5), and
# confirming after that fails cleanly. Rows of every kind are made
# through bulletind and bulletinctl, the daemon is stopped, some are
# aged past confirm_expiry (7 days) in the database, and the daemon,
# started again, purges at once. Expected: old unconfirmed requests are
# gone (a former subscriber's request whose row has deliveries cannot
# be deleted, so it goes back to unsubscribed); a recent request, an
# active subscriber, one waiting for approval and one who left are
# unchanged, every column; the old confirmation link answers 410
# "expired" by HTTP and is refused by mail, recreating nothing; and an
# old unsubscribe link of a purged row does not act on whoever gets its
# row id next.
set -eu
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || skip "curl is not installed"
command -v sqlite3 >/dev/null || skip "sqlite3 is not installed"
FORGE="$SOURCE_ROOT/tests/integration/tokenforge.py"
demo_setup
PORT=$(free_port)
sed -i "s|^\[smtp\]|[http]\nlisten = 127.0.0.1:$PORT\n\n[smtp]|" "$cfg"
# A send with nothing new still makes a digest (for former@'s delivery).
sed -i "s|^title = Probation staff news|title = Probation staff news\nnothing_new = yes|" "$cfg"
cat >>"$cfg" <<'CONF'

[list staff-only]
address = staff-only@example.org
schedule = weekly mon 07:30
subscribe = approve
CONF
URL="http://127.0.0.1:$PORT"
id_of() { q "SELECT id FROM subscribers WHERE address = '$1'"; }
state() { q "SELECT state || '/' || coalesce(awaiting, '') FROM subscribers WHERE address = '$1'"; }
n=0
mail() {
	n=$((n + 1))
	printf 'From: %s\nTo: %s\nSubject: x\nDate: Mon, 23 Nov 2026 10:00:00 +0000\nMessage-ID: <p%s.%s@test>\n\nplease\n' \
		"$1" "$2" "$n" "$$" | ctl receive 2>>"$T/receive.log" || fail "receive refused mail to $2"
}
start_daemon() {
	"$BULLETIND" -c "$cfg" >>"$T/daemon.log" 2>&1 &
	DPID=$!
}
stop_daemon() {
	kill "$DPID" 2>/dev/null || true
	wait "$DPID" 2>/dev/null || true
}
cleanup_hooks="stop_daemon $cleanup_hooks"
: >"$T/daemon.log"
start_daemon
wait_for "$T/daemon.log" "http: listening on 127.0.0.1:$PORT"

# old@: a request never confirmed (to be aged).
mail old@example.org staff-news+subscribe@example.org
wait_for "$T/daemon.log" "confirm reply delivered to old@example.org"
# fresh@: a recent request.
mail fresh@example.org staff-news+subscribe@example.org
wait_for "$T/daemon.log" "confirm reply delivered to fresh@example.org"
# active@: a subscriber.
ctl subscribers staff-news add active@example.org >/dev/null
# waiting@: confirmed, waiting for the admin's approval.
mail waiting@example.org staff-only+subscribe@example.org
wait_for "$T/daemon.log" "confirm reply delivered to waiting@example.org"
tok=$(grep -ho 'https://news.example.org/c/[A-Za-z0-9_-]*' $(grep -l '^To: waiting@example.org' "$W"/maildir/new/*) | head -1 | sed 's|.*/c/||')
code=$(curl -s -o /dev/null -w '%{http_code}' -d confirm=yes "$URL/c/$tok")
[ "$code" = 200 ] || fail "confirming waiting@ answered $code"
[ "$(state waiting@example.org)" = pending/approval ] || fail "waiting@ is $(state waiting@example.org)"
# left@: subscribed, then removed.
ctl subscribers staff-news add left@example.org >/dev/null
ctl subscribers staff-news remove left@example.org >/dev/null
# former@: got a digest, left, asked again and never confirmed.
ctl subscribers staff-news add former@example.org >/dev/null
ctl send staff-news >"$T/send.log" 2>&1 || { cat "$T/send.log" >&2; fail "ctl send failed"; }
[ "$(q "SELECT count(*) FROM deliveries WHERE subscriber_id = $(id_of former@example.org)")" -ge 1 ] ||
	fail "former@ got no digest"
ctl subscribers staff-news remove former@example.org >/dev/null
mail former@example.org staff-news+subscribe@example.org
wait_for "$T/daemon.log" "confirm reply delivered to former@example.org"
# rejoin@: subscribed and left before any digest, asked again and never
# confirmed; the newest row, so its id is the one SQLite hands out next
# once it is deleted.
ctl subscribers staff-news add rejoin@example.org >/dev/null
ctl subscribers staff-news remove rejoin@example.org >/dev/null
mail rejoin@example.org staff-news+subscribe@example.org
wait_for "$T/daemon.log" "confirm reply delivered to rejoin@example.org"
for a in old fresh former rejoin; do
	[ "$(state $a@example.org)" = pending/confirm ] || fail "$a@ is $(state $a@example.org), not pending"
done
stop_daemon

# Age the requests of old@, former@ and rejoin@ (and, to show that age
# alone purges nothing, of the others) past confirm_expiry.
now=$(date +%s)
old=$((now - 8 * 86400))
older=$((now - 10 * 86400))
q "UPDATE subscribers SET created = $older, requested = $old, confirm_issued = CASE WHEN confirm_issued IS NULL THEN NULL ELSE $old END"
old_id=$(id_of old@example.org)
rejoin_id=$(id_of rejoin@example.org)
former_id=$(id_of former@example.org)
[ "$rejoin_id" = "$(q "SELECT max(id) FROM subscribers")" ] || fail "rejoin@ is not the newest row"
kept="fresh@example.org active@example.org waiting@example.org left@example.org"
# fresh@'s request is recent: it alone is not aged.
q "UPDATE subscribers SET created = $now, requested = $now, confirm_issued = $now WHERE address = 'fresh@example.org'"
rows() { q "SELECT * FROM subscribers WHERE address IN ('fresh@example.org', 'active@example.org', 'waiting@example.org', 'left@example.org') ORDER BY id"; }
rows >"$T/before"
[ "$(wc -l <"$T/before")" = 4 ] || fail "expected 4 rows to keep"
q "SELECT count(*) FROM deliveries" >"$T/deliveries-before"

start_daemon
wait_for "$T/daemon.log" "subscription requests never confirmed were purged"
wait_for "$T/daemon.log" "http: listening on 127.0.0.1:$PORT"
grep "never confirmed were purged" "$T/daemon.log"
grep -q "^.* 3 subscription requests never confirmed were purged" "$T/daemon.log" ||
	fail "expected 3 requests purged"

# Gone: the requests of old@ and rejoin@. former@ has deliveries on
# record: its request is dropped, and it is unsubscribed again.
[ "$(q "SELECT count(*) FROM subscribers WHERE address IN ('old@example.org', 'rejoin@example.org')")" = 0 ] ||
	fail "old@ or rejoin@ is still there: $(q "SELECT address, state FROM subscribers WHERE address IN ('old@example.org', 'rejoin@example.org')")"
[ "$(state former@example.org)" = unsubscribed/ ] || fail "former@ is $(state former@example.org)"
[ "$(q "SELECT coalesce(confirm_issued, 0) FROM subscribers WHERE address = 'former@example.org'")" = 0 ] ||
	fail "former@ still has a confirmation out"
[ "$(q "SELECT count(*) FROM deliveries")" = "$(cat "$T/deliveries-before")" ] || fail "deliveries changed"
# Kept, every column as it was.
rows >"$T/after"
cmp -s "$T/before" "$T/after" || {
	diff "$T/before" "$T/after" >&2 || true
	fail "a row that should stay changed"
}

# Confirming afterwards: the link (as mailed, issued when old@ asked)
# says it expired, by GET and POST, and creates nothing.
CT=$(python3 "$FORGE" "$W/demo-secret" c staff-news "$old_id" "$old")
code=$(curl -s -o "$T/page" -w '%{http_code}' "$URL/c/$CT")
[ "$code" = 410 ] || fail "GET of a purged request's confirm link answered $code, expected 410"
assert_contains "$T/page" "expired"
assert_contains "$T/page" 'action="/s/staff-news"'
code=$(curl -s -o "$T/page" -w '%{http_code}' -d confirm=yes "$URL/c/$CT")
[ "$code" = 410 ] || fail "POST of a purged request's confirm link answered $code, expected 410"
[ "$(q "SELECT count(*) FROM subscribers WHERE address = 'old@example.org'")" = 0 ] ||
	fail "confirming a purged request made a row"
# By mail: refused, no reply, nothing created.
replies=$(q "SELECT count(*) FROM notices WHERE address = 'old@example.org'")
mail old@example.org "staff-news+confirm-$CT@example.org"
i=0
while [ "$(q "SELECT count(*) FROM commands WHERE state = 'pending'")" != 0 ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
[ "$(q "SELECT state FROM commands ORDER BY id DESC LIMIT 1")" = failed ] ||
	fail "a mailed confirm of a purged request was not refused"
[ "$(q "SELECT outcome FROM sub_events WHERE address = 'old@example.org' ORDER BY id DESC LIMIT 1")" = "refused: the confirmation link expired" ] ||
	fail "the refusal does not say the link expired: $(q "SELECT outcome FROM sub_events WHERE address = 'old@example.org' ORDER BY id DESC LIMIT 1")"
[ "$(q "SELECT count(*) FROM notices WHERE address = 'old@example.org'")" = "$replies" ] ||
	fail "a mailed confirm of a purged request got a reply"
[ "$(q "SELECT count(*) FROM subscribers WHERE address = 'old@example.org'")" = 0 ] ||
	fail "a mailed confirm of a purged request made a row"

# rejoin@'s unsubscribe link from its welcome (issued before it left)
# names a row id that a new subscriber may now hold: it acts on nobody.
ctl subscribers staff-news add newbie@example.org >/dev/null
echo "rejoin@ had id $rejoin_id; newbie@ got id $(id_of newbie@example.org)"
UT=$(python3 "$FORGE" "$W/demo-secret" u staff-news "$rejoin_id" $((now - 9 * 86400)))
code=$(curl -s -o /dev/null -w '%{http_code}' -d List-Unsubscribe=One-Click "$URL/u/$UT")
[ "$code" = 404 ] || fail "a purged row's unsubscribe link answered $code, expected 404"
[ "$(state newbie@example.org)" = active/ ] || fail "a purged row's unsubscribe link unsubscribed newbie@"
echo "ok"
