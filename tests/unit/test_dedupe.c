/* Tests for dedupe: canonical URLs and text fingerprints. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dedupe.h"

static const struct {
	const char *in, *want;
} urls[] = {
	{"HTTP://Blog.Example.ORG:80/2026/11/post.html#comments",
	 "http://blog.example.org/2026/11/post.html"},
	{"https://example.org:443/a/?utm_source=x&id=3&utm_medium=email",
	 "https://example.org/a?id=3"},
	{"https://probation.blogspot.co.uk/2026/11/x.html?m=1",
	 "https://probation.blogspot.com/2026/11/x.html"},
	{"https://probation.blogspot.fr/2026/11/x.html",
	 "https://probation.blogspot.com/2026/11/x.html"},
	{"http://example.org:8080/x?fbclid=abc", "http://example.org:8080/x"},
	{"http://user:pw@example.org/x", "http://example.org/x"},
	{"https://example.org/", "https://example.org"},
	{"mailto:someone@example.org", "mailto:someone@example.org"},
	{"not a url", "not a url"},
};

static void test_canonical_urls(void **state)
{
	struct buf b;
	size_t i;

	for (i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		buf_init(&b, 4096);
		assert_int_equal(dedupe_canon_url(urls[i].in, &b), 0);
		assert_string_equal(buf_str(&b), urls[i].want);
		buf_free(&b);
	}
}

static void test_fingerprint_ignores_case_space_punctuation(void **state)
{
	char a[DEDUPE_FINGERPRINT_LEN], b[DEDUPE_FINGERPRINT_LEN],
		c[DEDUPE_FINGERPRINT_LEN];

	assert_int_equal(dedupe_fingerprint("Pay offer: what it means",
					    "The employer has made an offer "
					    "to every band.",
					    a),
			 0);
	assert_int_equal(dedupe_fingerprint("PAY OFFER — what it means",
					    "  the employer has made an "
					    "offer,\nto every band  ",
					    b),
			 0);
	assert_string_equal(a, b);
	assert_int_equal(strlen(a), 32);
	assert_int_equal(dedupe_fingerprint("Pay offer: what it means",
					    "The employer has made an offer "
					    "to every grade.",
					    c),
			 0);
	assert_string_not_equal(a, c);
}

static void test_fingerprint_folds_other_scripts_and_apostrophes(void **state)
{
	char a[DEDUPE_FINGERPRINT_LEN], b[DEDUPE_FINGERPRINT_LEN];

	assert_int_equal(dedupe_fingerprint("\xc3\x89"
					    "COLE and the officer\xe2\x80\x99"
					    "s "
					    "caseload",
					    "Seven of nine are in the red.", a),
			 0);
	assert_int_equal(dedupe_fingerprint("\xc3\xa9"
					    "cole AND THE OFFICER'S "
					    "caseload",
					    "seven of nine are in the red", b),
			 0);
	assert_string_equal(a, b);
}

static void test_fingerprint_needs_enough_words(void **state)
{
	char a[DEDUPE_FINGERPRINT_LEN];

	assert_int_equal(dedupe_fingerprint("Update", NULL, a), -ENODATA);
	assert_string_equal(a, "");
	assert_int_equal(dedupe_fingerprint(NULL, "", a), -ENODATA);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_canonical_urls),
		cmocka_unit_test(
			test_fingerprint_ignores_case_space_punctuation),
		cmocka_unit_test(
			test_fingerprint_folds_other_scripts_and_apostrophes),
		cmocka_unit_test(test_fingerprint_needs_enough_words),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
