/*
 * The engine: loops, extensions, run and stop.
 *
 * gnet__engine_create builds the kernel part -- options, loops, message
 * types -- and lets each extension (kernel/ext.h) add its own.
 * gnet_engine_run starts one pinned thread per loop and waits for them.
 * gnet_engine_stop only raises a flag and wakes every loop; each loop then
 * asks its extensions to end what they hold (bounded by linger_ms) and
 * exits. When all have exited, whatever is still in flight -- in rings or
 * overflow FIFOs -- is dropped through the same path as a stale message,
 * so what a message owns is released and nothing leaks.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "base/log.h"
#include "kernel/kernel.h"

/* The backend: the option, or when it is left at its default the
 * environment's GNET_BACKEND, which lets tests and benchmarks run a
 * program unchanged on either; without one, epoll. */
static int
backend_option(gnet_options_t *o)
{
	const char *env = getenv("GNET_BACKEND");

	if (o->backend == GNET_BACKEND_DEFAULT) {
		o->backend = GNET_BACKEND_EPOLL;
		if (env == NULL || *env == '\0' || strcmp(env, "epoll") == 0)
			return 0;
		if (strcmp(env, "uring") == 0 || strcmp(env, "io_uring") == 0)
			o->backend = GNET_BACKEND_URING;
		else if (strcmp(env, "auto") == 0)
			o->backend = GNET_BACKEND_AUTO;
		else {
			gnet__log(0, "GNET_BACKEND=%s: expected epoll, uring "
			    "or auto", env);
			return GNET_EINVAL;
		}
	}
	if (o->backend != GNET_BACKEND_AUTO &&
	    o->backend != GNET_BACKEND_EPOLL &&
	    o->backend != GNET_BACKEND_URING)
		return GNET_EINVAL;
	return 0;
}

/* Fill in the defaults of the options the kernel reads, and check them. */
static int
kernel_options(gnet_options_t *o)
{
	long ncpu;

	if (o->num_loops <= 0) {
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		o->num_loops = (o->multicore && ncpu > 0) ? (int)ncpu : 1;
	}
	if (o->num_loops > GNET_MAX_LOOPS)
		o->num_loops = GNET_MAX_LOOPS;
	if (o->linger_ms == 0)
		o->linger_ms = GNET__DEFAULT_LINGER_MS;
	if (o->mailbox_ring_size == 0)
		o->mailbox_ring_size = GNET__DEFAULT_RING;
	if (!gnet__ring_valid_size(o->mailbox_ring_size))
		return GNET_EINVAL;
	if (o->send_policy != GNET_SEND_WAIT && o->send_policy != GNET_SEND_NOWAIT)
		return GNET_EINVAL;
	return backend_option(o);
}

void *
gnet__engine_ext(const gnet_engine_t *eng, const gnet__ext_t *ext)
{
	int i;

	for (i = 0; i < eng->nexts; i++)
		if (eng->exts[i] == ext)
			return eng->ext[i];
	return NULL;
}

gnet_options_t *
gnet__engine_options(gnet_engine_t *eng)
{
	return &eng->opt;
}

static int
create_loops(gnet_engine_t *eng)
{
	int i, k, rc;

	eng->loops = calloc((size_t)eng->nloops, sizeof(*eng->loops));
	eng->inboxes = calloc((size_t)eng->nloops + GNET__MAX_PORTS,
	    sizeof(*eng->inboxes));
	if (eng->loops == NULL || eng->inboxes == NULL)
		return GNET_ENOMEM;
	for (i = 0; i < eng->nloops; i++) {
		rc = gnet__loop_new(eng, i, &eng->loops[i]);
		if (rc != 0)
			return rc;
		eng->inboxes[i] = &eng->loops[i]->inbox;
		/* What loop 0 found, the others take: auto resolves once. */
		if (i == 0)
			eng->opt.backend =
			    eng->loops[0]->poller.ops == &gnet__poller_uring ?
			    GNET_BACKEND_URING : GNET_BACKEND_EPOLL;
	}
	gnet__log(2, "engine: %d loop%s on %s", eng->nloops,
	    eng->nloops == 1 ? "" : "s", gnet_engine_backend(eng));
	gnet__seg_backend(eng, gnet_engine_backend(eng));
	for (i = 0; i < eng->nloops; i++)
		for (k = 0; k < eng->nexts; k++) {
			if (eng->exts[k]->loop_init == NULL)
				continue;
			rc = eng->exts[k]->loop_init(eng->loops[i],
			    &eng->loops[i]->ext[k]);
			if (rc != 0)
				return rc;
		}
	return 0;
}

