/*
 * config.c -- gnetd's directives and config files (config.h).
 *
 * A directive is a name and its words, from a file line or from a
 * command-line option (cli.c turns "--loops 2" into "loops 2"); both go
 * through the one table below, so each is checked the same way wherever
 * it is written.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

/* Where a directive was written and how it is named in errors. */
typedef struct directive_ctx {
	const char *where;      /* "gnetd.conf:7" or "command line" */
	const char *shown;      /* "loops" or "--loops" */
	const char *dir;        /* relative paths start here; NULL: as is */
	const char *const *args; /* the words after the name */
	int nargs;
} directive_ctx_t;

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

typedef struct directive {
	const char *name;
	int min_args, max_args; /* max -1: any number */
	const char *wants;      /* what an arity error says it wants */
	int (*apply)(gnetd_config_t *c, const directive_ctx_t *d);
} directive_t;

/* ------------------------------------------------------------------------
 * Errors.
 */
static void
verror(gnetd_config_t *c, const char *fmt, va_list ap)
{
	char *line = NULL, **v;

	c->nerrors++;
	if (vasprintf(&line, fmt, ap) < 0)
		return;
	v = realloc(c->errors, (size_t)(c->nlines + 1) * sizeof(*v));
	if (v == NULL) {
		free(line);
		return;
	}
	c->errors = v;
	c->errors[c->nlines++] = line;
}

void
gnetd_config_error(gnetd_config_t *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(c, fmt, ap);
	va_end(ap);
}

/* "WHERE: DIRECTIVE: what is wrong"; returns -1 for the caller to pass on. */
static int __attribute__((format(printf, 3, 4)))
bad(gnetd_config_t *c, const directive_ctx_t *d, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	gnetd_config_error(c, "%s: %s: %s", d->where, d->shown, what);
	return -1;
}

static int
out_of_memory(gnetd_config_t *c, const directive_ctx_t *d)
{
	return bad(c, d, "out of memory");
}

/* ------------------------------------------------------------------------
 * Values.
 */

/* A plain decimal number within [min, max]: digits only -- no sign, no
 * blanks, no suffix -- so "1e3" or " 5" are mistakes, not guesses. */
static int
parse_number(const char *s, long long min, long long max, long long *out)
{
	long long v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
		if (v > max)
			return -1; /* also stops before an overflow */
	}
	if (v < min)
		return -1;
	*out = v;
	return 0;
}

/* A path of a config file made relative to its folder. */
static char *
resolve_path(const char *dir, const char *path)
{
	char *out = NULL;

	if (dir == NULL || path[0] == '/' || path[0] == '\0' ||
	    strcmp(dir, ".") == 0)
		return strdup(path);
	if (asprintf(&out, "%s/%s", dir, path) < 0)
		return NULL;
	return out;
}

/* Replace *slot with the resolved path ("" clears it: NULL). */
static int
set_path(gnetd_config_t *c, const directive_ctx_t *d, char **slot)
{
	char *p = NULL;

	if (d->args[0][0] != '\0' && (p = resolve_path(d->dir, d->args[0])) == NULL)
		return out_of_memory(c, d);
	free(*slot);
	*slot = p;
	return 0;
}

static int
set_ms(gnetd_config_t *c, const directive_ctx_t *d, long long max, int *slot)
{
	long long v;

	if (parse_number(d->args[0], 0, max, &v) != 0)
		return bad(c, d, "\"%s\" is not a number from 0 to %lld",
		    d->args[0], max);
	*slot = (int)v;
	return 0;
}

/* ------------------------------------------------------------------------
 * The directives.
 */
static int
apply_loops(gnetd_config_t *c, const directive_ctx_t *d)
{
	long long v;

	if (strcmp(d->args[0], "auto") == 0) {
		c->loops = GNETD_LOOPS_AUTO;
		return 0;
	}
	if (parse_number(d->args[0], 1, GNETD_MAX_LOOPS, &v) != 0)
		return bad(c, d, "\"%s\" is not a number from 1 to %d (or auto)",
		    d->args[0], GNETD_MAX_LOOPS);
	c->loops = (int)v;
	return 0;
}

static int
apply_loadmodule(gnetd_config_t *c, const directive_ctx_t *d)
{
	gnetd_module_spec_t *v, m = { 0 };

	if (d->args[0][0] == '\0')
		return bad(c, d, "the module path is empty");
	v = realloc(c->modules, (size_t)(c->nmodules + 1) * sizeof(*v));
	if (v == NULL)
		return out_of_memory(c, d);
	c->modules = v;
	m.path = resolve_path(d->dir, d->args[0]);
	m.where = strdup(d->where);
	if (m.path == NULL || m.where == NULL ||
	    gnetd_words_copy(&m.args, d->args + 1, d->nargs - 1) != 0) {
		free(m.path);
		free(m.where);
		return out_of_memory(c, d);
	}
	c->modules[c->nmodules++] = m;
	return 0;
}

