/*
 * The event loop: one thread, one epoll instance, one actor scheduler.
 *
 * One iteration:
 *   1. move parked overflow into peer rings, drain the inbox rings into
 *      actor mailboxes, fire due timers, run queued actors;
 *   2. flush every connection with pending output (one write each: many
 *      handler writes cost one syscall) and finish pending closes;
 *   3. sleep in epoll_wait -- for 0 ms if work is left, otherwise until the
 *      next timer -- using the coalesced wakeup protocol;
 *   4. dispatch I/O readiness to connections and listeners.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>
#include "kernel/kernel.h"
#include "kernel/sys.h"
#include "net/conn.h"

_Thread_local gnet__loop_t *gnet__tls_loop GNET__TLS_IE;

uint64_t
gnet__now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int
gnet__loop_new(gnet_engine_t *eng, int index, gnet__loop_t **out)
{
	gnet__loop_t *l;
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 0 };
	gnet_handle_t self_handle;
	unsigned ring = eng->opt.mailbox_ring_size;
	int rc;

	l = aligned_alloc(128, sizeof(*l));
	if (l == NULL)
		return GNET_ENOMEM;
	memset(l, 0, sizeof(*l));
	l->eng = eng;
	l->index = index;
	l->cpu = -1;
	l->epfd = -1;
	l->waker.efd = -1;
	l->free_head = GNET__NO_SLOT;
	l->runq_head = l->runq_tail = GNET__NO_SLOT;
	gnet__msgpool_init(&l->pool);
	gnet__timers_init(&l->timers);

	rc = gnet__inbox_init(&l->inbox, eng->nloops, index, ring, ring * 4);
	if (rc == 0)
		rc = gnet__outbox_init(&l->outbox, eng->nloops, index);
	if (rc == 0)
		rc = gnet__waker_init(&l->waker);
	if (rc == 0) {
		l->epfd = epoll_create1(EPOLL_CLOEXEC);
		if (l->epfd < 0)
			rc = -errno;
	}
	/* The eventfd is tagged 0, a value no handle can take. */
	if (rc == 0 && epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->waker.efd, &ev) < 0)
		rc = -errno;
	if (rc == 0) {
		/* One byte over the budget: a read that stops short of the
		 * buffer proves the socket drained, so a peer that sent
		 * exactly the budget (64 KiB: 16 x 4 KiB pipelined) costs
		 * no second read to learn that (net/conn.c, took_read).
		 * Measured at 1000 x 4 KiB x depth 16: 1.226 / 1.290 / 1.238
		 * us of CPU per message without it, 1.218 / 1.283 / 1.208
		 * with it (bench/ab.sh). */
		l->scratch_cap = eng->opt.read_buffer_cap + 1;
		l->scratch = malloc(l->scratch_cap);
		l->blocks = calloc(1, sizeof(*l->blocks));
		if (l->scratch == NULL || l->blocks == NULL)
			rc = GNET_ENOMEM;
	}
	/* Slot 0 is the loop itself, addressed by kernel messages. */
	if (rc == 0)
		rc = gnet__slot_alloc(l, GNET__SLOT_LOOP, l, &self_handle);
	if (rc != 0) {
		gnet__loop_free(l);
		return rc;
	}
	*out = l;
	return 0;
}

void
gnet__loop_free(gnet__loop_t *l)
{
	if (l == NULL)
		return;
	if (l->epfd >= 0)
		close(l->epfd);
	gnet__waker_destroy(&l->waker);
	gnet__inbox_destroy(&l->inbox);
	gnet__outbox_destroy(&l->outbox);
	gnet__msgpool_destroy(&l->pool);
	gnet__timers_destroy(&l->timers);
	gnet__conns_destroy(l);
	free(l->slots);
	free(l->scratch);
	gnet__blockcache_drain(l->blocks);
	free(l->blocks);
	free(l->parked_readers);
	free(l->rereads);
	gnet__udp_free_batch(l);
	free(l);
}

static void
deliver_cb(void *ctx, const gnet_msg_t *m)
{
	gnet__deliver_local(ctx, m);
}

/* Returns true when the inbox still holds messages past this turn's budget. */
static bool
process_messages(gnet__loop_t *l)
{
	uint64_t moved = 0, was_full = 0;
	bool more = false;
	gnet_msg_t m;
	int d;

	/* Each step is called only when it has something to do: most
	 * iterations have no mail, no parked messages and no queued actor.
	 * The calls that found so (here, and the flush and re-read passes
	 * in gnet__loop_main) took an echo server at one connection from
	 * 743 to 639 user-space instructions per message (callgrind,
	 * bench/instr.sh). */
	if (l->outbox.parked != 0)
		gnet__outbox_flush(&l->outbox, &l->pool, l->eng->inboxes, &moved);
	if (l->n_parked_readers != 0 &&
	    l->outbox.parked <= l->eng->opt.max_parked / 4)
		gnet__conns_resume_parked(l);
	if (gnet__inbox_nonempty(&l->inbox))
		gnet__inbox_drain(&l->inbox, GNET__INBOX_BUDGET, deliver_cb, l,
		    &more, &was_full);
	/* Wake receivers of moved overflow, and senders whose full ring we
	 * just made room in. */
	for (d = 0; (moved | was_full) != 0 && d < l->eng->nloops && d < 64; d++)
		if ((moved | was_full) & ((uint64_t)1 << d))
			gnet__waker_wake(&l->eng->loops[d]->waker);
	/* The clock is read here only when a timer may be due, and after
	 * epoll_wait only for idle timeouts: three vDSO reads an iteration
	 * were 0.65% of an echo server's CPU at 1000 connections. */
	if (l->timers.len != 0) {
		l->now_ns = gnet__now_ns();
		while (gnet__timers_pop_due(&l->timers, l->now_ns, &m))
			gnet__deliver_local(l, &m);
	}
	if (l->runq_head != GNET__NO_SLOT)
		gnet__run_actors(l);
	return more;
}

