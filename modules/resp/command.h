/*
 * The command table: every command the module knows, with its arity and
 * where its keys are (Redis's first/last/step convention), which is how
 * a connection decides where a command runs:
 *   - no keys (CMD_CONN): on the connection's loop, by the connection
 *     (PING, ECHO, CLIENT, INFO...: conn.c);
 *   - one key: on the shard that owns it, found by hashing the key;
 *   - several keys (CMD_SCATTER): split per shard, each shard runs the
 *     same command over its keys, and the replies are gathered;
 *   - every shard (CMD_ALL_SHARDS: DBSIZE, FLUSHDB...): run on all,
 *     replies gathered.
 * Table and lookup are immutable: Thread: any.
 */
#ifndef RESP_COMMAND_H
#define RESP_COMMAND_H

#include <stddef.h>
#include "gnetmodule.h"
#include "reply.h"

typedef struct shard shard_t;

enum {
	CMD_WRITE = 1u << 0,      /* may change the keyspace */
	CMD_READONLY = 1u << 1,
	CMD_DENYOOM = 1u << 2,    /* refused over maxmemory */
	CMD_FAST = 1u << 3,
	CMD_CONN = 1u << 4,       /* run by the connection, not a shard */
	CMD_SCATTER = 1u << 5,    /* keys may live on several shards */
	CMD_ALL_SHARDS = 1u << 6  /* runs on every shard */
};

/* How a command's per-shard replies become one (CMD_SCATTER and
 * CMD_ALL_SHARDS). */
enum {
	GATHER_NONE = 0,
	GATHER_SUM,        /* integers added: DEL, EXISTS, DBSIZE */
	GATHER_OK,         /* +OK once all said OK: MSET, FLUSHDB */
	GATHER_ARRAY       /* one element per key, in key order: MGET */
};

typedef struct resp_cmd {
	const char *name;         /* lower case, as Redis names it */
	int arity;                /* n: exactly n arguments (the name
	                           * counted); -n: at least n */
	unsigned flags;           /* CMD_* */
	int first_key, last_key, key_step; /* last -1: the last argument */
	int gather;               /* GATHER_* */
	/* Run on the shard that owns the keys (or on every shard). The
	 * arity was checked; anything else the command checks itself, as
	 * Redis does, with Redis's error text. NULL for CMD_CONN. */
	void (*exec)(shard_t *sh, const GnetRespArg *argv, int argc,
	    reply_t *out);
} resp_cmd_t;

/* Case-insensitive; NULL for an unknown name. */
const resp_cmd_t *cmd_lookup(const char *name, size_t len);
/* All commands, for COMMAND and COMMAND COUNT. */
const resp_cmd_t *cmd_table(size_t *count);

#endif
