/*
 * check_echo.c -- integration suite "echo": a real engine on loopback with
 * an echo handler, driven by plain client sockets.
 *
 * Covers bulk echo on one and several loops, writes from on_open, closing
 * (GNET_CLOSE, gnet_conn_close) with output still to flush, engine stop
 * from a callback and from another thread, on_close accounting, async
 * writes and user messages from foreign threads, half-closing and
 * resetting peers, and the reads edge-triggered epoll owes a socket (a
 * small read budget, a FIN that came with the last bytes).
 *
 * The server is the recording echo server of support/recserver: its
 * callbacks only record into atomics; the test thread asserts, with
 * bounded waits.
 */
#include <check.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gnet.h"
#include "support/engine_stats.h"
#include "support/recserver.h"
#include "support/testnet.h"

#define TCASE_TIMEOUT_S 120
#define WAIT_MS 5000            /* for a callback to be observed */
#define IO_MS 10000             /* for a single client exchange */
#define PUMP_MS 60000           /* for a multi-client bulk exchange */

#define BULK_CLIENTS 10
#define BULK_BYTES (1024 * 1024)
#define IDLE_CLIENTS 100
#define ONCE_CLIENTS 20
#define SMALL_BYTES 1024
#define CLOSE_SMALL_BYTES 700
#define CLOSE_LARGE_BYTES (384 * 1024) /* well above the socket buffers below */
#define CLOSE_SNDBUF (16 * 1024)      /* server SO_SNDBUF: forces a lingering flush */
#define CLOSE_RCVBUF (8 * 1024)       /* client SO_RCVBUF, same purpose */
#define HALF_CLOSE_BYTES (256 * 1024)
#define RESET_BYTES (256 * 1024)
#define RESET_SEEN_BYTES (64 * 1024)  /* server must have read this much first */
#define ASYNC_MSGS 1000
#define ASYNC_LINE_LEN 10             /* "line 0000\n" */

#define GREETING "HELLO gnet\n"

#define assert_no_loop_errors(ctx) TN_ASSERT_NO_LOOP_ERRORS((ctx)->errs)

/* ------------------------------------------------------------------------
 * Bulk echo: 10 clients x 1 MiB, on 1 and on 4 loops.
 */
static void bulk_echo(int loops)
{
	recserver_t ctx;
	recserver_init(&ctx, NULL);
	gnet_options_t opts = { .size = sizeof(gnet_options_t), .num_loops = loops };
	tn_server_t s;
	tn_server_start(&s, &recserver_events, &opts, &ctx);
	ck_assert_int_eq(gnet_engine_num_loops(s.eng), loops);

	uint8_t *payload[BULK_CLIENTS];
	tn_client_t cl[BULK_CLIENTS];
	for (int i = 0; i < BULK_CLIENTS; i++) {
		payload[i] = malloc(BULK_BYTES);
		ck_assert_ptr_nonnull(payload[i]);
		tn_fill_random(payload[i], BULK_BYTES, 1000 + (uint64_t)i);
		int fd = tn_connect(s.port);
		ck_assert_msg(fd >= 0, "connect: %s", strerror(errno));
		tn_client_init(&cl[i], fd, payload[i], BULK_BYTES, NULL, 0);
	}

	int failed = tn_pump(cl, BULK_CLIENTS, PUMP_MS);
	ck_assert_msg(failed == 0, "%d client(s) failed; %s", failed,
	    tn_pump_error(cl, BULK_CLIENTS));

	for (int i = 0; i < BULK_CLIENTS; i++) {
		tn_close(&cl[i].fd);
		free(payload[i]);
	}
	TN_WAIT_UNTIL(atomic_load(&ctx.closes) == BULK_CLIENTS, WAIT_MS);
	ck_assert_int_eq(atomic_load(&ctx.closes), BULK_CLIENTS);
	ck_assert_int_eq(atomic_load(&ctx.opens), BULK_CLIENTS);
	ck_assert_int_eq(atomic_load(&ctx.bytes_in), (long)BULK_CLIENTS * BULK_BYTES);

	if (loops > 1) {
		/* Connections are spread: every loop accepted some, none lost. */
		uint64_t accepted = tn_loop_stats_sum(s.eng).accepted;
		ck_assert_uint_eq(accepted, BULK_CLIENTS);
	}
	tn_server_close(&s);
	assert_no_loop_errors(&ctx);
}

START_TEST(test_bulk_echo_one_loop)
{
	bulk_echo(1);
}
END_TEST

START_TEST(test_bulk_echo_four_loops)
{
	bulk_echo(4);
}
END_TEST

/* ------------------------------------------------------------------------
 * A greeting written in on_open precedes any echo.
 */
