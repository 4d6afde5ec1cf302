/*
 * check_codec_live.c -- integration suite "codec_live": frame codecs on a
 * real engine on loopback, driven by plain client sockets that encode with
 * gnet_codec_encode and check every reply byte for byte.
 *
 * One echo server (support/frame_server), parameterised by codec (line,
 * delimiter "\r\n\r\n" and "|", fixed, length field 1/2/3/4/8 bytes in
 * both byte orders: support/codec_specs), echoes each frame with
 * gnet_conn_write, so the reply is the re-encoded frame. The server also
 * counts frames and sums a hash of every frame it was handed, so a codec
 * that silently fell back to raw bytes cannot pass.
 *
 * Covers:
 *   - round trips, 10 concurrent clients x several frames, 1 and 4 loops;
 *   - frames split across reads: read_buffer_cap 1, 3 and 7, and one frame
 *     sent in two writes split at every byte boundary;
 *   - 200 frames pipelined in one write: 200 on_traffic calls, in order;
 *   - frame sizes 64 B .. 1 MiB (length field, and line with max 2 MiB);
 *   - a handler that leaves part of a frame: the rest is dropped;
 *   - gnet_conn_set_codec from on_open (engine codec NULL) and switching
 *     codec inside on_traffic (line/length field/raw, either way) for bytes
 *     of the same read: answered without waiting for more input, and not
 *     lost when a FIN follows them;
 *   - gnet_conn_write_async from a foreign thread is encoded as one frame, and
 *     writes the codec refuses (GNET_EFRAMESIZE / GNET_EINVAL) write nothing.
 * Bad input is suite "codec_live_bad_input".
 *
 * Server callbacks only record into atomics; the test thread asserts, with
 * bounded waits. No sleep is used to synchronise with the engine.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gnet.h"
#include "support/bytes.h"
#include "support/codec_specs.h"
#include "support/conn_log.h"
#include "support/engine_stats.h"
#include "support/frame_server.h"
#include "support/testnet.h"

#define TCASE_TIMEOUT_S 60
#define WAIT_MS 5000            /* for a callback to be observed */
#define IO_MS 10000             /* for a single client exchange */
#define PUMP_MS 30000           /* for a multi-client exchange */

/* Round trips. */
#define RT_CLIENTS 10
#define RT_FRAMES 8             /* frames per client (scaled, at least 2) */
#define RT_FRAME_LEN 1024
#define RT_FIXED_LEN 1024

/* Split reads and writes. */
#define SPLIT_FIXED_LEN 48      /* the fixed codec's frame in split tests */
#define SPLIT_LEN 48            /* payload of the two-write split frame */
#define FIXED_SPLIT_FRAMES 4

/* Pipelining. */
#define PIPE_FRAMES 200
#define PIPE_FIXED_LEN 64

/* Large frames. */
#define BIG_LINE_MAX ((size_t)2 << 20)
#define MIB ((size_t)1 << 20)

/* Partial consumption. */
#define PART_FRAMES 30

/* Async writes. */
#define ASYNC_MSGS 200

#define assert_no_loop_errors(ctx) TN_ASSERT_NO_LOOP_ERRORS(&(ctx)->errs)

/* ------------------------------------------------------------------------
 * Round trips: 10 clients x RT_FRAMES frames of 1 KiB, all at once, for
 * every codec, on 1 and on 4 loops. The one-byte length field carries at
 * most 255 bytes, so its frames are 255 bytes.
 */
