/*
 * Typed ck_ring transport: messages are copied by value into the ring's
 * slots (CK_RING_PROTOTYPE), so a cross-thread send allocates nothing.
 *
 * Two flavours share one type: SPSC (one producing loop, one consuming
 * loop; the cheap path, plain stores) and MPSC (foreign threads; a CAS
 * and an ordered commit, several times dearer, so loops never use it
 * among themselves). The consumer side is the same for both. A ring is one or
 * the other for its whole life: the SP path advances only p_tail while the
 * MP path reserves through p_head, so mixing them on one ring makes an MP
 * producer wait forever for a ticket that never commits.
 *
 * ck 0.7.1 publishes slots with volatile stores plus compiler fences, which
 * ThreadSanitizer cannot see; under TSan we add explicit release/acquire
 * annotations so the payloads that messages point to are not reported.
 */
#ifndef GNET_MAILBOX_RING_H
#define GNET_MAILBOX_RING_H

#include <stdbool.h>
#include <ck_ring.h>
#include "gnet.h"
#include "base/cacheline.h"
#include "base/sanitizer.h"

#ifdef GNET__TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define GNET__HB_RELEASE(p) __tsan_release(p)
#define GNET__HB_ACQUIRE(p) __tsan_acquire(p)
#else
#define GNET__HB_RELEASE(p) ((void)(p))
#define GNET__HB_ACQUIRE(p) ((void)(p))
#endif

CK_RING_PROTOTYPE(gnet_msg, gnet_msg)

/* The smallest ring (ck needs a power of two, and one slot stays free). */
#define GNET__RING_MIN 4

/* Aligned to two cache lines so neighbouring rings never share the
 * adjacent-line prefetch pair. */
typedef struct gnet__ring {
	ck_ring_t ring;
	gnet_msg_t *slots;
	unsigned size;
} __attribute__((aligned(GNET__CACHE_PAIR))) gnet__ring_t;

/* size must be a power of two >= 4 (ck does not check: we do). Usable
 * capacity is size - 1. Returns 0, GNET_EINVAL or GNET_ENOMEM. */
int gnet__ring_init(gnet__ring_t *r, unsigned size);
void gnet__ring_destroy(gnet__ring_t *r);

/* Single producer. Returns false when full. */
static inline bool
gnet__ring_push_sp(gnet__ring_t *r, const gnet_msg_t *m)
{
	GNET__HB_RELEASE(r);
	return ck_ring_enqueue_spsc_gnet_msg(&r->ring, r->slots,
	    (struct gnet_msg *)m);
}

/* Any number of producers. Returns false when full. */
static inline bool
gnet__ring_push_mp(gnet__ring_t *r, const gnet_msg_t *m)
{
	GNET__HB_RELEASE(r);
	return ck_ring_enqueue_mpsc_gnet_msg(&r->ring, r->slots,
	    (struct gnet_msg *)m);
}

/* Single consumer. Returns false when empty. */
static inline bool
gnet__ring_pop(gnet__ring_t *r, gnet_msg_t *out)
{
	bool ok = ck_ring_dequeue_spsc_gnet_msg(&r->ring, r->slots, out);

	if (ok)
		GNET__HB_ACQUIRE(r);
	return ok;
}

/* A snapshot: only meaningful to the consumer after a full fence. */
static inline unsigned
gnet__ring_depth(const gnet__ring_t *r)
{
	return ck_ring_size(&r->ring);
}

/* Full at the last snapshot: usable capacity is size - 1. */
static inline bool
gnet__ring_full(const gnet__ring_t *r)
{
	return gnet__ring_depth(r) == r->size - 1;
}

static inline bool
gnet__ring_valid_size(unsigned size)
{
	return size >= GNET__RING_MIN && (size & (size - 1)) == 0;
}

#endif
