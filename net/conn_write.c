/*
 * The connection's write path: what a handler's gnet_conn_write does with
 * the bytes before the flush sends them.
 *
 * A write is copied into the outbound buffer, to be sent once per event
 * or iteration however many pieces the handler wrote -- except in two
 * cases where the copy is what a raw loop would not pay:
 *
 *  - a big write (WRITE_THROUGH_MIN or more) with nothing queued goes to
 *    the socket at once, from the caller's memory;
 *  - the one write of an echo-like handler, whose bytes are the ones it
 *    was just handed (they lie in the loop's scratch buffer), is held by
 *    reference and sent from there right after the handler returns. The
 *    scratch buffer cannot change before that send: the next read into it
 *    comes after. Any other write, to this connection or another, first
 *    copies the held bytes into their outbound buffer (settling them), so
 *    order and batching are as if they had been copied all along.
 */
#include <errno.h>
#include <stdint.h>
#include <sys/socket.h>
#include "base/vec.h"
#include "net/sys.h"
#include "net/conn.h"

/* Writes at least this big go straight to the socket when nothing is
 * queued before them: copying them into the outbound buffer (and
 * allocating it) is what set gnet apart from a raw loop on 4 KiB echoes.
 * Smaller writes are copied and batched into the end-of-iteration flush,
 * so a handler writing many small pieces still costs one send. */
#define WRITE_THROUGH_MIN 2048

/* Send what the socket takes now; returns the bytes sent (0 on EAGAIN or
 * error: the flush pass meets the error again and closes properly). */
static size_t
write_through(gnet_conn_t *c, const struct iovec *iov, int iovcnt)
{
	ssize_t n;

	do {
		/* One buffer (the echo case) takes send(), which skips the
		 * msghdr and iovec copies of sendmsg. */
		if (iovcnt == 1) {
			n = gnet__sys_send(c->fd, iov[0].iov_base,
			    iov[0].iov_len, MSG_NOSIGNAL);
		} else {
			struct msghdr mh = {
				.msg_iov = (struct iovec *)(uintptr_t)iov,
				.msg_iovlen = (size_t)iovcnt };
			n = gnet__sys_sendmsg(c->fd, &mh, MSG_NOSIGNAL);
		}
	} while (n < 0 && errno == EINTR);
	GNET__STAT_ADD(c->nl, syscalls_io, 1);
	if (n <= 0)
		return 0;
	c->nl->bytes_out += (uint64_t)n;
	c->last_io_ns = c->loop->now_ns;
	return (size_t)n;
}

/* Copy bytes the socket did not take into the outbound buffer. */
static int
queue_rest(gnet_conn_t *c, const struct iovec *iov, int iovcnt, size_t skip)
{
	int i, rc = 0;

	for (i = 0; i < iovcnt && rc == 0; i++) {
		size_t l = iov[i].iov_len;
		if (skip >= l) {
			skip -= l;
			continue;
		}
		rc = gnet__buf_append(&c->out,
		    (const char *)iov[i].iov_base + skip, l - skip);
		skip = 0;
	}
	return rc;
}

/* Can this write be held by reference instead of copied? Only the first
 * of a stream connection with nothing queued, while a read's handlers
 * run, of bytes that lie wholly in the scratch buffer the read filled. */
static bool
can_hold(const gnet_conn_t *c, const struct iovec *iov, int iovcnt)
{
	const gnet__net_loop_t *nl = c->nl;
	uintptr_t p, lo = (uintptr_t)nl->held.lo;

	if (!nl->held.open || iovcnt != 1 || c->out.len != 0 ||
	    c->state == GNET__CS_CONNECTING ||
	    (c->flags & GNET__C_SEND_PENDING))
		return false;
	/* A syscall sends a big write at once anyway (write_through); the
	 * ring would copy it, so there any size is held. */
	if (iov[0].iov_len >= WRITE_THROUGH_MIN && !nl->ring)
		return false;
	p = (uintptr_t)iov[0].iov_base;
	return p >= lo && p - lo < nl->held.cap &&
	    iov[0].iov_len <= nl->held.cap - (p - lo);
}

