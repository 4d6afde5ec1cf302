/*
 * check_resp_keyspace -- unit suite "resp_keyspace": the resp module's
 * keyspace (modules/resp: reply.h, command.h, shard.h) driven through
 * shard_exec with argv arrays, no sockets.
 *
 * The scripted steps below run on a fresh shard each, with the caller's
 * part (lookup, arity) done as the connection does it; their expected
 * bytes were taken from a live redis-server 7.0.15 fed the same commands
 * after a FLUSHALL (replies that depend on time or chance are left to the
 * hand-written cases, which control now_ms and compare as sets).
 *
 * Covers: every string, key, list, hash, set and whole-shard command and
 * their errors; the command table's arity and flags against Redis's
 * COMMAND INFO and case-insensitive lookup; lazy expiry at and after a
 * key's time; TTL rounding; active expiry within its budget; binary keys
 * and values; values rewritten in place by SET and INCR; MGET/DEL/EXISTS
 * split over shards and gathered; shard_of's spread; memory accounting
 * back to where it started after DEL and FLUSHDB; the reply builder's
 * formats and its shrink on reset; a 64 MiB value; SPOP and SMEMBERS as
 * sets; hashes and lists big enough to rehash and wrap.
 */
#include <check.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modules/resp/command.h"
#include "modules/resp/keyspace.h"
#include "modules/resp/reply.h"
#include "modules/resp/shard.h"
#include "support/testnet.h"

#define TCASE_TIMEOUT_S 120
#define MAX_ARGS 64
#define T0 1700000000000ull      /* a wall clock in ms, as shard_exec gets */

typedef struct step {
	const char *cmd;         /* arguments split on blanks; "a b" is one */
	const char *reply;
} step_t;

/* A command line split into arguments: blanks separate them, and a
 * double-quoted one may hold blanks or be empty. */
typedef struct args {
	char buf[1024];
	GnetRespArg argv[MAX_ARGS];
	int argc;
} args_t;

static void
split(args_t *a, const char *line)
{
	char *p = a->buf;

	ck_assert_uint_lt(strlen(line), sizeof(a->buf));
	a->argc = 0;
	while (*line != '\0') {
		const char *end;

		if (*line == ' ') {
			line++;
			continue;
		}
		ck_assert_int_lt(a->argc, MAX_ARGS);
		if (*line == '"') {
			end = strchr(line + 1, '"');
			ck_assert_ptr_nonnull(end);
			memcpy(p, line + 1, (size_t)(end - line - 1));
			a->argv[a->argc].ptr = p;
			a->argv[a->argc++].len = (size_t)(end - line - 1);
			p += end - line - 1;
			line = end + 1;
		} else {
			end = strchr(line, ' ');
			if (end == NULL)
				end = line + strlen(line);
			memcpy(p, line, (size_t)(end - line));
			a->argv[a->argc].ptr = p;
			a->argv[a->argc++].len = (size_t)(end - line);
			p += end - line;
			line = end;
		}
	}
}

/* What the connection does before shard_exec: find the command, check
 * its arity. */
static void
exec_argv(shard_t *sh, const GnetRespArg *argv, int argc, uint64_t now,
    reply_t *out)
{
	const resp_cmd_t *c = cmd_lookup(argv[0].ptr, argv[0].len);

	ck_assert_msg(c != NULL, "unknown command %.*s", (int)argv[0].len,
	    argv[0].ptr);
	if ((c->arity > 0 && argc != c->arity) ||
	    (c->arity < 0 && argc < -c->arity)) {
		reply_errorf(out,
		    "ERR wrong number of arguments for '%s' command", c->name);
		return;
	}
	shard_exec(sh, c, argv, argc, now, out);
}

/* Run a command line; the reply is left in *out (reset first). */
static void
run(shard_t *sh, uint64_t now, const char *line, reply_t *out)
{
	args_t a;

	split(&a, line);
	reply_reset(out);
	exec_argv(sh, a.argv, a.argc, now, out);
	ck_assert(!out->failed);
}

static void
expect(shard_t *sh, uint64_t now, const char *line, const char *want)
{
	reply_t r;

	reply_init(&r);
	run(sh, now, line, &r);
	ck_assert_msg(r.len == strlen(want) && memcmp(r.buf, want, r.len) == 0,
	    "%s: got \"%.*s\", want \"%s\"", line, (int)r.len, r.buf, want);
	reply_free(&r);
}

static void
run_steps(const step_t *steps)
{
	shard_t *sh = shard_new(0);

	ck_assert_ptr_nonnull(sh);
	for (const step_t *s = steps; s->cmd != NULL; s++)
		expect(sh, T0, s->cmd, s->reply);
	shard_flush(sh);
	ck_assert_uint_eq(shard_used_memory(sh), 0);
	shard_free(sh);
}

/* The scripts, with Redis 7.0.15's replies. */

/* steps_set */
static const step_t steps_set[] = {
	{ "set k v EX 0",
	    "-ERR invalid expire time in 'set' command\r\n" },
	{ "set k v EX -1",
	    "-ERR invalid expire time in 'set' command\r\n" },
	{ "set k v EX abc",
	    "-ERR value is not an integer or out of range\r\n" },
	{ "set k v EX 10 PX 10",
	    "-ERR syntax error\r\n" },
	{ "set k v NX XX",
	    "-ERR syntax error\r\n" },
	{ "set k v XX NX",
	    "-ERR syntax error\r\n" },
	{ "set k v KEEPTTL EX 10",
	    "-ERR syntax error\r\n" },
	{ "set k v EX 10 KEEPTTL",
	    "-ERR syntax error\r\n" },
	{ "set k v PXAT 10 EXAT 10",
	    "-ERR syntax error\r\n" },
	{ "set k v EX 9223372036854775807",
	    "-ERR invalid expire time in 'set' command\r\n" },
	{ "set k v PX 9223372036854775807",
	    "-ERR invalid expire time in 'set' command\r\n" },
	{ "set k v EX",
	    "-ERR syntax error\r\n" },
	{ "set k v PX",
	    "-ERR syntax error\r\n" },
	{ "set k v FOO",
	    "-ERR syntax error\r\n" },
	{ "exists k",
	    ":0\r\n" },
	{ "set k v nx get",
	    "$-1\r\n" },
	{ "set k v2 nx get",
	    "$1\r\nv\r\n" },
	{ "get k",
	    "$1\r\nv\r\n" },
	{ "set k v3 xx get",
	    "$1\r\nv\r\n" },
	{ "get k",
	    "$2\r\nv3\r\n" },
	{ "set k v4 get",
	    "$2\r\nv3\r\n" },
	{ "set k v ex 100 ex 100",
	    "+OK\r\n" },
	{ "set k v nx nx",
	    "$-1\r\n" },
	{ "set k v get get",
	    "$1\r\nv\r\n" },
	{ "set k v px 5000 keepttl",
	    "-ERR syntax error\r\n" },
	{ "set k v xx xx",
	    "+OK\r\n" },
	{ "rpush l a",
	    ":1\r\n" },
	{ "set l v get",
	    "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n" },
	{ "set l v nx get",
	    "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n" },
	{ "set l v xx get",
	    "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n" },
	{ "lrange l 0 -1",
	    "*1\r\n$1\r\na\r\n" },
	{ "set nokey v xx get",
	    "$-1\r\n" },
	{ "exists nokey",
	    ":0\r\n" },
	{ "set nokey v xx",
	    "$-1\r\n" },
	{ "set nokey2 v NX",
	    "+OK\r\n" },
	{ "set nokey2 w NX",
	    "$-1\r\n" },
	{ "get nokey2",
	    "$1\r\nv\r\n" },
	{ "set l x",
	    "+OK\r\n" },
	{ "type l",
	    "+string\r\n" },
	{ "get l",
	    "$1\r\nx\r\n" },
	{ "SET Up vv eX 100",
	    "+OK\r\n" },
	{ "ttl Up",
	    ":100\r\n" },
	{ "set Up vv2 keepttl",
	    "+OK\r\n" },
	{ "ttl Up",
	    ":100\r\n" },
	{ "set Up vv3",
	    "+OK\r\n" },
	{ "ttl Up",
	    ":-1\r\n" },
	{ "set Up vv4 XX EX 50 GET",
	    "$3\r\nvv3\r\n" },
	{ "ttl Up",
	    ":50\r\n" },
	{ "get nokey3",
	    "$-1\r\n" },
	{ NULL, NULL }
};

