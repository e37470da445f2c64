/*
 * inbound: routes one parsed message to a list command, a briefing
 * source, or nowhere (with a one-line reason naming the address, list,
 * folder or source at fault). Addresses are compared without case and
 * looked at in place, as (pointer, length) spans: nothing here allocates,
 * so routing cannot fail. Pure; safe on any thread.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "bounce.h"
#include "inbound.h"

/* A piece of a string, borrowed; not NUL-terminated. */
struct span {
	const char *p;
	size_t n;
};

/* What a request line ("subscribe", "confirm TOKEN"...) asks for. */
enum request {
	REQUEST_UNKNOWN,
	REQUEST_COMMAND,
	REQUEST_CONFIRM, /* with the token span, which may be empty */
};

static const char *const command_names[] = {
	[INBOUND_SUBSCRIBE] = "subscribe",
	[INBOUND_UNSUBSCRIBE] = "unsubscribe",
	[INBOUND_CONFIRM] = "confirm",
	[INBOUND_HELP] = "help",
};

const char *inbound_command_name(enum inbound_command c)
{
	if ((size_t)c >= sizeof(command_names) / sizeof(command_names[0])) {
		return "unknown";
	}
	return command_names[c];
}

static void set_reason(struct inbound_route *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void set_reason(struct inbound_route *out, const char *fmt, ...)
{
	va_list ap;

	/* A long address may cut the reason short; it stays one line. */
	va_start(ap, fmt);
	vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
	va_end(ap);
}

/* Lengths go to "%.*s"; no address comes near INT_MAX, but be exact. */
static int span_len(struct span s)
{
	return s.n > 4096 ? 4096 : (int)s.n;
}

static bool span_eq(struct span s, const char *word)
{
	return strlen(word) == s.n && strncasecmp(s.p, word, s.n) == 0;
}

static bool span_eq_span(struct span a, struct span b)
{
	return a.n == b.n && strncasecmp(a.p, b.p, a.n) == 0;
}

/* Splits addr (n bytes) at its last '@' into a non-empty local part and
 * domain. */
static bool addr_split(const char *addr, size_t n, struct span *local,
		       struct span *domain)
{
	size_t i = n;

	while (i > 0 && addr[i - 1] != '@') {
		i--;
	}
	if (i <= 1 || i == n) {
		return false;
	}
	*local = (struct span){addr, i - 1};
	*domain = (struct span){addr + i, n - i};
	return true;
}

/* IMAP folder names are case-sensitive, except INBOX (RFC 3501 5.1). */
static bool folder_eq(const char *a, const char *b)
{
	if (!a || !b) {
		return false;
	}
	if (strcasecmp(a, "INBOX") == 0) {
		return strcasecmp(b, "INBOX") == 0;
	}
	return strcmp(a, b) == 0;
}

static const char *command_folder(const struct config *cfg)
{
	return cfg->imap_folder ? cfg->imap_folder : "INBOX";
}

/* Whether addr (n bytes) is in list's command space: LIST+SUFFIX@DOMAIN
 * (*suffix set, maybe empty) or LIST-request@DOMAIN (*request set). */
static bool list_command_space(const struct config_list *list, const char *addr,
			       size_t n, struct span *suffix, bool *request)
{
	struct span local, domain, list_local, list_domain, rest;

	if (!list->address ||
	    !addr_split(list->address, strlen(list->address), &list_local,
			&list_domain) ||
	    !addr_split(addr, n, &local, &domain) ||
	    !span_eq_span(domain, list_domain) || local.n <= list_local.n ||
	    strncasecmp(local.p, list_local.p, list_local.n) != 0) {
		return false;
	}
	rest = (struct span){local.p + list_local.n, local.n - list_local.n};
	*request = span_eq(rest, "-request");
	if (*request) {
		return true;
	}
	if (rest.p[0] != '+') {
		return false;
	}
	*suffix = (struct span){rest.p + 1, rest.n - 1};
	return true;
}

static bool token_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* Copies a base64url token into out->token, or sets a reason naming
 * where it came from (whence, e.g. the address) and returns false. */
static bool take_token(struct span tok, const char *whence,
		       struct inbound_route *out)
{
	size_t i;

	if (tok.n == 0) {
		set_reason(out, "%s: the token is empty", whence);
		return false;
	}
	if (tok.n > INBOUND_TOKEN_MAX) {
		set_reason(out,
			   "%s: the token is longer than %d characters, so it "
			   "is not one of ours",
			   whence, INBOUND_TOKEN_MAX);
		return false;
	}
	for (i = 0; i < tok.n; i++) {
		if (!token_char(tok.p[i])) {
			set_reason(out,
				   "%s: the token may hold only letters, "
				   "digits, '-' and '_', not '%c'",
				   whence,
				   (unsigned char)tok.p[i] < 0x80 &&
						   tok.p[i] > ' '
					   ? tok.p[i]
					   : '?');
			return false;
		}
	}
	memcpy(out->token, tok.p, tok.n);
	out->token[tok.n] = '\0';
	return true;
}

/* Reads the command of a LIST+SUFFIX@ address into out; false with a
 * reason when the suffix is no command. addr names it in the reason. */
static bool parse_suffix(const struct config_list *list, struct span suffix,
			 const char *addr, struct inbound_route *out)
{
	static const char unsub[] = "unsubscribe-", confirm[] = "confirm-",
			  bounce[] = BOUNCE_PREFIX;

	if (span_eq(suffix, "subscribe")) {
		out->command = INBOUND_SUBSCRIBE;
		return true;
	}
	if (span_eq(suffix, "unsubscribe")) {
		out->command = INBOUND_UNSUBSCRIBE;
		return true;
	}
	if (span_eq(suffix, "help")) {
		out->command = INBOUND_HELP;
		return true;
	}
	if (span_eq(suffix, "confirm")) {
		set_reason(out,
			   "%s: confirm needs the token from the confirmation "
			   "mail",
			   addr);
		return false;
	}
	if (suffix.n >= sizeof(unsub) - 1 &&
	    strncasecmp(suffix.p, unsub, sizeof(unsub) - 1) == 0) {
		out->command = INBOUND_UNSUBSCRIBE;
		return take_token((struct span){suffix.p + sizeof(unsub) - 1,
						suffix.n - (sizeof(unsub) - 1)},
				  addr, out);
	}
	if (suffix.n >= sizeof(bounce) - 1 &&
	    strncasecmp(suffix.p, bounce, sizeof(bounce) - 1) == 0) {
		/* A bounce of a digest (VERP): not a command. */
		out->kind = INBOUND_BOUNCE;
		return take_token(
			(struct span){suffix.p + sizeof(bounce) - 1,
				      suffix.n - (sizeof(bounce) - 1)},
			addr, out);
	}
	if (suffix.n >= sizeof(confirm) - 1 &&
	    strncasecmp(suffix.p, confirm, sizeof(confirm) - 1) == 0) {
		out->command = INBOUND_CONFIRM;
		return take_token(
			(struct span){suffix.p + sizeof(confirm) - 1,
				      suffix.n - (sizeof(confirm) - 1)},
			addr, out);
	}
	set_reason(out,
		   "%s is no command address of list %s (use +subscribe, "
		   "+unsubscribe, +help or -request)",
		   addr, list->name);
	return false;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* End of a line: the subject's NUL or a body line's newline. */
static bool is_eol(char c)
{
	return c == '\0' || c == '\n';
}

/* Skips blanks and any "Re:", "Fw:", "Fwd:" and "[tag]" prefixes, the
 * way a reply or forward of our own mail would start. */
static const char *skip_prefixes(const char *s)
{
	static const char *const words[] = {"fwd", "fw", "re"};
	const char *p;
	size_t i, len;
	bool again = true;

	while (again) {
		again = false;
		while (is_blank(*s)) {
			s++;
		}
		if (*s == '[') {
			for (p = s; !is_eol(*p) && *p != ']'; p++) {
			}
			if (*p == ']') {
				s = p + 1;
				again = true;
			}
			continue;
		}
		for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
			len = strlen(words[i]);
			if (strncasecmp(s, words[i], len) != 0) {
				continue;
			}
			for (p = s + len; is_blank(*p); p++) {
			}
			if (*p == ':') {
				s = p + 1;
				again = true;
				break;
			}
		}
	}
	return s;
}

/* The word at s (up to a blank or the line's end), and where it ends. */
static struct span next_word(const char *s, const char **end)
{
	struct span w;

	while (is_blank(*s)) {
		s++;
	}
	w.p = s;
	while (!is_eol(*s) && !is_blank(*s)) {
		s++;
	}
	w.n = (size_t)(s - w.p);
	*end = s;
	return w;
}

/* Reads a request line (the subject, or a body line) for its command
 * word; for "confirm", *token is the second word (maybe empty). */
static enum request parse_request(const char *line, enum inbound_command *cmd,
				  struct span *token)
{
	static const enum inbound_command plain[] = {
		INBOUND_SUBSCRIBE, INBOUND_UNSUBSCRIBE, INBOUND_HELP};
	const char *end;
	struct span w;
	size_t i;

	w = next_word(skip_prefixes(line), &end);
	/* "Subscribe." and "help!" are meant as the bare word. */
	while (w.n > 0 && strchr(".,;:!?", w.p[w.n - 1])) {
		w.n--;
	}
	for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		if (span_eq(w, command_names[plain[i]])) {
			*cmd = plain[i];
			return REQUEST_COMMAND;
		}
	}
	if (span_eq(w, "confirm")) {
		*cmd = INBOUND_CONFIRM;
		*token = next_word(end, &end);
		return REQUEST_CONFIRM;
	}
	return REQUEST_UNKNOWN;
}

