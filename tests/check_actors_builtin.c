/*
 * check_actors_builtin.c -- integration suite "actors_builtin": the actors
 * and timers the library ships with, on a real engine over loopback.
 *
 * Covers the ticker (first tick right after start with a 1 s preset, the
 * delay it returns, GNET_SHUTDOWN ending gnet_engine_run, running on loop
 * 0 and never concurrently with a connection callback, no ticker without
 * on_tick); the blocking-worker pool (jobs run in parallel on pool threads
 * while the loop keeps serving, a reply to a connection closed meanwhile
 * goes to on_dropped and is counted, a full queue makes gnet_conn_submit
 * return GNET_EAGAIN and wakes the connection later -- also when another
 * parked connection closed before its turn --, GNET_ENOTSUP / GNET_EINVAL /
 * GNET_ESHUTDOWN, queued jobs cancelled at engine stop); the
 * idle timeout (GNET_ETIMEDOUT for a silent connection, none for a chatty
 * one); gnet_conn_wake_async from a foreign thread, with buffered input,
 * with none, and on a stale handle.
 *
 * The servers live in tests/support (tick_server, pool_server,
 * wake_server, and recserver for plain echo). Their callbacks and jobs
 * only record into atomics (loop_errs for an unexpected result on a loop
 * or pool thread); the test thread asserts with bounded waits. Sleeping
 * inside a job is the workload of the pool tests, and the idle test paces
 * its chatty client on purpose.
 */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "gnet.h"
#include "support/engine_stats.h"
#include "support/pool_server.h"
#include "support/recserver.h"
#include "support/testnet.h"
#include "support/tick_server.h"
#include "support/wake_server.h"

#define TCASE_TIMEOUT_S 60
#define WAIT_MS 5000            /* for a callback to be observed */
#define IO_MS 5000              /* for a single client exchange */

#define MS_NS 1000000ull

/* Ticker. */
#define TICKS 25
#define TICK_NS (10 * MS_NS)
#define FIRST_PRESET_NS (1000 * MS_NS) /* documented: 1 s the first time */
#define FIRST_TICK_BOUND_MS 500 /* "right after start": far below the 1 s preset, lenient for a loaded CI machine */
#define TICK_RUN_BOUND_MS 5000  /* 25 x 10 ms, generously */
#define TICK_TRAFFIC_MIN 5      /* ticks that must overlap client traffic */
#define STREAM_CHUNK 64

/* Worker pool. */
#define POOL_WORKERS 8
#define POOL_CLIENTS 100
#define POOL_JOB_MS 200
/* A serial executor needs 100 x 200 ms = 20 s; 8 workers need ~2.6 s. */
#define POOL_BOUND_MS (POOL_CLIENTS * POOL_JOB_MS / 4)
#define POOL_PUMP_MS 20000
#define ECHO_RTT_BOUND_MS 150   /* a loop blocked by a job would show 200 */
#define ECHO_MIN_ROUNDS 10      /* echo round trips during the job phase */
#define STALE_JOB_MS 200
#define QFULL_CLIENTS 10
#define QFULL_JOB_MS 100
#define QFULL_QUEUE 2
#define PARKED_CLIENTS 4
#define PARKED_JOB_MS 300
#define PARKED_CLOSED 2         /* the parked connection the server closes */
#define CANCEL_JOB_MS 300
#define CANCEL_QUEUED 5

/* Idle timeout. */
#define IDLE_TIMEOUT_MS 200
#define IDLE_CLOSE_BOUND_MS 2000
#define IDLE_PING_MS 50
#define IDLE_PINGS 20           /* a byte every 50 ms for 1 s */

/* Wake. */
#define WAKE_PAYLOAD "wake-me!"

/* ------------------------------------------------------------------------
 * Shared helpers.
 */
static tn_loop_errors_t loop_errs;

#define LOOP_CHECK(cond) TN_LOOP_CHECK(&loop_errs, cond)
#define errs_reset() tn_loop_errors_reset(&loop_errs)
#define assert_no_loop_errors() TN_ASSERT_NO_LOOP_ERRORS(&loop_errs)

/* After the engine closed every connection: the client got EOF and no
 * byte beyond what it already read (e.g. no duplicate reply). */
static void assert_eof_nothing_more(int fd, const char *who, int i)
{
	size_t extra = 0;
	int eof = tn_wait_eof(fd, IO_MS, &extra);
	ck_assert_msg(eof == 1, "%s %d: tn_wait_eof = %d, want EOF", who, i, eof);
	ck_assert_msg(extra == 0, "%s %d: %zu unexpected byte(s) before EOF", who,
	    i, extra);
}

/* ------------------------------------------------------------------------
 * Ticker.
 */
/* 25 ticks of 10 ms, the 25th returns GNET_SHUTDOWN, while a client keeps
 * streaming to the same (only) loop. */
