/*
 * The kernel as the layers above see it: the engine, its loops (actor
 * schedulers), each loop's actor table, timers, turn hooks and poller.
 * Not a public header.
 *
 * The kernel knows no networking. It schedules actors of registered kinds
 * (kernel/kind.h), routes messages between threads (kernel/send.c), and
 * lets extensions (kernel/ext.h) plug in per-engine and per-loop work.
 *
 * Ownership: everything in a gnet__loop_t except its inbox's producer
 * side, its waker and its published stats is touched only by the loop's
 * own thread (or by the setup thread before the loop runs). Other threads
 * reach a loop only through gnet__send().
 */
#ifndef GNET_KERNEL_KERNEL_H
#define GNET_KERNEL_KERNEL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include "gnet.h"
#include "base/abi.h"
#include "base/log.h"
#include "mailbox/inbox.h"
#include "mailbox/msg.h"
#include "mailbox/outbox.h"
#include "mailbox/waker.h"
#include "kernel/ext.h"
#include "kernel/handle.h"
#include "kernel/kind.h"
#include "kernel/msgtype.h"
#include "kernel/poller.h"
#include "kernel/stats.h"
#include "kernel/timer_heap.h"

/* Units of the loop's clock (gnet__now_ns). */
#define GNET__NS_PER_MS 1000000ull
#define GNET__NS_PER_S 1000000000ull

/* ---- tunables, each with the reason for its value ---- */

/* Messages an actor handles per turn before the next actor runs: keeps one
 * chatty actor from starving the rest (Pony uses 100, BEAM ~4000
 * reductions; 64 keeps a turn well under a microsecond per message). */
#define GNET__ACTOR_BUDGET 64
/* Messages drained from each inbox ring per iteration, so I/O is polled
 * again soon even under a message flood. */
#define GNET__INBOX_BUDGET 256
/* Default SPSC ring slots (255 usable); the foreign MPSC ring is 4x. */
#define GNET__DEFAULT_RING 256u
#define GNET__FOREIGN_RING_FACTOR 4u
/* Ports an engine can have (kernel/port.c): a port is a destination of
 * every loop's outbox, so each one costs every loop a FIFO head. */
#define GNET__MAX_PORTS 4
/* A consumer that drains a full ring wakes its producer, so parked
 * overflow moves as soon as there is room; this re-poll interval (ms) is
 * only a backstop should a wakeup ever be missed. */
#define GNET__OVERFLOW_RETRY_MS 1
/* A stopping loop polls at least this often (ms) for its actors to end
 * and for the grace deadline. */
#define GNET__STOP_POLL_MS 10
/* One loop turn in this many has its I/O events timed, each actor
 * charged this many times what its event took: a clock read per event
 * would cost the event path more than all its other bookkeeping, and
 * sampling turns estimates the same share without it. A power of two. */
#define GNET__TIMED_TURN 16
/* Default grace period (ms) of a stop, options.linger_ms. */
#define GNET__DEFAULT_LINGER_MS 5000
/* Turn hooks a loop can hold per phase (kernel/loop.c). */
#define GNET__PHASE_HOOKS 8

/* The mailbox names loops by bits of a mask (mailbox/inbox.h). */
_Static_assert(GNET_MAX_LOOPS <= GNET__LOOP_MASK_BITS,
    "a loop mask must have a bit for every loop");

/* ---- the actor table ---- */

/* 48 bytes (asserted below): one per live actor, so per connection. */
typedef struct gnet__slot {
	uint32_t gen;
	uint32_t next;       /* free list or run queue link */
	/* For the kind's io(): a descriptor it may use on an event before it
	 * touches the object, kept here because the slot is in cache when
	 * the event is dispatched (net/conn.c keeps a readable socket).
	 * -1 when unused; the kernel only resets it. */
	int io_fd;
	uint8_t queued;      /* on the run queue */
	uint8_t muted;       /* not taking messages (gnet_actor_set_receiving) */
	const gnet__kind_t *kind; /* NULL: free */
	gnet__fifo_t mbox;   /* the actor's mailbox */
	void *obj;           /* the kind's object */
	/* Accounting, published by the loop's sweep (kernel/stats_sweep.c):
	 * cycles spent in the actor's handlers, messages and events handled
	 * (wrapping: the sweep adds differences), the deepest mailbox. */
	uint64_t busy;
	uint32_t handled;
	uint32_t mbox_hwm;
} gnet__slot_t;

