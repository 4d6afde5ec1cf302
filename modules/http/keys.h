/*
 * keys.h -- GET /keys/NAME: a key of the keyspace of the redis-server
 * that hosts gnet (gnet_redis.so), read with GnetModule_RedisCall.
 * Pure functions: the target's key, and what a GET's RESP reply means.
 */
#ifndef GNET_HTTP_KEYS_H
#define GNET_HTTP_KEYS_H

#include <stddef.h>

#define HTTP_KEYS_PREFIX "/keys/"
#define HTTP_KEYS_MAX_NAME 1024

/* The key a target names, percent-decoded into out[0..cap): its length,
 * or -1 when the target is no /keys/ path, names nothing, or decodes
 * badly. A query ("?...") is ignored. */
long http_keys_name(const char *target, size_t len, char *out, size_t cap);

/* What RESP reply p[0..n) to GET says: 200 with the value at
 * *body[0..*body_len), 404 for a missing key, 500 for an error reply or
 * anything else (*body: the error's text, without its '-'). */
int http_keys_status(const char *p, size_t n, const char **body,
    size_t *body_len);

#endif
