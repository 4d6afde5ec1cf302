/*
 * check_outbound_limits.c -- integration suite "outbound_limits": the
 * limits on what a connection's program writes without being asked
 * (max_outbound, outbound_soft_limit/_ms: Redis's
 * client-output-buffer-limit), on a real engine over loopback.
 *
 * The server pushes on command: 'H' writes 64 KiB pieces until a write
 * fails (or PUSH_CAP bytes), 'S' writes SOFT_PUSH bytes once. Its clients
 * never read, except where a test says so. Every limit must close with
 * GNET_EOUTBOUND and reset the peer; a reader that keeps up must never be
 * closed. Callbacks record into atomics; the test thread asserts with
 * bounded waits.
 */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gnet.h"
#include "support/testnet.h"

#define TCASE_TIMEOUT_S 60
#define WAIT_MS 5000
#define IO_MS 10000

#define PIECE ((size_t)64 * 1024)
#define PUSH_CAP ((size_t)256 * 1024 * 1024) /* 'H' without a limit */
#define HARD_LIMIT ((size_t)1024 * 1024)
#define HIGH_WM ((size_t)256 * 1024)  /* below HARD_LIMIT: told first */
#define SOFT_LIMIT ((size_t)128 * 1024)
#define SOFT_MS 300
#define SOFT_PUSH ((size_t)512 * 1024) /* above SOFT_LIMIT, below hard */
#define SMALL_SNDBUF (16 * 1024)
#define SMALL_RCVBUF (8 * 1024)
/* tn_now_ms truncates to whole milliseconds. */
#define CLOCK_SLACK_MS 2

typedef struct limit_srv {
	atomic_int closes, last_reason, paused;
	atomic_long first_error;      /* the failing write's return */
	atomic_size_t pushed;         /* bytes the writes took */
	atomic_long push_ms, close_ms;
	tn_loop_errors_t errs;
} limit_srv_t;

static uint8_t piece[PIECE];

static gnet_action_t on_traffic(gnet_conn_t *c, void *udata)
{
	limit_srv_t *ctx = udata;
	const uint8_t *p;
	size_t n = gnet_conn_peek(c, (const void **)&p);

	if (n < 1)
		return GNET_NONE;
	gnet_conn_discard(c, 1);
	atomic_store(&ctx->push_ms, (long)tn_now_ms());
	if (p[0] == 'H') {
		size_t total = 0;
		long rc = 0;
		while (total < PUSH_CAP &&
		    (rc = gnet_conn_write(c, piece, PIECE)) == (long)PIECE)
			total += PIECE;
		atomic_store(&ctx->pushed, total);
		atomic_store(&ctx->first_error, rc == (long)PIECE ? 0 : rc);
	} else if (p[0] == 'S') {
		long rc = gnet_conn_write(c, piece, PIECE);
		for (size_t k = PIECE; k < SOFT_PUSH && rc == (long)PIECE;
		    k += PIECE)
			rc = gnet_conn_write(c, piece, PIECE);
		TN_LOOP_CHECK(&ctx->errs, rc == (long)PIECE);
	}
	return GNET_NONE;
}

static void on_backpressure(gnet_conn_t *c, int paused, void *udata)
{
	limit_srv_t *ctx = udata;

	(void)c;
	if (paused)
		atomic_fetch_add(&ctx->paused, 1);
}

static void on_close(gnet_conn_t *c, int reason, void *udata)
{
	limit_srv_t *ctx = udata;

	(void)c;
	atomic_store(&ctx->close_ms, (long)tn_now_ms());
	atomic_store(&ctx->last_reason, reason);
	atomic_fetch_add(&ctx->closes, 1);
}

static const gnet_events_t limit_events = {
	.size = sizeof(gnet_events_t),
	.on_traffic = on_traffic,
	.on_backpressure = on_backpressure,
	.on_close = on_close,
};

/* A server with these limits and a client with a small receive buffer;
 * returns the client. */
static int start(tn_server_t *s, limit_srv_t *ctx, gnet_options_t *o)
{
	memset(ctx, 0, sizeof *ctx);
	o->size = sizeof *o;
	o->num_loops = 1;
	o->sndbuf = SMALL_SNDBUF;
	tn_server_start(s, &limit_events, o, ctx);
	int fd = tn_connect_rcvbuf(s->port, SMALL_RCVBUF);
	ck_assert_int_ge(fd, 0);
	return fd;
}

static void assert_closed_over_limit(limit_srv_t *ctx, int fd)
{
	TN_WAIT_UNTIL(atomic_load(&ctx->closes) == 1, WAIT_MS);
	ck_assert_int_eq(atomic_load(&ctx->closes), 1);
	int reason = atomic_load(&ctx->last_reason);
	ck_assert_msg(reason == GNET_EOUTBOUND, "close reason %d (%s), want "
	    "GNET_EOUTBOUND", reason, gnet_strerror(reason));
	/* Output was dropped: the peer is reset, not given an orderly end. */
	int end = tn_wait_eof(fd, IO_MS, NULL);
	ck_assert_msg(end == -ECONNRESET, "client: tn_wait_eof = %d, want a "
	    "reset", end);
}

/* A writer that goes on past max_outbound: its write fails with
 * GNET_EOUTBOUND having taken no more than the limit, after the high
 * watermark told it to stop, and the connection is aborted. */
