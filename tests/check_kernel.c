/*
 * check_kernel -- the actor kernel running in an engine: fan-in from many
 * loops and threads through tiny rings (the overflow path), the lost-wakeup
 * stress, stale handles after slot reuse, timers, spawn rules, the
 * foreign-thread send policies, the loop's buffer block cache.
 *
 * Actors report to the test thread through C11 atomics; every wait is
 * bounded (TN_WAIT_UNTIL), so a lost message or wakeup fails, never hangs.
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/kernel.h"
#include "base/buf.h"
#include "base/sanitizer.h"
#include "support/testnet.h"

#define MSG_DATA (GNET_MSG_USER + 1)
#define MSG_GO (GNET_MSG_USER + 2)
#define MSG_SPAWN (GNET_MSG_USER + 3)
#define MSG_PING (GNET_MSG_USER + 4)

#define FANIN_LOOPS 4          /* loop 0 is the sink, 1..3 produce */
#define FANIN_THREADS 2        /* foreign producers */
#define FANIN_MSGS 100000      /* per producer */
#define WAIT_MS 60000          /* bound for whole phases */


static gnet_options_t
actor_options(int loops, unsigned ring)
{
	gnet_options_t o = { .size = sizeof(gnet_options_t) };

	o.num_loops = loops;
	o.mailbox_ring_size = ring;
	return o;
}

/* Actors a test wants spawned in on_boot: pass an array of these as the
 * engine's udata, ended by an entry whose def.receive is NULL. */
typedef struct {
	int loop;
	gnet_actor_def_t def;
	gnet_handle_t *out;
} boot_spawn_t;

static gnet_action_t
spawn_at_boot(gnet_engine_t *eng, void *udata)
{
	const boot_spawn_t *b;

	for (b = udata; b->def.receive != NULL; b++) {
		gnet_actor_def_t def = b->def;
		def.size = sizeof def;
		ck_assert_int_eq(gnet_actor_spawn(eng, b->loop, &def, b->out), 0);
	}
	return GNET_NONE;
}

/* ------------------------------------------------------------------ */
/* Fan-in: 3 loops and 2 foreign threads into one actor, rings of 4.   */

#define NSOURCES (FANIN_LOOPS - 1 + FANIN_THREADS)

typedef struct {
	unsigned next[NSOURCES];
	atomic_uint total;
	atomic_int bad;
} fanin_sink_t;

typedef struct {
	gnet_handle_t sink;
	unsigned source, count;
} fanin_producer_t;

static void
sink_receive(gnet_actor_t *self, const gnet_msg_t *m)
{
	fanin_sink_t *s = gnet_actor_state(self);

	/* Strictly 0,1,2,... per source: FIFO, no loss, no duplicate. */
	if (m->a >= NSOURCES || m->b != s->next[m->a])
		atomic_fetch_add(&s->bad, 1);
	else
		s->next[m->a]++;
	atomic_fetch_add(&s->total, 1);
}

static void
producer_receive(gnet_actor_t *self, const gnet_msg_t *m)
{
	fanin_producer_t *p = gnet_actor_state(self);
	gnet_msg_t out = { .type = MSG_DATA, .a = p->source };
	unsigned i;

	if (m->type != MSG_GO)
		return;
	/* All at once: with a 4-slot ring nearly all of these park in the
	 * overflow FIFO, and the loop must not block doing it. */
	for (i = 0; i < p->count; i++) {
		out.b = i;
		ck_assert_int_eq(gnet_actor_send(gnet_actor_engine(self), p->sink, &out), 0);
	}
}

typedef struct {
	gnet_engine_t *eng;
	gnet_handle_t sink;
	unsigned source, count;
	int rc;
} thread_producer_t;

static void *
thread_producer(void *arg)
{
	thread_producer_t *t = arg;
	gnet_msg_t out = { .type = MSG_DATA, .a = t->source };
	unsigned i;

	for (i = 0; i < t->count && t->rc == 0; i++) {
		out.b = i;
		t->rc = gnet_actor_send(t->eng, t->sink, &out);
	}
	return NULL;
}

static fanin_sink_t fanin_sink;
static fanin_producer_t fanin_producers[FANIN_LOOPS];
static gnet_handle_t fanin_sink_h, fanin_producer_h[FANIN_LOOPS];

