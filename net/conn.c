/*
 * The connection actor: adopt, read, write, backpressure, close.
 *
 * Reads go into the loop's one scratch buffer and are handed to on_traffic
 * in place; only bytes the handler leaves unconsumed are copied into the
 * connection's own buffer, which exists only while non-empty. Writes are
 * appended to the outbound buffer and flushed once per loop iteration,
 * before the loop sleeps. A connection is only ever freed from the flush
 * pass (gnet__conns_flush), never from inside a callback, so a handler can
 * close a connection and keep using it until it returns.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>
#include "net/conn.h"

/* Unread bytes drained before close so the kernel sends FIN, not RST
 * (which could destroy our last reply in flight); bounded so a peer that
 * keeps sending cannot hold the loop. */
#define CLOSE_DRAIN_MAX (256u * 1024)
/* Outbound buffers up to this size are kept between writes to avoid an
 * allocation per message; bigger ones are released once drained. */
#define OUT_KEEP_CAP (16u * 1024)

static gnet_engine_t *
eng_of(const gnet_conn_t *c)
{
	return c->loop->eng;
}

void
gnet__conn_mark_dirty(gnet_conn_t *c)
{
	if (c->flags & GNET__C_DIRTY)
		return;
	c->flags |= GNET__C_DIRTY;
	c->dirty_next = c->loop->dirty;
	c->loop->dirty = c;
}

static void
sync_events(gnet_conn_t *c)
{
	uint32_t want = 0;
	struct epoll_event ev;

	if (!(c->flags & (GNET__C_CLOSING | GNET__C_PAUSED | GNET__C_PEER_EOF |
	    GNET__C_PARKED)))
		want |= EPOLLIN;
	if (c->flags & GNET__C_OUT_ARMED)
		want |= EPOLLOUT;
	if (want == c->ev_mask || (c->flags & GNET__C_CLOSED))
		return;
	ev.events = want;
	ev.data.u64 = c->handle;
	if (epoll_ctl(c->loop->epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		c->ev_mask = want;
}

void
gnet__conn_begin_close(gnet_conn_t *c, int reason)
{
	if (c->flags & GNET__C_CLOSING)
		return;
	c->flags |= GNET__C_CLOSING;
	c->close_reason = reason;
	if (eng_of(c)->opt.linger_ms < 0 && c->out.len != 0) {
		/* No lingering wanted: pending output is given up. */
		c->flags |= GNET__C_ABORT;
		c->close_reason = GNET_ELINGER;
	}
	sync_events(c);
	gnet__conn_mark_dirty(c);
}

void
gnet__conn_abort(gnet_conn_t *c, int reason)
{
	if (c->flags & GNET__C_CLOSED)
		return;
	if (!(c->flags & GNET__C_ABORT)) {
		c->flags |= GNET__C_CLOSING | GNET__C_ABORT;
		c->close_reason = reason;
	}
	gnet__conn_mark_dirty(c);
}

static void
set_paused(gnet_conn_t *c, int paused)
{
	if (paused)
		c->flags |= GNET__C_PAUSED;
	else
		c->flags &= ~(unsigned)GNET__C_PAUSED;
	sync_events(c);
	if (eng_of(c)->ev.on_backpressure != NULL && !(c->flags & GNET__C_CLOSING))
		eng_of(c)->ev.on_backpressure(c, paused, eng_of(c)->udata);
}

void
gnet__conn_after_callback(gnet_conn_t *c, gnet_action_t a)
{
	if (a == GNET_CLOSE)
		gnet__conn_begin_close(c, 0);
	else if (a == GNET_SHUTDOWN)
		gnet_engine_stop(eng_of(c));
	if (!(c->flags & (GNET__C_PAUSED | GNET__C_CLOSING)) &&
	    c->out.len > eng_of(c)->opt.write_high_watermark)
		set_paused(c, 1);
}

void
gnet__conn_consume(gnet_conn_t *c, size_t n)
{
	if (n > c->rlen)
		n = c->rlen;
	c->rp += n;
	c->rlen -= n;
	if (!(c->flags & (GNET__C_VIEW_SCRATCH | GNET__C_IN_FRAME)))
		gnet__buf_consume(&c->in, n);
}

static void
apply_socket_options(int fd, const gnet_options_t *o)
{
	int one = 1, v;

	/* Nagle off by default: a framework's writes are already batched
	 * per iteration, so delaying them only adds latency. */
	if (o->tcp_nodelay >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (o->tcp_keepalive_s > 0) {
		v = o->tcp_keepalive_s;
		setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &v, sizeof(v));
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &v, sizeof(v));
	}
	if (o->sndbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &o->sndbuf, sizeof(o->sndbuf));
	if (o->rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &o->rcvbuf, sizeof(o->rcvbuf));
}

void
gnet__conn_adopt(gnet__loop_t *l, int fd, int listener)
{
	gnet_engine_t *eng = l->eng;
	struct epoll_event ev;
	gnet_conn_t *c;
	gnet_action_t a = GNET_NONE;

	(void)listener;
	if (l->stopping) {
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		gnet__log(0, "loop %d: out of memory accepting a connection", l->index);
		close(fd);
		return;
	}
	c->loop = l;
	c->fd = fd;
	if (gnet__slot_alloc(l, GNET__SLOT_CONN, c, &c->handle) != 0) {
		gnet__log(0, "loop %d: actor table full, connection refused", l->index);
		free(c);
		close(fd);
		return;
	}
	apply_socket_options(fd, &eng->opt);
	if (eng->opt.codec != NULL && gnet__conn_attach_codec(c, eng->opt.codec) != 0) {
		gnet__log(0, "loop %d: out of memory for codec state", l->index);
		gnet__slot_free(l, gnet__handle_slot(c->handle));
		free(c);
		close(fd);
		return;
	}
	ev.events = EPOLLIN;
	ev.data.u64 = c->handle;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		gnet__log(0, "loop %d: epoll_ctl: %s", l->index, strerror(errno));
		gnet__conn_release_codec(c);
		gnet__slot_free(l, gnet__handle_slot(c->handle));
		free(c);
		close(fd);
		return;
	}
	c->ev_mask = EPOLLIN;
	c->llen = sizeof(c->laddr);
	c->plen = sizeof(c->paddr);
	if (getsockname(fd, (struct sockaddr *)&c->laddr, &c->llen) < 0)
		c->llen = 0;
	if (getpeername(fd, (struct sockaddr *)&c->paddr, &c->plen) < 0)
		c->plen = 0;
	GNET__STAT_ADD(l, conns, 1);
	GNET__STAT_ADD(l, accepted, 1);
	if (eng->ev.on_open != NULL)
		a = eng->ev.on_open(c, eng->udata);
	gnet__conn_after_callback(c, a);
}