START_TEST(test_greeting_before_echo)
{
	recserver_t ctx;
	recserver_init(&ctx, NULL);
	ctx.greeting = GREETING;
	tn_server_t s;
	tn_server_start(&s, &recserver_events, NULL, &ctx);
	size_t glen = strlen(GREETING);

	/* Client 1 reads the greeting first, then exchanges data. */
	int fd = tn_connect(s.port);
	ck_assert_int_ge(fd, 0);
	char buf[64] = { 0 };
	ck_assert_uint_eq(tn_read_exact(fd, buf, glen, IO_MS), glen);
	ck_assert_str_eq(buf, GREETING);

	uint8_t payload[SMALL_BYTES];
	tn_fill_random(payload, sizeof payload, 7);
	tn_client_t cl;
	tn_client_init(&cl, fd, payload, sizeof payload, NULL, 0);
	ck_assert_msg(tn_pump(&cl, 1, IO_MS) == 0, "%s", tn_pump_error(&cl, 1));
	tn_close(&cl.fd);

	/* Client 2 sends at once: the greeting must still come first. */
	uint8_t expect[sizeof GREETING - 1 + SMALL_BYTES];
	memcpy(expect, GREETING, glen);
	memcpy(expect + glen, payload, sizeof payload);
	fd = tn_connect(s.port);
	ck_assert_int_ge(fd, 0);
	tn_client_init(&cl, fd, payload, sizeof payload, expect, sizeof expect);
	ck_assert_msg(tn_pump(&cl, 1, IO_MS) == 0, "%s", tn_pump_error(&cl, 1));
	tn_close(&cl.fd);

	TN_WAIT_UNTIL(atomic_load(&ctx.closes) == 2, WAIT_MS);
	ck_assert_int_eq(atomic_load(&ctx.closes), 2);
	tn_server_close(&s);
	assert_no_loop_errors(&ctx);
}
END_TEST

/* ------------------------------------------------------------------------
 * Close right after writing: the client gets every byte, then EOF.
 * Loop index: bit 0 selects GNET_CLOSE vs gnet_conn_close, bit 1 the
 * payload size (a few hundred bytes, or 384 KiB that cannot leave at once
 * through the small socket buffers, so the close must linger and flush).
 */
START_TEST(test_close_after_write)
{
	int use_conn_close = _i & 1;
	int large = (_i >> 1) & 1;
	size_t len = large ? CLOSE_LARGE_BYTES : CLOSE_SMALL_BYTES;

	recserver_t ctx;
	recserver_init(&ctx, NULL);
	ctx.mode = use_conn_close ? RS_ECHO_THEN_CLOSE : RS_ECHO_THEN_ACTION;
	ctx.close_after = len;
	gnet_options_t opts = { .size = sizeof(gnet_options_t), .sndbuf = CLOSE_SNDBUF };
	tn_server_t s;
	tn_server_start(&s, &recserver_events, &opts, &ctx);

	uint8_t *payload = malloc(len);
	ck_assert_ptr_nonnull(payload);
	tn_fill_random(payload, len, 11 + (uint64_t)_i);
	int fd = tn_connect_rcvbuf(s.port, CLOSE_RCVBUF);
	ck_assert_int_ge(fd, 0);
	tn_client_t cl;
	tn_client_init(&cl, fd, payload, len, NULL, 0);
	cl.want_eof = 1;
	int failed = tn_pump(&cl, 1, IO_MS);
	ck_assert_msg(failed == 0, "%s (%s, %zu bytes)", tn_pump_error(&cl, 1),
	    use_conn_close ? "gnet_conn_close" : "GNET_CLOSE", len);
	tn_close(&cl.fd);
	free(payload);

	TN_WAIT_UNTIL(atomic_load(&ctx.closes) == 1, WAIT_MS);
	ck_assert_int_eq(atomic_load(&ctx.closes), 1);
	/* Closed by the program: reason 0. */
	ck_assert_msg(atomic_load(&ctx.close_zero) == 1, "close reason %d, want 0",
	    atomic_load(&ctx.last_reason));
	tn_server_close(&s);
	assert_no_loop_errors(&ctx);
}
END_TEST

/* ------------------------------------------------------------------------
 * GNET_SHUTDOWN from a callback stops the engine: gnet_engine_run returns.
 */
static void shutdown_from_callback(int from_open)
{
	recserver_t ctx;
	recserver_init(&ctx, NULL);
	if (from_open)
		ctx.open_action = GNET_SHUTDOWN;
	else
		ctx.traffic_action = GNET_SHUTDOWN;
	tn_server_t s;
	tn_server_start(&s, &recserver_events, NULL, &ctx);

	int fd = tn_connect(s.port);
	ck_assert_int_ge(fd, 0);
	if (!from_open)
		ck_assert_uint_eq(tn_send_all(fd, "stop", 4, IO_MS), 4);

	/* No gnet_engine_stop here: the callback alone must stop it. */
	tn_server_join(&s, TN_JOIN_TIMEOUT_MS);
	ck_assert_msg(s.run_rc == 0, "gnet_engine_run returned %d (%s)", s.run_rc,
	    gnet_strerror(s.run_rc));
	ck_assert_int_eq(gnet_engine_is_running(s.eng), 0);
	ck_assert_int_eq(atomic_load(&ctx.shutdowns), 1);
	ck_assert_int_eq(atomic_load(&ctx.opens), 1);
	ck_assert_int_eq(atomic_load(&ctx.closes), 1);
	ck_assert_msg(atomic_load(&ctx.close_shutdown) == 1,
	    "close reason %d, want GNET_ESHUTDOWN", atomic_load(&ctx.last_reason));
	ck_assert_int_eq(gnet_engine_conn_count(s.eng), 0);

	/* The client sees the connection end (any echo before EOF is fine). */
	int eof = tn_wait_eof(fd, WAIT_MS, NULL);
	ck_assert_msg(eof == 1, "client: tn_wait_eof = %d, want EOF", eof);
	tn_close(&fd);
	tn_server_free(&s);
	assert_no_loop_errors(&ctx);
}

