/*
 * bytes.h -- a growable byte buffer for building what a client sends and
 * expects back, frame by frame.
 *
 * Zeroed memory ({ 0 }) is an empty buffer; bytes_free returns it to that
 * state. Running out of memory, or a codec refusing a frame, fails the
 * current test, so no test passes on an empty exchange.
 */
#ifndef TESTS_SUPPORT_BYTES_H
#define TESTS_SUPPORT_BYTES_H

#include <stddef.h>
#include <stdint.h>

#include "gnet.h"

typedef struct bytes {
	uint8_t *p;
	size_t len, cap;
} bytes_t;

void bytes_add(bytes_t *b, const void *p, size_t n);
/* Append the encoding of one frame; returns the encoded length. */
size_t bytes_add_frame(bytes_t *b, const gnet_codec_t *codec,
    const void *payload, size_t n);
void bytes_free(bytes_t *b);

#endif
