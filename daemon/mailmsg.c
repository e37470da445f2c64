#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libetpan/libetpan.h>

#include "buf.h"
#include "html2text.h"
#include "log.h"
#include "mailmsg.h"
#include "text.h"

/* Encoded bytes of one text part handed to libetpan's decoder: enough for
 * MAILMSG_MAX_TEXT of text, and under the 8 MB past which libetpan's
 * MMAPString spills into a file in /tmp. */
#define DECODE_MAX (MAILMSG_MAX_TEXT / 2 * 3)

/* Lines starting "--" (possible MIME delimiters) libetpan is given: it
 * spends about 350 bytes on each part, so 25 MB of tiny parts would cost
 * it gigabytes. The message is read up to the line past this many. */
#define MAX_DELIMITERS (4 * MAILMSG_MAX_PARTS)

/* Longest attachment name kept, in bytes. */
#define NAME_MAX_BYTES 255

/* Parameters of one Content-Type or Content-Disposition looked at. */
#define MAX_PARAMS 64

/* libetpan recurses once per nested part; the prescan bounds that, and
 * the walk refuses to go deeper than this whatever the tree says. */
#define MAX_WALK_DEPTH (4 * MAILMSG_MAX_CONTAINERS + 4)

#define REPLACEMENT "\xEF\xBF\xBD"

enum warn_kind {
	W_CUT,
	W_PARTS,
	W_ATTACHMENTS,
	W_TEXT_CUT,
	W_BASE64,
	W_QP,
	W_DECODE,
	W_CHARSET,
	W_NO_CHARSET,
	W_WORD,
	W_DATE,
	W_MESSAGE_ID,
	W_HTML,
};

/* The text candidates of one message: the top one, or a message/rfc822
 * part inside it. Pointers are borrowed from libetpan's tree. */
struct msg_text {
	struct mailmime *plain;
	struct mailmime *html;
};

struct ctx {
	struct mailmsg *out;
	unsigned warned;       /* one bit per enum warn_kind already reported */
	size_t leaves;	       /* leaf parts seen, read or not */
	size_t unlisted;       /* attachments past MAILMSG_MAX_ATTACHMENTS */
	struct msg_text *msgs; /* owned; in document order, top first */
	size_t n_msgs, cap_msgs;
	/* The top message's first delivery status report (RFC 3464). */
	struct mailmime *dsn;
	size_t cap_rcpts, cap_auth, cap_attachments;
};

struct param {
	const char *name;
	const char *value;
};

/* Adds to out->warning, once per kind, "; "-separated; what does not fit
 * is cut. */
