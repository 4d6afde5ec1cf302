/*
 * resp_corpus.c -- the cases of the RESP differential test and the
 * reader of their files (resp_corpus.h).
 */
#include <check.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "resp_corpus.h"

#define LINE_CAP (256 * 1024)   /* longest corpus line (escapes counted) */
#define MAX_WORDS 256           /* words of one '>' line */
#define REPLIES_UNSET (-2)

/* ------------------------------------------------------------------------
 * Building.
 */

tn_resp_case_t *
tn_resp_case_add(tn_resp_corpus_t *c, const char *name, const char *where)
{
	tn_resp_case_t *k;

	for (int i = 0; i < c->n; i++)
		ck_assert_msg(strcmp(c->cases[i].name, name) != 0,
		    "%s: case %s is defined twice (also at %s)", where, name,
		    c->cases[i].where);
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->cases = realloc(c->cases, (size_t)c->cap * sizeof *c->cases);
		ck_assert(c->cases != NULL);
	}
	k = &c->cases[c->n++];
	memset(k, 0, sizeof *k);
	ck_assert_msg(strlen(name) < sizeof k->name, "%s: name too long",
	    where);
	snprintf(k->name, sizeof k->name, "%s", name);
	snprintf(k->where, sizeof k->where, "%s", where);
	k->nseg = 1;
	k->seg[0].replies = REPLIES_UNSET;
	k->timeout_ms = TN_RESP_CASE_MS;
	return k;
}

static tn_resp_segment_t *
last_seg(tn_resp_case_t *k)
{
	return &k->seg[k->nseg - 1];
}

void
tn_resp_case_raw(tn_resp_case_t *k, const void *p, size_t n, int lines)
{
	tn_resp_segment_t *s = last_seg(k);

	if (s->cap - s->len < n) {
		size_t cap = s->cap ? s->cap : 256;
		while (cap - s->len < n)
			cap *= 2;
		s->tx = realloc(s->tx, cap);
		ck_assert_msg(s->tx != NULL, "out of memory (%zu bytes)", cap);
		s->cap = cap;
	}
	memcpy(s->tx + s->len, p, n);
	s->len += n;
	s->lines += lines;
}

void
tn_resp_case_cmd(tn_resp_case_t *k, int argc, const char *const *argv,
    const size_t *lens)
{
	char head[32];
	int n = snprintf(head, sizeof head, "*%d\r\n", argc);

	tn_resp_case_raw(k, head, (size_t)n, 1);
	for (int i = 0; i < argc; i++) {
		n = snprintf(head, sizeof head, "$%zu\r\n", lens[i]);
		tn_resp_case_raw(k, head, (size_t)n, 0);
		tn_resp_case_raw(k, argv[i], lens[i], 0);
		tn_resp_case_raw(k, "\r\n", 2, 0);
	}
}

void
tn_resp_case_cut(tn_resp_case_t *k)
{
	ck_assert_msg(k->nseg < TN_RESP_MAX_SEGMENTS, "%s: more than %d "
	    "segments", k->where, TN_RESP_MAX_SEGMENTS);
	k->nseg++;
	memset(last_seg(k), 0, sizeof k->seg[0]);
	last_seg(k)->replies = REPLIES_UNSET;
}

void
tn_resp_case_replies(tn_resp_case_t *k, int replies)
{
	last_seg(k)->replies = replies;
}

int
tn_resp_segment_replies(const tn_resp_segment_t *s)
{
	return s->replies == REPLIES_UNSET ? s->lines : s->replies;
}

/* ------------------------------------------------------------------------
 * Escapes and words.
 */

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* One escape at s[i] (after the backslash) into out: the characters
 * consumed, or -1. *count is how often the byte repeats. */
static int
escape_at(const char *s, size_t n, size_t i, uint8_t *byte, size_t *count)
{
	*count = 1;
	if (i >= n)
		return -1;
	switch (s[i]) {
	case 'r': *byte = '\r'; return 1;
	case 'n': *byte = '\n'; return 1;
	case 't': *byte = '\t'; return 1;
	case '0': *byte = '\0'; return 1;
	case '\\': case '"': case ' ': *byte = (uint8_t)s[i]; return 1;
	case 'x':
		if (i + 2 >= n || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0)
			return -1;
		*byte = (uint8_t)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
		return 3;
	case '{': {
		size_t j = i + 1, v = 0;
		while (j < n && isdigit((unsigned char)s[j]))
			v = v * 10 + (size_t)(s[j++] - '0');
		if (j + 1 >= n || s[j] != '}' || v == 0)
			return -1;
		*byte = (uint8_t)s[j + 1];
		*count = v;
		return (int)(j + 2 - i);
	}
	default:
		return -1;
	}
}

