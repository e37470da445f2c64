/* Tests for neardup: normalisation into shingles, keys, comparison and
 * the verdict against the thresholds. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "neardup.h"

static const char briefing[] =
	"The employer has tabled a revised offer for every band. Members in "
	"bands two to four would see a flat rise backdated to April, while "
	"the higher bands get a smaller percentage. The branch committee "
	"will meet on Thursday to decide whether to put the offer to a "
	"consultative ballot, and reps are asked to gather views from their "
	"offices before then.";

static struct neardup_doc *doc(const char *title, const char *text)
{
	struct neardup_doc *d = NULL;

	assert_int_equal(neardup_doc_create(title, text, &d), 0);
	assert_non_null(d);
	return d;
}

/* The verdict on a against b, which neardup_judge_packed must give too
 * from b's packed form, read where it lies (here one byte off the
 * alignment of a uint32). */
static void judge(const char *a_text, const char *b_text,
		  enum dedupe_relation want, double *score)
{
	struct neardup_params p;
	struct neardup_doc *a = doc(NULL, a_text), *b = doc(NULL, b_text);
	struct neardup_match m;
	enum dedupe_relation rel;
	const void *blob;
	unsigned char *copy;
	double packed_score;
	size_t len;

	neardup_params_default(&p);
	neardup_compare(a, b, &m);
	assert_int_equal(neardup_judge(&p, a, b, &m, score), want);
	blob = neardup_doc_packed(b, &len);
	copy = malloc(len + 1);
	assert_non_null(copy);
	memcpy(copy + 1, blob, len);
	assert_int_equal(
		neardup_judge_packed(&p, a, copy + 1, len, &rel, &packed_score),
		0);
	assert_int_equal(rel, want);
	if (want != DEDUPE_NONE)
		assert_true(packed_score == *score);
	free(copy);
	neardup_doc_destroy(a);
	neardup_doc_destroy(b);
}

static void test_case_punctuation_and_spacing_fold(void **state)
{
	struct neardup_doc *a = doc(NULL, briefing), *b;
	struct neardup_match m;
	char *shout = strdup(briefing);

	/* Upper case, doubled spaces, different punctuation, a
	 * compatibility form (fullwidth A) and a curly apostrophe. */
	for (char *c = shout; *c; c++) {
		if (*c >= 'a' && *c <= 'z')
			*c = (char)(*c - 32);
		if (*c == '.')
			*c = ';';
	}
	b = doc(NULL, shout);
	neardup_compare(a, b, &m);
	assert_true(m.jaccard == 1.0);
	assert_int_equal(neardup_doc_words(a), neardup_doc_words(b));
	neardup_doc_destroy(b);
	neardup_doc_destroy(a);
	free(shout);

	a = doc(NULL, "\xef\xbc\xa1 caseload that doesn\xe2\x80\x99t fit");
	b = doc(NULL, "a  CASELOAD, that doesnt fit!");
	neardup_compare(a, b, &m);
	assert_true(m.jaccard == 1.0);
	neardup_doc_destroy(b);
	neardup_doc_destroy(a);
}

static void test_typos_are_similar(void **state)
{
	double score;

	judge(briefing,
	      "The employer has tabled a revised ofer for every band. Members "
	      "in bands two to four would see a flat rise backdated to April, "
	      "while the higher bands get a smaller percentage. The branch "
	      "committee will meet on Thursday to decide wether to put the "
	      "offer to a consultative ballot, and reps are asked to gather "
	      "views from their offices before then.",
	      DEDUPE_SIMILAR, &score);
	assert_true(score > 0.7 && score < 1.0);
}

static void test_quoted_text_is_contained(void **state)
{
	char post[2048];
	double score;

	snprintf(post, sizeof(post),
		 "A reader sent this in last night and it deserves a wider "
		 "audience, so here it is in full. %s My own view is that "
		 "the offer does nothing for the people who have carried "
		 "the service through the last three years, and that the "
		 "branch should say so loudly before any ballot is held.",
		 briefing);
	judge(briefing, post, DEDUPE_CONTAINED, &score);
	assert_true(score == 1.0);
	judge(post, briefing, DEDUPE_CONTAINS, &score);
	assert_true(score == 1.0);
}

