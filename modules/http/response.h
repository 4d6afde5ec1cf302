/*
 * response.h -- HTTP/1.1 responses as bytes: the status line, the headers
 * every answer carries (Server, Date, Content-Length), and the Date in
 * RFC 9110's IMF-fixdate.
 *
 * Formatting is for the cold path: the server formats its usual answers
 * once a second into a per-loop cache and copies them per request; error
 * answers are formatted when they happen. Nothing here allocates.
 */
#ifndef GNET_HTTP_RESPONSE_H
#define GNET_HTTP_RESPONSE_H

#include <stddef.h>
#include <time.h>

/* "Sun, 06 Nov 1994 08:49:37 GMT" */
#define HTTP_DATE_LEN 29
/* The longest Server value accepted (a config checks it), so that every
 * answer fits HTTP_RESPONSE_MAX. */
#define HTTP_SERVER_NAME_MAX 64
/* Room for any answer this module sends: the status line, five headers
 * of bounded length, an Allow line and a body of at most a few dozen
 * bytes come to well under this. */
#define HTTP_RESPONSE_MAX 512

/* The Connection header an answer carries. */
enum http_conn_header {
	HTTP_CONN_DEFAULT = 0,   /* none: the version's default holds */
	HTTP_CONN_CLOSE,         /* "Connection: close": we close after it */
	HTTP_CONN_KEEP_ALIVE,    /* "Connection: keep-alive", to 1.0 clients */
	HTTP_CONN_VARIANTS
};

typedef struct http_response {
	int status;
	const char *server;        /* Server value */
	const char *date;          /* HTTP_DATE_LEN characters */
	const char *content_type;  /* NULL: no Content-Type (no body) */
	const char *extra;         /* whole header lines ("Allow: GET\r\n"),
	                            * or NULL */
	const char *body;
	size_t body_len;
	int connection;            /* enum http_conn_header */
	int head_only;             /* the headers, with the body's
	                            * Content-Length, but not the body */
} http_response_t;

/* Write the response into buf[0..cap). Returns its length, or 0 when it
 * does not fit; *head_len (if not NULL) gets the length of its head, so
 * the same bytes serve a HEAD request. */
size_t http_response_format(char *buf, size_t cap, const http_response_t *r,
    size_t *head_len);

/* The reason phrase of a status this module sends ("Not Found"). */
const char *http_reason(int status);

/* IMF-fixdate of t into out[0..HTTP_DATE_LEN], NUL-terminated. */
void http_date_format(char *out, time_t t);

#endif
