/*
 * codec_specs.h -- the codecs the live codec suites run on an engine, as a
 * table (line, two delimiters, fixed, length fields of every width in
 * both byte orders), and instances built from it with what each can
 * carry.
 *
 * A length field is built with strip = its width and a matching
 * encode_adjustment, so the payload handed to on_traffic is what the
 * client encoded. Payloads from codec_inst_payload never contain the
 * codec's delimiter bytes. Building a codec that the library refuses
 * fails the current test.
 */
#ifndef TESTS_SUPPORT_CODEC_SPECS_H
#define TESTS_SUPPORT_CODEC_SPECS_H

#include <stddef.h>
#include <stdint.h>

#include "gnet.h"

enum codec_kind { K_LINE, K_DELIM, K_FIXED, K_LF };

typedef struct codec_spec {
	const char *name;
	enum codec_kind kind;
	const char *delim;      /* K_DELIM */
	size_t dlen;
	int width;              /* K_LF: length field bytes */
	int little;             /* K_LF: little endian */
} codec_spec_t;

enum {
	SPEC_LINE, SPEC_CRLF2, SPEC_PIPE, SPEC_FIXED, SPEC_LF1, SPEC_LF2LE,
	SPEC_LF3, SPEC_LF4, SPEC_LF8LE,
	N_SPECS
};

extern const codec_spec_t codec_specs[N_SPECS];

/* A codec built from a spec, and what it can carry. */
typedef struct codec_inst {
	const codec_spec_t *sp;
	gnet_codec_t *codec;
	size_t fixed_len;       /* K_FIXED */
	size_t max_payload;     /* largest payload it encodes and decodes */
} codec_inst_t;

/* max_frame 0: the default. For the length field it bounds the whole frame
 * (header included), for line/delimiter the payload. `adj` is the length
 * field's length_adjustment (the encoder compensates). */
void codec_inst_init_adj(codec_inst_t *ci, int spec, size_t fixed_len,
    size_t max_frame, long adj);
void codec_inst_init(codec_inst_t *ci, int spec, size_t fixed_len,
    size_t max_frame);
void codec_inst_free(codec_inst_t *ci);
/* The payload length to use for a wanted one: fixed frames have one size,
 * a narrow length field caps it. */
size_t codec_inst_len(const codec_inst_t *ci, size_t want);
/* Pseudo-random payload (from seed) free of the delimiter's bytes, so no
 * delimiter can occur inside it or straddle its end. */
void codec_inst_payload(const codec_inst_t *ci, uint8_t *p, size_t n,
    uint64_t seed);

#endif
