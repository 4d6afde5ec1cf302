/*
 * The connection actor's read path: an event, the read into the loop's
 * one scratch buffer, the handler, and the flush of what it wrote.
 *
 * Reads are handed to on_traffic in place; only bytes the handler leaves
 * unconsumed are copied into the connection's own buffer, which exists
 * only while non-empty. What the handler wrote is sent before the loop
 * sleeps, with the other replies of the batch; a small write of the read
 * bytes themselves goes right after the handler returns (flush_if_fresh).
 * Also here: the loop's re-read list (edge-triggered sockets whose read
 * used its whole budget) and its parked readers.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/ioctl.h>
#include "base/vec.h"
#include "net/conn.h"
#include "net/sys.h"

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

/* The readable view: c's buffered bytes, all but the last `hidden`. */
static void
view_buffered(gnet_conn_t *c, size_t hidden)
{
	c->rp = c->in.data != NULL ? c->in.data + c->in.off : NULL;
	c->rlen = c->in.len - hidden;
}

/* More than max_inbound buffered: the bytes go, unseen ones with them,
 * and the connection closes with GNET_EINBOUND. */
static void
drop_inbound(gnet_conn_t *c)
{
	gnet__buf_release(&c->in);
	if (c->flags & GNET__C_RECV_HELD)
		gnet__conn_forget_unseen(c);
	view_buffered(c, 0);
	gnet__conn_begin_close(c, GNET_EINBOUND);
}

void
gnet__conn_wake(gnet_conn_t *c)
{
	if (gnet__conn_closing(c) || (c->flags & GNET__C_UDP))
		return;
	view_buffered(c, 0);
	gnet__conn_present(c, 1);
}

void
gnet__conn_present(gnet_conn_t *c, int wake_call)
{
	gnet_engine_t *eng = gnet__conn_eng(c);
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
		if (c->bh->ev.on_traffic == NULL) {
			gnet__conn_consume(c, c->rlen);
			break;
		}
		a = c->bh->ev.on_traffic(c, c->bh->udata);
		if (c->codec == NULL)
			break;
	}
	if (c->flags & GNET__C_VIEW_SCRATCH) {
		c->flags &= ~(unsigned)GNET__C_VIEW_SCRATCH;
		/* Keep what the handler left for the next call. */
		if (c->rlen != 0 && gnet__buf_append(&c->in, c->rp,
		    c->rlen) != 0) {
			gnet__conn_abort(c, GNET_ENOMEM);
			return;
		}
	}
	if (c->in.len == 0)
		gnet__buf_release(&c->in);
	view_buffered(c, 0);
	if (c->in.len > eng->opt.max_inbound)
		drop_inbound(c);
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

int
gnet__handles_push(gnet_handle_t **v, size_t *n, size_t *cap, gnet_handle_t h)
{
	gnet_handle_t *nv = gnet__vec_room(*v, *n, cap, sizeof(*nv));

	if (nv == NULL)
		return GNET_ENOMEM;
	*v = nv;
	nv[(*n)++] = h;
	return 0;
}

static void
schedule_reread(gnet__net_loop_t *nl, gnet_conn_t *c)
{
	if (c->flags & GNET__C_REREAD)
		return;
	if (gnet__handles_push(&nl->rereads, &nl->n_rereads, &nl->cap_rereads,
	    c->handle) != 0) {
		/* Out of memory: cannot remember it, so make this connection
		 * level-triggered; the poller then keeps reporting the bytes
		 * left behind. */
		c->flags |= GNET__C_LEVEL;
		gnet__poller_mod(&c->loop->poller, c->fd, c->handle,
		    c->ev_mask);
		return;
	}
	c->flags |= GNET__C_REREAD;
	gnet__loop_due(c->loop, nl->reread_bit);
}

void
gnet__conn_schedule_reread(gnet_conn_t *c)
{
	schedule_reread(c->nl, c);
}

/* Events on which a stream connection that is reading reads: bytes, or
 * the end of the stream or an error, which come after the bytes. */
#define STREAM_READ_EVENTS (GNET__POLL_IN | GNET__POLL_RDHUP | \
	GNET__POLL_HUP | GNET__POLL_ERR)

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

