/*
 * Reading arguments as Redis reads them, with its error texts: integers
 * (string2ll's rules), counts, option words. Shared by the commands of
 * the keyspace and of the connection. Thread: any (pure).
 */
#ifndef RESP_UTIL_H
#define RESP_UTIL_H

#include <stddef.h>
#include "gnetmodule.h"
#include "reply.h"

#define KS_ERR_RANGE_POSITIVE "ERR value is out of range, must be positive"

/* Redis's string2ll: an optional '-', then digits with no leading zero
 * (or a lone "0"), no blanks, within long long. 1 if it parsed. */
int ks_string2ll(const char *s, size_t len, long long *v);
/* The integer of an argument, or Redis's error and -1. */
int ks_arg_ll(const GnetRespArg *a, long long *v, reply_t *out);
/* A count in [0, LONG_MAX], or "value is out of range, must be
 * positive" for anything else (as Redis's getPositiveLong...). */
int ks_arg_count(const GnetRespArg *a, long *v, reply_t *out);
/* Case-insensitive comparison of an argument with a lower-case word. */
int ks_arg_is(const GnetRespArg *a, const char *word);
/* Decimal text of v (21 bytes of room); returns the length. */
size_t ks_ll2str(char *buf, long long v);

#endif
