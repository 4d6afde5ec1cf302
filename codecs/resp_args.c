/*
 * Splitting a RESP command frame into its arguments (gnet_resp_args), and
 * the inline splitter the decoder validates inline commands with.
 *
 * A multibulk frame is read again from its headers, which is cheap: a
 * header per argument, never the payloads. Every header is checked, so a
 * frame the codec did not produce gives GNET_EBADFRAME instead of
 * pointers outside it. Limits are not checked again: the codec already
 * applied its own, and this function has no codec to ask.
 *
 * Inline commands follow Redis's sdssplitargs byte for byte, but on a
 * length instead of a C string: a NUL is an ordinary byte here (Redis's
 * strchr would never find the end of a line containing one).
 */
#include <limits.h>
#include <string.h>
#include "codecs/resp.h"

/* Blanks between arguments and after a closing quote: isspace() in the C
 * locale, which is what Redis runs its parser under. */
static int
is_blank(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/* What ends an unquoted argument: fewer than is_blank (no '\v', '\f'),
 * as in sdssplitargs. */
static int
ends_word(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int
hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The byte a backslash escape inside double quotes stands for: the
 * letters C knows, anything else for itself ("\"" and "\\" included). */
static unsigned char
unescape(unsigned char c)
{
	switch (c) {
	case 'n': return '\n';
	case 'r': return '\r';
	case 't': return '\t';
	case 'b': return '\b';
	case 'a': return '\a';
	default: return c;
	}
}

/* One quoted section starting after its opening quote at s[*ip]: appends
 * its bytes at out[*wp] and leaves *ip after the closing quote. Returns
 * 0, or -1 when the line ends inside it or the closing quote is not
 * followed by a blank or the end. */
static int
quoted(const unsigned char *s, size_t len, size_t *ip, char *out, size_t *wp,
    unsigned char q)
{
	size_t i = *ip, w = *wp;
	unsigned char c;
	int hi, lo;

	for (;;) {
		if (i == len)
			return -1;
		c = s[i];
		if (c == q) {
			if (i + 1 < len && !is_blank(s[i + 1]))
				return -1;
			*ip = i + 1;
			*wp = w;
			return 0;
		}
		if (c == '\\' && q == '"' && i + 3 < len && s[i + 1] == 'x' &&
		    (hi = hex_value(s[i + 2])) >= 0 &&
		    (lo = hex_value(s[i + 3])) >= 0) {
			c = (unsigned char)(hi << 4 | lo);
			i += 4;
		} else if (c == '\\' && q == '"' && i + 1 < len) {
			c = unescape(s[i + 1]);
			i += 2;
		} else if (c == '\\' && q == '\'' && i + 1 < len &&
		    s[i + 1] == '\'') {
			c = '\'';
			i += 2;
		} else {
			i++;
		}
		if (out != NULL)
			out[w] = (char)c;
		w++;
	}
}

long
gnet__resp_split(const unsigned char *s, size_t len, gnet_resp_arg_t *argv,
    size_t max, char *out)
{
	size_t i = 0, w = 0, start;
	long argc = 0;

	for (;;) {
		while (i < len && is_blank(s[i]))
			i++;
		if (i == len)
			return argc;
		start = w;
		/* One argument: unquoted bytes, then possibly one quoted
		 * section, which ends the argument. */
		for (;;) {
			unsigned char c = i < len ? s[i] : ' ';

			if (ends_word(c))
				break;
			if (c == '"' || c == '\'') {
				i++;
				if (quoted(s, len, &i, out, &w, c) != 0)
					return -1;
				break;
			}
			if (out != NULL)
				out[w] = (char)c;
			w++;
			i++;
		}
		if (argv != NULL && (size_t)argc < max) {
			argv[argc].ptr = out != NULL ? out + start : NULL;
			argv[argc].len = w - start;
		}
		argc++;
	}
}

/* A multibulk frame: "*<count>\r?" and per argument "$<len>\r?<bytes>??",
 * '?' being a byte Redis skips unseen. Returns argc or GNET_EBADFRAME. */
static long
multibulk_args(const unsigned char *p, size_t len, gnet_resp_arg_t *argv,
    size_t max)
{
	const unsigned char *end = p + len, *cr, *q;
	int64_t count, blen, i;

	size_t at;

	if (gnet__resp_short_header(p, len, 0, '*', &at, &count)) {
		cr = p + at;
	} else {
		cr = memchr(p, '\r', len);
		if (cr == NULL || end - cr < 2 ||
		    !gnet__resp_number(p + 1, (size_t)(cr - p - 1), &count))
			return GNET_EBADFRAME;
	}
	if (count > INT_MAX)
		return GNET_EBADFRAME;
	q = cr + 2;
	if (count <= 0)
		return q == end ? 0 : GNET_EBADFRAME;
	for (i = 0; i < count; i++) {
		if (q == end || *q != '$')
			return GNET_EBADFRAME;
		if (gnet__resp_short_header(q, (size_t)(end - q), 0, '$', &at,
		    &blen)) {
			cr = q + at;
		} else {
			cr = memchr(q, '\r', (size_t)(end - q));
			if (cr == NULL || end - cr < 2 ||
			    !gnet__resp_number(q + 1, (size_t)(cr - q - 1),
			    &blen) || blen < 0)
				return GNET_EBADFRAME;
		}
		if ((uint64_t)blen + 2 > (uint64_t)(end - cr - 2))
			return GNET_EBADFRAME;
		if ((size_t)i < max) {
			argv[i].ptr = (const char *)cr + 2;
			argv[i].len = (size_t)blen;
		}
		q = cr + 2 + blen + 2;
	}
	return q == end ? (long)count : GNET_EBADFRAME;
}

long
gnet_resp_args(const void *frame, size_t len, gnet_resp_arg_t *argv,
    size_t max, char *scratch, size_t scratch_len)
{
	const unsigned char *p = frame;
	size_t line;
	long argc;

	if (len == 0)
		return 0;
	if (p == NULL || (argv == NULL && max != 0))
		return GNET_EINVAL;
	if (p[0] == '*')
		return multibulk_args(p, len, argv, max);
	if (scratch == NULL || scratch_len < len)
		return GNET_EINVAL;
	/* One line, ending at its only "\n". */
	if (p[len - 1] != '\n' || memchr(p, '\n', len - 1) != NULL)
		return GNET_EBADFRAME;
	line = len - 1;
	if (line != 0 && p[line - 1] == '\r')
		line--;
	argc = gnet__resp_split(p, line, argv, max, scratch);
	return argc < 0 ? GNET_EBADFRAME : argc;
}
