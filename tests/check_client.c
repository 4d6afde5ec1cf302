/*
 * check_client.c -- integration suite "client": outbound connections
 * (gnet_engine_dial, gnet_engine_adopt, on_dial_error, gnet_conn_is_outbound,
 * gnet_conn_set_reading) between real engines and sockets.
 *
 * Covers:
 *   - a client engine dialling a separate echo engine: 10 connections x
 *     1 MiB over tcp:// and unix://, 10 x 200 datagrams of 1 KiB over a
 *     connected udp:// socket (bounded window in flight), with the client
 *     on 1 loop and on 4 loops, dials placed explicitly (opts.loop = i % 4)
 *     or round-robin (loop -1 from a foreign thread); every byte is checked
 *     on the client, on_open gets the dial's ctx, gnet_conn_is_outbound is
 *     1 on the client and 0 on the server, on_close fires exactly once;
 *   - a client-side codec (opts.codec, 4-byte length field, strip 4) against
 *     a server with the same codec: on_traffic sees whole 1 KiB frames;
 *   - dialling from inside a server (a proxy): the accepted connection's
 *     on_open dials a backend on its own loop (handle returned at once),
 *     bytes are relayed both ways, the backend is on the same loop;
 *   - failures: -ECONNREFUSED and -ENOENT reported exactly once and
 *     promptly, from a foreign thread (on_dial_error) and from a loop
 *     (returned directly or reported); GNET_EADDR / GNET_ESCHEME /
 *     GNET_EINVAL from gnet_engine_dial itself; -ETIMEDOUT after
 *     connect_timeout_ms against a listener whose backlog is full;
 *   - gnet_conn_write_async to a dial's handle before on_open is sent once
 *     connected;
 *   - an engine stopped with dials in progress reports each of them once
 *     with GNET_ESHUTDOWN (and leaks nothing, under ASan);
 *   - gnet_engine_adopt of a blocking socketpair end (made non-blocking,
 *     echoes) and of a UDP socket (GNET_EINVAL, fd closed);
 *   - gnet_conn_set_reading: 0 leaves bytes in the kernel, 1 delivers them.
 *
 * The engines live in tests/support: the dialling side in client_engine
 * (with a dialer actor for dials made on a loop), the echo server in
 * recserver, the proxy in relay_proxy, the peer sockets in sockets. Loop
 * callbacks only record into atomics (g_loop_errs for unexpected
 * results); the test thread asserts after bounded waits.
 */
#include <check.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gnet.h"
#include "support/client_engine.h"
#include "support/recserver.h"
#include "support/relay_proxy.h"
#include "support/sockets.h"
#include "support/testnet.h"

#define TCASE_TIMEOUT_S 120
#define WAIT_MS 5000            /* for a callback to be observed */
#define XFER_MS 60000           /* for a whole multi-connection exchange */
#define PROMPT_MS 1000          /* a refused connect is reported by then */
#define QUIET_MS 200            /* how long "nothing happens" is watched */

#define N_CONNS 10
#define STREAM_BYTES (1024u * 1024)   /* per stream connection, scaled */
#define DGRAMS_PER_CONN 200u          /* scaled */
#define FRAMES_PER_CONN 100u          /* scaled */
#define TX_STRIDE 4099u               /* offset of connection i's bytes */
#define PATTERN_LEN (STREAM_BYTES + N_CONNS * TX_STRIDE)

#define PROXY_CLIENTS 8
#define PROXY_BYTES (256u * 1024)     /* per proxied client, scaled */
#define PROXY_LOOPS 2

#define PAUSE_BYTES 4096u
#define TIMEOUT_MS 300                /* connect_timeout_ms of the timeout test */
#define TIMEOUT_MAX_MS 2000
#define STOP_DIALS 8

/* ------------------------------------------------------------------------
 * Unexpected results on loop threads, of every engine of a test (asserting
 * there would abort from a foreign thread without a useful message).
 */
static tn_loop_errors_t g_loop_errs;

#define loop_errors_reset() tn_loop_errors_reset(&g_loop_errs)
#define assert_no_loop_errors() TN_ASSERT_NO_LOOP_ERRORS(&g_loop_errs)

/* Random bytes shared by every connection: connection i sends
 * g_pattern + i * TX_STRIDE, so crossed streams are detected. */
static uint8_t *g_pattern;

static const uint8_t *conn_tx(int i)
{
	return g_pattern + (size_t)i * TX_STRIDE;
}

static void unix_path(char *buf, size_t cap, const char *tag)
{
	static int seq;
	snprintf(buf, cap, "/tmp/gnet-check-client-%d-%s-%d.sock", (int)getpid(),
	    tag, seq++);
	unlink(buf);
}

/* The echo server the clients dial (support/recserver): every connection
 * it sees must be an accepted one. */
static recserver_t *echo_server_new(void)
{
	recserver_t *sv = calloc(1, sizeof *sv);

	if (sv != NULL) {
		recserver_init(sv, &g_loop_errs);
		sv->accepted_only = 1;
	}
	return sv;
}

/* n client connections, each sending its own part of the pattern. */
static client_conn_t *conns_new(int n, size_t total)
{
	return client_conns_new(n, total, g_pattern, TX_STRIDE);
}

/* ------------------------------------------------------------------------
 * Echo through our own server: tcp, unix and udp x client loops x
 * placement (table-driven).
 */
