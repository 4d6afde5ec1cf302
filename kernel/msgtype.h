/*
 * Library message types. Types below GNET_MSG_USER belong to the library:
 * the kernel uses [1, GNET__MSG_KERNEL_END), and each layer above claims a
 * range of its own (the numbers live in that layer's header) at engine
 * creation, saying for each type what happens when a message of it cannot
 * be delivered.
 *
 * A message is undeliverable when its actor is gone (a stale handle) or
 * when it is still in flight as the engine stops. Whatever it owns -- a
 * descriptor, an allocation, a callback owed to the program -- is then
 * released by its type's drop function; the kernel never looks inside a
 * payload. A program's message (>= GNET_MSG_USER) goes to on_dropped.
 */
#ifndef GNET_KERNEL_MSGTYPE_H
#define GNET_KERNEL_MSGTYPE_H

#include <stdbool.h>
#include <stdint.h>
#include "gnet.h"

struct gnet__loop;

/* The kernel's own types. */
enum {
	GNET__MSG_STOP = 1,      /* to any actor: stop (gnet_actor_stop_async) */
	GNET__MSG_LOOP_CALL = 2, /* to a loop itself: a = function, b = its
	                          * argument (gnet__loop_call) */
	GNET__MSG_RECEIVING = 3, /* to any actor, past its mailbox: a = 0
	                          * mute, 1 resume (gnet_actor_set_receiving) */
	GNET__MSG_KERNEL_END = 16 /* the first type a layer above may claim */
};

typedef struct gnet__msgtype {
	const char *name;
	/* Release what m carries. l is the loop that found m undeliverable,
	 * or NULL when the engine stopped with m in flight (it then runs on
	 * the thread that ran the engine, or on a worker thread whose reply
	 * could not be queued). NULL: the type owns nothing. */
	void (*drop)(gnet_engine_t *eng, struct gnet__loop *l, const gnet_msg_t *m);
	/* A timer that fired after its actor ended: cancelled, not lost, so
	 * not counted as dropped. */
	bool timer;
} gnet__msgtype_t;

/* Ranges an engine can hold: the kernel's and one per layer or module. */
#define GNET__MSGTYPE_RANGES 8

/* Claim types [first, first + n) with defs[0..n) for eng. Returns 0, or
 * GNET_EINVAL when the range leaves the library's space or overlaps a
 * claimed one, GNET_ELIMIT when the engine holds no more ranges.
 * Thread: setup (engine creation). */
int gnet__msgtypes_claim(gnet_engine_t *eng, uint32_t first, uint32_t n,
    const gnet__msgtype_t *defs);

/* Claim the kernel's own range; the engine's creation does, first. */
int gnet__msgtypes_claim_kernel(gnet_engine_t *eng);

/* The definition of library type t, or NULL (unclaimed, or a user type). */
const gnet__msgtype_t *gnet__msgtype(const gnet_engine_t *eng, uint32_t t);

/* m could not be delivered: count it (on loop l, when not NULL) and
 * release what it owns. Thread: any. */
void gnet__msg_dropped(gnet_engine_t *eng, struct gnet__loop *l,
    const gnet_msg_t *m);

#endif
