/*
 * test_html2text: exact renderings of HTML fragments: paragraphs, line
 * breaks, lists, dropped elements, entities, whitespace, links as
 * numbered references, deep nesting, invalid UTF-8 and the output cap;
 * every rendering is also checked to be idempotent.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "html2text.h"

/* Appends text to html with & < > escaped. */
static void escape(const char *text, struct buf *html)
{
	for (; *text; text++) {
		if (*text == '&')
			assert_int_equal(buf_adds(html, "&amp;"), 0);
		else if (*text == '<')
			assert_int_equal(buf_adds(html, "&lt;"), 0);
		else if (*text == '>')
			assert_int_equal(buf_adds(html, "&gt;"), 0);
		else
			assert_int_equal(buf_addc(html, *text), 0);
	}
}

/* Appends s with every run of whitespace made one space. */
static void squeeze(const char *s, struct buf *out)
{
	for (; *s; s++) {
		if (strchr(" \t\n", *s)) {
			if (out->len > 0 && out->ptr[out->len - 1] != ' ')
				assert_int_equal(buf_addc(out, ' '), 0);
		} else {
			assert_int_equal(buf_addc(out, *s), 0);
		}
	}
}

/* Idempotence: text, escaped and rendered again, is the same text. As
 * HTML, whitespace is not material (line breaks collapse); inside <pre>
 * it is, and the text must come back byte for byte. */
static void check_idempotent(const char *text)
{
	struct buf html, again, want, got;

	buf_init(&html, BUF_MAX_TEXT);
	buf_init(&again, BUF_MAX_TEXT);
	buf_init(&want, BUF_MAX_TEXT);
	buf_init(&got, BUF_MAX_TEXT);
	escape(text, &html);
	assert_int_equal(html2text(buf_str(&html), html.len, &again), 0);
	squeeze(text, &want);
	squeeze(buf_str(&again), &got);
	assert_string_equal(buf_str(&got), buf_str(&want));

	buf_reset(&html);
	buf_reset(&again);
	assert_int_equal(buf_adds(&html, "<pre>"), 0);
	escape(text, &html);
	assert_int_equal(buf_adds(&html, "</pre>"), 0);
	assert_int_equal(html2text(buf_str(&html), html.len, &again), 0);
	assert_string_equal(buf_str(&again), text);
	buf_free(&html);
	buf_free(&again);
	buf_free(&want);
	buf_free(&got);
}

/* One renderer for every check() in this file: each rendering must
 * come out the same with a context that has parsed many documents
 * before (html2text_render) as with a fresh one (html2text). */
static struct html2text *shared;

/* A renderer that reads everything with libxml2's HTML parser: the
 * reference the XML reading must agree with. */
static struct html2text *html_only;

/* Renders html with the HTML parser only, and with a renderer that
 * tries the XML reading first (fresh, so that it does try); the two
 * must give the same text and the same result. Returns whether the
 * XML reading rendered it. */
static bool check_parsers_agree(const char *html, size_t len)
{
	static struct html2text *xml_first;
	struct buf a, b;
	int ra, rb;
	bool xml;

	if (!html_only) {
		html_only = html2text_create();
		assert_non_null(html_only);
		html2text_set_parser(html_only, HTML2TEXT_HTML_ONLY);
	}
	if (!xml_first) {
		xml_first = html2text_create();
		assert_non_null(xml_first);
	}
	html2text_set_parser(xml_first, HTML2TEXT_AUTO);
	buf_init(&a, BUF_MAX_TEXT);
	buf_init(&b, BUF_MAX_TEXT);
	ra = html2text_render(html_only, html, len, &a);
	assert_false(html2text_last_xml(html_only));
	rb = html2text_render(xml_first, html, len, &b);
	xml = html2text_last_xml(xml_first);
	if (ra != rb || strcmp(buf_str(&a), buf_str(&b)) != 0) {
		print_error("parsers disagree (xml %d) on:\n%.*s\n"
			    "html: %d [%s]\nauto: %d [%s]\n",
			    xml, (int)len, html, ra, buf_str(&a), rb,
			    buf_str(&b));
		fail();
	}
	buf_free(&a);
	buf_free(&b);
	return xml;
}

/* Renders html and compares with want exactly, with a fresh context and
 * with the shared renderer; then checks that the rendering is
 * idempotent. */
static void check(const char *html, const char *want)
{
	struct buf out;
	int ret;

	buf_init(&out, BUF_MAX_TEXT);
	ret = html2text(html, strlen(html), &out);
	assert_int_equal(ret, 0);
	assert_string_equal(buf_str(&out), want);
	buf_reset(&out);
	if (!shared)
		shared = html2text_create();
	assert_non_null(shared);
	ret = html2text_render(shared, html, strlen(html), &out);
	assert_int_equal(ret, 0);
	assert_string_equal(buf_str(&out), want);
	check_parsers_agree(html, strlen(html));
	check_idempotent(buf_str(&out));
	buf_free(&out);
}

/* Reads DATA_DIR/html2text/name into b. */
static void read_data(const char *name, struct buf *b)
{
	const char *dir = getenv("DATA_DIR");
	char path[4096], chunk[4096];
	size_t n;
	FILE *f;

	assert_non_null(dir);
	n = (size_t)snprintf(path, sizeof(path), "%s/html2text/%s", dir, name);
	assert_true(n < sizeof(path));
	f = fopen(path, "rb");
	assert_non_null(f);
	buf_init(b, BUF_MAX_TEXT);
	for (;;) {
		n = fread(chunk, 1, sizeof(chunk), f);
		if (n == 0)
			break;
		assert_int_equal(buf_add(b, chunk, n), 0);
	}
	assert_int_equal(ferror(f), 0);
	fclose(f);
}

