#!/bin/sh
# Digests over SMTP to Postfix's smtp-sink: every subscriber gets one
# message, checked header by header and line by line with Python's
# strict email parser (check_mail.py); a 4xx is deferred and tried again
# later with the same Message-ID; a 5xx fails at once and suspends the
# subscriber ([smtp] suspend_after = 1 here); a server that hangs up or
# is not there defers; a subscriber who left before sending is skipped;
# bulletinctl digests lists them all and shows one again.
set -eu
. "$(dirname "$0")/lib.sh"

demo_setup
# new_story ID TITLE TEXT: adds an entry to the union branch's feed and
# fetches it.
new_story() {
	python3 - "$W/demo/union-site.xml" "$1" "$2" "$3" <<'PY'
import sys
p, ident, title, text = sys.argv[1:5]
s = open(p, encoding="utf-8").read()
entry = ("<entry><id>tag:union-branch.example.org,2026:%s</id>"
         "<title>%s</title><link rel=\"alternate\" "
         "href=\"https://union-branch.example.org/%s\"/>"
         "<published>2026-11-23T09:00:00Z</published>"
         "<content type=\"text\">%s</content></entry>" % (ident, title, ident, text))
open(p, "w", encoding="utf-8").write(s.replace("</feed>", entry + "</feed>", 1))
PY
	ctl fetch >"$T/fetch.out" 2>&1 || { cat "$T/fetch.out" >&2; fail "fetch failed"; }
}
for a in ann bob cat dan; do
	ctl subscribers staff-news add "$a@example.org" >/dev/null
done
start_sink ok
sed -i "s|^url = maildir:maildir|url = smtp://127.0.0.1:$SINK_PORT\\
connections = 2\\
retry = 1s\\
give_up = 1h\\
suspend_after = 1|" "$cfg"

# All four, once each, every message well-formed.
expect_exit 0 "$BULLETIND" -c "$cfg" --once
assert_contains "$T/err" "digest delivered to ann@example.org"
python3 "$SOURCE_ROOT/tests/integration/check_mail.py" "$SINK_DIR" \
	staff-news@example.org >"$T/got" || fail "a message is malformed"
[ "$(cut -d' ' -f1 "$T/got" | tr '\n' ' ')" = \
	"ann@example.org bob@example.org cat@example.org dan@example.org " ] ||
	fail "recipients: $(cat "$T/got")"
[ "$(cut -d' ' -f2 "$T/got" | sort -u | wc -l)" = 4 ] ||
	fail "Message-IDs are not one per recipient"
[ "$(q "SELECT count(*) FROM deliveries WHERE state = 'sent'")" = 4 ] ||
	fail "deliveries: $(q 'SELECT state, last_error FROM deliveries')"
stop_sink

# 4xx for one recipient, hang-ups for another, 5xx for a third: the
# cycle fails (exit 1) and says why for each; the 4xx and the hang-up
# wait for a retry, the 5xx fails and suspends bob.
start_sink faults -r RCPT
ann_mid=$(grep '^ann@' "$T/got" | cut -d' ' -f2)
sed -i "s|^url = smtp://127.0.0.1:[0-9]*|url = smtp://127.0.0.1:$SINK_PORT|" "$cfg"
# A new story, so that there is a digest to send.
new_story cap "Caseload cap agreed" \
	"The caseload cap is agreed for new officers from January, with a review each month."
expect_exit 1 "$BULLETINCTL" -c "$cfg" send staff-news
assert_contains "$T/out" "0 sent, 4 deferred, 0 failed"
assert_contains "$T/err" "delivery to ann@example.org deferred: SMTP server smtp://127.0.0.1:$SINK_PORT deferred it (450)"
assert_contains "$T/err" "trying again in 1 s"
[ "$(q "SELECT count(*) FROM deliveries WHERE state = 'pending' AND attempts = 1 AND last_error LIKE '%(450)%'")" = 4 ] ||
	fail "deliveries: $(q 'SELECT state, attempts, last_error FROM deliveries')"
