/*
 * transport_server.c -- echo for every kind of socket, with the records
 * and datagram commands of the "transport" suite (see
 * transport_server.h).
 */
#include "transport_server.h"

#include <arpa/inet.h>
#include <check.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define LOOP_CHECK(ts, cond) TN_LOOP_CHECK(&(ts)->errs, cond)

#define BARRIER_MSG (GNET_MSG_USER + 1)
#define BARRIER_WAIT_MS 5000

transport_server_t *
transport_server_new(void)
{
	/* Zeroed memory is a valid state for these lock-free atomics. */
	transport_server_t *ts = calloc(1, sizeof *ts);

	ck_assert_ptr_nonnull(ts);
	atomic_store(&ts->udp_dev_lo, -1);
	return ts;
}

static int
sa_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return -1;
}

/* 1 if fd is bound to the "lo" device, 0 if not (or unknown). */
static int
bound_to_lo(int fd)
{
	char dev[IFNAMSIZ + 1];
	socklen_t len = IFNAMSIZ;

	memset(dev, 0, sizeof dev);
	if (getsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev, &len) != 0)
		return 0;
	return strcmp(dev, "lo") == 0;
}

/* The options of an accepted socket, for the socket-option tests. */
static void
record_sockopts(transport_server_t *ts, int fd)
{
	static const struct { int slot, level, name; } ints[] = {
		{ TS_OPT_NODELAY, IPPROTO_TCP, TCP_NODELAY },
		{ TS_OPT_KEEPALIVE, SOL_SOCKET, SO_KEEPALIVE },
		{ TS_OPT_KEEPIDLE, IPPROTO_TCP, TCP_KEEPIDLE },
		{ TS_OPT_KEEPINTVL, IPPROTO_TCP, TCP_KEEPINTVL },
		{ TS_OPT_KEEPCNT, IPPROTO_TCP, TCP_KEEPCNT },
		{ TS_OPT_SNDBUF, SOL_SOCKET, SO_SNDBUF },
		{ TS_OPT_RCVBUF, SOL_SOCKET, SO_RCVBUF },
	};
	struct linger lg = { -1, -1 };
	socklen_t len;

	for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
		int v = -1;
		len = sizeof v;
		LOOP_CHECK(ts, getsockopt(fd, ints[i].level, ints[i].name, &v,
		    &len) == 0);
		atomic_store(&ts->opt[ints[i].slot], v);
	}
	len = sizeof lg;
	LOOP_CHECK(ts, getsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, &len) == 0);
	atomic_store(&ts->opt[TS_OPT_LINGER_ON], lg.l_onoff);
	atomic_store(&ts->opt[TS_OPT_LINGER_S], lg.l_linger);
	atomic_store(&ts->opt[TS_OPT_DEV_LO], bound_to_lo(fd));
	/* Last: the test thread waits on this counter. */
	atomic_fetch_add(&ts->opts_seen, 1);
}

static gnet_action_t
ts_on_open(gnet_conn_t *c, void *udata)
{
	transport_server_t *ts = udata;
	int loop = gnet_conn_loop_index(c);
	socklen_t plen = 0;
	const struct sockaddr *peer = gnet_conn_remote_addr(c, &plen);
	struct sockaddr_in to = { .sin_family = AF_INET };

	LOOP_CHECK(ts, !gnet_conn_is_udp(c));
	LOOP_CHECK(ts, loop >= 0 && loop < GNET_MAX_LOOPS);
	LOOP_CHECK(ts, loop == gnet_loop_current());
	/* sendto is for UDP sockets only. */
	LOOP_CHECK(ts, gnet_conn_sendto(c, (struct sockaddr *)&to, sizeof to,
	    "x", 1) == GNET_EINVAL);
	if (peer != NULL && plen > 0 && sa_port(peer) > 0)
		atomic_store(&ts->port_loop[sa_port(peer)],
		    (unsigned char)(loop + 1));
	if (ts->record_opts)
		record_sockopts(ts, gnet_conn_fd(c));
	if (loop >= 0 && loop < GNET_MAX_LOOPS)
		atomic_fetch_add(&ts->loop_opens[loop], 1);
	/* Last: the test thread waits on this counter. */
	atomic_fetch_add(&ts->opens, 1);
	return GNET_NONE;
}

