/*
 * check_codec -- unit suite "codec": the frame codecs through their pure
 * API (gnet_codec_decode / gnet_codec_encode), no engine, no sockets.
 *
 * Covers: constructor validation (bad configs give GNET_EINVAL and a NULL
 * codec, edge configs are accepted); the line, delimiter, fixed-length
 * and length-field codecs frame by frame, including netty's documented
 * LengthFieldBasedFrameDecoder examples, every field width in both byte
 * orders, max-frame boundaries and malformed lengths; custom codecs and
 * the checks gnet_codec_decode applies to them; encode's snprintf-like
 * contract; and, for every codec, that a long stream gives the same frames
 * whether it arrives at once, byte by byte, split in two anywhere or in
 * random chunks, with a scan state that keeps pipelined decoding
 * O(bytes). Tests named "regress" pin defects found while writing
 * this suite (all fixed).
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "gnet.h"
#include "support/testnet.h"

#define TCASE_TIMEOUT_S 60
#define PIPELINE_TIMEOUT_S 600   /* the only guard on the O(bytes) tests */

#define STREAM_FRAMES 200        /* frames per encoded stream */
#define STREAM_BYTE_FRAMES 8     /* leading frames fed one byte at a time */
#define STREAM_FIXED_LEN 7
#define PIPELINE_BYTES ((size_t)1 << 20)
#define BIG_PAYLOAD ((size_t)1 << 24)   /* 16 MiB: the 3-byte field's limit */
#define BIG_MAX_FRAME ((size_t)32 << 20) /* room for a 16 MiB payload + header */

/* A string literal as the (pointer, length) pair the API takes; sizeof
 * keeps embedded NUL bytes. */
#define S(lit) (lit), (sizeof(lit) - 1)
#define HW "HELLO, WORLD"
/* The outcome columns of a decode table: a frame at in[off..off+len)
 * using `consumed` bytes, "need more", or an error code. */
#define FRAME(off, len, consumed) 1, (off), (len), (consumed)
#define NEED 0, 0, 0, 0
#define ERR(code) (code), 0, 0, 0
#define SENTINEL 0xA5    /* fills output bytes an encode must not write */

/* ------------------------------------------------------------------------
 * Helpers.
 */
/* Names for messages: a decode result, and any other result (a length
 * or 0 on success, a negative code on failure). */
static const char *
rc_name(long r)
{
	if (r > 0)
		return "frame";
	return r == 0 ? "need more" : gnet_strerror((int)r);
}

static const char *
err_name(long r)
{
	return r >= 0 ? "ok" : gnet_strerror((int)r);
}

/* Zeroed per-stream state as gnet_codec_decode requires, sized exactly so
 * ASan catches a codec writing past it; NULL when the codec needs none. */
static void *
state_new(const gnet_codec_t *c)
{
	size_t sz = gnet_codec_state_size(c);
	void *st;

	if (sz == 0)
		return NULL;
	st = calloc(1, sz);
	ck_assert_ptr_nonnull(st);
	return st;
}

static void
state_reset(const gnet_codec_t *c, void *st)
{
	if (st != NULL)
		memset(st, 0, gnet_codec_state_size(c));
}

/* Decode in[0..n) and check the outcome exactly: want 1 means one frame
 * at in[off..off+len) using `consumed` bytes (every codec here decodes in
 * place, so the data pointer itself is checked); otherwise the code. */
static void
check_decode(const gnet_codec_t *c, void *st, const void *in, size_t n,
    int want, size_t off, size_t len, size_t consumed, const char *what)
{
	gnet_frame_t f = { NULL, 0, 0 };
	int r = gnet_codec_decode(c, st, in, n, &f);

	ck_assert_msg(r == want, "%s: decode of %zu bytes gave %d (%s), "
	    "want %d (%s)", what, n, r, rc_name(r), want, rc_name(want));
	if (want != 1)
		return;
	ck_assert_msg(f.consumed == consumed, "%s: consumed %zu, want %zu", what,
	    f.consumed, consumed);
	ck_assert_msg(f.len == len, "%s: len %zu, want %zu", what, f.len, len);
	ck_assert_msg(f.data == (const unsigned char *)in + off,
	    "%s: frame starts at offset %td, want %zu", what,
	    (const unsigned char *)f.data - (const unsigned char *)in, off);
}

/* One decode expectation on a fresh state. */
struct dec_case {
	const char *what;
	const char *in;
	size_t n;
	int want;                 /* 1, 0 or a GNET_E* code */
	size_t off, len, consumed; /* the frame when want is 1 */
};

static void
run_dec_cases(const gnet_codec_t *c, const struct dec_case *t, size_t k)
{
	void *st = state_new(c);

	for (size_t i = 0; i < k; i++) {
		state_reset(c, st);
		check_decode(c, st, t[i].in, t[i].n, t[i].want, t[i].off, t[i].len,
		    t[i].consumed, t[i].what);
	}
	free(st);
}

/* Encode into a buffer and compare with the expected bytes exactly. */
static void
check_encode(const gnet_codec_t *c, const void *p, size_t n,
    const void *want, size_t want_len, const char *what)
{
	unsigned char out[256];
	long r = gnet_codec_encode(c, p, n, out, sizeof out);

	ck_assert_msg(r == (long)want_len, "%s: encode gave %ld (%s), want %zu",
	    what, r, err_name(r), want_len);
	ck_assert_msg(memcmp(out, want, want_len) == 0, "%s: wrong bytes", what);
}

/* xorshift64*: reproducible sizes and bytes for the stream tests. */
static uint64_t
rng_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* The length field's value for `v` in `width` bytes, written here the
 * obvious way to check the codec's encoder against. */
static void
put_field(unsigned char *p, int width, int little, uint64_t v)
{
	for (int i = 0; i < width; i++) {
		int shift = 8 * (little ? i : width - 1 - i);
		p[i] = (unsigned char)(v >> shift);
	}
}

/* First problem of a hot loop: ck_assert records a mark point per call,
 * far too slow for a million calls, so loops note and assert once. */
struct errs {
	int n;
	char first[256];
};

#define NOTE(e, ...) do { \
	if ((e)->n++ == 0) \
		snprintf((e)->first, sizeof (e)->first, __VA_ARGS__); \
} while (0)

/* ------------------------------------------------------------------------
 * A custom TLV codec: 1-byte type, 2-byte big-endian length, value. Its
 * state counts the frames of its stream; its heap cfg is freed by
 * free_cfg, so ASan reports a missed or doubled call.
 */
#define TLV_TYPE 0x7E
#define TLV_HDR 3
#define TLV_MAX_VALUE 65535

struct tlv_cfg {
	unsigned char type;
};

struct tlv_state {
	unsigned frames;
};

static int tlv_free_calls; /* zeroed by the test that counts */

static int
tlv_decode(void *cfg, void *state, const unsigned char *in, size_t n,
    gnet_frame_t *f)
{
	const struct tlv_cfg *t = cfg;
	struct tlv_state *st = state;
	size_t len;

	if (n < TLV_HDR)
		return 0;
	if (in[0] != t->type)
		return GNET_EBADFRAME; /* the codec's own rejection */
	len = (size_t)in[1] << 8 | in[2];
	if (n < TLV_HDR + len)
		return 0;
	st->frames++;
	f->data = in + TLV_HDR;
	f->len = len;
	f->consumed = TLV_HDR + len;
	return 1;
}

static int
tlv_encode(void *cfg, gnet_codec_sink_t *out, const struct iovec *iov,
    int iovcnt, size_t len)
{
	const struct tlv_cfg *t = cfg;
	unsigned char hdr[TLV_HDR] = { t->type, (unsigned char)(len >> 8),
	    (unsigned char)len };
	int rc;

	if (len > TLV_MAX_VALUE)
		return GNET_EFRAMESIZE;
	rc = gnet_codec_sink_write(out, hdr, sizeof hdr);
	return rc != 0 ? rc : gnet_codec_sink_writev(out, iov, iovcnt);
}

static void
tlv_free_cfg(void *cfg)
{
	tlv_free_calls++;
	free(cfg);
}

static int
make_tlv(gnet_codec_t **out)
{
	struct tlv_cfg *t = malloc(sizeof *t);
	int rc;

	if (t == NULL)
		return GNET_ENOMEM;
	t->type = TLV_TYPE;
	gnet_codec_def_t def = { .size = sizeof(gnet_codec_def_t),
		.decode = tlv_decode,
		.encode = tlv_encode,
		.free_cfg = tlv_free_cfg,
		.cfg = t,
		.state_size = sizeof(struct tlv_state),
		.max_frame = TLV_HDR + TLV_MAX_VALUE,
	};
	rc = gnet_codec_new_custom(out, &def);
	if (rc != 0)
		free(t);
	return rc;
}

/* A decoder that never finds a frame, for configs and the max rule. */
static int
never_decode(void *cfg, void *state, const unsigned char *in, size_t n,
    gnet_frame_t *f)
{
	return 0;
}

/* ------------------------------------------------------------------------
 * Config validation: one row per constructor call.
 */
enum ctor { LINE, DELIM, FIXED, LENGTH, CUSTOM };

struct cfg_case {
	const char *what;
	enum ctor ctor;
	int want;          /* 0 or GNET_EINVAL */
	size_t want_max;   /* gnet_codec_max_frame of an accepted codec */
	int null_out;      /* pass out = NULL */
	size_t size;       /* LINE/DELIM: max_frame; FIXED: frame_len */
	const void *delim;
	size_t dlen;
	const gnet_length_field_config_t *lf; /* NULL is passed as is */
	const gnet_codec_def_t *def;          /* NULL is passed as is */
};

/* 64 characters and the terminating NUL: 65 bytes, of which the first
 * 64 make the longest legal delimiter. */
static const char delim65[65] = "0123456789012345678901234567890123456789"
    "012345678901234567890123";

#define LF(...) (&(const gnet_length_field_config_t){ .size = sizeof(gnet_length_field_config_t), __VA_ARGS__ })
#define DEF(...) (&(const gnet_codec_def_t){ .size = sizeof(gnet_codec_def_t), __VA_ARGS__ })
#define MAXF GNET_CODEC_MAX_FRAME

