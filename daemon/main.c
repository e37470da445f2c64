/*
 * bulletind: the daemon. One libuv loop owns all state: the config, the
 * store, the poller (feeds), the mailbox (IMAP), the outbox (digests)
 * and deliver (SMTP or maildir). A single timer tick
 * polls due sources, then composes and delivers due digests. SIGHUP
 * reloads the config (keeping the old one when the new one is invalid);
 * SIGTERM and SIGINT stop after cancelling fetches in flight, which store
 * nothing half-way. --once runs one full cycle and exits.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-daemon.h>
#include <uv.h>

#include "bulletin-config.h"
#include "config.h"
#include "deliver.h"
#include "health.h"
#include "http.h"
#include "log.h"
#include "mailbox.h"
#include "metrics.h"
#include "outbox.h"
#include "poller.h"
#include "schedule.h"
#include "secret.h"
#include "store.h"
#include "subscribe.h"
#include "theme.h"
#include "token.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2
#define TICK_MAX_MS (60 * 1000)
/* Recorded commands are picked up, and replies sent, this often: the
 * intake (IMAP worker, bulletinctl receive) only records them. */
#define COMMANDS_MS 1000
#define PURGE_EVERY 3600
#define DEFAULT_CONFIG "/etc/bulletin/bulletin.conf"

/* Everything built from one config; swapped whole on reload. */
struct generation {
	struct config *cfg;
	struct theme_set *themes;
	struct token_keys *keys;
	struct outbox *outbox;
	struct subscribe *subscribe;
};

struct daemon {
	uv_loop_t loop;
	uv_timer_t tick;
	uv_timer_t watchdog; /* pings systemd while the loop turns */
	bool watchdog_on;
	uv_timer_t commands; /* recorded commands and replies */
	int64_t last_purge;
	uv_signal_t sigterm, sigint, sighup;
	const char *config_path;
	bool once;
	bool stopping;
	bool cycle_done; /* --once: the cycle ran to its end */
	int status;	 /* exit status of --once */

	struct store *store;
	struct poller *poller;
	struct mailbox *mailbox; /* NULL without [imap] */
	struct deliver *deliver;
	struct http *http;     /* NULL with --once */
	struct health *health; /* NULL with --once */
	int once_pending;      /* --once: feeds and mailbox still running */
	size_t once_failures;  /* --once: digests that could not be made */
	struct generation gen;
};

static void print_config_error(const char *file, int line, const char *msg,
			       void *arg)
{
	if (line > 0)
		log_errorx("%s:%d: %s", file, line, msg);
	else
		log_errorx("%s: %s", file, msg);
}

static void generation_finish(struct generation *g)
{
	subscribe_destroy(g->subscribe);
	outbox_destroy(g->outbox);
	token_keys_destroy(g->keys);
	theme_set_destroy(g->themes);
	config_destroy(g->cfg);
	memset(g, 0, sizeof(*g));
}

/* Loads and builds everything a config needs. Returns 0, or EXIT_USAGE
 * for a bad config and EXIT_RUNTIME for anything else (logged). */
/* Someone left: what is queued for them in the SMTP senders stays
 * unsent (RELIABILITY C10). */
static void on_leave(int64_t subscriber_id, void *arg)
{
	struct daemon *d = arg;

	deliver_cancel(d->deliver, subscriber_id);
}

static int generation_load(struct daemon *d, struct generation *g)
{
	struct err err = {{0}};
	int ret;

	memset(g, 0, sizeof(*g));
	ret = config_load(d->config_path, print_config_error, NULL, &g->cfg);
	if (ret)
		return EXIT_USAGE;
	g->themes = theme_set_create(g->cfg);
	if (!g->themes) {
		log_errorx("out of memory compiling themes");
		goto fail_runtime;
	}
	/* Every secret file is checked now, not when first used. */
	if (secret_check_config(g->cfg, &err)) {
		log_errorx("%s", err.msg);
		goto fail_usage;
	}
	g->keys = token_keys_load(g->cfg->secret_file,
				  g->cfg->previous_secret_file, &err);
	if (!g->keys) {
		log_errorx("%s", err.msg);
		goto fail_usage;
	}
	return 0;
fail_usage:
	generation_finish(g);
	return EXIT_USAGE;
fail_runtime:
	generation_finish(g);
	return EXIT_RUNTIME;
}

/* The part that needs the store (templates are compiled here too, so a
 * template error stops start-up, not a send). */
