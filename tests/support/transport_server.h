/*
 * transport_server.h -- the "transport" suite's server: an echo for
 * streams (tcp, unix) and datagrams (udp) that records which loop served
 * what, the options of accepted sockets, and understands a few datagram
 * commands for the UDP send paths:
 *
 *   TS_FWD_MAGIC, port (2 bytes, network order), payload: the payload is
 *     sent on to 127.0.0.1:port with gnet_conn_sendto instead of echoed;
 *   TS_BURST_MAGIC, b (1 byte): every reply of burst b (ts_burst_len) is
 *     queued in one callback, so one flush sends them all;
 *   TS_REFUSED_MAGIC: a GSO run to an address the kernel refuses, then
 *     the reply "ok".
 *
 * A barrier actor (transport_barrier) proves a loop got past earlier work.
 * Callbacks only record into atomics; a test asserts
 * TN_ASSERT_NO_LOOP_ERRORS(&ts->errs).
 */
#ifndef TESTS_SUPPORT_TRANSPORT_SERVER_H
#define TESTS_SUPPORT_TRANSPORT_SERVER_H

#include <stdatomic.h>
#include <stddef.h>

#include "gnet.h"
#include "testnet.h"

#define TS_FWD_MAGIC "FWD!"
#define TS_FWD_HDR 6u
#define TS_BURST_MAGIC "BRST"
#define TS_N_BURSTS 3
#define TS_REFUSED_MAGIC "RFSD"
#define TS_REFUSED_RUN 3        /* datagrams in the refused run */

/* The options read from an accepted socket (record_opts). */
enum ts_sockopt {
	TS_OPT_NODELAY, TS_OPT_KEEPALIVE, TS_OPT_KEEPIDLE, TS_OPT_KEEPINTVL,
	TS_OPT_KEEPCNT, TS_OPT_SNDBUF, TS_OPT_RCVBUF, TS_OPT_LINGER_ON,
	TS_OPT_LINGER_S, TS_OPT_DEV_LO,
	TS_OPT_COUNT
};

typedef struct transport_server {
	/* set before the engine runs, read-only afterwards */
	int record_opts;              /* read socket options in on_open */

	atomic_int opens, closes;
	atomic_int loop_opens[GNET_MAX_LOOPS];
	atomic_int loop_closes[GNET_MAX_LOOPS];
	atomic_long stream_bytes;
	atomic_long dgrams;           /* on_traffic calls on UDP sockets */
	atomic_int last_udp_port;     /* sender port of the latest datagram */
	atomic_int no_gso;            /* burst: refuse GSO on the socket first */
	atomic_int udp_dev_lo;        /* UDP socket bound to "lo": 1, no: 0,
	                               * not looked at: -1 */
	atomic_int opts_seen;         /* accepted sockets whose options were read */
	atomic_int opt[TS_OPT_COUNT];
	atomic_int barrier_hits;      /* messages the barrier actor received */
	atomic_uchar port_loop[65536]; /* TCP peer port -> loop index + 1 */
	tn_loop_errors_t errs;
} transport_server_t;

extern const gnet_events_t transport_server_events;

/* A zeroed server on the heap (free() it). */
transport_server_t *transport_server_new(void);
/* tn_server_new with the server's events: the test listens and runs. */
void transport_engine_new(tn_server_t *s, const gnet_options_t *opts,
    transport_server_t *ts);

/* Burst b: how many replies, and the length of reply i (its bytes are
 * tn_fill_random(b * 1000 + i)). */
size_t ts_burst_count(int b);
size_t ts_burst_len(int b, size_t i);

/* Spawn the barrier actor on `loop` (before the engine runs). */
gnet_handle_t transport_barrier_actor(tn_server_t *s, transport_server_t *ts,
    int loop);
/* Wait until the barrier actor's loop has handled a message sent now: the
 * loop has then finished whatever it was doing, e.g. the rest of a close
 * whose on_close the test already saw. */
void transport_barrier(tn_server_t *s, transport_server_t *ts,
    gnet_handle_t h);

#endif
