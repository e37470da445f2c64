/*
 * test_feed: the fixtures in tests/data/feeds/ (RSS 0.9x/1.0/2.0, Atom,
 * Blogger, JSON Feed, ill-formed and mis-encoded ones) field by field; the
 * push API; chunk-boundary invariance on every fixture (RELIABILITY E6);
 * bounded memory on a 100,000-item document; hostile input (XXE, entity
 * bombs, not a feed, broken XML, bad bytes: E1-E5); the date table (E7).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <malloc.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "feed.h"
#include "text.h"

#define BASE "https://staffnews.example.org/feeds/posts/default"

static char *load(const char *name, size_t *len)
{
	const char *dir = getenv("DATA_DIR");
	char path[1024], chunk[4096];
	struct buf b;
	size_t n;
	FILE *f;
	int ret;

	ret = snprintf(path, sizeof(path), "%s/feeds/%s",
		       dir ? dir : "tests/data", name);
	assert_true(ret > 0 && (size_t)ret < sizeof(path));
	f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s", path);
	buf_init(&b, BUF_MAX_TEXT);
	for (;;) {
		n = fread(chunk, 1, sizeof(chunk), f);
		if (n == 0)
			break;
		assert_int_equal(buf_add(&b, chunk, n), 0);
	}
	fclose(f);
	*len = b.len;
	return buf_take(&b);
}

/* Parses a fixture; expects success and an empty err. */
static struct feed *parse_file(const char *name, const char *base)
{
	struct feed *feed = NULL;
	struct err err = {{0}};
	size_t len;
	char *data = load(name, &len);
	int ret;

	ret = feed_parse(data, len, base, NULL, &feed, &err);
	free(data);
	if (ret)
		fail_msg("%s: %d: %s", name, ret, err.msg);
	assert_non_null(feed);
	assert_string_equal(err.msg, "");
	return feed;
}

static struct feed *parse_str(const char *xml)
{
	struct feed *feed = NULL;
	struct err err = {{0}};
	int ret;

	ret = feed_parse(xml, strlen(xml), NULL, NULL, &feed, &err);
	if (ret)
		fail_msg("%d: %s", ret, err.msg);
	assert_non_null(feed);
	return feed;
}

/* Expects xml to fail with -EPROTO and exactly the message want. */
static void parse_fails(const char *xml, size_t len, const char *want)
{
	struct feed *feed = (struct feed *)1;
	struct err err = {{0}};

	assert_int_equal(feed_parse(xml, len, NULL, NULL, &feed, &err),
			 -EPROTO);
	assert_null(feed);
	assert_string_equal(err.msg, want);
}

static void fails(const char *xml, const char *want)
{
	parse_fails(xml, strlen(xml), want);
}

static void test_rss20_staff_news(void **state)
{
	struct feed *f = parse_file("rss20_staff.xml", BASE);
	struct feed_item *it;

	assert_int_equal(f->format, FEED_FORMAT_RSS20);
	assert_string_equal(feed_format_name(f->format), "rss20");
	/* not the <image>'s title and link */
	assert_string_equal(f->title, "Probation Staff News & Views");
	assert_string_equal(f->link, "https://staffnews.example.org/");
	assert_int_equal(f->n_items, 3);

	it = &f->items[0];
	assert_string_equal(it->id, "tag:staffnews.example.org,2026:post-1001");
	assert_string_equal(it->link, "https://staffnews.example.org/2026/11/"
				      "caseloads.html");
	assert_string_equal(it->title, "Caseloads & the \u2018red zone\u2019 "
				       "\u2013 what\u2019s next?");
	assert_string_equal(it->author, "Sam Okafor");
	assert_int_equal(it->published, 1794821400);
	assert_true(it->updated == FEED_DATE_NONE);
	assert_string_equal(it->summary,
			    "Teams in the north report caseloads above "
			    "150%.\n\nReps meet on Friday at 10 am \u2014 "
			    "bring your WMT figures.");
	assert_null(it->content);
	assert_int_equal(it->n_categories, 2); /* duplicate dropped */
	assert_string_equal(it->categories[0], "Workload");
	assert_string_equal(it->categories[1], "Union");

	it = &f->items[1];
	assert_string_equal(it->id,
			    "https://staffnews.example.org/2026/11/pay.html");
	/* <link> beats the permalink guid, and is resolved */
	assert_string_equal(it->link, "https://staffnews.example.org/2026/11/"
				      "pay-offer.html");
	assert_string_equal(it->title, "Pay offer: caf\u00e9 meeting notes");
	/* dc:creator beats <author> */
	assert_string_equal(it->author, "Alex Brennan");
	assert_int_equal(it->published, 1794899100);
	assert_string_equal(it->summary, "The offer is 3% for most bands.\n\n"
					 "- Band 3: \u00a3850\n"
					 "- Band 4 & 5: to follow");
	assert_string_equal(it->content, "Summary\n\nLine one\nLine two\n\n"
					 "Chart of pay bands");
	assert_int_equal(it->n_categories, 1);
	assert_string_equal(it->categories[0], "Pay");

	it = &f->items[2];
	/* no guid: the link is the id */
	assert_string_equal(
		it->id, "https://staffnews.example.org/2026/11/office.html");
	assert_string_equal(
		it->link, "https://staffnews.example.org/2026/11/office.html");
	assert_string_equal(it->title, "Office move");
	assert_null(it->author);
	assert_int_equal(it->published, 1795003200);
	assert_string_equal(it->summary, "Plain words only, questions at 2pm.");
	assert_int_equal(it->n_categories, 0);
	assert_null(it->categories);
	feed_destroy(f);
}

static void test_atom10_xhtml_and_relative_links(void **state)
{
	struct feed *f = parse_file("atom10_briefings.xml", NULL);
	struct feed_item *it;

	assert_int_equal(f->format, FEED_FORMAT_ATOM10);
	assert_string_equal(feed_format_name(f->format), "atom10");
	assert_string_equal(f->title, "Branch Briefings"); /* type="html" */
	/* href="./" against xml:base; rel="self" is not the link */
	assert_string_equal(f->link, "https://union.example.net/branch/");
	assert_int_equal(f->n_items, 2);

	it = &f->items[0];
	assert_string_equal(it->id, "tag:union.example.net,2026:entry-7");
	assert_string_equal(
		it->link, "https://union.example.net/branch/posts/workload-qa");
	assert_string_equal(it->title, "Workload & wellbeing Q&A");
	assert_string_equal(it->author, "Priya Shah"); /* name beats email */
	assert_int_equal(it->published, 1795110310);
	assert_int_equal(it->updated, 1795165200);
	assert_string_equal(it->summary,
			    "Answers to your top five questions\u2026");
	/* The content has a link, which html2text renders its own way:
	 * check the text around it, and that the relative href was made
	 * absolute against xml:base (only absolute links get a reference). */
	assert_non_null(strstr(it->content, "First, the WMT"));
	assert_non_null(strstr(it->content, "figures & what they mean.\n\n"
					    "- Breaks\n- Overtime"));
	assert_non_null(strstr(it->content, "https://union.example.net/wmt"));
	assert_int_equal(it->n_categories, 2);
	assert_string_equal(it->categories[0], "wellbeing");
	assert_string_equal(it->categories[1], "workload");

	it = &f->items[1];
	/* the entry's own xml:base */
	assert_string_equal(
		it->link,
		"https://union.example.net/archive/2026/recruitment.html");
	assert_string_equal(it->title, "Recruitment update");
	/* inherited from the feed's <author> */
	assert_string_equal(it->author, "Branch Office");
	assert_true(it->published == FEED_DATE_NONE);
	assert_int_equal(it->updated, 1795006800);
	assert_null(it->summary);
	/* type="text": whitespace normalised, paragraphs kept */
	assert_string_equal(it->content, "Line one, still one.\n\nLine two.");
	feed_destroy(f);
}

static void test_rss10_rdf(void **state)
{
	struct feed *f = parse_file("rss10_briefings.xml", NULL);
	struct feed_item *it;

	assert_int_equal(f->format, FEED_FORMAT_RSS10);
	assert_string_equal(feed_format_name(f->format), "rss10");
	assert_string_equal(f->title, "Union Briefings");
	assert_string_equal(f->link, "https://briefings.example.com/");
	assert_int_equal(f->n_items, 2);

	it = &f->items[0];
	assert_string_equal(it->id, "https://briefings.example.com/b/41");
	assert_string_equal(it->link, "https://briefings.example.com/b/41");
	assert_string_equal(it->title, "Pay ballot opens");
	assert_string_equal(it->author, "Membership Team");
	assert_int_equal(it->published, 1794814200);
	assert_string_equal(it->summary, "Ballot papers arrive this week.");
	assert_int_equal(it->n_categories, 1);
	assert_string_equal(it->categories[0], "Pay");

	it = &f->items[1];
	/* rdf:about is the id, not the link */
	assert_string_equal(it->id, "urn:briefing:42");
	assert_string_equal(it->link, "https://briefings.example.com/b/42");
	assert_int_equal(it->published, 1794873600); /* date only */
	feed_destroy(f);
}

static void test_format_detection(void **state)
{
	static const struct {
		const char *xml;
		enum feed_format format;
		const char *name;
	} cases[] = {
		{"<rss version=\"0.91\"><channel><title>t</title></channel>"
		 "</rss>",
		 FEED_FORMAT_RSS091, "rss091"},
		{"<rss version=\"0.92\"><channel/></rss>", FEED_FORMAT_RSS092,
		 "rss092"},
		{"<rss><channel/></rss>", FEED_FORMAT_RSS20, "rss20"},
		{"<rss version=\"2.0\"><channel/></rss>", FEED_FORMAT_RSS20,
		 "rss20"},
		{"<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/"
		 "22-rdf-syntax-ns#\" xmlns=\"http://my.netscape.com/rdf/"
		 "simple/0.9/\"><channel><title>t</title></channel>"
		 "</rdf:RDF>",
		 FEED_FORMAT_RSS090, "rss090"},
		{"<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/"
		 "22-rdf-syntax-ns#\" xmlns=\"http://purl.org/rss/1.0/\">"
		 "</rdf:RDF>",
		 FEED_FORMAT_RSS10, "rss10"},
		{"<feed version=\"0.3\" xmlns=\"http://purl.org/atom/ns#\">"
		 "</feed>",
		 FEED_FORMAT_ATOM03, "atom03"},
		{"<feed xmlns=\"http://www.w3.org/2005/Atom\"/>",
		 FEED_FORMAT_ATOM10, "atom10"},
	};
	struct feed *f;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		f = parse_str(cases[i].xml);
		assert_int_equal(f->format, cases[i].format);
		assert_string_equal(feed_format_name(f->format), cases[i].name);
		assert_int_equal(f->n_items, 0);
		feed_destroy(f);
	}
	assert_string_equal(feed_format_name(FEED_FORMAT_JSON11), "json11");
	assert_string_equal(feed_format_name(FEED_FORMAT_UNKNOWN), "unknown");
}

