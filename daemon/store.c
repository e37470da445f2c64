/*
 * store: SQLite in WAL mode. Every statement lives in stmt_sql[] below,
 * indexed by enum stmt and prepared once in store_open(); step() binds,
 * steps and always resets. Migrations run forward from PRAGMA
 * user_version, each in BEGIN IMMEDIATE..COMMIT. Errors are translated
 * here into messages naming the database and what to do. Duplicates are
 * decided here, inside the ingest transaction, so that a batch sees its
 * own items. Both kinds are found through one keyindex in memory
 * (loaded at the first ingest and caught up at each batch) of keys kept
 * with each item: exact keys (hashes of a global id, the canonical link,
 * the text's fingerprint), each holder read and compared; near ones
 * (neardup's band keys and marks) verified by neardup on the
 * candidates' kept shingle sets (item_shingles) and kept by
 * dedupe_keep_new. No SQLite index is written at random per item, so
 * the cost per new item stays flat as the store grows, and is bounded:
 * at most EXACT__COUNT + NEARDUP_BANDS + NEARDUP_MAX_MARKS keys,
 * KEY_MAX_HOLDERS ids per key, NEAR_CANDIDATES comparisons of at most
 * NEARDUP_MAX_WORDS shingles. (Items past id 2^32 are not indexed.)
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>
#include <sqlite3.h>

#include "dedupe.h"
#include "keyindex.h"
#include "neardup.h"
#include "store.h"

enum stmt {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_SOURCE_UPSERT,
	ST_LIST_UPSERT,
	ST_THEME_UPSERT,
	ST_SOURCE_GET,
	ST_SOURCES_ALL,
	ST_SOURCE_RECORD,
	ST_SOURCE_ID,
	ST_ITEM_UPDATE,
	ST_ITEM_INSERT,
	ST_ITEM_EXACT,
	ST_ITEM_COPY,
	ST_ITEM_SET_DUP,
	ST_ITEM_REPOINT,
	ST_KEY_INSERT,
	ST_KEY_LOOKUP,
	ST_KEY_CHANGES,
	ST_KEY_CHANGES_TOP,
	ST_KEY_CHANGES_PRUNE,
	ST_SHINGLES_PUT,
	ST_SHINGLES_GET,
	ST_ITEM_TEXT,
	ST_SOURCE_SET_PRIORITY,
	ST_ITEM_GET,
	ST_ITEM_COPIES,
	ST_SOURCE_COUNT_ITEMS,
	ST_ITEMS_RANGE,
	ST_DIGEST_ITEMS,
	ST_LIST_ID,
	ST_SUB_PUT,
	ST_SUB_SET_STATE,
	ST_SUB_CANCEL_DELIVERIES,
	ST_SUB_GET,
	ST_SUBS_ALL,
	ST_DIGEST_LAST_END,
	ST_DIGEST_INSERT,
	ST_DIGEST_ADD_ITEM,
	ST_DIGEST_ADD_DELIVERIES,
	ST_DIGEST_COUNT_ITEMS,
	ST_DIGEST_GET,
	ST_DELIVERIES_CLAIM,
	ST_SUB_BY_ID,
	ST_SUB_HARD_FAILURE,
	ST_DELIVERY_SENT,
	ST_DELIVERY_UNCLAIM,
	ST_DELIVERY_FAILED,
	ST_DELIVERIES_RECOVER,
	ST_DELIVERY_OF,
	ST_DELIVERY_BOUNCED,
	ST_DELIVERY_COUNTS,
	ST_DIGESTS_LIST,
	ST_INBOUND_BY_KEY,
	ST_INBOUND_BY_UID,
	ST_INBOUND_INSERT,
	ST_IMAP_SEEN_INSERT,
	ST_COMMAND_INSERT,
	ST_INBOUND_LAST,
	ST_COMMANDS,
	ST__COUNT,
};

/* A key held by this many items already (a phrase every post of a feed
 * carries) tells nothing more: it is not indexed again. */
#define KEY_MAX_HOLDERS 24

/* Changes of items' keys kept in key_changes for other processes. */
#define KEY_CHANGES_KEEP 10000

#define ITEM_COLUMNS                                                           \
	"i.id, s.name, i.guid, i.title, i.link, i.author, i.text, i.theme, "   \
	"i.published, i.first_seen, i.duplicate_of, i.dup_relation, "          \
	"i.dup_score, i.dup_match, i.canon_link"

static const char *const stmt_sql[ST__COUNT] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_SOURCE_UPSERT] =
		"INSERT INTO sources(name, url) VALUES (?1, ?2) "
		"ON CONFLICT(name) DO UPDATE SET url = excluded.url, "
		/* What was learnt about the old URL goes with it. */
		"etag = NULL, last_modified = NULL, next_poll = 0, "
		"failures = 0, moved_url = NULL, disabled = NULL "
		"WHERE url IS NOT excluded.url",
	[ST_LIST_UPSERT] = "INSERT INTO lists(name, title) VALUES (?1, ?2) "
			   "ON CONFLICT(name) DO UPDATE SET title = "
			   "excluded.title",
	[ST_THEME_UPSERT] = "INSERT INTO themes(name, title) VALUES (?1, ?2) "
			    "ON CONFLICT(name) DO UPDATE SET title = "
			    "excluded.title",
	[ST_SOURCE_GET] =
		"SELECT id, name, url, etag, last_modified, last_error, "
		"last_fetch, last_success, next_poll, last_status, failures, "
		"(SELECT count(*) FROM items WHERE source_id = sources.id), "
		"moved_url, disabled "
		"FROM sources WHERE name = ?1",
	[ST_SOURCES_ALL] =
		"SELECT id, name, url, etag, last_modified, last_error, "
		"last_fetch, last_success, next_poll, last_status, failures, "
		"(SELECT count(*) FROM items WHERE source_id = sources.id), "
		"moved_url, disabled "
		"FROM sources ORDER BY name",
	[ST_SOURCE_RECORD] =
		"UPDATE sources SET last_fetch = ?2, "
		"last_success = CASE WHEN ?3 THEN ?2 ELSE last_success END, "
		"last_status = ?4, last_error = ?5, "
		"etag = CASE WHEN ?3 AND ?6 IS NOT NULL THEN ?6 ELSE etag END, "
		"last_modified = CASE WHEN ?3 AND ?7 IS NOT NULL THEN ?7 "
		"ELSE last_modified END, "
		"next_poll = ?8, "
		"failures = CASE WHEN ?3 THEN 0 ELSE failures + 1 END, "
		"moved_url = coalesce(?9, moved_url), "
		"disabled = CASE WHEN ?10 IS NOT NULL THEN ?10 "
		"WHEN ?3 THEN NULL ELSE disabled END "
		"WHERE name = ?1",
	[ST_SOURCE_ID] = "SELECT id, priority FROM sources WHERE name = ?1",
	[ST_ITEM_UPDATE] =
		/* An item edited at its source is updated in place: same
		 * row, same first-seen time, so it is not sent again. */
	"UPDATE items SET link = ?3, canon_link = ?4, title = ?5, "
	"author = ?6, text = ?7, theme = ?8, fingerprint = ?9, "
	"link_key = ?14, fp_key = ?15 "
	"WHERE source_id = ?1 AND guid = ?2 AND (title IS NOT ?5 OR "
	"link IS NOT ?3 OR author IS NOT ?6 OR text IS NOT ?7) RETURNING id",
	[ST_ITEM_INSERT] =
		"INSERT INTO items(source_id, guid, link, canon_link, title, "
		"author, text, theme, fingerprint, published, first_seen, "
		"near_keys, guid_key, link_key, fp_key) "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
		"?13, ?14, ?15) "
		"ON CONFLICT(source_id, guid) DO NOTHING",
	/* An exact key's holder, to compare with (exact_match). */
	[ST_ITEM_EXACT] = "SELECT source_id, guid, canon_link, fingerprint "
			  "FROM items WHERE id = ?1",
	/* What the keep rule and the near comparison need of a copy. */
	[ST_ITEM_COPY] =
		"SELECT coalesce(i.duplicate_of, 0), i.published, s.priority, "
		"EXISTS (SELECT 1 FROM digest_items WHERE item_id = i.id), "
		/* The text only when its shingles are not kept (items
		 * stored before schema 5): CASE reads it only then. */
		"CASE WHEN n.shingles IS NULL THEN i.title END, "
		"CASE WHEN n.shingles IS NULL THEN i.text END, n.shingles "
		"FROM items i JOIN sources s ON s.id = i.source_id "
		"LEFT JOIN item_shingles n ON n.item_id = i.id WHERE i.id = ?1",
	[ST_ITEM_SET_DUP] = "UPDATE items SET duplicate_of = ?2, "
			    "dup_relation = ?3, dup_score = ?4, dup_match = ?5 "
			    "WHERE id = ?1",
	/* A new kept item takes over the copies of the old one. */
	[ST_ITEM_REPOINT] = "UPDATE items SET duplicate_of = ?2 "
			    "WHERE duplicate_of = ?1",
	[ST_KEY_INSERT] = "UPDATE items SET near_keys = ?2 WHERE id = ?1",
	/* What the in-memory index has not seen yet: by rowid, no scan
	 * of what it has. */
	[ST_KEY_LOOKUP] = "SELECT id, near_keys, guid_key, link_key, fp_key "
			  "FROM items WHERE id > ?1 ORDER BY id",
	/* Items whose keys changed since (by any process): their old exact
	 * keys and their keys now. */
	[ST_KEY_CHANGES] =
		"SELECT c.id, c.item_id, c.old_guid_key, c.old_link_key, "
		"c.old_fp_key, i.near_keys, i.guid_key, i.link_key, i.fp_key "
		"FROM key_changes c JOIN items i ON i.id = c.item_id "
		"WHERE c.id > ?1 ORDER BY c.id",
	[ST_KEY_CHANGES_TOP] = "SELECT coalesce(max(id), 0) FROM key_changes",
	[ST_KEY_CHANGES_PRUNE] = "DELETE FROM key_changes WHERE id <= ?1",
	[ST_ITEM_TEXT] = "SELECT title, text FROM items WHERE id = ?1",
	[ST_SHINGLES_PUT] = "INSERT OR REPLACE INTO item_shingles(item_id, "
			    "shingles) VALUES (?1, ?2)",
	/* A candidate's kept shingles alone: most candidates are turned
	 * away on them, without reading their item. */
	[ST_SHINGLES_GET] = "SELECT shingles FROM item_shingles WHERE "
			    "item_id = ?1",
	[ST_SOURCE_SET_PRIORITY] =
		"UPDATE sources SET priority = ?2 WHERE name = ?1 "
		"AND priority != ?2",
	[ST_ITEM_GET] = "SELECT " ITEM_COLUMNS " FROM items i "
			"JOIN sources s ON s.id = i.source_id WHERE i.id = ?1",
	[ST_ITEM_COPIES] = "SELECT " ITEM_COLUMNS " FROM items i "
			   "JOIN sources s ON s.id = i.source_id "
			   "WHERE i.duplicate_of = ?1 ORDER BY i.id",
	[ST_SOURCE_COUNT_ITEMS] =
		"SELECT count(*) FROM items WHERE source_id = ?1",
	[ST_ITEMS_RANGE] =
		"SELECT " ITEM_COLUMNS " FROM items i "
		"JOIN sources s ON s.id = i.source_id "
		"WHERE i.first_seen > ?1 AND i.first_seen <= ?2 AND i.id > ?4 "
		"AND (?3 IS NULL OR s.name IN (SELECT value FROM "
		"json_each(?3))) ORDER BY i.published DESC, i.id DESC",
	[ST_DIGEST_ITEMS] = "SELECT " ITEM_COLUMNS " FROM digest_items d "
			    "JOIN items i ON i.id = d.item_id "
			    "JOIN sources s ON s.id = i.source_id "
			    "WHERE d.digest_id = ?1 "
			    "ORDER BY i.published DESC, i.id DESC",
	[ST_LIST_ID] = "SELECT id FROM lists WHERE name = ?1",
	[ST_SUB_PUT] =
		"INSERT INTO subscribers(list_id, address, state, created, "
		"updated) VALUES (?1, ?2, ?3, ?4, ?4) "
		"ON CONFLICT(list_id, address) DO UPDATE SET "
		"state = excluded.state, updated = excluded.updated "
		"RETURNING id",
	[ST_SUB_SET_STATE] = "UPDATE subscribers SET state = ?3, updated = ?4 "
			     "WHERE list_id = ?1 AND address = ?2 "
			     "RETURNING id",
	[ST_SUB_CANCEL_DELIVERIES] =
		"UPDATE deliveries SET state = 'failed', "
		"last_error = 'unsubscribed' "
		"WHERE subscriber_id = ?1 AND state = 'pending'",
	[ST_SUB_GET] = "SELECT s.id, l.name, s.address, s.state, s.created, "
		       "s.updated FROM subscribers s "
		       "JOIN lists l ON l.id = s.list_id "
		       "WHERE l.name = ?1 AND s.address = ?2",
	[ST_SUBS_ALL] = "SELECT s.id, l.name, s.address, s.state, s.created, "
			"s.updated FROM subscribers s "
			"JOIN lists l ON l.id = s.list_id "
			"WHERE l.name = ?1 ORDER BY s.address",
	[ST_DIGEST_LAST_END] =
		"SELECT coalesce(max(d.period_end), 0), "
		"coalesce(max(d.slot), 0), coalesce(max(d.last_item), 0) "
		"FROM digests d JOIN lists l ON l.id = d.list_id "
		"WHERE l.name = ?1",
	[ST_DIGEST_INSERT] =
		"INSERT INTO digests(list_id, period_start, period_end, "
		"created, items, slot, last_item) VALUES (?1, ?2, ?3, ?4, 0, "
		"?5, (SELECT coalesce(max(id), 0) FROM items)) "
		"ON CONFLICT(list_id, slot) DO NOTHING RETURNING id",
	[ST_DIGEST_ADD_ITEM] =
		"INSERT INTO digest_items(digest_id, item_id) "
		"SELECT ?1, i.id FROM items i "
		"JOIN sources s ON s.id = i.source_id WHERE i.id > ?2 "
		"AND i.id <= (SELECT last_item FROM digests WHERE id = ?1) "
		"AND (?3 IS NULL OR s.name IN (SELECT value FROM "
		"json_each(?3)))",
	[ST_DIGEST_ADD_DELIVERIES] =
		"INSERT INTO deliveries(digest_id, subscriber_id, state, "
		"attempts, next_try) SELECT ?1, id, 'pending', 0, 0 "
		"FROM subscribers WHERE list_id = ?2 AND state = 'active' "
		"AND (?3 OR (SELECT items FROM digests WHERE id = ?1) > 0)",
	[ST_DIGEST_COUNT_ITEMS] =
		"UPDATE digests SET items = (SELECT count(*) FROM digest_items "
		"d JOIN items i ON i.id = d.item_id WHERE d.digest_id = ?1 "
		"AND i.duplicate_of IS NULL) WHERE id = ?1 RETURNING items",
	[ST_DIGESTS_LIST] =
		"SELECT d.id, l.name, d.period_start, d.period_end, "
		"d.created, d.items, coalesce(sum(x.state = 'pending'), 0), "
		"coalesce(sum(x.state = 'sending'), 0), "
		"coalesce(sum(x.state = 'sent'), 0), "
		"coalesce(sum(x.state = 'failed'), 0) FROM digests d "
		"JOIN lists l ON l.id = d.list_id "
		"LEFT JOIN deliveries x ON x.digest_id = d.id "
		"WHERE ?1 IS NULL OR l.name = ?1 GROUP BY d.id ORDER BY d.id",
	[ST_DIGEST_GET] = "SELECT d.id, l.name, d.period_start, d.period_end, "
			  "d.created, d.items FROM digests d "
			  "JOIN lists l ON l.id = d.list_id WHERE d.id = ?1",
	/* In the order of deliveries_state (state, next_try, rowid), so
	 * that the LIMIT stops the walk: ORDER BY id alone sorted every
	 * pending row at each claim, quadratic in the subscribers. */
	[ST_DELIVERIES_CLAIM] =
		"UPDATE deliveries SET state = 'sending', "
		"attempts = attempts + 1 WHERE id IN (SELECT id FROM "
		"deliveries WHERE state = 'pending' AND next_try <= ?2 "
		"AND (?1 = 0 OR digest_id = ?1) AND (interrupted > 0) = ?4 "
		"ORDER BY next_try, id LIMIT ?3) "
		"RETURNING id, digest_id, subscriber_id, attempts",
	[ST_SUB_BY_ID] = "SELECT l.name, s.address, s.state, "
			 "(SELECT created FROM digests WHERE id = ?2) "
			 "FROM subscribers s "
			 "JOIN lists l ON l.id = s.list_id WHERE s.id = ?1",
	/* Suspended when its last ?2 deliveries all failed. */
	[ST_SUB_HARD_FAILURE] =
		"UPDATE subscribers SET state = 'suspended', updated = ?3 "
		"WHERE id = ?1 AND state = 'active' AND ?2 <= (SELECT "
		"count(*) FROM (SELECT state FROM deliveries WHERE "
		"subscriber_id = ?1 ORDER BY id DESC LIMIT ?2) WHERE "
		"state = 'failed')",
	[ST_DELIVERY_SENT] =
		"UPDATE deliveries SET state = 'sent', sent_at = ?2, "
		"last_error = NULL, interrupted = 0 WHERE id = ?1",
	[ST_DELIVERY_UNCLAIM] =
		"UPDATE deliveries SET state = 'pending', "
		"attempts = attempts - 1 WHERE id = ?1 AND state = 'sending'",
	/* A try that ended (?5 = 0: it counts) clears the stops it was
	 * in flight at: those were not its doing. */
	[ST_DELIVERY_FAILED] =
		"UPDATE deliveries SET state = CASE WHEN ?2 THEN 'failed' "
		"ELSE 'pending' END, next_try = ?3, last_error = ?4, "
		"attempts = attempts - ?5, "
		"interrupted = CASE WHEN ?5 THEN interrupted ELSE 0 END "
		"WHERE id = ?1",
	/* Rows in flight at an unclean stop: each counts it, and one at
	 * its ?1-th stop in a row fails, quarantined (RELIABILITY G8). */
	[ST_DELIVERIES_RECOVER] =
		"UPDATE deliveries SET interrupted = interrupted + 1, "
		"state = CASE WHEN interrupted + 1 >= ?1 THEN 'failed' "
		"ELSE 'pending' END, last_error = CASE WHEN interrupted + 1 "
		">= ?1 THEN ?2 ELSE last_error END WHERE state = 'sending' "
		"RETURNING id, digest_id, subscriber_id, attempts, state",
	[ST_DELIVERY_OF] = "SELECT d.state, d.subscriber_id, s.address, l.name "
			   "FROM deliveries d JOIN subscribers s ON "
			   "s.id = d.subscriber_id JOIN lists l ON "
			   "l.id = s.list_id WHERE d.id = ?1",
	/* Only a delivery the server took can bounce. */
	[ST_DELIVERY_BOUNCED] =
		"UPDATE deliveries SET state = CASE WHEN ?2 THEN 'failed' "
		"ELSE state END, last_error = ?3 WHERE id = ?1 AND "
		"state = 'sent'",
	[ST_DELIVERY_COUNTS] = "SELECT coalesce(sum(state = 'pending'), 0), "
			       "coalesce(sum(state = 'sending'), 0), "
			       "coalesce(sum(state = 'sent'), 0), "
			       "coalesce(sum(state = 'failed'), 0) "
			       "FROM deliveries WHERE digest_id = ?1",
	[ST_INBOUND_BY_KEY] = "SELECT id FROM inbound WHERE key = ?1",
	[ST_INBOUND_BY_UID] =
		"SELECT s.inbound_id, i.outcome IN ('ignored', 'quarantined') "
		"FROM imap_seen s JOIN inbound i ON i.id = s.inbound_id "
		"WHERE s.folder = ?1 AND s.uidvalidity = ?2 AND s.uid = ?3",
	[ST_INBOUND_INSERT] =
		"INSERT INTO inbound(key, via, received, sender, subject, "
		"outcome, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
		"RETURNING id",
	[ST_IMAP_SEEN_INSERT] =
		"INSERT OR IGNORE INTO imap_seen(folder, uidvalidity, uid, "
		"inbound_id) VALUES (?1, ?2, ?3, ?4)",
	[ST_COMMAND_INSERT] =
		"INSERT INTO commands(list_id, command, address, token, reply, "
		"created, inbound_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[ST_INBOUND_LAST] =
		"SELECT i.id, i.received, i.key, i.via, "
		"(SELECT folder FROM imap_seen WHERE inbound_id = i.id LIMIT "
		"1), "
		"i.sender, i.subject, i.outcome, i.detail FROM inbound i "
		"ORDER BY i.id DESC LIMIT ?1",
	[ST_COMMANDS] = "SELECT c.id, l.name, c.command, c.address, c.token, "
			"c.state, c.reply, c.created FROM commands c "
			"JOIN lists l ON l.id = c.list_id "
			"WHERE ?1 IS NULL OR c.state = ?1 ORDER BY c.id",
};

