#!/bin/sh
# Fetching against a scripted server (tests/integration/faultserver.py):
# permanent and temporary redirects, 410 Gone, Retry-After in seconds and
# as an HTTP-date, a body over the size cap, a gzip bomb, a redirect loop
# and a redirect to file://; a body gzipped twice and one with a bad gzip
# check (D2); a trickling server and a stalled TLS handshake (D3). Each
# is reported on the source's row, and no fault holds up the others.
set -eu
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/www"
cp "$SOURCE_ROOT/config/demo/staff-news.xml" "$T/www/blog.xml"
cp "$SOURCE_ROOT/config/demo/union-site.xml" "$T/www/union.xml"
start_faultserver "$T/www"
base="http://127.0.0.1:$FAULT_PORT"

cfg="$T/faults.conf"
scratch_config "$cfg"
printf '[fetch]\nmax_size = 1M\ntimeout = 20s\n' >>"$cfg"
add_source() {
	printf '[source %s]\ntype = feed\nurl = %s\ninterval = 30m\n' "$1" "$2" \
		>>"$cfg"
}
add_source moved "$base/redirect/301/blog.xml"
add_source temporary "$base/redirect/302/union.xml"
add_source gone "$base/gone/feed.xml"
add_source busy "$base/busy/5400/feed.xml"
add_source busy-long "$base/busy/99999999/feed.xml"
add_source slow-down "$base/slow-down/feed.xml"
add_source big "$base/big/5"
add_source bomb "$base/gzip-bomb"
add_source loop "$base/loop"
add_source to-file "$base/to-file"
ctl() { "$BULLETINCTL" -c "$cfg" "$@"; }
row() {
	python3 -c 'import sqlite3,sys; r=sqlite3.connect(sys.argv[1]).execute("SELECT " + sys.argv[3] + " FROM sources WHERE name=?", (sys.argv[2],)).fetchone(); print("" if r[0] is None else r[0])' "$T/scratch.db" "$1" "$2"
}

expect_exit 1 ctl fetch
assert_contains "$T/out" "fetched 10 sources, 8 failed"
cp "$T/err" "$T/fetch.err"

# 301: followed, stored, logged once, and used from then on.
assert_contains "$T/fetch.err" "source moved: $base/redirect/301/blog.xml has moved permanently to $base/blog.xml"
[ "$(row moved moved_url)" = "$base/blog.xml" ] || fail "moved_url not stored"
# 302: followed, but nothing to remember.
[ -z "$(row temporary moved_url)" ] || fail "a 302 was stored as a move"
assert_not_contains "$T/fetch.err" "source temporary: $base/redirect/302"

# 410: disabled, with the reason shown.
assert_contains "$T/fetch.err" "source gone ($base/gone/feed.xml): 410 Gone"
expect_exit 0 ctl sources
grep -E '^gone .* 410 .*DISABLED: 410 Gone' "$T/out" >/dev/null ||
	fail "sources does not show gone as disabled: $(cat "$T/out")"
grep -E '^moved .* 200 .*ok \(moved to '"$base"'/blog.xml\)' "$T/out" >/dev/null ||
	fail "sources does not show the move: $(cat "$T/out")"

# Retry-After: seconds (5400 > the 30 min backoff) and an HTTP-date (2 h).
wait=$(($(row busy next_poll) - $(row busy last_fetch)))
[ "$wait" -ge 5400 ] || fail "503 Retry-After: 5400 gave a wait of $wait s"
wait=$(($(row busy-long next_poll) - $(row busy-long last_fetch)))
[ "$wait" -eq 2592000 ] || fail "Retry-After past 30 days gave $wait s, not 30 days"
wait=$(($(row slow-down next_poll) - $(row slow-down last_fetch)))
[ "$wait" -ge 7000 ] && [ "$wait" -le 7300 ] ||
	fail "429 Retry-After (date, +2 h) gave a wait of $wait s"

