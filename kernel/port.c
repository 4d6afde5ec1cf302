/*
 * Ports: mailboxes for threads the engine does not run (gnet.h).
 *
 * A port is built from the loops' own parts. Its inbox is a loop's:
 * one SPSC ring per loop, filled through each loop's outbox (the port is
 * destination nloops + k there, so a full ring parks messages and never
 * blocks a loop), and one MPSC ring for other threads. Its wakeup is a
 * loop's waker, with the owner counted as asleep whenever it is not
 * draining -- the owner blocks in a poller the port does not control, so
 * it is "asleep" from the end of one drain to the start of the next.
 *
 * The wakeup protocol (mailbox/waker.h) with that reading:
 *   owner, ending a drain: sleeping = 1 (seq_cst); re-check the rings;
 *     mail found (or replies still parked) -> wake itself.
 *   producer: push; fence; if sleeping, the exchange 1 -> 0 elects one
 *     writer of the eventfd.
 * A push before the owner's store is seen by its re-check, a push after
 * it sees sleeping = 1: no mail waits without the fd being readable.
 *
 * Replies go into the destination loop's foreign (MPSC) ring. The owner
 * is one thread, but it must not wait on a loop that is busy, so a full
 * ring parks the reply in a per-loop FIFO of the port (kept in order: a
 * FIFO that holds anything takes the next reply too) until a drain finds
 * room.
 */
#include <stdio.h>
#include <stdlib.h>
#include "kernel/kernel.h"
#include "kernel/handle.h"

struct gnet_port {
	gnet_engine_t *eng;
	int index;                 /* k: handle loop GNET_MAX_LOOPS + k */
	gnet_handle_t handle;
	gnet__inbox_t inbox;
	gnet__waker_t waker;
	/* Owner only. */
	gnet__fifo_t *parked;      /* [nloops]: replies waiting for room */
	size_t nparked;
	gnet__msgpool_t pool;
	/* Its stats section, "port<k>" (gnet-top shows it): row 0, written
	 * by the owner alone. NULL when the engine publishes none. */
	gnet_counters_t *counters;
	uint64_t *row;
};

/* The section's counters. */
enum { PC_RECEIVED, PC_SENT, PC_WAITING, PC_PARKED, PC_COUNT };
static const char *const port_counter_names[PC_COUNT] = {
	[PC_RECEIVED] = "received",     /* messages drained */
	[PC_SENT] = "sent",             /* replies sent */
	[PC_WAITING] = "waiting",       /* mail left after the last drain */
	[PC_PARKED] = "parked",         /* replies waiting for room now */
};

int
gnet_port_new(gnet_engine_t *eng, gnet_port_t **out)
{
	gnet_port_t *p;
	unsigned ring;
	int rc;

	if (eng == NULL || out == NULL)
		return GNET_EINVAL;
	*out = NULL;
	if (atomic_load(&eng->state) != GNET__ENG_NEW)
		return GNET_ESTATE;
	/* The outbox names a port by bit nloops + k of a 64-bit mask. */
	if (eng->nports == GNET__MAX_PORTS ||
	    eng->nloops + eng->nports >= GNET__LOOP_MASK_BITS)
		return GNET_ELIMIT;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return GNET_ENOMEM;
	p->eng = eng;
	p->index = eng->nports;
	p->handle = gnet__handle_make(GNET__PORT_INDEX_BASE + (unsigned)p->index,
	    0, 1);
	p->waker.efd = -1;
	gnet__msgpool_init(&p->pool);
	ring = eng->opt.mailbox_ring_size;
	/* self = -1: every loop has a ring of its own here. */
	rc = gnet__inbox_init(&p->inbox, eng->nloops, -1, ring,
	    ring * GNET__FOREIGN_RING_FACTOR);
	if (rc == 0)
		rc = gnet__waker_init(&p->waker);
	if (rc == 0) {
		p->parked = calloc((size_t)eng->nloops, sizeof(*p->parked));
		if (p->parked == NULL)
			rc = GNET_ENOMEM;
	}
	if (rc != 0) {
		gnet__inbox_destroy(&p->inbox);
		gnet__waker_destroy(&p->waker);
		free(p);
		return rc;
	}
	if (rc == 0) {
		char section[16];

		snprintf(section, sizeof(section), "port%d", p->index);
		if (gnet_counters_new(eng, section, port_counter_names, PC_COUNT,
		    &p->counters) == 0)
			p->row = gnet_counters_row(p->counters, 0);
	}
	/* Asleep until its first drain: the first message writes the fd. */
	atomic_store(&p->waker.sleeping, 1);
	eng->ports[p->index] = p;
	eng->inboxes[eng->nloops + p->index] = &p->inbox;
	eng->nports++;
	*out = p;
	return 0;
}

