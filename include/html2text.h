/*
 * html2text: an HTML fragment to plain text with libxml2's HTML parser.
 * Paragraphs and headings become blocks separated by one blank line, <br>
 * a line break, list items "- " lines, images their alt text; script and
 * style are dropped, entities decoded, runs of whitespace collapsed.
 * Output is valid UTF-8, trimmed, with no line ending in a space.
 * No I/O.
 */
#ifndef BULLETIN_HTML2TEXT_H
#define BULLETIN_HTML2TEXT_H

#include <stddef.h>

#include "buf.h"

/* Appends the text of len bytes of HTML to out. Returns 0, -ENOMEM or
 * -E2BIG (out's cap). Only out is capped, not the input. When adding to
 * out fails, out is freed, as every buf add does. */
int html2text(const char *html, size_t len, struct buf *out);

#endif