static void test_same_topic_is_not_a_duplicate(void **state)
{
	double score;

	judge(briefing,
	      "Our branch rejected the pay offer on Thursday. Members told "
	      "their reps that a flat rise does not make up for years of "
	      "pay restraint, and the committee will now ask the employer "
	      "to return to the table with an offer for every band.",
	      DEDUPE_NONE, &score);
	assert_true(score < 0.3);
}

static void test_short_texts_are_not_compared(void **state)
{
	double score;

	judge("Thanks to everyone who came.", "Thanks to everyone who came.",
	      DEDUPE_NONE, &score);
	assert_true(score == 0);
}

static void test_keys_find_each_other(void **state)
{
	struct neardup_doc *a = doc(NULL, briefing), *b;
	const int64_t *ka, *kb;
	size_t na, nb, i, j, same = 0;

	na = neardup_doc_keys(a, &ka);
	assert_true(na >= NEARDUP_BANDS);
	b = doc("A new title for the same text", briefing);
	nb = neardup_doc_keys(b, &kb);
	/* The title is not part of the text's shingles. */
	assert_int_equal(na, nb);
	for (i = 0; i < na; i++) {
		for (j = 0; j < nb; j++)
			same += ka[i] == kb[j];
	}
	assert_int_equal(same, na);
	neardup_doc_destroy(b);
	neardup_doc_destroy(a);
}

static void test_empty_and_title_only(void **state)
{
	struct neardup_doc *d = doc(NULL, "");
	const int64_t *k;

	assert_int_equal(neardup_doc_words(d), 0);
	assert_int_equal(neardup_doc_keys(d, &k), 0);
	neardup_doc_destroy(d);
	d = doc(NULL, NULL);
	assert_int_equal(neardup_doc_shingles(d), 0);
	neardup_doc_destroy(d);
	/* No text: the title is what there is. */
	d = doc("Pay offer: what it means", "  ...  ");
	assert_int_equal(neardup_doc_words(d), 5);
	assert_int_equal(neardup_doc_shingles(d), 3);
	neardup_doc_destroy(d);
	d = doc(NULL, "https://example.org/only/a/link");
	assert_int_equal(neardup_doc_words(d), 6);
	neardup_doc_destroy(d);
}

static void test_unspaced_scripts_are_split(void **state)
{
	/* Ten CJK ideographs: ten words, eight shingles. */
	struct neardup_doc *d =
		doc(NULL, "\xe4\xbb\x8a\xe5\xa4\xa9\xe7\x9a\x84\xe5\xb7\xa5"
			  "\xe4\xbd\x9c\xe9\x87\x8f\xe5\xbe\x88\xe5\xa4\xa7"
			  "\xe4\xba\x86\xe5\x90\x97");

	assert_int_equal(neardup_doc_words(d), 10);
	assert_int_equal(neardup_doc_shingles(d), 8);
	neardup_doc_destroy(d);
	/* Greek and Arabic have spaces: words as usual, case folded. */
	d = doc(NULL, "\xce\x97 \xce\x95\xce\xa1\xce\x93\xce\x91\xce\xa3"
		      "\xce\x99\xce\x91 \xcf\x83\xce\xae\xce\xbc\xce\xb5"
		      "\xcf\x81\xce\xb1");
	assert_int_equal(neardup_doc_words(d), 3);
	neardup_doc_destroy(d);
	d = doc(NULL, "\xd8\xb9\xd8\xa8\xd8\xa1 \xd8\xa7\xd9\x84\xd8\xb9"
		      "\xd9\x85\xd9\x84 \xd9\x83\xd8\xa8\xd9\x8a\xd8\xb1");
	assert_int_equal(neardup_doc_words(d), 3);
	neardup_doc_destroy(d);
}

static void test_long_text_reads_only_its_start(void **state)
{
	size_t n = 1 << 20, i;
	char *big = malloc(n + 1);
	struct neardup_doc *d;
	const int64_t *k;

	for (i = 0; i < n; i++)
		big[i] = (i % 7 == 6) ? ' ' : (char)('a' + (i * 31 % 26));
	big[n] = '\0';
	d = doc(NULL, big);
	assert_true(neardup_doc_truncated(d));
	assert_int_equal(neardup_doc_words(d), NEARDUP_MAX_WORDS);
	assert_true(neardup_doc_keys(d, &k) <=
		    NEARDUP_BANDS + NEARDUP_MAX_MARKS);
	neardup_doc_destroy(d);
	free(big);
}

