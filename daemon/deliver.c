/*
 * deliver: claim, render, hand over, settle. For SMTP a window of rows is
 * in the senders' hands at a time; outcomes are gathered for a few
 * milliseconds and settled in one transaction (one fsync for many
 * messages), and the window is refilled from the same run.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "deliver.h"
#include "maildir.h"
#include "secret.h"
#include "smtp.h"

#define DELIVER_BATCH 100 /* rows claimed at a time */
#define DELIVER_WINDOW 16 /* rows in flight per SMTP connection */
/* and at most this much rendered mail waiting in the senders' queue (or
 * one message per connection, if one is bigger): a digest can be big,
 * and memory must not grow with the window (claim_room) */
#define DELIVER_MAX_BYTES ((size_t)8 << 20)
#define DELIVER_MAX_WAIT 21600 /* the longest wait between tries: 6 h */
#define DELIVER_ERROR_MAX 400
#define DELIVER_SETTLE_MS 20 /* outcomes gathered before settling */

/* One row handed to the senders: a digest delivery, or a notice (a
 * reply to a command), whose id is given to smtp_send negated. */
struct flight {
	int64_t id;   /* as given to smtp_send */
	size_t bytes; /* of the message, held by the senders' queue */
	bool notice;
	int64_t subscriber_id;
	int64_t digest_created;
	int attempts;
	char *list;
	char *address;
};

/* One outcome waiting to be settled. */
struct outcome {
	struct store_settle row;
	bool notice;
	int64_t subscriber_id;
	bool hard; /* refused for good (5xx): counts towards suspension */
	char list[128];
	char address[256];
	char error[DELIVER_ERROR_MAX];
};

struct deliver {
	uv_loop_t *loop;
	struct store *st;
	struct config *cfg; /* held */
	const char *maildir;
	struct smtp *smtp;
	struct deliver_stats stats;
	deliver_idle_fn *idle;
	void *idle_arg;

	/* SMTP: rows in flight, by id order of hand-over (small). */
	struct flight *flights;
	size_t n_flights, cap_flights;
	size_t window;
	size_t connections;	/* the senders' SMTP connections */
	size_t bytes_in_flight; /* rendered messages the senders hold */
	size_t msg_bytes;	/* the run's last digest message; 0: none yet */
	/* The run to refill from. */
	struct outbox *ob;
	const struct config *run_cfg; /* the lists, for envelope senders */
	int64_t run_digest;
	bool more; /* the last claim was full: there may be more */
	/* Suspects (rows in flight at an unclean stop) go first, each
	 * alone: one is out until it is settled; none left this run. */
	bool suspect_out;
	bool suspects_done;

	/* Outcomes not yet settled, and the turn that settles them. */
	struct outcome *outcomes;
	size_t n_outcomes, cap_outcomes;
	uv_timer_t settle;
	bool settle_armed;
	bool destroying;

	/* The server is unreachable (G5): claim nothing until then, and
	 * say so once. */
	int64_t paused_until;
	int64_t outage_wait; /* doubles while the outage lasts */
	bool outage;
	bool store_down; /* the last settle failed: claim nothing */
};

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

/* When a row that failed for the attempts-th time may be tried again,
 * or 0 when it is past give_up and fails for good. */
static int64_t next_try(const struct deliver *dv, int attempts, int64_t created,
			int64_t now)
{
	int64_t wait = dv->cfg->smtp_retry;

	for (int i = 1; i < attempts && wait < DELIVER_MAX_WAIT; i++)
		wait *= 2;
	if (wait > DELIVER_MAX_WAIT)
		wait = DELIVER_MAX_WAIT;
	if (now + wait > created + dv->cfg->smtp_give_up)
		return 0;
	return now + wait;
}

