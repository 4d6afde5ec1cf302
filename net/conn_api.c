/*
 * Public connection functions. Loop-only functions check that they run on
 * the connection's loop; the check is one thread-local load.
 */
#include <stdlib.h>
#include <string.h>
#include "actors/actors.h"
#include "net/conn.h"

static int
owner_ok(const gnet_conn_t *c)
{
	return c != NULL && gnet__tls_loop == c->loop;
}

#define OWNER_OR_RETURN(c, err)             \
	do {                                \
		if ((c) == NULL)            \
			return GNET_EINVAL; \
		if (!owner_ok(c))           \
			return (err);       \
	} while (0)

size_t
gnet_conn_peek(gnet_conn_t *c, const void **data)
{
	if (data != NULL)
		*data = NULL;
	if (!owner_ok(c) || data == NULL)
		return 0;
	*data = c->rp;
	return c->rlen;
}

long
gnet_conn_read(gnet_conn_t *c, void *buf, size_t n)
{
	OWNER_OR_RETURN(c, GNET_ETHREAD);
	if (buf == NULL && n != 0)
		return GNET_EINVAL;
	if (n > c->rlen)
		n = c->rlen;
	if (n != 0)
		memcpy(buf, c->rp, n);
	gnet__conn_consume(c, n);
	return (long)n;
}

long
gnet_conn_discard(gnet_conn_t *c, size_t n)
{
	OWNER_OR_RETURN(c, GNET_ETHREAD);
	if (n > c->rlen)
		n = c->rlen;
	gnet__conn_consume(c, n);
	return (long)n;
}

size_t
gnet_conn_inbound_len(const gnet_conn_t *c)
{
	return owner_ok(c) ? c->rlen : 0;
}

long
gnet_conn_write(gnet_conn_t *c, const void *data, size_t n)
{
	OWNER_OR_RETURN(c, GNET_ETHREAD);
	if (data == NULL && n != 0)
		return GNET_EINVAL;
	if (gnet__conn_closing(c))
		return GNET_ECLOSED;
	{
		struct iovec iov = { (void *)(uintptr_t)data, n };
		int rc = gnet__conn_append(c, &iov, 1, n);
		return rc != 0 ? rc : (long)n;
	}
}

long
gnet_conn_writev(gnet_conn_t *c, const struct iovec *iov, int iovcnt)
{
	size_t total = 0;
	int i;

	OWNER_OR_RETURN(c, GNET_ETHREAD);
	if (iovcnt < 0 || (iov == NULL && iovcnt != 0))
		return GNET_EINVAL;
	if (gnet__conn_closing(c))
		return GNET_ECLOSED;
	for (i = 0; i < iovcnt; i++) {
		if (iov[i].iov_base == NULL && iov[i].iov_len != 0)
			return GNET_EINVAL;
		total += iov[i].iov_len;
	}
	i = gnet__conn_append(c, iov, iovcnt, total);
	return i != 0 ? i : (long)total;
}

int
gnet_conn_is_outbound(const gnet_conn_t *c)
{
	return owner_ok(c) && (c->flags & GNET__C_OUTBOUND) != 0;
}

int
gnet_conn_set_reading(gnet_conn_t *c, int on)
{
	OWNER_OR_RETURN(c, GNET_ETHREAD);
	if (on)
		c->flags &= ~(unsigned)GNET__C_USER_PAUSED;
	else
		c->flags |= GNET__C_USER_PAUSED;
	gnet__conn_sync_events(c);
	return 0;
}

/*
 * Deadlines. A program that moves its deadline on at every request (an
 * HTTP server's head timeout) must not leave a timer on the heap each
 * time: the connection keeps one timer, and a deadline moved later is
 * left to it -- when it fires early it sets itself again for the
 * deadline. Only a deadline moved earlier than the one stored adds a
 * timer; of two, the first to find the deadline due fires it and the
 * other finds nothing set. So there are never more timers than one plus
 * the deadlines moved earlier while one was pending.
 */
static uint32_t
now_ms(void)
{
	return (uint32_t)(gnet__now_ns() / GNET__NS_PER_MS);
}

