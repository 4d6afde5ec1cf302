/*
 * check_transport.c -- integration suite "transport": the kinds of sockets
 * an engine listens on and how it spreads their traffic over its loops.
 *
 * Covers:
 *   - echo, byte for byte, with 10 concurrent clients over tcp://, udp://
 *     and unix://, on 1 and 4 loops, behind the acceptor with each load
 *     balancer and with reuseport (one table-driven fixture);
 *   - the load balancers' placement: round-robin, least-connections (new
 *     connections fill the loop whose connections closed) and source hash
 *     (127.0.0.1 and 127.0.0.2 each stick to one loop), and an invalid lb
 *     value;
 *   - SO_REUSEPORT shared by two engines, TCP and UDP: both serve, and the
 *     survivor takes everything once the other stops;
 *   - tcp + udp + unix listeners in one engine, gnet_engine_addr order; a
 *     reuseport listen failing part-way leaves its port free;
 *   - unix socket files: a stale file is replaced, a live socket or a
 *     regular file gives -EADDRINUSE (and is left alone), relative paths,
 *     removal at stop.
 * The UDP send and receive paths are suite "transport_udp", the options of
 * accepted sockets "transport_sockopts".
 *
 * The server (support/transport_server) only records into atomics; the
 * test thread asserts, with bounded waits. Payload sizes go through
 * tn_scaled (GNET_STRESS_SCALE).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "gnet.h"
#include "support/echo_clients.h"
#include "support/engine_stats.h"
#include "support/sockets.h"
#include "support/testnet.h"
#include "support/tmpdir.h"
#include "support/transport_server.h"

#define TCASE_TIMEOUT_S 120
#define WAIT_MS 5000            /* for a callback to be observed */
#define IO_MS 10000             /* for a single client exchange */
#define PUMP_MS 60000           /* for a multi-client exchange */

#define ECHO_CLIENTS 10
#define STREAM_BYTES (1024u * 1024)   /* per stream client, scaled */
#define DGRAM_BYTES 1024u             /* per datagram in the echo matrix */
#define DGRAMS_PER_CLIENT 200u        /* scaled */
#define UDP_WINDOW 8u                 /* unanswered datagrams per client */
#define UDP_SERVER_RCVBUF (4 * 1024 * 1024)

#define LB_LOOPS 4
#define LB_CONNS 40
#define LB_EXTRA 10
#define LB_DRAINED_LOOP 2

#define RP_LOOPS 2                    /* loops per engine sharing a port */
#define RP_CLIENTS 64
#define RP_LATE_CLIENTS 32
#define RP_BYTES 256

#define MULTI_BYTES (64u * 1024)
#define MULTI_DGRAMS 20u

#define assert_no_loop_errors(ctx) TN_ASSERT_NO_LOOP_ERRORS(&(ctx)->errs)

/* ------------------------------------------------------------------------
 * Echo matrix: {tcp, udp, unix} x {1, 4 loops} x {round-robin,
 * least-connections, source hash, reuseport}; 10 clients each.
 */
enum net { NET_TCP, NET_UDP, NET_UNIX, NET_COUNT };

static const char *const net_names[NET_COUNT] = { "tcp", "udp", "unix" };
static const int matrix_loops[] = { 1, 4 };

typedef struct balancer {
	const char *name;
	gnet_lb_t lb;
	int reuseport;
} balancer_t;

static const balancer_t balancers[] = {
	{ "round-robin", GNET_LB_ROUND_ROBIN, 0 },
	{ "least-connections", GNET_LB_LEAST_CONNECTIONS, 0 },
	{ "source-hash", GNET_LB_SOURCE_HASH, 0 },
	{ "reuseport", GNET_LB_ROUND_ROBIN, 1 },
};

#define N_LOOPS_CHOICES ((int)(sizeof matrix_loops / sizeof matrix_loops[0]))
#define N_BALANCERS ((int)(sizeof balancers / sizeof balancers[0]))
#define MATRIX_CASES (NET_COUNT * N_LOOPS_CHOICES * N_BALANCERS)

/* Where stream connections went: check it against the balancer. */
static void assert_spread(transport_server_t *ctx, int loops, enum net net,
    const balancer_t *b, const char *what)
{
	int min = INT_MAX, max = 0, used = 0, sum = 0;
	for (int i = 0; i < loops; i++) {
		int v = atomic_load(&ctx->loop_opens[i]);
		min = v < min ? v : min;
		max = v > max ? v : max;
		used += v > 0;
		sum += v;
	}
	ck_assert_msg(sum == ECHO_CLIENTS, "%s: %d opens over the loops", what, sum);
	if (loops == 1)
		return;
	/* Unix sockets have no reuseport: the acceptor balances them. */
	if (b->reuseport && net != NET_UNIX)
		return; /* the kernel's hash decides */
	if (b->lb == GNET_LB_SOURCE_HASH)
		ck_assert_msg(used == 1, "%s: one client address on %d loops", what,
		    used);
	else /* every client stays connected: both balance evenly */
		ck_assert_msg(max - min <= 1, "%s: %d..%d connections per loop",
		    what, min, max);
}