static const struct cfg_case cfg_table[] = {
	/* line */
	{ "line: NULL out", LINE, GNET_EINVAL, .null_out = 1 },
	{ "line: max 0 is the default", LINE, 0, MAXF, .size = 0 },
	{ "line: max 1", LINE, 0, 1, .size = 1 },
	/* delimiter */
	{ "delim: NULL out", DELIM, GNET_EINVAL, .null_out = 1, .delim = "|",
	    .dlen = 1 },
	{ "delim: NULL delimiter", DELIM, GNET_EINVAL, .delim = NULL, .dlen = 1 },
	{ "delim: empty delimiter", DELIM, GNET_EINVAL, .delim = "|", .dlen = 0 },
	{ "delim: 65-byte delimiter", DELIM, GNET_EINVAL, .delim = delim65,
	    .dlen = 65 },
	{ "delim: 64-byte delimiter", DELIM, 0, MAXF, .delim = delim65,
	    .dlen = 64 },
	{ "delim: NUL byte delimiter, max 5", DELIM, 0, 5, .size = 5, .delim = "",
	    .dlen = 1 },
	/* fixed */
	{ "fixed: NULL out", FIXED, GNET_EINVAL, .null_out = 1, .size = 4 },
	{ "fixed: length 0", FIXED, GNET_EINVAL, .size = 0 },
	{ "fixed: length 1", FIXED, 0, 1, .size = 1 },
	{ "fixed: length 1000", FIXED, 0, 1000, .size = 1000 },
	/* length field */
	{ "lf: NULL out", LENGTH, GNET_EINVAL, .null_out = 1,
	    .lf = LF(.field_length = 2) },
	{ "lf: NULL config", LENGTH, GNET_EINVAL, .lf = NULL },
	{ "lf: width 0", LENGTH, GNET_EINVAL, .lf = LF(.field_length = 0) },
	{ "lf: width -1", LENGTH, GNET_EINVAL, .lf = LF(.field_length = -1) },
	{ "lf: width 5", LENGTH, GNET_EINVAL, .lf = LF(.field_length = 5) },
	{ "lf: width 6", LENGTH, GNET_EINVAL, .lf = LF(.field_length = 6) },
	{ "lf: width 7", LENGTH, GNET_EINVAL, .lf = LF(.field_length = 7) },
	{ "lf: width 9", LENGTH, GNET_EINVAL, .lf = LF(.field_length = 9) },
	{ "lf: width 16", LENGTH, GNET_EINVAL, .lf = LF(.field_length = 16) },
	{ "lf: width 1", LENGTH, 0, MAXF, .lf = LF(.field_length = 1) },
	{ "lf: width 2", LENGTH, 0, MAXF, .lf = LF(.field_length = 2) },
	{ "lf: width 3", LENGTH, 0, MAXF, .lf = LF(.field_length = 3) },
	{ "lf: width 4", LENGTH, 0, MAXF, .lf = LF(.field_length = 4) },
	{ "lf: width 8", LENGTH, 0, MAXF, .lf = LF(.field_length = 8) },
	{ "lf: strip 3 > offset 0 + field 2", LENGTH, GNET_EINVAL,
	    .lf = LF(.field_length = 2, .strip = 3) },
	{ "lf: strip 2 == offset 0 + field 2", LENGTH, 0, MAXF,
	    .lf = LF(.field_length = 2, .strip = 2) },
	{ "lf: strip 5 > offset 1 + field 2 + adjustment 1", LENGTH, GNET_EINVAL,
	    .lf = LF(.field_offset = 1, .field_length = 2, .length_adjustment = 1,
	    .strip = 5) },
	{ "lf: strip 4 == offset 1 + field 2 + adjustment 1", LENGTH, 0, MAXF,
	    .lf = LF(.field_offset = 1, .field_length = 2, .length_adjustment = 1,
	    .strip = 4) },
	{ "lf: a negative adjustment adds no header", LENGTH, GNET_EINVAL,
	    .lf = LF(.field_length = 2, .length_adjustment = -2, .strip = 3) },
	{ "lf: offset 101 beyond max 100", LENGTH, GNET_EINVAL,
	    .lf = LF(.field_offset = 101, .field_length = 1, .max_frame = 100) },
	{ "lf: field ends beyond max 100", LENGTH, GNET_EINVAL,
	    .lf = LF(.field_offset = 99, .field_length = 2, .max_frame = 100) },
	{ "lf: header + adjustment 99 beyond max 100", LENGTH, GNET_EINVAL,
	    .lf = LF(.field_length = 2, .length_adjustment = 99, .max_frame = 100) },
	{ "lf: adjustment LONG_MAX (header would overflow)", LENGTH, GNET_EINVAL,
	    .lf = LF(.field_length = 1, .length_adjustment = LONG_MAX) },
	{ "lf: offset SIZE_MAX", LENGTH, GNET_EINVAL,
	    .lf = LF(.field_offset = SIZE_MAX, .field_length = 1) },
	{ "lf: field ends exactly at max 100", LENGTH, 0, 100,
	    .lf = LF(.field_offset = 98, .field_length = 2, .max_frame = 100) },
	/* custom */
	{ "custom: NULL out", CUSTOM, GNET_EINVAL, .null_out = 1,
	    .def = DEF(.decode = never_decode) },
	{ "custom: NULL def", CUSTOM, GNET_EINVAL, .def = NULL },
	{ "custom: NULL decode", CUSTOM, GNET_EINVAL,
	    .def = DEF(.encode = tlv_encode) },
	{ "custom: state 4097", CUSTOM, GNET_EINVAL,
	    .def = DEF(.decode = never_decode, .state_size = 4097) },
	{ "custom: state 4096", CUSTOM, 0, MAXF,
	    .def = DEF(.decode = never_decode, .state_size = 4096) },
	{ "custom: decode only", CUSTOM, 0, MAXF,
	    .def = DEF(.decode = never_decode) },
	{ "custom: max 77", CUSTOM, 0, 77,
	    .def = DEF(.decode = never_decode, .max_frame = 77) },
};

static int
build(const struct cfg_case *tc, gnet_codec_t **out)
{
	switch (tc->ctor) {
	case LINE:
		return gnet_codec_new_line(out, tc->size);
	case DELIM:
		return gnet_codec_new_delimiter(out, tc->delim, tc->dlen, tc->size);
	case FIXED:
		return gnet_codec_new_fixed(out, tc->size);
	case LENGTH:
		return gnet_codec_new_length_field(out, tc->lf);
	case CUSTOM:
		return gnet_codec_new_custom(out, tc->def);
	}
	return -1;
}

START_TEST(test_config_table)
{
	static int not_a_codec;

	for (size_t i = 0; i < sizeof cfg_table / sizeof cfg_table[0]; i++) {
		const struct cfg_case *tc = &cfg_table[i];
		/* A stale pointer in *out must be cleared on failure. */
		gnet_codec_t *c = (gnet_codec_t *)&not_a_codec;
		int rc = build(tc, tc->null_out ? NULL : &c);

		ck_assert_msg(rc == tc->want, "%s: got %d (%s), want %d", tc->what,
		    rc, err_name(rc), tc->want);
		if (tc->null_out)
			continue;
		if (tc->want != 0) {
			ck_assert_msg(c == NULL, "%s: *out not cleared", tc->what);
			continue;
		}
		ck_assert_msg(c != NULL && c != (gnet_codec_t *)&not_a_codec,
		    "%s: no codec", tc->what);
		ck_assert_msg(gnet_codec_max_frame(c) == tc->want_max,
		    "%s: max frame %zu, want %zu", tc->what, gnet_codec_max_frame(c),
		    tc->want_max);
		if (tc->ctor == CUSTOM)
			ck_assert_uint_eq(gnet_codec_state_size(c),
			    tc->def->state_size);
		gnet_codec_free(c);
	}
}
END_TEST

/* ------------------------------------------------------------------------
 * Line codec.
 */
static const struct dec_case line_table[] = {
	{ "LF", S("hello\n"), FRAME(0, 5, 6) },
	{ "CRLF", S("hello\r\n"), FRAME(0, 5, 7) },
	{ "empty LF", S("\n"), FRAME(0, 0, 1) },
	{ "empty CRLF", S("\r\n"), FRAME(0, 0, 2) },
	{ "first of several", S("one\ntwo\n"), FRAME(0, 3, 4) },
	{ "CR inside is kept", S("a\rb\n"), FRAME(0, 3, 4) },
	{ "leading CR is kept", S("\rx\n"), FRAME(0, 2, 3) },
	{ "only the CR before LF goes", S("ab\r\r\n"), FRAME(0, 3, 5) },
	{ "CR at the end: may be a CRLF", S("ab\r"), NEED },
	{ "no newline", S("abc"), NEED },
	{ "binary", S("\x00\xff\x00\n"), FRAME(0, 3, 4) },
};

/* max_frame 8: the line without its ending may be 8 bytes, not 9. */
static const struct dec_case line_max_table[] = {
	{ "8 + LF", S("12345678\n"), FRAME(0, 8, 9) },
	{ "8 + CRLF", S("12345678\r\n"), FRAME(0, 8, 10) },
	{ "9 + LF", S("123456789\n"), ERR(GNET_EFRAMESIZE) },
	{ "9 + CRLF", S("123456789\r\n"), ERR(GNET_EFRAMESIZE) },
	{ "8 + CR kept + LF", S("1234567\r\r\n"), FRAME(0, 8, 10) },
	{ "9 with a CR kept + LF", S("12345678\r\r\n"), ERR(GNET_EFRAMESIZE) },
	{ "8, no LF yet", S("12345678"), NEED },
	{ "8 + CR, no LF yet: may still fit", S("12345678\r"), NEED },
	/* With no newline, max + 2 bytes can no longer make a line within
	 * max (even as max + "\r\n"): fail without buffering more. */
	{ "10, no LF", S("1234567890"), ERR(GNET_EFRAMESIZE) },
	{ "far over, no LF", S("1234567890123456789012345"), ERR(GNET_EFRAMESIZE) },
};

START_TEST(test_line_decode)
{
	gnet_codec_t *c = NULL;

	ck_assert_int_eq(gnet_codec_new_line(&c, 0), 0);
	run_dec_cases(c, line_table, sizeof line_table / sizeof line_table[0]);

	/* Frames follow each other in one buffer, each starting where the
	 * previous one's consumed bytes end. */
	static const char in[] = "one\ntwo\r\n\nthree";
	void *st = state_new(c);
	check_decode(c, st, in, strlen(in), FRAME(0, 3, 4), "one");
	check_decode(c, st, in + 4, strlen(in) - 4, FRAME(0, 3, 5), "two");
	check_decode(c, st, in + 9, strlen(in) - 9, FRAME(0, 0, 1), "empty");
	check_decode(c, st, in + 10, strlen(in) - 10, NEED, "partial");
	/* The line ends once its "\n" arrives; the "\r" before it went in
	 * an earlier call. */
	check_decode(c, st, "three\r", 6, NEED, "three + CR");
	check_decode(c, st, S("three\r\n"), FRAME(0, 5, 7), "three + CRLF");
	free(st);
	gnet_codec_free(c);
}
END_TEST