/* a before b, modulo 2^32. */
static bool
ms_before(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

static int
arm_deadline(gnet_conn_t *c)
{
	uint64_t now = gnet__now_ns();
	uint32_t left = c->deadline_ms - (uint32_t)(now / GNET__NS_PER_MS);

	if ((int32_t)left < 0)
		left = 0;
	if (gnet__conn_timer(c, GNET__MSG_DEADLINE,
	    now + (uint64_t)left * GNET__NS_PER_MS) != 0)
		return GNET_ENOMEM;
	c->flags |= GNET__C_DEADLINE_TIMER;
	return 0;
}

int
gnet_conn_set_deadline(gnet_conn_t *c, unsigned ms)
{
	uint32_t at;
	bool earlier;

	OWNER_OR_RETURN(c, GNET_ETHREAD);
	if (gnet__conn_closing(c))
		return GNET_ECLOSED;
	if (ms == 0) {
		c->flags &= ~(unsigned)GNET__C_DEADLINE_SET;
		return 0;
	}
	if (ms > INT32_MAX)
		return GNET_EINVAL;
	at = now_ms() + ms;
	earlier = ms_before(at, c->deadline_ms);
	c->deadline_ms = at;
	c->flags |= GNET__C_DEADLINE_SET;
	if ((c->flags & GNET__C_DEADLINE_TIMER) && !earlier)
		return 0;
	return arm_deadline(c);
}

void
gnet__conn_deadline_due(gnet_conn_t *c)
{
	gnet_action_t a;

	c->flags &= ~(unsigned)GNET__C_DEADLINE_TIMER;
	if (!(c->flags & GNET__C_DEADLINE_SET) || gnet__conn_closing(c))
		return;
	if (ms_before(now_ms(), c->deadline_ms)) {
		/* Moved on since this timer was set. */
		if (arm_deadline(c) != 0)
			gnet__conn_abort(c, GNET_ENOMEM);
		return;
	}
	c->flags &= ~(unsigned)GNET__C_DEADLINE_SET;
	if (c->bh->ev.on_deadline == NULL) {
		gnet__conn_begin_close(c, GNET_ETIMEDOUT);
		return;
	}
	a = c->bh->ev.on_deadline(c, c->bh->udata);
	gnet__conn_after_callback(c, a);
}

void *
gnet_conn_codec_state(gnet_conn_t *c)
{
	return owner_ok(c) ? c->codec_state : NULL;
}

int
gnet_conn_set_codec(gnet_conn_t *c, const gnet_codec_t *codec)
{
	OWNER_OR_RETURN(c, GNET_ETHREAD);
	if (c->state == GNET__CS_CLOSED)
		return GNET_ECLOSED;
	if (c->flags & GNET__C_UDP)
		return GNET_EINVAL;
	return gnet__conn_attach_codec(c, codec);
}

size_t
gnet_conn_outbound_len(const gnet_conn_t *c)
{
	return owner_ok(c) ? gnet__conn_out_len(c) : 0;
}

int
gnet_conn_close(gnet_conn_t *c)
{
	OWNER_OR_RETURN(c, GNET_ETHREAD);
	gnet__conn_begin_close(c, 0);
	return 0;
}

int
gnet_conn_abort(gnet_conn_t *c)
{
	OWNER_OR_RETURN(c, GNET_ETHREAD);
	gnet__conn_abort(c, GNET_EABORTED);
	return 0;
}

void *
gnet_conn_context(const gnet_conn_t *c)
{
	return owner_ok(c) ? c->ctx : NULL;
}

void *
gnet_conn_state(const gnet_conn_t *c)
{
	if (!owner_ok(c) || c->bh->state_size == 0)
		return NULL;
	return (char *)c + GNET__CONN_STATE_OFFSET;
}

int
gnet_conn_set_context(gnet_conn_t *c, void *ctx)
{
	OWNER_OR_RETURN(c, GNET_ETHREAD);
	c->ctx = ctx;
	return 0;
}

gnet_handle_t
gnet_conn_handle(const gnet_conn_t *c)
{
	return owner_ok(c) ? c->handle : GNET_HANDLE_NONE;
}

gnet_engine_t *
gnet_conn_engine(const gnet_conn_t *c)
{
	return owner_ok(c) ? c->loop->eng : NULL;
}

int
gnet_conn_fd(const gnet_conn_t *c)
{
	return owner_ok(c) ? c->fd : GNET_ETHREAD;
}

int
gnet_conn_loop_index(const gnet_conn_t *c)
{
	OWNER_OR_RETURN(c, GNET_ETHREAD);
	return c->loop->index;
}

const struct sockaddr *
gnet_conn_local_addr(const gnet_conn_t *c, socklen_t *len)
{
	return owner_ok(c) ? gnet__conn_addr(c, GNET__ADDR_LOCAL, len) : NULL;
}

const struct sockaddr *
gnet_conn_remote_addr(const gnet_conn_t *c, socklen_t *len)
{
	return owner_ok(c) ? gnet__conn_addr(c, GNET__ADDR_PEER, len) : NULL;
}

int
gnet_conn_lookup(gnet_engine_t *eng, gnet_handle_t h, gnet_conn_t **out)
{
	gnet__loop_t *self;
	gnet__slot_t *s;

	if (out != NULL)
		*out = NULL;
	if (eng == NULL || out == NULL || h == GNET_HANDLE_NONE ||
	    gnet__handle_loop(h) >= (unsigned)eng->nloops)
		return GNET_EINVAL;
	self = gnet__self_loop(eng);
	if (self == NULL || (unsigned)self->index != gnet__handle_loop(h))
		return GNET_ETHREAD;
	s = gnet__slot_lookup(self, h);
	if (s == NULL)
		return GNET_ESTALE;
	if (s->kind != &gnet__conn_kind && s->kind != &gnet__udp_kind)
		return GNET_EINVAL;
	if (((gnet_conn_t *)s->obj)->state == GNET__CS_CLOSED)
		return GNET_ESTALE;
	*out = s->obj;
	return 0;
}

/* Copy the bytes (and the address, if any) into a message to conn. */
static int
send_write(gnet_engine_t *eng, gnet_handle_t conn, const struct sockaddr *to,
    socklen_t tolen, const void *data, size_t n, gnet_write_cb cb,
    void *cbdata)
{
	gnet__async_write_t *w;
	gnet_msg_t m = { .to = conn, .type = GNET__MSG_ASYNC_WRITE };
	int rc;

	w = malloc(sizeof(*w) + n);
	if (w == NULL)
		return GNET_ENOMEM;
	w->cb = cb;
	w->cbdata = cbdata;
	w->tolen = tolen;
	if (tolen != 0)
		memcpy(&w->to, to, tolen);
	w->len = n;
	memcpy(w->data, data, n);
	m.a = (uint64_t)(uintptr_t)w;
	m.b = n;
	rc = gnet__send(eng, &m);
	if (rc != 0)
		free(w);
	return rc;
}

int
gnet_conn_write_async(gnet_engine_t *eng, gnet_handle_t conn, const void *data,
    size_t n, gnet_write_cb cb, void *cbdata)
{
	if (eng == NULL || data == NULL || n == 0)
		return GNET_EINVAL;
	return send_write(eng, conn, NULL, 0, data, n, cb, cbdata);
}

int
gnet_conn_sendto_async(gnet_engine_t *eng, gnet_handle_t conn,
    const struct sockaddr *to, socklen_t tolen, const void *data, size_t n,
    gnet_write_cb cb, void *cbdata)
{
	/* An empty datagram is a datagram: n may be 0. */
	if (eng == NULL || to == NULL || (data == NULL && n != 0))
		return GNET_EINVAL;
	if (!(to->sa_family == AF_INET && tolen >= sizeof(struct sockaddr_in) &&
	    tolen <= sizeof(struct sockaddr_in6)) &&
	    !(to->sa_family == AF_INET6 && tolen == sizeof(struct sockaddr_in6)))
		return GNET_EINVAL;
	return send_write(eng, conn, to, tolen, data != NULL ? data : "", n,
	    cb, cbdata);
}

static int
send_control(gnet_engine_t *eng, gnet_handle_t conn, uint32_t type)
{
	gnet_msg_t m = { .to = conn, .type = type };

	if (eng == NULL)
		return GNET_EINVAL;
	return gnet__send(eng, &m);
}

int
gnet_conn_wake_async(gnet_engine_t *eng, gnet_handle_t conn)
{
	return send_control(eng, conn, GNET__MSG_WAKE);
}

int
gnet_conn_close_async(gnet_engine_t *eng, gnet_handle_t conn)
{
	return send_control(eng, conn, GNET__MSG_CLOSE);
}

int
gnet_conn_abort_async(gnet_engine_t *eng, gnet_handle_t conn)
{
	return send_control(eng, conn, GNET__MSG_ABORT);
}

int
gnet_conn_submit(gnet_conn_t *c, gnet_job_fn fn, gnet_job_cancel_fn cancel,
    void *arg)
{
	int rc;

	OWNER_OR_RETURN(c, GNET_ETHREAD);
	if (gnet__conn_closing(c))
		return GNET_ECLOSED;
	/* Already waiting (e.g. on_traffic ran again through
	 * gnet_conn_wake_async): one place among the waiters is enough. */
	rc = gnet__pool_submit(c->loop->eng, c->handle, fn, cancel, arg,
	    !(c->flags & GNET__C_POOL_WAIT));
	if (rc == GNET_EAGAIN) {
		/* Stop reading until the pool has room and wakes us. */
		c->flags |= GNET__C_POOL_WAIT;
		gnet__conn_sync_events(c);
	}
	return rc;
}
