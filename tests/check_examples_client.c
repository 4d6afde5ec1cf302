/*
 * check_examples_client.c -- integration suite "examples_client": the
 * outbound-client examples, echo_client and proxy, run as child processes
 * exactly as a user starts them.
 *
 *   echo_client against echo (tcp://, stdin mode and --load), udp_echo
 *   (udp://) and uds_echo (unix://); against nothing it exits 1 with
 *   "Connection refused".
 *   proxy in front of echo (1 MiB per raw client, byte for byte), in front
 *   of a backend socket the test owns (close either side and the other
 *   closes; a dial error closes the client), and in front of a backend
 *   that stops reading: the client is paused, what it could send and the
 *   proxy's RSS stay bounded, and once the backend reads every byte
 *   arrives intact.
 *
 * Servers start with --port 0 and the port is read from their "listening"
 * line. Every wait has a deadline; children are stopped with SIGTERM and
 * must exit 0 (under ASan: no leak), and the teardown kills any a failed
 * test left. Binaries come from BUILD/examples next to BUILD/tests.
 *
 * Try it:  make all && build/release/tests/check_examples_client
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
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "gnet.h"
#include "support/testnet.h"

#define TCASE_TIMEOUT_S 120
#define START_MS 20000      /* until the listening line (ASan start-up is slow) */
#define STOP_MS 20000       /* from SIGTERM to exit */
#define IO_MS 10000         /* one client exchange */
#define TOOL_MS 30000       /* one echo_client run */
#define STALL_MS 1000       /* no room to send for this long: the proxy paused us */

#define MAX_CHILDREN 8
#define TOOL_OUT_CAP (64 * 1024)
#define MIB (1024 * 1024)
#define PROXY_CLIENTS 4
#define BP_SEND_LIMIT (16 * MIB)  /* what a paused client may have sent */
#define BP_RSS_LIMIT_KB (64 * 1024)

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

typedef struct tool_run {
	int status;               /* wait status; -1 when killed on timeout */
	size_t len;
	char out[TOOL_OUT_CAP];   /* stdout (and stderr if merged), NUL-ended */
} tool_run_t;

/* Run argv (a path) with `in` on its stdin, collect its stdout,
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


/* ------------------------------------------------------------------------
 * echo_client runs and small socket helpers.
 */

/* Run echo_client with args (NULL-terminated) and `in` on its stdin;
 * stdout and stderr are collected together. */
