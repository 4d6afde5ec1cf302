/*
 * json_check.h -- is a text one well-formed JSON value (RFC 8259)? For
 * suites that check a program's JSON output without a JSON library or a
 * python on the test machine. Only the syntax is checked; what the
 * fields hold the test checks itself (strstr on compact output).
 */
#ifndef TESTS_SUPPORT_JSON_CHECK_H
#define TESTS_SUPPORT_JSON_CHECK_H

#include <stddef.h>

/* 1 when text[0..len) is one JSON value, with only whitespace around
 * it; else 0 with what is wrong, and where, in err. */
int tn_json_valid(const char *text, size_t len, char *err, size_t cap);

#endif
