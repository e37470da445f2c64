#!/bin/sh
# daemon/imap.c against private Dovecots and a scripted server, through
# tests/unit/imap_probe: imaps and STARTTLS with the certificate checked
# (RELIABILITY F3), unseen, fetch (exact bytes), seen, move (MOVE and the
# COPY + EXPUNGE fallback), modified UTF-7 folder names, IDLE and its
# interruption; and the refusals: untrusted and wrong-host certificates,
# a wrong password, a server without STARTTLS or with an injected reply
# after it (F1, F2: no LOGIN is ever sent), a folder name with CRLF (F8),
# a server that never answers (every wait bounded).
set -eu
. "$(dirname "$0")/lib.sh"
PROBE=${IMAP_PROBE:?run through meson test}
IMAP_PROBE_TIMEOUT=10
export IMAP_PROBE_TIMEOUT

printf 'secret\n' >"$T/pass"
printf 'not-the-password\n' >"$T/badpass"

start_dovecot main
IMAP=$DOVECOT_IMAP_PORT
IMAPS=$DOVECOT_IMAPS_PORT
CA=$DOVECOT_CA

# probe URL FOLDER COMMAND...: as branch with the test authority.
probe() {
	url=$1
	folder=$2
	shift 2
	"$PROBE" "$url" branch "$T/pass" "$CA" "$folder" "$@"
}

# append_unseen PORT FOLDER FILE: curl's APPEND sets \Seen; clear it on
# the message just appended.
append_unseen() {
	dovecot_append "$1" "$2" "$3"
	curl -s --fail --max-time 20 "imap://127.0.0.1:$1/$2" \
		-u branch:secret -X 'STORE * -FLAGS (\Seen)' >/dev/null ||
		fail "could not clear \\Seen in $2"
}

# Messages with CRLF line ends and a NUL-free 8-bit byte, as APPENDed.
for i in 1 2 3; do
	printf 'From: sender@example.org\r\nTo: branch@example.org\r\nSubject: message %s\r\nMessage-ID: <%s@example.org>\r\n\r\nbody %s \303\251\r\n.\r\nlast line\r\n' \
		"$i" "$i" "$i" >"$T/m$i.eml"
done
append_unseen "$IMAP" INBOX "$T/m1.eml"
append_unseen "$IMAP" INBOX "$T/m2.eml"

# imaps, the certificate checked against the test authority.
expect_exit 0 probe "imaps://localhost:$IMAPS" INBOX list-unseen
assert_contains "$T/out" "unseen 1 2"

# The exact bytes that were appended; BODY.PEEK[] leaves \Seen alone.
expect_exit 0 probe "imaps://localhost:$IMAPS" INBOX fetch 2
cmp "$T/out" "$T/m2.eml" || fail "fetched bytes differ from m2.eml"
expect_exit 0 probe "imaps://localhost:$IMAPS" INBOX list-unseen
assert_contains "$T/out" "unseen 1 2"

# Over the size limit: not downloaded; a UID that is not there.
expect_exit 1 env IMAP_PROBE_MAX_SIZE=20 "$PROBE" "imaps://localhost:$IMAPS" \
	branch "$T/pass" "$CA" INBOX fetch 1
assert_contains "$T/err" "over the limit of 20"
assert_contains "$T/err" "Message too long"
expect_exit 1 probe "imaps://localhost:$IMAPS" INBOX fetch 99
assert_contains "$T/err" "No such file or directory"

# \Seen, then one fewer unseen.
expect_exit 0 probe "imaps://localhost:$IMAPS" INBOX seen 1
expect_exit 0 probe "imaps://localhost:$IMAPS" INBOX list-unseen
assert_contains "$T/out" "unseen 2"
assert_not_contains "$T/out" "unseen 1"

