/*
 * recserver.h -- a recording echo server: it echoes every byte (and every
 * datagram) it is handed, and its callbacks record what they saw into
 * atomics for the test thread to assert on.
 *
 * Use: recserver_init, set the behaviour fields, then start an engine with
 * &recserver_events and the server as udata (e.g. tn_server_start). Behaviour is
 * read-only once the engine runs. Connections are numbered in open order
 * (rs->log). Unexpected results on loop threads are counted in *rs->errs;
 * a test asserts there were none (TN_ASSERT_NO_LOOP_ERRORS(rs->errs)).
 */
#ifndef TESTS_SUPPORT_RECSERVER_H
#define TESTS_SUPPORT_RECSERVER_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "gnet.h"
#include "conn_log.h"
#include "testnet.h"

/* How on_traffic ends a connection. */
typedef enum recserver_mode {
	RS_ECHO = 0,            /* echo everything, return traffic_action */
	RS_ECHO_THEN_ACTION,    /* collect close_after bytes, echo, GNET_CLOSE */
	RS_ECHO_THEN_CLOSE      /* same, but gnet_conn_close() and GNET_NONE */
} recserver_mode_t;

/* Messages to a connection: answered with the line "pong <a>\n". */
#define RS_PING_TYPE (GNET_MSG_USER + 7)
#define RS_PING_VALUE 42

typedef struct recserver {
	/* behaviour, set before the engine starts */
	recserver_mode_t mode;
	size_t close_after;           /* the RS_ECHO_THEN_* payload size */
	const char *greeting;         /* written by on_open when set */
	gnet_action_t open_action;    /* on_open's return value */
	gnet_action_t traffic_action; /* RS_ECHO's return value */
	size_t frame_len;             /* > 0: every on_traffic is one frame
	                               * this long (a codec's) */
	int accepted_only;            /* no connection may be a dialled one */

	/* observations from loop threads */
	atomic_int opens, closes;     /* on_open / on_close calls */
	atomic_int close_zero, close_eof, close_shutdown, close_errno,
	    close_other;              /* on_close calls by reason */
	atomic_int last_reason;
	atomic_int shutdowns;         /* on_shutdown calls */
	atomic_long bytes_in;         /* bytes (stream and datagram) echoed */
	atomic_int dgrams;            /* datagrams echoed */
	atomic_uint_least64_t last_handle; /* of the latest on_open */
	atomic_int msgs;              /* RS_PING_TYPE messages answered */
	/* recserver_write_cb completions (cbdata: the server) */
	atomic_int cb_calls, cb_ok, cb_closed, cb_bad;
	tn_conn_log_t log;            /* per connection, in open order */
	tn_loop_errors_t *errs;
	tn_loop_errors_t own_errs;
} recserver_t;

extern const gnet_events_t recserver_events;

/* Zero the server; unexpected results go to errs, or to its own record
 * (rs->own_errs) when errs is NULL. */
void recserver_init(recserver_t *rs, tn_loop_errors_t *errs);
/* gnet_conn_write_async completion with the server as cbdata: status 0
 * with a connection counts in cb_ok, GNET_ECLOSED without one in
 * cb_closed, anything else in cb_bad; cb_calls counts them all, last. */
void recserver_write_cb(gnet_conn_t *c, int status, void *cbdata);

#endif
