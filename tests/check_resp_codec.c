/*
 * check_resp_codec -- unit suite "resp_codec": the RESP2 request codec
 * (gnet_codec_new_resp, gnet_resp_args, gnet_resp_error) through its pure
 * API, and once live on an engine.
 *
 * Covers: the limits' validation; Redis 7.0's rules one by one -- inline
 * lines and their quoting, the multibulk count line, bulk headers, the 2
 * unchecked bytes after a bulk, the skipped inputs (blank lines, counts
 * <= 0) as zero-length frames, every protocol error with Redis's exact
 * text (checked against redis-server), kept for every later call;
 * GNET_EFRAMESIZE at the max frame; every table row decoded whole and in
 * reads of 1, 2, 3 and 7 bytes with the same outcome; pipelined commands;
 * binary arguments; a 64 MiB argument, and a 64 MiB inline line,
 * arriving in reads of 64 KiB and 4 KiB parsed in linear time; encode
 * passing bytes through; gnet_resp_args on multibulk frames, Redis's
 * inline splits, bad frames and short arrays; and an engine reading 3
 * bytes at a time answering a pipeline, a protocol error (replied, then
 * closed) and a command over the max frame (closed without a reply).
 */
#include <check.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gnet.h"
#include "support/testnet.h"

#define TCASE_TIMEOUT_S 60

#define S(lit) (lit), (sizeof(lit) - 1)
#define LIMITS(...) (&(const gnet_resp_limits_t){ \
	.size = sizeof(gnet_resp_limits_t), __VA_ARGS__ })

#define KIB ((size_t)1 << 10)
#define MIB ((size_t)1 << 20)
#define DEFAULT_INLINE (64 * KIB)
#define DEFAULT_FRAME ((size_t)1 << 30)
#define BIG_BULK (64 * MIB)
/* What decoding BIG_BULK in reads may take: linear work is milliseconds;
 * reading it again on every call would be gigabytes of scanning. */
#define BIG_BULK_BOUND_S 2.0

#define P "Protocol error: "

static gnet_codec_t *
codec_new(const gnet_resp_limits_t *l)
{
	gnet_codec_t *c = NULL;
	int rc = gnet_codec_new_resp(&c, l);

	ck_assert_msg(rc == 0 && c != NULL, "gnet_codec_new_resp: %d", rc);
	return c;
}

static void *
state_new(const gnet_codec_t *c)
{
	size_t sz = gnet_codec_state_size(c);
	void *st = calloc(1, sz);

	ck_assert(st != NULL);
	return st;
}

/* ------------------------------------------------------------------------
 * Running a stream: whole, or in reads as the engine does.
 */
#define MAX_FRAMES 64

struct run {
	size_t n;                       /* frames */
	size_t off[MAX_FRAMES], len[MAX_FRAMES], used[MAX_FRAMES];
	int last;                       /* 0 or the closing error */
	char err[64];                   /* gnet_resp_error at the end, or "" */
};

static void
record(struct run *r, size_t off, const unsigned char *buf,
    const gnet_frame_t *f)
{
	ck_assert_msg(r->n < MAX_FRAMES, "too many frames");
	ck_assert_msg(f->data == buf, "frame does not start at its input");
	ck_assert_msg(f->len <= f->consumed, "frame longer than it used");
	r->off[r->n] = off;
	r->len[r->n] = f->len;
	r->used[r->n] = f->consumed;
	r->n++;
}

static void
finish(struct run *r, const void *st)
{
	const char *e = gnet_resp_error(st);

	snprintf(r->err, sizeof(r->err), "%s", e != NULL ? e : "");
}

/* Reads of `chunk` bytes (0: all at once); after each, decode all the
 * unconsumed bytes, each call given a buffer ending at its last byte.
 * Stops at the first error frame, the stream's end or a closing error. */
static void
run_reads(const gnet_codec_t *c, const void *s, size_t n, size_t chunk,
    struct run *r)
{
	void *st = state_new(c);
	size_t got = 0, base = 0;
	int rc = 0;

	memset(r, 0, sizeof(*r));
	while (got < n) {
		size_t k = chunk != 0 && chunk < n - got ? chunk : n - got;
		size_t pend, off = 0;
		unsigned char *buf;
		gnet_frame_t f;

		got += k;
		pend = got - base;
		buf = malloc(pend);
		ck_assert(buf != NULL);
		memcpy(buf, (const unsigned char *)s + base, pend);
		while (off < pend) {
			rc = gnet_codec_decode(c, st, buf + off, pend - off, &f);
			if (rc != 1)
				break;
			record(r, base + off, buf + off, &f);
			off += f.consumed;
			if (gnet_resp_error(st) != NULL)
				break;
		}
		base += off;
		free(buf);
		if (rc < 0 || gnet_resp_error(st) != NULL)
			break;
	}
	r->last = rc < 0 ? rc : 0;
	finish(r, st);
	free(st);
}