typedef enum { NET_TCP, NET_UNIX, NET_UDP } net_t;
typedef enum { PLACE_AUTO, PLACE_EXPLICIT } place_t;

static const struct echo_case {
	const char *name;
	net_t net;
	int loops;
	place_t place;
} echo_cases[] = {
	{ "tcp, 1 loop", NET_TCP, 1, PLACE_AUTO },
	{ "tcp, 4 loops, loop = i % 4", NET_TCP, 4, PLACE_EXPLICIT },
	{ "tcp, 4 loops, round-robin", NET_TCP, 4, PLACE_AUTO },
	{ "unix, 1 loop", NET_UNIX, 1, PLACE_AUTO },
	{ "unix, 4 loops, loop = i % 4", NET_UNIX, 4, PLACE_EXPLICIT },
	{ "unix, 4 loops, round-robin", NET_UNIX, 4, PLACE_AUTO },
	{ "udp, 1 loop", NET_UDP, 1, PLACE_AUTO },
	{ "udp, 4 loops, loop = i % 4", NET_UDP, 4, PLACE_EXPLICIT },
	{ "udp, 4 loops, round-robin", NET_UDP, 4, PLACE_AUTO },
};
#define N_ECHO_CASES ((int)(sizeof echo_cases / sizeof echo_cases[0]))

START_TEST(test_dial_echo)
{
	const struct echo_case *tc = &echo_cases[_i];
	int udp = tc->net == NET_UDP;
	char path[108], listen[160], addr[160];
	tn_server_t server, client;
	recserver_t *sv = echo_server_new();
	client_engine_t *cl = client_engine_new(udp ? CLIENT_UDP : CLIENT_STREAM, &g_loop_errs);
	size_t total = udp ? tn_scaled_min(DGRAMS_PER_CONN, CLIENT_UDP_WINDOW) :
	    tn_scaled_min(STREAM_BYTES, 4096);
	client_conn_t *cc = conns_new(N_CONNS, total);
	gnet_options_t copts = { .size = sizeof(gnet_options_t), .num_loops = tc->loops, .no_pin = 1 };

	loop_errors_reset();
	ck_assert_ptr_nonnull(sv);
	if (tc->net == NET_UNIX) {
		unix_path(path, sizeof path, "echo");
		snprintf(listen, sizeof listen, "unix://%s", path);
	} else {
		snprintf(listen, sizeof listen, "%s://127.0.0.1:0", udp ? "udp" : "tcp");
	}
	tn_server_start_at(&server, &recserver_events, NULL, sv, listen);
	if (tc->net == NET_UNIX)
		snprintf(addr, sizeof addr, "%s", listen);
	else
		snprintf(addr, sizeof addr, "%s://127.0.0.1:%d", udp ? "udp" : "tcp",
		    server.port);
	for (int i = 0; i < N_CONNS; i++)
		if (udp)
			cc[i].seen = calloc(total, 1);
	client_engine_start(&client, cl, &copts, NULL);

	for (int i = 0; i < N_CONNS; i++)
		client_dial_ok(client.eng, addr,
		    tc->place == PLACE_EXPLICIT ? i % tc->loops : -1, &cc[i], NULL);

	TN_WAIT_UNTIL(tn_ld(&cl->done) == N_CONNS || tn_ld(&g_loop_errs.count) > 0, XFER_MS);
	assert_no_loop_errors();
	ck_assert_msg(tn_ld(&cl->done) == N_CONNS,
	    "%s: %d of %d connections finished (opens %d, dial errors %d, "
	    "last error %d)", tc->name, tn_ld(&cl->done), N_CONNS, tn_ld(&cl->opens),
	    tn_ld(&cl->dial_errors), (int)tn_ld(&cl->last_err));
	TN_WAIT_UNTIL(tn_ld(&cl->closes) == N_CONNS, WAIT_MS);
	ck_assert_int_eq(tn_ld(&cl->closes), N_CONNS);
	if (!udp) {
		TN_WAIT_UNTIL(tn_ld(&sv->closes) == N_CONNS, WAIT_MS);
		ck_assert_int_eq(tn_ld(&sv->opens), N_CONNS);
		ck_assert_int_eq(tn_ld(&sv->closes), N_CONNS);
		ck_assert_int_eq(tn_ldl(&sv->bytes_in), (long)(N_CONNS * total));
	} else {
		/* UDP has no connections on the server side. */
		ck_assert_int_eq(tn_ld(&sv->opens), 0);
		ck_assert_int_eq(tn_ld(&sv->dgrams), (int)(N_CONNS * total));
	}

	/* Placement. */
	int loops_used = 0;
	for (int l = 0; l < tc->loops; l++)
		loops_used += tn_ld(&cl->loop_opens[l]) > 0;
	for (int i = 0; i < N_CONNS; i++) {
		ck_assert_int_eq(tn_ld(&cc[i].opens), 1);
		ck_assert_uint_eq(cc[i].recvd, total);
		if (tc->place == PLACE_EXPLICIT || tc->loops == 1)
			ck_assert_msg(tn_ld(&cc[i].loop) == i % tc->loops,
			    "connection %d on loop %d, want %d", i, tn_ld(&cc[i].loop),
			    i % tc->loops);
	}
	ck_assert_msg(loops_used == (tc->loops < N_CONNS ? tc->loops : N_CONNS),
	    "%s: connections landed on %d of %d loops", tc->name, loops_used,
	    tc->loops);

	tn_server_close(&client);
	tn_server_close(&server);
	/* Exactly one on_close each, with reason 0 (we closed), and no more at
	 * engine stop. */
	for (int i = 0; i < N_CONNS; i++) {
		ck_assert_int_eq(tn_ld(&cc[i].closes), 1);
		ck_assert_int_eq(tn_ld(&cc[i].close_reason), 0);
		ck_assert_int_eq(tn_ld(&cc[i].dial_errors), 0);
	}
	ck_assert_int_eq(tn_ld(&cl->dial_errors), 0);
	assert_no_loop_errors();
	if (tc->net == NET_UNIX)
		unlink(path);
	client_conns_free(cc, N_CONNS);
	free(cl);
	free(sv);
}
END_TEST

