#!/bin/sh
# bulletinctl receive, the MTA pipe: a sectioned briefing becomes one item
# per heading under its theme; a second copy makes nothing; list commands
# are recorded (loop guards noted); mail for nobody, mail too big or
# nested too deep is refused with the exit codes an MTA acts on (67, 65);
# a locked database or a broken config asks the MTA to retry (75); a
# briefing whose own server's Authentication-Results fails is quarantined
# (RELIABILITY F7).
set -eu
. "$(dirname "$0")/lib.sh"

M="$SOURCE_ROOT/tests/data/mail"
cfg="$T/b.conf"
scratch_config "$cfg"
cp "$SOURCE_ROOT/templates/digest.txt" "$T/"
cat >>"$cfg" <<CONF
[imap]
url = imaps://127.0.0.1:9
max_size = 64K
[list news]
address = news@example.org
schedule = weekly mon 07:30
[source union]
type = mailbox
folder = Briefings
from = briefings@union.example.org
[theme workload]
keywords = caseload, overtime
[theme pay]
keywords = pay, banding
[theme wellbeing]
keywords = stress, sickness, wellbeing
CONF
ctl() { "$BULLETINCTL" -c "$cfg" "$@"; }
q() { sqlite3 "$T/scratch.db" "$1"; }

# A briefing under three headings: three items, titled and themed.
expect_exit 0 sh -c '"$1" -c "$2" receive --recipient branch@example.org <"$3"' \
	sh "$BULLETINCTL" "$cfg" "$M/briefing.eml"
assert_contains "$T/err" "briefing for source union: 3 items, 3 new"
q "SELECT title || '|' || theme || '|' || published FROM items ORDER BY guid" >"$T/items"
cat >"$T/want" <<'WANT'
Caseloads: Members’ questions answered|workload|1793697300
Pay and banding: Members’ questions answered|pay|1793697300
Staff wellbeing: Members’ questions answered|wellbeing|1793697300
WANT
diff -u "$T/want" "$T/items" || fail "briefing items"
q "SELECT text FROM items WHERE theme = 'pay'" >"$T/text"
assert_contains "$T/text" "Q. Is the pay award backdated?"
assert_not_contains "$T/text" "PAY AND BANDING"
# The introduction is kept, at the top of the first section.
q "SELECT text FROM items WHERE theme = 'workload'" >"$T/text"
assert_contains "$T/text" "Answers from the regional meeting"

# The same message again (a retry by the MTA): nothing new.
expect_exit 0 sh -c '"$1" -c "$2" receive <"$3"' sh "$BULLETINCTL" "$cfg" "$M/briefing.eml"
assert_contains "$T/err" "already dealt with"
[ "$(q 'SELECT count(*) FROM items')" = 3 ] || fail "a second copy made items"

# Commands: recorded for the subscription code; an auto-reply gets none.
expect_exit 0 sh -c '"$1" -c "$2" receive <"$3"' sh "$BULLETINCTL" "$cfg" "$M/subscribe.eml"
assert_contains "$T/err" "subscribe for list news"
expect_exit 0 sh -c 'RECIPIENT=news-request@example.org "$1" -c "$2" receive <"$3"' \
	sh "$BULLETINCTL" "$cfg" "$M/autoreply.eml"
assert_contains "$T/err" "unsubscribe for list news; no reply"
q "SELECT command || '|' || address || '|' || reply || '|' || state FROM commands ORDER BY id" >"$T/cmds"
printf 'subscribe|Ann.Reader@example.org|1|pending\nunsubscribe|bob@example.org|0|pending\n' >"$T/want"
diff -u "$T/want" "$T/cmds" || fail "commands"
expect_exit 0 sh -c '"$1" -c "$2" receive <"$3"' sh "$BULLETINCTL" "$cfg" "$M/subscribe.eml"
[ "$(q 'SELECT count(*) FROM commands')" = 2 ] || fail "a command was recorded twice"

# Mail for nobody: the MTA bounces it (EX_NOUSER), nothing stored.
expect_exit 67 sh -c '"$1" -c "$2" receive <"$3"' sh "$BULLETINCTL" "$cfg" "$M/stranger.eml"
assert_contains "$T/err" "message refused:"
assert_contains "$T/err" "nobody@example.org"
[ "$(wc -l <"$T/err")" = 1 ] || fail "the reason is not one line"

# Too big, and nested too deep: EX_DATAERR with the reason.
{ cat "$M/stranger.eml"; head -c 70000 /dev/zero | tr '\0' 'x'; } >"$T/big.eml"
expect_exit 65 sh -c '"$1" -c "$2" receive <"$3"' sh "$BULLETINCTL" "$cfg" "$T/big.eml"
assert_contains "$T/err" "bigger than 65536 bytes"
python3 - "$T/deep.eml" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("From: briefings@union.example.org\nTo: branch@example.org\n"
            "Subject: deep\nMessage-ID: <deep@x>\n")
    for i in range(40):
        f.write('Content-Type: multipart/mixed; boundary="b%d"\n\n--b%d\n' % (i, i))
    f.write("Content-Type: text/plain\n\nhello\n")
PY
expect_exit 65 sh -c '"$1" -c "$2" receive <"$3"' sh "$BULLETINCTL" "$cfg" "$T/deep.eml"
assert_contains "$T/err" "message refused:"
[ "$(q 'SELECT count(*) FROM items')" = 3 ] || fail "refused mail made items"

# The database locked by another process: retry later (EX_TEMPFAIL).
python3 - "$T/scratch.db" "$T/locked" <<'PY' &
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN EXCLUSIVE")
open(sys.argv[2], "w").write("locked\n")
time.sleep(9)
PY
locker=$!
wait_for "$T/locked" locked
sed 's/brief-2026-11/brief-other/' "$M/briefing.eml" >"$T/other.eml"
expect_exit 75 sh -c '"$1" -c "$2" receive <"$3"' sh "$BULLETINCTL" "$cfg" "$T/other.eml"
assert_contains "$T/err" "locked"
assert_contains "$T/err" "the mail server will try again"
wait "$locker"
expect_exit 0 sh -c '"$1" -c "$2" receive <"$3"' sh "$BULLETINCTL" "$cfg" "$T/other.eml"

# A broken config: retry later too, never a bounce.
printf '[bogus]\n' >>"$cfg"
expect_exit 75 sh -c '"$1" -c "$2" receive <"$3"' sh "$BULLETINCTL" "$cfg" "$M/subscribe.eml"
assert_contains "$T/err" "unknown section"
sed -i '$d' "$cfg"

# F7: with authserv_id, a briefing whose topmost Authentication-Results
# from our server fails is quarantined, even with a forged pass below it.
sed -i 's/^max_size = 64K$/max_size = 64K\nauthserv_id = mx.example.org/' "$cfg"
expect_exit 0 sh -c '"$1" -c "$2" receive <"$3"' sh "$BULLETINCTL" "$cfg" "$M/forged.eml"
assert_contains "$T/err" "quarantined"
assert_contains "$T/err" "may be forged"
[ "$(q "SELECT count(*) FROM items WHERE title LIKE 'Urgent%'")" = 0 ] ||
	fail "a forged briefing was taken"
expect_exit 0 ctl inbound
assert_contains "$T/out" "quarantined"
assert_contains "$T/out" "briefings@union.example.org"
echo "ok"
