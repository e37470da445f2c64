#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "bounce.h"
#include "briefing.h"
#include "dedupe.h"
#include "inbound.h"
#include "intake.h"
#include "metrics.h"
#include "mailmsg.h"

/* A Message-ID longer than this is keyed by its hash. */
#define INTAKE_MAX_KEY 400

const char *intake_outcome_name(enum intake_outcome o)
{
	switch (o) {
	case INTAKE_BRIEFING:
		return "briefing";
	case INTAKE_COMMAND:
		return "command";
	case INTAKE_DUPLICATE:
		return "duplicate";
	case INTAKE_IGNORED:
		return "ignored";
	case INTAKE_QUARANTINED:
		return "quarantined";
	case INTAKE_REFUSED:
		return "refused";
	case INTAKE_BOUNCE:
		return "bounce";
	}
	return "?";
}

static void sha256_key(const void *data, size_t len, char *out, size_t size)
{
	unsigned char h[crypto_hash_sha256_BYTES];
	char hex[2 * sizeof(h) + 1];

	crypto_hash_sha256(h, data, len);
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	snprintf(out, size, "sha256:%s", hex);
}

/* What makes two copies one message: the Message-ID, else the bytes. */
static void message_key(const struct mailmsg *m, const char *data, size_t len,
			char *out, size_t size)
{
	if (m->message_id && strlen(m->message_id) <= INTAKE_MAX_KEY)
		snprintf(out, size, "<%s>", m->message_id);
	else if (m->message_id)
		sha256_key(m->message_id, strlen(m->message_id), out, size);
	else
		sha256_key(data, len, out, size);
}

/* ---- RELIABILITY F7: is the briefing's sender proven? ---- */

/* The authserv-id that starts an Authentication-Results value (before
 * the first ';', without an optional version number) equals id. */
static bool ar_is_ours(const char *value, const char *id)
{
	size_t n = strlen(id);

	while (*value == ' ' || *value == '\t')
		value++;
	return strncasecmp(value, id, n) == 0 &&
	       (value[n] == ';' || value[n] == ' ' || value[n] == '\t');
}

/* domain is d or a subdomain of d (relaxed DMARC alignment). */
static bool aligned(const char *domain, const char *d, size_t dlen)
{
	size_t n = strlen(domain);

	if (dlen == 0 || dlen > n)
		return false;
	if (strncasecmp(domain + n - dlen, d, dlen) != 0)
		return false;
	return n == dlen || domain[n - dlen - 1] == '.';
}

/* Within one result ("dkim=pass header.d=example.org ..."), the value of
 * property prop, with its length; NULL when absent. */
static const char *ar_prop(const char *res, size_t len, const char *prop,
			   size_t *vlen)
{
	size_t pl = strlen(prop);

	for (size_t i = 0; i + pl < len; i++) {
		if ((i == 0 || res[i - 1] == ' ' || res[i - 1] == '\t') &&
		    strncasecmp(res + i, prop, pl) == 0) {
			const char *v = res + i + pl;
			size_t k = 0;

			while (i + pl + k < len && v[k] != ' ' &&
			       v[k] != '\t' && v[k] != ';')
				k++;
			*vlen = k;
			return v;
		}
	}
	return NULL;
}

/* Whether our own server's Authentication-Results says DMARC passed, or
 * DKIM passed for the From domain. Only the topmost header with our id
 * counts: the ones below it, and any with another id, could have been
 * written by the sender (RFC 8601 §5, §7.1). Sets why when not. */
static bool sender_proven(const struct config *cfg, const struct mailmsg *m,
			  char *why, size_t size)
{
	const char *ar = NULL, *at, *p, *end;
	const char *domain;

	for (size_t i = 0; i < m->n_auth_results && !ar; i++)
		if (ar_is_ours(m->auth_results[i], cfg->imap_authserv_id))
			ar = m->auth_results[i];
	if (!ar) {
		snprintf(why, size,
			 "no Authentication-Results from %s (authserv_id): "
			 "the sender cannot be proven",
			 cfg->imap_authserv_id);
		return false;
	}
	at = m->from ? strrchr(m->from, '@') : NULL;
	domain = at ? at + 1 : "";
	p = strchr(ar, ';');
	while (p) {
		size_t len, vlen;
		const char *v;

		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		end = strchr(p, ';');
		len = end ? (size_t)(end - p) : strlen(p);
		if (len >= 10 && strncasecmp(p, "dmarc=pass", 10) == 0 &&
		    (len == 10 || p[10] == ' ' || p[10] == '\t'))
			return true;
		if (len >= 9 && strncasecmp(p, "dkim=pass", 9) == 0 &&
		    (len == 9 || p[9] == ' ' || p[9] == '\t')) {
			v = ar_prop(p, len, "header.d=", &vlen);
			if (v && aligned(domain, v, vlen))
				return true;
		}
		p = end;
	}
	snprintf(why, size,
		 "%s reports no DMARC pass and no DKIM pass for %s: the "
		 "sender may be forged",
		 cfg->imap_authserv_id, domain[0] ? domain : "the sender");
	return false;
}

