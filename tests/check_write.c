/*
 * check_write.c -- integration suite "write": the write path of a
 * connection (net/conn_write.c) on a real engine over loopback.
 *
 * A handler's small write of the bytes it was just handed is not copied:
 * it is held by reference to the loop's read buffer and sent right after
 * the handler returns. These tests pin what that must not change: the
 * order of a handler's writes, gnet_conn_outbound_len, a write made to
 * another connection (sent, and with its own bytes, even when another
 * read reuses the buffer first), a socket that takes only part of a held
 * write, and a close that gives up pending output (linger_ms < 0).
 * Server callbacks record into atomics; the test thread asserts with
 * bounded waits.
 */
#include <check.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gnet.h"
#include "support/testnet.h"

#define TCASE_TIMEOUT_S 120
#define WAIT_MS 5000            /* for a callback to be observed */
#define IO_MS 10000             /* for a single client exchange */

#define SUFFIX_ROUNDS 300
#define SUFFIX_MAX 1500         /* below the write-through size: held */
#define PROXY_ROUNDS 300
#define FULL_ROUNDS 8
#define FULL_BYTES (192 * 1024) /* per round, sent before reading any */
#define FULL_READ_CAP 1000      /* each read (and echo) under 2 KiB */
#define FULL_SNDBUF 4096        /* server SO_SNDBUF: fills at once */
#define FULL_RCVBUF 4096        /* client SO_RCVBUF, same purpose */

/* Connection roles, in open order, for the tests that have several. */
enum { ROLE_SRC, ROLE_SINK, ROLE_ECHO, ROLES };

enum mode {
	MODE_SUFFIX,            /* echo, then write "|" */
	MODE_PROXY,             /* SRC's bytes go to SINK; ECHO echoes */
	MODE_ECHO,              /* echo */
	MODE_ECHO_CLOSE         /* echo, then return GNET_CLOSE */
};

typedef struct write_srv {
	enum mode mode;
	gnet_conn_t *conn[ROLES];       /* loop thread only */
	atomic_int opens, closes;
	atomic_int last_reason;
	tn_loop_errors_t errs;
} write_srv_t;

#define LOOP_CHECK(ctx, cond) TN_LOOP_CHECK(&(ctx)->errs, cond)

static gnet_action_t on_open(gnet_conn_t *c, void *udata)
{
	write_srv_t *ctx = udata;
	int idx = atomic_fetch_add(&ctx->opens, 1);

	if (idx < ROLES)
		ctx->conn[idx] = c;
	return GNET_NONE;
}

static void on_close(gnet_conn_t *c, int reason, void *udata)
{
	write_srv_t *ctx = udata;

	(void)c;
	atomic_store(&ctx->last_reason, reason);
	atomic_fetch_add(&ctx->closes, 1);
}

/* Write n bytes at p to c and check that c's outbound count grew by n. */
static void write_counted(write_srv_t *ctx, gnet_conn_t *c, const void *p,
    size_t n)
{
	size_t before = gnet_conn_outbound_len(c);

	LOOP_CHECK(ctx, gnet_conn_write(c, p, n) == (long)n);
	/* Only an empty buffer can have sent some of it already. */
	LOOP_CHECK(ctx, gnet_conn_outbound_len(c) == before + n ||
	    (before == 0 && gnet_conn_outbound_len(c) <= n));
}

static gnet_action_t on_traffic(gnet_conn_t *c, void *udata)
{
	write_srv_t *ctx = udata;
	const void *data;
	size_t n = gnet_conn_peek(c, &data);

	switch (ctx->mode) {
	case MODE_SUFFIX: {
		/* In two writes, both of the read buffer's bytes: the first
		 * is held, the second must not take its place. Nothing is
		 * queued here (the client waits for each reply), so the
		 * counts are exact. */
		size_t half = n / 2;
		LOOP_CHECK(ctx, gnet_conn_outbound_len(c) == 0);
		write_counted(ctx, c, data, half);
		LOOP_CHECK(ctx, gnet_conn_outbound_len(c) == half);
		write_counted(ctx, c, (const char *)data + half, n - half);
		LOOP_CHECK(ctx, gnet_conn_outbound_len(c) == n);
		write_counted(ctx, c, "|", 1);
		LOOP_CHECK(ctx, gnet_conn_outbound_len(c) == n + 1);
		break;
	}
	case MODE_PROXY:
		if (c == ctx->conn[ROLE_SRC])
			write_counted(ctx, ctx->conn[ROLE_SINK], data, n);
		else if (c == ctx->conn[ROLE_ECHO])
			write_counted(ctx, c, data, n);
		else
			LOOP_CHECK(ctx, n == 0); /* the sink sends nothing */
		break;
	case MODE_ECHO:
	case MODE_ECHO_CLOSE:
		write_counted(ctx, c, data, n);
		break;
	}
	gnet_conn_discard(c, n);
	return ctx->mode == MODE_ECHO_CLOSE ? GNET_CLOSE : GNET_NONE;
}

