/*
 * keyindex: two parts. The base is an array of slots (32 bits of the
 * key, the id: 8 bytes, no gaps) sorted by key then id, with a table of
 * where each 16-bit key prefix starts, so a lookup is one short binary
 * search. The delta is a small open-addressing table (linear probing, at
 * most half full) that takes new entries; when it holds an eighth of the
 * base (at least DELTA_MIN entries) it is sorted and merged into the base
 * from the end, after one realloc. So the index costs about 10 bytes an
 * entry, never doubles all at once, and merging stays linear overall.
 * Keys are hashes already, so their bits place them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "keyindex.h"

struct slot {
	uint32_t key;
	uint32_t id; /* 0: empty (in the delta) */
};

#define PREFIX_BITS 16
#define N_PREFIXES ((size_t)1 << PREFIX_BITS)
#define DELTA_MIN 4096

struct keyindex {
	struct slot *base; /* sorted by key, then id */
	size_t n_base;
	size_t *start;	    /* N_PREFIXES + 1: the slots of base whose key
			       begins with prefix p are start[p] to
			       start[p + 1] */
	struct slot *delta; /* open addressing */
	size_t delta_mask;  /* delta slots - 1 (a power of two) */
	size_t n_delta;
	size_t delta_max; /* merged into the base when this full */
	size_t max_holders;
};

static uint32_t fold(uint64_t key)
{
	return (uint32_t)(key ^ (key >> 32));
}

static size_t prefix(uint32_t k)
{
	return k >> (32 - PREFIX_BITS);
}

/* A table of at least 2 * max slots. */
static int delta_alloc(struct keyindex *ki, size_t max)
{
	size_t n = DELTA_MIN * 2;

	while (n < max * 2)
		n *= 2;
	free(ki->delta);
	ki->delta = calloc(n, sizeof(*ki->delta));
	if (!ki->delta)
		return -ENOMEM;
	ki->delta_mask = n - 1;
	ki->delta_max = max;
	ki->n_delta = 0;
	return 0;
}

struct keyindex *keyindex_create(size_t max_holders)
{
	struct keyindex *ki = calloc(1, sizeof(*ki));

	if (!ki)
		return NULL;
	ki->start = calloc(N_PREFIXES + 1, sizeof(*ki->start));
	if (!ki->start || delta_alloc(ki, DELTA_MIN)) {
		keyindex_destroy(ki);
		return NULL;
	}
	ki->max_holders = max_holders ? max_holders : 1;
	return ki;
}

void keyindex_destroy(struct keyindex *ki)
{
	if (!ki)
		return;
	free(ki->base);
	free(ki->start);
	free(ki->delta);
	free(ki);
}

/* The first slot of the base with key k, or where it would be; the run
 * of k ends before *end. */
static size_t base_first(const struct keyindex *ki, uint32_t k, size_t *end)
{
	size_t lo = ki->start[prefix(k)], hi = ki->start[prefix(k) + 1], mid;

	*end = hi;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (ki->base[mid].key < k)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int cmp_slot(const void *a, const void *b)
{
	const struct slot *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* Moves the delta into the base. */
static int merge(struct keyindex *ki)
{
	size_t n = ki->n_delta, i, j, w, p, max;
	struct slot *add, *base;

	add = malloc((n ? n : 1) * sizeof(*add));
	if (!add)
		return -ENOMEM;
	base = realloc(ki->base, (ki->n_base + n + 1) * sizeof(*base));
	if (!base) {
		free(add);
		return -ENOMEM;
	}
	ki->base = base;
	for (i = 0, j = 0; i <= ki->delta_mask; i++) {
		if (ki->delta[i].id)
			add[j++] = ki->delta[i];
	}
	qsort(add, n, sizeof(*add), cmp_slot);
	/* From the end, so that the base's slots move at most once. */
	i = ki->n_base;
	j = n;
	w = ki->n_base + n;
	while (j > 0) {
		if (i > 0 && cmp_slot(&base[i - 1], &add[j - 1]) > 0)
			base[--w] = base[--i];
		else
			base[--w] = add[--j];
	}
	free(add);
	ki->n_base += n;
	memset(ki->start, 0, (N_PREFIXES + 1) * sizeof(*ki->start));
	for (i = 0; i < ki->n_base; i++)
		ki->start[prefix(base[i].key) + 1]++;
	for (p = 0; p < N_PREFIXES; p++)
		ki->start[p + 1] += ki->start[p];
	max = ki->n_base / 8 > DELTA_MIN ? ki->n_base / 8 : DELTA_MIN;
	if (max * 2 > ki->delta_mask + 1)
		return delta_alloc(ki, max);
	memset(ki->delta, 0, (ki->delta_mask + 1) * sizeof(*ki->delta));
	ki->n_delta = 0;
	ki->delta_max = max;
	return 0;
}

int keyindex_add(struct keyindex *ki, uint64_t key, uint32_t id, int *full)
{
	uint32_t k = fold(key);
	size_t i, end, held = 0;

	if (full)
		*full = 0;
	if (id == 0)
		return -EINVAL;
	if (ki->n_delta + 1 > ki->delta_max && merge(ki))
		return -ENOMEM;
	for (i = base_first(ki, k, &end); i < end && ki->base[i].key == k;
	     i++) {
		if (ki->base[i].id == id)
			return 0;
		held++;
	}
	for (i = k & ki->delta_mask; ki->delta[i].id;
	     i = (i + 1) & ki->delta_mask) {
		if (ki->delta[i].key != k)
			continue;
		if (ki->delta[i].id == id)
			return 0;
		held++;
	}
	if (held >= ki->max_holders) {
		if (full)
			*full = 1;
		return 0;
	}
	ki->delta[i].key = k;
	ki->delta[i].id = id;
	ki->n_delta++;
	return 0;
}

size_t keyindex_find(const struct keyindex *ki, uint64_t key, uint32_t *ids,
		     size_t max)
{
	uint32_t k = fold(key);
	size_t i, end, n = 0;

	for (i = base_first(ki, k, &end); i < end && ki->base[i].key == k;
	     i++) {
		if (n < max)
			ids[n] = ki->base[i].id;
		n++;
	}
	for (i = k & ki->delta_mask; ki->delta[i].id;
	     i = (i + 1) & ki->delta_mask) {
		if (ki->delta[i].key != k)
			continue;
		if (n < max)
			ids[n] = ki->delta[i].id;
		n++;
	}
	return n;
}

size_t keyindex_size(const struct keyindex *ki)
{
	return ki->n_base + ki->n_delta;
}
