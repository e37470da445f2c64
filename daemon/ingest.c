/*
 * ingest: feed bytes to store rows. The push parser hands over one item
 * at a time; each is copied with its dedupe keys and its shingles (the
 * costly part of near-duplicate detection, done here so that it runs
 * where the parse runs: on a worker thread for the poller) into a
 * pending list (bounded by the parser's item cap and INGEST_MAX_PENDING),
 * and the list is stored in one transaction at the end, so a failure
 * part-way leaves the store as it was and a transfer that breaks off
 * stores nothing.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "dedupe.h"
#include "feed.h"
#include "ingest.h"
#include "neardup.h"

/* Ids longer than this are stored as their hash (RELIABILITY E10). */
#define INGEST_MAX_GUID 512
/* The items of one document wait for its transaction within this many
 * bytes; items past it are left out (and the admin told). With the
 * parser's item cap, this bounds a document's memory whatever its size. */
#define INGEST_MAX_PENDING (32 << 20)
/* The parser's default item cap (struct feed_limits). */
#define INGEST_MAX_ITEMS 10000

/* One item waiting for the store; every string owned. */
struct pending {
	char *guid;
	char *link;
	char *canon;
	char *title;
	char *author;
	char *text;
	char fingerprint[DEDUPE_FINGERPRINT_LEN];
	int64_t published;
	struct neardup_doc *doc; /* title and text, shingled */
};

struct ingest {
	char *source;
	int64_t now;
	struct feed_parser *parser;
	struct pending *items;
	size_t n, cap;
	size_t parsed;
	size_t bytes;	/* held by the pending items */
	size_t dropped; /* items left out for want of room */
	int failed;	/* a push failed: the error comes from finish */
	bool ended;	/* ingest_end has run */
	int end_ret;
	struct err end_err;
};

static void pending_finish(struct pending *p)
{
	free(p->guid);
	free(p->link);
	free(p->canon);
	free(p->title);
	free(p->author);
	free(p->text);
	neardup_doc_destroy(p->doc);
}

static void ingest_free(struct ingest *in)
{
	size_t i;

	if (!in)
		return;
	feed_parser_destroy(in->parser);
	for (i = 0; i < in->n; i++)
		pending_finish(&in->items[i]);
	free(in->items);
	free(in->source);
	free(in);
}

/* "hash:" and the hex BLAKE2b of a too-long id: stable across polls. */
static char *long_guid(const char *guid)
{
	unsigned char h[crypto_generichash_BYTES];
	char out[5 + crypto_generichash_BYTES * 2 + 1];

	crypto_generichash(h, sizeof(h), (const unsigned char *)guid,
			   strlen(guid), NULL, 0);
	memcpy(out, "hash:", 5);
	sodium_bin2hex(out + 5, sizeof(out) - 5, h, sizeof(h));
	return strdup(out);
}

static char *dup_or_null(const char *s, int *nomem)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*nomem = 1;
	return d;
}