static void
same_run(const struct run *a, const struct run *b, const char *what,
    size_t chunk)
{
	size_t i;

	ck_assert_msg(a->n == b->n && a->last == b->last &&
	    strcmp(a->err, b->err) == 0, "%s: reads of %zu: %zu frames, last "
	    "%d, error '%s'; whole: %zu frames, last %d, error '%s'", what,
	    chunk, b->n, b->last, b->err, a->n, a->last, a->err);
	/* An error frame uses what was buffered when the error was found. */
	for (i = 0; i < a->n; i++)
		ck_assert_msg(a->off[i] == b->off[i] && a->len[i] == b->len[i] &&
		    (a->used[i] == b->used[i] ||
		    (i + 1 == a->n && a->err[0] != '\0')),
		    "%s: reads of %zu: frame %zu: %zu/%zu at %zu, want %zu/%zu at "
		    "%zu", what, chunk, i, b->len[i], b->used[i], b->off[i],
		    a->len[i], a->used[i], a->off[i]);
}

/* ------------------------------------------------------------------------
 * The decoding table: frames as "len/used" pairs, then the end.
 */
struct dec_case {
	const char *what;
	const char *in;
	size_t n;
	const char *frames;   /* "len/used len/used ..." */
	int last;             /* 0 (need more, or all used) or a GNET_E* code */
	const char *err;      /* gnet_resp_error, NULL: none */
};

static const struct dec_case dec_table[] = {
	/* multibulk */
	{ "GET k", S("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"), "20/20", 0, NULL },
	{ "incomplete: count", S("*2\r"), "", 0, NULL },
	{ "incomplete: payload", S("*1\r\n$4\r\nPIN"), "", 0, NULL },
	{ "incomplete: trailer", S("*1\r\n$4\r\nPING\r"), "", 0, NULL },
	{ "trailing bytes unchecked", S("*1\r\n$4\r\nPINGxy"), "14/14", 0,
	    NULL },
	{ "byte after \\r unchecked", S("*1\rX$4\rYPINGZZ"), "14/14", 0, NULL },
	{ "empty bulk", S("*1\r\n$0\r\n\r\n"), "10/10", 0, NULL },
	{ "*0 skipped", S("*0\r\n*1\r\n$1\r\na\r\n"), "0/4 11/11", 0, NULL },
	{ "*-1 skipped", S("*-1\r\n"), "0/5", 0, NULL },
	{ "*-INT64_MIN skipped", S("*-9223372036854775808\r\n"), "0/23", 0,
	    NULL },
	{ "INT_MAX count waits", S("*2147483647\r\n"), "", 0, NULL },
	{ "count over INT_MAX", S("*2147483648\r\n"), "0/*", 0,
	    P "invalid multibulk length" },
	{ "count over INT64_MAX", S("*9223372036854775808\r\n"), "0/*", 0,
	    P "invalid multibulk length" },
	{ "count under INT64_MIN", S("*-9223372036854775809\r\n"), "0/*", 0,
	    P "invalid multibulk length" },
	{ "count with +", S("*+1\r\n"), "0/*", 0, P "invalid multibulk length" },
	{ "count with a leading 0", S("*01\r\n"), "0/*", 0,
	    P "invalid multibulk length" },
	{ "count -0", S("*-0\r\n"), "0/*", 0, P "invalid multibulk length" },
	{ "count with a blank", S("* 1\r\n"), "0/*", 0,
	    P "invalid multibulk length" },
	{ "empty count", S("*\r\n"), "0/*", 0, P "invalid multibulk length" },
	{ "count with garbage", S("*1x\r\n"), "0/*", 0,
	    P "invalid multibulk length" },
	{ "no $", S("*1\r\nX\r\n"), "0/*", 0, P "expected '$', got 'X'" },
	{ "no $ yet: waits for the line", S("*1\r\nX"), "", 0, NULL },
	{ "no $: a blank line", S("*1\r\n\r\n"), "0/*", 0,
	    P "expected '$', got '\r'" },
	{ "bulk -1", S("*1\r\n$-1\r\n"), "0/*", 0, P "invalid bulk length" },
	{ "bulk 01", S("*1\r\n$01\r\n"), "0/*", 0, P "invalid bulk length" },
	{ "bulk -0", S("*1\r\n$-0\r\n"), "0/*", 0, P "invalid bulk length" },
	{ "bulk empty length", S("*1\r\n$\r\n"), "0/*", 0,
	    P "invalid bulk length" },
	{ "bulk over 512 MiB", S("*1\r\n$536870913\r\n"), "0/*", 0,
	    P "invalid bulk length" },
	{ "bulk of 512 MiB waits", S("*1\r\n$536870912\r\n"), "", 0, NULL },
	{ "error after a command", S("*1\r\n$4\r\nPING\r\n*1\r\n$x\r\nrest"),
	    "14/14 0/*", 0, P "invalid bulk length" },
	{ "NUL is a byte", S("*1\r\n$3\r\na\0b\r\n"), "13/13", 0, NULL },
	/* inline */
	{ "inline PING", S("PING\r\n"), "6/6", 0, NULL },
	{ "inline LF", S("PING\n"), "5/5", 0, NULL },
	{ "inline waits", S("PING\r"), "", 0, NULL },
	{ "blank lines skipped", S("\n\r\n \t\r\nPING\n"), "0/1 0/2 0/4 5/5",
	    0, NULL },
	{ "\\r alone is a blank", S("\r\rPING\n"), "7/7", 0, NULL },
	{ "quotes", S("SET \"a b\" 'c'\n"), "14/14", 0, NULL },
	{ "unbalanced \"", S("SET \"a\n"), "0/*", 0,
	    P "unbalanced quotes in request" },
	{ "unbalanced '", S("SET 'a\r\nPING\r\n"), "0/*", 0,
	    P "unbalanced quotes in request" },
	{ "closing quote then a byte", S("\"a\"b\n"), "0/*", 0,
	    P "unbalanced quotes in request" },
	{ "mixed pipeline", S("PING\n*1\r\n$4\r\nPING\r\n\nECHO x\r\n"),
	    "5/5 14/14 0/1 8/8", 0, NULL },
};

