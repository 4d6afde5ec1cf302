/*
 * The blocking-worker pool: a fixed set of threads fronted by a bounded
 * job queue. Loops never block; a job that must (disk, a blocking client
 * library, sleep) runs here, and its result travels back to the actor
 * that asked as an ordinary message through gnet_actor_send, so the asker
 * handles it on its own loop like any other message.
 *
 * The queue is a mutex and two condition variables rather than a ring:
 * workers are allowed to sleep, submitters never wait (a full queue is
 * GNET_EAGAIN, i.e. backpressure), and the lock is held for a few stores.
 * Connections refused for a full queue are remembered and woken, one per
 * freed slot, so a burst never loses a request nor spins on retries.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "net/conn.h"

/* Default queue depth: enough to ride out a burst of requests, small
 * enough that a stuck backend shows up as backpressure, not memory. */
#define POOL_DEFAULT_QUEUE 1024u

typedef struct pool_job {
	gnet_job_fn fn;
	gnet_job_cancel_fn cancel;
	void *arg;
	gnet_handle_t reply_to;
} pool_job_t;

struct gnet__pool {
	gnet_engine_t *eng;
	pthread_mutex_t mu;
	pthread_cond_t nonempty;
	pool_job_t *jobs;        /* ring of cap jobs */
	unsigned cap, head, count;
	int stopping;
	int nthreads;
	pthread_t *threads;
	/* Connections waiting for room (handles: they may close meanwhile). */
	gnet_handle_t *waiters;
	unsigned nwaiters, cap_waiters;
};

/* Tell the first waiting connection there is room; called with mu held,
 * the send happens after it is released. */
static gnet_handle_t
pop_waiter(struct gnet__pool *p)
{
	gnet_handle_t h;

	if (p->nwaiters == 0)
		return GNET_HANDLE_NONE;
	h = p->waiters[0];
	memmove(p->waiters, p->waiters + 1, --p->nwaiters * sizeof(*p->waiters));
	return h;
}

static void
send_resume(struct gnet__pool *p, gnet_handle_t h)
{
	gnet_msg_t m = { .to = h, .type = GNET__MSG_POOL_RESUME };

	if (h != GNET_HANDLE_NONE)
		gnet__send(p->eng, &m);
}

/* A wake-up reached a connection that no longer needs it (closing, or not
 * waiting): hand it to the next waiter, or a freed slot would go unused
 * while others wait. */
void
gnet__pool_pass_on(gnet_engine_t *eng)
{
	struct gnet__pool *p = eng->pool;
	gnet_handle_t next;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	next = pop_waiter(p);
	pthread_mutex_unlock(&p->mu);
	send_resume(p, next);
}

/* A waiting connection closed. Still listed: just forget it. Already
 * popped: its wake-up is in flight to a dead handle, so pass it on. */
void
gnet__pool_forget(gnet_engine_t *eng, gnet_handle_t h)
{
	struct gnet__pool *p = eng->pool;
	gnet_handle_t next = GNET_HANDLE_NONE;
	unsigned i;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	for (i = 0; i < p->nwaiters && p->waiters[i] != h; i++)
		;
	if (i < p->nwaiters)
		memmove(p->waiters + i, p->waiters + i + 1,
		    (--p->nwaiters - i) * sizeof(*p->waiters));
	else
		next = pop_waiter(p);
	pthread_mutex_unlock(&p->mu);
	send_resume(p, next);
}

static void
send_reply(struct gnet__pool *p, gnet_msg_t *reply)
{
	int rc;

	if (reply->type < GNET_MSG_USER)
		reply->type = GNET_MSG_USER;
	rc = gnet_actor_send(p->eng, reply->to, reply);
	/* Not even queued (engine stopping, no such loop): the reply is
	 * dropped here, through the same hook as a late drop. */
	if (rc != 0)
		gnet__msg_dropped(p->eng, NULL, reply);
}

