/*
 * words.c -- a config line into words (words.h has the rules). The rules
 * are redis.conf's, so an operator who knows one knows the other; unlike
 * redis, a malformed line says what is wrong with it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "words.h"

/* A word being built: any length, since a module argument can be long. */
typedef struct wordbuf {
	char *p;
	size_t len, cap;
} wordbuf_t;

static int
wordbuf_put(wordbuf_t *b, char c)
{
	if (b->len + 1 >= b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 32;
		char *p = realloc(b->p, cap);
		if (p == NULL)
			return -2;
		b->p = p;
		b->cap = cap;
	}
	b->p[b->len++] = c;
	b->p[b->len] = '\0';
	return 0;
}

/* Append a finished word (taken from b, which starts over) to w. */
static int
words_push(gnetd_words_t *w, wordbuf_t *b)
{
	char **v = realloc(w->v, (size_t)(w->n + 2) * sizeof(*v));

	if (v == NULL)
		return -2;
	w->v = v;
	/* A word of nothing but quotes ("") has no buffer yet. */
	if (b->p == NULL && (b->p = calloc(1, 1)) == NULL)
		return -2;
	w->v[w->n++] = b->p;
	w->v[w->n] = NULL;
	memset(b, 0, sizeof(*b));
	return 0;
}

static int
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' ||
	    c == '\v';
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The character a double-quoted backslash sequence at s (after the
 * backslash) stands for; *used gets how many characters it took. */
static char
unescape(const char *s, int *used)
{
	*used = 1;
	switch (*s) {
	case 'n': return '\n';
	case 'r': return '\r';
	case 't': return '\t';
	case 'b': return '\b';
	case 'a': return '\a';
	case 'x':
		if (hex_value(s[1]) >= 0 && hex_value(s[2]) >= 0) {
			*used = 3;
			return (char)(hex_value(s[1]) * 16 + hex_value(s[2]));
		}
		return 'x';
	default: return *s; /* \\, \" and any other character as itself */
	}
}

/* One quoted part starting at *ps (on its opening quote) into b; *ps ends
 * past the closing quote. Returns 0, -1 (unterminated) or -2. */
static int
quoted_part(const char **ps, wordbuf_t *b)
{
	const char *s = *ps;
	char q = *s++;
	int rc = 0, used;

	for (; *s != '\0' && *s != q && rc == 0; s++) {
		if (*s == '\\' && q == '"' && s[1] != '\0') {
			rc = wordbuf_put(b, unescape(s + 1, &used));
			s += used;
		} else if (*s == '\\' && q == '\'' && s[1] == '\'') {
			rc = wordbuf_put(b, '\'');
			s++;
		} else {
			rc = wordbuf_put(b, *s);
		}
	}
	if (rc != 0)
		return rc;
	if (*s != q)
		return -1;
	*ps = s + 1;
	return 0;
}

int
gnetd_words_split(const char *line, gnetd_words_t *out, char *err,
    size_t errlen)
{
	wordbuf_t b = { 0 };
	const char *s = line;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	while (rc == 0) {
		while (is_blank(*s))
			s++;
		if (*s == '\0' || *s == '#')
			break;
		/* One word: unquoted runs and quoted parts until a blank. */
		while (rc == 0 && *s != '\0' && !is_blank(*s)) {
			if (*s == '"' || *s == '\'') {
				char q = *s;
				rc = quoted_part(&s, &b);
				if (rc == -1)
					snprintf(err, errlen, "unterminated %s",
					    q == '"' ? "\"double quotes\"" :
					    "'single quotes'");
				else if (rc == 0 && *s != '\0' && !is_blank(*s)) {
					snprintf(err, errlen, "a closing quote "
					    "must be followed by a space");
					rc = -1;
				}
			} else {
				rc = wordbuf_put(&b, *s++);
			}
		}
		if (rc == 0)
			rc = words_push(out, &b);
	}
	if (rc != 0) {
		free(b.p);
		gnetd_words_free(out);
	}
	return rc;
}

int
gnetd_words_copy(gnetd_words_t *out, const char *const *v, int n)
{
	int i;

	memset(out, 0, sizeof(*out));
	out->v = calloc((size_t)n + 1, sizeof(*out->v));
	if (out->v == NULL)
		return -2;
	for (i = 0; i < n; i++) {
		out->v[i] = strdup(v[i]);
		if (out->v[i] == NULL) {
			out->n = i;
			gnetd_words_free(out);
			return -2;
		}
	}
	out->n = n;
	return 0;
}

void
gnetd_words_free(gnetd_words_t *w)
{
	int i;

	for (i = 0; i < w->n; i++)
		free(w->v[i]);
	free(w->v);
	memset(w, 0, sizeof(*w));
}
