/*
 * Line and delimiter codecs: a frame ends with a delimiter byte sequence,
 * which is stripped on decode and appended on encode (netty's
 * DelimiterBasedFrameDecoder and LineBasedFrameDecoder, failing fast).
 *
 * The per-connection state remembers how far an incomplete frame was
 * already searched, so a long frame arriving in many small reads is
 * scanned once in all (O(bytes)), not once per read.
 */
#include <string.h>
#include "codecs/codec.h"

/* Longest delimiter accepted: longer ones are protocol framing a codec
 * of its own should handle. */
#define DELIM_MAX 64

typedef struct delim_cfg {
	size_t max_frame;
	size_t dlen;
	int strip_cr;          /* line mode: "\r\n" ends a line as "\n" does */
	unsigned char delim[DELIM_MAX];
} delim_cfg_t;

typedef struct delim_state {
	size_t scanned;        /* bytes already searched without a match */
} delim_state_t;

static const unsigned char *
find(const delim_cfg_t *d, const unsigned char *p, size_t n)
{
	if (d->dlen == 1)
		return memchr(p, d->delim[0], n);
	return memmem(p, n, d->delim, d->dlen);
}

static int
delim_decode(void *cfg, void *state, const unsigned char *in, size_t n,
    gnet_frame_t *f)
{
	const delim_cfg_t *d = cfg;
	delim_state_t *st = state;
	const unsigned char *hit;
	size_t from = 0, pos, len;

	/* A match may straddle the previous end: back up dlen - 1 bytes.
	 * An input shorter than what we scanned is a new stream. */
	if (st->scanned <= n && st->scanned >= d->dlen)
		from = st->scanned - (d->dlen - 1);
	hit = find(d, in + from, n - from);
	if (hit == NULL) {
		st->scanned = n;
		/* Without a delimiter among the first max_frame + dlen bytes
		 * (+1 for a line's "\r"), the frame is already too long. */
		if (n >= d->dlen + (size_t)d->strip_cr &&
		    n - d->dlen - (size_t)d->strip_cr >= d->max_frame)
			return GNET_EFRAMESIZE;
		return 0;
	}
	st->scanned = 0;
	pos = (size_t)(hit - in);
	len = pos;
	if (d->strip_cr && len != 0 && in[len - 1] == '\r')
		len--;
	if (len > d->max_frame)
		return GNET_EFRAMESIZE;
	f->data = in;
	f->len = len;
	f->consumed = pos + d->dlen;
	return 1;
}

static int
delim_encode(void *cfg, gnet_codec_sink_t *out, const struct iovec *iov,
    int iovcnt, size_t len)
{
	const delim_cfg_t *d = cfg;
	int rc = gnet_codec_sink_writev(out, iov, iovcnt);

	return rc != 0 ? rc : gnet_codec_sink_write(out, d->delim, d->dlen);
}

static int
make(gnet_codec_t **out, const void *delim, size_t dlen, size_t max_frame,
    int strip_cr)
{
	gnet_codec_def_t def = {
		.decode = delim_decode,
		.encode = delim_encode,
		.state_size = sizeof(delim_state_t),
		.max_frame = max_frame,
	};
	delim_cfg_t d;

	if (out != NULL)
		*out = NULL;
	if (out == NULL || delim == NULL || dlen == 0 || dlen > DELIM_MAX)
		return GNET_EINVAL;
	memset(&d, 0, sizeof(d));
	d.max_frame = max_frame != 0 ? max_frame : GNET_CODEC_MAX_FRAME;
	d.dlen = dlen;
	d.strip_cr = strip_cr;
	memcpy(d.delim, delim, dlen);
	return gnet__codec_new(out, &def, &d, sizeof(d), 0);
}

int
gnet_codec_new_line(gnet_codec_t **out, size_t max_frame)
{
	return make(out, "\n", 1, max_frame, 1);
}

int
gnet_codec_new_delimiter(gnet_codec_t **out, const void *delim, size_t dlen,
    size_t max_frame)
{
	return make(out, delim, dlen, max_frame, 0);
}
