/*
 * The built-in actors: the ticker and the blocking-worker pool. Each is an
 * engine extension (kernel/ext.h) with an actor kind of its own; net/
 * composes them into every engine (net/engine.c). Not a public header.
 */
#ifndef GNET_ACTORS_ACTORS_H
#define GNET_ACTORS_ACTORS_H

#include <stdbool.h>
#include "kernel/kernel.h"

/* ---- message types: [GNET__ACTORS_MSG_FIRST, GNET__ACTORS_MSG_END) ---- */
enum {
	GNET__ACTORS_MSG_FIRST = 48,
	GNET__MSG_TICK = GNET__ACTORS_MSG_FIRST, /* timer to the ticker */
	GNET__MSG_POOL_WAIT,   /* to the pool actor: a = the handle to wake
	                        * when the queue has room */
	GNET__MSG_POOL_ROOM,   /* to the pool actor: a worker took a job */
	GNET__MSG_POOL_RESUME, /* from the pool actor to a waiter: there is
	                        * room; send POOL_ROOM if no longer needed */
	GNET__ACTORS_MSG_END
};

/* actors/ticker.c: on loop 0 when the program sets on_tick. */
extern const gnet__ext_t gnet__ticker_ext;

/* actors/worker_pool.c */
extern const gnet__ext_t gnet__pool_ext;

/*
 * Queue a job whose reply goes to reply_to. Never blocks and takes no
 * lock: a full queue is GNET_EAGAIN at once. With wake_when_room, a full
 * queue also registers reply_to with the pool actor, which sends it one
 * GNET__MSG_POOL_RESUME once a worker has taken a job; a waiter that no
 * longer needs it passes it on (gnet__pool_pass_on). Returns 0,
 * GNET_EAGAIN, GNET_ENOTSUP (no pool), GNET_ESTATE (not started),
 * GNET_ESHUTDOWN or GNET_EINVAL. Thread: any.
 */
int gnet__pool_submit(gnet_engine_t *eng, gnet_handle_t reply_to,
    gnet_job_fn fn, gnet_job_cancel_fn cancel, void *arg, bool wake_when_room);

/* A POOL_RESUME reached a waiter that no longer waits: give the room to
 * the next one. Thread: a loop of eng. */
void gnet__pool_pass_on(gnet_engine_t *eng);

#endif
