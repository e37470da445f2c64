/*
 * keyindex: two parts. The base is an array of slots (32 bits of the
 * key, the id: 8 bytes, no gaps) sorted by key then id, with a table of
 * where each key prefix starts; the prefix has enough bits for about four
 * slots a prefix, so a lookup reads one entry of the table and then one
 * or two cache lines of slots, however large the base grows (a binary
 * search over a few dozen slots per prefix missed the cache at nearly
 * every step, and was what made a large store slower to add to). The
 * delta is a small open-addressing table (linear probing, at most half
 * full) that takes new entries; when it holds an eighth of the base (at
 * least DELTA_MIN entries) it is sorted (radix) and merged into the base
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
	uint32_t id; /* 0: empty (in the delta) or removed (in the base);
			TOMB: removed (in the delta) */
};

/* A removed entry of the delta: probing goes on past it. */
#define TOMB UINT32_MAX

#define PREFIX_BITS_MIN 12
#define PREFIX_BITS_MAX 28
#define DELTA_MIN 4096

/* keyindex_find_many looks this many keys up together. */
#define FIND_BLOCK 16

struct keyindex {
	struct slot *base; /* sorted by key, then id */
	size_t n_base;
	uint32_t *start; /* (1 << prefix_bits) + 1: the slots of base
			    whose key begins with prefix p are start[p]
			    to start[p + 1] */
	unsigned prefix_bits;
	struct slot *delta; /* open addressing */
	size_t delta_mask;  /* delta slots - 1 (a power of two) */
	size_t n_delta;
	size_t delta_max; /* merged into the base when this full */
	size_t max_holders;
	size_t n_removed; /* removed entries still in the base or delta */
};

static uint32_t fold(uint64_t key)
{
	return (uint32_t)(key ^ (key >> 32));
}

