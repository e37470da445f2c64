#!/bin/sh
# bulletinctl's list commands on a real store and maildir: subscribers
# add/list/remove (with address checks), preview (sends nothing), send
# (only to active subscribers, once per new batch of stories).
set -eu
. "$(dirname "$0")/lib.sh"

make_workdir
cfg="$T/work/demo.conf"
ctl() { "$BULLETINCTL" -c "$cfg" "$@"; }
messages() { find "$T/work/maildir/new" -type f 2>/dev/null | wc -l; }

expect_exit 0 ctl subscribers staff-news add Alice@Example.ORG
assert_contains "$T/out" "Alice@example.org active"
expect_exit 0 ctl subscribers staff-news add bob@example.org
expect_exit 2 ctl subscribers staff-news add "not an address"
assert_contains "$T/err" "'not an address' is not a valid email address"
expect_exit 2 ctl subscribers staff-news add "x@evil.example>, y@example.org"
expect_exit 2 ctl subscribers no-such-list list
assert_contains "$T/err" "no list named 'no-such-list'"
assert_contains "$T/err" "staff-news"
expect_exit 0 ctl subscribers staff-news remove bob@example.org
expect_exit 2 ctl subscribers staff-news remove carol@example.org
assert_contains "$T/err" "carol@example.org is not on list staff-news"
expect_exit 0 ctl subscribers staff-news list
printf 'Alice@example.org active\nbob@example.org unsubscribed\n' >"$T/want"
diff -u "$T/want" "$T/out" || fail "subscribers list"
expect_exit 0 ctl subscribers staff-news
diff -u "$T/want" "$T/out" || fail "subscribers (default list)"

expect_exit 0 ctl fetch
expect_exit 0 ctl send staff-news --dry-run
assert_contains "$T/out" "28 stories to 1 subscriber (dry run: nothing sent)"
[ "$(messages)" -eq 0 ] || fail "dry run sent mail"

# preview prints the message for any address and sends nothing.
expect_exit 0 ctl preview staff-news --to someone@example.org
assert_contains "$T/out" "To: someone@example.org"
assert_contains "$T/out" "List-Unsubscribe: <https://news.example.org/u/"
assert_contains "$T/out" "Pay offer 2026: what it means for every band"
assert_not_contains "$T/out" "$(printf '\r')"
[ "$(messages)" -eq 0 ] || fail "preview sent mail"

expect_exit 0 ctl send staff-news
assert_contains "$T/out" "28 stories: 1 sent, 0 deferred, 0 failed"
[ "$(messages)" -eq 1 ] || fail "send delivered $(messages) messages, not 1"
grep -l '^To: Alice@example.org$' "$T/work/maildir/new/"* >/dev/null ||
	fail "the digest is not addressed to Alice@example.org"

# Nothing new: nothing sent.
expect_exit 0 ctl send staff-news
assert_contains "$T/out" "nothing new since the last digest"
[ "$(messages)" -eq 1 ] || fail "an empty digest was sent"

# A list that asks for it gets a "nothing new" note instead.
sed -i 's/^\[list staff-news\]$/&\
nothing_new = yes/' "$T/work/demo.conf"
expect_exit 0 ctl send staff-news
assert_contains "$T/out" "0 stories: 1 sent, 0 deferred, 0 failed"
[ "$(messages)" -eq 2 ] || fail "no nothing-new note: $(messages) messages"
grep -l 'No new stories this time.' "$T/work/maildir/new/"* >/dev/null ||
	fail "the note does not say there is nothing new"
echo PASS