/* ------------------------------------------------------------------------
 * A codec on the client side only through gnet_dial_options_t.codec.
 */
START_TEST(test_dial_codec)
{
	gnet_length_field_config_t cfg = { .size = sizeof(gnet_length_field_config_t), .field_length = 4, .strip = 4 };
	gnet_codec_t *codec = NULL;
	tn_server_t server, client;
	recserver_t *sv = echo_server_new();
	client_engine_t *cl = client_engine_new(CLIENT_FRAMES, &g_loop_errs);
	size_t frames = tn_scaled_min(FRAMES_PER_CONN, 4);
	client_conn_t *cc = conns_new(N_CONNS, frames);
	char addr[64];

	loop_errors_reset();
	ck_assert_ptr_nonnull(sv);
	ck_assert_int_eq(gnet_codec_new_length_field(&codec, &cfg), 0);
	sv->frame_len = CLIENT_FRAME_BYTES;
	gnet_options_t sopts = { .size = sizeof(gnet_options_t), .codec = codec };
	gnet_options_t copts = { .size = sizeof(gnet_options_t), .num_loops = 2, .no_pin = 1 };
	tn_server_start_at(&server, &recserver_events, &sopts, sv, "tcp://127.0.0.1:0");
	client_engine_start(&client, cl, &copts, NULL);
	snprintf(addr, sizeof addr, "tcp://127.0.0.1:%d", server.port);
	for (int i = 0; i < N_CONNS; i++)
		client_dial_ok(client.eng, addr, i % 2, &cc[i], codec);

	TN_WAIT_UNTIL(tn_ld(&cl->done) == N_CONNS || tn_ld(&g_loop_errs.count) > 0, XFER_MS);
	assert_no_loop_errors();
	ck_assert_int_eq(tn_ld(&cl->done), N_CONNS);
	for (int i = 0; i < N_CONNS; i++) {
		ck_assert_uint_eq(cc[i].recvd, frames);
		/* One on_traffic per frame. */
		ck_assert_int_eq(tn_ld(&cc[i].traffic_calls), (int)frames);
	}
	ck_assert_int_eq(tn_ldl(&sv->bytes_in), (long)(N_CONNS * frames * CLIENT_FRAME_BYTES));
	TN_WAIT_UNTIL(tn_ld(&sv->closes) == N_CONNS, WAIT_MS);
	ck_assert_int_eq(tn_ld(&sv->closes), N_CONNS);
	tn_server_close(&client);
	tn_server_close(&server);
	ck_assert_int_eq(tn_ld(&cl->closes), N_CONNS);
	assert_no_loop_errors();
	gnet_codec_free(codec);
	client_conns_free(cc, N_CONNS);
	free(cl);
	free(sv);
}
END_TEST

/* ------------------------------------------------------------------------
 * A proxy: the accepted connection dials the backend on its own loop and
 * the two relay to each other with plain calls.
 */
START_TEST(test_dial_from_server_proxy)
{
	tn_server_t backend, proxy;
	recserver_t *sv = echo_server_new();
	relay_proxy_t *px = calloc(1, sizeof *px);
	size_t bytes = tn_scaled_min(PROXY_BYTES, 4096);
	tn_client_t cl[PROXY_CLIENTS];
	gnet_options_t popts = { .size = sizeof(gnet_options_t), .num_loops = PROXY_LOOPS, .no_pin = 1 };

	loop_errors_reset();
	ck_assert_ptr_nonnull(sv);
	ck_assert_ptr_nonnull(px);
	px->errs = &g_loop_errs;
	tn_server_start_at(&backend, &recserver_events, NULL, sv, "tcp://127.0.0.1:0");
	snprintf(px->backend, sizeof px->backend, "tcp://127.0.0.1:%d", backend.port);
	tn_server_start_at(&proxy, &relay_proxy_events, &popts, px, "tcp://127.0.0.1:0");

	for (int i = 0; i < PROXY_CLIENTS; i++) {
		int fd = tn_connect(proxy.port);
		ck_assert_int_ge(fd, 0);
		tn_client_init(&cl[i], fd, conn_tx(i), bytes, NULL, 0);
	}
	int left = tn_pump(cl, PROXY_CLIENTS, XFER_MS);
	assert_no_loop_errors();
	ck_assert_msg(left == 0, "proxy: %s", tn_pump_error(cl, PROXY_CLIENTS));
	ck_assert_int_eq(tn_ld(&px->fronts), PROXY_CLIENTS);
	ck_assert_int_eq(tn_ld(&px->backs), PROXY_CLIENTS);
	ck_assert_int_eq(tn_ld(&px->same_loop), PROXY_CLIENTS);
	ck_assert_int_eq(tn_ld(&px->dial_errors), 0);
	/* The accepted connections were spread, so both loops dialled. */
	for (int l = 0; l < PROXY_LOOPS; l++)
		ck_assert_msg(tn_ld(&px->loop_backs[l]) > 0, "no backend on loop %d", l);
	ck_assert_int_eq(tn_ld(&sv->opens), PROXY_CLIENTS);
	ck_assert_int_eq(tn_ldl(&sv->bytes_in), (long)(PROXY_CLIENTS * bytes));

	/* Closing the clients closes both legs of each pair. */
	for (int i = 0; i < PROXY_CLIENTS; i++)
		tn_close(&cl[i].fd);
	TN_WAIT_UNTIL(tn_ld(&px->closes) == 2 * PROXY_CLIENTS &&
	    tn_ld(&sv->closes) == PROXY_CLIENTS, WAIT_MS);
	ck_assert_int_eq(tn_ld(&px->closes), 2 * PROXY_CLIENTS);
	ck_assert_int_eq(tn_ld(&sv->closes), PROXY_CLIENTS);
	tn_server_close(&proxy);
	tn_server_close(&backend);
	ck_assert_int_eq(tn_ld(&px->closes), 2 * PROXY_CLIENTS);
	assert_no_loop_errors();
	free(px);
	free(sv);
}
END_TEST

