/*
 * subscribe: policies, limits, tokens and replies over the store. Every
 * change is one store_sub_apply (one transaction: the command settled,
 * the subscriber row, the reply queued, the request recorded), so a
 * command is acted on exactly once, and a reply exists only with the
 * change it answers. Replies carry no text from the asker but the
 * address (RELIABILITY C4) and no one-click header (C6).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "bulletin-config.h"
#include "message.h"
#include "metrics.h"
#include "subscribe.h"

#ifndef BULLETIN_TEMPLATE_DIR
#define BULLETIN_TEMPLATE_DIR "/usr/share/bulletin/templates"
#endif

/* The replies, each from templates/NAME.txt. */
enum reply {
	REPLY_CONFIRM,
	REPLY_WELCOME,
	REPLY_GOODBYE,
	REPLY_HELP,
	REPLY_LEAVE,
	REPLY_WAITING,
	REPLY__COUNT,
};

static const struct {
	const char *kind;	    /* notices.kind and the template's name */
	const char *before, *after; /* the subject around the list title */
} replies[REPLY__COUNT] = {
	[REPLY_CONFIRM] = {"confirm", "Confirm your subscription to ", ""},
	[REPLY_WELCOME] = {"welcome", "You are subscribed to ", ""},
	[REPLY_GOODBYE] = {"goodbye", "You have left ", ""},
	[REPLY_HELP] = {"help", "", ": how to join and leave"},
	[REPLY_LEAVE] = {"leave", "Confirm that you want to leave ", ""},
	[REPLY_WAITING] = {"waiting", "", ": your request waits for approval"},
};

struct subscribe {
	struct store *st;
	const struct config *cfg;
	const struct token_keys *keys;
	struct tmpl *tmpl[REPLY__COUNT]; /* owned */
	subscribe_leave_fn *on_leave;
	void *on_leave_arg;
};

static const char *const via_names[] = {
	[SUBSCRIBE_VIA_EMAIL] = "email",
	[SUBSCRIBE_VIA_WEB] = "web",
	[SUBSCRIBE_VIA_ONE_CLICK] = "one-click",
	[SUBSCRIBE_VIA_ADMIN] = "admin",
	[SUBSCRIBE_VIA_IMPORT] = "import",
};

const char *subscribe_via_name(enum subscribe_via via)
{
	return via_names[via];
}

/* ---- addresses ---- */

static bool is_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || strchr("!#$%&'*+/=?^_`{|}~-", c);
}

static bool is_ldh(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-';
}

static int bad(struct err *err, const char *in, const char *why)
{
	err_set(err, "'%.200s' is not a valid email address: %s", in, why);
	return -EINVAL;
}

int subscribe_address_normalise(const char *in, struct buf *out,
				struct err *err)
{
	size_t len = strlen(in), local, i, label = 0, labels = 1;
	const char *at = strrchr(in, '@'), *dom;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c < 0x20 || c == 0x7f)
			return bad(err, in, "it holds a control character");
	}
	if (len > SUBSCRIBE_ADDRESS_MAX)
		return bad(err, in, "longer than 254 characters");
	if (!at || at == in)
		return bad(err, in, "expected local-part@domain");
	local = (size_t)(at - in);
	dom = at + 1;
	if (local > SUBSCRIBE_LOCAL_MAX)
		return bad(err, in, "the part before @ is over 64 characters");
	/* Dot-atom only: no quoted local part, no second @, no comment,
	 * no angle brackets (RELIABILITY C7). */
	for (i = 0; i < local; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c == '.') {
			if (i == 0 || i + 1 == local || in[i + 1] == '.')
				return bad(err, in,
					   "a dot at the start or end of the "
					   "local part, or two in a row");
			continue;
		}
		if (c >= 0x80)
			return bad(err, in,
				   "non-ASCII characters before the @ are "
				   "not supported");
		if (!is_atext(c))
			return bad(err, in,
				   "only letters, digits and ! # $ % & ' * + "
				   "/ = ? ^ _ ` { | } ~ - . may come before "
				   "the @");
	}
	if (!*dom)
		return bad(err, in, "no domain after the @");
	for (i = 0; dom[i]; i++) {
		unsigned char c = (unsigned char)dom[i];

		if (c >= 0x80)
			return bad(err, in,
				   "internationalised (non-ASCII) domains are "
				   "not supported; use the domain's ASCII "
				   "(xn--) form");
		if (c == '.') {
			if (label == 0 || dom[i - 1] == '-')
				return bad(err, in,
					   "an empty domain label, or one "
					   "ending in a hyphen");
			label = 0;
			labels++;
			continue;
		}
		if (!is_ldh(c))
			return bad(err, in,
				   "the domain may hold only letters, digits, "
				   "hyphens and dots");
		if (label == 0 && c == '-')
			return bad(err, in,
				   "a domain label starts with a hyphen");
		if (++label > 63)
			return bad(err, in,
				   "a domain label is over 63 characters");
	}
	if (label == 0 || dom[i - 1] == '-')
		return bad(err, in,
			   "the domain ends in a dot or a hyphen (write it "
			   "without the final dot)");
	if (labels < 2)
		return bad(err, in, "the domain needs a dot (example.org)");
	if (buf_add(out, in, local + 1))
		return -ENOMEM;
	for (i = 0; dom[i]; i++) {
		char c = dom[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (buf_addc(out, c))
			return -ENOMEM;
	}
	return 0;
}

