/*
 * check_deadline.c -- integration suite "deadline": a connection's
 * deadline (gnet_conn_set_deadline), which no traffic moves, and a
 * listener's max_conns, on a real engine over loopback.
 *
 * The server sets a deadline in on_open and consumes everything; clients
 * trickle bytes, as a slowloris attacker does. The deadline must fire on
 * time whatever trickles in, run on_deadline when there is one, move when
 * set again, and stay silent when cleared. Callbacks record into atomics; the test
 * thread asserts with bounded waits.
 */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gnet.h"
#include "support/testnet.h"

#define TCASE_TIMEOUT_S 60
#define WAIT_MS 5000
#define IO_MS 10000

#define DEADLINE_MS 300
#define TRICKLE_MS 20           /* a byte this often: far inside the deadline */
#define CLOCK_SLACK_MS 2
#define LATE_MS 2000            /* the deadline must fire well before this */
#define GOODBYE "408 too slow\n"
#define MAX_CONNS 2

enum mode {
	MODE_CLOSE,      /* no on_deadline: the connection closes */
	MODE_GOODBYE,    /* on_deadline writes GOODBYE and closes */
	MODE_MOVE,       /* every byte sets the deadline again */
	MODE_CLEAR,      /* the first byte clears it */
};

typedef struct dl_srv {
	enum mode mode;
	atomic_int opens, closes, deadlines, last_reason;
	atomic_long open_ms, close_ms;
	tn_loop_errors_t errs;
} dl_srv_t;

static gnet_action_t on_open(gnet_conn_t *c, void *udata)
{
	dl_srv_t *ctx = udata;

	atomic_fetch_add(&ctx->opens, 1);
	atomic_store(&ctx->open_ms, (long)tn_now_ms());
	TN_LOOP_CHECK(&ctx->errs, gnet_conn_set_deadline(c, DEADLINE_MS) == 0);
	return GNET_NONE;
}

static gnet_action_t on_traffic(gnet_conn_t *c, void *udata)
{
	dl_srv_t *ctx = udata;

	gnet_conn_discard(c, gnet_conn_inbound_len(c));
	if (ctx->mode == MODE_MOVE)
		TN_LOOP_CHECK(&ctx->errs,
		    gnet_conn_set_deadline(c, DEADLINE_MS) == 0);
	else if (ctx->mode == MODE_CLEAR)
		TN_LOOP_CHECK(&ctx->errs, gnet_conn_set_deadline(c, 0) == 0);
	return GNET_NONE;
}

static gnet_action_t on_deadline(gnet_conn_t *c, void *udata)
{
	dl_srv_t *ctx = udata;

	atomic_fetch_add(&ctx->deadlines, 1);
	TN_LOOP_CHECK(&ctx->errs, gnet_conn_write(c, GOODBYE,
	    strlen(GOODBYE)) == (long)strlen(GOODBYE));
	return GNET_CLOSE;
}

static void on_close(gnet_conn_t *c, int reason, void *udata)
{
	dl_srv_t *ctx = udata;

	(void)c;
	atomic_store(&ctx->close_ms, (long)tn_now_ms());
	atomic_store(&ctx->last_reason, reason);
	atomic_fetch_add(&ctx->closes, 1);
}

/* A server in this mode and one client, opened; returns the client. */
static int start(tn_server_t *s, dl_srv_t *ctx, enum mode mode)
{
	gnet_events_t ev = { .size = sizeof ev, .on_open = on_open,
		.on_traffic = on_traffic, .on_close = on_close,
		.on_deadline = mode == MODE_GOODBYE ? on_deadline : NULL };
	gnet_options_t o = { .size = sizeof o, .num_loops = 1 };

	memset(ctx, 0, sizeof *ctx);
	ctx->mode = mode;
	tn_server_start(s, &ev, &o, ctx);
	int fd = tn_connect(s->port);
	ck_assert_int_ge(fd, 0);
	TN_WAIT_UNTIL(atomic_load(&ctx->opens) == 1, WAIT_MS);
	ck_assert_int_eq(atomic_load(&ctx->opens), 1);
	return fd;
}

/* Send a byte every TRICKLE_MS until the server closes or until_ms
 * passes; returns what the server sent meanwhile (NUL-ended, in buf). */