# Size cap, also after decompression.
assert_contains "$T/fetch.err" "source big ($base/big/5): response larger than the 1048576-byte limit"
assert_contains "$T/fetch.err" "source bomb ($base/gzip-bomb): response larger than the 1048576-byte limit"
# Redirect loop and a redirect to another protocol.
assert_contains "$T/fetch.err" "source loop ($base/loop): Maximum (5) redirects followed"
grep -F "source to-file ($base/to-file):" "$T/fetch.err" | grep -qi "protocol" ||
	fail "redirect to file:// not refused by protocol: $(grep to-file "$T/fetch.err")"
assert_not_contains "$T/fetch.err" "root:x:0:0"

# Second round: the move is used directly, the disabled source is left
# alone, and the others wait for their time (all but the forced).
: >"$T/fault.log"
expect_exit 0 "$BULLETINCTL" -c "$cfg" fetch moved
grep -q '"GET /blog.xml ' "$T/fault.log" || fail "moved source not fetched at its new URL"
if grep -q '/redirect/301/' "$T/fault.log"; then
	fail "moved source fetched at its old URL again"
fi
sed -i "s#^url = $base/redirect/301/blog.xml#url = $base/redirect/301/union.xml#" "$cfg"
: >"$T/fault.log"
expect_exit 0 "$BULLETINCTL" -c "$cfg" fetch moved
grep -q '/redirect/301/union.xml' "$T/fault.log" ||
	fail "a changed url did not replace the remembered move"
[ "$(row moved moved_url)" = "$base/union.xml" ] || fail "new move not stored"

# A server's ETag with a bare CR in it is never sent back (D6).
printf '[source etag-cr]\ntype = feed\nurl = %s/etag-cr/blog.xml\n' "$base" >>"$cfg"
expect_exit 0 "$BULLETINCTL" -c "$cfg" fetch etag-cr
: >"$T/fault.log"
expect_exit 0 "$BULLETINCTL" -c "$cfg" fetch etag-cr
assert_contains "$T/fault.log" "if-none-match: None"
assert_not_contains "$T/fault.log" "X-Injected"

# A gzip stream cut off half-way is never taken for the whole feed
# (D2): either the transfer fails, or the items before the cut are kept
# and the source shows what was wrong.
printf '[source gzip-cut]\ntype = feed\nurl = %s/gzip-cut/union.xml\n' "$base" >>"$cfg"
set +e
"$BULLETINCTL" -c "$cfg" fetch gzip-cut >"$T/out" 2>"$T/err"
set -e
expect_exit 0 "$BULLETINCTL" -c "$cfg" sources
grep -E '^gzip-cut .*(failing|ok, but:)' "$T/out" >/dev/null ||
	fail "a cut gzip stream looked complete: $(grep gzip-cut "$T/out")"
n=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM items i JOIN sources s ON s.id = i.source_id WHERE s.name = ?", ("gzip-cut",)).fetchone()[0])' "$T/scratch.db")
[ "$n" -lt 12 ] || fail "all 12 items of a cut feed were stored as if complete"

# Relative links resolve against where the feed was found after its
# redirects, not the address asked for.
mkdir -p "$T/www/sub"
cat >"$T/www/sub/rel.xml" <<'XML'
<?xml version="1.0"?><rss version="2.0"><channel><title>Rel</title>
<item><guid>rel-1</guid><title>Relative</title><link>post1.html</link>
<description>A post with a relative link, for the base URL.</description>
</item></channel></rss>
XML
chmod -R a+rX "$T/www/sub"
printf '[source rel]\ntype = feed\nurl = %s/redirect/302/sub/rel.xml\n' "$base" >>"$cfg"
expect_exit 0 "$BULLETINCTL" -c "$cfg" fetch rel
link=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT link FROM items WHERE guid = ?", ("rel-1",)).fetchone()[0])' "$T/scratch.db")
[ "$link" = "$base/sub/post1.html" ] || fail "relative link resolved to $link"