static void warn(struct ctx *c, enum warn_kind kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void warn(struct ctx *c, enum warn_kind kind, const char *fmt, ...)
{
	char *w = c->out->warning;
	size_t len = strlen(w);
	va_list ap;

	if (c->warned & (1u << kind))
		return;
	c->warned |= 1u << kind;
	if (len > 0) {
		if (len + 3 >= ERR_MSG_MAX)
			return;
		memcpy(w + len, "; ", 3);
		len += 2;
	}
	va_start(ap, fmt);
	vsnprintf(w + len, ERR_MSG_MAX - len, fmt, ap);
	va_end(ap);
}

/* Appends s to *v, taking it (freed on failure; NULL means out of
 * memory). */
static int push(char ***v, size_t *n, size_t *cap, char *s)
{
	char **nv;
	size_t ncap;

	if (!s)
		return -ENOMEM;
	if (*n == *cap) {
		ncap = *cap ? *cap * 2 : 8;
		nv = realloc(*v, ncap * sizeof(*nv));
		if (!nv) {
			free(s);
			return -ENOMEM;
		}
		*v = nv;
		*cap = ncap;
	}
	(*v)[(*n)++] = s;
	return 0;
}

static char ascii_lower(char ch)
{
	return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
}

static bool is_wsp(char ch)
{
	return ch == ' ' || ch == '\t';
}

static bool has_prefix_ci(const char *s, size_t n, const char *prefix)
{
	size_t len = strlen(prefix);

	return n >= len && strncasecmp(s, prefix, len) == 0;
}

/* ---- Before libetpan runs: size, header blocks, nesting ---- */

/* What a header block's Content-Type says about what follows it. */
enum ct_kind {
	CT_NONE,      /* no Content-Type */
	CT_OTHER,     /* a leaf, or a multipart: its body is not a header */
	CT_MESSAGE,   /* message/rfc822: its body starts with a header */
	CT_MULTIPART, /* counted, like CT_MESSAGE */
	CT_DIGEST,    /* multipart/digest: parts default to message/rfc822 */
};

struct scan {
	const char *data;
	size_t len;
	size_t cut;	   /* bytes libetpan is given */
	size_t delimiters; /* lines starting "--" before the cut */
	size_t headers;	   /* bytes in header blocks that ended */
	int containers;	   /* multipart and message/rfc822 Content-Types */
	bool digest;	   /* a multipart/digest was seen */
};

/* Skips blanks, line breaks and (nested) comments. */
static size_t skip_cfws(const char *s, size_t n, size_t i)
{
	size_t depth = 0;

	for (; i < n; i++) {
		if (depth > 0 && s[i] == '\\')
			i++;
		else if (s[i] == '(')
			depth++;
		else if (depth > 0 && s[i] == ')')
			depth--;
		else if (depth == 0 && !strchr(" \t\r\n", s[i]))
			break;
	}
	return i;
}

static size_t skip_token(const char *s, size_t n, size_t i)
{
	while (i < n && (unsigned char)s[i] > ' ' &&
	       !strchr("()<>@,;:\\\"/[]?=", s[i]))
		i++;
	return i;
}

/* Reads a Content-Type value (s, n: folded lines and all). libetpan
 * matches "multipart" and "message" as prefixes of the type, so this does
 * too: it must not count fewer containers than libetpan will make. */
static enum ct_kind ct_kind_of(const char *s, size_t n)
{
	size_t i = skip_cfws(s, n, 0);
	bool multipart = has_prefix_ci(s + i, n - i, "multipart");

	if (!multipart && !has_prefix_ci(s + i, n - i, "message"))
		return CT_OTHER;
	i = skip_cfws(s, n, skip_token(s, n, i));
	if (i < n && s[i] == '/')
		i = skip_cfws(s, n, i + 1);
	else if (!multipart)
		return CT_OTHER;
	if (multipart)
		return has_prefix_ci(s + i, n - i, "digest") ? CT_DIGEST
							     : CT_MULTIPART;
	return has_prefix_ci(s + i, n - i, "rfc822") ? CT_MESSAGE : CT_OTHER;
}

/* If a header field starts at data[p], a line start, returns the offset
 * just past its colon; else 0. As libetpan reads a field: a name of bytes
 * over space other than ':', then blanks, comments and folds before the
 * colon. */
static size_t field_colon(const char *data, size_t len, size_t p)
{
	size_t i = p, depth = 0, k;
	char ch;

	while (i < len && (unsigned char)data[i] > ' ' && data[i] != ':')
		i++;
	if (i == p)
		return 0;
	for (; i < len; i++) {
		ch = data[i];
		if (ch == ':' && depth == 0)
			return i + 1;
		if (ch == '\n' ||
		    (ch == '\r' && i + 1 < len && data[i + 1] == '\n')) {
			k = i + (ch == '\r' ? 2 : 1);
			if (k >= len || !is_wsp(data[k]))
				return 0;
			i = k;
		} else if (depth > 0 && ch == '\\') {
			i++;
		} else if (ch == '(') {
			depth++;
		} else if (depth > 0 && ch == ')') {
			depth--;
		} else if (depth == 0 && !is_wsp(ch)) {
			return 0;
		}
	}
	return 0;
}

/* The end of the field whose value starts at v: past its last
 * continuation line. */
static size_t field_end(const char *data, size_t len, size_t v)
{
	const char *nl;

	for (;;) {
		nl = memchr(data + v, '\n', len - v);
		if (!nl)
			return len;
		v = (size_t)(nl - data) + 1;
		if (v >= len || !is_wsp(data[v]))
			return v;
	}
}

/* Counts a Content-Type field starting at p (a line start), wherever it
 * is, and returns what it says. */
static int scan_content_type(struct scan *sc, size_t p, size_t n,
			     enum ct_kind *kind, struct err *err)
{
	const char *line = sc->data + p;
	size_t v;

	*kind = CT_NONE;
	if (!has_prefix_ci(line, n, "content-type") ||
	    (n > 12 && (unsigned char)line[12] > ' ' && line[12] != ':' &&
	     line[12] != '('))
		return 0;
	v = field_colon(sc->data, sc->len, p);
	if (!v)
		return 0;
	*kind = ct_kind_of(sc->data + v, field_end(sc->data, sc->len, v) - v);
	if (*kind == CT_DIGEST)
		sc->digest = true;
	if (*kind >= CT_MESSAGE && ++sc->containers > MAILMSG_MAX_CONTAINERS) {
		err_set(err,
			"more than %d multipart or message/rfc822 parts (the "
			"limit)",
			MAILMSG_MAX_CONTAINERS);
		return -EMLINK;
	}
	return 0;
}

/* The deepest comment nesting in s; stops past the limit. */
static size_t comment_depth(const char *s, size_t n, size_t depth, size_t *max)
{
	size_t i;

	for (i = 0; i < n && *max <= MAILMSG_MAX_COMMENT_DEPTH; i++) {
		if (s[i] == '\\') {
			i++;
		} else if (s[i] == '(') {
			if (++depth > *max)
				*max = depth;
		} else if (s[i] == ')' && depth > 0) {
			depth--;
		}
	}
	return depth;
}

static int header_too_big(const struct scan *sc, size_t run, size_t end,
			  struct err *err)
{
	if (end - run > MAILMSG_MAX_HEADER) {
		if (run == 0)
			err_set(err,
				"the message's header is over %d bytes (the "
				"limit)",
				MAILMSG_MAX_HEADER);
		else
			err_set(err,
				"a header block at byte %zu is over %d bytes "
				"(the limit)",
				run, MAILMSG_MAX_HEADER);
		return -EMSGSIZE;
	}
	if (sc->headers + (end - run) > MAILMSG_MAX_HEADERS) {
		err_set(err,
			"the header blocks come to over %d bytes (the limit)",
			MAILMSG_MAX_HEADERS);
		return -EMSGSIZE;
	}
	return 0;
}

/* Line by line over the raw bytes, before libetpan sees them, following
 * where libetpan reads a header block: at the start, after a "--" line
 * (and blank lines after it), and after the header of a message/rfc822
 * part (or of a part with no Content-Type, which in a multipart/digest is
 * one). A header block is the run of field lines and continuations from
 * there. Each is measured; every Content-Type field anywhere is counted
 * if it names a container; comments in every field line are measured.
 * Any doubt counts against the message: this must never see less than
 * libetpan will. */
static int prescan(const char *data, size_t len, struct scan *sc,
		   struct err *err)
{
	const char *line, *nl;
	size_t p = 0, end, n, run = SIZE_MAX, depth = 0, max_depth = 0;
	bool start_ok = true, after_dash = false, in_top = true;
	bool has_field = false, in_field = false, blank, cont, field, dash;
	bool ended;
	enum ct_kind run_ct = CT_NONE, ended_ct = CT_NONE, kind;
	int ret;

	memset(sc, 0, sizeof(*sc));
	sc->data = data;
	sc->len = len;
	sc->cut = len;
	for (; p < len; p = end) {
		line = data + p;
		nl = memchr(line, '\n', len - p);
		end = nl ? (size_t)(nl - data) + 1 : len;
		n = (nl ? (size_t)(nl - line) : len - p);
		if (n > 0 && line[n - 1] == '\r')
			n--;
		blank = n == 0;
		cont = !blank && is_wsp(line[0]);
		field = !blank && !cont && field_colon(data, len, p);
		dash = n >= 2 && line[0] == '-' && line[1] == '-';

		if (dash && ++sc->delimiters > MAX_DELIMITERS) {
			sc->cut = p;
			break;
		}
		if (in_top && blank)
			in_top = false;
		if (in_top && field)
			has_field = true;

		ended = false;
		if (run != SIZE_MAX && !field && !(cont && in_field)) {
			sc->headers += p - run;
			ended = true;
			ended_ct = run_ct;
			run = SIZE_MAX;
		}
		if (run == SIZE_MAX && start_ok && field) {
			run = p;
			run_ct = CT_NONE;
		}
		if (run != SIZE_MAX) {
			ret = header_too_big(sc, run, end, err);
			if (ret)
				return ret;
		}

		if (field) {
			in_field = true;
			depth = 0;
			ret = scan_content_type(sc, p, n, &kind, err);
			if (ret)
				return ret;
			if (run != SIZE_MAX && kind != CT_NONE &&
			    run_ct != CT_MESSAGE)
				run_ct = kind == CT_MESSAGE ? CT_MESSAGE
							    : CT_OTHER;
		} else if (!cont) {
			in_field = false;
		}
		if (in_field) {
			depth = comment_depth(line, n, depth, &max_depth);
			if (max_depth > MAILMSG_MAX_COMMENT_DEPTH) {
				err_set(err,
					"a header field at byte %zu has "
					"comments nested over %d deep (the "
					"limit)",
					p, MAILMSG_MAX_COMMENT_DEPTH);
				return -EMLINK;
			}
		}

		/* Where the next header block may start. libetpan skips
		 * blank lines after a multipart's first delimiter. */
		if (dash) {
			start_ok = after_dash = true;
		} else if (blank) {
			start_ok = after_dash ||
				   (ended &&
				    (ended_ct == CT_MESSAGE ||
				     (ended_ct == CT_NONE && sc->digest)));
		} else {
			start_ok = after_dash = false;
		}
	}
	if (!has_field) {
		err_set(err, "not a mail message: no header field before the "
			     "first blank line");
		return -EBADMSG;
	}
	return 0;
}

/* ---- UTF-8 and single-line text ---- */

/* Appends s as valid UTF-8 (invalid sequences become U+FFFD), controls
 * and all. */
static int add_utf8(struct buf *out, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run = 0, k;
	uint32_t cp;
	int ret;

	while (i < n) {
		k = p[i] < 0x80 ? 1 : text_utf8_decode(p + i, n - i, &cp);
		if (k > 0) {
			i += k;
			continue;
		}
		ret = buf_add(out, s + run, i - run);
		if (!ret)
			ret = buf_add(out, REPLACEMENT, 3);
		if (ret)
			return ret;
		run = ++i;
	}
	return buf_add(out, s + run, i - run);
}

static bool is_utf8(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, k;
	uint32_t cp;

	while (i < n) {
		k = p[i] < 0x80 ? 1 : text_utf8_decode(p + i, n - i, &cp);
		if (k == 0)
			return false;
		i += k;
	}
	return true;
}

static bool is_ascii(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if ((unsigned char)s[i] >= 0x80)
			return false;
	}
	return true;
}

/* Appends s on one line: invalid UTF-8 becomes U+FFFD, controls (C0, DEL,
 * C1, U+2028, U+2029) blanks, runs of blanks one space, and blanks at
 * either end are dropped. */
static int add_line(struct buf *out, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t start = out->len, i = 0, k;
	bool blank = false;
	uint32_t cp;
	int ret;

	while (i < n) {
		k = text_utf8_decode(p + i, n - i, &cp);
		if (k == 0)
			cp = 0xFFFD;
		if (cp <= ' ' || cp == 0x7f || (cp >= 0x80 && cp < 0xa0) ||
		    cp == 0x2028 || cp == 0x2029) {
			blank = true;
			i += k ? k : 1;
			continue;
		}
		if (blank && out->len > start) {
			ret = buf_addc(out, ' ');
			if (ret)
				return ret;
		}
		blank = false;
		ret = k ? buf_add(out, s + i, k) : buf_add(out, REPLACEMENT, 3);
		if (ret)
			return ret;
		i += k ? k : 1;
	}
	return 0;
}

/* A malloc'd one-line copy of s (see add_line), or NULL when out of
 * memory. */
static char *line_dup(const char *s, size_t n)
{
	struct buf b;

	buf_init(&b, BUF_MAX_TEXT);
	if (add_line(&b, s, n))
		return NULL;
	return buf_take(&b);
}

/* Cuts b to at most max bytes, not inside a UTF-8 sequence. */
static void clip_utf8(struct buf *b, size_t max)
{
	size_t n = b->len;

	if (n <= max)
		return;
	n = max;
	while (n > 0 && ((unsigned char)b->ptr[n] & 0xc0) == 0x80)
		n--;
	b->len = n;
	b->ptr[n] = '\0';
}

/* ---- RFC 2047 encoded words ---- */

/* Characters of a charset name in an encoded word, as libetpan reads
 * them. */
