/*
 * feed: RSS 0.9x/1.0/2.0 and Atom 0.3/1.0 bytes to struct feed. A pre-pass
 * (prep_*) fixes what strict XML refuses: HTML entities become character
 * references, declared entities are expanded under a budget (external ones
 * never read), bad UTF-8 becomes U+FFFD. Then libxml2's xmlReader streams
 * it: no DTD, no network, an entity loader that refuses all. Any thread.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <libxml/HTMLparser.h>
#include <libxml/parser.h>
#include <libxml/uri.h>
#include <libxml/xmlreader.h>

#include "buf.h"
#include "feed.h"
#include "text.h"
#include "html2text.h"

#define FEED_DEFAULT_MAX_ITEMS 10000
/* Bytes of one field as captured from the XML (HTML source), and of one
 * field once rendered as text. Longer fields are cut, not refused. */
#define FEED_MAX_FIELD (8u << 20)
#define FEED_MAX_TEXT (4u << 20)
#define FEED_MAX_CATEGORIES 64
#define FEED_MAX_ENTITIES 256
/* Expanding declared entities may add at most the input size plus this. */
#define FEED_EXPAND_SLACK (1u << 20)

#define NS_URI_RSS10 "http://purl.org/rss/1.0/"
#define NS_URI_RSS090 "http://my.netscape.com/rdf/simple/0.9/"
#define NS_URI_RSS20 "http://backend.userland.com/rss2"
#define NS_URI_ATOM10 "http://www.w3.org/2005/Atom"
#define NS_URI_ATOM03 "http://purl.org/atom/ns#"
#define NS_URI_DC "http://purl.org/dc/elements/1.1/"
#define NS_URI_CONTENT "http://purl.org/rss/1.0/modules/content/"
#define NS_URI_RDF "http://www.w3.org/1999/02/22-rdf-syntax-ns#"

static const char utf8_replacement[] = "\xEF\xBF\xBD";

/* ------------------------------------------------------------------ */
/* UTF-8 and plain text                                                */

/* Bytes of collapsible whitespace at s (ASCII blanks and U+00A0). */
static size_t blank_len(const unsigned char *s, size_t n)
{
	if (s[0] == ' ' || s[0] == '\t' || s[0] == '\n' || s[0] == '\r' ||
	    s[0] == '\f' || s[0] == '\v')
		return 1;
	if (n >= 2 && s[0] == 0xC2 && s[1] == 0xA0)
		return 2;
	return 0;
}

/* Bytes of a character with no place in plain text: soft hyphen U+00AD
 * and zero-width space U+200B (as in html2text). */
static size_t invisible_len(const unsigned char *s, size_t n)
{
	if (n >= 2 && s[0] == 0xC2 && s[1] == 0xAD)
		return 2;
	if (n >= 3 && s[0] == 0xE2 && s[1] == 0x80 && s[2] == 0x8B)
		return 3;
	return 0;
}

/* Plain text to valid UTF-8 with whitespace runs collapsed and the ends
 * trimmed. block keeps line breaks (at most one blank line in a row);
 * otherwise everything becomes one line. Control characters go. The
 * result is malloc()ed into *out (never NULL on success). */
static int plain_normalise(const char *text, size_t len, bool block, char **out)
{
	const unsigned char *s = (const unsigned char *)text;
	struct buf b;
	bool space = false, started = false;
	size_t i = 0, n;
	int nl = 0, ret = 0;

	buf_init(&b, len > SIZE_MAX / 3 - 16 ? SIZE_MAX : len * 3 + 16);
	while (i < len && !ret) {
		if (block && (s[i] == '\n' || s[i] == '\r')) {
			/* CRLF counts once */
			if (!(s[i] == '\r' && i + 1 < len && s[i + 1] == '\n'))
				nl++;
			space = false;
			i++;
			continue;
		}
		n = blank_len(s + i, len - i);
		if (n > 0) {
			space = true;
			i += n;
			continue;
		}
		if (s[i] < 0x20 || s[i] == 0x7F) {
			i++;
			continue;
		}
		n = invisible_len(s + i, len - i);
		if (n > 0) {
			i += n;
			continue;
		}
		if (started) {
			if (nl > 0)
				ret = buf_add(&b, "\n\n", nl > 1 ? 2 : 1);
			else if (space)
				ret = buf_addc(&b, ' ');
		}
		nl = 0;
		space = false;
		started = true;
		n = text_xml_char_len(s + i, len - i);
		if (!ret && n == 0) {
			ret = buf_add(&b, utf8_replacement, 3);
			n = 1;
		} else if (!ret) {
			ret = buf_add(&b, s + i, n);
		}
		i += n;
	}
	if (ret)
		return ret;
	*out = buf_take(&b);
	return *out ? 0 : -ENOMEM;
}

static int plain_line(const char *text, size_t len, char **out)
{
	return plain_normalise(text, len, false, out);
}

/* HTML source to plain text. A field too long to render is dropped
 * (*out = NULL), not an error. */
static int plain_from_html(const char *html, size_t len, bool line, char **out)
{
	struct buf b;
	int ret;

	*out = NULL;
	buf_init(&b, FEED_MAX_TEXT);
	ret = html2text(html, len, &b);
	if (ret == -E2BIG)
		return 0;
	if (ret)
		return ret;
	/* html2text's text is already valid, trimmed UTF-8: keep its
	 * paragraphs and list indentation unless one line is wanted. */
	if (line) {
		ret = plain_line(buf_str(&b), b.len, out);
		buf_free(&b);
		return ret;
	}
	*out = buf_take(&b);
	return *out ? 0 : -ENOMEM;
}

/* ------------------------------------------------------------------ */
/* Pre-pass                                                            */

struct prep_entity {
	const unsigned char *name;
	size_t name_len;
	const unsigned char *value;
	size_t value_len;
	bool external;
	bool complex; /* refers to other entities or holds markup */
};

struct prep {
	const unsigned char *s;
	size_t len;
	size_t i;
	bool utf8; /* sanitise as UTF-8 (else copy bytes >= 0x80 as is) */
	struct buf out;
	struct prep_entity ents[FEED_MAX_ENTITIES];
	size_t n_ents;
	size_t expanded;
	unsigned long line;
	struct err *err;
};

/* Windows-1252 for &#128; to &#159;: old feeds mean these, not the C1
 * controls. */
static const uint16_t prep_cp1252[32] = {
	0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD,
	0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178,
};

static bool prep_starts(const struct prep *p, const char *lit)
{
	size_t n = strlen(lit);

	return p->len - p->i >= n && memcmp(p->s + p->i, lit, n) == 0;
}

/* Copies one character from s (left bytes) to out and returns the bytes
 * consumed. C0 controls other than tab, LF and CR are dropped (XML
 * forbids them); in UTF-8 mode invalid sequences become U+FFFD. */
static size_t prep_put(struct buf *out, bool utf8, const unsigned char *s,
		       size_t left, int *ret)
{
	size_t n;

	if (s[0] < 0x80 || !utf8) {
		if (s[0] >= 0x20 || s[0] == '\t' || s[0] == '\n' ||
		    s[0] == '\r')
			*ret = buf_addc(out, (char)s[0]);
		return 1;
	}
	n = text_xml_char_len(s, left);
	if (n == 0) {
		*ret = buf_add(out, utf8_replacement, 3);
		return 1;
	}
	*ret = buf_add(out, s, n);
	return n;
}

static int prep_char(struct prep *p)
{
	int ret = 0;

	if (p->s[p->i] == '\n')
		p->line++;
	p->i += prep_put(&p->out, p->utf8, p->s + p->i, p->len - p->i, &ret);
	return ret;
}

/* Copies the ASCII literal open, then everything up to and including
 * close (or to the end of the input). */
static int prep_through(struct prep *p, const char *open, const char *close)
{
	int ret = buf_adds(&p->out, open);

	p->i += strlen(open);
	while (!ret && p->i < p->len) {
		if (prep_starts(p, close)) {
			p->i += strlen(close);
			return buf_adds(&p->out, close);
		}
		ret = prep_char(p);
	}
	return ret;
}

static bool prep_name_start(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
	       c == ':' || c >= 0x80;
}

static bool prep_name_char(unsigned char c)
{
	return prep_name_start(c) || (c >= '0' && c <= '9') || c == '-' ||
	       c == '.';
}

static bool prep_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Length of the XML name at s, 0 if none. */
static size_t prep_name_len(const unsigned char *s, size_t left)
{
	size_t n = 0;

	if (left == 0 || !prep_name_start(s[0]))
		return 0;
	while (n < left && prep_name_char(s[n]))
		n++;
	return n;
}

static bool prep_predefined(const unsigned char *name, size_t n)
{
	static const char *const names[] = {"amp", "lt", "gt", "quot", "apos"};
	size_t k;

	for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
		if (strlen(names[k]) == n && memcmp(names[k], name, n) == 0)
			return true;
	return false;
}

