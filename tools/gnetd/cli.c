/*
 * cli.c -- the command line (cli.h). Two passes: the first sorts the
 * arguments into the action, the config file and the directive options
 * (kept as spans of argv); the second, once the file has been read,
 * applies those options over it -- so an option overrides the file
 * wherever on the line it was written.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define WHERE "command line"

/* One directive option: argv[at] is "--name", then n - 1 words. */
typedef struct span {
	int at, n;
} span_t;

static int
is_option(const char *a)
{
	return a[0] == '-' && a[1] == '-' && a[2] != '\0';
}

/* "command line: what is wrong", counted as a usage error. */
static void __attribute__((format(printf, 2, 3)))
usage_error(gnetd_config_t *c, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	gnetd_config_error(c, WHERE ": %s", what);
	c->usage_errors++;
}

/* --config FILE, --help-module PATH: one word, which is no option. */
static int
take_one(gnetd_config_t *c, int argc, char **argv, int i, char **slot,
    const char *wants)
{
	if (i + 1 >= argc || is_option(argv[i + 1])) {
		usage_error(c, "%s: wants %s", argv[i], wants);
		return i + 1;
	}
	if (*slot != NULL) {
		usage_error(c, "%s: %s is given twice", argv[i], wants);
		return i + 2;
	}
	if ((*slot = strdup(argv[i + 1])) == NULL)
		usage_error(c, "%s: out of memory", argv[i]);
	return i + 2;
}

/* Apply the directive option at s over what the file set. */
static void
apply_span(gnetd_config_t *c, char **argv, span_t s)
{
	const char **words = calloc((size_t)s.n + 1, sizeof(*words));
	int before = c->nerrors;

	if (words == NULL) {
		usage_error(c, "%s: out of memory", argv[s.at]);
		return;
	}
	words[0] = argv[s.at] + 2;
	memcpy(words + 1, argv + s.at + 1, (size_t)(s.n - 1) * sizeof(*words));
	gnetd_config_apply(c, WHERE, argv[s.at], NULL, words, s.n);
	c->usage_errors += c->nerrors - before;
	free(words);
}

/* The first pass: everything but the directives' values. Returns the
 * directive options found, or NULL with *nspans 0 (none, or out of
 * memory: then an error is recorded). */
static span_t *
sort_arguments(gnetd_config_t *c, int argc, char **argv, int *nspans)
{
	span_t *spans = calloc((size_t)argc, sizeof(*spans));
	int i = 1, j, max;

	*nspans = 0;
	if (spans == NULL) {
		usage_error(c, "out of memory");
		return NULL;
	}
	while (i < argc) {
		const char *a = argv[i];

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			c->action = GNETD_HELP;
			i++;
		} else if (strcmp(a, "--version") == 0) {
			if (c->action != GNETD_HELP)
				c->action = GNETD_VERSION;
			i++;
		} else if (strcmp(a, "--check-config") == 0) {
			if (c->action == GNETD_RUN)
				c->action = GNETD_CHECK_CONFIG;
			i++;
		} else if (strcmp(a, "--config") == 0) {
			i = take_one(c, argc, argv, i, &c->config_file,
			    "a config file");
		} else if (strcmp(a, "--help-module") == 0) {
			if (c->action == GNETD_RUN || c->action == GNETD_CHECK_CONFIG)
				c->action = GNETD_HELP_MODULE;
			i = take_one(c, argc, argv, i, &c->help_module,
			    "a module path");
		} else if (is_option(a)) {
			/* A directive; an unknown one still takes its words,
			 * so they are not mistaken for a config file. */
			max = gnetd_config_max_args(a + 2);
			for (j = i + 1; j < argc && !is_option(argv[j]) &&
			    (max < 0 || j - i - 1 < max); j++)
				;
			spans[(*nspans)++] = (span_t){ i, j - i };
			i = j;
		} else if (c->config_file == NULL) {
			if ((c->config_file = strdup(a)) == NULL)
				usage_error(c, "out of memory");
			i++;
		} else {
			usage_error(c, "\"%s\": a second config file (the first "
			    "is \"%s\")", a, c->config_file);
			i++;
		}
	}
	return spans;
}

int
gnetd_cli_parse(gnetd_config_t *c, int argc, char **argv)
{
	int nspans, i;
	span_t *spans = sort_arguments(c, argc, argv, &nspans);

	if (c->action == GNETD_HELP || c->action == GNETD_VERSION) {
		free(spans);
		return GNETD_EXIT_OK;
	}
	if (c->action != GNETD_HELP_MODULE && c->config_file == NULL &&
	    nspans == 0 && c->nerrors == 0)
		usage_error(c, "nothing to do: give a config file or "
		    "--loadmodule");
	if (c->action != GNETD_HELP_MODULE) {
		if (c->config_file != NULL && c->usage_errors == 0)
			gnetd_config_load_file(c, c->config_file);
		for (i = 0; i < nspans; i++)
			apply_span(c, argv, spans[i]);
		if (c->nerrors == 0 && c->nmodules == 0)
			gnetd_config_error(c, "%s: no module to load: add a "
			    "loadmodule directive", c->config_file != NULL ?
			    c->config_file : WHERE);
	}
	free(spans);
	if (c->usage_errors > 0)
		return GNETD_EXIT_USAGE;
	return c->nerrors > 0 ? GNETD_EXIT_CONFIG : GNETD_EXIT_OK;
}