static bool is_etoken_char(char ch)
{
	return (unsigned char)ch > ' ' && !strchr("()<>@,;:\"/[]?=", ch);
}

/* If an encoded word "=?charset?Q?" or "=?charset?B?" starts at s[i],
 * returns where its text starts; else 0. */
static size_t word_start(const char *s, size_t n, size_t i)
{
	size_t q = i + 2;

	if (i + 1 >= n || s[i] != '=' || s[i + 1] != '?')
		return 0;
	while (q < n && (is_etoken_char(s[q]) || (unsigned char)s[q] >= 0x80))
		q++;
	if (q == i + 2 || q + 2 >= n || s[q] != '?' || s[q + 2] != '?' ||
	    !strchr("QqBb", s[q + 1]))
		return 0;
	return q + 3;
}

/* Where the word whose text starts at t ends: past its "?=", or at n when
 * it has none (libetpan then takes the rest, and so do we). */
static size_t word_end(const char *s, size_t n, size_t t)
{
	for (; t + 1 < n; t++) {
		if (s[t] == '?' && s[t + 1] == '=')
			return t + 2;
	}
	return n;
}

/* Appends a header value with its encoded words decoded, and invalid
 * UTF-8 as U+FFFD. Each run of encoded words (only blanks between them)
 * goes to libetpan; the text between runs is copied, so a raw word never
 * costs an iconv_open. A run libetpan cannot decode is kept as it was. */
static int add_decoded(struct ctx *c, const char *raw, size_t rawn,
		       struct buf *out)
{
	struct buf clean;
	const char *s;
	char *res;
	size_t n, i = 0, j, t, e, k, idx;
	bool quoted;
	int ret, r;

	buf_init(&clean, BUF_MAX_TEXT);
	ret = add_utf8(&clean, raw, rawn);
	if (ret)
		return ret;
	s = buf_str(&clean);
	n = clean.len;
	while (i < n && !ret) {
		for (j = i; j < n && !word_start(s, n, j); j++)
			;
		if (j == n) {
			ret = buf_add(out, s + i, j - i);
			break;
		}
		e = word_end(s, n, word_start(s, n, j));
		for (;;) {
			for (k = e; k < n && strchr(" \t\r\n", s[k]); k++)
				;
			t = word_start(s, n, k);
			if (!t)
				break;
			e = word_end(s, n, t);
		}
		/* libetpan leaves a display name "=?...?=" quoted; the
		 * quotes go with the words, as most mailers read them. */
		quoted = j > i && s[j - 1] == '"' && e < n && s[e] == '"';
		ret = buf_add(out, s + i, j - i - quoted);
		if (ret)
			break;
		idx = 0;
		res = NULL;
		r = mailmime_encoded_phrase_parse("utf-8", s + j, e - j, &idx,
						  "utf-8", &res);
		if (r == MAILIMF_ERROR_MEMORY) {
			ret = -ENOMEM;
		} else if (r == MAILIMF_NO_ERROR && res) {
			ret = buf_adds(out, res);
			if (!ret && idx < e - j) {
				warn(c, W_WORD,
				     "an encoded word could not be decoded: "
				     "kept as it was");
				ret = buf_add(out, s + j + idx, e - j - idx);
			}
		} else {
			warn(c, W_WORD,
			     "an encoded word could not be decoded: kept as "
			     "it was");
			ret = buf_add(out, s + j, e - j);
		}
		free(res);
		i = e + quoted;
	}
	buf_free(&clean);
	return ret;
}

/* *out: the header value decoded and on one line; NULL only with
 * -ENOMEM. */
static int header_text(struct ctx *c, const char *raw, char **out)
{
	struct buf d;
	int ret;

	*out = NULL;
	buf_init(&d, BUF_MAX_TEXT);
	ret = add_decoded(c, raw, strlen(raw), &d);
	if (!ret) {
		*out = line_dup(buf_str(&d), d.len);
		if (!*out)
			ret = -ENOMEM;
	}
	buf_free(&d);
	return ret;
}

/* ---- Charsets ---- */

/* Windows-1252's 0x80-0x9f; 0 where it has no character. */
static const uint16_t cp1252_high[32] = {
	0x20ac, 0,	0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
	0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0,	0x017d, 0,
	0,	0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
	0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0,	0x017e, 0x0178,
};

/* Read by our own table, not iconv: the fallback must always work. */
static int add_cp1252(struct buf *out, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i, run = 0;
	uint32_t cp;
	char u[3];
	int ret;

	for (i = 0; i < n; i++) {
		if (p[i] < 0x80)
			continue;
		ret = buf_add(out, s + run, i - run);
		if (ret)
			return ret;
		run = i + 1;
		cp = p[i] < 0xa0 ? cp1252_high[p[i] - 0x80] : p[i];
		if (cp == 0) {
			ret = buf_add(out, REPLACEMENT, 3);
		} else if (cp < 0x800) {
			u[0] = (char)(0xc0 | (cp >> 6));
			u[1] = (char)(0x80 | (cp & 0x3f));
			ret = buf_add(out, u, 2);
		} else {
			u[0] = (char)(0xe0 | (cp >> 12));
			u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
			u[2] = (char)(0x80 | (cp & 0x3f));
			ret = buf_add(out, u, 3);
		}
		if (ret)
			return ret;
	}
	return buf_add(out, s + run, n - run);
}

enum charset_kind {
	CS_NONE, /* none given, or us-ascii */
	CS_UTF8,
	CS_CP1252,
	CS_UNKNOWN,
	CS_ICONV,
};

static const char *const cs_utf8[] = {"utf-8", "utf8", NULL};
static const char *const cs_ascii[] = {"us-ascii", "ascii", "us",
				       "ansi_x3.4-1968", NULL};
/* ISO-8859-1 is read as Windows-1252, as browsers read it: mail marked
 * Latin-1 is full of Windows quotes and dashes. */
static const char *const cs_cp1252[] = {
	"iso-8859-1", "iso8859-1", "iso_8859-1",   "latin1", "l1",
	"cp1252",     "x-cp1252",  "windows-1252", "cp819",  NULL};
static const char *const cs_unknown[] = {"x-unknown",	 "unknown",
					 "unknown-8bit", "x-user-defined",
					 "default",	 NULL};

static bool in_list(const char *name, const char *const *list)
{
	for (; *list; list++) {
		if (strcmp(name, *list) == 0)
			return true;
	}
	return false;
}

/* Copies a charset parameter into name (lower-cased, quotes and blanks
 * trimmed) and says how to read it. A name iconv should not see (too long
 * or odd characters) is unknown. */
static enum charset_kind charset_kind(const char *cs, char *name, size_t size)
{
	size_t n, i;

	name[0] = '\0';
	if (!cs)
		return CS_NONE;
	while (*cs == ' ' || *cs == '\t' || *cs == '"' || *cs == '\'')
		cs++;
	n = strlen(cs);
	while (n > 0 && strchr(" \t\"'", cs[n - 1]))
		n--;
	if (n == 0)
		return CS_NONE;
	if (n >= size) {
		snprintf(name, size, "%.*s...", (int)(size - 4), cs);
		return CS_UNKNOWN;
	}
	for (i = 0; i < n; i++) {
		name[i] = ascii_lower(cs[i]);
		if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789-_.:+()",
			    name[i])) {
			snprintf(name, size, "(unreadable)");
			return CS_UNKNOWN;
		}
	}
	name[n] = '\0';
	if (in_list(name, cs_ascii))
		return CS_NONE;
	if (in_list(name, cs_utf8))
		return CS_UTF8;
	if (in_list(name, cs_cp1252))
		return CS_CP1252;
	if (in_list(name, cs_unknown))
		return CS_UNKNOWN;
	return CS_ICONV;
}

/* Points *u at the n bytes at s read as UTF-8: s itself when it can be
 * read as UTF-8 as it is (the caller's cleaning then replaces what is
 * invalid), else tmp's contents. */
static int to_utf8(struct ctx *c, const char *s, size_t n, const char *cs,
		   struct buf *tmp, const char **u, size_t *un)
{
	char name[48], *res = NULL;
	enum charset_kind kind = charset_kind(cs, name, sizeof(name));
	int ret, r;

