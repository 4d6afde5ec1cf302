/*
 * Actor kinds. Every live slot of a loop's actor table points at the kind
 * of its occupant: a small table of behaviour defined by the layer that
 * owns that sort of actor -- net/ for connections, listeners, dialers and
 * UDP sockets, actors/ for the ticker and the worker pool, kernel/actor.c
 * for the program's own actors, and a module for whatever it adds. The
 * kernel schedules actors and hands them messages and I/O events through
 * this table alone, so a new kind of actor needs no change to the kernel.
 *
 * A kind is a static constant of its layer; slots hold a pointer to it.
 * Every function runs on the owner loop's thread.
 */
#ifndef GNET_KERNEL_KIND_H
#define GNET_KERNEL_KIND_H

#include "gnet.h"
#include "kernel/poller.h"

struct gnet__loop;
struct gnet__slot;

/* What an actor tells inspectors about itself (kind->describe), beyond
 * what the kernel knows (mailbox, messages handled, time spent). */
typedef struct gnet__actor_desc {
	const char *name;    /* NULL: the kind's name */
	/* Non-NULL when the row is new: write the peer's text here. */
	char *peer;
	size_t peer_cap;
	uint64_t in_bytes, out_bytes; /* buffered, not yet consumed / sent */
	unsigned flags;      /* GNET_STATS_A_* (gnetstats.h) */
} gnet__actor_desc_t;

typedef struct gnet__kind {
	/* What inspectors (gnet-top) call it. */
	const char *name;
	/* One message from the actor's mailbox, in the order it was sent.
	 * obj is the object the slot was allocated with. The actor may free
	 * its slot (stop) from here. */
	void (*receive)(struct gnet__loop *l, void *obj, const gnet_msg_t *m);
	/* The poller reported `events` (GNET__POLL_*) for a descriptor
	 * registered under this slot's handle; res is a completion's result
	 * (GNET__POLL_DONE), else 0. The slot, not only its object, is
	 * passed so the kind may use s->io_fd before touching the object.
	 * Required of kinds that register a descriptor; NULL for others,
	 * which get no events (an event names the handle its descriptor was
	 * registered under, and a reused slot has another generation). */
	void (*io)(struct gnet__loop *l, struct gnet__slot *s, uint32_t events,
	    int32_t res);
	/* The loop is ending with this actor still in its table -- its
	 * thread is about to exit, or its engine is freed without having run
	 * -- and the actor must end now: release what it holds and free its
	 * slot. NULL: the owning layer ends such actors itself (e.g. through
	 * an engine extension's hooks, kernel/ext.h). */
	void (*stop)(struct gnet__loop *l, void *obj);
	/* gnet_group_close: if this actor belongs to group g, begin its end
	 * (a connection closes gracefully, an actor stops). NULL for kinds
	 * that never belong to a group. */
	void (*group_close)(struct gnet__loop *l, void *obj,
	    struct gnet_group *g);
	/* The loop's stats sweep: fill in d (zeroed by the caller). NULL:
	 * the kernel's fields only. */
	void (*describe)(struct gnet__loop *l, void *obj, gnet__actor_desc_t *d);
} gnet__kind_t;

#endif
