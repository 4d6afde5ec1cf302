/*
 * A growable byte buffer with a read offset, used for a connection's
 * inbound and outbound bytes and as a codec's output sink. Not public.
 */
#ifndef GNET_NET_BUF_H
#define GNET_NET_BUF_H

#include <stddef.h>

/* Bytes live in [off, off + len) of data[0..cap). */
typedef struct gnet__buf {
	unsigned char *data;
	size_t off, len, cap;
} gnet__buf_t;

int gnet__buf_append(gnet__buf_t *b, const void *p, size_t n);
void gnet__buf_consume(gnet__buf_t *b, size_t n);
/* Drop bytes from the end so that len becomes n (n <= len). */
void gnet__buf_truncate(gnet__buf_t *b, size_t n);
void gnet__buf_release(gnet__buf_t *b);

#endif
