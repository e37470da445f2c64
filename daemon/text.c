/*
 * text: UTF-8 cleaning, case folding and word splitting on utf8proc, plus
 * the one checked integer parser (no atoi). Everything here is pure and
 * allocates only what it returns.
 */
#include <ctype.h>
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
	size_t i = 0, run = 0;
	int ret;

	/* Clean runs are appended whole: most text needs no change. */
	while (i < len) {
		if (p[i] >= 0x20 && p[i] < 0x7f) {
			i++;
			continue;
		}
		n = p[i] < 0x80 ? 1
				: utf8proc_iterate(p + i,
						   (utf8proc_ssize_t)(len - i),
						   &cp);
		if (p[i] < 0x80)
			cp = p[i];
		if (n > 0 && !((cp < 0x20 && cp != '\n' && cp != '\t') ||
			       cp == 0x7f || (cp >= 0x80 && cp < 0xa0))) {
			i += (size_t)n;
			continue;
		}
		ret = buf_add(out, s + run, i - run);
		if (!ret && n < 0)
			ret = buf_add(out, "\xEF\xBF\xBD", 3);
		if (ret)
			return ret;
		i += n < 0 ? 1 : (size_t)n;
		run = i;
	}
	return buf_add(out, s + run, i - run);
}

/* Appends the NFKC case fold of one word with non-ASCII characters. */
static int fold_word(const char *w, size_t len, struct buf *out)
{
	utf8proc_uint8_t *folded = NULL;
	utf8proc_ssize_t n;
	int ret;

	n = utf8proc_map((const utf8proc_uint8_t *)w, (utf8proc_ssize_t)len,
			 &folded,
			 UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT |
				 UTF8PROC_CASEFOLD);
	if (n < 0)
		return -ENOMEM;
	ret = buf_add(out, folded, (size_t)n);
	free(folded);
	return ret;
}

char *text_fold(const char *s)
{
	struct buf clean, out;
	const char *p, *end, *w;
	bool ascii;
	int ret = 0;

	buf_init(&clean, BUF_MAX_TEXT);
	buf_init(&out, BUF_MAX_TEXT);
	if (text_clean(s, strlen(s), &clean))
		return NULL;
	p = buf_str(&clean);
	end = p + clean.len;
	/* Word by word, between ASCII blanks (no composition crosses
	 * them): ASCII words are lower-cased here, and only words with
	 * other characters go through utf8proc, which is far slower. */
	while (p < end && !ret) {
		w = p;
		ascii = true;
		while (p < end && *p != ' ' && *p != '\n' && *p != '\t') {
			if ((unsigned char)*p >= 0x80)
				ascii = false;
			p++;
		}
		if (ascii) {
			size_t k, start = out.len;

			ret = buf_add(&out, w, (size_t)(p - w));
			for (k = start; !ret && k < out.len; k++) {
				if (out.ptr[k] >= 'A' && out.ptr[k] <= 'Z')
					out.ptr[k] = (char)(out.ptr[k] + 32);
			}
		} else {
			ret = fold_word(w, (size_t)(p - w), &out);
		}
		while (!ret && p < end &&
		       (*p == ' ' || *p == '\n' || *p == '\t')) {
			ret = buf_addc(&out, *p);
			p++;
		}
	}
	buf_free(&clean);
	if (ret) {
		buf_free(&out);
		return NULL;
	}
	return buf_take(&out);
}

