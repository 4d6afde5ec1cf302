/*
 * uds_echo -- the echo server on a Unix-domain socket.
 *
 * Shows that a Unix-socket connection is the same connection actor as a
 * TCP one: the handler below is echo's, only the address changes. The
 * engine removes a socket file left by a dead server before binding (a
 * live server's socket gives "Address already in use") and removes its
 * own file when it stops.
 *
 *   uds_echo [--sock PATH] [--multicore]
 *
 * Try it:  echo hello | socat - UNIX-CONNECT:gnet-echo.sock
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gnet.h>

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
	const char *path = udata;

	(void)eng;
	printf("uds_echo: listening on unix://%s\n", path);
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
	fprintf(stderr, "usage: uds_echo [--sock PATH] [--multicore]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	gnet_events_t ev = { .size = sizeof(gnet_events_t), .on_boot = on_boot, .on_traffic = on_traffic };
	gnet_options_t opt = { .size = sizeof(gnet_options_t) };
	const char *path = "gnet-echo.sock";
	char addr[256];
	int i, rc;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--sock") == 0 && i + 1 < argc)
			path = argv[++i];
		else if (strcmp(argv[i], "--multicore") == 0)
			opt.multicore = 1;
		else
			usage();
	}
	/* A path too long for sockaddr_un is reported by listen (GNET_EADDR);
	 * this only refuses what would not even fit the address string. */
	if (path[0] == '\0' ||
	    snprintf(addr, sizeof(addr), "unix://%s", path) >= (int)sizeof(addr))
		usage();
	rc = gnet_engine_new(&engine, &ev, &opt, (void *)path);
	if (rc == 0)
		rc = gnet_engine_listen(engine, addr);
	if (rc != 0) {
		fprintf(stderr, "uds_echo: %s: %s\n", addr, gnet_strerror(rc));
		gnet_engine_free(engine);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	rc = gnet_engine_run(engine);
	gnet_engine_free(engine);
	if (rc != 0) {
		fprintf(stderr, "uds_echo: %s\n", gnet_strerror(rc));
		return 1;
	}
	return 0;
}
