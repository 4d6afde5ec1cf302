/*
 * check_mailbox -- the mailbox layer on its own: ring sizing, the typed
 * SPSC/MPSC transports under real threads, the sender-side overflow FIFO
 * and its order, and the eventfd waker's coalescing.
 *
 * These run without an engine so a failure points at mailbox/ alone.
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mailbox/inbox.h"
#include "mailbox/outbox.h"
#include "mailbox/ring.h"
#include "mailbox/waker.h"
#include "support/testnet.h"

/* Messages per producer in the threaded tests; scaled down under TSan. */
#define PRODUCER_MSGS 200000
#define NPRODUCERS 4
#define THREAD_TEST_TIMEOUT_MS 60000


START_TEST(ring_rejects_bad_sizes)
{
	gnet__ring_t r;
	unsigned bad[] = { 0, 1, 2, 3, 5, 6, 100, 1000 };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_int_eq(gnet__ring_init(&r, bad[i]), GNET_EINVAL);
	ck_assert_int_eq(gnet__ring_init(&r, 4), 0);
	gnet__ring_destroy(&r);
}
END_TEST

START_TEST(ring_capacity_is_size_minus_one)
{
	gnet__ring_t r;
	gnet_msg_t m = { .type = 7 }, out;
	unsigned i;

	ck_assert_int_eq(gnet__ring_init(&r, 8), 0);
	for (i = 0; i < 7; i++) {
		m.a = i;
		ck_assert(gnet__ring_push_sp(&r, &m));
	}
	ck_assert(!gnet__ring_push_sp(&r, &m));
	for (i = 0; i < 7; i++) {
		ck_assert(gnet__ring_pop(&r, &out));
		ck_assert_uint_eq(out.a, i);
		ck_assert_uint_eq(out.type, 7);
	}
	ck_assert(!gnet__ring_pop(&r, &out));
	gnet__ring_destroy(&r);
}
END_TEST

/* ---- threaded: N foreign producers into one MPSC ring of size 4 ---- */

typedef struct {
	gnet__inbox_t *in;
	unsigned id, count;
} producer_arg_t;

static void *
mpsc_producer(void *p)
{
	producer_arg_t *a = p;
	gnet_msg_t m = { .type = 1 };
	unsigned i;

	for (i = 0; i < a->count; i++) {
		m.a = a->id;
		m.b = i;
		while (!gnet__inbox_push_foreign(a->in, &m))
			sched_yield();
	}
	return NULL;
}

typedef struct {
	unsigned next[NPRODUCERS + 1];
	unsigned total;
	int bad;
} sink_t;

static void
sink_fn(void *ctx, const gnet_msg_t *m)
{
	sink_t *s = ctx;

	/* Per-producer FIFO: each producer's sequence must arrive 0,1,2,...
	 * which also rules out loss and duplication. */
	if (m->a > NPRODUCERS || m->b != s->next[m->a])
		s->bad++;
	else
		s->next[m->a]++;
	s->total++;
}

START_TEST(mpsc_many_producers_fifo_no_loss)
{
	gnet__inbox_t in;
	pthread_t th[NPRODUCERS];
	producer_arg_t args[NPRODUCERS];
	sink_t sink = { { 0 }, 0, 0 };
	unsigned count = tn_scaled(PRODUCER_MSGS), i;
	int64_t deadline = tn_now_ms() + THREAD_TEST_TIMEOUT_MS;
	uint64_t full;
	bool more;

	/* The foreign ring is 4 slots: producers hit "full" constantly. */
	ck_assert_int_eq(gnet__inbox_init(&in, 2, 0, 4, 4), 0);
	for (i = 0; i < NPRODUCERS; i++) {
		args[i] = (producer_arg_t){ &in, i, count };
		ck_assert_int_eq(pthread_create(&th[i], NULL, mpsc_producer, &args[i]), 0);
	}
	while (sink.total < count * NPRODUCERS && tn_now_ms() < deadline)
		if (gnet__inbox_drain(&in, 64, sink_fn, &sink, &more, &full) == 0)
			sched_yield();
	for (i = 0; i < NPRODUCERS; i++)
		pthread_join(th[i], NULL);
	ck_assert_int_eq(sink.bad, 0);
	ck_assert_uint_eq(sink.total, count * NPRODUCERS);
	for (i = 0; i < NPRODUCERS; i++)
		ck_assert_uint_eq(sink.next[i], count);
	ck_assert(!gnet__inbox_nonempty(&in));
	gnet__inbox_destroy(&in);
}
END_TEST

