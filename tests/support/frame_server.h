/*
 * frame_server.h -- the live codec suites' server: it echoes each frame
 * its codec hands to on_traffic with gnet_conn_write (so the reply is the
 * re-encoded frame), and counts the frames and sums a hash of each
 * (frame_hash), so a codec that silently fell back to raw bytes cannot
 * pass. Modes, chosen before the engine starts:
 *
 *   FS_ECHO          echo each frame and consume it;
 *   FS_PARTIAL       frame i: consume none / FS_PART_READ bytes / all of
 *                    it and echo it whole: what is left must be dropped;
 *   FS_HANDSHAKE     "HELLO" -> "OK", switch to next_codec (NULL: raw
 *                    bytes), then echo;
 *   FS_WRITE_LIMITS  on_open writes wl_ok, wl_bad (write and writev: the
 *                    codec must refuse it) and wl_ok2, recording results.
 *
 * Connections are numbered in open order (fs->log; its entries count the
 * frames). The client side of a test talks to it with the exchanges
 * below. Unexpected results on loop threads go to fs->errs.
 */
#ifndef TESTS_SUPPORT_FRAME_SERVER_H
#define TESTS_SUPPORT_FRAME_SERVER_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "gnet.h"
#include "bytes.h"
#include "codec_specs.h"
#include "conn_log.h"
#include "testnet.h"

#define FS_PART_READ 3          /* bytes a "partial" handler reads */
#define FS_PART_MAX_LEN 1024    /* longest frame FS_PARTIAL handles */
#define FS_WAIT_MS 5000         /* for a callback to be observed */
#define FS_IO_MS 10000          /* for a single client exchange */

typedef enum frame_server_mode {
	FS_ECHO = 0,
	FS_PARTIAL,
	FS_HANDSHAKE,
	FS_WRITE_LIMITS
} frame_server_mode_t;

typedef struct frame_server {
	/* behaviour, set before the engine starts */
	frame_server_mode_t mode;
	const gnet_codec_t *open_codec[TN_CONN_LOG_MAX]; /* set in on_open if
	                                                   * not NULL */
	const gnet_codec_t *next_codec;  /* FS_HANDSHAKE: codec after HELLO */
	int handshake_raw;               /* FS_HANDSHAKE: HELLO comes unframed */
	size_t frame_len;                /* > 0: every frame must be this long */
	/* FS_WRITE_LIMITS */
	const uint8_t *wl_ok;
	size_t wl_ok_len;
	const uint8_t *wl_bad;
	size_t wl_bad_len;
	const uint8_t *wl_ok2;
	size_t wl_ok2_len;

	/* observations from loop threads */
	atomic_int opens, closes;
	atomic_int frames;
	atomic_uint_least64_t hash_sum;
	atomic_long wl_rc[4];            /* write, write bad, writev bad, write */
	atomic_size_t wl_out[3];         /* outbound after each of the first 3 */
	atomic_int cb_calls, cb_ok, cb_efs, cb_other;
	atomic_int switched[TN_CONN_LOG_MAX]; /* FS_HANDSHAKE: codec switched */
	tn_conn_log_t log;
	tn_loop_errors_t errs;
} frame_server_t;

extern const gnet_events_t frame_server_events;

void frame_server_init(frame_server_t *fs, frame_server_mode_t mode);
/* gnet_conn_write_async completion (cbdata: the server): counts status 0,
 * GNET_EFRAMESIZE and anything else, then cb_calls. */
void frame_server_write_cb(gnet_conn_t *c, int status, void *cbdata);
/* FNV-1a over a frame, seeded with its length: the server sums these for
 * every frame it is handed, the test sums them for every frame it sent. */
uint64_t frame_hash(const void *p, size_t n);

/* ------------------------------------------------------------------------
 * Test side.
 */
/* Start an engine with `codec` for every connection (NULL: none). */
void frame_server_start(tn_server_t *s, frame_server_t *fs,
    const gnet_codec_t *codec, int loops, size_t read_cap);
/* Connect client number `idx` (open order) and wait until the server has
 * opened it, so records match connect order even on several loops. */
int frame_server_connect(tn_server_t *s, frame_server_t *fs, int idx);
/* Close a well-behaved client and check it ended as a clean EOF. */
void frame_server_close_good(frame_server_t *fs, int *fd, int idx);

/* Send `tx` (one write as far as the socket takes it) and read exactly
 * `want` back within timeout_ms (exchange: FS_IO_MS). */
void exchange_within(int fd, const bytes_t *tx, const bytes_t *want,
    const char *what, int timeout_ms);
void exchange(int fd, const bytes_t *tx, const bytes_t *want,
    const char *what);
/* The well-behaved neighbour: a few frames of ci, echoed exactly. */
void good_exchange(int fd, const codec_inst_t *ci, uint64_t seed,
    const char *when);
/* Read exactly `want` (the replies to the frames before bad bytes), then
 * the server's FIN with nothing more. */
void expect_replies_then_eof(int fd, const bytes_t *want, const char *what);

#endif
