/*
 * t_string.c -- the string commands: SET, GET, GETSET, SETNX, MSET,
 * MGET, INCR, DECR, INCRBY, DECRBY, APPEND, STRLEN. Replies, errors and
 * the order of checks are Redis 7.0's (t_string.c there).
 *
 * GET writes the value straight from the key's buffer into the reply;
 * SET over a string of about the same size and INCR rewrite the key's
 * buffer in place, so none of them allocates once the key exists.
 * MSET and MGET work on whatever subset of keys this shard was given:
 * the connection scatters them and gathers the replies.
 */
#include <limits.h>
#include <string.h>
#include "keyspace.h"

enum {
	SET_NX = 1 << 0, SET_XX = 1 << 1, SET_GET = 1 << 2,
	SET_KEEPTTL = 1 << 3, SET_EX = 1 << 4, SET_PX = 1 << 5,
	SET_EXAT = 1 << 6, SET_PXAT = 1 << 7
};
#define SET_ANY_TIME (SET_EX | SET_PX | SET_EXAT | SET_PXAT)

#define ERR_TOO_BIG \
	"ERR string exceeds maximum allowed size (proto-max-bulk-len)"

/* Out of memory after part of a reply was written: take it back, so the
 * client gets one frame. */
static void
oom(reply_t *out, size_t mark)
{
	if (!out->failed)
		out->len = mark;
	reply_error(out, KS_ERR_NOMEM);
}

/* Redis's parseExtendedStringArgumentsOrReply for SET: an option is
 * refused (syntax error) when it conflicts with one already given, and
 * an expiry option needs its argument. */
static int
set_options(const GnetRespArg *argv, int argc, unsigned *flags,
    const GnetRespArg **expire, reply_t *out)
{
	unsigned f = 0;

	for (int j = 3; j < argc; j++) {
		const GnetRespArg *a = &argv[j];
		int next = j + 1 < argc;

		if (ks_arg_is(a, "nx") && !(f & SET_XX)) {
			f |= SET_NX;
		} else if (ks_arg_is(a, "xx") && !(f & SET_NX)) {
			f |= SET_XX;
		} else if (ks_arg_is(a, "get")) {
			f |= SET_GET;
		} else if (ks_arg_is(a, "keepttl") && !(f & SET_ANY_TIME)) {
			f |= SET_KEEPTTL;
		} else if (ks_arg_is(a, "ex") && next &&
		    !(f & (SET_KEEPTTL | (SET_ANY_TIME & ~SET_EX)))) {
			f |= SET_EX;
			*expire = &argv[++j];
		} else if (ks_arg_is(a, "px") && next &&
		    !(f & (SET_KEEPTTL | (SET_ANY_TIME & ~SET_PX)))) {
			f |= SET_PX;
			*expire = &argv[++j];
		} else if (ks_arg_is(a, "exat") && next &&
		    !(f & (SET_KEEPTTL | (SET_ANY_TIME & ~SET_EXAT)))) {
			f |= SET_EXAT;
			*expire = &argv[++j];
		} else if (ks_arg_is(a, "pxat") && next &&
		    !(f & (SET_KEEPTTL | (SET_ANY_TIME & ~SET_PXAT)))) {
			f |= SET_PXAT;
			*expire = &argv[++j];
		} else {
			reply_error(out, RESP_ERR_SYNTAX);
			return -1;
		}
	}
	*flags = f;
	return 0;
}

/* The absolute time in ms an expiry option asks for, refusing what
 * Redis refuses: not positive, or overflowing once made absolute. */
static int
set_expire_time(shard_t *sh, const GnetRespArg *a, unsigned f,
    long long *when, reply_t *out)
{
	long long v;
	int secs = (f & (SET_EX | SET_EXAT)) != 0;

	if (ks_arg_ll(a, &v, out) < 0)
		return -1;
	if (v <= 0 || (secs && v > LLONG_MAX / 1000))
		goto invalid;
	if (secs)
		v *= 1000;
	if (f & (SET_EX | SET_PX)) {
		if (v > LLONG_MAX - (long long)sh->now_ms)
			goto invalid;
		v += (long long)sh->now_ms;
	}
	*when = v;
	return 0;
invalid:
	reply_error(out, "ERR invalid expire time in 'set' command");
	return -1;
}

