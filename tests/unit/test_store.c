/*
 * Tests for store: migrations, config sync, ingest with exact-duplicate
 * resolution, digests unique per slot, the delivery state machine, and
 * the errors an admin sees when the database is locked.
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

#include <sys/stat.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store.h"

struct fixture {
	char dir[64];
	char path[128];
	struct config cfg;
	struct config_source sources[2];
	struct config_list lists[1];
	char *list_sources[2];
	struct store *st;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct err err = {{0}};

	snprintf(f->dir, sizeof(f->dir), "/tmp/test_store.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/b.db", f->dir);
	f->sources[0].name = "blog";
	f->sources[0].title = "The Blog";
	f->sources[0].url = "http://blog.example.org/feed";
	f->sources[1].name = "union";
	f->sources[1].title = "The Union";
	f->sources[1].url = "http://union.example.org/feed";
	f->list_sources[0] = "blog";
	f->list_sources[1] = "union";
	f->lists[0].name = "news";
	f->lists[0].title = "News";
	f->lists[0].sources = f->list_sources;
	f->lists[0].n_sources = 2;
	f->cfg.sources = f->sources;
	f->cfg.n_sources = 2;
	f->cfg.lists = f->lists;
	f->cfg.n_lists = 1;
	f->st = store_open(f->path, &err);
	assert_non_null(f->st);
	assert_int_equal(store_sync_config(f->st, &f->cfg, &err), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[256];

	store_close(f->st);
	snprintf(cmd, sizeof(cmd), "%s/b.db", f->dir);
	unlink(cmd);
	snprintf(cmd, sizeof(cmd), "%s/b.db-wal", f->dir);
	unlink(cmd);
	snprintf(cmd, sizeof(cmd), "%s/b.db-shm", f->dir);
	unlink(cmd);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void test_schema_is_current(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(store_schema_version(f->st), STORE_SCHEMA_VERSION);
}

static void test_open_bad_directory_names_file(void **state)
{
	struct err err = {{0}};
	struct store *st;

	st = store_open("/nonexistent-dir/x/b.db", &err);
	assert_null(st);
	assert_non_null(strstr(err.msg, "/nonexistent-dir/x/b.db"));
	assert_non_null(strstr(err.msg, "directory"));
}

static void test_newer_schema_refused(void **state)
{
	struct fixture *f = *state;
	struct err err = {{0}};
	sqlite3 *db;
	struct store *st;

	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(
		sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL),
		SQLITE_OK);
	sqlite3_close(db);
	st = store_open(f->path, &err);
	assert_null(st);
	assert_non_null(strstr(err.msg, "schema version 99"));
}

static struct store_item_new item(const char *guid, const char *link,
				  const char *fp, int64_t published)
{
	struct store_item_new it = {
		.guid = guid,
		.link = link,
		.canon_link = link,
		.title = guid,
		.text = "body",
		.theme = "pay",
		.fingerprint = fp,
		.published = published,
	};
	return it;
}

struct collected {
	int64_t ids[16];
	int64_t dup[16];
	char titles[16][32];
	size_t n;
};

static int collect(const struct store_item *it, void *arg)
{
	struct collected *c = arg;

	c->ids[c->n] = it->id;
	c->dup[c->n] = it->duplicate_of;
	snprintf(c->titles[c->n], sizeof(c->titles[0]), "%s", it->title);
	c->n++;
	return 0;
}

static void test_ingest_dedupes_exact(void **state)
{
	struct fixture *f = *state;
	struct store_ingest_result res;
	struct err err = {{0}};
	struct collected c = {0};
	struct store_item_new a[2], b[2];

	a[0] = item("a1", "http://x.org/1", "fp1", 100);
	a[1] = item("a2", "http://x.org/2", "fp2", 200);
	assert_int_equal(
		store_items_ingest(f->st, "blog", a, 2, 1000, &res, &err), 0);
	assert_int_equal(res.added, 2);
	assert_int_equal(res.duplicates, 0);

	/* Same guid again: known. Another source with the same link and
	 * another with the same fingerprint: duplicates. */
	assert_int_equal(
		store_items_ingest(f->st, "blog", a, 1, 1001, &res, &err), 0);
	assert_int_equal(res.added, 0);
	assert_int_equal(res.known, 1);
	b[0] = item("b1", "http://x.org/1", "other", 300);
	b[1] = item("b2", "http://y.org/9", "fp2", 400);
	assert_int_equal(
		store_items_ingest(f->st, "union", b, 2, 1002, &res, &err), 0);
	assert_int_equal(res.added, 2);
	assert_int_equal(res.duplicates, 2);

	assert_int_equal(
		store_items_each(f->st, NULL, 0, 0, 0, 5000, collect, &c, &err),
		0);
	assert_int_equal(c.n, 4);
	/* Newest first: b2 (400) repeats a2, b1 (300) repeats a1. */
	assert_string_equal(c.titles[0], "b2");
	assert_int_equal(c.dup[0], c.ids[2]);
	assert_string_equal(c.titles[1], "b1");
	assert_int_equal(c.dup[1], c.ids[3]);
	assert_int_equal(c.dup[2], 0);
}

static void test_original_published_earlier_is_kept(void **state)
{
	struct fixture *f = *state;
	struct store_ingest_result res;
	struct err err = {{0}};
	struct collected c = {0};
	struct store_item_new a[1], b[1];

	/* The blog's repost (published 500) is seen first; the union's
	 * original (published 100) arrives later and is kept. */
	a[0] = item("repost", "http://blog.org/r", "story", 500);
	assert_int_equal(
		store_items_ingest(f->st, "blog", a, 1, 1000, &res, &err), 0);
	b[0] = item("original", "http://union.org/o", "story", 100);
	assert_int_equal(
		store_items_ingest(f->st, "union", b, 1, 1001, &res, &err), 0);
	assert_int_equal(res.duplicates, 1);
	assert_int_equal(
		store_items_each(f->st, NULL, 0, 0, 0, 5000, collect, &c, &err),
		0);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.titles[0], "repost");
	assert_int_equal(c.dup[0], c.ids[1]);
	assert_string_equal(c.titles[1], "original");
	assert_int_equal(c.dup[1], 0);
}

static void test_no_item_falls_between_digests(void **state)
{
	struct fixture *f = *state;
	const char *const srcs[] = {"blog"};
	struct store_ingest_result res;
	struct store_digest sd;
	struct err err = {{0}};
	struct store_item_new a[1];
	size_t n = 0;

	/* Items first seen in the same second as a digest, after it was
	 * composed, go into the next one (digests follow item ids). */
	a[0] = item("a1", "http://x.org/1", NULL, 100);
	store_items_ingest(f->st, "blog", a, 1, 2000, &res, &err);
	assert_int_equal(store_digest_create(f->st, "news", srcs, 1, 0, 2000, 0,
					     2000, false, &sd, &n, &err),
			 0);
	assert_int_equal(sd.items, 1);
	a[0] = item("a2", "http://x.org/2", NULL, 100);
	store_items_ingest(f->st, "blog", a, 1, 2000, &res, &err);
	assert_int_equal(store_digest_create(f->st, "news", srcs, 1, 2000, 2000,
					     0, 2000, false, &sd, &n, &err),
			 0);
	assert_int_equal(sd.items, 1);
}

