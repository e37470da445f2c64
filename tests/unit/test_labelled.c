/*
 * The labelled set (tests/data/labelled): pairs that are and are not one
 * story go through the store as ingest stores them, and items with their
 * expected theme through the themes of config/bulletin.conf.example.
 * Prints precision and recall for duplicates and accuracy for themes,
 * and fails under the floors below.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "config.h"
#include "store.h"
#include "theme.h"

#define PRECISION_FLOOR 0.95
#define RECALL_FLOOR 0.90
#define THEME_FLOOR 0.85

static char tmp_dir[] = "/tmp/bulletin-labelled.XXXXXX";

/* One labelled record: the expectation, and up to two title/text
 * parts. */
struct record {
	char *expect; /* "similar", "contained", "none" or a theme */
	char *name;   /* the rest of the === line */
	char *title[2], *text[2];
	int n_parts;
};

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	struct buf b;
	char chunk[4096];
	size_t n;

	assert_non_null(f);
	buf_init(&b, BUF_MAX_TEXT);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		assert_int_equal(buf_add(&b, chunk, n), 0);
	fclose(f);
	return buf_take(&b);
}

static void trim(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = '\0';
}

/* Parses FILE into records; pairs have "--- a"/"--- b" parts, theme
 * items one part right after the === line. */
static size_t parse(const char *path, struct record **out)
{
	char *all = read_all(path), *line, *save = NULL;
	struct record *v = NULL, *r = NULL;
	size_t n = 0;
	struct buf text;
	int part = -1;

	buf_init(&text, BUF_MAX_TEXT);
	for (line = strtok_r(all, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#')
			continue;
		if (strncmp(line, "=== ", 4) == 0 ||
		    strncmp(line, "--- ", 4) == 0) {
			if (r && part >= 0) {
				/* "--- a" right after "===" ends an empty
				 * part: the later text replaces it. */
				free(r->text[part]);
				r->text[part] = buf_take(&text);
				trim(r->text[part]);
			}
			buf_init(&text, BUF_MAX_TEXT);
		}
		if (strncmp(line, "=== ", 4) == 0) {
			char *colon = strchr(line + 4, ':');

			v = realloc(v, (n + 1) * sizeof(*v));
			assert_non_null(v);
			r = &v[n++];
			memset(r, 0, sizeof(*r));
			if (colon)
				*colon = '\0';
			r->expect = strdup(line + 4);
			r->name = strdup(colon ? colon + 2 : line + 4);
			part = 0;
			r->n_parts = 1;
			r->title[0] = NULL;
			continue;
		}
		if (strncmp(line, "--- ", 4) == 0) {
			part = line[4] == 'a' ? 0 : 1;
			r->n_parts = part + 1;
			continue;
		}
		if (!r || part < 0)
			continue;
		if (!r->title[part]) {
			r->title[part] = strdup(line);
			continue;
		}
		if (text.len)
			assert_int_equal(buf_addc(&text, '\n'), 0);
		assert_int_equal(buf_adds(&text, line), 0);
	}
	if (r && part >= 0) {
		r->text[part] = buf_take(&text);
		trim(r->text[part]);
	}
	buf_free(&text);
	free(all);
	*out = v;
	return n;
}

static void records_free(struct record *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].expect);
		free(v[i].name);
		for (int k = 0; k < 2; k++) {
			free(v[i].title[k]);
			free(v[i].text[k]);
		}
	}
	free(v);
}

static const char *data_path(const char *name, char *out, size_t len)
{
	const char *dd = getenv("DATA_DIR");

	snprintf(out, len, "%s/labelled/%s", dd ? dd : "tests/data", name);
	return out;
}

struct dup_seen {
	int64_t dup_of[3]; /* by id 1 and 2 */
	char relation[3][16];
};

static int on_item(const struct store_item *it, void *arg)
{
	struct dup_seen *d = arg;

	if (it->id >= 1 && it->id <= 2) {
		d->dup_of[it->id] = it->duplicate_of;
		snprintf(d->relation[it->id], sizeof(d->relation[0]), "%s",
			 it->dup_relation ? it->dup_relation : "");
	}
	return 0;
}

/* Stores a then b in a fresh store; returns what happened. */
static void run_pair(const struct record *r, size_t k, struct dup_seen *d)
{
	static struct config_source srcs[] = {{.name = "blog"},
					      {.name = "union"}};
	struct config cfg = {.sources = srcs, .n_sources = 2};
	struct store_item_new it;
	struct store_ingest_result res;
	struct err err = {{0}};
	struct store *st;
	char path[PATH_MAX], guid[32];

	snprintf(path, sizeof(path), "%s/pair%zu.db", tmp_dir, k);
	st = store_open(path, &err);
	assert_non_null(st);
	assert_int_equal(store_sync_config(st, &cfg, &err), 0);
	for (int i = 0; i < 2; i++) {
		memset(&it, 0, sizeof(it));
		snprintf(guid, sizeof(guid), "pair-%zu-%d", k, i);
		it.guid = guid;
		it.title = r->title[i];
		it.text = r->text[i];
		it.published = 1000000 + i * 3600;
		assert_int_equal(store_items_ingest(st, srcs[i].name, &it, 1,
						    2000000 + i, &res, &err),
				 0);
	}
	memset(d, 0, sizeof(*d));
	assert_int_equal(store_items_each(st, NULL, 0, 0, 0, INT64_MAX, on_item,
					  d, &err),
			 0);
	store_close(st);
	snprintf(path + strlen(path), sizeof(path) - strlen(path), "-wal");
	unlink(path);
	path[strlen(path) - 4] = '\0';
	unlink(path);
}

