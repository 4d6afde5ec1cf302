/*
 * http_client.h -- a raw HTTP/1.1 client for the http example: responses
 * are framed by their Content-Length, and every 200 must carry the
 * example's body (HTTP_HELLO), a well-formed Date and "Server: gnet".
 *
 * Each call fails the current test on a malformed response; a deadline
 * bounds every wait.
 */
#ifndef TESTS_SUPPORT_HTTP_CLIENT_H
#define TESTS_SUPPORT_HTTP_CLIENT_H

#include <stddef.h>

#define HTTP_HELLO "Hello, World!"
#define HTTP_GET_REQ "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: check\r\n\r\n"
#define HTTP_IO_MS 10000        /* one request and its response */

typedef struct http_reader {
	int fd;
	size_t len;
	char buf[256 * 1024];
} http_reader_t;

/* A connection to 127.0.0.1:port with an empty response buffer. */
http_reader_t *http_open(int port);
void http_close(http_reader_t *r);
void http_send(http_reader_t *r, const void *p, size_t n);
/* Take one response off the front of the buffer, reading as needed:
 * its status code, or 0 on EOF or timeout. */
int read_response(http_reader_t *r, int timeout_ms);
/* Expect `n` responses with status 200, then prove there was no extra
 * one: a malformed request must get the very next response, a 400, then
 * EOF. */
void expect_200s_then_end(http_reader_t *r, int n, const char *what);

#endif
