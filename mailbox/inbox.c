/*
 * Inbox rings: setup and the consumer's drain.
 */
#include <stdlib.h>
#include "mailbox/inbox.h"

int
gnet__inbox_init(gnet__inbox_t *in, int npeers, int self,
    unsigned loop_ring_size, unsigned foreign_ring_size)
{
	int i, rc;

	in->npeers = npeers;
	in->self = self;
	in->gauges = NULL;
	in->from_loop = aligned_alloc(GNET__CACHE_PAIR,
	    sizeof(gnet__ring_t) * (size_t)npeers);
	if (in->from_loop == NULL)
		return GNET_ENOMEM;
	for (i = 0; i < npeers; i++)
		in->from_loop[i].slots = NULL;
	for (i = 0; i < npeers; i++) {
		/* The loop never sends to itself through a ring; a minimal
		 * ring keeps indexing uniform. */
		rc = gnet__ring_init(&in->from_loop[i],
		    i == self ? GNET__RING_MIN : loop_ring_size);
		if (rc != 0)
			goto fail;
	}
	rc = gnet__ring_init(&in->foreign, foreign_ring_size);
	if (rc != 0)
		goto fail;
	return 0;
fail:
	gnet__inbox_destroy(in);
	return rc;
}

void
gnet__inbox_destroy(gnet__inbox_t *in)
{
	int i;

	if (in->from_loop != NULL) {
		for (i = 0; i < in->npeers; i++)
			gnet__ring_destroy(&in->from_loop[i]);
		free(in->from_loop);
		in->from_loop = NULL;
	}
	gnet__ring_destroy(&in->foreign);
}

/* The most ever found waiting in the ring. */
static void
gauge_found(gnet__ring_gauge_t *g, uint32_t depth)
{
	if (g != NULL &&
	    depth > atomic_load_explicit(&g->hwm, memory_order_relaxed))
		atomic_store_explicit(&g->hwm, depth, memory_order_relaxed);
}

/* What the drain left waiting (past its budget). */
static void
gauge_left(gnet__ring_gauge_t *g, uint32_t depth)
{
	if (g != NULL &&
	    atomic_load_explicit(&g->depth, memory_order_relaxed) != depth)
		atomic_store_explicit(&g->depth, depth, memory_order_relaxed);
}

/* Drain up to budget of the `found` messages the caller saw waiting. */
static unsigned
drain_ring(gnet__ring_t *r, uint32_t found, unsigned budget,
    gnet__inbox_fn fn, void *ctx, bool *more, gnet__ring_gauge_t *g)
{
	gnet_msg_t m;
	unsigned n = 0;
	uint32_t left = 0;

	gauge_found(g, found);
	while (n < budget && gnet__ring_pop(r, &m)) {
		fn(ctx, &m);
		n++;
	}
	if (n == budget && (left = gnet__ring_depth(r)) != 0)
		*more = true;
	gauge_left(g, left);
	return n;
}

unsigned
gnet__inbox_drain(gnet__inbox_t *in, unsigned budget_per_ring,
    gnet__inbox_fn fn, void *ctx, bool *more, uint64_t *was_full)
{
	unsigned n = 0;
	uint32_t found;
	int i;

	*more = false;
	*was_full = 0;
	/* Most rings are empty most of the time: a depth test skips them
	 * without the call and its dequeue. */
	for (i = 0; i < in->npeers; i++) {
		gnet__ring_t *r = &in->from_loop[i];
		gnet__ring_gauge_t *g = in->gauges != NULL ? &in->gauges[i] : NULL;
		if (i == in->self || (found = gnet__ring_depth(r)) == 0)
			continue;
		if (i < GNET__LOOP_MASK_BITS && gnet__ring_full(r))
			*was_full |= (uint64_t)1 << i;
		n += drain_ring(r, found, budget_per_ring, fn, ctx, more, g);
	}
	if ((found = gnet__ring_depth(&in->foreign)) != 0)
		n += drain_ring(&in->foreign, found, budget_per_ring, fn, ctx,
		    more, in->gauges != NULL ? &in->gauges[in->npeers] : NULL);
	return n;
}