/* Length of the character reference "&#...;" at s, 0 if malformed;
 * its value goes to *cp (clamped, so that huge values stay invalid). */
static size_t prep_charref_len(const unsigned char *s, size_t left,
			       uint32_t *cp)
{
	size_t i = 2, digits = 0;
	bool hex = left > 2 && (s[2] == 'x' || s[2] == 'X');
	uint32_t v = 0, d;

	if (hex)
		i++;
	for (; i < left; i++, digits++) {
		if (s[i] >= '0' && s[i] <= '9')
			d = s[i] - '0';
		else if (hex && s[i] >= 'a' && s[i] <= 'f')
			d = s[i] - 'a' + 10;
		else if (hex && s[i] >= 'A' && s[i] <= 'F')
			d = s[i] - 'A' + 10;
		else
			break;
		v = v * (hex ? 16 : 10) + d;
		if (v > 0x10FFFF)
			v = 0x110000;
	}
	if (digits == 0 || i >= left || s[i] != ';')
		return 0;
	*cp = v;
	return i + 1;
}

static bool prep_xml_char(uint32_t cp)
{
	return cp == 0x9 || cp == 0xA || cp == 0xD ||
	       (cp >= 0x20 && cp <= 0xD7FF) || (cp >= 0xE000 && cp <= 0xFFFD) ||
	       (cp >= 0x10000 && cp <= 0x10FFFF);
}

static int prep_charref(struct prep *p)
{
	uint32_t cp = 0, fixed;
	size_t n = prep_charref_len(p->s + p->i, p->len - p->i, &cp);

	if (n == 0) {
		p->i++;
		return buf_adds(&p->out, "&amp;");
	}
	fixed = cp;
	if (cp >= 0x80 && cp <= 0x9F)
		fixed = prep_cp1252[cp - 0x80];
	else if (!prep_xml_char(cp))
		fixed = 0xFFFD;
	if (fixed == cp) {
		p->i += n;
		return buf_add(&p->out, p->s + p->i - n, n);
	}
	p->i += n;
	return buf_printf(&p->out, "&#%u;", (unsigned)fixed);
}

static const struct prep_entity *prep_find(const struct prep *p,
					   const unsigned char *name, size_t n)
{
	size_t k;

	/* The first declaration binds (XML 1.0 section 4.2). */
	for (k = 0; k < p->n_ents; k++)
		if (p->ents[k].name_len == n &&
		    memcmp(p->ents[k].name, name, n) == 0)
			return &p->ents[k];
	return NULL;
}

/* A replacement text we expand ourselves may hold character references
 * and the five predefined ones; anything else (other entities, markup,
 * parameter entities) is refused, which is what stops entity bombs. */
static bool prep_value_complex(const unsigned char *v, size_t len)
{
	uint32_t cp;
	size_t i, n;

	for (i = 0; i < len; i++) {
		if (v[i] == '<' || v[i] == '%')
			return true;
		if (v[i] != '&')
			continue;
		if (i + 1 < len && v[i + 1] == '#') {
			if (prep_charref_len(v + i, len - i, &cp) == 0)
				return true;
			continue;
		}
		n = prep_name_len(v + i + 1, len - i - 1);
		if (n == 0 || i + 1 + n >= len || v[i + 1 + n] != ';' ||
		    !prep_predefined(v + i + 1, n))
			return true;
	}
	return false;
}

static int prep_expand(struct prep *p, const struct prep_entity *ent)
{
	size_t i = 0;
	int ret = 0;

	if (ent->complex) {
		err_set(p->err,
			"line %lu: entity '%.*s' refers to other entities or "
			"holds markup; such documents are refused",
			p->line, (int)(ent->name_len > 64 ? 64 : ent->name_len),
			(const char *)ent->name);
		return -EPROTO;
	}
	p->expanded += ent->value_len;
	if (p->expanded > p->len + FEED_EXPAND_SLACK) {
		err_set(p->err,
			"line %lu: entity expansion exceeds %zu bytes; "
			"refused",
			p->line, p->len + FEED_EXPAND_SLACK);
		return -EPROTO;
	}
	while (!ret && i < ent->value_len)
		i += prep_put(&p->out, p->utf8, ent->value + i,
			      ent->value_len - i, &ret);
	return ret;
}

/* At '&' in content or an attribute value. Undeclared names are what
 * real feeds get wrong most (HTML's &nbsp; &eacute; &rsquo; without a
 * DTD), and a stray '&' ("Q&A") comes next: both are repaired here
 * instead of failing the whole feed. */
static int prep_ref(struct prep *p)
{
	const unsigned char *s = p->s + p->i;
	size_t left = p->len - p->i, n;
	const struct prep_entity *ent;
	const htmlEntityDesc *html;
	char name[33];

	if (left > 1 && s[1] == '#')
		return prep_charref(p);
	n = prep_name_len(s + 1, left - 1);
	if (n == 0 || n + 1 >= left || s[n + 1] != ';') {
		p->i++;
		return buf_adds(&p->out, "&amp;");
	}
	if (prep_predefined(s + 1, n)) {
		p->i += n + 2;
		return buf_add(&p->out, s, n + 2);
	}
	ent = prep_find(p, s + 1, n);
	if (ent) {
		p->i += n + 2;
		/* An external entity is never read: it stands for nothing. */
		return ent->external ? 0 : prep_expand(p, ent);
	}
	html = NULL;
	if (n < sizeof(name)) {
		memcpy(name, s + 1, n);
		name[n] = '\0';
		html = htmlEntityLookup(BAD_CAST name);
	}
	if (html) {
		p->i += n + 2;
		return buf_printf(&p->out, "&#%u;", html->value);
	}
	/* Unknown: keep the text as written. */
	p->i++;
	return buf_adds(&p->out, "&amp;");
}

/* Records the <!ENTITY ...> declaration at p->i (in the internal subset)
 * without consuming it. Parameter entities are not recorded. */
static void prep_entity_decl(struct prep *p)
{
	const unsigned char *s = p->s + p->i;
	size_t left = p->len - p->i, j = 8, n, start;
	struct prep_entity *ent;
	unsigned char quote;

	if (p->n_ents >= FEED_MAX_ENTITIES || j >= left || !prep_space(s[j]))
		return;
	while (j < left && prep_space(s[j]))
		j++;
	if (j >= left || s[j] == '%')
		return;
	n = prep_name_len(s + j, left - j);
	if (n == 0)
		return;
	ent = &p->ents[p->n_ents];
	memset(ent, 0, sizeof(*ent));
	ent->name = s + j;
	ent->name_len = n;
	j += n;
	while (j < left && prep_space(s[j]))
		j++;
	if (j >= left)
		return;
	if (s[j] == '"' || s[j] == '\'') {
		quote = s[j];
		start = ++j;
		while (j < left && s[j] != quote)
			j++;
		if (j >= left)
			return;
		ent->value = s + start;
		ent->value_len = j - start;
		ent->complex = prep_value_complex(ent->value, ent->value_len);
	} else {
		ent->external = true;
	}
	p->n_ents++;
}

/* Copies <!DOCTYPE ...> unchanged, noting the entities it declares. */
static int prep_doctype(struct prep *p)
{
	unsigned char quote = 0, c;
	bool subset = false;
	int ret = buf_adds(&p->out, "<!DOCTYPE");

	p->i += 9;
	while (!ret && p->i < p->len) {
		c = p->s[p->i];
		if (quote) {
			if (c == quote)
				quote = 0;
		} else if (c == '"' || c == '\'') {
			quote = c;
		} else if (subset && prep_starts(p, "<!--")) {
			ret = prep_through(p, "<!--", "-->");
			continue;
		} else if (subset && prep_starts(p, "<?")) {
			ret = prep_through(p, "<?", "?>");
			continue;
		} else if (subset && prep_starts(p, "<!ENTITY")) {
			prep_entity_decl(p);
		} else if (subset && c == ']') {
			subset = false;
		} else if (!subset && c == '[') {
			subset = true;
		} else if (!subset && c == '>') {
			return prep_char(p);
		}
		ret = prep_char(p);
	}
	return ret;
}

static int prep_markup(struct prep *p)
{
	if (prep_starts(p, "<!--"))
		return prep_through(p, "<!--", "-->");
	if (prep_starts(p, "<![CDATA["))
		return prep_through(p, "<![CDATA[", "]]>");
	if (prep_starts(p, "<?"))
		return prep_through(p, "<?", "?>");
	if (prep_starts(p, "<!DOCTYPE"))
		return prep_doctype(p);
	return prep_char(p);
}

/* UTF-16 and UTF-32 documents are left to libxml2 untouched. */
static bool prep_ascii_compatible(const unsigned char *s, size_t len)
{
	if (len >= 2 &&
	    ((s[0] == 0xFE && s[1] == 0xFF) || (s[0] == 0xFF && s[1] == 0xFE)))
		return false;
	return !(len >= 2 && (s[0] == 0 || s[1] == 0));
}

