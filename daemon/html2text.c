/*
 * html2text: renders an HTML fragment as plain text. libxml2's HTML parser
 * reports elements and text through SAX callbacks (no tree is built, and
 * nothing recurses, so 100k nested divs cost no stack); they drive a small
 * state machine of pending breaks, and a last pass trims lines and
 * squeezes blank lines. Links to absolute http(s) URLs become numbered
 * references listed after the text. Bytes that are not UTF-8 become
 * U+FFFD, and CDATA sections and other bogus comments are cut, before
 * parsing.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/HTMLparser.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>

#include "html2text.h"
#include "text.h"

/* List markers are indented two spaces per nesting level, up to this. */
#define H2T_MAX_INDENT 8

/* libxml2's tree builder halts the parse when an element would open
 * deeper than this (xmlParserMaxDepth); the SAX walk stops there too, so
 * the text is what the tree held. */
#define H2T_MAX_DEPTH 256

/* A reused parser context is made anew once its dictionary holds more
 * names than this (each element and attribute name seen is one). */
#define H2T_DICT_MAX 4096

/* Slots in the cache of element kinds, keyed by name pointer. */
#define H2T_KIND_CACHE 64

/* Slots in the cache of HTML entities the XML reading has met. */
#define H2T_ENT_CACHE 64

/* After this many fragments in a row that the XML reading gave back to
 * the HTML parser, the renderer tries XML only once every
 * H2T_XML_RETRY fragments: a source's HTML is usually all of one kind. */
#define H2T_XML_MISSES 3
#define H2T_XML_RETRY 32

/* The XML reading gives a fragment back to the HTML parser before it
 * nests this deep (libxml2's XML parser stops at 256). */
#define H2T_XML_MAX_DEPTH 200

enum h2t_kind {
	H2T_INLINE, /* not in the table: text flows through */
	H2T_BLOCK,  /* blank line before and after */
	H2T_LINE,   /* line break before and after (dt, dd) */
	H2T_BR,
	H2T_LIST,
	H2T_ITEM,
	H2T_CELL,
	H2T_PRE,
	H2T_IMG,
	H2T_LINK,
	H2T_DROP, /* element and its content are not text */
};

struct h2t_tag {
	const char *name;
	enum h2t_kind kind;
};

/* Must stay in strcmp order: bsearch()ed. */
static const struct h2t_tag h2t_tags[] = {
	{"a", H2T_LINK},	 {"address", H2T_BLOCK},
	{"article", H2T_BLOCK},	 {"aside", H2T_BLOCK},
	{"audio", H2T_DROP},	 {"blockquote", H2T_BLOCK},
	{"br", H2T_BR},		 {"canvas", H2T_DROP},
	{"caption", H2T_BLOCK},	 {"center", H2T_BLOCK},
	{"dd", H2T_LINE},	 {"details", H2T_BLOCK},
	{"div", H2T_BLOCK},	 {"dl", H2T_BLOCK},
	{"dt", H2T_LINE},	 {"embed", H2T_DROP},
	{"fieldset", H2T_BLOCK}, {"figcaption", H2T_BLOCK},
	{"figure", H2T_BLOCK},	 {"footer", H2T_BLOCK},
	{"form", H2T_BLOCK},	 {"h1", H2T_BLOCK},
	{"h2", H2T_BLOCK},	 {"h3", H2T_BLOCK},
	{"h4", H2T_BLOCK},	 {"h5", H2T_BLOCK},
	{"h6", H2T_BLOCK},	 {"head", H2T_DROP},
	{"header", H2T_BLOCK},	 {"hr", H2T_BLOCK},
	{"iframe", H2T_DROP},	 {"img", H2T_IMG},
	{"li", H2T_ITEM},	 {"main", H2T_BLOCK},
	{"math", H2T_DROP},	 {"nav", H2T_BLOCK},
	{"noscript", H2T_DROP},	 {"object", H2T_DROP},
	{"ol", H2T_LIST},	 {"p", H2T_BLOCK},
	{"pre", H2T_PRE},	 {"script", H2T_DROP},
	{"section", H2T_BLOCK},	 {"select", H2T_DROP},
	{"style", H2T_DROP},	 {"summary", H2T_BLOCK},
	{"svg", H2T_DROP},	 {"table", H2T_BLOCK},
	{"td", H2T_CELL},	 {"template", H2T_DROP},
	{"textarea", H2T_DROP},	 {"th", H2T_CELL},
	{"title", H2T_DROP},	 {"tr", H2T_BLOCK},
	{"ul", H2T_LIST},	 {"video", H2T_DROP},
};

/* How an element may nest when the XML reading vouches for a fragment:
 * within these rules libxml2's HTML parser closes nothing on its own and
 * implies nothing that changes the text, so both parsers report the same
 * elements in the same order. */
enum h2t_xcat {
	X_NONE,	  /* not in the table: the HTML parser reads the fragment */
	X_INLINE, /* phrase content: holds text and inline elements only */
	X_LINK,	  /* <a>: inline, never inside another <a> */
	X_VOID,	  /* br, img, wbr: no content */
	X_RULE,	  /* hr: a block with no content */
	X_FLOW,	  /* div, blockquote...: holds blocks, inline and text */
	X_PARA,	  /* p, h1-h6: a block that holds inline content only */
	X_LIST,	  /* ul, ol: holds li only */
	X_ITEM,	  /* li: only in a list; holds flow */
	X_DLIST,  /* dl: holds dt and dd only */
	X_DTERM,  /* dt, dd: only in dl; holds inline content */
	X_TABLE,  /* table: holds caption, sections and rows */
	X_TSECT,  /* thead, tbody, tfoot: only in a table; hold rows */
	X_ROW,	  /* tr: only in a table or section; holds cells */
	X_CELL,	  /* td, th: only in a row; hold flow */
	X_CAPTION /* caption: only in a table; holds inline content */
};

struct h2t_xtag {
	const char *name;
	enum h2t_xcat cat;
};

/* Must stay in strcmp order: bsearch()ed. No pre (the two parsers treat
 * its line breaks differently), no script, style or other element the
 * HTML parser reads as raw text, no html, head or body, no address
 * (which a list starting inside it closes). */
