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
 *     (127.0.0.1 and 127.0.0.2 each stick to one loop);
 *   - SO_REUSEPORT shared by two engines, TCP and UDP: both serve, and the
 *     survivor takes everything once the other stops;
 *   - tcp + udp + unix listeners in one engine, gnet_engine_addr order; a
 *     reuseport listen failing part-way leaves its port free;
 *   - unix socket files: a stale file is replaced, a live socket or a
 *     regular file gives -EADDRINUSE (and is left alone), relative paths,
 *     removal at stop;
 *   - UDP: batched recvmmsg/sendmmsg (udp_in/udp_out/syscalls_io),
 *     oversized datagrams dropped and counted, gnet_conn_sendto to a third
 *     party, no on_open/on_close;
 *   - socket options on accepted sockets (TCP_NODELAY, keepalive, buffer
 *     sizes, SO_LINGER), bind_device, and an invalid lb value.
 *
 * Server callbacks only record into atomics; the test thread asserts, with
 * bounded waits. Payload sizes go through tn_scaled (GNET_STRESS_SCALE).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdarg.h>
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
#include "support/testnet.h"

#define TCASE_TIMEOUT_S 120
#define WAIT_MS 5000            /* for a callback to be observed */
#define IO_MS 10000             /* for a single client exchange */
#define PUMP_MS 60000           /* for a multi-client exchange */
#define UDP_STALL_MS 5000       /* no reply for this long: datagrams were lost */

#define ECHO_CLIENTS 10
#define STREAM_BYTES (1024u * 1024)   /* per stream client, scaled */
#define DGRAM_BYTES 1024u             /* per datagram in the echo matrix */
#define DGRAMS_PER_CLIENT 200u        /* scaled */
#define UDP_WINDOW 8u                 /* unanswered datagrams per client */
#define UDP_SERVER_RCVBUF (4 * 1024 * 1024)
#define UDP_CLIENT_RCVBUF (1024 * 1024)
#define UDP_RX_CAP 65536u             /* client receive buffer: any datagram */

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

#define BATCH_CLIENTS 64
#define BATCH_INFLIGHT 4u
#define BATCH_PER_CLIENT 64u          /* scaled; at least BATCH_INFLIGHT */
#define BATCH_BYTES 64u

#define SMALL_MAX_DGRAM 1024u
#define OVERSIZE_BYTES 2000u

#define FWD_MAGIC "FWD!"              /* datagram: magic, port (2 bytes), payload */
#define FWD_HDR 6u
#define BURST_MAGIC "BRST"            /* datagram: magic, burst number (1 byte) */
#define REFUSED_MAGIC "RFSD"          /* datagram: a run to a refused address */
#define REFUSED_RUN 3

#define BARRIER_MSG (GNET_MSG_USER + 1)

/* ------------------------------------------------------------------------
 * Server context: what loop threads observed.
 */
enum sockopt_slot {
	OPT_NODELAY, OPT_KEEPALIVE, OPT_KEEPIDLE, OPT_KEEPINTVL, OPT_KEEPCNT,
	OPT_SNDBUF, OPT_RCVBUF, OPT_LINGER_ON, OPT_LINGER_S, OPT_DEV_LO,
	OPT_COUNT
};

typedef struct srv_ctx {
	/* set before the engine runs, read-only afterwards */
	int record_opts;              /* read socket options in on_open */

	atomic_int opens, closes;
	atomic_int loop_opens[GNET_MAX_LOOPS];
	atomic_int loop_closes[GNET_MAX_LOOPS];
	atomic_long stream_bytes;
	atomic_long dgrams;           /* on_traffic calls on UDP sockets */
	atomic_int last_udp_port;     /* sender port of the latest datagram */
	atomic_int no_gso;            /* burst: refuse GSO on the socket first */
	atomic_int udp_dev_lo;        /* UDP socket bound to "lo": 1, no: 0,
	                               * not looked at: -1 */
	atomic_int opts_seen;         /* accepted sockets whose options were read */
	atomic_int opt[OPT_COUNT];
	atomic_int barrier_hits;      /* messages the barrier actor received */
	atomic_uchar port_loop[65536]; /* TCP peer port -> loop index + 1 */
	tn_loop_errors_t errs;      /* unexpected results on loop threads */
} srv_ctx_t;

#define LOOP_CHECK(ctx, cond) TN_LOOP_CHECK(&(ctx)->errs, cond)
#define assert_no_loop_errors(ctx) TN_ASSERT_NO_LOOP_ERRORS(&(ctx)->errs)

/* An atomic counter in an assertion: a plain call keeps Check's message
 * readable (atomic_load expands to a statement expression). */
static long ld_int(atomic_int *p)
{
	return atomic_load(p);
}

static long ld_long(atomic_long *p)
{
	return atomic_load(p);
}

#define LD(p) _Generic((p), atomic_int *: ld_int, atomic_long *: ld_long)(p)

static srv_ctx_t *ctx_new(void)
{
	/* Zeroed memory is a valid state for these lock-free atomics. */
	srv_ctx_t *ctx = calloc(1, sizeof *ctx);
	ck_assert_ptr_nonnull(ctx);
	atomic_store(&ctx->udp_dev_lo, -1);
	return ctx;
}

static int sa_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return -1;
}

/* 1 if fd is bound to the "lo" device, 0 if not (or unknown). */
static int bound_to_lo(int fd)
{
	char dev[IFNAMSIZ + 1];
	socklen_t len = IFNAMSIZ;

	memset(dev, 0, sizeof dev);
	if (getsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev, &len) != 0)
		return 0;
	return strcmp(dev, "lo") == 0;
}

/* The options of an accepted socket, for the socket-option tests. */
static void record_sockopts(srv_ctx_t *ctx, int fd)
{
	static const struct { int slot, level, name; } ints[] = {
		{ OPT_NODELAY, IPPROTO_TCP, TCP_NODELAY },
		{ OPT_KEEPALIVE, SOL_SOCKET, SO_KEEPALIVE },
		{ OPT_KEEPIDLE, IPPROTO_TCP, TCP_KEEPIDLE },
		{ OPT_KEEPINTVL, IPPROTO_TCP, TCP_KEEPINTVL },
		{ OPT_KEEPCNT, IPPROTO_TCP, TCP_KEEPCNT },
		{ OPT_SNDBUF, SOL_SOCKET, SO_SNDBUF },
		{ OPT_RCVBUF, SOL_SOCKET, SO_RCVBUF },
	};
	struct linger lg = { -1, -1 };
	socklen_t len;

	for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
		int v = -1;
		len = sizeof v;
		LOOP_CHECK(ctx, getsockopt(fd, ints[i].level, ints[i].name, &v,
		    &len) == 0);
		atomic_store(&ctx->opt[ints[i].slot], v);
	}
	len = sizeof lg;
	LOOP_CHECK(ctx, getsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, &len) == 0);
	atomic_store(&ctx->opt[OPT_LINGER_ON], lg.l_onoff);
	atomic_store(&ctx->opt[OPT_LINGER_S], lg.l_linger);
	atomic_store(&ctx->opt[OPT_DEV_LO], bound_to_lo(fd));
	/* Last: the test thread waits on this counter. */
	atomic_fetch_add(&ctx->opts_seen, 1);
}

/* ------------------------------------------------------------------------
 * Server callbacks: echo for streams and datagrams. A datagram starting
 * with FWD_MAGIC is instead sent on to 127.0.0.1:<port> with sendto.
 */
static gnet_action_t on_open(gnet_conn_t *c, void *udata)
{
	srv_ctx_t *ctx = udata;
	int loop = gnet_conn_loop_index(c);
	socklen_t plen = 0;
	const struct sockaddr *peer = gnet_conn_remote_addr(c, &plen);
	struct sockaddr_in to = { .sin_family = AF_INET };

	LOOP_CHECK(ctx, !gnet_conn_is_udp(c));
	LOOP_CHECK(ctx, loop >= 0 && loop < GNET_MAX_LOOPS);
	LOOP_CHECK(ctx, loop == gnet_loop_current());
	/* sendto is for UDP sockets only. */
	LOOP_CHECK(ctx, gnet_conn_sendto(c, (struct sockaddr *)&to, sizeof to,
	    "x", 1) == GNET_EINVAL);
	if (peer != NULL && plen > 0 && sa_port(peer) > 0)
		atomic_store(&ctx->port_loop[sa_port(peer)], (unsigned char)(loop + 1));
	if (ctx->record_opts)
		record_sockopts(ctx, gnet_conn_fd(c));
	if (loop >= 0 && loop < GNET_MAX_LOOPS)
		atomic_fetch_add(&ctx->loop_opens[loop], 1);
	/* Last: the test thread waits on this counter. */
	atomic_fetch_add(&ctx->opens, 1);
	return GNET_NONE;
}

