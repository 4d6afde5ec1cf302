/*
 * tmux_pane.c -- a program in a tmux pane (tmux_pane.h). Every tmux
 * command is a short child run through child.c's tn_run_tool, with a
 * deadline.
 */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "testnet.h"
#include "tmpdir.h"
#include "tmux_pane.h"

#define TMUX_CMD_MS 10000       /* one tmux command */
#define MAX_ARGS 48
#define SESSION "tn"

/* The shell around the program: its status, then stay -- for a minute.
 * The program gets at most five minutes (timeout --foreground keeps it
 * on the terminal): a server nobody killed still goes away by itself. */
static const char wrapper[] =
    "timeout --foreground -k 5 300 \"$@\"; echo \"EXITED $?\"; "
    "exec sleep 60";

/* The suite's process, whose pid names the panes' folders. */
static pid_t owner;

void
tn_pane_owner_setup(void)
{
	owner = getpid();
}

static pid_t
owner_pid(void)
{
	return owner != 0 ? owner : getpid();
}

/* tmux kill-server, without Check (a teardown in the suite's process). */
static void
kill_server(const char *sock)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);

		if (devnull >= 0) {
			dup2(devnull, STDOUT_FILENO);
			dup2(devnull, STDERR_FILENO);
		}
		execlp("tmux", "tmux", "-S", sock, "kill-server", (char *)NULL);
		_exit(127);
	}
	if (pid < 0)
		return;
	for (int i = 0; i < 500 && waitpid(pid, &st, WNOHANG) == 0; i++)
		usleep(10 * 1000);
	if (waitpid(pid, &st, WNOHANG) == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	}
}

void
tn_pane_sweep(void)
{
	char prefix[64], sock[256], dir[256];
	struct dirent *e;
	DIR *tmp = opendir("/tmp");

	if (tmp == NULL)
		return;
	snprintf(prefix, sizeof prefix, "gnet-tmux-%ld-", (long)owner_pid());
	while ((e = readdir(tmp)) != NULL) {
		if (strncmp(e->d_name, prefix, strlen(prefix)) != 0)
			continue;
		snprintf(dir, sizeof dir, "/tmp/%.200s", e->d_name);
		snprintf(sock, sizeof sock, "%.200s/sock", dir);
		kill_server(sock);
		unlink(sock);
		rmdir(dir);
	}
	closedir(tmp);
}

/* Run tmux -S sock ARGS...; its output (stderr merged) in t. */
static void
tmux(tn_pane_t *p, tn_tool_run_t *t, const char *const *args)
{
	const char *argv[MAX_ARGS];
	int n = 0;

	argv[n++] = "tmux";
	argv[n++] = "-S";
	argv[n++] = p->sock;
	argv[n++] = "-f";
	argv[n++] = "/dev/null";
	for (int i = 0; args[i] != NULL; i++) {
		ck_assert_msg(n < MAX_ARGS - 1, "too many tmux arguments");
		argv[n++] = args[i];
	}
	argv[n] = NULL;
	tn_run_tool(t, argv, NULL, 1, TMUX_CMD_MS);
}

static tn_tool_run_t *
run_new(void)
{
	tn_tool_run_t *t = malloc(sizeof *t);

	ck_assert(t != NULL);
	return t;
}

void
tn_pane_start(tn_pane_t *p, int cols, int rows, const char *const *argv)
{
	const char *args[MAX_ARGS];
	char c[16], r[16], tag[32];
	tn_tool_run_t *t = run_new();
	tn_tmpdir_t d;
	int n = 0;

	memset(p, 0, sizeof *p);
	snprintf(tag, sizeof tag, "tmux-%ld", (long)owner_pid());
	tn_tmpdir_make(&d, tag);
	snprintf(p->dir, sizeof p->dir, "%s", d.path);
	tn_tmpdir_file(&d, "sock", p->sock, sizeof p->sock);
	p->open = 1;
	/* A test run from inside tmux must still get a server of its own. */
	unsetenv("TMUX");
	snprintf(c, sizeof c, "%d", cols);
	snprintf(r, sizeof r, "%d", rows);
	args[n++] = "new-session";
	args[n++] = "-d";
	args[n++] = "-s";
	args[n++] = SESSION;
	args[n++] = "-x";
	args[n++] = c;
	args[n++] = "-y";
	args[n++] = r;
	args[n++] = "sh";
	args[n++] = "-c";
	args[n++] = wrapper;
	args[n++] = "sh";
	for (int i = 0; argv[i] != NULL; i++) {
		ck_assert_msg(n < MAX_ARGS - 1, "too many arguments");
		args[n++] = argv[i];
	}
	args[n] = NULL;
	tmux(p, t, args);
	ck_assert_msg(t->status == 0, "tmux new-session: %s: %s",
	    tn_describe_status(t->status), t->out);
	free(t);
}