START_TEST(test_ticker_runs_and_stops_engine)
{
	errs_reset();
	tick_server_t ctx;
	tick_server_init(&ctx, TICKS, TICK_NS, &loop_errs);
	gnet_options_t opts = { .size = sizeof(gnet_options_t), .num_loops = 1 };
	tn_server_t s;

	int64_t t_begin = tn_now_ms();
	uint64_t t_begin_ns = tn_now_ns();
	tn_server_start(&s, &tick_server_events, &opts, &ctx);
	uint64_t t_running_ns = tn_now_ns();

	/* Stream to the loop until the ticker stops the engine (send errors
	 * once the server is gone are expected). Pacing, not waiting. */
	int fd = tn_connect(s.port);
	ck_assert_msg(fd >= 0, "connect: %s", strerror(errno));
	uint8_t chunk[STREAM_CHUNK];
	tn_fill_random(chunk, sizeof chunk, 3);
	while (!tn_ld(&s.run_done) &&
	    tn_now_ms() - t_begin < TICK_RUN_BOUND_MS) {
		send(fd, chunk, sizeof chunk, MSG_NOSIGNAL | MSG_DONTWAIT);
		tn_nap();
	}

	/* No gnet_engine_stop: the 25th tick alone ends gnet_engine_run. */
	tn_server_join(&s, TICK_RUN_BOUND_MS);
	int64_t run_ms = tn_now_ms() - t_begin;
	ck_assert_msg(s.run_rc == 0, "gnet_engine_run returned %d (%s)", s.run_rc,
	    gnet_strerror(s.run_rc));
	ck_assert_int_eq(gnet_engine_is_running(s.eng), 0);

	ck_assert_int_eq(tn_ld(&ctx.ticks), TICKS);
	ck_assert_msg(tn_ld64(&ctx.first_preset) == FIRST_PRESET_NS,
	    "first *delay_ns preset %llu ns, want 1 s",
	    (unsigned long long)tn_ld64(&ctx.first_preset));
	ck_assert_msg(tn_ld(&ctx.bad_preset) == 0,
	    "%d tick(s) not preset to the previous delay",
	    tn_ld(&ctx.bad_preset));

	/* The first tick comes right after start, not after the preset. */
	uint64_t first = tn_ld64(&ctx.first_ns);
	uint64_t last = tn_ld64(&ctx.last_ns);
	ck_assert_msg(first >= t_begin_ns, "first tick before gnet_engine_run");
	int64_t first_after_ns = (int64_t)(first - t_running_ns); /* may be < 0 */
	ck_assert_msg(first_after_ns < FIRST_TICK_BOUND_MS * (int64_t)MS_NS,
	    "first tick %.1f ms after the engine reported running",
	    (double)first_after_ns / 1e6);
	/* Every gap is at least the delay asked for; 24 gaps in all. */
	ck_assert_msg(tn_ld64(&ctx.min_gap_ns) >= TICK_NS,
	    "shortest gap between ticks %.3f ms, want >= 10 ms",
	    (double)tn_ld64(&ctx.min_gap_ns) / 1e6);
	ck_assert_msg(last - first >= (TICKS - 1) * TICK_NS,
	    "ticks spanned %.1f ms, want >= %d ms", (double)(last - first) / 1e6,
	    (TICKS - 1) * 10);
	ck_assert_msg(run_ms < TICK_RUN_BOUND_MS, "run took %lld ms",
	    (long long)run_ms);

	/* On loop 0's thread, between that loop's other events. */
	ck_assert_int_eq(tn_ld(&ctx.off_loop0), 0);
	ck_assert_int_eq(tn_ld(&ctx.overlaps), 0);
	/* ... and the check meant something: traffic ran between ticks. */
	ck_assert_msg(tn_ld(&ctx.busy_ticks) >= TICK_TRAFFIC_MIN,
	    "only %d tick interval(s) saw traffic (%ld on_traffic calls)",
	    tn_ld(&ctx.busy_ticks), tn_ldl(&ctx.traffic_calls));

	/* The ticker is an actor on loop 0: its ticks went through the loop's
	 * mailbox. The stream connection was closed by the shutdown. */
	gnet_loop_stats_t st = { .size = sizeof(gnet_loop_stats_t) };
	ck_assert_int_eq(gnet_engine_loop_stats(s.eng, 0, &st), 0);
	ck_assert_uint_ge(st.msgs_in, TICKS);
	ck_assert_int_eq(tn_ld(&ctx.closes), 1);
	ck_assert_int_eq(tn_ld(&ctx.close_reason), GNET_ESHUTDOWN);

	tn_close(&fd);
	tn_server_free(&s);
	assert_no_loop_errors();
}
END_TEST

/* Without on_tick there is no ticker actor and no tick message. */
START_TEST(test_no_ticker_without_on_tick)
{
	errs_reset();
	recserver_t ctx;
	recserver_init(&ctx, &loop_errs);
	gnet_options_t opts = { .size = sizeof(gnet_options_t), .num_loops = 1 };
	tn_server_t s;
	tn_server_start(&s, &recserver_events, &opts, &ctx);

	/* A round trip: loop 0 has certainly run its first turns, when a
	 * ticker's first tick (due at once) would have been delivered. */
	int fd = tn_connect(s.port);
	ck_assert_int_ge(fd, 0);
	char buf[4] = { 0 };
	ck_assert_uint_eq(tn_send_all(fd, "ping", 4, IO_MS), 4);
	ck_assert_uint_eq(tn_read_exact(fd, buf, 4, IO_MS), 4);
	ck_assert_int_eq(memcmp(buf, "ping", 4), 0);

	gnet_loop_stats_t st = { .size = sizeof(gnet_loop_stats_t) };
	ck_assert_int_eq(gnet_engine_loop_stats(s.eng, 0, &st), 0);
	ck_assert_uint_ge(st.iterations, 1);
	ck_assert_uint_eq(st.actors, 0);
	ck_assert_uint_eq(st.msgs_in, 0);

	tn_close(&fd);
	TN_WAIT_UNTIL(tn_ld(&ctx.closes) == 1, WAIT_MS);
	ck_assert_int_eq(tn_ld(&ctx.closes), 1);
	tn_server_close(&s);
	assert_no_loop_errors();
}
END_TEST

