/*
 * message: RFC 5322 messages. Owns value cleaning (no content can add a
 * header line or hide text behind bidi controls), RFC 2047 encoded words,
 * folding (at whitespace only, so never inside <...>; no line over 998
 * octets), List-Id values and the format=flowed body (RFC 3676). The
 * header block is written here rather than with libetpan's mailimf
 * writer, which cuts any line at 998 octets even inside a <URL>; the
 * tests parse our output back with libetpan. Pure: no I/O, no globals.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "message.h"
#include "text.h"

#define LINE_MAX_OCTETS 998 /* RFC 5322 2.1.1, without the CRLF */
#define FOLD_AT 76	    /* fold past this: RFC 2047 2 asks for 76 */
#define EW_MAX 75	    /* an encoded word, RFC 2047 2 */
#define EW_OVERHEAD 12	    /* "=?UTF-8?B?" and "?=" */
#define WORD_ENCODE_OVER                                                       \
	900		    /* ASCII words longer than this get encoded        \
			       so that folding can still keep lines short */
#define FLOW_MAX_OCTETS 990 /* an unbreakable body word is cut here */
/* A wrapped line holds at most this many octets before its trailing
 * space, so that with the space and any space-stuffing it stays within
 * 78 octets (RFC 5322 2.1.1) even when every character is multi-byte. */
#define FLOW_LINE_OCTETS 76
#define URI_MAX 900
#define LIST_ID_MAX 255 /* RFC 2919 3 */
#define LIST_TITLE_MAX 200

static const char *const wday_names[] = {"Sun", "Mon", "Tue", "Wed",
					 "Thu", "Fri", "Sat"};
static const char *const month_names[] = {"Jan", "Feb", "Mar", "Apr",
					  "May", "Jun", "Jul", "Aug",
					  "Sep", "Oct", "Nov", "Dec"};

/* ---- UTF-8 and cleaning ---- */

/* Length of the (valid) UTF-8 sequence at s. */
static size_t utf8_len(const char *s, size_t len)
{
	size_t n = 1;

	while (n < len && ((unsigned char)s[n] & 0xc0) == 0x80)
		n++;
	return n;
}

/* Line and paragraph breaks, and the blanks that act like them. */
static bool is_break(uint32_t cp)
{
	return cp == '\n' || cp == '\r' || cp == '\t' || cp == '\v' ||
	       cp == '\f' || cp == 0x85 || cp == 0x2028 || cp == 0x2029;
}

/* Controls and invisible format characters that can reorder or hide
 * text (the "Trojan Source" set): dropped from headers and headings. */
static bool is_dropped(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x61c ||
	       (cp >= 0x200b && cp <= 0x200f) ||
	       (cp >= 0x202a && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff;
}

int message_clean(const char *value, size_t len, struct buf *out)
{
	const unsigned char *s = (const unsigned char *)value;
	size_t i = 0;
	int ret = 0;

	while (i < len && !ret) {
		uint32_t cp;
		size_t n;

		if (s[i] == '\r' && i + 1 < len && s[i + 1] == '\n') {
			ret = buf_addc(out, ' ');
			i += 2;
			continue;
		}
		n = text_utf8_decode(s + i, len - i, &cp);
		if (n == 0) {
			ret = buf_adds(out, "\xef\xbf\xbd"); /* U+FFFD */
			i++;
			continue;
		}
		if (is_break(cp))
			ret = buf_addc(out, ' ');
		else if (!is_dropped(cp))
			ret = buf_add(out, s + i, n);
		i += n;
	}
	return ret;
}

/* Cleans value into b (empty), collapses runs of spaces into one and
 * trims them at both ends: one header value, as a decoder will see it
 * (decoders fold whitespace runs anyway). */
static int clean_trim(const char *value, struct buf *b)
{
	size_t n = 0;
	int ret;

	ret = message_clean(value, strlen(value), b);
	if (ret || !b->ptr)
		return ret;
	for (size_t i = 0; i < b->len; i++) {
		if (b->ptr[i] == ' ' && (n == 0 || b->ptr[n - 1] == ' '))
			continue;
		b->ptr[n++] = b->ptr[i];
	}
	b->len = n;
	b->ptr[n] = '\0';
	buf_rtrim(b, " ");
	return 0;
}

/* ---- RFC 2047 ---- */

static bool is_ascii_text(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c >= 0x7f)
			return false;
	}
	return true;
}

/* Clean text needs encoded words when it is not ASCII, when it holds
 * something a decoder would take for an encoded word, or when a word is
 * too long to fold. */
static bool needs_encoding(const char *s, size_t len)
{
	size_t run = 0;

	if (!is_ascii_text(s, len) || memmem(s, len, "=?", 2))
		return true;
	for (size_t i = 0; i < len; i++) {
		run = s[i] == ' ' ? 0 : run + 1;
		if (run > WORD_ENCODE_OVER)
			return true;
	}
	return false;
}

/* Characters Q may leave as they are, even in a phrase (RFC 2047 5(3)). */
static bool q_plain(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '!' || c == '*' || c == '+' ||
	       c == '-' || c == '/';
}

static size_t q_cost(unsigned char c)
{
	return (c == ' ' || q_plain(c)) ? 1 : 3;
}

