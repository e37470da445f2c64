/*
 * outbox: due, compose, render. Rendering is deterministic for (digest,
 * subscriber): a retry builds the same message with the same
 * Message-ID. What every recipient of a digest shares (the body but for
 * the recipient's own values, the Subject, the List-Id) is made once, on
 * the first row of the digest, and checked there against a message
 * rendered whole: only the recipient's values are worked out per row.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bounce.h"
#include "digest.h"
#include "message.h"
#include "outbox.h"
#include "template.h"

struct outbox {
	struct store *st;
	const struct config *cfg;
	const struct token_keys *keys;
	struct tmpl **tmpl; /* one per cfg->lists[i], owned */

	/* The digest being delivered, kept across rows of one run. */
	struct digest *cur;
	int64_t cur_id;
	const struct config_list *cur_list;
	/* What its messages share: made on its first row. */
	bool shared_made;
	struct shared {
		char *subject;
		char *list_id;
		struct message_body *body; /* NULL: each row rendered whole */
	} shared;
};

static void shared_clear(struct shared *sh)
{
	free(sh->subject);
	free(sh->list_id);
	message_body_free(sh->body);
	memset(sh, 0, sizeof(*sh));
}

static size_t list_index(const struct outbox *ob,
			 const struct config_list *list)
{
	return (size_t)(list - ob->cfg->lists);
}

struct outbox *outbox_create(struct store *st, const struct config *cfg,
			     const struct token_keys *keys, struct err *err)
{
	struct outbox *ob;
	size_t i;

	ob = calloc(1, sizeof(*ob));
	if (!ob) {
		err_set(err, "out of memory");
		return NULL;
	}
	ob->st = st;
	ob->cfg = cfg;
	ob->keys = keys;
	ob->tmpl = calloc(cfg->n_lists + 1, sizeof(*ob->tmpl));
	if (!ob->tmpl) {
		err_set(err, "out of memory");
		goto fail;
	}
	for (i = 0; i < cfg->n_lists; i++) {
		ob->tmpl[i] =
			tmpl_load(cfg->lists[i].template_path, TMPL_TEXT, err);
		if (!ob->tmpl[i])
			goto fail;
	}
	return ob;
fail:
	outbox_destroy(ob);
	return NULL;
}

void outbox_destroy(struct outbox *ob)
{
	size_t i;

	if (!ob)
		return;
	if (ob->tmpl) {
		for (i = 0; i < ob->cfg->n_lists; i++)
			tmpl_destroy(ob->tmpl[i]);
	}
	free(ob->tmpl);
	digest_destroy(ob->cur);
	shared_clear(&ob->shared);
	free(ob);
}

int outbox_due(struct outbox *ob, const struct config_list *list, int64_t now,
	       bool *due, int64_t *slot, struct err *err)
{
	struct store_digest_mark mark;
	int64_t occ;
	int ret;

	ret = store_digest_last(ob->st, list->name, &mark, err);
	if (ret)
		return ret;
	occ = (int64_t)schedule_prev(&list->schedule, (time_t)now);
	*slot = occ;
	/* The latest scheduled time has no digest yet: either it just
	 * passed, or it passed while the daemon was down (sent once). */
	*due = mark.slot < occ;
	return 0;
}

int outbox_compose(struct outbox *ob, const struct config_list *list,
		   int64_t slot, int64_t now, struct store_digest *out,
		   size_t *n_deliveries, struct err *err)
{
	struct store_digest_mark mark;
	int ret;

	ret = store_digest_last(ob->st, list->name, &mark, err);
	if (ret)
		return ret;
	return store_digest_create(
		ob->st, list->name, (const char *const *)list->sources,
		list->n_sources, mark.period_end, now, slot, now,
		list->nothing_new, out, n_deliveries, err);
}

struct add_ctx {
	const struct config *cfg;
	struct digest *d;
};

static int add_item(const struct store_item *it, void *arg)
{
	struct add_ctx *ctx = arg;
	const struct config_source *src =
		config_source_find(ctx->cfg, it->source);
	struct digest_item di = {
		.id = it->id,
		.title = it->title,
		.link = it->link,
		.source = src ? src->title : it->source,
		.text = it->text,
		.published = it->published,
		.theme = it->theme,
		.duplicate_of = it->duplicate_of,
	};

	return digest_add(ctx->d, &di);
}

static const char *domain_of(const char *address)
{
	const char *at = strrchr(address, '@');

	return at ? at + 1 : "localhost";
}

/* Makes what every message of digest d shares, but the prepared body
 * (see prepare). */
static int shared_make(const struct config_list *list, const struct digest *d,
		       struct shared *sh)
{
	struct buf subject, list_id;
	int ret;