START_TEST(test_line_max_frame)
{
	gnet_codec_t *c = NULL;

	ck_assert_int_eq(gnet_codec_new_line(&c, 8), 0);
	ck_assert_uint_eq(gnet_codec_max_frame(c), 8);
	run_dec_cases(c, line_max_table,
	    sizeof line_max_table / sizeof line_max_table[0]);

	/* The same boundaries when the bytes arrive one at a time: the
	 * longest legal line never trips the limit early, a line one byte
	 * too long is refused by the time its newline is there. */
	void *st = state_new(c);
	static const char ok[] = "12345678\r\n", bad[] = "123456789\n";
	int r = 0;
	gnet_frame_t f;
	for (size_t k = 1; k < sizeof ok - 1; k++)
		check_decode(c, st, ok, k, NEED, "max line, growing");
	check_decode(c, st, S(ok), FRAME(0, 8, 10), "max line, complete");
	state_reset(c, st);
	for (size_t k = 1; k <= sizeof bad - 1 && r == 0; k++)
		r = gnet_codec_decode(c, st, bad, k, &f);
	ck_assert_msg(r == GNET_EFRAMESIZE, "max + 1 line, growing: %d (%s)", r,
	    rc_name(r));
	free(st);
	gnet_codec_free(c);
}
END_TEST

START_TEST(test_line_encode)
{
	gnet_codec_t *c = NULL;

	ck_assert_int_eq(gnet_codec_new_line(&c, 0), 0);
	check_encode(c, S("hi"), S("hi\n"), "hi");
	check_encode(c, S(""), S("\n"), "empty");
	check_encode(c, S("a\r"), S("a\r\n"), "payload is not escaped");
	gnet_codec_free(c);
}
END_TEST

/* ------------------------------------------------------------------------
 * Delimiter codec.
 */
static const struct dec_case pipe_table[] = {
	{ "single byte", S("a|bc|"), FRAME(0, 1, 2) },
	{ "empty frame", S("|x|"), FRAME(0, 0, 1) },
	{ "no CR handling", S("a\r|"), FRAME(0, 2, 3) },
	{ "no delimiter", S("abc"), NEED },
};

static const struct dec_case crlf2_table[] = {
	{ "HTTP head", S("GET / HTTP/1.1\r\nHost: x\r\n\r\nbody"), FRAME(0, 23, 27) },
	{ "empty frame", S("\r\n\r\n"), FRAME(0, 0, 4) },
	{ "partial delimiter", S("abc\r\n\r"), NEED },
	{ "CRLF alone is data", S("a\r\nb\r\n\r\n"), FRAME(0, 4, 8) },
	{ "longer CR/LF run", S("a\r\n\r\r\n\r\n"), FRAME(0, 4, 8) },
};

/* A delimiter that overlaps itself: after "aa" a third "a" must not lose
 * the match that starts one byte later. */
static const struct dec_case overlap_table[] = {
	{ "aab after aaa", S("xaaab"), FRAME(0, 2, 5) },
	{ "aab after aa", S("aaab"), FRAME(0, 1, 4) },
};

START_TEST(test_delim_decode)
{
	static const struct {
		const char *delim;
		size_t dlen;
		const struct dec_case *t;
		size_t k;
	} sets[] = {
		{ S("|"), pipe_table, sizeof pipe_table / sizeof pipe_table[0] },
		{ S("\r\n\r\n"), crlf2_table,
		    sizeof crlf2_table / sizeof crlf2_table[0] },
		{ S("aab"), overlap_table,
		    sizeof overlap_table / sizeof overlap_table[0] },
	};

	for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
		gnet_codec_t *c = NULL;
		ck_assert_int_eq(gnet_codec_new_delimiter(&c, sets[i].delim, sets[i].dlen,
		    0), 0);
		run_dec_cases(c, sets[i].t, sets[i].k);
		gnet_codec_free(c);
	}
}
END_TEST

/* The engine offers the same buffer again with more bytes appended; the
 * state remembers how far it searched, which must not lose a delimiter
 * that straddles two calls. Every split point of each input is tried. */
START_TEST(test_delim_split_across_calls)
{
	static const struct {
		const char *delim;
		size_t dlen;
		const char *in;
		size_t n;
		size_t len;    /* frame length; consumed is all of in */
	} t[] = {
		{ S("\r\n\r\n"), S("head\r\n\r\n"), 4 },
		{ S("\r\n\r\n"), S("a\r\n\r\r\n\r\n"), 4 },
		{ S("aab"), S("xaaaaab"), 4 },
		{ S("|"), S("abc|"), 3 },
		{ S("\n"), S("\n"), 0 },
	};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		gnet_codec_t *c = NULL;
		ck_assert_int_eq(gnet_codec_new_delimiter(&c, t[i].delim, t[i].dlen, 0), 0);
		void *st = state_new(c);
		for (size_t split = 1; split < t[i].n; split++) {
			state_reset(c, st);
			check_decode(c, st, t[i].in, split, NEED, t[i].in);
			check_decode(c, st, t[i].in, t[i].n, FRAME(0, t[i].len, t[i].n),
			    t[i].in);
		}
		/* And the whole growing prefix, one byte at a time. */
		state_reset(c, st);
		for (size_t k = 1; k < t[i].n; k++)
			check_decode(c, st, t[i].in, k, NEED, t[i].in);
		check_decode(c, st, t[i].in, t[i].n, FRAME(0, t[i].len, t[i].n),
		    t[i].in);
		free(st);
		gnet_codec_free(c);
	}
}
END_TEST

/* max_frame 8. Without a delimiter, max + dlen bytes can no longer hold a
 * frame within max; one byte less could still end in a delimiter. */
static const struct dec_case crlf2_max_table[] = {
	{ "8 + delim", S("12345678\r\n\r\n"), FRAME(0, 8, 12) },
	{ "9 + delim", S("123456789\r\n\r\n"), ERR(GNET_EFRAMESIZE) },
	{ "8 + 3 delim bytes", S("12345678\r\n\r"), NEED },
	{ "12, no delim", S("12345678\r\n\rx"), ERR(GNET_EFRAMESIZE) },
	{ "far over, no delim", S("12345678901234567890"), ERR(GNET_EFRAMESIZE) },
};

static const struct dec_case pipe_max_table[] = {
	{ "8 + delim", S("12345678|"), FRAME(0, 8, 9) },
	{ "9 + delim", S("123456789|"), ERR(GNET_EFRAMESIZE) },
	{ "8, no delim", S("12345678"), NEED },
	{ "9, no delim", S("123456789"), ERR(GNET_EFRAMESIZE) },
};

START_TEST(test_delim_max_frame)
{
	gnet_codec_t *c = NULL;

	ck_assert_int_eq(gnet_codec_new_delimiter(&c, S("\r\n\r\n"), 8), 0);
	ck_assert_uint_eq(gnet_codec_max_frame(c), 8);
	run_dec_cases(c, crlf2_max_table,
	    sizeof crlf2_max_table / sizeof crlf2_max_table[0]);
	/* The longest legal frame, arriving one byte at a time. */
	void *st = state_new(c);
	static const char ok[] = "12345678\r\n\r\n";
	for (size_t k = 1; k < sizeof ok - 1; k++)
		check_decode(c, st, ok, k, NEED, "max frame, growing");
	check_decode(c, st, S(ok), FRAME(0, 8, 12), "max frame, complete");
	free(st);
	gnet_codec_free(c);

	ck_assert_int_eq(gnet_codec_new_delimiter(&c, S("|"), 8), 0);
	run_dec_cases(c, pipe_max_table,
	    sizeof pipe_max_table / sizeof pipe_max_table[0]);
	gnet_codec_free(c);
}
END_TEST

START_TEST(test_delim_encode)
{
	gnet_codec_t *c = NULL;

	ck_assert_int_eq(gnet_codec_new_delimiter(&c, S("\r\n\r\n"), 0), 0);
	check_encode(c, S("abc"), S("abc\r\n\r\n"), "crlf2");
	check_encode(c, S(""), S("\r\n\r\n"), "crlf2 empty");
	gnet_codec_free(c);
	ck_assert_int_eq(gnet_codec_new_delimiter(&c, S("|"), 0), 0);
	check_encode(c, S("x"), S("x|"), "pipe");
	gnet_codec_free(c);
	ck_assert_int_eq(gnet_codec_new_delimiter(&c, S("\x00\xff"), 0), 0);
	check_encode(c, S("ab"), S("ab\x00\xff"), "binary");
	gnet_codec_free(c);
}
END_TEST

/* ------------------------------------------------------------------------
 * Fixed-length codec.
 */
static const struct dec_case fixed4_table[] = {
	{ "exact", S("abcd"), FRAME(0, 4, 4) },
	{ "more than one", S("abcdefghij"), FRAME(0, 4, 4) },
	{ "3 of 4", S("abc"), NEED },
	{ "1 of 4", S("a"), NEED },
};

START_TEST(test_fixed)
{
	gnet_codec_t *c = NULL;

	ck_assert_int_eq(gnet_codec_new_fixed(&c, 4), 0);
	run_dec_cases(c, fixed4_table,
	    sizeof fixed4_table / sizeof fixed4_table[0]);

	void *st = state_new(c);
	static const char in[] = "abcdefghij";
	check_decode(c, st, in + 4, 6, FRAME(0, 4, 4), "second frame");
	check_decode(c, st, in + 8, 2, NEED, "tail");

	/* Encoding passes whole frames through, several at once. */
	check_encode(c, S("abcd"), S("abcd"), "one frame");
	check_encode(c, S("abcdefgh"), S("abcdefgh"), "two frames");
	check_encode(c, S(""), S(""), "no frame");
	ck_assert_int_eq(gnet_codec_encode(c, S("abcdef"), NULL, 0), GNET_EINVAL);
	ck_assert_int_eq(gnet_codec_encode(c, S("abc"), NULL, 0), GNET_EINVAL);
	free(st);
	gnet_codec_free(c);

	/* Length 1: every byte is a frame. */
	ck_assert_int_eq(gnet_codec_new_fixed(&c, 1), 0);
	st = state_new(c);
	check_decode(c, st, S("xy"), FRAME(0, 1, 1), "1-byte frames");
	check_encode(c, S("xyz"), S("xyz"), "any length is whole frames");
	free(st);
	gnet_codec_free(c);
}
END_TEST

