/*
 * words.h -- one line of a gnetd config file split into words, as
 * redis.conf lines are: words separated by blanks; "double quotes" with
 * C-like escapes (\n \r \t \b \a \\ \" \xHH), 'single quotes' where only \'
 * is special; a quoted part may follow unquoted text in one word
 * (listen="tcp://x"), and must be followed by a blank or the line's end.
 * A word that starts with # (outside quotes) begins a comment.
 */
#ifndef GNETD_WORDS_H
#define GNETD_WORDS_H

#include <stddef.h>

typedef struct gnetd_words {
	char **v;      /* NUL-terminated words; v[n] == NULL */
	int n;
} gnetd_words_t;

/* Split `line` (NUL-terminated, without or with its '\n') into *out.
 * Returns 0; or -1 with why in err (the line is malformed) and *out
 * empty; or -2 when out of memory. An empty or comment line gives n == 0. */
int gnetd_words_split(const char *line, gnetd_words_t *out, char *err,
    size_t errlen);

/* A copy of words v[0..n) (NULL-terminated): 0, or -2 out of memory. */
int gnetd_words_copy(gnetd_words_t *out, const char *const *v, int n);

void gnetd_words_free(gnetd_words_t *w);

#endif
