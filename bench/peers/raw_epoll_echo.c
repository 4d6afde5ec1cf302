/*
 * raw_epoll_echo -- the floor for the echo benchmark: a plain,
 * single-threaded, level-triggered epoll loop with no framework at all.
 *
 * Each readable connection gets one read into a shared 64 KiB buffer and
 * the bytes are written straight back. Whatever the socket does not take
 * is kept for that connection; while anything is pending the connection
 * waits for EPOLLOUT only (no reading: that is the backpressure), and goes
 * back to EPOLLIN once it is flushed. An idle connection costs a 16-byte
 * slot in a table indexed by fd.
 *
 *   raw_epoll_echo [--port N]
 */
#include "peer.h"
#include <stdint.h>
#include <sys/epoll.h>

#define READ_BUF (64 * 1024)
#define MAX_EVENTS 256

typedef struct conn {
	char *pend;     /* unsent echo bytes, or NULL */
	uint32_t off;   /* first unsent byte in pend */
	uint32_t len;   /* bytes in pend */
} conn_t;

static int ep;
static conn_t *conns;   /* indexed by fd */
static size_t nconns;
static char buf[READ_BUF];

static conn_t *
conn_slot(int fd)
{
	if ((size_t)fd >= nconns) {
		size_t n = nconns ? nconns : 1024;
		while (n <= (size_t)fd)
			n *= 2;
		conns = realloc(conns, n * sizeof(*conns));
		if (conns == NULL) {
			perror("realloc");
			exit(1);
		}
		memset(conns + nconns, 0, (n - nconns) * sizeof(*conns));
		nconns = n;
	}
	return &conns[fd];
}

static void
set_events(int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };

	epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
}

static void
conn_close(int fd)
{
	conn_t *c = &conns[fd];

	free(c->pend);
	c->pend = NULL;
	c->off = c->len = 0;
	close(fd); /* also leaves the epoll set */
}

static void
accept_all(int lfd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event ev = { .events = EPOLLIN };

		if (fd < 0)
			return; /* EAGAIN, or a transient error: retried on the next event */
		peer_nodelay(fd);
		conn_slot(fd);
		ev.data.fd = fd;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0)
			close(fd);
	}
}

/* Writes what is pending; back to reading once it is all gone. */
static void
on_writable(int fd)
{
	conn_t *c = &conns[fd];
	ssize_t w = write(fd, c->pend + c->off, c->len - c->off);

	if (w < 0) {
		if (errno != EAGAIN)
			conn_close(fd);
		return;
	}
	c->off += (uint32_t)w;
	if (c->off == c->len) {
		free(c->pend);
		c->pend = NULL;
		c->off = c->len = 0;
		set_events(fd, EPOLLIN);
	}
}

static void
on_readable(int fd)
{
	conn_t *c = &conns[fd];
	ssize_t r = read(fd, buf, sizeof(buf)), w;

	if (r <= 0) {
		if (r == 0 || errno != EAGAIN)
			conn_close(fd);
		return;
	}
	w = write(fd, buf, (size_t)r);
	if (w < 0) {
		if (errno != EAGAIN) {
			conn_close(fd);
			return;
		}
		w = 0;
	}
	if (w < r) {
		c->len = (uint32_t)(r - w);
		c->off = 0;
		c->pend = malloc(c->len);
		if (c->pend == NULL) {
			conn_close(fd);
			return;
		}
		memcpy(c->pend, buf + w, c->len);
		set_events(fd, EPOLLOUT);
	}
}

int
main(int argc, char **argv)
{
	struct epoll_event evs[MAX_EVENTS], ev = { .events = EPOLLIN };
	int port = peer_port(argc, argv, "raw_epoll_echo");
	int lfd, n, i;

	peer_signals();
	lfd = peer_bind(SOCK_STREAM, port);
	ep = epoll_create1(EPOLL_CLOEXEC);
	ev.data.fd = lfd;
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) != 0) {
		perror("epoll");
		return 1;
	}
	peer_announce("raw_epoll_echo", "tcp", lfd);
	for (;;) {
		n = epoll_wait(ep, evs, MAX_EVENTS, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("epoll_wait");
			return 1;
		}
		for (i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (fd == lfd)
				accept_all(lfd);
			else if (conns[fd].pend != NULL)
				on_writable(fd);
			else
				on_readable(fd);
		}
	}
}
