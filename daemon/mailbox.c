#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "imap.h"
#include "intake.h"
#include "log.h"
#include "mailbox.h"
#include "secret.h"
#include "store.h"
#include "theme.h"

/* Messages taken from one folder per job; the rest wait for the next. */
#define MAILBOX_BATCH 200
#define MAILBOX_SWEEP_MAX 10000	      /* seen messages looked up per folder */
#define MAILBOX_TIMEOUT 60	      /* seconds for any one network wait */
#define MAILBOX_BACKOFF_MAX (15 * 60) /* seconds */
#define MAILBOX_PASSWORD_MAX 1024

struct mailbox {
	uv_loop_t *loop;
	uv_timer_t timer;
	uv_work_t work;
	struct config *cfg; /* held: the config for the next job */
	bool busy;	    /* a job is on the pool */
	bool once;
	bool closing; /* mailbox_destroy was called */
	mailbox_done_fn *done;
	void *done_arg;
	int64_t backoff; /* seconds before the next try after a failure */
	atomic_bool stopping;

	/* The job's; the worker owns them while busy. */
	struct config *job_cfg; /* held for the job */
	bool job_idle;		/* the job may wait in IDLE */
	struct store *st;	/* the worker's own connection */
	uv_mutex_t im_lock;	/* im is read by the loop to interrupt */
	struct imap *im;	/* kept between jobs */
	bool failed, permanent, idled;
	bool swept; /* looked for mail taken but not moved (sweep) */
	size_t taken, left;
	char error[ERR_MSG_MAX];
};

static void set_im(struct mailbox *mb, struct imap *im)
{
	uv_mutex_lock(&mb->im_lock);
	mb->im = im;
	uv_mutex_unlock(&mb->im_lock);
}

static void drop_session(struct mailbox *mb)
{
	struct imap *im = mb->im;

	set_im(mb, NULL);
	imap_close(im);
}

static int connect_session(struct mailbox *mb, const struct config *cfg)
{
	char password[MAILBOX_PASSWORD_MAX] = "";
	struct imap_options opt = {
		.url = cfg->imap_url,
		.username = cfg->imap_username,
		.password = password,
		.ca_file = cfg->imap_ca_file,
		.timeout = MAILBOX_TIMEOUT,
	};
	struct err err = {{0}};
	struct imap *im;

	if (cfg->imap_password_file &&
	    secret_read_password(cfg->imap_password_file,
				 "[imap] password_file", password,
				 sizeof(password), &err) < 0) {
		snprintf(mb->error, sizeof(mb->error), "%s", err.msg);
		mb->permanent = true;
		return -EACCES;
	}
	im = imap_connect(&opt, &mb->permanent, &err);
	sodium_memzero(password, sizeof(password));
	if (!im) {
		snprintf(mb->error, sizeof(mb->error), "%s", err.msg);
		return -EIO;
	}
	set_im(mb, im);
	return 0;
}

static bool same_folder(const char *a, const char *b)
{
	/* INBOX is INBOX in any case (RFC 3501 5.1); other names are
	 * compared as written. */
	if (strcasecmp(a, "INBOX") == 0)
		return strcasecmp(b, "INBOX") == 0;
	return strcmp(a, b) == 0;
}

/* After a message was taken: \Seen, and moved when configured. A failure
 * here is logged, not fatal: the message is recorded, so it is never
 * acted on twice. */
static int after_taken(struct mailbox *mb, const struct config *cfg,
		       const char *folder, uint32_t uid)
{
	struct err err = {{0}};
	int ret;

	ret = imap_mark_seen(mb->im, uid, &err);
	if (!ret && cfg->imap_move_to &&
	    !same_folder(folder, cfg->imap_move_to))
		ret = imap_move(mb->im, uid, cfg->imap_move_to, &err);
	if (ret)
		log_warnx("imap: %s UID %u: %s", folder, uid, err.msg);
	return ret == -EIO ? ret : 0;
}

