#!/bin/bash
# bulletin feed benchmark: run by hand, not part of the test suite.
# See tests/bench/README.md.
#
# usage: tests/bench/run.sh [--feeds N] [--jobs N] [--limit SECONDS]
#                           [--repeat N] [--bulletinctl PATH] [--keep]
#
# Steps (each prints a line as it starts):
#   1. generate N synthetic feeds (genfeeds.py) into a mktemp dir in /tmp
#   2. serve them with a private nginx on 127.0.0.1 (etag on)
#   3. cold and no-change fetch cycles: bulletinctl fetch, newsboat -x reload,
#      sfeed_update, and curl --parallel (the fetch ceiling)
#   4. parse-only throughput: bulletinctl parse, sfeed, python3-feedparser
#   5. peak memory of every run (/usr/bin/time -v)
#   6. the table and the targets (report.py)
# nginx is stopped and the scratch directory removed on exit, even on
# failure or Ctrl-C (--keep keeps the scratch directory).

set -u

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
FEEDS=1000
JOBS=16
LIMIT=900              # seconds: the most any one timed command may take
KEEP=0
REPEAT=3               # runs of each short timed command; the best counts
CTL="$REPO/build/bulletinctl"
PY=/usr/bin/python3    # Debian's python3, where python3-feedparser lives

usage() { sed -n '5,7p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
	case $1 in
	--feeds) FEEDS=${2:?}; shift 2 ;;
	--jobs) JOBS=${2:?}; shift 2 ;;
	--limit) LIMIT=${2:?}; shift 2 ;;
	--repeat) REPEAT=${2:?}; shift 2 ;;
	--bulletinctl) CTL=${2:?}; shift 2 ;;
	--keep) KEEP=1; shift ;;
	-h|--help) usage ;;
	*) echo "run.sh: unknown argument: $1" >&2; usage ;;
	esac
done
case $FEEDS$JOBS$LIMIT in *[!0-9]*) echo "run.sh: numbers only" >&2; exit 2 ;; esac
[ "$FEEDS" -ge 1 ] && [ "$FEEDS" -le 100000 ] || { echo "run.sh: --feeds 1..100000" >&2; exit 2; }

say() { printf '== %s\n' "$*" >&2; }
die() { printf 'run.sh: %s\n' "$*" >&2; exit 1; }

# ---- 0. what it needs ----------------------------------------------------
need_pkgs=""
for pc in newsboat:newsboat sfeed:sfeed sfeed_update:sfeed nginx:nginx-light \
	  /usr/bin/time:time sqlite3:sqlite3 curl:curl timeout:coreutils \
	  $PY:python3; do
	command -v "${pc%%:*}" >/dev/null 2>&1 || need_pkgs="$need_pkgs ${pc#*:}"
done
[ -x $PY ] && $PY -c 'import feedparser' 2>/dev/null || need_pkgs="$need_pkgs python3-feedparser"
if [ -n "$need_pkgs" ]; then
	if [ "$(id -u)" = 0 ]; then
		say "installing:$need_pkgs"
		DEBIAN_FRONTEND=noninteractive apt-get install -y $need_pkgs >/dev/null ||
			die "apt-get install$need_pkgs failed (try apt-get update first)"
	else
		die "missing packages; run: sudo apt-get install$need_pkgs"
	fi
fi
[ -x "$CTL" ] || die "no $CTL: build first (meson compile -C $REPO/build) or pass --bulletinctl"

