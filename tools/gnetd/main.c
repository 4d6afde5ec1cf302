/*
 * gnetd -- the gnet module host daemon: loads protocol modules (.so files
 * built against gnetmodule.h) into one engine and serves them until told
 * to stop. It runs in the foreground, for a service manager (systemd,
 * runit, a container) to supervise; `gnetd --help` lists the options and
 * exit statuses, tools/gnetd/gnetd.conf documents the config file.
 *
 *   gnetd --loadmodule build/release/modules/echo.so listen=tcp://127.0.0.1:9000
 *   gnetd /etc/gnetd.conf --loops auto
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "log.h"
#include "modules.h"
#include "pidfile.h"
#include "signals.h"

static const char usage_text[] =
"usage: gnetd [FILE] [--OPTION ARG...]...\n"
"       gnetd --check-config [FILE] [--OPTION ARG...]...\n"
"       gnetd --help-module PATH\n"
"\n"
"Loads gnet modules (.so) into one engine and serves them in the\n"
"foreground. FILE is a config file in redis.conf style (one directive a\n"
"line; see tools/gnetd/gnetd.conf); every directive is also an option,\n"
"and options override the file (--loadmodule adds to its modules).\n"
"\n"
"  --config FILE              the config file (or FILE alone, as above)\n"
"  --loadmodule PATH [ARG]... load a module; its arguments (name=value)\n"
"                             run up to the next --option\n"
"  --loops N|auto             event loops, 1 to 64, auto: one per CPU\n"
"                             (default 1)\n"
"  --pidfile FILE             write the pid there while serving; refuse\n"
"                             to start if it names a running process\n"
"  --logfile FILE             log there instead of stderr (\"\": stderr)\n"
"  --loglevel LEVEL           error, warning or info (default info)\n"
"  --linger-ms N              on stop, how long connections may take to\n"
"                             flush their output (default 5000; 0: none)\n"
"  --idle-timeout-ms N        close connections idle this long (default 0:\n"
"                             never)\n"
"  --reuseport yes|no         SO_REUSEPORT: a listener per loop (default no)\n"
"  --name NAME                the engine's name, which gnet-top attaches\n"
"                             by (default: the config file's name up to\n"
"                             its first '.', or gnetd)\n"
"  --include FILE             read another config file\n"
"  --check-config             load every module without serving, print\n"
"                             \"configuration OK\" or every error\n"
"  --help-module PATH         the arguments a module takes\n"
"  --version, --help\n"
"\n"
"Signals: SIGTERM or SIGINT stops -- no new connections, open ones flush\n"
"and close within linger-ms; a second one exits at once with status 1.\n"
"SIGHUP reopens the logfile.\n"
"\n"
"Exit status: 0 stopped cleanly; 64 bad command line; 70 the engine\n"
"failed while serving; 71 a system error (pidfile, logfile, threads);\n"
"78 bad config, or a module that does not load.\n";

static void
print_errors(const gnetd_config_t *c)
{
	int i;

	for (i = 0; i < c->nlines; i++)
		fprintf(stderr, "%s\n", c->errors[i]);
	if (c->nerrors > c->nlines)
		fprintf(stderr, "gnetd: %d more errors (out of memory)\n",
		    c->nerrors - c->nlines);
}

/* --help-module: what a module's OnLoad declares, without loading it. */
static int
help_module(const gnetd_config_t *c)
{
	gnet_host_t *h;
	char err[1024] = "";
	int rc;

	gnetd_log_open(NULL, GNETD_LOG_WARNING, NULL, 0);
	if ((rc = gnetd_host_create(c, 1, &h)) != 0) {
		fprintf(stderr, "gnetd: cannot create the host: %s\n",
		    gnet_strerror(rc));
		return GNETD_EXIT_OSERR;
	}
	rc = gnet_host_describe(h, c->help_module, NULL, stdout, err,
	    sizeof(err));
	gnet_host_free(h);
	if (rc != 0) {
		fprintf(stderr, "gnetd: %s\n", err);
		return GNETD_EXIT_CONFIG;
	}
	return GNETD_EXIT_OK;
}

/* --check-config: every module loaded into a dry-run host. */
static int
check_config(const gnetd_config_t *c)
{
	gnet_module_t **mods = calloc((size_t)c->nmodules, sizeof(*mods));
	gnet_host_t *h;
	int rc = GNET_ENOMEM, failed;

	/* Only problems: a check prints nothing else but its verdict. */
	gnetd_log_open(NULL, GNETD_LOG_WARNING, NULL, 0);
	if (mods == NULL || (rc = gnetd_host_create(c, 1, &h)) != 0) {
		fprintf(stderr, "gnetd: cannot create the host: %s\n",
		    gnet_strerror(rc));
		free(mods);
		return GNETD_EXIT_OSERR;
	}
	failed = gnetd_load_modules(h, c, mods, 1);
	gnet_host_free(h);
	free(mods);
	if (failed > 0)
		return GNETD_EXIT_CONFIG;
	printf("configuration OK\n");
	return GNETD_EXIT_OK;
}