/* ------------------------------------------------------------------------
 * Connect failures: refused and missing unix socket, from a foreign thread
 * and from a loop (table-driven); malformed addresses.
 */

/* A TCP port bound on 127.0.0.1 with no listener: connects are refused,
 * and nobody else can take the port while fd is open. */
static int refused_port(int *fd)
{
	int port;

	*fd = tn_tcp_bound(0, 0, &port);
	return port;
}

static const struct fail_case {
	const char *name;
	int unix_path;          /* 0: refused TCP port */
	int on_loop;            /* dial from the dialer actor on loop 0 */
	int want;
} fail_cases[] = {
	{ "tcp refused, foreign thread", 0, 0, -ECONNREFUSED },
	{ "tcp refused, on the loop", 0, 1, -ECONNREFUSED },
	{ "unix missing, foreign thread", 1, 0, -ENOENT },
	{ "unix missing, on the loop", 1, 1, -ENOENT },
};
#define N_FAIL_CASES ((int)(sizeof fail_cases / sizeof fail_cases[0]))

START_TEST(test_dial_fails)
{
	const struct fail_case *fc = &fail_cases[_i];
	tn_server_t client;
	gnet_handle_t dialer = GNET_HANDLE_NONE;
	client_engine_t *cl = client_engine_new(CLIENT_COLLECT, &g_loop_errs);
	client_conn_t *cc = conns_new(1, 0);
	dial_req_t *r = calloc(1, sizeof *r);
	gnet_options_t copts = { .size = sizeof(gnet_options_t), .num_loops = 2, .no_pin = 1 };
	char path[108];
	int pfd = -1, direct = 0;
	int64_t t0, t1;

	loop_errors_reset();
	ck_assert_ptr_nonnull(r);
	if (fc->unix_path) {
		unix_path(path, sizeof path, "missing");
		snprintf(r->addr, sizeof r->addr, "unix://%s", path);
	} else {
		snprintf(r->addr, sizeof r->addr, "tcp://127.0.0.1:%d",
		    refused_port(&pfd));
	}
	client_engine_start(&client, cl, &copts, &dialer);
	r->opts.loop = -1;
	r->opts.ctx = cc;
	t0 = tn_now_ms();
	if (fc->on_loop) {
		dial_on_loop(&client, dialer, r);
		direct = atomic_load(&r->rc);
		if (direct != 0) {
			ck_assert_msg(direct == fc->want, "%s: gnet_engine_dial returned %d (%s)",
			    fc->name, direct, gnet_strerror(direct));
			ck_assert(atomic_load(&r->handle) == GNET_HANDLE_NONE);
		}
	} else {
		client_dial_ok(client.eng, r->addr, -1, cc, NULL);
	}
	if (direct == 0) {
		TN_WAIT_UNTIL(tn_ld(&cl->dial_errors) > 0, 2 * PROMPT_MS);
		ck_assert_msg(tn_ld(&cl->dial_errors) == 1, "%s: %d on_dial_error",
		    fc->name, tn_ld(&cl->dial_errors));
		t1 = tn_ldl(&cl->last_err_ms);
		ck_assert_msg(tn_ld(&cl->last_err) == fc->want, "%s: error %d (%s), want %d",
		    fc->name, (int)tn_ld(&cl->last_err),
		    gnet_strerror((int)tn_ld(&cl->last_err)), fc->want);
		ck_assert(atomic_load(&cl->last_err_ctx) == (uintptr_t)cc);
	} else {
		t1 = tn_ldl(&r->done_ms);
	}
	ck_assert_msg(t1 - t0 <= PROMPT_MS, "%s: reported after %lld ms", fc->name,
	    (long long)(t1 - t0));
	tn_server_close(&client);
	/* Exactly one report in all; never opened. */
	ck_assert_int_eq((direct != 0) + tn_ld(&cl->dial_errors), 1);
	ck_assert_int_eq(tn_ld(&cl->opens), 0);
	ck_assert_int_eq(tn_ld(&cl->closes), 0);
	assert_no_loop_errors();
	tn_close(&pfd);
	free(r);
	client_conns_free(cc, 1);
	free(cl);
}
END_TEST