/* ---- items ---- */

struct made {
	struct briefing_item *parts;
	size_t n;
	struct store_item_new *items;
	char (*guids)[INTAKE_MAX_KEY + 80];
	char (*fps)[DEDUPE_FINGERPRINT_LEN];
};

static void made_free(struct made *mk)
{
	briefing_items_free(mk->parts, mk->n);
	free(mk->items);
	free(mk->guids);
	free(mk->fps);
}

static int make_items(const struct intake_ctx *ctx, const struct mailmsg *m,
		      const struct config_source *src, const char *key,
		      struct made *mk)
{
	struct theme_result tr;
	char *title;
	int ret;

	memset(mk, 0, sizeof(*mk));
	title = briefing_title(m->subject);
	if (!title)
		return -ENOMEM;
	ret = briefing_split(title, m->text, src->split, &mk->parts, &mk->n);
	free(title);
	if (ret)
		return ret;
	mk->items = calloc(mk->n, sizeof(*mk->items));
	mk->guids = calloc(mk->n, sizeof(*mk->guids));
	mk->fps = calloc(mk->n, sizeof(*mk->fps));
	if (!mk->items || !mk->guids || !mk->fps)
		return -ENOMEM;
	for (size_t i = 0; i < mk->n; i++) {
		struct store_item_new *it = &mk->items[i];

		if (mk->n == 1)
			snprintf(mk->guids[i], sizeof(mk->guids[i]), "%s", key);
		else
			snprintf(mk->guids[i], sizeof(mk->guids[i]), "%s#%zu",
				 key, i + 1);
		ret = dedupe_fingerprint(mk->parts[i].title, mk->parts[i].text,
					 mk->fps[i]);
		if (ret == -ENOMEM)
			return ret;
		ret = theme_classify(ctx->ts, mk->parts[i].title,
				     mk->parts[i].text, &tr);
		if (ret)
			return ret;
		it->guid = mk->guids[i];
		it->title = mk->parts[i].title;
		it->text = mk->parts[i].text;
		it->author = m->from_name ? m->from_name : m->from;
		it->theme = tr.name;
		it->fingerprint = mk->fps[i][0] ? mk->fps[i] : NULL;
		/* A date in the future would sit at the top of every
		 * digest: the time it arrived is truer. */
		it->published =
			m->date > 0 && m->date <= ctx->now ? m->date : ctx->now;
	}
	return 0;
}

/* ---- the message ---- */

static void label(struct intake_result *res, const struct mailmsg *m,
		  const char *key)
{
	snprintf(res->message, sizeof(res->message),
		 "message %.200s from %.200s", key,
		 m->from ? m->from : "(no From address)");
}

static int record_bounce(const struct intake_ctx *ctx, const struct mailmsg *m,
			 const char *key, const char *outcome,
			 const char *detail, const char *source,
			 const struct made *mk,
			 const struct store_command_new *cmd,
			 struct store_bounce *bounce, struct intake_result *res,
			 struct err *err)
{
	struct store_ingest_result ir;
	struct store_inbound in = {
		.key = key,
		.via = ctx->folder ? "imap" : "pipe",
		.folder = ctx->folder,
		.uidvalidity = ctx->uidvalidity,
		.uid = ctx->uid,
		.sender = m ? m->from : NULL,
		.subject = m ? m->subject : NULL,
		.outcome = outcome,
		.detail = detail,
		.bounce = bounce,
	};
	int ret;

	ret = store_inbound_record(ctx->st, &in, source, mk ? mk->items : NULL,
				   mk ? mk->n : 0, cmd, ctx->now, &ir, err);
	if (ret < 0)
		return ret;
	if (ret == 1) {
		res->outcome = INTAKE_DUPLICATE;
		snprintf(res->detail, sizeof(res->detail),
			 "already dealt with (the same Message-ID was taken "
			 "before): nothing done again");
		return 0;
	}
	res->added = ir.added;
	res->duplicates = ir.duplicates;
	metrics_add(METRIC_ITEMS_NEW, ir.added);
	metrics_add(METRIC_DUPLICATES, ir.duplicates);
	return 0;
}

