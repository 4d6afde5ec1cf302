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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "gnet.h"
#include "base/sanitizer.h"
#include "support/child.h"
#include "support/http_client.h"
#include "support/testnet.h"

#define TCASE_TIMEOUT_S 120
#define IO_MS 10000         /* one client exchange */
#define TOOL_MS 30000       /* one socat / curl / wrk run */

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
 * udp_echo: socat, then 100 x 1 KiB datagrams each checked byte for byte.
 */
static void udp_dgram(uint8_t *p, uint32_t seq)
{
	tn_fill_random(p, UDP_DGRAM_BYTES, 1000 + seq);
	memcpy(p, &seq, sizeof seq);
}

static void udp_hundred(int port)
{
	struct sockaddr_in sin = tn_loopback(port);
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
/* The runs of echo, udp_echo and http: one loop (_i 0), or two loops
 * with SO_REUSEPORT (_i 1). */
static const char *const loop_args[][6] = {
	{ "--port", "0", NULL },
	{ "--port", "0", "--loops", "2", "--reuseport", NULL },
};

/* Start example `name` with loop_args[i] and check that its listening line
 * names that many loops (`fmt` holds the example's "%d" wording). */
static void start_loops(tn_example_t *ex, const char *name, int i,
    const char *fmt)
{
	char want[32];
	tn_example_start(ex, name, loop_args[i]);
	snprintf(want, sizeof want, fmt, i + 1);
	ck_assert_msg(strstr(ex->line, want) != NULL, "line \"%s\"", ex->line);
}

START_TEST(test_echo)
{
	tn_example_t ex;
	tn_tool_run_t *t = malloc(sizeof *t);

	ck_assert_ptr_nonnull(t);
	start_loops(&ex, "echo", _i, "with %d loop(s)");
	if (!TN_SKIP_WITHOUT("socat", "echo via socat")) {
		char target[64];
		snprintf(target, sizeof target, "TCP:127.0.0.1:%d", ex.port);
		const char *argv[] = { "socat", "-", target, NULL };
		tn_run_tool(t, argv, "hello\n", 0, TOOL_MS);
		tn_assert_tool_ok(t, "socat TCP");
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
	tn_example_stop(&ex, SIGTERM);
	free(t);
}
END_TEST

/* ------------------------------------------------------------------------
 * echo facing clients that send and never read: each connection pauses at
 * the high watermark, and the server's memory per stuck connection stays
 * within the documented high watermark + one read, plus a tenth. The
 * allocator's freed pages count too: the blocks a buffer grew through
 * must not stay resident (only measured with jemalloc: a sanitizer's
 * allocator keeps freed memory in quarantine on purpose).
 */
#define STUCK_CLIENTS 20
#define STUCK_RCVBUF 8192
#define STUCK_STALL_MS 300      /* no room for this long: the server paused */
#define STUCK_PER_CONN_KB ((1024 + 64) * 11 / 10)
/* On io_uring a receive can complete after the pause was decided (the
 * bytes had left the socket): the connection keeps that read too. */
#define STUCK_PER_CONN_KB_URING ((1024 + 64 + 64) * 11 / 10)
#define STUCK_SETTLE_MS 5000    /* a loop trims once a stats interval */

START_TEST(test_echo_stuck_readers)
{
	tn_example_t ex;
	int fds[STUCK_CLIENTS];
	static uint8_t chunk[65536];
	int64_t deadline;

	tn_example_start(&ex, "echo", loop_args[0]);
	long base_kb = tn_rss_kb(ex.pid);
	for (int i = 0; i < STUCK_CLIENTS; i++) {
		fds[i] = tn_connect_rcvbuf(ex.port, STUCK_RCVBUF);
		ck_assert_msg(fds[i] >= 0, "connect: %s", strerror(errno));
		ck_assert_int_eq(tn_set_nonblock(fds[i]), 0);
	}
	/* Send until no client has had room for STUCK_STALL_MS. */
	deadline = tn_now_ms() + 30000;
	for (;;) {
		struct pollfd pfd[STUCK_CLIENTS];
		for (int i = 0; i < STUCK_CLIENTS; i++)
			pfd[i] = (struct pollfd){ .fd = fds[i], .events = POLLOUT };
		int ready = poll(pfd, STUCK_CLIENTS, STUCK_STALL_MS);
		ck_assert_int_ge(ready, 0);
		if (ready == 0)
			break;
		ck_assert_msg(tn_now_ms() < deadline, "the clients never stalled");
		for (int i = 0; i < STUCK_CLIENTS; i++)
			if (pfd[i].revents & POLLOUT)
				(void)send(fds[i], chunk, sizeof chunk, MSG_NOSIGNAL);
	}
	long per_conn_kb = 0;
	const char *be = getenv("GNET_BACKEND");
	long bound_kb = be != NULL && strcmp(be, "uring") == 0 ?
	    STUCK_PER_CONN_KB_URING : STUCK_PER_CONN_KB;
	for (int64_t until = tn_now_ms() + STUCK_SETTLE_MS;;) {
		per_conn_kb = (tn_rss_kb(ex.pid) - base_kb) / STUCK_CLIENTS;
		if (per_conn_kb <= bound_kb || tn_now_ms() >= until)
			break;
		poll(NULL, 0, 100);
	}
	fprintf(stderr, "echo: %ld KiB resident per stuck connection\n",
	    per_conn_kb);
#if !defined(GNET__ASAN) && !defined(GNET__TSAN)
	ck_assert_msg(per_conn_kb <= bound_kb, "%ld KiB resident per "
	    "stuck connection, above %ld KiB (high watermark + one read, on "
	    "io_uring two, + 10%%)", per_conn_kb, bound_kb);
#endif
	/* Every connection still serves: the first one reads its echo. */
	ck_assert_uint_gt(tn_read_exact(fds[0], chunk, sizeof chunk, IO_MS), 0);
	for (int i = 0; i < STUCK_CLIENTS; i++)
		tn_close(&fds[i]);
	tn_example_stop(&ex, SIGTERM);
}
END_TEST

START_TEST(test_udp_echo)
{
	tn_example_t ex;
	tn_tool_run_t *t = malloc(sizeof *t);

	ck_assert_ptr_nonnull(t);
	start_loops(&ex, "udp_echo", _i, "(%d loops)");
	if (!TN_SKIP_WITHOUT("socat", "udp_echo via socat")) {
		char target[64];
		snprintf(target, sizeof target, "UDP:127.0.0.1:%d", ex.port);
		const char *argv[] = { "socat", "-t1", "-", target, NULL };
		tn_run_tool(t, argv, "hi\n", 0, TOOL_MS);
		tn_assert_tool_ok(t, "socat UDP");
		ck_assert_str_eq(t->out, "hi\n");
	}
	udp_hundred(ex.port);
	tn_example_stop(&ex, SIGTERM);
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
	tn_example_t ex;
	tn_tool_run_t *t = malloc(sizeof *t);

	ck_assert_ptr_nonnull(t);
	ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp: %s", strerror(errno));
	snprintf(path, sizeof path, "%s/echo.sock", dir);
	args[0] = "--sock";
	args[1] = path;
	args[2] = uds_args[_i][0];
	args[3] = NULL;
	tn_example_start(&ex, "uds_echo", args);
	char want_line[PATH_MAX];
	snprintf(want_line, sizeof want_line, "uds_echo: listening on unix://%s",
	    path);
	ck_assert_str_eq(ex.line, want_line);

	if (!TN_SKIP_WITHOUT("socat", "uds_echo via socat")) {
		char target[PATH_MAX];
		snprintf(target, sizeof target, "UNIX-CONNECT:%s", path);
		const char *argv[] = { "socat", "-", target, NULL };
		tn_run_tool(t, argv, "hello over a unix socket\n", 0, TOOL_MS);
		tn_assert_tool_ok(t, "socat UNIX-CONNECT");
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
	tn_example_stop(&ex, SIGINT);
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
static void read_heartbeats(tn_line_reader_t *r, int n, const char *who)
{
	unsigned long long prev = 0;
	char line[128];

	for (int i = 0; i < n; i++) {
		unsigned long long v;
		int end = 0;
		ck_assert_msg(tn_read_line(r, line, sizeof line, IO_MS),
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
	tn_example_t ex;
	tn_line_reader_t *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);

	ck_assert(a != NULL && b != NULL);
	tn_example_start(&ex, "push", push_args[_i]);
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
	tn_example_stop(&ex, SIGTERM);
	free(a);
	free(b);
}
END_TEST

/* push facing a client that does not read: the connection skips
 * heartbeats while it is over the high watermark (its memory stays near
 * the watermark, where it grew without bound), and once the client reads
 * again it is told how many it missed. */
#define PUSH_FAST_TICK "1us"
#define PUSH_FAST_BYTES "4096"
#define PUSH_WATCH_MS 3000
#define PUSH_RSS_SLACK_KB (6 * 1024)  /* the high watermark and some */

START_TEST(test_push_slow_reader)
{
	tn_example_t ex;
	const char *args[] = { "--port", "0", "--tick", PUSH_FAST_TICK,
		"--bytes", PUSH_FAST_BYTES, NULL };
	static char buf[65536];
	long peak_kb = 0;

	tn_example_start(&ex, "push", args);
	long base_kb = tn_rss_kb(ex.pid);
	int fd = tn_connect_rcvbuf(ex.port, 8192);
	ck_assert_msg(fd >= 0, "connect: %s", strerror(errno));
	for (int64_t until = tn_now_ms() + PUSH_WATCH_MS; tn_now_ms() < until;) {
		long kb = tn_rss_kb(ex.pid);
		peak_kb = kb > peak_kb ? kb : peak_kb;
		poll(NULL, 0, 100);
	}
	fprintf(stderr, "push: %ld KiB resident at most with a client that "
	    "does not read (%ld at start)\n", peak_kb, base_kb);
#if !defined(GNET__ASAN) && !defined(GNET__TSAN)
	ck_assert_msg(peak_kb - base_kb <= PUSH_RSS_SLACK_KB, "push grew by "
	    "%ld KiB in %d ms for a client that does not read", peak_kb - base_kb,
	    PUSH_WATCH_MS);
#endif
	/* Reading again: the backlog drains, then "missed N heartbeats". */
	size_t kept = 0;
	int found = 0;
	for (int64_t until = tn_now_ms() + IO_MS; !found && tn_now_ms() < until;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		ssize_t n = recv(fd, buf + kept, sizeof buf - 1 - kept, 0);
		ck_assert_msg(n > 0, "push closed the slow client: %zd (%s)", n,
		    n < 0 ? strerror(errno) : "EOF");
		kept += (size_t)n;
		buf[kept] = '\0';
		found = strstr(buf, "missed ") != NULL;
		/* Keep a tail that may hold the start of the line. */
		if (!found && kept > 64) {
			memmove(buf, buf + kept - 64, 64);
			kept = 64;
		}
	}
	ck_assert_msg(found, "no \"missed N heartbeats\" line after reading "
	    "resumed");
	tn_close(&fd);
	tn_example_stop(&ex, SIGTERM);
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
	tn_example_t ex;

	tn_example_start(&ex, "blocking_echo", args);
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
	tn_example_stop(&ex, SIGTERM);
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
	tn_example_t ex;

	tn_example_start(&ex, "blocking_echo", args);
	make_clients(cl, msg, N, ex.port, 0);
	int64_t t0 = tn_now_ms();
	int failed = tn_pump(cl, N, IO_MS);
	int64_t elapsed = tn_now_ms() - t0;
	ck_assert_msg(failed == 0, "%d client(s) failed: %s", failed,
	    tn_pump_error(cl, N));
	ck_assert_msg(elapsed >= N * 50 - 10, "%d jobs on one worker took only "
	    "%lld ms", N, (long long)elapsed);
	close_clients(cl, N);
	tn_example_stop(&ex, SIGTERM);
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
	tn_example_t ex;

	tn_example_start(&ex, "blocking_echo", args);
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
	tn_example_stop(&ex, SIGTERM);
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
	tn_example_t ex;
	int ready = 0;

	tn_example_start(&ex, "blocking_echo", args);
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
	tn_example_stop(&ex, SIGTERM);
	for (int i = 0; i < N; i++)
		close(pfd[i].fd);
}
END_TEST

/* ------------------------------------------------------------------------
 * http.
 */
/* --noproxy: an http_proxy in the environment must not reroute loopback. */
static void http_curl(int port, tn_tool_run_t *t)
{
	char url[64], hdr[] = "Connection: close";
	snprintf(url, sizeof url, "http://127.0.0.1:%d/", port);
#define CURL "curl", "-sS", "--noproxy", "*", "--max-time", "10", \
	"-w", "\n%{http_code}"

	const char *get[] = { CURL, url, NULL };
	tn_run_tool(t, get, NULL, 0, TOOL_MS);
	tn_assert_tool_ok(t, "curl GET");
	ck_assert_str_eq(t->out, HTTP_HELLO "\n200");

	/* The form data looks like a request line: it must be skipped. */
	const char *post[] = { CURL, "-d", "name=gnet&x=GET / HTTP/1.1", url,
		NULL };
	tn_run_tool(t, post, NULL, 0, TOOL_MS);
	tn_assert_tool_ok(t, "curl POST");
	ck_assert_str_eq(t->out, HTTP_HELLO "\n200");

	const char *close_get[] = { CURL, "-H", hdr, url, NULL };
	tn_run_tool(t, close_get, NULL, 0, TOOL_MS);
	tn_assert_tool_ok(t, "curl GET, Connection: close");
	ck_assert_str_eq(t->out, HTTP_HELLO "\n200");

	const char *http10[] = { CURL, "-0", url, NULL };
	tn_run_tool(t, http10, NULL, 0, TOOL_MS);
	tn_assert_tool_ok(t, "curl HTTP/1.0");
	ck_assert_str_eq(t->out, HTTP_HELLO "\n200");
#undef CURL
}

static void http_wrk(int port, tn_tool_run_t *t)
{
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/", port);
	const char *argv[] = { "wrk", "-t1", "-c8", "-d1s", url, NULL };

	tn_run_tool(t, argv, NULL, 1, TOOL_MS);
	tn_assert_tool_ok(t, "wrk");
	ck_assert_msg(strstr(t->out, "Non-2xx") == NULL, "wrk saw non-2xx "
	    "responses:\n%s", t->out);
	ck_assert_msg(strstr(t->out, "Socket errors") == NULL, "wrk saw socket "
	    "errors:\n%s", t->out);
	const char *rps = strstr(t->out, "Requests/sec:");
	ck_assert_msg(rps != NULL, "no Requests/sec in wrk output:\n%s", t->out);
	ck_assert_msg(strtod(rps + strlen("Requests/sec:"), NULL) > 0,
	    "wrk served no requests:\n%s", t->out);
}

START_TEST(test_http_clients)
{
	tn_example_t ex;
	tn_tool_run_t *t = malloc(sizeof *t);

	ck_assert_ptr_nonnull(t);
	start_loops(&ex, "http", _i, "(%d loops)");
	if (!TN_SKIP_WITHOUT("curl", "http via curl"))
		http_curl(ex.port, t);
	if (!TN_SKIP_WITHOUT("wrk", "http under wrk"))
		http_wrk(ex.port, t);
	tn_example_stop(&ex, SIGTERM);
	free(t);
}
END_TEST

START_TEST(test_http_pipelining)
{
	char reqs[HTTP_PIPELINED * sizeof HTTP_GET_REQ];
	size_t n = 0;
	tn_example_t ex;

	tn_example_start(&ex, "http", loop_args[_i]);
	/* 16 requests in one write: 16 answers, not one more. */
	for (int i = 0; i < HTTP_PIPELINED; i++) {
		memcpy(reqs + n, HTTP_GET_REQ, strlen(HTTP_GET_REQ));
		n += strlen(HTTP_GET_REQ);
	}
	http_reader_t *r = http_open(ex.port);
	http_send(r, reqs, n);
	expect_200s_then_end(r, HTTP_PIPELINED, "16 pipelined GETs");
	http_close(r);

	/* A request cut inside its header: one answer once it is whole. */
	r = http_open(ex.port);
	http_send(r, HTTP_GET_REQ, 10);
	http_send(r, &HTTP_GET_REQ[10], strlen(HTTP_GET_REQ) - 10);
	expect_200s_then_end(r, 1, "split GET");
	http_close(r);
	tn_example_stop(&ex, SIGTERM);
}
END_TEST

START_TEST(test_http_bodies)
{
	/* The body looks like a request: parsed as one, it would be
	 * answered twice. */
	static const char post[] = "POST /form HTTP/1.1\r\nHost: x\r\n"
	    "content-length: 18\r\n\r\nGET / HTTP/1.1\r\n\r\n";
	tn_example_t ex;

	tn_example_start(&ex, "http", loop_args[_i]);
	http_reader_t *r = http_open(ex.port);
	http_send(r, post, strlen(post));
	http_send(r, HTTP_GET_REQ, strlen(HTTP_GET_REQ));
	expect_200s_then_end(r, 2, "POST with a body, then GET");
	http_close(r);

	/* A body split across writes, with the next request glued to its
	 * end. */
	r = http_open(ex.port);
	size_t head = strlen(post) - 18;
	http_send(r, post, head + 5);
	char rest[256];
	snprintf(rest, sizeof rest, "%s%s", post + head + 5, HTTP_GET_REQ);
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
	http_send(r, HTTP_GET_REQ, strlen(HTTP_GET_REQ));
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
	tn_example_stop(&ex, SIGTERM);
}
END_TEST

/* A header block over 8 KiB without its blank line: 431, then close. */
START_TEST(test_http_header_too_long)
{
	tn_example_t ex;
	char *req = malloc(HTTP_LONG_HEADER);

	ck_assert_ptr_nonnull(req);
	tn_example_start(&ex, "http", loop_args[_i]);
	http_reader_t *r = http_open(ex.port);
	/* A complete request first: it is still answered. */
	http_send(r, HTTP_GET_REQ, strlen(HTTP_GET_REQ));
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
	tn_example_stop(&ex, SIGTERM);
}
END_TEST

/* Slowloris: clients trickle a request head a byte at a time. The head
 * deadline ends each within --head-timeout with 408, whatever trickles
 * in, while a client that sends whole requests is served throughout. */
#define SLOW_CLIENTS 8
#define HEAD_TIMEOUT_MS 500
#define SLOW_BYTE_MS 50
#define SLOW_LATE_MS 3000
START_TEST(test_http_slowloris)
{
	tn_example_t ex;
	const char *args[] = { "--port", "0", "--head-timeout", "500", NULL };
	static const char head[] = "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: "
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	int fds[SLOW_CLIENTS], ended[SLOW_CLIENTS] = { 0 }, nended = 0;
	char buf[512];
	size_t sent = 0;

	tn_example_start(&ex, "http", args);
	for (int i = 0; i < SLOW_CLIENTS; i++) {
		fds[i] = tn_connect(ex.port);
		ck_assert_msg(fds[i] >= 0, "connect: %s", strerror(errno));
	}
	int64_t start = tn_now_ms();
	while (nended < SLOW_CLIENTS && tn_now_ms() - start < SLOW_LATE_MS &&
	    sent < sizeof head - 1) {
		for (int i = 0; i < SLOW_CLIENTS; i++) {
			if (ended[i])
				continue;
			(void)send(fds[i], head + sent, 1, MSG_NOSIGNAL);
			struct pollfd pfd = { .fd = fds[i], .events = POLLIN };
			if (poll(&pfd, 1, 0) != 1)
				continue;
			ssize_t n = recv(fds[i], buf, sizeof buf - 1, 0);
			ck_assert_msg(n > 0, "slow client %d: %zd before a 408", i, n);
			buf[n] = '\0';
			ck_assert_msg(strncmp(buf, "HTTP/1.1 408 ", 13) == 0,
			    "slow client %d got \"%s\"", i, buf);
			ck_assert_int_eq(tn_wait_eof(fds[i], IO_MS, NULL), 1);
			ended[i] = 1;
			nended++;
		}
		sent++;
		/* The pacing of the attack, not a synchronisation. */
		poll(NULL, 0, SLOW_BYTE_MS);
	}
	long took = (long)(tn_now_ms() - start);
	ck_assert_msg(nended == SLOW_CLIENTS, "%d of %d trickling clients still "
	    "connected after %ld ms (head timeout %d ms)", SLOW_CLIENTS - nended,
	    SLOW_CLIENTS, took, HEAD_TIMEOUT_MS);
	ck_assert_msg(took >= HEAD_TIMEOUT_MS, "ended after %ld ms, before the "
	    "head timeout", took);
	/* A whole request is answered meanwhile and after. */
	http_reader_t *r = http_open(ex.port);
	http_send(r, HTTP_GET_REQ, strlen(HTTP_GET_REQ));
	ck_assert_int_eq(read_response(r, IO_MS), 200);
	http_close(r);
	for (int i = 0; i < SLOW_CLIENTS; i++)
		tn_close(&fds[i]);
	tn_example_stop(&ex, SIGTERM);
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
	{ "echo", "--loops", "abc", NULL },
	{ "echo", "--loops", "1000", NULL },
	{ "echo", "--port", "http", NULL },
	{ "proxy", "--backend", "garbage", NULL },
	{ "proxy", "--backend", "127.0.0.1:99999", NULL },
};

START_TEST(test_bad_flags)
{
	const char *const *row = bad_flags[_i];
	const char *argv[6];
	char path[PATH_MAX];
	tn_tool_run_t *t = malloc(sizeof *t);
	int n = 0;

	ck_assert_ptr_nonnull(t);
	tn_example_path(row[0], path, sizeof path);
	argv[n++] = path;
	for (int i = 1; row[i] != NULL; i++)
		argv[n++] = row[i];
	argv[n] = NULL;
	tn_run_tool(t, argv, NULL, 1, TOOL_MS);
	ck_assert_msg(WIFEXITED(t->status) && WEXITSTATUS(t->status) == 2,
	    "%s %s: %s, want exit status 2", row[0], row[1],
	    tn_describe_status(t->status));
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
	tcase_add_checked_fixture(tc, NULL, tn_kill_strays);
	tcase_add_loop_test(tc, test_echo, 0, 2);
	tcase_add_test(tc, test_echo_stuck_readers);
	suite_add_tcase(s, tc);

	tc = tn_tcase("udp_echo", TCASE_TIMEOUT_S);
	tcase_add_checked_fixture(tc, NULL, tn_kill_strays);
	tcase_add_loop_test(tc, test_udp_echo, 0, 2);
	suite_add_tcase(s, tc);

	tc = tn_tcase("uds_echo", TCASE_TIMEOUT_S);
	tcase_add_checked_fixture(tc, NULL, tn_kill_strays);
	tcase_add_loop_test(tc, test_uds_echo, 0, 2);
	suite_add_tcase(s, tc);

	tc = tn_tcase("push", TCASE_TIMEOUT_S);
	tcase_add_checked_fixture(tc, NULL, tn_kill_strays);
	tcase_add_loop_test(tc, test_push, 0, 2);
	tcase_add_test(tc, test_push_slow_reader);
	suite_add_tcase(s, tc);

	tc = tn_tcase("blocking_echo", TCASE_TIMEOUT_S);
	tcase_add_checked_fixture(tc, NULL, tn_kill_strays);
	tcase_add_test(tc, test_blocking_concurrent);
	tcase_add_test(tc, test_blocking_queue_full);
	tcase_add_test(tc, test_blocking_order);
	tcase_add_test(tc, test_blocking_stop_with_jobs);
	suite_add_tcase(s, tc);

	tc = tn_tcase("http", TCASE_TIMEOUT_S);
	tcase_add_checked_fixture(tc, NULL, tn_kill_strays);
	tcase_add_loop_test(tc, test_http_clients, 0, 2);
	tcase_add_loop_test(tc, test_http_pipelining, 0, 2);
	tcase_add_loop_test(tc, test_http_bodies, 0, 2);
	tcase_add_loop_test(tc, test_http_header_too_long, 0, 2);
	tcase_add_test(tc, test_http_slowloris);
	suite_add_tcase(s, tc);

	tc = tn_tcase("flags", TCASE_TIMEOUT_S);
	tcase_add_checked_fixture(tc, NULL, tn_kill_strays);
	tcase_add_loop_test(tc, test_bad_flags, 0,
	    (int)(sizeof bad_flags / sizeof bad_flags[0]));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tn_run_child_suite(examples_suite());
}