static void test_paragraphs(void **state)
{
	check("<p>One</p><p>Two</p>", "One\n\nTwo");
	check("<h1>Title</h1>Loose text<div>In a div</div>tail",
	      "Title\n\nLoose text\n\nIn a div\n\ntail");
	check("<blockquote>Quoted</blockquote><hr><p>After</p>",
	      "Quoted\n\nAfter");
	/* empty blocks never stack blank lines */
	check("<p>a</p><p></p><div><p> </p></div><p>b</p>", "a\n\nb");
}

/* Where libxml2's HTML parser reads well-formed markup its own way, the
 * XML reading gives the fragment back (check() compares the two): a
 * list inside <address> closes it; a processing instruction ends at the
 * first '>'; a byte order mark at the start is dropped. */
static void test_html_parser_quirks(void **state)
{
	check("<div>x<address>m<ul></ul>n</address>z</div>", "x\n\nm\n\nnz");
	check("<p>Use <?php echo $x->y; ?> here</p>", "Use y; ?> here");
	check("\xEF\xBB\xBF<p>hello</p>", "hello");
}

static void test_line_breaks(void **state)
{
	check("one<br>two<br/>three", "one\ntwo\nthree");
	check("one<br><br>two", "one\n\ntwo");
	check("one<br><br><br><br>two", "one\n\ntwo");
	check("<br><br>lead<br>", "lead");
	check("<p>end of para<br></p><p>next</p>", "end of para\n\nnext");
	check("trailing space   <br>next", "trailing space\nnext");
}

static void test_lists(void **state)
{
	check("<ul><li>one</li><li>two</li></ul>", "- one\n- two");
	check("<p>Before</p><ol><li>first</li><li>second</li></ol>after",
	      "Before\n\n- first\n- second\n\nafter");
	check("<ul><li><p>para in item</p></li><li>x</li></ul>",
	      "- para in item\n- x");
	check("<ul><li>top<ul><li>inner</li><li>inner 2</li></ul></li>"
	      "<li>back</li></ul>",
	      "- top\n  - inner\n  - inner 2\n- back");
	check("<ul>\n  <li>  spaced\n   out </li>\n  <li>b</li>\n</ul>",
	      "- spaced out\n- b");
}

static void test_dropped_elements(void **state)
{
	check("<head><title>Page</title><style>p{color:red}</style></head>"
	      "<body><p>Body</p><script>alert('x')</script></body>",
	      "Body");
	check("a<script>if (1 < 2) document.write('b')</script>c", "ac");
	check("<noscript>Enable JS</noscript>text<!-- a comment -->", "text");
	check("<style type=\"text/css\">\n<!-- body { x: y } -->\n</style>"
	      "<SCRIPT>var s = '</p>';</SCRIPT>shown",
	      "shown");
}

static void test_comments_and_cdata(void **state)
{
	/* malformed comment ends do not let the comment's text out */
	check("a<!-- x --!><script>alert(1)</script>b", "ab");
	check("a<!-- <script>alert(1)</script> -->b", "ab");
	check("a<!-- never closed <p>secret</p>", "a");
	/* CDATA is not text in HTML, whatever is inside */
	check("a<![CDATA[hidden]]>b", "ab");
	check("a<![CDATA[<p>hidden</p><script>x</script>]]>b", "ab");
	check("<script>//<![CDATA[\nalert(1)\n//]]></script>after", "after");
	check("a<![CDATA[unclosed>b", "ab");
	/* other <!...> are bogus comments, as in a browser (Word's
	 * conditional markers) */
	check("x<![if !supportLists]>*<![endif]>y<!foo>z", "x*yz");
	/* a CDATA inside a comment leaves the comment as it is */
	check("a<!-- <![if x]> -->b<!-- <![CDATA[ --> -->c", "ab -->c");
	/* processing instructions and doctypes */
	check("<!DOCTYPE html>p<?php echo 'x'; ?>q", "pq");
	/* a "<!" that never closes before the next tag is left alone */
	check("1 <!x <b>2</b>", "1 <!x 2");
}

static void test_entities(void **state)
{
	check("caf&eacute; &amp; &lsquo;bar&rsquo; &pound;5 &#8212; &#x263A;",
	      "café & ‘bar’ £5 — ☺");
	/* non-breaking spaces are spaces in plain text, and collapse */
	check("Friday&nbsp;&nbsp;&nbsp;at&nbsp;10", "Friday at 10");
	check("AT&T &unknown; 1 &lt; 2", "AT&T &unknown; 1 < 2");
	/* soft hyphens and zero-width spaces vanish */
	check("case&shy;load zero&#8203;width", "caseload zerowidth");
}

static void test_bidi_controls_dropped(void **state)
{
	check("file&#x202E;gpj.exe", "filegpj.exe");
	check("a&#x202A;b&#x202B;c&#x202C;d&#x202D;e&#x202E;f", "abcdef");
	check("a&#x2066;b&#x2067;c&#x2068;d&#x2069;e", "abcde");
	/* raw, in alt text, in link text and in <pre> too */
	check("raw \xe2\x80\xae"
	      "x<img alt=\"al&#x202E;t\"><pre>p\xe2\x81\xa6re</pre>",
	      "raw xalt\n\npre");
	check("<a href=\"https://x.example/\">&#x202E;evil</a>",
	      "evil [1]\n\n[1] https://x.example/");
	/* neighbours are kept: U+2029 and U+206A are not dropped */
	check("a&#x2029;b&#x206A;c", "a\xe2\x80\xa9"
				     "b\xe2\x81\xaa"
				     "c");
	/* a control only: nothing left */
	check("&#x202E;&nbsp;&#x2069;", "");
}