/* Only the first lines of a body are read for a command (RELIABILITY C8,
 * Mailman's email_commands_max_lines): a command buried further down is
 * not one. */
#define INBOUND_COMMAND_LINES 10

/* The first body line with something on it, among the first
 * INBOUND_COMMAND_LINES, or "". */
static const char *first_body_line(const char *text)
{
	const char *p = text ? text : "";

	for (int line = 0; line < INBOUND_COMMAND_LINES; line++) {
		while (is_blank(*p)) {
			p++;
		}
		if (*p != '\n') {
			return p;
		}
		p++;
	}
	return "";
}

/* LIST-request@: the command is the subject's first word or, when that
 * is no command, the first body line's; "help" when neither is. */
static bool parse_request_mail(const struct mailmsg *m, const char *addr,
			       struct inbound_route *out)
{
	const char *lines[2] = {m->subject ? m->subject : "",
				first_body_line(m->text)};
	const char *whence[2] = {"subject", "first body line"};
	enum inbound_command cmd = INBOUND_HELP;
	struct span token = {"", 0};
	bool confirm_without_token = false;
	char where[ERR_MSG_MAX + 32]; /* "first body line of mail to " + addr */
	size_t i;

	for (i = 0; i < 2; i++) {
		switch (parse_request(lines[i], &cmd, &token)) {
		case REQUEST_COMMAND:
			out->command = cmd;
			return true;
		case REQUEST_CONFIRM:
			if (token.n == 0) {
				confirm_without_token = true;
				break;
			}
			out->command = INBOUND_CONFIRM;
			snprintf(where, sizeof(where), "%s of mail to %s",
				 whence[i], addr);
			return take_token(token, where, out);
		case REQUEST_UNKNOWN:
			break;
		}
	}
	if (confirm_without_token) {
		set_reason(out,
			   "mail to %s: confirm needs the token from the "
			   "confirmation mail (\"confirm TOKEN\")",
			   addr);
		return false;
	}
	out->command = INBOUND_HELP;
	return true;
}

