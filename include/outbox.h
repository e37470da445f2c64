/*
 * outbox: from stored items to digests ready to deliver. Decides when a
 * list's digest is due, composes it into the store (digest, items, one
 * delivery row per subscriber, in one transaction) and renders each
 * recipient's message. Owns the compiled templates; deliver sends.
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

/* Renders the message of one claimed delivery; readable as in
 * message_spec (for showing, not sending). The digest is loaded once and
 * kept for the rows that follow, with its body rendered once (holes for
 * the recipient's values, message_body_prepare) and checked against the
 * first row rendered whole: later rows only fill in their values. */
int outbox_render(struct outbox *ob, const struct store_delivery *d,
		  int64_t now, bool readable, struct buf *out, struct err *err);

/* Appends the envelope sender of delivery d: its list's VERP bounce
 * address (bounce.h), so that a bounce names the delivery. Returns 0,
 * -ENOMEM, or -ENOENT when the list is no longer in the config. */
int outbox_bounce_address(struct outbox *ob, const struct store_delivery *d,
			  struct buf *out);

/* Stories in the digest last rendered. */
size_t outbox_items(const struct outbox *ob);

#endif