static size_t prefix(const struct keyindex *ki, uint32_t k)
{
	return k >> (32 - ki->prefix_bits);
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
	ki->prefix_bits = PREFIX_BITS_MIN;
	ki->start =
		calloc(((size_t)1 << ki->prefix_bits) + 1, sizeof(*ki->start));
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
 * of k ends before *end. A prefix holds about four slots: a linear scan
 * beats a binary search. */
static size_t base_first(const struct keyindex *ki, uint32_t k, size_t *end)
{
	size_t p = prefix(ki, k), i = ki->start[p];

	*end = ki->start[p + 1];
	while (i < *end && ki->base[i].key < k)
		i++;
	return i;
}

static uint64_t slot_order(const struct slot *s)
{
	return (uint64_t)s->key << 32 | s->id;
}

/* Sorts v (n values) by key then id with tmp (room for n) as scratch:
 * LSD radix, RADIX_BITS a pass (the count table fits on the stack);
 * an even number of passes leaves the result in v. */
#define RADIX_BITS 11
#define RADIX_PASSES 6
_Static_assert(RADIX_BITS *RADIX_PASSES >= 64 && RADIX_PASSES % 2 == 0,
	       "the passes cover the 64 bits and end in v");

static void sort_slots(struct slot *v, struct slot *tmp, size_t n)
{
	size_t count[1 << RADIX_BITS], i, sum, c;
	struct slot *src = v, *dst = tmp, *t;
	const uint64_t mask = (1 << RADIX_BITS) - 1;
	unsigned pass, shift;

	for (pass = 0; pass < RADIX_PASSES; pass++) {
		shift = pass * RADIX_BITS;
		memset(count, 0, sizeof(count));
		for (i = 0; i < n; i++)
			count[(slot_order(&src[i]) >> shift) & mask]++;
		for (i = 0, sum = 0; i <= mask; i++) {
			c = count[i];
			count[i] = sum;
			sum += c;
		}
		for (i = 0; i < n; i++)
			dst[count[(slot_order(&src[i]) >> shift) & mask]++] =
				src[i];
		t = src;
		src = dst;
		dst = t;
	}
}

/* The prefix bits for a base of n slots: about four slots a prefix. */
static unsigned bits_for(size_t n)
{
	unsigned bits = PREFIX_BITS_MIN;

	while (bits < PREFIX_BITS_MAX && ((size_t)1 << bits) * 4 < n)
		bits++;
	return bits;
}

/* Rebuilds the prefix table for the base as it is now. */
static int starts_build(struct keyindex *ki)
{
	unsigned bits = bits_for(ki->n_base);
	size_t n_prefixes = (size_t)1 << bits, i, p;
	uint32_t *start = ki->start;

	if (bits != ki->prefix_bits) {
		start = malloc((n_prefixes + 1) * sizeof(*start));
		if (!start)
			return -ENOMEM;
		free(ki->start);
		ki->start = start;
		ki->prefix_bits = bits;
	}
	/* start[p] is the first slot whose prefix is p or more. */
	for (i = 0, p = 0; p <= n_prefixes; p++) {
		while (i < ki->n_base && prefix(ki, ki->base[i].key) < p)
			i++;
		start[p] = (uint32_t)i;
	}
	return 0;
}

/* Moves the delta into the base. */
static int merge(struct keyindex *ki)
{
	size_t n = ki->n_delta, i, j, w, max;
	struct slot *add, *base;

	/* The prefix table counts slots in 32 bits. */
	if (ki->n_base + n >= UINT32_MAX)
		return -ENOMEM;
	add = malloc((n ? n : 1) * 2 * sizeof(*add));
	if (!add)
		return -ENOMEM;
	base = realloc(ki->base, (ki->n_base + n + 1) * sizeof(*base));
	if (!base) {
		free(add);
		return -ENOMEM;
	}
	ki->base = base;
	for (i = 0, j = 0; i <= ki->delta_mask; i++) {
		if (ki->delta[i].id && ki->delta[i].id != TOMB)
			add[j++] = ki->delta[i];
	}
	n = j;
	if (ki->n_removed > 0) {
		/* Removed entries go now: the base keeps its order. */
		for (i = 0, w = 0; i < ki->n_base; i++) {
			if (base[i].id)
				base[w++] = base[i];
		}
		ki->n_base = w;
		ki->n_removed = 0;
	}
	sort_slots(add, add + n, n);
	/* From the end, so that the base's slots move at most once. */
	i = ki->n_base;
	j = n;
	w = ki->n_base + n;
	while (j > 0) {
		if (i > 0 && slot_order(&base[i - 1]) > slot_order(&add[j - 1]))
			base[--w] = base[--i];
		else
			base[--w] = add[--j];
	}
	free(add);
	ki->n_base += n;
	if (starts_build(ki))
		return -ENOMEM;
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
	if (id == 0 || id == TOMB)
		return -EINVAL;
	if (ki->n_delta + 1 > ki->delta_max && merge(ki))
		return -ENOMEM;
	for (i = base_first(ki, k, &end); i < end && ki->base[i].key == k;
	     i++) {
		if (ki->base[i].id == id)
			return 0;
		held += ki->base[i].id != 0;
	}
	for (i = k & ki->delta_mask; ki->delta[i].id;
	     i = (i + 1) & ki->delta_mask) {
		if (ki->delta[i].key != k || ki->delta[i].id == TOMB)
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

int keyindex_add_new(struct keyindex *ki, const uint64_t *keys, size_t n,
		     uint32_t id, const bool *skip)
{
	size_t i, k;
	uint32_t f;

	if (id == 0 || id == TOMB)
		return -EINVAL;
	/* Room for all of them first: then a key folded onto another of
	 * the same list is seen in the delta, and held once. */
	if (ki->n_delta + n > ki->delta_max) {
		if (merge(ki))
			return -ENOMEM;
		if (n > ki->delta_max && delta_alloc(ki, n))
			return -ENOMEM;
	}
	for (k = 0; k < n; k++) {
		if (skip && skip[k])
			continue;
		f = fold(keys[k]);
		for (i = f & ki->delta_mask; ki->delta[i].id;
		     i = (i + 1) & ki->delta_mask) {
			if (ki->delta[i].key == f && ki->delta[i].id == id)
				break;
		}
		if (ki->delta[i].id)
			continue;
		ki->delta[i].key = f;
		ki->delta[i].id = id;
		ki->n_delta++;
	}
	return 0;
}

size_t keyindex_find(const struct keyindex *ki, uint64_t key, uint32_t *ids,
		     size_t max)
{
	uint32_t k = fold(key);
	size_t i, end, n = 0;

	for (i = base_first(ki, k, &end); i < end && ki->base[i].key == k;
	     i++) {
		if (!ki->base[i].id)
			continue;
		if (n < max)
			ids[n] = ki->base[i].id;
		n++;
	}
	for (i = k & ki->delta_mask; ki->delta[i].id;
	     i = (i + 1) & ki->delta_mask) {
		if (ki->delta[i].key != k || ki->delta[i].id == TOMB)
			continue;
		if (n < max)
			ids[n] = ki->delta[i].id;
		n++;
	}
	return n;
}

void keyindex_find_many(const struct keyindex *ki, const uint64_t *keys,
			size_t n, uint32_t *ids, size_t max, size_t *got)
{
	size_t i, from, to;
	uint32_t k;

	/* Each lookup reads the prefix table, then the base, and the
	 * delta: in a large index every one of these misses the cache.
	 * Asking for a block of them before reading any lets the misses
	 * overlap instead of queueing. */
	for (from = 0; from < n; from = to) {
		to = from + FIND_BLOCK < n ? from + FIND_BLOCK : n;
		for (i = from; i < to; i++) {
			k = fold(keys[i]);
			__builtin_prefetch(&ki->start[prefix(ki, k)]);
			__builtin_prefetch(&ki->delta[k & ki->delta_mask]);
		}
		for (i = from; i < to && ki->n_base > 0; i++) {
			k = fold(keys[i]);
			__builtin_prefetch(&ki->base[ki->start[prefix(ki, k)]]);
		}
		for (i = from; i < to; i++)
			got[i] = keyindex_find(ki, keys[i], ids + i * max, max);
	}
}

void keyindex_remove(struct keyindex *ki, uint64_t key, uint32_t id)
{
	uint32_t k = fold(key);
	size_t i, end;

	if (id == 0 || id == TOMB)
		return;
	for (i = base_first(ki, k, &end); i < end && ki->base[i].key == k;
	     i++) {
		if (ki->base[i].id == id) {
			ki->base[i].id = 0;
			ki->n_removed++;
		}
	}
	for (i = k & ki->delta_mask; ki->delta[i].id;
	     i = (i + 1) & ki->delta_mask) {
		if (ki->delta[i].key == k && ki->delta[i].id == id) {
			ki->delta[i].id = TOMB;
			ki->n_removed++;
		}
	}
}

size_t keyindex_size(const struct keyindex *ki)
{
	return ki->n_base + ki->n_delta - ki->n_removed;
}
