/*
 * poller: one fetch job per source in flight at most. A job holds the
 * source's name, not a pointer into the config, so a reload while it is
 * in flight is safe. The next poll is the source's interval after the
 * fetch on success, and an exponential backoff (capped at a day) after
 * consecutive failures.
 *
 * Bodies are parsed on libuv's thread pool as they arrive, so that
 * parsing uses every core while the loop keeps the network and the store
 * moving: each job queues the chunks curl hands over and has at most one
 * batch of them in a worker at a time (so its parser sees them in
 * order); when a job's backlog passes JOB_MAX_BACKLOG its transfer is
 * paused until the worker catches up. The worker touches only the job's
 * ingest; everything else stays on the loop thread.
 *
 * A finished job waits in a batch, whose results (items and fetch
 * records) are stored in one transaction when it holds BATCH_MAX_JOBS
 * jobs or BATCH_MAX_BYTES of items (about ten feeds of 100 KB: the batch
 * is part of a cycle's peak memory), BATCH_DELAY_MS after its first
 * job, or when nothing else is in flight: one commit per source made
 * the loop thread, and so every transfer, wait for the store. What a
 * job did is logged only once it is committed, so that nothing reported
 * as stored can be lost; if the batch fails, its jobs are stored one by
 * one, so that one failing source does not hold the others.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "fetch.h"
#include "ingest.h"
#include "log.h"
#include "metrics.h"
#include "poller.h"

#define BACKOFF_MAX (24 * 3600)
#define JOB_MAX_BACKLOG (1 << 20) /* bytes queued for the parser */
#define BATCH_MAX_JOBS 64
#define BATCH_MAX_BYTES (1 << 20) /* of parsed items waiting */
#define BATCH_DELAY_MS 100
/* Lines a job logs about its outcome, at most. */
#define NOTES_MAX 6

struct chunk {
	struct chunk *next;
	size_t len;
	char data[];
};

/* What the fetch said, kept until the parser has caught up. */
struct outcome {
	bool ok, not_modified;
	int status;
	int64_t retry_after;
	char *error, *etag, *last_modified, *moved_to; /* owned */
};

struct poll_job {
	struct poller *p;
	unsigned round; /* the round that started it */
	char *source;
	char *url;
	char *config_url;      /* the source's url when the fetch began */
	struct ingest *ingest; /* the body being parsed as it arrives */
	int64_t started;
	struct fetch_job *transfer;  /* until the fetch is done */
	struct chunk *queue, **tail; /* waiting for the parser */
	size_t backlog;		     /* bytes in queue and batch */
	struct chunk *batch;	     /* in the worker */
	uv_work_t work;
	bool working;	/* batch is in the worker */
	bool ending;	/* ...and the worker ends the document after it */
	bool ended;	/* the document has been ended */
	bool paused;	/* the transfer waits for the backlog to shrink */
	bool can_pause; /* a network transfer (a file:// one cannot) */
	int work_ret;	/* the worker's failure: read only after the work */
	int parse_ret;	/* its copy for the loop thread */
	bool fetched;	/* the fetch is done: outcome is set */
	struct outcome outcome;
	struct poll_job *next;
	/* Once recorded, what it did, to be logged after the commit. */
	struct note {
		enum log_level level;
		char *text; /* owned */
	} notes[NOTES_MAX];
	size_t n_notes;
	bool counted, failed;	    /* for the round's totals */
	enum metric outcome_metric; /* and the metrics: */
	size_t added, updated, duplicates;
};

struct poller {
	uv_loop_t *loop;
	struct store *st;
	const struct config *cfg;
	const struct theme_set *ts;
	struct fetch *fetch;
	struct poll_job *jobs;
	size_t active;

	/* The current round, for its done callback: it is over when the
	 * jobs it started are, whatever older rounds still have in flight
	 * (a stalled server holds its own fetch, not the next round). */
	poller_done_fn *done;
	void *done_arg;
	unsigned round;
	size_t round_active; /* its jobs not yet stored or dropped */
	size_t round_fetched, round_failed;
	uv_idle_t idle; /* reports an empty round on a later turn */
	bool closing;
	bool idle_closed; /* at destroy */
	/* The round's sources not started yet: at most [fetch] connections
	 * jobs run at once, counting those still being parsed, which
	 * bounds the memory of a round whatever its size. */
	char **pending; /* owned names */
	size_t n_pending, next_pending;
	size_t works;  /* batches in workers: the poller waits for them */
	bool batching; /* job_record runs inside the store's batch */
	/* Finished jobs waiting to be stored together. */
	struct poll_job *batch;
	size_t n_batch, batch_bytes;
	uv_timer_t flush;  /* stores the batch BATCH_DELAY_MS after it began */
	bool flush_closed; /* at destroy */
};

