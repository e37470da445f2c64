#!/bin/sh
# The subscribe form's limit per client behind a reverse proxy ([http]
# trusted_proxies). A private nginx runs contrib/nginx-bulletin.conf's
# location block (TLS left out) in front of bulletind, which trusts
# 127.0.0.1 only. Expected: clients reaching nginx from different
# addresses get a limit each (form_per_ip = 2: the third post of each is
# absorbed, logged with the client's own address); an X-Forwarded-For a
# client sends through nginx is replaced, so it changes nothing; a peer
# that is not a trusted proxy (127.0.3.1) gets one limit however it
# forges X-Forwarded-For or X-Real-IP; a trusted peer's distinct
# forwarded clients get a limit each.
set -eu
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || skip "curl is not installed"
command -v nginx >/dev/null || skip "nginx is not installed"
command -v sqlite3 >/dev/null || skip "sqlite3 is not installed"
demo_setup
PORT=$(free_port)
NPORT=$(free_port)
sed -i "s|^\[smtp\]|[http]\nlisten = 127.0.0.1:$PORT\nform_per_ip = 2\nform_min_time = 0\ntrusted_proxies = 127.0.0.1\n\n[smtp]|" "$cfg"

# nginx with the contrib location block, pointed at this daemon.
p="$T/nginx"
mkdir -p "$p/logs" "$p/tmp"
sed -n '/^\tlocation ~ \^\/(u|c|s)\/ {/,/^\t}/p' "$SOURCE_ROOT/contrib/nginx-bulletin.conf" |
	sed "s|127.0.0.1:8025|127.0.0.1:$PORT|" >"$p/location.conf"
grep -q "proxy_set_header X-Forwarded-For" "$p/location.conf" ||
	fail "no X-Forwarded-For in contrib/nginx-bulletin.conf's location block"
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
	server {
		listen 127.0.0.1:$NPORT;
		include $p/location.conf;
	}
}
NGX
stop_proxy() { [ -f "$p/nginx.pid" ] && kill "$(cat "$p/nginx.pid")"; }
nginx -p "$p" -c "$p/nginx.conf" -e "$p/logs/error.log" || fail "nginx did not start"
cleanup_hooks="$cleanup_hooks stop_proxy"

"$BULLETIND" -c "$cfg" >"$T/daemon.log" 2>&1 &
DPID=$!
stop_daemon() {
	kill "$DPID" 2>/dev/null || true
	wait "$DPID" 2>/dev/null || true
}
cleanup_hooks="stop_daemon $cleanup_hooks"
wait_for "$T/daemon.log" "http: listening on 127.0.0.1:$PORT"
FT=$(curl -s "http://127.0.0.1:$PORT/s/staff-news" | sed -n 's/.*name="form_token" value="\([A-Za-z0-9_-]*\)".*/\1/p')
[ -n "$FT" ] || fail "the subscribe form carries no form_token"

# post URL N [CURL_ARGS...]: the subscribe form for s$N@example.org.
post() {
	url=$1
	n=$2
	shift 2
	code=$(curl -s -o /dev/null -w '%{http_code}' "$@" \
		--data-urlencode "address=s$n@example.org" -d "form_token=$FT" "$url/s/staff-news")
	[ "$code" = 200 ] || fail "the form answered $code"
}
over() { grep -c "client $1 is over form_per_ip" "$T/daemon.log" || true; }
requested() { q "SELECT count(*) FROM sub_events WHERE what = 'subscribe' AND address = 's$1@example.org'"; }

# Three clients through nginx, three posts each: two each go through.
n=0
for c in 1 2 3; do
	for i in 1 2 3; do
		n=$((n + 1))
		post "http://127.0.0.1:$NPORT" $n --interface "127.0.4.$c"
	done
done
for c in 1 2 3; do
	[ "$(over 127.0.4.$c)" = 1 ] || fail "client 127.0.4.$c through the proxy: $(over 127.0.4.$c) posts over the limit, expected 1"
done
[ "$(over 127.0.0.1)" = 0 ] || fail "the proxy's own address was limited: the clients shared one limit"
for n in 1 2 4 5 7 8; do
	[ "$(requested $n)" = 1 ] || fail "s$n@example.org's request was not taken"
done
for n in 3 6 9; do
	[ "$(requested $n)" = 0 ] || fail "s$n@example.org's request went past the limit"
done

# A client's own X-Forwarded-For through nginx: replaced by nginx.
for i in 1 2 3; do
	n=$((n + 1))
	post "http://127.0.0.1:$NPORT" $n --interface 127.0.4.4 \
		-H "X-Forwarded-For: 10.7.0.$i" -H "X-Real-IP: 10.7.1.$i"
done
[ "$(over 127.0.4.4)" = 1 ] || fail "a forged X-Forwarded-For through the proxy got past the limit"
if grep -q 'client 10\.7\.' "$T/daemon.log"; then fail "a client's X-Forwarded-For got through nginx"; fi

# Not a trusted proxy: its headers are ignored, however they vary.
for i in 1 2 3 4; do
	n=$((n + 1))
	post "http://127.0.0.1:$PORT" $n --interface 127.0.3.1 \
		-H "X-Forwarded-For: 10.8.0.$i" -H "X-Real-IP: 10.8.1.$i"
done
[ "$(over 127.0.3.1)" = 2 ] || fail "an untrusted peer's forged headers changed its limit ($(over 127.0.3.1) over, expected 2)"
if grep -q 'client 10\.8\.' "$T/daemon.log"; then fail "an untrusted peer's X-Forwarded-For was believed"; fi

# A trusted peer (127.0.0.1) speaking for distinct clients directly.
for i in 1 2 3; do
	for j in 1 2 3; do
		n=$((n + 1))
		post "http://127.0.0.1:$PORT" $n -H "X-Forwarded-For: 203.0.113.99, 10.9.0.$i"
	done
done
for i in 1 2 3; do
	[ "$(over 10.9.0.$i)" = 1 ] || fail "forwarded client 10.9.0.$i: $(over 10.9.0.$i) over, expected 1"
done
[ "$(over 203.0.113.99)" = 0 ] || fail "an address left of the right-most client was believed"
# X-Real-IP alone, from the trusted peer.
for i in 1 2 3; do
	n=$((n + 1))
	post "http://127.0.0.1:$PORT" $n -H "X-Real-IP: 10.9.1.1"
done
[ "$(over 10.9.1.1)" = 1 ] || fail "X-Real-IP from the trusted peer was not the client"
echo "ok"