static void test_sent_story_is_not_taken_over(void **state)
{
	struct fixture *f = *state;
	const char *const srcs[] = {"blog", "union"};
	struct store_ingest_result res;
	struct store_digest sd;
	struct err err = {{0}};
	struct collected c = {0};
	struct store_item_new a[1];
	size_t n = 0;

	/* The repost went out; the original arriving later is a repeat. */
	a[0] = item("repost", "http://blog.org/r", "story", 500);
	store_items_ingest(f->st, "blog", a, 1, 1000, &res, &err);
	store_digest_create(f->st, "news", srcs, 2, 0, 1000, 0, 1000, false,
			    &sd, &n, &err);
	a[0] = item("original", "http://union.org/o", "story", 100);
	store_items_ingest(f->st, "union", a, 1, 1001, &res, &err);
	assert_int_equal(res.duplicates, 1);
	store_items_each(f->st, NULL, 0, 0, 0, 5000, collect, &c, &err);
	assert_string_equal(c.titles[0], "repost");
	assert_int_equal(c.dup[0], 0);
	assert_string_equal(c.titles[1], "original");
	assert_int_equal(c.dup[1], c.ids[0]);
	assert_int_equal(store_digest_create(f->st, "news", srcs, 2, 1000, 2000,
					     0, 2000, false, &sd, &n, &err),
			 0);
	assert_int_equal(sd.items, 0);
}

/* Rows of table as another connection sees them. */
static int count_rows(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	int n = -1;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return n;
}

/* A batch's items and fetch records are committed together: none is
 * seen before the commit, each sees the ones before it, and a failing
 * part undoes the whole batch (the caller then stores the parts one by
 * one), after which ingest goes on as before. */
static void test_batch_commits_together_or_not_at_all(void **state)
{
	struct fixture *f = *state;
	struct store_fetch_outcome o = {.when = 10,
					.success = true,
					.status = 200,
					.etag = "\"v1\"",
					.next_poll = 9999};
	struct store_ingest_result res;
	struct store_source src;
	struct err err = {{0}};
	struct store_item_new a[1], b[1];

	a[0] = item("a1", "http://x.org/1", "fp1", 100);
	b[0] = item("b1", "http://x.org/1", "other", 200);
	assert_int_equal(store_batch_begin(f->st, &err), 0);
	assert_int_equal(
		store_items_ingest(f->st, "blog", a, 1, 1000, &res, &err), 0);
	assert_int_equal(res.added, 1);
	assert_int_equal(
		store_items_ingest(f->st, "union", b, 1, 1000, &res, &err), 0);
	assert_int_equal(res.duplicates, 1);
	assert_int_equal(store_source_record(f->st, "blog", &o, &err), 0);
	assert_int_equal(count_rows(f->path, "SELECT count(*) FROM items"), 0);
	assert_int_equal(count_rows(f->path, "SELECT count(*) FROM sources "
					     "WHERE etag IS NOT NULL"),
			 0);
	assert_int_equal(store_batch_commit(f->st, &err), 0);
	assert_int_equal(count_rows(f->path, "SELECT count(*) FROM items"), 2);
	assert_int_equal(store_source_get(f->st, "blog", &src, &err), 0);
	assert_string_equal(src.etag, "\"v1\"");
	store_source_finish(&src);

	/* A part fails: nothing of the batch stays. */
	a[0] = item("a2", "http://x.org/2", "fp2", 300);
	assert_int_equal(store_batch_begin(f->st, &err), 0);
	assert_int_equal(
		store_items_ingest(f->st, "blog", a, 1, 1001, &res, &err), 0);
	assert_int_equal(
		store_items_ingest(f->st, "nope", b, 1, 1001, &res, &err),
		-ENOENT);
	store_batch_rollback(f->st);
	assert_int_equal(count_rows(f->path, "SELECT count(*) FROM items"), 2);
	/* Stored on its own, a2 is new and b2 still finds a1. */
	assert_int_equal(
		store_items_ingest(f->st, "blog", a, 1, 1002, &res, &err), 0);
	assert_int_equal(res.added, 1);
	b[0] = item("b2", "http://x.org/1", "other2", 400);
	assert_int_equal(
		store_items_ingest(f->st, "union", b, 1, 1003, &res, &err), 0);
	assert_int_equal(res.duplicates, 1);
	assert_int_equal(count_rows(f->path, "SELECT count(*) FROM items"), 4);
}

/* Enough writing to wake the checkpoint thread (16 MiB of WAL): every
 * item is there after a close and a reopen, and the close leaves no WAL
 * behind. */
static void test_checkpoints_off_the_writer(void **state)
{
	struct fixture *f = *state;
	struct store_ingest_result res;
	struct err err = {{0}};
	struct store_item_new it[50];
	char guid[50][16], link[50][48], *text, *texts[50];
	struct stat sb;
	char wal[160];
	size_t i, k, batch;

	text = malloc(8192);
	assert_non_null(text);
	for (batch = 0; batch < 60; batch++) {
		for (k = 0; k < 50; k++) {
			i = batch * 50 + k;
			snprintf(guid[k], sizeof(guid[k]), "g%zu", i);
			snprintf(link[k], sizeof(link[k]), "http://x.org/%zu",
				 i);
			/* Different words in every item: no duplicates. */
			for (size_t w = 0, n = 0; n + 16 < 8000; w++)
				n += (size_t)snprintf(text + n, 8192 - n,
						      "w%zux%zu ", i, w);
			it[k] = item(guid[k], link[k], NULL, 100);
			texts[k] = strdup(text);
			assert_non_null(texts[k]);
			it[k].text = texts[k];
		}
		assert_int_equal(store_items_ingest(f->st, "blog", it, 50, 1000,
						    &res, &err),
				 0);
		assert_int_equal(res.added, 50);
		for (k = 0; k < 50; k++)
			free(texts[k]);
	}
	free(text);
	store_close(f->st);
	snprintf(wal, sizeof(wal), "%s-wal", f->path);
	assert_int_equal(stat(wal, &sb), -1);
	f->st = store_open(f->path, &err);
	assert_non_null(f->st);
	assert_int_equal(count_rows(f->path, "SELECT count(*) FROM items"),
			 3000);
}

