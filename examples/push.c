/*
 * push -- a server that pushes "heartbeat N" to every client on a timer.
 *
 * Shows shared state kept in an actor instead of behind a lock. The Go
 * version keeps a map of connections under a mutex and walks it from the
 * ticker; here a "hub" actor on loop 0 owns the set of connection handles
 * and nobody else touches it:
 *
 *   on_open   (any loop)  --REGISTER(handle)-->   hub
 *   on_close  (any loop)  --UNREGISTER(handle)--> hub
 *   on_tick   (loop 0)    --BEAT(n)-->            hub
 *   hub                   --HEARTBEAT(n)-->       every registered connection
 *   on_message (the connection's loop) writes "heartbeat n\n"
 *
 * A client that does not read must not make the server buffer without
 * bound: past the high watermark on_backpressure(c, 1) tells this
 * connection to stop, and it skips heartbeats (counting them) until
 * on_backpressure(c, 0), when it writes "missed N heartbeats" and goes on.
 * Without that, the engine's max_outbound would end such a connection
 * (GNET_EOUTBOUND) once 256 MiB were pending.
 *
 * Messages from one sender to one receiver arrive in order, so a
 * connection's UNREGISTER never overtakes its REGISTER. Handles, not
 * gnet_conn_t pointers, cross loops: a heartbeat for a connection that
 * closed meanwhile is dropped by the kernel (its handle is stale), never
 * delivered to a newer connection in the same slot.
 *
 *   push [--port N] [--multicore] [--tick DURATION] [--bytes N]
 *        DURATION e.g. 50ms, 1s; --bytes pads each heartbeat line to N
 *        bytes (a load to watch backpressure with)
 *
 * Try it:  socat - TCP:127.0.0.1:9000    (prints a heartbeat every second)
 */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gnet.h>
#include "flags.h"

enum {
	MSG_REGISTER = GNET_MSG_USER, /* connection -> hub, a = its handle */
	MSG_UNREGISTER,               /* connection -> hub, a = its handle */
	MSG_BEAT,                     /* ticker -> hub, a = tick number */
	MSG_HEARTBEAT                 /* hub -> connection, a = tick number */
};

/* The hub's state: touched only by the hub's receive and on_stop, which
 * both run on loop 0, one message at a time. */
typedef struct hub {
	gnet_handle_t *conns;
	size_t n, cap;
} hub_t;

/* A client's connection: whether it may be written to, and what it
 * missed meanwhile. Touched only on the connection's loop. */
typedef struct client {
	int paused;
	uint64_t missed;
} client_t;

#define MAX_LINE_BYTES 65536

static gnet_engine_t *engine;
/* Set in on_boot, before the loop threads start (thread creation orders
 * the write before every read), and never changed afterwards. */
static gnet_handle_t hub_handle;
static hub_t hub_state;
static uint64_t tick_ns = 1000000000ull;
static size_t line_bytes;             /* --bytes: 0 for a bare line */

static void
hub_add(hub_t *h, gnet_handle_t conn)
{
	if (h->n == h->cap) {
		size_t ncap = h->cap ? h->cap * 2 : 64;
		gnet_handle_t *nc = realloc(h->conns, ncap * sizeof(*nc));
		if (nc == NULL) {
			/* This client just gets no heartbeats; the server
			 * goes on. */
			fprintf(stderr, "push: out of memory, client not registered\n");
			return;
		}
		h->conns = nc;
		h->cap = ncap;
	}
	h->conns[h->n++] = conn;
}

static void
hub_remove(hub_t *h, gnet_handle_t conn)
{
	size_t i;

	for (i = 0; i < h->n; i++) {
		if (h->conns[i] == conn) {
			h->conns[i] = h->conns[--h->n]; /* order does not matter */
			return;
		}
	}
}

