/*
 * Groups: what one owner -- a module, for the host -- put into an engine,
 * counted so it can be ended together and its owner told when nothing of
 * it is left (gnet_group_* in gnet.h).
 *
 * A member is anything through which a loop may call code the owner gave:
 * a listening socket, an accepted socket on its way to its loop, a
 * connection, an actor. Each layer joins a member when it creates it and
 * leaves when the member is entirely gone -- after the member's last
 * callback has returned and nothing of the owner's is referenced any
 * more. So `live` reaching zero after the close began means no loop can
 * call into the owner again, which is what lets a host dlclose a module.
 */
#ifndef GNET_KERNEL_GROUP_H
#define GNET_KERNEL_GROUP_H

#include <stdatomic.h>
#include <stdbool.h>
#include "gnet.h"

struct gnet_group {
	gnet_engine_t *eng;
	/* Members. Joined and left on loop threads (or the setup thread);
	 * read by the closer. The leave that reaches zero is a release, so
	 * the closer's acquire load of zero sees every member's last
	 * callback finished. */
	atomic_int live;
	/* Set once by gnet_group_close before it asks the loops to end the
	 * members; a layer about to add a member checks it (acquire) and
	 * refuses, so no member joins a group that is ending. */
	atomic_bool closing;
	int efd;                 /* eventfd: the last leave after closing */
};

static inline void
gnet__group_join(struct gnet_group *g)
{
	if (g != NULL)
		atomic_fetch_add_explicit(&g->live, 1, memory_order_relaxed);
}

/* The member is gone; wakes gnet_group_wait when it was the last. */
void gnet__group_leave(struct gnet_group *g);

static inline bool
gnet__group_closing(const struct gnet_group *g)
{
	return g != NULL && atomic_load_explicit(&g->closing,
	    memory_order_acquire);
}

#endif