START_TEST(test_round_trip)
{
	int spec = _i % N_SPECS;
	int loops = _i < N_SPECS ? 1 : 4;
	codec_inst_t ci;
	codec_inst_init(&ci, spec, RT_FIXED_LEN, 0);
	size_t flen = codec_inst_len(&ci, RT_FRAME_LEN);
	unsigned frames = tn_scaled_min(RT_FRAMES, 2);

	frame_server_t ctx;
	frame_server_init(&ctx, FS_ECHO);
	ctx.frame_len = flen;
	tn_server_t s;
	frame_server_start(&s, &ctx, ci.codec, loops, 0);
	ck_assert_int_eq(gnet_engine_num_loops(s.eng), loops);

	bytes_t tx[RT_CLIENTS];
	tn_client_t cl[RT_CLIENTS];
	uint8_t *payload = malloc(flen);
	ck_assert_ptr_nonnull(payload);
	uint64_t want_hash = 0;
	for (int i = 0; i < RT_CLIENTS; i++) {
		memset(&tx[i], 0, sizeof tx[i]);
		for (unsigned f = 0; f < frames; f++) {
			codec_inst_payload(&ci, payload, flen, 1000 * (uint64_t)(i + 1) + f);
			bytes_add_frame(&tx[i], ci.codec, payload, flen);
			want_hash += frame_hash(payload, flen);
		}
		int fd = tn_connect(s.port);
		ck_assert_msg(fd >= 0, "connect: %s", strerror(errno));
		/* The echo is the re-encoded frame: the same bytes. */
		tn_client_init(&cl[i], fd, tx[i].p, tx[i].len, NULL, 0);
	}
	free(payload);

	int failed = tn_pump(cl, RT_CLIENTS, PUMP_MS);
	ck_assert_msg(failed == 0, "%s, %d loop(s): %d client(s) failed; %s",
	    ci.sp->name, loops, failed, tn_pump_error(cl, RT_CLIENTS));
	ck_assert_int_eq(atomic_load(&ctx.frames), RT_CLIENTS * (int)frames);
	ck_assert_msg(atomic_load(&ctx.hash_sum) == want_hash,
	    "frames handed to on_traffic differ from the frames sent");

	for (int i = 0; i < RT_CLIENTS; i++) {
		tn_close(&cl[i].fd);
		bytes_free(&tx[i]);
	}
	TN_WAIT_UNTIL(atomic_load(&ctx.closes) == RT_CLIENTS, WAIT_MS);
	ck_assert_int_eq(atomic_load(&ctx.closes), RT_CLIENTS);
	for (int i = 0; i < RT_CLIENTS; i++) {
		ck_assert_int_eq(atomic_load(&ctx.log.conn[i].frames), (int)frames);
		tn_conn_log_assert_reason(&ctx.log, i, GNET_EEOF, "round-trip client");
	}
	tn_server_close(&s);
	assert_no_loop_errors(&ctx);
	codec_inst_free(&ci);
}
END_TEST

/* ------------------------------------------------------------------------
 * Frames split across reads: read_buffer_cap 1, 3 and 7, so the server
 * reads every frame (empty ones too) a few bytes at a time.
 */
static const size_t split_caps[] = { 1, 3, 7 };
#define N_SPLIT_CAPS (sizeof split_caps / sizeof split_caps[0])
static const size_t split_sizes[] = { 0, 1, 2, 3, 5, 8, 13, 100, 255, 300 };
#define N_SPLIT_SIZES (sizeof split_sizes / sizeof split_sizes[0])

START_TEST(test_split_read_cap)
{
	int spec = _i % N_SPECS;
	size_t cap = split_caps[_i / N_SPECS];
	codec_inst_t ci;
	codec_inst_init(&ci, spec, SPLIT_FIXED_LEN, 0);

	frame_server_t ctx;
	frame_server_init(&ctx, FS_ECHO);
	tn_server_t s;
	frame_server_start(&s, &ctx, ci.codec, 1, cap);

	bytes_t tx = { 0 };
	uint8_t payload[512];
	uint64_t want_hash = 0;
	int nframes = 0;
	size_t count = ci.sp->kind == K_FIXED ? FIXED_SPLIT_FRAMES : N_SPLIT_SIZES;
	for (size_t i = 0; i < count; i++) {
		size_t n = codec_inst_len(&ci, split_sizes[i]);
		codec_inst_payload(&ci, payload, n, 77 + i);
		bytes_add_frame(&tx, ci.codec, payload, n);
		want_hash += frame_hash(payload, n);
		nframes++;
	}

	int fd = frame_server_connect(&s, &ctx, 0);
	uint64_t it0 = tn_loop_stats_sum(s.eng).iterations;
	char what[96];
	snprintf(what, sizeof what, "%s, read_buffer_cap %zu", ci.sp->name, cap);
	exchange(fd, &tx, &tx, what);
	ck_assert_int_eq(atomic_load(&ctx.frames), nframes);
	ck_assert_msg(atomic_load(&ctx.hash_sum) == want_hash,
	    "%s: frames handed to on_traffic differ from the frames sent", what);
	/* One read of at most `cap` + 1 bytes per wakeup (the one byte more
	 * tells a drained socket, gnet.h): the cap was in force. */
	uint64_t it = tn_loop_stats_sum(s.eng).iterations - it0;
	ck_assert_msg(it >= tx.len / (cap + 1), "%s: %llu loop iterations for %zu bytes",
	    what, (unsigned long long)it, tx.len);

	frame_server_close_good(&ctx, &fd, 0);
	tn_server_close(&s);
	assert_no_loop_errors(&ctx);
	bytes_free(&tx);
	codec_inst_free(&ci);
}
END_TEST