START_TEST(test_dial_bad_address)
{
	static const struct { const char *addr; int want; } bad[] = {
		{ "tcp://127.0.0.1", GNET_EADDR },
		{ "tcp://127.0.0.1:", GNET_EADDR },
		{ "tcp://127.0.0.1:http", GNET_EADDR },
		{ "tcp://127.0.0.1:65536", GNET_EADDR },
		{ "tcp://300.1.1.1:80", GNET_EADDR },
		{ "tcp://example.com:80", GNET_EADDR },
		{ "tcp://[::1:80", GNET_EADDR },
		{ "udp://127.0.0.1:80/x", GNET_EADDR },
		{ "unix://", GNET_EADDR },
		{ "127.0.0.1:80", GNET_EADDR },
		{ "http://127.0.0.1:80", GNET_ESCHEME },
		{ "ws://127.0.0.1:80", GNET_ESCHEME },
	};
	tn_server_t client;
	gnet_handle_t dialer = GNET_HANDLE_NONE;
	client_engine_t *cl = client_engine_new(CLIENT_COLLECT, &g_loop_errs);
	gnet_options_t copts = { .size = sizeof(gnet_options_t), .num_loops = 2, .no_pin = 1 };

	loop_errors_reset();
	client_engine_start(&client, cl, &copts, &dialer);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		gnet_handle_t h = 7;
		int rc = gnet_engine_dial(client.eng, bad[i].addr, NULL, &h);
		ck_assert_msg(rc == bad[i].want, "gnet_engine_dial(%s): %d (%s), want %d",
		    bad[i].addr, rc, gnet_strerror(rc), bad[i].want);
		ck_assert(h == GNET_HANDLE_NONE);
		/* The same on a loop. */
		dial_req_t r;
		memset(&r, 0, sizeof r);
		snprintf(r.addr, sizeof r.addr, "%s", bad[i].addr);
		r.opts.loop = -1;
		dial_on_loop(&client, dialer, &r);
		ck_assert_msg(atomic_load(&r.rc) == bad[i].want,
		    "on loop: gnet_engine_dial(%s): %d", bad[i].addr, (int)atomic_load(&r.rc));
	}
	gnet_dial_options_t o = { .size = sizeof(gnet_dial_options_t), .loop = 2 };
	ck_assert_int_eq(gnet_engine_dial(client.eng, "tcp://127.0.0.1:1", &o, NULL),
	    GNET_EINVAL);
	ck_assert_int_eq(gnet_engine_dial(NULL, "tcp://127.0.0.1:1", NULL, NULL),
	    GNET_EINVAL);
	ck_assert_int_eq(gnet_engine_dial(client.eng, NULL, NULL, NULL), GNET_EINVAL);
	tn_server_stop(&client);
	ck_assert_int_eq(gnet_engine_dial(client.eng, "tcp://127.0.0.1:1", NULL, NULL),
	    GNET_ESHUTDOWN);
	tn_server_free(&client);
	/* None of these was reported again through the callback. */
	ck_assert_int_eq(tn_ld(&cl->dial_errors), 0);
	ck_assert_int_eq(tn_ld(&cl->opens), 0);
	assert_no_loop_errors();
	free(cl);
}
END_TEST

/* ------------------------------------------------------------------------
 * A listener that never completes a connect (tn_full_backlog_t).
 */
START_TEST(test_dial_connect_timeout)
{
	tn_full_backlog_t fb;
	tn_server_t client;
	client_engine_t *cl = client_engine_new(CLIENT_COLLECT, &g_loop_errs);
	client_conn_t *cc = conns_new(1, 0);
	gnet_options_t copts = { .size = sizeof(gnet_options_t), .num_loops = 1, .no_pin = 1 };
	char addr[64];

	loop_errors_reset();
	tn_full_backlog_open(&fb);
	snprintf(addr, sizeof addr, "tcp://127.0.0.1:%d", fb.port);
	client_engine_start(&client, cl, &copts, NULL);
	gnet_dial_options_t o = { .size = sizeof(gnet_dial_options_t), .loop = -1, .ctx = cc,
	    .connect_timeout_ms = TIMEOUT_MS };
	int64_t t0 = tn_now_ms();
	ck_assert_int_eq(gnet_engine_dial(client.eng, addr, &o, NULL), 0);
	TN_WAIT_UNTIL(tn_ld(&cl->dial_errors) > 0, TIMEOUT_MAX_MS + WAIT_MS);
	ck_assert_msg(tn_ld(&cl->dial_errors) == 1, "%d on_dial_error, opens %d",
	    tn_ld(&cl->dial_errors), tn_ld(&cl->opens));
	long dt = (long)(tn_ldl(&cl->last_err_ms) - t0);
	ck_assert_msg(tn_ld(&cl->last_err) == -ETIMEDOUT, "error %d (%s), want -ETIMEDOUT",
	    (int)tn_ld(&cl->last_err), gnet_strerror((int)tn_ld(&cl->last_err)));
	ck_assert_msg(dt >= TIMEOUT_MS && dt <= TIMEOUT_MAX_MS,
	    "timed out after %ld ms, want %d..%d", dt, TIMEOUT_MS, TIMEOUT_MAX_MS);
	ck_assert(atomic_load(&cl->last_err_ctx) == (uintptr_t)cc);
	tn_server_close(&client);
	ck_assert_int_eq(tn_ld(&cl->dial_errors), 1);
	ck_assert_int_eq(tn_ld(&cl->opens), 0);
	ck_assert_int_eq(tn_ld(&cl->closes), 0);
	assert_no_loop_errors();
	tn_full_backlog_close(&fb);
	client_conns_free(cc, 1);
	free(cl);
}
END_TEST