START_TEST(test_shutdown_from_traffic)
{
	shutdown_from_callback(0);
}
END_TEST

START_TEST(test_shutdown_from_open)
{
	shutdown_from_callback(1);
}
END_TEST

/* ------------------------------------------------------------------------
 * gnet_engine_stop from another thread with 100 idle clients connected.
 */
START_TEST(test_stop_with_idle_clients)
{
	recserver_t ctx;
	recserver_init(&ctx, NULL);
	gnet_options_t opts = { .size = sizeof(gnet_options_t), .num_loops = 2 };
	tn_server_t s;
	tn_server_start(&s, &recserver_events, &opts, &ctx);

	int fds[IDLE_CLIENTS];
	for (int i = 0; i < IDLE_CLIENTS; i++) {
		fds[i] = tn_connect(s.port);
		ck_assert_msg(fds[i] >= 0, "connect %d: %s", i, strerror(errno));
	}
	TN_WAIT_UNTIL(gnet_engine_conn_count(s.eng) == IDLE_CLIENTS, WAIT_MS);
	ck_assert_int_eq(gnet_engine_conn_count(s.eng), IDLE_CLIENTS);
	ck_assert_int_eq(atomic_load(&ctx.opens), IDLE_CLIENTS);
	ck_assert_int_eq(atomic_load(&ctx.closes), 0);

	tn_server_stop(&s); /* this thread is not a loop thread */
	ck_assert_int_eq(s.run_rc, 0);
	ck_assert_int_eq(atomic_load(&ctx.closes), IDLE_CLIENTS);
	ck_assert_int_eq(atomic_load(&ctx.close_shutdown), IDLE_CLIENTS);
	ck_assert_int_eq(atomic_load(&ctx.shutdowns), 1);
	ck_assert_int_eq(gnet_engine_conn_count(s.eng), 0);
	for (int i = 0; i < IDLE_CLIENTS; i++)
		ck_assert_int_eq(atomic_load(&ctx.log.conn[i].closes), 1);

	for (int i = 0; i < IDLE_CLIENTS; i++) {
		int eof = tn_wait_eof(fds[i], WAIT_MS, NULL);
		ck_assert_msg(eof == 1, "client %d: tn_wait_eof = %d, want EOF", i, eof);
		tn_close(&fds[i]);
	}
	tn_server_free(&s);
	assert_no_loop_errors(&ctx);
}
END_TEST

/* ------------------------------------------------------------------------
 * on_close runs exactly once per connection when the peers close.
 */
START_TEST(test_on_close_once_per_conn)
{
	recserver_t ctx;
	recserver_init(&ctx, NULL);
	gnet_options_t opts = { .size = sizeof(gnet_options_t), .num_loops = 2 };
	tn_server_t s;
	tn_server_start(&s, &recserver_events, &opts, &ctx);

	uint8_t payload[SMALL_BYTES];
	tn_fill_random(payload, sizeof payload, 3);
	tn_client_t cl[ONCE_CLIENTS];
	for (int i = 0; i < ONCE_CLIENTS; i++) {
		int fd = tn_connect(s.port);
		ck_assert_int_ge(fd, 0);
		tn_client_init(&cl[i], fd, payload, sizeof payload, NULL, 0);
	}
	/* A full echo proves every connection is open on the server. */
	ck_assert_msg(tn_pump(cl, ONCE_CLIENTS, IO_MS) == 0, "%s",
	    tn_pump_error(cl, ONCE_CLIENTS));
	for (int i = 0; i < ONCE_CLIENTS; i++)
		tn_close(&cl[i].fd);

	TN_WAIT_UNTIL(atomic_load(&ctx.closes) == ONCE_CLIENTS, WAIT_MS);
	ck_assert_int_eq(atomic_load(&ctx.closes), ONCE_CLIENTS);
	ck_assert_int_eq(atomic_load(&ctx.close_eof), ONCE_CLIENTS);
	TN_WAIT_UNTIL(gnet_engine_conn_count(s.eng) == 0, WAIT_MS);
	ck_assert_int_eq(gnet_engine_conn_count(s.eng), 0);

	/* Stopping must not close them a second time. */
	tn_server_close(&s);
	ck_assert_int_eq(atomic_load(&ctx.opens), ONCE_CLIENTS);
	ck_assert_int_eq(atomic_load(&ctx.closes), ONCE_CLIENTS);
	for (int i = 0; i < ONCE_CLIENTS; i++)
		ck_assert_msg(atomic_load(&ctx.log.conn[i].closes) == 1,
		    "connection %d closed %d times", i,
		    atomic_load(&ctx.log.conn[i].closes));
	assert_no_loop_errors(&ctx);
}
END_TEST

