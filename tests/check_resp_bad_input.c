/*
 * check_resp_bad_input.c -- suite "resp_bad_input": clients that break
 * the protocol or never read cost only their own connection; the server
 * answers the rest and its memory stays bounded.
 *
 *   - garbage, and a bulk length of 2^40: "-ERR Protocol error: ..." and
 *     the close, while a connection opened before keeps working;
 *   - "*1000000000" then 50 MiB of arguments: nothing is sized by the
 *     announced count (a billion argument slots would be gigabytes), so
 *     the server's RSS grows by about what was sent, and others are
 *     served meanwhile;
 *   - 1,000,000 pipelined PINGs from a client that never reads: the
 *     server's RSS stays under RSS_FLOOD_CAP_KB more than before, and
 *     others are served meanwhile.
 *
 * The tests are for gnetd with the resp module (1 and 2 loops), skipped,
 * saying so, until BUILD/modules/resp.so exists. They run on
 * redis-server first, which passes them all: that proves the tests.
 *
 *   make build/release/tests/check_resp_bad_input && build/release/tests/check_resp_bad_input
 */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/sanitizer.h"
#include "support/child.h"
#include "support/redis_peer.h"
#include "support/resp_diff.h"
#include "support/resp_server.h"
#include "support/testnet.h"

#define TCASE_TIMEOUT_S 180
#define IO_MS 10000              /* one exchange */
#define SEND_MS 60000            /* one flood, at most */
#define STALL_MS 2000            /* no byte taken this long: the server
                                  * stopped reading (backpressure) */
#define MIB (1024 * 1024)
#define ARG_BYTES MIB
#define ARGS_SENT 50             /* 50 MiB of a never-ending command */
/* Under ThreadSanitizer the server (built alike) keeps 4 bytes of shadow
 * for every byte it touches, and its RSS shows them. */
#ifdef GNET__TSAN
#define RSS_SCALE 5
#else
#define RSS_SCALE 1
#endif
/* Growth allowed while it holds them: the bytes, once more for a buffer
 * that doubled, and slack for the allocator. */
#define RSS_ARGS_CAP_KB \
	(RSS_SCALE * (2 * ARGS_SENT * ARG_BYTES + 64 * MIB) / 1024)
#define FLOOD_PINGS 1000000
#define RSS_FLOOD_CAP_KB (RSS_SCALE * 200 * 1024)
#define CLIENT_RCVBUF 4096       /* the flooder's window closes early */

static const char *const specs[] = { "redis", "gnetd:1", "gnetd:2" };
#define NSPECS ((int)(sizeof specs / sizeof specs[0]))

static tn_resp_server_t srv;

static int
start(int i)
{
	return tn_resp_server_start(&srv, specs[i]);
}

static int
connect_ok(void)
{
	int fd = tn_connect(srv.port);

	ck_assert_msg(fd >= 0, "connect %d: %s", srv.port, strerror(errno));
	return fd;
}

/* PING on fd answers PONG. */
static void
assert_pong(int fd, const char *when)
{
	char reply[64];

	ck_assert_msg(tn_resp_call(fd, 1, (const char *[]){ "PING" }, reply,
	    sizeof reply, IO_MS) > 0, "%s on %s: no reply to PING", when,
	    srv.spec);
	ck_assert_msg(strcmp(reply, "+PONG\r\n") == 0, "%s on %s: PING got "
	    "\"%s\"", when, srv.spec, reply);
}

/* Send bytes, read until the server closes: its one reply must be
 * `want` exactly; a connection opened before and one opened after
 * still get PONG. */
static void
assert_protocol_error(const void *bytes, size_t n, const char *want)
{
	int other = connect_ok(), fd = connect_ok(), after;
	tn_resp_in_t in = { 0 };
	char shown[512];

	assert_pong(other, "before");
	ck_assert(tn_send_all(fd, bytes, n, IO_MS) == n);
	tn_resp_read(fd, -1, IO_MS, &in);
	ck_assert_msg(in.closed && in.replies == 1 && in.len == strlen(want)
	    && memcmp(in.buf, want, in.len) == 0, "%s: got \"%s\" (%s), want "
	    "\"%s\" and the close", srv.spec, tn_resp_escape(in.buf, in.len,
	    100, shown, sizeof shown), in.closed ? "closed" : "still open",
	    want);
	tn_resp_in_free(&in);
	close(fd);
	assert_pong(other, "after a protocol error");
	after = connect_ok();
	assert_pong(after, "new connection after a protocol error");
	close(after);
	close(other);
}

START_TEST(garbage_gets_error_and_close)
{
	static const char garbage[] = "*\x01\x02\xff garbage\r\n";

	if (!start(_i))
		return;
	assert_protocol_error(garbage, sizeof garbage - 1,
	    "-ERR Protocol error: invalid multibulk length\r\n");
	tn_resp_server_stop(&srv);
}
END_TEST

START_TEST(bulk_length_2_40_gets_error_and_close)
{
	static const char bulk[] = "*1\r\n$1099511627776\r\n";

	if (!start(_i))
		return;
	assert_protocol_error(bulk, sizeof bulk - 1,
	    "-ERR Protocol error: invalid bulk length\r\n");
	tn_resp_server_stop(&srv);
}
END_TEST

