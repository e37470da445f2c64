/*
 * secret: reads secrets (the key that signs tokens, IMAP and SMTP
 * passwords) from files. A secret file must be readable by its owner
 * only: one that group or others may read is refused, naming the file and
 * the chmod that fixes it. No secret is ever put in a message.
 */
#ifndef BULLETIN_SECRET_H
#define BULLETIN_SECRET_H

#include <stddef.h>

#include "config.h"
#include "log.h"

/* Reads up to size bytes of path into out; *len receives how many. what
 * names the key in messages (e.g. "[daemon] secret_file"). Returns 0, or
 * a negative errno with err saying what to do: -EACCES when the file is
 * open to group or others. */
int secret_read(const char *path, const char *what, void *out, size_t size,
		size_t *len, struct err *err);

/* A password: the first line of path, without its line end, as a
 * string in out (size bytes, NUL included). Errors as secret_read. */
int secret_read_password(const char *path, const char *what, char *out,
			 size_t size, struct err *err);

/* Checks every secret file cfg names ([daemon] secret_file and
 * previous_secret_file, [imap] and
 * [smtp] password_file) as the daemon will read them: there, readable,
 * the owner's only. Returns 0 or the first problem, in err. */
int secret_check_config(const struct config *cfg, struct err *err);

#endif
