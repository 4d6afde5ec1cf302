/*
 * check_codec_live_bad_input.c -- integration suite "codec_live_bad_input":
 * frame codecs on a real engine on loopback, fed what no codec should
 * accept, by plain client sockets.
 *
 * The echo server (support/frame_server) runs each codec of
 * support/codec_specs. Each case runs a misbehaving client next to a
 * well-behaved one on the same engine (same loop), which must keep its
 * echo before and after. Good frames sent in the same write before the
 * bad bytes must be answered before the close.
 *
 * Covers:
 *   - the max_frame boundary: exactly max_frame passes, one byte more is
 *     GNET_EFRAMESIZE, whole or read byte by byte;
 *   - over max_frame (and 1 GiB declared) closes promptly with
 *     GNET_EFRAMESIZE on the header alone, negative adjusted length and
 *     length overflow give GNET_EBADFRAME, a peer leaving mid-frame gives
 *     GNET_ETRUNCATED, random garbage ends exactly as the reference decoder
 *     says, a 32 MiB line with max 64 KiB is refused with bounded memory.
 *
 * Server callbacks only record into atomics; the test thread asserts, with
 * bounded waits. No sleep is used to synchronise with the engine.
 */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gnet.h"
#include "support/bytes.h"
#include "support/codec_check.h"
#include "support/codec_specs.h"
#include "support/conn_log.h"
#include "support/frame_server.h"
#include "support/testnet.h"

#define TCASE_TIMEOUT_S 60
#define WAIT_MS 5000            /* for a callback to be observed */
#define IO_MS 10000             /* for a single client exchange */
#define PROMPT_MS 2000          /* "promptly": a bad header closes by then */

#define SPLIT_FIXED_LEN 48      /* the fixed codec's frame length */

#define BAD_LF_MAX 4096         /* length-field max_frame (whole frame) */
#define BAD_LINE_MAX 64
#define NEG_ADJ 8               /* length_adjustment -8, encode +8 */
#define GOOD_FRAMES 3           /* good frames before a bad one */
#define GARBAGE_MAX 300         /* max_frame in the garbage tests */
#define GARBAGE_FIXED 100
#define GARBAGE_BYTES 4096
#define GARBAGE_SEEDS 3
#define FLOOD_MAX ((size_t)64 * 1024)
#define FLOOD_BYTES ((size_t)32 * 1024 * 1024)
#define FLOOD_SENT_LIMIT ((size_t)16 * 1024 * 1024)
#define FLOOD_CHUNK ((size_t)64 * 1024)
#define RSS_LIMIT_KB (64L * 1024)

#define assert_no_loop_errors(ctx) TN_ASSERT_NO_LOOP_ERRORS(&(ctx)->errs)

/* ------------------------------------------------------------------------
 * Bad frames. Each case runs a misbehaving client next to a well-behaved
 * one on the same engine (same loop), which must keep its echo before and
 * after. Good frames sent in the same write before the bad bytes must be
 * answered before the close.
 */
enum bad_kind {
	BAD_HEADER,             /* a length field declaring `declared` */
	BAD_LONG_LINE,          /* max_frame + 1 bytes, then the delimiter */
	BAD_NO_DELIM            /* 4 x max_frame bytes without a delimiter */
};

typedef struct bad_case {
	const char *name;
	int spec;
	size_t max_frame;       /* 0: default */
	long adj;               /* length field: length_adjustment */
	int good_before;        /* good frames in the same write first */
	enum bad_kind kind;
	uint64_t declared;      /* BAD_HEADER */
	int reason;             /* expected close reason */
} bad_case_t;