static void test_rss090_items(void **state)
{
	struct feed *f = parse_str(
		"<?xml version=\"1.0\"?>\n"
		"<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/"
		"22-rdf-syntax-ns#\" xmlns=\"http://my.netscape.com/rdf/simple/"
		"0.9/\">\n<channel><title>Old</title>"
		"<link>http://old.example.org/</link></channel>\n"
		"<item><title>One</title><link>http://old.example.org/1</link>"
		"</item>\n</rdf:RDF>");

	assert_int_equal(f->format, FEED_FORMAT_RSS090);
	assert_string_equal(f->title, "Old");
	assert_int_equal(f->n_items, 1);
	assert_string_equal(f->items[0].title, "One");
	assert_string_equal(f->items[0].id, "http://old.example.org/1");
	feed_destroy(f);
}

static void test_atom03_content_modes(void **state)
{
	struct feed *f = parse_str(
		"<feed version=\"0.3\" xmlns=\"http://purl.org/atom/ns#\">"
		"<entry><title>Old atom</title>"
		"<link rel=\"alternate\" type=\"text/html\" "
		"href=\"http://a.example/1\"/>"
		"<id>tag:a,2004:1</id><issued>2004-05-01T10:00:00Z</issued>"
		"<modified>2004-05-02T10:00:00Z</modified>"
		"<summary type=\"text/plain\">Short</summary>"
		"<content type=\"text/html\" mode=\"escaped\">"
		"&lt;p&gt;Hello &amp;amp; bye&lt;/p&gt;</content>"
		"</entry></feed>");
	struct feed_item *it = &f->items[0];

	assert_int_equal(f->n_items, 1);
	assert_string_equal(it->link, "http://a.example/1");
	assert_int_equal(it->published, 1083405600);
	assert_int_equal(it->updated, 1083492000);
	assert_string_equal(it->summary, "Short");
	assert_string_equal(it->content, "Hello & bye");
	feed_destroy(f);
}

static void test_html_entities_without_dtd(void **state)
{
	struct feed *f = parse_str(
		"<rss version=\"2.0\"><channel><item>"
		"<title>Caf&eacute;&nbsp;&hellip; Q&A &amp; AT&T &bogus; "
		"&#146;s &#0; &#x1F600;</title>"
		"<category>Well&shy;being &ndash; HR</category>"
		"<link>https://example.org/?a=1&b=2&amp;c=3</link>"
		"</item></channel></rss>");
	struct feed_item *it = &f->items[0];

	/* HTML names decoded, stray '&' and unknown names kept as written,
	 * &#146; read as Windows-1252, &#0; replaced */
	assert_string_equal(it->title, "Caf\u00e9 \u2026 Q&A & AT&T &bogus; "
				       "\u2019s \ufffd \U0001F600");
	/* a soft hyphen has no place in plain text */
	assert_string_equal(it->categories[0], "Wellbeing \u2013 HR");
	assert_string_equal(it->link, "https://example.org/?a=1&b=2&c=3");
	feed_destroy(f);
}

static void test_declared_entities(void **state)
{
	struct feed *f = parse_str(
		"<?xml version=\"1.0\"?>\n"
		"<!DOCTYPE rss [\n"
		"<!ENTITY nbsp \"&#160;\">\n"
		"<!ENTITY org 'Probation &amp; Parole'>\n"
		"<!-- a comment with \" and <!ENTITY fake \"no\"> -->\n"
		"]>\n"
		"<rss version=\"2.0\"><channel><title>&org;&nbsp;news</title>"
		"<item><title>&org; &fake;</title></item></channel></rss>");

	assert_string_equal(f->title, "Probation & Parole news");
	assert_string_equal(f->items[0].title, "Probation & Parole &fake;");
	feed_destroy(f);
}

static void test_not_a_feed(void **state)
{
	size_t len;
	char *html = load("not_a_feed.html", &len);

	parse_fails(
		html, len,
		"line 3: not an RSS, Atom or JSON feed (root element <html>)");
	free(html);
	/* well-formed, wrong root */
	fails("<?xml version=\"1.0\"?>\n\n<opml version=\"2.0\">\n<body/>"
	      "\n\n</opml>\n",
	      "line 3: not an RSS, Atom or JSON feed (root element <opml>)");
	fails("<feed xmlns=\"urn:other\"/>",
	      "line 1: not an RSS, Atom or JSON feed (root element <feed>)");
	fails("<!-- x -->\n<!DOCTYPE html [ <!ENTITY a \"b\"> ]>\n"
	      "<html><br></html>",
	      "line 3: not an RSS, Atom or JSON feed (root element <html>)");
	fails("{\"title\": \"JSON, but no JSON Feed\"}",
	      "line 1: not an RSS, Atom or JSON feed (JSON without a "
	      "jsonfeed.org version)");
	fails("\n\nWarning: mysql_connect() failed in feed.php\n<rss/>",
	      "line 3: not an RSS, Atom or JSON feed (not XML: starts with "
	      "'W')");
	fails("<!-- nothing but a comment -->\n",
	      "line 1: not an RSS, Atom or JSON feed (no root element)");
	fails("", "line 1: not an RSS, Atom or JSON feed (empty document)");
	fails(" \n\t",
	      "line 1: not an RSS, Atom or JSON feed (empty document)");
	parse_fails(NULL, 0,
		    "line 1: not an RSS, Atom or JSON feed (empty document)");
}

static void test_truncated_keeps_complete_items(void **state)
{
	struct feed *f = NULL;
	struct err err = {{0}};
	size_t len;
	char *data = load("truncated.xml", &len);

	assert_int_equal(feed_parse(data, len, NULL, NULL, &f, &err), 0);
	free(data);
	assert_string_equal(err.msg,
			    "line 7: broken XML after 2 complete items (kept): "
			    "Extra content at the end of the document (the "
			    "document is cut short: no </rss>)");
	assert_string_equal(f->title, "Cut short");
	assert_int_equal(f->n_items, 2);
	assert_string_equal(f->items[0].id, "post-1");
	assert_string_equal(f->items[1].title, "Second story");
	feed_destroy(f);
}

static void test_truncated_before_any_item_fails(void **state)
{
	size_t len;
	char *data = load("truncated_early.xml", &len);

	parse_fails(data, len,
		    "line 4: broken XML: Extra content at the end of the "
		    "document (the document is cut short: no </rss>)");
	free(data);
}

static void test_broken_xml_names_line(void **state)
{
	struct feed *f = NULL;
	struct err err = {{0}};
	struct buf xml;
	size_t i;

	/* Two good items, more than one 512-byte reader chunk of comment,
	 * then a mismatch: the good items are kept and err says where. */
	buf_init(&xml, BUF_MAX_TEXT);
	assert_int_equal(buf_adds(&xml, "<rss version=\"2.0\">\n<channel>\n"
					"<item><title>One</title></item>\n"
					"<item><title>Two</title></item>\n"
					"<!-- "),
			 0);
	for (i = 0; i < 1024; i++)
		assert_int_equal(buf_addc(&xml, 'x'), 0);
	assert_int_equal(buf_adds(&xml, " -->\n<item><title>Three</item>\n"
					"</channel>\n</rss>\n"),
			 0);
	assert_int_equal(feed_parse(xml.ptr, xml.len, NULL, NULL, &f, &err), 0);
	assert_string_equal(err.msg,
			    "line 6: broken XML after 2 complete items (kept): "
			    "Opening and ending tag mismatch: title line 6 and "
			    "item");
	assert_int_equal(f->n_items, 2);
	assert_string_equal(f->items[0].title, "One");
	assert_string_equal(f->items[1].title, "Two");
	feed_destroy(f);
	buf_free(&xml);

	/* nothing complete before the error: it fails */
	fails("<rss>\n<channel>\n<title>a</titel>\n</channel></rss>",
	      "line 3: broken XML: Opening and ending tag mismatch: title "
	      "line 3 and titel");
}

static bool feed_contains(const struct feed *f, const char *needle)
{
	const struct feed_item *it;
	size_t i;

	if ((f->title && strstr(f->title, needle)) ||
	    (f->link && strstr(f->link, needle)))
		return true;
	for (i = 0; i < f->n_items; i++) {
		it = &f->items[i];
		if ((it->title && strstr(it->title, needle)) ||
		    (it->summary && strstr(it->summary, needle)) ||
		    (it->link && strstr(it->link, needle)) ||
		    (it->id && strstr(it->id, needle)))
			return true;
	}
	return false;
}