/* ------------------------------------------------------------------------
 * Length-field codec: netty's LengthFieldBasedFrameDecoder examples.
 */
struct lf_case {
	const char *what;
	gnet_length_field_config_t cfg;
	const char *in;
	size_t n;
	int want;
	size_t off, len, consumed;
};

static const struct lf_case netty_table[] = {
	{ "1: 2-byte length, no strip", { .field_length = 2 },
	    S("\x00\x0C" HW), FRAME(0, 14, 14) },
	{ "2: 2-byte length, strip it", { .field_length = 2, .strip = 2 },
	    S("\x00\x0C" HW), FRAME(2, 12, 14) },
	{ "3: length includes the field",
	    { .field_length = 2, .length_adjustment = -2 },
	    S("\x00\x0E" HW), FRAME(0, 14, 14) },
	{ "4: header before a 3-byte length",
	    { .field_offset = 2, .field_length = 3 },
	    S("\xCA\xFE" "\x00\x00\x0C" HW), FRAME(0, 17, 17) },
	{ "5: 3-byte length before a header",
	    { .field_length = 3, .length_adjustment = 2 },
	    S("\x00\x00\x0C" "\xCA\xFE" HW), FRAME(0, 17, 17) },
	{ "6: 1-byte length at offset 1, strip 3",
	    { .field_offset = 1, .field_length = 1, .length_adjustment = 1,
	    .strip = 3 },
	    S("\xCA" "\x0C" "\xFE" HW), FRAME(3, 12, 15) },
	{ "6 (netty): 2-byte length at offset 1, strip 3",
	    { .field_offset = 1, .field_length = 2, .length_adjustment = 1,
	    .strip = 3 },
	    S("\xCA" "\x00\x0C" "\xFE" HW), FRAME(3, 13, 16) },
	{ "7: length counts the whole header, strip 3",
	    { .field_offset = 1, .field_length = 2, .length_adjustment = -3,
	    .strip = 3 },
	    S("\xCA" "\x00\x10" "\xFE" HW), FRAME(3, 13, 16) },
};

START_TEST(test_lf_netty_examples)
{
	for (size_t i = 0; i < sizeof netty_table / sizeof netty_table[0]; i++) {
		const struct lf_case *tc = &netty_table[i];
		gnet_codec_t *c = NULL;
		char two[64];

		gnet_length_field_config_t cfg = tc->cfg;
		cfg.size = sizeof cfg;
		ck_assert_msg(gnet_codec_new_length_field(&c, &cfg) == 0, "%s: config",
		    tc->what);
		check_decode(c, NULL, tc->in, tc->n, tc->want, tc->off, tc->len,
		    tc->consumed, tc->what);
		/* Every shorter prefix is an incomplete frame... */
		for (size_t k = 1; k < tc->n; k++)
			check_decode(c, NULL, tc->in, k, NEED, tc->what);
		/* ...and bytes after the frame are the next frame's. */
		ck_assert(2 * tc->n <= sizeof two);
		memcpy(two, tc->in, tc->n);
		memcpy(two + tc->n, tc->in, tc->n);
		check_decode(c, NULL, two, 2 * tc->n,
		    FRAME(tc->off, tc->len, tc->consumed), tc->what);
		check_decode(c, NULL, two + tc->n, tc->n,
		    FRAME(tc->off, tc->len, tc->consumed), tc->what);
		gnet_codec_free(c);
	}
}
END_TEST

/* ------------------------------------------------------------------------
 * Length-field codec: widths and byte orders.
 */
/* The field value 0x0102030405060708 cut to each width: every byte
 * differs, so the expected bytes pin down both width and order. */
#define DISTINCT_FIELD 0x0102030405060708ULL

static const struct width_case {
	int width;
	int le;
	unsigned char hdr[8];
} width_table[] = {
	{ 1, 0, { 0x08 } },
	{ 1, 1, { 0x08 } },
	{ 2, 0, { 0x07, 0x08 } },
	{ 2, 1, { 0x08, 0x07 } },
	{ 3, 0, { 0x06, 0x07, 0x08 } },
	{ 3, 1, { 0x08, 0x07, 0x06 } },
	{ 4, 0, { 0x05, 0x06, 0x07, 0x08 } },
	{ 4, 1, { 0x08, 0x07, 0x06, 0x05 } },
	{ 8, 0, { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08 } },
	{ 8, 1, { 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01 } },
};

#define WIDTH_CASES (sizeof width_table / sizeof width_table[0])

static uint64_t
width_max(int width)
{
	return width >= 8 ? UINT64_MAX : (UINT64_C(1) << (8 * width)) - 1;
}

/* Exact header bytes: a 1-byte payload whose encode_adjustment makes the
 * field hold DISTINCT_FIELD; the mirror length_adjustment decodes it. */
START_TEST(test_lf_field_bytes)
{
	for (size_t i = 0; i < WIDTH_CASES; i++) {
		const struct width_case *wc = &width_table[i];
		size_t w = (size_t)wc->width;
		uint64_t v = DISTINCT_FIELD & width_max(wc->width);
		gnet_length_field_config_t cfg = { .size = sizeof(gnet_length_field_config_t),
			.field_length = wc->width,
			.little_endian = wc->le,
			.encode_adjustment = (long)(v - 1),
			.length_adjustment = -(long)(v - 1),
			.strip = w,
		};
		gnet_codec_t *c = NULL;
		unsigned char want[9];
		char what[64];

		snprintf(what, sizeof what, "width %d %s", wc->width,
		    wc->le ? "LE" : "BE");
		ck_assert_msg(gnet_codec_new_length_field(&c, &cfg) == 0, "%s", what);
		memcpy(want, wc->hdr, w);
		want[w] = 'Z';
		check_encode(c, S("Z"), want, w + 1, what);
		check_decode(c, NULL, want, w + 1, FRAME(w, 1, w + 1), what);
		gnet_codec_free(c);
	}
}
END_TEST

/* Encode n bytes of pay, check every byte, decode it back. */
static void
check_round_trip(const gnet_codec_t *c, const struct width_case *wc,
    const unsigned char *pay, size_t n, unsigned char *enc)
{
	size_t w = (size_t)wc->width;
	unsigned char hdr[8];
	char what[80];
	long r;

	snprintf(what, sizeof what, "width %zu %s, %zu bytes", w,
	    wc->le ? "LE" : "BE", n);
	r = gnet_codec_encode(c, pay, n, NULL, 0);
	ck_assert_msg(r == (long)(w + n), "%s: size only: %ld", what, r);
	r = gnet_codec_encode(c, pay, n, enc, w + n);
	ck_assert_msg(r == (long)(w + n), "%s: encode: %ld", what, r);
	put_field(hdr, wc->width, wc->le, n);
	ck_assert_msg(memcmp(enc, hdr, w) == 0, "%s: header bytes", what);
	ck_assert_msg(memcmp(enc + w, pay, n) == 0, "%s: payload", what);
	check_decode(c, NULL, enc, w + n, FRAME(w, n, w + n), what);
	if (n != 0) {
		check_decode(c, NULL, enc, w, NEED, what);
		check_decode(c, NULL, enc, w + n - 1, NEED, what);
	}
}

/* Round trips for sizes up to each width's largest value; 16 MiB - 1 is
 * the 3-byte maximum, also sent through the wider fields. */
START_TEST(test_lf_round_trip_widths)
{
	static const size_t sizes[] = { 0, 1, 2, 255, 256, 65535, 65536,
	    BIG_PAYLOAD - 1 };
	unsigned char *pay = malloc(BIG_PAYLOAD);
	unsigned char *enc = malloc(BIG_PAYLOAD + 8);

	ck_assert(pay != NULL && enc != NULL);
	tn_fill_random(pay, BIG_PAYLOAD, 3);
	for (size_t i = 0; i < WIDTH_CASES; i++) {
		const struct width_case *wc = &width_table[i];
		gnet_length_field_config_t cfg = { .size = sizeof(gnet_length_field_config_t),
			.field_length = wc->width,
			.little_endian = wc->le,
			.strip = (size_t)wc->width,
			.max_frame = BIG_MAX_FRAME,
		};
		gnet_codec_t *c = NULL;

		ck_assert_int_eq(gnet_codec_new_length_field(&c, &cfg), 0);
		for (size_t j = 0; j < sizeof sizes / sizeof sizes[0]; j++)
			if (sizes[j] <= width_max(wc->width))
				check_round_trip(c, wc, pay, sizes[j], enc);
		gnet_codec_free(c);
	}
	free(pay);
	free(enc);
}
END_TEST

/* One past each width's largest value is refused, sized only (out NULL,
 * cap 0): nothing is written, the 16 MiB payload is only a length. */
START_TEST(test_lf_encode_too_large)
{
	static const struct {
		int width;
		size_t n;
	} t[] = { { 1, 256 }, { 2, 65536 }, { 3, BIG_PAYLOAD } };
	unsigned char *pay = calloc(1, BIG_PAYLOAD);

	ck_assert_ptr_nonnull(pay);
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		for (int le = 0; le <= 1; le++) {
			gnet_length_field_config_t cfg = { .size = sizeof(gnet_length_field_config_t),
				.field_length = t[i].width,
				.little_endian = le,
			};
			gnet_codec_t *c = NULL;
			long r;

			ck_assert_int_eq(gnet_codec_new_length_field(&c, &cfg), 0);
			r = gnet_codec_encode(c, pay, t[i].n, NULL, 0);
			ck_assert_msg(r == GNET_EFRAMESIZE,
			    "width %d, %zu bytes: %ld (%s)", t[i].width, t[i].n, r,
			    err_name(r));
			r = gnet_codec_encode(c, pay, t[i].n - 1, NULL, 0);
			ck_assert_msg(r == (long)(t[i].n - 1) + t[i].width,
			    "width %d, %zu bytes: %ld (%s)", t[i].width, t[i].n - 1, r,
			    err_name(r));
			gnet_codec_free(c);
		}
	}
	free(pay);
}
END_TEST

