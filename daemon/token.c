/*
 * token: HMAC-SHA256 tokens with libsodium. Layout before encoding:
 * version (1), purpose (1), list tag (4: BLAKE2b of the list's name),
 * subscriber id (8, big-endian), issued (4, big-endian seconds, good
 * until 2106), MAC (16: the first half of HMAC-SHA256 over the rest):
 * 34 bytes, 46 characters, so that an unsubscribe URL fits a mail line.
 * The key is derived from the secret file with a keyed BLAKE2b so that
 * any length of secret works. MACs are compared with sodium_memcmp only.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "secret.h"
#include "token.h"

#define TOKEN_VERSION 2
#define TOKEN_BODY (2 + TOKEN_LIST_TAG + 8 + 4)
#define TOKEN_MAC 16
#define TOKEN_RAW (TOKEN_BODY + TOKEN_MAC)
#define SECRET_MIN 16
#define SECRET_MAX 4096

struct token_keys {
	unsigned char key[crypto_auth_hmacsha256_KEYBYTES];
	unsigned char prev[crypto_auth_hmacsha256_KEYBYTES];
	int has_prev;
};

static void derive(const void *secret, size_t len, unsigned char *key)
{
	static const unsigned char label[] = "bulletin token key v1";

	crypto_generichash(key, crypto_auth_hmacsha256_KEYBYTES, secret, len,
			   label, sizeof(label) - 1);
}

struct token_keys *token_keys_from(const void *secret, size_t len)
{
	struct token_keys *k;

	if (sodium_init() < 0)
		return NULL;
	k = calloc(1, sizeof(*k));
	if (!k)
		return NULL;
	derive(secret, len, k->key);
	return k;
}

static int read_secret(const char *path, unsigned char *out, size_t *len,
		       struct err *err)
{
	int ret = secret_read(path, "secret file", out, SECRET_MAX, len, err);

	if (ret == -ENOENT)
		err_set(err,
			"cannot read secret file %s: %s; create it with: "
			"head -c 32 /dev/urandom > %s && chmod 600 %s",
			path, strerror(-ret), path, path);
	if (ret)
		return ret;
	if (*len < SECRET_MIN) {
		err_set(err,
			"secret file %s holds %zu bytes, fewer than %d; "
			"recreate it with: head -c 32 /dev/urandom > %s",
			path, *len, SECRET_MIN, path);
		return -EINVAL;
	}
	return 0;
}

struct token_keys *token_keys_load(const char *secret_file,
				   const char *previous_file, struct err *err)
{
	unsigned char secret[SECRET_MAX];
	struct token_keys *k;
	size_t len;

	if (sodium_init() < 0) {
		err_set(err, "libsodium failed to initialise");
		return NULL;
	}
	if (read_secret(secret_file, secret, &len, err))
		return NULL;
	k = token_keys_from(secret, len);
	if (k && previous_file) {
		if (read_secret(previous_file, secret, &len, err)) {
			token_keys_destroy(k);
			k = NULL;
		} else {
			derive(secret, len, k->prev);
			k->has_prev = 1;
		}
	}
	sodium_memzero(secret, sizeof(secret));
	if (!k && err && !err->msg[0])
		err_set(err, "out of memory loading %s", secret_file);
	return k;
}

void token_keys_destroy(struct token_keys *k)
{
	if (!k)
		return;
	sodium_memzero(k, sizeof(*k));
	free(k);
}

static void put64(unsigned char *p, int64_t v)
{
	uint64_t u = (uint64_t)v;
	int i;

	for (i = 7; i >= 0; i--) {
		p[i] = (unsigned char)(u & 0xff);
		u >>= 8;
	}
}

static void put32(unsigned char *p, int64_t v)
{
	uint32_t u = (uint32_t)v;

	for (int i = 3; i >= 0; i--) {
		p[i] = (unsigned char)(u & 0xff);
		u >>= 8;
	}
}

static int64_t get32(const unsigned char *p)
{
	return (int64_t)(((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
			 ((uint32_t)p[2] << 8) | p[3]);
}

static int64_t get64(const unsigned char *p)
{
	uint64_t u = 0;
	int i;

	for (i = 0; i < 8; i++)
		u = (u << 8) | p[i];
	return (int64_t)u;
}

/* The list a token acts on, as a short hash of its name ("" for none):
 * under the MAC, so a token for list A is no token for list B. */
