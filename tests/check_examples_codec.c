/*
 * check_examples_codec.c -- suite "examples_codec": the codec examples as
 * a user runs them. The built binaries (codec_server, codec_client,
 * custom_codec) are started as child processes from BUILD/examples/, next
 * to this test's BUILD/tests/ (found through /proc/self/exe).
 *
 * A server is started on port 0 and the test reads the port it really got
 * from its "listening on tcp://127.0.0.1:PORT (N loops)" line, so suites
 * running in parallel never race for a port. Clients are judged by their
 * exit status and final line; the wire format is also checked with raw
 * sockets, byte for byte, so a bug shared by an example's encoder and
 * decoder cannot hide. Misbehaving peers (a 1 GiB length, a wrong
 * version, a peer leaving mid-frame) must cost only their own connection:
 * the server logs the reason and keeps serving. Servers end with SIGTERM
 * or SIGINT and must exit 0 within a bound; under ASan that includes
 * leak-free exits of every child.
 *
 * Every wait has a deadline. Children die with the test: a failed check
 * kills them (CHECK), and each child also asks the kernel for SIGKILL when
 * the test process goes away (PR_SET_PDEATHSIG), which covers Check's own
 * timeout and assertion paths.
 *
 *   make all && build/release/tests/check_examples_codec
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "gnet.h"
#include "support/testnet.h"

#define TCASE_TIMEOUT_S 120
#define START_MS 15000      /* server prints its listening line (ASan is slow to start) */
#define RUN_MS 60000        /* one client run */
#define STOP_MS 15000       /* server exits after SIGTERM/SIGINT */
#define WAIT_MS 5000        /* an expected close or log line */
#define CLIENT_IO_TIMEOUT_MS 5000 /* the clients' own bound on a socket wait */

#define OUT_CAP 16384       /* captured bytes per stream; more is drained */
#define MAX_CHILDREN 8
#define MAX_ARGS 16

/* ------------------------------------------------------------------------
 * Child processes.
 */
typedef struct child {
	pid_t pid;            /* 0 once reaped */
	int fd[2];            /* read ends of stdout, stderr; -1 at EOF */
	char buf[2][OUT_CAP]; /* what they wrote, NUL-terminated */
	size_t len[2];
	int status;           /* wait status, once reaped */
	char name[64];
} child_t;

enum { OUT = 0, ERR = 1 };

/* Children not yet reaped. The pids are kept apart from the child_t
 * (which lives in a test's frame) so the exit hook never follows a
 * pointer into a frame that is gone. */
static child_t *live[MAX_CHILDREN];
static pid_t live_pid[MAX_CHILDREN];

static void child_forget(child_t *ch)
{
	for (int i = 0; i < MAX_CHILDREN; i++) {
		if (live[i] == ch) {
			live[i] = NULL;
			live_pid[i] = 0;
		}
	}
	for (int s = 0; s < 2; s++)
		tn_close(&ch->fd[s]);
}

/* Exit hook: SIGKILL and reap whatever is left, by pid only. */
static void kill_leftovers(void)
{
	for (int i = 0; i < MAX_CHILDREN; i++) {
		if (live_pid[i] > 0) {
			kill(live_pid[i], SIGKILL);
			waitpid(live_pid[i], NULL, 0);
			live_pid[i] = 0;
		}
		live[i] = NULL;
	}
}

