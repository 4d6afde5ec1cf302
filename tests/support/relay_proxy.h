/*
 * relay_proxy.h -- a proxy server built on gnet_engine_dial: each accepted
 * connection dials `backend` from its own on_open (on its own loop, so
 * the handle is known at once), is held unread until the backend is
 * there, and the two then relay to each other with plain calls; closing
 * either leg closes the other.
 *
 * Counters record where the backends landed; unexpected results on loop
 * threads go to *errs.
 */
#ifndef TESTS_SUPPORT_RELAY_PROXY_H
#define TESTS_SUPPORT_RELAY_PROXY_H

#include <stdatomic.h>

#include "gnet.h"
#include "testnet.h"

typedef struct relay_proxy {
	char backend[64];              /* the dial address, set before start */
	atomic_int fronts, backs, closes, same_loop, dial_errors;
	atomic_int loop_backs[GNET_MAX_LOOPS];
	tn_loop_errors_t *errs;
} relay_proxy_t;

extern const gnet_events_t relay_proxy_events;

#endif