/* "len/used ...", where used "*" is the rest of the n input bytes. */
static void
parse_frames(const char *spec, size_t n, struct run *r)
{
	const char *p = spec;
	size_t pos = 0;
	int k;

	memset(r, 0, sizeof(*r));
	while (*p != '\0') {
		/* %n is stored only when the "*" matched. */
		k = 0;
		if (sscanf(p, "%zu/*%n", &r->len[r->n], &k) == 1 && k > 0)
			r->used[r->n] = n - pos;
		else
			ck_assert(sscanf(p, "%zu/%zu%n", &r->len[r->n],
			    &r->used[r->n], &k) == 2);
		r->off[r->n++] = pos;
		pos += r->used[r->n - 1];
		p += k;
		while (*p == ' ')
			p++;
	}
}

START_TEST(test_decode_table)
{
	static const size_t chunks[] = { 0, 1, 2, 3, 7 };
	gnet_codec_t *c = codec_new(NULL);
	size_t i, j;

	for (i = 0; i < sizeof(dec_table) / sizeof(dec_table[0]); i++) {
		const struct dec_case *t = &dec_table[i];
		struct run want, got;

		parse_frames(t->frames, t->n, &want);
		want.last = t->last;
		snprintf(want.err, sizeof(want.err), "%s",
		    t->err != NULL ? t->err : "");
		for (j = 0; j < sizeof(chunks) / sizeof(chunks[0]); j++) {
			run_reads(c, t->in, t->n, chunks[j], &got);
			same_run(&want, &got, t->what, chunks[j]);
		}
	}
	gnet_codec_free(c);
}
END_TEST

/* After an error, every call consumes what it is given as another
 * zero-length frame, and the error stays. */
START_TEST(test_error_sticks)
{
	gnet_codec_t *c = codec_new(NULL);
	void *st = state_new(c);
	gnet_frame_t f;
	int i;

	ck_assert_ptr_null(gnet_resp_error(st));
	ck_assert_ptr_null(gnet_resp_error(NULL));
	ck_assert_int_eq(gnet_codec_decode(c, st, S("*x\r\n"), &f), 1);
	ck_assert_str_eq(gnet_resp_error(st), P "invalid multibulk length");
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(gnet_codec_decode(c, st, S("*1\r\n$4\r\nPING\r\n"),
		    &f), 1);
		ck_assert_uint_eq(f.len, 0);
		ck_assert_uint_eq(f.consumed, 14);
		ck_assert_str_eq(gnet_resp_error(st), P "invalid multibulk length");
	}
	free(st);
	gnet_codec_free(c);
}
END_TEST

/* Every byte instead of '$' is named as it is. */
START_TEST(test_dollar_every_byte)
{
	gnet_codec_t *c = codec_new(NULL);
	char in[8] = "*1\r\n?\r\n", want[64];
	void *st = state_new(c);
	gnet_frame_t f;
	int b;

	for (b = 1; b < 256; b++) {
		if (b == '$' || b == '\r')
			continue;
		memset(st, 0, gnet_codec_state_size(c));
		in[4] = (char)b;
		ck_assert_int_eq(gnet_codec_decode(c, st, in, 7, &f), 1);
		snprintf(want, sizeof(want), P "expected '$', got '%c'", b);
		ck_assert_str_eq(gnet_resp_error(st), want);
	}
	free(st);
	gnet_codec_free(c);
}
END_TEST

/* ------------------------------------------------------------------------
 * The "too big" errors: a line without its end and more than the inline
 * limit buffered. Exactly the limit still waits.
 */
static void
check_too_big(const char *head, size_t fill, const char *err)
{
	gnet_codec_t *c = codec_new(NULL);
	size_t hl = strlen(head), n = hl + fill;
	unsigned char *buf = malloc(n + 1);
	void *st = state_new(c);
	gnet_frame_t f;

	ck_assert(buf != NULL);
	memcpy(buf, head, hl);
	memset(buf + hl, '1', fill + 1);
	/* The line starts after the last "\n" of head (or at 0). */
	ck_assert_int_eq(gnet_codec_decode(c, st, buf, n, &f), 0);
	ck_assert_ptr_null(gnet_resp_error(st));
	ck_assert_int_eq(gnet_codec_decode(c, st, buf, n + 1, &f), 1);
	ck_assert_uint_eq(f.len, 0);
	ck_assert_uint_eq(f.consumed, n + 1);
	ck_assert_str_eq(gnet_resp_error(st), err);
	/* All at once with its "\r" found, the line is only read. */
	free(st);
	free(buf);
	gnet_codec_free(c);
}