static int generation_attach(struct daemon *d, struct generation *g)
{
	struct err err = {{0}};

	g->outbox = outbox_create(d->store, g->cfg, g->keys, &err);
	if (!g->outbox) {
		log_errorx("%s", err.msg);
		return EXIT_USAGE;
	}
	g->subscribe = subscribe_create(d->store, g->cfg, g->keys, &err);
	if (!g->subscribe) {
		log_errorx("%s", err.msg);
		return EXIT_USAGE;
	}
	subscribe_on_leave(g->subscribe, on_leave, d);
	/* Last, once nothing else can fail: a config that is refused must
	 * leave the store as it was. */
	if (store_sync_config(d->store, g->cfg, &err)) {
		log_errorx("%s", err.msg);
		return EXIT_RUNTIME;
	}
	return 0;
}

static void apply_settings(const struct config *cfg)
{
	setenv("TZ", cfg->timezone, 1);
	tzset();
	log_set_level(cfg->log_level);
}

/* Composes whatever is due and starts delivering every due row. Returns
 * the number of failures to compose (logged). */
static size_t run_digests(struct daemon *d, int64_t now)
{
	const struct config *cfg = d->gen.cfg;
	struct store_digest sd;
	struct err err = {{0}};
	size_t i, failures = 0, n;
	int64_t slot;
	bool due;
	int ret;

	for (i = 0; i < cfg->n_lists; i++) {
		const struct config_list *list = &cfg->lists[i];

		ret = outbox_due(d->gen.outbox, list, now, &due, &slot, &err);
		if (ret) {
			log_errorx("list %s: %s", list->name, err.msg);
			failures++;
			continue;
		}
		if (!due)
			continue;
		n = 0;
		ret = outbox_compose(d->gen.outbox, list, slot, now, &sd, &n,
				     &err);
		if (ret == -EEXIST)
			continue;
		if (ret) {
			log_errorx("list %s: %s", list->name, err.msg);
			failures++;
			continue;
		}
		if (sd.items || list->nothing_new)
			metrics_add(METRIC_DIGESTS, 1);
		if (sd.items == 0 && !list->nothing_new)
			log_info("list %s: nothing new since the last digest; "
				 "nothing to send",
				 list->name);
		else if (sd.items == 0)
			log_info("list %s: nothing new since the last digest; "
				 "a note says so to %zu subscriber%s",
				 list->name, n, n == 1 ? "" : "s");
		else
			log_info("list %s: digest %lld composed: %lld "
				 "stor%s for %zu subscriber%s",
				 list->name, (long long)sd.id,
				 (long long)sd.items,
				 sd.items == 1 ? "y" : "ies", n,
				 n == 1 ? "" : "s");
	}
	ret = deliver_run(d->deliver, d->gen.outbox, d->gen.cfg, 0, &err);
	if (ret) {
		log_errorx("%s", err.msg);
		failures++;
	}
	return failures;
}

/* Acts on recorded commands, purges stale requests, sends replies. */
static void run_commands(struct daemon *d)
{
	struct err err = {{0}};
	int64_t now = (int64_t)time(NULL);
	size_t n = 0;

	if (subscribe_run_commands(d->gen.subscribe, now, &n, &err))
		log_errorx("%s", err.msg);
	if (now - d->last_purge >= PURGE_EVERY) {
		d->last_purge = now;
		if (subscribe_purge(d->gen.subscribe, now, &n, &err))
			log_errorx("%s", err.msg);
		else if (n)
			log_info("%zu subscription requests never confirmed "
				 "were purged",
				 n);
	}
	if (d->deliver && deliver_notices(d->deliver, d->gen.cfg, &err))
		log_errorx("%s", err.msg);
}

static void on_commands(uv_timer_t *t)
{
	struct daemon *d = t->data;

	if (!d->stopping)
		run_commands(d);
}

/* Deliveries that failed (for now or for good) since the start. */
static size_t failed_deliveries(const struct daemon *d)
{
	const struct deliver_stats *s = deliver_stats(d->deliver);

	return s->deferred + s->failed + s->store_errors;
}

static void stop(struct daemon *d);

static void on_stop_timer(uv_timer_t *t)
{
	stop(t->data);
}

/* --once: the end of the cycle, once every delivery is settled. */
static void once_delivered(void *arg)
{
	struct daemon *d = arg;
	size_t failures = d->once_failures + failed_deliveries(d);

	deliver_on_idle(d->deliver, NULL, NULL);
	if (failures) {
		log_warnx("cycle finished with %zu failed deliveries or "
			  "digests",
			  failures);
		d->status = EXIT_RUNTIME;
	}
	d->cycle_done = true;
	/* We are inside a callback: stop on the next turn. */
	uv_timer_start(&d->tick, on_stop_timer, 0, 0);
}