static void list_tag(const char *list, unsigned char *out)
{
	unsigned char h[crypto_generichash_BYTES_MIN];
	static const unsigned char label[] = "bulletin list tag v1";

	if (!list)
		list = "";
	crypto_generichash(h, sizeof(h), (const unsigned char *)list,
			   strlen(list), label, sizeof(label) - 1);
	memcpy(out, h, TOKEN_LIST_TAG);
}

static void mac(const unsigned char *key, const unsigned char *body,
		unsigned char *out)
{
	unsigned char full[crypto_auth_hmacsha256_BYTES];

	crypto_auth_hmacsha256(full, body, TOKEN_BODY, key);
	memcpy(out, full, TOKEN_MAC);
}

int token_make(const struct token_keys *k, const struct token_claims *c,
	       struct buf *out)
{
	unsigned char raw[TOKEN_RAW];
	char text[sodium_base64_ENCODED_LEN(
		TOKEN_RAW, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];

	raw[0] = TOKEN_VERSION;
	raw[1] = (unsigned char)c->purpose;
	list_tag(c->list, raw + 2);
	put64(raw + 2 + TOKEN_LIST_TAG, c->subscriber_id);
	put32(raw + 10 + TOKEN_LIST_TAG, c->issued);
	mac(k->key, raw, raw + TOKEN_BODY);
	sodium_bin2base64(text, sizeof(text), raw, sizeof(raw),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return buf_adds(out, text);
}

int token_verify(const struct token_keys *k, const char *token,
		 enum token_purpose purpose, struct token_claims *out)
{
	unsigned char raw[TOKEN_RAW], want[TOKEN_MAC];
	size_t len = 0;
	const char *end = NULL;
	int ok;

	if (strlen(token) > TOKEN_TEXT_MAX)
		return -EINVAL;
	if (sodium_base642bin(raw, sizeof(raw), token, strlen(token), NULL,
			      &len, &end,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    len != TOKEN_RAW || !end || *end != '\0')
		return -EINVAL;
	if (raw[0] != TOKEN_VERSION)
		return -EINVAL;
	mac(k->key, raw, want);
	ok = sodium_memcmp(want, raw + TOKEN_BODY, TOKEN_MAC) == 0;
	if (!ok && k->has_prev) {
		mac(k->prev, raw, want);
		ok = sodium_memcmp(want, raw + TOKEN_BODY, TOKEN_MAC) == 0;
	}
	/* The purpose is checked after the MAC so that timing says nothing
	 * about which part was wrong. */
	if (!ok || raw[1] != (unsigned char)purpose)
		return -EINVAL;
	out->purpose = purpose;
	out->list = NULL;
	memcpy(out->list_tag, raw + 2, TOKEN_LIST_TAG);
	out->subscriber_id = get64(raw + 2 + TOKEN_LIST_TAG);
	out->issued = get32(raw + 10 + TOKEN_LIST_TAG);
	return 0;
}

int token_check_list(const struct token_claims *c, const char *list)
{
	unsigned char tag[TOKEN_LIST_TAG];

	list_tag(list, tag);
	return sodium_memcmp(tag, c->list_tag, TOKEN_LIST_TAG) == 0 ? 0
								    : -EINVAL;
}

int token_random_id(const char *prefix, const char *domain, struct buf *out)
{
	unsigned char rnd[16];
	char hex[sizeof(rnd) * 2 + 1];

	if (sodium_init() < 0)
		return -EIO;
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(hex, sizeof(hex), rnd, sizeof(rnd));
	return buf_printf(out, "%s-%s@%s", prefix, hex, domain);
}

int token_message_id(const struct token_keys *k, int64_t digest_id,
		     int64_t subscriber_id, const char *domain, struct buf *out)
{
	unsigned char in[17], hash[12];
	char hex[sizeof(hash) * 2 + 1];

	in[0] = 'm';
	put64(in + 1, digest_id);
	put64(in + 9, subscriber_id);
	crypto_generichash(hash, sizeof(hash), in, sizeof(in), k->key,
			   sizeof(k->key));
	sodium_bin2hex(hex, sizeof(hex), hash, sizeof(hash));
	return buf_printf(out, "digest-%lld.%s@%s", (long long)digest_id, hex,
			  domain);
}

/* ---- bounce tokens ---- */

/* A MAC (10 bytes) over "bounce", the list's tag and the delivery id,
 * then the id (6 bytes, big-endian): 16 bytes, 26 characters of
 * lower-case base32 (RFC 4648 alphabet), which an MTA that folds the
 * case of a local part cannot spoil. */
#define BOUNCE_ID 6
#define BOUNCE_MAC 10
#define BOUNCE_RAW (BOUNCE_ID + BOUNCE_MAC)
#define BOUNCE_TEXT ((BOUNCE_RAW * 8 + 4) / 5)

static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";

static void bounce_mac(const unsigned char *key, const char *list,
		       const unsigned char *id, unsigned char *out)
{
	unsigned char in[6 + TOKEN_LIST_TAG + BOUNCE_ID];
	unsigned char full[crypto_auth_hmacsha256_BYTES];

	memcpy(in, "bounce", 6);
	list_tag(list, in + 6);
	memcpy(in + 6 + TOKEN_LIST_TAG, id, BOUNCE_ID);
	crypto_auth_hmacsha256(full, in, sizeof(in), key);
	memcpy(out, full, BOUNCE_MAC);
}

int token_bounce_make(const struct token_keys *k, const char *list,
		      int64_t delivery_id, struct buf *out)
{
	unsigned char raw[BOUNCE_RAW];
	char text[BOUNCE_TEXT + 1];
	uint32_t acc = 0;
	int bits = 0;
	size_t n = 0;

	if (delivery_id < 0 || delivery_id >= (int64_t)1 << (8 * BOUNCE_ID))
		return -EINVAL;
	for (int i = 0; i < BOUNCE_ID; i++)
		raw[BOUNCE_MAC + i] =
			(unsigned char)(delivery_id >>
					(8 * (BOUNCE_ID - 1 - i)));
	bounce_mac(k->key, list, raw + BOUNCE_MAC, raw);
	for (size_t i = 0; i < sizeof(raw); i++) {
		acc = (acc << 8) | raw[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			text[n++] = b32[(acc >> bits) & 31];
		}
	}
	if (bits > 0)
		text[n++] = b32[(acc << (5 - bits)) & 31];
	text[n] = '\0';
	return buf_adds(out, text);
}

int token_bounce_verify(const struct token_keys *k, const char *list,
			const char *text, int64_t *delivery_id)
{
	unsigned char raw[BOUNCE_RAW], want[BOUNCE_MAC];
	uint32_t acc = 0;
	int bits = 0, ok;
	size_t n = 0;

	if (strlen(text) != BOUNCE_TEXT)
		return -EINVAL;
	for (size_t i = 0; i < BOUNCE_TEXT; i++) {
		char c = text[i];
		const char *p;

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		p = c ? strchr(b32, c) : NULL;
		if (!p)
			return -EINVAL;
		acc = (acc << 5) | (uint32_t)(p - b32);
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			raw[n++] = (unsigned char)(acc >> bits);
		}
	}
	if (n != BOUNCE_RAW)
		return -EINVAL;
	bounce_mac(k->key, list, raw + BOUNCE_MAC, want);
	ok = sodium_memcmp(want, raw, BOUNCE_MAC) == 0;
	if (!ok && k->has_prev) {
		bounce_mac(k->prev, list, raw + BOUNCE_MAC, want);
		ok = sodium_memcmp(want, raw, BOUNCE_MAC) == 0;
	}
	if (!ok)
		return -EINVAL;
	*delivery_id = 0;
	for (int i = 0; i < BOUNCE_ID; i++)
		*delivery_id = (*delivery_id << 8) | raw[BOUNCE_MAC + i];
	return 0;
}