START_TEST(test_echo_matrix)
{
	int c = _i;
	enum net net = (enum net)(c / (N_LOOPS_CHOICES * N_BALANCERS));
	int loops = matrix_loops[(c / N_BALANCERS) % N_LOOPS_CHOICES];
	const balancer_t *b = &balancers[c % N_BALANCERS];
	char what[96], addr[160], path[108];
	tn_tmpdir_t dir;
	snprintf(what, sizeof what, "%s, %d loop(s), %s", net_names[net], loops,
	    b->name);

	transport_server_t *ctx = transport_server_new();
	gnet_options_t opts = { .size = sizeof(gnet_options_t), .num_loops = loops, .lb = b->lb,
	    .reuseport = b->reuseport };
	if (net == NET_UDP)
		opts.rcvbuf = UDP_SERVER_RCVBUF; /* room for every window */
	if (net == NET_UNIX) {
		tn_tmpdir_make(&dir, "transport");
		tn_tmpdir_file(&dir, "echo.sock", path, sizeof path);
		snprintf(addr, sizeof addr, "unix://%s", path);
	} else {
		snprintf(addr, sizeof addr, "%s://127.0.0.1:0", net_names[net]);
	}
	tn_server_t s;
	transport_engine_new(&s, &opts, ctx);
	tn_server_listen(&s, addr);
	ck_assert_int_eq(gnet_engine_num_loops(s.eng), loops);
	struct sockaddr_storage ss;
	socklen_t sslen = tn_server_addr(&s, 0, &ss);
	tn_server_run(&s);

	if (net == NET_UDP) {
		unsigned per = tn_scaled_min(DGRAMS_PER_CLIENT, 1);
		long total = (long)per * ECHO_CLIENTS;
		echo_dgrams((struct sockaddr *)&ss, sslen, ECHO_CLIENTS, per,
		    DGRAM_BYTES, UDP_WINDOW, what);
		ck_assert_int_eq(tn_ldl(&ctx->dgrams), total);
		tn_server_stop(&s);
		gnet_loop_stats_t sum = tn_loop_stats_sum(s.eng);
		ck_assert_msg(sum.udp_in == (uint64_t)total &&
		    sum.udp_out == (uint64_t)total && sum.udp_dropped == 0,
		    "%s: udp_in %llu, udp_out %llu, dropped %llu; want %ld, %ld, 0",
		    what, (unsigned long long)sum.udp_in,
		    (unsigned long long)sum.udp_out,
		    (unsigned long long)sum.udp_dropped, total, total);
		if (!b->reuseport) /* one socket: listener 0 % loops = loop 0 */
			ck_assert_uint_eq(tn_loop_stats(s.eng, 0).udp_in, (uint64_t)total);
		/* UDP has no connections: no on_open, no on_close. */
		ck_assert_int_eq(tn_ld(&ctx->opens), 0);
		ck_assert_int_eq(tn_ld(&ctx->closes), 0);
		ck_assert_uint_eq(sum.accepted, 0);
	} else {
		size_t bytes = tn_scaled_min(STREAM_BYTES, 1024);
		echo_streams((struct sockaddr *)&ss, sslen, ECHO_CLIENTS, bytes,
		    1000 + (uint64_t)c * 100, what);
		TN_WAIT_UNTIL(atomic_load(&ctx->closes) == ECHO_CLIENTS, WAIT_MS);
		ck_assert_int_eq(tn_ld(&ctx->closes), ECHO_CLIENTS);
		ck_assert_int_eq(tn_ld(&ctx->opens), ECHO_CLIENTS);
		ck_assert_int_eq(tn_ldl(&ctx->stream_bytes),
		    (long)bytes * ECHO_CLIENTS);
		ck_assert_int_eq(tn_ldl(&ctx->dgrams), 0);
		assert_spread(ctx, loops, net, b, what);
		ck_assert_uint_eq(tn_loop_stats_sum(s.eng).accepted, ECHO_CLIENTS);
		tn_server_stop(&s);
	}
	ck_assert_int_eq(s.run_rc, 0);
	tn_server_free(&s);
	if (net == NET_UNIX) {
		ck_assert_msg(!tn_path_exists(path), "%s: %s left after stop", what, path);
		tn_tmpdir_remove(&dir);
	}
	assert_no_loop_errors(ctx);
	free(ctx);
}
END_TEST

