#!/bin/sh
# Ingest benchmark (issue 5): 100,000 synthetic items through the whole
# pipeline into a fresh database. Not part of the test suite.
#   tests/bench/ingest/run.sh [BUILD_DIR] [ITEMS]
# Prints items/s for the first and the last 10,000 items, the total and
# the peak memory; the target is all 100,000 in under 10 s on one core,
# with the cost per item flat as the store grows.
set -eu
root=$(cd "$(dirname "$0")/../../.." && pwd)
build=${1:-$root/build}
items=${2:-100000}
meson compile -C "$build" bench_ingest >/dev/null
T=$(mktemp -d /tmp/bulletin-bench-ingest.XXXXXX)
trap 'rm -rf "$T"' EXIT
# Two sources (the second preferred) and the example config's themes and
# [dedupe]/[classify] settings.
{
	printf '[daemon]\npublic_url = https://news.example.org\n'
	printf 'database = %s/bench.db\n' "$T"
	printf '[source bench-a]\nurl = https://bench0.example.org/feed\n'
	printf '[source bench-b]\nurl = https://bench1.example.org/feed\n'
	printf 'priority = 1\n'
	sed -n '/^\[dedupe\]/,$p' "$root/config/bulletin.conf.example"
} >"$T/bench.conf"
echo "bench_ingest: $items items into $T/bench.db"
# taskset: one core, as the target says (when there is taskset).
if command -v taskset >/dev/null; then
	pin="taskset -c 0"
else
	pin=""
fi
$pin "$build/tests/bench/ingest/bench_ingest" "$T/bench.conf" "$T/bench.db" "$items"
