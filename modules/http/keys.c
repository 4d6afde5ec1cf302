/*
 * keys.c -- the /keys/ resource's pure parts (keys.h).
 */
#include <string.h>
#include "keys.h"

static int
hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

long
http_keys_name(const char *target, size_t len, char *out, size_t cap)
{
	size_t plen = sizeof HTTP_KEYS_PREFIX - 1, i, n = 0;
	const char *q;

	if (len <= plen || memcmp(target, HTTP_KEYS_PREFIX, plen) != 0)
		return -1;
	if ((q = memchr(target, '?', len)) != NULL)
		len = (size_t)(q - target);
	for (i = plen; i < len; i++) {
		int c = (unsigned char)target[i];

		if (c == '%') {
			int h, l;

			if (i + 2 >= len)
				return -1;
			h = hex((unsigned char)target[i + 1]);
			l = hex((unsigned char)target[i + 2]);
			if (h < 0 || l < 0)
				return -1;
			c = h * 16 + l;
			i += 2;
		}
		if (n == cap)
			return -1;
		out[n++] = (char)c;
	}
	return n > 0 ? (long)n : -1;
}

int
http_keys_status(const char *p, size_t n, const char **body,
    size_t *body_len)
{
	size_t i, len = 0;

	*body = NULL;
	*body_len = 0;
	if (n >= 5 && memcmp(p, "$-1\r\n", 5) == 0)
		return 404;
	if (n >= 1 && p[0] == '-') {
		const char *end = memchr(p, '\r', n);

		*body = p + 1;
		*body_len = end != NULL ? (size_t)(end - p) - 1 : n - 1;
		return 500;
	}
	if (n < 4 || p[0] != '$')
		return 500;
	for (i = 1; i < n && p[i] >= '0' && p[i] <= '9'; i++)
		len = len * 10 + (size_t)(p[i] - '0');
	if (i == 1 || i + 2 > n || p[i] != '\r' || p[i + 1] != '\n' ||
	    n - (i + 2) < len)
		return 500;
	*body = p + i + 2;
	*body_len = len;
	return 200;
}
