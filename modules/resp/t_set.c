/*
 * t_set.c -- the set commands: SADD, SREM, SMEMBERS, SCARD, SISMEMBER,
 * SPOP (with 7.0's optional count). Replies, errors and the order of
 * checks are Redis 7.0's (t_set.c there). A set is a dict of members
 * with no values; one left empty is deleted. Which members SMEMBERS
 * lists first, and which SPOP takes, is unspecified, as in Redis.
 */
#include "keyspace.h"

void
cmd_sadd(shard_t *sh, const GnetRespArg *argv, int argc, reply_t *out)
{
	ks_dict_entry_t *e = ks_lookup(sh, &argv[1]);
	long long added = 0;
	ks_dict_t *d;

	if (ks_wrongtype(e, KS_SET, out))
		return;
	if (e == NULL && (e = ks_add_container(sh, &argv[1], KS_SET)) == NULL)
		goto nomem;
	d = ks_obj(e)->ptr;
	for (int j = 2; j < argc; j++) {
		int a;

		if (ks_dict_add(d, argv[j].ptr, argv[j].len, &a) == NULL) {
			if (ks_dict_size(d) == 0)
				ks_delete(sh, e);
			goto nomem;
		}
		added += a;
	}
	reply_int(out, added);
	return;
nomem:
	reply_error(out, KS_ERR_NOMEM);
}

void
cmd_srem(shard_t *sh, const GnetRespArg *argv, int argc, reply_t *out)
{
	ks_remove_members(sh, argv, argc, KS_SET, out);
}

static void
reply_members(ks_dict_t *d, reply_t *out)
{
	ks_dict_entry_t *m;
	ks_dict_iter_t it;

	reply_array(out, (long long)ks_dict_size(d));
	ks_dict_iter_init(&it, d);
	while ((m = ks_dict_next(&it)) != NULL)
		reply_bulk(out, m->key, m->klen);
}

void
cmd_smembers(shard_t *sh, const GnetRespArg *argv, int argc, reply_t *out)
{
	ks_dict_entry_t *e = ks_lookup_read(sh, &argv[1]);

	if (ks_wrongtype(e, KS_SET, out))
		return;
	if (e == NULL)
		reply_array(out, 0);
	else
		reply_members(ks_obj(e)->ptr, out);
}

void
cmd_scard(shard_t *sh, const GnetRespArg *argv, int argc, reply_t *out)
{
	ks_dict_entry_t *e = ks_lookup_read(sh, &argv[1]);

	if (ks_wrongtype(e, KS_SET, out))
		return;
	reply_int(out, e != NULL ? (long long)ks_dict_size(ks_obj(e)->ptr) : 0);
}

void
cmd_sismember(shard_t *sh, const GnetRespArg *argv, int argc, reply_t *out)
{
	ks_dict_entry_t *e = ks_lookup_read(sh, &argv[1]);

	if (ks_wrongtype(e, KS_SET, out))
		return;
	reply_int(out, e != NULL &&
	    ks_dict_find(ks_obj(e)->ptr, argv[2].ptr, argv[2].len) != NULL);
}

/* Take one random member out, replying with it. */
static void
pop_random(shard_t *sh, ks_dict_t *d, reply_t *out)
{
	ks_dict_entry_t *m = ks_dict_random(d, ks_random, sh);

	reply_bulk(out, m->key, m->klen);
	ks_dict_delete_entry(d, m);
}

/* Redis's spopCommand and spopWithCountCommand: the count is checked
 * before the key; a missing key gives nil, or an empty array with a
 * count; a count covering the set takes it all. */
void
cmd_spop(shard_t *sh, const GnetRespArg *argv, int argc, reply_t *out)
{
	long count = 0;
	ks_dict_entry_t *e;
	ks_dict_t *d;

	if (argc > 3) {
		reply_error(out, RESP_ERR_SYNTAX);
		return;
	}
	if (argc == 3 && ks_arg_count(&argv[2], &count, out) < 0)
		return;
	if ((e = ks_lookup(sh, &argv[1])) == NULL) {
		if (argc == 3)
			reply_array(out, 0);
		else
			reply_nil(out);
		return;
	}
	if (ks_wrongtype(e, KS_SET, out))
		return;
	d = ks_obj(e)->ptr;
	if (argc == 2) {
		pop_random(sh, d, out);
	} else if ((size_t)count >= ks_dict_size(d)) {
		reply_members(d, out);
		ks_dict_clear(d, NULL, NULL);
	} else {
		reply_array(out, count);
		while (count-- > 0)
			pop_random(sh, d, out);
	}
	if (ks_dict_size(d) == 0)
		ks_delete(sh, e);
}