/* ------------------------------------------------------------------------
 * gnet_conn_write_async from a foreign thread: ordered, every callback status 0.
 */
typedef struct async_writer {
	gnet_engine_t *eng;
	gnet_handle_t h;
	recserver_t *ctx;
	int failures;     /* gnet_conn_write_async calls that did not return 0 */
	int first_rc;
} async_writer_t;

/* Line i of the async stream: "line 0042\n" (ASYNC_LINE_LEN bytes + NUL). */
static void format_line(char *dst, int i)
{
	snprintf(dst, ASYNC_LINE_LEN + 1, "line %04u\n", (unsigned)i % 10000u);
}

static void *async_writer_main(void *arg)
{
	async_writer_t *w = arg;
	for (int i = 0; i < ASYNC_MSGS; i++) {
		/* A stack buffer reused each turn: the bytes are copied now. */
		char line[ASYNC_LINE_LEN + 1];
		format_line(line, i);
		int rc = gnet_conn_write_async(w->eng, w->h, line, ASYNC_LINE_LEN,
		    recserver_write_cb, w->ctx);
		if (rc != 0 && w->failures++ == 0)
			w->first_rc = rc;
	}
	return NULL;
}

START_TEST(test_async_write_foreign_thread)
{
	recserver_t ctx;
	recserver_init(&ctx, NULL);
	gnet_options_t opts = { .size = sizeof(gnet_options_t), .num_loops = 2 };
	tn_server_t s;
	tn_server_start(&s, &recserver_events, &opts, &ctx);

	int fd = tn_connect(s.port);
	ck_assert_int_ge(fd, 0);
	TN_WAIT_UNTIL(atomic_load(&ctx.opens) == 1, WAIT_MS);
	ck_assert_int_eq(atomic_load(&ctx.opens), 1);
	gnet_handle_t h = atomic_load(&ctx.last_handle);
	ck_assert_uint_ne(h, GNET_HANDLE_NONE);

	async_writer_t w = { .eng = s.eng, .h = h, .ctx = &ctx };
	pthread_t th;
	ck_assert_int_eq(pthread_create(&th, NULL, async_writer_main, &w), 0);

	/* Read while the writer writes. */
	size_t total = (size_t)ASYNC_MSGS * ASYNC_LINE_LEN;
	char *got = calloc(1, total + 1);
	char *want = calloc(1, total + 1);
	ck_assert_ptr_nonnull(got);
	ck_assert_ptr_nonnull(want);
	for (int i = 0; i < ASYNC_MSGS; i++)
		format_line(want + (size_t)i * ASYNC_LINE_LEN, i);
	size_t n = tn_read_exact(fd, got, total, IO_MS);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert_msg(w.failures == 0, "%d gnet_conn_write_async calls failed, first %d (%s)",
	    w.failures, w.first_rc, gnet_strerror(w.first_rc));
	ck_assert_msg(n == total, "received %zu of %zu bytes", n, total);
	if (memcmp(got, want, total) != 0) {
		size_t i = tn_first_diff(got, want, total);
		ck_abort_msg("out of order or corrupt at byte %zu (line %zu)", i,
		    i / ASYNC_LINE_LEN);
	}
	free(got);
	free(want);

	TN_WAIT_UNTIL(atomic_load(&ctx.cb_calls) == ASYNC_MSGS, WAIT_MS);
	ck_assert_int_eq(atomic_load(&ctx.cb_calls), ASYNC_MSGS);
	ck_assert_int_eq(atomic_load(&ctx.cb_ok), ASYNC_MSGS);

	tn_close(&fd);
	TN_WAIT_UNTIL(atomic_load(&ctx.closes) == 1, WAIT_MS);
	tn_server_close(&s);
	assert_no_loop_errors(&ctx);
}
END_TEST

/* ------------------------------------------------------------------------
 * Async write (and async close/abort) to a connection that has closed.
 */
static uint64_t total_dropped(gnet_engine_t *eng)
{
	return tn_loop_stats_sum(eng).msgs_dropped;
}

