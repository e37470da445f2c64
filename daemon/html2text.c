/*
 * html2text: renders an HTML fragment as plain text. libxml2's HTML parser
 * builds the tree; an iterative walk (parent/next pointers, no recursion,
 * so 100k nested divs cost no stack) emits text through a small state
 * machine of pending breaks, and a last pass trims lines and squeezes
 * blank lines. Bytes that are not UTF-8 become U+FFFD before parsing.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/HTMLparser.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "html2text.h"
#include "text.h"

/* List markers are indented two spaces per nesting level, up to this. */
#define H2T_MAX_INDENT 8

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
	H2T_DROP, /* element and its content are not text */
};

struct h2t_tag {
	const char *name;
	enum h2t_kind kind;
};

/* Must stay in strcmp order: bsearch()ed. */
static const struct h2t_tag h2t_tags[] = {
	{"address", H2T_BLOCK},	   {"article", H2T_BLOCK},
	{"aside", H2T_BLOCK},	   {"audio", H2T_DROP},
	{"blockquote", H2T_BLOCK}, {"br", H2T_BR},
	{"canvas", H2T_DROP},	   {"caption", H2T_BLOCK},
	{"center", H2T_BLOCK},	   {"dd", H2T_LINE},
	{"details", H2T_BLOCK},	   {"div", H2T_BLOCK},
	{"dl", H2T_BLOCK},	   {"dt", H2T_LINE},
	{"embed", H2T_DROP},	   {"fieldset", H2T_BLOCK},
	{"figcaption", H2T_BLOCK}, {"figure", H2T_BLOCK},
	{"footer", H2T_BLOCK},	   {"form", H2T_BLOCK},
	{"h1", H2T_BLOCK},	   {"h2", H2T_BLOCK},
	{"h3", H2T_BLOCK},	   {"h4", H2T_BLOCK},
	{"h5", H2T_BLOCK},	   {"h6", H2T_BLOCK},
	{"head", H2T_DROP},	   {"header", H2T_BLOCK},
	{"hr", H2T_BLOCK},	   {"iframe", H2T_DROP},
	{"img", H2T_IMG},	   {"li", H2T_ITEM},
	{"main", H2T_BLOCK},	   {"math", H2T_DROP},
	{"nav", H2T_BLOCK},	   {"noscript", H2T_DROP},
	{"object", H2T_DROP},	   {"ol", H2T_LIST},
	{"p", H2T_BLOCK},	   {"pre", H2T_PRE},
	{"script", H2T_DROP},	   {"section", H2T_BLOCK},
	{"select", H2T_DROP},	   {"style", H2T_DROP},
	{"summary", H2T_BLOCK},	   {"svg", H2T_DROP},
	{"table", H2T_BLOCK},	   {"td", H2T_CELL},
	{"template", H2T_DROP},	   {"textarea", H2T_DROP},
	{"th", H2T_CELL},	   {"title", H2T_DROP},
	{"tr", H2T_BLOCK},	   {"ul", H2T_LIST},
	{"video", H2T_DROP},
};

struct h2t {
	struct buf raw; /* rendered text before the line pass */
	int nl;		/* line breaks owed before the next text: 0-2 */
	bool space;	/* collapsed whitespace owed before the next text */
	bool marker;	/* a list marker was just written: owe nothing */
	int pre;	/* inside this many <pre> */
	int lists;	/* inside this many <ul>/<ol> */
};

static int h2t_tag_cmp(const void *key, const void *elem)
{
	const struct h2t_tag *tag = elem;

	return strcmp(key, tag->name);
}

static enum h2t_kind h2t_kind_of(const xmlNode *node)
{
	const struct h2t_tag *tag;

	tag = bsearch(node->name, h2t_tags,
		      sizeof(h2t_tags) / sizeof(h2t_tags[0]),
		      sizeof(h2t_tags[0]), h2t_tag_cmp);
	return tag ? tag->kind : H2T_INLINE;
}

/* Copies html into clean as valid UTF-8: invalid bytes become U+FFFD,
 * NUL and other C0 controls (except tab, LF, CR, FF) are dropped, since
 * the HTML parser would stop or complain at them. */
static int h2t_sanitize(const char *html, size_t len, struct buf *clean)
{
	const unsigned char *s = (const unsigned char *)html;
	size_t i = 0, n;
	int ret;

	while (i < len) {
		n = text_xml_char_len(s + i, len - i);
		if (n == 0) {
			ret = buf_add(clean, "\xEF\xBF\xBD", 3);
			n = 1;
		} else if (n == 1 && s[i] < 0x20 && s[i] != '\t' &&
			   s[i] != '\n' && s[i] != '\r' && s[i] != '\f') {
			ret = 0;
		} else {
			ret = buf_add(clean, s + i, n);
		}
		if (ret)
			return ret;
		i += n;
	}
	return 0;
}

/* Bytes of collapsible whitespace at s: ASCII blanks and U+00A0, which a
 * plain-text reader cannot tell from a space. 0 if none. */
static size_t h2t_space_len(const char *s)
{
	if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\f')
		return 1;
	if ((unsigned char)s[0] == 0xC2 && (unsigned char)s[1] == 0xA0)
		return 2;
	return 0;
}

/* Bytes of an invisible character that should vanish from plain text:
 * soft hyphen U+00AD and zero-width space U+200B. 0 if none. */
static size_t h2t_invisible_len(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;

	if (u[0] == 0xC2 && u[1] == 0xAD)
		return 2;
	if (u[0] == 0xE2 && u[1] == 0x80 && u[2] == 0x8B)
		return 3;
	return 0;
}