static int take_one(struct mailbox *mb, const struct config *cfg,
		    const struct theme_set *ts, const char *folder,
		    uint32_t uidvalidity, uint32_t uid)
{
	struct intake_ctx ctx = {
		.cfg = cfg,
		.st = mb->st,
		.ts = ts,
		.folder = folder,
		.uidvalidity = uidvalidity,
		.uid = uid,
		.now = (int64_t)time(NULL),
	};
	struct intake_result res;
	struct err err = {{0}};
	char *data = NULL;
	char why[ERR_MSG_MAX];
	size_t len = 0, size = 0;
	int ret;

	ret = store_inbound_known(mb->st, NULL, folder, uidvalidity, uid, &err);
	if (ret == 2)
		return 0; /* looked at before and left alone */
	if (ret == 1)	  /* taken, but a stop came before \Seen */
		return after_taken(mb, cfg, folder, uid);
	if (ret < 0)
		goto store_failed;
	ret = imap_fetch(mb->im, uid, (size_t)cfg->imap_max_size, &data, &len,
			 &size, &err);
	if (ret == -ENOENT)
		return 0; /* expunged meanwhile */
	if (ret == -EMSGSIZE) {
		snprintf(why, sizeof(why),
			 "message of %zu bytes is over [imap] max_size "
			 "(%lld): left alone",
			 size, (long long)cfg->imap_max_size);
		log_warnx("imap: %s UID %u: %s", folder, uid, why);
		mb->left++;
		ret = intake_skip(&ctx, why, &err);
		if (ret < 0)
			goto store_failed;
		return 0;
	}
	if (ret) {
		snprintf(mb->error, sizeof(mb->error), "%s", err.msg);
		return -EIO;
	}
	ret = intake_message(&ctx, data, len, &res, &err);
	free(data);
	if (ret < 0)
		goto store_failed;
	if (res.warning[0])
		log_warnx("imap: %s UID %u: %s: %s", folder, uid, res.message,
			  res.warning);
	switch (res.outcome) {
	case INTAKE_BRIEFING:
	case INTAKE_COMMAND:
	case INTAKE_DUPLICATE:
	case INTAKE_BOUNCE:
		log_info("imap: %s UID %u: %s: %s", folder, uid, res.message,
			 res.detail);
		mb->taken++;
		return after_taken(mb, cfg, folder, uid);
	case INTAKE_QUARANTINED:
	case INTAKE_REFUSED:
		log_warnx("imap: %s UID %u: %s: %s", folder, uid, res.message,
			  res.detail);
		mb->left++;
		return 0;
	case INTAKE_IGNORED:
	default:
		log_debug("imap: %s UID %u: %s: left alone: %s", folder, uid,
			  res.message, res.detail);
		mb->left++;
		return 0;
	}

store_failed:
	snprintf(mb->error, sizeof(mb->error), "%s", err.msg);
	return ret;
}

/* A stop (kill -9, power) between \Seen and the move leaves a message
 * that was taken seen in its folder, where the search for unseen mail
 * never finds it again. Once per start, the seen messages of each folder
 * are looked up, and those recorded as taken under this UIDVALIDITY are
 * moved. Mail seen by a person and never taken is not touched. */
static int sweep_folder(struct mailbox *mb, const struct config *cfg,
			const char *folder, uint32_t uidvalidity)
{
	struct err err = {{0}};
	uint32_t *uids = NULL;
	size_t n = 0;
	int ret;

	ret = imap_seen(mb->im, &uids, &n, MAILBOX_SWEEP_MAX, &err);
	if (ret) {
		snprintf(mb->error, sizeof(mb->error), "%s", err.msg);
		return ret;
	}
	for (size_t i = 0; i < n && !ret && !atomic_load(&mb->stopping); i++) {
		ret = store_inbound_known(mb->st, NULL, folder, uidvalidity,
					  uids[i], &err);
		if (ret < 0) {
			snprintf(mb->error, sizeof(mb->error), "%s", err.msg);
			break;
		}
		if (ret != 1) {
			ret = 0;
			continue;
		}
		log_info("imap: %s UID %u: taken before a stop but not moved; "
			 "moving it to %s",
			 folder, uids[i], cfg->imap_move_to);
		ret = after_taken(mb, cfg, folder, uids[i]);
	}
	free(uids);
	return ret;
}