# A permanent move whose new address answers 304 is still recorded.
printf '[source later]\ntype = feed\nurl = %s/moves-later/blog.xml\n' "$base" >>"$cfg"
expect_exit 0 "$BULLETINCTL" -c "$cfg" fetch later
expect_exit 0 "$BULLETINCTL" -c "$cfg" fetch later
assert_contains "$T/err" "source later: not modified"
assert_contains "$T/err" "has moved permanently to $base/etag/blog.xml"
[ "$(row later moved_url)" = "$base/etag/blog.xml" ] || fail "a move ending in 304 was not stored"

# The disabled source is skipped by the daemon's cycle, but polled when
# asked for by name.
: >"$T/fault.log"
"$BULLETIND" -c "$cfg" --once >/dev/null 2>&1 || true
if grep -q '/gone/' "$T/fault.log"; then
	fail "bulletind polled a disabled source"
fi
expect_exit 1 "$BULLETINCTL" -c "$cfg" fetch gone
grep -q '/gone/' "$T/fault.log" || fail "fetch by name did not poll it"

# D2: a body gzipped twice (Content-Encoding: gzip, gzip) is read whole;
# one whose gzip check fails is refused, and nothing of it is stored.
count() { python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM items i JOIN sources s ON s.id = i.source_id WHERE s.name = ?", (sys.argv[2],)).fetchone()[0])' "$T/scratch.db" "$1"; }
printf '[source gzip2]\ntype = feed\nurl = %s/gzip2/union.xml\n' "$base" >>"$cfg"
printf '[source gzip-crc]\ntype = feed\nurl = %s/gzip-crc/union.xml\n' "$base" >>"$cfg"
expect_exit 0 "$BULLETINCTL" -c "$cfg" fetch gzip2
assert_contains "$T/err" "source gzip2: 12 items, 12 new"
expect_exit 1 "$BULLETINCTL" -c "$cfg" fetch gzip-crc
grep -F "source gzip-crc ($base/gzip-crc/union.xml):" "$T/err" | grep -qiE "decod|encoding|check|crc" ||
	fail "a bad gzip check was not reported: $(cat "$T/err")"
[ "$(count gzip-crc)" = 0 ] || fail "items of a corrupt gzip body were stored"

# D3: a server that trickles a byte every 0.3 s, and one that accepts
# and never starts the TLS handshake, end at the total timeout (2 s
# here) with a message saying so, in the same round as a healthy source
# that is stored.
SILENT_PORT=$(free_port)
python3 - "$SILENT_PORT" <<'PY' &
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(8)
held = []
while True:
    c, _ = s.accept()
    held.append(c)
PY
SILENT_PID=$!
stop_silent() { kill "$SILENT_PID" 2>/dev/null || true; }
cleanup_hooks="$cleanup_hooks stop_silent"
wait_listen() {
	python3 -c 'import socket,sys,time
for _ in range(100):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close(); sys.exit(0)
    except OSError: time.sleep(0.1)
sys.exit(1)' "$1" || fail "nothing listening on $1"
}
wait_listen "$SILENT_PORT"
cfg2="$T/slow.conf"
scratch_config "$cfg2"
printf '[fetch]\ntimeout = 2s\n' >>"$cfg2"
printf '[source trickle]\ntype = feed\nurl = %s/trickle/union.xml\n' "$base" >>"$cfg2"
printf '[source tls-stall]\ntype = feed\nurl = https://127.0.0.1:%s/feed.xml\n' "$SILENT_PORT" >>"$cfg2"
printf '[source fine]\ntype = feed\nurl = %s/blog.xml\n' "$base" >>"$cfg2"
expect_exit 1 "$BULLETINCTL" -c "$cfg2" fetch
assert_contains "$T/out" "fetched 3 sources, 2 failed"
grep -F "source trickle ($base/trickle/union.xml):" "$T/err" | grep -qi "timed out" ||
	fail "a trickling server did not time out: $(cat "$T/err")"
grep -F "source tls-stall (https://127.0.0.1:$SILENT_PORT/feed.xml):" "$T/err" | grep -qi "timed out" ||
	fail "a stalled TLS handshake did not time out: $(cat "$T/err")"
assert_contains "$T/err" "source fine: 18 items"
echo PASS