/* ------------------------------------------------------------------------
 * Worker pool: one server for every pool test (support/pool_server). A
 * connection sends "J<id>" to get "R<id>" from a job, or "E<id>" to get it
 * echoed at once.
 */
/* 100 connections, 8 workers, 200 ms jobs: parallel on the pool, and the
 * single loop keeps answering an echo client meanwhile. */
START_TEST(test_pool_parallel_loop_stays_responsive)
{
	errs_reset();
	static pool_server_t ctx;
	pool_server_init(&ctx, POOL_JOB_MS, &loop_errs);
	gnet_options_t opts = { .size = sizeof(gnet_options_t), .num_loops = 1, .workers = POOL_WORKERS };
	tn_server_t s;
	tn_server_start(&s, &pool_server_events, &opts, &ctx);

	pool_prober_t pr;
	memset(&pr, 0, sizeof pr);
	pr.fd = tn_connect(s.port);
	ck_assert_int_ge(pr.fd, 0);
	ck_assert_int_eq(pthread_create(&pr.thread, NULL, pool_prober_main, &pr), 0);
	TN_WAIT_UNTIL(tn_ld(&pr.rounds) > 0 || tn_ld(&pr.failures),
	    WAIT_MS);
	ck_assert_msg(tn_ld(&pr.rounds) > 0, "echo prober never answered");

	static tn_client_t cl[POOL_CLIENTS];
	static char tx[POOL_CLIENTS][POOL_REQ_LEN + 1], rx[POOL_CLIENTS][POOL_REQ_LEN + 1];
	pool_job_clients(cl, tx, rx, POOL_CLIENTS, s.port);

	/* Only round trips made while the jobs run count. */
	atomic_store(&pr.max_rtt_us, 0);
	int rounds0 = tn_ld(&pr.rounds);
	int64_t t0 = tn_now_ms();
	int failed = tn_pump(cl, POOL_CLIENTS, POOL_PUMP_MS);
	int64_t elapsed = tn_now_ms() - t0;
	int rounds = tn_ld(&pr.rounds) - rounds0;
	long max_rtt_us = tn_ldl(&pr.max_rtt_us);
	atomic_store(&pr.stop, 1);
	pthread_join(pr.thread, NULL);

	ck_assert_msg(failed == 0, "%d client(s) failed; %s", failed,
	    tn_pump_error(cl, POOL_CLIENTS));
	ck_assert_msg(elapsed < POOL_BOUND_MS,
	    "100 jobs of 200 ms on 8 workers took %lld ms (bound %d ms)",
	    (long long)elapsed, POOL_BOUND_MS);
	ck_assert_msg(tn_ld(&pr.failures) == 0, "echo prober: a round trip failed");
	ck_assert_msg(rounds >= ECHO_MIN_ROUNDS,
	    "only %d echo round trip(s) during the jobs", rounds);
	ck_assert_msg(max_rtt_us < ECHO_RTT_BOUND_MS * 1000L,
	    "worst echo round trip %.1f ms while jobs ran (bound %d ms)",
	    (double)max_rtt_us / 1000.0, ECHO_RTT_BOUND_MS);

	/* Exactly the configured parallelism, on pool threads. */
	ck_assert_uint_eq(tn_ldz(&ctx.max_inflight), POOL_WORKERS);
	ck_assert_int_eq(tn_ld(&ctx.submits_ok), POOL_CLIENTS);
	ck_assert_int_eq(tn_ld(&ctx.submits_eagain), 0);
	ck_assert_int_eq(tn_ld(&ctx.jobs_done), POOL_CLIENTS);
	ck_assert_int_eq(tn_ld(&ctx.replies), POOL_CLIENTS);
	for (int i = 0; i < POOL_CLIENTS; i++)
		ck_assert_msg(tn_ld(&ctx.per_id_replies[i]) == 1,
		    "request %d got %d replies", i,
		    tn_ld(&ctx.per_id_replies[i]));

	tn_close(&pr.fd);
	for (int i = 0; i < POOL_CLIENTS; i++)
		tn_close(&cl[i].fd);
	TN_WAIT_UNTIL(tn_ld(&ctx.closes) == POOL_CLIENTS + 1, WAIT_MS);
	ck_assert_int_eq(tn_ld(&ctx.closes), POOL_CLIENTS + 1);
	tn_server_close(&s);
	ck_assert_int_eq(tn_ld(&ctx.dropped), 0);
	ck_assert_int_eq(tn_ld(&ctx.cancels), 0);
	assert_no_loop_errors();
}
END_TEST

/* The reply of a job whose connection closed meanwhile is dropped, passed
 * to on_dropped (which frees its payload) and counted. */
