/*
 * Length-field codec with netty's semantics (LengthFieldBasedFrameDecoder
 * decoding, LengthFieldPrepender encoding), failing fast: the frame length
 * is checked against the max as soon as the header has arrived, so a peer
 * declaring 1 GiB is refused before any of it is buffered.
 *
 *   frame = field_offset bytes | field | (field value + adjustment) bytes
 *
 * Lengths are computed in int64 with overflow checks; a value that does
 * not fit (an 8-byte field near 2^64, an adjustment pushing it over)
 * is a malformed frame, never a wrapped size.
 */
#include <stdint.h>
#include "codecs/codec.h"

typedef struct lf_cfg {
	gnet_length_field_config_t c;
	int64_t end_offset;    /* field_offset + field_length */
} lf_cfg_t;

static uint64_t
read_field(const unsigned char *p, int width, int little)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < width; i++) {
		unsigned b = little ? p[width - 1 - i] : p[i];
		v = (v << 8) | b;
	}
	return v;
}

static void
write_field(unsigned char *p, int width, int little, uint64_t v)
{
	int i;

	for (i = width - 1; i >= 0; i--) {
		p[little ? width - 1 - i : i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
}

static int
lf_decode(void *cfg, void *state, const unsigned char *in, size_t n,
    gnet_frame_t *f)
{
	const lf_cfg_t *x = cfg;
	uint64_t raw;
	int64_t total;

	if (n < (uint64_t)x->end_offset)
		return 0;
	raw = read_field(in + x->c.field_offset, x->c.field_length,
	    x->c.little_endian);
	if (raw > (uint64_t)INT64_MAX)
		return GNET_EBADFRAME;
	if (__builtin_add_overflow((int64_t)raw, (int64_t)x->c.length_adjustment,
	    &total) || __builtin_add_overflow(total, x->end_offset, &total))
		return GNET_EBADFRAME;
	/* A negative adjusted length would end the frame inside its own
	 * header: netty's "less than lengthFieldEndOffset". */
	if (total < x->end_offset)
		return GNET_EBADFRAME;
	if ((uint64_t)total > x->c.max_frame)
		return GNET_EFRAMESIZE;
	if (n < (uint64_t)total)
		return 0;
	if (x->c.strip > (uint64_t)total)
		return GNET_EBADFRAME;
	f->data = in + x->c.strip;
	f->len = (size_t)total - x->c.strip;
	f->consumed = (size_t)total;
	return 1;
}

static int
lf_encode(void *cfg, gnet_codec_sink_t *out, const struct iovec *iov,
    int iovcnt, size_t len)
{
	const lf_cfg_t *x = cfg;
	int w = x->c.field_length;
	unsigned char hdr[8];
	int64_t v;
	int rc;

	if (len > (size_t)INT64_MAX)
		return GNET_EFRAMESIZE;
	v = (int64_t)len;
	if (__builtin_add_overflow(v, (int64_t)x->c.encode_adjustment, &v) ||
	    (x->c.encode_includes_header && __builtin_add_overflow(v, w, &v)))
		return GNET_EFRAMESIZE;
	if (v < 0)
		return GNET_EINVAL;
	if (w < 8 && (uint64_t)v >> (8 * w) != 0)
		return GNET_EFRAMESIZE;
	write_field(hdr, w, x->c.little_endian, (uint64_t)v);
	rc = gnet_codec_sink_write(out, hdr, (size_t)w);
	return rc != 0 ? rc : gnet_codec_sink_writev(out, iov, iovcnt);
}

int
gnet_codec_new_length_field(gnet_codec_t **out,
    const gnet_length_field_config_t *cfg)
{
	gnet_codec_def_t def = { .decode = lf_decode, .encode = lf_encode };
	lf_cfg_t x;
	int64_t header;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (out == NULL || cfg == NULL)
		return GNET_EINVAL;
	rc = gnet__struct_in(&x.c, sizeof(x.c),
	    GNET__SIZE_THROUGH(gnet_length_field_config_t, max_frame), cfg);
	if (rc != 0)
		return rc;
	switch (x.c.field_length) {
	case 1: case 2: case 3: case 4: case 8:
		break;
	default:
		return GNET_EINVAL;
	}
	if (x.c.max_frame == 0)
		x.c.max_frame = GNET_CODEC_MAX_FRAME;
	/* Offsets beyond any allowed frame make every frame invalid. */
	if (x.c.field_offset > x.c.max_frame ||
	    x.c.max_frame - x.c.field_offset < (size_t)x.c.field_length ||
	    x.c.max_frame > (size_t)INT64_MAX)
		return GNET_EINVAL;
	x.end_offset = (int64_t)(x.c.field_offset + (size_t)x.c.field_length);
	/* What may be stripped is the header: the bytes up to the end of
	 * the field plus, with a positive adjustment, the extra header
	 * bytes that follow it (netty's "HDR2" case). */
	if (x.c.length_adjustment <= 0 ||
	    __builtin_add_overflow(x.end_offset, (int64_t)x.c.length_adjustment,
	    &header))
		header = x.c.length_adjustment <= 0 ? x.end_offset : INT64_MAX;
	if (x.c.strip > (uint64_t)header)
		return GNET_EINVAL;
	/* A header that alone exceeds the max could never decode a frame. */
	if ((uint64_t)header > x.c.max_frame)
		return GNET_EINVAL;
	def.max_frame = x.c.max_frame;
	return gnet__codec_new(out, &def, &x, sizeof(x), 0);
}
