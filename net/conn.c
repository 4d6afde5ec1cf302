/*
 * The connection actor's life: opening (accepted, adopted, connected),
 * the close and abort transitions (net/conn.h draws the states), the
 * end, socket options, timers, and the messages a connection takes.
 *
 * A connection is only ever freed from the flush pass (net/conn_flush.c)
 * or its own event, never from inside a callback, so a handler can close
 * a connection and keep using it until it returns. The read path is
 * net/conn_read.c, the write path net/conn_write.c.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "actors/actors.h"
#include "net/addr.h"
#include "net/conn.h"

/* Unread bytes drained before close so the kernel sends FIN, not RST
 * (which could destroy our last reply in flight); bounded so a peer that
 * keeps sending cannot hold the loop. */
#define CLOSE_DRAIN_MAX (256u * 1024)

/* A UDP socket gnet listens on (not dialled): it serves every peer. */
static bool
is_udp_listener(const gnet_conn_t *c)
{
	return (c->flags & (GNET__C_UDP | GNET__C_OUTBOUND)) == GNET__C_UDP;
}

/*
 * Stream connections are edge-triggered. A level-triggered item goes back
 * on epoll's ready list each time it is reported, so the next epoll_wait
 * polls the socket once more only to find it drained: a second tcp_poll
 * per read event, a cost no user-space saving matches. The price is the
 * rule that every read either drains the
 * socket -- a short read, and no FIN or error reported -- or puts the
 * connection on the re-read list (took_read). A mask change (pause,
 * resume) is an EPOLL_CTL_MOD, which polls the socket and reports what is
 * already waiting. UDP sockets stay level-triggered: one per loop, they
 * gain nothing; so does a connection the re-read list had no memory for
 * (GNET__C_LEVEL).
 *
 * With a completion backend (nl->ring) a stream that reads has the poller
 * receive for it (GNET__POLL_RECV): its bytes, FIN and errors come as
 * completed receives, and readiness is watched only for writability and,
 * while reading is paused, the peer's FIN.
 */
static uint32_t
epoll_mode(const gnet__net_loop_t *nl, unsigned flags)
{
	if (flags & GNET__C_UDP)
		return 0;
	if (nl->ring)
		return GNET__POLL_RECV | GNET__POLL_EDGE | GNET__POLL_RDHUP;
	if (flags & GNET__C_LEVEL)
		return 0;
	/* GNET__POLL_RDHUP, reading or not. A FIN that came with the last
	 * bytes raises no edge of its own once those bytes are read; the
	 * flag in the report is what tells the loop to read on to the end of
	 * the stream. And a connection whose reading is paused must still
	 * learn that its peer finished (conn_read.c's conn_io). */
	return GNET__POLL_EDGE | GNET__POLL_RDHUP;
}

/*
 * Publish in c's slot the socket that gnet__conn_event may read as soon
 * as a readable event names the slot: c's fd exactly when conn_io
 * would read on that event (an established stream registered for
 * GNET__POLL_IN), else -1. Called wherever ev_mask or those flags change.
 */
static void
sync_read_fd(gnet_conn_t *c)
{
	gnet__slot_t *s = &c->loop->slots[gnet__handle_slot(c->handle)];

	s->io_fd = (c->ev_mask & GNET__POLL_IN) && !(c->flags & GNET__C_UDP) &&
	    c->state == GNET__CS_OPEN && !c->nl->ring ? c->fd : -1;
}

void
gnet__conn_sync_events(gnet_conn_t *c)
{
	uint32_t want = 0;

	if (gnet__conn_reads(c))
		want |= GNET__POLL_IN;
	/* A connect in progress completes when the socket turns writable. */
	if ((c->flags & GNET__C_OUT_ARMED) || c->state == GNET__CS_CONNECTING)
		want |= GNET__POLL_OUT;
	if (want == c->ev_mask || c->state == GNET__CS_CLOSED)
		return;
	if (gnet__poller_mod(&c->loop->poller, c->fd, c->handle,
	    want | epoll_mode(c->nl, c->flags)) == 0) {
		/* Bytes received while it was not reading are shown to the
		 * handler once it reads again, before anything newer. */
		if ((want & ~c->ev_mask & GNET__POLL_IN) &&
		    (c->flags & GNET__C_RECV_HELD))
			gnet__conn_schedule_reread(c);
		c->ev_mask = want;
		sync_read_fd(c);
	}
}

/* OPEN -> CLOSING, or straight to ABORTING when there is nothing it may
 * drain: a dial not yet connected, or output with linger_ms < 0. */
