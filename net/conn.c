/*
 * The connection actor: adopt, read, write, backpressure, close.
 *
 * Reads go into the loop's one scratch buffer and are handed to on_traffic
 * in place; only bytes the handler leaves unconsumed are copied into the
 * connection's own buffer, which exists only while non-empty. Writes are
 * appended to the outbound buffer (or held by reference, see
 * net/conn_write.c) and flushed right after the handler that made them,
 * or at the latest once per loop iteration, before the loop sleeps. A
 * connection is only ever freed from the flush pass (gnet__conns_flush),
 * never from inside a callback, so a handler can close a connection and
 * keep using it until it returns.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>
#include "actors/actors.h"
#include "net/sys.h"
#include "net/addr.h"
#include "net/conn.h"

/* Unread bytes drained before close so the kernel sends FIN, not RST
 * (which could destroy our last reply in flight); bounded so a peer that
 * keeps sending cannot hold the loop. */
#define CLOSE_DRAIN_MAX (256u * 1024)

static gnet_engine_t *
eng_of(const gnet_conn_t *c)
{
	return c->loop->eng;
}

static const gnet_options_t *
opt_of(const gnet_conn_t *c)
{
	return c->nl->net->opt;
}

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
 */
static uint32_t
epoll_mode(unsigned flags, uint32_t want)
{
	if (flags & (GNET__C_UDP | GNET__C_LEVEL))
		return 0;
	/* GNET__POLL_RDHUP: a FIN that came with the last bytes raises no edge of
	 * its own once those bytes are read; the flag in the report is what
	 * tells the loop to read on to the end of the stream. */
	return GNET__POLL_EDGE | ((want & GNET__POLL_IN) ? GNET__POLL_RDHUP : 0);
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
	    c->state == GNET__CS_OPEN ? c->fd : -1;
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
	    want | epoll_mode(c->flags, want)) == 0) {
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
	if (opt_of(c)->linger_ms < 0 && gnet__conn_out_len(c) != 0) {
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

static void
set_paused(gnet_conn_t *c, int paused)
{
	if (paused)
		c->flags |= GNET__C_PAUSED;
	else
		c->flags &= ~(unsigned)GNET__C_PAUSED;
	gnet__conn_sync_events(c);
	if (eng_of(c)->ev.on_backpressure != NULL && !gnet__conn_closing(c))
		eng_of(c)->ev.on_backpressure(c, paused, eng_of(c)->udata);
}

void
gnet__conn_act(gnet_conn_t *c, gnet_action_t a)
{
	/* A UDP socket serves every peer: "close" has no one to close. */
	if (a == GNET_CLOSE && !(c->flags & GNET__C_UDP))
		gnet__conn_begin_close(c, 0);
	else if (a == GNET_SHUTDOWN)
		gnet_engine_stop(eng_of(c));
}

void
gnet__conn_pause_high(gnet_conn_t *c)
{
	set_paused(c, 1);
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
gnet__conn_new(gnet__net_loop_t *nl, int fd, unsigned flags,
    enum gnet__conn_state state)
{
	gnet__loop_t *l = nl->loop;
	const gnet_options_t *o = nl->net->opt;
	gnet_conn_t *c;
	int rc;

	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		gnet__log(0, "loop %d: out of memory for a connection", l->index);
		return NULL;
	}
	c->loop = l;
	c->nl = nl;
	c->fd = fd;
	c->flags = flags;
	c->state = (uint8_t)state;
	if (gnet__slot_alloc(l, (flags & GNET__C_UDP) ? &gnet__udp_kind :
	    &gnet__conn_kind, c, &c->handle) != 0) {
		gnet__log(0, "loop %d: actor table full, connection refused", l->index);
		free(c);
		return NULL;
	}
	if (!(flags & GNET__C_UDP) && o->codec != NULL &&
	    gnet__conn_attach_codec(c, o->codec) != 0) {
		gnet__log(0, "loop %d: out of memory for codec state", l->index);
		gnet__slot_free(l, gnet__handle_slot(c->handle));
		free(c);
		return NULL;
	}
	rc = gnet__poller_add(&l->poller, fd, c->handle,
	    GNET__POLL_IN | epoll_mode(flags, GNET__POLL_IN));
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
	return c;
}

/* Per-connection idle check, on the loop's timer heap: one pending timer
 * per connection, re-armed for the remaining time when traffic moved. */
static void
arm_idle(gnet__loop_t *l, gnet_conn_t *c, uint64_t at_ns)
{
	gnet_msg_t m = { .to = c->handle, .type = GNET__MSG_IDLE };

	if (gnet__loop_timer(l, at_ns, &m) == 0)
		c->flags |= GNET__C_IDLE_SET;
}

static void
check_idle(gnet_conn_t *c)
{
	uint64_t idle = (uint64_t)opt_of(c)->idle_timeout_ms * 1000000ull;
	uint64_t now = gnet__now_ns();

	c->flags &= ~(unsigned)GNET__C_IDLE_SET;
	if (gnet__conn_closing(c))
		return;
	if (now - c->last_io_ns >= idle)
		gnet__conn_begin_close(c, GNET_ETIMEDOUT);
	else
		arm_idle(c->loop, c, c->last_io_ns + idle);
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
		arm_idle(l, c, c->last_io_ns +
		    (uint64_t)eng->opt.idle_timeout_ms * 1000000ull);
	GNET__STAT_ADD(c->nl, conns, 1);
	gnet__conn_sync_events(c);
	sync_read_fd(c); /* no longer connecting, whether or not ev_mask moved */
	if (c->out.len != 0)
		gnet__conn_mark_dirty(c);
	if (eng->ev.on_open != NULL)
		a = eng->ev.on_open(c, eng->udata);
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
	gnet_conn_t *c = NULL;
	gnet_action_t a = GNET_NONE;

	if (!l->stopping)
		c = gnet__conn_new(nl, fd, GNET__C_OPENED, GNET__CS_OPEN);
	if (c == NULL) {
		/* Counted by the acceptor at the hand-off. */
		atomic_fetch_sub_explicit(&nl->live, 1, memory_order_relaxed);
		close(fd);
		return;
	}
	c->listener = listener;
	adopt_addrs(c, &nl->net->listeners[listener], peer, peer_len);
	gnet__conn_apply_options(fd, gnet__conn_family(c), &eng->opt);
	if (eng->opt.idle_timeout_ms > 0)
		arm_idle(l, c, c->last_io_ns +
		    (uint64_t)eng->opt.idle_timeout_ms * 1000000ull);
	GNET__STAT_ADD(nl, conns, 1);
	GNET__STAT_ADD(nl, accepted, 1);
	if (eng->ev.on_open != NULL)
		a = eng->ev.on_open(c, eng->udata);
	gnet__conn_after_callback(c, a);
}

/* Hand `n` fresh bytes at `data` to the handler. */
static void
on_data(gnet_conn_t *c, const unsigned char *data, size_t n)
{
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
	gnet__conn_present(c, 0);
}

/* The wake message: run the handler again over what is buffered. */
static void
wake(gnet_conn_t *c)
{
	if (gnet__conn_closing(c) || (c->flags & GNET__C_UDP))
		return;
	c->rp = c->in.data != NULL ? c->in.data + c->in.off : NULL;
	c->rlen = c->in.len;
	gnet__conn_present(c, 1);
}

void
gnet__conn_present(gnet_conn_t *c, int wake_call)
{
	gnet_engine_t *eng = eng_of(c);
	gnet_action_t a = GNET_NONE;

	/* A handler may switch codecs mid-read (set one after a raw
	 * handshake, drop one to go raw): the rest of the bytes go to
	 * whichever stage is current. A wake with nothing buffered still
	 * calls a raw handler, as asked. */
	for (;;) {
		if (c->codec != NULL)
			a = gnet__conn_deliver_frames(c);
		if (c->codec != NULL || (c->rlen == 0 && !wake_call) ||
		    a != GNET_NONE || gnet__conn_closing(c))
			break;
		wake_call = 0;
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

/* Append h to a growable array of handles; GNET_ENOMEM if it cannot grow.
 * The loop keeps connections it must come back to this way (parked
 * readers, re-reads): a handle, not a pointer, since one may close first. */
static int
handles_push(gnet_handle_t **v, size_t *n, size_t *cap, gnet_handle_t h)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		gnet_handle_t *nv = realloc(*v, ncap * sizeof(*nv));
		if (nv == NULL)
			return GNET_ENOMEM;
		*v = nv;
		*cap = ncap;
	}
	(*v)[(*n)++] = h;
	return 0;
}

/* The connection (or UDP socket) a handle names, or NULL once it has
 * closed. */
static gnet_conn_t *
live_conn(gnet__loop_t *l, gnet_handle_t h)
{
	gnet__slot_t *s = gnet__slot_lookup(l, h);

	return s != NULL && (s->kind == &gnet__conn_kind ||
	    s->kind == &gnet__udp_kind) ? s->obj : NULL;
}

static void
schedule_reread(gnet__net_loop_t *nl, gnet_conn_t *c)
{
	if (c->flags & GNET__C_REREAD)
		return;
	if (handles_push(&nl->rereads, &nl->n_rereads, &nl->cap_rereads,
	    c->handle) != 0) {
		/* Out of memory: cannot remember it, so make this connection
		 * level-triggered; the poller then keeps reporting the bytes
		 * left behind. */
		c->flags |= GNET__C_LEVEL;
		gnet__poller_mod(&c->loop->poller, c->fd, c->handle, c->ev_mask);
		return;
	}
	c->flags |= GNET__C_REREAD;
	gnet__loop_due(c->loop, nl->reread_bit);
}

/* Events on which a stream connection that is reading reads: bytes, or
 * the end of the stream or an error, which come after the bytes. */
#define STREAM_READ_EVENTS (GNET__POLL_IN | GNET__POLL_RDHUP | GNET__POLL_HUP | GNET__POLL_ERR)

/* One read of a stream socket into the loop's scratch buffer; with -1,
 * errno says why. */
static ssize_t
read_socket(gnet__net_loop_t *nl, int fd)
{
	ssize_t n;

	do {
		n = gnet__sys_read(fd, nl->scratch, nl->scratch_cap);
	} while (n < 0 && errno == EINTR);
	GNET__STAT_ADD(nl, syscalls_io, 1);
	return n;
}

/* Act on what a read of c's socket returned: n bytes, or -1 and err. */
static void
took_read(gnet__net_loop_t *nl, gnet_conn_t *c, ssize_t n, int err)
{
	if (n > 0) {
		c->last_io_ns = nl->loop->now_ns;
		/* A full read may have left bytes behind, and after a FIN
		 * or an error the end of the stream is still to be read:
		 * edge-triggered polling reports neither again. */
		if ((size_t)n == nl->scratch_cap || (c->flags & GNET__C_HUP_SEEN))
			schedule_reread(nl, c);
		gnet__conn_open_held(nl);
		on_data(c, nl->scratch, (size_t)n);
	} else if (n == 0) {
		c->flags |= GNET__C_PEER_EOF;
		/* With a codec, bytes still buffered are an unfinished frame. */
		gnet__conn_begin_close(c, c->codec != NULL && c->in.len != 0 ?
		    GNET_ETRUNCATED : GNET_EEOF);
	} else if (err != EAGAIN && err != EWOULDBLOCK) {
		gnet__conn_abort(c, -err);
	}
}

/* The loop holds max_parked messages for peers that are not keeping up:
 * stop reading from this connection (backpressure into TCP) until the
 * outbox drains, instead of producing more messages without bound. */
void
gnet__conn_park_reader(gnet_conn_t *c)
{
	gnet__net_loop_t *nl = c->nl;

	if (handles_push(&nl->parked_readers, &nl->n_parked_readers,
	    &nl->cap_parked_readers, c->handle) != 0)
		return; /* keep reading: better than losing track */
	c->flags |= GNET__C_PARKED;
	gnet__conn_sync_events(c);
	gnet__loop_due(c->loop, nl->parked_bit);
}

static void conn_io(gnet__net_loop_t *nl, gnet_conn_t *c, uint32_t events);

void
gnet__conns_reread(gnet__loop_t *l, void *arg)
{
	gnet__net_loop_t *nl = arg;
	size_t i, n = nl->n_rereads;

	/* Reads below may add connections (their budget ran out again):
	 * those wait for the next iteration. The array may move meanwhile,
	 * so it is indexed afresh each time. */
	for (i = 0; i < n; i++) {
		gnet_conn_t *c = live_conn(l, nl->rereads[i]);
		if (c == NULL)
			continue;
		c->flags &= ~(unsigned)GNET__C_REREAD;
		/* conn_io reads only if c still reads; paused meanwhile,
		 * the resume's re-registration reports the waiting bytes. */
		conn_io(nl, c, GNET__POLL_IN);
	}
	memmove(nl->rereads, nl->rereads + n,
	    (nl->n_rereads - n) * sizeof(*nl->rereads));
	nl->n_rereads -= n;
	if (nl->n_rereads != 0)
		gnet__loop_due(l, nl->reread_bit);
}

/* The START hook while readers are parked: they read again once the
 * loop's backlog for its peers has fallen well below the limit. */
void
gnet__conns_resume_parked(gnet__loop_t *l, void *arg)
{
	gnet__net_loop_t *nl = arg;
	size_t i;

	if (gnet__loop_backlog(l) > nl->net->opt->max_parked /
	    GNET__PARKED_RESUME_DIVISOR) {
		gnet__loop_due(l, nl->parked_bit);
		return;
	}
	for (i = 0; i < nl->n_parked_readers; i++) {
		gnet_conn_t *c = live_conn(l, nl->parked_readers[i]);
		if (c == NULL)
			continue;
		c->flags &= ~(unsigned)GNET__C_PARKED;
		gnet__conn_sync_events(c);
	}
	nl->n_parked_readers = 0;
}

static void flush_one(gnet__net_loop_t *nl, gnet_conn_t *c);

/*
 * Would flush_one do nothing for c, open and connected (flush_if_fresh
 * tested that)? So it is after an echo's held write went out whole: no
 * outbound block to send or give back, nothing armed, not paused, and
 * the registered events already what gnet__conn_sync_events would want.
 * Then the call, the common case of an echo, is skipped.
 */
static bool
flush_is_noop(const gnet_conn_t *c)
{
	return c->out.data == NULL && c->ev_mask == GNET__POLL_IN &&
	    !(c->flags & GNET__C_FLUSH_WORK);
}

/*
 * Send what c's own on_traffic just wrote, now, rather than in the pass
 * over the dirty list before the loop sleeps. Every handler write of the
 * event is in c->out or held (net/conn_write.c), so this is still one
 * send per event; what changes is that the socket is written while the
 * read has left it (and the connection) in the CPU's cache -- deferred,
 * a whole batch of reads would come between a socket's read and its
 * write. Only the plain cases are taken here, c open and connected and
 * either at the head of the dirty list (nothing marked after it) or the
 * holder of the only write there is, held (an echo's); closes and
 * anything marked dirty by others keep to the pass.
 */
static void
flush_if_fresh(gnet__net_loop_t *nl, gnet_conn_t *c)
{
	bool plain;

	/* Nothing written, or all of it sent through already. */
	if (nl->dirty == NULL && nl->held.conn == NULL) {
		nl->held.open = false;
		return;
	}
	plain = c->state == GNET__CS_OPEN;
	if (plain && nl->dirty == c) {
		nl->dirty = c->dirty_next;
		if (nl->dirty == NULL)
			gnet__loop_not_due(c->loop, nl->flush_bit);
		c->dirty_next = NULL;
		c->flags &= ~(unsigned)GNET__C_DIRTY;
	} else if (!plain || nl->dirty != NULL || nl->held.conn != c) {
		/* A write held for c, or one another's handler made, is
		 * copied: the next read reuses the scratch buffer. */
		gnet__conn_send_held(nl, NULL);
		return;
	}
	gnet__conn_send_held(nl, c);
	if (!flush_is_noop(c))
		flush_one(nl, c);
}

/*
 * An event on which c, a stream that reads, read its socket: n bytes, or
 * -1 and err. The read branch of conn_io, and the whole of the common
 * event in gnet__conn_event.
 */
static void
took_event_read(gnet__net_loop_t *nl, gnet_conn_t *c, uint32_t events,
    ssize_t n, int err)
{
	if (events & GNET__POLL_OUT)
		gnet__conn_mark_dirty(c);
	if (events & (GNET__POLL_RDHUP | GNET__POLL_HUP | GNET__POLL_ERR))
		c->flags |= GNET__C_HUP_SEEN;
	took_read(nl, c, n, err);
	flush_if_fresh(nl, c);
}

bool
gnet__conn_io_start(gnet_conn_t *c, uint32_t events)
{
	if (c->state == GNET__CS_CLOSED)
		return true;
	/* A dial that ends before it connected takes no more events. */
	if (!(c->flags & GNET__C_OPENED) && c->state != GNET__CS_OPEN) {
		int err = 0;
		socklen_t len = sizeof(err);
		if (c->state != GNET__CS_CONNECTING)
			return true;
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err == 0 && (events & GNET__POLL_HUP))
			err = ECONNREFUSED;
		if (err != 0) {
			gnet__conn_abort(c, -err);
			return true;
		}
		gnet__conn_connected(c);
		return true;
	}
	if (events & GNET__POLL_OUT)
		gnet__conn_mark_dirty(c);
	return false;
}

/* A stream connection's part of an event (or of a re-read). */
static void
conn_io(gnet__net_loop_t *nl, gnet_conn_t *c, uint32_t events)
{
	if (gnet__conn_io_start(c, events))
		return;
	if ((events & GNET__POLL_IN) && (c->ev_mask & GNET__POLL_IN) &&
	    gnet__net_readers_parked(nl->loop, nl)) {
		gnet__conn_park_reader(c);
		return;
	}
	if ((events & STREAM_READ_EVENTS) && (c->ev_mask & GNET__POLL_IN)) {
		/* Data that arrived before a FIN or error is read first. */
		ssize_t n = read_socket(nl, c->fd);
		took_event_read(nl, c, events, n, n < 0 ? errno : 0);
		return;
	}
	if (events & (GNET__POLL_RDHUP | GNET__POLL_HUP | GNET__POLL_ERR))
		c->flags |= GNET__C_HUP_SEEN;
	if (events & GNET__POLL_ERR) {
		gnet__conn_abort(c, socket_error(c->fd));
	} else if (events & GNET__POLL_HUP) {
		/* Hung up while not reading (paused or closing): the peer is
		 * gone, nothing more can be sent, and a level-triggered HUP
		 * would otherwise be reported on every wait. */
		gnet__conn_abort(c, socket_error(c->fd));
	}
}

/*
 * The poller's event for the stream connection in slot s (the kind's io).
 * The common one -- bytes to read on an established stream -- issues the
 * read before the connection object is first touched, with that object
 * prefetched: with a thousand connections it is cold for every event
 * (the copies of the other connections' data evict it), and its first
 * use would stall the loop. Behind the read the miss costs nothing.
 * s->io_fd is set exactly when conn_io would read on this event
 * (sync_read_fd), and the events and parked tests are conn_io's own, so
 * this event would have taken conn_io's read branch: it goes straight to
 * that branch (took_event_read), past conn_io's tests of what io_fd
 * already promised. Other events, and parked readers, go to conn_io.
 */
static void
conn_kind_io(gnet__loop_t *l, gnet__slot_t *s, uint32_t events,
    int32_t res)
{
	gnet__net_loop_t *nl = gnet__net_loop(l);
	gnet_conn_t *c = s->obj;
	ssize_t n;

	(void)res;
	if (s->io_fd < 0 || !(events & STREAM_READ_EVENTS) ||
	    ((events & GNET__POLL_IN) && gnet__net_readers_parked(l, nl))) {
		conn_io(nl, c, events);
		return;
	}
	__builtin_prefetch(c);
	__builtin_prefetch((const char *)c + 64);
	n = read_socket(nl, s->io_fd);
	took_event_read(nl, c, events, n, n < 0 ? errno : 0);
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

static void
release(gnet__loop_t *l, gnet_conn_t *c)
{
	gnet__poller_del(&l->poller, c->fd);
	close(c->fd);
	gnet__slot_free(l, gnet__handle_slot(c->handle));
	gnet__buf_release(&c->in);
	gnet__buf_release(&c->out);
	gnet__conn_release_codec(c);
	gnet__conn_free_addrs(c);
	free(c);
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
	if (eng->ev.on_close != NULL)
		eng->ev.on_close(c, c->close_reason, eng->udata);
	GNET__STAT_ADD(nl, conns, (uint64_t)-1);
	atomic_fetch_sub_explicit(&nl->live, 1, memory_order_relaxed);
	release(l, c);
}

static void
arm_linger(gnet_conn_t *c)
{
	gnet_msg_t m = { .to = c->handle, .type = GNET__MSG_LINGER };

	if (c->flags & GNET__C_LINGER_SET)
		return;
	c->flags |= GNET__C_LINGER_SET;
	if (gnet__loop_timer(c->loop, gnet__now_ns() +
	    (uint64_t)opt_of(c)->linger_ms * 1000000ull, &m) != 0)
		gnet__conn_abort(c, GNET_ENOMEM);
}

/* Send the stream's pending bytes; returns -1 when the peer is gone (the
 * connection is then finished). */
static int
stream_send(gnet__net_loop_t *nl, gnet_conn_t *c)
{
	ssize_t n;

	while (c->out.len != 0) {
		/* MSG_NOSIGNAL: a vanished peer is an error code, not SIGPIPE. */
		n = gnet__sys_send(c->fd, c->out.data + c->out.off, c->out.len,
		    MSG_NOSIGNAL);
		GNET__STAT_ADD(nl, syscalls_io, 1);
		if (n > 0) {
			gnet__buf_consume(&c->out, (size_t)n);
			c->last_io_ns = nl->loop->now_ns;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		/* The peer is gone: what is left cannot be delivered, and
		 * that matters more than why the close began. */
		c->close_reason = n < 0 ? -errno : GNET_EPIPE;
		c->state = GNET__CS_ABORTING;
		gnet__conn_finish(c);
		return -1;
	}
	return 0;
}

/* Write what is pending; finish a close when nothing is left. */
static void
flush_one(gnet__net_loop_t *nl, gnet_conn_t *c)
{
	const gnet_options_t *o = nl->net->opt;

	if (c->state == GNET__CS_ABORTING) {
		gnet__conn_finish(c);
		return;
	}
	/* Nothing can be sent before the connect completes. */
	if (c->state == GNET__CS_CONNECTING)
		return;
	if (c->flags & GNET__C_UDP) {
		gnet__udp_flush(c);
		/* Queued datagrams are not worth lingering for. */
		if (c->state == GNET__CS_CLOSING) {
			gnet__conn_finish(c);
			return;
		}
	} else if (stream_send(nl, c) != 0) {
		return;
	}
	if (c->out.len != 0) {
		c->flags |= GNET__C_OUT_ARMED;
		if (c->state == GNET__CS_CLOSING)
			arm_linger(c);
	} else {
		c->flags &= ~(unsigned)GNET__C_OUT_ARMED;
		/* Drained: give the block back. Keeping it saved one
		 * allocation per flush but cost every idle connection 4 KiB;
		 * the loop's block cache (base/buf.h) makes taking one again
		 * a pop. A UDP
		 * socket keeps its block: it is one per loop and refills
		 * every iteration with a whole batch of replies. */
		if (!(c->flags & GNET__C_UDP))
			gnet__buf_release(&c->out);
	}
	if ((c->flags & GNET__C_PAUSED) && c->out.len <= o->write_low_watermark &&
	    c->state == GNET__CS_OPEN)
		set_paused(c, 0);
	if (c->state == GNET__CS_CLOSING && c->out.len == 0 &&
	    !(c->flags & GNET__C_DIRTY)) {
		gnet__conn_finish(c);
		return;
	}
	gnet__conn_sync_events(c);
}

/* The FLUSH hook: every connection with output or a close to finish. */
void
gnet__conns_flush(gnet__loop_t *l, void *arg)
{
	gnet__net_loop_t *nl = arg;

	(void)l;
	while (nl->dirty != NULL) {
		gnet_conn_t *c = nl->dirty;
		nl->dirty = NULL;
		while (c != NULL) {
			gnet_conn_t *next = c->dirty_next;
			c->flags &= ~(unsigned)GNET__C_DIRTY;
			c->dirty_next = NULL;
			flush_one(nl, c);
			c = next;
		}
	}
	/* Flushes may have marked connections dirty again (a close's
	 * callback writing to another); the loop above took them all. */
	gnet__loop_not_due(l, nl->flush_bit);
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
		gnet_conn_t *c = live_conn(l, gnet__handle_make(
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
		if (c->state == GNET__CS_CLOSING && c->out.len != 0)
			gnet__conn_abort(c, GNET_ELINGER);
		return;
	case GNET__MSG_IDLE:
		check_idle(c);
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
		wake(c);
		return;
	case GNET__MSG_WAKE:
		wake(c);
		return;
	default:
		if (m->type >= GNET_MSG_USER && eng->ev.on_message != NULL)
			a = eng->ev.on_message(c, m, eng->udata);
		break;
	}
	gnet__conn_after_callback(c, a);
}

const gnet__kind_t gnet__conn_kind = {
	.name = "connection",
	.receive = gnet__conn_receive,
	.io = conn_kind_io,
	.stop = gnet__conn_stop,
};
