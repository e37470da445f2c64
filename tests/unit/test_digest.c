/*
 * Unit tests for digest: grouping in the list's theme order, newest
 * first, "also in" folding, dropped duplicates, excerpts, reference
 * numbering, the subject line, and a render of templates/digest.txt
 * that is then wrapped and built into a message.
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
#include <time.h>

#include <cmocka.h>
#include <libetpan/libetpan.h>

#include "digest.h"
#include "message.h"

#define DAY 86400
#define START 1794814200 /* Mon 16 Nov 2026 07:30 UTC */
#define END (START + 7 * DAY)

static char *list_themes[] = {"workload", "pay", "wellbeing", "other"};

static struct config_theme themes[] = {
	{.name = "workload", .title = "Workload and caseloads"},
	{.name = "pay", .title = "Pay and grading"},
	{.name = "wellbeing", .title = "Wellbeing"},
};

static struct config cfg = {
	.themes = themes,
	.n_themes = 3,
};

static struct config_list list = {
	.name = "staff-news",
	.title = "Probation staff news",
	.address = "staff-news@example.org",
	.schedule_text = "weekly mon 07:30",
	.themes = list_themes,
	.n_themes = 4,
};

static const struct digest_recipient ann = {
	.address = "ann@example.org",
	.unsubscribe_url = "https://news.example.org/u/TOKEN-ANN",
	.unsubscribe_mailto = "mailto:staff-news+unsubscribe@example.org",
};

static const char caseload_text[] =
	"Officers across the north west say their caseloads have climbed "
	"again this autumn.\n\nSeveral teams report that the workload "
	"measurement tool shows them above 120 per cent for a third month, "
	"and managers have asked for overtime to cover court reports. The "
	"branch has written to the regional director asking for a pause on "
	"new allocations until vacancies are filled, and members are asked "
	"to log every extra hour they work so that the figures can be put "
	"to the next meeting.";

/* The caseload text cut after sixty words. */
static const char caseload_excerpt[] =
	"Officers across the north west say their caseloads have climbed "
	"again this autumn. Several teams report that the workload "
	"measurement tool shows them above 120 per cent for a third month, "
	"and managers have asked for overtime to cover court reports. The "
	"branch has written to the regional director asking for a pause on "
	"new allocations until vacancies are filled\xe2\x80\xa6";

/* Added out of order on purpose. */
static const struct digest_item fixture[] = {
	{.id = 3,
	 .title = "Caseloads up again",
	 .source = "Union briefings",
	 .link = "https://union.example.org/briefings/caseloads",
	 .text = "Same story.",
	 .published = START + 2 * DAY,
	 .theme = "workload",
	 .duplicate_of = 1},
	{.id = 1,
	 .title = "Caseloads rise again in the north west",
	 .source = "On Probation",
	 .link = "https://onprobation.example.org/2026/11/caseloads.html",
	 .text = caseload_text,
	 .published = START + 1 * DAY,
	 .theme = "workload"},
	{.id = 9,
	 .title = "Ballot on the pay offer opens",
	 .source = "Union briefings",
	 .link = "https://union.example.org/briefings/ballot",
	 .text = "Voting runs for three weeks.",
	 .published = START + 2 * DAY,
	 .theme = "pay"},
	{.id = 4,
	 .title = "Caseloads",
	 .source = "Staff forum",
	 .link = "https://forum.example.org/t/caseloads",
	 .text = "Copied.",
	 .published = START + 4 * DAY,
	 .theme = "workload",
	 .duplicate_of = 1},
	{.id = 2,
	 .title = "WMT figures published for the third quarter",
	 .source = "Union briefings",
	 .link = "https://union.example.org/briefings/wmt-q3",
	 .text = "The quarterly figures are out.",
	 .published = START + 3 * DAY,
	 .theme = "workload"},
	{.id = 5,
	 .title = "Caseloads again",
	 .source = "Union briefings",
	 .link = "https://union.example.org/briefings/caseloads-2",
	 .text = "Again.",
	 .published = START + 5 * DAY,
	 .theme = "workload",
	 .duplicate_of = 1},
	{.id = 6,
	 .title = "Caseloads (repost)",
	 .source = "On Probation",
	 .link = "https://onprobation.example.org/2026/11/repost.html",
	 .text = "Repost.",
	 .published = START + 5 * DAY,
	 .theme = "workload",
	 .duplicate_of = 1},
	{.id = 7,
	 .title = "An old story seen last week",
	 .source = "Staff forum",
	 .link = "https://forum.example.org/t/old",
	 .text = "Old.",
	 .published = START + 1 * DAY,
	 .theme = "pay",
	 .duplicate_of = 999},
	{.id = 8,
	 .title = "Pay offer: what the 2026 award means",
	 .source = "Union briefings",
	 .link = "https://union.example.org/briefings/pay-2026",
	 .text = "A summary of the offer.",
	 .published = START + 2 * DAY,
	 .theme = "pay"},
	{.id = 10,
	 .title = "Recruitment drive for new officers",
	 .source = "Staff forum",
	 .link = NULL,
	 .text = "No link for this one.",
	 .published = START + 1 * DAY,
	 .theme = "recruitment"},
	{.id = 11,
	 .title = "Office moves in the east region",
	 .source = "Staff forum",
	 .link = "https://forum.example.org/t/office-moves",
	 .text = "Three offices move.",
	 .published = START + 6 * DAY,
	 .theme = "other"},
	{.id = 12,
	 .title = "Caseloads, regional view",
	 .source = "Regional news",
	 .link = "https://regional.example.org/c",
	 .text = "Chain.",
	 .published = START + 2 * DAY + 3600,
	 .theme = "workload",
	 .duplicate_of = 3},
};

