#!/bin/bash
# Soak run (issue 8): run by hand, not in the test suite.
#
# usage: tests/bench/soak/run.sh [--minutes N] [--feeds N] [--subscribers N]
#                                [--bulletind PATH] [--bulletinctl PATH]
#
# bulletind with 1,000 feeds (default) on a private nginx and 10,000
# subscribers (default) whose digest goes to Postfix's smtp-sink, for 10
# minutes (default). Every minute a tenth of the feeds change, so each
# round fetches, parses and stores; the list's digest is scheduled two
# minutes in, so 10,000 messages go out during the run. Resident memory
# and open descriptors are printed every 30 s. Neither may grow: after
# the first three minutes (start-up, the first full fetch, the digest)
# the last sample must be within 10% (memory) and equal (descriptors) of
# the three-minute one. Exits 1 when they grow or the daemon dies.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
MINUTES=10
FEEDS=1000
SUBS=10000
D="$REPO/build/bulletind"
CTL="$REPO/build/bulletinctl"
PY=/usr/bin/python3
while [ $# -gt 0 ]; do
	case $1 in
	--minutes) MINUTES=${2:?}; shift 2 ;;
	--feeds) FEEDS=${2:?}; shift 2 ;;
	--subscribers) SUBS=${2:?}; shift 2 ;;
	--bulletind) D=${2:?}; shift 2 ;;
	--bulletinctl) CTL=${2:?}; shift 2 ;;
	-h|--help) sed -n '4,6p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
	*) echo "run.sh: unknown argument: $1" >&2; exit 2 ;;
	esac
done
die() { printf 'run.sh: %s\n' "$*" >&2; exit 1; }
for c in nginx /usr/sbin/smtp-sink sqlite3 "$PY"; do
	command -v "$c" >/dev/null || die "missing $c: apt-get install nginx-light postfix sqlite3 python3"
done
[ -x "$D" ] && [ -x "$CTL" ] || die "build first (meson compile -C build)"
[ "$MINUTES" -ge 4 ] || die "--minutes 4 at least (3 of warm-up)"

W=$(mktemp -d /tmp/bulletin-soak.XXXXXX) || die "mktemp failed"
chmod 755 "$W"
NGINX_PID="" SINK="" PID=""
cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	[ -n "$SINK" ] && kill "$SINK" 2>/dev/null
	[ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT INT TERM
free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

mkdir -p "$W/www" "$W/nginx" "$W/b"
$PY "$REPO/tests/bench/genfeeds.py" "$W/www" --feeds "$FEEDS" --items 10 \
	--size 20000 >/dev/null || die "genfeeds.py failed"
port=$(free_port)
cat >"$W/nginx/nginx.conf" <<EOF
worker_processes 1;
pid $W/nginx/nginx.pid;
error_log $W/nginx/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	etag on;
	default_type application/xml;
	client_body_temp_path $W/nginx/body;
	proxy_temp_path $W/nginx/proxy;
	fastcgi_temp_path $W/nginx/fastcgi;
	uwsgi_temp_path $W/nginx/uwsgi;
	scgi_temp_path $W/nginx/scgi;
	server { listen 127.0.0.1:$port; root $W/www; }
}
EOF
nginx -e "$W/nginx/error.log" -p "$W/nginx" -c "$W/nginx/nginx.conf" || die "nginx failed"
sleep 0.5
NGINX_PID=$(cat "$W/nginx/nginx.pid")
sport=$(free_port)
/usr/sbin/smtp-sink -u nobody "127.0.0.1:$sport" 256 2>/dev/null &
SINK=$!

