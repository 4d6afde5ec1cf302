/*
 * The RESP2 request codec: cuts a Redis client's byte stream into
 * commands exactly where Redis 7.0 does (networking.c's inline and
 * multibulk readers), and fails with Redis's words where it fails.
 *
 * A frame is one whole command's bytes. Input Redis skips (a blank inline
 * line, a count <= 0) comes out as a zero-length frame using those bytes.
 * A protocol error comes out as a zero-length frame using all the input,
 * and is kept in the state for gnet_resp_error, so the caller can answer
 * the commands before it and then the error, in order, and close; every
 * later call does the same. A command over max_frame is not answered:
 * GNET_EFRAMESIZE closes the connection, as Redis closes a client over
 * its query buffer limit. It is raised as soon as the command is certain
 * to be too long -- a bulk header announcing too much, or that many
 * bytes buffered without the end of the line being read -- and before
 * any error later in the same line.
 *
 * The state remembers how far the incomplete command was parsed, so a
 * command arriving in many reads is read once in all: headers are parsed
 * once, a line is searched once, and a bulk's payload is never looked at,
 * only counted. As in the line codec, an input shorter than what was
 * already parsed is a new stream.
 *
 * Where Redis reads with strchr, this reads with memchr: a NUL is an
 * ordinary byte, where Redis would wait for a line end it can never find.
 */
#include <limits.h>
#include <string.h>
#include "codecs/codec.h"
#include "codecs/resp.h"

/* Redis's defaults: proto-max-bulk-len, PROTO_INLINE_MAX_SIZE and
 * client-query-buffer-limit. */
#define RESP_MAX_BULK ((size_t)512 << 20)
#define RESP_MAX_INLINE ((size_t)64 << 10)
#define RESP_MAX_FRAME ((size_t)1 << 30)
/* Positions within a command are kept in 32 bits, to fit the state in
 * the connection. */
#define RESP_MAX_COUNT ((size_t)UINT32_MAX)

typedef struct resp_cfg {
	uint32_t max_bulk, max_args, max_inline, max_frame;
} resp_cfg_t;

enum resp_err {
	E_NONE,
	E_INLINE_TOO_BIG,
	E_QUOTES,
	E_MBULK_TOO_BIG,
	E_MBULK_LEN,
	E_DOLLAR,
	E_BULK_TOO_BIG,
	E_BULK_LEN
};

/* Parsing a multibulk command alternates between looking for a line's
 * "\r" and counting a bulk's payload. */
enum resp_phase { PH_LINE, PH_BULK };

typedef struct resp_state {
	uint32_t pos;     /* where the next line or payload starts */
	uint32_t mark;    /* PH_LINE: searched up to here for its end;
	                   * PH_BULK: where the payload + 2 bytes end */
	uint32_t left;    /* bulks still to come; 0 before the count line */
	uint8_t phase;
	uint8_t err;      /* enum resp_err, kept once set */
	uint8_t got;      /* E_DOLLAR: the byte found instead of '$' */
} resp_state_t;

_Static_assert(sizeof(resp_state_t) <= GNET__CODEC_INLINE_STATE,
    "the RESP state must fit inside the connection");

#define PROTO "Protocol error: "
#define DOLLAR PROTO "expected '$', got '"

static const char *const messages[] = {
	[E_INLINE_TOO_BIG] = PROTO "too big inline request",
	[E_QUOTES] = PROTO "unbalanced quotes in request",
	[E_MBULK_TOO_BIG] = PROTO "too big mbulk count string",
	[E_MBULK_LEN] = PROTO "invalid multibulk length",
	[E_BULK_TOO_BIG] = PROTO "too big bulk count string",
	[E_BULK_LEN] = PROTO "invalid bulk length",
};

/* "expected '$', got 'X'" for every byte X, laid out so each entry reads
 * as one NUL-terminated string: the prefix without its NUL, the byte,
 * then "'" and the NUL. Built by the compiler, so the message outlives
 * any connection and needs no lock. */
struct dollar_msg {
	char prefix[sizeof(DOLLAR) - 1];
	char got;
	char tail[2];
};
#define D1(c) { DOLLAR, (char)(c), "'" }
#define D4(c) D1(c), D1((c) + 1), D1((c) + 2), D1((c) + 3)
#define D16(c) D4(c), D4((c) + 4), D4((c) + 8), D4((c) + 12)
#define D64(c) D16(c), D16((c) + 16), D16((c) + 32), D16((c) + 48)
static const struct dollar_msg dollar_msgs[256] = {
	D64(0), D64(64), D64(128), D64(192)
};

