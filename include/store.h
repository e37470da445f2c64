/*
 * store: the only module that speaks SQL. Owns the SQLite connection, the
 * schema and its forward migrations (PRAGMA user_version), and every
 * statement, prepared once with bound parameters. Exposes domain verbs;
 * a change to several rows is one function with one transaction inside.
 * Used from one thread per connection: bulletind's loop thread, or
 * bulletinctl, each with its own connection (WAL lets them run side by
 * side; busy_timeout absorbs short waits).
 */
#ifndef BULLETIN_STORE_H
#define BULLETIN_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "config.h"
#include "log.h"
#include "neardup.h"

#define STORE_SCHEMA_VERSION 8
#define STORE_BUSY_TIMEOUT_MS 5000
#define STORE_BEAT_BUSY_MS 1000 /* store_daemon_beat's wait for a lock */

struct store;

/* Opens (creating if needed) and migrates the database at path. Returns
 * NULL with err naming the file, the problem and what to do. */
struct store *store_open(const char *path, struct err *err);

/* Closes; accepts NULL. */
void store_close(struct store *st);

/* The schema version of an open store. */
int store_schema_version(struct store *st);

/* Sets the near-duplicate thresholds (copied) used by every later
 * ingest and by store_item_nearest; a new store has neardup's
 * defaults. */
void store_set_dedupe(struct store *st, const struct neardup_params *p);

/* Sets them from cfg's [dedupe] (store_sync_config does this too). */
void store_use_config(struct store *st, const struct config *cfg);

/* Makes the sources, lists and themes tables match the config (adds the
 * new, updates URLs, titles and source priorities; never deletes stored
 * items). A source
 * whose URL changed starts afresh: no validators, no moved URL, not
 * disabled, due now. */
int store_sync_config(struct store *st, const struct config *cfg,
		      struct err *err);

/* ---- sources ---- */

/* A source's fetch state. Strings are owned; free with
 * store_source_finish. */
struct store_source {
	int64_t id;
	char *name;
	char *url;
	char *etag;
	char *last_modified;
	char *last_error;
	int64_t last_fetch;   /* 0 = never */
	int64_t last_success; /* 0 = never */
	int64_t next_poll;    /* 0 = as soon as possible */
	int last_status;      /* last HTTP status, 0 = none */
	int failures;	      /* consecutive failed fetches */
	int64_t items;	      /* items stored from this source */
	char *moved_url;      /* where a permanent redirect led, or NULL */
	char *disabled;	      /* why polling stopped (410 Gone), or NULL */
};

void store_source_finish(struct store_source *s);

/* Returns 0, -ENOENT (no such source in the store) or -EIO. */
int store_source_get(struct store *st, const char *name,
		     struct store_source *out, struct err *err);

/* Calls fn for each source in name order; a non-zero return from fn stops
 * the walk and is returned. The struct is valid only during the call. */
typedef int store_source_fn(const struct store_source *s, void *arg);
int store_sources_each(struct store *st, store_source_fn *fn, void *arg,
		       struct err *err);

/* The outcome of one fetch, recorded on the source's row. */
struct store_fetch_outcome {
	int64_t when;
	bool success;
	int status;		   /* HTTP status, 0 for none */
	const char *error;	   /* NULL on success */
	const char *etag;	   /* validators to send next time, or NULL */
	const char *last_modified; /* (kept as they were when NULL) */
	int64_t next_poll;
	const char *moved_url; /* a new permanent URL, or NULL to keep */
	const char *disable;   /* stop polling, for this reason, or NULL; a
				  later success re-enables the source */
};

int store_source_record(struct store *st, const char *name,
			const struct store_fetch_outcome *o, struct err *err);

/* ---- items ---- */

/* An item ready to store. All strings are borrowed for the call. */
struct store_item_new {
	const char *guid; /* required: the feed's id, link or fingerprint */
	const char *link;
	const char *canon_link; /* canonical URL for exact dedupe, or NULL */
	const char *title;
	const char *author;
	const char *text;	 /* plain text body */
	const char *theme;	 /* theme name or "other" */
	const char *fingerprint; /* of the normalised text, or NULL */
	int64_t published;	 /* Unix time; 0 = use first-seen time */
	/* title and text shingled by neardup_doc_create (borrowed), or
	 * NULL for the store to do it: a caller can shingle on a worker
	 * thread what the store then compares on its own. */
	const struct neardup_doc *doc;
};

