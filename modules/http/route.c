/*
 * route.c -- request targets to the http module's resources (route.h).
 */
#include <string.h>
#include "route.h"

#define HELLO "Hello, World!"
#define HELLO_JSON "{\"message\":\"" HELLO "\"}"

const http_resource_t http_resources[HTTP_ROUTE_COUNT] = {
	[HTTP_ROUTE_PLAINTEXT] = { "text/plain", HELLO, sizeof HELLO - 1 },
	[HTTP_ROUTE_JSON] = { "application/json", HELLO_JSON,
	    sizeof HELLO_JSON - 1 },
};

/* The path of an absolute-form target: what follows "scheme://authority",
 * or "/" when nothing does (RFC 9112 3.2.1). NULL for any other form
 * ("*", CONNECT's authority-form). */
static const char *
absolute_path(const char *t, size_t *len)
{
	const char *sep = memchr(t, ':', *len);
	size_t i;

	if (sep == NULL || (size_t)(sep - t) + 3 > *len ||
	    memcmp(sep, "://", 3) != 0)
		return NULL;
	for (i = (size_t)(sep + 3 - t); i < *len; i++)
		if (t[i] == '/' || t[i] == '?')
			break;
	if (i == *len || t[i] == '?') {
		*len = 1;
		return "/";
	}
	*len -= i;
	return t + i;
}

/* An exact path, no query. */
static int
route_path(const char *path, size_t len)
{
	if (len == 1)
		return HTTP_ROUTE_PLAINTEXT; /* "/" */
	if (len == 10 && memcmp(path, "/plaintext", 10) == 0)
		return HTTP_ROUTE_PLAINTEXT;
	if (len == 5 && memcmp(path, "/json", 5) == 0)
		return HTTP_ROUTE_JSON;
	return HTTP_ROUTE_NONE;
}

int
http_route_find(const char *target, size_t len)
{
	const char *q;
	int route;

	if (len == 0)
		return HTTP_ROUTE_NONE;
	/* What load generators send: a bare path, matched at once. */
	if (target[0] == '/' && (route = route_path(target, len)) !=
	    HTTP_ROUTE_NONE)
		return route;
	if (target[0] != '/' && (target = absolute_path(target, &len)) == NULL)
		return HTTP_ROUTE_NONE;
	if ((q = memchr(target, '?', len)) != NULL)
		len = (size_t)(q - target);
	return route_path(target, len);
}