/* Hand `n` fresh bytes at `data` to the handler. */
static void
on_data(gnet_conn_t *c, const unsigned char *data, size_t n)
{
	gnet_engine_t *eng = eng_of(c);
	gnet_action_t a = GNET_NONE;

	if (c->in.len == 0) {
		c->rp = data;
		c->rlen = n;
		c->flags |= GNET__C_VIEW_SCRATCH;
	} else {
		if (gnet__buf_append(&c->in, data, n) != 0) {
			gnet__conn_abort(c, GNET_ENOMEM);
			return;
		}
		c->rp = c->in.data + c->in.off;
		c->rlen = c->in.len;
	}
	/* A handler may switch codecs mid-read (set one after a raw
	 * handshake, drop one to go raw): the rest of the bytes go to
	 * whichever stage is current. */
	for (;;) {
		if (c->codec != NULL)
			a = gnet__conn_deliver_frames(c);
		if (c->codec != NULL || c->rlen == 0 || a != GNET_NONE ||
		    (c->flags & GNET__C_CLOSING))
			break;
		if (eng->ev.on_traffic == NULL) {
			gnet__conn_consume(c, c->rlen);
			break;
		}
		a = eng->ev.on_traffic(c, eng->udata);
		if (c->codec == NULL)
			break;
	}
	if (c->flags & GNET__C_VIEW_SCRATCH) {
		c->flags &= ~(unsigned)GNET__C_VIEW_SCRATCH;
		/* Keep what the handler left for the next call. */
		if (c->rlen != 0 && gnet__buf_append(&c->in, c->rp, c->rlen) != 0) {
			gnet__conn_abort(c, GNET_ENOMEM);
			return;
		}
	}
	if (c->in.len == 0)
		gnet__buf_release(&c->in);
	c->rp = c->in.data != NULL ? c->in.data + c->in.off : NULL;
	c->rlen = c->in.len;
	if (c->in.len > eng->opt.max_inbound) {
		gnet__buf_release(&c->in);
		c->rp = NULL;
		c->rlen = 0;
		gnet__conn_begin_close(c, GNET_EINBOUND);
	}
	gnet__conn_after_callback(c, a);
}

