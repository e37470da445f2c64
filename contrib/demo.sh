#!/bin/sh
# Runs the demo in a scratch directory (./demo, or $1): copies the demo
# config, its two sample feeds and the templates there, subscribes one
# reader, runs one full cycle of bulletind, and shows the digest that
# landed in the demo's maildir.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
work=${1:-$root/demo}

rm -rf "$work"
mkdir -p "$work"
cp "$root/config/demo.conf" "$work/demo.conf"
cp -R "$root/config/demo" "$work/demo"
cp -R "$root/templates" "$work/templates"
(umask 077 && head -c 32 /dev/urandom >"$work/demo-secret")

"$build/bulletinctl" -c "$work/demo.conf" subscribers staff-news \
	add reader@example.org
"$build/bulletind" -c "$work/demo.conf" --once

msg=$(find "$work/maildir/new" -type f | head -n 1)
if [ -z "$msg" ]; then
	echo "demo: no digest was delivered; see the log above" >&2
	exit 1
fi
echo
echo "The digest for reader@example.org is in:"
echo "  $msg"
echo "----------------------------------------------------------------"
cat "$msg"
echo "----------------------------------------------------------------"
echo "Try: $build/bulletinctl -c $work/demo.conf items"
echo "     $build/bulletinctl -c $work/demo.conf preview staff-news"
