/*
 * http_client.h -- a raw HTTP/1.1 client for the http example and the
 * http module: responses are framed by their Content-Length;
 * read_response requires every 200 to carry the example's body
 * (HTTP_HELLO), a well-formed Date and "Server: gnet", http_read_reply
 * takes any response apart.
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
/* Any response, parsed (http_read_reply). Header values are cut to
 * their buffers; "" when the header is missing. */
typedef struct http_reply {
	int status;
	int has_length;           /* a Content-Length header was there */
	size_t content_length;
	char content_type[64];
	char connection[32];
	char server[96];
	char date[48];
	char allow[32];
	size_t body_len;          /* body bytes taken (HEAD: 0) */
	char body[1024];          /* the first of them, NUL-terminated */
} http_reply_t;

/* Take one response of any status off the front of the buffer, reading
 * as needed: 1 and *out, or 0 on EOF or timeout. A response to a HEAD
 * request (head != 0) and a 1xx have no body whatever their headers say;
 * any other needs a Content-Length (the test fails without one). */
int http_read_reply(http_reader_t *r, int head, http_reply_t *out,
    int timeout_ms);

/* Expect `n` responses with status 200, then prove there was no extra
 * one: a malformed request must get the very next response, a 400, then
 * EOF. */
void expect_200s_then_end(http_reader_t *r, int n, const char *what);

#endif