static const char *data_dir(void)
{
	const char *d = getenv("DATA_DIR");

	return d ? d : "tests/data";
}

static struct digest *fixture_digest(void)
{
	struct digest *d = digest_create(&cfg, &list, START, END);

	assert_non_null(d);
	for (size_t i = 0; i < sizeof(fixture) / sizeof(fixture[0]); i++)
		assert_int_equal(digest_add(d, &fixture[i]), 0);
	return d;
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct buf b;
	char chunk[4096];
	size_t n;

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
	return buf_take(&b);
}

static struct tmpl *load(const char *rel)
{
	char path[1024];
	struct err err = {{0}};
	struct tmpl *t;

	snprintf(path, sizeof(path), "%s/%s", data_dir(), rel);
	t = tmpl_load(path, TMPL_TEXT, &err);
	if (!t)
		fail_msg("%s", err.msg);
	return t;
}

static struct tmpl *inline_tmpl(const char *text)
{
	struct err err = {{0}};
	struct tmpl *t =
		tmpl_parse(text, strlen(text), "inline", TMPL_TEXT, &err);

	if (!t)
		fail_msg("%s", err.msg);
	return t;
}

static void check_render(struct digest *d, struct tmpl *t, const char *expected)
{
	struct buf out;

	buf_init(&out, BUF_MAX_TEXT);
	assert_int_equal(digest_render(d, t, &ann, &out), 0);
	assert_string_equal(buf_str(&out), expected);
	buf_free(&out);
}

static void check_subject(struct digest *d, const char *expected)
{
	struct buf b;

	buf_init(&b, BUF_MAX_LINE);
	assert_int_equal(digest_subject(d, &b), 0);
	assert_string_equal(buf_str(&b), expected);
	buf_free(&b);
}

static void test_grouping_order_and_refs(void **state)
{
	struct digest *d = fixture_digest();
	struct tmpl *t = load("digest/structure.txt");
	char path[1024];
	char *expected;

	snprintf(path, sizeof(path), "%s/digest/structure.out", data_dir());
	expected = read_file(path);
	assert_int_equal(digest_count(d), 6);
	check_render(d, t, expected);
	/* Rendering again (another recipient) reuses the same grouping. */
	check_render(d, t, expected);
	free(expected);
	tmpl_destroy(t);
	digest_destroy(d);
}

static void test_adding_after_render_regroups(void **state)
{
	struct digest *d = digest_create(&cfg, &list, START, END);
	struct tmpl *t = inline_tmpl("{{#themes}}{{theme_name}}:{{#items}}"
				     "{{title}}[{{ref}}]{{also_in}};"
				     "{{/items}}|{{/themes}}");
	struct digest_item a = {.id = 1,
				.title = "A",
				.source = "S1",
				.link = "https://a.example/",
				.text = "",
				.published = START,
				.theme = "pay"};
	struct digest_item b = a;

	check_render(d, t, "");
	assert_int_equal(digest_add(d, &a), 0);
	check_render(d, t, "pay:A[1];|");
	/* The same id again is ignored. */
	assert_int_equal(digest_add(d, &a), 0);
	check_render(d, t, "pay:A[1];|");
	/* A duplicate arriving later still folds in. */
	b.id = 2;
	b.source = "S2";
	b.duplicate_of = 1;
	assert_int_equal(digest_add(d, &b), 0);
	check_render(d, t, "pay:A[1]S2;|");
	assert_int_equal(digest_count(d), 1);
	tmpl_destroy(t);
	digest_destroy(d);
}

