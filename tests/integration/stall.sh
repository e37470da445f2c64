#!/bin/sh
# A source whose server never answers: it costs its own timeout and
# nothing else. The other source is stored and the digest sent; a SIGHUP
# while the stalled fetch is in flight neither spins nor blocks the loop,
# so SIGTERM still stops the daemon at once; a SIGTERM during --once ends
# it with status 1, saying the cycle was interrupted.
set -eu
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/www"
start_faultserver "$T/www"
make_workdir
cfg="$T/work/demo.conf"
sed -i "s#^url = demo/union-site.xml#url = http://127.0.0.1:$FAULT_PORT/stall/union.xml#" "$cfg"
printf '\n[fetch]\ntimeout = 3s\n' >>"$cfg"
"$BULLETINCTL" -c "$cfg" subscribers staff-news add reader@example.org \
	>/dev/null

# --once: the stalled source times out and is reported; the rest goes on.
expect_exit 1 "$BULLETIND" -c "$cfg" --once
assert_contains "$T/err" "source union-branch"
assert_contains "$T/err" "timed out after 3"
assert_contains "$T/err" "digest delivered to reader@example.org"

# The daemon, on a new database so that the stalled source is due now:
# SIGHUP while its fetch is in flight.
sed -i 's/^timeout = 3s$/timeout = 60s/' "$cfg"
rm -f "$T/work/demo.db" "$T/work/demo.db-wal" "$T/work/demo.db-shm"
"$BULLETIND" -c "$cfg" 2>"$T/log" &
pid=$!
stop_daemon() { kill -9 "$pid" 2>/dev/null; }
cleanup_hooks="$cleanup_hooks stop_daemon"
wait_for "$T/log" "started with"
sleep 0.5
kill -HUP "$pid"
wait_for "$T/log" "reloaded"
sleep 1
# A loop spinning on a zero timer would use a second of CPU a second.
ticks=$(awk '{print $14 + $15}' "/proc/$pid/stat")
hz=$(getconf CLK_TCK)
[ "$ticks" -lt "$hz" ] || fail "bulletind used $ticks ticks of CPU while idle"
kill -TERM "$pid"
wait_exit "$pid" 10
[ "$EXIT_STATUS" -eq 0 ] || fail "bulletind exited $EXIT_STATUS after SIGTERM"
assert_contains "$T/log" "stopped"

# --once interrupted by SIGTERM while the stalled fetch is in flight.
"$BULLETIND" -c "$cfg" --once 2>"$T/log2" &
pid=$!
wait_for "$T/log2" "started with"
sleep 0.5
kill -TERM "$pid"
wait_exit "$pid" 10
[ "$EXIT_STATUS" -eq 1 ] || fail "interrupted --once exited $EXIT_STATUS, not 1"
assert_contains "$T/log2" "interrupted"
echo PASS
