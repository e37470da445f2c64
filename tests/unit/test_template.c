/*
 * Unit tests for template: parse errors (exact messages and lines),
 * sections, inverted sections, lookup outwards, the standalone-line
 * rule, HTML escaping, and values that look like tags.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "template.h"

static const char *data_dir(void)
{
	const char *d = getenv("DATA_DIR");

	return d ? d : "tests/data";
}

/* Renders text over d and checks the output exactly. */
static void check_render(const char *text, enum tmpl_escape esc,
			 const struct tmpl_data *d, const char *expected)
{
	struct err err = {{0}};
	struct tmpl *t;
	struct buf out;

	t = tmpl_parse(text, strlen(text), "t.txt", esc, &err);
	if (!t)
		fail_msg("parse failed: %s", err.msg);
	buf_init(&out, BUF_MAX_TEXT);
	assert_int_equal(tmpl_render(t, d, &out), 0);
	assert_string_equal(buf_str(&out), expected);
	buf_free(&out);
	tmpl_destroy(t);
}

static void check_error(const char *text, const char *expected)
{
	struct err err = {{0}};
	struct tmpl *t;

	t = tmpl_parse(text, strlen(text), "t.txt", TMPL_TEXT, &err);
	assert_null(t);
	assert_string_equal(err.msg, expected);
}

static void test_plain_text_and_values(void **state)
{
	struct tmpl_data *d = tmpl_data_create();

	assert_non_null(d);
	assert_int_equal(tmpl_data_set(d, "name", "Ann"), 0);
	assert_int_equal(tmpl_data_setf(d, "n", "%d items", 3), 0);
	check_render("no tags at all\n", TMPL_TEXT, d, "no tags at all\n");
	check_render("Hello {{name}}, {{ n }}!{{missing}}", TMPL_TEXT, d,
		     "Hello Ann, 3 items!");
	check_render("", TMPL_TEXT, d, "");
	check_render("single { and } braces", TMPL_TEXT, d,
		     "single { and } braces");
	/* A later set replaces the value. */
	assert_int_equal(tmpl_data_set(d, "name", "Bea"), 0);
	check_render("{{name}}", TMPL_TEXT, d, "Bea");
	tmpl_data_destroy(d);
}

static void test_sections_over_lists(void **state)
{
	struct tmpl_data *d = tmpl_data_create();
	const char *names[] = {"one", "two", "three"};

	for (size_t i = 0; i < 3; i++) {
		struct tmpl_data *e = tmpl_data_add(d, "items");

		assert_non_null(e);
		assert_int_equal(tmpl_data_set(e, "name", names[i]), 0);
	}
	check_render("[{{#items}}<{{name}}>{{/items}}]", TMPL_TEXT, d,
		     "[<one><two><three>]");
	/* A section over a missing name shows nothing. */
	check_render("[{{#nothing}}x{{/nothing}}]", TMPL_TEXT, d, "[]");
	/* An inverted section over a non-empty list shows nothing. */
	check_render("[{{^items}}none{{/items}}]", TMPL_TEXT, d, "[]");
	tmpl_data_destroy(d);
}

static void test_sections_over_values(void **state)
{
	struct tmpl_data *d = tmpl_data_create();

	assert_int_equal(tmpl_data_set(d, "yes", "1"), 0);
	assert_int_equal(tmpl_data_set(d, "empty", ""), 0);
	check_render("{{#yes}}shown {{yes}}{{/yes}}", TMPL_TEXT, d, "shown 1");
	check_render("{{#empty}}hidden{{/empty}}", TMPL_TEXT, d, "");
	check_render("{{^empty}}empty{{/empty}}", TMPL_TEXT, d, "empty");
	check_render("{{^missing}}missing{{/missing}}", TMPL_TEXT, d,
		     "missing");
	check_render("{{^yes}}no{{/yes}}", TMPL_TEXT, d, "");
	/* A value that becomes a list. */
	assert_non_null(tmpl_data_add(d, "yes"));
	check_render("{{#yes}}entry{{/yes}}|{{yes}}|", TMPL_TEXT, d, "entry||");
	tmpl_data_destroy(d);
}

static void test_lookup_walks_outwards(void **state)
{
	struct tmpl_data *d = tmpl_data_create();
	struct tmpl_data *g, *r;

	assert_int_equal(tmpl_data_set(d, "list", "Staff news"), 0);
	assert_int_equal(tmpl_data_set(d, "label", "root"), 0);
	g = tmpl_data_add(d, "groups");
	assert_int_equal(tmpl_data_set(g, "group", "Pay"), 0);
	r = tmpl_data_add(g, "rows");
	assert_int_equal(tmpl_data_set(r, "row", "a"), 0);
	r = tmpl_data_add(g, "rows");
	assert_int_equal(tmpl_data_set(r, "row", "b"), 0);
	/* The inner entry's own value hides the outer one. */
	assert_int_equal(tmpl_data_set(r, "label", "inner"), 0);
	check_render("{{#groups}}{{#rows}}{{list}}/{{group}}/{{row}}/"
		     "{{label}};{{/rows}}{{/groups}}",
		     TMPL_TEXT, d,
		     "Staff news/Pay/a/root;Staff news/Pay/b/inner;");
	/* An empty value in an inner entry stops the lookup there. */
	assert_int_equal(tmpl_data_set(r, "list", ""), 0);
	check_render("{{#groups}}{{#rows}}[{{list}}]{{/rows}}{{/groups}}",
		     TMPL_TEXT, d, "[Staff news][]");
	tmpl_data_destroy(d);
}