bool text_is_word_char(uint32_t cp)
{
	if (cp < 0x80)
		return isalnum((int)cp) != 0;
	switch (utf8proc_category((utf8proc_int32_t)cp)) {
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

/* Hands fn the word at w with its apostrophes taken out. */
static int word_without_apostrophes(const char *w, size_t len, struct buf *word,
				    text_word_fn *fn, void *arg)
{
	size_t i;
	int ret = 0;

	buf_reset(word);
	for (i = 0; i < len && !ret; i++) {
		if (w[i] == '\'')
			continue;
		if (i + 2 < len && (unsigned char)w[i] == 0xe2 &&
		    (unsigned char)w[i + 1] == 0x80 &&
		    (unsigned char)w[i + 2] == 0x99) {
			i += 2;
			continue;
		}
		ret = buf_addc(word, w[i]);
	}
	return ret ? ret : fn(buf_str(word), word->len, arg);
}

int text_words(const char *s, text_word_fn *fn, void *arg)
{
	const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
	size_t len = strlen(s), i = 0, start = 0;
	bool in_word = false, apostrophe = false;
	utf8proc_int32_t cp, next;
	utf8proc_ssize_t n;
	struct buf word;
	int ret = 0;

	buf_init(&word, BUF_MAX_LINE);
	while (i <= len && !ret) {
		if (i == len) {
			cp = -1;
			n = 1;
		} else if (p[i] < 0x80) {
			cp = p[i];
			n = 1;
		} else {
			n = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i),
					     &cp);
			if (n < 0) {
				cp = -1;
				n = 1;
			}
		}
		if (cp >= 0 && text_is_word_char((uint32_t)cp)) {
			if (!in_word) {
				in_word = true;
				apostrophe = false;
				start = i;
			}
		} else if (in_word && cp >= 0 && is_apostrophe(cp) &&
			   i + (size_t)n < len &&
			   utf8proc_iterate(p + i + n,
					    (utf8proc_ssize_t)(len - i - n),
					    &next) > 0 &&
			   text_is_word_char((uint32_t)next)) {
			/* Inside a word ("don't"): it is dropped. */
			apostrophe = true;
		} else if (in_word) {
			in_word = false;
			ret = apostrophe
				      ? word_without_apostrophes(s + start,
								 i - start,
								 &word, fn, arg)
				      : fn(s + start, i - start, arg);
		}
		i += (size_t)n;
	}
	buf_free(&word);
	return ret;
}

