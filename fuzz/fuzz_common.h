/*
 * Shared driver for the codec fuzz targets. Each target turns the first
 * bytes of the input into a codec configuration, then hands the codec and
 * the rest of the input to fz_run, which
 *
 *   (a) decodes the stream in one go from one contiguous buffer, frame
 *       after frame, as a client using gnet_codec_decode would;
 *   (b) feeds the same stream as reads whose sizes come from the input,
 *       calling gnet_codec_decode on all buffered unconsumed bytes after
 *       each read, exactly like the engine (net/conn_codec.c): the state
 *       is zeroed once, as attaching the codec does, and kept across calls;
 *
 * and aborts when an invariant breaks: a result other than 1, 0 or a
 * GNET_E* code; a frame that consumes nothing or more than it was given,
 * whose payload lies outside its consumed bytes or exceeds the max frame;
 * a result the target's model of the codec disagrees with; (a) and (b)
 * differing in their frames or final result; a frame that the target says
 * is symmetric not surviving encode + decode. Every decode call gets a
 * heap buffer that ends exactly at its last byte and state of exactly
 * state_size bytes, so ASan catches a read past either.
 *
 * Input layout after the target's config bytes:
 *   1 byte     K = low 4 bits: how many read sizes follow (0: 1-byte reads)
 *   K bytes    read sizes, each byte + 1, used in turn and cyclically
 *   the rest   the stream, capped at FZ_MAX_STREAM bytes
 */
#ifndef GNET_FUZZ_COMMON_H
#define GNET_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gnet.h"

/* Work cap whatever -max_len says: longer streams are cut here. */
#define FZ_MAX_STREAM ((size_t)64 << 10)

/* The configuration under test, printed with any failure. */
static char fz_cfg_desc[512];

#define FZ_CHECK(cond, ...) do { \
	if (!(cond)) { \
		fprintf(stderr, "fuzz: %s:%d: check failed: %s\n  config: %s\n  ", \
		    __FILE__, __LINE__, #cond, fz_cfg_desc); \
		fprintf(stderr, __VA_ARGS__); \
		fputc('\n', stderr); \
		abort(); \
	} \
} while (0)

/* What a codec pointer starts as, so a constructor that fails without
 * setting *out to NULL is caught. */
#define FZ_NOT_SET ((gnet_codec_t *)(uintptr_t)1)

/* Reading config bytes off the front of the input. */
typedef struct fz_in {
	const uint8_t *p;
	size_t n;
} fz_in_t;

static inline int
fz_take(fz_in_t *in, void *dst, size_t k)
{
	if (in->n < k)
		return 0;
	memcpy(dst, in->p, k);
	in->p += k;
	in->n -= k;
	return 1;
}

static inline int
fz_u8(fz_in_t *in, unsigned *v)
{
	uint8_t b;

	if (!fz_take(in, &b, 1))
		return 0;
	*v = b;
	return 1;
}

static inline int
fz_u16(fz_in_t *in, unsigned *v)
{
	uint8_t b[2];

	if (!fz_take(in, b, 2))
		return 0;
	*v = (unsigned)b[0] | (unsigned)b[1] << 8;
	return 1;
}

/* What a target tells the driver about its codec. */
typedef struct fz_target {
	const gnet_codec_t *codec;
	size_t max_frame;      /* the max frame the config asked for */
	/* Model check of one decode result over in[0..n); n > 0. */
	void (*check)(const void *ctx, const unsigned char *in, size_t n,
	    int r, const gnet_frame_t *f);
	/* Whether this payload must come back unchanged from encode +
	 * decode. NULL: never checked (encode still runs). */
	int (*symmetric)(const void *ctx, const unsigned char *p, size_t len);
	const void *ctx;
} fz_target_t;

typedef struct fz_frame {
	size_t off;            /* payload offset in the stream */
	size_t len, consumed;
} fz_frame_t;

typedef struct fz_result {
	fz_frame_t *frames;    /* room for stream length + 1 */
	size_t nframes;
	int last;              /* 0 (more bytes needed) or the error */
	size_t pending;        /* stream bytes not consumed */
} fz_result_t;

static inline void *
fz_alloc(size_t n)
{
	void *p = malloc(n != 0 ? n : 1);

	FZ_CHECK(p != NULL, "out of memory for %zu bytes", n);
	return p;
}

/* Zeroed state of exactly state_size bytes, NULL when there is none (as
 * the engine passes it). */
static inline void *
fz_state_new(const gnet_codec_t *codec)
{
	size_t sz = gnet_codec_state_size(codec);
	void *st;

	if (sz == 0)
		return NULL;
	st = fz_alloc(sz);
	memset(st, 0, sz);
	return st;
}

