/*
 * check_udp_async.c -- integration suite "udp_async": datagrams sent from
 * a foreign thread by handle.
 *
 * gnet_conn_sendto_async delivers each datagram to the address it names (a
 * worker replying to the client whose request it took). gnet_conn_write_async
 * to a listening UDP socket is refused with GNET_EINVAL through its
 * callback: that socket's peer is whoever sent the last datagram, so the
 * write would go to an arbitrary client. Bad arguments are refused at the
 * call; a socket that is not UDP is refused through the callback.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "gnet.h"
#include "support/testnet.h"

#define TCASE_TIMEOUT_S 60
#define WAIT_MS 5000
#define IO_MS 10000
#define CALLS 8                  /* callback slots, one per async call */
#define NOT_CALLED 1             /* a status no callback reports */

typedef struct udp_srv {
	atomic_uint_least64_t udp_handle, tcp_handle;
	atomic_int datagrams;
	atomic_int status[CALLS];    /* NOT_CALLED until the callback ran */
	atomic_int calls;
	tn_loop_errors_t errs;
} udp_srv_t;

typedef struct call {
	udp_srv_t *ctx;
	int slot;
} call_t;

static void on_written(gnet_conn_t *c, int status, void *cbdata)
{
	call_t *k = cbdata;

	(void)c;
	/* Completions run on the connection's loop. */
	TN_LOOP_CHECK(&k->ctx->errs, gnet_loop_current() >= 0);
	atomic_store(&k->ctx->status[k->slot], status);
	atomic_fetch_add(&k->ctx->calls, 1);
}

static gnet_action_t on_open(gnet_conn_t *c, void *udata)
{
	udp_srv_t *ctx = udata;

	atomic_store(&ctx->tcp_handle, gnet_conn_handle(c));
	return GNET_NONE;
}

/* UDP: note the socket's handle, answer nothing (the test sends). TCP:
 * echo. */
static gnet_action_t on_traffic(gnet_conn_t *c, void *udata)
{
	udp_srv_t *ctx = udata;
	const void *data;
	size_t n = gnet_conn_peek(c, &data);

	if (gnet_conn_is_udp(c)) {
		atomic_store(&ctx->udp_handle, gnet_conn_handle(c));
		atomic_fetch_add(&ctx->datagrams, 1);
	} else {
		TN_LOOP_CHECK(&ctx->errs, gnet_conn_write(c, data, n) == (long)n);
	}
	gnet_conn_discard(c, n);
	return GNET_NONE;
}

static const gnet_events_t udp_events = { .size = sizeof(gnet_events_t),
	.on_open = on_open,
	.on_traffic = on_traffic,
};

typedef struct fixture {
	tn_server_t s;
	udp_srv_t ctx;
	call_t call[CALLS];
	struct sockaddr_storage udp_addr, tcp_addr;
	socklen_t udp_len, tcp_len;
	int a, b;                    /* UDP clients */
	struct sockaddr_in a_addr, b_addr;
} fixture_t;

/* A UDP client on 127.0.0.1, connected to the server (it then receives
 * only what the server sends). */
static int udp_client(fixture_t *f, struct sockaddr_in *self)
{
	struct sockaddr_in lo = { .sin_family = AF_INET,
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(*self);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&lo, sizeof lo), 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&f->udp_addr, f->udp_len), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)self, &len), 0);
	return fd;
}

/* One datagram within timeout_ms: its length, or -1. */
static long recv_dgram(int fd, void *buf, size_t cap, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (poll(&p, 1, timeout_ms) != 1)
		return -1;
	return (long)recv(fd, buf, cap, 0);
}

static void expect_dgram(int fd, const char *want)
{
	char buf[64];
	long n = recv_dgram(fd, buf, sizeof buf, IO_MS);

	ck_assert_msg(n == (long)strlen(want) && memcmp(buf, want, (size_t)n) == 0,
	    "got a %ld-byte datagram, want '%s'", n, want);
}

