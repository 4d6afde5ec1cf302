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
 * Loop callbacks only record into atomics (LOOP_CHECK for unexpected
 * results); the test thread asserts after bounded waits.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gnet.h"
#include "support/testnet.h"

#define TCASE_TIMEOUT_S 120
#define WAIT_MS 5000            /* for a callback to be observed */
#define XFER_MS 60000           /* for a whole multi-connection exchange */
#define PROMPT_MS 1000          /* a refused connect is reported by then */
#define QUIET_MS 200            /* how long "nothing happens" is watched */

#define N_CONNS 10
#define STREAM_BYTES (1024u * 1024)   /* per stream connection, scaled */
#define STREAM_WINDOW (256u * 1024)   /* unanswered bytes per connection */
#define STREAM_CHUNK (64u * 1024)     /* bytes per gnet_conn_write */
#define DGRAM_BYTES 1024u
#define DGRAMS_PER_CONN 200u          /* scaled */
#define UDP_WINDOW 4u                 /* unanswered datagrams per connection */
#define FRAME_BYTES 1024u
#define FRAMES_PER_CONN 100u          /* scaled */
#define TX_STRIDE 4099u               /* offset of connection i's bytes */
#define PATTERN_LEN (STREAM_BYTES + N_CONNS * TX_STRIDE)

#define PROXY_CLIENTS 8
#define PROXY_BYTES (256u * 1024)     /* per proxied client, scaled */
#define PROXY_LOOPS 2

#define PAUSE_BYTES 4096u
#define BACKLOG_FILL 4                /* connects that fill a listen(fd, 0) */
#define TIMEOUT_MS 300                /* connect_timeout_ms of the timeout test */
#define TIMEOUT_MAX_MS 2000
#define STOP_DIALS 8

enum { MSG_DIAL = GNET_MSG_USER + 1, MSG_PAUSE, MSG_RESUME, MSG_NOP };

/* ------------------------------------------------------------------------
 * Unexpected results on loop threads (asserting there would abort from a
 * foreign thread without a useful message).
 */
static tn_loop_errors_t g_loop_errs;

#define LOOP_CHECK(cond) TN_LOOP_CHECK(&g_loop_errs, cond)
#define loop_errors_reset() tn_loop_errors_reset(&g_loop_errs)
#define assert_no_loop_errors() TN_ASSERT_NO_LOOP_ERRORS(&g_loop_errs)

/* An atomic in an assertion: a plain call keeps Check's message readable. */
static long ld(atomic_int *p)
{
	return atomic_load(p);
}

static long ldl(atomic_long *p)
{
	return atomic_load(p);
}

/* Random bytes shared by every connection: connection i sends
 * g_pattern + i * TX_STRIDE, so crossed streams are detected. */
static uint8_t *g_pattern;

static const uint8_t *conn_tx(int i)
{
	return g_pattern + (size_t)i * TX_STRIDE;
}

static unsigned at_least(unsigned v, unsigned min)
{
	return v < min ? min : v;
}

/* ------------------------------------------------------------------------
 * Engines on a background thread, listening on any address (or none) and
 * optionally with a "dialer" actor on loop 0 that calls gnet_engine_dial from a
 * loop thread. tn_server_stop/close/free work on the result.
 */
typedef struct dial_req {
	char addr[128];
	gnet_dial_options_t opts;
	const void *pre;        /* gnet_conn_write_async this right after the dial */
	size_t pre_len;
	void *pre_cbdata;       /* the connection's cconn_t */
	atomic_int *opens;      /* its on_open counter */
	atomic_int done;
	atomic_int rc, wrc;
	atomic_int opens_at_write; /* on_open calls seen when writing: 0 */
	atomic_ullong handle;
	atomic_long done_ms;
} dial_req_t;

static void write_cb(gnet_conn_t *c, int status, void *cbdata);

static void dialer_receive(gnet_actor_t *self, const gnet_msg_t *m)
{
	gnet_engine_t *eng = gnet_actor_engine(self);
	dial_req_t *r = (dial_req_t *)(uintptr_t)m->a;
	gnet_handle_t h = 12345;

	if (m->type != MSG_DIAL || r == NULL)
		return;
	int rc;
	r->opts.size = sizeof r->opts;
	rc = gnet_engine_dial(eng, r->addr, &r->opts, &h);
	/* Called on the chosen loop: the handle is known at once. */
	LOOP_CHECK(rc == 0 ? h != GNET_HANDLE_NONE : h == GNET_HANDLE_NONE);
	if (rc == 0 && h != GNET_HANDLE_NONE)
		LOOP_CHECK((int)(h >> 56) == gnet_loop_current());
	atomic_store(&r->rc, rc);
	atomic_store(&r->handle, h);
	if (rc == 0 && r->pre != NULL) {
		atomic_store(&r->opens_at_write, atomic_load(r->opens));
		atomic_store(&r->wrc, gnet_conn_write_async(eng, h, r->pre, r->pre_len,
		    write_cb, r->pre_cbdata));
	}
	atomic_store(&r->done_ms, (long)tn_now_ms());
	atomic_store(&r->done, 1);
}

static void eng_start(tn_server_t *s, const gnet_events_t *ev,
    const gnet_options_t *opts, void *udata, const char *listen,
    gnet_handle_t *dialer)
{
	tn_server_new(s, ev, opts, udata);
	if (listen != NULL) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof ss;
		tn_server_listen(s, listen);
		ck_assert_int_eq(gnet_engine_addr(s->eng, 0, &ss, &len), 0);
	}
	if (dialer != NULL) {
		gnet_actor_def_t def = { .size = sizeof(gnet_actor_def_t), .receive = dialer_receive };
		int rc = gnet_actor_spawn(s->eng, 0, &def, dialer);
		ck_assert_msg(rc == 0, "gnet_actor_spawn: %d (%s)", rc,
		    gnet_strerror(rc));
	}
	tn_server_run(s);
}

/* Run r's gnet_engine_dial on the dialer actor's loop (loop 0) and wait for it. */
static void dial_on_loop(tn_server_t *s, gnet_handle_t dialer, dial_req_t *r)
{
	gnet_msg_t m = { .type = MSG_DIAL, .a = (uint64_t)(uintptr_t)r };
	ck_assert_int_eq(gnet_actor_send(s->eng, dialer, &m), 0);
	TN_WAIT_UNTIL(atomic_load(&r->done), WAIT_MS);
	ck_assert_msg(atomic_load(&r->done), "dialer actor did not run");
}