/* One cache line: a slot never straddles two. */
_Static_assert(sizeof(gnet__slot_t) == 64, "a slot is 64 bytes");

#define GNET__NO_SLOT UINT32_MAX

/* ---- turn hooks ---- */

/*
 * Points of a loop turn where an extension may have work. A hook runs at
 * its phase only while it is due (gnet__loop_due), so a turn costs one
 * test for all the hooks that have nothing to do.
 *   START   before the turn's messages: e.g. resume readers that waited
 *           for the outbox to drain;
 *   FLUSH   after messages, timers and actors, before the loop sleeps:
 *           e.g. send what handlers wrote. One due again once the FLUSH
 *           hooks ran (a later hook's work for an earlier one) keeps the
 *           loop from sleeping;
 *   POLLED  after the wait, before its events are dispatched: e.g. read
 *           again what a budget left behind. A due POLLED hook keeps the
 *           loop from sleeping.
 * A hook is no longer due once it runs; it calls gnet__loop_due again if
 * it has work left.
 */
enum gnet__phase {
	GNET__PHASE_START,
	GNET__PHASE_FLUSH,
	GNET__PHASE_POLLED,
	GNET__PHASES
};
/* A phase's hooks have the bits of one byte of `due`, so the loop tests a
 * phase against a constant. */
#define GNET__PHASE_BITS(p) ((uint32_t)((1u << GNET__PHASE_HOOKS) - 1) << \
	((p) * GNET__PHASE_HOOKS))
_Static_assert(GNET__PHASES * GNET__PHASE_HOOKS <= 32, "due is 32 bits");

struct gnet__loop;
typedef void (*gnet__hook_fn)(struct gnet__loop *l, void *arg);

/* ---- the loop ---- */

typedef struct gnet__loop {
	gnet_engine_t *eng;
	int index;
	pthread_t thread;
	int cpu;                 /* pinned CPU or -1 */

	gnet__waker_t waker;     /* touched by producers */
	gnet__inbox_t inbox;     /* producers push, this loop pops */
	/* Its row in the stats segment: this loop writes, anyone reads. */
	gnet__loop_stats_t *stats;
	gnet__seg_actor_t *actor_rows; /* its actor rows in the segment */
	uint64_t next_sweep;     /* gnet__cycles() when the rows are due */
	unsigned sweep_ms;       /* options.stats_interval_ms: the longest
	                          * sleep */

	gnet__outbox_t outbox;
	gnet__msgpool_t pool;
	gnet__timer_heap_t timers;
	gnet__poller_t poller;

	gnet__slot_t *slots;
	uint32_t nslots, cap_slots;
	uint32_t free_head;      /* GNET__NO_SLOT: none */
	uint32_t runq_head, runq_tail;

	uint32_t due;            /* hooks to run (GNET__PHASE_BITS) */
	unsigned nhooks[GNET__PHASES];
	struct {
		gnet__hook_fn fn;
		void *arg;
	} hooks[GNET__PHASES][GNET__PHASE_HOOKS];

	void *ext[GNET__MAX_EXTS]; /* extensions' per-loop state */

	uint64_t now_ns;
	/* Read the clock after every wait, for extensions that stamp I/O
	 * with the time (idle timeouts); otherwise only timers read it. */
	bool stamp_wakeups;
	bool stopping;           /* ending its actors before exit */
	uint64_t stop_deadline_ns;
} __attribute__((aligned(GNET__CACHE_PAIR))) gnet__loop_t;

enum gnet__engine_state {
	GNET__ENG_NEW = 0,
	GNET__ENG_RUNNING,
	GNET__ENG_STOPPING,
	GNET__ENG_STOPPED
};

typedef struct gnet__msgtype_range {
	uint32_t first, n;
	const gnet__msgtype_t *defs;
} gnet__msgtype_range_t;