/* --once: the digests run when both the feeds and the mailbox are done. */
static void once_step(struct daemon *d, bool failed)
{
	if (failed)
		d->status = EXIT_RUNTIME;
	if (--d->once_pending > 0)
		return;
	run_commands(d);
	d->once_failures = run_digests(d, (int64_t)time(NULL));
	if (deliver_in_flight(d->deliver) > 0) {
		/* SMTP: the cycle ends when the last message is settled. */
		deliver_on_idle(d->deliver, once_delivered, d);
		return;
	}
	once_delivered(d);
}

static void on_once_fetched(size_t fetched, size_t failed, void *arg)
{
	if (failed)
		log_warnx("cycle: %zu sources failed", failed);
	once_step(arg, failed > 0);
}

static void on_once_mailbox(bool ok, void *arg)
{
	if (!ok)
		log_warnx("cycle: the mailbox could not be read");
	once_step(arg, !ok);
}

static void schedule_tick(struct daemon *d);

static void on_round_fetched(size_t fetched, size_t failed, void *arg)
{
	struct daemon *d = arg;
	const struct deliver_stats *s;

	if (d->stopping)
		return;
	run_digests(d, (int64_t)time(NULL));
	s = deliver_stats(d->deliver);
	/* systemctl status shows the last line. */
	sd_notifyf(0,
		   "STATUS=%zu sources polled, %zu failed; %zu digests "
		   "delivered, %zu deferred, %zu failed since start",
		   fetched, failed, s->sent, s->deferred, s->failed);
	schedule_tick(d);
}

/* systemd's watchdog: a ping from the loop itself, so a stalled loop
 * misses it and systemd restarts the daemon. */
static void on_watchdog(uv_timer_t *t)
{
	sd_notify(0, "WATCHDOG=1");
}

static void watchdog_start(struct daemon *d)
{
	uint64_t usec = 0;

	uv_timer_init(&d->loop, &d->watchdog);
	d->watchdog_on = true;
	if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return;
	/* Twice per interval, as sd_watchdog_enabled(3) advises. */
	uv_timer_start(&d->watchdog, on_watchdog, 0,
		       usec / 2000 ? usec / 2000 : 1);
}

static void on_tick(uv_timer_t *t)
{
	struct daemon *d = t->data;
	int64_t now = (int64_t)time(NULL);

	if (d->stopping)
		return;
	/* A round still starting its sources goes on; its end runs the
	 * digests. Fetches still in flight from an earlier round do not
	 * hold up this one: a stalled server holds only its own source. */
	if (poller_waiting(d->poller) == 0 &&
	    poller_start(d->poller, NULL, false, now, on_round_fetched, d) < 0)
		log_errorx("cannot start polling (out of memory?); trying "
			   "again later");
	schedule_tick(d);
}

/* Re-arms the tick for the earliest of: a source due, the next scheduled
 * digest, or a minute from now (retries, clock changes). */
static void schedule_tick(struct daemon *d)
{
	int64_t now = (int64_t)time(NULL), next = now + TICK_MAX_MS / 1000;
	int64_t due;
	size_t i;

	due = poller_next_due(d->poller);
	if (due < next)
		next = due;
	for (i = 0; i < d->gen.cfg->n_lists; i++) {
		due = (int64_t)schedule_next(&d->gen.cfg->lists[i].schedule,
					     (time_t)now);
		if (due < next)
			next = due;
	}
	/* At least a second: a source that is due but cannot start must
	 * not spin the loop. */
	if (next < now + 1)
		next = now + 1;
	uv_timer_start(&d->tick, on_tick, (uint64_t)(next - now) * 1000, 0);
}

/* Starts, reconfigures or stops the IMAP intake to match cfg. */
static void mailbox_follow(struct daemon *d, struct config *cfg)
{
	bool nomem = false;

	for (size_t i = 0; i < cfg->n_sources; i++)
		if (cfg->sources[i].type == SOURCE_MAILBOX && !cfg->imap_url)
			log_warnx("source %s is a mailbox source but there is "
				  "no [imap] section: only mail piped to "
				  "bulletinctl receive reaches it",
				  cfg->sources[i].name);
	if (d->mailbox && cfg->imap_url) {
		mailbox_reconfigure(d->mailbox, cfg);
		return;
	}
	if (d->mailbox) {
		mailbox_destroy(d->mailbox);
		d->mailbox = NULL;
		return;
	}
	d->mailbox = mailbox_create(&d->loop, cfg, &nomem);
	if (nomem)
		log_errorx("cannot start the mailbox reader: out of memory");
	if (d->mailbox && !d->once)
		mailbox_start(d->mailbox, false, NULL, NULL);
}