static void test_whitespace(void **state)
{
	check("  lots   of\n\n\tspace  ", "lots of space");
	check("<b>bold</b> <i>italic</i> <a href=\"/x\">link</a>",
	      "bold italic link");
	check("<span>no</span><span>gap</span>", "nogap");
	check("<p>  padded  </p>", "padded");
}

static void test_links_references(void **state)
{
	check("See <a href=\"https://example.org/report\">the report</a>.",
	      "See the report [1].\n\n[1] https://example.org/report");
	/* numbered in order of first appearance; the same URL reuses its
	 * number */
	check("<p><a href=\"https://b.example/\">B</a> and "
	      "<a href=\"http://a.example/x\">A</a></p>"
	      "<p>B again: <a href=\"https://b.example/\">here</a></p>",
	      "B [1] and A [2]\n\nB again: here [1]\n\n"
	      "[1] https://b.example/\n[2] http://a.example/x");
	/* link text on one line, whitespace collapsed, even across <br>
	 * and blocks inside the link */
	check("<a href=\"https://x.example/\">\n  read\n\n  more </a>now",
	      "read more [1] now\n\n[1] https://x.example/");
	check("<p>Intro</p><a href=\"https://x.example/\"><div><h3>Card "
	      "title</h3><p>line<br>two</p></div></a><p>next</p>",
	      "Intro\n\nCard title line two [1]\n\nnext\n\n"
	      "[1] https://x.example/");
	check("<pre>code\n<a href=\"https://x.example/\">a\n  "
	      "b</a>\nmore</pre>",
	      "code\na b [1]\nmore\n\n[1] https://x.example/");
	/* a word after a marker gets a space, punctuation does not */
	check("<a href=\"https://a.example\">a</a><a "
	      "href=\"https://b.example\">"
	      "b</a>c<a href=\"https://a.example\">d</a>, e",
	      "a [1] b [2] cd [1], e\n\n[1] https://a.example\n"
	      "[2] https://b.example");
	/* a nested link adds only its text */
	check("<a href=\"https://out.example\">out <a "
	      "href=\"https://in.example\">"
	      "in</a></a>",
	      "out [1] in [2]\n\n[1] https://out.example\n[2] "
	      "https://in.example");
	check("<a href=\"https://out.example\">out <span><a "
	      "href=\"https://in.example\">in</a></span></a>",
	      "out in [1]\n\n[1] https://out.example");
	/* in a list item */
	check("<ul><li><a href=\"https://x.example/1\">one</a></li>"
	      "<li><a href=\"https://x.example/2\">two</a></li></ul>",
	      "- one [1]\n- two [2]\n\n[1] https://x.example/1\n"
	      "[2] https://x.example/2");
}

static void test_links_url_as_text(void **state)
{
	/* the text is the URL: shown once, no marker, no reference */
	check("Minutes: <a "
	      "href=\"https://x.example/m\">https://x.example/m</a>.",
	      "Minutes: https://x.example/m.");
	check("<a href=\"https://x.example/\">https://x.example</a> and "
	      "<a href=\"https://x.example\"> https://x.example/ </a>",
	      "https://x.example and https://x.example/");
	/* compared with the href as written, too */
	check("<a href=\" https://caf\xc3\xa9.example/\">"
	      "https://caf\xc3\xa9.example/</a>",
	      "https://caf\xc3\xa9.example/");
	/* other text for the same URL still gets a reference */
	check("<a href=\"https://x.example/\">https://x.example/</a> or "
	      "<a href=\"https://x.example/\">this</a>",
	      "https://x.example/ or this [1]\n\n[1] https://x.example/");
	/* a URL-looking text for another URL is not the URL */
	check("<a href=\"https://evil.example/\">https://bank.example/</a>",
	      "https://bank.example/ [1]\n\n[1] https://evil.example/");
}

static void test_links_without_reference(void **state)
{
	check("<a href=\"javascript:alert(1)\">js</a> "
	      "<a href=\" JavaScript:alert(1)\">js2</a> "
	      "<a href=\"data:text/html;base64,PHNjcmlwdD4=\">data</a> "
	      "<a href=\"mailto:rep@union.example.org\">mail</a> "
	      "<a href=\"/relative/page\">rel</a> <a "
	      "href=\"page.html\">rel2</a> "
	      "<a href=\"//cdn.example/x\">proto-rel</a> "
	      "<a href=\"ftp://files.example/x\">ftp</a> "
	      "<a href=\"https:example.org\">no slashes</a> "
	      "<a href=\"https:///path\">no host</a> <a "
	      "href=\"https://\">none</a> "
	      "<a href=\"http\">bare</a> <a>no href</a> <a "
	      "name=\"x\">anchor</a> "
	      "<a href=\"\">empty</a>",
	      "js js2 data mail rel rel2 proto-rel ftp no slashes no host none "
	      "bare no href anchor empty");
	/* no text: nothing shown, no reference */
	check("a<a href=\"https://x.example/\"></a>b<a "
	      "href=\"https://x.example/\">"
	      " <img src=\"i.png\"> </a>c",
	      "ab c");
}

static void test_links_images(void **state)
{
	check("<a href=\"https://x.example/big.png\"><img src=\"small.png\" "
	      "alt=\"Pay  bands\nchart\"></a>",
	      "Pay bands chart [1]\n\n[1] https://x.example/big.png");
	check("<a href=\"https://x.example/\">See <img alt=\"chart\"> here</a>",
	      "See chart here [1]\n\n[1] https://x.example/");
}

