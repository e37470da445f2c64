# Shared helpers for the integration tests (sourced, not run).
# Each test gets a scratch directory that is removed on exit, and fails
# with a message naming what it expected.

BULLETIND=${BULLETIND:?run through meson test}
BULLETINCTL=${BULLETINCTL:?run through meson test}
SOURCE_ROOT=${SOURCE_ROOT:?run through meson test}
BUILD_DIR=$(dirname "$BULLETIND")
export BUILD_DIR

T=$(mktemp -d /tmp/bulletin-test.XXXXXX)
cleanup_hooks=""
on_exit() {
	for h in $cleanup_hooks; do
		$h || true
	done
	rm -rf "$T"
}
trap on_exit EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

skip() {
	echo "SKIP: $*"
	exit 77
}

# assert_contains FILE TEXT: fixed-string search.
assert_contains() {
	grep -qF -- "$2" "$1" || {
		echo "--- $1:" >&2
		cat "$1" >&2
		fail "expected '$2' in $1"
	}
}

assert_not_contains() {
	if grep -qF -- "$2" "$1"; then
		echo "--- $1:" >&2
		cat "$1" >&2
		fail "did not expect '$2' in $1"
	fi
}

# expect_exit CODE CMD...: runs CMD, output in $T/out and $T/err.
expect_exit() {
	want=$1
	shift
	set +e
	"$@" >"$T/out" 2>"$T/err"
	got=$?
	set -e
	if [ "$got" -ne "$want" ]; then
		echo "--- stdout:" >&2
		cat "$T/out" >&2
		echo "--- stderr:" >&2
		cat "$T/err" >&2
		fail "'$*' exited $got, expected $want"
	fi
}

# A free TCP port on 127.0.0.1.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Sets up a demo-like work dir in $T/work with the demo config.
make_workdir() {
	mkdir -p "$T/work"
	cp "$SOURCE_ROOT/config/demo.conf" "$T/work/demo.conf"
	cp -R "$SOURCE_ROOT/config/demo" "$T/work/demo"
	cp -R "$SOURCE_ROOT/templates" "$T/work/templates"
	head -c 32 /dev/urandom >"$T/work/demo-secret"
	chmod 600 "$T/work/demo-secret"
}

# demo_setup: make_workdir, then W (the work dir) and cfg (its demo
# config), which ctl and q below act on.
demo_setup() {
	make_workdir
	W="$T/work"
	cfg="$W/demo.conf"
}

# ctl ARGS: bulletinctl on $cfg. q SQL: a query on $W/demo.db. A test
# with another config or database defines its own.
ctl() { "$BULLETINCTL" -c "$cfg" "$@"; }
q() { sqlite3 "$W/demo.db" "$1"; }

# test_ca DIR: a throwaway authority, DIR/ca.pem and DIR/ca.key, that
# nobody trusts unless told to.
test_ca() {
	command -v openssl >/dev/null || skip "openssl is not installed"
	mkdir -p "$1"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 \
		-subj /CN=bulletin-test-ca -keyout "$1/ca.key" -out "$1/ca.pem" \
		2>/dev/null || fail "openssl could not make an authority"
}

# test_cert CA_DIR DIR SAN: DIR/key.pem and DIR/cert.pem, signed by the
# authority in CA_DIR, for subjectAltName SAN (DNS:localhost,IP:...).
test_cert() {
	mkdir -p "$2"
	openssl req -newkey rsa:2048 -nodes -subj /CN=bulletin-test \
		-keyout "$2/key.pem" -out "$2/csr.pem" 2>/dev/null ||
		fail "openssl could not make a request"
	printf 'subjectAltName=%s\n' "$3" >"$2/ext.cnf"
	openssl x509 -req -in "$2/csr.pem" -CA "$1/ca.pem" -CAkey "$1/ca.key" \
		-CAcreateserial -days 2 -extfile "$2/ext.cnf" -out "$2/cert.pem" \
		2>/dev/null || fail "openssl could not sign a certificate"
}

# test_expired_cert CA_DIR DIR SAN: as test_cert, but valid only in
# January 2020 (openssl ca sets the dates; openssl x509 cannot).
test_expired_cert() {
	mkdir -p "$2/db"
	: >"$2/db/index.txt"
	echo 01 >"$2/db/serial"
	openssl req -newkey rsa:2048 -nodes -subj /CN=bulletin-test \
		-keyout "$2/key.pem" -out "$2/csr.pem" 2>/dev/null ||
		fail "openssl could not make a request"
	cat >"$2/ca.cnf" <<CNF
[ca]
default_ca = test
[test]
database = $2/db/index.txt
new_certs_dir = $2/db
serial = $2/db/serial
default_md = sha256
policy = any
x509_extensions = ext
[any]
commonName = supplied
[ext]
subjectAltName = $3
CNF
	openssl ca -batch -notext -config "$2/ca.cnf" -cert "$1/ca.pem" \
		-keyfile "$1/ca.key" -startdate 20200101000000Z \
		-enddate 20200201000000Z -in "$2/csr.pem" -out "$2/cert.pem" \
		2>/dev/null || fail "openssl could not sign an expired certificate"
}

