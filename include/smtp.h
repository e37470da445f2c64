/*
 * smtp: message submission with libcurl's SMTP, off the loop thread.
 * Owns a few sender threads (uv_thread), each with its own easy handle so
 * that its connection is reused from one message to the next, and the
 * queue they take messages from. TLS: smtps:// is TLS from the start;
 * with starttls an smtp:// connection must upgrade or nothing is sent
 * (CURLUSESSL_ALL: it fails closed). The certificate chain and the host
 * name are checked, against ca_file when given. AUTH when a username is
 * set. Each message goes to one recipient; its outcome comes back on the
 * loop thread, in no particular order, classified as sent, temporary
 * (a 4xx reply, a dropped or refused connection, a timeout, a TLS or
 * AUTH problem: worth trying again later) or permanent (a 5xx reply to
 * the sender, the recipient or the data, but 552, which RFC 5321
 * 4.5.3.1.10 says to treat as 452). Waits follow RFC 5321 4.5.3.2: any
 * one reply may take timeout (the final "." too: cutting that short makes
 * duplicates), and a connection gets 30 s.
 */
#ifndef BULLETIN_SMTP_H
#define BULLETIN_SMTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "log.h"

struct smtp_options {
	const char *url;      /* smtp://HOST[:PORT] or smtps://HOST[:PORT] */
	const char *username; /* or NULL: no AUTH */
	const char *password; /* with username */
	const char *ca_file;  /* PEM of a private authority, or NULL */
	bool starttls;	      /* smtp:// must upgrade with STARTTLS */
	int connections;      /* sender threads, 1 to 64 */
	int timeout;	      /* seconds to wait for any one reply */
};

enum smtp_outcome {
	SMTP_SENT,
	SMTP_TEMPORARY,
	SMTP_PERMANENT,
};

struct smtp_result {
	int64_t id; /* as given to smtp_send */
	enum smtp_outcome outcome;
	int code; /* the server's last reply code, or 0 */
	/* Temporary, and the server rather than the message is at fault:
	 * no connection, no TLS, a refused login, no reply in time. */
	bool server_problem;
	const char *error; /* why, when not sent: names the server */
};

typedef void smtp_done_fn(const struct smtp_result *r, void *arg);

struct smtp;

/* Starts the sender threads on loop; done runs on the loop thread once
 * for every message given to smtp_send. The options' strings are copied.
 * Returns NULL with err set. */
struct smtp *smtp_create(uv_loop_t *loop, const struct smtp_options *opt,
			 smtp_done_fn *done, void *arg, struct err *err);

/* Queues one message: from and rcpt are envelope addresses, data the
 * whole message with CRLF line ends (libcurl adds the dot-stuffing).
 * Everything is copied. Returns 0 or -ENOMEM. */
int smtp_send(struct smtp *s, int64_t id, const char *from, const char *rcpt,
	      const char *data, size_t len);

/* Takes back the message id if no sender has started it: then it is
 * freed, its done never runs, and true is returned. */
bool smtp_cancel(struct smtp *s, int64_t id);

/* Gives back every message not yet started: each is reported temporary
 * ("held back: why") on a later loop turn, and nothing was sent. */
void smtp_hold(struct smtp *s, const char *why);

/* Messages given to smtp_send whose done has not run yet. */
size_t smtp_pending(const struct smtp *s);

/* Stops: messages not yet started are reported temporary ("stopped"),
 * each sender finishes the message it is on, and done runs for those
 * too, before this returns (it waits for the threads). Accepts NULL. */
void smtp_destroy(struct smtp *s);

#endif
