/*
 * theme: which [theme] an item belongs under. Keywords and "quoted
 * phrases" from the config are folded and stemmed (libstemmer, English)
 * once; an item's title and text are folded, split into words and stemmed
 * the same way, and each theme scores THEME_TITLE_WEIGHT per hit in the
 * title and 1 per hit in the text. The best score wins (ties go to the
 * theme declared first); no hit at all means "other". Pure.
 */
#ifndef BULLETIN_THEME_H
#define BULLETIN_THEME_H

#include <stddef.h>

#include "config.h"

#define THEME_TITLE_WEIGHT 3
#define THEME_OTHER "other"

struct theme_set;

/* Compiles the themes of cfg (borrowed: it must outlive the set).
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

#endif