static int
socket_error(int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	return err != 0 ? -err : -EPIPE;
}

static void
read_once(gnet__loop_t *l, gnet_conn_t *c)
{
	ssize_t n;

	do {
		n = read(c->fd, l->scratch, l->scratch_cap);
	} while (n < 0 && errno == EINTR);
	if (n > 0) {
		on_data(c, l->scratch, (size_t)n);
	} else if (n == 0) {
		c->flags |= GNET__C_PEER_EOF;
		/* With a codec, bytes still buffered are an unfinished frame. */
		gnet__conn_begin_close(c, c->codec != NULL && c->in.len != 0 ?
		    GNET_ETRUNCATED : GNET_EEOF);
	} else if (errno != EAGAIN && errno != EWOULDBLOCK) {
		gnet__conn_abort(c, -errno);
	}
}

/* The loop holds max_parked messages for peers that are not keeping up:
 * stop reading from this connection (backpressure into TCP) until the
 * outbox drains, instead of producing more messages without bound. */
static void
park_reader(gnet__loop_t *l, gnet_conn_t *c)
{
	if (l->n_parked_readers == l->cap_parked_readers) {
		size_t ncap = l->cap_parked_readers ? l->cap_parked_readers * 2 : 16;
		gnet_handle_t *nv = realloc(l->parked_readers, ncap * sizeof(*nv));
		if (nv == NULL)
			return; /* keep reading: better than losing track */
		l->parked_readers = nv;
		l->cap_parked_readers = ncap;
	}
	l->parked_readers[l->n_parked_readers++] = c->handle;
	c->flags |= GNET__C_PARKED;
	sync_events(c);
}

void
gnet__conns_resume_parked(gnet__loop_t *l)
{
	size_t i;

	for (i = 0; i < l->n_parked_readers; i++) {
		gnet__slot_t *s = gnet__slot_lookup(l, l->parked_readers[i]);
		gnet_conn_t *c;
		if (s == NULL || s->kind != GNET__SLOT_CONN)
			continue;
		c = s->obj;
		c->flags &= ~(unsigned)GNET__C_PARKED;
		sync_events(c);
	}
	l->n_parked_readers = 0;
}

void
gnet__conn_io(gnet__loop_t *l, gnet_conn_t *c, uint32_t events)
{
	if (c->flags & GNET__C_CLOSED)
		return;
	if (events & EPOLLOUT)
		gnet__conn_mark_dirty(c);
	if ((events & EPOLLIN) && (c->ev_mask & EPOLLIN) &&
	    l->outbox.parked >= l->eng->opt.max_parked) {
		park_reader(l, c);
		return;
	}
	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && (c->ev_mask & EPOLLIN)) {
		/* Data that arrived before a FIN or error is read first. */
		read_once(l, c);
	} else if (events & EPOLLERR) {
		gnet__conn_abort(c, socket_error(c->fd));
	} else if (events & EPOLLHUP) {
		/* Hung up while not reading (paused or closing): the peer is
		 * gone, nothing more can be sent, and a level-triggered HUP
		 * would otherwise be reported on every wait. */
		gnet__conn_abort(c, socket_error(c->fd));
	}
}

static void
drain_unread(gnet__loop_t *l, gnet_conn_t *c)
{
	size_t total = 0;
	ssize_t n;

	while (total < CLOSE_DRAIN_MAX &&
	    (n = read(c->fd, l->scratch, l->scratch_cap)) > 0)
		total += (size_t)n;
}

/* The end of a connection: on_close, then the descriptor, then memory. */
static void
finish(gnet__loop_t *l, gnet_conn_t *c)
{
	gnet_engine_t *eng = l->eng;

	c->flags |= GNET__C_CLOSED;
	if (c->flags & GNET__C_ABORT) {
		struct linger lg = { 1, 0 };
		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	} else {
		drain_unread(l, c);
		shutdown(c->fd, SHUT_WR);
	}
	if (eng->ev.on_close != NULL)
		eng->ev.on_close(c, c->close_reason, eng->udata);
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	gnet__slot_free(l, gnet__handle_slot(c->handle));
	gnet__buf_release(&c->in);
	gnet__buf_release(&c->out);
	gnet__conn_release_codec(c);
	GNET__STAT_ADD(l, conns, (uint64_t)-1);
	free(c);
}

