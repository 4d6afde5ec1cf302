/*
 * libuv_echo -- the libuv peer for the echo benchmark, single loop, written
 * the way a libuv user would: uv_listen, uv_read_start, and for each read
 * uv_try_write first (no copy, no request when the socket takes it all),
 * then uv_write for the remainder, copied into a request that the write
 * callback frees. Reading stops while such a write is in flight (the
 * backpressure) and resumes in its callback.
 *
 * Reads land in one 64 KiB buffer owned by the loop: libuv reads only one
 * stream at a time, so the buffer is free again as soon as read_cb
 * returns, and the per-read malloc of the textbook example is avoided.
 *
 *   libuv_echo [--port N]
 */
#include "peer.h"
#include <uv.h>

#define READ_BUF (64 * 1024)

typedef struct wreq {
	uv_write_t req;
	uv_buf_t buf;
	char data[];
} wreq_t;

static uv_loop_t *loop;
static char read_buf[READ_BUF];

static void
on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)h;
	(void)suggested;
	*buf = uv_buf_init(read_buf, sizeof(read_buf));
}

static void
on_closed(uv_handle_t *h)
{
	free(h);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);

static void
on_written(uv_write_t *req, int status)
{
	uv_stream_t *s = req->handle;

	free(req);
	if (status != 0) {
		if (!uv_is_closing((uv_handle_t *)s))
			uv_close((uv_handle_t *)s, on_closed);
		return;
	}
	uv_read_start(s, on_alloc, on_read);
}

static void
on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	uv_buf_t b;
	wreq_t *w;
	int sent;

	if (n < 0) {
		uv_close((uv_handle_t *)s, on_closed);
		return;
	}
	if (n == 0)
		return; /* EAGAIN */
	b = uv_buf_init(buf->base, (unsigned int)n);
	sent = uv_try_write(s, &b, 1);
	if (sent == UV_EAGAIN)
		sent = 0;
	if (sent < 0) {
		uv_close((uv_handle_t *)s, on_closed);
		return;
	}
	if (sent == n)
		return;
	w = malloc(sizeof(*w) + (size_t)(n - sent));
	if (w == NULL) {
		uv_close((uv_handle_t *)s, on_closed);
		return;
	}
	memcpy(w->data, buf->base + sent, (size_t)(n - sent));
	w->buf = uv_buf_init(w->data, (unsigned int)(n - sent));
	uv_read_stop(s);
	if (uv_write(&w->req, s, &w->buf, 1, on_written) != 0) {
		free(w);
		uv_close((uv_handle_t *)s, on_closed);
	}
}

static void
on_connection(uv_stream_t *server, int status)
{
	uv_tcp_t *c;

	if (status != 0)
		return;
	c = malloc(sizeof(*c));
	if (c == NULL)
		return;
	uv_tcp_init(loop, c);
	if (uv_accept(server, (uv_stream_t *)c) != 0) {
		uv_close((uv_handle_t *)c, on_closed);
		return;
	}
	uv_tcp_nodelay(c, 1);
	uv_read_start((uv_stream_t *)c, on_alloc, on_read);
}

int
main(int argc, char **argv)
{
	int port = peer_port(argc, argv, "libuv_echo");
	struct sockaddr_in sin;
	uv_tcp_t server;
	uv_os_fd_t fd;
	int rc;

	peer_signals();
	loop = uv_default_loop();
	uv_tcp_init(loop, &server);
	uv_ip4_addr("127.0.0.1", port, &sin);
	rc = uv_tcp_bind(&server, (const struct sockaddr *)&sin, 0);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&server, PEER_BACKLOG, on_connection);
	if (rc != 0) {
		fprintf(stderr, "libuv_echo: 127.0.0.1:%d: %s\n", port, uv_strerror(rc));
		return 1;
	}
	uv_fileno((uv_handle_t *)&server, &fd);
	peer_announce("libuv_echo", "tcp", fd);
	return uv_run(loop, UV_RUN_DEFAULT);
}
