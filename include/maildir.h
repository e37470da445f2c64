/*
 * maildir: the demo and test transport. Writes one message as a file in
 * a Maildir (tmp/, then fsync, then rename into new/), so that a reader
 * never sees half a message. Creates the Maildir when it is missing.
 */
#ifndef BULLETIN_MAILDIR_H
#define BULLETIN_MAILDIR_H

#include <stddef.h>

#include "buf.h"
#include "log.h"

/* Delivers msg (CRLF line ends, converted to LF on disk). On success
 * appends the new file's path to path_out (may be NULL) and returns 0;
 * else returns a negative errno with err naming the directory. */
int maildir_deliver(const char *dir, const char *msg, size_t len,
		    struct buf *path_out, struct err *err);

#endif
