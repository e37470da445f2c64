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
# A large local file: libcurl cannot pause a file:// transfer, so its
# body queues for the parser instead; every item is stored.
python3 - "$T/local.xml" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write('<?xml version="1.0"?><rss version="2.0"><channel><title>L</title>\n')
    for i in range(3000):
        f.write('<item><guid>l%d</guid><title>Local %d</title><description>'
                '%s</description></item>\n' % (i, i, "Words about pay. " * 60))
    f.write('</channel></rss>\n')
PY
printf '[source local]\ntype = feed\nurl = file://%s\n' "$T/local.xml" >>"$cfg"
expect_exit 0 "$BULLETINCTL" -c "$cfg" fetch local
assert_contains "$T/err" "source local: 3000 items, 3000 new"

# A feed that breaks off into bad XML and then sends nothing more: the
# download is stopped as soon as the parser fails, small (not paused)
# or large (paused while the parser catches up), and the source shows
# the parse error, not a timeout.
printf '[fetch]\ntimeout = 60s\n' >>"$cfg"
for kb in 50 20000; do
	printf '[source broken%s]\ntype = feed\nurl = http://127.0.0.1:%s/broken/%s\n' \
		"$kb" "$FAULT_PORT" "$kb" >>"$cfg"
	expect_exit 0 "$BULLETINCTL" -c "$cfg" fetch "broken$kb"
	assert_contains "$T/err" "source broken$kb: the feed is malformed"
	assert_not_contains "$T/err" "timed out"
done
echo PASS