static void test_theme_fallbacks(void **state)
{
	static char *no_other[] = {"pay", "workload"};
	struct config_list l = list;
	struct digest *d;
	struct tmpl *t = inline_tmpl("{{#themes}}{{theme_name}}/{{theme_title}}"
				     ":{{#items}}{{title}},{{/items}}|"
				     "{{/themes}}");
	struct digest_item it = {
		.title = "x", .source = "s", .text = "", .published = START};

	/* A list without "other": unknown themes go last, as "other". */
	l.themes = no_other;
	l.n_themes = 2;
	d = digest_create(&cfg, &l, START, END);
	it.id = 1;
	it.theme = "nonsense";
	it.title = "odd";
	assert_int_equal(digest_add(d, &it), 0);
	it.id = 2;
	it.theme = "workload";
	it.title = "work";
	assert_int_equal(digest_add(d, &it), 0);
	it.id = 3;
	it.theme = NULL;
	it.title = "none";
	it.published = START + DAY;
	assert_int_equal(digest_add(d, &it), 0);
	check_render(d, t,
		     "workload/Workload and caseloads:work,|"
		     "other/Other news:none,odd,|");
	digest_destroy(d);

	/* Without a config, titles fall back to the names. */
	d = digest_create(NULL, &list, START, END);
	it.id = 4;
	it.theme = "pay";
	it.title = "p";
	assert_int_equal(digest_add(d, &it), 0);
	check_render(d, t, "pay/pay:p,|");
	digest_destroy(d);
	tmpl_destroy(t);
}

static void test_duplicates(void **state)
{
	struct digest *d = digest_create(&cfg, &list, START, END);
	struct tmpl *t = inline_tmpl("{{#themes}}{{#items}}{{title}}:"
				     "{{also_in}}\n{{/items}}{{/themes}}");
	struct digest_item it = {.text = "",
				 .published = START,
				 .theme = "pay",
				 .link = "https://x.example/"};

	/* Only duplicates whose story is elsewhere: all dropped. */
	it.id = 10;
	it.title = "dup";
	it.source = "S";
	it.duplicate_of = 99;
	assert_int_equal(digest_add(d, &it), 0);
	/* A cycle of duplicates has no original: dropped too. */
	it.id = 20;
	it.duplicate_of = 21;
	assert_int_equal(digest_add(d, &it), 0);
	it.id = 21;
	it.duplicate_of = 20;
	assert_int_equal(digest_add(d, &it), 0);
	assert_int_equal(digest_count(d), 0);
	check_render(d, t, "");
	check_subject(d, "Probation staff news: 0 stories, 16-23 Nov 2026");

	/* Sources are cleaned before they are compared. */
	it.id = 30;
	it.title = "kept";
	it.source = "Union  briefings";
	it.duplicate_of = 0;
	assert_int_equal(digest_add(d, &it), 0);
	it.id = 31;
	it.source = "Union\nbriefings";
	it.duplicate_of = 30;
	assert_int_equal(digest_add(d, &it), 0);
	it.id = 32;
	it.source = "Staff\tforum ";
	assert_int_equal(digest_add(d, &it), 0);
	it.id = 33;
	it.source = " Staff forum";
	assert_int_equal(digest_add(d, &it), 0);
	it.id = 34;
	it.source = "";
	assert_int_equal(digest_add(d, &it), 0);
	check_render(d, t, "kept:Staff forum\n");
	digest_destroy(d);
	tmpl_destroy(t);
}