struct poller *poller_create(uv_loop_t *loop, struct store *st,
			     const struct config *cfg,
			     const struct theme_set *ts)
{
	struct poller *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->loop = loop;
	p->st = st;
	p->cfg = cfg;
	p->ts = ts;
	p->fetch =
		fetch_create(loop, cfg->fetch_connections, cfg->fetch_per_host);
	if (!p->fetch) {
		free(p);
		return NULL;
	}
	uv_idle_init(loop, &p->idle);
	p->idle.data = p;
	uv_timer_init(loop, &p->flush);
	p->flush.data = p;
	return p;
}

static bool in_flight(const struct poller *p, const char *name)
{
	const struct poll_job *j;
	size_t i;

	for (j = p->jobs; j; j = j->next) {
		if (strcmp(j->source, name) == 0)
			return true;
	}
	for (i = p->next_pending; i < p->n_pending; i++) {
		if (strcmp(p->pending[i], name) == 0)
			return true;
	}
	for (j = p->batch; j; j = j->next) {
		if (strcmp(j->source, name) == 0)
			return true;
	}
	return false;
}

static void pending_clear(struct poller *p)
{
	size_t i;

	for (i = 0; i < p->n_pending; i++)
		free(p->pending[i]);
	free(p->pending);
	p->pending = NULL;
	p->n_pending = 0;
	p->next_pending = 0;
}

static int start_one(struct poller *p, const struct config_source *src);

/* Starts pending sources while there is room. */
static void start_more(struct poller *p)
{
	const struct config_source *src;
	const char *name;
	int ret;

	while (!p->closing && p->next_pending < p->n_pending &&
	       p->active < (size_t)p->cfg->fetch_connections) {
		name = p->pending[p->next_pending++];
		src = config_source_find(p->cfg, name);
		if (!src || src->type != SOURCE_FEED)
			continue; /* gone in a reload */
		ret = start_one(p, src);
		if (ret)
			log_errorx("source %s: cannot start a fetch: %s",
				   src->name, strerror(-ret));
	}
	if (p->next_pending == p->n_pending)
		pending_clear(p);
}

static void round_maybe_done(struct poller *p)
{
	poller_done_fn *done = p->done;

	/* round_active counts the round's jobs until they are stored
	 * (in the batch too). */
	if (p->round_active > 0 || p->n_pending > 0 || !done)
		return;
	p->done = NULL;
	done(p->round_fetched, p->round_failed, p->done_arg);
}

static void poller_on_idle(uv_idle_t *idle)
{
	struct poller *p = idle->data;

	uv_idle_stop(idle);
	if (p->closing)
		return;
	round_maybe_done(p);
}

/* Takes job off the list of jobs in flight: its connection is free. */
static void job_unlink(struct poller *p, struct poll_job *job)
{
	struct poll_job **pp;

	for (pp = &p->jobs; *pp; pp = &(*pp)->next) {
		if (*pp == job) {
			*pp = job->next;
			break;
		}
	}
	job->next = NULL;
	p->active--;
}

static void notes_clear(struct poll_job *job)
{
	size_t i;

	for (i = 0; i < job->n_notes; i++)
		free(job->notes[i].text);
	job->n_notes = 0;
}

/* The job is over (stored, or dropped): it leaves its round. */
static void job_free(struct poll_job *job)
{
	struct poller *p = job->p;

	if (job->round == p->round)
		p->round_active--;
	notes_clear(job);
	ingest_abort(job->ingest);
	while (job->queue) {
		struct chunk *c = job->queue;

		job->queue = c->next;
		free(c);
	}
	free(job->outcome.error);
	free(job->outcome.etag);
	free(job->outcome.last_modified);
	free(job->outcome.moved_to);
	free(job->config_url);
	free(job->source);
	free(job->url);
	free(job);
}