START_TEST(test_too_big_lines)
{
	/* head + fill makes exactly the limit past the line's start. */
	check_too_big("", DEFAULT_INLINE, P "too big inline request");
	check_too_big("*", DEFAULT_INLINE - 1, P "too big mbulk count string");
	check_too_big("*1\r\n$", DEFAULT_INLINE - 1,
	    P "too big bulk count string");
}
END_TEST

/* A long count line whose "\r" is already there is read, not refused as
 * too big: Redis checks the size only while the line end is missing. */
START_TEST(test_long_line_complete)
{
	gnet_codec_t *c = codec_new(NULL);
	size_t n = DEFAULT_INLINE * 2;
	char *buf = malloc(n);
	void *st = state_new(c);
	gnet_frame_t f;

	ck_assert(buf != NULL);
	memset(buf, 'a', n);
	buf[n - 1] = '\n';
	ck_assert_int_eq(gnet_codec_decode(c, st, buf, n, &f), 1);
	ck_assert_uint_eq(f.len, n);
	ck_assert_ptr_null(gnet_resp_error(st));
	buf[0] = '*';
	buf[n - 2] = '\r';
	ck_assert_int_eq(gnet_codec_decode(c, st, buf, n, &f), 1);
	ck_assert_str_eq(gnet_resp_error(st), P "invalid multibulk length");
	free(st);
	free(buf);
	gnet_codec_free(c);
}
END_TEST

/* ------------------------------------------------------------------------
 * Limits.
 */
START_TEST(test_limits_config)
{
	gnet_codec_t *c = (gnet_codec_t *)&c;
	gnet_resp_limits_t l;

	ck_assert_int_eq(gnet_codec_new_resp(NULL, NULL), GNET_EINVAL);
	c = codec_new(NULL);
	ck_assert_uint_eq(gnet_codec_max_frame(c), DEFAULT_FRAME);
	ck_assert_uint_le(gnet_codec_state_size(c), 16);
	ck_assert_uint_gt(gnet_codec_state_size(c), 0);
	gnet_codec_free(c);
	c = codec_new(LIMITS(.max_frame = 0));
	ck_assert_uint_eq(gnet_codec_max_frame(c), DEFAULT_FRAME);
	gnet_codec_free(c);
	c = codec_new(LIMITS(.max_frame = UINT32_MAX, .max_args = INT_MAX,
	    .max_bulk_len = UINT32_MAX, .max_inline_len = UINT32_MAX));
	ck_assert_uint_eq(gnet_codec_max_frame(c), UINT32_MAX);
	gnet_codec_free(c);

#define REFUSED(lim) do { \
	c = (gnet_codec_t *)&c; \
	ck_assert_int_eq(gnet_codec_new_resp(&c, lim), GNET_EINVAL); \
	ck_assert_ptr_null(c); \
} while (0)
	REFUSED(LIMITS(.max_frame = (size_t)UINT32_MAX + 1));
	REFUSED(LIMITS(.max_bulk_len = (size_t)UINT32_MAX + 1));
	REFUSED(LIMITS(.max_inline_len = (size_t)UINT32_MAX + 1));
	REFUSED(LIMITS(.max_args = (size_t)INT_MAX + 1));
	memset(&l, 0, sizeof(l));
	REFUSED(&l);                             /* size 0 */
	l.size = sizeof(size_t);
	REFUSED(&l);                             /* shorter than published */
#undef REFUSED
}
END_TEST

START_TEST(test_limits_apply)
{
	gnet_codec_t *c = codec_new(LIMITS(.max_args = 2, .max_bulk_len = 3,
	    .max_inline_len = 8));
	static const struct dec_case t[] = {
		{ "2 args", S("*2\r\n$1\r\na\r\n$3\r\nabc\r\n"), "20/20", 0, NULL },
		{ "3 args", S("*3\r\n"), "0/*", 0, P "invalid multibulk length" },
		{ "bulk of 4", S("*1\r\n$4\r\n"), "0/*", 0, P "invalid bulk length" },
		{ "inline of 9", S("123456789"), "0/*", 0,
		    P "too big inline request" },
		{ "inline of 8 waits", S("12345678"), "", 0, NULL },
		{ "long inline line in one read", S("1234567890\n"), "11/11", 0,
		    NULL },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct run want, got;

		parse_frames(t[i].frames, t[i].n, &want);
		snprintf(want.err, sizeof(want.err), "%s",
		    t[i].err != NULL ? t[i].err : "");
		run_reads(c, t[i].in, t[i].n, 0, &got);
		same_run(&want, &got, t[i].what, 0);
	}
	gnet_codec_free(c);
}
END_TEST

/* A command over max_frame closes without a reply, as soon as it is
 * certain; one of exactly max_frame bytes passes. */