/* Schema steps: migrations[v] takes the database from version v to v+1. */
static const char *const migrations[] = {
	/* 0 -> 1 */
	"CREATE TABLE sources ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  url TEXT,"
	"  etag TEXT,"
	"  last_modified TEXT,"
	"  last_fetch INTEGER NOT NULL DEFAULT 0,"
	"  last_success INTEGER NOT NULL DEFAULT 0,"
	"  last_status INTEGER NOT NULL DEFAULT 0,"
	"  last_error TEXT,"
	"  next_poll INTEGER NOT NULL DEFAULT 0,"
	"  failures INTEGER NOT NULL DEFAULT 0,"
	"  moved_url TEXT,"
	"  disabled TEXT);"
	"CREATE TABLE items ("
	"  id INTEGER PRIMARY KEY,"
	"  source_id INTEGER NOT NULL REFERENCES sources(id),"
	"  guid TEXT NOT NULL,"
	"  link TEXT,"
	"  canon_link TEXT,"
	"  title TEXT,"
	"  author TEXT,"
	"  text TEXT,"
	"  theme TEXT NOT NULL DEFAULT 'other',"
	"  fingerprint TEXT,"
	"  published INTEGER NOT NULL,"
	"  first_seen INTEGER NOT NULL,"
	"  duplicate_of INTEGER REFERENCES items(id),"
	"  UNIQUE (source_id, guid));"
	"CREATE INDEX items_canon_link ON items(canon_link);"
	"CREATE INDEX items_fingerprint ON items(fingerprint);"
	"CREATE INDEX items_first_seen ON items(first_seen);"
	"CREATE TABLE lists ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  title TEXT);"
	"CREATE TABLE themes ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  title TEXT);"
	"CREATE TABLE subscribers ("
	"  id INTEGER PRIMARY KEY,"
	"  list_id INTEGER NOT NULL REFERENCES lists(id),"
	"  address TEXT NOT NULL,"
	"  state TEXT NOT NULL CHECK (state IN"
	"    ('pending', 'active', 'suspended', 'unsubscribed')),"
	"  created INTEGER NOT NULL,"
	"  updated INTEGER NOT NULL,"
	"  UNIQUE (list_id, address));"
	"CREATE TABLE digests ("
	"  id INTEGER PRIMARY KEY,"
	"  list_id INTEGER NOT NULL REFERENCES lists(id),"
	"  period_start INTEGER NOT NULL,"
	"  period_end INTEGER NOT NULL,"
	"  created INTEGER NOT NULL,"
	"  items INTEGER NOT NULL DEFAULT 0,"
	"  slot INTEGER,"
	"  last_item INTEGER NOT NULL DEFAULT 0,"
	"  UNIQUE (list_id, slot));"
	"CREATE TABLE digest_items ("
	"  digest_id INTEGER NOT NULL REFERENCES digests(id),"
	"  item_id INTEGER NOT NULL REFERENCES items(id),"
	"  PRIMARY KEY (digest_id, item_id));"
	/* "Has this item gone out?" is asked per stored duplicate. */
	"CREATE INDEX digest_items_item ON digest_items(item_id);"
	"CREATE TABLE deliveries ("
	"  id INTEGER PRIMARY KEY,"
	"  digest_id INTEGER NOT NULL REFERENCES digests(id),"
	"  subscriber_id INTEGER NOT NULL REFERENCES subscribers(id),"
	"  state TEXT NOT NULL CHECK (state IN"
	"    ('pending', 'sending', 'sent', 'failed')),"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  next_try INTEGER NOT NULL DEFAULT 0,"
	"  last_error TEXT,"
	"  sent_at INTEGER,"
	"  UNIQUE (digest_id, subscriber_id));"
	"CREATE INDEX deliveries_state ON deliveries(state, next_try);",
	/* 1 -> 2: the mail intake. A message is acted on once: its key
	 * (Message-ID) is unique, and IMAP UIDs already looked at are
	 * remembered so that they are not fetched again. */
	"CREATE TABLE inbound ("
	"  id INTEGER PRIMARY KEY,"
	"  key TEXT UNIQUE,"
	"  via TEXT NOT NULL CHECK (via IN ('imap', 'pipe')),"
	"  received INTEGER NOT NULL,"
	"  sender TEXT,"
	"  subject TEXT,"
	"  outcome TEXT NOT NULL CHECK (outcome IN"
	"    ('briefing', 'command', 'ignored', 'quarantined')),"
	"  detail TEXT);"
	"CREATE TABLE imap_seen ("
	"  folder TEXT NOT NULL,"
	"  uidvalidity INTEGER NOT NULL,"
	"  uid INTEGER NOT NULL,"
	"  inbound_id INTEGER NOT NULL REFERENCES inbound(id),"
	"  PRIMARY KEY (folder, uidvalidity, uid)) WITHOUT ROWID;"
	"CREATE INDEX imap_seen_inbound ON imap_seen(inbound_id);"
	"CREATE TABLE commands ("
	"  id INTEGER PRIMARY KEY,"
	"  list_id INTEGER NOT NULL REFERENCES lists(id),"
	"  command TEXT NOT NULL CHECK (command IN"
	"    ('subscribe', 'unsubscribe', 'confirm', 'help')),"
	"  address TEXT NOT NULL,"
	"  token TEXT,"
	"  reply INTEGER NOT NULL,"
	"  state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN"
	"    ('pending', 'done', 'failed')),"
	"  created INTEGER NOT NULL,"
	"  inbound_id INTEGER NOT NULL REFERENCES inbound(id));"
	"CREATE INDEX commands_state ON commands(state);",
	/* 2 -> 3: near duplicates and why. Sources get their priority (the
	 * keep rule reads it); a duplicate records how it matched (dedupe
	 * relation name), the number that decided and the item it was
	 * compared with (its duplicate_of may since have moved on to a
	 * newer kept item). near_keys holds an item's neardup keys (native
	 * int64s), from which each process builds its in-memory index:
	 * an index table in SQLite, keyed at random, would rewrite most of
	 * itself at every commit. migrate_near_keys() fills them for older
	 * items. Older duplicates matched by link or by text. */
	"ALTER TABLE sources ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE items ADD COLUMN dup_relation TEXT;"
	"ALTER TABLE items ADD COLUMN dup_score REAL;"
	"ALTER TABLE items ADD COLUMN dup_match INTEGER;"
	"ALTER TABLE items ADD COLUMN near_keys BLOB;"
	"CREATE INDEX items_guid ON items(guid);"
	"CREATE INDEX items_duplicate_of ON items(duplicate_of);"
	"UPDATE items SET dup_match = duplicate_of, dup_score = 1,"
	"  dup_relation = CASE WHEN canon_link IS NOT NULL AND canon_link ="
	"    (SELECT k.canon_link FROM items k WHERE k.id = items.duplicate_of)"
	"    THEN 'link' ELSE 'text' END "
	"  WHERE duplicate_of IS NOT NULL;",
	/* 3 -> 4: subscribing and leaving. A subscriber remembers how and
	 * when they asked, which confirmation token is out (its issued
	 * time: a repeated request reuses it), when they confirmed and
	 * left. notices are single outgoing replies (confirmation, welcome,
	 * goodbye, help), built once and delivered like digests; counting
	 * them per address is the bombing limit. sub_events is what
	 * bulletinctl subscribers show prints, absorbed requests included. */
	"ALTER TABLE subscribers ADD COLUMN via TEXT;"
	"ALTER TABLE subscribers ADD COLUMN awaiting TEXT;"
	"ALTER TABLE subscribers ADD COLUMN requested INTEGER;"
	"ALTER TABLE subscribers ADD COLUMN confirm_issued INTEGER;"
	"ALTER TABLE subscribers ADD COLUMN confirmed INTEGER;"
	"ALTER TABLE subscribers ADD COLUMN left_at INTEGER;"
	"CREATE TABLE notices ("
	"  id INTEGER PRIMARY KEY,"
	"  list_id INTEGER NOT NULL REFERENCES lists(id),"
	"  address TEXT NOT NULL,"
	"  kind TEXT NOT NULL,"
	"  message TEXT NOT NULL,"
	"  state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN"
	"    ('pending', 'sending', 'sent', 'failed')),"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  next_try INTEGER NOT NULL DEFAULT 0,"
	"  last_error TEXT,"
	"  created INTEGER NOT NULL,"
	"  sent_at INTEGER);"
	"CREATE INDEX notices_state ON notices(state, next_try);"
	"CREATE INDEX notices_address ON notices(address COLLATE NOCASE, "
	"created);"
	"CREATE INDEX notices_kind ON notices(kind, created);"
	"CREATE TABLE sub_events ("
	"  id INTEGER PRIMARY KEY,"
	"  list_id INTEGER NOT NULL REFERENCES lists(id),"
	"  address TEXT NOT NULL,"
	"  at INTEGER NOT NULL,"
	"  via TEXT NOT NULL,"
	"  what TEXT NOT NULL,"
	"  outcome TEXT NOT NULL);"
	"CREATE INDEX sub_events_address ON sub_events(list_id, address "
	"COLLATE NOCASE);",
	/* 4 -> 5: the shingle set of each indexed item (neardup's packed
	 * form), so that a candidate is compared without shingling its
	 * text again. Apart from items so that scans of items do not
	 * page through them. Older items have none and are shingled when
	 * compared. */
	"CREATE TABLE item_shingles ("
	"  item_id INTEGER PRIMARY KEY REFERENCES items(id),"
	"  shingles BLOB NOT NULL);",
	/* 5 -> 6: what the running daemon says about itself, for
	 * bulletinctl status: one row written at every heartbeat (which
	 * is also the probe that the database takes writes), and the
	 * last warnings and errors it logged. */
	"CREATE TABLE daemon ("
	"  id INTEGER PRIMARY KEY CHECK (id = 1),"
	"  pid INTEGER NOT NULL,"
	"  started INTEGER NOT NULL,"
	"  beat INTEGER NOT NULL,"
	"  version TEXT NOT NULL,"
	"  http TEXT);"
	"CREATE TABLE daemon_log ("
	"  id INTEGER PRIMARY KEY,"
	"  at INTEGER NOT NULL,"
	"  level TEXT NOT NULL,"
	"  message TEXT NOT NULL);",
	/* 6 -> 7: how many unclean stops in a row (a crash, kill -9) each
	 * delivery was in flight at, so that one that crashes the process
	 * is sent alone and, at the third, quarantined (RELIABILITY G8). */
	"ALTER TABLE deliveries ADD COLUMN interrupted INTEGER NOT NULL "
	"DEFAULT 0;",
	/* 7 -> 8: exact duplicates (same global id, same canonical link,
	 * same text) are found through the in-memory key index, like
	 * near ones, under 64-bit hashes of those strings (exact_key)
	 * kept with each item, instead of through three SQLite indexes
	 * of the strings: with every new item those took random writes
	 * across indexes that outgrew the page cache, which made each
	 * item dearer as the store grew. migrate_exact_keys fills the
	 * hashes in. */
	"ALTER TABLE items ADD COLUMN guid_key INTEGER;"
	"ALTER TABLE items ADD COLUMN link_key INTEGER;"
	"ALTER TABLE items ADD COLUMN fp_key INTEGER;"
	"DROP INDEX IF EXISTS items_guid;"
	"DROP INDEX IF EXISTS items_canon_link;"
	"DROP INDEX IF EXISTS items_fingerprint;"
	/* An item whose keys change (an edit at its source) leaves its
	 * old exact keys here, written by a trigger (made once the keys
	 * are filled in), so that every process's index drops them and
	 * takes the new ones (index_sync). */
	"CREATE TABLE key_changes ("
	"  id INTEGER PRIMARY KEY,"
	"  item_id INTEGER NOT NULL,"
	"  old_guid_key INTEGER,"
	"  old_link_key INTEGER,"
	"  old_fp_key INTEGER);",
};

/* Checkpoints (copying the WAL back into the database, with two fsyncs)
 * run on a thread of their own with its own connection, started when
 * the WAL first reaches CKPT_FRAMES pages and woken after each commit
 * that leaves it at least that long, so that a writer never waits for
 * them; were it ever CKPT_FRAMES_MAX pages long (the thread cannot
 * start, or falls behind), the writer checkpoints itself, as SQLite's
 * autocheckpoint would. */
#define CKPT_FRAMES 4096
#define CKPT_FRAMES_MAX (8 * CKPT_FRAMES)

struct ckpt {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	bool started; /* the thread runs: join it at close */
	bool broken;  /* it could not start or open the database */
	bool wanted;  /* a checkpoint is asked for */
	bool stop;
};

struct store {
	sqlite3 *db;
	char *path;
	sqlite3_stmt *stmt[ST__COUNT];
	bool in_tx;
	bool in_batch; /* store_batch_begin's transaction is open */
	struct neardup_params near; /* thresholds for near duplicates */
	struct keyindex *keys;	    /* owned; NULL until first needed */
	int64_t keys_upto;	    /* highest item id read into it */
	int64_t changes_upto;	    /* highest key_changes id read into it */
	/* Copies behind the strings of the last *_get result: valid until
	 * the next call of the same function. */
	char *held_list, *held_address, *held_state, *held_digest_list;
	char *held_daemon[2];
	struct subs *subs; /* schema 4 statements, prepared on first use */
	struct ckpt ckpt;
	/* The last storage fault (disk full, read-only, I/O error, lock
	 * held elsewhere, damage), until a later commit succeeds. */
	int64_t fault_at;   /* 0: none yet */
	bool fault_current; /* no write went through since */
	int fault_code; /* a negative errno: -EBUSY, -ENOSPC, -EROFS, -EIO */
	char fault[ERR_MSG_MAX];
	sqlite3_int64 tx_changes; /* total changes when the tx began */
};

static void *ckpt_main(void *arg)
{
	struct store *st = arg;
	struct ckpt *c = &st->ckpt;
	sqlite3 *db = NULL;
	int rc;

	rc = sqlite3_open_v2(st->path, &db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	/* A connection finds the database in WAL mode at its first read;
	 * until then a checkpoint does nothing. */
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "SELECT 1 FROM sqlite_schema LIMIT 1",
				  NULL, NULL, NULL);
	pthread_mutex_lock(&c->lock);
	if (rc != SQLITE_OK) {
		/* The writer checkpoints itself from now on. */
		log_warnx("database %s: cannot open it for checkpoints (%s); "
			  "they are made while writing instead",
			  st->path, db ? sqlite3_errmsg(db) : "out of memory");
		c->broken = true;
	}
	while (!c->stop && !c->broken) {
		if (!c->wanted) {
			pthread_cond_wait(&c->wake, &c->lock);
			continue;
		}
		c->wanted = false;
		pthread_mutex_unlock(&c->lock);
		/* PASSIVE: never waits for the writer or readers; what it
		 * cannot copy now, the next one does. */
		rc = sqlite3_wal_checkpoint_v2(
			db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		if (rc != SQLITE_OK && rc != SQLITE_BUSY)
			log_debug("database %s: checkpoint: %s", st->path,
				  sqlite3_errmsg(db));
		pthread_mutex_lock(&c->lock);
	}
	pthread_mutex_unlock(&c->lock);
	sqlite3_close(db);
	return NULL;
}

/* After each commit: wakes (or starts) the checkpoint thread once the
 * WAL is long enough, and checkpoints here when there is none or the
 * WAL has grown far past it. */
static int on_wal(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct store *st = arg;
	struct ckpt *c = &st->ckpt;
	bool inline_ckpt = frames >= CKPT_FRAMES_MAX;

	if (frames < CKPT_FRAMES)
		return SQLITE_OK;
	pthread_mutex_lock(&c->lock);
	if (!c->started && !c->broken) {
		if (pthread_create(&c->thread, NULL, ckpt_main, st) == 0)
			c->started = true;
		else
			c->broken = true;
	}
	if (c->broken)
		inline_ckpt = true;
	c->wanted = true;
	pthread_cond_signal(&c->wake);
	pthread_mutex_unlock(&c->lock);
	if (inline_ckpt)
		sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE,
					  NULL, NULL);
	return SQLITE_OK;
}

static void ckpt_stop(struct store *st)
{
	struct ckpt *c = &st->ckpt;

	pthread_mutex_lock(&c->lock);
	c->stop = true;
	pthread_cond_signal(&c->wake);
	pthread_mutex_unlock(&c->lock);
	if (c->started)
		pthread_join(c->thread, NULL);
	c->started = false;
}

/* Translates the connection's last error into an admin-facing message
 * and a negative errno. */
static int fail_message(struct store *st, struct err *err, const char *what,
			int code, int sys, const char *msg);

