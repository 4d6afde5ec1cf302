/*
 * check_close.c -- integration suite "close": how connections and engines
 * end, on a real engine on loopback driven by plain client sockets.
 *
 * Covers the linger bound of a graceful close (a peer that never reads is
 * reset after linger_ms, on_close says GNET_ELINGER; one that reads slowly
 * gets every byte however long it takes; linger_ms < 0 gives up at once), abortive close from a callback and by handle from a foreign
 * thread (RST, GNET_EABORTED) next to a graceful close by handle (FIN,
 * reason 0), the max_inbound limit on a handler that never consumes (while
 * a well-behaved neighbour keeps echoing), engine stop flushing every
 * pending reply before the FIN, a port already in use, GNET_CLOSE from
 * on_open after a greeting, writes refused once close has begun or from
 * on_close, the engine state rules of gnet_engine_run/listen, the
 * acceptor's back-off at the descriptor limit, and a running engine that
 * opens no descriptor of its own (which that test counts on).
 *
 * The server (support/close_server) takes one mode per test; its callbacks
 * only record into atomics and the connection log, and the test thread
 * asserts, with bounded waits. No sleep is used to synchronise with the
 * engine.
 */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gnet.h"
#include "support/close_server.h"
#include "support/conn_log.h"
#include "support/recserver.h"
#include "support/testnet.h"

#define TCASE_TIMEOUT_S 30
#define WAIT_MS 5000            /* for a callback to be observed */
#define IO_MS 10000             /* for a single client exchange */

/* Linger: a flood far above every socket buffer below, so most of it is
 * still in the outbound buffer when the close begins. */
#define FLOOD_BYTES ((size_t)8 * 1024 * 1024)
#define LINGER_MS 300
#define LINGER_SNDBUF (16 * 1024)     /* server SO_SNDBUF */
#define LINGER_RCVBUF (8 * 1024)      /* client SO_RCVBUF; it never reads */
#define LINGER_MAX_MS 5000            /* on_close must come well before this */
#define LINGER_NONE_MS (-1)           /* linger_ms < 0: do not wait at all */
#define PROMPT_MS 1000                /* "at once" for linger_ms < 0 */
/* tn_now_ms truncates to whole milliseconds: two truncated stamps can
 * differ by up to 1 ms less than the real interval. */
#define CLOCK_SLACK_MS 2

#define MAX_INBOUND ((size_t)64 * 1024)
#define DEFAULT_READ_CAP ((size_t)64 * 1024 + 1) /* documented read_buffer_cap, + 1 */
#define HOARD_BYTES ((size_t)1024 * 1024)
#define ECHO_BYTES ((size_t)1024 * 1024)   /* > MAX_INBOUND, but consumed */
#define ECHO_AFTER_BYTES ((size_t)64 * 1024)
#define TAG_ECHO 'E'                  /* first byte: echo everything */

#define STOP_CLIENTS 5
#define REPLY_BYTES ((size_t)2 * 1024 * 1024)
#define REPLY_SEED 0x5EED0000ull
#define STOP_SNDBUF (64 * 1024)       /* keeps most of each reply queued */
#define STOP_RCVBUF (64 * 1024)
#define STOP_LINGER_MS 10000          /* the flush, not the bound, is tested */
#define STOP_READ_CHUNK 16384         /* one recv per client per poll round */
#define POLL_SLICE_MS 100

#define GREETING "HELLO, and goodbye\n"
#define REPLY_BEFORE_CLOSE "ok\n"

#define LOCAL_ANY_PORT "tcp://127.0.0.1:0"

#define assert_no_loop_errors(ctx) TN_ASSERT_NO_LOOP_ERRORS(&(ctx)->errs)

/* ------------------------------------------------------------------------
 * Small helpers.
 */

/* Wait for connection `idx` to open; returns its handle (fails if none). */
static gnet_handle_t wait_open(close_server_t *ctx, int idx)
{
	gnet_handle_t h = tn_conn_log_wait_ready(&ctx->log, idx, WAIT_MS);

	ck_assert_msg(h != GNET_HANDLE_NONE, "connection %d opened without a "
	    "handle", idx);
	return h;
}

/* Stop the engine and check that no connection was closed twice. */
static void close_server_and_check_once(tn_server_t *s, close_server_t *ctx)
{
	tn_server_close(s);
	tn_conn_log_assert_closed_once(&ctx->log);
	ck_assert_int_eq(atomic_load(&ctx->shutdowns), 1);
}

/* A server that floods its first client with flood[0..len) and closes
 * (linger_ms), through small socket buffers; returns the client, which
 * has sent the byte that starts it. */
static int start_flood(close_server_t *ctx, tn_server_t *s,
    const uint8_t *flood, size_t len, int linger_ms)
{
	close_server_init(ctx, CS_FLOOD_CLOSE);
	ctx->flood = flood;
	ctx->flood_len = len;
	gnet_options_t opts = { .size = sizeof(gnet_options_t),
		.num_loops = 1,
		.linger_ms = linger_ms,
		.sndbuf = LINGER_SNDBUF,
	};
	tn_server_start(s, &close_server_events, &opts, ctx);

	int fd = tn_connect_rcvbuf(s->port, LINGER_RCVBUF);
	ck_assert_msg(fd >= 0, "connect: %s", strerror(errno));
	ck_assert_uint_eq(tn_send_all(fd, "!", 1, IO_MS), 1);
	return fd;
}

/* ------------------------------------------------------------------------
 * 1, 2. A peer that never reads, a close with megabytes still queued.
 *
 * linger_ms > 0: the close waits linger_ms for the peer, then resets it and
 * says GNET_ELINGER. linger_ms < 0: it gives up at once, same reason.
 */