static void
hub_receive(gnet_actor_t *self, const gnet_msg_t *m)
{
	hub_t *h = gnet_actor_state(self);
	gnet_msg_t beat = { .type = MSG_HEARTBEAT };
	size_t i;

	switch (m->type) {
	case MSG_REGISTER:
		hub_add(h, (gnet_handle_t)m->a);
		break;
	case MSG_UNREGISTER:
		hub_remove(h, (gnet_handle_t)m->a);
		break;
	case MSG_BEAT:
		beat.a = m->a;
		/* A send can fail for a connection of this loop that closed
		 * before its UNREGISTER arrived (GNET_ESTALE), or when the
		 * engine is stopping: either way there is no one to tell. */
		for (i = 0; i < h->n; i++)
			(void)gnet_actor_send(gnet_actor_engine(self), h->conns[i], &beat);
		break;
	}
}

static void
hub_stop(gnet_actor_t *self)
{
	hub_t *h = gnet_actor_state(self);

	free(h->conns);
	h->conns = NULL;
	h->n = h->cap = 0;
}

static gnet_action_t
on_boot(gnet_engine_t *eng, void *udata)
{
	gnet_actor_def_t def = { .size = sizeof(gnet_actor_def_t), .receive = hub_receive, .on_stop = hub_stop,
	    .state = &hub_state };
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int rc;

	rc = gnet_actor_spawn(eng, 0, &def, &hub_handle);
	if (rc != 0) {
		fprintf(stderr, "push: spawning the hub: %s\n", gnet_strerror(rc));
		return GNET_SHUTDOWN;
	}
	/* The bound port, not the flag: --port 0 picks a free one. */
	if (gnet_engine_addr(eng, 0, &ss, &len) != 0 || ss.ss_family != AF_INET)
		return GNET_SHUTDOWN;
	printf("push: listening on tcp://127.0.0.1:%d, tick %s\n",
	    ntohs(((struct sockaddr_in *)&ss)->sin_port), (const char *)udata);
	fflush(stdout);
	return GNET_NONE;
}

/* Runs on loop 0 only, so the counter needs no atomics. The first tick
 * comes right after start; each sets the delay to the next. */
static gnet_action_t
on_tick(gnet_engine_t *eng, uint64_t *delay_ns, void *udata)
{
	static uint64_t ticks;
	gnet_msg_t m = { .type = MSG_BEAT, .a = ++ticks };

	(void)udata;
	(void)gnet_actor_send(eng, hub_handle, &m);
	*delay_ns = tick_ns;
	return GNET_NONE;
}

static gnet_action_t
on_open(gnet_conn_t *c, void *udata)
{
	gnet_msg_t m = { .type = MSG_REGISTER, .a = gnet_conn_handle(c) };
	client_t *cl = calloc(1, sizeof(*cl));

	(void)udata;
	if (cl == NULL) {
		fprintf(stderr, "push: out of memory, client closed\n");
		return GNET_CLOSE;
	}
	gnet_conn_set_context(c, cl);
	(void)gnet_actor_send(gnet_conn_engine(c), hub_handle, &m);
	return GNET_NONE;
}

static void
on_close(gnet_conn_t *c, int reason, void *udata)
{
	gnet_msg_t m = { .type = MSG_UNREGISTER, .a = gnet_conn_handle(c) };

	(void)reason;
	(void)udata;
	free(gnet_conn_context(c));
	/* At engine stop the hub may already be gone: the message is then
	 * dropped, which is fine since it carries nothing to free. */
	(void)gnet_actor_send(gnet_conn_engine(c), hub_handle, &m);
}

/* The client fell behind (paused = 1) or caught up (0). */
static void
on_backpressure(gnet_conn_t *c, int paused, void *udata)
{
	client_t *cl = gnet_conn_context(c);
	char line[64];
	int n;

	(void)udata;
	cl->paused = paused;
	if (!paused && cl->missed != 0) {
		n = snprintf(line, sizeof(line), "missed %" PRIu64
		    " heartbeats\n", cl->missed);
		cl->missed = 0;
		(void)gnet_conn_write(c, line, (size_t)n);
	}
}