struct store_ingest_result {
	size_t added;	   /* new items */
	size_t duplicates; /* of those, stored as duplicate_of another */
	size_t known;	   /* already stored, unchanged */
	size_t updated;	   /* already stored, edited at the source: the
			      row is updated in place */
};

/* Stores a batch of items from one source in one transaction. An item
 * already stored (same source and guid) is updated in place when its
 * title, link, author or text changed (keeping its id and first-seen
 * time, so it is not sent again), and otherwise left as it is. A new item
 * that repeats a stored story (dedupe_relation: the same global id, the
 * same canonical link, the same fingerprint, or text neardup judges
 * similar to or contained in another's) is stored as duplicate_of the
 * story's kept item, with the relation, its score and the item it was
 * compared with. When dedupe_keep_new prefers the new copy (a longer
 * text that contains the kept one, a source of higher priority, an
 * earlier publication), the new copy becomes the kept item and the
 * story's other copies point at it; never once the kept item has gone
 * out in a digest. Items of the batch see the ones before them. */
int store_items_ingest(struct store *st, const char *source,
		       const struct store_item_new *items, size_t n,
		       int64_t now, struct store_ingest_result *res,
		       struct err *err);

/* A batch: from store_batch_begin to store_batch_commit, the fetch
 * results stored with store_items_ingest and store_source_record (and
 * nothing else) go into one transaction, committed as fetch results are
 * (see store_source_record), so that a cycle of many sources commits a
 * few times rather than twice per source. A call that fails inside a
 * batch leaves it to store_batch_rollback, which undoes the whole batch:
 * the caller may then store its parts one by one, so that one failing
 * part does not hold the others. */
int store_batch_begin(struct store *st, struct err *err);
/* Commits (and ends) the batch; on failure nothing of it is stored. */
int store_batch_commit(struct store *st, struct err *err);
/* Undoes and ends the batch; nothing if none is open. */
void store_batch_rollback(struct store *st);

/* A stored item; strings valid only during the callback. */
struct store_item {
	int64_t id;
	const char *source; /* source name */
	const char *guid;
	const char *title;
	const char *link;
	const char *author;
	const char *text;
	const char *theme;
	int64_t published;
	int64_t first_seen;
	int64_t duplicate_of;	  /* 0 = none */
	const char *dup_relation; /* dedupe_relation_name, or NULL */
	double dup_score;	  /* the similarity or containment */
	int64_t dup_match;	  /* the item it was compared with, 0 */
	const char *canon_link;
};

typedef int store_item_fn(const struct store_item *item, void *arg);

/* Calls fn once with item id. Returns 0, or -ENOENT (with err) when
 * there is no such item. */
int store_item_get(struct store *st, int64_t id, store_item_fn *fn, void *arg,
		   struct err *err);

/* Calls fn for each item stored as duplicate_of id, oldest first. */
int store_item_copies(struct store *st, int64_t id, store_item_fn *fn,
		      void *arg, struct err *err);

/* A stored item near another, as ingest compared them. */
struct store_near {
	int64_t id;
	int64_t duplicate_of; /* its own kept item, or 0 */
	size_t keys;	      /* index keys it shares with the item */
	struct neardup_match m;
	enum dedupe_relation rel; /* neardup_judge, from the item's side */
	double score;
};
typedef int store_near_fn(const struct store_near *n, void *arg);

/* The candidates ingest would compare item id with (found through the
 * key index, most shared keys first, at most max), each compared in
 * full. Nothing is changed. */
int store_item_nearest(struct store *st, int64_t id, size_t max,
		       store_near_fn *fn, void *arg, struct err *err);

/* Items of the given sources with an id above after_id, first seen in
 * (since, until], newest first (by published). n_sources == 0 means
 * every source. */
int store_items_each(struct store *st, const char *const *sources,
		     size_t n_sources, int64_t after_id, int64_t since,
		     int64_t until, store_item_fn *fn, void *arg,
		     struct err *err);

/* The items recorded for a digest when it was composed. */
int store_digest_items_each(struct store *st, int64_t digest_id,
			    store_item_fn *fn, void *arg, struct err *err);

/* ---- subscribers ---- */

/* States: "pending", "active", "suspended", "unsubscribed". */
struct store_subscriber {
	int64_t id;
	const char *list;
	const char *address;
	const char *state;
	int64_t created;
	int64_t updated;
};

