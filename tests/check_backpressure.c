/*
 * check_backpressure.c -- integration suite "backpressure": an echo server
 * facing a client that sends 64 MiB and, at first, reads nothing.
 *
 * With the default watermarks the server must stop reading once its
 * outbound buffer rises above 1 MiB (on_backpressure(paused=1)), so the
 * buffer stays bounded by high watermark + one read, and resume when the
 * client drains it (on_backpressure(paused=0)). Every byte of the echo is
 * then checked against the pattern.
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
#include "support/testnet.h"

#define TCASE_TIMEOUT_S 120
#define TOTAL_BYTES ((size_t)64 * 1024 * 1024)
/* The documented defaults the zeroed options must give. */
#define DEFAULT_HIGH_WM ((size_t)1024 * 1024)
#define DEFAULT_LOW_WM ((size_t)256 * 1024)
#define DEFAULT_READ_CAP ((size_t)64 * 1024)
#define IO_CHUNK (64 * 1024)
#define PAUSE_PHASE_MS 20000    /* client sends only, until the pause */
#define DRAIN_PHASE_MS 40000    /* client sends and reads everything */
#define WAIT_MS 5000
#define POLL_SLICE_MS 100
#define PATTERN_SEED 0xB16B00B5ull

typedef struct bp_srv {
	atomic_size_t max_outbound;  /* after each write in on_traffic */
	atomic_size_t max_peek;      /* largest inbound view (diagnostics) */
	atomic_size_t max_resume_outbound; /* outbound when reading resumed */
	atomic_int paused_calls;     /* on_backpressure(paused=1) */
	atomic_int resumed_calls;    /* on_backpressure(paused=0) */
	atomic_int paused;           /* current state as reported */
	atomic_int bad_sequence;     /* pause while paused, resume while running */
	atomic_int write_errors;
	atomic_int closes;
	atomic_long bytes_in;
} bp_srv_t;

static gnet_action_t on_traffic(gnet_conn_t *c, void *udata)
{
	bp_srv_t *ctx = udata;
	const void *data = NULL;
	size_t n = gnet_conn_peek(c, &data);
	tn_atomic_max(&ctx->max_peek, n);
	if (n == 0)
		return GNET_NONE;
	if (gnet_conn_write(c, data, n) != (long)n)
		atomic_fetch_add(&ctx->write_errors, 1);
	gnet_conn_discard(c, n);
	atomic_fetch_add(&ctx->bytes_in, (long)n);
	tn_atomic_max(&ctx->max_outbound, gnet_conn_outbound_len(c));
	return GNET_NONE;
}

static void on_backpressure(gnet_conn_t *c, int paused, void *udata)
{
	bp_srv_t *ctx = udata;
	if (!paused)
		tn_atomic_max(&ctx->max_resume_outbound, gnet_conn_outbound_len(c));
	/* Reports must alternate: pause, resume, pause, ... */
	int was = atomic_exchange(&ctx->paused, paused ? 1 : 0);
	if (was == (paused ? 1 : 0))
		atomic_fetch_add(&ctx->bad_sequence, 1);
	if (paused)
		atomic_fetch_add(&ctx->paused_calls, 1);
	else
		atomic_fetch_add(&ctx->resumed_calls, 1);
}

static void on_close(gnet_conn_t *c, int reason, void *udata)
{
	bp_srv_t *ctx = udata;
	(void)c;
	(void)reason;
	atomic_fetch_add(&ctx->closes, 1);
}

static const gnet_events_t bp_events = { .size = sizeof(gnet_events_t),
	.on_traffic = on_traffic,
	.on_close = on_close,
	.on_backpressure = on_backpressure,
};

