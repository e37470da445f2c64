/*
 * dedupe: canonical URLs, text fingerprints and the keep rule. The URL
 * rules remove what differs between two links to one page (case, default
 * ports, fragments, tracking parameters, Blogger's mobile and country
 * variants); the fingerprint hashes the folded words so that spacing,
 * punctuation and case do not matter.
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>
#include <utf8proc.h>

#include "dedupe.h"
#include "text.h"

/* Query parameters that track the reader and never change the page. */
static const char *const tracking_prefixes[] = {
	"utm_",	   "fbclid",   "gclid",	     "dclid",	    "msclkid",
	"yclid",   "igshid",   "mc_cid",     "mc_eid",	    "_hsenc",
	"_hsmi",   "mkt_tok",  "_ga=",	     "_gl=",	    "ref_src",
	"ref_url", "wt.mc_id", "oly_enc_id", "oly_anon_id", "vero_id",
};

static bool is_tracking(const char *param, size_t len)
{
	size_t i, n;

	/* Blogger serves the same post to phones under ?m=1. */
	if ((len == 3 && memcmp(param, "m=1", 3) == 0) ||
	    (len == 3 && memcmp(param, "m=0", 3) == 0))
		return true;
	for (i = 0; i < sizeof(tracking_prefixes) / sizeof(*tracking_prefixes);
	     i++) {
		n = strlen(tracking_prefixes[i]);
		if (len >= n &&
		    strncasecmp(param, tracking_prefixes[i], n) == 0)
			return true;
	}
	return false;
}

static int add_lower(struct buf *out, const char *s, size_t n)
{
	size_t i;
	int ret = 0;

	for (i = 0; i < n && !ret; i++)
		ret = buf_addc(out, (char)tolower((unsigned char)s[i]));
	return ret;
}

/* Blogger publishes one blog under country domains (.blogspot.co.uk,
 * .blogspot.fr ...): they all name the .blogspot.com page. */
static size_t blogspot_base(const char *host, size_t n)
{
	const char *p;
	size_t i;

	for (i = 0; i + 10 <= n; i++) {
		p = host + i;
		if (strncasecmp(p, ".blogspot.", 10) == 0)
			return i + 9; /* up to and including "blogspot" */
	}
	return 0;
}

int dedupe_canon_url(const char *url, struct buf *out)
{
	const char *scheme_end, *host, *host_end, *path, *query, *frag, *p;
	const char *port = NULL;
	size_t scheme_len, host_len, path_len, base;
	bool https, first = true;
	int ret;

	scheme_end = strstr(url, "://");
	if (!scheme_end)
		return buf_adds(out, url);
	scheme_len = (size_t)(scheme_end - url);
	if (scheme_len == 4 && strncasecmp(url, "http", 4) == 0)
		https = false;
	else if (scheme_len == 5 && strncasecmp(url, "https", 5) == 0)
		https = true;
	else
		return buf_adds(out, url);

	host = scheme_end + 3;
	host_end = host + strcspn(host, "/?#");
	p = memchr(host, '@', (size_t)(host_end - host));
	if (p)
		host = p + 1; /* credentials never belong to the key */
	for (p = host_end; p > host; p--) {
		if (p[-1] == ':') {
			port = p;
			break;
		}
		if (!isdigit((unsigned char)p[-1]))
			break;
	}
	host_len = (size_t)((port ? port - 1 : host_end) - host);

	frag = strchr(host_end, '#');
	if (!frag)
		frag = host_end + strlen(host_end);
	query = memchr(host_end, '?', (size_t)(frag - host_end));
	path = host_end;
	path_len = (size_t)((query ? query : frag) - path);

	ret = buf_adds(out, https ? "https://" : "http://");
	base = blogspot_base(host, host_len);
	if (!ret && base) {
		ret = add_lower(out, host, base);
		if (!ret)
			ret = buf_adds(out, ".com");
	} else if (!ret)
		ret = add_lower(out, host, host_len);
	if (!ret && port && (size_t)(host_end - port) > 0) {
		size_t plen = (size_t)(host_end - port);

		if (!((https && plen == 3 && memcmp(port, "443", 3) == 0) ||
		      (!https && plen == 2 && memcmp(port, "80", 2) == 0))) {
			ret = buf_addc(out, ':');
			if (!ret)
				ret = buf_add(out, port, plen);
		}
	}
	while (path_len > 0 && path[path_len - 1] == '/')
		path_len--;
	if (!ret && path_len)
		ret = buf_add(out, path, path_len);

	if (query) {
		const char *q = query + 1, *amp;

		while (!ret && q < frag) {
			amp = memchr(q, '&', (size_t)(frag - q));
			if (!amp)
				amp = frag;
			if (amp > q && !is_tracking(q, (size_t)(amp - q))) {
				ret = buf_addc(out, first ? '?' : '&');
				if (!ret)
					ret = buf_add(out, q,
						      (size_t)(amp - q));
				first = false;
			}
			q = amp + 1;
		}
	}
	return ret;
}

