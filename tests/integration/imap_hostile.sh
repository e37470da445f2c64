#!/bin/sh
# Hostile messages APPENDed to a real Dovecot and read by the daemon
# (RELIABILITY F5): deep nesting, 100,000 To headers, a
# 1 MB header and a 50 MB attachment are refused with a reason naming the
# message, before libetpan's recursive parser runs or, for the
# attachment, before it is downloaded; broken base64 and
# quoted-printable, an unknown charset, CR LF in encoded words and the
# first 500 of a million parts are read as far as they can be. The daemon ends its cycle, its peak memory
# stays bounded, and nothing refused is marked seen.
set -eu
. "$(dirname "$0")/lib.sh"

start_dovecot main
P=$DOVECOT_IMAP_PORT
dovecot_cmd "$P" 'CREATE Briefings' >/dev/null
mkdir "$T/m"
python3 "$SOURCE_ROOT/tests/integration/hostile_mail.py" "$T/m"
for m in nested manyparts manyto bighead bigattach badb64 badqp xunknown \
	crlfname; do
	dovecot_append "$P" Briefings "$T/m/$m.eml"
done
dovecot_unseen "$P" Briefings

cfg="$T/b.conf"
imap_config "$cfg"
q() { sqlite3 "$T/scratch.db" "$1"; }

# The daemon's peak memory, from its parent.
python3 - "$BULLETIND" -c "$cfg" --once >"$T/rss" 2>"$T/err" <<'PY' ||
import os, resource, subprocess, sys
env = dict(os.environ)
# Under AddressSanitizer, freed memory waits in a quarantine and would
# count as ours: measure without it.
env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") +
                       ":quarantine_size_mb=0:thread_local_quarantine_size_kb=0")
rc = subprocess.call(sys.argv[1:], env=env)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(rc)
PY
	{ cat "$T/err" >&2; fail "bulletind --once failed"; }

# Refused before libetpan parses them, each named by folder, UID and
# size, with the limit it broke; the attachment is never downloaded.
assert_contains "$T/err" "Briefings UID 1: a message of 686895 bytes: more than 32 multipart or message/rfc822 parts (the limit)"
assert_contains "$T/err" "Briefings UID 3: a message of 2389057 bytes: the message's header is over 262144 bytes (the limit)"
assert_contains "$T/err" "Briefings UID 4: a message of 1048794 bytes: the message's header is over 262144 bytes (the limit)"
assert_contains "$T/err" "Briefings UID 5: message of 52429205 bytes is over [imap] max_size (26214400): left alone"
# The million parts: read up to the part limit, and said so.
assert_contains "$T/err" "Briefings UID 2: message <manyparts@union.example.org> from briefings@union.example.org: over 2000 lines start with"
assert_contains "$T/err" "only the first 500 were read"
assert_contains "$T/err" "UID 6: message <badb64@union.example.org> from briefings@union.example.org: bad base64 in a text part: decoded what could be"
assert_contains "$T/err" "UID 7: message <badqp@union.example.org> from briefings@union.example.org: bad quoted-printable in a text part"
assert_contains "$T/err" 'UID 8: message <xunknown@union.example.org> from briefings@union.example.org: unknown charset "x-unknown": read as Windows-1252'
assert_contains "$T/err" "imap: 5 messages taken, 4 left alone"
# Read as far as they go: one item each.
for t in "Many parts" "Broken base64 notice" "Broken QP notice" "Unknown charset notice"; do
	[ "$(q "SELECT count(*) FROM items WHERE title = '$t'")" = 1 ] ||
		fail "no item \"$t\": $(q 'SELECT title FROM items')"
done
[ "$(q "SELECT count(*) FROM items WHERE title LIKE 'Name%'")" = 1 ] ||
	fail "the CR LF subject made no item"
[ "$(q "SELECT count(*) FROM items WHERE title LIKE '%' || char(10) || '%' OR title LIKE '%' || char(13) || '%'")" = 0 ] ||
	fail "a title kept a CR or LF"
[ "$(q 'SELECT count(*) FROM items')" = 5 ] ||
	fail "items: $(q 'SELECT title FROM items')"
[ "$(q "SELECT text FROM items WHERE title = 'Unknown charset notice'")" = "The survey closes on Monday éè." ] ||
	fail "the unknown charset item: $(q "SELECT text FROM items WHERE title = 'Unknown charset notice'")"
# Refused messages stay unseen; the five taken are seen.
dovecot_cmd "$P" 'STATUS Briefings (UNSEEN)' >"$T/s"
assert_contains "$T/s" "UNSEEN 4"
# Bounded memory: far below the 50 MB and the 10 MB of parts (the
# sanitizers' own memory included).
rss=$(cat "$T/rss")
[ "$rss" -lt 100000 ] || fail "bulletind peaked at $rss KiB"
echo "peak $rss KiB" >&2
echo ok
