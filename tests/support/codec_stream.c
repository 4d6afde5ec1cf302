/*
 * codec_stream.c -- encoded frame streams and their decoding as the
 * engine does it (see codec_stream.h).
 */
#include "codec_stream.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "codec_check.h"
#include "testnet.h"

void
stream_build(struct stream *s, const struct stream_case *sc, uint64_t seed)
{
	size_t pay_total = 0;
	uint64_t rng = seed;

	memset(s, 0, sizeof *s);
	s->sc = sc;
	if (sc->make != NULL)
		ck_assert_int_eq(sc->make(&s->c), 0);
	else
		ck_assert_int_eq(gnet_codec_new_length_field(&s->c, sc->lf), 0);

	/* Sizes: uniform, with the extremes (0 and the maximum) boosted. */
	for (size_t i = 0; i < CODEC_STREAM_FRAMES; i++) {
		uint64_t r = tn_rng_next(&rng);
		size_t n;
		if (sc->fixed != 0)
			n = sc->fixed;
		else if (r % 8 == 0)
			n = 0;
		else if (r % 8 == 1)
			n = sc->max_payload;
		else
			n = (size_t)(r >> 8) % (sc->max_payload + 1);
		s->pay_off[i] = pay_total;
		s->pay_len[i] = n;
		pay_total += n;
	}
	s->pay = malloc(pay_total + 1);
	ck_assert_ptr_nonnull(s->pay);
	tn_fill_random(s->pay, pay_total, seed);
	for (size_t i = 0; i < pay_total; i++)
		if (sc->forbid_len != 0 && memchr(sc->forbid, s->pay[i],
		    sc->forbid_len) != NULL)
			s->pay[i] = 'x';

	/* Sizing pass (out NULL), then the real encode into one buffer. */
	for (size_t i = 0; i < CODEC_STREAM_FRAMES; i++) {
		long r = gnet_codec_encode(s->c, s->pay + s->pay_off[i],
		    s->pay_len[i], NULL, 0);
		ck_assert_msg(r > 0, "%s: sizing frame %zu: %ld", sc->name, i, r);
		s->enc_off[i] = s->total;
		s->enc_len[i] = (size_t)r;
		s->total += (size_t)r;
	}
	s->enc_off[CODEC_STREAM_FRAMES] = s->total;
	s->enc = malloc(s->total);
	ck_assert_ptr_nonnull(s->enc);
	for (size_t i = 0; i < CODEC_STREAM_FRAMES; i++) {
		long r = gnet_codec_encode(s->c, s->pay + s->pay_off[i],
		    s->pay_len[i], s->enc + s->enc_off[i], s->total - s->enc_off[i]);
		ck_assert_msg(r == (long)s->enc_len[i], "%s: encoding frame %zu",
		    sc->name, i);
	}
}

void
stream_free(struct stream *s)
{
	gnet_codec_free(s->c);
	free(s->pay);
	free(s->enc);
}

/* Is frame i of the stream what the decoder gave for n bytes offered? */
static int
frame_matches(struct errs *e, const struct stream *s, size_t i,
    const gnet_frame_t *f, size_t n, const char *mode)
{
	size_t kept = s->sc->kept;
	const unsigned char *d = f->data;

	if (f->consumed == 0 || f->consumed > n)
		NOTE(e, "%s: frame %zu consumed %zu of %zu offered", mode, i,
		    f->consumed, n);
	else if (f->consumed != s->enc_len[i])
		NOTE(e, "%s: frame %zu consumed %zu, encoded %zu", mode, i,
		    f->consumed, s->enc_len[i]);
	else if (f->len != kept + s->pay_len[i])
		NOTE(e, "%s: frame %zu len %zu, want %zu", mode, i, f->len,
		    kept + s->pay_len[i]);
	else if (memcmp(d + kept, s->pay + s->pay_off[i], s->pay_len[i]) != 0 ||
	    memcmp(d, s->enc + s->enc_off[i], kept) != 0)
		NOTE(e, "%s: frame %zu has wrong bytes", mode, i);
	else
		return 1;
	return 0;
}

/* Take frames from enc[*off..have) while they are complete, checking
 * each; stops at "need more", at an error or after frame upto - 1. */
static void
take_frames(struct errs *e, const struct stream *s, void *st, size_t *off,
    size_t *i, size_t have, size_t upto, const char *mode)
{
	while (*i < upto) {
		gnet_frame_t f = { NULL, 0, 0 };
		size_t n = have - *off;
		int r = gnet_codec_decode(s->c, st, s->enc + *off, n, &f);

		if (r == 0 && s->enc_len[*i] <= n)
			NOTE(e, "%s: frame %zu is all there (%zu bytes) but the "
			    "decoder wants more", mode, *i, n);
		else if (r < 0)
			NOTE(e, "%s: frame %zu: %d (%s)", mode, *i, r, rc_name(r));
		if (r != 1 || !frame_matches(e, s, *i, &f, n, mode))
			return;
		*off += f.consumed;
		(*i)++;
	}
}

void
stream_drive(struct errs *e, const struct stream *s, const size_t *arrive,
    size_t narrive, size_t upto, const char *mode)
{
	void *st = codec_state_new(s->c);
	size_t off = 0, i = 0;

	for (size_t a = 0; a < narrive && i < upto && e->n == 0; a++)
		take_frames(e, s, st, &off, &i, arrive[a], upto, mode);
	if (e->n == 0 && i != upto)
		NOTE(e, "%s: %zu of %zu frames decoded", mode, i, upto);
	free(st);
}
