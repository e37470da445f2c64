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

#include <stdbool.h>
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

/*
 * Identity: an item's id is its guid (RSS), atom:id (Atom), rdf:about
 * (RSS 1.0) or id (JSON Feed); else its link; else "sha256:" and the
 * lower-case hex SHA-256 of its title, "\n" and its date (published, else
 * updated) as RFC 3339 UTC ("2026-11-16T09:30:00Z", "" when undated).
 * An item with neither title nor date hashes its text (content, else
 * summary) in the title's place. So the id is never NULL and stays the
 * same across polls while those fields do.
 */

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
	/* Threading (Blogger comment feeds, RFC 4685): an entry with
	 * thr:in-reply-to is a comment on the item whose id (ref) this is;
	 * its link is the comment's own alternate link. NULL otherwise. */
	char *in_reply_to;
	long comments; /* thr:total or slash:comments; 0 when not given */
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
	const char *self; /* the feed's own URL as it states it (atom:link
			   * rel="self", JSON feed_url), or NULL */
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

/*
 * What the parser does with what it is given (RELIABILITY group E):
 * - Format by content: a first non-blank '{' is JSON (a JSON Feed when
 *   its "version" starts "https://jsonfeed.org/version/", 1.0 and 1.1,
 *   format "json11"); '<' is XML, told apart by its root element.
 *   jansson cannot stream, so a JSON Feed is buffered whole, up to 8 MiB
 *   (larger ones are refused); XML is never held whole.
 * - Encoding: a byte order mark (UTF-8, UTF-16LE/BE, UTF-32), else the
 *   XML declaration (UTF-16 without BOM is recognised by its zeros), else
 *   the Content-Type's charset, else UTF-8. ISO-8859-1 and US-ASCII are
 *   read as Windows-1252 (0x92 is U+2019), as browsers do; other charsets
 *   go through iconv. Bytes that are not valid in the charset become
 *   U+FFFD, as do character references XML forbids. An unknown label is
 *   read as UTF-8 and reported in err.
 * - HTML named entities (&nbsp; &rsquo; ...) are decoded without a DTD; a
 *   stray '&' is text. A DTD is never loaded or applied: the DOCTYPE is
 *   dropped, its internal entities kept for expansion under a budget
 *   (entities that refer to others or hold markup are refused, external
 *   ones stand for nothing).
 * - Broken XML: items completed before the break are delivered; see
 *   feed_parser_finish. Nesting deeper than 256 counts as broken.
 * - Links are resolved against xml:base, else base_url, else the feed's
 *   own rel="self" link. An Atom entry with thr:in-reply-to is a comment
 *   (in_reply_to set); Atom entries and JSON Feed items without an author
 *   take the feed's, as known when the item ends.
 */

/* Feeds len bytes. Returns 0, the on_item return value, -ENOMEM, or
 * -EPROTO when the document cannot be a feed at all (err says why and
 * where: not XML or JSON, a root element that is no feed's, an entity
 * refused, JSON over the limit); a later error in the XML is reported by
 * _finish. After an error every call returns the same error; after
 * _finish, push returns -EINVAL. */
int feed_parser_push(struct feed_parser *p, const char *data, size_t len,
		     struct err *err);

/* Ends the document. Returns 0 with *info filled, or -EPROTO with err
 * naming the line and what is wrong (also -ENOMEM, or on_item's value).
 * A malformed document is read as far as it is readable: items before
 * the break were already delivered, and then it returns 0 with err->msg
 * saying what broke (so the source's status can show it), or -EPROTO if
 * no item was complete; err->msg is "" when the document was sound, and
 * names what was repaired when something was (a malformed DOCTYPE, an
 * unknown encoding label). info may be NULL. Calling it again returns
 * the same. */
int feed_parser_finish(struct feed_parser *p, struct feed_info *info,
		       struct err *err);

/* True once the parser reads no further: the XML broke off (items
 * before the break were delivered; _finish says what broke) or push
 * failed. The rest of the document can be left undownloaded. */
bool feed_parser_stopped(const struct feed_parser *p);

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
