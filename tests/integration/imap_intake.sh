#!/bin/sh
# The daemon's IMAP intake against a real Dovecot: a briefing in the
# briefings folder becomes items and is marked seen and moved; a command
# in INBOX is recorded; other mail is left unseen; a second run, and a
# second copy of the briefing, make nothing twice (RELIABILITY F9).
set -eu
. "$(dirname "$0")/lib.sh"

M="$SOURCE_ROOT/tests/data/mail"
start_dovecot main
U="imap://127.0.0.1:$DOVECOT_IMAP_PORT"
imap() { curl -s --max-time 20 -u branch:secret "$@"; }
imap "$U/" -X 'CREATE Briefings' >/dev/null
imap "$U/" -X 'CREATE Done' >/dev/null
imap "$U/Briefings" -T "$M/briefing.eml" || fail "APPEND briefing"
imap "$U/INBOX" -T "$M/subscribe.eml" || fail "APPEND subscribe"
imap "$U/INBOX" -T "$M/stranger.eml" || fail "APPEND stranger"
# curl's APPEND marks the message \Seen: new mail is unseen.
imap "$U/INBOX" -X 'STORE 1:* -FLAGS (\Seen)' >/dev/null
imap "$U/Briefings" -X 'STORE 1:* -FLAGS (\Seen)' >/dev/null

cfg="$T/b.conf"
imap_config "$cfg" move_to=Done
printf '[theme pay]\nkeywords = pay, banding\n' >>"$cfg"
q() { sqlite3 "$T/scratch.db" "$1"; }

expect_exit 0 "$BULLETIND" -c "$cfg" --once
assert_contains "$T/err" "briefing for source union: 3 items, 3 new"
assert_contains "$T/err" "subscribe for list news"
[ "$(q 'SELECT count(*) FROM items')" = 3 ] || fail "items: $(q 'SELECT count(*) FROM items')"
[ "$(q "SELECT count(*) FROM items WHERE title LIKE 'Pay and banding:%' AND theme = 'pay'")" = 1 ] ||
	fail "the PAY section is not its own item under pay"
[ "$(q "SELECT command || ' ' || address FROM commands")" = "subscribe Ann.Reader@example.org" ] ||
	fail "commands: $(q 'SELECT * FROM commands')"
# Taken mail is seen and moved; the stranger's stays unseen in INBOX.
imap "$U/Briefings" -X 'SEARCH ALL' >"$T/s"
assert_not_contains "$T/s" "SEARCH 1"
imap "$U/Done" -X 'SEARCH SEEN' >"$T/s"
assert_contains "$T/s" "SEARCH 1 2"
imap "$U/INBOX" -X 'SEARCH UNSEEN' >"$T/s"
assert_contains "$T/s" "SEARCH 1"

# Again: nothing new. A second copy of the briefing: nothing twice.
imap "$U/Briefings" -T "$M/briefing.eml" || fail "APPEND copy"
imap "$U/Briefings" -X 'STORE 1:* -FLAGS (\Seen)' >/dev/null
expect_exit 0 "$BULLETIND" -c "$cfg" --once
assert_contains "$T/err" "already dealt with"
[ "$(q 'SELECT count(*) FROM items')" = 3 ] || fail "a copy made items"
[ "$(q 'SELECT count(*) FROM commands')" = 1 ] || fail "a command ran twice"

# A wrong password: the cycle fails and says so; nothing is lost.
printf 'wrong\n' >"$T/imap-password"
expect_exit 1 "$BULLETIND" -c "$cfg" --once
assert_contains "$T/err" "imap:"
assert_contains "$T/err" "localhost"
echo ok
