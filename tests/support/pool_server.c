/*
 * pool_server.c -- requests served by the blocking-worker pool, recorded
 * (see pool_server.h).
 */
#include "pool_server.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LOOP_CHECK(ps, cond) TN_LOOP_CHECK((ps)->errs, cond)

/* A client's bound on one exchange. */
#define POOL_IO_MS 5000

void
pool_server_init(pool_server_t *ps, int job_ms, tn_loop_errors_t *errs)
{
	memset(ps, 0, sizeof *ps);
	ps->job_ms = job_ms;
	ps->errs = errs;
	atomic_store(&ps->dropped_id, -1);
}

void
pool_fmt_msg(char out[POOL_REQ_LEN + 1], char kind, unsigned id)
{
	/* Seven digits: ids wrap rather than overflow the message. */
	snprintf(out, POOL_REQ_LEN + 1, "%c%07u", kind, id % 10000000u);
}

int
pool_parse_id(const char *p)
{
	int id = 0;

	for (int i = 1; i < POOL_REQ_LEN; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		id = id * 10 + (p[i] - '0');
	}
	return id;
}

/* The blocking work of a job (never used to wait for an event). */
static void
job_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

void
pool_job_fn(void *arg, gnet_msg_t *reply)
{
	pool_job_t *j = arg;
	pool_server_t *ps = j->ps;

	/* On a pool thread, never on a loop. */
	LOOP_CHECK(ps, gnet_loop_current() == -1);
	int now = atomic_fetch_add(&ps->inflight, 1) + 1;
	tn_atomic_max(&ps->max_inflight, (size_t)now);
	atomic_fetch_add(&ps->jobs_started, 1);
	job_sleep_ms(ps->job_ms);
	atomic_fetch_sub(&ps->inflight, 1);

	char *text = malloc(POOL_REQ_LEN + 1);
	LOOP_CHECK(ps, text != NULL);
	if (text != NULL)
		pool_fmt_msg(text, POOL_KIND_REPLY, (unsigned)j->id);
	reply->type = POOL_REPLY_TYPE;
	reply->a = (uint64_t)(uintptr_t)text;
	reply->b = POOL_REQ_LEN;
	free(j);
	atomic_fetch_add(&ps->jobs_done, 1);
}

void
pool_cancel_fn(void *arg)
{
	pool_job_t *j = arg;

	atomic_fetch_add(&j->ps->cancels, 1);
	free(j);
}

pool_job_t *
pool_job_new(pool_server_t *ps, int id)
{
	pool_job_t *j = malloc(sizeof *j);

	if (j != NULL) {
		j->ps = ps;
		j->id = id;
	}
	return j;
}

static gnet_action_t
pool_server_on_open(gnet_conn_t *c, void *udata)
{
	pool_server_t *ps = udata;

	atomic_store(&ps->last_handle, gnet_conn_handle(c));
	atomic_fetch_add(&ps->opens, 1);
	return GNET_NONE;
}

static gnet_action_t
pool_server_on_traffic(gnet_conn_t *c, void *udata)
{
	pool_server_t *ps = udata;
	const void *data;

	for (;;) {
		size_t n = gnet_conn_peek(c, &data);
		if (n < POOL_REQ_LEN)
			return GNET_NONE;
		const char *p = data;
		if (p[0] == POOL_KIND_ECHO) {
			LOOP_CHECK(ps, gnet_conn_write(c, p, POOL_REQ_LEN) ==
			    POOL_REQ_LEN);
			LOOP_CHECK(ps, gnet_conn_discard(c, POOL_REQ_LEN) ==
			    POOL_REQ_LEN);
			continue;
		}
		int id = pool_parse_id(p);
		LOOP_CHECK(ps, p[0] == POOL_KIND_JOB && id >= 0 &&
		    id < POOL_MAX_IDS);
		if (p[0] != POOL_KIND_JOB || id < 0 || id >= POOL_MAX_IDS)
			return GNET_CLOSE;

		/* The context is id + 1 while a refused request waits: this
		 * call is then the wake-up, over the same unconsumed bytes. */
		uintptr_t waiting = (uintptr_t)gnet_conn_context(c);
		if (waiting != 0) {
			LOOP_CHECK(ps, waiting == (uintptr_t)id + 1);
			atomic_fetch_add(&ps->per_id_retries[id], 1);
		}
		pool_job_t *j = pool_job_new(ps, id);
		LOOP_CHECK(ps, j != NULL);
		if (j == NULL)
			return GNET_CLOSE;
		int rc = gnet_conn_submit(c, pool_job_fn, pool_cancel_fn, j);
		if (rc == GNET_EAGAIN) {
			/* Leave the request buffered; we are woken for it. */
			free(j);
			gnet_conn_set_context(c, (void *)((uintptr_t)id + 1));
			atomic_fetch_add(&ps->per_id_eagain[id], 1);
			atomic_fetch_add(&ps->submits_eagain, 1);
			return GNET_NONE;
		}
		LOOP_CHECK(ps, rc == 0);
		if (rc != 0) {
			free(j);
			return GNET_CLOSE;
		}
		gnet_conn_set_context(c, NULL);
		atomic_fetch_add(&ps->per_id_submits[id], 1);
		atomic_fetch_add(&ps->submits_ok, 1);
		LOOP_CHECK(ps, gnet_conn_discard(c, POOL_REQ_LEN) == POOL_REQ_LEN);
	}
}

