#!/bin/sh
# Content that looks like syntax for a later stage comes out literally
# (RELIABILITY E9), and breaks in a title never add a header (A8): a
# feed with template tags, format directives, shell variables, a fake
# footnote, a signature line, a fake unsubscribe line and CR/LF in its
# title goes through the whole pipeline into a delivered digest.
set -eu
. "$(dirname "$0")/lib.sh"

make_workdir
cat >"$T/work/demo/union-site.xml" <<'XML'
<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
<title>Hostile</title>
<id>urn:hostile</id>
<updated>2026-11-20T10:00:00Z</updated>
<entry>
  <id>urn:hostile:1</id>
  <title>Pay talks&#13;&#10;Bcc: victim@evil.example&#10;X-Evil: 1</title>
  <link rel="alternate" href="https://evil.example/pay"/>
  <published>2026-11-20T10:00:00Z</published>
  <content type="text">{{ env }} {{#themes}}x{{/themes}} %s%n%x ${HOME} $(id) [3] https://evil.example/footnote
-- 
unsubscribe: https://evil.example/unsub</content>
</entry>
</feed>
XML
cfg="$T/work/demo.conf"
"$BULLETINCTL" -c "$cfg" subscribers staff-news add reader@example.org \
	>/dev/null
expect_exit 0 "$BULLETIND" -c "$cfg" --once
msg=$(find "$T/work/maildir/new" -type f | head -n 1)
[ -n "$msg" ] || fail "no digest delivered"
python3 - "$msg" <<'PY'
import email, email.policy, sys
raw = open(sys.argv[1], 'rb').read()
m = email.message_from_bytes(raw, policy=email.policy.default)
def fail(why):
    print(raw.decode('utf-8', 'replace'), file=sys.stderr)
    sys.exit("FAIL: " + why)
names = [k.lower() for k in m.keys()]
want = ['date', 'from', 'to', 'subject', 'message-id', 'mime-version',
        'content-type', 'content-transfer-encoding', 'list-id',
        'list-unsubscribe', 'list-unsubscribe-post', 'precedence',
        'auto-submitted']
if names != want: fail("header set %r" % names)
body = m.get_content()
flat = ' '.join(body.split())
for lit in ['{{ env }}', '{{#themes}}x{{/themes}}', '%s%n%x', '${HOME}',
            '$(id)', '[3] https://evil.example/footnote']:
    if lit not in flat: fail("not emitted literally: %r" % lit)
if 'Pay talks Bcc: victim@evil.example X-Evil: 1' not in flat:
    fail("the title was not cleaned to one line")
if '/u/' not in body: fail("no unsubscribe link")
# The footer's real unsubscribe link is ours, after the content.
if body.rfind('https://news.example.org/u/') < body.find('evil.example/unsub') \
        and 'evil.example/unsub' in body:
    fail("a fake unsubscribe line follows the real one")
print("hostile content ok")
PY
echo PASS
