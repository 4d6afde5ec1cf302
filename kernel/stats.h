/*
 * Published counters and the stats segment they live in.
 *
 * Counters: a counter is written by one thread only (its owner loop) with
 * relaxed atomic stores of load + n -- no read-modify-write, since there
 * is a single writer -- so a reader on another thread or in another
 * process never sees a torn value, and TSan agrees. A reader sees each
 * counter whole, not all of them at one instant.
 *
 * The segment (kernel/stats_segment.c): one shared file per engine,
 * /dev/shm/gnet.<name>.<pid>, mapped by the engine and by readers
 * (kernel/stats_read.c, gnetstats.h):
 *
 *   header        what follows, where, a clock pair for the cycle
 *                 counter, and the loops' poller backend
 *                 (GNET__SEG_HEADER bytes, most of them spare)
 *   loop rows     gnet__loop_stats_t, one per loop: the loop's own
 *                 counters live here, so publishing them costs nothing
 *   sections      named counter tables, one row per loop: net/'s and the
 *                 modules' (gnet_counters_new); records appended, never
 *                 moved
 *   actor rows    gnet__seg_actor_t, `actor_rows` per loop, row i for slot
 *                 i, rewritten by the owner loop's sweep
 *
 * With the segment off (options.stats < 0, or no /dev/shm) the same
 * layout lives in private memory, so the code that counts is the same.
 */
#ifndef GNET_KERNEL_STATS_H
#define GNET_KERNEL_STATS_H

#include <stdatomic.h>
#include <stdint.h>
#include <ck_sequence.h>
#include "base/cacheline.h"
#include "mailbox/inbox.h"

/* ---- counters ---- */

#define GNET__STAT_ADD(owner, field, n)                                      \
	atomic_store_explicit(&(owner)->stats->field,                        \
	    atomic_load_explicit(&(owner)->stats->field, memory_order_relaxed) \
	    + (n), memory_order_relaxed)
#define GNET__STAT_SET(owner, field, v) \
	atomic_store_explicit(&(owner)->stats->field, (v), memory_order_relaxed)
#define GNET__STAT_GET(owner, field) \
	atomic_load_explicit(&(owner)->stats->field, memory_order_relaxed)

/* Inbox rings a loop row reports: one per peer loop and the foreign one
 * (GNET_MAX_LOOPS + 1, spelt out: this header comes before gnet.h's). */
#define GNET__SEG_RINGS 65

/* A loop's row. The loop writes it; readers anywhere read it. */
typedef struct gnet__loop_stats {
	_Atomic uint64_t iterations, msgs_in, msgs_out, msgs_dropped,
	    mailbox_hwm, overflowed, wakeups, actors;
	_Atomic uint64_t parked, sweeps, actor_rows, actor_rows_unlisted;
	/* Rows [0, actor_extent) have been written: readers look no
	 * further (a tmpfs hole they read would be allocated). */
	_Atomic uint64_t actor_extent;
	_Atomic int32_t tid, cpu;
	/* enum gnet_stats_loop_state: WAITING while the loop sleeps in the
	 * poller, RUNNING in a turn. A reader that sees RUNNING and the
	 * same iterations for long has found a loop stuck in a handler --
	 * two stores a turn, where a clock read would cost more than the
	 * turn's other bookkeeping. */
	_Atomic uint32_t state;
	_Atomic uint32_t nrings;
	gnet__ring_gauge_t ring[GNET__SEG_RINGS];
} __attribute__((aligned(GNET__CACHE_PAIR))) gnet__loop_stats_t;

/* ---- the segment's layout ---- */

#define GNET__SEG_MAGIC 0x5441545354454e47ull /* "GNETSTAT" */
#define GNET__SEG_VERSION 1
#define GNET__SEG_HEADER 4096
/* Room for counter sections: net/'s and a few modules' (a section of
 * 16 counters on 8 loops takes about 2 KiB). */
#define GNET__SEG_SECTIONS (64 * 1024)
#define GNET__SEG_NAME_MAX 48
#define GNET__SEG_COUNTER_NAME 32
#define GNET__SEG_BACKEND_MAX 16

enum gnet__seg_state { GNET__SEG_LIVE = 1, GNET__SEG_STOPPED = 2 };

