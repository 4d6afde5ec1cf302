/*
 * echo -- the smallest useful gnet server: every byte a client sends comes
 * straight back.
 *
 *   echo [--port N] [--multicore] [--loops N] [--reuseport]
 *
 * Try it:  echo hello | socat - TCP:127.0.0.1:9000
 */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gnet.h>
#include "flags.h"

static gnet_engine_t *engine;

static gnet_action_t
on_traffic(gnet_conn_t *c, void *udata)
{
	const void *data;
	size_t n = gnet_conn_peek(c, &data);

	(void)udata;
	gnet_conn_write(c, data, n);
	gnet_conn_discard(c, n);
	return GNET_NONE;
}

static gnet_action_t
on_boot(gnet_engine_t *eng, void *udata)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int port = 0;

	(void)udata;
	/* The bound port, so --port 0 (any free port) is useful too. */
	if (gnet_engine_addr(eng, 0, &ss, &len) == 0 && ss.ss_family == AF_INET)
		port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	printf("echo: listening on tcp://127.0.0.1:%d with %d loop(s)\n", port,
	    gnet_engine_num_loops(eng));
	fflush(stdout);
	return GNET_NONE;
}

static void
on_signal(int sig)
{
	(void)sig;
	/* gnet_engine_stop only stores a flag and writes an eventfd: both
	 * are async-signal-safe. */
	gnet_engine_stop(engine);
}

static void
usage(void)
{
	fprintf(stderr, "usage: echo [--port N] [--multicore] [--loops N] [--reuseport]\n");
	exit(2);
}

/* A decimal flag value in [min, max], or usage: "--loops abc" or
 * "--loops 1000" is a mistake to report, not a value to guess. */
int
main(int argc, char **argv)
{
	gnet_events_t ev = { .size = sizeof(gnet_events_t), .on_boot = on_boot, .on_traffic = on_traffic };
	gnet_options_t opt = { .size = sizeof(gnet_options_t) };
	int port = 9000;
	char addr[64];
	int i, rc;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
			port = flag_number(argv[++i], 0, 65535, usage);
		else if (strcmp(argv[i], "--multicore") == 0)
			opt.multicore = 1;
		else if (strcmp(argv[i], "--loops") == 0 && i + 1 < argc)
			opt.num_loops = flag_number(argv[++i], 1, GNET_MAX_LOOPS, usage);
		else if (strcmp(argv[i], "--reuseport") == 0)
			opt.reuseport = 1;
		else
			usage();
	}
	snprintf(addr, sizeof(addr), "tcp://127.0.0.1:%d", port);
	rc = gnet_engine_new(&engine, &ev, &opt, NULL);
	if (rc == 0)
		rc = gnet_engine_listen(engine, addr);
	if (rc != 0) {
		fprintf(stderr, "echo: %s: %s\n", addr, gnet_strerror(rc));
		gnet_engine_free(engine);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	rc = gnet_engine_run(engine);
	gnet_engine_free(engine);
	if (rc != 0) {
		fprintf(stderr, "echo: %s\n", gnet_strerror(rc));
		return 1;
	}
	return 0;
}
