/*
 * cli.h -- gnetd's command line into its config (config.h):
 *
 *   gnetd [FILE] [--config FILE] [--DIRECTIVE ARG...]... [--check-config]
 *         [--help-module PATH] [--version] [--help]
 *
 * Every config directive is also an option: --loops 2, --pidfile F,
 * --loadmodule PATH ARG... The options are applied after the config
 * file, so a scalar one overrides the file and --loadmodule adds a module
 * after the file's. An option takes the words after it up to the next
 * --option, or as many as its directive has (--loops 2 FILE is fine);
 * --loadmodule takes every word up to the next --option. The config file
 * may also be the one argument that belongs to no option, like
 * redis-server's.
 */
#ifndef GNETD_CLI_H
#define GNETD_CLI_H

#include "config.h"

/* Parse argv into c (gnetd_config_init'ed): the action, then for a run or
 * a check the config file's directives, then the options' directives.
 * Errors are collected in c. Returns 0, GNETD_EXIT_USAGE when the command
 * line is wrong, or GNETD_EXIT_CONFIG when only the file is. --help and
 * --version return 0 at once, whatever else is there. */
int gnetd_cli_parse(gnetd_config_t *c, int argc, char **argv);

/* Exit statuses, sysexits.h's, for a service manager to tell apart. */
#define GNETD_EXIT_OK 0
#define GNETD_EXIT_USAGE 64     /* EX_USAGE: the command line is wrong */
#define GNETD_EXIT_SOFTWARE 70  /* EX_SOFTWARE: the engine failed */
#define GNETD_EXIT_OSERR 71     /* EX_OSERR: pidfile, logfile, threads */
#define GNETD_EXIT_CONFIG 78    /* EX_CONFIG: the config, or a module
                                 * that does not load */

#endif
