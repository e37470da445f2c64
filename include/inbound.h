/*
 * inbound: what an incoming message is for. A message to one of a list's
 * command addresses is a command (subscribe, unsubscribe, confirm, help)
 * for the subscription code; a message in a mailbox source's folder (or,
 * through the MTA pipe, to no list) from one of that source's allowed
 * senders is a briefing; anything else is neither, with the reason.
 * Loop guards (RELIABILITY F6) mark commands that must get no reply.
 * Pure: reads the config and the parsed message only.
 */
#ifndef BULLETIN_INBOUND_H
#define BULLETIN_INBOUND_H

#include <stdbool.h>

#include "config.h"
#include "log.h"
#include "mailmsg.h"

/* Longest token accepted in a command address. */
#define INBOUND_TOKEN_MAX 256

enum inbound_kind {
	INBOUND_COMMAND,
	INBOUND_BRIEFING,
	INBOUND_BOUNCE, /* to a digest's VERP address (see bounce.h) */
	INBOUND_OTHER,
};

enum inbound_command {
	INBOUND_SUBSCRIBE,
	INBOUND_UNSUBSCRIBE,
	INBOUND_CONFIRM,
	INBOUND_HELP,
};

struct inbound_route {
	enum inbound_kind kind;
	/* INBOUND_COMMAND, and INBOUND_BOUNCE (list and token): */
	const struct config_list *list; /* borrowed from the config */
	enum inbound_command command;
	char token[INBOUND_TOKEN_MAX + 1]; /* "" when the address has none */
	const char *address; /* who asked: the From addr-spec (borrowed
				from the message) */
	bool no_reply;	     /* a loop guard fired: act, never answer */
	/* INBOUND_BRIEFING: */
	const struct config_source *source; /* borrowed */
	/* INBOUND_OTHER: why; INBOUND_COMMAND with no_reply: which guard. */
	char reason[ERR_MSG_MAX];
};

/* Routes m. folder is the IMAP folder it was found in (then only that
 * folder's roles apply: the command folder [imap] folder takes commands,
 * a mailbox source's folder takes briefings from its senders), or NULL
 * for the MTA pipe (commands by address, then briefings by sender).
 * envelope is the recipient the MTA gave (pipe), or NULL: it is tried
 * before the message's own recipients.
 *
 * Command addresses of a list whose address is LIST@DOMAIN (local part
 * and domain compared without case): LIST+subscribe@, LIST+unsubscribe@,
 * LIST+unsubscribe-TOKEN@, LIST+confirm-TOKEN@, LIST+help@, and
 * LIST-request@ with the command as the first word of the subject or,
 * when the subject has none, of the first non-blank body line
 * ("subscribe", "unsubscribe", "confirm TOKEN", "help"; an unknown word
 * is "help"). A command needs a From address. Mail to LIST+bounce-TOKEN@
 * is a bounce (INBOUND_BOUNCE with list and token, the token unchecked;
 * From or not, and no loop guard: nothing answers it).
 *
 * no_reply is set (with reason) when the message is auto-submitted
 * (Auto-Submitted other than "no"), has Precedence bulk, junk or list, a
 * List-Id, a null Return-Path, or comes from MAILER-DAEMON, postmaster
 * or one of our own list addresses. Always returns 0 (out filled). */
int inbound_route(const struct config *cfg, const struct mailmsg *m,
		  const char *folder, const char *envelope,
		  struct inbound_route *out);

/* "subscribe", "unsubscribe", "confirm", "help". */
const char *inbound_command_name(enum inbound_command c);

/* Whether addr (an addr-spec) is allowed by a mailbox source's from
 * setting: the same address, or any address at "@domain"; no case. */
bool inbound_sender_allowed(const struct config_source *src, const char *addr);

#endif
