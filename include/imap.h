/*
 * imap: one IMAP session on libetpan, blocking: for worker threads only.
 * TLS is required: imaps:// is TLS from the start, imap:// must upgrade
 * with STARTTLS, and a server that does not offer it, or refuses it, is
 * an error (RELIABILITY F2): nothing, least of all the password, is sent
 * in the clear. libetpan checks no certificate (§0.6b), so after every
 * handshake the chain is verified here with GnuTLS against the system's
 * CAs (or ca_file) and the host name, and the connection is refused
 * otherwise (F3). Folder names are always sent quoted or as literals by
 * libetpan; names with control characters are refused (F8). Every
 * network wait is bounded by the session timeout, and every reply (all
 * the server sends between two commands) by 4 MiB (plus max_size for a
 * message fetched) and five timeouts in all; a literal announced bigger
 * than that is refused before libetpan allocates for it (F4).
 */
#ifndef BULLETIN_IMAP_H
#define BULLETIN_IMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

struct imap_options {
	const char *url; /* imaps://HOST[:PORT] or imap://HOST[:PORT] */
	const char *username;
	const char *password;
	const char *ca_file; /* PEM file of a private CA, or NULL */
	int timeout;	     /* seconds for any one network wait */
};

struct imap;

/* Connects, upgrades to TLS, verifies the certificate and logs in.
 * Returns a session, or NULL with err saying what failed (naming the
 * host, and for certificates why: "certificate not trusted", "host name
 * mismatch", "expired"). *permanent is set when retrying cannot help
 * (login refused, TLS not offered, certificate refused). */
struct imap *imap_connect(const struct imap_options *opt, bool *permanent,
			  struct err *err);

/* Logs out (when still connected) and frees; accepts NULL. */
void imap_close(struct imap *im);

/* Selects folder (read-write). Sets *uidvalidity. -ENOENT when the folder
 * does not exist, -EINVAL for a name with control characters, -EIO when
 * the connection failed (the session is then unusable: close it). */
int imap_select(struct imap *im, const char *folder, uint32_t *uidvalidity,
		struct err *err);

/* UIDs of the messages in the selected folder without \Seen, ascending,
 * at most max. *uids is malloc'd (free it), may be NULL when *n is 0. */
int imap_unseen(struct imap *im, uint32_t **uids, size_t *n, size_t max,
		struct err *err);

/* The same for the messages with \Seen. */
int imap_seen(struct imap *im, uint32_t **uids, size_t *n, size_t max,
	      struct err *err);

/* Fetches one message whole (BODY.PEEK[]: the \Seen flag is not set).
 * A message whose RFC822.SIZE is over max_size is not downloaded:
 * returns -EMSGSIZE with *size set. -ENOENT when the UID is gone. On
 * success *data is malloc'd (free it) and *len its length. */
int imap_fetch(struct imap *im, uint32_t uid, size_t max_size, char **data,
	       size_t *len, size_t *size, struct err *err);

/* Adds \Seen to the message. */
int imap_mark_seen(struct imap *im, uint32_t uid, struct err *err);

/* Moves the message to folder: MOVE where the server has it, else COPY,
 * \Deleted and (UID) EXPUNGE. */
int imap_move(struct imap *im, uint32_t uid, const char *folder,
	      struct err *err);

/* Whether the server offers IDLE. */
bool imap_has_idle(const struct imap *im);

/* Waits in IDLE on the selected folder until the server reports a change
 * (returns 1), max_wait seconds pass (returns 0), or imap_interrupt is
 * called (returns 0). -EIO when the connection failed. */
int imap_idle(struct imap *im, int max_wait, struct err *err);

/* Wakes an imap_idle on another thread; safe from any thread while the
 * session exists. */
void imap_interrupt(struct imap *im);

#endif