/* The peer's FIN, with everything before it taken: close as it asks.
 * With a codec, bytes still buffered are an unfinished frame. */
static void
peer_eof(gnet_conn_t *c)
{
	c->flags |= GNET__C_PEER_EOF;
	gnet__conn_begin_close(c, c->codec != NULL && c->in.len != 0 ?
	    GNET_ETRUNCATED : GNET_EEOF);
}

/* Act on what a read of c's socket returned: n bytes, or -1 and err. */
static void
took_read(gnet__net_loop_t *nl, gnet_conn_t *c, ssize_t n, int err)
{
	if (n > 0) {
		nl->bytes_in += (uint64_t)n;
		c->last_io_ns = nl->loop->now_ns;
		/* A full read may have left bytes behind, and after a FIN
		 * or an error the end of the stream is still to be read:
		 * edge-triggered polling reports neither again. */
		if ((size_t)n == nl->scratch_cap || (c->flags & GNET__C_HUP_SEEN))
			schedule_reread(nl, c);
		gnet__conn_open_held(nl);
		on_data(c, nl->scratch, (size_t)n);
	} else if (n == 0) {
		peer_eof(c);
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

	if (gnet__handles_push(&nl->parked_readers, &nl->n_parked_readers,
	    &nl->cap_parked_readers, c->handle) != 0)
		return; /* keep reading: better than losing track */
	c->flags |= GNET__C_PARKED;
	gnet__conn_sync_events(c);
	gnet__loop_due(c->loop, nl->parked_bit);
}

static void conn_io(gnet__net_loop_t *nl, gnet_conn_t *c, uint32_t events);

/*
 * Bytes received while a connection was not reading (a completion
 * backend's: the receive had taken them before it was cancelled) wait in
 * its buffer, and the handler is shown them once it reads again -- as
 * reads would have shown them, at most a read's worth (read_buffer_cap)
 * at a time, so that the watermark can pause it again in between. The
 * loop's unseen list says how many of c's buffered bytes are unseen: the
 * last ones, as the handler consumes from the front.
 */
static struct gnet__unseen *
unseen_of(gnet__net_loop_t *nl, gnet_handle_t h)
{
	size_t i;

	for (i = 0; i < nl->n_unseen; i++)
		if (nl->unseen[i].h == h)
			return &nl->unseen[i];
	return NULL;
}

static int
unseen_add(gnet_conn_t *c, size_t n)
{
	gnet__net_loop_t *nl = c->nl;
	struct gnet__unseen *u = unseen_of(nl, c->handle);

	if (u == NULL) {
		u = gnet__vec_room(nl->unseen, nl->n_unseen, &nl->cap_unseen,
		    sizeof(*u));
		if (u == NULL)
			return GNET_ENOMEM;
		nl->unseen = u;
		u = &nl->unseen[nl->n_unseen++];
		u->h = c->handle;
		u->n = 0;
	}
	u->n += n;
	c->flags |= GNET__C_RECV_HELD;
	return 0;
}

void
gnet__conn_forget_unseen(gnet_conn_t *c)
{
	gnet__net_loop_t *nl = c->nl;
	struct gnet__unseen *u = unseen_of(nl, c->handle);

	c->flags &= ~(unsigned)GNET__C_RECV_HELD;
	if (u != NULL)
		*u = nl->unseen[--nl->n_unseen];
}

/* The re-read of a connection holding unseen bytes: show the next read's
 * worth, and come back for the rest. */
static void
present_held(gnet_conn_t *c)
{
	gnet__net_loop_t *nl = c->nl;
	struct gnet__unseen *u;
	size_t rest = 0;

	if (!(c->flags & GNET__C_RECV_HELD) || !gnet__conn_reads(c))
		return;
	u = unseen_of(nl, c->handle);
	if (u != NULL && u->n > nl->scratch_cap - 1)
		rest = u->n - (nl->scratch_cap - 1);
	if (rest == 0) {
		gnet__conn_forget_unseen(c);
	} else {
		u->n = rest;
		schedule_reread(nl, c);
	}
	view_buffered(c, rest);
	gnet__conn_present(c, 0);
	if (rest == 0 && (c->flags & GNET__C_FIN_HELD)) {
		c->flags &= ~(unsigned)GNET__C_FIN_HELD;
		if (c->state == GNET__CS_OPEN)
			peer_eof(c);
	}
}

void
gnet__conns_reread(gnet__loop_t *l, void *arg)
{
	gnet__net_loop_t *nl = arg;
	size_t i, n = nl->n_rereads;

	/* Reads below may add connections (their budget ran out again):
	 * those wait for the next iteration. The array may move meanwhile,
	 * so it is indexed afresh each time. */
	for (i = 0; i < n; i++) {
		gnet_conn_t *c = gnet__conn_live(l, nl->rereads[i]);
		if (c == NULL)
			continue;
		c->flags &= ~(unsigned)GNET__C_REREAD;
		if (nl->ring) {
			present_held(c);
			continue;
		}
		/* conn_io reads only if c still reads; paused meanwhile,
		 * the resume's re-registration reports the waiting bytes. */
		conn_io(nl, c, GNET__POLL_IN);
	}
	/* What the reads added is due already (schedule_reread). */
	memmove(nl->rereads, nl->rereads + n,
	    (nl->n_rereads - n) * sizeof(*nl->rereads));
	nl->n_rereads -= n;
}

/* The START hook while readers are parked: they read again once the
 * loop's backlog for its peers has fallen well below the limit. */
void
gnet__conns_resume_parked(gnet__loop_t *l, void *arg)
{
	gnet__net_loop_t *nl = arg;
	size_t i;

	if (gnet__loop_backlog(l) > nl->max_parked /
	    GNET__PARKED_RESUME_DIVISOR) {
		gnet__loop_due(l, nl->parked_bit);
		return;
	}
	for (i = 0; i < nl->n_parked_readers; i++) {
		gnet_conn_t *c = gnet__conn_live(l, nl->parked_readers[i]);
		if (c == NULL)
			continue;
		c->flags &= ~(unsigned)GNET__C_PARKED;
		gnet__conn_sync_events(c);
	}
	nl->n_parked_readers = 0;
}

/*
 * Would flush_one do nothing for c, open and connected (flush_if_fresh
 * tested that)? So it is after an echo's held write went out whole: no
 * outbound block to send or give back, nothing armed, not paused, and
 * the registered events already what gnet__conn_sync_events would want.
 * Then it need not join the dirty list, the common case of an echo.
 */
static bool
flush_is_noop(const gnet_conn_t *c)
{
	return c->out.data == NULL && c->ev_mask == GNET__POLL_IN &&
	    !(c->flags & GNET__C_FLUSH_WORK);
}

/*
 * What c's own on_traffic just wrote. A write held in the loop's scratch
 * buffer (an echo's: bytes gnet_conn_peek showed, sent without a copy)
 * must go now, before the next read reuses the buffer: it is sent
 * straight from there, or copied when c cannot take it now. Anything
 * else waits in the outbound buffer for the pass over the dirty list
 * before the loop sleeps, so the replies to one batch of events leave
 * back to back: each send on loopback may wake its peer, and sends
 * spread between the batch's reads find the peers asleep again more
 * often (on a VM each such wakeup is an interrupt sent between CPUs, a
 * costly exit), where sends made together find them still awake.
 */
static void
flush_if_fresh(gnet__net_loop_t *nl, gnet_conn_t *c)
{
	if (nl->held.conn == NULL) {
		nl->held.open = false;
		return;
	}
	if (c->state == GNET__CS_OPEN && nl->held.conn == c) {
		gnet__conn_send_held(nl, c);
		if (!flush_is_noop(c))
			gnet__conn_mark_dirty(c);
		return;
	}
	/* Held for another connection: copied, as the next read reuses
	 * the scratch buffer. */
	gnet__conn_send_held(nl, NULL);
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

/*
 * The peer sent its FIN while reading is paused. With nothing unread
 * before it, the connection ends as a reading one would on that FIN:
 * what it owes is flushed, then on_close(GNET_EEOF) -- instead of
 * holding its resources until something else ends it. Bytes unread
 * before the FIN are the peer's last words: they wait for reading to
 * resume (the poller reports them, and the FIN, when it does), and are
 * delivered before the close.
 */
static void
peer_finished_while_paused(gnet_conn_t *c)
{
	int unread = 0;

	/* Bytes received through the ring and kept count as unread: the
	 * receive armed again at the resume meets the FIN after them. */
	if (c->flags & GNET__C_RECV_HELD)
		return;
	if (ioctl(c->fd, FIONREAD, &unread) != 0 || unread != 0)
		return;
	peer_eof(c);
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
	if (nl->ring && (c->ev_mask & GNET__POLL_IN))
		return; /* its receives report its bytes, end and errors */
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
	} else if ((events & GNET__POLL_RDHUP) && c->state == GNET__CS_OPEN) {
		peer_finished_while_paused(c);
	}
}

/* Keep n received bytes in c's buffer for when it reads again, within
 * max_inbound. */
static void
keep_received(gnet_conn_t *c, const unsigned char *data, size_t n)
{
	if (gnet__buf_append(&c->in, data, n) != 0 || unseen_add(c, n) != 0) {
		gnet__conn_abort(c, GNET_ENOMEM);
		return;
	}
	if (c->in.len > gnet__conn_eng(c)->opt.max_inbound)
		drop_inbound(c);
}

/*
 * A completion backend's receive for c: res bytes in the poller's buffer
 * (valid until the next wait), the peer's FIN (0), or an error. A
 * receive can complete after c stopped reading -- the bytes had left the
 * socket before the cancel -- and such bytes are the peer's all the
 * same: they are kept, unseen, and shown when c reads again
 * (present_held). A closing connection drops them, as it would leave them
 * unread in the socket.
 */
static void
received(gnet__net_loop_t *nl, gnet_conn_t *c, uint32_t events, int32_t res)
{
	gnet__poller_t *p = &nl->loop->poller;
	const unsigned char *data;
	size_t show;

	res = gnet__sys_received(res);
	if (res < 0) {
		if (!gnet__conn_closing(c))
			gnet__conn_abort(c, res);
		return;
	}
	if (res == 0) {
		/* A FIN behind unseen bytes waits for them (present_held). */
		if (c->flags & GNET__C_RECV_HELD)
			c->flags |= GNET__C_FIN_HELD;
		else if (c->state == GNET__CS_OPEN)
			peer_eof(c);
		return;
	}
	nl->bytes_in += (uint64_t)res;
	c->last_io_ns = nl->loop->now_ns;
	if (c->state != GNET__CS_OPEN)
		return;
	if (!gnet__conn_reads(c)) {
		keep_received(c, p->ops->received(p, events), (size_t)res);
		return;
	}
	if (gnet__net_readers_parked(nl->loop, nl)) {
		keep_received(c, p->ops->received(p, events), (size_t)res);
		gnet__conn_park_reader(c);
		return;
	}
	/* Behind unseen bytes, these wait their turn (present_held). */
	if (c->flags & GNET__C_RECV_HELD) {
		keep_received(c, p->ops->received(p, events), (size_t)res);
		schedule_reread(nl, c);
		return;
	}
	data = p->ops->received(p, events);
	/* A read's worth at a time, as reads would show them
	 * (read_buffer_cap); the rest waits for the next iteration. */
	show = (size_t)res < nl->scratch_cap ? (size_t)res : nl->scratch_cap;
	gnet__conn_open_held_at(nl, data, show);
	on_data(c, data, show);
	flush_if_fresh(nl, c);
	if (show < (size_t)res && c->state == GNET__CS_OPEN) {
		keep_received(c, data + show, (size_t)res - show);
		schedule_reread(nl, c);
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
void
gnet__conn_io(gnet__loop_t *l, gnet__slot_t *s, uint32_t events,
    int32_t res)
{
	gnet__net_loop_t *nl = gnet__net_loop(l);
	gnet_conn_t *c = s->obj;
	ssize_t n;

	if (events & GNET__POLL_DONE) {
		if (events & GNET__POLL_IN)
			received(nl, c, events, res);
		else
			gnet__conn_sent(nl, c, res);
		return;
	}
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
