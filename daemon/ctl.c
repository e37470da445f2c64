/*
 * bulletinctl: the admin tool. Works on the same database as the daemon,
 * through its own connection (WAL lets both run). Each command is one
 * function in the table below; every error names what is at fault and
 * what to do. Exit status: 0 ok, 1 runtime failure, 2 usage or config.
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bulletin-config.h"
#include "config.h"
#include "ctl.h"
#include "log.h"
#include "outbox.h"
#include "secret.h"
#include "store.h"
#include "theme.h"
#include "token.h"

static void ctl_config_error(const char *file, int line, const char *msg,
			     void *arg)
{
	struct ctl *ctl = arg;

	ctl->config_errors++;
	if (line > 0)
		fprintf(stderr, "%s:%d: %s\n", file, line, msg);
	else
		fprintf(stderr, "%s: %s\n", file, msg);
}

void ctl_finish(struct ctl *ctl)
{
	outbox_destroy(ctl->outbox);
	token_keys_destroy(ctl->keys);
	theme_set_destroy(ctl->themes);
	store_close(ctl->store);
	config_destroy(ctl->cfg);
}

int ctl_open(struct ctl *ctl, int need)
{
	struct err err = {{0}};

	if (config_load(ctl->config_path, ctl_config_error, ctl, &ctl->cfg))
		return EXIT_USAGE;
	setenv("TZ", ctl->cfg->timezone, 1);
	tzset();
	log_set_level(ctl->cfg->log_level);
	if (!(need & (NEED_STORE | NEED_OUTBOX)))
		return 0;
	ctl->store = store_open(ctl->cfg->database, &err);
	if (!ctl->store || ((need & NEED_SYNC) &&
			    store_sync_config(ctl->store, ctl->cfg, &err))) {
		fprintf(stderr, "bulletinctl: %s\n", err.msg);
		return EXIT_RUNTIME;
	}
	store_use_config(ctl->store, ctl->cfg);
	if (!(need & NEED_OUTBOX))
		return 0;
	ctl->themes = theme_set_create(ctl->cfg);
	ctl->keys = token_keys_load(ctl->cfg->secret_file,
				    ctl->cfg->previous_secret_file, &err);
	if (!ctl->keys) {
		fprintf(stderr, "bulletinctl: %s\n", err.msg);
		return EXIT_USAGE;
	}
	ctl->outbox = outbox_create(ctl->store, ctl->cfg, ctl->keys, &err);
	if (!ctl->themes || !ctl->outbox) {
		fprintf(stderr, "bulletinctl: %s\n", err.msg);
		return EXIT_USAGE;
	}
	return 0;
}

const struct config_list *need_list(struct ctl *ctl, const char *name)
{
	const struct config_list *list = config_list_find(ctl->cfg, name);
	size_t i;

	if (list)
		return list;
	fprintf(stderr, "bulletinctl: no list named '%s' in %s; lists:", name,
		ctl->config_path);
	for (i = 0; i < ctl->cfg->n_lists; i++)
		fprintf(stderr, " %s", ctl->cfg->lists[i].name);
	fprintf(stderr, "%s\n", ctl->cfg->n_lists ? "" : " (none)");
	return NULL;
}

void format_time(int64_t t, char *out, size_t len)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (t <= 0) {
		snprintf(out, len, "never");
		return;
	}
	localtime_r(&tt, &tm);
	strftime(out, len, "%Y-%m-%d %H:%M", &tm);
}

/* ---- check-config ---- */