static bool same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* The SMTP senders are started once: say so when [smtp] changed. */
static void smtp_follow(const struct config *old, const struct config *cfg)
{
	if (!same_str(old->smtp_url, cfg->smtp_url) ||
	    !same_str(old->smtp_username, cfg->smtp_username) ||
	    !same_str(old->smtp_password_file, cfg->smtp_password_file) ||
	    !same_str(old->smtp_ca_file, cfg->smtp_ca_file) ||
	    old->smtp_starttls != cfg->smtp_starttls ||
	    old->smtp_connections != cfg->smtp_connections ||
	    old->smtp_timeout != cfg->smtp_timeout ||
	    old->smtp_retry != cfg->smtp_retry ||
	    old->smtp_give_up != cfg->smtp_give_up ||
	    old->smtp_suspend_after != cfg->smtp_suspend_after)
		log_warnx("%s: [smtp] changed: the new settings take effect "
			  "when bulletind restarts",
			  cfg->path);
}

/* Says when each list's next digest goes out, so that a schedule
 * changed by a reload can be checked in the log. */
static void log_schedules(const struct config *cfg)
{
	time_t now = time(NULL), next;
	char when[32], how[64];
	struct tm tm;

	for (size_t i = 0; i < cfg->n_lists; i++) {
		next = schedule_next(&cfg->lists[i].schedule, now);
		localtime_r(&next, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M %Z", &tm);
		schedule_describe(&cfg->lists[i].schedule, how, sizeof(how));
		log_info("list %s: next digest %s (%s)", cfg->lists[i].name,
			 when, how);
	}
}

static void reload(struct daemon *d)
{
	struct err err = {{0}};
	struct generation g;
	int ret;

	log_info("reloading %s", d->config_path);
	sd_notify(0, "RELOADING=1\nSTATUS=reloading the config");
	ret = generation_load(d, &g);
	if (!ret)
		ret = generation_attach(d, &g);
	if (ret) {
		generation_finish(&g);
		log_errorx("%s: the new config has errors (above); keeping the "
			   "running config",
			   d->config_path);
		sd_notify(0, "READY=1\nSTATUS=the new config has errors; "
			     "kept the running one");
		return;
	}
	if (d->http && http_reconfigure(d->http, g.cfg, g.subscribe, &err)) {
		log_errorx("%s; keeping the running config", err.msg);
		generation_finish(&g);
		return;
	}
	poller_reconfigure(d->poller, g.cfg, g.themes);
	mailbox_follow(d, g.cfg);
	smtp_follow(d->gen.cfg, g.cfg);
	/* The old outbox goes: deliveries in flight carry on, and the next
	 * run claims with the new one. */
	deliver_detach(d->deliver);
	generation_finish(&d->gen);
	d->gen = g;
	apply_settings(d->gen.cfg);
	log_info("reloaded %s: %zu sources, %zu lists, %zu themes",
		 d->config_path, d->gen.cfg->n_sources, d->gen.cfg->n_lists,
		 d->gen.cfg->n_themes);
	log_schedules(d->gen.cfg);
	sd_notifyf(0, "READY=1\nSTATUS=reloaded: %zu sources, %zu lists",
		   d->gen.cfg->n_sources, d->gen.cfg->n_lists);
	schedule_tick(d);
}

static bool status_health(char *why, size_t size, void *arg)
{
	struct daemon *d = arg;

	if (d->stopping) {
		snprintf(why, size, "stopping");
		return false;
	}
	return health_ok(d->health, why, size);
}

static int status_metrics(struct buf *out, void *arg)
{
	struct daemon *d = arg;
	const struct deliver_stats *s = deliver_stats(d->deliver);
	struct metrics_extra x = {
		.started = health_started(d->health),
		.loop_lag = health_loop_lag(d->health),
		.sent = s->sent,
		.deferred = s->deferred,
		.failed = s->failed,
		.store_error = s->store_errors,
	};
	char why[ERR_MSG_MAX];
	struct err err = {{0}};
	int ret;

	x.healthy = health_ok(d->health, why, sizeof(why));
	ret = metrics_render(out, d->store, d->gen.cfg, (int64_t)time(NULL), &x,
			     &err);
	if (ret)
		log_errorx("GET /metrics: %s", err.msg);
	return ret;
}

static void on_signal(uv_signal_t *s, int signum)
{
	struct daemon *d = s->data;

	if (signum == SIGHUP) {
		if (d->once)
			log_info("received Hangup during --once: ignored");
		else
			reload(d);
		return;
	}
	log_info("received %s: stopping", strsignal(signum));
	if (d->once && !d->cycle_done) {
		log_warnx("the cycle was interrupted before it finished");
		d->status = EXIT_RUNTIME;
	}
	stop(d);
}

static void stop(struct daemon *d)
{
	if (d->stopping)
		return;
	d->stopping = true;
	sd_notify(0, "STOPPING=1\nSTATUS=stopping");
	if (d->watchdog_on)
		uv_close((uv_handle_t *)&d->watchdog, NULL);
	/* Fetches in flight are cancelled and store nothing; messages the
	 * SMTP senders are on are finished and settled (each bounded by
	 * [smtp] timeout); rows not started stay pending. */
	http_destroy(d->http);
	d->http = NULL;
	deliver_destroy(d->deliver);
	d->deliver = NULL;
	poller_destroy(d->poller);
	d->poller = NULL;
	mailbox_destroy(d->mailbox);
	d->mailbox = NULL;
	/* Last: it records the stop, and its log hook sees every line
	 * logged while the rest stopped. */
	health_destroy(d->health);
	d->health = NULL;
	uv_close((uv_handle_t *)&d->tick, NULL);
	uv_close((uv_handle_t *)&d->commands, NULL);
	uv_close((uv_handle_t *)&d->sigterm, NULL);
	uv_close((uv_handle_t *)&d->sigint, NULL);
	uv_close((uv_handle_t *)&d->sighup, NULL);
}

/* Undoes a start that failed half-way (each part accepts NULL), lets
 * the loop run their closes, and returns status. */
static int abandon_start(struct daemon *d, int status)
{
	http_destroy(d->http);
	deliver_destroy(d->deliver);
	poller_destroy(d->poller);
	uv_run(&d->loop, UV_RUN_DEFAULT);
	uv_loop_close(&d->loop);
	generation_finish(&d->gen);
	store_close(d->store);
	return status;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: bulletind [-c FILE] [--once] [--foreground]\n"
		"\n"
		"The bulletin daemon: polls the configured sources, groups "
		"new\n"
		"stories by theme and delivers each list's digest on "
		"schedule.\n"
		"\n"
		"  -c, --config FILE  config file (default %s)\n"
		"      --once         run one full cycle (poll every source,\n"
		"                     send every digest that is due) and exit\n"
		"      --foreground   accepted for compatibility: bulletind\n"
		"                     never forks (run it under systemd)\n"
		"  -h, --help         show this help\n"
		"  -V, --version      show the version\n"
		"\n"
		"Exit status: 0 ok, 1 runtime failure, 2 usage or config "
		"error.\n",
		DEFAULT_CONFIG);
}