static void test_xxe_is_not_read(void **state)
{
	struct feed *f = parse_file("xxe.xml", NULL);

	assert_false(feed_contains(f, "root:"));
	assert_false(feed_contains(f, "/bin/"));
	/* an internal entity still works; the external one is nothing */
	assert_string_equal(f->title, "Safe North & East");
	assert_int_equal(f->n_items, 1);
	assert_string_equal(f->items[0].title, "BeforeAfter");
	assert_string_equal(f->items[0].link, "https://example.org/p/1");
	assert_string_equal(f->items[0].summary, "x");
	feed_destroy(f);

	/* an external DTD is not fetched either */
	f = parse_str("<?xml version=\"1.0\"?>\n<!DOCTYPE rss SYSTEM "
		      "\"file:///etc/passwd\">\n<rss><channel><title>t&amp;"
		      "</title></channel></rss>");
	assert_string_equal(f->title, "t&");
	feed_destroy(f);
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) +
	       (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void test_billion_laughs_fails_fast(void **state)
{
	struct timespec t0;
	size_t len;
	char *data = load("billion_laughs.xml", &len);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	parse_fails(data, len,
		    "line 17: entity 'lol9' refers to other entities or holds "
		    "markup; such documents are refused");
	assert_true(seconds_since(&t0) < 1.0);
	free(data);
}

static void test_entity_bomb_in_attribute_default(void **state)
{
	static const char xml[] =
		"<?xml version=\"1.0\"?>\n<!DOCTYPE rss [\n"
		"<!ENTITY a \"aaaaaaaaaa\">\n"
		"<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">\n"
		"<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">\n"
		"<!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\">\n"
		"<!ENTITY e \"&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;\">\n"
		"<!ENTITY f \"&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;\">\n"
		"<!ENTITY g \"&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;\">\n"
		"<!ENTITY h \"&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;\">\n"
		"<!ENTITY i \"&h;&h;&h;&h;&h;&h;&h;&h;&h;&h;\">\n"
		"<!ATTLIST item x CDATA \"&i;\">\n"
		"]>\n<rss><channel><item><title>t</title></item></channel>"
		"</rss>\n";
	struct timespec t0;

	struct feed *f;

	/* The bomb sits in an attribute default, which only a DTD-reading
	 * parser would expand. The DTD never reaches libxml2 (prep drops
	 * it), so the bomb is never evaluated: the feed parses, at once. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	f = parse_str(xml);
	assert_true(seconds_since(&t0) < 1.0);
	assert_int_equal(f->n_items, 1);
	assert_string_equal(f->items[0].title, "t");
	feed_destroy(f);
}

static void test_quadratic_blowup_refused(void **state)
{
	struct buf xml;
	struct err err = {{0}};
	struct feed *f = NULL;
	size_t i;

	buf_init(&xml, BUF_MAX_TEXT);
	assert_int_equal(buf_adds(&xml, "<!DOCTYPE rss [<!ENTITY big \""), 0);
	for (i = 0; i < 50000; i++)
		assert_int_equal(buf_addc(&xml, 'x'), 0);
	assert_int_equal(buf_adds(&xml, "\">]>\n<rss><channel><title>"), 0);
	for (i = 0; i < 1000; i++)
		assert_int_equal(buf_adds(&xml, "&big;"), 0);
	assert_int_equal(buf_adds(&xml, "</title></channel></rss>"), 0);
	assert_int_equal(feed_parse(xml.ptr, xml.len, NULL, NULL, &f, &err),
			 -EPROTO);
	assert_null(f);
	assert_non_null(strstr(err.msg, "line 2: entity expansion exceeds"));
	buf_free(&xml);
}

static void test_invalid_utf8_replaced(void **state)
{
	struct feed *f = parse_str("<rss><channel><item><title>ok\xff\xc3 "
				   "caf\xc3\xa9\x01!</title>"
				   "<description>a\xed\xa0\x80z</description>"
				   "</item></channel></rss>");

	assert_string_equal(f->items[0].title, "ok\ufffd\ufffd caf\u00e9!");
	/* a UTF-8-encoded surrogate is not UTF-8 either */
	assert_string_equal(f->items[0].summary, "a\ufffd\ufffd\ufffdz");
	feed_destroy(f);
}

static void test_latin1_document(void **state)
{
	struct feed *f =
		parse_str("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>"
			  "<rss><channel><title>Caf\xe9 \xa3"
			  "5</title></channel></rss>");

	assert_string_equal(f->title, "Caf\u00e9 \u00a35");
	feed_destroy(f);
}

/* Runs feed_parse with stderr sent to a temporary file; returns the
 * bytes libxml2 (or anyone) wrote there. */
static long parse_stderr_bytes(const char *xml, int *ret, struct err *err)
{
	struct feed *f = NULL;
	FILE *tmp = tmpfile();
	int saved;
	long n;

	assert_non_null(tmp);
	fflush(stderr);
	saved = dup(2);
	assert_true(saved >= 0);
	assert_true(dup2(fileno(tmp), 2) >= 0);
	*ret = feed_parse(xml, strlen(xml), NULL, NULL, &f, err);
	fflush(stderr);
	assert_true(dup2(saved, 2) >= 0);
	close(saved);
	n = (long)lseek(fileno(tmp), 0, SEEK_END);
	fclose(tmp);
	feed_destroy(f);
	return n;
}

static void test_other_encodings(void **state)
{
	static const char unknown[] =
		"<?xml version=\"1.0\" encoding=\"x-nope\"?><rss><channel>"
		"<title>caf\xc3\xa9</title></channel></rss>";
	struct feed *f;
	struct err err = {{0}};
	int ret;

	f = parse_str("<?xml version=\"1.0\" encoding=\"Shift_JIS\"?>\n"
		      "<rss><channel><title>\x93\xfa\x96\x7b</title>"
		      "</channel></rss>");
	assert_string_equal(f->title, "\u65e5\u672c");
	feed_destroy(f);

	/* bytes that are not Shift_JIS (read as Windows-31J, as browsers
	 * do): each becomes U+FFFD, and nothing is printed on stderr */
	assert_int_equal(
		parse_stderr_bytes(
			"<?xml version=\"1.0\" encoding=\"Shift_JIS\"?>"
			"\n<rss><channel><title>Caf\xe9 \x80\xff"
			"</title></channel></rss>",
			&ret, &err),
		0);
	assert_int_equal(ret, 0);
	assert_string_equal(err.msg, "");

	/* Windows-31J has the backslash where Shift_JIS has the yen sign */
	f = parse_str("<?xml version=\"1.0\" encoding=\"shift_jis\"?>"
		      "<rss><channel><title>C:\\x</title></channel></rss>");
	assert_string_equal(f->title, "C:\\x");
	feed_destroy(f);

	/* a label nobody knows: read as UTF-8, and say so */
	f = NULL;
	assert_int_equal(
		feed_parse(unknown, strlen(unknown), NULL, NULL, &f, &err), 0);
	assert_string_equal(f->title, "caf\u00e9");
	assert_string_equal(
		err.msg, "line 1: unknown encoding \"x-nope\"; read as UTF-8");
	feed_destroy(f);
}

static void test_max_items(void **state)
{
	static const char xml[] = "<rss><channel>"
				  "<item><guid>1</guid></item>"
				  "<item><guid>2</guid></item>"
				  "<item><guid>3</guid></item>"
				  "</channel></rss>";
	struct feed_limits limits = {.max_items = 2};
	struct feed *f = NULL;
	struct err err = {{0}};
	struct buf big;
	size_t i;

	assert_int_equal(feed_parse(xml, strlen(xml), NULL, &limits, &f, &err),
			 0);
	assert_int_equal(f->n_items, 2);
	assert_string_equal(f->items[0].id, "1");
	assert_string_equal(f->items[1].id, "2");
	feed_destroy(f);

	/* 0 means the default, 10000 */
	buf_init(&big, BUF_MAX_TEXT);
	assert_int_equal(buf_adds(&big, "<rss><channel>"), 0);
	for (i = 0; i < 10005; i++)
		assert_int_equal(
			buf_printf(&big, "<item><guid>%zu</guid></item>", i),
			0);
	assert_int_equal(buf_adds(&big, "</channel></rss>"), 0);
	limits.max_items = 0;
	assert_int_equal(feed_parse(big.ptr, big.len, NULL, &limits, &f, &err),
			 0);
	assert_int_equal(f->n_items, 10000);
	assert_string_equal(f->items[9999].id, "9999");
	feed_destroy(f);
	assert_int_equal(feed_parse(big.ptr, big.len, NULL, NULL, &f, &err), 0);
	assert_int_equal(f->n_items, 10000);
	feed_destroy(f);
	buf_free(&big);
}

static void test_guid_permalink_and_empty_items(void **state)
{
	struct feed *f = parse_str(
		"<rss><channel>"
		"<item><guid>https://example.org/p/1</guid><title>a</title>"
		"</item>"
		"<item><guid "
		"isPermaLink=\"false\">https://example.org/p/2</guid>"
		"</item>"
		"<item><description>   </description></item>"
		"<item/>"
		"<item><link> https://example.org/p/3\n</link></item>"
		"</channel></rss>");

	/* the last two empty items are dropped */
	assert_int_equal(f->n_items, 3);
	assert_string_equal(f->items[0].link, "https://example.org/p/1");
	assert_string_equal(f->items[1].id, "https://example.org/p/2");
	assert_null(f->items[1].link);
	assert_string_equal(f->items[2].id, "https://example.org/p/3");
	assert_string_equal(f->items[2].link, "https://example.org/p/3");
	assert_null(f->items[2].title);
	assert_true(f->items[2].published == FEED_DATE_NONE);
	feed_destroy(f);
}

static void test_undeclared_prefixes_and_raw_html(void **state)
{
	struct feed *f = parse_str(
		"<rss version=\"2.0\"><channel><item>"
		"<dc:creator>Jo Bloggs</dc:creator>"
		"<dc:date>2026-11-16T09:30:00Z</dc:date>"
		"<description><p>Raw <b>markup</b> &amp; text</p><p>Two</p>"
		"</description>"
		"<pubDate>not a date</pubDate>"
		"</item></channel></rss>");
	struct feed_item *it = &f->items[0];

	assert_string_equal(it->author, "Jo Bloggs");
	/* an unparseable pubDate does not hide dc:date */
	assert_int_equal(it->published, 1794821400);
	assert_string_equal(it->summary, "Raw markup & text\n\nTwo");
	feed_destroy(f);
}

static void test_relative_links_without_base(void **state)
{
	struct feed *f = NULL;
	struct err err = {{0}};
	static const char xml[] = "<rss><channel><link>/</link><item>"
				  "<link>../p/1.html</link></item>"
				  "</channel></rss>";

	assert_int_equal(feed_parse(xml, strlen(xml), NULL, NULL, &f, &err), 0);
	assert_string_equal(f->link, "/");
	assert_string_equal(f->items[0].link, "../p/1.html");
	feed_destroy(f);
	assert_int_equal(feed_parse(xml, strlen(xml),
				    "https://blog.example.org/a/b/feed.xml",
				    NULL, &f, &err),
			 0);
	assert_string_equal(f->link, "https://blog.example.org/");
	assert_string_equal(f->items[0].link,
			    "https://blog.example.org/a/p/1.html");
	feed_destroy(f);
}

static void test_atom_text_types(void **state)
{
	struct feed *f = parse_str(
		"<feed xmlns=\"http://www.w3.org/2005/Atom\"><entry>"
		"<title type=\"xhtml\"><div xmlns=\"http://www.w3.org/1999/"
		"xhtml\"><p>Two</p><p>lines</p></div></title>"
		"<summary type=\"text\">&lt;b&gt; is literal</summary>"
		"<content type=\"image/png\">iVBORw0KGgo=</content>"
		"<link rel=\"enclosure\" href=\"http://a/x.mp3\"/>"
		"<link href=\"http://a/post\"/>"
		"</entry></feed>");
	struct feed_item *it = &f->items[0];

	assert_string_equal(it->title, "Two lines");
	assert_string_equal(it->summary, "<b> is literal");
	assert_null(it->content);
	assert_string_equal(it->link, "http://a/post");
	feed_destroy(f);
}

static void test_dates(void **state)
{
	static const struct {
		const char *text;
		int64_t want;
	} good[] = {
		{"Mon, 16 Nov 2026 09:30:00 GMT", 1794821400},
		{"Mon, 16 Nov 2026 09:30:00 +0100", 1794817800},
		{"Mon, 16 Nov 2026 09:30:00 -0530", 1794841200},
		{"Mon, 16 Nov 2026 09:30:00 +01:00", 1794817800},
		{"16 Nov 2026 09:30:00 UT", 1794821400},
		{"Mon, 16 Nov 2026 09:30:00 UTC", 1794821400},
		{"Mon, 16 Nov 2026 09:30:00 Z", 1794821400},
		{"Mon, 16 Nov 26 09:30:00 EST", 1794839400},
		{"Mon, 16 Nov 2026 10:30:00 EDT", 1794839400},
		{"Mon, 16 Nov 2026 09:30:00 CDT", 1794839400},
		{"Mon, 16 Nov 2026 08:30:00 CST", 1794839400},
		{"Mon, 16 Nov 2026 09:30:00 MST", 1794846600},
		{"Mon, 16 Nov 2026 10:30:00 MDT", 1794846600},
		{"Mon, 16 Nov 2026 09:30:00 PST", 1794850200},
		{"Mon, 16 Nov 2026 10:30:00 PDT", 1794850200},
		{"Fri, 6 Nov 2026 09:30 PDT", 1793982600},
		{"Sun, 1 Feb 98 00:00:00 GMT", 886291200},
		{"1 Mar 49 00:00:00 GMT", 2498169600},
		{"1 Mar 50 00:00:00 GMT", -626054400},
		{"Mon, 04 Jan 099 00:00:00 GMT", 915408000},
		{"monday, 16 november 2026 09:30:00 gmt", 1794821400},
		{"Tue, 10 Jun 2003 04:00:00 -0700 (PDT)", 1055242800},
		{"Mon, 16 Nov 2026 09:30:00", 1794821400},
		{"16 Nov 2026", 1794787200},
		{"2026-11-16T09:30:00Z", 1794821400},
		{"2026-11-16t09:30:00z", 1794821400},
		{"2026-11-16T09:30:00+01:00", 1794817800},
		{"2026-11-16T09:30:00+0100", 1794817800},
		{"2026-11-16T09:30:00.123456-02:30", 1794830400},
		{"2026-11-16T09:30:00,5Z", 1794821400},
		{"2026-11-16T09:30:00", 1794821400},
		{"2026-11-16 09:30:00", 1794821400},
		{"2026-11-16T09:30Z", 1794821400},
		{"  2026-11-16T09:30:00Z \n", 1794821400},
		{"2026-11-16", 1794787200},
		{"2026-11", 1793491200},
		{"2026", 1767225600},
		{"2024-02-29T12:00:00Z", 1709208000},
		{"1969-12-31T23:59:59Z", -1},
		{"1970-01-01T00:00:00Z", 0},
		{"2026-12-31T23:59:60Z", 1798761600}, /* leap second */
		/* RELIABILITY E7 (feedparser's vectors) */
		{"Thu, 01 Jan 04 19:48:21 GMT", 1072986501},
		{"Thu,  5 Apr 2012 10:00:00 GMT", 1333620000},
		{"Mon, 26 January 2004 16:31:00 ET", 1075152660},
		{"Wed, 19 Feb 2012 22:40:00 GMT-01:01", 1329694860},
		{"Thu Aug 30 2012 17:26:16 +0200", 1346340376},
		{"2003-12-31T10:14:55.1234Z", 1072865695},
		{"2004-07-08 23:56:58", 1089331018},
		/* and their relatives seen in the wild */
		{"Thu Aug 30 2012 17:26:16 GMT+0200 (CEST)", 1346340376},
		{"Thu Aug 30 17:26:16 2012", 1346347576}, /* asctime */
		{"Aug 30, 2012 17:26:16 PT", 1346376376},
		{"Mon, 16 Nov 2026 09:30:00 CET", 1794817800},
		{"Mon, 16 Nov 2026 09:30:00 UTC+1", 1794817800},
		{"Tue, 1 Sept. 2026 09:30:00 GMT", 1788255000},
	};
	static const char *const bad[] = {
		"",
		"   ",
		"yesterday",
		"Mon, 99 Nov 2026 09:30:00 GMT",
		"Mon, 0 Nov 2026 09:30:00 GMT",
		"Mon, 16 Nov 2026 25:00:00 GMT",
		"Mon, 16 Nov 2026 09:61:00 GMT",
		"Mon, 16 Foo 2026 09:30:00 GMT",
		"Funday, 16 Nov 2026 09:30:00 GMT",
		"Mon, 16 Nov 2026 09:30:00 QQQ",
		"Mon, 16 Nov 2026 09:30:00 +9999",
		"Mon, 16 Nov 2026 09:30:00 GMT trailing",
		"Mon, 31 Nov 2026 09:30:00 GMT",
		"2026-13-01T00:00:00Z",
		"2026-00-10",
		"2026-11-16T09:30:00-99:99",
		"2026-11-16T09:30:00+24:00",
		"2026-11-16T24:00:00Z",
		"2026-11-16T09:30:61Z",
		"2026-02-30",
		"2025-02-29",
		"1900-02-29",
		"2026-11-16T09:30:00Zjunk",
		"2026-11-16T09:30:00.Z",
		"2026-11-16T9:30:00Z",
		"2026-1-16",
		"20261116",
		/* RELIABILITY E7: these must give null */
		"Sun, 99 Jun 2009 12:00:00 GMT",
		"2003-12-31T25:14:55Z",
		"9999-12-31T23:59:59-99:99",
		"Sun, 31 Dec 9999 23:59:59 -9999",
		"0000-00-00T00:00:00Z",
		"Mon, 16 Nov 2026 09:30:00 EST+0100",
		"Thu Aug 30",
		"Thu Aug 30 17:26",
	};
	int64_t t;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		t = 42;
		if (feed_parse_date(good[i].text, &t) != 0)
			fail_msg("\"%s\" was refused", good[i].text);
		if (t != good[i].want)
			fail_msg("\"%s\": got %lld, want %lld", good[i].text,
				 (long long)t, (long long)good[i].want);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (feed_parse_date(bad[i], &t) != -EINVAL)
			fail_msg("\"%s\" was accepted", bad[i]);
	assert_int_equal(feed_parse_date(NULL, &t), -EINVAL);
}

/* ---- streaming: helpers ---- */

/* Everything a parse yields, as text: compared across chunkings. */
struct dump {
	struct buf out;
	size_t n;
	size_t stop_after; /* on_item returns 7 at this item (0: never) */
};

static void dump_str(struct buf *b, const char *name, const char *v)
{
	assert_int_equal(buf_printf(b, " %s=%s%s%s", name, v ? "[" : "",
				    v ? v : "NULL", v ? "]" : ""),
			 0);
}

static int dump_item(const struct feed_item *it, void *arg)
{
	struct dump *d = arg;
	size_t k;

	d->n++;
	assert_int_equal(buf_printf(&d->out, "item %zu", d->n), 0);
	dump_str(&d->out, "id", it->id);
	dump_str(&d->out, "link", it->link);
	dump_str(&d->out, "title", it->title);
	dump_str(&d->out, "author", it->author);
	dump_str(&d->out, "summary", it->summary);
	dump_str(&d->out, "content", it->content);
	dump_str(&d->out, "reply", it->in_reply_to);
	assert_int_equal(buf_printf(&d->out, " pub=%lld upd=%lld comments=%ld",
				    (long long)it->published,
				    (long long)it->updated, it->comments),
			 0);
	for (k = 0; k < it->n_categories; k++)
		dump_str(&d->out, "cat", it->categories[k]);
	assert_int_equal(buf_addc(&d->out, '\n'), 0);
	return d->n == d->stop_after ? 7 : 0;
}

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

enum chunking {
	CHUNK_WHOLE,
	CHUNK_BYTES,
	CHUNK_RANDOM,
};

/* Parses data pushed in chunks as mode says; returns the dump (free it
 * with buf_free). */
static struct buf parse_chunked(const char *data, size_t len,
				const char *content_type, enum chunking mode,
				uint64_t seed)
{
	struct dump d = {.stop_after = 0};
	struct feed_limits limits = {.max_items = 100000};
	struct feed_parser *p;
	struct feed_info info;
	struct err err = {{0}};
	size_t off = 0, n;
	int ret = 0;

	buf_init(&d.out, BUF_MAX_TEXT);
	p = feed_parser_create("https://feeds.example.org/dir/feed",
			       content_type, &limits, dump_item, &d);
	assert_non_null(p);
	while (off < len && !ret) {
		n = len - off;
		if (mode == CHUNK_BYTES)
			n = 1;
		else if (mode == CHUNK_RANDOM)
			n = rng_next(&seed) % 4 == 0
				    ? 1 + rng_next(&seed) % 70000
				    : 1 + rng_next(&seed) % 13;
		if (n > len - off)
			n = len - off;
		ret = feed_parser_push(p, data + off, n, &err);
		off += n;
	}
	if (ret)
		assert_int_equal(
			buf_printf(&d.out, "push %d: %s\n", ret, err.msg), 0);
	ret = feed_parser_finish(p, &info, &err);
	assert_int_equal(buf_printf(&d.out, "finish %d: %s\n", ret, err.msg),
			 0);
	if (ret == 0) {
		assert_int_equal(buf_printf(&d.out, "feed %s",
					    feed_format_name(info.format)),
				 0);
		dump_str(&d.out, "title", info.title);
		dump_str(&d.out, "link", info.link);
		dump_str(&d.out, "self", info.self);
	}
	feed_parser_destroy(p);
	return d.out;
}

static void expect_same_chunked(const char *what, const char *data, size_t len,
				const char *content_type)
{
	struct buf whole, other;
	uint64_t seed;

	whole = parse_chunked(data, len, content_type, CHUNK_WHOLE, 0);
	other = parse_chunked(data, len, content_type, CHUNK_BYTES, 0);
	if (strcmp(buf_str(&whole), buf_str(&other)) != 0)
		fail_msg("%s: 1-byte chunks differ:\n%s\n--- whole:\n%s", what,
			 buf_str(&other), buf_str(&whole));
	buf_free(&other);
	for (seed = 1; seed <= 8; seed++) {
		other = parse_chunked(data, len, content_type, CHUNK_RANDOM,
				      seed * 0x9E3779B97F4A7C15ull);
		if (strcmp(buf_str(&whole), buf_str(&other)) != 0)
			fail_msg("%s: random chunks (seed %llu) differ:\n%s\n"
				 "--- whole:\n%s",
				 what, (unsigned long long)seed,
				 buf_str(&other), buf_str(&whole));
		buf_free(&other);
	}
	buf_free(&whole);
}

/* ---- streaming ---- */

static void test_push_parser_delivers_in_order(void **state)
{
	static const char xml[] =
		"<?xml version=\"1.0\"?>\n<rss version=\"2.0\"><channel>"
		"<title>Push</title><link>https://push.example.org/</link>"
		"<item><guid>1</guid><title>One</title></item>"
		"<item><guid>2</guid><title>Two</title></item>"
		"<item><guid>3</guid><title>Three</title></item>"
		"</channel></rss>";
	struct dump d = {.stop_after = 0};
	struct feed_parser *p;
	struct feed_info info;
	struct err err = {{0}};

	buf_init(&d.out, BUF_MAX_TEXT);
	p = feed_parser_create(NULL, "application/rss+xml", NULL, dump_item,
			       &d);
	assert_non_null(p);
	/* split inside a tag and inside a name */
	assert_int_equal(feed_parser_push(p, xml, 90, &err), 0);
	assert_int_equal(feed_parser_push(p, xml + 90, 7, &err), 0);
	assert_int_equal(feed_parser_push(p, xml + 97, 0, &err), 0);
	assert_int_equal(feed_parser_push(p, xml + 97, strlen(xml) - 97, &err),
			 0);
	assert_int_equal(feed_parser_finish(p, &info, &err), 0);
	assert_string_equal(err.msg, "");
	assert_int_equal(d.n, 3);
	assert_int_equal(info.format, FEED_FORMAT_RSS20);
	assert_string_equal(info.title, "Push");
	assert_string_equal(info.link, "https://push.example.org/");
	assert_null(info.self);
	assert_non_null(strstr(buf_str(&d.out), "item 1 id=[1]"));
	assert_non_null(strstr(buf_str(&d.out), "item 3 id=[3]"));
	/* finish again: the same answer; push after finish: refused */
	assert_int_equal(feed_parser_finish(p, &info, &err), 0);
	assert_string_equal(info.title, "Push");
	assert_int_equal(feed_parser_push(p, "x", 1, &err), -EINVAL);
	feed_parser_destroy(p);
	buf_free(&d.out);
	feed_parser_destroy(NULL);
}

static void test_push_callback_stops_parse(void **state)
{
	struct dump d = {.stop_after = 2};
	struct feed_parser *p;
	struct feed_info info;
	struct err err = {{0}};
	struct buf xml;
	size_t i;
	int ret = 0;

	/* bigger than a block, so items come out during push */
	buf_init(&xml, BUF_MAX_TEXT);
	assert_int_equal(buf_adds(&xml, "<rss><channel>"), 0);
	for (i = 0; i < 2000; i++)
		assert_int_equal(
			buf_printf(&xml, "<item><guid>%zu</guid></item>\n", i),
			0);
	assert_int_equal(buf_adds(&xml, "</channel></rss>"), 0);
	buf_init(&d.out, BUF_MAX_TEXT);
	p = feed_parser_create(NULL, NULL, NULL, dump_item, &d);
	assert_non_null(p);
	for (i = 0; i < xml.len && !ret; i += 1000)
		ret = feed_parser_push(p, xml.ptr + i,
				       xml.len - i < 1000 ? xml.len - i : 1000,
				       &err);
	assert_int_equal(ret, 7);
	assert_int_equal(d.n, 2);
	/* the parse stays stopped */
	assert_int_equal(feed_parser_push(p, "<item/>", 7, &err), 7);
	assert_int_equal(feed_parser_finish(p, &info, &err), 7);
	assert_int_equal(d.n, 2);
	feed_parser_destroy(p);
	buf_free(&d.out);
	buf_free(&xml);
}

static void test_push_not_a_feed_fails_early(void **state)
{
	static const char html[] =
		"<!DOCTYPE html>\n<html lang=\"en\">\n<head><title>x</title>"
		"</head>\n<body>";
	struct feed_parser *p;
	struct feed_info info;
	struct err err = {{0}};
	struct buf page;
	size_t i;
	int ret = 0;

	/* a big page: the error comes from push, long before the end */
	buf_init(&page, BUF_MAX_TEXT);
	assert_int_equal(buf_adds(&page, html), 0);
	for (i = 0; i < 5000; i++)
		assert_int_equal(
			buf_adds(&page, "<p>Welcome to our blog</p>\n"), 0);
	p = feed_parser_create(NULL, "text/html", NULL, NULL, NULL);
	assert_non_null(p);
	for (i = 0; i < page.len && !ret; i += 4096)
		ret = feed_parser_push(
			p, page.ptr + i,
			page.len - i < 4096 ? page.len - i : 4096, &err);
	assert_int_equal(ret, -EPROTO);
	assert_true(i < page.len);
	assert_string_equal(err.msg, "line 2: not an RSS, Atom or JSON feed "
				     "(root element <html>)");
	assert_int_equal(feed_parser_finish(p, &info, &err), -EPROTO);
	assert_string_equal(err.msg, "line 2: not an RSS, Atom or JSON feed "
				     "(root element <html>)");
	feed_parser_destroy(p);
	buf_free(&page);
}

/* RELIABILITY E6: every fixture gives the same result however it is
 * split: whole, 1 byte at a time, and random chunk sizes. */
static void test_chunk_boundary_invariance(void **state)
{
	const char *dir = getenv("DATA_DIR");
	char path[1024];
	struct dirent *e;
	size_t len, n = 0;
	char *data;
	DIR *d;

	snprintf(path, sizeof(path), "%s/feeds", dir ? dir : "tests/data");
	d = opendir(path);
	assert_non_null(d);
	for (e = readdir(d); e; e = readdir(d)) {
		if (e->d_name[0] == '.')
			continue;
		data = load(e->d_name, &len);
		expect_same_chunked(e->d_name, data, len, NULL);
		if (!strncmp(e->d_name, "enc_", 4))
			expect_same_chunked(e->d_name, data, len,
					    "text/xml; charset=windows-1252");
		free(data);
		n++;
	}
	closedir(d);
	assert_true(n >= 25);
}

/* The same on a generated document bigger than the internal slices and
 * blocks, full of what is hard to split: multi-byte UTF-8 in text, in
 * CDATA and in names, entities of every kind, comments, a DTD. */
static void test_chunk_invariance_large_document(void **state)
{
	struct buf xml;
	size_t i;

	buf_init(&xml, BUF_MAX_TEXT);
	assert_int_equal(
		buf_adds(
			&xml,
			"\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"utf-8\"?>"
			"\n<!DOCTYPE rss [\n<!ENTITY org \"North &amp; "
			"East\">\n<!ENTITY ext SYSTEM \"file:///etc/passwd\">"
			"\n<!-- a ]> comment -->\n]>\n<rss version=\"2.0\" "
			"xmlns:dc=\"http://purl.org/dc/elements/1.1/\">"
			"<channel><title>&org; caf\xC3\xA9</title>\n"),
		0);
	for (i = 0; i < 1000; i++)
		assert_int_equal(
			buf_printf(
				&xml,
				"<item><guid>g-%zu</guid><title>&org;&nbsp;"
				"\xE2\x80\x9C%zu\xE2\x80\x9D &#x1F600; &#146;"
				" Q&A &ext;</title><!-- c%zu --><description>"
				"<![CDATA[<p>Caf\xC3\xA9 \xF0\x9F\x98\x80 "
				"<b>%zu</b> ]] "
				"]]]></p>]]>&lt;i&gt;more&lt;/i&gt;"
				"</description><dc:creator>J\xC3\xB6rg</"
				"dc:creator>"
				"<pubDate>Mon, 16 Nov 2026 09:30:%02zu GMT"
				"</pubDate></item>\n",
				i, i, i, i, i % 60),
			0);
	assert_int_equal(buf_adds(&xml, "</channel></rss>\n"), 0);
	assert_true(xml.len > 3 * 64 * 1024);
	expect_same_chunked("generated", xml.ptr, xml.len, NULL);
	/* and cut short at an awkward place */
	expect_same_chunked("generated, cut", xml.ptr, xml.len / 2 + 3, NULL);
	buf_free(&xml);
}

/* ---- bounded memory ---- */

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif

#ifdef TEST_ASAN
size_t __sanitizer_get_current_allocated_bytes(void);
#endif

/* Bytes the process has allocated and not freed; 0 where that cannot
 * be told (under valgrind). */
static size_t heap_in_use(void)
{
#ifdef TEST_ASAN
	return __sanitizer_get_current_allocated_bytes();
#else
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
#endif
}

#ifndef TEST_ASAN
static bool under_valgrind(void)
{
	const char *pre = getenv("LD_PRELOAD");

	return pre && strstr(pre, "vgpreload");
}
#endif

/* Resident set size now, in KiB (from /proc/self/statm), or 0. */
static long rss_kib(void)
{
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f)
		return 0;
	if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
		resident = 0;
	fclose(f);
	return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

struct mem_probe {
	size_t n;
	size_t base;
	size_t peak;
	long rss_peak;
	size_t last_id;
	bool ids_ok;
};

static int count_item(const struct feed_item *it, void *arg)
{
	struct mem_probe *m = arg;
	size_t heap;
	char want[32];

	snprintf(want, sizeof(want), "tag:big,2026:%zu", m->n);
	if (strcmp(it->id, want) != 0)
		m->ids_ok = false;
	m->n++;
	if (m->n % 1000 == 0) {
		heap = heap_in_use();
		if (heap > m->peak)
			m->peak = heap;
		if (rss_kib() > m->rss_peak)
			m->rss_peak = rss_kib();
	}
	return 0;
}

/* Generates a feed of n_items items (about 200 bytes each) in memory,
 * 64 KiB at a time as a network would deliver it, and pushes it. */
static void push_generated(struct feed_parser *p, size_t n_items, size_t *bytes)
{
	struct err err = {{0}};
	struct buf chunk;
	size_t i;

	*bytes = 0;
	buf_init(&chunk, 1 << 20);
	assert_int_equal(buf_adds(&chunk, "<?xml version=\"1.0\"?>\n<rss "
					  "version=\"2.0\"><channel><title>"
					  "Big</title>\n"),
			 0);
	for (i = 0; i < n_items; i++) {
		assert_int_equal(
			buf_printf(&chunk,
				   "<item><title>Item %zu: caseloads and the "
				   "red zone</title><link>https://big.example."
				   "org/p/%zu.html</link><guid>tag:big,2026:%zu"
				   "</guid><pubDate>Mon, 16 Nov 2026 09:30:00 "
				   "GMT</pubDate><description>Teams report "
				   "caseloads above target.</description>"
				   "</item>\n",
				   i, i, i),
			0);
		if (chunk.len >= 64 * 1024) {
			assert_int_equal(
				feed_parser_push(p, chunk.ptr, chunk.len, &err),
				0);
			*bytes += chunk.len;
			buf_reset(&chunk);
		}
	}
	assert_int_equal(buf_adds(&chunk, "</channel></rss>\n"), 0);
	assert_int_equal(feed_parser_push(p, chunk.ptr, chunk.len, &err), 0);
	*bytes += chunk.len;
	buf_free(&chunk);
}

/* A ~20 MB document with 100,000 items: every item comes out, and
 * neither the heap nor the resident set grows with the document. */
static void test_bounded_memory_100k_items(void **state)
{
	struct feed_limits limits = {.max_items = 200000};
	struct mem_probe m = {.ids_ok = true};
	struct feed_parser *p;
	struct feed_info info;
	struct err err = {{0}};
	long rss0;
	size_t bytes, after;

	m.base = heap_in_use();
	m.peak = m.base;
	rss0 = rss_kib();
	m.rss_peak = rss0;
	p = feed_parser_create(NULL, NULL, &limits, count_item, &m);
	assert_non_null(p);
	push_generated(p, 100000, &bytes);
	assert_int_equal(feed_parser_finish(p, &info, &err), 0);
	assert_string_equal(err.msg, "");
	assert_string_equal(info.title, "Big");
	feed_parser_destroy(p);
	after = heap_in_use();
	assert_true(bytes > 20u * 1000 * 1000);
	assert_int_equal(m.n, 100000);
	assert_true(m.ids_ok);
	if (m.base > 0) {
		print_message(
			"      %zu bytes, 100000 items: heap peak %zu KiB "
			"above the start, %zu KiB after destroy; RSS "
			"peak +%ld KiB\n",
			bytes, (m.peak - m.base) >> 10,
			after > m.base ? (after - m.base) >> 10 : 0,
			m.rss_peak - rss0);
		assert_true(m.peak - m.base < 8u << 20);
		assert_true(after < m.base + (256u << 10));
	}
#ifndef TEST_ASAN
	/* ASan's quarantine and valgrind hold freed memory: RSS says
	 * nothing there. Elsewhere the whole process stays small. */
	if (!under_valgrind())
		assert_true(m.rss_peak - rss0 < 32 * 1024);
#endif
}

/* Items past max_items are skipped, not built: fast, and the count is
 * exact. */
static void test_items_over_limit_skipped(void **state)
{
	struct feed_limits limits = {.max_items = 10};
	struct mem_probe m = {.ids_ok = true};
	struct feed_parser *p;
	struct feed_info info;
	struct err err = {{0}};
	struct timespec t0, t1;
	size_t bytes;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	p = feed_parser_create(NULL, NULL, &limits, count_item, &m);
	assert_non_null(p);
	push_generated(p, 20000, &bytes);
	assert_int_equal(feed_parser_finish(p, &info, &err), 0);
	feed_parser_destroy(p);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(m.n, 10);
	assert_true(m.ids_ok);
	assert_true((double)(t1.tv_sec - t0.tv_sec) +
			    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9 <
		    10.0);
}

/* ---- extensions and identity ---- */

static void test_rss20_extensions(void **state)
{
	struct feed *f = parse_file("rss20_extensions.xml", NULL);
	struct feed_item *it;

	assert_int_equal(f->format, FEED_FORMAT_RSS20);
	assert_string_equal(f->title, "Reps' Bulletin");
	/* "./" against the channel's xml:base */
	assert_string_equal(f->link, "https://reps.example.org/news/");
	assert_int_equal(f->n_items, 4);

	it = &f->items[0];
	assert_string_equal(it->id, "reps-2026-12-rota");
	assert_string_equal(it->link,
			    "https://reps.example.org/news/2026/12/rota.html");
	assert_string_equal(it->author, "Jo Adeyemi"); /* dc:creator */
	assert_int_equal(it->published, 1796112000);   /* dc:date */
	assert_int_equal(it->comments, 7);	       /* slash:comments */
	assert_string_equal(it->summary, "Short version.");
	/* content:encoded, an image as its alt text (no links here) */
	assert_string_equal(it->content, "The long version.\n\nRota chart");
	assert_null(it->in_reply_to);

	it = &f->items[1];
	/* atom:link alternate, against the item's own xml:base */
	assert_string_equal(
		it->link, "https://archive.example.org/2026/archive-move.html");
	assert_string_equal(it->id, it->link);

	it = &f->items[2];
	/* <link> wins over atom:link in RSS, whatever the order */
	assert_string_equal(it->link,
			    "https://reps.example.org/2026/12/native.html");

	it = &f->items[3];
	assert_null(it->link);
	assert_string_equal(it->id,
			    "sha256:e296856b5d4e7bda0321ddb2a1eff7c81568640733e"
			    "91ba43bd6733e142d014a");
	feed_destroy(f);
}

static void test_self_link_and_base(void **state)
{
	static const char xml[] =
		"<rss xmlns:atom=\"http://www.w3.org/2005/Atom\"><channel>"
		"<atom:link rel=\"self\" href=\"https://s.example.org/a/feed."
		"xml\"/><link>/</link><item><link>p/1</link></item></channel>"
		"</rss>";
	struct buf out;
	struct feed *f;

	/* no base from the caller: the channel's rel="self" serves */
	f = parse_str(xml);
	assert_string_equal(f->link, "https://s.example.org/");
	assert_string_equal(f->items[0].link, "https://s.example.org/a/p/1");
	feed_destroy(f);

	/* hrefs in raw (unescaped) HTML are made absolute too, so that
	 * html2text can list them */
	f = parse_str("<rss><channel><item xml:base=\"https://r.example.org/"
		      "blog/\"><description><p>See <a href=\"report.html\">"
		      "the report</a>.</p></description></item></channel>"
		      "</rss>");
	assert_non_null(strstr(f->items[0].summary, "See the report"));
	assert_non_null(strstr(f->items[0].summary,
			       "https://r.example.org/blog/report.html"));
	feed_destroy(f);
	/* the caller's base wins; self is reported in feed_info */
	out = parse_chunked(xml, strlen(xml), NULL, CHUNK_WHOLE, 0);
	assert_non_null(strstr(buf_str(&out), "link=[https://feeds.example."
					      "org/dir/p/1]"));
	assert_non_null(strstr(buf_str(&out), "self=[https://s.example.org/"
					      "a/feed.xml]"));
	buf_free(&out);
}

static void test_blogger_posts(void **state)
{
	struct feed *f = parse_file("blogger_posts.xml", NULL);
	struct feed_item *it;

	assert_int_equal(f->format, FEED_FORMAT_ATOM10);
	assert_string_equal(f->title, "Probation Matters");
	assert_string_equal(f->link, "https://probationmatters.example.com/");
	assert_int_equal(f->n_items, 2);
	it = &f->items[0];
	assert_string_equal(it->id, "tag:blogger.com,1999:blog-4711.post-9001");
	assert_string_equal(
		it->link,
		"https://probationmatters.example.com/2026/11/caseloads.html");
	assert_string_equal(it->title,
			    "Caseloads: the numbers they don't publish");
	assert_string_equal(it->author, "Jim Brown");
	assert_int_equal(it->published, 1795197720);
	assert_int_equal(it->comments, 12);
	assert_null(it->in_reply_to);
	assert_string_equal(it->content,
			    "Staff in three offices tell me caseloads are "
			    "worse than reported \u2013 again.\n\nMore soon.");
	assert_int_equal(it->n_categories, 2);
	assert_string_equal(it->categories[1], "omnishambles");
	assert_int_equal(f->items[1].comments, 0);
	feed_destroy(f);
}

static void test_blogger_comment_feed(void **state)
{
	struct feed *f = parse_file("blogger_comments.xml", NULL);
	struct feed_item *it;

	assert_int_equal(f->n_items, 2);
	it = &f->items[0];
	assert_string_equal(it->id, "tag:blogger.com,1999:blog-4711.post-7001");
	assert_string_equal(it->in_reply_to,
			    "tag:blogger.com,1999:blog-4711.post-9001");
	/* the comment's own page, not the post's */
	assert_string_equal(it->link,
			    "https://probationmatters.example.com/2026/11/"
			    "caseloads.html?showComment=1795251600000#c7001");
	assert_string_equal(it->author, "Anonymous");
	assert_string_equal(it->content, "Same here. Our office is at 160%."
					 "\n\nNobody upstairs is listening.");
	assert_string_equal(f->items[1].in_reply_to,
			    "tag:blogger.com,1999:blog-4711.post-9001");
	assert_string_equal(f->items[1].author, "Sue");
	feed_destroy(f);

	/* without ref, the href names the post */
	f = parse_str("<feed xmlns=\"http://www.w3.org/2005/Atom\" xmlns:thr="
		      "\"http://purl.org/syndication/thread/1.0\"><entry><id>c"
		      "</id><thr:in-reply-to href=\"https://b.example/p\"/>"
		      "</entry></feed>");
	assert_string_equal(f->items[0].in_reply_to, "https://b.example/p");
	feed_destroy(f);
}

static void test_hash_id_is_stable(void **state)
{
	struct feed *a, *b, *c;

	a = parse_str("<rss><channel><item><title>Office closed</title>"
		      "<pubDate>Wed, 02 Dec 2026 09:00:00 GMT</pubDate>"
		      "<description>One</description></item></channel></rss>");
	/* same title and instant, different text and date spelling: same
	 * item, edited */
	b = parse_str("<rss><channel><item><title>Office   closed </title>"
		      "<pubDate>2026-12-02T10:00:00+01:00</pubDate>"
		      "<description>Two</description></item></channel></rss>");
	c = parse_str("<rss><channel><item><title>Office closed</title>"
		      "</item></channel></rss>");
	assert_string_equal(a->items[0].id, b->items[0].id);
	assert_int_equal(strlen(a->items[0].id), 7 + 64);
	assert_int_equal(strncmp(a->items[0].id, "sha256:", 7), 0);
	assert_string_not_equal(a->items[0].id, c->items[0].id);
	/* sha256("Office closed\n") */
	assert_string_equal(c->items[0].id,
			    "sha256:7d30e6092844d36d3a463cb0439e6e522dc13136a"
			    "52e89f95126bfa82830ebe0");
	feed_destroy(a);
	feed_destroy(b);
	feed_destroy(c);
}

/* ---- JSON Feed ---- */

static void test_json_feed_11(void **state)
{
	struct feed *f =
		parse_file("jsonfeed11.json", "https://other.example/");
	struct feed_item *it;

	assert_int_equal(f->format, FEED_FORMAT_JSON11);
	assert_string_equal(feed_format_name(f->format), "json11");
	assert_string_equal(f->title, "Union Q&A");
	assert_string_equal(f->link, "https://qa.example.net/");
	assert_int_equal(f->n_items, 4);

	it = &f->items[0];
	assert_string_equal(it->id, "qa-12");
	assert_string_equal(it->link, "https://qa.example.net/12");
	assert_string_equal(it->title, "Can I refuse overtime?");
	assert_string_equal(it->author, "Priya Shah, Sam Okafor");
	assert_string_equal(it->summary, "Usually yes.");
	assert_string_equal(it->content,
			    "Yes, usually.\n\n"
			    "- Check your contract\n- Ask your rep");
	assert_int_equal(it->published, 1794821400);
	assert_int_equal(it->updated, 1794909600);
	assert_int_equal(it->n_categories, 2); /* the repeat dropped */
	assert_string_equal(it->categories[0], "overtime");
	assert_string_equal(it->categories[1], "contracts");

	it = &f->items[1];
	assert_string_equal(it->id, "13"); /* a number, as text */
	assert_string_equal(it->link, "https://news.example.com/story");
	assert_string_equal(it->title, "Pay talks resume");
	assert_string_equal(it->author, "Branch Office"); /* inherited */
	assert_string_equal(it->content,
			    "Talks resume on Monday.\n\nMore to follow.");
	assert_true(it->published == FEED_DATE_NONE);

	it = &f->items[2];
	/* relative url against the base the caller gave */
	assert_string_equal(it->link, "https://other.example/14");
	assert_string_equal(it->id, it->link);
	assert_null(it->title);

	it = &f->items[3];
	assert_string_equal(it->id,
			    "sha256:cf6c31c672bcfa3e359a3c5cdc816cebe2a5"
			    "83ff2f563b8ee65945b249112b9d");
	feed_destroy(f);
}

static void test_json_feed_10(void **state)
{
	struct feed *f = parse_file("jsonfeed10.json", NULL);

	assert_int_equal(f->format, FEED_FORMAT_JSON11);
	assert_int_equal(f->n_items, 2);
	assert_string_equal(f->items[0].author, "Guest Writer");
	assert_int_equal(f->items[0].published, 1556737200);
	assert_string_equal(f->items[1].author, "Editor");
	assert_string_equal(f->items[1].content, "Second & last.");
	feed_destroy(f);
}

static void test_json_feed_errors(void **state)
{
	struct feed_limits limits = {.max_items = 1};
	struct feed *f = NULL;
	struct err err = {{0}};
	static const char two[] =
		"{\"version\": \"https://jsonfeed.org/version/1.1\", "
		"\"items\": [{\"id\": \"a\"}, {\"id\": \"b\"}]}";
	struct buf big;

	fails("{\"version\": \"https://jsonfeed.org/version/1.1\",\n"
	      "\"items\": [\n{\"id\": \"a\"},\n",
	      "line 4: broken JSON: ']' expected near end of file");
	fails("\n{\"version\": \"https://example.org/my-format/1\"}",
	      "line 1: not an RSS, Atom or JSON feed (JSON without a "
	      "jsonfeed.org version)");
	fails("{\"version\": 1.1}", "line 1: not an RSS, Atom or JSON feed "
				    "(JSON without a jsonfeed.org version)");
	/* item limit */
	assert_int_equal(feed_parse(two, strlen(two), NULL, &limits, &f, &err),
			 0);
	assert_int_equal(f->n_items, 1);
	assert_string_equal(f->items[0].id, "a");
	assert_null(f->title);
	feed_destroy(f);
	/* JSON is buffered up to 8 MiB, no further */
	buf_init(&big, 9u << 20);
	assert_int_equal(buf_adds(&big, "{\"version\": \"https://jsonfeed.org/"
					"version/1.1\", \"x\": \""),
			 0);
	while (big.len < (8u << 20) + 10)
		assert_int_equal(buf_adds(&big, "xxxxxxxxxxxxxxxx"), 0);
	parse_fails(big.ptr, big.len, "JSON feed larger than 8 MiB: refused");
	buf_free(&big);
}

/* ---- E5: ill-formed feeds ---- */

static void test_illformed_feeds(void **state)
{
	static const struct {
		const char *file;
		int ret;
		size_t items;
		const char *err;
	} cases[] = {
		{"illformed_unclosed_rss.xml", 0, 2,
		 "line 14: broken XML after 2 complete items (kept): expected "
		 "'>'"},
		{"illformed_stray_end_tag.xml", 0, 1,
		 "line 11: broken XML after 1 complete items (kept): Opening "
		 "and ending tag mismatch: channel line 8 and p"},
		{"illformed_invalid_doctype.xml", 0, 1,
		 "line 7: malformed DOCTYPE ignored"},
		{"illformed_raw_amp_link.xml", 0, 1, ""},
		{"illformed_atom_link_no_href.xml", 0, 1, ""},
		{"illformed_nested_textinput.xml", 0, 1, ""},
		{"truncated.xml", 0, 2,
		 "line 7: broken XML after 2 complete items (kept): Extra "
		 "content at the end of the document (the document is cut "
		 "short: no </rss>)"},
		{"not_a_feed.html", -EPROTO, 0,
		 "line 3: not an RSS, Atom or JSON feed (root element <html>)"},
	};
	struct feed *f;
	struct err err;
	size_t i, len;
	char *data;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		data = load(cases[i].file, &len);
		f = NULL;
		memset(&err, 0, sizeof(err));
		if (feed_parse(data, len, NULL, NULL, &f, &err) != cases[i].ret)
			fail_msg("%s: %s", cases[i].file, err.msg);
		if (strcmp(err.msg, cases[i].err) != 0)
			fail_msg("%s: err \"%s\"", cases[i].file, err.msg);
		if (f && f->n_items != cases[i].items)
			fail_msg("%s: %zu items", cases[i].file, f->n_items);
		feed_destroy(f);
		free(data);
	}

	data = load("illformed_invalid_doctype.xml", &len);
	assert_int_equal(feed_parse(data, len, NULL, NULL, &f, &err), 0);
	free(data);
	assert_int_equal(f->format, FEED_FORMAT_RSS091);
	assert_string_equal(f->items[0].title, "Still here");
	feed_destroy(f);
	f = parse_file("illformed_raw_amp_link.xml", NULL);
	assert_string_equal(f->title, "Pay & Conditions");
	assert_string_equal(f->link,
			    "https://example.org/?section=pay&view=all");
	assert_string_equal(f->items[0].title, "Q&A: nights & weekends");
	assert_string_equal(f->items[0].link, "https://example.org/report?"
					      "year=2026&month=11&page=2");
	feed_destroy(f);
	f = parse_file("illformed_atom_link_no_href.xml", NULL);
	assert_null(f->link);
	assert_null(f->items[0].link);
	assert_string_equal(f->items[0].id,
			    "urn:uuid:9e1b0c2e-0000-4000-8000-000000000003");
	feed_destroy(f);
	f = parse_file("illformed_nested_textinput.xml", NULL);
	assert_string_equal(f->title, "Textinput");
	assert_null(f->link);
	feed_destroy(f);
}

