/*
 * blocking_echo -- an echo whose "work" blocks (a sleep standing in for a
 * disk read or a database call) without ever blocking an event loop.
 *
 * Shows the blocking-worker pool. on_traffic copies the input into a job
 * and queues it with gnet_conn_submit; the job runs on a pool thread,
 * sleeps, and returns the bytes as its reply message, which the kernel
 * delivers to the connection's on_message on the connection's own loop;
 * on_message writes them. Meanwhile the loop keeps serving everyone else,
 * so 8 clients with 8 workers get their answers after one delay, not
 * eight.
 *
 * Ordering: jobs of one connection could finish out of order on different
 * workers, so each connection has at most one job in flight; bytes that
 * arrive meanwhile stay buffered (unconsumed) and on_message wakes the
 * connection (gnet_conn_wake_async) to submit them next.
 *
 * Backpressure: when the pool's queue is full gnet_conn_submit returns
 * GNET_EAGAIN; the bytes are left unconsumed, the connection stops reading,
 * and the pool wakes it when a slot frees up.
 *
 * Ownership: a job's memory belongs to the job until its reply is written
 * by on_message; a reply for a connection that closed meanwhile goes to
 * on_dropped, and a job still queued when the engine stops goes to its
 * cancel function -- both free it.
 *
 *   blocking_echo [--port N] [--multicore] [--workers N] [--delay-ms N]
 *                 [--queue N]
 *
 * Try it:  socat - TCP:127.0.0.1:9000    (type a line: it comes back a
 * second later; several clients at once all get theirs after one second)
 * Not with "echo hi | socat ...": that client half-closes at once, and a
 * peer's FIN closes the connection as soon as what was already written is
 * flushed -- the job's reply would come too late and be dropped.
 */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <gnet.h>
#include "flags.h"

#define MSG_ECHO GNET_MSG_USER     /* job -> connection: a = job_t * */
#define MAX_JOB_BYTES (64 * 1024)  /* bytes per job; the rest waits its turn */

/* The connection's context while one of its jobs is in flight. */
#define BUSY ((void *)1)

typedef struct job {
	unsigned delay_ms;
	size_t len;
	unsigned char data[];
} job_t;

static gnet_engine_t *engine;
static unsigned delay_ms = 1000;

/* Runs on a pool thread: it may block as long as it likes. */
static void
slow_echo(void *arg, gnet_msg_t *reply)
{
	job_t *j = arg;
	struct timespec ts = { j->delay_ms / 1000,
	    (long)(j->delay_ms % 1000) * 1000000L };

	/* A signal handled on this thread cuts the sleep short: finish it. */
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
	reply->type = MSG_ECHO;
	reply->a = (uint64_t)(uintptr_t)j;
	reply->b = j->len;
}

/* A job still queued when the engine stops is cancelled, not run. */
static void
cancel_job(void *arg)
{
	free(arg);
}

/* Submit the buffered input as one job, unless one is already running. */
static gnet_action_t
on_traffic(gnet_conn_t *c, void *udata)
{
	const void *data;
	size_t n;
	job_t *j;
	int rc;

	(void)udata;
	if (gnet_conn_context(c) == BUSY)
		return GNET_NONE; /* keep the bytes: on_message wakes us */
	n = gnet_conn_peek(c, &data);
	if (n == 0)
		return GNET_NONE;
	if (n > MAX_JOB_BYTES)
		n = MAX_JOB_BYTES;
	j = malloc(sizeof(*j) + n);
	if (j == NULL)
		return GNET_CLOSE;
	j->delay_ms = delay_ms;
	j->len = n;
	memcpy(j->data, data, n);
	rc = gnet_conn_submit(c, slow_echo, cancel_job, j);
	if (rc == GNET_EAGAIN) {
		/* Queue full: leave the bytes unconsumed. The connection has
		 * stopped reading; the pool wakes it when there is room. */
		free(j);
		return GNET_NONE;
	}
	if (rc != 0) {
		free(j); /* e.g. GNET_ESHUTDOWN: the engine is stopping */
		return GNET_CLOSE;
	}
	gnet_conn_discard(c, n);
	gnet_conn_set_context(c, BUSY);
	return GNET_NONE;
}