static const bad_case_t bad_cases[] = {
	{ "lf4 over max_frame, header only", SPEC_LF4, BAD_LF_MAX, 0, 0,
	  BAD_HEADER, BAD_LF_MAX + 1, GNET_EFRAMESIZE },
	{ "lf4 over max_frame after good frames", SPEC_LF4, BAD_LF_MAX, 0,
	  GOOD_FRAMES, BAD_HEADER, BAD_LF_MAX, GNET_EFRAMESIZE },
	{ "lf4 1 GiB, default max", SPEC_LF4, 0, 0, GOOD_FRAMES, BAD_HEADER,
	  (uint64_t)1 << 30, GNET_EFRAMESIZE },
	{ "lf8 le 1 GiB, default max, header only", SPEC_LF8LE, 0, 0, 0,
	  BAD_HEADER, (uint64_t)1 << 30, GNET_EFRAMESIZE },
	{ "lf4 negative adjusted length", SPEC_LF4, 0, -NEG_ADJ, GOOD_FRAMES,
	  BAD_HEADER, NEG_ADJ - 1, GNET_EBADFRAME },
	{ "lf4 negative adjusted length, header only", SPEC_LF4, 0, -NEG_ADJ, 0,
	  BAD_HEADER, 0, GNET_EBADFRAME },
	{ "lf8 le length over INT64_MAX", SPEC_LF8LE, 0, 0, GOOD_FRAMES,
	  BAD_HEADER, UINT64_MAX, GNET_EBADFRAME },
	{ "line over max_frame, delimited", SPEC_LINE, BAD_LINE_MAX, 0,
	  GOOD_FRAMES, BAD_LONG_LINE, 0, GNET_EFRAMESIZE },
	{ "line over max_frame, no delimiter", SPEC_LINE, BAD_LINE_MAX, 0,
	  GOOD_FRAMES, BAD_NO_DELIM, 0, GNET_EFRAMESIZE },
	{ "delim \\r\\n\\r\\n over max_frame, no delimiter", SPEC_CRLF2,
	  BAD_LINE_MAX, 0, GOOD_FRAMES, BAD_NO_DELIM, 0, GNET_EFRAMESIZE },
	{ "delim | over max_frame, delimited", SPEC_PIPE, BAD_LINE_MAX, 0,
	  GOOD_FRAMES, BAD_LONG_LINE, 0, GNET_EFRAMESIZE },
};
#define N_BAD (sizeof bad_cases / sizeof bad_cases[0])

START_TEST(test_bad_frame)
{
	const bad_case_t *bc = &bad_cases[_i];
	const codec_spec_t *sp = &codec_specs[bc->spec];
	codec_inst_t ci;
	codec_inst_init_adj(&ci, bc->spec, 0, bc->max_frame, bc->adj);

	frame_server_t ctx;
	frame_server_init(&ctx, FS_ECHO);
	tn_server_t s;
	frame_server_start(&s, &ctx, ci.codec, 1, 0);

	int good = frame_server_connect(&s, &ctx, 0);
	good_exchange(good, &ci, 1, "before");

	/* Good frames, then the bad bytes, in one write. */
	bytes_t tx = { 0 }, want = { 0 };
	uint8_t payload[64];
	for (int i = 0; i < bc->good_before; i++) {
		size_t n = codec_inst_len(&ci, 20 + (size_t)i);
		codec_inst_payload(&ci, payload, n, 70 + (uint64_t)i);
		bytes_add_frame(&tx, ci.codec, payload, n);
		bytes_add_frame(&want, ci.codec, payload, n);
	}
	if (bc->kind == BAD_HEADER) {
		uint8_t hdr[8];
		put_length_field(hdr, sp->width, sp->little, bc->declared);
		bytes_add(&tx, hdr, (size_t)sp->width);
	} else {
		size_t n = bc->kind == BAD_LONG_LINE ? bc->max_frame + 1 :
		    4 * bc->max_frame;
		uint8_t *body = malloc(n);
		ck_assert_ptr_nonnull(body);
		codec_inst_payload(&ci, body, n, 99);
		bytes_add(&tx, body, n);
		if (bc->kind == BAD_LONG_LINE)
			bytes_add(&tx, sp->kind == K_LINE ? "\n" : sp->delim,
			    sp->kind == K_LINE ? 1 : sp->dlen);
		free(body);
	}

	int bad = frame_server_connect(&s, &ctx, 1);
	long t0 = (long)tn_now_ms();
	ssize_t w = send(bad, tx.p, tx.len, MSG_NOSIGNAL);
	ck_assert_msg(w == (ssize_t)tx.len, "single write: %zd of %zu bytes", w,
	    tx.len);
	/* No body follows a bad header: the header alone must close it. */
	expect_replies_then_eof(bad, &want, bc->name);
	tn_conn_log_wait_closed(&ctx.log, 1, WAIT_MS);
	tn_conn_log_assert_reason(&ctx.log, 1, bc->reason, bc->name);
	long took = atomic_load(&ctx.log.conn[1].close_ms) - t0;
	ck_assert_msg(took <= PROMPT_MS, "%s: closed after %ld ms", bc->name, took);
	ck_assert_int_eq(atomic_load(&ctx.log.conn[1].frames), bc->good_before);
	tn_close(&bad);

	/* The neighbour is untouched. */
	ck_assert_int_eq(atomic_load(&ctx.log.conn[0].closes), 0);
	good_exchange(good, &ci, 2, "after");
	frame_server_close_good(&ctx, &good, 0);
	tn_server_close(&s);
	assert_no_loop_errors(&ctx);
	bytes_free(&tx);
	bytes_free(&want);
	codec_inst_free(&ci);
}
END_TEST

