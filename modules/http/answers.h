/*
 * answers.h -- what one loop of the http module sends: its 200s formatted
 * ahead, one per resource and Connection header with the current
 * second's Date, and any other status formatted on demand with the same
 * Date.
 *
 * Each loop owns one http_answers_t and is the only thread that touches
 * it, so no answer is shared between threads; the loop's tick calls
 * http_answers_refresh, which formats them again once the second changed.
 * A request then costs a copy of ready bytes.
 */
#ifndef GNET_HTTP_ANSWERS_H
#define GNET_HTTP_ANSWERS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "response.h"
#include "route.h"

/* The interim answer to "Expect: 100-continue". */
#define HTTP_CONTINUE "HTTP/1.1 100 Continue\r\n\r\n"

typedef struct http_canned {
	uint16_t len, head_len;    /* whole; without the body (HEAD) */
	char text[HTTP_RESPONSE_MAX];
} http_canned_t;

typedef struct http_answers {
	const char *server;        /* Server value, HTTP_SERVER_NAME_MAX */
	time_t date_sec;           /* the second `date` shows */
	char date[HTTP_DATE_LEN + 1];
	http_canned_t canned[HTTP_ROUTE_COUNT][HTTP_CONN_VARIANTS];
} http_answers_t;

/* Format every 200 for the second `now`. */
void http_answers_init(http_answers_t *a, const char *server, time_t now);

/* The same when `now` is another second than the one shown. */
static inline void
http_answers_refresh(http_answers_t *a, time_t now)
{
	if (now != a->date_sec)
		http_answers_init(a, a->server, now);
}

/* The 200 to a GET (head 0) or HEAD (head 1) of `route`, carrying
 * `connection` (enum http_conn_header): *len bytes. */
static inline const char *
http_answers_ok(const http_answers_t *a, int route, int connection,
    int head, size_t *len)
{
	const http_canned_t *k = &a->canned[route][connection];

	*len = head ? k->head_len : k->len;
	return k->text;
}

/* Any other status into buf[0..HTTP_RESPONSE_MAX), its reason phrase as
 * the body (405 with Allow: GET, HEAD). Returns its length. */
size_t http_answers_status(const http_answers_t *a, char *buf, int status,
    int connection, int head_only);

#endif
