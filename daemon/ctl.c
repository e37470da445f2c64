/*
 * bulletinctl: the admin tool. Works on the same database as the daemon,
 * through its own connection (WAL lets both run). Each command is one
 * function in the table below; every error names what is at fault and
 * what to do. Exit status: 0 ok, 1 runtime failure, 2 usage or config.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>

#include "bulletin-config.h"
#include "buf.h"
#include "config.h"
#include "deliver.h"
#include "feed.h"
#include "intake.h"
#include "dedupe.h"
#include "log.h"
#include "neardup.h"
#include "outbox.h"
#include "poller.h"
#include "secret.h"
#include "store.h"
#include "subscribe.h"
#include "text.h"
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

static void ctl_finish(struct ctl *ctl)
{
	outbox_destroy(ctl->outbox);
	token_keys_destroy(ctl->keys);
	theme_set_destroy(ctl->themes);
	store_close(ctl->store);
	config_destroy(ctl->cfg);
}

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

static int ctl_open(struct ctl *ctl, int need)
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

static const struct config_list *need_list(struct ctl *ctl, const char *name)
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

static void format_time(int64_t t, char *out, size_t len)
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

/* ---- sources ---- */

static int print_source(const struct store_source *s, void *arg)
{
	struct ctl *ctl = arg;
	char last[32], next[32];

	if (!config_source_find(ctl->cfg, s->name))
		return 0;
	format_time(s->last_success, last, sizeof(last));
	format_time(s->next_poll, next, sizeof(next));
	printf("%-20s %-16s %6d %6lld %-16s ", s->name, last, s->last_status,
	       (long long)s->items,
	       s->disabled    ? "-"
	       : s->next_poll ? next
			      : "now");
	if (s->disabled)
		printf("DISABLED: %s", s->disabled);
	else if (s->last_error && s->failures == 0)
		printf("ok, but: %s", s->last_error);
	else if (s->last_error)
		printf("failing (%d in a row): %s", s->failures, s->last_error);
	else
		printf("ok");
	if (s->moved_url)
		printf(" (moved to %s)", s->moved_url);
	putchar('\n');
	return 0;
}

static int cmd_sources(struct ctl *ctl, int argc, char **argv)
{
	struct err err = {{0}};
	int ret;

	if (argc != 1) {
		fprintf(stderr, "usage: bulletinctl sources\n");
		return EXIT_USAGE;
	}
	ret = ctl_open(ctl, NEED_STORE);
	if (ret)
		return ret;
	printf("%-20s %-16s %6s %6s %-16s %s\n", "SOURCE", "LAST SUCCESS",
	       "STATUS", "ITEMS", "NEXT POLL", "HEALTH");
	if (store_sources_each(ctl->store, print_source, ctl, &err)) {
		fprintf(stderr, "bulletinctl: %s\n", err.msg);
		return EXIT_RUNTIME;
	}
	return 0;
}

/* ---- fetch ---- */

struct fetch_wait {
	size_t fetched, failed;
};

static void on_fetched(size_t fetched, size_t failed, void *arg)
{
	struct fetch_wait *w = arg;

	w->fetched = fetched;
	w->failed = failed;
}

static int cmd_fetch(struct ctl *ctl, int argc, char **argv)
{
	struct fetch_wait w = {0, 0};
	struct poller *p;
	uv_loop_t loop;
	const char *only = argc > 1 ? argv[1] : NULL;
	int ret, started;

	if (argc > 2) {
		fprintf(stderr, "usage: bulletinctl fetch [SOURCE]\n");
		return EXIT_USAGE;
	}
	ret = ctl_open(ctl, NEED_STORE | NEED_SYNC);
	if (ret)
		return ret;
	if (only && !config_source_find(ctl->cfg, only)) {
		fprintf(stderr, "bulletinctl: no source named '%s' in %s\n",
			only, ctl->config_path);
		return EXIT_USAGE;
	}
	ctl->themes = theme_set_create(ctl->cfg);
	if (!ctl->themes)
		return EXIT_RUNTIME;
	uv_loop_init(&loop);
	p = poller_create(&loop, ctl->store, ctl->cfg, ctl->themes);
	if (!p) {
		uv_loop_close(&loop);
		return EXIT_RUNTIME;
	}
	started = poller_start(p, only, true, (int64_t)time(NULL), on_fetched,
			       &w);
	if (started == 0)
		fprintf(stderr, "bulletinctl: %s\n",
			only ? "that source is not a feed: nothing to fetch"
			     : "no feed sources in the config: nothing to "
			       "fetch");
	if (started < 0)
		fprintf(stderr, "bulletinctl: cannot start fetching: %s\n",
			strerror(-started));
	else
		uv_run(&loop, UV_RUN_DEFAULT);
	poller_destroy(p);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	printf("fetched %zu source%s, %zu failed\n", w.fetched,
	       w.fetched == 1 ? "" : "s", w.failed);
	return w.failed || started < 0 ? EXIT_RUNTIME : 0;
}

