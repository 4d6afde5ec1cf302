/*
 * What the RESP decoder (codecs/resp.c) and the argument splitter
 * (codecs/resp_args.c) share: Redis's rules for a number in a count line
 * (and a fast path for the usual short one) and for splitting an inline
 * command, so the decoder validates a command exactly as gnet_resp_args
 * will later read it.
 */
#ifndef GNET_CODECS_RESP_H
#define GNET_CODECS_RESP_H

#include <stddef.h>
#include <stdint.h>
#include "gnet.h"

/* Longest text string2ll accepts: one less than Redis's LONG_STR_SIZE,
 * the room for a long long's digits, sign and NUL. */
#define GNET__RESP_NUM_MAX 20

/* Read s[0..len) as Redis's string2ll does: an optional '-', then "0"
 * alone or a digit 1-9 followed by digits, nothing else (no '+', no
 * blank, no leading zero), within a long long. Returns 1 and sets *v, or
 * 0 for anything else. */
static inline int
gnet__resp_number(const unsigned char *s, size_t len, int64_t *v)
{
	uint64_t acc, lim;
	size_t i = 0;
	int neg = 0;

	if (len == 0 || len > GNET__RESP_NUM_MAX)
		return 0;
	if (len == 1 && s[0] == '0') {
		*v = 0;
		return 1;
	}
	if (s[0] == '-') {
		neg = 1;
		i = 1;
	}
	if (i == len || s[i] < '1' || s[i] > '9')
		return 0;
	/* A negative number may reach one further: -INT64_MIN. */
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	acc = 0;
	for (; i < len; i++) {
		unsigned d = (unsigned)s[i] - '0';

		if (d > 9 || acc > (lim - d) / 10)
			return 0;
		acc = acc * 10 + d;
	}
	*v = neg ? (int64_t)(0 - acc) : (int64_t)acc;
	return 1;
}

/* Digits read in one pass by gnet__resp_short_header: below 10^18, no
 * overflow to check. */
#define GNET__RESP_SHORT_DIGITS 18

/* Most headers are a marker and a few digits, "$3\r": read those in one
 * pass. Returns 1 with *cr and *v when in[at] is `mark` followed by a
 * number without a sign of at most GNET__RESP_SHORT_DIGITS digits, then
 * "\r" and a byte after it -- that "\r" is then the first one from `at`,
 * as the marker and digits are not "\r". Anything else (0) goes the
 * general way: memchr, then gnet__resp_number. */
static inline int
gnet__resp_short_header(const unsigned char *in, size_t n, size_t at,
    unsigned char mark, size_t *cr, int64_t *v)
{
	size_t i = at + 1, end;
	int64_t x = 0;

	if (i >= n || in[at] != mark)
		return 0;
	end = n - i > GNET__RESP_SHORT_DIGITS ? i + GNET__RESP_SHORT_DIGITS : n;
	if (in[i] == '0') {
		i++;
	} else {
		for (; i < end && in[i] >= '0' && in[i] <= '9'; i++)
			x = x * 10 + (in[i] - '0');
		if (i == at + 1)
			return 0;
	}
	if (i + 1 >= n || in[i] != '\r')
		return 0;
	*cr = i;
	*v = x;
	return 1;
}

/* Split an inline command's line (its "\n", and a "\r" before it,
 * already removed) as Redis's sdssplitargs does. Arguments are unquoted
 * into out (at most len bytes in all) and argv[0..min(argc, max)) point
 * there; with out NULL nothing is written and the line is only checked
 * and counted. Returns argc, or -1 for unbalanced quotes (also a closing
 * quote followed by something other than a blank). */
long gnet__resp_split(const unsigned char *line, size_t len,
    gnet_resp_arg_t *argv, size_t max, char *out);

#endif
