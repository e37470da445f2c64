#!/bin/sh
# Slow and oversized clients against bulletind's HTTP endpoint
# (RELIABILITY B9). Connections that trickle their headers a byte at a
# time (so that no idle timeout fires) and POSTs whose body never ends
# come from six client addresses, more than the endpoint keeps open at
# once, while a normal client asks for /healthz. Expected: the normal
# client is served throughout; one address never holds more than its
# limit (a further request from it is closed unanswered); every slow
# connection is closed without an answer, either to make room (the
# oldest go first) or when it has not sent a whole request within the
# timeout, and the daemon says which in its log; a kept-alive connection
# left idle after its answer is closed too, without a warning; resident
# memory stays bounded. A 64 KiB header and 10,000 header lines get 431.
set -eu
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || skip "curl is not installed"
demo_setup
PORT=$(free_port)
# debug: libmicrohttpd's own refusals (over a limit) are logged then.
sed -i "s|^log_level = info|log_level = debug|" "$cfg"
sed -i "s|^\[smtp\]|[http]\nlisten = 127.0.0.1:$PORT\n\n[smtp]|" "$cfg"
URL="http://127.0.0.1:$PORT"

"$BULLETIND" -c "$cfg" >"$T/daemon.log" 2>&1 &
DPID=$!
stop_daemon() {
	kill "$DPID" 2>/dev/null || true
	wait "$DPID" 2>/dev/null || true
}
cleanup_hooks="stop_daemon $cleanup_hooks"
wait_for "$T/daemon.log" "http: listening on 127.0.0.1:$PORT"

# Oversized headers: refused with 431, and the daemon carries on.
head -c 65536 /dev/zero | tr '\0' a >"$T/big"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Big: $(cat "$T/big")" "$URL/healthz")
[ "$code" = 431 ] || fail "a 64 KiB header answered $code, expected 431"
python3 - "$PORT" <<'PY' >"$T/lines" || fail "10,000 header lines: no answer"
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 10)
s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X: y\r\n" * 10000 + b"\r\n")
print(s.recv(100).split(b"\r\n")[0].decode())
PY
assert_contains "$T/lines" "HTTP/1.1 431"

python3 "$SOURCE_ROOT/tests/integration/slowloris.py" "$PORT" "$DPID" "$T/seen" ||
	fail "slowloris.py failed"
cat "$T/seen"
seen() { sed -n "s/^$1 //p" "$T/seen"; }

[ "$(seen normal_1)" = "HTTP/1.1 200 OK" ] ||
	fail "the normal client was not served beside one slow address: $(seen normal_1)"
[ "$(seen normal_2)" = "HTTP/1.1 200 OK" ] ||
	fail "the normal client was not served beside six slow addresses: $(seen normal_2)"
[ "$(seen refused_probe)" = yes ] ||
	fail "a 65th connection from one address was served (per-address limit)"
[ "$(seen open_at_end)" = 0 ] ||
	fail "$(seen open_at_end) slow connections were never closed"
[ "$(seen keepalive)" = yes ] ||
	fail "an idle kept-alive connection: $(seen keepalive)"
[ "$(seen answered)" = 0 ] ||
	fail "$(seen answered) slow connections got an answer to a request never finished"
kill -0 "$DPID" || fail "bulletind died"
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/healthz")
[ "$code" = 200 ] || fail "/healthz answered $code after the attack"

# Every slow connection is accounted for in the log: refused at once by
# a limit, closed to make room, or closed at the timeout (the idle
# kept-alive one is closed without a word).
refused=$(grep -c 'reached connection limit' "$T/daemon.log" || true)
shed=$(sed -n 's/.*http: over [0-9]* connections open: closed the \([0-9]*\) oldest.*/\1/p' "$T/daemon.log" |
	awk '{ n += $1 } END { print n + 0 }')
late=$(sed -n 's/.*http: closed \([0-9]*\) connections\{0,1\} that sent no whole request within.*/\1/p' "$T/daemon.log" |
	awk '{ n += $1 } END { print n + 0 }')
echo "refused $refused, closed to make room $shed, closed at the timeout $late"
[ "$refused" -ge 17 ] || fail "only $refused connections refused: the per-address limit did not hold"
[ "$shed" -gt 0 ] || fail "no connection was closed to make room"
[ "$late" -gt 0 ] || fail "no slow connection was closed at the timeout"
[ $((refused + shed + late)) = "$(seen opened)" ] ||
	fail "refused $refused + made room $shed + timed out $late != $(seen opened) opened"

# Bounded memory: far less than a copy of what the clients could send.
grow=$(($(seen rss_peak) - $(seen rss_before)))
[ "$grow" -lt 32768 ] || fail "resident memory grew by $grow KiB under the attack"
echo "ok"