START_TEST(test_hard_limit)
{
	limit_srv_t ctx;
	tn_server_t s;
	gnet_options_t o = { .max_outbound = HARD_LIMIT,
		.write_high_watermark = HIGH_WM };

	int fd = start(&s, &ctx, &o);
	ck_assert_uint_eq(tn_send_all(fd, "H", 1, IO_MS), 1);
	TN_WAIT_UNTIL(atomic_load(&ctx.push_ms) != 0 &&
	    atomic_load(&ctx.closes) == 1, WAIT_MS);
	long err = atomic_load(&ctx.first_error);
	ck_assert_msg(err == GNET_EOUTBOUND, "the write past the limit "
	    "returned %ld (%s), want GNET_EOUTBOUND", err,
	    gnet_strerror((int)err));
	size_t pushed = atomic_load(&ctx.pushed);
	/* The limit, plus what the kernel took straight from writes. */
	ck_assert_msg(pushed <= HARD_LIMIT + (size_t)4 * 1024 * 1024,
	    "writes took %zu bytes past a limit of %zu", pushed, HARD_LIMIT);
	ck_assert_int_ge(atomic_load(&ctx.paused), 1);
	assert_closed_over_limit(&ctx, fd);
	tn_close(&fd);
	tn_server_close(&s);
	TN_ASSERT_NO_LOOP_ERRORS(&ctx.errs);
}
END_TEST

/* Above the soft limit for outbound_soft_ms without a break: aborted,
 * not before the time is up. */
START_TEST(test_soft_limit_held)
{
	limit_srv_t ctx;
	tn_server_t s;
	gnet_options_t o = { .outbound_soft_limit = SOFT_LIMIT,
		.outbound_soft_ms = SOFT_MS };

	int fd = start(&s, &ctx, &o);
	ck_assert_uint_eq(tn_send_all(fd, "S", 1, IO_MS), 1);
	assert_closed_over_limit(&ctx, fd);
	long elapsed = atomic_load(&ctx.close_ms) - atomic_load(&ctx.push_ms);
	ck_assert_msg(elapsed >= SOFT_MS - CLOCK_SLACK_MS, "closed %ld ms "
	    "after the push, before outbound_soft_ms = %d", elapsed, SOFT_MS);
	tn_close(&fd);
	tn_server_close(&s);
	TN_ASSERT_NO_LOOP_ERRORS(&ctx.errs);
}
END_TEST

/* A reader that keeps up, slowly: each push stays above the soft limit
 * for a good part of a round (the client takes READ_CHUNK per
 * READ_PAUSE_MS, about 120 ms until the output is below the limit), then
 * falls to nothing; the next push comes after a random idle time, so the
 * limit's timer fires at every phase of a round. The connection is never
 * closed: no period above the limit lasts outbound_soft_ms. */
#define READ_CHUNK ((size_t)16 * 1024)
#define READ_PAUSE_MS 5
#define IDLE_MAX_MS 150
#define KEEP_UP_ROUNDS 16

static void read_paced(int fd, uint8_t *got, size_t want)
{
	for (size_t have = 0; have < want; have += READ_CHUNK) {
		ck_assert_uint_eq(tn_read_exact(fd, got + have, READ_CHUNK,
		    IO_MS), READ_CHUNK);
		/* The pacing of a slow reader, not a synchronisation. */
		poll(NULL, 0, READ_PAUSE_MS);
	}
}

START_TEST(test_soft_limit_reader_keeps_up)
{
	limit_srv_t ctx;
	tn_server_t s;
	gnet_options_t o = { .outbound_soft_limit = SOFT_LIMIT,
		.outbound_soft_ms = SOFT_MS };
	uint8_t *got = malloc(SOFT_PUSH);

	ck_assert_ptr_nonnull(got);
	int fd = start(&s, &ctx, &o);
	int64_t began = tn_now_ms();
	uint64_t rng = 0x50F7;
	for (int round = 0; round < KEEP_UP_ROUNDS; round++) {
		poll(NULL, 0, (int)(tn_rng_next(&rng) % IDLE_MAX_MS));
		ck_assert_uint_eq(tn_send_all(fd, "S", 1, IO_MS), 1);
		read_paced(fd, got, SOFT_PUSH);
		ck_assert_msg(atomic_load(&ctx.closes) == 0, "closed (%s) in "
		    "round %d", gnet_strerror(atomic_load(&ctx.last_reason)),
		    round);
	}
	/* The rounds spanned several periods of the limit. */
	ck_assert_int_gt(tn_now_ms() - began, 3 * SOFT_MS);
	tn_close(&fd);
	tn_server_close(&s);
	free(got);
	TN_ASSERT_NO_LOOP_ERRORS(&ctx.errs);
}
END_TEST

/* Limits that cannot hold are refused when the engine is made. */
START_TEST(test_limits_checked)
{
	gnet_engine_t *eng = NULL;
	gnet_options_t o = { .size = sizeof o, .max_outbound = HARD_LIMIT,
		.outbound_soft_limit = HARD_LIMIT };

	ck_assert_int_eq(gnet_engine_new(&eng, &limit_events, &o, NULL),
	    GNET_EINVAL);
	ck_assert_ptr_null(eng);
	o.outbound_soft_limit = HARD_LIMIT - 1;
	ck_assert_int_eq(gnet_engine_new(&eng, &limit_events, &o, NULL), 0);
	gnet_engine_free(eng);
}
END_TEST

static Suite *limits_suite(void)
{
	Suite *s = suite_create("outbound_limits");
	TCase *tc = tn_tcase("limits", TCASE_TIMEOUT_S);

	tcase_add_test(tc, test_hard_limit);
	tcase_add_test(tc, test_soft_limit_held);
	tcase_add_test(tc, test_soft_limit_reader_keeps_up);
	tcase_add_test(tc, test_limits_checked);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tn_run_suite(limits_suite());
}