static void unix_path(char *buf, size_t cap, const char *tag)
{
	static int seq;
	snprintf(buf, cap, "/tmp/gnet-check-client-%d-%s-%d.sock", (int)getpid(),
	    tag, seq++);
	unlink(buf);
}

/* ------------------------------------------------------------------------
 * The echo server engine (streams, datagrams, or frames with a codec).
 */
typedef struct srv {
	size_t frame_len;       /* > 0: every on_traffic must be one frame */
	atomic_int opens, closes, dgrams;
	atomic_long bytes;
} srv_t;

static gnet_action_t srv_open(gnet_conn_t *c, void *udata)
{
	srv_t *sv = udata;
	LOOP_CHECK(gnet_conn_is_outbound(c) == 0);
	atomic_fetch_add(&sv->opens, 1);
	return GNET_NONE;
}

static gnet_action_t srv_traffic(gnet_conn_t *c, void *udata)
{
	srv_t *sv = udata;
	const void *data = NULL;
	size_t n = gnet_conn_peek(c, &data);

	LOOP_CHECK(gnet_conn_is_outbound(c) == 0);
	if (sv->frame_len > 0)
		LOOP_CHECK(n == sv->frame_len);
	if (n == 0)
		return GNET_NONE;
	LOOP_CHECK(gnet_conn_write(c, data, n) == (long)n);
	if (gnet_conn_is_udp(c))
		atomic_fetch_add(&sv->dgrams, 1);
	else
		LOOP_CHECK(gnet_conn_discard(c, n) == (long)n);
	atomic_fetch_add(&sv->bytes, (long)n);
	return GNET_NONE;
}

static void srv_close(gnet_conn_t *c, int reason, void *udata)
{
	srv_t *sv = udata;
	(void)reason;
	LOOP_CHECK(gnet_conn_is_outbound(c) == 0);
	atomic_fetch_add(&sv->closes, 1);
}

static const gnet_events_t srv_events = { .size = sizeof(gnet_events_t),
	.on_open = srv_open,
	.on_traffic = srv_traffic,
	.on_close = srv_close,
};

/* ------------------------------------------------------------------------
 * The client engine. Each dialled connection's context is a cconn_t (the
 * dial's ctx); the engine's udata is a cli_t saying what to do.
 */
typedef enum cli_kind {
	K_STREAM,   /* send tx[0..total) with a window, verify the echo */
	K_UDP,      /* total datagrams of DGRAM_BYTES, UDP_WINDOW in flight */
	K_FRAMES,   /* total frames of FRAME_BYTES through the codec */
	K_ECHO,     /* echo what arrives (adopted sockets, paused readers) */
	K_COLLECT   /* keep what arrives in rx */
} cli_kind_t;

typedef struct cconn {
	int idx;
	const uint8_t *tx;
	size_t total;           /* stream bytes, datagrams or frames */
	int pause_on_open;      /* K_ECHO: gnet_conn_set_reading(c, 0) in on_open */
	/* loop-only while the connection lives */
	size_t sent, recvd;
	unsigned char *seen;    /* K_UDP: sequence numbers received */
	uint8_t *rx;            /* K_COLLECT */
	size_t rx_cap;
	/* observed */
	atomic_int opens, closes, dial_errors, done, traffic_calls, msgs;
	atomic_int loop, fd, close_reason, nonblock, write_status, write_cbs;
	atomic_long rx_bytes;
	atomic_ullong handle;
} cconn_t;

typedef struct cli {
	cli_kind_t kind;
	atomic_int opens, closes, done, dial_errors, shutdown_errs;
	atomic_int last_err;
	atomic_long last_err_ms;
	atomic_uintptr_t last_err_ctx;
	atomic_int loop_opens[GNET_MAX_LOOPS];
} cli_t;

static void write_cb(gnet_conn_t *c, int status, void *cbdata)
{
	cconn_t *cc = cbdata;
	(void)c;
	atomic_store(&cc->write_status, status);
	atomic_fetch_add(&cc->write_cbs, 1);
}

static void stream_fill(gnet_conn_t *c, cconn_t *cc)
{
	while (cc->sent < cc->total && cc->sent - cc->recvd < STREAM_WINDOW) {
		size_t n = cc->total - cc->sent;
		size_t room = STREAM_WINDOW - (cc->sent - cc->recvd);
		if (n > room)
			n = room;
		if (n > STREAM_CHUNK)
			n = STREAM_CHUNK;
		long w = gnet_conn_write(c, cc->tx + cc->sent, n);
		LOOP_CHECK(w == (long)n);
		if (w != (long)n)
			return;
		cc->sent += n;
	}
}

/* Datagram `seq`: its sequence number, then pattern bytes. */
static const uint8_t *dgram_payload(const cconn_t *cc, uint32_t seq)
{
	return cc->tx + (size_t)seq * 16;
}

static void udp_send_next(gnet_conn_t *c, cconn_t *cc)
{
	uint8_t d[DGRAM_BYTES];
	uint32_t seq = (uint32_t)cc->sent;

	memcpy(d, &seq, sizeof seq);
	memcpy(d + sizeof seq, dgram_payload(cc, seq), DGRAM_BYTES - sizeof seq);
	LOOP_CHECK(gnet_conn_write(c, d, DGRAM_BYTES) == (long)DGRAM_BYTES);
	cc->sent++;
}

static const uint8_t *frame_payload(const cconn_t *cc, size_t k)
{
	return cc->tx + k * 64;
}

static void finish(gnet_conn_t *c, cli_t *cl, cconn_t *cc)
{
	atomic_store(&cc->done, 1);
	atomic_fetch_add(&cl->done, 1);
	LOOP_CHECK(gnet_conn_close(c) == 0);
}