static void test_links_urls_encoded(void **state)
{
	/* spaces encoded; surrounding space trimmed; tabs and newlines cut
	 * as a browser does, wherever they are */
	check("<a href=\"  https://x.example/a b%20c \n\">t</a>",
	      "t [1]\n\n[1] https://x.example/a%20b%20c");
	check("<a href=\"ht\ntps://x.exa\tmple/a\r\nb\">t</a>",
	      "t [1]\n\n[1] https://x.example/ab");
	/* quotes and angle brackets, from an attribute or an entity, never
	 * reach the text raw */
	check("<a href='https://x.example/a\">b'>t</a>",
	      "t [1]\n\n[1] https://x.example/a%22%3Eb");
	check("<a "
	      "href=\"https://x.example/&quot;&gt;&lt;script&gt;'`{|}\\^\">t</"
	      "a>",
	      "t [1]\n\n[1] "
	      "https://x.example/%22%3E%3Cscript%3E%27%60%7B%7C%7D%5C%5E");
	/* the scheme is lower-cased; non-ASCII and DEL are encoded */
	check("<a href=\"HTTPS://X.example/caf\xc3\xa9\x7f\">t</a>",
	      "t [1]\n\n[1] https://X.example/caf%C3%A9%7F");
	/* a bidi override in a URL is encoded, not shown */
	check("<a href=\"https://x.example/&#x202E;gpj.exe\">t</a>",
	      "t [1]\n\n[1] https://x.example/%E2%80%AEgpj.exe");
}

static void test_links_broken_markup(void **state)
{
	/* '">' closing the attribute early: the rest is text, not a tag */
	check("<a href=\"https://x.example/\">\"><script>alert(1)</script>"
	      "click</a>",
	      "\">click [1]\n\n[1] https://x.example/");
	check("<a href=\"https://x.example/a\"\">b</a>",
	      "b [1]\n\n[1] https://x.example/a");
	/* an unclosed attribute swallows the markup: no link, no crash */
	check("<a href=\"https://x.example/\n<p>never closed</p>", "");
	/* a newline in the link text and in the href */
	check("<a href=\"https://x.example/\nnext\">one\ntwo</a>",
	      "one two [1]\n\n[1] https://x.example/next");
	/* an unclosed <a> ends with the document */
	check("<p>a <a href=\"https://x.example/\">open",
	      "a open [1]\n\n"
	      "[1] https://x.example/");
}

static void test_links_capped(void **state)
{
	struct buf html, want, out;
	const char *refs;
	int i;

	buf_init(&html, BUF_MAX_TEXT);
	buf_init(&want, BUF_MAX_TEXT);
	buf_init(&out, BUF_MAX_TEXT);
	for (i = 1; i <= 150; i++) {
		assert_int_equal(
			buf_printf(&html,
				   "<p><a href=\"https://x.example/%d\">"
				   "l%d</a></p>",
				   i, i),
			0);
		if (i <= HTML2TEXT_MAX_REFS)
			assert_int_equal(
				buf_printf(&want, "l%d [%d]\n\n", i, i), 0);
		else
			assert_int_equal(buf_printf(&want, "l%d\n\n", i), 0);
	}
	/* a URL already numbered keeps its number past the cap */
	assert_int_equal(buf_adds(&html, "<a href=\"https://x.example/7\">again"
					 "</a>"),
			 0);
	assert_int_equal(buf_adds(&want, "again [7]"), 0);
	for (i = 1; i <= HTML2TEXT_MAX_REFS; i++)
		assert_int_equal(buf_printf(&want,
					    "%s[%d] https://x.example/%d",
					    i == 1 ? "\n\n" : "\n", i, i),
				 0);
	assert_int_equal(html2text(html.ptr, html.len, &out), 0);
	assert_string_equal(buf_str(&out), buf_str(&want));
	refs = strstr(buf_str(&out), "\n\n[1] ");
	assert_non_null(refs);
	assert_null(strstr(refs, "[101]"));
	buf_free(&html);
	buf_free(&want);
	buf_free(&out);
}

static void test_links_long_url(void **state)
{
	struct buf html, want, out;
	size_t i;

	/* exactly HTML2TEXT_URL_MAX bytes: kept */
	buf_init(&html, BUF_MAX_TEXT);
	buf_init(&want, BUF_MAX_TEXT);
	buf_init(&out, BUF_MAX_TEXT);
	assert_int_equal(buf_adds(&html, "<a href=\"https://x.example/"), 0);
	assert_int_equal(buf_adds(&want, "t [1]\n\n[1] https://x.example/"), 0);
	for (i = strlen("https://x.example/"); i < HTML2TEXT_URL_MAX; i++) {
		assert_int_equal(buf_addc(&html, 'a'), 0);
		assert_int_equal(buf_addc(&want, 'a'), 0);
	}
	assert_int_equal(buf_adds(&html, "\">t</a>"), 0);
	assert_int_equal(html2text(html.ptr, html.len, &out), 0);
	assert_string_equal(buf_str(&out), buf_str(&want));

	/* one byte more, or over the cap once encoded: text only */
	buf_reset(&out);
	buf_reset(&html);
	assert_int_equal(buf_adds(&html, "<a href=\"https://x.example/"), 0);
	for (i = strlen("https://x.example/"); i <= HTML2TEXT_URL_MAX; i++)
		assert_int_equal(buf_addc(&html, 'a'), 0);
	assert_int_equal(buf_adds(&html, "\">t</a>"), 0);
	assert_int_equal(html2text(html.ptr, html.len, &out), 0);
	assert_string_equal(buf_str(&out), "t");
	buf_reset(&out);
	buf_reset(&html);
	assert_int_equal(buf_adds(&html, "<a href=\"https://x.example/"), 0);
	for (i = 0; i < HTML2TEXT_URL_MAX / 3; i++)
		assert_int_equal(buf_addc(&html, ' '), 0);
	assert_int_equal(buf_adds(&html, "x\">t</a>"), 0);
	assert_int_equal(html2text(html.ptr, html.len, &out), 0);
	assert_string_equal(buf_str(&out), "t");
	buf_free(&html);
	buf_free(&want);
	buf_free(&out);
}