# Starts a private nginx serving directory $1 on a free port; sets
# NGINX_PORT. Stopped on exit.
start_nginx() {
	command -v nginx >/dev/null || skip "nginx is not installed"
	NGINX_PORT=$(free_port)
	NGINX_TLS_PORT=$(free_port)
	p="$T/nginx"
	mkdir -p "$p/logs" "$p/tmp"
	# nginx's worker runs as nobody: it must be able to read the files.
	chmod 755 "$T" "$1"
	chmod -R a+rX "$1"
	# A throwaway authority ($p/ca.pem) and a certificate it signs for
	# "localhost" only, for the TLS listener: nobody trusts the
	# authority unless told to (RELIABILITY D7).
	test_ca "$p"
	test_cert "$p" "$p" DNS:localhost
	cat >"$p/nginx.conf" <<NGX
worker_processes 1;
daemon on;
pid $p/nginx.pid;
error_log $p/logs/error.log;
events { worker_connections 64; }
http {
	access_log $p/logs/access.log;
	client_body_temp_path $p/tmp/body;
	proxy_temp_path $p/tmp/proxy;
	fastcgi_temp_path $p/tmp/fastcgi;
	uwsgi_temp_path $p/tmp/uwsgi;
	scgi_temp_path $p/tmp/scgi;
	types { application/rss+xml xml; }
	server {
		listen 127.0.0.1:$NGINX_PORT;
		listen 127.0.0.1:$NGINX_TLS_PORT ssl;
		ssl_certificate $p/cert.pem;
		ssl_certificate_key $p/key.pem;
		root $1;
		etag on;
	}
}
NGX
	nginx -p "$p" -c "$p/nginx.conf" -e "$p/logs/error.log" ||
		fail "nginx did not start"
	cleanup_hooks="$cleanup_hooks stop_nginx"
	i=0
	while ! curl -s -o /dev/null "http://127.0.0.1:$NGINX_PORT/"; do
		i=$((i + 1))
		[ $i -lt 50 ] || fail "nginx not answering on $NGINX_PORT"
		sleep 0.1
	done
}

stop_nginx() {
	[ -f "$T/nginx/nginx.pid" ] && kill "$(cat "$T/nginx/nginx.pid")"
}

# Starts tests/integration/faultserver.py serving directory $1; sets
# FAULT_PORT. Stopped on exit.
start_faultserver() {
	python3 "$SOURCE_ROOT/tests/integration/faultserver.py" "$1" \
		"$T/fault.port" 2>"$T/fault.log" &
	FAULT_PID=$!
	cleanup_hooks="$cleanup_hooks stop_faultserver"
	i=0
	while [ ! -s "$T/fault.port" ]; do
		i=$((i + 1))
		[ $i -lt 100 ] || fail "faultserver did not start"
		sleep 0.1
	done
	FAULT_PORT=$(cat "$T/fault.port")
}

stop_faultserver() {
	kill "$FAULT_PID" 2>/dev/null
}

# wait_exit PID SECONDS: waits for PID to exit, at most SECONDS; sets
# EXIT_STATUS, or fails when it is still running.
wait_exit() {
	i=0
	while kill -0 "$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt $(($2 * 10)) ] || fail "process $1 still running after $2 s"
		sleep 0.1
	done
	set +e
	wait "$1"
	EXIT_STATUS=$?
	set -e
}

# wait_for FILE TEXT [SECONDS]: waits until FILE holds TEXT (a fixed
# string); after SECONDS (default 15) fails, showing FILE.
wait_for() {
	i=0
	while ! grep -qF -- "$2" "$1" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -ge $((${3:-15} * 10)) ]; then
			cat "$1" >&2
			fail "'$2' never appeared in $1"
		fi
		sleep 0.1
	done
}

# scratch_config FILE: starts a config whose database, secret and
# maildir live in $T; the test appends [fetch] and sources.
scratch_config() {
	(umask 077 && head -c 32 /dev/urandom >"$T/secret")
	cat >"$1" <<CONF
[daemon]
database = $T/scratch.db
public_url = https://news.example.org
secret_file = $T/secret
[smtp]
url = maildir:$T/maildir
CONF
}

# wait_port PORT [SECONDS]: waits until 127.0.0.1:PORT accepts and sends
# something (a greeting); fails after SECONDS (default 15).
wait_port() {
	python3 - "$1" "${2:-15}" <<'PY' || fail "nothing answering on port $1"
import socket, sys, time
port, limit = int(sys.argv[1]), time.monotonic() + float(sys.argv[2])
while time.monotonic() < limit:
    try:
        with socket.create_connection(("127.0.0.1", port), 1) as s:
            s.settimeout(2)
            if s.recv(64):
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.1)
sys.exit(1)
PY
}

