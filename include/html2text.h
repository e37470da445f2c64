/*
 * html2text: an HTML fragment to plain text with libxml2's HTML parser
 * (or its XML parser, where that reads the fragment the same way).
 * Paragraphs and headings become blocks separated by one blank line, <br>
 * a line break, list items "- " lines, images their alt text; script and
 * style are dropped, entities decoded, runs of whitespace collapsed.
 * Output is valid UTF-8, trimmed, with no line ending in a space.
 * No I/O.
 *
 * Links become numbered references. The link text (whitespace collapsed,
 * on one line; an image's alt text) is followed by " [n]", and after the
 * text come a blank line and one line per reference, in number order:
 *
 *	See the report [1] and the pay offer [2].
 *
 *	[1] https://union.example.org/report
 *	[2] https://union.example.org/pay?band=3
 *
 * - Only an absolute http or https URL with a host gets a reference;
 *   other links (relative, javascript:, data:, mailto:...) keep their
 *   text only. The href is read as a browser reads it: surrounding
 *   spaces trimmed, tabs and newlines inside cut. The scheme is
 *   lower-cased and controls, spaces, quotes, <, >, \ ^ ` { | } and
 *   non-ASCII bytes are percent-encoded, so a reference line is printable
 *   ASCII with no space in the URL. A URL over HTML2TEXT_URL_MAX bytes
 *   (encoded) keeps its text only.
 * - Numbers go 1, 2, 3... in order of first appearance; the same URL
 *   again reuses its number. After HTML2TEXT_MAX_REFS different URLs,
 *   further links keep their text only.
 * - A link whose text is its URL (give or take a trailing slash) shows
 *   the URL once, with no marker; a link with no text shows nothing.
 * - A word right after a marker is separated from it by a space.
 *
 * The marker " [n]" always follows link text on the same line; a reader
 * of the text (the digest's excerpt) can tell the block by its shape: the
 * last paragraph, lines "[1] http...", "[2] http...", numbered from 1.
 *
 * Also dropped: comments, CDATA sections and other "<!...>" bogus
 * comments, processing instructions, and the bidi controls U+202A-202E
 * and U+2066-2069 (with soft hyphens and zero-width spaces). Runs of
 * <br> give at most one blank line. Rendering the output again, with
 * & < > escaped, gives the same text (whitespace aside, or exactly inside
 * <pre>).
 */
#ifndef BULLETIN_HTML2TEXT_H
#define BULLETIN_HTML2TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* Most references one rendering lists. */
#define HTML2TEXT_MAX_REFS 100

/* Longest URL (bytes, percent-encoded) a reference shows, so that a
 * reference line stays well inside a mail line's 998. */
#define HTML2TEXT_URL_MAX 900

/* Appends the text of len bytes of HTML to out. Returns 0, -ENOMEM or
 * -E2BIG (out's cap). Only out is capped, not the input. When adding to
 * out fails, out is freed, as every buf add does. */
int html2text(const char *html, size_t len, struct buf *out);

/* A renderer keeps libxml2's HTML parser context from one document to
 * the next, so that rendering many small documents (the fields of a
 * feed's items) does not pay for a new context each time. It holds no
 * document between calls; its memory stays bounded (the context is made
 * anew when its name dictionary grows large). One thread at a time. */
struct html2text;

/* Returns NULL when out of memory. */
struct html2text *html2text_create(void);

/* html2text() with r's parser context: the same text, the same
 * errors. */
int html2text_render(struct html2text *r, const char *html, size_t len,
		     struct buf *out);

void html2text_destroy(struct html2text *r); /* accepts NULL */

/* Which of libxml2's parsers reads a fragment. libxml2's XML parser is
 * two to three times faster than its HTML parser, and most HTML in feeds
 * is well-formed. So by default (HTML2TEXT_AUTO) a fragment is first
 * read as XML, with HTML's named entities, and kept only when it is
 * well-formed and stays inside a subset where both parsers report the
 * same elements in the same order: known elements, in lower case; no
 * block inside an inline element or a paragraph; list items in lists,
 * rows in tables; nothing inside br, img or hr. Anything else, and
 * every fragment after a few in a row did not qualify (for a while),
 * is read by the HTML parser. The text is the same either way.
 * HTML2TEXT_HTML_ONLY always uses the HTML parser. */
enum html2text_parser { HTML2TEXT_AUTO, HTML2TEXT_HTML_ONLY };

void html2text_set_parser(struct html2text *r, enum html2text_parser parser);

/* True when the last html2text_render() on r was read as XML. */
bool html2text_last_xml(const struct html2text *r);

#endif
