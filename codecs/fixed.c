/*
 * Fixed-length codec: every frame is exactly frame_len bytes. Encoding
 * checks the payload is whole frames and passes it through, so a program
 * can write several frames in one call.
 */
#include "codecs/codec.h"

typedef struct fixed_cfg {
	size_t frame_len;
} fixed_cfg_t;

static int
fixed_decode(void *cfg, void *state, const unsigned char *in, size_t n,
    gnet_frame_t *f)
{
	const fixed_cfg_t *x = cfg;

	if (n < x->frame_len)
		return 0;
	f->data = in;
	f->len = x->frame_len;
	f->consumed = x->frame_len;
	return 1;
}

static int
fixed_encode(void *cfg, gnet_codec_sink_t *out, const struct iovec *iov,
    int iovcnt, size_t len)
{
	const fixed_cfg_t *x = cfg;

	if (len % x->frame_len != 0)
		return GNET_EINVAL;
	return gnet_codec_sink_writev(out, iov, iovcnt);
}

int
gnet_codec_new_fixed(gnet_codec_t **out, size_t frame_len)
{
	gnet_codec_def_t def = {
		.decode = fixed_decode,
		.encode = fixed_encode,
		.max_frame = frame_len,
	};
	fixed_cfg_t x = { frame_len };

	if (out != NULL)
		*out = NULL;
	if (out == NULL || frame_len == 0)
		return GNET_EINVAL;
	return gnet__codec_new(out, &def, &x, sizeof(x), 0);
}