static void flood_then_close(int linger_ms)
{
	uint8_t *flood = malloc(FLOOD_BYTES);
	ck_assert_ptr_nonnull(flood);
	tn_fill_random(flood, FLOOD_BYTES, 11);

	close_server_t ctx;
	tn_server_t s;
	int fd = start_flood(&ctx, &s, flood, FLOOD_BYTES, linger_ms);

	/* The client does not read anything until on_close has run. */
	TN_WAIT_UNTIL(atomic_load(&ctx.closes) >= 1, LINGER_MAX_MS);
	ck_assert_msg(atomic_load(&ctx.closes) == 1,
	    "on_close ran %d times within %d ms, want once",
	    atomic_load(&ctx.closes), LINGER_MAX_MS);
	int reason = atomic_load(&ctx.log.conn[0].reason);
	ck_assert_msg(reason == GNET_ELINGER, "close reason %d (%s), want GNET_ELINGER",
	    reason, gnet_strerror(reason));

	long elapsed = atomic_load(&ctx.log.conn[0].close_ms) -
	    atomic_load(&ctx.close_begun_ms);
	if (linger_ms > 0) {
		ck_assert_msg(elapsed >= linger_ms - CLOCK_SLACK_MS,
		    "on_close %ld ms after the close, before linger_ms = %d", elapsed,
		    linger_ms);
		ck_assert_msg(elapsed < LINGER_MAX_MS,
		    "on_close %ld ms after the close, linger_ms = %d", elapsed, linger_ms);
	} else {
		ck_assert_msg(elapsed < PROMPT_MS,
		    "on_close %ld ms after the close with linger_ms < 0, want < %d",
		    elapsed, PROMPT_MS);
	}

	/* The peer is reset (or, at worst, sees EOF) short of the flood. */
	size_t got = 0;
	int end = tn_wait_eof(fd, IO_MS, &got);
	ck_assert_msg(end == -ECONNRESET || end == 1,
	    "client: tn_wait_eof = %d (%s) after %zu bytes, want a reset or EOF",
	    end, end < 0 ? strerror(-end) : "-", got);
	ck_assert_msg(got < FLOOD_BYTES,
	    "client received all %zu bytes: the close did not give up", got);
	tn_close(&fd);

	close_server_and_check_once(&s, &ctx);
	ck_assert_int_eq(atomic_load(&ctx.closes), 1);
	free(flood);
	assert_no_loop_errors(&ctx);
}

START_TEST(test_linger_expiry)
{
	flood_then_close(LINGER_MS);
}
END_TEST

START_TEST(test_linger_negative)
{
	flood_then_close(LINGER_NONE_MS);
}
END_TEST

/* ------------------------------------------------------------------------
 * 2b. A slow reader is not cut off: the linger bound is the peer's lack
 * of progress, not the close's age. The client takes SLOW_CHUNK bytes
 * every SLOW_PAUSE_MS, far inside LINGER_MS, so the whole flood takes
 * many times LINGER_MS; it must all arrive, then a FIN, and on_close
 * says 0.
 */
#define SLOW_FLOOD_BYTES ((size_t)2 * 1024 * 1024)
#define SLOW_CHUNK ((size_t)8 * 1024)
#define SLOW_PAUSE_MS 10
#define SLOW_MAX_MS 20000

static void read_slowly(int fd, uint8_t *got, size_t want)
{
	size_t have = 0;
	int64_t deadline = tn_now_ms() + SLOW_MAX_MS;

	while (have < want && tn_now_ms() < deadline) {
		size_t n = want - have < SLOW_CHUNK ? want - have : SLOW_CHUNK;
		size_t r = tn_read_exact(fd, got + have, n, IO_MS);
		have += r;
		if (r < n)
			break;
		/* The pacing of a slow reader, not a synchronisation. */
		poll(NULL, 0, SLOW_PAUSE_MS);
	}
	ck_assert_msg(have == want, "slow reader got %zu of %zu bytes", have,
	    want);
}

START_TEST(test_linger_slow_reader)
{
	uint8_t *flood = malloc(SLOW_FLOOD_BYTES);
	uint8_t *got = malloc(SLOW_FLOOD_BYTES);
	ck_assert_ptr_nonnull(flood);
	ck_assert_ptr_nonnull(got);
	tn_fill_random(flood, SLOW_FLOOD_BYTES, 12);

	close_server_t ctx;
	tn_server_t s;
	int fd = start_flood(&ctx, &s, flood, SLOW_FLOOD_BYTES, LINGER_MS);
	read_slowly(fd, got, SLOW_FLOOD_BYTES);
	ck_assert_msg(memcmp(got, flood, SLOW_FLOOD_BYTES) == 0,
	    "the slow reader's bytes differ from what was written");
	size_t extra = 0;
	int end = tn_wait_eof(fd, IO_MS, &extra);
	ck_assert_msg(end == 1 && extra == 0, "after the flood: tn_wait_eof = "
	    "%d (%s), %zu extra bytes; want EOF", end,
	    end < 0 ? strerror(-end) : "-", extra);
	tn_close(&fd);

	TN_WAIT_UNTIL(atomic_load(&ctx.closes) >= 1, WAIT_MS);
	ck_assert_int_eq(atomic_load(&ctx.closes), 1);
	int reason = atomic_load(&ctx.log.conn[0].reason);
	ck_assert_msg(reason == 0, "close reason %d (%s), want 0", reason,
	    gnet_strerror(reason));
	/* The test means something only if the flush outlived the bound. */
	long elapsed = atomic_load(&ctx.log.conn[0].close_ms) -
	    atomic_load(&ctx.close_begun_ms);
	ck_assert_msg(elapsed > 3 * LINGER_MS, "the flush took %ld ms, not "
	    "well past linger_ms = %d: the reader was not slow", elapsed,
	    LINGER_MS);

	close_server_and_check_once(&s, &ctx);
	free(got);
	free(flood);
	assert_no_loop_errors(&ctx);
}
END_TEST

/* ------------------------------------------------------------------------
 * 3. gnet_conn_abort from on_traffic: pending output dropped, RST.
 */
