/*
 * template: compiles the Mustache subset described in template.h into a
 * flat node list (each section knows the index just past its end) and
 * renders it over a tree of tmpl_data. Parsing does all the checking, so
 * rendering fails only for memory or the output cap. Values are copied
 * out literally and never parsed again. No globals: objects are
 * independent, each used by one thread at a time.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template.h"

#define TMPL_MAX_DEPTH 32	    /* nested sections */
#define TMPL_MAX_FILE (1024 * 1024) /* template source */

enum node_type {
	NODE_TEXT,     /* literal text */
	NODE_VAR,      /* {{name}} */
	NODE_SECTION,  /* {{#name}} */
	NODE_INVERTED, /* {{^name}} */
};

struct node {
	enum node_type type;
	size_t off; /* text or name: a slice of tmpl->src */
	size_t len;
	size_t end; /* sections: index of the first node after the section */
};

struct tmpl {
	char *src; /* owned copy of the template text */
	size_t src_len;
	struct node *nodes; /* owned */
	size_t n_nodes;
	size_t cap_nodes;
	enum tmpl_escape escape;
};

struct tmpl_field {
	char *name;		    /* owned */
	char *value;		    /* owned; NULL when the field is a list */
	struct tmpl_data **entries; /* owned, with every entry */
	size_t n_entries;
	size_t cap_entries;
};

struct tmpl_data {
	struct tmpl_field *fields; /* owned */
	size_t n_fields;
	size_t cap_fields;
};

/* An open section while parsing. */
struct open_section {
	size_t node;
	int line;
};