START_TEST(test_max_frame)
{
	gnet_codec_t *c = codec_new(LIMITS(.max_frame = 21));
	static const struct dec_case t[] = {
		{ "exactly 21", S("*1\r\n$10\r\n0123456789\r\n"), "21/21", 0, NULL },
		{ "22 announced", S("*1\r\n$11\r\n"), "", GNET_EFRAMESIZE, NULL },
		{ "inline of 21", S("01234567890123456789\n"), "21/21", 0, NULL },
		{ "inline of 22", S("012345678901234567890\n"), "",
		    GNET_EFRAMESIZE, NULL },
		{ "21 without a line end", S("012345678901234567890"), "",
		    GNET_EFRAMESIZE, NULL },
		{ "20 without a line end", S("01234567890123456789"), "", 0,
		    NULL },
		{ "header past 21 before its '$' check",
		    S("*1\r\n0123456789012345\r\n"), "", GNET_EFRAMESIZE, NULL },
		{ "second command fine",
		    S("PING\n*1\r\n$10\r\n0123456789\r\n"), "5/5 21/21", 0,
		    NULL },
	};
	size_t i, j;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		for (j = 0; j < 4; j++) {
			struct run want, got;

			parse_frames(t[i].frames, t[i].n, &want);
			want.last = t[i].last;
			run_reads(c, t[i].in, t[i].n, j, &got);
			same_run(&want, &got, t[i].what, j);
		}
	}
	gnet_codec_free(c);
}
END_TEST

/* ------------------------------------------------------------------------
 * Streams.
 */

/* A pipeline of every kind of command, fed whole and a byte at a time
 * (and in other read sizes), gives the same frames. */
START_TEST(test_pipeline_reads)
{
	static const char s[] =
	    "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nv\r\n\0x\r\n"
	    "PING\r\n"
	    "\r\n"
	    "*0\r\n"
	    "SET \"a\\x00b\" 'c d'\n"
	    "*-1\r\n"
	    "*2\r\n$4\r\nECHO\r\n$0\r\n\r\n"
	    "*1\r\n$4\r\nPING\r\n";
	gnet_codec_t *c = codec_new(NULL);
	struct run whole, r;
	size_t k;

	run_reads(c, s, sizeof(s) - 1, 0, &whole);
	ck_assert_uint_eq(whole.n, 8);
	ck_assert_str_eq(whole.err, "");
	ck_assert_uint_eq(whole.off[7] + whole.used[7], sizeof(s) - 1);
	for (k = 1; k <= 40; k++) {
		run_reads(c, s, sizeof(s) - 1, k, &r);
		same_run(&whole, &r, "pipeline", k);
	}
	gnet_codec_free(c);
}
END_TEST

/* Binary payloads: "\0" and "\r\n" inside arguments are data. */
START_TEST(test_binary_args)
{
	static const char s[] = "*2\r\n$4\r\n\r\n\0\n\r\n$2\r\n\r\n\r\n";
	gnet_codec_t *c = codec_new(NULL);
	void *st = state_new(c);
	gnet_resp_arg_t a[2];
	gnet_frame_t f;

	ck_assert_int_eq(gnet_codec_decode(c, st, S(s), &f), 1);
	ck_assert_uint_eq(f.len, sizeof(s) - 1);
	ck_assert_int_eq(gnet_resp_args(f.data, f.len, a, 2, NULL, 0), 2);
	ck_assert(a[0].len == 4 && memcmp(a[0].ptr, "\r\n\0\n", 4) == 0);
	ck_assert(a[1].len == 2 && memcmp(a[1].ptr, "\r\n", 2) == 0);
	free(st);
	gnet_codec_free(c);
}
END_TEST

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A 64 MiB argument arriving in reads, each call given everything
 * buffered so far: linear work finishes in milliseconds, while reading
 * from the start each time would scan gigabytes. */
static void
check_big_bulk(size_t chunk)
{
	gnet_codec_t *c = codec_new(NULL);
	char head[32];
	size_t hl = (size_t)snprintf(head, sizeof(head), "*1\r\n$%zu\r\n",
	    BIG_BULK);
	size_t n = hl + BIG_BULK + 2, got = 0, calls = 0;
	unsigned char *buf = malloc(n);
	void *st = state_new(c);
	gnet_frame_t f;
	double t0;
	int r = 0;

	ck_assert(buf != NULL);
	memcpy(buf, head, hl);
	/* Line ends all over the payload: a decoder looking at it would
	 * find them. */
	memset(buf + hl, '\r', BIG_BULK);
	memcpy(buf + n - 2, "\r\n", 2);
	t0 = now_s();
	while (got < n) {
		got += chunk < n - got ? chunk : n - got;
		r = gnet_codec_decode(c, st, buf, got, &f);
		calls++;
		/* A quadratic decoder would take minutes: stop it early. */
		if (r != 0 || now_s() - t0 >= BIG_BULK_BOUND_S)
			break;
	}
	ck_assert_msg(now_s() - t0 < BIG_BULK_BOUND_S, "%zu calls in reads of "
	    "%zu took %.2f s", calls, chunk, now_s() - t0);
	ck_assert_int_eq(r, 1);
	ck_assert_uint_eq(got, n);
	ck_assert_uint_eq(f.len, n);
	ck_assert_uint_eq(f.consumed, n);
	ck_assert_ptr_null(gnet_resp_error(st));
	free(st);
	free(buf);
	gnet_codec_free(c);
}

START_TEST(test_big_bulk_linear)
{
	check_big_bulk(64 * KIB);
	check_big_bulk(4 * KIB);
}
END_TEST

/* The same for a line: its end is searched for once in all, each call
 * going on from where the last one stopped. */
