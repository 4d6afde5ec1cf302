/*
 * The codec object, the encode sink and the checks every decode goes
 * through, whoever wrote the codec: a frame must use at least one byte
 * and no more than it was given, so a buggy custom codec cannot stall or
 * overrun the connection.
 */
#include <stdlib.h>
#include <string.h>
#include "codecs/codec.h"

int
gnet__codec_new(gnet_codec_t **out, const gnet_codec_def_t *def,
    const void *cfg, size_t cfg_size, int check_incomplete)
{
	gnet_codec_t *c;

	c = calloc(1, sizeof(*c) + cfg_size);
	if (c == NULL)
		return GNET_ENOMEM;
	c->decode = def->decode;
	c->encode = def->encode;
	c->free_cfg = def->free_cfg;
	c->cfg = def->cfg;
	if (cfg_size != 0) {
		/* The built-in's config lives right after the struct. */
		c->cfg = c + 1;
		memcpy(c->cfg, cfg, cfg_size);
	}
	c->state_size = def->state_size;
	c->max_frame = def->max_frame != 0 ? def->max_frame : GNET_CODEC_MAX_FRAME;
	c->check_incomplete = check_incomplete;
	*out = c;
	return 0;
}

int
gnet_codec_new_custom(gnet_codec_t **out, const gnet_codec_def_t *def)
{
	gnet_codec_def_t d;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (out == NULL || def == NULL)
		return GNET_EINVAL;
	rc = gnet__struct_in(&d, sizeof(d),
	    GNET__SIZE_THROUGH(gnet_codec_def_t, max_frame), def);
	if (rc != 0)
		return rc;
	if (d.decode == NULL || d.state_size > GNET__CODEC_MAX_STATE)
		return GNET_EINVAL;
	return gnet__codec_new(out, &d, NULL, 0, 1);
}

void
gnet_codec_free(gnet_codec_t *codec)
{
	if (codec == NULL)
		return;
	if (codec->free_cfg != NULL)
		codec->free_cfg(codec->cfg);
	free(codec);
}

size_t
gnet_codec_state_size(const gnet_codec_t *codec)
{
	return codec != NULL ? codec->state_size : 0;
}

size_t
gnet_codec_max_frame(const gnet_codec_t *codec)
{
	return codec != NULL ? codec->max_frame : 0;
}

int
gnet_codec_decode(const gnet_codec_t *codec, void *state, const void *in,
    size_t n, gnet_frame_t *f)
{
	int r;

	if (codec == NULL || f == NULL || (in == NULL && n != 0) ||
	    (state == NULL && codec->state_size != 0))
		return GNET_EINVAL;
	if (n == 0)
		return 0;
	r = codec->decode(codec->cfg, state, in, n, f);
	if (r == 0 && codec->check_incomplete && n > codec->max_frame)
		return GNET_EFRAMESIZE;
	if (r > 0) {
		if (f->consumed == 0 || f->consumed > n ||
		    (f->data == NULL && f->len != 0))
			return GNET_EBADFRAME;
		/* The same bound whether the frame came in one read or many. */
		if (codec->check_incomplete && f->consumed > codec->max_frame)
			return GNET_EFRAMESIZE;
		return 1;
	}
	return r < 0 ? r : 0;
}

int
gnet_codec_sink_write(gnet_codec_sink_t *s, const void *p, size_t n)
{
	int rc;

	if (s == NULL || (p == NULL && n != 0))
		return GNET_EINVAL;
	if (n == 0)
		return 0;
	if (s->buf != NULL) {
		rc = gnet__buf_append(s->buf, p, n);
		if (rc != 0)
			return rc;
	} else if (s->len < s->cap) {
		size_t room = s->cap - s->len;
		memcpy(s->fixed + s->len, p, n < room ? n : room);
	}
	s->len += n;
	return 0;
}

int
gnet_codec_sink_writev(gnet_codec_sink_t *s, const struct iovec *iov,
    int iovcnt)
{
	int i, rc;

	if (iovcnt < 0 || (iov == NULL && iovcnt != 0))
		return GNET_EINVAL;
	for (i = 0; i < iovcnt; i++) {
		rc = gnet_codec_sink_write(s, iov[i].iov_base, iov[i].iov_len);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* A codec without an encoder passes payloads through unchanged. */
static int
run_encode(const gnet_codec_t *codec, gnet_codec_sink_t *s,
    const struct iovec *iov, int iovcnt, size_t len)
{
	if (codec->encode == NULL)
		return gnet_codec_sink_writev(s, iov, iovcnt);
	return codec->encode(codec->cfg, s, iov, iovcnt, len);
}

int
gnet__codec_encode_buf(const gnet_codec_t *codec, gnet__buf_t *b,
    const struct iovec *iov, int iovcnt, size_t len)
{
	gnet_codec_sink_t s = { .buf = b };
	size_t before = b->len;
	int rc;

	rc = run_encode(codec, &s, iov, iovcnt, len);
	if (rc < 0) {
		gnet__buf_truncate(b, before);
		return rc;
	}
	return 0;
}

long
gnet_codec_encode(const gnet_codec_t *codec, const void *payload, size_t n,
    void *out, size_t cap)
{
	gnet_codec_sink_t s = { .fixed = out, .cap = out != NULL ? cap : 0 };
	struct iovec iov = { (void *)(uintptr_t)payload, n };
	int rc;

	if (codec == NULL || (payload == NULL && n != 0))
		return GNET_EINVAL;
	rc = run_encode(codec, &s, &iov, 1, n);
	if (rc < 0)
		return rc;
	return (long)s.len;
}
