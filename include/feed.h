/*
 * feed: bytes of an RSS or Atom document to struct feed. Streaming with
 * libxml2's reader: no DTD loading, no network, no external entities.
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
