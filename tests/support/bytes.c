/*
 * bytes.c -- growable byte buffers (see bytes.h).
 */
#include "bytes.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static void
bytes_reserve(bytes_t *b, size_t extra)
{
	if (b->len + extra <= b->cap)
		return;
	size_t ncap = b->cap ? b->cap : 256;
	while (ncap < b->len + extra)
		ncap *= 2;
	uint8_t *np = realloc(b->p, ncap);
	ck_assert_ptr_nonnull(np);
	b->p = np;
	b->cap = ncap;
}

void
bytes_add(bytes_t *b, const void *p, size_t n)
{
	bytes_reserve(b, n);
	if (n != 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

void
bytes_free(bytes_t *b)
{
	free(b->p);
	memset(b, 0, sizeof *b);
}

size_t
bytes_add_frame(bytes_t *b, const gnet_codec_t *codec, const void *payload,
    size_t n)
{
	long need = gnet_codec_encode(codec, payload, n, NULL, 0);
	ck_assert_msg(need > 0 && (size_t)need >= n,
	    "gnet_codec_encode(%zu bytes) = %ld (%s)", n, need,
	    need < 0 ? gnet_strerror((int)need) : "nothing");
	bytes_reserve(b, (size_t)need);
	long got = gnet_codec_encode(codec, payload, n, b->p + b->len,
	    (size_t)need);
	ck_assert_int_eq(got, need);
	b->len += (size_t)need;
	return (size_t)need;
}
