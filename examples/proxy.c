/*
 * proxy -- a TCP proxy: every accepted connection gets its own backend
 * connection, dialled on the same loop, and bytes flow both ways with plain
 * function calls (no messages, no locks).
 *
 * Shows gnet_engine_dial from a callback (opts.loop = -1: the backend stays on the
 * client's loop and its handle is known at once), gnet_conn_lookup to get
 * from a handle to the peer connection, gnet_conn_set_reading to hold a
 * client until its backend is open and to carry backpressure across the
 * pair (a side whose outbound buffer passed its high watermark stops the
 * other side from reading), and close propagation: either side closing
 * closes the other gracefully, after its pending bytes are flushed.
 *
 *   proxy [--port N] --backend HOST:PORT|tcp://HOST:PORT|unix://PATH
 *         [--multicore] [--loops N]
 *
 * Try it:  ./echo --port 9000 &
 *          ./proxy --port 9001 --backend 127.0.0.1:9000 &
 *          echo hello | socat - TCP:127.0.0.1:9001
 */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gnet.h>
#include "flags.h"

/* One client and its backend. Both are on the same loop, so this state
 * is only ever touched by that loop's thread. Each connection's context
 * points here; the peer's handle is the other field. */
typedef struct link {
	gnet_handle_t client, backend;
	int refs;             /* connections (or the dial) still using it */
	int backend_open;
	int client_held;      /* client not read until the backend opens */
	int client_blocked;   /* backend's outbound over its high watermark */
	int backend_blocked;  /* client's outbound over its high watermark */
} link_t;

/* Watermarks set explicitly, so the proxy's memory bound is visible here:
 * at most about HIGH_WATERMARK + one read buffered per direction. */
#define HIGH_WATERMARK ((size_t)1 << 20)
#define LOW_WATERMARK ((size_t)256 << 10)

static gnet_engine_t *engine;
static char backend_addr[512];

static void
unref(link_t *l)
{
	if (--l->refs == 0)
		free(l);
}

static gnet_handle_t
peer_of(gnet_conn_t *c, const link_t *l)
{
	return gnet_conn_is_outbound(c) ? l->client : l->backend;
}

/* The peer connection, or NULL when it is gone (or not dialled). */
static gnet_conn_t *
peer(gnet_conn_t *c, const link_t *l)
{
	gnet_conn_t *p = NULL;
	gnet_handle_t h = peer_of(c, l);

	if (h == GNET_HANDLE_NONE ||
	    gnet_conn_lookup(gnet_conn_engine(c), h, &p) != 0)
		return NULL;
	return p;
}

static void
sync_client_reading(gnet_conn_t *client, const link_t *l)
{
	gnet_conn_set_reading(client, !l->client_held && !l->client_blocked);
}

static gnet_action_t
on_open(gnet_conn_t *c, void *udata)
{
	link_t *l;
	gnet_conn_t *client;
	int rc;

	(void)udata;
	if (gnet_conn_is_outbound(c)) {
		/* The backend is up: let the client's held bytes through.
		 * The wake runs the client's on_traffic over what it kept
		 * buffered while it was not read. */
		l = gnet_conn_context(c);
		l->backend_open = 1;
		client = peer(c, l);
		if (client == NULL)
			return GNET_CLOSE;
		l->client_held = 0;
		sync_client_reading(client, l);
		gnet_conn_wake_async(gnet_conn_engine(c), l->client);
		return GNET_NONE;
	}
	l = calloc(1, sizeof(*l));
	if (l == NULL)
		return GNET_CLOSE;
	l->client = gnet_conn_handle(c);
	l->refs = 1;
	gnet_conn_set_context(c, l);
	/* Dialled on a loop with loop -1: the backend lives on this loop and
	 * its handle is known now. */
	gnet_dial_options_t o = { .size = sizeof(gnet_dial_options_t), .loop = -1, .ctx = l };
	rc = gnet_engine_dial(gnet_conn_engine(c), backend_addr, &o, &l->backend);
	if (rc != 0) {
		fprintf(stderr, "proxy: %s: %s\n", backend_addr, gnet_strerror(rc));
		l->backend = GNET_HANDLE_NONE;
		return GNET_CLOSE;
	}
	l->refs++;
	return GNET_NONE;
}

static gnet_action_t
on_traffic(gnet_conn_t *c, void *udata)
{
	link_t *l = gnet_conn_context(c);
	const void *data;
	size_t n = gnet_conn_peek(c, &data);
	gnet_conn_t *p;

	(void)udata;
	if (!gnet_conn_is_outbound(c) && !l->backend_open) {
		/* Keep the bytes where they are (bounded by what one read
		 * brings) and stop reading until the backend opens. The
		 * alternative, gnet_conn_write_async to the connecting backend's
		 * handle (writes before open are kept), would copy every
		 * read into a message with nothing bounding it if the
		 * backend is slow to answer. */
		l->client_held = 1;
		sync_client_reading(c, l);
		return GNET_NONE;
	}
	p = peer(c, l);
	if (p == NULL || gnet_conn_write(p, data, n) < 0) {
		/* The peer is closing: its on_close closes this side too. */
		gnet_conn_discard(c, n);
		return GNET_CLOSE;
	}
	gnet_conn_discard(c, n);
	return GNET_NONE;
}