static void check_excerpt(const char *text, const char *expected)
{
	struct digest *d = digest_create(&cfg, &list, START, END);
	struct tmpl *t = inline_tmpl("{{#themes}}{{#items}}[{{excerpt}}]"
				     "{{/items}}{{/themes}}");
	struct digest_item it = {.id = 1,
				 .title = "t",
				 .source = "s",
				 .text = text,
				 .published = START,
				 .theme = "pay"};
	struct buf want;

	buf_init(&want, BUF_MAX_TEXT);
	assert_int_equal(buf_printf(&want, "[%s]", expected), 0);
	assert_int_equal(digest_add(d, &it), 0);
	check_render(d, t, buf_str(&want));
	buf_free(&want);
	tmpl_destroy(t);
	digest_destroy(d);
}

static void test_excerpts(void **state)
{
	struct buf in, out;

	check_excerpt(caseload_text, caseload_excerpt);
	check_excerpt("", "");
	check_excerpt("  one\n\ntwo\t three \r\n", "one two three");
	check_excerpt("bidi \xe2\x80\xae"
		      "trick\xe2\x80\xac and\x01 nul",
		      "bidi trick and nul");

	/* Exactly DIGEST_EXCERPT_WORDS words: not cut. */
	buf_init(&in, BUF_MAX_TEXT);
	buf_init(&out, BUF_MAX_TEXT);
	for (int i = 1; i <= DIGEST_EXCERPT_WORDS; i++)
		assert_int_equal(buf_printf(&in, "%sw%d", i > 1 ? " " : "", i),
				 0);
	check_excerpt(buf_str(&in), buf_str(&in));
	/* One more, after a comma: cut, the comma goes. */
	assert_int_equal(buf_adds(&in, ", more"), 0);
	assert_int_equal(buf_printf(&out, "%.*s\xe2\x80\xa6",
				    (int)(in.len - strlen(", more")), in.ptr),
			 0);
	check_excerpt(buf_str(&in), buf_str(&out));

	/* A giant word is cut between characters. */
	buf_reset(&in);
	buf_reset(&out);
	assert_int_equal(buf_adds(&in, "start "), 0);
	for (int i = 0; i < 3000; i++)
		assert_int_equal(buf_adds(&in, "\xc3\xa9"), 0);
	assert_int_equal(buf_adds(&out, "start\xe2\x80\xa6"), 0);
	check_excerpt(buf_str(&in), buf_str(&out));
	buf_reset(&in);
	buf_reset(&out);
	for (int i = 0; i < 3000; i++)
		assert_int_equal(buf_adds(&in, "\xc3\xa9"), 0);
	for (int i = 0; i < 320; i++)
		assert_int_equal(buf_adds(&out, "\xc3\xa9"), 0);
	assert_int_equal(buf_adds(&out, "\xe2\x80\xa6"), 0);
	check_excerpt(buf_str(&in), buf_str(&out));
	buf_free(&in);
	buf_free(&out);
}

static void test_excerpt_skips_references(void **state)
{
	struct buf in, out;

	/* html2text's markers and block are not shown */
	check_excerpt("The pay offer [1] is out; see the tables [2].\n\n"
		      "Ballot details [1] follow.\n\n"
		      "[1] https://union.example.org/pay\n"
		      "[2] http://union.example.org/tables?band=3",
		      "The pay offer is out; see the tables. Ballot details "
		      "follow.");
	check_excerpt("One link [1]\r\n\r\n[1] https://x.example/\r\n\n",
		      "One link");
	/* a "[n]" the block does not list, or not written as a marker, is
	 * the author's */
	check_excerpt("a [1] b [3] c [0] d [01] e[1] f [1x] g [2]\n\n"
		      "[1] https://x.example/1\n[2] https://x.example/2",
		      "a b [3] c [0] d [01] e[1] f [1x] g");
	/* no block, no stripping: a fake footnote mid-text stays, as does
	 * one not after a blank line, or out of order, or not a URL */
	check_excerpt("See [1] below.\n\n[1] https://evil.example\n\nMore.",
		      "See [1] below. [1] https://evil.example More.");
	check_excerpt("See [1].\n[1] https://x.example/",
		      "See [1]. [1] https://x.example/");
	check_excerpt("See [2].\n\n[2] https://x.example/",
		      "See [2]. [2] https://x.example/");
	check_excerpt("See [1] [2].\n\n[2] https://x.example/\n"
		      "[1] https://y.example/",
		      "See [1] [2]. [2] https://x.example/ [1] "
		      "https://y.example/");
	check_excerpt("See [1].\n\n[1] ftp://x.example/",
		      "See [1]. [1] ftp://x.example/");
	check_excerpt("See [1].\n\n[1] https://x.example/ and more",
		      "See [1]. [1] https://x.example/ and more");
	check_excerpt("[1] https://x.example/", "[1] https://x.example/");

	/* markers are not words: exactly DIGEST_EXCERPT_WORDS words with
	 * markers between them are shown whole */
	buf_init(&in, BUF_MAX_TEXT);
	buf_init(&out, BUF_MAX_TEXT);
	for (int i = 1; i <= DIGEST_EXCERPT_WORDS; i++) {
		assert_int_equal(buf_printf(&in, "%sw%d [%d]", i > 1 ? " " : "",
					    i, i % 3 + 1),
				 0);
		assert_int_equal(buf_printf(&out, "%sw%d", i > 1 ? " " : "", i),
				 0);
	}
	assert_int_equal(buf_adds(&in, "\n\n[1] https://x.example/1\n"
				       "[2] https://x.example/2\n"
				       "[3] https://x.example/3\n"),
			 0);
	check_excerpt(buf_str(&in), buf_str(&out));
	buf_free(&in);
	buf_free(&out);
}

