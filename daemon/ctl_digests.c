/*
 * bulletinctl's digest commands: preview, send (through the daemon's own
 * delivery path, on a loop of its own) and digests (past digests, and
 * one shown again as a subscriber got it).
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <uv.h>

#include "buf.h"
#include "config.h"
#include "ctl.h"
#include "deliver.h"
#include "log.h"
#include "outbox.h"
#include "store.h"
#include "text.h"

int cmd_preview(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{"to", required_argument, NULL, 't'},
		{NULL, 0, NULL, 0},
	};
	const struct config_list *list;
	const char *to = "subscriber@example.org";
	struct err err = {{0}};
	struct buf msg;
	int c, ret;

	optind = 0; /* glibc: re-initialise for a new argv */
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 't') {
			fprintf(stderr, "usage: bulletinctl preview LIST [--to "
					"ADDR]\n");
			return EXIT_USAGE;
		}
		to = optarg;
	}
	if (optind != argc - 1) {
		fprintf(stderr,
			"usage: bulletinctl preview LIST [--to ADDR]\n");
		return EXIT_USAGE;
	}
	ret = ctl_open(ctl, NEED_OUTBOX);
	if (ret)
		return ret;
	list = need_list(ctl, argv[optind]);
	if (!list)
		return EXIT_USAGE;
	buf_init(&msg, BUF_MAX_TEXT);
	ret = outbox_preview(ctl->outbox, list, to, (int64_t)time(NULL), &msg,
			     &err);
	if (ret) {
		fprintf(stderr, "bulletinctl: %s\n", err.msg);
		buf_free(&msg);
		return EXIT_RUNTIME;
	}
	/* The message uses CRLF on the wire; show it with plain LF. */
	for (size_t i = 0; i < msg.len; i++) {
		if (msg.ptr[i] != '\r')
			putchar(msg.ptr[i]);
	}
	buf_free(&msg);
	return 0;
}

static int count_item(const struct store_item *it, void *arg)
{
	size_t *n = arg;

	if (!it->duplicate_of)
		(*n)++;
	return 0;
}

static int count_active(const struct store_subscriber *s, void *arg)
{
	size_t *n = arg;

	if (strcmp(s->state, "active") == 0)
		(*n)++;
	return 0;
}

static void on_delivered(void *arg)
{
	uv_stop(arg);
}

/* Delivers the rows of digest_id on the configured transport and waits
 * for every outcome. */
static int deliver_now(struct ctl *ctl, int64_t digest_id,
		       struct deliver_stats *stats)
{
	struct err err = {{0}};
	struct deliver *dv;
	uv_loop_t loop;
	int ret;

	uv_loop_init(&loop);
	dv = deliver_create(&loop, ctl->store, ctl->cfg, &err);
	if (!dv) {
		fprintf(stderr, "bulletinctl: %s\n", err.msg);
		uv_loop_close(&loop);
		return EXIT_USAGE;
	}
	ret = deliver_run(dv, ctl->outbox, ctl->cfg, digest_id, &err);
	if (ret)
		fprintf(stderr, "bulletinctl: %s\n", err.msg);
	if (!ret && deliver_in_flight(dv) > 0) {
		deliver_on_idle(dv, on_delivered, &loop);
		uv_run(&loop, UV_RUN_DEFAULT);
	}
	*stats = *deliver_stats(dv);
	deliver_destroy(dv);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	return ret ? EXIT_RUNTIME : 0;
}

int cmd_send(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{"dry-run", no_argument, NULL, 'n'},
		{NULL, 0, NULL, 0},
	};
	const struct config_list *list;
	struct deliver_stats stats;
	struct store_digest sd;
	struct err err = {{0}};
	struct store_digest_mark mark;
	int64_t now = (int64_t)time(NULL);
	size_t n = 0, items = 0, subs = 0;
	bool dry = false;
	int c, ret;

	optind = 0; /* glibc: re-initialise for a new argv */
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'n') {
			fprintf(stderr,
				"usage: bulletinctl send LIST [--dry-run]\n");
			return EXIT_USAGE;
		}
		dry = true;
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: bulletinctl send LIST [--dry-run]\n");
		return EXIT_USAGE;
	}
	ret = ctl_open(ctl, NEED_OUTBOX | NEED_SYNC);
	if (ret)
		return ret;
	list = need_list(ctl, argv[optind]);
	if (!list)
		return EXIT_USAGE;
	if (dry) {
		ret = store_digest_last(ctl->store, list->name, &mark, &err);
		if (!ret)
			ret = store_items_each(
				ctl->store, (const char *const *)list->sources,
				list->n_sources, mark.last_item, 0, INT64_MAX,
				count_item, &items, &err);
		if (!ret)
			ret = store_subscribers_each(ctl->store, list->name,
						     count_active, &subs, &err);
		if (ret) {
			fprintf(stderr, "bulletinctl: %s\n", err.msg);
			return EXIT_RUNTIME;
		}
		printf("list %s: a digest now would carry %zu stor%s to %zu "
		       "subscriber%s (dry run: nothing sent)\n",
		       list->name, items, items == 1 ? "y" : "ies", subs,
		       subs == 1 ? "" : "s");
		return 0;
	}
	ret = outbox_compose(ctl->outbox, list, 0, now, &sd, &n, &err);
	if (ret) {
		fprintf(stderr, "bulletinctl: %s\n", err.msg);
		return EXIT_RUNTIME;
	}
	if (sd.items == 0 && !list->nothing_new) {
		printf("list %s: nothing new since the last digest; nothing "
		       "sent\n",
		       list->name);
		return 0;
	}
	ret = deliver_now(ctl, sd.id, &stats);
	if (ret)
		return ret;
	printf("list %s: digest %lld with %lld stor%s: %zu sent, %zu "
	       "deferred, %zu failed\n",
	       list->name, (long long)sd.id, (long long)sd.items,
	       sd.items == 1 ? "y" : "ies", stats.sent, stats.deferred,
	       stats.failed);
	return stats.failed || stats.deferred ? EXIT_RUNTIME : 0;
}

