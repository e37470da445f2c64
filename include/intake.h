/*
 * intake: one incoming message from start to end. It is read (mailmsg),
 * routed (inbound), turned into items (briefing) or a command, and
 * recorded exactly once (store): the same Message-ID, or the same IMAP
 * folder, UIDVALIDITY and UID, is never acted on twice. Used by the IMAP
 * poller, on a worker thread with its own store and theme set, and by
 * bulletinctl receive.
 */
#ifndef BULLETIN_INTAKE_H
#define BULLETIN_INTAKE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "log.h"
#include "store.h"
#include "theme.h"

enum intake_outcome {
	INTAKE_BRIEFING,    /* items stored */
	INTAKE_COMMAND,	    /* a command stored for the subscription code */
	INTAKE_DUPLICATE,   /* dealt with before: nothing done again */
	INTAKE_IGNORED,	    /* not for us: left alone */
	INTAKE_QUARANTINED, /* a briefing whose sender was not proven
			       (RELIABILITY F7): stored as such, no items */
	INTAKE_REFUSED,	    /* unreadable: too big, nested too deep, not
			       a message */
	INTAKE_BOUNCE,	    /* to a digest's VERP address: a report applied
			       to its delivery, or why not (bounce.h) */
};

struct intake_ctx {
	const struct config *cfg;
	struct store *st;
	const struct theme_set *ts;
	const char *folder;   /* IMAP folder, or NULL for the pipe */
	uint32_t uidvalidity; /* IMAP only */
	uint32_t uid;	      /* IMAP only */
	const char *envelope; /* pipe: the recipient the MTA gave, or NULL */
	int64_t now;
};

struct intake_result {
	enum intake_outcome outcome;
	size_t added;	   /* briefing: new items */
	size_t duplicates; /* of those, repeats of a stored story */
	/* For the log, one line each: which message ("<Message-ID> from
	 * ADDR"), and what became of it (the source, the list and command,
	 * or why it was left alone or refused). */
	char message[ERR_MSG_MAX];
	char detail[ERR_MSG_MAX];
	char warning[ERR_MSG_MAX]; /* what was odd in the message, or "" */
};

/* Deals with the len bytes at data. Returns 0 with res filled, whatever
 * the message was (ignored and refused included: through IMAP those are
 * remembered, so that they are not fetched again; through the pipe
 * nothing is stored for them). Returns a negative errno, with err saying
 * why and nothing stored, only when the database failed: -EBUSY and
 * -ENOSPC are worth retrying later. */
int intake_message(const struct intake_ctx *ctx, const char *data, size_t len,
		   struct intake_result *res, struct err *err);

/* Records that an IMAP message was looked at and left alone without
 * reading it (too big to fetch): reason says why. */
int intake_skip(const struct intake_ctx *ctx, const char *reason,
		struct err *err);

const char *intake_outcome_name(enum intake_outcome o);

#endif