static int q_write(const unsigned char *s, size_t len, struct buf *out)
{
	static const char hex[] = "0123456789ABCDEF";
	int ret = 0;

	for (size_t i = 0; i < len && !ret; i++) {
		if (s[i] == ' ') {
			ret = buf_addc(out, '_');
		} else if (q_plain(s[i])) {
			ret = buf_addc(out, (char)s[i]);
		} else {
			char e[3] = {'=', hex[s[i] >> 4], hex[s[i] & 15]};

			ret = buf_add(out, e, 3);
		}
	}
	return ret;
}

static int b64_write(const unsigned char *s, size_t len, struct buf *out)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789+/";
	int ret = 0;

	for (size_t i = 0; i < len && !ret; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16;
		char q[4];

		if (i + 1 < len)
			v |= (uint32_t)s[i + 1] << 8;
		if (i + 2 < len)
			v |= s[i + 2];
		q[0] = tab[(v >> 18) & 63];
		q[1] = tab[(v >> 12) & 63];
		q[2] = i + 1 < len ? tab[(v >> 6) & 63] : '=';
		q[3] = i + 2 < len ? tab[v & 63] : '=';
		ret = buf_add(out, q, 4);
	}
	return ret;
}

/* Writes clean UTF-8 text as encoded words separated by one space: the
 * first at most first_max characters long (it shares a line with the
 * field name), the others at most EW_MAX. Each word holds whole
 * characters. Q or B is chosen for the whole value, whichever is
 * shorter; a decoder drops the spaces between adjacent encoded words, so
 * the text comes back exactly. */
static int encode_words(const char *text, size_t len, size_t first_max,
			struct buf *out)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t qtotal = 0, btotal = 4 * ((len + 2) / 3);
	size_t pos = 0, limit = first_max;
	bool q;
	int ret;

	for (size_t i = 0; i < len; i++)
		qtotal += q_cost(s[i]);
	q = qtotal <= btotal;
	while (pos < len) {
		size_t take = 0, cost = 0, room = limit - EW_OVERHEAD;

		while (pos + take < len) {
			size_t n =
				utf8_len(text + pos + take, len - pos - take);

			if (q) {
				size_t c = 0;

				for (size_t k = 0; k < n; k++)
					c += q_cost(s[pos + take + k]);
				if (cost + c > room)
					break;
				cost += c;
			} else if (4 * ((take + n + 2) / 3) > room) {
				break;
			}
			take += n;
		}
		if (CHECK_FAILS(take > 0))
			return -EINVAL;
		if (pos > 0) {
			ret = buf_addc(out, ' ');
			if (ret)
				return ret;
		}
		ret = buf_adds(out, q ? "=?UTF-8?Q?" : "=?UTF-8?B?");
		if (!ret)
			ret = q ? q_write(s + pos, take, out)
				: b64_write(s + pos, take, out);
		if (!ret)
			ret = buf_adds(out, "?=");
		if (ret)
			return ret;
		pos += take;
		limit = EW_MAX;
	}
	return 0;
}

/* Unstructured text (Subject) whose first word follows "Name: ". */
static int body_write(const char *value, size_t first_max, struct buf *out)
{
	struct buf b;
	int ret;

	buf_init(&b, BUF_MAX_LINE);
	ret = clean_trim(value, &b);
	if (ret)
		return ret;
	if (needs_encoding(buf_str(&b), b.len))
		ret = encode_words(buf_str(&b), b.len, first_max, out);
	else
		ret = buf_add(out, buf_str(&b), b.len);
	buf_free(&b);
	return ret;
}

int message_encode_header(const char *value, struct buf *out)
{
	if (CHECK_FAILS(value && out))
		return -EINVAL;
	return body_write(value, EW_MAX, out);
}

static bool is_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

static int quoted_write(const char *s, size_t len, struct buf *out)
{
	int ret = buf_addc(out, '"');

	for (size_t i = 0; i < len && !ret; i++) {
		if (s[i] == '"' || s[i] == '\\')
			ret = buf_addc(out, '\\');
		if (!ret)
			ret = buf_addc(out, s[i]);
	}
	if (!ret)
		ret = buf_addc(out, '"');
	return ret;
}

/* A display name (clean, trimmed): atoms as they are, other ASCII as a
 * quoted string, anything else as encoded words. */
static int phrase_write(const char *s, size_t len, size_t first_max,
			bool always_quote, struct buf *out)
{
	bool atoms = !always_quote && len > 0;

	if (!is_ascii_text(s, len) ||
	    (!always_quote && memmem(s, len, "=?", 2)))
		return encode_words(s, len, first_max, out);
	for (size_t i = 0; i < len && atoms; i++) {
		if (s[i] == ' ')
			atoms = i > 0 && s[i - 1] != ' ';
		else
			atoms = is_atext((unsigned char)s[i]);
	}
	if (atoms)
		return buf_add(out, s, len);
	return quoted_write(s, len, out);
}

/* ---- header fields ---- */

/* Appends "Name: value" CRLF, folding before a space wherever a line
 * would pass fold_at. Only spaces are fold points, so nothing between
 * <...> or inside an encoded word is ever split. Fails with -EINVAL when
 * a single word would still leave a line over 998 octets. */