static const struct h2t_xtag h2t_xtags[] = {
	{"a", X_LINK},		{"abbr", X_INLINE},	{"acronym", X_INLINE},
	{"article", X_FLOW},	{"aside", X_FLOW},	{"b", X_INLINE},
	{"bdi", X_INLINE},	{"bdo", X_INLINE},	{"big", X_INLINE},
	{"blockquote", X_FLOW}, {"br", X_VOID},		{"caption", X_CAPTION},
	{"center", X_FLOW},	{"cite", X_INLINE},	{"code", X_INLINE},
	{"dd", X_DTERM},	{"del", X_INLINE},	{"dfn", X_INLINE},
	{"div", X_FLOW},	{"dl", X_DLIST},	{"dt", X_DTERM},
	{"em", X_INLINE},	{"figcaption", X_FLOW}, {"figure", X_FLOW},
	{"font", X_INLINE},	{"footer", X_FLOW},	{"h1", X_PARA},
	{"h2", X_PARA},		{"h3", X_PARA},		{"h4", X_PARA},
	{"h5", X_PARA},		{"h6", X_PARA},		{"header", X_FLOW},
	{"hr", X_RULE},		{"i", X_INLINE},	{"img", X_VOID},
	{"ins", X_INLINE},	{"kbd", X_INLINE},	{"li", X_ITEM},
	{"main", X_FLOW},	{"mark", X_INLINE},	{"nav", X_FLOW},
	{"ol", X_LIST},		{"p", X_PARA},		{"q", X_INLINE},
	{"s", X_INLINE},	{"samp", X_INLINE},	{"section", X_FLOW},
	{"small", X_INLINE},	{"span", X_INLINE},	{"strike", X_INLINE},
	{"strong", X_INLINE},	{"sub", X_INLINE},	{"sup", X_INLINE},
	{"table", X_TABLE},	{"tbody", X_TSECT},	{"td", X_CELL},
	{"tfoot", X_TSECT},	{"th", X_CELL},		{"thead", X_TSECT},
	{"time", X_INLINE},	{"tr", X_ROW},		{"tt", X_INLINE},
	{"u", X_INLINE},	{"ul", X_LIST},		{"var", X_INLINE},
	{"wbr", X_VOID},
};

/* An HTML entity as the XML reading hands it to libxml2: a predefined
 * entity (its text is passed on as it is), made on first use. */
struct h2t_ent {
	const xmlChar *name; /* interned by the parser's dictionary */
	xmlEntity ent;
	xmlChar text[8];
};

/* The link being rendered: the outermost <a> with a usable href. */
struct h2t_link {
	int depth;    /* depth of its <a>; 0 when not inside one */
	char *url;    /* owned: the URL as a reference shows it */
	char *href;   /* owned: href trimmed, tabs and newlines cut */
	size_t start; /* raw.len when the link began */
	bool text;    /* some of its text has been written */
};

struct h2t {
	struct buf raw; /* rendered text before the line pass */
	int nl;		/* line breaks owed before the next text: 0-2 */
	bool space;	/* collapsed whitespace owed before the next text */
	bool marker;	/* a list marker was just written: owe nothing */
	bool after_ref; /* a " [n]" was just written */
	int pre;	/* inside this many <pre> */
	int lists;	/* inside this many <ul>/<ol> */
	struct h2t_link link;		/* the open link, if any */
	char *refs[HTML2TEXT_MAX_REFS]; /* owned; refs[n - 1] is [n] */
	size_t n_refs;
	htmlParserCtxtPtr ctxt; /* the parse, to stop it */
	struct html2text *r;	/* the renderer: its entity cache */
	bool declined;		/* the XML reading gave the fragment up */
	int in_link;		/* XML reading: open <a> elements */
	int depth;		/* open elements */
	int skip;    /* depth of the element whose content is skipped, or 0 */
	bool halted; /* the parse is over: ignore what libxml2 still says */
	int err;     /* why it was halted: 0 (depth limit) or an error */
	/* kinds[d - 1]: the kind of the open element at depth d */
	unsigned char kinds[H2T_MAX_DEPTH + 1];
	/* XML reading: xcats[d - 1] is the h2t_xcat of that element */
	unsigned char xcats[H2T_MAX_DEPTH + 1];
	/* Kinds of names seen: libxml2 interns element names, so one
	 * name is one pointer for the whole parse. */
	const xmlChar *cache_name[H2T_KIND_CACHE];
	unsigned char cache_kind[H2T_KIND_CACHE];
	unsigned char cache_xcat[H2T_KIND_CACHE];
};

struct html2text {
	htmlParserCtxtPtr ctxt; /* owned; NULL until the first parse */
	xmlParserCtxtPtr xctxt; /* owned; the XML reading's context */
	enum html2text_parser parser;
	unsigned misses; /* fragments the XML reading gave up, in a row */
	unsigned wait;	 /* fragments left before it tries again */
	bool last_xml;	 /* the last fragment was read as XML */
	struct h2t_ent ents[H2T_ENT_CACHE]; /* keyed by name pointer */
};

static void h2t_ctxt_free(struct html2text *r)
{
	if (!r->ctxt)
		return;
	if (r->ctxt->myDoc)
		xmlFreeDoc(r->ctxt->myDoc);
	r->ctxt->myDoc = NULL;
	htmlFreeParserCtxt(r->ctxt);
	r->ctxt = NULL;
}

/* Frees the XML reading's context, and with its dictionary the names
 * the entity cache is keyed by. */
static void h2t_xctxt_free(struct html2text *r)
{
	if (!r->xctxt)
		return;
	if (r->xctxt->myDoc)
		xmlFreeDoc(r->xctxt->myDoc);
	r->xctxt->myDoc = NULL;
	xmlFreeParserCtxt(r->xctxt);
	r->xctxt = NULL;
	memset(r->ents, 0, sizeof(r->ents));
}

static int h2t_tag_cmp(const void *key, const void *elem)
{
	const struct h2t_tag *tag = elem;

	return strcmp(key, tag->name);
}

static enum h2t_kind h2t_kind_of(const xmlChar *name)
{
	const struct h2t_tag *tag;

	tag = bsearch(name, h2t_tags, sizeof(h2t_tags) / sizeof(h2t_tags[0]),
		      sizeof(h2t_tags[0]), h2t_tag_cmp);
	return tag ? tag->kind : H2T_INLINE;
}

static int h2t_xtag_cmp(const void *key, const void *elem)
{
	const struct h2t_xtag *tag = elem;

	return strcmp(key, tag->name);
}

static enum h2t_xcat h2t_xcat_of(const xmlChar *name)
{
	const struct h2t_xtag *tag;

	tag = bsearch(name, h2t_xtags, sizeof(h2t_xtags) / sizeof(h2t_xtags[0]),
		      sizeof(h2t_xtags[0]), h2t_xtag_cmp);
	return tag ? tag->cat : X_NONE;
}

/* The cache slot of name, filled with its kind and XML category. */
static size_t h2t_cache_slot(struct h2t *h, const xmlChar *name)
{
	size_t slot = ((uintptr_t)name >> 4) % H2T_KIND_CACHE;

	if (h->cache_name[slot] != name) {
		h->cache_name[slot] = name;
		h->cache_kind[slot] = (unsigned char)h2t_kind_of(name);
		h->cache_xcat[slot] = (unsigned char)h2t_xcat_of(name);
	}
	return slot;
}