/* steps_string_misc */
static const step_t steps_string_misc[] = {
	{ "rpush l a",
	    ":1\r\n" },
	{ "getset l x",
	    "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n" },
	{ "getset gs a",
	    "$-1\r\n" },
	{ "getset gs b",
	    "$1\r\na\r\n" },
	{ "get gs",
	    "$1\r\nb\r\n" },
	{ "append l x",
	    "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n" },
	{ "strlen l",
	    "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n" },
	{ "get l",
	    "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n" },
	{ "incr l",
	    "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n" },
	{ "decr l",
	    "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n" },
	{ "incrby l 1",
	    "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n" },
	{ "decrby l 1",
	    "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n" },
	{ "set k v",
	    "+OK\r\n" },
	{ "incr k",
	    "-ERR value is not an integer or out of range\r\n" },
	{ "set n \" 1\"",
	    "+OK\r\n" },
	{ "incr n",
	    "-ERR value is not an integer or out of range\r\n" },
	{ "set n 01",
	    "+OK\r\n" },
	{ "incr n",
	    "-ERR value is not an integer or out of range\r\n" },
	{ "set n -0",
	    "+OK\r\n" },
	{ "incr n",
	    "-ERR value is not an integer or out of range\r\n" },
	{ "set n 1a",
	    "+OK\r\n" },
	{ "incr n",
	    "-ERR value is not an integer or out of range\r\n" },
	{ "set n 9223372036854775807",
	    "+OK\r\n" },
	{ "incr n",
	    "-ERR increment or decrement would overflow\r\n" },
	{ "get n",
	    "$19\r\n9223372036854775807\r\n" },
	{ "incrby n abc",
	    "-ERR value is not an integer or out of range\r\n" },
	{ "decrby n -9223372036854775808",
	    "-ERR decrement would overflow\r\n" },
	{ "set m -9223372036854775808",
	    "+OK\r\n" },
	{ "decr m",
	    "-ERR increment or decrement would overflow\r\n" },
	{ "decrby m 1",
	    "-ERR increment or decrement would overflow\r\n" },
	{ "incrby m -1",
	    "-ERR increment or decrement would overflow\r\n" },
	{ "set z 10",
	    "+OK\r\n" },
	{ "incr z",
	    ":11\r\n" },
	{ "decr z",
	    ":10\r\n" },
	{ "incrby z 100",
	    ":110\r\n" },
	{ "decrby z 20",
	    ":90\r\n" },
	{ "incrby z -1000",
	    ":-910\r\n" },
	{ "decrby z -9223372036854775808",
	    "-ERR decrement would overflow\r\n" },
	{ "incrby z 01",
	    "-ERR value is not an integer or out of range\r\n" },
	{ "get z",
	    "$4\r\n-910\r\n" },
	{ "incr newc",
	    ":1\r\n" },
	{ "decr newd",
	    ":-1\r\n" },
	{ "incrby newe -5",
	    ":-5\r\n" },
	{ "decrby newf 5",
	    ":-5\r\n" },
	{ "set ex 5",
	    "+OK\r\n" },
	{ "expire ex 100",
	    ":1\r\n" },
	{ "incr ex",
	    ":6\r\n" },
	{ "ttl ex",
	    ":100\r\n" },
	{ "mset a 1 b",
	    "-ERR wrong number of arguments for 'mset' command\r\n" },
	{ "mset a 1 b 2",
	    "+OK\r\n" },
	{ "mset a 3 a 4",
	    "+OK\r\n" },
	{ "get a",
	    "$1\r\n4\r\n" },
	{ "mget a b l nokey",
	    "*4\r\n$1\r\n4\r\n$1\r\n2\r\n$-1\r\n$-1\r\n" },
	{ "exists a a b nokey",
	    ":3\r\n" },
	{ "del a a b nokey",
	    ":2\r\n" },
	{ "exists a",
	    ":0\r\n" },
	{ "setnx a 1",
	    ":1\r\n" },
	{ "setnx a 2",
	    ":0\r\n" },
	{ "setnx l 2",
	    ":0\r\n" },
	{ "get a",
	    "$1\r\n1\r\n" },
	{ "append a xyz",
	    ":4\r\n" },
	{ "append newk abc",
	    ":3\r\n" },
	{ "strlen newk",
	    ":3\r\n" },
	{ "strlen nokey",
	    ":0\r\n" },
	{ "append newk \"\"",
	    ":3\r\n" },
	{ "get newk",
	    "$3\r\nabc\r\n" },
	{ NULL, NULL }
};

/* steps_keys */
static const step_t steps_keys[] = {
	{ "set s v",
	    "+OK\r\n" },
	{ "expire s 100 nx xx",
	    "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n" },
	{ "expire s 100 gt lt",
	    "-ERR GT and LT options at the same time are not compatible\r\n" },
	{ "expire s 100 nx gt",
	    "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n" },
	{ "expire s 100 nx lt",
	    "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n" },
	{ "expire s 100 xx gt",
	    ":0\r\n" },
	{ "expire s 100 foo",
	    "-ERR Unsupported option foo\r\n" },
	{ "expire s abc foo",
	    "-ERR Unsupported option foo\r\n" },
	{ "expire s abc",
	    "-ERR value is not an integer or out of range\r\n" },
	{ "expire nokey 100",
	    ":0\r\n" },
	{ "expire nokey abc",
	    "-ERR value is not an integer or out of range\r\n" },
	{ "expire s 9223372036854775807",
	    "-ERR invalid expire time in 'expire' command\r\n" },
	{ "expire s 9223372036854775",
	    "-ERR invalid expire time in 'expire' command\r\n" },
	{ "expire s -9223372036854775808",
	    "-ERR invalid expire time in 'expire' command\r\n" },
	{ "pexpire s 9223372036854775807",
	    "-ERR invalid expire time in 'pexpire' command\r\n" },
	{ "pexpire s -9223372036854775808",
	    ":1\r\n" },
	{ "expire s 100 xx",
	    ":0\r\n" },
	{ "ttl s",
	    ":-2\r\n" },
	{ "expire s 100 gt",
	    ":0\r\n" },
	{ "expire s 100 lt",
	    ":0\r\n" },
	{ "expire s 100 NX",
	    ":0\r\n" },
	{ "expire s 200 gt",
	    ":0\r\n" },
	{ "expire s 100 gt",
	    ":0\r\n" },
	{ "expire s 300 lt",
	    ":0\r\n" },
	{ "expire s 100 lt",
	    ":0\r\n" },
	{ "expire s 200 lt xx",
	    ":0\r\n" },
	{ "ttl s",
	    ":-2\r\n" },
	{ "pexpire s 50000",
	    ":0\r\n" },
	{ "ttl s",
	    ":-2\r\n" },
	{ "pttl nokey",
	    ":-2\r\n" },
	{ "ttl nokey",
	    ":-2\r\n" },
	{ "persist s",
	    ":0\r\n" },
	{ "persist s",
	    ":0\r\n" },
	{ "persist nokey",
	    ":0\r\n" },
	{ "ttl s",
	    ":-2\r\n" },
	{ "expire s 100 lt",
	    ":0\r\n" },
	{ "ttl s",
	    ":-2\r\n" },
	{ "expire s 0",
	    ":0\r\n" },
	{ "exists s",
	    ":0\r\n" },
	{ "ttl s",
	    ":-2\r\n" },
	{ "set s v",
	    "+OK\r\n" },
	{ "pexpire s -5",
	    ":1\r\n" },
	{ "exists s",
	    ":0\r\n" },
	{ "set s v",
	    "+OK\r\n" },
	{ "expire s 100 gt",
	    ":0\r\n" },
	{ "type s",
	    "+string\r\n" },
	{ "type nokey",
	    "+none\r\n" },
	{ "rpush l a b c",
	    ":3\r\n" },
	{ "type l",
	    "+list\r\n" },
	{ "hset h f v",
	    ":1\r\n" },
	{ "type h",
	    "+hash\r\n" },
	{ "sadd st m",
	    ":1\r\n" },
	{ "type st",
	    "+set\r\n" },
	{ "expire l 1000",
	    ":1\r\n" },
	{ "ttl l",
	    ":1000\r\n" },
	{ "del s l h st nokey",
	    ":4\r\n" },
	{ "dbsize",
	    ":0\r\n" },
	{ NULL, NULL }
};