static int
frame(gnet_frame_t *f, const unsigned char *in, size_t len, size_t consumed)
{
	f->data = in;
	f->len = len;
	f->consumed = consumed;
	return 1;
}

/* A protocol error: kept for gnet_resp_error, and the input dropped. */
static int
fail(resp_state_t *st, gnet_frame_t *f, const unsigned char *in, size_t n,
    enum resp_err e, unsigned char got)
{
	memset(st, 0, sizeof(*st));
	st->err = (uint8_t)e;
	st->got = got;
	return frame(f, in, 0, n);
}

/* The command is done (or skipped): the next call starts a new one. */
static int
done(resp_state_t *st, gnet_frame_t *f, const unsigned char *in, size_t len,
    size_t consumed)
{
	memset(st, 0, sizeof(*st));
	return frame(f, in, len, consumed);
}

/* No line end among the n buffered bytes, the line starting at `from`:
 * the command needs at least one more byte, which may be one too many;
 * else a line longer than the inline limit is an error (too_big). */
static int
no_line_end(const resp_cfg_t *c, resp_state_t *st, gnet_frame_t *f,
    const unsigned char *in, size_t n, size_t from, enum resp_err too_big)
{
	if (n >= c->max_frame)
		return GNET_EFRAMESIZE;
	if (n - from > c->max_inline)
		return fail(st, f, in, n, too_big, 0);
	st->mark = (uint32_t)n;
	return 0;
}

static int
decode_inline(const resp_cfg_t *c, resp_state_t *st, const unsigned char *in,
    size_t n, gnet_frame_t *f)
{
	const unsigned char *nl = memchr(in + st->mark, '\n', n - st->mark);
	size_t end, line;
	long argc;

	if (nl == NULL)
		return no_line_end(c, st, f, in, n, 0, E_INLINE_TOO_BIG);
	end = (size_t)(nl - in) + 1;
	if (end > c->max_frame)
		return GNET_EFRAMESIZE;
	line = end - 1;
	if (line != 0 && in[line - 1] == '\r')
		line--;
	argc = gnet__resp_split(in, line, NULL, 0, NULL);
	if (argc < 0)
		return fail(st, f, in, n, E_QUOTES, 0);
	return done(st, f, in, argc != 0 ? end : 0, end);
}

/* find_line's answer when the line is there (decode's own answers are
 * 1, 0 and negative). */
#define LINE_FOUND 2

/* Find the end of the line starting at st->pos: its "\r" and the byte
 * after it, which Redis skips unseen. Returns LINE_FOUND with *cr its
 * offset, or what decode returns while the line is incomplete. */
static int
find_line(const resp_cfg_t *c, resp_state_t *st, const unsigned char *in,
    size_t n, gnet_frame_t *f, enum resp_err too_big, size_t *cr)
{
	const unsigned char *hit = memchr(in + st->mark, '\r', n - st->mark);

	if (hit == NULL)
		return no_line_end(c, st, f, in, n, st->pos, too_big);
	*cr = (size_t)(hit - in);
	if (*cr + 2 > n) {
		if (n >= c->max_frame)
			return GNET_EFRAMESIZE;
		/* Found again at once when the next byte comes. */
		st->mark = (uint32_t)*cr;
		return 0;
	}
	if (*cr + 2 > c->max_frame)
		return GNET_EFRAMESIZE;
	return LINE_FOUND;
}

