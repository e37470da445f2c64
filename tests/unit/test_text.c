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
#include <jansson.h>

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

/* What jansson's json_dumps writes for s, or NULL when it refuses s. */
static char *jansson_quote(const char *s)
{
	json_t *v = json_string(s);
	char *out;

	if (!v)
		return NULL;
	out = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	json_decref(v);
	return out;
}

static void assert_json_quote_is_jansson(const char *s)
{
	char *want = jansson_quote(s);
	struct buf b;

	buf_init(&b, 1024);
	assert_int_equal(buf_addc(&b, 'x'), 0);
	if (!want) {
		assert_int_equal(text_json_quote(s, &b), -EINVAL);
		assert_string_equal(buf_str(&b), "x");
	} else {
		assert_int_equal(text_json_quote(s, &b), 0);
		assert_string_equal(buf_str(&b) + 1, want);
	}
	buf_free(&b);
	free(want);
}

static void test_json_quote_as_jansson(void **state)
{
	static const char *const cases[] = {
		"",
		"plain text",
		"quote \" backslash \\ slash / end",
		"\b\f\n\r\t",
		"caf\xC3\xA9 \xE2\x80\x99 \xF0\x9F\x98\x80 \xE2\x80\xA8",
		"del \x7F",
		"\"\"",
		"\\",
		/* not UTF-8: refused */
		"bad \xC0\xAF",
		"cut \xE2\x80",
		"surrogate \xED\xA0\x80",
		"\xFF",
	};
	char ctl[2] = {0, 0};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_json_quote_is_jansson(cases[i]);
	for (int c = 1; c < 0x20; c++) {
		ctl[0] = (char)c;
		assert_json_quote_is_jansson(ctl);
	}
}

static void test_json_quote_writes_escapes(void **state)
{
	struct buf b;

	buf_init(&b, 1024);
	assert_int_equal(text_json_quote("a\"b\\c\n\x1b\x01\xC3\xA9", &b), 0);
	assert_string_equal(buf_str(&b),
			    "\"a\\\"b\\\\c\\n\\u001B\\u0001\xC3\xA9\"");
	buf_free(&b);
}

/* Words gathered into one string, each followed by '|'. */
static int gather(const char *word, size_t len, void *arg)
{
	struct buf *b = arg;

	if (buf_add(b, word, len) || buf_addc(b, '|'))
		return -ENOMEM;
	return 0;
}

static void fold_words_as_fold_then_words(const char *s)
{
	struct buf want, got;
	char *folded = text_fold(s);

	assert_non_null(folded);
	buf_init(&want, BUF_MAX_TEXT);
	buf_init(&got, BUF_MAX_TEXT);
	assert_int_equal(text_words(folded, gather, &want), 0);
	assert_int_equal(text_fold_words(s, strlen(s), gather, &got), 0);
	assert_string_equal(buf_str(&got), buf_str(&want));
	buf_free(&want);
	buf_free(&got);
	free(folded);
}

/* text_fold_words gives what text_words gives of text_fold's copy, for
 * every mix of ASCII, blanks, controls, apostrophes (straight and
 * curly), invalid bytes, and characters that NFKC and case folding
 * change (ligatures, no-break space, sharp s, full-width letters). */
static void test_fold_words_as_fold_then_words(void **state)
{
	/* What the one-pass reading takes: ASCII, blanks, apostrophes and
	 * the typographic marks (no-break space, pound, copyright,
	 * guillemets, en and em dashes, quotation marks, ellipsis)... */
	static const char *const common[] = {
		"a",
		"B",
		"z",
		"Q",
		"0",
		"9",
		" ",
		"\n",
		"\t",
		"'",
		"-",
		".",
		"Don",
		"WORD",
		"x1y2",
		"\xe2\x80\x99",
		"\xc2\xa0",
		"\xc2\xa3",
		"\xc2\xa9",
		"\xc2\xab",
		"\xc2\xbb",
		"\xe2\x80\x93",
		"\xe2\x80\x94",
		"\xe2\x80\x98",
		"\xe2\x80\x9c",
		"\xe2\x80\x9d",
		"\xe2\x80\xa6",
	};
	/* ...and what it leaves to text_fold's cleaning and utf8proc:
	 * controls, letters NFKC or case folding change, a combining
	 * acute, a bullet, the trade mark and superscript two signs,
	 * invalid and cut sequences. */
	static const char *const rare[] = {
		"\x01",		"\r",		"\x7f",	    "\xc3\xa9",
		"\xff",		"\xef\xac\x81", "\xce\xa3", "\xe4\xb8\xad",
		"\xc3\x9f",	"\xef\xbc\xa1", "\xc2\x85", "\xcc\x81",
		"\xe2\x80\xa2", "\xe2\x84\xa2", "\xc2\xb2", "\xe2\x80",
	};
	const size_t n_common = sizeof(common) / sizeof(*common);
	const size_t n_rare = sizeof(rare) / sizeof(*rare);
	char s[512];
	uint64_t r = 0x9e3779b97f4a7c15ULL;
	size_t i, k, len, n;
	const char *word;

	fold_words_as_fold_then_words("");
	fold_words_as_fold_then_words("Don't stop: it's 9 O'CLOCK'");
	fold_words_as_fold_then_words(
		"It\xe2\x80\x99s \xe2\x80\x9cours\xe2\x80\x9d"
		"\xe2\x80\x94\xc2\xa3"
		"5\xe2\x80\xa6 don\xe2\x80\x99\xe2\x80\x99t a\xe2\x80\x98"
		"b");
	fold_words_as_fold_then_words("caf\xc3\xa9\xc2\xa0Stra\xc3\x9f"
				      "e \xef\xac\x81ne a\x01b c\r\nd");
	for (i = 0; i < 20000; i++) {
		n = (size_t)(r >> 59);
		len = 0;
		for (k = 0; k < n; k++) {
			r ^= r << 13;
			r ^= r >> 7;
			r ^= r << 17;
			/* Mostly common parts, so that long runs of them
			 * come up; now and then a rare one. */
			word = (r >> 32) % 16 ? common[r % n_common]
					      : rare[r % n_rare];
			if (len + strlen(word) + 1 > sizeof(s))
				break;
			memcpy(s + len, word, strlen(word));
			len += strlen(word);
		}
		s[len] = '\0';
		fold_words_as_fold_then_words(s);
	}
	/* A word longer than any small buffer. */
	memset(s, 'A', sizeof(s) - 1);
	s[sizeof(s) - 1] = '\0';
	fold_words_as_fold_then_words(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_clean_replaces_invalid_and_drops_controls),
		cmocka_unit_test(test_fold_case_and_compat),
		cmocka_unit_test(test_words_split_and_apostrophes),
		cmocka_unit_test(test_fold_words_as_fold_then_words),
		cmocka_unit_test(test_fold_mixed_words_keeps_spacing),
		cmocka_unit_test(test_clean_keeps_runs_and_cuts_controls),
		cmocka_unit_test(test_parse_int),
		cmocka_unit_test(test_json_quote_as_jansson),
		cmocka_unit_test(test_json_quote_writes_escapes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