static size_t trickle(int fd, dl_srv_t *ctx, int until_ms, char *buf,
    size_t cap)
{
	size_t got = 0;
	int64_t end = tn_now_ms() + until_ms;

	buf[0] = '\0';
	while (tn_now_ms() < end && atomic_load(&ctx->closes) == 0) {
		(void)send(fd, "x", 1, MSG_NOSIGNAL);
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		if (poll(&pfd, 1, TRICKLE_MS) == 1) {
			ssize_t n = recv(fd, buf + got, cap - 1 - got, 0);
			if (n <= 0)
				break;
			got += (size_t)n;
			buf[got] = '\0';
		}
	}
	return got;
}

static long closed_after(dl_srv_t *ctx)
{
	return atomic_load(&ctx->close_ms) - atomic_load(&ctx->open_ms);
}

/* A byte every 20 ms does not move the deadline: closed at 300 ms with
 * GNET_ETIMEDOUT. */
START_TEST(test_deadline_despite_trickle)
{
	dl_srv_t ctx;
	tn_server_t s;
	char buf[256];

	int fd = start(&s, &ctx, MODE_CLOSE);
	trickle(fd, &ctx, LATE_MS, buf, sizeof buf);
	TN_WAIT_UNTIL(atomic_load(&ctx.closes) == 1, WAIT_MS);
	ck_assert_int_eq(atomic_load(&ctx.closes), 1);
	int reason = atomic_load(&ctx.last_reason);
	ck_assert_msg(reason == GNET_ETIMEDOUT, "close reason %d (%s)", reason,
	    gnet_strerror(reason));
	long after = closed_after(&ctx);
	ck_assert_msg(after >= DEADLINE_MS - CLOCK_SLACK_MS && after < LATE_MS,
	    "closed %ld ms after open, deadline %d ms", after, DEADLINE_MS);
	ck_assert_int_eq(tn_wait_eof(fd, IO_MS, NULL), 1);
	tn_close(&fd);
	tn_server_close(&s);
	TN_ASSERT_NO_LOOP_ERRORS(&ctx.errs);
}
END_TEST

/* on_deadline runs once, its goodbye reaches the client, then EOF. */
START_TEST(test_deadline_goodbye)
{
	dl_srv_t ctx;
	tn_server_t s;
	char buf[256];

	int fd = start(&s, &ctx, MODE_GOODBYE);
	size_t got = trickle(fd, &ctx, LATE_MS, buf, sizeof buf);
	if (got < strlen(GOODBYE))
		got += tn_read_exact(fd, buf + got, strlen(GOODBYE) - got, IO_MS);
	buf[got] = '\0';
	ck_assert_str_eq(buf, GOODBYE);
	ck_assert_int_eq(tn_wait_eof(fd, IO_MS, NULL), 1);
	TN_WAIT_UNTIL(atomic_load(&ctx.closes) == 1, WAIT_MS);
	ck_assert_int_eq(atomic_load(&ctx.deadlines), 1);
	ck_assert_int_eq(atomic_load(&ctx.last_reason), 0);
	tn_close(&fd);
	tn_server_close(&s);
	TN_ASSERT_NO_LOOP_ERRORS(&ctx.errs);
}
END_TEST

/* Set again at every byte, the deadline moves on: open for as long as
 * bytes come (many deadlines' worth), closed DEADLINE_MS after the last. */
START_TEST(test_deadline_moved)
{
	dl_srv_t ctx;
	tn_server_t s;
	char buf[256];

	int fd = start(&s, &ctx, MODE_MOVE);
	trickle(fd, &ctx, 4 * DEADLINE_MS, buf, sizeof buf);
	ck_assert_int_eq(atomic_load(&ctx.closes), 0);
	int64_t last = tn_now_ms();
	TN_WAIT_UNTIL(atomic_load(&ctx.closes) == 1, WAIT_MS);
	ck_assert_int_eq(atomic_load(&ctx.closes), 1);
	long after = atomic_load(&ctx.close_ms) - (long)last;
	ck_assert_msg(after >= DEADLINE_MS - TRICKLE_MS - CLOCK_SLACK_MS &&
	    after < LATE_MS, "closed %ld ms after the last byte", after);
	ck_assert_int_eq(atomic_load(&ctx.last_reason), GNET_ETIMEDOUT);
	tn_close(&fd);
	tn_server_close(&s);
	TN_ASSERT_NO_LOOP_ERRORS(&ctx.errs);
}
END_TEST

