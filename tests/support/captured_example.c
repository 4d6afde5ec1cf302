/*
 * captured_example.c -- example programs as children with their output
 * captured (see captured_example.h).
 */
#include "captured_example.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gnet.h"
#include "child.h"
#include "testnet.h"

#define CX_MAX_ARGS 16

/* ------------------------------------------------------------------------
 * Child processes.
 */
/* Children not yet reaped. The pids are kept apart from the
 * captured_example_t (which lives in a test's frame) so the exit hook
 * never follows a pointer into a frame that is gone. */
static captured_example_t *live[CX_MAX_CHILDREN];
static pid_t live_pid[CX_MAX_CHILDREN];

static void
child_forget(captured_example_t *ch)
{
	for (int i = 0; i < CX_MAX_CHILDREN; i++) {
		if (live[i] == ch) {
			live[i] = NULL;
			live_pid[i] = 0;
		}
	}
	for (int s = 0; s < 2; s++)
		tn_close(&ch->fd[s]);
}

/* Exit hook: SIGKILL and reap whatever is left, by pid only. */
void
captured_examples_kill_leftovers(void)
{
	for (int i = 0; i < CX_MAX_CHILDREN; i++) {
		if (live_pid[i] > 0) {
			kill(live_pid[i], SIGKILL);
			waitpid(live_pid[i], NULL, 0);
			live_pid[i] = 0;
		}
		live[i] = NULL;
	}
}

/* SIGKILL and reap every child still alive. Safe to call twice. */
void
captured_examples_kill(void)
{
	for (int i = 0; i < CX_MAX_CHILDREN; i++) {
		captured_example_t *ch = live[i];
		if (ch == NULL)
			continue;
		if (ch->pid > 0) {
			kill(ch->pid, SIGKILL);
			/* SIGKILL cannot be caught: this wait is short. */
			waitpid(ch->pid, &ch->status, 0);
			ch->pid = 0;
		}
		child_forget(ch);
	}
}

/* BUILD/examples/NAME, failing through CHILD_CHECK. */
static void
example_path(const char *name, char *path, size_t cap)
{
	if (cap > 0)
		path[0] = '\0';
	CHILD_CHECK(tn_example_find(name, path, cap) == 0,
	    "%s: %s (build the examples first)", path[0] ? path : name,
	    strerror(errno));
}

/* Start BUILD/examples/NAME with args (NULL-terminated), stdout and stderr
 * captured. */
