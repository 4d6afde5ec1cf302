/*
 * Connection byte buffers. Appends compact before they grow, so a buffer
 * that is drained as fast as it fills never moves to a bigger block.
 */
#include <stdlib.h>
#include <string.h>
#include "gnet.h"
#include "net/buf.h"

/* Smallest block worth allocating: one typical write fits. */
#define BUF_MIN_CAP 4096

int
gnet__buf_append(gnet__buf_t *b, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	if (b->off + b->len + n > b->cap) {
		if (b->len + n <= b->cap && b->off >= b->len) {
			/* Enough room once the consumed prefix is dropped,
			 * and the copy is no bigger than what was consumed. */
			memmove(b->data, b->data + b->off, b->len);
			b->off = 0;
		} else {
			size_t need = b->len + n, ncap = b->cap ? b->cap : BUF_MIN_CAP;
			unsigned char *nd;
			while (ncap < need)
				ncap *= 2;
			nd = malloc(ncap);
			if (nd == NULL)
				return GNET_ENOMEM;
			if (b->len != 0)
				memcpy(nd, b->data + b->off, b->len);
			free(b->data);
			b->data = nd;
			b->cap = ncap;
			b->off = 0;
		}
	}
	memcpy(b->data + b->off + b->len, p, n);
	b->len += n;
	return 0;
}

void
gnet__buf_consume(gnet__buf_t *b, size_t n)
{
	if (n >= b->len) {
		b->off = 0;
		b->len = 0;
	} else {
		b->off += n;
		b->len -= n;
	}
}

void
gnet__buf_truncate(gnet__buf_t *b, size_t n)
{
	if (n < b->len)
		b->len = n;
	if (b->len == 0)
		b->off = 0;
}

void
gnet__buf_release(gnet__buf_t *b)
{
	free(b->data);
	b->data = NULL;
	b->off = b->len = b->cap = 0;
}
