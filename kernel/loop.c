/*
 * The event loop: one thread, one poller, one actor scheduler.
 *
 * One iteration:
 *   1. START hooks; move parked overflow into peer rings, drain the inbox
 *      rings into actor mailboxes, fire due timers, run queued actors;
 *   2. FLUSH hooks (e.g. send what handlers wrote);
 *   3. sleep in the poller -- for 0 ms if work is left, otherwise until
 *      the next timer -- using the coalesced wakeup protocol;
 *   4. POLLED hooks, then hand each I/O event to its actor's kind.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "gnetstats.h"
#include "kernel/kernel.h"
#include "kernel/poller_epoll.h"

_Thread_local gnet__loop_t *gnet__tls_loop GNET__TLS_IE;

uint64_t
gnet__now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * GNET__NS_PER_S + (uint64_t)ts.tv_nsec;
}

int
gnet__loop_new(gnet_engine_t *eng, int index, gnet__loop_t **out)
{
	gnet__loop_t *l;
	unsigned ring = eng->opt.mailbox_ring_size;
	int rc;

	/* Aligned (the type is) so that the fields producers touch (waker,
	 * inbox) keep to cache lines of their own. */
	l = aligned_alloc(GNET__CACHE_PAIR, sizeof(*l));
	if (l == NULL)
		return GNET_ENOMEM;
	memset(l, 0, sizeof(*l));
	l->eng = eng;
	l->index = index;
	l->cpu = -1;
	l->poller.fd = -1;
	l->waker.efd = -1;
	l->free_head = GNET__NO_SLOT;
	l->runq_head = l->runq_tail = GNET__NO_SLOT;
	l->stats = gnet__seg_loop(eng, index);
	l->actor_rows = gnet__seg_actors(eng, index);
	gnet__msgpool_init(&l->pool);
	gnet__timers_init(&l->timers);

	rc = gnet__inbox_init(&l->inbox, eng->nloops, index, ring,
	    ring * GNET__FOREIGN_RING_FACTOR);
	l->inbox.gauges = l->stats->ring;
	if (rc == 0)
		rc = gnet__outbox_init(&l->outbox,
		    eng->nloops + GNET__MAX_PORTS, index);
	if (rc == 0)
		rc = gnet__waker_init(&l->waker);
	if (rc == 0) {
		rc = gnet__poller_open(&l->poller, l->waker.efd,
		    eng->opt.backend);
	}
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
	if (l->poller.ops != NULL)
		l->poller.ops->close(&l->poller);
	gnet__waker_destroy(&l->waker);
	gnet__inbox_destroy(&l->inbox);
	gnet__outbox_destroy(&l->outbox);
	gnet__msgpool_destroy(&l->pool);
	gnet__timers_destroy(&l->timers);
	free(l->slots);
	free(l);
}

uint32_t
gnet__loop_hook(gnet__loop_t *l, enum gnet__phase p, gnet__hook_fn fn,
    void *arg)
{
	unsigned k = l->nhooks[p];

	if (k == GNET__PHASE_HOOKS || fn == NULL)
		return 0;
	l->hooks[p][k].fn = fn;
	l->hooks[p][k].arg = arg;
	l->nhooks[p]++;
	return (uint32_t)1 << (p * GNET__PHASE_HOOKS + k);
}

/* Run the due hooks of phase p (the caller checked some are due). */
static void
run_hooks(gnet__loop_t *l, enum gnet__phase p)
{
	uint32_t todo = (l->due & GNET__PHASE_BITS(p)) >> (p * GNET__PHASE_HOOKS);

	l->due &= ~GNET__PHASE_BITS(p);
	while (todo != 0) {
		unsigned k = (unsigned)__builtin_ctz(todo);

		todo &= todo - 1;
		l->hooks[p][k].fn(l, l->hooks[p][k].arg);
	}
}

static void
deliver_cb(void *ctx, const gnet_msg_t *m)
{
	gnet__deliver_local(ctx, m);
}

void
gnet__wake_mask(gnet_engine_t *eng, uint64_t mask)
{
	int d;

	for (d = 0; mask != 0 && d < eng->nloops + eng->nports; d++,
	    mask >>= 1) {
		if ((mask & 1) == 0)
			continue;
		if (d < eng->nloops)
			gnet__waker_wake(&eng->loops[d]->waker);
		else if (eng->ports[d - eng->nloops] != NULL)
			gnet__port_wake(eng->ports[d - eng->nloops]);
	}
}