/* Adds address to list with state, or sets the state of an existing row.
 * *id (may be NULL) receives the row id. */
int store_subscriber_put(struct store *st, const char *list,
			 const char *address, const char *state, int64_t now,
			 int64_t *id, struct err *err);

/* Sets the state; "unsubscribed" also cancels the subscriber's pending
 * deliveries, in the same transaction. Returns -ENOENT when the address
 * is not on the list. */
int store_subscriber_set_state(struct store *st, const char *list,
			       const char *address, const char *state,
			       int64_t now, struct err *err);

/* Returns 0 with *out filled (its strings valid until the next
 * store_subscriber_get), or -ENOENT. */
int store_subscriber_get(struct store *st, const char *list,
			 const char *address, struct store_subscriber *out,
			 struct err *err);

typedef int store_subscriber_fn(const struct store_subscriber *s, void *arg);
int store_subscribers_each(struct store *st, const char *list,
			   store_subscriber_fn *fn, void *arg, struct err *err);

/* ---- digests and deliveries ---- */

/* Where the list's digests have got to; all 0 when it has none. */
struct store_digest_mark {
	int64_t period_end; /* end of the latest period */
	int64_t slot;	    /* latest schedule slot with a digest */
	int64_t last_item;  /* highest item id a digest has covered */
};

int store_digest_last(struct store *st, const char *list,
		      struct store_digest_mark *out, struct err *err);

struct store_digest {
	int64_t id;
	const char *list;
	int64_t period_start;
	int64_t period_end;
	int64_t created;
	int64_t items; /* stories: items that repeat no other */
};

/* Composes a digest in one transaction: the digest row, its items (those
 * of the sources stored since the list's previous digest, by item id so
 * that none falls between two digests) and, when it has items or
 * even_empty is set (a list that sends a "nothing new" note), one
 * pending delivery per active subscriber. slot is the scheduled time the
 * digest is for (0 for one sent by hand): a list has at most one digest
 * per slot, so a second compose for the same slot returns -EEXIST and
 * changes nothing. *out (may be NULL) receives the digest (its list
 * string valid until the next store_digest_get or _create). A digest with no
 * items is still recorded, so that its period and slot are not covered twice.
 */
int store_digest_create(struct store *st, const char *list,
			const char *const *sources, size_t n_sources,
			int64_t start, int64_t end, int64_t slot, int64_t now,
			bool even_empty, struct store_digest *out,
			size_t *n_deliveries, struct err *err);

int store_digest_get(struct store *st, int64_t id, struct store_digest *out,
		     struct err *err);

/* States: "pending", "sending", "sent", "failed". */
struct store_delivery {
	int64_t id;
	int64_t digest_id;
	int64_t subscriber_id;
	const char *list;
	const char *address;
	const char *subscriber_state; /* "active", "unsubscribed"... */
	int64_t digest_created;	      /* when the digest was composed */
	int attempts;		      /* this one included */
};

typedef int store_delivery_fn(const struct store_delivery *d, void *arg);

/* Claims up to max pending deliveries due at now (of digest_id, or of
 * any digest when 0; the longest due first, then in the order they were
 * composed; suspects left out), marking them "sending" in one statement,
 * then calls
 * fn for each. When fn fails, the walk stops and the rows not yet given
 * to fn go back to "pending". */
int store_deliveries_claim(struct store *st, int64_t digest_id, int64_t now,
			   size_t max, store_delivery_fn *fn, void *arg,
			   struct err *err);

/* As store_deliveries_claim, for at most one suspect: a row that was in
 * flight at an unclean stop (store_deliveries_recover) and has not been
 * tried since. A caller sends a suspect alone, nothing else in flight,
 * so that a crash while sending it counts against it only. */
int store_deliveries_claim_suspect(struct store *st, int64_t digest_id,
				   int64_t now, store_delivery_fn *fn,
				   void *arg, struct err *err);

int store_delivery_sent(struct store *st, int64_t id, int64_t now,
			struct err *err);

/* A failed attempt: permanent marks it "failed", else it goes back to
 * "pending" with next_try. */
int store_delivery_failed(struct store *st, int64_t id, bool permanent,
			  int64_t next_try, const char *error, struct err *err);

/* Settles many deliveries in one transaction: sent, or failed as in
 * store_delivery_failed. All or none. */