/* Before anything is loaded: a second gnetd must not touch the ports. */
static int
pidfile_free(const char *path)
{
	pid_t holder = 0;
	int rc;

	if (path == NULL)
		return 0;
	rc = gnetd_pidfile_holder(path, &holder);
	if (rc == 1)
		fprintf(stderr, "gnetd: pidfile %s names process %ld, which is "
		    "running: not starting\n", path, (long)holder);
	else if (rc < 0)
		fprintf(stderr, "gnetd: pidfile %s: %s\n", path, strerror(-rc));
	return rc;
}

/* Everything up to gnet_host_run: the modules listen, the pidfile is
 * written, the listeners are announced on stdout. On failure the host is
 * freed and the exit status returned. */
static int
start(const gnetd_config_t *c, gnet_host_t **out)
{
	gnet_module_t **mods = calloc((size_t)c->nmodules, sizeof(*mods));
	gnet_host_t *h = NULL;
	pid_t holder = 0;
	char err[512];
	int i, rc;

	if (mods == NULL) {
		fprintf(stderr, "gnetd: out of memory\n");
		return GNETD_EXIT_OSERR;
	}
	/* Before the host exists: its loop threads inherit the mask. */
	if ((rc = gnetd_signals_block()) != 0 ||
	    (rc = gnetd_host_create(c, 0, &h)) != 0) {
		fprintf(stderr, "gnetd: cannot create the host: %s\n",
		    gnet_strerror(rc));
		free(mods);
		return GNETD_EXIT_OSERR;
	}
	if (gnetd_load_modules(h, c, mods, 0) > 0) {
		rc = GNETD_EXIT_CONFIG;
	} else if (c->pidfile != NULL &&
	    gnetd_pidfile_write(c->pidfile, &holder, err, sizeof(err)) != 0) {
		fprintf(stderr, "gnetd: %s\n", err);
		rc = GNETD_EXIT_OSERR;
	} else if ((rc = gnetd_signals_start(h)) != 0) {
		fprintf(stderr, "gnetd: cannot start the signal thread: %s\n",
		    strerror(-rc));
		if (c->pidfile != NULL)
			gnetd_pidfile_remove(c->pidfile);
		rc = GNETD_EXIT_OSERR;
	}
	if (rc != 0) {
		gnet_host_free(h);
		free(mods);
		return rc;
	}
	for (i = 0; i < c->nmodules; i++)
		gnetd_print_listeners(stdout, mods[i]);
	printf("gnetd: ready, %d module%s on %d loop%s, pid %ld\n", c->nmodules,
	    c->nmodules == 1 ? "" : "s",
	    gnet_engine_num_loops(gnet_host_engine(h)),
	    gnet_engine_num_loops(gnet_host_engine(h)) == 1 ? "" : "s",
	    (long)getpid());
	fflush(stdout);
	free(mods);
	*out = h;
	return 0;
}

static int
serve(const gnetd_config_t *c)
{
	gnet_host_t *h;
	char err[512], name[GNETD_NAME_MAX];
	int rc;

	if (pidfile_free(c->pidfile) != 0)
		return GNETD_EXIT_OSERR;
	if (gnetd_log_open(c->logfile, c->loglevel, err, sizeof(err)) != 0) {
		fprintf(stderr, "gnetd: %s\n", err);
		return GNETD_EXIT_OSERR;
	}
	gnetd_log(GNETD_LOG_INFO, "gnetd", "%s starting%s%s", gnetd_name(),
	    c->config_file != NULL ? " with " : "",
	    c->config_file != NULL ? c->config_file : "");
	if ((rc = start(c, &h)) != 0) {
		gnetd_log_close();
		return rc;
	}
	gnetd_log(GNETD_LOG_INFO, "gnetd", "serving %d module%s on %d loop%s "
	    "as engine %s (watch it: gnet-top %s)",
	    c->nmodules, c->nmodules == 1 ? "" : "s",
	    gnet_engine_num_loops(gnet_host_engine(h)),
	    gnet_engine_num_loops(gnet_host_engine(h)) == 1 ? "" : "s",
	    gnetd_config_name(c, name), gnetd_config_name(c, name));
	rc = gnet_host_run(h);
	gnetd_signals_forget_host();
	gnet_host_free(h);
	gnetd_signals_stop();
	if (c->pidfile != NULL)
		gnetd_pidfile_remove(c->pidfile);
	if (rc != 0) {
		gnetd_log(GNETD_LOG_ERROR, "gnetd", "the engine failed: %s",
		    gnet_strerror(rc));
		gnetd_log_close();
		return GNETD_EXIT_SOFTWARE;
	}
	gnetd_log(GNETD_LOG_INFO, "gnetd", "stopped");
	gnetd_log_close();
	return GNETD_EXIT_OK;
}

int
main(int argc, char **argv)
{
	gnetd_config_t c;
	int rc;

	gnetd_config_init(&c);
	rc = gnetd_cli_parse(&c, argc, argv);
	if (c.action == GNETD_HELP) {
		fputs(usage_text, stdout);
	} else if (c.action == GNETD_VERSION) {
		printf("%s\n", gnetd_name());
	} else if (rc != 0) {
		print_errors(&c);
		if (rc == GNETD_EXIT_USAGE)
			fprintf(stderr, "gnetd --help lists the options\n");
	} else if (c.action == GNETD_HELP_MODULE) {
		rc = help_module(&c);
	} else if (c.action == GNETD_CHECK_CONFIG) {
		rc = check_config(&c);
	} else {
		rc = serve(&c);
	}
	gnetd_config_free(&c);
	return rc;
}