static void
check_long_line(size_t chunk)
{
	gnet_codec_t *c = codec_new(LIMITS(.max_inline_len = 2 * BIG_BULK));
	size_t n = BIG_BULK, got = 0, calls = 0;
	char *buf = malloc(n);
	void *st = state_new(c);
	gnet_frame_t f;
	double t0;
	int r = 0;

	ck_assert(buf != NULL);
	memset(buf, 'a', n);
	buf[n - 1] = '\n';
	t0 = now_s();
	while (got < n) {
		got += chunk < n - got ? chunk : n - got;
		r = gnet_codec_decode(c, st, buf, got, &f);
		calls++;
		/* A quadratic decoder would take minutes: stop it early. */
		if (r != 0 || now_s() - t0 >= BIG_BULK_BOUND_S)
			break;
	}
	ck_assert_msg(now_s() - t0 < BIG_BULK_BOUND_S, "%zu calls in reads of "
	    "%zu took %.2f s", calls, chunk, now_s() - t0);
	ck_assert_int_eq(r, 1);
	ck_assert_uint_eq(f.len, n);
	free(st);
	free(buf);
	gnet_codec_free(c);
}

START_TEST(test_long_line_linear)
{
	check_long_line(64 * KIB);
	check_long_line(4 * KIB);
}
END_TEST

/* An input shorter than what was parsed is a new stream. */
START_TEST(test_new_stream)
{
	gnet_codec_t *c = codec_new(NULL);
	void *st = state_new(c);
	gnet_frame_t f;

	ck_assert_int_eq(gnet_codec_decode(c, st, S("*1\r\n$4\r\nPI"), &f), 0);
	ck_assert_int_eq(gnet_codec_decode(c, st, S("PING\n"), &f), 1);
	ck_assert_uint_eq(f.len, 5);
	free(st);
	gnet_codec_free(c);
}
END_TEST

START_TEST(test_encode_passthrough)
{
	static const char reply[] = "*2\r\n$1\r\na\r\n:1\r\n-ERR x\r\n";
	gnet_codec_t *c = codec_new(NULL);
	char out[64];

	ck_assert_int_eq(gnet_codec_encode(c, S(reply), out, sizeof(out)),
	    sizeof(reply) - 1);
	ck_assert(memcmp(out, reply, sizeof(reply) - 1) == 0);
	ck_assert_int_eq(gnet_codec_encode(c, "", 0, out, sizeof(out)), 0);
	gnet_codec_free(c);
}
END_TEST

/* ------------------------------------------------------------------------
 * gnet_resp_args.
 */

/* Inline lines and how redis-server 7.0 splits them ("RPUSH k <line>"
 * then LRANGE); args joined with '|'; NULL: unbalanced quotes. */
static const struct split_case {
	const char *line;
	size_t n;
	const char *args;
	size_t alen;
} split_table[] = {
	{ S("a b  c"), S("a|b|c") },
	{ S("  a\t\tb  "), S("a|b") },
	{ S("\"a b\" c"), S("a b|c") },
	{ S("\"a\\\"b\""), S("a\"b") },
	{ S("\"\\x41\\x4a\\x4Z\""), S("AJx4Z") },
	{ S("\"\\n\\r\\t\\b\\a\\\\\\q\""), S("\n\r\t\b\a\\q") },
	{ S("'a\\'b' 'c\\nd'"), S("a'b|c\\nd") },
	{ S("ab\"cd\" e"), S("abcd|e") },
	{ S("\"\" ''"), S("|") },
	{ S("\va\vb"), S("a\vb") },
	{ S("\"a\"\vb"), S("a|b") },
	{ S("a\rb"), S("a|b") },
	{ S("\"a\\x\""), S("ax") },
	{ S("\"\\\\x41\""), S("\\x41") },
	{ S("x\fy"), S("x\fy") },
	{ S("\"\\x\""), S("x") },
	{ S("\"\\x00\""), S("\0") },
	{ S("\"abc"), NULL, 0 },
	{ S("'abc'def"), NULL, 0 },
	{ S("'a\\\\'"), NULL, 0 },
	{ S("\"a\"b"), NULL, 0 },
	{ S("a\"b c\"d"), NULL, 0 },
};

START_TEST(test_args_inline)
{
	gnet_codec_t *c = codec_new(NULL);
	void *st = state_new(c);
	size_t i, j;

	for (i = 0; i < sizeof(split_table) / sizeof(split_table[0]); i++) {
		const struct split_case *t = &split_table[i];
		char in[64], scratch[64], joined[64];
		gnet_resp_arg_t a[8];
		gnet_frame_t f;
		size_t n = t->n + 2, w = 0;
		long argc;

		memcpy(in, t->line, t->n);
		memcpy(in + t->n, "\r\n", 2);
		memset(st, 0, gnet_codec_state_size(c));
		ck_assert_int_eq(gnet_codec_decode(c, st, in, n, &f), 1);
		if (t->args == NULL) {
			ck_assert_msg(gnet_resp_error(st) != NULL &&
			    strcmp(gnet_resp_error(st),
			    P "unbalanced quotes in request") == 0,
			    "row %zu: not refused", i);
			ck_assert_int_eq(gnet_resp_args(in, n, a, 8, scratch,
			    sizeof(scratch)), GNET_EBADFRAME);
			continue;
		}
		ck_assert_msg(gnet_resp_error(st) == NULL && f.len == n,
		    "row %zu: refused", i);
		argc = gnet_resp_args(f.data, f.len, a, 8, scratch, n);
		ck_assert_msg(argc > 0 && argc <= 8, "row %zu: argc %ld", i, argc);
		for (j = 0; j < (size_t)argc; j++) {
			if (j != 0)
				joined[w++] = '|';
			memcpy(joined + w, a[j].ptr, a[j].len);
			w += a[j].len;
		}
		ck_assert_msg(w == t->alen && memcmp(joined, t->args, w) == 0,
		    "row %zu: split as '%.*s'", i, (int)w, joined);
	}
	free(st);
	gnet_codec_free(c);
}
END_TEST

