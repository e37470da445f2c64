/*
 * outbox: from stored items to delivered digests. Decides when a list's
 * digest is due, composes it into the store (digest, items, one delivery
 * row per subscriber, in one transaction), renders each recipient's
 * message, and works through the deliveries (pending -> sending -> sent
 * or failed) on the configured transport. Owns the compiled templates.
 */
#ifndef BULLETIN_OUTBOX_H
#define BULLETIN_OUTBOX_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "config.h"
#include "log.h"
#include "store.h"
#include "token.h"

struct outbox;

/* Compiles every list's template (an error names file:line) and borrows
 * st, cfg and keys, which must outlive the outbox. */
struct outbox *outbox_create(struct store *st, const struct config *cfg,
			     const struct token_keys *keys, struct err *err);
void outbox_destroy(struct outbox *ob); /* accepts NULL */

/* Whether list's digest is due at now: the latest scheduled time at or
 * before now has no digest yet. *slot receives that scheduled time. */
int outbox_due(struct outbox *ob, const struct config_list *list, int64_t now,
	       bool *due, int64_t *slot, struct err *err);

/* Composes the digest of list covering everything since its previous
 * digest up to now. slot as in store_digest_create (0 = by hand).
 * Returns -EEXIST when that slot is already composed. */
int outbox_compose(struct outbox *ob, const struct config_list *list,
		   int64_t slot, int64_t now, struct store_digest *out,
		   size_t *n_deliveries, struct err *err);

/* Renders the whole message that address would get if list's digest
 * were composed now, sending nothing. */
int outbox_preview(struct outbox *ob, const struct config_list *list,
		   const char *address, int64_t now, struct buf *out,
		   struct err *err);

struct outbox_stats {
	size_t sent;
	size_t failed;
	size_t items; /* stories in the last digest rendered */
};

/* Delivers every due pending row of digest_id (0 = any digest). A row
 * that fails is recorded with its error and the rest go on. Returns 0, or
 * a negative errno when the transport or the store is unusable (err says
 * why; the rows stay pending). */
int outbox_send(struct outbox *ob, int64_t digest_id, int64_t now,
		struct outbox_stats *stats, struct err *err);

#endif
