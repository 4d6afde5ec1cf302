/*
 * check_kinds.c -- suite "kinds": the kernel runs actors it knows nothing
 * about.
 *
 * An engine is made of the kernel and one test extension only -- no net/,
 * no ticker, no pool -- and the extension brings what any layer would: a
 * message-type range with a drop, per-loop state, a turn hook, an actor
 * kind that watches a pipe through the loop's poller. The cases check
 * that the kernel dispatches to all of it (io, receive, stop, drop, the
 * hook, the extension's lifecycle) and holds the rules of type ranges.
 */
#include <check.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernel/kernel.h"
#include "support/testnet.h"

#define TCASE_TIMEOUT_S 30
#define WAIT_MS 5000
#define LOOPS 2

/* The test extension's message types. */
enum { T_FIRST = 200, T_PING = T_FIRST, T_OWNED, T_END };

typedef struct record {
	atomic_int io_calls, io_in, receives, pings, stops, drops, dropped_ok;
	atomic_int engine_inits, loop_inits, starts, stoppeds, enters, exits;
	atomic_int stop_begins, loop_frees, engine_frees, hook_runs;
	atomic_int wrong_thread;
	atomic_ullong watcher;   /* handle of the pipe watcher on loop 0 */
} record_t;

static record_t rec;

/* A function, not the macro: a failed assertion then reads plainly. */
static int
ld(atomic_int *p)
{
	return atomic_load(p);
}
static int pipefd[2] = { -1, -1 };

/* ---- the actor kind: watches the pipe's read end ---- */

typedef struct watcher {
	gnet_handle_t self;
	int fd;
} watcher_t;

static void
watcher_io(gnet__loop_t *l, gnet__slot_t *s, uint32_t events, int32_t res)
{
	watcher_t *w = s->obj;
	char buf[64];

	(void)res;
	if (gnet__tls_loop != l)
		atomic_fetch_add(&rec.wrong_thread, 1);
	atomic_fetch_add(&rec.io_calls, 1);
	if (events & GNET__POLL_IN)
		atomic_fetch_add(&rec.io_in, 1);
	while (read(w->fd, buf, sizeof buf) > 0)
		;
}

static void
watcher_receive(gnet__loop_t *l, void *obj, const gnet_msg_t *m)
{
	(void)l;
	(void)obj;
	atomic_fetch_add(&rec.receives, 1);
	if (m->type == T_PING)
		atomic_fetch_add(&rec.pings, 1);
}

static void
watcher_stop(gnet__loop_t *l, void *obj)
{
	watcher_t *w = obj;

	atomic_fetch_add(&rec.stops, 1);
	gnet__poller_del(&l->poller, w->fd);
	gnet__slot_free(l, gnet__handle_slot(w->self));
	free(w);
}

static const gnet__kind_t watcher_kind = {
	.name = "test watcher",
	.receive = watcher_receive,
	.io = watcher_io,
	.stop = watcher_stop,
};

/* ---- the extension ---- */

static void
owned_dropped(gnet_engine_t *eng, gnet__loop_t *l, const gnet_msg_t *m)
{
	(void)eng;
	(void)l;
	atomic_fetch_add(&rec.drops, 1);
	/* What the message owned comes back to be released. */
	if (m->a == 0xfeedu)
		atomic_fetch_add(&rec.dropped_ok, 1);
}

static const gnet__msgtype_t test_types[T_END - T_FIRST] = {
	{ .name = "ping" },
	{ .name = "owned", .drop = owned_dropped },
};

typedef struct loop_state {
	uint32_t hook_bit;
} loop_state_t;

static int
x_engine_init(gnet_engine_t *eng, void **state)
{
	(void)state;
	atomic_fetch_add(&rec.engine_inits, 1);
	return gnet__msgtypes_claim(eng, T_FIRST, T_END - T_FIRST, test_types);
}

static void
x_hook(gnet__loop_t *l, void *arg)
{
	(void)l;
	(void)arg;
	atomic_fetch_add(&rec.hook_runs, 1);
}

static int
x_loop_init(gnet__loop_t *l, void **state)
{
	loop_state_t *ls = calloc(1, sizeof(*ls));

	if (ls == NULL)
		return GNET_ENOMEM;
	*state = ls;
	atomic_fetch_add(&rec.loop_inits, 1);
	ls->hook_bit = gnet__loop_hook(l, GNET__PHASE_FLUSH, x_hook, ls);
	/* Due once: it must run on the first turn, and only then. */
	gnet__loop_due(l, ls->hook_bit);
	return ls->hook_bit != 0 ? 0 : GNET_ELIMIT;
}