# STARTTLS on the plain port, and an address in the url (IP SAN).
expect_exit 0 probe "imap://localhost:$IMAP" INBOX list-unseen
assert_contains "$T/out" "unseen 2"
expect_exit 0 probe "imaps://127.0.0.1:$IMAPS" INBOX list-unseen
assert_contains "$T/out" "unseen 2"

# MOVE into a folder that exists, and into one that does not.
dovecot_cmd "$IMAP" 'CREATE Done' >/dev/null
expect_exit 0 probe "imaps://localhost:$IMAPS" INBOX move 2 Done
expect_exit 0 probe "imaps://localhost:$IMAPS" INBOX list-unseen
assert_not_contains "$T/out" "unseen 2"
expect_exit 0 probe "imaps://localhost:$IMAPS" Done list-unseen
assert_contains "$T/out" "unseen 1"
expect_exit 1 probe "imaps://localhost:$IMAPS" Done move 1 Nowhere
assert_contains "$T/err" 'has no folder "Nowhere"'
expect_exit 1 probe "imaps://localhost:$IMAPS" Nowhere list-unseen
assert_contains "$T/err" 'has no folder "Nowhere"'

# A UTF-8 folder name goes out in modified UTF-7 (RFC 3501 5.1.3):
# "Ärger&😀" is "&AMQ-rger&-&2D3eAA-", as Dovecot created it here.
utf8=$(printf '\303\204rger&\360\237\230\200')
dovecot_cmd "$IMAP" 'CREATE "&AMQ-rger&-&2D3eAA-"' >/dev/null
append_unseen "$IMAP" INBOX "$T/m3.eml"
expect_exit 0 probe "imaps://localhost:$IMAPS" INBOX move 3 "$utf8"
expect_exit 0 probe "imaps://localhost:$IMAPS" "$utf8" list-unseen
assert_contains "$T/out" "unseen 1"
expect_exit 0 probe "imaps://localhost:$IMAPS" "$utf8" fetch 1
cmp "$T/out" "$T/m3.eml" || fail "m3.eml changed on its way to $utf8"

# F8: CR LF in a folder name is refused before anything is sent.
crlf=$(printf 'Briefings\r\nA1 DELETE INBOX')
expect_exit 1 probe "imaps://localhost:$IMAPS" "$crlf" list-unseen
assert_contains "$T/err" "Invalid argument"
assert_contains "$T/err" 'folder name "Briefings\r\nA1 DELETE INBOX" has a control character'
expect_exit 1 probe "imaps://localhost:$IMAPS" INBOX move 1 "$crlf"
assert_contains "$T/err" "has a control character"
expect_exit 0 probe "imaps://localhost:$IMAPS" INBOX list-unseen

# F3: without the authority the certificate is refused, on imaps and
# after STARTTLS alike (CVE-2021-26911), and no LOGIN reaches Dovecot.
before=$(grep -c 'Login: user=<branch>' "$DOVECOT_DIR/dovecot.log" || true)
expect_exit 1 "$PROBE" "imaps://localhost:$IMAPS" branch "$T/pass" - INBOX \
	list-unseen
assert_contains "$T/err" "connect (permanent): certificate for localhost not trusted: issuer unknown"
expect_exit 1 "$PROBE" "imap://localhost:$IMAP" branch "$T/pass" - INBOX \
	list-unseen
assert_contains "$T/err" "certificate for localhost not trusted"
after=$(grep -c 'Login: user=<branch>' "$DOVECOT_DIR/dovecot.log" || true)
[ "$before" = "$after" ] || fail "a login reached Dovecot with an untrusted certificate"

# IDLE: a message appended meanwhile ends it with "changed".
"$PROBE" "imaps://localhost:$IMAPS" branch "$T/pass" "$CA" INBOX idle 20 \
	>"$T/idle.out" 2>"$T/idle.err" &
