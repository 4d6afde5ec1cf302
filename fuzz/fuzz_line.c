/*
 * Fuzz target for the line codec (gnet_codec_new_line). Lines come from peers
 * in arbitrary read sizes and lengths, so the decoder's resumable scan
 * (it remembers how far an incomplete line was searched) and its
 * fail-fast max-length check are where a bug would hide.
 *
 * Input: 2 bytes max_frame (little endian, 0: the default), then the read
 * sizes and stream described in fuzz_common.h. Checks, besides the common
 * ones: every line ends at the first "\n" with one "\r" before it
 * dropped, "need more" only while no "\n" is buffered and the line could
 * still fit, GNET_EFRAMESIZE exactly when it cannot; and a line that does
 * not end in "\r" comes back unchanged from encode + decode (one ending
 * in "\r" cannot: the "\r\n" written would lose it).
 */
#include "fuzz/fuzz_common.h"

static int
line_symmetric(const void *ctx, const unsigned char *p, size_t len)
{
	return memchr(p, '\n', len) == NULL && (len == 0 || p[len - 1] != '\r');
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_in_t in = { data, size };
	gnet_codec_t *codec = FZ_NOT_SET;
	unsigned max;
	fz_delim_t model;
	fz_target_t t;
	int rc;

	if (!fz_u16(&in, &max))
		return 0;
	snprintf(fz_cfg_desc, sizeof(fz_cfg_desc), "line max_frame=%u", max);
	rc = gnet_codec_new_line(&codec, max);
	/* Every max_frame is valid, 0 meaning the default. */
	FZ_CHECK(rc == 0 && codec != NULL, "gnet_codec_new_line returned %d", rc);
	model = (fz_delim_t){ (const unsigned char *)"\n", 1, 1,
	    max != 0 ? max : GNET_CODEC_MAX_FRAME };
	t = (fz_target_t){ codec, model.max_frame, fz_delim_check,
	    line_symmetric, &model };
	fz_run(&t, &in);
	gnet_codec_free(codec);
	return 0;
}
