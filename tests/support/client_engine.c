/*
 * client_engine.c -- dialled connections that check what comes back, and
 * a dialer actor (see client_engine.h).
 */
#include "client_engine.h"

#include <check.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#define LOOP_CHECK(cl, cond) TN_LOOP_CHECK((cl)->errs, cond)

#define CLIENT_MSG_DIAL (GNET_MSG_USER + 1)
#define DIAL_WAIT_MS 5000       /* for the dialer actor to have run */

/* ------------------------------------------------------------------------
 * Loop side.
 */
static void
write_cb(gnet_conn_t *c, int status, void *cbdata)
{
	client_conn_t *cc = cbdata;
	(void)c;

	atomic_store(&cc->write_status, status);
	atomic_fetch_add(&cc->write_cbs, 1);
}

static void
stream_fill(client_engine_t *cl, gnet_conn_t *c, client_conn_t *cc)
{
	while (cc->sent < cc->total &&
	    cc->sent - cc->recvd < CLIENT_STREAM_WINDOW) {
		size_t n = cc->total - cc->sent;
		size_t room = CLIENT_STREAM_WINDOW - (cc->sent - cc->recvd);
		if (n > room)
			n = room;
		if (n > CLIENT_STREAM_CHUNK)
			n = CLIENT_STREAM_CHUNK;
		long w = gnet_conn_write(c, cc->tx + cc->sent, n);
		LOOP_CHECK(cl, w == (long)n);
		if (w != (long)n)
			return;
		cc->sent += n;
	}
}

/* Datagram `seq`: its sequence number, then pattern bytes. */
static const uint8_t *
dgram_payload(const client_conn_t *cc, uint32_t seq)
{
	return cc->tx + (size_t)seq * 16;
}

static void
udp_send_next(client_engine_t *cl, gnet_conn_t *c, client_conn_t *cc)
{
	uint8_t d[CLIENT_DGRAM_BYTES];
	uint32_t seq = (uint32_t)cc->sent;

	memcpy(d, &seq, sizeof seq);
	memcpy(d + sizeof seq, dgram_payload(cc, seq),
	    CLIENT_DGRAM_BYTES - sizeof seq);
	LOOP_CHECK(cl, gnet_conn_write(c, d, CLIENT_DGRAM_BYTES) ==
	    (long)CLIENT_DGRAM_BYTES);
	cc->sent++;
}

static const uint8_t *
frame_payload(const client_conn_t *cc, size_t k)
{
	return cc->tx + k * 64;
}

static void
finish(gnet_conn_t *c, client_engine_t *cl, client_conn_t *cc)
{
	atomic_store(&cc->done, 1);
	atomic_fetch_add(&cl->done, 1);
	LOOP_CHECK(cl, gnet_conn_close(c) == 0);
}

static gnet_action_t
client_on_open(gnet_conn_t *c, void *udata)
{
	client_engine_t *cl = udata;
	client_conn_t *cc = gnet_conn_context(c);
	int loop = gnet_conn_loop_index(c);

	LOOP_CHECK(cl, cc != NULL);
	LOOP_CHECK(cl, gnet_conn_is_outbound(c) == 1);
	LOOP_CHECK(cl, loop == gnet_loop_current());
	if (cc == NULL)
		return GNET_CLOSE;
	atomic_store(&cc->loop, loop);
	atomic_store(&cc->fd, gnet_conn_fd(c));
	atomic_store(&cc->handle, gnet_conn_handle(c));
	atomic_store(&cc->nonblock,
	    (fcntl(gnet_conn_fd(c), F_GETFL) & O_NONBLOCK) != 0);
	if (loop >= 0 && loop < GNET_MAX_LOOPS)
		atomic_fetch_add(&cl->loop_opens[loop], 1);
	switch (cl->kind) {
	case CLIENT_STREAM:
		stream_fill(cl, c, cc);
		break;
	case CLIENT_UDP:
		LOOP_CHECK(cl, gnet_conn_is_udp(c) == 1);
		while (cc->sent < cc->total && cc->sent < CLIENT_UDP_WINDOW)
			udp_send_next(cl, c, cc);
		break;
	case CLIENT_FRAMES:
		for (size_t k = 0; k < cc->total; k++)
			LOOP_CHECK(cl, gnet_conn_write(c, frame_payload(cc, k),
			    CLIENT_FRAME_BYTES) == (long)CLIENT_FRAME_BYTES);
		cc->sent = cc->total;
		break;
	case CLIENT_ECHO:
		if (cc->pause_on_open)
			LOOP_CHECK(cl, gnet_conn_set_reading(c, 0) == 0);
		break;
	case CLIENT_COLLECT:
		break;
	}
	/* Last: the test thread waits on these. */
	atomic_fetch_add(&cc->opens, 1);
	atomic_fetch_add(&cl->opens, 1);
	return GNET_NONE;
}

