/*
 * Fuzz target for the length-field codec (gnet_codec_new_length_field). The
 * length comes from the peer, so this is the decoder most exposed to
 * hostile input: 8-byte fields near 2^64, adjustments that make the
 * length negative or overflow it, headers split across reads, lengths
 * far over the max (a small max_frame makes the fuzzer reach them).
 *
 * Input: 7 config bytes, then the read sizes and stream described in
 * fuzz_common.h.
 *   b0  bits 0-2: field_length from {1,2,3,4,8} (5-7: 0, 5, -1, refused);
 *       bit 3: little endian; bit 4: encode_includes_header; bit 5: make
 *       the config symmetric (offset 0, strip = field, encode adjustment
 *       undoing the decode one)
 *   b1  field_offset = b1 & 7
 *   b2  length_adjustment = b2 % 33 - 16
 *   b3  strip: (b3 & 0x7f) % (header + 1), or with bit 7 set
 *       header + 1 + (b3 & 7), which must be refused
 *   b4  encode_adjustment = b4 % 33 - 16
 *   b5, b6  max_frame, little endian (0: the default)
 * The constructor must accept exactly the valid configs: a listed width,
 * strip at most the header (offset + field + a positive adjustment), and
 * a header no longer than max_frame (codecs/length_field.c refuses a
 * header that alone exceeds the max).
 * Checks, besides the common ones, against a model computed in 128 bits:
 * "need more" until the header and then the whole frame are buffered,
 * GNET_EBADFRAME for a length that is negative or overflows, and
 * GNET_EFRAMESIZE for one over the max as soon as the header is there;
 * frame = bytes [strip, total). With a symmetric config every frame comes
 * back unchanged from encode + decode.
 */
#include "fuzz/fuzz_common.h"

typedef struct lf_model {
	gnet_length_field_config_t c;
	size_t max;            /* effective max_frame */
} lf_model_t;

static void
lf_check(const void *ctx, const unsigned char *in, size_t n, int r,
    const gnet_frame_t *f)
{
	const lf_model_t *m = ctx;
	size_t end = m->c.field_offset + (size_t)m->c.field_length;
	unsigned __int128 raw = 0;
	__int128 total;
	int i, w = m->c.field_length;

	if (n < end) {
		FZ_CHECK(r == 0, "r=%d with %zu of %zu header bytes", r, n, end);
		return;
	}
	for (i = 0; i < w; i++)
		raw |= (unsigned __int128)in[m->c.field_offset + (size_t)i] <<
		    (8 * (m->c.little_endian ? i : w - 1 - i));
	total = (__int128)raw + m->c.length_adjustment + (__int128)end;
	if (raw > INT64_MAX || total > INT64_MAX || total < (__int128)end) {
		FZ_CHECK(r == GNET_EBADFRAME, "r=%d for field %llu: total %lld",
		    r, (unsigned long long)raw, (long long)total);
		return;
	}
	if (total > (__int128)m->max) {
		FZ_CHECK(r == GNET_EFRAMESIZE, "r=%d for a %lld byte frame, "
		    "max %zu", r, (long long)total, m->max);
		return;
	}
	if ((__int128)n < total) {
		FZ_CHECK(r == 0, "r=%d with %zu of %lld bytes", r, n,
		    (long long)total);
		return;
	}
	FZ_CHECK(r == 1 && f->data == (const void *)(in + m->c.strip) &&
	    f->consumed == (size_t)total && f->len == (size_t)total - m->c.strip,
	    "r=%d, expected a %lld byte frame from %zu", r, (long long)total,
	    m->c.strip);
}

static int
lf_symmetric(const void *ctx, const unsigned char *p, size_t len)
{
	const lf_model_t *m = ctx;
	long w = m->c.field_length;

	return m->c.field_offset == 0 && m->c.strip == (size_t)w &&
	    m->c.length_adjustment + m->c.encode_adjustment +
	    (m->c.encode_includes_header ? w : 0) == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int widths[8] = { 1, 2, 3, 4, 8, 0, 5, -1 };
	fz_in_t in = { data, size };
	gnet_codec_t *codec = FZ_NOT_SET;
	uint8_t b[7];
	lf_model_t m;
	size_t header;
	fz_target_t t;
	int rc, valid;

	if (!fz_take(&in, b, sizeof(b)))
		return 0;
	memset(&m, 0, sizeof(m));
	m.c.size = sizeof(m.c);
	m.c.field_length = widths[b[0] & 7];
	m.c.little_endian = (b[0] >> 3) & 1;
	m.c.encode_includes_header = (b[0] >> 4) & 1;
	m.c.field_offset = b[1] & 7;
	m.c.length_adjustment = (long)(b[2] % 33) - 16;
	m.c.encode_adjustment = (long)(b[4] % 33) - 16;
	m.c.max_frame = (size_t)b[5] | (size_t)b[6] << 8;
	if ((b[0] & 0x20) && m.c.field_length > 0) {
		m.c.field_offset = 0;
		m.c.encode_adjustment = -m.c.length_adjustment -
		    (m.c.encode_includes_header ? m.c.field_length : 0);
	}
	/* Strip may cover the header: offset, field and a positive
	 * adjustment's extra bytes. */
	header = m.c.field_offset + (size_t)(m.c.field_length > 0 ?
	    m.c.field_length : 0) + (size_t)(m.c.length_adjustment > 0 ?
	    m.c.length_adjustment : 0);
	if ((b[0] & 0x20) && m.c.field_length > 0)
		m.c.strip = (size_t)m.c.field_length;
	else if (b[3] & 0x80)
		m.c.strip = header + 1 + (b[3] & 7);
	else
		m.c.strip = (b[3] & 0x7f) % (header + 1);
	m.max = m.c.max_frame != 0 ? m.c.max_frame : GNET_CODEC_MAX_FRAME;
	snprintf(fz_cfg_desc, sizeof(fz_cfg_desc), "length_field field_length=%d "
	    "little_endian=%d field_offset=%zu length_adjustment=%ld strip=%zu "
	    "encode_includes_header=%d encode_adjustment=%ld max_frame=%zu",
	    m.c.field_length, m.c.little_endian, m.c.field_offset,
	    m.c.length_adjustment, m.c.strip, m.c.encode_includes_header,
	    m.c.encode_adjustment, m.c.max_frame);
	/* Valid: a listed width, strip within the header, and a header
	 * (offset, field, positive adjustment) that fits in max_frame. */
	valid = (b[0] & 7) < 5 && m.c.strip <= header && header <= m.max;
	rc = gnet_codec_new_length_field(&codec, &m.c);
	if (!valid) {
		FZ_CHECK(rc == GNET_EINVAL && codec == NULL,
		    "invalid config accepted: %d", rc);
		return 0;
	}
	FZ_CHECK(rc == 0 && codec != NULL, "valid config refused: %d", rc);
	t = (fz_target_t){ codec, m.max, lf_check, lf_symmetric, &m };
	fz_run(&t, &in);
	gnet_codec_free(codec);
	return 0;
}