/* ------------------------------------------------------------------------
 * gnet_conn_write_async to a dial's handle before on_open.
 */
START_TEST(test_write_before_open)
{
	static const char pre[] = "written before on_open, sent once connected";
	tn_server_t server, client;
	gnet_handle_t dialer = GNET_HANDLE_NONE;
	recserver_t *sv = echo_server_new();
	client_engine_t *cl = client_engine_new(CLIENT_COLLECT, &g_loop_errs);
	client_conn_t *cc = conns_new(1, 0);
	dial_req_t *r = calloc(1, sizeof *r);
	gnet_options_t copts = { .size = sizeof(gnet_options_t), .num_loops = 2, .no_pin = 1 };

	loop_errors_reset();
	ck_assert_ptr_nonnull(sv);
	ck_assert_ptr_nonnull(r);
	cc->rx_cap = sizeof pre;
	cc->rx = calloc(1, cc->rx_cap);
	tn_server_start_at(&server, &recserver_events, NULL, sv, "tcp://127.0.0.1:0");
	client_engine_start(&client, cl, &copts, &dialer);
	snprintf(r->addr, sizeof r->addr, "tcp://127.0.0.1:%d", server.port);
	r->opts.loop = -1;
	r->opts.ctx = cc;
	r->pre = pre;
	r->pre_len = sizeof pre;
	r->pre_cbdata = cc;
	r->opens = &cc->opens;
	dial_on_loop(&client, dialer, r);
	ck_assert_int_eq(atomic_load(&r->rc), 0);
	ck_assert_int_eq(atomic_load(&r->wrc), 0);
	ck_assert_int_eq(atomic_load(&r->opens_at_write), 0);

	TN_WAIT_UNTIL(tn_ldl(&cc->rx_bytes) == (long)sizeof pre, WAIT_MS);
	ck_assert_int_eq(tn_ldl(&cc->rx_bytes), (long)sizeof pre);
	ck_assert_mem_eq(cc->rx, pre, sizeof pre);
	ck_assert_int_eq(tn_ld(&cc->opens), 1);
	ck_assert_int_eq(tn_ld(&cc->loop), 0);
	ck_assert(atomic_load(&cc->handle) == atomic_load(&r->handle));
	ck_assert_int_eq(tn_ld(&cc->write_cbs), 1);
	ck_assert_int_eq(tn_ld(&cc->write_status), 0);
	tn_server_close(&client);
	tn_server_close(&server);
	ck_assert_int_eq(tn_ld(&cc->closes), 1);
	ck_assert_int_eq(tn_ld(&cc->close_reason), GNET_ESHUTDOWN);
	ck_assert_int_eq(tn_ld(&cl->dial_errors), 0);
	assert_no_loop_errors();
	free(r);
	client_conns_free(cc, 1);
	free(cl);
	free(sv);
}
END_TEST

/* ------------------------------------------------------------------------
 * Engine stop with dials in progress (no connect timeout).
 *   0: a dial started on the loop, with a write queued for it;
 *   1: STOP_DIALS dials from a foreign thread, stopped at once (in flight
 *      as messages or started: either way reported once).
 */
START_TEST(test_stop_while_dialling)
{
	static const char pre[] = "never sent";
	tn_full_backlog_t fb;
	tn_server_t client;
	gnet_handle_t dialer = GNET_HANDLE_NONE;
	client_engine_t *cl = client_engine_new(CLIENT_COLLECT, &g_loop_errs);
	int ndials = _i == 0 ? 1 : STOP_DIALS;
	client_conn_t *cc = conns_new(ndials, 0);
	dial_req_t *r = calloc(1, sizeof *r);
	gnet_options_t copts = { .size = sizeof(gnet_options_t), .num_loops = 2, .no_pin = 1 };
	char addr[64];

	loop_errors_reset();
	ck_assert_ptr_nonnull(r);
	tn_full_backlog_open(&fb);
	snprintf(addr, sizeof addr, "tcp://127.0.0.1:%d", fb.port);
	client_engine_start(&client, cl, &copts, &dialer);
	if (_i == 0) {
		snprintf(r->addr, sizeof r->addr, "%s", addr);
		r->opts.loop = -1;
		r->opts.ctx = cc;
		r->opts.connect_timeout_ms = -1;
		r->pre = pre;
		r->pre_len = sizeof pre;
		r->pre_cbdata = cc;
		r->opens = &cc->opens;
		dial_on_loop(&client, dialer, r);
		ck_assert_int_eq(atomic_load(&r->rc), 0);
		ck_assert_int_eq(atomic_load(&r->wrc), 0);
		/* The connecting connection exists and holds the write (status
		 * 0: appended to it); it is not open, so not counted. */
		TN_WAIT_UNTIL(tn_ld(&cc->write_cbs) == 1, WAIT_MS);
		ck_assert_int_eq(tn_ld(&cc->write_cbs), 1);
		ck_assert_int_eq(tn_ld(&cc->write_status), 0);
		ck_assert_int_eq(gnet_engine_conn_count(client.eng), 0);
	} else {
		for (int i = 0; i < ndials; i++) {
			gnet_dial_options_t o = { .size = sizeof(gnet_dial_options_t), .loop = -1, .ctx = &cc[i],
			    .connect_timeout_ms = -1 };
			ck_assert_int_eq(gnet_engine_dial(client.eng, addr, &o, NULL), 0);
		}
	}
	ck_assert_int_eq(tn_ld(&cl->dial_errors), 0);
	tn_server_close(&client);
	ck_assert_msg(tn_ld(&cl->dial_errors) == ndials, "%d reports for %d dials",
	    tn_ld(&cl->dial_errors), ndials);
	ck_assert_msg(tn_ld(&cl->shutdown_errs) == ndials,
	    "%d of %d reports were GNET_ESHUTDOWN (last error %d: %s)",
	    tn_ld(&cl->shutdown_errs), ndials, (int)tn_ld(&cl->last_err),
	    gnet_strerror((int)tn_ld(&cl->last_err)));
	for (int i = 0; i < ndials; i++)
		ck_assert_int_eq(tn_ld(&cc[i].dial_errors), 1);
	ck_assert_int_eq(tn_ld(&cl->opens), 0);
	ck_assert_int_eq(tn_ld(&cl->closes), 0);
	if (_i == 0)
		ck_assert_int_eq(tn_ld(&cc->write_cbs), 1);
	assert_no_loop_errors();
	tn_full_backlog_close(&fb);
	free(r);
	client_conns_free(cc, ndials);
	free(cl);
}
END_TEST

