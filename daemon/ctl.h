/*
 * ctl: what bulletinctl's commands share, inside the program (not a
 * library module): the state a command opens (config, store, themes,
 * keys, outbox), how it opens them, and small printing helpers. Each
 * group of commands lives in its own ctl_*.c file; ctl.c holds main,
 * the command table, opening what a command needs, and check-config.
 */
#ifndef BULLETIN_CTL_H
#define BULLETIN_CTL_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "outbox.h"
#include "store.h"
#include "theme.h"
#include "token.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2
#define DEFAULT_CONFIG "/etc/bulletin/bulletin.conf"

struct ctl {
	const char *config_path;
	struct config *cfg;
	struct store *store;
	struct theme_set *themes;
	struct token_keys *keys;
	struct outbox *outbox;
	size_t config_errors;
};

/* What a command needs. */
enum need {
	NEED_CONFIG = 1,
	NEED_STORE = 2,
	NEED_OUTBOX = 4,
	/* Commands that act (fetch, send, subscriber changes) first make
	 * the store's sources and lists match the config; the others read
	 * it as it is, so that looking never changes what the daemon
	 * sees. */
	NEED_SYNC = 8,
};

/* Loads what need asks for, printing every problem. Returns 0 or the
 * exit status to leave with. */
int ctl_open(struct ctl *ctl, int need);
void ctl_finish(struct ctl *ctl);

/* The list named name, or NULL after printing the lists there are. */
const struct config_list *need_list(struct ctl *ctl, const char *name);

/* "YYYY-MM-DD HH:MM" in the configured time zone, or "never" for 0. */
void format_time(int64_t t, char *out, size_t len);

/* The commands, by file: each returns the exit status. */
int cmd_status(struct ctl *ctl, int argc, char **argv); /* ctl_status.c */
/* ctl_feeds.c */
int cmd_sources(struct ctl *ctl, int argc, char **argv);
int cmd_fetch(struct ctl *ctl, int argc, char **argv);
int cmd_parse(struct ctl *ctl, int argc, char **argv);
int cmd_items(struct ctl *ctl, int argc, char **argv);
/* ctl_digests.c */
int cmd_preview(struct ctl *ctl, int argc, char **argv);
int cmd_send(struct ctl *ctl, int argc, char **argv);
int cmd_digests(struct ctl *ctl, int argc, char **argv);
/* ctl_subscribers.c */
int cmd_subscribers(struct ctl *ctl, int argc, char **argv);
/* ctl_mail.c */
int cmd_receive(struct ctl *ctl, int argc, char **argv);
int cmd_inbound(struct ctl *ctl, int argc, char **argv);

#endif