/* ------------------------------------------------------------------------
 * The max_frame boundary, read whole or byte by byte: a frame of exactly
 * max_frame is echoed (for the line codec also with a "\r\n" ending, the
 * "\r" being dropped), one byte more closes with GNET_EFRAMESIZE. The
 * length field's max_frame counts its header.
 */
static const int boundary_specs[] = {
	SPEC_LINE, SPEC_CRLF2, SPEC_PIPE, SPEC_LF1, SPEC_LF2LE, SPEC_LF3, SPEC_LF4, SPEC_LF8LE
};
#define N_BOUNDARY (sizeof boundary_specs / sizeof boundary_specs[0])

START_TEST(test_max_frame_boundary)
{
	int spec = boundary_specs[_i % N_BOUNDARY];
	size_t cap = _i < (int)N_BOUNDARY ? 0 : 1;
	codec_inst_t ci;
	codec_inst_init(&ci, spec, 0, BAD_LINE_MAX);
	size_t max = ci.max_payload;
	ck_assert_uint_eq(max, ci.sp->kind == K_LF ?
	    BAD_LINE_MAX - (size_t)ci.sp->width : BAD_LINE_MAX);

	frame_server_t ctx;
	frame_server_init(&ctx, FS_ECHO);
	tn_server_t s;
	frame_server_start(&s, &ctx, ci.codec, 1, cap);

	/* Exactly max_frame: accepted. */
	uint8_t payload[BAD_LINE_MAX + 1];
	bytes_t tx = { 0 }, want = { 0 };
	codec_inst_payload(&ci, payload, max + 1, 42);
	bytes_add_frame(&tx, ci.codec, payload, max);
	bytes_add_frame(&want, ci.codec, payload, max);
	if (ci.sp->kind == K_LINE) {
		bytes_add(&tx, payload, max);
		bytes_add(&tx, "\r\n", 2);
		bytes_add_frame(&want, ci.codec, payload, max);
	}
	int good = frame_server_connect(&s, &ctx, 0);
	char what[96];
	snprintf(what, sizeof what, "%s, %zu-byte frame, read_buffer_cap %zu",
	    ci.sp->name, max, cap);
	exchange(good, &tx, &want, what);

	/* One byte more: refused. */
	bytes_t over = { 0 }, none = { 0 };
	bytes_add_frame(&over, ci.codec, payload, max + 1);
	int bad = frame_server_connect(&s, &ctx, 1);
	ck_assert_uint_eq(tn_send_all(bad, over.p, over.len, IO_MS), over.len);
	snprintf(what, sizeof what, "%s, %zu-byte frame, read_buffer_cap %zu",
	    ci.sp->name, max + 1, cap);
	expect_replies_then_eof(bad, &none, what);
	tn_conn_log_wait_closed(&ctx.log, 1, WAIT_MS);
	tn_conn_log_assert_reason(&ctx.log, 1, GNET_EFRAMESIZE, what);
	ck_assert_int_eq(atomic_load(&ctx.log.conn[1].frames), 0);
	tn_close(&bad);

	ck_assert_int_eq(atomic_load(&ctx.log.conn[0].closes), 0);
	good_exchange(good, &ci, 11, "after");
	frame_server_close_good(&ctx, &good, 0);
	tn_server_close(&s);
	assert_no_loop_errors(&ctx);
	bytes_free(&tx);
	bytes_free(&want);
	bytes_free(&over);
	codec_inst_free(&ci);
}
END_TEST

