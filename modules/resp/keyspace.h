/*
 * The keyspace inside a shard, shared by shard.c and the command files
 * (t_*.c): the value objects, the shard's fields, key lookup with lazy
 * expiry, and the argument parsing every command does alike.
 *
 * A key's value is a ks_obj_t. A string keeps its bytes inline, after
 * the header, with room to spare (the allocator's usable size), so SET
 * over a string of about the same size and INCR rewrite them in place.
 * A list is a ring of elements; a hash is a dict of field -> ks_elem_t;
 * a set is a dict of members with no values.
 *
 * Keys with a time are also in an array (shard.exp), each object knowing
 * its slot, so active expiry can walk them and a key can leave it in
 * O(1).
 *
 * Thread: the shard's owner.
 */
#ifndef RESP_KEYSPACE_H
#define RESP_KEYSPACE_H

#include <stddef.h>
#include <stdint.h>
#include "dict.h"
#include "reply.h"
#include "shard.h"
#include "util.h"

enum { KS_STRING, KS_LIST, KS_HASH, KS_SET };

/* A list element or a hash field's value. */
typedef struct ks_elem {
	size_t len;
	char data[];
} ks_elem_t;

typedef struct ks_list {
	ks_elem_t **ring;        /* cap slots, a power of two */
	size_t head, len, cap;
} ks_list_t;

typedef struct ks_obj {
	uint64_t expire_ms;      /* absolute; 0: none */
	size_t exp_slot;         /* index in shard.exp when expire_ms */
	unsigned type;           /* KS_* */
	size_t len, cap;         /* a string's bytes in data, and its room */
	void *ptr;               /* ks_list_t (list) or ks_dict_t (hash, set) */
	char data[];
} ks_obj_t;

struct shard {
	int index;
	ks_dict_t keys;             /* key -> ks_obj_t */
	ks_dict_entry_t **exp;      /* keys with a time, in no order */
	size_t nexp, exp_cap, exp_cursor;
	uint64_t now_ms;         /* of the command running */
	uint64_t rng;            /* xorshift state for SPOP */
	size_t used;             /* counted bytes: see mem.h */
	shard_stats_t stats;
};

/* Redis's limit on a string's size (proto-max-bulk-len's default). */
#define KS_MAX_STRING (512ll * 1024 * 1024)

#define KS_ERR_NOMEM "ERR out of memory"

/* Lookups, deleting the key first if its time has passed. The read form
 * counts a keyspace hit or miss, as Redis's lookupKeyRead does. */
ks_dict_entry_t *ks_lookup(shard_t *sh, const GnetRespArg *key);
ks_dict_entry_t *ks_lookup_read(shard_t *sh, const GnetRespArg *key);
/* WRONGTYPE is replied and 1 returned if e holds another type. */
int ks_wrongtype(const ks_dict_entry_t *e, unsigned type, reply_t *out);

/* Delete a key and its value. */
void ks_delete(shard_t *sh, ks_dict_entry_t *e);
/* Set a key to a string, replacing any value; e is the key's entry
 * from ks_lookup, or NULL if it is absent. Its time is dropped unless
 * keepttl. NULL when out of memory (the value is then unchanged). */
ks_dict_entry_t *ks_set_string(shard_t *sh, const GnetRespArg *key,
    ks_dict_entry_t *e, const void *val, size_t len, int keepttl);
/* Make a string object's bytes these, reusing its room when it fits;
 * the entry's value may move. -1 when out of memory (value unchanged). */
int ks_string_assign(shard_t *sh, ks_dict_entry_t *e, const void *val,
    size_t len);
/* Append to a string object, growing its room geometrically so that
 * appending in small steps stays linear. -1 when out of memory. */
int ks_string_append(shard_t *sh, ks_dict_entry_t *e, const void *p,
    size_t len);
/* A new key (known absent) holding an empty list, hash or set. */
ks_dict_entry_t *ks_add_container(shard_t *sh, const GnetRespArg *key,
    unsigned type);
/* HDEL and SREM: remove argv[2..) from the hash or set at argv[1] (of
 * `type`), deleting the key once it is empty; replies the count. */
void ks_remove_members(shard_t *sh, const GnetRespArg *argv, int argc,
    unsigned type, reply_t *out);
void ks_set_expire(shard_t *sh, ks_dict_entry_t *e, uint64_t when_ms);
/* 1 if the key had a time. */
int ks_persist(shard_t *sh, ks_dict_entry_t *e);
static inline ks_obj_t *ks_obj(const ks_dict_entry_t *e) { return e->val; }

/* Elements (list items, hash values). */
ks_elem_t *ks_elem_new(shard_t *sh, const void *p, size_t len);
void ks_elem_free(shard_t *sh, ks_elem_t *el);

/* Lists: push at the head (left) or tail; pop from either end. */
int ks_list_push(shard_t *sh, ks_list_t *l, ks_elem_t *el, int left);
ks_elem_t *ks_list_pop(shard_t *sh, ks_list_t *l, int left);
static inline ks_elem_t *
ks_list_at(const ks_list_t *l, size_t i)
{
	return l->ring[(l->head + i) & (l->cap - 1)];
}

uint64_t ks_random(void *shard);

/* The commands (command.c's table points at them). */
#define KS_CMD(name) void name(shard_t *sh, const GnetRespArg *argv, \
    int argc, reply_t *out)
KS_CMD(cmd_set); KS_CMD(cmd_get); KS_CMD(cmd_getset); KS_CMD(cmd_setnx);
KS_CMD(cmd_mset); KS_CMD(cmd_mget); KS_CMD(cmd_incr); KS_CMD(cmd_decr);
KS_CMD(cmd_incrby); KS_CMD(cmd_decrby); KS_CMD(cmd_append);
KS_CMD(cmd_strlen);
KS_CMD(cmd_del); KS_CMD(cmd_exists); KS_CMD(cmd_expire);
KS_CMD(cmd_pexpire); KS_CMD(cmd_ttl); KS_CMD(cmd_pttl);
KS_CMD(cmd_persist); KS_CMD(cmd_type); KS_CMD(cmd_dbsize);
KS_CMD(cmd_flushdb); KS_CMD(cmd_flushall);
KS_CMD(cmd_lpush); KS_CMD(cmd_rpush); KS_CMD(cmd_lpop); KS_CMD(cmd_rpop);
KS_CMD(cmd_llen); KS_CMD(cmd_lrange); KS_CMD(cmd_lindex);
KS_CMD(cmd_hset); KS_CMD(cmd_hget); KS_CMD(cmd_hdel); KS_CMD(cmd_hgetall);
KS_CMD(cmd_hlen);
KS_CMD(cmd_sadd); KS_CMD(cmd_srem); KS_CMD(cmd_smembers);
KS_CMD(cmd_scard); KS_CMD(cmd_sismember); KS_CMD(cmd_spop);

#endif
