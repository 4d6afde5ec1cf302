/*
 * child.c -- examples and client tools as child processes, for the suites
 * that run the example programs (see child.h).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "testnet.h"

/* ------------------------------------------------------------------------
 * Children: examples and client tools. Every pid is tracked until reaped so
 * a failed test leaves none behind.
 */
static pid_t tracked[TN_MAX_CHILDREN];

static void track(pid_t pid)
{
	for (int i = 0; i < TN_MAX_CHILDREN; i++) {
		if (tracked[i] == 0) {
			tracked[i] = pid;
			return;
		}
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	ck_abort_msg("more than %d children at once", TN_MAX_CHILDREN);
}

void tn_track_child(pid_t pid)
{
	track(pid);
}

static void untrack(pid_t pid)
{
	for (int i = 0; i < TN_MAX_CHILDREN; i++)
		if (tracked[i] == pid)
			tracked[i] = 0;
}

/* Checked teardown (and the end of a failed no-fork test). */
void tn_kill_strays(void)
{
	for (int i = 0; i < TN_MAX_CHILDREN; i++) {
		if (tracked[i] != 0) {
			kill(tracked[i], SIGKILL);
			waitpid(tracked[i], NULL, 0);
			tracked[i] = 0;
		}
	}
}

/* In a freshly forked child: die with the test, get default signals. */
void tn_child_prepare(pid_t parent)
{
	sigset_t none;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127); /* the test died before prctl took effect */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL); /* the test itself ignores it */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
}

/* Wait (bounded) for pid to exit; returns 1 and its status, or 0. */
int tn_reap(pid_t pid, int *status, int timeout_ms)
{
	pid_t r = 0;

	TN_WAIT_UNTIL((r = waitpid(pid, status, WNOHANG)) != 0, timeout_ms);
	if (r == pid)
		untrack(pid);
	return r == pid;
}

const char *tn_describe_status(int st)
{
	static char buf[64];

	if (WIFEXITED(st))
		snprintf(buf, sizeof buf, "exit status %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, sizeof buf, "signal %d", WTERMSIG(st));
	else
		snprintf(buf, sizeof buf, "wait status %#x", st);
	return buf;
}

/* ------------------------------------------------------------------------
 * Examples as child processes.
 */

/* BUILD/tests/SUITE -> BUILD/SUB/NAME */
int tn_build_find(const char *sub, const char *name, char *out, size_t cap)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	char *slash;

	if (n <= 0)
		return -1;
	self[n] = '\0';
	for (int k = 0; k < 2; k++) {
		slash = strrchr(self, '/');
		if (slash == NULL) {
			errno = ENOENT;
			return -1;
		}
		*slash = '\0';
	}
	int k = snprintf(out, cap, "%s/%s/%s", self, sub, name);
	if (k <= 0 || (size_t)k >= cap) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return access(out, F_OK);
}

void tn_build_path(const char *sub, const char *name, char *out, size_t cap)
{
	if (cap > 0)
		out[0] = '\0';
	ck_assert_msg(tn_build_find(sub, name, out, cap) == 0,
	    "%s/%s not found at %s (%s): build everything of this BUILD "
	    "(make all)", sub, name, out, strerror(errno));
}

/* BUILD/tests/SUITE -> BUILD/examples/NAME, which must be executable */
int tn_example_find(const char *name, char *out, size_t cap)
{
	if (tn_build_find("examples", name, out, cap) != 0)
		return -1;
	return access(out, X_OK);
}

void tn_example_path(const char *name, char *out, size_t cap)
{
	if (cap > 0)
		out[0] = '\0';
	ck_assert_msg(tn_example_find(name, out, cap) == 0,
	    "example %s not found at %s (%s): build the examples of this BUILD "
	    "too (make all)", name, out, strerror(errno));
}

/* Start BUILD/examples/NAME with args (NULL-terminated) and wait for its
 * listening line. */