/* E3: limits end the parse cleanly, items before them kept. */
static void test_depth_and_size_limits(void **state)
{
	struct feed *f = NULL;
	struct err err = {{0}};
	struct buf xml;
	size_t i;

	buf_init(&xml, BUF_MAX_TEXT);
	assert_int_equal(buf_adds(&xml, "<rss><channel><item><guid>1</guid>"
					"</item>\n"),
			 0);
	for (i = 0; i < 10000; i++)
		assert_int_equal(buf_adds(&xml, "<div>"), 0);
	assert_int_equal(feed_parse(xml.ptr, xml.len, NULL, NULL, &f, &err), 0);
	assert_string_equal(err.msg, "line 2: broken XML after 1 complete "
				     "items (kept): Excessive depth in "
				     "document: 256");
	assert_int_equal(f->n_items, 1);
	feed_destroy(f);

	/* a 12 MB text node streams through, the field cut at 2 MiB */
	buf_reset(&xml);
	assert_int_equal(buf_adds(&xml, "<rss><channel><item><guid>1</guid>"
					"<description>"),
			 0);
	for (i = 0; i < (12u << 20) / 16; i++)
		assert_int_equal(buf_adds(&xml, "abcdefghijklmno "), 0);
	assert_int_equal(buf_adds(&xml, "</description></item></channel>"
					"</rss>"),
			 0);
	assert_int_equal(feed_parse(xml.ptr, xml.len, NULL, NULL, &f, &err), 0);
	assert_string_equal(err.msg, "");
	assert_int_equal(f->n_items, 1);
	assert_true(strlen(f->items[0].summary) < (2u << 20));
	assert_true(strlen(f->items[0].summary) > (2u << 20) - 32);
	feed_destroy(f);
	buf_free(&xml);
}

