/*
 * ingest: the pipeline from a source's bytes to stored items: parse (as
 * the bytes arrive), normalise, key for dedupe (canonical link,
 * fingerprint), theme, and store in one transaction at the end. Used by
 * bulletind and bulletinctl alike. ingest_begin, _finish and _abort run
 * on the loop thread (they use the store and the theme set); ingest_push
 * may run on a worker thread, one call at a time for a given ingest.
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
	size_t parsed;		   /* items in the document */
	size_t added;		   /* new items stored */
	size_t duplicates;	   /* of those, repeats of an earlier story */
	size_t known;		   /* already stored */
	size_t updated;		   /* already stored, edited since: updated */
	bool store_failed;	   /* the error came from the store (the
				      document itself was read) */
	char warning[ERR_MSG_MAX]; /* what was wrong with a document that
		  was still read (malformed after some items), or
		  "" */
};

struct ingest;

/* Starts reading one document of the source named source (copied).
 * base_url resolves relative links; content_type (may be NULL) is the
 * HTTP Content-Type. Returns NULL when out of memory. */
struct ingest *ingest_begin(const char *source, const char *base_url,
			    const char *content_type, int64_t now);

/* Feeds the next bytes. Returns 0; INGEST_STOPPED when no more bytes
 * are needed (the XML broke off: ingest_finish keeps the items before
 * the break and says what broke); or a negative errno when the document
 * cannot be a feed (then ingest_finish reports why). */
#define INGEST_STOPPED 1
int ingest_push(struct ingest *in, const char *data, size_t len);

/* Ends the document: the parser reads what it still holds and delivers
 * the last items. Like ingest_push, it may run on a worker thread;
 * ingest_finish calls it when it has not run. */
void ingest_end(struct ingest *in);

/* Ends the document and stores its items in one transaction, themed with
 * ts (the theme set current now: the one at ingest_begin may be gone
 * after a reload). Returns 0, or a negative errno with err saying what
 * is wrong (the caller names the source): a document that does not
 * parse stores nothing. Inside a store batch (store_batch_begin) its
 * items go into the batch's transaction. Frees in. */
int ingest_finish(struct ingest *in, struct store *st,
		  const struct theme_set *ts, struct ingest_result *res,
		  struct err *err);

/* ingest_finish without the freeing: in may be stored again (after the
 * store batch it went into was rolled back), then freed with
 * ingest_abort. */
int ingest_store(struct ingest *in, struct store *st,
		 const struct theme_set *ts, struct ingest_result *res,
		 struct err *err);

/* Bytes of text and shingles held for the document's items. */
size_t ingest_bytes(const struct ingest *in);

/* Drops a document (a failed transfer): nothing is stored. Accepts
 * NULL. */
void ingest_abort(struct ingest *in);

/* The whole pipeline for a document held in memory. */
int ingest_feed(struct store *st, const struct theme_set *ts,
		const struct config_source *src, const char *body, size_t len,
		const char *base_url, int64_t now, struct ingest_result *res,
		struct err *err);

#endif
