/*
 * http_client.c -- a raw HTTP/1.1 client for the http example (see
 * http_client.h).
 */
#include "http_client.h"

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "testnet.h"

/* Parse one response off the front of the buffer, reading as needed.
 * Returns its status code and checks a 200's headers and body; 0 on EOF
 * or timeout. */
int
read_response(http_reader_t *r, int timeout_ms)
{
	int64_t deadline = tn_now_ms() + timeout_ms;

	for (;;) {
		char *end = memmem(r->buf, r->len, "\r\n\r\n", 4);
		if (end != NULL) {
			size_t hlen = (size_t)(end - r->buf) + 4, blen = 0;
			char *cl = NULL, *p;
			int code = 0;
			ck_assert_msg(sscanf(r->buf, "HTTP/1.1 %d ", &code) == 1,
			    "bad status line: \"%.40s\"", r->buf);
			for (p = r->buf; p < end; p = strstr(p, "\r\n") + 2)
				if (strncasecmp(p, "Content-Length:", 15) == 0)
					cl = p + 15;
			ck_assert_msg(cl != NULL, "response without Content-Length");
			blen = strtoul(cl, NULL, 10);
			if (r->len >= hlen + blen) {
				if (code == 200) {
					ck_assert_msg(blen == strlen(HTTP_HELLO) &&
					    memcmp(r->buf + hlen, HTTP_HELLO, blen) == 0,
					    "body \"%.*s\"", (int)blen, r->buf + hlen);
					/* "Date: Wed, 25 Nov 2026 11:48:24 GMT\r\n" */
					p = memmem(r->buf, hlen, "\r\nDate: ", 8);
					ck_assert_msg(p != NULL && p[8 + 29] == '\r' &&
					    memcmp(p + 8 + 25, " GMT", 4) == 0,
					    "bad or no Date header in \"%.*s\"", (int)hlen,
					    r->buf);
					ck_assert_msg(memmem(r->buf, hlen,
					    "\r\nServer: gnet\r\n", 16) != NULL,
					    "no Server header");
				}
				r->len -= hlen + blen;
				memmove(r->buf, r->buf + hlen + blen, r->len);
				r->buf[r->len] = '\0';
				return code;
			}
		}
		ck_assert_msg(r->len < sizeof r->buf, "response too long");
		int64_t left = deadline - tn_now_ms();
		if (left <= 0)
			return 0;
		struct pollfd pfd = { .fd = r->fd, .events = POLLIN };
		poll(&pfd, 1, left > 100 ? 100 : (int)left);
		ssize_t n = recv(r->fd, r->buf + r->len, sizeof r->buf - 1 - r->len,
		    MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return 0;
		if (n > 0) {
			r->len += (size_t)n;
			r->buf[r->len] = '\0'; /* for sscanf/strstr above */
		}
	}
}

/* The value of header `name` in the head [p, end), cut to cap - 1 bytes:
 * 1, or 0 (out "") when it is not there. */
static int
header_copy(const char *p, const char *end, const char *name, char *out,
    size_t cap)
{
	size_t nlen = strlen(name);

	out[0] = '\0';
	for (; p < end; p = strstr(p, "\r\n") + 2) {
		const char *v, *e;
		if (strncasecmp(p, name, nlen) != 0 || p[nlen] != ':')
			continue;
		v = p + nlen + 1;
		while (*v == ' ')
			v++;
		e = strstr(v, "\r\n");
		snprintf(out, cap, "%.*s", (int)(e - v), v);
		return 1;
	}
	return 0;
}

/* Wait (bounded) for more bytes into the buffer: 1, or 0 on EOF, error
 * or the deadline. */
static int
read_more(http_reader_t *r, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - tn_now_ms();
		ssize_t n;
		if (left <= 0)
			return 0;
		ck_assert_msg(r->len < sizeof r->buf - 1, "response too long");
		struct pollfd pfd = { .fd = r->fd, .events = POLLIN };
		poll(&pfd, 1, left > 100 ? 100 : (int)left);
		n = recv(r->fd, r->buf + r->len, sizeof r->buf - 1 - r->len,
		    MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return 0;
		if (n > 0) {
			r->len += (size_t)n;
			r->buf[r->len] = '\0';
			return 1;
		}
	}
}

int
http_read_reply(http_reader_t *r, int head, http_reply_t *out,
    int timeout_ms)
{
	int64_t deadline = tn_now_ms() + timeout_ms;
	char *end, cl[32];
	size_t hlen, blen;

	memset(out, 0, sizeof *out);
	r->buf[r->len] = '\0';
	while ((end = memmem(r->buf, r->len, "\r\n\r\n", 4)) == NULL)
		if (!read_more(r, deadline))
			return 0;
	hlen = (size_t)(end - r->buf) + 4;
	ck_assert_msg(sscanf(r->buf, "HTTP/1.1 %d ", &out->status) == 1,
	    "bad status line: \"%.40s\"", r->buf);
	end += 2; /* keep the last header's CRLF in the scanned range */
	out->has_length = header_copy(r->buf, end, "Content-Length", cl,
	    sizeof cl);
	out->content_length = strtoul(cl, NULL, 10);
	header_copy(r->buf, end, "Content-Type", out->content_type,
	    sizeof out->content_type);
	header_copy(r->buf, end, "Connection", out->connection,
	    sizeof out->connection);
	header_copy(r->buf, end, "Server", out->server, sizeof out->server);
	header_copy(r->buf, end, "Date", out->date, sizeof out->date);
	header_copy(r->buf, end, "Allow", out->allow, sizeof out->allow);
	blen = 0;
	if (!head && out->status >= 200) {
		ck_assert_msg(out->has_length, "status %d without "
		    "Content-Length", out->status);
		blen = out->content_length;
	}
	while (r->len < hlen + blen)
		if (!read_more(r, deadline))
			return 0;
	out->body_len = blen;
	snprintf(out->body, sizeof out->body, "%.*s", (int)blen, r->buf + hlen);
	r->len -= hlen + blen;
	memmove(r->buf, r->buf + hlen + blen, r->len);
	r->buf[r->len] = '\0';
	return 1;
}

/* Expect `n` responses with status 200, then prove there was no extra one:
 * a malformed request must get the very next response, a 400, then EOF. */
void
expect_200s_then_end(http_reader_t *r, int n, const char *what)
{
	for (int i = 0; i < n; i++) {
		int code = read_response(r, HTTP_IO_MS);
		ck_assert_msg(code == 200, "%s: response %d of %d: status %d", what,
		    i + 1, n, code);
	}
	ck_assert_uint_eq(tn_send_all(r->fd, "BAD\r\n\r\n", 7, HTTP_IO_MS), 7);
	int code = read_response(r, HTTP_IO_MS);
	ck_assert_msg(code == 400, "%s: after %d responses got status %d, want "
	    "the 400 of the probe", what, n, code);
	ck_assert_msg(r->len == 0, "%s: %zu bytes after the last response", what,
	    r->len);
	ck_assert_msg(tn_wait_eof(r->fd, HTTP_IO_MS, NULL) == 1,
	    "%s: no EOF after the 400", what);
}

http_reader_t *
http_open(int port)
{
	http_reader_t *r = calloc(1, sizeof *r);
	ck_assert_ptr_nonnull(r);
	r->fd = tn_connect(port);
	ck_assert_msg(r->fd >= 0, "connect: %s", strerror(errno));
	return r;
}

void
http_close(http_reader_t *r)
{
	tn_close(&r->fd);
	free(r);
}

void
http_send(http_reader_t *r, const void *p, size_t n)
{
	ck_assert_uint_eq(tn_send_all(r->fd, p, n, HTTP_IO_MS), n);
}