/* ------------------------------------------------------------------------
 * A peer that leaves mid-frame (shutdown SHUT_WR): GNET_ETRUNCATED, after
 * the replies to its complete frames. Cut after 1 byte, at half, and one
 * byte short of the frame (e.g. inside a delimiter or a header).
 */
START_TEST(test_truncated)
{
	int spec = _i % N_SPECS;
	int cut_kind = _i / N_SPECS;
	codec_inst_t ci;
	codec_inst_init(&ci, spec, SPLIT_FIXED_LEN, 0);

	frame_server_t ctx;
	frame_server_init(&ctx, FS_ECHO);
	tn_server_t s;
	frame_server_start(&s, &ctx, ci.codec, 1, 0);
	int good = frame_server_connect(&s, &ctx, 0);
	good_exchange(good, &ci, 3, "before");

	bytes_t tx = { 0 }, want = { 0 }, last = { 0 };
	uint8_t payload[64];
	for (int i = 0; i < 2; i++) {
		size_t n = codec_inst_len(&ci, 30 + (size_t)i);
		codec_inst_payload(&ci, payload, n, 80 + (uint64_t)i);
		bytes_add_frame(&tx, ci.codec, payload, n);
		bytes_add_frame(&want, ci.codec, payload, n);
	}
	size_t n = codec_inst_len(&ci, 40);
	codec_inst_payload(&ci, payload, n, 90);
	size_t flen = bytes_add_frame(&last, ci.codec, payload, n);
	size_t cut = cut_kind == 0 ? 1 : cut_kind == 1 ? flen / 2 : flen - 1;
	bytes_add(&tx, last.p, cut);

	int bad = frame_server_connect(&s, &ctx, 1);
	ck_assert_uint_eq(tn_send_all(bad, tx.p, tx.len, IO_MS), tx.len);
	ck_assert_int_eq(shutdown(bad, SHUT_WR), 0);
	char what[96];
	snprintf(what, sizeof what, "%s, cut at %zu of %zu", ci.sp->name, cut, flen);
	expect_replies_then_eof(bad, &want, what);
	tn_conn_log_wait_closed(&ctx.log, 1, WAIT_MS);
	tn_conn_log_assert_reason(&ctx.log, 1, GNET_ETRUNCATED, what);
	ck_assert_int_eq(atomic_load(&ctx.log.conn[1].frames), 2);
	tn_close(&bad);

	ck_assert_int_eq(atomic_load(&ctx.log.conn[0].closes), 0);
	good_exchange(good, &ci, 4, "after");
	/* Complete frames then EOF: GNET_EEOF, not GNET_ETRUNCATED. */
	frame_server_close_good(&ctx, &good, 0);
	tn_server_close(&s);
	assert_no_loop_errors(&ctx);
	bytes_free(&tx);
	bytes_free(&want);
	bytes_free(&last);
	codec_inst_free(&ci);
}
END_TEST

