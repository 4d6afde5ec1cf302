/*
 * codec_check.h -- checking the frame codecs through their pure API
 * (gnet_codec_decode / gnet_codec_encode): exact decode and encode
 * outcomes, and the small table language the codec suites write their
 * cases in.
 *
 * A decode expectation is (want, off, len, consumed): want 1 is one frame
 * at in[off..off+len) using `consumed` bytes, 0 is "need more", anything
 * else the error code. FRAME(), NEED and ERR() spell those columns. Every
 * check fails the current test with a message naming `what`.
 */
#ifndef TESTS_SUPPORT_CODEC_CHECK_H
#define TESTS_SUPPORT_CODEC_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "gnet.h"

/* A string literal as the (pointer, length) pair the API takes; sizeof
 * keeps embedded NUL bytes. */
#define S(lit) (lit), (sizeof(lit) - 1)
/* The outcome columns of a decode table. */
#define FRAME(off, len, consumed) 1, (off), (len), (consumed)
#define NEED 0, 0, 0, 0
#define ERR(code) (code), 0, 0, 0
/* A length-field configuration literal, its size already set. */
#define LF(...) (&(const gnet_length_field_config_t){ \
	.size = sizeof(gnet_length_field_config_t), __VA_ARGS__ })

/* One decode expectation on a fresh state. */
struct dec_case {
	const char *what;
	const char *in;
	size_t n;
	int want;                 /* 1, 0 or a GNET_E* code */
	size_t off, len, consumed; /* the frame when want is 1 */
};

/* Names for messages: a decode result, and any other result (a length
 * or 0 on success, a negative code on failure). */
const char *rc_name(long r);
const char *err_name(long r);

/* Zeroed per-stream state as gnet_codec_decode requires, sized exactly so
 * ASan catches a codec writing past it; NULL when the codec needs none. */
void *codec_state_new(const gnet_codec_t *c);
void codec_state_reset(const gnet_codec_t *c, void *st);

/* Decode in[0..n) and check the outcome exactly. Every codec here decodes
 * in place, so a frame's data pointer itself is checked. */
void check_decode(const gnet_codec_t *c, void *st, const void *in, size_t n,
    int want, size_t off, size_t len, size_t consumed, const char *what);
/* check_decode for each row of t, each on a fresh state. */
void run_dec_cases(const gnet_codec_t *c, const struct dec_case *t, size_t k);
/* Encode into a buffer and compare with the expected bytes exactly. */
void check_encode(const gnet_codec_t *c, const void *p, size_t n,
    const void *want, size_t want_len, const char *what);

/* A length field's value `v` in `width` bytes, written the obvious way to
 * check the codec's encoder against (or to forge a header no encoder
 * would produce). */
void put_length_field(uint8_t *p, int width, int little, uint64_t v);

#endif