static void h2t_owe_lines(struct h2t *h, int n)
{
	if (h->nl < n)
		h->nl = n;
}

/* Pays what is owed before new text: line breaks win over a space, and
 * nothing is owed at the very start or right after a list marker. */
static int h2t_flush(struct h2t *h)
{
	int ret = 0;

	if (h->raw.len > 0 && !h->marker) {
		if (h->nl > 0)
			ret = buf_add(&h->raw, "\n\n", (size_t)h->nl);
		else if (h->space)
			ret = buf_addc(&h->raw, ' ');
	}
	h->nl = 0;
	h->space = false;
	return ret;
}

static int h2t_text_pre(struct h2t *h, const char *s)
{
	int ret = h2t_flush(h);
	const char *run;

	h->marker = false;
	while (!ret && *s) {
		run = s;
		while (*s && *s != '\r')
			s++;
		ret = buf_add(&h->raw, run, (size_t)(s - run));
		if (*s == '\r')
			s++;
	}
	return ret;
}

static int h2t_text(struct h2t *h, const char *s)
{
	const char *run;
	size_t n;
	int ret;

	if (h->pre > 0)
		return h2t_text_pre(h, s);
	while (*s) {
		n = h2t_space_len(s);
		if (n > 0) {
			h->space = true;
			s += n;
			continue;
		}
		n = h2t_invisible_len(s);
		if (n > 0) {
			s += n;
			continue;
		}
		run = s;
		while (*s && h2t_space_len(s) == 0 && h2t_invisible_len(s) == 0)
			s++;
		ret = h2t_flush(h);
		if (!ret)
			ret = buf_add(&h->raw, run, (size_t)(s - run));
		if (ret)
			return ret;
		h->marker = false;
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
	ret = h2t_flush(h);
	if (!ret)
		ret = buf_add(&h->raw, spaces, (size_t)level * 2);
	if (!ret)
		ret = buf_add(&h->raw, "- ", 2);
	h->marker = true;
	return ret;
}

/* Called when the walk reaches a node. Returns 1 to descend into its
 * children (and get h2t_leave later), 0 to skip it, or an error. */
static int h2t_enter(struct h2t *h, xmlNode *node)
{
	xmlChar *alt;
	int ret = 0;

	if (node->type == XML_TEXT_NODE || node->type == XML_CDATA_SECTION_NODE)
		return node->content ? h2t_text(h, (const char *)node->content)
				     : 0;
	if (node->type != XML_ELEMENT_NODE)
		return 0;
	switch (h2t_kind_of(node)) {
	case H2T_DROP:
		return 0;
	case H2T_BR:
		if (h->nl < 2)
			h->nl++;
		return 0;
	case H2T_IMG:
		alt = xmlGetProp(node, BAD_CAST "alt");
		if (alt)
			ret = h2t_text(h, (const char *)alt);
		xmlFree(alt);
		return ret;
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
	case H2T_CELL:
	case H2T_INLINE:
		return 1;
	}
	return 1;
}

static void h2t_leave(struct h2t *h, const xmlNode *node)
{
	if (node->type != XML_ELEMENT_NODE)
		return;
	switch (h2t_kind_of(node)) {
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
	case H2T_INLINE:
	case H2T_BR:
	case H2T_IMG:
	case H2T_DROP:
		break;
	}
}

/* Pre-order walk without recursion: down to the first child, else across
 * to the next sibling, else up (leaving each parent) until one has a
 * next sibling. */
static int h2t_walk(struct h2t *h, xmlDoc *doc)
{
	xmlNode *cur = doc->children;
	int down;

	while (cur) {
		down = h2t_enter(h, cur);
		if (down < 0)
			return down;
		if (down && cur->children) {
			cur = cur->children;
			continue;
		}
		if (down)
			h2t_leave(h, cur);
		while (!cur->next) {
			cur = cur->parent;
			if (!cur || cur == (xmlNode *)doc)
				return 0;
			h2t_leave(h, cur);
		}
		cur = cur->next;
	}
	return 0;
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

int html2text(const char *html, size_t len, struct buf *out)
{
	const int opts = HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
			 HTML_PARSE_NONET | HTML_PARSE_IGNORE_ENC;
	struct buf clean;
	struct h2t h;
	xmlDoc *doc = NULL;
	int ret;

	/* Only what reaches out is capped (by out); the working copies are
	 * bounded by the input: at most 3 bytes per input byte. */
	memset(&h, 0, sizeof(h));
	buf_init(&clean, SIZE_MAX);
	buf_init(&h.raw, SIZE_MAX);
	if (len == 0)
		return 0;
	ret = h2t_sanitize(html, len, &clean);
	if (ret)
		goto out;
	if (clean.len > INT_MAX) {
		ret = -E2BIG;
		goto out;
	}
	if (clean.len == 0)
		goto out;
	xmlInitParser();
	/* IGNORE_ENC: the bytes are UTF-8 by now, whatever a <meta> says. */
	doc = htmlReadMemory(clean.ptr, (int)clean.len, NULL, "UTF-8", opts);
	if (!doc) {
		/* libxml2 gives no document for blank input; anything else
		 * means it ran out of memory. */
		ret = clean.len == strspn(clean.ptr, " \t\r\n\f") ? 0 : -ENOMEM;
		goto out;
	}
	ret = h2t_walk(&h, doc);
	if (!ret)
		ret = h2t_lines(&h.raw, out);
out:
	xmlFreeDoc(doc);
	buf_free(&clean);
	buf_free(&h.raw);
	return ret;
}
