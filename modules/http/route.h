/*
 * route.h -- what the http module serves: a request's target to one of
 * its resources, and each resource's body.
 *
 *   /, /plaintext   text/plain        Hello, World!
 *   /json           application/json  {"message":"Hello, World!"}
 *
 * The path is matched exactly, its query ignored; an absolute-form
 * target ("http://host/json", RFC 9112 3.2.2) is matched by its path.
 */
#ifndef GNET_HTTP_ROUTE_H
#define GNET_HTTP_ROUTE_H

#include <stddef.h>

enum http_route {
	HTTP_ROUTE_PLAINTEXT = 0,
	HTTP_ROUTE_JSON,
	HTTP_ROUTE_COUNT,                  /* the resources */
	HTTP_ROUTE_NONE = HTTP_ROUTE_COUNT /* no such resource: 404 */
};

typedef struct http_resource {
	const char *content_type;
	const char *body;
	size_t body_len;
} http_resource_t;

extern const http_resource_t http_resources[HTTP_ROUTE_COUNT];

/* The resource a request-target names, or HTTP_ROUTE_NONE. */
int http_route_find(const char *target, size_t len);

#endif
