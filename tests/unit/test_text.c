/* Tests for text: UTF-8 cleaning, case folding, words, integers. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "text.h"

static void test_clean_replaces_invalid_and_drops_controls(void **state)
{
	struct buf b;
	const char in[] = "ok\xC0\xAF x\x01y\tz\n\xE2\x82";

	buf_init(&b, 1024);
	assert_int_equal(text_clean(in, sizeof(in) - 1, &b), 0);
	assert_string_equal(buf_str(&b),
			    "ok\xEF\xBF\xBD\xEF\xBF\xBD xy\tz\n\xEF\xBF\xBD"
			    "\xEF\xBF\xBD");
	buf_free(&b);
}

static void test_fold_case_and_compat(void **state)
{
	char *s = text_fold("WORKLOAD Ｆｕｌｌ Straße");

	assert_non_null(s);
	assert_string_equal(s, "workload full strasse");
	free(s);
}

struct words {
	char w[8][32];
	size_t n;
};

static int take(const char *word, size_t len, void *arg)
{
	struct words *ws = arg;

	assert_true(len < 32);
	memcpy(ws->w[ws->n], word, len);
	ws->w[ws->n][len] = '\0';
	ws->n++;
	return 0;
}

static void test_words_split_and_apostrophes(void **state)
{
	struct words ws = {0};

	assert_int_equal(
		text_words("Don't panic: caseloads—42, officer’s (WMT).", take,
			   &ws),
		0);
	assert_int_equal(ws.n, 6);
	assert_string_equal(ws.w[0], "Dont");
	assert_string_equal(ws.w[1], "panic");
	assert_string_equal(ws.w[2], "caseloads");
	assert_string_equal(ws.w[3], "42");
	assert_string_equal(ws.w[4], "officers");
	assert_string_equal(ws.w[5], "WMT");
}

static void test_fold_mixed_words_keeps_spacing(void **state)
{
	char *s = text_fold("CASELOAD\tÉCOLE  Ｗｏｒｋ\nOK");

	assert_non_null(s);
	assert_string_equal(s, "caseload\t\xc3\xa9"
			       "cole  work\nok");
	free(s);
}

static void test_clean_keeps_runs_and_cuts_controls(void **state)
{
	struct buf b;
	const char in[] = "abc\x1b[31mdef\x7f \xc2\x85x \xe2\x80\x99ok";

	buf_init(&b, 1024);
	assert_int_equal(text_clean(in, sizeof(in) - 1, &b), 0);
	assert_string_equal(buf_str(&b), "abc[31mdef x \xe2\x80\x99ok");
	buf_free(&b);
}

static void test_parse_int(void **state)
{
	long long v = 0;

	assert_int_equal(text_parse_int("42", 0, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(text_parse_int("-1", 0, 100, &v), -EINVAL);
	assert_int_equal(text_parse_int("101", 0, 100, &v), -EINVAL);
	assert_int_equal(text_parse_int("4x", 0, 100, &v), -EINVAL);
	assert_int_equal(text_parse_int("", 0, 100, &v), -EINVAL);
	assert_int_equal(
		text_parse_int("99999999999999999999", 0, LLONG_MAX, &v),
		-EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_clean_replaces_invalid_and_drops_controls),
		cmocka_unit_test(test_fold_case_and_compat),
		cmocka_unit_test(test_words_split_and_apostrophes),
		cmocka_unit_test(test_fold_mixed_words_keeps_spacing),
		cmocka_unit_test(test_clean_keeps_runs_and_cuts_controls),
		cmocka_unit_test(test_parse_int),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