bool subscribe_address_allowed(const struct config_list *list,
			       const char *address)
{
	const char *at = strrchr(address, '@');
	size_t i;

	if (list->n_allow == 0)
		return true;
	if (!at)
		return false;
	for (i = 0; i < list->n_allow; i++) {
		const char *rule = list->allow[i];

		if (rule[0] == '@') {
			if (strcasecmp(rule + 1, at + 1) == 0)
				return true;
		} else {
			const char *rat = strrchr(rule, '@');

			/* The local part is compared as written; the
			 * domain without case. */
			if (rat && rat - rule == at - address &&
			    strncmp(rule, address, (size_t)(at - address)) ==
				    0 &&
			    strcasecmp(rat + 1, at + 1) == 0)
				return true;
		}
	}
	return false;
}

/* ---- templates ---- */

struct tmpl *subscribe_template_load(const struct config *cfg, const char *name,
				     enum tmpl_escape escape, struct err *err)
{
	const char *dirs[4] = {cfg->dir, cfg->templates_dir,
			       BULLETIN_TEMPLATE_DIR,
			       BULLETIN_SOURCE_TEMPLATE_DIR};
	char path[4096];
	size_t i;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (!dirs[i])
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dirs[i], name) >=
		    (int)sizeof(path))
			continue;
		if (access(path, R_OK) == 0)
			return tmpl_load(path, escape, err);
	}
	err_set(err,
		"template %s not found in %s, %s or %s; copy it from the "
		"templates directory of the source",
		name, cfg->dir ? cfg->dir : ".", cfg->templates_dir,
		BULLETIN_TEMPLATE_DIR);
	return NULL;
}

struct subscribe *subscribe_create(struct store *st, const struct config *cfg,
				   const struct token_keys *keys,
				   struct err *err)
{
	struct subscribe *s = calloc(1, sizeof(*s));
	char name[64];

	if (!s) {
		err_set(err, "out of memory");
		return NULL;
	}
	s->st = st;
	s->cfg = cfg;
	s->keys = keys;
	for (int i = 0; i < REPLY__COUNT; i++) {
		snprintf(name, sizeof(name), "%s.txt", replies[i].kind);
		s->tmpl[i] = subscribe_template_load(cfg, name, TMPL_TEXT, err);
		if (!s->tmpl[i]) {
			subscribe_destroy(s);
			return NULL;
		}
	}
	return s;
}

void subscribe_destroy(struct subscribe *s)
{
	if (!s)
		return;
	for (int i = 0; i < REPLY__COUNT; i++)
		tmpl_destroy(s->tmpl[i]);
	free(s);
}

/* ---- replies ---- */

struct render_ctx {
	struct subscribe *s;
	const struct config_list *list;
	enum reply reply;
	const char *address;
	int64_t issued; /* of the confirmation token */
	int64_t sub_id; /* the row, when the change leaves it alone */
	int64_t now;
};

static const char *domain_of(const char *address)
{
	const char *at = strrchr(address, '@');

	return at ? at + 1 : "localhost";
}

/* "LIST+WHAT@DOMAIN" into out. */
static int command_address(const struct config_list *list, const char *what,
			   struct buf *out)
{
	const char *at = strrchr(list->address, '@');

	if (!at)
		return -EINVAL;
	return buf_printf(out, "%.*s+%s@%s", (int)(at - list->address),
			  list->address, what, at + 1);
}

static int set_token_vars(struct render_ctx *r, struct tmpl_data *d,
			  enum token_purpose purpose, int64_t sub_id,
			  int64_t issued)
{
	struct token_claims c = {.purpose = purpose,
				 .subscriber_id = sub_id,
				 .issued = issued,
				 .list = r->list->name};
	const char *route = purpose == TOKEN_CONFIRM ? "c" : "u";
	const char *word = purpose == TOKEN_CONFIRM ? "confirm" : "unsubscribe";
	struct buf tok, what, addr;
	char name[64];
	int ret;

	buf_init(&tok, BUF_MAX_LINE);
	buf_init(&what, BUF_MAX_LINE);
	buf_init(&addr, BUF_MAX_LINE);
	ret = token_make(r->s->keys, &c, &tok);
	if (!ret)
		ret = buf_printf(&what, "%s-%s", word, buf_str(&tok));
	if (!ret)
		ret = command_address(r->list, buf_str(&what), &addr);
	if (!ret) {
		snprintf(name, sizeof(name), "%s_url", word);
		ret = tmpl_data_setf(d, name, "%s/%s/%s", r->s->cfg->public_url,
				     route, buf_str(&tok));
	}
	if (!ret) {
		snprintf(name, sizeof(name), "%s_address", word);
		ret = tmpl_data_set(d, name, buf_str(&addr));
	}
	buf_free(&tok);
	buf_free(&what);
	buf_free(&addr);
	return ret;
}