	*u = s;
	*un = n;
	if (kind == CS_ICONV) {
		r = charconv("utf-8", name, s, n, &res);
		if (r == MAIL_CHARCONV_ERROR_MEMORY)
			return -ENOMEM;
		if (r == MAIL_CHARCONV_NO_ERROR && res) {
			/* charconv's result is a C string: a NUL in the
			 * text ends it. */
			ret = buf_add(tmp, res, strnlen(res, 2 * DECODE_MAX));
			free(res);
			if (ret)
				return ret;
			*u = buf_str(tmp);
			*un = tmp->len;
			return 0;
		}
		free(res);
		kind = CS_UNKNOWN;
	}
	if (kind == CS_UTF8 || is_ascii(s, n))
		return 0;
	if (kind == CS_UNKNOWN || kind == CS_NONE) {
		if (is_utf8(s, n)) {
			if (kind == CS_UNKNOWN)
				warn(c, W_CHARSET,
				     "unknown charset \"%s\": read as UTF-8",
				     name);
			return 0;
		}
		if (kind == CS_UNKNOWN)
			warn(c, W_CHARSET,
			     "unknown charset \"%s\": read as Windows-1252",
			     name);
		else
			warn(c, W_NO_CHARSET,
			     "8-bit text with no charset: read as "
			     "Windows-1252");
	}
	ret = add_cp1252(tmp, s, n);
	if (ret)
		return ret;
	*u = buf_str(tmp);
	*un = tmp->len;
	return 0;
}

/* ---- Parameters and names ---- */

static const char *content_param(const struct mailmime_content *ct,
				 const char *name)
{
	clistiter *it;
	struct mailmime_parameter *p;

	if (!ct || !ct->ct_parameters)
		return NULL;
	for (it = clist_begin(ct->ct_parameters); it; it = clist_next(it)) {
		p = clist_content(it);
		if (p && p->pa_name && p->pa_value &&
		    strcasecmp(p->pa_name, name) == 0)
			return p->pa_value;
	}
	return NULL;
}

static size_t ct_params(const struct mailmime_content *ct, struct param *out)
{
	clistiter *it;
	struct mailmime_parameter *p;
	size_t n = 0;

	if (!ct || !ct->ct_parameters)
		return 0;
	for (it = clist_begin(ct->ct_parameters); it && n < MAX_PARAMS;
	     it = clist_next(it)) {
		p = clist_content(it);
		if (p && p->pa_name && p->pa_value)
			out[n++] = (struct param){p->pa_name, p->pa_value};
	}
	return n;
}

static size_t disposition_params(const struct mailmime_disposition *d,
				 struct param *out)
{
	clistiter *it;
	struct mailmime_disposition_parm *dp;
	struct mailmime_parameter *p;
	size_t n = 0;

	if (!d || !d->dsp_parms)
		return 0;
	for (it = clist_begin(d->dsp_parms); it && n < MAX_PARAMS;
	     it = clist_next(it)) {
		dp = clist_content(it);
		if (!dp)
			continue;
		if (dp->pa_type == MAILMIME_DISPOSITION_PARM_FILENAME &&
		    dp->pa_data.pa_filename) {
			out[n++] = (struct param){"filename",
						  dp->pa_data.pa_filename};
		} else if (dp->pa_type == MAILMIME_DISPOSITION_PARM_PARAMETER) {
			p = dp->pa_data.pa_parameter;
			if (p && p->pa_name && p->pa_value)
				out[n++] =
					(struct param){p->pa_name, p->pa_value};
		}
	}
	return n;
}

static const struct mailmime_disposition *
part_disposition(const struct mailmime *m)
{
	clistiter *it;
	struct mailmime_field *f;

	if (!m->mm_mime_fields || !m->mm_mime_fields->fld_list)
		return NULL;
	for (it = clist_begin(m->mm_mime_fields->fld_list); it;
	     it = clist_next(it)) {
		f = clist_content(it);
		if (f && f->fld_type == MAILMIME_FIELD_DISPOSITION)
			return f->fld_data.fld_disposition;
	}
	return NULL;
}

static int hex_value(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

static int add_percent_decoded(struct buf *out, const char *s)
{
	int hi, lo, ret = 0;

	for (; *s && !ret; s++) {
		hi = s[0] == '%' ? hex_value(s[1]) : -1;
		lo = hi >= 0 ? hex_value(s[2]) : -1;
		if (lo >= 0) {
			ret = buf_addc(out, (char)(hi * 16 + lo));
			s += 2;
		} else {
			ret = buf_addc(out, *s);
		}
	}
	return ret;
}

/* If p names an RFC 2231 piece of parameter base ("base*", "base*N" or
 * "base*N*"), returns its number (0 for "base*") and whether it is
 * percent-encoded; else -1. */
static int rfc2231_piece(const char *name, const char *base, bool *encoded)
{
	size_t blen = strlen(base);
	const char *s = name + blen;
	int k = 0;

	if (strncasecmp(name, base, blen) != 0 || *s != '*')
		return -1;
	s++;
	*encoded = *s == '\0';
	if (*encoded)
		return 0;
	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9' && k < MAX_PARAMS; s++)
		k = k * 10 + (*s - '0');
	*encoded = *s == '*';
	if (*s == '*')
		s++;
	return *s == '\0' && k < MAX_PARAMS ? k : -1;
}

/* The RFC 2231 value of parameter base (libetpan 1.9.4 leaves these
 * alone): "base*=charset'lang'%xx..." or pieces "base*0*", "base*1"...
 * Appends it to out as UTF-8 and sets *found. */
static int rfc2231_value(struct ctx *c, const struct param *ps, size_t n,
			 const char *base, struct buf *out, bool *found)
{
	struct buf raw, tmp;
	char charset[48] = "";
	const char *v, *q, *u;
	size_t i, un;
	bool encoded, got;
	int k, want, ret = 0;

	*found = false;
	buf_init(&raw, BUF_MAX_TEXT);
	buf_init(&tmp, BUF_MAX_TEXT);
	for (want = 0; want < MAX_PARAMS && !ret; want++) {
		got = false;
		for (i = 0; i < n && !got; i++) {
			k = rfc2231_piece(ps[i].name, base, &encoded);
			if (k != want)
				continue;
			got = true;
			v = ps[i].value;
			if (encoded && want == 0) {
				q = strchr(v, '\'');
				if (q && strchr(q + 1, '\'')) {
					snprintf(charset, sizeof(charset),
						 "%.*s", (int)(q - v), v);
					v = strchr(q + 1, '\'') + 1;
				}
			}
			ret = encoded ? add_percent_decoded(&raw, v)
				      : buf_adds(&raw, v);
		}
		if (!got)
			break;
		*found = true;
	}
	if (!ret && *found) {
		ret = to_utf8(c, buf_str(&raw), raw.len,
			      charset[0] ? charset : NULL, &tmp, &u, &un);
		if (!ret)
			ret = add_utf8(out, u, un);
	}
	buf_free(&raw);
	buf_free(&tmp);
	return ret;
}

static const char *param_value(const struct param *ps, size_t n,
			       const char *name)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (strcasecmp(ps[i].name, name) == 0)
			return ps[i].value;
	}
	return NULL;
}

/* *name: the part's file name (Content-Disposition filename, else
 * Content-Type name; RFC 2231 and 2047 decoded, on one line, at most
 * NAME_MAX_BYTES), or NULL when it has none. */
static int part_name(struct ctx *c, const struct mailmime *m,
		     const struct mailmime_disposition *dsp, char **name)
{
	struct param ps[MAX_PARAMS];
	struct buf raw, line;
	const char *const bases[2] = {"filename", "name"};
	const char *v;
	size_t n, i;
	bool found = false;
	int ret = 0;

	*name = NULL;
	buf_init(&raw, BUF_MAX_TEXT);
	buf_init(&line, BUF_MAX_TEXT);
	for (i = 0; i < 2 && !found && !ret; i++) {
		n = i == 0 ? disposition_params(dsp, ps)
			   : ct_params(m->mm_content_type, ps);
		ret = rfc2231_value(c, ps, n, bases[i], &raw, &found);
		v = param_value(ps, n, bases[i]);
		if (!ret && !found && v) {
			found = true;
			ret = add_decoded(c, v, strlen(v), &raw);
		}
	}
	if (!ret && found)
		ret = add_line(&line, buf_str(&raw), raw.len);
	if (!ret && line.len > 0) {
		clip_utf8(&line, NAME_MAX_BYTES);
		*name = buf_take(&line);
		if (!*name)
			ret = -ENOMEM;
	}
	buf_free(&raw);
	buf_free(&line);
	return ret;
}