/* One frame sent in two writes split at every byte boundary k, on one
 * connection, without sleeps: whether TCP merges the two writes or not,
 * the echo must be exact. */
START_TEST(test_split_two_writes)
{
	codec_inst_t ci;
	codec_inst_init(&ci, _i, SPLIT_FIXED_LEN, 0);
	size_t plen = codec_inst_len(&ci, SPLIT_LEN);

	frame_server_t ctx;
	frame_server_init(&ctx, FS_ECHO);
	ctx.frame_len = plen;
	tn_server_t s;
	frame_server_start(&s, &ctx, ci.codec, 1, 0);
	int fd = frame_server_connect(&s, &ctx, 0);

	uint8_t payload[SPLIT_LEN];
	uint64_t want_hash = 0;
	int nframes = 0;
	size_t flen = 0;
	for (size_t k = 1;; k++) {
		bytes_t tx = { 0 };
		codec_inst_payload(&ci, payload, plen, 500 + k);
		flen = bytes_add_frame(&tx, ci.codec, payload, plen);
		if (k >= flen) {
			bytes_free(&tx);
			break;
		}
		want_hash += frame_hash(payload, plen);
		nframes++;
		ck_assert_uint_eq(tn_send_all(fd, tx.p, k, IO_MS), k);
		ck_assert_uint_eq(tn_send_all(fd, tx.p + k, flen - k, IO_MS), flen - k);
		uint8_t got[SPLIT_LEN + 16];
		size_t n = tn_read_exact(fd, got, flen, IO_MS);
		ck_assert_msg(n == flen && memcmp(got, tx.p, flen) == 0,
		    "%s, split at %zu of %zu: received %zu bytes, differ at %zu",
		    ci.sp->name, k, flen, n, tn_first_diff(got, tx.p, n));
		bytes_free(&tx);
	}
	ck_assert_int_eq(nframes, (int)flen - 1);
	ck_assert_int_eq(atomic_load(&ctx.frames), nframes);
	ck_assert_msg(atomic_load(&ctx.hash_sum) == want_hash,
	    "frames handed to on_traffic differ from the frames sent");

	frame_server_close_good(&ctx, &fd, 0);
	tn_server_close(&s);
	assert_no_loop_errors(&ctx);
	codec_inst_free(&ci);
}
END_TEST

/* ------------------------------------------------------------------------
 * 200 frames in a single write: 200 on_traffic calls, 200 echoes in order.
 */
START_TEST(test_pipelined_200)
{
	codec_inst_t ci;
	codec_inst_init(&ci, _i, PIPE_FIXED_LEN, 0);

	frame_server_t ctx;
	frame_server_init(&ctx, FS_ECHO);
	tn_server_t s;
	frame_server_start(&s, &ctx, ci.codec, 1, 0);

	bytes_t tx = { 0 };
	uint8_t payload[256];
	uint64_t want_hash = 0;
	for (int i = 0; i < PIPE_FRAMES; i++) {
		size_t n = codec_inst_len(&ci, (size_t)(i * 7) % 200);
		codec_inst_payload(&ci, payload, n, 9000 + (uint64_t)i);
		bytes_add_frame(&tx, ci.codec, payload, n);
		want_hash += frame_hash(payload, n);
	}
	ck_assert_uint_le(tx.len, 64 * 1024); /* one send, one read */

	int fd = frame_server_connect(&s, &ctx, 0);
	ssize_t w = send(fd, tx.p, tx.len, MSG_NOSIGNAL);
	ck_assert_msg(w == (ssize_t)tx.len, "single write: %zd of %zu bytes", w,
	    tx.len);
	bytes_t none = { 0 };
	bytes_t *want = &tx;
	char what[64];
	snprintf(what, sizeof what, "%s, 200 pipelined", ci.sp->name);
	exchange(fd, &none, want, what);
	ck_assert_int_eq(atomic_load(&ctx.frames), PIPE_FRAMES);
	ck_assert_int_eq(atomic_load(&ctx.log.conn[0].frames), PIPE_FRAMES);
	ck_assert_msg(atomic_load(&ctx.hash_sum) == want_hash,
	    "frames handed to on_traffic differ from the frames sent");

	frame_server_close_good(&ctx, &fd, 0);
	tn_server_close(&s);
	assert_no_loop_errors(&ctx);
	bytes_free(&tx);
	codec_inst_free(&ci);
}
END_TEST