START_TEST(test_abort_from_callback)
{
	close_server_t ctx;
	close_server_init(&ctx, CS_WRITE_ABORT);
	tn_server_t s;
	tn_server_start(&s, &close_server_events, NULL, &ctx);

	int fd = tn_connect(s.port);
	ck_assert_msg(fd >= 0, "connect: %s", strerror(errno));
	ck_assert_uint_eq(tn_send_all(fd, "!", 1, IO_MS), 1);

	TN_WAIT_UNTIL(atomic_load(&ctx.closes) == 1, WAIT_MS);
	ck_assert_int_eq(atomic_load(&ctx.closes), 1);
	int reason = atomic_load(&ctx.log.conn[0].reason);
	ck_assert_msg(reason == GNET_EABORTED, "close reason %d (%s), want GNET_EABORTED",
	    reason, gnet_strerror(reason));

	/* RST, not FIN: the read fails instead of returning 0, and the bytes
	 * written before the abort were dropped, never sent. */
	size_t got = 0;
	int end = tn_wait_eof(fd, IO_MS, &got);
	ck_assert_msg(end == -ECONNRESET,
	    "client: tn_wait_eof = %d (%s), want -ECONNRESET (an RST)", end,
	    end < 0 ? strerror(-end) : (end == 1 ? "EOF: a FIN" : "timeout"));
	ck_assert_msg(got == 0, "client received %zu bytes the abort should drop", got);
	tn_close(&fd);

	close_server_and_check_once(&s, &ctx);
	assert_no_loop_errors(&ctx);
}
END_TEST

/* ------------------------------------------------------------------------
 * 4. gnet_conn_abort_async and gnet_conn_close_async by handle from a foreign thread.
 */
START_TEST(test_abort_and_close_async)
{
	close_server_t ctx;
	close_server_init(&ctx, CS_IDLE);
	/* Two loops: each connection lives on its own loop, so the messages
	 * are routed by the handle's loop index. */
	gnet_options_t opts = { .size = sizeof(gnet_options_t), .num_loops = 2 };
	tn_server_t s;
	tn_server_start(&s, &close_server_events, &opts, &ctx);

	int fd_abort = tn_connect(s.port);
	ck_assert_int_ge(fd_abort, 0);
	gnet_handle_t h_abort = wait_open(&ctx, 0);
	int fd_close = tn_connect(s.port);
	ck_assert_int_ge(fd_close, 0);
	gnet_handle_t h_close = wait_open(&ctx, 1);

	/* The test thread is foreign to the engine. */
	ck_assert_int_eq(gnet_loop_current(), -1);
	int rc = gnet_conn_abort_async(s.eng, h_abort);
	ck_assert_msg(rc == 0, "gnet_conn_abort_async: %d (%s)", rc, gnet_strerror(rc));
	rc = gnet_conn_close_async(s.eng, h_close);
	ck_assert_msg(rc == 0, "gnet_conn_close_async: %d (%s)", rc, gnet_strerror(rc));

	TN_WAIT_UNTIL(atomic_load(&ctx.closes) == 2, WAIT_MS);
	ck_assert_int_eq(atomic_load(&ctx.closes), 2);
	int reason = atomic_load(&ctx.log.conn[0].reason);
	ck_assert_msg(reason == GNET_EABORTED,
	    "aborted connection: close reason %d (%s), want GNET_EABORTED", reason,
	    gnet_strerror(reason));
	reason = atomic_load(&ctx.log.conn[1].reason);
	ck_assert_msg(reason == 0, "closed connection: close reason %d (%s), want 0",
	    reason, gnet_strerror(reason));

	size_t extra = 0;
	int end = tn_wait_eof(fd_abort, IO_MS, &extra);
	ck_assert_msg(end == -ECONNRESET,
	    "aborted client: tn_wait_eof = %d, want -ECONNRESET (an RST)", end);
	end = tn_wait_eof(fd_close, IO_MS, &extra);
	ck_assert_msg(end == 1 && extra == 0,
	    "closed client: tn_wait_eof = %d with %zu extra bytes, want a clean EOF",
	    end, extra);
	tn_close(&fd_abort);
	tn_close(&fd_close);

	close_server_and_check_once(&s, &ctx);
	assert_no_loop_errors(&ctx);
}
END_TEST

/* ------------------------------------------------------------------------
 * 5. max_inbound: a handler that never consumes is cut off at the limit;
 * a neighbour on the same loop that consumes keeps echoing throughout.
 */