void
gnet__conn_settle_held(gnet__net_loop_t *nl)
{
	gnet_conn_t *c = nl->held.conn;
	struct iovec iov;

	if (c == NULL)
		return;
	nl->held.conn = NULL;
	iov.iov_base = (void *)(uintptr_t)nl->held.p;
	iov.iov_len = nl->held.len;
	if (queue_rest(c, &iov, 1, 0) != 0)
		gnet__conn_abort(c, GNET_ENOMEM);
	/* A held write is on no list (the flush after its read sends or
	 * settles it); as a copy it waits for the flush pass like any. */
	gnet__conn_mark_dirty(c);
}

/*
 * Ring mode: a held write goes to the poller's send straight from the
 * receive's buffer, which stays as it is until the loop's next wait, the
 * one that sends it (kernel/poller.h). Its record says what the
 * completion must put back in front of the outbound buffer if the socket
 * took only part of it.
 */
static bool
ring_send_held(gnet__net_loop_t *nl, gnet_conn_t *c)
{
	gnet__poller_t *p = &nl->loop->poller;
	struct gnet__held_send *r;

	r = gnet__vec_room(nl->held_sends, nl->n_held_sends,
	    &nl->cap_held_sends, sizeof(*r));
	if (r == NULL)
		return false;
	nl->held_sends = r;
	if (p->ops->send(p, c->fd, nl->held.p,
	    gnet__fault_short(nl->held.len)) != 0)
		return false;
	r = &nl->held_sends[nl->n_held_sends++];
	r->h = c->handle;
	r->p = nl->held.p;
	r->len = nl->held.len;
	c->flags |= GNET__C_SEND_PENDING | GNET__C_SEND_HELD;
	return true;
}

int
gnet__conn_held_sent(gnet_conn_t *c, size_t sent, bool failed)
{
	gnet__net_loop_t *nl = c->nl;
	gnet__buf_t joined = { 0 };
	size_t i;
	int rc = 0;

	c->flags &= ~(unsigned)GNET__C_SEND_HELD;
	for (i = 0; i < nl->n_held_sends; i++)
		if (nl->held_sends[i].h == c->handle)
			break;
	if (i == nl->n_held_sends)
		return 0;
	if (!failed && sent < nl->held_sends[i].len) {
		/* The unsent tail goes before whatever was written since. */
		rc = gnet__buf_append(&joined, nl->held_sends[i].p + sent,
		    nl->held_sends[i].len - sent);
		if (rc == 0 && c->out.len != 0)
			rc = gnet__buf_append(&joined,
			    c->out.data + c->out.off, c->out.len);
		gnet__buf_release(&c->out);
		c->out = joined;
	}
	nl->held_sends[i] = nl->held_sends[--nl->n_held_sends];
	return rc;
}

void
gnet__conn_send_held(gnet__net_loop_t *nl, gnet_conn_t *c)
{
	if (c != NULL && nl->held.conn == c && nl->ring) {
		if (!ring_send_held(nl, c))
			gnet__conn_settle_held(nl);
		nl->held.conn = NULL;
	}
	if (c != NULL && nl->held.conn == c) {
		struct iovec iov = { (void *)(uintptr_t)nl->held.p, nl->held.len };
		size_t sent = write_through(c, &iov, 1);
		nl->held.conn = NULL;
		/* What the socket did not take (full, or failing: the flush
		 * meets the error again) is queued like any write. */
		if (sent < iov.iov_len && queue_rest(c, &iov, 1, sent) != 0)
			gnet__conn_abort(c, GNET_ENOMEM);
	}
	if (nl->held.conn != NULL)
		gnet__conn_settle_held(nl);
	nl->held.open = false;
}