static int store_fail(struct store *st, struct err *err, const char *what)
{
	int code = sqlite3_extended_errcode(st->db);
	int sys = sqlite3_system_errno(st->db);
	const char *msg = sqlite3_errmsg(st->db);
	struct err own;
	int ret;

	if (!err)
		err = &own;
	/* A full disk shows up as SQLITE_FULL, or as an I/O error whose
	 * system errno says so (growing the WAL index, say). */
	if ((code & 0xff) == SQLITE_IOERR && (sys == ENOSPC || sys == EDQUOT))
		code = SQLITE_FULL;
	ret = fail_message(st, err, what, code, sys, msg);
	if (ret != -EINVAL) {
		st->fault_at = (int64_t)time(NULL);
		st->fault_current = true;
		st->fault_code = ret;
		snprintf(st->fault, sizeof(st->fault), "%s", err->msg);
	} else
		ret = -EIO;
	return ret;
}

/* Fills err for a SQLite error code; -EINVAL for one that is not a
 * storage fault (a constraint, a bad statement). */
static int fail_message(struct store *st, struct err *err, const char *what,
			int code, int sys, const char *msg)
{
	switch (code & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		err_set(err,
			"database %s is locked by another process (waited "
			"%d s) while %s; nothing was changed: try again, or "
			"stop whatever holds the lock",
			st->path, STORE_BUSY_TIMEOUT_MS / 1000, what);
		return -EBUSY;
	case SQLITE_FULL:
		err_set(err,
			"database %s: disk full while %s; nothing was changed: "
			"free some space and try again",
			st->path, what);
		return -ENOSPC;
	case SQLITE_READONLY:
		err_set(err,
			"database %s is read-only while %s; check the file's "
			"and its directory's permissions",
			st->path, what);
		return -EROFS;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		err_set(err,
			"database %s is damaged or not a bulletin database "
			"(%s) while %s; restore it from a backup",
			st->path, msg, what);
		return -EIO;
	case SQLITE_IOERR:
		err_set(err,
			"database %s: %s (%s) while %s; check the disk and "
			"the file's permissions",
			st->path, msg, sys ? strerror(sys) : "no system error",
			what);
		return -EIO;
	default:
		err_set(err, "database %s: %s while %s", st->path, msg, what);
		return -EINVAL;
	}
}

static void unbind(sqlite3_stmt *s)
{
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, i);
}

static void bind_int(sqlite3_stmt *s, int i, int64_t v)
{
	sqlite3_bind_int64(s, i, v);
}

/* Binds a list of names as a JSON array (for json_each), or NULL. */
static int bind_names(sqlite3_stmt *s, int i, const char *const *names,
		      size_t n)
{
	size_t len = 3, k, j;
	char *json, *p;

	if (n == 0) {
		sqlite3_bind_null(s, i);
		return 0;
	}
	for (k = 0; k < n; k++)
		len += 2 * strlen(names[k]) + 3;
	json = malloc(len);
	if (!json)
		return -ENOMEM;
	p = json;
	*p++ = '[';
	for (k = 0; k < n; k++) {
		if (k)
			*p++ = ',';
		*p++ = '"';
		for (j = 0; names[k][j]; j++) {
			if (names[k][j] == '"' || names[k][j] == '\\')
				*p++ = '\\';
			*p++ = names[k][j];
		}
		*p++ = '"';
	}
	*p++ = ']';
	*p = '\0';
	sqlite3_bind_text(s, i, json, -1, free);
	return 0;
}

static const char *col_text(sqlite3_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(s, i);
}

/* The strings an item is an exact copy by, each hashed under a key of
 * its own so that a link and an id that happen to be the same string
 * are different keys. */
enum exact {
	EXACT_ID,   /* a global guid (dedupe_id_is_global) */
	EXACT_LINK, /* the canonical link */
	EXACT_TEXT, /* the fingerprint of the normalised text */
	EXACT__COUNT
};

/* The key of s as an exact key of kind: SipHash-2-4 under a fixed key,
 * the same in every process and version, since it is stored. */
static int64_t exact_key(enum exact kind, const char *s)
{
	static const unsigned char
		keys[EXACT__COUNT][crypto_shorthash_KEYBYTES] = {
			{'b', 'u', 'l', 'l', 'e', 't', 'i', 'n', ' ', 'e', 'x',
			 'a', 'c', 't', ' ', 'i'},
			{'b', 'u', 'l', 'l', 'e', 't', 'i', 'n', ' ', 'e', 'x',
			 'a', 'c', 't', ' ', 'l'},
			{'b', 'u', 'l', 'l', 'e', 't', 'i', 'n', ' ', 'e', 'x',
			 'a', 'c', 't', ' ', 't'},
		};
	unsigned char h[crypto_shorthash_BYTES];
	int64_t v;

	crypto_shorthash(h, (const unsigned char *)s, strlen(s), keys[kind]);
	memcpy(&v, h, sizeof(v));
	return v;
}

/* The string of kind an item is exact-matched by: its guid only when
 * that names the story wherever it appears. NULL for none. */
static const char *exact_text(enum exact kind, const char *guid,
			      const char *canon_link, const char *fingerprint)
{
	switch (kind) {
	case EXACT_ID:
		return guid && dedupe_id_is_global(guid) ? guid : NULL;
	case EXACT_LINK:
		return canon_link;
	default:
		return fingerprint;
	}
}

/* Binds the key of text as parameter i, or NULL for no text. */
static void bind_key(sqlite3_stmt *s, int i, enum exact kind, const char *text)
{
	if (text)
		sqlite3_bind_int64(s, i, exact_key(kind, text));
	else
		sqlite3_bind_null(s, i);
}

static char *col_dup(sqlite3_stmt *s, int i)
{
	const char *t = col_text(s, i);

	return t ? strdup(t) : NULL;
}

/* Steps s for a walk: true with a row to read; false at the end, or on
 * an error, which *ret then holds (err says what, naming what). */
static bool next_row(struct store *st, sqlite3_stmt *s, int *ret,
		     struct err *err, const char *what)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW)
		return true;
	if (rc != SQLITE_DONE)
		*ret = store_fail(st, err, what);
	return false;
}

/* Runs a statement that returns no rows (or whose rows are ignored). */
static int exec_stmt(struct store *st, enum stmt k, struct err *err,
		     const char *what)
{
	sqlite3_stmt *s = st->stmt[k];
	int rc, ret = 0;

	do {
		rc = sqlite3_step(s);
	} while (rc == SQLITE_ROW);
	if (rc != SQLITE_DONE)
		ret = store_fail(st, err, what);
	unbind(s);
	return ret;
}

static int tx_begin(struct store *st, struct err *err)
{
	int ret = exec_stmt(st, ST_BEGIN, err, "starting a transaction");

	if (!ret)
		st->in_tx = true;
	st->tx_changes = sqlite3_total_changes64(st->db);
	return ret;
}

/* After a rollback the in-memory key index may hold items that were
 * never stored: it is dropped, and the next ingest builds it again. */
static void index_drop(struct store *st)
{
	keyindex_destroy(st->keys);
	st->keys = NULL;
	st->keys_upto = 0;
}

static int tx_commit(struct store *st, struct err *err)
{
	int ret = exec_stmt(st, ST_COMMIT, err, "committing");

	if (ret) {
		/* A failed COMMIT (disk full) leaves the transaction open:
		 * roll it back so that nothing half-written stays. */
		exec_stmt(st, ST_ROLLBACK, NULL, "rolling back");
		index_drop(st);
	} else if (sqlite3_total_changes64(st->db) > st->tx_changes)
		st->fault_current = false; /* a write went through */
	st->in_tx = false;
	return ret;
}

static void tx_rollback(struct store *st)
{
	if (st->in_tx) {
		exec_stmt(st, ST_ROLLBACK, NULL, "rolling back");
		index_drop(st);
	}
	st->in_tx = false;
}

static int exec_sql(struct store *st, const char *sql, struct err *err,
		    const char *what)
{
	if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return store_fail(st, err, what);
	return 0;
}

/* What a migration does to one stored item: all is the row read (its
 * columns as the migration selected them), set the update to step. 0,
 * or an error (err set). */
typedef int migrate_row_fn(struct store *st, sqlite3_stmt *all,
			   sqlite3_stmt *set, struct err *err);

/* Runs row on every stored item, inside the migration's transaction:
 * select reads them, update is prepared as set. */
static int migrate_items(struct store *st, const char *select,
			 const char *update, migrate_row_fn *row,
			 struct err *err)
{
	sqlite3_stmt *all = NULL, *set = NULL;
	int rc = SQLITE_DONE, ret = 0;

	if (sqlite3_prepare_v2(st->db, select, -1, &all, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(st->db, update, -1, &set, NULL) != SQLITE_OK) {
		ret = store_fail(st, err, "indexing stored items");
		goto out;
	}
	while (!ret && (rc = sqlite3_step(all)) == SQLITE_ROW) {
		ret = row(st, all, set, err);
		sqlite3_reset(set);
	}
	if (!ret && rc != SQLITE_DONE)
		ret = store_fail(st, err, "indexing stored items");
out:
	sqlite3_finalize(all);
	sqlite3_finalize(set);
	return ret;
}

/* Schema 2 -> 3: the near-duplicate keys of an item (id, title, text). */
static int migrate_near_keys(struct store *st, sqlite3_stmt *all,
			     sqlite3_stmt *set, struct err *err)
{
	struct neardup_doc *doc;
	const int64_t *keys;
	size_t n;
	int ret = 0;

	if (neardup_doc_create(col_text(all, 1), col_text(all, 2), &doc)) {
		err_set(err, "out of memory indexing stored items");
		return -ENOMEM;
	}
	n = neardup_doc_keys(doc, &keys);
	if (n > 0 && neardup_doc_comparable(doc, &st->near)) {
		sqlite3_bind_int64(set, 1, sqlite3_column_int64(all, 0));
		sqlite3_bind_blob(set, 2, keys, (int)(n * sizeof(*keys)),
				  SQLITE_TRANSIENT);
		if (sqlite3_step(set) != SQLITE_DONE)
			ret = store_fail(st, err, "indexing stored items");
	}
	neardup_doc_destroy(doc);
	return ret;
}

/* Schema 7 -> 8: the exact keys of an item (id, guid, canonical link,
 * fingerprint). */
static int migrate_exact_keys(struct store *st, sqlite3_stmt *all,
			      sqlite3_stmt *set, struct err *err)
{
	sqlite3_bind_int64(set, 1, sqlite3_column_int64(all, 0));
	for (int k = 0; k < EXACT__COUNT; k++)
		bind_key(set, k + 2, (enum exact)k,
			 exact_text((enum exact)k, col_text(all, 1),
				    col_text(all, 2), col_text(all, 3)));
	if (sqlite3_step(set) != SQLITE_DONE)
		return store_fail(st, err, "indexing stored items");
	return 0;
}

static int migrate(struct store *st, struct err *err)
{
	sqlite3_stmt *s = NULL;
	int version = 0, ret;
	size_t v;
	char pragma[64];

	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) !=
		    SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_ROW) {
		ret = store_fail(st, err, "reading the schema version");
		sqlite3_finalize(s);
		return ret;
	}
	version = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	if (version > STORE_SCHEMA_VERSION) {
		err_set(err,
			"database %s has schema version %d, newer than this "
			"bulletin understands (%d): run a newer bulletin, or "
			"restore a backup",
			st->path, version, STORE_SCHEMA_VERSION);
		return -EPROTO;
	}
	for (v = (size_t)version; v < STORE_SCHEMA_VERSION; v++) {
		ret = exec_sql(st, "BEGIN IMMEDIATE", err, "migrating");
		if (ret)
			return ret;
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %zu",
			 v + 1);
		ret = exec_sql(st, migrations[v], err, "migrating the schema");
		if (!ret && v + 1 == 3)
			ret = migrate_items(
				st, "SELECT id, title, text FROM items",
				"UPDATE items SET near_keys = ?2 WHERE id = ?1",
				migrate_near_keys, err);
		if (!ret && v + 1 == 8)
			ret = migrate_items(
				st,
				"SELECT id, guid, canon_link, fingerprint "
				"FROM items",
				"UPDATE items SET guid_key = ?2, link_key = "
				"?3, "
				"fp_key = ?4 WHERE id = ?1",
				migrate_exact_keys, err);
		if (!ret && v + 1 == 8)
			ret = exec_sql(
				st,
				"CREATE TRIGGER items_keys_changed AFTER "
				"UPDATE "
				"OF guid_key, link_key, fp_key, near_keys ON "
				"items BEGIN INSERT INTO key_changes(item_id, "
				"old_guid_key, old_link_key, old_fp_key) "
				"VALUES "
				"(old.id, old.guid_key, old.link_key, "
				"old.fp_key); END;",
				err, "migrating the schema");
		if (!ret)
			ret = exec_sql(st, pragma, err, "migrating the schema");
		if (!ret)
			ret = exec_sql(st, "COMMIT", err, "migrating");
		if (ret) {
			sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
			return ret;
		}
		log_info("database %s: schema migrated to version %zu",
			 st->path, v + 1);
	}
	return 0;
}

struct store *store_open(const char *path, struct err *err)
{
	struct store *st;
	int rc, k;

	st = calloc(1, sizeof(*st));
	if (!st) {
		err_set(err, "out of memory opening %s", path);
		return NULL;
	}
	pthread_mutex_init(&st->ckpt.lock, NULL);
	pthread_cond_init(&st->ckpt.wake, NULL);
	neardup_params_default(&st->near);
	st->path = strdup(path);
	if (!st->path) {
		free(st);
		err_set(err, "out of memory opening %s", path);
		return NULL;
	}
	rc = sqlite3_open_v2(path, &st->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				     SQLITE_OPEN_NOMUTEX,
			     NULL);
	if (rc != SQLITE_OK) {
		if (st->db)
			err_set(err,
				"cannot open database %s: %s; check that its "
				"directory exists and is writable",
				path, sqlite3_errmsg(st->db));
		else
			err_set(err, "cannot open database %s: out of memory",
				path);
		goto fail;
	}
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, STORE_BUSY_TIMEOUT_MS);
	/* WAL lets bulletinctl read and write beside the daemon; FULL
	 * makes each commit durable across power loss (RELIABILITY G7). */
	if (exec_sql(st, "PRAGMA journal_mode = WAL", err,
		     "opening the database") ||
	    exec_sql(st, "PRAGMA synchronous = FULL", err, "setting up") ||
	    /* Enough for the hot part of the items' indexes (exact
	     * dedupe looks them up at random); the near-duplicate keys
	     * are in memory (keyindex). 16 MiB keeps a cold fetch of
	     * 1,000 feeds under 64 MB; a larger batch spills to the WAL
	     * before its commit, which is safe. */
	    exec_sql(st, "PRAGMA cache_size = -16384", err, "setting up") ||
	    exec_sql(st, "PRAGMA foreign_keys = ON", err, "setting up"))
		goto fail;
	/* In place of SQLite's autocheckpoint, which copied the WAL back
	 * inside the commit that reached 1,000 pages: during a large
	 * fetch or ingest, after nearly every commit, with two fsyncs. */
	sqlite3_wal_hook(st->db, on_wal, st);
	if (migrate(st, err))
		goto fail;
	for (k = 0; k < ST__COUNT; k++) {
		rc = sqlite3_prepare_v3(st->db, stmt_sql[k], -1,
					SQLITE_PREPARE_PERSISTENT, &st->stmt[k],
					NULL);
		if (rc != SQLITE_OK) {
			err_set(err, "database %s: internal statement %d: %s",
				path, k, sqlite3_errmsg(st->db));
			goto fail;
		}
	}
	return st;
fail:
	store_close(st);
	return NULL;
}

static void subs_free(struct subs *subs);

void store_close(struct store *st)
{
	int k;

	if (!st)
		return;
	/* First, so that the last connection to close is this one. */
	ckpt_stop(st);
	subs_free(st->subs);
	for (k = 0; k < ST__COUNT; k++)
		sqlite3_finalize(st->stmt[k]);
	keyindex_destroy(st->keys);
	if (st->db)
		sqlite3_close(st->db);
	free(st->held_list);
	free(st->held_address);
	free(st->held_state);
	free(st->held_digest_list);
	free(st->held_daemon[0]);
	free(st->held_daemon[1]);
	free(st->path);
	pthread_cond_destroy(&st->ckpt.wake);
	pthread_mutex_destroy(&st->ckpt.lock);
	free(st);
}

int store_schema_version(struct store *st)
{
	sqlite3_stmt *s = NULL;
	int v = -1;

	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) ==
		    SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return v;
}

void store_set_dedupe(struct store *st, const struct neardup_params *p)
{
	st->near = *p;
}

void store_use_config(struct store *st, const struct config *cfg)
{
	struct neardup_params p;

	/* A config built in code (tests) may leave them 0: defaults. */
	neardup_params_default(&p);
	if (cfg->dedupe_similar > 0)
		p.similar = cfg->dedupe_similar;
	if (cfg->dedupe_contained > 0)
		p.contained = cfg->dedupe_contained;
	if (cfg->dedupe_min_words > 0)
		p.min_words = (size_t)cfg->dedupe_min_words;
	store_set_dedupe(st, &p);
}

int store_sync_config(struct store *st, const struct config *cfg,
		      struct err *err)
{
	sqlite3_stmt *s;
	size_t i;
	int ret;

	store_use_config(st, cfg);
	ret = tx_begin(st, err);
	if (ret)
		return ret;
	for (i = 0; i < cfg->n_sources && !ret; i++) {
		s = st->stmt[ST_SOURCE_UPSERT];
		bind_text(s, 1, cfg->sources[i].name);
		bind_text(s, 2, cfg->sources[i].url);
		ret = exec_stmt(st, ST_SOURCE_UPSERT, err, "adding sources");
		if (ret)
			break;
		s = st->stmt[ST_SOURCE_SET_PRIORITY];
		bind_text(s, 1, cfg->sources[i].name);
		bind_int(s, 2, cfg->sources[i].priority);
		ret = exec_stmt(st, ST_SOURCE_SET_PRIORITY, err,
				"setting source priorities");
	}
	for (i = 0; i < cfg->n_lists && !ret; i++) {
		s = st->stmt[ST_LIST_UPSERT];
		bind_text(s, 1, cfg->lists[i].name);
		bind_text(s, 2, cfg->lists[i].title);
		ret = exec_stmt(st, ST_LIST_UPSERT, err, "adding lists");
	}
	for (i = 0; i < cfg->n_themes && !ret; i++) {
		s = st->stmt[ST_THEME_UPSERT];
		bind_text(s, 1, cfg->themes[i].name);
		bind_text(s, 2, cfg->themes[i].title);
		ret = exec_stmt(st, ST_THEME_UPSERT, err, "adding themes");
	}
	if (ret) {
		tx_rollback(st);
		return ret;
	}
	return tx_commit(st, err);
}

/* ---- sources ---- */