/* Before the loops run: the watcher on loop 0, its pipe in the poller. */
static int
x_start(gnet_engine_t *eng)
{
	gnet__loop_t *l = eng->loops[0];
	watcher_t *w = calloc(1, sizeof(*w));
	int rc;

	atomic_fetch_add(&rec.starts, 1);
	if (w == NULL)
		return GNET_ENOMEM;
	w->fd = pipefd[0];
	rc = gnet__slot_alloc(l, &watcher_kind, w, &w->self);
	if (rc == 0)
		rc = gnet__poller_add(&l->poller, w->fd, w->self, GNET__POLL_IN);
	if (rc != 0) {
		free(w);
		return rc;
	}
	atomic_store(&rec.watcher, w->self);
	return 0;
}

static void
x_stopped(gnet_engine_t *eng)
{
	(void)eng;
	atomic_fetch_add(&rec.stoppeds, 1);
}

static void
x_enter(gnet__loop_t *l)
{
	(void)l;
	atomic_fetch_add(&rec.enters, 1);
}

static void
x_exit(gnet__loop_t *l)
{
	(void)l;
	atomic_fetch_add(&rec.exits, 1);
}

static void
x_stop_begin(gnet__loop_t *l)
{
	(void)l;
	atomic_fetch_add(&rec.stop_begins, 1);
}

static void
x_loop_free(gnet__loop_t *l, void *state)
{
	(void)l;
	if (state != NULL)
		atomic_fetch_add(&rec.loop_frees, 1);
	free(state);
}

static void
x_engine_free(gnet_engine_t *eng, void *state)
{
	(void)eng;
	(void)state;
	atomic_fetch_add(&rec.engine_frees, 1);
}

static const gnet__ext_t test_ext = {
	.name = "test",
	.engine_init = x_engine_init,
	.loop_init = x_loop_init,
	.start = x_start,
	.stopped = x_stopped,
	.thread_enter = x_enter,
	.thread_exit = x_exit,
	.stop_begin = x_stop_begin,
	.loop_free = x_loop_free,
	.engine_free = x_engine_free,
};

static const gnet__ext_t *const only_test_ext[] = { &test_ext };

/* ---- the engine on a thread ---- */

static void *
run_thread(void *arg)
{
	gnet_engine_run(arg);
	return NULL;
}

static gnet_engine_t *
kernel_engine(void)
{
	gnet_events_t ev = { .size = sizeof ev };
	gnet_options_t opt = { .size = sizeof opt, .num_loops = LOOPS,
	    .no_pin = 1 };
	gnet_engine_t *eng = NULL;

	memset(&rec, 0, sizeof rec);
	ck_assert_int_eq(pipe2(pipefd, O_NONBLOCK | O_CLOEXEC), 0);
	ck_assert_int_eq(gnet__engine_create(&eng, &ev, &opt, NULL,
	    only_test_ext, 1), 0);
	return eng;
}

START_TEST(test_kernel_runs_a_foreign_kind)
{
	gnet_engine_t *eng = kernel_engine();
	pthread_t th;
	gnet_msg_t ping = { .type = T_PING };
	gnet_msg_t owned = { .type = T_OWNED, .a = 0xfeedu };

	ck_assert_int_eq(ld(&rec.engine_inits), 1);
	ck_assert_int_eq(ld(&rec.loop_inits), LOOPS);
	ck_assert_int_eq(pthread_create(&th, NULL, run_thread, eng), 0);
	TN_WAIT_UNTIL(gnet_engine_is_running(eng) &&
	    atomic_load(&rec.enters) == LOOPS, WAIT_MS);
	ck_assert_int_eq(ld(&rec.starts), 1);
	ck_assert_int_eq(ld(&rec.enters), LOOPS);

	/* The poller reports the pipe to the kind's io, on loop 0. */
	ck_assert_int_eq(write(pipefd[1], "x", 1), 1);
	TN_WAIT_UNTIL(ld(&rec.io_in) >= 1, WAIT_MS);
	ck_assert_int_ge(ld(&rec.io_in), 1);

	/* Messages to it reach the kind's receive: a type of the
	 * extension's range, sent by the kernel's router from this
	 * (foreign) thread. */
	ping.to = atomic_load(&rec.watcher);
	ck_assert_int_eq(gnet__send(eng, &ping), 0);
	TN_WAIT_UNTIL(ld(&rec.pings) == 1, WAIT_MS);
	ck_assert_int_eq(ld(&rec.pings), 1);

	/* A message of a type with a drop, to a handle that names no
	 * actor (a slot of loop 1 never allocated): dropped on arrival,
	 * and its drop gets what it owned. */
	owned.to = gnet__handle_make(1, 1000, 1);
	ck_assert_int_eq(gnet__send(eng, &owned), 0);
	TN_WAIT_UNTIL(ld(&rec.drops) == 1, WAIT_MS);
	ck_assert_int_eq(ld(&rec.drops), 1);
	ck_assert_int_eq(ld(&rec.dropped_ok), 1);

	/* The FLUSH hook ran once per loop, when due, and not again. */
	ck_assert_int_eq(ld(&rec.hook_runs), LOOPS);

	ck_assert_int_eq(gnet_engine_stop(eng), 0);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert_int_eq(ld(&rec.stop_begins), LOOPS);
	ck_assert_int_eq(ld(&rec.exits), LOOPS);
	ck_assert_int_eq(ld(&rec.stoppeds), 1);
	/* The loop ended the actor through its kind. */
	ck_assert_int_eq(ld(&rec.stops), 1);
	ck_assert_int_eq(ld(&rec.wrong_thread), 0);
	ck_assert_int_eq(ld(&rec.receives), 1);
	gnet_engine_free(eng);
	ck_assert_int_eq(ld(&rec.loop_frees), LOOPS);
	ck_assert_int_eq(ld(&rec.engine_frees), 1);
	close(pipefd[0]);
	close(pipefd[1]);
}
END_TEST