START_TEST(test_pool_reply_to_closed_conn_dropped)
{
	errs_reset();
	pool_server_t ctx;
	pool_server_init(&ctx, STALE_JOB_MS, &loop_errs);
	gnet_options_t opts = { .size = sizeof(gnet_options_t), .num_loops = 1, .workers = 1 };
	tn_server_t s;
	tn_server_start(&s, &pool_server_events, &opts, &ctx);

	int fd = tn_connect(s.port);
	ck_assert_int_ge(fd, 0);
	TN_WAIT_UNTIL(tn_ld(&ctx.opens) == 1, WAIT_MS);
	ck_assert_int_eq(tn_ld(&ctx.opens), 1);
	gnet_handle_t h = tn_ld64(&ctx.last_handle);
	char req[POOL_REQ_LEN + 1];
	pool_fmt_msg(req, POOL_KIND_JOB, 7);
	ck_assert_uint_eq(tn_send_all(fd, req, POOL_REQ_LEN, IO_MS), POOL_REQ_LEN);
	TN_WAIT_UNTIL(tn_ld(&ctx.jobs_started) == 1, WAIT_MS);
	ck_assert_int_eq(tn_ld(&ctx.jobs_started), 1);

	/* Close while the job sleeps, and let the server see it. */
	tn_close(&fd);
	TN_WAIT_UNTIL(tn_ld(&ctx.closes) == 1, WAIT_MS);
	ck_assert_int_eq(tn_ld(&ctx.closes), 1);
	ck_assert_msg(tn_ld(&ctx.jobs_done) == 0,
	    "premise: the job finished before the connection closed");
	uint64_t dropped0 = tn_loop_stats(s.eng, 0).msgs_dropped;

	TN_WAIT_UNTIL(tn_ld(&ctx.dropped) == 1, WAIT_MS);
	ck_assert_int_eq(tn_ld(&ctx.dropped), 1);
	ck_assert_int_eq(tn_ld(&ctx.dropped_ok), 1);
	ck_assert_int_eq(tn_ld(&ctx.dropped_id), 7);
	ck_assert_msg(tn_ld64(&ctx.dropped_to) == h,
	    "dropped reply addressed to %#llx, want the closed connection %#llx",
	    (unsigned long long)tn_ld64(&ctx.dropped_to),
	    (unsigned long long)h);
	ck_assert_int_eq(tn_ld(&ctx.replies), 0);
	ck_assert_uint_eq(tn_loop_stats(s.eng, 0).msgs_dropped, dropped0 + 1);
	ck_assert_int_eq(gnet_engine_is_running(s.eng), 1);

	tn_server_close(&s);
	ck_assert_int_eq(tn_ld(&ctx.dropped), 1);
	ck_assert_int_eq(tn_ld(&ctx.replies), 0);
	ck_assert_int_eq(tn_ld(&ctx.jobs_done), 1);
	assert_no_loop_errors();
}
END_TEST

/* 1 worker, a queue of 2, 10 requests of 100 ms: refused submits park
 * their connection, which is woken and retries with the same request. */
START_TEST(test_pool_queue_full_backpressure)
{
	errs_reset();
	pool_server_t ctx;
	pool_server_init(&ctx, QFULL_JOB_MS, &loop_errs);
	gnet_options_t opts = { .size = sizeof(gnet_options_t), .num_loops = 1, .workers = 1,
	    .worker_queue = QFULL_QUEUE };
	tn_server_t s;
	tn_server_start(&s, &pool_server_events, &opts, &ctx);

	tn_client_t cl[QFULL_CLIENTS];
	char tx[QFULL_CLIENTS][POOL_REQ_LEN + 1], rx[QFULL_CLIENTS][POOL_REQ_LEN + 1];
	pool_job_clients(cl, tx, rx, QFULL_CLIENTS, s.port);
	/* 10 x 100 ms on one worker, with a generous margin. */
	int failed = tn_pump(cl, QFULL_CLIENTS, 10 * QFULL_CLIENTS * QFULL_JOB_MS);
	ck_assert_msg(failed == 0, "%d client(s) failed; %s", failed,
	    tn_pump_error(cl, QFULL_CLIENTS));

	ck_assert_msg(tn_ld(&ctx.submits_eagain) > 0,
	    "no submit was refused: the queue bound is not enforced");
	ck_assert_int_eq(tn_ld(&ctx.submits_ok), QFULL_CLIENTS);
	ck_assert_uint_eq(tn_ldz(&ctx.max_inflight), 1);
	int parked = 0;
	for (int i = 0; i < QFULL_CLIENTS; i++) {
		int eagain = tn_ld(&ctx.per_id_eagain[i]);
		parked += eagain > 0;
		ck_assert_msg(tn_ld(&ctx.per_id_submits[i]) == 1,
		    "request %d submitted %d times", i,
		    tn_ld(&ctx.per_id_submits[i]));
		/* Every refusal was followed by exactly one wake-up call over
		 * the same request. */
		ck_assert_msg(tn_ld(&ctx.per_id_retries[i]) == eagain,
		    "request %d: %d refusals, %d retries", i, eagain,
		    tn_ld(&ctx.per_id_retries[i]));
	}
	ck_assert_int_ge(parked, 1);

	tn_server_close(&s);
	ck_assert_int_eq(tn_ld(&ctx.jobs_done), QFULL_CLIENTS);
	ck_assert_int_eq(tn_ld(&ctx.replies), QFULL_CLIENTS);
	ck_assert_int_eq(tn_ld(&ctx.dropped), 0);
	ck_assert_int_eq(tn_ld(&ctx.cancels), 0);
	for (int i = 0; i < QFULL_CLIENTS; i++) {
		ck_assert_msg(tn_ld(&ctx.per_id_replies[i]) == 1,
		    "request %d got %d replies", i,
		    tn_ld(&ctx.per_id_replies[i]));
		assert_eof_nothing_more(cl[i].fd, "client", i);
		tn_close(&cl[i].fd);
	}
	assert_no_loop_errors();
}
END_TEST

/* A parked connection that is closed before its turn must not strand the
 * connections parked behind it: 1 worker, a queue of 1; request 0 runs,
 * request 1 waits in the queue, 2 and 3 are refused and parked, then the
 * server closes connection 2. Once the pool has room, connection 3 must
 * still be woken and served (gnet_conn_submit's contract). */