/* One gnet_codec_decode call with the invariants every result obeys. */
static inline int
fz_decode(const fz_target_t *t, void *state, const unsigned char *in,
    size_t n, gnet_frame_t *f)
{
	uintptr_t lo = (uintptr_t)in, hi = lo + n, d;
	int r;

	memset(f, 0xa5, sizeof(*f));
	r = gnet_codec_decode(t->codec, state, in, n, f);
	FZ_CHECK(r == 1 || r == 0 || (r <= GNET_EINVAL && r >= GNET_ETRUNCATED),
	    "decode of %zu bytes returned %d", n, r);
	if (r == 1) {
		d = (uintptr_t)f->data;
		FZ_CHECK(f->consumed > 0 && f->consumed <= n,
		    "consumed %zu of %zu bytes", f->consumed, n);
		FZ_CHECK(d >= lo && d <= hi && f->len <= hi - d,
		    "payload [%+td, +%zu) outside the %zu input bytes",
		    (ptrdiff_t)(d - lo), f->len, n);
		FZ_CHECK(d + f->len <= lo + f->consumed,
		    "payload ends at %zu, past the %zu consumed bytes",
		    (size_t)(d + f->len - lo), f->consumed);
		FZ_CHECK(f->len <= t->max_frame,
		    "frame of %zu bytes over max %zu", f->len, t->max_frame);
	}
	if (t->check != NULL)
		t->check(t->ctx, in, n, r, f);
	return r;
}

/* (a): the whole stream in one contiguous buffer. */
static inline void
fz_decode_whole(const fz_target_t *t, const unsigned char *s, size_t n,
    fz_result_t *res)
{
	unsigned char *buf = fz_alloc(n);
	void *st = fz_state_new(t->codec);
	size_t pos = 0;
	gnet_frame_t f;
	int r = 0;

	memcpy(buf, s, n);
	res->nframes = 0;
	while (pos < n) {
		r = fz_decode(t, st, buf + pos, n - pos, &f);
		if (r != 1)
			break;
		res->frames[res->nframes++] = (fz_frame_t){
			pos + (size_t)((const unsigned char *)f.data - (buf + pos)),
			f.len, f.consumed };
		pos += f.consumed;
	}
	res->last = r == 1 ? 0 : r;
	res->pending = n - pos;
	FZ_CHECK(memcmp(buf, s, n) == 0, "decode wrote to its input");
	free(st);
	free(buf);
}

/* (b): reads of sizes[i % nsizes] bytes (1 when nsizes is 0); after each
 * one, decode frames from all unconsumed bytes until more are needed.
 * The unconsumed bytes are s[base..got). */
static inline void
fz_decode_reads(const fz_target_t *t, const unsigned char *s, size_t n,
    const uint8_t *sizes, size_t nsizes, fz_result_t *res)
{
	void *st = fz_state_new(t->codec);
	size_t got = 0, base = 0, i = 0;
	gnet_frame_t f;
	int r = 0;

	res->nframes = 0;
	while (got < n && r >= 0) {
		size_t k = nsizes != 0 ? (size_t)sizes[i++ % nsizes] + 1 : 1;
		size_t pend, off = 0;
		unsigned char *buf;

		if (k > n - got)
			k = n - got;
		got += k;
		/* A fresh buffer of exactly the buffered bytes each time:
		 * the engine's view moves between reads too. */
		pend = got - base;
		buf = fz_alloc(pend);
		memcpy(buf, s + base, pend);
		r = 0;
		while (off < pend) {
			r = fz_decode(t, st, buf + off, pend - off, &f);
			if (r != 1)
				break;
			res->frames[res->nframes++] = (fz_frame_t){
				base + off + (size_t)((const unsigned char *)f.data -
				    (buf + off)), f.len, f.consumed };
			off += f.consumed;
		}
		base += off;
		free(buf);
	}
	res->last = r == 1 ? 0 : r;
	res->pending = n - base;
	free(st);
}

/* Encode one payload; when symmetric, decode the encoding back. */
static inline void
fz_roundtrip(const fz_target_t *t, const unsigned char *p, size_t len)
{
	int sym = t->symmetric != NULL && t->symmetric(t->ctx, p, len);
	long need = gnet_codec_encode(t->codec, p, len, NULL, 0);
	unsigned char *out, *cut;
	void *st;
	gnet_frame_t f;
	long got;
	int r;

	FZ_CHECK(need >= 0 || (need <= GNET_EINVAL && need >= GNET_ETRUNCATED),
	    "encode of %zu bytes returned %ld", len, need);
	FZ_CHECK(!sym || need >= 0,
	    "symmetric payload of %zu bytes fails to encode: %ld", len, need);
	if (need < 0)
		return;
	/* Exactly the room it asked for, then one byte less: the second
	 * must report the same length and write only its cap. */
	out = fz_alloc((size_t)need);
	got = gnet_codec_encode(t->codec, p, len, out, (size_t)need);
	FZ_CHECK(got == need, "encode returned %ld, sizing call said %ld",
	    got, need);
	if (need > 0) {
		cut = fz_alloc((size_t)need - 1);
		got = gnet_codec_encode(t->codec, p, len, cut, (size_t)need - 1);
		FZ_CHECK(got == need, "encode with cap %ld returned %ld",
		    need - 1, got);
		FZ_CHECK(memcmp(cut, out, (size_t)need - 1) == 0,
		    "truncated encoding differs from the full one");
		free(cut);
	}
	if (sym) {
		st = fz_state_new(t->codec);
		r = need > 0 ? fz_decode(t, st, out, (size_t)need, &f) : 0;
		FZ_CHECK(r == 1 && f.consumed == (size_t)need && f.len == len &&
		    (len == 0 || memcmp(f.data, p, len) == 0),
		    "payload of %zu bytes encoded to %ld bytes decodes as "
		    "r=%d len=%zu consumed=%zu", len, need, r,
		    r == 1 ? f.len : 0, r == 1 ? f.consumed : 0);
		free(st);
	}
	free(out);
}

