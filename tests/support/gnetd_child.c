/*
 * gnetd_child.c -- gnetd as a child process (gnetd_child.h).
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
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "gnetd_child.h"
#include "testnet.h"

#define STDERR_CAP (256 * 1024) /* of a running gnetd's stderr, searched */

void
tn_gnetd_path(char *out, size_t cap)
{
	tn_build_path("tools", "gnetd", out, cap);
}

/* Fork gnetd with args; stdout to `out`, stderr to `err`. */
static pid_t
spawn(const char *const *args, int out, int err)
{
	char path[PATH_MAX];

	tn_gnetd_path(path, sizeof path);
	return tn_spawn_to(path, args, out, err);
}


const char *
tn_gnetd_stderr(tn_gnetd_t *g)
{
	static char buf[STDERR_CAP];

	tn_memory_read(g->err, buf, sizeof buf);
	return buf;
}

int
tn_gnetd_wait_stderr(tn_gnetd_t *g, const char *text, int timeout_ms)
{
	int found = 0;

	TN_WAIT_UNTIL((found = strstr(tn_gnetd_stderr(g), text) != NULL),
	    timeout_ms);
	return found;
}

/* One stdout line of a starting gnetd: a listener, or the ready line. */
static void
take_line(tn_gnetd_t *g, const char *line)
{
	const char *on = strstr(line, " listening on ");
	const char *at;
	int i = g->nlisteners;

	ck_assert_msg(strlen(line) < sizeof g->ready, "gnetd: line too long: "
	    "\"%s\"", line);
	if (strncmp(line, "gnetd: ready", 12) == 0) {
		memcpy(g->ready, line, strlen(line) + 1);
		return;
	}
	ck_assert_msg(strncmp(line, "gnetd: ", 7) == 0 && on != NULL,
	    "gnetd: unexpected line \"%s\"", line);
	ck_assert_msg(i < TN_GNETD_MAX_LISTENERS, "too many listeners");
	memcpy(g->lines[i], line, strlen(line) + 1);
	snprintf(g->names[i], sizeof g->names[i], "%.*s", (int)(on - line - 7),
	    line + 7); /* "gnetd: NAME listening on" */
	g->ports[i] = -1;
	at = strstr(line, "127.0.0.1:");
	if (at != NULL) {
		g->ports[i] = atoi(at + strlen("127.0.0.1:"));
		ck_assert_msg(g->ports[i] > 0 && g->ports[i] < 65536,
		    "gnetd: bad port in \"%s\"", line);
	}
	g->nlisteners++;
}

void
tn_gnetd_start(tn_gnetd_t *g, const char *const *args)
{
	char buf[4096];
	size_t len = 0;
	int p[2], st;
	int64_t deadline = tn_now_ms() + TN_CHILD_START_MS;

	memset(g, 0, sizeof *g);
	ck_assert_msg(pipe2(p, O_CLOEXEC) == 0, "pipe2: %s", strerror(errno));
	g->err = tn_memory_file("gnetd-stderr");
	g->pid = spawn(args, p[1], g->err);
	close(p[1]);
	g->out = p[0];
	tn_set_nonblock(g->out);

	while (g->ready[0] == '\0') {
		char *nl = memchr(buf, '\n', len);
		if (nl != NULL) {
			*nl = '\0';
			take_line(g, buf);
			len -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, len);
			continue;
		}
		int64_t left = deadline - tn_now_ms();
		ck_assert_msg(left > 0, "gnetd was not ready within %d ms; "
		    "stdout \"%.*s\", stderr:\n%s", TN_CHILD_START_MS, (int)len,
		    buf, tn_gnetd_stderr(g));
		ck_assert_msg(len < sizeof buf - 1, "gnetd: line too long");
		struct pollfd pfd = { .fd = g->out, .events = POLLIN };
		poll(&pfd, 1, left > 100 ? 100 : (int)left);
		ssize_t r = read(g->out, buf + len, sizeof buf - 1 - len);
		if (r > 0) {
			len += (size_t)r;
		} else if (r == 0) {
			int reaped = tn_reap(g->pid, &st, TN_CHILD_STOP_MS);
			ck_abort_msg("gnetd exited before it was ready (%s); "
			    "stdout \"%.*s\", stderr:\n%s",
			    reaped ? tn_describe_status(st) : "still running",
			    (int)len, buf, tn_gnetd_stderr(g));
		}
	}
}

int
tn_gnetd_signal(tn_gnetd_t *g, int sig, int timeout_ms)
{
	int st = 0;

	ck_assert_msg(kill(g->pid, sig) == 0, "kill gnetd: %s", strerror(errno));
	if (!tn_reap(g->pid, &st, timeout_ms)) {
		kill(g->pid, SIGKILL);
		tn_reap(g->pid, &st, TN_CHILD_STOP_MS);
		ck_abort_msg("gnetd did not exit within %d ms of signal %d; "
		    "stderr:\n%s", timeout_ms, sig, tn_gnetd_stderr(g));
	}
	tn_close(&g->out);
	return st;
}

void
tn_gnetd_stop(tn_gnetd_t *g, int sig, int want)
{
	int st = tn_gnetd_signal(g, sig, TN_CHILD_STOP_MS);

	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == want,
	    "gnetd stopped by signal %d: %s (want exit status %d); stderr:\n%s",
	    sig, tn_describe_status(st), want, tn_gnetd_stderr(g));
	tn_close(&g->err);
}

void
tn_gnetd_run(tn_gnetd_run_t *r, const char *const *args, int timeout_ms)
{
	int out = tn_memory_file("gnetd-stdout"), err = tn_memory_file("gnetd-stderr");
	pid_t pid = spawn(args, out, err);

	if (!tn_reap(pid, &r->status, timeout_ms)) {
		kill(pid, SIGKILL);
		tn_reap(pid, &r->status, TN_CHILD_STOP_MS);
		tn_memory_read(err, r->err, sizeof r->err);
		ck_abort_msg("gnetd did not finish within %d ms; stderr:\n%s",
		    timeout_ms, r->err);
	}
	tn_memory_read(out, r->out, sizeof r->out);
	tn_memory_read(err, r->err, sizeof r->err);
	close(out);
	close(err);
}