static void test_url_change_forgets_validators(void **state)
{
	struct fixture *f = *state;
	struct store_fetch_outcome o = {.when = 10,
					.success = true,
					.status = 200,
					.etag = "\"v1\"",
					.last_modified = "Mon, 16 Nov 2026",
					.next_poll = 9999};
	struct store_source src;
	struct err err = {{0}};

	assert_int_equal(store_source_record(f->st, "blog", &o, &err), 0);
	/* Same URL: the validators stay. */
	assert_int_equal(store_sync_config(f->st, &f->cfg, &err), 0);
	assert_int_equal(store_source_get(f->st, "blog", &src, &err), 0);
	assert_string_equal(src.etag, "\"v1\"");
	assert_int_equal(src.next_poll, 9999);
	store_source_finish(&src);
	/* A new URL: they belong to the old one, and it is due now. */
	f->sources[0].url = "http://blog.example.org/new-feed";
	assert_int_equal(store_sync_config(f->st, &f->cfg, &err), 0);
	assert_int_equal(store_source_get(f->st, "blog", &src, &err), 0);
	assert_string_equal(src.url, "http://blog.example.org/new-feed");
	assert_null(src.etag);
	assert_null(src.last_modified);
	assert_int_equal(src.next_poll, 0);
	store_source_finish(&src);
}

static int fail_second(const struct store_delivery *d, void *arg)
{
	size_t *n = arg;

	return ++*n == 2 ? -EIO : 0;
}

static void test_unattempted_claims_go_back(void **state)
{
	struct fixture *f = *state;
	const char *const srcs[] = {"blog"};
	struct store_delivery_counts c;
	struct store_ingest_result res;
	struct store_digest sd;
	struct err err = {{0}};
	struct store_item_new a[1];
	size_t n = 0;

	store_subscriber_put(f->st, "news", "a@example.org", "active", 1, NULL,
			     &err);
	store_subscriber_put(f->st, "news", "b@example.org", "active", 1, NULL,
			     &err);
	store_subscriber_put(f->st, "news", "c@example.org", "active", 1, NULL,
			     &err);
	a[0] = item("a1", "http://x.org/1", NULL, 100);
	store_items_ingest(f->st, "blog", a, 1, 1000, &res, &err);
	store_digest_create(f->st, "news", srcs, 1, 0, 2000, 0, 2000, false,
			    &sd, &n, &err);
	n = 0;
	assert_int_equal(store_deliveries_claim(f->st, sd.id, 2000, 10,
						fail_second, &n, &err),
			 -EIO);
	/* Row 1 was handled, row 2 failed mid-way (it stays "sending"
	 * for recovery), row 3 was never tried: back to pending. */
	assert_int_equal(store_delivery_counts(f->st, sd.id, &c, &err), 0);
	assert_int_equal(c.sending, 2);
	assert_int_equal(c.pending, 1);
}

static void test_edited_item_updated_in_place(void **state)
{
	struct fixture *f = *state;
	struct store_ingest_result res;
	struct err err = {{0}};
	struct collected c = {0};
	struct store_item_new a[1];

	a[0] = item("a1", "http://x.org/1", NULL, 100);
	store_items_ingest(f->st, "blog", a, 1, 1000, &res, &err);
	store_items_ingest(f->st, "blog", a, 1, 1100, &res, &err);
	assert_int_equal(res.known, 1);
	assert_int_equal(res.updated, 0);
	a[0].title = "a1, corrected";
	assert_int_equal(
		store_items_ingest(f->st, "blog", a, 1, 1200, &res, &err), 0);
	assert_int_equal(res.added, 0);
	assert_int_equal(res.updated, 1);
	store_items_each(f->st, NULL, 0, 0, 0, 5000, collect, &c, &err);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.titles[0], "a1, corrected");
	/* Still first seen at 1000: a digest since then does not take
	 * it again. */
	c.n = 0;
	store_items_each(f->st, NULL, 0, 0, 1000, 5000, collect, &c, &err);
	assert_int_equal(c.n, 0);
}

static void sql(struct fixture *f, const char *q)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, q, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* Runs a one-value query q on another connection; expects want. */
static void sql_expect(struct fixture *f, const char *q, const char *want)
{
	sqlite3 *db;
	sqlite3_stmt *s;

	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, q, -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(s, 0), want);
	sqlite3_finalize(s);
	sqlite3_close(db);
}

/* Ingests a repost (source union) of the text of item id 1 or 3 (source
 * blog) and says which item the repost is a copy of. */
static int64_t repost_of(struct fixture *f, const char *guid, const char *text)
{
	struct store_ingest_result res;
	struct err err = {{0}};
	struct collected c = {0};
	struct store_item_new it = item(guid, NULL, NULL, 500);

	it.text = text;
	assert_int_equal(
		store_items_ingest(f->st, "union", &it, 1, 2000, &res, &err),
		0);
	assert_int_equal(res.added, 1);
	store_items_each(f->st, NULL, 0, 0, 0, 5000, collect, &c, &err);
	for (size_t i = 0; i < c.n; i++) {
		if (strcmp(c.titles[i], guid) == 0)
			return c.dup[i];
	}
	fail();
	return 0;
}

static void test_near_copy_of_item_without_kept_shingles(void **state)
{
	static const char *const texts[] = {
		"The employer has tabled a revised offer for every band. "
		"Members in bands two to four would see a flat rise backdated "
		"to April, while the higher bands get a smaller percentage.",
		"Colleagues report that every officer carries more than fifty "
		"cases and that vacant posts have not been filled for months, "
		"so the branch will raise workload at the next meeting.",
	};
	struct fixture *f = *state;
	struct store_ingest_result res;
	struct err err = {{0}};
	struct store_item_new a[2];
	char edited[512];

	a[0] = item("a", NULL, NULL, 100);
	a[0].text = texts[0];
	a[1] = item("b", NULL, NULL, 100);
	a[1].text = texts[1];
	assert_int_equal(
		store_items_ingest(f->st, "blog", a, 2, 1000, &res, &err), 0);
	assert_int_equal(res.added, 2);
	/* Item 1 as stored before schema 5 (no shingles kept), item 2
	 * with damaged ones: both are shingled from their text again. */
	sql(f, "DELETE FROM item_shingles WHERE item_id = 1;"
	       "UPDATE item_shingles SET shingles = x'01020304050607' "
	       "WHERE item_id = 2");
	snprintf(edited, sizeof(edited), "%s Thanks.", texts[0]);
	assert_int_equal(repost_of(f, "c", edited), 1);
	snprintf(edited, sizeof(edited), "%s Thanks.", texts[1]);
	assert_int_equal(repost_of(f, "d", edited), 2);
}

/* Takes the database back to before schema 8: no exact keys kept, the
 * exact lookups' indexes on the strings. */
