/*
 * feed: RSS 0.9x/1.0/2.0, Atom 0.3/1.0 and JSON Feed bytes to items, pushed
 * in chunks of any size through three stages that carry across chunks what
 * they cannot decide yet: decode (any charset to valid UTF-8), prep (entities
 * repaired; CDATA, comments, PIs and the DTD kept from libxml2), and libxml2's
 * SAX2 push parser, fed fixed-size blocks. Only the item being read is kept.
 * No I/O; any thread, one thread per parser at a time.
 */
#include <errno.h>
#include <iconv.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <libxml/HTMLparser.h>
#include <libxml/SAX2.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/uri.h>
#include <sodium.h>

#include "buf.h"
#include "feed.h"
#include "html2text.h"
#include "text.h"

/*
 * The memory budget. Besides libxml2's own state (its input buffer holds
 * at most one start tag or one FEED_XML_BLOCK, its name dictionary is
 * capped at 10 MB, its depth by FEED_MAX_DEPTH) a parser holds: one slice of
 * raw input and its decoded text, the prep stage's lookahead (at most one
 * entity declaration), declared entities (FEED_MAX_ENTITY_BYTES), one
 * block of XML, and the item being read, whose fields are each cut at
 * FEED_MAX_FIELD. Items are handed out and freed as they end.
 */
#define FEED_DEFAULT_MAX_ITEMS 10000
/* Bytes of one field as captured from the XML (HTML source), and of one
 * field once rendered as text. Longer fields are cut, not refused. */
#define FEED_MAX_FIELD (2u << 20)
#define FEED_MAX_TEXT (4u << 20)
#define FEED_MAX_CATEGORIES 64
#define FEED_MAX_ENTITIES 256
#define FEED_MAX_ENTITY_VALUE (64u << 10)
#define FEED_MAX_ENTITY_BYTES (1u << 20) /* all declared values */
/* Expanding declared entities may add at most the input so far plus
 * this. */
#define FEED_EXPAND_SLACK (1u << 20)
/* jansson cannot stream: a JSON Feed is buffered whole, up to this. */
#define FEED_MAX_JSON (8u << 20)
#define FEED_SLICE (64u << 10)	   /* raw bytes decoded at a time */
#define FEED_XML_BLOCK (16u << 10) /* bytes per xmlParseChunk call */
/* libxml2's push parser does not enforce its own depth limit (256 without
 * XML_PARSE_HUGE) in 2.9: we do. */
#define FEED_MAX_DEPTH 256
#define FEED_SNIFF_MAX 1024 /* where an XML declaration must end */

/* Lookahead limits of the prep stage: a reference is '&', a name of at
 * most PREP_NAME_MAX bytes and ';'. */
#define PREP_NAME_MAX 256
#define PREP_REF_MAX (PREP_NAME_MAX + 2)
#define PREP_DECL_MAX (FEED_MAX_ENTITY_VALUE + PREP_NAME_MAX + 64)

#define NS_URI_RSS10 "http://purl.org/rss/1.0/"
#define NS_URI_RSS090 "http://my.netscape.com/rdf/simple/0.9/"
#define NS_URI_RSS20 "http://backend.userland.com/rss2"
#define NS_URI_ATOM10 "http://www.w3.org/2005/Atom"
#define NS_URI_ATOM03 "http://purl.org/atom/ns#"
#define NS_URI_DC "http://purl.org/dc/elements/1.1/"
#define NS_URI_CONTENT "http://purl.org/rss/1.0/modules/content/"
#define NS_URI_RDF "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
#define NS_URI_THR "http://purl.org/syndication/thread/1.0"
#define NS_URI_SLASH "http://purl.org/rss/1.0/modules/slash/"

#define NOT_A_FEED "not an RSS, Atom or JSON feed"

static const char utf8_replacement[] = "\xEF\xBF\xBD";

/* Windows-1252 for 0x80 to 0x9F, both as bytes in a document labelled
 * ISO-8859-1 and as &#128; to &#159;: old feeds mean these, not the C1
 * controls. The five holes become U+FFFD. */
static const uint16_t cp1252[32] = {
	0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD,
	0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178,
};

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */

static bool is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool name_start(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
	       c == ':' || c >= 0x80;
}