static void test_post_fixture(void **state)
{
	struct buf html, want;

	read_data("post.html", &html);
	read_data("post.txt", &want);
	check(buf_str(&html), buf_str(&want));
	buf_free(&html);
	buf_free(&want);
}

static void test_images_alt(void **state)
{
	check("<p>Chart: <img src=\"c.png\" alt=\"Pay bands\"></p>",
	      "Chart: Pay bands");
	check("<img src=\"spacer.gif\">text", "text");
}

static void test_pre(void **state)
{
	check("<p>Code:</p><pre>line 1\n    indented  \nline 3</pre>end",
	      "Code:\n\nline 1\n    indented\nline 3\n\nend");
	/* CR, form feed and invisibles cut, no-break spaces are spaces */
	check("<pre>a\r\n&nbsp;&nbsp;b&shy;c\f\n&#x202E;d&nbsp;</pre>",
	      "a\n  bc\nd");
}

static void test_tables(void **state)
{
	check("<table><tr><td>Band</td><td>Rise</td></tr>"
	      "<tr><td>3</td><td>&pound;850</td></tr></table>",
	      "Band Rise\n\n3 £850");
}

static void test_deep_nesting(void **state)
{
	struct buf html, out;
	size_t i;
	int ret;

	/* 200 levels: within libxml2's limit, all text arrives. */
	buf_init(&html, BUF_MAX_TEXT);
	for (i = 0; i < 200; i++)
		assert_int_equal(buf_adds(&html, "<div>"), 0);
	assert_int_equal(buf_adds(&html, "deep"), 0);
	for (i = 0; i < 200; i++)
		assert_int_equal(buf_adds(&html, "</div>"), 0);
	check(buf_str(&html), "deep");

	/* 10k levels: libxml2's HTML parser stops at 256; what came
	 * before is kept, and nothing recurses. */
	buf_reset(&html);
	assert_int_equal(buf_adds(&html, "<p>before</p>"), 0);
	for (i = 0; i < 10000; i++)
		assert_int_equal(buf_adds(&html, "<div><span>"), 0);
	assert_int_equal(buf_adds(&html, "deep"), 0);
	buf_init(&out, BUF_MAX_TEXT);
	ret = html2text(html.ptr, html.len, &out);
	assert_int_equal(ret, 0);
	assert_string_equal(buf_str(&out), "before");
	buf_free(&out);

	/* 5k nested lists: the indent is capped. */
	buf_reset(&html);
	for (i = 0; i < 5000; i++)
		assert_int_equal(buf_adds(&html, "<ul><li>x"), 0);
	buf_init(&out, BUF_MAX_TEXT);
	ret = html2text(html.ptr, html.len, &out);
	assert_int_equal(ret, 0);
	assert_true(strncmp(buf_str(&out), "- x\n  - x\n    - x\n", 18) == 0);
	assert_null(strstr(buf_str(&out), "                  -"));
	buf_free(&out);
	buf_free(&html);
}

/* Text around nested elements 255 and 256 deep: libxml2's tree stopped at
 * its depth limit, and the SAX walk stops at the same element. */
static void test_depth_limit_boundary(void **state)
{
	struct buf html;
	size_t d, i;

	buf_init(&html, BUF_MAX_TEXT);
	for (d = 255; d <= 256; d++) {
		buf_reset(&html);
		assert_int_equal(buf_adds(&html, "<p>top</p>"), 0);
		for (i = 0; i < d; i++)
			assert_int_equal(buf_adds(&html, "<div>"), 0);
		assert_int_equal(buf_adds(&html, "deep"), 0);
		for (i = 0; i < d; i++)
			assert_int_equal(buf_adds(&html, "</div>"), 0);
		assert_int_equal(buf_adds(&html, "<p>after</p>"), 0);
		/* html and body are implied: the divs open at depth 3 */
		check(buf_str(&html),
		      d == 255 ? "top\n\ndeep\n\nafter" : "top");
	}
	buf_free(&html);
}

/* libxml2 hands long text over in pieces of about 1000 bytes, entities
 * apart: the collapsing, the invisible characters, link text and <pre>
 * carry across the pieces. */
static void test_long_text_in_pieces(void **state)
{
	struct buf html, want;
	size_t i;

	buf_init(&html, BUF_MAX_TEXT);
	buf_init(&want, BUF_MAX_TEXT);
	assert_int_equal(buf_adds(&html, "<p>"), 0);
	for (i = 0; i < 400; i++) {
		assert_int_equal(
			buf_adds(&html, "wo\xC2\xADrd&nbsp;\xC2\xA0x \n"), 0);
		assert_int_equal(buf_adds(&want, i ? " word x" : "word x"), 0);
	}
	assert_int_equal(buf_adds(&html, "</p>"), 0);
	check(buf_str(&html), buf_str(&want));

	buf_reset(&html);
	buf_reset(&want);
	assert_int_equal(buf_adds(&html, "<a href=\"https://x.example/\">"), 0);
	for (i = 0; i < 400; i++) {
		assert_int_equal(buf_adds(&html, i ? "<br>\nlink" : "link"), 0);
		assert_int_equal(buf_adds(&want, i ? " link" : "link"), 0);
	}
	assert_int_equal(buf_adds(&html, "</a>."), 0);
	assert_int_equal(buf_adds(&want, " [1].\n\n[1] https://x.example/"), 0);
	check(buf_str(&html), buf_str(&want));

	buf_reset(&html);
	buf_reset(&want);
	assert_int_equal(buf_adds(&html, "<pre>"), 0);
	for (i = 0; i < 400; i++) {
		assert_int_equal(buf_adds(&html, "a\xC2\xA0&amp;\r\n"), 0);
		assert_int_equal(buf_adds(&want, i ? "\na &" : "a &"), 0);
	}
	assert_int_equal(buf_adds(&html, "</pre>"), 0);
	check(buf_str(&html), buf_str(&want));
	buf_free(&html);
	buf_free(&want);
}

