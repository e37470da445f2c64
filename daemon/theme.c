/*
 * theme: keyword matching on stemmed words. Every stem of every keyword
 * gets a number (its place in the sorted vocab); a keyword is a sequence
 * of those numbers (one for a word, several for a phrase), and an item's
 * words become numbers too (-1 for a stem no keyword has), so matching
 * slides integer sequences. A word's number is looked up in a small
 * direct-mapped cache before the stemmer runs: most words of a text are
 * ones seen before. The set's stemmer and cache make it one thread at a
 * time (libstemmer's stemmers are not thread-safe).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libstemmer.h>
#include <sodium.h>

#include "text.h"
#include "theme.h"

/* Stems as strings, only while a set is built. */
struct stems {
	char **v;
	size_t n, cap;
};

struct keyword {
	int32_t *ids; /* its stems (owned), as places in the vocab */
	size_t n;
	const char *text; /* as configured; owned by the config */
};

struct theme_entry {
	const struct config_theme *theme;
	struct keyword *keywords;
	size_t n_keywords;
};

/* One keyword, found by its first stem. */
struct kw_ref {
	int32_t first; /* the keyword's first stem */
	size_t slot;   /* index into the per-keyword counts */
	const struct keyword *kw;
};

/* Words seen lately and their stem's place in the vocab. A word longer
 * than CACHE_WORD bytes is stemmed every time. */
#define CACHE_SLOTS 4096
#define CACHE_WORD 23
struct cache_slot {
	unsigned char len; /* 0: empty */
	char word[CACHE_WORD];
	int32_t id;
};

struct theme_set {
	struct theme_entry *entries;
	size_t n_entries;
	char **vocab; /* every keyword stem, sorted, distinct (owned) */
	size_t n_vocab;
	struct kw_ref *refs; /* sorted by first stem */
	size_t n_refs;
	size_t *ref_at;	    /* refs[ref_at[id]..ref_at[id + 1]] start with id */
	size_t *first_slot; /* per theme: its first keyword's slot */
	int title_weight;
	int min_score;
	struct sb_stemmer *stemmer; /* owned; one thread at a time */
	struct cache_slot *cache;   /* owned; CACHE_SLOTS, likewise */
};

/* An item's words as stem places (-1: no keyword's stem). */
struct ids {
	int32_t *v;
	size_t n, cap;
};

/* Fixed key: the cache only spreads words over its slots. */
static const unsigned char cache_key[crypto_shorthash_KEYBYTES] =
	"bulletin-theme-1";

/* Only the start of a long text is read: a post shows its subject
 * early, and stemming a whole 1 MB post would cost more than it tells. */
#define THEME_MAX_TEXT (16 * 1024)