static gnet_action_t cli_open(gnet_conn_t *c, void *udata)
{
	cli_t *cl = udata;
	cconn_t *cc = gnet_conn_context(c);
	int loop = gnet_conn_loop_index(c);

	LOOP_CHECK(cc != NULL);
	LOOP_CHECK(gnet_conn_is_outbound(c) == 1);
	LOOP_CHECK(loop == gnet_loop_current());
	if (cc == NULL)
		return GNET_CLOSE;
	atomic_store(&cc->loop, loop);
	atomic_store(&cc->fd, gnet_conn_fd(c));
	atomic_store(&cc->handle, gnet_conn_handle(c));
	atomic_store(&cc->nonblock, (fcntl(gnet_conn_fd(c), F_GETFL) & O_NONBLOCK) != 0);
	if (loop >= 0 && loop < GNET_MAX_LOOPS)
		atomic_fetch_add(&cl->loop_opens[loop], 1);
	switch (cl->kind) {
	case K_STREAM:
		stream_fill(c, cc);
		break;
	case K_UDP:
		LOOP_CHECK(gnet_conn_is_udp(c) == 1);
		while (cc->sent < cc->total && cc->sent < UDP_WINDOW)
			udp_send_next(c, cc);
		break;
	case K_FRAMES:
		for (size_t k = 0; k < cc->total; k++)
			LOOP_CHECK(gnet_conn_write(c, frame_payload(cc, k), FRAME_BYTES) ==
			    (long)FRAME_BYTES);
		cc->sent = cc->total;
		break;
	case K_ECHO:
		if (cc->pause_on_open)
			LOOP_CHECK(gnet_conn_set_reading(c, 0) == 0);
		break;
	case K_COLLECT:
		break;
	}
	/* Last: the test thread waits on these. */
	atomic_fetch_add(&cc->opens, 1);
	atomic_fetch_add(&cl->opens, 1);
	return GNET_NONE;
}

static gnet_action_t cli_traffic(gnet_conn_t *c, void *udata)
{
	cli_t *cl = udata;
	cconn_t *cc = gnet_conn_context(c);
	const uint8_t *data = NULL;
	size_t n = gnet_conn_peek(c, (const void **)&data);
	uint32_t seq;

	LOOP_CHECK(cc != NULL);
	LOOP_CHECK(gnet_conn_is_outbound(c) == 1);
	if (cc == NULL)
		return GNET_CLOSE;
	atomic_fetch_add(&cc->traffic_calls, 1);
	switch (cl->kind) {
	case K_STREAM:
		LOOP_CHECK(cc->recvd + n <= cc->sent);
		if (cc->recvd + n > cc->sent)
			return GNET_CLOSE;
		LOOP_CHECK(memcmp(data, cc->tx + cc->recvd, n) == 0);
		cc->recvd += n;
		gnet_conn_discard(c, n);
		if (cc->recvd == cc->total)
			finish(c, cl, cc);
		else
			stream_fill(c, cc);
		break;
	case K_UDP:
		LOOP_CHECK(n == DGRAM_BYTES);
		if (n != DGRAM_BYTES)
			return GNET_NONE;
		memcpy(&seq, data, sizeof seq);
		LOOP_CHECK(seq < cc->total && !cc->seen[seq]);
		if (seq >= cc->total || cc->seen[seq])
			return GNET_NONE;
		LOOP_CHECK(memcmp(data + sizeof seq, dgram_payload(cc, seq),
		    DGRAM_BYTES - sizeof seq) == 0);
		cc->seen[seq] = 1;
		cc->recvd++;
		if (cc->sent < cc->total)
			udp_send_next(c, cc);
		if (cc->recvd == cc->total)
			finish(c, cl, cc);
		break;
	case K_FRAMES:
		/* One call per whole frame, header stripped. */
		LOOP_CHECK(n == FRAME_BYTES);
		LOOP_CHECK(cc->recvd < cc->total);
		if (n != FRAME_BYTES || cc->recvd >= cc->total)
			return GNET_CLOSE;
		LOOP_CHECK(memcmp(data, frame_payload(cc, cc->recvd), n) == 0);
		cc->recvd++;
		if (cc->recvd == cc->total)
			finish(c, cl, cc);
		break;
	case K_ECHO:
		if (n > 0) {
			LOOP_CHECK(gnet_conn_write(c, data, n) == (long)n);
			gnet_conn_discard(c, n);
		}
		break;
	case K_COLLECT:
		LOOP_CHECK(cc->recvd + n <= cc->rx_cap);
		if (cc->recvd + n <= cc->rx_cap) {
			memcpy(cc->rx + cc->recvd, data, n);
			cc->recvd += n;
		}
		gnet_conn_discard(c, n);
		break;
	}
	atomic_fetch_add(&cc->rx_bytes, (long)n);
	return GNET_NONE;
}

static void cli_close(gnet_conn_t *c, int reason, void *udata)
{
	cli_t *cl = udata;
	cconn_t *cc = gnet_conn_context(c);

	LOOP_CHECK(gnet_conn_is_outbound(c) == 1);
	LOOP_CHECK(cc != NULL);
	if (cc != NULL) {
		atomic_store(&cc->close_reason, reason);
		atomic_fetch_add(&cc->closes, 1);
	}
	atomic_fetch_add(&cl->closes, 1);
}

static gnet_action_t cli_message(gnet_conn_t *c, const gnet_msg_t *m,
    void *udata)
{
	cconn_t *cc = gnet_conn_context(c);
	(void)udata;
	if (m->type == MSG_PAUSE)
		LOOP_CHECK(gnet_conn_set_reading(c, 0) == 0);
	else if (m->type == MSG_RESUME)
		LOOP_CHECK(gnet_conn_set_reading(c, 1) == 0);
	if (cc != NULL)
		atomic_fetch_add(&cc->msgs, 1);
	return GNET_NONE;
}

static void cli_dial_error(gnet_engine_t *eng, gnet_handle_t h, void *ctx,
    int err, void *udata)
{
	cli_t *cl = udata;
	cconn_t *cc = ctx;
	(void)eng;
	(void)h;
	atomic_store(&cl->last_err, err);
	atomic_store(&cl->last_err_ms, (long)tn_now_ms());
	atomic_store(&cl->last_err_ctx, (uintptr_t)ctx);
	if (err == GNET_ESHUTDOWN)
		atomic_fetch_add(&cl->shutdown_errs, 1);
	if (cc != NULL)
		atomic_fetch_add(&cc->dial_errors, 1);
	/* Last: the test thread waits on this counter. */
	atomic_fetch_add(&cl->dial_errors, 1);
}

static const gnet_events_t cli_events = { .size = sizeof(gnet_events_t),
	.on_open = cli_open,
	.on_traffic = cli_traffic,
	.on_close = cli_close,
	.on_message = cli_message,
	.on_dial_error = cli_dial_error,
};

static cli_t *cli_new(cli_kind_t kind)
{
	cli_t *cl = calloc(1, sizeof *cl);
	ck_assert_ptr_nonnull(cl);
	cl->kind = kind;
	return cl;
}

static cconn_t *cconns_new(int n, size_t total)
{
	cconn_t *cc = calloc((size_t)n, sizeof *cc);
	ck_assert_ptr_nonnull(cc);
	for (int i = 0; i < n; i++) {
		cc[i].idx = i;
		cc[i].tx = conn_tx(i);
		cc[i].total = total;
		atomic_store(&cc[i].loop, -1);
		atomic_store(&cc[i].fd, -1);
		atomic_store(&cc[i].write_status, 1);
	}
	return cc;
}

