/*
 * Outbound connections: dial and adopt. A dial becomes a connection
 * object at once, in the CONNECTING state, watching only writability;
 * the loop completes it when the socket turns writable (SO_ERROR tells
 * the outcome) or fails it when the connect timer fires. Either way the
 * program hears on_open or on_dial_error from the loop -- never from
 * inside the gnet_engine_dial call, so a handler dialling from a callback
 * is not re-entered.
 *
 * From another thread the request travels as a DIAL message to the
 * loop's dialer, the actor net/ keeps on every loop to open connections
 * handed to it (dials, adoptions, and sockets another loop accepted); on
 * the loop itself it starts right away and the handle is returned.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "net/addr.h"
#include "net/conn.h"

/* Connect timeout when the program sets none: long enough for a slow
 * network, short enough that a dead peer is noticed. */
#define DIAL_DEFAULT_TIMEOUT_MS 10000

typedef struct gnet__dial_req {
	gnet__addr_t addr;
	int fd;                 /* adopt: the connected socket; dial: -1 */
	int timeout_ms;
	const gnet_codec_t *codec;
	void *ctx;
} gnet__dial_req_t;

static void
report_failure(gnet_engine_t *eng, const gnet__dial_req_t *r, int err)
{
	if (eng->ev.on_dial_error != NULL)
		eng->ev.on_dial_error(eng, GNET_HANDLE_NONE, r->ctx, err,
		    eng->udata);
}

/* Start a dial or adoption on nl's loop. Returns 0 (the outcome will be
 * reported) or an error (nothing was created; the caller reports it). */
static int
dial_start(gnet__net_loop_t *nl, gnet__dial_req_t *r, gnet_handle_t *out)
{
	gnet__loop_t *l = nl->loop;
	unsigned flags = GNET__C_OUTBOUND;
	gnet_conn_t *c;
	int fd = r->fd, rc = 0;

	if (l->stopping) {
		if (fd >= 0)
			close(fd);
		return GNET_ESHUTDOWN;
	}
	if (fd >= 0) {
		int type = 0;
		socklen_t tlen = sizeof(type);
		/* Only connected streams can be adopted: a UDP socket or a
		 * listener would be misread as a byte stream. */
		if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) < 0 ||
		    type != SOCK_STREAM ||
		    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
			close(fd);
			return GNET_EINVAL;
		}
	} else {
		int type = r->addr.net == GNET__NET_UDP ? SOCK_DGRAM : SOCK_STREAM;
		fd = socket(r->addr.ss.ss_family,
		    type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		if (connect(fd, (struct sockaddr *)&r->addr.ss,
		    r->addr.len) < 0 &&
		    errno != EINPROGRESS) {
			/* A unix listener with a full backlog says EAGAIN;
			 * everything here is final (refused, no such file). */
			rc = -errno;
			close(fd);
			return rc;
		}
		if (type == SOCK_DGRAM) {
			flags |= GNET__C_UDP;
			rc = gnet__udp_prepare(nl);
			if (rc != 0) {
				close(fd);
				return rc;
			}
		}
	}
	/* Adopted sockets are connected already; dials complete on the
	 * loop, even when connect() succeeded at once, so on_open never runs
	 * inside gnet_engine_dial. */
	c = gnet__conn_new(nl, &nl->net->bh, fd, flags, GNET__CS_CONNECTING);
	if (c == NULL) {
		close(fd);
		return GNET_ENOMEM;
	}
	gnet__conn_fetch_addr(c, GNET__ADDR_LOCAL);
	c->ctx = r->ctx;
	if (r->codec != NULL && gnet__conn_attach_codec(c, r->codec) != 0) {
		gnet__conn_abort(c, GNET_ENOMEM);
	}
	atomic_fetch_add_explicit(&nl->live, 1, memory_order_relaxed);
	gnet__conn_sync_events(c);
	if (r->fd < 0 && r->timeout_ms > 0)
		(void)gnet__conn_timer(c, GNET__MSG_CONNECT_TIMEOUT, gnet__now_ns() +
		    (uint64_t)r->timeout_ms * GNET__NS_PER_MS);
	if (out != NULL)
		*out = c->handle;
	return 0;
}