/* ---- parse ---- */

/*
 * The JSON lines are written by hand (text_json_quote), as jansson's
 * json_dumps(JSON_COMPACT | JSON_PRESERVE_ORDER) writes them, without
 * building objects: at tens of MB/s the objects cost more than the
 * parse. A string jansson would refuse (not UTF-8) leaves its key out,
 * as json_object_set_new() did.
 */

/* Item lines wait in memory up to this many bytes, then in a temporary
 * file, so that the feed line, complete only at the end, still comes
 * first while memory stays bounded whatever the file's size. */
#define PARSE_SPOOL_MEM (4u << 20)

struct parse_spool {
	struct buf mem; /* the latest lines */
	FILE *file;	/* earlier lines, or NULL */
};

/* Appends ,"key": (no comma before the first key) and s as a JSON
 * string, or null. */
static int json_put_str(struct buf *b, bool *first, const char *key,
			const char *s)
{
	size_t start = b->len;
	int ret;

	ret = *first ? 0 : buf_addc(b, ',');
	if (!ret)
		ret = buf_addc(b, '"');
	if (!ret)
		ret = buf_adds(b, key);
	if (!ret)
		ret = buf_add(b, "\":", 2);
	if (!ret)
		ret = s ? text_json_quote(s, b) : buf_add(b, "null", 4);
	if (ret == -EINVAL) {
		b->len = start;
		b->ptr[start] = '\0';
		return 0;
	}
	if (!ret)
		*first = false;
	return ret;
}

