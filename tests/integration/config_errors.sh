#!/bin/sh
# A config with mistakes: check-config lists every one with file:line and
# exits 2; bulletind refuses to start with the same messages; a missing
# config file is named.
set -eu
. "$(dirname "$0")/lib.sh"

make_workdir
cfg="$T/work/demo.conf"

expect_exit 0 "$BULLETINCTL" -c "$cfg" check-config
assert_contains "$T/out" "$cfg: ok"

# A misspelt key and a bad duration, on known lines.
sed -e 's/^schedule = weekly mon 07:30$/schedul = weekly mon 07:30/' \
	-e 's/^interval = 30m$/interval = 30x/' "$cfg" >"$T/bad.conf"
line_key=$(grep -n '^schedul =' "$T/bad.conf" | cut -d: -f1)
line_dur=$(grep -n '^interval = 30x' "$T/bad.conf" | cut -d: -f1)
cp "$T/bad.conf" "$T/work/bad.conf"
expect_exit 2 "$BULLETINCTL" -c "$T/work/bad.conf" check-config
assert_contains "$T/err" "$T/work/bad.conf:$line_key:"
assert_contains "$T/err" "schedul"
assert_contains "$T/err" "did you mean \"schedule\""
assert_contains "$T/err" "$T/work/bad.conf:$line_dur:"
assert_contains "$T/err" "30x"

expect_exit 2 "$BULLETIND" -c "$T/work/bad.conf" --once
assert_contains "$T/err" "$T/work/bad.conf:$line_key:"
[ ! -e "$T/work/demo.db" ] || fail "bulletind created a database from a bad config"

# Unknown section.
printf '[daemon]\npublic_url = https://x.example.org\n[lsit x]\n' \
	>"$T/work/sect.conf"
expect_exit 2 "$BULLETINCTL" -c "$T/work/sect.conf" check-config
assert_contains "$T/err" "$T/work/sect.conf:3:"

expect_exit 2 "$BULLETINCTL" -c "$T/nope.conf" check-config
assert_contains "$T/err" "$T/nope.conf"

# Secret files open to group or others: the daemon refuses to start and
# check-config says which file and how to fix it; nothing is created.
chmod 644 "$T/work/demo-secret"
expect_exit 2 "$BULLETIND" -c "$cfg" --once
assert_contains "$T/err" "[daemon] secret_file $T/work/demo-secret may be read by group or others (mode 0644)"
assert_contains "$T/err" "chmod 600 $T/work/demo-secret"
[ ! -e "$T/work/demo.db" ] || fail "bulletind created a database with an open secret"
expect_exit 2 "$BULLETINCTL" -c "$cfg" check-config
assert_contains "$T/err" "may be read by group or others"
chmod 600 "$T/work/demo-secret"
printf 'pw\n' >"$T/work/imap-password"
chmod 640 "$T/work/imap-password"
printf '[imap]\nurl = imaps://127.0.0.1:9\nusername = u\npassword_file = imap-password\n' \
	>>"$cfg"
expect_exit 2 "$BULLETIND" -c "$cfg" --once
assert_contains "$T/err" "[imap] password_file $T/work/imap-password may be read by group or others (mode 0640)"
assert_not_contains "$T/err" "pw"
expect_exit 2 "$BULLETINCTL" -c "$cfg" check-config
assert_contains "$T/err" "[imap] password_file"

# Usage errors are exit 2 too.
expect_exit 2 "$BULLETINCTL" -c "$cfg" frobnicate
assert_contains "$T/err" "unknown command 'frobnicate'"
expect_exit 2 "$BULLETIND" --bogus
expect_exit 0 "$BULLETIND" --help
assert_contains "$T/out" "--once"
echo PASS
