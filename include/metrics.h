/*
 * metrics: the daemon's counters since it started, and GET /metrics.
 * Counters are atomic, so the loop and the pool's workers (mail intake)
 * bump them alike. metrics_render writes them, with gauges read from the
 * store (deliveries by state, outbox depth, each source's last success)
 * and the few the caller measures, in the Prometheus text exposition
 * format, version 0.0.4.
 */
#ifndef BULLETIN_METRICS_H
#define BULLETIN_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "config.h"
#include "log.h"
#include "store.h"

enum metric {
	METRIC_FETCH_OK,	   /* a feed read and stored */
	METRIC_FETCH_NOT_MODIFIED, /* 304 */
	METRIC_FETCH_FAILED,	   /* an error; retried later */
	METRIC_FETCH_GONE,	   /* 410: the source stops */
	METRIC_ITEMS_NEW,	   /* items stored for the first time */
	METRIC_ITEMS_UPDATED,	   /* stored items edited at the source */
	METRIC_DUPLICATES,	   /* new items that repeat a stored story */
	METRIC_DIGESTS,		   /* digests composed to be sent */
	METRIC_REPLIES_ABSORBED,   /* automatic replies a limit stopped */
	METRIC_FORMS_ABSORBED,	   /* form posts over the per-client limit */
	METRIC__COUNT
};

void metrics_add(enum metric m, uint64_t n);
uint64_t metrics_get(enum metric m);

/* What the daemon measures itself. */
struct metrics_extra {
	int64_t started;      /* when the daemon started */
	double loop_lag;      /* worst event-loop delay in the last minute */
	bool healthy;	      /* what GET /healthz says now */
	uint64_t sent;	      /* messages the SMTP server or maildir took */
	uint64_t deferred;    /* attempts to be retried */
	uint64_t failed;      /* messages refused for good */
	uint64_t store_error; /* settlements the store could not record */
};

/* Appends the exposition to out, with the sources cfg names. Returns 0,
 * or a negative errno with err set (the store could not be read; out
 * then holds nothing useful). */
int metrics_render(struct buf *out, struct store *st, const struct config *cfg,
		   int64_t now, const struct metrics_extra *x, struct err *err);

/* Appends s to out as the value of a Prometheus label: backslash,
 * double quote and newline escaped. */
int metrics_label(struct buf *out, const char *s);

#endif
