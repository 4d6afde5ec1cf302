/*
 * A shard: one part of the keyspace, owned by one loop. Only the owner
 * loop touches it -- directly for its own connections' commands, through
 * its actor's messages for other loops' -- so nothing in it is locked.
 * Keys are spread over shards by shard_of(), which every loop computes
 * alike.
 *
 * Values are strings, lists, hashes and sets (Redis's encodings are not
 * imitated, only its replies). Expiry is lazy -- a key past its time is
 * deleted when a command touches it -- and active: shard_expire_cycle,
 * called from the owner loop's timer, samples keys with a time and
 * deletes the expired ones within a bounded effort. Memory the shard
 * allocates for keys and values is counted (the allocator's usable size
 * of each block, a value's own tables included; not the keyspace's
 * bucket table or the list of keys with a time), so maxmemory can be
 * enforced across shards without asking the allocator.
 *
 * Thread: the owner loop, except shard_of and shard_used_memory (any).
 */
#ifndef RESP_SHARD_H
#define RESP_SHARD_H

#include <stddef.h>
#include <stdint.h>
#include "gnetmodule.h"
#include "command.h"

/* Which of nshards owns a key. */
unsigned shard_of(const void *key, size_t len, unsigned nshards);

/* The hash shard_prefetch takes: the keyspace's own, not shard_of's. */
uint64_t shard_key_hash(const void *key, size_t len);
/* Warm the caches for a command about to run here on a key of hash h,
 * one stage (0, 1, 2) at a time over a whole batch of commands, so a
 * pipeline's memory waits overlap (dict.h's ks_dict_prefetch). */
void shard_prefetch(const shard_t *sh, uint64_t h, int stage);

shard_t *shard_new(int index);
void shard_free(shard_t *sh);

/* Run a command on this shard (cmd_lookup's entry, arity checked).
 * now_ms is the wall clock in milliseconds (expiry times are absolute,
 * as Redis keeps them). The reply is appended to out. */
void shard_exec(shard_t *sh, const resp_cmd_t *cmd, const GnetRespArg *argv,
    int argc, uint64_t now_ms, reply_t *out);

/* Keys, and keys with a time to live, not yet expired (INFO keyspace,
 * DBSIZE): expired keys not yet collected are not counted (Redis counts
 * them until collected). Cost: one look at each key with a time. */
size_t shard_keys(shard_t *sh, uint64_t now_ms);
size_t shard_expires(shard_t *sh, uint64_t now_ms);
void shard_flush(shard_t *sh);

/* Active expiry: look at up to `budget` keys with a time and delete the
 * expired ones. Returns how many were deleted. */
size_t shard_expire_cycle(shard_t *sh, uint64_t now_ms, size_t budget);

/* Bytes allocated for this shard's keys and values. Thread: any (a
 * relaxed load of a counter only the owner writes). */
size_t shard_used_memory(const shard_t *sh);
/* Counters for INFO stats. Thread: owner. */
typedef struct shard_stats {
	uint64_t keyspace_hits, keyspace_misses;
	uint64_t expired_keys;
} shard_stats_t;
void shard_get_stats(const shard_t *sh, shard_stats_t *out);

#endif
