/*
 * A hash table of binary-safe keys, chained, with a power-of-two number
 * of buckets, for the keyspace and for the hash and set values. Growing
 * or shrinking is incremental, as in Redis: a second table is allocated
 * and each later lookup, insert or delete moves a bucket or so across,
 * so no single command pays for rehashing millions of keys.
 *
 * An entry holds its key inline (one allocation per key) and a value
 * pointer the caller owns. Entries never move in memory, even while
 * rehashing, so a caller may keep a pointer to one until it is deleted.
 * Allocations are counted in *used (see mem.h); the bucket tables only
 * when count_tables is set.
 *
 * Thread: one at a time (the shard's owner).
 */
#ifndef RESP_DICT_H
#define RESP_DICT_H

#include <stddef.h>
#include <stdint.h>

typedef struct ks_dict_entry {
	struct ks_dict_entry *next;
	void *val;
	uint64_t hash;
	size_t klen;
	char key[];
} ks_dict_entry_t;

typedef struct ks_dict {
	ks_dict_entry_t **table[2];
	size_t size[2];          /* buckets: 0 or a power of two */
	size_t count;            /* entries in both tables */
	size_t rehash_idx;       /* next bucket of table[0] to move */
	int rehashing;           /* table[1] is the target of a rehash */
	int count_tables;
	size_t *used;
} ks_dict_t;

typedef struct ks_dict_iter {
	const ks_dict_t *d;
	int table;
	size_t bucket;
	ks_dict_entry_t *next;
} ks_dict_iter_t;

/* A 64-bit hash of bytes (wyhash-style multiply-mix); seed picks one of
 * many independent functions. */
uint64_t ks_hash(const void *key, size_t len, uint64_t seed);

void ks_dict_init(ks_dict_t *d, size_t *used, int count_tables);
/* Delete every entry, calling free_val(ctx, val) on each value (may be
 * NULL); the dict is empty and usable afterwards. */
void ks_dict_clear(ks_dict_t *d, void (*free_val)(void *ctx, void *val),
    void *ctx);

static inline size_t ks_dict_size(const ks_dict_t *d) { return d->count; }
uint64_t ks_dict_hash(const void *key, size_t len);

ks_dict_entry_t *ks_dict_find(ks_dict_t *d, const void *key, size_t len);
/* Ask the CPU to fetch what a lookup of hash h will read, one level per
 * stage: 0 the bucket, 1 its first entry, 2 that entry's value. Called
 * for a batch of keys a stage at a time, the memory waits overlap
 * instead of coming one after another; a wrong guess costs nothing but
 * the fetch. */
void ks_dict_prefetch(const ks_dict_t *d, uint64_t h, int stage);
ks_dict_entry_t *ks_dict_find_h(ks_dict_t *d, const void *key, size_t len,
    uint64_t h);
/* Insert a key known to be absent (h = ks_dict_hash of it); NULL when out
 * of memory. The value is NULL. */
ks_dict_entry_t *ks_dict_insert_h(ks_dict_t *d, const void *key, size_t len,
    uint64_t h);
/* Find or insert: *added says which. NULL when out of memory. */
ks_dict_entry_t *ks_dict_add(ks_dict_t *d, const void *key, size_t len, int *added);
/* Unlink and free an entry (its value is the caller's). */
void ks_dict_delete_entry(ks_dict_t *d, ks_dict_entry_t *e);
/* A random entry, roughly uniform (NULL when empty); rnd(rctx) gives
 * random bits. */
ks_dict_entry_t *ks_dict_random(ks_dict_t *d, uint64_t (*rnd)(void *), void *rctx);

/* Visit every entry; the dict must not change meanwhile. */
void ks_dict_iter_init(ks_dict_iter_t *it, const ks_dict_t *d);
ks_dict_entry_t *ks_dict_next(ks_dict_iter_t *it);

#endif
