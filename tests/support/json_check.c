/*
 * json_check.c -- a recursive-descent JSON syntax check (json_check.h).
 * Depth is bounded so that a runaway nesting fails instead of
 * overflowing the stack.
 */
#include <stdio.h>
#include <string.h>

#include "json_check.h"

#define MAX_DEPTH 64

typedef struct parser {
	const char *p, *end, *start;
	const char *why;
} parser_t;

static int value(parser_t *ps, int depth);

static int
fail(parser_t *ps, const char *why)
{
	if (ps->why == NULL)
		ps->why = why;
	return 0;
}

static void
blanks(parser_t *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' ||
	    *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static int
literal(parser_t *ps, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
		return fail(ps, "bad literal");
	ps->p += n;
	return 1;
}

static int
is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

static int
string(parser_t *ps)
{
	ps->p++;        /* the opening quote */
	while (ps->p < ps->end && *ps->p != '"') {
		unsigned char c = (unsigned char)*ps->p;

		if (c < 0x20)
			return fail(ps, "control character in a string");
		if (c == '\\') {
			ps->p++;
			if (ps->p >= ps->end)
				break;
			if (*ps->p == 'u') {
				for (int i = 1; i <= 4; i++)
					if (ps->p + i >= ps->end ||
					    !is_hex(ps->p[i]))
						return fail(ps, "bad \\u escape");
				ps->p += 4;
			} else if (strchr("\"\\/bfnrt", *ps->p) == NULL) {
				return fail(ps, "bad escape");
			}
		}
		ps->p++;
	}
	if (ps->p >= ps->end)
		return fail(ps, "unterminated string");
	ps->p++;
	return 1;
}

static int
digits(parser_t *ps)
{
	const char *from = ps->p;

	while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
		ps->p++;
	return ps->p > from;
}

static int
number(parser_t *ps)
{
	if (*ps->p == '-')
		ps->p++;
	if (ps->p < ps->end && *ps->p == '0')
		ps->p++;
	else if (!digits(ps))
		return fail(ps, "bad number");
	if (ps->p < ps->end && *ps->p == '.') {
		ps->p++;
		if (!digits(ps))
			return fail(ps, "bad fraction");
	}
	if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
		ps->p++;
		if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
			ps->p++;
		if (!digits(ps))
			return fail(ps, "bad exponent");
	}
	return 1;
}

/* The members or elements of an object ('}') or array (']'). */
static int
items(parser_t *ps, char close, int depth)
{
	ps->p++;
	blanks(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		return 1;
	}
	for (;;) {
		blanks(ps);
		if (close == '}') {
			if (ps->p >= ps->end || *ps->p != '"')
				return fail(ps, "a member name must be a string");
			if (!string(ps))
				return 0;
			blanks(ps);
			if (ps->p >= ps->end || *ps->p != ':')
				return fail(ps, "':' expected");
			ps->p++;
		}
		if (!value(ps, depth + 1))
			return 0;
		blanks(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == close) {
			ps->p++;
			return 1;
		}
		return fail(ps, close == '}' ? "',' or '}' expected" :
		    "',' or ']' expected");
	}
}

static int
value(parser_t *ps, int depth)
{
	if (depth > MAX_DEPTH)
		return fail(ps, "nested too deep");
	blanks(ps);
	if (ps->p >= ps->end)
		return fail(ps, "value expected");
	switch (*ps->p) {
	case '{': return items(ps, '}', depth);
	case '[': return items(ps, ']', depth);
	case '"': return string(ps);
	case 't': return literal(ps, "true");
	case 'f': return literal(ps, "false");
	case 'n': return literal(ps, "null");
	default:
		if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9'))
			return number(ps);
		return fail(ps, "value expected");
	}
}

int
tn_json_valid(const char *text, size_t len, char *err, size_t cap)
{
	parser_t ps = { text, text + len, text, NULL };
	int ok = value(&ps, 0);

	if (ok) {
		blanks(&ps);
		if (ps.p != ps.end)
			ok = fail(&ps, "text after the value");
	}
	if (!ok && cap > 0) {
		int show = ps.end - ps.p < 24 ? (int)(ps.end - ps.p) : 24;

		snprintf(err, cap, "%s at byte %ld: \"%.*s\"", ps.why,
		    (long)(ps.p - ps.start), show, ps.p);
	}
	return ok;
}
