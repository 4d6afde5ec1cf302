/*
 * A per-loop binary min-heap of timed messages. A timer is just a message
 * delivered later, so cancellation is free: the receiver ignores a timer
 * message it no longer wants (or its handle has gone stale). The earliest
 * deadline sets the epoll_wait timeout.
 */
#ifndef GNET_KERNEL_TIMER_HEAP_H
#define GNET_KERNEL_TIMER_HEAP_H

#include <stddef.h>
#include <stdint.h>
#include "gnet.h"

typedef struct gnet__timer {
	uint64_t due_ns;
	uint64_t seq; /* ties fire in the order they were set */
	gnet_msg_t msg;
} gnet__timer_t;

typedef struct gnet__timer_heap {
	gnet__timer_t *v;
	size_t len, cap;
	uint64_t next_seq;
} gnet__timer_heap_t;

void gnet__timers_init(gnet__timer_heap_t *h);
void gnet__timers_destroy(gnet__timer_heap_t *h);
int gnet__timers_add(gnet__timer_heap_t *h, uint64_t due_ns, const gnet_msg_t *m);
/* Pop the earliest timer if it is due at `now_ns`; returns 1 and fills *out,
 * or 0. */
int gnet__timers_pop_due(gnet__timer_heap_t *h, uint64_t now_ns, gnet_msg_t *out);
/* Milliseconds until the earliest timer (rounded up), or -1 if none. */
int gnet__timers_timeout_ms(const gnet__timer_heap_t *h, uint64_t now_ns);

#endif
