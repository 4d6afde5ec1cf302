/*
 * command.c -- the command table (command.h) and its lookup.
 *
 * Arity, flags and key positions are Redis 7.0's (COMMAND INFO), so a
 * client sees the same "wrong number of arguments" where Redis would
 * give it. A name is found through a small open-addressing index hashed
 * from its length and three of its letters, built once on first use:
 * about one probe and one comparison per command, on every request.
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include "command.h"
#include "keyspace.h"

#define W CMD_WRITE
#define R CMD_READONLY
#define M CMD_DENYOOM
#define F CMD_FAST
#define C CMD_CONN
#define S CMD_SCATTER
#define A CMD_ALL_SHARDS

static const resp_cmd_t table[] = {
	/* strings */
	{ "get", 2, R | F, 1, 1, 1, GATHER_NONE, cmd_get },
	{ "set", -3, W | M, 1, 1, 1, GATHER_NONE, cmd_set },
	{ "getset", 3, W | M | F, 1, 1, 1, GATHER_NONE, cmd_getset },
	{ "setnx", 3, W | M | F, 1, 1, 1, GATHER_NONE, cmd_setnx },
	{ "mset", -3, W | M | S, 1, -1, 2, GATHER_OK, cmd_mset },
	{ "mget", -2, R | F | S, 1, -1, 1, GATHER_ARRAY, cmd_mget },
	{ "incr", 2, W | M | F, 1, 1, 1, GATHER_NONE, cmd_incr },
	{ "decr", 2, W | M | F, 1, 1, 1, GATHER_NONE, cmd_decr },
	{ "incrby", 3, W | M | F, 1, 1, 1, GATHER_NONE, cmd_incrby },
	{ "decrby", 3, W | M | F, 1, 1, 1, GATHER_NONE, cmd_decrby },
	{ "append", 3, W | M | F, 1, 1, 1, GATHER_NONE, cmd_append },
	{ "strlen", 2, R | F, 1, 1, 1, GATHER_NONE, cmd_strlen },
	/* keys */
	{ "del", -2, W | S, 1, -1, 1, GATHER_SUM, cmd_del },
	{ "exists", -2, R | F | S, 1, -1, 1, GATHER_SUM, cmd_exists },
	{ "expire", -3, W | F, 1, 1, 1, GATHER_NONE, cmd_expire },
	{ "pexpire", -3, W | F, 1, 1, 1, GATHER_NONE, cmd_pexpire },
	{ "ttl", 2, R | F, 1, 1, 1, GATHER_NONE, cmd_ttl },
	{ "pttl", 2, R | F, 1, 1, 1, GATHER_NONE, cmd_pttl },
	{ "persist", 2, W | F, 1, 1, 1, GATHER_NONE, cmd_persist },
	{ "type", 2, R | F, 1, 1, 1, GATHER_NONE, cmd_type },
	/* lists */
	{ "lpush", -3, W | M | F, 1, 1, 1, GATHER_NONE, cmd_lpush },
	{ "rpush", -3, W | M | F, 1, 1, 1, GATHER_NONE, cmd_rpush },
	{ "lpop", -2, W | F, 1, 1, 1, GATHER_NONE, cmd_lpop },
	{ "rpop", -2, W | F, 1, 1, 1, GATHER_NONE, cmd_rpop },
	{ "llen", 2, R | F, 1, 1, 1, GATHER_NONE, cmd_llen },
	{ "lrange", 4, R, 1, 1, 1, GATHER_NONE, cmd_lrange },
	{ "lindex", 3, R, 1, 1, 1, GATHER_NONE, cmd_lindex },
	/* hashes */
	{ "hset", -4, W | M | F, 1, 1, 1, GATHER_NONE, cmd_hset },
	{ "hget", 3, R | F, 1, 1, 1, GATHER_NONE, cmd_hget },
	{ "hdel", -3, W | F, 1, 1, 1, GATHER_NONE, cmd_hdel },
	{ "hgetall", 2, R, 1, 1, 1, GATHER_NONE, cmd_hgetall },
	{ "hlen", 2, R | F, 1, 1, 1, GATHER_NONE, cmd_hlen },
	/* sets */
	{ "sadd", -3, W | M | F, 1, 1, 1, GATHER_NONE, cmd_sadd },
	{ "srem", -3, W | F, 1, 1, 1, GATHER_NONE, cmd_srem },
	{ "smembers", 2, R, 1, 1, 1, GATHER_NONE, cmd_smembers },
	{ "scard", 2, R | F, 1, 1, 1, GATHER_NONE, cmd_scard },
	{ "sismember", 3, R | F, 1, 1, 1, GATHER_NONE, cmd_sismember },
	{ "spop", -2, W | F, 1, 1, 1, GATHER_NONE, cmd_spop },
	/* every shard */
	{ "dbsize", 1, R | F | A, 0, 0, 0, GATHER_SUM, cmd_dbsize },
	{ "flushdb", -1, W | A, 0, 0, 0, GATHER_OK, cmd_flushdb },
	{ "flushall", -1, W | A, 0, 0, 0, GATHER_OK, cmd_flushall },
	/* the connection's (conn.c) */
	{ "ping", -1, F | C, 0, 0, 0, GATHER_NONE, NULL },
	{ "echo", 2, F | C, 0, 0, 0, GATHER_NONE, NULL },
	{ "quit", -1, F | C, 0, 0, 0, GATHER_NONE, NULL },
	{ "select", 2, F | C, 0, 0, 0, GATHER_NONE, NULL },
	{ "hello", -1, F | C, 0, 0, 0, GATHER_NONE, NULL },
	{ "client", -2, C, 0, 0, 0, GATHER_NONE, NULL },
	{ "command", -1, C, 0, 0, 0, GATHER_NONE, NULL },
	{ "config", -2, C, 0, 0, 0, GATHER_NONE, NULL },
	{ "info", -1, C, 0, 0, 0, GATHER_NONE, NULL },
};