START_TEST(test_async_write_closed_conn)
{
	recserver_t ctx;
	recserver_init(&ctx, NULL);
	tn_server_t s;
	tn_server_start(&s, &recserver_events, NULL, &ctx);

	int fd = tn_connect(s.port);
	ck_assert_int_ge(fd, 0);
	TN_WAIT_UNTIL(atomic_load(&ctx.opens) == 1, WAIT_MS);
	gnet_handle_t old = atomic_load(&ctx.last_handle);
	ck_assert_uint_ne(old, GNET_HANDLE_NONE);
	tn_close(&fd);
	TN_WAIT_UNTIL(atomic_load(&ctx.closes) == 1, WAIT_MS);
	ck_assert_int_eq(atomic_load(&ctx.closes), 1);

	int rc = gnet_conn_write_async(s.eng, old, "late", 4, recserver_write_cb, &ctx);
	ck_assert_msg(rc == 0, "gnet_conn_write_async to a closed conn: %d (%s)", rc,
	    gnet_strerror(rc));
	TN_WAIT_UNTIL(atomic_load(&ctx.cb_calls) == 1, WAIT_MS);
	ck_assert_int_eq(atomic_load(&ctx.cb_calls), 1);
	ck_assert_msg(atomic_load(&ctx.cb_closed) == 1,
	    "callback: ok %d, closed %d, other %d; want status GNET_ECLOSED, c NULL",
	    atomic_load(&ctx.cb_ok), atomic_load(&ctx.cb_closed),
	    atomic_load(&ctx.cb_bad));

	/* Stale close/abort by handle: ignored and counted, never a crash. */
	uint64_t dropped = total_dropped(s.eng);
	gnet_conn_close_async(s.eng, old);
	gnet_conn_abort_async(s.eng, old);
	TN_WAIT_UNTIL(total_dropped(s.eng) >= dropped + 2, WAIT_MS);
	ck_assert_msg(total_dropped(s.eng) >= dropped + 2,
	    "msgs_dropped went from %llu to %llu after 2 stale messages",
	    (unsigned long long)dropped, (unsigned long long)total_dropped(s.eng));

	/* The engine still serves; the new connection is untouched. */
	uint8_t payload[SMALL_BYTES];
	tn_fill_random(payload, sizeof payload, 5);
	fd = tn_connect(s.port);
	ck_assert_int_ge(fd, 0);
	tn_client_t cl;
	tn_client_init(&cl, fd, payload, sizeof payload, NULL, 0);
	ck_assert_msg(tn_pump(&cl, 1, IO_MS) == 0, "%s", tn_pump_error(&cl, 1));
	ck_assert_int_eq(atomic_load(&ctx.opens), 2);
	ck_assert_int_eq(atomic_load(&ctx.closes), 1);
	ck_assert_uint_ne(atomic_load(&ctx.last_handle), old);
	tn_close(&cl.fd);
	TN_WAIT_UNTIL(atomic_load(&ctx.closes) == 2, WAIT_MS);
	tn_server_close(&s);
	ck_assert_int_eq(atomic_load(&ctx.cb_calls), 1);
	assert_no_loop_errors(&ctx);
}
END_TEST

/* ------------------------------------------------------------------------
 * A peer that half-closes right after sending still gets its whole echo.
 */
START_TEST(test_half_close_gets_full_echo)
{
	recserver_t ctx;
	recserver_init(&ctx, NULL);
	tn_server_t s;
	tn_server_start(&s, &recserver_events, NULL, &ctx);

	uint8_t *payload = malloc(HALF_CLOSE_BYTES);
	uint8_t *got = malloc(HALF_CLOSE_BYTES);
	ck_assert_ptr_nonnull(payload);
	ck_assert_ptr_nonnull(got);
	tn_fill_random(payload, HALF_CLOSE_BYTES, 99);

	int fd = tn_connect(s.port);
	ck_assert_int_ge(fd, 0);
	/* Everything first (the echo waits in the server's buffers), then FIN. */
	ck_assert_uint_eq(tn_send_all(fd, payload, HALF_CLOSE_BYTES, IO_MS),
	    HALF_CLOSE_BYTES);
	ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);

	size_t n = tn_read_exact(fd, got, HALF_CLOSE_BYTES, IO_MS);
	ck_assert_msg(n == HALF_CLOSE_BYTES, "echo: %zu of %d bytes", n,
	    HALF_CLOSE_BYTES);
	ck_assert_msg(memcmp(got, payload, HALF_CLOSE_BYTES) == 0, "echo differs");
	size_t extra = 0;
	int eof = tn_wait_eof(fd, WAIT_MS, &extra);
	ck_assert_msg(eof == 1 && extra == 0, "tn_wait_eof = %d, %zu extra bytes",
	    eof, extra);
	tn_close(&fd);
	free(payload);
	free(got);

	TN_WAIT_UNTIL(atomic_load(&ctx.closes) == 1, WAIT_MS);
	ck_assert_int_eq(atomic_load(&ctx.closes), 1);
	ck_assert_msg(atomic_load(&ctx.close_eof) == 1,
	    "close reason %d, want GNET_EEOF", atomic_load(&ctx.last_reason));
	tn_server_close(&s);
	assert_no_loop_errors(&ctx);
}
END_TEST

/* ------------------------------------------------------------------------
 * Edge-triggered reading (net/conn.c). A stream socket is reported once per
 * arrival, so bytes a read leaves behind -- the read budget ran out, or a
 * FIN came with the last bytes -- must be read without a new event. With
 * a 4 KiB budget every client here needs dozens of budget-limited reads
 * after its last byte arrived; if one were dropped, the echo would stall
 * and the bounded waits below fail.
 */
#define EDGE_READ_CAP 4096
#define EDGE_BYTES (256 * 1024)
#define EDGE_CLIENTS 4
#define EDGE_FIN_CLIENTS 32
#define EDGE_FIN_BYTES 100

static void edge_server_start(tn_server_t *s, recserver_t *ctx)
{
	gnet_options_t opts = { .size = sizeof(gnet_options_t), .num_loops = 1, .read_buffer_cap = EDGE_READ_CAP };
	recserver_init(ctx, NULL);
	tn_server_start(s, &recserver_events, &opts, ctx);
}

