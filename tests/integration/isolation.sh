#!/bin/sh
# Slow servers cost their own timeout and nothing else (RELIABILITY D8):
# six sources on a host that never answers, thirty on one that does. The
# thirty are all stored before the first of the six times out, and no
# more than [fetch] per_host connections go to the stalled host at once.
set -eu
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/www"
start_faultserver "$T/www"
cfg="$T/iso.conf"
scratch_config "$cfg"
printf '[fetch]\ntimeout = 4s\nconnections = 16\nper_host = 2\n' >>"$cfg"
i=1
while [ $i -le 30 ]; do
	sed "s#<guid[^>]*>\([^<]*\)</guid>#<guid isPermaLink=\"false\">\1-$i</guid>#" \
		"$SOURCE_ROOT/config/demo/staff-news.xml" >"$T/www/f$i.xml"
	printf '[source fast%d]\ntype = feed\nurl = http://127.0.0.1:%s/f%d.xml\n' \
		"$i" "$FAULT_PORT" "$i" >>"$cfg"
	i=$((i + 1))
done
i=1
while [ $i -le 6 ]; do
	printf '[source slow%d]\ntype = feed\nurl = http://localhost:%s/stall/%d.xml\n' \
		"$i" "$FAULT_PORT" "$i" >>"$cfg"
	i=$((i + 1))
done

expect_exit 1 "$BULLETINCTL" -c "$cfg" fetch
assert_contains "$T/out" "fetched 36 sources, 6 failed"
first_timeout=$(grep -n "timed out" "$T/err" | head -n 1 | cut -d: -f1)
last_fast=$(grep -n "source fast[0-9]*: 18 items" "$T/err" | tail -n 1 | cut -d: -f1)
n_fast=$(grep -c "source fast[0-9]*: 18 items" "$T/err")
[ "$n_fast" -eq 30 ] || fail "only $n_fast of the 30 fast sources were stored"
[ -n "$first_timeout" ] || fail "no timeout logged"
[ "$last_fast" -lt "$first_timeout" ] ||
	fail "a fast source waited for a slow one (line $last_fast after $first_timeout)"
peak=$(sed -n 's/^faultserver: stalls now: //p' "$T/fault.log" | sort -n | tail -n 1)
[ "$peak" = 2 ] || fail "per_host = 2, but $peak connections went to one host"
n_stalls=$(grep -c "stalls now" "$T/fault.log")
[ "$n_stalls" -eq 6 ] || fail "expected 6 stalled requests, saw $n_stalls"
echo PASS