/* ---- threaded: loop-to-loop SPSC through the outbox overflow ---- */

typedef struct {
	gnet__inbox_t *dst;
	gnet__inbox_t *const *inboxes;
	unsigned src, count;
	uint64_t parked_max;
} spsc_arg_t;

static void *
outbox_producer(void *p)
{
	spsc_arg_t *a = p;
	gnet__outbox_t ob;
	gnet__msgpool_t pool;
	gnet_msg_t m = { .type = 1 };
	uint64_t moved;
	unsigned i;

	gnet__msgpool_init(&pool);
	gnet__outbox_init(&ob, 2, (int)a->src);
	for (i = 0; i < a->count; i++) {
		m.a = a->src;
		m.b = i;
		/* Never blocks: a full ring parks the message. */
		if (gnet__outbox_send(&ob, &pool, a->dst, 0, &m) < 0)
			abort();
		if (ob.parked > a->parked_max)
			a->parked_max = ob.parked;
		if ((i & 1023) == 0) {
			moved = 0;
			gnet__outbox_flush(&ob, &pool, a->inboxes, &moved);
		}
	}
	do {
		moved = 0;
		if (gnet__outbox_flush(&ob, &pool, a->inboxes, &moved) != 0)
			sched_yield();
	} while (ob.parked != 0);
	gnet__outbox_destroy(&ob);
	gnet__msgpool_destroy(&pool);
	return NULL;
}

START_TEST(outbox_overflow_keeps_order)
{
	gnet__inbox_t in;
	gnet__inbox_t *inboxes[2] = { &in, NULL };
	spsc_arg_t arg;
	pthread_t th;
	sink_t sink = { { 0 }, 0, 0 };
	unsigned count = tn_scaled(PRODUCER_MSGS);
	int64_t deadline = tn_now_ms() + THREAD_TEST_TIMEOUT_MS;
	uint64_t full;
	bool more;

	ck_assert_int_eq(gnet__inbox_init(&in, 2, 0, 4, 4), 0);
	arg = (spsc_arg_t){ &in, inboxes, 1, count, 0 };
	ck_assert_int_eq(pthread_create(&th, NULL, outbox_producer, &arg), 0);
	while (sink.total < count && tn_now_ms() < deadline)
		if (gnet__inbox_drain(&in, 64, sink_fn, &sink, &more, &full) == 0)
			sched_yield();
	pthread_join(th, NULL);
	ck_assert_int_eq(sink.bad, 0);
	ck_assert_uint_eq(sink.total, count);
	/* The overflow path really ran. */
	ck_assert_uint_gt(arg.parked_max, 0);
	gnet__inbox_destroy(&in);
}
END_TEST