/* ------------------------------------------------------------------------
 * Frame sizes 64 B .. 1 MiB, length field (4 bytes) and line (max 2 MiB).
 */
static const size_t big_sizes[] = { 64, 4096, 65536, MIB };
#define N_BIG_SIZES (sizeof big_sizes / sizeof big_sizes[0])

START_TEST(test_frame_sizes)
{
	codec_inst_t ci;
	if (_i == 0)
		codec_inst_init(&ci, SPEC_LF4, 0, 0);
	else
		codec_inst_init(&ci, SPEC_LINE, 0, BIG_LINE_MAX);

	frame_server_t ctx;
	frame_server_init(&ctx, FS_ECHO);
	tn_server_t s;
	frame_server_start(&s, &ctx, ci.codec, 1, 0);

	bytes_t tx = { 0 };
	uint8_t *payload = malloc(MIB);
	ck_assert_ptr_nonnull(payload);
	uint64_t want_hash = 0;
	for (size_t i = 0; i < N_BIG_SIZES; i++) {
		ck_assert_uint_eq(codec_inst_len(&ci, big_sizes[i]), big_sizes[i]);
		codec_inst_payload(&ci, payload, big_sizes[i], 31 + i);
		bytes_add_frame(&tx, ci.codec, payload, big_sizes[i]);
		want_hash += frame_hash(payload, big_sizes[i]);
	}
	free(payload);

	int fd = frame_server_connect(&s, &ctx, 0);
	tn_client_t cl;
	tn_client_init(&cl, fd, tx.p, tx.len, NULL, 0);
	ck_assert_msg(tn_pump(&cl, 1, PUMP_MS) == 0, "%s: %s", ci.sp->name,
	    tn_pump_error(&cl, 1));
	ck_assert_int_eq(atomic_load(&ctx.frames), (int)N_BIG_SIZES);
	ck_assert_msg(atomic_load(&ctx.hash_sum) == want_hash,
	    "frames handed to on_traffic differ from the frames sent");

	frame_server_close_good(&ctx, &cl.fd, 0);
	tn_server_close(&s);
	assert_no_loop_errors(&ctx);
	bytes_free(&tx);
	codec_inst_free(&ci);
}
END_TEST

/* ------------------------------------------------------------------------
 * A handler that leaves part of a frame: the rest of that frame is
 * dropped, the next frame is delivered intact. Frames arrive together in
 * one read (default cap) or spread over 7-byte reads.
 */
START_TEST(test_partial_consume)
{
	int spec = _i % N_SPECS;
	size_t cap = _i < N_SPECS ? 0 : 7;
	codec_inst_t ci;
	codec_inst_init(&ci, spec, SPLIT_FIXED_LEN, 0);

	frame_server_t ctx;
	frame_server_init(&ctx, FS_PARTIAL);
	tn_server_t s;
	frame_server_start(&s, &ctx, ci.codec, 1, cap);

	bytes_t tx = { 0 };
	uint8_t payload[FS_PART_MAX_LEN];
	uint64_t want_hash = 0;
	for (int i = 0; i < PART_FRAMES; i++) {
		size_t n = codec_inst_len(&ci, 1 + (size_t)(i * 37) % 250);
		codec_inst_payload(&ci, payload, n, 4200 + (uint64_t)i);
		bytes_add_frame(&tx, ci.codec, payload, n);
		want_hash += frame_hash(payload, n);
	}
	int fd = frame_server_connect(&s, &ctx, 0);
	char what[96];
	snprintf(what, sizeof what, "%s, read_buffer_cap %zu", ci.sp->name, cap);
	exchange(fd, &tx, &tx, what);
	ck_assert_int_eq(atomic_load(&ctx.frames), PART_FRAMES);
	ck_assert_msg(atomic_load(&ctx.hash_sum) == want_hash,
	    "%s: frames handed to on_traffic differ from the frames sent", what);

	frame_server_close_good(&ctx, &fd, 0);
	tn_server_close(&s);
	assert_no_loop_errors(&ctx);
	bytes_free(&tx);
	codec_inst_free(&ci);
}
END_TEST