/* What the encoder writes for a 12-byte payload: payload length +
 * encode_adjustment (+ the field's own width when encode_includes_header),
 * or the error when that does not fit the field or is negative. Widths 4
 * and 8 reach their limits through the adjustment, not a 4 GiB payload. */
static const struct enc_adj_case {
	int width;
	int incl;
	long adj;
	long want;   /* the field value, or a negative error */
} enc_adj_table[] = {
	{ 2, 0, 0, 12 },
	{ 2, 1, 0, 14 },                     /* netty LengthFieldPrepender(2, true) */
	{ 2, 0, 5, 17 },
	{ 2, 1, -2, 12 },
	{ 2, 0, -12, 0 },
	{ 2, 0, -13, GNET_EINVAL },          /* negative length */
	{ 2, 1, -15, GNET_EINVAL },
	{ 8, 0, LONG_MIN, GNET_EINVAL },
	{ 1, 0, 243, 255 },
	{ 1, 0, 244, GNET_EFRAMESIZE },      /* 256 in one byte */
	{ 1, 1, 242, 255 },
	{ 1, 1, 243, GNET_EFRAMESIZE },
	{ 3, 0, 0xFFFFFF - 12, 0xFFFFFF },
	{ 3, 0, 0xFFFFFF - 11, GNET_EFRAMESIZE },
	{ 4, 0, 0xFFFFFFFFL - 12, 0xFFFFFFFFL },
	{ 4, 0, 0xFFFFFFFFL - 11, GNET_EFRAMESIZE },
	{ 4, 1, 0xFFFFFFFFL - 16, 0xFFFFFFFFL },
	{ 4, 1, 0xFFFFFFFFL - 15, GNET_EFRAMESIZE },
	{ 8, 0, LONG_MAX - 12, LONG_MAX },
	{ 8, 0, LONG_MAX - 11, GNET_EFRAMESIZE }, /* int64 overflow */
	{ 8, 1, LONG_MAX - 12, GNET_EFRAMESIZE }, /* overflows adding the field */
};

START_TEST(test_lf_encode_adjustments)
{
	for (size_t i = 0; i < sizeof enc_adj_table / sizeof enc_adj_table[0]; i++) {
		const struct enc_adj_case *tc = &enc_adj_table[i];
		gnet_length_field_config_t cfg = { .size = sizeof(gnet_length_field_config_t),
			.field_length = tc->width,
			.encode_includes_header = tc->incl,
			.encode_adjustment = tc->adj,
		};
		gnet_codec_t *c = NULL;
		unsigned char want[8 + 12];
		char what[96];
		long r;

		snprintf(what, sizeof what, "width %d, includes header %d, "
		    "adjustment %ld", tc->width, tc->incl, tc->adj);
		ck_assert_int_eq(gnet_codec_new_length_field(&c, &cfg), 0);
		r = gnet_codec_encode(c, S(HW), NULL, 0);
		if (tc->want < 0) {
			ck_assert_msg(r == tc->want, "%s: %ld (%s), want %ld (%s)",
			    what, r, err_name(r), tc->want, err_name(tc->want));
		} else {
			put_field(want, tc->width, 0, (uint64_t)tc->want);
			memcpy(want + tc->width, HW, 12);
			check_encode(c, S(HW), want, (size_t)tc->width + 12, what);
		}
		gnet_codec_free(c);
	}
}
END_TEST

/* ------------------------------------------------------------------------
 * Length-field codec: malformed and oversized input.
 */
static const struct lf_case lf_bad_table[] = {
	/* Fail fast: the declared length is judged as soon as the header
	 * is there, before any of the body is buffered. */
	{ "1 GiB declared, header only", { .field_length = 4 },
	    S("\x40\x00\x00\x00"), ERR(GNET_EFRAMESIZE) },
	{ "1 GiB declared, LE header only",
	    { .field_length = 4, .little_endian = 1 },
	    S("\x00\x00\x00\x40"), ERR(GNET_EFRAMESIZE) },
	{ "header incomplete", { .field_length = 4 }, S("\x40\x00\x00"), NEED },
	{ "1 GiB after an offset", { .field_offset = 2, .field_length = 4 },
	    S("\xCA\xFE\x40\x00\x00\x00"), ERR(GNET_EFRAMESIZE) },
	{ "offset + partial field", { .field_offset = 2, .field_length = 4 },
	    S("\xCA\xFE\x40\x00\x00"), NEED },
	{ "max 100: 2 + 98 fits, waits",
	    { .field_length = 2, .strip = 2, .max_frame = 100 },
	    S("\x00\x62"), NEED },
	{ "max 100: 2 + 99 is over",
	    { .field_length = 2, .strip = 2, .max_frame = 100 },
	    S("\x00\x63"), ERR(GNET_EFRAMESIZE) },
	/* Adjusted lengths below zero end the frame inside its header. */
	{ "adjusted length -1", { .field_length = 2, .length_adjustment = -2,
	    .strip = 2 }, S("\x00\x01"), ERR(GNET_EBADFRAME) },
	{ "adjusted length -2", { .field_length = 2, .length_adjustment = -2,
	    .strip = 2 }, S("\x00\x00"), ERR(GNET_EBADFRAME) },
	{ "adjusted length -1, nothing stripped", { .field_length = 2,
	    .length_adjustment = -2 }, S("\x00\x01"), ERR(GNET_EBADFRAME) },
	{ "adjusted length 0: empty frame", { .field_length = 2,
	    .length_adjustment = -2, .strip = 2 }, S("\x00\x02"), FRAME(2, 0, 2) },
	/* 8-byte values that do not fit int64, or overflow once adjusted. */
	{ "8-byte 2^63", { .field_length = 8 },
	    S("\x80\x00\x00\x00\x00\x00\x00\x00"), ERR(GNET_EBADFRAME) },
	{ "8-byte 2^64 - 1", { .field_length = 8 },
	    S("\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF"), ERR(GNET_EBADFRAME) },
	{ "8-byte 2^63, LE", { .field_length = 8, .little_endian = 1 },
	    S("\x00\x00\x00\x00\x00\x00\x00\x80"), ERR(GNET_EBADFRAME) },
	/* 2^64 - 256 read as int64 is -256: the adjustment must not turn it
	 * into a plausible 10-byte body. */
	{ "8-byte 2^64 - 256, adjustment 266", { .field_length = 8,
	    .length_adjustment = 266 },
	    S("\xFF\xFF\xFF\xFF\xFF\xFF\xFF\x00" "0123456789"),
	    ERR(GNET_EBADFRAME) },
	{ "8-byte INT64_MAX - 8: fits, over max", { .field_length = 8 },
	    S("\x7F\xFF\xFF\xFF\xFF\xFF\xFF\xF7"), ERR(GNET_EFRAMESIZE) },
	{ "8-byte INT64_MAX - 7: + header overflows", { .field_length = 8 },
	    S("\x7F\xFF\xFF\xFF\xFF\xFF\xFF\xF8"), ERR(GNET_EBADFRAME) },
	{ "length + adjustment overflows",
	    { .field_length = 8, .length_adjustment = 0x1000 },
	    S("\x7F\xFF\xFF\xFF\xFF\xFF\xFF\x00"), ERR(GNET_EBADFRAME) },
	{ "adjustment pushes a small length over max",
	    { .field_length = 1, .length_adjustment = 100, .max_frame = 200 },
	    S("\xF0"), ERR(GNET_EFRAMESIZE) },
	/* Strip at its largest legal value (offset + field + adjustment)
	 * against the smallest frame: the frame is exactly the stripped
	 * header, so the payload is empty. */
	{ "strip == whole frame", { .field_offset = 1, .field_length = 1,
	    .length_adjustment = 1, .strip = 3 }, S("\xCA\x00\xFE"), FRAME(3, 0, 3) },
};

START_TEST(test_lf_bad_input)
{
	for (size_t i = 0; i < sizeof lf_bad_table / sizeof lf_bad_table[0]; i++) {
		const struct lf_case *tc = &lf_bad_table[i];
		gnet_codec_t *c = NULL;

		gnet_length_field_config_t cfg = tc->cfg;
		cfg.size = sizeof cfg;
		ck_assert_msg(gnet_codec_new_length_field(&c, &cfg) == 0, "%s: config",
		    tc->what);
		check_decode(c, NULL, tc->in, tc->n, tc->want, tc->off, tc->len,
		    tc->consumed, tc->what);
		gnet_codec_free(c);
	}

	/* The max-100 frame itself: exactly max is a frame. */
	gnet_length_field_config_t cfg = { .size = sizeof(gnet_length_field_config_t), .field_length = 2, .strip = 2,
	    .max_frame = 100 };
	unsigned char in[100];
	gnet_codec_t *c = NULL;
	memset(in, 'm', sizeof in);
	in[0] = 0;
	in[1] = 98;
	ck_assert_int_eq(gnet_codec_new_length_field(&c, &cfg), 0);
	check_decode(c, NULL, in, 99, NEED, "max 100, 99 bytes");
	check_decode(c, NULL, in, 100, FRAME(2, 98, 100), "max 100, exact");
	gnet_codec_free(c);
}
END_TEST

/* ------------------------------------------------------------------------
 * Streams: every codec, many frames, every way of arriving.
 */
/* Constructors for the tables below (default max frame). */
static int
mk_line(gnet_codec_t **o)
{
	return gnet_codec_new_line(o, 0);
}

static int
mk_pipe(gnet_codec_t **o)
{
	return gnet_codec_new_delimiter(o, S("|"), 0);
}

static int
mk_crlf2(gnet_codec_t **o)
{
	return gnet_codec_new_delimiter(o, S("\r\n\r\n"), 0);
}

static int
mk_bin3(gnet_codec_t **o)
{
	return gnet_codec_new_delimiter(o, S("\x00\xff\x00"), 0);
}

static int
mk_fixed(gnet_codec_t **o)
{
	return gnet_codec_new_fixed(o, STREAM_FIXED_LEN);
}

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