/* h2t_kind_of(name), remembered by name pointer. */
static enum h2t_kind h2t_kind_cached(struct h2t *h, const xmlChar *name)
{
	return (enum h2t_kind)h->cache_kind[h2t_cache_slot(h, name)];
}

/* At s (n bytes, starting "<!"): sets *skip to the length of a markup
 * declaration that HTML treats as a bogus comment, to be cut; or sets
 * *keep to the length of a real comment, to be passed on untouched (so
 * that nothing inside it is cut); or neither (a doctype, or a "<!" that
 * runs into another tag before its '>': left to the parser). A CDATA
 * section runs to "]]>"; any other bogus comment to the first '>'. */
static void h2t_declaration(const char *s, size_t n, size_t *skip, size_t *keep)
{
	const char *end, *lt;

	*skip = 0;
	*keep = 0;
	if (n >= 4 && memcmp(s, "<!--", 4) == 0) {
		end = memmem(s + 4, n - 4, "-->", 3);
		*keep = end ? (size_t)(end - s) + 3 : n;
		return;
	}
	if (n >= 9 && strncasecmp(s, "<!doctype", 9) == 0)
		return;
	if (n >= 9 && memcmp(s, "<![CDATA[", 9) == 0) {
		end = memmem(s + 9, n - 9, "]]>", 3);
		if (end) {
			*skip = (size_t)(end - s) + 3;
			return;
		}
	}
	end = memchr(s + 2, '>', n - 2);
	if (!end)
		return;
	lt = memchr(s + 2, '<', (size_t)(end - s) - 2);
	if (!lt)
		*skip = (size_t)(end - s) + 1;
}

/* Copies html into clean as valid UTF-8: invalid bytes become U+FFFD,
 * NUL and other C0 controls (except tab, LF, CR, FF) are dropped, since
 * the HTML parser would stop or complain at them. CDATA sections and
 * bogus comments ("<![if !supportLists]>"), which libxml2 would show as
 * text, are cut as a browser would. */
static int h2t_sanitize(const char *html, size_t len, struct buf *clean)
{
	const unsigned char *s = (const unsigned char *)html;
	size_t i = 0, n, skip, keep, plain = 0, run = 0;
	int ret = 0;

	/* Bytes that need no change are appended in runs, not one by
	 * one: most of a post is plain text. */
	while (i < len) {
		if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '<') {
			i++;
			continue;
		}
		if (i >= plain && s[i] == '<' && i + 1 < len &&
		    s[i + 1] == '!') {
			h2t_declaration(html + i, len - i, &skip, &keep);
			if (skip > 0) {
				ret = buf_add(clean, html + run, i - run);
				i += skip;
				run = i;
				if (ret)
					return ret;
				continue;
			}
			plain = i + keep;
		}
		n = text_xml_char_len(s + i, len - i);
		if (n == 0 || (n == 1 && s[i] < 0x20 && s[i] != '\t' &&
			       s[i] != '\n' && s[i] != '\r' && s[i] != '\f')) {
			/* Invalid UTF-8 becomes U+FFFD; controls go. */
			ret = buf_add(clean, html + run, i - run);
			if (!ret && n == 0)
				ret = buf_add(clean, "\xEF\xBF\xBD", 3);
			if (ret)
				return ret;
			i += 1;
			run = i;
			continue;
		}
		i += n;
	}
	return buf_add(clean, html + run, i - run);
}

/* Bytes of collapsible whitespace at s (before end): ASCII blanks and
 * U+00A0, which a plain-text reader cannot tell from a space. 0 if none. */
static size_t h2t_space_len(const char *s, const char *end)
{
	if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\f')
		return 1;
	if (end - s >= 2 && (unsigned char)s[0] == 0xC2 &&
	    (unsigned char)s[1] == 0xA0)
		return 2;
	return 0;
}

/* Bytes of an invisible character that should vanish from plain text:
 * soft hyphen U+00AD, zero-width space U+200B, and the bidi embeddings,
 * overrides and isolates U+202A-202E and U+2066-2069, which could make
 * text read differently from what it is. 0 if none. */
static size_t h2t_invisible_len(const char *s, const char *end)
{
	const unsigned char *u = (const unsigned char *)s;
	ptrdiff_t n = end - s;

	if (n >= 2 && u[0] == 0xC2 && u[1] == 0xAD)
		return 2;
	if (n < 3 || u[0] != 0xE2)
		return 0;
	if (u[1] == 0x80 && (u[2] == 0x8B || (u[2] >= 0xAA && u[2] <= 0xAE)))
		return 3;
	if (u[1] == 0x81 && u[2] >= 0xA6 && u[2] <= 0xA9)
		return 3;
	return 0;
}

/* True when a character starting with byte c might be whitespace or
 * invisible (ASCII blanks and controls, or a lead byte 0xC2 or 0xE2):
 * any other byte is plain text, and is passed over without a closer
 * look. */
static bool h2t_maybe_special(char c)
{
	unsigned char u = (unsigned char)c;

	return u <= ' ' || u == 0xC2 || u == 0xE2;
}

static void h2t_owe_lines(struct h2t *h, int n)
{
	if (h->nl < n)
		h->nl = n;
}

/* True when text starting at s may follow a reference marker with no
 * space: closing punctuation. */
static bool h2t_hugs_marker(const char *s)
{
	return *s != '\0' && strchr(".,;:!?)]}'\"", *s) != NULL;
}

/* Pays what is owed before new text starting at next (NULL for a list
 * marker): line breaks win over a space, and nothing is owed at the very
 * start or right after a list marker. Inside a link whose text has begun
 * line breaks become a space, so that link text stays on one line; a
 * word right after a reference marker gets a space. */
static int h2t_flush(struct h2t *h, const char *next)
{
	bool one_line = h->link.depth > 0 && h->link.text;
	int ret = 0;

	if (h->raw.len > 0 && !h->marker) {
		if (h->nl > 0 && !one_line)
			ret = buf_add(&h->raw, "\n\n", (size_t)h->nl);
		else if (h->nl > 0 || h->space)
			ret = buf_addc(&h->raw, ' ');
		else if (h->after_ref && next && !h2t_hugs_marker(next))
			ret = buf_addc(&h->raw, ' ');
	}
	h->nl = 0;
	h->space = false;
	h->after_ref = false;
	return ret;
}

/* Text inside <pre> (s up to end): kept as it is, but CR, form feed and
 * invisible characters are cut and a no-break space is a space. */