static void cconns_free(cconn_t *cc, int n)
{
	for (int i = 0; i < n; i++) {
		free(cc[i].seen);
		free(cc[i].rx);
	}
	free(cc);
}

/* Foreign-thread dial that must start. */
static void dial_ok(gnet_engine_t *eng, const char *addr, int loop, void *ctx,
    const gnet_codec_t *codec)
{
	gnet_dial_options_t o = { .size = sizeof(gnet_dial_options_t), .loop = loop, .ctx = ctx, .codec = codec };
	gnet_handle_t h = 1;
	int rc = gnet_engine_dial(eng, addr, &o, &h);
	ck_assert_msg(rc == 0, "gnet_engine_dial(%s, loop %d): %d (%s)", addr, loop, rc,
	    gnet_strerror(rc));
	/* From a foreign thread the handle is not known yet. */
	ck_assert_msg(h == GNET_HANDLE_NONE, "foreign dial set *out");
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
	srv_t *sv = calloc(1, sizeof *sv);
	cli_t *cl = cli_new(udp ? K_UDP : K_STREAM);
	size_t total = udp ? at_least(tn_scaled(DGRAMS_PER_CONN), UDP_WINDOW) :
	    at_least(tn_scaled(STREAM_BYTES), 4096);
	cconn_t *cc = cconns_new(N_CONNS, total);
	gnet_options_t copts = { .size = sizeof(gnet_options_t), .num_loops = tc->loops, .no_pin = 1 };

	loop_errors_reset();
	ck_assert_ptr_nonnull(sv);
	if (tc->net == NET_UNIX) {
		unix_path(path, sizeof path, "echo");
		snprintf(listen, sizeof listen, "unix://%s", path);
	} else {
		snprintf(listen, sizeof listen, "%s://127.0.0.1:0", udp ? "udp" : "tcp");
	}
	eng_start(&server, &srv_events, NULL, sv, listen, NULL);
	if (tc->net == NET_UNIX)
		snprintf(addr, sizeof addr, "%s", listen);
	else
		snprintf(addr, sizeof addr, "%s://127.0.0.1:%d", udp ? "udp" : "tcp",
		    server.port);
	for (int i = 0; i < N_CONNS; i++)
		if (udp)
			cc[i].seen = calloc(total, 1);
	eng_start(&client, &cli_events, &copts, cl, NULL, NULL);

	for (int i = 0; i < N_CONNS; i++)
		dial_ok(client.eng, addr,
		    tc->place == PLACE_EXPLICIT ? i % tc->loops : -1, &cc[i], NULL);

	TN_WAIT_UNTIL(ld(&cl->done) == N_CONNS || ld(&g_loop_errs.count) > 0, XFER_MS);
	assert_no_loop_errors();
	ck_assert_msg(ld(&cl->done) == N_CONNS,
	    "%s: %ld of %d connections finished (opens %ld, dial errors %ld, "
	    "last error %d)", tc->name, ld(&cl->done), N_CONNS, ld(&cl->opens),
	    ld(&cl->dial_errors), (int)ld(&cl->last_err));
	TN_WAIT_UNTIL(ld(&cl->closes) == N_CONNS, WAIT_MS);
	ck_assert_int_eq(ld(&cl->closes), N_CONNS);
	if (!udp) {
		TN_WAIT_UNTIL(ld(&sv->closes) == N_CONNS, WAIT_MS);
		ck_assert_int_eq(ld(&sv->opens), N_CONNS);
		ck_assert_int_eq(ld(&sv->closes), N_CONNS);
		ck_assert_int_eq(ldl(&sv->bytes), (long)(N_CONNS * total));
	} else {
		/* UDP has no connections on the server side. */
		ck_assert_int_eq(ld(&sv->opens), 0);
		ck_assert_int_eq(ld(&sv->dgrams), (int)(N_CONNS * total));
	}

	/* Placement. */
	int loops_used = 0;
	for (int l = 0; l < tc->loops; l++)
		loops_used += ld(&cl->loop_opens[l]) > 0;
	for (int i = 0; i < N_CONNS; i++) {
		ck_assert_int_eq(ld(&cc[i].opens), 1);
		ck_assert_uint_eq(cc[i].recvd, total);
		if (tc->place == PLACE_EXPLICIT || tc->loops == 1)
			ck_assert_msg(ld(&cc[i].loop) == i % tc->loops,
			    "connection %d on loop %ld, want %d", i, ld(&cc[i].loop),
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
		ck_assert_int_eq(ld(&cc[i].closes), 1);
		ck_assert_int_eq(ld(&cc[i].close_reason), 0);
		ck_assert_int_eq(ld(&cc[i].dial_errors), 0);
	}
	ck_assert_int_eq(ld(&cl->dial_errors), 0);
	assert_no_loop_errors();
	if (tc->net == NET_UNIX)
		unlink(path);
	cconns_free(cc, N_CONNS);
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
	srv_t *sv = calloc(1, sizeof *sv);
	cli_t *cl = cli_new(K_FRAMES);
	size_t frames = at_least(tn_scaled(FRAMES_PER_CONN), 4);
	cconn_t *cc = cconns_new(N_CONNS, frames);
	char addr[64];

	loop_errors_reset();
	ck_assert_ptr_nonnull(sv);
	ck_assert_int_eq(gnet_codec_new_length_field(&codec, &cfg), 0);
	sv->frame_len = FRAME_BYTES;
	gnet_options_t sopts = { .size = sizeof(gnet_options_t), .codec = codec };
	gnet_options_t copts = { .size = sizeof(gnet_options_t), .num_loops = 2, .no_pin = 1 };
	eng_start(&server, &srv_events, &sopts, sv, "tcp://127.0.0.1:0", NULL);
	eng_start(&client, &cli_events, &copts, cl, NULL, NULL);
	snprintf(addr, sizeof addr, "tcp://127.0.0.1:%d", server.port);
	for (int i = 0; i < N_CONNS; i++)
		dial_ok(client.eng, addr, i % 2, &cc[i], codec);

	TN_WAIT_UNTIL(ld(&cl->done) == N_CONNS || ld(&g_loop_errs.count) > 0, XFER_MS);
	assert_no_loop_errors();
	ck_assert_int_eq(ld(&cl->done), N_CONNS);
	for (int i = 0; i < N_CONNS; i++) {
		ck_assert_uint_eq(cc[i].recvd, frames);
		/* One on_traffic per frame. */
		ck_assert_int_eq(ld(&cc[i].traffic_calls), (int)frames);
	}
	ck_assert_int_eq(ldl(&sv->bytes), (long)(N_CONNS * frames * FRAME_BYTES));
	TN_WAIT_UNTIL(ld(&sv->closes) == N_CONNS, WAIT_MS);
	ck_assert_int_eq(ld(&sv->closes), N_CONNS);
	tn_server_close(&client);
	tn_server_close(&server);
	ck_assert_int_eq(ld(&cl->closes), N_CONNS);
	assert_no_loop_errors();
	gnet_codec_free(codec);
	cconns_free(cc, N_CONNS);
	free(cl);
	free(sv);
}
END_TEST

/* ------------------------------------------------------------------------
 * A proxy: the accepted connection dials the backend on its own loop and
 * the two relay to each other with plain calls.
 */
typedef struct px {
	char backend[64];
	atomic_int fronts, backs, closes, same_loop, dial_errors;
	atomic_int loop_backs[GNET_MAX_LOOPS];
} px_t;

typedef struct px_pair {
	gnet_handle_t front, back;
	int loop;
	int refs;               /* connections still holding the pair */
} px_pair_t;

static gnet_action_t px_open(gnet_conn_t *c, void *udata)
{
	px_t *px = udata;
	gnet_engine_t *eng = gnet_conn_engine(c);
	int loop = gnet_conn_loop_index(c);

	if (!gnet_conn_is_outbound(c)) {
		px_pair_t *p = calloc(1, sizeof *p);
		LOOP_CHECK(p != NULL);
		if (p == NULL)
			return GNET_CLOSE;
		p->front = gnet_conn_handle(c);
		p->loop = loop;
		p->refs = 2;
		gnet_conn_set_context(c, p);
		/* Hold the client until the backend is there. */
		LOOP_CHECK(gnet_conn_set_reading(c, 0) == 0);
		gnet_dial_options_t o = { .size = sizeof(gnet_dial_options_t), .loop = -1, .ctx = p };
		int rc = gnet_engine_dial(eng, px->backend, &o, &p->back);
		LOOP_CHECK(rc == 0);
		/* On a loop, loop -1 means this loop: the handle is known now. */
		LOOP_CHECK(p->back != GNET_HANDLE_NONE);
		if (rc != 0) {
			p->refs = 1;
			return GNET_CLOSE;
		}
		atomic_fetch_add(&px->fronts, 1);
		return GNET_NONE;
	}
	px_pair_t *p = gnet_conn_context(c);
	gnet_conn_t *front = NULL;
	LOOP_CHECK(p != NULL);
	if (p == NULL)
		return GNET_CLOSE;
	LOOP_CHECK(gnet_conn_handle(c) == p->back);
	if (loop == p->loop)
		atomic_fetch_add(&px->same_loop, 1);
	if (loop >= 0 && loop < GNET_MAX_LOOPS)
		atomic_fetch_add(&px->loop_backs[loop], 1);
	if (gnet_conn_lookup(eng, p->front, &front) == 0)
		LOOP_CHECK(gnet_conn_set_reading(front, 1) == 0);
	atomic_fetch_add(&px->backs, 1);
	return GNET_NONE;
}

static gnet_action_t px_traffic(gnet_conn_t *c, void *udata)
{
	px_pair_t *p = gnet_conn_context(c);
	gnet_conn_t *other = NULL;
	const void *data = NULL;
	size_t n = gnet_conn_peek(c, &data);
	(void)udata;

	if (p != NULL && n > 0 && gnet_conn_lookup(gnet_conn_engine(c),
	    gnet_conn_is_outbound(c) ? p->front : p->back, &other) == 0)
		LOOP_CHECK(gnet_conn_write(other, data, n) == (long)n);
	gnet_conn_discard(c, n);
	return GNET_NONE;
}

static void px_unref(px_pair_t *p)
{
	if (--p->refs == 0)
		free(p);
}

static void px_close(gnet_conn_t *c, int reason, void *udata)
{
	px_t *px = udata;
	px_pair_t *p = gnet_conn_context(c);
	gnet_conn_t *other = NULL;
	(void)reason;

	if (p != NULL) {
		if (gnet_conn_lookup(gnet_conn_engine(c),
		    gnet_conn_is_outbound(c) ? p->front : p->back, &other) == 0)
			gnet_conn_close(other);
		px_unref(p);
	}
	atomic_fetch_add(&px->closes, 1);
}

static void px_dial_error(gnet_engine_t *eng, gnet_handle_t h, void *ctx,
    int err, void *udata)
{
	px_t *px = udata;
	px_pair_t *p = ctx;
	gnet_conn_t *front = NULL;
	(void)h;
	(void)err;
	atomic_fetch_add(&px->dial_errors, 1);
	if (p == NULL)
		return;
	if (gnet_conn_lookup(eng, p->front, &front) == 0)
		gnet_conn_close(front);
	px_unref(p);
}

static const gnet_events_t px_events = { .size = sizeof(gnet_events_t),
	.on_open = px_open,
	.on_traffic = px_traffic,
	.on_close = px_close,
	.on_dial_error = px_dial_error,
};

START_TEST(test_dial_from_server_proxy)
{
	tn_server_t backend, proxy;
	srv_t *sv = calloc(1, sizeof *sv);
	px_t *px = calloc(1, sizeof *px);
	size_t bytes = at_least(tn_scaled(PROXY_BYTES), 4096);
	tn_client_t cl[PROXY_CLIENTS];
	gnet_options_t popts = { .size = sizeof(gnet_options_t), .num_loops = PROXY_LOOPS, .no_pin = 1 };

	loop_errors_reset();
	ck_assert_ptr_nonnull(sv);
	ck_assert_ptr_nonnull(px);
	eng_start(&backend, &srv_events, NULL, sv, "tcp://127.0.0.1:0", NULL);
	snprintf(px->backend, sizeof px->backend, "tcp://127.0.0.1:%d", backend.port);
	eng_start(&proxy, &px_events, &popts, px, "tcp://127.0.0.1:0", NULL);

	for (int i = 0; i < PROXY_CLIENTS; i++) {
		int fd = tn_connect(proxy.port);
		ck_assert_int_ge(fd, 0);
		tn_client_init(&cl[i], fd, conn_tx(i), bytes, NULL, 0);
	}
	int left = tn_pump(cl, PROXY_CLIENTS, XFER_MS);
	assert_no_loop_errors();
	ck_assert_msg(left == 0, "proxy: %s", tn_pump_error(cl, PROXY_CLIENTS));
	ck_assert_int_eq(ld(&px->fronts), PROXY_CLIENTS);
	ck_assert_int_eq(ld(&px->backs), PROXY_CLIENTS);
	ck_assert_int_eq(ld(&px->same_loop), PROXY_CLIENTS);
	ck_assert_int_eq(ld(&px->dial_errors), 0);
	/* The accepted connections were spread, so both loops dialled. */
	for (int l = 0; l < PROXY_LOOPS; l++)
		ck_assert_msg(ld(&px->loop_backs[l]) > 0, "no backend on loop %d", l);
	ck_assert_int_eq(ld(&sv->opens), PROXY_CLIENTS);
	ck_assert_int_eq(ldl(&sv->bytes), (long)(PROXY_CLIENTS * bytes));

	/* Closing the clients closes both legs of each pair. */
	for (int i = 0; i < PROXY_CLIENTS; i++)
		tn_close(&cl[i].fd);
	TN_WAIT_UNTIL(ld(&px->closes) == 2 * PROXY_CLIENTS &&
	    ld(&sv->closes) == PROXY_CLIENTS, WAIT_MS);
	ck_assert_int_eq(ld(&px->closes), 2 * PROXY_CLIENTS);
	ck_assert_int_eq(ld(&sv->closes), PROXY_CLIENTS);
	tn_server_close(&proxy);
	tn_server_close(&backend);
	ck_assert_int_eq(ld(&px->closes), 2 * PROXY_CLIENTS);
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
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof sin;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	*fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(*fd, 0);
	ck_assert_int_eq(bind(*fd, (struct sockaddr *)&sin, sizeof sin), 0);
	ck_assert_int_eq(getsockname(*fd, (struct sockaddr *)&sin, &len), 0);
	return ntohs(sin.sin_port);
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
	cli_t *cl = cli_new(K_COLLECT);
	cconn_t *cc = cconns_new(1, 0);
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
	eng_start(&client, &cli_events, &copts, cl, NULL, &dialer);
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
		dial_ok(client.eng, r->addr, -1, cc, NULL);
	}
	if (direct == 0) {
		TN_WAIT_UNTIL(ld(&cl->dial_errors) > 0, 2 * PROMPT_MS);
		ck_assert_msg(ld(&cl->dial_errors) == 1, "%s: %ld on_dial_error",
		    fc->name, ld(&cl->dial_errors));
		t1 = ldl(&cl->last_err_ms);
		ck_assert_msg(ld(&cl->last_err) == fc->want, "%s: error %d (%s), want %d",
		    fc->name, (int)ld(&cl->last_err),
		    gnet_strerror((int)ld(&cl->last_err)), fc->want);
		ck_assert(atomic_load(&cl->last_err_ctx) == (uintptr_t)cc);
	} else {
		t1 = ldl(&r->done_ms);
	}
	ck_assert_msg(t1 - t0 <= PROMPT_MS, "%s: reported after %lld ms", fc->name,
	    (long long)(t1 - t0));
	tn_server_close(&client);
	/* Exactly one report in all; never opened. */
	ck_assert_int_eq((direct != 0) + ld(&cl->dial_errors), 1);
	ck_assert_int_eq(ld(&cl->opens), 0);
	ck_assert_int_eq(ld(&cl->closes), 0);
	assert_no_loop_errors();
	tn_close(&pfd);
	free(r);
	cconns_free(cc, 1);
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
	cli_t *cl = cli_new(K_COLLECT);
	gnet_options_t copts = { .size = sizeof(gnet_options_t), .num_loops = 2, .no_pin = 1 };

	loop_errors_reset();
	eng_start(&client, &cli_events, &copts, cl, NULL, &dialer);
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
	ck_assert_int_eq(ld(&cl->dial_errors), 0);
	ck_assert_int_eq(ld(&cl->opens), 0);
	assert_no_loop_errors();
	free(cl);
}
END_TEST