static const char *type_name(const struct mailmime_content *ct)
{
	const struct mailmime_type *t = ct ? ct->ct_type : NULL;
	const struct mailmime_discrete_type *d;
	const struct mailmime_composite_type *k;

	if (!t)
		return "text";
	if (t->tp_type == MAILMIME_TYPE_DISCRETE_TYPE) {
		d = t->tp_data.tp_discrete_type;
		switch (d ? d->dt_type : -1) {
		case MAILMIME_DISCRETE_TYPE_TEXT:
			return "text";
		case MAILMIME_DISCRETE_TYPE_IMAGE:
			return "image";
		case MAILMIME_DISCRETE_TYPE_AUDIO:
			return "audio";
		case MAILMIME_DISCRETE_TYPE_VIDEO:
			return "video";
		case MAILMIME_DISCRETE_TYPE_APPLICATION:
			return "application";
		case MAILMIME_DISCRETE_TYPE_EXTENSION:
			return d->dt_extension ? d->dt_extension : "x-unknown";
		default:
			return "x-unknown";
		}
	}
	k = t->tp_data.tp_composite_type;
	switch (k ? k->ct_type : -1) {
	case MAILMIME_COMPOSITE_TYPE_MESSAGE:
		return "message";
	case MAILMIME_COMPOSITE_TYPE_MULTIPART:
		return "multipart";
	case MAILMIME_COMPOSITE_TYPE_EXTENSION:
		return k->ct_token ? k->ct_token : "x-unknown";
	default:
		return "x-unknown";
	}
}

static const char *subtype_name(const struct mailmime_content *ct)
{
	if (!ct)
		return "plain";
	return ct->ct_subtype ? ct->ct_subtype : "x-unknown";
}

/* "unnamed type/subtype", lower-cased, on one line. */
static char *unnamed(const struct mailmime_content *ct)
{
	struct buf b;
	char *s, *p;

	buf_init(&b, BUF_MAX_TEXT);
	if (buf_printf(&b, "unnamed %s/%s", type_name(ct), subtype_name(ct)))
		return NULL;
	s = line_dup(buf_str(&b), b.len);
	buf_free(&b);
	for (p = s; p && *p; p++)
		*p = ascii_lower(*p);
	if (s && strlen(s) > NAME_MAX_BYTES)
		s[NAME_MAX_BYTES] = '\0';
	return s;
}

/* ---- The tree walk ---- */

static int add_msg(struct ctx *c, size_t *index)
{
	struct msg_text *nm;
	size_t ncap;

	if (c->n_msgs == c->cap_msgs) {
		ncap = c->cap_msgs ? c->cap_msgs * 2 : 4;
		nm = realloc(c->msgs, ncap * sizeof(*nm));
		if (!nm)
			return -ENOMEM;
		c->msgs = nm;
		c->cap_msgs = ncap;
	}
	c->msgs[c->n_msgs] = (struct msg_text){NULL, NULL};
	*index = c->n_msgs++;
	return 0;
}

static bool is_text(const struct mailmime_content *ct, const char *subtype)
{
	const struct mailmime_type *t = ct ? ct->ct_type : NULL;

	if (!ct)
		return strcmp(subtype, "plain") == 0;
	return t && t->tp_type == MAILMIME_TYPE_DISCRETE_TYPE &&
	       t->tp_data.tp_discrete_type &&
	       t->tp_data.tp_discrete_type->dt_type ==
		       MAILMIME_DISCRETE_TYPE_TEXT &&
	       ct->ct_subtype && strcasecmp(ct->ct_subtype, subtype) == 0;
}

/* message/delivery-status (RFC 3464), or its UTF-8 form (RFC 6533). */
static bool is_delivery_status(const struct mailmime_content *ct)
{
	return ct && strcmp(type_name(ct), "message") == 0 && ct->ct_subtype &&
	       (strcasecmp(ct->ct_subtype, "delivery-status") == 0 ||
		strcasecmp(ct->ct_subtype, "global-delivery-status") == 0);
}

/* A leaf is a text candidate of its message (text/plain or text/html,
 * not an attachment, not named) or else an attachment. */
static int walk_leaf(struct ctx *c, struct mailmime *m, size_t msg)
{
	const struct mailmime_disposition *dsp = part_disposition(m);
	struct mailmsg *o = c->out;
	struct msg_text *t = &c->msgs[msg];
	bool attached =
		dsp && dsp->dsp_type &&
		dsp->dsp_type->dsp_type == MAILMIME_DISPOSITION_TYPE_ATTACHMENT;
	char *name = NULL;
	int ret;

	if (++c->leaves > MAILMSG_MAX_PARTS)
		return 0;
	if (msg == 0 && !c->dsn && is_delivery_status(m->mm_content_type))
		c->dsn = m;
	ret = part_name(c, m, dsp, &name);
	if (ret)
		return ret;
	if (!attached && !name) {
		if (is_text(m->mm_content_type, "plain")) {
			if (!t->plain)
				t->plain = m;
			return 0;
		}
		if (is_text(m->mm_content_type, "html")) {
			if (!t->html)
				t->html = m;
			return 0;
		}
	}
	if (o->n_attachments >= MAILMSG_MAX_ATTACHMENTS) {
		free(name);
		c->unlisted++;
		return 0;
	}
	if (!name)
		name = unnamed(m->mm_content_type);
	return push(&o->attachments, &o->n_attachments, &c->cap_attachments,
		    name);
}

/* Depth is bounded by the prescan's count of containers; the check here
 * only makes sure. */
static int walk(struct ctx *c, struct mailmime *m, size_t msg, int depth)
{
	clistiter *it;
	size_t inner;
	int ret = 0;

	if (!m || depth > MAX_WALK_DEPTH)
		return 0;
	switch (m->mm_type) {
	case MAILMIME_SINGLE:
		return walk_leaf(c, m, msg);
	case MAILMIME_MULTIPLE:
		if (!m->mm_data.mm_multipart.mm_mp_list)
			return 0;
		for (it = clist_begin(m->mm_data.mm_multipart.mm_mp_list);
		     it && !ret; it = clist_next(it))
			ret = walk(c, clist_content(it), msg, depth + 1);
		return ret;
	case MAILMIME_MESSAGE:
		ret = add_msg(c, &inner);
		if (!ret)
			ret = walk(c, m->mm_data.mm_message.mm_msg_mime, inner,
				   depth + 1);
		return ret;
	default:
		return 0;
	}
}

/* ---- Text of a part ---- */

/* Base64 with nothing but the alphabet, blanks and final padding (and,
 * unless it was cut short, whole quanta). */
static bool base64_ok(const char *s, size_t n, bool cut)
{
	size_t i, sig = 0;
	bool pad = false;
	char ch;

	for (i = 0; i < n; i++) {
		ch = s[i];
		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '+' || ch == '/') {
			if (pad)
				return false;
			sig++;
		} else if (ch == '=') {
			pad = true;
		} else if (!strchr(" \t\r\n", ch)) {
			return false;
		}
	}
	return cut || sig % 4 != 1;
}

/* Copies quoted-printable text with each "=" that starts neither "=XX"
 * nor a soft line break written "=3D" (RFC 2045 6.7 says to keep such an
 * "="; libetpan would turn it into a junk byte), and blanks between a
 * soft-break "=" and its line end dropped. Returns whether any "=" was
 * bad; stops before out would pass DECODE_MAX. */
static int qp_fix(const char *s, size_t n, struct buf *out, bool *bad)
{
	size_t i, k;
	int ret = 0;

	*bad = false;
	for (i = 0; i < n && !ret && out->len + 3 <= DECODE_MAX; i++) {
		if (s[i] != '=') {
			ret = buf_addc(out, s[i]);
			continue;
		}
		if (i + 2 < n && hex_value(s[i + 1]) >= 0 &&
		    hex_value(s[i + 2]) >= 0) {
			ret = buf_add(out, s + i, 3);
			i += 2;
			continue;
		}
		for (k = i + 1; k < n && is_wsp(s[k]); k++)
			;
		if (k == n || s[k] == '\r' || s[k] == '\n') {
			ret = buf_addc(out, '=');
			i = k - 1;
			continue;
		}
		*bad = true;
		ret = buf_add(out, "=3D", 3);
	}
	return ret;
}

static bool qp_clean(const char *s, size_t n)
{
	const char *p = s, *end = s + n;

	while ((p = memchr(p, '=', (size_t)(end - p)))) {
		if (end - p < 3)
			return false;
		if (!((hex_value(p[1]) >= 0 && hex_value(p[2]) >= 0) ||
		      p[1] == '\n' || (p[1] == '\r' && p[2] == '\n')))
			return false;
		p++;
	}
	return true;
}

