/* Tests for briefing: subject cleanup and splitting by headed sections. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "briefing.h"

static void check_title(const char *subject, const char *want)
{
	char *got = briefing_title(subject);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

/* Splits text and checks the items against want: title, text pairs. */
static void check_split(const char *text, bool split, const char *const *want,
			size_t n_want)
{
	struct briefing_item *items;
	size_t n, i;

	assert_int_equal(briefing_split("Branch news", text, split, &items, &n),
			 0);
	assert_int_equal(n, n_want);
	for (i = 0; i < n; i++) {
		assert_string_equal(items[i].title, want[2 * i]);
		assert_string_equal(items[i].text, want[2 * i + 1]);
	}
	briefing_items_free(items, n);
}

#define CHECK_SPLIT(text, split, ...)                                          \
	do {                                                                   \
		static const char *const want_[] = {__VA_ARGS__};              \
		check_split(text, split, want_,                                \
			    sizeof(want_) / sizeof(want_[0]) / 2);             \
	} while (0)

static void test_title_drops_forward_and_tag_prefixes(void **state)
{
	check_title("Fwd: FW: [Branch] Re: Pay update", "Pay update");
	check_title("[UNISON] [news] Hello", "Hello");
	check_title("RE : fwd:Fw:Rota changes", "Rota changes");
	check_title("fWd: [x]re: [y] Ballot", "Ballot");
}

static void test_title_keeps_words_that_only_look_like_prefixes(void **state)
{
	check_title("Review: the year", "Review: the year");
	check_title("Rebuild plan", "Rebuild plan");
	check_title("Pay [update] Re: talks", "Pay [update] Re: talks");
	/* An unclosed tag is not a tag. */
	check_title("[Branch pay", "[Branch pay");
}

static void test_title_collapses_blanks(void **state)
{
	check_title("  Pay\t\tand\n conditions \r\n", "Pay and conditions");
	check_title("Re:\tFwd:\n  Office move", "Office move");
}

static void test_title_empty_is_no_subject(void **state)
{
	check_title("", "(no subject)");
	check_title(NULL, "(no subject)");
	check_title(" \t ", "(no subject)");
	check_title("Re: Fwd: [list]", "(no subject)");
}

static void test_title_cleans_bad_utf8(void **state)
{
	check_title("Caf\xc3\xa9 \xff talk", "Caf\xc3\xa9 \xef\xbf\xbd talk");
}

static const char four_sections[] = "WORKLOAD\n"
				    "\n"
				    "Q. Will caseloads be capped?\n"
				    "\n"
				    "A. A review reports in spring.\n"
				    "\n"
				    "PAY\n"
				    "\n"
				    "Q. When is the award paid?\n"
				    "A. In the May payroll.\n"
				    "\n"
				    "\n"
				    "RECRUITMENT AND RETENTION\n"
				    "Q. How many trainees start this year?\n"
				    "\n"
				    "DIVERSITY & EQUALITY\n"
				    "\n"
				    "Q. Is the survey published?\n"
				    "A. Next month.\n";

static void test_four_headings_give_four_items(void **state)
{
	CHECK_SPLIT(four_sections, true, "Workload: Branch news",
		    "Q. Will caseloads be capped?\n\nA. A review reports in "
		    "spring.",
		    "Pay: Branch news",
		    "Q. When is the award paid?\nA. In the May payroll.",
		    "Recruitment and retention: Branch news",
		    "Q. How many trainees start this year?",
		    "Diversity & equality: Branch news",
		    "Q. Is the survey published?\nA. Next month.");
}

static void test_split_false_keeps_one_item(void **state)
{
	CHECK_SPLIT(four_sections, false, "Branch news", four_sections);
}

static void test_short_intro_heads_first_section(void **state)
{
	CHECK_SPLIT("Questions from the branch meeting.\n"
		    "\n"
		    "WORKING FROM HOME\n"
		    "\n"
		    "Q. Is the policy changing?\n"
		    "\n"
		    "PAY\n"
		    "\n"
		    "Q. Any news?\n",
		    true, "Working from home: Branch news",
		    "Questions from the branch meeting.\n\nQ. Is the policy "
		    "changing?",
		    "Pay: Branch news", "Q. Any news?");
}

static void test_long_intro_is_its_own_item(void **state)
{
	CHECK_SPLIT("\n"
		    "Colleagues, below are the answers we received after the "
		    "regional meeting last week.\n"
		    "Please read them and send any further questions to your "
		    "rep before the end of the month.\n"
		    "\n"
		    "WORKLOAD\n"
		    "\n"
		    "Q. One?\n"
		    "\n"
		    "PAY\n"
		    "\n"
		    "Q. Two?\n",
		    true, "Branch news",
		    "Colleagues, below are the answers we received after the "
		    "regional meeting last week.\n"
		    "Please read them and send any further questions to your "
		    "rep before the end of the month.",
		    "Workload: Branch news", "Q. One?", "Pay: Branch news",
		    "Q. Two?");
}

static void test_one_heading_stays_one_item(void **state)
{
	static const char text[] = "WORKLOAD\n\nQ. Will caseloads be capped?\n";

	CHECK_SPLIT(text, true, "Branch news", text);
}