/* The engine's stats segment (kernel/stats_segment.c). */
typedef struct gnet__seg {
	unsigned char *base;     /* the mapping; NULL: none */
	size_t len;
	gnet__seg_header_t *hdr;
	bool shared;             /* a file in /dev/shm, not private memory */
	bool removed;            /* its file is unlinked */
	char path[128];
	uint64_t interval_cycles;
	pthread_mutex_t lock;    /* appending sections */
} gnet__seg_t;

struct gnet_engine {
	gnet_events_t ev;
	gnet_options_t opt;      /* with defaults filled in */
	void *udata;
	int nloops;
	gnet__loop_t **loops;
	/* [nloops + GNET__MAX_PORTS], for outbox flushes: loop i's inbox,
	 * then port k's at nloops + k (NULL until it exists). */
	gnet__inbox_t **inboxes;
	struct gnet_port *ports[GNET__MAX_PORTS]; /* kernel/port.c */
	int nports;

	const gnet__ext_t *exts[GNET__MAX_EXTS];
	void *ext[GNET__MAX_EXTS]; /* their per-engine state */
	int nexts;
	gnet__msgtype_range_t msgtypes[GNET__MSGTYPE_RANGES];
	int nmsgtypes;

	gnet__seg_t seg;

	atomic_int state;
	atomic_int stop_requested;
	atomic_int senders;      /* foreign sends in flight (see gnet__send) */
};

/* Thread-local: the loop this thread runs, or NULL. Every connection
 * call checks it (the thread rule), so it uses the initial-exec TLS model:
 * one %fs-relative load, where libgnet.so's default model would call
 * __tls_get_addr. The price is a few bytes of static TLS, which glibc
 * reserves for exactly this even when the library is loaded with dlopen. */
#define GNET__TLS_IE __attribute__((tls_model("initial-exec")))
extern _Thread_local gnet__loop_t *gnet__tls_loop GNET__TLS_IE;

static inline gnet__loop_t *
gnet__self_loop(const gnet_engine_t *eng)
{
	gnet__loop_t *l = gnet__tls_loop;
	return (l != NULL && l->eng == eng) ? l : NULL;
}

/* kernel/loop.c */
int gnet__loop_new(gnet_engine_t *eng, int index, gnet__loop_t **out);
void gnet__loop_free(gnet__loop_t *l);
void *gnet__loop_main(void *arg);
uint64_t gnet__now_ns(void);

/* Add a turn hook at phase p; returns its bit (for gnet__loop_due) or 0
 * when the phase holds GNET__PHASE_HOOKS already. Thread: setup
 * (an extension's loop_init). */
uint32_t gnet__loop_hook(gnet__loop_t *l, enum gnet__phase p,
    gnet__hook_fn fn, void *arg);
/* Run the hooks of bits at their phase of this turn or the next. */
static inline void
gnet__loop_due(gnet__loop_t *l, uint32_t bits)
{
	l->due |= bits;
}
static inline void
gnet__loop_not_due(gnet__loop_t *l, uint32_t bits)
{
	l->due &= ~bits;
}

/* Deliver m to an actor of loop l at due_ns (gnet__now_ns's clock).
 * Returns 0 or GNET_ENOMEM. Thread: owner loop, or setup. */
static inline int
gnet__loop_timer(gnet__loop_t *l, uint64_t due_ns, const gnet_msg_t *m)
{
	return gnet__timers_add(&l->timers, due_ns, m);
}

/* Messages this loop holds for peer loops whose rings are full. */
static inline uint64_t
gnet__loop_backlog(const gnet__loop_t *l)
{
	return l->outbox.parked;
}

/* kernel/stats_segment.c */
/* Fill in the stats options' defaults and check them. */
int gnet__seg_options(gnet_options_t *o);
/* Map the engine's segment (a private one when options.stats < 0 or no
 * file can be made): eng->nloops and the options are set. */
int gnet__seg_open(gnet_engine_t *eng);
/* Publish the loops' poller backend ("epoll", "io_uring"), once they
 * are open. */
void gnet__seg_backend(gnet_engine_t *eng, const char *name);
/* The engine stopped: mark the segment so and remove its file. */
void gnet__seg_stopped(gnet_engine_t *eng);
void gnet__seg_close(gnet_engine_t *eng);
/* Loop i's row and actor rows. */
gnet__loop_stats_t *gnet__seg_loop(gnet_engine_t *eng, int i);
gnet__seg_actor_t *gnet__seg_actors(gnet_engine_t *eng, int i);

