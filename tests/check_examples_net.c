/*
 * check_examples_net.c -- integration suite "examples_net": the network
 * examples (udp_echo, uds_echo, push, blocking_echo, http) run as child
 * processes, exactly as a user starts them, and are driven by real clients:
 * socat, curl and wrk where the brief of the example names them, raw
 * sockets where the test must count or time every byte.
 *
 * Each test starts its example with --port 0 (or a socket path in a fresh
 * temporary folder) and reads the port from the example's "listening" line,
 * so suites running in parallel never fight over a port. Every wait has a
 * deadline. Each test ends by sending SIGTERM (or SIGINT) and requires exit
 * status 0 within a bound -- under ASan that also means no leak and no
 * error in the example. Children die with the test process
 * (PR_SET_PDEATHSIG), and the teardown kills any a failed test left.
 *
 * The binaries are found from /proc/self/exe: this suite lives in
 * BUILD/tests/, the examples in BUILD/examples/.
 *
 * A sub-check that needs socat, curl or wrk is skipped, with a message on
 * stderr, only when that tool is not installed.
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
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "gnet.h"
#include "support/testnet.h"

#define TCASE_TIMEOUT_S 120
#define START_MS 20000      /* until the listening line (ASan start-up is slow) */
#define STOP_MS 20000       /* from SIGTERM to exit (running jobs finish first) */
#define IO_MS 10000         /* one client exchange */
#define TOOL_MS 30000       /* one socat / curl / wrk run */

#define MAX_CHILDREN 8
#define TOOL_OUT_CAP (64 * 1024)

#define UDP_DGRAMS 100
#define UDP_DGRAM_BYTES 1024
#define UDP_WINDOW 16       /* datagrams in flight: far below any socket buffer */

#define PUSH_LINES 3
#define BLOCK_DELAY_MS 300
#define BLOCK_CLIENTS 8
#define HTTP_PIPELINED 16
#define HTTP_BIG_BODY (1024 * 1024)
#define HTTP_LONG_HEADER 9000 /* over the example's 8 KiB header limit */

/* ------------------------------------------------------------------------
 * Children: examples and client tools. Every pid is tracked until reaped so
 * a failed test leaves none behind.
 */
static pid_t tracked[MAX_CHILDREN];

static void track(pid_t pid)
{
	for (int i = 0; i < MAX_CHILDREN; i++) {
		if (tracked[i] == 0) {
			tracked[i] = pid;
			return;
		}
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	ck_abort_msg("more than %d children at once", MAX_CHILDREN);
}

static void untrack(pid_t pid)
{
	for (int i = 0; i < MAX_CHILDREN; i++)
		if (tracked[i] == pid)
			tracked[i] = 0;
}

/* Checked teardown (and the end of a failed no-fork test). */
static void kill_strays(void)
{
	for (int i = 0; i < MAX_CHILDREN; i++) {
		if (tracked[i] != 0) {
			kill(tracked[i], SIGKILL);
			waitpid(tracked[i], NULL, 0);
			tracked[i] = 0;
		}
	}
}

/* In a freshly forked child: die with the test, get default signals. */
static void child_prepare(pid_t parent)
{
	sigset_t none;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127); /* the test died before prctl took effect */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL); /* the test itself ignores it */
}

/* Wait (bounded) for pid to exit; returns 1 and its status, or 0. */
static int reap(pid_t pid, int *status, int timeout_ms)
{
	pid_t r = 0;

	TN_WAIT_UNTIL((r = waitpid(pid, status, WNOHANG)) != 0, timeout_ms);
	if (r == pid)
		untrack(pid);
	return r == pid;
}

static const char *describe_status(int st)
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
typedef struct example {
	const char *name;
	pid_t pid;
	int out;            /* read end of its stdout */
	char line[512];     /* what it printed first: "NAME: listening on ..." */
	int port;           /* parsed from the line; -1 for a Unix socket */
} example_t;

/* BUILD/tests/check_examples_net -> BUILD/examples/NAME */
static void example_path(const char *name, char *out, size_t cap)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	char *slash;

	ck_assert_msg(n > 0, "readlink /proc/self/exe: %s", strerror(errno));
	self[n] = '\0';
	for (int k = 0; k < 2; k++) {
		slash = strrchr(self, '/');
		ck_assert_msg(slash != NULL, "unexpected test path %s", self);
		*slash = '\0';
	}
	int k = snprintf(out, cap, "%s/examples/%s", self, name);
	ck_assert_msg(k > 0 && (size_t)k < cap, "path too long");
	ck_assert_msg(access(out, X_OK) == 0,
	    "example %s not found at %s: build the examples of this BUILD "
	    "too (make all)", name, out);
}

/* Start BUILD/examples/NAME with args (NULL-terminated) and wait for its
 * listening line. */
