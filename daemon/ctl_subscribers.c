/*
 * bulletinctl subscribers: list, add, remove, approve, show, import
 * (CSV, bad rows reported by line), export and requests, through the
 * subscribe module's rules.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "buf.h"
#include "config.h"
#include "ctl.h"
#include "log.h"
#include "secret.h"
#include "store.h"
#include "subscribe.h"
#include "text.h"
#include "token.h"

#define SUBSCRIBERS_USAGE                                                      \
	"usage: bulletinctl subscribers LIST [list | add ADDR | remove ADDR "  \
	"| approve ADDR | show ADDR | import FILE | export | requests "        \
	"[COUNT]]\n"

static int print_subscriber(const struct store_subscriber *s, void *arg)
{
	printf("%s %s\n", s->address, s->state);
	return 0;
}

static int export_subscriber(const struct store_subscriber *s, void *arg)
{
	struct ctl *ctl = arg;
	struct store_sub sub;
	char req[32], conf[32];

	if (store_sub_get(ctl->store, NULL, NULL, s->id, &sub, NULL))
		return 0;
	format_time(sub.requested, req, sizeof(req));
	format_time(sub.confirmed, conf, sizeof(conf));
	/* Addresses hold no comma or quote (they are checked): no
	 * quoting needed. */
	printf("%s,%s,%s,%s,%s\n", sub.address, sub.state, sub.via, req, conf);
	return 0;
}

static int print_event(const struct store_sub_event *e, void *arg)
{
	bool *with_address = arg;
	char when[32];

	format_time(e->at, when, sizeof(when));
	if (*with_address)
		printf("  %s  %s  %s %s: %s\n", when, e->address, e->via,
		       e->what, e->outcome);
	else
		printf("  %s  %s %s: %s\n", when, e->via, e->what, e->outcome);
	return 0;
}

static int print_sub_delivery(const struct store_sub_delivery *d, void *arg)
{
	char made[32], sent[32];

	format_time(d->digest_created, made, sizeof(made));
	format_time(d->sent_at, sent, sizeof(sent));
	printf("  digest %lld of %s: %s, %d tr%s, sent %s%s%s\n",
	       (long long)d->digest_id, made, d->state, d->attempts,
	       d->attempts == 1 ? "y" : "ies", sent,
	       d->last_error[0] ? "; " : "", d->last_error);
	return 0;
}

static int subscriber_show(struct ctl *ctl, const struct config_list *list,
			   const char *address)
{
	struct err err = {{0}};
	struct store_sub sub;
	char t[4][32];
	bool with_address = false;
	int ret;

	ret = store_sub_get(ctl->store, list->name, address, 0, &sub, &err);
	if (ret) {
		fprintf(stderr, "bulletinctl: %s\n", err.msg);
		return ret == -ENOENT ? EXIT_USAGE : EXIT_RUNTIME;
	}
	format_time(sub.requested, t[0], sizeof(t[0]));
	format_time(sub.confirmed, t[1], sizeof(t[1]));
	format_time(sub.left_at, t[2], sizeof(t[2]));
	format_time(sub.created, t[3], sizeof(t[3]));
	printf("%s on %s: %s%s%s%s\n", sub.address, list->name, sub.state,
	       sub.awaiting[0] ? " (waiting for " : "", sub.awaiting,
	       sub.awaiting[0] ? ")" : "");
	printf("  first seen %s; asked to join %s by %s; confirmed %s; left "
	       "%s\n",
	       t[3], t[0], sub.via[0] ? sub.via : "unknown", t[1], t[2]);
	printf("requests, newest first:\n");
	ret = store_sub_events_each(ctl->store, list->name, sub.address, 50,
				    print_event, &with_address, &err);
	if (!ret) {
		printf("deliveries, newest first:\n");
		ret = store_sub_deliveries_each(ctl->store, sub.id, 20,
						print_sub_delivery, NULL, &err);
	}
	if (ret) {
		fprintf(stderr, "bulletinctl: %s\n", err.msg);
		return EXIT_RUNTIME;
	}
	return 0;
}

/* CSV import: the address is the first field of each row; a header row
 * ("address,..."), blank lines and # comments are skipped. Bad rows are
 * reported by line and the rest imported. */
static int subscriber_import(struct ctl *ctl, struct subscribe *sub,
			     const struct config_list *list, const char *path)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	char line[1024];
	size_t lineno = 0, added = 0, bad = 0;
	struct buf addr;
	int ret = 0;

	if (!f) {
		fprintf(stderr, "bulletinctl: cannot read %s: %s\n", path,
			strerror(errno));
		return EXIT_USAGE;
	}
	buf_init(&addr, BUF_MAX_LINE);
	while (fgets(line, sizeof(line), f)) {
		struct err err = {{0}};
		char *field = line, *end;

		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			fprintf(stderr, "%s:%zu: line too long; skipped\n",
				path, lineno);
			bad++;
			while (fgets(line, sizeof(line), f) &&
			       !strchr(line, '\n'))
				;
			continue;
		}
		line[strcspn(line, "\r\n")] = '\0';
		while (*field == ' ' || *field == '\t')
			field++;
		if (!*field || *field == '#')
			continue;
		end = field + strcspn(field, ",;");
		*end = '\0';
		if (*field == '"' && end > field + 1 && end[-1] == '"') {
			field++;
			end[-1] = '\0';
		}
		while (end > field && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (lineno == 1 && (strcasecmp(field, "address") == 0 ||
				    strcasecmp(field, "email") == 0))
			continue;
		buf_reset(&addr);
		ret = subscribe_address_normalise(field, &addr, &err);
		if (!ret)
			ret = subscribe_admin_add(sub, list, buf_str(&addr),
						  SUBSCRIBE_VIA_IMPORT,
						  (int64_t)time(NULL), &err);
		if (ret == -EINVAL || ret == -EPERM) {
			fprintf(stderr, "%s:%zu: %s; skipped\n", path, lineno,
				err.msg);
			bad++;
			ret = 0;
			continue;
		}
		if (ret) {
			fprintf(stderr, "%s:%zu: %s; stopped here\n", path,
				lineno, err.msg);
			break;
		}
		added++;
	}
	if (f != stdin)
		fclose(f);
	buf_free(&addr);
	printf("%s: %zu imported, %zu bad row%s\n", list->name, added, bad,
	       bad == 1 ? "" : "s");
	return ret ? EXIT_RUNTIME : bad ? EXIT_RUNTIME : 0;
}