gnet_handle_t
gnet_port_handle(const gnet_port_t *p)
{
	return p != NULL ? p->handle : GNET_HANDLE_NONE;
}

int
gnet_port_fd(const gnet_port_t *p)
{
	return p != NULL ? p->waker.efd : GNET_EINVAL;
}

void
gnet_port_ack(gnet_port_t *p)
{
	if (p != NULL)
		gnet__waker_drain(&p->waker);
}

int
gnet__port_send_in(gnet_engine_t *eng, gnet__loop_t *self, int k,
    const gnet_msg_t *m)
{
	gnet_port_t *p = eng->ports[k];

	if (p == NULL)
		return GNET_ESTALE;
	if (gnet__handle_gen(m->to) != 1 || gnet__handle_slot(m->to) != 0)
		return GNET_EINVAL;
	if (self != NULL)
		return gnet__send_from_loop(self, &p->inbox, eng->nloops + k,
		    &p->waker, m);
	return gnet__send_foreign(eng, &p->inbox, &p->waker, m);
}

void
gnet__port_wake(gnet_port_t *p)
{
	gnet__waker_wake(&p->waker);
}

/* Move parked replies into their loops' rings while there is room. */
static void
flush_parked(gnet_port_t *p)
{
	int d;

	for (d = 0; d < p->eng->nloops && p->nparked != 0; d++) {
		gnet__fifo_t *q = &p->parked[d];
		gnet__loop_t *l = p->eng->loops[d];
		bool moved = false;

		while (gnet__fifo_peek(q) != NULL &&
		    gnet__inbox_push_foreign(&l->inbox,
		    &gnet__fifo_peek(q)->msg)) {
			gnet__msgpool_put(&p->pool, gnet__fifo_pop(q));
			p->nparked--;
			moved = true;
		}
		if (moved)
			gnet__waker_wake(&l->waker);
	}
}

unsigned
gnet_port_drain(gnet_port_t *p, unsigned budget, gnet_port_fn fn,
    void *udata)
{
	uint64_t was_full = 0;
	unsigned n = 0;
	bool more = false;

	if (p == NULL || fn == NULL)
		return 0;
	if (p->nparked != 0)
		flush_parked(p);
	/* Nothing written since the last drain's re-arm: no mail. */
	if (atomic_load_explicit(&p->waker.sleeping, memory_order_relaxed) &&
	    p->nparked == 0)
		return 0;
	atomic_store_explicit(&p->waker.sleeping, 0, memory_order_relaxed);
	if (budget != 0 && gnet__inbox_nonempty(&p->inbox)) {
		/* The inbox drains per ring; spread the budget over them. */
		unsigned per_ring = budget / (unsigned)(p->eng->nloops + 1);

		n = gnet__inbox_drain(&p->inbox, per_ring != 0 ? per_ring : 1,
		    (gnet__inbox_fn)fn, udata, &more, &was_full);
		/* Bit k: loop k found its ring here full and parked. */
		if (was_full != 0)
			gnet__wake_mask(p->eng, was_full);
	}
	gnet__waker_prepare_sleep(&p->waker);
	if (more || p->nparked != 0 || gnet__inbox_nonempty(&p->inbox))
		gnet__waker_wake(&p->waker);
	if (p->row != NULL) {
		GNET_COUNTER_ADD(p->row, PC_RECEIVED, n);
		__atomic_store_n(&p->row[PC_WAITING], more ?
		    (uint64_t)gnet_port_waiting(p) - p->nparked : 0,
		    __ATOMIC_RELAXED);
		__atomic_store_n(&p->row[PC_PARKED], p->nparked,
		    __ATOMIC_RELAXED);
	}
	return n;
}

