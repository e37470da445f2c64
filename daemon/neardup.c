/*
 * neardup: shingles, MinHash and marks. A text is folded (NFKC + case
 * fold) and split into words (text_fold_words: punctuation and spacing
 * are separators; CJK and Thai, written without spaces, one word per
 * character), each word hashed with SipHash (libsodium
 * crypto_shorthash, fixed key: keys are stored, so they must not change
 * between runs), and every NEARDUP_SHINGLE_WORDS consecutive words
 * combined into one 64-bit shingle. The keys come from the 64-bit
 * shingles; for comparing, the doc keeps their top 32 bits, sorted and
 * distinct, so two docs compare by one merge, and the store can keep
 * them (neardup_doc_packed) instead of shingling a stored text again.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_AVX512_MINIMA 1
#else
#define HAVE_AVX512_MINIMA 0
#endif

#include "neardup.h"
#include "text.h"

#define N_HASHES (NEARDUP_BANDS * NEARDUP_ROWS)
_Static_assert(N_HASHES % 8 == 0,
	       "the minima take the hashes 4 or 8 at a time");
/* Bytes of text read: enough for NEARDUP_MAX_WORDS words of any script,
 * so a 1 MB post costs no more than its start. */
#define MAX_TEXT_BYTES (NEARDUP_MAX_WORDS * 12)

/* The packed form: a header of PACK_HEAD uint32s (words, flags), then
 * the shingles' top 32 bits, sorted and distinct. */
#define PACK_HEAD 2
#define PACK_TRUNCATED 1u

struct neardup_doc {
	uint32_t *packed;  /* owned: header, then the shingles */
	uint32_t *set;	   /* borrowed: packed + PACK_HEAD */
	size_t n_shingles; /* in set */
	size_t words;
	bool truncated;
	int64_t *keys; /* owned: bands, then marks */
	size_t n_keys; /* 0 for a doc loaded from its packed form */
};

/* Fixed keys: changing them would orphan every stored key. */
static const unsigned char word_key[crypto_shorthash_KEYBYTES] =
	"bulletin-words-1";
static const unsigned char band_key[crypto_shorthash_KEYBYTES] =
	"bulletin-bands-1";

void neardup_params_default(struct neardup_params *p)
{
	p->similar = NEARDUP_DEFAULT_SIMILAR;
	p->contained = NEARDUP_DEFAULT_CONTAINED;
	p->min_words = NEARDUP_DEFAULT_MIN_WORDS;
}

/* The shingler's state while the words go by. */
struct shingler {
	uint64_t last[NEARDUP_SHINGLE_WORDS]; /* word hashes, oldest first */
	size_t words;
	uint64_t *v; /* shingles in text order (owned) */
	size_t n, cap;
	int64_t marks[NEARDUP_MAX_MARKS];
	size_t n_marks;
	int nomem;
};

static uint64_t load64(const unsigned char *b)
{
	uint64_t v;

	memcpy(&v, b, sizeof(v));
	return v;
}