/* The job's reply, on the connection's loop. */
static gnet_action_t
on_message(gnet_conn_t *c, const gnet_msg_t *m, void *udata)
{
	job_t *j = (job_t *)(uintptr_t)m->a;

	(void)udata;
	if (m->type != MSG_ECHO)
		return GNET_NONE;
	gnet_conn_write(c, j->data, j->len);
	free(j);
	gnet_conn_set_context(c, NULL);
	/* Bytes that arrived while the job ran are next. */
	if (gnet_conn_inbound_len(c) != 0)
		gnet_conn_wake_async(gnet_conn_engine(c), gnet_conn_handle(c));
	return GNET_NONE;
}

/* A reply whose connection closed meanwhile (or that was in flight when
 * the engine stopped): the job is ours to free. */
static void
on_dropped(gnet_engine_t *eng, const gnet_msg_t *m, void *udata)
{
	(void)eng;
	(void)udata;
	if (m->type == MSG_ECHO)
		free((void *)(uintptr_t)m->a);
}

static gnet_action_t
on_boot(gnet_engine_t *eng, void *udata)
{
	const gnet_options_t *opt = udata;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	/* The bound port, not the flag: --port 0 picks a free one. */
	if (gnet_engine_addr(eng, 0, &ss, &len) != 0 || ss.ss_family != AF_INET)
		return GNET_SHUTDOWN;
	printf("blocking_echo: listening on tcp://127.0.0.1:%d "
	    "(%d loops, %d workers, %u ms per message)\n",
	    ntohs(((struct sockaddr_in *)&ss)->sin_port),
	    gnet_engine_num_loops(eng), opt->workers, delay_ms);
	fflush(stdout);
	return GNET_NONE;
}

static void
on_signal(int sig)
{
	(void)sig;
	/* Async-signal-safe: a flag and eventfd writes. */
	gnet_engine_stop(engine);
}

static void
usage(void)
{
	fprintf(stderr, "usage: blocking_echo [--port N] [--multicore] "
	    "[--workers N] [--delay-ms N] [--queue N]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	gnet_events_t ev = { .size = sizeof(gnet_events_t), .on_boot = on_boot, .on_traffic = on_traffic,
	    .on_message = on_message, .on_dropped = on_dropped };
	gnet_options_t opt = { .size = sizeof(gnet_options_t), .workers = 8 };
	int port = 9000;
	char addr[64];
	int i, rc;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
			port = flag_number(argv[++i], 0, 65535, usage);
		else if (strcmp(argv[i], "--multicore") == 0)
			opt.multicore = 1;
		else if (strcmp(argv[i], "--workers") == 0 && i + 1 < argc)
			opt.workers = flag_number(argv[++i], 1, 1024, usage);
		else if (strcmp(argv[i], "--delay-ms") == 0 && i + 1 < argc)
			delay_ms = (unsigned)flag_number(argv[++i], 0, 3600000, usage);
		else if (strcmp(argv[i], "--queue") == 0 && i + 1 < argc)
			opt.worker_queue = (unsigned)flag_number(argv[++i], 1, 1 << 20, usage);
		else
			usage();
	}
	snprintf(addr, sizeof(addr), "tcp://127.0.0.1:%d", port);
	rc = gnet_engine_new(&engine, &ev, &opt, &opt);
	if (rc == 0)
		rc = gnet_engine_listen(engine, addr);
	if (rc != 0) {
		fprintf(stderr, "blocking_echo: %s: %s\n", addr, gnet_strerror(rc));
		gnet_engine_free(engine);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	rc = gnet_engine_run(engine);
	gnet_engine_free(engine);
	if (rc != 0) {
		fprintf(stderr, "blocking_echo: %s\n", gnet_strerror(rc));
		return 1;
	}
	return 0;
}