static void test_duplicates(void **state)
{
	struct record *v;
	char path[PATH_MAX];
	size_t n = parse(data_path("pairs.txt", path, sizeof(path)), &v);
	size_t tp = 0, fp = 0, fn = 0, tn = 0, rel_ok = 0, i;
	struct dup_seen d;
	double precision, recall;

	assert_true(n >= 20);
	for (i = 0; i < n; i++) {
		bool want = strcmp(v[i].expect, "none") != 0;
		bool got;
		const char *rel;

		assert_int_equal(v[i].n_parts, 2);
		run_pair(&v[i], i, &d);
		got = d.dup_of[1] || d.dup_of[2];
		rel = d.dup_of[2] ? d.relation[2] : d.relation[1];
		if (want && got) {
			tp++;
			/* A contained pair keeps the longer item. */
			if (strcmp(v[i].expect, "contained") == 0) {
				int longer =
					strlen(v[i].text[0]) >
							strlen(v[i].text[1])
						? 1
						: 2;

				if (d.dup_of[3 - longer] == longer &&
				    (strcmp(rel, "contained") == 0))
					rel_ok++;
				else
					printf("  relation: %s: got %s, kept "
					       "%d\n",
					       v[i].name, rel,
					       d.dup_of[1] ? 2 : 1);
			} else if (strcmp(rel, v[i].expect) == 0) {
				rel_ok++;
			} else {
				printf("  relation: %s: got %s\n", v[i].name,
				       rel);
			}
		} else if (want) {
			fn++;
			printf("  missed: %s (%s)\n", v[i].name, v[i].expect);
		} else if (got) {
			fp++;
			printf("  false duplicate: %s (%s)\n", v[i].name, rel);
		} else {
			tn++;
		}
	}
	precision = tp + fp ? (double)tp / (double)(tp + fp) : 1;
	recall = tp + fn ? (double)tp / (double)(tp + fn) : 1;
	printf("duplicates: %zu pairs; precision %.3f, recall %.3f "
	       "(tp %zu, fp %zu, fn %zu, tn %zu); relation and kept item "
	       "right for %zu of %zu found\n",
	       n, precision, recall, tp, fp, fn, tn, rel_ok, tp);
	records_free(v, n);
	assert_true(precision >= PRECISION_FLOOR);
	assert_true(recall >= RECALL_FLOOR);
	assert_int_equal(rel_ok, tp);
}

/* The example config with the test templates, loaded. */
static struct config *example_config(void)
{
	const char *dd = getenv("DATA_DIR");
	char path[PATH_MAX], line[8192], out[PATH_MAX + 32];
	struct config *cfg = NULL;
	FILE *in, *o;

	snprintf(path, sizeof(path), "%s/../../config/bulletin.conf.example",
		 dd ? dd : "tests/data");
	in = fopen(path, "r");
	assert_non_null(in);
	snprintf(out, sizeof(out), "%s/example.conf", tmp_dir);
	o = fopen(out, "w");
	assert_non_null(o);
	while (fgets(line, sizeof(line), in)) {
		if (strncmp(line, ";templates = ", 13) == 0)
			fprintf(o, "templates = %s/../../templates\n",
				dd ? dd : "tests/data");
		else
			fputs(line, o);
	}
	fclose(in);
	fclose(o);
	assert_int_equal(config_load(out, NULL, NULL, &cfg), 0);
	unlink(out);
	return cfg;
}

static void test_themes(void **state)
{
	struct config *cfg = example_config();
	struct theme_set *ts = theme_set_create(cfg);
	struct theme_result res;
	struct record *v;
	char path[PATH_MAX];
	size_t n = parse(data_path("themes.txt", path, sizeof(path)), &v);
	size_t ok = 0, i;
	double accuracy;

	assert_non_null(ts);
	assert_true(n >= 30);
	for (i = 0; i < n; i++) {
		assert_int_equal(
			theme_classify(ts, v[i].title[0], v[i].text[0], &res),
			0);
		if (strcmp(res.name, v[i].expect) == 0)
			ok++;
		else
			printf("  theme: \"%s\": want %s, got %s (score %d)\n",
			       v[i].title[0], v[i].expect, res.name, res.score);
	}
	accuracy = (double)ok / (double)n;
	printf("themes: %zu items; accuracy %.3f (%zu right)\n", n, accuracy,
	       ok);
	records_free(v, n);
	theme_set_destroy(ts);
	config_destroy(cfg);
	assert_true(accuracy >= THEME_FLOOR);
}

static int setup(void **state)
{
	return mkdtemp(tmp_dir) ? 0 : -1;
}

static int teardown(void **state)
{
	rmdir(tmp_dir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_themes),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