/* splitmix64's finaliser: spreads the combined word hashes. */
static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static int push_shingle(struct shingler *sh, uint64_t s)
{
	if (sh->n == sh->cap) {
		size_t cap = sh->cap ? sh->cap * 2 : 256;
		uint64_t *v = realloc(sh->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		sh->v = v;
		sh->cap = cap;
	}
	sh->v[sh->n++] = s;
	/* Sampled by value, not position: a passage quoted elsewhere
	 * yields the same marks there. */
	if (s % NEARDUP_MARK_RATE == 0 && sh->n_marks < NEARDUP_MAX_MARKS)
		sh->marks[sh->n_marks++] = (int64_t)s;
	return 0;
}

static int add_word(struct shingler *sh, const char *w, size_t len)
{
	unsigned char h[crypto_shorthash_BYTES];
	uint64_t s = 0;
	size_t i;

	if (sh->words >= NEARDUP_MAX_WORDS)
		return 1; /* stop the walk: enough read */
	crypto_shorthash(h, (const unsigned char *)w, len, word_key);
	for (i = 1; i < NEARDUP_SHINGLE_WORDS; i++)
		sh->last[i - 1] = sh->last[i];
	sh->last[NEARDUP_SHINGLE_WORDS - 1] = load64(h);
	sh->words++;
	if (sh->words < NEARDUP_SHINGLE_WORDS)
		return 0;
	/* Position-dependent combination of the last words, oldest
	 * first. */
	for (i = 0; i < NEARDUP_SHINGLE_WORDS; i++)
		s = s * 0x9e3779b97f4a7c15ULL + sh->last[i];
	return push_shingle(sh, mix64(s));
}

/* Scripts written without spaces between words: each character is a
 * word of its own (character shingles). */
static bool is_unspaced(uint32_t cp)
{
	return (cp >= 0x0e00 && cp <= 0x0eff) || /* Thai, Lao */
	       (cp >= 0x1000 && cp <= 0x109f) || /* Myanmar */
	       (cp >= 0x1780 && cp <= 0x17ff) || /* Khmer */
	       (cp >= 0x3040 && cp <= 0x30ff) || /* Hiragana, Katakana */
	       (cp >= 0x3400 && cp <= 0x4dbf) || /* CJK extension A */
	       (cp >= 0x4e00 && cp <= 0x9fff) || /* CJK ideographs */
	       (cp >= 0xf900 && cp <= 0xfaff) || /* CJK compatibility */
	       (cp >= 0x20000 && cp <= 0x3ffff); /* CJK extensions */
}

static int on_word(const char *word, size_t len, void *arg)
{
	struct shingler *sh = arg;
	const unsigned char *p = (const unsigned char *)word;
	size_t i = 0, start = 0, n;
	uint32_t cp;
	int ret = 0;

	/* Fast path: ASCII words (most of them) have no such script. */
	for (i = 0; i < len && p[i] < 0x80; i++)
		;
	if (i == len)
		return add_word(sh, word, len);
	i = 0;
	while (i < len && !ret) {
		n = text_utf8_decode(p + i, len - i, &cp);
		if (n == 0)
			n = 1;
		else if (is_unspaced(cp)) {
			if (i > start)
				ret = add_word(sh, word + start, i - start);
			if (!ret)
				ret = add_word(sh, word + i, n);
			start = i + n;
		}
		i += n;
	}
	if (!ret && len > start)
		ret = add_word(sh, word + start, len - start);
	return ret;
}

/* Sorts v (n values) with tmp (room for n) as scratch: LSD radix, a
 * byte per pass, in linear time (a comparison sort was a tenth of the
 * ingest's time). Four passes leave the result in v. */
static void sort_u32(uint32_t *v, uint32_t *tmp, size_t n)
{
	size_t count[256], i, sum, c;
	uint32_t *src = v, *dst = tmp, *t;
	unsigned shift;

	for (shift = 0; shift < 32; shift += 8) {
		memset(count, 0, sizeof(count));
		for (i = 0; i < n; i++)
			count[(src[i] >> shift) & 0xff]++;
		for (i = 0, sum = 0; i < 256; i++) {
			c = count[i];
			count[i] = sum;
			sum += c;
		}
		for (i = 0; i < n; i++)
			dst[count[(src[i] >> shift) & 0xff]++] = src[i];
		t = src;
		src = dst;
		dst = t;
	}
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* The minimum over the shingles v (n of them) of each of the N_HASHES
 * multiply-shift hashes (odd multipliers mult, high half kept). Four
 * hashes at a time over all the shingles: their multipliers and minima
 * stay in registers, and the four products of a shingle are independent
 * (the hash-major order kept every minimum in memory and was most of the
 * cost of a doc). */
static void minima_scalar(const uint64_t *mult, const uint64_t *shingles,
			  size_t n, uint32_t *mins)
{
	size_t i, j;

	for (j = 0; j < N_HASHES; j += 4) {
		uint64_t m0 = mult[j], m1 = mult[j + 1], m2 = mult[j + 2],
			 m3 = mult[j + 3];
		uint32_t v0 = UINT32_MAX, v1 = UINT32_MAX, v2 = UINT32_MAX,
			 v3 = UINT32_MAX, v;

		for (i = 0; i < n; i++) {
			uint64_t x = shingles[i];

			v = (uint32_t)((m0 * x) >> 32);
			v0 = v < v0 ? v : v0;
			v = (uint32_t)((m1 * x) >> 32);
			v1 = v < v1 ? v : v1;
			v = (uint32_t)((m2 * x) >> 32);
			v2 = v < v2 ? v : v2;
			v = (uint32_t)((m3 * x) >> 32);
			v3 = v < v3 ? v : v3;
		}
		mins[j] = v0;
		mins[j + 1] = v1;
		mins[j + 2] = v2;
		mins[j + 3] = v3;
	}
}

#if HAVE_AVX512_MINIMA
/* The same with AVX-512 (eight 64-bit products at once), where the CPU
 * has it: the same minima, so the same keys. */
__attribute__((target("avx512f,avx512dq"))) static void
minima_avx512(const uint64_t *mult, const uint64_t *shingles, size_t n,
	      uint32_t *mins)
{
	__m512i m[N_HASHES / 8], lo[N_HASHES / 8], x;
	uint64_t out[8];
	size_t i, j, k;

	for (j = 0; j < N_HASHES / 8; j++) {
		m[j] = _mm512_loadu_si512((const void *)(mult + 8 * j));
		lo[j] = _mm512_set1_epi64((long long)UINT32_MAX);
	}
	for (i = 0; i < n; i++) {
		x = _mm512_set1_epi64((long long)shingles[i]);
		for (j = 0; j < N_HASHES / 8; j++)
			lo[j] = _mm512_min_epu64(
				lo[j],
				_mm512_srli_epi64(_mm512_mullo_epi64(m[j], x),
						  32));
	}
	for (j = 0; j < N_HASHES / 8; j++) {
		_mm512_storeu_si512((void *)out, lo[j]);
		for (k = 0; k < 8; k++)
			mins[8 * j + k] = (uint32_t)out[k];
	}
}
#endif

/* MinHash over the shingles (repeats change no minimum): N_HASHES
 * multiply-shift hashes (odd multipliers, high half kept), then one key
 * per band of NEARDUP_ROWS minima. Two texts share a band key with probability
 * J^ROWS per band. */
static void band_keys(struct neardup_doc *d, const uint64_t *shingles, size_t n)
{
	uint64_t mult[N_HASHES], seed = 0x2545f4914f6cdd1dULL;
	uint32_t mins[N_HASHES];
	unsigned char buf[1 + NEARDUP_ROWS * 4];
	unsigned char h[crypto_shorthash_BYTES];
	size_t i;

	/* Odd multipliers from a fixed seed: the same in every process,
	 * as the stored keys need. */
	for (i = 0; i < N_HASHES; i++) {
		seed += 0x9e3779b97f4a7c15ULL;
		mult[i] = mix64(seed) | 1;
	}
#if HAVE_AVX512_MINIMA
	if (__builtin_cpu_supports("avx512f") &&
	    __builtin_cpu_supports("avx512dq"))
		minima_avx512(mult, shingles, n, mins);
	else
#endif
		minima_scalar(mult, shingles, n, mins);
	for (i = 0; i < NEARDUP_BANDS; i++) {
		buf[0] = (unsigned char)i;
		memcpy(buf + 1, &mins[i * NEARDUP_ROWS], NEARDUP_ROWS * 4);
		crypto_shorthash(h, buf, sizeof(buf), band_key);
		d->keys[i] = (int64_t)load64(h);
	}
}

/* How much of s (len bytes) is read: at most max bytes, cut between
 * characters. */
static size_t head_len(const char *s, size_t len, size_t max)
{
	size_t k = max;

	if (len <= max)
		return len;
	while (k > 0 && ((unsigned char)s[k] & 0xc0) == 0x80)
		k--;
	return k;
}

static int shingle_text(struct shingler *sh, const char *text, bool *cut)
{
	size_t len = strlen(text), k = head_len(text, len, MAX_TEXT_BYTES);
	int ret;

	if (k < len)
		*cut = true;
	ret = text_fold_words(text, k, on_word, sh);
	if (ret == 1) {
		*cut = true;
		ret = 0;
	}
	return ret;
}

/* Keeps the top 32 bits of the shingles v (n of them, in text order),
 * sorted and distinct, behind the packed header. */
static int pack(struct neardup_doc *d, const uint64_t *v, size_t n)
{
	uint32_t *tmp;
	size_t i, k = 0;

	d->packed = malloc((PACK_HEAD + n) * sizeof(*d->packed));
	tmp = malloc((n ? n : 1) * sizeof(*tmp));
	if (!d->packed || !tmp) {
		free(tmp);
		return -ENOMEM;
	}
	d->set = d->packed + PACK_HEAD;
	for (i = 0; i < n; i++)
		d->set[i] = (uint32_t)(v[i] >> 32);
	sort_u32(d->set, tmp, n);
	free(tmp);
	for (i = 0; i < n; i++) {
		if (k == 0 || d->set[k - 1] != d->set[i])
			d->set[k++] = d->set[i];
	}
	d->n_shingles = k;
	d->packed[0] = d->words > UINT32_MAX ? UINT32_MAX : (uint32_t)d->words;
	d->packed[1] = d->truncated ? PACK_TRUNCATED : 0;
	return 0;
}

int neardup_doc_create(const char *title, const char *text,
		       struct neardup_doc **out)
{
	struct neardup_doc *d;
	struct shingler sh;
	size_t n_marks;
	int ret = 0;

	*out = NULL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	memset(&sh, 0, sizeof(sh));
	if (text)
		ret = shingle_text(&sh, text, &d->truncated);
	/* Only an item with no text is judged by its title: a new title
	 * on the same text must not hide the repeat. */
	if (!ret && sh.words == 0 && title)
		ret = shingle_text(&sh, title, &d->truncated);
	d->words = sh.words;
	if (!ret)
		ret = pack(d, sh.v, sh.n);
	if (!ret && sh.n > 0) {
		d->keys =
			malloc((NEARDUP_BANDS + sh.n_marks) * sizeof(*d->keys));
		if (!d->keys)
			ret = -ENOMEM;
	}
	if (ret) {
		free(sh.v);
		neardup_doc_destroy(d);
		return ret;
	}
	if (sh.n > 0) {
		band_keys(d, sh.v, sh.n);
		n_marks = sh.n_marks;
		qsort(sh.marks, n_marks, sizeof(*sh.marks), cmp_i64);
		d->n_keys = NEARDUP_BANDS;
		for (size_t i = 0; i < n_marks; i++) {
			if (i == 0 || sh.marks[i] != sh.marks[i - 1])
				d->keys[d->n_keys++] = sh.marks[i];
		}
	}
	free(sh.v);
	*out = d;
	return 0;
}

const void *neardup_doc_packed(const struct neardup_doc *d, size_t *len)
{
	*len = (PACK_HEAD + d->n_shingles) * sizeof(*d->packed);
	return d->packed;
}

int neardup_doc_unpack(const void *blob, size_t len, struct neardup_doc **out)
{
	struct neardup_doc *d;
	size_t n, i;

	*out = NULL;
	if (!blob || len % sizeof(uint32_t) != 0 ||
	    len < PACK_HEAD * sizeof(uint32_t))
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->packed = malloc(len);
	if (!d->packed) {
		free(d);
		return -ENOMEM;
	}
	/* Copied, not cast: the blob need not be aligned. */
	memcpy(d->packed, blob, len);
	n = len / sizeof(uint32_t) - PACK_HEAD;
	d->set = d->packed + PACK_HEAD;
	for (i = 1; i < n; i++) {
		if (d->set[i - 1] >= d->set[i]) {
			neardup_doc_destroy(d);
			return -EINVAL;
		}
	}
	d->n_shingles = n;
	d->words = d->packed[0];
	d->truncated = (d->packed[1] & PACK_TRUNCATED) != 0;
	*out = d;
	return 0;
}

void neardup_doc_destroy(struct neardup_doc *d)
{
	if (!d)
		return;
	free(d->packed);
	free(d->keys);
	free(d);
}

size_t neardup_doc_bytes(const struct neardup_doc *d)
{
	return sizeof(*d) + (PACK_HEAD + d->n_shingles) * sizeof(*d->packed) +
	       d->n_keys * sizeof(*d->keys);
}

size_t neardup_doc_words(const struct neardup_doc *d)
{
	return d->words;
}

size_t neardup_doc_shingles(const struct neardup_doc *d)
{
	return d->n_shingles;
}

bool neardup_doc_truncated(const struct neardup_doc *d)
{
	return d->truncated;
}

bool neardup_doc_comparable(const struct neardup_doc *d,
			    const struct neardup_params *p)
{
	return d->n_shingles > 0 && d->words >= p->min_words;
}

size_t neardup_doc_keys(const struct neardup_doc *d, const int64_t **keys)
{
	*keys = d->keys;
	return d->n_keys;
}

void neardup_compare(const struct neardup_doc *a, const struct neardup_doc *b,
		     struct neardup_match *m)
{
	size_t i = 0, j = 0, shared = 0, all;

	while (i < a->n_shingles && j < b->n_shingles) {
		if (a->set[i] < b->set[j]) {
			i++;
		} else if (a->set[i] > b->set[j]) {
			j++;
		} else {
			shared++;
			i++;
			j++;
		}
	}
	all = a->n_shingles + b->n_shingles - shared;
	m->shared = shared;
	m->jaccard = all ? (double)shared / (double)all : 0;
	m->a_in_b = a->n_shingles ? (double)shared / (double)a->n_shingles : 0;
	m->b_in_a = b->n_shingles ? (double)shared / (double)b->n_shingles : 0;
}

static uint32_t load32(const unsigned char *b)
{
	uint32_t v;

	memcpy(&v, b, sizeof(v));
	return v;
}

/* Fewest shingles a and b must share for any relation but DEDUPE_NONE
 * (as neardup_judge decides it), less one for rounding. */
static size_t least_shared(const struct neardup_params *p, size_t na, size_t nb)
{
	double need = p->similar * (double)(na + nb) / (1 + p->similar);

	if (na * 10 <= nb * 9 && p->contained * (double)na < need)
		need = p->contained * (double)na;
	if (nb * 10 <= na * 9 && p->contained * (double)nb < need)
		need = p->contained * (double)nb;
	return need > 1 ? (size_t)need - 1 : 0;
}

int neardup_judge_packed(const struct neardup_params *p,
			 const struct neardup_doc *a, const void *blob,
			 size_t len, enum dedupe_relation *rel, double *score)
{
	const unsigned char *bb = blob, *set;
	struct neardup_doc b;
	struct neardup_match m;
	size_t nb, i = 0, j = 0, shared = 0, need, all;
	uint32_t x, y;

	*rel = DEDUPE_NONE;
	*score = 0;
	if (!blob || len % sizeof(uint32_t) != 0 ||
	    len < PACK_HEAD * sizeof(uint32_t))
		return -EINVAL;
	nb = len / sizeof(uint32_t) - PACK_HEAD;
	set = bb + PACK_HEAD * sizeof(uint32_t);
	/* Checked whole first, as neardup_doc_unpack does: a damaged set
	 * is told apart even when the comparison stops early. */
	for (j = 1; j < nb; j++) {
		if (load32(set + (j - 1) * 4) >= load32(set + j * 4))
			return -EINVAL;
	}
	memset(&b, 0, sizeof(b));
	b.n_shingles = nb;
	b.words = load32(bb);
	b.truncated = (load32(bb + 4) & PACK_TRUNCATED) != 0;
	if (!neardup_doc_comparable(a, p) || !neardup_doc_comparable(&b, p))
		return 0;
	need = least_shared(p, a->n_shingles, nb);
	j = 0;
	while (i < a->n_shingles && j < nb) {
		/* Stop once the rest could not make up what is missing:
		 * the verdict can only be DEDUPE_NONE. */
		if ((i & 31) == 0 &&
		    shared + (a->n_shingles - i < nb - j ? a->n_shingles - i
							 : nb - j) <
			    need)
			return 0;
		x = a->set[i];
		y = load32(set + j * 4);
		shared += x == y;
		i += x <= y;
		j += y <= x;
	}
	all = a->n_shingles + nb - shared;
	m.shared = shared;
	m.jaccard = all ? (double)shared / (double)all : 0;
	m.a_in_b = a->n_shingles ? (double)shared / (double)a->n_shingles : 0;
	m.b_in_a = nb ? (double)shared / (double)nb : 0;
	*rel = neardup_judge(p, a, &b, &m, score);
	return 0;
}

enum dedupe_relation neardup_judge(const struct neardup_params *p,
				   const struct neardup_doc *a,
				   const struct neardup_doc *b,
				   const struct neardup_match *m, double *score)
{
	*score = 0;
	if (!neardup_doc_comparable(a, p) || !neardup_doc_comparable(b, p))
		return DEDUPE_NONE;
	/* Containment first: a text quoted inside a clearly longer one
	 * goes under it even when the two are also alike. Texts of about
	 * one size are similar or not. */
	if (a->n_shingles * 10 <= b->n_shingles * 9 &&
	    m->a_in_b >= p->contained) {
		*score = m->a_in_b;
		return DEDUPE_CONTAINED;
	}
	if (b->n_shingles * 10 <= a->n_shingles * 9 &&
	    m->b_in_a >= p->contained) {
		*score = m->b_in_a;
		return DEDUPE_CONTAINS;
	}
	if (m->jaccard >= p->similar) {
		*score = m->jaccard;
		return DEDUPE_SIMILAR;
	}
	*score = m->jaccard;
	if (a->n_shingles <= b->n_shingles && m->a_in_b > *score)
		*score = m->a_in_b;
	if (b->n_shingles <= a->n_shingles && m->b_in_a > *score)
		*score = m->b_in_a;
	return DEDUPE_NONE;
}
