#!/bin/sh
# Line ends and dot-stuffing on the wire (RELIABILITY G1). A 7-bit digest
# (an ASCII template and feed, so the body goes as it is, not as base64)
# whose lines are ".", "..", a wrapped line starting ". ..", and stories
# whose titles and text hold CR, LF, CRLF and "\r.\r" around dots. What
# the server reads must hold only CRLF line ends, every line starting
# with a dot doubled, and one end of data: the final dot. smtp-sink gets
# exactly one message per recipient, each read back by Python's strict
# parser; rawsmtp.py keeps the bytes as they came. Then a template that
# holds the character bulletin marks recipient values with is rendered
# whole, per message. (A NUL cannot come in
# through a feed: the XML parser refuses it; the body writer drops it
# anyway, tested in test_message.)
set -eu
. "$(dirname "$0")/lib.sh"

demo_setup

# An ASCII feed: its stories hide dots behind every kind of line break.
long=$(printf 'x%.0s' $(seq 71))
cat >"$W/demo/dots.xml" <<XML
<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Dots</title>
<link>https://dots.example.org/</link><description>Dots</description>
<item><title>.</title><guid>dot-1</guid>
<pubDate>Mon, 23 Nov 2026 06:00:00 +0000</pubDate>
<description>$long . .. ... the wrapped line starts with a dot.</description></item>
<item><title>..</title><guid>dot-2</guid>
<pubDate>Mon, 23 Nov 2026 05:00:00 +0000</pubDate>
<description>Two dots.&#13;.&#13;CR dot CR.&#10;.&#10;LF dot LF.&#13;&#10;.&#13;&#10;CRLF dot CRLF.</description></item>
<item><title>&#13;.&#13;</title><guid>dot-3</guid>
<pubDate>Mon, 23 Nov 2026 04:00:00 +0000</pubDate>
<description>A lone&#13;CR and a lone&#10;LF.</description></item>
<item><title>a&#10;.&#10;b&#13;&#10;.&#13;&#10;c</title><guid>dot-4</guid>
<pubDate>Mon, 23 Nov 2026 03:00:00 +0000</pubDate>
<description>.</description></item>
</channel></rss>
XML
# A template without the default's middle dot (U+00B7): all 7-bit.
cat >"$W/templates/ascii.txt" <<'TXT'
{{list_title}}
{{#themes}}
{{#items}}
{{title}}
{{excerpt}}
{{/items}}
{{/themes}}
.
..
-- 
You get this because {{recipient}} is subscribed.
Unsubscribe: {{unsubscribe_url}}
TXT
sed -i "s|^sources = .*|sources = dots\\
template = ascii.txt|" "$cfg"
cat >>"$cfg" <<CONF

[source dots]
title = Dots
type = feed
url = demo/dots.xml
CONF
for a in ann bob cat; do
	ctl subscribers staff-news add "$a@example.org" >/dev/null
done
expect_exit 0 "$BULLETINCTL" -c "$cfg" fetch
start_sink dots
start_rawsmtp dots
sed -i "s|^url = maildir:maildir|url = smtp://127.0.0.1:$SINK_PORT\\
connections = 2|" "$cfg"

# smtp-sink: one message per recipient, each well-formed.
expect_exit 0 "$BULLETINCTL" -c "$cfg" send staff-news
assert_contains "$T/out" "3 sent, 0 deferred, 0 failed"
[ "$(ls "$SINK_DIR" | wc -l)" = 3 ] ||
	fail "smtp-sink got $(ls "$SINK_DIR" | wc -l) messages for 3 recipients"
python3 "$SOURCE_ROOT/tests/integration/check_mail.py" "$SINK_DIR" \
	staff-news@example.org >"$T/got" || fail "a message is malformed"

# The same digest again, to rawsmtp.py: the bytes on the wire.
sqlite3 "$W/demo.db" "UPDATE deliveries SET state = 'pending', next_try = 0"
sed -i "s|^url = smtp://127.0.0.1:[0-9]*|url = smtp://127.0.0.1:$RAW_PORT|" "$cfg"
expect_exit 0 "$BULLETIND" -c "$cfg" --once
python3 - "$RAW_DIR" <<'PY' || fail "the bytes on the wire are wrong"
import email, email.policy, os, re, sys
d = sys.argv[1]
raws = sorted(f for f in os.listdir(d) if f.endswith(".raw"))
if len(raws) != 3:
    sys.exit("%d messages for 3 recipients" % len(raws))
for name in raws:
    raw = open(os.path.join(d, name), "rb").read()
    # Only CRLF: no CR without LF, no LF without CR.
    if re.search(rb"\r(?!\n)|(?<!\r)\n", raw):
        sys.exit("%s: a bare CR or LF on the wire" % name)
    if b"\0" in raw:
        sys.exit("%s: a NUL on the wire" % name)
    # One end of data, the last five bytes.
    if raw.count(b"\r\n.\r\n") != 1 or not raw.endswith(b"\r\n.\r\n"):
        sys.exit("%s: the end of data is not once, at the end" % name)
    lines = raw[:-len(b".\r\n")].split(b"\r\n")
    # Every line that starts with a dot was stuffed: two or more dots.
    for line in lines:
        if line.startswith(b".") and not line.startswith(b".."):
            sys.exit("%s: an unstuffed dot line %r" % (name, line))
    body_lines = [l[1:] if l.startswith(b".") else l for l in lines]
    msg = email.message_from_bytes(b"\r\n".join(body_lines),
                                   policy=email.policy.strict)
    if msg["Content-Transfer-Encoding"] != "7bit":
        sys.exit("%s: %s, not 7bit: the test needs a 7-bit body" %
                 (name, msg["Content-Transfer-Encoding"]))
    text = msg.get_content()
    got = text.splitlines()
    # The template's own lines, the titles, and the wrapped excerpt.
    for want in [".", "..", "a . b . c"]:
        if want not in got:
            sys.exit("%s: no line %r in the body:\n%s" % (name, want, text))
    if not any(l.startswith(". .. ...") for l in got):
        sys.exit("%s: no wrapped line starting with a dot:\n%s" %
                 (name, text))
    # The same lines on the wire: stuffed.
    if b".." not in lines or b"..." not in lines or \
            not any(l.startswith(b".. .. ...") for l in lines):
        sys.exit("%s: the dot lines are not stuffed on the wire" % name)
    if "\r" in text.replace("\r\n", "\n"):
        sys.exit("%s: a CR inside the body" % name)
print("ok")
PY

# A template holding the control character that marks a recipient's
# value in a body rendered once per digest: the first message shows
# the difference, and every message is rendered whole instead (the
# character dropped like any control), with a warning.
printf 'Hello \0010 and {{recipient}}.\n' >>"$W/templates/ascii.txt"
expect_exit 0 "$BULLETINCTL" -c "$cfg" digests --show 1 --to bob@example.org
assert_contains "$T/err" "the digest template cannot be rendered once for every recipient"
assert_contains "$T/out" "Hello 0 and bob@example.org."
assert_contains "$T/out" "You get this because bob@example.org is subscribed."
echo ok