/* ------------------------------------------------------------------------
 * Load balancing: 4 loops, 40 TCP connections, placement per balancer.
 */
/* TCP client bound to src_ip (port 0) before connecting to sa, or -1. */
static int connect_from(const char *src_ip, const struct sockaddr *sa,
    socklen_t len)
{
	struct sockaddr_in src = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (inet_pton(AF_INET, src_ip, &src.sin_addr) != 1 ||
	    bind(fd, (struct sockaddr *)&src, sizeof src) != 0 ||
	    connect(fd, sa, len) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

typedef struct lb_fixture {
	transport_server_t *ctx;
	tn_server_t s;
	struct sockaddr_storage ss;
	socklen_t sslen;
	gnet_handle_t barrier;  /* actor on LB_DRAINED_LOOP */
	int fds[LB_CONNS * 2 + LB_EXTRA];
	int nfds;
} lb_fixture_t;

static void lb_start(lb_fixture_t *f, gnet_lb_t lb)
{
	gnet_options_t opts = { .size = sizeof(gnet_options_t), .num_loops = LB_LOOPS, .lb = lb };
	memset(f, 0, sizeof *f);
	f->ctx = transport_server_new();
	transport_engine_new(&f->s, &opts, f->ctx);
	tn_server_listen(&f->s, "tcp://127.0.0.1:0");
	f->sslen = tn_server_addr(&f->s, 0, &f->ss);
	f->barrier = transport_barrier_actor(&f->s, f->ctx, LB_DRAINED_LOOP);
	tn_server_run(&f->s);
}

/* Open n more connections from src_ip; wait until the server saw them. */
static void lb_open(lb_fixture_t *f, int n, const char *src_ip)
{
	int want = atomic_load(&f->ctx->opens) + n;
	ck_assert_int_le(f->nfds + n, (int)(sizeof f->fds / sizeof f->fds[0]));
	for (int i = 0; i < n; i++) {
		int fd = connect_from(src_ip, (struct sockaddr *)&f->ss, f->sslen);
		ck_assert_msg(fd >= 0, "connect from %s: %s", src_ip, strerror(errno));
		f->fds[f->nfds++] = fd;
	}
	TN_WAIT_UNTIL(atomic_load(&f->ctx->opens) == want, WAIT_MS);
	ck_assert_msg(atomic_load(&f->ctx->opens) == want, "%d of %d opened",
	    atomic_load(&f->ctx->opens), want);
}

static void lb_snapshot(lb_fixture_t *f, int *per_loop)
{
	for (int i = 0; i < LB_LOOPS; i++)
		per_loop[i] = atomic_load(&f->ctx->loop_opens[i]);
}

static void lb_finish(lb_fixture_t *f)
{
	int opens = atomic_load(&f->ctx->opens);
	for (int i = 0; i < f->nfds; i++)
		tn_close(&f->fds[i]);
	TN_WAIT_UNTIL(atomic_load(&f->ctx->closes) == opens, WAIT_MS);
	ck_assert_int_eq(tn_ld(&f->ctx->closes), opens);
	tn_server_close(&f->s);
	assert_no_loop_errors(f->ctx);
	free(f->ctx);
}

START_TEST(test_lb_round_robin)
{
	lb_fixture_t f;
	int per[LB_LOOPS];
	lb_start(&f, GNET_LB_ROUND_ROBIN);
	lb_open(&f, LB_CONNS, "127.0.0.1");
	lb_snapshot(&f, per);
	for (int i = 0; i < LB_LOOPS; i++) {
		ck_assert_msg(per[i] == LB_CONNS / LB_LOOPS,
		    "round-robin: loop %d got %d of %d (%d/%d/%d/%d)", i, per[i],
		    LB_CONNS, per[0], per[1], per[2], per[3]);
		ck_assert_uint_eq(tn_loop_stats(f.s.eng, i).accepted,
		    LB_CONNS / LB_LOOPS);
	}
	lb_finish(&f);
}
END_TEST

START_TEST(test_lb_least_connections)
{
	lb_fixture_t f;
	int per[LB_LOOPS];
	lb_start(&f, GNET_LB_LEAST_CONNECTIONS);
	lb_open(&f, LB_CONNS, "127.0.0.1");
	lb_snapshot(&f, per);
	for (int i = 0; i < LB_LOOPS; i++)
		ck_assert_msg(per[i] == LB_CONNS / LB_LOOPS,
		    "least-connections: loop %d got %d (%d/%d/%d/%d)", i, per[i],
		    per[0], per[1], per[2], per[3]);

	/* Close the clients whose connection lives on LB_DRAINED_LOOP. */
	int closed = 0;
	for (int i = 0; i < f.nfds; i++) {
		int port = tn_sock_port(f.fds[i]);
		ck_assert_int_gt(port, 0);
		int loop = atomic_load(&f.ctx->port_loop[port]) - 1;
		ck_assert_msg(loop >= 0, "no server connection for port %d", port);
		if (loop == LB_DRAINED_LOOP) {
			tn_close(&f.fds[i]);
			closed++;
		}
	}
	ck_assert_int_eq(closed, LB_CONNS / LB_LOOPS);
	TN_WAIT_UNTIL(atomic_load(&f.ctx->loop_closes[LB_DRAINED_LOOP]) == closed,
	    WAIT_MS);
	ck_assert_int_eq(tn_ld(&f.ctx->loop_closes[LB_DRAINED_LOOP]), closed);
	ck_assert_int_eq(tn_ld(&f.ctx->closes), closed);
	/* on_close runs before the loop drops the connection from its live
	 * count: let the loop finish those closes first. */
	transport_barrier(&f.s, f.ctx, f.barrier);

	lb_open(&f, LB_EXTRA, "127.0.0.1");
	int after[LB_LOOPS];
	lb_snapshot(&f, after);
	for (int i = 0; i < LB_LOOPS; i++) {
		int got = after[i] - per[i];
		int want = i == LB_DRAINED_LOOP ? LB_EXTRA : 0;
		ck_assert_msg(got == want,
		    "least-connections: loop %d got %d of the %d new connections, "
		    "want %d (new per loop %d/%d/%d/%d)", i, got, LB_EXTRA, want,
		    after[0] - per[0], after[1] - per[1], after[2] - per[2],
		    after[3] - per[3]);
	}
	lb_finish(&f);
}
END_TEST

/* The loop that got every connection since `before`, or -1 if several. */
static int lb_single_loop(const int *before, const int *after, int n,
    char *desc, size_t cap)
{
	int loop = -1, used = 0, total = 0;
	for (int i = 0; i < LB_LOOPS; i++) {
		int d = after[i] - before[i];
		total += d;
		if (d > 0) {
			loop = i;
			used++;
		}
	}
	snprintf(desc, cap, "%d/%d/%d/%d", after[0] - before[0],
	    after[1] - before[1], after[2] - before[2], after[3] - before[3]);
	return used == 1 && total == n ? loop : -1;
}

START_TEST(test_lb_source_hash)
{
	static const char *const sources[] = { "127.0.0.1", "127.0.0.2" };
	lb_fixture_t f;
	char desc[64];
	lb_start(&f, GNET_LB_SOURCE_HASH);
	for (size_t k = 0; k < sizeof sources / sizeof sources[0]; k++) {
		int before[LB_LOOPS], after[LB_LOOPS];
		lb_snapshot(&f, before);
		lb_open(&f, LB_CONNS, sources[k]);
		lb_snapshot(&f, after);
		int loop = lb_single_loop(before, after, LB_CONNS, desc, sizeof desc);
		ck_assert_msg(loop >= 0,
		    "source hash: %d connections from %s spread over loops (%s)",
		    LB_CONNS, sources[k], desc);
		printf("source hash: %s -> loop %d\n", sources[k], loop);
	}
	lb_finish(&f);
}
END_TEST

/* ------------------------------------------------------------------------
 * reuseport: two engines on one port.
 */
typedef struct rp_pair {
	transport_server_t *ctx[2];
	tn_server_t s[2];
	struct sockaddr_storage ss;
	socklen_t sslen;
} rp_pair_t;

/* Engine 0 on port 0 with reuseport, engine 1 on the port it got. */
static void rp_start(rp_pair_t *p, const char *scheme)
{
	gnet_options_t opts = { .size = sizeof(gnet_options_t), .num_loops = RP_LOOPS, .reuseport = 1 };
	char addr[64];
	for (int e = 0; e < 2; e++) {
		p->ctx[e] = transport_server_new();
		if (strcmp(scheme, "udp") == 0)
			opts.rcvbuf = UDP_SERVER_RCVBUF;
		transport_engine_new(&p->s[e], &opts, p->ctx[e]);
		if (e == 0)
			snprintf(addr, sizeof addr, "%s://127.0.0.1:0", scheme);
		else
			snprintf(addr, sizeof addr, "%s://127.0.0.1:%d", scheme,
			    tn_addr_port(&p->ss));
		tn_server_listen(&p->s[e], addr);
		if (e == 0)
			p->sslen = tn_server_addr(&p->s[0], 0, &p->ss);
		tn_server_run(&p->s[e]);
	}
	ck_assert_int_eq(p->s[0].port, p->s[1].port);
}

static void rp_finish(rp_pair_t *p)
{
	for (int e = 0; e < 2; e++) {
		if (p->s[e].eng != NULL)
			tn_server_close(&p->s[e]);
		assert_no_loop_errors(p->ctx[e]);
		free(p->ctx[e]);
	}
}

START_TEST(test_reuseport_two_engines_tcp)
{
	rp_pair_t p;
	rp_start(&p, "tcp");

	echo_streams((struct sockaddr *)&p.ss, p.sslen, RP_CLIENTS, RP_BYTES, 7,
	    "reuseport tcp, both engines");
	uint64_t acc[2];
	for (int e = 0; e < 2; e++) {
		TN_WAIT_UNTIL(atomic_load(&p.ctx[e]->closes) ==
		    atomic_load(&p.ctx[e]->opens), WAIT_MS);
		acc[e] = tn_loop_stats_sum(p.s[e].eng).accepted;
		ck_assert_uint_eq(acc[e], (uint64_t)atomic_load(&p.ctx[e]->opens));
	}
	printf("reuseport tcp: engine 0 accepted %llu, engine 1 %llu of %d\n",
	    (unsigned long long)acc[0], (unsigned long long)acc[1], RP_CLIENTS);
	ck_assert_uint_eq(acc[0] + acc[1], RP_CLIENTS);
	ck_assert_msg(acc[0] > 0 && acc[1] > 0,
	    "one engine got every connection: %llu / %llu",
	    (unsigned long long)acc[0], (unsigned long long)acc[1]);

	/* Engine 0 leaves the group: engine 1 serves every new client. */
	tn_server_close(&p.s[0]);
	int opens0 = atomic_load(&p.ctx[0]->opens);
	echo_streams((struct sockaddr *)&p.ss, p.sslen, RP_LATE_CLIENTS, RP_BYTES,
	    99, "reuseport tcp, after engine 0 stopped");
	ck_assert_int_eq(tn_ld(&p.ctx[0]->opens), opens0);
	ck_assert_uint_eq(tn_loop_stats_sum(p.s[1].eng).accepted, acc[1] + RP_LATE_CLIENTS);
	TN_WAIT_UNTIL(atomic_load(&p.ctx[1]->closes) ==
	    atomic_load(&p.ctx[1]->opens), WAIT_MS);
	rp_finish(&p);
}
END_TEST

START_TEST(test_reuseport_two_engines_udp)
{
	rp_pair_t p;
	rp_start(&p, "udp");

	/* Each client is its own socket, so a new source port. */
	echo_dgrams((struct sockaddr *)&p.ss, p.sslen, RP_CLIENTS, 2, DGRAM_BYTES, 2,
	    "reuseport udp, both engines");
	uint64_t in[2];
	for (int e = 0; e < 2; e++)
		in[e] = tn_loop_stats_sum(p.s[e].eng).udp_in;
	printf("reuseport udp: engine 0 received %llu, engine 1 %llu of %d\n",
	    (unsigned long long)in[0], (unsigned long long)in[1], RP_CLIENTS * 2);
	ck_assert_uint_eq(in[0] + in[1], RP_CLIENTS * 2);
	ck_assert_msg(in[0] > 0 && in[1] > 0,
	    "one engine got every datagram: %llu / %llu",
	    (unsigned long long)in[0], (unsigned long long)in[1]);

	tn_server_close(&p.s[0]);
	long dgrams0 = atomic_load(&p.ctx[0]->dgrams);
	echo_dgrams((struct sockaddr *)&p.ss, p.sslen, RP_CLIENTS, 2, DGRAM_BYTES, 2,
	    "reuseport udp, after engine 0 stopped");
	ck_assert_int_eq(tn_ldl(&p.ctx[0]->dgrams), dgrams0);
	TN_WAIT_UNTIL(tn_loop_stats_sum(p.s[1].eng).udp_out == in[1] + RP_CLIENTS * 2,
	    WAIT_MS);
	ck_assert_uint_eq(tn_loop_stats_sum(p.s[1].eng).udp_in, in[1] + RP_CLIENTS * 2);
	ck_assert_uint_eq(tn_loop_stats_sum(p.s[1].eng).udp_out, in[1] + RP_CLIENTS * 2);
	rp_finish(&p);
}
END_TEST

/* ------------------------------------------------------------------------
 * tcp + udp + unix listeners in one engine.
 */
START_TEST(test_several_listeners)
{
	tn_tmpdir_t dir;
	char path[108], addr[160];
	tn_tmpdir_make(&dir, "transport");
	tn_tmpdir_file(&dir, "multi.sock", path, sizeof path);
	snprintf(addr, sizeof addr, "unix://%s", path);

	transport_server_t *ctx = transport_server_new();
	gnet_options_t opts = { .size = sizeof(gnet_options_t), .num_loops = 2, .rcvbuf = UDP_SERVER_RCVBUF };
	tn_server_t s;
	transport_engine_new(&s, &opts, ctx);
	tn_server_listen(&s, "tcp://127.0.0.1:0");
	tn_server_listen(&s, "udp://127.0.0.1:0");
	tn_server_listen(&s, addr);

	/* gnet_engine_addr: one bound address per listener, in listen order. */
	struct sockaddr_storage ss[3];
	socklen_t len[3];
	for (int i = 0; i < 3; i++)
		len[i] = tn_server_addr(&s, i, &ss[i]);
	ck_assert_int_eq(ss[0].ss_family, AF_INET);
	ck_assert_int_eq(len[0], sizeof(struct sockaddr_in));
	ck_assert_int_gt(tn_addr_port(&ss[0]), 0);
	ck_assert_int_eq(ss[1].ss_family, AF_INET);
	ck_assert_int_eq(len[1], sizeof(struct sockaddr_in));
	ck_assert_int_gt(tn_addr_port(&ss[1]), 0);
	ck_assert_int_eq(ss[2].ss_family, AF_UNIX);
	ck_assert_str_eq(((struct sockaddr_un *)&ss[2])->sun_path, path);
	struct sockaddr_storage none;
	ck_assert_int_eq(gnet_engine_addr(s.eng, 3, &none, NULL), GNET_EINVAL);
	ck_assert_int_eq(gnet_engine_addr(s.eng, -1, &none, NULL), GNET_EINVAL);
	ck_assert_msg(tn_path_exists(path), "%s not created by listen", path);
	tn_server_run(&s);

	echo_streams((struct sockaddr *)&ss[0], len[0], 1, MULTI_BYTES, 31,
	    "tcp listener");
	echo_dgrams((struct sockaddr *)&ss[1], len[1], 1, MULTI_DGRAMS, DGRAM_BYTES,
	    UDP_WINDOW, "udp listener");
	echo_streams((struct sockaddr *)&ss[2], len[2], 1, MULTI_BYTES, 37,
	    "unix listener");
	TN_WAIT_UNTIL(atomic_load(&ctx->closes) == 2, WAIT_MS);
	ck_assert_int_eq(tn_ld(&ctx->opens), 2);
	ck_assert_int_eq(tn_ld(&ctx->closes), 2);
	ck_assert_int_eq(tn_ldl(&ctx->stream_bytes), 2L * MULTI_BYTES);
	ck_assert_int_eq(tn_ldl(&ctx->dgrams), MULTI_DGRAMS);
	tn_server_stop(&s);
	/* The UDP socket, listener 1, is served by loop 1 % 2 loops. */
	ck_assert_uint_eq(tn_loop_stats(s.eng, 1).udp_in, MULTI_DGRAMS);
	ck_assert_uint_eq(tn_loop_stats(s.eng, 0).udp_in, 0);
	ck_assert_int_eq(s.run_rc, 0);
	tn_server_free(&s);
	ck_assert_msg(!tn_path_exists(path), "%s left after stop", path);
	tn_tmpdir_remove(&dir);
	assert_no_loop_errors(ctx);
	free(ctx);
}
END_TEST

/* ------------------------------------------------------------------------
 * A reuseport listen that fails part-way (out of descriptors after two of
 * four sockets) must leave nothing bound: _i 0 tcp, 1 udp.
 */
/* Whether a plain socket of `type` can bind 127.0.0.1:port (0: port 0,
 * returning the port it got in *got). */
static int try_bind(int type, int port, int *got)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof sin;
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0), ok;
	ck_assert_int_ge(fd, 0);
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = bind(fd, (struct sockaddr *)&sin, sizeof sin) == 0;
	if (ok && got != NULL && getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		*got = ntohs(sin.sin_port);
	close(fd);
	return ok;
}

START_TEST(test_listen_failure_releases_port)
{
	const char *scheme = _i ? "udp" : "tcp";
	int type = _i ? SOCK_DGRAM : SOCK_STREAM;
	int port = 0;
	char addr[64];
	ck_assert(try_bind(type, 0, &port));
	snprintf(addr, sizeof addr, "%s://127.0.0.1:%d", scheme, port);

	transport_server_t *ctx = transport_server_new();
	gnet_options_t opts = { .size = sizeof(gnet_options_t), .num_loops = 4, .reuseport = 1 };
	tn_server_t s;
	transport_engine_new(&s, &opts, ctx);
	/* The lowest free descriptor: allow it and one more, so the third
	 * of the four sockets fails with EMFILE. */
	int next = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(next, 0);
	close(next);
	struct rlimit saved, low;
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &saved), 0);
	low = saved;
	low.rlim_cur = (rlim_t)next + 2;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
	int rc = gnet_engine_listen(s.eng, addr);
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &saved), 0);
	ck_assert_msg(rc == -EMFILE, "listen %s with 2 descriptors left: %d (%s)",
	    addr, rc, gnet_strerror(rc));

	ck_assert_msg(try_bind(type, port, NULL),
	    "%s: port %d still bound after gnet_engine_listen failed: the "
	    "sockets opened before the failure were kept", addr, port);
	gnet_engine_free(s.eng);
	ck_assert(try_bind(type, port, NULL));
	assert_no_loop_errors(ctx);
	free(ctx);
}
END_TEST

