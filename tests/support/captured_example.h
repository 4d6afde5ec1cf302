/*
 * captured_example.h -- example programs run as child processes with
 * their stdout and stderr captured while they run: to completion (a
 * client, judged by exit status and output) or as servers (the port read
 * from their "listening on tcp://127.0.0.1:PORT (N loops)" line, stopped
 * by a signal and required to exit 0).
 *
 * Output of every live child is drained whenever the test waits on any of
 * them, so a chatty server never blocks on a full pipe; OUT_CAP bytes per
 * stream are kept. Children die with the test (PR_SET_PDEATHSIG). A
 * failing CHILD_CHECK kills and reaps them before failing the test, so a
 * test's captured_example_t, which lives in its frame, is never left
 * behind; captured_examples_kill_leftovers is the exit hook for the rest.
 * Every wait has a deadline.
 */
#ifndef TESTS_SUPPORT_CAPTURED_EXAMPLE_H
#define TESTS_SUPPORT_CAPTURED_EXAMPLE_H

#include <check.h>
#include <errno.h>
#include <stddef.h>
#include <sys/types.h>

#define CX_START_MS 15000   /* server prints its listening line (ASan is slow to start) */
#define CX_RUN_MS 60000     /* one client run */
#define CX_STOP_MS 15000    /* server exits after SIGTERM/SIGINT */
#define CX_WAIT_MS 5000     /* an expected close or log line */
#define CX_OUT_CAP 16384    /* captured bytes per stream; more is drained */
#define CX_MAX_CHILDREN 8

enum { OUT = 0, ERR = 1 };  /* the captured streams */

typedef struct captured_example {
	pid_t pid;            /* 0 once reaped */
	int fd[2];            /* read ends of stdout, stderr; -1 at EOF */
	char buf[2][CX_OUT_CAP]; /* what they wrote, NUL-terminated */
	size_t len[2];
	int status;           /* wait status, once reaped */
	char name[64];
} captured_example_t;

/* SIGKILL and reap every child still alive. Safe to call twice. */
void captured_examples_kill(void);
/* Exit hook: SIGKILL and reap whatever is left, by pid only. */
void captured_examples_kill_leftovers(void);

/* Fail the test, but first make sure no child outlives it (errno is kept
 * for the message). */
#define CHILD_CHECK(cond, ...) \
	do { \
		if (!(cond)) { \
			int errno_ = errno; \
			captured_examples_kill(); \
			errno = errno_; \
			ck_abort_msg(__VA_ARGS__); \
		} \
	} while (0)

/* Start BUILD/examples/NAME with args (NULL-terminated, may be NULL). */
void captured_example_spawn(captured_example_t *ch, const char *name,
    const char *const *args);
/* Wait until stream s (OUT, ERR) of ch contains needle; 1 if it does. */
int captured_example_wait_output(captured_example_t *ch, int s,
    const char *needle, int timeout_ms);
/* Wait up to timeout_ms for ch to exit and collect all its output.
 * Returns 1 when it exited (status in ch->status), 0 on timeout. */
int captured_example_reap(captured_example_t *ch, int timeout_ms);

/* Run an example to completion (bounded by CX_RUN_MS) and return its exit
 * status (-1 for a death by signal). Output is in ch->buf. */
int example_run(captured_example_t *ch, const char *name,
    const char *const *args);
/* Run an example that must succeed and print `line` (if not NULL). */
void example_run_ok(const char *name, const char *const *args,
    const char *line);
/* Start a server example and wait for its listening line; returns the
 * port it reports and, in *loops (if not NULL), its loop count. */
int example_server_start(captured_example_t *ch, const char *name,
    const char *const *args, int *loops);
/* Stop a server with `sig` and check it exits 0 in bounded time. */
void example_server_stop(captured_example_t *ch, int sig);
/* The server's stderr names `reason` (a gnet_strerror text). */
void example_expect_logged(captured_example_t *srv, int reason);

/* Raw sockets, to check a wire format without the examples' codecs. All
 * fail through CHILD_CHECK. */
int raw_connect(int port);
void raw_send(int fd, const void *p, size_t n);
/* Send `tx`, expect exactly `rx` back. */
void raw_exchange(int fd, const void *tx, size_t txn, const void *rx,
    size_t rxn);
/* The server must close this connection, sending nothing more. */
void raw_expect_closed(int fd, const char *what);

#endif