int
gnet__engine_create(gnet_engine_t **out, const gnet_events_t *events,
    const gnet_options_t *opts, void *udata, const gnet__ext_t *const *exts,
    int n)
{
	gnet_engine_t *eng;
	int i, rc;

	if (out == NULL || events == NULL || n < 0 || n > GNET__MAX_EXTS)
		return GNET_EINVAL;
	*out = NULL;
	eng = calloc(1, sizeof(*eng));
	if (eng == NULL)
		return GNET_ENOMEM;
	atomic_init(&eng->state, GNET__ENG_NEW);
	atomic_init(&eng->stop_requested, 0);
	atomic_init(&eng->senders, 0);
	eng->udata = udata;
	rc = gnet__struct_in(&eng->ev, sizeof(eng->ev),
	    GNET__SIZE_THROUGH(gnet_events_t, on_dial_error), events);
	if (rc == 0 && opts != NULL)
		rc = gnet__struct_in(&eng->opt, sizeof(eng->opt),
		    GNET__SIZE_THROUGH(gnet_options_t, codec), opts);
	else
		eng->opt.size = sizeof(eng->opt);
	if (rc == 0)
		rc = kernel_options(&eng->opt);
	eng->nloops = eng->opt.num_loops;
	if (rc == 0)
		rc = gnet__seg_options(&eng->opt);
	if (rc == 0)
		rc = gnet__seg_open(eng);
	if (rc == 0)
		rc = gnet__msgtypes_claim_kernel(eng);
	for (i = 0; i < n && rc == 0; i++) {
		eng->exts[i] = exts[i];
		eng->nexts = i + 1;
		if (exts[i]->engine_init != NULL)
			rc = exts[i]->engine_init(eng, &eng->ext[i]);
	}
	if (rc == 0)
		rc = create_loops(eng);
	if (rc != 0) {
		gnet_engine_free(eng);
		return rc;
	}
	*out = eng;
	return 0;
}

static void
drop_cb(void *ctx, const gnet_msg_t *m)
{
	gnet__msg_dropped(ctx, NULL, m);
}

/* After every loop has exited (or when none ever ran): drop what is still
 * in flight. */
static void
drain_leftovers(gnet_engine_t *eng)
{
	uint64_t was_full;
	bool more;
	int i;

	/* Wait out foreign senders that got past the state check. */
	while (atomic_load(&eng->senders) != 0)
		sched_yield();
	for (i = 0; i < eng->nloops; i++) {
		gnet__loop_t *l = eng->loops[i];
		if (l == NULL)
			continue;
		gnet__outbox_discard(&l->outbox, &l->pool, drop_cb, eng);
	}
	for (i = 0; i < eng->nloops; i++) {
		gnet__loop_t *l = eng->loops[i];
		gnet_msg_t m;
		if (l == NULL)
			continue;
		do {
			gnet__inbox_drain(&l->inbox, UINT32_MAX, drop_cb, eng,
			    &more, &was_full);
		} while (more);
		/* Timers are messages too. */
		while (gnet__timers_pop_due(&l->timers, UINT64_MAX, &m))
			gnet__msg_dropped(eng, NULL, &m);
	}
}

static void
pin(gnet__loop_t *l, long ncpu)
{
	cpu_set_t set;

	if (l->eng->opt.no_pin || ncpu <= 0)
		return;
	l->cpu = l->index % (int)ncpu;
	CPU_ZERO(&set);
	CPU_SET(l->cpu, &set);
	/* Best effort: a restricted cpuset just leaves the thread unpinned. */
	if (pthread_setaffinity_np(l->thread, sizeof(set), &set) != 0)
		l->cpu = -1;
	GNET__STAT_SET(l, cpu, l->cpu);
}

/* The extensions' stop-side hook, for those that started. */
static void
exts_stopped(gnet_engine_t *eng, int started)
{
	int i;

	for (i = 0; i < started; i++)
		if (eng->exts[i]->stopped != NULL)
			eng->exts[i]->stopped(eng);
}