/* ------------------------------------------------------------------------
 * gnet_conn_set_codec in on_open with no engine codec: connection i gets
 * codec i (every kind in the table), all served at once on 2 loops.
 */
START_TEST(test_set_codec_on_open)
{
	codec_inst_t ci[N_SPECS];
	frame_server_t ctx;
	frame_server_init(&ctx, FS_ECHO);
	for (int i = 0; i < N_SPECS; i++) {
		codec_inst_init(&ci[i], i, RT_FIXED_LEN, 0);
		ctx.open_codec[i] = ci[i].codec;
	}
	tn_server_t s;
	frame_server_start(&s, &ctx, NULL, 2, 0);

	bytes_t tx[N_SPECS];
	tn_client_t cl[N_SPECS];
	uint8_t payload[RT_FRAME_LEN];
	uint64_t want_hash = 0;
	for (int i = 0; i < N_SPECS; i++) {
		memset(&tx[i], 0, sizeof tx[i]);
		for (int f = 0; f < 4; f++) {
			size_t n = codec_inst_len(&ci[i], RT_FRAME_LEN - 100 * (size_t)f);
			codec_inst_payload(&ci[i], payload, n, 60 + (uint64_t)(i * 10 + f));
			bytes_add_frame(&tx[i], ci[i].codec, payload, n);
			want_hash += frame_hash(payload, n);
		}
		/* Connected one by one so open order is table order. */
		int fd = frame_server_connect(&s, &ctx, i);
		tn_client_init(&cl[i], fd, tx[i].p, tx[i].len, NULL, 0);
	}
	int failed = tn_pump(cl, N_SPECS, PUMP_MS);
	ck_assert_msg(failed == 0, "%d client(s) failed; %s", failed,
	    tn_pump_error(cl, N_SPECS));
	for (int i = 0; i < N_SPECS; i++)
		ck_assert_msg(atomic_load(&ctx.log.conn[i].frames) == 4,
		    "%s: %d frames, want 4", ci[i].sp->name,
		    atomic_load(&ctx.log.conn[i].frames));
	ck_assert_msg(atomic_load(&ctx.hash_sum) == want_hash,
	    "frames handed to on_traffic differ from the frames sent");

	for (int i = 0; i < N_SPECS; i++) {
		frame_server_close_good(&ctx, &cl[i].fd, i);
		bytes_free(&tx[i]);
	}
	tn_server_close(&s);
	assert_no_loop_errors(&ctx);
	for (int i = 0; i < N_SPECS; i++)
		codec_inst_free(&ci[i]);
}
END_TEST

/* ------------------------------------------------------------------------
 * Switching codec inside on_traffic: a "HELLO" handshake, then frames of
 * another codec, all sent in one write (so they arrive in the same read
 * as the handshake). The client then either waits for the replies, or
 * shuts down its side at once: the frames it sent were complete, so they
 * are answered and the close says GNET_EEOF.
 */
typedef struct switch_case {
	const char *name;
	int from;               /* spec, or -1: raw bytes (no codec) */
	int to;                 /* spec, or -1: raw bytes */
} switch_case_t;

static const switch_case_t switch_cases[] = {
	{ "line -> length field 4", SPEC_LINE, SPEC_LF4 },
	{ "length field 2 le -> line", SPEC_LF2LE, SPEC_LINE },
	{ "line -> raw", SPEC_LINE, -1 },
	{ "raw -> length field 4", -1, SPEC_LF4 },
};
#define N_SWITCH (sizeof switch_cases / sizeof switch_cases[0])