static gnet_action_t
pool_server_on_message(gnet_conn_t *c, const gnet_msg_t *m, void *udata)
{
	pool_server_t *ps = udata;
	char *text = (char *)(uintptr_t)m->a;

	LOOP_CHECK(ps, gnet_loop_current() == gnet_conn_loop_index(c));
	LOOP_CHECK(ps, m->type == POOL_REPLY_TYPE);
	LOOP_CHECK(ps, m->to == gnet_conn_handle(c));
	LOOP_CHECK(ps, m->b == POOL_REQ_LEN && text != NULL);
	if (m->type != POOL_REPLY_TYPE || text == NULL)
		return GNET_NONE;
	int id = pool_parse_id(text);
	LOOP_CHECK(ps, text[0] == POOL_KIND_REPLY && id >= 0 &&
	    id < POOL_MAX_IDS);
	if (id >= 0 && id < POOL_MAX_IDS)
		atomic_fetch_add(&ps->per_id_replies[id], 1);
	LOOP_CHECK(ps, gnet_conn_write(c, text, POOL_REQ_LEN) == POOL_REQ_LEN);
	free(text);
	atomic_fetch_add(&ps->replies, 1);
	return GNET_NONE;
}

static void
pool_server_on_dropped(gnet_engine_t *eng, const gnet_msg_t *m, void *udata)
{
	pool_server_t *ps = udata;
	char *text = (char *)(uintptr_t)m->a;
	(void)eng;

	LOOP_CHECK(ps, m->type == POOL_REPLY_TYPE);
	if (m->type != POOL_REPLY_TYPE)
		return;
	LOOP_CHECK(ps, m->b == POOL_REQ_LEN && text != NULL);
	if (text != NULL) {
		int id = pool_parse_id(text);
		if (text[0] == POOL_KIND_REPLY && id >= 0 && m->b == POOL_REQ_LEN)
			atomic_fetch_add(&ps->dropped_ok, 1);
		atomic_store(&ps->dropped_id, id);
		free(text);
	}
	atomic_store(&ps->dropped_to, m->to);
	/* Last: the test thread waits on this counter. */
	atomic_fetch_add(&ps->dropped, 1);
}

static void
pool_server_on_close(gnet_conn_t *c, int reason, void *udata)
{
	pool_server_t *ps = udata;
	(void)c;
	(void)reason;

	atomic_fetch_add(&ps->closes, 1);
}

const gnet_events_t pool_server_events = { .size = sizeof(gnet_events_t),
	.on_open = pool_server_on_open,
	.on_traffic = pool_server_on_traffic,
	.on_message = pool_server_on_message,
	.on_dropped = pool_server_on_dropped,
	.on_close = pool_server_on_close,
};

void
pool_job_clients(tn_client_t *cl, char (*tx)[POOL_REQ_LEN + 1],
    char (*rx)[POOL_REQ_LEN + 1], int k, int port)
{
	for (int i = 0; i < k; i++) {
		pool_fmt_msg(tx[i], POOL_KIND_JOB, (unsigned)i);
		pool_fmt_msg(rx[i], POOL_KIND_REPLY, (unsigned)i);
		int fd = tn_connect(port);
		ck_assert_msg(fd >= 0, "connect %d: %s", i, strerror(errno));
		tn_client_init(&cl[i], fd, (const uint8_t *)tx[i], POOL_REQ_LEN,
		    (const uint8_t *)rx[i], POOL_REQ_LEN);
	}
}

void *
pool_prober_main(void *arg)
{
	pool_prober_t *p = arg;
	char out[POOL_REQ_LEN + 1], in[POOL_REQ_LEN + 1];
	unsigned n = 0;

	while (!atomic_load(&p->stop)) {
		pool_fmt_msg(out, POOL_KIND_ECHO, n++ % 10000000u);
		uint64_t t0 = tn_now_ns();
		if (tn_send_all(p->fd, out, POOL_REQ_LEN, POOL_IO_MS) !=
		    POOL_REQ_LEN ||
		    tn_read_exact(p->fd, in, POOL_REQ_LEN, POOL_IO_MS) !=
		    POOL_REQ_LEN ||
		    memcmp(in, out, POOL_REQ_LEN) != 0) {
			atomic_fetch_add(&p->failures, 1);
			break;
		}
		long us = (long)((tn_now_ns() - t0) / 1000);
		if (us > atomic_load(&p->max_rtt_us))
			atomic_store(&p->max_rtt_us, us);
		atomic_fetch_add(&p->rounds, 1);
		tn_nap(); /* pacing: about one round trip per millisecond */
	}
	return NULL;
}