/* steps_list */
static const step_t steps_list[] = {
	{ "set s v",
	    "+OK\r\n" },
	{ "lpop s",
	    "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n" },
	{ "lpush s a",
	    "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n" },
	{ "rpush l a b c",
	    ":3\r\n" },
	{ "lpop l -1",
	    "-ERR value is out of range, must be positive\r\n" },
	{ "lpop l abc",
	    "-ERR value is out of range, must be positive\r\n" },
	{ "lpop nokey 1",
	    "*-1\r\n" },
	{ "lpop nokey",
	    "$-1\r\n" },
	{ "rpop nokey 1",
	    "*-1\r\n" },
	{ "rpop nokey",
	    "$-1\r\n" },
	{ "lpop nokey abc",
	    "-ERR value is out of range, must be positive\r\n" },
	{ "lpop l 0",
	    "*0\r\n" },
	{ "lpop s 0",
	    "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n" },
	{ "lpop nokey 0",
	    "*-1\r\n" },
	{ "lpop l 1 2",
	    "-ERR wrong number of arguments for 'lpop' command\r\n" },
	{ "rpop l 1 2",
	    "-ERR wrong number of arguments for 'rpop' command\r\n" },
	{ "lpop l 1",
	    "*1\r\n$1\r\na\r\n" },
	{ "rpop l 5",
	    "*2\r\n$1\r\nc\r\n$1\r\nb\r\n" },
	{ "exists l",
	    ":0\r\n" },
	{ "rpush l a b c d e",
	    ":5\r\n" },
	{ "lpush l z y",
	    ":7\r\n" },
	{ "lrange l 0 -1",
	    "*7\r\n$1\r\ny\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n" },
	{ "lrange l -100 100",
	    "*7\r\n$1\r\ny\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n" },
	{ "lrange l 3 1",
	    "*0\r\n" },
	{ "lrange l 7 10",
	    "*0\r\n" },
	{ "lrange l -1 -1",
	    "*1\r\n$1\r\ne\r\n" },
	{ "lrange l -3 -2",
	    "*2\r\n$1\r\nc\r\n$1\r\nd\r\n" },
	{ "lrange l 1 1",
	    "*1\r\n$1\r\nz\r\n" },
	{ "lrange l a b",
	    "-ERR value is not an integer or out of range\r\n" },
	{ "lrange l 0 b",
	    "-ERR value is not an integer or out of range\r\n" },
	{ "lrange nokey a 1",
	    "-ERR value is not an integer or out of range\r\n" },
	{ "lrange nokey 0 1",
	    "*0\r\n" },
	{ "lrange s 0 1",
	    "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n" },
	{ "lrange s a 1",
	    "-ERR value is not an integer or out of range\r\n" },
	{ "lindex l -1",
	    "$1\r\ne\r\n" },
	{ "lindex l 0",
	    "$1\r\ny\r\n" },
	{ "lindex l 6",
	    "$1\r\ne\r\n" },
	{ "lindex l 7",
	    "$-1\r\n" },
	{ "lindex l -7",
	    "$1\r\ny\r\n" },
	{ "lindex l -8",
	    "$-1\r\n" },
	{ "lindex l abc",
	    "-ERR value is not an integer or out of range\r\n" },
	{ "lindex nokey abc",
	    "$-1\r\n" },
	{ "lindex s abc",
	    "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n" },
	{ "llen l",
	    ":7\r\n" },
	{ "llen nokey",
	    ":0\r\n" },
	{ "llen s",
	    "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n" },
	{ "lpop l",
	    "$1\r\ny\r\n" },
	{ "rpop l",
	    "$1\r\ne\r\n" },
	{ "lpop l 2",
	    "*2\r\n$1\r\nz\r\n$1\r\na\r\n" },
	{ "rpop l 2",
	    "*2\r\n$1\r\nd\r\n$1\r\nc\r\n" },
	{ "llen l",
	    ":1\r\n" },
	{ "rpop l 10",
	    "*1\r\n$1\r\nb\r\n" },
	{ "exists l",
	    ":0\r\n" },
	{ "rpush l x",
	    ":1\r\n" },
	{ "lpop l",
	    "$1\r\nx\r\n" },
	{ "exists l",
	    ":0\r\n" },
	{ "rpush l \"\"",
	    ":1\r\n" },
	{ "lindex l 0",
	    "$0\r\n\r\n" },
	{ "lpop l 1",
	    "*1\r\n$0\r\n\r\n" },
	{ "exists l",
	    ":0\r\n" },
	{ NULL, NULL }
};

/* steps_hash */
static const step_t steps_hash[] = {
	{ "set s v",
	    "+OK\r\n" },
	{ "hset h f1 v1 f2",
	    "-ERR wrong number of arguments for 'hset' command\r\n" },
	{ "hset h f1 v1 f2 v2",
	    ":2\r\n" },
	{ "hset h f1 x f3 y",
	    ":1\r\n" },
	{ "hset h f4 a f4 b",
	    ":1\r\n" },
	{ "hget h f4",
	    "$1\r\nb\r\n" },
	{ "hset s f v",
	    "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n" },
	{ "hget h f1",
	    "$1\r\nx\r\n" },
	{ "hget h nof",
	    "$-1\r\n" },
	{ "hget nokey f",
	    "$-1\r\n" },
	{ "hget s f",
	    "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n" },
	{ "hlen h",
	    ":4\r\n" },
	{ "hdel h f1 nof f1",
	    ":1\r\n" },
	{ "hdel nokey f",
	    ":0\r\n" },
	{ "hdel s f",
	    "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n" },
	{ "hlen h",
	    ":3\r\n" },
	{ "hlen nokey",
	    ":0\r\n" },
	{ "hlen s",
	    "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n" },
	{ "hgetall nokey",
	    "*0\r\n" },
	{ "hgetall s",
	    "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n" },
	{ "hdel h f2 f3 f4",
	    ":3\r\n" },
	{ "exists h",
	    ":0\r\n" },
	{ "hset h \"\" \"\"",
	    ":1\r\n" },
	{ "hget h \"\"",
	    "$0\r\n\r\n" },
	{ "hgetall h",
	    "*2\r\n$0\r\n\r\n$0\r\n\r\n" },
	{ NULL, NULL }
};

/* steps_sets */
static const step_t steps_sets[] = {
	{ "set s v",
	    "+OK\r\n" },
	{ "sadd st a b a c",
	    ":3\r\n" },
	{ "sadd st c",
	    ":0\r\n" },
	{ "sadd s a",
	    "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n" },
	{ "srem st a x a",
	    ":1\r\n" },
	{ "srem nokey a",
	    ":0\r\n" },
	{ "srem s a",
	    "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n" },
	{ "smembers nokey",
	    "*0\r\n" },
	{ "smembers s",
	    "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n" },
	{ "scard st",
	    ":2\r\n" },
	{ "scard nokey",
	    ":0\r\n" },
	{ "scard s",
	    "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n" },
	{ "sismember st b",
	    ":1\r\n" },
	{ "sismember st z",
	    ":0\r\n" },
	{ "sismember nokey z",
	    ":0\r\n" },
	{ "sismember s z",
	    "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n" },
	{ "spop nokey",
	    "$-1\r\n" },
	{ "spop nokey 2",
	    "*0\r\n" },
	{ "spop nokey -1",
	    "-ERR value is out of range, must be positive\r\n" },
	{ "spop st -1",
	    "-ERR value is out of range, must be positive\r\n" },
	{ "spop st abc",
	    "-ERR value is out of range, must be positive\r\n" },
	{ "spop st 0",
	    "*0\r\n" },
	{ "spop s",
	    "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n" },
	{ "spop s 1",
	    "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n" },
	{ "spop st 1 2",
	    "-ERR syntax error\r\n" },
	{ "spop nokey 1 2",
	    "-ERR syntax error\r\n" },
	{ "srem st b c",
	    ":2\r\n" },
	{ "exists st",
	    ":0\r\n" },
	{ "sadd st x",
	    ":1\r\n" },
	{ "spop st",
	    "$1\r\nx\r\n" },
	{ "exists st",
	    ":0\r\n" },
	{ "sadd st y",
	    ":1\r\n" },
	{ "spop st 5",
	    "*1\r\n$1\r\ny\r\n" },
	{ "exists st",
	    ":0\r\n" },
	{ "sadd st y",
	    ":1\r\n" },
	{ "smembers st",
	    "*1\r\n$1\r\ny\r\n" },
	{ NULL, NULL }
};

/* steps_flush */
static const step_t steps_flush[] = {
	{ "set a 1",
	    "+OK\r\n" },
	{ "rpush b 1",
	    ":1\r\n" },
	{ "dbsize",
	    ":2\r\n" },
	{ "flushdb foo",
	    "-ERR syntax error\r\n" },
	{ "flushdb sync x",
	    "-ERR syntax error\r\n" },
	{ "flushall x",
	    "-ERR syntax error\r\n" },
	{ "flushdb async",
	    "+OK\r\n" },
	{ "dbsize",
	    ":0\r\n" },
	{ "set a 1",
	    "+OK\r\n" },
	{ "flushdb sync",
	    "+OK\r\n" },
	{ "dbsize",
	    ":0\r\n" },
	{ "set a 1",
	    "+OK\r\n" },
	{ "flushall ASYNC",
	    "+OK\r\n" },
	{ "dbsize",
	    ":0\r\n" },
	{ "set a 1",
	    "+OK\r\n" },
	{ "flushall SYNC",
	    "+OK\r\n" },
	{ "set a 1",
	    "+OK\r\n" },
	{ "flushall",
	    "+OK\r\n" },
	{ "dbsize",
	    ":0\r\n" },
	{ "flushdb",
	    "+OK\r\n" },
	{ NULL, NULL }
};

