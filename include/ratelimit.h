/*
 * ratelimit: fixed-window counters by key (a client address), in memory,
 * in a table of bounded size. Pure: the caller passes the time. Used by
 * the HTTP endpoint for the subscribe form's per-client limit
 * (RELIABILITY C2); the limits that must hold across processes and
 * restarts (per address, per hour for all) live in the store.
 */
#ifndef BULLETIN_RATELIMIT_H
#define BULLETIN_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ratelimit;

/* A table of slots keys (at least 16), each allowed limit hits per
 * window seconds. Returns NULL when out of memory. */
struct ratelimit *ratelimit_create(size_t slots, int64_t window, int64_t limit);
void ratelimit_destroy(struct ratelimit *rl); /* accepts NULL */

/* Counts one hit for key at now and says whether it is within the
 * limit. When the table is full of keys still inside their window, a
 * new key is refused: a flood from many addresses gets no more than the
 * table holds. Keys longer than 63 bytes are cut. */
bool ratelimit_hit(struct ratelimit *rl, const char *key, int64_t now);

#endif