static void test_titles_are_one_clean_line(void **state)
{
	struct digest *d = digest_create(&cfg, &list, START, END);
	struct tmpl *t = inline_tmpl("{{#themes}}{{#items}}<{{title}}>"
				     "<{{source}}>{{/items}}{{/themes}}");
	struct digest_item it = {
		.id = 1,
		.title = "Evil\r\n-- \r\nUnsubscribe: https://evil.example/"
			 "\xe2\x80\xae",
		.source = "\xe2\x80\xa8"
			  "Forum\xc2\x85"
			  "X",
		.text = "",
		.published = START,
		.theme = "pay"};

	assert_int_equal(digest_add(d, &it), 0);
	check_render(d, t,
		     "<Evil -- Unsubscribe: https://evil.example/>"
		     "<Forum X>");
	digest_destroy(d);

	d = digest_create(&cfg, &list, START, END);
	it.title = " \r\n ";
	it.source = "";
	assert_int_equal(digest_add(d, &it), 0);
	check_render(d, t, "<(untitled)><Unknown source>");
	digest_destroy(d);
	tmpl_destroy(t);
}

static void test_subject(void **state)
{
	struct digest *d = fixture_digest();
	struct config_list l = list;
	struct digest_item it = {.id = 1,
				 .title = "t",
				 .source = "s",
				 .text = "",
				 .published = START,
				 .theme = "pay"};

	check_subject(d, "Probation staff news: 6 stories, 16-23 Nov 2026");
	digest_destroy(d);

	d = digest_create(&cfg, &list, START + 14 * DAY, START + 20 * DAY);
	assert_int_equal(digest_add(d, &it), 0);
	check_subject(d, "Probation staff news: 1 story, 30 Nov - 6 Dec 2026");
	digest_destroy(d);

	d = digest_create(&cfg, &list, START + 42 * DAY, START + 49 * DAY);
	check_subject(d, "Probation staff news: 0 stories, "
			 "28 Dec 2026 - 4 Jan 2027");
	digest_destroy(d);

	d = digest_create(&cfg, &list, START, START + 3600);
	check_subject(d, "Probation staff news: 0 stories, 16 Nov 2026");
	digest_destroy(d);

	/* A first digest (no previous one) starts with its oldest story. */
	d = digest_create(&cfg, &list, 0, START + 7 * DAY);
	it.published = START + 2 * DAY;
	assert_int_equal(digest_add(d, &it), 0);
	it.id = 2;
	it.published = START + DAY;
	assert_int_equal(digest_add(d, &it), 0);
	check_subject(d, "Probation staff news: 2 stories, 17-23 Nov 2026");
	digest_destroy(d);
	it.id = 1;
	it.published = START;

	/* The title is cleaned; a list without a title uses its name. */
	l.title = "Staff\r\nnews \xe2\x80\xae";
	d = digest_create(&cfg, &l, START, END);
	check_subject(d, "Staff news: 0 stories, 16-23 Nov 2026");
	{
		struct tmpl *t = inline_tmpl("{{list_title}}\n"
					     "{{list_title_rule}}\n");

		check_render(d, t, "Staff news\n==========\n");
		tmpl_destroy(t);
	}
	digest_destroy(d);
	l.title = NULL;
	d = digest_create(&cfg, &l, START, END);
	check_subject(d, "staff-news: 0 stories, 16-23 Nov 2026");
	digest_destroy(d);
}