static int expiry_text(int64_t secs, char *out, size_t size)
{
	if (secs % 86400 == 0)
		snprintf(out, size, "%lld day%s", (long long)(secs / 86400),
			 secs == 86400 ? "" : "s");
	else if (secs % 3600 == 0)
		snprintf(out, size, "%lld hour%s", (long long)(secs / 3600),
			 secs == 3600 ? "" : "s");
	else
		snprintf(out, size, "%lld minutes",
			 (long long)((secs + 59) / 60));
	return 0;
}

static int render_reply(int64_t sub_id, struct buf *out, void *arg)
{
	struct render_ctx *r = arg;
	const struct config_list *list = r->list;

	if (!sub_id)
		sub_id = r->sub_id;
	struct tmpl_data *d = tmpl_data_create();
	struct buf body, subject, mid, sub_addr, help_addr;
	struct message_spec spec;
	struct err err = {{0}};
	char expiry[64];
	int ret = d ? 0 : -ENOMEM;

	buf_init(&body, BUF_MAX_TEXT);
	buf_init(&subject, BUF_MAX_LINE);
	buf_init(&mid, BUF_MAX_LINE);
	buf_init(&sub_addr, BUF_MAX_LINE);
	buf_init(&help_addr, BUF_MAX_LINE);
	expiry_text(r->s->cfg->confirm_expiry, expiry, sizeof(expiry));
	if (!ret)
		ret = command_address(list, "subscribe", &sub_addr);
	if (!ret)
		ret = command_address(list, "help", &help_addr);
	if (!ret)
		ret = tmpl_data_set(d, "list_title", list->title);
	if (!ret)
		ret = tmpl_data_set(d, "list_name", list->name);
	if (!ret)
		ret = tmpl_data_set(d, "list_address", list->address);
	if (!ret)
		ret = tmpl_data_set(d, "recipient", r->address);
	if (!ret)
		ret = tmpl_data_set(d, "subscribe_address", buf_str(&sub_addr));
	if (!ret)
		ret = tmpl_data_set(d, "help_address", buf_str(&help_addr));
	if (!ret)
		ret = tmpl_data_setf(d, "subscribe_url", "%s/s/%s",
				     r->s->cfg->public_url, list->name);
	if (!ret)
		ret = tmpl_data_set(d, "expiry", expiry);
	if (!ret)
		ret = tmpl_data_set(d, "schedule", list->schedule_text);
	if (!ret && r->reply == REPLY_CONFIRM)
		ret = set_token_vars(r, d, TOKEN_CONFIRM, sub_id, r->issued);
	if (!ret && (r->reply == REPLY_WELCOME || r->reply == REPLY_LEAVE))
		ret = set_token_vars(r, d, TOKEN_UNSUBSCRIBE, sub_id, r->now);
	if (!ret)
		ret = tmpl_render(r->s->tmpl[r->reply], d, &body);
	if (!ret)
		ret = buf_printf(&subject, "%s%s%s", replies[r->reply].before,
				 list->title, replies[r->reply].after);
	if (!ret)
		ret = token_random_id(replies[r->reply].kind,
				      domain_of(list->address), &mid);
	if (!ret) {
		memset(&spec, 0, sizeof(spec));
		spec.from = list->from;
		spec.to = r->address;
		spec.subject = buf_str(&subject);
		spec.date = r->now;
		spec.message_id = buf_str(&mid);
		/* An answer to a request: RFC 3834, and no one-click
		 * header on a mail that subscribes nobody (C6). */
		spec.auto_submitted = "auto-replied";
		spec.body = buf_str(&body);
		ret = message_build(&spec, out, &err);
		if (ret)
			log_warnx("list %s: reply to %s: %s", list->name,
				  r->address, err.msg);
	}
	tmpl_data_destroy(d);
	buf_free(&body);
	buf_free(&subject);
	buf_free(&mid);
	buf_free(&sub_addr);
	buf_free(&help_addr);
	return ret;
}

/* Whether a reply of this kind may go to address now; *why says which
 * limit stopped it. */
