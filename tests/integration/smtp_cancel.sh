#!/bin/sh
# Unsubscribing while a digest is being sent (RELIABILITY C10): a
# one-click POST to the last recipient's link, made while the first
# messages crawl to a slow smtp-sink, cancels that recipient's queued
# delivery; nobody else's is touched, and the one who left gets nothing.
set -eu
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || skip "curl is not installed"
command -v sqlite3 >/dev/null || skip "sqlite3 is not installed"
demo_setup
PORT=$(free_port)
for a in r1 r2 r3 r4 r5 r6; do
	ctl subscribers staff-news add "$a@example.org" >/dev/null
done
# One connection to a server that takes 1 s before answering each DATA:
# six messages take six seconds at least.
start_sink slow -w 1
sed -i "s|^url = maildir:maildir|url = smtp://127.0.0.1:$SINK_PORT\\
connections = 1|" "$cfg"
sed -i "s|^\[smtp\]|[http]\nlisten = 127.0.0.1:$PORT\n\n[smtp]|" "$cfg"

"$BULLETIND" -c "$cfg" >"$T/log" 2>&1 &
DPID=$!
stop_daemon() { kill -9 "$DPID" 2>/dev/null || true; }
cleanup_hooks="$cleanup_hooks stop_daemon"
wait_for "$T/log" "digest delivered to r1@example.org" 30
[ "$(q "SELECT count(*) FROM deliveries WHERE state = 'sent'")" -lt 6 ] ||
	fail "all were sent before the test could unsubscribe anyone"

# r6's own link, from the digest as r6 gets it.
id=$(q "SELECT max(id) FROM digests")
ctl digests --show "$id" --to r6@example.org >"$T/r6.eml"
url=$(sed -n 's/^List-Unsubscribe: .*<\(https:[^>]*\)>.*/\1/p' "$T/r6.eml")
token=${url##*/u/}
[ -n "$token" ] && [ "$token" != "$url" ] || fail "no one-click link for r6: $(grep -i unsubscribe "$T/r6.eml")"
code=$(curl -s -o /dev/null -w '%{http_code}' -d List-Unsubscribe=One-Click "http://127.0.0.1:$PORT/u/$token")
[ "$code" = 200 ] || fail "one-click POST answered $code"
[ "$(q "SELECT state FROM subscribers WHERE address = 'r6@example.org'")" = unsubscribed ] ||
	fail "r6 was not unsubscribed"

# Everyone else's message arrives; r6's never goes.
i=0
until [ "$(q "SELECT count(*) FROM deliveries WHERE state = 'sent'")" = 5 ]; do
	i=$((i + 1))
	[ $i -lt 300 ] || fail "deliveries: $(q "SELECT s.address, d.state FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id")"
	sleep 0.1
done
wait_for "$T/log" "r6@example.org: not sent: unsubscribed while the digest was going out"
sleep 2
kill -TERM "$DPID"
wait_exit "$DPID" 15
[ "$(q "SELECT d.state FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id WHERE s.address = 'r6@example.org'")" != sent ] ||
	fail "r6's delivery was sent after r6 left"
for a in r1 r2 r3 r4 r5; do
	[ "$(grep -l "^To: $a@example.org" "$SINK_DIR"/* | wc -l)" = 1 ] ||
		fail "$a@example.org did not get exactly one digest"
done
if grep -l "^To: r6@example.org" "$SINK_DIR"/* >/dev/null 2>&1; then
	fail "r6 got a digest after leaving"
fi
echo PASS