static int h2t_text_pre(struct h2t *h, const char *s, const char *end)
{
	int ret = h2t_flush(h, s);
	const char *run;
	size_t n;

	h->marker = false;
	while (!ret && s < end) {
		run = s;
		while (s < end && (!h2t_maybe_special(*s) ||
				   (*s != '\r' && *s != '\f' &&
				    h2t_invisible_len(s, end) == 0 &&
				    h2t_space_len(s, end) < 2)))
			s++;
		ret = buf_add(&h->raw, run, (size_t)(s - run));
		if (ret || s == end)
			break;
		n = h2t_space_len(s, end);
		if (n == 2)
			ret = buf_addc(&h->raw, ' ');
		else if (*s == '\r' || *s == '\f')
			n = 1;
		else
			n = h2t_invisible_len(s, end);
		s += n;
	}
	return ret;
}

/* Text from s up to end. The parser may hand one run of text over in
 * several pieces (always whole characters); the state carries across. */
static int h2t_text(struct h2t *h, const char *s, const char *end)
{
	const char *run;
	size_t n;
	int ret;

	/* A link's text is one line, even in <pre>. */
	if (h->pre > 0 && h->link.depth == 0)
		return h2t_text_pre(h, s, end);
	while (s < end) {
		n = h2t_space_len(s, end);
		if (n > 0) {
			h->space = true;
			s += n;
			continue;
		}
		n = h2t_invisible_len(s, end);
		if (n > 0) {
			s += n;
			continue;
		}
		run = s;
		for (;;) {
			while (s < end && (!h2t_maybe_special(*s) ||
					   (h2t_space_len(s, end) == 0 &&
					    h2t_invisible_len(s, end) == 0)))
				s++;
			/* One space, then more text: flushing would write
			 * that same space, so the run goes on. */
			if (end - s < 2 || s[0] != ' ' ||
			    h2t_maybe_special(s[1]))
				break;
			s++;
		}
		ret = h2t_flush(h, run);
		if (!ret)
			ret = buf_add(&h->raw, run, (size_t)(s - run));
		if (ret)
			return ret;
		h->marker = false;
		if (h->link.depth > 0)
			h->link.text = true;
	}
	return 0;
}

static int h2t_list_marker(struct h2t *h)
{
	static const char spaces[] = "                ";
	int level = h->lists > 0 ? h->lists - 1 : 0;
	int ret;

	if (level > H2T_MAX_INDENT)
		level = H2T_MAX_INDENT;
	h2t_owe_lines(h, 1);
	h->marker = false;
	ret = h2t_flush(h, NULL);
	if (!ret)
		ret = buf_add(&h->raw, spaces, (size_t)level * 2);
	if (!ret)
		ret = buf_add(&h->raw, "- ", 2);
	h->marker = true;
	return ret;
}

/* True when byte c must be percent-encoded in a reference URL: controls,
 * space, DEL and non-ASCII, both quotes, angle brackets, and the other
 * characters RFC 3986 does not allow raw. */
static bool h2t_url_unsafe(unsigned char c)
{
	switch (c) {
	case '"':
	case '\'':
	case '<':
	case '>':
	case '\\':
	case '^':
	case '`':
	case '{':
	case '|':
	case '}':
		return true;
	default:
		return c <= 0x20 || c >= 0x7f;
	}
}

/* Makes the URL a reference shows from an href, the way a browser reads
 * it: surrounding spaces and controls trimmed, tabs and newlines inside
 * cut. Only an absolute http or https URL with a host qualifies, at
 * most HTML2TEXT_URL_MAX bytes once encoded. The scheme is lower-cased
 * and every byte that could break the line or the URL (controls,
 * spaces, quotes, angle brackets, non-ASCII) is percent-encoded.
 * Returns 1 and sets *url and *href (cleaned, not encoded; both owned
 * by the caller), 0 when the href does not qualify, or -ENOMEM. */
static int h2t_url_make(const char *raw, char **url, char **href)
{
	static const char hex[] = "0123456789ABCDEF";
	const char *end = raw + strlen(raw), *p, *rest, *cut;
	char pct[3] = {'%', 0, 0};
	struct buf clean, enc;
	unsigned char c;
	size_t scheme;
	int ret = 0;

	*url = NULL;
	*href = NULL;
	buf_init(&clean, HTML2TEXT_URL_MAX);
	buf_init(&enc, HTML2TEXT_URL_MAX);
	while (raw < end && (unsigned char)*raw <= 0x20)
		raw++;
	while (end > raw && (unsigned char)end[-1] <= 0x20)
		end--;
	for (p = raw; p < end && !ret; p = cut + 1) {
		cut = p;
		while (cut < end && *cut != '\t' && *cut != '\n' &&
		       *cut != '\r')
			cut++;
		ret = buf_add(&clean, p, (size_t)(cut - p));
	}
	if (ret == -E2BIG) {
		ret = 0;
		goto out;
	}
	if (ret)
		goto out;
	p = buf_str(&clean);
	if (strncasecmp(p, "http://", 7) == 0)
		scheme = 4;
	else if (strncasecmp(p, "https://", 8) == 0)
		scheme = 5;
	else
		goto out;
	rest = p + scheme + 3;
	if (*rest == '\0' || strchr("/\\?#", *rest))
		goto out;
	ret = buf_adds(&enc, scheme == 4 ? "http://" : "https://");
	while (*rest && !ret) {
		p = rest;
		while (*rest && !h2t_url_unsafe((unsigned char)*rest))
			rest++;
		ret = buf_add(&enc, p, (size_t)(rest - p));
		if (!ret && *rest) {
			c = (unsigned char)*rest++;
			pct[1] = hex[c >> 4];
			pct[2] = hex[c & 0xf];
			ret = buf_add(&enc, pct, 3);
		}
	}
	if (ret == -E2BIG) {
		ret = 0;
		goto out;
	}
	if (ret)
		goto out;
	*url = buf_take(&enc);
	*href = buf_take(&clean);
	if (!*url || !*href) {
		free(*url);
		free(*href);
		*url = NULL;
		*href = NULL;
		ret = -ENOMEM;
		goto out;
	}
	ret = 1;
out:
	buf_free(&clean);
	buf_free(&enc);
	return ret;
}

static void h2t_link_clear(struct h2t_link *link)
{
	free(link->url);
	free(link->href);
	memset(link, 0, sizeof(*link));
}

/* The value of the attribute name in a SAX attribute list (name, value
 * pairs, NULL-ended): the first one wins, one without a value is "", as
 * xmlGetProp() gives it. NULL when there is none. */
static const char *h2t_attr(const xmlChar **atts, const char *name)
{
	if (!atts)
		return NULL;
	for (; atts[0]; atts += 2) {
		if (strcmp((const char *)atts[0], name) == 0)
			return atts[1] ? (const char *)atts[1] : "";
	}
	return NULL;
}