/* ---- E4: encodings ---- */

/* Parses a fixture pushed with the given Content-Type; returns the
 * first item's title (free it). */
static char *first_title(const char *name, const char *content_type)
{
	struct dump d = {.stop_after = 0};
	struct feed_parser *p;
	struct feed_info info;
	struct err err = {{0}};
	char *data, *title, *end;
	size_t len;

	data = load(name, &len);
	buf_init(&d.out, BUF_MAX_TEXT);
	p = feed_parser_create(NULL, content_type, NULL, dump_item, &d);
	assert_non_null(p);
	assert_int_equal(feed_parser_push(p, data, len, &err), 0);
	if (feed_parser_finish(p, &info, &err) != 0)
		fail_msg("%s: %s", name, err.msg);
	assert_string_equal(err.msg, "");
	feed_parser_destroy(p);
	free(data);
	title = strstr(buf_str(&d.out), " title=[");
	assert_non_null(title);
	title = strdup(title + 8);
	assert_non_null(title);
	end = strstr(title, "] author=");
	assert_non_null(end);
	*end = '\0';
	buf_free(&d.out);
	return title;
}

static void expect_title(const char *name, const char *content_type,
			 const char *want)
{
	char *got = first_title(name, content_type);

	if (strcmp(got, want) != 0)
		fail_msg("%s (%s): \"%s\", want \"%s\"", name,
			 content_type ? content_type : "no Content-Type", got,
			 want);
	free(got);
}

