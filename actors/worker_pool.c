/*
 * The blocking-worker pool: a fixed set of threads that may block (disk,
 * a blocking client library, sleep), so that loops never do. A job's
 * result travels back to the actor that asked as an ordinary message
 * (gnet_actor_send), handled on that actor's loop like any other.
 *
 * Nothing here takes a lock, so a loop that submits a job can never be
 * stalled behind a worker the scheduler preempted while holding one:
 *   - jobs wait in a bounded lock-free ring (ck_ring, many producers and
 *     many consumers), counted by `queued`, which is what bounds the
 *     queue at worker_queue exactly;
 *   - idle workers sleep on a semaphore that counts queued jobs; posting
 *     it is one atomic add unless a worker sleeps (then a futex wake);
 *   - a full queue is GNET_EAGAIN at once. A connection that wants to be
 *     told when there is room (gnet_conn_submit) is registered with the
 *     pool actor, on loop 0, which keeps the waiters in order; a worker
 *     that takes a job while waiters exist sends that actor POOL_ROOM,
 *     and the actor wakes one waiter with POOL_RESUME. A resume that
 *     finds its waiter gone or no longer waiting is passed on (its drop,
 *     or gnet__pool_pass_on), so a freed place is never lost.
 */
#include <sched.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>
#include "actors/actors.h"

/* Default queue depth: enough to ride out a burst of requests, small
 * enough that a stuck backend shows up as backpressure, not memory. */
#define POOL_DEFAULT_QUEUE 1024u
/* Worker threads an engine may ask for: a pool is for blocking calls, and
 * more threads than this only thrash. */
#define POOL_MAX_WORKERS 1024
/* The largest worker_queue: the ring is the next power of two above it. */
#define POOL_MAX_QUEUE (1u << 24)
/* First size of the waiter list; it doubles from there. */
#define WAITERS_INITIAL 16

typedef struct pool_job {
	gnet_job_fn fn;
	gnet_job_cancel_fn cancel;
	void *arg;
	gnet_handle_t reply_to;
} pool_job_t;

CK_RING_PROTOTYPE(pool_job, pool_job)

typedef struct pool {
	gnet_engine_t *eng;
	unsigned cap;            /* worker_queue */
	ck_ring_t ring;
	pool_job_t *slots;       /* the ring's buffer: a power of two > cap */
	/* Jobs accepted and not yet taken by a worker: raised before the
	 * enqueue, lowered after the dequeue, so it never undercounts the
	 * ring and the ring never fills. */
	atomic_uint queued;
	sem_t jobs;              /* one unit per job posted, plus one per
	                          * worker at stop */
	bool sem_ready;
	atomic_int started;      /* the workers run: submits are taken */
	atomic_int stopping;
	/* Submits past the stopping check and not yet done: the stop waits
	 * for them, so no job lands after the last one was cancelled. */
	atomic_int submitting;
	int nthreads;
	pthread_t *threads;

	/* The pool actor, on loop 0: the waiters in arrival order. Only that
	 * loop touches the list; `has_waiters` is what workers read. The
	 * handle is set before the workers start and never changes. */
	gnet_handle_t actor;
	gnet_handle_t *waiters;
	unsigned head, nwaiters, cap_waiters; /* a ring of handles */
	atomic_int has_waiters;
} pool_t;

static pool_t *
pool_of(const gnet_engine_t *eng)
{
	return gnet__engine_ext(eng, &gnet__pool_ext);
}

/* ---- the pool actor: waiters ---- */

/* Returns gnet__send's result: GNET_ESTALE when `to` is on the calling
 * loop and gone (a message to it from elsewhere is dropped on arrival,
 * through its type's drop); any other refusal means the engine stops,
 * and then nobody waits. */
static int
send_to(pool_t *p, gnet_handle_t to, uint32_t type, uint64_t a)
{
	gnet_msg_t m = { .to = to, .type = type, .a = a };

	return gnet__send(p->eng, &m);
}

static bool
room_now(pool_t *p)
{
	return atomic_load(&p->queued) < p->cap;
}

static int
waiters_push(pool_t *p, gnet_handle_t h)
{
	if (p->nwaiters == p->cap_waiters) {
		unsigned ncap = p->cap_waiters ? p->cap_waiters * 2 : WAITERS_INITIAL;
		gnet_handle_t *nw = malloc(ncap * sizeof(*nw));
		unsigned i;
		if (nw == NULL)
			return GNET_ENOMEM;
		for (i = 0; i < p->nwaiters; i++)
			nw[i] = p->waiters[(p->head + i) % p->cap_waiters];
		free(p->waiters);
		p->waiters = nw;
		p->head = 0;
		p->cap_waiters = ncap;
	}
	p->waiters[(p->head + p->nwaiters) % p->cap_waiters] = h;
	p->nwaiters++;
	return 0;
}