const char *
tn_pane_capture(tn_pane_t *p)
{
	const char *args[] = { "capture-pane", "-p", "-t", SESSION, NULL };
	tn_tool_run_t *t = run_new();

	tmux(p, t, args);
	ck_assert_msg(t->status == 0, "tmux capture-pane: %s: %s",
	    tn_describe_status(t->status), t->out);
	snprintf(p->text, sizeof p->text, "%s", t->out);
	free(t);
	return p->text;
}

int
tn_pane_wait(tn_pane_t *p, int (*pred)(const char *screen, void *arg),
    void *arg, int timeout_ms)
{
	int64_t deadline = tn_now_ms() + timeout_ms;

	/* A capture is a process: poll every 50 ms, not every 1. */
	for (;;) {
		if (pred(tn_pane_capture(p), arg))
			return 1;
		if (tn_now_ms() >= deadline)
			return 0;
		usleep(50 * 1000);
	}
}

static int
has_text(const char *screen, void *text)
{
	return strstr(screen, text) != NULL;
}

static int
lacks_text(const char *screen, void *text)
{
	return strstr(screen, text) == NULL;
}

int
tn_pane_wait_text(tn_pane_t *p, const char *text, int timeout_ms)
{
	return tn_pane_wait(p, has_text, (void *)text, timeout_ms);
}

int
tn_pane_wait_gone(tn_pane_t *p, const char *text, int timeout_ms)
{
	return tn_pane_wait(p, lacks_text, (void *)text, timeout_ms);
}

void
tn_pane_keys(tn_pane_t *p, const char *keys)
{
	const char *args[] = { "send-keys", "-t", SESSION, keys, NULL };
	tn_tool_run_t *t = run_new();

	tmux(p, t, args);
	ck_assert_msg(t->status == 0, "tmux send-keys %s: %s: %s", keys,
	    tn_describe_status(t->status), t->out);
	free(t);
}

void
tn_pane_type(tn_pane_t *p, const char *text)
{
	const char *args[] = { "send-keys", "-t", SESSION, "-l", text, NULL };
	tn_tool_run_t *t = run_new();

	tmux(p, t, args);
	ck_assert_msg(t->status == 0, "tmux send-keys -l %s: %s: %s", text,
	    tn_describe_status(t->status), t->out);
	free(t);
}

void
tn_pane_format(tn_pane_t *p, const char *fmt, char *out, size_t cap)
{
	const char *args[] = { "display-message", "-p", "-t", SESSION, fmt,
		NULL };
	tn_tool_run_t *t = run_new();

	tmux(p, t, args);
	ck_assert_msg(t->status == 0, "tmux display-message %s: %s: %s", fmt,
	    tn_describe_status(t->status), t->out);
	snprintf(out, cap, "%.*s", (int)strcspn(t->out, "\n"), t->out);
	free(t);
}

static int
exited(const char *screen, void *arg)
{
	const char *at = strstr(screen, "EXITED ");

	(void)arg;
	return at != NULL && at[7] >= '0' && at[7] <= '9';
}

int
tn_pane_exit_status(tn_pane_t *p, int timeout_ms)
{
	if (!tn_pane_wait(p, exited, NULL, timeout_ms))
		return -1;
	return atoi(strstr(p->text, "EXITED ") + 7);
}

void
tn_pane_close(tn_pane_t *p)
{
	if (!p->open)
		return;
	const char *args[] = { "kill-server", NULL };
	tn_tool_run_t *t = run_new();

	tmux(p, t, args);       /* no server left is fine too */
	free(t);
	unlink(p->sock);
	rmdir(p->dir);
	p->open = 0;
}

int
tn_screen_row(const char *screen, const char *text)
{
	const char *at = strstr(screen, text);
	int row = 0;

	if (at == NULL)
		return -1;
	for (const char *s = screen; s < at; s++)
		row += *s == '\n';
	return row;
}