void tn_example_start(tn_example_t *ex, const char *name,
    const char *const *args)
{
	char path[PATH_MAX];
	const char *argv[16];
	int p[2], n = 0, st;
	pid_t parent = getpid();

	memset(ex, 0, sizeof *ex);
	ex->name = name;
	ex->port = -1;
	tn_example_path(name, path, sizeof path);
	argv[n++] = path;
	for (int i = 0; args != NULL && args[i] != NULL; i++) {
		ck_assert_msg(n < 15, "too many arguments");
		argv[n++] = args[i];
	}
	argv[n] = NULL;

	ck_assert_msg(pipe2(p, O_CLOEXEC) == 0, "pipe2: %s", strerror(errno));
	ex->pid = fork();
	ck_assert_msg(ex->pid >= 0, "fork: %s", strerror(errno));
	if (ex->pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);
		tn_child_prepare(parent);
		dup2(p[1], STDOUT_FILENO);
		if (devnull >= 0)
			dup2(devnull, STDIN_FILENO);
		execv(path, (char *const *)argv);
		_exit(127);
	}
	track(ex->pid);
	close(p[1]);
	ex->out = p[0];
	tn_set_nonblock(ex->out);

	/* The line is printed (and flushed) once the engine listens. */
	size_t len = 0;
	int64_t deadline = tn_now_ms() + TN_CHILD_START_MS;
	while (memchr(ex->line, '\n', len) == NULL) {
		int64_t left = deadline - tn_now_ms();
		ck_assert_msg(left > 0, "%s printed no listening line within %d ms "
		    "(got \"%.*s\")", name, TN_CHILD_START_MS, (int)len, ex->line);
		ck_assert_msg(len < sizeof ex->line - 1, "%s: line too long", name);
		struct pollfd pfd = { .fd = ex->out, .events = POLLIN };
		poll(&pfd, 1, left > 100 ? 100 : (int)left);
		ssize_t r = read(ex->out, ex->line + len, sizeof ex->line - 1 - len);
		if (r > 0) {
			len += (size_t)r;
		} else if (r == 0) {
			int reaped = tn_reap(ex->pid, &st, TN_CHILD_STOP_MS);
			ck_abort_msg("%s exited before listening (%s), output \"%.*s\"",
			    name, reaped ? tn_describe_status(st) : "still running",
			    (int)len, ex->line);
		}
	}
	*strchr(ex->line, '\n') = '\0';
	ck_assert_msg(strstr(ex->line, ": listening on ") != NULL,
	    "%s: unexpected first line \"%s\"", name, ex->line);
	const char *at = strstr(ex->line, "127.0.0.1:");
	if (at != NULL) {
		ex->port = atoi(at + strlen("127.0.0.1:"));
		ck_assert_msg(ex->port > 0 && ex->port < 65536,
		    "%s: bad port in \"%s\"", name, ex->line);
	}
}

/* Send sig and require exit status 0 within TN_CHILD_STOP_MS. */
void tn_example_stop(tn_example_t *ex, int sig)
{
	int st = 0;

	ck_assert_msg(kill(ex->pid, sig) == 0, "kill %s: %s", ex->name,
	    strerror(errno));
	if (!tn_reap(ex->pid, &st, TN_CHILD_STOP_MS)) {
		kill(ex->pid, SIGKILL);
		tn_reap(ex->pid, &st, TN_CHILD_STOP_MS);
		ck_abort_msg("%s did not exit within %d ms of signal %d", ex->name,
		    TN_CHILD_STOP_MS, sig);
	}
	close(ex->out);
	ex->out = -1;
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "%s stopped by signal %d: %s (want exit status 0)", ex->name, sig,
	    tn_describe_status(st));
}

/* ------------------------------------------------------------------------
 * Client tools.
 */
int tn_have_tool(const char *name)
{
	const char *path = getenv("PATH");
	char dir[PATH_MAX], full[PATH_MAX];

	if (path == NULL)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path != '\0') {
		size_t n = strcspn(path, ":");
		if (n > 0 && n < sizeof dir) {
			memcpy(dir, path, n);
			dir[n] = '\0';
			int k = snprintf(full, sizeof full, "%s/%s", dir, name);
			if (k > 0 && (size_t)k < sizeof full &&
			    access(full, X_OK) == 0)
				return 1;
		}
		path += n;
		if (*path == ':')
			path++;
	}
	return 0;
}

/* Run argv (searched in PATH) with `in` on its stdin, collect its stdout,
 * all within timeout_ms. */
