/*
 * answers.c -- one loop's answers (answers.h).
 */
#include <stdio.h>
#include "answers.h"

void
http_answers_init(http_answers_t *a, const char *server, time_t now)
{
	a->server = server;
	http_date_format(a->date, now);
	a->date_sec = now;
	for (int route = 0; route < HTTP_ROUTE_COUNT; route++) {
		for (int conn = 0; conn < HTTP_CONN_VARIANTS; conn++) {
			const http_resource_t *res = &http_resources[route];
			http_canned_t *k = &a->canned[route][conn];
			http_response_t r = { .status = 200, .server = server,
			    .date = a->date, .content_type = res->content_type,
			    .body = res->body, .body_len = res->body_len,
			    .connection = conn };
			size_t head;
			/* Fits: the server name's length is bounded. */
			k->len = (uint16_t)http_response_format(k->text,
			    sizeof k->text, &r, &head);
			k->head_len = (uint16_t)head;
		}
	}
}

size_t
http_answers_status(const http_answers_t *a, char *buf, int status,
    int connection, int head_only)
{
	char body[64];
	http_response_t r = { .status = status, .server = a->server,
	    .date = a->date, .content_type = "text/plain", .body = body,
	    .connection = connection, .head_only = head_only };

	if (status == 405)
		r.extra = "Allow: GET, HEAD\r\n";
	r.body_len = (size_t)snprintf(body, sizeof body, "%s\n",
	    http_reason(status));
	return http_response_format(buf, HTTP_RESPONSE_MAX, &r, NULL);
}
