/*
 * The per-loop message node pool: chunked allocation, LIFO free list (the
 * most recently freed node is the one most likely still in cache).
 */
#include <stdlib.h>
#include "mailbox/msg.h"

typedef struct chunk {
	struct chunk *next;
	gnet__node_t nodes[GNET__POOL_CHUNK_NODES];
} chunk_t;

void
gnet__msgpool_init(gnet__msgpool_t *p)
{
	p->free = NULL;
	p->chunks = NULL;
	p->nodes_total = 0;
}

gnet__node_t *
gnet__msgpool_get_slow(gnet__msgpool_t *p)
{
	chunk_t *c = malloc(sizeof(*c));
	size_t i;

	if (c == NULL)
		return NULL;
	c->next = p->chunks;
	p->chunks = c;
	/* Node 0 is handed out; the rest go on the free list. */
	for (i = GNET__POOL_CHUNK_NODES - 1; i > 0; i--)
		gnet__msgpool_put(p, &c->nodes[i]);
	p->nodes_total += GNET__POOL_CHUNK_NODES;
	return &c->nodes[0];
}

void
gnet__msgpool_destroy(gnet__msgpool_t *p)
{
	chunk_t *c = p->chunks;

	while (c != NULL) {
		chunk_t *next = c->next;
		free(c);
		c = next;
	}
	gnet__msgpool_init(p);
}