START_TEST(test_pool_parked_conn_closed_others_still_woken)
{
	errs_reset();
	pool_server_t ctx;
	pool_server_init(&ctx, PARKED_JOB_MS, &loop_errs);
	gnet_options_t opts = { .size = sizeof(gnet_options_t), .num_loops = 1, .workers = 1, .worker_queue = 1 };
	tn_server_t s;
	tn_server_start(&s, &pool_server_events, &opts, &ctx);

	int fd[PARKED_CLIENTS];
	char tx[PARKED_CLIENTS][POOL_REQ_LEN + 1], rx[PARKED_CLIENTS][POOL_REQ_LEN + 1];
	gnet_handle_t h[PARKED_CLIENTS];
	for (int i = 0; i < PARKED_CLIENTS; i++) {
		pool_fmt_msg(tx[i], POOL_KIND_JOB, (unsigned)i);
		pool_fmt_msg(rx[i], POOL_KIND_REPLY, (unsigned)i);
		fd[i] = tn_connect(s.port);
		ck_assert_msg(fd[i] >= 0, "connect %d: %s", i, strerror(errno));
		TN_WAIT_UNTIL(tn_ld(&ctx.opens) == i + 1, WAIT_MS);
		ck_assert_int_eq(tn_ld(&ctx.opens), i + 1);
		h[i] = tn_ld64(&ctx.last_handle);
	}

	/* One step at a time, so the roles are certain. */
	ck_assert_uint_eq(tn_send_all(fd[0], tx[0], POOL_REQ_LEN, IO_MS), POOL_REQ_LEN);
	TN_WAIT_UNTIL(tn_ld(&ctx.jobs_started) == 1, WAIT_MS);
	ck_assert_int_eq(tn_ld(&ctx.jobs_started), 1);
	ck_assert_uint_eq(tn_send_all(fd[1], tx[1], POOL_REQ_LEN, IO_MS), POOL_REQ_LEN);
	TN_WAIT_UNTIL(tn_ld(&ctx.submits_ok) == 2, WAIT_MS);
	ck_assert_int_eq(tn_ld(&ctx.submits_ok), 2);
	for (int i = 2; i < PARKED_CLIENTS; i++) {
		ck_assert_uint_eq(tn_send_all(fd[i], tx[i], POOL_REQ_LEN, IO_MS),
		    POOL_REQ_LEN);
		TN_WAIT_UNTIL(tn_ld(&ctx.per_id_eagain[i]) == 1, WAIT_MS);
		ck_assert_msg(tn_ld(&ctx.per_id_eagain[i]) == 1,
		    "premise: request %d was not refused", i);
	}
	ck_assert_msg(tn_ld(&ctx.jobs_done) == 0,
	    "premise: the first job finished during the set-up");

	/* The server closes parked connection 2. */
	ck_assert_int_eq(gnet_conn_close_async(s.eng, h[PARKED_CLOSED]), 0);
	TN_WAIT_UNTIL(tn_ld(&ctx.closes) == 1, WAIT_MS);
	ck_assert_int_eq(tn_ld(&ctx.closes), 1);
	ck_assert_int_eq(tn_wait_eof(fd[PARKED_CLOSED], IO_MS, NULL), 1);

	/* The others: 3 jobs of 300 ms on one worker, generously bounded. */
	tn_client_t rest[PARKED_CLIENTS - 1];
	int k = 0;
	for (int i = 0; i < PARKED_CLIENTS; i++)
		if (i != PARKED_CLOSED) /* requests are sent: pump the replies */
			tn_client_init(&rest[k++], fd[i], NULL, 0,
			    (const uint8_t *)rx[i], POOL_REQ_LEN);
	int failed = tn_pump(rest, PARKED_CLIENTS - 1, 10 * PARKED_JOB_MS);
	ck_assert_msg(failed == 0,
	    "replies to requests 0/1/3: %d/%d/%d, want 1/1/1 -- request 3 "
	    "was parked behind the closed connection and never woken "
	    "(retries %d, submits ok %d, jobs done %d)",
	    tn_ld(&ctx.per_id_replies[0]), tn_ld(&ctx.per_id_replies[1]),
	    tn_ld(&ctx.per_id_replies[3]), tn_ld(&ctx.per_id_retries[3]),
	    tn_ld(&ctx.submits_ok), tn_ld(&ctx.jobs_done));

	tn_server_close(&s);
	for (int i = 0; i < PARKED_CLIENTS; i++) {
		ck_assert_int_eq(tn_ld(&ctx.per_id_replies[i]),
		    i == PARKED_CLOSED ? 0 : 1);
		tn_close(&fd[i]);
	}
	ck_assert_int_eq(tn_ld(&ctx.dropped), 0);
	assert_no_loop_errors();
}
END_TEST

static void never_run_fn(void *arg, gnet_msg_t *reply)
{
	(void)arg;
	(void)reply;
	LOOP_CHECK(0);
}

