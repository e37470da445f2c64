/*
 * ingest: feed bytes to store rows. Everything an item needs is computed
 * before the store's one transaction for the whole document, so a failure
 * part-way leaves the store as it was.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "dedupe.h"
#include "feed.h"
#include "ingest.h"

/* Ids longer than this are stored as their hash (RELIABILITY E10). */
#define INGEST_MAX_GUID 512

struct prepared {
	struct buf canon;
	char fingerprint[DEDUPE_FINGERPRINT_LEN];
	char guid_hash[8 + crypto_generichash_BYTES * 2 + 1];
};

/* "hash:" and the hex BLAKE2b of a too-long id: stable across polls. */
static const char *long_guid(const char *guid, struct prepared *p)
{
	unsigned char h[crypto_generichash_BYTES];

	crypto_generichash(h, sizeof(h), (const unsigned char *)guid,
			   strlen(guid), NULL, 0);
	memcpy(p->guid_hash, "hash:", 5);
	sodium_bin2hex(p->guid_hash + 5, sizeof(p->guid_hash) - 5, h,
		       sizeof(h));
	return p->guid_hash;
}

int ingest_feed(struct store *st, const struct theme_set *ts,
		const struct config_source *src, const char *body, size_t len,
		const char *base_url, int64_t now, struct ingest_result *res,
		struct err *err)
{
	struct store_item_new *items = NULL;
	struct prepared *prep = NULL;
	struct store_ingest_result sr;
	struct theme_result theme;
	struct feed *feed = NULL;
	struct err perr = {{0}};
	size_t i, n = 0;
	int ret;

	memset(res, 0, sizeof(*res));
	ret = feed_parse(body, len, base_url, NULL, &feed, &perr);
	if (ret) {
		err_set(err, "source %s: %s", src->name, perr.msg);
		return ret;
	}
	res->parsed = feed->n_items;
	items = calloc(feed->n_items + 1, sizeof(*items));
	prep = calloc(feed->n_items + 1, sizeof(*prep));
	if (!items || !prep) {
		ret = -ENOMEM;
		goto nomem;
	}
	for (i = 0; i < feed->n_items; i++) {
		const struct feed_item *fi = &feed->items[i];
		struct store_item_new *it = &items[n];
		struct prepared *p = &prep[n];
		const char *text = fi->content ? fi->content : fi->summary;

		buf_init(&p->canon, BUF_MAX_LINE);
		it->guid = fi->id ? fi->id : fi->link;
		if (!it->guid) {
			/* Without an id or a link an item cannot be told
			 * apart from its next version: key it by its text. */
			if (dedupe_fingerprint(fi->title, text,
					       p->fingerprint) != 0) {
				log_warnx("source %s: item %zu has no id, "
					  "link or enough text; skipped",
					  src->name, i + 1);
				continue;
			}
			it->guid = p->fingerprint;
		}
		if (strlen(it->guid) > INGEST_MAX_GUID)
			it->guid = long_guid(it->guid, p);
		it->link = fi->link;
		it->title = fi->title;
		it->author = fi->author;
		it->text = text;
		it->published = fi->published != FEED_DATE_NONE ? fi->published
				: fi->updated != FEED_DATE_NONE ? fi->updated
								: 0;
		/* An item dated in the future would sit at the top of every
		 * digest: clamp it to now (RELIABILITY E7). */
		if (it->published > now)
			it->published = now;
		if (fi->link) {
			ret = dedupe_canon_url(fi->link, &p->canon);
			if (ret)
				goto nomem;
			it->canon_link = buf_str(&p->canon);
		}
		if (it->guid != p->fingerprint) {
			ret = dedupe_fingerprint(fi->title, text,
						 p->fingerprint);
			if (ret == -ENOMEM)
				goto nomem;
		}
		it->fingerprint = p->fingerprint[0] ? p->fingerprint : NULL;
		ret = theme_classify(ts, fi->title, text, &theme);
		if (ret)
			goto nomem;
		it->theme = theme.name;
		n++;
	}
	ret = store_items_ingest(st, src->name, items, n, now, &sr, err);
	if (!ret) {
		res->added = sr.added;
		res->duplicates = sr.duplicates;
		res->known = sr.known;
		res->updated = sr.updated;
	}
	goto out;
nomem:
	err_set(err, "source %s: out of memory while ingesting", src->name);
out:
	if (prep) {
		for (i = 0; i < feed->n_items; i++)
			buf_free(&prep[i].canon);
	}
	free(prep);
	free(items);
	feed_destroy(feed);
	return ret;
}