/* ------------------------------------------------------------------------
 * A listener that never completes a connect: listen(fd, 0) with its
 * accept queue filled by connects nobody accepts. Later SYNs are dropped.
 */
typedef struct full_backlog {
	int lfd, port;
	int fill[BACKLOG_FILL];
} full_backlog_t;

static void full_backlog_open(full_backlog_t *fb)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof sin;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fb->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fb->lfd, 0);
	ck_assert_int_eq(bind(fb->lfd, (struct sockaddr *)&sin, sizeof sin), 0);
	ck_assert_int_eq(listen(fb->lfd, 0), 0);
	ck_assert_int_eq(getsockname(fb->lfd, (struct sockaddr *)&sin, &len), 0);
	fb->port = ntohs(sin.sin_port);
	for (int i = 0; i < BACKLOG_FILL; i++) {
		fb->fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		ck_assert_int_ge(fb->fill[i], 0);
		int rc = connect(fb->fill[i], (struct sockaddr *)&sin, sizeof sin);
		ck_assert(rc == 0 || errno == EINPROGRESS);
	}
	/* The first one completes (it sits in the accept queue). */
	struct pollfd pfd = { .fd = fb->fill[0], .events = POLLOUT };
	ck_assert_int_eq(poll(&pfd, 1, WAIT_MS), 1);
}

