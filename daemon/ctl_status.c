/*
 * bulletinctl status: one screen of what the daemon is doing, read from
 * the database (the daemon's heartbeat row and log lines, the sources,
 * the digests, the outbox) and from the daemon's own GET /healthz. It
 * never writes. Exit status 0 when the daemon runs and is healthy, 1
 * otherwise, so that a script or a cron job can ask.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "config.h"
#include "ctl.h"
#include "health.h"
#include "log.h"
#include "store.h"

#define SHOW_FAILING 8 /* failing sources listed by name */
#define SHOW_LOG 6     /* recent warnings and errors */
#define ANSWER_MAX 600 /* bytes of /healthz kept */

struct tally {
	const struct config *cfg;
	size_t seen, ok, failing, disabled, never;
};

static int count_source(const struct store_source *s, void *arg)
{
	struct tally *t = arg;
	char next[32];

	if (!config_source_find(t->cfg, s->name))
		return 0;
	t->seen++;
	if (s->disabled) {
		t->disabled++;
		printf("  disabled %-20s %s\n", s->name, s->disabled);
	} else if (s->failures > 0) {
		t->failing++;
		if (t->failing <= SHOW_FAILING) {
			format_time(s->next_poll, next, sizeof(next));
			printf("  failing  %-20s %d in a row, next try %s: "
			       "%s\n",
			       s->name, s->failures, next,
			       s->last_error ? s->last_error : "?");
		}
	} else if (!s->last_success)
		t->never++;
	else
		t->ok++;
	return 0;
}

static size_t keep_answer(char *data, size_t size, size_t n, void *arg)
{
	char *out = arg;
	size_t have = strlen(out), len = size * n;

	if (have + len >= ANSWER_MAX)
		len = ANSWER_MAX - 1 - have;
	memcpy(out + have, data, len);
	out[have + len] = '\0';
	return size * n;
}

/* Asks the daemon's GET /healthz on listen. Returns the HTTP status (0
 * when nothing answered), with answer holding its first line or why
 * nothing answered. */
static long ask_health(const char *listen, char *answer)
{
	char url[200], host[140];
	const char *colon = strrchr(listen, ':');
	long status = 0;
	CURLcode rc;
	CURL *c;

	answer[0] = '\0';
	if (!colon || (size_t)(colon - listen) >= sizeof(host))
		return 0;
	memcpy(host, listen, (size_t)(colon - listen));
	host[colon - listen] = '\0';
	/* A wildcard listen answers on loopback too. */
	if (!strcmp(host, "0.0.0.0") || !strcmp(host, "*") || !host[0])
		snprintf(host, sizeof(host), "127.0.0.1");
	else if (!strcmp(host, "[::]"))
		snprintf(host, sizeof(host), "[::1]");
	snprintf(url, sizeof(url), "http://%s%s/healthz", host, colon);
	c = curl_easy_init();
	if (!c)
		return 0;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep_answer);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, answer);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	else
		snprintf(answer, ANSWER_MAX, "%s", curl_easy_strerror(rc));
	curl_easy_cleanup(c);
	answer[strcspn(answer, "\r\n")] = '\0';
	return status;
}

/* Prints the daemon's line(s); returns whether it runs and is healthy. */
static bool show_daemon(struct ctl *ctl, int64_t now)
{
	struct store_daemon d = {0};
	struct err err = {{0}};
	char when[32], answer[ANSWER_MAX];
	bool alive, healthy = true;
	long status;
	int ret;

	ret = store_daemon_get(ctl->store, &d, &err);
	if (ret == -ENOENT) {
		printf("bulletind: has never run on %s\n", ctl->cfg->database);
		return false;
	}
	if (ret) {
		printf("bulletind: unknown (%s)\n", err.msg);
		return false;
	}
	format_time(d.beat, when, sizeof(when));
	if (d.pid == 0) {
		printf("bulletind: stopped at %s\n", when);
		return false;
	}
	alive = kill((pid_t)d.pid, 0) == 0 || errno == EPERM;
	if (!alive) {
		printf("bulletind: NOT RUNNING: pid %lld is gone; its last "
		       "heartbeat was at %s. Start it (systemctl start "
		       "bulletin) and see its log (journalctl -u bulletin)\n",
		       (long long)d.pid, when);
		return false;
	}
	if (now - d.beat > 3 * HEALTH_BEAT) {
		/* Running, but not writing: /healthz below says why (a
		 * locked or full database, a stalled loop). */
		printf("bulletind: running, pid %lld, but its last heartbeat "
		       "was at %s: it cannot write the database or is "
		       "stuck\n",
		       (long long)d.pid, when);
		healthy = false;
	} else {
		format_time(d.started, when, sizeof(when));
		printf("bulletind: running, pid %lld, version %s, since %s; "
		       "last heartbeat %lld s ago\n",
		       (long long)d.pid, d.version ? d.version : "?", when,
		       (long long)(now > d.beat ? now - d.beat : 0));
	}
	if (!d.http)
		return healthy;
	status = ask_health(d.http, answer);
	if (status == 200) {
		printf("health:    ok (http://%s/healthz)\n", d.http);
		return healthy;
	}
	if (status)
		printf("health:    UNHEALTHY (HTTP %ld): %s\n", status, answer);
	else
		printf("health:    NOT ANSWERING on %s: %s\n", d.http, answer);
	return false;
}

