/*
 * Fuzz target for the delimiter codec (gnet_codec_new_delimiter). A
 * multi-byte delimiter can straddle two reads, and the decoder resumes
 * its search dlen - 1 bytes before where the last one stopped: an
 * off-by-one there splits or misses frames only for some read sizes,
 * which is what feeding the same stream in one go and in reads exposes.
 *
 * Input: 1 byte dlen (byte % 72: 1..64 valid, 0 and 65..71 must be
 * refused), 2 bytes max_frame (little endian, 0: the default), dlen
 * delimiter bytes, then the read sizes and stream described in
 * fuzz_common.h. Checks, besides the common ones: every frame ends at the
 * first delimiter, "need more" only while none is buffered and the frame
 * could still fit, GNET_EFRAMESIZE exactly when it cannot; and a frame
 * not containing the delimiter comes back unchanged from encode + decode.
 */
#include "fuzz/fuzz_common.h"

static int
delim_symmetric(const void *ctx, const unsigned char *p, size_t len)
{
	const fz_delim_t *d = ctx;

	return memmem(p, len, d->delim, d->dlen) == NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_in_t in = { data, size };
	gnet_codec_t *codec = FZ_NOT_SET;
	unsigned char delim[72];
	unsigned dlen, max, i;
	fz_delim_t model;
	fz_target_t t;
	int rc, valid;

	if (!fz_u8(&in, &dlen) || !fz_u16(&in, &max))
		return 0;
	dlen %= 72;
	/* An invalid length still needs bytes to point at. */
	if (!fz_take(&in, delim, dlen != 0 ? dlen : 1))
		return 0;
	i = (unsigned)snprintf(fz_cfg_desc, sizeof(fz_cfg_desc),
	    "delimiter max_frame=%u dlen=%u delim=", max, dlen);
	for (unsigned j = 0; j < dlen && i + 3 < sizeof(fz_cfg_desc); j++, i += 2)
		snprintf(fz_cfg_desc + i, 3, "%02x", delim[j]);
	valid = dlen >= 1 && dlen <= 64;
	rc = gnet_codec_new_delimiter(&codec, delim, dlen, max);
	if (!valid) {
		FZ_CHECK(rc == GNET_EINVAL && codec == NULL,
		    "invalid config accepted: %d", rc);
		return 0;
	}
	FZ_CHECK(rc == 0 && codec != NULL, "valid config refused: %d", rc);
	model = (fz_delim_t){ delim, dlen, 0,
	    max != 0 ? max : GNET_CODEC_MAX_FRAME };
	t = (fz_target_t){ codec, model.max_frame, fz_delim_check,
	    delim_symmetric, &model };
	fz_run(&t, &in);
	gnet_codec_free(codec);
	return 0;
}
