#!/bin/sh
# bulletinctl parse prints exactly DESIGN.md's JSON-lines contract, with
# no config: a feed line, then one line per item with every key, RFC 3339
# UTC dates or null, plain text. A file that is no feed exits 1 naming
# the file and what is wrong; a missing argument is a usage error.
set -eu
. "$(dirname "$0")/lib.sh"

cat >"$T/feed.xml" <<'XML'
<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel>
<title>Team &amp; Branch News</title>
<link>https://news.example.org/</link>
<item>
  <title>Caseloads &ndash; again</title>
  <link>https://news.example.org/2026/11/caseloads</link>
  <guid isPermaLink="false">post-1</guid>
  <dc:creator>Northern PO</dc:creator>
  <pubDate>Mon, 16 Nov 2026 09:30:00 +0100</pubDate>
  <category>workload</category><category>wmt</category>
  <description>&lt;p&gt;Seven of nine officers are &lt;b&gt;in the red&lt;/b&gt;.&lt;/p&gt;</description>
</item>
<item>
  <title>No date, no link</title>
  <description>Just words.</description>
</item>
</channel>
</rss>
XML

expect_exit 0 "$BULLETINCTL" parse "$T/feed.xml"
python3 - "$T/out" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
def fail(why):
    sys.exit("FAIL: %s\n%s" % (why, "\n".join(lines)))
if len(lines) != 3: fail("expected 3 lines")
feed = json.loads(lines[0])
if list(feed) != ["title", "link", "format"]: fail("feed keys %r" % list(feed))
if feed != {"title": "Team & Branch News", "link": "https://news.example.org/",
            "format": "rss20"}: fail("feed %r" % feed)
keys = ["id", "link", "title", "author", "published", "updated", "summary",
        "content", "categories"]
a, b = json.loads(lines[1]), json.loads(lines[2])
for it in (a, b):
    if list(it) != keys: fail("item keys %r" % list(it))
want = {"id": "post-1", "link": "https://news.example.org/2026/11/caseloads",
        "title": "Caseloads \u2013 again", "author": "Northern PO",
        "published": "2026-11-16T08:30:00Z", "updated": None,
        "summary": "Seven of nine officers are in the red.", "content": None,
        "categories": ["workload", "wmt"]}
if a != want: fail("first item %r" % a)
if b["link"] is not None or b["published"] is not None or b["author"] is not None:
    fail("missing fields are not null: %r" % b)
if not b["id"] or b["summary"] != "Just words.": fail("second item %r" % b)
print("parse contract ok")
PY

# A large file: every item is printed, in memory that does not grow
# with the file (the items are spooled, not held).
python3 - "$T/big.xml" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write('<?xml version="1.0"?><rss version="2.0"><channel><title>Big</title>\n')
    for i in range(30000):
        f.write('<item><guid>g%d</guid><title>Item %d</title><description>'
                '&lt;p&gt;%s&lt;/p&gt;</description></item>\n'
                % (i, i, "Caseloads and overtime. " * 40))
    f.write('</channel></rss>\n')
PY
python3 - "$BULLETINCTL" "$T/big.xml" <<'PY'
import os, resource, subprocess, sys
env = dict(os.environ)
env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") +
                       ":quarantine_size_mb=0:thread_local_quarantine_size_kb=0")
out = subprocess.run([sys.argv[1], "parse", sys.argv[2]], env=env,
                     stdout=subprocess.PIPE, check=True).stdout
lines = out.count(b"\n")
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
if lines != 30001:
    sys.exit("FAIL: %d lines for 30,000 items" % lines)
if peak > 40:
    sys.exit("FAIL: peak %.1f MB parsing a %d MB file" %
             (peak, os.path.getsize(sys.argv[2]) >> 20))
print("big file: %d lines, peak %.1f MB" % (lines, peak))
PY

printf '<html><body>Not here</body></html>\n' >"$T/page.html"
expect_exit 1 "$BULLETINCTL" parse "$T/page.html"
assert_contains "$T/err" "$T/page.html"
assert_contains "$T/err" "not an RSS, Atom or JSON feed"
expect_exit 1 "$BULLETINCTL" parse "$T/missing.xml"
assert_contains "$T/err" "$T/missing.xml"
expect_exit 2 "$BULLETINCTL" parse
echo PASS