static void downgrade_exact_keys(struct fixture *f)
{
	sql(f, "DROP TRIGGER items_keys_changed; DROP TABLE key_changes;"
	       "ALTER TABLE items DROP COLUMN guid_key;"
	       "ALTER TABLE items DROP COLUMN link_key;"
	       "ALTER TABLE items DROP COLUMN fp_key;"
	       "CREATE INDEX items_guid ON items(guid);"
	       "CREATE INDEX items_canon_link ON items(canon_link);"
	       "CREATE INDEX items_fingerprint ON items(fingerprint);");
}

/* What schemas 5 to 7 added, taken away. */
#define SCHEMA_5_TO_7                                                          \
	"DROP TABLE item_shingles; DROP TABLE daemon; "                        \
	"DROP TABLE daemon_log; ALTER TABLE deliveries DROP COLUMN "           \
	"interrupted;"

/* Closes the store, takes the database back to schema version (down
 * undoes what came after it, with downgrade_exact_keys for schema 8),
 * and opens it again: it must migrate to the current schema. */
static void reopen_from(struct fixture *f, const char *down, int version)
{
	struct err err = {{0}};
	char pragma[64];

	store_close(f->st);
	downgrade_exact_keys(f);
	sql(f, down);
	snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", version);
	sql(f, pragma);
	f->st = store_open(f->path, &err);
	assert_non_null(f->st);
	assert_int_equal(store_schema_version(f->st), STORE_SCHEMA_VERSION);
	assert_int_equal(store_sync_config(f->st, &f->cfg, &err), 0);
}

/* A database of schema 7 (exact duplicates looked up through indexes
 * of the strings) is migrated: every item gets its exact keys, the old
 * indexes go, and a copy of an old item by id, link or text is still
 * found, by a store that builds its key index from what is kept. */
static void test_schema_7_migrates_exact_keys(void **state)
{
	struct fixture *f = *state;
	struct store_ingest_result res;
	struct err err = {{0}};
	struct collected c = {0};
	struct store_item_new a[3], b[3];

	a[0] = item("tag:blog.example,2026:post-1", "http://x.org/1", "fp1",
		    100);
	a[1] = item("a2", "http://x.org/2", "fp2", 200);
	a[2] = item("a3", "http://x.org/3", "fp3", 300);
	assert_int_equal(
		store_items_ingest(f->st, "blog", a, 3, 1000, &res, &err), 0);
	reopen_from(f, "", 7);
	sql_expect(f,
		   "SELECT count(*) FROM items WHERE link_key IS NULL OR "
		   "fp_key IS NULL",
		   "0");
	/* Only the global id has an id key. */
	sql_expect(f,
		   "SELECT group_concat(title) FROM items WHERE guid_key "
		   "IS NOT NULL",
		   "tag:blog.example,2026:post-1");
	sql_expect(f,
		   "SELECT count(*) FROM sqlite_master WHERE name IN "
		   "('items_guid', 'items_canon_link', 'items_fingerprint')",
		   "0");
	b[0] = item("tag:blog.example,2026:post-1", "http://y.org/1", "fq1",
		    400);
	b[1] = item("b2", "http://x.org/2", "fq2", 500);
	b[2] = item("b3", "http://y.org/3", "fp3", 600);
	assert_int_equal(
		store_items_ingest(f->st, "union", b, 3, 1001, &res, &err), 0);
	assert_int_equal(res.added, 3);
	assert_int_equal(res.duplicates, 3);
	assert_int_equal(
		store_items_each(f->st, NULL, 0, 0, 0, 5000, collect, &c, &err),
		0);
	assert_int_equal(c.n, 6);
	/* Newest first: b3 repeats a3 (text), b2 a2 (link), b1 a1 (id). */
	assert_int_equal(c.dup[0], c.ids[3]);
	assert_int_equal(c.dup[1], c.ids[4]);
	assert_int_equal(c.dup[2], c.ids[5]);
	sql_expect(f,
		   "SELECT group_concat(dup_relation, ' ') FROM (SELECT "
		   "dup_relation FROM items WHERE duplicate_of IS NOT NULL "
		   "ORDER BY id)",
		   "id link text");
}

/* Many items share one link (a feed whose every item points at its home
 * page): a copy from another source repeats the first of them, as it
 * did when a SQL index answered, though the key index keeps only the
 * first holders of a key. */
static void test_exact_copy_of_a_much_shared_link(void **state)
{
	struct fixture *f = *state;
	struct store_ingest_result res;
	struct err err = {{0}};
	struct store_item_new a[40], b[1];
	char guids[40][16];

	for (int i = 0; i < 40; i++) {
		snprintf(guids[i], sizeof(guids[i]), "g%d", i);
		a[i] = item(guids[i], "http://x.org/", NULL, 100 + i);
	}
	assert_int_equal(
		store_items_ingest(f->st, "blog", a, 40, 1000, &res, &err), 0);
	assert_int_equal(res.added, 40);
	/* Within the source too: each repeats the first. */
	assert_int_equal(res.duplicates, 39);
	store_close(f->st);
	f->st = store_open(f->path, &err);
	assert_non_null(f->st);
	b[0] = item("u1", "http://x.org/", NULL, 500);
	assert_int_equal(
		store_items_ingest(f->st, "union", b, 1, 1001, &res, &err), 0);
	assert_int_equal(res.duplicates, 1);
	sql_expect(f, "SELECT dup_match FROM items WHERE guid = 'u1'", "1");
}

/* An item edited by another process (its link changed) is found by its
 * new link: the change reaches this process's key index. */
static void test_exact_keys_follow_other_process_edits(void **state)
{
	struct fixture *f = *state;
	struct store_ingest_result res;
	struct err err = {{0}};
	struct store_item_new a[2], b[1];
	struct store *other;

	a[0] = item("a1", "http://x.org/old", NULL, 100);
	a[1] = item("a2", "http://x.org/2", NULL, 100);
	assert_int_equal(
		store_items_ingest(f->st, "blog", a, 2, 1000, &res, &err), 0);
	other = store_open(f->path, &err);
	assert_non_null(other);
	a[0].link = a[0].canon_link = "http://x.org/new";
	assert_int_equal(
		store_items_ingest(other, "blog", a, 1, 1001, &res, &err), 0);
	assert_int_equal(res.updated, 1);
	store_close(other);
	b[0] = item("u1", "http://x.org/new", NULL, 500);
	assert_int_equal(
		store_items_ingest(f->st, "union", b, 1, 1002, &res, &err), 0);
	assert_int_equal(res.duplicates, 1);
	sql_expect(f,
		   "SELECT dup_relation || ' ' || dup_match FROM items "
		   "WHERE guid = 'u1'",
		   "link 1");
	/* and no longer by its old one */
	b[0] = item("u2", "http://x.org/old", NULL, 500);
	assert_int_equal(
		store_items_ingest(f->st, "union", b, 1, 1003, &res, &err), 0);
	assert_int_equal(res.duplicates, 0);
}