static int add_outcome(struct deliver *dv, int64_t id, int64_t subscriber_id,
		       const char *list, const char *address, bool sent,
		       bool permanent, int64_t next, const char *error)
{
	/* Notices travel with negative ids. */
	bool notice = id < 0;

	struct outcome *o;

	if (dv->n_outcomes == dv->cap_outcomes) {
		size_t cap = dv->cap_outcomes ? dv->cap_outcomes * 2 : 64;
		struct outcome *tmp = realloc(dv->outcomes, cap * sizeof(*tmp));

		if (!tmp)
			return -ENOMEM;
		dv->outcomes = tmp;
		dv->cap_outcomes = cap;
	}
	o = &dv->outcomes[dv->n_outcomes++];
	memset(o, 0, sizeof(*o));
	o->notice = notice;
	o->row.id = notice ? -id : id;
	o->row.sent = sent;
	o->row.permanent = permanent;
	o->row.next_try = next;
	o->subscriber_id = subscriber_id;
	snprintf(o->list, sizeof(o->list), "%s", list);
	snprintf(o->address, sizeof(o->address), "%s", address);
	snprintf(o->error, sizeof(o->error), "%s", error ? error : "");
	return 0;
}

/* A message failed because of the server: its row waits, uncounted,
 * and nothing more is claimed for a while. Logged once per outage. */
static void server_down(struct deliver *dv, const struct flight *f,
			const char *error)
{
	int64_t now = now_s();

	if (!dv->outage || now >= dv->paused_until) {
		dv->outage_wait =
			dv->outage ? dv->outage_wait * 2 : dv->cfg->smtp_retry;
		if (dv->outage_wait > DELIVER_MAX_WAIT)
			dv->outage_wait = DELIVER_MAX_WAIT;
		dv->paused_until = now + dv->outage_wait;
		log_warnx("%s; deliveries wait and resume on their own "
			  "(next try in %lld s)",
			  error, (long long)dv->outage_wait);
	}
	dv->outage = true;
	dv->stats.deferred++;
	add_outcome(dv, f->id, f->subscriber_id, f->list, f->address, false,
		    false, dv->paused_until, error);
	dv->outcomes[dv->n_outcomes - 1].row.not_counted = true;
}

static int settle_now(struct deliver *dv, struct err *err)
{
	struct store_settle *rows;
	int64_t now = now_s();
	bool suspended;
	size_t i, n = 0, k = 0;
	int ret;

	if (dv->n_outcomes == 0)
		return 0;
	rows = calloc(dv->n_outcomes, sizeof(*rows));
	if (!rows) {
		err_set(err, "out of memory settling deliveries");
		return -ENOMEM;
	}
	/* Digest deliveries first, then notices after them. */
	for (i = 0; i < dv->n_outcomes; i++) {
		struct outcome *o = &dv->outcomes[i];
		size_t at = o->notice ? dv->n_outcomes - 1 - k++ : n++;

		rows[at] = o->row;
		rows[at].error = o->error;
	}
	ret = store_deliveries_settle(dv->st, rows, n, now, err);
	if (!ret && k)
		ret = store_notices_settle(dv->st, rows + n, k, now, err);
	free(rows);
	if (ret)
		return ret; /* the rows stay "sending": recovered at start */
	for (i = 0; i < dv->n_outcomes; i++) {
		struct outcome *o = &dv->outcomes[i];

		if (o->notice || o->row.sent || !o->hard)
			continue;
		if (store_subscriber_hard_failure(dv->st, o->subscriber_id,
						  dv->cfg->smtp_suspend_after,
						  now, &suspended, err) == 0 &&
		    suspended)
			log_warnx("list %s: subscriber %s suspended: the last "
				  "%d deliveries failed for good (%s); see "
				  "bulletinctl subscribers %s show %s",
				  o->list, o->address,
				  dv->cfg->smtp_suspend_after, o->error,
				  o->list, o->address);
	}
	dv->n_outcomes = 0;
	return 0;
}

static void refill(struct deliver *dv);