static void setup(fixture_t *f)
{
	gnet_options_t opts = { .size = sizeof(gnet_options_t), .num_loops = 2 };

	memset(f, 0, sizeof *f);
	for (int i = 0; i < CALLS; i++) {
		atomic_store(&f->ctx.status[i], NOT_CALLED);
		f->call[i].ctx = &f->ctx;
		f->call[i].slot = i;
	}
	tn_server_new(&f->s, &udp_events, &opts, &f->ctx);
	tn_server_listen(&f->s, "udp://127.0.0.1:0");
	tn_server_listen(&f->s, "tcp://127.0.0.1:0");
	tn_server_run(&f->s);
	f->udp_len = sizeof(f->udp_addr);
	ck_assert_int_eq(gnet_engine_addr(f->s.eng, 0, &f->udp_addr, &f->udp_len), 0);
	f->tcp_len = sizeof(f->tcp_addr);
	ck_assert_int_eq(gnet_engine_addr(f->s.eng, 1, &f->tcp_addr, &f->tcp_len), 0);
	f->a = udp_client(f, &f->a_addr);
	f->b = udp_client(f, &f->b_addr);
	/* B, then A, write to the server: A is the last sender. */
	ck_assert_int_eq(send(f->b, "hi", 2, 0), 2);
	TN_WAIT_UNTIL(atomic_load(&f->ctx.datagrams) == 1, WAIT_MS);
	ck_assert_int_eq(send(f->a, "hi", 2, 0), 2);
	TN_WAIT_UNTIL(atomic_load(&f->ctx.datagrams) == 2, WAIT_MS);
	ck_assert_int_eq(atomic_load(&f->ctx.datagrams), 2);
}

static void teardown(fixture_t *f)
{
	close(f->a);
	close(f->b);
	tn_server_close(&f->s);
	TN_ASSERT_NO_LOOP_ERRORS(&f->ctx.errs);
}

static int wait_status(fixture_t *f, int slot)
{
	TN_WAIT_UNTIL(atomic_load(&f->ctx.status[slot]) != NOT_CALLED, WAIT_MS);
	return atomic_load(&f->ctx.status[slot]);
}

static int sendto_peer(fixture_t *f, const struct sockaddr_in *to,
    const char *msg, int slot)
{
	return gnet_conn_sendto_async(f->s.eng, atomic_load(&f->ctx.udp_handle),
	    (const struct sockaddr *)to, sizeof(*to), msg, strlen(msg),
	    on_written, &f->call[slot]);
}

/* ------------------------------------------------------------------------
 * Each datagram reaches the peer it names, not the last sender.
 */
START_TEST(test_async_sendto_reaches_each_peer)
{
	fixture_t f;
	char buf[8];

	setup(&f);
	ck_assert_int_eq(sendto_peer(&f, &f.b_addr, "to-B", 0), 0);
	ck_assert_int_eq(sendto_peer(&f, &f.a_addr, "to-A", 1), 0);
	ck_assert_int_eq(wait_status(&f, 0), 0);
	ck_assert_int_eq(wait_status(&f, 1), 0);
	expect_dgram(f.b, "to-B");
	expect_dgram(f.a, "to-A");
	/* An empty datagram is one too. */
	ck_assert_int_eq(gnet_conn_sendto_async(f.s.eng, atomic_load(&f.ctx.udp_handle),
	    (const struct sockaddr *)&f.a_addr, sizeof f.a_addr, NULL, 0,
	    on_written, &f.call[2]), 0);
	ck_assert_int_eq(wait_status(&f, 2), 0);
	ck_assert_int_eq(recv_dgram(f.a, buf, sizeof buf, IO_MS), 0);
	teardown(&f);
}
END_TEST

/* ------------------------------------------------------------------------
 * gnet_conn_write_async to a listening UDP socket is refused, and nothing goes
 * to the last sender: the next datagram A gets is the sentinel sent after.
 */
START_TEST(test_async_write_to_listening_udp_refused)
{
	fixture_t f;

	setup(&f);
	ck_assert_int_eq(gnet_conn_write_async(f.s.eng, atomic_load(&f.ctx.udp_handle),
	    "stray", 5, on_written, &f.call[0]), 0);
	ck_assert_int_eq(wait_status(&f, 0), GNET_EINVAL);
	ck_assert_int_eq(sendto_peer(&f, &f.a_addr, "sentinel", 1), 0);
	expect_dgram(f.a, "sentinel");
	ck_assert_int_eq(wait_status(&f, 1), 0);
	teardown(&f);
}
END_TEST