/* Items that once shared a link and were all edited away from it leave
 * the key free: a later item with that link is indexed under it, and a
 * copy of that item is found. */
static void test_exact_keys_freed_by_edits(void **state)
{
	struct fixture *f = *state;
	struct store_ingest_result res;
	struct err err = {{0}};
	struct store_item_new a[30], b[1];
	char guids[30][16], links[30][32];

	for (int i = 0; i < 30; i++) {
		snprintf(guids[i], sizeof(guids[i]), "g%d", i);
		a[i] = item(guids[i], "http://x.org/placeholder", NULL, 100);
	}
	assert_int_equal(
		store_items_ingest(f->st, "blog", a, 30, 1000, &res, &err), 0);
	for (int i = 0; i < 30; i++) {
		snprintf(links[i], sizeof(links[i]), "http://x.org/%d", i);
		a[i].link = a[i].canon_link = links[i];
	}
	assert_int_equal(
		store_items_ingest(f->st, "blog", a, 30, 1001, &res, &err), 0);
	assert_int_equal(res.updated, 30);
	b[0] = item("late", "http://x.org/placeholder", NULL, 200);
	assert_int_equal(
		store_items_ingest(f->st, "blog", b, 1, 1002, &res, &err), 0);
	assert_int_equal(res.duplicates, 0);
	b[0] = item("u1", "http://x.org/placeholder", NULL, 500);
	assert_int_equal(
		store_items_ingest(f->st, "union", b, 1, 1003, &res, &err), 0);
	assert_int_equal(res.duplicates, 1);
	sql_expect(f,
		   "SELECT dup_match = (SELECT id FROM items WHERE guid = "
		   "'late') FROM items WHERE guid = 'u1'",
		   "1");
}

/* The log of key changes keeps its last 10,000 entries, however often
 * an item changes; the item is still found by its latest link. */
static void test_key_changes_pruned(void **state)
{
	struct fixture *f = *state;
	struct store_ingest_result res;
	struct err err = {{0}};
	struct store_item_new a[1], b[1];
	char link[64];

	a[0] = item("a1", "http://x.org/0", NULL, 100);
	assert_int_equal(
		store_items_ingest(f->st, "blog", a, 1, 1000, &res, &err), 0);
	assert_int_equal(store_batch_begin(f->st, &err), 0);
	for (int i = 1; i <= 10050; i++) {
		snprintf(link, sizeof(link), "http://x.org/%d", i);
		a[0].link = a[0].canon_link = link;
		assert_int_equal(store_items_ingest(f->st, "blog", a, 1, 1000,
						    &res, &err),
				 0);
		assert_int_equal(res.updated, 1);
	}
	assert_int_equal(store_batch_commit(f->st, &err), 0);
	b[0] = item("u1", "http://x.org/10050", NULL, 500);
	assert_int_equal(
		store_items_ingest(f->st, "union", b, 1, 1001, &res, &err), 0);
	assert_int_equal(res.duplicates, 1);
	sql_expect(f, "SELECT count(*) || ' ' || min(id) FROM key_changes",
		   "10000 51");
}

/* A database of schema 4 (no kept shingles) is migrated, and its items
 * are still found as near copies. */
static void test_schema_4_migrates(void **state)
{
	static const char text[] =
		"The employer has tabled a revised offer for every band. "
		"Members in bands two to four would see a flat rise backdated "
		"to April, while the higher bands get a smaller percentage.";
	struct fixture *f = *state;
	struct store_ingest_result res;
	struct err err = {{0}};
	struct store_item_new it = item("a", NULL, NULL, 100);
	char edited[512];

	it.text = text;
	assert_int_equal(
		store_items_ingest(f->st, "blog", &it, 1, 1000, &res, &err), 0);
	reopen_from(f, SCHEMA_5_TO_7, 4);
	snprintf(edited, sizeof(edited), "%s Thanks.", text);
	assert_int_equal(repost_of(f, "b", edited), 1);
}

/* A database of schema 2 (no near-duplicate keys) is migrated: its
 * items get their keys, and are found as near copies. */
static void test_schema_2_migrates(void **state)
{
	static const char text[] =
		"Colleagues report that every officer carries more than fifty "
		"cases and that vacant posts have not been filled for months, "
		"so the branch will raise workload at the next meeting.";
	struct fixture *f = *state;
	struct store_ingest_result res;
	struct err err = {{0}};
	struct store_item_new it = item("a", NULL, NULL, 100);
	char edited[512];

	it.text = text;
	assert_int_equal(
		store_items_ingest(f->st, "blog", &it, 1, 1000, &res, &err), 0);
	reopen_from(f,
		    SCHEMA_5_TO_7
		    "DROP TABLE notices; DROP TABLE sub_events;"
		    "ALTER TABLE subscribers DROP COLUMN via;"
		    "ALTER TABLE subscribers DROP COLUMN awaiting;"
		    "ALTER TABLE subscribers DROP COLUMN requested;"
		    "ALTER TABLE subscribers DROP COLUMN confirm_issued;"
		    "ALTER TABLE subscribers DROP COLUMN confirmed;"
		    "ALTER TABLE subscribers DROP COLUMN left_at;"
		    "DROP INDEX items_guid; DROP INDEX items_duplicate_of;"
		    "ALTER TABLE items DROP COLUMN dup_relation;"
		    "ALTER TABLE items DROP COLUMN dup_score;"
		    "ALTER TABLE items DROP COLUMN dup_match;"
		    "ALTER TABLE items DROP COLUMN near_keys;"
		    "ALTER TABLE sources DROP COLUMN priority;",
		    2);
	sql_expect(f, "SELECT count(*) FROM items WHERE near_keys IS NOT NULL",
		   "1");
	snprintf(edited, sizeof(edited), "%s Thanks.", text);
	assert_int_equal(repost_of(f, "b", edited), 1);
}

static void test_ingest_unknown_source_changes_nothing(void **state)
{
	struct fixture *f = *state;
	struct store_ingest_result res;
	struct err err = {{0}};
	struct collected c = {0};
	struct store_item_new a[1];

	a[0] = item("z", "http://z.org/", NULL, 1);
	assert_int_equal(
		store_items_ingest(f->st, "nope", a, 1, 10, &res, &err),
		-ENOENT);
	assert_non_null(strstr(err.msg, "nope"));
	store_items_each(f->st, NULL, 0, 0, 0, 5000, collect, &c, &err);
	assert_int_equal(c.n, 0);
}

static int count_deliveries(const struct store_delivery *d, void *arg)
{
	size_t *n = arg;

	(*n)++;
	return 0;
}