/* Records the outcomes gathered; on failure keeps them for the next
 * try and stops claiming (logged once until it works again). */
static int settle(struct deliver *dv, struct err *err)
{
	size_t n = dv->n_outcomes;
	int ret = settle_now(dv, err);

	if (ret) {
		dv->stats.store_errors += n;
		if (!dv->store_down)
			log_errorx("cannot record %zu deliveries: %s; nothing "
				   "more is sent until they are recorded",
				   n, err->msg);
		dv->store_down = true;
		/* What the senders have not started stays unsent. */
		smtp_hold(dv->smtp, "the database cannot be written");
		return ret;
	}
	if (dv->store_down)
		log_info("deliveries are recorded again");
	dv->store_down = false;
	return 0;
}

static void on_settle(uv_timer_t *t)
{
	struct deliver *dv = t->data;
	struct err err = {{0}};

	dv->settle_armed = false;
	settle(dv, &err);
	if (!dv->destroying && !dv->store_down)
		refill(dv);
	/* Idle once nothing is in the senders' hands; outcomes that could
	 * not be recorded wait for a later run. */
	if (dv->n_flights == 0 && (dv->n_outcomes == 0 || dv->store_down) &&
	    dv->idle && !dv->destroying)
		dv->idle(dv->idle_arg);
}

static void arm_settle(struct deliver *dv)
{
	if (dv->settle_armed || dv->destroying)
		return;
	dv->settle_armed = true;
	/* Outcomes arrive one by one: gathering them for a moment makes
	 * one transaction (one fsync) of many. A row sent but not yet
	 * settled counts as in flight: after a crash it goes again, with
	 * its Message-ID. */
	uv_timer_start(&dv->settle, on_settle, DELIVER_SETTLE_MS, 0);
}

static struct flight *take_flight(struct deliver *dv, int64_t id,
				  struct flight *out)
{
	for (size_t i = 0; i < dv->n_flights; i++) {
		if (dv->flights[i].id != id)
			continue;
		*out = dv->flights[i];
		dv->flights[i] = dv->flights[--dv->n_flights];
		return out;
	}
	return NULL;
}

static void on_sent(const struct smtp_result *r, void *arg)
{
	struct deliver *dv = arg;
	struct flight f;
	int64_t next = 0;
	bool permanent;

	if (!take_flight(dv, r->id, &f))
		return;
	dv->bytes_in_flight -= f.bytes;
	if (r->outcome == SMTP_SENT && dv->outage) {
		log_info("the SMTP server takes mail again");
		dv->outage = false;
		dv->paused_until = 0;
	}
	if (r->outcome != SMTP_SENT && dv->store_down && !r->code) {
		/* Held back unsent while the database cannot be written:
		 * pending again, the try not counted, nothing to say. */
		add_outcome(dv, f.id, f.subscriber_id, f.list, f.address, false,
			    false, 0, r->error);
		dv->outcomes[dv->n_outcomes - 1].row.not_counted = true;
	} else if (r->outcome != SMTP_SENT && r->server_problem) {
		server_down(dv, &f, r->error);
	} else if (r->outcome == SMTP_SENT) {
		log_info("list %s: %s delivered to %s", f.list,
			 f.notice ? "reply" : "digest", f.address);
		dv->stats.sent++;
		add_outcome(dv, f.id, f.subscriber_id, f.list, f.address, true,
			    false, 0, NULL);
	} else {
		permanent = r->outcome == SMTP_PERMANENT;
		if (!permanent)
			next = next_try(dv, f.attempts, f.digest_created,
					now_s());
		if (!permanent && next == 0) {
			log_warnx("list %s: delivery to %s failed: %s; giving "
				  "up after %d tries ([smtp] give_up)",
				  f.list, f.address, r->error, f.attempts);
			permanent = true;
		} else if (permanent) {
			log_warnx("list %s: delivery to %s failed for good: "
				  "%s",
				  f.list, f.address, r->error);
		} else {
			log_warnx("list %s: delivery to %s deferred: %s; "
				  "trying again in %lld s",
				  f.list, f.address, r->error,
				  (long long)(next - now_s()));
		}
		if (permanent)
			dv->stats.failed++;
		else
			dv->stats.deferred++;
		add_outcome(dv, f.id, f.subscriber_id, f.list, f.address, false,
			    permanent, next, r->error);
		/* Only a refusal (5xx) counts towards suspension; giving
		 * up on a server that kept deferring does not. */
		dv->outcomes[dv->n_outcomes - 1].hard =
			r->outcome == SMTP_PERMANENT;
	}
	free(f.list);
	free(f.address);
	arm_settle(dv);
	/* Keep the senders busy: claiming needs no settling first. */
	if (!dv->destroying)
		refill(dv);
}