static int cmd_check_config(struct ctl *ctl, int argc, char **argv)
{
	struct err err = {{0}};
	struct token_keys *keys;
	struct outbox *ob;
	int ret;

	if (argc != 1) {
		fprintf(stderr, "usage: bulletinctl check-config\n");
		return EXIT_USAGE;
	}
	ret = ctl_open(ctl, NEED_CONFIG);
	if (ret) {
		fprintf(stderr, "%s: %zu problem%s found\n", ctl->config_path,
			ctl->config_errors, ctl->config_errors == 1 ? "" : "s");
		return ret;
	}
	/* Templates compile now, so that an error shows before a send. */
	keys = token_keys_from("check-config", 12);
	ob = keys ? outbox_create(NULL, ctl->cfg, keys, &err) : NULL;
	if (!ob) {
		fprintf(stderr, "%s\n", err.msg[0] ? err.msg : "out of memory");
		token_keys_destroy(keys);
		return EXIT_USAGE;
	}
	outbox_destroy(ob);
	token_keys_destroy(keys);
	/* The secret files as the daemon will read them. */
	if (secret_check_config(ctl->cfg, &err)) {
		fprintf(stderr, "%s: %s\n", ctl->config_path, err.msg);
		return EXIT_USAGE;
	}
	printf("%s: ok (%zu sources, %zu lists, %zu themes)\n",
	       ctl->config_path, ctl->cfg->n_sources, ctl->cfg->n_lists,
	       ctl->cfg->n_themes);
	return 0;
}

/* ---- dispatch ---- */

struct command {
	const char *name;
	int (*run)(struct ctl *ctl, int argc, char **argv);
	const char *help;
};

static const struct command commands[] = {
	{"status", cmd_status,
	 "status                        one screen: the daemon, sources, "
	 "next digests,\n"
	 "                                the outbox, recent errors"},
	{"check-config", cmd_check_config,
	 "check-config                  validate the config; list every "
	 "problem"},
	{"sources", cmd_sources,
	 "sources                       each source's last fetch, status and "
	 "items"},
	{"fetch", cmd_fetch,
	 "fetch [SOURCE]                poll every source (or one) now"},
	{"parse", cmd_parse,
	 "parse FILE                    parse a feed file; print JSON lines"},
	{"items", cmd_items,
	 "items [--list L] [--since DATE] [--json]   stored items"},
	{"items", cmd_items,
	 "items --explain ID            why an item has its theme and "
	 "duplicate status"},
	{"preview", cmd_preview,
	 "preview LIST [--to ADDR]      print the digest ADDR would get now"},
	{"send", cmd_send,
	 "send LIST [--dry-run]         compose and send the digest now"},
	{"digests", cmd_digests,
	 "digests [LIST]                past digests, deliveries by state"},
	{"digests", cmd_digests,
	 "digests --show ID [--to ADDR] a past digest, as ADDR got it"},
	{"subscribers", cmd_subscribers,
	 "subscribers LIST [list|add ADDR|remove ADDR|approve ADDR|show "
	 "ADDR|\n"
	 "              import FILE|export|requests [COUNT]]"},
	{"receive", cmd_receive,
	 "receive [--recipient ADDR]    take one email on stdin (MTA pipe)"},
	{"inbound", cmd_inbound,
	 "inbound [COUNT]               the last mail taken or left alone"},
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: bulletinctl [-c FILE] COMMAND [ARGS]\n\n"
		   "The bulletin admin tool. Commands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %s\n", commands[i].help);
	fprintf(f,
		"\nOptions:\n"
		"  -c, --config FILE  config file (default %s)\n"
		"  -h, --help         show this help\n"
		"  -V, --version      show the version\n"
		"\nExit status: 0 ok, 1 runtime failure, 2 usage or config "
		"error.\n",
		DEFAULT_CONFIG);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct ctl ctl;
	size_t i;
	int c, ret;

	memset(&ctl, 0, sizeof(ctl));
	ctl.config_path = DEFAULT_CONFIG;
	log_init("bulletinctl", LOG_LEVEL_WARNING);
	/* "+": stop at the command so that its own options are its own. */
	while ((c = getopt_long(argc, argv, "+c:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			ctl.config_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("bulletinctl %s\n", BULLETIN_VERSION);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[optind], commands[i].name) == 0)
			break;
	}
	if (i == sizeof(commands) / sizeof(commands[0])) {
		fprintf(stderr, "bulletinctl: unknown command '%s'\n",
			argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	ret = commands[i].run(&ctl, argc - optind, argv + optind);
	ctl_finish(&ctl);
	return ret;
}
