/*
 * reply.c -- RESP2 replies appended to a growable buffer (reply.h).
 *
 * Every append first reserves room for all it writes, so a reply is
 * either whole or, once an allocation failed, cut and marked failed (the
 * caller then drops the connection rather than send half a frame).
 * Integers are formatted two digits at a time: they head every bulk
 * string, so this is on the path of every GET.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "reply.h"

#define REPLY_MIN_CAP 4096          /* a first buffer holds most replies */
#define REPLY_KEEP_MAX (1u << 20)   /* a bigger buffer is freed on reset */
#define REPLY_ERR_STACK 256         /* errors longer than this are rare */
#define LL_MAX_CHARS 21             /* "-9223372036854775808" plus one */

void
reply_init(reply_t *r)
{
	r->buf = NULL;
	r->len = r->cap = 0;
	r->failed = 0;
}

void
reply_free(reply_t *r)
{
	free(r->buf);
	reply_init(r);
}

void
reply_reset(reply_t *r)
{
	if (r->cap > REPLY_KEEP_MAX) {
		free(r->buf);
		r->buf = NULL;
		r->cap = 0;
	}
	r->len = 0;
	r->failed = 0;
}

/* Room for n more bytes: 0, or -1 when the reply is (now) failed. */
static int
reserve(reply_t *r, size_t n)
{
	size_t cap;
	char *p;

	if (r->failed)
		return -1;
	if (r->cap - r->len >= n)
		return 0;
	cap = r->cap ? r->cap : REPLY_MIN_CAP;
	while (cap - r->len < n) {
		if (cap > SIZE_MAX / 2) {
			cap = r->len + n;
			break;
		}
		cap *= 2;
	}
	if (r->len + n < r->len || (p = realloc(r->buf, cap)) == NULL) {
		r->failed = 1;
		return -1;
	}
	r->buf = p;
	r->cap = cap;
	return 0;
}

static const char digit_pairs[201] =
    "0001020304050607080910111213141516171819"
    "2021222324252627282930313233343536373839"
    "4041424344454647484950515253545556575859"
    "6061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/* Decimal digits of v at p (room for LL_MAX_CHARS); returns the count. */
static size_t
ll_format(char *p, long long v)
{
	char tmp[LL_MAX_CHARS];
	char *q = tmp + sizeof(tmp);
	unsigned long long u = v < 0 ? 0ull - (unsigned long long)v :
	    (unsigned long long)v;
	size_t n;

	while (u >= 100) {
		unsigned i = (unsigned)(u % 100) * 2;

		u /= 100;
		*--q = digit_pairs[i + 1];
		*--q = digit_pairs[i];
	}
	if (u >= 10) {
		*--q = digit_pairs[u * 2 + 1];
		*--q = digit_pairs[u * 2];
	} else {
		*--q = (char)('0' + u);
	}
	if (v < 0)
		*--q = '-';
	n = (size_t)(tmp + sizeof(tmp) - q);
	memcpy(p, q, n);
	return n;
}

/* "<c><v>\r\n": the header of integers, bulks and arrays. */
static void
prefixed_ll(reply_t *r, char c, long long v)
{
	char *p;

	if (reserve(r, 1 + LL_MAX_CHARS + 2) < 0)
		return;
	p = r->buf + r->len;
	*p++ = c;
	p += ll_format(p, v);
	*p++ = '\r';
	*p++ = '\n';
	r->len = (size_t)(p - r->buf);
}

void
reply_raw(reply_t *r, const void *p, size_t n)
{
	if (reserve(r, n) < 0)
		return;
	if (n > 0)
		memcpy(r->buf + r->len, p, n);
	r->len += n;
}

void
reply_status(reply_t *r, const char *s)
{
	size_t n = strlen(s);

	if (reserve(r, n + 3) < 0)
		return;
	r->buf[r->len++] = '+';
	memcpy(r->buf + r->len, s, n);
	r->len += n;
	r->buf[r->len++] = '\r';
	r->buf[r->len++] = '\n';
}

void
reply_error(reply_t *r, const char *s)
{
	size_t n;

	if (*s == '-')           /* already a frame's first byte */
		s++;
	n = strlen(s);
	if (reserve(r, n + 3) < 0)
		return;
	r->buf[r->len++] = '-';
	for (size_t i = 0; i < n; i++)
		r->buf[r->len++] = (s[i] == '\r' || s[i] == '\n') ? ' ' : s[i];
	r->buf[r->len++] = '\r';
	r->buf[r->len++] = '\n';
}

void
reply_errorf(reply_t *r, const char *fmt, ...)
{
	char stack[REPLY_ERR_STACK], *s = stack;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(stack, sizeof(stack), fmt, ap);
	va_end(ap);
	if (n < 0) {
		r->failed = 1;
		return;
	}
	if ((size_t)n >= sizeof(stack)) {
		if ((s = malloc((size_t)n + 1)) == NULL) {
			r->failed = 1;
			return;
		}
		va_start(ap, fmt);
		vsnprintf(s, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	reply_error(r, s);
	if (s != stack)
		free(s);
}

void
reply_int(reply_t *r, long long v)
{
	prefixed_ll(r, ':', v);
}

void
reply_bulk(reply_t *r, const void *p, size_t n)
{
	char *q;

	if (reserve(r, 1 + LL_MAX_CHARS + 2 + n + 2) < 0)
		return;
	q = r->buf + r->len;
	*q++ = '$';
	q += ll_format(q, (long long)n);
	*q++ = '\r';
	*q++ = '\n';
	if (n > 0)
		memcpy(q, p, n);
	q += n;
	*q++ = '\r';
	*q++ = '\n';
	r->len = (size_t)(q - r->buf);
}

void
reply_bulk_cstr(reply_t *r, const char *s)
{
	reply_bulk(r, s, strlen(s));
}

void
reply_nil(reply_t *r)
{
	reply_raw(r, "$-1\r\n", 5);
}

void
reply_array(reply_t *r, long long n)
{
	prefixed_ll(r, '*', n);
}

void
reply_nil_array(reply_t *r)
{
	reply_raw(r, "*-1\r\n", 5);
}