void
gnet__conn_begin_close(gnet_conn_t *c, int reason)
{
	if (gnet__conn_closing(c))
		return;
	c->close_reason = reason;
	if (gnet__conn_opt(c)->linger_ms < 0 && gnet__conn_out_len(c) != 0) {
		/* No lingering wanted: pending output is given up. */
		c->state = GNET__CS_ABORTING;
		c->close_reason = GNET_ELINGER;
	} else {
		c->state = c->state == GNET__CS_CONNECTING ? GNET__CS_ABORTING :
		    GNET__CS_CLOSING;
	}
	gnet__conn_sync_events(c);
	gnet__conn_mark_dirty(c);
}

/* Anything but CLOSED -> ABORTING; the first abort's reason stands. */
void
gnet__conn_abort(gnet_conn_t *c, int reason)
{
	if (c->state == GNET__CS_CLOSED)
		return;
	if (c->state != GNET__CS_ABORTING) {
		c->state = GNET__CS_ABORTING;
		c->close_reason = reason;
	}
	gnet__conn_mark_dirty(c);
}

void
gnet__conn_set_paused(gnet_conn_t *c, int paused)
{
	if (paused)
		c->flags |= GNET__C_PAUSED;
	else
		c->flags &= ~(unsigned)GNET__C_PAUSED;
	gnet__conn_sync_events(c);
	if (c->bh->ev.on_backpressure != NULL && !gnet__conn_closing(c))
		c->bh->ev.on_backpressure(c, paused, c->bh->udata);
}

void
gnet__conn_act(gnet_conn_t *c, gnet_action_t a)
{
	/* A UDP socket serves every peer: "close" has no one to close. */
	if (a == GNET_CLOSE && !(c->flags & GNET__C_UDP))
		gnet__conn_begin_close(c, 0);
	else if (a == GNET_SHUTDOWN)
		gnet_engine_stop(gnet__conn_eng(c));
}

void
gnet__conn_pause_high(gnet_conn_t *c)
{
	gnet__conn_set_paused(c, 1);
}

/* Socket options for an accepted stream. Failures are ignored on purpose:
 * an option the kernel refuses must not cost the client its connection. */
void
gnet__conn_apply_options(int fd, int family, const gnet_options_t *o)
{
	int one = 1, v;

	if (family == AF_INET || family == AF_INET6) {
		/* Nagle off by default: a framework's writes are already
		 * batched per iteration, so delaying them only adds latency. */
		if (o->tcp_nodelay >= 0)
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (o->tcp_keepalive_s > 0) {
			v = o->tcp_keepalive_s;
			setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
			setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &v, sizeof(v));
			if (o->tcp_keepalive_intvl_s > 0)
				v = o->tcp_keepalive_intvl_s;
			setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &v, sizeof(v));
			if (o->tcp_keepalive_cnt > 0)
				setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT,
				    &o->tcp_keepalive_cnt, sizeof(int));
		}
	}
	if (o->sndbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &o->sndbuf, sizeof(o->sndbuf));
	if (o->rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &o->rcvbuf, sizeof(o->rcvbuf));
	if (o->so_linger != 0) {
		struct linger lg = { 1, o->so_linger > 0 ? o->so_linger : 0 };
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
}

gnet_conn_t *
gnet__conn_new(gnet__net_loop_t *nl, const gnet__behaviour_t *bh, int fd,
    unsigned flags, enum gnet__conn_state state)
{
	gnet__loop_t *l = nl->loop;
	gnet_conn_t *c;
	int rc;

	c = calloc(1, GNET__CONN_STATE_OFFSET + bh->state_size);
	if (c == NULL) {
		gnet__log(0, "loop %d: out of memory for a connection", l->index);
		return NULL;
	}
	c->loop = l;
	c->nl = nl;
	c->bh = bh;
	c->fd = fd;
	c->flags = flags;
	c->state = (uint8_t)state;
	if (gnet__slot_alloc(l, (flags & GNET__C_UDP) ? &gnet__udp_kind :
	    &gnet__conn_kind, c, &c->handle) != 0) {
		gnet__log(0, "loop %d: actor table full, connection refused", l->index);
		free(c);
		return NULL;
	}
	if (!(flags & GNET__C_UDP) && bh->codec != NULL &&
	    gnet__conn_attach_codec(c, bh->codec) != 0) {
		gnet__log(0, "loop %d: out of memory for codec state", l->index);
		gnet__slot_free(l, gnet__handle_slot(c->handle));
		free(c);
		return NULL;
	}
	rc = gnet__poller_add(&l->poller, fd, c->handle,
	    GNET__POLL_IN | epoll_mode(nl, flags));
	if (rc != 0) {
		gnet__log(0, "loop %d: watching a connection: %s", l->index,
		    gnet_strerror(rc));
		gnet__conn_release_codec(c);
		gnet__slot_free(l, gnet__handle_slot(c->handle));
		free(c);
		return NULL;
	}
	c->ev_mask = GNET__POLL_IN;
	sync_read_fd(c);
	c->last_io_ns = gnet__now_ns();
	gnet__group_join(bh->group);
	return c;
}

