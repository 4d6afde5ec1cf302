/*
 * The codec stage of the connection actor. Frames are decoded in place
 * over the readable view (the loop's scratch buffer or the connection's
 * inbound buffer) and presented to on_traffic one at a time; only a
 * partial frame left at the end is copied, by the caller, into the
 * inbound buffer. Writes are encoded straight into the outbound buffer
 * (net/conn_write.c).
 */
#include <stdlib.h>
#include <string.h>
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

gnet_action_t
gnet__conn_deliver_frames(gnet_conn_t *c)
{
	gnet_action_t a = GNET_NONE;

	while (c->codec != NULL && c->rlen != 0 && a == GNET_NONE &&
	    !gnet__conn_closing(c)) {
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
		if (c->bh->ev.on_traffic != NULL)
			a = c->bh->ev.on_traffic(c, c->bh->udata);
		c->flags &= ~(unsigned)GNET__C_IN_FRAME;
		c->rp = base;
		c->rlen = avail;
		gnet__conn_consume(c, f.consumed);
	}
	return a;
}
