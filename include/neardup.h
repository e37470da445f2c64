/*
 * neardup: near-duplicate text. Owns the normalisation of a text into
 * word shingles (utf8proc NFKC + case fold, punctuation and spacing
 * folded, CJK and Thai split per character), the MinHash signature and
 * its LSH band keys, the sampled shingle "marks" that find a text quoted
 * inside a longer one, the exact comparison of two texts (Jaccard
 * similarity, containment) and the verdict against the thresholds. Pure:
 * the store keeps the keys in an index and asks for verdicts; it never
 * decides here which copy is kept (that is dedupe_keep_new).
 */
#ifndef BULLETIN_NEARDUP_H
#define BULLETIN_NEARDUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dedupe.h"

/* Words per shingle. */
#define NEARDUP_SHINGLE_WORDS 3
/* MinHash: NEARDUP_BANDS bands of NEARDUP_ROWS values each. */
#define NEARDUP_BANDS 16
#define NEARDUP_ROWS 4
/* One shingle in NEARDUP_MARK_RATE becomes a mark, up to
 * NEARDUP_MAX_MARKS per text, taken from its start. */
#define NEARDUP_MARK_RATE 8
#define NEARDUP_MAX_MARKS 512
/* Only the start of a longer text is shingled. */
#define NEARDUP_MAX_WORDS 50000

/* The thresholds ([dedupe] in the config). */
struct neardup_params {
	double similar;	  /* Jaccard similarity of the shingle sets at
			     or above which two texts are one story */
	double contained; /* share of the shorter text's shingles found
			     in the longer one at or above which the
			     shorter is quoted inside it */
	size_t min_words; /* texts with fewer words are compared only
			     exactly (too little to tell stories apart) */
};

#define NEARDUP_DEFAULT_SIMILAR 0.5
#define NEARDUP_DEFAULT_CONTAINED 0.8
#define NEARDUP_DEFAULT_MIN_WORDS 15

void neardup_params_default(struct neardup_params *p);

/* One text, shingled. */
struct neardup_doc;

/* Shingles text, or title when text has no words (either may be NULL).
 * Returns 0 with *out set, or -ENOMEM. A text with no words gives an
 * empty doc, not an error. */
int neardup_doc_create(const char *title, const char *text,
		       struct neardup_doc **out);
void neardup_doc_destroy(struct neardup_doc *d); /* accepts NULL */

/* The doc's shingle set as bytes to keep (native byte order, like the
 * keys): *len bytes, borrowed from d. neardup_doc_unpack gives back a
 * doc that compares and judges as d does, with no keys. */
const void *neardup_doc_packed(const struct neardup_doc *d, size_t *len);
/* Returns 0 with *out set, -EINVAL if blob is not a packed doc, or
 * -ENOMEM. blob is copied (it need not be aligned). */
int neardup_doc_unpack(const void *blob, size_t len, struct neardup_doc **out);

/* The memory d holds, in bytes (about 4 a shingle and 8 a key). */
size_t neardup_doc_bytes(const struct neardup_doc *d);

/* Words read (at most NEARDUP_MAX_WORDS) and distinct shingles. */
size_t neardup_doc_words(const struct neardup_doc *d);
size_t neardup_doc_shingles(const struct neardup_doc *d);
/* Whether the text was longer than NEARDUP_MAX_WORDS (only its start
 * counts). */
bool neardup_doc_truncated(const struct neardup_doc *d);
/* Whether the text has enough words to be compared at all. */
bool neardup_doc_comparable(const struct neardup_doc *d,
			    const struct neardup_params *p);

/* The keys under which the store indexes this text: NEARDUP_BANDS band
 * keys, then its marks. *keys is borrowed from d. None for a doc with no
 * shingles, or one unpacked. */
size_t neardup_doc_keys(const struct neardup_doc *d, const int64_t **keys);

/* What two texts share. */
struct neardup_match {
	size_t shared;	/* shingles in both */
	double jaccard; /* shared / shingles in either */
	double a_in_b;	/* shared / shingles of a */
	double b_in_a;	/* shared / shingles of b */
};

void neardup_compare(const struct neardup_doc *a, const struct neardup_doc *b,
		     struct neardup_match *m);

/* The verdict from a's side: DEDUPE_CONTAINED (a is inside b, which is
 * at least a ninth longer), DEDUPE_CONTAINS (b is inside a, likewise),
 * DEDUPE_SIMILAR, or DEDUPE_NONE. *score gets the number that decided: the
 * similarity, or the shorter text's containment (for DEDUPE_NONE, the larger of
 * the two). Texts too short to compare are DEDUPE_NONE with score 0. */
enum dedupe_relation neardup_judge(const struct neardup_params *p,
				   const struct neardup_doc *a,
				   const struct neardup_doc *b,
				   const struct neardup_match *m,
				   double *score);

/* neardup_compare and neardup_judge of a against the packed doc in blob
 * (len bytes, as neardup_doc_packed gives them; read in place, aligned
 * or not), except that the comparison stops as soon as no relation can
 * be reached any more: then the verdict is DEDUPE_NONE and *score 0.
 * Returns 0 with *rel and *score set, or -EINVAL when blob is not a
 * packed doc. */
int neardup_judge_packed(const struct neardup_params *p,
			 const struct neardup_doc *a, const void *blob,
			 size_t len, enum dedupe_relation *rel, double *score);

#endif