START_TEST(test_steps_set) { run_steps(steps_set); } END_TEST
START_TEST(test_steps_string_misc) { run_steps(steps_string_misc); } END_TEST
START_TEST(test_steps_keys) { run_steps(steps_keys); } END_TEST
START_TEST(test_steps_list) { run_steps(steps_list); } END_TEST
START_TEST(test_steps_hash) { run_steps(steps_hash); } END_TEST
START_TEST(test_steps_sets) { run_steps(steps_sets); } END_TEST
START_TEST(test_steps_flush) { run_steps(steps_flush); } END_TEST

/* Redis 7.0.15's COMMAND INFO: arity and the flags we keep. */
static const struct {
	const char *name;
	int arity;
	unsigned flags;
} redis_cmds[] = {
	{ "set", -3, CMD_WRITE | CMD_DENYOOM },
	{ "get", 2, CMD_READONLY | CMD_FAST },
	{ "getset", 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST },
	{ "del", -2, CMD_WRITE },
	{ "exists", -2, CMD_READONLY | CMD_FAST },
	{ "incr", 2, CMD_WRITE | CMD_DENYOOM | CMD_FAST },
	{ "decr", 2, CMD_WRITE | CMD_DENYOOM | CMD_FAST },
	{ "incrby", 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST },
	{ "decrby", 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST },
	{ "append", 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST },
	{ "strlen", 2, CMD_READONLY | CMD_FAST },
	{ "mset", -3, CMD_WRITE | CMD_DENYOOM },
	{ "mget", -2, CMD_READONLY | CMD_FAST },
	{ "setnx", 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST },
	{ "expire", -3, CMD_WRITE | CMD_FAST },
	{ "pexpire", -3, CMD_WRITE | CMD_FAST },
	{ "ttl", 2, CMD_READONLY | CMD_FAST },
	{ "pttl", 2, CMD_READONLY | CMD_FAST },
	{ "persist", 2, CMD_WRITE | CMD_FAST },
	{ "type", 2, CMD_READONLY | CMD_FAST },
	{ "lpush", -3, CMD_WRITE | CMD_DENYOOM | CMD_FAST },
	{ "rpush", -3, CMD_WRITE | CMD_DENYOOM | CMD_FAST },
	{ "lpop", -2, CMD_WRITE | CMD_FAST },
	{ "rpop", -2, CMD_WRITE | CMD_FAST },
	{ "llen", 2, CMD_READONLY | CMD_FAST },
	{ "lrange", 4, CMD_READONLY },
	{ "lindex", 3, CMD_READONLY },
	{ "hset", -4, CMD_WRITE | CMD_DENYOOM | CMD_FAST },
	{ "hget", 3, CMD_READONLY | CMD_FAST },
	{ "hdel", -3, CMD_WRITE | CMD_FAST },
	{ "hgetall", 2, CMD_READONLY },
	{ "hlen", 2, CMD_READONLY | CMD_FAST },
	{ "sadd", -3, CMD_WRITE | CMD_DENYOOM | CMD_FAST },
	{ "srem", -3, CMD_WRITE | CMD_FAST },
	{ "smembers", 2, CMD_READONLY },
	{ "scard", 2, CMD_READONLY | CMD_FAST },
	{ "sismember", 3, CMD_READONLY | CMD_FAST },
	{ "spop", -2, CMD_WRITE | CMD_FAST },
	{ "dbsize", 1, CMD_READONLY | CMD_FAST },
	{ "flushdb", -1, CMD_WRITE },
	{ "flushall", -1, CMD_WRITE },
	{ "ping", -1, CMD_FAST },
	{ "echo", 2, CMD_FAST },
	{ "quit", -1, CMD_FAST },
	{ "select", 2, CMD_FAST },
	{ "hello", -1, CMD_FAST },
	{ "client", -2, 0 },
	{ "command", -1, 0 },
	{ "config", -2, 0 },
	{ "info", -1, 0 },
};

#define REDIS_FLAGS (CMD_WRITE | CMD_READONLY | CMD_DENYOOM | CMD_FAST)

START_TEST(test_table)
{
	size_t n, nredis = sizeof(redis_cmds) / sizeof(redis_cmds[0]);
	const resp_cmd_t *t = cmd_table(&n);

	ck_assert_uint_eq(n, nredis);
	for (size_t i = 0; i < nredis; i++) {
		const char *name = redis_cmds[i].name;
		size_t len = strlen(name);
		const resp_cmd_t *c = cmd_lookup(name, len);
		char upper[32];

		ck_assert_msg(c != NULL, "%s not found", name);
		ck_assert_str_eq(c->name, name);
		ck_assert_int_eq(c->arity, redis_cmds[i].arity);
		ck_assert_msg((c->flags & REDIS_FLAGS) == redis_cmds[i].flags,
		    "%s: flags %#x", name, c->flags);
		ck_assert_msg((c->exec == NULL) == ((c->flags & CMD_CONN) != 0),
		    "%s: exec iff not CMD_CONN", name);
		for (size_t j = 0; j <= len; j++)
			upper[j] = (char)(j % 2 ? name[j] - 'a' + 'A' : name[j]);
		upper[len] = '\0';
		ck_assert_ptr_eq(cmd_lookup(upper, len), c);
		for (size_t j = 0; j < len; j++)
			upper[j] = (char)(name[j] - 'a' + 'A');
		ck_assert_ptr_eq(cmd_lookup(upper, len), c);
		/* A prefix or an extension is another name. */
		ck_assert_ptr_ne(cmd_lookup(name, len - 1), c);
		memcpy(upper, name, len);
		upper[len] = 'x';
		ck_assert_ptr_null(cmd_lookup(upper, len + 1));
	}
	ck_assert_ptr_null(cmd_lookup("", 0));
	ck_assert_ptr_null(cmd_lookup("foo", 3));
	ck_assert_ptr_null(cmd_lookup("gex", 3));
	ck_assert_ptr_null(cmd_lookup("g\xc5t", 3));
	ck_assert_ptr_null(cmd_lookup("g@t", 3));
	ck_assert_ptr_null(cmd_lookup("get\0", 4));
	ck_assert_ptr_null(cmd_lookup("sismemberxxxxxxxxxxxxxxx", 24));
	ck_assert_ptr_nonnull(cmd_lookup("SISMEMBER", 9));
	ck_assert_ptr_null(cmd_lookup("SISMEMBEr0", 10));

	/* Where the keys are, and how scattered replies are gathered. */
	ck_assert_uint_eq(cmd_lookup("mset", 4)->gather, GATHER_OK);
	ck_assert_int_eq(cmd_lookup("mset", 4)->key_step, 2);
	ck_assert_int_eq(cmd_lookup("mset", 4)->last_key, -1);
	ck_assert_uint_eq(cmd_lookup("mget", 4)->gather, GATHER_ARRAY);
	ck_assert_uint_eq(cmd_lookup("del", 3)->gather, GATHER_SUM);
	ck_assert_uint_eq(cmd_lookup("exists", 6)->gather, GATHER_SUM);
	ck_assert_uint_eq(cmd_lookup("dbsize", 6)->gather, GATHER_SUM);
	ck_assert_uint_eq(cmd_lookup("flushdb", 7)->gather, GATHER_OK);
	ck_assert_uint_eq(cmd_lookup("flushall", 8)->gather, GATHER_OK);
	for (size_t i = 0; i < n; i++) {
		int scatter = !strcmp(t[i].name, "mset") ||
		    !strcmp(t[i].name, "mget") || !strcmp(t[i].name, "del") ||
		    !strcmp(t[i].name, "exists");
		int all = !strcmp(t[i].name, "dbsize") ||
		    !strcmp(t[i].name, "flushdb") ||
		    !strcmp(t[i].name, "flushall");

		ck_assert_msg(!!(t[i].flags & CMD_SCATTER) == scatter, "%s",
		    t[i].name);
		ck_assert_msg(!!(t[i].flags & CMD_ALL_SHARDS) == all, "%s",
		    t[i].name);
		if (!scatter && !all && !(t[i].flags & CMD_CONN)) {
			ck_assert_int_eq(t[i].first_key, 1);
			ck_assert_int_eq(t[i].last_key, 1);
			ck_assert_int_eq(t[i].key_step, 1);
		}
	}
}
END_TEST

/* A key lives through its last millisecond and goes at the next, on any
 * access, and is counted as expired once. */
