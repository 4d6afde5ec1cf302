/*
 * Counted allocation for the keyspace: every block a shard allocates for
 * its keys and values goes through here, and its usable size is added to
 * (or taken from) the shard's byte counter. The counter is written only by
 * the owner loop and read by any (maxmemory is checked across shards), so
 * it is stored and loaded with relaxed atomics: a reader sees some recent
 * value, never a torn one.
 */
#ifndef RESP_MEM_H
#define RESP_MEM_H

#include <malloc.h>
#include <stdlib.h>

static inline void
ks_used_add(size_t *used, size_t n)
{
	__atomic_store_n(used, *used + n, __ATOMIC_RELAXED);
}

static inline void
ks_used_sub(size_t *used, size_t n)
{
	__atomic_store_n(used, *used - n, __ATOMIC_RELAXED);
}

static inline void *
ks_malloc(size_t *used, size_t n)
{
	void *p = malloc(n);

	if (p != NULL)
		ks_used_add(used, malloc_usable_size(p));
	return p;
}

static inline void
ks_free(size_t *used, void *p)
{
	if (p == NULL)
		return;
	ks_used_sub(used, malloc_usable_size(p));
	free(p);
}

#endif