/* An <a> at depth h->depth: starts a link when its href qualifies and no
 * link is open (a nested one only adds its text). */
static int h2t_link_start(struct h2t *h, const xmlChar **atts)
{
	const char *raw;
	int ret;

	if (h->link.depth > 0)
		return 0;
	raw = h2t_attr(atts, "href");
	if (!raw)
		return 0;
	ret = h2t_url_make(raw, &h->link.url, &h->link.href);
	if (ret <= 0)
		return ret;
	h->link.depth = h->depth;
	h->link.start = h->raw.len;
	h->link.text = false;
	return 0;
}

/* True when text (len bytes) is the URL u itself, give or take one
 * trailing slash. */
static bool h2t_is_url(const char *text, size_t len, const char *u)
{
	size_t ulen = strlen(u);

	if (len > 0 && text[len - 1] == '/')
		len--;
	if (ulen > 0 && u[ulen - 1] == '/')
		ulen--;
	return len == ulen && memcmp(text, u, len) == 0;
}

/* The number of url's reference, adding it if there is room: 0 when
 * there is not, or -ENOMEM. */
static int h2t_ref_number(struct h2t *h, const char *url)
{
	size_t i;

	for (i = 0; i < h->n_refs; i++) {
		if (strcmp(h->refs[i], url) == 0)
			return (int)i + 1;
	}
	if (h->n_refs >= HTML2TEXT_MAX_REFS)
		return 0;
	h->refs[h->n_refs] = strdup(url);
	if (!h->refs[h->n_refs])
		return -ENOMEM;
	return (int)++h->n_refs;
}

/* The end of the open link: its text gets " [n]", unless it has no
 * text, its text is the URL itself, or the references are full. */
static int h2t_link_end(struct h2t *h)
{
	const char *text = buf_str(&h->raw) + h->link.start;
	size_t len = h->raw.len - h->link.start;
	int n = 0, ret = 0;

	while (len > 0 && (*text == ' ' || *text == '\n')) {
		text++;
		len--;
	}
	while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\n'))
		len--;
	if (len > 0 && !h2t_is_url(text, len, h->link.url) &&
	    !h2t_is_url(text, len, h->link.href))
		n = h2t_ref_number(h, h->link.url);
	if (n > 0) {
		ret = buf_printf(&h->raw, " [%d]", n);
		h->after_ref = true;
	} else if (n < 0) {
		ret = n;
	}
	h2t_link_clear(&h->link);
	return ret;
}

/* Called when an element opens (h->depth is its depth). Returns 1 to
 * take its content (and get h2t_leave later), 0 to skip it, or an
 * error. */
static int h2t_enter(struct h2t *h, enum h2t_kind kind, const xmlChar **atts)
{
	const char *alt;
	int ret;

	switch (kind) {
	case H2T_DROP:
		return 0;
	case H2T_BR:
		if (h->nl < 2)
			h->nl++;
		return 0;
	case H2T_IMG:
		alt = h2t_attr(atts, "alt");
		return alt ? h2t_text(h, alt, alt + strlen(alt)) : 0;
	case H2T_BLOCK:
		h2t_owe_lines(h, 2);
		return 1;
	case H2T_PRE:
		h2t_owe_lines(h, 2);
		h->pre++;
		return 1;
	case H2T_LINE:
		h2t_owe_lines(h, 1);
		return 1;
	case H2T_LIST:
		/* A list nested in a list item hangs off that item. */
		h2t_owe_lines(h, h->lists > 0 ? 1 : 2);
		h->lists++;
		return 1;
	case H2T_ITEM:
		ret = h2t_list_marker(h);
		return ret ? ret : 1;
	case H2T_LINK:
		ret = h2t_link_start(h, atts);
		return ret ? ret : 1;
	case H2T_CELL:
	case H2T_INLINE:
		return 1;
	}
	return 1;
}

/* Called when an element at depth h->depth closes. */
static int h2t_leave(struct h2t *h, enum h2t_kind kind)
{
	switch (kind) {
	case H2T_BLOCK:
		h2t_owe_lines(h, 2);
		break;
	case H2T_PRE:
		h2t_owe_lines(h, 2);
		h->pre--;
		break;
	case H2T_LINE:
		h2t_owe_lines(h, 1);
		break;
	case H2T_ITEM:
		/* Items stay on consecutive lines even when a paragraph
		 * inside one asked for a blank line after it. */
		h->nl = 1;
		break;
	case H2T_LIST:
		h->lists--;
		h2t_owe_lines(h, h->lists > 0 ? 1 : 2);
		break;
	case H2T_CELL:
		h->space = true;
		break;
	case H2T_LINK:
		if (h->depth == h->link.depth)
			return h2t_link_end(h);
		break;
	case H2T_INLINE:
	case H2T_BR:
	case H2T_IMG:
	case H2T_DROP:
		break;
	}
	return 0;
}

/* Ends the parse: after an error (kept in h->err), or at the depth
 * limit (err 0), where the tree builder stopped, keeping what came
 * before. */
static void h2t_halt(struct h2t *h, int err)
{
	h->halted = true;
	h->err = err;
	xmlStopParser(h->ctxt);
}

/* Closes the innermost open element. */
static int h2t_pop(struct h2t *h)
{
	enum h2t_kind kind = (enum h2t_kind)h->kinds[h->depth - 1];
	int ret = 0;

	if (h->skip == 0)
		ret = h2t_leave(h, kind);
	else if (h->skip == h->depth)
		h->skip = 0;
	h->depth--;
	return ret;
}

/* SAX: an element opens. The events nest as the tree would, the implied
 * html, body and p included; content of a skipped element is ignored. */
static void h2t_sax_start(void *ctx, const xmlChar *name, const xmlChar **atts)
{
	struct h2t *h = ctx;
	enum h2t_kind kind;
	int ret;

	if (h->halted)
		return;
	if (h->depth > H2T_MAX_DEPTH) {
		h2t_halt(h, 0);
		return;
	}
	kind = h2t_kind_cached(h, name);
	h->kinds[h->depth++] = (unsigned char)kind;
	if (h->skip > 0)
		return;
	ret = h2t_enter(h, kind, atts);
	if (ret < 0)
		h2t_halt(h, ret);
	else if (ret == 0)
		h->skip = h->depth;
}

static void h2t_sax_end(void *ctx, const xmlChar *name)
{
	struct h2t *h = ctx;
	int ret;

	if (h->halted || h->depth == 0)
		return;
	ret = h2t_pop(h);
	if (ret)
		h2t_halt(h, ret);
}

/* SAX: text, entities decoded. Text outside any element (after </html>)
 * is dropped, as the tree builder drops it. Comments and processing
 * instructions have no callback: they are not text. */
