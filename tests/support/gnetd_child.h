/*
 * gnetd_child.h -- the gnetd daemon (BUILD/tools/gnetd) as a child
 * process of a test, run exactly as an operator runs it.
 *
 * A started gnetd is waited for until it prints "gnetd: ready"; each
 * "gnetd: NAME listening on tcp://127.0.0.1:PORT" line before it gives a
 * listener and its port. Its stderr (its log, unless it has a logfile)
 * goes to a memory file the test can search at any time, so a chatty
 * daemon never blocks on a full pipe. The child is tracked by child.c:
 * it dies with the test, and the teardown kills it if a test failed.
 */
#ifndef TESTS_SUPPORT_GNETD_CHILD_H
#define TESTS_SUPPORT_GNETD_CHILD_H

#include <stddef.h>
#include <sys/types.h>

#define TN_GNETD_MAX_LISTENERS 8
#define TN_GNETD_OUT_CAP (16 * 1024)  /* output kept of a finished run */

typedef struct tn_gnetd {
	pid_t pid;
	int out;                     /* read end of its stdout */
	int err;                     /* memory file holding its stderr */
	int nlisteners;
	char lines[TN_GNETD_MAX_LISTENERS][160]; /* the listening lines */
	char names[TN_GNETD_MAX_LISTENERS][32];  /* the module of each */
	int ports[TN_GNETD_MAX_LISTENERS];
	char ready[160];             /* the "gnetd: ready, ..." line */
} tn_gnetd_t;

/* A run to its end: what gnetd printed and how it exited. */
typedef struct tn_gnetd_run {
	int status;                  /* wait status */
	char out[TN_GNETD_OUT_CAP];  /* stdout, NUL-terminated */
	char err[TN_GNETD_OUT_CAP];  /* stderr, NUL-terminated */
} tn_gnetd_run_t;

/* BUILD/tools/gnetd; fails the test if missing. (A module's .so:
 * module_host.h's tn_module_path.) */
void tn_gnetd_path(char *out, size_t cap);

/* Start gnetd with args (NULL-terminated, after argv[0]) and wait for its
 * ready line; fails the test, with gnetd's stderr, if it exits first. */
void tn_gnetd_start(tn_gnetd_t *g, const char *const *args);

/* Send sig and wait (bounded) for the exit: its wait status. Fails the
 * test if gnetd does not exit within timeout_ms. */
int tn_gnetd_signal(tn_gnetd_t *g, int sig, int timeout_ms);

/* Send sig and require exit status `want` within TN_CHILD_STOP_MS. */
void tn_gnetd_stop(tn_gnetd_t *g, int sig, int want);

/* Its stderr so far, NUL-terminated (valid until the next call). */
const char *tn_gnetd_stderr(tn_gnetd_t *g);

/* Wait until its stderr holds `text`: 1, or 0 after timeout_ms. */
int tn_gnetd_wait_stderr(tn_gnetd_t *g, const char *text, int timeout_ms);

/* Run gnetd with args to its end, within timeout_ms (else fail). */
void tn_gnetd_run(tn_gnetd_run_t *r, const char *const *args,
    int timeout_ms);

#endif