struct store_settle {
	int64_t id;
	bool sent;
	bool permanent;	   /* when not sent: failed for good */
	bool not_counted;  /* when not sent: the try does not count */
	int64_t next_try;  /* when not sent and not permanent */
	const char *error; /* when not sent */
};
int store_deliveries_settle(struct store *st, const struct store_settle *rows,
			    size_t n, int64_t now, struct err *err);

/* After a delivery to subscriber_id failed for good: when its last
 * in_a_row deliveries all failed, an active subscriber becomes
 * "suspended" (*suspended says so). */
int store_subscriber_hard_failure(struct store *st, int64_t subscriber_id,
				  int in_a_row, int64_t now, bool *suspended,
				  struct err *err);

/* At start-up: rows left "sending" by an unclean stop (a crash, kill -9)
 * go back to "pending", each counting the stop, and are suspects (see
 * store_deliveries_claim_suspect) until a try of theirs ends. A row that
 * was in flight at quarantine_after stops in a row fails instead, with a
 * reason saying it was quarantined: it may be what crashes the process
 * (RELIABILITY G8). *n (may be NULL) receives how many went back; fn
 * (may be NULL) is called for each quarantined row (attempts as counted;
 * subscriber_state as now). All in one transaction. */
int store_deliveries_recover(struct store *st, int quarantine_after, size_t *n,
			     store_delivery_fn *fn, void *arg, struct err *err);

/* Counts deliveries of a digest by state. */
struct store_delivery_counts {
	int64_t pending, sending, sent, failed;
};
int store_delivery_counts(struct store *st, int64_t digest_id,
			  struct store_delivery_counts *out, struct err *err);

/* Every digest of list (all lists when NULL), oldest first, with its
 * deliveries counted by state; strings valid during the call. */
typedef int store_digest_fn(const struct store_digest *d,
			    const struct store_delivery_counts *c, void *arg);
int store_digests_each(struct store *st, const char *list, store_digest_fn *fn,
		       void *arg, struct err *err);

/* ---- mail intake ---- */

/* A message the mail intake has dealt with. */
struct store_inbound {
	/* What makes two copies one message: "<Message-ID>", or
	 * "sha256:HEX" of the bytes when there is none. NULL for a message
	 * only looked at (ignored, quarantined): it claims nothing, so a
	 * copy in the right place is still taken. */
	const char *key;
	const char *via;	     /* "imap" or "pipe" */
	const char *folder;	     /* IMAP folder, or NULL (pipe) */
	uint32_t uidvalidity;	     /* IMAP only */
	uint32_t uid;		     /* IMAP only */
	const char *sender;	     /* From addr-spec, or NULL */
	const char *subject;	     /* or NULL */
	const char *outcome;	     /* "briefing", "command", "ignored",
					"quarantined" */
	const char *detail;	     /* source; list and command; or why */
	struct store_bounce *bounce; /* a bounce to apply, or NULL */
};

/* A bounce (a delivery status report to a digest's VERP address) that
 * store_inbound_record applies with the message, when it is new: a hard
 * one fails the delivery, if it was sent, and suspends the subscriber
 * whose last suspend_after deliveries all failed; a soft one only sets
 * the delivery's last error. */
struct store_bounce {
	int64_t delivery_id; /* from the VERP token */
	const char *list;    /* the list the token was made for */
	bool hard;
	const char *error; /* for the delivery row */
	int suspend_after;
	/* Filled in: */
	bool found;	   /* the delivery is in the database, of list */
	char state[16];	   /* its state before */
	char address[256]; /* its subscriber */
	bool changed;	   /* the row was sent, and now notes the bounce */
	bool suspended;	   /* the subscriber was suspended now */
};

/* A command for the subscription code, from a command address. */
struct store_command_new {
	const char *list;
	const char *command; /* subscribe, unsubscribe, confirm or help */
	const char *address; /* who asked */
	const char *token;   /* from the address, or NULL */
	bool reply;	     /* false when a loop guard fired */
};

/* Whether the intake has dealt with the message already: by key (may be
 * NULL), or by folder, uidvalidity and uid (folder may be NULL). Returns
 * 1 (dealt with), 2 (that UID was looked at and left alone: ignored or
 * quarantined), 0 (new), or a negative errno. */