static void show_lists(struct ctl *ctl, int64_t now)
{
	struct store_digest_mark mark;
	struct err err = {{0}};
	char next[32], last[32], sched[64];

	printf("\nNext digests:\n");
	if (!ctl->cfg->n_lists)
		printf("  (no lists in %s)\n", ctl->config_path);
	for (size_t i = 0; i < ctl->cfg->n_lists; i++) {
		const struct config_list *l = &ctl->cfg->lists[i];

		schedule_describe(&l->schedule, sched, sizeof(sched));
		format_time((int64_t)schedule_next(&l->schedule, (time_t)now),
			    next, sizeof(next));
		memset(&mark, 0, sizeof(mark));
		if (store_digest_last(ctl->store, l->name, &mark, &err))
			snprintf(last, sizeof(last), "unknown");
		else
			format_time(mark.period_end, last, sizeof(last));
		printf("  %-20s %s (%s); last digest %s\n", l->name, next,
		       sched, last);
	}
}

static int show_line(const struct store_daemon_log *l, void *arg)
{
	char when[32];

	format_time(l->at, when, sizeof(when));
	printf("  %s %-7s %s\n", when, l->level, l->message);
	(*(size_t *)arg)++;
	return 0;
}

int cmd_status(struct ctl *ctl, int argc, char **argv)
{
	struct tally t = {0};
	struct store_delivery_counts c = {0};
	struct err err = {{0}};
	int64_t now = (int64_t)time(NULL);
	size_t lines = 0;
	bool healthy;
	int ret;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: bulletinctl status\n");
		return EXIT_USAGE;
	}
	ret = ctl_open(ctl, NEED_STORE);
	if (ret)
		return ret;
	healthy = show_daemon(ctl, now);
	printf("\nSources:\n");
	t.cfg = ctl->cfg;
	if (store_sources_each(ctl->store, count_source, &t, &err)) {
		fprintf(stderr, "bulletinctl: %s\n", err.msg);
		return EXIT_RUNTIME;
	}
	if (t.failing > SHOW_FAILING)
		printf("  ... and %zu more failing: bulletinctl sources shows "
		       "all\n",
		       t.failing - SHOW_FAILING);
	/* A source added since the daemon last synced has no row yet. */
	t.never +=
		ctl->cfg->n_sources > t.seen ? ctl->cfg->n_sources - t.seen : 0;
	printf("  %zu ok, %zu failing, %zu disabled, %zu not yet read\n", t.ok,
	       t.failing, t.disabled, t.never);
	show_lists(ctl, now);
	if (store_outbox_counts(ctl->store, &c, &err)) {
		fprintf(stderr, "bulletinctl: %s\n", err.msg);
		return EXIT_RUNTIME;
	}
	printf("\nOutbox: %lld pending, %lld sending, %lld sent, %lld "
	       "failed\n",
	       (long long)c.pending, (long long)c.sending, (long long)c.sent,
	       (long long)c.failed);
	printf("\nRecent warnings and errors (newest first):\n");
	if (store_daemon_log_each(ctl->store, SHOW_LOG, show_line, &lines,
				  &err)) {
		fprintf(stderr, "bulletinctl: %s\n", err.msg);
		return EXIT_RUNTIME;
	}
	if (!lines)
		printf("  none\n");
	return healthy ? 0 : EXIT_RUNTIME;
}
