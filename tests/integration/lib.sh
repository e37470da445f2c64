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
	command -v openssl >/dev/null || skip "openssl is not installed"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 \
		-subj /CN=bulletin-test-ca -keyout "$p/ca.key" -out "$p/ca.pem" \
		2>/dev/null || fail "openssl could not make an authority"
	openssl req -newkey rsa:2048 -nodes -subj /CN=localhost \
		-keyout "$p/key.pem" -out "$p/csr.pem" 2>/dev/null ||
		fail "openssl could not make a request"
	printf 'subjectAltName=DNS:localhost\n' >"$p/ext.cnf"
	openssl x509 -req -in "$p/csr.pem" -CA "$p/ca.pem" -CAkey "$p/ca.key" \
		-CAcreateserial -days 2 -extfile "$p/ext.cnf" -out "$p/cert.pem" \
		2>/dev/null || fail "openssl could not sign a certificate"
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
	head -c 32 /dev/urandom >"$T/secret"
	cat >"$1" <<CONF
[daemon]
database = $T/scratch.db
public_url = https://news.example.org
secret_file = $T/secret
[smtp]
url = maildir:$T/maildir
CONF
}
