/*
 * codec_check.c -- exact checks of codec decode and encode outcomes (see
 * codec_check.h).
 */
#include "codec_check.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

const char *
rc_name(long r)
{
	if (r > 0)
		return "frame";
	return r == 0 ? "need more" : gnet_strerror((int)r);
}

const char *
err_name(long r)
{
	return r >= 0 ? "ok" : gnet_strerror((int)r);
}

void *
codec_state_new(const gnet_codec_t *c)
{
	size_t sz = gnet_codec_state_size(c);
	void *st;

	if (sz == 0)
		return NULL;
	st = calloc(1, sz);
	ck_assert_ptr_nonnull(st);
	return st;
}

void
codec_state_reset(const gnet_codec_t *c, void *st)
{
	if (st != NULL)
		memset(st, 0, gnet_codec_state_size(c));
}

void
check_decode(const gnet_codec_t *c, void *st, const void *in, size_t n,
    int want, size_t off, size_t len, size_t consumed, const char *what)
{
	gnet_frame_t f = { NULL, 0, 0 };
	int r = gnet_codec_decode(c, st, in, n, &f);

	ck_assert_msg(r == want, "%s: decode of %zu bytes gave %d (%s), "
	    "want %d (%s)", what, n, r, rc_name(r), want, rc_name(want));
	if (want != 1)
		return;
	ck_assert_msg(f.consumed == consumed, "%s: consumed %zu, want %zu", what,
	    f.consumed, consumed);
	ck_assert_msg(f.len == len, "%s: len %zu, want %zu", what, f.len, len);
	ck_assert_msg(f.data == (const unsigned char *)in + off,
	    "%s: frame starts at offset %td, want %zu", what,
	    (const unsigned char *)f.data - (const unsigned char *)in, off);
}

void
run_dec_cases(const gnet_codec_t *c, const struct dec_case *t, size_t k)
{
	void *st = codec_state_new(c);

	for (size_t i = 0; i < k; i++) {
		codec_state_reset(c, st);
		check_decode(c, st, t[i].in, t[i].n, t[i].want, t[i].off, t[i].len,
		    t[i].consumed, t[i].what);
	}
	free(st);
}

void
check_encode(const gnet_codec_t *c, const void *p, size_t n,
    const void *want, size_t want_len, const char *what)
{
	unsigned char out[256];
	long r = gnet_codec_encode(c, p, n, out, sizeof out);

	ck_assert_msg(r == (long)want_len, "%s: encode gave %ld (%s), want %zu",
	    what, r, err_name(r), want_len);
	ck_assert_msg(memcmp(out, want, want_len) == 0, "%s: wrong bytes", what);
}

void
put_length_field(uint8_t *p, int width, int little, uint64_t v)
{
	for (int i = 0; i < width; i++) {
		int shift = 8 * (little ? i : width - 1 - i);
		p[i] = (uint8_t)(v >> shift);
	}
}
