#!/bin/sh
# What the daemon says about itself (issue 8): GET /metrics in the
# Prometheus text format, with the values this run caused; GET /healthz
# failing while the loop was stalled (the process stopped for 6 s) and
# while the database cannot be written (a lock held by another process),
# saying which; bulletinctl status on a running, a stopped and a killed
# daemon.
set -eu
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || skip "curl is not installed"
command -v sqlite3 >/dev/null || skip "sqlite3 is not installed"
demo_setup
PORT=$(free_port)
DEAD=$(free_port) # nothing listens there: the source fails
sed -i "s|^\[smtp\]|[http]\nlisten = 127.0.0.1:$PORT\n\n[smtp]|" "$cfg"
sed -i "s|^sources = probation-notes, union-branch|&, broken|" "$cfg"
cat >>"$cfg" <<CONF

[source broken]
title = A site that is down
url = http://127.0.0.1:$DEAD/feed.xml
CONF
URL="http://127.0.0.1:$PORT"
add_subscribers "$cfg" 2

# Never started: status says so and fails.
expect_exit 1 ctl status
assert_contains "$T/out" "bulletind: has never run on $W/demo.db"

"$BULLETIND" -c "$cfg" >"$T/daemon.log" 2>&1 &
DPID=$!
stop_daemon() { kill -9 "$DPID" 2>/dev/null || true; }
cleanup_hooks="$cleanup_hooks stop_daemon"
wait_for "$T/daemon.log" "http: listening on 127.0.0.1:$PORT"
wait_for "$T/daemon.log" "digest delivered to r2@example.org"
# The warning about the broken source reaches the store at the next
# heartbeat, at most a few seconds after it was logged.
i=0
until [ "$(q "SELECT count(*) FROM daemon_log WHERE message LIKE 'source broken%'")" = 1 ]; do
	i=$((i + 1))
	[ $i -lt 100 ] || fail "the broken source's warning never reached daemon_log"
	sleep 0.2
done

# ---- metrics ----
curl -sS -D "$T/mh" "$URL/metrics" >"$T/metrics" || fail "GET /metrics failed"
assert_contains "$T/mh" "HTTP/1.1 200"
assert_contains "$T/mh" "Content-Type: text/plain; version=0.0.4; charset=utf-8"
items=$(q "SELECT count(*) FROM items")
dups=$(q "SELECT count(*) FROM items WHERE duplicate_of IS NOT NULL")
[ "$items" -gt 20 ] && [ "$dups" -gt 0 ] || fail "the demo stored $items items, $dups duplicates"
have_metric() {
	grep -qxF -- "$1" "$T/metrics" || {
		cat "$T/metrics" >&2
		fail "no line '$1' in /metrics"
	}
}
have_metric 'bulletin_fetches_total{result="ok"} 2'
have_metric 'bulletin_fetches_total{result="failed"} 1'
have_metric 'bulletin_fetches_total{result="not_modified"} 0'
have_metric 'bulletin_fetches_total{result="gone"} 0'
have_metric "bulletin_items_ingested_total $items"
have_metric "bulletin_duplicates_total $dups"
have_metric 'bulletin_digests_total 1'
have_metric 'bulletin_deliveries_total{result="sent"} 2'
have_metric 'bulletin_deliveries_total{result="failed"} 0'
have_metric 'bulletin_outbox_messages{state="sent"} 2'
have_metric 'bulletin_outbox_messages{state="pending"} 0'
have_metric 'bulletin_outbox_depth 0'
have_metric 'bulletin_source_failures{source="broken"} 1'
have_metric 'bulletin_source_failures{source="probation-notes"} 0'
have_metric 'bulletin_healthy 1'
have_metric '# TYPE bulletin_fetches_total counter'
have_metric '# TYPE bulletin_outbox_depth gauge'
grep -Eq '^bulletin_source_last_success_seconds\{source="union-branch"\} [0-9]+$' "$T/metrics" ||
	fail "no last-success age for union-branch"