/* c's outbound buffer went over (paused = 1) or back under (0) its
 * watermarks: the other side, which fills it, stops or resumes reading. */
static void
on_backpressure(gnet_conn_t *c, int paused, void *udata)
{
	link_t *l = gnet_conn_context(c);
	gnet_conn_t *p = peer(c, l);

	(void)udata;
	if (gnet_conn_is_outbound(c)) {
		l->client_blocked = paused;
		if (p != NULL)
			sync_client_reading(p, l);
	} else {
		l->backend_blocked = paused;
		if (p != NULL)
			gnet_conn_set_reading(p, !paused);
	}
}

static void
on_close(gnet_conn_t *c, int reason, void *udata)
{
	link_t *l = gnet_conn_context(c);
	gnet_conn_t *p = peer(c, l);

	(void)reason;
	(void)udata;
	/* Graceful: the peer still flushes what it was given. A backend
	 * still connecting ends with on_dial_error. */
	if (p != NULL)
		gnet_conn_close(p);
	if (gnet_conn_is_outbound(c))
		l->backend = GNET_HANDLE_NONE;
	else
		l->client = GNET_HANDLE_NONE;
	unref(l);
}

static void
on_dial_error(gnet_engine_t *eng, gnet_handle_t h, void *ctx, int err,
    void *udata)
{
	link_t *l = ctx;
	gnet_conn_t *client = NULL;

	(void)h;
	(void)udata;
	l->backend = GNET_HANDLE_NONE;
	if (err != GNET_ESHUTDOWN && err != GNET_ECLOSED)
		fprintf(stderr, "proxy: %s: %s\n", backend_addr, gnet_strerror(err));
	if (l->client != GNET_HANDLE_NONE &&
	    gnet_conn_lookup(eng, l->client, &client) == 0)
		gnet_conn_close(client);
	unref(l);
}

static gnet_action_t
on_boot(gnet_engine_t *eng, void *udata)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	(void)udata;
	if (gnet_engine_addr(eng, 0, &ss, &len) != 0 || ss.ss_family != AF_INET)
		return GNET_SHUTDOWN;
	printf("proxy: listening on tcp://127.0.0.1:%d -> %s (%d loops)\n",
	    ntohs(((struct sockaddr_in *)&ss)->sin_port), backend_addr,
	    gnet_engine_num_loops(eng));
	fflush(stdout);
	return GNET_NONE;
}

static void
on_signal(int sig)
{
	(void)sig;
	gnet_engine_stop(engine);
}

static void
usage(void)
{
	fprintf(stderr, "usage: proxy [--port N] --backend HOST:PORT|tcp://HOST:PORT"
	    "|unix://PATH [--multicore] [--loops N]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	gnet_events_t ev = { .size = sizeof(gnet_events_t), .on_boot = on_boot, .on_open = on_open,
		.on_traffic = on_traffic, .on_close = on_close,
		.on_backpressure = on_backpressure,
		.on_dial_error = on_dial_error };
	gnet_options_t opt = { .size = sizeof(gnet_options_t), .write_high_watermark = HIGH_WATERMARK,
		.write_low_watermark = LOW_WATERMARK };
	const char *backend = NULL;
	int port = 9001, rc, k;
	char addr[64];

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
			port = flag_number(argv[++i], 0, 65535, usage);
		else if (strcmp(argv[i], "--backend") == 0 && i + 1 < argc)
			backend = argv[++i];
		else if (strcmp(argv[i], "--multicore") == 0)
			opt.multicore = 1;
		else if (strcmp(argv[i], "--loops") == 0 && i + 1 < argc)
			opt.num_loops = flag_number(argv[++i], 0, GNET_MAX_LOOPS, usage);
		else
			usage();
	}
	if (backend == NULL || *backend == '\0')
		usage();
	/* HOST:PORT means tcp://HOST:PORT. */
	k = snprintf(backend_addr, sizeof backend_addr, "%s%s",
	    strstr(backend, "://") != NULL ? "" : "tcp://", backend);
	if (k < 0 || (size_t)k >= sizeof backend_addr)
		usage();
	/* A backend that can never be dialled is refused now, before the
	 * proxy listens, not found out by every client it accepts. */
	rc = gnet_addr_check(backend_addr);
	if (rc != 0) {
		fprintf(stderr, "proxy: --backend %s: %s\n", backend,
		    gnet_strerror(rc));
		usage();
	}
	snprintf(addr, sizeof(addr), "tcp://127.0.0.1:%d", port);
	rc = gnet_engine_new(&engine, &ev, &opt, NULL);
	if (rc == 0)
		rc = gnet_engine_listen(engine, addr);
	if (rc != 0) {
		fprintf(stderr, "proxy: %s: %s\n", addr, gnet_strerror(rc));
		gnet_engine_free(engine);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	rc = gnet_engine_run(engine);
	gnet_engine_free(engine);
	if (rc != 0) {
		fprintf(stderr, "proxy: %s\n", gnet_strerror(rc));
		return 1;
	}
	return 0;
}
