/*
 * t_keys.c -- commands on keys whatever their type: DEL, EXISTS, EXPIRE,
 * PEXPIRE, TTL, PTTL, PERSIST, TYPE, and those on the whole shard:
 * DBSIZE, FLUSHDB, FLUSHALL. Replies, errors and the order of checks
 * are Redis 7.0's (db.c and expire.c there).
 *
 * DEL and EXISTS count over the keys this shard was given, DBSIZE over
 * its keys; the connection adds the shards' counts up.
 */
#include <limits.h>
#include <string.h>
#include "keyspace.h"

enum { EXP_NX = 1, EXP_XX = 2, EXP_GT = 4, EXP_LT = 8 };

void
cmd_del(shard_t *sh, const GnetRespArg *argv, int argc, reply_t *out)
{
	long long n = 0;

	for (int j = 1; j < argc; j++) {
		ks_dict_entry_t *e = ks_lookup(sh, &argv[j]);

		if (e != NULL) {
			ks_delete(sh, e);
			n++;
		}
	}
	reply_int(out, n);
}

void
cmd_exists(shard_t *sh, const GnetRespArg *argv, int argc, reply_t *out)
{
	long long n = 0;

	for (int j = 1; j < argc; j++)
		n += ks_lookup_read(sh, &argv[j]) != NULL;
	reply_int(out, n);
}

/* Redis's parseExtendedExpireArgumentsOrReply. An unknown option is
 * named in the error up to its first NUL, as Redis prints it. */
static int
expire_options(const GnetRespArg *argv, int argc, unsigned *flags,
    reply_t *out)
{
	unsigned f = 0;

	for (int j = 3; j < argc; j++) {
		const GnetRespArg *a = &argv[j];

		if (ks_arg_is(a, "nx")) {
			f |= EXP_NX;
		} else if (ks_arg_is(a, "xx")) {
			f |= EXP_XX;
		} else if (ks_arg_is(a, "gt")) {
			f |= EXP_GT;
		} else if (ks_arg_is(a, "lt")) {
			f |= EXP_LT;
		} else {
			const char *nul = memchr(a->ptr, '\0', a->len);
			int n = (int)(nul ? (size_t)(nul - a->ptr) : a->len);

			reply_errorf(out, "ERR Unsupported option %.*s", n, a->ptr);
			return -1;
		}
	}
	if ((f & EXP_NX) && (f & (EXP_XX | EXP_GT | EXP_LT))) {
		reply_error(out, "ERR NX and XX, GT or LT options at the same "
		    "time are not compatible");
		return -1;
	}
	if ((f & EXP_GT) && (f & EXP_LT)) {
		reply_error(out,
		    "ERR GT and LT options at the same time are not compatible");
		return -1;
	}
	*flags = f;
	return 0;
}

/* Redis's expireGenericCommand, relative to now: a time already past
 * deletes the key (and still answers 1). */
static void
expire_generic(shard_t *sh, const GnetRespArg *argv, int argc, int secs,
    reply_t *out)
{
	long long when, cur;
	ks_dict_entry_t *e;
	unsigned f;

	if (expire_options(argv, argc, &f, out) < 0 ||
	    ks_arg_ll(&argv[2], &when, out) < 0)
		return;
	if (secs) {
		if (when > LLONG_MAX / 1000 || when < LLONG_MIN / 1000)
			goto invalid;
		when *= 1000;
	}
	if (when > LLONG_MAX - (long long)sh->now_ms)
		goto invalid;
	when += (long long)sh->now_ms;
	if ((e = ks_lookup(sh, &argv[1])) == NULL) {
		reply_int(out, 0);
		return;
	}
	cur = ks_obj(e)->expire_ms ? (long long)ks_obj(e)->expire_ms : -1;
	if (((f & EXP_NX) && cur != -1) || ((f & EXP_XX) && cur == -1) ||
	    ((f & EXP_GT) && (when <= cur || cur == -1)) ||
	    ((f & EXP_LT) && cur != -1 && when >= cur)) {
		reply_int(out, 0);
		return;
	}
	if (when <= (long long)sh->now_ms)
		ks_delete(sh, e);
	else
		ks_set_expire(sh, e, (uint64_t)when);
	reply_int(out, 1);
	return;
invalid:
	reply_errorf(out, "ERR invalid expire time in '%s' command",
	    secs ? "expire" : "pexpire");
}

void
cmd_expire(shard_t *sh, const GnetRespArg *argv, int argc, reply_t *out)
{
	expire_generic(sh, argv, argc, 1, out);
}

void
cmd_pexpire(shard_t *sh, const GnetRespArg *argv, int argc, reply_t *out)
{
	expire_generic(sh, argv, argc, 0, out);
}

static void
ttl_generic(shard_t *sh, const GnetRespArg *key, int ms, reply_t *out)
{
	ks_dict_entry_t *e = ks_lookup_read(sh, key);
	long long ttl;

	if (e == NULL) {
		reply_int(out, -2);
		return;
	}
	if (ks_obj(e)->expire_ms == 0) {
		reply_int(out, -1);
		return;
	}
	ttl = (long long)ks_obj(e)->expire_ms - (long long)sh->now_ms;
	if (ttl < 0)
		ttl = 0;
	reply_int(out, ms ? ttl : (ttl + 500) / 1000);
}

void
cmd_ttl(shard_t *sh, const GnetRespArg *argv, int argc, reply_t *out)
{
	ttl_generic(sh, &argv[1], 0, out);
}

void
cmd_pttl(shard_t *sh, const GnetRespArg *argv, int argc, reply_t *out)
{
	ttl_generic(sh, &argv[1], 1, out);
}

void
cmd_persist(shard_t *sh, const GnetRespArg *argv, int argc, reply_t *out)
{
	ks_dict_entry_t *e = ks_lookup(sh, &argv[1]);

	reply_int(out, e != NULL ? ks_persist(sh, e) : 0);
}

void
cmd_type(shard_t *sh, const GnetRespArg *argv, int argc, reply_t *out)
{
	static const char *const names[] = {
		[KS_STRING] = "string", [KS_LIST] = "list",
		[KS_HASH] = "hash", [KS_SET] = "set"
	};
	ks_dict_entry_t *e = ks_lookup_read(sh, &argv[1]);

	reply_status(out, e != NULL ? names[ks_obj(e)->type] : "none");
}

void
cmd_dbsize(shard_t *sh, const GnetRespArg *argv, int argc, reply_t *out)
{
	reply_int(out, (long long)shard_keys(sh, sh->now_ms));
}

/* Redis's getFlushCommandFlags: nothing, ASYNC or SYNC. Both flush now:
 * a shard's values are freed by its own loop either way. */
static void
flush_generic(shard_t *sh, const GnetRespArg *argv, int argc, reply_t *out)
{
	if (argc > 2 || (argc == 2 && !ks_arg_is(&argv[1], "sync") &&
	    !ks_arg_is(&argv[1], "async"))) {
		reply_error(out, RESP_ERR_SYNTAX);
		return;
	}
	shard_flush(sh);
	reply_raw(out, "+OK\r\n", 5);
}

void
cmd_flushdb(shard_t *sh, const GnetRespArg *argv, int argc, reply_t *out)
{
	flush_generic(sh, argv, argc, out);
}

void
cmd_flushall(shard_t *sh, const GnetRespArg *argv, int argc, reply_t *out)
{
	flush_generic(sh, argv, argc, out);
}
