/*
 * health: the one-second tick, the log ring and the heartbeat. The tick
 * compares uv_hrtime() with when it was due; the worst delay of each
 * second is kept in a ring of HEALTH_LAG_WINDOW slots. The log ring is
 * the only state shared with other threads, behind a mutex; it holds at
 * most RING lines (older ones are dropped and counted, so a storm of
 * errors cannot grow memory) until a heartbeat stores them.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bulletin-config.h"
#include "health.h"
#include "log.h"

#define TICK_MS 1000
#define RING 32
#define SOON 2 /* seconds after a logged line before it is stored */

struct line {
	uint64_t seq;
	int64_t at;
	enum log_level level;
	char message[ERR_MSG_MAX];
};

struct lag_slot {
	int64_t second;
	double lag;
};

struct health {
	uv_timer_t timer;
	struct store *st;
	char *http;
	int64_t started;
	int64_t last_beat;  /* last heartbeat attempted */
	int64_t next_beat;  /* the next one due */
	bool beat_failed;   /* the last one failed (logged once) */
	uint64_t due_ns;    /* when the tick should fire */
	uint64_t last_tick; /* when it last fired */
	struct lag_slot lags[HEALTH_LAG_WINDOW];
	pthread_mutex_t lock; /* guards the ring below */
	struct line ring[RING];
	size_t n_ring;
	size_t dropped;
	uint64_t next_seq;
	uint64_t writing_upto; /* lines up to this seq are being stored */
};

static void on_log(enum log_level level, const char *msg, void *arg)
{
	struct health *h = arg;
	struct line *l;

	pthread_mutex_lock(&h->lock);
	if (h->n_ring == RING) {
		/* A line already copied out by a heartbeat in progress is
		 * not lost: it is being stored. */
		if (h->ring[0].seq > h->writing_upto)
			h->dropped++;
		memmove(&h->ring[0], &h->ring[1],
			(RING - 1) * sizeof(h->ring[0]));
		h->n_ring--;
	}
	l = &h->ring[h->n_ring++];
	l->seq = ++h->next_seq;
	l->at = (int64_t)time(NULL);
	l->level = level;
	snprintf(l->message, sizeof(l->message), "%s", msg);
	pthread_mutex_unlock(&h->lock);
}

static void beat(struct health *h, int64_t now, bool stopping)
{
	struct store_daemon d = {
		.pid = stopping ? 0 : (int64_t)getpid(),
		.started = h->started,
		.beat = now,
		.version = BULLETIN_VERSION,
		.http = h->http,
	};
	struct store_daemon_log out[RING + 1];
	struct line copy[RING];
	struct err err = {{0}};
	char dropped[96];
	size_t n, k = 0, gone, i;
	uint64_t upto;

	h->last_beat = now;
	/* After a failure too: a locked or full database is not asked
	 * again at once. */
	h->next_beat = now + HEALTH_BEAT;
	/* Copied out: the lock is not held across the write, which may
	 * log. */
	pthread_mutex_lock(&h->lock);
	n = h->n_ring;
	memcpy(copy, h->ring, n * sizeof(copy[0]));
	gone = h->dropped;
	upto = n ? copy[n - 1].seq : 0;
	h->writing_upto = upto;
	pthread_mutex_unlock(&h->lock);
	if (gone) {
		snprintf(dropped, sizeof(dropped),
			 "%zu more warnings and errors were logged; see the "
			 "daemon's log",
			 gone);
		out[k++] = (struct store_daemon_log){now, "warning", dropped};
	}
	for (i = 0; i < n; i++)
		out[k++] = (struct store_daemon_log){
			copy[i].at,
			copy[i].level == LOG_LEVEL_ERROR ? "error" : "warning",
			copy[i].message};
	if (store_daemon_beat(h->st, &d, out, k, &err)) {
		pthread_mutex_lock(&h->lock);
		h->writing_upto = 0; /* still in the ring, not stored */
		pthread_mutex_unlock(&h->lock);
		if (!h->beat_failed)
			log_errorx("cannot record the daemon's heartbeat: %s",
				   err.msg);
		h->beat_failed = true;
		return;
	}
	pthread_mutex_lock(&h->lock);
	for (i = 0; i < h->n_ring && h->ring[i].seq <= upto; i++)
		;
	memmove(&h->ring[0], &h->ring[i], (h->n_ring - i) * sizeof(h->ring[0]));
	h->n_ring -= i;
	h->dropped -= gone <= h->dropped ? gone : h->dropped;
	pthread_mutex_unlock(&h->lock);
	if (h->beat_failed)
		log_info("the database takes writes again");
	h->beat_failed = false;
}

