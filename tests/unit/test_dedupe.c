/* Tests for dedupe: canonical URLs and text fingerprints. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

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
	{"https://Probation.Blogspot.CO.UK/2026/11/x.html?m=1#c42",
	 "https://probation.blogspot.com/2026/11/x.html"},
	{"https://probation.blogspot.com.au/2026/11/x.html?m=0",
	 "https://probation.blogspot.com/2026/11/x.html"},
	{"https://example.org/a?gclid=1&msclkid=2&mc_cid=3&_ga=4&page=2",
	 "https://example.org/a?page=2"},
	{"https://example.org/a/b///?", "https://example.org/a/b"},
	{"https://example.org/a?igshid=x&ref_src=twsrc&WT.mc_id=y",
	 "https://example.org/a"},
	{"https://example.org/a?m=2", "https://example.org/a?m=2"},
	{"https://example.org/a?mode=1", "https://example.org/a?mode=1"},
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

/* The fingerprint is the BLAKE2b (16 bytes, hex) of the folded words,
 * each followed by a space, with a newline after the title and after
 * the text: checked against that definition on a text long enough to
 * go through the hashing stage several times, with runs of letters of
 * every length across its boundaries. */
static void test_fingerprint_is_the_hash_of_the_words(void **state)
{
	static char text[40000], words[40000];
	unsigned char hash[16];
	char want[DEDUPE_FINGERPRINT_LEN], got[DEDUPE_FINGERPRINT_LEN];
	crypto_generichash_state h;
	size_t t = 0, w = 0, n, k;
	uint32_t r = 7;
	const char *sep;

	while (t < sizeof(text) - 200) {
		r = r * 1103515245 + 12345;
		n = 1 + (r >> 16) % 60; /* a word of 1 to 60 letters */
		for (k = 0; k < n; k++) {
			char c = (char)('a' + (r >> (k % 16)) % 26);

			text[t++] = k % 3 ? c : (char)(c - 32);
			words[w++] = c;
		}
		if ((r >> 8) % 5 == 0) {
			/* "don't": one word without its apostrophe */
			text[t++] = '\'';
			text[t++] = 't';
			words[w++] = 't';
		}
		words[w++] = ' ';
		sep = (r >> 12) % 2 ? ", " : "  --\n";
		memcpy(text + t, sep, strlen(sep));
		t += strlen(sep);
	}
	text[t] = '\0';
	crypto_generichash_init(&h, NULL, 0, sizeof(hash));
	crypto_generichash_update(&h, (const unsigned char *)"the title \n",
				  11);
	crypto_generichash_update(&h, (const unsigned char *)words, w);
	crypto_generichash_update(&h, (const unsigned char *)"\n", 1);
	crypto_generichash_final(&h, hash, sizeof(hash));
	sodium_bin2hex(want, sizeof(want), hash, sizeof(hash));
	assert_int_equal(dedupe_fingerprint("The TITLE!", text, got), 0);
	assert_string_equal(got, want);
}

static void test_global_ids(void **state)
{
	assert_true(dedupe_id_is_global("tag:blogger.com,1999:blog-1.post-2"));
	assert_true(dedupe_id_is_global("https://example.org/2026/11/x"));
	assert_true(dedupe_id_is_global("urn:uuid:1225c695-cfb8-4ebb"));
	assert_false(dedupe_id_is_global("42"));
	assert_false(dedupe_id_is_global("post 42: pay"));
	assert_false(dedupe_id_is_global("a:1"));
	assert_false(dedupe_id_is_global(""));
	assert_false(dedupe_id_is_global(NULL));
}

static void test_relation_names_round_trip(void **state)
{
	int r;

	for (r = DEDUPE_ID; r <= DEDUPE_CONTAINS; r++) {
		assert_non_null(dedupe_relation_name(r));
		assert_int_equal(dedupe_relation_parse(dedupe_relation_name(r)),
				 r);
	}
	assert_null(dedupe_relation_name(DEDUPE_NONE));
	assert_int_equal(dedupe_relation_parse("nope"), DEDUPE_NONE);
	assert_int_equal(dedupe_relation_parse(NULL), DEDUPE_NONE);
}

static void test_keep_rule(void **state)
{
	struct dedupe_copy old = {.priority = 0, .published = 1000, .id = 5};
	struct dedupe_copy new = {.priority = 0, .published = 2000, .id = 0};

	/* Similar: the earlier one stays, unless priority says no. */
	assert_false(dedupe_keep_new(DEDUPE_SIMILAR, &new, &old));
	new.published = 500;
	assert_true(dedupe_keep_new(DEDUPE_SIMILAR, &new, &old));
	new.priority = -1;
	assert_false(dedupe_keep_new(DEDUPE_SIMILAR, &new, &old));
	new.priority = 1;
	new.published = 9000;
	assert_true(dedupe_keep_new(DEDUPE_LINK, &new, &old));
	/* Same priority, same time: the one stored first. */
	new.priority = 0;
	new.published = 1000;
	assert_false(dedupe_keep_new(DEDUPE_TEXT, &new, &old));
	new.id = 3;
	assert_true(dedupe_keep_new(DEDUPE_TEXT, &new, &old));
	/* Contained text goes under the longer item, whatever else. */
	new.priority = 100;
	assert_false(dedupe_keep_new(DEDUPE_CONTAINED, &new, &old));
	new.priority = -100;
	new.published = 99999;
	assert_true(dedupe_keep_new(DEDUPE_CONTAINS, &new, &old));
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
		cmocka_unit_test(test_fingerprint_is_the_hash_of_the_words),
		cmocka_unit_test(test_global_ids),
		cmocka_unit_test(test_relation_names_round_trip),
		cmocka_unit_test(test_keep_rule),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