static void full_backlog_close(full_backlog_t *fb)
{
	for (int i = 0; i < BACKLOG_FILL; i++)
		tn_close(&fb->fill[i]);
	tn_close(&fb->lfd);
}

START_TEST(test_dial_connect_timeout)
{
	full_backlog_t fb;
	tn_server_t client;
	cli_t *cl = cli_new(K_COLLECT);
	cconn_t *cc = cconns_new(1, 0);
	gnet_options_t copts = { .size = sizeof(gnet_options_t), .num_loops = 1, .no_pin = 1 };
	char addr[64];

	loop_errors_reset();
	full_backlog_open(&fb);
	snprintf(addr, sizeof addr, "tcp://127.0.0.1:%d", fb.port);
	eng_start(&client, &cli_events, &copts, cl, NULL, NULL);
	gnet_dial_options_t o = { .size = sizeof(gnet_dial_options_t), .loop = -1, .ctx = cc,
	    .connect_timeout_ms = TIMEOUT_MS };
	int64_t t0 = tn_now_ms();
	ck_assert_int_eq(gnet_engine_dial(client.eng, addr, &o, NULL), 0);
	TN_WAIT_UNTIL(ld(&cl->dial_errors) > 0, TIMEOUT_MAX_MS + WAIT_MS);
	ck_assert_msg(ld(&cl->dial_errors) == 1, "%ld on_dial_error, opens %ld",
	    ld(&cl->dial_errors), ld(&cl->opens));
	long dt = (long)(ldl(&cl->last_err_ms) - t0);
	ck_assert_msg(ld(&cl->last_err) == -ETIMEDOUT, "error %d (%s), want -ETIMEDOUT",
	    (int)ld(&cl->last_err), gnet_strerror((int)ld(&cl->last_err)));
	ck_assert_msg(dt >= TIMEOUT_MS && dt <= TIMEOUT_MAX_MS,
	    "timed out after %ld ms, want %d..%d", dt, TIMEOUT_MS, TIMEOUT_MAX_MS);
	ck_assert(atomic_load(&cl->last_err_ctx) == (uintptr_t)cc);
	tn_server_close(&client);
	ck_assert_int_eq(ld(&cl->dial_errors), 1);
	ck_assert_int_eq(ld(&cl->opens), 0);
	ck_assert_int_eq(ld(&cl->closes), 0);
	assert_no_loop_errors();
	full_backlog_close(&fb);
	cconns_free(cc, 1);
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
	srv_t *sv = calloc(1, sizeof *sv);
	cli_t *cl = cli_new(K_COLLECT);
	cconn_t *cc = cconns_new(1, 0);
	dial_req_t *r = calloc(1, sizeof *r);
	gnet_options_t copts = { .size = sizeof(gnet_options_t), .num_loops = 2, .no_pin = 1 };

	loop_errors_reset();
	ck_assert_ptr_nonnull(sv);
	ck_assert_ptr_nonnull(r);
	cc->rx_cap = sizeof pre;
	cc->rx = calloc(1, cc->rx_cap);
	eng_start(&server, &srv_events, NULL, sv, "tcp://127.0.0.1:0", NULL);
	eng_start(&client, &cli_events, &copts, cl, NULL, &dialer);
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

	TN_WAIT_UNTIL(ldl(&cc->rx_bytes) == (long)sizeof pre, WAIT_MS);
	ck_assert_int_eq(ldl(&cc->rx_bytes), (long)sizeof pre);
	ck_assert_mem_eq(cc->rx, pre, sizeof pre);
	ck_assert_int_eq(ld(&cc->opens), 1);
	ck_assert_int_eq(ld(&cc->loop), 0);
	ck_assert(atomic_load(&cc->handle) == atomic_load(&r->handle));
	ck_assert_int_eq(ld(&cc->write_cbs), 1);
	ck_assert_int_eq(ld(&cc->write_status), 0);
	tn_server_close(&client);
	tn_server_close(&server);
	ck_assert_int_eq(ld(&cc->closes), 1);
	ck_assert_int_eq(ld(&cc->close_reason), GNET_ESHUTDOWN);
	ck_assert_int_eq(ld(&cl->dial_errors), 0);
	assert_no_loop_errors();
	free(r);
	cconns_free(cc, 1);
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
	full_backlog_t fb;
	tn_server_t client;
	gnet_handle_t dialer = GNET_HANDLE_NONE;
	cli_t *cl = cli_new(K_COLLECT);
	int ndials = _i == 0 ? 1 : STOP_DIALS;
	cconn_t *cc = cconns_new(ndials, 0);
	dial_req_t *r = calloc(1, sizeof *r);
	gnet_options_t copts = { .size = sizeof(gnet_options_t), .num_loops = 2, .no_pin = 1 };
	char addr[64];

	loop_errors_reset();
	ck_assert_ptr_nonnull(r);
	full_backlog_open(&fb);
	snprintf(addr, sizeof addr, "tcp://127.0.0.1:%d", fb.port);
	eng_start(&client, &cli_events, &copts, cl, NULL, &dialer);
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
		TN_WAIT_UNTIL(ld(&cc->write_cbs) == 1, WAIT_MS);
		ck_assert_int_eq(ld(&cc->write_cbs), 1);
		ck_assert_int_eq(ld(&cc->write_status), 0);
		ck_assert_int_eq(gnet_engine_conn_count(client.eng), 0);
	} else {
		for (int i = 0; i < ndials; i++) {
			gnet_dial_options_t o = { .size = sizeof(gnet_dial_options_t), .loop = -1, .ctx = &cc[i],
			    .connect_timeout_ms = -1 };
			ck_assert_int_eq(gnet_engine_dial(client.eng, addr, &o, NULL), 0);
		}
	}
	ck_assert_int_eq(ld(&cl->dial_errors), 0);
	tn_server_close(&client);
	ck_assert_msg(ld(&cl->dial_errors) == ndials, "%ld reports for %d dials",
	    ld(&cl->dial_errors), ndials);
	ck_assert_msg(ld(&cl->shutdown_errs) == ndials,
	    "%ld of %d reports were GNET_ESHUTDOWN (last error %d: %s)",
	    ld(&cl->shutdown_errs), ndials, (int)ld(&cl->last_err),
	    gnet_strerror((int)ld(&cl->last_err)));
	for (int i = 0; i < ndials; i++)
		ck_assert_int_eq(ld(&cc[i].dial_errors), 1);
	ck_assert_int_eq(ld(&cl->opens), 0);
	ck_assert_int_eq(ld(&cl->closes), 0);
	if (_i == 0)
		ck_assert_int_eq(ld(&cc->write_cbs), 1);
	assert_no_loop_errors();
	full_backlog_close(&fb);
	free(r);
	cconns_free(cc, ndials);
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
	cli_t *cl = cli_new(K_ECHO);
	cconn_t *cc = cconns_new(1, 0);
	gnet_options_t copts = { .size = sizeof(gnet_options_t), .num_loops = 2, .no_pin = 1 };
	size_t n = 64 * 1024;
	uint8_t *back = malloc(n);
	int sv[2];

	loop_errors_reset();
	ck_assert_ptr_nonnull(back);
	/* Blocking ends: the library makes its end non-blocking. */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	eng_start(&client, &cli_events, &copts, cl, NULL, NULL);
	int rc = gnet_engine_adopt(client.eng, sv[0], _i == 0 ? 1 : -1, cc);
	ck_assert_msg(rc == 0, "gnet_engine_adopt: %d (%s)", rc, gnet_strerror(rc));
	TN_WAIT_UNTIL(ld(&cc->opens) == 1, WAIT_MS);
	ck_assert_int_eq(ld(&cc->opens), 1);
	if (_i == 0)
		ck_assert_int_eq(ld(&cc->loop), 1);
	ck_assert_int_eq(ld(&cc->nonblock), 1);
	ck_assert_uint_eq(tn_send_all(sv[1], conn_tx(3), n, WAIT_MS), n);
	ck_assert_uint_eq(tn_read_exact(sv[1], back, n, WAIT_MS), n);
	ck_assert_mem_eq(back, conn_tx(3), n);
	tn_close(&sv[1]);
	TN_WAIT_UNTIL(ld(&cc->closes) == 1, WAIT_MS);
	ck_assert_int_eq(ld(&cc->closes), 1);
	ck_assert_int_eq(ld(&cc->close_reason), GNET_EEOF);
	tn_server_close(&client);
	ck_assert_int_eq(ld(&cc->closes), 1);
	ck_assert_int_eq(ld(&cl->dial_errors), 0);
	assert_no_loop_errors();
	free(back);
	cconns_free(cc, 1);
	free(cl);
}
END_TEST

