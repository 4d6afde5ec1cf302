/*
 * shard.c -- a shard's life, its keys and their times (shard.h), and the
 * value objects the commands share (keyspace.h).
 *
 * Expiry follows Redis: a key is past its time when now > its time
 * (at the very millisecond it still exists, with a PTTL of 0), and is
 * deleted by the first command that touches it or by the active cycle,
 * which walks the array of keys with a time from where it last stopped.
 */
#include <stdlib.h>
#include <string.h>
#include "keyspace.h"
#include "mem.h"

#define SHARD_SEED 0x5f3759df2545f491ull /* not dict's: see shard_of */
#define EXP_MIN_CAP 16
#define LIST_MIN_CAP 4
/* A string keeps its buffer for a new value unless the buffer is more
 * than twice what the value needs (plus a little): SET of a small value
 * over a huge one gives the memory back. */
#define STRING_SLACK 64
#define APPEND_DOUBLE_MAX (1u << 20) /* grow by doubling up to this */

/* The shard is picked from ks_hash with its own seed, so the keys of one
 * shard are not all alike in the bits dict buckets use; a multiply-shift
 * maps the hash onto [0, nshards) without a division. */
unsigned
shard_of(const void *key, size_t len, unsigned nshards)
{
	uint64_t h = ks_hash(key, len, SHARD_SEED);

	return (unsigned)(((__uint128_t)h * nshards) >> 64);
}

uint64_t
shard_key_hash(const void *key, size_t len)
{
	return ks_dict_hash(key, len);
}

void
shard_prefetch(const shard_t *sh, uint64_t h, int stage)
{
	ks_dict_prefetch(&sh->keys, h, stage);
}

shard_t *
shard_new(int index)
{
	shard_t *sh = calloc(1, sizeof(*sh));
	uint64_t z;

	if (sh == NULL)
		return NULL;
	sh->index = index;
	ks_dict_init(&sh->keys, &sh->used, 0);
	/* splitmix64 of the index: distinct, never-zero xorshift states. */
	z = (uint64_t)index + 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	sh->rng = (z ^ (z >> 31)) | 1;
	return sh;
}

static void obj_free(shard_t *sh, ks_obj_t *o);

static void
free_obj_cb(void *ctx, void *val)
{
	obj_free(ctx, val);
}

void
shard_flush(shard_t *sh)
{
	ks_dict_clear(&sh->keys, free_obj_cb, sh);
	free(sh->exp);
	sh->exp = NULL;
	sh->nexp = sh->exp_cap = sh->exp_cursor = 0;
}

void
shard_free(shard_t *sh)
{
	if (sh == NULL)
		return;
	shard_flush(sh);
	free(sh);
}

void
shard_exec(shard_t *sh, const resp_cmd_t *cmd, const GnetRespArg *argv,
    int argc, uint64_t now_ms, reply_t *out)
{
	sh->now_ms = now_ms;
	if (cmd->exec == NULL) {
		reply_errorf(out, "ERR '%s' does not run on a shard", cmd->name);
		return;
	}
	cmd->exec(sh, argv, argc, out);
}

static inline int
expired(const ks_obj_t *o, uint64_t now)
{
	return o->expire_ms != 0 && now > o->expire_ms;
}

size_t
shard_expires(shard_t *sh, uint64_t now_ms)
{
	size_t n = 0;

	for (size_t i = 0; i < sh->nexp; i++)
		n += !expired(ks_obj(sh->exp[i]), now_ms);
	return n;
}

size_t
shard_keys(shard_t *sh, uint64_t now_ms)
{
	return ks_dict_size(&sh->keys) - (sh->nexp - shard_expires(sh, now_ms));
}

size_t
shard_used_memory(const shard_t *sh)
{
	return __atomic_load_n(&sh->used, __ATOMIC_RELAXED);
}

void
shard_get_stats(const shard_t *sh, shard_stats_t *out)
{
	*out = sh->stats;
}

size_t
shard_expire_cycle(shard_t *sh, uint64_t now_ms, size_t budget)
{
	size_t deleted = 0;

	for (size_t looked = 0; looked < budget && sh->nexp > 0; looked++) {
		ks_dict_entry_t *e;

		if (sh->exp_cursor >= sh->nexp)
			sh->exp_cursor = 0;
		e = sh->exp[sh->exp_cursor];
		if (expired(ks_obj(e), now_ms)) {
			/* The last key moves into this slot: look at it next. */
			ks_delete(sh, e);
			sh->stats.expired_keys++;
			deleted++;
		} else {
			sh->exp_cursor++;
		}
	}
	return deleted;
}

