#!/bin/sh
# kill -9 in the middle of sending a digest to 40 subscribers over SMTP,
# then a restart (RELIABILITY G6): every subscriber gets the digest, and
# a second copy goes only to a recipient whose message was in flight at
# the kill, with the same Message-ID. smtp-sink waits 1 s before
# answering each DATA, so the kill lands while messages are in flight.
set -eu
. "$(dirname "$0")/lib.sh"

demo_setup
add_subscribers "$cfg" 40
start_sink slow -w 1
sed -i "s|^url = maildir:maildir|url = smtp://127.0.0.1:$SINK_PORT\\
connections = 4|" "$cfg"

"$BULLETIND" -c "$cfg" --once 2>"$T/log" &
pid=$!
stop_daemon() { kill -9 "$pid" 2>/dev/null || true; }
cleanup_hooks="$cleanup_hooks stop_daemon"
wait_for "$T/log" "digest delivered to" 30
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
before=$(ls "$SINK_DIR" | wc -l)
echo "killed with $before of 40 messages received" >&2
[ "$before" -lt 40 ] || fail "everything arrived before the kill: too late to test"
[ "$(q "SELECT count(*) FROM deliveries WHERE state = 'sending'")" -gt 0 ] ||
	fail "no row was in flight at the kill"

# The restart: what was in flight goes again; the rest goes once.
expect_exit 0 "$BULLETIND" -c "$cfg" --once
assert_contains "$T/err" "deliveries interrupted by a stop are pending again"
python3 "$SOURCE_ROOT/tests/integration/check_mail.py" "$SINK_DIR" \
	staff-news@example.org >"$T/got" || fail "a message is malformed"
[ "$(cut -d' ' -f1 "$T/got" | sort -u | wc -l)" = 40 ] ||
	fail "not every subscriber got the digest: $(cut -d' ' -f1 "$T/got" | sort -u | wc -l)"
# A recipient with two copies has one Message-ID; copies are at most the
# messages the four connections can have had in flight.
dups=$(($(wc -l <"$T/got") - 40))
[ "$(sort -u "$T/got" | wc -l)" = 40 ] ||
	fail "a second copy has another Message-ID: $(cat "$T/got")"
[ "$dups" -le 4 ] || fail "$dups second copies, more than the 4 in flight"
[ "$(q "SELECT count(*) FROM deliveries WHERE state = 'sent'")" = 40 ] ||
	fail "deliveries: $(q 'SELECT state, count(*) FROM deliveries GROUP BY state')"
echo "second copies: $dups" >&2
echo ok