/* Per-connection idle check, on the loop's timer heap: one pending timer
 * per connection, re-armed for the remaining time when traffic moved. */
static void
arm_idle(gnet_conn_t *c, uint64_t at_ns)
{
	if (gnet__conn_timer(c, GNET__MSG_IDLE, at_ns) == 0)
		c->flags |= GNET__C_IDLE_SET;
}

static void
check_idle(gnet_conn_t *c)
{
	uint64_t idle = (uint64_t)gnet__conn_opt(c)->idle_timeout_ms * GNET__NS_PER_MS;
	uint64_t now = gnet__now_ns();

	c->flags &= ~(unsigned)GNET__C_IDLE_SET;
	if (gnet__conn_closing(c))
		return;
	if (now - c->last_io_ns >= idle)
		gnet__conn_begin_close(c, GNET_ETIMEDOUT);
	else
		arm_idle(c, c->last_io_ns + idle);
}

void
gnet__conn_connected(gnet_conn_t *c)
{
	gnet__loop_t *l = c->loop;
	gnet_engine_t *eng = l->eng;
	gnet_action_t a = GNET_NONE;

	c->state = GNET__CS_OPEN;
	c->flags |= GNET__C_OPENED;
	gnet__conn_fetch_addr(c, GNET__ADDR_LOCAL);
	gnet__conn_fetch_addr(c, GNET__ADDR_PEER);
	if (!(c->flags & GNET__C_UDP))
		gnet__conn_apply_options(c->fd, gnet__conn_family(c), &eng->opt);
	c->last_io_ns = l->now_ns;
	if (eng->opt.idle_timeout_ms > 0)
		arm_idle(c, c->last_io_ns +
		    (uint64_t)eng->opt.idle_timeout_ms * GNET__NS_PER_MS);
	GNET__STAT_ADD(c->nl, conns, 1);
	gnet__conn_sync_events(c);
	sync_read_fd(c); /* no longer connecting, whether or not ev_mask moved */
	if (c->out.len != 0)
		gnet__conn_mark_dirty(c);
	if (c->bh->ev.on_open != NULL)
		a = c->bh->ev.on_open(c, c->bh->udata);
	gnet__conn_after_callback(c, a);
}

/* Is the listener bound to one IP address (not a wildcard)? Then that
 * is the local address of every connection it accepts. */
static bool
listens_on_one_ip(const gnet__listener_t *ls)
{
	const struct sockaddr *sa = (const struct sockaddr *)&ls->addr;

	if (ls->net != GNET__NET_TCP)
		return false;
	if (sa->sa_family == AF_INET && ls->addrlen >= sizeof(struct sockaddr_in))
		return ((const struct sockaddr_in *)sa)->sin_addr.s_addr !=
		    htonl(INADDR_ANY);
	if (sa->sa_family == AF_INET6 && ls->addrlen >= sizeof(struct sockaddr_in6))
		return !IN6_IS_ADDR_UNSPECIFIED(
		    &((const struct sockaddr_in6 *)sa)->sin6_addr);
	return false;
}

/*
 * An accepted connection's addresses, asking the kernel only for what the
 * accept did not tell: the peer is accept4's when the accepting loop
 * adopts the connection itself (one loop, or SO_REUSEPORT), and the
 * local address the listener's own when it is bound to one IP address:
 * two syscalls fewer per accepted connection.
 */
static void
adopt_addrs(gnet_conn_t *c, const gnet__listener_t *ls,
    const struct sockaddr *peer, socklen_t peer_len)
{
	if (listens_on_one_ip(ls))
		(void)gnet__conn_store_addr(c, GNET__ADDR_LOCAL, &ls->addr,
		    ls->addrlen);
	else
		gnet__conn_fetch_addr(c, GNET__ADDR_LOCAL);
	if (peer != NULL && peer_len != 0)
		(void)gnet__conn_store_addr(c, GNET__ADDR_PEER, peer, peer_len);
	else
		gnet__conn_fetch_addr(c, GNET__ADDR_PEER);
}

