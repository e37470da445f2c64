/*
 * template: a small, documented template language (a Mustache subset) for
 * the digest, replies and HTTP pages; see templates/README.md.
 *   {{name}}            the value of name (HTML-escaped in TMPL_HTML mode)
 *   {{#name}}..{{/name}} repeat for each entry of list name, or show once
 *                        when name is a non-empty value
 *   {{^name}}..{{/name}} show when name is missing, empty or an empty list
 *   {{! comment }}       nothing
 * Names are looked up in the current entry, then outwards. A tag alone on
 * its line (sections, comments) removes the whole line. Templates are
 * compiled at start-up so that an error names file:line before any send;
 * rendering never evaluates content: values are emitted literally.
 * Names are letters, digits and _; sections nest at most 32 deep.
 */
#ifndef BULLETIN_TEMPLATE_H
#define BULLETIN_TEMPLATE_H

#include <stddef.h>

#include "buf.h"
#include "log.h"

enum tmpl_escape {
	TMPL_TEXT, /* values emitted as they are */
	TMPL_HTML, /* values HTML-escaped: & < > " ' */
};

struct tmpl;	  /* a compiled template */
struct tmpl_data; /* a tree of values and lists to render */

/* Compiles text; name is used in error messages ("weekly.txt:12: ...").
 * Returns NULL with err set on a syntax error (unclosed or mismatched
 * section, empty name, unterminated tag) or when out of memory. The
 * messages are, for example:
 *   NAME:LINE: unclosed section {{#themes}} opened here
 *   NAME:LINE: mismatched {{/x}}, expected {{/y}}
 *   NAME:LINE: unterminated tag   (no "}}" on the tag's line)
 *   NAME:LINE: empty name in tag
 *   NAME:LINE: {{/x}} closes no open section */
struct tmpl *tmpl_parse(const char *text, size_t len, const char *name,
			enum tmpl_escape escape, struct err *err);

/* Reads and compiles a file (at most 1 MiB); err names the file and
 * line. */
struct tmpl *tmpl_load(const char *path, enum tmpl_escape escape,
		       struct err *err);

void tmpl_destroy(struct tmpl *t); /* accepts NULL */

/* Data: create a root, set values, add list entries. Every string is
 * copied. Functions return 0 or -ENOMEM; tmpl_data_add returns the new
 * entry (owned by its parent) or NULL. Setting a name again replaces its
 * value (or list); adding to a name that holds a value turns it into a
 * list. A NULL value is stored as "". */
struct tmpl_data *tmpl_data_create(void);
void tmpl_data_destroy(struct tmpl_data *d); /* accepts NULL */
int tmpl_data_set(struct tmpl_data *d, const char *name, const char *value);
int tmpl_data_setf(struct tmpl_data *d, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
struct tmpl_data *tmpl_data_add(struct tmpl_data *d, const char *list);

/* Renders into out (appending). Returns 0, -ENOMEM or -E2BIG. */
int tmpl_render(const struct tmpl *t, const struct tmpl_data *d,
		struct buf *out);

#endif
