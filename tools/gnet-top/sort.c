/*
 * sort.c -- the order rows are shown in, and the actor kind filter. The
 * same key means the same thing in both views, as near as a loop and an
 * actor allow: mailbox is the loop's inbox or the actor's mailbox, rate
 * messages per second, bytes what waits in buffers (in + out), busy the
 * loop's CPU or the actor's time in handlers. Ties, and unknown rates,
 * fall back to the natural order so that rows do not jump between
 * refreshes.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "top.h"

static const char *const sort_names[TOP_SORT_COUNT] = {
	"natural", "mailbox", "rate", "bytes", "busy"
};

const char *
top_sort_name(top_sort_t k)
{
	return k >= 0 && k < TOP_SORT_COUNT ? sort_names[k] : "?";
}

int
top_sort_parse(const char *word)
{
	int k;

	for (k = 0; k < TOP_SORT_COUNT; k++)
		if (strcmp(word, sort_names[k]) == 0)
			return k;
	if (strcmp(word, "loop") == 0 || strcmp(word, "handle") == 0)
		return TOP_SORT_NATURAL;
	if (strcmp(word, "cpu") == 0 || strcmp(word, "time") == 0)
		return TOP_SORT_BUSY;
	return -1;
}

/* Greater first; NAN counts as less than any rate. */
static int
desc_double(double a, double b)
{
	if (isnan(a) || isnan(b))
		return (isnan(a) != 0) - (isnan(b) != 0);
	return a > b ? -1 : a < b;
}

static int
desc_u64(uint64_t a, uint64_t b)
{
	return a > b ? -1 : a < b;
}

/* qsort has no context argument: the sample and key of the sort under
 * way. gnet-top is single-threaded. */
static const top_sample_t *sort_sample;
static top_sort_t sort_key;

static int
loop_cmp(const void *pa, const void *pb)
{
	const top_loop_t *a = &sort_sample->loops[*(const int *)pa];
	const top_loop_t *b = &sort_sample->loops[*(const int *)pb];
	int c = 0;

	switch (sort_key) {
	case TOP_SORT_MAILBOX:
		c = desc_u64(a->inbox_depth + a->s.parked,
		    b->inbox_depth + b->s.parked);
		break;
	case TOP_SORT_RATE:
		c = desc_double(a->r_in, b->r_in);
		break;
	case TOP_SORT_BYTES:
		c = desc_u64(a->buffered, b->buffered);
		break;
	case TOP_SORT_BUSY:
		c = desc_double(a->cpu_pct, b->cpu_pct);
		break;
	default:
		break;
	}
	return c != 0 ? c : a->s.index - b->s.index;
}

void
top_sort_loops(const top_sample_t *cur, top_sort_t key, int *order)
{
	int i;

	for (i = 0; i < cur->nloops; i++)
		order[i] = i;
	sort_sample = cur;
	sort_key = key;
	qsort(order, (size_t)cur->nloops, sizeof(*order), loop_cmp);
}

static int
actor_cmp(const void *pa, const void *pb)
{
	const top_actor_t *a = *(const top_actor_t *const *)pa;
	const top_actor_t *b = *(const top_actor_t *const *)pb;
	int c = 0;

	switch (sort_key) {
	case TOP_SORT_MAILBOX:
		c = desc_u64(a->a.mailbox, b->a.mailbox);
		break;
	case TOP_SORT_RATE:
		c = desc_double(a->rate, b->rate);
		break;
	case TOP_SORT_BYTES:
		c = desc_u64(a->a.in_bytes + a->a.out_bytes,
		    b->a.in_bytes + b->a.out_bytes);
		break;
	case TOP_SORT_BUSY:
		c = desc_u64(a->a.busy_ns, b->a.busy_ns);
		break;
	default:
		break;
	}
	if (c == 0 && a->a.loop != b->a.loop)
		c = a->a.loop < b->a.loop ? -1 : 1;
	if (c == 0)
		c = a->a.handle < b->a.handle ? -1 : a->a.handle > b->a.handle;
	return c;
}

int
top_select_actors(const top_sample_t *cur, const char *kind, top_sort_t key,
    const top_actor_t **out)
{
	int i, n = 0;

	for (i = 0; i < cur->nactors; i++)
		if (kind[0] == '\0' || strcmp(cur->actors[i].a.kind, kind) == 0)
			out[n++] = &cur->actors[i];
	sort_sample = cur;
	sort_key = key;
	qsort(out, (size_t)n, sizeof(*out), actor_cmp);
	return n;
}

void
top_next_kind(const top_sample_t *cur, char *kind, size_t cap)
{
	const char *best = NULL;
	int i;

	/* The smallest kind name greater than the current one. */
	for (i = 0; i < cur->nactors; i++) {
		const char *k = cur->actors[i].a.kind;

		if (kind[0] != '\0' && strcmp(k, kind) <= 0)
			continue;
		if (best == NULL || strcmp(k, best) < 0)
			best = k;
	}
	snprintf(kind, cap, "%s", best != NULL ? best : "");
}