void
gnet__conn_adopt(gnet__net_loop_t *nl, int fd, int listener,
    const struct sockaddr *peer, socklen_t peer_len)
{
	gnet__loop_t *l = nl->loop;
	gnet_engine_t *eng = l->eng;
	const gnet__behaviour_t *bh = &nl->net->listeners[listener].bh;
	gnet_conn_t *c = NULL;
	gnet_action_t a = GNET_NONE;

	if (!l->stopping && !gnet__group_closing(bh->group))
		c = gnet__conn_new(nl, bh, fd, GNET__C_OPENED, GNET__CS_OPEN);
	/* The hand-off's membership (gnet__listener_hand_off) ends: the
	 * connection holds its own now, or is refused. */
	gnet__group_leave(bh->group);
	if (c == NULL) {
		/* Counted by the acceptor at the hand-off. */
		atomic_fetch_sub_explicit(&nl->live, 1, memory_order_relaxed);
		gnet__listener_conn_gone(bh);
		close(fd);
		return;
	}
	adopt_addrs(c, &nl->net->listeners[listener], peer, peer_len);
	gnet__conn_apply_options(fd, gnet__conn_family(c), &eng->opt);
	if (eng->opt.idle_timeout_ms > 0)
		arm_idle(c, c->last_io_ns +
		    (uint64_t)eng->opt.idle_timeout_ms * GNET__NS_PER_MS);
	GNET__STAT_ADD(nl, conns, 1);
	GNET__STAT_ADD(nl, accepted, 1);
	if (c->bh->ev.on_open != NULL)
		a = c->bh->ev.on_open(c, c->bh->udata);
	gnet__conn_after_callback(c, a);
}

static void
drain_unread(gnet_conn_t *c)
{
	gnet__net_loop_t *nl = c->nl;
	size_t total = 0;
	ssize_t n;

	while (total < CLOSE_DRAIN_MAX &&
	    (n = read(c->fd, nl->scratch, nl->scratch_cap)) > 0)
		total += (size_t)n;
}

/* The connection's last moment: after this nothing of its behaviour is
 * referenced, so it leaves its group here. */
static void
release(gnet__loop_t *l, gnet_conn_t *c)
{
	struct gnet_group *g = c->bh->group;

	if (c->flags & GNET__C_RECV_HELD)
		gnet__conn_forget_unseen(c);
	if (c->flags & GNET__C_SEND_HELD)
		(void)gnet__conn_held_sent(c, 0, true);
	gnet__poller_del(&l->poller, c->fd);
	close(c->fd);
	gnet__slot_free(l, gnet__handle_slot(c->handle));
	gnet__buf_release(&c->in);
	gnet__buf_release(&c->out);
	gnet__conn_release_codec(c);
	gnet__conn_free_addrs(c);
	free(c);
	gnet__group_leave(g);
}

void
gnet__conn_finish(gnet_conn_t *c)
{
	gnet__loop_t *l = c->loop;
	gnet__net_loop_t *nl = c->nl;
	gnet_engine_t *eng = l->eng;
	bool reset = c->state == GNET__CS_ABORTING;

	/* A connection waiting for the worker pool needs no goodbye there:
	 * the pool's wake-up will find it gone and go to the next waiter. */
	c->state = GNET__CS_CLOSED;
	if (is_udp_listener(c)) {
		/* A listening UDP socket has no peer to tell, no on_close. */
		release(l, c);
		return;
	}
	if (!(c->flags & GNET__C_OPENED)) {
		/* Never opened: the dial failed (or was closed or stopped
		 * before it completed). */
		if (c->close_reason == 0)
			c->close_reason = GNET_ECLOSED;
		if (eng->ev.on_dial_error != NULL)
			eng->ev.on_dial_error(eng, c->handle, c->ctx, c->close_reason,
			    eng->udata);
		atomic_fetch_sub_explicit(&nl->live, 1, memory_order_relaxed);
		release(l, c);
		return;
	}
	if (c->flags & GNET__C_UDP) {
		/* A dialled (connected) UDP socket: nothing to flush or shut. */
	} else if (reset) {
		struct linger lg = { 1, 0 };
		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	} else {
		drain_unread(c);
		shutdown(c->fd, SHUT_WR);
	}
	if (c->bh->ev.on_close != NULL)
		c->bh->ev.on_close(c, c->close_reason, c->bh->udata);
	GNET__STAT_ADD(nl, conns, (uint64_t)-1);
	atomic_fetch_sub_explicit(&nl->live, 1, memory_order_relaxed);
	gnet__listener_conn_gone(c->bh);
	release(l, c);
}