static void
arm_linger(gnet__loop_t *l, gnet_conn_t *c)
{
	gnet_msg_t m = { .to = c->handle, .type = GNET__MSG_LINGER };

	if (c->flags & GNET__C_LINGER_SET)
		return;
	c->flags |= GNET__C_LINGER_SET;
	if (gnet__timers_add(&l->timers, gnet__now_ns() +
	    (uint64_t)l->eng->opt.linger_ms * 1000000ull, &m) != 0)
		gnet__conn_abort(c, GNET_ENOMEM);
}

/* Write what is pending; finish a close when nothing is left. */
static void
flush_one(gnet__loop_t *l, gnet_conn_t *c)
{
	const gnet_options_t *o = &l->eng->opt;
	ssize_t n;

	if (c->flags & GNET__C_ABORT) {
		finish(l, c);
		return;
	}
	while (c->out.len != 0) {
		/* MSG_NOSIGNAL: a vanished peer is an error code, not SIGPIPE. */
		n = send(c->fd, c->out.data + c->out.off, c->out.len, MSG_NOSIGNAL);
		if (n > 0) {
			gnet__buf_consume(&c->out, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		/* The peer is gone: what is left cannot be delivered, and
		 * that matters more than why the close began. */
		c->close_reason = n < 0 ? -errno : -EPIPE;
		c->flags |= GNET__C_ABORT | GNET__C_CLOSING;
		finish(l, c);
		return;
	}
	if (c->out.len != 0) {
		c->flags |= GNET__C_OUT_ARMED;
		if (c->flags & GNET__C_CLOSING)
			arm_linger(l, c);
	} else {
		c->flags &= ~(unsigned)GNET__C_OUT_ARMED;
		if (c->out.cap > OUT_KEEP_CAP)
			gnet__buf_release(&c->out);
	}
	if ((c->flags & GNET__C_PAUSED) && c->out.len <= o->write_low_watermark &&
	    !(c->flags & GNET__C_CLOSING))
		set_paused(c, 0);
	if ((c->flags & GNET__C_CLOSING) && c->out.len == 0 &&
	    !(c->flags & GNET__C_DIRTY)) {
		finish(l, c);
		return;
	}
	sync_events(c);
}

void
gnet__conns_flush(gnet__loop_t *l)
{
	while (l->dirty != NULL) {
		gnet_conn_t *c = l->dirty;
		l->dirty = NULL;
		while (c != NULL) {
			gnet_conn_t *next = c->dirty_next;
			c->flags &= ~(unsigned)GNET__C_DIRTY;
			c->dirty_next = NULL;
			flush_one(l, c);
			c = next;
		}
	}
}

void
gnet__conns_close_all(gnet__loop_t *l, int reason)
{
	uint32_t i;

	for (i = 0; i < l->nslots; i++) {
		if (l->slots[i].kind != GNET__SLOT_CONN)
			continue;
		if (reason == GNET_ELINGER)
			gnet__conn_abort(l->slots[i].obj, reason);
		else
			gnet__conn_begin_close(l->slots[i].obj, reason);
	}
}

void
gnet__conn_receive(gnet_conn_t *c, const gnet_msg_t *m)
{
	gnet_engine_t *eng = eng_of(c);
	gnet_action_t a = GNET_NONE;

	switch (m->type) {
	case GNET__MSG_ASYNC_WRITE: {
		gnet__async_write_t *w = (gnet__async_write_t *)(uintptr_t)m->a;
		int status = GNET_ECLOSED;
		if (!(c->flags & GNET__C_CLOSING)) {
			struct iovec iov = { w->data, w->len };
			status = gnet__conn_append(c, &iov, 1, w->len);
		}
		if (w->cb != NULL)
			w->cb(status == GNET_ECLOSED ? NULL : c, status, w->cbdata);
		free(w);
		break;
	}
	case GNET__MSG_CLOSE:
		gnet__conn_begin_close(c, 0);
		break;
	case GNET__MSG_ABORT:
		gnet__conn_abort(c, GNET_EABORTED);
		break;
	case GNET__MSG_LINGER:
		if ((c->flags & GNET__C_CLOSING) && c->out.len != 0)
			gnet__conn_abort(c, GNET_ELINGER);
		return;
	default:
		if (m->type >= GNET_MSG_USER && eng->ev.on_message != NULL)
			a = eng->ev.on_message(c, m, eng->udata);
		break;
	}
	gnet__conn_after_callback(c, a);
}