START_TEST(test_max_inbound)
{
	close_server_t ctx;
	close_server_init(&ctx, CS_HOARD_OR_ECHO);
	/* One loop: the limit on one connection must not disturb another
	 * served by the same thread. */
	gnet_options_t opts = { .size = sizeof(gnet_options_t), .num_loops = 1, .max_inbound = MAX_INBOUND };
	tn_server_t s;
	tn_server_start(&s, &close_server_events, &opts, &ctx);

	uint8_t *hoard = malloc(HOARD_BYTES);
	uint8_t *echo = malloc(ECHO_BYTES);
	ck_assert_ptr_nonnull(hoard);
	ck_assert_ptr_nonnull(echo);
	tn_fill_random(hoard, HOARD_BYTES, 21);
	tn_fill_random(echo, ECHO_BYTES, 22);
	hoard[0] = CS_TAG_HOARD;
	echo[0] = TAG_ECHO;

	/* Open them in a known order: conns[0] echoes, conns[1] hoards. */
	int fd_echo = tn_connect(s.port);
	ck_assert_int_ge(fd_echo, 0);
	wait_open(&ctx, 0);
	int fd_hoard = tn_connect(s.port);
	ck_assert_int_ge(fd_hoard, 0);
	wait_open(&ctx, 1);

	/* Both at once, under one poll loop. The hoarder expects nothing and
	 * may see its sends fail once the server gives up on it. */
	enum { CL_ECHO = 0, CL_HOARD = 1, NCL = 2 };
	static const uint8_t nothing[1];
	tn_client_t cl[NCL];
	tn_client_init(&cl[CL_ECHO], fd_echo, echo, ECHO_BYTES, NULL, 0);
	tn_client_init(&cl[CL_HOARD], fd_hoard, hoard, HOARD_BYTES, nothing, 0);
	tn_pump(cl, NCL, IO_MS);
	ck_assert_msg(cl[CL_ECHO].done, "echo client next to the hoarder: %s",
	    cl[CL_ECHO].error);
	ck_assert_msg(cl[CL_HOARD].recvd == 0, "hoarder received %zu bytes",
	    cl[CL_HOARD].recvd);

	TN_WAIT_UNTIL(atomic_load(&ctx.log.conn[1].closes) == 1, WAIT_MS);
	ck_assert_msg(atomic_load(&ctx.log.conn[1].closes) == 1,
	    "hoarding connection not closed (sent %zu bytes, largest view %zu)",
	    cl[CL_HOARD].sent, atomic_load(&ctx.max_hoard_view));
	int reason = atomic_load(&ctx.log.conn[1].reason);
	ck_assert_msg(reason == GNET_EINBOUND,
	    "hoarder: close reason %d (%s), want GNET_EINBOUND", reason,
	    gnet_strerror(reason));
	/* Closed at the first read past the limit: the handler never saw
	 * more than the limit plus one read. */
	size_t peak = atomic_load(&ctx.max_hoard_view);
	ck_assert_msg(peak <= MAX_INBOUND + DEFAULT_READ_CAP,
	    "hoarder was shown %zu unconsumed bytes, limit %zu + one read %zu",
	    peak, MAX_INBOUND, DEFAULT_READ_CAP);
	/* Its peer sees the end of the connection (FIN or RST), not silence. */
	int end = tn_wait_eof(fd_hoard, IO_MS, NULL);
	ck_assert_msg(end != 0, "hoarder client: connection still open %d ms after "
	    "GNET_EINBOUND", IO_MS);
	tn_close(&fd_hoard);

	/* The echo connection is untouched by its neighbour's end. */
	ck_assert_int_eq(atomic_load(&ctx.log.conn[0].closes), 0);
	tn_client_t again;
	tn_client_init(&again, fd_echo, echo, ECHO_AFTER_BYTES, NULL, 0);
	ck_assert_msg(tn_pump(&again, 1, IO_MS) == 0, "echo after the hoarder closed: %s",
	    tn_pump_error(&again, 1));
	tn_close(&fd_echo);
	TN_WAIT_UNTIL(atomic_load(&ctx.log.conn[0].closes) == 1, WAIT_MS);
	reason = atomic_load(&ctx.log.conn[0].reason);
	ck_assert_msg(reason == GNET_EEOF, "echo: close reason %d (%s), want GNET_EEOF",
	    reason, gnet_strerror(reason));

	close_server_and_check_once(&s, &ctx);
	free(hoard);
	free(echo);
	assert_no_loop_errors(&ctx);
}
END_TEST

/* ------------------------------------------------------------------------
 * 6. Engine stop with megabytes queued: every reply is flushed, then FIN.
 */
typedef struct reader {
	int fd;
	uint8_t *buf;
	size_t got;
	int eof;
	int err;            /* errno of a failed recv, 0 if none */
	int overflow;       /* bytes past REPLY_BYTES arrived */
} reader_t;

/* One recv of at most STOP_READ_CHUNK: a slow but steady reader. */
static void reader_step(reader_t *r)
{
	uint8_t scratch[STOP_READ_CHUNK];
	ssize_t n = recv(r->fd, scratch, sizeof scratch, MSG_DONTWAIT);
	if (n > 0) {
		size_t room = REPLY_BYTES - r->got;
		if ((size_t)n > room) {
			r->overflow = 1;
			n = (ssize_t)room;
		}
		memcpy(r->buf + r->got, scratch, (size_t)n);
		r->got += (size_t)n;
	} else if (n == 0) {
		r->eof = 1;
	} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
		r->err = errno;
	}
}

static int reader_active(const reader_t *r)
{
	return !r->eof && !r->err && !r->overflow;
}