static void *
worker_main(void *arg)
{
	struct gnet__pool *p = arg;

	for (;;) {
		pool_job_t job;
		gnet_handle_t waiter;
		gnet_msg_t reply;
		int stopping;

		pthread_mutex_lock(&p->mu);
		while (p->count == 0 && !p->stopping)
			pthread_cond_wait(&p->nonempty, &p->mu);
		if (p->count == 0) {
			pthread_mutex_unlock(&p->mu);
			return NULL;
		}
		job = p->jobs[p->head];
		p->head = (p->head + 1) % p->cap;
		p->count--;
		waiter = pop_waiter(p);
		stopping = p->stopping;
		pthread_mutex_unlock(&p->mu);
		send_resume(p, waiter);
		if (stopping) {
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
gnet__pool_start(gnet_engine_t *eng)
{
	struct gnet__pool *p;
	int i, rc;

	if (eng->opt.workers <= 0)
		return 0;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return GNET_ENOMEM;
	p->eng = eng;
	p->cap = eng->opt.worker_queue != 0 ? eng->opt.worker_queue : POOL_DEFAULT_QUEUE;
	p->jobs = calloc(p->cap, sizeof(*p->jobs));
	p->threads = calloc((size_t)eng->opt.workers, sizeof(*p->threads));
	if (p->jobs == NULL || p->threads == NULL) {
		free(p->jobs);
		free(p->threads);
		free(p);
		return GNET_ENOMEM;
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->nonempty, NULL);
	eng->pool = p;
	for (i = 0; i < eng->opt.workers; i++) {
		rc = pthread_create(&p->threads[i], NULL, worker_main, p);
		if (rc != 0) {
			gnet__pool_stop(eng);
			return -rc;
		}
		p->nthreads++;
	}
	return 0;
}

/* After the loops have exited: let running jobs finish (their replies are
 * dropped), cancel the queued ones, join the threads. */
void
gnet__pool_stop(gnet_engine_t *eng)
{
	struct gnet__pool *p = eng->pool;
	int i;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->stopping = 1;
	pthread_cond_broadcast(&p->nonempty);
	pthread_mutex_unlock(&p->mu);
	for (i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	p->nthreads = 0;
}

void
gnet__pool_free(gnet_engine_t *eng)
{
	struct gnet__pool *p = eng->pool;

	if (p == NULL)
		return;
	gnet__pool_stop(eng);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->nonempty);
	free(p->jobs);
	free(p->threads);
	free(p->waiters);
	free(p);
	eng->pool = NULL;
}

static int
submit(gnet_engine_t *eng, gnet_handle_t reply_to, gnet_job_fn fn,
    gnet_job_cancel_fn cancel, void *arg, int wait_if_full)
{
	struct gnet__pool *p;
	int rc = 0;

	if (eng == NULL || fn == NULL)
		return GNET_EINVAL;
	p = eng->pool;
	if (p == NULL)
		return eng->opt.workers > 0 ? GNET_ESTATE : GNET_ENOTSUP;
	pthread_mutex_lock(&p->mu);
	if (p->stopping || atomic_load(&eng->stop_requested)) {
		rc = GNET_ESHUTDOWN;
	} else if (p->count == p->cap) {
		rc = GNET_EAGAIN;
		if (wait_if_full) {
			if (p->nwaiters == p->cap_waiters) {
				unsigned ncap = p->cap_waiters ? p->cap_waiters * 2 : 16;
				gnet_handle_t *nw = realloc(p->waiters, ncap * sizeof(*nw));
				if (nw == NULL) {
					rc = GNET_ENOMEM;
					goto out;
				}
				p->waiters = nw;
				p->cap_waiters = ncap;
			}
			p->waiters[p->nwaiters++] = reply_to;
		}
	} else {
		pool_job_t *j = &p->jobs[(p->head + p->count) % p->cap];
		j->fn = fn;
		j->cancel = cancel;
		j->arg = arg;
		j->reply_to = reply_to;
		p->count++;
		pthread_cond_signal(&p->nonempty);
	}
out:
	pthread_mutex_unlock(&p->mu);
	return rc;
}

int
gnet_pool_submit(gnet_engine_t *eng, gnet_handle_t reply_to, gnet_job_fn fn,
    gnet_job_cancel_fn cancel, void *arg)
{
	return submit(eng, reply_to, fn, cancel, arg, 0);
}

int
gnet_conn_submit(gnet_conn_t *c, gnet_job_fn fn, gnet_job_cancel_fn cancel,
    void *arg)
{
	int rc;

	if (c == NULL)
		return GNET_EINVAL;
	if (gnet__tls_loop != c->loop)
		return GNET_ETHREAD;
	if (c->flags & GNET__C_CLOSING)
		return GNET_ECLOSED;
	/* Already waiting (e.g. on_traffic ran again through gnet_conn_wake_async):
	 * one place in the waiter list is enough. */
	rc = submit(c->loop->eng, c->handle, fn, cancel, arg,
	    !(c->flags & GNET__C_POOL_WAIT));
	if (rc == GNET_EAGAIN) {
		/* Stop reading until a worker frees a slot and wakes us. */
		c->flags |= GNET__C_POOL_WAIT;
		gnet__conn_sync_events(c);
	}
	return rc;
}