void tn_run_tool(tn_tool_run_t *t, const char *const *argv, const char *in,
    int merge_stderr, int timeout_ms)
{
	int ip[2], op[2];
	size_t in_len = in != NULL ? strlen(in) : 0, in_off = 0;
	pid_t parent = getpid(), pid;
	int64_t deadline = tn_now_ms() + timeout_ms;
	int out_open = 1;

	t->status = -1;
	t->len = 0;
	t->out[0] = '\0';
	ck_assert(pipe2(ip, O_CLOEXEC) == 0 && pipe2(op, O_CLOEXEC) == 0);
	pid = fork();
	ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		tn_child_prepare(parent);
		dup2(ip[0], STDIN_FILENO);
		dup2(op[1], STDOUT_FILENO);
		if (merge_stderr)
			dup2(op[1], STDERR_FILENO);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	track(pid);
	close(ip[0]);
	close(op[1]);
	tn_set_nonblock(ip[1]);
	tn_set_nonblock(op[0]);
	if (in_len == 0)
		tn_close(&ip[1]);

	while (out_open && tn_now_ms() < deadline) {
		struct pollfd pfd[2] = { { .fd = op[0], .events = POLLIN },
			{ .fd = ip[1], .events = POLLOUT } };
		poll(pfd, ip[1] >= 0 ? 2 : 1, 100);
		if (ip[1] >= 0) {
			ssize_t w = write(ip[1], in + in_off, in_len - in_off);
			if (w > 0)
				in_off += (size_t)w;
			if (in_off == in_len || (w < 0 && errno != EAGAIN))
				tn_close(&ip[1]); /* EOF for the tool */
		}
		for (;;) {
			char scratch[4096];
			ssize_t r = read(op[0], scratch, sizeof scratch);
			if (r > 0) {
				size_t k = (size_t)r;
				if (k > sizeof t->out - 1 - t->len)
					k = sizeof t->out - 1 - t->len; /* keep draining */
				memcpy(t->out + t->len, scratch, k);
				t->len += k;
				t->out[t->len] = '\0';
				continue;
			}
			if (r == 0)
				out_open = 0;
			break;
		}
	}
	tn_close(&ip[1]);
	close(op[0]);
	int st = 0;
	int64_t left = deadline - tn_now_ms();
	if (out_open || !tn_reap(pid, &st, left > 0 ? (int)left : 0)) {
		kill(pid, SIGKILL);
		tn_reap(pid, &st, TN_CHILD_STOP_MS);
		ck_abort_msg("%s did not finish within %d ms; output so far:\n%s",
		    argv[0], timeout_ms, t->out);
	}
	t->status = st;
}

int tn_run_child_suite(Suite *s)
{
	signal(SIGPIPE, SIG_IGN);
	atexit(tn_kill_strays);
	return tn_run_suite(s);
}

void tn_assert_tool_ok(const tn_tool_run_t *t, const char *what)
{
	ck_assert_msg(WIFEXITED(t->status) && WEXITSTATUS(t->status) == 0,
	    "%s: %s, output:\n%s", what, tn_describe_status(t->status), t->out);
}

pid_t
tn_spawn_to(const char *path, const char *const *args, int out, int err)
{
	const char *argv[TN_SPAWN_MAX_ARGS + 2];
	pid_t parent = getpid(), pid;
	int n = 0;

	argv[n++] = path;
	for (int i = 0; args[i] != NULL; i++) {
		ck_assert_msg(n <= TN_SPAWN_MAX_ARGS, "too many arguments");
		argv[n++] = args[i];
	}
	argv[n] = NULL;
	pid = fork();
	ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);

		tn_child_prepare(parent);
		if (devnull >= 0)
			dup2(devnull, STDIN_FILENO);
		dup2(out, STDOUT_FILENO);
		dup2(err, STDERR_FILENO);
		execv(path, (char *const *)argv);
		_exit(127);
	}
	tn_track_child(pid);
	return pid;
}

int
tn_memory_file(const char *name)
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	ck_assert_msg(fd >= 0, "memfd_create: %s", strerror(errno));
	return fd;
}

size_t
tn_memory_read(int fd, char *buf, size_t cap)
{
	size_t len = 0;

	while (len < cap - 1) {
		ssize_t r = pread(fd, buf + len, cap - 1 - len, (off_t)len);
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	buf[len] = '\0';
	return len;
}
