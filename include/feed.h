/*
 * feed: bytes of an RSS, Atom or JSON Feed document to items. Streaming
 * (push parser): no DTD loading, no network, no external entities, and a
 * fixed memory budget whatever the document's size.
 * Every text field leaves this module as plain, valid UTF-8 with
 * surrounding whitespace trimmed (HTML rendered through html2text).
 * No I/O of its own.
 */
#ifndef BULLETIN_FEED_H
#define BULLETIN_FEED_H

#include <stddef.h>
#include <stdint.h>

#include "log.h"

enum feed_format {
	FEED_FORMAT_UNKNOWN,
	FEED_FORMAT_RSS090,
	FEED_FORMAT_RSS091,
	FEED_FORMAT_RSS092,
	FEED_FORMAT_RSS20,
	FEED_FORMAT_RSS10,
	FEED_FORMAT_ATOM03,
	FEED_FORMAT_ATOM10,
	FEED_FORMAT_JSON11,
};

#define FEED_DATE_NONE INT64_MIN

/* Every string is owned by the feed; NULL means missing. */
struct feed_item {
	char *id;
	char *link; /* absolute where the feed allows resolving it */
	char *title;
	char *author;
	int64_t published; /* Unix time UTC, or FEED_DATE_NONE */
	int64_t updated;   /* Unix time UTC, or FEED_DATE_NONE */
	char *summary;	   /* plain text */
	char *content;	   /* plain text */
	char **categories;
	size_t n_categories;
};

struct feed {
	char *title;
	char *link;
	enum feed_format format;
	struct feed_item *items;
	size_t n_items;
};

struct feed_limits {
	size_t max_items; /* items beyond this are skipped; 0 = 10000 */
};

/* ---- streaming ---- */

/* The feed's own fields, known once the channel/feed element's children
 * before the first item have been read (and final at feed_parser_finish).
 * Borrowed: valid until the next call on the parser. */
struct feed_info {
	const char *title;
	const char *link;
	enum feed_format format;
};

/* Called once per complete item, in document order; the item and its
 * strings are borrowed for the call. A non-zero return stops the parse
 * and is returned by feed_parser_push or _finish. */
typedef int feed_item_fn(const struct feed_item *item, void *arg);

struct feed_parser;

/* A push parser: bytes go in as they arrive, in chunks of any size
 * (split anywhere, even inside a UTF-8 sequence or an entity), and items
 * come out through on_item. Memory stays within a fixed budget whatever
 * the document's size: nothing but the item being read is kept.
 * content_type (may be NULL) is the HTTP Content-Type, whose charset and
 * type (JSON Feed) it may use. Returns NULL when out of memory. */
struct feed_parser *feed_parser_create(const char *base_url,
				       const char *content_type,
				       const struct feed_limits *limits,
				       feed_item_fn *on_item, void *arg);

/* Feeds len bytes. Returns 0, the on_item return value, -ENOMEM, or
 * -EPROTO when the document cannot be a feed at all (err says why and
 * where); a later error in the XML is reported by _finish. */
int feed_parser_push(struct feed_parser *p, const char *data, size_t len,
		     struct err *err);

/* Ends the document. Returns 0 with *info filled, or -EPROTO with err
 * naming the line and what is wrong. A malformed document is read as far
 * as it is readable: items before the break were already delivered, and
 * then it returns 0 with err->msg saying what broke (so the source's
 * status can show it); err->msg is "" when the document was sound. */
int feed_parser_finish(struct feed_parser *p, struct feed_info *info,
		       struct err *err);

void feed_parser_destroy(struct feed_parser *p); /* accepts NULL */

/* ---- whole documents ---- */

/* Parses len bytes. base_url (may be NULL) resolves relative links.
 * Returns 0 and a new feed in *out, or -EPROTO (not a feed, or broken
 * beyond use: err names the line and what is wrong) or -ENOMEM.
 * When the XML breaks after some complete items (a truncated download),
 * those items are kept: it returns 0 and err->msg still says what broke
 * and where; otherwise err->msg is "" on success. */
int feed_parse(const char *data, size_t len, const char *base_url,
	       const struct feed_limits *limits, struct feed **out,
	       struct err *err);

/* Frees a feed; accepts NULL. */
void feed_destroy(struct feed *feed);

/* "rss20", "atom10", ... as in DESIGN.md's parse contract. */
const char *feed_format_name(enum feed_format format);

/* RFC 822/1123 and RFC 3339/ISO 8601 dates to Unix time UTC. Returns 0,
 * or -EINVAL for text that is not a valid date. */
int feed_parse_date(const char *text, int64_t *out);

#endif
