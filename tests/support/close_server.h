/*
 * close_server.h -- a server whose handlers end connections the ways the
 * "close" suite examines: a close with megabytes queued, an abort after a
 * write, a handler that never consumes, replies queued at engine stop, a
 * greeting followed by GNET_CLOSE, writes after gnet_conn_close. One mode
 * per engine, chosen before it starts (close_server_init).
 *
 * Callbacks only record into atomics and the connection log (cs->log, in
 * open order); a test asserts TN_ASSERT_NO_LOOP_ERRORS(&cs->errs).
 */
#ifndef TESTS_SUPPORT_CLOSE_SERVER_H
#define TESTS_SUPPORT_CLOSE_SERVER_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "gnet.h"
#include "conn_log.h"
#include "testnet.h"

/* What the handlers do. Every mode but CS_HOARD_OR_ECHO acts once, on a
 * connection's first bytes, and discards all it is handed. */
typedef enum close_server_mode {
	CS_FLOOD_CLOSE = 0,     /* write `flood`, return GNET_CLOSE */
	CS_WRITE_ABORT,         /* write CS_ABORT_BYTES, gnet_conn_abort */
	CS_IDLE,                /* reply nothing */
	CS_HOARD_OR_ECHO,       /* first byte CS_TAG_HOARD: never consume;
	                         * anything else: echo everything */
	CS_REPLY,               /* first byte k: write replies[k] */
	CS_GREET_CLOSE,         /* on_open: write `greeting`, GNET_CLOSE */
	CS_CLOSE_THEN_WRITE     /* write `reply`, gnet_conn_close, write more */
} close_server_mode_t;

#define CS_TAG_HOARD 'H'
/* Written, then dropped by the abort: below the 2 KiB write-through size,
 * so the bytes are queued, not already handed to the kernel. */
#define CS_ABORT_BYTES 1024
#define CS_MAX_REPLIES 8

typedef struct close_server {
	/* behaviour, set before the engine starts */
	close_server_mode_t mode;
	const uint8_t *flood;         /* CS_FLOOD_CLOSE */
	size_t flood_len;
	const uint8_t *replies[CS_MAX_REPLIES]; /* CS_REPLY */
	int nreplies;
	size_t reply_len;
	const char *greeting;         /* CS_GREET_CLOSE */
	const char *reply;            /* CS_CLOSE_THEN_WRITE */

	/* observations from loop threads */
	atomic_int opens, closes;
	atomic_int boots, shutdowns;
	atomic_long close_begun_ms;   /* when the handler began the close */
	atomic_int replies_queued;    /* CS_REPLY */
	atomic_size_t max_hoard_view; /* largest inbound view of a hoarder */
	atomic_long write_after_close_rc;  /* CS_CLOSE_THEN_WRITE */
	atomic_long writev_after_close_rc;
	atomic_int close_rc;
	atomic_long close_write_rc[TN_CONN_LOG_MAX]; /* gnet_conn_write from
	                                              * on_close, by open order */
	tn_conn_log_t log;
	tn_loop_errors_t errs;
	/* owner loop only, by open order */
	int role[TN_CONN_LOG_MAX];
	int served[TN_CONN_LOG_MAX];
} close_server_t;

extern const gnet_events_t close_server_events;

/* Zero the server and set its mode. */
void close_server_init(close_server_t *cs, close_server_mode_t mode);

#endif