	buf_init(&subject, BUF_MAX_LINE);
	buf_init(&list_id, BUF_MAX_LINE);
	ret = digest_subject(d, &subject);
	if (!ret)
		ret = message_list_id(list->title, list->name, list->address,
				      &list_id);
	if (!ret) {
		sh->subject = buf_take(&subject);
		sh->list_id = buf_take(&list_id);
		if (!sh->subject || !sh->list_id)
			ret = -ENOMEM;
	}
	buf_free(&subject);
	buf_free(&list_id);
	return ret;
}

/* Builds the whole message for one recipient of digest d, with what sh
 * holds; the body from sh->body when prepared is set. */
static int render(struct outbox *ob, const struct config_list *list,
		  const struct digest *d, const struct shared *sh,
		  bool prepared, int64_t digest_id, int64_t subscriber_id,
		  const char *address, int64_t now, bool readable,
		  struct buf *out, struct err *err)
{
	struct token_claims claims = {.purpose = TOKEN_UNSUBSCRIBE,
				      .subscriber_id = subscriber_id,
				      .issued = now,
				      .list = list->name};
	struct buf token, url, mailto, body, mid, vals[DIGEST_HOLES];
	const char *at = strrchr(list->address, '@');
	const char *v[DIGEST_HOLES];
	struct digest_recipient r;
	struct message_spec spec;
	int ret;

	buf_init(&token, BUF_MAX_LINE);
	buf_init(&url, BUF_MAX_LINE);
	buf_init(&mailto, BUF_MAX_LINE);
	buf_init(&body, BUF_MAX_TEXT);
	buf_init(&mid, BUF_MAX_LINE);
	for (int i = 0; i < DIGEST_HOLES; i++)
		buf_init(&vals[i], BUF_MAX_LINE);

	ret = token_make(ob->keys, &claims, &token);
	if (!ret)
		ret = buf_printf(&url, "%s/u/%s", ob->cfg->public_url,
				 buf_str(&token));
	if (!ret)
		ret = buf_printf(&mailto, "mailto:%.*s+unsubscribe-%s@%s",
				 (int)(at - list->address), list->address,
				 buf_str(&token), domain_of(list->address));
	r.address = address;
	r.unsubscribe_url = buf_str(&url);
	r.unsubscribe_mailto = buf_str(&mailto);
	if (!ret && prepared)
		ret = digest_recipient_values(&r, vals);
	else if (!ret)
		ret = digest_render(d, ob->tmpl[list_index(ob, list)], &r,
				    &body);
	if (!ret)
		ret = token_message_id(ob->keys, digest_id, subscriber_id,
				       domain_of(list->address), &mid);
	if (ret) {
		err_set(err, "list %s: cannot render the digest for %s: %s",
			list->name, address, strerror(-ret));
		goto out;
	}
	memset(&spec, 0, sizeof(spec));
	spec.from = list->from;
	spec.to = address;
	spec.subject = sh->subject;
	spec.date = now;
	spec.message_id = buf_str(&mid);
	spec.list_id = sh->list_id;
	spec.unsubscribe_url = buf_str(&url);
	spec.unsubscribe_mailto = buf_str(&mailto);
	spec.one_click = true;
	spec.bulk = true;
	spec.auto_submitted = "auto-generated";
	spec.body = buf_str(&body);
	spec.readable = readable;
	for (int i = 0; i < DIGEST_HOLES; i++)
		v[i] = buf_str(&vals[i]);
	if (prepared)
		ret = message_build_prepared(&spec, sh->body, v, DIGEST_HOLES,
					     out, err);
	else
		ret = message_build(&spec, out, err);
out:
	buf_free(&token);
	buf_free(&url);
	buf_free(&mailto);
	buf_free(&body);
	buf_free(&mid);
	for (int i = 0; i < DIGEST_HOLES; i++)
		buf_free(&vals[i]);
	return ret;
}

int outbox_preview(struct outbox *ob, const struct config_list *list,
		   const char *address, int64_t now, struct buf *out,
		   struct err *err)
{
	struct store_subscriber sub;
	struct add_ctx ctx;
	struct store_digest_mark mark;
	struct shared sh = {0};
	int64_t sub_id = 0;
	int ret;

	ret = store_digest_last(ob->st, list->name, &mark, err);
	if (ret)
		return ret;
	if (store_subscriber_get(ob->st, list->name, address, &sub, NULL) == 0)
		sub_id = sub.id;
	ctx.cfg = ob->cfg;
	ctx.d = digest_create(ob->cfg, list, mark.period_end, now);
	if (!ctx.d) {
		err_set(err, "out of memory");
		return -ENOMEM;
	}
	ret = store_items_each(ob->st, (const char *const *)list->sources,
			       list->n_sources, mark.last_item, 0, INT64_MAX,
			       add_item, &ctx, err);
	if (!ret && (ret = shared_make(list, ctx.d, &sh)) != 0)
		err_set(err, "list %s: cannot render the digest: %s",
			list->name, strerror(-ret));
	if (!ret)
		ret = render(ob, list, ctx.d, &sh, false, 0, sub_id, address,
			     now, true, out, err);
	shared_clear(&sh);
	digest_destroy(ctx.d);
	return ret;
}