static void test_period_in_local_time(void **state)
{
	const char *old = getenv("TZ");
	char saved[64] = "";
	struct digest *d;

	if (old)
		snprintf(saved, sizeof(saved), "%s", old);
	/* Sun 15 Nov 18:00 UTC is Mon 16 Nov 07:00 at UTC+13. */
	d = digest_create(&cfg, &list, START - 13 * 3600 - 1800,
			  END - 13 * 3600 - 1800);
	setenv("TZ", "UTC", 1);
	tzset();
	check_subject(d, "Probation staff news: 0 stories, 15-22 Nov 2026");
	setenv("TZ", "TST-13", 1);
	tzset();
	check_subject(d, "Probation staff news: 0 stories, 16-23 Nov 2026");
	if (old)
		setenv("TZ", saved, 1);
	else
		unsetenv("TZ");
	tzset();
	digest_destroy(d);
}

/* The default template, from the source tree. */
static struct tmpl *default_template(void)
{
	char path[1024];
	struct err err = {{0}};
	struct tmpl *t;

	snprintf(path, sizeof(path), "%s/../../templates/digest.txt",
		 data_dir());
	t = tmpl_load(path, TMPL_TEXT, &err);
	if (!t)
		fail_msg("%s", err.msg);
	return t;
}

static void assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("missing:\n%s\n--- in:\n%s", needle, hay);
}

static void test_default_template(void **state)
{
	struct digest *d = fixture_digest();
	struct tmpl *t = default_template();
	struct digest_recipient bob = {
		.address = "bob@example.org",
		.unsubscribe_url = "https://news.example.org/u/TOKEN-BOB",
	};
	struct buf out, out2;
	const char *s;

	buf_init(&out, BUF_MAX_TEXT);
	assert_int_equal(digest_render(d, t, &ann, &out), 0);
	s = buf_str(&out);
	assert_memory_equal(
		s,
		"Probation staff news\n"
		"====================\n"
		"16-23 Nov 2026 \xc2\xb7 6 stories\n"
		"\n"
		"In this issue:\n"
		"- Workload and caseloads (2)\n"
		"- Pay and grading (2)\n"
		"- Other news (2)\n"
		"\n"
		"\n"
		"Workload and caseloads\n"
		"----------------------\n"
		"\n"
		"WMT figures published for the third quarter\n"
		"Union briefings \xc2\xb7 Thu 19 Nov 2026\n"
		"The quarterly figures are out.\n"
		"Read more: [1]\n"
		"\n"
		"Caseloads rise again in the north west\n"
		"On Probation \xc2\xb7 Tue 17 Nov 2026\n",
		strlen("Probation staff news\n"
		       "====================\n"
		       "16-23 Nov 2026 \xc2\xb7 6 stories\n"
		       "\n"
		       "In this issue:\n"
		       "- Workload and caseloads (2)\n"
		       "- Pay and grading (2)\n"
		       "- Other news (2)\n"
		       "\n"
		       "\n"
		       "Workload and caseloads\n"
		       "----------------------\n"
		       "\n"
		       "WMT figures published for the third quarter\n"
		       "Union briefings \xc2\xb7 Thu 19 Nov 2026\n"
		       "The quarterly figures are out.\n"
		       "Read more: [1]\n"
		       "\n"
		       "Caseloads rise again in the north west\n"
		       "On Probation \xc2\xb7 Tue 17 Nov 2026\n"));
	assert_contains(s, caseload_excerpt);
	assert_contains(s, "\xe2\x80\xa6\nRead more: [2]\n"
			   "Also in: Union briefings, Regional news, "
			   "Staff forum\n\n"
			   "[1] https://union.example.org/briefings/wmt-q3\n"
			   "[2] https://onprobation.example.org/2026/11/"
			   "caseloads.html\n\n\n"
			   "Pay and grading\n---------------\n\n");
	/* An item with no link has no "Read more" and no reference. */
	assert_contains(s, "Recruitment drive for new officers\n"
			   "Staff forum \xc2\xb7 Tue 17 Nov 2026\n"
			   "No link for this one.\n"
			   "\n"
			   "[5] https://forum.example.org/t/office-moves\n");
	assert_null(strstr(s, "Wellbeing"));
	assert_null(strstr(s, "An old story"));
	assert_null(strstr(s, "Caseloads again"));
	assert_contains(s,
			"\n\n-- \n"
			"You are receiving this because ann@example.org is "
			"subscribed to Probation staff news.\n"
			"Unsubscribe: https://news.example.org/u/TOKEN-ANN\n");
	assert_int_equal(s[out.len - 1], '\n');

	/* The next recipient gets their own footer, nothing else changes. */
	buf_init(&out2, BUF_MAX_TEXT);
	assert_int_equal(digest_render(d, t, &bob, &out2), 0);
	assert_contains(buf_str(&out2),
			"because bob@example.org is subscribed to "
			"Probation staff news.\n"
			"Unsubscribe: https://news.example.org/u/TOKEN-BOB\n");
	assert_null(strstr(buf_str(&out2), "ann@"));
	assert_int_equal(out2.len, out.len);
	buf_free(&out2);
	buf_free(&out);
	tmpl_destroy(t);
	digest_destroy(d);
}

