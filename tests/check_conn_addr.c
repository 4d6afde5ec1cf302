/*
 * check_conn_addr.c -- integration suite "conn_addr": what
 * gnet_conn_local_addr and gnet_conn_remote_addr report, checked against
 * the client's own view of the connection (getsockname on its socket).
 *
 * A connection keeps IPv4 and IPv6 addresses inline and longer ones (Unix
 * socket paths) in a separate allocation (net/conn_addr.c), so each kind
 * is covered: TCP over 127.0.0.1 and ::1, a Unix socket whose client is
 * unnamed, one whose client is bound to a long path (both addresses long),
 * and a UDP datagram's sender.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "gnet.h"
#include "support/testnet.h"

#define TCASE_TIMEOUT_S 60
#define WAIT_MS 5000
#define IO_MS 10000

/* What on_open (or on_traffic, for UDP) saw, published by `seen`. */
typedef struct addr_srv {
	struct sockaddr_storage local, remote;
	socklen_t llen, rlen;
	int have_local, have_remote;
	atomic_int seen;
	tn_loop_errors_t errs;
} addr_srv_t;

/* Copy an address the library reported (NULL: none) into the record. */
static int keep(addr_srv_t *ctx, const struct sockaddr *sa, socklen_t len,
    struct sockaddr_storage *to, socklen_t *tolen)
{
	if (sa == NULL)
		return 0;
	TN_LOOP_CHECK(&ctx->errs, len > 0 && len <= sizeof(*to));
	if (len > sizeof(*to))
		len = sizeof(*to);
	memcpy(to, sa, len);
	*tolen = len;
	return 1;
}

static void record(addr_srv_t *ctx, gnet_conn_t *c)
{
	socklen_t len = 0;
	const struct sockaddr *sa;

	if (atomic_load(&ctx->seen) != 0)
		return; /* the first one only */
	sa = gnet_conn_local_addr(c, &len);
	ctx->have_local = keep(ctx, sa, len, &ctx->local, &ctx->llen);
	sa = gnet_conn_remote_addr(c, &len);
	ctx->have_remote = keep(ctx, sa, len, &ctx->remote, &ctx->rlen);
	atomic_store(&ctx->seen, 1);
}

static gnet_action_t on_open(gnet_conn_t *c, void *udata)
{
	record(udata, c);
	return GNET_NONE;
}

static gnet_action_t on_traffic(gnet_conn_t *c, void *udata)
{
	const void *data;
	size_t n = gnet_conn_peek(c, &data);

	if (gnet_conn_is_udp(c))
		record(udata, c);
	/* Echo, so the client knows its bytes were handled. */
	TN_LOOP_CHECK(&((addr_srv_t *)udata)->errs,
	    gnet_conn_write(c, data, n) == (long)n);
	gnet_conn_discard(c, n);
	return GNET_NONE;
}

static const gnet_events_t addr_events = { .size = sizeof(gnet_events_t),
	.on_open = on_open,
	.on_traffic = on_traffic,
};

/* Start an engine listening on addr; its bound address in *ss. */
static void start(tn_server_t *s, addr_srv_t *ctx, const char *addr,
    struct sockaddr_storage *ss, socklen_t *sslen)
{
	gnet_options_t opts = { .size = sizeof(gnet_options_t), .num_loops = 1 };

	memset(ctx, 0, sizeof *ctx);
	tn_server_new(s, &addr_events, &opts, ctx);
	tn_server_listen(s, addr);
	tn_server_run(s);
	*sslen = sizeof(*ss);
	ck_assert_int_eq(gnet_engine_addr(s->eng, 0, ss, sslen), 0);
}

/* One byte there and back, so the server has handled the connection. */
static void round_trip(int fd)
{
	char c = 'a';

	ck_assert_uint_eq(tn_send_all(fd, &c, 1, IO_MS), 1);
	ck_assert_uint_eq(tn_read_exact(fd, &c, 1, IO_MS), 1);
}