uint64_t
ks_random(void *shard)
{
	shard_t *sh = shard;
	uint64_t x = sh->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	sh->rng = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* Keys. */

ks_dict_entry_t *
ks_lookup(shard_t *sh, const GnetRespArg *key)
{
	ks_dict_entry_t *e = ks_dict_find(&sh->keys, key->ptr, key->len);

	if (e != NULL && expired(ks_obj(e), sh->now_ms)) {
		ks_delete(sh, e);
		sh->stats.expired_keys++;
		return NULL;
	}
	return e;
}

ks_dict_entry_t *
ks_lookup_read(shard_t *sh, const GnetRespArg *key)
{
	ks_dict_entry_t *e = ks_lookup(sh, key);

	if (e != NULL)
		sh->stats.keyspace_hits++;
	else
		sh->stats.keyspace_misses++;
	return e;
}

int
ks_wrongtype(const ks_dict_entry_t *e, unsigned type, reply_t *out)
{
	if (e == NULL || ks_obj(e)->type == type)
		return 0;
	reply_error(out, RESP_ERR_WRONGTYPE);
	return 1;
}

void
ks_set_expire(shard_t *sh, ks_dict_entry_t *e, uint64_t when_ms)
{
	ks_obj_t *o = ks_obj(e);

	if (o->expire_ms == 0) {
		if (sh->nexp == sh->exp_cap) {
			size_t cap = sh->exp_cap ? sh->exp_cap * 2 : EXP_MIN_CAP;
			ks_dict_entry_t **p = realloc(sh->exp, cap * sizeof(*p));

			if (p == NULL)
				abort();     /* as Redis does on a failed allocation */
			sh->exp = p;
			sh->exp_cap = cap;
		}
		o->exp_slot = sh->nexp;
		sh->exp[sh->nexp++] = e;
	}
	o->expire_ms = when_ms;
}

int
ks_persist(shard_t *sh, ks_dict_entry_t *e)
{
	ks_obj_t *o = ks_obj(e);
	ks_dict_entry_t *last;

	if (o->expire_ms == 0)
		return 0;
	last = sh->exp[--sh->nexp];
	sh->exp[o->exp_slot] = last;
	ks_obj(last)->exp_slot = o->exp_slot;
	o->expire_ms = 0;
	return 1;
}

void
ks_delete(shard_t *sh, ks_dict_entry_t *e)
{
	ks_persist(sh, e);
	obj_free(sh, ks_obj(e));
	ks_dict_delete_entry(&sh->keys, e);
}

/* Objects. */

static ks_obj_t *
string_new(shard_t *sh, const void *val, size_t len)
{
	ks_obj_t *o = ks_malloc(&sh->used, sizeof(*o) + len);

	if (o == NULL)
		return NULL;
	o->expire_ms = 0;
	o->exp_slot = 0;
	o->type = KS_STRING;
	o->ptr = NULL;
	o->len = len;
	o->cap = malloc_usable_size(o) - sizeof(*o);
	if (len > 0)
		memcpy(o->data, val, len);
	return o;
}

static void
list_free(shard_t *sh, ks_list_t *l)
{
	for (size_t i = 0; i < l->len; i++)
		ks_elem_free(sh, ks_list_at(l, i));
	ks_free(&sh->used, l->ring);
	ks_free(&sh->used, l);
}

static void
free_elem_cb(void *ctx, void *val)
{
	ks_elem_free(ctx, val);
}

static void
obj_free(shard_t *sh, ks_obj_t *o)
{
	switch (o->type) {
	case KS_LIST:
		list_free(sh, o->ptr);
		break;
	case KS_HASH:
	case KS_SET:
		ks_dict_clear(o->ptr, o->type == KS_HASH ? free_elem_cb : NULL, sh);
		ks_free(&sh->used, o->ptr);
		break;
	}
	ks_free(&sh->used, o);
}

/* Put a new object in e's place, carrying the time over. */
static void
obj_replace(shard_t *sh, ks_dict_entry_t *e, ks_obj_t *n)
{
	ks_obj_t *o = ks_obj(e);

	n->expire_ms = o->expire_ms;
	n->exp_slot = o->exp_slot;
	obj_free(sh, o);
	e->val = n;
}

int
ks_string_assign(shard_t *sh, ks_dict_entry_t *e, const void *val, size_t len)
{
	ks_obj_t *o = ks_obj(e), *n;

	if (o->type == KS_STRING && len <= o->cap &&
	    o->cap <= 2 * len + STRING_SLACK) {
		if (len > 0)
			memcpy(o->data, val, len);
		o->len = len;
		return 0;
	}
	if ((n = string_new(sh, val, len)) == NULL)
		return -1;
	obj_replace(sh, e, n);
	return 0;
}

/* Make room for a string to reach len bytes, keeping its bytes. */
static int
string_reserve(shard_t *sh, ks_dict_entry_t *e, size_t len)
{
	ks_obj_t *o = ks_obj(e), *n;
	size_t want, old;

	if (len <= o->cap)
		return 0;
	want = len < APPEND_DOUBLE_MAX ? len * 2 : len + APPEND_DOUBLE_MAX;
	old = malloc_usable_size(o);
	if ((n = realloc(o, sizeof(*o) + want)) == NULL)
		return -1;
	ks_used_sub(&sh->used, old);
	ks_used_add(&sh->used, malloc_usable_size(n));
	n->cap = malloc_usable_size(n) - sizeof(*n);
	e->val = n;
	return 0;
}

int
ks_string_append(shard_t *sh, ks_dict_entry_t *e, const void *p, size_t len)
{
	ks_obj_t *o;

	if (string_reserve(sh, e, ks_obj(e)->len + len) < 0)
		return -1;
	o = ks_obj(e);
	if (len > 0)
		memcpy(o->data + o->len, p, len);
	o->len += len;
	return 0;
}

ks_dict_entry_t *
ks_set_string(shard_t *sh, const GnetRespArg *key, ks_dict_entry_t *e,
    const void *val, size_t len, int keepttl)
{
	ks_obj_t *o;

	if (e != NULL) {
		if (!keepttl)
			ks_persist(sh, e);
		return ks_string_assign(sh, e, val, len) < 0 ? NULL : e;
	}
	if ((o = string_new(sh, val, len)) == NULL)
		return NULL;
	e = ks_dict_insert_h(&sh->keys, key->ptr, key->len,
	    ks_dict_hash(key->ptr, key->len));
	if (e == NULL) {
		ks_free(&sh->used, o);
		return NULL;
	}
	e->val = o;
	return e;
}

void
ks_remove_members(shard_t *sh, const GnetRespArg *argv, int argc,
    unsigned type, reply_t *out)
{
	ks_dict_entry_t *e = ks_lookup(sh, &argv[1]);
	long long n = 0;
	ks_dict_t *d;

	if (e == NULL) {
		reply_int(out, 0);
		return;
	}
	if (ks_wrongtype(e, type, out))
		return;
	d = ks_obj(e)->ptr;
	for (int j = 2; j < argc; j++) {
		ks_dict_entry_t *m = ks_dict_find(d, argv[j].ptr, argv[j].len);

		if (m != NULL) {
			if (m->val != NULL)
				ks_elem_free(sh, m->val);
			ks_dict_delete_entry(d, m);
			n++;
		}
	}
	if (ks_dict_size(d) == 0)
		ks_delete(sh, e);
	reply_int(out, n);
}

ks_dict_entry_t *
ks_add_container(shard_t *sh, const GnetRespArg *key, unsigned type)
{
	ks_obj_t *o = ks_malloc(&sh->used, sizeof(*o));
	ks_dict_entry_t *e;

	if (o == NULL)
		return NULL;
	memset(o, 0, sizeof(*o));
	o->type = type;
	if (type == KS_LIST) {
		ks_list_t *l = ks_malloc(&sh->used, sizeof(*l));

		if (l != NULL)
			memset(l, 0, sizeof(*l));
		o->ptr = l;
	} else {
		ks_dict_t *d = ks_malloc(&sh->used, sizeof(*d));

		if (d != NULL)
			ks_dict_init(d, &sh->used, 1);
		o->ptr = d;
	}
	if (o->ptr == NULL) {
		ks_free(&sh->used, o);
		return NULL;
	}
	e = ks_dict_insert_h(&sh->keys, key->ptr, key->len,
	    ks_dict_hash(key->ptr, key->len));
	if (e == NULL) {
		obj_free(sh, o);
		return NULL;
	}
	e->val = o;
	return e;
}

ks_elem_t *
ks_elem_new(shard_t *sh, const void *p, size_t len)
{
	ks_elem_t *el = ks_malloc(&sh->used, sizeof(*el) + len);

	if (el == NULL)
		return NULL;
	el->len = len;
	if (len > 0)
		memcpy(el->data, p, len);
	return el;
}

void
ks_elem_free(shard_t *sh, ks_elem_t *el)
{
	ks_free(&sh->used, el);
}

/* Lists. */

static int
list_resize(shard_t *sh, ks_list_t *l, size_t cap)
{
	ks_elem_t **ring = ks_malloc(&sh->used, cap * sizeof(*ring));

	if (ring == NULL)
		return -1;
	for (size_t i = 0; i < l->len; i++)
		ring[i] = ks_list_at(l, i);
	ks_free(&sh->used, l->ring);
	l->ring = ring;
	l->cap = cap;
	l->head = 0;
	return 0;
}

int
ks_list_push(shard_t *sh, ks_list_t *l, ks_elem_t *el, int left)
{
	if (l->len == l->cap &&
	    list_resize(sh, l, l->cap ? l->cap * 2 : LIST_MIN_CAP) < 0)
		return -1;
	if (left) {
		l->head = (l->head - 1) & (l->cap - 1);
		l->ring[l->head] = el;
	} else {
		l->ring[(l->head + l->len) & (l->cap - 1)] = el;
	}
	l->len++;
	return 0;
}

ks_elem_t *
ks_list_pop(shard_t *sh, ks_list_t *l, int left)
{
	ks_elem_t *el;

	if (l->len == 0)
		return NULL;
	if (left) {
		el = l->ring[l->head];
		l->head = (l->head + 1) & (l->cap - 1);
	} else {
		el = ks_list_at(l, l->len - 1);
	}
	l->len--;
	/* Give back a ring mostly empty; a failure only keeps it big. */
	if (l->cap > LIST_MIN_CAP && l->len * 4 < l->cap)
		(void)list_resize(sh, l, l->cap / 2);
	return el;
}