static int header_fold(struct buf *out, const char *name, const char *value,
		       size_t fold_at, struct err *err)
{
	size_t len = strlen(value), i = 0, col;
	bool on_line = false;
	int ret;

	while (i < len && value[i] == ' ')
		i++;
	while (len > i && value[len - 1] == ' ')
		len--;
	ret = buf_printf(out, "%s:", name);
	if (ret)
		return ret;
	col = strlen(name) + 1;
	if (i < len) {
		ret = buf_addc(out, ' ');
		if (ret)
			return ret;
		col++;
	}
	while (i < len) {
		size_t j = i, k;

		while (j < len && value[j] == ' ')
			j++;
		k = j;
		while (k < len && value[k] != ' ')
			k++;
		if (on_line && col + (k - i) > fold_at) {
			ret = buf_adds(out, "\r\n");
			if (ret)
				return ret;
			col = 0;
		}
		ret = buf_add(out, value + i, k - i);
		if (ret)
			return ret;
		col += k - i;
		if (col > LINE_MAX_OCTETS) {
			err_set(err,
				"message: the %s header has a word of %zu "
				"octets, too long for one line (998 at most)",
				name, k - j);
			return -EINVAL;
		}
		on_line = true;
		i = k;
	}
	return buf_adds(out, "\r\n");
}

static int header_add(struct buf *out, const char *name, const char *value,
		      struct err *err)
{
	return header_fold(out, name, value, FOLD_AT, err);
}

/* user@domain: one '@', a dot-atom local part, an ASCII host name. */
static bool addr_spec_ok(const char *s, size_t len)
{
	const char *at = memchr(s, '@', len);
	size_t llen, dlen;

	if (!at || memchr(at + 1, '@', len - (size_t)(at - s) - 1))
		return false;
	llen = (size_t)(at - s);
	dlen = len - llen - 1;
	if (llen == 0 || llen > 64 || dlen == 0 || dlen > 255)
		return false;
	for (size_t i = 0; i < llen; i++) {
		if (s[i] == '.') {
			if (i == 0 || i == llen - 1 || s[i - 1] == '.')
				return false;
		} else if (!is_atext((unsigned char)s[i])) {
			return false;
		}
	}
	for (size_t i = 0; i < dlen; i++) {
		char c = at[1 + i];

		if (c == '.') {
			if (i == 0 || i == dlen - 1 || at[i] == '.')
				return false;
		} else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     (c >= '0' && c <= '9') || c == '-')) {
			return false;
		}
	}
	return true;
}

/* Writes a mailbox, "user@domain" or "Name <user@domain>" (quotes around
 * the name are allowed), cleaned first. */
static int mailbox_write(const char *field, const char *value, size_t first_max,
			 struct buf *out, struct err *err)
{
	struct buf b, name;
	const char *s, *lt, *addr;
	size_t len, alen, nlen = 0;
	int ret;

	buf_init(&b, BUF_MAX_LINE);
	buf_init(&name, BUF_MAX_LINE);
	ret = clean_trim(value, &b);
	if (ret)
		goto out;
	s = buf_str(&b);
	len = b.len;
	addr = s;
	alen = len;
	if (len > 0 && s[len - 1] == '>') {
		lt = memrchr(s, '<', len);
		if (!lt) {
			ret = -EINVAL;
			goto bad;
		}
		addr = lt + 1;
		alen = len - 1 - (size_t)(addr - s);
		nlen = (size_t)(lt - s);
		while (nlen > 0 && s[nlen - 1] == ' ')
			nlen--;
		if (nlen >= 2 && s[0] == '"' && s[nlen - 1] == '"') {
			for (size_t i = 1; i + 1 < nlen && !ret; i++) {
				if (s[i] == '\\' && i + 2 < nlen)
					i++;
				ret = buf_addc(&name, s[i]);
			}
		} else if (nlen > 0) {
			ret = buf_add(&name, s, nlen);
		}
		if (ret)
			goto out;
	}
	if (!addr_spec_ok(addr, alen)) {
		ret = -EINVAL;
		goto bad;
	}
	if (name.len > 0) {
		ret = phrase_write(buf_str(&name), name.len, first_max, false,
				   out);
		if (!ret)
			ret = buf_adds(out, " <");
		if (!ret)
			ret = buf_add(out, addr, alen);
		if (!ret)
			ret = buf_addc(out, '>');
	} else {
		ret = buf_add(out, addr, alen);
	}
	goto out;
bad:
	err_set(err,
		"message: %s '%.200s' is not a usable address: use "
		"user@domain or Name <user@domain>",
		field, buf_str(&b));
out:
	buf_free(&b);
	buf_free(&name);
	return ret;
}

/* A URI that can sit between < and >: printable ASCII with no space,
 * quote or angle bracket, starting with one of the schemes. */
static bool uri_ok(const char *u, const char *scheme1, const char *scheme2)
{
	size_t len = strlen(u), plen;

	if (strncasecmp(u, scheme1, strlen(scheme1)) == 0)
		plen = strlen(scheme1);
	else if (scheme2 && strncasecmp(u, scheme2, strlen(scheme2)) == 0)
		plen = strlen(scheme2);
	else
		return false;
	if (len <= plen || len > URI_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)u[i];

		if (c <= 0x20 || c >= 0x7f || c == '<' || c == '>' || c == '"')
			return false;
	}
	return true;
}

static bool msgid_ok(const char *id)
{
	size_t len = strlen(id);
	const char *at = strchr(id, '@');

	if (len == 0 || len > URI_MAX || !at || at == id || !at[1])
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)id[i];

		if (c <= 0x20 || c >= 0x7f || c == '<' || c == '>' ||
		    c == '"' || c == '\\' || c == '(' || c == ')')
			return false;
	}
	return true;
}

static bool token_ok(const char *t)
{
	size_t len = strlen(t);

	if (len == 0 || len > 64)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = t[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-'))
			return false;
	}
	return true;
}