int
gnet_engine_run(gnet_engine_t *eng)
{
	int expected = GNET__ENG_NEW;
	int i, started = 0, rc = 0;
	long ncpu;

	if (eng == NULL)
		return GNET_EINVAL;
	if (atomic_load(&eng->state) != GNET__ENG_NEW)
		return GNET_ESTATE;
	/* Read before the engine says it runs: glibc opens a file in /sys
	 * for it, and a caller that sees the engine running may count on
	 * its descriptor table holding still (filling it, say, to test a
	 * server at the limit). */
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (eng->ev.on_boot != NULL &&
	    eng->ev.on_boot(eng, eng->udata) == GNET_SHUTDOWN)
		atomic_store(&eng->stop_requested, 1);
	for (i = 0; i < eng->nexts && rc == 0; i++) {
		if (eng->exts[i]->start != NULL)
			rc = eng->exts[i]->start(eng);
		if (rc == 0)
			started = i + 1;
	}
	if (rc != 0) {
		exts_stopped(eng, started);
		return rc;
	}
	if (!atomic_compare_exchange_strong(&eng->state, &expected,
	    GNET__ENG_RUNNING)) {
		exts_stopped(eng, eng->nexts);
		return GNET_ESTATE;
	}
	started = 0;
	for (i = 0; i < eng->nloops; i++) {
		gnet__loop_t *l = eng->loops[i];
		rc = pthread_create(&l->thread, NULL, gnet__loop_main, l);
		if (rc != 0) {
			rc = -rc;
			gnet_engine_stop(eng);
			break;
		}
		pin(l, ncpu);
		started++;
	}
	for (i = 0; i < started; i++)
		pthread_join(eng->loops[i]->thread, NULL);
	atomic_store(&eng->state, GNET__ENG_STOPPED);
	gnet__seg_stopped(eng);
	exts_stopped(eng, eng->nexts);
	drain_leftovers(eng);
	if (eng->ev.on_shutdown != NULL)
		eng->ev.on_shutdown(eng, eng->udata);
	return rc;
}

int
gnet_engine_stop(gnet_engine_t *eng)
{
	int i, expected = GNET__ENG_RUNNING;

	if (eng == NULL)
		return GNET_EINVAL;
	atomic_store_explicit(&eng->stop_requested, 1, memory_order_release);
	atomic_compare_exchange_strong(&eng->state, &expected,
	    GNET__ENG_STOPPING);
	for (i = 0; i < eng->nloops; i++)
		gnet__waker_force(&eng->loops[i]->waker);
	return 0;
}

void
gnet_engine_free(gnet_engine_t *eng)
{
	int i, k;

	if (eng == NULL)
		return;
	if (eng->loops != NULL) {
		/* An engine that never ran may still hold actors and sent
		 * messages. */
		if (atomic_load(&eng->state) == GNET__ENG_NEW) {
			atomic_store(&eng->state, GNET__ENG_STOPPED);
			for (i = 0; i < eng->nloops; i++)
				if (eng->loops[i] != NULL)
					gnet__slots_stop_all(eng->loops[i]);
			drain_leftovers(eng);
		}
	}
	for (k = eng->nexts - 1; k >= 0; k--) {
		for (i = 0; eng->loops != NULL && i < eng->nloops; i++)
			if (eng->loops[i] != NULL && eng->exts[k]->loop_free != NULL)
				eng->exts[k]->loop_free(eng->loops[i],
				    eng->loops[i]->ext[k]);
		if (eng->exts[k]->engine_free != NULL)
			eng->exts[k]->engine_free(eng, eng->ext[k]);
	}
	for (i = 0; eng->loops != NULL && i < eng->nloops; i++)
		gnet__loop_free(eng->loops[i]);
	gnet__ports_free_all(eng);
	free(eng->loops);
	free(eng->inboxes);
	gnet__seg_close(eng);
	free(eng);
}

const char *
gnet_engine_backend(const gnet_engine_t *eng)
{
	return eng->opt.backend == GNET_BACKEND_URING ? "io_uring" : "epoll";
}

int
gnet_engine_num_loops(const gnet_engine_t *eng)
{
	return eng != NULL ? eng->nloops : GNET_EINVAL;
}

int
gnet_engine_is_running(const gnet_engine_t *eng)
{
	return eng != NULL &&
	    atomic_load(&((gnet_engine_t *)eng)->state) == GNET__ENG_RUNNING;
}
