/*
 * check_faults.c -- integration suite "faults": the visible fault classes
 * of base/fault.h, which change outcomes, each against an echo server on
 * loopback whose clients check every byte.
 *
 * A read failing with ECONNRESET must close its connection with
 * GNET_ECONNRESET; a buffer that cannot be allocated must close its
 * connection with GNET_ENOMEM. Either way no other connection is
 * touched, no completed exchange is wrong, and every connection ends
 * (ASan, at exit: nothing leaks). The transparent classes run the other
 * suites unchanged (make test-faults).
 *
 * Each test sets GNET_FAULTS before its engine makes its first system
 * call; Check runs each test in a fresh process, where the setting is
 * read once. Release builds have no injection: there the suite checks
 * that GNET_FAULTS is inert.
 */
#include <check.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gnet.h"
#include "base/fault.h"
#include "support/engine_stats.h"
#include "support/testnet.h"

#define TCASE_TIMEOUT_S 120
#define WAIT_MS 10000
#define IO_MS 10000

#ifdef GNET__FAULTS
#define CLIENTS 4
#define ROUNDS 50
#define MSG_BYTES (256 * 1024)

typedef struct fault_srv {
	atomic_int opens, closes, eof_closes, fault_closes, other_closes;
	atomic_int last_other;
	int fault_reason;            /* the close reason the fault must give */
	tn_loop_errors_t errs;
} fault_srv_t;

static gnet_action_t on_open(gnet_conn_t *c, void *udata)
{
	fault_srv_t *ctx = udata;

	(void)c;
	atomic_fetch_add(&ctx->opens, 1);
	return GNET_NONE;
}

/* Echoes whole messages: the bytes wait in the inbound buffer until one
 * is complete, so buffers are allocated (and can fail) both ways. */
static gnet_action_t on_traffic(gnet_conn_t *c, void *udata)
{
	const void *data;
	size_t n = gnet_conn_peek(c, &data);

	(void)udata;
	if (n < MSG_BYTES)
		return GNET_NONE;
	/* A write refused for want of memory: the handler ends the
	 * connection (reason 0), since its peer would wait forever. */
	if (gnet_conn_write(c, data, MSG_BYTES) < 0)
		return GNET_CLOSE;
	gnet_conn_discard(c, MSG_BYTES);
	return GNET_NONE;
}

static void on_close(gnet_conn_t *c, int reason, void *udata)
{
	fault_srv_t *ctx = udata;

	(void)c;
	if (reason == GNET_EEOF) {
		atomic_fetch_add(&ctx->eof_closes, 1);
	} else if (reason == ctx->fault_reason ||
	    (reason == 0 && ctx->fault_reason == GNET_ENOMEM)) {
		atomic_fetch_add(&ctx->fault_closes, 1);
	} else {
		atomic_store(&ctx->last_other, reason);
		atomic_fetch_add(&ctx->other_closes, 1);
	}
	atomic_fetch_add(&ctx->closes, 1);
}

static const gnet_events_t fault_events = {
	.size = sizeof(gnet_events_t),
	.on_open = on_open,
	.on_traffic = on_traffic,
	.on_close = on_close,
};

/* CLIENTS clients, one after another, each doing ROUNDS exchanges over
 * as many connections as the faults take; returns the exchanges that
 * completed (each checked byte for byte). */
static int exchange_all(int port)
{
	uint8_t *tx = malloc(MSG_BYTES), *rx = malloc(MSG_BYTES);
	int done = 0;

	ck_assert(tx != NULL && rx != NULL);
	for (int cl = 0; cl < CLIENTS; cl++) {
		int fd = -1;
		for (int r = 0; r < ROUNDS; r++) {
			if (fd < 0)
				fd = tn_connect(port);
			ck_assert_msg(fd >= 0, "connect: %s", strerror(errno));
			tn_fill_random(tx, MSG_BYTES, (uint64_t)(cl * ROUNDS + r + 1));
			if (tn_send_all(fd, tx, MSG_BYTES, IO_MS) != MSG_BYTES ||
			    tn_read_exact(fd, rx, MSG_BYTES, IO_MS) != MSG_BYTES) {
				/* Cut by a fault: a new connection goes on. */
				tn_close(&fd);
				continue;
			}
			ck_assert_msg(memcmp(tx, rx, MSG_BYTES) == 0,
			    "client %d round %d: the echo differs", cl, r);
			done++;
		}
		tn_close(&fd);
	}
	free(tx);
	free(rx);
	return done;
}

static void run_under(const char *spec, int fault_reason)
{
	fault_srv_t ctx;
	tn_server_t s;
	gnet_options_t o = { .size = sizeof o, .num_loops = 2 };

	ck_assert_int_eq(setenv("GNET_FAULTS", spec, 1), 0);
	memset(&ctx, 0, sizeof ctx);
	ctx.fault_reason = fault_reason;
	tn_server_start(&s, &fault_events, &o, &ctx);
	int done = exchange_all(s.port);
	TN_WAIT_UNTIL(atomic_load(&ctx.closes) == atomic_load(&ctx.opens),
	    WAIT_MS);
	fprintf(stderr, "faults %s: %d of %d exchanges, %d connections: %d "
	    "EOF, %d %s\n", spec, done, CLIENTS * ROUNDS,
	    atomic_load(&ctx.opens), atomic_load(&ctx.eof_closes),
	    atomic_load(&ctx.fault_closes), gnet_strerror(fault_reason));
	ck_assert_int_eq(atomic_load(&ctx.closes), atomic_load(&ctx.opens));
	ck_assert_msg(atomic_load(&ctx.other_closes) == 0, "%d closes with "
	    "another reason, e.g. %s", atomic_load(&ctx.other_closes),
	    gnet_strerror(atomic_load(&ctx.last_other)));
	ck_assert_msg(atomic_load(&ctx.fault_closes) >= 1, "no close with %s: "
	    "no fault reached a connection", gnet_strerror(fault_reason));
	ck_assert_msg(done > CLIENTS * ROUNDS / 2, "only %d exchanges of %d "
	    "completed", done, CLIENTS * ROUNDS);
	ck_assert_uint_eq(tn_loop_stats_sum(s.eng).conns, 0);
	tn_server_close(&s);
	TN_ASSERT_NO_LOOP_ERRORS(&ctx.errs);
}

START_TEST(test_reset_on_read)
{
	run_under("reset:0.02,seed:9", GNET_ECONNRESET);
}
END_TEST

START_TEST(test_enomem_on_buffer)
{
	run_under("enomem:0.05,seed:10", GNET_ENOMEM);
}
END_TEST
#else
START_TEST(test_inert_in_release)
{
	ck_assert_int_eq(setenv("GNET_FAULTS", "eintr:1,reset:1", 1), 0);
	for (int i = 0; i < 1000; i++)
		ck_assert_int_eq(gnet__fault(GNET__FAULT_READ), 0);
}
END_TEST
#endif

static Suite *faults_suite(void)
{
	Suite *s = suite_create("faults");
	TCase *tc = tn_tcase("visible", TCASE_TIMEOUT_S);

#ifdef GNET__FAULTS
	tcase_add_test(tc, test_reset_on_read);
	tcase_add_test(tc, test_enomem_on_buffer);
#else
	tcase_add_test(tc, test_inert_in_release);
#endif
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tn_run_suite(faults_suite());
}
