/* Tests for theme: stemmed keyword and phrase matching, weights, ties. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "theme.h"

static char *workload_kw[] = {"workload", "caseload", "in the red", "wmt"};
static char *pay_kw[] = {"pay", "banding", "pay award"};
static char *wellbeing_kw[] = {"stress", "sickness", "wellbeing",
			       "overcommunicativenesses"};

static struct config_theme themes[] = {
	{.name = "workload", .keywords = workload_kw, .n_keywords = 4},
	{.name = "pay", .keywords = pay_kw, .n_keywords = 3},
	{.name = "wellbeing", .keywords = wellbeing_kw, .n_keywords = 4},
};

static struct config cfg = {.themes = themes, .n_themes = 3};

static void check(const char *title, const char *text, const char *want,
		  int score)
{
	struct theme_set *ts = theme_set_create(&cfg);
	struct theme_result r;

	assert_non_null(ts);
	assert_int_equal(theme_classify(ts, title, text, &r), 0);
	assert_string_equal(r.name, want);
	assert_int_equal(r.score, score);
	theme_set_destroy(ts);
}

static void test_stemmed_words_match(void **state)
{
	/* "caseloads" stems like "caseload"; case does not matter. */
	check("Our CASELOADS keep growing", NULL, "workload", 3);
}

static void test_phrase_matches_only_in_order(void **state)
{
	check(NULL, "Every team is in the red this month.", "workload", 1);
	check(NULL, "The red team is in.", "other", 0);
}

static void test_title_outweighs_text(void **state)
{
	/* One title hit (3) beats two text hits (2). */
	check("Pay talks resume", "Stress and sickness are up.", "pay", 3);
}

static void test_tie_goes_to_first_declared(void **state)
{
	check(NULL, "pay and stress", "pay", 1);
}

static void test_only_the_start_of_a_long_text_counts(void **state)
{
	size_t n = 40000, i;
	char *text = malloc(n + 64);

	/* "pay" once near the start, "stress" three times past 16 KB. */
	memcpy(text, "pay ", 4);
	for (i = 4; i < n; i++)
		text[i] = (i % 8 == 7) ? ' ' : 'x';
	memcpy(text + n, " stress stress stress", 22);
	check(NULL, text, "pay", 1);
	free(text);
}

static void test_no_themes_is_other(void **state)
{
	struct config none = {0};
	struct theme_set *ts = theme_set_create(&none);
	struct theme_result r;

	assert_non_null(ts);
	assert_int_equal(theme_classify(ts, "Pay", "pay", &r), 0);
	assert_string_equal(r.name, "other");
	theme_set_destroy(ts);
}

static void test_nothing_matches_is_other(void **state)
{
	check("Christmas quiz", "Bring a mince pie.", "other", 0);
	check(NULL, NULL, "other", 0);
}

/* Words already met are looked up, not stemmed again: one set gives
 * the same answers whatever it saw before, however many words. */
static void test_one_set_many_items(void **state)
{
	struct theme_set *ts = theme_set_create(&cfg);
	struct theme_result r;
	char text[64];
	int round, i;

	assert_non_null(ts);
	for (round = 0; round < 2; round++) {
		for (i = 0; i < 20000; i++) {
			snprintf(text, sizeof(text), "word%d caseloads w%dx", i,
				 i * 7);
			assert_int_equal(theme_classify(ts, NULL, text, &r), 0);
			assert_string_equal(r.name, "workload");
			assert_int_equal(r.score, 1);
		}
		assert_int_equal(theme_classify(ts, "Pay", "in the red", &r),
				 0);
		assert_string_equal(r.name, "pay");
		assert_int_equal(r.score, 3);
		/* Longer than what is remembered: stemmed every time. */
		assert_int_equal(theme_classify(ts, "Overcommunicativeness",
						"overcommunicativenesses", &r),
				 0);
		assert_string_equal(r.name, "wellbeing");
		assert_int_equal(r.score, 4);
	}
	theme_set_destroy(ts);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stemmed_words_match),
		cmocka_unit_test(test_one_set_many_items),
		cmocka_unit_test(test_phrase_matches_only_in_order),
		cmocka_unit_test(test_title_outweighs_text),
		cmocka_unit_test(test_tie_goes_to_first_declared),
		cmocka_unit_test(test_only_the_start_of_a_long_text_counts),
		cmocka_unit_test(test_no_themes_is_other),
		cmocka_unit_test(test_nothing_matches_is_other),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