#define NCMDS (sizeof(table) / sizeof(table[0]))
#define INDEX_SIZE 256           /* a power of two, over 4x the commands */
#define NAME_MAX_LEN 16          /* no command name is longer */

/* Slot + 1 of each command (0: empty). */
static uint8_t cmd_index[INDEX_SIZE];
static uint8_t name_len[NCMDS];
static pthread_once_t index_once = PTHREAD_ONCE_INIT;

/* OR-ing 0x20 lower-cases a letter; names have nothing but letters, so
 * a byte that is not one can never match after it either. */
static inline unsigned
name_hash(const char *s, size_t len)
{
	unsigned a = (unsigned char)s[0] | 0x20;
	unsigned b = (unsigned char)s[len / 2] | 0x20;
	unsigned c = (unsigned char)s[len - 1] | 0x20;

	return (unsigned)(len * 7 + a * 31 + b * 17 + c * 131) &
	    (INDEX_SIZE - 1);
}

static void
index_build(void)
{
	for (size_t i = 0; i < NCMDS; i++) {
		size_t len = strlen(table[i].name);
		unsigned h = name_hash(table[i].name, len);

		name_len[i] = (uint8_t)len;

		while (cmd_index[h] != 0)
			h = (h + 1) & (INDEX_SIZE - 1);
		cmd_index[h] = (uint8_t)(i + 1);
	}
}

const resp_cmd_t *
cmd_lookup(const char *name, size_t len)
{
	unsigned h;

	if (len == 0 || len > NAME_MAX_LEN)
		return NULL;
	pthread_once(&index_once, index_build);
	for (h = name_hash(name, len); cmd_index[h] != 0;
	    h = (h + 1) & (INDEX_SIZE - 1)) {
		const resp_cmd_t *c = &table[cmd_index[h] - 1];
		size_t i;

		if (name_len[cmd_index[h] - 1] != len)
			continue;
		for (i = 0; i < len; i++)
			if (((unsigned char)name[i] | 0x20) !=
			    (unsigned char)c->name[i])
				break;
		if (i == len)
			return c;
	}
	return NULL;
}

const resp_cmd_t *
cmd_table(size_t *count)
{
	*count = NCMDS;
	return table;
}