/* Seconds to wait after `failures` consecutive failures. */
static int64_t backoff(int64_t interval, int failures)
{
	int64_t wait = interval;
	int i;

	for (i = 1; i < failures && wait < BACKOFF_MAX; i++)
		wait *= 2;
	if (wait > BACKOFF_MAX)
		wait = BACKOFF_MAX;
	return wait;
}

/* A little jitter keeps sources with one interval from moving in step. */
static int64_t jitter(int64_t interval)
{
	uint32_t span = (uint32_t)(interval / 10);

	return span ? (int64_t)randombytes_uniform(span) : 0;
}

static void job_complete(struct poll_job *job);
static void poller_maybe_free(struct poller *p);

/* Keeps a line for the log, written once the job's results are
 * committed (at once when there is no room for it). */
static void note(struct poll_job *job, enum log_level level, const char *fmt,
		 ...) __attribute__((format(printf, 3, 4)));
static void note(struct poll_job *job, enum log_level level, const char *fmt,
		 ...)
{
	struct buf b;
	va_list ap;
	int ret;

	buf_init(&b, BUF_MAX_LINE);
	va_start(ap, fmt);
	ret = buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (ret || job->n_notes == NOTES_MAX) {
		if (!ret)
			log_msg(level, "%s", buf_str(&b));
		buf_free(&b);
		return;
	}
	job->notes[job->n_notes].level = level;
	job->notes[job->n_notes].text = buf_take(&b);
	job->n_notes++;
}

/* Worker thread: only the job's batch and ingest are touched here. */
static void poller_parse_cb(uv_work_t *w)
{
	struct poll_job *job = w->data;
	struct chunk *c;

	for (c = job->batch; c && !job->work_ret; c = c->next)
		job->work_ret = ingest_push(job->ingest, c->data, c->len);
	/* The last batch also ends the document, so that the parser's
	 * final block is read here too, not on the loop thread. */
	if (job->ending && !job->work_ret)
		ingest_end(job->ingest);
}

static void job_advance(struct poll_job *job);

static void poller_parsed_cb(uv_work_t *w, int status)
{
	struct poll_job *job = w->data;
	struct poller *p = job->p;
	struct chunk *c;

	p->works--;
	job->working = false;
	/* libuv runs this after the work, on the loop thread: from here
	 * the worker's fields are ours to read. */
	job->parse_ret = job->work_ret;
	if (job->ending) {
		job->ending = false;
		job->ended = true;
	}
	while ((c = job->batch) != NULL) {
		job->batch = c->next;
		job->backlog -= c->len;
		free(c);
	}
	if (p->closing) {
		/* The fetcher has cancelled every transfer: drop the job,
		 * then the poller once its last worker is back. */
		job_complete(job);
		poller_maybe_free(p);
		return;
	}
	job_advance(job);
}

/* Hands the queued chunks to a worker; with end, the worker then ends
 * the document too (the queue may be empty then). */
static void parse_next(struct poll_job *job, bool end)
{
	struct poller *p = job->p;

	job->batch = job->queue;
	job->queue = NULL;
	job->tail = &job->queue;
	job->ending = end;
	job->work.data = job;
	p->works++;
	job->working = true;
	if (uv_queue_work(p->loop, &job->work, poller_parse_cb,
			  poller_parsed_cb) != 0) {
		/* Cannot happen with a valid loop; parse here instead. */
		poller_parse_cb(&job->work);
		poller_parsed_cb(&job->work, 0);
	}
}

/* Decides what a job does next, whenever something happened to it: a
 * batch came back from the worker, bytes arrived, or the fetch ended.
 * Nothing while a batch is in a worker (its return calls this). */
