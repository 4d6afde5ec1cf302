/*
 * redis_peer.h -- Debian's redis-server as a child of a test, the
 * reference the RESP module is compared with, and a reader of RESP
 * replies off a socket.
 *
 * The server runs on a free 127.0.0.1 port with persistence off and its
 * working directory in a fresh tmpdir, its stdout and stderr in a memory
 * file (shown when it fails). It counts as started once it answers PING,
 * polled within a bound. The child is tracked by child.c: it dies with
 * the test, and the teardown kills it if a test failed.
 *
 * The reader counts complete replies without interpreting them: RESP2's
 * five types, nested arrays and nils, and RESP3's aggregates and scalars
 * too (redis-server answers HELLO 3 with a map), so a count is right
 * whichever protocol the peer speaks.
 */
#ifndef TESTS_SUPPORT_REDIS_PEER_H
#define TESTS_SUPPORT_REDIS_PEER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tmpdir.h"

#define TN_REDIS_SERVER "/usr/bin/redis-server"
/* Another redis-server binary, or a missing one to see the skip. */
#define TN_REDIS_SERVER_ENV "GNET_REDIS_SERVER"
#define TN_REDIS_START_MS 10000    /* from exec to the first PONG */
#define TN_REDIS_STOP_MS 10000     /* from SIGTERM to exit */

typedef struct tn_redis {
	pid_t pid;
	int port;
	int log;                     /* memory file: its stdout and stderr */
	tn_tmpdir_t dir;             /* its --dir */
	const char *const *extra;    /* more arguments, NULL-ended, or NULL */
} tn_redis_t;

/* The binary: $GNET_REDIS_SERVER, else TN_REDIS_SERVER. */
const char *tn_redis_server_path(void);
/* 1 when that binary is installed; else 0, after printing
 * "skipped: no redis-server (what)" so a skipped test says so. */
int tn_redis_available(const char *what);

/* Start redis-server and wait for its PONG; fails the test, with its
 * output, when it exits or does not answer in time. */
void tn_redis_start(tn_redis_t *r);
/* The same with more arguments after the usual ones (later ones win:
 * "--appendonly", "yes", "--loadmodule", ...), NULL-ended. */
void tn_redis_start_with(tn_redis_t *r, const char *const *extra);
/* SIGTERM, then wait (bounded) for it to exit 0; removes its tmpdir. */
void tn_redis_stop(tn_redis_t *r);
/* What it printed so far, NUL-terminated (valid until the next call). */
const char *tn_redis_log(tn_redis_t *r);

/* ------------------------------------------------------------------------
 * Replies.
 */

/* The length of the complete reply at the start of p[0..n): > 0; 0 when
 * more bytes are needed; -1 when the bytes are no RESP reply (a bad type
 * byte, a length that is no number). */
ssize_t tn_resp_reply_len(const uint8_t *p, size_t n);

/* What a reader collected. Zeroed is empty; tn_resp_read_free frees. */
typedef struct tn_resp_in {
	uint8_t *buf;               /* every byte received, in order */
	size_t len, cap;
	size_t complete;            /* bytes in the complete replies */
	int replies;                /* complete replies in buf */
	int closed;                 /* the peer closed (EOF or reset) */
	int timed_out;              /* the deadline passed first */
	int malformed;              /* bytes that are no RESP reply came */
} tn_resp_in_t;

/* Read from fd until `want` complete replies have arrived (want < 0:
 * until the peer closes), the peer closed, or timeout_ms passed; appends
 * to in (so calls can follow one another). Returns in->replies. */
int tn_resp_read(int fd, int want, int timeout_ms, tn_resp_in_t *in);
void tn_resp_in_free(tn_resp_in_t *in);

/* One command, sent as a multibulk of argc arguments, and its reply
 * (one, within timeout_ms) into out (NUL-terminated, cut to cap - 1):
 * the reply's length, or -1 when none came. */
ssize_t tn_resp_call(int fd, int argc, const char *const *argv, char *out,
    size_t cap, int timeout_ms);

#endif