/* Redis's getGenericCommand: the value, nil, or WRONGTYPE (-1). */
static int
get_generic(shard_t *sh, const GnetRespArg *key, ks_dict_entry_t **ep,
    reply_t *out)
{
	ks_dict_entry_t *e = ks_lookup_read(sh, key);

	*ep = e;
	if (e == NULL) {
		reply_nil(out);
		return 0;
	}
	if (ks_wrongtype(e, KS_STRING, out))
		return -1;
	reply_bulk(out, ks_obj(e)->data, ks_obj(e)->len);
	return 0;
}

void
cmd_set(shard_t *sh, const GnetRespArg *argv, int argc, reply_t *out)
{
	const GnetRespArg *expire = NULL;
	ks_dict_entry_t *e;
	long long when = 0;
	size_t mark = out->len;
	unsigned f;

	if (set_options(argv, argc, &f, &expire, out) < 0)
		return;
	if (expire != NULL && set_expire_time(sh, expire, f, &when, out) < 0)
		return;
	if (f & SET_GET) {
		if (get_generic(sh, &argv[1], &e, out) < 0)
			return;
	} else {
		e = ks_lookup(sh, &argv[1]);
	}
	if (((f & SET_NX) && e != NULL) || ((f & SET_XX) && e == NULL)) {
		if (!(f & SET_GET))
			reply_nil(out);
		return;
	}
	e = ks_set_string(sh, &argv[1], e, argv[2].ptr, argv[2].len,
	    (f & SET_KEEPTTL) != 0);
	if (e == NULL) {
		oom(out, mark);
		return;
	}
	if (expire != NULL)
		ks_set_expire(sh, e, (uint64_t)when);
	if (!(f & SET_GET))
		reply_raw(out, "+OK\r\n", 5);
}

void
cmd_get(shard_t *sh, const GnetRespArg *argv, int argc, reply_t *out)
{
	ks_dict_entry_t *e;

	(void)get_generic(sh, &argv[1], &e, out);
}

void
cmd_getset(shard_t *sh, const GnetRespArg *argv, int argc, reply_t *out)
{
	size_t mark = out->len;
	ks_dict_entry_t *e;

	if (get_generic(sh, &argv[1], &e, out) < 0)
		return;
	if (ks_set_string(sh, &argv[1], e, argv[2].ptr, argv[2].len, 0) == NULL)
		oom(out, mark);
}

void
cmd_setnx(shard_t *sh, const GnetRespArg *argv, int argc, reply_t *out)
{
	if (ks_lookup(sh, &argv[1]) != NULL) {
		reply_int(out, 0);
		return;
	}
	if (ks_set_string(sh, &argv[1], NULL, argv[2].ptr, argv[2].len,
	    0) == NULL)
		reply_error(out, KS_ERR_NOMEM);
	else
		reply_int(out, 1);
}

void
cmd_mset(shard_t *sh, const GnetRespArg *argv, int argc, reply_t *out)
{
	if (argc % 2 == 0) {
		reply_error(out,
		    "ERR wrong number of arguments for 'mset' command");
		return;
	}
	for (int j = 1; j < argc; j += 2) {
		ks_dict_entry_t *e = ks_lookup(sh, &argv[j]);

		if (ks_set_string(sh, &argv[j], e, argv[j + 1].ptr,
		    argv[j + 1].len, 0) == NULL) {
			reply_error(out, KS_ERR_NOMEM);
			return;
		}
	}
	reply_raw(out, "+OK\r\n", 5);
}