/* "Mon, 16 Nov 2026 07:30:00 +0000", whatever the locale. */
static int date_format(int64_t t, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;
	int n;

	if ((int64_t)tt != t || !gmtime_r(&tt, &tm) || tm.tm_year < 0 ||
	    tm.tm_year > 8099)
		return -EINVAL;
	n = snprintf(out, len, "%s, %d %s %04d %02d:%02d:%02d +0000",
		     wday_names[tm.tm_wday], tm.tm_mday, month_names[tm.tm_mon],
		     tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (n < 0 || (size_t)n >= len)
		return -EINVAL;
	return 0;
}

/* Builds one field's value in v, then writes the folded field. */
static int headers_write(const struct message_spec *spec, bool seven_bit,
			 bool readable, struct buf *h, struct err *err)
{
	struct buf v;
	char date[64];
	int ret;

	buf_init(&v, BUF_MAX_LINE);
	if (date_format(spec->date, date, sizeof(date))) {
		err_set(err, "message: date %lld is out of range",
			(long long)spec->date);
		ret = -EINVAL;
		goto out;
	}
	ret = header_add(h, "Date", date, err);
	if (ret)
		goto out;

	ret = mailbox_write("From", spec->from, FOLD_AT - 6, &v, err);
	if (!ret)
		ret = header_add(h, "From", buf_str(&v), err);
	if (ret)
		goto out;
	buf_reset(&v);
	ret = mailbox_write("To", spec->to, FOLD_AT - 4, &v, err);
	if (!ret)
		ret = header_add(h, "To", buf_str(&v), err);
	if (ret)
		goto out;
	buf_reset(&v);
	ret = body_write(spec->subject, FOLD_AT - 9, &v);
	if (!ret)
		ret = header_add(h, "Subject", buf_str(&v), err);
	if (ret)
		goto out;
	buf_reset(&v);
	ret = buf_printf(&v, "<%s>", spec->message_id);
	if (!ret)
		ret = header_add(h, "Message-ID", buf_str(&v), err);
	if (!ret)
		ret = header_add(h, "MIME-Version", "1.0", err);
	if (!ret)
		ret = header_add(h, "Content-Type",
				 "text/plain; charset=utf-8; format=flowed",
				 err);
	if (!ret)
		ret = header_add(h, "Content-Transfer-Encoding",
				 seven_bit  ? "7bit"
				 : readable ? "8bit"
					    : "base64",
				 err);
	if (ret)
		goto out;
	if (spec->list_id) {
		buf_reset(&v);
		ret = clean_trim(spec->list_id, &v);
		if (ret)
			goto out;
		if (!is_ascii_text(buf_str(&v), v.len) || v.len == 0) {
			err_set(err, "message: list_id must be non-empty "
				     "ASCII (build it with message_list_id)");
			ret = -EINVAL;
			goto out;
		}
		ret = header_add(h, "List-Id", buf_str(&v), err);
		if (ret)
			goto out;
	}
	if (spec->unsubscribe_url || spec->unsubscribe_mailto) {
		buf_reset(&v);
		if (spec->unsubscribe_url)
			ret = buf_printf(&v, "<%s>", spec->unsubscribe_url);
		if (!ret && spec->unsubscribe_mailto)
			ret = buf_printf(&v, "%s<%s>",
					 spec->unsubscribe_url ? ", " : "",
					 spec->unsubscribe_mailto);
		/* One line when it fits: relays that refold it have broken
		 * DKIM signatures over it (nodemailer#1654). */
		if (!ret)
			ret = header_fold(h, "List-Unsubscribe", buf_str(&v),
					  LINE_MAX_OCTETS, err);
		if (ret)
			goto out;
	}
	if (spec->one_click) {
		ret = header_add(h, "List-Unsubscribe-Post",
				 "List-Unsubscribe=One-Click", err);
		if (ret)
			goto out;
	}
	if (spec->bulk) {
		ret = header_add(h, "Precedence", "bulk", err);
		if (ret)
			goto out;
	}
	if (spec->auto_submitted)
		ret = header_add(h, "Auto-Submitted", spec->auto_submitted,
				 err);
out:
	buf_free(&v);
	return ret;
}

/* Copies up to len-1 bytes of v for an error message, with anything but
 * printable ASCII shown as '?', so that err stays one clean line. */
static const char *shown(const char *v, char *tmp, size_t len)
{
	size_t i;

	for (i = 0; v[i] && i + 1 < len; i++) {
		unsigned char c = (unsigned char)v[i];

		tmp[i] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
	}
	tmp[i] = '\0';
	return tmp;
}

/* Checks the fields that are not cleaned: they must be usable as they
 * are, since changing an id or a URL would break it. */
static int spec_check(const struct message_spec *spec, struct err *err)
{
	char tmp[201];

	if (!spec->from || !spec->to || !spec->subject || !spec->message_id) {
		err_set(err, "message: %s is missing",
			!spec->from	 ? "From"
			: !spec->to	 ? "To"
			: !spec->subject ? "Subject"
					 : "Message-ID");
		return -EINVAL;
	}
	if (!msgid_ok(spec->message_id)) {
		err_set(err,
			"message: Message-ID '%s' is not usable: "
			"it needs left@right in printable ASCII, no brackets",
			shown(spec->message_id, tmp, sizeof(tmp)));
		return -EINVAL;
	}
	if (spec->unsubscribe_url &&
	    !uri_ok(spec->unsubscribe_url, "https://", "http://")) {
		err_set(err,
			"message: unsubscribe URL '%s' is not usable: "
			"it must be an http(s) URL in printable ASCII with no "
			"spaces or brackets, at most %d octets",
			shown(spec->unsubscribe_url, tmp, sizeof(tmp)),
			URI_MAX);
		return -EINVAL;
	}
	if (spec->unsubscribe_mailto &&
	    !uri_ok(spec->unsubscribe_mailto, "mailto:", NULL)) {
		err_set(err,
			"message: unsubscribe mailto '%s' is not usable: "
			"it must be a mailto: URL in printable ASCII",
			shown(spec->unsubscribe_mailto, tmp, sizeof(tmp)));
		return -EINVAL;
	}
	if (spec->one_click && !spec->unsubscribe_url) {
		err_set(err, "message: one-click unsubscribe needs an "
			     "unsubscribe URL (RFC 8058)");
		return -EINVAL;
	}
	if (spec->auto_submitted && !token_ok(spec->auto_submitted)) {
		err_set(err, "message: Auto-Submitted '%s' is not a keyword",
			shown(spec->auto_submitted, tmp, 65));
		return -EINVAL;
	}
	return 0;
}

/* Whether the body can go as it is: ASCII, no NUL. */
static bool is_seven_bit(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80 || s[i] == '\0')
			return false;
	return true;
}