void store_source_finish(struct store_source *s)
{
	if (!s)
		return;
	free(s->name);
	free(s->url);
	free(s->etag);
	free(s->last_modified);
	free(s->last_error);
	free(s->moved_url);
	free(s->disabled);
	memset(s, 0, sizeof(*s));
}

static int source_from_row(sqlite3_stmt *s, struct store_source *out)
{
	memset(out, 0, sizeof(*out));
	out->id = sqlite3_column_int64(s, 0);
	out->name = col_dup(s, 1);
	out->url = col_dup(s, 2);
	out->etag = col_dup(s, 3);
	out->last_modified = col_dup(s, 4);
	out->last_error = col_dup(s, 5);
	out->last_fetch = sqlite3_column_int64(s, 6);
	out->last_success = sqlite3_column_int64(s, 7);
	out->next_poll = sqlite3_column_int64(s, 8);
	out->last_status = sqlite3_column_int(s, 9);
	out->failures = sqlite3_column_int(s, 10);
	out->items = sqlite3_column_int64(s, 11);
	out->moved_url = col_dup(s, 12);
	out->disabled = col_dup(s, 13);
	if (!out->name) {
		store_source_finish(out);
		return -ENOMEM;
	}
	return 0;
}

int store_source_get(struct store *st, const char *name,
		     struct store_source *out, struct err *err)
{
	sqlite3_stmt *s = st->stmt[ST_SOURCE_GET];
	int rc, ret = 0;

	bind_text(s, 1, name);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		ret = source_from_row(s, out);
	else if (rc == SQLITE_DONE) {
		err_set(err, "source %s is not in the database", name);
		ret = -ENOENT;
	} else
		ret = store_fail(st, err, "reading a source");
	unbind(s);
	return ret;
}

int store_sources_each(struct store *st, store_source_fn *fn, void *arg,
		       struct err *err)
{
	sqlite3_stmt *s = st->stmt[ST_SOURCES_ALL];
	struct store_source src;
	int ret = 0;

	while (!ret && next_row(st, s, &ret, err, "listing sources")) {
		ret = source_from_row(s, &src);
		if (ret)
			break;
		ret = fn(&src, arg);
		store_source_finish(&src);
	}
	unbind(s);
	return ret;
}

/*
 * Fetch results (a source's items and its fetch record) are committed
 * with synchronous=NORMAL, everything else with FULL. In WAL mode such a
 * commit is still atomic and in order, it just does not wait for an
 * fsync: the next FULL commit (a digest, the outbox, a subscriber) or
 * checkpoint makes it durable, together with everything before it. So a
 * power cut can lose the last fetch results, which the next poll
 * fetches again, but never anything a later durable change built on.
 * Waiting for the disk twice per source held up the loop thread (and so
 * every transfer) for most of a no-change cycle.
 */
static void sync_lazy(struct store *st, bool lazy)
{
	/* Only outside a transaction: SQLite refuses it inside one. */
	if (st->in_tx)
		return;
	sqlite3_exec(st->db,
		     lazy ? "PRAGMA synchronous = NORMAL"
			  : "PRAGMA synchronous = FULL",
		     NULL, NULL, NULL);
}

int store_source_record(struct store *st, const char *name,
			const struct store_fetch_outcome *o, struct err *err)
{
	sqlite3_stmt *s = st->stmt[ST_SOURCE_RECORD];
	int ret;

	bind_text(s, 1, name);
	bind_int(s, 2, o->when);
	bind_int(s, 3, o->success);
	bind_int(s, 4, o->status);
	bind_text(s, 5, o->error);
	bind_text(s, 6, o->etag);
	bind_text(s, 7, o->last_modified);
	bind_int(s, 8, o->next_poll);
	bind_text(s, 9, o->moved_url);
	bind_text(s, 10, o->disable);
	sync_lazy(st, true);
	ret = exec_stmt(st, ST_SOURCE_RECORD, err, "recording a fetch");
	sync_lazy(st, false);
	return ret;
}

/* ---- items ---- */

static int lookup_id(struct store *st, enum stmt k, const char *name,
		     int64_t *id, struct err *err, const char *what)
{
	sqlite3_stmt *s = st->stmt[k];
	int rc, ret = 0;

	bind_text(s, 1, name);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*id = sqlite3_column_int64(s, 0);
	else if (rc == SQLITE_DONE) {
		err_set(err, "%s %s is not in the database", what, name);
		ret = -ENOENT;
	} else
		ret = store_fail(st, err, "looking up a name");
	unbind(s);
	return ret;
}

/* Parameters 1-9, 14 and 15 are the same in ST_ITEM_INSERT and
 * ST_ITEM_UPDATE (13, the id's key, is only inserted). */
static void bind_item(sqlite3_stmt *s, int64_t source_id,
		      const struct store_item_new *it)
{
	bind_int(s, 1, source_id);
	bind_text(s, 2, it->guid);
	bind_text(s, 3, it->link);
	bind_text(s, 4, it->canon_link);
	bind_text(s, 5, it->title);
	bind_text(s, 6, it->author);
	bind_text(s, 7, it->text);
	bind_text(s, 8, it->theme ? it->theme : "other");
	bind_text(s, 9, it->fingerprint);
	for (int k = 0; k < EXACT__COUNT; k++)
		bind_key(s, 13 + k, (enum exact)k,
			 exact_text((enum exact)k, it->guid, it->canon_link,
				    it->fingerprint));
}

/* Steps s once: 1 with *id from its first column, 0 for no row. */
static int find_row(struct store *st, sqlite3_stmt *s, int64_t *id,
		    struct err *err, const char *what)
{
	int rc, ret = 0;

	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(s, 0);
		ret = 1;
	} else if (rc != SQLITE_DONE) {
		ret = store_fail(st, err, what);
	}
	unbind(s);
	return ret;
}

/* A copy as the keep rule and the near comparison see it. */
struct copy {
	int64_t id;
	int64_t duplicate_of; /* 0: it is a kept item */
	bool sent;	      /* it went out in a digest */
	struct dedupe_copy keep;
};

/* Shingles the text of item id again. */
static int text_doc(struct store *st, int64_t id, struct neardup_doc **doc,
		    struct err *err)
{
	sqlite3_stmt *s = st->stmt[ST_ITEM_TEXT];
	int rc, ret;

	bind_int(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		ret = neardup_doc_create(col_text(s, 0), col_text(s, 1), doc);
		if (ret)
			err_set(err, "out of memory comparing items");
	} else if (rc == SQLITE_DONE) {
		ret = -ENOENT;
	} else {
		ret = store_fail(st, err, "reading an item");
	}
	unbind(s);
	return ret;
}

/* The shingles of item id from its ST_ITEM_COPY row in s: the kept ones
 * (column 6), or its title and text (columns 4 and 5, there only when
 * none are kept) shingled again. */
static int copy_doc(struct store *st, int64_t id, sqlite3_stmt *s,
		    struct neardup_doc **doc, struct err *err)
{
	const void *blob = sqlite3_column_blob(s, 6);
	int ret;

	*doc = NULL;
	if (!blob) {
		ret = neardup_doc_create(col_text(s, 4), col_text(s, 5), doc);
		if (ret)
			err_set(err, "out of memory comparing items");
		return ret;
	}
	ret = neardup_doc_unpack(blob, (size_t)sqlite3_column_bytes(s, 6), doc);
	if (ret == -EINVAL) {
		log_warnx("database %s: the kept shingles of item %lld are "
			  "damaged; its text is shingled again",
			  st->path, (long long)id);
		ret = text_doc(st, id, doc, err);
	} else if (ret) {
		err_set(err, "out of memory comparing items");
	}
	return ret;
}

/* Reads copy id; with doc non-NULL, also its shingles into *doc (the
 * caller destroys it): the kept ones, or its text shingled again when
 * none are kept. Returns 0, -ENOENT or an error. */
static int copy_get(struct store *st, int64_t id, struct copy *c,
		    struct neardup_doc **doc, struct err *err)
{
	sqlite3_stmt *s = st->stmt[ST_ITEM_COPY];
	int rc, ret = 0;

	bind_int(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		c->id = id;
		c->duplicate_of = sqlite3_column_int64(s, 0);
		c->keep.id = id;
		c->keep.published = sqlite3_column_int64(s, 1);
		c->keep.priority = sqlite3_column_int(s, 2);
		c->sent = sqlite3_column_int(s, 3) != 0;
		c->keep.shingles = 0;
		if (doc)
			ret = copy_doc(st, id, s, doc, err);
		if (!ret && doc)
			c->keep.shingles = neardup_doc_shingles(*doc);
	} else if (rc == SQLITE_DONE) {
		ret = -ENOENT;
	} else {
		ret = store_fail(st, err, "reading an item");
	}
	unbind(s);
	return ret;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* The first other item (lowest id, not id; for EXACT_ID not of
 * source_id either) whose string of kind is text, in *match, or 0. The
 * key index proposes the holders of text's key; each is read and
 * compared, since keys may collide. Holders are indexed in id order and
 * a key keeps its first KEY_MAX_HOLDERS, so the lowest is among them. */
static int exact_match(struct store *st, enum exact kind, const char *text,
		       int64_t id, int64_t source_id, int64_t *match,
		       struct err *err)
{
	sqlite3_stmt *s = st->stmt[ST_ITEM_EXACT];
	uint32_t held[KEY_MAX_HOLDERS];
	const char *have;
	size_t n, i;
	int rc, ret = 0;

	*match = 0;
	if (!text)
		return 0;
	n = keyindex_find(st->keys, (uint64_t)exact_key(kind, text), held,
			  KEY_MAX_HOLDERS);
	if (n > KEY_MAX_HOLDERS)
		n = KEY_MAX_HOLDERS;
	qsort(held, n, sizeof(*held), cmp_u32);
	for (i = 0; i < n && !ret && !*match; i++) {
		if (held[i] == id)
			continue;
		bind_int(s, 1, held[i]);
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			have = exact_text(kind, col_text(s, 1), col_text(s, 2),
					  col_text(s, 3));
			if (have && strcmp(have, text) == 0 &&
			    (kind != EXACT_ID ||
			     sqlite3_column_int64(s, 0) != source_id))
				*match = held[i];
		} else if (rc != SQLITE_DONE) {
			ret = store_fail(st, err, "looking for duplicates");
		}
		unbind(s);
	}
	return ret;
}

/* Indexes the exact keys of item id. */
static int index_exact(struct store *st, int64_t id,
		       const struct store_item_new *it, struct err *err)
{
	const char *text;
	int ret = 0;

	if (id <= 0 || id >= UINT32_MAX)
		return 0;
	for (int k = 0; k < EXACT__COUNT && !ret; k++) {
		text = exact_text((enum exact)k, it->guid, it->canon_link,
				  it->fingerprint);
		if (text)
			ret = keyindex_add(
				st->keys,
				(uint64_t)exact_key((enum exact)k, text),
				(uint32_t)id, NULL);
	}
	if (ret == -ENOMEM)
		err_set(err, "out of memory indexing an item");
	if (!ret && id > st->keys_upto)
		st->keys_upto = id;
	return ret;
}

/* Adds one item's keys (n of them) to the in-memory index; with full
 * non-NULL, full[k] says whether key k was held by too many items. */
static int index_add(struct store *st, int64_t id, const int64_t *keys,
		     size_t n, bool *full)
{
	size_t k;
	int f, ret = 0;

	/* Ids past 32 bits are not indexed. */
	if (id <= 0 || id >= UINT32_MAX)
		return 0;
	for (k = 0; k < n && !ret; k++) {
		ret = keyindex_add(st->keys, (uint64_t)keys[k], (uint32_t)id,
				   &f);
		if (full)
			full[k] = f;
	}
	return ret;
}

/* Adds the keys stored with item id, in the columns of row s from near
 * (near_keys, then the three exact keys). */
static int index_row(struct store *st, int64_t id, sqlite3_stmt *s, int near)
{
	const void *blob = sqlite3_column_blob(s, near);
	size_t n = (size_t)sqlite3_column_bytes(s, near) / sizeof(int64_t);
	int64_t keys[NEARDUP_BANDS + NEARDUP_MAX_MARKS], key;
	int ret = 0;

	if (blob && n > 0) {
		if (n > sizeof(keys) / sizeof(*keys))
			n = sizeof(keys) / sizeof(*keys);
		memcpy(keys, blob, n * sizeof(*keys));
		ret = index_add(st, id, keys, n, NULL);
	}
	for (int k = near + 1; k <= near + EXACT__COUNT && !ret; k++) {
		key = sqlite3_column_int64(s, k);
		if (sqlite3_column_type(s, k) != SQLITE_NULL)
			ret = index_add(st, id, &key, 1, NULL);
	}
	return ret;
}

/* Takes item id off the exact keys it had (columns old.. of s) that it
 * no longer has (columns now..). */
static void index_unrow(struct store *st, int64_t id, sqlite3_stmt *s, int old,
			int now)
{
	for (int k = 0; k < EXACT__COUNT; k++) {
		if (sqlite3_column_type(s, old + k) == SQLITE_NULL ||
		    (sqlite3_column_type(s, now + k) != SQLITE_NULL &&
		     sqlite3_column_int64(s, old + k) ==
			     sqlite3_column_int64(s, now + k)))
			continue;
		if (id > 0 && id < UINT32_MAX)
			keyindex_remove(
				st->keys,
				(uint64_t)sqlite3_column_int64(s, old + k),
				(uint32_t)id);
	}
}

/* Brings the in-memory index up to date with the items stored (by any
 * process) since it last looked, and with the keys of items that
 * changed since (key_changes); builds it the first time. */
static int index_sync(struct store *st, struct err *err)
{
	sqlite3_stmt *s;
	int64_t id;
	bool changed = false;
	int rc = SQLITE_DONE, ret = 0;

	if (!st->keys) {
		/* The items are read as they are now: the changes so far
		 * are in them already. */
		s = st->stmt[ST_KEY_CHANGES_TOP];
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW)
			st->changes_upto = sqlite3_column_int64(s, 0);
		unbind(s);
		if (rc != SQLITE_ROW)
			return store_fail(st, err, "indexing items");
		st->keys = keyindex_create(KEY_MAX_HOLDERS);
		st->keys_upto = 0;
		if (!st->keys) {
			err_set(err, "out of memory indexing items");
			return -ENOMEM;
		}
	}
	s = st->stmt[ST_KEY_LOOKUP];
	bind_int(s, 1, st->keys_upto);
	while (!ret && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		id = sqlite3_column_int64(s, 0);
		ret = index_row(st, id, s, 1);
		st->keys_upto = id;
	}
	if (!ret && rc != SQLITE_DONE)
		ret = store_fail(st, err, "indexing items");
	unbind(s);
	s = st->stmt[ST_KEY_CHANGES];
	bind_int(s, 1, st->changes_upto);
	while (!ret && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		id = sqlite3_column_int64(s, 1);
		index_unrow(st, id, s, 2, 6);
		ret = index_row(st, id, s, 5);
		st->changes_upto = sqlite3_column_int64(s, 0);
		changed = true;
	}
	if (!ret && rc != SQLITE_DONE && rc != SQLITE_ROW)
		ret = store_fail(st, err, "indexing items");
	if (ret == -ENOMEM)
		err_set(err, "out of memory indexing items");
	unbind(s);
	/* The log keeps the last KEY_CHANGES_KEEP changes, for processes
	 * that look less often (a source whose items change at every poll
	 * would grow it without end). One that fell further behind misses
	 * an edited item's new exact keys (its old ones never match:
	 * holders are compared in full). */
	if (!ret && changed && st->changes_upto > KEY_CHANGES_KEEP) {
		bind_int(st->stmt[ST_KEY_CHANGES_PRUNE], 1,
			 st->changes_upto - KEY_CHANGES_KEEP);
		ret = exec_stmt(st, ST_KEY_CHANGES_PRUNE, err,
				"indexing items");
	}
	return ret;
}

/* Binds the keys of doc, if it is to be compared at all, as parameter i
 * of s (else NULL). */
static void bind_keys(struct store *st, sqlite3_stmt *s, int i,
		      const struct neardup_doc *doc)
{
	const int64_t *keys;
	size_t n = neardup_doc_keys(doc, &keys);

	if (n > 0 && neardup_doc_comparable(doc, &st->near))
		sqlite3_bind_blob(s, i, keys, (int)(n * sizeof(*keys)),
				  SQLITE_STATIC);
	else
		sqlite3_bind_null(s, i);
}

/* Keeps the shingles of doc with item id, whose keys are kept already,
 * and indexes the keys: with skip, id is new to the index and its keys
 * were just looked up by candidates(), which marked the full ones in
 * skip; without, id may be indexed already (an updated item). */
static int index_item(struct store *st, int64_t id,
		      const struct neardup_doc *doc, const bool *skip,
		      struct err *err)
{
	sqlite3_stmt *s = st->stmt[ST_SHINGLES_PUT];
	const int64_t *keys;
	const void *packed;
	size_t n = neardup_doc_keys(doc, &keys), k, len;
	int ret = 0;

	if (n == 0)
		return 0;
	packed = neardup_doc_packed(doc, &len);
	bind_int(s, 1, id);
	sqlite3_bind_blob(s, 2, packed, (int)len, SQLITE_STATIC);
	ret = exec_stmt(st, ST_SHINGLES_PUT, err, "indexing an item");
	if (skip && id > 0 && id < UINT32_MAX) {
		/* A new item: its keys were just looked up. */
		ret = keyindex_add_new(st->keys, (const uint64_t *)keys, n,
				       (uint32_t)id, skip);
	} else {
		for (k = 0; k < n && !ret; k++)
			ret = index_add(st, id, keys + k, 1, NULL);
	}
	if (ret == -ENOMEM)
		err_set(err, "out of memory indexing an item");
	if (!ret && id > st->keys_upto)
		st->keys_upto = id;
	return ret;
}

/* Keeps the keys of doc with stored item id, then as index_item. */
static int insert_keys(struct store *st, int64_t id,
		       const struct neardup_doc *doc, struct err *err)
{
	sqlite3_stmt *s = st->stmt[ST_KEY_INSERT];
	int ret;

	bind_int(s, 1, id);
	bind_keys(st, s, 2, doc);
	ret = exec_stmt(st, ST_KEY_INSERT, err, "indexing an item");
	if (!ret)
		ret = index_item(st, id, doc, NULL, err);
	return ret;
}

/* A candidate and how many keys it shares. */
struct cand {
	int64_t id;
	size_t hits;	 /* keys shared */
	uint64_t weight; /* each shared key counts WEIGHT_ONE / its holders */
};

/* lcm(1..KEY_MAX_HOLDERS): the weights add up exactly, in any order. */
#define WEIGHT_ONE 5354228880ULL
_Static_assert(KEY_MAX_HOLDERS == 24, "WEIGHT_ONE is lcm(1..24)");

/* Whether candidate x goes before y: more weight, then newer. */
static bool cand_before(const struct cand *x, const struct cand *y)
{
	if (x->weight != y->weight)
		return x->weight > y->weight;
	return x->id > y->id;
}