static int record(const struct intake_ctx *ctx, const struct mailmsg *m,
		  const char *key, const char *outcome, const char *detail,
		  const char *source, const struct made *mk,
		  const struct store_command_new *cmd,
		  struct intake_result *res, struct err *err)
{
	return record_bounce(ctx, m, key, outcome, detail, source, mk, cmd,
			     NULL, res, err);
}

static int take_command(const struct intake_ctx *ctx, const struct mailmsg *m,
			const struct inbound_route *r, const char *key,
			struct intake_result *res, struct err *err)
{
	struct store_command_new cmd = {
		.list = r->list->name,
		.command = inbound_command_name(r->command),
		.address = r->address,
		.token = r->token[0] ? r->token : NULL,
		.reply = !r->no_reply,
	};

	res->outcome = INTAKE_COMMAND;
	snprintf(res->detail, sizeof(res->detail), "%s for list %s%s%.300s",
		 cmd.command, cmd.list, r->no_reply ? "; no reply: " : "",
		 r->no_reply ? r->reason : "");
	return record(ctx, m, key, "command", res->detail, NULL, NULL, &cmd,
		      res, err);
}

/* Bounce mail that changes nothing: through IMAP remembered (claiming
 * no key), through the pipe taken and dropped. */
static int bounce_ignored(const struct intake_ctx *ctx, const struct mailmsg *m,
			  struct intake_result *res, struct err *err)
{
	res->outcome = INTAKE_BOUNCE;
	if (!ctx->folder)
		return 0;
	return record(ctx, m, NULL, "ignored", res->detail, NULL, NULL, NULL,
		      res, err);
}

/* Mail to a digest's VERP address (RELIABILITY G12): the token names
 * the delivery, the report says hard (5.x.x) or soft (4.x.x). A token
 * that is not ours, mail that is no report, or one that reports no
 * failure changes nothing. */
static int take_bounce(const struct intake_ctx *ctx, const struct mailmsg *m,
		       const struct inbound_route *r, const char *key,
		       struct intake_result *res, struct err *err)
{
	const char *list = r->list->name;
	struct store_bounce b = {0};
	struct bounce_report rep;
	struct token_keys *keys;
	struct err kerr = {{0}};
	char error[300], stored[ERR_MSG_MAX];
	int64_t id = 0;
	int ret;

	keys = token_keys_load(ctx->cfg->secret_file,
			       ctx->cfg->previous_secret_file, &kerr);
	if (!keys) {
		snprintf(res->detail, sizeof(res->detail),
			 "bounce for list %s not checked: %.400s", list,
			 kerr.msg);
		return bounce_ignored(ctx, m, res, err);
	}
	ret = token_bounce_verify(keys, list, r->token, &id);
	token_keys_destroy(keys);
	if (ret) {
		snprintf(res->detail, sizeof(res->detail),
			 "bounce for list %s: its address holds no token of "
			 "ours (forged, or made with another secret): nothing "
			 "changed",
			 list);
		return bounce_ignored(ctx, m, res, err);
	}
	if (!m->delivery_status || bounce_read(m->delivery_status, &rep)) {
		snprintf(res->detail, sizeof(res->detail),
			 "bounce for list %s, delivery %lld: no delivery "
			 "status report (RFC 3464) in it: nothing changed",
			 list, (long long)id);
		return bounce_ignored(ctx, m, res, err);
	}
	if (rep.kind == BOUNCE_NONE) {
		snprintf(res->detail, sizeof(res->detail),
			 "report for list %s, delivery %lld, says no failure "
			 "(status %s): nothing changed",
			 list, (long long)id,
			 rep.status[0] ? rep.status : "none");
		return bounce_ignored(ctx, m, res, err);
	}
	snprintf(error, sizeof(error), "%s (%s): %s",
		 rep.kind == BOUNCE_HARD ? "bounced" : "delayed, not counted",
		 rep.status[0] ? rep.status : "no status", rep.diagnostic);
	snprintf(stored, sizeof(stored), "%s bounce for list %s, delivery %lld",
		 rep.kind == BOUNCE_HARD ? "hard" : "soft", list,
		 (long long)id);
	b.delivery_id = id;
	b.list = list;
	b.hard = rep.kind == BOUNCE_HARD;
	b.error = error;
	b.suspend_after = ctx->cfg->smtp_suspend_after;
	res->outcome = INTAKE_BOUNCE;
	ret = record_bounce(ctx, m, key, "command", stored, NULL, NULL, NULL,
			    &b, res, err);
	if (ret || res->outcome == INTAKE_DUPLICATE)
		return ret;
	if (!b.found)
		snprintf(res->detail, sizeof(res->detail),
			 "%.160s: no such delivery of the list (any more): "
			 "nothing changed",
			 stored);
	else if (!b.changed)
		snprintf(
			res->detail, sizeof(res->detail),
			"%.160s, the digest to %.200s: the delivery is %s, not "
			"sent: nothing changed",
			stored, b.address, b.state);
	else
		snprintf(res->detail, sizeof(res->detail),
			 "%.100s, the digest to %.100s: %.200s%.90s", stored,
			 b.address, error,
			 b.suspended
				 ? "; the subscriber is suspended: its last "
				   "deliveries all failed ([smtp] "
				   "suspend_after)"
			 : b.hard ? "; counts towards suspension"
				  : "");
	return 0;
}