/* The part's body with its transfer encoding undone: *p and *n point
 * into the message or into *dec (libetpan's, to free with
 * mailmime_decoded_part_free). At most MAILMSG_MAX_TEXT bytes. */
static int part_bytes(struct ctx *c, struct mailmime *m, char **dec,
		      const char **p, size_t *n)
{
	struct mailmime_data *d = m->mm_data.mm_single;
	const char *src;
	size_t len, idx = 0, dlen = 0;
	struct buf fix;
	bool bad, cut;
	int enc, r, ret = 0;

	*dec = NULL;
	*p = "";
	*n = 0;
	if (!d || d->dt_type != MAILMIME_DATA_TEXT ||
	    !d->dt_data.dt_text.dt_data)
		return 0;
	src = d->dt_data.dt_text.dt_data;
	len = d->dt_data.dt_text.dt_length;
	enc = d->dt_encoding;
	if (enc != MAILMIME_MECHANISM_BASE64 &&
	    enc != MAILMIME_MECHANISM_QUOTED_PRINTABLE) {
		*p = src;
		*n = len;
		goto clip;
	}
	cut = len > DECODE_MAX;
	if (cut) {
		len = DECODE_MAX;
		warn(c, W_TEXT_CUT, "text cut at %d bytes", MAILMSG_MAX_TEXT);
	}
	buf_init(&fix, DECODE_MAX);
	if (enc == MAILMIME_MECHANISM_BASE64 && !base64_ok(src, len, cut))
		warn(c, W_BASE64,
		     "bad base64 in a text part: decoded what could be");
	if (enc == MAILMIME_MECHANISM_QUOTED_PRINTABLE && !qp_clean(src, len)) {
		ret = qp_fix(src, len, &fix, &bad);
		if (ret)
			return ret;
		if (bad)
			warn(c, W_QP,
			     "bad quoted-printable in a text part: "
			     "stray \"=\" kept");
		src = buf_str(&fix);
		len = fix.len;
	}
	r = mailmime_part_parse(src, len, &idx, enc, dec, &dlen);
	buf_free(&fix);
	if (r == MAILIMF_ERROR_MEMORY)
		return -ENOMEM;
	if (r != MAILIMF_NO_ERROR || !*dec) {
		*dec = NULL;
		warn(c, W_DECODE, "a text part could not be decoded");
		return 0;
	}
	*p = *dec;
	*n = dlen;
clip:
	if (*n > MAILMSG_MAX_TEXT) {
		*n = MAILMSG_MAX_TEXT;
		warn(c, W_TEXT_CUT, "text cut at %d bytes", MAILMSG_MAX_TEXT);
	}
	return 0;
}

/* Text normalisation: lines end in "\n", trailing blanks are cut,
 * leading and trailing blank lines dropped; format=flowed lines are
 * joined (RFC 3676). */
struct norm {
	struct buf *out;
	struct buf line; /* one physical line, cleaned */
	struct buf para; /* flowed: the logical line being joined */
	size_t blanks;	 /* blank lines owed before the next text */
	size_t depth;	 /* para's quote depth */
	bool pending;	 /* para ends in a soft line break */
	bool delsp;
};

static int norm_emit(struct norm *nm, const char *s, size_t n)
{
	int ret = 0;

	while (n > 0 && is_wsp(s[n - 1]))
		n--;
	if (n == 0) {
		if (nm->out->len > 0)
			nm->blanks++;
		return 0;
	}
	for (; nm->blanks > 0 && !ret; nm->blanks--)
		ret = buf_addc(nm->out, '\n');
	if (!ret)
		ret = buf_add(nm->out, s, n);
	if (!ret)
		ret = buf_addc(nm->out, '\n');
	return ret;
}

static int norm_flowed(struct norm *nm, const char *s, size_t n)
{
	size_t q = 0;
	bool soft;
	int ret = 0;

	while (q < n && s[q] == '>')
		q++;
	s += q;
	n -= q;
	if (n > 0 && s[0] == ' ')
		s++, n--;
	soft = n > 0 && s[n - 1] == ' ' && !(n == 3 && !memcmp(s, "-- ", 3));
	if (!nm->pending || nm->depth != q) {
		if (nm->pending)
			ret = norm_emit(nm, buf_str(&nm->para), nm->para.len);
		buf_reset(&nm->para);
		nm->depth = q;
		for (; q > 0 && !ret; q--)
			ret = buf_addc(&nm->para, '>');
		if (!ret && nm->depth > 0)
			ret = buf_addc(&nm->para, ' ');
	}
	if (soft && nm->delsp)
		n--;
	if (!ret)
		ret = buf_add(&nm->para, s, n);
	nm->pending = soft;
	if (!ret && !soft)
		ret = norm_emit(nm, buf_str(&nm->para), nm->para.len);
	return ret;
}

static int normalise(const char *s, size_t n, bool flowed, bool delsp,
		     struct buf *out)
{
	struct norm nm = {.out = out, .delsp = delsp};
	size_t i = 0, j;
	int ret = 0;

	buf_init(&nm.line, BUF_MAX_TEXT);
	buf_init(&nm.para, BUF_MAX_TEXT);
	while (i < n && !ret && out->len <= MAILMSG_MAX_TEXT) {
		for (j = i; j < n && s[j] != '\n' && s[j] != '\r'; j++)
			;
		buf_reset(&nm.line);
		ret = text_clean(s + i, j - i, &nm.line);
		if (!ret && flowed)
			ret = norm_flowed(&nm, buf_str(&nm.line), nm.line.len);
		else if (!ret)
			ret = norm_emit(&nm, buf_str(&nm.line), nm.line.len);
		if (j + 1 < n && s[j] == '\r' && s[j + 1] == '\n')
			j++;
		i = j + 1;
	}
	if (!ret && nm.pending)
		ret = norm_emit(&nm, buf_str(&nm.para), nm.para.len);
	buf_free(&nm.line);
	buf_free(&nm.para);
	return ret;
}

/* Cuts text over MAILMSG_MAX_TEXT after its last whole line that fits. */
static void clip_text(struct ctx *c, struct buf *t)
{
	size_t n;

	if (t->len <= MAILMSG_MAX_TEXT)
		return;
	warn(c, W_TEXT_CUT, "text cut at %d bytes", MAILMSG_MAX_TEXT);
	n = MAILMSG_MAX_TEXT;
	while (n > 0 && t->ptr[n - 1] != '\n')
		n--;
	if (n == 0) {
		clip_utf8(t, MAILMSG_MAX_TEXT - 1);
		n = t->len;
		t->ptr[n++] = '\n';
	}
	t->len = n;
	t->ptr[n] = '\0';
}

/* Appends the normalised text of text part m to out (html: rendered). */
static int part_text(struct ctx *c, struct mailmime *m, bool html,
		     struct buf *out)
{
	const struct mailmime_content *ct = m->mm_content_type;
	const char *bytes, *u, *fmt, *delsp;
	struct buf tmp, rendered;
	char *dec = NULL;
	size_t n, un;
	int ret;

	buf_init(&tmp, BUF_MAX_TEXT);
	buf_init(&rendered, BUF_MAX_TEXT);
	ret = part_bytes(c, m, &dec, &bytes, &n);
	if (!ret)
		ret = to_utf8(c, bytes, n, content_param(ct, "charset"), &tmp,
			      &u, &un);
	if (!ret && html) {
		if (un > MAILMSG_MAX_TEXT) {
			un = MAILMSG_MAX_TEXT;
			warn(c, W_TEXT_CUT, "text cut at %d bytes",
			     MAILMSG_MAX_TEXT);
		}
		ret = html2text(u, un, &rendered);
		if (ret == -E2BIG) {
			warn(c, W_HTML,
			     "the HTML part renders to over %d bytes: dropped",
			     BUF_MAX_TEXT);
			ret = 0;
		}
		if (!ret)
			ret = normalise(buf_str(&rendered), rendered.len, false,
					false, out);
	} else if (!ret) {
		fmt = content_param(ct, "format");
		delsp = content_param(ct, "delsp");
		ret = normalise(u, un, fmt && !strcasecmp(fmt, "flowed"),
				delsp && !strcasecmp(delsp, "yes"), out);
	}
	if (dec)
		mailmime_decoded_part_free(dec);
	buf_free(&tmp);
	buf_free(&rendered);
	if (!ret)
		clip_text(c, out);
	return ret;
}