static void test_packed_doc_judges_as_the_original(void **state)
{
	static const char edited[] =
		"The employer has tabled a revised ofer for every band. "
		"Members in bands two to four would see a flat rise "
		"backdated to April, while the higher bands get a smaller "
		"percentage. The branch committee will meet on Friday.";
	struct neardup_params p;
	struct neardup_doc *a = doc(NULL, briefing), *b = doc(NULL, edited);
	struct neardup_doc *u = NULL;
	struct neardup_match m1, m2;
	const int64_t *k;
	const void *blob;
	double s1, s2;
	size_t len;

	neardup_params_default(&p);
	blob = neardup_doc_packed(a, &len);
	assert_int_equal(neardup_doc_unpack(blob, len, &u), 0);
	assert_int_equal(neardup_doc_words(u), neardup_doc_words(a));
	assert_int_equal(neardup_doc_shingles(u), neardup_doc_shingles(a));
	assert_false(neardup_doc_truncated(u));
	assert_int_equal(neardup_doc_keys(u, &k), 0);
	neardup_compare(b, a, &m1);
	neardup_compare(b, u, &m2);
	assert_int_equal(m1.shared, m2.shared);
	assert_true(m1.shared > 0 && m1.shared < neardup_doc_shingles(b));
	assert_int_equal(neardup_judge(&p, b, a, &m1, &s1),
			 neardup_judge(&p, b, u, &m2, &s2));
	assert_true(s1 == s2);
	neardup_doc_destroy(u);
	neardup_doc_destroy(b);
	neardup_doc_destroy(a);
}

static void test_damaged_packed_doc_refused(void **state)
{
	struct neardup_doc *a = doc(NULL, briefing), *u = NULL;
	const void *blob;
	unsigned char *copy;
	uint32_t x;
	size_t len;

	blob = neardup_doc_packed(a, &len);
	assert_true(len > 16);
	copy = malloc(len);
	memcpy(copy, blob, len);
	/* Not a whole number of shingles, too short, out of order. */
	assert_int_equal(neardup_doc_unpack(copy, len - 1, &u), -EINVAL);
	assert_int_equal(neardup_doc_unpack(copy, 4, &u), -EINVAL);
	memcpy(&x, copy + len - 4, 4);
	memcpy(copy + len - 4, copy + len - 8, 4);
	memcpy(copy + len - 8, &x, 4);
	assert_int_equal(neardup_doc_unpack(copy, len, &u), -EINVAL);
	assert_null(u);
	/* Judged in place, it is refused just the same. */
	{
		struct neardup_params p;
		enum dedupe_relation rel;
		double score;

		neardup_params_default(&p);
		assert_int_equal(
			neardup_judge_packed(&p, a, copy, len, &rel, &score),
			-EINVAL);
		assert_int_equal(neardup_judge_packed(&p, a, copy, len - 1,
						      &rel, &score),
				 -EINVAL);
	}
	free(copy);
	neardup_doc_destroy(a);
}

/* Keys are stored: whatever computes them (the scalar MinHash or the
 * AVX-512 one, say), a text keeps the keys it had when it was stored. */
static void test_keys_never_change(void **state)
{
	static const uint64_t want[4] = {
		0x0c399ac63a20d06dULL,
		0x210168d8529faa02ULL,
		0x31280752b04f2370ULL,
		0x132351015708523dULL,
	};
	struct neardup_doc *d = doc(NULL, briefing);
	const int64_t *k;

	assert_int_equal(neardup_doc_keys(d, &k), 21);
	for (size_t i = 0; i < 4; i++)
		assert_true((uint64_t)k[i] == want[i]);
	neardup_doc_destroy(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_case_punctuation_and_spacing_fold),
		cmocka_unit_test(test_typos_are_similar),
		cmocka_unit_test(test_quoted_text_is_contained),
		cmocka_unit_test(test_same_topic_is_not_a_duplicate),
		cmocka_unit_test(test_short_texts_are_not_compared),
		cmocka_unit_test(test_keys_find_each_other),
		cmocka_unit_test(test_keys_never_change),
		cmocka_unit_test(test_empty_and_title_only),
		cmocka_unit_test(test_unspaced_scripts_are_split),
		cmocka_unit_test(test_long_text_reads_only_its_start),
		cmocka_unit_test(test_packed_doc_judges_as_the_original),
		cmocka_unit_test(test_damaged_packed_doc_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
