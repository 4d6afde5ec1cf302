/*
 * codec_stream.h -- a long encoded stream of frames for one codec, and a
 * driver that decodes it as the engine would, whatever way its bytes
 * arrive.
 *
 * stream_build draws CODEC_STREAM_FRAMES payload sizes (uniform, with 0
 * and the maximum boosted) and bytes from a seed, keeps delimiter bytes
 * out of the payloads, and encodes them all into one buffer.
 * stream_drive offers that buffer grown in place up to each arrival size,
 * takes every frame that is complete, and checks each against what was
 * encoded: a frame left waiting although all of it is there is an error
 * as much as a wrong one.
 *
 * Problems are noted in a struct errs rather than asserted one by one:
 * ck_assert records a mark point per call, far too slow for the millions
 * of checks of a stream, so the caller asserts once that e.n is 0.
 */
#ifndef TESTS_SUPPORT_CODEC_STREAM_H
#define TESTS_SUPPORT_CODEC_STREAM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "gnet.h"

#define CODEC_STREAM_FRAMES 200 /* frames per encoded stream */

/* First problem of a hot loop, and how many there were. */
struct errs {
	int n;
	char first[256];
};

#define NOTE(e, ...) do { \
	if ((e)->n++ == 0) \
		snprintf((e)->first, sizeof (e)->first, __VA_ARGS__); \
} while (0)

/* A codec and the payloads it can carry. */
struct stream_case {
	const char *name;
	int (*make)(gnet_codec_t **out);      /* or NULL: length field with lf */
	const gnet_length_field_config_t *lf;
	size_t max_payload;   /* payload sizes are drawn from 0..max_payload */
	size_t fixed;         /* nonzero: every payload is exactly this long */
	const char *forbid;   /* bytes a payload must not hold (delimiters) */
	size_t forbid_len;
	size_t kept;          /* header bytes left at the start of each frame */
};

#define FORBID(lit) .forbid = (lit), .forbid_len = sizeof(lit) - 1

struct stream {
	const struct stream_case *sc;
	gnet_codec_t *c;
	unsigned char *pay, *enc;
	size_t pay_off[CODEC_STREAM_FRAMES], pay_len[CODEC_STREAM_FRAMES];
	size_t enc_off[CODEC_STREAM_FRAMES + 1], enc_len[CODEC_STREAM_FRAMES];
	size_t total;         /* encoded bytes */
};

void stream_build(struct stream *s, const struct stream_case *sc,
    uint64_t seed);
void stream_free(struct stream *s);
/* Decode the stream as its bytes arrive up to each cumulative size in
 * arrive[], checking the first `upto` frames; `mode` names the way of
 * arriving in notes. */
void stream_drive(struct errs *e, const struct stream *s,
    const size_t *arrive, size_t narrive, size_t upto, const char *mode);

#endif
