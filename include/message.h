/*
 * message: RFC 5322 messages. Builds the header block (written here and
 * checked against libetpan's parser in the tests: libetpan's own writer
 * cuts lines inside <...>) and a text/plain UTF-8 format=flowed body;
 * encodes headers with RFC 2047 where they are not ASCII; and guarantees
 * that no content can add a header: CR, LF and other breaks in any value
 * become one space, and bidi and control characters are dropped.
 */
#ifndef BULLETIN_MESSAGE_H
#define BULLETIN_MESSAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "log.h"

#define MESSAGE_WIDTH 72 /* body wrap column */

struct message_spec {
	const char *from;	     /* "Staff News <staff-news@example.org>" */
	const char *to;		     /* bare address */
	const char *subject;	     /* UTF-8, untrusted */
	int64_t date;		     /* Unix time; shown with a numeric zone */
	const char *message_id;	     /* without the angle brackets */
	const char *list_id;	     /* full List-Id value, or NULL */
	const char *unsubscribe_url; /* https URL, or NULL */
	const char *unsubscribe_mailto; /* mailto: URL, or NULL */
	bool one_click; /* List-Unsubscribe-Post: List-Unsubscribe=One-Click */
	bool bulk;	/* Precedence: bulk */
	/* For reading, not sending (preview): a UTF-8 body stays text
	 * ("8bit") instead of going as base64. */
	bool readable;
	const char
		*auto_submitted; /* "auto-generated", "auto-replied" or NULL */
	const char *body;	 /* UTF-8 text with LF line ends, unwrapped */
};

/* Appends the whole message (headers, blank line, body) with CRLF line
 * ends to out. The body is wrapped with message_flow(). Returns 0,
 * -EINVAL (err says which field is unusable) or -ENOMEM. */
int message_build(const struct message_spec *spec, struct buf *out,
		  struct err *err);

/* A body shared by many messages that differ in a few values (a digest
 * and its recipients): in the text given to message_body_prepare,
 * MESSAGE_HOLE followed by a digit i stands for the i-th value given to
 * message_build_prepared. Elsewhere MESSAGE_HOLE is a control character
 * like any other (dropped from a body). */
#define MESSAGE_HOLE '\x01'

struct message_body;

/* Prepares text (as message_spec.body) for many messages: its lines
 * without a hole are cleaned, wrapped and encoded once; the lines with
 * one are kept to be filled in for each message. Sets *out (free with
 * message_body_free). Returns 0, -ENOMEM or -E2BIG. */
int message_body_prepare(const char *text, struct message_body **out);
void message_body_free(struct message_body *b); /* accepts NULL */

/* As message_build, with the body b with hole i replaced by values[i]
 * (n values; a hole past n stands for "") instead of spec->body: the
 * same bytes as message_build gives for that text, in a fraction of the
 * time. b is only read, so threads may share it. */
int message_build_prepared(const struct message_spec *spec,
			   const struct message_body *b,
			   const char *const *values, size_t n, struct buf *out,
			   struct err *err);

/* Wraps text at width characters, and never more than 78 octets a line,
 * as format=flowed (RFC 3676): soft breaks end with
 * one space, lines beginning with ' ', '>' or "From " are space-stuffed,
 * "-- " stays as it is, a word longer than the width (a URL) is never
 * broken. Width counts characters (code points). A word of more than
 * 990 octets, which no line could hold, is cut (a hard break) so that no
 * line passes 998 octets. CR and CRLF become LF, controls but TAB are
 * dropped, invalid UTF-8 becomes U+FFFD. Appends to out with LF line
 * ends, every line terminated. Returns 0, -ENOMEM or -E2BIG. */
int message_flow(const char *text, size_t width, struct buf *out);

/* Appends value as an RFC 2047 encoded header text (UTF-8, B or Q) when
 * it is not plain printable ASCII, else as it is; breaks and controls
 * become spaces first and the value is trimmed. ASCII is encoded too
 * when it holds "=?" (a decoder would take it for an encoded word) or a
 * word over 900 octets (it could not be folded). Each encoded word is at
 * most 75 characters and never splits a UTF-8 sequence; words are
 * separated by " " so that the writer can fold between them. */
int message_encode_header(const char *value, struct buf *out);

/* Appends value (len bytes of untrusted UTF-8) made safe for one line:
 * CRLF, CR, LF, NEL, U+2028, U+2029, TAB, VT and FF each become one
 * space; NUL and other C0/C1 controls, the bidi controls U+202A-202E,
 * U+2066-2069 and U+061C, and U+200B-200F and U+FEFF are dropped; bytes
 * that are not UTF-8 become U+FFFD. Nothing is trimmed or collapsed.
 * Used for header values and for headings in the digest body. Returns 0,
 * -ENOMEM or -E2BIG. */
int message_clean(const char *value, size_t len, struct buf *out);

/* Builds a List-Id value: "Title" <name.domain> where domain is taken
 * from address; name is reduced to a dot-atom. The title is cleaned,
 * quoted with " and \ escaped, or RFC 2047-encoded when not ASCII; the
 * id is lower-case [a-z0-9-] labels, at most 255 octets (the name part
 * is shortened). Returns 0, -EINVAL (no domain in address) or -ENOMEM. */
int message_list_id(const char *title, const char *name, const char *address,
		    struct buf *out);

#endif