/* ------------------------------------------------------------------------
 * gnet_engine_adopt.
 */
START_TEST(test_adopt_socketpair)
{
	/* _i == 0: into loop 1; _i == 1: loop -1 (round-robin). */
	tn_server_t client;
	client_engine_t *cl = client_engine_new(CLIENT_ECHO, &g_loop_errs);
	client_conn_t *cc = conns_new(1, 0);
	gnet_options_t copts = { .size = sizeof(gnet_options_t), .num_loops = 2, .no_pin = 1 };
	size_t n = 64 * 1024;
	uint8_t *back = malloc(n);
	int sv[2];

	loop_errors_reset();
	ck_assert_ptr_nonnull(back);
	/* Blocking ends: the library makes its end non-blocking. */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	client_engine_start(&client, cl, &copts, NULL);
	int rc = gnet_engine_adopt(client.eng, sv[0], _i == 0 ? 1 : -1, cc);
	ck_assert_msg(rc == 0, "gnet_engine_adopt: %d (%s)", rc, gnet_strerror(rc));
	TN_WAIT_UNTIL(tn_ld(&cc->opens) == 1, WAIT_MS);
	ck_assert_int_eq(tn_ld(&cc->opens), 1);
	if (_i == 0)
		ck_assert_int_eq(tn_ld(&cc->loop), 1);
	ck_assert_int_eq(tn_ld(&cc->nonblock), 1);
	ck_assert_uint_eq(tn_send_all(sv[1], conn_tx(3), n, WAIT_MS), n);
	ck_assert_uint_eq(tn_read_exact(sv[1], back, n, WAIT_MS), n);
	ck_assert_mem_eq(back, conn_tx(3), n);
	tn_close(&sv[1]);
	TN_WAIT_UNTIL(tn_ld(&cc->closes) == 1, WAIT_MS);
	ck_assert_int_eq(tn_ld(&cc->closes), 1);
	ck_assert_int_eq(tn_ld(&cc->close_reason), GNET_EEOF);
	tn_server_close(&client);
	ck_assert_int_eq(tn_ld(&cc->closes), 1);
	ck_assert_int_eq(tn_ld(&cl->dial_errors), 0);
	assert_no_loop_errors();
	free(back);
	client_conns_free(cc, 1);
	free(cl);
}
END_TEST

START_TEST(test_adopt_udp_refused)
{
	tn_server_t client;
	client_engine_t *cl = client_engine_new(CLIENT_ECHO, &g_loop_errs);
	client_conn_t *cc = conns_new(1, 0);
	gnet_options_t copts = { .size = sizeof(gnet_options_t), .num_loops = 1, .no_pin = 1 };
	struct stat before, after;

	loop_errors_reset();
	client_engine_start(&client, cl, &copts, NULL);
	ck_assert_int_eq(gnet_engine_adopt(client.eng, -1, -1, cc), GNET_EINVAL);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &before), 0);
	int rc = gnet_engine_adopt(client.eng, fd, -1, cc);
	if (rc == 0) {
		TN_WAIT_UNTIL(tn_ld(&cl->dial_errors) > 0, WAIT_MS);
		ck_assert_int_eq(tn_ld(&cl->dial_errors), 1);
		ck_assert_int_eq(tn_ld(&cl->last_err), GNET_EINVAL);
		ck_assert(atomic_load(&cl->last_err_ctx) == (uintptr_t)cc);
	} else {
		ck_assert_int_eq(rc, GNET_EINVAL);
	}
	tn_server_close(&client);
	ck_assert_int_eq((rc != 0) + tn_ld(&cl->dial_errors), 1);
	ck_assert_int_eq(tn_ld(&cl->opens), 0);
	/* The engine closed it: gone, or the number reused by another file. */
	ck_assert(fstat(fd, &after) != 0 ? errno == EBADF :
	    after.st_ino != before.st_ino || after.st_dev != before.st_dev);
	assert_no_loop_errors();
	client_conns_free(cc, 1);
	free(cl);
}
END_TEST

/* ------------------------------------------------------------------------
 * gnet_conn_set_reading on a dialled connection (paused in on_open)
 * against a peer socket the test accepts.
 */