static gnet_action_t
fanin_boot(gnet_engine_t *eng, void *udata)
{
	gnet_actor_def_t sink = { .size = sizeof(gnet_actor_def_t), .receive = sink_receive, .state = &fanin_sink };
	int i;

	(void)udata;
	ck_assert_int_eq(gnet_actor_spawn(eng, 0, &sink, &fanin_sink_h), 0);
	for (i = 1; i < FANIN_LOOPS; i++) {
		gnet_actor_def_t p = { .size = sizeof(gnet_actor_def_t), .receive = producer_receive,
			.state = &fanin_producers[i] };
		fanin_producers[i] = (fanin_producer_t){ fanin_sink_h,
			(unsigned)i - 1, tn_scaled(FANIN_MSGS) };
		ck_assert_int_eq(gnet_actor_spawn(eng, i, &p, &fanin_producer_h[i]), 0);
	}
	return GNET_NONE;
}

START_TEST(fan_in_through_tiny_rings)
{
	gnet_events_t ev = { .size = sizeof(gnet_events_t), .on_boot = fanin_boot };
	gnet_options_t o = actor_options(FANIN_LOOPS, 4);
	thread_producer_t tp[FANIN_THREADS];
	pthread_t th[FANIN_THREADS];
	gnet_msg_t go = { .type = MSG_GO };
	gnet_loop_stats_t st = { .size = sizeof(gnet_loop_stats_t) };
	uint64_t overflowed = 0;
	unsigned count = tn_scaled(FANIN_MSGS), i;
	tn_server_t srv;

	memset(&fanin_sink, 0, sizeof(fanin_sink));
	tn_server_start(&srv, &ev, &o, NULL);
	for (i = 1; i < FANIN_LOOPS; i++)
		ck_assert_int_eq(gnet_actor_send(srv.eng, fanin_producer_h[i], &go), 0);
	for (i = 0; i < FANIN_THREADS; i++) {
		tp[i] = (thread_producer_t){ srv.eng, fanin_sink_h,
			FANIN_LOOPS - 1 + i, count, 0 };
		ck_assert_int_eq(pthread_create(&th[i], NULL, thread_producer, &tp[i]), 0);
	}
	for (i = 0; i < FANIN_THREADS; i++) {
		pthread_join(th[i], NULL);
		ck_assert_int_eq(tp[i].rc, 0);
	}
	TN_WAIT_UNTIL(atomic_load(&fanin_sink.total) >= count * NSOURCES, WAIT_MS);
	ck_assert_uint_eq(atomic_load(&fanin_sink.total), count * NSOURCES);
	ck_assert_int_eq(atomic_load(&fanin_sink.bad), 0);
	for (i = 0; i < NSOURCES; i++)
		ck_assert_uint_eq(fanin_sink.next[i], count);
	for (i = 1; i < FANIN_LOOPS; i++) {
		ck_assert_int_eq(gnet_engine_loop_stats(srv.eng, (int)i, &st), 0);
		overflowed += st.overflowed;
	}
	/* The overflow FIFO really carried traffic. */
	ck_assert_uint_gt(overflowed, 0);
	tn_server_close(&srv);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Lost-wakeup stress: a foreign thread pings an actor on a sleeping    */
/* loop and waits for the ack; a lost wakeup is a ping never acked.     */

/* No ping may wait longer than WAKE_ACK_BOUND_MS, nor the loop take
 * longer to fall asleep. A lost wakeup waits forever, so the bound only
 * has to outlast the machine's hiccups. ThreadSanitizer's are the
 * longest: now and then it stops every thread to reset its state, for
 * seconds on a loaded machine, and the more synchronisation a run does
 * the more often -- so under it a quarter of the rounds, and a minute. */
#ifdef GNET__TSAN
#define WAKE_DIVISOR 4u
#define WAKE_ACK_BOUND_MS 60000
#else
#define WAKE_DIVISOR 1u
#define WAKE_ACK_BOUND_MS 10000
#endif
#define WAKE_CYCLES (1000000u / WAKE_DIVISOR) /* pings sent only once the loop sleeps */
#define WAKE_RACERS (250000u / WAKE_DIVISOR)  /* pings sent at once, racing the sleep */

static atomic_ulong wake_ack;

static void
ack_receive(gnet_actor_t *self, const gnet_msg_t *m)
{
	(void)self;
	atomic_store_explicit(&wake_ack, m->a, memory_order_release);
}

static gnet_handle_t wake_actor;

/* Spin, then yield, until cond or the deadline; returns cond. */
#define SPIN_UNTIL(cond, deadline_ms) \
	({ unsigned spins_ = 0; \
	   while (!(cond) && (++spins_ < 256 || tn_now_ms() < (deadline_ms))) \
		if (spins_ > 64) sched_yield(); \
	   (cond); })

START_TEST(no_lost_wakeups)
{
	gnet_events_t ev = { .size = sizeof(gnet_events_t), .on_boot = spawn_at_boot };
	boot_spawn_t spawn[] = { { 0, { .receive = ack_receive }, &wake_actor }, { 0 } };
	gnet_options_t o = actor_options(1, 0);
	gnet_msg_t ping = { .type = MSG_PING };
	unsigned cycles = tn_scaled(WAKE_CYCLES), racers = tn_scaled(WAKE_RACERS);
	unsigned long i, total = cycles + racers;
	int64_t worst = 0, t0;
	gnet_loop_stats_t before = { .size = sizeof(gnet_loop_stats_t) }, after = { .size = sizeof(gnet_loop_stats_t) };
	tn_server_t srv;
	gnet__loop_t *loop;

	atomic_store(&wake_ack, 0);
	tn_server_start(&srv, &ev, &o, spawn);
	loop = srv.eng->loops[0];
	gnet_engine_loop_stats(srv.eng, 0, &before);
	for (i = 1; i <= total; i++) {
		/* Every fifth ping goes out immediately after the previous ack,
		 * while the loop is on its way to sleep; the rest wait until
		 * it has announced sleeping, so each is a full sleep/wake. */
		if (i % 5 != 0) {
			int64_t dl = tn_now_ms() + WAKE_ACK_BOUND_MS;
			gnet_loop_stats_t s0 = { .size = sizeof(gnet_loop_stats_t) }, s1 = { .size = sizeof(gnet_loop_stats_t) };
			gnet_engine_loop_stats(srv.eng, 0, &s0);
			if (!SPIN_UNTIL(atomic_load(&loop->waker.sleeping) == 1, dl)) {
				/* Tell a loop that spins without sleeping from
				 * one that is stuck. */
				gnet_engine_loop_stats(srv.eng, 0, &s1);
				ck_abort_msg("loop never went to sleep (ping %lu): "
				    "%llu iterations, %llu messages in %d ms",
				    i, (unsigned long long)(s1.iterations - s0.iterations),
				    (unsigned long long)(s1.msgs_in - s0.msgs_in),
				    WAKE_ACK_BOUND_MS);
			}
		}
		ping.a = i;
		t0 = tn_now_ms();
		ck_assert_int_eq(gnet_actor_send(srv.eng, wake_actor, &ping), 0);
		ck_assert_msg(SPIN_UNTIL(atomic_load_explicit(&wake_ack,
		    memory_order_acquire) == i, t0 + WAKE_ACK_BOUND_MS),
		    "ping %lu not delivered within %d ms: lost wakeup", i,
		    WAKE_ACK_BOUND_MS);
		if (tn_now_ms() - t0 > worst)
			worst = tn_now_ms() - t0;
	}
	gnet_engine_loop_stats(srv.eng, 0, &after);
	/* Each waited ping found the loop asleep, so it cost exactly one
	 * eventfd wakeup; racing pings may add more, never fewer. */
	ck_assert_uint_ge(after.wakeups - before.wakeups, total - total / 5);
	ck_assert_uint_ge(after.msgs_in - before.msgs_in, total);
	tn_server_close(&srv);
	fprintf(stderr, "no_lost_wakeups: %lu pings, %lu sleep/wake cycles, "
	    "worst ack %lld ms\n", total,
	    (unsigned long)(after.wakeups - before.wakeups), (long long)worst);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Stale handles: a stopped actor's slot is reused; messages to the old */
/* handle are dropped and counted, never delivered to the new actor.    */

typedef struct {
	atomic_uint received;
	atomic_uint stopped;
} counter_actor_t;

static counter_actor_t victim_state, heir_state;
static gnet_handle_t victim_h, spawner_h;
static _Atomic gnet_handle_t heir_h;
static atomic_uint dropped_seen;

static void
count_receive(gnet_actor_t *self, const gnet_msg_t *m)
{
	counter_actor_t *s = gnet_actor_state(self);

	(void)m;
	atomic_fetch_add(&s->received, 1);
}

static void
count_stop(gnet_actor_t *self)
{
	counter_actor_t *s = gnet_actor_state(self);
	atomic_fetch_add(&s->stopped, 1);
}

static void
spawner_receive(gnet_actor_t *self, const gnet_msg_t *m)
{
	gnet_actor_def_t d = { .size = sizeof(gnet_actor_def_t), .receive = count_receive, .on_stop = count_stop,
		.state = &heir_state };
	gnet_handle_t h;

	if (m->type != MSG_SPAWN)
		return;
	/* Spawning on its own loop is allowed while running. */
	ck_assert_int_eq(gnet_actor_spawn(gnet_actor_engine(self), -1, &d, &h), 0);
	atomic_store(&heir_h, h);
	/* A send to the stale handle from its own loop is refused at once. */
	{
		gnet_msg_t x = { .type = MSG_DATA };
		ck_assert_int_eq(gnet_actor_send(gnet_actor_engine(self), victim_h, &x),
		    GNET_ESTALE);
	}
}

static void
count_dropped(gnet_engine_t *eng, const gnet_msg_t *m, void *udata)
{
	(void)eng;
	(void)udata;
	if (m->type == MSG_DATA && m->to == victim_h)
		atomic_fetch_add(&dropped_seen, 1);
}

#define STALE_MSGS 1000

START_TEST(stale_handle_after_slot_reuse)
{
	gnet_events_t ev = { .size = sizeof(gnet_events_t), .on_boot = spawn_at_boot, .on_dropped = count_dropped };
	boot_spawn_t spawn[] = {
		{ 0, { .receive = spawner_receive }, &spawner_h },
		{ 0, { .receive = count_receive, .on_stop = count_stop,
		    .state = &victim_state }, &victim_h },
		{ 0 } };
	gnet_options_t o = actor_options(2, 0);
	gnet_msg_t m = { .type = MSG_DATA }, spawn_msg = { .type = MSG_SPAWN };
	gnet_loop_stats_t before = { .size = sizeof(gnet_loop_stats_t) }, after = { .size = sizeof(gnet_loop_stats_t) };
	gnet_handle_t h;
	tn_server_t srv;
	int i;

	memset(&victim_state, 0, sizeof(victim_state));
	memset(&heir_state, 0, sizeof(heir_state));
	atomic_store(&heir_h, 0);
	atomic_store(&dropped_seen, 0);
	tn_server_start(&srv, &ev, &o, spawn);

	for (i = 0; i < 10; i++)
		ck_assert_int_eq(gnet_actor_send(srv.eng, victim_h, &m), 0);
	TN_WAIT_UNTIL(atomic_load(&victim_state.received) == 10, WAIT_MS);
	ck_assert_uint_eq(atomic_load(&victim_state.received), 10);

	ck_assert_int_eq(gnet_actor_stop_async(srv.eng, victim_h), 0);
	TN_WAIT_UNTIL(atomic_load(&victim_state.stopped) == 1, WAIT_MS);
	ck_assert_uint_eq(atomic_load(&victim_state.stopped), 1);

	ck_assert_int_eq(gnet_actor_send(srv.eng, spawner_h, &spawn_msg), 0);
	TN_WAIT_UNTIL(atomic_load(&heir_h) != 0, WAIT_MS);
	h = atomic_load(&heir_h);
	ck_assert_uint_ne(h, 0);
	/* Same loop and slot, new generation. */
	ck_assert_uint_eq(gnet__handle_loop(h), gnet__handle_loop(victim_h));
	ck_assert_uint_eq(gnet__handle_slot(h), gnet__handle_slot(victim_h));
	ck_assert_uint_ne(gnet__handle_gen(h), gnet__handle_gen(victim_h));

	gnet_engine_loop_stats(srv.eng, 0, &before);
	for (i = 0; i < STALE_MSGS; i++)
		ck_assert_int_eq(gnet_actor_send(srv.eng, victim_h, &m), 0);
	/* Then one real message to the heir, which must be the only one
	 * it ever gets. */
	ck_assert_int_eq(gnet_actor_send(srv.eng, h, &m), 0);
	TN_WAIT_UNTIL(atomic_load(&heir_state.received) == 1 &&
	    atomic_load(&dropped_seen) == STALE_MSGS, WAIT_MS);
	gnet_engine_loop_stats(srv.eng, 0, &after);
	ck_assert_uint_eq(atomic_load(&dropped_seen), STALE_MSGS);
	ck_assert_uint_eq(atomic_load(&heir_state.received), 1);
	ck_assert_uint_eq(atomic_load(&victim_state.received), 10);
	/* The spawner's local ESTALE send is counted too. */
	ck_assert_uint_ge(after.msgs_dropped - before.msgs_dropped, STALE_MSGS);
	tn_server_close(&srv);
	/* Engine stop ran the heir's on_stop exactly once. */
	ck_assert_uint_eq(atomic_load(&heir_state.stopped), 1);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Timers: gnet_actor_send_after delivers in deadline order, never early.     */

#define MSG_ARM (GNET_MSG_USER + 10)
#define MSG_TICK (GNET_MSG_USER + 11)

static atomic_int timer_order[3];
static atomic_int timer_count;
static atomic_int timer_early;
static int64_t timer_armed_at;

static void
timer_receive(gnet_actor_t *self, const gnet_msg_t *m)
{
	gnet_msg_t t = { .type = MSG_TICK };
	static const int delays[3] = { 60, 20, 40 };
	int i;

	if (m->type == MSG_ARM) {
		timer_armed_at = tn_now_ms();
		for (i = 0; i < 3; i++) {
			t.a = (uint64_t)delays[i];
			ck_assert_int_eq(gnet_actor_send_after(gnet_actor_engine(self),
			    gnet_actor_handle(self), &t, (uint64_t)delays[i]), 0);
		}
		return;
	}
	if (tn_now_ms() - timer_armed_at < (int64_t)m->a)
		atomic_fetch_add(&timer_early, 1);
	i = atomic_fetch_add(&timer_count, 1);
	if (i < 3)
		atomic_store(&timer_order[i], (int)m->a);
}

static gnet_handle_t timer_h;

START_TEST(timers_fire_in_order)
{
	gnet_events_t ev = { .size = sizeof(gnet_events_t), .on_boot = spawn_at_boot };
	boot_spawn_t spawn[] = { { 0, { .receive = timer_receive }, &timer_h }, { 0 } };
	gnet_options_t o = actor_options(1, 0);
	gnet_msg_t arm = { .type = MSG_ARM };
	tn_server_t srv;

	atomic_store(&timer_count, 0);
	atomic_store(&timer_early, 0);
	tn_server_start(&srv, &ev, &o, spawn);
	/* Not from a foreign thread: timers belong to the owner loop. */
	ck_assert_int_eq(gnet_actor_send_after(srv.eng, timer_h, &arm, 1), GNET_ETHREAD);
	ck_assert_int_eq(gnet_actor_send(srv.eng, timer_h, &arm), 0);
	TN_WAIT_UNTIL(atomic_load(&timer_count) == 3, 5000);
	ck_assert_int_eq(atomic_load(&timer_count), 3);
	ck_assert_int_eq(atomic_load(&timer_order[0]), 20);
	ck_assert_int_eq(atomic_load(&timer_order[1]), 40);
	ck_assert_int_eq(atomic_load(&timer_order[2]), 60);
	ck_assert_int_eq(atomic_load(&timer_early), 0);
	tn_server_close(&srv);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Spawn rules and send policies.                                       */

static void
noop_receive(gnet_actor_t *self, const gnet_msg_t *m)
{
	(void)self;
	(void)m;
}

static atomic_int policy_dropped;

static void
policy_on_dropped(gnet_engine_t *eng, const gnet_msg_t *m, void *udata)
{
	(void)eng;
	(void)udata;
	(void)m;
	atomic_fetch_add(&policy_dropped, 1);
}

START_TEST(spawn_rules)
{
	gnet_events_t ev = { .size = sizeof(gnet_events_t) };
	gnet_options_t o = actor_options(2, 0);
	gnet_actor_def_t d = { .size = sizeof(gnet_actor_def_t), .receive = noop_receive }, bad = { 0 };
	gnet_handle_t h;
	tn_server_t srv;

	tn_server_start(&srv, &ev, &o, NULL);
	ck_assert_int_eq(gnet_actor_spawn(srv.eng, 0, &bad, &h), GNET_EINVAL);
	ck_assert_int_eq(gnet_actor_spawn(srv.eng, 0, NULL, &h), GNET_EINVAL);
	ck_assert_int_eq(gnet_actor_spawn(srv.eng, 2, &d, &h), GNET_EINVAL);
	ck_assert_int_eq(gnet_actor_spawn(srv.eng, -1, &d, &h), GNET_EINVAL);
	/* Running engine, foreign thread: the loop owns its table. */
	ck_assert_int_eq(gnet_actor_spawn(srv.eng, 0, &d, &h), GNET_ETHREAD);
	tn_server_close(&srv);
}
END_TEST

START_TEST(nowait_policy_reports_full_mailbox)
{
	gnet_events_t ev = { .size = sizeof(gnet_events_t), .on_dropped = policy_on_dropped };
	gnet_options_t o = actor_options(1, 4);
	gnet_actor_def_t d = { .size = sizeof(gnet_actor_def_t), .receive = noop_receive };
	gnet_msg_t m = { .type = MSG_DATA };
	gnet_engine_t *eng;
	gnet_handle_t h;
	int i;

	atomic_store(&policy_dropped, 0);
	o.send_policy = GNET_SEND_NOWAIT;
	ck_assert_int_eq(gnet_engine_new(&eng, &ev, &o, NULL), 0);
	ck_assert_int_eq(gnet_actor_spawn(eng, 0, &d, &h), 0);
	/* Not running: nothing drains the 16-slot foreign ring (15 usable). */
	for (i = 0; i < 15; i++)
		ck_assert_int_eq(gnet_actor_send(eng, h, &m), 0);
	ck_assert_int_eq(gnet_actor_send(eng, h, &m), GNET_EAGAIN);
	/* Freeing an engine that never ran hands queued messages back. */
	gnet_engine_free(eng);
	ck_assert_int_eq(atomic_load(&policy_dropped), 15);
}
END_TEST

START_TEST(bad_options_rejected)
{
	gnet_events_t ev = { .size = sizeof(gnet_events_t) };
	gnet_options_t o = { .size = sizeof(gnet_options_t) };
	gnet_engine_t *eng = NULL;

	memset(&o, 0, sizeof(o));
	o.mailbox_ring_size = 6;
	ck_assert_int_eq(gnet_engine_new(&eng, &ev, &o, NULL), GNET_EINVAL);
	memset(&o, 0, sizeof(o));
	o.write_high_watermark = 1000;
	o.write_low_watermark = 2000;
	ck_assert_int_eq(gnet_engine_new(&eng, &ev, &o, NULL), GNET_EINVAL);
	ck_assert_int_eq(gnet_engine_new(&eng, NULL, NULL, NULL), GNET_EINVAL);
	ck_assert_int_eq(gnet_engine_new(NULL, &ev, NULL, NULL), GNET_EINVAL);
	ck_assert_ptr_null(eng);
}
END_TEST


/* ------------------------------------------------------------------ */
/* Parked-message cap: a connection whose handler floods a stalled      */
/* loop stops being read once max_parked messages wait in the outbox,  */
/* and resumes, losing nothing, when the receiver catches up.          */

#define PARK_CAP 1000u
#define PARK_READ_CAP 1024u
#define PARK_BYTES (256u * 1024)
#define PARK_GATE_MS 30000

static atomic_int park_gate;          /* 0: the sink loop is stalled */
static atomic_uint park_received, park_bad;
static atomic_size_t park_consumed, park_max_parked;
static gnet_handle_t park_sink;
static unsigned park_next;

static void
park_sink_receive(gnet_actor_t *self, const gnet_msg_t *m)
{
	int64_t dl = tn_now_ms() + PARK_GATE_MS;

	(void)self;
	/* Stall this loop (bounded) until the test opens the gate. */
	while (!atomic_load(&park_gate) && tn_now_ms() < dl)
		sched_yield();
	if (m->a != park_next)
		atomic_fetch_add(&park_bad, 1);
	park_next = (unsigned)m->a + 1;
	atomic_fetch_add(&park_received, 1);
}

static gnet_action_t
park_traffic(gnet_conn_t *c, void *udata)
{
	static unsigned seq; /* loop 0 only */
	gnet_msg_t m = { .type = MSG_DATA };
	const void *p;
	size_t n = gnet_conn_peek(c, &p), i;

	(void)udata;
	/* One message per byte, all to the stalled loop. */
	for (i = 0; i < n; i++) {
		m.a = seq++;
		ck_assert_int_eq(gnet_actor_send(gnet_conn_engine(c), park_sink, &m), 0);
	}
	gnet_conn_discard(c, n);
	atomic_fetch_add(&park_consumed, n);
	tn_atomic_max(&park_max_parked, (size_t)gnet__tls_loop->outbox.parked);
	return GNET_NONE;
}

START_TEST(parked_cap_pauses_reading)
{
	gnet_events_t ev = { .size = sizeof(gnet_events_t), .on_boot = spawn_at_boot, .on_traffic = park_traffic };
	boot_spawn_t spawn[] = { { 1, { .receive = park_sink_receive }, &park_sink },
		{ 0 } };
	gnet_options_t o = actor_options(2, 4);
	static unsigned char buf[PARK_BYTES];
	tn_server_t srv;
	int fd;

	atomic_store(&park_gate, 0);
	atomic_store(&park_received, 0);
	atomic_store(&park_bad, 0);
	atomic_store(&park_consumed, 0);
	atomic_store(&park_max_parked, 0);
	park_next = 0;
	o.max_parked = PARK_CAP;
	o.read_buffer_cap = PARK_READ_CAP;
	o.no_pin = 1;
	tn_server_start(&srv, &ev, &o, spawn);
	/* The first connection goes to loop 0 (round-robin from 0). */
	fd = tn_connect(srv.port);
	ck_assert_int_ge(fd, 0);
	/* Loopback socket buffers absorb all of it even if nobody reads. */
	ck_assert_uint_eq(tn_send_all(fd, buf, sizeof(buf), WAIT_MS), sizeof(buf));
	TN_WAIT_UNTIL(atomic_load(&park_consumed) >= PARK_CAP, WAIT_MS);
	ck_assert_uint_ge(atomic_load(&park_consumed), PARK_CAP);
	/* Give a broken cap every chance to read on; a working one never
	 * passes the bound, whatever the timing. */
	TN_WAIT_UNTIL(atomic_load(&park_consumed) == PARK_BYTES, 300);
	ck_assert_uint_le(atomic_load(&park_consumed), PARK_CAP + PARK_READ_CAP);
	ck_assert_uint_lt(atomic_load(&park_max_parked), PARK_CAP + PARK_READ_CAP);

	atomic_store(&park_gate, 1);
	TN_WAIT_UNTIL(atomic_load(&park_received) == PARK_BYTES, WAIT_MS);
	ck_assert_uint_eq(atomic_load(&park_consumed), PARK_BYTES);
	ck_assert_uint_eq(atomic_load(&park_received), PARK_BYTES);
	ck_assert_uint_eq(atomic_load(&park_bad), 0);
	tn_close(&fd);
	tn_server_close(&srv);
}
END_TEST

/* ------------------------------------------------------------------ */
/* An actor that stops while queued (it sent itself a message) must not */
/* unlink the actors queued behind it.                                  */

static gnet_handle_t queue_a, queue_c;
static atomic_int queue_c_got, queue_a_stops;

static void
queue_a_receive(gnet_actor_t *self, const gnet_msg_t *m)
{
	gnet_msg_t x = { .type = MSG_DATA };
	gnet_engine_t *eng = gnet_actor_engine(self);

	if (m->type != MSG_GO)
		return;
	ck_assert_int_eq(gnet_actor_send(eng, queue_a, &x), 0); /* A queued again */
	ck_assert_int_eq(gnet_actor_send(eng, queue_c, &x), 0); /* C behind it */
	gnet_actor_stop(self);                             /* A freed, queued */
}

static void
queue_a_stop(gnet_actor_t *self)
{
	(void)self;
	atomic_fetch_add(&queue_a_stops, 1);
}

static void
queue_c_receive(gnet_actor_t *self, const gnet_msg_t *m)
{
	(void)self;
	(void)m;
	atomic_fetch_add(&queue_c_got, 1);
}


START_TEST(stop_while_queued_keeps_run_queue)
{
	gnet_events_t ev = { .size = sizeof(gnet_events_t), .on_boot = spawn_at_boot };
	boot_spawn_t spawn[] = {
		{ 0, { .receive = queue_a_receive, .on_stop = queue_a_stop }, &queue_a },
		{ 0, { .receive = queue_c_receive }, &queue_c },
		{ 0 } };
	gnet_options_t o = actor_options(1, 0);
	gnet_msg_t go = { .type = MSG_GO }, x = { .type = MSG_DATA };
	tn_server_t srv;

	atomic_store(&queue_c_got, 0);
	atomic_store(&queue_a_stops, 0);
	tn_server_start(&srv, &ev, &o, spawn);
	ck_assert_int_eq(gnet_actor_send(srv.eng, queue_a, &go), 0);
	TN_WAIT_UNTIL(atomic_load(&queue_c_got) == 1, 5000);
	ck_assert_int_eq(atomic_load(&queue_c_got), 1);
	ck_assert_int_eq(atomic_load(&queue_a_stops), 1);
	/* C still schedules normally afterwards. */
	ck_assert_int_eq(gnet_actor_send(srv.eng, queue_c, &x), 0);
	TN_WAIT_UNTIL(atomic_load(&queue_c_got) == 2, 5000);
	ck_assert_int_eq(atomic_load(&queue_c_got), 2);
	tn_server_close(&srv);
}
END_TEST

/* ------------------------------------------------------------------------
 * The loop's block cache (base/buf.h): drained buffers give their 4 KiB
 * block to the bound cache, up to GNET__BLOCKCACHE_MAX, and the next
 * buffers take them back, last in first out; other sizes and unbound
 * threads use malloc and free.
 */
#define CACHE_BUFS (GNET__BLOCKCACHE_MAX + 44)

START_TEST(block_cache_reuses_and_bounds)
{
	static gnet__buf_t bufs[CACHE_BUFS];
	static void *first_blocks[CACHE_BUFS];
	gnet__blockcache_t *bc = calloc(1, sizeof(*bc));
	gnet__buf_t big = { 0 }, unbound = { 0 };

	ck_assert_ptr_nonnull(bc);
	gnet__blockcache_bind(bc);
	for (int i = 0; i < CACHE_BUFS; i++) {
		ck_assert_int_eq(gnet__buf_append(&bufs[i], "0123456789", 10), 0);
		first_blocks[i] = bufs[i].data;
	}
	for (int i = 0; i < CACHE_BUFS; i++)
		gnet__buf_release(&bufs[i]);
	/* Bounded: the rest went back to malloc. */
	ck_assert_uint_eq(bc->n, GNET__BLOCKCACHE_MAX);

	/* Reused, newest first: the first new buffer gets the last block
	 * that fitted in the cache. */
	ck_assert_int_eq(gnet__buf_append(&bufs[0], "x", 1), 0);
	ck_assert_ptr_eq(bufs[0].data, first_blocks[GNET__BLOCKCACHE_MAX - 1]);
	ck_assert_uint_eq(bc->n, GNET__BLOCKCACHE_MAX - 1);
	ck_assert_int_eq(memcmp(bufs[0].data, "x", 1), 0);
	gnet__buf_release(&bufs[0]);
	ck_assert_uint_eq(bc->n, GNET__BLOCKCACHE_MAX);

	/* A buffer that grew past one block frees its bigger block, and
	 * growing took its first block from the cache. */
	{
		static char chunk[3000];
		memset(chunk, 'z', sizeof chunk);
		ck_assert_int_eq(gnet__buf_append(&big, chunk, sizeof chunk), 0);
		ck_assert_uint_eq(bc->n, GNET__BLOCKCACHE_MAX - 1);
		ck_assert_int_eq(gnet__buf_append(&big, chunk, sizeof chunk), 0);
		ck_assert_uint_gt(big.cap, 4096);
		/* the 4 KiB block it outgrew came back */
		ck_assert_uint_eq(bc->n, GNET__BLOCKCACHE_MAX);
		ck_assert_int_eq(big.len, 2 * (int)sizeof chunk);
		ck_assert_int_eq(memcmp(big.data + big.off + 2999, "zz", 2), 0);
		gnet__buf_release(&big);
		ck_assert_uint_eq(bc->n, GNET__BLOCKCACHE_MAX);
	}

	/* Unbound, the thread allocates and frees without the cache. */
	gnet__blockcache_bind(NULL);
	ck_assert_int_eq(gnet__buf_append(&unbound, "y", 1), 0);
	ck_assert_uint_eq(bc->n, GNET__BLOCKCACHE_MAX);
	gnet__buf_release(&unbound);
	ck_assert_uint_eq(bc->n, GNET__BLOCKCACHE_MAX);

	gnet__blockcache_drain(bc);
	ck_assert_uint_eq(bc->n, 0);
	free(bc);
}
END_TEST

static Suite *
kernel_suite(void)
{
	Suite *s = suite_create("kernel");
	TCase *stress = tn_tcase("stress", 300);
	TCase *rules = tn_tcase("rules", 60);

	tcase_add_test(stress, fan_in_through_tiny_rings);
	tcase_add_test(stress, no_lost_wakeups);
	tcase_add_test(stress, stale_handle_after_slot_reuse);
	tcase_add_test(stress, parked_cap_pauses_reading);
	suite_add_tcase(s, stress);
	tcase_add_test(rules, timers_fire_in_order);
	tcase_add_test(rules, spawn_rules);
	tcase_add_test(rules, stop_while_queued_keeps_run_queue);
	tcase_add_test(rules, nowait_policy_reports_full_mailbox);
	tcase_add_test(rules, bad_options_rejected);
	tcase_add_test(rules, block_cache_reuses_and_bounds);
	suite_add_tcase(s, rules);
	return s;
}

int
main(void)
{
	return tn_run_suite(kernel_suite());
}