static int json_put_date(struct buf *b, bool *first, const char *key, int64_t t)
{
	char out[32];
	struct tm tm;
	time_t tt = (time_t)t;

	if (t == FEED_DATE_NONE)
		return json_put_str(b, first, key, NULL);
	gmtime_r(&tt, &tm);
	strftime(out, sizeof(out), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_put_str(b, first, key, out);
}

static int spool_spill(struct parse_spool *sp)
{
	if (!sp->file)
		sp->file = tmpfile();
	if (!sp->file)
		return -errno;
	if (fwrite(sp->mem.ptr, 1, sp->mem.len, sp->file) != sp->mem.len)
		return -EIO;
	buf_reset(&sp->mem);
	return 0;
}

static int parse_on_item(const struct feed_item *it, void *arg)
{
	struct parse_spool *sp = arg;
	struct buf *b = &sp->mem;
	bool first = true, cat_first = true;
	size_t k;
	int ret;

	ret = buf_addc(b, '{');
	if (!ret)
		ret = json_put_str(b, &first, "id", it->id);
	if (!ret)
		ret = json_put_str(b, &first, "link", it->link);
	if (!ret)
		ret = json_put_str(b, &first, "title", it->title);
	if (!ret)
		ret = json_put_str(b, &first, "author", it->author);
	if (!ret)
		ret = json_put_date(b, &first, "published", it->published);
	if (!ret)
		ret = json_put_date(b, &first, "updated", it->updated);
	if (!ret)
		ret = json_put_str(b, &first, "summary", it->summary);
	if (!ret)
		ret = json_put_str(b, &first, "content", it->content);
	if (!ret)
		ret = buf_printf(b, "%s\"categories\":[", first ? "" : ",");
	for (k = 0; k < it->n_categories && !ret; k++) {
		size_t start = b->len;

		if (!cat_first)
			ret = buf_addc(b, ',');
		if (!ret)
			ret = text_json_quote(it->categories[k], b);
		if (ret == -EINVAL) {
			b->len = start;
			b->ptr[start] = '\0';
			ret = 0;
		} else if (!ret) {
			cat_first = false;
		}
	}
	if (!ret)
		ret = buf_add(b, "]}\n", 3);
	if (!ret && b->len >= PARSE_SPOOL_MEM)
		ret = spool_spill(sp);
	return ret;
}

/* Writes the feed line, then the spooled item lines, to stdout. */
static int parse_print(const struct feed_info *info, struct parse_spool *sp)
{
	struct buf line;
	bool first = true;
	char chunk[65536];
	size_t got;
	int ret;

	buf_init(&line, SIZE_MAX);
	ret = buf_addc(&line, '{');
	if (!ret)
		ret = json_put_str(&line, &first, "title", info->title);
	if (!ret)
		ret = json_put_str(&line, &first, "link", info->link);
	if (!ret)
		ret = json_put_str(&line, &first, "format",
				   feed_format_name(info->format));
	if (!ret)
		ret = buf_add(&line, "}\n", 2);
	if (!ret)
		fwrite(line.ptr, 1, line.len, stdout);
	buf_free(&line);
	if (!ret && sp->file) {
		rewind(sp->file);
		while ((got = fread(chunk, 1, sizeof(chunk), sp->file)) > 0)
			fwrite(chunk, 1, got, stdout);
		if (ferror(sp->file))
			ret = -EIO;
	}
	if (!ret && sp->mem.len > 0)
		fwrite(sp->mem.ptr, 1, sp->mem.len, stdout);
	return ret;
}

static int cmd_parse(struct ctl *ctl, int argc, char **argv)
{
	/* Every item: memory does not grow with them here. */
	struct feed_limits all = {.max_items = SIZE_MAX};
	struct parse_spool spool = {.file = NULL};
	struct feed_parser *p = NULL;
	struct feed_info info;
	struct err err = {{0}};
	char chunk[65536];
	ssize_t n;
	int fd = -1, ret = 0, status = EXIT_RUNTIME;

	if (argc != 2) {
		fprintf(stderr, "usage: bulletinctl parse FILE\n");
		return EXIT_USAGE;
	}
	buf_init(&spool.mem, SIZE_MAX);
	fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "bulletinctl: cannot open %s: %s\n", argv[1],
			strerror(errno));
		return EXIT_RUNTIME;
	}
	p = feed_parser_create(NULL, NULL, &all, parse_on_item, &spool);
	if (!p) {
		fprintf(stderr, "bulletinctl: cannot parse %s: out of memory\n",
			argv[1]);
		goto out;
	}
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "bulletinctl: cannot read %s: %s\n",
				argv[1], strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		ret = feed_parser_push(p, chunk, (size_t)n, &err);
		if (ret)
			break;
	}
	if (!ret)
		ret = feed_parser_finish(p, &info, &err);
	if (ret) {
		fprintf(stderr, "bulletinctl: %s: %s\n", argv[1],
			err.msg[0] ? err.msg : strerror(-ret));
		goto out;
	}
	ret = parse_print(&info, &spool);
	if (ret) {
		fprintf(stderr, "bulletinctl: %s: %s\n", argv[1],
			strerror(-ret));
		goto out;
	}
	if (err.msg[0])
		fprintf(stderr, "bulletinctl: %s: warning: %s\n", argv[1],
			err.msg);
	status = fflush(stdout) == 0 ? 0 : EXIT_RUNTIME;
out:
	feed_parser_destroy(p);
	buf_free(&spool.mem);
	if (spool.file)
		fclose(spool.file);
	close(fd);
	return status;
}

/* ---- items ---- */

