#!/bin/sh
# A 50 MB feed of some 50,000 items, sent without a length: it is parsed
# as it arrives, so bulletinctl's peak memory stays far below the
# document's size; the item cap is applied and the admin is told.
set -eu
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/www"
start_faultserver "$T/www"
cfg="$T/big.conf"
scratch_config "$cfg"
printf '[source big]\ntype = feed\nurl = http://127.0.0.1:%s/big/50\n' \
	"$FAULT_PORT" >>"$cfg"

python3 - "$BULLETINCTL" "$cfg" "$T" <<'PY'
import os, resource, subprocess, sys
ctl, cfg, tmp = sys.argv[1:4]
env = dict(os.environ)
# Under AddressSanitizer, freed memory waits in a quarantine (256 MB by
# default) and would count as ours: measure without it.
env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") +
                       ":quarantine_size_mb=0:thread_local_quarantine_size_kb=0")
with open(tmp + "/out", "w") as out, open(tmp + "/err", "w") as err:
    rc = subprocess.call([ctl, "-c", cfg, "fetch"], stdout=out, stderr=err,
                         env=env)
peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print("exit %d, peak %.1f MB" % (rc, peak_mb))
if rc != 0:
    sys.exit("FAIL: fetch exited %d: %s" % (rc, open(tmp + "/err").read()))
if peak_mb > 48:
    sys.exit("FAIL: peak memory %.1f MB for a 50 MB feed" % peak_mb)
PY
assert_contains "$T/err" "the feed has more than 10000 items: only the first 10000 were read"
expect_exit 0 "$BULLETINCTL" -c "$cfg" sources
grep -E '^big .* 200 .*ok, but: the feed has more than 10000 items' "$T/out" >/dev/null ||
	fail "sources does not show the cap: $(cat "$T/out")"
echo PASS