static void udp_forward(srv_ctx_t *ctx, gnet_conn_t *c, const uint8_t *p,
    size_t n)
{
	struct sockaddr_in to = { .sin_family = AF_INET };
	uint16_t port;

	memcpy(&port, p + 4, sizeof port);
	to.sin_port = port; /* already in network order */
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	LOOP_CHECK(ctx, gnet_conn_sendto(c, (struct sockaddr *)&to, sizeof to,
	    p + FWD_HDR, n - FWD_HDR) == (long)(n - FWD_HDR));
}

/* Reply sizes of each burst (a 0 ends a list; -1 is an empty datagram).
 * Burst 0 is one long run of equal datagrams, more than a GSO send may
 * carry; burst 1 mixes runs, a shorter datagram that may end a run, an
 * empty one and sizes that cannot follow a shorter one; burst 2 is too
 * large in total for a single GSO send. */
static const int burst_sizes[][24] = {
	{ 200 }, /* x BURST0_COUNT, below */
	{ 600, 600, 600, 100, 1000, 1000, 1000, 1000, 1000, -1, 1000, 1000,
	  7, 7, 7, 0 },
	{ 30000, 30000, 10000, 10000, 0 },
};
#define BURST0_COUNT 70
#define N_BURSTS 3

static size_t burst_count(int b)
{
	size_t n = 0;
	if (b == 0)
		return BURST0_COUNT;
	while (burst_sizes[b][n] != 0)
		n++;
	return n;
}

static size_t burst_len(int b, size_t i)
{
	int v = b == 0 ? burst_sizes[0][0] : burst_sizes[b][i];
	return v < 0 ? 0 : (size_t)v;
}

/* Queue every reply of burst b to the sender in one callback, so one
 * flush sends them all. */
static void udp_burst(srv_ctx_t *ctx, gnet_conn_t *c, int b)
{
	static uint8_t buf[30000];
	size_t i, n;

	if (atomic_load(&ctx->no_gso)) {
		/* The kernel refuses UDP_SEGMENT on a socket without
		 * checksums: the GSO fallback must take over. */
		int one = 1;
		LOOP_CHECK(ctx, setsockopt(gnet_conn_fd(c), SOL_SOCKET,
		    SO_NO_CHECK, &one, sizeof one) == 0);
	}
	for (i = 0, n = burst_count(b); i < n; i++) {
		size_t len = burst_len(b, i);
		tn_fill_random(buf, len, (uint64_t)b * 1000 + i);
		LOOP_CHECK(ctx, gnet_conn_write(c, buf, len) == (long)len);
	}
}

/* A GSO run whose destination the kernel refuses (broadcast without
 * SO_BROADCAST: EACCES), then a reply: the run is dropped and counted,
 * the reply still goes, and GSO stays on for the socket. */
static void udp_refused_run(srv_ctx_t *ctx, gnet_conn_t *c)
{
	struct sockaddr_in bcast = { .sin_family = AF_INET,
	    .sin_port = htons(9), .sin_addr.s_addr = htonl(INADDR_BROADCAST) };
	static const uint8_t junk[100];

	for (int i = 0; i < REFUSED_RUN; i++)
		LOOP_CHECK(ctx, gnet_conn_sendto(c, (struct sockaddr *)&bcast,
		    sizeof bcast, junk, sizeof junk) == (long)sizeof junk);
	LOOP_CHECK(ctx, gnet_conn_write(c, "ok", 2) == 2);
}

static gnet_action_t on_traffic(gnet_conn_t *c, void *udata)
{
	srv_ctx_t *ctx = udata;
	const void *data = NULL;
	size_t n = gnet_conn_peek(c, &data);

	LOOP_CHECK(ctx, gnet_conn_loop_index(c) == gnet_loop_current());
	if (gnet_conn_is_udp(c)) {
		socklen_t plen = 0;
		const struct sockaddr *from = gnet_conn_remote_addr(c, &plen);
		LOOP_CHECK(ctx, from != NULL && plen > 0);
		if (from != NULL && plen > 0)
			atomic_store(&ctx->last_udp_port, sa_port(from));
		if (ctx->record_opts)
			atomic_store(&ctx->udp_dev_lo, bound_to_lo(gnet_conn_fd(c)));
		if (n >= FWD_HDR && memcmp(data, FWD_MAGIC, 4) == 0)
			udp_forward(ctx, c, data, n);
		else if (n == 5 && memcmp(data, BURST_MAGIC, 4) == 0 &&
		    ((const uint8_t *)data)[4] < N_BURSTS)
			udp_burst(ctx, c, ((const uint8_t *)data)[4]);
		else if (n == 4 && memcmp(data, REFUSED_MAGIC, 4) == 0)
			udp_refused_run(ctx, c);
		else
			LOOP_CHECK(ctx, gnet_conn_write(c, data, n) == (long)n);
		atomic_fetch_add(&ctx->dgrams, 1);
		return GNET_NONE;
	}
	if (n > 0) {
		LOOP_CHECK(ctx, gnet_conn_write(c, data, n) == (long)n);
		LOOP_CHECK(ctx, gnet_conn_discard(c, n) == (long)n);
		atomic_fetch_add(&ctx->stream_bytes, (long)n);
	}
	return GNET_NONE;
}

static void on_close(gnet_conn_t *c, int reason, void *udata)
{
	srv_ctx_t *ctx = udata;
	int loop = gnet_conn_loop_index(c);

	LOOP_CHECK(ctx, !gnet_conn_is_udp(c));
	if (loop >= 0 && loop < GNET_MAX_LOOPS)
		atomic_fetch_add(&ctx->loop_closes[loop], 1);
	atomic_fetch_add(&ctx->closes, 1);
}

static const gnet_events_t srv_events = { .size = sizeof(gnet_events_t),
	.on_open = on_open,
	.on_traffic = on_traffic,
	.on_close = on_close,
};

/* An actor whose only job is to prove its loop got past earlier work. */
static void barrier_receive(gnet_actor_t *self, const gnet_msg_t *m)
{
	srv_ctx_t *ctx = gnet_actor_state(self);
	(void)m;
	atomic_fetch_add(&ctx->barrier_hits, 1);
}

/* ------------------------------------------------------------------------
 * Engines on a background thread, listening wherever the test says
 * (tn_server_new, tn_server_listen, tn_server_run).
 */
static void srv_new(tn_server_t *s, const gnet_options_t *opts, srv_ctx_t *ctx)
{
	tn_server_new(s, &srv_events, opts, ctx);
}

/* The bound address of listener `index`. */
static socklen_t srv_addr(tn_server_t *s, int index, struct sockaddr_storage *ss)
{
	socklen_t len = sizeof *ss;
	memset(ss, 0, sizeof *ss);
	int rc = gnet_engine_addr(s->eng, index, ss, &len);
	ck_assert_msg(rc == 0, "gnet_engine_addr(%d): %d (%s)", index, rc,
	    gnet_strerror(rc));
	return len;
}

/* Spawn the barrier actor on `loop` (setup time). */
static gnet_handle_t srv_barrier_actor(tn_server_t *s, srv_ctx_t *ctx, int loop)
{
	gnet_actor_def_t def = { .size = sizeof(gnet_actor_def_t), .receive = barrier_receive, .state = ctx };
	gnet_handle_t h = GNET_HANDLE_NONE;
	int rc = gnet_actor_spawn(s->eng, loop, &def, &h);
	ck_assert_msg(rc == 0, "gnet_actor_spawn: %d (%s)", rc, gnet_strerror(rc));
	return h;
}

/* Wait until the barrier actor's loop has handled a message sent now: the
 * loop has then finished whatever it was doing, e.g. the rest of a close
 * whose on_close the test already saw. */
static void srv_barrier(tn_server_t *s, srv_ctx_t *ctx, gnet_handle_t h)
{
	int before = atomic_load(&ctx->barrier_hits);
	gnet_msg_t m = { .type = BARRIER_MSG };
	int rc = gnet_actor_send(s->eng, h, &m);
	ck_assert_msg(rc == 0, "gnet_actor_send: %d (%s)", rc, gnet_strerror(rc));
	TN_WAIT_UNTIL(atomic_load(&ctx->barrier_hits) > before, WAIT_MS);
	ck_assert_msg(atomic_load(&ctx->barrier_hits) > before,
	    "barrier message not handled within %d ms", WAIT_MS);
}

