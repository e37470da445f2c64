#!/bin/sh
# The running daemon's IMAP intake against a real Dovecot when things go
# wrong: the server drops the connection (doveadm kick) and the daemon
# reconnects; the server goes away and comes back and the daemon finds it
# again; the daemon is killed (-9) in the middle of a poll of 40 messages
# and, restarted, takes every message exactly once (RELIABILITY F9);
# messages stored but never flagged, as a crash between the two leaves
# them, are recognised and flagged without a second item; so are they
# after a UIDVALIDITY change; one seen and not moved is moved at start.
set -eu
. "$(dirname "$0")/lib.sh"

start_dovecot main
P=$DOVECOT_IMAP_PORT
dovecot_cmd "$P" 'CREATE Briefings' >/dev/null
dovecot_cmd "$P" 'CREATE Done' >/dev/null

# brief N: a one-section briefing with its own Message-ID, in $T/mN.eml.
brief() {
	cat >"$T/m$1.eml" <<MAIL
From: Branch Briefings <briefings@union.example.org>
To: branch@example.org
Subject: Branch note number $1
Date: Tue, 03 Nov 2026 09:15:00 +0000
Message-ID: <note-$1@union.example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=UTF-8

Note $1 for members: the branch meeting moves to the small hall, and
the agenda covers caseloads, the pay award and the staff survey.
MAIL
}
# append N: APPENDs briefing N to Briefings, unseen (curl's APPEND
# sets \Seen).
append() {
	brief "$1"
	dovecot_append "$P" Briefings "$T/m$1.eml"
	dovecot_unseen "$P" Briefings
}
q() { sqlite3 "$T/scratch.db" "$1"; }
items() { q 'SELECT count(*) FROM items' 2>/dev/null || echo 0; }

cfg="$T/b.conf"
imap_config "$cfg" move_to=Done poll=10m retry=1s

pid=""
stop_daemon() { [ -z "$pid" ] || kill -9 "$pid" 2>/dev/null || true; }
cleanup_hooks="$cleanup_hooks stop_daemon"
start_daemon() {
	"$BULLETIND" -c "$cfg" 2>>"$T/log" &
	pid=$!
}
# taken N: waits until N items are stored (the daemon still running).
taken() {
	i=0
	while [ "$(items)" != "$1" ]; do
		i=$((i + 1))
		if [ $i -ge 300 ]; then
			cat "$T/log" >&2
			fail "expected $1 items, have $(items)"
		fi
		kill -0 "$pid" 2>/dev/null || {
			cat "$T/log" >&2
			fail "the daemon died"
		}
		sleep 0.1
	done
}

# A first message, taken while the daemon runs; then it waits in IDLE.
: >"$T/log"
append 1
start_daemon
taken 1

# The server drops the connection: the daemon says so, reconnects after
# retry (1 s) and takes what arrives next.
doveadm -c "$DOVECOT_DIR/dovecot.conf" kick branch >/dev/null 2>&1 ||
	fail "doveadm kick failed"
wait_for "$T/log" "trying again in 1 s"
append 2
taken 2

# The server goes away: failures back off (1 s, 2 s, ...); the server
# comes back on the same ports and the daemon finds it.
doveadm -c "$DOVECOT_DIR/dovecot.conf" stop
wait_for "$T/log" "trying again in 2 s" 30
dovecot -c "$DOVECOT_DIR/dovecot.conf" || fail "dovecot did not restart"
wait_port "$P"
append 3
taken 3
assert_contains "$T/log" "localhost"
kill -TERM "$pid"
wait_exit "$pid" 15
pid=""
[ "$EXIT_STATUS" = 0 ] || fail "bulletind exit $EXIT_STATUS after SIGTERM"

# kill -9 in the middle of a poll of 40 messages, then a restart: every
# message once, whatever the kill interrupted.
n=4
while [ $n -le 43 ]; do
	brief $n
	dovecot_append "$P" Briefings "$T/m$n.eml"
	n=$((n + 1))