/* Each client writes and reads at once; with shut_wr it sends FIN right
 * after its last byte and wants the echo, then EOF, back. */
static void edge_pump(int shut_wr)
{
	recserver_t ctx;
	tn_server_t s;
	uint8_t *payload = malloc(EDGE_BYTES);
	tn_client_t cl[EDGE_CLIENTS];

	ck_assert_ptr_nonnull(payload);
	tn_fill_random(payload, EDGE_BYTES, 4242);
	edge_server_start(&s, &ctx);
	for (int i = 0; i < EDGE_CLIENTS; i++) {
		int fd = tn_connect(s.port);
		ck_assert_msg(fd >= 0, "connect: %s", strerror(errno));
		tn_client_init(&cl[i], fd, payload, EDGE_BYTES, NULL, 0);
		cl[i].shut_wr = shut_wr;
		cl[i].want_eof = shut_wr;
	}
	int failed = tn_pump(cl, EDGE_CLIENTS, IO_MS);
	ck_assert_msg(failed == 0, "%d client(s) failed; %s", failed,
	    tn_pump_error(cl, EDGE_CLIENTS));
	for (int i = 0; i < EDGE_CLIENTS; i++)
		tn_close(&cl[i].fd);
	TN_WAIT_UNTIL(atomic_load(&ctx.closes) == EDGE_CLIENTS, WAIT_MS);
	ck_assert_int_eq(atomic_load(&ctx.bytes_in), (long)EDGE_CLIENTS * EDGE_BYTES);
	if (shut_wr)
		ck_assert_int_eq(atomic_load(&ctx.close_eof), EDGE_CLIENTS);
	tn_server_close(&s);
	free(payload);
	assert_no_loop_errors(&ctx);
}

START_TEST(test_edge_budget_reads_drain)
{
	edge_pump(0);
}
END_TEST

START_TEST(test_edge_budget_reads_then_fin)
{
	edge_pump(1);
}
END_TEST

/* A short message and its FIN sent back to back mostly reach the server
 * before it reads: one readiness report for both. The read of the bytes
 * is short, yet the stream's end is still waiting. */
START_TEST(test_edge_fin_with_last_bytes)
{
	recserver_t ctx;
	tn_server_t s;
	uint8_t msg[EDGE_FIN_BYTES], got[EDGE_FIN_BYTES];

	tn_fill_random(msg, sizeof msg, 77);
	edge_server_start(&s, &ctx);
	for (int i = 0; i < EDGE_FIN_CLIENTS; i++) {
		int fd = tn_connect(s.port);
		ck_assert_int_ge(fd, 0);
		ck_assert_uint_eq(tn_send_all(fd, msg, sizeof msg, IO_MS), sizeof msg);
		ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
		ck_assert_uint_eq(tn_read_exact(fd, got, sizeof got, IO_MS), sizeof got);
		ck_assert(memcmp(got, msg, sizeof msg) == 0);
		size_t extra = 0;
		int eof = tn_wait_eof(fd, WAIT_MS, &extra);
		ck_assert_msg(eof == 1 && extra == 0,
		    "client %d: tn_wait_eof = %d, %zu extra bytes", i, eof, extra);
		tn_close(&fd);
	}
	TN_WAIT_UNTIL(atomic_load(&ctx.closes) == EDGE_FIN_CLIENTS, WAIT_MS);
	ck_assert_int_eq(atomic_load(&ctx.close_eof), EDGE_FIN_CLIENTS);
	tn_server_close(&s);
	assert_no_loop_errors(&ctx);
}
END_TEST

/* ------------------------------------------------------------------------
 * A connection paused by another connection's callback while its own
 * readable event waits in the same epoll batch. The loop may read a
 * socket before it looks at the connection (gnet__conn_event), on the
 * word of the connection's slot; that word must follow the pause, or the
 * stale event reads the paused connection and calls its on_traffic.
 *
 * Three connections, in open order: V (the victim), A (pauses and
 * resumes V on command) and S (its callback holds the loop until the test
 * has sent to A and then V, so that both events come in one batch, A's
 * first).
 */
enum { PAUSE_V, PAUSE_A, PAUSE_S, PAUSE_CONNS };

typedef struct pause_srv {
	gnet_conn_t *conn[PAUSE_CONNS]; /* loop thread only */
	atomic_int opens;
	atomic_int victim_calls;        /* on_traffic calls for V */
	atomic_int holding, release;    /* S's callback holds the loop */
	tn_loop_errors_t errs;
} pause_srv_t;

static gnet_action_t pause_on_open(gnet_conn_t *c, void *udata)
{
	pause_srv_t *ctx = udata;
	int idx = atomic_fetch_add(&ctx->opens, 1);

	TN_LOOP_CHECK(&ctx->errs, idx < PAUSE_CONNS);
	if (idx < PAUSE_CONNS)
		ctx->conn[idx] = c;
	return GNET_NONE;
}

