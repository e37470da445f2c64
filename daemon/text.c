/*
 * text: UTF-8 cleaning, case folding and word splitting on utf8proc, plus
 * the one checked integer parser (no atoi). Everything here is pure and
 * allocates only what it returns.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "text.h"

int text_clean(const char *s, size_t len, struct buf *out)
{
	const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
	utf8proc_int32_t cp;
	utf8proc_ssize_t n;
	size_t i = 0;
	int ret;

	while (i < len) {
		n = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &cp);
		if (n < 0) {
			ret = buf_add(out, "\xEF\xBF\xBD", 3);
			if (ret)
				return ret;
			i++;
			continue;
		}
		if ((cp < 0x20 && cp != '\n' && cp != '\t') || cp == 0x7f ||
		    (cp >= 0x80 && cp < 0xa0)) {
			i += (size_t)n;
			continue;
		}
		ret = buf_add(out, s + i, (size_t)n);
		if (ret)
			return ret;
		i += (size_t)n;
	}
	return 0;
}

char *text_fold(const char *s)
{
	struct buf clean;
	utf8proc_uint8_t *folded = NULL;
	utf8proc_ssize_t n;

	buf_init(&clean, BUF_MAX_TEXT);
	if (text_clean(s, strlen(s), &clean))
		return NULL;
	n = utf8proc_map((const utf8proc_uint8_t *)buf_str(&clean), 0, &folded,
			 UTF8PROC_NULLTERM | UTF8PROC_STABLE |
				 UTF8PROC_COMPOSE | UTF8PROC_COMPAT |
				 UTF8PROC_CASEFOLD);
	buf_free(&clean);
	if (n < 0)
		return NULL;
	return (char *)folded;
}

static bool is_word_char(utf8proc_int32_t cp)
{
	switch (utf8proc_category(cp)) {
	case UTF8PROC_CATEGORY_LU:
	case UTF8PROC_CATEGORY_LL:
	case UTF8PROC_CATEGORY_LT:
	case UTF8PROC_CATEGORY_LM:
	case UTF8PROC_CATEGORY_LO:
	case UTF8PROC_CATEGORY_MN:
	case UTF8PROC_CATEGORY_MC:
	case UTF8PROC_CATEGORY_ND:
	case UTF8PROC_CATEGORY_NL:
	case UTF8PROC_CATEGORY_NO:
		return true;
	default:
		return false;
	}
}

static bool is_apostrophe(utf8proc_int32_t cp)
{
	return cp == '\'' || cp == 0x2019;
}

int text_words(const char *s, text_word_fn *fn, void *arg)
{
	const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
	size_t len = strlen(s), i = 0;
	struct buf word;
	bool in_word = false;
	utf8proc_int32_t cp;
	utf8proc_ssize_t n;
	int ret = 0;

	/* Each word is gathered in a buffer so that apostrophes can be
	 * dropped from inside it. */
	buf_init(&word, BUF_MAX_LINE);
	while (i <= len && !ret) {
		if (i == len) {
			cp = -1;
			n = 1;
		} else {
			n = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i),
					     &cp);
			if (n < 0) {
				cp = -1;
				n = 1;
			}
		}
		if (cp >= 0 && is_word_char(cp)) {
			if (!in_word) {
				in_word = true;
				buf_reset(&word);
			}
			ret = buf_add(&word, s + i, (size_t)n);
		} else if (in_word && cp >= 0 && is_apostrophe(cp) &&
			   i + (size_t)n < len) {
			/* Inside a word ("don't"): skip it, keep going. */
			utf8proc_int32_t next;

			if (utf8proc_iterate(p + i + n,
					     (utf8proc_ssize_t)(len - i - n),
					     &next) < 0 ||
			    !is_word_char(next)) {
				in_word = false;
				ret = fn(buf_str(&word), word.len, arg);
			}
		} else if (in_word) {
			in_word = false;
			ret = fn(buf_str(&word), word.len, arg);
		}
		i += (size_t)n;
	}
	buf_free(&word);
	return ret;
}

size_t text_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t c = s[0], min;
	size_t len, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		c &= 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		c &= 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		c &= 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

size_t text_xml_char_len(const unsigned char *s, size_t n)
{
	uint32_t cp = 0;
	size_t len = text_utf8_decode(s, n, &cp);

	return cp == 0xfffe || cp == 0xffff ? 0 : len;
}

int text_parse_int(const char *s, long long min, long long max, long long *out)
{
	char *end = NULL;
	long long v;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || !end || *end != '\0' || end == s || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

bool text_is_token(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++) {
		if (*s <= ' ' || *s >= 0x7f)
			return false;
	}
	return true;
}