static void job_advance(struct poll_job *job)
{
	struct poller *p = job->p;
	bool failed = job->fetched && !job->outcome.ok &&
		      !(job->outcome.error &&
			strcmp(job->outcome.error, "stopped by reader") == 0);

	if (job->working)
		return;
	if (p->closing || failed) {
		job_complete(job); /* nothing of the body will be kept */
		return;
	}
	if (job->parse_ret && !job->fetched) {
		/* Not a feed after all, or the parser has stopped at a
		 * break: stop downloading now, rather than when the server
		 * next sends (or times out). This completes the job before
		 * it returns. */
		job->paused = false;
		fetch_cancel(p->fetch, job->transfer);
		return;
	}
	if (job->queue && !job->parse_ret) {
		parse_next(job, job->fetched);
		return;
	}
	if (!job->fetched) {
		if (job->paused) {
			/* Caught up: let the download go on. */
			job->paused = false;
			fetch_resume(p->fetch, job->transfer);
		}
		return;
	}
	if (job->ingest && !job->ended && !job->parse_ret) {
		parse_next(job, true); /* only the end is left to read */
		return;
	}
	job_complete(job);
}

/* Relative links resolve against the URL the body came from, after
 * redirects. */
static int poller_on_begin(struct fetch_job *transfer, const char *url,
			   const char *content_type, bool can_pause, void *arg)
{
	struct poll_job *job = arg;

	job->transfer = transfer;
	job->can_pause = can_pause;
	job->ingest = ingest_begin(job->source, url ? url : job->url,
				   content_type, job->started);
	return job->ingest ? 0 : -ENOMEM;
}

static int poller_on_data(const char *data, size_t len, void *arg)
{
	struct poll_job *job = arg;
	struct chunk *c;

	if (!job->ingest)
		return -ENOMEM;
	if (job->parse_ret)
		return -ECANCELED; /* no (more) feed: stop downloading it */
	/* A local file cannot be paused: it queues, within max_size. */
	if (job->backlog >= JOB_MAX_BACKLOG && job->can_pause) {
		if (!job->paused)
			log_debug("source %s: pausing the download while "
				  "%zu bytes wait for the parser",
				  job->source, job->backlog);
		job->paused = true;
		return FETCH_PAUSE;
	}
	c = malloc(sizeof(*c) + len);
	if (!c)
		return -ENOMEM;
	c->next = NULL;
	c->len = len;
	memcpy(c->data, data, len);
	if (!job->tail)
		job->tail = &job->queue;
	*job->tail = c;
	job->tail = &c->next;
	job->backlog += len;
	if (!job->working)
		parse_next(job, false);
	return 0;
}