static void test_encodings(void **state)
{
	/* ISO-8859-1 that is really Windows-1252 */
	expect_title("enc_latin1_cp1252.xml", NULL,
		     "Don\u2019t miss the \u201cpay\u201d meeting \u2013 "
		     "\u20ac5, caf\u00e9");
	/* the declaration beats the HTTP charset */
	expect_title("enc_latin1_cp1252.xml", "text/xml; charset=utf-8",
		     "Don\u2019t miss the \u201cpay\u201d meeting \u2013 "
		     "\u20ac5, caf\u00e9");
	/* a UTF-8 BOM beats the declaration */
	expect_title("enc_utf8_bom_latin1_decl.xml", NULL,
		     "caf\u00e9 \u2013 na\u00efve");
	expect_title("enc_utf8_bom_latin1_decl.xml",
		     "text/xml; charset=iso-8859-1",
		     "caf\u00e9 \u2013 na\u00efve");
	/* UTF-16 both ways, with and without BOM, surrogate pairs */
	expect_title("enc_utf16le_bom.xml", NULL,
		     "Caf\u00e9 \u2615 \U0001D11E \u2013 ok");
	expect_title("enc_utf16be_bom.xml", NULL,
		     "Caf\u00e9 \u2615 \U0001D11E \u2013 ok");
	expect_title("enc_utf16le_nobom.xml", NULL,
		     "Caf\u00e9 \u2615 \U0001D11E \u2013 ok");
	/* bad bytes and references: U+FFFD each */
	expect_title("enc_invalid_bytes.xml", NULL,
		     "a\ufffd\ufffdb\ufffd\ufffd\ufffdc\ufffdd\ufffd\ufffd e "
		     "\ufffd\ufffd\ufffd \U0001F600");
	/* no declaration: the Content-Type's charset, else UTF-8 */
	expect_title("enc_no_declaration_1252.xml",
		     "application/rss+xml; charset=\"windows-1252\"",
		     "\u201cquoted\u201d");
	expect_title("enc_no_declaration_1252.xml",
		     "text/xml;charset=ISO-8859-1", "\u201cquoted\u201d");
	expect_title("enc_no_declaration_1252.xml", "text/xml",
		     "\ufffdquoted\ufffd");
	expect_title("enc_no_declaration_1252.xml", NULL, "\ufffdquoted\ufffd");
}