static json_t *json_str(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *json_date(int64_t t)
{
	char out[32];
	struct tm tm;
	time_t tt = (time_t)t;

	if (t == FEED_DATE_NONE)
		return json_null();
	gmtime_r(&tt, &tm);
	strftime(out, sizeof(out), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(out);
}

static void print_json(json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);

	if (s) {
		puts(s);
		free(s);
	}
	json_decref(o);
}

struct items_ctx {
	bool json;
};

static int print_item(const struct store_item *it, void *arg)
{
	struct items_ctx *ctx = arg;
	char when[32];
	json_t *o;

	if (ctx->json) {
		o = json_object();
		json_object_set_new(o, "id", json_integer(it->id));
		json_object_set_new(o, "source", json_str(it->source));
		json_object_set_new(o, "title", json_str(it->title));
		json_object_set_new(o, "link", json_str(it->link));
		json_object_set_new(o, "published", json_date(it->published));
		json_object_set_new(o, "theme", json_str(it->theme));
		json_object_set_new(o, "duplicate_of",
				    it->duplicate_of
					    ? json_integer(it->duplicate_of)
					    : json_null());
		print_json(o);
		return 0;
	}
	format_time(it->published, when, sizeof(when));
	printf("%6lld  %-16s  %-12s  %-14s  %s", (long long)it->id, when,
	       it->theme, it->source, it->title ? it->title : "(untitled)");
	if (it->duplicate_of)
		printf("  [repeats %lld]", (long long)it->duplicate_of);
	putchar('\n');
	return 0;
}

/* ---- items --explain ---- */

struct explain_ctx {
	struct ctl *ctl;
	const struct neardup_params *near;
	int64_t id;
	size_t n;
};

static const char *source_title(struct ctl *ctl, const char *name)
{
	const struct config_source *src = config_source_find(ctl->cfg, name);

	return src && src->title ? src->title : name;
}

static int source_priority(struct ctl *ctl, const char *name)
{
	const struct config_source *src = config_source_find(ctl->cfg, name);

	return src ? src->priority : 0;
}

static void explain_theme(struct ctl *ctl, const struct store_item *it)
{
	struct theme_explain ex;
	size_t i, k;

	if (theme_explain(ctl->themes, it->title, it->text, &ex)) {
		printf("theme: %s (cannot say why: out of memory)\n",
		       it->theme);
		theme_explain_finish(&ex);
		return;
	}
	printf("\ntheme: %s", it->theme);
	if (strcmp(ex.winner, THEME_OTHER) == 0)
		printf(" (no theme reached the threshold of %d)\n",
		       ex.min_score);
	else
		printf(" (score %d; threshold %d)\n", ex.score, ex.min_score);
	printf("  read: %zu title word%s, %zu text word%s%s; a keyword "
	       "scores %d in the title, 1 in the text (at most %d per "
	       "keyword)\n",
	       ex.title_words, ex.title_words == 1 ? "" : "s", ex.text_words,
	       ex.text_words == 1 ? "" : "s",
	       ex.text_cut ? " (only the start of a long text is read)" : "",
	       ex.title_weight, THEME_MAX_TEXT_HITS);
	if (ex.title_words + ex.text_words == 0)
		printf("  no words to match: an empty item, or one in a script "
		       "with none of the keywords\n");
	for (i = 0; i < ex.n_themes; i++) {
		const struct theme_score *t = &ex.themes[i];

		printf("  %-16s %3d", t->name, t->score);
		for (k = 0; k < t->n_hits; k++) {
			const struct theme_hit *h = &t->hits[k];
			bool phrase = strchr(h->keyword, ' ') != NULL;

			printf("%s %s%s%s (", k ? "," : "", phrase ? "\"" : "",
			       h->keyword, phrase ? "\"" : "");
			if (h->title)
				printf("title %d%s", h->title,
				       h->text ? ", " : "");
			if (h->text)
				printf("text %d", h->text);
			putchar(')');
		}
		putchar('\n');
	}
	if (strcmp(ex.winner, it->theme) != 0)
		printf("  stored under %s when it was ingested; with the "
		       "config as it is now it would go under %s\n",
		       it->theme, ex.winner);
	theme_explain_finish(&ex);
}

static void explain_relation(const struct explain_ctx *x,
			     const struct store_item *it)
{
	const struct neardup_params *p = x->near;
	enum dedupe_relation rel = dedupe_relation_parse(it->dup_relation);
	long long m = (long long)it->dup_match;

	printf("\nduplicate: yes, of item %lld: shown once, under that "
	       "item\n  why: ",
	       (long long)it->duplicate_of);
	switch (rel) {
	case DEDUPE_ID:
		printf("the same id as item %lld (%s)\n", m, it->guid);
		break;
	case DEDUPE_LINK:
		printf("the same canonical link as item %lld (%s)\n", m,
		       it->canon_link ? it->canon_link : "");
		break;
	case DEDUPE_TEXT:
		printf("the same title and text as item %lld once case, "
		       "punctuation and spacing are folded\n",
		       m);
		break;
	case DEDUPE_SIMILAR:
		printf("similar to item %lld: similarity %.2f of their "
		       "%d-word shingles (threshold %.2f)\n",
		       m, it->dup_score, NEARDUP_SHINGLE_WORDS, p->similar);
		break;
	case DEDUPE_CONTAINED:
		printf("contained in item %lld: %.0f%% of this item's %d-word "
		       "shingles are in it (threshold %.0f%%); the longer "
		       "item is shown, which loses nothing\n",
		       m, it->dup_score * 100, NEARDUP_SHINGLE_WORDS,
		       p->contained * 100);
		break;
	case DEDUPE_CONTAINS:
		printf("contains item %lld (%.0f%% of its shingles are here; "
		       "threshold %.0f%%), but that story went out in a "
		       "digest already, so it stays the one shown\n",
		       m, it->dup_score * 100, p->contained * 100);
		break;
	default:
		printf("recorded as \"%s\"\n",
		       it->dup_relation ? it->dup_relation : "unknown");
		break;
	}
	if (it->dup_match && it->dup_match != it->duplicate_of)
		printf("  item %lld is itself shown under item %lld, so this "
		       "one is too\n",
		       m, (long long)it->duplicate_of);
}

static int print_copy(const struct store_item *it, void *arg)
{
	struct explain_ctx *x = arg;

	printf("  item %lld from %s: %s%s", (long long)it->id,
	       source_title(x->ctl, it->source),
	       it->dup_relation ? it->dup_relation : "?",
	       it->dup_match != x->id ? " (to a copy)" : "");
	if (it->dup_relation && (strcmp(it->dup_relation, "similar") == 0 ||
				 strcmp(it->dup_relation, "contained") == 0 ||
				 strcmp(it->dup_relation, "contains") == 0))
		printf(" %.2f", it->dup_score);
	putchar('\n');
	x->n++;
	return 0;
}

static int print_near(const struct store_near *n, void *arg)
{
	struct explain_ctx *x = arg;
	const char *rel = dedupe_relation_name(n->rel);

	printf("  item %lld: similarity %.2f, this item in it %.0f%%, it in "
	       "this item %.0f%% (%zu shared shingle%s) -> %s",
	       (long long)n->id, n->m.jaccard, n->m.a_in_b * 100,
	       n->m.b_in_a * 100, n->m.shared, n->m.shared == 1 ? "" : "s",
	       rel ? rel : "not a duplicate");
	if (n->duplicate_of)
		printf(" (it is a copy of item %lld)",
		       (long long)n->duplicate_of);
	putchar('\n');
	x->n++;
	return 0;
}

static void explain_not_dup(struct explain_ctx *x, const struct store_item *it)
{
	struct neardup_doc *doc = NULL;
	struct err err = {{0}};
	size_t words;

	printf("\nduplicate: no");
	if (neardup_doc_create(it->title, it->text, &doc)) {
		printf(" (cannot say more: out of memory)\n");
		return;
	}
	words = neardup_doc_words(doc);
	printf("\n  exact checks: no other item has its id%s, its canonical "
	       "link or the same title and text\n",
	       dedupe_id_is_global(it->guid) ? ""
					     : " (a local id: compared "
					       "within its source only)");
	if (!it->text || !*it->text)
		printf("  it has no text: only its id and link can match; its "
		       "title (%zu word%s) stands in for near-duplicate "
		       "checks\n",
		       words, words == 1 ? "" : "s");
	if (!neardup_doc_comparable(doc, x->near)) {
		printf("  not compared for near duplicates: %zu word%s, "
		       "fewer than min_words %zu, is too little to tell "
		       "stories apart\n",
		       words, words == 1 ? "" : "s", x->near->min_words);
		neardup_doc_destroy(doc);
		return;
	}
	printf("  near-duplicate check: %zu words, %zu distinct %d-word "
	       "shingles%s; thresholds: similar %.2f, contained %.0f%%\n",
	       words, neardup_doc_shingles(doc), NEARDUP_SHINGLE_WORDS,
	       neardup_doc_truncated(doc) ? " (only the start of a long "
					    "text is read)"
					  : "",
	       x->near->similar, x->near->contained * 100);
	neardup_doc_destroy(doc);
	x->n = 0;
	if (store_item_nearest(x->ctl->store, it->id, 5, print_near, x, &err)) {
		printf("  cannot list candidates: %s\n", err.msg);
		return;
	}
	if (x->n == 0)
		printf("  no stored item shares enough of its keys (MinHash "
		       "bands, marks) to be compared\n");
}

static int explain_item(const struct store_item *it, void *arg)
{
	struct explain_ctx *x = arg;
	struct ctl *ctl = x->ctl;
	struct err err = {{0}};
	char when[32];

	format_time(it->published, when, sizeof(when));
	printf("item %lld: %s\n", (long long)it->id,
	       it->title ? it->title : "(untitled)");
	printf("  source:    %s (%s, priority %d)\n", it->source,
	       source_title(ctl, it->source), source_priority(ctl, it->source));
	printf("  published: %s\n", when);
	printf("  id:        %s\n", it->guid);
	if (it->link)
		printf("  link:      %s\n  canonical: %s\n", it->link,
		       it->canon_link ? it->canon_link : it->link);
	else
		printf("  link:      none\n");
	printf("  text:      %zu bytes%s\n", it->text ? strlen(it->text) : 0,
	       it->text && *it->text ? "" : " (empty)");
	explain_theme(ctl, it);
	if (it->duplicate_of)
		explain_relation(x, it);
	else
		explain_not_dup(x, it);
	x->n = 0;
	printf("\ncopies shown under it:\n");
	if (store_item_copies(ctl->store, it->id, print_copy, x, &err))
		printf("  cannot list them: %s\n", err.msg);
	else if (x->n == 0)
		printf("  none\n");
	return 0;
}

static int items_explain(struct ctl *ctl, const char *arg)
{
	struct neardup_params near;
	struct explain_ctx x = {ctl, &near, 0, 0};
	struct err err = {{0}};
	long long id;
	int ret;

	if (text_parse_int(arg, 1, INT64_MAX, &id)) {
		fprintf(stderr,
			"bulletinctl: --explain %s: not an item id; "
			"use a number from bulletinctl items\n",
			arg);
		return EXIT_USAGE;
	}
	ret = ctl_open(ctl, NEED_STORE);
	if (ret)
		return ret;
	ctl->themes = theme_set_create(ctl->cfg);
	if (!ctl->themes) {
		fprintf(stderr, "bulletinctl: out of memory\n");
		return EXIT_RUNTIME;
	}
	near.similar = ctl->cfg->dedupe_similar;
	near.contained = ctl->cfg->dedupe_contained;
	near.min_words = (size_t)ctl->cfg->dedupe_min_words;
	x.id = id;
	ret = store_item_get(ctl->store, id, explain_item, &x, &err);
	if (ret == -ENOENT) {
		fprintf(stderr, "bulletinctl: %s; see bulletinctl items\n",
			err.msg);
		return EXIT_RUNTIME;
	}
	if (ret) {
		fprintf(stderr, "bulletinctl: %s\n", err.msg);
		return EXIT_RUNTIME;
	}
	return 0;
}

#define ITEMS_USAGE                                                            \
	"usage: bulletinctl items [--list L] [--since DATE] [--json]\n"        \
	"       bulletinctl items --explain ID\n"

static int cmd_items(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{"list", required_argument, NULL, 'l'},
		{"since", required_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'},
		{"explain", required_argument, NULL, 'x'},
		{NULL, 0, NULL, 0},
	};
	struct items_ctx ctx = {false};
	const struct config_list *list = NULL;
	const char *list_name = NULL, *explain = NULL;
	struct err err = {{0}};
	int64_t since = 0;
	int c, ret;

	optind = 0; /* glibc: re-initialise for a new argv */
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			list_name = optarg;
			break;
		case 's':
			if (feed_parse_date(optarg, &since)) {
				fprintf(stderr,
					"bulletinctl: --since %s: not a date; "
					"use YYYY-MM-DD\n",
					optarg);
				return EXIT_USAGE;
			}
			break;
		case 'j':
			ctx.json = true;
			break;
		case 'x':
			explain = optarg;
			break;
		default:
			fprintf(stderr, ITEMS_USAGE);
			return EXIT_USAGE;
		}
	}
	if (optind != argc || (explain && (list_name || since || ctx.json))) {
		fprintf(stderr, ITEMS_USAGE);
		return EXIT_USAGE;
	}
	if (explain)
		return items_explain(ctl, explain);
	ret = ctl_open(ctl, NEED_STORE);
	if (ret)
		return ret;
	if (list_name) {
		list = need_list(ctl, list_name);
		if (!list)
			return EXIT_USAGE;
	}
	/* --since filters on first-seen time: what arrived since then. */
	ret = store_items_each(ctl->store,
			       list ? (const char *const *)list->sources : NULL,
			       list ? list->n_sources : 0, 0, since - 1,
			       INT64_MAX, print_item, &ctx, &err);
	if (ret) {
		fprintf(stderr, "bulletinctl: %s\n", err.msg);
		return EXIT_RUNTIME;
	}
	return 0;
}