static const struct stream_case stream_table[] = {
	{ "line", mk_line, .max_payload = 500, FORBID("\n\r") },
	{ "delim |", mk_pipe, .max_payload = 500, FORBID("|") },
	{ "delim CRLFCRLF", mk_crlf2, .max_payload = 500, FORBID("\r\n") },
	{ "delim 00 FF 00", mk_bin3, .max_payload = 500, FORBID("\x00\xff") },
	{ "fixed", mk_fixed, .fixed = STREAM_FIXED_LEN },
	{ "lf 2 BE strip", .lf = LF(.field_length = 2, .strip = 2),
	    .max_payload = 1000 },
	{ "lf 4 LE strip", .lf = LF(.field_length = 4, .little_endian = 1,
	    .strip = 4), .max_payload = 1000 },
	{ "lf 3 BE kept", .lf = LF(.field_length = 3), .max_payload = 1000,
	    .kept = 3 },
	{ "lf 8 BE includes header", .lf = LF(.field_length = 8,
	    .encode_includes_header = 1, .length_adjustment = -8, .strip = 8),
	    .max_payload = 1000 },
	/* 252 + encode_adjustment 3 is the 1-byte field's 255. */
	{ "lf 1 LE adjusted", .lf = LF(.field_length = 1, .little_endian = 1,
	    .encode_adjustment = 3, .length_adjustment = -3, .strip = 1),
	    .max_payload = 252 },
	{ "custom TLV", make_tlv, .max_payload = 1000 },
};

#define STREAM_CASES ((int)(sizeof stream_table / sizeof stream_table[0]))

struct stream {
	const struct stream_case *sc;
	gnet_codec_t *c;
	unsigned char *pay, *enc;
	size_t pay_off[STREAM_FRAMES], pay_len[STREAM_FRAMES];
	size_t enc_off[STREAM_FRAMES + 1], enc_len[STREAM_FRAMES];
	size_t total;
};

static void
stream_build(struct stream *s, const struct stream_case *sc, uint64_t seed)
{
	size_t pay_total = 0;
	uint64_t rng = seed;

	memset(s, 0, sizeof *s);
	s->sc = sc;
	if (sc->make != NULL)
		ck_assert_int_eq(sc->make(&s->c), 0);
	else
		ck_assert_int_eq(gnet_codec_new_length_field(&s->c, sc->lf), 0);

	/* Sizes: uniform, with the extremes (0 and the maximum) boosted. */
	for (size_t i = 0; i < STREAM_FRAMES; i++) {
		uint64_t r = rng_next(&rng);
		size_t n;
		if (sc->fixed != 0)
			n = sc->fixed;
		else if (r % 8 == 0)
			n = 0;
		else if (r % 8 == 1)
			n = sc->max_payload;
		else
			n = (size_t)(r >> 8) % (sc->max_payload + 1);
		s->pay_off[i] = pay_total;
		s->pay_len[i] = n;
		pay_total += n;
	}
	s->pay = malloc(pay_total + 1);
	ck_assert_ptr_nonnull(s->pay);
	tn_fill_random(s->pay, pay_total, seed);
	for (size_t i = 0; i < pay_total; i++)
		if (sc->forbid_len != 0 && memchr(sc->forbid, s->pay[i],
		    sc->forbid_len) != NULL)
			s->pay[i] = 'x';

	/* Sizing pass (out NULL), then the real encode into one buffer. */
	for (size_t i = 0; i < STREAM_FRAMES; i++) {
		long r = gnet_codec_encode(s->c, s->pay + s->pay_off[i], s->pay_len[i],
		    NULL, 0);
		ck_assert_msg(r > 0, "%s: sizing frame %zu: %ld", sc->name, i, r);
		s->enc_off[i] = s->total;
		s->enc_len[i] = (size_t)r;
		s->total += (size_t)r;
	}
	s->enc_off[STREAM_FRAMES] = s->total;
	s->enc = malloc(s->total);
	ck_assert_ptr_nonnull(s->enc);
	for (size_t i = 0; i < STREAM_FRAMES; i++) {
		long r = gnet_codec_encode(s->c, s->pay + s->pay_off[i], s->pay_len[i],
		    s->enc + s->enc_off[i], s->total - s->enc_off[i]);
		ck_assert_msg(r == (long)s->enc_len[i], "%s: encoding frame %zu",
		    sc->name, i);
	}
}

static void
stream_free(struct stream *s)
{
	gnet_codec_free(s->c);
	free(s->pay);
	free(s->enc);
}

/* Is frame i of the stream what the decoder gave for n bytes offered? */
static int
frame_matches(struct errs *e, const struct stream *s, size_t i,
    const gnet_frame_t *f, size_t n, const char *mode)
{
	size_t kept = s->sc->kept;
	const unsigned char *d = f->data;

	if (f->consumed == 0 || f->consumed > n)
		NOTE(e, "%s: frame %zu consumed %zu of %zu offered", mode, i,
		    f->consumed, n);
	else if (f->consumed != s->enc_len[i])
		NOTE(e, "%s: frame %zu consumed %zu, encoded %zu", mode, i,
		    f->consumed, s->enc_len[i]);
	else if (f->len != kept + s->pay_len[i])
		NOTE(e, "%s: frame %zu len %zu, want %zu", mode, i, f->len,
		    kept + s->pay_len[i]);
	else if (memcmp(d + kept, s->pay + s->pay_off[i], s->pay_len[i]) != 0 ||
	    memcmp(d, s->enc + s->enc_off[i], kept) != 0)
		NOTE(e, "%s: frame %zu has wrong bytes", mode, i);
	else
		return 1;
	return 0;
}

/* Take frames from enc[*off..have) while they are complete, checking
 * each; stops at "need more", at an error or after frame upto - 1. A
 * frame left waiting although all of it is there is an error as much as
 * a wrong one. */
static void
take_frames(struct errs *e, const struct stream *s, void *st, size_t *off,
    size_t *i, size_t have, size_t upto, const char *mode)
{
	while (*i < upto) {
		gnet_frame_t f = { NULL, 0, 0 };
		size_t n = have - *off;
		int r = gnet_codec_decode(s->c, st, s->enc + *off, n, &f);

		if (r == 0 && s->enc_len[*i] <= n)
			NOTE(e, "%s: frame %zu is all there (%zu bytes) but the "
			    "decoder wants more", mode, *i, n);
		else if (r < 0)
			NOTE(e, "%s: frame %zu: %d (%s)", mode, *i, r, rc_name(r));
		if (r != 1 || !frame_matches(e, s, *i, &f, n, mode))
			return;
		*off += f.consumed;
		(*i)++;
	}
}

/* Decode as the engine does when the stream's bytes have arrived up to
 * each cumulative size in arrive[]: after each arrival, take the frames
 * that are complete, offering the same buffer grown in place. Checks the
 * first `upto` frames. */
static void
stream_drive(struct errs *e, const struct stream *s, const size_t *arrive,
    size_t narrive, size_t upto, const char *mode)
{
	void *st = state_new(s->c);
	size_t off = 0, i = 0;

	for (size_t a = 0; a < narrive && i < upto && e->n == 0; a++)
		take_frames(e, s, st, &off, &i, arrive[a], upto, mode);
	if (e->n == 0 && i != upto)
		NOTE(e, "%s: %zu of %zu frames decoded", mode, i, upto);
	free(st);
}

START_TEST(test_stream)
{
	const struct stream_case *sc = &stream_table[_i];
	struct stream s;
	struct errs e = { 0 };
	size_t span, *arrive;
	char mode[64];
	uint64_t rng = 0x9E3779B97F4A7C15ULL + (uint64_t)_i;

	stream_build(&s, sc, 1000 + (uint64_t)_i);
	span = s.enc_off[STREAM_BYTE_FRAMES];
	arrive = malloc((s.total + 1) * sizeof *arrive);
	ck_assert_ptr_nonnull(arrive);

	/* (a) All at once. */
	arrive[0] = s.total;
	stream_drive(&e, &s, arrive, 1, STREAM_FRAMES, "contiguous");

	/* (b) The first frames one byte at a time, then the rest at once. */
	for (size_t k = 0; k < span; k++)
		arrive[k] = k + 1;
	arrive[span] = s.total;
	stream_drive(&e, &s, arrive, span + 1, STREAM_FRAMES, "byte by byte");

	/* (c) Two reads, split at every byte boundary of the first frames;
	 * checked up to the frame after the split. */
	for (size_t split = 1; split <= span && e.n == 0; split++) {
		size_t f = 0;
		while (s.enc_off[f + 1] < split)
			f++;
		arrive[0] = split;
		arrive[1] = s.total;
		snprintf(mode, sizeof mode, "split at %zu", split);
		stream_drive(&e, &s, arrive, 2, f + 2, mode);
	}

	/* (d) Random reads of 1 .. 2 * (average frame) bytes. */
	size_t k = 0, have = 0, chunk = 2 * s.total / STREAM_FRAMES + 1;
	while (have < s.total) {
		have += 1 + (size_t)(rng_next(&rng) % chunk);
		if (have > s.total)
			have = s.total;
		arrive[k++] = have;
	}
	stream_drive(&e, &s, arrive, k, STREAM_FRAMES, "random reads");

	free(arrive);
	stream_free(&s);
	ck_assert_msg(e.n == 0, "%s: %d problem(s), first: %s", sc->name, e.n,
	    e.first);
}
END_TEST

/* ------------------------------------------------------------------------
 * Pipelined decoding stays O(bytes).
 */
static const struct {
	const char *name;
	int (*make)(gnet_codec_t **out);
	const char *delim;
	size_t dlen;
} pipeline_table[] = {
	{ "line", mk_line, S("\n") },
	{ "delim CRLFCRLF", mk_crlf2, S("\r\n\r\n") },
};

/* One 1 MiB frame whose bytes arrive one at a time: a million decode
 * calls on the same growing buffer and the same state. With the state
 * each call scans only the new byte (well under a second); rescanning
 * from the start is ~5 * 10^11 byte reads, left to the tcase timeout.
 * That guard is loose: memchr is fast enough that a rescanning decoder
 * took ~95 s for both rows in a release build, so test_scan_resumes
 * checks the resume point itself, without timing. */
