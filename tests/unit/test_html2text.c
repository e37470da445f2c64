/*
 * test_html2text: exact renderings of HTML fragments: paragraphs, line
 * breaks, lists, dropped elements, entities, whitespace, deep nesting,
 * invalid UTF-8 and the output cap.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "html2text.h"

/* Renders html and compares with want exactly. */
static void check(const char *html, const char *want)
{
	struct buf out;
	int ret;

	buf_init(&out, BUF_MAX_TEXT);
	ret = html2text(html, strlen(html), &out);
	assert_int_equal(ret, 0);
	assert_string_equal(buf_str(&out), want);
	buf_free(&out);
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

static void test_whitespace(void **state)
{
	check("  lots   of\n\n\tspace  ", "lots of space");
	check("<b>bold</b> <i>italic</i> <a href=\"/x\">link</a>",
	      "bold italic link");
	check("<span>no</span><span>gap</span>", "nogap");
	check("<p>  padded  </p>", "padded");
}

static void test_links_keep_text(void **state)
{
	check("See <a href=\"https://example.org/report\">the report</a>.",
	      "See the report.");
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paragraphs),
		cmocka_unit_test(test_line_breaks),
		cmocka_unit_test(test_lists),
		cmocka_unit_test(test_dropped_elements),
		cmocka_unit_test(test_entities),
		cmocka_unit_test(test_whitespace),
		cmocka_unit_test(test_links_keep_text),
		cmocka_unit_test(test_images_alt),
		cmocka_unit_test(test_pre),
		cmocka_unit_test(test_tables),
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_embedded_nul_and_controls),
		cmocka_unit_test(test_meta_charset_ignored),
		cmocka_unit_test(test_empty_input),
		cmocka_unit_test(test_appends),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_cap_counts_output_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