struct claim_ctx {
	struct deliver *dv;
	size_t claimed;
	int64_t now;
};

size_t deliver_cancel(struct deliver *dv, int64_t subscriber_id)
{
	struct flight f;
	size_t n = 0, i = 0;

	if (!dv || !dv->smtp)
		return 0;
	while (i < dv->n_flights) {
		const struct flight *c = &dv->flights[i];

		if (c->notice || c->subscriber_id != subscriber_id ||
		    !smtp_cancel(dv->smtp, c->id)) {
			i++;
			continue;
		}
		/* take_flight moves the last one here: look at i again. */
		take_flight(dv, c->id, &f);
		dv->bytes_in_flight -= f.bytes;
		log_info("list %s: %s: not sent: unsubscribed while the "
			 "digest was going out",
			 f.list, f.address);
		add_outcome(dv, f.id, f.subscriber_id, f.list, f.address, false,
			    true, 0, "unsubscribed");
		free(f.list);
		free(f.address);
		n++;
	}
	if (n) {
		arm_settle(dv);
		refill(dv);
	}
	return n;
}

/* A row whose subscriber left after the digest was composed. */
static bool not_active(struct deliver *dv, const struct store_delivery *d)
{
	char why[128];

	if (!d->subscriber_state || strcmp(d->subscriber_state, "active") == 0)
		return false;
	snprintf(why, sizeof(why), "not sent: the subscriber is %s",
		 d->subscriber_state);
	log_info("list %s: %s: %s", d->list, d->address, why);
	add_outcome(dv, d->id, d->subscriber_id, d->list, d->address, false,
		    true, 0, why);
	arm_settle(dv);
	return true;
}

/* Hands one message to the SMTP senders; id is negative for a
 * notice. */
static int fly(struct deliver *dv, int64_t id, int64_t subscriber_id,
	       int64_t created, int attempts, const char *list_name,
	       const char *address, const char *from, const char *msg,
	       size_t len)
{
	struct flight *f;

	if (dv->n_flights == dv->cap_flights) {
		size_t cap = dv->cap_flights ? dv->cap_flights * 2 : 32;
		struct flight *tmp = realloc(dv->flights, cap * sizeof(*tmp));

		if (!tmp)
			return -ENOMEM;
		dv->flights = tmp;
		dv->cap_flights = cap;
	}
	f = &dv->flights[dv->n_flights];
	f->id = id;
	f->notice = id < 0;
	f->subscriber_id = subscriber_id;
	f->digest_created = created;
	f->attempts = attempts;
	f->list = strdup(list_name);
	f->address = strdup(address);
	if (!f->list || !f->address ||
	    smtp_send(dv->smtp, id, from, address, msg, len) < 0) {
		free(f->list);
		free(f->address);
		return -ENOMEM;
	}
	f->bytes = len;
	dv->bytes_in_flight += len;
	dv->n_flights++;
	if (id > 0)
		dv->msg_bytes = len;
	return 0;
}