static void test_standalone_lines_disappear(void **state)
{
	struct tmpl_data *d = tmpl_data_create();
	struct tmpl_data *e;

	assert_int_equal(tmpl_data_set(d, "v", "V"), 0);
	assert_int_equal(tmpl_data_set(d, "empty", ""), 0);
	e = tmpl_data_add(d, "l");
	assert_int_equal(tmpl_data_set(e, "x", "1"), 0);
	e = tmpl_data_add(d, "l");
	assert_int_equal(tmpl_data_set(e, "x", "2"), 0);

	check_render("a\n{{#l}}\nx={{x}}\n{{/l}}\nb\n", TMPL_TEXT, d,
		     "a\nx=1\nx=2\nb\n");
	/* Indented tags with trailing blanks, and a comment line. */
	check_render("a\n  {{#l}}  \n\t{{! note }}\t\n{{x}}\n {{/l}}\nb",
		     TMPL_TEXT, d, "a\n1\n2\nb");
	/* CRLF lines; the last line without a newline. */
	check_render("a\r\n{{#v}}\r\nb\r\n{{/v}}", TMPL_TEXT, d, "a\r\nb\r\n");
	/* A tag sharing its line with text is not standalone. */
	check_render("a {{#v}}b{{/v}} c\n", TMPL_TEXT, d, "a b c\n");
	check_render("{{#v}} x\n{{/v}}", TMPL_TEXT, d, " x\n");
	/* Two tags on one line are not standalone either. */
	check_render("a\n{{#v}}{{/v}}\nb", TMPL_TEXT, d, "a\n\nb");
	/* A variable alone on its line keeps the line, even when empty. */
	check_render("a\n{{empty}}\nb", TMPL_TEXT, d, "a\n\nb");
	/* A multi-line comment alone on its lines goes entirely. */
	check_render("a\n{{! one\n two }}\nb", TMPL_TEXT, d, "a\nb");
	/* An inverted section's tags go too, whether shown or not. */
	check_render("a\n{{^empty}}\nshown\n{{/empty}}\n{{^v}}\nhidden\n"
		     "{{/v}}\nb\n",
		     TMPL_TEXT, d, "a\nshown\nb\n");
	tmpl_data_destroy(d);
}

static void test_html_escaping(void **state)
{
	struct tmpl_data *d = tmpl_data_create();

	assert_int_equal(
		tmpl_data_set(d, "v", "<a href=\"x\">Tom & 'Jerry'</a>"), 0);
	check_render("<p>{{v}}</p>", TMPL_HTML, d,
		     "<p>&lt;a href=&quot;x&quot;&gt;Tom &amp; "
		     "&#39;Jerry&#39;&lt;/a&gt;</p>");
	check_render("<p>{{v}}</p>", TMPL_TEXT, d,
		     "<p><a href=\"x\">Tom & 'Jerry'</a></p>");
	tmpl_data_destroy(d);
}

static void test_values_are_never_parsed(void **state)
{
	struct tmpl_data *d = tmpl_data_create();

	assert_int_equal(tmpl_data_set(d, "a", "{{b}} and {{#b}}x{{/b}}"), 0);
	assert_int_equal(tmpl_data_set(d, "b", "SECRET"), 0);
	assert_int_equal(tmpl_data_set(d, "c", "{{"), 0);
	check_render("[{{a}}][{{c}}]", TMPL_TEXT, d,
		     "[{{b}} and {{#b}}x{{/b}}][{{]");
	check_render("{{a}}", TMPL_HTML, d, "{{b}} and {{#b}}x{{/b}}");
	tmpl_data_destroy(d);
}

static void test_parse_errors(void **state)
{
	check_error("a\n{{#themes}}\nb\n",
		    "t.txt:2: unclosed section {{#themes}} opened here");
	check_error("{{#a}}\n{{^b}}\n",
		    "t.txt:2: unclosed section {{^b}} opened here");
	check_error("{{#a}}\n{{#b}}\nx\n{{/a}}\n{{/b}}\n",
		    "t.txt:4: mismatched {{/a}}, expected {{/b}}");
	check_error("x\ny {{name\n}}\n", "t.txt:2: unterminated tag");
	check_error("x\n\n{{#a}}{{/a}} {{b", "t.txt:3: unterminated tag");
	check_error("{{! never closed\n", "t.txt:1: unterminated tag");
	check_error("one\n{{ }}", "t.txt:2: empty name in tag");
	check_error("{{#}}{{/}}", "t.txt:1: empty name in tag");
	check_error("{{/a}}", "t.txt:1: {{/a}} closes no open section");
	check_error("{{a b}}",
		    "t.txt:1: invalid name 'a b' in tag: use letters, digits "
		    "and _");
	check_error("{{{raw}}}",
		    "t.txt:1: invalid name '{raw' in tag: use letters, digits "
		    "and _");
	/* Line numbers count lines inside a multi-line comment. */
	check_error("{{! one\ntwo\n}}\n{{#x}}\n",
		    "t.txt:4: unclosed section {{#x}} opened here");
}