/* Messages still in flight at stop are dropped through their type. */
START_TEST(test_in_flight_at_stop_dropped_by_type)
{
	gnet_engine_t *eng = kernel_engine();
	gnet_msg_t owned = { .type = T_OWNED, .a = 0xfeedu };

	/* Sent before the engine ever runs: still in the inbox ring when
	 * the never-run engine is freed. */
	owned.to = gnet__handle_make(1, 0, 1);
	ck_assert_int_eq(gnet__send(eng, &owned), 0);
	ck_assert_int_eq(ld(&rec.drops), 0);
	gnet_engine_free(eng);
	ck_assert_int_eq(ld(&rec.drops), 1);
	ck_assert_int_eq(ld(&rec.dropped_ok), 1);
	close(pipefd[0]);
	close(pipefd[1]);
}
END_TEST

START_TEST(test_msgtype_ranges)
{
	static const gnet__msgtype_t defs[4];
	gnet_engine_t *eng = kernel_engine();
	int i, rc = 0;

	/* The test extension holds [200, 202); the kernel [1, 16). */
	ck_assert_int_eq(gnet__msgtypes_claim(eng, 201, 2, defs), GNET_EINVAL);
	ck_assert_int_eq(gnet__msgtypes_claim(eng, 10, 1, defs), GNET_EINVAL);
	ck_assert_int_eq(gnet__msgtypes_claim(eng, 0, 1, defs), GNET_EINVAL);
	ck_assert_int_eq(gnet__msgtypes_claim(eng, GNET_MSG_USER - 1, 2, defs),
	    GNET_EINVAL);
	ck_assert_int_eq(gnet__msgtypes_claim(eng, 300, 0, defs), GNET_EINVAL);
	ck_assert_int_eq(gnet__msgtypes_claim(eng, 202, 2, defs), 0);
	ck_assert_ptr_eq(gnet__msgtype(eng, 203), &defs[1]);
	ck_assert_ptr_null(gnet__msgtype(eng, 204));
	ck_assert_ptr_null(gnet__msgtype(eng, GNET_MSG_USER));
	ck_assert_str_eq(gnet__msgtype(eng, T_OWNED)->name, "owned");
	/* Ranges are bounded: claiming on ends in GNET_ELIMIT. */
	for (i = 0; i < GNET__MSGTYPE_RANGES && rc == 0; i++)
		rc = gnet__msgtypes_claim(eng, 400 + (uint32_t)i * 4, 4, defs);
	ck_assert_int_eq(rc, GNET_ELIMIT);
	gnet_engine_free(eng);
	close(pipefd[0]);
	close(pipefd[1]);
}
END_TEST

static Suite *
kinds_suite(void)
{
	Suite *s = suite_create("kinds");
	TCase *tc = tn_tcase("kinds", TCASE_TIMEOUT_S);

	tcase_add_test(tc, test_kernel_runs_a_foreign_kind);
	tcase_add_test(tc, test_in_flight_at_stop_dropped_by_type);
	tcase_add_test(tc, test_msgtype_ranges);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tn_run_suite(kinds_suite());
}
