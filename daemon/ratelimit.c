/*
 * ratelimit: open addressing over a fixed array; a slot whose window has
 * passed is free for any key. A key is looked for within PROBE slots of
 * its hash.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ratelimit.h"

#define KEY_MAX 64
#define PROBE 16

struct slot {
	char key[KEY_MAX];
	int64_t start; /* window start; 0 = empty */
	int64_t count;
};

struct ratelimit {
	struct slot *slots;
	size_t n;
	int64_t window, limit;
};

struct ratelimit *ratelimit_create(size_t slots, int64_t window, int64_t limit)
{
	struct ratelimit *rl = calloc(1, sizeof(*rl));

	if (!rl)
		return NULL;
	if (slots < PROBE)
		slots = PROBE;
	rl->slots = calloc(slots, sizeof(*rl->slots));
	if (!rl->slots) {
		free(rl);
		return NULL;
	}
	rl->n = slots;
	rl->window = window;
	rl->limit = limit;
	return rl;
}

void ratelimit_destroy(struct ratelimit *rl)
{
	if (!rl)
		return;
	free(rl->slots);
	free(rl);
}

static uint64_t hash(const char *key)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *key; key++)
		h = (h ^ (unsigned char)*key) * 1099511628211ULL;
	return h;
}

bool ratelimit_hit(struct ratelimit *rl, const char *key, int64_t now)
{
	char k[KEY_MAX];
	struct slot *free_slot = NULL, *s;
	size_t i, at;

	snprintf(k, sizeof(k), "%s", key);
	at = (size_t)(hash(k) % rl->n);
	for (i = 0; i < PROBE; i++) {
		s = &rl->slots[(at + i) % rl->n];
		if (s->start && strcmp(s->key, k) == 0) {
			if (now - s->start >= rl->window) {
				s->start = now;
				s->count = 0;
			}
			return ++s->count <= rl->limit;
		}
		if (!free_slot && (!s->start || now - s->start >= rl->window))
			free_slot = s;
	}
	if (!free_slot)
		return false;
	memcpy(free_slot->key, k, sizeof(k));
	free_slot->start = now;
	free_slot->count = 1;
	return 1 <= rl->limit;
}
