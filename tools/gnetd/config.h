/*
 * config.h -- what gnetd is asked to do, as one in-memory description
 * built from its config file and its command line (cli.h).
 *
 * Pure: parsing touches nothing but the config files it reads, so every
 * rule and every message is unit-tested (tests/check_gnetd_config.c).
 * Errors are collected, not printed, each a line naming where it was --
 * "gnetd.conf:7: loops: "x" is not a number from 1 to 64 (or auto)" -- so
 * --check-config can list every mistake of a file at once.
 *
 * Paths in a config file (loadmodule, include, pidfile, logfile) are
 * relative to the folder of that file, so a service manager can start
 * gnetd from any working directory; paths on the command line are
 * relative to the working directory, as a shell user expects. A module's
 * own arguments are passed as written.
 */
#ifndef GNETD_CONFIG_H
#define GNETD_CONFIG_H

#include "words.h"

/* Loop counts: a number from 1 to GNETD_MAX_LOOPS (the engine's
 * GNET_MAX_LOOPS), or auto, one per online CPU. */
#define GNETD_MAX_LOOPS 64
#define GNETD_LOOPS_AUTO 0

/* Log levels, as gnetmodule.h numbers them (log.c checks they agree):
 * a line is written when its level is at most the configured one. */
enum { GNETD_LOG_ERROR = 0, GNETD_LOG_WARNING = 1, GNETD_LOG_INFO = 2 };

/* Defaults, named where gnetd.conf documents them. */
#define GNETD_DEFAULT_LOOPS 1
#define GNETD_DEFAULT_LINGER_MS 5000 /* the engine's own default drain time */
#define GNETD_DEFAULT_LOGLEVEL GNETD_LOG_INFO
/* Bounds of the millisecond directives: an hour of draining is already
 * more than any service manager waits; an idle timeout is an int in ms. */
#define GNETD_MAX_LINGER_MS 3600000
#define GNETD_MAX_IDLE_TIMEOUT_MS 2147483647
/* include nests at most this deep: deeper is a file including itself. */
#define GNETD_MAX_INCLUDE_DEPTH 16

/* What gnetd does with the configuration. */
typedef enum gnetd_action {
	GNETD_RUN = 0,          /* load the modules and serve */
	GNETD_CHECK_CONFIG,     /* --check-config */
	GNETD_HELP_MODULE,      /* --help-module PATH */
	GNETD_HELP,             /* --help */
	GNETD_VERSION           /* --version */
} gnetd_action_t;

/* One loadmodule directive. */
typedef struct gnetd_module_spec {
	char *path;             /* resolved as the header says */
	gnetd_words_t args;     /* the module's arguments */
	char *where;            /* "gnetd.conf:7" or "command line" */
} gnetd_module_spec_t;

typedef struct gnetd_config {
	gnetd_action_t action;
	char *config_file;      /* as given; NULL: none */
	char *help_module;      /* --help-module's path */

	int loops;              /* 1..GNETD_MAX_LOOPS or GNETD_LOOPS_AUTO */
	char *pidfile;          /* NULL: none */
	char *logfile;          /* NULL: stderr */
	int loglevel;           /* GNETD_LOG_* */
	int linger_ms;          /* 0: drop unsent output at once */
	int reuseport;          /* 0 or 1 */
	int idle_timeout_ms;    /* 0: never */
	char *name;             /* the engine's name (gnet-top); NULL: from
	                         * the config file's name (gnetd_config_name) */
	gnetd_module_spec_t *modules; /* in load order: the file's, then the
	                         * command line's */
	int nmodules;

	char **errors;          /* one line each, without '\n' */
	int nlines;             /* lines kept in errors[] */
	int nerrors;            /* errors found: more than nlines only
	                         * when memory ran out */
	int usage_errors;       /* how many of them the command line made */
	int include_depth;
} gnetd_config_t;

/* Defaults, no modules, no errors. */
void gnetd_config_init(gnetd_config_t *c);
void gnetd_config_free(gnetd_config_t *c);

/* Apply one directive: words[0] is its name, words[1..n) its arguments.
 * `where` prefixes an error ("gnetd.conf:7", "command line"), `shown` is
 * how the directive is named in it ("loops", "--loops"), `dir` is the
 * folder relative paths are resolved against (NULL: as written). Returns
 * 0, or -1 after recording the error. A repeated directive replaces the
 * earlier value; loadmodule adds a module. */
int gnetd_config_apply(gnetd_config_t *c, const char *where,
    const char *shown, const char *dir, const char *const *words, int n);

/* The most arguments directive `name` takes (-1: any number), or -2 for a
 * name that is no directive: how many words an option may take. */
int gnetd_config_max_args(const char *name);

/* Read a config file's directives in order. A file that cannot be read
 * is an error too ("PATH: cannot read: No such file or directory").
 * Returns the number of errors it added. */
int gnetd_config_load_file(gnetd_config_t *c, const char *path);

/* Record an error line (printf-style). Out of memory, the line is lost
 * but still counted, so a run never goes on as if all were well. */
void gnetd_config_error(gnetd_config_t *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The loop count to run: c->loops, or for auto the online CPUs (ncpu,
 * at least 1, at most GNETD_MAX_LOOPS). */
int gnetd_config_loops(const gnetd_config_t *c, long ncpu);
/* The engine's name: the name directive's, else the config file's base
 * name up to its first '.' ("/etc/web.conf": "web") made of what a name
 * may hold, else "gnetd". Written into buf (GNETD_NAME_MAX bytes). */
#define GNETD_NAME_MAX 48
const char *gnetd_config_name(const gnetd_config_t *c, char *buf);

/* The name of a GNETD_LOG_* level: "error", "warning", "info". */
const char *gnetd_loglevel_name(int level);

#endif
