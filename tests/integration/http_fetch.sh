#!/bin/sh
# Feeds over real HTTP (a private nginx): the first fetch stores items and
# the server's validators; the second is a conditional GET answered 304
# that stores nothing new; a source that answers 404 is reported with its
# status and keeps what was stored.
set -eu
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/www"
cp "$SOURCE_ROOT/config/demo/staff-news.xml" "$T/www/blog.xml"
cp "$SOURCE_ROOT/config/demo/union-site.xml" "$T/www/union.xml"
start_nginx "$T/www"
make_workdir
cfg="$T/work/demo.conf"
sed -i -e "s#^url = demo/staff-news.xml#url = http://127.0.0.1:$NGINX_PORT/blog.xml#" \
	-e "s#^url = demo/union-site.xml#url = http://127.0.0.1:$NGINX_PORT/union.xml#" "$cfg"

expect_exit 0 "$BULLETINCTL" -c "$cfg" fetch
assert_contains "$T/out" "fetched 2 sources, 0 failed"
assert_contains "$T/err" "source probation-notes: 18 items, 18 new"
expect_exit 0 "$BULLETINCTL" -c "$cfg" sources
assert_contains "$T/out" "probation-notes"
grep -E '^probation-notes .* 200 +18 ' "$T/out" >/dev/null ||
	fail "sources does not show status 200 and 18 items: $(cat "$T/out")"

# Second fetch: nginx answers 304 to the stored ETag.
expect_exit 0 "$BULLETINCTL" -c "$cfg" fetch probation-notes
assert_contains "$T/err" "source probation-notes: not modified"
grep -c '"GET /blog.xml HTTP/1.1" 304' "$T/nginx/logs/access.log" >/dev/null ||
	fail "no 304 in nginx's log"
ua=$(grep -o 'bulletin/[0-9.]* (+[^)]*)' "$T/nginx/logs/access.log" | head -n 1)
[ -n "$ua" ] || fail "User-Agent does not name bulletin"

# The feed disappears: 404, reported, items kept, exit 1.
rm "$T/www/blog.xml"
expect_exit 1 "$BULLETINCTL" -c "$cfg" fetch probation-notes
assert_contains "$T/err" "probation-notes"
assert_contains "$T/err" "404"
expect_exit 0 "$BULLETINCTL" -c "$cfg" sources
grep -E '^probation-notes .* 404 +18 .*HTTP status 404' "$T/out" >/dev/null ||
	fail "sources does not show the 404 with the items kept: $(cat "$T/out")"
# TLS fails closed: a certificate nobody vouches for is refused, with
# the reason on the source's row, and nothing is stored from it.
cp "$SOURCE_ROOT/config/demo/union-site.xml" "$T/www/union-tls.xml"
chmod a+r "$T/www/union-tls.xml"
sed -i "s#^url = http://127.0.0.1:$NGINX_PORT/union.xml#url = https://127.0.0.1:$NGINX_TLS_PORT/union-tls.xml#" "$cfg"
expect_exit 1 "$BULLETINCTL" -c "$cfg" fetch union-branch
assert_contains "$T/err" "source union-branch (https://127.0.0.1:$NGINX_TLS_PORT/union-tls.xml)"
assert_contains "$T/err" "certificate"
expect_exit 0 "$BULLETINCTL" -c "$cfg" sources
grep -E '^union-branch .*failing .*certificate' "$T/out" >/dev/null ||
	fail "sources does not show the certificate error: $(cat "$T/out")"
if grep -q 'union-tls.xml' "$T/nginx/logs/access.log"; then
	fail "a request was sent over the untrusted connection"
fi

# With the private authority named in [fetch] ca_file, the same site is
# trusted under the name its certificate carries, and still refused
# under another (the address): host names are always checked.
printf '\n[fetch]\nca_file = %s\n' "$T/nginx/ca.pem" >>"$cfg"
expect_exit 0 "$BULLETINCTL" -c "$cfg" check-config
sed -i "s#^url = https://127.0.0.1:$NGINX_TLS_PORT/union-tls.xml#url = https://localhost:$NGINX_TLS_PORT/union-tls.xml#" "$cfg"
expect_exit 0 "$BULLETINCTL" -c "$cfg" fetch union-branch
assert_contains "$T/err" "source union-branch: 12 items"
sed -i "s#^url = https://localhost:$NGINX_TLS_PORT/union-tls.xml#url = https://127.0.0.1:$NGINX_TLS_PORT/union-tls.xml#" "$cfg"
expect_exit 1 "$BULLETINCTL" -c "$cfg" fetch union-branch
assert_contains "$T/err" "source union-branch (https://127.0.0.1:$NGINX_TLS_PORT/union-tls.xml)"
grep -F "source union-branch (https://127.0.0.1" "$T/err" | grep -qiE "match|name" ||
	fail "no host-name error: $(grep union-branch "$T/err")"
# The same authority, the right name, but a certificate that expired
# in 2020 (D7): refused, saying so.
mkdir -p "$T/expired"
test_expired_cert "$T/nginx" "$T/expired" DNS:localhost
cp "$T/expired/cert.pem" "$T/nginx/cert.pem"
cp "$T/expired/key.pem" "$T/nginx/key.pem"
kill -HUP "$(cat "$T/nginx/nginx.pid")"
sed -i "s#^url = https://127.0.0.1:$NGINX_TLS_PORT/union-tls.xml#url = https://localhost:$NGINX_TLS_PORT/union-tls.xml#" "$cfg"
i=0
while :; do
	"$BULLETINCTL" -c "$cfg" fetch union-branch >"$T/out" 2>"$T/err" || true
	grep -qi "expired" "$T/err" && break
	i=$((i + 1))
	[ $i -lt 20 ] || fail "an expired certificate was not refused as expired: $(cat "$T/err")"
	sleep 0.2
done
assert_contains "$T/err" "source union-branch (https://localhost:$NGINX_TLS_PORT/union-tls.xml)"
printf '[fetch]\nca_file = %s\n' "$T/missing.pem" >"$T/ca.conf"
sed -n '1,/^\[fetch\]/p' "$cfg" | sed '$d' >"$T/ca2.conf"
cat "$T/ca.conf" >>"$T/ca2.conf"
expect_exit 2 "$BULLETINCTL" -c "$T/ca2.conf" check-config
assert_contains "$T/err" "ca_file $T/missing.pem: cannot read it"
echo PASS