/* Appends base64 of data (the standard alphabet with padding) in lines
 * of 76 characters, each ending in CRLF (RFC 2045 6.8). Nothing here is
 * secret, so a table does (libsodium's constant-time encoder took a
 * fifth of a send). 57 octets make one line: the base64 of a body is
 * the base64 of its first 57*k octets followed by that of the rest. */
static int base64_lines(const void *data, size_t len, struct buf *out)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *s = data;
	char chunk[64 * 78];
	size_t n = 0;
	int ret = 0;

	while (len > 0 && !ret) {
		size_t take = len < 57 ? len : 57, i;

		for (i = 0; i + 3 <= take; i += 3) {
			uint32_t v = (uint32_t)s[i] << 16 |
				     (uint32_t)s[i + 1] << 8 | s[i + 2];

			chunk[n++] = tab[v >> 18];
			chunk[n++] = tab[(v >> 12) & 63];
			chunk[n++] = tab[(v >> 6) & 63];
			chunk[n++] = tab[v & 63];
		}
		if (i < take) {
			uint32_t v = (uint32_t)s[i] << 16;

			if (i + 1 < take)
				v |= (uint32_t)s[i + 1] << 8;
			chunk[n++] = tab[v >> 18];
			chunk[n++] = tab[(v >> 12) & 63];
			chunk[n++] = i + 1 < take ? tab[(v >> 6) & 63] : '=';
			chunk[n++] = '=';
		}
		chunk[n++] = '\r';
		chunk[n++] = '\n';
		s += take;
		len -= take;
		if (n + 78 > sizeof(chunk) || len == 0) {
			ret = buf_add(out, chunk, n);
			n = 0;
		}
	}
	return ret;
}

/* Appends text with each LF as CRLF. */
static int crlf_add(const char *s, size_t len, struct buf *out)
{
	size_t start = 0;
	int ret = 0;

	for (size_t i = 0; !ret && i < len; i++) {
		if (s[i] != '\n')
			continue;
		ret = buf_add(out, s + start, i - start);
		if (!ret)
			ret = buf_adds(out, "\r\n");
		start = i + 1;
	}
	if (!ret && start < len)
		ret = buf_add(out, s + start, len - start);
	return ret;
}

/* ---- bodies prepared once for many messages ---- */

/* A stretch of a body: lines without holes, flowed, with CRLF line ends;
 * or lines with holes as they were given, filled in and flowed for each
 * message. */
struct body_part {
	char *text;
	size_t len;
	bool hole;
};

struct message_body {
	struct body_part *parts;
	size_t n_parts;
	bool seven_bit; /* every flowed part is 7-bit */
	/* The base64 lines of the first head octets of parts[0], a multiple
	 * of 57 (one line), the same in every message; head is 0 when the
	 * body starts with a hole or goes as it is. */
	char *b64;
	size_t b64_len, head;
};

void message_body_free(struct message_body *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n_parts; i++)
		free(b->parts[i].text);
	free(b->parts);
	free(b->b64);
	free(b);
}

/* Whether s holds a hole: MESSAGE_HOLE and a digit. */
static bool has_hole(const char *s, size_t len)
{
	const char *p = s, *end = s + len;

	while ((p = memchr(p, MESSAGE_HOLE, (size_t)(end - p))) != NULL) {
		if (p + 1 < end && p[1] >= '0' && p[1] <= '9')
			return true;
		p++;
	}
	return false;
}

/* Flows len bytes of text and appends them to out with CRLF line ends;
 * *seven_bit is cleared when they are not 7-bit. */
static int flow_crlf(const char *text, size_t len, bool *seven_bit,
		     struct buf *out)
{
	struct buf src, flowed;
	int ret;

	buf_init(&src, BUF_MAX_TEXT);
	buf_init(&flowed, BUF_MAX_TEXT);
	ret = buf_add(&src, text, len);
	if (!ret)
		ret = message_flow(buf_str(&src), MESSAGE_WIDTH, &flowed);
	if (!ret) {
		if (!is_seven_bit(buf_str(&flowed), flowed.len))
			*seven_bit = false;
		ret = crlf_add(buf_str(&flowed), flowed.len, out);
	}
	buf_free(&src);
	buf_free(&flowed);
	return ret;
}