done
dovecot_unseen "$P" Briefings
: >"$T/log"
start_daemon
wait_for "$T/log" "briefing for source union" 30
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
pid=""
echo "killed after $(items) of 43 items" >&2
expect_exit 0 "$BULLETIND" -c "$cfg" --once
[ "$(items)" = 43 ] || fail "after the restart: $(items) items, not 43"
[ "$(q 'SELECT count(*) FROM inbound')" = 43 ] ||
	fail "inbound rows: $(q 'SELECT count(*) FROM inbound')"
[ "$(q 'SELECT count(DISTINCT title) FROM items')" = 43 ] ||
	fail "an item stored twice"
dovecot_cmd "$P" 'STATUS Briefings (MESSAGES)' >"$T/s"
assert_contains "$T/s" "MESSAGES 0"
dovecot_cmd "$P" 'STATUS Done (MESSAGES)' >"$T/s"
assert_contains "$T/s" "MESSAGES 43"

# A crash after storing and before flagging leaves a stored message
# unseen in its folder: put all 43 back. None makes an item again; each
# is flagged and moved.
curl -s --fail --max-time 20 -u branch:secret \
	"imap://127.0.0.1:$P/Done" -X 'MOVE 1:* Briefings' >/dev/null ||
	fail "MOVE back failed"
dovecot_unseen "$P" Briefings
expect_exit 0 "$BULLETIND" -c "$cfg" --once
assert_contains "$T/err" "already dealt with"
[ "$(items)" = 43 ] || fail "the unflagged copies made items: $(items)"
dovecot_cmd "$P" 'STATUS Done (MESSAGES)' >"$T/s"
assert_contains "$T/s" "MESSAGES 43"

# A UIDVALIDITY change (the server rebuilt its index, RFC 3501 2.3.1.1):
# the old UIDs mean nothing, and the messages are recognised by
# Message-ID; a new message after the change is taken as usual.
curl -s --fail --max-time 20 -u branch:secret \
	"imap://127.0.0.1:$P/Done" -X 'MOVE 1:* Briefings' >/dev/null ||
	fail "MOVE back failed"
append 44
doveadm -c "$DOVECOT_DIR/dovecot.conf" mailbox update -u branch \
	--uid-validity 4242 Briefings || fail "doveadm mailbox update failed"
dovecot_cmd "$P" 'STATUS Briefings (UIDVALIDITY UNSEEN)' >"$T/s"
assert_contains "$T/s" "UIDVALIDITY 4242"
assert_contains "$T/s" "UNSEEN 44"
expect_exit 0 "$BULLETIND" -c "$cfg" --once
assert_contains "$T/err" "already dealt with"
assert_contains "$T/err" "<note-44@union.example.org>"
[ "$(items)" = 44 ] || fail "after the UIDVALIDITY change: $(items) items, not 44"
[ "$(q 'SELECT count(*) FROM inbound')" = 44 ] ||
	fail "inbound rows: $(q 'SELECT count(*) FROM inbound')"
dovecot_cmd "$P" 'STATUS Done (MESSAGES)' >"$T/s"
assert_contains "$T/s" "MESSAGES 44"

# Taken and seen, but stopped before the move: here made by a run without
# move_to. The next start finds it among the seen mail and moves it; a
# message a person has read, never taken, stays where it is.
append 45
brief 46
dovecot_append "$P" Briefings "$T/m46.eml" # seen, as curl leaves it
sed 's/^move_to = Done$//' "$cfg" >"$T/nomove.conf"
expect_exit 0 "$BULLETIND" -c "$T/nomove.conf" --once
[ "$(items)" = 45 ] || fail "message 45 not taken: $(items) items"
expect_exit 0 "$BULLETIND" -c "$cfg" --once
assert_contains "$T/err" "taken before a stop but not moved; moving it to Done"
dovecot_cmd "$P" 'STATUS Done (MESSAGES)' >"$T/s"
assert_contains "$T/s" "MESSAGES 45"
dovecot_cmd "$P" 'STATUS Briefings (MESSAGES UNSEEN)' >"$T/s"
assert_contains "$T/s" "MESSAGES 1 UNSEEN 0"
[ "$(items)" = 45 ] || fail "items: $(items), not 45"
echo ok
