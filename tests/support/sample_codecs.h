/*
 * sample_codecs.h -- custom codecs (gnet_codec_new_custom) for the codec
 * suites to build and break.
 *
 *   TLV: 1-byte type TLV_TYPE, 2-byte big-endian length, value. Its state
 *   (struct tlv_state) counts the frames of its stream; its cfg lives on
 *   the heap and is freed by free_cfg, which counts calls in
 *   tlv_free_calls, so a missed or doubled call shows (and ASan sees it).
 *   never_decode: a decoder that never finds a frame.
 *   pass-through: never_decode without an encoder, so encode copies.
 */
#ifndef TESTS_SUPPORT_SAMPLE_CODECS_H
#define TESTS_SUPPORT_SAMPLE_CODECS_H

#include <stddef.h>
#include <sys/uio.h>

#include "gnet.h"

#define TLV_TYPE 0x7E
#define TLV_HDR 3
#define TLV_MAX_VALUE 65535

struct tlv_state {
	unsigned frames;
};

extern int tlv_free_calls;      /* zeroed by the test that counts */

int make_tlv(gnet_codec_t **out);
/* The TLV encoder alone, for codec definitions a test builds itself. */
int tlv_encode(void *cfg, gnet_codec_sink_t *out, const struct iovec *iov,
    int iovcnt, size_t len);

int never_decode(void *cfg, void *state, const unsigned char *in, size_t n,
    gnet_frame_t *f);
int make_passthrough(gnet_codec_t **out);

#endif