START_TEST(test_switch_codec_in_traffic)
{
	const switch_case_t *sc = &switch_cases[_i % N_SWITCH];
	int shut = _i >= (int)N_SWITCH;
	codec_inst_t from, to;
	memset(&from, 0, sizeof from);
	memset(&to, 0, sizeof to);
	if (sc->from >= 0)
		codec_inst_init(&from, sc->from, 0, 0);
	if (sc->to >= 0)
		codec_inst_init(&to, sc->to, 0, 0);

	frame_server_t ctx;
	frame_server_init(&ctx, FS_HANDSHAKE);
	ctx.next_codec = to.codec;
	ctx.handshake_raw = sc->from < 0;
	tn_server_t s;
	frame_server_start(&s, &ctx, from.codec, 1, 0);

	bytes_t tx = { 0 }, want = { 0 };
	if (sc->from >= 0) {
		bytes_add_frame(&tx, from.codec, "HELLO", 5);
		bytes_add_frame(&want, from.codec, "OK", 2);
	} else {
		bytes_add(&tx, "HELLO\n", 6);
		bytes_add(&want, "OK\n", 3);
	}
	uint8_t payload[200];
	uint64_t want_hash = 0;
	for (int i = 0; i < 3; i++) {
		size_t n = 50 + 30 * (size_t)i;
		if (sc->to >= 0) {
			codec_inst_payload(&to, payload, n, 300 + (uint64_t)i);
			bytes_add_frame(&tx, to.codec, payload, n);
			bytes_add_frame(&want, to.codec, payload, n);
			want_hash += frame_hash(payload, n);
		} else {
			tn_fill_random(payload, n, 300 + (uint64_t)i);
			bytes_add(&tx, payload, n);
			bytes_add(&want, payload, n);
		}
	}

	int fd = frame_server_connect(&s, &ctx, 0);
	ssize_t w = send(fd, tx.p, tx.len, MSG_NOSIGNAL);
	ck_assert_msg(w == (ssize_t)tx.len, "single write: %zd of %zu bytes", w,
	    tx.len);
	char what[96];
	snprintf(what, sizeof what, "%s%s", sc->name, shut ? ", then SHUT_WR" : "");
	if (shut) {
		ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
		expect_replies_then_eof(fd, &want, what);
		tn_conn_log_wait_closed(&ctx.log, 0, WAIT_MS);
		tn_conn_log_assert_reason(&ctx.log, 0, GNET_EEOF, what);
	} else {
		/* Nothing more is sent: the reply must not wait for more. */
		bytes_t none = { 0 };
		exchange_within(fd, &none, &want, what, WAIT_MS);
	}
	ck_assert_int_eq(atomic_load(&ctx.switched[0]), 1);
	if (sc->to >= 0) {
		ck_assert_int_eq(atomic_load(&ctx.frames), 3);
		ck_assert_msg(atomic_load(&ctx.hash_sum) == want_hash,
		    "%s: frames handed to on_traffic differ from those sent",
		    what);
	}

	if (shut)
		tn_close(&fd);
	else
		frame_server_close_good(&ctx, &fd, 0);
	tn_server_close(&s);
	assert_no_loop_errors(&ctx);
	bytes_free(&tx);
	bytes_free(&want);
	if (from.codec != NULL)
		codec_inst_free(&from);
	if (to.codec != NULL)
		codec_inst_free(&to);
}
END_TEST

/* ------------------------------------------------------------------------
 * gnet_conn_write_async from a foreign thread to a connection with a codec:
 * each payload is one frame. With a 1-byte length field, payloads over 255
 * bytes are refused (callback status GNET_EFRAMESIZE) and write nothing.
 */
typedef struct async_job {
	gnet_engine_t *eng;
	gnet_handle_t h;
	frame_server_t *ctx;
	const uint8_t *pool;
	const size_t *off, *len;
	int failures, first_rc;
} async_job_t;

static void *async_main(void *arg)
{
	async_job_t *j = arg;
	for (int i = 0; i < ASYNC_MSGS; i++) {
		int rc = gnet_conn_write_async(j->eng, j->h, j->pool + j->off[i], j->len[i],
		    frame_server_write_cb, j->ctx);
		if (rc != 0 && j->failures++ == 0)
			j->first_rc = rc;
	}
	return NULL;
}

static const int async_specs[] = { SPEC_LF4, SPEC_LINE, SPEC_LF1 };
#define N_ASYNC (sizeof async_specs / sizeof async_specs[0])

