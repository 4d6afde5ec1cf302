/*
 * The codec stage of the connection actor. Frames are decoded in place
 * over the readable view (the loop's scratch buffer or the connection's
 * inbound buffer) and presented to on_traffic one at a time; only a
 * partial frame left at the end is copied, by the caller, into the
 * inbound buffer. Writes are encoded straight into the outbound buffer.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <string.h>
#include "kernel/sys.h"
#include "net/conn.h"

void
gnet__conn_release_codec(gnet_conn_t *c)
{
	if (c->codec_state != NULL && c->codec_state != (void *)c->codec_inline)
		free(c->codec_state);
	c->codec_state = NULL;
	c->codec = NULL;
}

int
gnet__conn_attach_codec(gnet_conn_t *c, const gnet_codec_t *codec)
{
	void *st = NULL;
	size_t sz = codec != NULL ? codec->state_size : 0;

	if (sz > sizeof(c->codec_inline)) {
		st = calloc(1, sz);
		if (st == NULL)
			return GNET_ENOMEM;
	}
	gnet__conn_release_codec(c);
	if (sz != 0 && st == NULL) {
		memset(c->codec_inline, 0, sizeof(c->codec_inline));
		st = c->codec_inline;
	}
	c->codec = codec;
	c->codec_state = st;
	return 0;
}

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
	struct msghdr mh = { .msg_iov = (struct iovec *)(uintptr_t)iov,
		.msg_iovlen = (size_t)iovcnt };
	ssize_t n;

	do {
		/* One buffer (the echo case) takes send(), which skips the
		 * msghdr and iovec copies of sendmsg. */
		n = iovcnt == 1 ? gnet__sys_send(c->fd, iov[0].iov_base,
		    iov[0].iov_len, MSG_NOSIGNAL) :
		    gnet__sys_sendmsg(c->fd, &mh, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	GNET__STAT_ADD(c->loop, syscalls_io, 1);
	if (n <= 0)
		return 0;
	c->last_io_ns = c->loop->now_ns;
	return (size_t)n;
}

int
gnet__conn_append(gnet_conn_t *c, const struct iovec *iov, int iovcnt,
    size_t len)
{
	size_t skip = 0;
	int i, rc = 0;

	if (c->flags & GNET__C_UDP)
		return gnet__udp_queue(c, c->plen != 0 ?
		    (const struct sockaddr *)&c->paddr : NULL, c->plen, iov, iovcnt, len);
	if (c->codec != NULL) {
		rc = gnet__codec_encode_buf(c->codec, &c->out, iov, iovcnt, len);
	} else {
		if (len >= WRITE_THROUGH_MIN && c->out.len == 0 &&
		    !(c->flags & GNET__C_CONNECTING))
			skip = write_through(c, iov, iovcnt);
		/* Queue what the socket did not take. */
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
	}
	if (rc == 0 && c->out.len != 0) {
		gnet__conn_mark_dirty(c);
		/* Written from another connection's callback (a proxy), the
		 * watermark must still be seen now, not at c's next event. */
		gnet__conn_check_high(c);
	}
	return rc;
}

gnet_action_t
gnet__conn_deliver_frames(gnet_conn_t *c)
{
	gnet_engine_t *eng = c->loop->eng;
	gnet_action_t a = GNET_NONE;

	while (c->codec != NULL && c->rlen != 0 && a == GNET_NONE &&
	    !(c->flags & GNET__C_CLOSING)) {
		const unsigned char *base = c->rp;
		size_t avail = c->rlen;
		gnet_frame_t f;
		int r;

		r = gnet_codec_decode(c->codec, c->codec_state, base, avail, &f);
		if (r == 0)
			break;
		if (r < 0) {
			/* The stream cannot be trusted past a bad frame: drop
			 * the rest of the input, flush replies already made. */
			gnet__conn_consume(c, c->rlen);
			gnet__conn_begin_close(c, r);
			break;
		}
		c->flags |= GNET__C_IN_FRAME;
		c->rp = f.data;
		c->rlen = f.len;
		if (eng->ev.on_traffic != NULL)
			a = eng->ev.on_traffic(c, eng->udata);
		c->flags &= ~(unsigned)GNET__C_IN_FRAME;
		c->rp = base;
		c->rlen = avail;
		gnet__conn_consume(c, f.consumed);
	}
	return a;
}