stop_sink

# The server is back: the deferred rows go when their retry is due,
# with the same Message-ID as the first try would have had.
start_sink back
sed -i "s|^url = smtp://127.0.0.1:[0-9]*|url = smtp://127.0.0.1:$SINK_PORT|" "$cfg"
sleep 1
expect_exit 0 "$BULLETIND" -c "$cfg" --once
python3 "$SOURCE_ROOT/tests/integration/check_mail.py" "$SINK_DIR" \
	staff-news@example.org >"$T/got2" || fail "a retried message is malformed"
[ "$(wc -l <"$T/got2")" = 4 ] || fail "retried: $(cat "$T/got2")"
[ "$(q "SELECT count(*) FROM deliveries WHERE state = 'sent' AND attempts = 2")" = 4 ] ||
	fail "deliveries: $(q 'SELECT state, attempts, last_error FROM deliveries')"
grep -q "$ann_mid" "$T/got2" && fail "the second digest reused the first one's Message-ID"
stop_sink

# A server that hangs up at RCPT, and one that is not there: deferred.
# (A hang-up after RCPT counts as a try: the reply to MAIL came.)
start_sink hangup -q RCPT
sed -i "s|^url = smtp://127.0.0.1:[0-9]*|url = smtp://127.0.0.1:$SINK_PORT|" "$cfg"
ctl subscribers staff-news add eve@example.org >/dev/null
new_story move "Office moves in spring" \
	"The office moves to the new building in spring; desk booking starts in March."
expect_exit 1 "$BULLETINCTL" -c "$cfg" send staff-news
assert_contains "$T/out" "0 sent, 5 deferred, 0 failed"
stop_sink
free=$(free_port)
sed -i "s|^url = smtp://127.0.0.1:[0-9]*|url = smtp://127.0.0.1:$free|" "$cfg"
q "UPDATE deliveries SET next_try = 0 WHERE state = 'pending'"
expect_exit 1 "$BULLETIND" -c "$cfg" --once
# The server is at fault, not the messages: said once, and the tries
# do not count against the rows (RELIABILITY G5).
assert_contains "$T/err" "SMTP server smtp://127.0.0.1:$free"
[ "$(grep -c 'deliveries wait and resume on their own' "$T/err")" = 1 ] ||
	fail "the outage was not logged exactly once"
[ "$(q "SELECT count(*) FROM deliveries WHERE state = 'pending' AND attempts = 1")" = 5 ] ||
	fail "deliveries: $(q 'SELECT state, attempts, last_error FROM deliveries WHERE state != "sent"')"

# 552 (mailbox full) is temporary, whatever its first digit (RFC 5321
# 4.5.3.1.10); 421 and a hang-up are the server's fault.
start_sink full -f RCPT -B "552 5.2.2 Mailbox full"
sed -i "s|^url = smtp://127.0.0.1:[0-9]*|url = smtp://127.0.0.1:$SINK_PORT|" "$cfg"
q "UPDATE deliveries SET next_try = 0 WHERE state = 'pending'"
expect_exit 1 "$BULLETIND" -c "$cfg" --once
assert_contains "$T/err" "deferred it (552)"
[ "$(q "SELECT count(*) FROM deliveries WHERE state = 'pending' AND attempts = 2")" = 5 ] ||
	fail "deliveries: $(q 'SELECT state, attempts, last_error FROM deliveries WHERE state != "sent"')"
stop_sink
start_sink busy -Q MAIL
sed -i "s|^url = smtp://127.0.0.1:[0-9]*|url = smtp://127.0.0.1:$SINK_PORT|" "$cfg"
q "UPDATE deliveries SET next_try = 0 WHERE state = 'pending'"
expect_exit 1 "$BULLETIND" -c "$cfg" --once
assert_contains "$T/err" "(421)"
[ "$(grep -c 'deliveries wait and resume on their own' "$T/err")" = 1 ] ||
	fail "the 421 outage was not logged exactly once"
