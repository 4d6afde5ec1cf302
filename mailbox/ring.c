/*
 * Ring setup. The slot array is separate from the ring header, as ck
 * wants: the header holds the producer and consumer counters on their own
 * cache lines.
 */
#include <stdlib.h>
#include <string.h>
#include "mailbox/ring.h"

int
gnet__ring_init(gnet__ring_t *r, unsigned size)
{
	memset(r, 0, sizeof(*r));
	if (!gnet__ring_valid_size(size))
		return GNET_EINVAL;
	/* aligned_alloc wants a multiple of the alignment. */
	r->slots = aligned_alloc(GNET__CACHE_LINE,
	    (size * sizeof(gnet_msg_t) + GNET__CACHE_LINE - 1) &
	    ~(size_t)(GNET__CACHE_LINE - 1));
	if (r->slots == NULL)
		return GNET_ENOMEM;
	ck_ring_init(&r->ring, size);
	r->size = size;
	return 0;
}

void
gnet__ring_destroy(gnet__ring_t *r)
{
	free(r->slots);
	r->slots = NULL;
}
