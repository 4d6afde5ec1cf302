/*
 * Coalesced eventfd wakeup for a loop that sleeps in epoll_wait.
 *
 * The protocol (the store->load race is the whole difficulty):
 *   sleeper:  store sleeping = 1 (seq_cst, a full fence on x86);
 *             re-check every inbox; if one is non-empty, cancel the sleep;
 *             otherwise epoll_wait; afterwards store sleeping = 0.
 *   producer: enqueue; full fence; if sleeping == 1 and it wins the
 *             exchange 1 -> 0, write the eventfd.
 * Either the sleeper's re-check sees the message or the producer sees the
 * flag, so no wakeup is lost; the exchange elects one writer, so there is
 * at most one eventfd write per sleep.
 */
#ifndef GNET_MAILBOX_WAKER_H
#define GNET_MAILBOX_WAKER_H

#include <stdatomic.h>
#include <stdbool.h>
#include "base/cacheline.h"

typedef struct gnet__waker {
	atomic_uint sleeping;
	int efd;
} __attribute__((aligned(GNET__CACHE_PAIR))) gnet__waker_t;

int gnet__waker_init(gnet__waker_t *w);   /* 0 or -errno */
void gnet__waker_destroy(gnet__waker_t *w);

/* Sleeper side (owner loop). Announce the intent to sleep; the caller must
 * then re-check its inboxes before blocking. */
static inline void
gnet__waker_prepare_sleep(gnet__waker_t *w)
{
	atomic_store_explicit(&w->sleeping, 1, memory_order_seq_cst);
}

/* Sleeper side: awake again (slept, or cancelled the sleep). */
static inline void
gnet__waker_awake(gnet__waker_t *w)
{
	atomic_store_explicit(&w->sleeping, 0, memory_order_relaxed);
}

/* Sleeper side: the eventfd was readable; consume its counter. */
void gnet__waker_drain(gnet__waker_t *w);

/* Producer side (any thread), after publishing a message. Returns true when
 * this call wrote the eventfd. */
bool gnet__waker_wake(gnet__waker_t *w);

/* Wake unconditionally (engine stop): the loop may be busy rather than
 * asleep, so it must also look at its stop flag. */
void gnet__waker_force(gnet__waker_t *w);

#endif
