/*
 * Message routing: where a send goes depends only on who sends.
 *
 *   same loop     -> straight into the actor's mailbox (no atomics);
 *   another loop  -> the SPSC ring from this loop, or its overflow FIFO
 *                    when the ring is full (never blocks, never drops);
 *   foreign thread-> the destination's MPSC ring; when full it waits with
 *                    backoff or returns GNET_EAGAIN (send_policy).
 *
 * Cross-thread sends then wake the destination loop (coalesced).
 */
#include <sched.h>
#include <time.h>
#include <ck_pr.h>
#include "kernel/kernel.h"

/* Foreign senders back off from spinning to yielding to short sleeps: a
 * full ring means the loop is busy, and burning its sibling core helps no
 * one on a 2-core machine. */
#define SEND_SPINS_BEFORE_YIELD 64
#define SEND_YIELDS_BEFORE_SLEEP 64
#define SEND_SLEEP_NS 50000

static int
send_foreign(gnet_engine_t *eng, gnet__inbox_t *in, gnet__waker_t *w,
    const gnet_msg_t *m)
{
	unsigned tries = 0;

	while (!gnet__inbox_push_foreign(in, m)) {
		if (eng->opt.send_policy == GNET_SEND_NOWAIT)
			return GNET_EAGAIN;
		if (atomic_load(&eng->state) == GNET__ENG_STOPPED)
			return GNET_ESHUTDOWN;
		/* The ring is full, so the loop has work; make sure it is
		 * not asleep regardless. */
		gnet__waker_wake(w);
		tries++;
		if (tries < SEND_SPINS_BEFORE_YIELD) {
			ck_pr_stall();
		} else if (tries < SEND_SPINS_BEFORE_YIELD + SEND_YIELDS_BEFORE_SLEEP) {
			sched_yield();
		} else {
			struct timespec ts = { 0, SEND_SLEEP_NS };
			nanosleep(&ts, NULL);
		}
	}
	gnet__waker_wake(w);
	return 0;
}

int
gnet__send_from_loop(gnet__loop_t *self, gnet__inbox_t *in, int dst,
    gnet__waker_t *w, const gnet_msg_t *m)
{
	int rc = gnet__outbox_send(&self->outbox, &self->pool, in, dst, m);

	if (rc < 0)
		return rc;
	GNET__STAT_ADD(self, msgs_out, 1);
	if (rc == 0)
		GNET__STAT_ADD(self, overflowed, 1);
	else
		gnet__waker_wake(w);
	return 0;
}

int
gnet__send_foreign(gnet_engine_t *eng, gnet__inbox_t *in, gnet__waker_t *w,
    const gnet_msg_t *m)
{
	int rc;

	/* Announce the send before checking the state; the engine sets
	 * STOPPED before it waits for `senders` to reach zero, so either we
	 * see STOPPED or the final drain sees our message. */
	atomic_fetch_add(&eng->senders, 1);
	if (atomic_load(&eng->state) == GNET__ENG_STOPPED)
		rc = GNET_ESHUTDOWN;
	else
		rc = send_foreign(eng, in, w, m);
	atomic_fetch_sub(&eng->senders, 1);
	return rc;
}

int
gnet__send(gnet_engine_t *eng, const gnet_msg_t *m)
{
	unsigned dst_index = gnet__handle_loop(m->to);
	gnet__loop_t *self, *dst;

	self = gnet__self_loop(eng);
	if (dst_index >= GNET__PORT_INDEX_BASE &&
	    dst_index < GNET__PORT_INDEX_BASE + (unsigned)eng->nports)
		return gnet__port_send_in(eng, self,
		    (int)(dst_index - GNET__PORT_INDEX_BASE), m);
	if (m->to == GNET_HANDLE_NONE || dst_index >= (unsigned)eng->nloops)
		return GNET_EINVAL;
	dst = eng->loops[dst_index];
	if (self == dst) {
		if (gnet__slot_lookup(self, m->to) == NULL) {
			GNET__STAT_ADD(self, msgs_dropped, 1);
			return GNET_ESTALE;
		}
		gnet__deliver_local(self, m);
		return 0;
	}
	if (self != NULL)
		return gnet__send_from_loop(self, &dst->inbox, (int)dst_index,
		    &dst->waker, m);
	return gnet__send_foreign(eng, &dst->inbox, &dst->waker, m);
}

int
gnet_actor_send(gnet_engine_t *eng, gnet_handle_t to, const gnet_msg_t *m)
{
	gnet_msg_t copy;

	if (eng == NULL || m == NULL || m->type < GNET_MSG_USER)
		return GNET_EINVAL;
	copy = *m;
	copy.to = to;
	return gnet__send(eng, &copy);
}

int
gnet_actor_send_after(gnet_engine_t *eng, gnet_handle_t to, const gnet_msg_t *m,
    uint64_t delay_ms)
{
	gnet__loop_t *self;
	gnet_msg_t copy;

	if (eng == NULL || m == NULL || m->type < GNET_MSG_USER)
		return GNET_EINVAL;
	if (gnet__handle_loop(to) >= (unsigned)eng->nloops)
		return GNET_EINVAL;
	self = gnet__self_loop(eng);
	if (self == NULL || (unsigned)self->index != gnet__handle_loop(to))
		return GNET_ETHREAD;
	if (gnet__slot_lookup(self, to) == NULL)
		return GNET_ESTALE;
	copy = *m;
	copy.to = to;
	return gnet__loop_timer(self, gnet__now_ns() + delay_ms * GNET__NS_PER_MS,
	    &copy);
}

int
gnet__loop_call(gnet_engine_t *eng, int index, gnet__hook_fn fn, void *arg)
{
	/* Addressed to no slot: deliver_local runs it before any lookup. */
	gnet_msg_t m = {
		.to = gnet__handle_make((unsigned)index, GNET__MAX_SLOTS - 1, 0),
		.type = GNET__MSG_LOOP_CALL,
		.a = (uint64_t)(uintptr_t)fn,
		.b = (uint64_t)(uintptr_t)arg,
	};

	if (index < 0 || index >= eng->nloops)
		return GNET_EINVAL;
	if (gnet__self_loop(eng) == eng->loops[index]) {
		fn(eng->loops[index], arg);
		return 0;
	}
	return gnet__send(eng, &m);
}