idle_pid=$!
wait_for "$T/idle.out" "idling"
sleep 1
dovecot_append "$IMAP" INBOX "$T/m1.eml"
wait_exit "$idle_pid" 30
[ "$EXIT_STATUS" -eq 0 ] || { cat "$T/idle.err" >&2; fail "idle exited $EXIT_STATUS"; }
assert_contains "$T/idle.out" "idle: changed"

# imap_interrupt from another thread ends the wait, and one made before
# imap_idle makes it return at once (the caps are far below 60 s).
IMAP_PROBE_TIMEOUT=10 "$PROBE" "imaps://localhost:$IMAPS" branch "$T/pass" \
	"$CA" INBOX interrupt 60 >"$T/int.out" 2>"$T/int.err" &
int_pid=$!
wait_exit "$int_pid" 20
[ "$EXIT_STATUS" -eq 0 ] || { cat "$T/int.err" >&2; fail "interrupt exited $EXIT_STATUS"; }
assert_contains "$T/int.out" "idle: no change"
"$PROBE" "imaps://localhost:$IMAPS" branch "$T/pass" "$CA" INBOX \
	interrupt-first 60 >"$T/int.out" 2>"$T/int.err" &
int_pid=$!
wait_exit "$int_pid" 20
[ "$EXIT_STATUS" -eq 0 ] || { cat "$T/int.err" >&2; fail "interrupt-first exited $EXIT_STATUS"; }
assert_contains "$T/int.out" "idle: no change"

# A certificate for another name, signed by the same authority.
start_dovecot wronghost DNS:other.example
expect_exit 1 "$PROBE" "imaps://localhost:$DOVECOT_IMAPS_PORT" branch \
	"$T/pass" "$CA" INBOX list-unseen
assert_contains "$T/err" "connect (permanent): certificate for localhost not trusted: host name mismatch (it is for other.example)"
expect_exit 1 "$PROBE" "imap://localhost:$DOVECOT_IMAP_PORT" branch \
	"$T/pass" "$CA" INBOX list-unseen
assert_contains "$T/err" "host name mismatch"

# A certificate from the trusted authority that expired in 2020: refused
# on imaps and after STARTTLS, saying so.
DOVECOT_EXPIRED=1 start_dovecot expired
expect_exit 1 "$PROBE" "imaps://localhost:$DOVECOT_IMAPS_PORT" branch \
	"$T/pass" "$CA" INBOX list-unseen
assert_contains "$T/err" "connect (permanent): certificate for localhost not trusted"
assert_contains "$T/err" "expired"
expect_exit 1 "$PROBE" "imap://localhost:$DOVECOT_IMAP_PORT" branch \
	"$T/pass" "$CA" INBOX list-unseen
assert_contains "$T/err" "expired"
assert_not_contains "$DOVECOT_DIR/dovecot.log" "Login: user=<branch>"

# A server without MOVE and UIDPLUS: COPY, \Deleted, EXPUNGE. Its own
# instance also takes the wrong password, so that Dovecot's penalty for
# failed logins slows no other check.
# Where the machine has ::1, it listens there too, for a url with an
# IPv6 address in brackets.
plain_conf='imap_capability = IMAP4rev1 IDLE'
ipv6=no
if python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' \
	2>/dev/null; then
	ipv6=yes
	plain_conf=$(printf '%s\nlisten = 127.0.0.1, ::1' "$plain_conf")
fi
start_dovecot plain DNS:localhost,IP:127.0.0.1,IP:::1 "$plain_conf"
P_IMAP=$DOVECOT_IMAP_PORT
P_IMAPS=$DOVECOT_IMAPS_PORT
if [ "$ipv6" = yes ]; then
	expect_exit 0 probe "imaps://[::1]:$P_IMAPS" INBOX list-unseen
	assert_contains "$T/out" "uidvalidity"
