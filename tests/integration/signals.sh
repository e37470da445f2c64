#!/bin/sh
# The daemon under signals: SIGHUP with a broken config keeps the running
# one and says why; SIGHUP with a good config reloads it; SIGTERM stops
# cleanly (exit 0) with the database intact.
set -eu
. "$(dirname "$0")/lib.sh"

make_workdir
cfg="$T/work/demo.conf"
"$BULLETINCTL" -c "$cfg" subscribers staff-news add reader@example.org \
	>/dev/null
"$BULLETIND" -c "$cfg" 2>"$T/log" &
pid=$!
stop_daemon() { kill "$pid" 2>/dev/null; }
cleanup_hooks="$cleanup_hooks stop_daemon"

wait_log() {
	i=0
	while ! grep -qF -- "$1" "$T/log"; do
		i=$((i + 1))
		if [ $i -ge 200 ]; then
			cat "$T/log" >&2
			fail "daemon never logged '$1'"
		fi
		kill -0 "$pid" 2>/dev/null || {
			cat "$T/log" >&2
			fail "daemon died waiting for '$1'"
		}
		sleep 0.1
	done
}

wait_log "digest delivered to reader@example.org"

# A broken config: the daemon keeps running on the old one.
cp "$cfg" "$T/good.conf"
printf '\n[source oops]\ntype = feed\nurl = demo/x.xml\nintervall = 5m\n' \
	>>"$cfg"
kill -HUP "$pid"
wait_log "keeping the running config"
assert_contains "$T/log" "intervall"
kill -0 "$pid" || fail "daemon exited after a bad reload"

# A good config with one more list: reloaded.
cp "$T/good.conf" "$cfg"
cat >>"$cfg" <<'CONF'

[list union-only]
title = Union briefings
address = union-only@example.org
schedule = daily 06:00
sources = union-branch
themes = union, pay, other
CONF
kill -HUP "$pid"
wait_log "reloaded $cfg: 2 sources, 2 lists"

kill -TERM "$pid"
set +e
wait "$pid"
status=$?
set -e
[ "$status" -eq 0 ] || fail "bulletind exited $status after SIGTERM"
assert_contains "$T/log" "stopping"
assert_contains "$T/log" "stopped"
assert_not_contains "$T/log" "handles still open"
python3 - "$T/work/demo.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
assert db.execute("SELECT count(*) FROM items").fetchone()[0] == 30
assert db.execute("SELECT name FROM lists ORDER BY name").fetchall() == \
    [("staff-news",), ("union-only",)]
PY
echo PASS
