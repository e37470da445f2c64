#!/bin/sh
# SMTP submission with TLS and AUTH against aiosmtpd (smtpd.py):
# STARTTLS with the certificate checked against [smtp] ca_file; smtps://;
# AUTH with the password from password_file; and the refusals, which
# send nothing and wait for the server to be fixed (RELIABILITY G5, F3
# for SMTP): STARTTLS not offered with starttls = yes, an untrusted
# certificate, a certificate for another name, a wrong password.
set -eu
. "$(dirname "$0")/lib.sh"

/usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null ||
	skip "aiosmtpd is not installed (apt-get install python3-aiosmtpd)"
command -v openssl >/dev/null || skip "openssl is not installed"

test_ca "$T/ca"
test_cert "$T/ca" "$T/good" "DNS:localhost,IP:127.0.0.1"
test_cert "$T/ca" "$T/other" "DNS:other.example"

# smtpd MODE CERT_DIR: starts smtpd.py; sets SMTPD_PORT and SMTPD_DIR.
SMTPD_PIDS=""
stop_smtpds() {
	for p in $SMTPD_PIDS; do kill "$p" 2>/dev/null || true; done
}
cleanup_hooks="$cleanup_hooks stop_smtpds"
smtpd() {
	SMTPD_DIR="$T/smtpd-$1-$(basename "$2")"
	mkdir -p "$SMTPD_DIR"
	SMTPD_PORT=$(free_port)
	/usr/bin/python3 "$SOURCE_ROOT/tests/integration/smtpd.py" "$1" \
		"$SMTPD_PORT" "$SMTPD_DIR" "$2/cert.pem" "$2/key.pem" \
		2>"$SMTPD_DIR.err" &
	SMTPD_PIDS="$SMTPD_PIDS $!"
	i=0
	while [ ! -e "$SMTPD_DIR/ready" ]; do
		i=$((i + 1))
		[ $i -lt 100 ] || { cat "$SMTPD_DIR.err" >&2; fail "smtpd.py $1 did not start"; }
		sleep 0.1
	done
}

demo_setup
"$BULLETINCTL" -c "$cfg" subscribers staff-news add ann@example.org >/dev/null
printf 's3cret\n' >"$W/smtp-password"
chmod 600 "$W/smtp-password"

# smtp_config URL [KEY=VALUE...]: replaces the [smtp] section.
smtp_config() {
	python3 - "$cfg" "$@" <<'PY'
import re, sys
p, url, kvs = sys.argv[1], sys.argv[2], sys.argv[3:]
sec = "[smtp]\nurl = %s\n" % url
sec += "".join("%s = %s\n" % tuple(kv.split("=", 1)) for kv in kvs)
sec += "retry = 1s\n"
s = open(p).read()
s = re.sub(r"\[smtp\]\n(?:[^\[].*\n|\n)*", sec, s, count=1)
open(p, "w").write(s)
PY
}
# pending_again: the next run tries every row now.
pending_again() { q "UPDATE deliveries SET state = 'pending', next_try = 0 WHERE state != 'sent'"; }

# STARTTLS, the certificate checked against ca_file: delivered over TLS.
smtpd starttls "$T/good"
smtp_config "smtp://localhost:$SMTPD_PORT" starttls=yes "ca_file=$T/ca/ca.pem"
expect_exit 0 "$BULLETIND" -c "$cfg" --once
assert_contains "$T/err" "digest delivered to ann@example.org"
assert_contains "$SMTPD_DIR/log" "tls yes"
assert_contains "$SMTPD_DIR/log" "rcpt ann@example.org"
[ -e "$SMTPD_DIR/1.eml" ] || fail "no message"

# Without ca_file the private authority is not trusted: nothing sent,
# the row waits, and the error says what to do.
q "DELETE FROM deliveries; DELETE FROM digest_items; DELETE FROM digests"
smtp_config "smtp://localhost:$SMTPD_PORT" starttls=yes
expect_exit 1 "$BULLETIND" -c "$cfg" --once
assert_contains "$T/err" "[smtp] ca_file"
assert_contains "$T/err" "deliveries wait and resume on their own"
[ "$(q "SELECT state || ' ' || attempts FROM deliveries")" = "pending 0" ] ||
	fail "deliveries: $(q 'SELECT state, attempts, last_error FROM deliveries')"
[ "$(ls "$SMTPD_DIR" | grep -c '\.eml$')" = 1 ] || fail "a message went to an untrusted server"

# A certificate for another name, from the trusted authority.
smtpd starttls "$T/other"
smtp_config "smtp://localhost:$SMTPD_PORT" starttls=yes "ca_file=$T/ca/ca.pem"
pending_again
expect_exit 1 "$BULLETIND" -c "$cfg" --once
assert_contains "$T/err" "SMTP server smtp://localhost:$SMTPD_PORT"
[ "$(ls "$SMTPD_DIR" | grep -c '\.eml$' || true)" = 0 ] ||
	fail "a message went to a server with another name's certificate"

# No STARTTLS offered, starttls = yes: fails closed, nothing in the clear.
smtpd nostarttls "$T/good"
smtp_config "smtp://localhost:$SMTPD_PORT" starttls=yes "ca_file=$T/ca/ca.pem"
pending_again
expect_exit 1 "$BULLETIND" -c "$cfg" --once
assert_contains "$T/err" "does not offer STARTTLS, and [smtp] starttls = yes: nothing is sent in the clear"
[ ! -e "$SMTPD_DIR/log" ] || fail "something was sent in the clear: $(cat "$SMTPD_DIR/log")"

# AUTH after STARTTLS: a wrong password is refused and said so; the
# right one delivers.
smtpd auth "$T/good"
printf 'wrong\n' >"$W/smtp-password"
smtp_config "smtp://localhost:$SMTPD_PORT" starttls=yes "ca_file=$T/ca/ca.pem" \
	username=news "password_file=$W/smtp-password"
pending_again
expect_exit 1 "$BULLETIND" -c "$cfg" --once
assert_contains "$T/err" "refused the login"
assert_contains "$T/err" "check [smtp] username and password_file"
assert_contains "$SMTPD_DIR/log" "auth news refused"
printf 's3cret\n' >"$W/smtp-password"
pending_again
expect_exit 0 "$BULLETIND" -c "$cfg" --once
assert_contains "$SMTPD_DIR/log" "auth news ok"
assert_contains "$SMTPD_DIR/log" "rcpt ann@example.org"
assert_not_contains "$T/err" "s3cret"

# smtps://: TLS from the first byte.
smtpd smtps "$T/good"
smtp_config "smtps://localhost:$SMTPD_PORT" "ca_file=$T/ca/ca.pem"
pending_again
# The AUTH run sent the row: queue it again for smtps.
q "UPDATE deliveries SET state = 'pending'"
expect_exit 0 "$BULLETIND" -c "$cfg" --once
assert_contains "$SMTPD_DIR/log" "tls yes"
assert_contains "$SMTPD_DIR/log" "rcpt ann@example.org"
echo ok