/* True unless the XML declaration names an encoding other than UTF-8. */
static bool prep_declared_utf8(const unsigned char *s, size_t len)
{
	size_t i, end, start;
	unsigned char quote;

	if (len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
		return true;
	if (len < 5 || memcmp(s, "<?xml", 5) != 0)
		return true;
	for (end = 5; end + 1 < len && end < 512; end++)
		if (s[end] == '?' && s[end + 1] == '>')
			break;
	for (i = 5; i + 8 <= end; i++)
		if (memcmp(s + i, "encoding", 8) == 0)
			break;
	if (i + 8 > end)
		return true;
	i += 8;
	while (i < end && (prep_space(s[i]) || s[i] == '='))
		i++;
	if (i >= end || (s[i] != '"' && s[i] != '\''))
		return true;
	quote = s[i];
	start = ++i;
	while (i < end && s[i] != quote)
		i++;
	return (i - start == 5 &&
		strncasecmp((const char *)s + start, "utf-8", 5) == 0) ||
	       (i - start == 4 &&
		strncasecmp((const char *)s + start, "utf8", 4) == 0);
}

static int prep_run(struct prep *p)
{
	int ret = 0;

	if (!prep_ascii_compatible(p->s, p->len))
		return buf_add(&p->out, p->s, p->len);
	p->utf8 = prep_declared_utf8(p->s, p->len);
	while (!ret && p->i < p->len) {
		if (p->s[p->i] == '<')
			ret = prep_markup(p);
		else if (p->s[p->i] == '&')
			ret = prep_ref(p);
		else
			ret = prep_char(p);
	}
	return ret;
}

/* ------------------------------------------------------------------ */
/* Streaming parse                                                     */

enum fp_ns {
	NS_NONE,
	NS_RSS,
	NS_ATOM,
	NS_DC,
	NS_CONTENT,
	NS_RDF,
	NS_OTHER,
};

enum fp_tag {
	TAG_UNKNOWN,
	TAG_RSS_CHANNEL,
	TAG_RSS_ITEM,
	TAG_RSS_TITLE,
	TAG_RSS_LINK,
	TAG_RSS_GUID,
	TAG_RSS_DESCRIPTION,
	TAG_RSS_AUTHOR,
	TAG_RSS_PUBDATE,
	TAG_RSS_CATEGORY,
	TAG_DC_CREATOR,
	TAG_DC_DATE,
	TAG_DC_SUBJECT,
	TAG_CONTENT_ENCODED,
	TAG_ATOM_ENTRY,
	TAG_ATOM_ID,
	TAG_ATOM_LINK,
	TAG_ATOM_TITLE,
	TAG_ATOM_SUMMARY,
	TAG_ATOM_CONTENT,
	TAG_ATOM_PUBLISHED,
	TAG_ATOM_ISSUED,
	TAG_ATOM_CREATED,
	TAG_ATOM_UPDATED,
	TAG_ATOM_MODIFIED,
	TAG_ATOM_AUTHOR,
	TAG_ATOM_NAME,
	TAG_ATOM_EMAIL,
	TAG_ATOM_CATEGORY,
	TAG__COUNT,
};

struct fp_tag_name {
	enum fp_ns ns;
	const char *name;
	enum fp_tag tag;
};

static const struct fp_tag_name fp_tag_names[] = {
	{NS_RSS, "channel", TAG_RSS_CHANNEL},
	{NS_RSS, "item", TAG_RSS_ITEM},
	{NS_RSS, "title", TAG_RSS_TITLE},
	{NS_RSS, "link", TAG_RSS_LINK},
	{NS_RSS, "guid", TAG_RSS_GUID},
	{NS_RSS, "description", TAG_RSS_DESCRIPTION},
	{NS_RSS, "author", TAG_RSS_AUTHOR},
	{NS_RSS, "pubDate", TAG_RSS_PUBDATE},
	{NS_RSS, "category", TAG_RSS_CATEGORY},
	/* Prefixes used without declaring them: libxml2 complains but
	 * keeps the element, with the prefix in its name. */
	{NS_RSS, "dc:creator", TAG_DC_CREATOR},
	{NS_RSS, "dc:date", TAG_DC_DATE},
	{NS_RSS, "dc:subject", TAG_DC_SUBJECT},
	{NS_RSS, "content:encoded", TAG_CONTENT_ENCODED},
	{NS_DC, "creator", TAG_DC_CREATOR},
	{NS_DC, "date", TAG_DC_DATE},
	{NS_DC, "subject", TAG_DC_SUBJECT},
	{NS_CONTENT, "encoded", TAG_CONTENT_ENCODED},
	{NS_ATOM, "entry", TAG_ATOM_ENTRY},
	{NS_ATOM, "id", TAG_ATOM_ID},
	{NS_ATOM, "link", TAG_ATOM_LINK},
	{NS_ATOM, "title", TAG_ATOM_TITLE},
	{NS_ATOM, "summary", TAG_ATOM_SUMMARY},
	{NS_ATOM, "content", TAG_ATOM_CONTENT},
	{NS_ATOM, "published", TAG_ATOM_PUBLISHED},
	{NS_ATOM, "issued", TAG_ATOM_ISSUED},
	{NS_ATOM, "created", TAG_ATOM_CREATED},
	{NS_ATOM, "updated", TAG_ATOM_UPDATED},
	{NS_ATOM, "modified", TAG_ATOM_MODIFIED},
	{NS_ATOM, "author", TAG_ATOM_AUTHOR},
	{NS_ATOM, "name", TAG_ATOM_NAME},
	{NS_ATOM, "email", TAG_ATOM_EMAIL},
	{NS_ATOM, "category", TAG_ATOM_CATEGORY},
};

enum fp_field {
	F_ID,
	F_LINK,
	F_TITLE,
	F_AUTHOR,
	F_SUMMARY,
	F_CONTENT,
	F_PUBLISHED,
	F_UPDATED,
	F_CATEGORY,
	F__COUNT,
};

enum fp_kind {
	K_NONE,
	K_LINE,	     /* plain text, one line */
	K_URL,	     /* one line, resolved against the base URI */
	K_GUID,	     /* id; a permalink also serves as link */
	K_RSSAUTHOR, /* "jo@example.org (Jo Bloggs)" */
	K_HTML,	     /* HTML source as text */
	K_ATOMTEXT,  /* Atom text construct: type= says text/html/xhtml */
	K_DATE,
	K_ATOMLINK, /* attributes rel and href */
	K_ATOMCAT,  /* attribute term */
	K_AUTHOR,   /* Atom person construct: name and email inside */
};

/* A field is only overwritten by a tag of higher prio (sfeed's rule);
 * among equals the first wins. */
struct fp_rule {
	enum fp_field field;
	int prio;
	enum fp_kind kind;
};

static const struct fp_rule fp_rules[TAG__COUNT] = {
	[TAG_RSS_TITLE] = {F_TITLE, 1, K_LINE},
	[TAG_RSS_LINK] = {F_LINK, 2, K_URL},
	[TAG_RSS_GUID] = {F_ID, 2, K_GUID},
	[TAG_RSS_DESCRIPTION] = {F_SUMMARY, 1, K_HTML},
	[TAG_RSS_AUTHOR] = {F_AUTHOR, 2, K_RSSAUTHOR},
	[TAG_RSS_PUBDATE] = {F_PUBLISHED, 3, K_DATE},
	[TAG_RSS_CATEGORY] = {F_CATEGORY, 1, K_LINE},
	[TAG_DC_CREATOR] = {F_AUTHOR, 3, K_LINE},
	[TAG_DC_DATE] = {F_PUBLISHED, 2, K_DATE},
	[TAG_DC_SUBJECT] = {F_CATEGORY, 1, K_LINE},
	[TAG_CONTENT_ENCODED] = {F_CONTENT, 2, K_HTML},
	[TAG_ATOM_ID] = {F_ID, 3, K_LINE},
	[TAG_ATOM_LINK] = {F_LINK, 3, K_ATOMLINK},
	[TAG_ATOM_TITLE] = {F_TITLE, 2, K_ATOMTEXT},
	[TAG_ATOM_SUMMARY] = {F_SUMMARY, 2, K_ATOMTEXT},
	[TAG_ATOM_CONTENT] = {F_CONTENT, 2, K_ATOMTEXT},
	[TAG_ATOM_PUBLISHED] = {F_PUBLISHED, 3, K_DATE},
	[TAG_ATOM_ISSUED] = {F_PUBLISHED, 2, K_DATE},
	[TAG_ATOM_CREATED] = {F_PUBLISHED, 1, K_DATE},
	[TAG_ATOM_UPDATED] = {F_UPDATED, 2, K_DATE},
	[TAG_ATOM_MODIFIED] = {F_UPDATED, 1, K_DATE},
	[TAG_ATOM_AUTHOR] = {F_AUTHOR, 1, K_AUTHOR},
	[TAG_ATOM_NAME] = {F_AUTHOR, 3, K_LINE},
	[TAG_ATOM_EMAIL] = {F_AUTHOR, 1, K_LINE},
	[TAG_ATOM_CATEGORY] = {F_CATEGORY, 1, K_ATOMCAT},
};

enum fp_mode {
	MODE_TEXT,
	MODE_HTML,
	MODE_XHTML,
	MODE_SKIP,
};

/* One item (or the feed's own fields) being collected. */
struct fp_work {
	char *val[F__COUNT];
	int prio[F__COUNT];
	int64_t date[F__COUNT];
	char **cats;
	size_t n_cats;
};

struct fp {
	xmlTextReaderPtr r;
	const char *data; /* the caller's bytes, for messages */
	size_t len;
	struct feed *feed;
	size_t max_items;
	size_t cap_items;
	bool atom;
	bool atom_bare; /* Atom root without a namespace */
	int chan_depth; /* element whose children are feed fields, or -1 */
	int item_depth;
	int author_depth;
	struct fp_work *author_work;
	struct fp_work meta;
	struct fp_work item;
	/* the text field being captured, if cap_depth >= 0 */
	int cap_depth;
	enum fp_tag cap_tag;
	enum fp_mode cap_mode;
	struct fp_work *cap_work;
	bool cap_markup;    /* raw child elements seen: escape text */
	bool cap_permalink; /* guid isPermaLink is not "false" */
	xmlChar *cap_base;
	struct buf cap;
	/* first error libxml2 reported, fatal ones preferred */
	bool broken;
	char root[72]; /* the root element's name, for messages */
	int err_level;
	int err_line;
	char err_msg[256];
};

static void fp_work_clear(struct fp_work *w)
{
	size_t k;

	for (k = 0; k < F__COUNT; k++)
		free(w->val[k]);
	for (k = 0; k < w->n_cats; k++)
		free(w->cats[k]);
	free(w->cats);
	memset(w, 0, sizeof(*w));
}

/* Takes ownership of val (may be NULL). Empty text counts as missing. */
static void fp_set(struct fp_work *w, enum fp_field f, int prio, char *val)
{
	if (!val || !*val || (w->val[f] && w->prio[f] >= prio)) {
		free(val);
		return;
	}
	free(w->val[f]);
	w->val[f] = val;
	w->prio[f] = prio;
}

static int fp_add_category(struct fp_work *w, char *cat)
{
	char **cats;
	size_t k;

	if (!cat)
		return 0;
	for (k = 0; k < w->n_cats; k++)
		if (strcmp(w->cats[k], cat) == 0)
			break;
	if (!*cat || k < w->n_cats || w->n_cats >= FEED_MAX_CATEGORIES) {
		free(cat);
		return 0;
	}
	cats = realloc(w->cats, (w->n_cats + 1) * sizeof(*cats));
	if (!cats) {
		free(cat);
		return -ENOMEM;
	}
	w->cats = cats;
	w->cats[w->n_cats++] = cat;
	return 0;
}

static void fp_error(void *arg, xmlErrorPtr e)
{
	struct fp *p = arg;
	size_t n;
	char *c;

	if (!e || e->level < XML_ERR_ERROR || p->err_level >= (int)e->level)
		return;
	p->err_level = (int)e->level;
	p->err_line = e->line;
	snprintf(p->err_msg, sizeof(p->err_msg), "%s",
		 e->message ? e->message : "unknown error");
	for (c = p->err_msg; *c; c++)
		if ((unsigned char)*c < 0x20)
			*c = ' ';
	n = strlen(p->err_msg);
	while (n > 0 && p->err_msg[n - 1] == ' ')
		p->err_msg[--n] = '\0';
}

static enum fp_ns fp_ns_of(const struct fp *p, const char *uri)
{
	if (!uri || !*uri) {
		if (p->atom)
			return p->atom_bare ? NS_ATOM : NS_NONE;
		return NS_RSS;
	}
	if (!strcmp(uri, NS_URI_RSS10) || !strcmp(uri, NS_URI_RSS090) ||
	    !strcmp(uri, NS_URI_RSS20))
		return NS_RSS;
	if (!strcmp(uri, NS_URI_ATOM10) || !strcmp(uri, NS_URI_ATOM03))
		return NS_ATOM;
	if (!strcmp(uri, NS_URI_DC))
		return NS_DC;
	if (!strcmp(uri, NS_URI_CONTENT))
		return NS_CONTENT;
	if (!strcmp(uri, NS_URI_RDF))
		return NS_RDF;
	return NS_OTHER;
}

static enum fp_tag fp_tag_of(const struct fp *p)
{
	const char *local = (const char *)xmlTextReaderConstLocalName(p->r);
	const char *uri = (const char *)xmlTextReaderConstNamespaceUri(p->r);
	enum fp_ns ns = fp_ns_of(p, uri);
	size_t k;

	if (!local)
		return TAG_UNKNOWN;
	for (k = 0; k < sizeof(fp_tag_names) / sizeof(fp_tag_names[0]); k++)
		if (fp_tag_names[k].ns == ns &&
		    !strcmp(fp_tag_names[k].name, local))
			return fp_tag_names[k].tag;
	return TAG_UNKNOWN;
}

static bool fp_attr_is(const xmlChar *v, const char *lit)
{
	return v && !xmlStrcasecmp(v, (const xmlChar *)lit);
}

/* link resolved against base (xml:base chain, else the feed's URL). On
 * any doubt the link is kept as written. */
static char *fp_resolve(const char *link, const xmlChar *base)
{
	xmlChar *abs;
	char *ret;

	if (!base || !*link)
		return strdup(link);
	abs = xmlBuildURI((const xmlChar *)link, base);
	if (!abs)
		return strdup(link);
	ret = strdup((const char *)abs);
	xmlFree(abs);
	return ret;
}

/* Skips from *i past the first occurrence of lit (or to the end),
 * counting lines. */
static void fp_skip_past(const char *d, size_t len, size_t *i, const char *lit,
			 int *line)
{
	size_t n = strlen(lit);

	while (*i < len) {
		if (len - *i >= n && !memcmp(d + *i, lit, n)) {
			*i += n;
			return;
		}
		if (d[*i] == '\n')
			(*line)++;
		(*i)++;
	}
}

/* Finds the first element's name in the raw bytes, past the XML
 * declaration, comments, PIs and a DOCTYPE: libxml2's reader parses in
 * chunks, so an HTML page can fail before its root is ever reported.
 * Returns the name's length (0 if none) and its line in *line. */
static size_t fp_first_element(const char *d, size_t len, size_t *at, int *line)
{
	size_t i = 0, n;

	*line = 1;
	if (len >= 3 && memcmp(d, "\xEF\xBB\xBF", 3) == 0)
		i = 3;
	while (i < len) {
		if (prep_space((unsigned char)d[i])) {
			if (d[i] == '\n')
				(*line)++;
			i++;
		} else if (len - i >= 4 && !memcmp(d + i, "<!--", 4)) {
			fp_skip_past(d, len, &i, "-->", line);
		} else if (len - i >= 2 && !memcmp(d + i, "<?", 2)) {
			fp_skip_past(d, len, &i, "?>", line);
		} else if (len - i >= 9 &&
			   !strncasecmp(d + i, "<!doctype", 9)) {
			n = i;
			while (n < len && d[n] != '>' && d[n] != '[')
				n++;
			fp_skip_past(d, len, &i,
				     n < len && d[n] == '[' ? "]" : ">", line);
			if (n < len && d[n] == '[')
				fp_skip_past(d, len, &i, ">", line);
		} else if (d[i] == '<' && i + 1 < len &&
			   prep_name_start((unsigned char)d[i + 1])) {
			*at = i + 1;
			return prep_name_len((const unsigned char *)d + i + 1,
					     len - i - 1);
		} else {
			return 0;
		}
	}
	return 0;
}

static bool fp_feed_root_name(const char *name, size_t n)
{
	const char *local = memchr(name, ':', n);

	if (local) {
		n -= (size_t)(local + 1 - name);
		name = local + 1;
	}
	return (n == 3 && !memcmp(name, "rss", 3)) ||
	       (n == 3 && !memcmp(name, "RDF", 3)) ||
	       (n == 4 && !memcmp(name, "feed", 4));
}

/* Root element: decides the format, or that this is no feed. */
static int fp_root(struct fp *p, struct err *err)
{
	const char *local = (const char *)xmlTextReaderConstLocalName(p->r);
	const char *uri = (const char *)xmlTextReaderConstNamespaceUri(p->r);
	const char *qname = (const char *)xmlTextReaderConstName(p->r);
	xmlChar *attr = NULL, *dflt;
	struct feed *f = p->feed;
	size_t at;
	int line;

	snprintf(p->root, sizeof(p->root), "%.64s", qname ? qname : "");
	if (local && !strcmp(local, "rss") &&
	    (!uri || !strcmp(uri, NS_URI_RSS20))) {
		attr = xmlTextReaderGetAttribute(p->r, BAD_CAST "version");
		if (fp_attr_is(attr, "0.91"))
			f->format = FEED_FORMAT_RSS091;
		else if (fp_attr_is(attr, "0.92") || fp_attr_is(attr, "0.93") ||
			 fp_attr_is(attr, "0.94"))
			f->format = FEED_FORMAT_RSS092;
		else if (fp_attr_is(attr, "0.90") || fp_attr_is(attr, "0.9"))
			f->format = FEED_FORMAT_RSS090;
		else
			f->format = FEED_FORMAT_RSS20;
	} else if (local && !strcmp(local, "RDF") && uri &&
		   !strcmp(uri, NS_URI_RDF)) {
		dflt = xmlTextReaderLookupNamespace(p->r, NULL);
		f->format = dflt && !xmlStrcmp(dflt, BAD_CAST NS_URI_RSS090)
				    ? FEED_FORMAT_RSS090
				    : FEED_FORMAT_RSS10;
		xmlFree(dflt);
	} else if (local && !strcmp(local, "feed") &&
		   (!uri || !strcmp(uri, NS_URI_ATOM10) ||
		    !strcmp(uri, NS_URI_ATOM03))) {
		attr = xmlTextReaderGetAttribute(p->r, BAD_CAST "version");
		if ((uri && !strcmp(uri, NS_URI_ATOM03)) ||
		    (!uri && fp_attr_is(attr, "0.3")))
			f->format = FEED_FORMAT_ATOM03;
		else
			f->format = FEED_FORMAT_ATOM10;
		p->atom = true;
		p->atom_bare = !uri;
		p->chan_depth = 0;
	} else {
		/* The reader's line is where its parser is, which may be
		 * past the element: count lines in the bytes instead. */
		if (fp_first_element(p->data, p->len, &at, &line) == 0)
			line = xmlTextReaderGetParserLineNumber(p->r);
		err_set(err,
			"line %d: not an RSS or Atom feed (root element "
			"<%.64s>)",
			line, qname ? qname : "?");
		return -EPROTO;
	}
	xmlFree(attr);
	return 0;
}

static enum fp_mode fp_atom_mode(struct fp *p)
{
	xmlChar *type = xmlTextReaderGetAttribute(p->r, BAD_CAST "type");
	xmlChar *mode = xmlTextReaderGetAttribute(p->r, BAD_CAST "mode");
	xmlChar *src = xmlTextReaderGetAttribute(p->r, BAD_CAST "src");
	bool html = type && xmlStrcasestr(type, BAD_CAST "html");
	enum fp_mode ret;

	if (src) {
		ret = MODE_SKIP; /* content is elsewhere */
	} else if (mode || p->feed->format == FEED_FORMAT_ATOM03) {
		/* Atom 0.3: mode="xml" (the default), "escaped" or "base64" */
		if (fp_attr_is(mode, "base64"))
			ret = MODE_SKIP;
		else if (fp_attr_is(mode, "escaped"))
			ret = html ? MODE_HTML : MODE_TEXT;
		else
			ret = html ? MODE_XHTML : MODE_TEXT;
	} else if (!type || fp_attr_is(type, "text") ||
		   !xmlStrncasecmp(type, BAD_CAST "text/", 5)) {
		ret = fp_attr_is(type, "text/html") ? MODE_HTML : MODE_TEXT;
	} else if (fp_attr_is(type, "html")) {
		ret = MODE_HTML;
	} else if (fp_attr_is(type, "xhtml") ||
		   fp_attr_is(type, "application/xhtml+xml")) {
		ret = MODE_XHTML;
	} else {
		ret = MODE_SKIP; /* some other media type */
	}
	xmlFree(type);
	xmlFree(mode);
	xmlFree(src);
	return ret;
}

static int fp_atom_link(struct fp *p, struct fp_work *w,
			const struct fp_rule *rule)
{
	xmlChar *rel = xmlTextReaderGetAttribute(p->r, BAD_CAST "rel");
	xmlChar *href = NULL, *base = NULL;
	char *line = NULL, *link = NULL;
	int ret = 0;

	/* rel="alternate" is the entry itself; no rel means alternate. */
	if (rel && !fp_attr_is(rel, "alternate"))
		goto out;
	href = xmlTextReaderGetAttribute(p->r, BAD_CAST "href");
	if (!href)
		goto out;
	ret = plain_line((const char *)href, strlen((const char *)href), &line);
	if (ret)
		goto out;
	base = xmlTextReaderBaseUri(p->r);
	link = fp_resolve(line, base);
	if (!link) {
		ret = -ENOMEM;
		goto out;
	}
	fp_set(w, rule->field, rule->prio, link);
out:
	free(line);
	xmlFree(rel);
	xmlFree(href);
	xmlFree(base);
	return ret;
}

static int fp_atom_category(struct fp *p, struct fp_work *w)
{
	xmlChar *term = xmlTextReaderGetAttribute(p->r, BAD_CAST "term");
	char *cat = NULL;
	int ret = 0;

	if (term)
		ret = plain_line((const char *)term, strlen((const char *)term),
				 &cat);
	xmlFree(term);
	return ret ? ret : fp_add_category(w, cat);
}

/* Atom type="xhtml": the element's children are markup; serialise them
 * and render as HTML. The caller skips the subtree. */
static int fp_xhtml(struct fp *p, struct fp_work *w, const struct fp_rule *rule)
{
	xmlChar *inner = xmlTextReaderReadInnerXml(p->r);
	char *val = NULL;
	int ret;

	if (!inner)
		return 0;
	ret = plain_from_html((const char *)inner, strlen((const char *)inner),
			      rule->field == F_TITLE, &val);
	xmlFree(inner);
	if (!ret)
		fp_set(w, rule->field, rule->prio, val);
	return ret;
}

/* A field element starts: take what its attributes hold, or begin
 * capturing its text until its end tag. *skip asks the caller to step
 * over the element's subtree. */
static int fp_field(struct fp *p, enum fp_tag tag, struct fp_work *w, int depth,
		    bool empty, bool *skip)
{
	const struct fp_rule *rule = &fp_rules[tag];
	xmlChar *attr;
	enum fp_mode mode;

	if (rule->kind == K_NONE)
		return 0;
	if (w == &p->meta && rule->field != F_TITLE && rule->field != F_LINK &&
	    rule->field != F_AUTHOR)
		return 0;
	if (rule->field != F_CATEGORY && rule->kind != K_AUTHOR &&
	    w->val[rule->field] && w->prio[rule->field] >= rule->prio) {
		*skip = !empty; /* already have as good */
		return 0;
	}
	switch (rule->kind) {
	case K_AUTHOR:
		if (!empty) {
			p->author_depth = depth;
			p->author_work = w;
		}
		return 0;
	case K_ATOMLINK:
		*skip = !empty;
		return fp_atom_link(p, w, rule);
	case K_ATOMCAT:
		*skip = !empty;
		return fp_atom_category(p, w);
	default:
		break;
	}
	mode = MODE_TEXT;
	if (rule->kind == K_HTML)
		mode = MODE_HTML;
	else if (rule->kind == K_ATOMTEXT)
		mode = fp_atom_mode(p);
	if (mode == MODE_SKIP || mode == MODE_XHTML || empty) {
		*skip = !empty;
		return mode == MODE_XHTML && !empty ? fp_xhtml(p, w, rule) : 0;
	}
	p->cap_depth = depth;
	p->cap_tag = tag;
	p->cap_mode = mode;
	p->cap_work = w;
	p->cap_markup = false;
	p->cap_permalink = false;
	buf_reset(&p->cap);
	if (rule->kind == K_URL || rule->kind == K_GUID)
		p->cap_base = xmlTextReaderBaseUri(p->r);
	if (rule->kind == K_GUID) {
		attr = xmlTextReaderGetAttribute(p->r, BAD_CAST "isPermaLink");
		p->cap_permalink = !fp_attr_is(attr, "false");
		xmlFree(attr);
	}
	return 0;
}

/* Appends to the capture, cutting (at a character boundary) what would
 * pass FEED_MAX_FIELD. */
static int fp_cap_add(struct fp *p, const char *s, size_t n)
{
	size_t room = FEED_MAX_FIELD - p->cap.len;

	if (n > room) {
		n = room;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	return n ? buf_add(&p->cap, s, n) : 0;
}

static int fp_cap_text(struct fp *p, const char *s)
{
	const char *run = s;
	int ret = 0;

	if (!p->cap_markup)
		return fp_cap_add(p, s, strlen(s));
	/* Inside raw child elements the text is text, not HTML source. */
	for (; *s && !ret; s++) {
		if (*s != '&' && *s != '<' && *s != '>')
			continue;
		ret = fp_cap_add(p, run, (size_t)(s - run));
		if (!ret)
			ret = fp_cap_add(p,
					 *s == '&'   ? "&amp;"
					 : *s == '<' ? "&lt;"
						     : "&gt;",
					 *s == '&' ? 5 : 4);
		run = s + 1;
	}
	return ret ? ret : fp_cap_add(p, run, strlen(run));
}

/* A child element inside an HTML field (unescaped HTML in an RSS
 * description): keep its tag so that html2text sees the structure. */
static int fp_cap_tag(struct fp *p, bool end, bool empty)
{
	const char *name = (const char *)xmlTextReaderConstLocalName(p->r);
	int ret;

	if (p->cap_mode != MODE_HTML || !name)
		return 0;
	p->cap_markup = true;
	ret = fp_cap_add(p, end ? "</" : "<", end ? 2 : 1);
	if (!ret)
		ret = fp_cap_add(p, name, strlen(name));
	if (!ret)
		ret = fp_cap_add(p, empty ? "/>" : ">", empty ? 2 : 1);
	return ret;
}

/* "jo@example.org (Jo Bloggs)" names Jo Bloggs. */
static void fp_author_name(char *s)
{
	size_t n = strlen(s);
	char *open;

	if (n < 4 || s[n - 1] != ')')
		return;
	open = strstr(s, " (");
	if (!open || open[2] == ')')
		return;
	memmove(s, open + 2, (size_t)(s + n - 1 - (open + 2)));
	s[s + n - 1 - (open + 2)] = '\0';
}

/* The captured field's end tag: turn the text into the field's value. */
static int fp_finish(struct fp *p)
{
	const struct fp_rule *rule = &fp_rules[p->cap_tag];
	struct fp_work *w = p->cap_work;
	const char *src = buf_str(&p->cap);
	char *val = NULL, *link;
	int64_t t;
	int ret;

	p->cap_depth = -1;
	if (p->cap_mode == MODE_HTML)
		ret = plain_from_html(src, p->cap.len, rule->field == F_TITLE,
				      &val);
	else if (rule->field == F_SUMMARY || rule->field == F_CONTENT)
		ret = plain_normalise(src, p->cap.len, true, &val);
	else
		ret = plain_line(src, p->cap.len, &val);
	if (ret)
		goto out;
	switch (rule->kind) {
	case K_DATE:
		if (feed_parse_date(val, &t) == 0 &&
		    (w->prio[rule->field] < rule->prio ||
		     w->date[rule->field] == FEED_DATE_NONE)) {
			w->date[rule->field] = t;
			w->prio[rule->field] = rule->prio;
		}
		break;
	case K_RSSAUTHOR:
		fp_author_name(val);
		break;
	case K_URL:
		link = fp_resolve(val, p->cap_base);
		free(val);
		val = link;
		if (!val)
			ret = -ENOMEM;
		break;
	case K_GUID:
		if (p->cap_permalink && (!strncmp(val, "http://", 7) ||
					 !strncmp(val, "https://", 8))) {
			link = fp_resolve(val, p->cap_base);
			if (!link) {
				ret = -ENOMEM;
				break;
			}
			fp_set(w, F_LINK, 1, link);
		}
		break;
	default:
		break;
	}
	if (ret || rule->kind == K_DATE)
		goto out;
	if (rule->field == F_CATEGORY) {
		ret = fp_add_category(w, val);
		val = NULL;
	} else {
		fp_set(w, rule->field, rule->prio, val);
		val = NULL;
	}
out:
	free(val);
	xmlFree(p->cap_base);
	p->cap_base = NULL;
	return ret;
}

static void fp_item_begin(struct fp *p, int depth)
{
	xmlChar *about;
	char *id = NULL;

	fp_work_clear(&p->item);
	p->item.date[F_PUBLISHED] = FEED_DATE_NONE;
	p->item.date[F_UPDATED] = FEED_DATE_NONE;
	p->item_depth = depth;
	/* RSS 1.0 names each item with rdf:about; an id of last resort. */
	about = xmlTextReaderGetAttributeNs(p->r, BAD_CAST "about",
					    BAD_CAST NS_URI_RDF);
	if (about && plain_line((const char *)about,
				strlen((const char *)about), &id) == 0)
		fp_set(&p->item, F_ID, 1, id);
	xmlFree(about);
}

/* The item's end tag: keep it unless it has nothing to show. */
static int fp_item_end(struct fp *p)
{
	struct fp_work *w = &p->item;
	struct feed_item *it, *items;
	size_t cap;

	p->item_depth = -1;
	p->author_depth = -1;
	if (!w->val[F_ID] && !w->val[F_LINK] && !w->val[F_TITLE] &&
	    !w->val[F_SUMMARY] && !w->val[F_CONTENT]) {
		fp_work_clear(w);
		return 0;
	}
	if (!w->val[F_ID] && w->val[F_LINK]) {
		w->val[F_ID] = strdup(w->val[F_LINK]);
		if (!w->val[F_ID])
			return -ENOMEM;
	}
	if (p->feed->n_items == p->cap_items) {
		cap = p->cap_items ? p->cap_items * 2 : 16;
		items = realloc(p->feed->items, cap * sizeof(*items));
		if (!items)
			return -ENOMEM;
		p->feed->items = items;
		p->cap_items = cap;
	}
	it = &p->feed->items[p->feed->n_items++];
	it->id = w->val[F_ID];
	it->link = w->val[F_LINK];
	it->title = w->val[F_TITLE];
	it->author = w->val[F_AUTHOR];
	it->summary = w->val[F_SUMMARY];
	it->content = w->val[F_CONTENT];
	it->published = w->date[F_PUBLISHED];
	it->updated = w->date[F_UPDATED];
	it->categories = w->cats;
	it->n_categories = w->n_cats;
	memset(w, 0, sizeof(*w));
	return 0;
}

static int fp_start(struct fp *p, int depth, bool *skip, struct err *err)
{
	bool empty = xmlTextReaderIsEmptyElement(p->r) == 1;
	enum fp_tag tag;
	const char *uri;

	if (p->feed->format == FEED_FORMAT_UNKNOWN)
		return fp_root(p, err);
	if (p->cap_depth >= 0)
		return fp_cap_tag(p, false, empty);
	tag = fp_tag_of(p);
	if (p->item_depth >= 0) {
		if (p->author_depth >= 0 && depth == p->author_depth + 1) {
			if (tag == TAG_ATOM_NAME || tag == TAG_ATOM_EMAIL)
				return fp_field(p, tag, p->author_work, depth,
						empty, skip);
		} else if (depth == p->item_depth + 1 && tag != TAG_ATOM_NAME &&
			   tag != TAG_ATOM_EMAIL) {
			return fp_field(p, tag, &p->item, depth, empty, skip);
		}
		return 0;
	}
	if ((!p->atom && tag == TAG_RSS_ITEM &&
	     (depth == 1 || depth == p->chan_depth + 1)) ||
	    (p->atom && tag == TAG_ATOM_ENTRY && depth == 1)) {
		if (p->feed->n_items >= p->max_items) {
			*skip = !empty;
			return 0;
		}
		fp_item_begin(p, depth);
		return empty ? fp_item_end(p) : 0;
	}
	if (!p->atom && tag == TAG_RSS_CHANNEL && depth == 1) {
		p->chan_depth = depth;
		uri = (const char *)xmlTextReaderConstNamespaceUri(p->r);
		if (uri && !strcmp(uri, NS_URI_RSS090))
			p->feed->format = FEED_FORMAT_RSS090;
		return 0;
	}
	if (p->author_depth >= 0 && depth == p->author_depth + 1) {
		if (tag == TAG_ATOM_NAME || tag == TAG_ATOM_EMAIL)
			return fp_field(p, tag, p->author_work, depth, empty,
					skip);
		return 0;
	}
	if (p->chan_depth >= 0 && depth == p->chan_depth + 1 &&
	    tag != TAG_ATOM_NAME && tag != TAG_ATOM_EMAIL)
		return fp_field(p, tag, &p->meta, depth, empty, skip);
	return 0;
}

static int fp_end(struct fp *p, int depth)
{
	if (p->cap_depth >= 0) {
		if (depth == p->cap_depth)
			return fp_finish(p);
		return fp_cap_tag(p, true, false);
	}
	if (depth == p->author_depth)
		p->author_depth = -1;
	else if (depth == p->item_depth)
		return fp_item_end(p);
	else if (depth == p->chan_depth)
		p->chan_depth = -1;
	return 0;
}

static int fp_node(struct fp *p, bool *skip, struct err *err)
{
	int depth = xmlTextReaderDepth(p->r);
	const xmlChar *value;

	switch (xmlTextReaderNodeType(p->r)) {
	case XML_READER_TYPE_ELEMENT:
		return fp_start(p, depth, skip, err);
	case XML_READER_TYPE_END_ELEMENT:
		return fp_end(p, depth);
	case XML_READER_TYPE_TEXT:
	case XML_READER_TYPE_CDATA:
	case XML_READER_TYPE_WHITESPACE:
	case XML_READER_TYPE_SIGNIFICANT_WHITESPACE:
		if (p->cap_depth < 0)
			return 0;
		value = xmlTextReaderConstValue(p->r);
		return value ? fp_cap_text(p, (const char *)value) : 0;
	default:
		return 0;
	}
}

/* libxml2's generic error channel (printf-style pieces, e.g. from the
 * encoding converters) would go to stderr; the same errors also arrive,
 * whole, through the structured handlers. */
static void fp_quiet(void *ctx, const char *msg, ...)
{
}

/* Refuses every external entity, DTD and XInclude: nothing outside the
 * bytes handed to feed_parse is ever read. Process-wide in libxml2. */
static xmlParserInputPtr fp_no_loader(const char *url, const char *id,
				      xmlParserCtxtPtr ctxt)
{
	return NULL;
}

static void fp_init_once(void)
{
	xmlInitParser();
	xmlSetExternalEntityLoader(fp_no_loader);
}

/* Why libxml2 gave up before reporting the root element: say what the
 * bytes are, since the admin pointed a source at them. */
static void fp_no_root(const struct fp *p, const char *data, size_t len,
		       struct err *err)
{
	size_t i = 0, at = 0, n;
	int line;

	n = fp_first_element(data, len, &at, &line);
	if (n > 0 && !fp_feed_root_name(data + at, n)) {
		err_set(err,
			"line %d: not an RSS or Atom feed (root element "
			"<%.*s>)",
			line, (int)(n > 64 ? 64 : n), data + at);
		return;
	}
	if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
		i = 3;
	while (i < len && prep_space((unsigned char)data[i]))
		i++;
	if (i == len)
		err_set(err,
			"line 1: not an RSS or Atom feed (empty document)");
	else if (data[i] != '<' && data[i] > 0x20 && data[i] < 0x7F)
		err_set(err,
			"line 1: not an RSS or Atom feed (not XML: starts "
			"with '%c')",
			data[i]);
	else if (data[i] != '<')
		err_set(err, "line 1: not an RSS or Atom feed (not XML)");
	else
		err_set(err, "line %d: broken XML: %s", p->err_line,
			p->err_msg);
}

/* Streams the document. Returns 0 (p->broken says whether libxml2 gave
 * up on the XML), or an error of our own, with err set for -EPROTO. */
static int fp_run(struct fp *p, struct err *err)
{
	bool skip;
	int rc, ret;

	rc = xmlTextReaderRead(p->r);
	while (rc == 1) {
		skip = false;
		ret = fp_node(p, &skip, err);
		if (ret)
			return ret;
		rc = skip ? xmlTextReaderNext(p->r) : xmlTextReaderRead(p->r);
	}
	p->broken = rc < 0;
	if (p->err_line < 1)
		p->err_line = 1;
	return 0;
}

/* libxml2 says "Extra content at the end of the document" for a
 * document cut short; when the root's end tag is nowhere in the bytes,
 * say so in words the admin will recognise. */
static void fp_hint(const struct fp *p, const char *data, size_t len,
		    char *hint, size_t size)
{
	char end[80];
	int n;

	hint[0] = '\0';
	n = snprintf(end, sizeof(end), "</%s", p->root);
	if (n < 0 || (size_t)n >= sizeof(end) || !p->root[0])
		return;
	if (!memmem(data, len, end, (size_t)n))
		snprintf(hint, size, " (the document is cut short: no %s>)",
			 end);
}

static int fp_finish_feed(struct fp *p)
{
	struct feed *f = p->feed;
	size_t k;

	f->title = p->meta.val[F_TITLE];
	f->link = p->meta.val[F_LINK];
	p->meta.val[F_TITLE] = NULL;
	p->meta.val[F_LINK] = NULL;
	/* Atom entries without an author inherit the feed's (RFC 4287
	 * 4.1.2). */
	if (!p->atom || !p->meta.val[F_AUTHOR])
		return 0;
	for (k = 0; k < f->n_items; k++) {
		if (f->items[k].author)
			continue;
		f->items[k].author = strdup(p->meta.val[F_AUTHOR]);
		if (!f->items[k].author)
			return -ENOMEM;
	}
	return 0;
}

/*
 * Policy for a fatal XML error part-way (typically a download cut short):
 * if the root was a feed and at least one item was complete before the
 * error, those items are kept, feed_parse returns 0 and err still says
 * what went wrong and where, so the caller can log it. The item being
 * read when the error struck is dropped. With no complete item the
 * error is returned as -EPROTO. "Before" is as libxml2's reader sees it:
 * it parses 512-byte chunks and fails a chunk as a whole, so items that
 * end in the same chunk as the error are dropped with it. A truncated
 * document fails only at its end, so all its complete items survive.
 */
int feed_parse(const char *data, size_t len, const char *base_url,
	       const struct feed_limits *limits, struct feed **out,
	       struct err *err)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	const int opts = XML_PARSE_NONET | XML_PARSE_NOCDATA;
	/* libxml2's global error handlers are per thread: borrow them
	 * for errors raised outside the reader (encoding conversion). */
	xmlStructuredErrorFunc old_serror = xmlStructuredError;
	void *old_sctx = xmlStructuredErrorContext;
	xmlGenericErrorFunc old_error = xmlGenericError;
	void *old_ctx = xmlGenericErrorContext;
	struct prep *prep;
	char hint[128];
	struct fp p;
	int ret;

	*out = NULL;
	if (err)
		err->msg[0] = '\0';
	pthread_once(&once, fp_init_once);
	memset(&p, 0, sizeof(p));
	p.data = data ? data : "";
	p.len = data ? len : 0;
	p.chan_depth = -1;
	p.item_depth = -1;
	p.author_depth = -1;
	p.cap_depth = -1;
	p.max_items = limits && limits->max_items ? limits->max_items
						  : FEED_DEFAULT_MAX_ITEMS;
	buf_init(&p.cap, FEED_MAX_FIELD);
	prep = calloc(1, sizeof(*prep));
	p.feed = calloc(1, sizeof(*p.feed));
	if (!prep || !p.feed) {
		ret = -ENOMEM;
		goto out;
	}
	prep->s = (const unsigned char *)data;
	prep->len = data ? len : 0;
	prep->line = 1;
	prep->err = err;
	/* No cap of its own: growth is bounded by the input size and the
	 * entity expansion budget. */
	buf_init(&prep->out, SIZE_MAX);
	ret = prep_run(prep);
	if (ret)
		goto out;
	if (prep->out.len > INT_MAX) {
		err_set(err, "feed too large (%zu bytes)", prep->out.len);
		ret = -EPROTO;
		goto out;
	}
	if (prep->out.len == 0) {
		fp_no_root(&p, "", 0, err);
		ret = -EPROTO;
		goto out;
	}
	xmlSetStructuredErrorFunc(&p, fp_error);
	xmlSetGenericErrorFunc(&p, fp_quiet);
	p.r = xmlReaderForMemory(prep->out.ptr, (int)prep->out.len, base_url,
				 NULL, opts);
	if (!p.r) {
		ret = -ENOMEM;
		goto out;
	}
	xmlTextReaderSetStructuredErrorHandler(p.r, fp_error, &p);
	ret = fp_run(&p, err);
	if (ret)
		goto out;
	if (p.feed->format == FEED_FORMAT_UNKNOWN) {
		fp_no_root(&p, data, len, err);
		ret = -EPROTO;
		goto out;
	}
	if (p.broken)
		fp_hint(&p, data, len, hint, sizeof(hint));
	if (p.broken && p.feed->n_items == 0) {
		err_set(err, "line %d: broken XML: %s%s", p.err_line, p.err_msg,
			hint);
		ret = -EPROTO;
		goto out;
	}
	if (p.broken)
		err_set(err,
			"line %d: broken XML after %zu complete items (kept): "
			"%s%s",
			p.err_line, p.feed->n_items, p.err_msg, hint);
	ret = fp_finish_feed(&p);
	if (ret)
		goto out;
	*out = p.feed;
	p.feed = NULL;
out:
	if (p.r)
		xmlFreeTextReader(p.r);
	xmlSetStructuredErrorFunc(old_sctx, old_serror);
	xmlSetGenericErrorFunc(old_ctx, old_error);
	if (prep)
		buf_free(&prep->out);
	free(prep);
	buf_free(&p.cap);
	xmlFree(p.cap_base);
	fp_work_clear(&p.item);
	fp_work_clear(&p.meta);
	feed_destroy(p.feed);
	return ret;
}

void feed_destroy(struct feed *feed)
{
	struct feed_item *it;
	size_t i, k;

	if (!feed)
		return;
	for (i = 0; i < feed->n_items; i++) {
		it = &feed->items[i];
		free(it->id);
		free(it->link);
		free(it->title);
		free(it->author);
		free(it->summary);
		free(it->content);
		for (k = 0; k < it->n_categories; k++)
			free(it->categories[k]);
		free(it->categories);
	}
	free(feed->items);
	free(feed->title);
	free(feed->link);
	free(feed);
}

const char *feed_format_name(enum feed_format format)
{
	static const char *const names[] = {
		[FEED_FORMAT_UNKNOWN] = "unknown",
		[FEED_FORMAT_RSS090] = "rss090",
		[FEED_FORMAT_RSS091] = "rss091",
		[FEED_FORMAT_RSS092] = "rss092",
		[FEED_FORMAT_RSS20] = "rss20",
		[FEED_FORMAT_RSS10] = "rss10",
		[FEED_FORMAT_ATOM03] = "atom03",
		[FEED_FORMAT_ATOM10] = "atom10",
		[FEED_FORMAT_JSON11] = "json11",
	};

	if ((unsigned)format >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[format];
}

/* ------------------------------------------------------------------ */
/* Dates                                                               */

struct date_parts {
	int year, month, day, hour, min, sec;
	int offset; /* minutes east of UTC */
};

/* Reads min..max decimal digits at *sp into *out. */
static bool date_digits(const char **sp, int min, int max, int *out)
{
	const char *s = *sp;
	int v = 0, n = 0;

	while (n < max && s[n] >= '0' && s[n] <= '9') {
		v = v * 10 + (s[n] - '0');
		n++;
	}
	if (n < min)
		return false;
	*sp = s + n;
	*out = v;
	return true;
}

static const char *date_skip_space(const char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	return s;
}

static bool date_alpha(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* "+0100", "-05:00", "+01" */
static bool date_numeric_zone(const char **sp, int *offset)
{
	const char *s = *sp;
	int sign = *s == '-' ? -1 : 1, hh, mm = 0;

	if (*s != '+' && *s != '-')
		return false;
	s++;
	if (!date_digits(&s, 2, 2, &hh))
		return false;
	if (*s == ':')
		s++;
	if (*s >= '0' && *s <= '9' && !date_digits(&s, 2, 2, &mm))
		return false;
	if (hh > 23 || mm > 59)
		return false;
	*offset = sign * (hh * 60 + mm);
	*sp = s;
	return true;
}

static bool date_named_zone(const char **sp, int *offset)
{
	static const struct {
		const char *name;
		int hours;
	} zones[] = {
		{"GMT", 0},   {"UT", 0},    {"UTC", 0},	  {"Z", 0},
		{"EST", -5},  {"EDT", -4},  {"CST", -6},  {"CDT", -5},
		{"MST", -7},  {"MDT", -6},  {"PST", -8},  {"PDT", -7},
		{"WET", 0},   {"WEST", 1},  {"BST", 1},	  {"CET", 1},
		{"CEST", 2},  {"EET", 2},   {"EEST", 3},  {"MSK", 3},
		{"JST", 9},   {"AEST", 10}, {"AEDT", 11}, {"HST", -10},
		{"AKST", -9}, {"AKDT", -8},
	};
	const char *s = *sp;
	size_t n = 0, k;

	while (date_alpha(s[n]))
		n++;
	for (k = 0; k < sizeof(zones) / sizeof(zones[0]); k++) {
		if (strlen(zones[k].name) == n &&
		    !strncasecmp(zones[k].name, s, n)) {
			*offset = zones[k].hours * 60;
			*sp = s + n;
			return true;
		}
	}
	return false;
}

/* Jan..Dec, case-insensitive, abbreviated or in full ("Sept" too). */
static bool date_month(const char **sp, int *month)
{
	static const char *const months[] = {
		"january",   "february", "march",    "april",
		"may",	     "june",	 "july",     "august",
		"september", "october",	 "november", "december",
	};
	const char *s = *sp;
	size_t n = 0, k;

	while (date_alpha(s[n]))
		n++;
	if (n < 3)
		return false;
	for (k = 0; k < 12; k++) {
		if (n > strlen(months[k]) || strncasecmp(s, months[k], n))
			continue;
		if (n == 3 || n == strlen(months[k]) || (k == 8 && n == 4)) {
			*month = (int)k + 1;
			*sp = s + n;
			return true;
		}
	}
	return false;
}

static bool date_weekday(const char **sp)
{
	static const char *const days[] = {
		"monday", "tuesday",  "wednesday", "thursday",
		"friday", "saturday", "sunday",
	};
	const char *s = *sp;
	size_t n = 0, k;

	while (date_alpha(s[n]))
		n++;
	for (k = 0; k < 7; k++) {
		if (n >= 3 && n <= strlen(days[k]) &&
		    !strncasecmp(s, days[k], n)) {
			*sp = s + n;
			return true;
		}
	}
	return false;
}

/* HH:MM[:SS] */
static bool date_time(const char **sp, int min_hour_digits,
		      struct date_parts *d)
{
	const char *s = *sp;

	if (!date_digits(&s, min_hour_digits, 2, &d->hour) || *s != ':')
		return false;
	s++;
	if (!date_digits(&s, 2, 2, &d->min))
		return false;
	if (*s == ':') {
		s++;
		if (!date_digits(&s, 2, 2, &d->sec))
			return false;
	}
	*sp = s;
	return true;
}

/* Mon, 16 Nov 2026 09:30:00 GMT (weekday, seconds and zone optional) */
static bool date_rfc822(const char *s, struct date_parts *d)
{
	const char *year;

	if (date_alpha(*s)) {
		if (!date_weekday(&s))
			return false;
		if (*s == ',')
			s++;
		s = date_skip_space(s);
	}
	if (!date_digits(&s, 1, 2, &d->day))
		return false;
	s = *s == '-' ? s + 1 : date_skip_space(s);
	if (!date_month(&s, &d->month))
		return false;
	s = *s == '-' ? s + 1 : date_skip_space(s);
	year = s;
	if (!date_digits(&s, 2, 4, &d->year))
		return false;
	/* Two- and three-digit years as RFC 5322 section 4.3 says. */
	if (s - year == 2)
		d->year += d->year < 50 ? 2000 : 1900;
	else if (s - year == 3)
		d->year += 1900;
	s = date_skip_space(s);
	if (*s && !date_time(&s, 1, d))
		return false;
	s = date_skip_space(s);
	if (*s == '+' || *s == '-') {
		if (!date_numeric_zone(&s, &d->offset))
			return false;
	} else if (date_alpha(*s)) {
		if (!date_named_zone(&s, &d->offset))
			return false;
	}
	s = date_skip_space(s);
	if (*s == '(') { /* a comment: "-0700 (PDT)" */
		s = strchr(s, ')');
		if (!s)
			return false;
		s = date_skip_space(s + 1);
	}
	return *s == '\0';
}

/* 2026-11-16T09:30:00.5+01:00, 2026-11-16 09:30:00, 2026-11-16 */
static bool date_iso(const char *s, struct date_parts *d)
{
	if (!date_digits(&s, 4, 4, &d->year))
		return false;
	d->month = 1;
	d->day = 1;
	if (*s == '-') {
		s++;
		if (!date_digits(&s, 2, 2, &d->month))
			return false;
		if (*s == '-') {
			s++;
			if (!date_digits(&s, 2, 2, &d->day))
				return false;
		}
	}
	if (*s == 'T' || *s == 't' ||
	    (*s == ' ' && s[1] >= '0' && s[1] <= '9')) {
		s++;
		if (!date_time(&s, 2, d))
			return false;
		if (*s == '.' || *s == ',') {
			s++;
			if (*s < '0' || *s > '9')
				return false;
			while (*s >= '0' && *s <= '9')
				s++;
		}
		if (*s == ' ')
			s++;
		if (*s == 'Z' || *s == 'z')
			s++;
		else if ((*s == '+' || *s == '-') &&
			 !date_numeric_zone(&s, &d->offset))
			return false;
	}
	return *date_skip_space(s) == '\0';
}

static bool date_valid(const struct date_parts *d)
{
	static const int mdays[12] = {31, 29, 31, 30, 31, 30,
				      31, 31, 30, 31, 30, 31};
	bool leap =
		(d->year % 4 == 0 && d->year % 100 != 0) || d->year % 400 == 0;

	if (d->year < 1 || d->month < 1 || d->month > 12 || d->day < 1 ||
	    d->day > mdays[d->month - 1])
		return false;
	if (d->month == 2 && d->day == 29 && !leap)
		return false;
	return d->hour <= 23 && d->min <= 59 && d->sec <= 60;
}

int feed_parse_date(const char *text, int64_t *out)
{
	struct date_parts d;
	struct tm tm;
	const char *s;
	bool ok;
	time_t t;

	if (!text)
		return -EINVAL;
	memset(&d, 0, sizeof(d));
	s = date_skip_space(text);
	if (s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9' &&
	    s[2] >= '0' && s[2] <= '9' && s[3] >= '0' && s[3] <= '9')
		ok = date_iso(s, &d);
	else
		ok = date_rfc822(s, &d);
	if (!ok || !date_valid(&d))
		return -EINVAL;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = d.year - 1900;
	tm.tm_mon = d.month - 1;
	tm.tm_mday = d.day;
	tm.tm_hour = d.hour;
	tm.tm_min = d.min;
	tm.tm_sec = d.sec;
	t = timegm(&tm);
	*out = (int64_t)t - (int64_t)d.offset * 60;
	return 0;
}
