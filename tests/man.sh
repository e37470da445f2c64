#!/bin/sh
# The man pages stay in step with the code: every config key the
# example documents (test_config checks that it documents every key the
# parser knows) is in bulletin.conf(5), every command bulletinctl --help
# lists is in bulletinctl(8), every option bulletind --help lists is in
# bulletind(8); and man renders each page without a warning.
set -eu
M="$SOURCE_ROOT/man"
fail() { echo "FAIL: $*" >&2; exit 1; }

# Keys: "key = ..." or ";key = ..." lines of the example, by section kind.
keys=$(sed -n 's/^;\{0,1\}\([a-z_][a-z_]*\) *=.*/\1/p' \
	"$SOURCE_ROOT/config/bulletin.conf.example" | sort -u)
for k in $keys; do
	grep -q "^\.B $k\$" "$M/bulletin.conf.5" ||
		fail "bulletin.conf.5 does not describe the key $k"
done
for s in daemon fetch http smtp imap dedupe classify; do
	grep -q "^\.SH \[$s\]" "$M/bulletin.conf.5" ||
		fail "bulletin.conf.5 has no [$s] section"
done

# Commands: the first word of each line under "Commands:".
cmds=$("$BULLETINCTL" --help | sed -n '/^The bulletin admin tool/,/^$/p' |
	sed -n 's/^  \([a-z-][a-z-]*\).*/\1/p' | sort -u)
[ -n "$cmds" ] || fail "no commands in bulletinctl --help"
for c in $cmds; do
	grep -q "^\.B[IR]* $c\b" "$M/bulletinctl.8" ||
		fail "bulletinctl.8 does not describe the command $c"
done

# Options of bulletind.
opts=$("$BULLETIND" --help | sed -n 's/^ *\(-[a-zA-Z], \)\{0,1\}--\([a-z-]*\).*/\2/p')
[ -n "$opts" ] || fail "no options in bulletind --help"
for o in $opts; do
	grep -q -- "\\\\-\\\\-$o" "$M/bulletind.8" ||
		fail "bulletind.8 does not describe --$o"
done

if command -v man >/dev/null; then
	for p in bulletind.8 bulletinctl.8 bulletin.conf.5; do
		out=$(MANWIDTH=80 man --warnings -l -Tutf8 "$M/$p" 2>&1 >/dev/null) ||
			fail "man cannot render $p"
		[ -z "$out" ] || fail "$p: $out"
	done
fi
echo ok