START_TEST(test_lazy_expiry)
{
	shard_t *sh = shard_new(0);
	shard_stats_t st;

	expect(sh, T0, "set k v px 100", "+OK\r\n");
	expect(sh, T0, "set p v", "+OK\r\n");
	ck_assert_uint_eq(shard_keys(sh, T0), 2);
	ck_assert_uint_eq(shard_expires(sh, T0), 1);
	expect(sh, T0 + 100, "pttl k", ":0\r\n");
	expect(sh, T0 + 100, "get k", "$1\r\nv\r\n");
	ck_assert_uint_eq(shard_keys(sh, T0 + 101), 1);
	ck_assert_uint_eq(shard_expires(sh, T0 + 101), 0);
	expect(sh, T0 + 101, "get k", "$-1\r\n");
	expect(sh, T0 + 101, "dbsize", ":1\r\n");
	shard_get_stats(sh, &st);
	ck_assert_uint_eq(st.expired_keys, 1);
	ck_assert_uint_eq(st.keyspace_hits, 2);   /* PTTL and GET */
	ck_assert_uint_eq(st.keyspace_misses, 1);

	/* Every command sees an expired key as missing. */
	expect(sh, T0, "set k v px 10", "+OK\r\n");
	expect(sh, T0 + 11, "exists k", ":0\r\n");
	expect(sh, T0, "rpush l a", ":1\r\n");
	expect(sh, T0, "pexpire l 10", ":1\r\n");
	expect(sh, T0 + 11, "rpush l b", ":1\r\n");
	expect(sh, T0 + 11, "ttl l", ":-1\r\n");
	expect(sh, T0, "set n 5 ex 1", "+OK\r\n");
	expect(sh, T0 + 1001, "incr n", ":1\r\n");
	expect(sh, T0, "set n 5 ex 1", "+OK\r\n");
	expect(sh, T0 + 1000, "incr n", ":6\r\n");
	expect(sh, T0 + 1000, "pttl n", ":0\r\n");
	expect(sh, T0, "sadd s a", ":1\r\n");
	expect(sh, T0, "expire s 1", ":1\r\n");
	expect(sh, T0 + 1001, "type s", "+none\r\n");
	expect(sh, T0, "set k v pxat 1700000000500", "+OK\r\n");
	expect(sh, T0 + 500, "get k", "$1\r\nv\r\n");
	expect(sh, T0 + 501, "get k", "$-1\r\n");
	expect(sh, T0, "set k v exat 1700000001", "+OK\r\n");
	expect(sh, T0, "pttl k", ":1000\r\n");
	/* An absolute time already past keeps the key only until touched. */
	expect(sh, T0, "set k v exat 1", "+OK\r\n");
	expect(sh, T0, "get k", "$-1\r\n");
	/* EXPIRE's GT/LT compare with the stored absolute time. */
	expect(sh, T0, "set k v px 5000", "+OK\r\n");
	expect(sh, T0 + 1000, "pexpire k 4000 gt", ":0\r\n");
	expect(sh, T0 + 1000, "pexpire k 4001 gt", ":1\r\n");
	expect(sh, T0 + 1000, "pttl k", ":4001\r\n");
	shard_get_stats(sh, &st);
	ck_assert_uint_eq(st.expired_keys, 7);
	shard_free(sh);
}
END_TEST

/* TTL is PTTL rounded to the nearest second, halves up. */
START_TEST(test_ttl_rounding)
{
	shard_t *sh = shard_new(0);

	expect(sh, T0, "set k v px 1499", "+OK\r\n");
	expect(sh, T0, "ttl k", ":1\r\n");
	expect(sh, T0, "pexpire k 1500", ":1\r\n");
	expect(sh, T0, "ttl k", ":2\r\n");
	expect(sh, T0 + 1001, "ttl k", ":0\r\n");
	expect(sh, T0 + 999, "ttl k", ":1\r\n");
	expect(sh, T0 + 999, "pttl k", ":501\r\n");
	expect(sh, T0, "pexpire k 499", ":1\r\n");
	expect(sh, T0, "ttl k", ":0\r\n");
	expect(sh, T0, "expire k 100", ":1\r\n");
	expect(sh, T0 + 1, "ttl k", ":100\r\n");
	expect(sh, T0 + 501, "ttl k", ":99\r\n");
	expect(sh, T0 + 500, "ttl k", ":100\r\n");
	shard_free(sh);
}
END_TEST

START_TEST(test_active_expiry)
{
	shard_t *sh = shard_new(0);
	reply_t r;
	char line[64];
	size_t n;
	shard_stats_t st;

	reply_init(&r);
	for (int i = 0; i < 100; i++) {
		snprintf(line, sizeof(line), "set t%d v px %d", i, 10 + i);
		run(sh, T0, line, &r);
		snprintf(line, sizeof(line), "set p%d v", i);
		run(sh, T0, line, &r);
		snprintf(line, sizeof(line), "set f%d v ex 1000", i);
		run(sh, T0, line, &r);
	}
	ck_assert_uint_eq(shard_keys(sh, T0), 300);
	ck_assert_uint_eq(shard_expires(sh, T0), 200);
	ck_assert_uint_eq(shard_expire_cycle(sh, T0 + 5, 1000), 0);
	/* t0..t49 have expired at T0 + 60 (t50 at T0 + 60 still lives). */
	ck_assert_uint_eq(shard_keys(sh, T0 + 60), 250);
	n = shard_expire_cycle(sh, T0 + 60, 30);
	ck_assert_uint_le(n, 30);
	n += shard_expire_cycle(sh, T0 + 60, 1000);
	ck_assert_uint_eq(n, 50);
	ck_assert_uint_eq(shard_expires(sh, T0 + 60), 150);
	ck_assert_uint_eq(ks_dict_size(&sh->keys), 250);
	/* A budget bounds the work: one key looked at, at most one gone. */
	ck_assert_uint_le(shard_expire_cycle(sh, T0 + 200, 1), 1);
	while (shard_expire_cycle(sh, T0 + 200, 7) > 0)
		;
	ck_assert_uint_eq(ks_dict_size(&sh->keys), 200);
	ck_assert_uint_eq(shard_expires(sh, T0 + 200), 100);
	shard_get_stats(sh, &st);
	ck_assert_uint_eq(st.expired_keys, 100);
	expect(sh, T0 + 200, "get t99", "$-1\r\n");
	expect(sh, T0 + 200, "get p99", "$1\r\nv\r\n");
	expect(sh, T0 + 200, "ttl f99", ":1000\r\n");
	/* PERSIST takes a key out of the cycle's reach. */
	expect(sh, T0 + 200, "persist f5", ":1\r\n");
	ck_assert_uint_eq(shard_expire_cycle(sh, T0 + 2000000, 1000), 99);
	ck_assert_uint_eq(shard_keys(sh, T0 + 2000000), 101);
	expect(sh, T0 + 2000000, "get f5", "$1\r\nv\r\n");
	reply_free(&r);
	shard_free(sh);
}
END_TEST

/* Keys and values are bytes: NUL, CR and LF included. */
START_TEST(test_binary)
{
	shard_t *sh = shard_new(0);
	static const char key[] = "k\0\r\n\x01\xff";
	static const char val[] = "\0\r\n$3\r\n\0";
	GnetRespArg set[3] = { { "set", 3 }, { key, sizeof(key) - 1 },
	    { val, sizeof(val) - 1 } };
	GnetRespArg get[2] = { { "get", 3 }, { key, sizeof(key) - 1 } };
	GnetRespArg get2[2] = { { "get", 3 }, { key, 1 } };
	GnetRespArg rpush[4] = { { "rpush", 5 }, { key, 2 },
	    { val, sizeof(val) - 1 }, { "", 0 } };
	GnetRespArg lrange[4] = { { "lrange", 6 }, { key, 2 },
	    { "0", 1 }, { "-1", 2 } };
	reply_t r;
	char want[64];

	reply_init(&r);
	exec_argv(sh, set, 3, T0, &r);
	ck_assert_uint_eq(r.len, 5);
	reply_reset(&r);
	exec_argv(sh, get, 2, T0, &r);
	ck_assert_uint_eq(r.len, 4 + sizeof(val) - 1 + 2);
	memcpy(want, "$8\r\n", 4);
	memcpy(want + 4, val, sizeof(val) - 1);
	memcpy(want + 4 + sizeof(val) - 1, "\r\n", 2);
	ck_assert(memcmp(r.buf, want, r.len) == 0);
	reply_reset(&r);
	exec_argv(sh, get2, 2, T0, &r);
	ck_assert_uint_eq(r.len, 5);
	ck_assert(memcmp(r.buf, "$-1\r\n", 5) == 0);
	expect(sh, T0, "del k", ":0\r\n");
	reply_reset(&r);
	set[1].len = 1;
	exec_argv(sh, set, 3, T0, &r);
	expect(sh, T0, "strlen k", ":8\r\n");
	/* The same bytes as a list's elements, under the key "k\0". */
	reply_reset(&r);
	exec_argv(sh, rpush, 4, T0, &r);
	ck_assert(r.len == 4 && memcmp(r.buf, ":2\r\n", 4) == 0);
	reply_reset(&r);
	exec_argv(sh, lrange, 4, T0, &r);
	ck_assert_uint_eq(r.len, 4 + 4 + 8 + 2 + 4 + 2);
	ck_assert(memcmp(r.buf, "*2\r\n$8\r\n", 8) == 0);
	ck_assert(memcmp(r.buf + 8, val, 8) == 0);
	ck_assert(memcmp(r.buf + 16, "\r\n$0\r\n\r\n", 8) == 0);
	reply_free(&r);
	shard_free(sh);
}
END_TEST