static void test_default_template_empty_digest(void **state)
{
	struct digest *d = digest_create(&cfg, &list, START, END);
	struct tmpl *t = default_template();
	struct buf out;

	buf_init(&out, BUF_MAX_TEXT);
	assert_int_equal(digest_render(d, t, &ann, &out), 0);
	assert_string_equal(
		buf_str(&out),
		"Probation staff news\n"
		"====================\n"
		"16-23 Nov 2026 \xc2\xb7 0 stories\n"
		"\n"
		"No new stories this time.\n"
		"\n"
		"-- \n"
		"You are receiving this because ann@example.org is subscribed "
		"to Probation staff news.\n"
		"Unsubscribe: https://news.example.org/u/TOKEN-ANN\n");
	buf_free(&out);
	tmpl_destroy(t);
	digest_destroy(d);
}

/* The whole path: render, wrap, build; lines stay short on a phone. */
static void test_digest_as_message(void **state)
{
	struct digest *d = fixture_digest();
	struct tmpl *t = default_template();
	struct buf body, subject, flowed, m, list_id;
	struct message_spec spec = {0};
	struct mailimf_fields *f = NULL;
	struct err err = {{0}};
	size_t idx = 0, decoded_len = 0;
	char *decoded = NULL;
	const char *p;

	buf_init(&body, BUF_MAX_TEXT);
	buf_init(&subject, BUF_MAX_LINE);
	buf_init(&flowed, BUF_MAX_TEXT);
	buf_init(&m, BUF_MAX_TEXT);
	buf_init(&list_id, BUF_MAX_LINE);
	assert_int_equal(digest_render(d, t, &ann, &body), 0);
	assert_int_equal(digest_subject(d, &subject), 0);
	assert_int_equal(message_flow(buf_str(&body), MESSAGE_WIDTH, &flowed),
			 0);
	/* No line over 78 but one holding a single long URL. */
	for (p = buf_str(&flowed); *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = (size_t)(nl - p);

		if (len > 78) {
			assert_memory_equal(p, "https://", 8);
			assert_null(memchr(p, ' ', len - 1));
		}
		p = nl + 1;
	}
	assert_int_equal(
		message_list_id(list.title, list.name, list.address, &list_id),
		0);
	spec.from = "Staff News <staff-news@example.org>";
	spec.to = ann.address;
	spec.subject = buf_str(&subject);
	spec.date = END;
	spec.message_id = "d7.ann.3b9f@news.example.org";
	spec.list_id = buf_str(&list_id);
	spec.unsubscribe_url = ann.unsubscribe_url;
	spec.unsubscribe_mailto = ann.unsubscribe_mailto;
	spec.one_click = true;
	spec.bulk = true;
	spec.auto_submitted = "auto-generated";
	spec.body = buf_str(&body);
	assert_int_equal(message_build(&spec, &m, &err), 0);
	assert_int_equal(mailimf_fields_parse(m.ptr, m.len, &idx, &f),
			 MAILIMF_NO_ERROR);
	mailimf_fields_free(f);
	assert_contains(m.ptr, "\r\nSubject: Probation staff news: 6 stories, "
			       "16-23 Nov 2026\r\n");
	/* Not ASCII: base64, which gives the flowed text back. */
	assert_contains(m.ptr, "\r\nContent-Transfer-Encoding: base64\r\n");
	p = strstr(m.ptr, "\r\n\r\n") + 4;
	idx = 0;
	assert_int_equal(mailmime_part_parse(p, strlen(p), &idx,
					     MAILMIME_MECHANISM_BASE64,
					     &decoded, &decoded_len),
			 MAILIMF_NO_ERROR);
	assert_non_null(strstr(decoded,
			       "\r\n-- \r\nYou are receiving this because "
			       "ann@example.org is subscribed to \r\n"
			       "Probation staff news.\r\n"));
	mailmime_decoded_part_free(decoded);
	/* No encoded line over 76. */
	for (const char *l = p; *l;) {
		const char *nl = strstr(l, "\r\n");

		assert_non_null(nl);
		assert_true(nl - l <= 76);
		l = nl + 2;
	}
	buf_free(&body);
	buf_free(&subject);
	buf_free(&flowed);
	buf_free(&m);
	buf_free(&list_id);
	tmpl_destroy(t);
	digest_destroy(d);
}

