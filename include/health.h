/*
 * health: whether the daemon is doing its job, for GET /healthz,
 * GET /metrics and bulletinctl status. Owns a timer on the loop that
 * ticks every second and measures how late it runs (a blocked loop
 * shows as lag), and a ring of the warnings and errors logged since the
 * last heartbeat (fed by the log hook, from any thread). Every
 * HEALTH_BEAT seconds, and soon after something was logged, it writes
 * the daemon's row and those lines to the store: that write is also the
 * probe that the database still takes writes.
 */
#ifndef BULLETIN_HEALTH_H
#define BULLETIN_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "store.h"

#define HEALTH_BEAT 15	     /* seconds between heartbeats */
#define HEALTH_LAG_BAD 5.0   /* seconds of loop delay that is a stall */
#define HEALTH_LAG_WINDOW 60 /* seconds a stall is remembered */
#define HEALTH_FAULT_HOLD 30 /* seconds a disk fault is remembered */

struct health;

/* Starts the timer and the log hook (one health per process). st is
 * borrowed; http_listen (may be NULL) is copied and shown by bulletinctl
 * status. Returns NULL when out of memory. */
struct health *health_create(uv_loop_t *loop, struct store *st,
			     const char *http_listen);

/* Whether the daemon is healthy now; if not, why says so in one line
 * for the admin. */
bool health_ok(struct health *h, char *why, size_t size);

/* The worst loop delay in the last HEALTH_LAG_WINDOW seconds. */
double health_loop_lag(struct health *h);

/* When the daemon started. */
int64_t health_started(const struct health *h);

/* Writes a last heartbeat saying the daemon stopped, removes the log
 * hook, stops the timer and frees on a later loop turn. Accepts NULL. */
void health_destroy(struct health *h);

#endif