static void example_start(example_t *ex, const char *name,
    const char *const *args)
{
	char path[PATH_MAX];
	const char *argv[16];
	int p[2], n = 0, st;
	pid_t parent = getpid();

	memset(ex, 0, sizeof *ex);
	ex->name = name;
	ex->port = -1;
	example_path(name, path, sizeof path);
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
		child_prepare(parent);
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
	int64_t deadline = tn_now_ms() + START_MS;
	while (memchr(ex->line, '\n', len) == NULL) {
		int64_t left = deadline - tn_now_ms();
		ck_assert_msg(left > 0, "%s printed no listening line within %d ms "
		    "(got \"%.*s\")", name, START_MS, (int)len, ex->line);
		ck_assert_msg(len < sizeof ex->line - 1, "%s: line too long", name);
		struct pollfd pfd = { .fd = ex->out, .events = POLLIN };
		poll(&pfd, 1, left > 100 ? 100 : (int)left);
		ssize_t r = read(ex->out, ex->line + len, sizeof ex->line - 1 - len);
		if (r > 0) {
			len += (size_t)r;
		} else if (r == 0) {
			int reaped = reap(ex->pid, &st, STOP_MS);
			ck_abort_msg("%s exited before listening (%s), output \"%.*s\"",
			    name, reaped ? describe_status(st) : "still running",
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

/* Send sig and require exit status 0 within STOP_MS. */
static void example_stop(example_t *ex, int sig)
{
	int st = 0;

	ck_assert_msg(kill(ex->pid, sig) == 0, "kill %s: %s", ex->name,
	    strerror(errno));
	if (!reap(ex->pid, &st, STOP_MS)) {
		kill(ex->pid, SIGKILL);
		reap(ex->pid, &st, STOP_MS);
		ck_abort_msg("%s did not exit within %d ms of signal %d", ex->name,
		    STOP_MS, sig);
	}
	close(ex->out);
	ex->out = -1;
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "%s stopped by signal %d: %s (want exit status 0)", ex->name, sig,
	    describe_status(st));
}

/* ------------------------------------------------------------------------
 * Client tools.
 */
static int have_tool(const char *name)
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

#define SKIP_WITHOUT(tool, what) \
	(have_tool(tool) ? 0 : \
	    (fprintf(stderr, "SKIP %s: %s is not installed\n", what, tool), 1))

typedef struct tool_run {
	int status;               /* wait status; -1 when killed on timeout */
	size_t len;
	char out[TOOL_OUT_CAP];   /* stdout (and stderr if merged), NUL-ended */
} tool_run_t;

/* Run argv (searched in PATH) with `in` on its stdin, collect its stdout,
 * all within timeout_ms. */
static void run_tool(tool_run_t *t, const char *const *argv, const char *in,
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
		child_prepare(parent);
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
	if (out_open || !reap(pid, &st, left > 0 ? (int)left : 0)) {
		kill(pid, SIGKILL);
		reap(pid, &st, STOP_MS);
		ck_abort_msg("%s did not finish within %d ms; output so far:\n%s",
		    argv[0], timeout_ms, t->out);
	}
	t->status = st;
}

static void assert_tool_ok(const tool_run_t *t, const char *what)
{
	ck_assert_msg(WIFEXITED(t->status) && WEXITSTATUS(t->status) == 0,
	    "%s: %s, output:\n%s", what, describe_status(t->status), t->out);
}

/* ------------------------------------------------------------------------
 * Small socket helpers.
 */
static struct sockaddr_in loopback(int port)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sin;
}

/* A line reader over a socket, with a deadline per line. */
typedef struct line_reader {
	int fd;
	size_t len;
	char buf[4096];
} line_reader_t;

/* The next line without its "\n": 1, or 0 on EOF, error or timeout. */
static int read_line(line_reader_t *r, char *line, size_t cap, int timeout_ms)
{
	int64_t deadline = tn_now_ms() + timeout_ms;

	for (;;) {
		char *nl = memchr(r->buf, '\n', r->len);
		if (nl != NULL) {
			size_t n = (size_t)(nl - r->buf);
			if (n >= cap)
				n = cap - 1;
			memcpy(line, r->buf, n);
			line[n] = '\0';
			r->len -= (size_t)(nl + 1 - r->buf);
			memmove(r->buf, nl + 1, r->len);
			return 1;
		}
		if (r->len == sizeof r->buf)
			return 0;
		int64_t left = deadline - tn_now_ms();
		if (left <= 0)
			return 0;
		struct pollfd pfd = { .fd = r->fd, .events = POLLIN };
		poll(&pfd, 1, left > 100 ? 100 : (int)left);
		ssize_t n = recv(r->fd, r->buf + r->len, sizeof r->buf - r->len,
		    MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return 0;
		if (n > 0)
			r->len += (size_t)n;
	}
}

/* ------------------------------------------------------------------------
 * udp_echo: socat, then 100 x 1 KiB datagrams each checked byte for byte.
 */
static void udp_dgram(uint8_t *p, uint32_t seq)
{
	tn_fill_random(p, UDP_DGRAM_BYTES, 1000 + seq);
	memcpy(p, &seq, sizeof seq);
}

static void udp_hundred(int port)
{
	struct sockaddr_in sin = loopback(port);
	uint8_t tx[UDP_DGRAM_BYTES], want[UDP_DGRAM_BYTES], rx[2 * UDP_DGRAM_BYTES];
	uint8_t seen[UDP_DGRAMS] = { 0 };
	uint32_t sent = 0, got = 0;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	ck_assert_msg(fd >= 0, "socket: %s", strerror(errno));
	/* connect: only the server's datagrams reach this socket. */
	ck_assert_msg(connect(fd, (struct sockaddr *)&sin, sizeof sin) == 0,
	    "connect: %s", strerror(errno));
	int64_t deadline = tn_now_ms() + IO_MS;
	while (got < UDP_DGRAMS && tn_now_ms() < deadline) {
		/* A bounded window keeps loopback from dropping anything, so
		 * every datagram must come back. */
		while (sent < UDP_DGRAMS && sent - got < UDP_WINDOW) {
			udp_dgram(tx, sent);
			ssize_t w = send(fd, tx, sizeof tx, 0);
			ck_assert_msg(w == (ssize_t)sizeof tx, "send %u: %zd (%s)", sent,
			    w, strerror(errno));
			sent++;
		}
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		poll(&pfd, 1, 100);
		for (;;) {
			ssize_t r = recv(fd, rx, sizeof rx, MSG_DONTWAIT);
			if (r < 0)
				break;
			uint32_t seq;
			ck_assert_msg(r == UDP_DGRAM_BYTES, "echo of %zd bytes, want %d",
			    r, UDP_DGRAM_BYTES);
			memcpy(&seq, rx, sizeof seq);
			ck_assert_msg(seq < sent, "echo of datagram %u never sent", seq);
			ck_assert_msg(!seen[seq], "datagram %u echoed twice", seq);
			udp_dgram(want, seq);
			ck_assert_msg(memcmp(rx, want, sizeof want) == 0,
			    "echo of datagram %u differs", seq);
			seen[seq] = 1;
			got++;
		}
	}
	close(fd);
	ck_assert_msg(got == UDP_DGRAMS, "%u of %d datagrams echoed within %d ms",
	    got, UDP_DGRAMS, IO_MS);
}

/* ------------------------------------------------------------------------
 * echo (what make run starts): socat and 1 MiB through a raw socket.
 */
static const char *const echo_args[][6] = {
	{ "--port", "0", NULL },
	{ "--port", "0", "--loops", "2", "--reuseport", NULL },
};

START_TEST(test_echo)
{
	example_t ex;
	tool_run_t *t = malloc(sizeof *t);

	ck_assert_ptr_nonnull(t);
	example_start(&ex, "echo", echo_args[_i]);
	ck_assert_msg(strstr(ex.line, _i == 0 ? "with 1 loop(s)" : "with 2 loop(s)")
	    != NULL, "line \"%s\"", ex.line);
	if (!SKIP_WITHOUT("socat", "echo via socat")) {
		char target[64];
		snprintf(target, sizeof target, "TCP:127.0.0.1:%d", ex.port);
		const char *argv[] = { "socat", "-", target, NULL };
		run_tool(t, argv, "hello\n", 0, TOOL_MS);
		assert_tool_ok(t, "socat TCP");
		ck_assert_str_eq(t->out, "hello\n");
	}
	int fd = tn_connect(ex.port);
	ck_assert_msg(fd >= 0, "connect: %s", strerror(errno));
	uint8_t *payload = malloc(1024 * 1024);
	ck_assert_ptr_nonnull(payload);
	tn_fill_random(payload, 1024 * 1024, 78);
	tn_client_t cl;
	tn_client_init(&cl, fd, payload, 1024 * 1024, NULL, 0);
	ck_assert_msg(tn_pump(&cl, 1, IO_MS) == 0, "%s", tn_pump_error(&cl, 1));
	tn_close(&cl.fd);
	free(payload);
	example_stop(&ex, SIGTERM);
	free(t);
}
END_TEST

static const char *const udp_args[][6] = {
	{ "--port", "0", NULL },
	{ "--port", "0", "--loops", "2", "--reuseport", NULL },
};

START_TEST(test_udp_echo)
{
	example_t ex;
	tool_run_t *t = malloc(sizeof *t);

	ck_assert_ptr_nonnull(t);
	example_start(&ex, "udp_echo", udp_args[_i]);
	ck_assert_msg(strstr(ex.line, _i == 0 ? "(1 loops)" : "(2 loops)") != NULL,
	    "line \"%s\"", ex.line);
	if (!SKIP_WITHOUT("socat", "udp_echo via socat")) {
		char target[64];
		snprintf(target, sizeof target, "UDP:127.0.0.1:%d", ex.port);
		const char *argv[] = { "socat", "-t1", "-", target, NULL };
		run_tool(t, argv, "hi\n", 0, TOOL_MS);
		assert_tool_ok(t, "socat UDP");
		ck_assert_str_eq(t->out, "hi\n");
	}
	udp_hundred(ex.port);
	example_stop(&ex, SIGTERM);
	free(t);
}
END_TEST

/* ------------------------------------------------------------------------
 * uds_echo: socat UNIX-CONNECT, then 1 MiB through a raw Unix socket; the
 * socket file is gone after the stop.
 */
static const char *const uds_args[][2] = { { NULL }, { "--multicore", NULL } };

START_TEST(test_uds_echo)
{
	char dir[] = "/tmp/gnet-uds-XXXXXX";
	char path[sizeof dir + 16];
	const char *args[4];
	example_t ex;
	tool_run_t *t = malloc(sizeof *t);

	ck_assert_ptr_nonnull(t);
	ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp: %s", strerror(errno));
	snprintf(path, sizeof path, "%s/echo.sock", dir);
	args[0] = "--sock";
	args[1] = path;
	args[2] = uds_args[_i][0];
	args[3] = NULL;
	example_start(&ex, "uds_echo", args);
	char want_line[PATH_MAX];
	snprintf(want_line, sizeof want_line, "uds_echo: listening on unix://%s",
	    path);
	ck_assert_str_eq(ex.line, want_line);

	if (!SKIP_WITHOUT("socat", "uds_echo via socat")) {
		char target[PATH_MAX];
		snprintf(target, sizeof target, "UNIX-CONNECT:%s", path);
		const char *argv[] = { "socat", "-", target, NULL };
		run_tool(t, argv, "hello over a unix socket\n", 0, TOOL_MS);
		assert_tool_ok(t, "socat UNIX-CONNECT");
		ck_assert_str_eq(t->out, "hello over a unix socket\n");
	}

	struct sockaddr_un sun;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
	int fd = tn_connect_addr((struct sockaddr *)&sun, sizeof sun, 0);
	ck_assert_msg(fd >= 0, "connect %s: %s", path, strerror(errno));
	uint8_t *payload = malloc(1024 * 1024);
	ck_assert_ptr_nonnull(payload);
	tn_fill_random(payload, 1024 * 1024, 77);
	tn_client_t cl;
	tn_client_init(&cl, fd, payload, 1024 * 1024, NULL, 0);
	ck_assert_msg(tn_pump(&cl, 1, IO_MS) == 0, "%s", tn_pump_error(&cl, 1));
	tn_close(&cl.fd);
	free(payload);

	/* SIGINT here (SIGTERM elsewhere): both stop cleanly. */
	example_stop(&ex, SIGINT);
	ck_assert_msg(access(path, F_OK) != 0 && errno == ENOENT,
	    "socket file %s left behind", path);
	rmdir(dir);
	free(t);
}
END_TEST

/* ------------------------------------------------------------------------
 * push: two clients each read consecutive heartbeats; one leaves, the
 * other keeps getting them.
 */
static void read_heartbeats(line_reader_t *r, int n, const char *who)
{
	unsigned long long prev = 0;
	char line[128];

	for (int i = 0; i < n; i++) {
		unsigned long long v;
		int end = 0;
		ck_assert_msg(read_line(r, line, sizeof line, IO_MS),
		    "%s: heartbeat %d of %d not received within %d ms", who, i + 1,
		    n, IO_MS);
		ck_assert_msg(sscanf(line, "heartbeat %llu%n", &v, &end) == 1 &&
		    line[end] == '\0', "%s: unexpected line \"%s\"", who, line);
		/* The hub sends every beat to every registered connection,
		 * in order: none may be lost or reordered. */
		ck_assert_msg(i == 0 || v == prev + 1,
		    "%s: heartbeat %llu after %llu", who, v, prev);
		prev = v;
	}
}

static const char *const push_args[][6] = {
	{ "--port", "0", "--tick", "50ms", NULL },
	{ "--port", "0", "--tick", "50ms", "--multicore", NULL },
};

START_TEST(test_push)
{
	example_t ex;
	line_reader_t *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);

	ck_assert(a != NULL && b != NULL);
	example_start(&ex, "push", push_args[_i]);
	ck_assert_msg(strstr(ex.line, ", tick 50ms") != NULL, "line \"%s\"",
	    ex.line);
	a->fd = tn_connect(ex.port);
	b->fd = tn_connect(ex.port);
	ck_assert_msg(a->fd >= 0 && b->fd >= 0, "connect: %s", strerror(errno));
	/* What a client says is read and ignored. */
	ck_assert_uint_eq(tn_send_all(a->fd, "ignored\n", 8, IO_MS), 8);
	read_heartbeats(a, PUSH_LINES, "client 1");
	read_heartbeats(b, PUSH_LINES, "client 2");
	/* Client 1 leaves (UNREGISTER); the hub keeps serving client 2. */
	tn_close(&a->fd);
	read_heartbeats(b, PUSH_LINES, "client 2 after client 1 left");
	tn_close(&b->fd);
	example_stop(&ex, SIGTERM);
	free(a);
	free(b);
}
END_TEST

/* ------------------------------------------------------------------------
 * blocking_echo.
 */
static void make_clients(tn_client_t *cl, uint8_t (*msg)[64], int n, int port,
    int first)
{
	for (int i = 0; i < n; i++) {
		int len = snprintf((char *)msg[i], 64, "client %d says hello\n",
		    first + i);
		int fd = tn_connect(port);
		ck_assert_msg(fd >= 0, "connect: %s", strerror(errno));
		tn_client_init(&cl[i], fd, msg[i], (size_t)len, NULL, 0);
	}
}

static void close_clients(tn_client_t *cl, int n)
{
	for (int i = 0; i < n; i++)
		tn_close(&cl[i].fd);
}

/* 8 clients at once with 8 workers: answered after about one delay. A
 * loop that slept per message would need 8 delays; the bound is 4. */
START_TEST(test_blocking_concurrent)
{
	const char *args[] = { "--port", "0", "--delay-ms", "300", NULL };
	tn_client_t cl[BLOCK_CLIENTS + 1];
	uint8_t msg[BLOCK_CLIENTS + 1][64];
	example_t ex;

	example_start(&ex, "blocking_echo", args);
	make_clients(cl, msg, BLOCK_CLIENTS, ex.port, 0);
	int64_t t0 = tn_now_ms();
	int failed = tn_pump(cl, BLOCK_CLIENTS, IO_MS);
	int64_t elapsed = tn_now_ms() - t0;
	ck_assert_msg(failed == 0, "%d client(s) failed: %s", failed,
	    tn_pump_error(cl, BLOCK_CLIENTS));
	/* The sleep really ran in the pool ... */
	ck_assert_msg(elapsed >= BLOCK_DELAY_MS - 10, "answered in %lld ms, "
	    "before the %d ms delay", (long long)elapsed, BLOCK_DELAY_MS);
	/* ... and in parallel, never in the loop. */
	ck_assert_msg(elapsed < 4 * BLOCK_DELAY_MS, "8 answers took %lld ms "
	    "(>= 4 x %d ms): the work is serialised", (long long)elapsed,
	    BLOCK_DELAY_MS);
	close_clients(cl, BLOCK_CLIENTS);

	/* Again with a ninth, plain request on top: the loop still accepts
	 * and reads it while every worker sleeps, and it is answered as soon
	 * as a worker frees up. */
	make_clients(cl, msg, BLOCK_CLIENTS + 1, ex.port, 100);
	t0 = tn_now_ms();
	failed = tn_pump(cl, BLOCK_CLIENTS + 1, IO_MS);
	elapsed = tn_now_ms() - t0;
	ck_assert_msg(failed == 0, "%d client(s) failed: %s", failed,
	    tn_pump_error(cl, BLOCK_CLIENTS + 1));
	ck_assert_msg(elapsed < 4 * BLOCK_DELAY_MS, "9 answers took %lld ms",
	    (long long)elapsed);
	close_clients(cl, BLOCK_CLIENTS + 1);
	example_stop(&ex, SIGTERM);
}
END_TEST

/* One worker, a queue of one job: most submissions get GNET_EAGAIN, the
 * connections wait unread and are woken one per freed slot -- everyone is
 * answered, one delay after the other. */
START_TEST(test_blocking_queue_full)
{
	const char *args[] = { "--port", "0", "--workers", "1", "--queue", "1",
		"--delay-ms", "50", NULL };
	enum { N = 6 };
	tn_client_t cl[N];
	uint8_t msg[N][64];
	example_t ex;

	example_start(&ex, "blocking_echo", args);
	make_clients(cl, msg, N, ex.port, 0);
	int64_t t0 = tn_now_ms();
	int failed = tn_pump(cl, N, IO_MS);
	int64_t elapsed = tn_now_ms() - t0;
	ck_assert_msg(failed == 0, "%d client(s) failed: %s", failed,
	    tn_pump_error(cl, N));
	ck_assert_msg(elapsed >= N * 50 - 10, "%d jobs on one worker took only "
	    "%lld ms", N, (long long)elapsed);
	close_clients(cl, N);
	example_stop(&ex, SIGTERM);
}
END_TEST

/* A connection's messages come back in order, also when they are split
 * into several jobs (64 KiB each) or sent in several writes. */
START_TEST(test_blocking_order)
{
	const char *args[] = { "--port", "0", "--workers", "4", "--delay-ms", "20",
		NULL };
	enum { BIG = 200 * 1024 };
	static const char *const parts[] = { "one ", "two ", "three ", "four\n" };
	char want[64] = "", got[64] = { 0 };
	example_t ex;

	example_start(&ex, "blocking_echo", args);
	int fd = tn_connect(ex.port);
	ck_assert_int_ge(fd, 0);
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
		strcat(want, parts[i]);
		ck_assert_uint_eq(tn_send_all(fd, parts[i], strlen(parts[i]), IO_MS),
		    strlen(parts[i]));
	}
	ck_assert_uint_eq(tn_read_exact(fd, got, strlen(want), IO_MS),
	    strlen(want));
	ck_assert_str_eq(got, want);

	uint8_t *payload = malloc(BIG);
	ck_assert_ptr_nonnull(payload);
	tn_fill_random(payload, BIG, 5);
	tn_client_t cl;
	tn_client_init(&cl, fd, payload, BIG, NULL, 0);
	ck_assert_msg(tn_pump(&cl, 1, IO_MS) == 0, "%s", tn_pump_error(&cl, 1));
	tn_close(&cl.fd);
	free(payload);
	example_stop(&ex, SIGTERM);
}
END_TEST

/* Stop with one job running and others queued: the running job's reply is
 * dropped (on_dropped frees it), queued jobs are cancelled (their cancel
 * function frees them). Exit status 0 -- under ASan: nothing leaked. */
START_TEST(test_blocking_stop_with_jobs)
{
	const char *args[] = { "--port", "0", "--workers", "1", "--delay-ms",
		"300", NULL };
	enum { N = 4 };
	struct pollfd pfd[N];
	char msg[32];
	example_t ex;
	int ready = 0;

	example_start(&ex, "blocking_echo", args);
	for (int i = 0; i < N; i++) {
		int fd = tn_connect(ex.port);
		ck_assert_int_ge(fd, 0);
		int len = snprintf(msg, sizeof msg, "job %d\n", i);
		ck_assert_uint_eq(tn_send_all(fd, msg, (size_t)len, IO_MS),
		    (size_t)len);
		pfd[i] = (struct pollfd){ .fd = fd, .events = POLLIN };
	}
	/* The first answer comes one delay after the first job started; the
	 * loop read the other requests long before, so now one job runs
	 * and two wait in the queue. */
	int64_t deadline = tn_now_ms() + IO_MS;
	while (!ready && tn_now_ms() < deadline)
		ready = poll(pfd, N, 100) > 0;
	ck_assert_msg(ready, "no answer within %d ms", IO_MS);
	example_stop(&ex, SIGTERM);
	for (int i = 0; i < N; i++)
		close(pfd[i].fd);
}
END_TEST

/* ------------------------------------------------------------------------
 * http.
 */
#define HELLO "Hello, World!"
#define GET_REQ "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: check\r\n\r\n"

/* Reads HTTP/1.1 responses (Content-Length framed) from a socket. */
typedef struct http_reader {
	int fd;
	size_t len;
	char buf[256 * 1024];
} http_reader_t;

/* Parse one response off the front of the buffer, reading as needed.
 * Returns its status code and checks a 200's headers and body; 0 on EOF
 * or timeout. */
static int read_response(http_reader_t *r, int timeout_ms)
{
	int64_t deadline = tn_now_ms() + timeout_ms;

	for (;;) {
		char *end = memmem(r->buf, r->len, "\r\n\r\n", 4);
		if (end != NULL) {
			size_t hlen = (size_t)(end - r->buf) + 4, blen = 0;
			char *cl = NULL, *p;
			int code = 0;
			ck_assert_msg(sscanf(r->buf, "HTTP/1.1 %d ", &code) == 1,
			    "bad status line: \"%.40s\"", r->buf);
			for (p = r->buf; p < end; p = strstr(p, "\r\n") + 2)
				if (strncasecmp(p, "Content-Length:", 15) == 0)
					cl = p + 15;
			ck_assert_msg(cl != NULL, "response without Content-Length");
			blen = strtoul(cl, NULL, 10);
			if (r->len >= hlen + blen) {
				if (code == 200) {
					ck_assert_msg(blen == strlen(HELLO) &&
					    memcmp(r->buf + hlen, HELLO, blen) == 0,
					    "body \"%.*s\"", (int)blen, r->buf + hlen);
					/* "Date: Wed, 25 Nov 2026 11:48:24 GMT\r\n" */
					p = memmem(r->buf, hlen, "\r\nDate: ", 8);
					ck_assert_msg(p != NULL && p[8 + 29] == '\r' &&
					    memcmp(p + 8 + 25, " GMT", 4) == 0,
					    "bad or no Date header in \"%.*s\"", (int)hlen,
					    r->buf);
					ck_assert_msg(memmem(r->buf, hlen,
					    "\r\nServer: gnet\r\n", 16) != NULL,
					    "no Server header");
				}
				r->len -= hlen + blen;
				memmove(r->buf, r->buf + hlen + blen, r->len);
				r->buf[r->len] = '\0';
				return code;
			}
		}
		ck_assert_msg(r->len < sizeof r->buf, "response too long");
		int64_t left = deadline - tn_now_ms();
		if (left <= 0)
			return 0;
		struct pollfd pfd = { .fd = r->fd, .events = POLLIN };
		poll(&pfd, 1, left > 100 ? 100 : (int)left);
		ssize_t n = recv(r->fd, r->buf + r->len, sizeof r->buf - 1 - r->len,
		    MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return 0;
		if (n > 0) {
			r->len += (size_t)n;
			r->buf[r->len] = '\0'; /* for sscanf/strstr above */
		}
	}
}

/* Expect `n` responses with status 200, then prove there was no extra one:
 * a malformed request must get the very next response, a 400, then EOF. */
static void expect_200s_then_end(http_reader_t *r, int n, const char *what)
{
	for (int i = 0; i < n; i++) {
		int code = read_response(r, IO_MS);
		ck_assert_msg(code == 200, "%s: response %d of %d: status %d", what,
		    i + 1, n, code);
	}
	ck_assert_uint_eq(tn_send_all(r->fd, "BAD\r\n\r\n", 7, IO_MS), 7);
	int code = read_response(r, IO_MS);
	ck_assert_msg(code == 400, "%s: after %d responses got status %d, want "
	    "the 400 of the probe", what, n, code);
	ck_assert_msg(r->len == 0, "%s: %zu bytes after the last response", what,
	    r->len);
	ck_assert_msg(tn_wait_eof(r->fd, IO_MS, NULL) == 1,
	    "%s: no EOF after the 400", what);
}

static http_reader_t *http_open(int port)
{
	http_reader_t *r = calloc(1, sizeof *r);
	ck_assert_ptr_nonnull(r);
	r->fd = tn_connect(port);
	ck_assert_msg(r->fd >= 0, "connect: %s", strerror(errno));
	return r;
}

static void http_close(http_reader_t *r)
{
	tn_close(&r->fd);
	free(r);
}

static void http_send(http_reader_t *r, const void *p, size_t n)
{
	ck_assert_uint_eq(tn_send_all(r->fd, p, n, IO_MS), n);
}

/* --noproxy: an http_proxy in the environment must not reroute loopback. */
static void http_curl(int port, tool_run_t *t)
{
	char url[64], hdr[] = "Connection: close";
	snprintf(url, sizeof url, "http://127.0.0.1:%d/", port);
#define CURL "curl", "-sS", "--noproxy", "*", "--max-time", "10", \
	"-w", "\n%{http_code}"

	const char *get[] = { CURL, url, NULL };
	run_tool(t, get, NULL, 0, TOOL_MS);
	assert_tool_ok(t, "curl GET");
	ck_assert_str_eq(t->out, HELLO "\n200");

	/* The form data looks like a request line: it must be skipped. */
	const char *post[] = { CURL, "-d", "name=gnet&x=GET / HTTP/1.1", url,
		NULL };
	run_tool(t, post, NULL, 0, TOOL_MS);
	assert_tool_ok(t, "curl POST");
	ck_assert_str_eq(t->out, HELLO "\n200");

	const char *close_get[] = { CURL, "-H", hdr, url, NULL };
	run_tool(t, close_get, NULL, 0, TOOL_MS);
	assert_tool_ok(t, "curl GET, Connection: close");
	ck_assert_str_eq(t->out, HELLO "\n200");

	const char *http10[] = { CURL, "-0", url, NULL };
	run_tool(t, http10, NULL, 0, TOOL_MS);
	assert_tool_ok(t, "curl HTTP/1.0");
	ck_assert_str_eq(t->out, HELLO "\n200");
#undef CURL
}

static void http_wrk(int port, tool_run_t *t)
{
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/", port);
	const char *argv[] = { "wrk", "-t1", "-c8", "-d1s", url, NULL };

	run_tool(t, argv, NULL, 1, TOOL_MS);
	assert_tool_ok(t, "wrk");
	ck_assert_msg(strstr(t->out, "Non-2xx") == NULL, "wrk saw non-2xx "
	    "responses:\n%s", t->out);
	ck_assert_msg(strstr(t->out, "Socket errors") == NULL, "wrk saw socket "
	    "errors:\n%s", t->out);
	const char *rps = strstr(t->out, "Requests/sec:");
	ck_assert_msg(rps != NULL, "no Requests/sec in wrk output:\n%s", t->out);
	ck_assert_msg(strtod(rps + strlen("Requests/sec:"), NULL) > 0,
	    "wrk served no requests:\n%s", t->out);
}

static const char *const http_args[][6] = {
	{ "--port", "0", NULL },
	{ "--port", "0", "--loops", "2", "--reuseport", NULL },
};

START_TEST(test_http_clients)
{
	example_t ex;
	tool_run_t *t = malloc(sizeof *t);

	ck_assert_ptr_nonnull(t);
	example_start(&ex, "http", http_args[_i]);
	ck_assert_msg(strstr(ex.line, _i == 0 ? "(1 loops)" : "(2 loops)") != NULL,
	    "line \"%s\"", ex.line);
	if (!SKIP_WITHOUT("curl", "http via curl"))
		http_curl(ex.port, t);
	if (!SKIP_WITHOUT("wrk", "http under wrk"))
		http_wrk(ex.port, t);
	example_stop(&ex, SIGTERM);
	free(t);
}
END_TEST

START_TEST(test_http_pipelining)
{
	char reqs[HTTP_PIPELINED * sizeof GET_REQ];
	size_t n = 0;
	example_t ex;

	example_start(&ex, "http", http_args[_i]);
	/* 16 requests in one write: 16 answers, not one more. */
	for (int i = 0; i < HTTP_PIPELINED; i++) {
		memcpy(reqs + n, GET_REQ, strlen(GET_REQ));
		n += strlen(GET_REQ);
	}
	http_reader_t *r = http_open(ex.port);
	http_send(r, reqs, n);
	expect_200s_then_end(r, HTTP_PIPELINED, "16 pipelined GETs");
	http_close(r);

	/* A request cut inside its header: one answer once it is whole. */
	r = http_open(ex.port);
	http_send(r, GET_REQ, 10);
	http_send(r, &GET_REQ[10], strlen(GET_REQ) - 10);
	expect_200s_then_end(r, 1, "split GET");
	http_close(r);
	example_stop(&ex, SIGTERM);
}
END_TEST

START_TEST(test_http_bodies)
{
	/* The body looks like a request: parsed as one, it would be
	 * answered twice. */
	static const char post[] = "POST /form HTTP/1.1\r\nHost: x\r\n"
	    "content-length: 18\r\n\r\nGET / HTTP/1.1\r\n\r\n";
	example_t ex;

	example_start(&ex, "http", http_args[_i]);
	http_reader_t *r = http_open(ex.port);
	http_send(r, post, strlen(post));
	http_send(r, GET_REQ, strlen(GET_REQ));
	expect_200s_then_end(r, 2, "POST with a body, then GET");
	http_close(r);

	/* A body split across writes, with the next request glued to its
	 * end. */
	r = http_open(ex.port);
	size_t head = strlen(post) - 18;
	http_send(r, post, head + 5);
	char rest[256];
	snprintf(rest, sizeof rest, "%s%s", post + head + 5, GET_REQ);
	http_send(r, rest, strlen(rest));
	expect_200s_then_end(r, 2, "split body");
	http_close(r);

	/* A 1 MiB body is skipped as it streams in. */
	r = http_open(ex.port);
	char hdr[128];
	int hl = snprintf(hdr, sizeof hdr, "PUT /up HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: %d\r\n\r\n", HTTP_BIG_BODY);
	char *body = malloc(HTTP_BIG_BODY);
	ck_assert_ptr_nonnull(body);
	memset(body, 'x', HTTP_BIG_BODY);
	http_send(r, hdr, (size_t)hl);
	http_send(r, body, HTTP_BIG_BODY);
	http_send(r, GET_REQ, strlen(GET_REQ));
	free(body);
	expect_200s_then_end(r, 2, "1 MiB body");
	http_close(r);

	/* Chunked bodies are refused, not misread as requests. */
	r = http_open(ex.port);
	static const char chunked[] = "POST / HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
	http_send(r, chunked, strlen(chunked));
	ck_assert_int_eq(read_response(r, IO_MS), 501);
	ck_assert_int_eq(tn_wait_eof(r->fd, IO_MS, NULL), 1);
	http_close(r);
	example_stop(&ex, SIGTERM);
}
END_TEST

/* A header block over 8 KiB without its blank line: 431, then close. */
START_TEST(test_http_header_too_long)
{
	example_t ex;
	char *req = malloc(HTTP_LONG_HEADER);

	ck_assert_ptr_nonnull(req);
	example_start(&ex, "http", http_args[_i]);
	http_reader_t *r = http_open(ex.port);
	/* A complete request first: it is still answered. */
	http_send(r, GET_REQ, strlen(GET_REQ));
	ck_assert_int_eq(read_response(r, IO_MS), 200);
	int n = snprintf(req, HTTP_LONG_HEADER, "GET / HTTP/1.1\r\nX-Long: ");
	memset(req + n, 'a', HTTP_LONG_HEADER - (size_t)n);
	/* One send that the server reads whole before it answers and
	 * closes, so the close is a FIN, never an RST racing the 431. */
	http_send(r, req, HTTP_LONG_HEADER);
	ck_assert_int_eq(read_response(r, IO_MS), 431);
	ck_assert_int_eq(tn_wait_eof(r->fd, IO_MS, NULL), 1);
	http_close(r);
	free(req);
	example_stop(&ex, SIGTERM);
}
END_TEST

/* ------------------------------------------------------------------------
 * Bad flags: usage on stderr, exit status 2, for every example.
 */
static const char *const bad_flags[][5] = {
	{ "udp_echo", "--bogus", NULL },
	{ "udp_echo", "--port", "99999", NULL },
	{ "uds_echo", "--sock", NULL },
	{ "uds_echo", "extra", NULL },
	{ "push", "--tick", "5x", NULL },
	{ "push", "--tick", "0s", NULL },
	{ "push", "--port", NULL },
	{ "blocking_echo", "--workers", "0", NULL },
	{ "blocking_echo", "--delay-ms", "soon", NULL },
	{ "http", "--loops", "x", NULL },
	{ "http", "--help", NULL },
};

START_TEST(test_bad_flags)
{
	const char *const *row = bad_flags[_i];
	const char *argv[6];
	char path[PATH_MAX];
	tool_run_t *t = malloc(sizeof *t);
	int n = 0;

	ck_assert_ptr_nonnull(t);
	example_path(row[0], path, sizeof path);
	argv[n++] = path;
	for (int i = 1; row[i] != NULL; i++)
		argv[n++] = row[i];
	argv[n] = NULL;
	run_tool(t, argv, NULL, 1, TOOL_MS);
	ck_assert_msg(WIFEXITED(t->status) && WEXITSTATUS(t->status) == 2,
	    "%s %s: %s, want exit status 2", row[0], row[1],
	    describe_status(t->status));
	ck_assert_msg(strstr(t->out, "usage: ") != NULL, "%s %s: no usage in "
	    "\"%s\"", row[0], row[1], t->out);
	free(t);
}
END_TEST

/* ------------------------------------------------------------------------
 */
static Suite *examples_suite(void)
{
	Suite *s = suite_create("examples_net");
	TCase *tc;

	tc = tn_tcase("echo", TCASE_TIMEOUT_S);
	tcase_add_checked_fixture(tc, NULL, kill_strays);
	tcase_add_loop_test(tc, test_echo, 0, 2);
	suite_add_tcase(s, tc);

	tc = tn_tcase("udp_echo", TCASE_TIMEOUT_S);
	tcase_add_checked_fixture(tc, NULL, kill_strays);
	tcase_add_loop_test(tc, test_udp_echo, 0, 2);
	suite_add_tcase(s, tc);

	tc = tn_tcase("uds_echo", TCASE_TIMEOUT_S);
	tcase_add_checked_fixture(tc, NULL, kill_strays);
	tcase_add_loop_test(tc, test_uds_echo, 0, 2);
	suite_add_tcase(s, tc);

	tc = tn_tcase("push", TCASE_TIMEOUT_S);
	tcase_add_checked_fixture(tc, NULL, kill_strays);
	tcase_add_loop_test(tc, test_push, 0, 2);
	suite_add_tcase(s, tc);

	tc = tn_tcase("blocking_echo", TCASE_TIMEOUT_S);
	tcase_add_checked_fixture(tc, NULL, kill_strays);
	tcase_add_test(tc, test_blocking_concurrent);
	tcase_add_test(tc, test_blocking_queue_full);
	tcase_add_test(tc, test_blocking_order);
	tcase_add_test(tc, test_blocking_stop_with_jobs);
	suite_add_tcase(s, tc);

	tc = tn_tcase("http", TCASE_TIMEOUT_S);
	tcase_add_checked_fixture(tc, NULL, kill_strays);
	tcase_add_loop_test(tc, test_http_clients, 0, 2);
	tcase_add_loop_test(tc, test_http_pipelining, 0, 2);
	tcase_add_loop_test(tc, test_http_bodies, 0, 2);
	tcase_add_loop_test(tc, test_http_header_too_long, 0, 2);
	suite_add_tcase(s, tc);

	tc = tn_tcase("flags", TCASE_TIMEOUT_S);
	tcase_add_checked_fixture(tc, NULL, kill_strays);
	tcase_add_loop_test(tc, test_bad_flags, 0,
	    (int)(sizeof bad_flags / sizeof bad_flags[0]));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	/* A tool that exits before reading all its input must not kill the
	 * suite with SIGPIPE; children get the default back. */
	signal(SIGPIPE, SIG_IGN);
	atexit(kill_strays);
	return tn_run_suite(examples_suite());
}