static int claim_one(const struct store_delivery *d, void *arg)
{
	struct claim_ctx *ctx = arg;
	struct deliver *dv = ctx->dv;
	struct err err = {{0}};
	const struct config_list *list;
	struct buf msg, path;
	int ret;

	ctx->claimed++;
	if (not_active(dv, d))
		return 0;
	buf_init(&msg, BUF_MAX_TEXT);
	ret = outbox_render(dv->ob, d, ctx->now,
			    /* a maildir takes 8-bit text as it is */
			    dv->maildir != NULL, &msg, &err);
	if (ret) {
		log_warnx("list %s: delivery to %s failed: %s", d->list,
			  d->address, err.msg);
		dv->stats.deferred++;
		add_outcome(dv, d->id, d->subscriber_id, d->list, d->address,
			    false, false, ctx->now + dv->cfg->smtp_retry,
			    err.msg);
		arm_settle(dv);
		buf_free(&msg);
		return 0;
	}
	dv->stats.items = outbox_items(dv->ob);
	if (dv->maildir) {
		buf_init(&path, BUF_MAX_LINE);
		ret = maildir_deliver(dv->maildir, buf_str(&msg), msg.len,
				      &path, &err);
		if (ret) {
			log_warnx("list %s: delivery to %s failed: %s", d->list,
				  d->address, err.msg);
			dv->stats.deferred++;
			add_outcome(dv, d->id, d->subscriber_id, d->list,
				    d->address, false, false,
				    ctx->now + dv->cfg->smtp_retry, err.msg);
		} else {
			log_info("list %s: digest delivered to %s (%s)",
				 d->list, d->address, buf_str(&path));
			dv->stats.sent++;
			add_outcome(dv, d->id, d->subscriber_id, d->list,
				    d->address, true, false, 0, NULL);
		}
		buf_free(&path);
		buf_free(&msg);
		return 0;
	}
	/* The envelope sender names the delivery, so that a bounce can
	 * be traced back to it (VERP, RELIABILITY G12). */
	list = config_list_find(dv->run_cfg, d->list);
	buf_init(&path, BUF_MAX_LINE);
	if (outbox_bounce_address(dv->ob, d, &path) != 0) {
		buf_reset(&path);
		ret = buf_adds(&path, list ? list->address : d->address);
		if (ret) {
			buf_free(&msg);
			return ret;
		}
	}
	ret = fly(dv, d->id, d->subscriber_id, d->digest_created, d->attempts,
		  d->list, d->address, buf_str(&path), buf_str(&msg), msg.len);
	buf_free(&path);
	buf_free(&msg);
	return ret;
}

/* Claims up to max rows of the run and hands them over. Suspects
 * first, one at a time, each with nothing else in flight or unsettled:
 * should sending it crash bulletin, only it counts the stop
 * (RELIABILITY G8). While one waits, more stays set so that the refill
 * after the settle comes back here. */
static int claim(struct deliver *dv, size_t max, struct err *err)
{
	struct claim_ctx ctx = {dv, 0, now_s()};
	bool alone = dv->n_flights == 0 && dv->n_outcomes == 0;
	int ret;

	if (dv->suspect_out && !alone) {
		dv->more = true;
		return 0;
	}
	dv->suspect_out = false;
	if (!dv->suspects_done) {
		dv->more = true;
		if (!alone)
			return 0;
		ret = store_deliveries_claim_suspect(
			dv->st, dv->run_digest, ctx.now, claim_one, &ctx, err);
		if (ret || ctx.claimed) {
			dv->suspect_out = ctx.claimed > 0;
			return ret;
		}
		dv->suspects_done = true;
	}
	ret = store_deliveries_claim(dv->st, dv->run_digest, ctx.now, max,
				     claim_one, &ctx, err);
	dv->more = !ret && ctx.claimed == max;
	return ret;
}

/* How many rows to claim now: the room in the window, so long as the
 * senders hold at most DELIVER_MAX_BYTES of rendered mail, or one
 * message per connection when a message is bigger than that (a digest
 * of thousands of stories). The run's messages are about one size; until
 * its first is rendered, one row. */