/* Rendered once with holes, then filled in per recipient: the same text
 * as rendered for that recipient, values cleaned the same way; the
 * holes are the only control characters, one per use of a value. */
static void test_holes_filled_match_render(void **state)
{
	struct digest *d = fixture_digest();
	struct tmpl *t = default_template();
	const struct digest_recipient odd = {
		.address = " eve@example.org\r\nBcc: x@evil ",
		.unsubscribe_url = "https://news.example.org/u/\xe2\x80\xaeT",
		.unsubscribe_mailto = NULL,
	};
	const struct digest_recipient *rs[] = {&ann, &odd};
	struct buf holes, vals[DIGEST_HOLES], filled, whole;
	size_t n_holes = 0;

	(void)state;
	buf_init(&holes, BUF_MAX_TEXT);
	assert_int_equal(digest_render_holes(d, t, &holes), 0);
	for (size_t i = 0; i < holes.len; i++) {
		if (holes.ptr[i] != MESSAGE_HOLE)
			continue;
		assert_true(holes.ptr[i + 1] >= '0' &&
			    holes.ptr[i + 1] < '0' + DIGEST_HOLES);
		n_holes++;
	}
	assert_int_equal(n_holes, 2); /* recipient, unsubscribe_url */
	for (int i = 0; i < DIGEST_HOLES; i++)
		buf_init(&vals[i], BUF_MAX_LINE);
	for (size_t r = 0; r < 2; r++) {
		assert_int_equal(digest_recipient_values(rs[r], vals), 0);
		buf_init(&filled, BUF_MAX_TEXT);
		for (size_t i = 0; i < holes.len; i++) {
			if (holes.ptr[i] == MESSAGE_HOLE) {
				struct buf *v = &vals[holes.ptr[++i] - '0'];

				assert_int_equal(
					buf_add(&filled, v->ptr, v->len), 0);
			} else {
				assert_int_equal(
					buf_addc(&filled, holes.ptr[i]), 0);
			}
		}
		buf_init(&whole, BUF_MAX_TEXT);
		assert_int_equal(digest_render(d, t, rs[r], &whole), 0);
		assert_string_equal(buf_str(&filled), buf_str(&whole));
		buf_free(&filled);
		buf_free(&whole);
	}
	assert_string_equal(buf_str(&vals[DIGEST_HOLE_ADDRESS]),
			    "eve@example.org Bcc: x@evil");
	for (int i = 0; i < DIGEST_HOLES; i++)
		buf_free(&vals[i]);
	buf_free(&holes);
	tmpl_destroy(t);
	digest_destroy(d);
}

static void test_destroy_accepts_null(void **state)
{
	digest_destroy(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grouping_order_and_refs),
		cmocka_unit_test(test_adding_after_render_regroups),
		cmocka_unit_test(test_theme_fallbacks),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_excerpts),
		cmocka_unit_test(test_excerpt_skips_references),
		cmocka_unit_test(test_titles_are_one_clean_line),
		cmocka_unit_test(test_subject),
		cmocka_unit_test(test_period_in_local_time),
		cmocka_unit_test(test_default_template),
		cmocka_unit_test(test_default_template_empty_digest),
		cmocka_unit_test(test_digest_as_message),
		cmocka_unit_test(test_holes_filled_match_render),
		cmocka_unit_test(test_destroy_accepts_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
