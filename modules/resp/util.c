/*
 * util.c -- argument parsing shared by the commands, with Redis's rules
 * and error texts (keyspace.h).
 */
#include <limits.h>
#include <string.h>
#include "util.h"

#define LONG_STR_SIZE 21        /* Redis refuses longer integer strings */

int
ks_string2ll(const char *s, size_t len, long long *v)
{
	unsigned long long u;
	size_t i = 0;
	int neg = 0;

	if (len == 0 || len >= LONG_STR_SIZE)
		return 0;
	if (len == 1 && s[0] == '0') {
		*v = 0;
		return 1;
	}
	if (s[0] == '-') {
		neg = 1;
		if (++i == len)
			return 0;
	}
	if (s[i] < '1' || s[i] > '9')
		return 0;
	u = (unsigned long long)(s[i++] - '0');
	for (; i < len; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return 0;
		d = (unsigned)(s[i] - '0');
		if (u > ULLONG_MAX / 10 || u * 10 > ULLONG_MAX - d)
			return 0;
		u = u * 10 + d;
	}
	if (neg) {
		if (u > (unsigned long long)LLONG_MAX + 1)
			return 0;
		*v = (long long)(0ull - u);
	} else {
		if (u > LLONG_MAX)
			return 0;
		*v = (long long)u;
	}
	return 1;
}

int
ks_arg_ll(const GnetRespArg *a, long long *v, reply_t *out)
{
	if (ks_string2ll(a->ptr, a->len, v))
		return 0;
	reply_error(out, RESP_ERR_NOT_INT);
	return -1;
}

int
ks_arg_count(const GnetRespArg *a, long *v, reply_t *out)
{
	long long ll;

	if (!ks_string2ll(a->ptr, a->len, &ll) || ll < 0 || ll > LONG_MAX) {
		reply_error(out, KS_ERR_RANGE_POSITIVE);
		return -1;
	}
	*v = (long)ll;
	return 0;
}

int
ks_arg_is(const GnetRespArg *a, const char *word)
{
	size_t n = strlen(word);

	if (a->len != n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = a->ptr[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != word[i])
			return 0;
	}
	return 1;
}

size_t
ks_ll2str(char *buf, long long v)
{
	char tmp[LONG_STR_SIZE];
	size_t n = 0, i;
	unsigned long long u = v < 0 ? 0ull - (unsigned long long)v :
	    (unsigned long long)v;

	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	i = 0;
	if (v < 0)
		buf[i++] = '-';
	while (n > 0)
		buf[i++] = tmp[--n];
	return i;
}
