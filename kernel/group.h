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
 * more. So the member count reaching zero after the close began means
 * no loop can call into the owner again, which is what lets a host
 * dlclose a module.
 */
#ifndef GNET_KERNEL_GROUP_H
#define GNET_KERNEL_GROUP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include "gnet.h"

/* state: members times GNET__GROUP_MEMBER, plus GNET__GROUP_CLOSING. */
#define GNET__GROUP_CLOSING 1u
#define GNET__GROUP_MEMBER 2u

struct gnet_group {
	gnet_engine_t *eng;
	/* Members and the closing flag in one word. Members join and leave
	 * on loop threads (or the setup thread); the closer sets the flag
	 * once, before it asks the loops to end the members, and a layer
	 * about to add a member checks it (acquire) and refuses, so no
	 * member joins a group that is ending. One word, so exactly one
	 * change makes it "closing and empty" -- the close's, when nothing
	 * was left, or the last leave after it -- and that one alone tells
	 * the waiters (group_done in kernel/group.c).
	 * The signal is under the mutex, so it is the signaller's last
	 * touch of the group: a waiter that returns may free it at once.
	 */
	atomic_uint state;
	pthread_mutex_t mu;
	pthread_cond_t cv;       /* broadcast when done turns true */
	bool done;               /* under mu: closing and no member left */
};

static inline void
gnet__group_join(struct gnet_group *g)
{
	if (g != NULL)
		atomic_fetch_add_explicit(&g->state, GNET__GROUP_MEMBER,
		    memory_order_relaxed);
}

/* The member is gone; wakes gnet_group_wait when it was the last. */
void gnet__group_leave(struct gnet_group *g);

static inline bool
gnet__group_closing(const struct gnet_group *g)
{
	return g != NULL && (atomic_load_explicit(&g->state,
	    memory_order_acquire) & GNET__GROUP_CLOSING) != 0;
}

#endif