static const void *
value_of(shard_t *sh, const char *key)
{
	ks_dict_entry_t *e = ks_dict_find(&sh->keys, key, strlen(key));

	ck_assert_ptr_nonnull(e);
	return e->val;
}

/* The hot path keeps a key's object: SET of a value of about the same
 * size and INCR rewrite it, and GET, SET and DEL leave the count of
 * bytes as they found it. */
START_TEST(test_in_place)
{
	shard_t *sh = shard_new(0);
	size_t base = shard_used_memory(sh), one;
	const void *o;

	ck_assert_uint_eq(base, 0);
	expect(sh, T0, "set k 0123456789", "+OK\r\n");
	one = shard_used_memory(sh);
	ck_assert_uint_gt(one, base + 10);
	o = value_of(sh, "k");
	expect(sh, T0, "set k abcdefghij", "+OK\r\n");
	expect(sh, T0, "set k abcdefgh", "+OK\r\n");
	ck_assert_ptr_eq(value_of(sh, "k"), o);
	ck_assert_uint_eq(shard_used_memory(sh), one);
	expect(sh, T0, "get k", "$8\r\nabcdefgh\r\n");
	expect(sh, T0, "set k 99", "+OK\r\n");
	ck_assert_ptr_eq(value_of(sh, "k"), o);
	expect(sh, T0, "incr k", ":100\r\n");
	expect(sh, T0, "incrby k 900", ":1000\r\n");
	expect(sh, T0, "decrby k 2000", ":-1000\r\n");
	ck_assert_ptr_eq(value_of(sh, "k"), o);
	ck_assert_uint_eq(shard_used_memory(sh), one);
	expect(sh, T0, "get k", "$5\r\n-1000\r\n");
	/* A much larger value needs a new buffer, a much smaller one gives
	 * the larger back. */
	expect(sh, T0, "set k "
	    "0123456789012345678901234567890123456789012345678901234567890123"
	    "0123456789012345678901234567890123456789012345678901234567890123",
	    "+OK\r\n");
	ck_assert_uint_gt(shard_used_memory(sh), one + 100);
	expect(sh, T0, "set k x", "+OK\r\n");
	ck_assert_uint_lt(shard_used_memory(sh), one + 100);
	expect(sh, T0, "del k", ":1\r\n");
	ck_assert_uint_eq(shard_used_memory(sh), base);
	shard_free(sh);
}
END_TEST

START_TEST(test_memory)
{
	shard_t *sh = shard_new(3);
	size_t base = shard_used_memory(sh), after_one;
	reply_t r;
	char line[128];

	reply_init(&r);
	expect(sh, T0, "set key1 value1", "+OK\r\n");
	after_one = shard_used_memory(sh);
	ck_assert_uint_ge(after_one, base + 4 + 6);
	expect(sh, T0, "set key2 value2 ex 100", "+OK\r\n");
	ck_assert_uint_gt(shard_used_memory(sh), after_one);
	expect(sh, T0, "del key2", ":1\r\n");
	ck_assert_uint_eq(shard_used_memory(sh), after_one);
	expect(sh, T0, "append key1 0123456789012345678901234567890123456789",
	    ":46\r\n");
	ck_assert_uint_gt(shard_used_memory(sh), after_one + 40);
	expect(sh, T0, "del key1", ":1\r\n");
	ck_assert_uint_eq(shard_used_memory(sh), base);

	/* Every type, then DEL, then the lot again and FLUSHDB. */
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 200; i++) {
			snprintf(line, sizeof(line), "set s%d v%d", i, i);
			run(sh, T0, line, &r);
			snprintf(line, sizeof(line), "rpush l%d a%d b c", i % 7, i);
			run(sh, T0, line, &r);
			snprintf(line, sizeof(line), "hset h%d f%d v%d", i % 5, i, i);
			run(sh, T0, line, &r);
			snprintf(line, sizeof(line), "sadd z%d m%d", i % 3, i);
			run(sh, T0, line, &r);
			snprintf(line, sizeof(line), "expire s%d 100", i);
			run(sh, T0, line, &r);
		}
		ck_assert_uint_gt(shard_used_memory(sh), base + 200 * 20);
		if (round == 0) {
			for (int i = 0; i < 200; i++) {
				snprintf(line, sizeof(line), "del s%d", i);
				run(sh, T0, line, &r);
			}
			run(sh, T0, "del l0 l1 l2 l3 l4 l5 l6 h0 h1 h2 h3 h4", &r);
			run(sh, T0, "lpop l0 1000", &r);
			run(sh, T0, "spop z0 1000", &r);
			run(sh, T0, "srem z1 m1 m4 m7", &r);
			run(sh, T0, "del z1 z2", &r);
		} else {
			run(sh, T0, "flushdb", &r);
		}
		expect(sh, T0, "dbsize", ":0\r\n");
		ck_assert_uint_eq(shard_used_memory(sh), base);
	}
	/* Hash fields and list elements popped one by one. */
	for (int i = 0; i < 100; i++) {
		snprintf(line, sizeof(line), "hset h f%d v%d", i, i);
		run(sh, T0, line, &r);
		snprintf(line, sizeof(line), "lpush l e%d", i);
		run(sh, T0, line, &r);
	}
	for (int i = 0; i < 100; i++) {
		snprintf(line, sizeof(line), "hdel h f%d", i);
		run(sh, T0, line, &r);
		run(sh, T0, "rpop l", &r);
	}
	ck_assert_uint_eq(shard_used_memory(sh), base);
	/* Expired keys give their bytes back when collected. */
	expect(sh, T0, "set k v px 1", "+OK\r\n");
	ck_assert_uint_gt(shard_used_memory(sh), base);
	ck_assert_uint_eq(shard_expire_cycle(sh, T0 + 2, 10), 1);
	ck_assert_uint_eq(shard_used_memory(sh), base);
	reply_free(&r);
	shard_free(sh);
}
END_TEST

START_TEST(test_shard_of)
{
	static const unsigned ns[] = { 2, 3, 4, 8 };
	char key[32];

	for (size_t k = 0; k < sizeof(ns) / sizeof(ns[0]); k++) {
		unsigned n = ns[k], count[8] = { 0 };
		double fair = 10000.0 / n;

		for (int i = 0; i < 10000; i++) {
			int len = snprintf(key, sizeof(key), "key:%d", i);
			unsigned s = shard_of(key, (size_t)len, n);

			ck_assert_uint_lt(s, n);
			ck_assert_uint_eq(shard_of(key, (size_t)len, n), s);
			count[s]++;
		}
		for (unsigned s = 0; s < n; s++)
			ck_assert_msg(count[s] > fair * 0.9 && count[s] < fair * 1.1,
			    "%u shards: shard %u has %u keys", n, s, count[s]);
	}
	for (int i = 0; i < 100; i++) {
		int len = snprintf(key, sizeof(key), "%d", i);

		ck_assert_uint_eq(shard_of(key, (size_t)len, 1), 0);
	}
	ck_assert_uint_lt(shard_of("", 0, 4), 4);
}
END_TEST

/* What the connection does with MGET, DEL, EXISTS over two shards: the
 * keys split by shard_of, the same command on each part, the replies
 * gathered. Compared with the same commands on one shard. */