START_TEST(test_pipelined_long_frame)
{
	size_t n = PIPELINE_BYTES, total = n + pipeline_table[_i].dlen;
	unsigned char *buf = malloc(total);
	gnet_codec_t *c = NULL;
	gnet_frame_t f = { NULL, 0, 0 };
	size_t early = 0; /* the k at which decode answered too soon */
	int r = 0;

	ck_assert_ptr_nonnull(buf);
	tn_fill_random(buf, n, 42);
	for (size_t i = 0; i < n; i++)
		if (buf[i] == '\n' || buf[i] == '\r')
			buf[i] = 'x';
	memcpy(buf + n, pipeline_table[_i].delim, pipeline_table[_i].dlen);
	ck_assert_int_eq(pipeline_table[_i].make(&c), 0);
	void *st = state_new(c);

	for (size_t k = 1; k <= total; k++) {
		r = gnet_codec_decode(c, st, buf, k, &f);
		if (k < total && r != 0) {
			early = k;
			break;
		}
	}
	ck_assert_msg(early == 0, "%s: decode of %zu bytes returned %d (%s) "
	    "before the end", pipeline_table[_i].name, early, r, rc_name(r));
	ck_assert_int_eq(r, 1);
	ck_assert_uint_eq(f.len, n);
	ck_assert_uint_eq(f.consumed, total);
	ck_assert_ptr_eq(f.data, buf);
	free(st);
	free(buf);
	gnet_codec_free(c);
}
END_TEST

/* White box for the O(bytes) guarantee, timing-free: once scanned, a byte
 * is not looked at again. A real stream only appends, so planting a
 * delimiter in already-scanned bytes is something only a rescanning
 * decoder would notice. The last dlen - 1 bytes must still be looked at,
 * or a delimiter straddling two reads would be lost. */
START_TEST(test_scan_resumes)
{
	gnet_codec_t *c = NULL;
	unsigned char buf[16];
	void *st;

	ck_assert_int_eq(gnet_codec_new_line(&c, 0), 0);
	st = state_new(c);
	memcpy(buf, "abcdefgh", 8);
	check_decode(c, st, buf, 6, NEED, "line: first 6");
	buf[2] = '\n';                 /* behind the resume point */
	check_decode(c, st, buf, 7, NEED, "line: scanned bytes not rescanned");
	buf[7] = '\n';
	check_decode(c, st, buf, 8, FRAME(0, 7, 8), "line: new newline found");
	free(st);
	gnet_codec_free(c);

	ck_assert_int_eq(gnet_codec_new_delimiter(&c, S("\r\n\r\n"), 0), 0);
	st = state_new(c);
	memcpy(buf, "abcdefgh\r\n\r", 11);
	check_decode(c, st, buf, 11, NEED, "crlf2: 11");
	memcpy(buf, "\r\n\r\n", 4);    /* long behind the resume point */
	buf[11] = 'x';
	check_decode(c, st, buf, 12, NEED, "crlf2: scanned bytes skipped");
	state_reset(c, st);
	memcpy(buf, "abcdefgh\r\n\r\n", 12);
	check_decode(c, st, buf, 11, NEED, "crlf2: 3 of 4 delimiter bytes");
	check_decode(c, st, buf, 12, FRAME(0, 8, 12), "crlf2: straddling");
	free(st);
	gnet_codec_free(c);
}
END_TEST

/* ------------------------------------------------------------------------
 * gnet_codec_encode's snprintf contract, and argument checks.
 */
static int
make_passthrough(gnet_codec_t **out)
{
	gnet_codec_def_t def = { .size = sizeof(gnet_codec_def_t), .decode = never_decode };
	return gnet_codec_new_custom(out, &def);
}

static int
mk_lf2(gnet_codec_t **o)
{
	gnet_length_field_config_t cfg = { .size = sizeof(gnet_length_field_config_t), .field_length = 2, .strip = 2 };
	return gnet_codec_new_length_field(o, &cfg);
}

/* Encode HW with every cap from 0 to past the full length: always the
 * full length back, the first min(cap, full) bytes written, none after. */
static void
check_encode_caps(const gnet_codec_t *c, const char *name)
{
	unsigned char ref[64], out[64];
	long full = gnet_codec_encode(c, S(HW), NULL, 0);

	ck_assert_msg(full >= 12 && full < (long)sizeof ref - 8, "%s: %ld", name,
	    full);
	ck_assert_int_eq(gnet_codec_encode(c, S(HW), ref, sizeof ref), full);
	for (size_t cap = 0; cap <= (size_t)full + 2; cap++) {
		size_t wrote = cap < (size_t)full ? cap : (size_t)full;
		long r;

		memset(out, SENTINEL, sizeof out);
		r = gnet_codec_encode(c, S(HW), out, cap);
		ck_assert_msg(r == full, "%s, cap %zu: %ld, want %ld", name, cap, r,
		    full);
		ck_assert_msg(memcmp(out, ref, wrote) == 0, "%s, cap %zu: bytes",
		    name, cap);
		for (size_t j = wrote; j < sizeof out; j++)
			ck_assert_msg(out[j] == SENTINEL,
			    "%s, cap %zu: byte %zu written", name, cap, j);
	}
}

static int
mk_fixed1(gnet_codec_t **o)
{
	return gnet_codec_new_fixed(o, 1);
}

START_TEST(test_encode_snprintf)
{
	static const struct {
		const char *name;
		int (*make)(gnet_codec_t **out);
	} t[] = {
		{ "line", mk_line }, { "delim", mk_crlf2 }, { "fixed 1", mk_fixed1 },
		{ "length field", mk_lf2 }, { "custom TLV", make_tlv },
		{ "pass-through", make_passthrough },
	};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		gnet_codec_t *c = NULL;

		ck_assert_int_eq(t[i].make(&c), 0);
		check_encode_caps(c, t[i].name);
		gnet_codec_free(c);
	}
}
END_TEST

START_TEST(test_api_arguments)
{
	gnet_codec_t *line = NULL, *fixed = NULL;
	gnet_frame_t f;
	size_t st[8] = { 0 };

	ck_assert_int_eq(gnet_codec_new_line(&line, 0), 0);
	ck_assert_int_eq(gnet_codec_new_fixed(&fixed, 2), 0);

	ck_assert_int_eq(gnet_codec_decode(NULL, st, "a\n", 2, &f), GNET_EINVAL);
	ck_assert_int_eq(gnet_codec_decode(line, st, "a\n", 2, NULL), GNET_EINVAL);
	ck_assert_int_eq(gnet_codec_decode(line, st, NULL, 2, &f), GNET_EINVAL);
	/* The line codec keeps state: it cannot run without it. */
	ck_assert_uint_gt(gnet_codec_state_size(line), 0);
	ck_assert_int_eq(gnet_codec_decode(line, NULL, "a\n", 2, &f), GNET_EINVAL);
	/* Nothing offered is never a frame. */
	ck_assert_int_eq(gnet_codec_decode(line, st, NULL, 0, &f), 0);
	ck_assert_int_eq(gnet_codec_decode(line, st, "\n", 0, &f), 0);
	ck_assert_int_eq(gnet_codec_decode(fixed, NULL, "ab", 0, &f), 0);

	ck_assert_int_eq(gnet_codec_encode(NULL, "a", 1, NULL, 0), GNET_EINVAL);
	ck_assert_int_eq(gnet_codec_encode(line, NULL, 1, NULL, 0), GNET_EINVAL);
	ck_assert_int_eq(gnet_codec_encode(line, NULL, 0, NULL, 0), 1);

	ck_assert_int_eq(gnet_codec_sink_write(NULL, "a", 1), GNET_EINVAL);
	ck_assert_int_eq(gnet_codec_sink_writev(NULL, NULL, -1), GNET_EINVAL);

	ck_assert_uint_eq(gnet_codec_state_size(NULL), 0);
	ck_assert_uint_eq(gnet_codec_max_frame(NULL), 0);
	gnet_codec_free(NULL);
	gnet_codec_free(line);
	gnet_codec_free(fixed);
}
END_TEST

/* ------------------------------------------------------------------------
 * Custom codecs.
 */
START_TEST(test_custom_tlv)
{
	gnet_codec_t *c = NULL;
	struct tlv_state a = { 0 }, b = { 0 };
	static const char in[] = "\x7E\x00\x03" "abc" "\x7E\x00\x00" "\x7E\x00";

	tlv_free_calls = 0;
	ck_assert_int_eq(make_tlv(&c), 0);
	ck_assert_uint_eq(gnet_codec_state_size(c), sizeof(struct tlv_state));
	ck_assert_uint_eq(gnet_codec_max_frame(c), TLV_HDR + TLV_MAX_VALUE);

	check_decode(c, &a, in, sizeof in - 1, FRAME(3, 3, 6), "abc");
	check_decode(c, &a, in + 6, sizeof in - 7, FRAME(3, 0, 3), "empty");
	check_decode(c, &a, in + 9, sizeof in - 10, NEED, "partial");
	/* Each stream has its own state. */
	check_decode(c, &b, in, sizeof in - 1, FRAME(3, 3, 6), "other stream");
	ck_assert_uint_eq(a.frames, 2);
	ck_assert_uint_eq(b.frames, 1);
	/* The codec's own error reaches the caller unchanged. */
	check_decode(c, &a, S("\x01\x00\x00"), ERR(GNET_EBADFRAME), "bad type");

	check_encode(c, S("hello"), S("\x7E\x00\x05" "hello"), "encode");
	check_encode(c, S(""), S("\x7E\x00\x00"), "encode empty");
	unsigned char *big = calloc(1, TLV_MAX_VALUE + 1);
	ck_assert_ptr_nonnull(big);
	ck_assert_int_eq(gnet_codec_encode(c, big, TLV_MAX_VALUE + 1, NULL, 0),
	    GNET_EFRAMESIZE);
	ck_assert_int_eq(gnet_codec_encode(c, big, TLV_MAX_VALUE, NULL, 0),
	    TLV_HDR + TLV_MAX_VALUE);
	free(big);

	/* free_cfg runs once, at gnet_codec_free, not before. */
	ck_assert_int_eq(tlv_free_calls, 0);
	gnet_codec_free(c);
	ck_assert_int_eq(tlv_free_calls, 1);
}
END_TEST

/* Decoders that break the contract; gnet_codec_decode must not pass the
 * breakage on (the engine would stall or read past its buffer). */
enum bug_mode {
	BUG_CONSUMED_ZERO,
	BUG_CONSUMED_PAST_END,
	BUG_NULL_DATA,
	OK_NULL_EMPTY,      /* no bytes need no pointer: a legal frame */
	OK_ERRNO,           /* a negative errno is a legal error code */
};