static void h2t_sax_text(void *ctx, const xmlChar *ch, int len)
{
	struct h2t *h = ctx;
	const char *s = (const char *)ch;
	int ret;

	if (h->halted || h->skip > 0 || h->depth == 0 || len <= 0)
		return;
	ret = h2t_text(h, s, s + len);
	if (ret)
		h2t_halt(h, ret);
}

/* SAX: the content of script and style, which the tree held as CDATA
 * nodes (not text). Without this callback libxml2 would pass it on as
 * text. */
static void h2t_sax_cdata(void *ctx, const xmlChar *ch, int len)
{
}

/* A fresh parser context with the callbacks above. NULL when out of
 * memory. */
static htmlParserCtxtPtr h2t_ctxt_new(void)
{
	htmlParserCtxtPtr ctxt = htmlNewParserCtxt();

	if (!ctxt || !ctxt->sax) {
		if (ctxt)
			htmlFreeParserCtxt(ctxt);
		return NULL;
	}
	memset(ctxt->sax, 0, sizeof(*ctxt->sax));
	ctxt->sax->startElement = h2t_sax_start;
	ctxt->sax->endElement = h2t_sax_end;
	ctxt->sax->characters = h2t_sax_text;
	ctxt->sax->cdataBlock = h2t_sax_cdata;
	ctxt->sax->initialized = 1;
	return ctxt;
}

/* Parses clean (len bytes of UTF-8) with the callbacks above, as
 * htmlReadMemory() would parse it, then closes what is still open. The
 * renderer's context is reused (htmlCtxtReadMemory resets it), and made
 * anew when its name dictionary has grown past H2T_DICT_MAX names or
 * after a failure, so that a stream of documents costs one context, not
 * one each, and its memory stays bounded. */
static int h2t_parse(struct html2text *r, struct h2t *h, const char *clean,
		     int len)
{
	/* IGNORE_ENC and "UTF-8": the bytes are UTF-8 by now, whatever a
	 * <meta> says. */
	const int opts = HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
			 HTML_PARSE_NONET | HTML_PARSE_IGNORE_ENC;
	htmlParserCtxtPtr ctxt;
	htmlDocPtr doc;
	int ret = 0;

	if (r->ctxt && xmlDictSize(r->ctxt->dict) > H2T_DICT_MAX)
		h2t_ctxt_free(r);
	if (!r->ctxt)
		r->ctxt = h2t_ctxt_new();
	if (!r->ctxt)
		return -ENOMEM;
	ctxt = r->ctxt;
	ctxt->userData = h;
	h->ctxt = ctxt;
	doc = htmlCtxtReadMemory(ctxt, clean, len, NULL, "UTF-8", opts);
	if (doc)
		xmlFreeDoc(doc);
	h->ctxt = NULL;
	if (h->err) {
		ret = h->err;
		goto out;
	}
	if (ctxt->errNo == XML_ERR_NO_MEMORY) {
		ret = -ENOMEM;
		goto out;
	}
	/* What is still open closes, innermost first. */
	h->halted = true;
	while (!ret && h->depth > 0)
		ret = h2t_pop(h);
out:
	ctxt->userData = NULL;
	if (ret)
		h2t_ctxt_free(r);
	return ret;
}

/* ---- the XML reading ---- */

/* Gives the fragment back to the HTML parser. */
static void h2t_decline(struct h2t *h)
{
	if (h->halted)
		return;
	h->declined = true;
	h->halted = true;
	xmlStopParser(h->ctxt);
}

/* True when the XML reading may open an element of category child
 * inside one of category parent (the fragment's top level is X_FLOW). */
static bool h2t_x_nests(enum h2t_xcat parent, enum h2t_xcat child)
{
	switch (child) {
	case X_NONE:
		return false;
	case X_ITEM:
		return parent == X_LIST;
	case X_DTERM:
		return parent == X_DLIST;
	case X_TSECT:
	case X_CAPTION:
		return parent == X_TABLE;
	case X_ROW:
		return parent == X_TABLE || parent == X_TSECT;
	case X_CELL:
		return parent == X_ROW;
	default:
		break;
	}
	switch (parent) {
	case X_FLOW:
	case X_ITEM:
	case X_CELL:
		return true;
	case X_INLINE:
	case X_PARA:
	case X_DTERM:
	case X_CAPTION:
		return child == X_INLINE || child == X_LINK || child == X_VOID;
	case X_LINK:
		return child == X_INLINE || child == X_VOID;
	default:
		/* void elements hold nothing; lists, tables and their
		 * sections only what is above */
		return false;
	}
}

/* True when every byte of s (n bytes) starts or continues a valid UTF-8
 * character. libxml2 copies only the first byte of an entity's text into
 * an attribute value, so a value holding a character that came from an
 * HTML entity is cut, and not valid: the HTML parser must read it. */
static bool h2t_x_valid(const xmlChar *s, size_t n)
{
	size_t k;

	while (n > 0) {
		if (*s < 0x80) {
			s++;
			n--;
			continue;
		}
		k = text_xml_char_len(s, n);
		if (k == 0)
			return false;
		s += k;
		n -= k;
	}
	return true;
}

/* The attributes html2text reads (href and alt), from libxml2's
 * (localname, prefix, URI, value, end) quintuples into atts as name,
 * value pairs ending in NULL, the values copied into vals (freed by the
 * caller). Returns 1 when the XML reading can stand behind them, 0 to
 * give the fragment back, or -ENOMEM. */
static int h2t_x_attrs(const xmlChar **attrs, int n, const xmlChar *atts[5],
		       char *vals[2])
{
	static const char *const wanted[2] = {"href", "alt"};
	const xmlChar *local, *v, *end;
	int found = 0;

	atts[0] = NULL;
	for (int i = 0; i < n; i++, attrs += 5) {
		local = attrs[0];
		v = attrs[3];
		end = attrs[4];
		for (int w = 0; w < 2; w++) {
			if (strcasecmp((const char *)local, wanted[w]) != 0)
				continue;
			/* HREF, or xlink:href: the HTML parser's names
			 * differ from XML's */
			if (attrs[1] || strcmp((const char *)local, wanted[w]))
				return 0;
			if (!h2t_x_valid(v, (size_t)(end - v)))
				return 0;
			vals[found / 2] =
				strndup((const char *)v, (size_t)(end - v));
			if (!vals[found / 2])
				return -ENOMEM;
			atts[found++] = (const xmlChar *)wanted[w];
			atts[found] = (const xmlChar *)vals[found / 2];
			found++;
			atts[found] = NULL;
		}
	}
	/* XML turns a tab or line break in a value into a space; a browser
	 * cuts them from a URL, so a space inside an href is ambiguous */
	for (int i = 0; i < found; i += 2) {
		const char *u = (const char *)atts[i + 1], *e;

		if (strcmp((const char *)atts[i], "href") != 0)
			continue;
		while (*u == ' ')
			u++;
		e = u + strlen(u);
		while (e > u && e[-1] == ' ')
			e--;
		if (memchr(u, ' ', (size_t)(e - u)))
			return 0;
	}
	return 1;
}

