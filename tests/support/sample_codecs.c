/*
 * sample_codecs.c -- the TLV, never-decoding and pass-through custom
 * codecs (see sample_codecs.h).
 */
#include "sample_codecs.h"

#include <stdlib.h>

struct tlv_cfg {
	unsigned char type;
};

int tlv_free_calls;

static int
tlv_decode(void *cfg, void *state, const unsigned char *in, size_t n,
    gnet_frame_t *f)
{
	const struct tlv_cfg *t = cfg;
	struct tlv_state *st = state;
	size_t len;

	if (n < TLV_HDR)
		return 0;
	if (in[0] != t->type)
		return GNET_EBADFRAME; /* the codec's own rejection */
	len = (size_t)in[1] << 8 | in[2];
	if (n < TLV_HDR + len)
		return 0;
	st->frames++;
	f->data = in + TLV_HDR;
	f->len = len;
	f->consumed = TLV_HDR + len;
	return 1;
}

int
tlv_encode(void *cfg, gnet_codec_sink_t *out, const struct iovec *iov,
    int iovcnt, size_t len)
{
	const struct tlv_cfg *t = cfg;
	unsigned char hdr[TLV_HDR] = { t->type, (unsigned char)(len >> 8),
	    (unsigned char)len };
	int rc;

	if (len > TLV_MAX_VALUE)
		return GNET_EFRAMESIZE;
	rc = gnet_codec_sink_write(out, hdr, sizeof hdr);
	return rc != 0 ? rc : gnet_codec_sink_writev(out, iov, iovcnt);
}

static void
tlv_free_cfg(void *cfg)
{
	tlv_free_calls++;
	free(cfg);
}

int
make_tlv(gnet_codec_t **out)
{
	struct tlv_cfg *t = malloc(sizeof *t);
	int rc;

	if (t == NULL)
		return GNET_ENOMEM;
	t->type = TLV_TYPE;
	gnet_codec_def_t def = { .size = sizeof(gnet_codec_def_t),
		.decode = tlv_decode,
		.encode = tlv_encode,
		.free_cfg = tlv_free_cfg,
		.cfg = t,
		.state_size = sizeof(struct tlv_state),
		.max_frame = TLV_HDR + TLV_MAX_VALUE,
	};
	rc = gnet_codec_new_custom(out, &def);
	if (rc != 0)
		free(t);
	return rc;
}

int
never_decode(void *cfg, void *state, const unsigned char *in, size_t n,
    gnet_frame_t *f)
{
	(void)cfg;
	(void)state;
	(void)in;
	(void)n;
	(void)f;
	return 0;
}

int
make_passthrough(gnet_codec_t **out)
{
	gnet_codec_def_t def = { .size = sizeof(gnet_codec_def_t),
		.decode = never_decode };

	return gnet_codec_new_custom(out, &def);
}
