/*
 * outbox: due, compose, render. Rendering is deterministic for (digest,
 * subscriber): a retry builds the same message with the same
 * Message-ID.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

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
};

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

/* Builds the whole message for one recipient of digest d. */
static int render(struct outbox *ob, const struct config_list *list,
		  const struct digest *d, int64_t digest_id,
		  int64_t subscriber_id, const char *address, int64_t now,
		  bool readable, struct buf *out, struct err *err)
{
	struct token_claims claims = {.purpose = TOKEN_UNSUBSCRIBE,
				      .subscriber_id = subscriber_id,
				      .issued = now,
				      .list = list->name};
	struct buf token, url, mailto, subject, body, mid, list_id;
	const char *at = strrchr(list->address, '@');
	struct digest_recipient r;
	struct message_spec spec;
	int ret;

	buf_init(&token, BUF_MAX_LINE);
	buf_init(&url, BUF_MAX_LINE);
	buf_init(&mailto, BUF_MAX_LINE);
	buf_init(&subject, BUF_MAX_LINE);
	buf_init(&body, BUF_MAX_TEXT);
	buf_init(&mid, BUF_MAX_LINE);
	buf_init(&list_id, BUF_MAX_LINE);

	ret = token_make(ob->keys, &claims, &token);
	if (!ret)
		ret = buf_printf(&url, "%s/u/%s", ob->cfg->public_url,
				 buf_str(&token));
	if (!ret)
		ret = buf_printf(&mailto, "mailto:%.*s+unsubscribe-%s@%s",
				 (int)(at - list->address), list->address,
				 buf_str(&token), domain_of(list->address));
	if (!ret)
		ret = digest_subject(d, &subject);
	if (!ret) {
		r.address = address;
		r.unsubscribe_url = buf_str(&url);
		r.unsubscribe_mailto = buf_str(&mailto);
		ret = digest_render(d, ob->tmpl[list_index(ob, list)], &r,
				    &body);
	}
	if (!ret)
		ret = token_message_id(ob->keys, digest_id, subscriber_id,
				       domain_of(list->address), &mid);
	if (!ret)
		ret = message_list_id(list->title, list->name, list->address,
				      &list_id);
	if (ret) {
		err_set(err, "list %s: cannot render the digest for %s: %s",
			list->name, address, strerror(-ret));
		goto out;
	}
	memset(&spec, 0, sizeof(spec));
	spec.from = list->from;
	spec.to = address;
	spec.subject = buf_str(&subject);
	spec.date = now;
	spec.message_id = buf_str(&mid);
	spec.list_id = buf_str(&list_id);
	spec.unsubscribe_url = buf_str(&url);
	spec.unsubscribe_mailto = buf_str(&mailto);
	spec.one_click = true;
	spec.bulk = true;
	spec.auto_submitted = "auto-generated";
	spec.body = buf_str(&body);
	spec.readable = readable;
	ret = message_build(&spec, out, err);
out:
	buf_free(&token);
	buf_free(&url);
	buf_free(&mailto);
	buf_free(&subject);
	buf_free(&body);
	buf_free(&mid);
	buf_free(&list_id);
	return ret;
}

int outbox_preview(struct outbox *ob, const struct config_list *list,
		   const char *address, int64_t now, struct buf *out,
		   struct err *err)
{
	struct store_subscriber sub;
	struct add_ctx ctx;
	struct store_digest_mark mark;
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
	if (!ret)
		ret = render(ob, list, ctx.d, 0, sub_id, address, now, true,
			     out, err);
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

int outbox_render(struct outbox *ob, const struct store_delivery *d,
		  int64_t now, bool readable, struct buf *out, struct err *err)
{
	int ret = load_digest(ob, d->digest_id, err);

	if (ret)
		return ret;
	return render(ob, ob->cur_list, ob->cur, d->digest_id, d->subscriber_id,
		      d->address, now, readable, out, err);
}

size_t outbox_items(const struct outbox *ob)
{
	return ob->cur ? digest_count(ob->cur) : 0;
}
