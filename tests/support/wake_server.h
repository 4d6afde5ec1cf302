/*
 * wake_server.h -- a server whose on_traffic records each call's view of
 * the inbound bytes and, until `consume` is set, leaves them buffered: a
 * test of gnet_conn_wake_async sees exactly what each wake-up delivered.
 *
 * rec[k] describes call k (up to WAKE_MAX_CALLS) and is published by
 * `calls`. Unexpected results go to *errs.
 */
#ifndef TESTS_SUPPORT_WAKE_SERVER_H
#define TESTS_SUPPORT_WAKE_SERVER_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "gnet.h"
#include "testnet.h"

#define WAKE_MAX_CALLS 8

typedef struct wake_call {
	size_t len;
	char bytes[16];
} wake_call_t;

typedef struct wake_server {
	atomic_int consume;            /* 0: leave everything buffered */
	atomic_int calls;
	wake_call_t rec[WAKE_MAX_CALLS];  /* published by `calls` */
	atomic_uint_least64_t last_handle;
	atomic_int opens, closes;
	tn_loop_errors_t *errs;
} wake_server_t;

extern const gnet_events_t wake_server_events;

void wake_server_init(wake_server_t *w, tn_loop_errors_t *errs);
/* gnet_conn_wake_async(eng, h) from a thread of its own (not a loop's:
 * checked); returns what it returned. */
int wake_from_foreign_thread(gnet_engine_t *eng, gnet_handle_t h);

#endif
