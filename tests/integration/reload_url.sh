#!/bin/sh
# A reload that changes a source's url while its old url is still being
# fetched: the old fetch's result is dropped, not written over what the
# store now knows about the new url, and the new url is polled next.
set -eu
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/www"
cp "$SOURCE_ROOT/config/demo/staff-news.xml" "$T/www/blog.xml"
chmod -R a+rX "$T/www"
start_faultserver "$T/www"
make_workdir
cfg="$T/work/demo.conf"
sed -i "s#^url = demo/staff-news.xml#url = http://127.0.0.1:$FAULT_PORT/stall/blog.xml#" "$cfg"
printf '\n[fetch]\ntimeout = 3s\n' >>"$cfg"

"$BULLETIND" -c "$cfg" 2>"$T/log" &
pid=$!
stop_daemon() { kill -9 "$pid" 2>/dev/null; }
cleanup_hooks="$cleanup_hooks stop_daemon"
wait_for "$T/fault.log" "stalls now: 1"
sed -i "s#/stall/blog.xml#/blog.xml#" "$cfg"
kill -HUP "$pid"
wait_for "$T/log" "source probation-notes: 18 items"
kill -TERM "$pid"
wait_exit "$pid" 10
assert_contains "$T/log" "source probation-notes: its url changed during a fetch; that result is dropped"
assert_not_contains "$T/log" "source probation-notes (http://127.0.0.1:$FAULT_PORT/stall/blog.xml)"
python3 - "$T/work/demo.db" "http://127.0.0.1:$FAULT_PORT/blog.xml" <<'PY'
import sqlite3, sys
r = sqlite3.connect(sys.argv[1]).execute(
    "SELECT url, failures, last_error, last_status FROM sources "
    "WHERE name = 'probation-notes'").fetchone()
if r != (sys.argv[2], 0, None, 200):
    sys.exit("FAIL: source row %r" % (r,))
PY
echo PASS