START_TEST(test_adopt_udp_refused)
{
	tn_server_t client;
	cli_t *cl = cli_new(K_ECHO);
	cconn_t *cc = cconns_new(1, 0);
	gnet_options_t copts = { .size = sizeof(gnet_options_t), .num_loops = 1, .no_pin = 1 };
	struct stat before, after;

	loop_errors_reset();
	eng_start(&client, &cli_events, &copts, cl, NULL, NULL);
	ck_assert_int_eq(gnet_engine_adopt(client.eng, -1, -1, cc), GNET_EINVAL);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &before), 0);
	int rc = gnet_engine_adopt(client.eng, fd, -1, cc);
	if (rc == 0) {
		TN_WAIT_UNTIL(ld(&cl->dial_errors) > 0, WAIT_MS);
		ck_assert_int_eq(ld(&cl->dial_errors), 1);
		ck_assert_int_eq(ld(&cl->last_err), GNET_EINVAL);
		ck_assert(atomic_load(&cl->last_err_ctx) == (uintptr_t)cc);
	} else {
		ck_assert_int_eq(rc, GNET_EINVAL);
	}
	tn_server_close(&client);
	ck_assert_int_eq((rc != 0) + ld(&cl->dial_errors), 1);
	ck_assert_int_eq(ld(&cl->opens), 0);
	/* The engine closed it: gone, or the number reused by another file. */
	ck_assert(fstat(fd, &after) != 0 ? errno == EBADF :
	    after.st_ino != before.st_ino || after.st_dev != before.st_dev);
	assert_no_loop_errors();
	cconns_free(cc, 1);
	free(cl);
}
END_TEST

