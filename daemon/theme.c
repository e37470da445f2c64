/*
 * theme: keyword matching on stemmed words. A keyword is a sequence of
 * stems (one for a word, several for a phrase); matching slides each
 * sequence over the item's stems. Stemming uses one sb_stemmer per call
 * because libstemmer's stemmers are not thread-safe and this is cheap.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libstemmer.h>

#include "text.h"
#include "theme.h"

struct stems {
	char **v;
	size_t n, cap;
};

struct keyword {
	struct stems stems;
	const char *text; /* as configured; owned by the config */
};

struct theme_entry {
	const struct config_theme *theme;
	struct keyword *keywords;
	size_t n_keywords;
};

/* One keyword, found by its first stem. */
struct kw_ref {
	const char *first; /* the keyword's first stem */
	size_t slot;	   /* index into the per-keyword counts */
	const struct keyword *kw;
};

struct theme_set {
	struct theme_entry *entries;
	size_t n_entries;
	struct kw_ref *refs; /* sorted by first stem: one lookup per word */
	size_t n_refs;
	size_t *first_slot; /* per theme: its first keyword's slot */
	int title_weight;
	int min_score;
	struct sb_stemmer *stemmer; /* owned; one thread at a time */
};

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

struct stem_ctx {
	struct sb_stemmer *stemmer;
	struct stems *out;
};

static int stem_word(const char *word, size_t len, void *arg)
{
	struct stem_ctx *ctx = arg;
	const sb_symbol *stem;
	char **v;
	char *copy;

	stem = sb_stemmer_stem(ctx->stemmer, (const sb_symbol *)word, (int)len);
	if (!stem)
		return -ENOMEM;
	copy = strndup((const char *)stem,
		       (size_t)sb_stemmer_length(ctx->stemmer));
	if (!copy)
		return -ENOMEM;
	if (ctx->out->n == ctx->out->cap) {
		size_t cap = ctx->out->cap ? ctx->out->cap * 2 : 16;

		v = realloc(ctx->out->v, cap * sizeof(*v));
		if (!v) {
			free(copy);
			return -ENOMEM;
		}
		ctx->out->v = v;
		ctx->out->cap = cap;
	}
	ctx->out->v[ctx->out->n++] = copy;
	return 0;
}

/* Folds, splits and stems text into out. */
static int stem_text(struct sb_stemmer *stemmer, const char *text,
		     struct stems *out)
{
	struct stem_ctx ctx = {stemmer, out};
	char *folded;
	int ret;

	if (!text)
		return 0;
	folded = text_fold(text);
	if (!folded)
		return -ENOMEM;
	ret = text_words(folded, stem_word, &ctx);
	free(folded);
	return ret;
}

void theme_set_destroy(struct theme_set *ts)
{
	size_t i, k;

	if (!ts)
		return;
	for (i = 0; i < ts->n_entries; i++) {
		for (k = 0; k < ts->entries[i].n_keywords; k++)
			stems_finish(&ts->entries[i].keywords[k].stems);
		free(ts->entries[i].keywords);
	}
	free(ts->entries);
	free(ts->refs);
	free(ts->first_slot);
	if (ts->stemmer)
		sb_stemmer_delete(ts->stemmer);
	free(ts);
}

static int cmp_ref(const void *a, const void *b)
{
	const struct kw_ref *x = a, *y = b;
	int c = strcmp(x->first, y->first);

	if (c)
		return c;
	return x->slot < y->slot ? -1 : x->slot > y->slot;
}

/* Builds ts->refs: every keyword under its first stem. */
static int index_keywords(struct theme_set *ts)
{
	size_t i, k, n = 0;

	for (i = 0; i < ts->n_entries; i++)
		n += ts->entries[i].n_keywords;
	ts->refs = calloc(n + 1, sizeof(*ts->refs));
	ts->first_slot = calloc(ts->n_entries + 1, sizeof(*ts->first_slot));
	if (!ts->refs || !ts->first_slot)
		return -ENOMEM;
	for (i = 0; i < ts->n_entries; i++) {
		ts->first_slot[i] = ts->n_refs;
		for (k = 0; k < ts->entries[i].n_keywords; k++) {
			struct kw_ref *r = &ts->refs[ts->n_refs];

			r->kw = &ts->entries[i].keywords[k];
			r->first = r->kw->stems.v[0];
			r->slot = ts->n_refs++;
		}
	}
	ts->first_slot[ts->n_entries] = ts->n_refs;
	qsort(ts->refs, ts->n_refs, sizeof(*ts->refs), cmp_ref);
	return 0;
}

