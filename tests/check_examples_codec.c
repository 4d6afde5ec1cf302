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
 * Every wait has a deadline. The children and their captured output are
 * support/captured_example: a failed CHILD_CHECK kills them first, and
 * each child also asks the kernel for SIGKILL when the test process goes
 * away (PR_SET_PDEATHSIG), which covers Check's own timeout and assertion
 * paths.
 *
 *   make all && build/release/tests/check_examples_codec
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "gnet.h"
#include "support/captured_example.h"
#include "support/child.h"
#include "support/testnet.h"

#define TCASE_TIMEOUT_S 120
#define CLIENT_IO_TIMEOUT_MS 5000 /* the clients' own bound on a socket wait */

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
	captured_example_t srv;
	int loops = 0;
	int port = example_server_start(&srv, "codec_server", modes[_i], &loops);
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (_i == 0)
		CHILD_CHECK(loops == 1, "%d loops, want 1", loops);
	else if (_i == 1)
		CHILD_CHECK(ncpu < 1 || loops == (ncpu > GNET_MAX_LOOPS ? GNET_MAX_LOOPS : ncpu),
		    "--multicore: %d loops on %ld CPUs", loops, ncpu);
	else
		CHILD_CHECK(loops == 4, "%d loops, want 4", loops);

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
	example_run_ok("codec_client", (const char *const[]){ "--port", portarg, NULL },
	    default_line);
	/* Ten connections at once, each interleaving with the others. */
	example_run_ok("codec_client", (const char *const[]){ "--port", portarg, "--conns",
	    "10", "--size", "1024", "--frames", "50", NULL },
	    "codec_client: 50 frames x 1024 bytes over 10 connection(s) verified\n");
	/* --addr, and empty frames. */
	example_run_ok("codec_client", (const char *const[]){ "--addr", addr, "--size", "0",
	    "--frames", "5", NULL },
	    "codec_client: 5 frames x 0 bytes over 1 connection(s) verified\n");
	/* Frames larger than the socket buffers: decoded across reads. */
	example_run_ok("codec_client", (const char *const[]){ "--port", portarg, "--size",
	    "300000", "--frames", "3", "--conns", "3", NULL },
	    "codec_client: 3 frames x 300000 bytes over 3 connection(s) verified\n");

	example_server_stop(&srv, SIGTERM);
	/* Clean closes (the clients hung up) are not worth a log line. */
	CHILD_CHECK(strstr(srv.buf[ERR], "codec_server:") == NULL,
	    "unexpected server log: %s", srv.buf[ERR]);
}
END_TEST