/* ------------------------------------------------------------------------
 * Unix socket files.
 */
/* A socket file bound at path; listening (and returned open) when live,
 * else closed at once without unlink: what a crashed server leaves. */
static int unix_socket_file(const char *path, int live)
{
	struct sockaddr_un sun;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	socklen_t len = (socklen_t)tn_sun_fill(&sun, path);
	ck_assert_msg(bind(fd, (struct sockaddr *)&sun, len) == 0, "bind %s: %s",
	    path, strerror(errno));
	if (live) {
		ck_assert_int_eq(listen(fd, 16), 0);
		return fd;
	}
	close(fd);
	ck_assert(tn_path_exists(path));
	return -1;
}

/* Listen on addr (which must succeed), echo through path, stop, and check
 * the socket file is gone afterwards. */
static void unix_serve_once(const char *addr, const char *path)
{
	transport_server_t *ctx = transport_server_new();
	tn_server_t s;
	struct sockaddr_un sun;
	transport_engine_new(&s, NULL, ctx);
	tn_server_listen(&s, addr);
	struct stat st;
	ck_assert_msg(lstat(path, &st) == 0 && S_ISSOCK(st.st_mode),
	    "%s is not a socket after listen", path);
	tn_server_run(&s);
	socklen_t len = (socklen_t)tn_sun_fill(&sun, path);
	echo_streams((struct sockaddr *)&sun, len, 2, MULTI_BYTES, 41, addr);
	TN_WAIT_UNTIL(atomic_load(&ctx->closes) == 2, WAIT_MS);
	ck_assert_int_eq(tn_ld(&ctx->opens), 2);
	tn_server_close(&s);
	ck_assert_msg(!tn_path_exists(path), "%s left after the engine stopped", path);
	assert_no_loop_errors(ctx);
	free(ctx);
}