/* Loads digest id into ob->cur unless it is there already. */
static int load_digest(struct outbox *ob, int64_t id, struct err *err)
{
	struct store_digest sd;
	const struct config_list *list;
	struct add_ctx ctx;
	int ret;

	if (ob->cur && ob->cur_id == id)
		return 0;
	digest_destroy(ob->cur);
	ob->cur = NULL;
	shared_clear(&ob->shared);
	ob->shared_made = false;
	ret = store_digest_get(ob->st, id, &sd, err);
	if (ret)
		return ret;
	list = config_list_find(ob->cfg, sd.list);
	if (!list) {
		err_set(err,
			"digest %lld belongs to list %s, which is no "
			"longer in the config",
			(long long)id, sd.list);
		return -ENOENT;
	}
	ctx.cfg = ob->cfg;
	ctx.d = digest_create(ob->cfg, list, sd.period_start, sd.period_end);
	if (!ctx.d) {
		err_set(err, "out of memory");
		return -ENOMEM;
	}
	ret = store_digest_items_each(ob->st, id, add_item, &ctx, err);
	if (ret) {
		digest_destroy(ctx.d);
		return ret;
	}
	ob->cur = ctx.d;
	ob->cur_id = id;
	ob->cur_list = list;
	return 0;
}

/* Makes what the messages of ob->cur share, on its first row d: the
 * body is rendered once with holes for the recipient's values and
 * prepared, then d's message is built from it and also rendered whole.
 * Should they differ (a template holding the hole's control character),
 * every row is rendered whole. */
static int prepare(struct outbox *ob, const struct store_delivery *d,
		   int64_t now, struct err *err)
{
	const struct config_list *list = ob->cur_list;
	struct shared *sh = &ob->shared;
	struct buf text, fast, whole;
	int ret;

	ret = shared_make(list, ob->cur, sh);
	if (ret) {
		err_set(err, "list %s: cannot render the digest: %s",
			list->name, strerror(-ret));
		shared_clear(sh);
		return ret;
	}
	ob->shared_made = true;
	buf_init(&text, BUF_MAX_TEXT);
	buf_init(&fast, BUF_MAX_TEXT);
	buf_init(&whole, BUF_MAX_TEXT);
	ret = digest_render_holes(ob->cur, ob->tmpl[list_index(ob, list)],
				  &text);
	if (!ret)
		ret = message_body_prepare(buf_str(&text), &sh->body);
	if (!ret)
		ret = render(ob, list, ob->cur, sh, true, d->digest_id,
			     d->subscriber_id, d->address, now, false, &fast,
			     err);
	if (!ret)
		ret = render(ob, list, ob->cur, sh, false, d->digest_id,
			     d->subscriber_id, d->address, now, false, &whole,
			     err);
	if (ret) {
		/* This row's fault, or memory: the next row tries again. */
		shared_clear(sh);
		ob->shared_made = false;
	} else if (fast.len != whole.len ||
		   memcmp(fast.ptr, whole.ptr, fast.len) != 0) {
		log_warnx("list %s: the digest template cannot be rendered "
			  "once for every recipient (does %s hold control "
			  "characters?); each message is rendered whole",
			  list->name, list->template_path);
		message_body_free(sh->body);
		sh->body = NULL;
	}
	buf_free(&text);
	buf_free(&fast);
	buf_free(&whole);
	return ret;
}

int outbox_render(struct outbox *ob, const struct store_delivery *d,
		  int64_t now, bool readable, struct buf *out, struct err *err)
{
	int ret = load_digest(ob, d->digest_id, err);

	if (!ret && !ob->shared_made)
		ret = prepare(ob, d, now, err);
	if (ret)
		return ret;
	return render(ob, ob->cur_list, ob->cur, &ob->shared,
		      ob->shared.body != NULL, d->digest_id, d->subscriber_id,
		      d->address, now, readable, out, err);
}

int outbox_bounce_address(struct outbox *ob, const struct store_delivery *d,
			  struct buf *out)
{
	const struct config_list *list = config_list_find(ob->cfg, d->list);

	if (!list || !list->address)
		return -ENOENT;
	return bounce_address(ob->keys, list->name, list->address, d->id, out);
}

size_t outbox_items(const struct outbox *ob)
{
	return ob->cur ? digest_count(ob->cur) : 0;
}