static size_t claim_room(const struct deliver *dv)
{
	size_t room, fit, spare;

	if (dv->n_flights >= dv->window)
		return 0;
	room = dv->window - dv->n_flights;
	if (dv->msg_bytes == 0)
		return 1;
	fit = dv->bytes_in_flight < DELIVER_MAX_BYTES
		      ? (DELIVER_MAX_BYTES - dv->bytes_in_flight) /
				dv->msg_bytes
		      : 0;
	spare = dv->connections > dv->n_flights
			? dv->connections - dv->n_flights
			: 0;
	if (fit < spare)
		fit = spare;
	return fit < room ? fit : room;
}

/* Claims what claim_room allows; when that was a run's first message,
 * whose size is now known, once more. */
static int fill(struct deliver *dv, struct err *err)
{
	bool known = dv->msg_bytes > 0;
	size_t room = claim_room(dv);
	int ret;

	if (room == 0)
		return 0;
	ret = claim(dv, room, err);
	if (!ret && !known && dv->msg_bytes > 0 && dv->more) {
		room = claim_room(dv);
		if (room > 0)
			ret = claim(dv, room, err);
	}
	return ret;
}

/* Tops the SMTP window up from the current run. */
static void refill(struct deliver *dv)
{
	struct err err = {{0}};

	if (!dv->smtp || !dv->ob || !dv->more || dv->store_down ||
	    now_s() < dv->paused_until)
		return;
	if (dv->n_flights >= dv->window / 2)
		return;
	if (fill(dv, &err))
		log_errorx("%s", err.msg);
}

int deliver_run(struct deliver *dv, struct outbox *ob, const struct config *cfg,
		int64_t digest_id, struct err *err)
{
	int ret;

	dv->ob = ob;
	dv->run_cfg = cfg;
	dv->run_digest = digest_id;
	dv->suspects_done = false;
	dv->msg_bytes = 0;
	/* Outcomes a full disk kept back go first. */
	if (dv->store_down && settle(dv, err))
		return -EIO;
	if (dv->maildir) {
		do {
			ret = claim(dv, DELIVER_BATCH, err);
			if (!ret)
				ret = settle(dv, err);
		} while (!ret && dv->more);
		return ret;
	}
	if (now_s() < dv->paused_until)
		return 0;
	return fill(dv, err);
}

struct notice_ctx {
	struct deliver *dv;
	const struct config *cfg;
	int64_t now;
	size_t claimed;
};

static int notice_one(const struct store_notice *n, void *arg)
{
	struct notice_ctx *ctx = arg;
	struct deliver *dv = ctx->dv;
	const struct config_list *list = config_list_find(ctx->cfg, n->list);
	struct err err = {{0}};
	struct buf path;
	int ret;

	ctx->claimed++;
	if (!dv->maildir)
		return fly(dv, -n->id, 0, n->created, n->attempts, n->list,
			   n->address, list ? list->address : n->address,
			   n->message, strlen(n->message));
	buf_init(&path, BUF_MAX_LINE);
	ret = maildir_deliver(dv->maildir, n->message, strlen(n->message),
			      &path, &err);
	if (ret) {
		log_warnx("list %s: %s reply to %s failed: %s", n->list,
			  n->kind, n->address, err.msg);
		dv->stats.deferred++;
		add_outcome(dv, -n->id, 0, n->list, n->address, false, false,
			    next_try(dv, n->attempts, n->created, ctx->now),
			    err.msg);
		if (dv->outcomes[dv->n_outcomes - 1].row.next_try == 0)
			dv->outcomes[dv->n_outcomes - 1].row.permanent = true;
	} else {
		log_info("list %s: %s reply delivered to %s (%s)", n->list,
			 n->kind, n->address, buf_str(&path));
		add_outcome(dv, -n->id, 0, n->list, n->address, true, false, 0,
			    NULL);
	}
	buf_free(&path);
	return 0;
}