ssize_t
tn_resp_unescape(const char *s, size_t n, uint8_t *out, size_t cap)
{
	size_t len = 0;

	for (size_t i = 0; i < n;) {
		uint8_t b = (uint8_t)s[i];
		size_t count = 1;
		if (s[i] == '\\') {
			int k = escape_at(s, n, i + 1, &b, &count);
			if (k < 0)
				return -1;
			i += 1 + (size_t)k;
		} else {
			i++;
		}
		if (cap - len < count)
			return -1;
		memset(out + len, b, count);
		len += count;
	}
	return (ssize_t)len;
}

/* Split a '>' line into words (escapes decoded) stored one after the
 * other in buf; returns the word count, or -1 on a syntax error. */
static int
split_words(const char *s, uint8_t *buf, size_t cap, const char **argv,
    size_t *lens)
{
	size_t used = 0;
	int argc = 0;

	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0')
			return argc;
		if (argc == MAX_WORDS)
			return -1;
		const char *start, *end;
		if (*s == '"') {
			start = ++s;
			while (*s != '\0' && *s != '"')
				s += (*s == '\\' && s[1] != '\0') ? 2 : 1;
			if (*s != '"')
				return -1;
			end = s++;
			if (*s != '\0' && *s != ' ' && *s != '\t')
				return -1;
		} else {
			start = s;
			while (*s != '\0' && *s != ' ' && *s != '\t')
				s += (*s == '\\' && s[1] != '\0') ? 2 : 1;
			end = s;
		}
		ssize_t k = tn_resp_unescape(start, (size_t)(end - start),
		    buf + used, cap - used);
		if (k < 0)
			return -1;
		argv[argc] = (const char *)buf + used;
		lens[argc++] = (size_t)k;
		used += (size_t)k;
	}
}

/* ------------------------------------------------------------------------
 * Files.
 */

void
tn_resp_corpus_dir(char *out, size_t cap)
{
	char exe[PATH_MAX - 64], *slash;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);

	ck_assert(n > 0);
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	ck_assert_ptr_nonnull(slash);
	*slash = '\0';
	snprintf(out, cap, "%s/../../../tests/resp_corpus", exe);
	if (access(out, R_OK) != 0)
		snprintf(out, cap, "tests/resp_corpus");
	ck_assert_msg(access(out, R_OK) == 0, "tests/resp_corpus not found "
	    "(run the suite from the source tree)");
}

typedef struct reader {
	char where[160];
	tn_resp_corpus_t *c;
	tn_resp_case_t *k;          /* the case being read */
	uint8_t *scratch;           /* LINE_CAP bytes */
} reader_t;

static int
reply_index(reader_t *r, const char *v)
{
	char *end;
	long i = strtol(v, &end, 10);

	ck_assert_msg(end != v && i >= 1 && i < 100000 &&
	    (*end == '\0' || *end == ' '), "%s: want a reply number, got "
	    "\"%s\"", r->where, v);
	return (int)i;
}

static tn_resp_mask_t *
new_mask(reader_t *r, int kind, const char *v)
{
	tn_resp_case_t *k = r->k;

	ck_assert_msg(k->nmasks < TN_RESP_MAX_MASKS, "%s: too many masks",
	    r->where);
	tn_resp_mask_t *m = &k->masks[k->nmasks++];
	m->kind = kind;
	m->reply = reply_index(r, v);
	return m;
}

static void
read_ours(reader_t *r, const char *v)
{
	tn_resp_mask_t *m = new_mask(r, TN_MASK_OURS, v);
	const char *bytes = strchr(v, ' ');

	ck_assert_msg(bytes != NULL, "%s: ours: I BYTES", r->where);
	ssize_t n = tn_resp_unescape(bytes + 1, strlen(bytes + 1),
	    r->scratch, LINE_CAP);
	ck_assert_msg(n > 0, "%s: bad escape", r->where);
	m->bytes = malloc((size_t)n);
	ck_assert(m->bytes != NULL);
	memcpy(m->bytes, r->scratch, (size_t)n);
	m->len = (size_t)n;
}

static void
read_fields(reader_t *r, const char *v)
{
	char tmp[256];
	char *save = NULL;

	snprintf(tmp, sizeof tmp, "%s", v);
	for (char *w = strtok_r(tmp, " ", &save); w != NULL;
	    w = strtok_r(NULL, " ", &save)) {
		ck_assert_msg(r->k->nfields < TN_RESP_MAX_FIELDS,
		    "%s: too many fields", r->where);
		snprintf(r->k->fields[r->k->nfields++], sizeof r->k->fields[0],
		    "%s", w);
	}
}

/* "key: value" with key the given word: the value, else NULL. */
static const char *
directive(const char *line, const char *key)
{
	size_t n = strlen(key);

	if (strncmp(line, key, n) != 0 || line[n] != ':')
		return NULL;
	return line[n + 1] == ' ' ? line + n + 2 : line + n + 1;
}

