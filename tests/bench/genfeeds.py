#!/usr/bin/env python3
"""Generate the benchmark's synthetic feeds (deterministic, seeded).

usage: genfeeds.py DIR [--feeds N] [--items N] [--size BYTES] [--seed S]
                    [--merged MERGED] [--merge-items N]

Writes DIR/feed1.xml .. DIR/feedN.xml, about --size bytes each (default
100 KB), alternating RSS 2.0 (odd N) and Atom 1.0 (even N), --items items
each (default 30) with HTML bodies: paragraphs, links, lists, block
quotes, emphasis, named HTML entities (escaped, so the XML stays
well-formed and every parser sees the same text), numeric character
references and non-ASCII text. Also writes the same items merged into a
few big documents (MERGED/rss-K.xml and atom-K.xml, --merge-items items
each: the parse-only benchmark, free of per-process start-up cost), and
DIR/manifest.json with the totals ({"feeds", "items", "bytes",
"merged_files", "merged_bytes"}) the benchmark checks against.

The same arguments always give byte-identical files.
"""

import argparse
import json
import os
import random
import sys
from datetime import datetime, timedelta, timezone
from xml.sax.saxutils import escape

WORDS = (
    "probation officer caseload workload union branch members staff pay "
    "award pension grading recruitment retention wellbeing equality "
    "diversity office home working court report supervision offender "
    "community order licence recall assessment risk management plan "
    "service delivery region division manager team review meeting "
    "consultation briefing national executive committee ballot dispute "
    "agreement negotiation employer ministry justice prison release "
    "approved premises unpaid work programme interventions training "
    "qualification trainee caseworker administrator senior practice "
    "guidance policy change reform contract rehabilitation company "
    "partnership volunteers resettlement accommodation employment "
    "sentence hearing magistrates crown court report deadline target "
    "overtime sickness absence stress survey results response question "
    "answer update news week month year today yesterday morning "
    "evening colleagues experience concern issue problem solution "
    "support help advice contact information details further"
).split()

# Non-ASCII words, as they appear in real staff-news posts.
FANCY = ["café", "naïve", "résumé", "Zoë", "Ångström", "façade",
         "coöperate", "São Paulo", "Kraków", "Málaga", "Dvořák", "€250"]

# Named HTML entities (no DTD): written escaped (&amp;name;) so the XML is
# well-formed; the parsers must decode them from the HTML.
ENTITIES = ["&nbsp;", "&rsquo;", "&lsquo;", "&ldquo;", "&rdquo;", "&mdash;",
            "&ndash;", "&hellip;", "&eacute;", "&pound;", "&copy;",
            "&amp;", "&lt;", "&gt;", "&quot;"]
# Numeric character references, written directly into the XML.
CHARREFS = ["&#8217;", "&#8220;", "&#8221;", "&#163;", "&#x2014;", "&#233;"]

HOSTS = ["onprobation.example.org", "napo-branch.example.org",
         "staffnews.example.gov.uk", "unison-probation.example.org",
         "justice-news.example.net"]
CATEGORIES = ["WORKLOAD", "PAY", "RECRUITMENT AND RETENTION", "WELLBEING",
              "DIVERSITY & EQUALITY", "WORKING FROM HOME", "News",
              "Briefing", "Q&A"]
AUTHORS = ["Jim Brown", "Pat O'Neill", "Sam Kowalski", "Aisha Rahman",
           "Chris Evans", "Zoë Ångström", "Branch Secretary"]


class Gen:
    def __init__(self, rng):
        self.r = rng

    def words(self, lo, hi):
        r = self.r
        out = []
        for _ in range(r.randint(lo, hi)):
            x = r.random()
            if x < 0.02:
                out.append(r.choice(FANCY))
            else:
                out.append(r.choice(WORDS))
        return out

    def sentence(self):
        w = self.words(6, 22)
        w[0] = w[0].capitalize()
        return " ".join(w) + self.r.choice([".", ".", ".", "?", "!"])

    def inline_html(self):
        """A sentence as HTML with occasional markup and entities."""
        r = self.r
        parts = self.sentence().split(" ")
        out = []
        for p in parts:
            x = r.random()
            if x < 0.03:
                out.append("<a href=\"https://%s/%d/%02d/%s.html\">%s</a>"
                           % (r.choice(HOSTS), r.randint(2008, 2023),
                              r.randint(1, 12), escape(p.lower().strip(".?!")),
                              escape(p)))
            elif x < 0.05:
                out.append("<em>%s</em>" % escape(p))
            elif x < 0.06:
                out.append("<strong>%s</strong>" % escape(p))
            elif x < 0.10:
                out.append(escape(p) + r.choice(ENTITIES))
            else:
                out.append(escape(p))
        return " ".join(out)

    def block(self):
        r = self.r
        x = r.random()
        if x < 0.65:
            return "<p>%s</p>" % " ".join(self.inline_html()
                                          for _ in range(r.randint(2, 6)))
        if x < 0.75:
            return "<ul>%s</ul>" % "".join(
                "<li>%s</li>" % self.inline_html()
                for _ in range(r.randint(2, 6)))
        if x < 0.85:
            return "<blockquote><p>%s</p></blockquote>" % self.inline_html()
        if x < 0.92:
            return "<h3>%s</h3>" % escape(r.choice(CATEGORIES))
        if x < 0.96:
            return "<p>%s<br />%s</p>" % (self.inline_html(),
                                         self.inline_html())
        return ("<p><img src=\"https://%s/img/%d.png\" alt=\"%s\" /></p>"
                % (r.choice(HOSTS), r.randint(1, 9999),
                   escape(" ".join(self.words(2, 5)))))

    def html_body(self, size):
        blocks = []
        n = 0
        while n < size:
            b = self.block()
            blocks.append(b)
            n += len(b)
        return "\n".join(blocks)


