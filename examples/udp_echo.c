/*
 * udp_echo -- every datagram comes back to its sender.
 *
 * Shows a UDP listener: each datagram is one on_traffic call on the
 * socket's connection object, gnet_conn_write replies to that datagram's
 * sender, and replies are sent in batches (sendmmsg) at the end of the loop
 * iteration. Without --reuseport one loop serves the socket whatever the
 * number of loops; with it every loop has its own SO_REUSEPORT socket on
 * the port and the kernel spreads the senders over them.
 *
 *   udp_echo [--port N] [--multicore] [--loops N] [--reuseport]
 *
 * Try it:  echo hello | socat -t1 - UDP:127.0.0.1:9000
 * (--port 0 lets the kernel pick a free port; the listening line names it.)
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
	/* On a UDP socket the view is exactly one datagram and the write
	 * goes back to whoever sent it. An empty datagram is echoed too. */
	gnet_conn_write(c, data, n);
	return GNET_NONE;
}

static gnet_action_t
on_boot(gnet_engine_t *eng, void *udata)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	(void)udata;
	/* The bound port, not the flag: --port 0 picks a free one. */
	if (gnet_engine_addr(eng, 0, &ss, &len) != 0 || ss.ss_family != AF_INET)
		return GNET_SHUTDOWN;
	printf("udp_echo: listening on udp://127.0.0.1:%d (%d loops)\n",
	    ntohs(((struct sockaddr_in *)&ss)->sin_port),
	    gnet_engine_num_loops(eng));
	fflush(stdout);
	return GNET_NONE;
}

static void
on_signal(int sig)
{
	(void)sig;
	/* gnet_engine_stop only stores a flag and writes eventfds: both
	 * are async-signal-safe. */
	gnet_engine_stop(engine);
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: udp_echo [--port N] [--multicore] [--loops N] [--reuseport]\n");
	exit(2);
}

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
			opt.num_loops = flag_number(argv[++i], 0, GNET_MAX_LOOPS, usage);
		else if (strcmp(argv[i], "--reuseport") == 0)
			opt.reuseport = 1;
		else
			usage();
	}
	snprintf(addr, sizeof(addr), "udp://127.0.0.1:%d", port);
	rc = gnet_engine_new(&engine, &ev, &opt, NULL);
	if (rc == 0)
		rc = gnet_engine_listen(engine, addr);
	if (rc != 0) {
		fprintf(stderr, "udp_echo: %s: %s\n", addr, gnet_strerror(rc));
		gnet_engine_free(engine);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	rc = gnet_engine_run(engine);
	gnet_engine_free(engine);
	if (rc != 0) {
		fprintf(stderr, "udp_echo: %s\n", gnet_strerror(rc));
		return 1;
	}
	return 0;
}