static int
apply_pidfile(gnetd_config_t *c, const directive_ctx_t *d)
{
	return set_path(c, d, &c->pidfile);
}

static int
apply_logfile(gnetd_config_t *c, const directive_ctx_t *d)
{
	return set_path(c, d, &c->logfile);
}

static int
apply_loglevel(gnetd_config_t *c, const directive_ctx_t *d)
{
	int level;

	for (level = GNETD_LOG_ERROR; level <= GNETD_LOG_INFO; level++) {
		if (strcmp(d->args[0], gnetd_loglevel_name(level)) == 0) {
			c->loglevel = level;
			return 0;
		}
	}
	return bad(c, d, "\"%s\" is not one of error, warning, info",
	    d->args[0]);
}

static int
apply_linger(gnetd_config_t *c, const directive_ctx_t *d)
{
	return set_ms(c, d, GNETD_MAX_LINGER_MS, &c->linger_ms);
}

static int
apply_idle_timeout(gnetd_config_t *c, const directive_ctx_t *d)
{
	return set_ms(c, d, GNETD_MAX_IDLE_TIMEOUT_MS, &c->idle_timeout_ms);
}

static int
apply_reuseport(gnetd_config_t *c, const directive_ctx_t *d)
{
	if (strcmp(d->args[0], "yes") == 0)
		c->reuseport = 1;
	else if (strcmp(d->args[0], "no") == 0)
		c->reuseport = 0;
	else
		return bad(c, d, "\"%s\" is not yes or no", d->args[0]);
	return 0;
}

static bool
name_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
}

static int
apply_name(gnetd_config_t *c, const directive_ctx_t *d)
{
	const char *n = d->args[0];
	size_t i;
	char *copy;

	for (i = 0; n[i] != '\0'; i++)
		if (!name_char(n[i]))
			break;
	if (i == 0 || n[i] != '\0' || i >= GNETD_NAME_MAX)
		return bad(c, d, "\"%s\" is not a name of 1 to %d letters, "
		    "digits, '_' or '-'", n, GNETD_NAME_MAX - 1);
	if ((copy = strdup(n)) == NULL)
		return out_of_memory(c, d);
	free(c->name);
	c->name = copy;
	return 0;
}

/* include reads a file (below), which applies directives (further below). */
static int load_file(gnetd_config_t *c, const char *path,
    const directive_ctx_t *from);

static int
apply_include(gnetd_config_t *c, const directive_ctx_t *d)
{
	char *path;
	int rc;

	if (c->include_depth >= GNETD_MAX_INCLUDE_DEPTH)
		return bad(c, d, "includes nest more than %d deep (does a file "
		    "include itself?)", GNETD_MAX_INCLUDE_DEPTH);
	if ((path = resolve_path(d->dir, d->args[0])) == NULL)
		return out_of_memory(c, d);
	c->include_depth++;
	rc = load_file(c, path, d);
	c->include_depth--;
	free(path);
	return rc == 0 ? 0 : -1;
}

static const directive_t directives[] = {
	{ "loops", 1, 1, "1 argument (a number from 1 to "
	    STRINGIFY(GNETD_MAX_LOOPS) ", or auto)",
	    apply_loops },
	{ "loadmodule", 1, -1, "a module path and the module's arguments",
	    apply_loadmodule },
	{ "pidfile", 1, 1, "1 argument (a path, or \"\" for none)",
	    apply_pidfile },
	{ "logfile", 1, 1, "1 argument (a path, or \"\" for stderr)",
	    apply_logfile },
	{ "loglevel", 1, 1, "1 argument (error, warning or info)",
	    apply_loglevel },
	{ "linger-ms", 1, 1, "1 argument (milliseconds)", apply_linger },
	{ "idle-timeout-ms", 1, 1, "1 argument (milliseconds, 0 for none)",
	    apply_idle_timeout },
	{ "reuseport", 1, 1, "1 argument (yes or no)", apply_reuseport },
	{ "name", 1, 1, "1 argument (letters, digits, '_' or '-')",
	    apply_name },
	{ "include", 1, 1, "1 argument (a config file)", apply_include },
};

static const directive_t *
find_directive(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(directives) / sizeof(directives[0]); i++)
		if (strcmp(name, directives[i].name) == 0)
			return &directives[i];
	return NULL;
}

int
gnetd_config_max_args(const char *name)
{
	const directive_t *t = find_directive(name);

	return t != NULL ? t->max_args : -2;
}