/* Words go to the hash through a staging buffer, each followed by a
 * space: one hash update per few kilobytes, not two per word. The hash
 * is of the same bytes whatever the buffer's size. */
struct fp_state {
	crypto_generichash_state h;
	size_t words;
	unsigned char stage[4096];
	size_t len;
};

static void fp_flush(struct fp_state *st)
{
	crypto_generichash_update(&st->h, st->stage, st->len);
	st->len = 0;
}

/* Room for one more code point (at most 4 bytes) and a space. */
static void fp_reserve(struct fp_state *st)
{
	if (st->len > sizeof(st->stage) - 5)
		fp_flush(st);
}

static void fp_end_word(struct fp_state *st)
{
	fp_reserve(st);
	st->stage[st->len++] = ' ';
	st->words++;
}

/* ASCII letters and digits, lower-cased; 0 for every other byte. */
static const unsigned char ascii_word[256] = {
	['0'] = '0', ['1'] = '1', ['2'] = '2', ['3'] = '3', ['4'] = '4',
	['5'] = '5', ['6'] = '6', ['7'] = '7', ['8'] = '8', ['9'] = '9',
	['A'] = 'a', ['B'] = 'b', ['C'] = 'c', ['D'] = 'd', ['E'] = 'e',
	['F'] = 'f', ['G'] = 'g', ['H'] = 'h', ['I'] = 'i', ['J'] = 'j',
	['K'] = 'k', ['L'] = 'l', ['M'] = 'm', ['N'] = 'n', ['O'] = 'o',
	['P'] = 'p', ['Q'] = 'q', ['R'] = 'r', ['S'] = 's', ['T'] = 't',
	['U'] = 'u', ['V'] = 'v', ['W'] = 'w', ['X'] = 'x', ['Y'] = 'y',
	['Z'] = 'z', ['a'] = 'a', ['b'] = 'b', ['c'] = 'c', ['d'] = 'd',
	['e'] = 'e', ['f'] = 'f', ['g'] = 'g', ['h'] = 'h', ['i'] = 'i',
	['j'] = 'j', ['k'] = 'k', ['l'] = 'l', ['m'] = 'm', ['n'] = 'n',
	['o'] = 'o', ['p'] = 'p', ['q'] = 'q', ['r'] = 'r', ['s'] = 's',
	['t'] = 't', ['u'] = 'u', ['v'] = 'v', ['w'] = 'w', ['x'] = 'x',
	['y'] = 'y', ['z'] = 'z',
};

/* Whether a letter or digit starts the n bytes at p. */
static bool word_follows(const unsigned char *p, size_t n)
{
	uint32_t cp;

	return n > 0 && text_utf8_decode(p, n, &cp) > 0 &&
	       text_is_word_char(cp);
}

/* Hashes the words of s in one pass, with no copy of the text: letters
 * and digits lower-cased (ASCII here, others one code point at a time
 * through utf8proc), apostrophes inside a word dropped, everything else
 * a separator. Spacing, punctuation and case never change the hash. */
