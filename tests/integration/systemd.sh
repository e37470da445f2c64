#!/bin/sh
# systemd: the unit in contrib/ passes systemd-analyze verify with no
# complaint; bulletind speaks sd_notify to a NOTIFY_SOCKET as a
# Type=notify service: READY and a STATUS at start, WATCHDOG pings from
# the loop when WatchdogSec is set, RELOADING then READY on SIGHUP, and
# STOPPING on SIGTERM.
set -eu
. "$(dirname "$0")/lib.sh"

if command -v systemd-analyze >/dev/null; then
	sed "s|@SBINDIR@|$(dirname "$BULLETIND")|" \
		"$SOURCE_ROOT/contrib/systemd/bulletin.service" >"$T/bulletin.service"
	systemd-analyze verify --man=no "$T/bulletin.service" >"$T/verify" 2>&1 ||
		{ cat "$T/verify" >&2; fail "systemd-analyze verify failed"; }
	[ ! -s "$T/verify" ] || { cat "$T/verify" >&2; fail "systemd-analyze verify complained"; }
	# It does complain about a unit with a mistake.
	sed 's/^Type=notify$/Type=notifyy/' "$T/bulletin.service" >"$T/bad.service"
	systemd-analyze verify --man=no "$T/bad.service" >"$T/verify" 2>&1 || true
	assert_contains "$T/verify" "notifyy"
else
	echo "SKIP part 1: no systemd-analyze" >&2
fi

make_workdir
cfg="$T/work/demo.conf"
python3 - "$BULLETIND" "$cfg" "$T/notify.log" <<'PY'
import os, signal, socket, subprocess, sys, time
bulletind, cfg, log = sys.argv[1:4]
path = os.path.join(os.path.dirname(log), "notify.sock")
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.settimeout(0.2)
env = dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC="400000")
p = subprocess.Popen([bulletind, "-c", cfg], env=env,
                     stderr=open(log + ".err", "w"))
got = []
def wait_for(word, limit=20):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        try:
            got.append(s.recv(4096).decode())
        except socket.timeout:
            pass
        if any(word in m for m in got):
            return
    sys.exit("FAIL: never got %r; got %r" % (word, got))
wait_for("READY=1")
wait_for("WATCHDOG=1")
n = sum("WATCHDOG=1" in m for m in got)
end = time.monotonic() + 1.2
while time.monotonic() < end:
    try:
        got.append(s.recv(4096).decode())
    except socket.timeout:
        pass
# 400 ms interval: a ping every 200 ms, so at least 4 more in 1.2 s.
if sum("WATCHDOG=1" in m for m in got) < n + 4:
    sys.exit("FAIL: the watchdog is not pinged twice per interval: %r" % got)
got.clear()
p.send_signal(signal.SIGHUP)
wait_for("RELOADING=1")
wait_for("READY=1")
p.send_signal(signal.SIGTERM)
wait_for("STOPPING=1")
rc = p.wait(20)
with open(log, "w") as f:
    f.write("\n".join(got) + "\nexit %d\n" % rc)
if rc != 0:
    sys.exit("FAIL: bulletind exited %d after SIGTERM" % rc)
PY
assert_contains "$T/notify.log" "STOPPING=1"
assert_contains "$T/notify.log" "exit 0"
echo ok