/* Whitespace-only text between elements, and after the document closed,
 * renders as it did from the tree. */
static void test_whitespace_between_elements(void **state)
{
	check("<p><img alt=\"a\"> <img alt=\"b\"></p>", "a b");
	check("<p>x</p> <b>y</b>", "x\n\ny");
	check("<ul> <li>a</li> <li>b</li> </ul>", "- a\n- b");
	check("<p>a</p></body></html> <b>late</b>", "a\n\nlate");
	check("<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\">"
	      "<body><b>a</b> <i>b</i>",
	      "a b");
}

static void test_ten_thousand_divs(void **state)
{
	struct buf html, out;
	size_t i;

	buf_init(&html, BUF_MAX_TEXT);
	assert_int_equal(buf_adds(&html, "<p>before</p>"), 0);
	for (i = 0; i < 10000; i++)
		assert_int_equal(buf_adds(&html, "<div>"), 0);
	assert_int_equal(buf_adds(&html, "deep"), 0);
	for (i = 0; i < 10000; i++)
		assert_int_equal(buf_adds(&html, "</div>"), 0);
	assert_int_equal(buf_adds(&html, "<p>after</p>"), 0);
	buf_init(&out, 4096);
	assert_int_equal(html2text(html.ptr, html.len, &out), 0);
	/* libxml2 gives up at its depth limit (256); what came before is
	 * kept, nothing crashes or grows, and no blank lines pile up */
	assert_string_equal(buf_str(&out), "before");
	buf_free(&out);
	buf_free(&html);
}

static void test_hundred_thousand_br(void **state)
{
	struct buf html, out;
	size_t i;

	buf_init(&html, BUF_MAX_TEXT);
	assert_int_equal(buf_adds(&html, "top"), 0);
	for (i = 0; i < 100000; i++)
		assert_int_equal(buf_adds(&html, "<br>"), 0);
	assert_int_equal(buf_adds(&html, "middle"), 0);
	for (i = 0; i < 100000; i++)
		assert_int_equal(buf_adds(&html, i % 2 ? "<br/>" : "<p></p>"),
				 0);
	assert_int_equal(buf_adds(&html, "end"), 0);
	/* a small cap: the breaks must not reach the output */
	buf_init(&out, 64);
	assert_int_equal(html2text(html.ptr, html.len, &out), 0);
	assert_string_equal(buf_str(&out), "top\n\nmiddle\n\nend");
	buf_free(&out);
	buf_free(&html);
}

static void test_invalid_utf8(void **state)
{
	check("ok\xff here\xc3", "ok\xEF\xBF\xBD here\xEF\xBF\xBD");
	check("nul\0byte", "nul"); /* strlen stops at NUL: check len too */
}

static void test_embedded_nul_and_controls(void **state)
{
	static const char html[] = "a\0b\x01"
				   "c";
	struct buf out;

	buf_init(&out, BUF_MAX_TEXT);
	assert_int_equal(html2text(html, sizeof(html) - 1, &out), 0);
	assert_string_equal(buf_str(&out), "abc");
	buf_free(&out);
}

static void test_meta_charset_ignored(void **state)
{
	check("<meta charset=\"iso-8859-1\"><p>café</p>", "café");
}

static void test_empty_input(void **state)
{
	struct buf out;

	buf_init(&out, BUF_MAX_TEXT);
	assert_int_equal(html2text("", 0, &out), 0);
	assert_int_equal(html2text("   \n ", 5, &out), 0);
	assert_int_equal(html2text("<p></p><br>", 11, &out), 0);
	assert_int_equal(out.len, 0);
	buf_free(&out);
}

static void test_appends(void **state)
{
	struct buf out;

	buf_init(&out, BUF_MAX_TEXT);
	assert_int_equal(buf_adds(&out, "Summary: "), 0);
	assert_int_equal(html2text("<p>text</p>", 11, &out), 0);
	assert_string_equal(buf_str(&out), "Summary: text");
	buf_free(&out);
}

static void test_cap(void **state)
{
	static const char html[] = "<p>this text is longer than the cap</p>";
	struct buf out;

	buf_init(&out, 10);
	assert_int_equal(html2text(html, strlen(html), &out), -E2BIG);
	buf_free(&out);
}

static void test_cap_counts_output_only(void **state)
{
	struct buf html, out;
	size_t i;

	/* 20 KB of markup and script, 5 bytes of text, a 64-byte cap */
	buf_init(&html, BUF_MAX_TEXT);
	assert_int_equal(buf_adds(&html, "<script>"), 0);
	for (i = 0; i < 1000; i++)
		assert_int_equal(buf_adds(&html, "var x = 1;\n"), 0);
	assert_int_equal(buf_adds(&html, "</script>"), 0);
	for (i = 0; i < 1000; i++)
		assert_int_equal(buf_adds(&html, "<span> </span>"), 0);
	assert_int_equal(buf_adds(&html, "<p>Hello</p>"), 0);
	buf_init(&out, 64);
	assert_int_equal(html2text(html.ptr, html.len, &out), 0);
	assert_string_equal(buf_str(&out), "Hello");
	buf_free(&out);
	buf_free(&html);
}

/* A renderer carries nothing from one document to the next: not an
 * open link, a list, a <pre>, a parse halted at the depth limit, nor a
 * dictionary past its limit (the context is then made anew). */