/* The whole check for one input: in holds what follows the config. */
static inline void
fz_run(const fz_target_t *t, fz_in_t *in)
{
	uint8_t sizes[15];
	unsigned k = 0;
	size_t n, i;
	fz_result_t a, b;

	FZ_CHECK(gnet_codec_max_frame(t->codec) == t->max_frame,
	    "max frame %zu, expected %zu", gnet_codec_max_frame(t->codec),
	    t->max_frame);
	if (fz_u8(in, &k))
		k &= 15;
	if (!fz_take(in, sizes, k))
		k = 0;
	n = in->n < FZ_MAX_STREAM ? in->n : FZ_MAX_STREAM;
	a.frames = fz_alloc((n + 1) * sizeof(fz_frame_t));
	b.frames = fz_alloc((n + 1) * sizeof(fz_frame_t));
	fz_decode_whole(t, in->p, n, &a);
	fz_decode_reads(t, in->p, n, sizes, k, &b);
	FZ_CHECK(a.last == b.last && a.pending == b.pending,
	    "in one go: %zu frames, then %d with %zu bytes left; in reads: "
	    "%zu frames, then %d with %zu bytes left", a.nframes, a.last,
	    a.pending, b.nframes, b.last, b.pending);
	FZ_CHECK(a.nframes == b.nframes, "%zu frames in one go, %zu in reads",
	    a.nframes, b.nframes);
	for (i = 0; i < a.nframes; i++)
		FZ_CHECK(a.frames[i].off == b.frames[i].off &&
		    a.frames[i].len == b.frames[i].len &&
		    a.frames[i].consumed == b.frames[i].consumed,
		    "frame %zu: payload at %zu, %zu bytes, consumed %zu in one go; "
		    "at %zu, %zu bytes, consumed %zu in reads", i, a.frames[i].off,
		    a.frames[i].len, a.frames[i].consumed, b.frames[i].off,
		    b.frames[i].len, b.frames[i].consumed);
	for (i = 0; i < a.nframes; i++)
		fz_roundtrip(t, in->p + a.frames[i].off, a.frames[i].len);
	free(a.frames);
	free(b.frames);
}

/* The model of the line and delimiter codecs, shared by both targets: a
 * frame ends at the first delimiter (with a "\r" before it dropped in
 * line mode) and the decoder fails as soon as the frame is certain to be
 * too long: no delimiter among n bytes means the payload is at least
 * n - dlen + 1 - strip_cr bytes. */
typedef struct fz_delim {
	const unsigned char *delim;
	size_t dlen;
	int strip_cr;
	size_t max_frame;      /* effective: never 0 */
} fz_delim_t;

static inline void
fz_delim_check(const void *ctx, const unsigned char *in, size_t n, int r,
    const gnet_frame_t *f)
{
	const fz_delim_t *d = ctx;
	const unsigned char *hit = memmem(in, n, d->delim, d->dlen);
	size_t pos = hit != NULL ? (size_t)(hit - in) : 0, len = pos;

	if (hit != NULL && d->strip_cr && pos != 0 && in[pos - 1] == '\r')
		len--;
	if (r == 1) {
		FZ_CHECK(hit != NULL, "frame without a delimiter in %zu bytes", n);
		FZ_CHECK(f->data == (const void *)in && f->len == len &&
		    f->consumed == pos + d->dlen,
		    "frame at %+td len %zu consumed %zu; first delimiter at %zu "
		    "of %zu", (const unsigned char *)f->data - in, f->len,
		    f->consumed, pos, n);
		FZ_CHECK(len <= d->max_frame, "frame of %zu bytes over max %zu",
		    len, d->max_frame);
	} else if (r == 0) {
		FZ_CHECK(hit == NULL, "needs more bytes with a delimiter at %zu "
		    "of %zu", pos, n);
		FZ_CHECK(n < d->max_frame + d->dlen + (size_t)d->strip_cr,
		    "needs more bytes with %zu buffered, no delimiter, max %zu",
		    n, d->max_frame);
	} else {
		FZ_CHECK(r == GNET_EFRAMESIZE, "error %d", r);
		if (hit != NULL)
			FZ_CHECK(len > d->max_frame, "EFRAMESIZE for a frame of %zu "
			    "bytes, max %zu", len, d->max_frame);
		else
			FZ_CHECK(n >= d->max_frame + d->dlen + (size_t)d->strip_cr,
			    "EFRAMESIZE with %zu bytes, no delimiter, max %zu", n,
			    d->max_frame);
	}
}

#endif