/*
 * The outbound limits, Redis's client-output-buffer-limit for a server
 * that pushes: nothing else bounds a connection whose program writes
 * without being asked (the high watermark only stops reading).
 *
 * The soft limit needs "above it for outbound_soft_ms without a break"
 * with no room left in the connection for a time stamp: one timer is set
 * when the output first rises above the limit, and a flush that finds it
 * at or below marks the connection (SOFT_DIPPED). A timer that finds no
 * mark has seen the output above the limit all along and aborts; one that
 * finds a mark but the output above again starts a new period. So the
 * abort comes no sooner than outbound_soft_ms of continuous excess, and
 * at most twice that late.
 */
static void
arm_soft_limit(gnet_conn_t *c)
{
	c->flags = (c->flags | GNET__C_SOFT_SET) & ~(unsigned)GNET__C_SOFT_DIPPED;
	if (gnet__conn_timer(c, GNET__MSG_SOFT_LIMIT, gnet__now_ns() +
	    (uint64_t)gnet__conn_opt(c)->outbound_soft_ms * GNET__NS_PER_MS) != 0)
		gnet__conn_abort(c, GNET_ENOMEM);
}

void
gnet__conn_soft_limit_due(gnet_conn_t *c)
{
	bool dipped = (c->flags & GNET__C_SOFT_DIPPED) != 0;

	c->flags &= ~(unsigned)(GNET__C_SOFT_SET | GNET__C_SOFT_DIPPED);
	if (gnet__conn_closing(c) ||
	    gnet__conn_out_len(c) <= gnet__conn_opt(c)->outbound_soft_limit)
		return;
	if (dipped)
		arm_soft_limit(c);
	else
		gnet__conn_abort(c, GNET_EOUTBOUND);
}

/* Would len more bytes take the output past max_outbound? (A codec's
 * header may have taken it a little past already.) */
static bool
over_hard_limit(const gnet_conn_t *c, size_t len)
{
	size_t max = gnet__conn_opt(c)->max_outbound, out = gnet__conn_out_len(c);

	return out > max || len > max - out;
}

static void
check_soft_limit(gnet_conn_t *c)
{
	size_t soft = gnet__conn_opt(c)->outbound_soft_limit;

	if (soft != 0 && !(c->flags & GNET__C_SOFT_SET) &&
	    gnet__conn_out_len(c) > soft)
		arm_soft_limit(c);
}

int
gnet__conn_append(gnet_conn_t *c, const struct iovec *iov, int iovcnt,
    size_t len)
{
	gnet__net_loop_t *nl = c->nl;
	size_t skip = 0;
	int rc;

	if (c->flags & GNET__C_UDP)
		return gnet__udp_queue(c, gnet__conn_addr(c, GNET__ADDR_PEER, NULL),
		    c->addr_len[GNET__ADDR_PEER], iov, iovcnt, len);
	if (over_hard_limit(c, len)) {
		/* The connection is given up, not the write alone: a stream
		 * with a hole in it is worth nothing. */
		gnet__conn_abort(c, GNET_EOUTBOUND);
		return GNET_EOUTBOUND;
	}
	/* Whatever this write is, a held one goes first. */
	if (nl->held.conn != NULL)
		gnet__conn_settle_held(nl);
	if (c->codec != NULL) {
		rc = gnet__codec_encode_buf(c->codec, &c->out, iov, iovcnt, len);
	} else if (len != 0 && can_hold(c, iov, iovcnt)) {
		nl->held.conn = c;
		nl->held.p = iov[0].iov_base;
		nl->held.len = len;
		rc = 0;
	} else {
		/* With a completion backend, sends go through the ring. */
		if (len >= WRITE_THROUGH_MIN && c->out.len == 0 &&
		    c->state != GNET__CS_CONNECTING && !nl->ring)
			skip = write_through(c, iov, iovcnt);
		rc = queue_rest(c, iov, iovcnt, skip);
	}
	if (rc == 0 && gnet__conn_out_len(c) != 0) {
		/* A held write is flushed right after its read's handlers
		 * (flush_if_fresh), so it needs no place on the dirty list. */
		if (nl->held.conn != c)
			gnet__conn_mark_dirty(c);
		/* Written from another connection's callback (a proxy), the
		 * watermark must still be seen now, not at c's next event. */
		gnet__conn_check_high(c);
		check_soft_limit(c);
	}
	return rc;
}
