/*
 * A loop's outbox: the sender-side overflow FIFOs, one per destination
 * loop.
 *
 * A loop must never block on a full ring (two loops full toward each
 * other would deadlock) and must never drop a message. So when the SPSC
 * ring to a destination is full -- or already has messages waiting in the
 * overflow, which must go first to keep per-sender FIFO order -- the
 * message is parked here, in a node from the sender's own pool, and moved
 * into the ring at the top of every loop iteration.
 */
#ifndef GNET_MAILBOX_OUTBOX_H
#define GNET_MAILBOX_OUTBOX_H

#include "mailbox/inbox.h"
#include "mailbox/msg.h"

typedef struct gnet__outbox {
	int ndst;
	int self;
	gnet__fifo_t *pending; /* [ndst] */
	uint64_t parked;       /* total messages currently parked */
} gnet__outbox_t;

int gnet__outbox_init(gnet__outbox_t *o, int ndst, int self);
void gnet__outbox_destroy(gnet__outbox_t *o);

/* Send m from loop o->self to the inbox of loop dst. Returns 1 when the
 * message went straight into the ring, 0 when it was parked, GNET_ENOMEM
 * when it could not even be parked. */
int gnet__outbox_send(gnet__outbox_t *o, gnet__msgpool_t *pool,
    gnet__inbox_t *dst_inbox, int dst, const gnet_msg_t *m);

/* Move parked messages into their rings while there is room. Sets bit d of
 * *moved_mask (for d < GNET__LOOP_MASK_BITS) for each destination that
 * received messages, so the caller can wake it. Returns the number still
 * parked. */
uint64_t gnet__outbox_flush(gnet__outbox_t *o, gnet__msgpool_t *pool,
    gnet__inbox_t *const *inboxes, uint64_t *moved_mask);

/* Could a flush move anything now, i.e. does a destination with parked
 * messages have room in its ring? The sleeper checks this after announcing
 * sleep: a consumer that makes room wakes only a loop that says it is
 * sleeping, so the two checks together lose no progress. */
bool gnet__outbox_can_progress(const gnet__outbox_t *o,
    gnet__inbox_t *const *inboxes);

/* Hand every parked message to fn and empty the outbox (shutdown). */
void gnet__outbox_discard(gnet__outbox_t *o, gnet__msgpool_t *pool,
    void (*fn)(void *ctx, const gnet_msg_t *m), void *ctx);

#endif
