/*
 * dict.c -- the chained hash table of dict.h, with Redis-style
 * incremental rehashing.
 *
 * The table grows to twice its size when it holds as many entries as
 * buckets, and shrinks when fewer than one bucket in eight is used, so a
 * chain is short on average and a random bucket is rarely empty (which
 * keeps ks_dict_random cheap). A rehash moves one bucket per operation and
 * looks at a bounded number of empty buckets while doing so.
 */
#include <string.h>
#include "dict.h"
#include "mem.h"

#define KS_DICT_MIN_SIZE 4
#define KS_DICT_SHRINK_RATIO 8      /* shrink below 1/8 full */
#define KS_DICT_EMPTY_VISITS 10     /* empty buckets skipped per rehash step */
#define KS_DICT_SEED 0x9e3779b97f4a7c15ull

/* Constants from wyhash (public domain): odd, with balanced bits. */
#define WY0 0xa0761d6478bd642full
#define WY1 0xe7037ed1a0b428dbull
#define WY2 0x8ebc6af09c88c6e3ull
#define WY3 0x589965cc75374cc3ull

static inline uint64_t
wymix(uint64_t a, uint64_t b)
{
	__uint128_t r = (__uint128_t)a * b;

	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t
rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static inline uint64_t
rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

uint64_t
ks_hash(const void *key, size_t len, uint64_t seed)
{
	const uint8_t *p = key;
	uint64_t a, b;
	__uint128_t r;

	seed ^= wymix(seed ^ WY0, WY1);
	if (len <= 16) {
		if (len >= 4) {
			size_t q = (len >> 3) << 2;

			a = (rd32(p) << 32) | rd32(p + q);
			b = (rd32(p + len - 4) << 32) | rd32(p + len - 4 - q);
		} else if (len > 0) {
			a = ((uint64_t)p[0] << 16) | ((uint64_t)p[len >> 1] << 8) |
			    p[len - 1];
			b = 0;
		} else {
			a = b = 0;
		}
	} else {
		size_t i = len;

		if (i > 48) {
			uint64_t s1 = seed, s2 = seed;

			do {
				seed = wymix(rd64(p) ^ WY1, rd64(p + 8) ^ seed);
				s1 = wymix(rd64(p + 16) ^ WY2, rd64(p + 24) ^ s1);
				s2 = wymix(rd64(p + 32) ^ WY3, rd64(p + 40) ^ s2);
				p += 48;
				i -= 48;
			} while (i > 48);
			seed ^= s1 ^ s2;
		}
		while (i > 16) {
			seed = wymix(rd64(p) ^ WY1, rd64(p + 8) ^ seed);
			i -= 16;
			p += 16;
		}
		a = rd64(p + i - 16);
		b = rd64(p + i - 8);
	}
	a ^= WY1;
	b ^= seed;
	r = (__uint128_t)a * b;
	return wymix((uint64_t)r ^ WY0 ^ len, (uint64_t)(r >> 64) ^ WY1);
}

uint64_t
ks_dict_hash(const void *key, size_t len)
{
	return ks_hash(key, len, KS_DICT_SEED);
}

void
ks_dict_init(ks_dict_t *d, size_t *used, int count_tables)
{
	memset(d, 0, sizeof(*d));
	d->used = used;
	d->count_tables = count_tables;
}

static ks_dict_entry_t **
table_alloc(ks_dict_t *d, size_t n)
{
	ks_dict_entry_t **t;

	if (d->count_tables)
		t = ks_malloc(d->used, n * sizeof(*t));
	else
		t = malloc(n * sizeof(*t));
	if (t != NULL)
		memset(t, 0, n * sizeof(*t));
	return t;
}

static void
table_free(ks_dict_t *d, ks_dict_entry_t **t)
{
	if (d->count_tables)
		ks_free(d->used, t);
	else
		free(t);
}

void
ks_dict_clear(ks_dict_t *d, void (*free_val)(void *ctx, void *val), void *ctx)
{
	for (int t = 0; t < 2; t++) {
		for (size_t i = 0; i < d->size[t]; i++) {
			ks_dict_entry_t *e = d->table[t][i], *next;

			for (; e != NULL; e = next) {
				next = e->next;
				if (free_val != NULL)
					free_val(ctx, e->val);
				ks_free(d->used, e);
			}
		}
		table_free(d, d->table[t]);
		d->table[t] = NULL;
		d->size[t] = 0;
	}
	d->count = 0;
	d->rehashing = 0;
	d->rehash_idx = 0;
}

/* Start moving to a table of n buckets; a failed allocation only
 * postpones the resize (the old table still works). */
static void
resize(ks_dict_t *d, size_t n)
{
	ks_dict_entry_t **t;

	if (d->rehashing)
		return;
	if ((t = table_alloc(d, n)) == NULL)
		return;
	if (d->table[0] == NULL) {
		d->table[0] = t;
		d->size[0] = n;
		return;
	}
	d->table[1] = t;
	d->size[1] = n;
	d->rehashing = 1;
	d->rehash_idx = 0;
}

static void
rehash_step(ks_dict_t *d)
{
	int empty = KS_DICT_EMPTY_VISITS;

	while (d->rehash_idx < d->size[0] && d->table[0][d->rehash_idx] == NULL) {
		d->rehash_idx++;
		if (--empty == 0)
			return;
	}
	if (d->rehash_idx < d->size[0]) {
		ks_dict_entry_t *e = d->table[0][d->rehash_idx], *next;
		size_t mask = d->size[1] - 1;

		for (; e != NULL; e = next) {
			next = e->next;
			e->next = d->table[1][e->hash & mask];
			d->table[1][e->hash & mask] = e;
		}
		d->table[0][d->rehash_idx++] = NULL;
	}
	if (d->rehash_idx >= d->size[0]) {
		table_free(d, d->table[0]);
		d->table[0] = d->table[1];
		d->size[0] = d->size[1];
		d->table[1] = NULL;
		d->size[1] = 0;
		d->rehashing = 0;
	}
}

ks_dict_entry_t *
ks_dict_find_h(ks_dict_t *d, const void *key, size_t len, uint64_t h)
{
	if (d->count == 0)
		return NULL;
	if (d->rehashing)
		rehash_step(d);
	for (int t = 0; t <= d->rehashing; t++) {
		ks_dict_entry_t *e;

		if (d->size[t] == 0)
			continue;
		/* Buckets of table 0 below rehash_idx were moved. */
		if (t == 0 && d->rehashing && (h & (d->size[0] - 1)) < d->rehash_idx)
			continue;
		for (e = d->table[t][h & (d->size[t] - 1)]; e != NULL; e = e->next)
			if (e->hash == h && e->klen == len &&
			    memcmp(e->key, key, len) == 0)
				return e;
	}
	return NULL;
}

void
ks_dict_prefetch(const ks_dict_t *d, uint64_t h, int stage)
{
	for (int t = 0; t <= d->rehashing; t++) {
		ks_dict_entry_t *const *b, *e;

		if (d->size[t] == 0)
			continue;
		b = &d->table[t][h & (d->size[t] - 1)];
		if (stage == 0) {
			__builtin_prefetch(b);
			continue;
		}
		/* The bucket is in cache by now: its first entry, or that
		 * entry's value when it is the key's (usually: chains are
		 * short). */
		if ((e = *b) == NULL)
			continue;
		if (stage == 1)
			__builtin_prefetch(e);
		else if (e->hash == h)
			__builtin_prefetch(e->val);
	}
}

ks_dict_entry_t *
ks_dict_find(ks_dict_t *d, const void *key, size_t len)
{
	return ks_dict_find_h(d, key, len, ks_dict_hash(key, len));
}

ks_dict_entry_t *
ks_dict_insert_h(ks_dict_t *d, const void *key, size_t len, uint64_t h)
{
	ks_dict_entry_t *e;
	int t;

	if (d->rehashing)
		rehash_step(d);
	else if (d->count >= d->size[0])
		resize(d, d->size[0] ? d->size[0] * 2 : KS_DICT_MIN_SIZE);
	if (d->table[0] == NULL)
		return NULL;
	if ((e = ks_malloc(d->used, sizeof(*e) + len)) == NULL)
		return NULL;
	memcpy(e->key, key, len);
	e->klen = len;
	e->hash = h;
	e->val = NULL;
	t = d->rehashing;        /* new entries go to the table being filled */
	e->next = d->table[t][h & (d->size[t] - 1)];
	d->table[t][h & (d->size[t] - 1)] = e;
	d->count++;
	return e;
}

ks_dict_entry_t *
ks_dict_add(ks_dict_t *d, const void *key, size_t len, int *added)
{
	uint64_t h = ks_dict_hash(key, len);
	ks_dict_entry_t *e = ks_dict_find_h(d, key, len, h);

	*added = 0;
	if (e != NULL)
		return e;
	if ((e = ks_dict_insert_h(d, key, len, h)) != NULL)
		*added = 1;
	return e;
}

void
ks_dict_delete_entry(ks_dict_t *d, ks_dict_entry_t *e)
{
	for (int t = 0; t < 2; t++) {
		ks_dict_entry_t **pp;

		if (d->size[t] == 0)
			continue;
		pp = &d->table[t][e->hash & (d->size[t] - 1)];
		for (; *pp != NULL; pp = &(*pp)->next) {
			if (*pp == e) {
				*pp = e->next;
				ks_free(d->used, e);
				d->count--;
				goto unlinked;
			}
		}
	}
	return;
unlinked:
	if (d->rehashing)
		rehash_step(d);
	else if (d->count == 0) {
		table_free(d, d->table[0]);
		d->table[0] = NULL;
		d->size[0] = 0;
	} else if (d->size[0] > KS_DICT_MIN_SIZE &&
	    d->count * KS_DICT_SHRINK_RATIO < d->size[0]) {
		size_t n = KS_DICT_MIN_SIZE;

		while (n < d->count * 2)
			n *= 2;
		resize(d, n);
	}
}

ks_dict_entry_t *
ks_dict_random(ks_dict_t *d, uint64_t (*rnd)(void *), void *rctx)
{
	ks_dict_entry_t *e = NULL, *x;
	size_t n, i;

	if (d->count == 0)
		return NULL;
	if (d->rehashing)
		rehash_step(d);
	/* A random non-empty bucket, then a random entry of its chain:
	 * chains are short, so this is close to uniform. */
	do {
		if (d->rehashing) {
			size_t span = d->size[0] - d->rehash_idx + d->size[1];

			i = d->rehash_idx + rnd(rctx) % span;
			e = i < d->size[0] ? d->table[0][i] :
			    d->table[1][i - d->size[0]];
		} else {
			e = d->table[0][rnd(rctx) & (d->size[0] - 1)];
		}
	} while (e == NULL);
	for (n = 0, x = e; x != NULL; x = x->next)
		n++;
	for (i = rnd(rctx) % n; i > 0; i--)
		e = e->next;
	return e;
}

void
ks_dict_iter_init(ks_dict_iter_t *it, const ks_dict_t *d)
{
	it->d = d;
	it->table = 0;
	it->bucket = 0;
	it->next = NULL;
}

ks_dict_entry_t *
ks_dict_next(ks_dict_iter_t *it)
{
	ks_dict_entry_t *e;

	while (it->next == NULL) {
		if (it->bucket >= it->d->size[it->table]) {
			if (it->table == 1 || !it->d->rehashing)
				return NULL;
			it->table = 1;
			it->bucket = 0;
			continue;
		}
		it->next = it->d->table[it->table][it->bucket++];
	}
	e = it->next;
	it->next = e->next;
	return e;
}