/* Wake the first waiter that is still there, if any. */
static void
resume_one(pool_t *p)
{
	while (p->nwaiters != 0) {
		gnet_handle_t h = p->waiters[p->head];

		p->head = (p->head + 1) % p->cap_waiters;
		if (--p->nwaiters == 0)
			atomic_store(&p->has_waiters, 0);
		if (send_to(p, h, GNET__MSG_POOL_RESUME, 0) != GNET_ESTALE)
			return;
	}
}

static void
pool_receive(gnet__loop_t *l, void *obj, const gnet_msg_t *m)
{
	pool_t *p = obj;

	(void)l;
	if (m->type == GNET__MSG_POOL_WAIT) {
		if (waiters_push(p, (gnet_handle_t)m->a) != 0) {
			/* Cannot remember it: wake it now rather than never;
			 * it will try again. */
			(void)send_to(p, (gnet_handle_t)m->a,
			    GNET__MSG_POOL_RESUME, 0);
			return;
		}
		/* Announce the waiter before looking for room: a worker
		 * takes a job, then looks for waiters, so one of the two
		 * sees the other (both sequentially consistent). */
		atomic_store(&p->has_waiters, 1);
		if (room_now(p))
			resume_one(p);
	} else if (m->type == GNET__MSG_POOL_ROOM) {
		resume_one(p);
	}
}

static void
pool_actor_stop(gnet__loop_t *l, void *obj)
{
	pool_t *p = obj;

	/* Workers may still send to the handle; the sends are refused or
	 * dropped as stale. */
	gnet__slot_free(l, gnet__handle_slot(p->actor));
}

static const gnet__kind_t pool_kind = {
	.name = "pool",
	.receive = pool_receive,
	.stop = pool_actor_stop,
};

void
gnet__pool_pass_on(gnet_engine_t *eng)
{
	pool_t *p = pool_of(eng);

	if (p != NULL)
		(void)send_to(p, p->actor, GNET__MSG_POOL_ROOM, 0);
}

/* A resume whose waiter is gone: the room it announced goes to the next. */
static void
resume_dropped(gnet_engine_t *eng, gnet__loop_t *l, const gnet_msg_t *m)
{
	(void)m;
	if (l != NULL)
		gnet__pool_pass_on(eng);
}

/* ---- workers ---- */

static void
send_reply(pool_t *p, gnet_msg_t *reply)
{
	int rc;

	if (reply->type < GNET_MSG_USER)
		reply->type = GNET_MSG_USER;
	rc = gnet_actor_send(p->eng, reply->to, reply);
	/* Not even queued (engine stopping, no such loop): the reply is
	 * dropped here, through the same path as a late drop. */
	if (rc != 0)
		gnet__msg_dropped(p->eng, NULL, reply);
}

/* Take one job, if the ring has one. */
static bool
take_job(pool_t *p, pool_job_t *job)
{
	if (!ck_ring_dequeue_mpmc_pool_job(&p->ring, p->slots, job))
		return false;
	GNET__HB_ACQUIRE(&p->ring);
	atomic_fetch_sub(&p->queued, 1);
	/* The place just freed is wanted: tell the pool actor. */
	if (atomic_load(&p->has_waiters))
		(void)send_to(p, p->actor, GNET__MSG_POOL_ROOM, 0);
	return true;
}

static void *
worker_main(void *arg)
{
	pool_t *p = arg;

	for (;;) {
		pool_job_t job;
		gnet_msg_t reply;

		while (sem_wait(&p->jobs) != 0)
			;
		if (!take_job(p, &job)) {
			if (atomic_load(&p->stopping))
				return NULL;
			continue;
		}
		if (atomic_load(&p->stopping)) {
			/* Stopping: queued jobs are cancelled, not run. */
			if (job.cancel != NULL)
				job.cancel(job.arg);
			continue;
		}
		memset(&reply, 0, sizeof(reply));
		job.fn(job.arg, &reply);
		reply.to = job.reply_to;
		send_reply(p, &reply);
	}
}