int store_inbound_known(struct store *st, const char *key, const char *folder,
			uint32_t uidvalidity, uint32_t uid, struct err *err);

/* Records a message and what it made in one transaction: the inbound
 * row, its IMAP folder and UID (when folder is set), and either the items
 * of source (a briefing, as store_items_ingest does; res may be NULL
 * otherwise) or the command (cmd). When in->key is recorded already (a
 * second copy, or the same mail by IMAP and by the pipe), nothing is made
 * again: only the folder and UID are remembered, and 1 is returned.
 * Returns 0, 1 or a negative errno. */
int store_inbound_record(struct store *st, const struct store_inbound *in,
			 const char *source, const struct store_item_new *items,
			 size_t n_items, const struct store_command_new *cmd,
			 int64_t now, struct store_ingest_result *res,
			 struct err *err);

/* One recorded message; strings valid only during the callback. */
struct store_inbound_row {
	int64_t id;
	int64_t received;
	const char *key, *via, *folder, *sender, *subject, *outcome, *detail;
};
typedef int store_inbound_fn(const struct store_inbound_row *r, void *arg);

/* The last limit messages, newest first. */
int store_inbound_each(struct store *st, size_t limit, store_inbound_fn *fn,
		       void *arg, struct err *err);

/* A recorded command; strings valid only during the callback. */
struct store_command {
	int64_t id;
	const char *list, *command, *address, *token, *state;
	bool reply;
	int64_t created;
};
typedef int store_command_fn(const struct store_command *c, void *arg);

/* Commands in state (or all when NULL), oldest first. */
int store_commands_each(struct store *st, const char *state,
			store_command_fn *fn, void *arg, struct err *err);

/* ---- subscriptions (schema 4) ---- */

#define STORE_ADDRESS_MAX 254

/* A subscriber with how they came and went; times are 0 when never. */
struct store_sub {
	int64_t id;
	char list[128];
	char address[STORE_ADDRESS_MAX + 1];
	char state[16];	   /* pending, active, suspended, unsubscribed */
	char via[16];	   /* how they asked: email, web, admin, import */
	char awaiting[16]; /* pending: "confirm" or "approval"; else "" */
	int64_t created, updated;
	int64_t requested;	/* when they last asked to join */
	int64_t confirm_issued; /* issued time of the confirmation token
				   out, 0 for none */
	int64_t confirmed;	/* when they proved the address */
	int64_t left_at;	/* when they unsubscribed */
};

/* By id when id is not 0, else by list and address. Returns 0 with *out
 * filled, or -ENOENT. */
int store_sub_get(struct store *st, const char *list, const char *address,
		  int64_t id, struct store_sub *out, struct err *err);

/* Renders a notice for the subscriber row sub_id (known only inside the
 * transaction, for a new row): appends the whole message to out. */
typedef int store_notice_render_fn(int64_t sub_id, struct buf *out, void *arg);

/* One change to a subscription, made in one transaction. */
struct store_sub_change {
	const char *list;    /* required */
	const char *address; /* required */
	/* A recorded command this settles ("done" or "failed"), or 0. When
	 * it is no longer pending, nothing is changed: -EALREADY. */
	int64_t command_id;
	const char *command_state;
	/* The subscriber row as it must be, or NULL to leave it alone (or
	 * absent). Anything but "active" also cancels the subscriber's
	 * pending deliveries (RELIABILITY C10). */
	const struct store_sub *sub;
	/* A reply to queue, or kind NULL for none. */
	const char *notice_kind; /* confirm, welcome, goodbye, help... */
	store_notice_render_fn *render;
	void *render_arg;
	/* What bulletinctl subscribers show prints, or what NULL. */
	const char *event_via;	/* email, web, one-click, admin, import */
	const char *event_what; /* subscribe, confirm, unsubscribe... */
	const char *event_outcome;
};

/* Applies ch at now. *sub_id (may be NULL) receives the row's id. */
int store_sub_apply(struct store *st, const struct store_sub_change *ch,
		    int64_t now, int64_t *sub_id, struct err *err);

/* Notices to an address (any case of it) in the day before now, and the
 * confirmations among them; when the last confirmation to it was made;
 * confirmations to anyone in the hour before now. */
struct store_notice_counts {
	int64_t day;
	int64_t confirms_day;
	int64_t last_confirm;
	int64_t confirms_hour_all;
};
int store_notice_counts(struct store *st, const char *address, int64_t now,
			struct store_notice_counts *out, struct err *err);

