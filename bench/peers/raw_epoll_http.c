/*
 * raw_epoll_http -- the floor for the HTTP plaintext benchmark: a plain,
 * single-threaded, level-triggered epoll loop that answers every request
 * with the same bytes gnet's examples/http.c sends ("Hello, World!" with
 * Server, Content-Type, Date and Content-Length headers).
 *
 * A request is whatever ends with "\r\n\r\n" (wrk sends no bodies). Each
 * read is scanned for complete requests, one canned answer is appended per
 * request, and the whole batch goes out in one write. A partial request
 * is kept for the connection until the rest arrives; unsent answers are
 * kept like the echo floor keeps its bytes (EPOLLOUT only while pending).
 * The Date header is formatted at most once per second.
 *
 *   raw_epoll_http [--port N]
 */
#include "peer.h"
#include <stdint.h>
#include <sys/epoll.h>
#include <time.h>

#define READ_BUF (64 * 1024)
#define MAX_HEADER (8 * 1024)
/* Room for an answer to every request one buffer can hold (the shortest
 * request is its "\r\n\r\n"), so a batch never needs two writes. */
#define OUT_BUF (((MAX_HEADER + READ_BUF) / 4 + 1) * 256)
#define MAX_EVENTS 256

typedef struct conn {
	char *part;      /* start of a request not yet complete, or NULL */
	size_t part_len;
	char *pend;      /* unsent answers, or NULL */
	size_t off, len;
} conn_t;

static int ep;
static conn_t *conns;    /* indexed by fd */
static size_t nconns;
static char in_buf[MAX_HEADER + READ_BUF];
static char out_buf[OUT_BUF];

/* The canned answer, rebuilt when the second changes. */
static char answer[256];
static size_t answer_len;
static time_t answer_sec = -1;

static void
refresh_answer(void)
{
	time_t now = time(NULL);
	char date[40];
	struct tm tm;
	int n;

	if (now == answer_sec)
		return;
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	n = snprintf(answer, sizeof(answer), "HTTP/1.1 200 OK\r\nServer: gnet\r\n"
	    "Content-Type: text/plain\r\nDate: %s\r\nContent-Length: 13\r\n\r\n"
	    "Hello, World!", date);
	answer_len = (size_t)n;
	answer_sec = now;
}

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

	free(c->part);
	free(c->pend);
	memset(c, 0, sizeof(*c));
	close(fd);
}

static void
accept_all(int lfd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event ev = { .events = EPOLLIN };

		if (fd < 0)
			return;
		peer_nodelay(fd);
		conn_slot(fd);
		ev.data.fd = fd;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0)
			close(fd);
	}
}

/* Writes out[0..n) now; keeps what the socket does not take. Returns -1
 * when the connection was closed. */
static int
send_out(int fd, const char *out, size_t n)
{
	conn_t *c = &conns[fd];
	ssize_t w = write(fd, out, n);

	if (w < 0) {
		if (errno != EAGAIN) {
			conn_close(fd);
			return -1;
		}
		w = 0;
	}
	if ((size_t)w < n) {
		c->len = n - (size_t)w;
		c->off = 0;
		c->pend = malloc(c->len);
		if (c->pend == NULL) {
			conn_close(fd);
			return -1;
		}
		memcpy(c->pend, out + w, c->len);
		set_events(fd, EPOLLOUT);
	}
	return 0;
}

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
	c->off += (size_t)w;
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
	size_t have = c->part_len, off = 0, out = 0;
	ssize_t r;
	char *end;

	/* A kept partial request goes first, then the new bytes after it. */
	if (have != 0)
		memcpy(in_buf, c->part, have);
	r = read(fd, in_buf + have, READ_BUF);
	if (r <= 0) {
		if (r == 0 || errno != EAGAIN)
			conn_close(fd);
		return;
	}
	have += (size_t)r;
	refresh_answer();
	while ((end = memmem(in_buf + off, have - off, "\r\n\r\n", 4)) != NULL) {
		off = (size_t)(end - in_buf) + 4;
		memcpy(out_buf + out, answer, answer_len);
		out += answer_len;
	}
	/* Keep the unanswered rest (a partial request, in practice). */
	free(c->part);
	c->part = NULL;
	c->part_len = have - off;
	if (c->part_len > MAX_HEADER) {
		conn_close(fd);
		return;
	}
	if (c->part_len != 0) {
		c->part = malloc(c->part_len);
		if (c->part == NULL) {
			conn_close(fd);
			return;
		}
		memcpy(c->part, in_buf + off, c->part_len);
	}
	if (out != 0)
		send_out(fd, out_buf, out);
}

int
main(int argc, char **argv)
{
	struct epoll_event evs[MAX_EVENTS], ev = { .events = EPOLLIN };
	int port = peer_port(argc, argv, "raw_epoll_http");
	int lfd, n, i;

	peer_signals();
	lfd = peer_bind(SOCK_STREAM, port);
	ep = epoll_create1(EPOLL_CLOEXEC);
	ev.data.fd = lfd;
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) != 0) {
		perror("epoll");
		return 1;
	}
	peer_announce("raw_epoll_http", "tcp", lfd);
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