static int poll_folder(struct mailbox *mb, const struct config *cfg,
		       const struct theme_set *ts, const char *folder)
{
	struct err err = {{0}};
	uint32_t uidvalidity = 0, *uids = NULL;
	size_t n = 0;
	int ret;

	ret = imap_select(mb->im, folder, &uidvalidity, &err);
	if (ret == -ENOENT || ret == -EINVAL) {
		log_warnx("imap: %s; check the folder names in the config",
			  err.msg);
		return 0;
	}
	if (!ret && !mb->swept && cfg->imap_move_to &&
	    !same_folder(folder, cfg->imap_move_to)) {
		ret = sweep_folder(mb, cfg, folder, uidvalidity);
		if (ret)
			return ret;
	}
	if (!ret)
		ret = imap_unseen(mb->im, &uids, &n, MAILBOX_BATCH, &err);
	if (ret) {
		snprintf(mb->error, sizeof(mb->error), "%s", err.msg);
		return ret;
	}
	log_debug("imap: %s: %zu unseen", folder, n);
	for (size_t i = 0; i < n && !ret && !atomic_load(&mb->stopping); i++)
		ret = take_one(mb, cfg, ts, folder, uidvalidity, uids[i]);
	free(uids);
	return ret;
}

/* The folders to look at: the command folder, then each mailbox
 * source's, each once. */
static size_t job_folders(const struct config *cfg, const char **out,
			  size_t max)
{
	size_t n = 0;

	out[n++] = cfg->imap_folder ? cfg->imap_folder : "INBOX";
	for (size_t i = 0; i < cfg->n_sources && n < max; i++) {
		const struct config_source *src = &cfg->sources[i];
		bool seen = false;

		if (src->type != SOURCE_MAILBOX || !src->folder)
			continue;
		for (size_t k = 0; k < n && !seen; k++)
			seen = same_folder(out[k], src->folder);
		if (!seen)
			out[n++] = src->folder;
	}
	return n;
}

static void job_run(uv_work_t *w)
{
	struct mailbox *mb = w->data;
	const struct config *cfg = mb->job_cfg;
	const char *folders[64];
	struct theme_set *ts = NULL;
	struct err err = {{0}};
	size_t n;
	int ret = 0;

	if (!mb->st) {
		mb->st = store_open(cfg->database, &err);
		if (!mb->st) {
			snprintf(mb->error, sizeof(mb->error), "%s", err.msg);
			mb->failed = true;
			return;
		}
	}
	store_use_config(mb->st, cfg);
	ts = theme_set_create(cfg);
	if (!ts) {
		snprintf(mb->error, sizeof(mb->error), "out of memory");
		mb->failed = true;
		return;
	}
	if (!mb->im)
		ret = connect_session(mb, cfg);
	n = job_folders(cfg, folders, sizeof(folders) / sizeof(folders[0]));
	for (size_t i = 0; i < n && !ret && !atomic_load(&mb->stopping); i++)
		ret = poll_folder(mb, cfg, ts, folders[i]);
	if (!ret && !atomic_load(&mb->stopping))
		mb->swept = true;
	if (!ret && mb->job_idle && !atomic_load(&mb->stopping) &&
	    imap_has_idle(mb->im)) {
		uint32_t uidvalidity;

		ret = imap_select(mb->im, folders[0], &uidvalidity, &err);
		if (!ret) {
			ret = imap_idle(mb->im, (int)cfg->imap_poll, &err);
			ret = ret < 0 ? ret : 0;
		}
		if (ret)
			snprintf(mb->error, sizeof(mb->error), "%s", err.msg);
		else
			mb->idled = true;
	}
	theme_set_destroy(ts);
	if (ret)
		mb->failed = true;
	/* The session is kept only for the job that follows IDLE at once:
	 * logging out here keeps the loop from ever waiting on it. */
	if (ret || !mb->idled || atomic_load(&mb->stopping))
		drop_session(mb);
}

static void schedule(struct mailbox *mb, int64_t seconds);

static void finish(struct mailbox *mb)
{
	uv_mutex_destroy(&mb->im_lock);
	store_close(mb->st);
	config_destroy(mb->cfg);
	free(mb);
}

static void on_timer_closed(uv_handle_t *h)
{
	finish(h->data);
}