static int grow(void **arr, size_t *cap, size_t n, size_t size)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	if (ncap > SIZE_MAX / size)
		return -ENOMEM;
	p = realloc(*arr, ncap * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

static int add_node(struct tmpl *t, enum node_type type, size_t off, size_t len)
{
	struct node *n;
	void *arr = t->nodes;
	int ret;

	ret = grow(&arr, &t->cap_nodes, t->n_nodes, sizeof(*t->nodes));
	t->nodes = arr;
	if (ret)
		return ret;
	n = &t->nodes[t->n_nodes++];
	n->type = type;
	n->off = off;
	n->len = len;
	n->end = 0;
	return 0;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_';
}

static int count_lines(const char *s, size_t from, size_t to)
{
	int n = 0;

	for (size_t i = from; i < to; i++) {
		if (s[i] == '\n')
			n++;
	}
	return n;
}

/* Finds "}}" for the tag whose inside starts at q. Comments may span
 * lines; other tags end on their own line, so that a typo such as
 * "{{name}" is reported where it is rather than swallowing text. */
static bool find_close(const char *s, size_t len, size_t q, bool comment,
		       size_t *close)
{
	for (size_t i = q; i + 1 < len; i++) {
		if (s[i] == '}' && s[i + 1] == '}') {
			*close = i;
			return true;
		}
		if (!comment && s[i] == '\n')
			return false;
	}
	return false;
}

static const char *sigil_str(enum node_type type)
{
	return type == NODE_INVERTED ? "^" : "#";
}

/* Checks a tag's name; on error fills err and returns -EINVAL. */
static int check_name(const struct tmpl *t, size_t off, size_t len,
		      const char *name, int line, struct err *err)
{
	if (len == 0) {
		err_set(err, "%s:%d: empty name in tag", name, line);
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		if (!is_name_char(t->src[off + i])) {
			err_set(err,
				"%s:%d: invalid name '%.*s' in tag: use "
				"letters, digits and _",
				name, line, (int)(len > 64 ? 64 : len),
				t->src + off);
			return -EINVAL;
		}
	}
	return 0;
}

static int parse(struct tmpl *t, const char *name, struct err *err)
{
	struct open_section open[TMPL_MAX_DEPTH];
	const char *s = t->src;
	size_t len = t->src_len;
	size_t pos = 0, text_start = 0;
	size_t depth = 0;
	int line = 1;
	int ret;

	for (;;) {
		const char *hit = NULL;
		size_t p, q, close, tag_end, text_end, next, ls, re;
		size_t noff, nlen;
		int tag_line;
		char sigil = 0;

		if (pos < len)
			hit = memmem(s + pos, len - pos, "{{", 2);
		if (!hit) {
			if (len > text_start) {
				ret = add_node(t, NODE_TEXT, text_start,
					       len - text_start);
				if (ret)
					return ret;
			}
			break;
		}
		p = (size_t)(hit - s);
		line += count_lines(s, pos, p);
		tag_line = line;
		q = p + 2;
		if (q < len && s[q] != '\0' && strchr("#^/!", s[q]))
			sigil = s[q++];
		if (!find_close(s, len, q, sigil == '!', &close)) {
			err_set(err, "%s:%d: unterminated tag", name, tag_line);
			return -EINVAL;
		}
		tag_end = close + 2;
		noff = q;
		while (noff < close && is_blank(s[noff]))
			noff++;
		nlen = close - noff;
		while (nlen > 0 && is_blank(s[noff + nlen - 1]))
			nlen--;
		if (sigil != '!') {
			ret = check_name(t, noff, nlen, name, tag_line, err);
			if (ret)
				return ret;
		}

		/* The standalone rule: a section or comment tag alone on
		 * its line takes the whole line, newline included. */
		text_end = p;
		next = tag_end;
		if (sigil) {
			ls = p;
			while (ls > text_start && is_blank(s[ls - 1]))
				ls--;
			re = tag_end;
			while (re < len && is_blank(s[re]))
				re++;
			if (re + 1 < len && s[re] == '\r' && s[re + 1] == '\n')
				re++;
			if ((ls == 0 || s[ls - 1] == '\n') &&
			    (re == len || s[re] == '\n')) {
				text_end = ls;
				next = re < len ? re + 1 : re;
			}
		}
		if (text_end > text_start) {
			ret = add_node(t, NODE_TEXT, text_start,
				       text_end - text_start);
			if (ret)
				return ret;
		}
		line += count_lines(s, p, next);
		pos = next;
		text_start = next;

		switch (sigil) {
		case 0:
			ret = add_node(t, NODE_VAR, noff, nlen);
			if (ret)
				return ret;
			break;
		case '#':
		case '^':
			if (depth == TMPL_MAX_DEPTH) {
				err_set(err,
					"%s:%d: sections nested more than %d "
					"deep",
					name, tag_line, TMPL_MAX_DEPTH);
				return -EINVAL;
			}
			ret = add_node(
				t, sigil == '#' ? NODE_SECTION : NODE_INVERTED,
				noff, nlen);
			if (ret)
				return ret;
			open[depth].node = t->n_nodes - 1;
			open[depth].line = tag_line;
			depth++;
			break;
		case '/': {
			struct node *o;

			if (depth == 0) {
				err_set(err,
					"%s:%d: {{/%.*s}} closes no open "
					"section",
					name, tag_line, (int)nlen, s + noff);
				return -EINVAL;
			}
			o = &t->nodes[open[depth - 1].node];
			if (o->len != nlen ||
			    memcmp(s + o->off, s + noff, nlen) != 0) {
				err_set(err,
					"%s:%d: mismatched {{/%.*s}}, "
					"expected {{/%.*s}}",
					name, tag_line, (int)nlen, s + noff,
					(int)o->len, s + o->off);
				return -EINVAL;
			}
			o->end = t->n_nodes;
			depth--;
			break;
		}
		default: /* '!': a comment renders as nothing */
			break;
		}
	}
	if (depth > 0) {
		const struct node *o = &t->nodes[open[depth - 1].node];

		err_set(err, "%s:%d: unclosed section {{%s%.*s}} opened here",
			name, open[depth - 1].line, sigil_str(o->type),
			(int)o->len, s + o->off);
		return -EINVAL;
	}
	return 0;
}

struct tmpl *tmpl_parse(const char *text, size_t len, const char *name,
			enum tmpl_escape escape, struct err *err)
{
	struct tmpl *t;
	int ret;

	if (!name)
		name = "template";
	if (!text) {
		err_set(err, "%s: no template text", name);
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		goto nomem;
	t->src = malloc(len + 1);
	if (!t->src)
		goto nomem;
	if (len)
		memcpy(t->src, text, len);
	t->src[len] = '\0';
	t->src_len = len;
	t->escape = escape;
	ret = parse(t, name, err);
	if (ret == -ENOMEM)
		goto nomem;
	if (ret) {
		tmpl_destroy(t);
		return NULL;
	}
	return t;
nomem:
	err_set(err, "%s: out of memory compiling the template", name);
	tmpl_destroy(t);
	return NULL;
}

struct tmpl *tmpl_load(const char *path, enum tmpl_escape escape,
		       struct err *err)
{
	struct tmpl *t = NULL;
	struct buf b;
	char chunk[8192];
	FILE *f;
	size_t n;
	int ret = 0;

	buf_init(&b, TMPL_MAX_FILE);
	f = fopen(path, "rb");
	if (!f) {
		err_set(err, "%s: cannot open the template: %s", path,
			strerror(errno));
		return NULL;
	}
	for (;;) {
		n = fread(chunk, 1, sizeof(chunk), f);
		if (n == 0)
			break;
		ret = buf_add(&b, chunk, n);
		if (ret)
			break;
	}
	if (ret == -E2BIG) {
		err_set(err, "%s: template is larger than %d bytes", path,
			TMPL_MAX_FILE);
		goto out;
	}
	if (ret) {
		err_set(err, "%s: out of memory reading the template", path);
		goto out;
	}
	if (ferror(f)) {
		err_set(err, "%s: cannot read the template: %s", path,
			strerror(errno));
		goto out;
	}
	t = tmpl_parse(buf_str(&b), b.len, path, escape, err);
out:
	fclose(f);
	buf_free(&b);
	return t;
}

void tmpl_destroy(struct tmpl *t)
{
	if (!t)
		return;
	free(t->src);
	free(t->nodes);
	free(t);
}

/* ---- data ---- */

struct tmpl_data *tmpl_data_create(void)
{
	return calloc(1, sizeof(struct tmpl_data));
}

static void field_clear(struct tmpl_field *f)
{
	free(f->value);
	f->value = NULL;
	for (size_t i = 0; i < f->n_entries; i++)
		tmpl_data_destroy(f->entries[i]);
	free(f->entries);
	f->entries = NULL;
	f->n_entries = 0;
	f->cap_entries = 0;
}

void tmpl_data_destroy(struct tmpl_data *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n_fields; i++) {
		field_clear(&d->fields[i]);
		free(d->fields[i].name);
	}
	free(d->fields);
	free(d);
}

static struct tmpl_field *field_find(const struct tmpl_data *d,
				     const char *name, size_t len)
{
	for (size_t i = 0; i < d->n_fields; i++) {
		struct tmpl_field *f = &d->fields[i];

		if (strncmp(f->name, name, len) == 0 && f->name[len] == '\0')
			return f;
	}
	return NULL;
}

/* Finds name in d or adds it, empty. */
static struct tmpl_field *field_get(struct tmpl_data *d, const char *name)
{
	struct tmpl_field *f = field_find(d, name, strlen(name));
	void *arr;

	if (f)
		return f;
	arr = d->fields;
	if (grow(&arr, &d->cap_fields, d->n_fields, sizeof(*d->fields)))
		return NULL;
	d->fields = arr;
	f = &d->fields[d->n_fields];
	memset(f, 0, sizeof(*f));
	f->name = strdup(name);
	if (!f->name)
		return NULL;
	d->n_fields++;
	return f;
}

int tmpl_data_set(struct tmpl_data *d, const char *name, const char *value)
{
	struct tmpl_field *f;
	char *v;

	if (CHECK_FAILS(d && name))
		return -EINVAL;
	v = strdup(value ? value : "");
	if (!v)
		return -ENOMEM;
	f = field_get(d, name);
	if (!f) {
		free(v);
		return -ENOMEM;
	}
	field_clear(f);
	f->value = v;
	return 0;
}

int tmpl_data_setf(struct tmpl_data *d, const char *name, const char *fmt, ...)
{
	struct buf b;
	va_list ap;
	int ret;

	buf_init(&b, BUF_MAX_TEXT);
	va_start(ap, fmt);
	ret = buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (ret)
		return ret == -EINVAL ? -EINVAL : -ENOMEM;
	ret = tmpl_data_set(d, name, buf_str(&b));
	buf_free(&b);
	return ret;
}

struct tmpl_data *tmpl_data_add(struct tmpl_data *d, const char *list)
{
	struct tmpl_field *f;
	struct tmpl_data *e;
	void *arr;

	if (CHECK_FAILS(d && list))
		return NULL;
	f = field_get(d, list);
	if (!f)
		return NULL;
	if (f->value) {
		/* A value turns into a list: the last writer wins. */
		free(f->value);
		f->value = NULL;
	}
	arr = f->entries;
	if (grow(&arr, &f->cap_entries, f->n_entries, sizeof(*f->entries)))
		return NULL;
	f->entries = arr;
	e = tmpl_data_create();
	if (!e)
		return NULL;
	f->entries[f->n_entries++] = e;
	return e;
}

/* ---- rendering ---- */

struct render {
	const struct tmpl *t;
	const struct tmpl_data *stack[TMPL_MAX_DEPTH + 1];
	size_t depth;
	struct buf *out;
};

/* The field named by node n in the innermost entry that has it. */
static const struct tmpl_field *lookup(const struct render *r,
				       const struct node *n)
{
	const char *name = r->t->src + n->off;

	for (size_t k = r->depth; k > 0; k--) {
		const struct tmpl_field *f;

		f = field_find(r->stack[k - 1], name, n->len);
		if (f)
			return f;
	}
	return NULL;
}

static int emit_html(struct buf *out, const char *v)
{
	const char *run = v;
	int ret;

	for (const char *p = v; *p; p++) {
		const char *rep;

		switch (*p) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&#39;";
			break;
		default:
			continue;
		}
		ret = buf_add(out, run, (size_t)(p - run));
		if (ret)
			return ret;
		ret = buf_adds(out, rep);
		if (ret)
			return ret;
		run = p + 1;
	}
	return buf_adds(out, run);
}

