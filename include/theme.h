/*
 * theme: which [theme] an item belongs under. Keywords and "quoted
 * phrases" from the config are folded and stemmed (libstemmer, English)
 * once; an item's title and text are folded, split into words and stemmed
 * the same way, and each theme scores [classify] title_weight per hit in
 * the title and 1 per hit in the text (at most THEME_MAX_TEXT_HITS per
 * keyword: one word said often is not a subject). The best score wins
 * when it reaches [classify] min_score (ties go to the theme declared
 * first); otherwise the item is "other". Pure.
 */
#ifndef BULLETIN_THEME_H
#define BULLETIN_THEME_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

#define THEME_TITLE_WEIGHT 3 /* when the config says 0 */
#define THEME_MAX_TEXT_HITS 3
#define THEME_OTHER "other"

struct theme_set;

/* Compiles the themes of cfg (borrowed: it must outlive the set), with
 * its [classify] weights (0 means: title weight THEME_TITLE_WEIGHT, any
 * hit enough).
 * Returns NULL when out of memory. A set is used by one thread at a time
 * (it holds a stemmer). */
struct theme_set *theme_set_create(const struct config *cfg);
void theme_set_destroy(struct theme_set *ts); /* accepts NULL */

struct theme_result {
	const char *name; /* theme name (owned by the config) or "other" */
	int score;	  /* the winning score, 0 for "other" */
};

/* Classifies one item; title and text may be NULL. Returns 0 or -ENOMEM
 * (then res says "other"). */
int theme_classify(const struct theme_set *ts, const char *title,
		   const char *text, struct theme_result *res);

/* Why an item scored what it did, for bulletinctl items --explain. */
struct theme_hit {
	const char *keyword; /* as configured (owned by the config) */
	int title;	     /* hits in the title */
	int text;	     /* hits in the text (before the cap) */
};

struct theme_score {
	const char *name; /* owned by the config */
	int score;
	struct theme_hit *hits; /* owned; only keywords that hit */
	size_t n_hits;
};

struct theme_explain {
	struct theme_score *themes; /* owned; in config order */
	size_t n_themes;
	const char *winner; /* as theme_classify says */
	int score;	    /* its score */
	int min_score;	    /* the threshold */
	int title_weight;   /* per title hit */
	size_t title_words; /* words read in the title */
	size_t text_words;  /* words read in the text */
	bool text_cut;	    /* the text was longer than what is read */
};

/* Classifies like theme_classify and says why. Returns 0 or -ENOMEM;
 * free with theme_explain_finish (also after a failure). */
int theme_explain(const struct theme_set *ts, const char *title,
		  const char *text, struct theme_explain *out);
void theme_explain_finish(struct theme_explain *e);

#endif