START_TEST(test_unix_stale_file_replaced)
{
	tn_tmpdir_t dir;
	char path[108], addr[160];
	tn_tmpdir_make(&dir, "transport");
	tn_tmpdir_file(&dir, "stale.sock", path, sizeof path);
	snprintf(addr, sizeof addr, "unix://%s", path);
	unix_socket_file(path, 0);
	unix_serve_once(addr, path);
	tn_tmpdir_remove(&dir);
}
END_TEST

/* Path taken: by a live server (_i 0) or by a regular file (_i 1). */
START_TEST(test_unix_path_in_use)
{
	static const char content[] = "not a socket\n";
	int regular = _i;
	tn_tmpdir_t dir;
	char path[108], addr[160], got[64];
	struct stat before, after;
	int live = -1;
	tn_tmpdir_make(&dir, "transport");
	tn_tmpdir_file(&dir, "taken", path, sizeof path);
	snprintf(addr, sizeof addr, "unix://%s", path);
	if (regular) {
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(write(fd, content, sizeof content - 1),
		    (ssize_t)(sizeof content - 1));
		close(fd);
	} else {
		live = unix_socket_file(path, 1);
	}
	ck_assert_int_eq(lstat(path, &before), 0);

	transport_server_t *ctx = transport_server_new();
	tn_server_t s;
	transport_engine_new(&s, NULL, ctx);
	int rc = gnet_engine_listen(s.eng, addr);
	ck_assert_msg(rc == -EADDRINUSE, "listen on a %s: %d (%s), want -EADDRINUSE",
	    regular ? "regular file" : "live server's socket", rc,
	    gnet_strerror(rc));
	gnet_engine_free(s.eng);

	/* Whatever was there is untouched. */
	ck_assert_int_eq(lstat(path, &after), 0);
	ck_assert_uint_eq(after.st_ino, before.st_ino);
	ck_assert_uint_eq(after.st_mode, before.st_mode);
	if (regular) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ck_assert_int_ge(fd, 0);
		memset(got, 0, sizeof got);
		ck_assert_int_eq(read(fd, got, sizeof got - 1),
		    (ssize_t)(sizeof content - 1));
		close(fd);
		ck_assert_str_eq(got, content);
	} else {
		/* The live server still accepts. */
		struct sockaddr_un sun;
		socklen_t len = (socklen_t)tn_sun_fill(&sun, path);
		int fd = tn_connect_addr((struct sockaddr *)&sun, len, 0);
		ck_assert_msg(fd >= 0, "live server unreachable: %s", strerror(errno));
		close(fd);
		close(live);
	}
	ck_assert_int_eq(unlink(path), 0);
	tn_tmpdir_remove(&dir);
	assert_no_loop_errors(ctx);
	free(ctx);
}
END_TEST