static bool field_truthy(const struct tmpl_field *f)
{
	if (!f)
		return false;
	if (f->value)
		return f->value[0] != '\0';
	return f->n_entries > 0;
}

static int render_range(struct render *r, size_t i, size_t end)
{
	int ret;

	while (i < end) {
		const struct node *n = &r->t->nodes[i];
		const struct tmpl_field *f;

		switch (n->type) {
		case NODE_TEXT:
			ret = buf_add(r->out, r->t->src + n->off, n->len);
			if (ret)
				return ret;
			i++;
			break;
		case NODE_VAR:
			f = lookup(r, n);
			if (f && f->value) {
				if (r->t->escape == TMPL_HTML)
					ret = emit_html(r->out, f->value);
				else
					ret = buf_adds(r->out, f->value);
				if (ret)
					return ret;
			}
			i++;
			break;
		case NODE_SECTION:
			f = lookup(r, n);
			if (f && f->value && f->value[0]) {
				ret = render_range(r, i + 1, n->end);
				if (ret)
					return ret;
			} else if (f && !f->value) {
				for (size_t k = 0; k < f->n_entries; k++) {
					r->stack[r->depth++] = f->entries[k];
					ret = render_range(r, i + 1, n->end);
					r->depth--;
					if (ret)
						return ret;
				}
			}
			i = n->end;
			break;
		case NODE_INVERTED:
			if (!field_truthy(lookup(r, n))) {
				ret = render_range(r, i + 1, n->end);
				if (ret)
					return ret;
			}
			i = n->end;
			break;
		}
	}
	return 0;
}

int tmpl_render(const struct tmpl *t, const struct tmpl_data *d,
		struct buf *out)
{
	struct render r;

	if (CHECK_FAILS(t && d && out))
		return -EINVAL;
	r.t = t;
	r.stack[0] = d;
	r.depth = 1;
	r.out = out;
	return render_range(&r, 0, t->n_nodes);
}
