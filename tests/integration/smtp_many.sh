#!/bin/sh
# 10,000 recipients, [smtp] connections = 4, and a slow server
# (RELIABILITY G13): rawsmtp.py answers each final dot after 5 ms, so the
# queue backs up behind the connections. At most 4 SMTP sessions are
# ever open, and 4 in all (each connection is reused for the next
# message); every recipient gets one message; bulletinctl's peak memory
# stays bounded (it claims a window of rows at a time, never the whole
# digest), under the 64 MB of issue 6.
set -eu
. "$(dirname "$0")/lib.sh"
[ -x /usr/bin/time ] || skip "no /usr/bin/time (apt-get install time)"

N=10000
demo_setup
ctl subscribers staff-news add r0@example.org >/dev/null
q "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $N - 1)
INSERT INTO subscribers (list_id, address, state, created, updated)
SELECT (SELECT list_id FROM subscribers LIMIT 1), 'r' || i || '@example.org', 'active', 0, 0 FROM n"
expect_exit 0 "$BULLETINCTL" -c "$cfg" fetch
start_rawsmtp slow --dot-delay 0.005
sed -i "s|^url = maildir:maildir|url = smtp://127.0.0.1:$RAW_PORT\\
connections = 4|" "$cfg"
sed -i 's/^log_level = info/log_level = warning/' "$cfg"

# Under AddressSanitizer, freed memory waits in a quarantine (256 MB by
# default) and would count as ours: measure without it.
ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=0:thread_local_quarantine_size_kb=0" \
	expect_exit 0 /usr/bin/time -f '%M' -o "$T/peak" "$BULLETINCTL" \
	-c "$cfg" send staff-news
assert_contains "$T/out" "$N sent, 0 deferred, 0 failed"
[ "$(q "SELECT count(*) FROM deliveries WHERE state = 'sent'")" = $N ] ||
	fail "deliveries: $(q 'SELECT state, count(*) FROM deliveries GROUP BY state')"
# One message per recipient.
got=$(cat "$RAW_DIR"/*.env | grep -c '^RCPT TO:')
uniq=$(cat "$RAW_DIR"/*.env | grep '^RCPT TO:' | sort -u | wc -l)
[ "$got" = $N ] && [ "$uniq" = $N ] ||
	fail "$got messages to $uniq recipients, expected $N to $N"
# Sessions: rawsmtp.py adds a line as each ends, saying how many had
# begun and the most open at once; wait for the last to be written.
i=0
until [ -s "$RAW_DIR/sessions" ] &&
	[ "$(wc -l <"$RAW_DIR/sessions")" -ge "$(tail -1 "$RAW_DIR/sessions" | cut -d' ' -f1)" ]; do
	i=$((i + 1))
	[ $i -lt 100 ] || fail "the SMTP sessions did not end"
	sleep 0.1
done
sessions=$(tail -1 "$RAW_DIR/sessions" | cut -d' ' -f1)
most=$(tail -1 "$RAW_DIR/sessions" | cut -d' ' -f2)
[ "$most" -le 4 ] || fail "$most SMTP sessions at once with connections = 4"
[ "$sessions" -le 4 ] || fail "$sessions SMTP sessions: connections were not reused"
peak=$(cat "$T/peak")
echo "peak memory ${peak} KiB, $sessions sessions, at most $most at once" >&2
[ "$peak" -lt 65536 ] || fail "peak memory $peak KiB, over 64 MiB"
echo ok