/* A claimed notice; strings valid only during the callback. */
struct store_notice {
	int64_t id;
	const char *list, *address, *kind, *message;
	int attempts; /* this one included */
	int64_t created;
};
typedef int store_notice_fn(const struct store_notice *n, void *arg);

/* As store_deliveries_claim, for notices. */
int store_notices_claim(struct store *st, int64_t now, size_t max,
			store_notice_fn *fn, void *arg, struct err *err);

/* As store_deliveries_settle, for notices (ids are notice ids). */
int store_notices_settle(struct store *st, const struct store_settle *rows,
			 size_t n, int64_t now, struct err *err);

/* As store_deliveries_recover, for notices. */
int store_notices_recover(struct store *st, size_t *n, struct err *err);

/* Counts notices by state (all lists). */
int store_notice_states(struct store *st, struct store_delivery_counts *out,
			struct err *err);

/* A recorded request; strings valid only during the callback. */
struct store_sub_event {
	int64_t at;
	const char *list, *address, *via, *what, *outcome;
};
typedef int store_sub_event_fn(const struct store_sub_event *e, void *arg);

/* list's events, of address (any case) or all when NULL, newest first,
 * at most limit. */
int store_sub_events_each(struct store *st, const char *list,
			  const char *address, size_t limit,
			  store_sub_event_fn *fn, void *arg, struct err *err);

/* A subscriber's deliveries, newest first, at most limit. */
struct store_sub_delivery {
	int64_t digest_id;
	int64_t digest_created;
	const char *state;
	int attempts;
	const char *last_error; /* or "" */
	int64_t sent_at;
};
typedef int store_sub_delivery_fn(const struct store_sub_delivery *d,
				  void *arg);
int store_sub_deliveries_each(struct store *st, int64_t sub_id, size_t limit,
			      store_sub_delivery_fn *fn, void *arg,
			      struct err *err);

/* Drops pending requests still waiting for confirmation that were last
 * made before before (RELIABILITY C5), in one transaction: the row is
 * deleted, or, when deliveries refer to it (a former subscriber who
 * asked again), set back to unsubscribed with no token out (updated =
 * now). *n (may be NULL) gets how many. A deleted row's id may be handed
 * out again: token users tell by the row's created time. */
int store_sub_purge(struct store *st, int64_t before, int64_t now, size_t *n,
		    struct err *err);

/* ---- the daemon's own state (bulletinctl status) ---- */

/* The running daemon, as it said at its last heartbeat. Strings are
 * valid until the next store_daemon_get. */
struct store_daemon {
	int64_t pid;
	int64_t started;
	int64_t beat;
	const char *version;
	const char *http; /* its [http] listen, or NULL */
};

/* A warning or error the daemon logged. */
struct store_daemon_log {
	int64_t at;
	const char *level;
	const char *message;
};

#define STORE_DAEMON_LOG_KEEP 100

/* Writes the daemon's row and appends n log lines (keeping the last
 * STORE_DAEMON_LOG_KEEP), in one transaction that waits at most
 * STORE_BEAT_BUSY_MS for a lock and no fsync. */
int store_daemon_beat(struct store *st, const struct store_daemon *d,
		      const struct store_daemon_log *lines, size_t n,
		      struct err *err);

/* Returns 0, -ENOENT when no daemon ever ran on this database, or an
 * error. */
int store_daemon_get(struct store *st, struct store_daemon *out,
		     struct err *err);

/* The last limit log lines, newest first; strings valid during the
 * call. */
typedef int store_daemon_log_fn(const struct store_daemon_log *l, void *arg);
int store_daemon_log_each(struct store *st, size_t limit,
			  store_daemon_log_fn *fn, void *arg, struct err *err);

/* Deliveries of every digest, by state. */
int store_outbox_counts(struct store *st, struct store_delivery_counts *out,
			struct err *err);

/* The last storage fault (disk full, read-only, an I/O error, damage,
 * a lock held elsewhere) of this connection. */
struct store_fault {
	int64_t at;
	bool current;	 /* no write went through since */
	int code;	 /* -EBUSY, -ENOSPC, -EROFS or -EIO */
	const char *msg; /* valid until the next store call */
};

/* Returns false when there was none. */
bool store_last_fault(const struct store *st, struct store_fault *out);

#endif