/* ------------------------------------------------------------------------
 * Bad arguments fail at the call, without a callback; a handle that is
 * not a UDP socket fails through the callback and the connection is fine.
 */
START_TEST(test_async_sendto_refusals)
{
	fixture_t f;
	gnet_handle_t h;
	struct sockaddr_un un = { .sun_family = AF_UNIX, .sun_path = "/x" };
	static char big[65508];
	char c = 'p';

	setup(&f);
	h = atomic_load(&f.ctx.udp_handle);
	ck_assert_int_eq(gnet_conn_sendto_async(NULL, h, (struct sockaddr *)&f.a_addr,
	    sizeof f.a_addr, "x", 1, on_written, &f.call[0]), GNET_EINVAL);
	ck_assert_int_eq(gnet_conn_sendto_async(f.s.eng, h, NULL, sizeof f.a_addr,
	    "x", 1, on_written, &f.call[0]), GNET_EINVAL);
	ck_assert_int_eq(gnet_conn_sendto_async(f.s.eng, h, (struct sockaddr *)&f.a_addr,
	    0, "x", 1, on_written, &f.call[0]), GNET_EINVAL);
	ck_assert_int_eq(gnet_conn_sendto_async(f.s.eng, h, (struct sockaddr *)&f.a_addr,
	    8, "x", 1, on_written, &f.call[0]), GNET_EINVAL);
	ck_assert_int_eq(gnet_conn_sendto_async(f.s.eng, h, (struct sockaddr *)&un,
	    sizeof un, "x", 1, on_written, &f.call[0]), GNET_EINVAL);
	ck_assert_int_eq(gnet_conn_sendto_async(f.s.eng, h, (struct sockaddr *)&f.a_addr,
	    sizeof f.a_addr, NULL, 1, on_written, &f.call[0]), GNET_EINVAL);

	/* Over the largest UDP payload: refused on the loop. */
	ck_assert_int_eq(gnet_conn_sendto_async(f.s.eng, h, (struct sockaddr *)&f.a_addr,
	    sizeof f.a_addr, big, sizeof big, on_written, &f.call[1]), 0);
	ck_assert_int_eq(wait_status(&f, 1), GNET_EFRAMESIZE);

	/* A TCP connection is not a UDP socket. */
	int fd = tn_connect_addr((struct sockaddr *)&f.tcp_addr, f.tcp_len, 0);
	ck_assert_int_ge(fd, 0);
	TN_WAIT_UNTIL(atomic_load(&f.ctx.tcp_handle) != 0, WAIT_MS);
	ck_assert_int_eq(gnet_conn_sendto_async(f.s.eng, atomic_load(&f.ctx.tcp_handle),
	    (struct sockaddr *)&f.a_addr, sizeof f.a_addr, "x", 1, on_written,
	    &f.call[2]), 0);
	ck_assert_int_eq(wait_status(&f, 2), GNET_EINVAL);
	ck_assert_uint_eq(tn_send_all(fd, &c, 1, IO_MS), 1);
	ck_assert_uint_eq(tn_read_exact(fd, &c, 1, IO_MS), 1);
	ck_assert_int_eq(c, 'p');
	tn_close(&fd);

	/* Only the two calls that were queued called back. */
	ck_assert_int_eq(atomic_load(&f.ctx.calls), 2);
	ck_assert_int_eq(atomic_load(&f.ctx.status[0]), NOT_CALLED);
	teardown(&f);
}
END_TEST

static Suite *udp_async_suite(void)
{
	Suite *s = suite_create("udp_async");
	TCase *tc = tn_tcase("sendto", TCASE_TIMEOUT_S);

	tcase_add_test(tc, test_async_sendto_reaches_each_peer);
	tcase_add_test(tc, test_async_write_to_listening_udp_refused);
	tcase_add_test(tc, test_async_sendto_refusals);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tn_run_suite(udp_async_suite());
}