/* The text is that of the first message, in document order, with text
 * of its own: its text/plain part, else its text/html. A forwarded
 * message/rfc822 comes after the message it is in, so its text counts
 * only when the outer one has none. */
static int read_text(struct ctx *c)
{
	struct mailmsg *o = c->out;
	struct buf t;
	size_t i;
	int ret = 0;

	buf_init(&t, BUF_MAX_TEXT);
	for (i = 0; i < c->n_msgs && !ret && t.len == 0; i++) {
		if (c->msgs[i].plain)
			ret = part_text(c, c->msgs[i].plain, false, &t);
		if (!ret && t.len == 0 && c->msgs[i].html) {
			ret = part_text(c, c->msgs[i].html, true, &t);
			o->text_from_html = t.len > 0;
		}
	}
	if (!ret) {
		o->text = buf_take(&t);
		if (!o->text)
			ret = -ENOMEM;
	}
	buf_free(&t);
	return ret;
}

/* The report's fields as they are (ASCII, or UTF-8 for the global
 * form), transfer encoding undone, NUL bytes dropped. */
static int read_dsn(struct ctx *c)
{
	struct buf t;
	const char *p;
	char *dec = NULL;
	size_t n;
	int ret;

	if (!c->dsn)
		return 0;
	ret = part_bytes(c, c->dsn, &dec, &p, &n);
	if (ret)
		return ret;
	if (n > MAILMSG_MAX_DSN)
		n = MAILMSG_MAX_DSN;
	buf_init(&t, BUF_MAX_TEXT);
	for (size_t i = 0; i < n && !ret; i++)
		if (p[i] != '\0')
			ret = buf_addc(&t, p[i]);
	if (dec)
		mailmime_decoded_part_free(dec);
	if (!ret) {
		c->out->delivery_status = buf_take(&t);
		if (!c->out->delivery_status)
			ret = -ENOMEM;
	}
	buf_free(&t);
	return ret;
}

/* ---- Header fields ---- */

/* The address in v: inside <...> if it has that, else all of it; blanks
 * trimmed. */
static void angle_addr(const char *v, const char **p, size_t *n)
{
	const char *lt = strchr(v, '<'), *gt;
	const char *s = v, *e = v + strlen(v);

	if (lt) {
		gt = strchr(lt, '>');
		s = lt + 1;
		e = gt ? gt : e;
	}
	while (s < e && strchr(" \t\r\n", *s))
		s++;
	while (e > s && strchr(" \t\r\n", e[-1]))
		e--;
	*p = s;
	*n = (size_t)(e - s);
}

/* One-line copy of an address with its domain (all of it, with
 * all_lower) lower-cased; NULL when out of memory. */
static char *addr_dup(const char *a, size_t n, bool all_lower)
{
	char *s = line_dup(a, n), *p;

	if (!s)
		return NULL;
	p = all_lower ? s : strrchr(s, '@');
	for (; p && *p; p++)
		*p = ascii_lower(*p);
	return s;
}

/* Keeps addr once (compared without regard to case), its local part as
 * written: a token in "list+unsubscribe-TOKEN@" is case-sensitive. At
 * most MAILMSG_MAX_RCPTS, so the linear look for a duplicate is bounded
 * too. */
static int add_rcpt(struct ctx *c, const char *addr, size_t n)
{
	struct mailmsg *o = c->out;
	char *s;
	size_t i;

	if (o->n_rcpts >= MAILMSG_MAX_RCPTS)
		return 0;
	s = addr_dup(addr, n, false);
	if (!s)
		return -ENOMEM;
	for (i = 0; i < o->n_rcpts && *s; i++) {
		if (strcasecmp(o->rcpts[i], s) == 0)
			break;
	}
	if (!*s || i < o->n_rcpts) {
		free(s);
		return 0;
	}
	return push(&o->rcpts, &o->n_rcpts, &c->cap_rcpts, s);
}

static int add_rcpt_mailboxes(struct ctx *c, clist *l)
{
	struct mailimf_mailbox *mb;
	clistiter *it;
	int ret = 0;

	for (it = l ? clist_begin(l) : NULL;
	     it && !ret && c->out->n_rcpts < MAILMSG_MAX_RCPTS;
	     it = clist_next(it)) {
		mb = clist_content(it);
		if (mb && mb->mb_addr_spec)
			ret = add_rcpt(c, mb->mb_addr_spec,
				       strlen(mb->mb_addr_spec));
	}
	return ret;
}

static int add_rcpt_list(struct ctx *c, struct mailimf_address_list *l)
{
	struct mailimf_address *a;
	clistiter *it;
	int ret = 0;

	for (it = l && l->ad_list ? clist_begin(l->ad_list) : NULL;
	     it && !ret && c->out->n_rcpts < MAILMSG_MAX_RCPTS;
	     it = clist_next(it)) {
		a = clist_content(it);
		if (!a)
			continue;
		if (a->ad_type == MAILIMF_ADDRESS_MAILBOX &&
		    a->ad_data.ad_mailbox &&
		    a->ad_data.ad_mailbox->mb_addr_spec)
			ret = add_rcpt(
				c, a->ad_data.ad_mailbox->mb_addr_spec,
				strlen(a->ad_data.ad_mailbox->mb_addr_spec));
		else if (a->ad_type == MAILIMF_ADDRESS_GROUP &&
			 a->ad_data.ad_group &&
			 a->ad_data.ad_group->grp_mb_list)
			ret = add_rcpt_mailboxes(
				c, a->ad_data.ad_group->grp_mb_list->mb_list);
	}
	return ret;
}

static const char *optional_value(const struct mailimf_field *f,
				  const char *name)
{
	const struct mailimf_optional_field *o;

	if (f->fld_type != MAILIMF_FIELD_OPTIONAL_FIELD)
		return NULL;
	o = f->fld_data.fld_optional_field;
	if (!o || !o->fld_name || !o->fld_value ||
	    strcasecmp(o->fld_name, name) != 0)
		return NULL;
	return o->fld_value;
}

/* To, then Cc, then Delivered-To, then X-Original-To. */
static int read_rcpts(struct ctx *c, clist *fields)
{
	static const char *const extra[2] = {"Delivered-To", "X-Original-To"};
	struct mailimf_field *f;
	clistiter *it;
	const char *v, *a;
	size_t n;
	int pass, ret = 0;

	for (pass = 0; pass < 4 && !ret; pass++) {
		for (it = clist_begin(fields);
		     it && !ret && c->out->n_rcpts < MAILMSG_MAX_RCPTS;
		     it = clist_next(it)) {
			f = clist_content(it);
			if (!f)
				continue;
			if (pass == 0 && f->fld_type == MAILIMF_FIELD_TO &&
			    f->fld_data.fld_to)
				ret = add_rcpt_list(
					c, f->fld_data.fld_to->to_addr_list);
			else if (pass == 1 && f->fld_type == MAILIMF_FIELD_CC &&
				 f->fld_data.fld_cc)
				ret = add_rcpt_list(
					c, f->fld_data.fld_cc->cc_addr_list);
			else if (pass >= 2 &&
				 (v = optional_value(f, extra[pass - 2]))) {
				angle_addr(v, &a, &n);
				ret = add_rcpt(c, a, n);
			}
		}
	}
	return ret;
}

static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* Unix time of a Date, UTC from its fields and zone (never the local
 * TZ); 0 when a field is out of range. Two- and three-digit years are
 * read as RFC 5322 4.3 says. */
static int64_t date_utc(const struct mailimf_date_time *d)
{
	static const int mdays[12] = {31, 29, 31, 30, 31, 30,
				      31, 31, 30, 31, 30, 31};
	int64_t year = d->dt_year, zone = d->dt_zone, z;

	if (year >= 0 && year < 50)
		year += 2000;
	else if (year >= 50 && year < 1000)
		year += 1900;
	if (year < 1900 || year > 9999 || d->dt_month < 1 || d->dt_month > 12 ||
	    d->dt_day < 1 || d->dt_day > mdays[d->dt_month - 1] ||
	    d->dt_hour < 0 || d->dt_hour > 23 || d->dt_min < 0 ||
	    d->dt_min > 59 || d->dt_sec < 0 || d->dt_sec > 60)
		return 0;
	z = zone < 0 ? -zone : zone;
	/* +hhmm; a zone libetpan could not read as one counts as UTC */
	z = z % 100 < 60 && z / 100 < 24 ? (z / 100) * 3600 + (z % 100) * 60
					 : 0;
	if (zone < 0)
		z = -z;
	return days_from_civil(year, d->dt_month, d->dt_day) * 86400 +
	       (int64_t)d->dt_hour * 3600 + (int64_t)d->dt_min * 60 +
	       d->dt_sec - z;
}