/* Sum of every loop's counters. */
static gnet_loop_stats_t stats_sum(gnet_engine_t *eng)
{
	gnet_loop_stats_t sum = { .size = sizeof(gnet_loop_stats_t) };
	memset(&sum, 0, sizeof sum);
	for (int i = 0; i < gnet_engine_num_loops(eng); i++) {
		gnet_loop_stats_t st = { .size = sizeof(gnet_loop_stats_t) };
		ck_assert_int_eq(gnet_engine_loop_stats(eng, i, &st), 0);
		sum.accepted += st.accepted;
		sum.conns += st.conns;
		sum.udp_in += st.udp_in;
		sum.udp_out += st.udp_out;
		sum.udp_dropped += st.udp_dropped;
		sum.syscalls_io += st.syscalls_io;
	}
	return sum;
}

static gnet_loop_stats_t loop_stats(gnet_engine_t *eng, int loop)
{
	gnet_loop_stats_t st = { .size = sizeof(gnet_loop_stats_t) };
	ck_assert_int_eq(gnet_engine_loop_stats(eng, loop, &st), 0);
	return st;
}

static unsigned scaled_min(unsigned n, unsigned min)
{
	unsigned v = tn_scaled(n);
	return v < min ? min : v;
}

/* ------------------------------------------------------------------------
 * Temporary directory for unix sockets.
 */
typedef struct tmp_dir {
	char path[64];
} tmp_dir_t;

static void tmp_dir_make(tmp_dir_t *d)
{
	snprintf(d->path, sizeof d->path, "/tmp/gnet-transport-XXXXXX");
	ck_assert_msg(mkdtemp(d->path) != NULL, "mkdtemp: %s", strerror(errno));
}

/* dir/name into out (a sun_path-sized buffer). */
static void tmp_dir_file(const tmp_dir_t *d, const char *name, char *out,
    size_t cap)
{
	int n = snprintf(out, cap, "%s/%s", d->path, name);
	ck_assert(n > 0 && (size_t)n < cap);
}

static void tmp_dir_remove(tmp_dir_t *d)
{
	ck_assert_msg(rmdir(d->path) == 0, "rmdir %s: %s (a file left behind?)",
	    d->path, strerror(errno));
}

static int path_exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

static int sun_fill(struct sockaddr_un *sun, const char *path)
{
	memset(sun, 0, sizeof *sun);
	sun->sun_family = AF_UNIX;
	ck_assert(strlen(path) < sizeof sun->sun_path);
	strcpy(sun->sun_path, path);
	return (int)sizeof *sun;
}

/* ------------------------------------------------------------------------
 * Stream clients: k clients each echo `bytes` of their own random data.
 */
static void stream_echo(const struct sockaddr *sa, socklen_t len, int k,
    size_t bytes, uint64_t seed, const char *what)
{
	uint8_t **payload = calloc((size_t)k, sizeof *payload);
	tn_client_t *cl = calloc((size_t)k, sizeof *cl);
	ck_assert_ptr_nonnull(payload);
	ck_assert_ptr_nonnull(cl);
	for (int i = 0; i < k; i++) {
		payload[i] = malloc(bytes);
		ck_assert_ptr_nonnull(payload[i]);
		tn_fill_random(payload[i], bytes, seed + (uint64_t)i);
		int fd = tn_connect_addr(sa, len, 0);
		ck_assert_msg(fd >= 0, "%s: connect %d: %s", what, i, strerror(errno));
		tn_client_init(&cl[i], fd, payload[i], bytes, NULL, 0);
	}
	int failed = tn_pump(cl, (size_t)k, PUMP_MS);
	ck_assert_msg(failed == 0, "%s: %d of %d client(s) failed; %s", what,
	    failed, k, tn_pump_error(cl, (size_t)k));
	for (int i = 0; i < k; i++) {
		tn_close(&cl[i].fd);
		free(payload[i]);
	}
	free(payload);
	free(cl);
}

/* ------------------------------------------------------------------------
 * UDP clients: each its own socket, connected to the server, keeps up to
 * `window` datagrams unanswered and checks every reply byte for byte.
 * Nothing is resent: a lost datagram stalls its client, which is reported.
 * Datagram: client id (4 bytes), sequence (4 bytes), pseudo-random bytes.
 */
typedef struct udp_cl {
	int fd;
	unsigned id;
	unsigned total;         /* datagrams to exchange */
	unsigned sent, recvd;
	uint8_t *seen;          /* per sequence number */
	char error[192];
} udp_cl_t;

__attribute__((format(printf, 2, 3)))
static void udp_fail(udp_cl_t *c, const char *fmt, ...)
{
	va_list ap;
	if (c->error[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(c->error, sizeof c->error, fmt, ap);
	va_end(ap);
}

static void udp_fill(uint8_t *buf, size_t len, unsigned id, unsigned seq)
{
	tn_fill_random(buf, len, (((uint64_t)id << 32) | seq) + 1);
	memcpy(buf, &id, 4);
	memcpy(buf + 4, &seq, 4);
}

/* A UDP socket with a roomy receive buffer, connected to sa when not NULL
 * (else bound to 127.0.0.1:0), or -1. */
static int udp_socket(const struct sockaddr *sa, socklen_t len)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int rcv = UDP_CLIENT_RCVBUF;
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
	if (sa != NULL) {
		if (connect(fd, sa, len) == 0)
			return fd;
	} else {
		struct sockaddr_in sin = { .sin_family = AF_INET };
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (bind(fd, (struct sockaddr *)&sin, sizeof sin) == 0)
			return fd;
	}
	close(fd);
	return -1;
}

static int sock_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return -1;
	return tn_addr_port(&ss);
}

static udp_cl_t *udp_clients_open(const struct sockaddr *sa, socklen_t len,
    size_t k, unsigned total)
{
	udp_cl_t *cl = calloc(k, sizeof *cl);
	ck_assert_ptr_nonnull(cl);
	for (size_t i = 0; i < k; i++) {
		cl[i].fd = udp_socket(sa, len);
		ck_assert_msg(cl[i].fd >= 0, "udp client %zu: %s", i, strerror(errno));
		cl[i].id = (unsigned)i;
		cl[i].total = total;
		cl[i].seen = calloc(total, 1);
		ck_assert_ptr_nonnull(cl[i].seen);
	}
	return cl;
}

static void udp_clients_close(udp_cl_t *cl, size_t k)
{
	for (size_t i = 0; i < k; i++) {
		tn_close(&cl[i].fd);
		free(cl[i].seen);
	}
	free(cl);
}

/* Send until each client has `window` datagrams unanswered. */
static void udp_send_window(udp_cl_t *cl, size_t k, size_t dlen,
    unsigned window, uint8_t *buf)
{
	for (size_t i = 0; i < k; i++) {
		udp_cl_t *c = &cl[i];
		while (c->error[0] == '\0' && c->sent < c->total &&
		    c->sent - c->recvd < window) {
			udp_fill(buf, dlen, c->id, c->sent);
			ssize_t w = send(c->fd, buf, dlen, MSG_DONTWAIT);
			if (w == (ssize_t)dlen) {
				c->sent++;
				continue;
			}
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				break;
			udp_fail(c, "send #%u: %s", c->sent,
			    w < 0 ? strerror(errno) : "short write");
		}
	}
}

/* Take every reply waiting for c; returns 1 if there was any. */
static int udp_recv_ready(udp_cl_t *c, size_t dlen, uint8_t *rx, uint8_t *want)
{
	int progress = 0;
	while (c->error[0] == '\0') {
		ssize_t r = recv(c->fd, rx, UDP_RX_CAP, MSG_DONTWAIT | MSG_TRUNC);
		unsigned id, seq;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				udp_fail(c, "recv after %u replies: %s", c->recvd,
				    strerror(errno));
			break;
		}
		if ((size_t)r != dlen) {
			udp_fail(c, "reply of %zd bytes, want %zu", r, dlen);
			break;
		}
		memcpy(&id, rx, 4);
		memcpy(&seq, rx + 4, 4);
		if (id != c->id || seq >= c->sent || c->seen[seq]) {
			udp_fail(c, "unexpected reply: id %u seq %u (sent %u)", id, seq,
			    c->sent);
			break;
		}
		udp_fill(want, dlen, id, seq);
		if (memcmp(rx, want, dlen) != 0) {
			udp_fail(c, "reply %u differs from datagram sent", seq);
			break;
		}
		c->seen[seq] = 1;
		c->recvd++;
		progress = 1;
	}
	return progress;
}