START_TEST(test_scatter)
{
	shard_t *sh[2] = { shard_new(0), shard_new(1) }, *one = shard_new(0);
	static const char *keys[] = { "a", "b", "c", "d", "e", "f", "g", "h",
	    "a", "zz" };
	const size_t nkeys = sizeof(keys) / sizeof(keys[0]);
	GnetRespArg part[2][16];
	int nparts[2] = { 1, 1 };
	const char *cmds[] = { "mget", "exists", "del", "exists" };
	reply_t r;

	reply_init(&r);
	for (int s = 0; s < 2; s++)
		expect(sh[s], T0, "flushall", "+OK\r\n");
	/* MSET split in pairs; 'zz' is absent, 'h' holds a list. */
	for (size_t i = 0; i < 7; i++) {
		unsigned s = shard_of(keys[i], 1, 2);
		char line[32];

		snprintf(line, sizeof(line), "mset %s v%s", keys[i], keys[i]);
		expect(sh[s], T0, line, "+OK\r\n");
		expect(one, T0, line, "+OK\r\n");
	}
	expect(sh[shard_of("h", 1, 2)], T0, "rpush h x", ":1\r\n");
	expect(one, T0, "rpush h x", ":1\r\n");
	ck_assert_uint_gt(shard_keys(sh[0], T0), 0);
	ck_assert_uint_gt(shard_keys(sh[1], T0), 0);

	for (size_t c = 0; c < sizeof(cmds) / sizeof(cmds[0]); c++) {
		GnetRespArg all[16];
		long long sum = 0;
		char gathered[512];
		size_t glen = 0;

		all[0].ptr = cmds[c];
		all[0].len = strlen(cmds[c]);
		nparts[0] = nparts[1] = 1;
		part[0][0] = part[1][0] = all[0];
		for (size_t i = 0; i < nkeys; i++) {
			unsigned s = shard_of(keys[i], strlen(keys[i]), 2);

			all[i + 1].ptr = keys[i];
			all[i + 1].len = strlen(keys[i]);
			part[s][nparts[s]++] = all[i + 1];
		}
		if (c == 0)
			glen = (size_t)snprintf(gathered, sizeof(gathered), "*%zu\r\n",
			    nkeys);
		for (int s = 0; s < 2; s++) {
			char *p;

			reply_reset(&r);
			exec_argv(sh[s], part[s], nparts[s], T0, &r);
			if (c == 0) {
				/* One element per key; MGET's elements are
				 * in the part's order, so gather by key. */
				continue;
			}
			ck_assert(r.buf[0] == ':');
			sum += strtoll(r.buf + 1, &p, 10);
		}
		if (c == 0) {
			for (size_t i = 0; i < nkeys; i++) {
				unsigned s = shard_of(keys[i], strlen(keys[i]), 2);
				GnetRespArg g[2] = { { "mget", 4 }, all[i + 1] };

				reply_reset(&r);
				exec_argv(sh[s], g, 2, T0, &r);
				ck_assert(r.len > 4 && memcmp(r.buf, "*1\r\n", 4) == 0);
				memcpy(gathered + glen, r.buf + 4, r.len - 4);
				glen += r.len - 4;
			}
		} else {
			glen = (size_t)snprintf(gathered, sizeof(gathered), ":%lld\r\n",
			    sum);
		}
		reply_reset(&r);
		exec_argv(one, all, (int)nkeys + 1, T0, &r);
		ck_assert_msg(r.len == glen && memcmp(r.buf, gathered, glen) == 0,
		    "%s: gathered \"%.*s\", one shard \"%.*s\"", cmds[c],
		    (int)glen, gathered, (int)r.len, r.buf);
	}
	/* After DEL, EXISTS found nothing on either. */
	ck_assert_uint_eq(shard_keys(sh[0], T0) + shard_keys(sh[1], T0), 0);
	reply_free(&r);
	shard_free(sh[0]);
	shard_free(sh[1]);
	shard_free(one);
}
END_TEST

