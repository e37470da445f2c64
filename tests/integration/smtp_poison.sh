#!/bin/sh
# A poison message (RELIABILITY G8): bulletind dies (SIGKILL, through
# the preloaded crashsend.c) each time it sends poison@example.org's
# RCPT. Restarted after each crash, it sends the rows that were in flight
# at a crash one at a time, so that the next crash counts against the
# poison only; at the third crash in a row that row is quarantined as
# failed, with the reason in the row and in the log, and every other
# subscriber gets the digest (a second copy only for rows in flight at
# the first crash, with the same Message-ID).
set -eu
. "$(dirname "$0")/lib.sh"
CRASHSEND=${CRASHSEND:?run through meson test}

demo_setup
add_subscribers "$cfg" 5
"$BULLETINCTL" -c "$cfg" subscribers staff-news add poison@example.org >/dev/null
n=6
while [ $n -le 20 ]; do
	"$BULLETINCTL" -c "$cfg" subscribers staff-news add "r$n@example.org" >/dev/null
	n=$((n + 1))
done
start_sink poison
sed -i "s|^url = maildir:maildir|url = smtp://127.0.0.1:$SINK_PORT\\
connections = 2|" "$cfg"

# Runs until one ends without a crash; counts the crashes.
crashes=0
run=1
while :; do
	set +e
	# Under AddressSanitizer, its runtime must come first unless told
	# that a preloaded library before it is fine.
	ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" \
		LD_PRELOAD="$CRASHSEND" CRASHSEND_ON="RCPT TO:<poison@example.org>" \
		"$BULLETIND" -c "$cfg" --once >"$T/out.$run" 2>"$T/err.$run"
	status=$?
	set -e
	[ $status -eq 137 ] || break
	crashes=$((crashes + 1))
	[ $run -lt 6 ] || fail "still crashing after $run runs"
	run=$((run + 1))
done
[ $status -eq 0 ] || { cat "$T/err.$run" >&2; fail "run $run exited $status"; }
[ $crashes -eq 3 ] || fail "$crashes crashes before the poison was quarantined, expected 3"
assert_contains "$T/err.$run" "list staff-news: the digest to poison@example.org was being sent at 3 unclean stops in a row (crashes or kill -9) and is quarantined as failed"
assert_contains "$T/err.$run" "bulletinctl digests --show 1 --to poison@example.org"

# The poison's row failed with the reason; everybody else's was sent.
[ "$(q "SELECT d.state || ': ' || d.last_error FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id WHERE s.address = 'poison@example.org'")" = \
	"failed: quarantined: bulletin stopped without finishing 3 times in a row while sending it; it may be what crashes it" ] ||
	fail "poison: $(q 'SELECT state, last_error FROM deliveries WHERE state != "sent"')"
[ "$(q "SELECT count(*) FROM deliveries WHERE state = 'sent'")" = 20 ] ||
	fail "deliveries: $(q 'SELECT state, count(*) FROM deliveries GROUP BY state')"

# What arrived: every other subscriber, once but for the rows in flight
# at the first crash, which may come twice with one Message-ID; nothing
# for the poison.
python3 "$SOURCE_ROOT/tests/integration/check_mail.py" "$SINK_DIR" \
	staff-news@example.org >"$T/got" || fail "a message is malformed"
grep -q '^poison@' "$T/got" && fail "the poison got a message"
[ "$(cut -d' ' -f1 "$T/got" | sort -u | wc -l)" = 20 ] ||
	fail "not every subscriber got the digest: $(cat "$T/got")"
[ "$(sort -u "$T/got" | wc -l)" = 20 ] ||
	fail "a second copy has another Message-ID: $(cat "$T/got")"
echo "second copies: $(($(wc -l <"$T/got") - 20))" >&2
echo ok
