/*
 * bounce: the VERP envelope sender, and the reading of RFC 3464 delivery
 * status fields, block by block, with folded lines joined.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "bounce.h"

int bounce_address(const struct token_keys *k, const char *list,
		   const char *address, int64_t delivery_id, struct buf *out)
{
	const char *at = address ? strrchr(address, '@') : NULL;
	struct buf token;
	int ret;

	if (!at || at == address)
		return -EINVAL;
	buf_init(&token, BUF_MAX_LINE);
	ret = token_bounce_make(k, list, delivery_id, &token);
	if (!ret)
		ret = buf_printf(out, "%.*s+" BOUNCE_PREFIX "%s%s",
				 (int)(at - address), address, buf_str(&token),
				 at);
	buf_free(&token);
	return ret;
}

/* One recipient block's fields, as found. */
struct block {
	char action[32];
	char status[16];
	char recipient[256];
	char diagnostic[200];
	bool any;
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Copies the value (after "type;" when semi, which is the address or
 * diagnostic type of RFC 3464) as one line of printable ASCII, blanks
 * squeezed, into out. */
static void value_copy(const char *v, size_t n, bool semi, char *out,
		       size_t size)
{
	const char *sc = semi ? memchr(v, ';', n) : NULL;
	size_t k = 0;
	bool blank = true;

	if (sc) {
		n -= (size_t)(sc + 1 - v);
		v = sc + 1;
	}
	for (size_t i = 0; i < n && k + 1 < size; i++) {
		char c = v[i];

		if (is_blank(c) || c == '\r' || c == '\n') {
			blank = true;
			continue;
		}
		if (blank && k > 0)
			out[k++] = ' ';
		blank = false;
		if (k + 1 < size)
			out[k++] = (c > ' ' && c < 0x7f) ? c : '?';
	}
	out[k] = '\0';
}

/* Takes one unfolded field "Name: value" into b. */
static void field(struct block *b, const char *f, size_t n)
{
	const char *colon = memchr(f, ':', n);
	size_t name, vn;
	const char *v;

	if (!colon)
		return;
	name = (size_t)(colon - f);
	v = colon + 1;
	vn = n - name - 1;
	while (name > 0 && is_blank(f[name - 1]))
		name--;
#define IS(s) (name == sizeof(s) - 1 && strncasecmp(f, s, name) == 0)
	if (IS("Action")) {
		value_copy(v, vn, false, b->action, sizeof(b->action));
		b->any = true;
	} else if (IS("Status")) {
		value_copy(v, vn, false, b->status, sizeof(b->status));
		b->any = true;
	} else if (IS("Final-Recipient")) {
		value_copy(v, vn, true, b->recipient, sizeof(b->recipient));
		b->any = true;
	} else if (IS("Diagnostic-Code")) {
		value_copy(v, vn, true, b->diagnostic, sizeof(b->diagnostic));
	}
#undef IS
}

static enum bounce_kind classify(const struct block *b)
{
	char cls = b->status[0];

	if (strcasecmp(b->action, "delivered") == 0 ||
	    strcasecmp(b->action, "relayed") == 0 ||
	    strcasecmp(b->action, "expanded") == 0)
		return BOUNCE_NONE;
	if (strcasecmp(b->action, "delayed") == 0 || cls == '4')
		return BOUNCE_SOFT;
	if (cls == '5' &&
	    (b->action[0] == '\0' || strcasecmp(b->action, "failed") == 0))
		return BOUNCE_HARD;
	/* Failed without a usable status: not proven for good. */
	return strcasecmp(b->action, "failed") == 0 ? BOUNCE_SOFT : BOUNCE_NONE;
}

/* The block counts when it is worse than what out holds. */
static void block_done(struct block *b, struct bounce_report *out, bool *found)
{
	enum bounce_kind kind;

	if (!b->any)
		goto reset;
	kind = classify(b);
	if (!*found || kind > out->kind) {
		out->kind = kind;
		snprintf(out->status, sizeof(out->status), "%s", b->status);
		snprintf(out->recipient, sizeof(out->recipient), "%s",
			 b->recipient);
		snprintf(out->diagnostic, sizeof(out->diagnostic), "%s",
			 b->diagnostic[0] ? b->diagnostic : b->status);
	}
	*found = true;
reset:
	memset(b, 0, sizeof(*b));
}

int bounce_read(const char *status, struct bounce_report *out)
{
	struct block b;
	const char *p = status, *fstart = NULL;
	bool found = false;

	memset(out, 0, sizeof(*out));
	memset(&b, 0, sizeof(b));
	while (*p) {
		const char *nl = strchr(p, '\n');
		const char *end = nl ? nl : p + strlen(p);
		size_t n = (size_t)(end - p);

		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n > 0 && is_blank(p[0]) && fstart) {
			/* a folded line: part of the field before */
		} else {
			if (fstart)
				field(&b, fstart, (size_t)(p - fstart));
			fstart = NULL;
			if (n == 0 || (n > 0 && is_blank(p[0]) &&
				       strspn(p, " \t\r") >= n))
				block_done(&b, out, &found);
			else
				fstart = p;
		}
		p = nl ? nl + 1 : end;
	}
	if (fstart)
		field(&b, fstart, (size_t)(p - fstart));
	block_done(&b, out, &found);
	return found ? 0 : -EBADMSG;
}