/* No pool: GNET_ENOTSUP; a NULL job function: GNET_EINVAL. */
START_TEST(test_pool_submit_errors)
{
	errs_reset();
	recserver_t ctx;
	recserver_init(&ctx, &loop_errs);
	tn_server_t s;

	gnet_options_t no_pool = { .size = sizeof(gnet_options_t), .num_loops = 1 };
	tn_server_start(&s, &recserver_events, &no_pool, &ctx);
	int rc = gnet_pool_submit(s.eng, GNET_HANDLE_NONE, never_run_fn, NULL, NULL);
	ck_assert_msg(rc == GNET_ENOTSUP, "gnet_pool_submit without a pool: %d (%s)",
	    rc, gnet_strerror(rc));
	rc = gnet_pool_submit(s.eng, GNET_HANDLE_NONE, NULL, NULL, NULL);
	ck_assert_msg(rc == GNET_EINVAL, "gnet_pool_submit(NULL fn): %d (%s)", rc,
	    gnet_strerror(rc));
	tn_server_close(&s);

	gnet_options_t pool = { .size = sizeof(gnet_options_t), .num_loops = 1, .workers = 1 };
	tn_server_start(&s, &recserver_events, &pool, &ctx);
	rc = gnet_pool_submit(s.eng, GNET_HANDLE_NONE, NULL, NULL, NULL);
	ck_assert_msg(rc == GNET_EINVAL, "gnet_pool_submit(NULL fn) with a pool: %d (%s)",
	    rc, gnet_strerror(rc));
	tn_server_close(&s);
	assert_no_loop_errors();
}
END_TEST

/* Jobs still queued when the engine stops are cancelled, not run; the
 * running one finishes and its reply (engine gone) goes to on_dropped. */
START_TEST(test_pool_cancel_on_stop)
{
	errs_reset();
	pool_server_t ctx;
	pool_server_init(&ctx, CANCEL_JOB_MS, &loop_errs);
	gnet_options_t opts = { .size = sizeof(gnet_options_t), .num_loops = 1, .workers = 1 };
	tn_server_t s;
	tn_server_start(&s, &pool_server_events, &opts, &ctx);

	int fd = tn_connect(s.port);
	ck_assert_int_ge(fd, 0);
	TN_WAIT_UNTIL(tn_ld(&ctx.opens) == 1, WAIT_MS);
	ck_assert_int_eq(tn_ld(&ctx.opens), 1);
	gnet_handle_t h = tn_ld64(&ctx.last_handle);

	/* From this (foreign) thread: one job runs, the others queue. */
	int submitted = 0;
	pool_job_t *j = pool_job_new(&ctx, 0);
	ck_assert_ptr_nonnull(j);
	int rc = gnet_pool_submit(s.eng, h, pool_job_fn, pool_cancel_fn, j);
	ck_assert_msg(rc == 0, "gnet_pool_submit: %d (%s)", rc, gnet_strerror(rc));
	submitted++;
	TN_WAIT_UNTIL(tn_ld(&ctx.jobs_started) == 1, WAIT_MS);
	ck_assert_int_eq(tn_ld(&ctx.jobs_started), 1);
	for (int i = 1; i <= CANCEL_QUEUED; i++) {
		j = pool_job_new(&ctx, i);
		ck_assert_ptr_nonnull(j);
		rc = gnet_pool_submit(s.eng, h, pool_job_fn, pool_cancel_fn, j);
		ck_assert_msg(rc == 0, "gnet_pool_submit %d: %d (%s)", i, rc,
		    gnet_strerror(rc));
		submitted++;
	}

	tn_server_stop(&s);
	ck_assert_int_eq(s.run_rc, 0);
	/* gnet_engine_run has returned: the pool is down, nothing pending. */
	int done = tn_ld(&ctx.jobs_done);
	int cancels = tn_ld(&ctx.cancels);
	ck_assert_msg(done + cancels == submitted,
	    "%d run + %d cancelled != %d submitted", done, cancels, submitted);
	ck_assert_msg(cancels == CANCEL_QUEUED,
	    "%d job(s) cancelled, want the %d queued ones (%d ran)", cancels,
	    CANCEL_QUEUED, done);
	ck_assert_int_eq(tn_ld(&ctx.jobs_started), done);
	/* Every finished job's reply was delivered or dropped, once. */
	ck_assert_int_eq(tn_ld(&ctx.replies) + tn_ld(&ctx.dropped),
	    done);
	ck_assert_int_eq(tn_ld(&ctx.dropped_ok), tn_ld(&ctx.dropped));

	/* A stopped engine refuses new jobs. */
	rc = gnet_pool_submit(s.eng, h, never_run_fn, NULL, NULL);
	ck_assert_msg(rc == GNET_ESHUTDOWN, "gnet_pool_submit after stop: %d (%s)", rc,
	    gnet_strerror(rc));
	tn_close(&fd);
	tn_server_free(&s);
	assert_no_loop_errors();
}
END_TEST

/* ------------------------------------------------------------------------
 * Idle timeout.
 */
/* Until `due`, watch the idle client for EOF, recording when it came and
 * *eof_err (0 for a clean EOF, an errno, -1 for unexpected data); once it
 * has come, just wait out the pacing interval. */
static void pace_watching_eof(int idle_fd, int64_t due, int64_t *eof_ms,
    int *eof_err)
{
	for (;;) {
		int64_t left = due - tn_now_ms();
		if (left <= 0)
			return;
		if (*eof_ms >= 0) {
			poll(NULL, 0, (int)left);
			continue;
		}
		struct pollfd pfd = { .fd = idle_fd, .events = POLLIN };
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		char b;
		ssize_t r = recv(idle_fd, &b, 1, MSG_DONTWAIT);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
			*eof_ms = tn_now_ms();
			*eof_err = r == 0 ? 0 : errno;
		} else if (r > 0) {
			*eof_err = -1; /* unexpected data */
		}
	}
}

