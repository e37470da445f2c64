#!/bin/sh
# Bad input and a hostile environment: a feed that is missing or broken,
# a database locked by another process, a disk that fills up. Each gives
# one clear error naming the thing at fault, a non-zero exit where the
# program cannot go on, and no loss of what was stored.
set -eu
. "$(dirname "$0")/lib.sh"

make_workdir
cfg="$T/work/demo.conf"
"$BULLETINCTL" -c "$cfg" subscribers staff-news add reader@example.org \
	>/dev/null

# 1. One feed file is missing: exit 1, the source and file are named,
#    and the other source still makes it into the digest.
mv "$T/work/demo/union-site.xml" "$T/work/union-site.xml"
expect_exit 1 "$BULLETIND" -c "$cfg" --once
assert_contains "$T/err" "source union-branch"
assert_contains "$T/err" "union-site.xml"
n=$(find "$T/work/maildir/new" -type f | wc -l)
[ "$n" -eq 1 ] || fail "the working source's digest was not delivered"
count() {
	python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])' "$T/work/demo.db" "$1"
}
[ "$(count 'SELECT count(*) FROM items')" -eq 18 ] || fail "items not stored"

# 2. The feed comes back broken (truncated XML): error names the source
#    and the line; stored items are untouched.
head -c 2000 "$T/work/union-site.xml" >"$T/work/demo/union-site.xml"
expect_exit 1 "$BULLETINCTL" -c "$cfg" fetch union-branch
assert_contains "$T/err" "union-branch"
assert_contains "$T/err" "line"
[ "$(count 'SELECT count(*) FROM items')" -eq 18 ] || fail "items lost"
cp "$T/work/union-site.xml" "$T/work/demo/union-site.xml"

# 3. Another process holds the database's write lock.
command -v sqlite3 >/dev/null || skip "sqlite3 shell not installed"
(printf 'BEGIN IMMEDIATE;\n'; sleep 9; printf 'ROLLBACK;\n') |
	sqlite3 "$T/work/demo.db" &
holder=$!
sleep 1
expect_exit 1 "$BULLETINCTL" -c "$cfg" subscribers staff-news add \
	second@example.org
assert_contains "$T/err" "$T/work/demo.db"
assert_contains "$T/err" "locked"
wait "$holder"
expect_exit 0 "$BULLETINCTL" -c "$cfg" subscribers staff-news list
assert_contains "$T/out" "reader@example.org active"
assert_not_contains "$T/out" "second@example.org"

# 4. The disk fills up: a small tmpfs holds the database.
mkdir -p "$T/small"
if ! mount -t tmpfs -o size=2m tmpfs "$T/small" 2>/dev/null; then
	echo "SKIP part 4: cannot mount a tmpfs here (not root?)"
	echo PASS
	exit 0
fi
unmount_small() { umount "$T/small"; }
cleanup_hooks="unmount_small $cleanup_hooks"
cp -R "$T/work" "$T/small/work"
rm -f "$T/small/work/demo.db-wal" "$T/small/work/demo.db-shm"
scfg="$T/small/work/demo.conf"
before=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM items").fetchone()[0])' "$T/small/work/demo.db")
# New versions of 18 items wait in the feed; then the disk fills up.
sed 's#<guid[^>]*>\([^<]*\)</guid>#<guid isPermaLink="false">\1-v2</guid>#' \
	"$T/work/demo/staff-news.xml" >"$T/small/work/demo/staff-news.xml"
dd if=/dev/zero of="$T/small/filler" bs=4k 2>/dev/null || true
expect_exit 1 "$BULLETINCTL" -c "$scfg" fetch
assert_contains "$T/err" "disk full"
assert_contains "$T/err" "free some space"
assert_contains "$T/err" "$T/small/work/demo.db"
rm -f "$T/small/filler"
after=$(python3 -c 'import sqlite3,sys; db=sqlite3.connect(sys.argv[1]); assert db.execute("PRAGMA integrity_check").fetchone()[0]=="ok"; print(db.execute("SELECT count(*) FROM items").fetchone()[0])' "$T/small/work/demo.db")
[ "$after" -eq "$before" ] || fail "items changed after disk full: $before -> $after"
# With space again, the same fetch succeeds.
expect_exit 0 "$BULLETINCTL" -c "$scfg" fetch
echo PASS