/* Whether addr is one of list's own addresses: its address, the one in
 * its From setting ("Name <addr>" or bare), or a command address. */
static bool list_owns(const struct config_list *list, const char *addr)
{
	struct span from, suffix;
	const char *lt, *gt;
	bool request;

	if (list->address && strcasecmp(addr, list->address) == 0) {
		return true;
	}
	if (list->from) {
		lt = strrchr(list->from, '<');
		gt = lt ? strchr(lt, '>') : NULL;
		from = gt ? (struct span){lt + 1, (size_t)(gt - lt - 1)}
			  : (struct span){list->from, strlen(list->from)};
		if (span_eq(from, addr)) {
			return true;
		}
	}
	return list_command_space(list, addr, strlen(addr), &suffix, &request);
}

/* Sets the loop guard that fires first, if any. */
static void check_loop_guards(const struct config *cfg, const struct mailmsg *m,
			      struct inbound_route *out)
{
	const char *from = m->from;
	struct span local, domain, kw;
	size_t i;

	out->no_reply = true;
	if (m->auto_submitted) {
		/* RFC 3834: the keyword may carry "; parameters". */
		kw.p = m->auto_submitted;
		while (is_blank(*kw.p)) {
			kw.p++;
		}
		kw.n = strcspn(kw.p, " \t;");
		if (!span_eq(kw, "no")) {
			set_reason(out, "no reply: Auto-Submitted is \"%s\"",
				   m->auto_submitted);
			return;
		}
	}
	if (m->precedence && (strcasecmp(m->precedence, "bulk") == 0 ||
			      strcasecmp(m->precedence, "junk") == 0 ||
			      strcasecmp(m->precedence, "list") == 0)) {
		set_reason(out, "no reply: Precedence is \"%s\"",
			   m->precedence);
		return;
	}
	if (m->has_list_id) {
		set_reason(out, "no reply: the message has a List-Id, so it "
				"comes from a mailing list");
		return;
	}
	if (m->return_path && m->return_path[0] == '\0') {
		set_reason(out, "no reply: the Return-Path is null (<>), so it "
				"is a bounce or notification");
		return;
	}
	if (addr_split(from, strlen(from), &local, &domain) &&
	    (span_eq(local, "mailer-daemon") || span_eq(local, "postmaster"))) {
		set_reason(out, "no reply: the sender %s is a system address",
			   from);
		return;
	}
	for (i = 0; i < cfg->n_lists; i++) {
		if (list_owns(&cfg->lists[i], from)) {
			set_reason(out,
				   "no reply: the sender %s is an address of "
				   "list %s",
				   from, cfg->lists[i].name);
			return;
		}
	}
	out->no_reply = false;
}