static int may_reply(struct subscribe *s, const char *address, enum reply r,
		     int64_t now, const char **why, struct err *err)
{
	struct store_notice_counts c;
	int ret = store_notice_counts(s->st, address, now, &c, err);

	if (ret)
		return ret;
	*why = NULL;
	if (c.day >= SUBSCRIBE_REPLIES_PER_DAY)
		*why = "absorbed: 10 automatic replies to this address "
		       "today";
	else if (r == REPLY_CONFIRM && c.last_confirm &&
		 now - c.last_confirm < SUBSCRIBE_CONFIRM_COOLDOWN)
		*why = "absorbed: a confirmation went to this address less "
		       "than 15 minutes ago";
	else if (r == REPLY_CONFIRM &&
		 c.confirms_day >= SUBSCRIBE_CONFIRMS_PER_DAY)
		*why = "absorbed: 3 confirmations to this address today";
	else if (r == REPLY_CONFIRM &&
		 c.confirms_hour_all >= s->cfg->confirmations_per_hour)
		*why = "absorbed: confirmations_per_hour reached";
	return 0;
}

/* One change, with an optional reply within the limits. */
struct change {
	struct store_sub_change ch;
	struct render_ctx r;
	char outcome[ERR_MSG_MAX];
};

static void change_init(struct change *c, struct subscribe *s,
			const struct config_list *list, const char *address,
			enum subscribe_via via, const char *what, int64_t now)
{
	memset(c, 0, sizeof(*c));
	c->ch.list = list->name;
	c->ch.address = address;
	c->ch.event_via = subscribe_via_name(via);
	c->ch.event_what = what;
	c->ch.event_outcome = c->outcome;
	c->r.s = s;
	c->r.list = list;
	c->r.address = address;
	c->r.now = now;
}

/* Adds reply r to the change when the limits allow; outcome_sent is
 * recorded then, else the limit that absorbed it. */
static int change_reply(struct change *c, enum reply r, bool reply_ok,
			const char *outcome_sent, struct err *err)
{
	const char *why = NULL;
	int ret;

	if (!reply_ok) {
		snprintf(c->outcome, sizeof(c->outcome),
			 "%s (no reply: loop guard)", outcome_sent);
		return 0;
	}
	ret = may_reply(c->r.s, c->ch.address, r, c->r.now, &why, err);
	if (ret)
		return ret;
	if (why) {
		snprintf(c->outcome, sizeof(c->outcome), "%s", why);
		metrics_add(METRIC_REPLIES_ABSORBED, 1);
		return 0;
	}
	c->r.reply = r;
	c->ch.notice_kind = replies[r].kind;
	c->ch.render = render_reply;
	c->ch.render_arg = &c->r;
	snprintf(c->outcome, sizeof(c->outcome), "%s", outcome_sent);
	return 0;
}

static int change_apply(struct subscribe *s, struct change *c, struct err *err)
{
	int ret = store_sub_apply(s->st, &c->ch, c->r.now, NULL, err);

	if (ret)
		return ret;
	log_info("list %s: %s %s from %s: %s", c->ch.list, c->ch.event_via,
		 c->ch.event_what, c->ch.address, c->outcome);
	if (s->on_leave && c->ch.sub && c->ch.sub->id &&
	    strcmp(c->ch.sub->state, "active") != 0)
		s->on_leave(c->ch.sub->id, s->on_leave_arg);
	return 0;
}

void subscribe_on_leave(struct subscribe *s, subscribe_leave_fn *fn, void *arg)
{
	s->on_leave = fn;
	s->on_leave_arg = arg;
}

/* ---- joining ---- */

static int join(struct subscribe *s, const struct config_list *list,
		const char *address, enum subscribe_via via, bool reply_ok,
		int64_t command_id, int64_t now, char *outcome, struct err *err)
{
	struct store_sub cur, next;
	struct change c;
	bool exists;
	int ret;

	change_init(&c, s, list, address, via, "subscribe", now);
	c.ch.command_id = command_id;
	ret = store_sub_get(s->st, list->name, address, 0, &cur, err);
	if (ret && ret != -ENOENT)
		return ret;
	exists = ret == 0;
	if (!subscribe_address_allowed(list, address)) {
		snprintf(c.outcome, sizeof(c.outcome),
			 "refused: not allowed by the list's allow filter");
	} else if (exists && strcmp(cur.state, "active") == 0) {
		c.r.sub_id = cur.id;
		ret = change_reply(&c, REPLY_WELCOME, reply_ok,
				   "already subscribed: reminder sent", err);
	} else if (list->subscribe == SUBSCRIBE_OPEN) {
		next = exists ? cur : (struct store_sub){0};
		snprintf(next.state, sizeof(next.state), "active");
		snprintf(next.via, sizeof(next.via), "%s",
			 subscribe_via_name(via));
		next.awaiting[0] = '\0';
		next.requested = now;
		next.confirm_issued = 0;
		c.ch.sub = &next;
		ret = change_reply(&c, REPLY_WELCOME, reply_ok,
				   "subscribed (open list): welcome sent", err);
	} else if (exists && strcmp(cur.state, "pending") == 0 &&
		   strcmp(cur.awaiting, "approval") == 0) {
		c.r.sub_id = cur.id;
		ret = change_reply(&c, REPLY_WAITING, reply_ok,
				   "waits for approval: reminder sent", err);
	} else {
		next = exists ? cur : (struct store_sub){0};
		snprintf(next.state, sizeof(next.state), "pending");
		snprintf(next.via, sizeof(next.via), "%s",
			 subscribe_via_name(via));
		snprintf(next.awaiting, sizeof(next.awaiting), "confirm");
		next.requested = now;
		/* A request still pending reuses its token (C1): the same
		 * link however often it is asked for. */
		if (!(exists && strcmp(cur.state, "pending") == 0 &&
		      cur.confirm_issued &&
		      now - cur.confirm_issued < s->cfg->confirm_expiry))
			next.confirm_issued = now;
		c.ch.sub = &next;
		c.r.issued = next.confirm_issued;
		ret = change_reply(&c, REPLY_CONFIRM, reply_ok,
				   "confirmation sent", err);
	}
	if (!ret)
		ret = change_apply(s, &c, err);
	if (!ret && outcome)
		snprintf(outcome, ERR_MSG_MAX, "%s", c.outcome);
	return ret;
}