static int take_briefing(const struct intake_ctx *ctx, const struct mailmsg *m,
			 const struct inbound_route *r, const char *key,
			 struct intake_result *res, struct err *err)
{
	struct made mk;
	char why[ERR_MSG_MAX];
	int ret;

	if (ctx->cfg->imap_authserv_id &&
	    !sender_proven(ctx->cfg, m, why, sizeof(why))) {
		res->outcome = INTAKE_QUARANTINED;
		snprintf(res->detail, sizeof(res->detail),
			 "briefing for source %.60s quarantined: %.400s",
			 r->source->name, why);
		/* Quarantined mail claims no key: the real message, if
		 * it comes, is still taken. */
		return record(ctx, m, NULL, "quarantined", res->detail, NULL,
			      NULL, NULL, res, err);
	}
	ret = make_items(ctx, m, r->source, key, &mk);
	if (ret) {
		made_free(&mk);
		err_set(err, "out of memory reading a briefing");
		return ret;
	}
	res->outcome = INTAKE_BRIEFING;
	snprintf(res->detail, sizeof(res->detail), "briefing for source %s",
		 r->source->name);
	ret = record(ctx, m, key, "briefing", r->source->name, r->source->name,
		     &mk, NULL, res, err);
	if (!ret && res->outcome == INTAKE_BRIEFING)
		snprintf(res->detail, sizeof(res->detail),
			 "briefing for source %s: %zu item%s, %zu new, %zu "
			 "repeating a stored story",
			 r->source->name, mk.n, mk.n == 1 ? "" : "s",
			 res->added, res->duplicates);
	made_free(&mk);
	return ret;
}

int intake_message(const struct intake_ctx *ctx, const char *data, size_t len,
		   struct intake_result *res, struct err *err)
{
	struct mailmsg m;
	struct inbound_route r;
	struct err perr = {{0}};
	char key[INTAKE_MAX_KEY + 8];
	int ret;

	memset(res, 0, sizeof(*res));
	ret = mailmsg_parse(data, len, (size_t)ctx->cfg->imap_max_size, &m,
			    &perr);
	if (ret == -ENOMEM) {
		err_set(err, "out of memory reading a message");
		return ret;
	}
	if (ret) {
		res->outcome = INTAKE_REFUSED;
		snprintf(res->message, sizeof(res->message),
			 "a message of %zu bytes", len);
		snprintf(res->detail, sizeof(res->detail), "%s", perr.msg);
		if (!ctx->folder)
			return 0;
		return record(ctx, NULL, NULL, "ignored", res->detail, NULL,
			      NULL, NULL, res, err);
	}
	message_key(&m, data, len, key, sizeof(key));
	label(res, &m, key);
	snprintf(res->warning, sizeof(res->warning), "%s", m.warning);
	inbound_route(ctx->cfg, &m, ctx->folder, ctx->envelope, &r);
	switch (r.kind) {
	case INBOUND_COMMAND:
		ret = take_command(ctx, &m, &r, key, res, err);
		break;
	case INBOUND_BRIEFING:
		ret = take_briefing(ctx, &m, &r, key, res, err);
		break;
	case INBOUND_BOUNCE:
		ret = take_bounce(ctx, &m, &r, key, res, err);
		break;
	case INBOUND_OTHER:
	default:
		res->outcome = INTAKE_IGNORED;
		snprintf(res->detail, sizeof(res->detail), "%s", r.reason);
		ret = 0;
		if (ctx->folder)
			ret = record(ctx, &m, NULL, "ignored", res->detail,
				     NULL, NULL, NULL, res, err);
		break;
	}
	mailmsg_free(&m);
	return ret;
}

int intake_skip(const struct intake_ctx *ctx, const char *reason,
		struct err *err)
{
	struct intake_result res;

	return record(ctx, NULL, NULL, "ignored", reason, NULL, NULL, NULL,
		      &res, err);
}
