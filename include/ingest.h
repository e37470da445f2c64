/*
 * ingest: the pipeline from a source's bytes to stored items: parse,
 * normalise, key for dedupe (canonical link, fingerprint), theme, and
 * store in one transaction. Used by bulletind and bulletinctl alike.
 */
#ifndef BULLETIN_INGEST_H
#define BULLETIN_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "log.h"
#include "store.h"
#include "theme.h"

struct ingest_result {
	size_t parsed;	   /* items in the document */
	size_t added;	   /* new items stored */
	size_t duplicates; /* of those, repeats of an earlier story */
	size_t known;	   /* already stored */
	size_t updated;	   /* already stored, edited since: updated */
};

/* Ingests one fetched feed document of src. base_url resolves relative
 * links. Returns 0, or a negative errno with err naming the source: a
 * document that does not parse stores nothing and changes nothing. */
int ingest_feed(struct store *st, const struct theme_set *ts,
		const struct config_source *src, const char *body, size_t len,
		const char *base_url, int64_t now, struct ingest_result *res,
		struct err *err);

#endif