/* SAX2: an element opens. The outermost is the wrapper around the
 * fragment, standing for the HTML parser's implied html and body. */
static void h2t_x_start(void *ctx, const xmlChar *local, const xmlChar *prefix,
			const xmlChar *uri, int n_ns, const xmlChar **ns,
			int n_attrs, int n_defaulted, const xmlChar **attrs)
{
	struct h2t *h = ctx;
	const xmlChar *atts[5];
	char *vals[2] = {NULL, NULL};
	enum h2t_xcat cat, parent;
	size_t slot;
	int ret;

	if (h->halted)
		return;
	if (h->depth == 0) {
		h->kinds[0] = H2T_INLINE;
		h->xcats[0] = X_FLOW;
		h->depth = 1;
		return;
	}
	slot = h2t_cache_slot(h, local);
	cat = (enum h2t_xcat)h->cache_xcat[slot];
	parent = (enum h2t_xcat)h->xcats[h->depth - 1];
	if (prefix || h->depth >= H2T_XML_MAX_DEPTH ||
	    !h2t_x_nests(parent, cat) || (cat == X_LINK && h->in_link > 0)) {
		h2t_decline(h);
		return;
	}
	ret = 1;
	if (n_attrs > 0)
		ret = h2t_x_attrs(attrs, n_attrs, atts, vals);
	if (ret == 1) {
		h->xcats[h->depth] = (unsigned char)cat;
		if (cat == X_LINK)
			h->in_link++;
		h2t_sax_start(h, local, n_attrs > 0 ? atts : NULL);
	} else if (ret == 0) {
		h2t_decline(h);
	} else {
		h2t_halt(h, ret);
	}
	free(vals[0]);
	free(vals[1]);
}

static void h2t_x_end(void *ctx, const xmlChar *local, const xmlChar *prefix,
		      const xmlChar *uri)
{
	struct h2t *h = ctx;

	if (h->halted || h->depth == 0)
		return;
	if (h->xcats[h->depth - 1] == X_LINK)
		h->in_link--;
	if (h->depth == 1) {
		h->depth = 0;
		return;
	}
	h2t_sax_end(h, local);
}

/* SAX2: text. Void elements hold none; lists, tables and their rows
 * hold whitespace only. */
static void h2t_x_text(void *ctx, const xmlChar *ch, int len)
{
	struct h2t *h = ctx;

	if (h->halted || h->depth == 0)
		return;
	switch ((enum h2t_xcat)h->xcats[h->depth - 1]) {
	case X_VOID:
	case X_RULE:
		h2t_decline(h);
		return;
	case X_LIST:
	case X_DLIST:
	case X_TABLE:
	case X_TSECT:
	case X_ROW:
		for (int i = 0; i < len; i++) {
			if (!strchr(" \t\n\r", ch[i])) {
				h2t_decline(h);
				return;
			}
		}
		break;
	default:
		break;
	}
	h2t_sax_text(h, ch, len);
}

/* SAX2: a CDATA section (h2t_sanitize cut them all, so this is one it
 * could not vouch for). */
static void h2t_x_cdata(void *ctx, const xmlChar *ch, int len)
{
	h2t_decline(ctx);
}

/* SAX2: a processing instruction. XML ends one at "?>", the HTML parser
 * at the first '>': which text follows it is not agreed on. */
static void h2t_x_pi(void *ctx, const xmlChar *target, const xmlChar *data)
{
	h2t_decline(ctx);
}

/* Any error or warning: the fragment is not plain well-formed XML. */
static void h2t_x_error(void *ctx, xmlErrorPtr e)
{
	struct h2t *h = ctx;

	if (h && e && e->level != XML_ERR_NONE)
		h2t_decline(h);
}

/* SAX2: an entity reference. The five of XML are libxml2's own; an
 * HTML entity (&rsquo;, &nbsp;...) is handed over as a predefined
 * entity with its character as text, made once per name; anything else
 * is not defined, an error, and the HTML parser reads the fragment. */
static xmlEntityPtr h2t_x_entity(void *ctx, const xmlChar *name)
{
	struct h2t *h = ctx;
	size_t slot = ((uintptr_t)name >> 3) % H2T_ENT_CACHE;
	struct h2t_ent *e = &h->r->ents[slot];
	const htmlEntityDesc *desc;
	int n;

	if (e->name == name)
		return &e->ent;
	desc = htmlEntityLookup(name);
	if (!desc)
		return NULL;
	n = xmlCopyCharMultiByte(e->text, (int)desc->value);
	if (n <= 0 || n >= (int)sizeof(e->text))
		return NULL;
	e->text[n] = '\0';
	memset(&e->ent, 0, sizeof(e->ent));
	e->ent.type = XML_ENTITY_DECL;
	e->ent.etype = XML_INTERNAL_PREDEFINED_ENTITY;
	e->ent.name = name;
	e->ent.content = e->text;
	e->ent.length = n;
	e->name = name;
	return &e->ent;
}

/* A fresh XML parser context with the callbacks above. NULL when out of
 * memory. */
static xmlParserCtxtPtr h2t_xctxt_new(void)
{
	xmlSAXHandler sax;

	xmlParserCtxtPtr ctxt = xmlNewParserCtxt();

	if (!ctxt || !ctxt->sax) {
		if (ctxt)
			xmlFreeParserCtxt(ctxt);
		return NULL;
	}
	memset(&sax, 0, sizeof(sax));
	sax.initialized = XML_SAX2_MAGIC;
	sax.startElementNs = h2t_x_start;
	sax.endElementNs = h2t_x_end;
	sax.characters = h2t_x_text;
	sax.cdataBlock = h2t_x_cdata;
	sax.processingInstruction = h2t_x_pi;
	sax.getEntity = h2t_x_entity;
	sax.serror = h2t_x_error;
	memcpy(ctxt->sax, &sax, sizeof(sax));
	return ctxt;
}

/* Reads doc (len bytes: the fragment inside a wrapper element) with
 * libxml2's XML parser. Returns 0 when it rendered the fragment, 1 when
 * it gave it back to the HTML parser (h is then to be cleared), or an
 * error. */