/* One id held under a key of the new item, and by how many items. */
struct holder {
	uint32_t id;
	uint32_t got;
};

/* Adds up the holders h (n of them) per item in an open-addressing
 * table (*tab, *size slots; malloc'd). Item ids are distinct small
 * numbers, so their low bits place them. */
static int tally(const struct holder *h, size_t n, struct cand **tab,
		 size_t *size)
{
	size_t i, k, mask;
	struct cand *t;

	for (*size = 16; *size < n * 2; *size *= 2)
		;
	t = calloc(*size, sizeof(*t));
	if (!t)
		return -ENOMEM;
	mask = *size - 1;
	for (i = 0; i < n; i++) {
		for (k = h[i].id & mask; t[k].id && t[k].id != h[i].id;
		     k = (k + 1) & mask)
			;
		t[k].id = h[i].id;
		t[k].hits++;
		t[k].weight += WEIGHT_ONE / h[i].got;
	}
	*tab = t;
	return 0;
}

/* The items sharing keys with doc (other than id), most keys first, at
 * most max, into *out (malloc'd), from the index as index_sync left it.
 * With full non-NULL, full[k] is set for each key that KEY_MAX_HOLDERS
 * items hold already. */
static int candidates(struct store *st, int64_t id,
		      const struct neardup_doc *doc, size_t max,
		      struct cand **out, size_t *n_out, bool *full,
		      struct err *err)
{
	const int64_t *keys;
	size_t n_keys = neardup_doc_keys(doc, &keys), n = 0, i, k, got,
	       size = 0;
	uint32_t *held = NULL;
	size_t *counts = NULL;
	struct holder *all = NULL;
	struct cand *tab = NULL, *c = NULL;
	int ret = 0;

	*out = NULL;
	*n_out = 0;
	if (n_keys == 0 || !st->keys || max == 0)
		return 0;
	all = malloc(n_keys * KEY_MAX_HOLDERS * sizeof(*all));
	held = malloc(n_keys * KEY_MAX_HOLDERS * sizeof(*held));
	counts = malloc(n_keys * sizeof(*counts));
	if (!all || !held || !counts) {
		free(all);
		free(held);
		free(counts);
		err_set(err, "out of memory looking for duplicates");
		return -ENOMEM;
	}
	keyindex_find_many(st->keys, (const uint64_t *)keys, n_keys, held,
			   KEY_MAX_HOLDERS, counts);
	for (i = 0; i < n_keys; i++) {
		got = counts[i];
		if (full)
			full[i] = got >= KEY_MAX_HOLDERS;
		if (got > KEY_MAX_HOLDERS)
			got = KEY_MAX_HOLDERS;
		for (k = 0; k < got; k++) {
			if (held[i * KEY_MAX_HOLDERS + k] == id)
				continue;
			all[n].id = held[i * KEY_MAX_HOLDERS + k];
			all[n].got = (uint32_t)got;
			n++;
		}
	}
	if (n > 0)
		ret = tally(all, n, &tab, &size);
	if (!ret && n > 0)
		c = malloc((max < n ? max : n) * sizeof(*c));
	if (!ret && n > 0 && !c)
		ret = -ENOMEM;
	for (i = 0, n = 0; !ret && c && i < size; i++) {
		/* A key shared with many items is weak evidence: a
		 * candidate needs the weight of one key of its own. */
		if (!tab[i].id || tab[i].weight * 100 < WEIGHT_ONE * 99)
			continue;
		if (n == max && !cand_before(&tab[i], &c[n - 1]))
			continue;
		/* Into the best max so far, kept in order. */
		k = n < max ? n++ : n - 1;
		for (; k > 0 && cand_before(&tab[i], &c[k - 1]); k--)
			c[k] = c[k - 1];
		c[k] = tab[i];
	}
	if (!ret && n > 0) {
		*out = c;
		*n_out = n;
		c = NULL;
	}
	if (ret == -ENOMEM)
		err_set(err, "out of memory looking for duplicates");
	free(c);
	free(tab);
	free(all);
	free(held);
	free(counts);
	return ret;
}

/* Candidates checked in full per new item: the ones sharing most keys. */
#define NEAR_CANDIDATES 8

/* The best near match of doc among stored items: relation, score and the
 * item matched (0 for none). */
struct near_match {
	enum dedupe_relation rel;
	double score;
	int64_t id;
	struct copy copy;
};

/* Relations in the order of preference when several candidates match:
 * contained text first (the container shows everything), then the
 * closest. */
static int rel_rank(enum dedupe_relation rel)
{
	return rel == DEDUPE_CONTAINED || rel == DEDUPE_CONTAINS ? 2
	       : rel == DEDUPE_SIMILAR				 ? 1
								 : 0;
}

/* The verdict on doc against candidate id, from its kept shingles when
 * there are some (read in place), else from its text shingled again (an
 * item stored before schema 5, or damaged shingles). -ENOENT for an id
 * that is not stored. */
static int near_judge(struct store *st, const struct neardup_doc *doc,
		      int64_t id, enum dedupe_relation *rel, double *score,
		      struct err *err)
{
	sqlite3_stmt *s = st->stmt[ST_SHINGLES_GET];
	struct neardup_doc *other = NULL;
	struct neardup_match m;
	struct copy cp;
	int rc, ret = 1;

	*rel = DEDUPE_NONE;
	*score = 0;
	bind_int(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		ret = neardup_judge_packed(
			&st->near, doc, sqlite3_column_blob(s, 0),
			(size_t)sqlite3_column_bytes(s, 0), rel, score);
		if (ret == -EINVAL) {
			log_warnx("database %s: the kept shingles of item "
				  "%lld are damaged; its text is shingled "
				  "again",
				  st->path, (long long)id);
			ret = text_doc(st, id, &other, err);
		}
	} else if (rc != SQLITE_DONE) {
		ret = store_fail(st, err, "reading an item");
	}
	unbind(s);
	if (ret == 1) /* none kept: as copy_get gives it */
		ret = copy_get(st, id, &cp, &other, err);
	if (!ret && other) {
		neardup_compare(doc, other, &m);
		*rel = neardup_judge(&st->near, doc, other, &m, score);
	}
	neardup_doc_destroy(other);
	return ret;
}

/* Compares doc in full with the candidates c (n of them) and keeps the
 * best match in *best. */
static int near_find(struct store *st, const struct neardup_doc *doc,
		     const struct cand *c, size_t n, struct near_match *best,
		     struct err *err)
{
	enum dedupe_relation rel;
	double score;
	size_t i;
	int ret = 0;

	memset(best, 0, sizeof(*best));
	for (i = 0; i < n && !ret; i++) {
		ret = near_judge(st, doc, c[i].id, &rel, &score, err);
		if (ret == -ENOENT) {
			ret = 0;
			continue;
		}
		if (ret || rel == DEDUPE_NONE)
			continue;
		if (rel_rank(rel) > rel_rank(best->rel) ||
		    (rel_rank(rel) == rel_rank(best->rel) &&
		     score > best->score)) {
			best->rel = rel;
			best->score = score;
			best->id = c[i].id;
		}
	}
	if (!ret && best->rel != DEDUPE_NONE)
		ret = copy_get(st, best->id, &best->copy, NULL, err);
	return ret;
}

static int set_dup(struct store *st, int64_t id, int64_t kept,
		   enum dedupe_relation rel, double score, int64_t match,
		   struct err *err)
{
	sqlite3_stmt *s = st->stmt[ST_ITEM_SET_DUP];

	bind_int(s, 1, id);
	bind_int(s, 2, kept);
	bind_text(s, 3, dedupe_relation_name(rel));
	sqlite3_bind_double(s, 4, score);
	bind_int(s, 5, match);
	return exec_stmt(st, ST_ITEM_SET_DUP, err, "marking a duplicate");
}

/* The relation seen from the other side. */
static enum dedupe_relation rel_inverse(enum dedupe_relation rel)
{
	return rel == DEDUPE_CONTAINS	 ? DEDUPE_CONTAINED
	       : rel == DEDUPE_CONTAINED ? DEDUPE_CONTAINS
					 : rel;
}

/* Decides whether new item id (of a source with priority prio,
 * shingled as doc) repeats a stored story, and records it. */
static int dedupe_item(struct store *st, int64_t id, int64_t source_id,
		       int prio, const struct store_item_new *it,
		       int64_t published, const struct neardup_doc *doc,
		       const struct cand *c, size_t n_cand, bool *dup,
		       struct err *err)
{
	static const enum dedupe_relation rel[EXACT__COUNT] = {
		[EXACT_ID] = DEDUPE_ID,
		[EXACT_LINK] = DEDUPE_LINK,
		[EXACT_TEXT] = DEDUPE_TEXT,
	};
	struct near_match nm;
	struct dedupe_copy mine = {prio, published, id,
				   neardup_doc_shingles(doc)};
	struct copy root;
	int64_t match = 0;
	int ret = 0;

	*dup = false;
	memset(&nm, 0, sizeof(nm));
	/* Same id, else same link, else same text. */
	for (int k = 0; k < EXACT__COUNT && !ret && !match; k++) {
		ret = exact_match(st, (enum exact)k,
				  exact_text((enum exact)k, it->guid,
					     it->canon_link, it->fingerprint),
				  id, source_id, &match, err);
		if (!ret && match)
			nm.rel = rel[k];
	}
	if (!ret && match) {
		nm.id = match;
		nm.score = 1;
		ret = copy_get(st, match, &nm.copy, NULL, err);
	} else if (!ret) {
		ret = near_find(st, doc, c, n_cand, &nm, err);
	}
	if (ret || nm.rel == DEDUPE_NONE)
		return ret;
	*dup = true;
	if (nm.copy.duplicate_of) {
		/* The match is a copy itself: the new item joins its
		 * story, whose kept item stays. */
		return set_dup(st, id, nm.copy.duplicate_of, nm.rel, nm.score,
			       nm.id, err);
	}
	root = nm.copy;
	if (root.sent || !dedupe_keep_new(nm.rel, &mine, &root.keep)) {
		/* Once the kept item has gone out in a digest it stays
		 * kept, or the story would be mailed twice. */
		return set_dup(st, id, root.id, nm.rel, nm.score, nm.id, err);
	}
	/* The new item is the one to show: the old kept item and its
	 * copies point at it. */
	bind_int(st->stmt[ST_ITEM_REPOINT], 1, root.id);
	bind_int(st->stmt[ST_ITEM_REPOINT], 2, id);
	ret = exec_stmt(st, ST_ITEM_REPOINT, err, "marking a duplicate");
	if (!ret)
		ret = set_dup(st, root.id, id, rel_inverse(nm.rel), nm.score,
			      id, err);
	return ret;
}

static int item_insert(struct store *st, int64_t source_id, int prio,
		       const struct store_item_new *it, int64_t now,
		       struct store_ingest_result *res, struct err *err)
{
	sqlite3_stmt *s = st->stmt[ST_ITEM_INSERT];
	struct neardup_doc *mine = NULL;
	const struct neardup_doc *doc;
	bool full[NEARDUP_BANDS + NEARDUP_MAX_MARKS];
	struct cand *c = NULL;
	size_t n_cand = 0;
	int64_t id;
	int64_t published = it->published > 0 ? it->published : now;
	bool dup = false, updated;
	int ret;

	/* Shingled first, so that the keys go in with the row rather
	 * than rewrite it. */
	if (!it->doc && neardup_doc_create(it->title, it->text, &mine)) {
		err_set(err, "out of memory storing an item");
		return -ENOMEM;
	}
	doc = it->doc ? it->doc : mine;
	bind_item(s, source_id, it);
	bind_int(s, 10, published);
	bind_int(s, 11, now);
	bind_keys(st, s, 12, doc);
	ret = exec_stmt(st, ST_ITEM_INSERT, err, "storing an item");
	if (ret)
		goto out;
	if (sqlite3_changes(st->db) == 0) {
		/* Stored already: refresh it if the source edited it. */
		s = st->stmt[ST_ITEM_UPDATE];
		bind_item(s, source_id, it);
		id = 0;
		ret = find_row(st, s, &id, err, "updating an item");
		updated = ret == 1;
		if (updated) {
			ret = 0;
			/* Index the new text too; the old keys stay in
			 * memory, and only ever propose a candidate that
			 * is then compared in full. */
			res->updated++;
			ret = index_exact(st, id, it, err);
			if (!ret && neardup_doc_comparable(doc, &st->near))
				ret = insert_keys(st, id, doc, err);
		} else if (!ret) {
			res->known++;
		}
		goto out;
	}
	id = sqlite3_last_insert_rowid(st->db);
	res->added++;
	/* Texts too short to compare are not indexed: they could only
	 * ever propose candidates that no verdict accepts. */
	if (neardup_doc_comparable(doc, &st->near)) {
		ret = candidates(st, id, doc, NEAR_CANDIDATES, &c, &n_cand,
				 full, err);
		if (!ret)
			ret = index_item(st, id, doc, full, err);
	}
	if (!ret)
		ret = dedupe_item(st, id, source_id, prio, it, published, doc,
				  c, n_cand, &dup, err);
	if (!ret && dup)
		res->duplicates++;
	if (!ret)
		ret = index_exact(st, id, it, err);
out:
	free(c);
	neardup_doc_destroy(mine);
	return ret;
}

/* Stores items of source inside the caller's transaction. */
static int items_ingest_tx(struct store *st, const char *source,
			   const struct store_item_new *items, size_t n,
			   int64_t now, struct store_ingest_result *res,
			   struct err *err)
{
	sqlite3_stmt *s = st->stmt[ST_SOURCE_ID];
	int64_t source_id = 0;
	int prio = 0, rc, ret = 0;

	bind_text(s, 1, source);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		source_id = sqlite3_column_int64(s, 0);
		prio = sqlite3_column_int(s, 1);
	} else if (rc == SQLITE_DONE) {
		err_set(err, "source %s is not in the database", source);
		ret = -ENOENT;
	} else {
		ret = store_fail(st, err, "looking up a name");
	}
	unbind(s);
	/* Once per batch, before its first row: the transaction keeps
	 * other writers out, and a row of this batch must not reach the
	 * index before its candidates are taken. */
	if (!ret)
		ret = index_sync(st, err);
	for (size_t i = 0; i < n && !ret; i++)
		ret = item_insert(st, source_id, prio, &items[i], now, res,
				  err);
	return ret;
}

int store_items_ingest(struct store *st, const char *source,
		       const struct store_item_new *items, size_t n,
		       int64_t now, struct store_ingest_result *res,
		       struct err *err)
{
	int ret;

	memset(res, 0, sizeof(*res));
	if (st->in_batch) {
		/* The batch's transaction: a failure here is undone by
		 * store_batch_rollback, with the rest of the batch. */
		ret = items_ingest_tx(st, source, items, n, now, res, err);
		if (ret)
			memset(res, 0, sizeof(*res));
		return ret;
	}
	/* SQLite changes the level only outside a transaction. */
	sync_lazy(st, true);
	ret = tx_begin(st, err);
	if (ret)
		goto out;
	ret = items_ingest_tx(st, source, items, n, now, res, err);
	if (ret) {
		tx_rollback(st);
		memset(res, 0, sizeof(*res));
		goto out;
	}
	ret = tx_commit(st, err);
	if (ret)
		memset(res, 0, sizeof(*res));
out:
	sync_lazy(st, false);
	return ret;
}

int store_batch_begin(struct store *st, struct err *err)
{
	int ret;

	if (CHECK_FAILS(!st->in_tx)) {
		err_set(err, "database %s: a transaction is open already",
			st->path);
		return -EINVAL;
	}
	sync_lazy(st, true);
	ret = tx_begin(st, err);
	if (ret)
		sync_lazy(st, false);
	else
		st->in_batch = true;
	return ret;
}

int store_batch_commit(struct store *st, struct err *err)
{
	int ret;

	if (CHECK_FAILS(st->in_batch)) {
		err_set(err, "database %s: no batch is open", st->path);
		return -EINVAL;
	}
	st->in_batch = false;
	ret = tx_commit(st, err);
	sync_lazy(st, false);
	return ret;
}

void store_batch_rollback(struct store *st)
{
	if (!st->in_batch)
		return;
	st->in_batch = false;
	tx_rollback(st);
	sync_lazy(st, false);
}

static int items_walk(struct store *st, sqlite3_stmt *s, store_item_fn *fn,
		      void *arg, struct err *err)
{
	struct store_item it;
	int ret = 0;

	while (!ret && next_row(st, s, &ret, err, "reading items")) {
		it.id = sqlite3_column_int64(s, 0);
		it.source = col_text(s, 1);
		it.guid = col_text(s, 2);
		it.title = col_text(s, 3);
		it.link = col_text(s, 4);
		it.author = col_text(s, 5);
		it.text = col_text(s, 6);
		it.theme = col_text(s, 7);
		it.published = sqlite3_column_int64(s, 8);
		it.first_seen = sqlite3_column_int64(s, 9);
		it.duplicate_of = sqlite3_column_int64(s, 10);
		it.dup_relation = col_text(s, 11);
		it.dup_score = sqlite3_column_double(s, 12);
		it.dup_match = sqlite3_column_int64(s, 13);
		it.canon_link = col_text(s, 14);
		ret = fn(&it, arg);
	}
	unbind(s);
	return ret;
}

int store_items_each(struct store *st, const char *const *sources,
		     size_t n_sources, int64_t after_id, int64_t since,
		     int64_t until, store_item_fn *fn, void *arg,
		     struct err *err)
{
	sqlite3_stmt *s = st->stmt[ST_ITEMS_RANGE];

	bind_int(s, 1, since);
	bind_int(s, 2, until);
	bind_int(s, 4, after_id);
	if (bind_names(s, 3, sources, n_sources)) {
		unbind(s);
		err_set(err, "out of memory reading items");
		return -ENOMEM;
	}
	return items_walk(st, s, fn, arg, err);
}

struct item_once {
	store_item_fn *fn;
	void *arg;
	bool seen;
};

static int item_once(const struct store_item *it, void *arg)
{
	struct item_once *o = arg;

	o->seen = true;
	return o->fn(it, o->arg);
}

int store_item_get(struct store *st, int64_t id, store_item_fn *fn, void *arg,
		   struct err *err)
{
	struct item_once o = {fn, arg, false};
	sqlite3_stmt *s = st->stmt[ST_ITEM_GET];
	int ret;

	bind_int(s, 1, id);
	ret = items_walk(st, s, item_once, &o, err);
	if (!ret && !o.seen) {
		err_set(err, "there is no item %lld", (long long)id);
		ret = -ENOENT;
	}
	return ret;
}

int store_item_copies(struct store *st, int64_t id, store_item_fn *fn,
		      void *arg, struct err *err)
{
	sqlite3_stmt *s = st->stmt[ST_ITEM_COPIES];

	bind_int(s, 1, id);
	return items_walk(st, s, fn, arg, err);
}