/* Whatever comes in, what comes out is valid UTF-8. */
static void test_output_always_utf8(void **state)
{
	static const char *const labels[] = {
		"UTF-8",  "ISO-8859-1", "Shift_JIS",
		"UTF-16", "KOI8-R",	"x-unknown",
	};
	struct dump d = {.stop_after = 0};
	struct feed_parser *p;
	struct feed_info info;
	struct err err = {{0}};
	uint64_t seed = 42;
	struct buf xml;
	size_t i, k;
	uint32_t cp;
	size_t n;
	const unsigned char *s;

	buf_init(&xml, BUF_MAX_TEXT);
	for (i = 0; i < sizeof(labels) / sizeof(labels[0]); i++) {
		buf_reset(&xml);
		assert_int_equal(buf_printf(&xml,
					    "<?xml version=\"1.0\" "
					    "encoding=\"%s\"?><rss>"
					    "<channel><item><title>",
					    labels[i]),
				 0);
		for (k = 0; k < 2000; k++) {
			char c = (char)(rng_next(&seed) & 0xFF);

			/* keep the markup intact */
			if (c == '<' || c == '&')
				c = 'x';
			assert_int_equal(buf_addc(&xml, c), 0);
		}
		assert_int_equal(buf_adds(&xml, "</title></item></channel>"
						"</rss>"),
				 0);
		buf_init(&d.out, BUF_MAX_TEXT);
		d.n = 0;
		p = feed_parser_create(NULL, NULL, NULL, dump_item, &d);
		assert_non_null(p);
		feed_parser_push(p, xml.ptr, xml.len, &err);
		feed_parser_finish(p, &info, &err);
		feed_parser_destroy(p);
		s = (const unsigned char *)buf_str(&d.out);
		for (k = 0; k < d.out.len; k += n) {
			n = text_utf8_decode(s + k, d.out.len - k, &cp);
			if (n == 0)
				fail_msg("%s: invalid UTF-8 at %zu", labels[i],
					 k);
		}
		buf_free(&d.out);
	}
	buf_free(&xml);
}