/* Bad peers lose their own connection; the server keeps serving. */
START_TEST(test_codec_server_bad_clients)
{
	captured_example_t srv;
	int port = example_server_start(&srv, "codec_server",
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
	example_expect_logged(&srv, GNET_EFRAMESIZE);

	/* A peer that leaves in the middle of a frame. */
	fd = raw_connect(port);
	static const unsigned char part[] = { 0, 0, 0, 100, 'p', 'a', 'r', 't' };
	raw_send(fd, part, sizeof part);
	CHILD_CHECK(shutdown(fd, SHUT_WR) == 0, "shutdown: %s", strerror(errno));
	raw_expect_closed(fd, "half a frame then FIN");
	tn_close(&fd);
	example_expect_logged(&srv, GNET_ETRUNCATED);

	/* Still serving, on several connections. */
	example_run_ok("codec_client", (const char *const[]){ "--port", portarg, NULL },
	    default_line);
	example_run_ok("codec_client", (const char *const[]){ "--port", portarg, "--conns",
	    "10", "--size", "1024", NULL },
	    "codec_client: 10 frames x 1024 bytes over 10 connection(s) verified\n");
	/* SIGINT stops it as cleanly as SIGTERM. */
	example_server_stop(&srv, SIGINT);
}
END_TEST

/* --max-frame bounds a whole frame, header included. */
START_TEST(test_codec_server_max_frame)
{
	captured_example_t srv, cl;
	int port = example_server_start(&srv, "codec_server",
	    (const char *const[]){ "--port", "0", "--max-frame", "1028", NULL }, NULL);
	char portarg[16];
	snprintf(portarg, sizeof portarg, "%d", port);

	/* 4 + 1024 = 1028: at the limit, accepted. */
	example_run_ok("codec_client", (const char *const[]){ "--port", portarg, "--size",
	    "1024", "--frames", "3", NULL },
	    "codec_client: 3 frames x 1024 bytes over 1 connection(s) verified\n");
	/* One byte more: the server closes, the client says so and fails. */
	int rc = example_run(&cl, "codec_client", (const char *const[]){ "--port",
	    portarg, "--size", "1025", "--frames", "3", NULL });
	CHILD_CHECK(rc == 1, "codec_client over the limit: %s, want exit 1; stderr: %s",
	    tn_describe_status(cl.status), cl.buf[ERR]);
	CHILD_CHECK(strstr(cl.buf[ERR], "server closed the connection") != NULL,
	    "client did not report the close: %s", cl.buf[ERR]);
	CHILD_CHECK(strstr(cl.buf[OUT], "verified") == NULL, "client claims success: %s",
	    cl.buf[OUT]);
	example_expect_logged(&srv, GNET_EFRAMESIZE);

	example_run_ok("codec_client", (const char *const[]){ "--port", portarg, "--size",
	    "1024", NULL }, "verified\n");
	example_server_stop(&srv, SIGTERM);
}
END_TEST

/* The client fails, in bounded time, when nobody answers. */
START_TEST(test_codec_client_failures)
{
	captured_example_t cl;
	char portarg[16];

	/* A socket bound but not listening: connection refused. */
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHILD_CHECK(fd >= 0, "socket: %s", strerror(errno));
	struct sockaddr_in sin = { .sin_family = AF_INET,
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof sin;
	CHILD_CHECK(bind(fd, (struct sockaddr *)&sin, sizeof sin) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0, "bind: %s",
	    strerror(errno));
	snprintf(portarg, sizeof portarg, "%d", ntohs(sin.sin_port));
	int rc = example_run(&cl, "codec_client",
	    (const char *const[]){ "--port", portarg, NULL });
	CHILD_CHECK(rc == 1, "no listener: %s, want exit 1", tn_describe_status(cl.status));
	CHILD_CHECK(strstr(cl.buf[ERR], "connect") != NULL, "stderr: %s", cl.buf[ERR]);

	/* A listener that never answers: the client gives up after its 5 s
	 * receive timeout instead of hanging. */
	CHILD_CHECK(listen(fd, 16) == 0, "listen: %s", strerror(errno));
	int64_t t0 = tn_now_ms();
	rc = example_run(&cl, "codec_client",
	    (const char *const[]){ "--port", portarg, NULL });
	int64_t took = tn_now_ms() - t0;
	tn_close(&fd);
	CHILD_CHECK(rc == 1, "silent server: %s, want exit 1", tn_describe_status(cl.status));
	CHILD_CHECK(strstr(cl.buf[ERR], "timed out") != NULL, "stderr: %s", cl.buf[ERR]);
	CHILD_CHECK(took >= CLIENT_IO_TIMEOUT_MS - 500, "gave up after only %lld ms",
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
	captured_example_t srv;
	const char *const args[][5] = {
		{ "--server", "--port", "0", NULL },
		{ "--server", "--port", "0", "--multicore", NULL },
	};
	int port = example_server_start(&srv, "custom_codec", args[_i], NULL);
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

	example_run_ok("custom_codec", (const char *const[]){ "--client", "--port", portarg,
	    NULL }, "custom_codec: 10 frames (varying action types, 0..100000 data bytes) verified\n");

	/* A good frame, then one with a wrong version in the same segment:
	 * the good one is answered, then the connection is closed. */
	fd = raw_connect(port);
	n = custom_frame(tx, 0x8001, 0x0001, "ok", 2);
	size_t bad = custom_frame(tx + n, 0x0001, 0x0001, "bad", 3);
	raw_send(fd, tx, n + bad);
	CHILD_CHECK(tn_read_exact(fd, tx2, n, CX_WAIT_MS) == n && memcmp(tx, tx2, n) == 0,
	    "the good frame before the bad one was not answered");
	raw_expect_closed(fd, "wrong version");
	tn_close(&fd);
	example_expect_logged(&srv, GNET_EBADFRAME);

	/* A data length of 1 GiB: refused at the header. */
	fd = raw_connect(port);
	n = custom_frame(tx, 0x8001, 0x0001, NULL, 1u << 30);
	raw_send(fd, tx, n);
	raw_expect_closed(fd, "1 GiB data length");
	tn_close(&fd);
	example_expect_logged(&srv, GNET_EFRAMESIZE);

	/* Still serving. */
	example_run_ok("custom_codec", (const char *const[]){ "--client", "--port", portarg,
	    "--frames", "40", NULL }, "custom_codec: 40 frames (");
	example_server_stop(&srv, SIGTERM);
	CHILD_CHECK(strstr(srv.buf[ERR], "failed") == NULL, "server: %s", srv.buf[ERR]);
}
END_TEST

/* No mode: server and client in one process. */
START_TEST(test_custom_codec_self_contained)
{
	example_run_ok("custom_codec", NULL,
	    "custom_codec: 10 frames (varying action types, 0..100000 data bytes) verified\n");
	example_run_ok("custom_codec", (const char *const[]){ "--port", "0", "--frames",
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
	atexit(captured_examples_kill_leftovers);
	return tn_run_suite(examples_codec_suite());
}