int store_item_nearest(struct store *st, int64_t id, size_t max,
		       store_near_fn *fn, void *arg, struct err *err)
{
	struct neardup_doc *doc = NULL, *other;
	struct store_near n;
	struct cand *c = NULL;
	struct copy self, cp;
	size_t n_cand = 0, i;
	int ret;

	ret = copy_get(st, id, &self, &doc, err);
	if (ret == -ENOENT)
		err_set(err, "there is no item %lld", (long long)id);
	if (ret)
		return ret;
	ret = index_sync(st, err);
	if (!ret)
		ret = candidates(st, id, doc, max, &c, &n_cand, NULL, err);
	for (i = 0; i < n_cand && !ret; i++) {
		other = NULL;
		ret = copy_get(st, c[i].id, &cp, &other, err);
		if (ret == -ENOENT) {
			ret = 0;
			continue;
		}
		if (ret)
			break;
		memset(&n, 0, sizeof(n));
		n.id = c[i].id;
		n.duplicate_of = cp.duplicate_of;
		n.keys = c[i].hits;
		neardup_compare(doc, other, &n.m);
		n.rel = neardup_judge(&st->near, doc, other, &n.m, &n.score);
		neardup_doc_destroy(other);
		ret = fn(&n, arg);
	}
	free(c);
	neardup_doc_destroy(doc);
	return ret;
}

int store_digest_items_each(struct store *st, int64_t digest_id,
			    store_item_fn *fn, void *arg, struct err *err)
{
	sqlite3_stmt *s = st->stmt[ST_DIGEST_ITEMS];

	bind_int(s, 1, digest_id);
	return items_walk(st, s, fn, arg, err);
}

/* ---- subscribers ---- */

int store_subscriber_put(struct store *st, const char *list,
			 const char *address, const char *state, int64_t now,
			 int64_t *id, struct err *err)
{
	sqlite3_stmt *s;
	int64_t list_id, row = 0;
	int rc, ret;

	ret = lookup_id(st, ST_LIST_ID, list, &list_id, err, "list");
	if (ret)
		return ret;
	s = st->stmt[ST_SUB_PUT];
	bind_int(s, 1, list_id);
	bind_text(s, 2, address);
	bind_text(s, 3, state);
	bind_int(s, 4, now);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		row = sqlite3_column_int64(s, 0);
	else
		ret = store_fail(st, err, "adding a subscriber");
	unbind(s);
	if (!ret && id)
		*id = row;
	return ret;
}

int store_subscriber_set_state(struct store *st, const char *list,
			       const char *address, const char *state,
			       int64_t now, struct err *err)
{
	sqlite3_stmt *s;
	int64_t list_id, row = 0;
	int rc, ret;

	ret = lookup_id(st, ST_LIST_ID, list, &list_id, err, "list");
	if (ret)
		return ret;
	ret = tx_begin(st, err);
	if (ret)
		return ret;
	s = st->stmt[ST_SUB_SET_STATE];
	bind_int(s, 1, list_id);
	bind_text(s, 2, address);
	bind_text(s, 3, state);
	bind_int(s, 4, now);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		row = sqlite3_column_int64(s, 0);
	else if (rc == SQLITE_DONE) {
		err_set(err, "%s is not on list %s", address, list);
		ret = -ENOENT;
	} else
		ret = store_fail(st, err, "changing a subscriber");
	unbind(s);
	if (!ret && strcmp(state, "active") != 0) {
		s = st->stmt[ST_SUB_CANCEL_DELIVERIES];
		bind_int(s, 1, row);
		ret = exec_stmt(st, ST_SUB_CANCEL_DELIVERIES, err,
				"cancelling deliveries");
	}
	if (ret) {
		tx_rollback(st);
		return ret;
	}
	return tx_commit(st, err);
}

static void subscriber_from_row(sqlite3_stmt *s, struct store_subscriber *o)
{
	o->id = sqlite3_column_int64(s, 0);
	o->list = col_text(s, 1);
	o->address = col_text(s, 2);
	o->state = col_text(s, 3);
	o->created = sqlite3_column_int64(s, 4);
	o->updated = sqlite3_column_int64(s, 5);
}

int store_subscriber_get(struct store *st, const char *list,
			 const char *address, struct store_subscriber *out,
			 struct err *err)
{
	sqlite3_stmt *s = st->stmt[ST_SUB_GET];
	int rc, ret = 0;

	bind_text(s, 1, list);
	bind_text(s, 2, address);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		subscriber_from_row(s, out);
		free(st->held_list);
		free(st->held_address);
		free(st->held_state);
		st->held_list = strdup(out->list);
		st->held_address = strdup(out->address);
		st->held_state = strdup(out->state);
		out->list = st->held_list;
		out->address = st->held_address;
		out->state = st->held_state;
		if (!out->list || !out->address || !out->state) {
			err_set(err, "out of memory reading a subscriber");
			ret = -ENOMEM;
		}
	} else if (rc == SQLITE_DONE) {
		err_set(err, "%s is not on list %s", address, list);
		ret = -ENOENT;
	} else
		ret = store_fail(st, err, "reading a subscriber");
	unbind(s);
	return ret;
}

int store_subscribers_each(struct store *st, const char *list,
			   store_subscriber_fn *fn, void *arg, struct err *err)
{
	sqlite3_stmt *s = st->stmt[ST_SUBS_ALL];
	struct store_subscriber sub;
	int ret = 0;

	bind_text(s, 1, list);
	while (!ret && next_row(st, s, &ret, err, "listing subscribers")) {
		subscriber_from_row(s, &sub);
		ret = fn(&sub, arg);
	}
	unbind(s);
	return ret;
}

/* ---- digests and deliveries ---- */

int store_digest_last(struct store *st, const char *list,
		      struct store_digest_mark *out, struct err *err)
{
	sqlite3_stmt *s = st->stmt[ST_DIGEST_LAST_END];
	int rc, ret = 0;

	bind_text(s, 1, list);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		out->period_end = sqlite3_column_int64(s, 0);
		out->slot = sqlite3_column_int64(s, 1);
		out->last_item = sqlite3_column_int64(s, 2);
	} else
		ret = store_fail(st, err, "reading the last digest");
	unbind(s);
	return ret;
}

int store_digests_each(struct store *st, const char *list, store_digest_fn *fn,
		       void *arg, struct err *err)
{
	sqlite3_stmt *s = st->stmt[ST_DIGESTS_LIST];
	struct store_delivery_counts c;
	struct store_digest d;
	int rc, ret = 0;

	bind_text(s, 1, list);
	while (!ret && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		d.id = sqlite3_column_int64(s, 0);
		d.list = col_text(s, 1);
		d.period_start = sqlite3_column_int64(s, 2);
		d.period_end = sqlite3_column_int64(s, 3);
		d.created = sqlite3_column_int64(s, 4);
		d.items = sqlite3_column_int64(s, 5);
		c.pending = sqlite3_column_int64(s, 6);
		c.sending = sqlite3_column_int64(s, 7);
		c.sent = sqlite3_column_int64(s, 8);
		c.failed = sqlite3_column_int64(s, 9);
		ret = fn(&d, &c, arg);
	}
	if (!ret && rc != SQLITE_DONE)
		ret = store_fail(st, err, "listing digests");
	unbind(s);
	return ret;
}

int store_digest_get(struct store *st, int64_t id, struct store_digest *out,
		     struct err *err)
{
	sqlite3_stmt *s = st->stmt[ST_DIGEST_GET];
	int rc, ret = 0;

	bind_int(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		out->id = sqlite3_column_int64(s, 0);
		free(st->held_digest_list);
		st->held_digest_list = col_dup(s, 1);
		out->list = st->held_digest_list;
		out->period_start = sqlite3_column_int64(s, 2);
		out->period_end = sqlite3_column_int64(s, 3);
		out->created = sqlite3_column_int64(s, 4);
		out->items = sqlite3_column_int64(s, 5);
		if (!out->list) {
			err_set(err, "out of memory reading a digest");
			ret = -ENOMEM;
		}
	} else if (rc == SQLITE_DONE) {
		err_set(err, "digest %lld is not in the database",
			(long long)id);
		ret = -ENOENT;
	} else
		ret = store_fail(st, err, "reading a digest");
	unbind(s);
	return ret;
}

int store_digest_create(struct store *st, const char *list,
			const char *const *sources, size_t n_sources,
			int64_t start, int64_t end, int64_t slot, int64_t now,
			bool even_empty, struct store_digest *out,
			size_t *n_deliveries, struct err *err)
{
	struct store_digest_mark prev = {0};
	sqlite3_stmt *s;
	int64_t list_id, id = 0;
	int rc, ret;

	ret = lookup_id(st, ST_LIST_ID, list, &list_id, err, "list");
	if (ret)
		return ret;
	ret = tx_begin(st, err);
	if (ret)
		return ret;
	/* Inside the transaction, so that nothing comes between what the
	 * last digest covered and what this one takes. */
	ret = store_digest_last(st, list, &prev, err);
	if (ret) {
		tx_rollback(st);
		return ret;
	}
	s = st->stmt[ST_DIGEST_INSERT];
	bind_int(s, 1, list_id);
	bind_int(s, 2, start);
	bind_int(s, 3, end);
	bind_int(s, 4, now);
	if (slot)
		bind_int(s, 5, slot);
	else
		sqlite3_bind_null(s, 5);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		id = sqlite3_column_int64(s, 0);
	else if (rc != SQLITE_DONE)
		ret = store_fail(st, err, "creating a digest");
	unbind(s);
	if (!ret && id == 0) {
		err_set(err,
			"list %s already has the digest for this "
			"scheduled time",
			list);
		ret = -EEXIST;
	}
	if (!ret) {
		s = st->stmt[ST_DIGEST_ADD_ITEM];
		bind_int(s, 1, id);
		bind_int(s, 2, prev.last_item);
		if (bind_names(s, 3, sources, n_sources)) {
			unbind(s);
			ret = -ENOMEM;
			err_set(err, "out of memory composing a digest");
		} else
			ret = exec_stmt(st, ST_DIGEST_ADD_ITEM, err,
					"recording a digest's items");
	}
	if (!ret) {
		s = st->stmt[ST_DIGEST_COUNT_ITEMS];
		bind_int(s, 1, id);
		ret = exec_stmt(st, ST_DIGEST_COUNT_ITEMS, err,
				"counting a digest's items");
	}
	if (!ret) {
		s = st->stmt[ST_DIGEST_ADD_DELIVERIES];
		bind_int(s, 1, id);
		bind_int(s, 2, list_id);
		bind_int(s, 3, even_empty);
		ret = exec_stmt(st, ST_DIGEST_ADD_DELIVERIES, err,
				"queueing deliveries");
		if (!ret && n_deliveries)
			*n_deliveries = (size_t)sqlite3_changes(st->db);
	}
	if (ret) {
		tx_rollback(st);
		return ret;
	}
	ret = tx_commit(st, err);
	if (ret)
		return ret;
	return out ? store_digest_get(st, id, out, err) : 0;
}

struct claimed {
	int64_t id, digest_id, subscriber_id;
	int attempts;
	bool quarantined; /* recovered: failed at its last stop */
};

/* Steps s (bound, RETURNING id, digest_id, subscriber_id, attempts)
 * into *rows; what the statement did stays done on failure. */
static int claimed_rows(struct store *st, sqlite3_stmt *s, const char *what,
			struct claimed **out, size_t *n_out, struct err *err)
{
	struct claimed *rows = NULL, *tmp;
	size_t n = 0, cap = 0;
	int rc, ret = 0;

	for (;;) {
		rc = sqlite3_step(s);
		if (rc == SQLITE_DONE)
			break;
		if (rc != SQLITE_ROW) {
			ret = store_fail(st, err, what);
			break;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			tmp = realloc(rows, cap * sizeof(*rows));
			if (!tmp) {
				ret = -ENOMEM;
				err_set(err, "out of memory %s", what);
				break;
			}
			rows = tmp;
		}
		rows[n].id = sqlite3_column_int64(s, 0);
		rows[n].digest_id = sqlite3_column_int64(s, 1);
		rows[n].subscriber_id = sqlite3_column_int64(s, 2);
		rows[n].attempts = sqlite3_column_int(s, 3);
		rows[n].quarantined = sqlite3_column_count(s) > 4 &&
				      strcmp(col_text(s, 4), "failed") == 0;
		n++;
	}
	unbind(s);
	*out = rows;
	*n_out = n;
	return ret;
}

/* Calls fn for each row with its recipient, from first on; returns
 * where it stopped in *done. */
static int rows_each(struct store *st, const struct claimed *rows, size_t n,
		     store_delivery_fn *fn, void *arg, size_t *done,
		     struct err *err)
{
	sqlite3_stmt *s;
	size_t i;
	int rc, ret = 0;

	for (i = 0; i < n && !ret; i++) {
		struct store_delivery d;

		s = st->stmt[ST_SUB_BY_ID];
		bind_int(s, 1, rows[i].subscriber_id);
		bind_int(s, 2, rows[i].digest_id);
		rc = sqlite3_step(s);
		if (rc != SQLITE_ROW) {
			ret = store_fail(st, err, "reading a recipient");
			unbind(s);
			break;
		}
		d.id = rows[i].id;
		d.digest_id = rows[i].digest_id;
		d.subscriber_id = rows[i].subscriber_id;
		d.attempts = rows[i].attempts;
		d.list = col_text(s, 0);
		d.address = col_text(s, 1);
		d.subscriber_state = col_text(s, 2);
		d.digest_created = sqlite3_column_int64(s, 3);
		ret = fn(&d, arg);
		unbind(s);
	}
	*done = i;
	return ret;
}

static int claim(struct store *st, int64_t digest_id, int64_t now, size_t max,
		 bool suspects, store_delivery_fn *fn, void *arg,
		 struct err *err)
{
	sqlite3_stmt *s = st->stmt[ST_DELIVERIES_CLAIM];
	struct claimed *rows = NULL;
	size_t n = 0, i = 0;
	int ret;

	/* Claim first, in one statement, then act: the rows are ours
	 * before any message is composed (RELIABILITY G9). */
	bind_int(s, 1, digest_id);
	bind_int(s, 2, now);
	bind_int(s, 3, (int64_t)max);
	bind_int(s, 4, suspects);
	ret = claimed_rows(st, s, "claiming deliveries", &rows, &n, err);
	if (!ret)
		ret = rows_each(st, rows, n, fn, arg, &i, err);
	/* Rows claimed but never given to fn go back, so that they do not
	 * wait in "sending" for the next start-up. */
	for (; i < n; i++) {
		s = st->stmt[ST_DELIVERY_UNCLAIM];
		bind_int(s, 1, rows[i].id);
		exec_stmt(st, ST_DELIVERY_UNCLAIM, NULL, "releasing rows");
	}
	free(rows);
	return ret;
}

int store_deliveries_claim(struct store *st, int64_t digest_id, int64_t now,
			   size_t max, store_delivery_fn *fn, void *arg,
			   struct err *err)
{
	return claim(st, digest_id, now, max, false, fn, arg, err);
}

int store_deliveries_claim_suspect(struct store *st, int64_t digest_id,
				   int64_t now, store_delivery_fn *fn,
				   void *arg, struct err *err)
{
	return claim(st, digest_id, now, 1, true, fn, arg, err);
}

int store_delivery_sent(struct store *st, int64_t id, int64_t now,
			struct err *err)
{
	sqlite3_stmt *s = st->stmt[ST_DELIVERY_SENT];

	bind_int(s, 1, id);
	bind_int(s, 2, now);
	return exec_stmt(st, ST_DELIVERY_SENT, err, "recording a delivery");
}

int store_delivery_failed(struct store *st, int64_t id, bool permanent,
			  int64_t next_try, const char *error, struct err *err)
{
	sqlite3_stmt *s = st->stmt[ST_DELIVERY_FAILED];

	bind_int(s, 1, id);
	bind_int(s, 2, permanent);
	bind_int(s, 3, next_try);
	bind_text(s, 4, error);
	bind_int(s, 5, 0);
	return exec_stmt(st, ST_DELIVERY_FAILED, err, "recording a failure");
}

/* As store_delivery_failed, not permanent, and the try is not counted:
 * the server, not the message, was at fault (RELIABILITY G5). */
static int delivery_waits(struct store *st, int64_t id, int64_t next_try,
			  const char *error, struct err *err)
{
	sqlite3_stmt *s = st->stmt[ST_DELIVERY_FAILED];

	bind_int(s, 1, id);
	bind_int(s, 2, 0);
	bind_int(s, 3, next_try);
	bind_text(s, 4, error);
	bind_int(s, 5, 1);
	return exec_stmt(st, ST_DELIVERY_FAILED, err, "recording a failure");
}

int store_deliveries_settle(struct store *st, const struct store_settle *rows,
			    size_t n, int64_t now, struct err *err)
{
	int ret;

	if (n == 0)
		return 0;
	ret = tx_begin(st, err);
	for (size_t i = 0; i < n && !ret; i++) {
		if (rows[i].sent)
			ret = store_delivery_sent(st, rows[i].id, now, err);
		else if (rows[i].not_counted)
			ret = delivery_waits(st, rows[i].id, rows[i].next_try,
					     rows[i].error, err);
		else
			ret = store_delivery_failed(
				st, rows[i].id, rows[i].permanent,
				rows[i].next_try, rows[i].error, err);
	}
	if (!ret)
		return tx_commit(st, err);
	tx_rollback(st);
	return ret;
}

int store_subscriber_hard_failure(struct store *st, int64_t subscriber_id,
				  int in_a_row, int64_t now, bool *suspended,
				  struct err *err)
{
	sqlite3_stmt *s = st->stmt[ST_SUB_HARD_FAILURE];
	int ret;

	bind_int(s, 1, subscriber_id);
	bind_int(s, 2, in_a_row);
	bind_int(s, 3, now);
	ret = exec_stmt(st, ST_SUB_HARD_FAILURE, err,
			"suspending a subscriber");
	*suspended = !ret && sqlite3_changes(st->db) > 0;
	return ret;
}

/* Drops the rows that were not quarantined. */
static size_t keep_quarantined(struct claimed *rows, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (rows[i].quarantined)
			rows[k++] = rows[i];
	}
	return k;
}

int store_deliveries_recover(struct store *st, int quarantine_after, size_t *n,
			     store_delivery_fn *fn, void *arg, struct err *err)
{
	sqlite3_stmt *s = st->stmt[ST_DELIVERIES_RECOVER];
	struct claimed *rows = NULL;
	size_t count = 0, k, done;
	char why[200];
	int ret;

	snprintf(why, sizeof(why),
		 "quarantined: bulletin stopped without finishing %d times "
		 "in a row while sending it; it may be what crashes it",
		 quarantine_after);
	ret = tx_begin(st, err);
	if (ret)
		return ret;
	bind_int(s, 1, quarantine_after);
	bind_text(s, 2, why);
	ret = claimed_rows(st, s, "recovering deliveries", &rows, &count, err);
	k = keep_quarantined(rows, count);
	if (!ret && fn)
		ret = rows_each(st, rows, k, fn, arg, &done, err);
	free(rows);
	if (ret) {
		tx_rollback(st);
		return ret;
	}
	ret = tx_commit(st, err);
	if (!ret && n)
		*n = count - k;
	return ret;
}