START_TEST(test_unix_relative_path)
{
	tn_tmpdir_t dir;
	char cwd[PATH_MAX], path[108];
	tn_tmpdir_make(&dir, "transport");
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
	ck_assert_int_eq(chdir(dir.path), 0);
	unix_serve_once("unix://rel.sock", "rel.sock");
	ck_assert_int_eq(chdir(cwd), 0);
	/* The file was made (and removed) in the temporary directory. */
	tn_tmpdir_file(&dir, "rel.sock", path, sizeof path);
	ck_assert(!tn_path_exists(path));
	tn_tmpdir_remove(&dir);
}
END_TEST

START_TEST(test_invalid_lb)
{
	static const int bad[] = { 3, 99, -1 };
	static char sentinel;
	gnet_engine_t *eng;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		gnet_options_t opts = { .size = sizeof(gnet_options_t), .lb = (gnet_lb_t)bad[i] };
		eng = (gnet_engine_t *)(void *)&sentinel; /* must become NULL */
		int rc = gnet_engine_new(&eng, &transport_server_events, &opts, NULL);
		ck_assert_msg(rc == GNET_EINVAL, "lb %d: %d (%s), want GNET_EINVAL",
		    bad[i], rc, gnet_strerror(rc));
		ck_assert_ptr_null(eng);
	}
	for (int i = 0; i < N_BALANCERS; i++) {
		gnet_options_t opts = { .size = sizeof(gnet_options_t), .lb = balancers[i].lb };
		ck_assert_int_eq(gnet_engine_new(&eng, &transport_server_events, &opts, NULL), 0);
		gnet_engine_free(eng);
	}
}
END_TEST

