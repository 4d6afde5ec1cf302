/*
 * Sender-side overflow; see outbox.h.
 */
#include <stdlib.h>
#include "mailbox/outbox.h"

int
gnet__outbox_init(gnet__outbox_t *o, int ndst, int self)
{
	o->ndst = ndst;
	o->self = self;
	o->parked = 0;
	o->pending = calloc((size_t)ndst, sizeof(*o->pending));
	return o->pending == NULL ? GNET_ENOMEM : 0;
}

void
gnet__outbox_destroy(gnet__outbox_t *o)
{
	free(o->pending);
	o->pending = NULL;
}

int
gnet__outbox_send(gnet__outbox_t *o, gnet__msgpool_t *pool,
    gnet__inbox_t *dst_inbox, int dst, const gnet_msg_t *m)
{
	gnet__fifo_t *q = &o->pending[dst];
	gnet__node_t *n;

	/* Only bypass the FIFO when it is empty: otherwise this message
	 * would overtake earlier ones. */
	if (q->len == 0 && gnet__inbox_push_from_loop(dst_inbox, o->self, m))
		return 1;
	n = gnet__msgpool_get(pool);
	if (n == NULL)
		return GNET_ENOMEM;
	n->msg = *m;
	gnet__fifo_push(q, n);
	o->parked++;
	return 0;
}

uint64_t
gnet__outbox_flush(gnet__outbox_t *o, gnet__msgpool_t *pool,
    gnet__inbox_t *const *inboxes, uint64_t *moved_mask)
{
	int d;

	if (o->parked == 0)
		return 0;
	for (d = 0; d < o->ndst; d++) {
		gnet__fifo_t *q = &o->pending[d];
		unsigned moved = 0;

		while (gnet__fifo_peek(q) != NULL &&
		    gnet__inbox_push_from_loop(inboxes[d], o->self,
		    &gnet__fifo_peek(q)->msg)) {
			gnet__msgpool_put(pool, gnet__fifo_pop(q));
			o->parked--;
			moved++;
		}
		if (moved != 0 && d < GNET__LOOP_MASK_BITS)
			*moved_mask |= (uint64_t)1 << d;
	}
	return o->parked;
}

bool
gnet__outbox_can_progress(const gnet__outbox_t *o,
    gnet__inbox_t *const *inboxes)
{
	int d;

	if (o->parked == 0)
		return false;
	for (d = 0; d < o->ndst; d++)
		if (o->pending[d].len != 0 &&
		    !gnet__ring_full(&inboxes[d]->from_loop[o->self]))
			return true;
	return false;
}

void
gnet__outbox_discard(gnet__outbox_t *o, gnet__msgpool_t *pool,
    void (*fn)(void *ctx, const gnet_msg_t *m), void *ctx)
{
	int d;
	gnet__node_t *n;

	for (d = 0; d < o->ndst; d++) {
		while ((n = gnet__fifo_pop(&o->pending[d])) != NULL) {
			fn(ctx, &n->msg);
			gnet__msgpool_put(pool, n);
		}
	}
	o->parked = 0;
}