static void test_destroy_null(void **state)
{
	feed_destroy(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rss20_staff_news),
		cmocka_unit_test(test_atom10_xhtml_and_relative_links),
		cmocka_unit_test(test_rss10_rdf),
		cmocka_unit_test(test_format_detection),
		cmocka_unit_test(test_rss090_items),
		cmocka_unit_test(test_atom03_content_modes),
		cmocka_unit_test(test_html_entities_without_dtd),
		cmocka_unit_test(test_declared_entities),
		cmocka_unit_test(test_not_a_feed),
		cmocka_unit_test(test_truncated_keeps_complete_items),
		cmocka_unit_test(test_truncated_before_any_item_fails),
		cmocka_unit_test(test_broken_xml_names_line),
		cmocka_unit_test(test_xxe_is_not_read),
		cmocka_unit_test(test_billion_laughs_fails_fast),
		cmocka_unit_test(test_entity_bomb_in_attribute_default),
		cmocka_unit_test(test_quadratic_blowup_refused),
		cmocka_unit_test(test_invalid_utf8_replaced),
		cmocka_unit_test(test_latin1_document),
		cmocka_unit_test(test_other_encodings),
		cmocka_unit_test(test_max_items),
		cmocka_unit_test(test_guid_permalink_and_empty_items),
		cmocka_unit_test(test_undeclared_prefixes_and_raw_html),
		cmocka_unit_test(test_relative_links_without_base),
		cmocka_unit_test(test_atom_text_types),
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_destroy_null),
		cmocka_unit_test(test_push_parser_delivers_in_order),
		cmocka_unit_test(test_push_callback_stops_parse),
		cmocka_unit_test(test_push_not_a_feed_fails_early),
		cmocka_unit_test(test_chunk_boundary_invariance),
		cmocka_unit_test(test_chunk_invariance_large_document),
		cmocka_unit_test(test_bounded_memory_100k_items),
		cmocka_unit_test(test_items_over_limit_skipped),
		cmocka_unit_test(test_rss20_extensions),
		cmocka_unit_test(test_self_link_and_base),
		cmocka_unit_test(test_blogger_posts),
		cmocka_unit_test(test_blogger_comment_feed),
		cmocka_unit_test(test_hash_id_is_stable),
		cmocka_unit_test(test_json_feed_11),
		cmocka_unit_test(test_json_feed_10),
		cmocka_unit_test(test_json_feed_errors),
		cmocka_unit_test(test_illformed_feeds),
		cmocka_unit_test(test_depth_and_size_limits),
		cmocka_unit_test(test_encodings),
		cmocka_unit_test(test_output_always_utf8),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