/* ------------------------------------------------------------------------
 * Garbage: random bytes (fixed seeds) into every codec, max_frame 300,
 * read in chunks of 64 KiB, 7 or 61 bytes. The standalone decoder over the
 * whole input is the reference: the engine must echo exactly the frames it
 * finds before its first error and close with the reason it gives (the
 * error, GNET_ETRUNCATED for a partial frame at the end, else GNET_EEOF).
 */
static const size_t garbage_caps[GARBAGE_SEEDS] = { 0, 7, 61 };

static int reference_replies(const codec_inst_t *ci, const uint8_t *in,
    size_t n, bytes_t *out, int *frames)
{
	size_t ssz = gnet_codec_state_size(ci->codec);
	void *st = calloc(1, ssz ? ssz : 1);
	ck_assert_ptr_nonnull(st);
	size_t off = 0;
	int reason;
	*frames = 0;
	for (;;) {
		gnet_frame_t f;
		if (off == n) {
			reason = GNET_EEOF;
			break;
		}
		int r = gnet_codec_decode(ci->codec, st, in + off, n - off, &f);
		if (r < 0) {
			reason = r;
			break;
		}
		if (r == 0) {
			reason = GNET_ETRUNCATED;
			break;
		}
		bytes_add_frame(out, ci->codec, f.data != NULL ? f.data : "", f.len);
		off += f.consumed;
		(*frames)++;
	}
	free(st);
	return reason;
}

START_TEST(test_garbage)
{
	int spec = _i % N_SPECS;
	int seed = _i / N_SPECS;
	codec_inst_t ci;
	codec_inst_init(&ci, spec, GARBAGE_FIXED, GARBAGE_MAX);

	size_t len = GARBAGE_BYTES + 123 * (size_t)seed;
	uint8_t *junk = malloc(len);
	ck_assert_ptr_nonnull(junk);
	tn_fill_random(junk, len, 0xBAD0 + (uint64_t)(spec * 16 + seed));
	bytes_t want = { 0 };
	int frames = 0;
	int reason = reference_replies(&ci, junk, len, &want, &frames);
	ck_assert_msg(reason == GNET_EEOF || reason == GNET_ETRUNCATED ||
	    reason == GNET_EFRAMESIZE || reason == GNET_EBADFRAME,
	    "reference decoder: undocumented result %d (%s)", reason,
	    gnet_strerror(reason));

	frame_server_t ctx;
	frame_server_init(&ctx, FS_ECHO);
	tn_server_t s;
	frame_server_start(&s, &ctx, ci.codec, 1, garbage_caps[seed]);
	int good = frame_server_connect(&s, &ctx, 0);
	good_exchange(good, &ci, 5, "before");

	int bad = frame_server_connect(&s, &ctx, 1);
	ck_assert_uint_eq(tn_send_all(bad, junk, len, IO_MS), len);
	ck_assert_int_eq(shutdown(bad, SHUT_WR), 0);
	char what[128];
	snprintf(what, sizeof what, "%s, seed %d, cap %zu (%d frames, then %s)",
	    ci.sp->name, seed, garbage_caps[seed], frames, gnet_strerror(reason));
	expect_replies_then_eof(bad, &want, what);
	tn_conn_log_wait_closed(&ctx.log, 1, WAIT_MS);
	tn_conn_log_assert_reason(&ctx.log, 1, reason, what);
	ck_assert_int_eq(atomic_load(&ctx.log.conn[1].frames), frames);
	tn_close(&bad);

	ck_assert_int_eq(atomic_load(&ctx.log.conn[0].closes), 0);
	good_exchange(good, &ci, 6, "after");
	frame_server_close_good(&ctx, &good, 0);
	tn_server_close(&s);
	assert_no_loop_errors(&ctx);
	bytes_free(&want);
	free(junk);
	codec_inst_free(&ci);
}
END_TEST

/* ------------------------------------------------------------------------
 * A line codec with max_frame 64 KiB and a client streaming 32 MiB with no
 * newline: GNET_EFRAMESIZE, the client could send only what max_frame and
 * the socket buffers hold, and the process did not buffer the stream.
 */