static void
udp_forward(transport_server_t *ts, gnet_conn_t *c, const uint8_t *p,
    size_t n)
{
	struct sockaddr_in to = { .sin_family = AF_INET };
	uint16_t port;

	memcpy(&port, p + 4, sizeof port);
	to.sin_port = port; /* already in network order */
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	LOOP_CHECK(ts, gnet_conn_sendto(c, (struct sockaddr *)&to, sizeof to,
	    p + TS_FWD_HDR, n - TS_FWD_HDR) == (long)(n - TS_FWD_HDR));
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

size_t
ts_burst_count(int b)
{
	size_t n = 0;

	if (b == 0)
		return BURST0_COUNT;
	while (burst_sizes[b][n] != 0)
		n++;
	return n;
}

size_t
ts_burst_len(int b, size_t i)
{
	int v = b == 0 ? burst_sizes[0][0] : burst_sizes[b][i];

	return v < 0 ? 0 : (size_t)v;
}

/* Queue every reply of burst b to the sender in one callback, so one
 * flush sends them all. */
static void
udp_burst(transport_server_t *ts, gnet_conn_t *c, int b)
{
	static uint8_t buf[30000];
	size_t i, n;

	if (atomic_load(&ts->no_gso)) {
		/* The kernel refuses UDP_SEGMENT on a socket without
		 * checksums: the GSO fallback must take over. */
		int one = 1;
		LOOP_CHECK(ts, setsockopt(gnet_conn_fd(c), SOL_SOCKET,
		    SO_NO_CHECK, &one, sizeof one) == 0);
	}
	for (i = 0, n = ts_burst_count(b); i < n; i++) {
		size_t len = ts_burst_len(b, i);
		tn_fill_random(buf, len, (uint64_t)b * 1000 + i);
		LOOP_CHECK(ts, gnet_conn_write(c, buf, len) == (long)len);
	}
}

/* A GSO run whose destination the kernel refuses (broadcast without
 * SO_BROADCAST: EACCES), then a reply: the run is dropped and counted,
 * the reply still goes, and GSO stays on for the socket. */
static void
udp_refused_run(transport_server_t *ts, gnet_conn_t *c)
{
	struct sockaddr_in bcast = { .sin_family = AF_INET,
	    .sin_port = htons(9), .sin_addr.s_addr = htonl(INADDR_BROADCAST) };
	static const uint8_t junk[100];

	for (int i = 0; i < TS_REFUSED_RUN; i++)
		LOOP_CHECK(ts, gnet_conn_sendto(c, (struct sockaddr *)&bcast,
		    sizeof bcast, junk, sizeof junk) == (long)sizeof junk);
	LOOP_CHECK(ts, gnet_conn_write(c, "ok", 2) == 2);
}

static gnet_action_t
ts_on_traffic(gnet_conn_t *c, void *udata)
{
	transport_server_t *ts = udata;
	const void *data = NULL;
	size_t n = gnet_conn_peek(c, &data);

	LOOP_CHECK(ts, gnet_conn_loop_index(c) == gnet_loop_current());
	if (gnet_conn_is_udp(c)) {
		socklen_t plen = 0;
		const struct sockaddr *from = gnet_conn_remote_addr(c, &plen);
		LOOP_CHECK(ts, from != NULL && plen > 0);
		if (from != NULL && plen > 0)
			atomic_store(&ts->last_udp_port, sa_port(from));
		if (ts->record_opts)
			atomic_store(&ts->udp_dev_lo, bound_to_lo(gnet_conn_fd(c)));
		if (n >= TS_FWD_HDR && memcmp(data, TS_FWD_MAGIC, 4) == 0)
			udp_forward(ts, c, data, n);
		else if (n == 5 && memcmp(data, TS_BURST_MAGIC, 4) == 0 &&
		    ((const uint8_t *)data)[4] < TS_N_BURSTS)
			udp_burst(ts, c, ((const uint8_t *)data)[4]);
		else if (n == 4 && memcmp(data, TS_REFUSED_MAGIC, 4) == 0)
			udp_refused_run(ts, c);
		else
			LOOP_CHECK(ts, gnet_conn_write(c, data, n) == (long)n);
		atomic_fetch_add(&ts->dgrams, 1);
		return GNET_NONE;
	}
	if (n > 0) {
		LOOP_CHECK(ts, gnet_conn_write(c, data, n) == (long)n);
		LOOP_CHECK(ts, gnet_conn_discard(c, n) == (long)n);
		atomic_fetch_add(&ts->stream_bytes, (long)n);
	}
	return GNET_NONE;
}

static void
ts_on_close(gnet_conn_t *c, int reason, void *udata)
{
	transport_server_t *ts = udata;
	int loop = gnet_conn_loop_index(c);

	LOOP_CHECK(ts, !gnet_conn_is_udp(c));
	if (loop >= 0 && loop < GNET_MAX_LOOPS)
		atomic_fetch_add(&ts->loop_closes[loop], 1);
	atomic_fetch_add(&ts->closes, 1);
}

const gnet_events_t transport_server_events = { .size = sizeof(gnet_events_t),
	.on_open = ts_on_open,
	.on_traffic = ts_on_traffic,
	.on_close = ts_on_close,
};

void
transport_engine_new(tn_server_t *s, const gnet_options_t *opts,
    transport_server_t *ts)
{
	tn_server_new(s, &transport_server_events, opts, ts);
}

/* An actor whose only job is to prove its loop got past earlier work. */
static void
barrier_receive(gnet_actor_t *self, const gnet_msg_t *m)
{
	transport_server_t *ts = gnet_actor_state(self);
	(void)m;

	atomic_fetch_add(&ts->barrier_hits, 1);
}

gnet_handle_t
transport_barrier_actor(tn_server_t *s, transport_server_t *ts, int loop)
{
	gnet_actor_def_t def = { .size = sizeof(gnet_actor_def_t),
		.receive = barrier_receive, .state = ts };
	gnet_handle_t h = GNET_HANDLE_NONE;
	int rc = gnet_actor_spawn(s->eng, loop, &def, &h);

	ck_assert_msg(rc == 0, "gnet_actor_spawn: %d (%s)", rc, gnet_strerror(rc));
	return h;
}

void
transport_barrier(tn_server_t *s, transport_server_t *ts, gnet_handle_t h)
{
	int before = atomic_load(&ts->barrier_hits);
	gnet_msg_t m = { .type = BARRIER_MSG };
	int rc = gnet_actor_send(s->eng, h, &m);

	ck_assert_msg(rc == 0, "gnet_actor_send: %d (%s)", rc, gnet_strerror(rc));
	TN_WAIT_UNTIL(atomic_load(&ts->barrier_hits) > before, BARRIER_WAIT_MS);
	ck_assert_msg(atomic_load(&ts->barrier_hits) > before,
	    "barrier message not handled within %d ms", BARRIER_WAIT_MS);
}