# ---- scratch directory and cleanup --------------------------------------
W=$(mktemp -d /tmp/bulletin-bench.XXXXXX) || die "mktemp failed"
chmod 755 "$W"         # nginx's worker runs as nobody
NGINX_PID=""
cleanup() {
	rc=$?
	trap - EXIT INT TERM
	if [ -n "$NGINX_PID" ] && kill -0 "$NGINX_PID" 2>/dev/null; then
		kill "$NGINX_PID" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$NGINX_PID" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$NGINX_PID" 2>/dev/null && kill -9 "$NGINX_PID" 2>/dev/null
	fi
	if [ "$KEEP" = 1 ]; then
		say "kept scratch files in $W"
	else
		rm -rf "$W"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir -p "$W/www" "$W/time" "$W/log" "$W/nginx"
: >"$W/results.tsv"
: >"$W/checks.tsv"

# timed NAME CMD...: run CMD (at most $LIMIT s) under /usr/bin/time -v;
# wall seconds and exit status go to results.tsv, stdout/stderr to log/.
# NAME#k is the k-th of repeated runs of NAME: report.py takes the
# fastest (and the largest peak memory of them), so that a neighbour's
# burst on a shared machine does not decide a target.
timed() {
	local name=$1 t0 t1 rc
	shift
	t0=$(date +%s.%N)
	/usr/bin/time -v -o "$W/time/$name.txt" timeout -k 10 "$LIMIT" "$@" \
		>"$W/log/$name.out" 2>"$W/log/$name.err"
	rc=$?
	t1=$(date +%s.%N)
	printf '%s\t%s\t%s\n' "$name" "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}')" \
		"$rc" >>"$W/results.tsv"
	printf '   %-22s %7.2f s  exit %s\n' "$name" \
		"$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')" "$rc" >&2
	return $rc
}
# check NAME OK? DETAIL: record a correctness check for the report.
check() {
	printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$W/checks.tsv"
	[ "$2" = ok ] || printf '   CHECK FAILED %s: %s\n' "$1" "$3" >&2
}

# ---- 1. feeds ------------------------------------------------------------
say "1. generating $FEEDS feeds in $W/www"
$PY "$HERE/genfeeds.py" "$W/www" --merged "$W/merged" --feeds "$FEEDS" >&2 ||
	die "genfeeds.py failed"
chmod -R a+rX "$W/www"
ls "$W"/www/feed*.xml >"$W/files"
ls "$W"/merged/*.xml >"$W/merged.list"
ITEMS=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["items"])' "$W/www/manifest.json")

# ---- 2. nginx --------------------------------------------------------------
say "2. starting nginx on 127.0.0.1"
free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
for attempt in 1 2 3 4 5; do
	PORT=$(free_port)
	cat >"$W/nginx/nginx.conf" <<EOF
worker_processes 2;
pid $W/nginx/nginx.pid;
error_log $W/nginx/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	sendfile on;
	keepalive_requests 100000;
	etag on;
	default_type application/xml;
	client_body_temp_path $W/nginx/body;
	proxy_temp_path $W/nginx/proxy;
	fastcgi_temp_path $W/nginx/fastcgi;
	uwsgi_temp_path $W/nginx/uwsgi;
	scgi_temp_path $W/nginx/scgi;
	server {
		listen 127.0.0.1:$PORT;
		root $W/www;
	}
}
EOF
	nginx -e "$W/nginx/error.log" -p "$W/nginx" -c "$W/nginx/nginx.conf" 2>>"$W/nginx/start.err"
	for _ in $(seq 50); do
		[ -s "$W/nginx/nginx.pid" ] && break
		sleep 0.1
	done
	NGINX_PID=$(cat "$W/nginx/nginx.pid" 2>/dev/null)
	if [ -n "$NGINX_PID" ] &&
	   curl -s -o /dev/null -f "http://127.0.0.1:$PORT/feed1.xml"; then
		break
	fi
	[ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null
	NGINX_PID=""
	sleep 0.5
done
[ -n "$NGINX_PID" ] || die "nginx did not start: $(cat "$W/nginx/start.err" "$W/nginx/error.log" 2>/dev/null)"
BASE="http://127.0.0.1:$PORT"
say "   nginx pid $NGINX_PID serving $BASE/feed1.xml .. feed$FEEDS.xml"
# 304 sanity check: conditional GET must work for the no-change cycle.
etag=$(curl -s -D - -o /dev/null "$BASE/feed1.xml" | tr -d '\r' | sed -n 's/^[Ee][Tt]ag: //p')
code=$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$BASE/feed1.xml")
[ "$code" = 304 ] && check nginx-304 ok "ETag $etag" || check nginx-304 FAIL "conditional GET gave $code"

# ---- 3. fetch cycles -------------------------------------------------------
say "3. fetch cycles ($FEEDS feeds, $JOBS at a time)"
cat "$W"/www/*.xml >/dev/null    # page cache warm for everybody

# curl --parallel: the fetch ceiling (one warm-up run, then the timed one).
for n in $(seq "$FEEDS"); do
	printf 'url = "%s/feed%d.xml"\noutput = "/dev/null"\n' "$BASE" "$n"
done >"$W/curl.cfg"
curl_fetch() { curl --parallel --parallel-max "$JOBS" -s --no-progress-meter -w '%{http_code}\n' -K "$W/curl.cfg"; }
curl_fetch >/dev/null 2>&1
for i in $(seq "$REPEAT"); do
	timed "curl-cold#$i" curl --parallel --parallel-max "$JOBS" -s \
		--no-progress-meter -w '%{http_code}\n' -K "$W/curl.cfg"
	n200=$(grep -c '^200$' "$W/log/curl-cold#$i.out")
	[ "$n200" = "$FEEDS" ] && check "curl-cold#$i" ok "$n200 x 200" ||
		check "curl-cold#$i" FAIL "$n200 of $FEEDS answered 200"
done

# bulletin
B="$W/bulletin"
mkdir -p "$B"
(umask 077 && head -c 32 /dev/urandom >"$B/secret")
chmod 600 "$B/secret"
{
	printf '[daemon]\ndatabase = bulletin.db\npublic_url = http://127.0.0.1:8025\n'
	printf 'secret_file = secret\ntimezone = UTC\nlog_level = warning\n'
	printf 'templates = %s/templates\n\n' "$REPO"
	printf '[smtp]\nurl = maildir:maildir\n\n'
	printf '[fetch]\nconnections = %d\n\n' "$JOBS"
	printf '[list bench]\naddress = bench@example.org\nschedule = weekly mon 07:30\n\n'
	for n in $(seq "$FEEDS"); do
		printf '[source feed%d]\ntype = feed\nurl = %s/feed%d.xml\ninterval = 30m\n\n' "$n" "$BASE" "$n"
	done
} >"$B/bulletin.conf"
if ! "$CTL" -c "$B/bulletin.conf" check-config >"$W/log/bulletin-check.out" 2>&1; then
	check bulletin-config FAIL "$(head -5 "$W/log/bulletin-check.out" | tr '\n' ' ')"
fi
bulletin_check() {   # bulletin_check NAME EXPECTED_STATUS
	local out fetched items st
	out=$(cat "$W/log/$1.out" "$W/log/$1.err" 2>/dev/null | grep -m1 '^fetched ')
	if [ "$out" = "fetched $FEEDS sources, 0 failed" ]; then
		check "$1" ok "$out"
	else
		check "$1" FAIL "said: ${out:-$(tail -3 "$W/log/$1.err" | tr '\n' ' ')}"
	fi
	items=$(sqlite3 "$B/bulletin.db" 'SELECT count(*) FROM items' 2>&1)
	[ "$items" = "$ITEMS" ] && check "$1-items" ok "$items items stored" ||
		check "$1-items" FAIL "$items items stored, expected $ITEMS"
	st=$(sqlite3 -separator x "$B/bulletin.db" 'SELECT last_status, count(*) FROM sources GROUP BY last_status' 2>&1 | tr '\n' ' ')
	case " $st" in
	*" ${2}x$FEEDS "*) check "$1-status" ok "HTTP status of sources: $st" ;;
	*) check "$1-status" FAIL "HTTP status of sources: $st (expected all $2)" ;;
	esac
}
for i in $(seq "$REPEAT"); do
	rm -f "$B"/bulletin.db "$B"/bulletin.db-wal "$B"/bulletin.db-shm
	(cd "$B" && timed "bulletin-cold#$i" "$CTL" -c bulletin.conf fetch)
	bulletin_check "bulletin-cold#$i" 200
	(cd "$B" && timed "bulletin-nochange#$i" "$CTL" -c bulletin.conf fetch)
	bulletin_check "bulletin-nochange#$i" 304
done

# newsboat
N="$W/newsboat"
mkdir -p "$N/home"
for n in $(seq "$FEEDS"); do printf '%s/feed%d.xml\n' "$BASE" "$n"; done >"$N/urls"
printf 'reload-threads %d\nshow-read-feeds yes\n' "$JOBS" >"$N/config"
nb() { (cd "$N" && HOME="$N/home" timed "$1" newsboat -u urls -c cache.db -C config -x reload); }
nb_check() {
	local items
	items=$(sqlite3 "$N/cache.db" 'SELECT count(*) FROM rss_item' 2>&1)
	[ "$items" = "$ITEMS" ] && check "$1" ok "$items items" || check "$1" FAIL "$items items, expected $ITEMS"
}
nb newsboat-cold;     nb_check newsboat-cold
nb newsboat-nochange; nb_check newsboat-nochange

# sfeed_update
S="$W/sfeed"
mkdir -p "$S/feeds"
{
	printf 'sfeedpath="%s/feeds"\nmaxjobs=%d\nfeeds() {\n' "$S" "$JOBS"
	for n in $(seq "$FEEDS"); do printf '\tfeed "feed%d" "%s/feed%d.xml"\n' "$n" "$BASE" "$n"; done
	printf '}\n'
} >"$S/sfeedrc"
sf() { HOME="$S" timed "$1" sfeed_update "$S/sfeedrc"; }
sf_check() {
	local items fails
	items=$(cat "$S"/feeds/* | wc -l)
	fails=$(grep -c FAIL "$W/log/$1.err")
	[ "$items" = "$ITEMS" ] && [ "$fails" = 0 ] && check "$1" ok "$items items" ||
		check "$1" FAIL "$items items (expected $ITEMS), $fails FAIL lines"
}
sf sfeed-cold;     sf_check sfeed-cold
sf sfeed-nochange; sf_check sfeed-nochange

# ---- 4. parse-only ---------------------------------------------------------
# Main figure: the same items merged into a few big documents (genfeeds.py
# --merged; 3,000 items each, under bulletin's per-document item cap), so
# process start-up does not swamp the parse. Then, for information, one
# process per original file, beside a spawn+cat baseline.
say "4. parse-only: the same items merged into $(wc -l <"$W/merged.list") documents; then one process per file"
export W CTL
# sh -c "$LOOP" sh LIST CMD: run shell command CMD on each file $f in LIST,
# output to /dev/null, stop at the first failure.
LOOP='while read -r f; do eval "$2" >/dev/null || { echo "failed on $f" >&2; exit 1; }; done <"$1"'
for i in $(seq "$REPEAT"); do
	timed "parse-sfeed#$i"    sh -c "$LOOP" sh "$W/merged.list" 'sfeed <"$f"'
	timed "parse-bulletin#$i" sh -c "$LOOP" sh "$W/merged.list" '"$CTL" parse "$f"'
done
timed parse-feedparser $PY -c '
import feedparser, sys
n = 0
for f in open(sys.argv[1]).read().split():
    with open(f, "rb") as fh:
        d = feedparser.parse(fh.read())
    n += len(d.entries)
print(n)' "$W/merged.list"
timed perfile-baseline sh -c "$LOOP" sh "$W/files" 'cat "$f"'
timed perfile-sfeed    sh -c "$LOOP" sh "$W/files" 'sfeed <"$f"'
timed perfile-bulletin sh -c "$LOOP" sh "$W/files" '"$CTL" parse "$f"'
# Untimed: did each parser see every item?
n=$(while read -r f; do sfeed <"$f"; done <"$W/merged.list" | wc -l)
[ "$n" = "$ITEMS" ] && check parse-sfeed ok "$n items" || check parse-sfeed FAIL "$n items, expected $ITEMS"
n=$(while read -r f; do "$CTL" parse "$f" 2>/dev/null | tail -n +2; done <"$W/merged.list" | wc -l)
[ "$n" = "$ITEMS" ] && check parse-bulletin ok "$n items" || check parse-bulletin FAIL "$n items, expected $ITEMS"
n=$(cat "$W/log/parse-feedparser.out")
[ "$n" = "$ITEMS" ] && check parse-feedparser ok "$n items" || check parse-feedparser FAIL "$n items, expected $ITEMS"
n=$(while read -r f; do "$CTL" parse "$f" 2>/dev/null | tail -n +2; done <"$W/files" | wc -l)
[ "$n" = "$ITEMS" ] && check perfile-bulletin ok "$n items" || check perfile-bulletin FAIL "$n items, expected $ITEMS"

# ---- 5/6. report -----------------------------------------------------------
say "5. report"
$PY "$HERE/report.py" "$W"