START_TEST(test_async_write_encoded)
{
	codec_inst_t ci;
	codec_inst_init(&ci, async_specs[_i], 0, 0);

	frame_server_t ctx;
	frame_server_init(&ctx, FS_ECHO);
	tn_server_t s;
	frame_server_start(&s, &ctx, ci.codec, 2, 0);
	int fd = frame_server_connect(&s, &ctx, 0);
	gnet_handle_t h = atomic_load(&ctx.log.conn[0].handle);
	ck_assert_uint_ne(h, GNET_HANDLE_NONE);

	size_t off[ASYNC_MSGS], len[ASYNC_MSGS];
	bytes_t pool = { 0 }, want = { 0 };
	uint8_t payload[400];
	int refused = 0;
	for (int i = 0; i < ASYNC_MSGS; i++) {
		len[i] = 1 + (size_t)(i * 37) % 300;
		off[i] = pool.len;
		codec_inst_payload(&ci, payload, len[i], 1234 + (uint64_t)i);
		bytes_add(&pool, payload, len[i]);
	}
	for (int i = 0; i < ASYNC_MSGS; i++) {
		if (len[i] > ci.max_payload) {
			/* The encoder itself must refuse it too. */
			ck_assert_int_eq(gnet_codec_encode(ci.codec, pool.p + off[i],
			    len[i], NULL, 0), GNET_EFRAMESIZE);
			refused++;
			continue;
		}
		bytes_add_frame(&want, ci.codec, pool.p + off[i], len[i]);
	}
	if (ci.sp->width == 1)
		ck_assert_int_gt(refused, 0);

	async_job_t job = { .eng = s.eng, .h = h, .ctx = &ctx, .pool = pool.p,
	    .off = off, .len = len };
	pthread_t th;
	ck_assert_int_eq(pthread_create(&th, NULL, async_main, &job), 0);
	uint8_t *got = malloc(want.len);
	ck_assert_ptr_nonnull(got);
	size_t n = tn_read_exact(fd, got, want.len, IO_MS);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert_msg(job.failures == 0, "%d gnet_conn_write_async calls failed, first "
	    "%d (%s)", job.failures, job.first_rc, gnet_strerror(job.first_rc));
	ck_assert_msg(n == want.len && memcmp(got, want.p, n) == 0,
	    "%s: received %zu of %zu bytes, differ at %zu", ci.sp->name, n,
	    want.len, tn_first_diff(got, want.p, n));
	free(got);
	TN_WAIT_UNTIL(atomic_load(&ctx.cb_calls) == ASYNC_MSGS, WAIT_MS);
	ck_assert_int_eq(atomic_load(&ctx.cb_calls), ASYNC_MSGS);
	ck_assert_int_eq(atomic_load(&ctx.cb_ok), ASYNC_MSGS - refused);
	ck_assert_int_eq(atomic_load(&ctx.cb_efs), refused);

	/* Nothing stray was written: the next echo follows at once. */
	good_exchange(fd, &ci, 9, "after the async writes");
	frame_server_close_good(&ctx, &fd, 0);
	tn_server_close(&s);
	assert_no_loop_errors(&ctx);
	bytes_free(&pool);
	bytes_free(&want);
	codec_inst_free(&ci);
}
END_TEST

/* ------------------------------------------------------------------------
 * Writes the codec refuses write nothing: from on_open, a valid frame,
 * then a payload the codec cannot encode (gnet_conn_write and writev; a
 * 1-byte length field cannot say 256, a fixed codec takes whole frames
 * only), then another valid frame. The outbound length stays as it was
 * and the client receives exactly the two valid frames.
 */
typedef struct limit_case {
	const char *name;
	int spec;
	size_t fixed_len;
	size_t ok_len, bad_len, ok2_len;
	long rc;
} limit_case_t;

static const limit_case_t limit_cases[] = {
	{ "length field 1, 256 bytes", SPEC_LF1, 0, 10, 256, 255, GNET_EFRAMESIZE },
	{ "length field 1, 64 KiB", SPEC_LF1, 0, 1, 65536, 0, GNET_EFRAMESIZE },
	{ "fixed 16, 17 bytes", SPEC_FIXED, 16, 16, 17, 32, GNET_EINVAL },
};
#define N_LIMIT (sizeof limit_cases / sizeof limit_cases[0])