static int
sleep_timeout(gnet__loop_t *l, bool more)
{
	int t;

	if (more || l->runq_head != GNET__NO_SLOT || l->n_rereads != 0)
		return 0;
	t = l->timers.len != 0 ?
	    gnet__timers_timeout_ms(&l->timers, gnet__now_ns()) : -1;
	if (l->outbox.parked != 0 && (t < 0 || t > GNET__OVERFLOW_RETRY_MS))
		t = GNET__OVERFLOW_RETRY_MS;
	return t;
}

/* Start loading the slot entry of the next event while this one is
 * served: with 1000 connections the slot table does not stay cached, and
 * the lookup's miss was 0.4% of an echo server's CPU (c1000/64B/d16). */
static inline void
prefetch_slot(const gnet__loop_t *l, gnet_handle_t h)
{
	uint32_t i = gnet__handle_slot(h);

	if (i < l->nslots)
		__builtin_prefetch(&l->slots[i]);
}

static void
dispatch(gnet__loop_t *l, const struct epoll_event *ev)
{
	gnet__slot_t *s;

	if (ev->data.u64 == 0) {
		gnet__waker_drain(&l->waker);
		GNET__STAT_ADD(l, wakeups, 1);
		return;
	}
	/* A stale tag (the connection closed earlier in this batch) finds
	 * no slot and is ignored. */
	s = gnet__slot_lookup(l, ev->data.u64);
	if (s == NULL)
		return;
	if (s->kind == GNET__SLOT_CONN)
		gnet__conn_event(l, s, ev->events);
	else if (s->kind == GNET__SLOT_LISTENER)
		gnet__listener_accept(l, s->obj);
}

static void
begin_stop(gnet__loop_t *l)
{
	l->stopping = true;
	l->stop_deadline_ns = gnet__now_ns() +
	    (uint64_t)(l->eng->opt.linger_ms > 0 ? l->eng->opt.linger_ms : 0) * 1000000ull;
	/* Stop accepting before the connections drain. */
	gnet__listeners_close(l->eng, l);
	gnet__conns_close_all(l, GNET_ESHUTDOWN);
}

void *
gnet__loop_main(void *arg)
{
	gnet__loop_t *l = arg;
	gnet_engine_t *eng = l->eng;
	struct epoll_event events[GNET__MAX_EVENTS];

	gnet__tls_loop = l;
	gnet__blockcache_bind(l->blocks);
	for (;;) {
		bool more;
		int timeout, n, i;

		if (!l->stopping && atomic_load_explicit(&eng->stop_requested,
		    memory_order_acquire))
			begin_stop(l);
		more = process_messages(l);
		if (l->dirty != NULL)
			gnet__conns_flush(l);
		if (l->stopping) {
			if (GNET__STAT_GET(l, conns) == 0)
				break;
			/* Connections that outlive the deadline are aborted;
			 * their on_close says GNET_ELINGER. */
			if (gnet__now_ns() >= l->stop_deadline_ns)
				gnet__conns_close_all(l, GNET_ELINGER);
		}
		timeout = sleep_timeout(l, more);
		if (l->stopping && (timeout < 0 || timeout > 10))
			timeout = 10;
		if (timeout != 0) {
			gnet__waker_prepare_sleep(&l->waker);
			if (gnet__inbox_nonempty(&l->inbox) ||
			    (l->outbox.parked != 0 &&
			    gnet__outbox_can_progress(&l->outbox, eng->inboxes)))
				timeout = 0;
		}
		n = gnet__sys_epoll_wait(l->epfd, events, GNET__MAX_EVENTS, timeout);
		gnet__waker_awake(&l->waker);
		/* Only idle timeouts stamp I/O with the time (last_io_ns);
		 * timers read the clock themselves, in process_messages. */
		if (eng->opt.idle_timeout_ms > 0)
			l->now_ns = gnet__now_ns();
		GNET__STAT_ADD(l, iterations, 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			gnet__log(0, "loop %d: epoll_wait: %s", l->index,
			    strerror(errno));
			break;
		}
		/* Budget-limited reads of the last iteration first, as a
		 * level-triggered poll would have reported them first. */
		if (l->n_rereads != 0)
			gnet__conns_reread(l);
		for (i = 0; i < n; i++) {
			if (i + 1 < n)
				prefetch_slot(l, events[i + 1].data.u64);
			dispatch(l, &events[i]);
		}
	}
	gnet__stop_all_actors(l);
	gnet__blockcache_bind(NULL);
	gnet__tls_loop = NULL;
	return NULL;
}