/* Returns true when the inbox still holds messages past this turn's budget. */
static bool
process_messages(gnet__loop_t *l)
{
	uint64_t moved = 0, was_full = 0;
	bool more = false;
	gnet_msg_t m;

	/* Each step is called only when it has something to do: most
	 * iterations have no mail, no parked messages and no queued actor. */
	if (l->outbox.parked != 0)
		gnet__outbox_flush(&l->outbox, &l->pool, l->eng->inboxes, &moved);
	if (l->due & GNET__PHASE_BITS(GNET__PHASE_START))
		run_hooks(l, GNET__PHASE_START);
	if (gnet__inbox_nonempty(&l->inbox))
		gnet__inbox_drain(&l->inbox, GNET__INBOX_BUDGET, deliver_cb, l,
		    &more, &was_full);
	/* Wake receivers of moved overflow, and senders whose full ring we
	 * just made room in. */
	if ((moved | was_full) != 0)
		gnet__wake_mask(l->eng, moved | was_full);
	/* The clock is read here only when a timer may be due (and after
	 * the wait only when stamp_wakeups asks): a vDSO read costs as much
	 * as a small message. */
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

	/* A FLUSH hook due again after the flush ran -- a budget check's
	 * aborts, a send the ring refused -- has work for this turn. */
	if (more || l->runq_head != GNET__NO_SLOT ||
	    (l->due & (GNET__PHASE_BITS(GNET__PHASE_POLLED) |
	    GNET__PHASE_BITS(GNET__PHASE_FLUSH))) != 0)
		return 0;
	/* The loop wakes at least once a stats interval: to sweep after
	 * activity, and so an idle loop notices a reader that has come to
	 * watch it (kernel/stats_sweep.c). */
	t = (int)l->sweep_ms;
	if (l->timers.len != 0) {
		int due = gnet__timers_timeout_ms(&l->timers, gnet__now_ns());
		if (due < t)
			t = due;
	}
	if (l->outbox.parked != 0 && (t < 0 || t > GNET__OVERFLOW_RETRY_MS))
		t = GNET__OVERFLOW_RETRY_MS;
	if (l->stopping && (t < 0 || t > GNET__STOP_POLL_MS))
		t = GNET__STOP_POLL_MS;
	return t;
}

/* Start loading the slot entry of the next event while this one is
 * served: with a thousand actors the slot table does not stay cached. */
static inline void
prefetch_slot(const gnet__loop_t *l, gnet_handle_t h)
{
	uint32_t i = gnet__handle_slot(h);

	if (i < l->nslots)
		__builtin_prefetch(&l->slots[i]);
}

/* The wait: epoll's inline (kernel/poller_epoll.h), any other backend's
 * through its table. */
static inline int
poll_wait(gnet__poller_t *p, gnet__pevent_t *out, int32_t *res, int max,
    int timeout_ms)
{
	if (p->ops == &gnet__poller_epoll)
		return gnet__epoll_wait(p, out, max, timeout_ms);
	return p->ops->wait(p, out, res, max, timeout_ms);
}

/* Hand one event to its actor; returns its slot's index, or
 * GNET__NO_SLOT when there was none. */
static inline uint32_t
dispatch(gnet__loop_t *l, const gnet__pevent_t *ev, const int32_t *res)
{
	gnet__slot_t *s;

	if (ev->tag == GNET__POLL_WAKER_TAG) {
		if (!(ev->events & GNET__POLL_DONE))
			gnet__waker_drain(&l->waker);
		GNET__STAT_ADD(l, wakeups, 1);
		return GNET__NO_SLOT;
	}
	/* A stale tag (the actor ended earlier in this batch) finds no
	 * slot and is ignored. */
	s = gnet__slot_lookup(l, ev->tag);
	if (s == NULL)
		return GNET__NO_SLOT;
	s->handled++;
	s->kind->io(l, s, ev->events,
	    (ev->events & GNET__POLL_DONE) ? *res : 0);
	return gnet__handle_slot(ev->tag);
}

/* Dispatch a turn's events and charge each actor the cycles its event
 * took, times GNET__TIMED_TURN (only that share of turns is timed). */
static __attribute__((noinline)) void
dispatch_timed(gnet__loop_t *l, const gnet__pevent_t *events,
    const int32_t *results, int n, uint64_t start)
{
	int i;

	for (i = 0; i < n; i++) {
		uint32_t k;
		uint64_t now;

		if (i + 1 < n)
			prefetch_slot(l, events[i + 1].tag);
		k = dispatch(l, &events[i], &results[i]);
		now = gnet__cycles();
		/* The table may have moved (an actor spawned); a slot freed
		 * meanwhile is charged harmlessly: allocation resets it. */
		if (k != GNET__NO_SLOT)
			l->slots[k].busy += (now - start) * GNET__TIMED_TURN;
		start = now;
	}
}

static void
begin_stop(gnet__loop_t *l)
{
	int linger = l->eng->opt.linger_ms;
	int i;

	l->stopping = true;
	l->stop_deadline_ns = gnet__now_ns() +
	    (uint64_t)(linger > 0 ? linger : 0) * GNET__NS_PER_MS;
	for (i = 0; i < l->eng->nexts; i++)
		if (l->eng->exts[i]->stop_begin != NULL)
			l->eng->exts[i]->stop_begin(l);
}

/* A stopping loop exits once every extension says it is done; past the
 * deadline the extensions end what is left at once. */
static bool
stop_finished(gnet__loop_t *l)
{
	bool forced = gnet__now_ns() >= l->stop_deadline_ns;
	int i;

	for (i = 0; i < l->eng->nexts; i++) {
		const gnet__ext_t *x = l->eng->exts[i];
		if (x->stop_done == NULL || x->stop_done(l))
			continue;
		if (forced && x->stop_force != NULL)
			x->stop_force(l);
		return false;
	}
	return true;
}

