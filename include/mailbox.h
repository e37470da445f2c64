/*
 * mailbox: the daemon's IMAP intake. One job at a time runs on libuv's
 * thread pool, so the loop never waits on the mail server: it connects
 * (or reuses the session), looks at the command folder and every mailbox
 * source's folder, fetches the unseen messages not dealt with before,
 * hands each to intake (with the job's own store connection and theme
 * set), marks what was taken \Seen and moves it when [imap] move_to says
 * so. Where the server offers IDLE the job then waits in IDLE on the
 * command folder until mail arrives or the poll interval ends; otherwise
 * the next job starts after the interval. A failed connection is retried
 * with backoff. Everything else runs on the loop thread.
 */
#ifndef BULLETIN_MAILBOX_H
#define BULLETIN_MAILBOX_H

#include <stdbool.h>

#include <uv.h>

#include "config.h"

struct mailbox;

/* NULL when cfg has no [imap] url (nothing to do) or out of memory
 * (then *nomem is set). */
struct mailbox *mailbox_create(uv_loop_t *loop, struct config *cfg,
			       bool *nomem);

typedef void mailbox_done_fn(bool ok, void *arg);

/* Starts polling for good (once is false), or runs one pass over the
 * folders with no IDLE and calls done (once is true; done may be NULL
 * otherwise). */
void mailbox_start(struct mailbox *mb, bool once, mailbox_done_fn *done,
		   void *arg);

/* A reloaded config, for the next job. cfg is held, not copied. */
void mailbox_reconfigure(struct mailbox *mb, struct config *cfg);

/* Stops: a job waiting in IDLE is woken, one running ends after its
 * current message; then everything is freed. Accepts NULL. */
void mailbox_destroy(struct mailbox *mb);

#endif
