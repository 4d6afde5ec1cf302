/*
 * testnet.h -- shared helpers for the network integration suites.
 *
 * An engine runs on a background thread (tn_server_*), plain sockets play
 * the clients (tn_connect, tn_send_all, tn_read_exact, tn_wait_eof), and
 * tn_pump drives many clients at once with poll(). Every wait here has a
 * deadline so a broken library fails a test instead of hanging it; callers
 * synchronise with server callbacks through C11 atomics and TN_WAIT_UNTIL.
 * The servers and clients of particular suites are modules of their own
 * next to this one (README.md there lists them).
 */
#ifndef TESTNET_H
#define TESTNET_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "gnet.h"
#include "standalone.h"

/* Bounds used by the helpers; tests pick their own for longer phases. */
#define TN_START_TIMEOUT_MS 5000  /* engine must report running by then */
#define TN_JOIN_TIMEOUT_MS 10000  /* gnet_engine_run must return by then */
#define TN_NAP_NS 1000000L        /* poll interval of TN_WAIT_UNTIL: 1 ms */

/* ------------------------------------------------------------------------
 * Time.
 */
/* tn_now_ms, tn_now_ns (standalone.h), and: */
void tn_nap(void);       /* sleep TN_NAP_NS: the step of a bounded wait */

/* Re-evaluate `cond` every ~1 ms until it holds or `timeout_ms` passes.
 * It is a statement; assert the condition afterwards, e.g.
 *     TN_WAIT_UNTIL(atomic_load(&ctx.closes) == 10, 5000);
 *     ck_assert_int_eq(atomic_load(&ctx.closes), 10);                   */
#define TN_WAIT_UNTIL(cond, timeout_ms) \
	for (int64_t tn_deadline_ = tn_now_ms() + (timeout_ms); \
	     !(cond) && tn_now_ms() < tn_deadline_; tn_nap())

/* Raise *max to v if v is larger (for maxima observed on loop threads). */
void tn_atomic_max(atomic_size_t *max, size_t v);

/* Atomic loads for assertions: a call, unlike the atomic_load macro,
 * keeps Check's failure message readable ("tn_ld(&ctx.closes) == 1"). */
int tn_ld(atomic_int *p);
long tn_ldl(atomic_long *p);
uint64_t tn_ld64(atomic_uint_least64_t *p);
size_t tn_ldz(atomic_size_t *p);

/* ------------------------------------------------------------------------
 * Unexpected results seen on loop or pool threads. Asserting there would
 * abort from a foreign thread without a useful message, so a check there
 * counts them (and keeps the first line), and the test thread asserts that
 * there were none. Zeroed memory is an empty record.
 */
typedef struct tn_loop_errors {
	atomic_int count;
	_Atomic(const char *) first_file; /* the check's own file: a suite's */
	atomic_int first_line;            /* servers live in tests/support too */
} tn_loop_errors_t;

void tn_loop_error(tn_loop_errors_t *e, const char *file, int line);
void tn_loop_errors_reset(tn_loop_errors_t *e);
/* "file:line" of the first unexpected result, for messages. */
const char *tn_loop_errors_where(tn_loop_errors_t *e);
#define TN_LOOP_CHECK(e, cond) \
	do { \
		if (!(cond)) \
			tn_loop_error((e), __FILE__, __LINE__); \
	} while (0)
/* A macro, so a failure names the test's own line. */
#define TN_ASSERT_NO_LOOP_ERRORS(e) \
	ck_assert_msg(atomic_load(&(e)->count) == 0, \
	    "%d unexpected result(s) on loop or pool threads, first at %s", \
	    atomic_load(&(e)->count), tn_loop_errors_where(e))

/* ------------------------------------------------------------------------
 * Engine on a background thread.
 */
typedef struct tn_server {
	gnet_engine_t *eng;
	int port;               /* bound port of listener 0 */
	pthread_t thread;       /* runs gnet_engine_run */
	int run_rc;             /* what gnet_engine_run returned (valid once joined) */
	atomic_int run_done;    /* set by the thread when gnet_engine_run returned */
	int joined;
} tn_server_t;

/* Create an engine (opts may be NULL), listen on tcp://127.0.0.1:0, start
 * gnet_engine_run on a thread and wait until the engine reports running.
 * Any failure fails the current test. The same in steps, for a test that
 * listens elsewhere, several times or not at all, or sets up actors
 * first: tn_server_new, tn_server_listen..., tn_server_run (which records
 * listener 0's port, if there is one, in s->port). */
void tn_server_start(tn_server_t *s, const gnet_events_t *ev,
    const gnet_options_t *opts, void *udata);
/* The same, listening on `addr` (any scheme) instead. */
void tn_server_start_at(tn_server_t *s, const gnet_events_t *ev,
    const gnet_options_t *opts, void *udata, const char *addr);
void tn_server_new(tn_server_t *s, const gnet_events_t *ev,
    const gnet_options_t *opts, void *udata);
void tn_server_listen(tn_server_t *s, const char *addr);
void tn_server_run(tn_server_t *s);
/* Wait (bounded) for gnet_engine_run to return on its own, e.g. after a
 * callback returned GNET_SHUTDOWN, and join the thread. Fails the test on
 * timeout. */
void tn_server_join(tn_server_t *s, int timeout_ms);
/* gnet_engine_stop from this (foreign) thread, then tn_server_join. */
void tn_server_stop(tn_server_t *s);
/* gnet_engine_free; the thread must have been joined. */
void tn_server_free(tn_server_t *s);
/* The usual end of a test: stop + join + free. */
void tn_server_close(tn_server_t *s);