static int part_add(struct message_body *b, const char *text, size_t len,
		    bool hole)
{
	struct body_part *tmp, *p;
	struct buf t;
	int ret = 0;

	tmp = realloc(b->parts, (b->n_parts + 1) * sizeof(*tmp));
	if (!tmp)
		return -ENOMEM;
	b->parts = tmp;
	buf_init(&t, BUF_MAX_TEXT);
	if (hole)
		ret = buf_add(&t, text, len);
	else
		ret = flow_crlf(text, len, &b->seven_bit, &t);
	if (ret)
		return ret;
	p = &b->parts[b->n_parts++];
	p->len = t.len;
	p->hole = hole;
	p->text = buf_take(&t);
	if (!p->text) {
		b->n_parts--;
		return -ENOMEM;
	}
	return 0;
}

/* Splits text into runs of lines with and without holes (only when
 * holes), flowing the runs without. Flowing works line by line, so the
 * parts flowed one by one make the same body as the whole text would. */
static int body_prepare(const char *text, bool holes, bool head,
			struct message_body **out)
{
	struct message_body *b = calloc(1, sizeof(*b));
	size_t len = strlen(text), start = 0, pos = 0;
	bool run_hole = false;
	int ret = 0;

	if (!b)
		return -ENOMEM;
	b->seven_bit = true;
	while (pos < len && !ret) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) + 1 : len;
		bool hole = holes && has_hole(text + pos, end - pos);

		if (pos > start && hole != run_hole) {
			ret = part_add(b, text + start, pos - start, run_hole);
			start = pos;
		}
		run_hole = hole;
		pos = end;
	}
	if (!ret && pos > start)
		ret = part_add(b, text + start, pos - start, run_hole);
	if (!ret && head && !b->seven_bit && b->n_parts > 0 &&
	    !b->parts[0].hole && b->parts[0].len >= 57) {
		struct buf enc;

		buf_init(&enc, BUF_MAX_TEXT);
		b->head = b->parts[0].len - b->parts[0].len % 57;
		ret = base64_lines(b->parts[0].text, b->head, &enc);
		if (!ret) {
			b->b64_len = enc.len;
			b->b64 = buf_take(&enc);
			if (!b->b64)
				ret = -ENOMEM;
		}
	}
	if (ret) {
		message_body_free(b);
		return ret;
	}
	*out = b;
	return 0;
}

int message_body_prepare(const char *text, struct message_body **out)
{
	if (CHECK_FAILS(text && out))
		return -EINVAL;
	return body_prepare(text, true, true, out);
}

/* Appends the raw lines of a hole part with hole i replaced by values[i]
 * ("" past n). */
static int hole_fill(const struct body_part *p, const char *const *values,
		     size_t n, struct buf *out)
{
	size_t i = 0, start = 0;
	int ret = 0;

	while (i < p->len && !ret) {
		size_t k;

		if (p->text[i] != MESSAGE_HOLE || i + 1 >= p->len ||
		    p->text[i + 1] < '0' || p->text[i + 1] > '9') {
			i++;
			continue;
		}
		k = (size_t)(p->text[i + 1] - '0');
		ret = buf_add(out, p->text + start, i - start);
		if (!ret && k < n && values[k])
			ret = buf_adds(out, values[k]);
		i += 2;
		start = i;
	}
	if (!ret)
		ret = buf_add(out, p->text + start, p->len - start);
	return ret;
}

static int build(const struct message_spec *spec, const struct message_body *b,
		 const char *const *values, size_t n, struct buf *out,
		 struct err *err)
{
	struct buf h, fills, raw, tail;
	size_t *at = NULL;
	bool seven_bit = b->seven_bit;
	int ret;

	buf_init(&h, BUF_MAX_TEXT);
	buf_init(&fills, BUF_MAX_TEXT);
	buf_init(&raw, BUF_MAX_TEXT);
	buf_init(&tail, BUF_MAX_TEXT);
	ret = spec_check(spec, err);
	if (ret)
		goto out;
	/* Each hole part filled in and flowed: fills[at[i]..at[i+1]). */
	at = calloc(b->n_parts + 1, sizeof(*at));
	if (!at) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < b->n_parts && !ret; i++) {
		at[i] = fills.len;
		if (!b->parts[i].hole)
			continue;
		buf_reset(&raw);
		ret = hole_fill(&b->parts[i], values, n, &raw);
		if (!ret)
			ret = flow_crlf(buf_str(&raw), raw.len, &seven_bit,
					&fills);
	}
	at[b->n_parts] = fills.len;
	if (!ret)
		ret = headers_write(spec, seven_bit, spec->readable, &h, err);
	if (!ret)
		ret = buf_adds(&h, "\r\n");
	if (ret)
		goto out;
	/* Everything is checked: only now touch the caller's buffer. */
	ret = buf_add(out, buf_str(&h), h.len);
	/* Not every server takes 8-bit data (RELIABILITY A12), so UTF-8
	 * goes as base64 of the CRLF text. (libetpan 1.9.4's
	 * quoted-printable writer doubles a space before a line break,
	 * which would break format=flowed.) */
	if (!ret && !seven_bit && !spec->readable)
		ret = buf_add(out, b->b64 ? b->b64 : "", b->b64_len);
	for (size_t i = 0; i < b->n_parts && !ret; i++) {
		const struct body_part *p = &b->parts[i];
		const char *t = p->hole ? fills.ptr + at[i] : p->text;
		size_t len = p->hole ? at[i + 1] - at[i] : p->len;

		if (seven_bit || spec->readable)
			ret = buf_add(out, t, len);
		else if (i == 0)
			ret = buf_add(&tail, t + b->head, len - b->head);
		else
			ret = buf_add(&tail, t, len);
	}
	if (!ret && !seven_bit && !spec->readable)
		ret = base64_lines(buf_str(&tail), tail.len, out);