static int h2t_parse_xml(struct html2text *r, struct h2t *h, const char *doc,
			 int len)
{
	const int opts = XML_PARSE_NOENT | XML_PARSE_NONET | XML_PARSE_NOERROR |
			 XML_PARSE_NOWARNING;
	xmlParserCtxtPtr ctxt;
	xmlDocPtr tree;
	int ret = 0;

	if (r->xctxt && xmlDictSize(r->xctxt->dict) > H2T_DICT_MAX)
		h2t_xctxt_free(r);
	if (!r->xctxt)
		r->xctxt = h2t_xctxt_new();
	if (!r->xctxt)
		return -ENOMEM;
	ctxt = r->xctxt;
	ctxt->userData = h;
	h->ctxt = ctxt;
	h->r = r;
	tree = xmlCtxtReadMemory(ctxt, doc, len, NULL, "UTF-8", opts);
	if (tree)
		xmlFreeDoc(tree);
	h->ctxt = NULL;
	ctxt->userData = NULL;
	if (h->err)
		ret = h->err;
	else if (ctxt->errNo == XML_ERR_NO_MEMORY)
		ret = -ENOMEM;
	else if (h->declined || !ctxt->wellFormed || h->depth != 0)
		ret = 1;
	if (ret < 0)
		h2t_xctxt_free(r);
	return ret;
}

/* Forgets what a declined XML reading rendered, so that the HTML parser
 * starts from nothing. */
static void h2t_clear(struct h2t *h)
{
	struct buf raw = h->raw;

	h2t_link_clear(&h->link);
	for (size_t i = 0; i < h->n_refs; i++)
		free(h->refs[i]);
	memset(h, 0, sizeof(*h));
	h->raw = raw;
	buf_reset(&h->raw);
}

/* Whether to try the XML reading on the next fragment. */
static bool h2t_try_xml(struct html2text *r)
{
	if (r->parser != HTML2TEXT_AUTO)
		return false;
	if (r->wait > 0) {
		r->wait--;
		return false;
	}
	return true;
}

/* Counts how the XML reading did: 0 rendered, 1 declined. */
static void h2t_xml_result(struct html2text *r, int ret)
{
	if (ret == 0) {
		r->misses = 0;
		return;
	}
	/* After a wait, one more miss is enough to wait again. */
	if (++r->misses >= H2T_XML_MISSES) {
		r->misses = H2T_XML_MISSES - 1;
		r->wait = H2T_XML_RETRY;
	}
}

/* Appends raw to out line by line: no trailing blanks on a line, no
 * leading or trailing blank lines, never two blank lines in a row, and
 * no leading whitespace at the very start. */
static int h2t_lines(const struct buf *raw, struct buf *out)
{
	const char *p = buf_str(raw), *end = p + raw->len, *eol, *stop;
	bool started = false;
	int blank = 0, ret;

	while (p < end) {
		eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			eol = end;
		stop = eol;
		while (stop > p && (stop[-1] == ' ' || stop[-1] == '\t'))
			stop--;
		if (!started)
			while (p < stop && (*p == ' ' || *p == '\t'))
				p++;
		if (p == stop) {
			blank++;
		} else {
			ret = 0;
			if (started)
				ret = buf_add(out, "\n\n", blank > 0 ? 2 : 1);
			if (!ret)
				ret = buf_add(out, p, (size_t)(stop - p));
			if (ret)
				return ret;
			started = true;
			blank = 0;
		}
		p = eol + 1;
	}
	return 0;
}

/* Appends the references block: a blank line, then "[n] URL" lines. A
 * reference exists only for link text that was written, so there is
 * text before it. */
static int h2t_refs(const struct h2t *h, struct buf *out)
{
	int ret = 0;

	for (size_t i = 0; i < h->n_refs && !ret; i++)
		ret = buf_printf(out, "%s[%zu] %s", i == 0 ? "\n\n" : "\n",
				 i + 1, h->refs[i]);
	return ret;
}

struct html2text *html2text_create(void)
{
	return calloc(1, sizeof(struct html2text));
}

void html2text_destroy(struct html2text *r)
{
	if (!r)
		return;
	h2t_ctxt_free(r);
	h2t_xctxt_free(r);
	free(r);
}

int html2text_render(struct html2text *r, const char *html, size_t len,
		     struct buf *out)
{
	static const char open[] = "<_>", close[] = "</_>";
	const size_t wrap = sizeof(open) - 1;
	struct buf clean;
	struct h2t h;
	int ret;

	/* Only what reaches out is capped (by out); the working copies are
	 * bounded by the input: at most 3 bytes per input byte. The clean
	 * copy sits inside a wrapper element, for the XML reading. */
	memset(&h, 0, sizeof(h));
	buf_init(&clean, SIZE_MAX);
	buf_init(&h.raw, SIZE_MAX);
	r->last_xml = false;
	/* A byte order mark opening the fragment is no text: the HTML
	 * parser drops it at the start of a document, and the XML reading
	 * would see it inside its wrapper. */
	if (len >= 3 && memcmp(html, "\xEF\xBB\xBF", 3) == 0) {
		html += 3;
		len -= 3;
	}
	if (len == 0)
		return 0;
	ret = buf_add(&clean, open, wrap);
	if (!ret)
		ret = h2t_sanitize(html, len, &clean);
	if (!ret)
		ret = buf_add(&clean, close, sizeof(close) - 1);
	if (ret)
		goto out;
	if (clean.len > INT_MAX) {
		ret = -E2BIG;
		goto out;
	}
	if (clean.len == wrap + sizeof(close) - 1)
		goto out;
	xmlInitParser();
	ret = 1;
	if (h2t_try_xml(r)) {
		ret = h2t_parse_xml(r, &h, clean.ptr, (int)clean.len);
		if (ret >= 0)
			h2t_xml_result(r, ret);
		if (ret == 1)
			h2t_clear(&h);
		r->last_xml = ret == 0;
	}
	if (ret == 1)
		ret = h2t_parse(r, &h, clean.ptr + wrap,
				(int)(clean.len - wrap - (sizeof(close) - 1)));
	if (!ret)
		ret = h2t_lines(&h.raw, out);
	if (!ret)
		ret = h2t_refs(&h, out);
out:
	buf_free(&clean);
	buf_free(&h.raw);
	h2t_link_clear(&h.link);
	for (size_t i = 0; i < h.n_refs; i++)
		free(h.refs[i]);
	return ret;
}

void html2text_set_parser(struct html2text *r, enum html2text_parser parser)
{
	r->parser = parser;
	r->misses = 0;
	r->wait = 0;
}

bool html2text_last_xml(const struct html2text *r)
{
	return r->last_xml;
}

int html2text(const char *html, size_t len, struct buf *out)
{
	struct html2text r = {0};
	int ret;

	ret = html2text_render(&r, html, len, out);
	h2t_ctxt_free(&r);
	h2t_xctxt_free(&r);
	return ret;
}