START_TEST(outbox_single_thread_order_and_discard)
{
	gnet__inbox_t in;
	gnet__inbox_t *inboxes[2] = { &in, NULL };
	gnet__outbox_t ob;
	gnet__msgpool_t pool;
	gnet_msg_t m = { .type = 1 };
	sink_t sink = { { 0 }, 0, 0 }, discarded = { { 0 }, 0, 0 };
	uint64_t moved = 0;
	unsigned i;
	uint64_t full;
	bool more;

	ck_assert_int_eq(gnet__inbox_init(&in, 2, 0, 4, 4), 0);
	gnet__msgpool_init(&pool);
	ck_assert_int_eq(gnet__outbox_init(&ob, 2, 1), 0);
	m.a = 1;
	for (i = 0; i < 10; i++) {
		m.b = i;
		/* 3 usable slots: the first three go straight in. */
		ck_assert_int_eq(gnet__outbox_send(&ob, &pool, &in, 0, &m), i < 3 ? 1 : 0);
	}
	ck_assert_uint_eq(ob.parked, 7);
	/* Ring full: a flush could not move anything, so the loop may sleep. */
	ck_assert(!gnet__outbox_can_progress(&ob, inboxes));
	gnet__inbox_drain(&in, 64, sink_fn, &sink, &more, &full);
	ck_assert(gnet__outbox_can_progress(&ob, inboxes));
	ck_assert_uint_eq(sink.total, 3);
	/* The ring from loop 1 was full: the consumer learns it must wake
	 * loop 1 to move its parked messages. */
	ck_assert_uint_eq(full, (uint64_t)1 << 1);
	ck_assert_uint_eq(gnet__outbox_flush(&ob, &pool, inboxes, &moved), 4);
	ck_assert_uint_eq(moved, 1);
	/* A new send must queue behind the parked ones, not overtake. */
	gnet__inbox_drain(&in, 64, sink_fn, &sink, &more, &full);
	m.b = 10;
	ck_assert_int_eq(gnet__outbox_send(&ob, &pool, &in, 0, &m), 0);
	while (sink.total < 11) {
		gnet__outbox_flush(&ob, &pool, inboxes, &moved);
		gnet__inbox_drain(&in, 64, sink_fn, &sink, &more, &full);
	}
	ck_assert_int_eq(sink.bad, 0);
	ck_assert_uint_eq(sink.next[1], 11);
	/* Discard hands back everything still parked. */
	for (i = 0; i < 5; i++)
		gnet__outbox_send(&ob, &pool, &in, 0, &m);
	gnet__outbox_discard(&ob, &pool, sink_fn, &discarded);
	ck_assert_uint_eq(ob.parked, 0);
	ck_assert_uint_eq(discarded.total, 2); /* 3 went into the ring */
	gnet__outbox_destroy(&ob);
	gnet__msgpool_destroy(&pool);
	gnet__inbox_destroy(&in);
}
END_TEST

START_TEST(waker_writes_once_per_sleep)
{
	gnet__waker_t w;
	uint64_t v = 0;

	ck_assert_int_eq(gnet__waker_init(&w), 0);
	/* Awake loop: producers never touch the eventfd. */
	ck_assert(!gnet__waker_wake(&w));
	ck_assert_int_lt(read(w.efd, &v, sizeof(v)), 0);
	/* Sleeping loop: exactly one of many producers writes. */
	gnet__waker_prepare_sleep(&w);
	ck_assert(gnet__waker_wake(&w));
	ck_assert(!gnet__waker_wake(&w));
	ck_assert(!gnet__waker_wake(&w));
	ck_assert_int_eq(read(w.efd, &v, sizeof(v)), (int)sizeof(v));
	ck_assert_uint_eq(v, 1);
	gnet__waker_awake(&w);
	gnet__waker_destroy(&w);
}
END_TEST

static Suite *
mailbox_suite(void)
{
	Suite *s = suite_create("mailbox");
	TCase *tc = tn_tcase("rings", 120);
	tcase_add_test(tc, ring_rejects_bad_sizes);
	tcase_add_test(tc, ring_capacity_is_size_minus_one);
	tcase_add_test(tc, mpsc_many_producers_fifo_no_loss);
	tcase_add_test(tc, outbox_overflow_keeps_order);
	tcase_add_test(tc, outbox_single_thread_order_and_discard);
	tcase_add_test(tc, waker_writes_once_per_sleep);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tn_run_suite(mailbox_suite());
}