typedef struct gnet__seg_header {
	uint64_t magic;
	uint32_t version, header_size;
	uint32_t loop_row_size, actor_row_size;
	uint32_t nloops, actor_rows;  /* actor rows per loop */
	uint64_t loops_off, sections_off, sections_size, actors_off;
	int32_t pid;
	uint32_t interval_ms;
	uint64_t started_unix_ms;
	/* The process's start time (/proc/PID/stat, clock ticks): a reader
	 * tells a dead engine's segment from a live one whose pid was reused. */
	uint64_t proc_start;
	/* gnet__cycles() and CLOCK_MONOTONIC read together, and the cycle
	 * counter's rate: readers turn cycles into time with them. */
	uint64_t t0_cycles, t0_ns, cycles_per_ms;
	char name[GNET__SEG_NAME_MAX];
	_Atomic uint32_t state;       /* enum gnet__seg_state */
	/* Bytes of the sections area in use: a section is written whole,
	 * then this is advanced with release order, so a reader that loads
	 * it with acquire order sees every section before it complete. */
	_Atomic uint32_t sections_used;
	/* CLOCK_MONOTONIC ns when a reader last looked at actor rows,
	 * written by readers: the loops republish their actor rows only
	 * while someone watches, so an unwatched engine spends neither the
	 * sweeps' time nor the rows' memory. */
	_Atomic uint64_t watched_ns;
	/* The poller backend of every loop ("epoll", "io_uring"), known
	 * only once loop 0's poller is open, after the magic: the name is
	 * written first, then its length with release order, so a reader
	 * that loads a nonzero length with acquire order reads the name
	 * whole. The length comes first in memory for a reader copying the
	 * header front to back (gnet__seg_peek). They sit in the header's
	 * spare room, which every writer leaves zero: an older engine's
	 * segment reads as no backend and an older reader never looks, so
	 * the layout keeps its version. */
	_Atomic uint32_t backend_len;
	char backend[GNET__SEG_BACKEND_MAX];
} gnet__seg_header_t;

/* Fields appended to the header live in its spare room: nothing after
 * the header moves, so readers of the same version keep working. */
_Static_assert(sizeof(gnet__seg_header_t) <= GNET__SEG_HEADER,
    "the header fits its room");

/* A reader's look keeps the rows published for this long, or three
 * stats intervals if longer: a reader sampling every second or two
 * keeps them fresh. */
#define GNET__SEG_WATCH_MS 5000

/* A counter section's record in the sections area, followed by its
 * counter names (GNET__SEG_COUNTER_NAME bytes each), then, at
 * rows_off from the record, one row of `stride` bytes per loop. */
typedef struct gnet__seg_section {
	uint32_t size;               /* the whole record, rows included */
	uint32_t ncounters, nloops, stride, rows_off;
	_Atomic uint32_t live;       /* 0 once its owner freed it */
	char name[GNET__SEG_COUNTER_NAME];
} gnet__seg_section_t;

/* An actor's row: row i of a loop is slot i of its table. */
typedef struct gnet__seg_actor {
	ck_sequence_t seq;
	uint32_t flags;              /* GNET_STATS_A_* */
	uint64_t handle;             /* 0: no actor */
	char kind[24];
	uint32_t mailbox, mailbox_hwm;
	uint64_t handled;
	uint32_t handled_seen;       /* the slot's wrapping count at the
	                              * last sweep: handled grows by the
	                              * difference */
	uint32_t pad;
	uint64_t busy_cycles;
	uint64_t born_ns, active_ns, published_ns; /* CLOCK_MONOTONIC */
	uint64_t in_bytes, out_bytes;
	char peer[64];
} __attribute__((aligned(256))) gnet__seg_actor_t;

/* Rows are this far apart: the struct is padded to it, so writers index
 * an array of them and readers step by the header's actor_row_size. */
#define GNET__SEG_ACTOR_ROW 256
_Static_assert(sizeof(gnet__seg_actor_t) == GNET__SEG_ACTOR_ROW,
    "an actor row is its stride");

/* The cycle counter: the CPU's time-stamp counter where it is constant
 * and synchronised (x86-64: one instruction, where a clock read costs a
 * call and dozens), else CLOCK_MONOTONIC in ns. */
#if defined(__x86_64__)
static inline uint64_t
gnet__cycles(void)
{
	return __builtin_ia32_rdtsc();
}
#define GNET__CYCLES_ARE_NS 0
#else
uint64_t gnet__now_ns(void);
static inline uint64_t
gnet__cycles(void)
{
	return gnet__now_ns();
}
#define GNET__CYCLES_ARE_NS 1
#endif

#endif
