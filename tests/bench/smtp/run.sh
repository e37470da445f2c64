#!/bin/bash
# SMTP delivery benchmark (issue 6): run by hand, not in the test suite.
#
# usage: tests/bench/smtp/run.sh [--subscribers N] [--connections N]
#                                [--runs N] [--bulletinctl PATH]
#
# One digest to N subscribers (default 10,000) through Postfix's smtp-sink
# on 127.0.0.1, beside smtp-source sending the same number of messages of
# the same size over the same number of connections, one message after
# another on each (-d): the ceiling. Each is timed --runs times (default
# 3), turn about, from the same database, and the best time of each is
# compared: the machine is shared, and a burst of load elsewhere should
# not decide the ratio. Prints every run, messages per second, the ratio,
# and bulletin's peak memory. Targets: at least 70% of smtp-source's
# rate; peak memory under 64 MB. Exits 1 when a target is missed or a
# check fails (every subscriber's row must be "sent").
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
SUBS=10000
CONNS=4
RUNS=3
CTL="$REPO/build/bulletinctl"
while [ $# -gt 0 ]; do
	case $1 in
	--subscribers) SUBS=${2:?}; shift 2 ;;
	--connections) CONNS=${2:?}; shift 2 ;;
	--runs) RUNS=${2:?}; shift 2 ;;
	--bulletinctl) CTL=${2:?}; shift 2 ;;
	-h|--help) sed -n '4,5p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
	*) echo "run.sh: unknown argument: $1" >&2; exit 2 ;;
	esac
done
die() { printf 'run.sh: %s\n' "$*" >&2; exit 1; }
for c in /usr/sbin/smtp-sink /usr/sbin/smtp-source /usr/bin/time sqlite3 python3; do
	[ -x "$(command -v "$c")" ] || die "missing $c: apt-get install postfix time sqlite3 python3"
done
[ -x "$CTL" ] || die "no $CTL: build first (meson compile -C build)"

W=$(mktemp -d /tmp/bulletin-smtp-bench.XXXXXX) || die "mktemp failed"
SINK=""
cleanup() {
	[ -n "$SINK" ] && kill "$SINK" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT INT TERM
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
/usr/sbin/smtp-sink -u nobody "127.0.0.1:$port" 256 2>"$W/sink.log" &
SINK=$!
sleep 0.5

cp "$REPO/config/demo.conf" "$W/demo.conf"
cp -R "$REPO/config/demo" "$REPO/templates" "$W/"
(umask 077 && head -c 32 /dev/urandom >"$W/demo-secret")

sed -i "s|^url = maildir:maildir|url = smtp://127.0.0.1:$port\\
connections = $CONNS|" "$W/demo.conf"
ctl() { "$CTL" -c "$W/demo.conf" "$@"; }
ctl subscribers staff-news add r0@example.org >/dev/null 2>&1 ||
	die "cannot add a subscriber"
sqlite3 "$W/demo.db" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $SUBS - 1)
INSERT INTO subscribers (list_id, address, state, created, updated)
SELECT (SELECT list_id FROM subscribers LIMIT 1), 'r' || i || '@example.org', 'active', 0, 0 FROM n;" ||
	die "cannot add subscribers"
ctl fetch >/dev/null 2>&1 || die "fetch failed"
# The preview shows a UTF-8 body as 8-bit text; on the wire it goes as
# base64 (RELIABILITY A12), a third bigger: smtp-source sends that size.
ctl preview staff-news --to r1@example.org >"$W/preview.eml" 2>/dev/null ||
	die "preview failed"
size=$(python3 - "$W/preview.eml" <<'PY'
import sys
data = open(sys.argv[1], "rb").read().replace(b"\r\n", b"\n")
head, _, body = data.partition(b"\n\n")
head_len = len(head) + head.count(b"\n") + 4  # CRLFs and the blank line
n = len(body) + body.count(b"\n")  # with CRLF line ends
if b"\nContent-Transfer-Encoding: 8bit" in head:
    head_len += len("base64") - len("8bit")
    n = 4 * ((n + 2) // 3) + 2 * ((n + 56) // 57)
print(head_len + n)
PY
)
echo "== $SUBS subscribers, $CONNS connections, messages of about $size bytes"

sqlite3 "$W/demo.db" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null ||
	die "cannot checkpoint the database"
cp "$W/demo.db" "$W/fresh.db"
: >"$W/times"
run=1
while [ "$run" -le "$RUNS" ]; do
	rm -f "$W/demo.db-wal" "$W/demo.db-shm"
	cp "$W/fresh.db" "$W/demo.db"
	/usr/bin/time -f '%e %M' -o "$W/time.ctl" "$CTL" -c "$W/demo.conf" send staff-news \
		>"$W/send.out" 2>"$W/send.err" || { tail -5 "$W/send.err"; die "send failed"; }
	[ "$run" -gt 1 ] || cat "$W/send.out"
	sent=$(sqlite3 "$W/demo.db" "SELECT count(*) FROM deliveries WHERE state = 'sent'")
	[ "$sent" = "$SUBS" ] || die "only $sent of $SUBS deliveries sent"
	/usr/bin/time -f '%e %M' -o "$W/time.src" /usr/sbin/smtp-source -d -s "$CONNS" \
		-m "$SUBS" -l "$size" -f staff-news@example.org -t r1@example.org \
		"127.0.0.1:$port" >/dev/null 2>&1 || die "smtp-source failed"
	echo "$(cat "$W/time.ctl") $(cat "$W/time.src")" >>"$W/times"
	run=$((run + 1))
done
python3 - "$SUBS" "$W/times" <<'PY'
import sys
n = int(sys.argv[1])
runs = [list(map(float, l.split())) for l in open(sys.argv[2]) if l.strip()]
for i, (tc, mc, ts, ms) in enumerate(runs, 1):
    print("run %d: bulletin %.2f s, smtp-source %.2f s: %.0f%%" %
          (i, tc, ts, 100 * ts / tc))
t_ctl, t_src = min(r[0] for r in runs), min(r[2] for r in runs)
m_ctl, m_src = max(r[1] for r in runs), max(r[3] for r in runs)
print("best of %d:" % len(runs))
r_ctl, r_src = n / t_ctl, n / t_src
print("%-12s %8.2f s %9.0f msg/s  peak %6.1f MiB" % ("bulletin", t_ctl, r_ctl, m_ctl / 1024))
print("%-12s %8.2f s %9.0f msg/s  peak %6.1f MiB" % ("smtp-source", t_src, r_src, m_src / 1024))
ratio = r_ctl / r_src
ok1, ok2 = ratio >= 0.70, m_ctl / 1024 < 64
print("rate: %.0f%% of smtp-source (target 70%%): %s" % (100 * ratio, "MET" if ok1 else "NOT MET"))
print("peak memory %.1f MiB (target < 64): %s" % (m_ctl / 1024, "MET" if ok2 else "NOT MET"))
sys.exit(0 if ok1 and ok2 else 1)
PY