/* Sets *out to the i-th recipient tried: the envelope (without any <>
 * and blanks) when given, then the message's own. False past the last. */
static bool recipient(const struct mailmsg *m, const char *envelope, size_t i,
		      struct span *out)
{
	size_t first = 0;

	if (envelope) {
		while (is_blank(*envelope) || *envelope == '<') {
			envelope++;
		}
		out->p = envelope;
		out->n = strcspn(envelope, "> \t\r\n");
		if (out->n > 0) {
			first = 1;
			if (i == 0) {
				return true;
			}
		}
	}
	if (i - first < m->n_rcpts && m->rcpts[i - first]) {
		out->p = m->rcpts[i - first];
		out->n = strlen(out->p);
		return true;
	}
	return false;
}

/* Routes by command address: returns false when no recipient is in any
 * list's command space; else true with out filled (a command, or OTHER
 * with the reason the command cannot be read). */
static bool route_command(const struct config *cfg, const struct mailmsg *m,
			  const char *envelope, struct inbound_route *out)
{
	const struct config_list *list = NULL;
	struct span rcpt, suffix = {"", 0};
	char addr[ERR_MSG_MAX];
	bool request = false, ok;
	size_t i, k;

	for (i = 0; !list && recipient(m, envelope, i, &rcpt); i++) {
		for (k = 0; k < cfg->n_lists; k++) {
			if (list_command_space(&cfg->lists[k], rcpt.p, rcpt.n,
					       &suffix, &request)) {
				list = &cfg->lists[k];
				break;
			}
		}
	}
	if (!list) {
		return false;
	}
	snprintf(addr, sizeof(addr), "%.*s", span_len(rcpt), rcpt.p);
	out->list = list;
	ok = request ? parse_request_mail(m, addr, out)
		     : parse_suffix(list, suffix, addr, out);
	if (out->kind == INBOUND_BOUNCE) {
		/* From whoever reports it, often with no usable From. */
		out->address = m->from;
		if (!ok) {
			out->kind = INBOUND_OTHER;
			out->list = NULL;
			out->token[0] = '\0';
		}
		return true;
	}
	if (ok && (!m->from || !m->from[0])) {
		set_reason(out,
			   "mail to %s has no From address to act on, so the "
			   "%s is dropped",
			   addr, inbound_command_name(out->command));
		ok = false;
	}
	if (!ok) {
		out->list = NULL;
		out->token[0] = '\0';
		return true;
	}
	out->kind = INBOUND_COMMAND;
	out->address = m->from;
	check_loop_guards(cfg, m, out);
	return true;
}

bool inbound_sender_allowed(const struct config_source *src, const char *addr)
{
	struct span local, domain;

	if (!src || src->type != SOURCE_MAILBOX || !src->from ||
	    !src->from[0] || !addr) {
		return false;
	}
	if (src->from[0] != '@') {
		return strcasecmp(addr, src->from) == 0;
	}
	return addr_split(addr, strlen(addr), &local, &domain) &&
	       span_eq(domain, src->from + 1);
}