/* The dialer kind's messages: a dial or adoption for this loop, or a
 * socket another loop accepted for it. */
static void
dialer_receive(gnet__loop_t *l, void *obj, const gnet_msg_t *m)
{
	gnet__net_loop_t *nl = obj;

	if (m->type == GNET__MSG_ADOPT) {
		gnet__conn_adopt(nl, (int)m->a, (int)m->b, NULL, 0);
	} else if (m->type == GNET__MSG_DIAL) {
		gnet__dial_req_t *r = (gnet__dial_req_t *)(uintptr_t)m->a;
		int rc = dial_start(nl, r, NULL);
		if (rc != 0)
			report_failure(l->eng, r, rc);
		free(r);
	}
}

const gnet__kind_t gnet__dialer_kind = {
	.name = "dialer",
	.receive = dialer_receive,
};

void
gnet__dialer_dropped(gnet_engine_t *eng, gnet__loop_t *l, const gnet_msg_t *m)
{
	gnet__dial_req_t *r = (gnet__dial_req_t *)(uintptr_t)m->a;

	(void)l;
	if (r->fd >= 0)
		close(r->fd);
	report_failure(eng, r, GNET_ESHUTDOWN);
	free(r);
}

/* Hand the request to its loop: directly when we run on it. */
static int
submit(gnet_engine_t *eng, gnet__dial_req_t *r, int loop, gnet_handle_t *out)
{
	gnet__loop_t *self = gnet__self_loop(eng);
	gnet_msg_t m = { .type = GNET__MSG_DIAL };
	int rc;

	if (atomic_load(&eng->state) >= GNET__ENG_STOPPING ||
	    atomic_load(&eng->stop_requested)) {
		rc = GNET_ESHUTDOWN;
		goto fail;
	}
	if (loop >= eng->nloops) {
		rc = GNET_EINVAL;
		goto fail;
	}
	if (loop < 0)
		loop = self != NULL ? self->index :
		    (int)(atomic_fetch_add(&gnet__net_of(eng)->dial_rr, 1) %
		    (unsigned)eng->nloops);
	if (self != NULL && self->index == loop) {
		rc = dial_start(gnet__net_loop(self), r, out);
		free(r);
		return rc;
	}
	m.to = gnet__net_loop(eng->loops[loop])->dialer;
	m.a = (uint64_t)(uintptr_t)r;
	rc = gnet__send(eng, &m);
	if (rc == 0)
		return 0;
fail:
	if (r->fd >= 0)
		close(r->fd);
	free(r);
	return rc;
}

int
gnet_engine_dial(gnet_engine_t *eng, const char *addr,
    const gnet_dial_options_t *opts,
    gnet_handle_t *out)
{
	gnet__dial_req_t *r;
	int rc, loop = -1;

	if (out != NULL)
		*out = GNET_HANDLE_NONE;
	if (eng == NULL)
		return GNET_EINVAL;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return GNET_ENOMEM;
	rc = gnet__addr_parse(addr, &r->addr);
	if (rc != 0) {
		free(r);
		return rc;
	}
	r->fd = -1;
	r->timeout_ms = DIAL_DEFAULT_TIMEOUT_MS;
	if (opts != NULL) {
		gnet_dial_options_t o;
		rc = gnet__struct_in(&o, sizeof(o),
		    GNET__SIZE_THROUGH(gnet_dial_options_t, ctx), opts);
		if (rc != 0) {
			free(r);
			return rc;
		}
		if (o.connect_timeout_ms != 0)
			r->timeout_ms = o.connect_timeout_ms;
		r->codec = o.codec;
		r->ctx = o.ctx;
		loop = o.loop;
	}
	return submit(eng, r, loop, out);
}

int
gnet_engine_adopt(gnet_engine_t *eng, int fd, int loop, void *ctx)
{
	gnet__dial_req_t *r;

	if (eng == NULL || fd < 0) {
		if (fd >= 0)
			close(fd);
		return GNET_EINVAL;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		close(fd);
		return GNET_ENOMEM;
	}
	r->fd = fd;
	r->ctx = ctx;
	return submit(eng, r, loop, NULL);
}
