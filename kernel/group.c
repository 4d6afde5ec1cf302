/*
 * Groups (kernel/group.h): ending what one owner put into an engine, and
 * knowing when it is all gone.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include "kernel/group.h"
#include "kernel/kernel.h"

/* A foreign thread's loop call can find the loop's ring full under the
 * NOWAIT send policy; the close is worth waiting for, so it retries. */
#define CLOSE_RETRY_NS 100000

int
gnet_group_new(gnet_engine_t *eng, gnet_group_t **out)
{
	gnet_group_t *g;

	if (eng == NULL || out == NULL)
		return GNET_EINVAL;
	if (gnet__tls_loop != NULL)
		return GNET_ETHREAD;
	g = calloc(1, sizeof(*g));
	if (g == NULL)
		return GNET_ENOMEM;
	g->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (g->efd < 0) {
		free(g);
		return -errno;
	}
	g->eng = eng;
	*out = g;
	return 0;
}

void
gnet__group_leave(gnet_group_t *g)
{
	uint64_t one = 1;

	if (g == NULL)
		return;
	/* Release: whoever sees zero sees this member's end complete. The
	 * closing flag is set before the close asks anyone to end a member,
	 * so the leave that reaches zero after it also sees it. */
	if (atomic_fetch_sub_explicit(&g->live, 1, memory_order_acq_rel) == 1 &&
	    atomic_load_explicit(&g->closing, memory_order_acquire))
		(void)write(g->efd, &one, sizeof(one));
}

/* On loop l: offer every actor of its table to its kind's group_close. */
static void
close_on_loop(gnet__loop_t *l, void *arg)
{
	gnet_group_t *g = arg;
	uint32_t i;

	for (i = 0; i < l->nslots; i++) {
		gnet__slot_t *s = &l->slots[i];
		if (s->kind != NULL && s->kind->group_close != NULL)
			s->kind->group_close(l, s->obj, g);
	}
}

static void
nap(void)
{
	struct timespec ts = { 0, CLOSE_RETRY_NS };

	nanosleep(&ts, NULL);
}

int
gnet_group_close(gnet_group_t *g)
{
	gnet_engine_t *eng;
	uint64_t one = 1;
	int i, rc;

	if (g == NULL)
		return GNET_EINVAL;
	if (gnet__tls_loop != NULL)
		return GNET_ETHREAD;
	if (atomic_exchange(&g->closing, true))
		return 0;
	eng = g->eng;
	switch (atomic_load(&eng->state)) {
	case GNET__ENG_NEW:
		/* No loop runs: this thread owns every table. */
		for (i = 0; i < eng->nloops; i++)
			close_on_loop(eng->loops[i], g);
		break;
	case GNET__ENG_STOPPED:
		/* The stop ended every member already. */
		break;
	default:
		/* A call the stop overtakes is dropped, and the stop ends the
		 * members instead. */
		for (i = 0; i < eng->nloops; i++) {
			while ((rc = gnet__loop_call(eng, i, close_on_loop, g)) ==
			    GNET_EAGAIN)
				nap();
		}
		break;
	}
	if (atomic_load_explicit(&g->live, memory_order_acquire) == 0)
		(void)write(g->efd, &one, sizeof(one));
	return 0;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
gnet_group_wait(gnet_group_t *g, int timeout_ms)
{
	int64_t deadline;

	if (g == NULL)
		return GNET_EINVAL;
	if (gnet__tls_loop != NULL)
		return GNET_ETHREAD;
	deadline = now_ms() + (timeout_ms < 0 ? 0 : timeout_ms);
	for (;;) {
		struct pollfd p = { .fd = g->efd, .events = POLLIN };
		uint64_t v;
		int left;

		if (atomic_load(&g->closing) &&
		    atomic_load_explicit(&g->live, memory_order_acquire) == 0)
			return 0;
		left = timeout_ms < 0 ? -1 : (int)(deadline - now_ms());
		if (timeout_ms >= 0 && left <= 0)
			return GNET_ETIMEDOUT;
		if (poll(&p, 1, left) > 0)
			(void)read(g->efd, &v, sizeof(v));
	}
}

int
gnet_group_live(const gnet_group_t *g)
{
	return g == NULL ? GNET_EINVAL :
	    atomic_load_explicit(&g->live, memory_order_acquire);
}

int
gnet_group_free(gnet_group_t *g)
{
	if (g == NULL)
		return 0;
	if (atomic_load_explicit(&g->live, memory_order_acquire) != 0)
		return GNET_ESTATE;
	close(g->efd);
	free(g);
	return 0;
}