static char *dup_maybe(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* The fetch is over: keep what it said, and complete the job once the
 * parser has caught up. */
static void poller_on_fetched(const struct fetch_result *r, void *arg)
{
	struct poll_job *job = arg;
	struct outcome *o = &job->outcome;

	job->transfer = NULL;
	job->fetched = true;
	o->ok = r->ok;
	o->not_modified = r->not_modified;
	o->status = r->status;
	o->retry_after = r->retry_after;
	o->error = dup_maybe(r->error);
	o->etag = dup_maybe(r->etag);
	o->last_modified = dup_maybe(r->last_modified);
	o->moved_to = dup_maybe(r->moved_to);
	if (r->error && !o->error)
		o->error = dup_maybe("out of memory");
	job_advance(job);
}

/* Notes a permanent redirect once, when it is new. */
static void note_move(struct poll_job *job, const struct config_source *src,
		      const struct store_source *row, const char *fetched,
		      const char *to, struct store_fetch_outcome *o)
{
	if (!to || strcmp(to, fetched) == 0 ||
	    (row->moved_url && strcmp(row->moved_url, to) == 0))
		return;
	o->moved_url = to;
	note(job, LOG_LEVEL_WARNING,
	     "source %s: %s has moved permanently to %s; polling the new "
	     "address from now on (set url = %s in the config to make "
	     "it stick)",
	     src->name, fetched, to, to);
}

/* Stores what job fetched (its items, then its fetch record on the
 * source), inside the store's batch when p->batching, and notes what to
 * log. Returns 0, or -EIO when the store failed inside the batch (which
 * must then be rolled back, and the job recorded again on its own). */
static int job_record(struct poll_job *job)
{
	const struct outcome *r = &job->outcome;
	struct poller *p = job->p;
	const struct config_source *src;
	struct store_fetch_outcome o = {0};
	struct store_source row = {0};
	struct ingest_result res = {0};
	struct err err = {{0}};
	int64_t now = (int64_t)time(NULL), wait;
	char why[600];
	int ret = 0;

	notes_clear(job);
	job->counted = false;
	job->failed = false;
	job->added = job->updated = job->duplicates = 0;
	src = config_source_find(p->cfg, job->source);
	if (p->closing || !src || strcmp(src->url, job->config_url) != 0) {
		/* Cancelled at shutdown, or the source left the config or
		 * changed its url while in flight (a reload): store
		 * nothing, so that what the store knows is about the url
		 * the config names now. */
		if (src && !p->closing)
			note(job, LOG_LEVEL_INFO,
			     "source %s: its url changed during a fetch; "
			     "that result is dropped",
			     src->name);
		return 0;
	}
	store_source_get(p->st, src->name, &row, NULL);
	o.when = now;
	o.status = r->status;
	if (job->ingest &&
	    (r->ok ||
	     (r->error && strcmp(r->error, "stopped by reader") == 0))) {
		/* The body was read (or reading stopped because it is no
		 * feed): store it, or learn why not. */
		if (ingest_store(job->ingest, p->st, p->ts, &res, &err)) {
			if (p->batching && res.store_failed) {
				ret = -EIO;
				goto out;
			}
			snprintf(why, sizeof(why), "%s", err.msg);
			o.error = why;
		}
	} else if (!r->ok) {
		snprintf(why, sizeof(why), "%s",
			 r->error ? r->error : "failed");
		o.error = why;
	} else if (!r->not_modified) {
		snprintf(why, sizeof(why), "the server sent an empty document");
		o.error = why;
	}
	o.success = o.error == NULL;
	if (o.success && res.warning[0]) {
		/* Read as far as it was readable: stored, but the admin
		 * should know what was wrong with it. */
		snprintf(why, sizeof(why), "%s", res.warning);
		o.error = why;
		note(job, LOG_LEVEL_WARNING,
		     "source %s: the feed is malformed (%s); the items "
		     "before the fault were read",
		     src->name, res.warning);
	}
	if (o.success) {
		note_move(job, src, &row, job->url, r->moved_to, &o);
		o.etag = r->etag;
		o.last_modified = r->last_modified;
		o.next_poll = now + src->interval + jitter(src->interval);
		if (row.disabled)
			note(job, LOG_LEVEL_INFO,
			     "source %s: answering again; polling resumes",
			     src->name);
		job->outcome_metric = r->not_modified
					      ? METRIC_FETCH_NOT_MODIFIED
					      : METRIC_FETCH_OK;
		job->added = res.added;
		job->updated = res.updated;
		job->duplicates = res.duplicates;
		if (r->not_modified)
			note(job, LOG_LEVEL_INFO, "source %s: not modified",
			     src->name);
		else
			note(job, LOG_LEVEL_INFO,
			     "source %s: %zu items, %zu new, %zu "
			     "updated, %zu repeats of earlier stories",
			     src->name, res.parsed, res.added, res.updated,
			     res.duplicates);
	} else if (r->status == 410) {
		/* Gone for good (RFC 9110 15.5.11): stop asking. */
		o.disable = "410 Gone: the site says this feed was removed; "
			    "change its url in the config, or remove the "
			    "source";
		o.next_poll = now + BACKOFF_MAX;
		note(job, LOG_LEVEL_ERROR,
		     "source %s (%s): %s; it is no longer polled", src->name,
		     job->url, o.disable);
		job->outcome_metric = METRIC_FETCH_GONE;
		job->failed = true;
	} else {
		o.next_poll = now + backoff(src->interval, row.failures + 1);
		/* 429 and 503 may say when to come back: never sooner. */
		wait = r->retry_after;
		if (wait > 0 && now + wait > o.next_poll)
			o.next_poll = now + wait;
		note(job, LOG_LEVEL_WARNING,
		     "source %s (%s): %s; next try in %lld s", src->name,
		     job->url, o.error, (long long)(o.next_poll - now));
		job->outcome_metric = METRIC_FETCH_FAILED;
		job->failed = true;
	}
	job->counted = true;
	if (store_source_record(p->st, src->name, &o, &err)) {
		if (p->batching) {
			ret = -EIO;
			goto out;
		}
		note(job, LOG_LEVEL_ERROR, "source %s: %s", src->name, err.msg);
	}
out:
	store_source_finish(&row);
	return ret;
}

/* Logs what a recorded job did, counts it in its round and the metrics,
 * and frees it. */
static void job_report(struct poll_job *job)
{
	struct poller *p = job->p;
	size_t i;

	for (i = 0; i < job->n_notes; i++)
		log_msg(job->notes[i].level, "%s", job->notes[i].text);
	if (job->counted && job->round == p->round) {
		p->round_fetched++;
		if (job->failed)
			p->round_failed++;
	}
	if (job->counted) {
		metrics_add(job->outcome_metric, 1);
		metrics_add(METRIC_ITEMS_NEW, job->added);
		metrics_add(METRIC_ITEMS_UPDATED, job->updated);
		metrics_add(METRIC_DUPLICATES, job->duplicates);
	}
	job_free(job);
}

/* Stores the batch's jobs in one transaction or, when that fails, one by
 * one; then logs what they did. */
static void batch_flush(struct poller *p)
{
	struct poll_job *list = p->batch, *job, *next;
	struct err err = {{0}};
	int ret;

	if (!list)
		return;
	uv_timer_stop(&p->flush);
	p->batch = NULL;
	p->n_batch = 0;
	p->batch_bytes = 0;
	ret = store_batch_begin(p->st, &err);
	if (!ret) {
		p->batching = true;
		for (job = list; job && !ret; job = job->next)
			ret = job_record(job);
		p->batching = false;
		if (!ret)
			ret = store_batch_commit(p->st, &err);
		else
			store_batch_rollback(p->st);
	}
	if (ret) {
		log_debug("storing fetch results together failed (%s); "
			  "storing them source by source",
			  err.msg[0] ? err.msg : "the store failed");
		for (job = list; job; job = job->next)
			job_record(job);
	}
	for (job = list; job; job = next) {
		next = job->next;
		job_report(job);
	}
}

static void poller_on_flush(uv_timer_t *t)
{
	struct poller *p = t->data;

	batch_flush(p);
	if (!p->closing) {
		start_more(p);
		round_maybe_done(p);
	}
}

/* The job is over: its connection is free, and its results wait in the
 * batch (at shutdown, a cancelled job is dropped: nothing is stored). */
static void job_complete(struct poll_job *job)
{
	struct poller *p = job->p;
	struct poll_job **tail;

	job_unlink(p, job);
	if (p->closing) {
		job_free(job);
		return;
	}
	for (tail = &p->batch; *tail; tail = &(*tail)->next)
		;
	*tail = job;
	p->n_batch++;
	if (job->ingest)
		p->batch_bytes += ingest_bytes(job->ingest);
	if (p->n_batch >= BATCH_MAX_JOBS || p->batch_bytes >= BATCH_MAX_BYTES ||
	    (p->active == 0 && p->next_pending >= p->n_pending)) {
		/* Full, or nothing else in flight: no reason to wait. */
		batch_flush(p);
	} else if (p->n_batch == 1) {
		uv_timer_start(&p->flush, poller_on_flush, BATCH_DELAY_MS, 0);
	}
	start_more(p);
	round_maybe_done(p);
}

static int start_one(struct poller *p, const struct config_source *src)
{
	struct store_source row = {0};
	struct fetch_request req = {0};
	struct poll_job *job;
	int ret;

	job = calloc(1, sizeof(*job));
	if (!job)
		return -ENOMEM;
	job->p = p;
	/* A permanent redirect is followed from then on; the store forgets
	 * it (and the validators) when the configured URL changes. */
	store_source_get(p->st, src->name, &row, NULL);
	job->source = strdup(src->name);
	job->config_url = strdup(src->url);
	job->url = strdup(row.moved_url ? row.moved_url : src->url);
	if (!job->source || !job->url || !job->config_url) {
		ret = -ENOMEM;
		store_source_finish(&row);
		goto fail;
	}
	req.url = job->url;
	req.etag = row.etag;
	req.last_modified = row.last_modified;
	req.timeout = p->cfg->fetch_timeout;
	req.max_bytes = p->cfg->fetch_max_bytes;
	req.ca_file = p->cfg->fetch_ca_file;
	req.on_data = poller_on_data;
	req.on_begin = poller_on_begin;
	req.data_arg = job;
	job->started = (int64_t)time(NULL);
	ret = fetch_start(p->fetch, &req, poller_on_fetched, job);
	store_source_finish(&row);
	if (ret)
		goto fail;
	job->next = p->jobs;
	p->jobs = job;
	p->active++;
	job->round = p->round;
	p->round_active++;
	log_debug("source %s: fetching %s", src->name, src->url);
	return 0;
fail:
	free(job->source);
	free(job->config_url);
	free(job->url);
	free(job);
	return ret;
}

int poller_start(struct poller *p, const char *only, bool force, int64_t now,
		 poller_done_fn *done, void *arg)
{
	struct store_source row;
	const struct config_source *src;
	char **names;
	size_t i, n = 0;

	names = calloc(p->cfg->n_sources + 1, sizeof(*names));
	if (!names)
		return -ENOMEM;
	p->done = done;
	p->done_arg = arg;
	p->round++;
	p->round_active = 0;
	p->round_fetched = 0;
	p->round_failed = 0;
	for (i = 0; i < p->cfg->n_sources; i++) {
		src = &p->cfg->sources[i];
		if (src->type != SOURCE_FEED)
			continue;
		if (only && strcmp(only, src->name) != 0)
			continue;
		if (in_flight(p, src->name))
			continue;
		memset(&row, 0, sizeof(row));
		if (store_source_get(p->st, src->name, &row, NULL) == 0 &&
		    !only &&
		    (row.disabled || (!force && row.next_poll > now))) {
			/* A disabled source is polled only when asked for
			 * by name (bulletinctl fetch SOURCE). */
			store_source_finish(&row);
			continue;
		}
		store_source_finish(&row);
		names[n] = strdup(src->name);
		if (!names[n]) {
			log_errorx("source %s: out of memory: not polled in "
				   "this round",
				   src->name);
			continue;
		}
		n++;
	}
	/* A round is only started when the last one is over. */
	pending_clear(p);
	p->pending = names;
	p->n_pending = n;
	start_more(p);
	if (done && p->round_active == 0 && p->n_pending == 0)
		uv_idle_start(&p->idle, poller_on_idle);
	return (int)n;
}

int64_t poller_next_due(struct poller *p)
{
	int64_t min = INT64_MAX;
	size_t i;

	/* A configured source the store has not seen yet is due now. */
	for (i = 0; i < p->cfg->n_sources; i++) {
		struct store_source row = {0};

		if (p->cfg->sources[i].type != SOURCE_FEED ||
		    in_flight(p, p->cfg->sources[i].name))
			continue;
		if (store_source_get(p->st, p->cfg->sources[i].name, &row,
				     NULL) != 0) {
			min = 0;
			continue;
		}
		if (!row.disabled && row.next_poll < min)
			min = row.next_poll;
		store_source_finish(&row);
	}
	return min;
}

size_t poller_active(const struct poller *p)
{
	return p->active + (p->n_pending - p->next_pending) + p->n_batch;
}

size_t poller_waiting(const struct poller *p)
{
	return p->n_pending - p->next_pending;
}

void poller_reconfigure(struct poller *p, const struct config *cfg,
			const struct theme_set *ts)
{
	p->cfg = cfg;
	p->ts = ts;
}

/* At destroy: freed once its idle handle has closed and no batch is in
 * a worker (the loop runs until both are done). */
static void poller_maybe_free(struct poller *p)
{
	if (p->closing && p->idle_closed && p->flush_closed && p->works == 0)
		free(p);
}

static void poller_on_idle_close(uv_handle_t *h)
{
	struct poller *p = h->data;

	p->idle_closed = true;
	poller_maybe_free(p);
}

static void poller_on_flush_close(uv_handle_t *h)
{
	struct poller *p = h->data;

	p->flush_closed = true;
	poller_maybe_free(p);
}

void poller_destroy(struct poller *p)
{
	if (!p)
		return;
	/* What was fetched and parsed in full is stored. */
	batch_flush(p);
	p->closing = true;
	p->done = NULL;
	pending_clear(p);
	/* Each in-flight job's callback runs now with "cancelled". */
	fetch_destroy(p->fetch);
	uv_idle_stop(&p->idle);
	uv_close((uv_handle_t *)&p->idle, poller_on_idle_close);
	uv_timer_stop(&p->flush);
	uv_close((uv_handle_t *)&p->flush, poller_on_flush_close);
}