/* Rows are swept as a turn begins, showing the actors as the last turn
 * left them. */
static void
maybe_sweep(gnet__loop_t *l, uint64_t now)
{
	int i;

	if (now < l->next_sweep)
		return;
	gnet__stats_sweep(l, now);
	for (i = 0; i < l->eng->nexts; i++)
		if (l->eng->exts[i]->interval != NULL)
			l->eng->exts[i]->interval(l);
}

/* The loop's identity in its row, for inspectors: its thread (whose CPU
 * time /proc tells them) and CPU. */
static void
stats_enter(gnet__loop_t *l, uint64_t now)
{
	GNET__STAT_SET(l, tid, (int32_t)gettid());
	GNET__STAT_SET(l, state, GNET_STATS_LOOP_RUNNING);
	l->next_sweep = now + l->eng->seg.interval_cycles;
	l->sweep_ms = l->eng->opt.stats_interval_ms;
}

static void
thread_hooks(gnet__loop_t *l, bool enter)
{
	int i;

	for (i = 0; i < l->eng->nexts; i++) {
		const gnet__ext_t *x = l->eng->exts[i];
		if (enter && x->thread_enter != NULL)
			x->thread_enter(l);
		else if (!enter && x->thread_exit != NULL)
			x->thread_exit(l);
	}
}

void *
gnet__loop_main(void *arg)
{
	gnet__loop_t *l = arg;
	gnet_engine_t *eng = l->eng;
	gnet__pevent_t events[GNET__POLL_BATCH];
	int32_t results[GNET__POLL_BATCH];

	/* The loop's row, held in a register: the turn's two stores to it
	 * are the whole price of a live turn stamp. */
	gnet__loop_stats_t *const row = l->stats;
	uint64_t turns, now;

	gnet__tls_loop = l;
	stats_enter(l, gnet__cycles());
	thread_hooks(l, true);
	for (;;) {
		bool more;
		int timeout, n, i;

		if (!l->stopping && atomic_load_explicit(&eng->stop_requested,
		    memory_order_acquire))
			begin_stop(l);
		more = process_messages(l);
		if (l->due & GNET__PHASE_BITS(GNET__PHASE_FLUSH))
			run_hooks(l, GNET__PHASE_FLUSH);
		if (l->stopping && stop_finished(l))
			break;
		timeout = sleep_timeout(l, more);
		if (timeout != 0) {
			atomic_store_explicit(&row->state,
			    GNET_STATS_LOOP_WAITING, memory_order_relaxed);
			gnet__waker_prepare_sleep(&l->waker);
			if (gnet__inbox_nonempty(&l->inbox) ||
			    (l->outbox.parked != 0 &&
			    gnet__outbox_can_progress(&l->outbox, eng->inboxes)))
				timeout = 0;
		}
		n = poll_wait(&l->poller, events, results, GNET__POLL_BATCH,
		    timeout);
		gnet__waker_awake(&l->waker);
		atomic_store_explicit(&row->state, GNET_STATS_LOOP_RUNNING,
		    memory_order_relaxed);
		if (l->stamp_wakeups)
			l->now_ns = gnet__now_ns();
		turns = atomic_load_explicit(&row->iterations,
		    memory_order_relaxed) + 1;
		atomic_store_explicit(&row->iterations, turns,
		    memory_order_relaxed);
		if (n <= 0) {
			if (n == -EINTR)
				continue;
			if (n < 0) {
				gnet__log(0, "loop %d: %s wait: %s", l->index,
				    l->poller.ops->name, gnet_strerror(n));
				break;
			}
			/* A wait that timed out, maybe for the sweep. */
			maybe_sweep(l, gnet__cycles());
		}
		/* Work a level-triggered poll would have reported first. */
		if (l->due & GNET__PHASE_BITS(GNET__PHASE_POLLED))
			run_hooks(l, GNET__PHASE_POLLED);
		/* The sampled turn: time its events and see whether the rows
		 * are due. The clock is read only here: once a turn, it would
		 * cost as much as the rest of the turn's bookkeeping. */
		if ((turns & (GNET__TIMED_TURN - 1)) == 0) {
			now = gnet__cycles();
			maybe_sweep(l, now);
			dispatch_timed(l, events, results, n, now);
			continue;
		}
		for (i = 0; i < n; i++) {
			if (i + 1 < n)
				prefetch_slot(l, events[i + 1].tag);
			dispatch(l, &events[i], &results[i]);
		}
	}
	gnet__slots_stop_all(l);
	thread_hooks(l, false);
	if (l->poller.ops->quiesce != NULL)
		l->poller.ops->quiesce(&l->poller);
	/* The last word: rows emptied, privately kept counters final. */
	gnet__stats_sweep(l, gnet__cycles());
	GNET__STAT_SET(l, state, GNET_STATS_LOOP_STOPPED);
	gnet__tls_loop = NULL;
	return NULL;
}