/* ---- the XML reading against the HTML parser ---- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static unsigned rnd(unsigned n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (unsigned)(rng_state % n);
}

/* Text pieces: words, whitespace of every kind, XML's and HTML's
 * entities, character references, raw UTF-8, punctuation that hugs a
 * link's marker. */
static const char *const gen_texts[] = {
	"pay",		"caseload", " ",	"  ",	  "\n",
	"\t",		"\r\n",	    "&amp;",	"&lt;",	  "&gt;",
	"&quot;",	"&apos;",   "&rsquo;",	"&nbsp;", "&eacute;",
	"&hellip;",	"&#8217;",  "&#x41;",	"&#160;", "caf\xC3\xA9",
	"\xE2\x80\x94", "\xC2\xA0", "\xC2\xAD", ".",	  "), ",
	"&euro;250",	"A&amp;B",  "&#13;",	"&#10;",  "Zo\xC3\xAB",
};

/* Elements with how they may nest (as the XML reading sees it), and a
 * few it never vouches for. */
static const char *const gen_inline[] = {"b",	 "em",	 "strong", "i",
					 "span", "u",	 "sub",	   "code",
					 "q",	 "font", "small",  "a"};
static const char *const gen_flow[] = {
	"p",	 "div",	    "blockquote", "h1",		"h3",	    "ul",
	"ol",	 "dl",	    "table",	  "figure",	"section",  "center",
	"hr",	 "address", "h6",	  "figcaption", "pre",	    "script",
	"style", "DIV",	    "o:p",	  "unknown",	"textarea", "li",
	"td",	 "noscript"};

static void gen_children(struct buf *b, const char *parent, int depth);

static void adds(struct buf *b, const char *s)
{
	assert_int_equal(buf_adds(b, s), 0);
}

static void addf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	assert_int_equal(buf_vprintf(b, fmt, ap), 0);
	va_end(ap);
}

static void gen_attrs(struct buf *b, const char *tag)
{
	static const char *const hrefs[] = {
		"http://union.example.org/pay",
		"https://a.example/x?a=1&amp;b=2",
		" https://a.example/sp ",
		"https://a.example/caf&eacute;",
		"https://a.example/&#233;t&#10;e",
		"/relative",
		"mailto:rep@example.org",
		"https://a.example/a b",
		"HTTPS://A.example/Up",
		"",
	};
	static const char *const alts[] = {"Chart", "caf&eacute; &amp; more",
					   "", "line\nbreak", "&rsquo;q"};

	if (strcmp(tag, "a") == 0) {
		if (rnd(8) == 0)
			addf(b, " HREF=\"%s\"", hrefs[rnd(10)]);
		else if (rnd(8) != 0)
			addf(b, " href=\"%s\"", hrefs[rnd(10)]);
		if (rnd(4) == 0)
			adds(b, " title=\"t &amp; &rsquo;\"");
	} else if (strcmp(tag, "img") == 0) {
		adds(b, " src=\"https://a.example/i.png\"");
		if (rnd(4) != 0)
			addf(b, " alt=\"%s\"", alts[rnd(5)]);
	} else if (rnd(6) == 0) {
		adds(b, " class=\"c\"");
	}
}

static void gen_element(struct buf *b, const char *tag, int depth)
{
	addf(b, "<%s", tag);
	gen_attrs(b, tag);
	adds(b, ">");
	gen_children(b, tag, depth + 1);
	if (rnd(30) != 0) /* now and then left open */
		addf(b, "</%s>", tag);
}

static void gen_child(struct buf *b, const char *parent, int depth)
{
	static const char *const voids[] = {"<br>", "<br/>", "<br />", "<hr/>",
					    "<wbr/>"};
	unsigned pick = rnd(10);

	/* What a list, a table or a row holds: mostly the right thing. */
	if (rnd(8) != 0) {
		if (strcmp(parent, "ul") == 0 || strcmp(parent, "ol") == 0) {
			gen_element(b, "li", depth);
			return;
		}
		if (strcmp(parent, "dl") == 0) {
			gen_element(b, rnd(2) ? "dt" : "dd", depth);
			return;
		}
		if (strcmp(parent, "table") == 0) {
			gen_element(b, rnd(3) ? "tr" : "tbody", depth);
			return;
		}
		if (strcmp(parent, "tbody") == 0) {
			gen_element(b, "tr", depth);
			return;
		}
		if (strcmp(parent, "tr") == 0) {
			gen_element(b, rnd(3) ? "td" : "th", depth);
			return;
		}
	}
	if (pick < 4 || depth > 6) {
		adds(b,
		     gen_texts[rnd(sizeof(gen_texts) / sizeof(gen_texts[0]))]);
	} else if (pick < 7) {
		gen_element(b,
			    gen_inline[rnd(sizeof(gen_inline) /
					   sizeof(gen_inline[0]))],
			    depth);
	} else if (pick < 8) {
		if (rnd(2))
			adds(b, voids[rnd(5)]);
		else
			gen_element(b, "img", depth);
	} else {
		gen_element(
			b,
			gen_flow[rnd(sizeof(gen_flow) / sizeof(gen_flow[0]))],
			depth);
	}
}

static void gen_children(struct buf *b, const char *parent, int depth)
{
	unsigned n = rnd(depth > 4 ? 2 : 5);

	if (strcmp(parent, "img") == 0 || strcmp(parent, "hr") == 0)
		n = rnd(8) == 0 ? 1 : 0;
	for (unsigned i = 0; i < n; i++)
		gen_child(b, parent, depth);
}

/* Random fragments of the HTML feeds carry, nested the way the XML
 * reading vouches for and every other way: both parsers must agree on
 * every one, and the XML reading must have rendered a good share. */