static void test_digest_once_per_slot(void **state)
{
	struct fixture *f = *state;
	const char *const srcs[] = {"blog", "union"};
	struct store_ingest_result res;
	struct store_digest sd;
	struct err err = {{0}};
	struct store_item_new a[1];
	struct store_digest_mark mark;
	size_t n = 0;

	assert_int_equal(store_subscriber_put(f->st, "news", "a@example.org",
					      "active", 1, NULL, &err),
			 0);
	assert_int_equal(store_subscriber_put(f->st, "news", "b@example.org",
					      "pending", 1, NULL, &err),
			 0);
	a[0] = item("a1", "http://x.org/1", NULL, 100);
	assert_int_equal(
		store_items_ingest(f->st, "blog", a, 1, 1000, &res, &err), 0);

	assert_int_equal(store_digest_create(f->st, "news", srcs, 2, 0, 2000,
					     1500, 2000, false, &sd, &n, &err),
			 0);
	assert_int_equal(sd.items, 1);
	assert_int_equal(sd.period_end, 2000);
	assert_int_equal(n, 1); /* only the active subscriber */
	assert_int_equal(store_digest_create(f->st, "news", srcs, 2, 2000, 3000,
					     1500, 3000, false, &sd, &n, &err),
			 -EEXIST);
	assert_int_equal(store_digest_last(f->st, "news", &mark, &err), 0);
	assert_int_equal(mark.period_end, 2000);
	assert_int_equal(mark.slot, 1500);
	assert_int_equal(mark.last_item, 1);

	/* Nothing new: recorded, but nobody gets an empty digest. */
	n = 99;
	assert_int_equal(store_digest_create(f->st, "news", srcs, 2, 2000, 3000,
					     2500, 3000, false, &sd, &n, &err),
			 0);
	assert_int_equal(sd.items, 0);
	assert_int_equal(n, 0);
}

static void test_delivery_state_machine(void **state)
{
	struct fixture *f = *state;
	const char *const srcs[] = {"blog"};
	struct store_delivery_counts c;
	struct store_ingest_result res;
	struct store_digest sd;
	struct err err = {{0}};
	struct store_item_new a[1];
	size_t n = 0, recovered = 0;

	store_subscriber_put(f->st, "news", "a@example.org", "active", 1, NULL,
			     &err);
	store_subscriber_put(f->st, "news", "b@example.org", "active", 1, NULL,
			     &err);
	store_subscriber_put(f->st, "news", "c@example.org", "active", 1, NULL,
			     &err);
	a[0] = item("a1", "http://x.org/1", NULL, 100);
	store_items_ingest(f->st, "blog", a, 1, 1000, &res, &err);
	assert_int_equal(store_digest_create(f->st, "news", srcs, 1, 0, 2000, 0,
					     2000, false, &sd, &n, &err),
			 0);
	assert_int_equal(n, 3);

	/* Claim two: they are "sending"; a crash leaves them so. */
	n = 0;
	assert_int_equal(store_deliveries_claim(f->st, sd.id, 2000, 2,
						count_deliveries, &n, &err),
			 0);
	assert_int_equal(n, 2);
	assert_int_equal(store_delivery_counts(f->st, sd.id, &c, &err), 0);
	assert_int_equal(c.sending, 2);
	assert_int_equal(c.pending, 1);
	assert_int_equal(store_deliveries_recover(f->st, 3, &recovered, NULL,
						  NULL, &err),
			 0);
	assert_int_equal(recovered, 2);

	/* Unsubscribing cancels b's pending row at once. */
	assert_int_equal(store_subscriber_set_state(f->st, "news",
						    "b@example.org",
						    "unsubscribed", 5, &err),
			 0);
	/* c as usual; a, in flight at the stop, only as a suspect. */
	n = 0;
	assert_int_equal(store_deliveries_claim(f->st, sd.id, 2000, 10,
						count_deliveries, &n, &err),
			 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_deliveries_claim_suspect(f->st, sd.id, 2000,
							count_deliveries, &n,
							&err),
			 0);
	assert_int_equal(n, 2);
	assert_int_equal(store_delivery_counts(f->st, sd.id, &c, &err), 0);
	assert_int_equal(c.failed, 1);
	assert_int_equal(c.sending, 2);
	assert_int_equal(store_subscriber_set_state(f->st, "news",
						    "nobody@example.org",
						    "unsubscribed", 5, &err),
			 -ENOENT);
	assert_non_null(strstr(err.msg, "nobody@example.org"));
}

struct quarantined {
	size_t n;
	char address[64];
};

static int on_quarantined(const struct store_delivery *d, void *arg)
{
	struct quarantined *q = arg;

	q->n++;
	snprintf(q->address, sizeof(q->address), "%s", d->address);
	return 0;
}

static int claimed_address(const struct store_delivery *d, void *arg)
{
	snprintf(arg, 64, "%s", d->address);
	return 0;
}

/* A crash while sending (RELIABILITY G8): the rows in flight become
 * suspects, claimed one at a time apart from the rest; one in flight at
 * three stops in a row is quarantined as failed, with the reason; a try
 * that ends clears the count. */
static void test_poison_quarantined(void **state)
{
	struct fixture *f = *state;
	const char *const srcs[] = {"blog"};
	struct store_ingest_result res;
	struct store_digest sd;
	struct err err = {{0}};
	struct store_item_new a[1];
	struct store_delivery_counts c;
	struct quarantined q = {0};
	char who[64];
	size_t n = 0, back = 0;

	store_subscriber_put(f->st, "news", "a@example.org", "active", 1, NULL,
			     &err);
	store_subscriber_put(f->st, "news", "b@example.org", "active", 1, NULL,
			     &err);
	a[0] = item("a1", "http://x.org/1", NULL, 100);
	store_items_ingest(f->st, "blog", a, 1, 1000, &res, &err);
	assert_int_equal(store_digest_create(f->st, "news", srcs, 1, 0, 2000, 0,
					     2000, false, &sd, &n, &err),
			 0);
	n = 0;
	assert_int_equal(store_deliveries_claim(f->st, sd.id, 2000, 10,
						count_deliveries, &n, &err),
			 0);
	assert_int_equal(n, 2);

	/* Stop 1: both in flight, both back as suspects. */
	assert_int_equal(store_deliveries_recover(f->st, 3, &back,
						  on_quarantined, &q, &err),
			 0);
	assert_int_equal(back, 2);
	assert_int_equal(q.n, 0);
	n = 0;
	assert_int_equal(store_deliveries_claim(f->st, sd.id, 2000, 10,
						count_deliveries, &n, &err),
			 0);
	assert_int_equal(n, 0);

	/* Stops 2 and 3: a alone in flight each time. */
	for (int stop = 2; stop <= 3; stop++) {
		who[0] = '\0';
		assert_int_equal(
			store_deliveries_claim_suspect(
				f->st, sd.id, 2000, claimed_address, who, &err),
			0);
		assert_string_equal(who, "a@example.org");
		assert_int_equal(store_deliveries_recover(f->st, 3, &back,
							  on_quarantined, &q,
							  &err),
				 0);
		assert_int_equal(back, stop == 3 ? 0 : 1);
	}
	assert_int_equal(q.n, 1);
	assert_string_equal(q.address, "a@example.org");
	assert_int_equal(store_delivery_counts(f->st, sd.id, &c, &err), 0);
	assert_int_equal(c.failed, 1);
	assert_int_equal(c.pending, 1);
	sql_expect(f,
		   "SELECT count(*) FROM deliveries WHERE state = 'failed' "
		   "AND last_error LIKE 'quarantined: bulletin stopped without "
		   "finishing 3 times in a row while sending it%'",
		   "1");

	/* b, in flight at stop 1 only: a try that ends (deferred) clears
	 * it, and it is an ordinary row again. */
	who[0] = '\0';
	assert_int_equal(store_deliveries_claim_suspect(f->st, sd.id, 2000,
							claimed_address, who,
							&err),
			 0);
	assert_string_equal(who, "b@example.org");
	assert_int_equal(
		store_delivery_failed(f->st, 2, false, 2000, "450", &err), 0);
	n = 0;
	assert_int_equal(store_deliveries_claim_suspect(f->st, sd.id, 2000,
							count_deliveries, &n,
							&err),
			 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_deliveries_claim(f->st, sd.id, 2000, 10,
						count_deliveries, &n, &err),
			 0);
	assert_int_equal(n, 1);
}