/* Run every client to completion. Returns the number that failed; their
 * error says why (a stall means lost datagrams: nothing is resent). */
static int udp_pump(udp_cl_t *cl, size_t k, size_t dlen, unsigned window,
    int timeout_ms)
{
	uint8_t *tx = malloc(dlen), *rx = malloc(UDP_RX_CAP), *want = malloc(dlen);
	struct pollfd *pfd = calloc(k, sizeof *pfd);
	size_t *idx = calloc(k, sizeof *idx);
	ck_assert_msg(tx && rx && want && pfd && idx, "udp_pump: out of memory");
	ck_assert_uint_ge(dlen, 8);
	int64_t deadline = tn_now_ms() + timeout_ms, last = tn_now_ms();
	int stalled = 0;

	for (;;) {
		size_t n = 0;
		udp_send_window(cl, k, dlen, window, tx);
		for (size_t i = 0; i < k; i++) {
			if (cl[i].error[0] != '\0' || cl[i].recvd == cl[i].total)
				continue;
			pfd[n] = (struct pollfd){ .fd = cl[i].fd, .events = POLLIN };
			idx[n++] = i;
		}
		if (n == 0)
			break;
		int64_t now = tn_now_ms();
		if (now >= deadline)
			break;
		if (now - last >= UDP_STALL_MS) {
			stalled = 1;
			break;
		}
		if (poll(pfd, n, 50) <= 0)
			continue;
		for (size_t j = 0; j < n; j++)
			if (pfd[j].revents != 0 &&
			    udp_recv_ready(&cl[idx[j]], dlen, rx, want))
				last = tn_now_ms();
	}

	int failed = 0;
	for (size_t i = 0; i < k; i++) {
		udp_cl_t *c = &cl[i];
		if (c->error[0] == '\0' && c->recvd == c->total)
			continue;
		if (stalled)
			udp_fail(c, "%u of %u replies, %u sent: %u datagram(s) lost "
			    "(no reply for %d ms)", c->recvd, c->total, c->sent,
			    c->sent - c->recvd, UDP_STALL_MS);
		else
			udp_fail(c, "timeout: %u of %u replies, %u sent", c->recvd,
			    c->total, c->sent);
		failed++;
	}
	free(tx);
	free(rx);
	free(want);
	free(pfd);
	free(idx);
	return failed;
}

static const char *udp_error(const udp_cl_t *cl, size_t k)
{
	static char msg[256];
	msg[0] = '\0';
	for (size_t i = 0; i < k; i++) {
		if (cl[i].error[0] != '\0') {
			snprintf(msg, sizeof msg, "client %zu: %s", i, cl[i].error);
			break;
		}
	}
	return msg;
}