int subscribe_request(struct subscribe *s, const struct config_list *list,
		      const char *address, enum subscribe_via via, int64_t now,
		      char outcome[ERR_MSG_MAX], struct err *err)
{
	struct err why = {{0}};
	struct buf addr;
	int ret;

	buf_init(&addr, BUF_MAX_LINE);
	ret = subscribe_address_normalise(address, &addr, &why);
	if (ret == -EINVAL) {
		if (outcome)
			snprintf(outcome, ERR_MSG_MAX, "%s", why.msg);
		buf_free(&addr);
		return 0;
	}
	if (!ret)
		ret = join(s, list, buf_str(&addr), via, true, 0, now, outcome,
			   err);
	buf_free(&addr);
	return ret;
}

/* ---- tokens ---- */

/* A genuine token whose subscriber row is gone (purged: C5). A
 * confirmation past its time says so, for the list it names; anything
 * else is no good. */
static void token_gone(struct subscribe *s, enum token_purpose purpose,
		       const struct token_claims *claims, int64_t now,
		       struct subscribe_token_info *info)
{
	const struct config_list *list = NULL;

	if (purpose != TOKEN_CONFIRM ||
	    now - claims->issued <= s->cfg->confirm_expiry)
		return;
	for (size_t i = 0; i < s->cfg->n_lists && !list; i++)
		if (token_check_list(claims, s->cfg->lists[i].name) == 0)
			list = &s->cfg->lists[i];
	if (!list)
		return;
	snprintf(info->list, sizeof(info->list), "%s", list->name);
	snprintf(info->list_title, sizeof(info->list_title), "%s", list->title);
	info->result = SUBSCRIBE_EXPIRED;
	info->gone = true;
}

/* Verifies token and loads its subscriber; *sub and info are set.
 * Returns 0 (info->result SUBSCRIBE_DONE when the token names a row to
 * act on, SUBSCRIBE_BAD when it is no good, SUBSCRIBE_EXPIRED with
 * info->gone when it confirmed a request since purged) or a store
 * error. */
static int token_load(struct subscribe *s, enum token_purpose purpose,
		      const char *token, int64_t now,
		      struct token_claims *claims, struct store_sub *sub,
		      const struct config_list **list,
		      struct subscribe_token_info *info, struct err *err)
{
	int ret;

	memset(info, 0, sizeof(*info));
	info->result = SUBSCRIBE_BAD;
	*list = NULL;
	if (token_verify(s->keys, token, purpose, claims))
		return 0;
	ret = store_sub_get(s->st, NULL, NULL, claims->subscriber_id, sub, err);
	/* A row made after the token was issued is not the one it was
	 * issued for: a purged row's id, handed out again (SQLite reuses
	 * the highest). */
	if (ret == -ENOENT || (!ret && claims->issued < sub->created)) {
		token_gone(s, purpose, claims, now, info);
		return 0;
	}
	if (ret)
		return ret;
	/* A token for list A names no subscriber of list B (B6). */
	if (token_check_list(claims, sub->list))
		return 0;
	*list = config_list_find(s->cfg, sub->list);
	if (!*list)
		return 0;
	snprintf(info->list, sizeof(info->list), "%s", (*list)->name);
	snprintf(info->list_title, sizeof(info->list_title), "%s",
		 (*list)->title);
	info->result = SUBSCRIBE_DONE;
	return 0;
}