static gnet_action_t pause_on_traffic(gnet_conn_t *c, void *udata)
{
	pause_srv_t *ctx = udata;
	const void *data;
	size_t n = gnet_conn_peek(c, &data);
	const char *cmd = data;

	if (c == ctx->conn[PAUSE_S]) {
		int64_t deadline = tn_now_ms() + WAIT_MS;
		atomic_store(&ctx->holding, 1);
		while (!atomic_load(&ctx->release) && tn_now_ms() < deadline)
			tn_nap();
		TN_LOOP_CHECK(&ctx->errs, atomic_load(&ctx->release));
	} else if (c == ctx->conn[PAUSE_V]) {
		atomic_fetch_add(&ctx->victim_calls, 1);
		TN_LOOP_CHECK(&ctx->errs, gnet_conn_write(c, data, n) == (long)n);
	} else {
		for (size_t i = 0; i < n; i++) {
			char reply = cmd[i];
			if (cmd[i] == 'p' || cmd[i] == 'r')
				TN_LOOP_CHECK(&ctx->errs, gnet_conn_set_reading(
				    ctx->conn[PAUSE_V], cmd[i] == 'r') == 0);
			else if (cmd[i] == 'q')
				reply = (char)('0' + atomic_load(&ctx->victim_calls));
			TN_LOOP_CHECK(&ctx->errs, gnet_conn_write(c, &reply, 1) == 1);
		}
	}
	gnet_conn_discard(c, n);
	return GNET_NONE;
}

START_TEST(test_pause_from_other_conn_in_same_batch)
{
	static const gnet_events_t ev = { .size = sizeof(gnet_events_t), .on_open = pause_on_open,
	    .on_traffic = pause_on_traffic };
	gnet_options_t opts = { .size = sizeof(gnet_options_t), .num_loops = 1 };
	pause_srv_t ctx;
	tn_server_t s;
	int fd[PAUSE_CONNS];
	char c;

	memset(&ctx, 0, sizeof ctx);
	tn_server_start(&s, &ev, &opts, &ctx);
	for (int i = 0; i < PAUSE_CONNS; i++) {
		fd[i] = tn_connect(s.port);
		ck_assert_int_ge(fd[i], 0);
		TN_WAIT_UNTIL(atomic_load(&ctx.opens) == i + 1, WAIT_MS);
	}
	ck_assert_uint_eq(tn_send_all(fd[PAUSE_S], "s", 1, IO_MS), 1);
	TN_WAIT_UNTIL(atomic_load(&ctx.holding), WAIT_MS);
	/* Loopback queues the bytes at the server's sockets before send
	 * returns: A's, then V's readiness is on epoll's list in that order. */
	ck_assert_uint_eq(tn_send_all(fd[PAUSE_A], "p", 1, IO_MS), 1);
	ck_assert_uint_eq(tn_send_all(fd[PAUSE_V], "x", 1, IO_MS), 1);
	atomic_store(&ctx.release, 1);
	ck_assert_uint_eq(tn_read_exact(fd[PAUSE_A], &c, 1, IO_MS), 1);
	ck_assert_int_eq(c, 'p');
	/* A's next command is handled after the rest of that batch. */
	ck_assert_uint_eq(tn_send_all(fd[PAUSE_A], "q", 1, IO_MS), 1);
	ck_assert_uint_eq(tn_read_exact(fd[PAUSE_A], &c, 1, IO_MS), 1);
	ck_assert_msg(c == '0', "paused connection's on_traffic ran %c time(s)", c);
	/* Resumed, V gets the byte that waited. */
	ck_assert_uint_eq(tn_send_all(fd[PAUSE_A], "r", 1, IO_MS), 1);
	ck_assert_uint_eq(tn_read_exact(fd[PAUSE_A], &c, 1, IO_MS), 1);
	ck_assert_int_eq(c, 'r');
	ck_assert_uint_eq(tn_read_exact(fd[PAUSE_V], &c, 1, IO_MS), 1);
	ck_assert_int_eq(c, 'x');
	ck_assert_int_eq(atomic_load(&ctx.victim_calls), 1);
	for (int i = 0; i < PAUSE_CONNS; i++)
		tn_close(&fd[i]);
	tn_server_close(&s);
	TN_ASSERT_NO_LOOP_ERRORS(&ctx.errs);
}
END_TEST

/* ------------------------------------------------------------------------
 * gnet_actor_send of a user message to a connection reaches on_message.
 */
