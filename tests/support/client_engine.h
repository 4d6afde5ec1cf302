/*
 * client_engine.h -- an engine of dialled connections (gnet_engine_dial,
 * gnet_engine_adopt) that exchange data with a server and check every byte
 * on the client side, for the "client" suite.
 *
 * Each connection's context is a client_conn_t (the dial's ctx: what to
 * send, what came back, what its callbacks saw); the engine's udata is a
 * client_engine_t saying what every connection does (its kind) and
 * counting for all of them. Unexpected results on loop threads go to
 * *cl->errs. Counters the test waits on are updated last.
 *
 * A "dialer" actor on loop 0 (client_engine_start with a handle to fill)
 * runs gnet_engine_dial from a loop thread for dial_on_loop.
 */
#ifndef TESTS_SUPPORT_CLIENT_ENGINE_H
#define TESTS_SUPPORT_CLIENT_ENGINE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "gnet.h"
#include "testnet.h"

#define CLIENT_STREAM_WINDOW (256u * 1024) /* unanswered bytes per connection */
#define CLIENT_STREAM_CHUNK (64u * 1024)   /* bytes per gnet_conn_write */
#define CLIENT_DGRAM_BYTES 1024u
#define CLIENT_UDP_WINDOW 4u          /* unanswered datagrams per connection */
#define CLIENT_FRAME_BYTES 1024u

/* Messages to a connection's handle (on_message). */
enum {
	CLIENT_MSG_PAUSE = GNET_MSG_USER + 2,   /* gnet_conn_set_reading(c, 0) */
	CLIENT_MSG_RESUME,                      /* gnet_conn_set_reading(c, 1) */
	CLIENT_MSG_NOP                          /* only counted */
};

typedef enum client_kind {
	CLIENT_STREAM,  /* send tx[0..total) with a window, verify the echo */
	CLIENT_UDP,     /* total datagrams, CLIENT_UDP_WINDOW in flight */
	CLIENT_FRAMES,  /* total frames of CLIENT_FRAME_BYTES through a codec */
	CLIENT_ECHO,    /* echo what arrives (adopted sockets, paused readers) */
	CLIENT_COLLECT  /* keep what arrives in rx */
} client_kind_t;

typedef struct client_conn {
	int idx;
	const uint8_t *tx;
	size_t total;           /* stream bytes, datagrams or frames */
	int pause_on_open;      /* CLIENT_ECHO: gnet_conn_set_reading(c, 0) in on_open */
	/* loop-only while the connection lives */
	size_t sent, recvd;
	unsigned char *seen;    /* CLIENT_UDP: sequence numbers received */
	uint8_t *rx;            /* CLIENT_COLLECT */
	size_t rx_cap;
	/* observed */
	atomic_int opens, closes, dial_errors, done, traffic_calls, msgs;
	atomic_int loop, fd, close_reason, nonblock, write_status, write_cbs;
	atomic_long rx_bytes;
	atomic_ullong handle;
} client_conn_t;

typedef struct client_engine {
	client_kind_t kind;
	atomic_int opens, closes, done, dial_errors, shutdown_errs;
	atomic_int last_err;
	atomic_long last_err_ms;
	atomic_uintptr_t last_err_ctx;
	atomic_int loop_opens[GNET_MAX_LOOPS];
	tn_loop_errors_t *errs;
} client_engine_t;

extern const gnet_events_t client_engine_events;

/* A zeroed client engine state of `kind` (free() it). */
client_engine_t *client_engine_new(client_kind_t kind, tn_loop_errors_t *errs);
/* n connection records; connection i sends pattern + i * stride. */
client_conn_t *client_conns_new(int n, size_t total, const uint8_t *pattern,
    size_t stride);
void client_conns_free(client_conn_t *cc, int n);

/* Start an engine of client_engine_events with cl as udata, listening
 * nowhere; with `dialer` not NULL, first spawn the dialer actor on loop 0
 * and store its handle there. */
void client_engine_start(tn_server_t *s, client_engine_t *cl,
    const gnet_options_t *opts, gnet_handle_t *dialer);

/* A gnet_engine_dial from this (foreign) thread that must start. */
void client_dial_ok(gnet_engine_t *eng, const char *addr, int loop,
    void *ctx, const gnet_codec_t *codec);

/* A dial for the dialer actor to make on loop 0. The result and the
 * handle are stored before `done`. With `pre`, it also queues
 * gnet_conn_write_async(pre) to the new handle right away (completion
 * into the client_conn_t pre_cbdata), noting how many on_open calls
 * `opens` had seen by then. */
typedef struct dial_req {
	char addr[128];
	gnet_dial_options_t opts;
	const void *pre;
	size_t pre_len;
	void *pre_cbdata;       /* the connection's client_conn_t */
	atomic_int *opens;      /* its on_open counter */
	atomic_int done;
	atomic_int rc, wrc;
	atomic_int opens_at_write; /* on_open calls seen when writing: 0 */
	atomic_ullong handle;
	atomic_long done_ms;
} dial_req_t;

/* Run r's gnet_engine_dial on the dialer's loop and wait (bounded) for it. */
void dial_on_loop(tn_server_t *s, gnet_handle_t dialer, dial_req_t *r);

#endif