static void test_retry_waits_for_next_try(void **state)
{
	struct fixture *f = *state;
	const char *const srcs[] = {"blog"};
	struct store_ingest_result res;
	struct store_digest sd;
	struct err err = {{0}};
	struct store_item_new a[1];
	struct store_delivery_counts c;
	size_t n = 0;
	int64_t id;

	store_subscriber_put(f->st, "news", "a@example.org", "active", 1, &id,
			     &err);
	a[0] = item("a1", "http://x.org/1", NULL, 100);
	store_items_ingest(f->st, "blog", a, 1, 1000, &res, &err);
	store_digest_create(f->st, "news", srcs, 1, 0, 2000, 0, 2000, false,
			    &sd, &n, &err);
	n = 0;
	store_deliveries_claim(f->st, 0, 2000, 10, count_deliveries, &n, &err);
	assert_int_equal(n, 1);
	/* The only row is sending; fail it temporarily until 2300. */
	assert_int_equal(store_delivery_failed(f->st, 1, false, 2300,
					       "421 try later", &err),
			 0);
	n = 0;
	store_deliveries_claim(f->st, 0, 2299, 10, count_deliveries, &n, &err);
	assert_int_equal(n, 0);
	store_deliveries_claim(f->st, 0, 2300, 10, count_deliveries, &n, &err);
	assert_int_equal(n, 1);
	assert_int_equal(store_delivery_sent(f->st, 1, 2301, &err), 0);
	store_delivery_counts(f->st, sd.id, &c, &err);
	assert_int_equal(c.sent, 1);
}

static void test_locked_database_is_named(void **state)
{
	struct fixture *f = *state;
	struct err err = {{0}};
	sqlite3 *other;
	int ret;

	/* Another process holds the write lock for longer than the busy
	 * timeout would wait: the error names the file and says what to
	 * do, and nothing is changed. Shorten the wait for the test. */
	assert_int_equal(sqlite3_open(f->path, &other), SQLITE_OK);
	assert_int_equal(
		sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL),
		SQLITE_OK);
	ret = store_subscriber_put(f->st, "news", "a@example.org", "active", 1,
				   NULL, &err);
	assert_int_equal(ret, -EBUSY);
	assert_non_null(strstr(err.msg, f->path));
	assert_non_null(strstr(err.msg, "locked"));
	sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(other);
	assert_int_equal(store_subscriber_put(f->st, "news", "a@example.org",
					      "active", 1, NULL, &err),
			 0);
}

static int collect_log(const struct store_daemon_log *l, void *arg)
{
	int64_t *at = arg;

	/* Newest first: each line older than the one before. */
	if (*at)
		assert_true(l->at < *at);
	*at = l->at;
	assert_string_equal(l->level, "error");
	return 0;
}

/* The heartbeat row and log (bulletinctl status), and the storage
 * fault that GET /healthz reports: set by a write the lock refused,
 * kept across a read-only transaction, cleared by a write. */
static void test_daemon_state_and_fault(void **state)
{
	struct fixture *f = *state;
	struct store_daemon d = {7, 100, 200, "9.9", "127.0.0.1:1"}, got;
	struct store_daemon_log lines[STORE_DAEMON_LOG_KEEP + 20];
	char msgs[STORE_DAEMON_LOG_KEEP + 20][16];
	struct err err = {{0}};
	struct store_fault fault;
	int64_t at = 0;
	sqlite3 *other;

	assert_int_equal(store_daemon_get(f->st, &got, &err), -ENOENT);
	for (size_t i = 0; i < STORE_DAEMON_LOG_KEEP + 20; i++) {
		snprintf(msgs[i], sizeof(msgs[i]), "line %zu", i);
		lines[i] = (struct store_daemon_log){(int64_t)i + 1, "error",
						     msgs[i]};
	}
	assert_int_equal(store_daemon_beat(f->st, &d, lines, 3, &err), 0);
	d.beat = 300;
	assert_int_equal(store_daemon_beat(f->st, &d, lines + 3,
					   STORE_DAEMON_LOG_KEEP + 17, &err),
			 0);
	assert_int_equal(store_daemon_get(f->st, &got, &err), 0);
	assert_int_equal(got.pid, 7);
	assert_int_equal(got.started, 100);
	assert_int_equal(got.beat, 300);
	assert_string_equal(got.version, "9.9");
	assert_string_equal(got.http, "127.0.0.1:1");
	assert_int_equal(
		store_daemon_log_each(f->st, 1000, collect_log, &at, &err), 0);
	/* Only the newest STORE_DAEMON_LOG_KEEP are kept. */
	assert_int_equal(at, 21);

	assert_false(store_last_fault(f->st, &fault));
	assert_int_equal(sqlite3_open(f->path, &other), SQLITE_OK);
	assert_int_equal(
		sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL),
		SQLITE_OK);
	assert_int_equal(store_daemon_beat(f->st, &d, NULL, 0, &err), -EBUSY);
	assert_true(store_last_fault(f->st, &fault));
	assert_true(fault.at > 0);
	assert_true(fault.current);
	assert_int_equal(fault.code, -EBUSY);
	assert_non_null(strstr(fault.msg, "locked"));
	sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(other);
	/* Reading proves nothing about writing. */
	assert_int_equal(store_daemon_get(f->st, &got, &err), 0);
	assert_true(store_last_fault(f->st, &fault) && fault.current);
	assert_int_equal(store_daemon_beat(f->st, &d, NULL, 0, &err), 0);
	/* Remembered, but over. */
	assert_true(store_last_fault(f->st, &fault));
	assert_false(fault.current);
}