/* The bound address of listener `index` (fails the test if there is
 * none); returns its length. */
socklen_t tn_server_addr(tn_server_t *s, int index, struct sockaddr_storage *ss);

/* Port of a bound address (IPv4 or IPv6), or -1. */
int tn_addr_port(const struct sockaddr_storage *ss);

/* ------------------------------------------------------------------------
 * Client sockets. All I/O uses MSG_NOSIGNAL so a closed peer is an error
 * code, never a SIGPIPE of the test process.
 */
/* The address 127.0.0.1:port. */
struct sockaddr_in tn_loopback(int port);
/* Blocking TCP socket connected to 127.0.0.1:port, or -1. */
int tn_connect(int port);
/* Same, then switched to O_NONBLOCK. */
int tn_connect_nb(int port);
/* Blocking socket connected to any address (IPv4 or IPv6), or -1. When
 * rcvbuf > 0 SO_RCVBUF is set before connecting (so the window follows). */
int tn_connect_addr(const struct sockaddr *sa, socklen_t len, int rcvbuf);
/* Blocking socket to 127.0.0.1:port with a small receive buffer, or -1. */
int tn_connect_rcvbuf(int port, int rcvbuf);
int tn_set_nonblock(int fd);
/* Make close() send an RST instead of a FIN (SO_LINGER {1, 0}). */
int tn_set_linger_rst(int fd);
/* close(*fd) if open and set it to -1. */
void tn_close(int *fd);

/* Send all n bytes, polling for room; returns the bytes sent (n on
 * success, fewer on error or when timeout_ms passed). */
size_t tn_send_all(int fd, const void *buf, size_t n, int timeout_ms);
/* Read exactly n bytes; returns the bytes read (n on success, fewer on
 * EOF, error or timeout). Works on blocking and non-blocking sockets. */
size_t tn_read_exact(int fd, void *buf, size_t n, int timeout_ms);
/* Wait for EOF: returns 1 on EOF, 0 on timeout, -errno on a socket error
 * (e.g. -ECONNRESET). Bytes that arrive first are discarded and counted in
 * *extra (may be NULL). */
int tn_wait_eof(int fd, int timeout_ms, size_t *extra);

/* Lines from a socket, each within a deadline. Zeroed except for fd is
 * an empty reader. */
typedef struct tn_line_reader {
	int fd;
	size_t len;
	char buf[4096];
} tn_line_reader_t;

/* The next line without its "\n" into line (cut to cap - 1): 1, or 0 on
 * EOF, error, timeout or a line longer than the reader's buffer. */
int tn_read_line(tn_line_reader_t *r, char *line, size_t cap, int timeout_ms);

/* Random bytes: tn_fill_random, tn_rng_next (standalone.h). */
/* Index of the first byte where a and b differ, n if none: for messages. */
size_t tn_first_diff(const void *a, const void *b, size_t n);

/* ------------------------------------------------------------------------
 * Multi-client pump: K clients send their buffers and read back what they
 * expect, concurrently, under one poll() loop and one deadline.
 */
typedef struct tn_client {
	/* set by the caller */
	int fd;                 /* connected socket; made non-blocking by tn_pump */
	const uint8_t *tx;      /* bytes to send (may be NULL with tx_len 0) */
	size_t tx_len;
	const uint8_t *expect;  /* bytes expected back; NULL means tx */
	size_t expect_len;      /* ignored when expect is NULL (tx_len is used) */
	int shut_wr;            /* shutdown(SHUT_WR) once everything is sent */
	int want_eof;           /* after the expected bytes, also wait for EOF */
	/* results */
	size_t sent, recvd;
	int eof;                /* EOF seen */
	int done;               /* finished successfully */
	char error[192];        /* first problem, empty if none */
} tn_client_t;

/* Prepare a client: fd, tx and expect (expect NULL = echo of tx). */
void tn_client_init(tn_client_t *cl, int fd, const uint8_t *tx, size_t tx_len,
    const uint8_t *expect, size_t expect_len);
/* Run every client to completion or until timeout_ms passes. Returns the
 * number of clients that did not finish (0 = all good); see tn_pump_error. */
int tn_pump(tn_client_t *cl, size_t k, int timeout_ms);
/* The first client error as "client i: ...", or "" if none. */
const char *tn_pump_error(const tn_client_t *cl, size_t k);

/* ------------------------------------------------------------------------
 * Processes.
 */
/* tn_proc_rss_kb that fails the test when the process's resident size
 * cannot be read (it is gone, or its status has no VmRSS line). */
long tn_rss_kb(pid_t pid);

/* ------------------------------------------------------------------------
 * Suites.
 */
/* n divided by $GNET_STRESS_SCALE (if > 1): sanitizer runs shrink stress
 * loops this way to stay within CI's time budget. */
unsigned tn_scaled(unsigned n);
/* The same, but never below min. */
unsigned tn_scaled_min(unsigned n, unsigned min);

struct Suite;
struct TCase;
/* A test case with a hard timeout (fork mode kills a hung test). */
struct TCase *tn_tcase(const char *name, int timeout_s);
/* Run one Check suite (fork mode etc. from the CK_* environment) and give
 * main's exit status. */
int tn_run_suite(struct Suite *s);

#endif /* TESTNET_H */