fi
append_unseen "$P_IMAP" INBOX "$T/m1.eml"
dovecot_cmd "$P_IMAP" 'CREATE Done' >/dev/null
expect_exit 0 probe "imaps://localhost:$P_IMAPS" INBOX move 1 Done
expect_exit 0 probe "imaps://localhost:$P_IMAPS" INBOX list-unseen
assert_not_contains "$T/out" "unseen 1"
expect_exit 0 probe "imaps://localhost:$P_IMAPS" Done fetch 1
cmp "$T/out" "$T/m1.eml" || fail "m1.eml changed on its way to Done"
expect_exit 1 "$PROBE" "imaps://localhost:$P_IMAPS" branch "$T/badpass" \
	"$CA" INBOX list-unseen
assert_contains "$T/err" "connect (permanent): IMAP server localhost refused the login of branch"
assert_not_contains "$T/err" "not-the-password"

# start_fake MODE: imapfake.py in MODE (logging to $T/fake-MODE.log, with
# Dovecot's certificate); sets fake_pid and port.
start_fake() {
	rm -f "$T/fake.port"
	python3 "$SOURCE_ROOT/tests/integration/imapfake.py" "$1" \
		"$T/fake.port" "$T/fake-$1.log" "$DOVECOT_DIR/cert.pem" \
		"$DOVECOT_DIR/key.pem" 2>"$T/fake.err" &
	fake_pid=$!
	i=0
	while [ ! -s "$T/fake.port" ]; do
		i=$((i + 1))
		[ $i -lt 100 ] || fail "imapfake.py $1 did not start"
		sleep 0.1
	done
	port=$(cat "$T/fake.port")
}

# The scripted server: no STARTTLS, no capability list, STARTTLS
# answered NO, an injected reply after STARTTLS. Refused every time, and
# no LOGIN in its log.
for mode in nostarttls nocaps starttlsno inject; do
	start_fake "$mode"
	expect_exit 1 probe "imap://localhost:$port" INBOX list-unseen
	kill "$fake_pid" 2>/dev/null || true
	wait "$fake_pid" 2>/dev/null || true
	assert_contains "$T/err" "connect (permanent)"
	case $mode in
	inject) assert_contains "$T/err" "after its reply to STARTTLS" ;;
	starttlsno)
		assert_contains "$T/err" "refused STARTTLS: TLS is out of order"
		assert_contains "$T/fake-$mode.log" "STARTTLS"
		;;
	*) assert_contains "$T/err" "does not offer STARTTLS; bulletin never logs in without TLS" ;;
	esac
	assert_contains "$T/fake-$mode.log" "CAPABILITY"
	assert_not_contains "$T/fake-$mode.log" "LOGIN"
done

# F4: malformed and hostile replies to SELECT, after a proper STARTTLS.
# Garbage that libetpan can read past is read past; a literal announced
# as 4 GB, a 100 MB line and a line that never ends end the session with
# a message that says why, in bounded time (timeout 2 s: at most 10 s
# for one reply) and bounded memory (a reply is cut at 4 MiB).
for mode in status permflags biglit longline endless; do
	start_fake "$mode"
	IMAP_PROBE_TIMEOUT=2 IMAP_PROBE_RUSAGE=1 "$PROBE" \
		"imap://localhost:$port" branch "$T/pass" "$CA" INBOX \
		list-unseen >"$T/out" 2>"$T/err" &
	pid=$!
	wait_exit "$pid" 30
	kill "$fake_pid" 2>/dev/null || true
	wait "$fake_pid" 2>/dev/null || true
	assert_contains "$T/fake-$mode.log" "SELECT"
	case $mode in
	status | permflags)
		[ "$EXIT_STATUS" -eq 0 ] || fail "$mode: probe exited $EXIT_STATUS"
		assert_contains "$T/out" "uidvalidity 7"
		;;
	biglit)
		[ "$EXIT_STATUS" -eq 1 ] || fail "$mode: probe exited $EXIT_STATUS"
		assert_contains "$T/err" "IMAP server localhost announced a literal of 4294967295 bytes, over the 4194304 bulletin reads during SELECT"
		;;
	longline)
		[ "$EXIT_STATUS" -eq 1 ] || fail "$mode: probe exited $EXIT_STATUS"
		assert_contains "$T/err" "IMAP server localhost sent more than 4194304 bytes in one reply during SELECT; the session is dropped"
		;;
	endless)
		[ "$EXIT_STATUS" -eq 1 ] || fail "$mode: probe exited $EXIT_STATUS"
		assert_contains "$T/err" "IMAP server localhost was still sending one reply after 10 s during SELECT"
		;;
	esac
	# Far below the 100 MB the server sent (the sanitizers' own
	# memory included).
	rss=$(sed -n 's/^imap_probe: maxrss \([0-9]*\) KiB$/\1/p' "$T/err")
	[ -n "$rss" ] && [ "$rss" -lt 100000 ] || fail "$mode: maxrss ${rss:-?} KiB"
