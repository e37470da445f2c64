/*
 * buf: growable, capped, always NUL-terminated bytes. Growth doubles from
 * 64 bytes, and every size is checked for overflow before it is used.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

void buf_init(struct buf *b, size_t max)
{
	b->ptr = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void buf_free(struct buf *b)
{
	if (!b)
		return;
	free(b->ptr);
	b->ptr = NULL;
	b->len = 0;
	b->cap = 0;
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->ptr)
		b->ptr[0] = '\0';
}

static int buf_grow(struct buf *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (extra > b->max || b->len > b->max - extra) {
		buf_free(b);
		return -E2BIG;
	}
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < need) {
		if (cap > SIZE_MAX / 2) {
			cap = need;
			break;
		}
		cap *= 2;
	}
	p = realloc(b->ptr, cap);
	if (!p) {
		buf_free(b);
		return -ENOMEM;
	}
	b->ptr = p;
	b->cap = cap;
	return 0;
}

int buf_add(struct buf *b, const void *data, size_t len)
{
	int ret;

	/* Most adds fit in the room there is: no call to buf_grow then
	 * (len < cap - len leaves room for the NUL). */
	if (!b->ptr || len >= b->cap - b->len || len > b->max - b->len) {
		ret = buf_grow(b, len);
		if (ret)
			return ret;
	}
	if (len)
		memcpy(b->ptr + b->len, data, len);
	b->len += len;
	b->ptr[b->len] = '\0';
	return 0;
}

int buf_adds(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

int buf_addc(struct buf *b, char c)
{
	return buf_add(b, &c, 1);
}

int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n, ret;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		buf_free(b);
		return -EINVAL;
	}
	ret = buf_grow(b, (size_t)n);
	if (ret)
		return ret;
	vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return ret;
}

const char *buf_str(const struct buf *b)
{
	return b->ptr ? b->ptr : "";
}

char *buf_take(struct buf *b)
{
	char *p = b->ptr;

	if (!p)
		p = strdup("");
	b->ptr = NULL;
	b->len = 0;
	b->cap = 0;
	return p;
}

void buf_rtrim(struct buf *b, const char *set)
{
	while (b->len > 0 && strchr(set, b->ptr[b->len - 1]))
		b->len--;
	if (b->ptr)
		b->ptr[b->len] = '\0';
}