# add_subscribers CONFIG N: r1@example.org .. rN@example.org on the
# list staff-news (the demo's), through bulletinctl.
add_subscribers() {
	n=1
	while [ $n -le "$2" ]; do
		"$BULLETINCTL" -c "$1" subscribers staff-news add \
			"r$n@example.org" >/dev/null ||
			fail "cannot add r$n@example.org"
		n=$((n + 1))
	done
}

# start_sink NAME [FAULT_OPTION...]: Postfix's smtp-sink on a free port of
# 127.0.0.1, dumping each message into $T/sink-NAME/ (one file each, the
# message after smtp-sink's X-Client-*, X-Mail-Args, X-Rcpt-Args and
# Received lines); FAULT_OPTIONs as in smtp-sink(1) (-r RCPT: 4xx, -f
# RCPT: 5xx, -q RCPT: hang up). Sets SINK_PORT, SINK_DIR and SINK_PID;
# stopped on exit (stop_sink stops it before).
start_sink() {
	[ -x /usr/sbin/smtp-sink ] ||
		skip "smtp-sink is not installed (apt-get install postfix)"
	[ "$(id -u)" -eq 0 ] || skip "smtp-sink -u needs root"
	SINK_DIR="$T/sink-$1"
	shift
	mkdir -p "$SINK_DIR"
	chmod 777 "$SINK_DIR"
	chmod 755 "$T"
	SINK_PORT=$(free_port)
	/usr/sbin/smtp-sink -u nobody -d "$SINK_DIR/%M." "$@" \
		"127.0.0.1:$SINK_PORT" 64 2>"$SINK_DIR.log" &
	SINK_PID=$!
	SINK_PIDS="${SINK_PIDS:-} $SINK_PID"
	case " $cleanup_hooks " in
	*" stop_sinks "*) ;;
	*) cleanup_hooks="$cleanup_hooks stop_sinks" ;;
	esac
	wait_port "$SINK_PORT"
}

stop_sink() {
	kill "$SINK_PID" 2>/dev/null || true
	wait "$SINK_PID" 2>/dev/null || true
}

stop_sinks() {
	for p in ${SINK_PIDS:-}; do
		kill "$p" 2>/dev/null || true
	done
}

# start_rawsmtp NAME [OPTION...]: tests/integration/rawsmtp.py on a free
# port of 127.0.0.1, keeping each message's DATA as it came over the
# wire (dot-stuffing and all) in $T/raw-NAME/N.raw and its envelope in
# N.env; OPTIONs as in rawsmtp.py (--dot-delay SECONDS). Sets RAW_PORT
# and RAW_DIR; stopped on exit (stop_rawsmtp stops it before).
start_rawsmtp() {
	RAW_DIR="$T/raw-$1"
	shift
	mkdir -p "$RAW_DIR"
	RAW_PORT=$(free_port)
	python3 "$SOURCE_ROOT/tests/integration/rawsmtp.py" "$RAW_PORT" \
		"$RAW_DIR" "$@" 2>"$RAW_DIR.log" &
	RAW_PID=$!
	RAW_PIDS="${RAW_PIDS:-} $RAW_PID"
	case " $cleanup_hooks " in
	*" stop_rawsmtps "*) ;;
	*) cleanup_hooks="$cleanup_hooks stop_rawsmtps" ;;
	esac
	wait_port "$RAW_PORT"
}

stop_rawsmtp() {
	kill "$RAW_PID" 2>/dev/null || true
	wait "$RAW_PID" 2>/dev/null || true
}

stop_rawsmtps() {
	for p in ${RAW_PIDS:-}; do
		kill "$p" 2>/dev/null || true
	done
}