static void fp_hash_words(struct fp_state *st, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), i = 0, n;
	bool in_word = false;
	uint32_t cp;

	while (i < len) {
		if (p[i] < 0x80) {
			unsigned char c = ascii_word[p[i]];
			size_t room, end;

			if (c) {
				/* A run of letters and digits, copied with
				 * one check of the stage's room per stretch
				 * rather than per byte (fp_reserve leaves
				 * room for 4 at least). */
				do {
					fp_reserve(st);
					room = sizeof(st->stage) - 1 - st->len;
					end = len - i < room ? len : i + room;
					while (i < end &&
					       (c = ascii_word[p[i]]) != 0) {
						st->stage[st->len++] = c;
						i++;
					}
				} while (i == end && i < len &&
					 ascii_word[p[i]]);
				in_word = true;
				continue;
			}
			cp = p[i];
			n = 1;
		} else {
			n = text_utf8_decode(p + i, len - i, &cp);
			if (n == 0) {
				cp = 0xfffd;
				n = 1;
			}
		}
		if (cp >= 0x80 && text_is_word_char(cp)) {
			fp_reserve(st);
			cp = (uint32_t)utf8proc_tolower((utf8proc_int32_t)cp);
			st->len += (size_t)utf8proc_encode_char(
				(utf8proc_int32_t)cp, st->stage + st->len);
			in_word = true;
		} else if (in_word && (cp == '\'' || cp == 0x2019) &&
			   word_follows(p + i + n, len - i - n)) {
			/* "don't": the apostrophe goes, the word goes on. */
		} else if (in_word) {
			fp_end_word(st);
			in_word = false;
		}
		i += n;
	}
	if (in_word)
		fp_end_word(st);
}

/* Fewer words than this cannot tell two stories apart reliably. */
#define FINGERPRINT_MIN_WORDS 8

int dedupe_fingerprint(const char *title, const char *text,
		       char out[DEDUPE_FINGERPRINT_LEN])
{
	struct fp_state st;
	unsigned char hash[16];
	const char *parts[2] = {title, text};
	size_t i;

	out[0] = '\0';
	crypto_generichash_init(&st.h, NULL, 0, sizeof(hash));
	st.words = 0;
	st.len = 0;
	for (i = 0; i < 2; i++) {
		if (!parts[i])
			continue;
		fp_hash_words(&st, parts[i]);
		/* Keep title and text apart in the hash. */
		fp_reserve(&st);
		st.stage[st.len++] = '\n';
	}
	fp_flush(&st);
	crypto_generichash_final(&st.h, hash, sizeof(hash));
	if (st.words < FINGERPRINT_MIN_WORDS)
		return -ENODATA;
	sodium_bin2hex(out, DEDUPE_FINGERPRINT_LEN, hash, sizeof(hash));
	return 0;
}

bool dedupe_id_is_global(const char *guid)
{
	/* "scheme:" (tag:, urn:, http:) or our own "hash:": a scheme is a
	 * letter then letters, digits, '+', '-' or '.'. */
	size_t i;

	if (!guid || !((guid[0] >= 'a' && guid[0] <= 'z') ||
		       (guid[0] >= 'A' && guid[0] <= 'Z')))
		return false;
	for (i = 1; guid[i] && guid[i] != ':'; i++) {
		if (!isalnum((unsigned char)guid[i]) && guid[i] != '+' &&
		    guid[i] != '-' && guid[i] != '.')
			return false;
	}
	/* "a:1" is a local id with a colon, not a URI worth trusting. */
	return guid[i] == ':' && strlen(guid + i + 1) >= 8;
}

static const char *const relation_names[] = {
	[DEDUPE_NONE] = NULL,		[DEDUPE_ID] = "id",
	[DEDUPE_LINK] = "link",		[DEDUPE_TEXT] = "text",
	[DEDUPE_SIMILAR] = "similar",	[DEDUPE_CONTAINED] = "contained",
	[DEDUPE_CONTAINS] = "contains",
};

const char *dedupe_relation_name(enum dedupe_relation rel)
{
	if ((size_t)rel >= sizeof(relation_names) / sizeof(*relation_names))
		return NULL;
	return relation_names[rel];
}

enum dedupe_relation dedupe_relation_parse(const char *name)
{
	size_t i;

	for (i = 1;
	     name && i < sizeof(relation_names) / sizeof(*relation_names);
	     i++) {
		if (strcmp(name, relation_names[i]) == 0)
			return (enum dedupe_relation)i;
	}
	return DEDUPE_NONE;
}

bool dedupe_keep_new(enum dedupe_relation rel, const struct dedupe_copy *new,
		     const struct dedupe_copy *old)
{
	if (rel == DEDUPE_CONTAINED)
		return false;
	if (rel == DEDUPE_CONTAINS)
		return true;
	if (new->priority != old->priority)
		return new->priority > old->priority;
	if (new->published != old->published)
		return new->published < old->published;
	/* Stored first wins; an unstored copy (id 0) is the newest. */
	return new->id != 0 && new->id < old->id;
}
