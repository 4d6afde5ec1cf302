/*
 * codec_specs.c -- the table of codecs the live suites run, and their
 * instances (see codec_specs.h).
 */
#include "codec_specs.h"

#include <check.h>
#include <string.h>

#include "testnet.h"

const codec_spec_t codec_specs[N_SPECS] = {
	[SPEC_LINE] = { "line", K_LINE, NULL, 0, 0, 0 },
	[SPEC_CRLF2] = { "delim \\r\\n\\r\\n", K_DELIM, "\r\n\r\n", 4, 0, 0 },
	[SPEC_PIPE] = { "delim |", K_DELIM, "|", 1, 0, 0 },
	[SPEC_FIXED] = { "fixed", K_FIXED, NULL, 0, 0, 0 },
	[SPEC_LF1] = { "length field 1", K_LF, NULL, 0, 1, 0 },
	[SPEC_LF2LE] = { "length field 2 le", K_LF, NULL, 0, 2, 1 },
	[SPEC_LF3] = { "length field 3", K_LF, NULL, 0, 3, 0 },
	[SPEC_LF4] = { "length field 4", K_LF, NULL, 0, 4, 0 },
	[SPEC_LF8LE] = { "length field 8 le", K_LF, NULL, 0, 8, 1 },
};

void
codec_inst_init_adj(codec_inst_t *ci, int spec, size_t fixed_len,
    size_t max_frame, long adj)
{
	const codec_spec_t *sp = &codec_specs[spec];
	int rc = GNET_EINVAL;

	memset(ci, 0, sizeof *ci);
	ci->sp = sp;
	ci->fixed_len = fixed_len;
	size_t maxf = max_frame != 0 ? max_frame : GNET_CODEC_MAX_FRAME;
	switch (sp->kind) {
	case K_LINE:
		rc = gnet_codec_new_line(&ci->codec, max_frame);
		ci->max_payload = maxf;
		break;
	case K_DELIM:
		rc = gnet_codec_new_delimiter(&ci->codec, sp->delim, sp->dlen,
		    max_frame);
		ci->max_payload = maxf;
		break;
	case K_FIXED:
		rc = gnet_codec_new_fixed(&ci->codec, fixed_len);
		ci->max_payload = fixed_len;
		break;
	case K_LF: {
		gnet_length_field_config_t cfg = {
			.size = sizeof(gnet_length_field_config_t),
			.field_length = sp->width,
			.little_endian = sp->little,
			.length_adjustment = adj,
			.strip = (size_t)sp->width,
			.encode_adjustment = -adj,
			.max_frame = max_frame,
		};
		rc = gnet_codec_new_length_field(&ci->codec, &cfg);
		ci->max_payload = maxf - (size_t)sp->width;
		if (sp->width < 8) {
			uint64_t field_max = ((uint64_t)1 << (8 * sp->width)) - 1;
			if (adj < 0)
				field_max -= (uint64_t)-adj;
			if (ci->max_payload > field_max)
				ci->max_payload = (size_t)field_max;
		}
		break;
	}
	}
	ck_assert_msg(rc == 0 && ci->codec != NULL, "codec %s: %d (%s)", sp->name,
	    rc, gnet_strerror(rc));
}

void
codec_inst_init(codec_inst_t *ci, int spec, size_t fixed_len,
    size_t max_frame)
{
	codec_inst_init_adj(ci, spec, fixed_len, max_frame, 0);
}

void
codec_inst_free(codec_inst_t *ci)
{
	gnet_codec_free(ci->codec);
	ci->codec = NULL;
}

size_t
codec_inst_len(const codec_inst_t *ci, size_t want)
{
	if (ci->sp->kind == K_FIXED)
		return ci->fixed_len;
	return want < ci->max_payload ? want : ci->max_payload;
}

/* Is byte b part of the spec's delimiter (or a line's "\r\n")? */
static int
is_delim_byte(const codec_spec_t *sp, uint8_t b)
{
	if (sp->kind == K_LINE)
		return b == '\n' || b == '\r';
	if (sp->kind == K_DELIM)
		return memchr(sp->delim, b, sp->dlen) != NULL;
	return 0;
}

void
codec_inst_payload(const codec_inst_t *ci, uint8_t *p, size_t n,
    uint64_t seed)
{
	tn_fill_random(p, n, seed);
	for (size_t i = 0; i < n; i++)
		while (is_delim_byte(ci->sp, p[i]))
			p[i] = (uint8_t)(p[i] + 1);
}