static void
read_line(reader_t *r, char *line)
{
	tn_resp_case_t *k = r->k;
	const char *v;

	if (strncmp(line, "=== ", 4) == 0) {
		r->k = tn_resp_case_add(r->c, line + 4, r->where);
		return;
	}
	ck_assert_msg(k != NULL, "%s: a directive before the first \"=== "
	    "NAME\"", r->where);
	if (line[0] == '>' && line[1] == ' ') {
		const char *argv[MAX_WORDS];
		size_t lens[MAX_WORDS];
		int argc = split_words(line + 2, r->scratch, LINE_CAP, argv,
		    lens);
		ck_assert_msg(argc > 0, "%s: bad command line", r->where);
		tn_resp_case_cmd(k, argc, argv, lens);
	} else if ((v = directive(line, "raw")) != NULL) {
		ssize_t n = tn_resp_unescape(v, strlen(v), r->scratch,
		    LINE_CAP);
		ck_assert_msg(n > 0, "%s: bad escape or empty raw", r->where);
		tn_resp_case_raw(k, r->scratch, (size_t)n, 1);
	} else if (strcmp(line, "---") == 0) {
		tn_resp_case_cut(k);
	} else if ((v = directive(line, "replies")) != NULL) {
		char *end;
		long n = strtol(v, &end, 10);
		if (strcmp(v, "close") == 0)
			n = TN_RESP_UNTIL_CLOSE;
		else
			ck_assert_msg(end != v && *end == '\0' && n >= 0,
			    "%s: replies: N or close", r->where);
		tn_resp_case_replies(k, (int)n);
	} else if ((v = directive(line, "await-gone")) != NULL) {
		tn_resp_case_cut(k);
		snprintf(k->seg[k->nseg - 1].await_gone,
		    sizeof k->seg[0].await_gone, "%s", v);
	} else if (strcmp(line, "halfclose") == 0) {
		k->halfclose = 1;
	} else if ((v = directive(line, "timeout")) != NULL) {
		k->timeout_ms = atoi(v);
		ck_assert_msg(k->timeout_ms > 0, "%s: bad timeout", r->where);
	} else if ((v = directive(line, "mask")) != NULL) {
		new_mask(r, TN_MASK_REPLY, v);
	} else if ((v = directive(line, "mask-field")) != NULL) {
		read_fields(r, v);
	} else if ((v = directive(line, "unordered")) != NULL) {
		new_mask(r, TN_MASK_UNORDERED, v);
	} else if ((v = directive(line, "unordered-pairs")) != NULL) {
		new_mask(r, TN_MASK_UNORDERED_PAIRS, v);
	} else if ((v = directive(line, "ours")) != NULL) {
		read_ours(r, v);
	} else {
		ck_abort_msg("%s: unknown directive \"%.60s\"", r->where, line);
	}
}

static void
load_file(tn_resp_corpus_t *c, const char *path, const char *base)
{
	FILE *f = fopen(path, "r");
	reader_t r = { .c = c };
	char *line = malloc(LINE_CAP);
	int lineno = 0;

	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	r.scratch = malloc(LINE_CAP);
	ck_assert(line != NULL && r.scratch != NULL);
	while (fgets(line, LINE_CAP, f) != NULL) {
		size_t n = strlen(line);
		lineno++;
		snprintf(r.where, sizeof r.where, "%.120s:%d", base, lineno);
		ck_assert_msg(n > 0 && (line[n - 1] == '\n' || feof(f)),
		    "%s: line too long", r.where);
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		if (n == 0 || line[0] == '#')
			continue;
		read_line(&r, line);
	}
	fclose(f);
	free(line);
	free(r.scratch);
}

static int
is_txt(const struct dirent *e)
{
	size_t n = strlen(e->d_name);

	return n > 4 && strcmp(e->d_name + n - 4, ".txt") == 0;
}

void
tn_resp_corpus_load(tn_resp_corpus_t *c, const char *dir)
{
	struct dirent **list;
	int n = scandir(dir, &list, is_txt, alphasort);
	char path[PATH_MAX];

	ck_assert_msg(n > 0, "%s: no corpus files (%s)", dir,
	    n < 0 ? strerror(errno) : "no *.txt");
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, list[i]->d_name);
		load_file(c, path, list[i]->d_name);
		free(list[i]);
	}
	free(list);
}

void
tn_resp_corpus_free(tn_resp_corpus_t *c)
{
	for (int i = 0; i < c->n; i++) {
		tn_resp_case_t *k = &c->cases[i];
		for (int s = 0; s < k->nseg; s++)
			free(k->seg[s].tx);
		for (int m = 0; m < k->nmasks; m++)
			free(k->masks[m].bytes);
	}
	free(c->cases);
	memset(c, 0, sizeof *c);
}
