/* RESP2 request codec: placeholder until the decoder lands. */
#include "codecs/codec.h"

int
gnet_codec_new_resp(gnet_codec_t **out, const gnet_resp_limits_t *limits)
{
	(void)limits;
	if (out != NULL)
		*out = NULL;
	return GNET_ENOTSUP;
}

long
gnet_resp_args(const void *frame, size_t len, gnet_resp_arg_t *argv,
    size_t max, char *scratch, size_t scratch_len)
{
	(void)frame; (void)len; (void)argv; (void)max; (void)scratch;
	(void)scratch_len;
	return GNET_ENOTSUP;
}

const char *
gnet_resp_error(const void *state)
{
	(void)state;
	return NULL;
}