/* Send until everything went, the server stopped taking bytes for
 * STALL_MS, or SEND_MS passed: the bytes sent. */
static size_t
send_until_stalled(int fd, const uint8_t *p, size_t n)
{
	int64_t deadline = tn_now_ms() + SEND_MS;
	size_t sent = 0;

	ck_assert(tn_set_nonblock(fd) == 0);
	while (sent < n && tn_now_ms() < deadline) {
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };
		if (poll(&pfd, 1, STALL_MS) == 0)
			break;
		ssize_t w = send(fd, p + sent, n - sent, MSG_NOSIGNAL);
		if (w > 0)
			sent += (size_t)w;
		else if (w < 0 && errno != EAGAIN && errno != EINTR)
			break;
	}
	return sent;
}

START_TEST(huge_argument_count_memory_bounded)
{
	char head[32];
	uint8_t *arg;
	int fd, other;
	long rss0, rss;

	if (!start(_i))
		return;
	other = connect_ok();
	assert_pong(other, "before");
	rss0 = tn_rss_kb(srv.pid);
	fd = connect_ok();
	/* The announced count alone must not cost memory. */
	ck_assert(tn_send_all(fd, "*1000000000\r\n", 13, IO_MS) == 13);
	assert_pong(other, "after *1000000000");
	arg = malloc(ARG_BYTES + 2);
	ck_assert(arg != NULL);
	memset(arg, 'a', ARG_BYTES);
	memcpy(arg + ARG_BYTES, "\r\n", 2);
	int hn = snprintf(head, sizeof head, "$%d\r\n", ARG_BYTES);
	for (int i = 0; i < ARGS_SENT; i++) {
		ck_assert(tn_send_all(fd, head, (size_t)hn, IO_MS) == (size_t)hn);
		ck_assert_msg(tn_send_all(fd, arg, ARG_BYTES + 2, IO_MS) ==
		    ARG_BYTES + 2, "%s stopped reading argument %d of a "
		    "command under its size limit", srv.spec, i);
	}
	free(arg);
	assert_pong(other, "while a command of 10^9 arguments is pending");
	rss = tn_rss_kb(srv.pid);
	ck_assert_msg(rss - rss0 < RSS_ARGS_CAP_KB, "%s: RSS grew from %ld "
	    "to %ld kB holding %d MiB of arguments (cap: %d kB more)",
	    srv.spec, rss0, rss, ARGS_SENT, RSS_ARGS_CAP_KB);
	close(fd);
	assert_pong(other, "after the client left");
	close(other);
	tn_resp_server_stop(&srv);
}
END_TEST

START_TEST(unread_pipeline_memory_bounded)
{
	static const char ping[] = "*1\r\n$4\r\nPING\r\n";
	const size_t one = sizeof ping - 1, total = one * FLOOD_PINGS;
	uint8_t *flood = malloc(total);
	int fd, other;
	long rss0, rss;
	size_t sent;

	ck_assert(flood != NULL);
	if (!start(_i)) {
		free(flood);
		return;
	}
	for (size_t i = 0; i < FLOOD_PINGS; i++)
		memcpy(flood + i * one, ping, one);
	other = connect_ok();
	assert_pong(other, "before");
	rss0 = tn_rss_kb(srv.pid);
	fd = tn_connect_rcvbuf(srv.port, CLIENT_RCVBUF);
	ck_assert(fd >= 0);
	sent = send_until_stalled(fd, flood, total);
	free(flood);
	/* Whether it took every PING (Redis buffers the replies) or stopped
	 * reading (backpressure), the memory is bounded and others are
	 * served. */
	assert_pong(other, "while a client does not read");
	rss = tn_rss_kb(srv.pid);
	ck_assert_msg(rss - rss0 < RSS_FLOOD_CAP_KB, "%s: RSS grew from %ld "
	    "to %ld kB with %zu bytes of PINGs unread (cap: %d kB more)",
	    srv.spec, rss0, rss, sent, RSS_FLOOD_CAP_KB);
	printf("%s: took %zu of %zu bytes of PINGs from a client that does "
	    "not read; RSS %ld -> %ld kB\n", srv.spec, sent, total, rss0, rss);
	fflush(stdout);
	close(fd);
	assert_pong(other, "after the client left");
	close(other);
	tn_resp_server_stop(&srv);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("resp_bad_input");
	TCase *tc = tn_tcase("bad_input", TCASE_TIMEOUT_S);

	tcase_add_checked_fixture(tc, NULL, tn_kill_strays);
	tcase_add_loop_test(tc, garbage_gets_error_and_close, 0, NSPECS);
	tcase_add_loop_test(tc, bulk_length_2_40_gets_error_and_close, 0,
	    NSPECS);
	tcase_add_loop_test(tc, huge_argument_count_memory_bounded, 0, NSPECS);
	tcase_add_loop_test(tc, unread_pipeline_memory_bounded, 0, NSPECS);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tn_run_child_suite(suite());
}