static gnet_action_t
client_on_traffic(gnet_conn_t *c, void *udata)
{
	client_engine_t *cl = udata;
	client_conn_t *cc = gnet_conn_context(c);
	const uint8_t *data = NULL;
	size_t n = gnet_conn_peek(c, (const void **)&data);
	uint32_t seq;

	LOOP_CHECK(cl, cc != NULL);
	LOOP_CHECK(cl, gnet_conn_is_outbound(c) == 1);
	if (cc == NULL)
		return GNET_CLOSE;
	atomic_fetch_add(&cc->traffic_calls, 1);
	switch (cl->kind) {
	case CLIENT_STREAM:
		LOOP_CHECK(cl, cc->recvd + n <= cc->sent);
		if (cc->recvd + n > cc->sent)
			return GNET_CLOSE;
		LOOP_CHECK(cl, memcmp(data, cc->tx + cc->recvd, n) == 0);
		cc->recvd += n;
		gnet_conn_discard(c, n);
		if (cc->recvd == cc->total)
			finish(c, cl, cc);
		else
			stream_fill(cl, c, cc);
		break;
	case CLIENT_UDP:
		LOOP_CHECK(cl, n == CLIENT_DGRAM_BYTES);
		if (n != CLIENT_DGRAM_BYTES)
			return GNET_NONE;
		memcpy(&seq, data, sizeof seq);
		LOOP_CHECK(cl, seq < cc->total && !cc->seen[seq]);
		if (seq >= cc->total || cc->seen[seq])
			return GNET_NONE;
		LOOP_CHECK(cl, memcmp(data + sizeof seq, dgram_payload(cc, seq),
		    CLIENT_DGRAM_BYTES - sizeof seq) == 0);
		cc->seen[seq] = 1;
		cc->recvd++;
		if (cc->sent < cc->total)
			udp_send_next(cl, c, cc);
		if (cc->recvd == cc->total)
			finish(c, cl, cc);
		break;
	case CLIENT_FRAMES:
		/* One call per whole frame, header stripped. */
		LOOP_CHECK(cl, n == CLIENT_FRAME_BYTES);
		LOOP_CHECK(cl, cc->recvd < cc->total);
		if (n != CLIENT_FRAME_BYTES || cc->recvd >= cc->total)
			return GNET_CLOSE;
		LOOP_CHECK(cl, memcmp(data, frame_payload(cc, cc->recvd), n) == 0);
		cc->recvd++;
		if (cc->recvd == cc->total)
			finish(c, cl, cc);
		break;
	case CLIENT_ECHO:
		/* Counted before the reply: one of 2 KiB or more goes to the
		 * socket inside gnet_conn_write, and a peer that has read it
		 * must find the count raised already. */
		atomic_fetch_add(&cc->rx_bytes, (long)n);
		if (n > 0) {
			LOOP_CHECK(cl, gnet_conn_write(c, data, n) == (long)n);
			gnet_conn_discard(c, n);
		}
		return GNET_NONE;
	case CLIENT_COLLECT:
		LOOP_CHECK(cl, cc->recvd + n <= cc->rx_cap);
		if (cc->recvd + n <= cc->rx_cap) {
			memcpy(cc->rx + cc->recvd, data, n);
			cc->recvd += n;
		}
		gnet_conn_discard(c, n);
		break;
	}
	/* Counted last: a test that sees the count reads what was kept. */
	atomic_fetch_add(&cc->rx_bytes, (long)n);
	return GNET_NONE;
}

static void
client_on_close(gnet_conn_t *c, int reason, void *udata)
{
	client_engine_t *cl = udata;
	client_conn_t *cc = gnet_conn_context(c);

	LOOP_CHECK(cl, gnet_conn_is_outbound(c) == 1);
	LOOP_CHECK(cl, cc != NULL);
	if (cc != NULL) {
		atomic_store(&cc->close_reason, reason);
		atomic_fetch_add(&cc->closes, 1);
	}
	atomic_fetch_add(&cl->closes, 1);
}

static gnet_action_t
client_on_message(gnet_conn_t *c, const gnet_msg_t *m, void *udata)
{
	client_engine_t *cl = udata;
	client_conn_t *cc = gnet_conn_context(c);

	if (m->type == CLIENT_MSG_PAUSE)
		LOOP_CHECK(cl, gnet_conn_set_reading(c, 0) == 0);
	else if (m->type == CLIENT_MSG_RESUME)
		LOOP_CHECK(cl, gnet_conn_set_reading(c, 1) == 0);
	if (cc != NULL)
		atomic_fetch_add(&cc->msgs, 1);
	return GNET_NONE;
}