START_TEST(test_args_calls)
{
	static const char mb[] = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\nvv\r\n";
	static const char il[] = "SET k vv\r\n";
	gnet_resp_arg_t a[3];
	char scratch[sizeof(il)];

	/* Short arrays: the count, and what fits. */
	ck_assert_int_eq(gnet_resp_args(S(mb), NULL, 0, NULL, 0), 3);
	ck_assert_int_eq(gnet_resp_args(S(mb), a, 1, NULL, 0), 3);
	ck_assert(a[0].len == 3 && memcmp(a[0].ptr, "SET", 3) == 0);
	ck_assert_int_eq(gnet_resp_args(S(mb), a, 3, NULL, 0), 3);
	ck_assert(a[2].len == 2 && a[2].ptr == mb + 24);
	ck_assert_int_eq(gnet_resp_args(S(il), a, 2, scratch, sizeof(il) - 1),
	    3);
	ck_assert(a[1].len == 1 && a[1].ptr[0] == 'k');
	/* Zero-length frames carry nothing. */
	ck_assert_int_eq(gnet_resp_args("", 0, a, 3, NULL, 0), 0);
	ck_assert_int_eq(gnet_resp_args(NULL, 0, a, 3, NULL, 0), 0);
	/* Bad calls. */
	ck_assert_int_eq(gnet_resp_args(S(il), a, 3, scratch, sizeof(il) - 2),
	    GNET_EINVAL);
	ck_assert_int_eq(gnet_resp_args(S(il), a, 3, NULL, 0), GNET_EINVAL);
	ck_assert_int_eq(gnet_resp_args(S(mb), NULL, 1, NULL, 0), GNET_EINVAL);
	ck_assert_int_eq(gnet_resp_args(NULL, 3, a, 3, NULL, 0), GNET_EINVAL);
}
END_TEST

/* Bytes the codec would not have produced as one frame. */
START_TEST(test_args_garbage)
{
	static const struct { const char *in; size_t n; } bad[] = {
		{ S("*2\r\n$3\r\nSET\r\n") },          /* an argument short */
		{ S("*1\r\n$3\r\nSET\r\nx") },         /* a byte more */
		{ S("*1\r\n$4\r\nSET\r\n") },          /* length past the end */
		{ S("*1\r\nX3\r\nSET\r\n") },          /* no '$' */
		{ S("*1\r\n$-1\r\n") },
		{ S("*x\r\n") },
		{ S("*1") },
		{ S("*2147483648\r\n") },
		{ S("*0\r\nx") },
		{ S("PING") },                         /* no "\n" */
		{ S("PI\nNG\n") },                     /* two lines */
		{ S("\"PING\n") },
	};
	char scratch[32];
	gnet_resp_arg_t a[4];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(gnet_resp_args(bad[i].in, bad[i].n, a, 4, scratch,
		    sizeof(scratch)) == GNET_EBADFRAME, "row %zu accepted", i);
	ck_assert_int_eq(gnet_resp_args(S("*0\r\n"), a, 4, NULL, 0), 0);
	ck_assert_int_eq(gnet_resp_args(S(" \n"), a, 4, scratch, 2), 0);
}
END_TEST

/* ------------------------------------------------------------------------
 * Live: an engine whose connections use the codec, reading 3 bytes at a
 * time, answers each command with its arguments as a RESP array, a
 * protocol error with "-ERR" and a close, and closes without a word on a
 * command over the max frame.
 */
#define LIVE_IO_MS 10000
#define LIVE_READ_CAP 3
#define LIVE_MAX_FRAME 1024

static tn_loop_errors_t live_errs;

static void
live_put(gnet_conn_t *c, const char *fmt, size_t n, const void *p)
{
	char head[32];
	int k = snprintf(head, sizeof(head), fmt, n);

	TN_LOOP_CHECK(&live_errs, gnet_conn_write(c, head, (size_t)k) == k);
	if (p != NULL)
		TN_LOOP_CHECK(&live_errs, gnet_conn_write(c, p, n) == (long)n &&
		    gnet_conn_write(c, "\r\n", 2) == 2);
}

