/*
 * Message nodes, the per-loop node pool and the intrusive FIFO.
 *
 * A message travels between threads by value inside a ck_ring slot. Once it
 * reaches its loop it waits in the destination actor's mailbox, a FIFO of
 * nodes taken from that loop's pool. Nodes are recycled, never freed on the
 * hot path, so delivering a message allocates nothing once the pool is warm.
 * Everything here is owner-thread only: no atomics.
 */
#ifndef GNET_MAILBOX_MSG_H
#define GNET_MAILBOX_MSG_H

#include <stddef.h>
#include <stdint.h>
#include "gnet.h"

typedef struct gnet__node {
	struct gnet__node *next;
	gnet_msg_t msg;
} gnet__node_t;

/*
 * A FIFO of nodes kept as a ring of links with only its tail: the tail's
 * next is the head. One pointer rather than two is what keeps a slot of a
 * loop's actor table (kernel/kernel.h), which holds one of these as the
 * actor's mailbox, at 48 bytes; every connection has a slot. Zeroed
 * memory is an empty FIFO.
 */
typedef struct gnet__fifo {
	gnet__node_t *tail;     /* NULL: empty */
	uint32_t len;
} gnet__fifo_t;

static inline void
gnet__fifo_push(gnet__fifo_t *q, gnet__node_t *n)
{
	if (q->tail == NULL) {
		n->next = n;
	} else {
		n->next = q->tail->next;
		q->tail->next = n;
	}
	q->tail = n;
	q->len++;
}

/* The oldest node, left in place; NULL when empty. */
static inline gnet__node_t *
gnet__fifo_peek(const gnet__fifo_t *q)
{
	return q->tail != NULL ? q->tail->next : NULL;
}

static inline gnet__node_t *
gnet__fifo_pop(gnet__fifo_t *q)
{
	gnet__node_t *t = q->tail, *n;

	if (t == NULL)
		return NULL;
	n = t->next;
	if (n == t)
		q->tail = NULL;
	else
		t->next = n->next;
	q->len--;
	return n;
}

/* Nodes come in chunks so a burst costs one allocation per chunk, and the
 * chunks are kept until the loop is destroyed. */
#define GNET__POOL_CHUNK_NODES 256

typedef struct gnet__msgpool {
	gnet__node_t *free;
	void *chunks;           /* singly linked list of chunk allocations */
	size_t nodes_total;     /* nodes ever carved out of chunks */
} gnet__msgpool_t;

void gnet__msgpool_init(gnet__msgpool_t *p);
void gnet__msgpool_destroy(gnet__msgpool_t *p);
/* NULL only when memory is exhausted. */
gnet__node_t *gnet__msgpool_get_slow(gnet__msgpool_t *p);

static inline gnet__node_t *
gnet__msgpool_get(gnet__msgpool_t *p)
{
	gnet__node_t *n = p->free;

	if (n == NULL)
		return gnet__msgpool_get_slow(p);
	p->free = n->next;
	return n;
}

static inline void
gnet__msgpool_put(gnet__msgpool_t *p, gnet__node_t *n)
{
	n->next = p->free;
	p->free = n;
}

#endif