static void
client_on_dial_error(gnet_engine_t *eng, gnet_handle_t h, void *ctx,
    int err, void *udata)
{
	client_engine_t *cl = udata;
	client_conn_t *cc = ctx;
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

const gnet_events_t client_engine_events = { .size = sizeof(gnet_events_t),
	.on_open = client_on_open,
	.on_traffic = client_on_traffic,
	.on_close = client_on_close,
	.on_message = client_on_message,
	.on_dial_error = client_on_dial_error,
};

/* The dialer actor; its state is the client engine. */
static void
dialer_receive(gnet_actor_t *self, const gnet_msg_t *m)
{
	client_engine_t *cl = gnet_actor_state(self);
	gnet_engine_t *eng = gnet_actor_engine(self);
	dial_req_t *r = (dial_req_t *)(uintptr_t)m->a;
	gnet_handle_t h = 12345;

	if (m->type != CLIENT_MSG_DIAL || r == NULL)
		return;
	int rc;
	r->opts.size = sizeof r->opts;
	rc = gnet_engine_dial(eng, r->addr, &r->opts, &h);
	/* Called on the chosen loop: the handle is known at once. */
	LOOP_CHECK(cl, rc == 0 ? h != GNET_HANDLE_NONE : h == GNET_HANDLE_NONE);
	if (rc == 0 && h != GNET_HANDLE_NONE)
		LOOP_CHECK(cl, (int)(h >> 56) == gnet_loop_current());
	atomic_store(&r->rc, rc);
	atomic_store(&r->handle, h);
	if (rc == 0 && r->pre != NULL) {
		atomic_store(&r->opens_at_write, atomic_load(r->opens));
		atomic_store(&r->wrc, gnet_conn_write_async(eng, h, r->pre,
		    r->pre_len, write_cb, r->pre_cbdata));
	}
	atomic_store(&r->done_ms, (long)tn_now_ms());
	atomic_store(&r->done, 1);
}

/* ------------------------------------------------------------------------
 * Test side.
 */
client_engine_t *
client_engine_new(client_kind_t kind, tn_loop_errors_t *errs)
{
	client_engine_t *cl = calloc(1, sizeof *cl);

	ck_assert_ptr_nonnull(cl);
	cl->kind = kind;
	cl->errs = errs;
	return cl;
}

client_conn_t *
client_conns_new(int n, size_t total, const uint8_t *pattern, size_t stride)
{
	client_conn_t *cc = calloc((size_t)n, sizeof *cc);

	ck_assert_ptr_nonnull(cc);
	for (int i = 0; i < n; i++) {
		cc[i].idx = i;
		cc[i].tx = pattern + (size_t)i * stride;
		cc[i].total = total;
		atomic_store(&cc[i].loop, -1);
		atomic_store(&cc[i].fd, -1);
		atomic_store(&cc[i].write_status, 1);
	}
	return cc;
}

void
client_conns_free(client_conn_t *cc, int n)
{
	for (int i = 0; i < n; i++) {
		free(cc[i].seen);
		free(cc[i].rx);
	}
	free(cc);
}

void
client_engine_start(tn_server_t *s, client_engine_t *cl,
    const gnet_options_t *opts, gnet_handle_t *dialer)
{
	tn_server_new(s, &client_engine_events, opts, cl);
	if (dialer != NULL) {
		gnet_actor_def_t def = { .size = sizeof(gnet_actor_def_t),
			.receive = dialer_receive, .state = cl };
		int rc = gnet_actor_spawn(s->eng, 0, &def, dialer);
		ck_assert_msg(rc == 0, "gnet_actor_spawn: %d (%s)", rc,
		    gnet_strerror(rc));
	}
	tn_server_run(s);
}

void
client_dial_ok(gnet_engine_t *eng, const char *addr, int loop, void *ctx,
    const gnet_codec_t *codec)
{
	gnet_dial_options_t o = { .size = sizeof(gnet_dial_options_t),
		.loop = loop, .ctx = ctx, .codec = codec };
	gnet_handle_t h = 1;
	int rc = gnet_engine_dial(eng, addr, &o, &h);

	ck_assert_msg(rc == 0, "gnet_engine_dial(%s, loop %d): %d (%s)", addr,
	    loop, rc, gnet_strerror(rc));
	/* From a foreign thread the handle is not known yet. */
	ck_assert_msg(h == GNET_HANDLE_NONE, "foreign dial set *out");
}

void
dial_on_loop(tn_server_t *s, gnet_handle_t dialer, dial_req_t *r)
{
	gnet_msg_t m = { .type = CLIENT_MSG_DIAL, .a = (uint64_t)(uintptr_t)r };

	ck_assert_int_eq(gnet_actor_send(s->eng, dialer, &m), 0);
	TN_WAIT_UNTIL(atomic_load(&r->done), DIAL_WAIT_MS);
	ck_assert_msg(atomic_load(&r->done), "dialer actor did not run");
}
