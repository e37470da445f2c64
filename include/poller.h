/*
 * poller: keeps feed sources fresh on the loop. Starts a fetch for each
 * source that is due (or all of them, or one, on request), hands the
 * body to ingest, and records the outcome and next poll time on the
 * source's row, storing the results of several sources in one store
 * batch. Owns the fetcher. Loop thread only.
 */
#ifndef BULLETIN_POLLER_H
#define BULLETIN_POLLER_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "config.h"
#include "store.h"
#include "theme.h"

struct poller;

/* Called when every fetch started by the last poller_start has finished:
 * failed counts the sources that failed (each already logged and
 * recorded). */
typedef void poller_done_fn(size_t fetched, size_t failed, void *arg);

/* st, cfg and ts are borrowed; poller_reconfigure swaps cfg and ts. */
struct poller *poller_create(uv_loop_t *loop, struct store *st,
			     const struct config *cfg,
			     const struct theme_set *ts);

/* Starts a round of fetches: of the source named only (NULL = any), of
 * every source whose next poll is at or before now, or all when force is
 * set. Sources already in flight are skipped. At most [fetch] connections
 * run at once (counting those still being parsed); the rest start as
 * those finish. done (may be NULL) is called once the fetches this round
 * started have all finished (fetches of an earlier round still in
 * flight do not count), on a later loop turn even when none started.
 * Call it when the last round has started all its sources
 * (poller_waiting() == 0); a round not finished by then will never call
 * its done: the new round's replaces it. Returns the number of sources
 * in the round, or a negative errno. */
int poller_start(struct poller *p, const char *only, bool force, int64_t now,
		 poller_done_fn *done, void *arg);

/* The earliest next poll time among feed sources (INT64_MAX if none). */
int64_t poller_next_due(struct poller *p);

/* Fetches in flight, waiting in the round, or done and waiting to be
 * stored with others (a batch is stored within BATCH_DELAY_MS, and at
 * once when nothing else is in flight). */
size_t poller_active(const struct poller *p);

/* Sources of the current round not started yet (waiting for a free
 * connection). */
size_t poller_waiting(const struct poller *p);

/* Uses a new config and theme set from now on; fetches in flight finish
 * against the sources they started with (by name). */
void poller_reconfigure(struct poller *p, const struct config *cfg,
			const struct theme_set *ts);

/* Stores the fetches that are done, cancels those in flight (nothing
 * half-stored: a cancelled fetch stores nothing) and frees the poller.
 * Accepts NULL. */
void poller_destroy(struct poller *p);

#endif
