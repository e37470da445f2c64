#!/bin/sh
# The disk fills up in the middle of an SMTP send (RELIABILITY G10): the
# outcomes cannot be recorded, bulletind says so (naming the database and
# what to do), sends nothing it had not started and exits non-zero; once
# there is room again, a restart sends what was not recorded, and every
# subscriber has the digest, a second copy only where a message was
# being sent when the disk filled.
set -eu
. "$(dirname "$0")/lib.sh"

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
add_subscribers "$cfg" 40
"$BULLETINCTL" -c "$cfg" fetch >/dev/null 2>&1 || fail "fetch failed"
start_sink slow -w 1
sed -i "s|^url = maildir:maildir|url = smtp://127.0.0.1:$SINK_PORT\\
connections = 2|" "$cfg"

"$BULLETIND" -c "$cfg" --once 2>"$T/log" &
pid=$!
stop_daemon() { kill -9 "$pid" 2>/dev/null || true; }
cleanup_hooks="stop_daemon $cleanup_hooks"
wait_for "$T/log" "digest delivered to" 30
dd if=/dev/zero of="$T/small/filler" bs=4k 2>/dev/null || true
wait_exit "$pid" 120
[ "$EXIT_STATUS" = 1 ] || { cat "$T/log" >&2; fail "bulletind exited $EXIT_STATUS, not 1"; }
assert_contains "$T/log" "nothing more is sent until they are recorded"
assert_contains "$T/log" "disk full"
assert_contains "$T/log" "$W/demo.db"

rm -f "$T/small/filler"
expect_exit 0 "$BULLETIND" -c "$cfg" --once
mkdir "$T/got"
cp "$SINK_DIR"/* "$T/got/" 2>/dev/null || true
python3 "$SOURCE_ROOT/tests/integration/check_mail.py" "$T/got" \
	staff-news@example.org >"$T/rcpts" || fail "a message is malformed"
[ "$(cut -d' ' -f1 "$T/rcpts" | sort -u | wc -l)" = 40 ] ||
	fail "not every subscriber got the digest"
[ "$(sort -u "$T/rcpts" | wc -l)" = 40 ] ||
	fail "a second copy has another Message-ID"
# Second copies only for messages sent between the last outcome recorded
# and the first that could not be (two connections, one message a second
# each): a handful, not the 40 that were queued.
[ "$(wc -l <"$T/rcpts")" -le 50 ] ||
	fail "$(wc -l <"$T/rcpts") copies for 40 subscribers: the held-back messages went out"
[ "$(sqlite3 "$W/demo.db" "SELECT count(*) FROM deliveries WHERE state = 'sent'")" = 40 ] ||
	fail "deliveries: $(sqlite3 "$W/demo.db" 'SELECT state, count(*) FROM deliveries GROUP BY state')"
echo "copies: $(wc -l <"$T/rcpts") for 40 subscribers" >&2
echo ok