START_TEST(test_idle_timeout)
{
	errs_reset();
	recserver_t ctx;
	recserver_init(&ctx, &loop_errs);
	gnet_options_t opts = { .size = sizeof(gnet_options_t), .num_loops = 1, .idle_timeout_ms = IDLE_TIMEOUT_MS };
	tn_server_t s;
	tn_server_start(&s, &recserver_events, &opts, &ctx);

	/* Connection 0 goes silent after one echo; connection 1 chats. */
	int quiet = tn_connect(s.port);
	ck_assert_int_ge(quiet, 0);
	TN_WAIT_UNTIL(tn_ld(&ctx.opens) == 1, WAIT_MS);
	ck_assert_int_eq(tn_ld(&ctx.opens), 1);
	int chatty = tn_connect(s.port);
	ck_assert_int_ge(chatty, 0);
	TN_WAIT_UNTIL(tn_ld(&ctx.opens) == 2, WAIT_MS);
	ck_assert_int_eq(tn_ld(&ctx.opens), 2);

	char b = 0;
	int64_t quiet_last_ms = tn_now_ms(); /* before its last traffic */
	ck_assert_uint_eq(tn_send_all(quiet, "q", 1, IO_MS), 1);
	ck_assert_uint_eq(tn_read_exact(quiet, &b, 1, IO_MS), 1);
	ck_assert_int_eq(b, 'q');

	int64_t eof_ms = -1;
	int eof_err = 0;
	int echoes = 0;
	int64_t start = tn_now_ms();
	for (int i = 0; i < IDLE_PINGS; i++) {
		pace_watching_eof(quiet, start + (int64_t)i * IDLE_PING_MS, &eof_ms,
		    &eof_err);
		char c = (char)('a' + i % 26);
		ck_assert_uint_eq(tn_send_all(chatty, &c, 1, IO_MS), 1);
		ck_assert_msg(tn_read_exact(chatty, &b, 1, IO_MS) == 1,
		    "chatty connection: no echo for byte %d", i);
		ck_assert_int_eq(b, c);
		echoes++;
	}
	pace_watching_eof(quiet, start + (int64_t)IDLE_PINGS * IDLE_PING_MS,
	    &eof_ms, &eof_err);
	if (eof_ms < 0) {
		int64_t left = quiet_last_ms + IDLE_CLOSE_BOUND_MS - tn_now_ms();
		int eof = tn_wait_eof(quiet, (int)left, NULL);
		if (eof != 0)
			eof_ms = tn_now_ms();
		if (eof < 0)
			eof_err = -eof;
	}

	/* The silent connection: closed by the server, GNET_ETIMEDOUT, not
	 * before 200 ms of silence and not much later. */
	ck_assert_msg(eof_ms >= 0,
	    "quiet connection: still open %d ms after its last traffic",
	    IDLE_CLOSE_BOUND_MS);
	ck_assert_msg(eof_err == 0, "quiet connection: %s instead of a clean EOF",
	    eof_err < 0 ? "unexpected data" : strerror(eof_err));
	ck_assert_msg(eof_ms - quiet_last_ms >= IDLE_TIMEOUT_MS,
	    "quiet connection closed %lld ms after its last traffic (< %d)",
	    (long long)(eof_ms - quiet_last_ms), IDLE_TIMEOUT_MS);
	ck_assert_msg(eof_ms - quiet_last_ms < IDLE_CLOSE_BOUND_MS,
	    "quiet connection closed %lld ms after its last traffic",
	    (long long)(eof_ms - quiet_last_ms));
	TN_WAIT_UNTIL(tn_ld(&ctx.log.conn[0].closes) == 1, WAIT_MS);
	ck_assert_int_eq(tn_ld(&ctx.log.conn[0].closes), 1);
	ck_assert_msg(tn_ld(&ctx.log.conn[0].reason) == GNET_ETIMEDOUT,
	    "quiet connection close reason %d (%s), want GNET_ETIMEDOUT",
	    tn_ld(&ctx.log.conn[0].reason), gnet_strerror(tn_ld(&ctx.log.conn[0].reason)));

	/* The chatty one: every echo, still open after 1 s and answering. */
	ck_assert_int_eq(echoes, IDLE_PINGS);
	ck_assert_int_eq(tn_ld(&ctx.log.conn[1].closes), 0);
	ck_assert_uint_eq(tn_send_all(chatty, "z", 1, IO_MS), 1);
	ck_assert_uint_eq(tn_read_exact(chatty, &b, 1, IO_MS), 1);
	ck_assert_int_eq(b, 'z');
	ck_assert_int_eq(tn_ld(&ctx.log.conn[1].closes), 0);
	ck_assert_int_eq(tn_ld(&ctx.closes), 1);

	tn_close(&chatty);
	TN_WAIT_UNTIL(tn_ld(&ctx.closes) == 2, WAIT_MS);
	ck_assert_int_eq(tn_ld(&ctx.closes), 2);
	ck_assert_int_eq(tn_ld(&ctx.log.conn[1].reason), GNET_EEOF);
	tn_close(&quiet);
	tn_server_close(&s);
	assert_no_loop_errors();
}
END_TEST

/* ------------------------------------------------------------------------
 * gnet_conn_wake_async.
 */
