/*
 * token: signed, self-contained tokens for links in mail (unsubscribe,
 * confirm), for the subscribe form (RELIABILITY C3: the list and when the
 * form was shown, no subscriber) and stable Message-IDs, with libsodium. A
 * token carries its purpose, the list it acts on (a hash of the list's name),
 * the subscriber row and when it was issued, and an HMAC-SHA256 over them, in
 * unpadded base64url. Verification compares MACs in constant time
 * (sodium_memcmp, never memcmp: RELIABILITY B7) and accepts a previous key
 * after rotation. Expiry is the caller's: it compares issued with its own
 * clock (confirmation tokens expire, unsubscribe tokens do not).
 */
#ifndef BULLETIN_TOKEN_H
#define BULLETIN_TOKEN_H

#include <stdint.h>

#include "buf.h"
#include "log.h"

enum token_purpose {
	TOKEN_UNSUBSCRIBE = 'u',
	TOKEN_CONFIRM = 'c',
	TOKEN_FORM = 'f', /* subscriber_id 0 */
};

#define TOKEN_LIST_TAG 4
/* Longest token text token_make writes. */
#define TOKEN_TEXT_MAX 64

struct token_claims {
	enum token_purpose purpose;
	int64_t subscriber_id;
	int64_t issued;
	const char *list; /* token_make: the list's name (borrowed) */
	unsigned char list_tag[TOKEN_LIST_TAG]; /* token_verify: the list's
						   tag, for token_check_list */
};

struct token_keys;

/* Reads the secret (at least 16 bytes; a file written by
 * `head -c 32 /dev/urandom`) and, when previous_file is not NULL, the
 * previous one. Returns NULL with err naming the file and what to do. */
struct token_keys *token_keys_load(const char *secret_file,
				   const char *previous_file, struct err *err);

/* Keys straight from bytes, for tests. */
struct token_keys *token_keys_from(const void *secret, size_t len);

void token_keys_destroy(struct token_keys *k); /* accepts NULL */

/* Appends a token for the claims to out. Returns 0 or -ENOMEM. */
int token_make(const struct token_keys *k, const struct token_claims *c,
	       struct buf *out);

/* Checks token for purpose. Returns 0 with *out filled (its list NULL,
 * its list_tag set), or -EINVAL for anything malformed, tampered, or
 * made for another purpose. */
int token_verify(const struct token_keys *k, const char *token,
		 enum token_purpose purpose, struct token_claims *out);

/* Whether verified claims were made for the list named list: 0 or
 * -EINVAL (compared in constant time). */
int token_check_list(const struct token_claims *c, const char *list);

/* Appends a random Message-ID (without <>) "PREFIX-HEX@domain", for a
 * message that is built once and stored (replies to commands). */
int token_random_id(const char *prefix, const char *domain, struct buf *out);

/* Appends a Message-ID (without <>) stable for (digest, subscriber): the
 * same inputs always give the same id, and it reveals no address.
 * domain is the right-hand side, e.g. the list address's domain. */
int token_message_id(const struct token_keys *k, int64_t digest_id,
		     int64_t subscriber_id, const char *domain,
		     struct buf *out);

/* Appends a short token for a VERP bounce address (LIST+bounce-TOKEN@):
 * the delivery row under a MAC that also covers the list's name, in 26
 * characters of lower-case base32, so that a server that folds the
 * case of the address does no harm. Returns 0, -ENOMEM, or -EINVAL for
 * an id over 2^48. */
int token_bounce_make(const struct token_keys *k, const char *list,
		      int64_t delivery_id, struct buf *out);

/* Checks a bounce token for list (case ignored); 0 with *delivery_id
 * set, or -EINVAL when it is malformed, tampered or another list's. */
int token_bounce_verify(const struct token_keys *k, const char *list,
			const char *text, int64_t *delivery_id);

#endif