static const gnet_events_t write_events = { .size = sizeof(gnet_events_t),
	.on_open = on_open,
	.on_close = on_close,
	.on_traffic = on_traffic,
};

static void start(tn_server_t *s, write_srv_t *ctx, enum mode mode,
    gnet_options_t *opts)
{
	memset(ctx, 0, sizeof *ctx);
	ctx->mode = mode;
	tn_server_start(s, &write_events, opts, ctx);
}

/* ------------------------------------------------------------------------
 * A held write followed by more writes of the same handler: the reply is
 * the bytes (written in two halves), then the suffix, and the outbound
 * count includes the held bytes at every step.
 */
START_TEST(test_held_write_then_suffix)
{
	gnet_options_t opts = { .size = sizeof(gnet_options_t), .num_loops = 1 };
	static uint8_t msg[SUFFIX_MAX], got[SUFFIX_MAX + 1];
	write_srv_t ctx;
	tn_server_t s;

	start(&s, &ctx, MODE_SUFFIX, &opts);
	int fd = tn_connect(s.port);
	ck_assert_int_ge(fd, 0);
	for (unsigned r = 0; r < SUFFIX_ROUNDS; r++) {
		size_t len = 1 + (r * 37) % SUFFIX_MAX;
		tn_fill_random(msg, len, r + 1);
		ck_assert_uint_eq(tn_send_all(fd, msg, len, IO_MS), len);
		ck_assert_uint_eq(tn_read_exact(fd, got, len + 1, IO_MS), len + 1);
		ck_assert_msg(memcmp(got, msg, len) == 0 && got[len] == '|',
		    "round %u: the reply is not the %zu bytes then '|'", r, len);
	}
	tn_close(&fd);
	TN_WAIT_UNTIL(atomic_load(&ctx.closes) == 1, WAIT_MS);
	tn_server_close(&s);
	TN_ASSERT_NO_LOOP_ERRORS(&ctx.errs);
}
END_TEST

/* ------------------------------------------------------------------------
 * A handler writes what it read to another connection (a proxy). That
 * write cannot wait for the reading connection's send: it must be copied
 * before the next read, which may come in the same batch (the echo
 * connection is sent to at the same time) and reuses the read buffer.
 */
START_TEST(test_held_write_to_another_conn)
{
	gnet_options_t opts = { .size = sizeof(gnet_options_t), .num_loops = 1 };
	static uint8_t a[SUFFIX_MAX], b[SUFFIX_MAX], got[SUFFIX_MAX];
	write_srv_t ctx;
	tn_server_t s;
	int fd[ROLES];

	start(&s, &ctx, MODE_PROXY, &opts);
	for (int i = 0; i < ROLES; i++) {
		fd[i] = tn_connect(s.port);
		ck_assert_int_ge(fd[i], 0);
		TN_WAIT_UNTIL(atomic_load(&ctx.opens) == i + 1, WAIT_MS);
		ck_assert_int_eq(atomic_load(&ctx.opens), i + 1);
	}
	for (unsigned r = 0; r < PROXY_ROUNDS; r++) {
		size_t len = 1 + (r * 53) % SUFFIX_MAX;
		tn_fill_random(a, len, 2 * r + 1);
		tn_fill_random(b, len, 2 * r + 2);
		ck_assert_uint_eq(tn_send_all(fd[ROLE_SRC], a, len, IO_MS), len);
		ck_assert_uint_eq(tn_send_all(fd[ROLE_ECHO], b, len, IO_MS), len);
		ck_assert_uint_eq(tn_read_exact(fd[ROLE_SINK], got, len, IO_MS), len);
		ck_assert_msg(memcmp(got, a, len) == 0,
		    "round %u: the sink got other bytes than the source sent", r);
		ck_assert_uint_eq(tn_read_exact(fd[ROLE_ECHO], got, len, IO_MS), len);
		ck_assert_msg(memcmp(got, b, len) == 0,
		    "round %u: the echo is not what was sent", r);
	}
	for (int i = 0; i < ROLES; i++)
		tn_close(&fd[i]);
	TN_WAIT_UNTIL(atomic_load(&ctx.closes) == ROLES, WAIT_MS);
	tn_server_close(&s);
	TN_ASSERT_NO_LOOP_ERRORS(&ctx.errs);
}
END_TEST