START_TEST(test_wake_from_foreign_thread)
{
	errs_reset();
	static wake_server_t ctx;
	wake_server_init(&ctx, &loop_errs);
	gnet_options_t opts = { .size = sizeof(gnet_options_t), .num_loops = 1 };
	tn_server_t s;
	tn_server_start(&s, &wake_server_events, &opts, &ctx);
	const size_t plen = strlen(WAKE_PAYLOAD);

	int fd = tn_connect(s.port);
	ck_assert_int_ge(fd, 0);
	TN_WAIT_UNTIL(tn_ld(&ctx.opens) == 1, WAIT_MS);
	ck_assert_int_eq(tn_ld(&ctx.opens), 1);
	gnet_handle_t h = tn_ld64(&ctx.last_handle);

	/* The handler sees the bytes and leaves them buffered. */
	ck_assert_uint_eq(tn_send_all(fd, WAKE_PAYLOAD, plen, IO_MS), plen);
	TN_WAIT_UNTIL(tn_ld(&ctx.calls) >= 1, WAIT_MS);
	ck_assert_int_eq(tn_ld(&ctx.calls), 1);
	ck_assert_uint_eq(ctx.rec[0].len, plen);
	ck_assert_int_eq(memcmp(ctx.rec[0].bytes, WAKE_PAYLOAD, plen), 0);

	/* Woken with no new input: the same bytes again, consumed now. */
	atomic_store(&ctx.consume, 1);
	int rc = wake_from_foreign_thread(s.eng, h);
	ck_assert_msg(rc == 0, "gnet_conn_wake_async: %d (%s)", rc, gnet_strerror(rc));
	TN_WAIT_UNTIL(tn_ld(&ctx.calls) >= 2, WAIT_MS);
	ck_assert_int_eq(tn_ld(&ctx.calls), 2);
	ck_assert_uint_eq(ctx.rec[1].len, plen);
	ck_assert_int_eq(memcmp(ctx.rec[1].bytes, WAKE_PAYLOAD, plen), 0);
	char buf[16] = { 0 };
	ck_assert_uint_eq(tn_read_exact(fd, buf, plen, IO_MS), plen);
	ck_assert_int_eq(memcmp(buf, WAKE_PAYLOAD, plen), 0);

	/* Documented: a wake with nothing buffered still calls the handler. */
	rc = wake_from_foreign_thread(s.eng, h);
	ck_assert_int_eq(rc, 0);
	TN_WAIT_UNTIL(tn_ld(&ctx.calls) >= 3, WAIT_MS);
	ck_assert_int_eq(tn_ld(&ctx.calls), 3);
	ck_assert_uint_eq(ctx.rec[2].len, 0);

	/* Stale: close, let on_close run, then open another connection (it
	 * may reuse the slot) and wake the old handle. It is dropped and
	 * counted, and never reaches the new connection. */
	tn_close(&fd);
	TN_WAIT_UNTIL(tn_ld(&ctx.closes) == 1, WAIT_MS);
	ck_assert_int_eq(tn_ld(&ctx.closes), 1);
	int fd2 = tn_connect(s.port);
	ck_assert_int_ge(fd2, 0);
	TN_WAIT_UNTIL(tn_ld(&ctx.opens) == 2, WAIT_MS);
	ck_assert_int_eq(tn_ld(&ctx.opens), 2);
	ck_assert_msg(tn_ld64(&ctx.last_handle) != h,
	    "a new connection got the closed connection's handle");
	uint64_t dropped0 = tn_loop_stats(s.eng, 0).msgs_dropped;
	rc = wake_from_foreign_thread(s.eng, h);
	ck_assert_msg(rc == 0, "stale gnet_conn_wake_async from a foreign thread: %d (%s)",
	    rc, gnet_strerror(rc));
	TN_WAIT_UNTIL(tn_loop_stats(s.eng, 0).msgs_dropped > dropped0, WAIT_MS);
	ck_assert_uint_eq(tn_loop_stats(s.eng, 0).msgs_dropped, dropped0 + 1);
	ck_assert_int_eq(tn_ld(&ctx.calls), 3);

	/* The loop is fine and the new connection is served. */
	ck_assert_uint_eq(tn_send_all(fd2, "ok", 2, IO_MS), 2);
	ck_assert_uint_eq(tn_read_exact(fd2, buf, 2, IO_MS), 2);
	ck_assert_int_eq(memcmp(buf, "ok", 2), 0);
	ck_assert_int_eq(tn_ld(&ctx.calls), 4);
	tn_close(&fd2);
	TN_WAIT_UNTIL(tn_ld(&ctx.closes) == 2, WAIT_MS);
	ck_assert_int_eq(tn_ld(&ctx.closes), 2);
	tn_server_close(&s);
	assert_no_loop_errors();
}
END_TEST

/* ------------------------------------------------------------------------
 */

static Suite *actors_builtin_suite(void)
{
	Suite *s = suite_create("actors_builtin");
	TCase *tc;

	tc = tn_tcase("ticker", TCASE_TIMEOUT_S);
	tcase_add_test(tc, test_ticker_runs_and_stops_engine);
	tcase_add_test(tc, test_no_ticker_without_on_tick);
	suite_add_tcase(s, tc);

	tc = tn_tcase("pool", TCASE_TIMEOUT_S);
	tcase_add_test(tc, test_pool_parallel_loop_stays_responsive);
	tcase_add_test(tc, test_pool_reply_to_closed_conn_dropped);
	tcase_add_test(tc, test_pool_queue_full_backpressure);
	tcase_add_test(tc, test_pool_parked_conn_closed_others_still_woken);
	tcase_add_test(tc, test_pool_submit_errors);
	tcase_add_test(tc, test_pool_cancel_on_stop);
	suite_add_tcase(s, tc);

	tc = tn_tcase("idle", TCASE_TIMEOUT_S);
	tcase_add_test(tc, test_idle_timeout);
	suite_add_tcase(s, tc);

	tc = tn_tcase("wake", TCASE_TIMEOUT_S);
	tcase_add_test(tc, test_wake_from_foreign_thread);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tn_run_suite(actors_builtin_suite());
}
