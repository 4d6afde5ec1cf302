/*
 * The connection actor's flush: sending what is queued, arming
 * writability for the rest, ending a close once the output is out, and
 * the loop's pass over its dirty connections before it sleeps.
 *
 * With a completion backend (nl->ring) a stream's output is not sent here
 * but handed to the poller, which sends it as the loop's next wait
 * submits -- every connection's output of a turn in that one system call
 * -- and reports how much went (gnet__conn_sent). The handing over waits
 * for the end of the pass (submit_sends): until the wait, nothing may
 * move the bytes, and a later connection's flush can run callbacks that
 * write to an earlier one.
 */
#include <errno.h>
#include <sys/socket.h>
#include "net/conn.h"
#include "net/sys.h"

/* The linger bound measures the peer's lack of progress, not the close's
 * age: a slow reader that keeps taking bytes is never cut off. While
 * closing, last_io_ns is the time the peer last took bytes (or the close
 * began); the timer fires linger_ms after it and, if bytes moved in the
 * meantime, is set again from the newer stamp (gnet__conn_linger_due). */
static void
arm_linger_at(gnet_conn_t *c, uint64_t at_ns)
{
	c->flags |= GNET__C_LINGER_SET;
	if (gnet__conn_timer(c, GNET__MSG_LINGER, at_ns) != 0)
		gnet__conn_abort(c, GNET_ENOMEM);
}

static uint64_t
linger_ns(const gnet_conn_t *c)
{
	return (uint64_t)gnet__conn_opt(c)->linger_ms * GNET__NS_PER_MS;
}

static void
arm_linger(gnet_conn_t *c)
{
	if (c->flags & GNET__C_LINGER_SET)
		return;
	c->last_io_ns = gnet__now_ns();
	arm_linger_at(c, c->last_io_ns + linger_ns(c));
}

void
gnet__conn_linger_due(gnet_conn_t *c)
{
	uint64_t now = gnet__now_ns();

	c->flags &= ~(unsigned)GNET__C_LINGER_SET;
	if (c->state != GNET__CS_CLOSING || c->out.len == 0)
		return;
	if (now - c->last_io_ns >= linger_ns(c))
		gnet__conn_abort(c, GNET_ELINGER);
	else
		arm_linger_at(c, c->last_io_ns + linger_ns(c));
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
			nl->bytes_out += (uint64_t)n;
			gnet__buf_consume(&c->out, (size_t)n);
			/* The loop's clock can be a whole wait old; the linger
			 * bound of a closing connection needs the real time. */
			c->last_io_ns = c->state == GNET__CS_CLOSING ?
			    gnet__now_ns() : nl->loop->now_ns;
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

/* What a flush does once the socket took what it would: arm writability
 * for the rest or give the block back, resume reading below the low
 * watermark, and end a close whose output is out. */
static void
after_send(gnet__net_loop_t *nl, gnet_conn_t *c)
{
	const gnet_options_t *o = nl->net->opt;

	gnet__conn_soft_limit_flushed(c);
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
		gnet__conn_set_paused(c, 0);
	if (c->state == GNET__CS_CLOSING && c->out.len == 0 &&
	    !(c->flags & GNET__C_DIRTY)) {
		gnet__conn_finish(c);
		return;
	}
	gnet__conn_sync_events(c);
}

/* Ring mode: c's output goes to the poller at the end of the pass. */
static void
queue_send(gnet__net_loop_t *nl, gnet_conn_t *c)
{
	if (gnet__handles_push(&nl->sends, &nl->n_sends, &nl->cap_sends,
	    c->handle) != 0) {
		/* Sent the old way instead. */
		if (stream_send(nl, c) == 0)
			after_send(nl, c);
		return;
	}
	c->flags |= GNET__C_SEND_PENDING;
}

/* The end of the pass: hand the poller every queued output as it now
 * stands. Nothing runs between this and the wait that sends it. */
static void
submit_sends(gnet__net_loop_t *nl)
{
	gnet__poller_t *p = &nl->loop->poller;
	size_t i;

	for (i = 0; i < nl->n_sends; i++) {
		gnet_conn_t *c = gnet__conn_live(nl->loop, nl->sends[i]);
		if (c == NULL || !(c->flags & GNET__C_SEND_PENDING))
			continue;
		/* A sanitizer build may make it short (base/fault.h). */
		if (c->out.len != 0 && p->ops->send(p, c->fd,
		    c->out.data + c->out.off, gnet__fault_short(c->out.len)) == 0)
			continue;
		/* Emptied meanwhile, or the ring refused it: flush again,
		 * where a refusal is sent the old way. */
		c->flags &= ~(unsigned)GNET__C_SEND_PENDING;
		if (c->out.len != 0 && stream_send(nl, c) != 0)
			continue;
		gnet__conn_mark_dirty(c);
	}
	nl->n_sends = 0;
}

void
gnet__conn_sent(gnet__net_loop_t *nl, gnet_conn_t *c, int32_t res)
{
	bool failed = res < 0 && res != -EAGAIN && res != -EINTR;

	c->flags &= ~(unsigned)GNET__C_SEND_PENDING;
	if (c->flags & GNET__C_SEND_HELD) {
		/* A held write was never in the outbound buffer: what did
		 * not go is put there. */
		if (gnet__conn_held_sent(c, res > 0 ? (size_t)res : 0,
		    failed) != 0) {
			gnet__conn_abort(c, GNET_ENOMEM);
			return;
		}
	} else if (res > 0) {
		gnet__buf_consume(&c->out, (size_t)res);
	}
	if (res > 0) {
		nl->bytes_out += (uint64_t)res;
		c->last_io_ns = c->state == GNET__CS_CLOSING ?
		    gnet__now_ns() : nl->loop->now_ns;
		/* Written meanwhile, or the socket took part: the pass
		 * sends the rest, and writability is watched only once the
		 * socket takes nothing. */
		if (c->out.len != 0) {
			gnet__conn_mark_dirty(c);
			return;
		}
	} else if (failed) {
		/* The peer is gone (see stream_send). The pass finishes it:
		 * it may be on the dirty list already. */
		c->close_reason = res;
		c->state = GNET__CS_ABORTING;
	}
	if (c->state == GNET__CS_ABORTING) {
		gnet__conn_mark_dirty(c);
		return;
	}
	after_send(nl, c);
}

void
gnet__conn_flush_one(gnet__net_loop_t *nl, gnet_conn_t *c)
{
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
	} else if (nl->ring) {
		/* A send in the ring: its completion flushes again. */
		if (c->flags & GNET__C_SEND_PENDING)
			return;
		if (c->out.len != 0) {
			queue_send(nl, c);
			return;
		}
	} else if (stream_send(nl, c) != 0) {
		return;
	}
	after_send(nl, c);
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
			gnet__conn_flush_one(nl, c);
			c = next;
		}
	}
	/* Flushes may have marked connections dirty again (a close's
	 * callback writing to another); the loop above took them all. */
	gnet__loop_not_due(l, nl->flush_bit);
	if (nl->n_sends != 0)
		submit_sends(nl);
}