/* kernel/stats_read.c: the header of the segment file at path, checked
 * as a reader checks it: 0, -errno, or GNET_ENOTSUP (not a segment of
 * this layout). */
int gnet__seg_peek(const char *path, gnet__seg_header_t *h);

/* kernel/stats_sweep.c */
/* Republish loop l's actor rows; now: gnet__cycles(). */
void gnet__stats_sweep(gnet__loop_t *l, uint64_t now);

/* kernel/table.c: the actor table */
/* A slot for obj of kind on loop l; its handle in *out. Returns 0,
 * GNET_ELIMIT (the table is at GNET__MAX_SLOTS) or GNET_ENOMEM. */
int gnet__slot_alloc(gnet__loop_t *l, const gnet__kind_t *kind, void *obj,
    gnet_handle_t *out);
/* Free slot i, dropping what its mailbox still holds. */
void gnet__slot_free(gnet__loop_t *l, uint32_t i);
/* The live slot a handle names, or NULL (freed, reused, out of range).
 * Inline: every I/O event looks its actor up. */
static inline gnet__slot_t *
gnet__slot_lookup(gnet__loop_t *l, gnet_handle_t h)
{
	uint32_t i = gnet__handle_slot(h);

	if (i >= l->nslots)
		return NULL;
	if (l->slots[i].gen != gnet__handle_gen(h) || l->slots[i].kind == NULL)
		return NULL;
	return &l->slots[i];
}
/* End every actor still in the table through its kind's stop. */
void gnet__slots_stop_all(gnet__loop_t *l);

/* kernel/sched.c: mailboxes and the run queue */
void gnet__deliver_local(gnet__loop_t *l, const gnet_msg_t *m);
/* Mute (on = false) or resume slot s's actor: muted, its messages wait in
 * its mailbox and it is not scheduled. */
void gnet__slot_set_receiving(gnet__loop_t *l, gnet__slot_t *s, bool on);
void gnet__run_actors(gnet__loop_t *l);

/* kernel/send.c */
/* Run fn(l, arg) on loop `index`'s thread, between its actors' messages:
 * at once when that is the calling thread, otherwise as a message (so
 * it returns as gnet__send does). */
int gnet__loop_call(gnet_engine_t *eng, int index, gnet__hook_fn fn,
    void *arg);
/* Route m to the actor m->to names, from whatever thread calls. Returns
 * 0, GNET_EINVAL (no such loop), GNET_ESTALE (on the destination's own
 * loop, which knows it is gone), GNET_ESHUTDOWN, GNET_EAGAIN (foreign
 * thread, NOWAIT policy, full ring) or GNET_ENOMEM. */
int gnet__send(gnet_engine_t *eng, const gnet_msg_t *m);
/* The two cross-thread halves of gnet__send, for any inbox: from loop
 * self through its outbox (dst: the inbox's number there), and from a
 * foreign thread (waiting as send_policy says). */
int gnet__send_from_loop(gnet__loop_t *self, gnet__inbox_t *in, int dst,
    gnet__waker_t *w, const gnet_msg_t *m);
int gnet__send_foreign(gnet_engine_t *eng, gnet__inbox_t *in,
    gnet__waker_t *w, const gnet_msg_t *m);

/* kernel/loop.c: wake the loops whose bits are set in mask, and the
 * ports, whose bits follow the loops' (an outbox's destination numbers).
 * Thread: any. */
void gnet__wake_mask(gnet_engine_t *eng, uint64_t mask);

/* kernel/port.c */
/* Is the handle's loop number a port's (GNET_MAX_LOOPS + k)? */
#define GNET__PORT_INDEX_BASE GNET_MAX_LOOPS
/* Route m to port k from the calling thread (self: its loop, or NULL):
 * as gnet__send does for a loop. */
int gnet__port_send_in(gnet_engine_t *eng, gnet__loop_t *self, int k,
    const gnet_msg_t *m);
/* Mail from a loop's outbox reached port p: wake its owner. */
void gnet__port_wake(struct gnet_port *p);
/* gnet_engine_free: free the ports their owners did not. */
void gnet__ports_free_all(gnet_engine_t *eng);

#endif
