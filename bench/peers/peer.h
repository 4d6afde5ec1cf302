/*
 * peer.h -- the few lines every benchmark peer server shares: the --port
 * flag, the "listening" line the runner waits for, SIGTERM handling and
 * (for the raw loops) a non-blocking TCP listener configured like gnet's
 * (SO_REUSEADDR, backlog 1024, TCP_NODELAY on accepted sockets).
 *
 * Header-only on purpose: each peer is one translation unit built with
 * `cc -O2 peer.c`, and the helpers are small enough to be static.
 */
#ifndef BENCH_PEER_H
#define BENCH_PEER_H

/* Included first by every peer: accept4, memmem, sigaction. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PEER_BACKLOG 1024 /* gnet's default */

/* The --port value (the only flag); exits with usage on anything else. */
static inline int
peer_port(int argc, char **argv, const char *name)
{
	int port = 9000;
	char *end;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
			long v = strtol(argv[++i], &end, 10);
			if (*end != '\0' || v < 0 || v > 65535)
				goto usage;
			port = (int)v;
		} else {
			goto usage;
		}
	}
	return port;
usage:
	fprintf(stderr, "usage: %s [--port N]\n", name);
	exit(2);
}

/* SIGTERM and SIGINT end the process at once with status 0: a peer has no
 * state worth flushing, and _exit is async-signal-safe. */
static void
peer_on_signal(int sig)
{
	(void)sig;
	_exit(0);
}

static inline void
peer_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = peer_on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* "<name>: listening on <scheme>://127.0.0.1:PORT", with the port the
 * socket is really bound to (so --port 0 works). */
static inline void
peer_announce(const char *name, const char *scheme, int fd)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	if (getsockname(fd, (struct sockaddr *)&sin, &len) != 0) {
		perror("getsockname");
		exit(1);
	}
	printf("%s: listening on %s://127.0.0.1:%d\n", name, scheme,
	    ntohs(sin.sin_port));
	fflush(stdout);
}

/* A bound socket of `type` on 127.0.0.1:port, non-blocking; a stream
 * socket is also listening. Exits on failure. */
static inline int
peer_bind(int type, int port)
{
	struct sockaddr_in sin;
	int one = 1;
	int fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		perror("socket");
		exit(1);
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    (type == SOCK_STREAM && listen(fd, PEER_BACKLOG) != 0)) {
		fprintf(stderr, "bind 127.0.0.1:%d: %s\n", port, strerror(errno));
		exit(1);
	}
	return fd;
}

static inline void
peer_nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

#endif