/* ---- preview and send ---- */

static int cmd_preview(struct ctl *ctl, int argc, char **argv)
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

static int cmd_send(struct ctl *ctl, int argc, char **argv)
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

/* ---- subscribers ---- */

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

static int cmd_subscribers(struct ctl *ctl, int argc, char **argv)
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

/* ---- mail: receive, inbound ---- */

/* Reads all of fd, up to max bytes; *over is set when there was more. */
static int read_all(int fd, size_t max, struct buf *out, bool *over)
{
	char chunk[65536];
	ssize_t n;

	*over = false;
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		if (out->len + (size_t)n > max) {
			*over = true;
			return 0;
		}
		if (buf_add(out, chunk, (size_t)n))
			return -ENOMEM;
	}
}

/* For an MTA pipe: the exit status is what the MTA does with the mail.
 * 0 only once it is safely stored; EX_TEMPFAIL (75) when trying later
 * can help (a bad config, a locked or full database), so the MTA keeps
 * the mail and retries; EX_NOUSER (67) and EX_DATAERR (65) when it must
 * bounce, with the reason on one line. */
static int cmd_receive(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{"recipient", required_argument, NULL, 'r'},
		{NULL, 0, NULL, 0},
	};
	const char *envelope = getenv("ORIGINAL_RECIPIENT");
	struct intake_result res;
	struct intake_ctx ictx;
	struct err err = {{0}};
	struct buf msg;
	bool over = false;
	int c, ret;

	if (!envelope || !*envelope)
		envelope = getenv("RECIPIENT");
	optind = 0;
	while ((c = getopt_long(argc, argv, "r:", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			envelope = optarg;
			break;
		default:
			fprintf(stderr, "usage: bulletinctl receive "
					"[--recipient ADDR] < MESSAGE\n");
			return EX_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "usage: bulletinctl receive [--recipient ADDR] "
				"< MESSAGE\n");
		return EX_USAGE;
	}
	if (envelope && !*envelope)
		envelope = NULL;
	/* A config or database problem is the admin's to fix: the MTA
	 * keeps the mail meanwhile. */
	if (ctl_open(ctl, NEED_STORE | NEED_SYNC) != 0) {
		fprintf(stderr, "bulletinctl: cannot take mail now (see "
				"above); the mail server will try again\n");
		return EX_TEMPFAIL;
	}
	ctl->themes = theme_set_create(ctl->cfg);
	buf_init(&msg, SIZE_MAX);
	ret = ctl->themes
		      ? read_all(STDIN_FILENO, (size_t)ctl->cfg->imap_max_size,
				 &msg, &over)
		      : -ENOMEM;
	if (ret) {
		buf_free(&msg);
		fprintf(stderr, "bulletinctl: cannot read the message: %s\n",
			strerror(-ret));
		return EX_TEMPFAIL;
	}
	if (over) {
		buf_free(&msg);
		fprintf(stderr,
			"bulletinctl: message refused: bigger than %lld bytes "
			"([imap] max_size)\n",
			(long long)ctl->cfg->imap_max_size);
		return EX_DATAERR;
	}
	ictx = (struct intake_ctx){
		.cfg = ctl->cfg,
		.st = ctl->store,
		.ts = ctl->themes,
		.envelope = envelope,
		.now = (int64_t)time(NULL),
	};
	ret = intake_message(&ictx, msg.ptr ? msg.ptr : "", msg.len, &res,
			     &err);
	buf_free(&msg);
	if (ret < 0) {
		fprintf(stderr,
			"bulletinctl: %s; the mail server will try "
			"again\n",
			err.msg);
		return EX_TEMPFAIL;
	}
	if (res.warning[0])
		fprintf(stderr, "bulletinctl: %s: warning: %s\n", res.message,
			res.warning);
	switch (res.outcome) {
	case INTAKE_BRIEFING:
	case INTAKE_COMMAND:
	case INTAKE_DUPLICATE:
	case INTAKE_QUARANTINED:
	case INTAKE_BOUNCE:
		/* Quarantined mail is kept for the admin; a bounce would
		 * go to whoever the forger named. Mail to a bounce
		 * address is taken even when it changes nothing: a
		 * bounce of a bounce would go nowhere useful. */
		fprintf(stderr, "bulletinctl: %s: %s\n", res.message,
			res.detail);
		return 0;
	case INTAKE_IGNORED:
		fprintf(stderr, "bulletinctl: message refused: %s\n",
			res.detail);
		return EX_NOUSER;
	case INTAKE_REFUSED:
	default:
		fprintf(stderr, "bulletinctl: message refused: %s\n",
			res.detail);
		return EX_DATAERR;
	}
}