/* ---- digests ---- */

static int print_digest(const struct store_digest *d,
			const struct store_delivery_counts *c, void *arg)
{
	char from[32], to[32], made[32];

	(void)arg;
	format_time(d->period_start, from, sizeof(from));
	format_time(d->period_end, to, sizeof(to));
	format_time(d->created, made, sizeof(made));
	printf("%-6lld  %-16s  %-16s  %-16s  %-16s  %7lld  %7lld  %7lld  %7lld "
	       " "
	       "%7lld\n",
	       (long long)d->id, d->list, from, to, made, (long long)d->items,
	       (long long)c->pending, (long long)c->sending, (long long)c->sent,
	       (long long)c->failed);
	return 0;
}

struct find_sub {
	const char *address;
	int64_t id;
};

static int find_subscriber(const struct store_subscriber *s, void *arg)
{
	struct find_sub *f = arg;

	if (strcasecmp(s->address, f->address) == 0)
		f->id = s->id;
	return 0;
}

/* Renders past digest id again, as address got it (or would have). */
static int show_digest(struct ctl *ctl, int64_t id, const char *address)
{
	struct store_delivery d = {0};
	struct store_digest sd;
	struct find_sub f = {address, 0};
	struct err err = {{0}};
	struct buf msg;
	int ret;

	ret = ctl_open(ctl, NEED_OUTBOX);
	if (ret)
		return ret;
	if (store_digest_get(ctl->store, id, &sd, &err) ||
	    store_subscribers_each(ctl->store, sd.list, find_subscriber, &f,
				   &err)) {
		fprintf(stderr, "bulletinctl: %s\n", err.msg);
		return EXIT_USAGE;
	}
	d.digest_id = id;
	d.subscriber_id = f.id;
	d.list = sd.list;
	d.address = address;
	buf_init(&msg, BUF_MAX_TEXT);
	ret = outbox_render(ctl->outbox, &d, sd.created, true, &msg, &err);
	if (ret) {
		fprintf(stderr, "bulletinctl: %s\n", err.msg);
		buf_free(&msg);
		return EXIT_RUNTIME;
	}
	fwrite(buf_str(&msg), 1, msg.len, stdout);
	buf_free(&msg);
	return 0;
}

int cmd_digests(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{"show", required_argument, NULL, 's'},
		{"to", required_argument, NULL, 't'},
		{NULL, 0, NULL, 0},
	};
	static const char use[] =
		"usage: bulletinctl digests [LIST]\n"
		"       bulletinctl digests --show ID [--to ADDR]\n";
	const char *to = "subscriber@example.org";
	long long show = 0;
	struct err err = {{0}};
	int c, ret;

	optind = 0; /* glibc: re-initialise for a new argv */
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 's' &&
		    text_parse_int(optarg, 1, INT64_MAX, &show) == 0)
			continue;
		if (c == 't') {
			to = optarg;
			continue;
		}
		fprintf(stderr, "%s", use);
		return EXIT_USAGE;
	}
	if (show)
		return optind == argc
			       ? show_digest(ctl, show, to)
			       : (fprintf(stderr, "%s", use), EXIT_USAGE);
	if (argc - optind > 1) {
		fprintf(stderr, "%s", use);
		return EXIT_USAGE;
	}
	ret = ctl_open(ctl, NEED_STORE);
	if (ret)
		return ret;
	if (optind < argc && !need_list(ctl, argv[optind]))
		return EXIT_USAGE;
	printf("%-6s  %-16s  %-16s  %-16s  %-16s  %7s  %7s  %7s  %7s  %7s\n",
	       "ID", "LIST", "FROM", "TO", "MADE", "STORIES", "PENDING",
	       "SENDING", "SENT", "FAILED");
	if (store_digests_each(ctl->store, optind < argc ? argv[optind] : NULL,
			       print_digest, NULL, &err)) {
		fprintf(stderr, "bulletinctl: %s\n", err.msg);
		return EXIT_RUNTIME;
	}
	return 0;
}