static void assert_same_addr(const struct sockaddr_storage *got,
    socklen_t glen, const struct sockaddr_storage *want, socklen_t wlen,
    const char *what)
{
	ck_assert_msg(glen == wlen, "%s: length %u, want %u", what,
	    (unsigned)glen, (unsigned)wlen);
	ck_assert_msg(memcmp(got, want, wlen) == 0, "%s: another address", what);
}

/* The server's view of a stream connection is the client's mirrored:
 * its local address is the client's peer, its peer the client's local. */
static void check_stream(const char *listen_addr, int family)
{
	addr_srv_t ctx;
	tn_server_t s;
	struct sockaddr_storage srv, cl_local, cl_peer;
	socklen_t srvlen, cl_llen = sizeof cl_local, cl_plen = sizeof cl_peer;

	start(&s, &ctx, listen_addr, &srv, &srvlen);
	/* A wildcard listener is reached at the loopback address. */
	if (srv.ss_family == AF_INET &&
	    ((struct sockaddr_in *)&srv)->sin_addr.s_addr == htonl(INADDR_ANY))
		((struct sockaddr_in *)&srv)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = tn_connect_addr((struct sockaddr *)&srv, srvlen, 0);
	ck_assert_msg(fd >= 0, "connect: %s", strerror(errno));
	round_trip(fd);
	TN_WAIT_UNTIL(atomic_load(&ctx.seen), WAIT_MS);
	ck_assert(atomic_load(&ctx.seen));
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&cl_local, &cl_llen), 0);
	ck_assert_int_eq(getpeername(fd, (struct sockaddr *)&cl_peer, &cl_plen), 0);
	ck_assert(ctx.have_local && ctx.have_remote);
	ck_assert_int_eq(ctx.local.ss_family, family);
	assert_same_addr(&ctx.local, ctx.llen, &cl_peer, cl_plen, "local address");
	assert_same_addr(&ctx.remote, ctx.rlen, &cl_local, cl_llen, "remote address");
	tn_close(&fd);
	tn_server_close(&s);
	TN_ASSERT_NO_LOOP_ERRORS(&ctx.errs);
}

START_TEST(test_tcp_ipv4_addrs)
{
	check_stream("tcp://127.0.0.1:0", AF_INET);
}
END_TEST

/* Bound to 0.0.0.0, the listener's address is not the connection's:
 * the local address must be the one the client reached (127.0.0.1). */
START_TEST(test_tcp_wildcard_addrs)
{
	check_stream("tcp://0.0.0.0:0", AF_INET);
}
END_TEST