START_TEST(test_write_refused)
{
	const limit_case_t *lc = &limit_cases[_i];
	codec_inst_t ci;
	codec_inst_init(&ci, lc->spec, lc->fixed_len, 0);

	uint8_t *bad = calloc(1, lc->bad_len);
	uint8_t ok[64], ok2[256];
	ck_assert_ptr_nonnull(bad);
	ck_assert_uint_le(lc->ok_len, sizeof ok);
	ck_assert_uint_le(lc->ok2_len, sizeof ok2);
	tn_fill_random(ok, sizeof ok, 1);
	tn_fill_random(ok2, sizeof ok2, 2);

	frame_server_t ctx;
	frame_server_init(&ctx, FS_WRITE_LIMITS);
	ctx.wl_ok = ok;
	ctx.wl_ok_len = lc->ok_len;
	ctx.wl_bad = bad;
	ctx.wl_bad_len = lc->bad_len;
	ctx.wl_ok2 = ok2;
	ctx.wl_ok2_len = lc->ok2_len;
	tn_server_t s;
	frame_server_start(&s, &ctx, ci.codec, 1, 0);
	int fd = frame_server_connect(&s, &ctx, 0);

	ck_assert_int_eq(atomic_load(&ctx.wl_rc[0]), (long)lc->ok_len);
	ck_assert_msg(atomic_load(&ctx.wl_rc[1]) == lc->rc,
	    "%s: gnet_conn_write = %ld (%s), want %ld", lc->name,
	    atomic_load(&ctx.wl_rc[1]),
	    gnet_strerror((int)atomic_load(&ctx.wl_rc[1])), lc->rc);
	ck_assert_msg(atomic_load(&ctx.wl_rc[2]) == lc->rc,
	    "%s: gnet_conn_writev = %ld (%s), want %ld", lc->name,
	    atomic_load(&ctx.wl_rc[2]),
	    gnet_strerror((int)atomic_load(&ctx.wl_rc[2])), lc->rc);
	ck_assert_int_eq(atomic_load(&ctx.wl_rc[3]), (long)lc->ok2_len);
	size_t out0 = atomic_load(&ctx.wl_out[0]);
	ck_assert_uint_gt(out0, 0);
	ck_assert_uint_eq(atomic_load(&ctx.wl_out[1]), out0);
	ck_assert_uint_eq(atomic_load(&ctx.wl_out[2]), out0);

	bytes_t want = { 0 }, none = { 0 };
	bytes_add_frame(&want, ci.codec, ok, lc->ok_len);
	bytes_add_frame(&want, ci.codec, ok2, lc->ok2_len);
	exchange(fd, &none, &want, lc->name);
	/* And nothing after them: the next echo follows at once. */
	good_exchange(fd, &ci, 10, "after the refused writes");
	frame_server_close_good(&ctx, &fd, 0);
	tn_server_close(&s);
	assert_no_loop_errors(&ctx);
	bytes_free(&want);
	free(bad);
	codec_inst_free(&ci);
}
END_TEST

/* ------------------------------------------------------------------------
 */
static Suite *codec_live_suite(void)
{
	Suite *s = suite_create("codec_live");
	TCase *tc;

	tc = tn_tcase("round_trip", TCASE_TIMEOUT_S);
	tcase_add_loop_test(tc, test_round_trip, 0, 2 * N_SPECS);
	tcase_add_loop_test(tc, test_pipelined_200, 0, N_SPECS);
	tcase_add_loop_test(tc, test_frame_sizes, 0, 2);
	suite_add_tcase(s, tc);

	tc = tn_tcase("split", TCASE_TIMEOUT_S);
	tcase_add_loop_test(tc, test_split_read_cap, 0,
	    (int)(N_SPECS * N_SPLIT_CAPS));
	tcase_add_loop_test(tc, test_split_two_writes, 0, N_SPECS);
	suite_add_tcase(s, tc);

	tc = tn_tcase("handler", TCASE_TIMEOUT_S);
	tcase_add_loop_test(tc, test_partial_consume, 0, 2 * N_SPECS);
	tcase_add_test(tc, test_set_codec_on_open);
	tcase_add_loop_test(tc, test_switch_codec_in_traffic, 0,
	    2 * (int)N_SWITCH);
	suite_add_tcase(s, tc);

	tc = tn_tcase("writes", TCASE_TIMEOUT_S);
	tcase_add_loop_test(tc, test_async_write_encoded, 0, (int)N_ASYNC);
	tcase_add_loop_test(tc, test_write_refused, 0, (int)N_LIMIT);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tn_run_suite(codec_live_suite());
}