static void stems_finish(struct stems *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static int stems_add(struct stems *s, char *stem)
{
	char **v;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;

		v = realloc(s->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = stem;
	return 0;
}

struct stem_ctx {
	struct sb_stemmer *stemmer;
	struct stems *out;
};

static int stem_word(const char *word, size_t len, void *arg)
{
	struct stem_ctx *ctx = arg;
	struct sb_stemmer *stemmer = ctx->stemmer;
	const sb_symbol *stem;
	char *copy;

	stem = sb_stemmer_stem(stemmer, (const sb_symbol *)word, (int)len);
	if (!stem)
		return -ENOMEM;
	copy = strndup((const char *)stem, (size_t)sb_stemmer_length(stemmer));
	if (!copy)
		return -ENOMEM;
	if (stems_add(ctx->out, copy)) {
		free(copy);
		return -ENOMEM;
	}
	return 0;
}

/* Folds, splits and stems a keyword into out. */
static int stem_keyword(struct sb_stemmer *stemmer, const char *text,
			struct stems *out)
{
	struct stem_ctx ctx = {stemmer, out};
	char *folded;
	int ret;

	folded = text_fold(text);
	if (!folded)
		return -ENOMEM;
	ret = text_words(folded, stem_word, &ctx);
	free(folded);
	return ret;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The place of the stem (len bytes, not NUL-terminated) in the vocab,
 * or -1. */
static int32_t vocab_find(const struct theme_set *ts, const char *stem,
			  size_t len)
{
	size_t lo = 0, hi = ts->n_vocab, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strncmp(ts->vocab[mid], stem, len);
		if (c == 0 && ts->vocab[mid][len] != '\0')
			c = 1;
		if (c < 0)
			lo = mid + 1;
		else if (c > 0)
			hi = mid;
		else
			return (int32_t)mid;
	}
	return -1;
}

void theme_set_destroy(struct theme_set *ts)
{
	size_t i, k;

	if (!ts)
		return;
	for (i = 0; i < ts->n_entries; i++) {
		for (k = 0; k < ts->entries[i].n_keywords; k++)
			free(ts->entries[i].keywords[k].ids);
		free(ts->entries[i].keywords);
	}
	for (i = 0; i < ts->n_vocab; i++)
		free(ts->vocab[i]);
	free(ts->vocab);
	free(ts->entries);
	free(ts->refs);
	free(ts->ref_at);
	free(ts->first_slot);
	free(ts->cache);
	if (ts->stemmer)
		sb_stemmer_delete(ts->stemmer);
	free(ts);
}

static int cmp_ref(const void *a, const void *b)
{
	const struct kw_ref *x = a, *y = b;

	if (x->first != y->first)
		return x->first < y->first ? -1 : 1;
	return x->slot < y->slot ? -1 : x->slot > y->slot;
}

/* Builds ts->refs and ts->ref_at: every keyword under its first stem. */
static int index_keywords(struct theme_set *ts)
{
	size_t i, k, n = 0;

	for (i = 0; i < ts->n_entries; i++)
		n += ts->entries[i].n_keywords;
	ts->refs = calloc(n + 1, sizeof(*ts->refs));
	ts->first_slot = calloc(ts->n_entries + 1, sizeof(*ts->first_slot));
	ts->ref_at = calloc(ts->n_vocab + 1, sizeof(*ts->ref_at));
	if (!ts->refs || !ts->first_slot || !ts->ref_at)
		return -ENOMEM;
	for (i = 0; i < ts->n_entries; i++) {
		ts->first_slot[i] = ts->n_refs;
		for (k = 0; k < ts->entries[i].n_keywords; k++) {
			struct kw_ref *r = &ts->refs[ts->n_refs];

			r->kw = &ts->entries[i].keywords[k];
			r->first = r->kw->ids[0];
			r->slot = ts->n_refs++;
		}
	}
	ts->first_slot[ts->n_entries] = ts->n_refs;
	qsort(ts->refs, ts->n_refs, sizeof(*ts->refs), cmp_ref);
	/* Counting: ref_at[id] is the first ref whose stem is id or
	 * later. */
	for (i = 0, k = 0; i <= ts->n_vocab; i++) {
		while (k < ts->n_refs && (size_t)ts->refs[k].first < i)
			k++;
		ts->ref_at[i] = k;
	}
	return 0;
}

/* Gathers the stems of all keywords (kw[i] for keyword i of the set, in
 * config order) into the sorted, distinct vocab, taking them over. */
static int build_vocab(struct theme_set *ts, struct stems *kw, size_t n_kw)
{
	size_t i, k, n = 0;

	for (i = 0; i < n_kw; i++)
		n += kw[i].n;
	ts->vocab = calloc(n + 1, sizeof(*ts->vocab));
	if (!ts->vocab)
		return -ENOMEM;
	for (i = 0; i < n_kw; i++) {
		for (k = 0; k < kw[i].n; k++)
			ts->vocab[ts->n_vocab++] = strdup(kw[i].v[k]);
	}
	for (i = 0; i < ts->n_vocab; i++) {
		if (!ts->vocab[i])
			return -ENOMEM;
	}
	qsort(ts->vocab, ts->n_vocab, sizeof(*ts->vocab), cmp_str);
	for (i = 0, k = 0; i < ts->n_vocab; i++) {
		if (k > 0 && strcmp(ts->vocab[k - 1], ts->vocab[i]) == 0)
			free(ts->vocab[i]);
		else
			ts->vocab[k++] = ts->vocab[i];
	}
	ts->n_vocab = k;
	return 0;
}

/* The keywords of cfg's themes, stemmed, into ts->entries. */
static int build_keywords(struct theme_set *ts, const struct config *cfg)
{
	struct stems *kw;
	struct theme_entry *e;
	struct keyword *w;
	size_t i, k, j, n = 0, at = 0;
	int ret = 0;

	for (i = 0; i < cfg->n_themes; i++)
		n += cfg->themes[i].n_keywords;
	kw = calloc(n + 1, sizeof(*kw));
	if (!kw)
		return -ENOMEM;
	for (i = 0; i < cfg->n_themes && !ret; i++) {
		for (k = 0; k < cfg->themes[i].n_keywords && !ret; k++)
			ret = stem_keyword(ts->stemmer,
					   cfg->themes[i].keywords[k],
					   &kw[at++]);
	}
	if (!ret)
		ret = build_vocab(ts, kw, n);
	at = 0;
	for (i = 0; i < cfg->n_themes && !ret; i++) {
		e = &ts->entries[ts->n_entries++];
		e->theme = &cfg->themes[i];
		e->keywords = calloc(cfg->themes[i].n_keywords + 1,
				     sizeof(*e->keywords));
		if (!e->keywords) {
			ret = -ENOMEM;
			break;
		}
		for (k = 0; k < cfg->themes[i].n_keywords; k++, at++) {
			if (kw[at].n == 0)
				continue;
			w = &e->keywords[e->n_keywords++];
			w->text = cfg->themes[i].keywords[k];
			w->ids = calloc(kw[at].n, sizeof(*w->ids));
			if (!w->ids) {
				ret = -ENOMEM;
				break;
			}
			w->n = kw[at].n;
			for (j = 0; j < kw[at].n; j++)
				w->ids[j] = vocab_find(ts, kw[at].v[j],
						       strlen(kw[at].v[j]));
		}
	}
	for (i = 0; i < n; i++)
		stems_finish(&kw[i]);
	free(kw);
	return ret;
}

struct theme_set *theme_set_create(const struct config *cfg)
{
	struct theme_set *ts;

	ts = calloc(1, sizeof(*ts));
	if (!ts)
		return NULL;
	ts->stemmer = sb_stemmer_new("english", "UTF_8");
	ts->entries =
		calloc(cfg->n_themes ? cfg->n_themes : 1, sizeof(*ts->entries));
	ts->cache = calloc(CACHE_SLOTS, sizeof(*ts->cache));
	if (!ts->stemmer || !ts->entries || !ts->cache ||
	    build_keywords(ts, cfg) || index_keywords(ts)) {
		theme_set_destroy(ts);
		return NULL;
	}
	ts->title_weight = cfg->theme_title_weight > 0 ? cfg->theme_title_weight
						       : THEME_TITLE_WEIGHT;
	ts->min_score = cfg->theme_min_score > 0 ? cfg->theme_min_score : 1;
	return ts;
}

/* The stem place of a word: from the cache, or stemmed (and cached). */
static int word_id(const struct theme_set *ts, const char *word, size_t len,
		   int32_t *id)
{
	unsigned char h[crypto_shorthash_BYTES];
	struct cache_slot *c = NULL;
	const sb_symbol *stem;

	if (len <= CACHE_WORD) {
		crypto_shorthash(h, (const unsigned char *)word, len,
				 cache_key);
		c = &ts->cache[(h[0] | (size_t)h[1] << 8) % CACHE_SLOTS];
		if (c->len == len && memcmp(c->word, word, len) == 0) {
			*id = c->id;
			return 0;
		}
	}
	stem = sb_stemmer_stem(ts->stemmer, (const sb_symbol *)word, (int)len);
	if (!stem)
		return -ENOMEM;
	*id = vocab_find(ts, (const char *)stem,
			 (size_t)sb_stemmer_length(ts->stemmer));
	if (c) {
		c->len = (unsigned char)len;
		memcpy(c->word, word, len);
		c->id = *id;
	}
	return 0;
}

struct ids_ctx {
	const struct theme_set *ts;
	struct ids *out;
};

static int add_word(const char *word, size_t len, void *arg)
{
	struct ids_ctx *ctx = arg;
	struct ids *out = ctx->out;
	int32_t id, *v;
	int ret;

	ret = word_id(ctx->ts, word, len, &id);
	if (ret)
		return ret;
	if (out->n == out->cap) {
		size_t cap = out->cap ? out->cap * 2 : 64;

		v = realloc(out->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		out->v = v;
		out->cap = cap;
	}
	out->v[out->n++] = id;
	return 0;
}

/* Folds, splits and stems the len bytes of text into out. */
static int text_ids(const struct theme_set *ts, const char *text, size_t len,
		    struct ids *out)
{
	struct ids_ctx ctx = {ts, out};

	return text_fold_words(text, len, add_word, &ctx);
}

/* Whether kw's stems start at words->v[i]. */
static bool matches_at(const struct ids *words, size_t i,
		       const struct keyword *kw)
{
	size_t j, n = kw->n;

	if (words->n - i < n)
		return false;
	for (j = 1; j < n; j++) {
		if (words->v[i + j] != kw->ids[j])
			return false;
	}
	return true;
}

/* Adds each keyword's hits in words to counts[slot]: only the keywords
 * that start with each word's stem are tried. */
static void count_hits(const struct theme_set *ts, const struct ids *words,
		       int *counts)
{
	size_t i, r;
	int32_t id;

	for (i = 0; i < words->n; i++) {
		id = words->v[i];
		if (id < 0)
			continue;
		for (r = ts->ref_at[id]; r < ts->ref_at[id + 1]; r++) {
			if (matches_at(words, i, ts->refs[r].kw))
				counts[ts->refs[r].slot]++;
		}
	}
}

/* Stems the title and the start of the text. */
static int stem_item(const struct theme_set *ts, const char *title,
		     const char *text, struct ids *t, struct ids *b, bool *cut)
{
	size_t k = text ? strlen(text) : 0;
	int ret = 0;

	*cut = false;
	if (k > THEME_MAX_TEXT) {
		/* Cut between characters, not inside one. */
		k = THEME_MAX_TEXT;
		while (k > 0 && ((unsigned char)text[k] & 0xc0) == 0x80)
			k--;
		*cut = true;
	}
	if (title)
		ret = text_ids(ts, title, strlen(title), t);
	if (!ret && text)
		ret = text_ids(ts, text, k, b);
	return ret;
}

/* Scores every theme into out[i] (and, with ex, records the hits). */
static int score_all(const struct theme_set *ts, const struct ids *t,
		     const struct ids *b, int *out, struct theme_explain *ex)
{
	const struct theme_entry *e;
	struct theme_hit *h;
	int *tc, *bc, th, bh, ret = 0;
	size_t i, k, slot;

	tc = calloc(2 * ts->n_refs + 1, sizeof(*tc));
	if (!tc)
		return -ENOMEM;
	bc = tc + ts->n_refs;
	count_hits(ts, t, tc);
	count_hits(ts, b, bc);
	for (i = 0; i < ts->n_entries && !ret; i++) {
		e = &ts->entries[i];
		out[i] = 0;
		for (k = 0; k < e->n_keywords; k++) {
			slot = ts->first_slot[i] + k;
			th = tc[slot];
			bh = bc[slot];
			out[i] += ts->title_weight * th +
				  (bh < THEME_MAX_TEXT_HITS
					   ? bh
					   : THEME_MAX_TEXT_HITS);
			if (!ex || (th == 0 && bh == 0))
				continue;
			if (!ex->themes[i].hits) {
				ex->themes[i].hits =
					calloc(e->n_keywords, sizeof(*h));
				if (!ex->themes[i].hits) {
					ret = -ENOMEM;
					break;
				}
			}
			h = &ex->themes[i].hits[ex->themes[i].n_hits++];
			h->keyword = e->keywords[k].text;
			h->title = th;
			h->text = bh;
		}
	}
	free(tc);
	return ret;
}

/* The winner of scores: the first best at or above the threshold. */
static size_t pick(const struct theme_set *ts, const int *scores)
{
	size_t i, best = ts->n_entries;

	for (i = 0; i < ts->n_entries; i++) {
		if (scores[i] >= ts->min_score &&
		    (best == ts->n_entries || scores[i] > scores[best]))
			best = i;
	}
	return best;
}

static int classify(const struct theme_set *ts, const char *title,
		    const char *text, struct theme_result *res,
		    struct theme_explain *ex)
{
	struct ids t = {0}, b = {0};
	int *scores = NULL;
	bool cut = false;
	size_t best;
	int ret;

	res->name = THEME_OTHER;
	res->score = 0;
	if (ts->n_entries == 0)
		return 0;
	scores = calloc(ts->n_entries, sizeof(*scores));
	if (!scores)
		return -ENOMEM;
	ret = stem_item(ts, title, text, &t, &b, &cut);
	if (!ret)
		ret = score_all(ts, &t, &b, scores, ex);
	if (!ret) {
		best = pick(ts, scores);
		if (best < ts->n_entries) {
			res->name = ts->entries[best].theme->name;
			res->score = scores[best];
		}
	}
	if (!ret && ex) {
		for (size_t i = 0; i < ts->n_entries; i++)
			ex->themes[i].score = scores[i];
		ex->title_words = t.n;
		ex->text_words = b.n;
		ex->text_cut = cut;
	}
	free(scores);
	free(t.v);
	free(b.v);
	return ret;
}

int theme_classify(const struct theme_set *ts, const char *title,
		   const char *text, struct theme_result *res)
{
	return classify(ts, title, text, res, NULL);
}

int theme_explain(const struct theme_set *ts, const char *title,
		  const char *text, struct theme_explain *out)
{
	struct theme_result res;
	size_t i;
	int ret;

	memset(out, 0, sizeof(*out));
	out->winner = THEME_OTHER;
	out->min_score = ts->min_score;
	out->title_weight = ts->title_weight;
	out->themes = calloc(ts->n_entries + 1, sizeof(*out->themes));
	if (!out->themes)
		return -ENOMEM;
	out->n_themes = ts->n_entries;
	for (i = 0; i < ts->n_entries; i++)
		out->themes[i].name = ts->entries[i].theme->name;
	ret = classify(ts, title, text, &res, out);
	out->winner = res.name;
	out->score = res.score;
	return ret;
}

void theme_explain_finish(struct theme_explain *e)
{
	size_t i;

	if (!e || !e->themes)
		return;
	for (i = 0; i < e->n_themes; i++)
		free(e->themes[i].hits);
	free(e->themes);
	memset(e, 0, sizeof(*e));
}
