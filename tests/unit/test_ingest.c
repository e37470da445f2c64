/*
 * Tests for ingest: a document's items land in the store once; an edited
 * item is updated in place; a very long id is stored as a stable hash;
 * a document that is no feed changes nothing.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "buf.h"
#include "ingest.h"

struct fixture {
	char dir[64], path[128];
	struct config cfg;
	struct config_source src;
	struct store *st;
	struct theme_set *ts;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct err err = {{0}};

	snprintf(f->dir, sizeof(f->dir), "/tmp/test_ingest.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/b.db", f->dir);
	f->src.name = "blog";
	f->src.title = "Blog";
	f->src.url = "http://blog.example.org/feed";
	f->cfg.sources = &f->src;
	f->cfg.n_sources = 1;
	f->st = store_open(f->path, &err);
	assert_non_null(f->st);
	assert_int_equal(store_sync_config(f->st, &f->cfg, &err), 0);
	f->ts = theme_set_create(&f->cfg);
	assert_non_null(f->ts);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char p[160];

	theme_set_destroy(f->ts);
	store_close(f->st);
	unlink(f->path);
	snprintf(p, sizeof(p), "%s-wal", f->path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", f->path);
	unlink(p);
	rmdir(f->dir);
	free(f);
	return 0;
}

static char *rss(const char *guid, const char *title)
{
	static char doc[8192];

	snprintf(doc, sizeof(doc),
		 "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel>"
		 "<title>Blog</title><item><guid>%s</guid><title>%s</title>"
		 "<link>http://blog.example.org/1</link>"
		 "<description>Some words about caseloads.</description>"
		 "</item></channel></rss>",
		 guid, title);
	return doc;
}

static void ingest(struct fixture *f, const char *doc, int want,
		   struct ingest_result *res)
{
	struct err err = {{0}};

	assert_int_equal(ingest_feed(f->st, f->ts, &f->src, doc, strlen(doc),
				     NULL, 1000, res, &err),
			 want);
}

static void test_once_then_known_then_updated(void **state)
{
	struct fixture *f = *state;
	struct ingest_result res;

	ingest(f, rss("g1", "First"), 0, &res);
	assert_int_equal(res.parsed, 1);
	assert_int_equal(res.added, 1);
	ingest(f, rss("g1", "First"), 0, &res);
	assert_int_equal(res.added, 0);
	assert_int_equal(res.known, 1);
	ingest(f, rss("g1", "First, corrected"), 0, &res);
	assert_int_equal(res.added, 0);
	assert_int_equal(res.updated, 1);
}

static void test_long_guid_is_hashed_and_stable(void **state)
{
	struct fixture *f = *state;
	struct ingest_result res;
	char guid[2001], *doc;
	sqlite3 *db;
	sqlite3_stmt *s;

	memset(guid, 'g', sizeof(guid) - 1);
	guid[sizeof(guid) - 1] = '\0';
	doc = strdup(rss(guid, "Long"));
	ingest(f, doc, 0, &res);
	assert_int_equal(res.added, 1);
	ingest(f, doc, 0, &res);
	assert_int_equal(res.known, 1);
	free(doc);
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(
		sqlite3_prepare_v2(db, "SELECT guid FROM items", -1, &s, NULL),
		SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_true(strncmp((const char *)sqlite3_column_text(s, 0),
			    "hash:", 5) == 0);
	assert_true(strlen((const char *)sqlite3_column_text(s, 0)) < 100);
	sqlite3_finalize(s);
	sqlite3_close(db);
}

static void test_ten_thousand_items_one_guid(void **state)
{
	struct fixture *f = *state;
	struct ingest_result res;
	struct buf doc;
	int i;

	/* RELIABILITY E10: bounded rows whatever the feed repeats. */
	buf_init(&doc, BUF_MAX_TEXT);
	assert_int_equal(buf_adds(&doc, "<rss version=\"2.0\"><channel>"
					"<title>t</title>"),
			 0);
	for (i = 0; i < 10000; i++)
		assert_int_equal(buf_adds(&doc, "<item><guid>same</guid>"
						"<title>Same</title></item>"),
				 0);
	assert_int_equal(buf_adds(&doc, "</channel></rss>"), 0);
	ingest(f, buf_str(&doc), 0, &res);
	assert_int_equal(res.parsed, 10000);
	assert_int_equal(res.added, 1);
	assert_int_equal(res.known, 9999);
	buf_free(&doc);
}

static void test_not_a_feed_changes_nothing(void **state)
{
	struct fixture *f = *state;
	struct ingest_result res;
	struct err err = {{0}};
	const char *html = "<!DOCTYPE html><html><body>Moved</body></html>";

	assert_int_equal(ingest_feed(f->st, f->ts, &f->src, html, strlen(html),
				     NULL, 1000, &res, &err),
			 -EPROTO);
	assert_non_null(strstr(err.msg, "<html>"));
	assert_int_equal(res.added, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_once_then_known_then_updated, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_long_guid_is_hashed_and_stable, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_ten_thousand_items_one_guid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_a_feed_changes_nothing,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
