/*
 * dedupe: the keys that recognise one story seen twice. A canonical URL
 * (scheme and host case, default ports, fragments, tracking parameters,
 * Blogger's ?m=1, trailing slashes) and a fingerprint of the normalised
 * text (folded words, punctuation and spacing ignored). Pure; the store
 * does the lookups.
 */
#ifndef BULLETIN_DEDUPE_H
#define BULLETIN_DEDUPE_H

#include "buf.h"

/* Appends the canonical form of url to out. A string that is not an
 * absolute http(s) URL is appended as it is. Returns 0 or -ENOMEM. */
int dedupe_canon_url(const char *url, struct buf *out);

/* Writes the fingerprint of title and text (either may be NULL) as 32 hex
 * digits plus NUL into out. Returns 0, -ENOMEM, or -ENODATA when there
 * are too few words to tell stories apart (then out is ""). */
#define DEDUPE_FINGERPRINT_LEN 33
int dedupe_fingerprint(const char *title, const char *text,
		       char out[DEDUPE_FINGERPRINT_LEN]);

#endif
