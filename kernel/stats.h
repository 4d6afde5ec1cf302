/*
 * Published counters. A counter row is written by one thread only (its
 * owner loop) with relaxed atomic stores of load + n -- no read-modify-
 * write, since there is a single writer -- so a reader on another thread
 * never sees a torn value and TSan agrees. Rows of other layers (net/)
 * use the same macros on a `stats` member of their own.
 */
#ifndef GNET_KERNEL_STATS_H
#define GNET_KERNEL_STATS_H

#include <stdatomic.h>
#include <stdint.h>
#include "base/cacheline.h"

/* The kernel's row of a loop. Aligned so that the readers' loads do not
 * share lines with the loop's private state. */
typedef struct gnet__loop_stats {
	_Atomic uint64_t iterations, msgs_in, msgs_out, msgs_dropped,
	    mailbox_hwm, overflowed, wakeups, actors;
} __attribute__((aligned(GNET__CACHE_PAIR))) gnet__loop_stats_t;

#define GNET__STAT_ADD(owner, field, n)                                      \
	atomic_store_explicit(&(owner)->stats.field,                         \
	    atomic_load_explicit(&(owner)->stats.field, memory_order_relaxed) \
	    + (n), memory_order_relaxed)
#define GNET__STAT_SET(owner, field, v) \
	atomic_store_explicit(&(owner)->stats.field, (v), memory_order_relaxed)
#define GNET__STAT_GET(owner, field) \
	atomic_load_explicit(&(owner)->stats.field, memory_order_relaxed)

#endif