/* Lower-cased one-line copy for Auto-Submitted and Precedence. */
static char *lower_dup(const char *v)
{
	char *s = line_dup(v, strlen(v)), *p;

	for (p = s; p && *p; p++)
		*p = ascii_lower(*p);
	return s;
}

static int read_from(struct ctx *c, const struct mailimf_from *from)
{
	struct mailmsg *o = c->out;
	struct mailimf_mailbox *mb = NULL;
	int ret = 0;

	if (from && from->frm_mb_list && from->frm_mb_list->mb_list &&
	    clist_begin(from->frm_mb_list->mb_list))
		mb = clist_content(clist_begin(from->frm_mb_list->mb_list));
	if (!mb || !mb->mb_addr_spec)
		return 0;
	o->from = addr_dup(mb->mb_addr_spec, strlen(mb->mb_addr_spec), false);
	if (!o->from)
		return -ENOMEM;
	if (mb->mb_display_name)
		ret = header_text(c, mb->mb_display_name, &o->from_name);
	if (!ret && o->from_name && !*o->from_name) {
		free(o->from_name);
		o->from_name = NULL;
	}
	return ret;
}

/* Optional fields the header reads: the first of each except
 * Authentication-Results (all, in order) and List-Id (any). */
static int read_optional(struct ctx *c, const struct mailimf_field *f,
			 const char **bad_date, const char **bad_id)
{
	struct mailmsg *o = c->out;
	const char *v, *a;
	size_t n;

	if ((v = optional_value(f, "Authentication-Results")))
		return push(&o->auth_results, &o->n_auth_results, &c->cap_auth,
			    line_dup(v, strlen(v)));
	if (optional_value(f, "List-Id"))
		o->has_list_id = true;
	if (!o->return_path && (v = optional_value(f, "Return-Path"))) {
		angle_addr(v, &a, &n);
		o->return_path = addr_dup(a, n, false);
		return o->return_path ? 0 : -ENOMEM;
	}
	if (!o->auto_submitted && (v = optional_value(f, "Auto-Submitted"))) {
		o->auto_submitted = lower_dup(v);
		return o->auto_submitted ? 0 : -ENOMEM;
	}
	if (!o->precedence && (v = optional_value(f, "Precedence"))) {
		o->precedence = lower_dup(v);
		return o->precedence ? 0 : -ENOMEM;
	}
	/* libetpan keeps a Date or Message-ID it cannot parse as an
	 * optional field. */
	if (!*bad_date && (v = optional_value(f, "Date")))
		*bad_date = v;
	if (!*bad_id && (v = optional_value(f, "Message-ID")))
		*bad_id = v;
	return 0;
}

static int read_header(struct ctx *c, const struct mailimf_fields *fields)
{
	struct mailmsg *o = c->out;
	const struct mailimf_field *f;
	const char *bad_date = NULL, *bad_id = NULL, *a;
	bool have_from = false, have_date = false;
	clistiter *it;
	size_t n;
	int ret = 0;

	if (!fields || !fields->fld_list)
		goto missing;
	for (it = clist_begin(fields->fld_list); it && !ret;
	     it = clist_next(it)) {
		f = clist_content(it);
		if (!f)
			continue;
		switch (f->fld_type) {
		case MAILIMF_FIELD_FROM:
			if (!have_from)
				ret = read_from(c, f->fld_data.fld_from);
			have_from = true;
			break;
		case MAILIMF_FIELD_SUBJECT:
			if (!o->subject && f->fld_data.fld_subject &&
			    f->fld_data.fld_subject->sbj_value)
				ret = header_text(
					c, f->fld_data.fld_subject->sbj_value,
					&o->subject);
			break;
		case MAILIMF_FIELD_ORIG_DATE:
			if (!have_date && f->fld_data.fld_orig_date &&
			    f->fld_data.fld_orig_date->dt_date_time) {
				have_date = true;
				o->date = date_utc(f->fld_data.fld_orig_date
							   ->dt_date_time);
				if (o->date == 0)
					warn(c, W_DATE,
					     "the Date is out of "
					     "range");
			}
			break;
		case MAILIMF_FIELD_MESSAGE_ID:
			if (!o->message_id && f->fld_data.fld_message_id &&
			    f->fld_data.fld_message_id->mid_value) {
				a = f->fld_data.fld_message_id->mid_value;
				o->message_id = line_dup(a, strlen(a));
				if (!o->message_id)
					ret = -ENOMEM;
			}
			break;
		case MAILIMF_FIELD_OPTIONAL_FIELD:
			ret = read_optional(c, f, &bad_date, &bad_id);
			break;
		default:
			break;
		}
	}
	if (!ret)
		ret = read_rcpts(c, fields->fld_list);
	if (ret)
		return ret;
	if (!o->message_id && bad_id) {
		angle_addr(bad_id, &a, &n);
		o->message_id = line_dup(a, n);
		if (!o->message_id)
			return -ENOMEM;
		if (!*o->message_id) {
			free(o->message_id);
			o->message_id = NULL;
		}
	}
missing:
	if (!have_date)
		warn(c, W_DATE,
		     bad_date ? "the Date cannot be read" : "no Date");
	if (!o->message_id)
		warn(c, W_MESSAGE_ID, "no Message-ID");
	return 0;
}

/* ---- Public ---- */

int mailmsg_parse(const char *data, size_t len, size_t max_size,
		  struct mailmsg *out, struct err *err)
{
	struct mailmime *mime = NULL;
	struct ctx c;
	struct scan sc;
	size_t idx = 0, top;
	int ret, r;

	if (CHECK_FAILS(out != NULL))
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (CHECK_FAILS(data != NULL || len == 0))
		return -EINVAL;
	if (len > max_size) {
		err_set(err,
			"message is %zu bytes; the limit is %zu ([imap] "
			"max_size)",
			len, max_size);
		return -EMSGSIZE;
	}
	ret = prescan(data, len, &sc, err);
	if (ret)
		return ret;

	memset(&c, 0, sizeof(c));
	c.out = out;
	if (sc.cut < len)
		warn(&c, W_CUT,
		     "over %d lines start with \"--\": read up to byte %zu of "
		     "%zu",
		     MAX_DELIMITERS, sc.cut, len);
	r = mailmime_parse(data, sc.cut, &idx, &mime);
	if (r == MAILIMF_ERROR_MEMORY) {
		ret = -ENOMEM;
		goto out;
	}
	if (r != MAILIMF_NO_ERROR || !mime ||
	    mime->mm_type != MAILMIME_MESSAGE) {
		err_set(err, "libetpan cannot read the message (error %d)", r);
		ret = -EBADMSG;
		goto out;
	}
	ret = read_header(&c, mime->mm_data.mm_message.mm_fields);
	if (!ret)
		ret = add_msg(&c, &top);
	if (!ret)
		ret = walk(&c, mime->mm_data.mm_message.mm_msg_mime, top, 0);
	if (!ret && c.leaves > MAILMSG_MAX_PARTS)
		warn(&c, W_PARTS, "%zu parts: only the first %d were read",
		     c.leaves, MAILMSG_MAX_PARTS);
	if (!ret && c.unlisted > 0)
		warn(&c, W_ATTACHMENTS, "%zu more attachments not listed",
		     c.unlisted);
	if (!ret)
		ret = read_text(&c);
	if (!ret)
		ret = read_dsn(&c);
out:
	if (mime)
		mailmime_free(mime);
	free(c.msgs);
	if (ret) {
		if (ret == -ENOMEM)
			err_set(err, "out of memory reading a %zu-byte message",
				len);
		mailmsg_free(out);
	}
	return ret;
}

static void free_strv(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void mailmsg_free(struct mailmsg *m)
{
	if (!m)
		return;
	free(m->from);
	free(m->from_name);
	free(m->return_path);
	free_strv(m->rcpts, m->n_rcpts);
	free(m->subject);
	free(m->message_id);
	free(m->auto_submitted);
	free(m->precedence);
	free_strv(m->auth_results, m->n_auth_results);
	free(m->text);
	free(m->delivery_status);
	free_strv(m->attachments, m->n_attachments);
	memset(m, 0, sizeof(*m));
}