/* A delivery in flight at DELIVER_QUARANTINE_AFTER unclean stops in a
 * row: failed, and said loudly (RELIABILITY G8). */
static int on_quarantined(const struct store_delivery *d, void *arg)
{
	log_errorx("list %s: the digest to %s was being sent at %d unclean "
		   "stops in a row (crashes or kill -9) and is quarantined "
		   "as failed: it may be what crashes bulletind. Look for a "
		   "crash in the log; bulletinctl digests --show %lld --to "
		   "%s shows the message, bulletinctl subscribers %s show "
		   "%s the delivery",
		   d->list, d->address, DELIVER_QUARANTINE_AFTER,
		   (long long)d->digest_id, d->address, d->list, d->address);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"once", no_argument, NULL, 'o'},
		{"foreground", no_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct daemon d;
	struct err err = {{0}};
	size_t recovered = 0;
	int c, ret;

	memset(&d, 0, sizeof(d));
	d.config_path = DEFAULT_CONFIG;
	log_init("bulletind", LOG_LEVEL_INFO);
	while ((c = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			d.config_path = optarg;
			break;
		case 'o':
			d.once = true;
			break;
		case 'f':
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("bulletind %s\n", BULLETIN_VERSION);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "bulletind: unexpected argument '%s'\n",
			argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	signal(SIGPIPE, SIG_IGN);
	/* The IMAP reader may wait in IDLE on one of libuv's pool threads:
	 * one more thread keeps the default four for parsing feeds. */
	setenv("UV_THREADPOOL_SIZE", "5", 0);

	ret = generation_load(&d, &d.gen);
	if (ret)
		return ret;
	apply_settings(d.gen.cfg);
	d.store = store_open(d.gen.cfg->database, &err);
	if (!d.store) {
		log_errorx("%s", err.msg);
		generation_finish(&d.gen);
		return EXIT_RUNTIME;
	}
	ret = generation_attach(&d, &d.gen);
	if (!ret &&
	    (store_deliveries_recover(d.store, DELIVER_QUARANTINE_AFTER,
				      &recovered, on_quarantined, NULL, &err) ||
	     store_notices_recover(d.store, NULL, &err))) {
		log_errorx("%s", err.msg);
		ret = EXIT_RUNTIME;
	}
	if (ret) {
		generation_finish(&d.gen);
		store_close(d.store);
		return ret;
	}
	if (recovered)
		log_info("%zu deliveries interrupted by a stop are pending "
			 "again",
			 recovered);

	uv_loop_init(&d.loop);
	d.poller = poller_create(&d.loop, d.store, d.gen.cfg, d.gen.themes);
	if (!d.poller) {
		log_errorx("cannot start the fetcher (out of memory?)");
		return abandon_start(&d, EXIT_RUNTIME);
	}
	d.deliver = deliver_create(&d.loop, d.store, d.gen.cfg, &err);
	if (!d.deliver) {
		log_errorx("%s", err.msg);
		return abandon_start(&d, EXIT_USAGE);
	}
	if (!d.once) {
		d.http = http_create(&d.loop, d.gen.cfg, d.gen.subscribe, &err);
		if (!d.http) {
			log_errorx("%s", err.msg);
			return abandon_start(&d, EXIT_RUNTIME);
		}
		d.health =
			health_create(&d.loop, d.store, d.gen.cfg->http_listen);
		if (!d.health) {
			log_errorx("cannot start: out of memory");
			return abandon_start(&d, EXIT_RUNTIME);
		}
		http_set_status(d.http,
				&(struct http_status){status_health,
						      status_metrics, &d});
	}
	uv_timer_init(&d.loop, &d.tick);
	d.tick.data = &d;
	uv_timer_init(&d.loop, &d.commands);
	d.commands.data = &d;
	if (!d.once)
		uv_timer_start(&d.commands, on_commands, 0, COMMANDS_MS);
	uv_signal_init(&d.loop, &d.sigterm);
	uv_signal_init(&d.loop, &d.sigint);
	uv_signal_init(&d.loop, &d.sighup);
	d.sigterm.data = d.sigint.data = d.sighup.data = &d;
	uv_signal_start(&d.sigterm, on_signal, SIGTERM);
	uv_signal_start(&d.sigint, on_signal, SIGINT);
	uv_signal_start(&d.sighup, on_signal, SIGHUP);

	log_info("bulletind %s started with %s: %zu sources, %zu lists, "
		 "database %s",
		 BULLETIN_VERSION, d.config_path, d.gen.cfg->n_sources,
		 d.gen.cfg->n_lists, d.gen.cfg->database);
	if (!d.once)
		log_schedules(d.gen.cfg);
	watchdog_start(&d);
	sd_notifyf(0, "READY=1\nSTATUS=started: %zu sources, %zu lists",
		   d.gen.cfg->n_sources, d.gen.cfg->n_lists);
	mailbox_follow(&d, d.gen.cfg);
	if (d.once && d.mailbox) {
		d.once_pending++;
		mailbox_start(d.mailbox, true, on_once_mailbox, &d);
	}
	d.once_pending++;
	if (d.once)
		ret = poller_start(d.poller, NULL, true, (int64_t)time(NULL),
				   on_once_fetched, &d);
	else
		ret = poller_start(d.poller, NULL, false, (int64_t)time(NULL),
				   on_round_fetched, &d);
	if (ret < 0) {
		log_errorx("cannot start polling: %s", strerror(-ret));
		d.status = EXIT_RUNTIME;
		stop(&d);
	}

	uv_run(&d.loop, UV_RUN_DEFAULT);
	/* Close anything left (nothing, normally) and drain the closes. */
	if (uv_loop_close(&d.loop) == UV_EBUSY) {
		log_warnx("handles still open at exit");
	}
	generation_finish(&d.gen);
	store_close(d.store);
	log_info("stopped");
	return d.once ? d.status : 0;
}