static void job_done(uv_work_t *w, int status)
{
	struct mailbox *mb = w->data;
	bool ok = !mb->failed && status == 0;

	mb->busy = false;
	config_destroy(mb->job_cfg);
	mb->job_cfg = NULL;
	if (mb->failed) {
		log_errorx("imap: %s; trying again in %lld s", mb->error,
			   (long long)mb->backoff);
	} else if (mb->taken || mb->left) {
		log_info("imap: %zu message%s taken, %zu left alone", mb->taken,
			 mb->taken == 1 ? "" : "s", mb->left);
	}
	if (mb->closing) {
		uv_close((uv_handle_t *)&mb->timer, on_timer_closed);
		return;
	}
	if (mb->once) {
		if (mb->done)
			mb->done(ok, mb->done_arg);
		return;
	}
	if (mb->failed) {
		schedule(mb, mb->backoff);
		mb->backoff = mb->backoff * 2 > MAILBOX_BACKOFF_MAX
				      ? MAILBOX_BACKOFF_MAX
				      : mb->backoff * 2;
		return;
	}
	mb->backoff = mb->cfg->imap_retry;
	/* After IDLE something may have arrived: look at once. */
	schedule(mb, mb->idled ? 0 : mb->cfg->imap_poll);
}

static void job_start(struct mailbox *mb)
{
	int rc;

	mb->job_cfg = config_ref(mb->cfg);
	mb->job_idle = !mb->once;
	mb->failed = mb->permanent = mb->idled = false;
	mb->taken = mb->left = 0;
	mb->error[0] = '\0';
	mb->work.data = mb;
	rc = uv_queue_work(mb->loop, &mb->work, job_run, job_done);
	if (rc) {
		config_destroy(mb->job_cfg);
		mb->job_cfg = NULL;
		log_errorx("imap: cannot start a poll: %s", uv_strerror(rc));
		schedule(mb, mb->cfg->imap_retry);
		return;
	}
	mb->busy = true;
}

static void on_timer(uv_timer_t *t)
{
	struct mailbox *mb = t->data;

	if (!mb->busy && !mb->closing)
		job_start(mb);
}

static void schedule(struct mailbox *mb, int64_t seconds)
{
	uv_timer_start(&mb->timer, on_timer, (uint64_t)seconds * 1000, 0);
}

struct mailbox *mailbox_create(uv_loop_t *loop, struct config *cfg, bool *nomem)
{
	struct mailbox *mb;

	*nomem = false;
	if (!cfg->imap_url)
		return NULL;
	mb = calloc(1, sizeof(*mb));
	if (!mb || uv_mutex_init(&mb->im_lock) != 0) {
		free(mb);
		*nomem = true;
		return NULL;
	}
	mb->loop = loop;
	mb->cfg = config_ref(cfg);
	mb->backoff = mb->cfg->imap_retry;
	atomic_init(&mb->stopping, false);
	uv_timer_init(loop, &mb->timer);
	mb->timer.data = mb;
	return mb;
}

void mailbox_start(struct mailbox *mb, bool once, mailbox_done_fn *done,
		   void *arg)
{
	mb->once = once;
	mb->done = done;
	mb->done_arg = arg;
	if (!mb->busy)
		job_start(mb);
}

void mailbox_reconfigure(struct mailbox *mb, struct config *cfg)
{
	config_destroy(mb->cfg);
	mb->cfg = config_ref(cfg);
	/* A job waiting in IDLE would keep the old folders until the poll
	 * interval ends: wake it, and the next job uses the new config. */
	uv_mutex_lock(&mb->im_lock);
	if (mb->busy && mb->im)
		imap_interrupt(mb->im);
	uv_mutex_unlock(&mb->im_lock);
}

void mailbox_destroy(struct mailbox *mb)
{
	if (!mb)
		return;
	mb->closing = true;
	atomic_store(&mb->stopping, true);
	uv_timer_stop(&mb->timer);
	if (mb->busy) {
		/* Not started yet: cancelled, and job_done runs with
		 * UV_ECANCELED. Running: woken from IDLE; job_done then
		 * frees everything. */
		if (uv_cancel((uv_req_t *)&mb->work) != 0) {
			uv_mutex_lock(&mb->im_lock);
			if (mb->im)
				imap_interrupt(mb->im);
			uv_mutex_unlock(&mb->im_lock);
		}
		return;
	}
	uv_close((uv_handle_t *)&mb->timer, on_timer_closed);
}