static void on_tick(uv_timer_t *t)
{
	struct health *h = t->data;
	uint64_t now_ns = uv_hrtime();
	int64_t now = (int64_t)time(NULL);
	double lag = 0;
	struct lag_slot *slot;
	size_t waiting;

	if (now_ns > h->due_ns)
		lag = (double)(now_ns - h->due_ns) / 1e9;
	slot = &h->lags[(uint64_t)now % HEALTH_LAG_WINDOW];
	if (slot->second != now) {
		slot->second = now;
		slot->lag = 0;
	}
	if (lag > slot->lag)
		slot->lag = lag;
	h->last_tick = now_ns;
	h->due_ns = now_ns + (uint64_t)TICK_MS * 1000000;
	pthread_mutex_lock(&h->lock);
	waiting = h->n_ring + h->dropped;
	pthread_mutex_unlock(&h->lock);
	if (now >= h->next_beat ||
	    (waiting && !h->beat_failed && now - h->last_beat >= SOON))
		beat(h, now, false);
}

struct health *health_create(uv_loop_t *loop, struct store *st,
			     const char *http_listen)
{
	struct health *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	if (http_listen && !(h->http = strdup(http_listen))) {
		free(h);
		return NULL;
	}
	pthread_mutex_init(&h->lock, NULL);
	h->st = st;
	h->started = (int64_t)time(NULL);
	uv_timer_init(loop, &h->timer);
	h->timer.data = h;
	h->last_tick = uv_hrtime();
	h->due_ns = h->last_tick + (uint64_t)TICK_MS * 1000000;
	uv_timer_start(&h->timer, on_tick, TICK_MS, TICK_MS);
	log_set_hook(on_log, h);
	beat(h, h->started, false);
	return h;
}

double health_loop_lag(struct health *h)
{
	int64_t now = (int64_t)time(NULL);
	uint64_t now_ns = uv_hrtime();
	double worst = 0;

	for (size_t i = 0; i < HEALTH_LAG_WINDOW; i++)
		if (now - h->lags[i].second < HEALTH_LAG_WINDOW &&
		    h->lags[i].lag > worst)
			worst = h->lags[i].lag;
	/* Asked while the tick is overdue: the loop is late right now. */
	if (now_ns > h->due_ns && (double)(now_ns - h->due_ns) / 1e9 > worst)
		worst = (double)(now_ns - h->due_ns) / 1e9;
	return (double)(int64_t)(worst * 1000) / 1000;
}

bool health_ok(struct health *h, char *why, size_t size)
{
	int64_t now = (int64_t)time(NULL);
	struct store_fault f;
	double lag;

	/* What the world may see (RELIABILITY B11): the kind of fault,
	 * never the path; the log and bulletinctl status say the rest. A
	 * full disk or an I/O error is remembered a while after a write
	 * went through (a small write may fit where a big one did not); a
	 * lock is over once a write went through. */
	if (store_last_fault(h->st, &f) &&
	    (f.current ||
	     (f.code != -EBUSY && now - f.at < HEALTH_FAULT_HOLD))) {
		snprintf(why, size,
			 "the database cannot be written: %s; see the daemon's "
			 "log or bulletinctl status",
			 f.code == -EBUSY    ? "another process holds its lock"
			 : f.code == -ENOSPC ? "the disk is full"
			 : f.code == -EROFS  ? "it is read-only"
					     : "an I/O error or damage");
		return false;
	}
	lag = health_loop_lag(h);
	if (lag >= HEALTH_LAG_BAD) {
		snprintf(why, size,
			 "the event loop was blocked for %.1f s within the "
			 "last %d s: something (a slow disk, a stuck call) "
			 "held up all work; see the daemon's log",
			 lag, HEALTH_LAG_WINDOW);
		return false;
	}
	snprintf(why, size, "ok");
	return true;
}

int64_t health_started(const struct health *h)
{
	return h->started;
}

static void on_closed(uv_handle_t *handle)
{
	struct health *h = handle->data;

	pthread_mutex_destroy(&h->lock);
	free(h->http);
	free(h);
}

void health_destroy(struct health *h)
{
	if (!h)
		return;
	beat(h, (int64_t)time(NULL), true);
	log_set_hook(NULL, NULL);
	uv_close((uv_handle_t *)&h->timer, on_closed);
}
