/*
 * dedupe: the keys that recognise one story seen twice, and the rule for
 * which copy is kept. A canonical URL (scheme and host case, default
 * ports, fragments, tracking parameters, Blogger's ?m=1 and country
 * domains, trailing slashes), a fingerprint of the normalised text
 * (folded words, punctuation and spacing ignored), whether an id is
 * global enough to compare across sources, and the relation names the
 * store records. Near duplicates (shingles) are neardup's. Pure; the
 * store does the lookups.
 */
#ifndef BULLETIN_DEDUPE_H
#define BULLETIN_DEDUPE_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"

/* Appends the canonical form of url to out. A string that is not an
 * absolute http(s) URL is appended as it is. Returns 0 or -ENOMEM. */
int dedupe_canon_url(const char *url, struct buf *out);

/* Writes the fingerprint of title and text (either may be NULL) as 32 hex
 * digits plus NUL into out. Returns 0, -ENOMEM, or -ENODATA when there
 * are too few words to tell stories apart (then out is ""). */
#define DEDUPE_FINGERPRINT_LEN 33
int dedupe_fingerprint(const char *title, const char *text,
		       char out[DEDUPE_FINGERPRINT_LEN]);

/* Whether a feed's item id names one item everywhere (a URI such as
 * "tag:blogger.com,1999:blog-1.post-2" or a URL), so that two sources
 * carrying it carry one story. Short local ids ("1", "42") are not. */
bool dedupe_id_is_global(const char *guid);

/* How a duplicate relates to the item it was matched with. */
enum dedupe_relation {
	DEDUPE_NONE,
	DEDUPE_ID,	  /* the same global id */
	DEDUPE_LINK,	  /* the same canonical link */
	DEDUPE_TEXT,	  /* the same normalised title and text */
	DEDUPE_SIMILAR,	  /* near-identical text (light edits) */
	DEDUPE_CONTAINED, /* its text is inside the other, longer one */
	DEDUPE_CONTAINS,  /* it holds the other's text, but the other was
			     mailed already, so the other stays the story */
};

/* "id", "link", "text", "similar", "contained", "contains"; NULL for
 * DEDUPE_NONE. */
const char *dedupe_relation_name(enum dedupe_relation rel);

/* DEDUPE_NONE for a name that is none of those (or NULL). */
enum dedupe_relation dedupe_relation_parse(const char *name);

/* One copy of a story, as the keep rule sees it. */
struct dedupe_copy {
	int priority;	   /* its source's priority */
	int64_t published; /* Unix time */
	int64_t id;	   /* store id; 0 for one not stored yet (newest) */
	size_t shingles;   /* size of its text, in shingles */
};

/* Whether a new copy should be kept instead of the stored one it matches
 * with relation rel (from the new copy's side: DEDUPE_CONTAINED means the
 * new copy's text is inside the stored one). Contained text goes under
 * the longer item, which loses nothing; otherwise the source with the
 * higher priority wins, then the earlier publication, then the copy
 * stored first. */
bool dedupe_keep_new(enum dedupe_relation rel, const struct dedupe_copy *new,
		     const struct dedupe_copy *old);

#endif