int cmd_subscribers(struct ctl *ctl, int argc, char **argv)
{
	const struct config_list *list;
	const char *action = argc > 2 ? argv[2] : "list";
	struct subscribe *sub = NULL;
	struct err err = {{0}};
	struct buf addr;
	bool with_address = true;
	bool reads =
		strcmp(action, "list") == 0 || strcmp(action, "export") == 0 ||
		strcmp(action, "show") == 0 || strcmp(action, "requests") == 0;
	bool one = strcmp(action, "add") == 0 ||
		   strcmp(action, "remove") == 0 ||
		   strcmp(action, "approve") == 0 ||
		   strcmp(action, "show") == 0 || strcmp(action, "import") == 0;
	int ret;

	if (argc < 2 || (one && argc != 4) || (!one && !reads && argc > 2) ||
	    (strcmp(action, "requests") == 0 ? argc > 4 : (!one && argc > 3))) {
		fprintf(stderr, SUBSCRIBERS_USAGE);
		return EXIT_USAGE;
	}
	ret = ctl_open(ctl, NEED_STORE | (reads ? 0 : NEED_SYNC));
	if (ret)
		return ret;
	list = need_list(ctl, argv[1]);
	if (!list)
		return EXIT_USAGE;
	if (strcmp(action, "list") == 0 || strcmp(action, "export") == 0) {
		bool csv = strcmp(action, "export") == 0;

		if (csv)
			printf("address,state,via,requested,confirmed\n");
		if (store_subscribers_each(ctl->store, list->name,
					   csv ? export_subscriber
					       : print_subscriber,
					   ctl, &err)) {
			fprintf(stderr, "bulletinctl: %s\n", err.msg);
			return EXIT_RUNTIME;
		}
		return 0;
	}
	if (strcmp(action, "requests") == 0) {
		long long count = 50;

		if (argc == 4 && text_parse_int(argv[3], 1, 100000, &count)) {
			fprintf(stderr, SUBSCRIBERS_USAGE);
			return EXIT_USAGE;
		}
		printf("requests to %s, newest first:\n", list->name);
		if (store_sub_events_each(ctl->store, list->name, NULL,
					  (size_t)count, print_event,
					  &with_address, &err)) {
			fprintf(stderr, "bulletinctl: %s\n", err.msg);
			return EXIT_RUNTIME;
		}
		return 0;
	}
	if (!reads) {
		ctl->keys =
			token_keys_load(ctl->cfg->secret_file,
					ctl->cfg->previous_secret_file, &err);
		sub = ctl->keys ? subscribe_create(ctl->store, ctl->cfg,
						   ctl->keys, &err)
				: NULL;
		if (!sub) {
			fprintf(stderr, "bulletinctl: %s\n", err.msg);
			return EXIT_USAGE;
		}
	}
	if (strcmp(action, "import") == 0) {
		ret = subscriber_import(ctl, sub, list, argv[3]);
		subscribe_destroy(sub);
		return ret;
	}
	buf_init(&addr, BUF_MAX_LINE);
	if (subscribe_address_normalise(argv[3], &addr, &err)) {
		fprintf(stderr, "bulletinctl: %s\n", err.msg);
		buf_free(&addr);
		subscribe_destroy(sub);
		return EXIT_USAGE;
	}
	if (strcmp(action, "show") == 0)
		ret = subscriber_show(ctl, list, buf_str(&addr));
	else {
		if (strcmp(action, "add") == 0)
			ret = subscribe_admin_add(sub, list, buf_str(&addr),
						  SUBSCRIBE_VIA_ADMIN,
						  (int64_t)time(NULL), &err);
		else if (strcmp(action, "remove") == 0)
			ret = subscribe_admin_remove(sub, list, buf_str(&addr),
						     (int64_t)time(NULL), &err);
		else
			ret = subscribe_admin_approve(sub, list, buf_str(&addr),
						      (int64_t)time(NULL),
						      &err);
		if (ret) {
			fprintf(stderr, "bulletinctl: %s\n", err.msg);
			ret = ret == -ENOENT || ret == -EPERM ? EXIT_USAGE
							      : EXIT_RUNTIME;
		} else {
			printf("%s: %s %s\n", list->name, buf_str(&addr),
			       strcmp(action, "remove") == 0 ? "unsubscribed"
			       : strcmp(action, "add") == 0
				       ? "active"
				       : "approved: active, "
					 "welcome queued");
		}
	}
	buf_free(&addr);
	subscribe_destroy(sub);
	return ret;
}
