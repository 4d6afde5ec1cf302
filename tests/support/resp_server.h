/*
 * resp_server.h -- a RESP server for the differential and tool suites,
 * chosen by a spec string, so the same test body runs against each:
 *
 *   "redis"     Debian's redis-server (redis_peer.h), the reference
 *   "gnetd:N"   gnetd with N loops and BUILD/modules/resp.so
 *
 * A server that cannot run here is skipped, not failed: without
 * redis-server, or (until modules/resp lands) without resp.so, start
 * prints "skipped: ..." and returns 0, and the test returns early.
 */
#ifndef TESTS_SUPPORT_RESP_SERVER_H
#define TESTS_SUPPORT_RESP_SERVER_H

#include <sys/types.h>

#include "gnetd_child.h"
#include "redis_peer.h"

typedef struct tn_resp_server {
	char spec[16];
	int port;
	pid_t pid;
	int ours;                 /* gnetd+resp, not redis-server */
	tn_redis_t redis;
	tn_gnetd_t gnetd;
} tn_resp_server_t;

/* The environment variable naming the second server of the suites'
 * "second" tests (default: "redis"). */
#define TN_RESP_SECOND_ENV "GNET_RESP_SECOND"

/* Start the server of `spec` and wait until it answers: 1; or 0 after
 * printing why it is skipped. A bad spec fails the test. */
int tn_resp_server_start(tn_resp_server_t *s, const char *spec);
/* SIGTERM and a bounded wait for a clean exit (status 0). */
void tn_resp_server_stop(tn_resp_server_t *s);
/* What it printed so far (valid until the next call). */
const char *tn_resp_server_log(tn_resp_server_t *s);

#endif