done

# A greeting of 100 MB: cut at 4 MiB like any reply, memory bounded.
start_fake biggreeting
IMAP_PROBE_TIMEOUT=2 IMAP_PROBE_RUSAGE=1 "$PROBE" \
	"imap://localhost:$port" branch "$T/pass" "$CA" INBOX \
	list-unseen >"$T/out" 2>"$T/err" &
pid=$!
wait_exit "$pid" 30
kill "$fake_pid" 2>/dev/null || true
wait "$fake_pid" 2>/dev/null || true
[ "$EXIT_STATUS" -eq 1 ] || fail "biggreeting: probe exited $EXIT_STATUS"
assert_contains "$T/err" "IMAP server localhost sent more than 4194304 bytes in one reply in its greeting; the session is dropped"
rss=$(sed -n 's/^imap_probe: maxrss \([0-9]*\) KiB$/\1/p' "$T/err")
[ -n "$rss" ] && [ "$rss" -lt 100000 ] || fail "biggreeting: maxrss ${rss:-?} KiB"

# A server that accepts and never answers: no greeting, no handshake.
# The probe gives up after its 2 s timeout; the cap is far above that.
start_fake silent
for url in "imap://localhost:$port" "imaps://localhost:$port"; do
	IMAP_PROBE_TIMEOUT=2 "$PROBE" "$url" branch "$T/pass" "$CA" INBOX \
		list-unseen >"$T/out" 2>"$T/err" &
	pid=$!
	wait_exit "$pid" 20
	[ "$EXIT_STATUS" -eq 1 ] || fail "$url: probe exited $EXIT_STATUS"
	assert_contains "$T/err" "connect (temporary)"
	assert_contains "$T/err" "2 s"
done
kill "$fake_pid" 2>/dev/null || true
wait "$fake_pid" 2>/dev/null || true

# One session under valgrind: connect, STARTTLS, the certificate check,
# SELECT, FETCH and LOGOUT leak nothing and touch no bad memory.
# (Not for a probe built with AddressSanitizer: the two do not mix.)
if command -v valgrind >/dev/null && ! ldd "$PROBE" | grep -q libasan; then
	expect_exit 0 valgrind -q --error-exitcode=3 --leak-check=full \
		--errors-for-leak-kinds=definite "$PROBE" \
		"imap://localhost:$P_IMAP" branch "$T/pass" "$CA" Done fetch 1
	cmp "$T/out" "$T/m1.eml" || fail "m1.eml differs under valgrind"
fi

# Urls: a password in one is never echoed.
expect_exit 1 "$PROBE" "imaps://user:hunter2@localhost:$IMAPS" branch \
	"$T/pass" "$CA" INBOX list-unseen
assert_contains "$T/err" "is not imaps://HOST[:PORT] or imap://HOST[:PORT]"
assert_not_contains "$T/err" "hunter2"
expect_exit 1 "$PROBE" "pop3://localhost" branch "$T/pass" "$CA" INBOX \
	list-unseen
assert_contains "$T/err" "connect (permanent)"

echo "imap_session: ok"