START_TEST(test_stop_flushes_pending)
{
	uint8_t *replies[STOP_CLIENTS];
	close_server_t ctx;
	close_server_init(&ctx, CS_REPLY);
	for (int i = 0; i < STOP_CLIENTS; i++) {
		replies[i] = malloc(REPLY_BYTES);
		ck_assert_ptr_nonnull(replies[i]);
		tn_fill_random(replies[i], REPLY_BYTES, REPLY_SEED + (uint64_t)i);
		ctx.replies[i] = replies[i];
	}
	ctx.nreplies = STOP_CLIENTS;
	ctx.reply_len = REPLY_BYTES;
	gnet_options_t opts = { .size = sizeof(gnet_options_t),
		.num_loops = 2,
		.linger_ms = STOP_LINGER_MS,
		.sndbuf = STOP_SNDBUF,
	};
	tn_server_t s;
	tn_server_start(&s, &close_server_events, &opts, &ctx);

	reader_t rd[STOP_CLIENTS];
	memset(rd, 0, sizeof rd);
	for (int i = 0; i < STOP_CLIENTS; i++) {
		rd[i].fd = tn_connect_rcvbuf(s.port, STOP_RCVBUF);
		ck_assert_msg(rd[i].fd >= 0, "connect %d: %s", i, strerror(errno));
		rd[i].buf = malloc(REPLY_BYTES);
		ck_assert_ptr_nonnull(rd[i].buf);
		/* The request names the reply: client i gets replies[i]. */
		uint8_t req = (uint8_t)i;
		ck_assert_uint_eq(tn_send_all(rd[i].fd, &req, 1, IO_MS), 1);
	}

	/* Nobody reads yet, so the replies sit in outbound buffers. */
	TN_WAIT_UNTIL(atomic_load(&ctx.replies_queued) == STOP_CLIENTS, WAIT_MS);
	ck_assert_int_eq(atomic_load(&ctx.replies_queued), STOP_CLIENTS);
	ck_assert_int_eq(gnet_engine_stop(s.eng), 0);

	/* Read everything, a chunk per client per round, until every client
	 * has its EOF (or failed). gnet_engine_run cannot return before. */
	int64_t deadline = tn_now_ms() + IO_MS;
	for (;;) {
		struct pollfd pfd[STOP_CLIENTS];
		int idx[STOP_CLIENTS];
		int n = 0;
		for (int i = 0; i < STOP_CLIENTS; i++) {
			if (!reader_active(&rd[i]))
				continue;
			pfd[n] = (struct pollfd){ .fd = rd[i].fd, .events = POLLIN };
			idx[n++] = i;
		}
		if (n == 0 || tn_now_ms() >= deadline)
			break;
		if (poll(pfd, (nfds_t)n, POLL_SLICE_MS) <= 0)
			continue;
		for (int j = 0; j < n; j++)
			if (pfd[j].revents & (POLLIN | POLLHUP | POLLERR))
				reader_step(&rd[idx[j]]);
	}

	for (int i = 0; i < STOP_CLIENTS; i++) {
		ck_assert_msg(!rd[i].overflow, "client %d: more than %zu bytes", i,
		    REPLY_BYTES);
		ck_assert_msg(rd[i].err == 0, "client %d: recv failed after %zu of %zu "
		    "bytes: %s", i, rd[i].got, REPLY_BYTES, strerror(rd[i].err));
		ck_assert_msg(rd[i].got == REPLY_BYTES && rd[i].eof,
		    "client %d: %zu of %zu bytes, EOF %s", i, rd[i].got, REPLY_BYTES,
		    rd[i].eof ? "seen" : "not seen");
		if (memcmp(rd[i].buf, replies[i], REPLY_BYTES) != 0) {
			size_t k = 0;
			while (rd[i].buf[k] == replies[i][k])
				k++;
			ck_abort_msg("client %d: byte %zu differs", i, k);
		}
	}

	tn_server_join(&s, TN_JOIN_TIMEOUT_MS);
	ck_assert_int_eq(s.run_rc, 0);
	ck_assert_int_eq(atomic_load(&ctx.closes), STOP_CLIENTS);
	for (int i = 0; i < STOP_CLIENTS; i++) {
		int reason = atomic_load(&ctx.log.conn[i].reason);
		ck_assert_msg(reason == GNET_ESHUTDOWN,
		    "connection %d: close reason %d (%s), want GNET_ESHUTDOWN", i,
		    reason, gnet_strerror(reason));
		ck_assert_int_eq(atomic_load(&ctx.log.conn[i].closes), 1);
	}
	ck_assert_int_eq(atomic_load(&ctx.shutdowns), 1);
	tn_server_free(&s);

	for (int i = 0; i < STOP_CLIENTS; i++) {
		tn_close(&rd[i].fd);
		free(rd[i].buf);
		free(replies[i]);
	}
	assert_no_loop_errors(&ctx);
}
END_TEST

/* ------------------------------------------------------------------------
 * 7. A port that another engine listens on: -EADDRINUSE, named "in use".
 */
START_TEST(test_addr_in_use)
{
	close_server_t ctx;
	close_server_init(&ctx, CS_IDLE);
	gnet_engine_t *first = NULL, *second = NULL;
	int rc = gnet_engine_new(&first, &close_server_events, NULL, &ctx);
	ck_assert_msg(rc == 0, "gnet_engine_new: %d (%s)", rc, gnet_strerror(rc));
	rc = gnet_engine_new(&second, &close_server_events, NULL, &ctx);
	ck_assert_msg(rc == 0, "gnet_engine_new: %d (%s)", rc, gnet_strerror(rc));

	rc = gnet_engine_listen(first, LOCAL_ANY_PORT);
	ck_assert_msg(rc == 0, "gnet_engine_listen: %d (%s)", rc, gnet_strerror(rc));
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	memset(&ss, 0, sizeof ss);
	ck_assert_int_eq(gnet_engine_addr(first, 0, &ss, &len), 0);
	int port = tn_addr_port(&ss);
	ck_assert_int_gt(port, 0);

	char addr[64];
	snprintf(addr, sizeof addr, "tcp://127.0.0.1:%d", port);
	rc = gnet_engine_listen(second, addr);
	ck_assert_msg(rc == -EADDRINUSE, "second listen on %s: %d (%s), want -EADDRINUSE",
	    addr, rc, gnet_strerror(rc));
	const char *msg = gnet_strerror(rc);
	ck_assert_ptr_nonnull(msg);
	ck_assert_msg(strcasestr(msg, "in use") != NULL,
	    "gnet_strerror(-EADDRINUSE) = \"%s\", want it to say \"in use\"", msg);

	gnet_engine_free(second);
	gnet_engine_free(first);
}
END_TEST

/* ------------------------------------------------------------------------
 * 8. on_open writes a greeting and returns GNET_CLOSE.
 */
START_TEST(test_open_greet_close)
{
	close_server_t ctx;
	close_server_init(&ctx, CS_GREET_CLOSE);
	ctx.greeting = GREETING;
	tn_server_t s;
	tn_server_start(&s, &close_server_events, NULL, &ctx);

	int fd = tn_connect(s.port);
	ck_assert_msg(fd >= 0, "connect: %s", strerror(errno));
	size_t glen = strlen(GREETING);
	char buf[sizeof GREETING] = { 0 };
	size_t n = tn_read_exact(fd, buf, glen, IO_MS);
	ck_assert_msg(n == glen, "greeting: %zu of %zu bytes", n, glen);
	ck_assert_str_eq(buf, GREETING);
	size_t extra = 0;
	int end = tn_wait_eof(fd, IO_MS, &extra);
	ck_assert_msg(end == 1 && extra == 0,
	    "after the greeting: tn_wait_eof = %d with %zu extra bytes, want EOF",
	    end, extra);
	tn_close(&fd);

	TN_WAIT_UNTIL(atomic_load(&ctx.closes) == 1, WAIT_MS);
	ck_assert_int_eq(atomic_load(&ctx.closes), 1);
	int reason = atomic_load(&ctx.log.conn[0].reason);
	ck_assert_msg(reason == 0, "close reason %d (%s), want 0", reason,
	    gnet_strerror(reason));
	close_server_and_check_once(&s, &ctx);
	ck_assert_int_eq(atomic_load(&ctx.closes), 1);
	assert_no_loop_errors(&ctx);
}
END_TEST