static void test_sent_check_uses_an_index(void **state)
{
	struct fixture *f = *state;
	sqlite3_stmt *s;
	sqlite3 *db;
	char plan[512] = "";
	size_t n = 0;

	/* Asked once per stored duplicate: it must not scan every item of
	 * every digest ever sent. */
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
					    "EXPLAIN QUERY PLAN SELECT EXISTS "
					    "(SELECT 1 FROM digest_items "
					    "WHERE item_id = ?1)",
					    -1, &s, NULL),
			 SQLITE_OK);
	while (sqlite3_step(s) == SQLITE_ROW && n < sizeof(plan) - 100)
		n += (size_t)snprintf(plan + n, sizeof(plan) - n, "%s\n",
				      sqlite3_column_text(s, 3));
	sqlite3_finalize(s);
	sqlite3_close(db);
	assert_non_null(strstr(plan, "digest_items_item"));
	assert_null(strstr(plan, "SCAN digest_items"));
}

static void test_data_survives_reopen(void **state)
{
	struct fixture *f = *state;
	struct store_subscriber sub;
	struct err err = {{0}};

	store_subscriber_put(f->st, "news", "a@example.org", "active", 7, NULL,
			     &err);
	store_close(f->st);
	f->st = store_open(f->path, &err);
	assert_non_null(f->st);
	assert_int_equal(store_subscriber_get(f->st, "news", "a@example.org",
					      &sub, &err),
			 0);
	assert_string_equal(sub.state, "active");
	assert_int_equal(sub.created, 7);
}

static int count_commands(const struct store_command *c, void *arg)
{
	size_t *n = arg;

	assert_string_equal(c->list, "news");
	assert_string_equal(c->command, "subscribe");
	assert_string_equal(c->address, "ann@example.org");
	assert_null(c->token);
	assert_false(c->reply);
	assert_string_equal(c->state, "pending");
	(*n)++;
	return 0;
}

static void test_inbound_once(void **state)
{
	struct fixture *f = *state;
	struct store_ingest_result res;
	struct err err = {{0}};
	struct collected c = {0};
	struct store_item_new it[2];
	struct store_inbound in = {
		.key = "<b1@union.example.org>",
		.via = "imap",
		.folder = "Briefings",
		.uidvalidity = 7,
		.uid = 3,
		.sender = "briefings@union.example.org",
		.subject = "Pay",
		.outcome = "briefing",
		.detail = "union",
	};
	struct store_command_new cmd = {
		.list = "news",
		.command = "subscribe",
		.address = "ann@example.org",
		.reply = false,
	};
	size_t n = 0;

	it[0] = item("<b1@union.example.org>#1", NULL, "fa", 100);
	it[1] = item("<b1@union.example.org>#2", NULL, "fb", 100);
	assert_int_equal(
		store_inbound_known(f->st, in.key, "Briefings", 7, 3, &err), 0);
	assert_int_equal(store_inbound_record(f->st, &in, "union", it, 2, NULL,
					      1000, &res, &err),
			 0);
	assert_int_equal(res.added, 2);
	/* Known by key, and by folder and UID alone. */
	assert_int_equal(store_inbound_known(f->st, in.key, NULL, 0, 0, &err),
			 1);
	assert_int_equal(
		store_inbound_known(f->st, NULL, "Briefings", 7, 3, &err), 1);
	assert_int_equal(
		store_inbound_known(f->st, NULL, "Briefings", 8, 3, &err), 0);

	/* The same message by the pipe: nothing made again. */
	in.via = "pipe";
	in.folder = NULL;
	assert_int_equal(store_inbound_record(f->st, &in, "union", it, 2, NULL,
					      1001, &res, &err),
			 1);
	assert_int_equal(res.added, 0);
	assert_int_equal(
		store_items_each(f->st, NULL, 0, 0, 0, 5000, collect, &c, &err),
		0);
	assert_int_equal(c.n, 2);

	/* A copy in another folder: remembered there too, nothing made. */
	in.via = "imap";
	in.folder = "INBOX";
	in.uid = 40;
	assert_int_equal(store_inbound_record(f->st, &in, "union", it, 2, NULL,
					      1002, &res, &err),
			 1);
	assert_int_equal(store_inbound_known(f->st, NULL, "INBOX", 7, 40, &err),
			 1);

	/* Ignored messages claim no key; a command is recorded once. */
	in.key = NULL;
	in.uid = 41;
	in.outcome = "ignored";
	in.detail = "not for us";
	assert_int_equal(store_inbound_record(f->st, &in, NULL, NULL, 0, NULL,
					      1003, NULL, &err),
			 0);
	assert_int_equal(store_inbound_known(f->st, NULL, "INBOX", 7, 41, &err),
			 2);
	in.key = "<c1@example.org>";
	in.uid = 42;
	in.outcome = "command";
	assert_int_equal(store_inbound_record(f->st, &in, NULL, NULL, 0, &cmd,
					      1004, NULL, &err),
			 0);
	in.uid = 43;
	assert_int_equal(store_inbound_record(f->st, &in, NULL, NULL, 0, &cmd,
					      1005, NULL, &err),
			 1);
	assert_int_equal(
		store_commands_each(f->st, "pending", count_commands, &n, &err),
		0);
	assert_int_equal(n, 1);

	/* A command for a list that is gone changes nothing. */
	cmd.list = "gone";
	in.key = "<c2@example.org>";
	in.uid = 44;
	assert_int_equal(store_inbound_record(f->st, &in, NULL, NULL, 0, &cmd,
					      1006, NULL, &err),
			 -ENOENT);
	assert_int_equal(
		store_inbound_known(f->st, in.key, "INBOX", 7, 44, &err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_schema_is_current, setup,
						teardown),
		cmocka_unit_test(test_open_bad_directory_names_file),
		cmocka_unit_test_setup_teardown(test_newer_schema_refused,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_ingest_dedupes_exact,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_original_published_earlier_is_kept, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_edited_item_updated_in_place, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_near_copy_of_item_without_kept_shingles, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_schema_7_migrates_exact_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_exact_copy_of_a_much_shared_link, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_exact_keys_follow_other_process_edits, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_exact_keys_freed_by_edits,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_changes_pruned, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_schema_2_migrates, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_schema_4_migrates, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_ingest_unknown_source_changes_nothing, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_digest_once_per_slot,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_no_item_falls_between_digests, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_sent_story_is_not_taken_over, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_url_change_forgets_validators, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_batch_commits_together_or_not_at_all, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_checkpoints_off_the_writer,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_unattempted_claims_go_back,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_delivery_state_machine,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_poison_quarantined, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_retry_waits_for_next_try,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_locked_database_is_named,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_sent_check_uses_an_index,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_daemon_state_and_fault,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_inbound_once, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_data_survives_reopen,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