int
gnetd_config_apply(gnetd_config_t *c, const char *where, const char *shown,
    const char *dir, const char *const *words, int n)
{
	directive_ctx_t d = { .where = where, .shown = shown, .dir = dir,
	    .args = words + 1, .nargs = n - 1 };
	const directive_t *t = find_directive(words[0]);

	if (t == NULL)
		return bad(c, &d, "unknown %s",
		    shown[0] == '-' ? "option" : "directive");
	if (d.nargs < t->min_args || (t->max_args >= 0 && d.nargs > t->max_args))
		return bad(c, &d, "wants %s, got %d argument%s", t->wants,
		    d.nargs, d.nargs == 1 ? "" : "s");
	return t->apply(c, &d);
}

/* ------------------------------------------------------------------------
 * Files.
 */

/* The folder of a path, as relative paths in its file are read: "." for
 * a bare file name. */
static char *
folder_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

/* Read the file at path; `from` is the include directive that names it
 * (NULL for the top file), so a missing include says where it was. */
static int
load_file(gnetd_config_t *c, const char *path, const directive_ctx_t *from)
{
	int before = c->nerrors, lineno = 0;
	char *line = NULL, *dir, where[4096 + 32], err[256];
	size_t cap = 0;
	FILE *f = fopen(path, "re");

	if (f == NULL) {
		if (from != NULL)
			bad(c, from, "cannot read %s: %s", path, strerror(errno));
		else
			gnetd_config_error(c, "%s: cannot read: %s", path,
			    strerror(errno));
		return c->nerrors - before;
	}
	if ((dir = folder_of(path)) == NULL) {
		gnetd_config_error(c, "%s: out of memory", path);
		fclose(f);
		return c->nerrors - before;
	}
	while (getline(&line, &cap, f) >= 0) {
		gnetd_words_t w;
		int rc;

		lineno++;
		snprintf(where, sizeof(where), "%s:%d", path, lineno);
		rc = gnetd_words_split(line, &w, err, sizeof(err));
		if (rc == -1)
			gnetd_config_error(c, "%s: %s", where, err);
		else if (rc != 0)
			gnetd_config_error(c, "%s: out of memory", where);
		else if (w.n > 0)
			gnetd_config_apply(c, where, w.v[0], dir,
			    (const char *const *)w.v, w.n);
		gnetd_words_free(&w);
	}
	if (ferror(f))
		gnetd_config_error(c, "%s: read failed after line %d: %s", path,
		    lineno, strerror(errno));
	free(line);
	free(dir);
	fclose(f);
	return c->nerrors - before;
}

int
gnetd_config_load_file(gnetd_config_t *c, const char *path)
{
	return load_file(c, path, NULL);
}

/* ------------------------------------------------------------------------
 * The description.
 */
void
gnetd_config_init(gnetd_config_t *c)
{
	memset(c, 0, sizeof(*c));
	c->loops = GNETD_DEFAULT_LOOPS;
	c->loglevel = GNETD_DEFAULT_LOGLEVEL;
	c->linger_ms = GNETD_DEFAULT_LINGER_MS;
}

void
gnetd_config_free(gnetd_config_t *c)
{
	int i;

	for (i = 0; i < c->nmodules; i++) {
		free(c->modules[i].path);
		free(c->modules[i].where);
		gnetd_words_free(&c->modules[i].args);
	}
	for (i = 0; i < c->nlines; i++)
		free(c->errors[i]);
	free(c->modules);
	free(c->errors);
	free(c->config_file);
	free(c->help_module);
	free(c->pidfile);
	free(c->logfile);
	free(c->name);
	memset(c, 0, sizeof(*c));
}

int
gnetd_config_loops(const gnetd_config_t *c, long ncpu)
{
	if (c->loops != GNETD_LOOPS_AUTO)
		return c->loops;
	if (ncpu < 1)
		return 1;
	return ncpu > GNETD_MAX_LOOPS ? GNETD_MAX_LOOPS : (int)ncpu;
}

const char *
gnetd_config_name(const gnetd_config_t *c, char *buf)
{
	const char *base;
	size_t i;

	if (c->name != NULL)
		return c->name;
	if (c->config_file == NULL)
		return "gnetd";
	base = strrchr(c->config_file, '/');
	base = base != NULL ? base + 1 : c->config_file;
	for (i = 0; base[i] != '\0' && base[i] != '.' && i + 1 < GNETD_NAME_MAX;
	    i++)
		buf[i] = name_char(base[i]) ? base[i] : '_';
	buf[i] = '\0';
	return i > 0 ? buf : "gnetd";
}

const char *
gnetd_loglevel_name(int level)
{
	switch (level) {
	case GNETD_LOG_ERROR: return "error";
	case GNETD_LOG_WARNING: return "warning";
	case GNETD_LOG_INFO: return "info";
	default: return "?";
	}
}
