/*
 * bounce: VERP bounce addresses and delivery status notifications. Each
 * digest goes out with the envelope sender LIST+bounce-TOKEN@DOMAIN,
 * where TOKEN (token_bounce_make) names the delivery row under a MAC, so
 * a bounce names its delivery whatever the recipient's address looks
 * like ("+", "=", a quoted local part), and a forged one names none.
 * The report in a bounce (RFC 3464 message/delivery-status) is read
 * here: a 5.x.x status is a hard bounce, 4.x.x a soft one (RFC 3463).
 * Pure: no I/O, no store.
 */
#ifndef BULLETIN_BOUNCE_H
#define BULLETIN_BOUNCE_H

#include <stdint.h>

#include "buf.h"
#include "token.h"

/* The suffix after LIST+ in a bounce address. */
#define BOUNCE_PREFIX "bounce-"

enum bounce_kind {
	BOUNCE_NONE, /* no failure reported (delivered, relayed...) */
	BOUNCE_SOFT, /* 4.x.x: delayed or failed for now */
	BOUNCE_HARD, /* 5.x.x: failed for good */
};

struct bounce_report {
	enum bounce_kind kind;
	char status[16];     /* "5.1.1", or "" */
	char recipient[256]; /* Final-Recipient's address, or "" */
	/* Diagnostic-Code (else Status) on one line of printable ASCII,
	 * for the log and the delivery row. */
	char diagnostic[200];
};

/* Appends the envelope sender for delivery_id of the list named list
 * whose address is address: LOCAL+bounce-TOKEN@DOMAIN. Returns 0,
 * -ENOMEM, or -EINVAL (no '@' in address, an id out of range). */
int bounce_address(const struct token_keys *k, const char *list,
		   const char *address, int64_t delivery_id, struct buf *out);

/* Reads the text of a message/delivery-status part (RFC 3464: the
 * per-message fields, then one block per recipient; fields may be
 * folded). The worst recipient block counts: a failed one with a 5.x.x
 * status is hard, a 4.x.x status soft; anything else (delivered,
 * relayed, expanded, no block) none. Fills *out; returns 0, or
 * -EBADMSG when no recipient block has an Action or a Status. */
int bounce_read(const char *status, struct bounce_report *out);

#endif