/* ------------------------------------------------------------------------
 * gnet_conn_set_reading on a dialled connection (paused in on_open)
 * against a peer socket the test accepts.
 */
static int accept_within(int lfd, int ms)
{
	struct pollfd pfd = { .fd = lfd, .events = POLLIN };
	if (poll(&pfd, 1, ms) != 1)
		return -1;
	return accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
}

static int kernel_unread(cconn_t *cc)
{
	int v = -1;
	if (ioctl(atomic_load(&cc->fd), FIONREAD, &v) != 0)
		return -1;
	return v;
}

static void send_conn_msg(tn_server_t *s, cconn_t *cc, uint32_t type)
{
	int before = atomic_load(&cc->msgs);
	gnet_msg_t m = { .type = type };
	ck_assert_int_eq(gnet_actor_send(s->eng, atomic_load(&cc->handle), &m), 0);
	TN_WAIT_UNTIL(ld(&cc->msgs) > before, WAIT_MS);
	ck_assert_int_gt(ld(&cc->msgs), before);
}

/* Send PAUSE_BYTES while paused: they must stay in the kernel. */
static void check_paused(tn_server_t *s, cconn_t *cc, int peer, const uint8_t *p)
{
	int calls = atomic_load(&cc->traffic_calls);
	ck_assert_uint_eq(tn_send_all(peer, p, PAUSE_BYTES, WAIT_MS), PAUSE_BYTES);
	TN_WAIT_UNTIL(kernel_unread(cc) == (int)PAUSE_BYTES, WAIT_MS);
	ck_assert_int_eq(kernel_unread(cc), PAUSE_BYTES);
	/* The loop has run since (a message round trip), and for a while. */
	send_conn_msg(s, cc, MSG_NOP);
	TN_WAIT_UNTIL(ld(&cc->traffic_calls) != calls, QUIET_MS);
	ck_assert_int_eq(ld(&cc->traffic_calls), calls);
	ck_assert_int_eq(kernel_unread(cc), PAUSE_BYTES);
}

START_TEST(test_set_reading)
{
	tn_server_t client;
	cli_t *cl = cli_new(K_ECHO);
	cconn_t *cc = cconns_new(1, 0);
	gnet_options_t copts = { .size = sizeof(gnet_options_t), .num_loops = 1, .no_pin = 1 };
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof sin;
	uint8_t back[PAUSE_BYTES];
	char addr[64];

	loop_errors_reset();
	cc->pause_on_open = 1;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sin, sizeof sin), 0);
	ck_assert_int_eq(listen(lfd, 8), 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sin, &len), 0);
	snprintf(addr, sizeof addr, "tcp://127.0.0.1:%d", ntohs(sin.sin_port));
	eng_start(&client, &cli_events, &copts, cl, NULL, NULL);
	dial_ok(client.eng, addr, -1, cc, NULL);
	int peer = accept_within(lfd, WAIT_MS);
	ck_assert_int_ge(peer, 0);
	TN_WAIT_UNTIL(ld(&cc->opens) == 1, WAIT_MS);
	ck_assert_int_eq(ld(&cc->opens), 1);

	for (int round = 0; round < 2; round++) {
		const uint8_t *p = conn_tx(round);
		if (round > 0)
			send_conn_msg(&client, cc, MSG_PAUSE);
		check_paused(&client, cc, peer, p);
		send_conn_msg(&client, cc, MSG_RESUME);
		ck_assert_uint_eq(tn_read_exact(peer, back, PAUSE_BYTES, WAIT_MS),
		    PAUSE_BYTES);
		ck_assert_mem_eq(back, p, PAUSE_BYTES);
		ck_assert_int_eq(ldl(&cc->rx_bytes), (long)((round + 1) * PAUSE_BYTES));
	}
	tn_close(&peer);
	TN_WAIT_UNTIL(ld(&cc->closes) == 1, WAIT_MS);
	ck_assert_int_eq(ld(&cc->closes), 1);
	tn_server_close(&client);
	ck_assert_int_eq(ld(&cc->closes), 1);
	assert_no_loop_errors();
	tn_close(&lfd);
	cconns_free(cc, 1);
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