void
cmd_mget(shard_t *sh, const GnetRespArg *argv, int argc, reply_t *out)
{
	reply_array(out, argc - 1);
	for (int j = 1; j < argc; j++) {
		ks_dict_entry_t *e = ks_lookup_read(sh, &argv[j]);

		if (e == NULL || ks_obj(e)->type != KS_STRING)
			reply_nil(out);
		else
			reply_bulk(out, ks_obj(e)->data, ks_obj(e)->len);
	}
}

/* Redis's incrDecrCommand. The new value's digits go into the key's
 * buffer, which has room for them unless it held a shorter string. */
static void
incr_generic(shard_t *sh, const GnetRespArg *key, long long incr,
    reply_t *out)
{
	ks_dict_entry_t *e = ks_lookup(sh, key);
	char buf[24];
	long long v = 0;
	size_t n;

	if (ks_wrongtype(e, KS_STRING, out))
		return;
	if (e != NULL && !ks_string2ll(ks_obj(e)->data, ks_obj(e)->len, &v)) {
		reply_error(out, RESP_ERR_NOT_INT);
		return;
	}
	if ((incr < 0 && v < 0 && incr < LLONG_MIN - v) ||
	    (incr > 0 && v > 0 && incr > LLONG_MAX - v)) {
		reply_error(out, RESP_ERR_OVERFLOW);
		return;
	}
	v += incr;
	n = ks_ll2str(buf, v);
	/* The key keeps its time, as in Redis. */
	if (e != NULL ? ks_string_assign(sh, e, buf, n) < 0 :
	    ks_set_string(sh, key, NULL, buf, n, 0) == NULL) {
		reply_error(out, KS_ERR_NOMEM);
		return;
	}
	reply_int(out, v);
}

void
cmd_incr(shard_t *sh, const GnetRespArg *argv, int argc, reply_t *out)
{
	incr_generic(sh, &argv[1], 1, out);
}

void
cmd_decr(shard_t *sh, const GnetRespArg *argv, int argc, reply_t *out)
{
	incr_generic(sh, &argv[1], -1, out);
}

void
cmd_incrby(shard_t *sh, const GnetRespArg *argv, int argc, reply_t *out)
{
	long long incr;

	if (ks_arg_ll(&argv[2], &incr, out) < 0)
		return;
	incr_generic(sh, &argv[1], incr, out);
}

void
cmd_decrby(shard_t *sh, const GnetRespArg *argv, int argc, reply_t *out)
{
	long long incr;

	if (ks_arg_ll(&argv[2], &incr, out) < 0)
		return;
	if (incr == LLONG_MIN) {         /* cannot be negated */
		reply_error(out, "ERR decrement would overflow");
		return;
	}
	incr_generic(sh, &argv[1], -incr, out);
}

void
cmd_append(shard_t *sh, const GnetRespArg *argv, int argc, reply_t *out)
{
	ks_dict_entry_t *e = ks_lookup(sh, &argv[1]);

	if (e == NULL) {
		if (ks_set_string(sh, &argv[1], NULL, argv[2].ptr, argv[2].len,
		    0) == NULL)
			reply_error(out, KS_ERR_NOMEM);
		else
			reply_int(out, (long long)argv[2].len);
		return;
	}
	if (ks_wrongtype(e, KS_STRING, out))
		return;
	if (ks_obj(e)->len + argv[2].len > (size_t)KS_MAX_STRING) {
		reply_error(out, ERR_TOO_BIG);
		return;
	}
	if (ks_string_append(sh, e, argv[2].ptr, argv[2].len) < 0) {
		reply_error(out, KS_ERR_NOMEM);
		return;
	}
	reply_int(out, (long long)ks_obj(e)->len);
}

void
cmd_strlen(shard_t *sh, const GnetRespArg *argv, int argc, reply_t *out)
{
	ks_dict_entry_t *e = ks_lookup_read(sh, &argv[1]);

	if (ks_wrongtype(e, KS_STRING, out))
		return;
	reply_int(out, e != NULL ? (long long)ks_obj(e)->len : 0);
}