struct theme_set *theme_set_create(const struct config *cfg)
{
	struct sb_stemmer *stemmer;
	struct theme_set *ts;
	struct theme_entry *e;
	size_t i, k;

	stemmer = sb_stemmer_new("english", "UTF_8");
	if (!stemmer)
		return NULL;
	ts = calloc(1, sizeof(*ts));
	if (!ts)
		goto fail;
	ts->entries =
		calloc(cfg->n_themes ? cfg->n_themes : 1, sizeof(*ts->entries));
	if (!ts->entries)
		goto fail;
	for (i = 0; i < cfg->n_themes; i++) {
		e = &ts->entries[ts->n_entries++];
		e->theme = &cfg->themes[i];
		e->keywords = calloc(cfg->themes[i].n_keywords + 1,
				     sizeof(*e->keywords));
		if (!e->keywords)
			goto fail;
		for (k = 0; k < cfg->themes[i].n_keywords; k++) {
			if (stem_text(stemmer, cfg->themes[i].keywords[k],
				      &e->keywords[e->n_keywords].stems))
				goto fail;
			e->keywords[e->n_keywords].text =
				cfg->themes[i].keywords[k];
			if (e->keywords[e->n_keywords].stems.n > 0)
				e->n_keywords++;
		}
	}
	ts->stemmer = stemmer;
	if (index_keywords(ts)) {
		ts->stemmer = NULL;
		goto fail;
	}
	ts->title_weight = cfg->theme_title_weight > 0 ? cfg->theme_title_weight
						       : THEME_TITLE_WEIGHT;
	ts->min_score = cfg->theme_min_score > 0 ? cfg->theme_min_score : 1;
	return ts;
fail:
	sb_stemmer_delete(stemmer);
	theme_set_destroy(ts);
	return NULL;
}

/* Whether kw's stems start at words->v[i]. */
static bool matches_at(const struct stems *words, size_t i,
		       const struct keyword *kw)
{
	size_t j, n = kw->stems.n;

	if (words->n - i < n)
		return false;
	for (j = 1; j < n; j++) {
		if (strcmp(words->v[i + j], kw->stems.v[j]) != 0)
			return false;
	}
	return true;
}

/* Adds each keyword's hits in words to counts[slot]: one binary search
 * per word, not one comparison per word and keyword. */
static void count_hits(const struct theme_set *ts, const struct stems *words,
		       int *counts)
{
	size_t i, lo, hi, mid;
	int c;

	for (i = 0; i < words->n; i++) {
		lo = 0;
		hi = ts->n_refs;
		while (lo < hi) {
			mid = lo + (hi - lo) / 2;
			c = strcmp(ts->refs[mid].first, words->v[i]);
			if (c < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (; lo < ts->n_refs &&
		       strcmp(ts->refs[lo].first, words->v[i]) == 0;
		     lo++) {
			if (matches_at(words, i, ts->refs[lo].kw))
				counts[ts->refs[lo].slot]++;
		}
	}
}

/* Stems the title and the start of the text. */
static int stem_item(const struct theme_set *ts, const char *title,
		     const char *text, struct stems *t, struct stems *b,
		     bool *cut)
{
	char *head = NULL;
	size_t k;
	int ret;

	*cut = false;
	if (text && strlen(text) > THEME_MAX_TEXT) {
		/* Cut between characters, not inside one. */
		k = THEME_MAX_TEXT;
		while (k > 0 && ((unsigned char)text[k] & 0xc0) == 0x80)
			k--;
		head = strndup(text, k);
		if (!head)
			return -ENOMEM;
		text = head;
		*cut = true;
	}
	ret = stem_text(ts->stemmer, title, t);
	if (!ret)
		ret = stem_text(ts->stemmer, text, b);
	free(head);
	return ret;
}

/* Scores every theme into out[i] (and, with ex, records the hits). */
static int score_all(const struct theme_set *ts, const struct stems *t,
		     const struct stems *b, int *out, struct theme_explain *ex)
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
	struct stems t = {0}, b = {0};
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
	stems_finish(&t);
	stems_finish(&b);
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