/* What confirming sub with claims would do, without doing it. */
static enum subscribe_result confirm_state(struct subscribe *s,
					   const struct token_claims *c,
					   const struct store_sub *sub,
					   int64_t now)
{
	if (strcmp(sub->state, "active") == 0)
		return SUBSCRIBE_ALREADY;
	if (strcmp(sub->state, "pending") == 0 &&
	    strcmp(sub->awaiting, "approval") == 0)
		return SUBSCRIBE_WAITING;
	if (strcmp(sub->state, "pending") != 0 ||
	    c->issued != sub->confirm_issued)
		return SUBSCRIBE_BAD; /* superseded, or left since */
	if (now - c->issued > s->cfg->confirm_expiry || now < c->issued - 300)
		return SUBSCRIBE_EXPIRED;
	return SUBSCRIBE_DONE;
}

int subscribe_token_check(struct subscribe *s, enum token_purpose purpose,
			  const char *token, int64_t now,
			  struct subscribe_token_info *info, struct err *err)
{
	const struct config_list *list;
	struct token_claims c;
	struct store_sub sub;
	int ret;

	ret = token_load(s, purpose, token, now, &c, &sub, &list, info, err);
	if (ret || info->result != SUBSCRIBE_DONE)
		return ret;
	if (purpose == TOKEN_CONFIRM)
		info->result = confirm_state(s, &c, &sub, now);
	else if (strcmp(sub.state, "unsubscribed") == 0)
		info->result = SUBSCRIBE_ALREADY;
	return 0;
}

/* Acts on a verified token. command_id settles a mailed command in the
 * same transaction (0 for none). */
static int token_act(struct subscribe *s, enum token_purpose purpose,
		     const char *token, enum subscribe_via via, bool reply_ok,
		     int64_t command_id, int64_t now,
		     struct subscribe_token_info *info, struct err *err)
{
	const struct config_list *list;
	struct token_claims claims;
	struct store_sub sub, next;
	struct change c;
	int ret;

	ret = token_load(s, purpose, token, now, &claims, &sub, &list, info,
			 err);
	if (ret || info->result != SUBSCRIBE_DONE)
		return ret;
	next = sub;
	if (purpose == TOKEN_UNSUBSCRIBE) {
		change_init(&c, s, list, sub.address, via, "unsubscribe", now);
		c.ch.command_id = command_id;
		if (strcmp(sub.state, "unsubscribed") == 0) {
			info->result = SUBSCRIBE_ALREADY;
			snprintf(c.outcome, sizeof(c.outcome),
				 "not subscribed already");
		} else {
			snprintf(next.state, sizeof(next.state),
				 "unsubscribed");
			next.awaiting[0] = '\0';
			next.confirm_issued = 0;
			next.left_at = now;
			c.ch.sub = &next;
			snprintf(c.outcome, sizeof(c.outcome), "unsubscribed");
			/* A mailed request is answered; a click is not (the
			 * page says it all). */
			if (via == SUBSCRIBE_VIA_EMAIL)
				ret = change_reply(&c, REPLY_GOODBYE, reply_ok,
						   "unsubscribed: goodbye sent",
						   err);
		}
		return ret ? ret : change_apply(s, &c, err);
	}
	change_init(&c, s, list, sub.address, via, "confirm", now);
	c.ch.command_id = command_id;
	info->result = confirm_state(s, &claims, &sub, now);
	switch (info->result) {
	case SUBSCRIBE_DONE:
		next.confirmed = now;
		next.confirm_issued = 0;
		if (list->subscribe == SUBSCRIBE_APPROVE) {
			snprintf(next.awaiting, sizeof(next.awaiting),
				 "approval");
			info->result = SUBSCRIBE_WAITING;
			ret = change_reply(&c, REPLY_WAITING, reply_ok,
					   "confirmed; waits for approval",
					   err);
		} else {
			snprintf(next.state, sizeof(next.state), "active");
			next.awaiting[0] = '\0';
			ret = change_reply(&c, REPLY_WELCOME, reply_ok,
					   "confirmed: subscribed", err);
		}
		c.ch.sub = &next;
		break;
	case SUBSCRIBE_ALREADY:
		snprintf(c.outcome, sizeof(c.outcome), "confirmed already");
		break;
	case SUBSCRIBE_WAITING:
		snprintf(c.outcome, sizeof(c.outcome),
			 "confirmed already; waits for approval");
		break;
	case SUBSCRIBE_EXPIRED:
		snprintf(c.outcome, sizeof(c.outcome),
			 "refused: the confirmation link expired");
		break;
	case SUBSCRIBE_BAD:
		snprintf(c.outcome, sizeof(c.outcome),
			 "refused: an old confirmation link");
		break;
	}
	return ret ? ret : change_apply(s, &c, err);
}

int subscribe_token_act(struct subscribe *s, enum token_purpose purpose,
			const char *token, enum subscribe_via via, int64_t now,
			struct subscribe_token_info *info, struct err *err)
{
	return token_act(s, purpose, token, via, true, 0, now, info, err);
}

/* ---- mailed commands ---- */

struct cmd_copy {
	int64_t id;
	char *list, *command, *address, *token;
	bool reply;
};