void
captured_example_spawn(captured_example_t *ch, const char *name,
    const char *const *args)
{
	char path[PATH_MAX];
	char *argv[CX_MAX_ARGS + 2];
	int out[2], err[2], n = 0, slot = -1;

	memset(ch, 0, sizeof *ch);
	ch->fd[OUT] = ch->fd[ERR] = -1;
	snprintf(ch->name, sizeof ch->name, "%s", name);
	example_path(name, path, sizeof path);
	argv[n++] = path;
	for (; args != NULL && args[n - 1] != NULL; n++) {
		CHILD_CHECK(n <= CX_MAX_ARGS, "too many arguments");
		argv[n] = (char *)(uintptr_t)args[n - 1];
	}
	argv[n] = NULL;
	for (int i = 0; i < CX_MAX_CHILDREN && slot < 0; i++)
		if (live[i] == NULL)
			slot = i;
	CHILD_CHECK(slot >= 0, "more than %d children", CX_MAX_CHILDREN);
	/* O_CLOEXEC: a later child must not hold this one's pipes open. */
	CHILD_CHECK(pipe2(out, O_CLOEXEC) == 0 && pipe2(err, O_CLOEXEC) == 0, "pipe2: %s",
	    strerror(errno));

	pid_t parent = getpid();
	pid_t pid = fork();
	CHILD_CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		/* Die with the test process, with default signal handling
		 * whatever the runner did to ours. */
		tn_child_prepare(parent);
		if (dup2(out[1], STDOUT_FILENO) < 0 || dup2(err[1], STDERR_FILENO) < 0)
			_exit(127);
		execv(path, argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	ch->pid = pid;
	ch->fd[OUT] = out[0];
	ch->fd[ERR] = err[0];
	live[slot] = ch;
	live_pid[slot] = pid;
}

/* Read whatever the live children have written, waiting up to timeout_ms
 * for something to arrive. Every child's pipes are drained, not only the
 * one a test is waiting on, so a chatty server never blocks on a full
 * pipe. Returns the number of open pipes. */
static int
pump_output(int timeout_ms)
{
	struct pollfd pfd[CX_MAX_CHILDREN * 2];
	captured_example_t *owner[CX_MAX_CHILDREN * 2];
	int which[CX_MAX_CHILDREN * 2];
	int n = 0;

	for (int i = 0; i < CX_MAX_CHILDREN; i++) {
		for (int s = 0; live[i] != NULL && s < 2; s++) {
			if (live[i]->fd[s] < 0)
				continue;
			pfd[n] = (struct pollfd){ .fd = live[i]->fd[s], .events = POLLIN };
			owner[n] = live[i];
			which[n++] = s;
		}
	}
	if (n == 0 || poll(pfd, (nfds_t)n, timeout_ms) <= 0)
		return n;
	for (int j = 0; j < n; j++) {
		captured_example_t *ch = owner[j];
		int s = which[j];
		char scratch[4096];
		ssize_t r;

		if (!(pfd[j].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		r = read(ch->fd[s], scratch, sizeof scratch);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			tn_close(&ch->fd[s]);
			continue;
		}
		size_t keep = (size_t)r;
		if (keep > CX_OUT_CAP - 1 - ch->len[s])
			keep = CX_OUT_CAP - 1 - ch->len[s];
		memcpy(ch->buf[s] + ch->len[s], scratch, keep);
		ch->len[s] += keep;
		ch->buf[s][ch->len[s]] = '\0';
	}
	return n;
}

/* Wait until stream s of ch contains needle; 1 if it does. */
int
captured_example_wait_output(captured_example_t *ch, int s,
    const char *needle, int timeout_ms)
{
	int64_t deadline = tn_now_ms() + timeout_ms;
	while (strstr(ch->buf[s], needle) == NULL) {
		int64_t left = deadline - tn_now_ms();
		if (left <= 0)
			return 0;
		if (ch->fd[s] < 0) {
			/* That stream is closed: nothing more can come. */
			return strstr(ch->buf[s], needle) != NULL;
		}
		pump_output(left > 100 ? 100 : (int)left);
	}
	return 1;
}

/* Wait up to timeout_ms for ch to exit and collect all its output.
 * Returns 1 when it exited (status in ch->status), 0 on timeout. */
int
captured_example_reap(captured_example_t *ch, int timeout_ms)
{
	int64_t deadline = tn_now_ms() + timeout_ms;
	for (;;) {
		pid_t r = waitpid(ch->pid, &ch->status, WNOHANG);
		if (r == ch->pid)
			break;
		CHILD_CHECK(r == 0, "waitpid(%s): %s", ch->name, strerror(errno));
		if (tn_now_ms() >= deadline)
			return 0;
		/* Output keeps flowing while we wait; once every pipe is
		 * closed, poll the exit in TN_WAIT_UNTIL's 1 ms steps. */
		if (pump_output(10) == 0)
			tn_nap();
	}
	ch->pid = 0;
	/* It is gone: its pipes hit EOF as soon as they are drained. */
	while ((ch->fd[OUT] >= 0 || ch->fd[ERR] >= 0) && tn_now_ms() < deadline + CX_WAIT_MS)
		pump_output(100);
	child_forget(ch);
	return 1;
}

/* Run an example to completion (bounded) and return its exit status
 * (-1 for a death by signal). Output is in ch->buf. */
int
example_run(captured_example_t *ch, const char *name, const char *const *args)
{
	captured_example_spawn(ch, name, args);
	int done = captured_example_reap(ch, CX_RUN_MS);
	CHILD_CHECK(done, "%s did not finish within %d ms; output: %s%s", name, CX_RUN_MS,
	    ch->buf[OUT], ch->buf[ERR]);
	return WIFEXITED(ch->status) ? WEXITSTATUS(ch->status) : -1;
}

/* Run an example that must succeed and print `line` (a whole line). */
void
example_run_ok(const char *name, const char *const *args, const char *line)
{
	captured_example_t ch;
	int rc = example_run(&ch, name, args);
	CHILD_CHECK(rc == 0, "%s: %s; stdout: %s stderr: %s", name, tn_describe_status(ch.status),
	    ch.buf[OUT], ch.buf[ERR]);
	if (line != NULL)
		CHILD_CHECK(strstr(ch.buf[OUT], line) != NULL, "%s: no line \"%s\" in: %s",
		    name, line, ch.buf[OUT]);
}

/* Start a server example and wait for its listening line; return the
 * port it reports and, in *loops, its loop count. */
int
example_server_start(captured_example_t *ch, const char *name,
    const char *const *args, int *loops)
{
	char prefix[96];
	snprintf(prefix, sizeof prefix, "%s: listening on tcp://127.0.0.1:", name);
	captured_example_spawn(ch, name, args);
	int ok = captured_example_wait_output(ch, OUT, prefix, CX_START_MS) &&
	    captured_example_wait_output(ch, OUT, "loops)\n", CX_START_MS);
	CHILD_CHECK(ok, "%s: no listening line within %d ms; stdout: %s stderr: %s",
	    name, CX_START_MS, ch->buf[OUT], ch->buf[ERR]);
	int port = 0, n = 0;
	int fields = sscanf(strstr(ch->buf[OUT], prefix) + strlen(prefix),
	    "%d (%d loops)", &port, &n);
	CHILD_CHECK(fields == 2 && port > 0 && port < 65536 && n > 0,
	    "%s: cannot parse \"%s\"", name, ch->buf[OUT]);
	if (loops != NULL)
		*loops = n;
	return port;
}

/* Stop a server with `sig` and check it exits 0 in bounded time. */
void
example_server_stop(captured_example_t *ch, int sig)
{
	CHILD_CHECK(kill(ch->pid, sig) == 0, "kill %s: %s", ch->name, strerror(errno));
	int done = captured_example_reap(ch, CX_STOP_MS);
	CHILD_CHECK(done, "%s still running %d ms after signal %d", ch->name, CX_STOP_MS,
	    sig);
	CHILD_CHECK(WIFEXITED(ch->status) && WEXITSTATUS(ch->status) == 0,
	    "%s after signal %d: %s; stderr: %s", ch->name, sig,
	    tn_describe_status(ch->status), ch->buf[ERR]);
}

/* ------------------------------------------------------------------------
 * Raw sockets: the wire format without the examples' codecs.
 */
int
raw_connect(int port)
{
	int fd = tn_connect(port);
	CHILD_CHECK(fd >= 0, "connect 127.0.0.1:%d: %s", port, strerror(errno));
	return fd;
}

void
raw_send(int fd, const void *p, size_t n)
{
	CHILD_CHECK(tn_send_all(fd, p, n, CX_WAIT_MS) == n, "raw send of %zu bytes failed", n);
}

/* Send `tx`, expect exactly `rx` back. */
void
raw_exchange(int fd, const void *tx, size_t txn, const void *rx,
    size_t rxn)
{
	unsigned char got[256];
	CHILD_CHECK(rxn <= sizeof got, "reply buffer too small");
	raw_send(fd, tx, txn);
	size_t n = tn_read_exact(fd, got, rxn, CX_WAIT_MS);
	CHILD_CHECK(n == rxn, "got %zu of %zu reply bytes", n, rxn);
	CHILD_CHECK(memcmp(got, rx, rxn) == 0, "reply differs from the expected bytes");
}

/* The server must close this connection, sending nothing more. */
void
raw_expect_closed(int fd, const char *what)
{
	size_t extra = 0;
	int r = tn_wait_eof(fd, CX_WAIT_MS, &extra);
	CHILD_CHECK(r == 1 || r == -ECONNRESET, "%s: connection not closed (%d)", what, r);
	CHILD_CHECK(extra == 0, "%s: %zu unexpected bytes before the close", what, extra);
}

/* The server's stderr names `reason` (a gnet_strerror text). */
void
example_expect_logged(captured_example_t *srv, int reason)
{
	const char *text = gnet_strerror(reason);
	CHILD_CHECK(captured_example_wait_output(srv, ERR, text, CX_WAIT_MS),
	    "%s did not log \"%s\"; stderr: %s", srv->name, text, srv->buf[ERR]);
}