/* ------------------------------------------------------------------------
 * The socket takes only part of a held write, or none: small buffers on
 * both sides and a client that sends a whole round before it reads any.
 * The rest must be queued in order; the echo is checked byte for byte.
 */
START_TEST(test_held_write_socket_full)
{
	gnet_options_t opts = { .size = sizeof(gnet_options_t), .num_loops = 1, .read_buffer_cap = FULL_READ_CAP,
	    .sndbuf = FULL_SNDBUF };
	uint8_t *tx = malloc(FULL_BYTES), *rx = malloc(FULL_BYTES);
	write_srv_t ctx;
	tn_server_t s;

	ck_assert(tx != NULL && rx != NULL);
	start(&s, &ctx, MODE_ECHO, &opts);
	int fd = tn_connect_rcvbuf(s.port, FULL_RCVBUF);
	ck_assert_int_ge(fd, 0);
	for (unsigned r = 0; r < FULL_ROUNDS; r++) {
		tn_fill_random(tx, FULL_BYTES, 100 + r);
		/* The server reads all of it (its output buffer is far below
		 * the high watermark), so this completes without reading. */
		ck_assert_uint_eq(tn_send_all(fd, tx, FULL_BYTES, IO_MS), FULL_BYTES);
		ck_assert_uint_eq(tn_read_exact(fd, rx, FULL_BYTES, IO_MS), FULL_BYTES);
		if (memcmp(rx, tx, FULL_BYTES) != 0) {
			size_t i = 0;
			while (rx[i] == tx[i])
				i++;
			ck_abort_msg("round %u: byte %zu of the echo differs", r, i);
		}
	}
	tn_close(&fd);
	TN_WAIT_UNTIL(atomic_load(&ctx.closes) == 1, WAIT_MS);
	tn_server_close(&s);
	free(tx);
	free(rx);
	TN_ASSERT_NO_LOOP_ERRORS(&ctx.errs);
}
END_TEST

/* ------------------------------------------------------------------------
 * linger_ms < 0 gives up pending output at a close: a held write is
 * pending output too. The handler echoes and returns GNET_CLOSE; the
 * close says GNET_ELINGER and the peer gets none of the echo.
 */
START_TEST(test_held_write_dropped_by_close_without_linger)
{
	gnet_options_t opts = { .size = sizeof(gnet_options_t), .num_loops = 1, .linger_ms = -1 };
	write_srv_t ctx;
	tn_server_t s;
	size_t got = 0;

	start(&s, &ctx, MODE_ECHO_CLOSE, &opts);
	int fd = tn_connect(s.port);
	ck_assert_int_ge(fd, 0);
	ck_assert_uint_eq(tn_send_all(fd, "ping", 4, IO_MS), 4);
	TN_WAIT_UNTIL(atomic_load(&ctx.closes) == 1, WAIT_MS);
	ck_assert_int_eq(atomic_load(&ctx.closes), 1);
	int reason = atomic_load(&ctx.last_reason);
	ck_assert_msg(reason == GNET_ELINGER,
	    "close reason %d (%s), want GNET_ELINGER", reason,
	    gnet_strerror(reason));
	int end = tn_wait_eof(fd, IO_MS, &got);
	ck_assert_msg((end == -ECONNRESET || end == 1) && got == 0,
	    "client: tn_wait_eof = %d after %zu bytes, want a reset or EOF and "
	    "no bytes", end, got);
	tn_close(&fd);
	tn_server_close(&s);
	TN_ASSERT_NO_LOOP_ERRORS(&ctx.errs);
}
END_TEST

static Suite *write_suite(void)
{
	Suite *s = suite_create("write");
	TCase *tc = tn_tcase("held", TCASE_TIMEOUT_S);

	tcase_add_test(tc, test_held_write_then_suffix);
	tcase_add_test(tc, test_held_write_to_another_conn);
	tcase_add_test(tc, test_held_write_socket_full);
	tcase_add_test(tc, test_held_write_dropped_by_close_without_linger);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tn_run_suite(write_suite());
}