int
gnet__pool_submit(gnet_engine_t *eng, gnet_handle_t reply_to, gnet_job_fn fn,
    gnet_job_cancel_fn cancel, void *arg, bool wake_when_room)
{
	pool_job_t job = { fn, cancel, arg, reply_to };
	pool_t *p;
	int rc = 0;

	if (eng == NULL || fn == NULL)
		return GNET_EINVAL;
	p = pool_of(eng);
	if (p == NULL)
		return GNET_ENOTSUP;
	/* Announce the submit before the stopping check; the stop sets
	 * stopping before it waits for submitting to reach zero, so either
	 * this sees stopping or the stop sees this job. */
	atomic_fetch_add(&p->submitting, 1);
	if (atomic_load(&p->stopping) || atomic_load(&eng->stop_requested)) {
		rc = GNET_ESHUTDOWN;
	} else if (!atomic_load(&p->started)) {
		rc = GNET_ESTATE;
	} else if (atomic_fetch_add(&p->queued, 1) >= p->cap) {
		atomic_fetch_sub(&p->queued, 1);
		if (wake_when_room)
			(void)send_to(p, p->actor, GNET__MSG_POOL_WAIT, reply_to);
		rc = GNET_EAGAIN;
	} else {
		GNET__HB_RELEASE(&p->ring);
		/* Cannot fail: queued <= cap < the ring's capacity. */
		ck_ring_enqueue_mpmc_pool_job(&p->ring, p->slots, &job);
		sem_post(&p->jobs);
	}
	atomic_fetch_sub(&p->submitting, 1);
	return rc;
}

int
gnet_pool_submit(gnet_engine_t *eng, gnet_handle_t reply_to, gnet_job_fn fn,
    gnet_job_cancel_fn cancel, void *arg)
{
	return gnet__pool_submit(eng, reply_to, fn, cancel, arg, false);
}

/* ---- the extension ---- */

static const gnet__msgtype_t pool_types[] = {
	{ .name = "pool wait" },
	{ .name = "pool room" },
	{ .name = "pool resume", .drop = resume_dropped },
};

static int
pool_engine_init(gnet_engine_t *eng, void **state)
{
	gnet_options_t *o = gnet__engine_options(eng);
	unsigned size = 4;
	pool_t *p;
	int rc;

	if (o->workers < 0 || o->workers > POOL_MAX_WORKERS ||
	    o->worker_queue > POOL_MAX_QUEUE)
		return GNET_EINVAL;
	if (o->worker_queue == 0)
		o->worker_queue = POOL_DEFAULT_QUEUE;
	rc = gnet__msgtypes_claim(eng, GNET__MSG_POOL_WAIT,
	    sizeof(pool_types) / sizeof(pool_types[0]), pool_types);
	if (rc != 0 || o->workers == 0)
		return rc;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return GNET_ENOMEM;
	*state = p;
	p->eng = eng;
	p->cap = o->worker_queue;
	/* ck_ring holds size - 1 entries. */
	while (size <= p->cap)
		size *= 2;
	p->slots = calloc(size, sizeof(*p->slots));
	p->threads = calloc((size_t)o->workers, sizeof(*p->threads));
	if (p->slots == NULL || p->threads == NULL)
		return GNET_ENOMEM;
	ck_ring_init(&p->ring, size);
	if (sem_init(&p->jobs, 0, 0) != 0)
		return GNET_ENOMEM;
	p->sem_ready = true;
	return 0;
}

static void
pool_stopped(gnet_engine_t *eng);

static int
pool_start(gnet_engine_t *eng)
{
	pool_t *p = pool_of(eng);
	int i, rc;

	if (p == NULL)
		return 0;
	rc = gnet__slot_alloc(eng->loops[0], &pool_kind, p, &p->actor);
	for (i = 0; i < eng->opt.workers && rc == 0; i++) {
		rc = -pthread_create(&p->threads[i], NULL, worker_main, p);
		if (rc == 0)
			p->nthreads++;
	}
	if (rc != 0) {
		pool_stopped(eng);
		return rc;
	}
	atomic_store(&p->started, 1);
	return 0;
}

/* After the loops have exited: let running jobs finish (their replies are
 * dropped), cancel the queued ones, join the threads. */
static void
pool_stopped(gnet_engine_t *eng)
{
	pool_t *p = pool_of(eng);
	pool_job_t job;
	int i;

	if (p == NULL)
		return;
	atomic_store(&p->stopping, 1);
	while (atomic_load(&p->submitting) != 0)
		sched_yield();
	for (i = 0; i < p->nthreads; i++)
		sem_post(&p->jobs);
	for (i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	p->nthreads = 0;
	/* A job a submit queued as the workers left is cancelled here. */
	while (take_job(p, &job))
		if (job.cancel != NULL)
			job.cancel(job.arg);
}

static void
pool_engine_free(gnet_engine_t *eng, void *state)
{
	pool_t *p = state;

	(void)eng;
	if (p == NULL)
		return;
	if (p->sem_ready)
		sem_destroy(&p->jobs);
	free(p->slots);
	free(p->threads);
	free(p->waiters);
	free(p);
}

const gnet__ext_t gnet__pool_ext = {
	.name = "pool",
	.engine_init = pool_engine_init,
	.start = pool_start,
	.stopped = pool_stopped,
	.engine_free = pool_engine_free,
};