/* ASCII letters and digits, lower-cased; 0 for every other byte. */
static const unsigned char ascii_alnum[256] = {
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

/* Byte classes for text_fold_words: a blank (where text_fold cuts),
 * printable ASCII, or anything else (controls, DEL and the bytes of
 * other characters, which need text_fold's cleaning and utf8proc). */
enum { FW_PRINT, FW_BLANK, FW_OTHER };
static const unsigned char fw_class[256] = {
	[0x00 ... 0x08] = FW_OTHER, ['\t'] = FW_BLANK,
	['\n'] = FW_BLANK,	    [0x0b ... 0x1f] = FW_OTHER,
	[' '] = FW_BLANK,	    [0x7f ... 0xff] = FW_OTHER,
};

/* The length of the punctuation at p (n bytes) that text_fold leaves
 * a separator (or, for U+2019, an apostrophe): the typographic marks
 * of English text (no-break space, pound sign, copyright sign, dashes,
 * quotation marks, ellipsis), none a letter or a digit, none composing
 * with what is next to it, and none folded into one. 0 for anything
 * else. */
static size_t fw_punct(const unsigned char *p, size_t n)
{
	if (n >= 2 && p[0] == 0xc2 &&
	    (p[1] == 0xa0 || p[1] == 0xa3 || p[1] == 0xa9 || p[1] == 0xab ||
	     p[1] == 0xbb))
		return 2;
	if (n >= 3 && p[0] == 0xe2 && p[1] == 0x80 &&
	    (p[2] == 0x93 || p[2] == 0x94 || p[2] == 0x98 || p[2] == 0x99 ||
	     p[2] == 0x9c || p[2] == 0x9d || p[2] == 0xa6))
		return 3;
	return 0;
}

static bool is_rsquo(const unsigned char *p, size_t n)
{
	return n >= 3 && p[0] == 0xe2 && p[1] == 0x80 && p[2] == 0x99;
}

/* The words of a run of printable ASCII with no blank, and maybe such
 * punctuation: letters and digits lower-cased (apostrophes between them
 * dropped), as text_fold then text_words would give them. A word that is
 * lower-case already is handed over where it lies; others are copied into word.
 */
static int ascii_words(const unsigned char *p, size_t n, struct buf *word,
		       text_word_fn *fn, void *arg)
{
	size_t j = 0, start, k;
	bool copy;
	int ret;

	while (j < n) {
		if (!ascii_alnum[p[j]]) {
			j++;
			continue;
		}
		start = j;
		copy = false;
		while (j < n) {
			if (ascii_alnum[p[j]]) {
				copy |= ascii_alnum[p[j]] != p[j];
				j++;
			} else if (p[j] == '\'' && j + 1 < n &&
				   ascii_alnum[p[j + 1]]) {
				copy = true; /* "don't": the apostrophe goes */
				j++;
			} else if (is_rsquo(p + j, n - j) && j + 3 < n &&
				   ascii_alnum[p[j + 3]]) {
				copy = true; /* "don’t" likewise */
				j += 3;
			} else {
				break;
			}
		}
		if (!copy) {
			ret = fn((const char *)p + start, j - start, arg);
		} else {
			buf_reset(word);
			ret = 0;
			for (k = start; k < j && !ret; k++) {
				if (ascii_alnum[p[k]])
					ret = buf_addc(word,
						       (char)ascii_alnum[p[k]]);
			}
			if (!ret)
				ret = fn(buf_str(word), word->len, arg);
		}
		if (ret)
			return ret;
	}
	return 0;
}

/* The words of any other run with no blank: cleaned, folded and split
 * as text_fold then text_words do it (text_fold folds each run between
 * blanks on its own, and no word goes across a blank). */
static int other_words(const char *s, size_t n, struct buf *clean,
		       text_word_fn *fn, void *arg)
{
	utf8proc_uint8_t *folded = NULL;
	utf8proc_ssize_t m;
	const char *c;
	size_t k;
	int ret;

	buf_reset(clean);
	ret = text_clean(s, n, clean);
	if (ret)
		return ret;
	c = buf_str(clean);
	for (k = 0; k < clean->len && (unsigned char)c[k] < 0x80; k++)
		;
	if (k == clean->len) {
		for (k = 0; k < clean->len; k++) {
			if (clean->ptr[k] >= 'A' && clean->ptr[k] <= 'Z')
				clean->ptr[k] = (char)(clean->ptr[k] + 32);
		}
		return text_words(buf_str(clean), fn, arg);
	}
	m = utf8proc_map((const utf8proc_uint8_t *)c,
			 (utf8proc_ssize_t)clean->len, &folded,
			 UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT |
				 UTF8PROC_CASEFOLD);
	if (m < 0)
		return -ENOMEM;
	ret = text_words((const char *)folded, fn, arg);
	free(folded);
	return ret;
}

int text_fold_words(const char *s, size_t len, text_word_fn *fn, void *arg)
{
	const unsigned char *p = (const unsigned char *)s;
	struct buf word, clean;
	size_t i = 0, start, k;
	unsigned char c;
	bool simple;
	int ret = 0;

	buf_init(&word, BUF_MAX_TEXT);
	buf_init(&clean, BUF_MAX_TEXT);
	while (i < len && !ret) {
		if (fw_class[p[i]] == FW_BLANK) {
			i++;
			continue;
		}
		start = i;
		simple = true;
		while (i < len && (c = fw_class[p[i]]) != FW_BLANK) {
			if (c == FW_PRINT) {
				i++;
			} else if ((k = fw_punct(p + i, len - i)) > 0) {
				i += k;
			} else {
				simple = false;
				i++;
			}
		}
		ret = simple ? ascii_words(p + start, i - start, &word, fn, arg)
			     : other_words(s + start, i - start, &clean, fn,
					   arg);
	}
	buf_free(&word);
	buf_free(&clean);
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

int text_json_quote(const char *s, struct buf *out)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *u = (const unsigned char *)s, *run;
	char esc[6] = {'\\', 'u', '0', '0', 0, 0};
	size_t start = out->len, n;
	uint32_t cp;
	int ret;

	ret = buf_addc(out, '"');
	while (!ret && *u) {
		/* Runs of bytes that need no escape are appended whole. */
		run = u;
		while (*u >= 0x20 && *u != '"' && *u != '\\') {
			if (*u < 0x80) {
				u++;
				continue;
			}
			/* 4 is enough: a NUL ends the sequence early. */
			n = text_utf8_decode(u, 4, &cp);
			if (n == 0) {
				out->len = start;
				out->ptr[start] = '\0';
				return -EINVAL;
			}
			u += n;
		}
		ret = buf_add(out, run, (size_t)(u - run));
		if (ret || !*u)
			break;
		switch (*u) {
		case '"':
			ret = buf_add(out, "\\\"", 2);
			break;
		case '\\':
			ret = buf_add(out, "\\\\", 2);
			break;
		case '\b':
			ret = buf_add(out, "\\b", 2);
			break;
		case '\f':
			ret = buf_add(out, "\\f", 2);
			break;
		case '\n':
			ret = buf_add(out, "\\n", 2);
			break;
		case '\r':
			ret = buf_add(out, "\\r", 2);
			break;
		case '\t':
			ret = buf_add(out, "\\t", 2);
			break;
		default:
			esc[4] = hex[*u >> 4];
			esc[5] = hex[*u & 0xf];
			ret = buf_add(out, esc, sizeof(esc));
			break;
		}
		u++;
	}
	return ret ? ret : buf_addc(out, '"');
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
