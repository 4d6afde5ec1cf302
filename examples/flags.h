/*
 * flags.h -- an example's numeric flag: a decimal in [min, max] and
 * nothing else (no sign, no blank, no suffix), or the example's usage()
 * and exit status 2. Every example reads its numbers through this one
 * function, so "--loops abc" or "--port 99999" is refused alike
 * everywhere instead of being read as 0 or cut to fit. Header-only: each
 * example still builds from its one .c file.
 */
#ifndef GNET_EXAMPLES_FLAGS_H
#define GNET_EXAMPLES_FLAGS_H

#include <errno.h>
#include <stdlib.h>

static inline unsigned long long
flag_number(const char *s, unsigned long long min, unsigned long long max,
    void (*usage)(void))
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || errno != 0 || *end != '\0' ||
	    v < min || v > max) {
		usage();
		exit(2);   /* usage() exits; this is for the compiler */
	}
	return v;
}

#endif