struct cmd_list {
	struct cmd_copy *v;
	size_t n, cap;
};

static int collect_command(const struct store_command *c, void *arg)
{
	struct cmd_list *l = arg;
	struct cmd_copy *x;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct cmd_copy *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	x = &l->v[l->n++];
	x->id = c->id;
	x->list = strdup(c->list);
	x->command = strdup(c->command);
	x->address = strdup(c->address);
	x->token = c->token ? strdup(c->token) : NULL;
	x->reply = c->reply;
	if (!x->list || !x->command || !x->address || (c->token && !x->token))
		return -ENOMEM;
	return 0;
}

/* Settles a command that changes nothing, with what happened. */
static int settle_only(struct subscribe *s, const struct config_list *list,
		       const struct cmd_copy *x, const char *address,
		       const char *state, const char *outcome, int64_t now,
		       struct err *err)
{
	struct change c;

	change_init(&c, s, list, address, SUBSCRIBE_VIA_EMAIL, x->command, now);
	c.ch.command_id = x->id;
	c.ch.command_state = state;
	snprintf(c.outcome, sizeof(c.outcome), "%s", outcome);
	return change_apply(s, &c, err);
}

static int leave_without_token(struct subscribe *s,
			       const struct config_list *list,
			       const struct cmd_copy *x, const char *address,
			       int64_t now, struct err *err)
{
	struct store_sub cur;
	struct change c;
	int ret;

	ret = store_sub_get(s->st, list->name, address, 0, &cur, err);
	if (ret == -ENOENT || (!ret && strcmp(cur.state, "unsubscribed") == 0))
		return settle_only(s, list, x, address, "done",
				   "not subscribed: no reply", now, err);
	if (ret)
		return ret;
	/* The From may be forged: ask the subscribed address (C8, C9). */
	change_init(&c, s, list, address, SUBSCRIBE_VIA_EMAIL, "unsubscribe",
		    now);
	c.ch.command_id = x->id;
	c.r.sub_id = cur.id;
	ret = change_reply(&c, REPLY_LEAVE, x->reply,
			   "asked to confirm by mail", err);
	return ret ? ret : change_apply(s, &c, err);
}

static int run_command(struct subscribe *s, const struct cmd_copy *x,
		       int64_t now, struct err *err)
{
	const struct config_list *list = config_list_find(s->cfg, x->list);
	struct subscribe_token_info info;
	struct err why = {{0}};
	struct buf addr;
	struct change c;
	int ret;

	if (!list) {
		log_warnx("command %lld for list %s, no longer in the config: "
			  "dropped",
			  (long long)x->id, x->list);
		return 0;
	}
	buf_init(&addr, BUF_MAX_LINE);
	ret = subscribe_address_normalise(x->address, &addr, &why);
	if (ret == -EINVAL) {
		buf_free(&addr);
		return settle_only(s, list, x, x->address, "failed", why.msg,
				   now, err);
	}
	if (ret) {
		buf_free(&addr);
		return ret;
	}
	if (strcmp(x->command, "subscribe") == 0) {
		ret = join(s, list, buf_str(&addr), SUBSCRIBE_VIA_EMAIL,
			   x->reply, x->id, now, NULL, err);
	} else if (strcmp(x->command, "unsubscribe") == 0) {
		ret = 0;
		info.result = SUBSCRIBE_BAD;
		if (x->token && *x->token)
			ret = token_act(s, TOKEN_UNSUBSCRIBE, x->token,
					SUBSCRIBE_VIA_EMAIL, x->reply, x->id,
					now, &info, err);
		/* No token, or a bad one: confirmation first (C9). */
		if (!ret && info.result == SUBSCRIBE_BAD)
			ret = leave_without_token(s, list, x, buf_str(&addr),
						  now, err);
	} else if (strcmp(x->command, "confirm") == 0) {
		ret = token_act(s, TOKEN_CONFIRM, x->token ? x->token : "",
				SUBSCRIBE_VIA_EMAIL, x->reply, x->id, now,
				&info, err);
		if (!ret && (info.result == SUBSCRIBE_BAD || info.gone))
			ret = settle_only(s, list, x, buf_str(&addr), "failed",
					  info.gone ? "refused: the "
						      "confirmation link "
						      "expired"
						    : "refused: not a valid "
						      "confirmation token",
					  now, err);
	} else {
		change_init(&c, s, list, buf_str(&addr), SUBSCRIBE_VIA_EMAIL,
			    "help", now);
		c.ch.command_id = x->id;
		ret = change_reply(&c, REPLY_HELP, x->reply, "help sent", err);
		if (!ret)
			ret = change_apply(s, &c, err);
	}
	buf_free(&addr);
	return ret;
}

int subscribe_run_commands(struct subscribe *s, int64_t now, size_t *n,
			   struct err *err)
{
	struct cmd_list l = {0};
	size_t i, done = 0;
	int ret;

