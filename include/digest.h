/*
 * digest: one list's digest for one period, as data and as text. Groups
 * items by theme in the list's config order, newest first within a theme;
 * shows an item seen in several sources once with "also in: ..."; numbers
 * the links as references; renders through a template for one recipient.
 * Pure: no I/O, no store.
 */
#ifndef BULLETIN_DIGEST_H
#define BULLETIN_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "config.h"
#include "log.h"
#include "template.h"

#define DIGEST_EXCERPT_WORDS 60

/* An item as the digest sees it. digest_add copies every string. */
struct digest_item {
	int64_t id;
	const char *title;
	const char *link;
	const char *source;   /* the source's title */
	const char *text;     /* plain text; the excerpt is cut from it */
	int64_t published;    /* Unix time */
	const char *theme;    /* theme name, or "other" */
	int64_t duplicate_of; /* id of the item it repeats, or 0 */
};

struct digest_recipient {
	const char *address;
	const char *unsubscribe_url;
	const char *unsubscribe_mailto;
};

struct digest;

/* cfg and list are borrowed and must outlive the digest. */
struct digest *digest_create(const struct config *cfg,
			     const struct config_list *list,
			     int64_t period_start, int64_t period_end);
void digest_destroy(struct digest *d); /* accepts NULL */

/* Adds an item. Items may come in any order; a duplicate whose kept item
 * is also in the digest becomes an "also in" source of it, otherwise it
 * is dropped (its story went out before). Chains of duplicates are
 * followed to the original. An id already added is ignored. A theme that
 * is not among the list's themes counts as "other". Returns 0 or
 * -ENOMEM. */
int digest_add(struct digest *d, const struct digest_item *item);

/* Stories shown (duplicates folded in). */
size_t digest_count(const struct digest *d);

/* The subject line, e.g. "Probation staff news: 12 stories, 16-23 Nov
 * 2026" ("1 story"; "30 Nov - 6 Dec 2026" across months; "28 Dec 2026 -
 * 4 Jan 2027" across years), in local time. Appends to out. */
int digest_subject(const struct digest *d, struct buf *out);

/* Renders the body for one recipient through t (unwrapped text; the
 * message module wraps it). The variables are listed in
 * templates/README.md. The grouped data is built on the first call and
 * reused for the next recipients until digest_add changes the digest.
 * Titles, sources and excerpts are cleaned to one line each (no breaks,
 * controls or bidi characters). Dates use the local time zone. Returns
 * 0, -ENOMEM or -E2BIG. */
int digest_render(const struct digest *d, const struct tmpl *t,
		  const struct digest_recipient *r, struct buf *out);

/* The recipient's values in a body rendered with holes: hole i (see
 * message.h, MESSAGE_HOLE) stands for value i. */
enum digest_hole {
	DIGEST_HOLE_ADDRESS,		/* {{recipient}} */
	DIGEST_HOLE_UNSUBSCRIBE_URL,	/* {{unsubscribe_url}} */
	DIGEST_HOLE_UNSUBSCRIBE_MAILTO, /* {{unsubscribe_mailto}} */
	DIGEST_HOLES
};

/* Renders the body as digest_render does, but with a hole where each
 * recipient value goes: once per digest, for message_body_prepare. A
 * template that tests a recipient value ({{#recipient}}) sees it
 * non-empty. */
int digest_render_holes(const struct digest *d, const struct tmpl *t,
			struct buf *out);

/* Sets vals[i] (initialised bufs, emptied first) to r's value for hole
 * i, as digest_render shows it. Returns 0, -ENOMEM or -E2BIG. */
int digest_recipient_values(const struct digest_recipient *r,
			    struct buf vals[DIGEST_HOLES]);

#endif