static int print_inbound(const struct store_inbound_row *r, void *arg)
{
	char when[32];

	format_time(r->received, when, sizeof(when));
	printf("%-16s  %-4s  %-11s  %-30.30s  %-30.30s  %s\n", when, r->via,
	       r->outcome, r->sender ? r->sender : "-",
	       r->subject ? r->subject : "-", r->detail ? r->detail : "");
	return 0;
}

static int cmd_inbound(struct ctl *ctl, int argc, char **argv)
{
	struct err err = {{0}};
	long long limit = 50;
	int ret;

	if (argc > 2 ||
	    (argc == 2 && text_parse_int(argv[1], 1, 100000, &limit) != 0)) {
		fprintf(stderr, "usage: bulletinctl inbound [COUNT]\n");
		return EXIT_USAGE;
	}
	ret = ctl_open(ctl, NEED_STORE);
	if (ret)
		return ret;
	printf("%-16s  %-4s  %-11s  %-30s  %-30s  %s\n", "RECEIVED", "VIA",
	       "OUTCOME", "FROM", "SUBJECT", "DETAIL");
	if (store_inbound_each(ctl->store, (size_t)limit, print_inbound, NULL,
			       &err)) {
		fprintf(stderr, "bulletinctl: %s\n", err.msg);
		return EXIT_RUNTIME;
	}
	return 0;
}

/* ---- dispatch ---- */

struct command {
	const char *name;
	int (*run)(struct ctl *ctl, int argc, char **argv);
	const char *help;
};

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

static int cmd_digests(struct ctl *ctl, int argc, char **argv)
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

static const struct command commands[] = {
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
