/*
 * check_codec -- unit suite "codec": each frame codec through its pure
 * API (gnet_codec_decode / gnet_codec_encode), no engine, no sockets.
 *
 * Covers: constructor validation (bad configs give GNET_EINVAL and a NULL
 * codec, edge configs are accepted); the line, delimiter, fixed-length
 * and length-field codecs frame by frame, including netty's documented
 * LengthFieldBasedFrameDecoder examples, every field width in both byte
 * orders, encode adjustments, max-frame boundaries and malformed lengths.
 * What every codec owes alike (streams, encode's contract, custom codecs)
 * is suite "codec_contract".
 *
 * Cases are tables in the language of support/codec_check.h: a frame at
 * in[off..off+len) using `consumed` bytes, "need more", or an error.
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gnet.h"
#include "support/codec_check.h"
#include "support/sample_codecs.h"
#include "support/testnet.h"

#define TCASE_TIMEOUT_S 60

#define BIG_PAYLOAD ((size_t)1 << 24)   /* 16 MiB: the 3-byte field's limit */
#define BIG_MAX_FRAME ((size_t)32 << 20) /* room for a 16 MiB payload + header */

#define HW "HELLO, WORLD"

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
	void *st = codec_state_new(c);
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
	void *st = codec_state_new(c);
	static const char ok[] = "12345678\r\n", bad[] = "123456789\n";
	int r = 0;
	gnet_frame_t f;
	for (size_t k = 1; k < sizeof ok - 1; k++)
		check_decode(c, st, ok, k, NEED, "max line, growing");
	check_decode(c, st, S(ok), FRAME(0, 8, 10), "max line, complete");
	codec_state_reset(c, st);
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
		void *st = codec_state_new(c);
		for (size_t split = 1; split < t[i].n; split++) {
			codec_state_reset(c, st);
			check_decode(c, st, t[i].in, split, NEED, t[i].in);
			check_decode(c, st, t[i].in, t[i].n, FRAME(0, t[i].len, t[i].n),
			    t[i].in);
		}
		/* And the whole growing prefix, one byte at a time. */
		codec_state_reset(c, st);
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
	void *st = codec_state_new(c);
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

	void *st = codec_state_new(c);
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
	st = codec_state_new(c);
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
	put_length_field(hdr, wc->width, wc->le, n);
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
			put_length_field(want, tc->width, 0, (uint64_t)tc->want);
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
 */
static Suite *
codec_suite(void)
{
	Suite *s = suite_create("codec");
	TCase *tc;

	tc = tn_tcase("config", TCASE_TIMEOUT_S);
	tcase_add_test(tc, test_config_table);
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
	return s;
}

int
main(void)
{
	return tn_run_suite(codec_suite());
}