out:
	if (ret == -ENOMEM || ret == -E2BIG)
		err_set(err, "message: %s building the message",
			ret == -ENOMEM ? "out of memory" : "size limit hit");
	free(at);
	buf_free(&h);
	buf_free(&fills);
	buf_free(&raw);
	buf_free(&tail);
	return ret;
}

int message_build_prepared(const struct message_spec *spec,
			   const struct message_body *b,
			   const char *const *values, size_t n, struct buf *out,
			   struct err *err)
{
	if (CHECK_FAILS(spec && b && out && (values || n == 0)))
		return -EINVAL;
	return build(spec, b, values, n, out, err);
}

int message_build(const struct message_spec *spec, struct buf *out,
		  struct err *err)
{
	struct message_body *b = NULL;
	int ret;

	if (CHECK_FAILS(spec && out))
		return -EINVAL;
	ret = spec_check(spec, err);
	if (!ret)
		ret = body_prepare(spec->body ? spec->body : "", false, false,
				   &b);
	if (ret == -ENOMEM || ret == -E2BIG)
		err_set(err, "message: %s building the message",
			ret == -ENOMEM ? "out of memory" : "size limit hit");
	if (!ret)
		ret = build(spec, b, NULL, 0, out, err);
	message_body_free(b);
	return ret;
}

/* ---- format=flowed ---- */

/* Copies text with CRLF, CR, NEL, U+2028 and U+2029 as LF, other C0
 * and C1 controls (but TAB) dropped, and invalid UTF-8 as U+FFFD. */
static int body_clean(const char *text, struct buf *out)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t len = strlen(text), i = 0;
	int ret = 0;

	while (i < len && !ret) {
		size_t run = i;
		uint32_t cp;
		size_t n;

		/* Printable ASCII, tabs and line feeds go as they are, a run
		 * at a time. */
		while (run < len && ((s[run] >= 0x20 && s[run] < 0x7f) ||
				     s[run] == '\n' || s[run] == '\t'))
			run++;
		if (run > i) {
			ret = buf_add(out, s + i, run - i);
			i = run;
			continue;
		}
		if (s[i] == '\r') {
			ret = buf_addc(out, '\n');
			i += (i + 1 < len && s[i + 1] == '\n') ? 2 : 1;
			continue;
		}
		n = text_utf8_decode(s + i, len - i, &cp);
		if (n == 0) {
			ret = buf_adds(out, "\xef\xbf\xbd");
			i++;
			continue;
		}
		if (cp == 0x85 || cp == 0x2028 || cp == 0x2029)
			ret = buf_addc(out, '\n');
		else if (cp == '\n' || cp == '\t' ||
			 (cp >= 0x20 && !(cp >= 0x7f && cp <= 0x9f)))
			ret = buf_add(out, s + i, n);
		i += n;
	}
	return ret;
}

static int flow_emit(const char *s, size_t len, struct buf *out)
{
	int ret = 0;

	/* Space-stuffing (RFC 3676 4.4): a decoder removes one leading
	 * space, so lines that begin like quotes, stuffing or an mbox
	 * separator get one. */
	if (len > 0 && (s[0] == ' ' || s[0] == '>' ||
			(len >= 5 && memcmp(s, "From ", 5) == 0)))
		ret = buf_addc(out, ' ');
	if (!ret)
		ret = buf_add(out, s, len);
	if (!ret)
		ret = buf_addc(out, '\n');
	return ret;
}

/* Wraps one line (no LF, no trailing spaces). A soft break is made after
 * the spaces that follow a word, so the line ends in a space and the
 * decoder joins it back exactly; the last line ends in a word, so the
 * original line break stays hard. */
static int flow_line(const char *s, size_t len, size_t width, struct buf *out)
{
	size_t pos = 0;
	int ret;

	while (pos < len) {
		size_t q = pos, w = 0, brk = SIZE_MAX, end;

		while (q < len && s[q] == ' ') {
			q++;
			w++;
		}
		for (;;) {
			size_t we = q, wcp = 0, se;

			while (we < len && s[we] != ' ') {
				we += utf8_len(s + we, len - we);
				wcp++;
			}
			if (brk != SIZE_MAX &&
			    (w + wcp > width || we - pos > FLOW_LINE_OCTETS))
				break;
			w += wcp;
			if (we == len) {
				brk = len;
				break;
			}
			se = we;
			while (se < len && s[se] == ' ')
				se++;
			w += se - we;
			brk = se;
			q = se;
		}
		end = brk;
		if (end - pos > FLOW_MAX_OCTETS) {
			/* One word (or run of spaces) too long for any line:
			 * cut it, between characters. */
			end = pos + FLOW_MAX_OCTETS;
			while (end > pos &&
			       ((unsigned char)s[end] & 0xc0) == 0x80)
				end--;
		}
		ret = flow_emit(s + pos, end - pos, out);
		if (ret)
			return ret;
		pos = end;
	}
	return 0;
}

