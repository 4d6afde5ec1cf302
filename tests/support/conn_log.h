/*
 * conn_log.h -- what a server's callbacks saw of each connection, kept in
 * open order so a test can speak of "connection 1".
 *
 * The server's on_open calls tn_conn_log_open (the entry becomes the
 * connection's context) and, once it has done all it does there,
 * tn_conn_log_ready; its on_close calls tn_conn_log_close. An entry is
 * written on its connection's loop and published to the test thread by
 * the counter the test waits on (ready, closes). Zeroed memory is an empty
 * log. The server keeps its own totals; the log only keeps entries.
 */
#ifndef TESTS_SUPPORT_CONN_LOG_H
#define TESTS_SUPPORT_CONN_LOG_H

#include <stdatomic.h>
#include <stdint.h>

#include "gnet.h"

#define TN_CONN_LOG_MAX 256     /* connections a log can tell apart */

typedef struct tn_conn_entry {
	int idx;                        /* open order; fixed once opened */
	atomic_uint_least64_t handle;   /* gnet_conn_handle, stored at open */
	atomic_int ready;               /* on_open finished */
	atomic_int frames;              /* frames the server counted, if it does */
	atomic_int closes;              /* on_close calls: exactly 1 when right */
	atomic_int reason;              /* reason of the last on_close */
	atomic_long close_ms;           /* tn_now_ms() at that on_close */
} tn_conn_entry_t;

typedef struct tn_conn_log {
	atomic_int taken;               /* entries handed out */
	tn_conn_entry_t conn[TN_CONN_LOG_MAX];
} tn_conn_log_t;

/* ------------------------------------------------------------------------
 * Loop side.
 */
/* on_open: the next entry, now c's context; NULL when the log is full
 * (the caller reports it and may close the connection). */
tn_conn_entry_t *tn_conn_log_open(tn_conn_log_t *log, gnet_conn_t *c);
/* on_open is done with the connection: the test may go on. */
void tn_conn_log_ready(tn_conn_entry_t *e);
/* on_close: record the reason and time in c's entry and count the close
 * last; returns the entry, or NULL if c has none. */
tn_conn_entry_t *tn_conn_log_close(gnet_conn_t *c, int reason);

/* ------------------------------------------------------------------------
 * Test side. Each fails the test when the condition does not hold.
 */
/* Wait (bounded) until connection idx's on_open is done; its handle. */
gnet_handle_t tn_conn_log_wait_ready(tn_conn_log_t *log, int idx,
    int timeout_ms);
/* Wait (bounded) until connection idx has had its one on_close. */
void tn_conn_log_wait_closed(tn_conn_log_t *log, int idx, int timeout_ms);
/* Connection idx closed with `want` (a close reason). */
void tn_conn_log_assert_reason(tn_conn_log_t *log, int idx, int want,
    const char *what);
/* Every connection the log handed out had exactly one on_close (after
 * the engine has stopped, when none may come any more). */
void tn_conn_log_assert_closed_once(tn_conn_log_t *log);

#endif