/* ------------------------------------------------------------------------
 * 9. Writes once close has begun, and from on_close, are refused.
 */
START_TEST(test_write_after_close)
{
	close_server_t ctx;
	close_server_init(&ctx, CS_CLOSE_THEN_WRITE);
	ctx.reply = REPLY_BEFORE_CLOSE;
	/* Sentinels: a callback that never ran would leave these. */
	atomic_store(&ctx.write_after_close_rc, 1);
	atomic_store(&ctx.writev_after_close_rc, 1);
	atomic_store(&ctx.close_rc, 1);
	atomic_store(&ctx.close_write_rc[0], 1);
	tn_server_t s;
	tn_server_start(&s, &close_server_events, NULL, &ctx);

	int fd = tn_connect(s.port);
	ck_assert_msg(fd >= 0, "connect: %s", strerror(errno));
	ck_assert_uint_eq(tn_send_all(fd, "!", 1, IO_MS), 1);

	/* What was written before the close arrives, nothing after it. */
	size_t rlen = strlen(REPLY_BEFORE_CLOSE);
	char buf[sizeof REPLY_BEFORE_CLOSE] = { 0 };
	ck_assert_uint_eq(tn_read_exact(fd, buf, rlen, IO_MS), rlen);
	ck_assert_str_eq(buf, REPLY_BEFORE_CLOSE);
	size_t extra = 0;
	int end = tn_wait_eof(fd, IO_MS, &extra);
	ck_assert_msg(end == 1 && extra == 0,
	    "after the reply: tn_wait_eof = %d with %zu extra bytes, want EOF",
	    end, extra);
	tn_close(&fd);

	TN_WAIT_UNTIL(atomic_load(&ctx.closes) == 1, WAIT_MS);
	ck_assert_int_eq(atomic_load(&ctx.closes), 1);
	ck_assert_int_eq(atomic_load(&ctx.close_rc), 0);
	long rc = atomic_load(&ctx.write_after_close_rc);
	ck_assert_msg(rc == GNET_ECLOSED,
	    "gnet_conn_write after gnet_conn_close: %ld (%s), want GNET_ECLOSED", rc,
	    gnet_strerror((int)rc));
	rc = atomic_load(&ctx.writev_after_close_rc);
	ck_assert_msg(rc == GNET_ECLOSED,
	    "gnet_conn_writev after gnet_conn_close: %ld (%s), want GNET_ECLOSED", rc,
	    gnet_strerror((int)rc));
	rc = atomic_load(&ctx.close_write_rc[0]);
	ck_assert_msg(rc == GNET_ECLOSED,
	    "gnet_conn_write in on_close: %ld (%s), want GNET_ECLOSED", rc,
	    gnet_strerror((int)rc));
	int reason = atomic_load(&ctx.log.conn[0].reason);
	ck_assert_msg(reason == 0, "close reason %d (%s), want 0", reason,
	    gnet_strerror(reason));

	close_server_and_check_once(&s, &ctx);
	assert_no_loop_errors(&ctx);
}
END_TEST

/* ------------------------------------------------------------------------
 * 10. gnet_engine_run runs once; gnet_engine_listen is for setup only.
 */
typedef struct run_call {
	gnet_engine_t *eng;
	int rc;
	atomic_int done;
} run_call_t;

static void *run_call_main(void *arg)
{
	run_call_t *rc = arg;
	rc->rc = gnet_engine_run(rc->eng);
	atomic_store(&rc->done, 1);
	return NULL;
}

START_TEST(test_run_twice_and_late_listen)
{
	close_server_t ctx;
	close_server_init(&ctx, CS_IDLE);
	tn_server_t s;
	tn_server_start(&s, &close_server_events, NULL, &ctx);

	/* While running: too late to listen. */
	int rc = gnet_engine_listen(s.eng, LOCAL_ANY_PORT);
	ck_assert_msg(rc == GNET_ESTATE, "listen while running: %d (%s), want GNET_ESTATE",
	    rc, gnet_strerror(rc));

	tn_server_stop(&s);
	ck_assert_int_eq(s.run_rc, 0);
	ck_assert_int_eq(atomic_load(&ctx.boots), 1);
	ck_assert_int_eq(atomic_load(&ctx.shutdowns), 1);

	/* The second run goes on its own thread so that a library that did
	 * start serving again cannot hang this test: it is stopped below. */
	run_call_t again = { .eng = s.eng, .rc = 1 };
	atomic_init(&again.done, 0);
	pthread_t th;
	ck_assert_int_eq(pthread_create(&th, NULL, run_call_main, &again), 0);
	TN_WAIT_UNTIL(atomic_load(&again.done), WAIT_MS);
	int returned = atomic_load(&again.done);
	if (!returned)
		gnet_engine_stop(s.eng);
	/* Reuse the helper's bounded join on the second thread. */
	s.thread = th;
	s.joined = 0;
	tn_server_join(&s, TN_JOIN_TIMEOUT_MS);
	ck_assert_msg(returned, "second gnet_engine_run did not return within %d ms",
	    WAIT_MS);
	ck_assert_msg(again.rc == GNET_ESTATE,
	    "second gnet_engine_run: %d (%s), want GNET_ESTATE", again.rc,
	    gnet_strerror(again.rc));
	/* It must not have booted or shut down a second time either. */
	ck_assert_int_eq(atomic_load(&ctx.boots), 1);
	ck_assert_int_eq(atomic_load(&ctx.shutdowns), 1);

	rc = gnet_engine_listen(s.eng, LOCAL_ANY_PORT);
	ck_assert_msg(rc == GNET_ESTATE, "listen after run: %d (%s), want GNET_ESTATE",
	    rc, gnet_strerror(rc));

	tn_server_free(&s);
	assert_no_loop_errors(&ctx);
}
END_TEST