/* Send what the socket takes now; returns -1 on a hard error. */
static int send_some(int fd, const uint8_t *buf, size_t *sent)
{
	while (*sent < TOTAL_BYTES) {
		size_t want = TOTAL_BYTES - *sent;
		if (want > IO_CHUNK)
			want = IO_CHUNK;
		ssize_t w = send(fd, buf + *sent, want, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0) {
			*sent += (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		return -1;
	}
	return 0;
}

START_TEST(test_slow_reader_pauses_and_resumes)
{
	bp_srv_t ctx;
	memset(&ctx, 0, sizeof ctx);
	gnet_options_t opts = { .size = sizeof(gnet_options_t), .num_loops = 1 }; /* default watermarks and cap */
	tn_server_t s;
	tn_server_start(&s, &bp_events, &opts, &ctx);

	uint8_t *pattern = malloc(TOTAL_BYTES);
	uint8_t *scratch = malloc(IO_CHUNK);
	ck_assert_ptr_nonnull(pattern);
	ck_assert_ptr_nonnull(scratch);
	tn_fill_random(pattern, TOTAL_BYTES, PATTERN_SEED);

	int fd = tn_connect_nb(s.port);
	ck_assert_int_ge(fd, 0);
	size_t sent = 0, recvd = 0;

	/* Phase 1: send only. The echo piles up in the server until it must
	 * stop reading. */
	int64_t deadline = tn_now_ms() + PAUSE_PHASE_MS;
	while (atomic_load(&ctx.paused_calls) == 0 && sent < TOTAL_BYTES &&
	    tn_now_ms() < deadline) {
		ck_assert_msg(send_some(fd, pattern, &sent) == 0,
		    "send failed after %zu bytes: %s", sent, strerror(errno));
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };
		poll(&pfd, 1, POLL_SLICE_MS);
	}
	if (sent == TOTAL_BYTES) /* socket buffers took it all: still must pause */
		TN_WAIT_UNTIL(atomic_load(&ctx.paused_calls) > 0, WAIT_MS);
	ck_assert_msg(atomic_load(&ctx.paused_calls) > 0,
	    "no on_backpressure(paused=1) after sending %zu bytes unread; max "
	    "outbound %zu", sent, atomic_load(&ctx.max_outbound));
	size_t bound = DEFAULT_HIGH_WM + DEFAULT_READ_CAP;
	ck_assert_msg(atomic_load(&ctx.max_outbound) <= bound,
	    "outbound reached %zu bytes while paused, bound %zu (max inbound view %zu)",
	    atomic_load(&ctx.max_outbound), bound, atomic_load(&ctx.max_peek));

	/* Phase 2: send the rest and read everything back, concurrently. */
	deadline = tn_now_ms() + DRAIN_PHASE_MS;
	while (recvd < TOTAL_BYTES && tn_now_ms() < deadline) {
		struct pollfd pfd = {
			.fd = fd,
			.events = POLLIN | (sent < TOTAL_BYTES ? POLLOUT : 0),
		};
		if (poll(&pfd, 1, POLL_SLICE_MS) <= 0)
			continue;
		if (pfd.revents & POLLOUT)
			ck_assert_msg(send_some(fd, pattern, &sent) == 0,
			    "send failed after %zu bytes: %s", sent, strerror(errno));
		if (!(pfd.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		ssize_t r;
		while ((r = recv(fd, scratch, IO_CHUNK, MSG_DONTWAIT)) > 0) {
			ck_assert_msg(recvd + (size_t)r <= sent,
			    "received %zu bytes, more than the %zu sent",
			    recvd + (size_t)r, sent);
			if (memcmp(scratch, pattern + recvd, (size_t)r) != 0) {
				size_t i = 0;
				while (scratch[i] == pattern[recvd + i])
					i++;
				ck_abort_msg("echo differs at byte %zu", recvd + i);
			}
			recvd += (size_t)r;
		}
		ck_assert_msg(r != 0, "EOF after %zu of %zu bytes", recvd, TOTAL_BYTES);
		ck_assert_msg(errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR,
		    "recv failed after %zu bytes: %s", recvd, strerror(errno));
	}
	ck_assert_msg(recvd == TOTAL_BYTES,
	    "drain phase timed out: sent %zu, received %zu of %zu bytes; server "
	    "read %ld", sent, recvd, TOTAL_BYTES, atomic_load(&ctx.bytes_in));

	ck_assert_msg(atomic_load(&ctx.resumed_calls) > 0,
	    "reading resumed without on_backpressure(paused=0)");
	ck_assert_msg(atomic_load(&ctx.max_outbound) <= bound,
	    "outbound reached %zu bytes, bound %zu (max inbound view %zu)",
	    atomic_load(&ctx.max_outbound), bound, atomic_load(&ctx.max_peek));
	ck_assert_msg(atomic_load(&ctx.max_resume_outbound) <= DEFAULT_LOW_WM,
	    "reading resumed with %zu bytes outbound, above the low watermark %zu",
	    atomic_load(&ctx.max_resume_outbound), DEFAULT_LOW_WM);
	ck_assert_msg(atomic_load(&ctx.bad_sequence) == 0,
	    "on_backpressure reports did not alternate (%d pauses, %d resumes)",
	    atomic_load(&ctx.paused_calls), atomic_load(&ctx.resumed_calls));
	ck_assert_int_eq(atomic_load(&ctx.write_errors), 0);

	tn_close(&fd);
	TN_WAIT_UNTIL(atomic_load(&ctx.closes) == 1, WAIT_MS);
	ck_assert_int_eq(atomic_load(&ctx.closes), 1);
	tn_server_close(&s);
	free(pattern);
	free(scratch);
}
END_TEST


/* ------------------------------------------------------------------------
 * Regression: a connection written from ANOTHER connection's callback (a
 * proxy relaying bytes) must see its high watermark at once. The check
 * used to run only after the written connection's own callbacks, so a
 * relay never heard on_backpressure and buffered without bound.
 */
typedef struct relay_srv {
	atomic_ullong target;        /* handle of the first connection */
	atomic_int opened;
	atomic_int paused_target;    /* on_backpressure(target, 1) */
	atomic_int paused_during_write; /* seen right after the write */
} relay_srv_t;

#define RELAY_BYTES ((size_t)4 * 1024 * 1024)

static gnet_action_t relay_open(gnet_conn_t *c, void *udata)
{
	relay_srv_t *r = udata;
	unsigned long long none = 0;
	atomic_compare_exchange_strong(&r->target, &none, gnet_conn_handle(c));
	atomic_fetch_add(&r->opened, 1);
	return GNET_NONE;
}

static gnet_action_t relay_traffic(gnet_conn_t *c, void *udata)
{
	relay_srv_t *r = udata;
	gnet_conn_t *t = NULL;
	static char chunk[64 * 1024];

	gnet_conn_discard(c, gnet_conn_inbound_len(c));
	if (gnet_conn_handle(c) == atomic_load(&r->target) ||
	    gnet_conn_lookup(gnet_conn_engine(c), atomic_load(&r->target), &t) != 0)
		return GNET_NONE;
	for (size_t sent = 0; sent < RELAY_BYTES; sent += sizeof chunk)
		gnet_conn_write(t, chunk, sizeof chunk);
	if (atomic_load(&r->paused_target) > 0)
		atomic_store(&r->paused_during_write, 1);
	return GNET_NONE;
}

static void relay_backpressure(gnet_conn_t *c, int paused, void *udata)
{
	relay_srv_t *r = udata;
	if (paused && gnet_conn_handle(c) == atomic_load(&r->target))
		atomic_fetch_add(&r->paused_target, 1);
}

START_TEST(test_cross_connection_write_sees_watermark)
{
	relay_srv_t r;
	gnet_events_t ev = { .size = sizeof(gnet_events_t), .on_open = relay_open, .on_traffic = relay_traffic,
	    .on_backpressure = relay_backpressure };
	gnet_options_t opt = { .size = sizeof(gnet_options_t), .num_loops = 1 };
	tn_server_t srv;

	memset(&r, 0, sizeof r);
	tn_server_start(&srv, &ev, &opt, &r);
	/* The target never reads: a small receive window keeps the bytes
	 * in the server's outbound buffer. */
	int target = tn_connect_rcvbuf(srv.port, 4096);
	ck_assert_int_ge(target, 0);
	TN_WAIT_UNTIL(atomic_load(&r.opened) == 1, WAIT_MS);
	int writer = tn_connect(srv.port);
	ck_assert_int_ge(writer, 0);
	TN_WAIT_UNTIL(atomic_load(&r.opened) == 2, WAIT_MS);
	ck_assert_int_eq(tn_send_all(writer, "x", 1, WAIT_MS), 1);
	/* The writer's callback records whether the pause was already
	 * reported when its writes returned. */
	TN_WAIT_UNTIL(atomic_load(&r.paused_during_write) == 1, WAIT_MS);
	ck_assert_msg(atomic_load(&r.paused_target) == 1,
	    "on_backpressure(target, 1) calls: %d, want 1",
	    atomic_load(&r.paused_target));
	ck_assert_msg(atomic_load(&r.paused_during_write) == 1,
	    "the watermark was not seen while the writer's callback ran");
	tn_close(&writer);
	tn_close(&target);
	tn_server_close(&srv);
}
END_TEST

static Suite *backpressure_suite(void)
{
	Suite *s = suite_create("backpressure");
	TCase *tc = tn_tcase("slow_reader", TCASE_TIMEOUT_S);
	tcase_add_test(tc, test_slow_reader_pauses_and_resumes);
	tcase_add_test(tc, test_cross_connection_write_sees_watermark);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tn_run_suite(backpressure_suite());
}
