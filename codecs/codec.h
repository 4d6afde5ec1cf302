/*
 * Codecs: the shared shape of every codec and the hooks the connection
 * actor uses. A codec is immutable after construction, so one object
 * serves every loop without synchronisation; per-connection state lives
 * in the connection (see net/conn.c).
 */
#ifndef GNET_CODECS_CODEC_H
#define GNET_CODECS_CODEC_H

#include "gnet.h"
#include "base/abi.h"
#include "base/buf.h"

/* Per-connection state up to this size lives inside the connection, so
 * attaching a built-in codec allocates nothing. */
#define GNET__CODEC_INLINE_STATE 16
/* Bound on a custom codec's per-connection state. */
#define GNET__CODEC_MAX_STATE 4096

struct gnet_codec {
	int (*decode)(void *cfg, void *state, const unsigned char *in, size_t n,
	    gnet_frame_t *f);
	int (*encode)(void *cfg, gnet_codec_sink_t *out, const struct iovec *iov,
	    int iovcnt, size_t len);
	void (*free_cfg)(void *cfg);
	void *cfg;
	size_t state_size;
	size_t max_frame;
	/* Built-ins check their max frame exactly while decoding; for a
	 * custom codec the generic "still incomplete beyond max" rule applies. */
	int check_incomplete;
};

/* Where encoded bytes go: a connection's outbound buffer, or a caller's
 * fixed buffer (gnet_codec_encode), in which case bytes beyond cap are
 * counted but not stored. */
struct gnet_codec_sink {
	gnet__buf_t *buf;
	unsigned char *fixed;
	size_t cap, len;
};

/* Allocate a codec around a built-in's config block of cfg_size bytes,
 * copied in; free_cfg frees it with the codec. */
int gnet__codec_new(gnet_codec_t **out, const gnet_codec_def_t *def,
    const void *cfg, size_t cfg_size, int check_incomplete);

/* Encode one frame and append it to b; on error b is left as it was. */
int gnet__codec_encode_buf(const gnet_codec_t *codec, gnet__buf_t *b,
    const struct iovec *iov, int iovcnt, size_t len);

#endif