static bool name_char(unsigned char c)
{
	return name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

/* Length of the XML name at s, 0 if none. */
static size_t name_len(const unsigned char *s, size_t left)
{
	size_t n = 0;

	if (left == 0 || !name_start(s[0]))
		return 0;
	while (n < left && name_char(s[n]))
		n++;
	return n;
}

/* Encodes cp as UTF-8 at o (4 bytes of room); returns its length. */
static size_t utf8_put(uint32_t cp, unsigned char *o)
{
	if (cp < 0x80) {
		o[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (unsigned char)(0xC0 | (cp >> 6));
		o[1] = (unsigned char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (unsigned char)(0xE0 | (cp >> 12));
		o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (unsigned char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (unsigned char)(0xF0 | (cp >> 18));
	o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
	o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
	o[3] = (unsigned char)(0x80 | (cp & 0x3F));
	return 4;
}

/* Drops the first n bytes of b, keeping the rest (and the NUL). */
static void buf_drop_front(struct buf *b, size_t n)
{
	if (n == 0)
		return;
	memmove(b->ptr, b->ptr + n, b->len - n);
	b->len -= n;
	b->ptr[b->len] = '\0';
}

static bool lit_is(const char *v, size_t n, const char *lit)
{
	return strlen(lit) == n && strncasecmp(v, lit, n) == 0;
}

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
		/* A run of printable ASCII (most text) goes in at once: no
		 * byte of it is blank, control, invisible or invalid. */
		for (n = 0; i + n < len && s[i + n] > 0x20 && s[i + n] < 0x7F;
		     n++)
			;
		if (!ret && n > 0) {
			ret = buf_add(&b, s + i, n);
			i += n;
			continue;
		}
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

/* True for HTML that renders as itself with whitespace collapsed: ASCII
 * with no markup and no references. Most titles and many descriptions
 * are like this, and skip the HTML parser. */
static bool plain_is_bare(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80 || s[i] == '<' || s[i] == '&')
			return false;
	return true;
}

/* HTML source to plain text with the renderer *r (made on first use
 * and kept for the parser's next fields). A field too long to render is
 * dropped (*out = NULL), not an error. */
static int plain_from_html(struct html2text **r, const char *html, size_t len,
			   bool line, char **out)
{
	struct buf b;
	int ret;

	*out = NULL;
	if (plain_is_bare(html, len))
		return plain_line(html, len, out);
	if (!*r)
		*r = html2text_create();
	if (!*r)
		return -ENOMEM;
	buf_init(&b, FEED_MAX_TEXT);
	ret = html2text_render(*r, html, len, &b);
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

/* link resolved against base (xml:base chain, else the feed's URL). On
 * any doubt the link is kept as written. NULL when out of memory. */
static char *resolve(const char *link, const char *base)
{
	xmlChar *abs;
	char *ret;

	if (!base || !*base || !*link)
		return strdup(link);
	abs = xmlBuildURI((const xmlChar *)link, (const xmlChar *)base);
	if (!abs)
		return strdup(link);
	ret = strdup((const char *)abs);
	xmlFree(abs);
	return ret;
}

/* ------------------------------------------------------------------ */
/* The parser                                                          */

enum fp_ns {
	NS_NONE,
	NS_RSS,
	NS_ATOM,
	NS_DC,
	NS_CONTENT,
	NS_RDF,
	NS_THR,
	NS_SLASH,
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
	TAG_THR_IN_REPLY_TO,
	TAG_THR_TOTAL,
	TAG_SLASH_COMMENTS,
	TAG__COUNT,
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
	F_IN_REPLY_TO,
	F_COMMENTS,
	F__COUNT,
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

struct fp_base {
	int depth;
	char *uri; /* owned, resolved */
};

struct prep_entity {
	char *name;  /* owned */
	char *value; /* owned; NULL when external or too long */
	size_t value_len;
	bool external;
	bool complex; /* refers to other entities or holds markup */
	bool too_long;
};

enum prep_mode {
	PM_CONTENT,
	PM_COMMENT, /* dropped, up to "-->" */
	PM_PI,	    /* dropped, up to "?>" (the XML declaration too) */
	PM_CDATA,   /* rewritten as escaped text, up to "]]>" */
	PM_DOCTYPE, /* dropped; its entity declarations are noted */
};

struct prep {
	enum prep_mode mode;
	enum prep_mode after; /* where a comment or PI returns to */
	bool subset;	      /* inside the DOCTYPE's [...] */
	unsigned char quote;  /* inside a quoted DOCTYPE literal */
	bool seen_root;
	bool root_end_seen; /* "</" and the root's name */
	char root[72];	    /* the first element's name, for messages */
	unsigned long root_line;
	unsigned long doctype_line;
	unsigned long line;
	unsigned long long consumed; /* decoded bytes read */
	unsigned long long expanded; /* bytes added by entities */
	struct prep_entity *ents;
	size_t n_ents;
	size_t ent_bytes;
};

enum dec_kind {
	DEC_UTF8,
	DEC_1252,
	DEC_UTF16LE,
	DEC_UTF16BE,
	DEC_ICONV,
};

enum fp_stage {
	STAGE_SNIFF, /* nothing but whitespace yet */
	STAGE_XML,
	STAGE_JSON,
};

struct feed_parser {
	/* set at creation */
	char *base_url; /* owned, may be NULL */
	char *charset;	/* from the Content-Type, owned, may be NULL */
	size_t max_items;
	feed_item_fn *on_item;
	void *arg;
	struct feed *collect; /* feed_parse: items are moved here */
	size_t cap_items;

	/* outcome */
	int ret;	/* sticky: -EPROTO, -ENOMEM or on_item's value */
	struct err err; /* why ret, or what broke (or was repaired) */
	bool finished;

	/* decode: raw bytes to valid UTF-8 */
	bool enc_known;
	enum dec_kind dec;
	iconv_t cd;
	struct buf raw;	 /* undecoded bytes (a sequence split by a chunk) */
	struct buf text; /* decoded, not yet taken by the next stage */

	enum fp_stage stage;
	unsigned long lead_lines; /* line breaks before the first character */
	struct buf json;

	/* prep: text to the XML that libxml2 sees */
	struct prep prep;
	struct buf xml; /* waiting for a full block */
	xmlParserCtxtPtr ctxt;
	bool terminating; /* inside the last xmlParseChunk */

	/* SAX state */
	enum feed_format format;
	char root[72]; /* the root element's name */
	bool atom;
	bool atom_bare;	     /* Atom root without a namespace */
	bool inherit_author; /* items without one take the feed's */
	int depth;
	int skip_depth; /* ignore everything below this element, or -1 */
	int chan_depth; /* element whose children are feed fields, or -1 */
	int item_depth;
	int author_depth;
	struct fp_work *author_work;
	struct fp_work meta;
	struct fp_work item;
	size_t n_items; /* delivered */
	char *self;
	struct fp_base *bases;
	size_t n_bases;
	size_t cap_bases;
	/* the text field being captured, if cap_depth >= 0 */
	int cap_depth;
	enum fp_tag cap_tag;
	enum fp_mode cap_mode;
	struct fp_work *cap_work;
	bool cap_markup;    /* raw child elements seen: escape text */
	bool cap_permalink; /* guid isPermaLink is not "false" */
	char *cap_base;
	struct buf cap;
	struct html2text *h2t; /* owned: renders HTML fields; NULL until
				* the first */

	/* the first error libxml2 reported, fatal ones preferred */
	bool broken;
	bool broken_at_end; /* found by the final xmlParseChunk */
	int err_level;
	int err_line;
	char err_msg[256];
	char warn[256]; /* the first problem repaired on the way */
};

static void fp_warn(struct feed_parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void fp_warn(struct feed_parser *p, const char *fmt, ...)
{
	va_list ap;

	if (p->warn[0])
		return;
	va_start(ap, fmt);
	vsnprintf(p->warn, sizeof(p->warn), fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------------ */
/* Decode: whatever the charset, valid UTF-8 comes out                 */

/* Bytes eight at a time (SWAR). */
#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull
#define LOWS 0x7F7F7F7F7F7F7F7Full

/* The high bit of each byte of w that is zero (exact: no borrow from one
 * byte into the next). */
static uint64_t zero_bytes(uint64_t w)
{
	return ~(((w & LOWS) + LOWS) | w | LOWS);
}

/* The number of ASCII bytes at the start of s (n bytes), eight at a
 * time where it can. */
static size_t ascii_run(const unsigned char *s, size_t n)
{
	size_t i = 0;
	uint64_t w;

	while (n - i >= 8) {
		memcpy(&w, s + i, 8);
		if (w & HIGHS)
			break;
		i += 8;
	}
	while (i < n && s[i] < 0x80)
		i++;
	return i;
}

/* Appends the UTF-8 at s (n bytes) to out, each byte of an invalid
 * sequence (U+FFFE and U+FFFF included) becoming U+FFFD. A sequence cut
 * at the end is left unread (*used < n) unless eof. */
static int dec_utf8(struct buf *out, const unsigned char *s, size_t n, bool eof,
		    size_t *used)
{
	size_t i = 0, start, need, k;
	int ret = 0;

	while (i < n && !ret) {
		start = i;
		for (;;) {
			i += ascii_run(s + i, n - i);
			if (i >= n)
				break;
			need = s[i] >= 0xF0 ? 4 : s[i] >= 0xE0 ? 3 : 2;
			if (s[i] >= 0xC2 && s[i] <= 0xF4 && n - i < need)
				break;
			k = text_xml_char_len(s + i, n - i);
			if (k == 0)
				break;
			i += k;
		}
		if (i > start)
			ret = buf_add(out, s + start, i - start);
		if (ret || i >= n)
			break;
		need = s[i] >= 0xF0 ? 4 : s[i] >= 0xE0 ? 3 : 2;
		if (s[i] >= 0xC2 && s[i] <= 0xF4 && n - i < need && !eof)
			break;
		ret = buf_add(out, utf8_replacement, 3);
		i++;
	}
	*used = i;
	return ret;
}

/* ISO-8859-1 as browsers read it: Windows-1252. */
static int dec_1252(struct buf *out, const unsigned char *s, size_t n)
{
	unsigned char tmp[1024];
	size_t i, o = 0;
	uint32_t cp;
	int ret = 0;

	for (i = 0; i < n && !ret; i++) {
		cp = s[i];
		if (cp >= 0x80 && cp < 0xA0)
			cp = cp1252[cp - 0x80];
		o += utf8_put(cp, tmp + o);
		if (o > sizeof(tmp) - 4) {
			ret = buf_add(out, tmp, o);
			o = 0;
		}
	}
	return ret || o == 0 ? ret : buf_add(out, tmp, o);
}

static int dec_utf16(struct buf *out, const unsigned char *s, size_t n, bool be,
		     bool eof, size_t *used)
{
	unsigned char tmp[1024];
	size_t i = 0, o = 0;
	uint32_t u, u2;
	int ret = 0;

	while (n - i >= 2 && !ret) {
		u = be ? (uint32_t)(s[i] << 8 | s[i + 1])
		       : (uint32_t)(s[i] | s[i + 1] << 8);
		if (u >= 0xD800 && u <= 0xDBFF) {
			if (n - i < 4 && !eof)
				break;
			u2 = 0;
			if (n - i >= 4)
				u2 = be ? (uint32_t)(s[i + 2] << 8 | s[i + 3])
					: (uint32_t)(s[i + 2] | s[i + 3] << 8);
			if (u2 >= 0xDC00 && u2 <= 0xDFFF) {
				u = 0x10000 + ((u - 0xD800) << 10) +
				    (u2 - 0xDC00);
				i += 2;
			} else {
				u = 0xFFFD;
			}
		} else if ((u >= 0xDC00 && u <= 0xDFFF) || u == 0xFFFE ||
			   u == 0xFFFF) {
			u = 0xFFFD;
		}
		i += 2;
		o += utf8_put(u, tmp + o);
		if (o > sizeof(tmp) - 4) {
			ret = buf_add(out, tmp, o);
			o = 0;
		}
	}
	if (!ret && eof && i < n) { /* an odd byte at the end */
		o += utf8_put(0xFFFD, tmp + o);
		i = n;
	}
	if (!ret && o > 0)
		ret = buf_add(out, tmp, o);
	*used = i;
	return ret;
}

/* Any other charset through iconv; a byte it cannot convert becomes
 * U+FFFD and conversion goes on after it. */
static int dec_iconv(struct feed_parser *p, char *s, size_t n, bool eof,
		     size_t *used)
{
	char tmp[4096], *in = s, *o;
	size_t left = n, room, r, k;
	int ret = 0, e = 0;

	while (!ret) {
		o = tmp;
		room = sizeof(tmp);
		if (left > 0)
			r = iconv(p->cd, &in, &left, &o, &room);
		else if (eof)
			r = iconv(p->cd, NULL, NULL, &o, &room);
		else
			break;
		e = r == (size_t)-1 ? errno : 0;
		if (o > tmp)
			ret = dec_utf8(&p->text, (const unsigned char *)tmp,
				       (size_t)(o - tmp), true, &k);
		if (ret)
			break;
		if (r != (size_t)-1) {
			if (left == 0)
				break;
			continue;
		}
		if (e == E2BIG)
			continue;
		if (e == EINVAL && !eof)
			break; /* a sequence cut by the chunk: wait */
		/* EILSEQ, or a cut sequence at the end */
		ret = buf_add(&p->text, utf8_replacement, 3);
		in++;
		left--;
		if (e == EINVAL) {
			in += left;
			left = 0;
		}
	}
	*used = n - left;
	return ret;
}

/* The encoding named by an XML declaration at the start of s: returns 1
 * with the name in out, 0 when there is none, -1 when more bytes could
 * tell. */
static int sniff_declared(const unsigned char *s, size_t n, bool eof, char *out,
			  size_t size)
{
	size_t lim = n < FEED_SNIFF_MAX ? n : FEED_SNIFF_MAX, i = 0, end;
	bool more = !eof && n < FEED_SNIFF_MAX;
	unsigned char quote;
	size_t start;

	while (i < lim && is_space(s[i]))
		i++;
	if (lim - i < 5)
		return more && !memcmp(s + i, "<?xml", lim - i) ? -1 : 0;
	if (memcmp(s + i, "<?xml", 5) != 0)
		return 0;
	for (end = i + 5; end + 1 < lim; end++)
		if (s[end] == '?' && s[end + 1] == '>')
			break;
	if (end + 1 >= lim)
		return more ? -1 : 0;
	for (i += 5; i + 8 <= end; i++)
		if (memcmp(s + i, "encoding", 8) == 0)
			break;
	if (i + 8 > end)
		return 0;
	i += 8;
	while (i < end && (is_space(s[i]) || s[i] == '='))
		i++;
	if (i >= end || (s[i] != '"' && s[i] != '\''))
		return 0;
	quote = s[i];
	start = ++i;
	while (i < end && s[i] != quote &&
	       (name_char(s[i]) && s[i] < 0x80 && s[i] != ':'))
		i++;
	if (i >= end || s[i] != quote || i == start || i - start >= size)
		return 0;
	memcpy(out, s + start, i - start);
	out[i - start] = '\0';
	return 1;
}

/* Chooses how to decode a document labelled name. */
static void enc_choose(struct feed_parser *p, const char *name)
{
	static const char *const latin[] = {
		"iso-8859-1", "iso8859-1",	 "iso_8859-1",
		"latin1",     "latin-1",	 "l1",
		"cp819",      "ibm819",		 "us-ascii",
		"ascii",      "ansi_x3.4-1968",	 "windows-1252",
		"cp1252",     "x-cp1252",	 "csisolatin1",
		"iso-ir-100", "iso_8859-1:1987",
	};
	/* Named Unicode, yet read as ASCII-compatible bytes: it is UTF-8
	 * whatever the label says. */
	static const char *const unicode[] = {
		"utf-8",    "utf8",	"utf-16", "utf-16le",
		"utf-16be", "utf16",	"ucs-2",  "utf-32",
		"utf-32le", "utf-32be", "ucs-4",  "unicode",
	};
	/* What browsers use for these labels (the WHATWG Encoding
	 * Standard): supersets that real feeds rely on. */
	static const struct {
		const char *label;
		const char *iconv;
	} aliases[] = {
		{"shift_jis", "CP932"},	     {"shift-jis", "CP932"},
		{"sjis", "CP932"},	     {"x-sjis", "CP932"},
		{"ms_kanji", "CP932"},	     {"windows-31j", "CP932"},
		{"gb2312", "GB18030"},	     {"gbk", "GB18030"},
		{"x-gbk", "GB18030"},	     {"euc-kr", "CP949"},
		{"ks_c_5601-1987", "CP949"},
	};
	const char *target = name;
	size_t k;

	p->dec = DEC_UTF8;
	if (!name)
		return;
	for (k = 0; k < sizeof(unicode) / sizeof(unicode[0]); k++)
		if (!strcasecmp(name, unicode[k]))
			return;
	for (k = 0; k < sizeof(latin) / sizeof(latin[0]); k++) {
		if (!strcasecmp(name, latin[k])) {
			p->dec = DEC_1252;
			return;
		}
	}
	for (k = 0; k < sizeof(aliases) / sizeof(aliases[0]); k++)
		if (!strcasecmp(name, aliases[k].label))
			target = aliases[k].iconv;
	p->cd = iconv_open("UTF-8", target);
	if (p->cd == (iconv_t)-1) {
		fp_warn(p, "line 1: unknown encoding \"%.40s\"; read as UTF-8",
			name);
		return;
	}
	p->dec = DEC_ICONV;
}

/* Decides the encoding from the first bytes: a byte order mark, else
 * the XML declaration, else the Content-Type's charset, else UTF-8.
 * Returns false while more bytes could change the answer. */
static bool sniff_encoding(struct feed_parser *p, bool eof)
{
	const unsigned char *s = (const unsigned char *)p->raw.ptr;
	size_t n = p->raw.len, bom = 0;
	char name[64];
	int r;

	if (n < 4 && !eof)
		return false;
	if (n >= 3 && s[0] == 0xEF && s[1] == 0xBB && s[2] == 0xBF) {
		p->dec = DEC_UTF8;
		bom = 3;
	} else if (n >= 4 &&
		   ((s[0] == 0xFF && s[1] == 0xFE && !s[2] && !s[3]) ||
		    (!s[0] && !s[1] && s[2] == 0xFE && s[3] == 0xFF))) {
		bom = 4;
		p->cd = iconv_open("UTF-8", s[0] ? "UTF-32LE" : "UTF-32BE");
		p->dec = p->cd == (iconv_t)-1 ? DEC_UTF8 : DEC_ICONV;
	} else if (n >= 2 && s[0] == 0xFF && s[1] == 0xFE) {
		p->dec = DEC_UTF16LE;
		bom = 2;
	} else if (n >= 2 && s[0] == 0xFE && s[1] == 0xFF) {
		p->dec = DEC_UTF16BE;
		bom = 2;
	} else if (n >= 4 && s[0] && !s[1] && s[2] && !s[3]) {
		p->dec = DEC_UTF16LE; /* "<\0?\0" and the like */
	} else if (n >= 4 && !s[0] && s[1] && !s[2] && s[3]) {
		p->dec = DEC_UTF16BE;
	} else {
		r = sniff_declared(s, n, eof, name, sizeof(name));
		if (r < 0)
			return false;
		enc_choose(p, r > 0 ? name : p->charset);
	}
	buf_drop_front(&p->raw, bom);
	p->enc_known = true;
	return true;
}

static int decode(struct feed_parser *p, bool eof)
{
	const unsigned char *s = (const unsigned char *)p->raw.ptr;
	size_t n = p->raw.len, used = 0;
	int ret = 0;

	if (n == 0 && !(eof && p->dec == DEC_ICONV))
		return 0;
	switch (p->dec) {
	case DEC_UTF8:
		ret = dec_utf8(&p->text, s, n, eof, &used);
		break;
	case DEC_1252:
		ret = dec_1252(&p->text, s, n);
		used = n;
		break;
	case DEC_UTF16LE:
	case DEC_UTF16BE:
		ret = dec_utf16(&p->text, s, n, p->dec == DEC_UTF16BE, eof,
				&used);
		break;
	case DEC_ICONV:
		ret = dec_iconv(p, p->raw.ptr, n, eof, &used);
		break;
	}
	if (ret)
		return ret;
	buf_drop_front(&p->raw, used);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Prep: what strict XML refuses, repaired on the way to libxml2       */

/*
 * Each step reads one construct at s (n bytes of valid UTF-8) and says in
 * *adv how many bytes it took; 0 means it needs to see more than n bytes
 * to decide, which never happens at eof. Lookahead is capped (PREP_*), and
 * a decision depends only on the bytes up to the cap, never on where a
 * chunk ended: the output is the same however the input was split.
 */

static bool prep_predefined(const unsigned char *name, size_t n)
{
	static const char *const names[] = {"amp", "lt", "gt", "quot", "apos"};
	size_t k;

	for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
		if (strlen(names[k]) == n && memcmp(names[k], name, n) == 0)
			return true;
	return false;
}

static bool prep_xml_char(uint32_t cp)
{
	return cp == 0x9 || cp == 0xA || cp == 0xD ||
	       (cp >= 0x20 && cp <= 0xD7FF) || (cp >= 0xE000 && cp <= 0xFFFD) ||
	       (cp >= 0x10000 && cp <= 0x10FFFF);
}

/* A replacement text we expand ourselves may hold character references
 * and the five predefined ones; anything else (other entities, markup,
 * parameter entities) is refused, which is what stops entity bombs. */
static bool prep_value_complex(const unsigned char *v, size_t len)
{
	size_t i, n;

	for (i = 0; i < len; i++) {
		if (v[i] == '<' || v[i] == '%')
			return true;
		if (v[i] != '&')
			continue;
		if (i + 1 < len && v[i + 1] == '#') {
			n = i + 2;
			if (n < len && (v[n] == 'x' || v[n] == 'X'))
				n++;
			while (n < len && ((v[n] >= '0' && v[n] <= '9') ||
					   (v[n] >= 'a' && v[n] <= 'f') ||
					   (v[n] >= 'A' && v[n] <= 'F')))
				n++;
			if (n >= len || v[n] != ';')
				return true;
			continue;
		}
		n = name_len(v + i + 1, len - i - 1);
		if (n == 0 || i + 1 + n >= len || v[i + 1 + n] != ';' ||
		    !prep_predefined(v + i + 1, n))
			return true;
	}
	return false;
}

static int prep_newlines(struct feed_parser *p, unsigned long n)
{
	int ret = 0;

	p->prep.line += n;
	while (n-- > 0 && !ret)
		ret = buf_addc(&p->xml, '\n');
	return ret;
}

static const struct prep_entity *prep_find(const struct prep *pp,
					   const unsigned char *name, size_t n)
{
	size_t k;

	/* The first declaration binds (XML 1.0 section 4.2). */
	for (k = 0; k < pp->n_ents; k++)
		if (strlen(pp->ents[k].name) == n &&
		    memcmp(pp->ents[k].name, name, n) == 0)
			return &pp->ents[k];
	return NULL;
}

/* At "<!ENTITY" in the internal subset: notes a general entity. Sets
 * *more when the declaration may go on past n bytes. */
static int prep_entity_decl(struct prep *pp, const unsigned char *s, size_t n,
			    bool eof, bool *more)
{
	size_t lim = n < PREP_DECL_MAX ? n : PREP_DECL_MAX;
	bool can_more = !eof && n < PREP_DECL_MAX;
	size_t j = 8, name, nlen, start = 0, vlen = 0;
	struct prep_entity *ent, *ents;
	unsigned char quote;
	bool external = false, too_long = false;

	*more = false;
	if (pp->n_ents >= FEED_MAX_ENTITIES)
		return 0;
	while (j < lim && is_space(s[j]))
		j++;
	if (j >= lim) {
		*more = can_more;
		return 0;
	}
	if (j == 8 || s[j] == '%') /* no space, or a parameter entity */
		return 0;
	name = j;
	nlen = name_len(s + j, lim - j);
	j += nlen;
	if (j >= lim) {
		*more = can_more;
		return 0;
	}
	if (nlen == 0 || nlen > PREP_NAME_MAX)
		return 0;
	while (j < lim && is_space(s[j]))
		j++;
	if (j >= lim) {
		*more = can_more;
		return 0;
	}
	if (s[j] == '"' || s[j] == '\'') {
		quote = s[j];
		start = ++j;
		while (j < lim && s[j] != quote)
			j++;
		if (j >= lim && can_more) {
			*more = true;
			return 0;
		}
		vlen = j - start;
		too_long = j >= lim || vlen > FEED_MAX_ENTITY_VALUE ||
			   pp->ent_bytes + vlen > FEED_MAX_ENTITY_BYTES;
	} else {
		external = true;
	}
	ents = realloc(pp->ents, (pp->n_ents + 1) * sizeof(*ents));
	if (!ents)
		return -ENOMEM;
	pp->ents = ents;
	ent = &ents[pp->n_ents];
	memset(ent, 0, sizeof(*ent));
	ent->name = strndup((const char *)s + name, nlen);
	if (!ent->name)
		return -ENOMEM;
	ent->external = external;
	ent->too_long = too_long;
	if (!external && !too_long) {
		ent->value = strndup((const char *)s + start, vlen);
		if (!ent->value) {
			free(ent->name);
			return -ENOMEM;
		}
		ent->value_len = vlen;
		ent->complex = prep_value_complex(s + start, vlen);
		pp->ent_bytes += vlen;
	}
	pp->n_ents++;
	return 0;
}

static int prep_expand(struct feed_parser *p, const struct prep_entity *ent)
{
	struct prep *pp = &p->prep;
	unsigned long long budget = pp->consumed + FEED_EXPAND_SLACK;
	size_t i, run = 0;
	int ret = 0;

	if (ent->complex || ent->too_long) {
		err_set(&p->err,
			"line %lu: entity '%.64s' %s; such documents are "
			"refused",
			pp->line, ent->name,
			ent->complex
				? "refers to other entities or holds markup"
				: "is too long");
		return -EPROTO;
	}
	pp->expanded += ent->value_len;
	if (pp->expanded > budget) {
		err_set(&p->err,
			"line %lu: entity expansion exceeds %llu bytes; "
			"refused",
			pp->line, budget);
		return -EPROTO;
	}
	/* C0 controls other than tab, LF and CR go, as in content */
	for (i = 0; i <= ent->value_len && !ret; i++) {
		if (i < ent->value_len &&
		    ((unsigned char)ent->value[i] >= 0x20 ||
		     ent->value[i] == '\t' || ent->value[i] == '\n' ||
		     ent->value[i] == '\r'))
			continue;
		ret = buf_add(&p->xml, ent->value + run, i - run);
		run = i + 1;
	}
	return ret;
}

/* "&#...;" at s: a character XML forbids becomes U+FFFD, and &#128; to
 * &#159; are read as Windows-1252. */
static int prep_charref(struct feed_parser *p, const unsigned char *s, size_t n,
			bool eof, size_t *adv)
{
	size_t lim = n < PREP_REF_MAX ? n : PREP_REF_MAX, i = 2, digits = 0;
	bool hex = lim > 2 && (s[2] == 'x' || s[2] == 'X');
	uint32_t v = 0, d, fixed;

	if (hex)
		i++;
	for (; i < lim; i++, digits++) {
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
	if (i >= lim && !eof && n < PREP_REF_MAX) {
		*adv = 0;
		return 0;
	}
	if (digits == 0 || i >= lim || s[i] != ';') {
		*adv = 1;
		return buf_adds(&p->xml, "&amp;");
	}
	*adv = i + 1;
	fixed = v;
	if (v >= 0x80 && v <= 0x9F)
		fixed = cp1252[v - 0x80];
	else if (!prep_xml_char(v))
		fixed = 0xFFFD;
	if (fixed == v)
		return buf_add(&p->xml, s, i + 1);
	return buf_printf(&p->xml, "&#%u;", (unsigned)fixed);
}

/* At '&' in content or an attribute value. Undeclared names are what
 * real feeds get wrong most (HTML's &nbsp; &eacute; &rsquo; without a
 * DTD), and a stray '&' ("Q&A") comes next: both are repaired here
 * instead of failing the whole feed. */
static int prep_ref(struct feed_parser *p, const unsigned char *s, size_t n,
		    bool eof, size_t *adv)
{
	size_t lim = n < PREP_REF_MAX ? n : PREP_REF_MAX, k;
	bool can_more = !eof && n < PREP_REF_MAX;
	const struct prep_entity *ent;
	const htmlEntityDesc *html;
	char name[33];

	*adv = 0;
	if (lim < 2 && can_more)
		return 0;
	if (lim >= 2 && s[1] == '#')
		return prep_charref(p, s, n, eof, adv);
	k = name_len(s + 1, lim - 1);
	if (k > 0 && 1 + k >= lim && can_more)
		return 0;
	if (k == 0 || 1 + k >= lim || s[1 + k] != ';') {
		*adv = 1;
		return buf_adds(&p->xml, "&amp;");
	}
	*adv = k + 2;
	if (prep_predefined(s + 1, k))
		return buf_add(&p->xml, s, k + 2);
	ent = prep_find(&p->prep, s + 1, k);
	if (ent) /* an external entity is never read: it stands for nothing */
		return ent->external ? 0 : prep_expand(p, ent);
	html = NULL;
	if (k < sizeof(name)) {
		memcpy(name, s + 1, k);
		name[k] = '\0';
		html = htmlEntityLookup(BAD_CAST name);
	}
	if (html)
		return buf_printf(&p->xml, "&#%u;", html->value);
	/* Unknown: keep the text as written. */
	*adv = 1;
	return buf_adds(&p->xml, "&amp;");
}

static bool prep_starts(const unsigned char *s, size_t n, const char *lit)
{
	size_t k = strlen(lit);

	return n >= k && memcmp(s, lit, k) == 0;
}

/* At '<' in content: comments, PIs and CDATA sections change mode, a
 * DOCTYPE before the root is dropped, and the first element's name and
 * line are noted for messages. */
static int prep_lt(struct feed_parser *p, const unsigned char *s, size_t n,
		   bool eof, size_t *adv)
{
	struct prep *pp = &p->prep;
	size_t k;

	*adv = 0;
	if (n < 9 && !eof)
		return 0;
	if (prep_starts(s, n, "<!--")) {
		pp->after = PM_CONTENT;
		pp->mode = PM_COMMENT;
		*adv = 4;
		return 0;
	}
	if (prep_starts(s, n, "<![CDATA[")) {
		pp->mode = PM_CDATA;
		*adv = 9;
		return 0;
	}
	if (prep_starts(s, n, "<?")) {
		pp->after = PM_CONTENT;
		pp->mode = PM_PI;
		*adv = 2;
		return 0;
	}
	if (!pp->seen_root && n >= 9 &&
	    !strncasecmp((const char *)s, "<!DOCTYPE", 9)) {
		pp->mode = PM_DOCTYPE;
		pp->doctype_line = pp->line;
		pp->subset = false;
		pp->quote = 0;
		*adv = 9;
		return 0;
	}
	if (pp->seen_root && !pp->root_end_seen && n > 1 && s[1] == '/') {
		k = strlen(pp->root);
		if (n < k + 3 && !eof)
			return 0;
		pp->root_end_seen = n >= k + 2 && !memcmp(s + 2, pp->root, k) &&
				    (n == k + 2 || !name_char(s[k + 2]));
	}
	if (!pp->seen_root && n > 1 && name_start(s[1])) {
		k = name_len(s + 1, n - 1);
		if (1 + k == n && n < 66 && !eof)
			return 0;
		if (k > 64) {
			k = 64;
			while (k > 0 && (s[1 + k] & 0xC0) == 0x80)
				k--;
		}
		memcpy(pp->root, s + 1, k);
		pp->root[k] = '\0';
		pp->root_line = pp->line;
		pp->seen_root = true;
	}
	*adv = 1;
	return buf_addc(&p->xml, '<');
}

static bool prep_control(unsigned char c)
{
	return c < 0x20 && c != '\t' && c != '\n' && c != '\r';
}

/* Bytes that end a run of text in prep_content: markup, references and
 * the controls XML forbids. */
static const bool prep_stop[256] = {
	[0x00] = 1, [0x01] = 1, [0x02] = 1, [0x03] = 1, [0x04] = 1, [0x05] = 1,
	[0x06] = 1, [0x07] = 1, [0x08] = 1, [0x0B] = 1, [0x0C] = 1, [0x0E] = 1,
	[0x0F] = 1, [0x10] = 1, [0x11] = 1, [0x12] = 1, [0x13] = 1, [0x14] = 1,
	[0x15] = 1, [0x16] = 1, [0x17] = 1, [0x18] = 1, [0x19] = 1, [0x1A] = 1,
	[0x1B] = 1, [0x1C] = 1, [0x1D] = 1, [0x1E] = 1, [0x1F] = 1, ['&'] = 1,
	['<'] = 1,
};

/* How many bytes at the start of s (n bytes) are whole 8-byte words of
 * plain text for prep_content: no '<', '&' or control but line feeds,
 * which are added to *lines. */
static size_t prep_plain_words(const unsigned char *s, size_t n,
			       unsigned long *lines)
{
	size_t k = 0;
	uint64_t w, nl, stop;

	while (n - k >= 8) {
		memcpy(&w, s + k, 8);
		nl = zero_bytes(w ^ (ONES * '\n'));
		stop = zero_bytes(w ^ (ONES * '<')) |
		       zero_bytes(w ^ (ONES * '&')) |
		       (zero_bytes(w & (ONES * 0xE0)) & ~nl);
		if (stop)
			break;
		if (nl) /* without -mpopcnt a call: most words have none */
			*lines += (unsigned long)__builtin_popcountll(nl);
		k += 8;
	}
	return k;
}

/* At '&' (s[k]) with s holding n bytes: the index just past a whole
 * predefined reference (&lt; &gt; &amp; &quot; &apos;), or 0 when there
 * is none (or not all of it is here yet). */
static size_t prep_skip_predefined(const unsigned char *s, size_t n, size_t k)
{
	static const struct {
		const char *text;
		size_t len;
	} refs[] = {{"&lt;", 4},
		    {"&gt;", 4},
		    {"&amp;", 5},
		    {"&quot;", 6},
		    {"&apos;", 6}};

	for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++)
		if (n - k >= refs[i].len &&
		    memcmp(s + k, refs[i].text, refs[i].len) == 0)
			return k + refs[i].len;
	return 0;
}

static int prep_content(struct feed_parser *p, const unsigned char *s, size_t n,
			bool eof, size_t *adv)
{
	unsigned long lines = 0;
	size_t k = 0;

	if (s[0] == '<' && !(p->prep.seen_root && n > 1 && name_start(s[1])))
		return prep_lt(p, s, n, eof, adv);
	if (s[0] == '&' && !prep_skip_predefined(s, n, 0))
		return prep_ref(p, s, n, eof, adv);
	if (prep_control(s[0])) { /* XML forbids them */
		*adv = 1;
		return 0;
	}
	if (n > FEED_XML_BLOCK)
		n = FEED_XML_BLOCK;
	/* Text, start tags once the root is known, and the five
	 * predefined references pass through unchanged, in one run;
	 * anything else ends it and goes one step at a time. */
	while (k < n) {
		unsigned char c;
		size_t past;

		k += prep_plain_words(s + k, n - k, &lines);
		if (k >= n)
			break;
		c = s[k];
		if (!prep_stop[c]) {
			lines += c == '\n';
			k++;
		} else if (c == '&' && (past = prep_skip_predefined(s, n, k))) {
			k = past;
		} else if (c == '<' && p->prep.seen_root && k + 1 < n &&
			   name_start(s[k + 1])) {
			k++;
		} else {
			break;
		}
	}
	p->prep.line += lines;
	*adv = k;
	return buf_add(&p->xml, s, k);
}

/* Comments and PIs are dropped but for their line breaks, which keep
 * libxml2's line numbers those of the document. */
static int prep_dropped(struct feed_parser *p, const unsigned char *s, size_t n,
			bool eof, size_t *adv)
{
	const char *close = p->prep.mode == PM_COMMENT ? "-->" : "?>";
	size_t cl = strlen(close), k = 0;
	unsigned long lines = 0;

	*adv = 0;
	if (s[0] == (unsigned char)close[0]) {
		if (n < cl && !eof)
			return 0;
		if (prep_starts(s, n, close)) {
			p->prep.mode = p->prep.after;
			*adv = cl;
			return 0;
		}
		*adv = 1;
		return 0;
	}
	while (k < n && s[k] != (unsigned char)close[0]) {
		if (s[k] == '\n')
			lines++;
		k++;
	}
	*adv = k;
	return prep_newlines(p, lines);
}

/* A CDATA section becomes escaped text: libxml2 then streams it like any
 * other text instead of holding it whole until its end. */
static int prep_cdata(struct feed_parser *p, const unsigned char *s, size_t n,
		      bool eof, size_t *adv)
{
	unsigned long lines = 0;
	size_t k = 0;

	*adv = 1;
	switch (s[0]) {
	case ']':
		if (n < 3 && !eof) {
			*adv = 0;
			return 0;
		}
		if (prep_starts(s, n, "]]>")) {
			p->prep.mode = PM_CONTENT;
			*adv = 3;
			return 0;
		}
		return buf_addc(&p->xml, ']');
	case '<':
		return buf_adds(&p->xml, "&lt;");
	case '>':
		return buf_adds(&p->xml, "&gt;");
	case '&':
		return buf_adds(&p->xml, "&amp;");
	default:
		break;
	}
	if (prep_control(s[0]))
		return 0;
	while (k < n && k < FEED_XML_BLOCK && s[k] != ']' && s[k] != '<' &&
	       s[k] != '>' && s[k] != '&' && !prep_control(s[k])) {
		if (s[k] == '\n')
			lines++;
		k++;
	}
	p->prep.line += lines;
	*adv = k;
	return buf_add(&p->xml, s, k);
}

static int prep_step(struct feed_parser *p, const unsigned char *s, size_t n,
		     bool eof, size_t *adv);

/* The DOCTYPE is dropped whole (we never load or apply a DTD), but its
 * internal subset's entity declarations are noted for prep_ref. */
static int prep_doctype(struct feed_parser *p, const unsigned char *s, size_t n,
			bool eof, size_t *adv)
{
	struct prep *pp = &p->prep;
	unsigned char c = s[0];
	bool more;
	int ret;

	*adv = 1;
	if (c == '\n')
		return prep_newlines(p, 1);
	if (c == '<' && !pp->subset) {
		/* An unclosed literal or a missing '>': the DOCTYPE ends
		 * where the markup after it starts. */
		fp_warn(p, "line %lu: malformed DOCTYPE ignored",
			pp->doctype_line);
		pp->mode = PM_CONTENT;
		return prep_step(p, s, n, eof, adv);
	}
	if (pp->quote) {
		if (c == pp->quote)
			pp->quote = 0;
		return 0;
	}
	if (c == '"' || c == '\'') {
		pp->quote = c;
		return 0;
	}
	if (!pp->subset) {
		if (c == '[')
			pp->subset = true;
		else if (c == '>')
			pp->mode = PM_CONTENT;
		return 0;
	}
	if (c == ']') {
		pp->subset = false;
		return 0;
	}
	if (c != '<')
		return 0;
	if (n < 8 && !eof) {
		*adv = 0;
		return 0;
	}
	if (prep_starts(s, n, "<!--")) {
		pp->after = PM_DOCTYPE;
		pp->mode = PM_COMMENT;
		*adv = 4;
	} else if (prep_starts(s, n, "<?")) {
		pp->after = PM_DOCTYPE;
		pp->mode = PM_PI;
		*adv = 2;
	} else if (prep_starts(s, n, "<!ENTITY")) {
		ret = prep_entity_decl(pp, s, n, eof, &more);
		if (ret)
			return ret;
		*adv = more ? 0 : 8;
	}
	return 0;
}

static int prep_step(struct feed_parser *p, const unsigned char *s, size_t n,
		     bool eof, size_t *adv)
{
	switch (p->prep.mode) {
	case PM_COMMENT:
	case PM_PI:
		return prep_dropped(p, s, n, eof, adv);
	case PM_CDATA:
		return prep_cdata(p, s, n, eof, adv);
	case PM_DOCTYPE:
		return prep_doctype(p, s, n, eof, adv);
	case PM_CONTENT:
		break;
	}
	return prep_content(p, s, n, eof, adv);
}

/* ------------------------------------------------------------------ */
/* Feeding libxml2                                                     */

/* libxml2's generic error channel (printf-style pieces) would go to
 * stderr; the errors that matter also arrive, whole, through serror. */
static void fp_quiet(void *ctx, const char *msg, ...)
{
}

static void xml_chunk(struct feed_parser *p, const char *data, size_t len,
		      bool terminate)
{
	xmlGenericErrorFunc old_error = xmlGenericError;
	void *old_ctx = xmlGenericErrorContext;

	xmlSetGenericErrorFunc(p, fp_quiet);
	p->terminating = terminate;
	xmlParseChunk(p->ctxt, data, (int)len, terminate);
	p->terminating = false;
	xmlSetGenericErrorFunc(old_ctx, old_error);
}

/* Hands libxml2 every full block waiting (and, at the end, the rest):
 * always FEED_XML_BLOCK bytes at a time, so that it sees the same calls
 * however the input was chunked. Stops at the first fatal error. */
static void xml_feed(struct feed_parser *p, bool terminate)
{
	size_t off = 0;

	while (!p->ret && !p->broken && p->xml.len - off >= FEED_XML_BLOCK) {
		xml_chunk(p, p->xml.ptr + off, FEED_XML_BLOCK, false);
		off += FEED_XML_BLOCK;
	}
	if (terminate && !p->ret && !p->broken) {
		xml_chunk(p, p->xml.len > off ? p->xml.ptr + off : "",
			  p->xml.len - off, true);
		off = p->xml.len;
	}
	if (p->ret || p->broken)
		off = p->xml.len; /* the rest is never read */
	buf_drop_front(&p->xml, off);
}

/* Runs the prep stage over the decoded text at s; *used says how much it
 * took (the rest waits for more). */
static int prep_run(struct feed_parser *p, const unsigned char *s, size_t n,
		    bool eof, size_t *used)
{
	size_t i = 0, adv;
	int ret = 0;

	while (i < n && !p->ret && !p->broken) {
		ret = prep_step(p, s + i, n - i, eof, &adv);
		if (ret || adv == 0)
			break;
		i += adv;
		p->prep.consumed += adv;
		if (p->xml.len >= FEED_XML_BLOCK)
			xml_feed(p, false);
	}
	*used = i;
	return ret;
}

/* ------------------------------------------------------------------ */
/* SAX: elements to items                                              */

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
	{NS_RSS, "slash:comments", TAG_SLASH_COMMENTS},
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
	{NS_THR, "in-reply-to", TAG_THR_IN_REPLY_TO},
	{NS_THR, "total", TAG_THR_TOTAL},
	{NS_SLASH, "comments", TAG_SLASH_COMMENTS},
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
	K_REPLYTO,  /* thr:in-reply-to: attributes ref and href */
	K_COUNT,    /* a number */
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
	/* prio 3 in Atom; inside RSS, atom:link yields to <link> (1) */
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
	[TAG_THR_IN_REPLY_TO] = {F_IN_REPLY_TO, 1, K_REPLYTO},
	[TAG_THR_TOTAL] = {F_COMMENTS, 2, K_COUNT},
	[TAG_SLASH_COMMENTS] = {F_COMMENTS, 1, K_COUNT},
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
	w->date[F_PUBLISHED] = FEED_DATE_NONE;
	w->date[F_UPDATED] = FEED_DATE_NONE;
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

static void fp_set_date(struct fp_work *w, enum fp_field f, int prio,
			const char *text)
{
	int64_t t;

	if (text && feed_parse_date(text, &t) == 0 &&
	    (w->prio[f] < prio || w->date[f] == FEED_DATE_NONE)) {
		w->date[f] = t;
		w->prio[f] = prio;
	}
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

static void fp_stop(struct feed_parser *p, int ret)
{
	if (!p->ret) {
		p->ret = ret;
		if (ret == -ENOMEM)
			err_set(&p->err, "out of memory");
	}
	xmlStopParser(p->ctxt);
}

static void sax_error(void *arg, xmlErrorPtr e)
{
	struct feed_parser *p = arg;
	size_t n;
	char *c;

	if (!e || e->level < XML_ERR_ERROR)
		return;
	if (e->level == XML_ERR_FATAL && !p->broken) {
		p->broken = true;
		p->broken_at_end = p->terminating;
	}
	if (p->err_level >= (int)e->level)
		return;
	p->err_level = (int)e->level;
	p->err_line = e->line > 0 ? e->line : 1;
	snprintf(p->err_msg, sizeof(p->err_msg), "%s",
		 e->message ? e->message : "unknown error");
	for (c = p->err_msg; *c; c++)
		if ((unsigned char)*c < 0x20)
			*c = ' ';
	n = strlen(p->err_msg);
	while (n > 0 && p->err_msg[n - 1] == ' ')
		p->err_msg[--n] = '\0';
}

/* Refuses every external entity, DTD and XInclude: nothing outside the
 * bytes pushed is ever read. Process-wide in libxml2. */
static xmlParserInputPtr fp_no_loader(const char *url, const char *id,
				      xmlParserCtxtPtr ctxt)
{
	return NULL;
}

static xmlParserInputPtr sax_no_entity(void *ctx, const xmlChar *public_id,
				       const xmlChar *system_id)
{
	return NULL;
}

static void fp_init_once(void)
{
	xmlInitParser();
	xmlSetExternalEntityLoader(fp_no_loader);
}

/* ---- attributes ---- */

/* Finds attribute local (with namespace ns, or none) among libxml2's
 * (localname, prefix, URI, value, end) quintuples. */
static bool fp_attr(const xmlChar **attrs, int n, const char *local,
		    const char *ns, const char **v, size_t *len)
{
	const xmlChar **a;
	int k;

	for (k = 0; k < n; k++) {
		a = attrs + 5 * k;
		if (strcmp((const char *)a[0], local) != 0)
			continue;
		if (ns ? !a[2] || strcmp((const char *)a[2], ns) != 0
		       : a[1] != NULL || a[2] != NULL)
			continue;
		*v = (const char *)a[3];
		*len = (size_t)(a[4] - a[3]);
		return true;
	}
	return false;
}

/* Without entity substitution libxml2 hands '&' in attribute values on
 * as "&#38;": undo that. */
static char *fp_attr_text(const char *v, size_t len)
{
	char *s = malloc(len + 1), *o = s;
	size_t i;

	if (!s)
		return NULL;
	for (i = 0; i < len; i++) {
		*o++ = v[i];
		if (v[i] == '&' && len - i >= 5 && !memcmp(v + i, "&#38;", 5))
			i += 4;
	}
	*o = '\0';
	return s;
}

/* Copies attribute local into *out (NULL when absent). */
static int fp_attr_dup(const xmlChar **attrs, int n, const char *local,
		       const char *ns, char **out)
{
	const char *v;
	size_t len;

	*out = NULL;
	if (!fp_attr(attrs, n, local, ns, &v, &len))
		return 0;
	*out = fp_attr_text(v, len);
	return *out ? 0 : -ENOMEM;
}

static bool fp_attr_is(const xmlChar **attrs, int n, const char *local,
		       const char *lit)
{
	const char *v;
	size_t len;

	return fp_attr(attrs, n, local, NULL, &v, &len) && lit_is(v, len, lit);
}

/* ---- base URIs ---- */

static const char *fp_base(const struct feed_parser *p)
{
	if (p->n_bases > 0)
		return p->bases[p->n_bases - 1].uri;
	if (p->base_url)
		return p->base_url;
	return p->self && strstr(p->self, "://") ? p->self : NULL;
}

static int fp_base_push(struct feed_parser *p, int depth, const xmlChar **attrs,
			int n)
{
	struct fp_base *bases;
	char *v, *uri;
	int ret;

	ret = fp_attr_dup(attrs, n, "base", (const char *)XML_XML_NAMESPACE,
			  &v);
	if (ret || !v)
		return ret;
	uri = resolve(v, fp_base(p));
	free(v);
	if (!uri)
		return -ENOMEM;
	if (p->n_bases == p->cap_bases) {
		bases = realloc(p->bases, (p->cap_bases + 8) * sizeof(*bases));
		if (!bases) {
			free(uri);
			return -ENOMEM;
		}
		p->bases = bases;
		p->cap_bases += 8;
	}
	p->bases[p->n_bases].depth = depth;
	p->bases[p->n_bases].uri = uri;
	p->n_bases++;
	return 0;
}

static void fp_base_pop(struct feed_parser *p, int depth)
{
	if (p->n_bases > 0 && p->bases[p->n_bases - 1].depth == depth)
		free(p->bases[--p->n_bases].uri);
}

/* ---- elements ---- */

static enum fp_ns fp_ns_of(const struct feed_parser *p, const char *uri)
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
	if (!strcmp(uri, NS_URI_THR))
		return NS_THR;
	if (!strcmp(uri, NS_URI_SLASH))
		return NS_SLASH;
	return NS_OTHER;
}

static enum fp_tag fp_tag_of(const struct feed_parser *p, const char *local,
			     const char *prefix, const char *uri)
{
	enum fp_ns ns = fp_ns_of(p, uri);
	char qname[64];
	size_t k;
	int n;

	if (prefix && !uri) {
		/* an undeclared prefix: match "dc:creator" as a name */
		n = snprintf(qname, sizeof(qname), "%s:%s", prefix, local);
		if (n < 0 || (size_t)n >= sizeof(qname))
			return TAG_UNKNOWN;
		local = qname;
	}
	for (k = 0; k < sizeof(fp_tag_names) / sizeof(fp_tag_names[0]); k++)
		if (fp_tag_names[k].ns == ns &&
		    !strcmp(fp_tag_names[k].name, local))
			return fp_tag_names[k].tag;
	return TAG_UNKNOWN;
}

static bool fp_feed_root_name(const char *name)
{
	const char *local = strchr(name, ':');

	if (local)
		name = local + 1;
	return !strcmp(name, "rss") || !strcmp(name, "RDF") ||
	       !strcmp(name, "feed");
}

/* Root element: decides the format, or that this is no feed. */
static int fp_root(struct feed_parser *p, const char *local, const char *prefix,
		   const char *uri, int nb_ns, const xmlChar **ns,
		   const xmlChar **attrs, int nb_attrs)
{
	const char *dflt = NULL;
	int k;

	snprintf(p->root, sizeof(p->root), "%.30s%s%.32s", prefix ? prefix : "",
		 prefix ? ":" : "", local);
	if (!strcmp(local, "rss") && (!uri || !strcmp(uri, NS_URI_RSS20))) {
		if (fp_attr_is(attrs, nb_attrs, "version", "0.91"))
			p->format = FEED_FORMAT_RSS091;
		else if (fp_attr_is(attrs, nb_attrs, "version", "0.92") ||
			 fp_attr_is(attrs, nb_attrs, "version", "0.93") ||
			 fp_attr_is(attrs, nb_attrs, "version", "0.94"))
			p->format = FEED_FORMAT_RSS092;
		else if (fp_attr_is(attrs, nb_attrs, "version", "0.90") ||
			 fp_attr_is(attrs, nb_attrs, "version", "0.9"))
			p->format = FEED_FORMAT_RSS090;
		else
			p->format = FEED_FORMAT_RSS20;
	} else if (!strcmp(local, "RDF") && uri && !strcmp(uri, NS_URI_RDF)) {
		for (k = 0; k < nb_ns; k++)
			if (!ns[2 * k])
				dflt = (const char *)ns[2 * k + 1];
		p->format = dflt && !strcmp(dflt, NS_URI_RSS090)
				    ? FEED_FORMAT_RSS090
				    : FEED_FORMAT_RSS10;
	} else if (!strcmp(local, "feed") &&
		   (!uri || !strcmp(uri, NS_URI_ATOM10) ||
		    !strcmp(uri, NS_URI_ATOM03))) {
		if ((uri && !strcmp(uri, NS_URI_ATOM03)) ||
		    (!uri && fp_attr_is(attrs, nb_attrs, "version", "0.3")))
			p->format = FEED_FORMAT_ATOM03;
		else
			p->format = FEED_FORMAT_ATOM10;
		p->atom = true;
		p->atom_bare = !uri;
		p->inherit_author = true;
		p->chan_depth = 0;
	} else {
		err_set(&p->err, "line %lu: " NOT_A_FEED " (root element <%s>)",
			p->prep.root_line ? p->prep.root_line : 1, p->root);
		return -EPROTO;
	}
	return 0;
}

static enum fp_mode fp_atom_mode(struct feed_parser *p, const xmlChar **attrs,
				 int n)
{
	const char *type = NULL, *mode = NULL, *v;
	size_t tlen = 0, mlen = 0, k;
	bool html = false;

	if (fp_attr(attrs, n, "src", NULL, &v, &k))
		return MODE_SKIP; /* content is elsewhere */
	if (fp_attr(attrs, n, "type", NULL, &type, &tlen))
		for (k = 0; k + 4 <= tlen && !html; k++)
			html = !strncasecmp(type + k, "html", 4);
	fp_attr(attrs, n, "mode", NULL, &mode, &mlen);
	if (mode || p->format == FEED_FORMAT_ATOM03) {
		/* Atom 0.3: mode="xml" (the default), "escaped" or "base64" */
		if (mode && lit_is(mode, mlen, "base64"))
			return MODE_SKIP;
		if (mode && lit_is(mode, mlen, "escaped"))
			return html ? MODE_HTML : MODE_TEXT;
		return html ? MODE_XHTML : MODE_TEXT;
	}
	if (!type || lit_is(type, tlen, "text") ||
	    (tlen >= 5 && !strncasecmp(type, "text/", 5)))
		return type && lit_is(type, tlen, "text/html") ? MODE_HTML
							       : MODE_TEXT;
	if (lit_is(type, tlen, "html"))
		return MODE_HTML;
	if (lit_is(type, tlen, "xhtml") ||
	    lit_is(type, tlen, "application/xhtml+xml"))
		return MODE_XHTML;
	return MODE_SKIP; /* some other media type */
}

/* A one-line attribute value, resolved against the base if a URL. */
static int fp_attr_line(struct feed_parser *p, const xmlChar **attrs, int n,
			const char *local, bool url, char **out)
{
	char *v, *line = NULL;
	int ret;

	*out = NULL;
	ret = fp_attr_dup(attrs, n, local, NULL, &v);
	if (ret || !v)
		return ret;
	ret = plain_line(v, strlen(v), &line);
	free(v);
	if (ret || !url)
		goto out;
	*out = resolve(line, fp_base(p));
	free(line);
	return *out ? 0 : -ENOMEM;
out:
	*out = line;
	return ret;
}

static int fp_atom_link(struct feed_parser *p, struct fp_work *w,
			const xmlChar **attrs, int n)
{
	const char *rel;
	size_t len;
	char *link;
	bool has_rel = fp_attr(attrs, n, "rel", NULL, &rel, &len);
	int ret;

	ret = fp_attr_line(p, attrs, n, "href", true, &link);
	if (ret || !link)
		return ret; /* a link without href is no link */
	if (!has_rel || lit_is(rel, len, "alternate")) {
		/* rel="alternate" is the entry itself; none means that */
		fp_set(w, F_LINK, p->atom ? 3 : 1, link);
	} else if (lit_is(rel, len, "self") && w == &p->meta && !p->self &&
		   *link) {
		p->self = link;
	} else {
		free(link);
	}
	return 0;
}

static int fp_atom_category(struct feed_parser *p, struct fp_work *w,
			    const xmlChar **attrs, int n)
{
	char *cat;
	int ret = fp_attr_line(p, attrs, n, "term", false, &cat);

	return ret ? ret : fp_add_category(w, cat);
}

/* thr:in-reply-to: the item answered, by id (ref), else by link. */
static int fp_reply_to(struct feed_parser *p, struct fp_work *w,
		       const xmlChar **attrs, int n)
{
	char *v;
	int ret = fp_attr_line(p, attrs, n, "ref", false, &v);

	if (!ret && (!v || !*v)) {
		free(v);
		ret = fp_attr_line(p, attrs, n, "href", true, &v);
	}
	if (!ret)
		fp_set(w, F_IN_REPLY_TO, 1, v);
	return ret;
}

/* A field element starts: take what its attributes hold, or begin
 * capturing its text until its end tag. */
static int fp_field(struct feed_parser *p, enum fp_tag tag, struct fp_work *w,
		    int depth, const xmlChar **attrs, int n)
{
	const struct fp_rule *rule = &fp_rules[tag];
	enum fp_mode mode;
	const char *base;

	if (rule->kind == K_NONE)
		return 0;
	if (w == &p->meta && rule->field != F_TITLE && rule->field != F_LINK &&
	    rule->field != F_AUTHOR)
		return 0;
	if (rule->field != F_CATEGORY && rule->kind != K_AUTHOR &&
	    rule->kind != K_ATOMLINK && w->val[rule->field] &&
	    w->prio[rule->field] >= rule->prio) {
		p->skip_depth = depth; /* already have as good */
		return 0;
	}
	switch (rule->kind) {
	case K_AUTHOR:
		p->author_depth = depth;
		p->author_work = w;
		return 0;
	case K_ATOMLINK:
		p->skip_depth = depth;
		return fp_atom_link(p, w, attrs, n);
	case K_ATOMCAT:
		p->skip_depth = depth;
		return fp_atom_category(p, w, attrs, n);
	case K_REPLYTO:
		p->skip_depth = depth;
		return w == &p->item ? fp_reply_to(p, w, attrs, n) : 0;
	default:
		break;
	}
	mode = MODE_TEXT;
	if (rule->kind == K_HTML)
		mode = MODE_HTML;
	else if (rule->kind == K_ATOMTEXT)
		mode = fp_atom_mode(p, attrs, n);
	if (mode == MODE_SKIP) {
		p->skip_depth = depth;
		return 0;
	}
	p->cap_depth = depth;
	p->cap_tag = tag;
	p->cap_mode = mode;
	p->cap_work = w;
	p->cap_markup = mode == MODE_XHTML;
	p->cap_permalink = false;
	buf_reset(&p->cap);
	free(p->cap_base);
	p->cap_base = NULL;
	base = fp_base(p);
	if ((rule->kind == K_URL || rule->kind == K_GUID ||
	     mode != MODE_TEXT) &&
	    base) {
		p->cap_base = strdup(base);
		if (!p->cap_base)
			return -ENOMEM;
	}
	if (rule->kind == K_GUID)
		p->cap_permalink =
			!fp_attr_is(attrs, n, "isPermaLink", "false");
	return 0;
}

/* Appends to the capture, cutting (at a character boundary) what would
 * pass FEED_MAX_FIELD. */
static int fp_cap_add(struct feed_parser *p, const char *s, size_t n)
{
	size_t room = FEED_MAX_FIELD - p->cap.len;

	if (n > room) {
		n = room;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	return n ? buf_add(&p->cap, s, n) : 0;
}

/* Appends s, escaped for HTML if markup (and quotes if attr). */
static int fp_cap_escaped(struct feed_parser *p, const char *s, size_t len,
			  bool attr)
{
	const char *run = s, *end = s + len, *rep;
	int ret = 0;

	for (; s < end && !ret; s++) {
		if (*s == '&')
			rep = "&amp;";
		else if (*s == '<')
			rep = "&lt;";
		else if (*s == '>')
			rep = "&gt;";
		else if (*s == '"' && attr)
			rep = "&quot;";
		else
			continue;
		ret = fp_cap_add(p, run, (size_t)(s - run));
		if (!ret)
			ret = fp_cap_add(p, rep, strlen(rep));
		run = s + 1;
	}
	return ret ? ret : fp_cap_add(p, run, (size_t)(end - run));
}

static int fp_cap_text(struct feed_parser *p, const char *s, size_t len)
{
	/* Inside raw child elements the text is text, not HTML source. */
	if (!p->cap_markup)
		return fp_cap_add(p, s, len);
	return fp_cap_escaped(p, s, len, false);
}

static bool fp_void_element(const char *name)
{
	static const char *const names[] = {
		"area",	 "base", "br",	 "col",	  "embed",  "hr",    "img",
		"input", "link", "meta", "param", "source", "track", "wbr",
	};
	size_t k;

	for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
		if (!strcasecmp(name, names[k]))
			return true;
	return false;
}

/* A child element inside an HTML field (unescaped HTML in an RSS
 * description, or Atom XHTML): written back as HTML so that html2text
 * sees the structure, with href and src made absolute. */
static int fp_cap_tag(struct feed_parser *p, const char *name,
		      const xmlChar **attrs, int n, bool end)
{
	bool empty = fp_void_element(name);
	const xmlChar **a;
	char *v, *abs;
	int k, ret;

	if (p->cap_mode != MODE_HTML && p->cap_mode != MODE_XHTML)
		return 0;
	if (end && empty)
		return 0;
	p->cap_markup = true;
	ret = fp_cap_add(p, end ? "</" : "<", end ? 2 : 1);
	if (!ret)
		ret = fp_cap_add(p, name, strlen(name));
	for (k = 0; !end && k < n && !ret; k++) {
		a = attrs + 5 * k;
		v = fp_attr_text((const char *)a[3], (size_t)(a[4] - a[3]));
		if (!v)
			return -ENOMEM;
		if (!strcmp((const char *)a[0], "href") ||
		    !strcmp((const char *)a[0], "src")) {
			abs = resolve(v, p->cap_base);
			free(v);
			v = abs;
			if (!v)
				return -ENOMEM;
		}
		ret = fp_cap_add(p, " ", 1);
		if (!ret)
			ret = fp_cap_add(p, (const char *)a[0],
					 strlen((const char *)a[0]));
		if (!ret)
			ret = fp_cap_add(p, "=\"", 2);
		if (!ret)
			ret = fp_cap_escaped(p, v, strlen(v), true);
		if (!ret)
			ret = fp_cap_add(p, "\"", 1);
		free(v);
	}
	if (!ret)
		ret = fp_cap_add(p, empty && !end ? "/>" : ">",
				 empty && !end ? 2 : 1);
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
static int fp_field_end(struct feed_parser *p)
{
	const struct fp_rule *rule = &fp_rules[p->cap_tag];
	struct fp_work *w = p->cap_work;
	const char *src = buf_str(&p->cap);
	char *val = NULL, *link;
	int ret;

	p->cap_depth = -1;
	if (p->cap_mode == MODE_HTML || p->cap_mode == MODE_XHTML)
		ret = plain_from_html(&p->h2t, src, p->cap.len,
				      rule->field == F_TITLE, &val);
	else if (rule->field == F_SUMMARY || rule->field == F_CONTENT)
		ret = plain_normalise(src, p->cap.len, true, &val);
	else
		ret = plain_line(src, p->cap.len, &val);
	if (ret || !val)
		goto out;
	switch (rule->kind) {
	case K_DATE:
		fp_set_date(w, rule->field, rule->prio, val);
		goto out;
	case K_RSSAUTHOR:
		fp_author_name(val);
		break;
	case K_URL:
		link = resolve(val, p->cap_base);
		free(val);
		val = link;
		if (!val)
			ret = -ENOMEM;
		break;
	case K_GUID:
		if (p->cap_permalink && (!strncmp(val, "http://", 7) ||
					 !strncmp(val, "https://", 8))) {
			link = resolve(val, p->cap_base);
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
	if (ret)
		goto out;
	if (rule->field == F_CATEGORY)
		ret = fp_add_category(w, val);
	else
		fp_set(w, rule->field, rule->prio, val);
	val = NULL;
out:
	free(val);
	return ret;
}

static int fp_item_begin(struct feed_parser *p, int depth,
			 const xmlChar **attrs, int n)
{
	char *about, *id = NULL;
	int ret;

	fp_work_clear(&p->item);
	p->item_depth = depth;
	/* RSS 1.0 names each item with rdf:about; an id of last resort. */
	ret = fp_attr_dup(attrs, n, "about", NS_URI_RDF, &about);
	if (ret || !about)
		return ret;
	ret = plain_line(about, strlen(about), &id);
	free(about);
	if (!ret)
		fp_set(&p->item, F_ID, 1, id);
	return ret;
}

static void fp_rfc3339(int64_t t, char *out, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	out[0] = '\0';
	if (t != FEED_DATE_NONE && gmtime_r(&tt, &tm))
		strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* "sha256:" + hex of title "\n" date (see feed.h). */
static char *fp_hash_id(const struct fp_work *w)
{
	unsigned char h[crypto_hash_sha256_BYTES];
	char date[40], *id;
	const char *title = w->val[F_TITLE];
	crypto_hash_sha256_state st;
	int64_t t = w->date[F_PUBLISHED];

	if (t == FEED_DATE_NONE)
		t = w->date[F_UPDATED];
	fp_rfc3339(t, date, sizeof(date));
	if (!title && !date[0])
		title = w->val[F_CONTENT] ? w->val[F_CONTENT]
					  : w->val[F_SUMMARY];
	if (!title)
		title = "";
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const unsigned char *)title,
				  strlen(title));
	crypto_hash_sha256_update(&st, (const unsigned char *)"\n", 1);
	crypto_hash_sha256_update(&st, (const unsigned char *)date,
				  strlen(date));
	crypto_hash_sha256_final(&st, h);
	id = malloc(7 + 2 * sizeof(h) + 1);
	if (!id)
		return NULL;
	memcpy(id, "sha256:", 7);
	sodium_bin2hex(id + 7, 2 * sizeof(h) + 1, h, sizeof(h));
	return id;
}

/* Appends the finished item to the feed being collected (feed_parse),
 * taking its strings. */
static int fp_collect(struct feed_parser *p, const struct feed_item *it)
{
	struct feed *f = p->collect;
	struct feed_item *items;
	size_t cap;

	if (f->n_items == p->cap_items) {
		cap = p->cap_items ? p->cap_items * 2 : 16;
		items = realloc(f->items, cap * sizeof(*items));
		if (!items)
			return -ENOMEM;
		f->items = items;
		p->cap_items = cap;
	}
	f->items[f->n_items++] = *it;
	memset(&p->item, 0, sizeof(p->item));
	return 0;
}

/* The item's end: hand it out unless it has nothing to show. */
static int fp_item_end(struct feed_parser *p)
{
	struct fp_work *w = &p->item;
	struct feed_item it;
	long long comments = 0;
	int ret;

	p->item_depth = -1;
	p->author_depth = -1;
	if (!w->val[F_ID] && !w->val[F_LINK] && !w->val[F_TITLE] &&
	    !w->val[F_SUMMARY] && !w->val[F_CONTENT]) {
		fp_work_clear(w);
		return 0;
	}
	/* Atom entries without an author inherit the feed's (RFC 4287
	 * 4.1.2), JSON Feed items likewise: as known so far. */
	if (p->inherit_author && !w->val[F_AUTHOR] && p->meta.val[F_AUTHOR]) {
		w->val[F_AUTHOR] = strdup(p->meta.val[F_AUTHOR]);
		if (!w->val[F_AUTHOR])
			return -ENOMEM;
	}
	if (!w->val[F_ID])
		w->val[F_ID] =
			w->val[F_LINK] ? strdup(w->val[F_LINK]) : fp_hash_id(w);
	if (!w->val[F_ID])
		return -ENOMEM;
	if (w->val[F_COMMENTS])
		text_parse_int(w->val[F_COMMENTS], 0, LONG_MAX, &comments);
	memset(&it, 0, sizeof(it));
	it.id = w->val[F_ID];
	it.link = w->val[F_LINK];
	it.title = w->val[F_TITLE];
	it.author = w->val[F_AUTHOR];
	it.summary = w->val[F_SUMMARY];
	it.content = w->val[F_CONTENT];
	it.published = w->date[F_PUBLISHED];
	it.updated = w->date[F_UPDATED];
	it.categories = w->cats;
	it.n_categories = w->n_cats;
	it.in_reply_to = w->val[F_IN_REPLY_TO];
	it.comments = (long)comments;
	p->n_items++;
	if (p->collect) {
		free(w->val[F_COMMENTS]);
		w->val[F_COMMENTS] = NULL;
		ret = fp_collect(p, &it);
		if (ret)
			return ret;
		fp_work_clear(w);
		return 0;
	}
	ret = p->on_item ? p->on_item(&it, p->arg) : 0;
	fp_work_clear(w);
	return ret;
}

static int fp_start(struct feed_parser *p, int depth, const char *local,
		    const char *prefix, const char *uri, const xmlChar **attrs,
		    int n)
{
	enum fp_tag tag;

	if (p->cap_depth >= 0)
		return fp_cap_tag(p, local, attrs, n, false);
	tag = fp_tag_of(p, local, prefix, uri);
	if (p->item_depth >= 0) {
		if (p->author_depth >= 0 && depth == p->author_depth + 1) {
			if (tag == TAG_ATOM_NAME || tag == TAG_ATOM_EMAIL)
				return fp_field(p, tag, p->author_work, depth,
						attrs, n);
		} else if (depth == p->item_depth + 1 && tag != TAG_ATOM_NAME &&
			   tag != TAG_ATOM_EMAIL) {
			return fp_field(p, tag, &p->item, depth, attrs, n);
		}
		return 0;
	}
	if ((!p->atom && tag == TAG_RSS_ITEM &&
	     (depth == 1 || depth == p->chan_depth + 1)) ||
	    (p->atom && tag == TAG_ATOM_ENTRY && depth == 1)) {
		if (p->n_items >= p->max_items) {
			p->skip_depth = depth; /* not built at all */
			return 0;
		}
		return fp_item_begin(p, depth, attrs, n);
	}
	if (!p->atom && tag == TAG_RSS_CHANNEL && depth == 1) {
		p->chan_depth = depth;
		if (uri && !strcmp(uri, NS_URI_RSS090))
			p->format = FEED_FORMAT_RSS090;
		return 0;
	}
	if (p->author_depth >= 0 && depth == p->author_depth + 1) {
		if (tag == TAG_ATOM_NAME || tag == TAG_ATOM_EMAIL)
			return fp_field(p, tag, p->author_work, depth, attrs,
					n);
		return 0;
	}
	if (p->chan_depth >= 0 && depth == p->chan_depth + 1 &&
	    tag != TAG_ATOM_NAME && tag != TAG_ATOM_EMAIL)
		return fp_field(p, tag, &p->meta, depth, attrs, n);
	return 0;
}

static int fp_end(struct feed_parser *p, int depth, const char *local)
{
	if (p->cap_depth >= 0) {
		if (depth == p->cap_depth)
			return fp_field_end(p);
		return fp_cap_tag(p, local, NULL, 0, true);
	}
	if (depth == p->author_depth)
		p->author_depth = -1;
	else if (depth == p->item_depth)
		return fp_item_end(p);
	else if (depth == p->chan_depth)
		p->chan_depth = -1;
	return 0;
}

static void sax_start(void *arg, const xmlChar *local, const xmlChar *prefix,
		      const xmlChar *uri, int nb_ns, const xmlChar **ns,
		      int nb_attrs, int nb_defaulted, const xmlChar **attrs)
{
	struct feed_parser *p = arg;
	int depth = p->depth++;
	int ret;

	if (p->ret || p->broken)
		return;
	if (depth >= FEED_MAX_DEPTH) {
		/* the same words as libxml2's own limit */
		p->broken = true;
		p->broken_at_end = p->terminating;
		p->err_level = XML_ERR_FATAL;
		p->err_line = xmlSAX2GetLineNumber(p->ctxt);
		snprintf(p->err_msg, sizeof(p->err_msg),
			 "Excessive depth in document: %d", FEED_MAX_DEPTH);
		xmlStopParser(p->ctxt);
		return;
	}
	if (p->skip_depth >= 0)
		return;
	ret = fp_base_push(p, depth, attrs, nb_attrs);
	if (!ret && depth == 0)
		ret = fp_root(p, (const char *)local, (const char *)prefix,
			      (const char *)uri, nb_ns, ns, attrs, nb_attrs);
	else if (!ret)
		ret = fp_start(p, depth, (const char *)local,
			       (const char *)prefix, (const char *)uri, attrs,
			       nb_attrs);
	if (ret)
		fp_stop(p, ret);
}

static void sax_end(void *arg, const xmlChar *local, const xmlChar *prefix,
		    const xmlChar *uri)
{
	struct feed_parser *p = arg;
	int depth = --p->depth;
	int ret = 0;

	if (p->ret)
		return;
	if (p->skip_depth >= 0) {
		if (depth > p->skip_depth)
			return;
		p->skip_depth = -1;
	} else {
		ret = fp_end(p, depth, (const char *)local);
	}
	fp_base_pop(p, depth);
	if (ret)
		fp_stop(p, ret);
}

static void sax_text(void *arg, const xmlChar *s, int len)
{
	struct feed_parser *p = arg;
	int ret;

	if (p->ret || p->skip_depth >= 0 || p->cap_depth < 0 || len <= 0)
		return;
	ret = fp_cap_text(p, (const char *)s, (size_t)len);
	if (ret)
		fp_stop(p, ret);
}

static int xml_start(struct feed_parser *p)
{
	/* No NOENT, DTDLOAD, DTDATTR, DTDVALID, XINCLUDE or HUGE, ever; no
	 * DTD reaches libxml2 anyway (prep drops it). IGNORE_ENC: the
	 * bytes are UTF-8 by now, whatever the declaration said. */
	const int opts =
		XML_PARSE_NONET | XML_PARSE_NOCDATA | XML_PARSE_IGNORE_ENC;
	xmlSAXHandler sax;

	memset(&sax, 0, sizeof(sax));
	sax.initialized = XML_SAX2_MAGIC;
	sax.startElementNs = sax_start;
	sax.endElementNs = sax_end;
	sax.characters = sax_text;
	sax.cdataBlock = sax_text;
	sax.ignorableWhitespace = sax_text;
	sax.resolveEntity = sax_no_entity;
	sax.serror = sax_error;
	p->ctxt = xmlCreatePushParserCtxt(&sax, p, NULL, 0, NULL);
	if (!p->ctxt)
		return -ENOMEM;
	xmlCtxtUseOptions(p->ctxt, opts);
	return 0;
}

/* ------------------------------------------------------------------ */
/* JSON Feed 1.0 and 1.1                                               */

static const char *json_str(const json_t *o, const char *key, size_t *len)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_string(v))
		return NULL;
	*len = json_string_length(v);
	return json_string_value(v);
}

/* A one-line text field (resolved if url), or NULL when absent. */
static int json_line(struct feed_parser *p, const json_t *o, const char *key,
		     bool url, char **out)
{
	const char *s;
	char *line;
	size_t len;
	int ret;

	*out = NULL;
	s = json_str(o, key, &len);
	if (!s)
		return 0;
	ret = plain_line(s, len, &line);
	if (ret || !url) {
		*out = line;
		return ret;
	}
	*out = resolve(line, fp_base(p));
	free(line);
	return *out ? 0 : -ENOMEM;
}

/* "authors": [{"name": ...}, ...] (1.1), else "author": {"name": ...}
 * (1.0): the names, joined with ", "; NULL when none. */
static int json_authors(const json_t *o, char **out)
{
	const json_t *list = json_object_get(o, "authors"), *a;
	const json_t *one = json_object_get(o, "author");
	const char *name;
	struct buf b;
	size_t k, len;
	int ret = 0;

	*out = NULL;
	buf_init(&b, BUF_MAX_LINE);
	if (json_is_array(list)) {
		json_array_foreach(list, k, a)
		{
			name = json_str(a, "name", &len);
			if (!name || ret)
				continue;
			if (b.len > 0)
				ret = buf_adds(&b, ", ");
			if (!ret)
				ret = buf_add(&b, name, len);
		}
	} else if (json_is_object(one)) {
		name = json_str(one, "name", &len);
		if (name)
			ret = buf_add(&b, name, len);
	}
	if (ret == -E2BIG) /* absurdly many: keep none */
		return 0;
	if (ret || b.len == 0) {
		buf_free(&b);
		return ret;
	}
	ret = plain_line(buf_str(&b), b.len, out);
	buf_free(&b);
	return ret;
}

static int json_item(struct feed_parser *p, const json_t *o)
{
	struct fp_work *w = &p->item;
	const json_t *id = json_object_get(o, "id"), *tags, *tag;
	const char *s;
	char *v, num[32];
	size_t k, len;
	int ret;

	fp_work_clear(w);
	if (json_is_integer(id)) { /* an old mistake, still seen */
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
			 json_integer_value(id));
		ret = plain_line(num, strlen(num), &v);
	} else {
		ret = json_line(p, o, "id", false, &v);
	}
	if (!ret) {
		fp_set(w, F_ID, 3, v);
		ret = json_line(p, o, "url", true, &v);
	}
	if (!ret) {
		fp_set(w, F_LINK, 3, v);
		ret = json_line(p, o, "external_url", true, &v);
	}
	if (!ret) {
		fp_set(w, F_LINK, 1, v);
		ret = json_line(p, o, "title", false, &v);
	}
	if (!ret) {
		fp_set(w, F_TITLE, 1, v);
		s = json_str(o, "content_html", &len);
		v = NULL;
		ret = s ? plain_from_html(&p->h2t, s, len, false, &v) : 0;
	}
	if (!ret) {
		fp_set(w, F_CONTENT, 2, v);
		s = json_str(o, "content_text", &len);
		v = NULL;
		ret = s ? plain_normalise(s, len, true, &v) : 0;
	}
	if (!ret) {
		fp_set(w, F_CONTENT, 1, v);
		s = json_str(o, "summary", &len);
		v = NULL;
		ret = s ? plain_normalise(s, len, true, &v) : 0;
	}
	if (!ret) {
		fp_set(w, F_SUMMARY, 1, v);
		fp_set_date(w, F_PUBLISHED, 1,
			    json_str(o, "date_published", &len));
		fp_set_date(w, F_UPDATED, 1,
			    json_str(o, "date_modified", &len));
		ret = json_authors(o, &v);
	}
	if (!ret)
		fp_set(w, F_AUTHOR, 1, v);
	tags = json_object_get(o, "tags");
	if (!ret && json_is_array(tags)) {
		json_array_foreach(tags, k, tag)
		{
			if (!json_is_string(tag))
				continue;
			ret = plain_line(json_string_value(tag),
					 json_string_length(tag), &v);
			if (!ret)
				ret = fp_add_category(w, v);
			if (ret)
				break;
		}
	}
	return ret ? ret : fp_item_end(p);
}

static bool json_feed_version(const char *v)
{
	return v && (!strncmp(v, "https://jsonfeed.org/version/", 29) ||
		     !strncmp(v, "http://jsonfeed.org/version/", 28));
}

static int json_run(struct feed_parser *p)
{
	const json_t *items, *it;
	json_error_t jerr;
	json_t *root;
	char *v;
	size_t k, len;
	int ret = 0;

	root = json_loadb(p->json.len ? p->json.ptr : "", p->json.len, 0,
			  &jerr);
	if (!root) {
		err_set(&p->err, "line %d: broken JSON: %s", jerr.line,
			jerr.text);
		return -EPROTO;
	}
	if (!json_is_object(root) ||
	    !json_feed_version(json_str(root, "version", &len))) {
		err_set(&p->err,
			"line 1: " NOT_A_FEED " (JSON without a jsonfeed.org "
			"version)");
		ret = -EPROTO;
		goto out;
	}
	p->format = FEED_FORMAT_JSON11;
	p->inherit_author = true;
	ret = json_line(p, root, "feed_url", true, &p->self);
	if (!ret)
		ret = json_line(p, root, "title", false, &v);
	if (!ret) {
		fp_set(&p->meta, F_TITLE, 1, v);
		ret = json_line(p, root, "home_page_url", true, &v);
	}
	if (!ret) {
		fp_set(&p->meta, F_LINK, 1, v);
		ret = json_authors(root, &v);
	}
	if (!ret)
		fp_set(&p->meta, F_AUTHOR, 1, v);
	items = json_object_get(root, "items");
	if (!ret && json_is_array(items)) {
		json_array_foreach(items, k, it)
		{
			if (p->n_items >= p->max_items)
				break;
			if (!json_is_object(it))
				continue;
			ret = json_item(p, it);
			if (ret)
				break;
		}
	}
out:
	json_decref(root);
	if (ret == -ENOMEM)
		err_set(&p->err, "out of memory");
	return ret;
}

/* ------------------------------------------------------------------ */
/* The pipeline                                                        */

/* The first non-blank character says XML or JSON. */
static int stage_sniff(struct feed_parser *p)
{
	struct buf *t = &p->text;
	size_t i = 0;
	int ret = 0;
	char c;

	while (i < t->len && is_space((unsigned char)t->ptr[i])) {
		if (t->ptr[i] == '\n')
			p->lead_lines++;
		i++;
	}
	buf_drop_front(t, i);
	if (t->len == 0)
		return 0;
	c = t->ptr[0];
	if (c == '{') {
		p->stage = STAGE_JSON;
		while (!ret && p->lead_lines-- > 0)
			ret = buf_addc(&p->json, '\n');
		return ret;
	}
	if (c == '<') {
		p->stage = STAGE_XML;
		ret = xml_start(p);
		return ret ? ret : prep_newlines(p, p->lead_lines);
	}
	if (c > 0x20 && c < 0x7F)
		err_set(&p->err,
			"line %lu: " NOT_A_FEED " (not XML: starts with '%c')",
			p->lead_lines + 1, c);
	else
		err_set(&p->err, "line %lu: " NOT_A_FEED " (not XML)",
			p->lead_lines + 1);
	return -EPROTO;
}

/* Decoded text to the next stage. */
static int stage_run(struct feed_parser *p, bool eof)
{
	struct buf *t = &p->text;
	size_t used = 0;
	int ret = 0;

	if (p->stage == STAGE_SNIFF)
		ret = stage_sniff(p);
	if (ret || t->len == 0)
		return ret;
	if (p->stage == STAGE_JSON) {
		if (p->json.len + t->len > FEED_MAX_JSON) {
			err_set(&p->err,
				"JSON feed larger than %u MiB: refused",
				FEED_MAX_JSON >> 20);
			return -EPROTO;
		}
		ret = buf_add(&p->json, t->ptr, t->len);
		buf_reset(t);
		return ret;
	}
	ret = prep_run(p, (const unsigned char *)t->ptr, t->len, eof, &used);
	buf_drop_front(t, used);
	return ret;
}

/* Takes what is in p->raw as far as the stages can. */
static int pump(struct feed_parser *p, bool eof)
{
	int ret;

	if (!p->enc_known && !sniff_encoding(p, eof))
		return 0;
	ret = decode(p, eof);
	if (!ret)
		ret = stage_run(p, eof);
	if (ret == -ENOMEM)
		err_set(&p->err, "out of memory");
	return ret;
}

static int fp_result(struct feed_parser *p, struct err *err)
{
	if (err)
		*err = p->err;
	return p->ret;
}

/* ------------------------------------------------------------------ */
/* Public interface                                                    */

/* The charset parameter of a Content-Type, or NULL. */
static char *ct_charset(const char *ct)
{
	const char *s = ct, *v;
	size_t n;

	while (s && *s) {
		s = strchr(s, ';');
		if (!s)
			return NULL;
		s++;
		while (*s == ' ' || *s == '\t')
			s++;
		if (strncasecmp(s, "charset", 7) != 0)
			continue;
		v = s + 7;
		while (*v == ' ' || *v == '\t')
			v++;
		if (*v != '=')
			continue;
		v++;
		while (*v == ' ' || *v == '\t' || *v == '"' || *v == '\'')
			v++;
		for (n = 0; n < 40 && v[n] &&
			    (name_char((unsigned char)v[n]) &&
			     (unsigned char)v[n] < 0x80 && v[n] != ':');
		     n++)
			;
		return n ? strndup(v, n) : NULL;
	}
	return NULL;
}

struct feed_parser *feed_parser_create(const char *base_url,
				       const char *content_type,
				       const struct feed_limits *limits,
				       feed_item_fn *on_item, void *arg)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	struct feed_parser *p;

	pthread_once(&once, fp_init_once);
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->cd = (iconv_t)-1;
	p->max_items = limits && limits->max_items ? limits->max_items
						   : FEED_DEFAULT_MAX_ITEMS;
	p->on_item = on_item;
	p->arg = arg;
	p->skip_depth = -1;
	p->chan_depth = -1;
	p->item_depth = -1;
	p->author_depth = -1;
	p->cap_depth = -1;
	p->prep.line = 1;
	fp_work_clear(&p->meta);
	fp_work_clear(&p->item);
	/* bounded by the stages themselves, see FEED_SLICE and friends */
	buf_init(&p->raw, SIZE_MAX);
	buf_init(&p->text, SIZE_MAX);
	buf_init(&p->xml, SIZE_MAX);
	buf_init(&p->json, FEED_MAX_JSON);
	buf_init(&p->cap, FEED_MAX_FIELD);
	if (base_url && *base_url) {
		p->base_url = strdup(base_url);
		if (!p->base_url)
			goto fail;
	}
	if (content_type) {
		p->charset = ct_charset(content_type);
	}
	return p;
fail:
	feed_parser_destroy(p);
	return NULL;
}

int feed_parser_push(struct feed_parser *p, const char *data, size_t len,
		     struct err *err)
{
	size_t n;
	int ret;

	if (p->ret)
		return fp_result(p, err);
	if (p->finished) {
		err_set(err, "feed_parser_push after feed_parser_finish");
		return -EINVAL;
	}
	while (len > 0 && !p->broken) {
		n = len < FEED_SLICE ? len : FEED_SLICE;
		ret = buf_add(&p->raw, data, n);
		if (!ret)
			ret = pump(p, false);
		if (ret == -ENOMEM)
			err_set(&p->err, "out of memory");
		if (ret && !p->ret)
			p->ret = ret;
		if (p->ret)
			return fp_result(p, err);
		data += n;
		len -= n;
	}
	return 0;
}

bool feed_parser_stopped(const struct feed_parser *p)
{
	return p->broken || p->ret != 0;
}

/* The XML is all in: say what it was. */
static int xml_finish(struct feed_parser *p)
{
	char hint[128] = "";

	xml_feed(p, true);
	if (p->ret)
		return p->ret;
	if (p->format == FEED_FORMAT_UNKNOWN) {
		if (!p->prep.seen_root)
			err_set(&p->err,
				"line 1: " NOT_A_FEED " (no root element)");
		else if (!fp_feed_root_name(p->prep.root))
			err_set(&p->err,
				"line %lu: " NOT_A_FEED " (root element <%s>)",
				p->prep.root_line, p->prep.root);
		else
			err_set(&p->err, "line %d: broken XML: %s",
				p->err_line ? p->err_line : 1,
				p->err_msg[0] ? p->err_msg : "no root element");
		return -EPROTO;
	}
	if (!p->broken) {
		snprintf(p->err.msg, sizeof(p->err.msg), "%s", p->warn);
		return 0;
	}
	/* A document cut short (a truncated download) fails only in the
	 * last block, when prep has seen all of it and no end tag for the
	 * root: say so in words an admin knows. */
	if (p->broken_at_end && !p->prep.root_end_seen)
		snprintf(hint, sizeof(hint),
			 " (the document is cut short: no </%s>)", p->root);
	if (p->n_items == 0) {
		err_set(&p->err, "line %d: broken XML: %s%s", p->err_line,
			p->err_msg, hint);
		return -EPROTO;
	}
	err_set(&p->err,
		"line %d: broken XML after %zu complete items (kept): %s%s",
		p->err_line, p->n_items, p->err_msg, hint);
	return 0;
}

int feed_parser_finish(struct feed_parser *p, struct feed_info *info,
		       struct err *err)
{
	int ret = 0;

	if (!p->finished) {
		p->finished = true;
		if (!p->ret && !p->broken)
			ret = pump(p, true);
		if (ret && !p->ret)
			p->ret = ret;
		if (!p->ret && p->stage == STAGE_SNIFF) {
			err_set(&p->err,
				"line 1: " NOT_A_FEED " (empty document)");
			p->ret = -EPROTO;
		} else if (!p->ret && p->stage == STAGE_JSON) {
			p->ret = json_run(p);
			if (!p->ret)
				snprintf(p->err.msg, sizeof(p->err.msg), "%s",
					 p->warn);
		} else if (!p->ret) {
			p->ret = xml_finish(p);
		}
	}
	if (info) {
		info->title = p->meta.val[F_TITLE];
		info->link = p->meta.val[F_LINK];
		info->format = p->format;
		info->self = p->self;
	}
	return fp_result(p, err);
}

void feed_parser_destroy(struct feed_parser *p)
{
	size_t k;

	if (!p)
		return;
	if (p->ctxt) {
		if (p->ctxt->myDoc)
			xmlFreeDoc(p->ctxt->myDoc);
		xmlFreeParserCtxt(p->ctxt);
	}
	if (p->cd != (iconv_t)-1)
		iconv_close(p->cd);
	for (k = 0; k < p->prep.n_ents; k++) {
		free(p->prep.ents[k].name);
		free(p->prep.ents[k].value);
	}
	free(p->prep.ents);
	for (k = 0; k < p->n_bases; k++)
		free(p->bases[k].uri);
	free(p->bases);
	buf_free(&p->raw);
	buf_free(&p->text);
	buf_free(&p->xml);
	buf_free(&p->json);
	buf_free(&p->cap);
	html2text_destroy(p->h2t);
	free(p->cap_base);
	fp_work_clear(&p->item);
	fp_work_clear(&p->meta);
	free(p->self);
	free(p->base_url);
	free(p->charset);
	feed_destroy(p->collect);
	free(p);
}

/*
 * feed_parse is the push parser with every item collected. Policy for a
 * fatal XML error part-way (typically a download cut short): if the root
 * was a feed and at least one item was complete before the error, those
 * items are kept, it returns 0 and err still says what went wrong and
 * where, so the caller can log it. The item being read when the error
 * struck is dropped. With no complete item the error is returned as
 * -EPROTO.
 */
int feed_parse(const char *data, size_t len, const char *base_url,
	       const struct feed_limits *limits, struct feed **out,
	       struct err *err)
{
	struct feed_parser *p;
	struct feed_info info;
	struct feed *f;
	int ret;

	*out = NULL;
	if (err)
		err->msg[0] = '\0';
	f = calloc(1, sizeof(*f));
	p = f ? feed_parser_create(base_url, NULL, limits, NULL, NULL) : NULL;
	if (!p) {
		free(f);
		err_set(err, "out of memory");
		return -ENOMEM;
	}
	p->collect = f;
	ret = feed_parser_push(p, data ? data : "", data ? len : 0, err);
	if (!ret)
		ret = feed_parser_finish(p, &info, err);
	if (!ret) {
		f->format = info.format;
		f->title = p->meta.val[F_TITLE];
		f->link = p->meta.val[F_LINK];
		p->meta.val[F_TITLE] = NULL;
		p->meta.val[F_LINK] = NULL;
		p->collect = NULL;
		*out = f;
	}
	feed_parser_destroy(p);
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
		free(it->in_reply_to);
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

static bool date_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* "+0100", "-05:00", "+01"; after a named zone ("GMT+1") one hour digit
 * will do. */
static bool date_numeric_zone(const char **sp, int min_hour_digits, int *offset)
{
	const char *s = *sp;
	int sign = *s == '-' ? -1 : 1, hh, mm = 0;

	if (*s != '+' && *s != '-')
		return false;
	s++;
	if (!date_digits(&s, min_hour_digits, 2, &hh))
		return false;
	if (*s == ':')
		s++;
	if (date_digit(*s) && !date_digits(&s, 2, 2, &mm))
		return false;
	if (hh > 23 || mm > 59)
		return false;
	*offset = sign * (hh * 60 + mm);
	*sp = s;
	return true;
}

/* RFC 822's zones, North American ones without the S/D (as feedparser
 * reads them: "ET" is -0500) and the common European ones. */
static bool date_named_zone(const char **sp, int *offset)
{
	static const struct {
		const char *name;
		int minutes;
	} zones[] = {
		{"GMT", 0},	   {"UT", 0},	      {"UTC", 0},
		{"Z", 0},	   {"EST", -5 * 60},  {"EDT", -4 * 60},
		{"ET", -5 * 60},   {"CST", -6 * 60},  {"CDT", -5 * 60},
		{"CT", -6 * 60},   {"MST", -7 * 60},  {"MDT", -6 * 60},
		{"MT", -7 * 60},   {"PST", -8 * 60},  {"PDT", -7 * 60},
		{"PT", -8 * 60},   {"AST", -4 * 60},  {"ADT", -3 * 60},
		{"AT", -4 * 60},   {"AKST", -9 * 60}, {"AKDT", -8 * 60},
		{"HST", -10 * 60}, {"NST", -210},     {"NDT", -150},
		{"WET", 0},	   {"WEST", 60},      {"BST", 60},
		{"IST", 60},	   {"CET", 60},	      {"CEST", 120},
		{"MET", 60},	   {"MEST", 120},     {"EET", 120},
		{"EEST", 180},	   {"MSK", 180},      {"JST", 9 * 60},
		{"KST", 9 * 60},   {"AEST", 10 * 60}, {"AEDT", 11 * 60},
		{"ACST", 570},	   {"AWST", 8 * 60},  {"NZST", 12 * 60},
		{"NZDT", 13 * 60},
	};
	const char *s = *sp;
	size_t n = 0, k;

	while (date_alpha(s[n]))
		n++;
	for (k = 0; k < sizeof(zones) / sizeof(zones[0]); k++) {
		if (strlen(zones[k].name) == n &&
		    !strncasecmp(zones[k].name, s, n)) {
			*offset = zones[k].minutes;
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
			if (**sp == '.') /* "Sept." */
				(*sp)++;
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

/* Two- and three-digit years as RFC 5322 section 4.3 says. */
static bool date_year(const char **sp, struct date_parts *d)
{
	const char *s = *sp;

	if (!date_digits(sp, 2, 4, &d->year))
		return false;
	if (*sp - s == 2)
		d->year += d->year < 50 ? 2000 : 1900;
	else if (*sp - s == 3)
		d->year += 1900;
	return true;
}

/* The zone after the time: "+0200", "GMT", "GMT-01:01", "EST", and an
 * optional comment "(CEST)". */
static bool date_zone(const char **sp, struct date_parts *d)
{
	const char *s = date_skip_space(*sp);
	int extra;

	if (*s == '+' || *s == '-') {
		if (!date_numeric_zone(&s, 2, &d->offset))
			return false;
	} else if (date_alpha(*s)) {
		if (!date_named_zone(&s, &d->offset))
			return false;
		/* GMT+0200 (JavaScript's Date), GMT-01:01 */
		if (d->offset == 0 && (*s == '+' || *s == '-')) {
			if (!date_numeric_zone(&s, 1, &extra))
				return false;
			d->offset = extra;
		}
	}
	s = date_skip_space(s);
	if (*s == '(') { /* a comment: "-0700 (PDT)" */
		s = strchr(s, ')');
		if (!s)
			return false;
		s = date_skip_space(s + 1);
	}
	*sp = s;
	return true;
}

/*
 * RFC 822/1123 and its relatives:
 *   Mon, 16 Nov 2026 09:30:00 GMT     (weekday, seconds and zone optional)
 *   Thu Aug 30 2012 17:26:16 +0200    (JavaScript's Date.toString)
 *   Thu Aug 30 17:26:16 2012          (C's asctime)
 */
static bool date_rfc822(const char *s, struct date_parts *d)
{
	const char *t;

	if (date_alpha(*s)) {
		t = s;
		if (date_weekday(&t)) {
			s = t;
			if (*s == ',' || *s == '.')
				s++;
			s = date_skip_space(s);
		}
	}
	if (date_alpha(*s)) {
		/* month first */
		if (!date_month(&s, &d->month))
			return false;
		s = date_skip_space(s);
		if (!date_digits(&s, 1, 2, &d->day))
			return false;
		if (*s == ',')
			s++;
		s = date_skip_space(s);
		if (date_digit(s[0]) &&
		    (s[1] == ':' || (date_digit(s[1]) && s[2] == ':'))) {
			/* asctime: the time, then the year */
			if (!date_time(&s, 1, d))
				return false;
			s = date_skip_space(s);
			if (!date_digits(&s, 4, 4, &d->year))
				return false;
		} else {
			if (!date_year(&s, d))
				return false;
			s = date_skip_space(s);
			if (*s && date_digit(*s) && !date_time(&s, 1, d))
				return false;
		}
	} else {
		if (!date_digits(&s, 1, 2, &d->day))
			return false;
		s = *s == '-' ? s + 1 : date_skip_space(s);
		if (!date_month(&s, &d->month))
			return false;
		s = *s == '-' ? s + 1 : date_skip_space(s);
		if (!date_year(&s, d))
			return false;
		s = date_skip_space(s);
		if (*s && !date_time(&s, 1, d))
			return false;
	}
	if (!date_zone(&s, d))
		return false;
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
	if (*s == 'T' || *s == 't' || (*s == ' ' && date_digit(s[1]))) {
		s++;
		if (!date_time(&s, 2, d))
			return false;
		if (*s == '.' || *s == ',') {
			s++;
			if (!date_digit(*s))
				return false;
			while (date_digit(*s))
				s++;
		}
		if (*s == ' ')
			s++;
		if (*s == 'Z' || *s == 'z')
			s++;
		else if ((*s == '+' || *s == '-') &&
			 !date_numeric_zone(&s, 2, &d->offset))
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
	if (date_digit(s[0]) && date_digit(s[1]) && date_digit(s[2]) &&
	    date_digit(s[3]))
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
