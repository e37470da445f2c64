#!/bin/sh
# Duplicates across sources and the reasons bulletinctl gives: a briefing
# quoted whole in a blog post (contained: the post is kept), the same
# post under a Blogger country domain with ?m=1 (link), and bad input (an
# empty item, a 1 MB post, Greek text, an item that is only a link):
# nothing crashes, and items --explain says why each landed where it did.
set -eu
. "$(dirname "$0")/lib.sh"

cfg="$T/bulletin.conf"
scratch_config "$cfg"
ctl() { "$BULLETINCTL" -c "$cfg" "$@"; }
brief="The revised sickness absence policy takes effect on the first of next month. The trigger point for a first formal meeting moves from three episodes in twelve months to four, and disability related absence will be recorded separately and will not count towards the trigger."
big=$(python3 -c 'print(" ".join("word%d" % (i % 5000) for i in range(150000)))')
cat >"$T/union.xml" <<XML
<?xml version="1.0"?><rss version="2.0"><channel><title>Union</title>
<item><guid>tag:union.example.org,2026:sickness</guid><title>Sickness absence policy</title>
<link>https://union.example.org/briefings/sickness</link>
<pubDate>Mon, 02 Nov 2026 10:00:00 GMT</pubDate><description>$brief</description></item>
<item><guid>tag:union.example.org,2026:empty</guid><title>Empty</title>
<link>https://union.example.org/briefings/empty</link>
<pubDate>Mon, 02 Nov 2026 11:00:00 GMT</pubDate><description></description></item>
<item><guid>tag:union.example.org,2026:greek</guid><title>Φόρτος εργασίας</title>
<link>https://union.example.org/briefings/greek</link>
<pubDate>Mon, 02 Nov 2026 12:00:00 GMT</pubDate><description>Οι συνάδελφοι αναφέρουν ότι κάθε λειτουργός έχει πάνω από πενήντα υποθέσεις και ότι οι κενές θέσεις δεν καλύπτονται εδώ και μήνες.</description></item>
</channel></rss>
XML
cat >"$T/blog.xml" <<XML
<?xml version="1.0"?><rss version="2.0"><channel><title>Blog</title>
<item><guid>tag:blog.example.org,2026:post-1</guid><title>At last, some sense on sickness</title>
<link>https://probation.blogspot.com/2026/11/sense.html</link>
<pubDate>Tue, 03 Nov 2026 09:00:00 GMT</pubDate><description>The branch has won something. This came round yesterday: $brief Well done to the reps who stuck at it, and to everyone who wrote in.</description></item>
<item><guid>tag:blog.example.org,2026:post-2</guid><title>A very long post</title>
<link>https://probation.blogspot.com/2026/11/long.html</link>
<pubDate>Tue, 03 Nov 2026 10:00:00 GMT</pubDate><description>$big</description></item>
<item><guid>tag:blog.example.org,2026:post-3</guid><title>Link</title>
<link>https://example.org/news/pay</link>
<pubDate>Tue, 03 Nov 2026 11:00:00 GMT</pubDate><description>https://example.org/news/pay</description></item>
</channel></rss>
XML
cat >"$T/mirror.xml" <<XML
<?xml version="1.0"?><rss version="2.0"><channel><title>Mirror</title>
<item><guid>mirror-1</guid><title>At last: sense on sickness</title>
<link>https://probation.blogspot.co.uk/2026/11/sense.html?m=1&amp;utm_source=x</link>
<pubDate>Tue, 03 Nov 2026 09:30:00 GMT</pubDate><description>Mirrored.</description></item>
</channel></rss>
XML
cat >>"$cfg" <<CONF
[source union]
url = $T/union.xml
[source blog]
url = $T/blog.xml
[source mirror]
url = $T/mirror.xml
[theme wellbeing]
title = Wellbeing and sickness
keywords = sickness, "mental health", absence
CONF

expect_exit 0 ctl fetch union
expect_exit 0 ctl fetch blog
expect_exit 0 ctl fetch mirror
expect_exit 0 ctl items --json
python3 - "$T/out" <<'PY'
import json, sys
rows = {r['title']: r for r in map(json.loads, open(sys.argv[1]))}
def fail(why):
    sys.exit("FAIL: " + why + "\n" + open(sys.argv[1]).read())
for r in rows.values():
    if list(r) != ['id', 'source', 'title', 'link', 'published', 'theme', 'duplicate_of']:
        fail("keys %r" % list(r))
brief, post = rows['Sickness absence policy'], rows['At last, some sense on sickness']
mirror = rows['At last: sense on sickness']
if brief['duplicate_of'] != post['id'] or post['duplicate_of'] is not None:
    fail("the quoted briefing is not shown under the post")
if mirror['duplicate_of'] != post['id']:
    fail("the country-domain link is not a duplicate of the post")
if post['theme'] != 'wellbeing': fail("post theme %r" % post['theme'])
for t in ['Empty', 'Φόρτος εργασίας', 'A very long post', 'Link']:
    if rows[t]['duplicate_of'] is not None: fail("%s is a duplicate" % t)
    if rows[t]['theme'] != 'other': fail("%s theme %r" % (t, rows[t]['theme']))
print("items --json checks passed")
PY
id_of() { ctl items --json | python3 -c "import json,sys; print([r['id'] for r in map(json.loads, sys.stdin) if r['title'] == sys.argv[1]][0])" "$1"; }

expect_exit 0 ctl items --explain "$(id_of 'Sickness absence policy')"
assert_contains "$T/out" "duplicate: yes, of item $(id_of 'At last, some sense on sickness')"
assert_contains "$T/out" "contained in item"
assert_contains "$T/out" "100% of this item's 3-word shingles are in it"
assert_contains "$T/out" "theme: wellbeing (score"
assert_contains "$T/out" "sickness (title 1, text 1), absence (title 1, text 2)"
expect_exit 0 ctl items --explain "$(id_of 'At last: sense on sickness')"
assert_contains "$T/out" "the same canonical link as item"
assert_contains "$T/out" "https://probation.blogspot.com/2026/11/sense.html"
expect_exit 0 ctl items --explain "$(id_of 'At last, some sense on sickness')"
assert_contains "$T/out" "duplicate: no"
assert_contains "$T/out" ": contained"
assert_contains "$T/out" ": link"
expect_exit 0 ctl items --explain "$(id_of 'Empty')"
assert_contains "$T/out" "text:      0 bytes (empty)"
assert_contains "$T/out" "it has no text: only its id and link can match"
assert_contains "$T/out" "not compared for near duplicates"
assert_contains "$T/out" "no theme reached the threshold of 2"
expect_exit 0 ctl items --explain "$(id_of 'A very long post')"
assert_contains "$T/out" "only the start of a long text is read"
expect_exit 0 ctl items --explain "$(id_of 'Φόρτος εργασίας')"
assert_contains "$T/out" "near-duplicate check: 21 words, 19 distinct"
expect_exit 0 ctl items --explain "$(id_of 'Link')"
assert_contains "$T/out" "not compared for near duplicates: 5 words"
expect_exit 1 ctl items --explain 9999
assert_contains "$T/err" "there is no item 9999"
expect_exit 2 ctl items --explain nine
expect_exit 2 ctl items --explain 1 --json
echo PASS