	ret = store_commands_each(s->st, "pending", collect_command, &l, err);
	if (ret == -ENOMEM)
		err_set(err, "out of memory reading commands");
	for (i = 0; i < l.n && !ret; i++) {
		ret = run_command(s, &l.v[i], now, err);
		/* Another process (bulletinctl, a second daemon) took it. */
		if (ret == -EALREADY)
			ret = 0;
		else if (!ret)
			done++;
	}
	for (i = 0; i < l.n; i++) {
		free(l.v[i].list);
		free(l.v[i].command);
		free(l.v[i].address);
		free(l.v[i].token);
	}
	free(l.v);
	if (n)
		*n = done;
	return ret;
}

/* ---- admin ---- */

int subscribe_admin_add(struct subscribe *s, const struct config_list *list,
			const char *address, enum subscribe_via via,
			int64_t now, struct err *err)
{
	struct store_sub cur, next;
	struct change c;
	int ret;

	if (!subscribe_address_allowed(list, address)) {
		err_set(err,
			"%s is not allowed by list %s's allow filter; change "
			"allow in the config to add it",
			address, list->name);
		return -EPERM;
	}
	ret = store_sub_get(s->st, list->name, address, 0, &cur, err);
	if (ret && ret != -ENOENT)
		return ret;
	next = ret == 0 ? cur : (struct store_sub){0};
	snprintf(next.state, sizeof(next.state), "active");
	snprintf(next.via, sizeof(next.via), "%s", subscribe_via_name(via));
	next.awaiting[0] = '\0';
	next.confirm_issued = 0;
	next.requested = now;
	change_init(&c, s, list, address, via, "add", now);
	c.ch.sub = &next;
	snprintf(c.outcome, sizeof(c.outcome), "subscribed by the admin");
	return change_apply(s, &c, err);
}

int subscribe_admin_remove(struct subscribe *s, const struct config_list *list,
			   const char *address, int64_t now, struct err *err)
{
	struct store_sub cur;
	struct change c;
	int ret;

	ret = store_sub_get(s->st, list->name, address, 0, &cur, err);
	if (ret)
		return ret;
	snprintf(cur.state, sizeof(cur.state), "unsubscribed");
	cur.awaiting[0] = '\0';
	cur.confirm_issued = 0;
	cur.left_at = now;
	change_init(&c, s, list, address, SUBSCRIBE_VIA_ADMIN, "remove", now);
	c.ch.sub = &cur;
	snprintf(c.outcome, sizeof(c.outcome), "removed by the admin");
	return change_apply(s, &c, err);
}

int subscribe_admin_approve(struct subscribe *s, const struct config_list *list,
			    const char *address, int64_t now, struct err *err)
{
	struct store_sub cur;
	struct change c;
	int ret;

	ret = store_sub_get(s->st, list->name, address, 0, &cur, err);
	if (ret)
		return ret;
	if (strcmp(cur.state, "pending") != 0) {
		err_set(err, "%s is %s on list %s, not waiting for approval",
			address, cur.state, list->name);
		return -ENOENT;
	}
	snprintf(cur.state, sizeof(cur.state), "active");
	cur.awaiting[0] = '\0';
	cur.confirm_issued = 0;
	change_init(&c, s, list, address, SUBSCRIBE_VIA_ADMIN, "approve", now);
	c.ch.sub = &cur;
	ret = change_reply(&c, REPLY_WELCOME, true,
			   "approved by the admin: welcome sent", err);
	return ret ? ret : change_apply(s, &c, err);
}

/* ---- the subscribe form ---- */

int subscribe_form_token(struct subscribe *s, const struct config_list *list,
			 int64_t now, struct buf *out)
{
	struct token_claims c = {
		.purpose = TOKEN_FORM,
		.subscriber_id = 0,
		.issued = now,
		.list = list->name,
	};

	return token_make(s->keys, &c, out);
}

enum subscribe_form_check subscribe_form_check(struct subscribe *s,
					       const struct config_list *list,
					       const char *token, int64_t now)
{
	struct token_claims c;

	if (!token || token_verify(s->keys, token, TOKEN_FORM, &c) ||
	    token_check_list(&c, list->name) || c.subscriber_id != 0)
		return SUBSCRIBE_FORM_BAD;
	/* A little leeway for a clock stepped back since. */
	if (c.issued > now + 60)
		return SUBSCRIBE_FORM_BAD;
	if (now - c.issued > SUBSCRIBE_FORM_LIFETIME)
		return SUBSCRIBE_FORM_EXPIRED;
	if (now - c.issued < s->cfg->http_form_min_time)
		return SUBSCRIBE_FORM_EARLY;
	return SUBSCRIBE_FORM_OK;
}

int subscribe_purge(struct subscribe *s, int64_t now, size_t *n,
		    struct err *err)
{
	return store_sub_purge(s->st, now - s->cfg->confirm_expiry, now, n,
			       err);
}