/* The kind's stop: a loop ends with the connection still open. A loop
 * that ran closes every connection before it exits, so only an engine
 * freed without running gets here (with its UDP sockets), and nothing is
 * owed to anyone: no callbacks, no lingering. */
void
gnet__conn_stop(gnet__loop_t *l, void *obj)
{
	gnet_conn_t *c = obj;

	c->state = GNET__CS_CLOSED;
	release(l, c);
}

void
gnet__conns_close_all(gnet__loop_t *l, int reason)
{
	uint32_t i;

	for (i = 0; i < l->nslots; i++) {
		gnet_conn_t *c = gnet__conn_live(l, gnet__handle_make(
		    (unsigned)l->index, i, l->slots[i].gen));
		if (c == NULL)
			continue;
		if (reason == GNET_ELINGER)
			gnet__conn_abort(c, reason);
		else
			gnet__conn_begin_close(c, reason);
	}
}

void
gnet__conn_receive(gnet__loop_t *l, void *obj, const gnet_msg_t *m)
{
	gnet_conn_t *c = obj;
	gnet_engine_t *eng = l->eng;
	gnet_action_t a = GNET_NONE;

	switch (m->type) {
	case GNET__MSG_ASYNC_WRITE: {
		gnet__async_write_t *w = (gnet__async_write_t *)(uintptr_t)m->a;
		struct iovec iov = { w->data, w->len };
		int status;
		long sent;
		if (gnet__conn_closing(c)) {
			status = GNET_ECLOSED;
		} else if (w->tolen != 0) { /* gnet_conn_sendto_async */
			sent = gnet_conn_sendto(c, (const struct sockaddr *)&w->to,
			    w->tolen, w->data, w->len);
			status = sent < 0 ? (int)sent : 0;
		} else if (is_udp_listener(c)) {
			/* Its peer is whoever sent the last datagram, not a
			 * destination. */
			status = GNET_EINVAL;
		} else {
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
		gnet__conn_linger_due(c);
		return;
	case GNET__MSG_IDLE:
		check_idle(c);
		return;
	case GNET__MSG_SOFT_LIMIT:
		gnet__conn_soft_limit_due(c);
		return;
	case GNET__MSG_DEADLINE:
		gnet__conn_deadline_due(c);
		return;
	case GNET__MSG_CONNECT_TIMEOUT:
		if (c->state == GNET__CS_CONNECTING)
			gnet__conn_abort(c, GNET_ETIMEDOUT);
		return;
	case GNET__MSG_POOL_RESUME:
		if (!(c->flags & GNET__C_POOL_WAIT) || gnet__conn_closing(c)) {
			c->flags &= ~(unsigned)GNET__C_POOL_WAIT;
			gnet__pool_pass_on(eng);
			return;
		}
		c->flags &= ~(unsigned)GNET__C_POOL_WAIT;
		gnet__conn_sync_events(c);
		gnet__conn_wake(c);
		return;
	case GNET__MSG_WAKE:
		gnet__conn_wake(c);
		return;
	default:
		if (m->type >= GNET_MSG_USER && c->bh->ev.on_message != NULL)
			a = c->bh->ev.on_message(c, m, c->bh->udata);
		break;
	}
	gnet__conn_after_callback(c, a);
}

void
gnet__conn_group_close(gnet__loop_t *l, void *obj, struct gnet_group *g)
{
	gnet_conn_t *c = obj;

	if (c->bh->group != g || gnet__conn_closing(c))
		return;
	/* Before the engine runs only UDP listeners are connection objects,
	 * and no loop would finish a close begun now until it ran: the
	 * group's close is to be done when it returns (gnet.h), so end it
	 * here, as a failed listen does. */
	if (atomic_load(&l->eng->state) == GNET__ENG_NEW) {
		gnet__conn_finish(c);
		return;
	}
	gnet__conn_begin_close(c, GNET_ESHUTDOWN);
}

const gnet__kind_t gnet__conn_kind = {
	.name = "connection",
	.receive = gnet__conn_receive,
	.io = gnet__conn_io,
	.stop = gnet__conn_stop,
	.group_close = gnet__conn_group_close,
	.describe = gnet__conn_describe,
};
