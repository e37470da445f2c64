#!/bin/sh
# Slow SMTP servers (RELIABILITY G3), with smtp-sink's delays: a reply
# slower than [smtp] timeout defers the message as the server's fault (the
# rows wait, their tries not counted, the outage said once: G5); a reply
# that comes within it is waited for, whichever command it answers; the
# reply to the final dot too, for the default ten minutes (RFC 5321
# 4.5.3.2), since giving up there makes duplicates (RFC 1047) - shown
# here with a short timeout; and a server that reads the data slowly
# through a small TCP window gets the whole message.
#
# libcurl has one reply timeout for every command, so [smtp] timeout is
# one value; its default, ten minutes, is the longest of RFC 5321's
# minimums (MAIL and RCPT 5, DATA 2, data blocks 3, the final dot 10), so
# no command is cut shorter than RFC 5321 allows.
set -eu
. "$(dirname "$0")/lib.sh"

demo_setup
for a in ann bob; do
	ctl subscribers staff-news add "$a@example.org" >/dev/null
done
expect_exit 0 "$BULLETINCTL" -c "$cfg" fetch
sed -i "s|^url = maildir:maildir|url = smtp://127.0.0.1:1\\
connections = 2\\
retry = 1s\\
timeout = 2s|" "$cfg"
# use_sink NAME TIMEOUT SINK_OPTION...: a sink, the config pointed at it
# with [smtp] timeout = TIMEOUT ("" for the default), every row due.
use_sink() {
	name=$1
	timeout=$2
	shift 2
	start_sink "$name" "$@"
	sed -i "s|^url = smtp://127.0.0.1:[0-9]*|url = smtp://127.0.0.1:$SINK_PORT|" "$cfg"
	sed -i '/^timeout = /d' "$cfg"
	[ -z "$timeout" ] || sed -i "s|^retry = 1s|retry = 1s\\
timeout = $timeout|" "$cfg"
	q "UPDATE deliveries SET next_try = 0 WHERE state = 'pending'"
}
# sent_once: both rows sent, and the sink got one message for each.
sent_once() {
	[ "$(q "SELECT count(*) FROM deliveries WHERE state = 'sent'")" = 2 ] ||
		fail "$1: $(q 'SELECT state, attempts, last_error FROM deliveries')"
	python3 "$SOURCE_ROOT/tests/integration/check_mail.py" "$SINK_DIR" \
		staff-news@example.org >"$T/got" || fail "$1: a message is malformed"
	[ "$(cut -d' ' -f1 "$T/got" | tr '\n' ' ')" = \
		"ann@example.org bob@example.org " ] || fail "$1: got $(cat "$T/got")"
}
# deferred: both rows pending, their tries not counted, the outage said
# once and naming the timeout.
deferred() {
	[ "$(q "SELECT count(*) FROM deliveries WHERE state = 'pending' AND attempts = 0 AND last_error LIKE '%timeout%'")" = 2 ] ||
		fail "$1: $(q 'SELECT state, attempts, last_error FROM deliveries')"
	[ "$(grep -c 'server response timeout; deliveries wait and resume on their own' "$T/err")" = 1 ] ||
		fail "$1: the outage was not said exactly once"
}

# DATA answered after 4 s, the timeout 2 s: deferred, nothing sent.
use_sink data-slow 2s -w 4
expect_exit 1 "$BULLETINCTL" -c "$cfg" send staff-news
assert_contains "$T/out" "0 sent, 2 deferred, 0 failed"
deferred "DATA after 4 s"
[ "$(ls "$SINK_DIR" | wc -l)" = 0 ] || fail "DATA after 4 s: a message arrived"
stop_sink

# RCPT answered after 4 s: the same.
use_sink rcpt-slow 2s -W RCPT:4
expect_exit 1 "$BULLETIND" -c "$cfg" --once
deferred "RCPT after 4 s"
stop_sink

# Within the timeout: DATA after 1 s, RCPT after 1 s, MAIL after 1 s,
# the timeout 3 s: sent, once each.
use_sink within 3s -w 1 -W RCPT:1 -W MAIL:1
expect_exit 0 "$BULLETIND" -c "$cfg" --once
sent_once "replies within the timeout"
stop_sink

# The final dot answered after 4 s with a 2 s timeout: the server had the
# message, but the client cannot know, so it goes again later - the
# duplicate RFC 1047 warns of. Hence the ten minutes by default.
q "UPDATE deliveries SET state = 'pending', attempts = 0, next_try = 0"
use_sink dot-slow 2s -W .:4
expect_exit 1 "$BULLETIND" -c "$cfg" --once
deferred "the final dot after 4 s"
[ "$(ls "$SINK_DIR" | wc -l)" = 2 ] ||
	fail "the sink should have the 2 messages whose dot was not answered in time"
stop_sink

# The same server with the default timeout: waited for, sent once.
use_sink dot-default "" -W .:3
expect_exit 0 "$BULLETIND" -c "$cfg" --once
sent_once "the final dot after 3 s, default timeout"
stop_sink

# A server that starts reading the data only after 2 s, through a TCP
# window of 512 bytes (smtp-sink -H -T, for Postfix's write_wait): the
# writes stall, within the timeout, and the whole message arrives.
q "UPDATE deliveries SET state = 'pending', attempts = 0, next_try = 0"
use_sink slow-read 5s -H 2 -T 512
expect_exit 0 "$BULLETIND" -c "$cfg" --once
sent_once "data read slowly"
echo ok
