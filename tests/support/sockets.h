/*
 * sockets.h -- plain sockets a test owns as the other end of a
 * connection the library makes: a port that refuses, a listener, a
 * listener whose backlog is full (connects to it never complete), and an
 * accept with a deadline.
 *
 * Everything is on 127.0.0.1 and close-on-exec. Calls that return a
 * socket fail the current test when they cannot make it.
 */
#ifndef TESTS_SUPPORT_SOCKETS_H
#define TESTS_SUPPORT_SOCKETS_H

/* A TCP socket bound to 127.0.0.1 on a free port, its port in *port.
 * backlog > 0: listening; 0: only bound, so connects are refused and no
 * one else can take the port while it is open. rcvbuf > 0: SO_RCVBUF is
 * set first, for accepted sockets to inherit. */
int tn_tcp_bound(int backlog, int rcvbuf, int *port);

/* Accept one connection within timeout_ms; -1 if none came. */
int tn_accept_within(int lfd, int timeout_ms);

/* The local port of a bound socket, or -1. */
int tn_sock_port(int fd);

/* Is 127.0.0.1:port free for a socket of `type` (SOCK_STREAM or
 * SOCK_DGRAM) -- nobody bound there? For TCP SO_REUSEADDR is set, so a
 * closed connection's TIME_WAIT does not count as bound; not for UDP,
 * where it would let the bind share a port gnet holds with it set. */
int tn_port_free(int type, int port);

/* A listener that never completes a connect: listen(fd, 0) with its
 * accept queue filled by connects nobody accepts, so the kernel drops
 * later SYNs. */
#define TN_BACKLOG_FILL 4               /* connects that fill a listen(fd, 0) */

typedef struct tn_full_backlog {
	int lfd, port;
	int fill[TN_BACKLOG_FILL];
} tn_full_backlog_t;

void tn_full_backlog_open(tn_full_backlog_t *fb);
void tn_full_backlog_close(tn_full_backlog_t *fb);

#endif