assert_not_contains "$T/metrics" 'bulletin_source_last_success_seconds{source="broken"}'
# No addresses, tokens or paths (B11).
assert_not_contains "$T/metrics" "@"
assert_not_contains "$T/metrics" "$W"
# Every sample line is NAME{LABELS} VALUE, under a TYPE line of its name.
python3 - "$T/metrics" <<'PY'
import re, sys
typed = set()
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    m = re.match(r"# TYPE (\w+) (counter|gauge)$", line)
    if m:
        typed.add(m.group(1))
        continue
    if line.startswith("# HELP "):
        continue
    m = re.match(r'([a-z_]+)(\{[a-z_]+="(?:[^"\\]|\\.)*"\})? (-?[0-9.e+-]+)$', line)
    if not m:
        sys.exit("FAIL: malformed metrics line %r" % line)
    if m.group(1) not in typed:
        sys.exit("FAIL: %s has no TYPE line before it" % m.group(1))
PY

# ---- health ----
curl -sS "$URL/healthz" >"$T/h" || fail "GET /healthz failed"
assert_contains "$T/h" "ok"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -d x=1 "$URL/healthz")
[ "$code" = 405 ] || fail "POST /healthz answered $code, expected 405"

# status on a healthy daemon: exit 0, one screen.
expect_exit 0 ctl status
assert_contains "$T/out" "bulletind: running, pid $DPID"
assert_contains "$T/out" "health:    ok (http://127.0.0.1:$PORT/healthz)"
assert_contains "$T/out" "2 ok, 1 failing, 0 disabled, 0 not yet read"
assert_contains "$T/out" "failing  broken"
assert_contains "$T/out" "(every Monday at 07:30)"
assert_contains "$T/out" "Outbox: 0 pending, 0 sending, 2 sent, 0 failed"
assert_contains "$T/out" "warning source broken (http://127.0.0.1:$DEAD/feed.xml)"
[ "$(wc -l <"$T/out")" -le 24 ] || fail "status is more than one screen"

# A stalled loop: the process stopped for 6 s, as a blocking call would.
kill -STOP "$DPID"
sleep 6
kill -CONT "$DPID"
code=$(curl -sS -o "$T/h" -w '%{http_code}' "$URL/healthz")
[ "$code" = 503 ] || fail "/healthz answered $code after a stall, expected 503"
assert_contains "$T/h" "the event loop was blocked for"
curl -sS "$URL/metrics" >"$T/metrics"
have_metric 'bulletin_healthy 0'
awk '$1 == "bulletin_loop_lag_seconds" && $2 >= 5 { f = 1 } END { exit !f }' "$T/metrics" ||
	fail "bulletin_loop_lag_seconds did not show the stall"
expect_exit 1 ctl status
assert_contains "$T/out" "health:    UNHEALTHY (HTTP 503): the event loop was blocked"

# The database cannot be written: another process holds its write lock.
(
	echo 'BEGIN IMMEDIATE;'
	sleep 14
	echo 'ROLLBACK;'
) | sqlite3 "$W/demo.db" &
LOCKER=$!
i=0
while :; do
	curl -sS -m 20 -o "$T/h" "$URL/healthz" 2>/dev/null || true
	grep -qF "the database cannot be written" "$T/h" && break
	i=$((i + 1))
	[ $i -lt 20 ] || fail "/healthz never reported the locked database: $(cat "$T/h")"
	sleep 0.5
done
assert_contains "$T/h" "another process holds its lock"
# What anybody may read says nothing of paths (B11).
assert_not_contains "$T/h" "$W"
wait "$LOCKER"
wait_for "$T/daemon.log" "the database takes writes again" 30
curl -sS -o "$T/h" "$URL/healthz"
assert_not_contains "$T/h" "the database cannot be written"
# The failed writes were logged, and are listed by status.
ctl status >"$T/out" || true
assert_contains "$T/out" "is locked by another process"

# Stopped cleanly: status says when.
kill -TERM "$DPID"
wait_exit "$DPID" 15
expect_exit 1 ctl status
assert_contains "$T/out" "bulletind: stopped at"

# Killed: the heartbeat row names a pid that is gone.
"$BULLETIND" -c "$cfg" >>"$T/daemon.log" 2>&1 &
DPID=$!
wait_for "$T/daemon.log" "http: listening on 127.0.0.1:$PORT" 30
i=0
until [ "$(q "SELECT pid FROM daemon")" = "$DPID" ]; do
	i=$((i + 1))
	[ $i -lt 100 ] || fail "the new daemon never wrote its heartbeat"
	sleep 0.1
done
kill -9 "$DPID"
wait_exit "$DPID" 10
expect_exit 1 ctl status
assert_contains "$T/out" "bulletind: NOT RUNNING: pid $DPID is gone"
echo PASS
