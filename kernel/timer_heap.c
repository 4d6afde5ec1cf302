/*
 * Binary min-heap keyed by (due time, insertion order).
 */
#include <stdlib.h>
#include "kernel/timer_heap.h"

#define NS_PER_MS 1000000u
/* The longest wait a timer asks for (about 17 minutes): the poller's
 * timeout is an int of milliseconds, and a loop may as well look up now
 * and then. */
#define TIMEOUT_MAX_MS 1000000

void
gnet__timers_init(gnet__timer_heap_t *h)
{
	h->v = NULL;
	h->len = h->cap = 0;
	h->next_seq = 0;
}

void
gnet__timers_destroy(gnet__timer_heap_t *h)
{
	free(h->v);
	gnet__timers_init(h);
}

static int
before(const gnet__timer_t *a, const gnet__timer_t *b)
{
	return a->due_ns < b->due_ns || (a->due_ns == b->due_ns && a->seq < b->seq);
}

static void
swap(gnet__timer_t *a, gnet__timer_t *b)
{
	gnet__timer_t t = *a;
	*a = *b;
	*b = t;
}

int
gnet__timers_add(gnet__timer_heap_t *h, uint64_t due_ns, const gnet_msg_t *m)
{
	size_t i;

	if (h->len == h->cap) {
		size_t ncap = h->cap ? h->cap * 2 : 64;
		gnet__timer_t *nv = realloc(h->v, ncap * sizeof(*nv));
		if (nv == NULL)
			return GNET_ENOMEM;
		h->v = nv;
		h->cap = ncap;
	}
	i = h->len++;
	h->v[i].due_ns = due_ns;
	h->v[i].seq = h->next_seq++;
	h->v[i].msg = *m;
	while (i > 0 && before(&h->v[i], &h->v[(i - 1) / 2])) {
		swap(&h->v[i], &h->v[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	return 0;
}

int
gnet__timers_pop_due(gnet__timer_heap_t *h, uint64_t now_ns, gnet_msg_t *out)
{
	size_t i = 0;

	if (h->len == 0 || h->v[0].due_ns > now_ns)
		return 0;
	*out = h->v[0].msg;
	h->v[0] = h->v[--h->len];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < h->len && before(&h->v[l], &h->v[m]))
			m = l;
		if (r < h->len && before(&h->v[r], &h->v[m]))
			m = r;
		if (m == i)
			break;
		swap(&h->v[i], &h->v[m]);
		i = m;
	}
	return 1;
}

int
gnet__timers_timeout_ms(const gnet__timer_heap_t *h, uint64_t now_ns)
{
	uint64_t d;

	if (h->len == 0)
		return -1;
	if (h->v[0].due_ns <= now_ns)
		return 0;
	/* Rounded up: waking before the timer is due only to wait again
	 * would cost a turn. */
	d = (h->v[0].due_ns - now_ns + NS_PER_MS - 1) / NS_PER_MS;
	return d > TIMEOUT_MAX_MS ? TIMEOUT_MAX_MS : (int)d;
}