static int ingest_on_item(const struct feed_item *fi, void *arg)
{
	struct ingest *in = arg;
	const char *text = fi->content ? fi->content : fi->summary;
	const char *guid = fi->id ? fi->id : fi->link;
	struct pending *p;
	struct buf canon;
	int nomem = 0;

	in->parsed++;
	if (in->bytes > INGEST_MAX_PENDING) {
		in->dropped++;
		return 0;
	}
	if (in->n == in->cap) {
		size_t cap = in->cap ? in->cap * 2 : 32;
		struct pending *v = realloc(in->items, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		in->items = v;
		in->cap = cap;
	}
	p = &in->items[in->n];
	memset(p, 0, sizeof(*p));
	if (dedupe_fingerprint(fi->title, text, p->fingerprint) == -ENOMEM)
		return -ENOMEM;
	if (!guid) {
		/* Without an id or a link an item cannot be told apart
		 * from its next version: key it by its text. */
		if (!p->fingerprint[0]) {
			log_warnx("source %s: item %zu has no id, link or "
				  "enough text; skipped",
				  in->source, in->parsed);
			return 0;
		}
		guid = p->fingerprint;
	}
	p->guid =
		strlen(guid) > INGEST_MAX_GUID ? long_guid(guid) : strdup(guid);
	if (!p->guid)
		nomem = 1;
	p->link = dup_or_null(fi->link, &nomem);
	p->title = dup_or_null(fi->title, &nomem);
	p->author = dup_or_null(fi->author, &nomem);
	p->text = dup_or_null(text, &nomem);
	if (fi->link) {
		buf_init(&canon, BUF_MAX_LINE);
		if (dedupe_canon_url(fi->link, &canon) == 0)
			p->canon = buf_take(&canon);
		if (!p->canon)
			nomem = 1;
	}
	p->published = fi->published != FEED_DATE_NONE ? fi->published
		       : fi->updated != FEED_DATE_NONE ? fi->updated
						       : 0;
	/* An item dated in the future would sit at the top of every
	 * digest: clamp it to now (RELIABILITY E7). */
	if (p->published > in->now)
		p->published = in->now;
	if (!nomem && neardup_doc_create(p->title, p->text, &p->doc))
		nomem = 1;
	if (nomem) {
		pending_finish(p);
		return -ENOMEM;
	}
	in->bytes += strlen(p->guid) + (p->text ? strlen(p->text) : 0) +
		     (p->title ? strlen(p->title) : 0) + sizeof(*p) +
		     neardup_doc_bytes(p->doc);
	in->n++;
	return 0;
}

struct ingest *ingest_begin(const char *source, const char *base_url,
			    const char *content_type, int64_t now)
{
	struct ingest *in = calloc(1, sizeof(*in));

	if (!in)
		return NULL;
	in->now = now;
	in->source = strdup(source);
	in->parser = feed_parser_create(base_url, content_type, NULL,
					ingest_on_item, in);
	if (!in->source || !in->parser) {
		ingest_free(in);
		return NULL;
	}
	return in;
}

int ingest_push(struct ingest *in, const char *data, size_t len)
{
	struct err err = {{0}};
	int ret;

	if (in->failed)
		return in->failed;
	if (in->ended)
		return INGEST_STOPPED; /* the parser is gone */
	ret = feed_parser_push(in->parser, data, len, &err);
	if (ret)
		in->failed = ret;
	else if (feed_parser_stopped(in->parser))
		return INGEST_STOPPED;
	return ret;
}

void ingest_abort(struct ingest *in)
{
	ingest_free(in);
}

void ingest_end(struct ingest *in)
{
	struct feed_info info;

	if (in->ended)
		return;
	in->ended = true;
	in->end_ret = feed_parser_finish(in->parser, &info, &in->end_err);
	/* The parser's buffers go now: the items may wait a while for
	 * the store (a poller batch). */
	feed_parser_destroy(in->parser);
	in->parser = NULL;
}

int ingest_store(struct ingest *in, struct store *st,
		 const struct theme_set *ts, struct ingest_result *res,
		 struct err *err)
{
	struct store_item_new *items = NULL;
	struct store_ingest_result sr;
	struct theme_result theme;
	struct err perr;
	size_t i;
	int ret;

	memset(res, 0, sizeof(*res));
	ingest_end(in);
	ret = in->end_ret;
	perr = in->end_err;
	if (ret) {
		err_set(err, "%s", perr.msg[0] ? perr.msg : strerror(-ret));
		goto out;
	}
	res->parsed = in->parsed;
	if (perr.msg[0])
		snprintf(res->warning, sizeof(res->warning), "%s", perr.msg);
	else if (in->dropped)
		snprintf(res->warning, sizeof(res->warning),
			 "the feed is too large: only its first %zu items "
			 "(%d MiB of text) were read",
			 in->n, INGEST_MAX_PENDING >> 20);
	else if (in->parsed >= INGEST_MAX_ITEMS)
		snprintf(res->warning, sizeof(res->warning),
			 "the feed has more than %d items: only the first "
			 "%d were read",
			 INGEST_MAX_ITEMS, INGEST_MAX_ITEMS);
	items = calloc(in->n + 1, sizeof(*items));
	if (!items) {
		ret = -ENOMEM;
		err_set(err, "out of memory while storing its items");
		goto out;
	}
	for (i = 0; i < in->n; i++) {
		struct pending *p = &in->items[i];

		ret = theme_classify(ts, p->title, p->text, &theme);
		if (ret) {
			err_set(err,
				"source %s: out of memory while "
				"theming",
				in->source);
			goto out;
		}
		items[i].guid = p->guid;
		items[i].link = p->link;
		items[i].canon_link = p->canon;
		items[i].title = p->title;
		items[i].author = p->author;
		items[i].text = p->text;
		items[i].theme = theme.name;
		items[i].fingerprint =
			p->fingerprint[0] ? p->fingerprint : NULL;
		items[i].published = p->published;
		items[i].doc = p->doc;
	}
	ret = store_items_ingest(st, in->source, items, in->n, in->now, &sr,
				 err);
	if (ret)
		res->store_failed = true;
	if (!ret) {
		res->added = sr.added;
		res->duplicates = sr.duplicates;
		res->known = sr.known;
		res->updated = sr.updated;
	}
out:
	free(items);
	return ret;
}

int ingest_finish(struct ingest *in, struct store *st,
		  const struct theme_set *ts, struct ingest_result *res,
		  struct err *err)
{
	int ret = ingest_store(in, st, ts, res, err);

	ingest_free(in);
	return ret;
}

size_t ingest_bytes(const struct ingest *in)
{
	return in->bytes;
}

int ingest_feed(struct store *st, const struct theme_set *ts,
		const struct config_source *src, const char *body, size_t len,
		const char *base_url, int64_t now, struct ingest_result *res,
		struct err *err)
{
	struct ingest *in = ingest_begin(src->name, base_url, NULL, now);

	memset(res, 0, sizeof(*res));
	if (!in) {
		err_set(err, "out of memory");
		return -ENOMEM;
	}
	ingest_push(in, body, len);
	ingest_end(in);
	return ingest_finish(in, st, ts, res, err);
}