static int
buggy_decode(void *cfg, void *state, const unsigned char *in, size_t n,
    gnet_frame_t *f)
{
	f->data = in;
	f->len = 1;
	f->consumed = 1;
	switch (*(const enum bug_mode *)cfg) {
	case BUG_CONSUMED_ZERO:
		f->consumed = 0;
		break;
	case BUG_CONSUMED_PAST_END:
		f->consumed = n + 1;
		break;
	case BUG_NULL_DATA:
		f->data = NULL;
		break;
	case OK_NULL_EMPTY:
		f->data = NULL;
		f->len = 0;
		break;
	case OK_ERRNO:
		return -EPROTO;
	}
	return 1;
}

START_TEST(test_custom_buggy_decode)
{
	static const struct {
		enum bug_mode mode;
		int want;
	} t[] = {
		{ BUG_CONSUMED_ZERO, GNET_EBADFRAME },
		{ BUG_CONSUMED_PAST_END, GNET_EBADFRAME },
		{ BUG_NULL_DATA, GNET_EBADFRAME },
		{ OK_NULL_EMPTY, 1 },
		{ OK_ERRNO, -EPROTO },
	};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		enum bug_mode mode = t[i].mode;
		gnet_codec_def_t def = { .size = sizeof(gnet_codec_def_t), .decode = buggy_decode, .cfg = &mode };
		gnet_codec_t *c = NULL;
		gnet_frame_t f;
		int r;

		ck_assert_int_eq(gnet_codec_new_custom(&c, &def), 0);
		r = gnet_codec_decode(c, NULL, "abcd", 4, &f);
		ck_assert_msg(r == t[i].want, "mode %d: %d (%s), want %d", (int)mode,
		    r, rc_name(r), t[i].want);
		gnet_codec_free(c);
	}
}
END_TEST

/* The generic rule for custom codecs: still incomplete with more than
 * max_frame bytes buffered is too long. */
START_TEST(test_custom_incomplete_beyond_max)
{
	gnet_codec_def_t def = { .size = sizeof(gnet_codec_def_t), .decode = never_decode, .max_frame = 16 };
	unsigned char in[64] = { 0 };
	gnet_codec_t *c = NULL;

	ck_assert_int_eq(gnet_codec_new_custom(&c, &def), 0);
	for (size_t n = 1; n <= 16; n++)
		check_decode(c, NULL, in, n, NEED, "up to max");
	check_decode(c, NULL, in, 17, ERR(GNET_EFRAMESIZE), "max + 1");
	check_decode(c, NULL, in, sizeof in, ERR(GNET_EFRAMESIZE), "far over");
	gnet_codec_free(c);
}
END_TEST

START_TEST(test_custom_encode_passthrough)
{
	gnet_codec_t *c = NULL;

	ck_assert_int_eq(make_passthrough(&c), 0);
	check_encode(c, S("abc"), S("abc"), "pass-through");
	check_encode(c, S(""), S(""), "pass-through empty");
	gnet_codec_free(c);
}
END_TEST

/* ------------------------------------------------------------------------
 * Regressions: bugs this suite found in the codecs (fixed since). Each
 * computes first and frees before asserting, so a failure leaks nothing.
 */

/* Regression: the line and delimiter codecs accept any max_frame, but
 * their fail-fast check computes max_frame + dlen (+ 1 for a line's "\r")
 * in size_t, which wraps for a max near SIZE_MAX (e.g. SIZE_MAX used as
 * "unlimited"): every incomplete frame is then GNET_EFRAMESIZE. Either
 * constructor rejection (GNET_EINVAL, as the length-field codec does for
 * max > INT64_MAX) or correct decoding would be fine. */
START_TEST(test_regress_huge_max_frame)
{
	static const struct {
		const char *delim;
		size_t dlen;
		size_t max;
	} t[] = {
		{ NULL, 0, SIZE_MAX },               /* the line codec */
		{ S("\r\n"), SIZE_MAX - 1 },
		{ S("|"), SIZE_MAX },
	};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		gnet_codec_t *c = NULL;
		size_t st[4] = { 0 };
		gnet_frame_t f;
		int rc, partial = 0;

		rc = t[i].delim == NULL ? gnet_codec_new_line(&c, t[i].max) :
		    gnet_codec_new_delimiter(&c, t[i].delim, t[i].dlen, t[i].max);
		if (rc == 0)
			partial = gnet_codec_decode(c, st, "abc", 3, &f);
		gnet_codec_free(c);
		ck_assert_msg(rc == 0 || rc == GNET_EINVAL, "row %zu: %d", i, rc);
		ck_assert_msg(partial == 0, "row %zu: max %zu: 3 bytes without a "
		    "delimiter gave %d (%s)", i, t[i].max, partial, rc_name(partial));
	}
}
END_TEST

/* Regression (seen under UBSan, i.e. VARIANT=asan, where it aborts the
 * test): gnet_codec_encode accepts payload NULL with n 0, and
 * gnet_codec_sink_write accepts p NULL with n 0, but writing into the
 * caller's buffer then calls memcpy(out, NULL, 0), which is undefined
 * behaviour. The engine's path (gnet__buf_append) returns early on n 0. */
START_TEST(test_regress_encode_null_empty)
{
	gnet_codec_t *line = NULL, *fixed = NULL;
	unsigned char out[8] = { 0 };
	long r_line, r_fixed;

	ck_assert_int_eq(gnet_codec_new_line(&line, 0), 0);
	ck_assert_int_eq(gnet_codec_new_fixed(&fixed, 4), 0);
	r_line = gnet_codec_encode(line, NULL, 0, out, sizeof out);
	r_fixed = gnet_codec_encode(fixed, NULL, 0, out + 1, sizeof out - 1);
	gnet_codec_free(line);
	gnet_codec_free(fixed);
	ck_assert_int_eq(r_line, 1);
	ck_assert_int_eq(out[0], '\n');
	ck_assert_int_eq(r_fixed, 0);
}
END_TEST

/* A custom decoder that returns whole frames, here always 23 bytes. */
static int
frame23_decode(void *cfg, void *state, const unsigned char *in, size_t n,
    gnet_frame_t *f)
{
	if (n < 23)
		return 0;
	f->data = in + 3;
	f->len = 20;
	f->consumed = 23;
	return 1;
}

/* Regression: gnet_codec_decode applies a custom codec's max_frame only
 * while the frame is incomplete. A complete frame longer than max is
 * accepted when it arrives in one read, but the same bytes arriving in
 * pieces fail with GNET_EFRAMESIZE once max + 1 are buffered, so whether a
 * peer's stream is accepted depends on TCP segmentation. gnet.h says a
 * frame above the max closes the connection with GNET_EFRAMESIZE. */
START_TEST(test_regress_custom_frame_over_max)
{
	gnet_codec_def_t def = { .size = sizeof(gnet_codec_def_t), .decode = frame23_decode, .max_frame = 10 };
	unsigned char in[23] = { 0 };
	gnet_codec_t *c = NULL;
	gnet_frame_t f;
	int whole, pieces = 0;

	ck_assert_int_eq(gnet_codec_new_custom(&c, &def), 0);
	whole = gnet_codec_decode(c, NULL, in, sizeof in, &f);
	for (size_t k = 1; k <= sizeof in && pieces == 0; k++)
		pieces = gnet_codec_decode(c, NULL, in, k, &f);
	gnet_codec_free(c);
	ck_assert_msg(pieces == GNET_EFRAMESIZE, "in pieces: %d (%s)", pieces,
	    rc_name(pieces));
	ck_assert_msg(whole == pieces, "a 23-byte frame over max 10: %d (%s) in "
	    "one read, %d (%s) in pieces", whole, rc_name(whole), pieces,
	    rc_name(pieces));
}
END_TEST

/* ------------------------------------------------------------------------
 */
static Suite *
codec_suite(void)
{
	Suite *s = suite_create("codec");
	TCase *tc;

	tc = tn_tcase("config", TCASE_TIMEOUT_S);
	tcase_add_test(tc, test_config_table);
	tcase_add_test(tc, test_api_arguments);
	suite_add_tcase(s, tc);

	tc = tn_tcase("line", TCASE_TIMEOUT_S);
	tcase_add_test(tc, test_line_decode);
	tcase_add_test(tc, test_line_max_frame);
	tcase_add_test(tc, test_line_encode);
	suite_add_tcase(s, tc);

	tc = tn_tcase("delimiter", TCASE_TIMEOUT_S);
	tcase_add_test(tc, test_delim_decode);
	tcase_add_test(tc, test_delim_split_across_calls);
	tcase_add_test(tc, test_delim_max_frame);
	tcase_add_test(tc, test_delim_encode);
	suite_add_tcase(s, tc);

	tc = tn_tcase("fixed", TCASE_TIMEOUT_S);
	tcase_add_test(tc, test_fixed);
	suite_add_tcase(s, tc);

	tc = tn_tcase("length_field", TCASE_TIMEOUT_S);
	tcase_add_test(tc, test_lf_netty_examples);
	tcase_add_test(tc, test_lf_field_bytes);
	tcase_add_test(tc, test_lf_round_trip_widths);
	tcase_add_test(tc, test_lf_encode_too_large);
	tcase_add_test(tc, test_lf_encode_adjustments);
	tcase_add_test(tc, test_lf_bad_input);
	suite_add_tcase(s, tc);

	tc = tn_tcase("custom", TCASE_TIMEOUT_S);
	tcase_add_test(tc, test_custom_tlv);
	tcase_add_test(tc, test_custom_buggy_decode);
	tcase_add_test(tc, test_custom_incomplete_beyond_max);
	tcase_add_test(tc, test_custom_encode_passthrough);
	tcase_add_test(tc, test_encode_snprintf);
	suite_add_tcase(s, tc);

	tc = tn_tcase("stream", TCASE_TIMEOUT_S);
	tcase_add_loop_test(tc, test_stream, 0, STREAM_CASES);
	suite_add_tcase(s, tc);

	tc = tn_tcase("pipeline", PIPELINE_TIMEOUT_S);
	tcase_add_loop_test(tc, test_pipelined_long_frame, 0,
	    (int)(sizeof pipeline_table / sizeof pipeline_table[0]));
	tcase_add_test(tc, test_scan_resumes);
	suite_add_tcase(s, tc);

	tc = tn_tcase("regressions", TCASE_TIMEOUT_S);
	tcase_add_test(tc, test_regress_huge_max_frame);
	tcase_add_test(tc, test_regress_custom_frame_over_max);
	tcase_add_test(tc, test_regress_encode_null_empty);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tn_run_suite(codec_suite());
}
