/*
 * t_hash.c -- the hash commands: HSET, HGET, HDEL, HGETALL, HLEN.
 * Replies, errors and the order of checks are Redis 7.0's (t_hash.c
 * there). A hash is a dict of field -> ks_elem_t; one left empty is
 * deleted.
 */
#include "keyspace.h"

void
cmd_hset(shard_t *sh, const GnetRespArg *argv, int argc, reply_t *out)
{
	long long created = 0;
	ks_dict_entry_t *e;
	ks_dict_t *d;

	if (argc % 2 == 1) {
		reply_error(out,
		    "ERR wrong number of arguments for 'hset' command");
		return;
	}
	e = ks_lookup(sh, &argv[1]);
	if (ks_wrongtype(e, KS_HASH, out))
		return;
	if (e == NULL && (e = ks_add_container(sh, &argv[1], KS_HASH)) == NULL)
		goto nomem;
	d = ks_obj(e)->ptr;
	for (int j = 2; j < argc; j += 2) {
		ks_elem_t *v = ks_elem_new(sh, argv[j + 1].ptr, argv[j + 1].len);
		ks_dict_entry_t *f;
		int added;

		if (v == NULL ||
		    (f = ks_dict_add(d, argv[j].ptr, argv[j].len, &added)) == NULL) {
			ks_elem_free(sh, v);
			if (ks_dict_size(d) == 0)
				ks_delete(sh, e);
			goto nomem;
		}
		if (!added)
			ks_elem_free(sh, f->val);
		f->val = v;
		created += added;
	}
	reply_int(out, created);
	return;
nomem:
	reply_error(out, KS_ERR_NOMEM);
}

void
cmd_hget(shard_t *sh, const GnetRespArg *argv, int argc, reply_t *out)
{
	ks_dict_entry_t *e = ks_lookup_read(sh, &argv[1]), *f;
	ks_elem_t *v;

	if (e == NULL) {
		reply_nil(out);
		return;
	}
	if (ks_wrongtype(e, KS_HASH, out))
		return;
	f = ks_dict_find(ks_obj(e)->ptr, argv[2].ptr, argv[2].len);
	if (f == NULL) {
		reply_nil(out);
		return;
	}
	v = f->val;
	reply_bulk(out, v->data, v->len);
}

void
cmd_hdel(shard_t *sh, const GnetRespArg *argv, int argc, reply_t *out)
{
	ks_remove_members(sh, argv, argc, KS_HASH, out);
}

void
cmd_hgetall(shard_t *sh, const GnetRespArg *argv, int argc, reply_t *out)
{
	ks_dict_entry_t *e = ks_lookup_read(sh, &argv[1]), *f;
	ks_dict_iter_t it;
	ks_dict_t *d;

	if (ks_wrongtype(e, KS_HASH, out))
		return;
	if (e == NULL) {
		reply_array(out, 0);
		return;
	}
	d = ks_obj(e)->ptr;
	reply_array(out, 2 * (long long)ks_dict_size(d));
	ks_dict_iter_init(&it, d);
	while ((f = ks_dict_next(&it)) != NULL) {
		ks_elem_t *v = f->val;

		reply_bulk(out, f->key, f->klen);
		reply_bulk(out, v->data, v->len);
	}
}

void
cmd_hlen(shard_t *sh, const GnetRespArg *argv, int argc, reply_t *out)
{
	ks_dict_entry_t *e = ks_lookup_read(sh, &argv[1]);

	if (ks_wrongtype(e, KS_HASH, out))
		return;
	reply_int(out, e != NULL ? (long long)ks_dict_size(ks_obj(e)->ptr) : 0);
}
