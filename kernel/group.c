/*
 * Groups (kernel/group.h): ending what one owner put into an engine, and
 * knowing when it is all gone.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include "kernel/group.h"
#include "kernel/kernel.h"

/* A foreign thread's loop call can find the loop's ring full under the
 * NOWAIT send policy; the close is worth waiting for, so it retries. */
#define CLOSE_RETRY_NS 100000

int
gnet_group_new(gnet_engine_t *eng, gnet_group_t **out)
{
	pthread_condattr_t ca;
	gnet_group_t *g;
	int rc;

	if (eng == NULL || out == NULL)
		return GNET_EINVAL;
	if (gnet__tls_loop != NULL)
		return GNET_ETHREAD;
	g = calloc(1, sizeof(*g));
	if (g == NULL)
		return GNET_ENOMEM;
	rc = pthread_condattr_init(&ca);
	if (rc == 0) {
		/* gnet_group_wait's deadline is on the monotonic clock. */
		rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		if (rc == 0)
			rc = pthread_cond_init(&g->cv, &ca);
		pthread_condattr_destroy(&ca);
	}
	if (rc == 0) {
		rc = pthread_mutex_init(&g->mu, NULL);
		if (rc != 0)
			pthread_cond_destroy(&g->cv);
	}
	if (rc != 0) {
		free(g);
		return -rc;
	}
	g->eng = eng;
	*out = g;
	return 0;
}

/* The group is closing and empty, for good: tell the waiters. The
 * unlock is the caller's last touch of g; a waiter returns only after
 * taking the mutex again, so it may free g at once. */
static void
group_done(gnet_group_t *g)
{
	pthread_mutex_lock(&g->mu);
	g->done = true;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

void
gnet__group_leave(gnet_group_t *g)
{
	unsigned old;

	if (g == NULL)
		return;
	/* Release: whoever sees zero sees this member's end complete. Only
	 * the leave that empties a closing group goes on touching g. */
	old = atomic_fetch_sub_explicit(&g->state, GNET__GROUP_MEMBER,
	    memory_order_acq_rel);
	if (old == (GNET__GROUP_MEMBER | GNET__GROUP_CLOSING))
		group_done(g);
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
	unsigned old;
	int i, rc;

	if (g == NULL)
		return GNET_EINVAL;
	if (gnet__tls_loop != NULL)
		return GNET_ETHREAD;
	old = atomic_fetch_or(&g->state, GNET__GROUP_CLOSING);
	if (old & GNET__GROUP_CLOSING)
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
	/* Empty already: no leave is left to tell the waiters. */
	if (old == 0)
		group_done(g);
	return 0;
}

int
gnet_group_wait(gnet_group_t *g, int timeout_ms)
{
	struct timespec dl;
	int rc = 0;

	if (g == NULL)
		return GNET_EINVAL;
	if (gnet__tls_loop != NULL)
		return GNET_ETHREAD;
	clock_gettime(CLOCK_MONOTONIC, &dl);
	if (timeout_ms > 0) {
		dl.tv_sec += timeout_ms / 1000;
		dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
		if (dl.tv_nsec >= 1000000000L) {
			dl.tv_sec++;
			dl.tv_nsec -= 1000000000L;
		}
	}
	pthread_mutex_lock(&g->mu);
	while (!g->done && rc != ETIMEDOUT) {
		if (timeout_ms < 0)
			pthread_cond_wait(&g->cv, &g->mu);
		else
			rc = pthread_cond_timedwait(&g->cv, &g->mu, &dl);
	}
	rc = g->done ? 0 : GNET_ETIMEDOUT;
	pthread_mutex_unlock(&g->mu);
	return rc;
}

int
gnet_group_live(const gnet_group_t *g)
{
	return g == NULL ? GNET_EINVAL :
	    (int)(atomic_load_explicit(&g->state, memory_order_acquire) /
	    GNET__GROUP_MEMBER);
}

int
gnet_group_free(gnet_group_t *g)
{
	unsigned st;

	if (g == NULL)
		return 0;
	st = atomic_load_explicit(&g->state, memory_order_acquire);
	if (st / GNET__GROUP_MEMBER != 0)
		return GNET_ESTATE;
	/* Closing and empty: the one who emptied it may still be telling
	 * the waiters (group_done); it is about to, so wait for it. */
	if (st & GNET__GROUP_CLOSING) {
		pthread_mutex_lock(&g->mu);
		while (!g->done)
			pthread_cond_wait(&g->cv, &g->mu);
		pthread_mutex_unlock(&g->mu);
	}
	pthread_cond_destroy(&g->cv);
	pthread_mutex_destroy(&g->mu);
	free(g);
	return 0;
}