static gnet_action_t
live_on_traffic(gnet_conn_t *c, void *udata)
{
	const void *data = NULL;
	size_t n = gnet_conn_peek(c, &data);
	const char *e = gnet_resp_error(gnet_conn_codec_state(c));
	gnet_resp_arg_t a[8];
	char *scratch;
	long argc, i;

	if (n == 0) {
		if (e == NULL)
			return GNET_NONE;
		live_put(c, "-ERR ", 0, NULL);
		TN_LOOP_CHECK(&live_errs, gnet_conn_write(c, e, strlen(e)) ==
		    (long)strlen(e) && gnet_conn_write(c, "\r\n", 2) == 2);
		return GNET_CLOSE;
	}
	scratch = malloc(n);
	argc = gnet_resp_args(data, n, a, 8, scratch, n);
	TN_LOOP_CHECK(&live_errs, argc > 0 && argc <= 8);
	if (argc > 0 && argc <= 8) {
		live_put(c, "*%zu\r\n", (size_t)argc, NULL);
		for (i = 0; i < argc; i++)
			live_put(c, "$%zu\r\n", a[i].len, a[i].ptr);
	}
	free(scratch);
	gnet_conn_discard(c, n);
	return GNET_NONE;
}

START_TEST(test_live_engine)
{
	static const char req[] =
	    "*2\r\n$4\r\nECHO\r\n$5\r\nh\r\n\0y\r\n"
	    "\r\n"
	    "SET \"a b\" '\\'c'\r\n"
	    "*0\r\n"
	    "*1\r\nX\r\n"
	    "PING\r\n";
	static const char want[] =
	    "*2\r\n$4\r\nECHO\r\n$5\r\nh\r\n\0y\r\n"
	    "*3\r\n$3\r\nSET\r\n$3\r\na b\r\n$2\r\n'c\r\n"
	    "-ERR Protocol error: expected '$', got 'X'\r\n";
	gnet_codec_t *codec = codec_new(LIMITS(.max_frame = LIVE_MAX_FRAME));
	gnet_events_t ev = { .size = sizeof(ev),
	    .on_traffic = live_on_traffic };
	gnet_options_t opts = { .size = sizeof(opts), .codec = codec,
	    .read_buffer_cap = LIVE_READ_CAP };
	char got[sizeof(want)], big[32];
	tn_server_t srv;
	size_t extra = 0;
	int fd;

	tn_loop_errors_reset(&live_errs);
	tn_server_start(&srv, &ev, &opts, NULL);
	fd = tn_connect(srv.port);
	ck_assert_int_ge(fd, 0);
	ck_assert_uint_eq(tn_send_all(fd, req, sizeof(req) - 1, LIVE_IO_MS),
	    sizeof(req) - 1);
	ck_assert_uint_eq(tn_read_exact(fd, got, sizeof(want) - 1, LIVE_IO_MS),
	    sizeof(want) - 1);
	ck_assert(memcmp(got, want, sizeof(want) - 1) == 0);
	/* Nothing after the error: PING is never answered. */
	ck_assert_int_eq(tn_wait_eof(fd, LIVE_IO_MS, &extra), 1);
	ck_assert_uint_eq(extra, 0);
	tn_close(&fd);

	fd = tn_connect(srv.port);
	ck_assert_int_ge(fd, 0);
	snprintf(big, sizeof(big), "*1\r\n$%d\r\n", LIVE_MAX_FRAME);
	ck_assert_uint_eq(tn_send_all(fd, big, strlen(big), LIVE_IO_MS),
	    strlen(big));
	ck_assert_int_eq(tn_wait_eof(fd, LIVE_IO_MS, &extra), 1);
	ck_assert_uint_eq(extra, 0);
	tn_close(&fd);

	tn_server_close(&srv);
	TN_ASSERT_NO_LOOP_ERRORS(&live_errs);
	gnet_codec_free(codec);
}
END_TEST

static Suite *
resp_codec_suite(void)
{
	Suite *s = suite_create("resp_codec");
	TCase *tc;

	tc = tn_tcase("decode", TCASE_TIMEOUT_S);
	tcase_add_test(tc, test_decode_table);
	tcase_add_test(tc, test_error_sticks);
	tcase_add_test(tc, test_dollar_every_byte);
	tcase_add_test(tc, test_too_big_lines);
	tcase_add_test(tc, test_long_line_complete);
	tcase_add_test(tc, test_new_stream);
	tcase_add_test(tc, test_encode_passthrough);
	suite_add_tcase(s, tc);

	tc = tn_tcase("limits", TCASE_TIMEOUT_S);
	tcase_add_test(tc, test_limits_config);
	tcase_add_test(tc, test_limits_apply);
	tcase_add_test(tc, test_max_frame);
	suite_add_tcase(s, tc);

	tc = tn_tcase("streams", TCASE_TIMEOUT_S);
	tcase_add_test(tc, test_pipeline_reads);
	tcase_add_test(tc, test_binary_args);
	tcase_add_test(tc, test_big_bulk_linear);
	tcase_add_test(tc, test_long_line_linear);
	suite_add_tcase(s, tc);

	tc = tn_tcase("args", TCASE_TIMEOUT_S);
	tcase_add_test(tc, test_args_inline);
	tcase_add_test(tc, test_args_calls);
	tcase_add_test(tc, test_args_garbage);
	suite_add_tcase(s, tc);

	tc = tn_tcase("live", TCASE_TIMEOUT_S);
	tcase_add_test(tc, test_live_engine);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tn_run_suite(resp_codec_suite());
}