/* Steps s once for its four counts: pending, sending, sent, failed. */
static int counts_row(struct store *st, sqlite3_stmt *s,
		      struct store_delivery_counts *out, struct err *err)
{
	if (sqlite3_step(s) != SQLITE_ROW)
		return store_fail(st, err, "counting deliveries");
	out->pending = sqlite3_column_int64(s, 0);
	out->sending = sqlite3_column_int64(s, 1);
	out->sent = sqlite3_column_int64(s, 2);
	out->failed = sqlite3_column_int64(s, 3);
	return 0;
}

int store_delivery_counts(struct store *st, int64_t digest_id,
			  struct store_delivery_counts *out, struct err *err)
{
	sqlite3_stmt *s = st->stmt[ST_DELIVERY_COUNTS];
	int ret;

	bind_int(s, 1, digest_id);
	ret = counts_row(st, s, out, err);
	unbind(s);
	return ret;
}

/* ---- mail intake ---- */

/* Runs a one-row lookup (parameters already bound): 1 with *id set, 0
 * when there is no row, or a negative errno. */
static int inbound_by_key(struct store *st, const char *key, int64_t *id,
			  struct err *err)
{
	bind_text(st->stmt[ST_INBOUND_BY_KEY], 1, key);
	return find_row(st, st->stmt[ST_INBOUND_BY_KEY], id, err,
			"looking up a message");
}

/* 1 when the UID was dealt with, 2 when it was only looked at and left
 * alone, 0 when it is new. */
static int inbound_by_uid(struct store *st, const char *folder,
			  uint32_t uidvalidity, uint32_t uid, struct err *err)
{
	sqlite3_stmt *s = st->stmt[ST_INBOUND_BY_UID];
	int rc, ret = 0;

	bind_text(s, 1, folder);
	bind_int(s, 2, uidvalidity);
	bind_int(s, 3, uid);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		ret = sqlite3_column_int(s, 1) ? 2 : 1;
	else if (rc != SQLITE_DONE)
		ret = store_fail(st, err, "looking up a message");
	unbind(s);
	return ret;
}

int store_inbound_known(struct store *st, const char *key, const char *folder,
			uint32_t uidvalidity, uint32_t uid, struct err *err)
{
	int64_t id;
	int ret = 0;

	if (key)
		ret = inbound_by_key(st, key, &id, err);
	if (ret == 0 && folder)
		ret = inbound_by_uid(st, folder, uidvalidity, uid, err);
	return ret;
}

static int imap_seen_insert(struct store *st, const struct store_inbound *in,
			    int64_t inbound_id, struct err *err)
{
	sqlite3_stmt *s = st->stmt[ST_IMAP_SEEN_INSERT];

	if (!in->folder)
		return 0;
	bind_text(s, 1, in->folder);
	bind_int(s, 2, in->uidvalidity);
	bind_int(s, 3, in->uid);
	bind_int(s, 4, inbound_id);
	return exec_stmt(st, ST_IMAP_SEEN_INSERT, err, "recording a message");
}

static int inbound_insert(struct store *st, const struct store_inbound *in,
			  int64_t now, int64_t *id, struct err *err)
{
	sqlite3_stmt *s = st->stmt[ST_INBOUND_INSERT];
	int rc, ret = 0;

	bind_text(s, 1, in->key);
	bind_text(s, 2, in->via);
	bind_int(s, 3, now);
	bind_text(s, 4, in->sender);
	bind_text(s, 5, in->subject);
	bind_text(s, 6, in->outcome);
	bind_text(s, 7, in->detail);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*id = sqlite3_column_int64(s, 0);
	else
		ret = store_fail(st, err, "recording a message");
	unbind(s);
	return ret;
}

static int command_insert(struct store *st, const struct store_command_new *c,
			  int64_t inbound_id, int64_t now, struct err *err)
{
	sqlite3_stmt *s = st->stmt[ST_COMMAND_INSERT];
	int64_t list_id;
	int ret;

	ret = lookup_id(st, ST_LIST_ID, c->list, &list_id, err, "list");
	if (ret)
		return ret;
	bind_int(s, 1, list_id);
	bind_text(s, 2, c->command);
	bind_text(s, 3, c->address);
	bind_text(s, 4, c->token);
	bind_int(s, 5, c->reply ? 1 : 0);
	bind_int(s, 6, now);
	bind_int(s, 7, inbound_id);
	return exec_stmt(st, ST_COMMAND_INSERT, err, "recording a command");
}

/* Applies a bounce to its delivery: a hard one fails it (and may
 * suspend the subscriber), a soft one notes it. Idempotent. */
static int bounce_apply(struct store *st, struct store_bounce *b, int64_t now,
			struct err *err)
{
	sqlite3_stmt *s = st->stmt[ST_DELIVERY_OF];
	int64_t subscriber_id;
	int rc, ret;

	b->found = b->changed = b->suspended = false;
	b->address[0] = b->state[0] = '\0';
	bind_int(s, 1, b->delivery_id);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		ret = store_fail(st, err, "reading a bounced delivery");
		unbind(s);
		return ret;
	}
	if (rc == SQLITE_ROW && strcmp(col_text(s, 3), b->list) == 0) {
		b->found = true;
		snprintf(b->state, sizeof(b->state), "%s", col_text(s, 0));
		snprintf(b->address, sizeof(b->address), "%s", col_text(s, 2));
	}
	subscriber_id = sqlite3_column_int64(s, 1);
	unbind(s);
	if (!b->found || strcmp(b->state, "sent") != 0)
		return 0;
	s = st->stmt[ST_DELIVERY_BOUNCED];
	bind_int(s, 1, b->delivery_id);
	bind_int(s, 2, b->hard);
	bind_text(s, 3, b->error);
	ret = exec_stmt(st, ST_DELIVERY_BOUNCED, err, "recording a bounce");
	b->changed = !ret && sqlite3_changes(st->db) > 0;
	if (!ret && b->hard && b->changed)
		ret = store_subscriber_hard_failure(st, subscriber_id,
						    b->suspend_after, now,
						    &b->suspended, err);
	return ret;
}

int store_inbound_record(struct store *st, const struct store_inbound *in,
			 const char *source, const struct store_item_new *items,
			 size_t n_items, const struct store_command_new *cmd,
			 int64_t now, struct store_ingest_result *res,
			 struct err *err)
{
	struct store_ingest_result ignore;
	int64_t id = 0;
	int ret, known = 0;

	if (!res)
		res = &ignore;
	memset(res, 0, sizeof(*res));
	ret = tx_begin(st, err);
	if (ret)
		return ret;
	if (in->key)
		known = inbound_by_key(st, in->key, &id, err);
	if (known < 0) {
		ret = known;
	} else if (known) {
		ret = imap_seen_insert(st, in, id, err);
	} else {
		ret = inbound_insert(st, in, now, &id, err);
		if (!ret)
			ret = imap_seen_insert(st, in, id, err);
		if (!ret && source && n_items > 0)
			ret = items_ingest_tx(st, source, items, n_items, now,
					      res, err);
		if (!ret && cmd)
			ret = command_insert(st, cmd, id, now, err);
		if (!ret && in->bounce)
			ret = bounce_apply(st, in->bounce, now, err);
	}
	if (ret) {
		tx_rollback(st);
		memset(res, 0, sizeof(*res));
		return ret;
	}
	ret = tx_commit(st, err);
	if (ret) {
		memset(res, 0, sizeof(*res));
		return ret;
	}
	return known ? 1 : 0;
}

int store_inbound_each(struct store *st, size_t limit, store_inbound_fn *fn,
		       void *arg, struct err *err)
{
	sqlite3_stmt *s = st->stmt[ST_INBOUND_LAST];
	struct store_inbound_row r;
	int ret = 0;

	bind_int(s, 1, limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
	while (!ret && next_row(st, s, &ret, err, "reading messages")) {
		r.id = sqlite3_column_int64(s, 0);
		r.received = sqlite3_column_int64(s, 1);
		r.key = col_text(s, 2);
		r.via = col_text(s, 3);
		r.folder = col_text(s, 4);
		r.sender = col_text(s, 5);
		r.subject = col_text(s, 6);
		r.outcome = col_text(s, 7);
		r.detail = col_text(s, 8);
		ret = fn(&r, arg);
	}
	unbind(s);
	return ret;
}

int store_commands_each(struct store *st, const char *state,
			store_command_fn *fn, void *arg, struct err *err)
{
	sqlite3_stmt *s = st->stmt[ST_COMMANDS];
	struct store_command c;
	int ret = 0;

	bind_text(s, 1, state);
	while (!ret && next_row(st, s, &ret, err, "reading commands")) {
		c.id = sqlite3_column_int64(s, 0);
		c.list = col_text(s, 1);
		c.command = col_text(s, 2);
		c.address = col_text(s, 3);
		c.token = col_text(s, 4);
		c.state = col_text(s, 5);
		c.reply = sqlite3_column_int(s, 6) != 0;
		c.created = sqlite3_column_int64(s, 7);
		ret = fn(&c, arg);
	}
	unbind(s);
	return ret;
}

/* ---- subscriptions (schema 4) ----
 * Their statements are kept apart from stmt[] and prepared on first use:
 * a process that never subscribes anyone never prepares them. */

enum sub_stmt {
	SS_GET_BY_NAME,
	SS_GET_BY_ID,
	SS_UPSERT,
	SS_COMMAND_SETTLE,
	SS_NOTICE_INSERT,
	SS_EVENT_INSERT,
	SS_NOTICE_COUNTS,
	SS_CONFIRMS_HOUR,
	SS_NOTICES_CLAIM,
	SS_NOTICE_SENT,
	SS_NOTICE_FAILED,
	SS_NOTICES_RECOVER,
	SS_NOTICE_STATES,
	SS_EVENTS,
	SS_DELIVERIES,
	SS_PURGE,
	SS_PURGE_REVERT,
	SS__COUNT,
};

#define SUB_COLUMNS                                                            \
	"s.id, l.name, s.address, s.state, coalesce(s.via, ''), "              \
	"coalesce(s.awaiting, ''), s.created, s.updated, "                     \
	"coalesce(s.requested, 0), coalesce(s.confirm_issued, 0), "            \
	"coalesce(s.confirmed, 0), coalesce(s.left_at, 0)"

static const char *const sub_sql[SS__COUNT] = {
	[SS_GET_BY_NAME] = "SELECT " SUB_COLUMNS " FROM subscribers s "
			   "JOIN lists l ON l.id = s.list_id "
			   "WHERE l.name = ?1 AND s.address = ?2",
	[SS_GET_BY_ID] = "SELECT " SUB_COLUMNS " FROM subscribers s "
			 "JOIN lists l ON l.id = s.list_id WHERE s.id = ?1",
	[SS_UPSERT] =
		"INSERT INTO subscribers(list_id, address, state, created, "
		"updated, via, awaiting, requested, confirm_issued, confirmed, "
		"left_at) VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6, ?7, ?8, ?9, ?10) "
		"ON CONFLICT(list_id, address) DO UPDATE SET "
		"state = excluded.state, updated = excluded.updated, "
		"via = excluded.via, awaiting = excluded.awaiting, "
		"requested = excluded.requested, "
		"confirm_issued = excluded.confirm_issued, "
		"confirmed = excluded.confirmed, left_at = excluded.left_at "
		"RETURNING id",
	[SS_COMMAND_SETTLE] = "UPDATE commands SET state = ?2 "
			      "WHERE id = ?1 AND state = 'pending'",
	[SS_NOTICE_INSERT] = "INSERT INTO notices(list_id, address, kind, "
			     "message, created) VALUES (?1, ?2, ?3, ?4, ?5)",
	[SS_EVENT_INSERT] = "INSERT INTO sub_events(list_id, address, at, via, "
			    "what, outcome) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[SS_NOTICE_COUNTS] =
		"SELECT count(*), coalesce(sum(kind = 'confirm'), 0), "
		"coalesce(max(CASE WHEN kind = 'confirm' THEN created END), 0) "
		"FROM notices WHERE address = ?1 COLLATE NOCASE "
		"AND created > ?2 - 86400",
	[SS_CONFIRMS_HOUR] = "SELECT count(*) FROM notices WHERE "
			     "kind = 'confirm' AND created > ?1 - 3600",
	[SS_NOTICES_CLAIM] =
		"UPDATE notices SET state = 'sending', attempts = attempts + 1 "
		"WHERE id IN (SELECT id FROM notices WHERE state = 'pending' "
		"AND next_try <= ?1 ORDER BY id LIMIT ?2) RETURNING id, "
		"(SELECT name FROM lists WHERE id = list_id), address, kind, "
		"message, attempts, created",
	[SS_NOTICE_SENT] = "UPDATE notices SET state = 'sent', sent_at = ?2, "
			   "last_error = NULL WHERE id = ?1",
	[SS_NOTICE_FAILED] =
		"UPDATE notices SET state = CASE WHEN ?2 THEN 'failed' "
		"ELSE 'pending' END, next_try = ?3, last_error = ?4, "
		"attempts = attempts - ?5 WHERE id = ?1",
	[SS_NOTICES_RECOVER] = "UPDATE notices SET state = 'pending' "
			       "WHERE state = 'sending'",
	[SS_NOTICE_STATES] = "SELECT coalesce(sum(state = 'pending'), 0), "
			     "coalesce(sum(state = 'sending'), 0), "
			     "coalesce(sum(state = 'sent'), 0), "
			     "coalesce(sum(state = 'failed'), 0) FROM notices",
	[SS_EVENTS] = "SELECT e.at, l.name, e.address, e.via, e.what, "
		      "e.outcome FROM sub_events e "
		      "JOIN lists l ON l.id = e.list_id WHERE l.name = ?1 "
		      "AND (?2 IS NULL OR e.address = ?2 COLLATE NOCASE) "
		      "ORDER BY e.id DESC LIMIT ?3",
	[SS_DELIVERIES] = "SELECT d.digest_id, g.created, d.state, d.attempts, "
			  "coalesce(d.last_error, ''), coalesce(d.sent_at, 0) "
			  "FROM deliveries d JOIN digests g ON g.id = "
			  "d.digest_id WHERE d.subscriber_id = ?1 "
			  "ORDER BY d.id DESC LIMIT ?2",
	[SS_PURGE] = "DELETE FROM subscribers WHERE state = 'pending' "
		     "AND coalesce(awaiting, 'confirm') = 'confirm' "
		     "AND coalesce(requested, created) < ?1 AND NOT EXISTS "
		     "(SELECT 1 FROM deliveries WHERE subscriber_id = "
		     "subscribers.id)",
	/* Deliveries keep the row: the request alone goes. */
	[SS_PURGE_REVERT] = "UPDATE subscribers SET state = 'unsubscribed', "
			    "awaiting = NULL, confirm_issued = NULL, "
			    "updated = ?2 WHERE state = 'pending' "
			    "AND coalesce(awaiting, 'confirm') = 'confirm' "
			    "AND coalesce(requested, created) < ?1",
};

struct subs {
	sqlite3_stmt *stmt[SS__COUNT];
};

static void subs_free(struct subs *subs)
{
	if (!subs)
		return;
	for (int k = 0; k < SS__COUNT; k++)
		sqlite3_finalize(subs->stmt[k]);
	free(subs);
}

/* The statement k, prepared on first use; NULL with err set. */
static sqlite3_stmt *sub_stmt(struct store *st, enum sub_stmt k,
			      struct err *err)
{
	int rc;

	if (!st->subs) {
		st->subs = calloc(1, sizeof(*st->subs));
		if (!st->subs) {
			err_set(err, "out of memory");
			return NULL;
		}
	}
	if (st->subs->stmt[k])
		return st->subs->stmt[k];
	rc = sqlite3_prepare_v3(st->db, sub_sql[k], -1,
				SQLITE_PREPARE_PERSISTENT, &st->subs->stmt[k],
				NULL);
	if (rc != SQLITE_OK) {
		err_set(err, "database %s: internal statement s%d: %s",
			st->path, (int)k, sqlite3_errmsg(st->db));
		return NULL;
	}
	return st->subs->stmt[k];
}

/* Steps s to its end (rows ignored), then resets it. */
static int sub_exec(struct store *st, sqlite3_stmt *s, struct err *err,
		    const char *what)
{
	int rc, ret = 0;

	do {
		rc = sqlite3_step(s);
	} while (rc == SQLITE_ROW);
	if (rc != SQLITE_DONE)
		ret = store_fail(st, err, what);
	unbind(s);
	return ret;
}

static void copy_col(sqlite3_stmt *s, int i, char *out, size_t size)
{
	const char *t = col_text(s, i);

	snprintf(out, size, "%s", t ? t : "");
}

int store_sub_get(struct store *st, const char *list, const char *address,
		  int64_t id, struct store_sub *out, struct err *err)
{
	sqlite3_stmt *s = sub_stmt(st, id ? SS_GET_BY_ID : SS_GET_BY_NAME, err);
	int rc, ret = 0;

	if (!s)
		return -EIO;
	if (id) {
		bind_int(s, 1, id);
	} else {
		bind_text(s, 1, list);
		bind_text(s, 2, address);
	}
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		memset(out, 0, sizeof(*out));
		out->id = sqlite3_column_int64(s, 0);
		copy_col(s, 1, out->list, sizeof(out->list));
		copy_col(s, 2, out->address, sizeof(out->address));
		copy_col(s, 3, out->state, sizeof(out->state));
		copy_col(s, 4, out->via, sizeof(out->via));
		copy_col(s, 5, out->awaiting, sizeof(out->awaiting));
		out->created = sqlite3_column_int64(s, 6);
		out->updated = sqlite3_column_int64(s, 7);
		out->requested = sqlite3_column_int64(s, 8);
		out->confirm_issued = sqlite3_column_int64(s, 9);
		out->confirmed = sqlite3_column_int64(s, 10);
		out->left_at = sqlite3_column_int64(s, 11);
	} else if (rc == SQLITE_DONE) {
		if (id)
			err_set(err, "no subscriber %lld", (long long)id);
		else
			err_set(err, "%s is not on list %s", address, list);
		ret = -ENOENT;
	} else {
		ret = store_fail(st, err, "reading a subscriber");
	}
	unbind(s);
	return ret;
}

static void bind_or_null(sqlite3_stmt *s, int i, int64_t v)
{
	if (v)
		bind_int(s, i, v);
	else
		sqlite3_bind_null(s, i);
}

static void bind_str_or_null(sqlite3_stmt *s, int i, const char *v)
{
	bind_text(s, i, v && *v ? v : NULL);
}