static int
decode_multibulk(const resp_cfg_t *c, resp_state_t *st,
    const unsigned char *in, size_t n, gnet_frame_t *f)
{
	size_t cr, at;
	uint64_t end;
	int64_t v;
	int r, ok;

	if (st->left == 0) {
		ok = gnet__resp_short_header(in, n, 0, '*', &cr, &v);
		if (ok) {
			if (cr + 2 > c->max_frame)
				return GNET_EFRAMESIZE;
		} else {
			r = find_line(c, st, in, n, f, E_MBULK_TOO_BIG, &cr);
			if (r != LINE_FOUND)
				return r;
			ok = gnet__resp_number(in + 1, cr - 1, &v);
		}
		if (!ok || v > (int64_t)c->max_args)
			return fail(st, f, in, n, E_MBULK_LEN, 0);
		if (v <= 0)
			return done(st, f, in, 0, cr + 2);
		st->left = (uint32_t)v;
		st->pos = st->mark = (uint32_t)(cr + 2);
		st->phase = PH_LINE;
	}
	for (;;) {
		if (st->phase == PH_LINE) {
			at = st->pos;
			ok = gnet__resp_short_header(in, n, at, '$', &cr, &v);
			if (ok) {
				if (cr + 2 > c->max_frame)
					return GNET_EFRAMESIZE;
			} else {
				r = find_line(c, st, in, n, f, E_BULK_TOO_BIG,
				    &cr);
				if (r != LINE_FOUND)
					return r;
				if (in[at] != '$')
					return fail(st, f, in, n, E_DOLLAR, in[at]);
				ok = gnet__resp_number(in + at + 1, cr - at - 1,
				    &v) && v >= 0;
			}
			if (!ok || v > (int64_t)c->max_bulk)
				return fail(st, f, in, n, E_BULK_LEN, 0);
			end = (uint64_t)cr + 2 + (uint64_t)v + 2;
			if (end > c->max_frame)
				return GNET_EFRAMESIZE;
			st->pos = (uint32_t)(cr + 2);
			st->mark = (uint32_t)end;
			st->phase = PH_BULK;
		}
		/* The payload and the 2 bytes after it, unseen. */
		if (st->mark > n)
			return 0;
		st->pos = st->mark;
		st->phase = PH_LINE;
		if (--st->left == 0)
			return done(st, f, in, st->pos, st->pos);
	}
}

static int
resp_decode(void *cfg, void *state, const unsigned char *in, size_t n,
    gnet_frame_t *f)
{
	const resp_cfg_t *c = cfg;
	resp_state_t *st = state;

	if (st->err != E_NONE)
		return frame(f, in, 0, n);
	/* An input shorter than what was parsed is a new stream. */
	if (st->pos > n || (st->phase == PH_LINE && st->mark > n))
		memset(st, 0, sizeof(*st));
	if (in[0] == '*')
		return decode_multibulk(c, st, in, n, f);
	return decode_inline(c, st, in, n, f);
}

/* Replies are RESP the caller formatted: they pass through as they are. */
static int
resp_encode(void *cfg, gnet_codec_sink_t *out, const struct iovec *iov,
    int iovcnt, size_t len)
{
	return gnet_codec_sink_writev(out, iov, iovcnt);
}

/* A limit: 0 for the default, else at most what the state can count. */
static int
limit(size_t v, size_t dflt, size_t most, uint32_t *out)
{
	if (v > most)
		return GNET_EINVAL;
	*out = (uint32_t)(v != 0 ? v : dflt);
	return 0;
}

int
gnet_codec_new_resp(gnet_codec_t **out, const gnet_resp_limits_t *limits)
{
	gnet_codec_def_t def = {
		.decode = resp_decode,
		.encode = resp_encode,
		.state_size = sizeof(resp_state_t),
	};
	gnet_resp_limits_t l;
	resp_cfg_t c;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (out == NULL)
		return GNET_EINVAL;
	memset(&l, 0, sizeof(l));
	if (limits != NULL) {
		rc = gnet__struct_in(&l, sizeof(l),
		    GNET__SIZE_THROUGH(gnet_resp_limits_t, max_frame), limits);
		if (rc != 0)
			return rc;
	}
	if (limit(l.max_bulk_len, RESP_MAX_BULK, RESP_MAX_COUNT,
	    &c.max_bulk) != 0 ||
	    limit(l.max_args, INT_MAX, INT_MAX, &c.max_args) != 0 ||
	    limit(l.max_inline_len, RESP_MAX_INLINE, RESP_MAX_COUNT,
	    &c.max_inline) != 0 ||
	    limit(l.max_frame, RESP_MAX_FRAME, RESP_MAX_COUNT,
	    &c.max_frame) != 0)
		return GNET_EINVAL;
	/* The decoder checks max_frame exactly itself: codec.c's generic
	 * check would count a protocol error's zero-length frame, which
	 * uses the whole input, as a frame over the max. */
	def.max_frame = c.max_frame;
	return gnet__codec_new(out, &def, &c, sizeof(c), 0);
}

const char *
gnet_resp_error(const void *state)
{
	const resp_state_t *st = state;

	if (st == NULL || st->err == E_NONE)
		return NULL;
	if (st->err == E_DOLLAR)
		return (const char *)&dollar_msgs[st->got];
	return messages[st->err];
}