static void test_parsers_agree_random(void **state)
{
	struct buf html;
	unsigned xml = 0, total = 20000;

	buf_init(&html, BUF_MAX_TEXT);
	for (unsigned i = 0; i < total; i++) {
		buf_reset(&html);
		gen_children(&html, "body", 0);
		if (html.len == 0)
			continue;
		xml += check_parsers_agree(html.ptr, html.len);
	}
	print_message("XML reading rendered %u of %u fragments\n", xml, total);
	assert_true(xml > total / 5);
	buf_free(&html);
}

/* A renderer that meets fragments the XML reading cannot take, one
 * after another, stops trying for a while, then tries again. */
static void test_xml_reading_backs_off(void **state)
{
	struct html2text *r = html2text_create();
	struct buf out;
	int tried = 0;

	assert_non_null(r);
	buf_init(&out, BUF_MAX_TEXT);
	assert_int_equal(html2text_render(r, "<p>ok</p>", 9, &out), 0);
	assert_true(html2text_last_xml(r));
	for (int i = 0; i < 100; i++) {
		buf_reset(&out);
		assert_int_equal(html2text_render(r, "<p>a<br>b</p>", 13, &out),
				 0);
		assert_string_equal(buf_str(&out), "a\nb");
		assert_false(html2text_last_xml(r));
	}
	for (int i = 0; i < 100; i++) {
		buf_reset(&out);
		assert_int_equal(html2text_render(r, "<p>ok</p>", 9, &out), 0);
		tried += html2text_last_xml(r);
	}
	/* back to XML within a retry period, and then for good */
	assert_true(tried >= 60);
	assert_true(html2text_last_xml(r));
	html2text_set_parser(r, HTML2TEXT_HTML_ONLY);
	assert_int_equal(html2text_render(r, "<p>ok</p>", 9, &out), 0);
	assert_false(html2text_last_xml(r));
	buf_free(&out);
	html2text_destroy(r);
}

static void test_renderer_reuse(void **state)
{
	struct html2text *r = html2text_create();
	struct buf html, out;
	size_t i;

	assert_non_null(r);
	buf_init(&html, BUF_MAX_TEXT);
	buf_init(&out, BUF_MAX_TEXT);
	assert_int_equal(buf_adds(&html, "<p>before</p>"), 0);
	for (i = 0; i < 10000; i++)
		assert_int_equal(buf_adds(&html, "<div><span>"), 0);
	assert_int_equal(buf_adds(&html, "deep"), 0);
	assert_int_equal(html2text_render(r, html.ptr, html.len, &out), 0);
	assert_string_equal(buf_str(&out), "before");

	buf_reset(&out);
	assert_int_equal(
		html2text_render(
			r, "<ul><li><pre><a href=\"http://a.example/\">x",
			strlen("<ul><li><pre><a href=\"http://a.example/\">x"),
			&out),
		0);
	assert_string_equal(buf_str(&out), "- x [1]\n\n[1] http://a.example/");

	buf_reset(&out);
	assert_int_equal(html2text_render(r, "one  <b>two</b>", 15, &out), 0);
	assert_string_equal(buf_str(&out), "one two");

	/* 6000 different element names, more than the dictionary keeps. */
	buf_reset(&html);
	for (i = 0; i < 6000; i++)
		assert_int_equal(buf_printf(&html, "<x%zu></x%zu>", i, i), 0);
	assert_int_equal(buf_adds(&html, "many"), 0);
	buf_reset(&out);
	assert_int_equal(html2text_render(r, html.ptr, html.len, &out), 0);
	assert_string_equal(buf_str(&out), "many");
	for (i = 0; i < 3; i++) {
		buf_reset(&out);
		assert_int_equal(
			html2text_render(r, "<p>a</p><p>b</p>", 16, &out), 0);
		assert_string_equal(buf_str(&out), "a\n\nb");
	}
	buf_free(&html);
	buf_free(&out);
	html2text_destroy(r);
	html2text_destroy(NULL);
}

static int teardown_shared(void **state)
{
	html2text_destroy(shared);
	shared = NULL;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paragraphs),
		cmocka_unit_test(test_line_breaks),
		cmocka_unit_test(test_lists),
		cmocka_unit_test(test_dropped_elements),
		cmocka_unit_test(test_entities),
		cmocka_unit_test(test_whitespace),
		cmocka_unit_test(test_comments_and_cdata),
		cmocka_unit_test(test_bidi_controls_dropped),
		cmocka_unit_test(test_links_references),
		cmocka_unit_test(test_links_url_as_text),
		cmocka_unit_test(test_links_without_reference),
		cmocka_unit_test(test_links_images),
		cmocka_unit_test(test_links_urls_encoded),
		cmocka_unit_test(test_links_broken_markup),
		cmocka_unit_test(test_links_capped),
		cmocka_unit_test(test_links_long_url),
		cmocka_unit_test(test_post_fixture),
		cmocka_unit_test(test_images_alt),
		cmocka_unit_test(test_pre),
		cmocka_unit_test(test_tables),
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_depth_limit_boundary),
		cmocka_unit_test(test_ten_thousand_divs),
		cmocka_unit_test(test_long_text_in_pieces),
		cmocka_unit_test(test_whitespace_between_elements),
		cmocka_unit_test(test_hundred_thousand_br),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_embedded_nul_and_controls),
		cmocka_unit_test(test_meta_charset_ignored),
		cmocka_unit_test(test_empty_input),
		cmocka_unit_test(test_appends),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_cap_counts_output_only),
		cmocka_unit_test(test_renderer_reuse),
		cmocka_unit_test(test_parsers_agree_random),
		cmocka_unit_test(test_html_parser_quirks),
		cmocka_unit_test(test_xml_reading_backs_off),
	};

	return cmocka_run_group_tests(tests, NULL, teardown_shared);
}