def xml_text(html, charrefs_rng):
    """Escape HTML for an XML text node and sprinkle numeric charrefs."""
    s = escape(html)
    # Add a few numeric character references directly in the XML.
    out = []
    for chunk in s.split(". "):
        out.append(chunk)
        if charrefs_rng.random() < 0.15:
            out.append(charrefs_rng.choice(CHARREFS))
    return ". ".join(out)


def rfc822(dt):
    return dt.strftime("%a, %d %b %Y %H:%M:%S +0000")


def rfc3339(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def make_feed(n, items, size, seed):
    r = random.Random("%s:%d" % (seed, n))
    g = Gen(r)
    host = "blog%d.%s" % (n, r.choice(HOSTS))
    title = "Staff news %d: %s" % (n, " ".join(g.words(2, 5)))
    atom = n % 2 == 0
    base = datetime(2023, 6, 1, 12, 0, 0, tzinfo=timezone.utc)
    per_item = max(200, (size - 1500) // items - 1230)
    entries = []
    dt = base - timedelta(minutes=r.randint(0, 100000))
    for i in range(items):
        dt -= timedelta(minutes=r.randint(30, 6000))
        ititle = " ".join(g.words(4, 12)).capitalize()
        if r.random() < 0.2:
            ititle += " " + r.choice(["&", "<update>", "\u2014 Q&A", "café"])
        slug = "%d-%d" % (n, i)
        link = "https://%s/%d/%02d/post-%s.html" % (host, dt.year, dt.month,
                                                     slug)
        body = g.html_body(int(per_item * r.uniform(0.5, 1.5)))
        cats = r.sample(CATEGORIES, r.randint(0, 3))
        author = r.choice(AUTHORS)
        guid = "tag:%s,2023:post-%s" % (host, slug)
        if atom:
            e = ["<entry>",
                 "<id>%s</id>" % escape(guid),
                 "<title type=\"text\">%s</title>" % escape(ititle),
                 "<link rel=\"alternate\" type=\"text/html\" href=\"%s\"/>"
                 % escape(link),
                 "<link rel=\"replies\" type=\"text/html\" href=\"%s#comments\""
                 " title=\"%d Comments\"/>" % (escape(link), r.randint(0, 60)),
                 "<published>%s</published>" % rfc3339(dt),
                 "<updated>%s</updated>"
                 % rfc3339(dt + timedelta(minutes=r.randint(0, 600))),
                 "<author><name>%s</name></author>" % escape(author)]
            e += ["<category scheme=\"http://www.blogger.com/atom/ns#\""
                  " term=\"%s\"/>" % escape(c, {"\"": "&quot;"}) for c in cats]
            e.append("<content type=\"html\">%s</content>"
                     % xml_text(body, r))
            e.append("</entry>")
        else:
            e = ["<item>",
                 "<title>%s</title>" % escape(ititle),
                 "<link>%s</link>" % escape(link),
                 "<guid isPermaLink=\"false\">%s</guid>" % escape(guid),
                 "<pubDate>%s</pubDate>" % rfc822(dt),
                 "<dc:creator>%s</dc:creator>" % escape(author)]
            e += ["<category>%s</category>" % escape(c) for c in cats]
            if r.random() < 0.5:
                # Escaped HTML in description.
                e.append("<description>%s</description>" % xml_text(body, r))
            else:
                # Short description plus full content:encoded in CDATA.
                e.append("<description>%s</description>"
                         % escape(g.inline_html()))
                e.append("<content:encoded><![CDATA[%s]]></content:encoded>"
                         % body.replace("]]>", "]]&gt;"))
            e.append("<comments>%s#comments</comments>" % escape(link))
            e.append("</item>")
        entries.append("\n".join(e))
    if atom:
        head = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                "<feed xmlns=\"http://www.w3.org/2005/Atom\""
                " xmlns:thr=\"http://purl.org/syndication/thread/1.0\">\n"
                "<id>tag:%s,2023:blog-%d</id>\n"
                "<updated>%s</updated>\n"
                "<title type=\"text\">%s</title>\n"
                "<subtitle type=\"html\">%s</subtitle>\n"
                "<link rel=\"alternate\" type=\"text/html\" href=\"https://%s/\"/>\n"
                "<link rel=\"self\" type=\"application/atom+xml\""
                " href=\"https://%s/feeds/posts/default\"/>\n"
                "<author><name>%s</name></author>\n"
                "<generator version=\"7.00\" uri=\"http://www.blogger.com\">"
                "Blogger</generator>\n"
                % (host, n, rfc3339(base), escape(title),
                   escape(escape(g.sentence())), host, host,
                   escape(r.choice(AUTHORS))))
        tail = "\n</feed>\n"
    else:
        head = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                "<rss version=\"2.0\""
                " xmlns:content=\"http://purl.org/rss/1.0/modules/content/\""
                " xmlns:dc=\"http://purl.org/dc/elements/1.1/\""
                " xmlns:atom=\"http://www.w3.org/2005/Atom\">\n"
                "<channel>\n"
                "<title>%s</title>\n"
                "<link>https://%s/</link>\n"
                "<atom:link href=\"https://%s/feed/\" rel=\"self\""
                " type=\"application/rss+xml\"/>\n"
                "<description>%s</description>\n"
                "<language>en-GB</language>\n"
                "<lastBuildDate>%s</lastBuildDate>\n"
                "<generator>https://wordpress.org/?v=6.2</generator>\n"
                % (escape(title), host, host, escape(g.sentence()),
                   rfc822(base)))
        tail = "\n</channel>\n</rss>\n"
    return head, entries, tail


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--feeds", type=int, default=1000)
    ap.add_argument("--items", type=int, default=30)
    ap.add_argument("--size", type=int, default=100 * 1024)
    ap.add_argument("--seed", default="bulletin-bench-1")
    ap.add_argument("--merged", help="directory for the merged feeds "
                    "(default DIR/merged)")
    ap.add_argument("--merge-items", type=int, default=3000,
                    help="items per merged feed (default 3000: under "
                    "bulletin's per-document item cap)")
    a = ap.parse_args()
    if not (1 <= a.feeds <= 100000 and 1 <= a.items <= 10000):
        sys.exit("genfeeds.py: --feeds 1..100000, --items 1..10000")
    os.makedirs(a.dir, exist_ok=True)
    mdir = a.merged or os.path.join(a.dir, "merged")
    os.makedirs(mdir, exist_ok=True)
    total = mtotal = nmerged = 0
    groups = {}   # format -> [head, tail, entries] being merged

    def flush(fmt):
        nonlocal mtotal, nmerged
        head, tail, ents = groups.pop(fmt)
        nmerged += 1
        data = (head + "\n".join(ents) + tail).encode("utf-8")
        with open(os.path.join(mdir, "%s-%d.xml" % (fmt, nmerged)), "wb") as f:
            f.write(data)
        mtotal += len(data)

    for n in range(1, a.feeds + 1):
        head, entries, tail = make_feed(n, a.items, a.size, a.seed)
        data = (head + "\n".join(entries) + tail).encode("utf-8")
        with open(os.path.join(a.dir, "feed%d.xml" % n), "wb") as f:
            f.write(data)
        total += len(data)
        fmt = "atom" if n % 2 == 0 else "rss"
        g = groups.setdefault(fmt, [head, tail, []])
        g[2].extend(entries)
        if len(g[2]) >= a.merge_items:
            flush(fmt)
    for fmt in list(groups):
        flush(fmt)
    with open(os.path.join(a.dir, "manifest.json"), "w") as f:
        json.dump({"feeds": a.feeds, "items": a.feeds * a.items,
                   "bytes": total, "merged_files": nmerged,
                   "merged_bytes": mtotal, "seed": a.seed}, f)
        f.write("\n")
    print("genfeeds: %d feeds, %d items, %.1f MB (%.1f KB/feed); "
          "merged into %d files, %.1f MB"
          % (a.feeds, a.feeds * a.items, total / 1e6, total / a.feeds / 1024,
             nmerged, mtotal / 1e6))


if __name__ == "__main__":
    main()
