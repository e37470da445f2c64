/*
 * keyindex: an in-memory multimap from 64-bit keys (neardup's band keys
 * and marks) to item ids, so that an item's near-duplicate candidates
 * are found without scanning the store. Owns only the table: the store
 * fills it from the keys it keeps with each item, at start-up and as
 * items arrive. A key held by many items already is not added again
 * (boilerplate says nothing). Not thread-safe: one user at a time.
 */
#ifndef BULLETIN_KEYINDEX_H
#define BULLETIN_KEYINDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct keyindex;

/* A key holds at most max_holders ids. Returns NULL when out of
 * memory. */
struct keyindex *keyindex_create(size_t max_holders);
void keyindex_destroy(struct keyindex *ki); /* accepts NULL */

/* Adds id (not 0 or UINT32_MAX) under key, unless the key holds max_holders ids
 * already (then *full, if not NULL, is set). Returns 0 or -ENOMEM. */
int keyindex_add(struct keyindex *ki, uint64_t key, uint32_t id, int *full);

/* Adds id under each of keys (n of them) but those marked in skip (may
 * be NULL), for an item indexed for the first time: unlike keyindex_add
 * it neither looks for id in what is indexed already nor counts the
 * holders, since the caller has just looked the keys up (keyindex_find)
 * and skips the full ones. Returns 0, -EINVAL for id 0, or -ENOMEM. */
int keyindex_add_new(struct keyindex *ki, const uint64_t *keys, size_t n,
		     uint32_t id, const bool *skip);

/* Copies the ids held under key into ids (at most max) and returns how
 * many there are. Keys are compared on 32 bits: a rare stranger may be
 * among them, which the caller's full comparison turns away. */
size_t keyindex_find(const struct keyindex *ki, uint64_t key, uint32_t *ids,
		     size_t max);

/* keyindex_find() for each of keys (n of them): the ids held under
 * keys[i] go to ids + i * max (room for n * max), and their number to
 * got[i]. Faster than n calls when the index is larger than the CPU's
 * caches. */
void keyindex_find_many(const struct keyindex *ki, const uint64_t *keys,
			size_t n, uint32_t *ids, size_t max, size_t *got);

/* Takes id off key, if it is there (an item whose key changed): the key
 * may then take another holder. */
void keyindex_remove(struct keyindex *ki, uint64_t key, uint32_t id);

/* Entries held. */
size_t keyindex_size(const struct keyindex *ki);

#endif