/* A reference line, "[12] https://...": one label and one URL. It stays
 * whole however long the URL is, so that a reader can follow it
 * (DESIGN.md: a URL is never broken, nor parted from its number). */
static bool is_reference(const char *s, size_t len)
{
	size_t i = 1;

	if (len < 4 || s[0] != '[' || len > FLOW_MAX_OCTETS)
		return false;
	while (i < len && s[i] >= '0' && s[i] <= '9')
		i++;
	if (i == 1 || i + 2 >= len || s[i] != ']' || s[i + 1] != ' ')
		return false;
	return memchr(s + i + 2, ' ', len - i - 2) == NULL;
}

int message_flow(const char *text, size_t width, struct buf *out)
{
	struct buf b;
	const char *s;
	size_t start = 0;
	int ret;

	if (CHECK_FAILS(text && out && width >= 10))
		return -EINVAL;
	buf_init(&b, BUF_MAX_TEXT);
	ret = body_clean(text, &b);
	if (ret)
		return ret;
	s = buf_str(&b);
	while (start < b.len && !ret) {
		const char *nl = memchr(s + start, '\n', b.len - start);
		size_t end = nl ? (size_t)(nl - s) : b.len, e = end;

		while (e > start && (s[e - 1] == ' ' || s[e - 1] == '\t'))
			e--;
		if (e - start == 2 && s[start] == '-' && s[start + 1] == '-' &&
		    e < end)
			ret = buf_adds(out, "-- \n"); /* signature separator */
		else if (e == start)
			ret = buf_addc(out, '\n');
		else if (is_reference(s + start, e - start)) {
			ret = buf_add(out, s + start, e - start);
			if (!ret)
				ret = buf_addc(out, '\n');
		} else if (e - start <= width)
			/* Fits as it is (bytes >= characters): one line. */
			ret = flow_emit(s + start, e - start, out);
		else
			ret = flow_line(s + start, e - start, width, out);
		start = end + 1;
	}
	buf_free(&b);
	return ret;
}

/* ---- List-Id ---- */

/* Lower-cases s into out keeping [a-z0-9] (and '.' when dots), turning
 * every other run into one '-', with no '-' or '.' at either end or
 * around a dot. */
static int label_reduce(const char *s, size_t len, bool dots, struct buf *out)
{
	size_t start = out->len;
	int ret = 0;

	for (size_t i = 0; i < len && !ret; i++) {
		char c = s[i],
		     last = out->len > start ? out->ptr[out->len - 1] : '.';

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
			ret = buf_addc(out, c);
		} else if (dots && c == '.') {
			if (last == '-') {
				out->len--;
				last = out->len > start ? out->ptr[out->len - 1]
							: '.';
			}
			if (last != '.')
				ret = buf_addc(out, '.');
		} else if (last != '-' && last != '.') {
			ret = buf_addc(out, '-');
		}
	}
	if (ret)
		return ret;
	while (out->len > start &&
	       (out->ptr[out->len - 1] == '-' || out->ptr[out->len - 1] == '.'))
		out->len--;
	if (out->ptr)
		out->ptr[out->len] = '\0';
	return 0;
}

int message_list_id(const char *title, const char *name, const char *address,
		    struct buf *out)
{
	struct buf id, t, v;
	const char *at;
	size_t dstart, nlen;
	int ret;

	if (CHECK_FAILS(name && address && out))
		return -EINVAL;
	at = strrchr(address, '@');
	if (!at || !at[1])
		return -EINVAL;
	buf_init(&id, BUF_MAX_LINE);
	buf_init(&t, BUF_MAX_LINE);
	buf_init(&v, BUF_MAX_LINE);
	ret = label_reduce(name, strlen(name), false, &id);
	if (ret)
		goto out;
	if (id.len == 0) {
		ret = buf_adds(&id, "list");
		if (ret)
			goto out;
	}
	nlen = id.len;
	ret = buf_addc(&id, '.');
	if (ret)
		goto out;
	dstart = id.len;
	ret = label_reduce(at + 1, strlen(at + 1), true, &id);
	if (ret)
		goto out;
	if (id.len == dstart || id.len - dstart > LIST_ID_MAX - 2) {
		ret = -EINVAL;
		goto out;
	}
	if (id.len > LIST_ID_MAX) {
		/* Shorten the name part, which the admin chose. */
		size_t cut = nlen - (id.len - LIST_ID_MAX);

		while (cut > 1 && id.ptr[cut - 1] == '-')
			cut--;
		memmove(id.ptr + cut, id.ptr + nlen, id.len - nlen + 1);
		id.len -= nlen - cut;
	}

	ret = clean_trim(title ? title : "", &t);
	if (ret)
		goto out;
	if (t.len > LIST_TITLE_MAX) {
		size_t cut = LIST_TITLE_MAX;

		while (cut > 0 && ((unsigned char)t.ptr[cut] & 0xc0) == 0x80)
			cut--;
		t.len = cut;
		t.ptr[cut] = '\0';
		buf_rtrim(&t, " ");
	}
	if (t.len > 0) {
		ret = phrase_write(buf_str(&t), t.len, FOLD_AT - 9, true, &v);
		if (!ret)
			ret = buf_addc(&v, ' ');
	}
	if (!ret)
		ret = buf_printf(&v, "<%s>", buf_str(&id));
	if (!ret)
		ret = buf_add(out, buf_str(&v), v.len);
out:
	buf_free(&id);
	buf_free(&t);
	buf_free(&v);
	return ret;
}
