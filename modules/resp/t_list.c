/*
 * t_list.c -- the list commands: LPUSH, RPUSH, LPOP, RPOP (with 7.0's
 * optional count), LLEN, LRANGE, LINDEX. Replies, errors and the order
 * of checks are Redis 7.0's (t_list.c there). A list left empty is
 * deleted, so an empty list is never seen.
 */
#include <string.h>
#include "keyspace.h"

static void
push_generic(shard_t *sh, const GnetRespArg *argv, int argc, int left,
    reply_t *out)
{
	ks_dict_entry_t *e = ks_lookup(sh, &argv[1]);
	ks_list_t *l;

	if (ks_wrongtype(e, KS_LIST, out))
		return;
	if (e == NULL && (e = ks_add_container(sh, &argv[1], KS_LIST)) == NULL)
		goto nomem;
	l = ks_obj(e)->ptr;
	for (int j = 2; j < argc; j++) {
		ks_elem_t *el = ks_elem_new(sh, argv[j].ptr, argv[j].len);

		if (el == NULL || ks_list_push(sh, l, el, left) < 0) {
			ks_elem_free(sh, el);
			if (l->len == 0)
				ks_delete(sh, e);
			goto nomem;
		}
	}
	reply_int(out, (long long)l->len);
	return;
nomem:
	reply_error(out, KS_ERR_NOMEM);
}

void
cmd_lpush(shard_t *sh, const GnetRespArg *argv, int argc, reply_t *out)
{
	push_generic(sh, argv, argc, 1, out);
}

void
cmd_rpush(shard_t *sh, const GnetRespArg *argv, int argc, reply_t *out)
{
	push_generic(sh, argv, argc, 0, out);
}

static void
pop_one(shard_t *sh, ks_list_t *l, int left, reply_t *out)
{
	ks_elem_t *el = ks_list_pop(sh, l, left);

	reply_bulk(out, el->data, el->len);
	ks_elem_free(sh, el);
}

/* Redis's popGenericCommand: with a count, the reply is an array (nil
 * for a missing key, empty for a count of 0). */
static void
pop_generic(shard_t *sh, const GnetRespArg *argv, int argc, int left,
    reply_t *out)
{
	int hascount = argc == 3;
	long count = 0;
	ks_dict_entry_t *e;
	ks_list_t *l;

	if (argc > 3) {
		reply_errorf(out, "ERR wrong number of arguments for '%s' command",
		    left ? "lpop" : "rpop");
		return;
	}
	if (hascount && ks_arg_count(&argv[2], &count, out) < 0)
		return;
	if ((e = ks_lookup(sh, &argv[1])) == NULL) {
		if (hascount)
			reply_nil_array(out);
		else
			reply_nil(out);
		return;
	}
	if (ks_wrongtype(e, KS_LIST, out))
		return;
	l = ks_obj(e)->ptr;
	if (!hascount) {
		pop_one(sh, l, left, out);
	} else {
		size_t n = (size_t)count < l->len ? (size_t)count : l->len;

		reply_array(out, (long long)n);
		while (n-- > 0)
			pop_one(sh, l, left, out);
	}
	if (l->len == 0)
		ks_delete(sh, e);
}

void
cmd_lpop(shard_t *sh, const GnetRespArg *argv, int argc, reply_t *out)
{
	pop_generic(sh, argv, argc, 1, out);
}

void
cmd_rpop(shard_t *sh, const GnetRespArg *argv, int argc, reply_t *out)
{
	pop_generic(sh, argv, argc, 0, out);
}

void
cmd_llen(shard_t *sh, const GnetRespArg *argv, int argc, reply_t *out)
{
	ks_dict_entry_t *e = ks_lookup_read(sh, &argv[1]);

	if (ks_wrongtype(e, KS_LIST, out))
		return;
	reply_int(out, e != NULL ?
	    (long long)((ks_list_t *)ks_obj(e)->ptr)->len : 0);
}

/* Indexes are parsed before the key is looked at, as in Redis. */
void
cmd_lrange(shard_t *sh, const GnetRespArg *argv, int argc, reply_t *out)
{
	long long start, end, len;
	ks_dict_entry_t *e;
	ks_list_t *l;

	if (ks_arg_ll(&argv[2], &start, out) < 0 ||
	    ks_arg_ll(&argv[3], &end, out) < 0)
		return;
	e = ks_lookup_read(sh, &argv[1]);
	if (ks_wrongtype(e, KS_LIST, out))
		return;
	if (e == NULL) {
		reply_array(out, 0);
		return;
	}
	l = ks_obj(e)->ptr;
	len = (long long)l->len;
	if (start < 0)
		start += len;
	if (end < 0)
		end += len;
	if (start < 0)
		start = 0;
	if (start > end || start >= len) {
		reply_array(out, 0);
		return;
	}
	if (end >= len)
		end = len - 1;
	reply_array(out, end - start + 1);
	for (long long i = start; i <= end; i++) {
		ks_elem_t *el = ks_list_at(l, (size_t)i);

		reply_bulk(out, el->data, el->len);
	}
}

/* The key is looked at before the index is parsed, as in Redis. */
void
cmd_lindex(shard_t *sh, const GnetRespArg *argv, int argc, reply_t *out)
{
	ks_dict_entry_t *e = ks_lookup_read(sh, &argv[1]);
	long long i, len;
	ks_list_t *l;
	ks_elem_t *el;

	if (e == NULL) {
		reply_nil(out);
		return;
	}
	if (ks_wrongtype(e, KS_LIST, out) || ks_arg_ll(&argv[2], &i, out) < 0)
		return;
	l = ks_obj(e)->ptr;
	len = (long long)l->len;
	if (i < 0)
		i += len;
	if (i < 0 || i >= len) {
		reply_nil(out);
		return;
	}
	el = ks_list_at(l, (size_t)i);
	reply_bulk(out, el->data, el->len);
}
