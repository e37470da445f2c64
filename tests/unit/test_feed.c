/*
 * test_feed: RSS 2.0, Atom 1.0 and RSS 1.0 fixtures from
 * tests/data/feeds/ parsed field by field; format detection; HTML
 * entities without a DTD; hostile input (XXE, entity bombs, not a feed,
 * truncated or broken XML, bad UTF-8); item limits; the date table.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "feed.h"

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
	assert_string_equal(it->content, "First, the WMT figures & what they "
					 "mean.\n\n- Breaks\n- Overtime");
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

	parse_fails(html, len,
		    "line 3: not an RSS or Atom feed (root element <html>)");
	free(html);
	/* well-formed, wrong root */
	fails("<?xml version=\"1.0\"?>\n\n<opml version=\"2.0\">\n<body/>"
	      "\n\n</opml>\n",
	      "line 3: not an RSS or Atom feed (root element <opml>)");
	fails("<feed xmlns=\"urn:other\"/>",
	      "line 1: not an RSS or Atom feed (root element <feed>)");
	fails("<!-- x -->\n<!DOCTYPE html [ <!ENTITY a \"b\"> ]>\n"
	      "<html><br></html>",
	      "line 3: not an RSS or Atom feed (root element <html>)");
	fails("{\"version\": \"https://jsonfeed.org/version/1.1\"}",
	      "line 1: not an RSS or Atom feed (not XML: starts with '{')");
	fails("", "line 1: not an RSS or Atom feed (empty document)");
	fails(" \n\t", "line 1: not an RSS or Atom feed (empty document)");
	parse_fails(NULL, 0,
		    "line 1: not an RSS or Atom feed (empty document)");
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

	/* The bomb sits where only libxml2 reads it: its own limits
	 * catch it, and the parse fails cleanly. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	fails(xml, "line 12: broken XML: Detected an entity reference loop");
	assert_true(seconds_since(&t0) < 1.0);
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
	struct feed *f;
	struct err err = {{0}};
	int ret;

	f = parse_str("<?xml version=\"1.0\" encoding=\"Shift_JIS\"?>\n"
		      "<rss><channel><title>\x93\xfa\x96\x7b</title>"
		      "</channel></rss>");
	assert_string_equal(f->title, "\u65e5\u672c");
	feed_destroy(f);

	/* bytes that are not Shift_JIS: a clean error, and libxml2's
	 * converters print nothing on stderr */
	assert_int_equal(
		parse_stderr_bytes(
			"<?xml version=\"1.0\" encoding=\"Shift_JIS\"?>"
			"\n<rss><channel><title>Caf\xe9 \x80\xff"
			"</title></channel></rss>",
			&ret, &err),
		0);
	assert_int_equal(ret, -EPROTO);
	assert_non_null(strstr(err.msg, ": broken XML: input conversion "
					"failed due to input error"));
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