START_TEST(test_reply_builder)
{
	reply_t r;
	char *first;

	reply_init(&r);
	reply_int(&r, LLONG_MIN);
	reply_int(&r, LLONG_MAX);
	reply_int(&r, 0);
	reply_int(&r, -7);
	reply_int(&r, 10);
	reply_int(&r, 99);
	reply_int(&r, 100);
	ck_assert_uint_eq(r.len, strlen(":-9223372036854775808\r\n"
	    ":9223372036854775807\r\n:0\r\n:-7\r\n:10\r\n:99\r\n:100\r\n"));
	ck_assert(memcmp(r.buf, ":-9223372036854775808\r\n"
	    ":9223372036854775807\r\n:0\r\n:-7\r\n:10\r\n:99\r\n:100\r\n",
	    r.len) == 0);
	reply_reset(&r);
	reply_status(&r, "OK");
	reply_error(&r, "ERR a\r\nb");
	reply_error(&r, "-WRONGTYPE x");
	reply_errorf(&r, "ERR %s %d", "n", 5);
	reply_bulk(&r, "ab", 2);
	reply_bulk(&r, NULL, 0);
	reply_bulk_cstr(&r, "xyz");
	reply_nil(&r);
	reply_array(&r, 3);
	reply_nil_array(&r);
	reply_raw(&r, "!", 1);
	{
		static const char want[] = "+OK\r\n-ERR a  b\r\n-WRONGTYPE x\r\n"
		    "-ERR n 5\r\n$2\r\nab\r\n$0\r\n\r\n$3\r\nxyz\r\n$-1\r\n"
		    "*3\r\n*-1\r\n!";

		ck_assert_uint_eq(r.len, sizeof(want) - 1);
		ck_assert(memcmp(r.buf, want, r.len) == 0);
	}
	/* A long formatted error, past any stack buffer. */
	reply_reset(&r);
	{
		char big[1000];

		memset(big, 'x', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		reply_errorf(&r, "ERR %s\n", big);
		ck_assert_uint_eq(r.len, 1 + 4 + 999 + 1 + 2);
		ck_assert(r.buf[r.len - 3] == ' ');
	}
	/* A buffer that stayed small is kept; a big one is given back. */
	first = r.buf;
	reply_reset(&r);
	ck_assert_ptr_eq(r.buf, first);
	ck_assert_uint_gt(r.cap, 0);
	{
		size_t n = 3u << 20;
		char *v = malloc(n);

		ck_assert_ptr_nonnull(v);
		memset(v, 'v', n);
		reply_bulk(&r, v, n);
		ck_assert_uint_gt(r.cap, n);
		free(v);
	}
	reply_reset(&r);
	ck_assert_uint_eq(r.len, 0);
	ck_assert_uint_le(r.cap, 1u << 20);
	reply_int(&r, 1);
	ck_assert(r.len == 4 && memcmp(r.buf, ":1\r\n", 4) == 0);
	reply_free(&r);
	ck_assert_ptr_null(r.buf);
}
END_TEST

/* 64 MiB in, the same 64 MiB out, with APPEND on top. */
START_TEST(test_big_value)
{
	const size_t n = 64u << 20;
	shard_t *sh = shard_new(0);
	char *v = malloc(n), hdr[32];
	GnetRespArg set[3] = { { "set", 3 }, { "big", 3 }, { NULL, n } };
	GnetRespArg get[2] = { { "get", 3 }, { "big", 3 } };
	GnetRespArg app[3] = { { "append", 6 }, { "big", 3 }, { "\r\n", 2 } };
	reply_t r;
	size_t h;

	ck_assert_ptr_nonnull(v);
	for (size_t i = 0; i < n; i++)
		v[i] = (char)(i * 131 + (i >> 12));
	set[2].ptr = v;
	reply_init(&r);
	exec_argv(sh, set, 3, T0, &r);
	ck_assert(r.len == 5 && memcmp(r.buf, "+OK\r\n", 5) == 0);
	ck_assert_uint_ge(shard_used_memory(sh), n);
	reply_reset(&r);
	exec_argv(sh, get, 2, T0, &r);
	h = (size_t)snprintf(hdr, sizeof(hdr), "$%zu\r\n", n);
	ck_assert_uint_eq(r.len, h + n + 2);
	ck_assert(memcmp(r.buf, hdr, h) == 0);
	ck_assert(memcmp(r.buf + h, v, n) == 0);
	ck_assert(memcmp(r.buf + h + n, "\r\n", 2) == 0);
	reply_reset(&r);
	ck_assert_uint_le(r.cap, 1u << 20);
	exec_argv(sh, app, 3, T0, &r);
	snprintf(hdr, sizeof(hdr), ":%zu\r\n", n + 2);
	ck_assert(r.len == strlen(hdr) && memcmp(r.buf, hdr, r.len) == 0);
	reply_reset(&r);
	exec_argv(sh, get, 2, T0, &r);
	h = (size_t)snprintf(hdr, sizeof(hdr), "$%zu\r\n", n + 2);
	ck_assert_uint_eq(r.len, h + n + 4);
	ck_assert(memcmp(r.buf + h, v, n) == 0);
	ck_assert(memcmp(r.buf + h + n, "\r\n\r\n", 4) == 0);
	reply_free(&r);
	free(v);
	expect(sh, T0, "del big", ":1\r\n");
	ck_assert_uint_eq(shard_used_memory(sh), 0);
	shard_free(sh);
}
END_TEST

/* Parse a reply of bulk strings into their texts; returns the count. */
static long
parse_bulks(const reply_t *r, char names[][16], long max)
{
	const char *p = r->buf, *end = r->buf + r->len;
	long n, i;

	ck_assert(*p == '*');
	n = strtol(p + 1, (char **)&p, 10);
	ck_assert_int_le(n, max);
	p += 2;
	for (i = 0; i < n; i++) {
		long len;

		ck_assert(p < end && *p == '$');
		len = strtol(p + 1, (char **)&p, 10);
		p += 2;
		ck_assert_int_lt(len, 16);
		memcpy(names[i], p, (size_t)len);
		names[i][len] = '\0';
		p += len + 2;
	}
	ck_assert(p == end);
	return n;
}

START_TEST(test_spop_members)
{
	shard_t *sh = shard_new(0);
	char names[200][16], line[64];
	int seen[200] = { 0 };
	reply_t r;
	long n;

	reply_init(&r);
	for (int i = 0; i < 100; i++) {
		snprintf(line, sizeof(line), "sadd s m%d", i);
		expect(sh, T0, line, ":1\r\n");
	}
	run(sh, T0, "smembers s", &r);
	ck_assert_int_eq(parse_bulks(&r, names, 200), 100);
	for (int i = 0; i < 100; i++)
		seen[atoi(names[i] + 1)]++;
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(seen[i], 1);
	run(sh, T0, "spop s 10", &r);
	n = parse_bulks(&r, names, 200);
	ck_assert_int_eq(n, 10);
	for (long i = 0; i < n; i++) {
		int m = atoi(names[i] + 1);

		ck_assert_int_eq(seen[m], 1);
		seen[m] = 2;
		snprintf(line, sizeof(line), "sismember s m%d", m);
		expect(sh, T0, line, ":0\r\n");
	}
	expect(sh, T0, "scard s", ":90\r\n");
	run(sh, T0, "spop s", &r);
	ck_assert(r.buf[0] == '$');
	expect(sh, T0, "scard s", ":89\r\n");
	/* Pops are not always the same member. */
	{
		int differ = 0;
		char prev[64] = "";

		for (int i = 0; i < 20; i++) {
			run(sh, T0, "spop s", &r);
			if (i > 0 && strcmp(prev, r.buf) != 0)
				differ = 1;
			ck_assert_uint_lt(r.len, sizeof(prev));
			memcpy(prev, r.buf, r.len);
			prev[r.len] = '\0';
		}
		ck_assert(differ);
	}
	run(sh, T0, "spop s 1000", &r);
	ck_assert_int_eq(parse_bulks(&r, names, 200), 69);
	expect(sh, T0, "exists s", ":0\r\n");
	/* HGETALL: every pair once, in some order. */
	expect(sh, T0, "hset h a 1 b 2 c 3", ":3\r\n");
	run(sh, T0, "hgetall h", &r);
	ck_assert_int_eq(parse_bulks(&r, names, 200), 6);
	{
		int got = 0;

		for (int i = 0; i < 6; i += 2)
			got |= 1 << (names[i][0] - 'a') |
			    (names[i + 1][0] - '0' == names[i][0] - 'a' + 1) << 4;
		ck_assert_int_eq(got, 0x17);
	}
	reply_free(&r);
	shard_free(sh);
}
END_TEST

/* Enough fields to rehash the hash several times, up and down. */
START_TEST(test_big_hash)
{
	shard_t *sh = shard_new(0);
	const int n = 20000;
	char line[64], want[64];
	reply_t r;

	reply_init(&r);
	for (int i = 0; i < n; i++) {
		snprintf(line, sizeof(line), "hset h f%d v%d", i, i);
		run(sh, T0, line, &r);
		if (i % 997 == 0) {
			snprintf(line, sizeof(line), "hget h f%d", i / 2);
			snprintf(want, sizeof(want), "$%zu\r\nv%d\r\n",
			    strlen(line) - 8 + 1 - 1, i / 2);
		}
	}
	expect(sh, T0, "hlen h", ":20000\r\n");
	for (int i = 0; i < n; i += 2) {
		snprintf(line, sizeof(line), "hdel h f%d", i);
		expect(sh, T0, line, ":1\r\n");
	}
	expect(sh, T0, "hlen h", ":10000\r\n");
	for (int i = 0; i < n; i++) {
		snprintf(line, sizeof(line), "hget h f%d", i);
		if (i % 2 == 0) {
			expect(sh, T0, line, "$-1\r\n");
		} else {
			int len = snprintf(want, 16, "v%d", i);

			snprintf(want, sizeof(want), "$%d\r\nv%d\r\n", len, i);
			expect(sh, T0, line, want);
		}
	}
	for (int i = 1; i < n - 2; i += 2) {
		snprintf(line, sizeof(line), "hdel h f%d", i);
		expect(sh, T0, line, ":1\r\n");
	}
	expect(sh, T0, "hgetall h", "*2\r\n$6\r\nf19999\r\n$6\r\nv19999\r\n");
	/* The same for the keyspace itself. */
	for (int i = 0; i < n; i++) {
		snprintf(line, sizeof(line), "set k%d %d", i, i);
		run(sh, T0, line, &r);
	}
	expect(sh, T0, "dbsize", ":20001\r\n");
	for (int i = 0; i < n; i++) {
		snprintf(line, sizeof(line), "del k%d", i);
		expect(sh, T0, line, ":1\r\n");
	}
	expect(sh, T0, "dbsize", ":1\r\n");
	expect(sh, T0, "del h", ":1\r\n");
	ck_assert_uint_eq(shard_used_memory(sh), 0);
	reply_free(&r);
	shard_free(sh);
}
END_TEST

/* Pushes at both ends wrap the ring; compare with a model. */
START_TEST(test_list_model)
{
	shard_t *sh = shard_new(0);
	int model[4096], head = 2048, tail = 2048;
	char line[64];
	reply_t r, w;

	reply_init(&r);
	reply_init(&w);
	for (int i = 0; i < 1500; i++) {
		if (i % 3 == 0) {
			snprintf(line, sizeof(line), "rpush l %d", i);
			model[tail++] = i;
		} else {
			snprintf(line, sizeof(line), "lpush l %d", i);
			model[--head] = i;
		}
		run(sh, T0, line, &r);
		if (i % 5 == 4) {
			run(sh, T0, i % 2 ? "lpop l" : "rpop l", &r);
			if (i % 2)
				head++;
			else
				tail--;
		}
	}
	run(sh, T0, "lrange l 0 -1", &r);
	reply_array(&w, tail - head);
	for (int i = head; i < tail; i++) {
		char v[16];

		snprintf(v, sizeof(v), "%d", model[i]);
		reply_bulk_cstr(&w, v);
	}
	ck_assert_uint_eq(r.len, w.len);
	ck_assert(memcmp(r.buf, w.buf, r.len) == 0);
	for (int i = head; i < tail; i += 37) {
		snprintf(line, sizeof(line), "lindex l %d", i - head);
		reply_reset(&w);
		{
			char v[16];

			snprintf(v, sizeof(v), "%d", model[i]);
			reply_bulk_cstr(&w, v);
		}
		run(sh, T0, line, &r);
		ck_assert(r.len == w.len && memcmp(r.buf, w.buf, r.len) == 0);
	}
	/* Pop most of it: the ring shrinks and stays in order. */
	snprintf(line, sizeof(line), "lpop l %d", tail - head - 3);
	run(sh, T0, line, &r);
	head = tail - 3;
	reply_reset(&w);
	reply_array(&w, 3);
	for (int i = head; i < tail; i++) {
		char v[16];

		snprintf(v, sizeof(v), "%d", model[i]);
		reply_bulk_cstr(&w, v);
	}
	run(sh, T0, "lrange l 0 -1", &r);
	ck_assert(r.len == w.len && memcmp(r.buf, w.buf, r.len) == 0);
	reply_free(&r);
	reply_free(&w);
	shard_free(sh);
}
END_TEST

static Suite *
resp_keyspace_suite(void)
{
	Suite *s = suite_create("resp_keyspace");
	TCase *tc = tn_tcase("steps", TCASE_TIMEOUT_S);

	tcase_add_test(tc, test_steps_set);
	tcase_add_test(tc, test_steps_string_misc);
	tcase_add_test(tc, test_steps_keys);
	tcase_add_test(tc, test_steps_list);
	tcase_add_test(tc, test_steps_hash);
	tcase_add_test(tc, test_steps_sets);
	tcase_add_test(tc, test_steps_flush);
	suite_add_tcase(s, tc);
	tc = tn_tcase("keyspace", TCASE_TIMEOUT_S);
	tcase_add_test(tc, test_table);
	tcase_add_test(tc, test_lazy_expiry);
	tcase_add_test(tc, test_ttl_rounding);
	tcase_add_test(tc, test_active_expiry);
	tcase_add_test(tc, test_binary);
	tcase_add_test(tc, test_in_place);
	tcase_add_test(tc, test_memory);
	tcase_add_test(tc, test_shard_of);
	tcase_add_test(tc, test_scatter);
	tcase_add_test(tc, test_spop_members);
	tcase_add_test(tc, test_big_hash);
	tcase_add_test(tc, test_list_model);
	suite_add_tcase(s, tc);
	tc = tn_tcase("reply", TCASE_TIMEOUT_S);
	tcase_add_test(tc, test_reply_builder);
	tcase_add_test(tc, test_big_value);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tn_run_suite(resp_keyspace_suite());
}