/* Cleared, it never fires. */
START_TEST(test_deadline_cleared)
{
	dl_srv_t ctx;
	tn_server_t s;

	int fd = start(&s, &ctx, MODE_CLEAR);
	ck_assert_uint_eq(tn_send_all(fd, "x", 1, IO_MS), 1);
	/* Three deadlines' worth of nothing: the absence being tested. */
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ck_assert_int_eq(poll(&pfd, 1, 3 * DEADLINE_MS), 0);
	ck_assert_int_eq(atomic_load(&ctx.closes), 0);
	tn_close(&fd);
	TN_WAIT_UNTIL(atomic_load(&ctx.closes) == 1, WAIT_MS);
	ck_assert_int_eq(atomic_load(&ctx.last_reason), GNET_EEOF);
	tn_server_close(&s);
	TN_ASSERT_NO_LOOP_ERRORS(&ctx.errs);
}
END_TEST

/* A listener with max_conns 2: a third client is closed at once without
 * on_open and counted; once one leaves, a new one is served. */
START_TEST(test_max_conns)
{
	dl_srv_t ctx;
	tn_server_t s;
	gnet_events_t ev = { .size = sizeof ev, .on_open = on_open,
		.on_traffic = on_traffic, .on_close = on_close };
	gnet_options_t o = { .size = sizeof o, .num_loops = 1 };
	gnet_listen_options_t lo = { .size = sizeof lo, .max_conns = MAX_CONNS };

	memset(&ctx, 0, sizeof ctx);
	ctx.mode = MODE_CLEAR;
	tn_server_new(&s, &ev, &o, &ctx);
	ck_assert_int_eq(gnet_engine_listen_with(s.eng, "tcp://127.0.0.1:0",
	    &lo), 0);
	tn_server_run(&s);

	int fds[MAX_CONNS + 1];
	for (int i = 0; i < MAX_CONNS; i++) {
		fds[i] = tn_connect(s.port);
		ck_assert_int_ge(fds[i], 0);
		TN_WAIT_UNTIL(atomic_load(&ctx.opens) == i + 1, WAIT_MS);
		ck_assert_uint_eq(tn_send_all(fds[i], "x", 1, IO_MS), 1);
	}
	fds[MAX_CONNS] = tn_connect(s.port);
	ck_assert_int_ge(fds[MAX_CONNS], 0);
	ck_assert_int_eq(tn_wait_eof(fds[MAX_CONNS], IO_MS, NULL), 1);
	ck_assert_int_eq(atomic_load(&ctx.opens), MAX_CONNS);
	gnet_loop_stats_t st = { .size = sizeof st };
	ck_assert_int_eq(gnet_engine_loop_stats(s.eng, 0, &st), 0);
	ck_assert_uint_eq(st.conns_refused, 1);
	tn_close(&fds[MAX_CONNS]);

	tn_close(&fds[0]);
	TN_WAIT_UNTIL(atomic_load(&ctx.closes) == 1, WAIT_MS);
	fds[0] = tn_connect(s.port);
	ck_assert_int_ge(fds[0], 0);
	TN_WAIT_UNTIL(atomic_load(&ctx.opens) == MAX_CONNS + 1, WAIT_MS);
	ck_assert_int_eq(atomic_load(&ctx.opens), MAX_CONNS + 1);
	for (int i = 0; i < MAX_CONNS; i++)
		tn_close(&fds[i]);
	tn_server_close(&s);
	TN_ASSERT_NO_LOOP_ERRORS(&ctx.errs);
}
END_TEST

static Suite *deadline_suite(void)
{
	Suite *s = suite_create("deadline");
	TCase *tc = tn_tcase("deadline", TCASE_TIMEOUT_S);

	tcase_add_test(tc, test_deadline_despite_trickle);
	tcase_add_test(tc, test_deadline_goodbye);
	tcase_add_test(tc, test_deadline_moved);
	tcase_add_test(tc, test_deadline_cleared);
	suite_add_tcase(s, tc);
	tc = tn_tcase("max_conns", TCASE_TIMEOUT_S);
	tcase_add_test(tc, test_max_conns);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tn_run_suite(deadline_suite());
}