/* ------------------------------------------------------------------------
 * 11. Out of descriptors: accept fails with EMFILE while connections wait
 * in the backlog. The acceptor must back off instead of spinning on the
 * level-triggered listener, and accept them all once descriptors free up.
 *
 * The descriptor table is really full: lowering RLIMIT_NOFILE alone would
 * not reach accepts io_uring already holds, which keep the limit of when
 * they were made. So the limit is lowered before the engine starts, with
 * room for what it opens, and the room left is then filled.
 */
#define FDLIMIT_CLIENTS 8
#define FDLIMIT_ROOM 64         /* descriptors an engine may open at start */
#define FDLIMIT_WINDOW_MS 300
/* A spinning acceptor turned ~1850 times in the window here; one that
 * backs off (100 ms) turns a handful of times. */
#define FDLIMIT_MAX_TURNS 100

START_TEST(test_accept_backs_off_at_fd_limit)
{
	recserver_t echo;
	gnet_options_t opts = { .size = sizeof(gnet_options_t), .num_loops = 1 };
	gnet_loop_stats_t before = { .size = sizeof(gnet_loop_stats_t) }, now = { .size = sizeof(gnet_loop_stats_t) };
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct rlimit old, low;
	int fds[FDLIMIT_CLIENTS], fill[FDLIMIT_ROOM], nfill = 0, i, lowest;
	char b;
	tn_server_t s;

	/* Client sockets first: connect() needs no new descriptor later. */
	for (i = 0; i < FDLIMIT_CLIENTS; i++) {
		fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ck_assert_int_ge(fds[i], 0);
	}
	/* Descriptors are allocated lowest-first below RLIMIT_NOFILE. */
	lowest = dup(0);
	ck_assert_int_ge(lowest, 0);
	close(lowest);
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = (rlim_t)lowest + FDLIMIT_ROOM;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
	recserver_init(&echo, NULL);
	tn_server_start(&s, &recserver_events, &opts, &echo);
	sa.sin_port = htons((uint16_t)s.port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	while (nfill < FDLIMIT_ROOM && (fill[nfill] = dup(0)) >= 0)
		nfill++;
	ck_assert_int_lt(nfill, FDLIMIT_ROOM);
	ck_assert_int_gt(nfill, 0);
	ck_assert_int_eq(errno, EMFILE);
	ck_assert_int_eq(gnet_engine_loop_stats(s.eng, 0, &before), 0);
	now = before;
	for (i = 0; i < FDLIMIT_CLIENTS; i++)
		ck_assert_int_eq(connect(fds[i], (struct sockaddr *)&sa, sizeof(sa)), 0);
	TN_WAIT_UNTIL((gnet_engine_loop_stats(s.eng, 0, &now),
	    now.iterations - before.iterations > FDLIMIT_MAX_TURNS), FDLIMIT_WINDOW_MS);
	while (nfill > 0)
		close(fill[--nfill]);
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
	ck_assert_msg(now.iterations - before.iterations <= FDLIMIT_MAX_TURNS,
	    "acceptor spun %llu turns in %d ms at the descriptor limit",
	    (unsigned long long)(now.iterations - before.iterations),
	    FDLIMIT_WINDOW_MS);
	ck_assert_uint_eq(now.accepted, before.accepted);

	/* Descriptors are back: every waiting connection is served. */
	TN_WAIT_UNTIL(gnet_engine_conn_count(s.eng) == FDLIMIT_CLIENTS, WAIT_MS);
	ck_assert_int_eq(gnet_engine_conn_count(s.eng), FDLIMIT_CLIENTS);
	for (i = 0; i < FDLIMIT_CLIENTS; i++) {
		b = (char)('a' + i);
		ck_assert_uint_eq(tn_send_all(fds[i], &b, 1, IO_MS), 1);
		b = 0;
		ck_assert_uint_eq(tn_read_exact(fds[i], &b, 1, IO_MS), 1);
		ck_assert_int_eq(b, 'a' + i);
		tn_close(&fds[i]);
	}
	tn_server_close(&s);
}
END_TEST

/* ------------------------------------------------------------------------
 * Once gnet_engine_is_running says yes, the engine opens no descriptor of
 * its own, so a program may count on its table holding still (the test
 * above fills it). glibc answers sysconf(_SC_NPROCESSORS_*) by opening a
 * file in /sys, with an open of its own that an interposed open() never
 * sees; so sysconf itself is watched. This executable's definition is the
 * one libgnet.a's calls reach, and it forwards to glibc's __sysconf.
 */
extern long __sysconf(int name);

static _Atomic(gnet_engine_t *) sysconf_engine;
static atomic_int sysconf_while_running;

long
sysconf(int name)
{
	gnet_engine_t *eng = atomic_load(&sysconf_engine);

	if (eng != NULL && gnet_engine_is_running(eng) &&
	    (name == _SC_NPROCESSORS_ONLN || name == _SC_NPROCESSORS_CONF))
		atomic_fetch_add(&sysconf_while_running, 1);
	return __sysconf(name);
}

START_TEST(test_run_opens_nothing_once_running)
{
	recserver_t echo;
	gnet_options_t opts = { .size = sizeof(gnet_options_t), .num_loops = 2 };
	tn_server_t s;
	int fd;
	char b = 'x';

	atomic_store(&sysconf_while_running, 0);
	recserver_init(&echo, NULL);
	tn_server_new(&s, &recserver_events, &opts, &echo);
	tn_server_listen(&s, "tcp://127.0.0.1:0");
	atomic_store(&sysconf_engine, s.eng);
	tn_server_run(&s);
	/* A connection served: both loops are past their start. */
	fd = tn_connect(s.port);
	ck_assert_uint_eq(tn_send_all(fd, &b, 1, IO_MS), 1);
	b = 0;
	ck_assert_uint_eq(tn_read_exact(fd, &b, 1, IO_MS), 1);
	ck_assert_int_eq(b, 'x');
	tn_close(&fd);
	tn_server_stop(&s);
	atomic_store(&sysconf_engine, NULL);
	tn_server_free(&s);
	ck_assert_msg(atomic_load(&sysconf_while_running) == 0,
	    "the engine asked sysconf for the CPU count %d time(s) after it "
	    "said it ran: glibc opens a file for that",
	    atomic_load(&sysconf_while_running));
}
END_TEST

/* ------------------------------------------------------------------------
 * A paused connection still learns that its peer finished: a FIN with
 * nothing unread before it closes the connection (GNET_EEOF) as it would
 * a reading one; bytes unread before the FIN wait for reading to resume,
 * are delivered, and then the FIN closes it.
 */
#define MSG_RESUME (GNET_MSG_USER + 7)

static struct {
	atomic_int closes, reason, got;
	_Atomic gnet_handle_t conn;
	char data[16];
} paused;

static gnet_action_t
paused_open(gnet_conn_t *c, void *udata)
{
	(void)udata;
	gnet_conn_set_reading(c, 0);
	atomic_store(&paused.conn, gnet_conn_handle(c));
	return GNET_NONE;
}

static gnet_action_t
paused_traffic(gnet_conn_t *c, void *udata)
{
	const void *p;
	size_t n = gnet_conn_peek(c, &p);

	(void)udata;
	if (n > sizeof paused.data - 1)
		n = sizeof paused.data - 1;
	memcpy(paused.data, p, n);
	gnet_conn_discard(c, n);
	atomic_fetch_add(&paused.got, (int)n);
	return GNET_NONE;
}

static gnet_action_t
paused_message(gnet_conn_t *c, const gnet_msg_t *m, void *udata)
{
	(void)udata;
	if (m->type == MSG_RESUME)
		gnet_conn_set_reading(c, 1);
	return GNET_NONE;
}

static void
paused_close(gnet_conn_t *c, int reason, void *udata)
{
	(void)c;
	(void)udata;
	atomic_store(&paused.reason, reason);
	atomic_fetch_add(&paused.closes, 1);
}

START_TEST(test_fin_while_paused)
{
	gnet_events_t ev = { .size = sizeof(gnet_events_t),
	    .on_open = paused_open, .on_traffic = paused_traffic,
	    .on_message = paused_message, .on_close = paused_close };
	gnet_msg_t resume = { .type = MSG_RESUME };
	tn_server_t s;
	int fd;

	memset(&paused, 0, sizeof paused);
	tn_server_start(&s, &ev, NULL, NULL);

	/* FIN alone while paused: closed, as a reading connection is. */
	fd = tn_connect(s.port);
	ck_assert_int_ge(fd, 0);
	TN_WAIT_UNTIL(atomic_load(&paused.conn) != 0, IO_MS);
	ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
	TN_WAIT_UNTIL(atomic_load(&paused.closes) == 1, IO_MS);
	ck_assert_int_eq(atomic_load(&paused.closes), 1);
	ck_assert_int_eq(atomic_load(&paused.reason), GNET_EEOF);
	tn_close(&fd);

	/* Bytes before the FIN: kept for when reading resumes, then the
	 * FIN closes. */
	atomic_store(&paused.conn, 0);
	fd = tn_connect(s.port);
	ck_assert_int_ge(fd, 0);
	TN_WAIT_UNTIL(atomic_load(&paused.conn) != 0, IO_MS);
	ck_assert_int_eq(write(fd, "abc", 3), 3);
	ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
	ck_assert_int_eq(gnet_actor_send(s.eng, atomic_load(&paused.conn),
	    &resume), 0);
	TN_WAIT_UNTIL(atomic_load(&paused.closes) == 2, IO_MS);
	ck_assert_int_eq(atomic_load(&paused.closes), 2);
	ck_assert_int_eq(atomic_load(&paused.got), 3);
	ck_assert(memcmp(paused.data, "abc", 3) == 0);
	ck_assert_int_eq(atomic_load(&paused.reason), GNET_EEOF);
	tn_close(&fd);
	tn_server_close(&s);
}
END_TEST

/* ------------------------------------------------------------------------
 */

static Suite *close_suite(void)
{
	Suite *s = suite_create("close");
	TCase *tc;

	tc = tn_tcase("linger", TCASE_TIMEOUT_S);
	tcase_add_test(tc, test_linger_expiry);
	tcase_add_test(tc, test_linger_negative);
	tcase_add_test(tc, test_linger_slow_reader);
	suite_add_tcase(s, tc);

	tc = tn_tcase("abort", TCASE_TIMEOUT_S);
	tcase_add_test(tc, test_abort_from_callback);
	tcase_add_test(tc, test_abort_and_close_async);
	suite_add_tcase(s, tc);

	tc = tn_tcase("limits", TCASE_TIMEOUT_S);
	tcase_add_test(tc, test_max_inbound);
	suite_add_tcase(s, tc);

	tc = tn_tcase("stop", TCASE_TIMEOUT_S);
	tcase_add_test(tc, test_stop_flushes_pending);
	suite_add_tcase(s, tc);

	tc = tn_tcase("graceful", TCASE_TIMEOUT_S);
	tcase_add_test(tc, test_open_greet_close);
	tcase_add_test(tc, test_write_after_close);
	tcase_add_test(tc, test_fin_while_paused);
	suite_add_tcase(s, tc);

	tc = tn_tcase("engine", TCASE_TIMEOUT_S);
	tcase_add_test(tc, test_addr_in_use);
	tcase_add_test(tc, test_run_twice_and_late_listen);
	tcase_add_test(tc, test_accept_backs_off_at_fd_limit);
	tcase_add_test(tc, test_run_opens_nothing_once_running);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tn_run_suite(close_suite());
}
