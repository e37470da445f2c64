/*
 * bulletinctl's feed commands: sources, fetch, parse (the JSON-lines
 * contract of DESIGN.md) and items (with --json and --explain).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>

#include "buf.h"
#include "config.h"
#include "ctl.h"
#include "dedupe.h"
#include "feed.h"
#include "log.h"
#include "neardup.h"
#include "poller.h"
#include "store.h"
#include "text.h"
#include "theme.h"

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

int cmd_sources(struct ctl *ctl, int argc, char **argv)
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

int cmd_fetch(struct ctl *ctl, int argc, char **argv)
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

int cmd_parse(struct ctl *ctl, int argc, char **argv)
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

int cmd_items(struct ctl *ctl, int argc, char **argv)
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