# start_dovecot NAME [SAN] [CONFIG_LINE]: a private Dovecot as in
# TEST-SERVERS.md, in $T/dovecot-NAME, with user "branch", password
# "secret" and mail owned by uid 65534. Its certificate is signed by the
# authority $DOVECOT_CA (shared by all instances) for SAN (default
# DNS:localhost,IP:127.0.0.1); CONFIG_LINE is added to dovecot.conf.
# With DOVECOT_EXPIRED=1 the certificate expired in 2020.
# Sets DOVECOT_DIR, DOVECOT_IMAP_PORT (plain, with STARTTLS) and
# DOVECOT_IMAPS_PORT. Every instance is stopped on exit.
start_dovecot() {
	command -v dovecot >/dev/null ||
		skip "dovecot is not installed (apt-get install dovecot-imapd)"
	[ "$(id -u)" -eq 0 ] || skip "a private dovecot needs root"
	D="$T/dovecot-$1"
	mkdir -p "$D/mail" "$D/run" "$D/state"
	# Dovecot's processes run as other users: they must reach $D.
	chmod 755 "$T" "$D" "$D/run"
	[ -f "$T/dovecot-ca/ca.pem" ] || test_ca "$T/dovecot-ca"
	DOVECOT_CA="$T/dovecot-ca/ca.pem"
	if [ "${DOVECOT_EXPIRED:-0}" = 1 ]; then
		test_expired_cert "$T/dovecot-ca" "$D" \
			"${2:-DNS:localhost,IP:127.0.0.1}"
	else
		test_cert "$T/dovecot-ca" "$D" "${2:-DNS:localhost,IP:127.0.0.1}"
	fi
	DOVECOT_IMAP_PORT=$(free_port)
	DOVECOT_IMAPS_PORT=$(free_port)
	echo "branch:{PLAIN}secret:65534:65534::$D/mail/branch" >"$D/passwd"
	chown -R 65534:65534 "$D/mail"
	cat >"$D/dovecot.conf" <<DOVECOT
protocols = imap
listen = 127.0.0.1
base_dir = $D/run
state_dir = $D/state
log_path = $D/dovecot.log
ssl = yes
ssl_cert = <$D/cert.pem
ssl_key = <$D/key.pem
auth_mechanisms = plain login
disable_plaintext_auth = no
mail_location = maildir:$D/mail/%u
default_login_user = dovenull
default_internal_user = dovecot
${3:-}
passdb {
  driver = passwd-file
  args = scheme=PLAIN $D/passwd
}
userdb {
  driver = passwd-file
  args = $D/passwd
}
service imap-login {
  chroot =
  inet_listener imap {
    port = $DOVECOT_IMAP_PORT
  }
  inet_listener imaps {
    port = $DOVECOT_IMAPS_PORT
    ssl = yes
  }
}
service anvil {
  chroot =
}
DOVECOT
	dovecot -c "$D/dovecot.conf" || fail "dovecot $1 did not start"
	DOVECOT_CONFS="${DOVECOT_CONFS:-} $D/dovecot.conf"
	case " $cleanup_hooks " in
	*" stop_dovecot "*) ;;
	*) cleanup_hooks="$cleanup_hooks stop_dovecot" ;;
	esac
	# The greeting on the plain port: the imaps listener is the same
	# process, and a TLS port says nothing first.
	wait_port "$DOVECOT_IMAP_PORT"
	DOVECOT_DIR=$D
}

stop_dovecot() {
	for c in ${DOVECOT_CONFS:-}; do
		doveadm -c "$c" stop 2>/dev/null || true
	done
}

# dovecot_unseen PORT FOLDER: clears \Seen on every message of FOLDER
# (curl's APPEND sets it; new mail is unseen).
dovecot_unseen() {
	curl -s --fail --max-time 20 -u branch:secret \
		"imap://127.0.0.1:$1/$2" -X 'STORE 1:* -FLAGS (\Seen)' \
		>/dev/null || fail "STORE -FLAGS on $2 failed"
}

# imap_config FILE [KEY=VALUE...]: a scratch config reading the Dovecot
# started last as branch (password in $T/imap-password), with KEY=VALUEs
# added to [imap], a list news and a mailbox source union (folder
# Briefings, from briefings@union.example.org). Tests append the rest.
imap_config() {
	f=$1
	shift
	scratch_config "$f"
	cp "$SOURCE_ROOT/templates/digest.txt" "$T/"
	(umask 077 && printf 'secret\n' >"$T/imap-password")
	{
		printf '[imap]\nurl = imaps://localhost:%s\n' "$DOVECOT_IMAPS_PORT"
		printf 'username = branch\npassword_file = %s\n' "$T/imap-password"
		printf 'ca_file = %s\n' "$DOVECOT_CA"
		for kv in "$@"; do printf '%s\n' "$kv" | sed 's/=/ = /'; done
		printf '[list news]\naddress = news@example.org\n'
		printf 'schedule = weekly mon 07:30\n'
		printf '[source union]\ntype = mailbox\nfolder = Briefings\n'
		printf 'from = briefings@union.example.org\n'
	} >>"$f"
}

# dovecot_append PORT FOLDER FILE: APPENDs FILE, bytes as they are, over
# the plain port as branch.
dovecot_append() {
	curl -s --fail --max-time 20 "imap://127.0.0.1:$1/$2" \
		-u branch:secret -T "$3" || fail "could not append $3 to $2"
}

# dovecot_cmd PORT COMMAND: one IMAP command as branch, output on stdout.
dovecot_cmd() {
	curl -s --fail --max-time 20 "imap://127.0.0.1:$1/" -u branch:secret \
		-X "$2" || fail "IMAP command $2 failed"
}
