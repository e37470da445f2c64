/*
 * buf: growable bytes with a hard cap per use, modelled on curl's dynbuf.
 * The contents are always NUL-terminated. Adds fail with -ENOMEM when
 * memory runs out and -E2BIG at the cap; on any failure the buffer is
 * freed (and may be reused after buf_init). A pointer from buf->ptr is
 * valid only until the next call that changes the buffer.
 */
#ifndef BULLETIN_BUF_H
#define BULLETIN_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *ptr;  /* owned; NULL until the first add */
	size_t len; /* bytes used, not counting the NUL */
	size_t cap; /* bytes allocated */
	size_t max; /* hard cap on len */
};

#define BUF_WARN __attribute__((warn_unused_result))

/* Common caps. */
#define BUF_MAX_LINE (64 * 1024)
#define BUF_MAX_TEXT (16 * 1024 * 1024)

void buf_init(struct buf *b, size_t max);
/* Frees the contents; accepts a zeroed buffer. The cap is kept. */
void buf_free(struct buf *b);
/* Empties the buffer but keeps the allocation. */
void buf_reset(struct buf *b);

int buf_add(struct buf *b, const void *data, size_t len) BUF_WARN;
int buf_adds(struct buf *b, const char *s) BUF_WARN;
int buf_addc(struct buf *b, char c) BUF_WARN;
int buf_printf(struct buf *b, const char *fmt, ...) BUF_WARN
	__attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) BUF_WARN
	__attribute__((format(printf, 2, 0)));

/* Returns the contents ("" for an empty buffer, never NULL); the buffer
 * keeps ownership. */
const char *buf_str(const struct buf *b);

/* Hands the contents to the caller (free with free()) and empties the
 * buffer. Returns NULL when out of memory. */
char *buf_take(struct buf *b);

/* Removes trailing bytes in set (e.g. " \t\n"). */
void buf_rtrim(struct buf *b, const char *set);

#endif