static int sub_upsert(struct store *st, int64_t list_id,
		      const struct store_sub_change *ch, int64_t now,
		      int64_t *id, struct err *err)
{
	const struct store_sub *b = ch->sub;
	sqlite3_stmt *s = sub_stmt(st, SS_UPSERT, err);
	int rc, ret = 0;

	if (!s)
		return -EIO;
	bind_int(s, 1, list_id);
	bind_text(s, 2, ch->address);
	bind_text(s, 3, b->state);
	bind_int(s, 4, now);
	bind_str_or_null(s, 5, b->via);
	bind_str_or_null(s, 6, b->awaiting);
	bind_or_null(s, 7, b->requested);
	bind_or_null(s, 8, b->confirm_issued);
	bind_or_null(s, 9, b->confirmed);
	bind_or_null(s, 10, b->left_at);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*id = sqlite3_column_int64(s, 0);
	else
		ret = store_fail(st, err, "changing a subscriber");
	unbind(s);
	if (!ret && strcmp(b->state, "active") != 0) {
		s = st->stmt[ST_SUB_CANCEL_DELIVERIES];
		bind_int(s, 1, *id);
		ret = exec_stmt(st, ST_SUB_CANCEL_DELIVERIES, err,
				"cancelling deliveries");
	}
	return ret;
}

static int sub_apply_tx(struct store *st, const struct store_sub_change *ch,
			int64_t list_id, int64_t now, int64_t *id,
			struct err *err)
{
	sqlite3_stmt *s;
	struct buf msg;
	int ret = 0;

	if (ch->command_id) {
		s = sub_stmt(st, SS_COMMAND_SETTLE, err);
		if (!s)
			return -EIO;
		bind_int(s, 1, ch->command_id);
		bind_text(s, 2, ch->command_state ? ch->command_state : "done");
		ret = sub_exec(st, s, err, "settling a command");
		if (!ret && sqlite3_changes(st->db) == 0) {
			err_set(err, "command %lld was dealt with already",
				(long long)ch->command_id);
			return -EALREADY;
		}
	}
	if (!ret && ch->sub)
		ret = sub_upsert(st, list_id, ch, now, id, err);
	if (!ret && ch->notice_kind && ch->render) {
		buf_init(&msg, BUF_MAX_TEXT);
		ret = ch->render(*id, &msg, ch->render_arg);
		if (ret) {
			err_set(err, "cannot build the %s reply to %s: %s",
				ch->notice_kind, ch->address, strerror(-ret));
		} else {
			s = sub_stmt(st, SS_NOTICE_INSERT, err);
			if (!s) {
				ret = -EIO;
			} else {
				bind_int(s, 1, list_id);
				bind_text(s, 2, ch->address);
				bind_text(s, 3, ch->notice_kind);
				bind_text(s, 4, buf_str(&msg));
				bind_int(s, 5, now);
				ret = sub_exec(st, s, err, "queueing a reply");
			}
		}
		buf_free(&msg);
	}
	if (!ret && ch->event_what) {
		s = sub_stmt(st, SS_EVENT_INSERT, err);
		if (!s)
			return -EIO;
		bind_int(s, 1, list_id);
		bind_text(s, 2, ch->address);
		bind_int(s, 3, now);
		bind_text(s, 4, ch->event_via ? ch->event_via : "");
		bind_text(s, 5, ch->event_what);
		bind_text(s, 6, ch->event_outcome ? ch->event_outcome : "");
		ret = sub_exec(st, s, err, "recording a request");
	}
	return ret;
}

int store_sub_apply(struct store *st, const struct store_sub_change *ch,
		    int64_t now, int64_t *sub_id, struct err *err)
{
	int64_t list_id, id = 0;
	int ret;

	ret = lookup_id(st, ST_LIST_ID, ch->list, &list_id, err, "list");
	if (ret)
		return ret;
	if (ch->sub && ch->sub->id)
		id = ch->sub->id;
	ret = tx_begin(st, err);
	if (ret)
		return ret;
	ret = sub_apply_tx(st, ch, list_id, now, &id, err);
	if (ret) {
		tx_rollback(st);
		return ret;
	}
	ret = tx_commit(st, err);
	if (!ret && sub_id)
		*sub_id = id;
	return ret;
}

int store_notice_counts(struct store *st, const char *address, int64_t now,
			struct store_notice_counts *out, struct err *err)
{
	sqlite3_stmt *s = sub_stmt(st, SS_NOTICE_COUNTS, err);
	int rc, ret = 0;

	if (!s)
		return -EIO;
	memset(out, 0, sizeof(*out));
	bind_text(s, 1, address);
	bind_int(s, 2, now);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		out->day = sqlite3_column_int64(s, 0);
		out->confirms_day = sqlite3_column_int64(s, 1);
		out->last_confirm = sqlite3_column_int64(s, 2);
	} else {
		ret = store_fail(st, err, "counting replies");
	}
	unbind(s);
	if (ret)
		return ret;
	s = sub_stmt(st, SS_CONFIRMS_HOUR, err);
	if (!s)
		return -EIO;
	bind_int(s, 1, now);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		out->confirms_hour_all = sqlite3_column_int64(s, 0);
	else
		ret = store_fail(st, err, "counting confirmations");
	unbind(s);
	return ret;
}

int store_notices_claim(struct store *st, int64_t now, size_t max,
			store_notice_fn *fn, void *arg, struct err *err)
{
	sqlite3_stmt *s = sub_stmt(st, SS_NOTICES_CLAIM, err);
	struct store_notice n;
	int rc, ret = 0;
	struct claimed {
		int64_t id, created;
		int attempts;
		char *list, *address, *kind, *message;
	} *rows = NULL;
	size_t count = 0, i;

	if (!s)
		return -EIO;
	if (max == 0)
		return 0;
	rows = calloc(max, sizeof(*rows));
	if (!rows) {
		err_set(err, "out of memory");
		return -ENOMEM;
	}
	/* RETURNING rows are all produced by the first step; copy them so
	 * that fn may use the store. */
	bind_int(s, 1, now);
	bind_int(s, 2, (int64_t)max);
	while (count < max && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		rows[count].id = sqlite3_column_int64(s, 0);
		rows[count].list = col_dup(s, 1);
		rows[count].address = col_dup(s, 2);
		rows[count].kind = col_dup(s, 3);
		rows[count].message = col_dup(s, 4);
		rows[count].attempts = sqlite3_column_int(s, 5);
		rows[count].created = sqlite3_column_int64(s, 6);
		count++;
	}
	if (count < max && rc != SQLITE_DONE)
		ret = store_fail(st, err, "claiming replies");
	unbind(s);
	for (i = 0; i < count && !ret; i++) {
		if (!rows[i].list || !rows[i].address || !rows[i].kind ||
		    !rows[i].message) {
			err_set(err, "out of memory");
			ret = -ENOMEM;
			break;
		}
		n.id = rows[i].id;
		n.list = rows[i].list;
		n.address = rows[i].address;
		n.kind = rows[i].kind;
		n.message = rows[i].message;
		n.attempts = rows[i].attempts;
		n.created = rows[i].created;
		ret = fn(&n, arg);
		if (ret)
			i++;
	}
	/* Rows not given to fn go back. */
	for (; i < count; i++) {
		sqlite3_stmt *f = sub_stmt(st, SS_NOTICE_FAILED, NULL);

		if (!f)
			break;
		bind_int(f, 1, rows[i].id);
		bind_int(f, 2, 0);
		bind_int(f, 3, 0);
		bind_text(f, 4, NULL);
		bind_int(f, 5, 1);
		sub_exec(st, f, NULL, "returning a reply");
	}
	for (i = 0; i < count; i++) {
		free(rows[i].list);
		free(rows[i].address);
		free(rows[i].kind);
		free(rows[i].message);
	}
	free(rows);
	return ret;
}

int store_notices_settle(struct store *st, const struct store_settle *rows,
			 size_t n, int64_t now, struct err *err)
{
	sqlite3_stmt *s;
	int ret;

	if (n == 0)
		return 0;
	ret = tx_begin(st, err);
	for (size_t i = 0; i < n && !ret; i++) {
		if (rows[i].sent) {
			s = sub_stmt(st, SS_NOTICE_SENT, err);
			if (!s) {
				ret = -EIO;
				break;
			}
			bind_int(s, 1, rows[i].id);
			bind_int(s, 2, now);
		} else {
			s = sub_stmt(st, SS_NOTICE_FAILED, err);
			if (!s) {
				ret = -EIO;
				break;
			}
			bind_int(s, 1, rows[i].id);
			bind_int(s, 2, rows[i].permanent ? 1 : 0);
			bind_int(s, 3, rows[i].next_try);
			bind_text(s, 4, rows[i].error);
			bind_int(s, 5, rows[i].not_counted ? 1 : 0);
		}
		ret = sub_exec(st, s, err, "settling a reply");
	}
	if (!ret)
		return tx_commit(st, err);
	tx_rollback(st);
	return ret;
}

int store_notices_recover(struct store *st, size_t *n, struct err *err)
{
	sqlite3_stmt *s = sub_stmt(st, SS_NOTICES_RECOVER, err);
	int ret;

	if (!s)
		return -EIO;
	ret = sub_exec(st, s, err, "recovering replies");
	if (!ret && n)
		*n = (size_t)sqlite3_changes(st->db);
	return ret;
}

int store_notice_states(struct store *st, struct store_delivery_counts *out,
			struct err *err)
{
	sqlite3_stmt *s = sub_stmt(st, SS_NOTICE_STATES, err);
	int rc, ret = 0;

	if (!s)
		return -EIO;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		out->pending = sqlite3_column_int64(s, 0);
		out->sending = sqlite3_column_int64(s, 1);
		out->sent = sqlite3_column_int64(s, 2);
		out->failed = sqlite3_column_int64(s, 3);
	} else {
		ret = store_fail(st, err, "counting replies");
	}
	unbind(s);
	return ret;
}

int store_sub_events_each(struct store *st, const char *list,
			  const char *address, size_t limit,
			  store_sub_event_fn *fn, void *arg, struct err *err)
{
	sqlite3_stmt *s = sub_stmt(st, SS_EVENTS, err);
	struct store_sub_event e;
	int ret = 0;

	if (!s)
		return -EIO;
	bind_text(s, 1, list);
	bind_text(s, 2, address);
	bind_int(s, 3, limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
	while (!ret && next_row(st, s, &ret, err, "reading requests")) {
		e.at = sqlite3_column_int64(s, 0);
		e.list = col_text(s, 1);
		e.address = col_text(s, 2);
		e.via = col_text(s, 3);
		e.what = col_text(s, 4);
		e.outcome = col_text(s, 5);
		ret = fn(&e, arg);
	}
	unbind(s);
	return ret;
}

int store_sub_deliveries_each(struct store *st, int64_t sub_id, size_t limit,
			      store_sub_delivery_fn *fn, void *arg,
			      struct err *err)
{
	sqlite3_stmt *s = sub_stmt(st, SS_DELIVERIES, err);
	struct store_sub_delivery d;
	int ret = 0;

	if (!s)
		return -EIO;
	bind_int(s, 1, sub_id);
	bind_int(s, 2, limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
	while (!ret && next_row(st, s, &ret, err, "reading deliveries")) {
		d.digest_id = sqlite3_column_int64(s, 0);
		d.digest_created = sqlite3_column_int64(s, 1);
		d.state = col_text(s, 2);
		d.attempts = sqlite3_column_int(s, 3);
		d.last_error = col_text(s, 4);
		d.sent_at = sqlite3_column_int64(s, 5);
		ret = fn(&d, arg);
	}
	unbind(s);
	return ret;
}

int store_sub_purge(struct store *st, int64_t before, int64_t now, size_t *n,
		    struct err *err)
{
	sqlite3_stmt *del = sub_stmt(st, SS_PURGE, err);
	sqlite3_stmt *revert = del ? sub_stmt(st, SS_PURGE_REVERT, err) : NULL;
	size_t done = 0;
	int ret;

	if (!revert)
		return -EIO;
	ret = tx_begin(st, err);
	if (ret)
		return ret;
	bind_int(del, 1, before);
	ret = sub_exec(st, del, err, "purging expired requests");
	if (!ret) {
		done = (size_t)sqlite3_changes(st->db);
		/* What is left of them has deliveries. */
		bind_int(revert, 1, before);
		bind_int(revert, 2, now);
		ret = sub_exec(st, revert, err, "purging expired requests");
	}
	if (!ret) {
		done += (size_t)sqlite3_changes(st->db);
		ret = tx_commit(st, err);
	}
	if (ret) {
		tx_rollback(st);
		return ret;
	}
	if (n)
		*n = done;
	return 0;
}

/* ---- the daemon's own state ---- */

/* Prepares sql, or fails with err. Rare statements only: each call
 * prepares anew. */
static sqlite3_stmt *prepare_once(struct store *st, const char *sql,
				  struct err *err)
{
	sqlite3_stmt *s = NULL;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
		store_fail(st, err, "preparing a query");
		sqlite3_finalize(s);
		return NULL;
	}
	return s;
}

/* Steps a prepared statement to its end and finalizes it. */
static int run_once(struct store *st, sqlite3_stmt *s, struct err *err,
		    const char *what)
{
	int rc;

	do {
		rc = sqlite3_step(s);
	} while (rc == SQLITE_ROW);
	if (rc != SQLITE_DONE) {
		int ret = store_fail(st, err, what);

		sqlite3_finalize(s);
		return ret;
	}
	sqlite3_finalize(s);
	return 0;
}

static int daemon_beat(struct store *st, const struct store_daemon *d,
		       const struct store_daemon_log *lines, size_t n,
		       struct err *err)
{
	sqlite3_stmt *s;
	int ret;

	ret = tx_begin(st, err);
	if (ret)
		return ret;
	s = prepare_once(
		st,
		"INSERT INTO daemon(id, pid, started, beat, version, "
		"http) VALUES (1, ?1, ?2, ?3, ?4, ?5) "
		"ON CONFLICT(id) DO UPDATE SET pid = ?1, started = ?2, "
		"beat = ?3, version = ?4, http = ?5",
		err);
	if (!s) {
		ret = -EIO;
		goto fail;
	}
	bind_int(s, 1, d->pid);
	bind_int(s, 2, d->started);
	bind_int(s, 3, d->beat);
	bind_text(s, 4, d->version);
	bind_text(s, 5, d->http);
	ret = run_once(st, s, err, "recording the daemon's heartbeat");
	for (size_t i = 0; !ret && i < n; i++) {
		s = prepare_once(st,
				 "INSERT INTO daemon_log(at, level, message) "
				 "VALUES (?1, ?2, ?3)",
				 err);
		if (!s) {
			ret = -EIO;
			break;
		}
		bind_int(s, 1, lines[i].at);
		bind_text(s, 2, lines[i].level);
		bind_text(s, 3, lines[i].message);
		ret = run_once(st, s, err, "recording the daemon's log");
	}
	if (!ret && n) {
		s = prepare_once(st,
				 "DELETE FROM daemon_log WHERE id <= "
				 "(SELECT max(id) FROM daemon_log) - ?1",
				 err);
		if (!s)
			ret = -EIO;
		else {
			bind_int(s, 1, STORE_DAEMON_LOG_KEEP);
			ret = run_once(st, s, err, "trimming the daemon's log");
		}
	}
	if (ret)
		goto fail;
	return tx_commit(st, err);
fail:
	tx_rollback(st);
	return ret;
}

int store_daemon_beat(struct store *st, const struct store_daemon *d,
		      const struct store_daemon_log *lines, size_t n,
		      struct err *err)
{
	int ret;

	/* A probe, on the loop thread: it learns within a second that
	 * another process holds the lock, rather than waiting the full
	 * busy timeout; and it does not wait for an fsync (like a fetch
	 * result, the next FULL commit makes it durable). */
	sqlite3_busy_timeout(st->db, STORE_BEAT_BUSY_MS);
	sync_lazy(st, true);
	ret = daemon_beat(st, d, lines, n, err);
	sync_lazy(st, false);
	sqlite3_busy_timeout(st->db, STORE_BUSY_TIMEOUT_MS);
	return ret;
}

int store_daemon_get(struct store *st, struct store_daemon *out,
		     struct err *err)
{
	sqlite3_stmt *s;
	int rc, ret = 0;

	s = prepare_once(st,
			 "SELECT pid, started, beat, version, http FROM daemon "
			 "WHERE id = 1",
			 err);
	if (!s)
		return -EIO;
	free(st->held_daemon[0]);
	free(st->held_daemon[1]);
	st->held_daemon[0] = st->held_daemon[1] = NULL;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		out->pid = sqlite3_column_int64(s, 0);
		out->started = sqlite3_column_int64(s, 1);
		out->beat = sqlite3_column_int64(s, 2);
		st->held_daemon[0] = col_dup(s, 3);
		st->held_daemon[1] = col_dup(s, 4);
		out->version = st->held_daemon[0];
		out->http = st->held_daemon[1];
	} else if (rc == SQLITE_DONE)
		ret = -ENOENT;
	else
		ret = store_fail(st, err, "reading the daemon's heartbeat");
	sqlite3_finalize(s);
	return ret;
}

int store_daemon_log_each(struct store *st, size_t limit,
			  store_daemon_log_fn *fn, void *arg, struct err *err)
{
	struct store_daemon_log line;
	sqlite3_stmt *s;
	int ret = 0;

	s = prepare_once(st,
			 "SELECT at, level, message FROM daemon_log "
			 "ORDER BY id DESC LIMIT ?1",
			 err);
	if (!s)
		return -EIO;
	bind_int(s, 1, limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
	while (!ret && next_row(st, s, &ret, err, "reading the daemon's log")) {
		line.at = sqlite3_column_int64(s, 0);
		line.level = col_text(s, 1);
		line.message = col_text(s, 2);
		ret = fn(&line, arg);
	}
	sqlite3_finalize(s);
	return ret;
}

int store_outbox_counts(struct store *st, struct store_delivery_counts *out,
			struct err *err)
{
	sqlite3_stmt *s;
	int ret;

	/* Each count is a search of the state index, not a table scan. */
	s = prepare_once(
		st,
		"SELECT (SELECT count(*) FROM deliveries WHERE state = "
		"'pending'), (SELECT count(*) FROM deliveries WHERE state = "
		"'sending'), (SELECT count(*) FROM deliveries WHERE state = "
		"'sent'), (SELECT count(*) FROM deliveries WHERE state = "
		"'failed')",
		err);
	if (!s)
		return -EIO;
	ret = counts_row(st, s, out, err);
	sqlite3_finalize(s);
	return ret;
}

bool store_last_fault(const struct store *st, struct store_fault *out)
{
	if (!st->fault_at)
		return false;
	out->at = st->fault_at;
	out->current = st->fault_current;
	out->code = st->fault_code;
	out->msg = st->fault;
	return true;
}