/* ------------------------------------------------------------------------
 */
static Suite *transport_suite(void)
{
	Suite *s = suite_create("transport");
	TCase *tc;

	tc = tn_tcase("echo", TCASE_TIMEOUT_S);
	tcase_add_loop_test(tc, test_echo_matrix, 0, MATRIX_CASES);
	suite_add_tcase(s, tc);

	tc = tn_tcase("lb", TCASE_TIMEOUT_S);
	tcase_add_test(tc, test_lb_round_robin);
	tcase_add_test(tc, test_lb_least_connections);
	tcase_add_test(tc, test_lb_source_hash);
	tcase_add_test(tc, test_invalid_lb);
	suite_add_tcase(s, tc);

	tc = tn_tcase("reuseport", TCASE_TIMEOUT_S);
	tcase_add_test(tc, test_reuseport_two_engines_tcp);
	tcase_add_test(tc, test_reuseport_two_engines_udp);
	suite_add_tcase(s, tc);

	tc = tn_tcase("listeners", TCASE_TIMEOUT_S);
	tcase_add_test(tc, test_several_listeners);
	tcase_add_test(tc, test_unix_stale_file_replaced);
	tcase_add_loop_test(tc, test_unix_path_in_use, 0, 2);
	tcase_add_test(tc, test_unix_relative_path);
	tcase_add_loop_test(tc, test_listen_failure_releases_port, 0, 2);
	suite_add_tcase(s, tc);

	return s;
}

int main(void)
{
	return tn_run_suite(transport_suite());
}