static int kernel_unread(client_conn_t *cc)
{
	int v = -1;
	if (ioctl(atomic_load(&cc->fd), FIONREAD, &v) != 0)
		return -1;
	return v;
}

static void send_conn_msg(tn_server_t *s, client_conn_t *cc, uint32_t type)
{
	int before = atomic_load(&cc->msgs);
	gnet_msg_t m = { .type = type };
	ck_assert_int_eq(gnet_actor_send(s->eng, atomic_load(&cc->handle), &m), 0);
	TN_WAIT_UNTIL(tn_ld(&cc->msgs) > before, WAIT_MS);
	ck_assert_int_gt(tn_ld(&cc->msgs), before);
}

/* Send PAUSE_BYTES while paused: they must stay in the kernel. */
static void check_paused(tn_server_t *s, client_conn_t *cc, int peer, const uint8_t *p)
{
	int calls = atomic_load(&cc->traffic_calls);
	ck_assert_uint_eq(tn_send_all(peer, p, PAUSE_BYTES, WAIT_MS), PAUSE_BYTES);
	TN_WAIT_UNTIL(kernel_unread(cc) == (int)PAUSE_BYTES, WAIT_MS);
	ck_assert_int_eq(kernel_unread(cc), PAUSE_BYTES);
	/* The loop has run since (a message round trip), and for a while. */
	send_conn_msg(s, cc, CLIENT_MSG_NOP);
	TN_WAIT_UNTIL(tn_ld(&cc->traffic_calls) != calls, QUIET_MS);
	ck_assert_int_eq(tn_ld(&cc->traffic_calls), calls);
	ck_assert_int_eq(kernel_unread(cc), PAUSE_BYTES);
}

START_TEST(test_set_reading)
{
	tn_server_t client;
	client_engine_t *cl = client_engine_new(CLIENT_ECHO, &g_loop_errs);
	client_conn_t *cc = conns_new(1, 0);
	gnet_options_t copts = { .size = sizeof(gnet_options_t), .num_loops = 1, .no_pin = 1 };
	uint8_t back[PAUSE_BYTES];
	char addr[64];
	int port;

	loop_errors_reset();
	cc->pause_on_open = 1;
	int lfd = tn_tcp_bound(8, 0, &port);
	snprintf(addr, sizeof addr, "tcp://127.0.0.1:%d", port);
	client_engine_start(&client, cl, &copts, NULL);
	client_dial_ok(client.eng, addr, -1, cc, NULL);
	int peer = tn_accept_within(lfd, WAIT_MS);
	ck_assert_int_ge(peer, 0);
	TN_WAIT_UNTIL(tn_ld(&cc->opens) == 1, WAIT_MS);
	ck_assert_int_eq(tn_ld(&cc->opens), 1);

	for (int round = 0; round < 2; round++) {
		const uint8_t *p = conn_tx(round);
		if (round > 0)
			send_conn_msg(&client, cc, CLIENT_MSG_PAUSE);
		check_paused(&client, cc, peer, p);
		send_conn_msg(&client, cc, CLIENT_MSG_RESUME);
		ck_assert_uint_eq(tn_read_exact(peer, back, PAUSE_BYTES, WAIT_MS),
		    PAUSE_BYTES);
		ck_assert_mem_eq(back, p, PAUSE_BYTES);
		ck_assert_int_eq(tn_ldl(&cc->rx_bytes), (long)((round + 1) * PAUSE_BYTES));
	}
	tn_close(&peer);
	TN_WAIT_UNTIL(tn_ld(&cc->closes) == 1, WAIT_MS);
	ck_assert_int_eq(tn_ld(&cc->closes), 1);
	tn_server_close(&client);
	ck_assert_int_eq(tn_ld(&cc->closes), 1);
	assert_no_loop_errors();
	tn_close(&lfd);
	client_conns_free(cc, 1);
	free(cl);
}
END_TEST

/* ------------------------------------------------------------------------
 */
static Suite *client_suite(void)
{
	Suite *s = suite_create("client");
	TCase *tc;

	tc = tn_tcase("echo", TCASE_TIMEOUT_S);
	tcase_add_loop_test(tc, test_dial_echo, 0, N_ECHO_CASES);
	tcase_add_test(tc, test_dial_codec);
	tcase_add_test(tc, test_dial_from_server_proxy);
	suite_add_tcase(s, tc);

	tc = tn_tcase("failures", TCASE_TIMEOUT_S);
	tcase_add_loop_test(tc, test_dial_fails, 0, N_FAIL_CASES);
	tcase_add_test(tc, test_dial_bad_address);
	tcase_add_test(tc, test_dial_connect_timeout);
	tcase_add_loop_test(tc, test_stop_while_dialling, 0, 2);
	suite_add_tcase(s, tc);

	tc = tn_tcase("lifecycle", TCASE_TIMEOUT_S);
	tcase_add_test(tc, test_write_before_open);
	tcase_add_loop_test(tc, test_adopt_socketpair, 0, 2);
	tcase_add_test(tc, test_adopt_udp_refused);
	tcase_add_test(tc, test_set_reading);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	g_pattern = malloc(PATTERN_LEN);
	if (g_pattern == NULL)
		return EXIT_FAILURE;
	tn_fill_random(g_pattern, PATTERN_LEN, 0xC11E47);
	int rc = tn_run_suite(client_suite());
	free(g_pattern);
	return rc;
}