static long vm_rss_kb(void)
{
	long kb = tn_rss_kb(0);

	ck_assert_msg(kb > 0, "no VmRSS in /proc/self/status");
	return kb;
}

/* Send up to `total` bytes of 'x' from one small buffer until the peer
 * refuses (reset, EPIPE) or timeout_ms passes; returns the bytes sent. */
static size_t stream_no_newline(int fd, size_t total, int timeout_ms,
    int *err)
{
	uint8_t *chunk = malloc(FLOOD_CHUNK);
	ck_assert_ptr_nonnull(chunk);
	memset(chunk, 'x', FLOOD_CHUNK);
	size_t sent = 0;
	int64_t deadline = tn_now_ms() + timeout_ms;
	*err = 0;
	while (sent < total) {
		size_t want = total - sent < FLOOD_CHUNK ? total - sent : FLOOD_CHUNK;
		ssize_t w = send(fd, chunk, want, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0) {
			sent += (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			*err = errno;
			break;
		}
		if (tn_now_ms() >= deadline)
			break;
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };
		poll(&pfd, 1, 100);
	}
	free(chunk);
	return sent;
}

START_TEST(test_line_flood_bounded)
{
	codec_inst_t ci;
	codec_inst_init(&ci, SPEC_LINE, 0, FLOOD_MAX);

	frame_server_t ctx;
	frame_server_init(&ctx, FS_ECHO);
	tn_server_t s;
	frame_server_start(&s, &ctx, ci.codec, 1, 0);
	int good = frame_server_connect(&s, &ctx, 0);
	good_exchange(good, &ci, 7, "before");

	long rss0 = vm_rss_kb();
	int bad = frame_server_connect(&s, &ctx, 1);
	long t0 = (long)tn_now_ms();
	int err = 0;
	size_t sent = stream_no_newline(bad, FLOOD_BYTES, IO_MS, &err);
	tn_conn_log_wait_closed(&ctx.log, 1, WAIT_MS);
	tn_conn_log_assert_reason(&ctx.log, 1, GNET_EFRAMESIZE, "32 MiB without a newline");
	long took = atomic_load(&ctx.log.conn[1].close_ms) - t0;
	ck_assert_msg(took <= PROMPT_MS, "closed %ld ms after the stream began",
	    took);
	ck_assert_msg(sent < FLOOD_SENT_LIMIT,
	    "client sent %zu bytes (send error %d) of a line limited to %zu",
	    sent, err, FLOOD_MAX);
	ck_assert_int_eq(atomic_load(&ctx.log.conn[1].frames), 0);
	long grew = vm_rss_kb() - rss0;
	ck_assert_msg(grew < RSS_LIMIT_KB, "VmRSS grew by %ld KiB", grew);
	tn_close(&bad);

	ck_assert_int_eq(atomic_load(&ctx.log.conn[0].closes), 0);
	good_exchange(good, &ci, 8, "after");
	frame_server_close_good(&ctx, &good, 0);
	tn_server_close(&s);
	assert_no_loop_errors(&ctx);
	codec_inst_free(&ci);
}
END_TEST

/* ------------------------------------------------------------------------
 */
static Suite *codec_live_bad_input_suite(void)
{
	Suite *s = suite_create("codec_live_bad_input");
	TCase *tc;

	tc = tn_tcase("bad_input", TCASE_TIMEOUT_S);
	tcase_add_loop_test(tc, test_bad_frame, 0, (int)N_BAD);
	tcase_add_loop_test(tc, test_max_frame_boundary, 0, 2 * (int)N_BOUNDARY);
	tcase_add_loop_test(tc, test_truncated, 0, 3 * N_SPECS);
	tcase_add_loop_test(tc, test_garbage, 0, GARBAGE_SEEDS * N_SPECS);
	tcase_add_test(tc, test_line_flood_bounded);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tn_run_suite(codec_live_bad_input_suite());
}
