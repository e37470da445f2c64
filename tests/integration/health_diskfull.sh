#!/bin/sh
# GET /healthz when the disk fills under a running daemon: a feed
# added by a reload cannot be stored, and /healthz answers 503 saying the
# disk is full (not where), although the small heartbeat may still fit;
# the daemon keeps running, and once there is room the feed is stored.
set -eu
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || skip "curl is not installed"
make_workdir
mkdir "$T/small"
if ! mount -t tmpfs -o size=3m tmpfs "$T/small" 2>/dev/null; then
	skip "cannot mount a tmpfs here (not root?)"
fi
unmount_small() { umount "$T/small"; }
cleanup_hooks="unmount_small $cleanup_hooks"
cp -R "$T/work" "$T/small/work"
W="$T/small/work"
cfg="$W/demo.conf"
PORT=$(free_port)
sed -i "s|^\[smtp\]|[http]\nlisten = 127.0.0.1:$PORT\n\n[smtp]|" "$cfg"
# A feed of 400 items of about 2 KB each, kept outside the small disk.
python3 - "$T/big.xml" <<'PY'
import sys
words = "caseload workload office probation union branch meeting pay".split()
items = []
for i in range(400):
    text = " ".join(words[(i + j) % len(words)] + str(j) for j in range(250))
    items.append("<item><guid>big-%d</guid><title>Story %d</title>"
                 "<description>%s</description></item>" % (i, i, text))
open(sys.argv[1], "w").write('<?xml version="1.0"?><rss version="2.0">'
    "<channel><title>Big</title>%s</channel></rss>" % "".join(items))
PY

"$BULLETIND" -c "$cfg" >"$T/log" 2>&1 &
DPID=$!
stop_daemon() { kill -9 "$DPID" 2>/dev/null || true; }
cleanup_hooks="stop_daemon $cleanup_hooks"
wait_for "$T/log" "source union-branch: "
code=$(curl -s -o "$T/h" -w '%{http_code}' "http://127.0.0.1:$PORT/healthz")
[ "$code" = 200 ] || fail "/healthz answered $code before the disk filled: $(cat "$T/h")"

dd if=/dev/zero of="$T/small/filler" bs=4k 2>/dev/null || true
printf '\n[source big]\ntitle = Big\nurl = %s\n' "$T/big.xml" >>"$cfg"
kill -HUP "$DPID"
wait_for "$T/log" "disk full" 30
code=$(curl -s -o "$T/h" -w '%{http_code}' "http://127.0.0.1:$PORT/healthz")
[ "$code" = 503 ] || fail "/healthz answered $code with the disk full: $(cat "$T/h")"
assert_contains "$T/h" "the database cannot be written: the disk is full"
assert_not_contains "$T/h" "$W"
kill -0 "$DPID" || fail "bulletind died when the disk filled"

# Room again: the next try stores the feed (it was not marked as read).
rm -f "$T/small/filler"
"$BULLETINCTL" -c "$cfg" fetch big >"$T/out" 2>&1 ||
	fail "the feed could not be stored once there was room: $(cat "$T/out")"
assert_contains "$T/out" "source big: 400 items, 400 new"
kill -TERM "$DPID"
wait_exit "$DPID" 15
echo PASS
