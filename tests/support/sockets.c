/*
 * sockets.c -- sockets a test owns as the peer of the library's
 * connections (see sockets.h).
 */
#include "sockets.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "testnet.h"

/* How long the first connect of a full backlog may take to complete. */
#define FULL_BACKLOG_CONNECT_MS 5000

int
tn_tcp_bound(int backlog, int rcvbuf, int *port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof sin;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_msg(fd >= 0, "socket: %s", strerror(errno));
	if (rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_msg(bind(fd, (struct sockaddr *)&sin, sizeof sin) == 0,
	    "bind: %s", strerror(errno));
	ck_assert(getsockname(fd, (struct sockaddr *)&sin, &len) == 0);
	ck_assert_msg(backlog == 0 || listen(fd, backlog) == 0, "listen: %s",
	    strerror(errno));
	*port = ntohs(sin.sin_port);
	return fd;
}

int
tn_accept_within(int lfd, int timeout_ms)
{
	struct pollfd pfd = { .fd = lfd, .events = POLLIN };

	if (poll(&pfd, 1, timeout_ms) != 1)
		return -1;
	return accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
}

int
tn_sock_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return -1;
	return tn_addr_port(&ss);
}

void
tn_full_backlog_open(tn_full_backlog_t *fb)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof sin;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fb->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fb->lfd, 0);
	ck_assert_int_eq(bind(fb->lfd, (struct sockaddr *)&sin, sizeof sin), 0);
	ck_assert_int_eq(listen(fb->lfd, 0), 0);
	ck_assert_int_eq(getsockname(fb->lfd, (struct sockaddr *)&sin, &len), 0);
	fb->port = ntohs(sin.sin_port);
	for (int i = 0; i < TN_BACKLOG_FILL; i++) {
		fb->fill[i] = socket(AF_INET,
		    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		ck_assert_int_ge(fb->fill[i], 0);
		int rc = connect(fb->fill[i], (struct sockaddr *)&sin, sizeof sin);
		ck_assert(rc == 0 || errno == EINPROGRESS);
	}
	/* The first one completes (it sits in the accept queue). */
	struct pollfd pfd = { .fd = fb->fill[0], .events = POLLOUT };
	ck_assert_int_eq(poll(&pfd, 1, FULL_BACKLOG_CONNECT_MS), 1);
}

void
tn_full_backlog_close(tn_full_backlog_t *fb)
{
	for (int i = 0; i < TN_BACKLOG_FILL; i++)
		tn_close(&fb->fill[i]);
	tn_close(&fb->lfd);
}

int tn_port_free(int type, int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
	    .sin_port = htons((uint16_t)port),
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0), one = 1, ok;

	ck_assert_msg(fd >= 0, "socket: %s", strerror(errno));
	if (type == SOCK_STREAM)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ok = bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
	close(fd);
	return ok;
}
