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
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "gnet.h"
#include "support/child.h"
#include "support/sockets.h"
#include "support/testnet.h"

#define TCASE_TIMEOUT_S 120
#define IO_MS 10000         /* one client exchange */
#define TOOL_MS 30000       /* one echo_client run */
#define STALL_MS 1000       /* no room to send for this long: the proxy paused us */

#define MIB (1024 * 1024)
#define PROXY_CLIENTS 4
#define BP_SEND_LIMIT (16 * MIB)  /* what a paused client may have sent */
#define BP_RSS_LIMIT_KB (64 * 1024)

/* ------------------------------------------------------------------------
 * echo_client runs and small socket helpers.
 */

/* Run echo_client with args (NULL-terminated) and `in` on its stdin;
 * stdout and stderr are collected together. */
static void run_client(tn_tool_run_t *t, const char *const *args, const char *in)
{
	char path[PATH_MAX];
	const char *argv[16];
	int n = 0;

	tn_example_path("echo_client", path, sizeof path);
	argv[n++] = path;
	for (int i = 0; args[i] != NULL && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	tn_run_tool(t, argv, in, 1, TOOL_MS);
}

static void assert_client(const tn_tool_run_t *t, int want_status)
{
	ck_assert_msg(WIFEXITED(t->status) && WEXITSTATUS(t->status) == want_status,
	    "echo_client: %s (want exit status %d), output:\n%s",
	    tn_describe_status(t->status), want_status, t->out);
}

static tn_tool_run_t *new_run(void)
{
	tn_tool_run_t *t = malloc(sizeof *t);

	ck_assert_ptr_nonnull(t);
	return t;
}

/* The proxy's connection to a backend the test owns. */
static int accept_within(int lfd, int timeout_ms)
{
	int fd = tn_accept_within(lfd, timeout_ms);

	ck_assert_msg(fd >= 0, "the proxy did not connect to the backend "
	    "within %d ms (%s)", timeout_ms, strerror(errno));
	return fd;
}

static void start_proxy(tn_example_t *px, int backend_port, int multicore)
{
	char backend[32];
	const char *args[] = { "--port", "0", "--backend", backend,
		multicore ? "--multicore" : NULL, NULL };

	snprintf(backend, sizeof backend, "127.0.0.1:%d", backend_port);
	tn_example_start(px, "proxy", args);
	char want[64];
	snprintf(want, sizeof want, "-> tcp://127.0.0.1:%d (", backend_port);
	ck_assert_msg(strstr(px->line, want) != NULL, "proxy line \"%s\"",
	    px->line);
}

static void start_echo(tn_example_t *ex, const char *name)
{
	const char *args[] = { "--port", "0", NULL };

	tn_example_start(ex, name, args);
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
	tn_example_t ex;
	tn_tool_run_t *t = new_run();
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
	tn_example_stop(&ex, SIGTERM);
	free(t);
}
END_TEST

START_TEST(test_client_tcp_load)
{
	tn_example_t ex;
	tn_tool_run_t *t = new_run();
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
	tn_example_stop(&ex, SIGTERM);
	free(t);
}
END_TEST

START_TEST(test_client_udp)
{
	tn_example_t ex;
	tn_tool_run_t *t = new_run();
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
	tn_example_stop(&ex, SIGTERM);
	free(t);
}
END_TEST

START_TEST(test_client_unix)
{
	char dir[] = "/tmp/gnet-client-XXXXXX";
	char path[sizeof dir + 16], addr[sizeof path + 8];
	tn_example_t ex;
	tn_tool_run_t *t = new_run();

	ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp: %s", strerror(errno));
	snprintf(path, sizeof path, "%s/echo.sock", dir);
	const char *sargs[] = { "--sock", path, NULL };
	tn_example_start(&ex, "uds_echo", sargs);
	snprintf(addr, sizeof addr, "unix://%s", path);
	const char *args[] = { "--addr", addr, NULL };
	run_client(t, args, THREE_LINES);
	assert_client(t, 0);
	ck_assert_str_eq(t->out, THREE_LINES);
	tn_example_stop(&ex, SIGTERM);
	rmdir(dir);
	free(t);
}
END_TEST

START_TEST(test_client_refused)
{
	tn_tool_run_t *t = new_run();
	char addr[64];
	int port;
	/* Bound but not listening: a connect is refused, and no one else
	 * can take the port meanwhile. */
	int fd = tn_tcp_bound(0, 0, &port);

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
	tn_example_t ex, px;
	tn_client_t cl[PROXY_CLIENTS];
	uint8_t *tx = malloc((size_t)PROXY_CLIENTS * MIB);
	tn_tool_run_t *t = new_run();
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
	tn_example_stop(&px, SIGTERM);
	tn_example_stop(&ex, SIGTERM);
	free(tx);
	free(t);
}
END_TEST

/* Closing either side closes the other, after the bytes in flight. */
START_TEST(test_proxy_close)
{
	tn_example_t px;
	int bport, lfd = tn_tcp_bound(16, 0, &bport);
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
	lfd = tn_tcp_bound(0, 0, &bport);
	tn_example_stop(&px, SIGTERM);
	start_proxy(&px, bport, 0);
	cfd = tn_connect(px.port);
	ck_assert_int_ge(cfd, 0);
	ck_assert_int_eq(tn_wait_eof(cfd, IO_MS, NULL), 1);
	tn_close(&cfd);
	tn_example_stop(&px, SIGTERM);
	close(lfd);
}
END_TEST

/* A backend that does not read pauses the client: the client can only
 * fill the buffers on the way (bounded), the proxy's memory stays small,
 * and once the backend reads, every byte arrives in order. */
START_TEST(test_proxy_backpressure)
{
	tn_example_t px;
	int bport, lfd = tn_tcp_bound(16, 4096, &bport);
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
	long kb = tn_rss_kb(px.pid);
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
	tn_example_stop(&px, SIGTERM);
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
	tcase_add_checked_fixture(tc, NULL, tn_kill_strays);
	tcase_add_test(tc, test_client_tcp_lines);
	tcase_add_test(tc, test_client_tcp_load);
	tcase_add_test(tc, test_client_udp);
	tcase_add_test(tc, test_client_unix);
	tcase_add_test(tc, test_client_refused);
	suite_add_tcase(s, tc);

	tc = tn_tcase("proxy", TCASE_TIMEOUT_S);
	tcase_add_checked_fixture(tc, NULL, tn_kill_strays);
	tcase_add_loop_test(tc, test_proxy_echo, 0, 2);
	tcase_add_test(tc, test_proxy_close);
	tcase_add_test(tc, test_proxy_backpressure);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tn_run_child_suite(examples_suite());
}