static gnet_action_t
on_message(gnet_conn_t *c, const gnet_msg_t *m, void *udata)
{
	client_t *cl = gnet_conn_context(c);
	/* Per thread: connections on several loops write at once. */
	static _Thread_local char line[MAX_LINE_BYTES];
	size_t n;

	(void)udata;
	if (m->type != MSG_HEARTBEAT)
		return GNET_NONE;
	if (cl->paused) {
		cl->missed++;
		return GNET_NONE;
	}
	n = (size_t)snprintf(line, sizeof(line), "heartbeat %" PRIu64, m->a);
	/* Padded with dots to --bytes, the newline last. */
	if (line_bytes > n + 1) {
		memset(line + n, '.', line_bytes - n - 1);
		n = line_bytes - 1;
	}
	line[n++] = '\n';
	/* Fails only once the connection is closing: nothing to do then. */
	(void)gnet_conn_write(c, line, n);
	return GNET_NONE;
}

/* Clients have nothing to say to a push server: what they send is read
 * and dropped, so it cannot pile up. */
static gnet_action_t
on_traffic(gnet_conn_t *c, void *udata)
{
	(void)udata;
	gnet_conn_discard(c, gnet_conn_inbound_len(c));
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
	fprintf(stderr,
	    "usage: push [--port N] [--multicore] [--tick DURATION] [--bytes N]\n"
	    "       DURATION is a positive integer with a unit: us, ms, s or m"
	    " (e.g. 50ms, 1s)\n"
	    "       --bytes pads each heartbeat line to N bytes (at most 65536)\n");
	exit(2);
}

/* "50ms", "1s", "2m", "500us" -> nanoseconds, or usage. */
static uint64_t
duration(const char *s)
{
	static const struct { const char *unit; uint64_t ns; } units[] = {
		{ "us", 1000ull }, { "ms", 1000000ull },
		{ "s", 1000000000ull }, { "m", 60000000000ull },
	};
	char *end;
	unsigned long long v;
	size_t i;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || s[0] == '-' || v == 0)
		usage();
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(end, units[i].unit) == 0 && v <= UINT64_MAX / units[i].ns)
			return v * units[i].ns;
	usage();
	return 0;
}

int
main(int argc, char **argv)
{
	gnet_events_t ev = { .size = sizeof(gnet_events_t), .on_boot = on_boot, .on_tick = on_tick,
	    .on_open = on_open, .on_close = on_close, .on_message = on_message,
	    .on_traffic = on_traffic, .on_backpressure = on_backpressure };
	gnet_options_t opt = { .size = sizeof(gnet_options_t) };
	const char *tick = "1s";
	int port = 9000;
	char addr[64];
	int i, rc;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
			port = flag_number(argv[++i], 0, 65535, usage);
		else if (strcmp(argv[i], "--multicore") == 0)
			opt.multicore = 1;
		else if (strcmp(argv[i], "--tick") == 0 && i + 1 < argc)
			tick = argv[++i];
		else if (strcmp(argv[i], "--bytes") == 0 && i + 1 < argc)
			line_bytes = (size_t)flag_number(argv[++i], 1,
			    MAX_LINE_BYTES, usage);
		else
			usage();
	}
	tick_ns = duration(tick);
	snprintf(addr, sizeof(addr), "tcp://127.0.0.1:%d", port);
	rc = gnet_engine_new(&engine, &ev, &opt, (void *)tick);
	if (rc == 0)
		rc = gnet_engine_listen(engine, addr);
	if (rc != 0) {
		fprintf(stderr, "push: %s: %s\n", addr, gnet_strerror(rc));
		gnet_engine_free(engine);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	rc = gnet_engine_run(engine);
	gnet_engine_free(engine);
	if (rc != 0) {
		fprintf(stderr, "push: %s\n", gnet_strerror(rc));
		return 1;
	}
	return 0;
}