static void run_client(tool_run_t *t, const char *const *args, const char *in)
{
	char path[PATH_MAX];
	const char *argv[16];
	int n = 0;

	example_path("echo_client", path, sizeof path);
	argv[n++] = path;
	for (int i = 0; args[i] != NULL && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	run_tool(t, argv, in, 1, TOOL_MS);
}

static void assert_client(const tool_run_t *t, int want_status)
{
	ck_assert_msg(WIFEXITED(t->status) && WEXITSTATUS(t->status) == want_status,
	    "echo_client: %s (want exit status %d), output:\n%s",
	    describe_status(t->status), want_status, t->out);
}

static tool_run_t *new_run(void)
{
	tool_run_t *t = malloc(sizeof *t);

	ck_assert_ptr_nonnull(t);
	return t;
}

/* A TCP socket bound to 127.0.0.1 on a free port (listening when
 * backlog > 0; SO_RCVBUF set first when rcvbuf > 0, for accepted sockets
 * to inherit). */
static int bound_socket(int backlog, int rcvbuf, int *port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof sin;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_msg(fd >= 0, "socket: %s", strerror(errno));
	if (rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_msg(bind(fd, (struct sockaddr *)&sin, sizeof sin) == 0,
	    "bind: %s", strerror(errno));
	ck_assert(getsockname(fd, (struct sockaddr *)&sin, &len) == 0);
	ck_assert_msg(backlog == 0 || listen(fd, backlog) == 0, "listen: %s",
	    strerror(errno));
	*port = ntohs(sin.sin_port);
	return fd;
}

static int accept_within(int lfd, int timeout_ms)
{
	struct pollfd pfd = { .fd = lfd, .events = POLLIN };

	ck_assert_msg(poll(&pfd, 1, timeout_ms) == 1,
	    "the proxy did not connect to the backend within %d ms", timeout_ms);
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	ck_assert_msg(fd >= 0, "accept: %s", strerror(errno));
	return fd;
}

static void start_proxy(example_t *px, int backend_port, int multicore)
{
	char backend[32];
	const char *args[] = { "--port", "0", "--backend", backend,
		multicore ? "--multicore" : NULL, NULL };

	snprintf(backend, sizeof backend, "127.0.0.1:%d", backend_port);
	example_start(px, "proxy", args);
	char want[64];
	snprintf(want, sizeof want, "-> tcp://127.0.0.1:%d (", backend_port);
	ck_assert_msg(strstr(px->line, want) != NULL, "proxy line \"%s\"",
	    px->line);
}

static void start_echo(example_t *ex, const char *name)
{
	const char *args[] = { "--port", "0", NULL };

	example_start(ex, name, args);
	ck_assert_int_gt(ex->port, 0);
}

/* The byte at offset k of the backpressure stream. */
static uint8_t bp_byte(uint64_t k)
{
	return (uint8_t)((k ^ (k >> 8) ^ (k >> 17)) * 37u + 11u);
}

/* ------------------------------------------------------------------------
 * echo_client.
 */
#define THREE_LINES "first line\nsecond line\nthe third and last line\n"

START_TEST(test_client_tcp_lines)
{
	example_t ex;
	tool_run_t *t = new_run();
	char addr[64];

	start_echo(&ex, "echo");
	snprintf(addr, sizeof addr, "tcp://127.0.0.1:%d", ex.port);
	const char *args[] = { "--addr", addr, NULL };
	run_client(t, args, THREE_LINES);
	assert_client(t, 0);
	ck_assert_str_eq(t->out, THREE_LINES);
	/* Empty stdin: nothing to wait for. */
	run_client(t, args, "");
	assert_client(t, 0);
	ck_assert_str_eq(t->out, "");
	example_stop(&ex, SIGTERM);
	free(t);
}
END_TEST

START_TEST(test_client_tcp_load)
{
	example_t ex;
	tool_run_t *t = new_run();
	char addr[64];

	start_echo(&ex, "echo");
	snprintf(addr, sizeof addr, "tcp://127.0.0.1:%d", ex.port);
	const char *args[] = { "--addr", addr, "--load", "1000", "--size", "1024",
		"--conns", "10", NULL };
	run_client(t, args, NULL);
	assert_client(t, 0);
	const char *want = "echo_client: 1000 messages x 1024 bytes over 10 "
	    "connection(s) verified in ";
	ck_assert_msg(strncmp(t->out, want, strlen(want)) == 0 &&
	    strchr(t->out, '\n') == t->out + t->len - 1,
	    "unexpected summary:\n%s", t->out);
	example_stop(&ex, SIGTERM);
	free(t);
}
END_TEST

START_TEST(test_client_udp)
{
	example_t ex;
	tool_run_t *t = new_run();
	char addr[64];

	start_echo(&ex, "udp_echo");
	snprintf(addr, sizeof addr, "udp://127.0.0.1:%d", ex.port);
	const char *args[] = { "--addr", addr, NULL };
	run_client(t, args, THREE_LINES);
	assert_client(t, 0);
	ck_assert_str_eq(t->out, THREE_LINES);
	const char *load[] = { "--addr", addr, "--load", "200", "--size", "512",
		"--conns", "2", NULL };
	run_client(t, load, NULL);
	assert_client(t, 0);
	ck_assert_msg(strstr(t->out, "200 messages x 512 bytes over 2 "
	    "connection(s) verified") != NULL, "summary:\n%s", t->out);
	example_stop(&ex, SIGTERM);
	free(t);
}
END_TEST

START_TEST(test_client_unix)
{
	char dir[] = "/tmp/gnet-client-XXXXXX";
	char path[sizeof dir + 16], addr[sizeof path + 8];
	example_t ex;
	tool_run_t *t = new_run();

	ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp: %s", strerror(errno));
	snprintf(path, sizeof path, "%s/echo.sock", dir);
	const char *sargs[] = { "--sock", path, NULL };
	example_start(&ex, "uds_echo", sargs);
	snprintf(addr, sizeof addr, "unix://%s", path);
	const char *args[] = { "--addr", addr, NULL };
	run_client(t, args, THREE_LINES);
	assert_client(t, 0);
	ck_assert_str_eq(t->out, THREE_LINES);
	example_stop(&ex, SIGTERM);
	rmdir(dir);
	free(t);
}
END_TEST

START_TEST(test_client_refused)
{
	tool_run_t *t = new_run();
	char addr[64];
	int port;
	/* Bound but not listening: a connect is refused, and no one else
	 * can take the port meanwhile. */
	int fd = bound_socket(0, 0, &port);

	snprintf(addr, sizeof addr, "tcp://127.0.0.1:%d", port);
	const char *args[] = { "--addr", addr, NULL };
	run_client(t, args, "never echoed\n");
	assert_client(t, 1);
	ck_assert_msg(strstr(t->out, "Connection refused") != NULL,
	    "stderr:\n%s", t->out);
	const char *load[] = { "--addr", addr, "--load", "10", "--size", "10", NULL };
	run_client(t, load, NULL);
	assert_client(t, 1);
	ck_assert_msg(strstr(t->out, "Connection refused") != NULL,
	    "stderr:\n%s", t->out);
	close(fd);
	free(t);
}
END_TEST

/* ------------------------------------------------------------------------
 * proxy.
 */

/* client -> proxy -> echo: 1 MiB per raw client, byte for byte; then
 * echo_client's load through the proxy too. _i: one loop or multicore. */
START_TEST(test_proxy_echo)
{
	example_t ex, px;
	tn_client_t cl[PROXY_CLIENTS];
	uint8_t *tx = malloc((size_t)PROXY_CLIENTS * MIB);
	tool_run_t *t = new_run();
	char addr[64];

	ck_assert_ptr_nonnull(tx);
	start_echo(&ex, "echo");
	start_proxy(&px, ex.port, _i);
	for (int i = 0; i < PROXY_CLIENTS; i++) {
		uint8_t *p = tx + (size_t)i * MIB;
		tn_fill_random(p, MIB, 500 + (uint64_t)i);
		int fd = tn_connect(px.port);
		ck_assert_msg(fd >= 0, "connect to the proxy: %s", strerror(errno));
		tn_client_init(&cl[i], fd, p, MIB, NULL, 0);
	}
	int left = tn_pump(cl, PROXY_CLIENTS, IO_MS * 3);
	for (int i = 0; i < PROXY_CLIENTS; i++)
		tn_close(&cl[i].fd);
	ck_assert_msg(left == 0, "%s", tn_pump_error(cl, PROXY_CLIENTS));

	snprintf(addr, sizeof addr, "tcp://127.0.0.1:%d", px.port);
	const char *args[] = { "--addr", addr, "--load", "1000", "--size", "4096",
		"--conns", "10", NULL };
	run_client(t, args, NULL);
	assert_client(t, 0);
	example_stop(&px, SIGTERM);
	example_stop(&ex, SIGTERM);
	free(tx);
	free(t);
}
END_TEST

/* Closing either side closes the other, after the bytes in flight. */
START_TEST(test_proxy_close)
{
	example_t px;
	int bport, lfd = bound_socket(16, 0, &bport);
	char buf[16];

	start_proxy(&px, bport, 0);

	/* The client closes: the backend sees its bytes, then EOF. */
	int cfd = tn_connect(px.port);
	ck_assert_int_ge(cfd, 0);
	ck_assert_uint_eq(tn_send_all(cfd, "ping", 4, IO_MS), 4);
	int bfd = accept_within(lfd, IO_MS);
	ck_assert_uint_eq(tn_read_exact(bfd, buf, 4, IO_MS), 4);
	ck_assert_mem_eq(buf, "ping", 4);
	ck_assert_uint_eq(tn_send_all(cfd, "last", 4, IO_MS), 4);
	tn_close(&cfd);
	ck_assert_uint_eq(tn_read_exact(bfd, buf, 4, IO_MS), 4);
	ck_assert_mem_eq(buf, "last", 4);
	ck_assert_int_eq(tn_wait_eof(bfd, IO_MS, NULL), 1);
	tn_close(&bfd);

	/* The backend closes: the client gets its last bytes, then EOF. */
	cfd = tn_connect(px.port);
	ck_assert_int_ge(cfd, 0);
	bfd = accept_within(lfd, IO_MS);
	ck_assert_uint_eq(tn_send_all(bfd, "bye", 3, IO_MS), 3);
	tn_close(&bfd);
	ck_assert_uint_eq(tn_read_exact(cfd, buf, 3, IO_MS), 3);
	ck_assert_mem_eq(buf, "bye", 3);
	ck_assert_int_eq(tn_wait_eof(cfd, IO_MS, NULL), 1);
	tn_close(&cfd);

	/* No backend: the dial fails and the client is closed. */
	close(lfd);
	lfd = bound_socket(0, 0, &bport);
	example_stop(&px, SIGTERM);
	start_proxy(&px, bport, 0);
	cfd = tn_connect(px.port);
	ck_assert_int_ge(cfd, 0);
	ck_assert_int_eq(tn_wait_eof(cfd, IO_MS, NULL), 1);
	tn_close(&cfd);
	example_stop(&px, SIGTERM);
	close(lfd);
}
END_TEST

static long rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* A backend that does not read pauses the client: the client can only
 * fill the buffers on the way (bounded), the proxy's memory stays small,
 * and once the backend reads, every byte arrives in order. */
START_TEST(test_proxy_backpressure)
{
	example_t px;
	int bport, lfd = bound_socket(16, 4096, &bport);
	uint8_t chunk[65536];
	uint64_t sent = 0;
	int64_t deadline = tn_now_ms() + 30000;

	start_proxy(&px, bport, 0);
	int cfd = tn_connect_nb(px.port);
	ck_assert_int_ge(cfd, 0);
	int bfd = accept_within(lfd, IO_MS);

	/* Send until there has been no room for STALL_MS. */
	for (;;) {
		for (size_t k = 0; k < sizeof chunk; k++)
			chunk[k] = bp_byte(sent + k);
		ssize_t w = send(cfd, chunk, sizeof chunk, MSG_NOSIGNAL);
		if (w > 0) {
			sent += (uint64_t)w;
			ck_assert_msg(sent < BP_SEND_LIMIT, "the client sent %llu "
			    "bytes to a backend that does not read: not paused",
			    (unsigned long long)sent);
			continue;
		}
		ck_assert_msg(w < 0 && errno == EAGAIN, "send: %s", strerror(errno));
		struct pollfd pfd = { .fd = cfd, .events = POLLOUT };
		if (poll(&pfd, 1, STALL_MS) == 0)
			break;
		ck_assert_msg(tn_now_ms() < deadline, "the client never stalled");
	}
	ck_assert_uint_gt(sent, 0);
	long kb = rss_kb(px.pid);
	ck_assert_msg(kb > 0 && kb < BP_RSS_LIMIT_KB, "proxy RSS %ld kB with "
	    "%llu bytes held up", kb, (unsigned long long)sent);

	/* The backend reads now: everything, intact, then the client's EOF. */
	uint8_t *rx = malloc((size_t)sent);
	ck_assert_ptr_nonnull(rx);
	ck_assert_uint_eq(tn_read_exact(bfd, rx, (size_t)sent, IO_MS * 3), sent);
	for (uint64_t k = 0; k < sent; k++)
		ck_assert_msg(rx[k] == bp_byte(k), "byte %llu differs",
		    (unsigned long long)k);
	free(rx);
	tn_close(&cfd);
	ck_assert_int_eq(tn_wait_eof(bfd, IO_MS, NULL), 1);
	tn_close(&bfd);
	example_stop(&px, SIGTERM);
	close(lfd);
}
END_TEST

/* ------------------------------------------------------------------------
 * Suite.
 */
static Suite *examples_suite(void)
{
	Suite *s = suite_create("examples_client");
	TCase *tc;

	tc = tn_tcase("echo_client", TCASE_TIMEOUT_S);
	tcase_add_checked_fixture(tc, NULL, kill_strays);
	tcase_add_test(tc, test_client_tcp_lines);
	tcase_add_test(tc, test_client_tcp_load);
	tcase_add_test(tc, test_client_udp);
	tcase_add_test(tc, test_client_unix);
	tcase_add_test(tc, test_client_refused);
	suite_add_tcase(s, tc);

	tc = tn_tcase("proxy", TCASE_TIMEOUT_S);
	tcase_add_checked_fixture(tc, NULL, kill_strays);
	tcase_add_loop_test(tc, test_proxy_echo, 0, 2);
	tcase_add_test(tc, test_proxy_close);
	tcase_add_test(tc, test_proxy_backpressure);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	/* A child that exits before reading its stdin must not kill the
	 * suite with SIGPIPE; children get the default back. */
	signal(SIGPIPE, SIG_IGN);
	atexit(kill_strays);
	return tn_run_suite(examples_suite());
}