/* A source's from setting, for reasons; config makes it required. */
static const char *source_from(const struct config_source *s)
{
	return s->from ? s->from : "(no from setting)";
}

static void set_briefing(const struct config_source *src,
			 struct inbound_route *out)
{
	out->kind = INBOUND_BRIEFING;
	out->source = src;
}

/* In a folder that mailbox sources read: a briefing from the first of
 * them that allows the sender, else OTHER naming the first of them. */
static void route_source_folder(const struct config *cfg,
				const struct mailmsg *m, const char *folder,
				struct inbound_route *out)
{
	const struct config_source *first = NULL, *s;
	size_t i, others = 0;

	for (i = 0; i < cfg->n_sources; i++) {
		s = &cfg->sources[i];
		if (s->type != SOURCE_MAILBOX ||
		    !folder_eq(folder, s->folder)) {
			continue;
		}
		if (inbound_sender_allowed(s, m->from)) {
			set_briefing(s, out);
			return;
		}
		if (first) {
			others++;
		} else {
			first = s;
		}
	}
	if (!first) {
		set_reason(out, "no mailbox source reads folder %s", folder);
	} else if (!m->from) {
		set_reason(out,
			   "a message in folder %s has no From address, and "
			   "source %s takes briefings only from %s",
			   folder, first->name, source_from(first));
	} else if (others > 0) {
		set_reason(out,
			   "sender %s is not an allowed sender of source %s "
			   "(%s) nor of the %zu other source(s) reading "
			   "folder %s",
			   m->from, first->name, source_from(first), others,
			   folder);
	} else {
		set_reason(out,
			   "sender %s is not an allowed sender of source %s "
			   "(%s)",
			   m->from, first->name, source_from(first));
	}
}

static bool folder_has_source(const struct config *cfg, const char *folder)
{
	size_t i;

	for (i = 0; i < cfg->n_sources; i++) {
		if (cfg->sources[i].type == SOURCE_MAILBOX &&
		    folder_eq(folder, cfg->sources[i].folder)) {
			return true;
		}
	}
	return false;
}

/* Why a message went nowhere: names its first recipient (and, on the
 * pipe, its sender) so the admin can tell which address was wrong. */
static void set_nowhere(const struct mailmsg *m, const char *envelope,
			const char *folder, struct inbound_route *out)
{
	struct span rcpt;

	if (!recipient(m, envelope, 0, &rcpt)) {
		set_reason(out,
			   "the message names no recipient%s%s, so no list "
			   "command can be read from it",
			   folder ? " in folder " : "", folder ? folder : "");
	} else if (folder) {
		set_reason(out,
			   "no list takes commands at %.*s (the command "
			   "folder %s takes mail to LIST+subscribe@ and the "
			   "like)",
			   span_len(rcpt), rcpt.p, folder);
	} else {
		set_reason(out,
			   "no list or mailbox source takes mail for %.*s "
			   "from %s",
			   span_len(rcpt), rcpt.p,
			   m->from ? m->from : "(no From address)");
	}
}

int inbound_route(const struct config *cfg, const struct mailmsg *m,
		  const char *folder, const char *envelope,
		  struct inbound_route *out)
{
	const struct config_source *s;
	bool commands, briefings;
	size_t i;

	memset(out, 0, sizeof(*out));
	out->kind = INBOUND_OTHER;
	if (!folder) {
		/* The MTA pipe: commands by address, then briefings by
		 * sender, from the first source that allows it. */
		if (route_command(cfg, m, envelope, out)) {
			return 0;
		}
		for (i = 0; i < cfg->n_sources; i++) {
			s = &cfg->sources[i];
			if (inbound_sender_allowed(s, m->from)) {
				set_briefing(s, out);
				return 0;
			}
		}
		set_nowhere(m, envelope, NULL, out);
		return 0;
	}
	commands = folder_eq(folder, command_folder(cfg));
	briefings = folder_has_source(cfg, folder);
	if (commands && route_command(cfg, m, envelope, out)) {
		return 0;
	}
	if (briefings) {
		route_source_folder(cfg, m, folder, out);
	} else if (commands) {
		set_nowhere(m, envelope, folder, out);
	} else {
		set_reason(out,
			   "folder %s is neither the command folder (%s) nor "
			   "a mailbox source's folder",
			   folder, command_folder(cfg));
	}
	return 0;
}