int deliver_notices(struct deliver *dv, const struct config *cfg,
		    struct err *err)
{
	struct notice_ctx ctx = {dv, cfg, now_s(), 0};
	size_t max = DELIVER_BATCH;
	int ret;

	/* A suspect is sent alone. */
	if (dv->destroying || dv->suspect_out)
		return 0;
	if (!dv->maildir) {
		if (now_s() < dv->paused_until || dv->n_flights >= dv->window)
			return 0;
		max = dv->window - dv->n_flights;
	}
	do {
		ctx.claimed = 0;
		ret = store_notices_claim(dv->st, ctx.now, max, notice_one,
					  &ctx, err);
		if (!ret && dv->maildir)
			ret = settle_now(dv, err);
	} while (!ret && dv->maildir && ctx.claimed == max);
	return ret;
}

void deliver_detach(struct deliver *dv)
{
	if (!dv)
		return;
	dv->ob = NULL;
	dv->run_cfg = NULL;
	dv->more = false;
}

size_t deliver_in_flight(const struct deliver *dv)
{
	return dv ? dv->n_flights + dv->n_outcomes : 0;
}

void deliver_on_idle(struct deliver *dv, deliver_idle_fn *idle, void *arg)
{
	dv->idle = idle;
	dv->idle_arg = arg;
}

const struct deliver_stats *deliver_stats(const struct deliver *dv)
{
	return &dv->stats;
}

struct deliver *deliver_create(uv_loop_t *loop, struct store *st,
			       struct config *cfg, struct err *err)
{
	struct smtp_options opt = {0};
	struct deliver *dv;
	char password[512] = "";

	dv = calloc(1, sizeof(*dv));
	if (!dv) {
		err_set(err, "out of memory");
		return NULL;
	}
	dv->loop = loop;
	dv->st = st;
	dv->cfg = config_ref(cfg);
	dv->maildir = config_maildir(cfg);
	dv->window = (size_t)cfg->smtp_connections * DELIVER_WINDOW;
	dv->connections = (size_t)cfg->smtp_connections;
	uv_timer_init(loop, &dv->settle);
	dv->settle.data = dv;
	if (dv->maildir)
		return dv;
	if (cfg->smtp_username && cfg->smtp_password_file &&
	    secret_read_password(cfg->smtp_password_file,
				 "[smtp] password_file", password,
				 sizeof(password), err) < 0)
		goto fail;
	opt.url = cfg->smtp_url;
	opt.username = cfg->smtp_username;
	opt.password = password;
	opt.ca_file = cfg->smtp_ca_file;
	opt.starttls = cfg->smtp_starttls;
	opt.connections = cfg->smtp_connections;
	opt.timeout = (int)cfg->smtp_timeout;
	dv->smtp = smtp_create(loop, &opt, on_sent, dv, err);
	memset(password, 0, sizeof(password));
	if (!dv->smtp)
		goto fail;
	return dv;
fail:
	deliver_destroy(dv);
	return NULL;
}

static void on_closed(uv_handle_t *h)
{
	struct deliver *dv = h->data;

	config_destroy(dv->cfg);
	free(dv->outcomes);
	free(dv);
}

void deliver_destroy(struct deliver *dv)
{
	struct err err = {{0}};

	if (!dv)
		return;
	dv->more = false;
	/* The senders finish what they are on; each outcome arrives through
	 * on_sent before smtp_destroy returns. */
	smtp_destroy(dv->smtp);
	dv->smtp = NULL;
	dv->destroying = true;
	settle(dv, &err);
	for (size_t i = 0; i < dv->n_flights; i++) {
		free(dv->flights[i].list);
		free(dv->flights[i].address);
	}
	free(dv->flights);
	uv_timer_stop(&dv->settle);
	uv_close((uv_handle_t *)&dv->settle, on_closed);
}
