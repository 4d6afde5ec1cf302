/*
 * A loop's inbox: what other threads send to the actors of one loop.
 *
 * One SPSC ring per peer loop (only that loop produces into it) and one
 * MPSC ring shared by foreign threads (workers, user threads). Loops never
 * share a producer index, so the loop-to-loop path has no CAS at all. The
 * owning loop is the only consumer of every ring.
 */
#ifndef GNET_MAILBOX_INBOX_H
#define GNET_MAILBOX_INBOX_H

#include <stdatomic.h>
#include "mailbox/ring.h"

/* Loops are named in reports to a producer (was_full below, the outbox's
 * moved mask) by one bit each of a 64-bit mask; the kernel holds its
 * number of loops to this. */
#define GNET__LOOP_MASK_BITS 64

/* What the consumer saw of a ring, for inspectors: `depth`, what its
 * last drain left waiting (past the drain's budget: 0 unless the ring is
 * flooded), and `hwm`, the most a drain ever found. Written by the
 * consumer only, read by anyone (relaxed). */
typedef struct gnet__ring_gauge {
	_Atomic uint32_t depth, hwm;
} gnet__ring_gauge_t;

typedef struct gnet__inbox {
	int npeers;              /* number of loops; ring[self] is unused */
	int self;
	gnet__ring_t *from_loop; /* [npeers] SPSC rings */
	gnet__ring_t foreign;    /* MPSC ring */
	/* NULL, or npeers + 1 gauges: one per peer ring, then the foreign
	 * ring's. */
	gnet__ring_gauge_t *gauges;
} gnet__inbox_t;

/* loop_ring_size / foreign_ring_size: powers of two >= 4. */
int gnet__inbox_init(gnet__inbox_t *in, int npeers, int self,
    unsigned loop_ring_size, unsigned foreign_ring_size);
void gnet__inbox_destroy(gnet__inbox_t *in);

/* Producer: loop `src` (!= self). Returns false when the ring is full;
 * the caller's outbox keeps the message. */
static inline bool
gnet__inbox_push_from_loop(gnet__inbox_t *in, int src, const gnet_msg_t *m)
{
	return gnet__ring_push_sp(&in->from_loop[src], m);
}

/* Producer: any non-loop thread. Returns false when full. */
static inline bool
gnet__inbox_push_foreign(gnet__inbox_t *in, const gnet_msg_t *m)
{
	return gnet__ring_push_mp(&in->foreign, m);
}

/* Consumer (owner loop): pop up to `budget_per_ring` messages from each
 * ring, calling fn for each. Returns the number popped; *more is set when
 * a ring still held messages when its share of the budget ran out. Bit k
 * of *was_full (k < GNET__LOOP_MASK_BITS) is set when loop k's ring was
 * found full: that loop has messages parked in its outbox and should be
 * woken to move them now that there is room, rather than at its next
 * retry. */
typedef void (*gnet__inbox_fn)(void *ctx, const gnet_msg_t *m);
unsigned gnet__inbox_drain(gnet__inbox_t *in, unsigned budget_per_ring,
    gnet__inbox_fn fn, void *ctx, bool *more, uint64_t *was_full);

/* Consumer: is any ring non-empty? Call after gnet__waker_prepare_sleep.
 * Inline: the loop asks twice an iteration, and the answer is mostly no. */
static inline bool
gnet__inbox_nonempty(const gnet__inbox_t *in)
{
	int i;

	for (i = 0; i < in->npeers; i++)
		if (i != in->self && gnet__ring_depth(&in->from_loop[i]) != 0)
			return true;
	return gnet__ring_depth(&in->foreign) != 0;
}

#endif