int
gnet_port_send(gnet_port_t *p, gnet_handle_t to, const gnet_msg_t *m)
{
	unsigned d = gnet__handle_loop(to);
	gnet_msg_t copy;
	gnet__node_t *n;
	gnet__loop_t *l;

	if (p == NULL || m == NULL || m->type < GNET_MSG_USER ||
	    to == GNET_HANDLE_NONE || d >= (unsigned)p->eng->nloops)
		return GNET_EINVAL;
	if (atomic_load(&p->eng->state) == GNET__ENG_STOPPED)
		return GNET_ESHUTDOWN;
	copy = *m;
	copy.to = to;
	copy.from = p->handle;
	l = p->eng->loops[d];
	if (p->row != NULL)
		GNET_COUNTER_ADD(p->row, PC_SENT, 1);
	if (p->parked[d].len == 0 &&
	    gnet__inbox_push_foreign(&l->inbox, &copy)) {
		gnet__waker_wake(&l->waker);
		return 0;
	}
	n = gnet__msgpool_get(&p->pool);
	if (n == NULL)
		return GNET_ENOMEM;
	n->msg = copy;
	gnet__fifo_push(&p->parked[d], n);
	p->nparked++;
	/* Come back soon to move it. */
	gnet__waker_wake(&p->waker);
	return 0;
}

size_t
gnet_port_waiting(const gnet_port_t *p)
{
	size_t n;
	int i;

	if (p == NULL)
		return 0;
	n = p->nparked + gnet__ring_depth(&p->inbox.foreign);
	for (i = 0; i < p->inbox.npeers; i++)
		n += gnet__ring_depth(&p->inbox.from_loop[i]);
	return n;
}

static void
drop_none(void *udata, const gnet_msg_t *m)
{
	(void)udata;
	(void)m;
}

static void
port_destroy(gnet_port_t *p, gnet_port_fn fn, void *udata)
{
	uint64_t was_full;
	gnet__node_t *n;
	bool more;
	int d;

	if (fn == NULL)
		fn = drop_none;
	do {
		more = false;
		gnet__inbox_drain(&p->inbox, UINT32_MAX, (gnet__inbox_fn)fn,
		    udata, &more, &was_full);
	} while (more);
	for (d = 0; d < p->eng->nloops; d++)
		while ((n = gnet__fifo_pop(&p->parked[d])) != NULL) {
			fn(udata, &n->msg);
			gnet__msgpool_put(&p->pool, n);
		}
	free(p->parked);
	gnet_counters_free(p->counters);
	gnet__msgpool_destroy(&p->pool);
	gnet__inbox_destroy(&p->inbox);
	gnet__waker_destroy(&p->waker);
	p->eng->ports[p->index] = NULL;
	p->eng->inboxes[p->eng->nloops + p->index] = NULL;
	free(p);
}

void
gnet_port_free(gnet_port_t *p, gnet_port_fn fn, void *udata)
{
	int s;

	if (p == NULL)
		return;
	s = atomic_load(&p->eng->state);
	/* A running engine's loops may be sending to it. */
	if (s == GNET__ENG_RUNNING || s == GNET__ENG_STOPPING)
		return;
	port_destroy(p, fn, udata);
}

void
gnet__ports_free_all(gnet_engine_t *eng)
{
	int k;

	for (k = 0; k < eng->nports; k++)
		if (eng->ports[k] != NULL)
			port_destroy(eng->ports[k], NULL, NULL);
}
