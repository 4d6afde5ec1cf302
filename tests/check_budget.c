/*
 * check_budget.c -- integration suite "budget": the engine's buffer
 * budget (options.max_buffered) on a real engine over loopback.
 *
 * The server never consumes what it reads, as a codec waiting for the
 * rest of a long frame does; each client sends CLIENT_BYTES. Within its
 * own limits (max_inbound) every connection is fine; together they pass
 * the budget, so the loop must abort its largest connections with
 * GNET_EBUDGET until it is back within it, count them, and leave the
 * rest open. Callbacks record into atomics; the test thread asserts with
 * bounded waits.
 */
#include <check.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gnet.h"
#include "support/testnet.h"

#define TCASE_TIMEOUT_S 60
#define WAIT_MS 10000
#define IO_MS 10000

#define CLIENTS 6
#define CLIENT_BYTES ((size_t)2 * 1024 * 1024)
#define BUDGET ((size_t)8 * 1024 * 1024)
/* The loop checks the budget each time its buffers grew by an eighth of
 * its share: between checks it may be over by that much. */
#define CHECK_STEP (BUDGET / 8)

typedef struct budget_srv {
	atomic_int opens, closes, budget_closes;
	atomic_size_t holding[CLIENTS];   /* unconsumed bytes, by open order */
	atomic_int open_now[CLIENTS];
	tn_loop_errors_t errs;
} budget_srv_t;

static gnet_action_t on_open(gnet_conn_t *c, void *udata)
{
	budget_srv_t *ctx = udata;
	int i = atomic_fetch_add(&ctx->opens, 1);

	TN_LOOP_CHECK(&ctx->errs, i < CLIENTS);
	if (i < CLIENTS) {
		atomic_store(&ctx->open_now[i], 1);
		gnet_conn_set_context(c, &ctx->holding[i]);
	}
	return GNET_NONE;
}

/* Consumes nothing: the bytes stay in the connection's inbound buffer. */
static gnet_action_t on_traffic(gnet_conn_t *c, void *udata)
{
	atomic_size_t *holding = gnet_conn_context(c);

	(void)udata;
	if (holding != NULL)
		atomic_store(holding, gnet_conn_inbound_len(c));
	return GNET_NONE;
}

static void on_close(gnet_conn_t *c, int reason, void *udata)
{
	budget_srv_t *ctx = udata;
	atomic_size_t *holding = gnet_conn_context(c);

	if (holding != NULL)
		atomic_store(&ctx->open_now[holding - ctx->holding], 0);
	if (reason == GNET_EBUDGET)
		atomic_fetch_add(&ctx->budget_closes, 1);
	else
		TN_LOOP_CHECK(&ctx->errs, reason == GNET_EEOF ||
		    reason == GNET_ESHUTDOWN);
	atomic_fetch_add(&ctx->closes, 1);
}

static const gnet_events_t budget_events = {
	.size = sizeof(gnet_events_t),
	.on_open = on_open,
	.on_traffic = on_traffic,
	.on_close = on_close,
};

/* Has every connection either been closed or handed all its bytes? */
static int settled(budget_srv_t *ctx)
{
	int n = 0;

	for (int i = 0; i < CLIENTS; i++)
		if (!atomic_load(&ctx->open_now[i]) ||
		    atomic_load(&ctx->holding[i]) == CLIENT_BYTES)
			n++;
	return atomic_load(&ctx->opens) == CLIENTS && n == CLIENTS;
}

/* The loop counts a budget close when it aborts the connection, and
 * on_close follows at the next flush: settled, the two agree. */
static int counts_agree(budget_srv_t *ctx, gnet_engine_t *eng)
{
	gnet_loop_stats_t st = { .size = sizeof st };

	return gnet_engine_loop_stats(eng, 0, &st) == 0 &&
	    st.budget_closes == (uint64_t)atomic_load(&ctx->budget_closes);
}

START_TEST(test_budget_closes_largest)
{
	budget_srv_t ctx;
	tn_server_t s;
	gnet_options_t o = { .size = sizeof o, .num_loops = 1,
		.max_buffered = BUDGET };
	uint8_t *payload = malloc(CLIENT_BYTES);
	int fds[CLIENTS];

	ck_assert_ptr_nonnull(payload);
	memset(&ctx, 0, sizeof ctx);
	memset(payload, 'b', CLIENT_BYTES);
	tn_server_start(&s, &budget_events, &o, &ctx);
	for (int i = 0; i < CLIENTS; i++) {
		fds[i] = tn_connect(s.port);
		ck_assert_msg(fds[i] >= 0, "connect: %s", strerror(errno));
		TN_WAIT_UNTIL(atomic_load(&ctx.opens) == i + 1, WAIT_MS);
		/* A client the budget cut off cannot send the rest. */
		(void)tn_send_all(fds[i], payload, CLIENT_BYTES, IO_MS);
	}
	TN_WAIT_UNTIL(settled(&ctx) && counts_agree(&ctx, s.eng), WAIT_MS);
	ck_assert_msg(settled(&ctx), "connections neither closed nor holding "
	    "all %zu bytes", CLIENT_BYTES);

	int cut = atomic_load(&ctx.budget_closes), open = 0;
	size_t kept = 0;
	for (int i = 0; i < CLIENTS; i++) {
		if (atomic_load(&ctx.open_now[i])) {
			open++;
			kept += atomic_load(&ctx.holding[i]);
		}
	}
	fprintf(stderr, "budget %zu: %d of %d connections cut, %d hold %zu "
	    "bytes\n", BUDGET, cut, CLIENTS, open, kept);
	ck_assert_msg(cut >= 1, "no connection closed with %zu bytes held "
	    "against a budget of %zu", kept, BUDGET);
	ck_assert_msg(open >= 1, "every connection was closed: the budget "
	    "takes only what it must");
	ck_assert_msg(kept <= BUDGET + CHECK_STEP, "%d connections still hold "
	    "%zu bytes, over the budget of %zu", open, kept, BUDGET);
	ck_assert_int_eq(cut + open, CLIENTS);

	gnet_loop_stats_t st = { .size = sizeof st };
	ck_assert_int_eq(gnet_engine_loop_stats(s.eng, 0, &st), 0);
	ck_assert_uint_eq(st.budget_closes, (uint64_t)cut);

	for (int i = 0; i < CLIENTS; i++)
		tn_close(&fds[i]);
	TN_WAIT_UNTIL(atomic_load(&ctx.closes) == CLIENTS, WAIT_MS);
	ck_assert_int_eq(atomic_load(&ctx.closes), CLIENTS);
	tn_server_close(&s);
	free(payload);
	TN_ASSERT_NO_LOOP_ERRORS(&ctx.errs);
}
END_TEST

static Suite *budget_suite(void)
{
	Suite *s = suite_create("budget");
	TCase *tc = tn_tcase("budget", TCASE_TIMEOUT_S);

	tcase_add_test(tc, test_budget_closes_largest);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tn_run_suite(budget_suite());
}
