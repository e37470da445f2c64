/*
 * mailmsg: reads one RFC 5322 message, as received, into what the mail
 * intake needs: sender and recipients, subject, date and Message-ID, the
 * headers that guard against mail loops and forgery, and the text (the
 * text/plain part preferred, else the HTML part rendered by html2text),
 * with attachments named but not kept. libetpan parses; its MIME parser
 * recurses with no depth limit (RELIABILITY §0.6c), so size, header size
 * and the number of nested parts are checked before it runs. No global
 * state: safe on any thread.
 */
#ifndef BULLETIN_MAILMSG_H
#define BULLETIN_MAILMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

/* Default for [imap] max_size: a message over this is refused whole. */
#define MAILMSG_MAX_SIZE (25 * 1024 * 1024)
/* One header block (the message's, or a part's) may not be bigger. */
#define MAILMSG_MAX_HEADER (256 * 1024)
/* Nor all of them together: libetpan spends about 1.5 us on each field,
 * and a message of part headers would otherwise cost it seconds. */
#define MAILMSG_MAX_HEADERS (4 * MAILMSG_MAX_HEADER)
/* Multipart and message/rfc822 parts, nested or not: a bound on the
 * depth libetpan recurses to, checked before it runs. */
#define MAILMSG_MAX_CONTAINERS 32
/* Comments nested in one header field: libetpan parses those recursively
 * too (200,000 "(" overflow an 8 MB stack), so this is checked first. */
#define MAILMSG_MAX_COMMENT_DEPTH 64
/* Leaf parts looked at; the rest are counted, not read. */
#define MAILMSG_MAX_PARTS 500
/* Recipient addresses kept (To, Cc, Delivered-To, X-Original-To). */
#define MAILMSG_MAX_RCPTS 200
#define MAILMSG_MAX_ATTACHMENTS 50
/* Bytes kept of a delivery status report. */
#define MAILMSG_MAX_DSN (64 * 1024)
/* Text kept from the body, in bytes of UTF-8. */
#define MAILMSG_MAX_TEXT (4 * 1024 * 1024)

struct mailmsg {
	/* addr-spec of the first From address, domain lower-cased; NULL
	 * when there is none or it cannot be read. */
	char *from;
	char *from_name; /* its display name, decoded to UTF-8, or NULL */
	/* Return-Path: NULL when absent, "" for the null path "<>", else
	 * the addr-spec. */
	char *return_path;
	/* To, Cc, Delivered-To and X-Original-To addr-specs, in that order,
	 * each once (compared without regard to case); the domain is
	 * lower-cased, the local part kept as written, since a command
	 * address carries a case-sensitive token. At most
	 * MAILMSG_MAX_RCPTS. */
	char **rcpts;
	size_t n_rcpts;
	/* Subject decoded (RFC 2047) to UTF-8, on one line (CR, LF and
	 * other controls become spaces, runs of blanks one space, trimmed);
	 * NULL when absent. */
	char *subject;
	int64_t date;	  /* Date as Unix time (UTC); 0 when absent or bad */
	char *message_id; /* without the angle brackets; NULL when absent */
	/* Lower-cased, trimmed values, NULL when absent. */
	char *auto_submitted;
	char *precedence;
	bool has_list_id; /* a List-Id header: mail from a list */
	/* Authentication-Results values, unfolded, top of the message
	 * first (the topmost was added last, by the nearest server). */
	char **auth_results;
	size_t n_auth_results;
	/* The body as plain UTF-8 text, lines ending in "\n", trimmed;
	 * "" when there is no text part. At most MAILMSG_MAX_TEXT. */
	char *text;
	bool text_from_html; /* text was rendered from text/html */
	/* The fields of the first message/delivery-status part (RFC 3464;
	 * or message/global-delivery-status) of the message itself, not of
	 * one it forwards, as written (lines end as they did), at most
	 * MAILMSG_MAX_DSN bytes; NULL when there is none. The part is also
	 * listed as an attachment. */
	char *delivery_status;
	/* Attachments by file name (decoded), or "unnamed TYPE/SUBTYPE". */
	char **attachments;
	size_t n_attachments;
	/* What was odd but survivable (an unknown charset read as
	 * Windows-1252, parts beyond the limit skipped...), or "". */
	char warning[ERR_MSG_MAX];
};

/* Reads the len bytes at data (the message with its headers; CRLF or LF
 * line ends). Returns 0 and fills *out (free with mailmsg_free), or:
 *   -EMSGSIZE  bigger than max_size, a header block over
 *              MAILMSG_MAX_HEADER, or header blocks together over
 *              MAILMSG_MAX_HEADERS;
 *   -EMLINK    more than MAILMSG_MAX_CONTAINERS multipart or
 *              message/rfc822 parts, or comments in a header field
 *              nested deeper than MAILMSG_MAX_COMMENT_DEPTH;
 *   -EBADMSG   not a message (no header block at all);
 *   -ENOMEM;
 * with err saying why in one line, and *out zeroed. A message that is
 * only partly readable (bad encoded words, bad base64, a missing Date or
 * Message-ID, an unknown charset) is read as far as it goes, with
 * out->warning saying what was wrong. */
int mailmsg_parse(const char *data, size_t len, size_t max_size,
		  struct mailmsg *out, struct err *err);

/* Frees what *m holds and zeroes it; accepts a zeroed struct. */
void mailmsg_free(struct mailmsg *m);

#endif