START_TEST(test_tcp_ipv6_addrs)
{
	int probe = socket(AF_INET6, SOCK_STREAM, 0);
	struct sockaddr_in6 lo = { .sin6_family = AF_INET6,
	    .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	int ok = probe >= 0 && bind(probe, (struct sockaddr *)&lo, sizeof lo) == 0;

	if (probe >= 0)
		close(probe);
	if (!ok) {
		fprintf(stderr, "test_tcp_ipv6_addrs: no ::1 here, skipped\n");
		return;
	}
	check_stream("tcp://[::1]:0", AF_INET6);
}
END_TEST

/* A path longer than an inline address, in a fresh directory. */
static void long_path(char *out, size_t cap, const char *dir, const char *name)
{
	int n = snprintf(out, cap, "%s/%s-with-a-name-longer-than-28-bytes.sock",
	    dir, name);
	ck_assert(n > 0 && (size_t)n < cap);
	ck_assert_uint_gt(strlen(out), sizeof(struct sockaddr_in6));
}

static void check_unix(int bind_client)
{
	char dir[] = "/tmp/gnet-addr-XXXXXX", spath[108], cpath[108];
	char url[128];
	addr_srv_t ctx;
	tn_server_t s;
	struct sockaddr_storage srv;
	socklen_t srvlen;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	long_path(spath, sizeof spath, dir, "server");
	long_path(cpath, sizeof cpath, dir, "client");
	snprintf(url, sizeof url, "unix://%s", spath);
	start(&s, &ctx, url, &srv, &srvlen);

	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	struct sockaddr_un cl = { .sun_family = AF_UNIX };
	if (bind_client) {
		memcpy(cl.sun_path, cpath, strlen(cpath) + 1);
		ck_assert_int_eq(bind(fd, (struct sockaddr *)&cl, sizeof cl), 0);
	}
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&srv, srvlen), 0);
	round_trip(fd);
	TN_WAIT_UNTIL(atomic_load(&ctx.seen), WAIT_MS);
	ck_assert(atomic_load(&ctx.seen));

	ck_assert(ctx.have_local);
	ck_assert_int_eq(ctx.local.ss_family, AF_UNIX);
	ck_assert_str_eq(((struct sockaddr_un *)&ctx.local)->sun_path, spath);
	if (bind_client) {
		ck_assert(ctx.have_remote);
		ck_assert_int_eq(ctx.remote.ss_family, AF_UNIX);
		ck_assert_str_eq(((struct sockaddr_un *)&ctx.remote)->sun_path, cpath);
	} else {
		/* An unnamed client: the address is the family alone. */
		ck_assert(ctx.have_remote);
		ck_assert_int_eq(ctx.remote.ss_family, AF_UNIX);
		ck_assert_uint_eq(ctx.rlen, sizeof(sa_family_t));
	}
	tn_close(&fd);
	tn_server_close(&s);
	unlink(cpath);
	unlink(spath);
	ck_assert_int_eq(rmdir(dir), 0);
	TN_ASSERT_NO_LOOP_ERRORS(&ctx.errs);
}

START_TEST(test_unix_addrs_unnamed_client)
{
	check_unix(0);
}
END_TEST

START_TEST(test_unix_addrs_long_both)
{
	check_unix(1);
}
END_TEST

/* A UDP socket's remote address is the sender of the datagram at hand. */
START_TEST(test_udp_sender_addr)
{
	addr_srv_t ctx;
	tn_server_t s;
	struct sockaddr_storage srv, cl;
	socklen_t srvlen, cllen = sizeof cl;
	char c = 'u';

	start(&s, &ctx, "udp://127.0.0.1:0", &srv, &srvlen);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&srv, srvlen), 0);
	ck_assert_int_eq(send(fd, &c, 1, 0), 1);
	ck_assert_uint_eq(tn_read_exact(fd, &c, 1, IO_MS), 1);
	TN_WAIT_UNTIL(atomic_load(&ctx.seen), WAIT_MS);
	ck_assert(atomic_load(&ctx.seen));
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&cl, &cllen), 0);
	ck_assert(ctx.have_remote);
	assert_same_addr(&ctx.remote, ctx.rlen, &cl, cllen, "datagram sender");
	ck_assert(ctx.have_local);
	assert_same_addr(&ctx.local, ctx.llen, &srv, srvlen, "local address");
	close(fd);
	tn_server_close(&s);
	TN_ASSERT_NO_LOOP_ERRORS(&ctx.errs);
}
END_TEST

static Suite *addr_suite(void)
{
	Suite *s = suite_create("conn_addr");
	TCase *tc = tn_tcase("addrs", TCASE_TIMEOUT_S);

	tcase_add_test(tc, test_tcp_ipv4_addrs);
	tcase_add_test(tc, test_tcp_wildcard_addrs);
	tcase_add_test(tc, test_tcp_ipv6_addrs);
	tcase_add_test(tc, test_unix_addrs_unnamed_client);
	tcase_add_test(tc, test_unix_addrs_long_both);
	tcase_add_test(tc, test_udp_sender_addr);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tn_run_suite(addr_suite());
}
