/*
 * deliver: works through the deliveries the outbox composed, on the
 * configured transport, and settles each row. Rows are claimed (pending
 * -> sending in one statement) before their message is rendered, and
 * settled as soon as the outcome is known, so a crash repeats at most the
 * rows in flight, each with the same Message-ID.
 *
 * - maildir: written at once, inside deliver_run.
 * - SMTP (smtp:// or smtps://): handed to the smtp module's senders, a
 *   window of rows at a time, each digest with its delivery's VERP
 *   address as the envelope sender (outbox_bounce_address); outcomes
 *   come back on the loop and are settled in one transaction per batch. A
 * temporary failure (4xx, a dropped or refused connection, a timeout) is tried
 * again after [smtp] retry, doubling up to 6 hours, until [smtp] give_up after
 * the digest was made; then it fails. A permanent failure (5xx) fails the row
 * at once, and a subscriber whose last [smtp] suspend_after deliveries all
 * failed is suspended.
 * - When the server itself is at fault (no connection, TLS or login
 *   refused, no reply: RELIABILITY G5) the rows wait without the try
 *   being counted, nothing more is claimed until the wait is over, and
 *   the outage is logged once, not per row.
 * - When outcomes cannot be recorded (disk full, read-only database:
 *   RELIABILITY G10), nothing more is claimed, the outcomes are kept and
 *   recorded at the next run that can, and the rows stay "sending"
 *   meanwhile (after a stop they go again: duplicates at most the rows
 *   in flight).
 * - A row whose subscriber is no longer active (unsubscribed, suspended)
 *   is not sent: it fails with that reason.
 * - A row that was in flight at an unclean stop (a crash, kill -9) is a
 *   suspect: it is sent alone, nothing else in flight, so that a crash
 *   while sending it counts against it only; one in flight at
 *   DELIVER_QUARANTINE_AFTER stops in a row is quarantined as failed at
 *   start-up (store_deliveries_recover; RELIABILITY G8).
 * - Notices (replies to subscription commands) go the same way, with the
 *   same retries; they never suspend anyone.
 *
 * Owns the smtp senders and the outcome counts. Runs on the loop thread.
 */
#ifndef BULLETIN_DELIVER_H
#define BULLETIN_DELIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "log.h"
#include "outbox.h"
#include "store.h"

/* Unclean stops in a row a delivery may be in flight at before it is
 * quarantined (Mailman's MAX_BAK_COUNT). */
#define DELIVER_QUARANTINE_AFTER 3

struct deliver;

struct deliver_stats {
	size_t sent;
	size_t deferred;     /* failed this time, will be tried again */
	size_t failed;	     /* failed for good */
	size_t items;	     /* stories in the last digest rendered */
	size_t store_errors; /* outcomes that could not be recorded */
};

/* Called on the loop when nothing is in flight any more. */
typedef void deliver_idle_fn(void *arg);

/* Sets up the transport of cfg (held with config_ref until destroy):
 * for SMTP reads the password file and starts the senders on loop.
 * st is borrowed. Returns NULL with err set. */
struct deliver *deliver_create(uv_loop_t *loop, struct store *st,
			       struct config *cfg, struct err *err);

/* Claims and sends every due pending row (of digest_id, or of any digest
 * when 0), rendering with ob and finding lists in cfg (both borrowed
 * until the next run or deliver_destroy: the refills of the SMTP window
 * use them). maildir rows are settled before this returns; SMTP rows go
 * on in the background. Returns 0 or a negative errno when the store is
 * unusable (err says why). */
int deliver_run(struct deliver *dv, struct outbox *ob, const struct config *cfg,
		int64_t digest_id, struct err *err);

/* Claims and sends every due notice (a reply to a command, built when
 * it was queued) on the same transport, with the same retries; cfg
 * (borrowed for the call) gives each list's envelope sender. maildir
 * notices are settled before this returns. */
int deliver_notices(struct deliver *dv, const struct config *cfg,
		    struct err *err);

/* Forgets the outbox and config of the last run (before they are freed,
 * at a reload): nothing more is claimed until the next deliver_run. */
void deliver_detach(struct deliver *dv);

/* Rows handed to the transport and not yet settled. */
size_t deliver_in_flight(const struct deliver *dv);

/* idle runs (once per time it becomes idle) when the last row in flight
 * is settled; NULL to stop. */
void deliver_on_idle(struct deliver *dv, deliver_idle_fn *idle, void *arg);

/* Counts since deliver_create. */
const struct deliver_stats *deliver_stats(const struct deliver *dv);

/* Takes back the digests handed to the SMTP senders for subscriber_id
 * that no sender has started (the one being sent, if any, goes out):
 * each is settled as failed, "unsubscribed". Returns how many. */
size_t deliver_cancel(struct deliver *dv, int64_t subscriber_id);

/* Stops the senders (waiting for the messages they are on, which are
 * settled) and frees on a later loop turn. Rows not yet sent go back to
 * pending. Accepts NULL. */
void deliver_destroy(struct deliver *dv);

#endif