/* k clients exchange `total` datagrams of dlen bytes each with sa. */
static void udp_echo(const struct sockaddr *sa, socklen_t len, size_t k,
    unsigned total, size_t dlen, unsigned window, const char *what)
{
	udp_cl_t *cl = udp_clients_open(sa, len, k, total);
	int failed = udp_pump(cl, k, dlen, window, PUMP_MS);
	ck_assert_msg(failed == 0, "%s: %d of %zu udp client(s) failed; %s", what,
	    failed, k, udp_error(cl, k));
	udp_clients_close(cl, k);
}

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
static void assert_spread(srv_ctx_t *ctx, int loops, enum net net,
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
	tmp_dir_t dir;
	snprintf(what, sizeof what, "%s, %d loop(s), %s", net_names[net], loops,
	    b->name);

	srv_ctx_t *ctx = ctx_new();
	gnet_options_t opts = { .size = sizeof(gnet_options_t), .num_loops = loops, .lb = b->lb,
	    .reuseport = b->reuseport };
	if (net == NET_UDP)
		opts.rcvbuf = UDP_SERVER_RCVBUF; /* room for every window */
	if (net == NET_UNIX) {
		tmp_dir_make(&dir);
		tmp_dir_file(&dir, "echo.sock", path, sizeof path);
		snprintf(addr, sizeof addr, "unix://%s", path);
	} else {
		snprintf(addr, sizeof addr, "%s://127.0.0.1:0", net_names[net]);
	}
	tn_server_t s;
	srv_new(&s, &opts, ctx);
	tn_server_listen(&s, addr);
	ck_assert_int_eq(gnet_engine_num_loops(s.eng), loops);
	struct sockaddr_storage ss;
	socklen_t sslen = srv_addr(&s, 0, &ss);
	tn_server_run(&s);

	if (net == NET_UDP) {
		unsigned per = scaled_min(DGRAMS_PER_CLIENT, 1);
		long total = (long)per * ECHO_CLIENTS;
		udp_echo((struct sockaddr *)&ss, sslen, ECHO_CLIENTS, per,
		    DGRAM_BYTES, UDP_WINDOW, what);
		ck_assert_int_eq(LD(&ctx->dgrams), total);
		tn_server_stop(&s);
		gnet_loop_stats_t sum = stats_sum(s.eng);
		ck_assert_msg(sum.udp_in == (uint64_t)total &&
		    sum.udp_out == (uint64_t)total && sum.udp_dropped == 0,
		    "%s: udp_in %llu, udp_out %llu, dropped %llu; want %ld, %ld, 0",
		    what, (unsigned long long)sum.udp_in,
		    (unsigned long long)sum.udp_out,
		    (unsigned long long)sum.udp_dropped, total, total);
		if (!b->reuseport) /* one socket: listener 0 % loops = loop 0 */
			ck_assert_uint_eq(loop_stats(s.eng, 0).udp_in, (uint64_t)total);
		/* UDP has no connections: no on_open, no on_close. */
		ck_assert_int_eq(LD(&ctx->opens), 0);
		ck_assert_int_eq(LD(&ctx->closes), 0);
		ck_assert_uint_eq(sum.accepted, 0);
	} else {
		size_t bytes = scaled_min(STREAM_BYTES, 1024);
		stream_echo((struct sockaddr *)&ss, sslen, ECHO_CLIENTS, bytes,
		    1000 + (uint64_t)c * 100, what);
		TN_WAIT_UNTIL(atomic_load(&ctx->closes) == ECHO_CLIENTS, WAIT_MS);
		ck_assert_int_eq(LD(&ctx->closes), ECHO_CLIENTS);
		ck_assert_int_eq(LD(&ctx->opens), ECHO_CLIENTS);
		ck_assert_int_eq(LD(&ctx->stream_bytes),
		    (long)bytes * ECHO_CLIENTS);
		ck_assert_int_eq(LD(&ctx->dgrams), 0);
		assert_spread(ctx, loops, net, b, what);
		ck_assert_uint_eq(stats_sum(s.eng).accepted, ECHO_CLIENTS);
		tn_server_stop(&s);
	}
	ck_assert_int_eq(s.run_rc, 0);
	tn_server_free(&s);
	if (net == NET_UNIX) {
		ck_assert_msg(!path_exists(path), "%s: %s left after stop", what, path);
		tmp_dir_remove(&dir);
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
	srv_ctx_t *ctx;
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
	f->ctx = ctx_new();
	srv_new(&f->s, &opts, f->ctx);
	tn_server_listen(&f->s, "tcp://127.0.0.1:0");
	f->sslen = srv_addr(&f->s, 0, &f->ss);
	f->barrier = srv_barrier_actor(&f->s, f->ctx, LB_DRAINED_LOOP);
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
	ck_assert_int_eq(LD(&f->ctx->closes), opens);
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
		ck_assert_uint_eq(loop_stats(f.s.eng, i).accepted,
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
		int port = sock_port(f.fds[i]);
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
	ck_assert_int_eq(LD(&f.ctx->loop_closes[LB_DRAINED_LOOP]), closed);
	ck_assert_int_eq(LD(&f.ctx->closes), closed);
	/* on_close runs before the loop drops the connection from its live
	 * count: let the loop finish those closes first. */
	srv_barrier(&f.s, f.ctx, f.barrier);

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
	srv_ctx_t *ctx[2];
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
		p->ctx[e] = ctx_new();
		if (strcmp(scheme, "udp") == 0)
			opts.rcvbuf = UDP_SERVER_RCVBUF;
		srv_new(&p->s[e], &opts, p->ctx[e]);
		if (e == 0)
			snprintf(addr, sizeof addr, "%s://127.0.0.1:0", scheme);
		else
			snprintf(addr, sizeof addr, "%s://127.0.0.1:%d", scheme,
			    tn_addr_port(&p->ss));
		tn_server_listen(&p->s[e], addr);
		if (e == 0)
			p->sslen = srv_addr(&p->s[0], 0, &p->ss);
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

	stream_echo((struct sockaddr *)&p.ss, p.sslen, RP_CLIENTS, RP_BYTES, 7,
	    "reuseport tcp, both engines");
	uint64_t acc[2];
	for (int e = 0; e < 2; e++) {
		TN_WAIT_UNTIL(atomic_load(&p.ctx[e]->closes) ==
		    atomic_load(&p.ctx[e]->opens), WAIT_MS);
		acc[e] = stats_sum(p.s[e].eng).accepted;
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
	stream_echo((struct sockaddr *)&p.ss, p.sslen, RP_LATE_CLIENTS, RP_BYTES,
	    99, "reuseport tcp, after engine 0 stopped");
	ck_assert_int_eq(LD(&p.ctx[0]->opens), opens0);
	ck_assert_uint_eq(stats_sum(p.s[1].eng).accepted, acc[1] + RP_LATE_CLIENTS);
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
	udp_echo((struct sockaddr *)&p.ss, p.sslen, RP_CLIENTS, 2, DGRAM_BYTES, 2,
	    "reuseport udp, both engines");
	uint64_t in[2];
	for (int e = 0; e < 2; e++)
		in[e] = stats_sum(p.s[e].eng).udp_in;
	printf("reuseport udp: engine 0 received %llu, engine 1 %llu of %d\n",
	    (unsigned long long)in[0], (unsigned long long)in[1], RP_CLIENTS * 2);
	ck_assert_uint_eq(in[0] + in[1], RP_CLIENTS * 2);
	ck_assert_msg(in[0] > 0 && in[1] > 0,
	    "one engine got every datagram: %llu / %llu",
	    (unsigned long long)in[0], (unsigned long long)in[1]);

	tn_server_close(&p.s[0]);
	long dgrams0 = atomic_load(&p.ctx[0]->dgrams);
	udp_echo((struct sockaddr *)&p.ss, p.sslen, RP_CLIENTS, 2, DGRAM_BYTES, 2,
	    "reuseport udp, after engine 0 stopped");
	ck_assert_int_eq(LD(&p.ctx[0]->dgrams), dgrams0);
	TN_WAIT_UNTIL(stats_sum(p.s[1].eng).udp_out == in[1] + RP_CLIENTS * 2,
	    WAIT_MS);
	ck_assert_uint_eq(stats_sum(p.s[1].eng).udp_in, in[1] + RP_CLIENTS * 2);
	ck_assert_uint_eq(stats_sum(p.s[1].eng).udp_out, in[1] + RP_CLIENTS * 2);
	rp_finish(&p);
}
END_TEST

/* ------------------------------------------------------------------------
 * tcp + udp + unix listeners in one engine.
 */
START_TEST(test_several_listeners)
{
	tmp_dir_t dir;
	char path[108], addr[160];
	tmp_dir_make(&dir);
	tmp_dir_file(&dir, "multi.sock", path, sizeof path);
	snprintf(addr, sizeof addr, "unix://%s", path);

	srv_ctx_t *ctx = ctx_new();
	gnet_options_t opts = { .size = sizeof(gnet_options_t), .num_loops = 2, .rcvbuf = UDP_SERVER_RCVBUF };
	tn_server_t s;
	srv_new(&s, &opts, ctx);
	tn_server_listen(&s, "tcp://127.0.0.1:0");
	tn_server_listen(&s, "udp://127.0.0.1:0");
	tn_server_listen(&s, addr);

	/* gnet_engine_addr: one bound address per listener, in listen order. */
	struct sockaddr_storage ss[3];
	socklen_t len[3];
	for (int i = 0; i < 3; i++)
		len[i] = srv_addr(&s, i, &ss[i]);
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
	ck_assert_msg(path_exists(path), "%s not created by listen", path);
	tn_server_run(&s);

	stream_echo((struct sockaddr *)&ss[0], len[0], 1, MULTI_BYTES, 31,
	    "tcp listener");
	udp_echo((struct sockaddr *)&ss[1], len[1], 1, MULTI_DGRAMS, DGRAM_BYTES,
	    UDP_WINDOW, "udp listener");
	stream_echo((struct sockaddr *)&ss[2], len[2], 1, MULTI_BYTES, 37,
	    "unix listener");
	TN_WAIT_UNTIL(atomic_load(&ctx->closes) == 2, WAIT_MS);
	ck_assert_int_eq(LD(&ctx->opens), 2);
	ck_assert_int_eq(LD(&ctx->closes), 2);
	ck_assert_int_eq(LD(&ctx->stream_bytes), 2L * MULTI_BYTES);
	ck_assert_int_eq(LD(&ctx->dgrams), MULTI_DGRAMS);
	tn_server_stop(&s);
	/* The UDP socket, listener 1, is served by loop 1 % 2 loops. */
	ck_assert_uint_eq(loop_stats(s.eng, 1).udp_in, MULTI_DGRAMS);
	ck_assert_uint_eq(loop_stats(s.eng, 0).udp_in, 0);
	ck_assert_int_eq(s.run_rc, 0);
	tn_server_free(&s);
	ck_assert_msg(!path_exists(path), "%s left after stop", path);
	tmp_dir_remove(&dir);
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

	srv_ctx_t *ctx = ctx_new();
	gnet_options_t opts = { .size = sizeof(gnet_options_t), .num_loops = 4, .reuseport = 1 };
	tn_server_t s;
	srv_new(&s, &opts, ctx);
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
	socklen_t len = (socklen_t)sun_fill(&sun, path);
	ck_assert_msg(bind(fd, (struct sockaddr *)&sun, len) == 0, "bind %s: %s",
	    path, strerror(errno));
	if (live) {
		ck_assert_int_eq(listen(fd, 16), 0);
		return fd;
	}
	close(fd);
	ck_assert(path_exists(path));
	return -1;
}

/* Listen on addr (which must succeed), echo through path, stop, and check
 * the socket file is gone afterwards. */
static void unix_serve_once(const char *addr, const char *path)
{
	srv_ctx_t *ctx = ctx_new();
	tn_server_t s;
	struct sockaddr_un sun;
	srv_new(&s, NULL, ctx);
	tn_server_listen(&s, addr);
	struct stat st;
	ck_assert_msg(lstat(path, &st) == 0 && S_ISSOCK(st.st_mode),
	    "%s is not a socket after listen", path);
	tn_server_run(&s);
	socklen_t len = (socklen_t)sun_fill(&sun, path);
	stream_echo((struct sockaddr *)&sun, len, 2, MULTI_BYTES, 41, addr);
	TN_WAIT_UNTIL(atomic_load(&ctx->closes) == 2, WAIT_MS);
	ck_assert_int_eq(LD(&ctx->opens), 2);
	tn_server_close(&s);
	ck_assert_msg(!path_exists(path), "%s left after the engine stopped", path);
	assert_no_loop_errors(ctx);
	free(ctx);
}

START_TEST(test_unix_stale_file_replaced)
{
	tmp_dir_t dir;
	char path[108], addr[160];
	tmp_dir_make(&dir);
	tmp_dir_file(&dir, "stale.sock", path, sizeof path);
	snprintf(addr, sizeof addr, "unix://%s", path);
	unix_socket_file(path, 0);
	unix_serve_once(addr, path);
	tmp_dir_remove(&dir);
}
END_TEST

/* Path taken: by a live server (_i 0) or by a regular file (_i 1). */
START_TEST(test_unix_path_in_use)
{
	static const char content[] = "not a socket\n";
	int regular = _i;
	tmp_dir_t dir;
	char path[108], addr[160], got[64];
	struct stat before, after;
	int live = -1;
	tmp_dir_make(&dir);
	tmp_dir_file(&dir, "taken", path, sizeof path);
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

	srv_ctx_t *ctx = ctx_new();
	tn_server_t s;
	srv_new(&s, NULL, ctx);
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
		socklen_t len = (socklen_t)sun_fill(&sun, path);
		int fd = tn_connect_addr((struct sockaddr *)&sun, len, 0);
		ck_assert_msg(fd >= 0, "live server unreachable: %s", strerror(errno));
		close(fd);
		close(live);
	}
	ck_assert_int_eq(unlink(path), 0);
	tmp_dir_remove(&dir);
	assert_no_loop_errors(ctx);
	free(ctx);
}
END_TEST

START_TEST(test_unix_relative_path)
{
	tmp_dir_t dir;
	char cwd[PATH_MAX], path[108];
	tmp_dir_make(&dir);
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
	ck_assert_int_eq(chdir(dir.path), 0);
	unix_serve_once("unix://rel.sock", "rel.sock");
	ck_assert_int_eq(chdir(cwd), 0);
	/* The file was made (and removed) in the temporary directory. */
	tmp_dir_file(&dir, "rel.sock", path, sizeof path);
	ck_assert(!path_exists(path));
	tmp_dir_remove(&dir);
}
END_TEST

/* ------------------------------------------------------------------------
 * UDP: batching, oversized datagrams, sendto.
 */
/* One-loop UDP-only engine (so syscalls_io counts UDP alone). */
static void udp_server(tn_server_t *s, srv_ctx_t *ctx, size_t max_dgram,
    struct sockaddr_storage *ss, socklen_t *len)
{
	gnet_options_t opts = { .size = sizeof(gnet_options_t), .num_loops = 1, .rcvbuf = UDP_SERVER_RCVBUF,
	    .udp_max_datagram = max_dgram };
	srv_new(s, &opts, ctx);
	tn_server_listen(s, "udp://127.0.0.1:0");
	*len = srv_addr(s, 0, ss);
}

START_TEST(test_udp_batching)
{
	srv_ctx_t *ctx = ctx_new();
	tn_server_t s;
	struct sockaddr_storage ss;
	socklen_t sslen;
	unsigned per = scaled_min(BATCH_PER_CLIENT, BATCH_INFLIGHT);
	uint64_t total = (uint64_t)per * BATCH_CLIENTS;
	uint64_t first = (uint64_t)BATCH_INFLIGHT * BATCH_CLIENTS;
	uint8_t buf[BATCH_BYTES];
	udp_server(&s, ctx, 0, &ss, &sslen);
	udp_cl_t *cl = udp_clients_open((struct sockaddr *)&ss, sslen,
	    BATCH_CLIENTS, per);

	/* Phase 1: the socket is bound at listen, so the first 64 x 4
	 * datagrams wait there before the engine runs; the loop must take
	 * them in batches and send the replies in batches. */
	for (size_t i = 0; i < BATCH_CLIENTS; i++)
		cl[i].total = BATCH_INFLIGHT;
	udp_send_window(cl, BATCH_CLIENTS, BATCH_BYTES, BATCH_INFLIGHT, buf);
	tn_server_run(&s);
	int failed = udp_pump(cl, BATCH_CLIENTS, BATCH_BYTES, BATCH_INFLIGHT,
	    PUMP_MS);
	ck_assert_msg(failed == 0, "%d udp client(s) failed; %s", failed,
	    udp_error(cl, BATCH_CLIENTS));
	/* The counters are stored after sendmmsg returns. */
	TN_WAIT_UNTIL(loop_stats(s.eng, 0).udp_out == first, WAIT_MS);
	gnet_loop_stats_t st = loop_stats(s.eng, 0);
	printf("udp batching, %llu queued datagrams: %llu in, %llu out, %llu I/O "
	    "syscalls\n", (unsigned long long)first,
	    (unsigned long long)st.udp_in, (unsigned long long)st.udp_out,
	    (unsigned long long)st.syscalls_io);
	ck_assert_uint_eq(st.udp_in, first);
	ck_assert_uint_eq(st.udp_out, first);
	/* Below one syscall per datagram in each direction: fails as soon as
	 * either receive or send goes one datagram per call. */
	ck_assert_msg(st.syscalls_io < first,
	    "%llu I/O syscalls for %llu datagrams in and %llu out: a direction "
	    "is not batched", (unsigned long long)st.syscalls_io,
	    (unsigned long long)first, (unsigned long long)first);

	/* Phase 2: keep 4 per client in flight for the rest of the run. */
	for (size_t i = 0; i < BATCH_CLIENTS; i++)
		cl[i].total = per;
	failed = udp_pump(cl, BATCH_CLIENTS, BATCH_BYTES, BATCH_INFLIGHT, PUMP_MS);
	ck_assert_msg(failed == 0, "%d udp client(s) failed; %s", failed,
	    udp_error(cl, BATCH_CLIENTS));
	udp_clients_close(cl, BATCH_CLIENTS);
	tn_server_stop(&s);

	st = loop_stats(s.eng, 0);
	printf("udp batching, whole run: %llu datagrams in, %llu out, %llu I/O "
	    "syscalls: %.3f syscalls per datagram\n", (unsigned long long)st.udp_in,
	    (unsigned long long)st.udp_out, (unsigned long long)st.syscalls_io,
	    (double)st.syscalls_io / (double)(st.udp_in + st.udp_out));
	ck_assert_uint_eq(st.udp_in, total);
	ck_assert_uint_eq(st.udp_out, total);
	ck_assert_uint_eq(st.udp_dropped, 0);
	ck_assert_msg(st.syscalls_io < st.udp_in + st.udp_out,
	    "%llu I/O syscalls for %llu datagrams: no batching",
	    (unsigned long long)st.syscalls_io,
	    (unsigned long long)(st.udp_in + st.udp_out));
	ck_assert_int_eq(LD(&ctx->opens), 0);
	ck_assert_int_eq(LD(&ctx->closes), 0);
	ck_assert_int_eq(s.run_rc, 0);
	tn_server_free(&s);
	assert_no_loop_errors(ctx);
	free(ctx);
}
END_TEST

/* Send n bytes (pattern from seed) on a connected UDP socket; expect them
 * back when `echoed`, else wait until the server counted a drop. */
static void udp_one(tn_server_t *s, int fd, size_t n, int echoed,
    uint64_t dropped_before)
{
	uint8_t tx[OVERSIZE_BYTES], rx[UDP_RX_CAP];
	ck_assert_uint_le(n, sizeof tx);
	tn_fill_random(tx, n, n);
	ck_assert_int_eq(send(fd, tx, n, 0), (ssize_t)n);
	if (!echoed) {
		TN_WAIT_UNTIL(stats_sum(s->eng).udp_dropped > dropped_before, WAIT_MS);
		ck_assert_msg(stats_sum(s->eng).udp_dropped == dropped_before + 1,
		    "%zu-byte datagram: udp_dropped %llu, want %llu", n,
		    (unsigned long long)stats_sum(s->eng).udp_dropped,
		    (unsigned long long)dropped_before + 1);
		return;
	}
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ck_assert_msg(poll(&pfd, 1, IO_MS) == 1, "no echo of %zu bytes", n);
	ssize_t r = recv(fd, rx, sizeof rx, MSG_DONTWAIT | MSG_TRUNC);
	ck_assert_msg(r == (ssize_t)n, "echo of %zu bytes came back as %zd", n, r);
	ck_assert_msg(memcmp(rx, tx, n) == 0, "echo of %zu bytes differs", n);
}

START_TEST(test_udp_oversized_dropped)
{
	srv_ctx_t *ctx = ctx_new();
	tn_server_t s;
	struct sockaddr_storage ss;
	socklen_t sslen;
	udp_server(&s, ctx, SMALL_MAX_DGRAM, &ss, &sslen);
	tn_server_run(&s);
	int fd = udp_socket((struct sockaddr *)&ss, sslen);
	ck_assert_int_ge(fd, 0);

	udp_one(&s, fd, OVERSIZE_BYTES, 0, 0);     /* dropped */
	udp_one(&s, fd, SMALL_MAX_DGRAM, 1, 1);    /* the limit itself passes */
	udp_one(&s, fd, SMALL_MAX_DGRAM + 1, 0, 1); /* one byte over: dropped */
	udp_one(&s, fd, 10, 1, 2);                 /* still serving */
	ck_assert_int_eq(LD(&ctx->dgrams), 2);
	tn_close(&fd);
	tn_server_stop(&s);
	gnet_loop_stats_t st = loop_stats(s.eng, 0);
	ck_assert_uint_eq(st.udp_in, 2);
	ck_assert_uint_eq(st.udp_out, 2);
	ck_assert_uint_eq(st.udp_dropped, 2);
	tn_server_free(&s);
	assert_no_loop_errors(ctx);
	free(ctx);
}
END_TEST

START_TEST(test_udp_sendto_other_address)
{
	static const char payload[] = "for the other socket";
	srv_ctx_t *ctx = ctx_new();
	tn_server_t s;
	struct sockaddr_storage ss, from;
	socklen_t sslen, fromlen = sizeof from;
	uint8_t msg[FWD_HDR + sizeof payload], rx[UDP_RX_CAP];
	udp_server(&s, ctx, 0, &ss, &sslen);
	tn_server_run(&s);

	int a = udp_socket((struct sockaddr *)&ss, sslen); /* asks */
	int b = udp_socket(NULL, 0);                       /* receives */
	ck_assert_int_ge(a, 0);
	ck_assert_int_ge(b, 0);
	uint16_t bport = htons((uint16_t)sock_port(b));
	memcpy(msg, FWD_MAGIC, 4);
	memcpy(msg + 4, &bport, 2);
	memcpy(msg + FWD_HDR, payload, sizeof payload);
	ck_assert_int_eq(send(a, msg, sizeof msg, 0), (ssize_t)sizeof msg);

	struct pollfd pfd = { .fd = b, .events = POLLIN };
	ck_assert_msg(poll(&pfd, 1, IO_MS) == 1, "nothing arrived at the target");
	ssize_t r = recvfrom(b, rx, sizeof rx, MSG_DONTWAIT | MSG_TRUNC,
	    (struct sockaddr *)&from, &fromlen);
	ck_assert_int_eq(r, (ssize_t)sizeof payload);
	ck_assert_str_eq((const char *)rx, payload);
	/* From the server's socket; the request's sender was a. */
	ck_assert_int_eq(tn_addr_port(&from), tn_addr_port(&ss));
	ck_assert_int_eq(LD(&ctx->last_udp_port), sock_port(a));

	/* a got nothing for it: its next datagram's echo is the first reply. */
	udp_one(&s, a, 16, 1, 0);
	tn_close(&a);
	tn_close(&b);
	tn_server_stop(&s);
	gnet_loop_stats_t st = loop_stats(s.eng, 0);
	ck_assert_uint_eq(st.udp_in, 2);
	ck_assert_uint_eq(st.udp_out, 2);
	tn_server_free(&s);
	assert_no_loop_errors(ctx);
	free(ctx);
}
END_TEST

/* Replies queued together leave in GSO runs (UDP_SEGMENT) when they go to
 * one address with one size; the peer must still see every datagram with
 * its own boundaries, bytes and order. _i 1 makes the kernel refuse GSO on
 * the socket: every datagram must still arrive, none counted as dropped.
 * First, a run refused for its destination is dropped whole without
 * turning GSO off (burst 0 then still takes one sendmmsg). */
START_TEST(test_udp_gso_bursts)
{
	srv_ctx_t *ctx = ctx_new();
	tn_server_t s;
	struct sockaddr_storage ss;
	socklen_t sslen;
	static uint8_t want[30000], rx[UDP_RX_CAP];
	uint64_t out = 0;
	atomic_store(&ctx->no_gso, _i);
	udp_server(&s, ctx, 0, &ss, &sslen);
	tn_server_run(&s);
	int fd = udp_socket((struct sockaddr *)&ss, sslen);
	ck_assert_int_ge(fd, 0);

	/* A run to a destination that refuses it: dropped as a whole and
	 * counted; the reply queued after it still arrives. */
	ck_assert_int_eq(send(fd, REFUSED_MAGIC, 4, 0), 4);
	struct pollfd rpfd = { .fd = fd, .events = POLLIN };
	ck_assert_msg(poll(&rpfd, 1, IO_MS) == 1, "no reply after the refused run");
	ck_assert_int_eq(recv(fd, rx, sizeof rx, MSG_DONTWAIT), 2);
	ck_assert_int_eq(memcmp(rx, "ok", 2), 0);
	TN_WAIT_UNTIL(loop_stats(s.eng, 0).udp_out == 1, WAIT_MS);
	ck_assert_uint_eq(loop_stats(s.eng, 0).udp_dropped, REFUSED_RUN);
	out = 1;

	for (int b = 0; b < N_BURSTS; b++) {
		uint8_t ask[5] = { 'B', 'R', 'S', 'T', (uint8_t)b };
		size_t n = burst_count(b);
		uint64_t sys0 = loop_stats(s.eng, 0).syscalls_io;
		ck_assert_int_eq(send(fd, ask, sizeof ask, 0), (ssize_t)sizeof ask);
		for (size_t i = 0; i < n; i++) {
			size_t len = burst_len(b, i);
			struct pollfd pfd = { .fd = fd, .events = POLLIN };
			ck_assert_msg(poll(&pfd, 1, IO_MS) == 1,
			    "burst %d: datagram %zu of %zu never came", b, i, n);
			ssize_t r = recv(fd, rx, sizeof rx, MSG_DONTWAIT | MSG_TRUNC);
			ck_assert_msg(r == (ssize_t)len, "burst %d: datagram %zu is "
			    "%zd bytes, want %zu", b, i, r, len);
			tn_fill_random(want, len, (uint64_t)b * 1000 + i);
			ck_assert_msg(memcmp(rx, want, len) == 0,
			    "burst %d: datagram %zu differs", b, i);
		}
		out += n;
		TN_WAIT_UNTIL(loop_stats(s.eng, 0).udp_out == out, WAIT_MS);
		uint64_t sys = loop_stats(s.eng, 0).syscalls_io - sys0;
		printf("udp gso%s, burst %d: %zu datagrams in %llu I/O syscalls\n",
		    _i ? " refused" : "", b, n, (unsigned long long)sys);
		if (b == 0 && _i == 0)
			/* One recvmmsg for the request, one sendmmsg for 70
			 * datagrams (two GSO runs); one sendmmsg per 32 would
			 * need three. */
			ck_assert_msg(sys == 2, "burst of %zu equal datagrams took "
			    "%llu I/O syscalls, want 2 (GSO runs)", n,
			    (unsigned long long)sys);
		if (b == 0 && _i == 1)
			/* The refusal is real: batches of 32 plain datagrams. */
			ck_assert_msg(sys >= 4, "burst of %zu took %llu I/O syscalls:"
			    " GSO was not refused", n, (unsigned long long)sys);
	}
	tn_close(&fd);
	tn_server_stop(&s);
	gnet_loop_stats_t st = loop_stats(s.eng, 0);
	ck_assert_uint_eq(st.udp_in, N_BURSTS + 1);
	ck_assert_uint_eq(st.udp_out, out);
	ck_assert_uint_eq(st.udp_dropped, REFUSED_RUN);
	tn_server_free(&s);
	assert_no_loop_errors(ctx);
	free(ctx);
}
END_TEST

/* ------------------------------------------------------------------------
 * Socket options of accepted sockets.
 */
typedef struct sockopt_case {
	const char *name;
	gnet_options_t opts;
	int nodelay;              /* TCP_NODELAY expected on (1) or off (0) */
	int keepidle, keepintvl, keepcnt; /* keepidle 0: SO_KEEPALIVE off;
	                           * keepcnt 0: the kernel's, not checked */
	int sndbuf, rcvbuf;       /* requested bytes: the kernel reports twice
	                           * that (0: not checked) */
	int linger_on, linger_s;  /* SO_LINGER expected */
} sockopt_case_t;

/* Twice these stays below what the kernel gives a loopback connection by
 * itself (its send buffer grows to megabytes, the receive buffer starts at
 * tcp_rmem[1], 128 KiB), so an option left unapplied shows. */
#define OPT_SNDBUF_REQ (48 * 1024)
#define OPT_RCVBUF_REQ (40 * 1000)

static const sockopt_case_t sockopt_cases[] = {
	{ "defaults", { 0 }, 1, 0, 0, 0, 0, 0, 0, 0 },
	{ "tcp_nodelay 1", { .tcp_nodelay = 1 }, 1, 0, 0, 0, 0, 0, 0, 0 },
	{ "tcp_nodelay -1", { .tcp_nodelay = -1 }, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "keepalive 7/3/4", { .tcp_keepalive_s = 7, .tcp_keepalive_intvl_s = 3,
	    .tcp_keepalive_cnt = 4 }, 1, 7, 3, 4, 0, 0, 0, 0 },
	{ "keepalive 9", { .tcp_keepalive_s = 9 }, 1, 9, 9, 0, 0, 0, 0, 0 },
	{ "sndbuf/rcvbuf", { .sndbuf = OPT_SNDBUF_REQ, .rcvbuf = OPT_RCVBUF_REQ },
	    1, 0, 0, 0, OPT_SNDBUF_REQ, OPT_RCVBUF_REQ, 0, 0 },
	{ "so_linger -1", { .so_linger = -1 }, 1, 0, 0, 0, 0, 0, 1, 0 },
	{ "so_linger 3", { .so_linger = 3 }, 1, 0, 0, 0, 0, 0, 1, 3 },
};

#define N_SOCKOPT_CASES ((int)(sizeof sockopt_cases / sizeof sockopt_cases[0]))

START_TEST(test_socket_options)
{
	const sockopt_case_t *tc = &sockopt_cases[_i];
	gnet_options_t opts = tc->opts;
	srv_ctx_t *ctx = ctx_new();
	ctx->record_opts = 1;
	tn_server_t s;
	opts.size = sizeof opts;
	srv_new(&s, &opts, ctx);
	tn_server_listen(&s, "tcp://127.0.0.1:0");
	tn_server_run(&s);

	int fd = tn_connect(s.port);
	ck_assert_int_ge(fd, 0);
	TN_WAIT_UNTIL(atomic_load(&ctx->opts_seen) == 1, WAIT_MS);
	ck_assert_int_eq(LD(&ctx->opts_seen), 1);
	int v[OPT_COUNT];
	for (int i = 0; i < OPT_COUNT; i++)
		v[i] = atomic_load(&ctx->opt[i]);

	ck_assert_msg((v[OPT_NODELAY] != 0) == tc->nodelay,
	    "%s: TCP_NODELAY %d, want %s", tc->name, v[OPT_NODELAY],
	    tc->nodelay ? "on" : "off");
	ck_assert_msg((v[OPT_KEEPALIVE] != 0) == (tc->keepidle > 0),
	    "%s: SO_KEEPALIVE %d", tc->name, v[OPT_KEEPALIVE]);
	if (tc->keepidle > 0) {
		ck_assert_msg(v[OPT_KEEPIDLE] == tc->keepidle,
		    "%s: TCP_KEEPIDLE %d, want %d", tc->name, v[OPT_KEEPIDLE],
		    tc->keepidle);
		ck_assert_msg(v[OPT_KEEPINTVL] == tc->keepintvl,
		    "%s: TCP_KEEPINTVL %d, want %d", tc->name, v[OPT_KEEPINTVL],
		    tc->keepintvl);
		if (tc->keepcnt > 0)
			ck_assert_msg(v[OPT_KEEPCNT] == tc->keepcnt,
			    "%s: TCP_KEEPCNT %d, want %d", tc->name, v[OPT_KEEPCNT],
			    tc->keepcnt);
	}
	/* The kernel doubles a requested buffer size for its bookkeeping. */
	if (tc->sndbuf > 0)
		ck_assert_msg(v[OPT_SNDBUF] >= tc->sndbuf &&
		    v[OPT_SNDBUF] <= 2 * tc->sndbuf,
		    "%s: SO_SNDBUF %d, want %d..%d", tc->name, v[OPT_SNDBUF],
		    tc->sndbuf, 2 * tc->sndbuf);
	if (tc->rcvbuf > 0)
		ck_assert_msg(v[OPT_RCVBUF] >= tc->rcvbuf &&
		    v[OPT_RCVBUF] <= 2 * tc->rcvbuf,
		    "%s: SO_RCVBUF %d, want %d..%d", tc->name, v[OPT_RCVBUF],
		    tc->rcvbuf, 2 * tc->rcvbuf);
	ck_assert_msg((v[OPT_LINGER_ON] != 0) == tc->linger_on,
	    "%s: SO_LINGER l_onoff %d, want %d", tc->name, v[OPT_LINGER_ON],
	    tc->linger_on);
	if (tc->linger_on)
		ck_assert_msg(v[OPT_LINGER_S] == tc->linger_s,
		    "%s: SO_LINGER l_linger %d, want %d", tc->name, v[OPT_LINGER_S],
		    tc->linger_s);

	/* And the connection works. */
	uint8_t payload[512];
	tn_fill_random(payload, sizeof payload, 3);
	tn_client_t cl;
	tn_client_init(&cl, fd, payload, sizeof payload, NULL, 0);
	ck_assert_msg(tn_pump(&cl, 1, IO_MS) == 0, "%s: %s", tc->name,
	    tn_pump_error(&cl, 1));
	tn_close(&cl.fd);
	TN_WAIT_UNTIL(atomic_load(&ctx->closes) == 1, WAIT_MS);
	ck_assert_int_eq(LD(&ctx->closes), 1);
	tn_server_close(&s);
	assert_no_loop_errors(ctx);
	free(ctx);
}
END_TEST

START_TEST(test_bind_device)
{
	srv_ctx_t *ctx = ctx_new();
	ctx->record_opts = 1;
	gnet_options_t opts = { .size = sizeof(gnet_options_t), .bind_device = "lo" };
	tn_server_t s;
	srv_new(&s, &opts, ctx);
	int rc = gnet_engine_listen(s.eng, "tcp://127.0.0.1:0");
	ck_assert_msg(rc == 0 || rc == -EPERM,
	    "listen with bind_device lo: %d (%s), want 0 or -EPERM", rc,
	    gnet_strerror(rc));
	if (rc == -EPERM) {
		printf("bind_device: -EPERM (no CAP_NET_RAW), accepted\n");
		gnet_engine_free(s.eng);
	} else {
		tn_server_listen(&s, "udp://127.0.0.1:0");
		struct sockaddr_storage tss, uss;
		socklen_t tlen = srv_addr(&s, 0, &tss), ulen = srv_addr(&s, 1, &uss);
		tn_server_run(&s);
		stream_echo((struct sockaddr *)&tss, tlen, 1, MULTI_BYTES, 5,
		    "bind_device tcp");
		udp_echo((struct sockaddr *)&uss, ulen, 1, 4, 64, 1,
		    "bind_device udp");
		TN_WAIT_UNTIL(atomic_load(&ctx->closes) == 1, WAIT_MS);
		/* Both sockets carry the device. */
		ck_assert_int_eq(LD(&ctx->opts_seen), 1);
		ck_assert_msg(atomic_load(&ctx->opt[OPT_DEV_LO]) == 1,
		    "accepted socket not bound to lo");
		ck_assert_msg(atomic_load(&ctx->udp_dev_lo) == 1,
		    "UDP socket not bound to lo (%d)", atomic_load(&ctx->udp_dev_lo));
		tn_server_close(&s);
	}

	/* A device that does not exist: the option is applied, so it fails. */
	opts.bind_device = "gnetnodev0";
	srv_new(&s, &opts, ctx);
	rc = gnet_engine_listen(s.eng, "tcp://127.0.0.1:0");
	ck_assert_msg(rc == -ENODEV || rc == -EPERM,
	    "listen with a missing bind_device: %d (%s), want -ENODEV or -EPERM",
	    rc, gnet_strerror(rc));
	gnet_engine_free(s.eng);
	assert_no_loop_errors(ctx);
	free(ctx);
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
		int rc = gnet_engine_new(&eng, &srv_events, &opts, NULL);
		ck_assert_msg(rc == GNET_EINVAL, "lb %d: %d (%s), want GNET_EINVAL",
		    bad[i], rc, gnet_strerror(rc));
		ck_assert_ptr_null(eng);
	}
	for (int i = 0; i < N_BALANCERS; i++) {
		gnet_options_t opts = { .size = sizeof(gnet_options_t), .lb = balancers[i].lb };
		ck_assert_int_eq(gnet_engine_new(&eng, &srv_events, &opts, NULL), 0);
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

	tc = tn_tcase("udp", TCASE_TIMEOUT_S);
	tcase_add_test(tc, test_udp_batching);
	tcase_add_test(tc, test_udp_oversized_dropped);
	tcase_add_test(tc, test_udp_sendto_other_address);
	tcase_add_loop_test(tc, test_udp_gso_bursts, 0, 2);
	suite_add_tcase(s, tc);

	tc = tn_tcase("sockopts", TCASE_TIMEOUT_S);
	tcase_add_loop_test(tc, test_socket_options, 0, N_SOCKOPT_CASES);
	tcase_add_test(tc, test_bind_device);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tn_run_suite(transport_suite());
}