static void test_nesting_limit(void **state)
{
	struct buf b;
	struct err err = {{0}};
	struct tmpl *t;

	buf_init(&b, BUF_MAX_TEXT);
	for (int i = 0; i < 33; i++)
		assert_int_equal(buf_printf(&b, "{{#s%d}}", i), 0);
	t = tmpl_parse(buf_str(&b), b.len, "deep", TMPL_TEXT, &err);
	assert_null(t);
	assert_string_equal(err.msg, "deep:1: sections nested more than 32 "
				     "deep");
	buf_free(&b);
}

static void test_load_file(void **state)
{
	char path[1024], expected_path[1024];
	struct err err = {{0}};
	struct tmpl_data *d = tmpl_data_create();
	struct tmpl_data *g, *r;
	struct tmpl *t, *t2;
	struct buf out;
	FILE *f;
	char expected[4096];
	size_t n;

	snprintf(path, sizeof(path), "%s/template/weekly.txt", data_dir());
	snprintf(expected_path, sizeof(expected_path), "%s/template/weekly.out",
		 data_dir());
	t = tmpl_load(path, TMPL_TEXT, &err);
	if (!t)
		fail_msg("%s", err.msg);
	assert_int_equal(tmpl_data_set(d, "title", "Staff news"), 0);
	assert_int_equal(tmpl_data_set(d, "when", "this week"), 0);
	assert_int_equal(tmpl_data_set(d, "who", "{{who}}"), 0);
	g = tmpl_data_add(d, "groups");
	assert_int_equal(tmpl_data_set(g, "name", "Workload"), 0);
	r = tmpl_data_add(g, "rows");
	assert_int_equal(tmpl_data_set(r, "text", "Caseloads up"), 0);
	r = tmpl_data_add(g, "rows");
	assert_int_equal(tmpl_data_set(r, "text", "Rota {{changes}} & more"),
			 0);
	g = tmpl_data_add(d, "groups");
	assert_int_equal(tmpl_data_set(g, "name", "Pay"), 0);
	assert_int_equal(tmpl_data_set(g, "rows", ""), 0);

	buf_init(&out, BUF_MAX_TEXT);
	assert_int_equal(tmpl_render(t, d, &out), 0);
	f = fopen(expected_path, "rb");
	assert_non_null(f);
	n = fread(expected, 1, sizeof(expected) - 1, f);
	fclose(f);
	expected[n] = '\0';
	assert_string_equal(buf_str(&out), expected);

	/* The cap on the output is honoured. */
	buf_free(&out);
	buf_init(&out, 10);
	assert_int_equal(tmpl_render(t, d, &out), -E2BIG);
	buf_free(&out);
	tmpl_destroy(t);

	snprintf(path, sizeof(path), "%s/template/unclosed.txt", data_dir());
	t2 = tmpl_load(path, TMPL_TEXT, &err);
	assert_null(t2);
	snprintf(expected, sizeof(expected),
		 "%s:2: unclosed section {{#groups}} opened here", path);
	assert_string_equal(err.msg, expected);

	snprintf(path, sizeof(path), "%s/template/mismatched.txt", data_dir());
	t2 = tmpl_load(path, TMPL_TEXT, &err);
	assert_null(t2);
	snprintf(expected, sizeof(expected),
		 "%s:4: mismatched {{/groups}}, expected {{/rows}}", path);
	assert_string_equal(err.msg, expected);

	snprintf(path, sizeof(path), "%s/template/no-such-file.txt",
		 data_dir());
	t2 = tmpl_load(path, TMPL_TEXT, &err);
	assert_null(t2);
	snprintf(expected, sizeof(expected),
		 "%s: cannot open the template: No such file or directory",
		 path);
	assert_string_equal(err.msg, expected);
	tmpl_data_destroy(d);
}

static void test_destroy_accepts_null(void **state)
{
	tmpl_destroy(NULL);
	tmpl_data_destroy(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_text_and_values),
		cmocka_unit_test(test_sections_over_lists),
		cmocka_unit_test(test_sections_over_values),
		cmocka_unit_test(test_lookup_walks_outwards),
		cmocka_unit_test(test_standalone_lines_disappear),
		cmocka_unit_test(test_html_escaping),
		cmocka_unit_test(test_values_are_never_parsed),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_nesting_limit),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_destroy_accepts_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