START_TEST(test_user_message_to_conn)
{
	recserver_t ctx;
	recserver_init(&ctx, NULL);
	gnet_options_t opts = { .size = sizeof(gnet_options_t), .num_loops = 2 };
	tn_server_t s;
	tn_server_start(&s, &recserver_events, &opts, &ctx);

	int fd = tn_connect(s.port);
	ck_assert_int_ge(fd, 0);
	TN_WAIT_UNTIL(atomic_load(&ctx.opens) == 1, WAIT_MS);
	gnet_handle_t h = atomic_load(&ctx.last_handle);
	ck_assert_uint_ne(h, GNET_HANDLE_NONE);

	/* This thread is foreign to the engine. */
	ck_assert_int_eq(gnet_loop_current(), -1);
	gnet_msg_t m = { .type = RS_PING_TYPE, .a = RS_PING_VALUE };
	int rc = gnet_actor_send(s.eng, h, &m);
	ck_assert_msg(rc == 0, "gnet_actor_send: %d (%s)", rc, gnet_strerror(rc));

	const char *want = "pong 42\n";
	char got[16] = { 0 };
	size_t n = tn_read_exact(fd, got, strlen(want), IO_MS);
	ck_assert_uint_eq(n, strlen(want));
	ck_assert_str_eq(got, want);
	ck_assert_int_eq(atomic_load(&ctx.msgs), 1);

	tn_close(&fd);
	TN_WAIT_UNTIL(atomic_load(&ctx.closes) == 1, WAIT_MS);
	tn_server_close(&s);
	assert_no_loop_errors(&ctx);
}
END_TEST

/* ------------------------------------------------------------------------
 * A peer that resets mid-stream: on_close reports it, serving goes on.
 */
START_TEST(test_peer_reset_mid_stream)
{
	recserver_t ctx;
	recserver_init(&ctx, NULL);
	tn_server_t s;
	tn_server_start(&s, &recserver_events, NULL, &ctx);

	uint8_t *payload = malloc(RESET_BYTES);
	ck_assert_ptr_nonnull(payload);
	tn_fill_random(payload, RESET_BYTES, 21);

	/* Client 1 sends without reading the echo, then resets. */
	int fd = tn_connect(s.port);
	ck_assert_int_ge(fd, 0);
	ck_assert_uint_eq(tn_send_all(fd, payload, RESET_BYTES, IO_MS), RESET_BYTES);
	TN_WAIT_UNTIL(atomic_load(&ctx.bytes_in) >= RESET_SEEN_BYTES, WAIT_MS);
	ck_assert_int_ge(atomic_load(&ctx.bytes_in), RESET_SEEN_BYTES);
	ck_assert_int_eq(tn_set_linger_rst(fd), 0);
	tn_close(&fd);

	TN_WAIT_UNTIL(atomic_load(&ctx.closes) == 1, WAIT_MS);
	ck_assert_int_eq(atomic_load(&ctx.closes), 1);
	int reason = atomic_load(&ctx.last_reason);
	ck_assert_msg(reason == GNET_EEOF || (reason < 0 && reason > -4096),
	    "close reason %d (%s), want a negative errno or GNET_EEOF", reason,
	    gnet_strerror(reason));

	/* Client 2 is served normally. */
	fd = tn_connect(s.port);
	ck_assert_int_ge(fd, 0);
	tn_client_t cl;
	tn_client_init(&cl, fd, payload, RESET_SEEN_BYTES, NULL, 0);
	ck_assert_msg(tn_pump(&cl, 1, IO_MS) == 0, "%s", tn_pump_error(&cl, 1));
	tn_close(&cl.fd);
	free(payload);

	TN_WAIT_UNTIL(atomic_load(&ctx.closes) == 2, WAIT_MS);
	ck_assert_int_eq(atomic_load(&ctx.closes), 2);
	tn_server_close(&s);
	assert_no_loop_errors(&ctx);
}
END_TEST

/* ------------------------------------------------------------------------
 */

static Suite *echo_suite(void)
{
	Suite *s = suite_create("echo");
	TCase *tc;

	tc = tn_tcase("bulk", TCASE_TIMEOUT_S);
	tcase_add_test(tc, test_bulk_echo_one_loop);
	tcase_add_test(tc, test_bulk_echo_four_loops);
	suite_add_tcase(s, tc);

	tc = tn_tcase("open", TCASE_TIMEOUT_S);
	tcase_add_test(tc, test_greeting_before_echo);
	suite_add_tcase(s, tc);

	tc = tn_tcase("close", TCASE_TIMEOUT_S);
	tcase_add_loop_test(tc, test_close_after_write, 0, 4);
	tcase_add_test(tc, test_on_close_once_per_conn);
	tcase_add_test(tc, test_half_close_gets_full_echo);
	tcase_add_test(tc, test_peer_reset_mid_stream);
	suite_add_tcase(s, tc);

	tc = tn_tcase("edge", TCASE_TIMEOUT_S);
	tcase_add_test(tc, test_edge_budget_reads_drain);
	tcase_add_test(tc, test_edge_budget_reads_then_fin);
	tcase_add_test(tc, test_edge_fin_with_last_bytes);
	tcase_add_test(tc, test_pause_from_other_conn_in_same_batch);
	suite_add_tcase(s, tc);

	tc = tn_tcase("stop", TCASE_TIMEOUT_S);
	tcase_add_test(tc, test_shutdown_from_traffic);
	tcase_add_test(tc, test_shutdown_from_open);
	tcase_add_test(tc, test_stop_with_idle_clients);
	suite_add_tcase(s, tc);

	tc = tn_tcase("foreign", TCASE_TIMEOUT_S);
	tcase_add_test(tc, test_async_write_foreign_thread);
	tcase_add_test(tc, test_async_write_closed_conn);
	tcase_add_test(tc, test_user_message_to_conn);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tn_run_suite(echo_suite());
}
