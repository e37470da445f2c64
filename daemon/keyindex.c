/*
 * keyindex: open addressing with linear probing; the ids of one key sit
 * in its probe run, so a lookup reads a few adjacent slots. A slot is
 * 8 bytes (32 bits of the key, the id; id 0 means empty) and the table
 * stays at most half full, doubling as it grows. Keys are hashes
 * already, so their low bits place them.
 */
#include <errno.h>
#include <stdlib.h>

#include "keyindex.h"

struct slot {
	uint32_t key;
	uint32_t id; /* 0: empty */
};

struct keyindex {
	struct slot *slots;
	size_t mask; /* slots - 1 (a power of two) */
	size_t n;
	size_t max_holders;
};

#define INITIAL_SLOTS 4096

static uint32_t fold(uint64_t key)
{
	return (uint32_t)(key ^ (key >> 32));
}

struct keyindex *keyindex_create(size_t max_holders)
{
	struct keyindex *ki = calloc(1, sizeof(*ki));

	if (!ki)
		return NULL;
	ki->slots = calloc(INITIAL_SLOTS, sizeof(*ki->slots));
	if (!ki->slots) {
		free(ki);
		return NULL;
	}
	ki->mask = INITIAL_SLOTS - 1;
	ki->max_holders = max_holders ? max_holders : 1;
	return ki;
}

void keyindex_destroy(struct keyindex *ki)
{
	if (!ki)
		return;
	free(ki->slots);
	free(ki);
}

static void place(struct slot *slots, size_t mask, struct slot s)
{
	size_t i = s.key & mask;

	while (slots[i].id)
		i = (i + 1) & mask;
	slots[i] = s;
}

static int grow(struct keyindex *ki)
{
	size_t n = (ki->mask + 1) * 2, i;
	struct slot *slots = calloc(n, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (i = 0; i <= ki->mask; i++) {
		if (ki->slots[i].id)
			place(slots, n - 1, ki->slots[i]);
	}
	free(ki->slots);
	ki->slots = slots;
	ki->mask = n - 1;
	return 0;
}

int keyindex_add(struct keyindex *ki, uint64_t key, uint32_t id, int *full)
{
	uint32_t k = fold(key);
	size_t i, held = 0;

	if (full)
		*full = 0;
	if (id == 0)
		return -EINVAL;
	if ((ki->n + 1) * 2 > ki->mask + 1 && grow(ki))
		return -ENOMEM;
	for (i = k & ki->mask; ki->slots[i].id; i = (i + 1) & ki->mask) {
		if (ki->slots[i].key != k)
			continue;
		if (ki->slots[i].id == id)
			return 0;
		if (++held >= ki->max_holders) {
			if (full)
				*full = 1;
			return 0;
		}
	}
	ki->slots[i].key = k;
	ki->slots[i].id = id;
	ki->n++;
	return 0;
}

size_t keyindex_find(const struct keyindex *ki, uint64_t key, uint32_t *ids,
		     size_t max)
{
	uint32_t k = fold(key);
	size_t i, n = 0;

	for (i = k & ki->mask; ki->slots[i].id; i = (i + 1) & ki->mask) {
		if (ki->slots[i].key != k)
			continue;
		if (n < max)
			ids[n] = ki->slots[i].id;
		n++;
	}
	return n;
}

size_t keyindex_size(const struct keyindex *ki)
{
	return ki->n;
}
