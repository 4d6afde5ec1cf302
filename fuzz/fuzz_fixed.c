/*
 * Fuzz target for the fixed-length codec (gnet_codec_new_fixed). The decoder
 * is simple; what the target pins down is that reads of any size never
 * shift frame boundaries and that encode + decode is the identity.
 *
 * Input: 2 bytes frame_len (little endian; 0 must be refused), then the
 * read sizes and stream described in fuzz_common.h. Checks, besides the
 * common ones: a frame is exactly the first frame_len bytes, "need more"
 * exactly while fewer are buffered, never an error; every frame comes
 * back unchanged from encode + decode; and encoding a payload that is not
 * a whole number of frames fails with GNET_EINVAL.
 */
#include "fuzz/fuzz_common.h"

static void
fixed_check(const void *ctx, const unsigned char *in, size_t n, int r,
    const gnet_frame_t *f)
{
	size_t len = *(const size_t *)ctx;

	if (n >= len)
		FZ_CHECK(r == 1 && f->data == (const void *)in && f->len == len &&
		    f->consumed == len, "r=%d for %zu bytes", r, n);
	else
		FZ_CHECK(r == 0, "r=%d for %zu bytes", r, n);
}

static int
fixed_symmetric(const void *ctx, const unsigned char *p, size_t len)
{
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_in_t in = { data, size };
	gnet_codec_t *codec = FZ_NOT_SET;
	unsigned len;
	size_t flen;
	fz_target_t t;
	int rc;

	if (!fz_u16(&in, &len))
		return 0;
	snprintf(fz_cfg_desc, sizeof(fz_cfg_desc), "fixed frame_len=%u", len);
	rc = gnet_codec_new_fixed(&codec, len);
	if (len == 0) {
		FZ_CHECK(rc == GNET_EINVAL && codec == NULL,
		    "frame_len 0 accepted: %d", rc);
		return 0;
	}
	FZ_CHECK(rc == 0 && codec != NULL, "valid config refused: %d", rc);
	flen = len;
	t = (fz_target_t){ codec, flen, fixed_check, fixed_symmetric, &flen };
	fz_run(&t, &in);
	/* A partial frame is not encodable. */
	if (in.n % flen != 0)
		FZ_CHECK(gnet_codec_encode(codec, in.p, in.n, NULL, 0) == GNET_EINVAL,
		    "encoding %zu bytes did not fail", in.n);
	gnet_codec_free(codec);
	return 0;
}