static void test_last_line_is_not_a_heading(void **state)
{
	static const char text[] = "Intro.\n\nWORKLOAD\n\nQ. One?\n\nTHANKS "
				   "TO ALL REPS\n\n";

	/* Only one real heading is left, so no split at all. */
	CHECK_SPLIT(text, true, "Branch news", text);
	CHECK_SPLIT("WORKLOAD\n\nQ. One?\n\nPAY\n\nQ. Two?\n\nUNISON\n", true,
		    "Workload: Branch news", "Q. One?", "Pay: Branch news",
		    "Q. Two?\n\nUNISON");
}

static void test_bullets_and_inline_capitals_are_not_headings(void **state)
{
	CHECK_SPLIT("WORKLOAD\n"
		    "\n"
		    "- REDUCE CASELOADS\n"
		    "\n"
		    "* HIRE MORE STAFF\n"
		    "\n"
		    "\xe2\x80\xa2 STOP OVERTIME\n"
		    "\n"
		    "Our demands were sent on Monday:\n"
		    "FAIR PAY NOW\n"
		    "and we wait for an answer.\n"
		    "\n"
		    "Q&A\n"
		    "\n"
		    "UK\n"
		    "\n"
		    "PAY\n"
		    "\n"
		    "Q. Two?\n",
		    true, "Workload: Branch news",
		    "- REDUCE CASELOADS\n\n* HIRE MORE STAFF\n\n\xe2\x80\xa2 "
		    "STOP OVERTIME\n\nOur demands were sent on Monday:\nFAIR "
		    "PAY NOW\nand we wait for an answer.\n\nQ&A\n\nUK",
		    "Pay: Branch news", "Q. Two?");
}

static void test_heading_shape_rules(void **state)
{
	/* Digits, punctuation from the allowed set, a trailing colon; a
	 * line with other punctuation or lower case, or over 60
	 * characters, is text. */
	CHECK_SPLIT("2022/23 PAY AWARD:\n"
		    "\n"
		    "Q. One?\n"
		    "\n"
		    "WHAT IS NEXT?\n"
		    "\n"
		    "Pay Talks\n"
		    "\n"
		    "A VERY LONG LINE OF CAPITALS THAT GOES ON AND ON PAST THE "
		    "LIMIT\n"
		    "\n"
		    "STAFF\xe2\x80\x99S SAY \xe2\x80\x93 HOURS, ROTAS\n"
		    "\n"
		    "Q. Two?\n",
		    true, "2022/23 Pay award: Branch news",
		    "Q. One?\n\nWHAT IS NEXT?\n\nPay Talks\n\nA VERY LONG LINE "
		    "OF CAPITALS THAT GOES ON AND ON PAST THE LIMIT",
		    "Staff\xe2\x80\x99s say \xe2\x80\x93 hours, rotas: Branch "
		    "news",
		    "Q. Two?");
}

static void test_utf8_capitals_are_upper_case(void **state)
{
	/* É is an upper-case letter; é or ĉ (U+0109, whose low byte is a
	 * tab) in a word makes the line text. */
	CHECK_SPLIT("R\xc3\x89"
		    "FORME DES RETRAITES\n"
		    "\n"
		    "Q. Un?\n"
		    "\n"
		    "R\xc3\xa9"
		    "FORME\n"
		    "\n"
		    "Q. Deux?\n"
		    "\n"
		    "WORK\xc4\x89LOAD\n"
		    "\n"
		    "Q. Trois?\n"
		    "\n"
		    "\xc3\x89QUIPE  SOCIALE\n"
		    "\n"
		    "Q. Quatre?\n",
		    true,
		    "R\xc3\xa9"
		    "forme des retraites: Branch news",
		    "Q. Un?\n\nR\xc3\xa9"
		    "FORME\n\nQ. Deux?\n\nWORK\xc4\x89LOAD\n\nQ. Trois?",
		    "\xc3\x89quipe sociale: Branch news", "Q. Quatre?");
}

static void test_heading_with_nothing_under_it_stays_text(void **state)
{
	CHECK_SPLIT("WORKLOAD\n\nQ. One?\n\nPART TWO\n\nPAY\n\nQ. Two?\n", true,
		    "Workload: Branch news", "Q. One?\n\nPART TWO",
		    "Pay: Branch news", "Q. Two?");
}

static void test_empty_and_null_text(void **state)
{
	struct briefing_item *items;
	size_t n;

	CHECK_SPLIT("", true, "Branch news", "");
	assert_int_equal(briefing_split(NULL, NULL, true, &items, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(items[0].title, "(no subject)");
	assert_string_equal(items[0].text, "");
	briefing_items_free(items, n);
	briefing_items_free(NULL, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_title_drops_forward_and_tag_prefixes),
		cmocka_unit_test(
			test_title_keeps_words_that_only_look_like_prefixes),
		cmocka_unit_test(test_title_collapses_blanks),
		cmocka_unit_test(test_title_empty_is_no_subject),
		cmocka_unit_test(test_title_cleans_bad_utf8),
		cmocka_unit_test(test_four_headings_give_four_items),
		cmocka_unit_test(test_split_false_keeps_one_item),
		cmocka_unit_test(test_short_intro_heads_first_section),
		cmocka_unit_test(test_long_intro_is_its_own_item),
		cmocka_unit_test(test_one_heading_stays_one_item),
		cmocka_unit_test(test_last_line_is_not_a_heading),
		cmocka_unit_test(
			test_bullets_and_inline_capitals_are_not_headings),
		cmocka_unit_test(test_heading_shape_rules),
		cmocka_unit_test(test_utf8_capitals_are_upper_case),
		cmocka_unit_test(test_heading_with_nothing_under_it_stays_text),
		cmocka_unit_test(test_empty_and_null_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