B="$W/b"
(umask 077 && head -c 32 /dev/urandom >"$B/secret")
at=$(TZ=UTC date -d '+2 min' +%H:%M)
{
	printf '[daemon]\ndatabase = bulletin.db\npublic_url = http://127.0.0.1:8025\n'
	printf 'secret_file = secret\ntimezone = UTC\nlog_level = warning\n'
	printf 'templates = %s/templates\n\n' "$REPO"
	printf '[smtp]\nurl = smtp://127.0.0.1:%s\nconnections = 4\n\n' "$sport"
	printf '[fetch]\nconnections = 16\n\n'
	printf '[list soak]\naddress = soak@example.org\nschedule = daily %s\n\n' "$at"
	for n in $(seq "$FEEDS"); do
		printf '[source feed%d]\nurl = http://127.0.0.1:%s/feed%d.xml\ninterval = 1m\n\n' "$n" "$port" "$n"
	done
} >"$B/bulletin.conf"
TZ=UTC "$CTL" -c "$B/bulletin.conf" subscribers soak add r0@example.org >/dev/null 2>&1 ||
	die "cannot add a subscriber"
sqlite3 "$B/bulletin.db" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $SUBS - 1)
INSERT INTO subscribers (list_id, address, state, created, updated)
SELECT (SELECT list_id FROM subscribers LIMIT 1), 'r' || i || '@example.org', 'active', 0, 0 FROM n;" ||
	die "cannot add subscribers"

TZ=UTC "$D" -c "$B/bulletin.conf" 2>"$W/daemon.log" &
PID=$!
echo "== bulletind pid $PID: $FEEDS feeds, $SUBS subscribers, digest at $at UTC, $MINUTES minutes"
printf '%6s  %10s  %5s  %8s\n' "SECS" "RSS KiB" "FDS" "SENT"
samples="$W/samples"
: >"$samples"
start=$(date +%s)
end=$((start + MINUTES * 60))
next_change=$((start + 60))
while [ "$(date +%s)" -lt "$end" ]; do
	kill -0 "$PID" 2>/dev/null || { tail -5 "$W/daemon.log"; die "bulletind died"; }
	now=$(date +%s)
	if [ "$now" -ge "$next_change" ]; then
		# A tenth of the feeds get a new item each minute.
		$PY - "$W/www" "$FEEDS" "$now" <<'PY'
import os, sys
d, n, t = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(1 + t % 10, n + 1, 10):
    p = os.path.join(d, "feed%d.xml" % i)
    s = open(p, encoding="utf-8").read()
    item = ("<item><title>Update %d of feed %d</title><guid>u-%d-%d</guid>"
            "<description>New text for round %d: caseloads, pay and the "
            "staff survey, with a line that is different each time %d."
            "</description></item>" % (t, i, t, i, t, t))
    s = s.replace("<item>", item + "<item>", 1)
    open(p, "w", encoding="utf-8").write(s)
PY
		next_change=$((next_change + 60))
	fi
	rss=$(awk '/^VmRSS/ {print $2}' "/proc/$PID/status")
	fds=$(ls "/proc/$PID/fd" | wc -l)
	sent=$(sqlite3 "$B/bulletin.db" "SELECT count(*) FROM deliveries WHERE state = 'sent'" 2>/dev/null || echo '?')
	printf '%6d  %10d  %5d  %8s\n' "$((now - start))" "$rss" "$fds" "$sent" | tee -a "$samples"
	sleep 30
done
$PY - "$samples" <<'PY'
import sys
rows = [list(map(int, l.split()[:3])) for l in open(sys.argv[1]) if l.strip()]
warm = [r for r in rows if r[0] >= 180]
if len(warm) < 2:
    sys.exit("run.sh: too few samples after the warm-up")
first, last = warm[0], warm[-1]
rss_ok = last[1] <= first[1] * 1.10
fds_ok = last[2] <= first[2]
print("memory: %d KiB at 3 min, %d KiB at the end (%+.1f%%): %s" %
      (first[1], last[1], 100.0 * (last[1] - first[1]) / first[1],
       "FLAT" if rss_ok else "GREW"))
print("descriptors: %d at 3 min, %d at the end: %s" %
      (first[2], last[2], "FLAT" if fds_ok else "GREW"))
sys.exit(0 if rss_ok and fds_ok else 1)
PY
