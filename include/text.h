/*
 * text: Unicode text handling shared by the pipeline: making any bytes
 * valid UTF-8, folding case (utf8proc NFKC + case fold), splitting text
 * into words, and checked number parsing. Pure; no I/O.
 */
#ifndef BULLETIN_TEXT_H
#define BULLETIN_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Appends s (len bytes) to out as valid UTF-8: invalid sequences become
 * U+FFFD, NUL and C0/C1 controls other than \n and \t are dropped. */
int text_clean(const char *s, size_t len, struct buf *out);

/* Returns a malloc'd NFKC case-folded copy of s (invalid UTF-8 is cleaned
 * first), or NULL when out of memory. */
char *text_fold(const char *s);

/* True for a letter, a digit or a combining mark: what words are made
 * of. */
bool text_is_word_char(uint32_t cp);

/* Calls fn for each word of s: a run of letters, digits and marks, with
 * inner apostrophes dropped ("don't" -> "dont"). Words are not copied:
 * (word, len) points into s. A non-zero return from fn stops the walk and
 * is returned. */
typedef int text_word_fn(const char *word, size_t len, void *arg);
int text_words(const char *s, text_word_fn *fn, void *arg);

/* text_words(text_fold(s)) for the len bytes at s, without the folded
 * copy: the same words, in the same order, though not pointing into s
 * (they are valid during the call). Runs of printable ASCII, most text,
 * are lower-cased and split in one pass; other runs go through
 * text_fold's cleaning and utf8proc. Returns 0, a non-zero return of
 * fn, or -ENOMEM. */
int text_fold_words(const char *s, size_t len, text_word_fn *fn, void *arg);

/* Decodes the UTF-8 sequence at s (n > 0 bytes left): returns its length
 * and sets *cp, or returns 0 when the bytes are not valid UTF-8 (overlong
 * forms, surrogates and values past U+10FFFF included). */
size_t text_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);

/* Like text_utf8_decode, but also 0 for U+FFFE and U+FFFF, which are not
 * XML characters. */
size_t text_xml_char_len(const unsigned char *s, size_t n);

/* Parses a whole decimal integer in [min, max]. Returns 0 or -EINVAL. */
int text_parse_int(const char *s, long long min, long long max, long long *out);

/* Appends s to out as a JSON string, quotes included, written as
 * jansson's json_dumps() writes it by default: '"' and '\\' escaped,
 * \b \f \n \r \t, other controls below 0x20 as \u00XX (upper-case
 * hex), everything else (non-ASCII, '/') as it is. Returns 0, -EINVAL
 * when s is not valid UTF-8 (out unchanged: jansson refuses such a
 * string too), or buf's -ENOMEM / -E2BIG. */
int text_json_quote(const char *s, struct buf *out);

/* True when s is non-empty printable ASCII with no spaces. */
bool text_is_token(const char *s);

#endif