[ "$(q "SELECT count(*) FROM deliveries WHERE state = 'pending' AND attempts = 2")" = 5 ] ||
	fail "deliveries: $(q 'SELECT state, attempts, last_error FROM deliveries WHERE state != "sent"')"
stop_sink

# Eve leaves before the retry: her row is cancelled, never sent.
ctl subscribers staff-news remove eve@example.org >/dev/null

# A digest older than give_up: a deferral fails the row for good, which
# does not count towards suspension (only refusals do). Ann's row only.
start_sink late -r RCPT
sed -i "s|^url = smtp://127.0.0.1:[0-9]*|url = smtp://127.0.0.1:$SINK_PORT|" "$cfg"
q "UPDATE digests SET created = created - 7200"
q "UPDATE deliveries SET next_try = CASE WHEN subscriber_id = (SELECT id FROM subscribers WHERE address = 'ann@example.org') THEN 0 ELSE 9999999999 END WHERE state = 'pending'"
expect_exit 1 "$BULLETIND" -c "$cfg" --once
assert_contains "$T/err" "delivery to ann@example.org failed: SMTP server smtp://127.0.0.1:$SINK_PORT deferred it (450)"
assert_contains "$T/err" "giving up after 3 tries ([smtp] give_up)"
[ "$(q "SELECT d.state FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id WHERE s.address = 'ann@example.org' AND d.digest_id = 3")" = failed ] ||
	fail "ann's row: $(q 'SELECT state, attempts, last_error FROM deliveries WHERE digest_id = 3')"
[ "$(q "SELECT state FROM subscribers WHERE address = 'ann@example.org'")" = active ] ||
	fail "giving up suspended ann"
stop_sink

# 5xx for everybody: failed at once, and each suspended.
start_sink hard -f RCPT
sed -i "s|^url = smtp://127.0.0.1:[0-9]*|url = smtp://127.0.0.1:$SINK_PORT|" "$cfg"
q "UPDATE deliveries SET next_try = 0 WHERE state = 'pending'"
expect_exit 1 "$BULLETIND" -c "$cfg" --once
assert_contains "$T/err" "failed for good"
assert_contains "$T/err" "(500)"
assert_contains "$T/err" "suspended"
[ "$(q "SELECT count(*) FROM deliveries WHERE state = 'failed' AND last_error LIKE '%(500)%'")" = 3 ] ||
	fail "deliveries: $(q 'SELECT state, last_error FROM deliveries')"
[ "$(q "SELECT d.state || ' ' || d.last_error FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id WHERE s.address = 'eve@example.org'")" = "failed unsubscribed" ] ||
	fail "eve: $(q "SELECT state, last_error FROM deliveries WHERE last_error NOT LIKE '%550%'")"
[ "$(ls "$SINK_DIR" | wc -l)" = 0 ] || fail "the 5xx sink kept a message"
[ "$(q "SELECT count(*) FROM subscribers WHERE state = 'suspended'")" = 3 ] ||
	fail "subscribers: $(q 'SELECT address, state FROM subscribers')"
stop_sink

# The past digests, with their deliveries by state; the first shown again
# as ann got it, with the same Message-ID.
expect_exit 0 "$BULLETINCTL" -c "$cfg" digests staff-news
grep -Eq '^1 +staff-news .* +0 +0 +4 +0$' "$T/out" ||
	fail "digest 1: $(cat "$T/out")"
grep -Eq '^2 +staff-news .* +0 +0 +4 +0$' "$T/out" ||
	fail "digest 2: $(cat "$T/out")"
grep -Eq '^3 +staff-news .* +0 +0 +0 +5$' "$T/out" ||
	fail "digest 3: $(cat "$T/out")"
expect_exit 0 "$BULLETINCTL" -c "$cfg" digests --show 1 --to ann@example.org
assert_contains "$T/out" "Message-ID: $ann_mid"
assert_contains "$T/out" "To: ann@example.org"
expect_exit 2 "$BULLETINCTL" -c "$cfg" digests --show 99
assert_contains "$T/err" "digest 99 is not in the database"
echo ok