/* SIGKILL and reap every child still alive. Safe to call twice. */
static void kill_children(void)
{
	for (int i = 0; i < MAX_CHILDREN; i++) {
		child_t *ch = live[i];
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

/* Fail the test, but first make sure no child outlives it (errno is kept
 * for the message). */
#define CHECK(cond, ...) \
	do { \
		if (!(cond)) { \
			int errno_ = errno; \
			kill_children(); \
			errno = errno_; \
			ck_abort_msg(__VA_ARGS__); \
		} \
	} while (0)

/* BUILD/examples/NAME, from this binary's BUILD/tests/check_... path. */
static void example_path(const char *name, char *path, size_t cap)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	CHECK(n > 0, "readlink /proc/self/exe: %s", strerror(errno));
	self[n] = '\0';
	char *slash = strrchr(self, '/');        /* .../BUILD/tests/check_x */
	CHECK(slash != NULL, "odd test path %s", self);
	*slash = '\0';
	slash = strrchr(self, '/');              /* .../BUILD/tests */
	CHECK(slash != NULL, "odd test path %s", self);
	*slash = '\0';
	int w = snprintf(path, cap, "%s/examples/%s", self, name);
	CHECK(w > 0 && (size_t)w < cap, "example path too long");
	CHECK(access(path, X_OK) == 0, "%s: %s (build the examples first)", path,
	    strerror(errno));
}

/* Start BUILD/examples/NAME with args (NULL-terminated), stdout and stderr
 * captured. */
static void child_spawn(child_t *ch, const char *name, const char *const *args)
{
	char path[PATH_MAX];
	char *argv[MAX_ARGS + 2];
	int out[2], err[2], n = 0, slot = -1;

	memset(ch, 0, sizeof *ch);
	ch->fd[OUT] = ch->fd[ERR] = -1;
	snprintf(ch->name, sizeof ch->name, "%s", name);
	example_path(name, path, sizeof path);
	argv[n++] = path;
	for (; args != NULL && args[n - 1] != NULL; n++) {
		CHECK(n <= MAX_ARGS, "too many arguments");
		argv[n] = (char *)(uintptr_t)args[n - 1];
	}
	argv[n] = NULL;
	for (int i = 0; i < MAX_CHILDREN && slot < 0; i++)
		if (live[i] == NULL)
			slot = i;
	CHECK(slot >= 0, "more than %d children", MAX_CHILDREN);
	/* O_CLOEXEC: a later child must not hold this one's pipes open. */
	CHECK(pipe2(out, O_CLOEXEC) == 0 && pipe2(err, O_CLOEXEC) == 0, "pipe2: %s",
	    strerror(errno));

	pid_t parent = getpid();
	pid_t pid = fork();
	CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		sigset_t none;
		/* Die with the test process, whatever way it ends; if it is
		 * already gone, do not start at all. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		/* The example must see default signal handling whatever the
		 * runner did to ours. */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
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
static int pump_output(int timeout_ms)
{
	struct pollfd pfd[MAX_CHILDREN * 2];
	child_t *owner[MAX_CHILDREN * 2];
	int which[MAX_CHILDREN * 2];
	int n = 0;

	for (int i = 0; i < MAX_CHILDREN; i++) {
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
		child_t *ch = owner[j];
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
		if (keep > OUT_CAP - 1 - ch->len[s])
			keep = OUT_CAP - 1 - ch->len[s];
		memcpy(ch->buf[s] + ch->len[s], scratch, keep);
		ch->len[s] += keep;
		ch->buf[s][ch->len[s]] = '\0';
	}
	return n;
}

/* Wait until stream s of ch contains needle; 1 if it does. */
static int wait_output(child_t *ch, int s, const char *needle, int timeout_ms)
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
static int child_reap(child_t *ch, int timeout_ms)
{
	int64_t deadline = tn_now_ms() + timeout_ms;
	for (;;) {
		pid_t r = waitpid(ch->pid, &ch->status, WNOHANG);
		if (r == ch->pid)
			break;
		CHECK(r == 0, "waitpid(%s): %s", ch->name, strerror(errno));
		if (tn_now_ms() >= deadline)
			return 0;
		/* Output keeps flowing while we wait; once every pipe is
		 * closed, poll the exit in TN_WAIT_UNTIL's 1 ms steps. */
		if (pump_output(10) == 0)
			tn_nap();
	}
	ch->pid = 0;
	/* It is gone: its pipes hit EOF as soon as they are drained. */
	while ((ch->fd[OUT] >= 0 || ch->fd[ERR] >= 0) && tn_now_ms() < deadline + WAIT_MS)
		pump_output(100);
	child_forget(ch);
	return 1;
}

static const char *status_str(int status)
{
	static char buf[64];
	if (WIFEXITED(status))
		snprintf(buf, sizeof buf, "exit status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, sizeof buf, "killed by signal %d", WTERMSIG(status));
	else
		snprintf(buf, sizeof buf, "wait status 0x%x", status);
	return buf;
}

/* Run an example to completion (bounded) and return its exit status
 * (-1 for a death by signal). Output is in ch->buf. */
static int run_example(child_t *ch, const char *name, const char *const *args)
{
	child_spawn(ch, name, args);
	int done = child_reap(ch, RUN_MS);
	CHECK(done, "%s did not finish within %d ms; output: %s%s", name, RUN_MS,
	    ch->buf[OUT], ch->buf[ERR]);
	return WIFEXITED(ch->status) ? WEXITSTATUS(ch->status) : -1;
}

/* Run an example that must succeed and print `line` (a whole line). */
static void run_ok(const char *name, const char *const *args, const char *line)
{
	child_t ch;
	int rc = run_example(&ch, name, args);
	CHECK(rc == 0, "%s: %s; stdout: %s stderr: %s", name, status_str(ch.status),
	    ch.buf[OUT], ch.buf[ERR]);
	if (line != NULL)
		CHECK(strstr(ch.buf[OUT], line) != NULL, "%s: no line \"%s\" in: %s",
		    name, line, ch.buf[OUT]);
}

/* Start a server example and wait for its listening line; return the
 * port it reports and, in *loops, its loop count. */
static int server_start(child_t *ch, const char *name, const char *const *args,
    int *loops)
{
	char prefix[96];
	snprintf(prefix, sizeof prefix, "%s: listening on tcp://127.0.0.1:", name);
	child_spawn(ch, name, args);
	int ok = wait_output(ch, OUT, prefix, START_MS) &&
	    wait_output(ch, OUT, "loops)\n", START_MS);
	CHECK(ok, "%s: no listening line within %d ms; stdout: %s stderr: %s",
	    name, START_MS, ch->buf[OUT], ch->buf[ERR]);
	int port = 0, n = 0;
	int fields = sscanf(strstr(ch->buf[OUT], prefix) + strlen(prefix),
	    "%d (%d loops)", &port, &n);
	CHECK(fields == 2 && port > 0 && port < 65536 && n > 0,
	    "%s: cannot parse \"%s\"", name, ch->buf[OUT]);
	if (loops != NULL)
		*loops = n;
	return port;
}

/* Stop a server with `sig` and check it exits 0 in bounded time. */
static void server_stop(child_t *ch, int sig)
{
	CHECK(kill(ch->pid, sig) == 0, "kill %s: %s", ch->name, strerror(errno));
	int done = child_reap(ch, STOP_MS);
	CHECK(done, "%s still running %d ms after signal %d", ch->name, STOP_MS,
	    sig);
	CHECK(WIFEXITED(ch->status) && WEXITSTATUS(ch->status) == 0,
	    "%s after signal %d: %s; stderr: %s", ch->name, sig,
	    status_str(ch->status), ch->buf[ERR]);
}

/* ------------------------------------------------------------------------
 * Raw sockets: the wire format without the examples' codecs.
 */
static int raw_connect(int port)
{
	int fd = tn_connect(port);
	CHECK(fd >= 0, "connect 127.0.0.1:%d: %s", port, strerror(errno));
	return fd;
}

static void raw_send(int fd, const void *p, size_t n)
{
	CHECK(tn_send_all(fd, p, n, WAIT_MS) == n, "raw send of %zu bytes failed", n);
}

/* Send `tx`, expect exactly `rx` back. */
static void raw_exchange(int fd, const void *tx, size_t txn, const void *rx,
    size_t rxn)
{
	unsigned char got[256];
	CHECK(rxn <= sizeof got, "reply buffer too small");
	raw_send(fd, tx, txn);
	size_t n = tn_read_exact(fd, got, rxn, WAIT_MS);
	CHECK(n == rxn, "got %zu of %zu reply bytes", n, rxn);
	CHECK(memcmp(got, rx, rxn) == 0, "reply differs from the expected bytes");
}

/* The server must close this connection, sending nothing more. */
static void raw_expect_closed(int fd, const char *what)
{
	size_t extra = 0;
	int r = tn_wait_eof(fd, WAIT_MS, &extra);
	CHECK(r == 1 || r == -ECONNRESET, "%s: connection not closed (%d)", what, r);
	CHECK(extra == 0, "%s: %zu unexpected bytes before the close", what, extra);
}

/* The server's stderr names `reason` (a gnet_strerror text). */
static void expect_logged(child_t *srv, int reason)
{
	const char *text = gnet_strerror(reason);
	CHECK(wait_output(srv, ERR, text, WAIT_MS),
	    "%s did not log \"%s\"; stderr: %s", srv->name, text, srv->buf[ERR]);
}

/* ------------------------------------------------------------------------
 * codec_server + codec_client.
 */
static const char default_line[] =
    "codec_client: 10 frames x 1024 bytes over 1 connection(s) verified\n";

/* Loop index: 0 one loop, 1 --multicore, 2 --loops 4. */
START_TEST(test_codec_server_clients)
{
	static const char *const modes[][5] = {
		{ "--port", "0", NULL },
		{ "--port", "0", "--multicore", NULL },
		{ "--port", "0", "--loops", "4", NULL },
	};
	child_t srv;
	int loops = 0;
	int port = server_start(&srv, "codec_server", modes[_i], &loops);
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (_i == 0)
		CHECK(loops == 1, "%d loops, want 1", loops);
	else if (_i == 1)
		CHECK(ncpu < 1 || loops == (ncpu > GNET_MAX_LOOPS ? GNET_MAX_LOOPS : ncpu),
		    "--multicore: %d loops on %ld CPUs", loops, ncpu);
	else
		CHECK(loops == 4, "%d loops, want 4", loops);

	/* The wire format by hand: length 5 + "hello", then two frames in
	 * one segment (one of them empty), each echoed with its header. */
	int fd = raw_connect(port);
	static const unsigned char hello[] = { 0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o' };
	static const unsigned char two[] = { 0, 0, 0, 1, 'a', 0, 0, 0, 0 };
	raw_exchange(fd, hello, sizeof hello, hello, sizeof hello);
	raw_exchange(fd, two, sizeof two, two, sizeof two);
	tn_close(&fd);

	char portarg[16], addr[64];
	snprintf(portarg, sizeof portarg, "%d", port);
	snprintf(addr, sizeof addr, "tcp://127.0.0.1:%d", port);

	/* Defaults: 10 frames x 1024 bytes over 1 connection. */
	run_ok("codec_client", (const char *const[]){ "--port", portarg, NULL },
	    default_line);
	/* Ten connections at once, each interleaving with the others. */
	run_ok("codec_client", (const char *const[]){ "--port", portarg, "--conns",
	    "10", "--size", "1024", "--frames", "50", NULL },
	    "codec_client: 50 frames x 1024 bytes over 10 connection(s) verified\n");
	/* --addr, and empty frames. */
	run_ok("codec_client", (const char *const[]){ "--addr", addr, "--size", "0",
	    "--frames", "5", NULL },
	    "codec_client: 5 frames x 0 bytes over 1 connection(s) verified\n");
	/* Frames larger than the socket buffers: decoded across reads. */
	run_ok("codec_client", (const char *const[]){ "--port", portarg, "--size",
	    "300000", "--frames", "3", "--conns", "3", NULL },
	    "codec_client: 3 frames x 300000 bytes over 3 connection(s) verified\n");

	server_stop(&srv, SIGTERM);
	/* Clean closes (the clients hung up) are not worth a log line. */
	CHECK(strstr(srv.buf[ERR], "codec_server:") == NULL,
	    "unexpected server log: %s", srv.buf[ERR]);
}
END_TEST

/* Bad peers lose their own connection; the server keeps serving. */
START_TEST(test_codec_server_bad_clients)
{
	child_t srv;
	int port = server_start(&srv, "codec_server",
	    (const char *const[]){ "--port", "0", NULL }, NULL);
	char portarg[16];
	snprintf(portarg, sizeof portarg, "%d", port);

	/* A header declaring 1 GiB: refused at the header, nothing of the
	 * body waited for or buffered. */
	int fd = raw_connect(port);
	static const unsigned char huge[] = { 0x40, 0, 0, 0 };
	raw_send(fd, huge, sizeof huge);
	raw_expect_closed(fd, "1 GiB header");
	tn_close(&fd);
	expect_logged(&srv, GNET_EFRAMESIZE);

	/* A peer that leaves in the middle of a frame. */
	fd = raw_connect(port);
	static const unsigned char part[] = { 0, 0, 0, 100, 'p', 'a', 'r', 't' };
	raw_send(fd, part, sizeof part);
	CHECK(shutdown(fd, SHUT_WR) == 0, "shutdown: %s", strerror(errno));
	raw_expect_closed(fd, "half a frame then FIN");
	tn_close(&fd);
	expect_logged(&srv, GNET_ETRUNCATED);

	/* Still serving, on several connections. */
	run_ok("codec_client", (const char *const[]){ "--port", portarg, NULL },
	    default_line);
	run_ok("codec_client", (const char *const[]){ "--port", portarg, "--conns",
	    "10", "--size", "1024", NULL },
	    "codec_client: 10 frames x 1024 bytes over 10 connection(s) verified\n");
	/* SIGINT stops it as cleanly as SIGTERM. */
	server_stop(&srv, SIGINT);
}
END_TEST

/* --max-frame bounds a whole frame, header included. */
START_TEST(test_codec_server_max_frame)
{
	child_t srv, cl;
	int port = server_start(&srv, "codec_server",
	    (const char *const[]){ "--port", "0", "--max-frame", "1028", NULL }, NULL);
	char portarg[16];
	snprintf(portarg, sizeof portarg, "%d", port);

	/* 4 + 1024 = 1028: at the limit, accepted. */
	run_ok("codec_client", (const char *const[]){ "--port", portarg, "--size",
	    "1024", "--frames", "3", NULL },
	    "codec_client: 3 frames x 1024 bytes over 1 connection(s) verified\n");
	/* One byte more: the server closes, the client says so and fails. */
	int rc = run_example(&cl, "codec_client", (const char *const[]){ "--port",
	    portarg, "--size", "1025", "--frames", "3", NULL });
	CHECK(rc == 1, "codec_client over the limit: %s, want exit 1; stderr: %s",
	    status_str(cl.status), cl.buf[ERR]);
	CHECK(strstr(cl.buf[ERR], "server closed the connection") != NULL,
	    "client did not report the close: %s", cl.buf[ERR]);
	CHECK(strstr(cl.buf[OUT], "verified") == NULL, "client claims success: %s",
	    cl.buf[OUT]);
	expect_logged(&srv, GNET_EFRAMESIZE);

	run_ok("codec_client", (const char *const[]){ "--port", portarg, "--size",
	    "1024", NULL }, "verified\n");
	server_stop(&srv, SIGTERM);
}
END_TEST

/* The client fails, in bounded time, when nobody answers. */
START_TEST(test_codec_client_failures)
{
	child_t cl;
	char portarg[16];

	/* A socket bound but not listening: connection refused. */
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(fd >= 0, "socket: %s", strerror(errno));
	struct sockaddr_in sin = { .sin_family = AF_INET,
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof sin;
	CHECK(bind(fd, (struct sockaddr *)&sin, sizeof sin) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0, "bind: %s",
	    strerror(errno));
	snprintf(portarg, sizeof portarg, "%d", ntohs(sin.sin_port));
	int rc = run_example(&cl, "codec_client",
	    (const char *const[]){ "--port", portarg, NULL });
	CHECK(rc == 1, "no listener: %s, want exit 1", status_str(cl.status));
	CHECK(strstr(cl.buf[ERR], "connect") != NULL, "stderr: %s", cl.buf[ERR]);

	/* A listener that never answers: the client gives up after its 5 s
	 * receive timeout instead of hanging. */
	CHECK(listen(fd, 16) == 0, "listen: %s", strerror(errno));
	int64_t t0 = tn_now_ms();
	rc = run_example(&cl, "codec_client",
	    (const char *const[]){ "--port", portarg, NULL });
	int64_t took = tn_now_ms() - t0;
	tn_close(&fd);
	CHECK(rc == 1, "silent server: %s, want exit 1", status_str(cl.status));
	CHECK(strstr(cl.buf[ERR], "timed out") != NULL, "stderr: %s", cl.buf[ERR]);
	CHECK(took >= CLIENT_IO_TIMEOUT_MS - 500, "gave up after only %lld ms",
	    (long long)took);
}
END_TEST

/* ------------------------------------------------------------------------
 * custom_codec.
 */

/* version 0x8001, action, length, data: one frame by hand. */
static size_t custom_frame(unsigned char *p, unsigned version, unsigned action,
    const char *data, uint32_t len)
{
	p[0] = (unsigned char)(version >> 8);
	p[1] = (unsigned char)version;
	p[2] = (unsigned char)(action >> 8);
	p[3] = (unsigned char)action;
	p[4] = (unsigned char)(len >> 24);
	p[5] = (unsigned char)(len >> 16);
	p[6] = (unsigned char)(len >> 8);
	p[7] = (unsigned char)len;
	if (data != NULL)
		memcpy(p + 8, data, len);
	return 8 + (data != NULL ? len : 0);
}

/* Loop index: 0 one loop, 1 --multicore. */
START_TEST(test_custom_codec_server_client)
{
	child_t srv;
	const char *const args[][5] = {
		{ "--server", "--port", "0", NULL },
		{ "--server", "--port", "0", "--multicore", NULL },
	};
	int port = server_start(&srv, "custom_codec", args[_i], NULL);
	char portarg[16];
	snprintf(portarg, sizeof portarg, "%d", port);

	/* The wire format by hand: a reply is the same frame. */
	unsigned char tx[64], tx2[64];
	int fd = raw_connect(port);
	size_t n = custom_frame(tx, 0x8001, 0x0102, "hello", 5);
	raw_exchange(fd, tx, n, tx, n);
	n = custom_frame(tx, 0x8001, 0xfffe, "", 0); /* empty data */
	raw_exchange(fd, tx, n, tx, n);
	tn_close(&fd);

	run_ok("custom_codec", (const char *const[]){ "--client", "--port", portarg,
	    NULL }, "custom_codec: 10 frames (varying action types, 0..100000 data bytes) verified\n");

	/* A good frame, then one with a wrong version in the same segment:
	 * the good one is answered, then the connection is closed. */
	fd = raw_connect(port);
	n = custom_frame(tx, 0x8001, 0x0001, "ok", 2);
	size_t bad = custom_frame(tx + n, 0x0001, 0x0001, "bad", 3);
	raw_send(fd, tx, n + bad);
	CHECK(tn_read_exact(fd, tx2, n, WAIT_MS) == n && memcmp(tx, tx2, n) == 0,
	    "the good frame before the bad one was not answered");
	raw_expect_closed(fd, "wrong version");
	tn_close(&fd);
	expect_logged(&srv, GNET_EBADFRAME);

	/* A data length of 1 GiB: refused at the header. */
	fd = raw_connect(port);
	n = custom_frame(tx, 0x8001, 0x0001, NULL, 1u << 30);
	raw_send(fd, tx, n);
	raw_expect_closed(fd, "1 GiB data length");
	tn_close(&fd);
	expect_logged(&srv, GNET_EFRAMESIZE);

	/* Still serving. */
	run_ok("custom_codec", (const char *const[]){ "--client", "--port", portarg,
	    "--frames", "40", NULL }, "custom_codec: 40 frames (");
	server_stop(&srv, SIGTERM);
	CHECK(strstr(srv.buf[ERR], "failed") == NULL, "server: %s", srv.buf[ERR]);
}
END_TEST

/* No mode: server and client in one process. */
START_TEST(test_custom_codec_self_contained)
{
	run_ok("custom_codec", NULL,
	    "custom_codec: 10 frames (varying action types, 0..100000 data bytes) verified\n");
	run_ok("custom_codec", (const char *const[]){ "--port", "0", "--frames",
	    "25", "--multicore", NULL }, "custom_codec: 25 frames (");
}
END_TEST

static Suite *examples_codec_suite(void)
{
	Suite *s = suite_create("examples_codec");
	TCase *tc;

	tc = tn_tcase("codec_server", TCASE_TIMEOUT_S);
	tcase_add_loop_test(tc, test_codec_server_clients, 0, 3);
	tcase_add_test(tc, test_codec_server_bad_clients);
	tcase_add_test(tc, test_codec_server_max_frame);
	tcase_add_test(tc, test_codec_client_failures);
	suite_add_tcase(s, tc);

	tc = tn_tcase("custom_codec", TCASE_TIMEOUT_S);
	tcase_add_loop_test(tc, test_custom_codec_server_client, 0, 2);
	tcase_add_test(tc, test_custom_codec_self_contained);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	/* Under CK_FORK=no a test runs in this process, so also reap
	 * leftovers when it ends (in fork mode PDEATHSIG covers it). */
	atexit(kill_leftovers);
	return tn_run_suite(examples_codec_suite());
}
