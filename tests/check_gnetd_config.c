/*
 * check_gnetd_config.c -- suite "gnetd_config": gnetd's config files and
 * command line (tools/gnetd/words.c, config.c, cli.c), which are pure and
 * compiled in here whole.
 *
 * Every error is checked as the operator reads it, the whole line with
 * its file:line, because that line is the feature: a message that loses
 * its line number or misnames the directive fails here.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/gnetd/words.c"
#include "tools/gnetd/config.c"
#include "tools/gnetd/cli.c"

#include "support/testnet.h"
#include "support/tmpdir.h"

#define TCASE_TIMEOUT_S 30
#define MAX_FILES 8

/* ------------------------------------------------------------------------
 * Helpers: config files in a fresh folder, removed after the test.
 */
static tn_tmpdir_t dir;
static char files[MAX_FILES][128];
static int nfiles;

static void
setup(void)
{
	tn_tmpdir_make(&dir, "gnetd-conf");
	nfiles = 0;
}

static void
teardown(void)
{
	for (int i = 0; i < nfiles; i++)
		unlink(files[i]);
	rmdir(dir.path);
}

/* Write `text` to dir/name; returns its path (valid for the test). */
static const char *
write_conf(const char *name, const char *text)
{
	ck_assert(nfiles < MAX_FILES);
	char *path = files[nfiles++];
	tn_tmpdir_file(&dir, name, path, sizeof(files[0]));
	FILE *f = fopen(path, "w");
	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	ck_assert(fputs(text, f) >= 0);
	ck_assert(fclose(f) == 0);
	return path;
}

/* Split one line that must be well formed. */
static void
split_ok(gnetd_words_t *w, const char *line)
{
	char err[128] = "";
	int rc = gnetd_words_split(line, w, err, sizeof(err));
	ck_assert_msg(rc == 0, "split \"%s\": %d (%s)", line, rc, err);
}

/* A line that must be refused with exactly `want`. */
static void
split_bad(const char *line, const char *want)
{
	gnetd_words_t w;
	char err[128] = "";

	ck_assert_int_eq(gnetd_words_split(line, &w, err, sizeof(err)), -1);
	ck_assert_str_eq(err, want);
	ck_assert_int_eq(w.n, 0);
	ck_assert_ptr_null(w.v);
}

/* Load a file that must have exactly the errors given (NULL-ended),
 * each "PATH:" + the text given. */
static void
load_expecting(gnetd_config_t *c, const char *path, const char *const *want)
{
	int n = 0;

	gnetd_config_init(c);
	gnetd_config_load_file(c, path);
	for (; want[n] != NULL; n++) {
		char line[512];
		ck_assert_msg(n < c->nlines, "error %d missing, want \"%s:%s\"", n,
		    path, want[n]);
		snprintf(line, sizeof(line), "%s:%s", path, want[n]);
		ck_assert_str_eq(c->errors[n], line);
	}
	ck_assert_msg(c->nerrors == n, "%d errors, want %d; extra: \"%s\"",
	    c->nerrors, n, c->nlines > n ? c->errors[n] : "");
	ck_assert_int_eq(c->nlines, c->nerrors);
}

/* Run the command line argv (NULL-ended) into c; returns its status. */
static int
cli(gnetd_config_t *c, const char *const *argv)
{
	int argc = 0;

	while (argv[argc] != NULL)
		argc++;
	gnetd_config_init(c);
	return gnetd_cli_parse(c, argc, (char **)argv);
}

static void
assert_args(const gnetd_module_spec_t *m, const char *const *want)
{
	int n = 0;
	for (; want[n] != NULL; n++) {
		ck_assert_msg(n < m->args.n, "argument %d missing", n);
		ck_assert_str_eq(m->args.v[n], want[n]);
	}
	ck_assert_int_eq(m->args.n, n);
	ck_assert_ptr_null(m->args.v[n]);
}

/* ------------------------------------------------------------------------
 * Words.
 */
START_TEST(test_words_plain)
{
	gnetd_words_t w;

	split_ok(&w, "  loadmodule\tmod.so  listen=tcp://127.0.0.1:0 \r\n");
	ck_assert_int_eq(w.n, 3);
	ck_assert_str_eq(w.v[0], "loadmodule");
	ck_assert_str_eq(w.v[1], "mod.so");
	ck_assert_str_eq(w.v[2], "listen=tcp://127.0.0.1:0");
	ck_assert_ptr_null(w.v[3]);
	gnetd_words_free(&w);

	/* Blank lines and comments are no words, a # inside a word is. */
	const char *empty[] = { "", "\n", "   \t\n", "# comment\n",
		"   # indented comment" };
	for (size_t i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
		split_ok(&w, empty[i]);
		ck_assert_msg(w.n == 0, "\"%s\" gave %d words", empty[i], w.n);
		gnetd_words_free(&w);
	}
	split_ok(&w, "loops 2 # two loops\n");
	ck_assert_int_eq(w.n, 2);
	gnetd_words_free(&w);
	split_ok(&w, "a b#c");
	ck_assert_int_eq(w.n, 2);
	ck_assert_str_eq(w.v[1], "b#c");
	gnetd_words_free(&w);
}
END_TEST

START_TEST(test_words_quotes)
{
	gnetd_words_t w;

	split_ok(&w, "x \"a b\" \"q\\\"\\\\\\n\\t\\r\\x41\\x4a\\xzz\\q\" ''"
	    " 'it\\'s \\n' \"\" listen=\"tcp://h:1 x\"");
	ck_assert_int_eq(w.n, 7);
	ck_assert_str_eq(w.v[1], "a b");
	ck_assert_str_eq(w.v[2], "q\"\\\n\t\rAJxzzq");
	ck_assert_str_eq(w.v[3], "");
	ck_assert_str_eq(w.v[4], "it's \\n"); /* single quotes: only \' */
	ck_assert_str_eq(w.v[5], "");
	ck_assert_str_eq(w.v[6], "listen=tcp://h:1 x");
	gnetd_words_free(&w);

	/* A quoted # is no comment. */
	split_ok(&w, "a \"# b\"");
	ck_assert_int_eq(w.n, 2);
	ck_assert_str_eq(w.v[1], "# b");
	gnetd_words_free(&w);
}
END_TEST

START_TEST(test_words_errors)
{
	split_bad("pidfile \"/run/x", "unterminated \"double quotes\"");
	split_bad("pidfile '/run/x\n", "unterminated 'single quotes'");
	split_bad("pidfile \"ends with a backslash\\\"",
	    "unterminated \"double quotes\"");
	split_bad("pidfile \"/run/x\"y", "a closing quote must be followed by "
	    "a space");
	split_bad("a 'b'\"c\"", "a closing quote must be followed by a space");
}
END_TEST

START_TEST(test_words_copy)
{
	const char *v[] = { "a", "", "c d" };
	gnetd_words_t w;

	ck_assert_int_eq(gnetd_words_copy(&w, v, 3), 0);
	ck_assert_int_eq(w.n, 3);
	ck_assert_str_eq(w.v[2], "c d");
	ck_assert_ptr_ne(w.v[2], v[2]);
	ck_assert_ptr_null(w.v[3]);
	gnetd_words_free(&w);
	ck_assert_int_eq(gnetd_words_copy(&w, v, 0), 0);
	ck_assert_int_eq(w.n, 0);
	ck_assert_ptr_null(w.v[0]);
	gnetd_words_free(&w);
}
END_TEST

/* ------------------------------------------------------------------------
 * Config files.
 */
START_TEST(test_defaults)
{
	gnetd_config_t c;

	gnetd_config_init(&c);
	ck_assert_int_eq(c.action, GNETD_RUN);
	ck_assert_int_eq(c.loops, 1);
	ck_assert_int_eq(c.loglevel, GNETD_LOG_INFO);
	ck_assert_int_eq(c.linger_ms, 5000);
	ck_assert_int_eq(c.reuseport, 0);
	ck_assert_int_eq(c.idle_timeout_ms, 0);
	ck_assert_ptr_null(c.pidfile);
	ck_assert_ptr_null(c.logfile);
	ck_assert_int_eq(c.nmodules, 0);
	ck_assert_int_eq(c.nerrors, 0);
	gnetd_config_free(&c);
}
END_TEST

START_TEST(test_file_every_directive)
{
	gnetd_config_t c;
	char want[256];
	const char *path = write_conf("gnetd.conf",
	    "# gnetd test config\n"
	    "\n"
	    "loops 4\n"
	    "loadmodule echo.so listen=tcp://127.0.0.1:0\n"
	    "loadmodule /abs/http.so \"listen=tcp://127.0.0.1:8080\" 'x y'\n"
	    "loadmodule sub/none.so\n"
	    "pidfile run/gnetd.pid\n"
	    "logfile /var/log/gnetd.log\n"
	    "loglevel warning\n"
	    "linger-ms 250\n"
	    "idle-timeout-ms 60000\n"
	    "reuseport yes\n");

	load_expecting(&c, path, (const char *[]){ NULL });
	ck_assert_int_eq(c.loops, 4);
	ck_assert_int_eq(c.nmodules, 3);
	/* Relative paths start at the file's folder. */
	snprintf(want, sizeof(want), "%s/echo.so", dir.path);
	ck_assert_str_eq(c.modules[0].path, want);
	assert_args(&c.modules[0], (const char *[]){
	    "listen=tcp://127.0.0.1:0", NULL });
	snprintf(want, sizeof(want), "%s:4", path);
	ck_assert_str_eq(c.modules[0].where, want);
	ck_assert_str_eq(c.modules[1].path, "/abs/http.so");
	assert_args(&c.modules[1], (const char *[]){
	    "listen=tcp://127.0.0.1:8080", "x y", NULL });
	snprintf(want, sizeof(want), "%s/sub/none.so", dir.path);
	ck_assert_str_eq(c.modules[2].path, want);
	assert_args(&c.modules[2], (const char *[]){ NULL });
	snprintf(want, sizeof(want), "%s/run/gnetd.pid", dir.path);
	ck_assert_str_eq(c.pidfile, want);
	ck_assert_str_eq(c.logfile, "/var/log/gnetd.log");
	ck_assert_int_eq(c.loglevel, GNETD_LOG_WARNING);
	ck_assert_int_eq(c.linger_ms, 250);
	ck_assert_int_eq(c.idle_timeout_ms, 60000);
	ck_assert_int_eq(c.reuseport, 1);
	gnetd_config_free(&c);
}
END_TEST

/* A later directive replaces an earlier one; "" clears a path. */
START_TEST(test_file_last_wins)
{
	gnetd_config_t c;
	const char *path = write_conf("gnetd.conf",
	    "loops 4\nloops auto\n"
	    "pidfile a.pid\npidfile \"\"\n"
	    "logfile x.log\nlogfile ''\n"
	    "reuseport yes\nreuseport no\n"
	    "loglevel info\nloglevel error\n"
	    "linger-ms 10\nlinger-ms 0\n");

	load_expecting(&c, path, (const char *[]){ NULL });
	ck_assert_int_eq(c.loops, GNETD_LOOPS_AUTO);
	ck_assert_ptr_null(c.pidfile);
	ck_assert_ptr_null(c.logfile);
	ck_assert_int_eq(c.reuseport, 0);
	ck_assert_int_eq(c.loglevel, GNETD_LOG_ERROR);
	ck_assert_int_eq(c.linger_ms, 0);
	gnetd_config_free(&c);
}
END_TEST

/* Every kind of mistake, each reported with its line, all of them in one
 * pass: blank and comment lines count as lines. */
START_TEST(test_file_errors)
{
	gnetd_config_t c;
	const char *path = write_conf("bad.conf",
	    "loops x\n"                           /* 1 */
	    "\n"                                  /* 2 */
	    "# loops 0 in a comment is fine\n"    /* 3 */
	    "loops 0\n"                           /* 4 */
	    "loops 65\n"                          /* 5 */
	    "loops -1\n"                          /* 6 */
	    "loops \" 5\"\n"                      /* 7 */
	    "loops 2 3\n"                         /* 8 */
	    "loops\n"                             /* 9 */
	    "frobnicate yes\n"                    /* 10 */
	    "loglevel debug\n"                    /* 11 */
	    "reuseport maybe\n"                   /* 12 */
	    "linger-ms 3600001\n"                 /* 13 */
	    "linger-ms 1e3\n"                     /* 14 */
	    "idle-timeout-ms 99999999999999999999\n" /* 15 */
	    "loadmodule\n"                        /* 16 */
	    "loadmodule \"\" a=b\n"               /* 17 */
	    "pidfile \"/run/x\n"                  /* 18 */
	    "logfile a b\n"                       /* 19 */
	    "LOOPS 2\n"                           /* 20 */
	    "loops 64\n");                        /* 21: fine */

	load_expecting(&c, path, (const char *[]){
	    "1: loops: \"x\" is not a number from 1 to 64 (or auto)",
	    "4: loops: \"0\" is not a number from 1 to 64 (or auto)",
	    "5: loops: \"65\" is not a number from 1 to 64 (or auto)",
	    "6: loops: \"-1\" is not a number from 1 to 64 (or auto)",
	    "7: loops: \" 5\" is not a number from 1 to 64 (or auto)",
	    "8: loops: wants 1 argument (a number from 1 to 64, or auto), got 2 "
	    "arguments",
	    "9: loops: wants 1 argument (a number from 1 to 64, or auto), got 0 "
	    "arguments",
	    "10: frobnicate: unknown directive",
	    "11: loglevel: \"debug\" is not one of error, warning, info",
	    "12: reuseport: \"maybe\" is not yes or no",
	    "13: linger-ms: \"3600001\" is not a number from 0 to 3600000",
	    "14: linger-ms: \"1e3\" is not a number from 0 to 3600000",
	    "15: idle-timeout-ms: \"99999999999999999999\" is not a number from "
	    "0 to 2147483647",
	    "16: loadmodule: wants a module path and the module's arguments, got "
	    "0 arguments",
	    "17: loadmodule: the module path is empty",
	    "18: unterminated \"double quotes\"",
	    "19: logfile: wants 1 argument (a path, or \"\" for stderr), got 2 "
	    "arguments",
	    "20: LOOPS: unknown directive",
	    NULL });
	/* What was right still applies; what was wrong left the default. */
	ck_assert_int_eq(c.loops, 64);
	ck_assert_int_eq(c.loglevel, GNETD_LOG_INFO);
	ck_assert_int_eq(c.nmodules, 0);
	ck_assert_ptr_null(c.logfile);
	gnetd_config_free(&c);
}
END_TEST

START_TEST(test_file_missing)
{
	gnetd_config_t c;
	char path[128], want[256];

	tn_tmpdir_file(&dir, "absent.conf", path, sizeof(path));
	gnetd_config_init(&c);
	ck_assert_int_eq(gnetd_config_load_file(&c, path), 1);
	snprintf(want, sizeof(want), "%s: cannot read: %s", path,
	    strerror(ENOENT));
	ck_assert_str_eq(c.errors[0], want);
	gnetd_config_free(&c);
}
END_TEST

/* include: relative to the including file, errors name the included
 * file's own lines, a missing include names the include line, and a file
 * including itself stops. */
START_TEST(test_file_include)
{
	gnetd_config_t c;
	char want[256];

	const char *inner = write_conf("inner.conf",
	    "loops 3\nloadmodule inner.so\nloglevel loud\n");
	const char *outer = write_conf("outer.conf",
	    "loadmodule first.so\ninclude inner.conf\nloadmodule last.so\n"
	    "include missing.conf\n");

	gnetd_config_init(&c);
	ck_assert_int_eq(gnetd_config_load_file(&c, outer), 2);
	snprintf(want, sizeof(want), "%s:3: loglevel: \"loud\" is not one of "
	    "error, warning, info", inner);
	ck_assert_str_eq(c.errors[0], want);
	snprintf(want, sizeof(want), "%s:4: include: cannot read %s/missing.conf:"
	    " %s", outer, dir.path, strerror(ENOENT));
	ck_assert_str_eq(c.errors[1], want);
	ck_assert_int_eq(c.loops, 3);
	ck_assert_int_eq(c.nmodules, 3);
	snprintf(want, sizeof(want), "%s/inner.so", dir.path);
	ck_assert_str_eq(c.modules[1].path, want);
	snprintf(want, sizeof(want), "%s:2", inner);
	ck_assert_str_eq(c.modules[1].where, want);
	snprintf(want, sizeof(want), "%s/last.so", dir.path);
	ck_assert_str_eq(c.modules[2].path, want);
	gnetd_config_free(&c);

	const char *self = write_conf("self.conf", "include self.conf\n");
	gnetd_config_init(&c);
	ck_assert_int_eq(gnetd_config_load_file(&c, self), 1);
	snprintf(want, sizeof(want), "%s:1: include: includes nest more than 16 "
	    "deep (does a file include itself?)", self);
	ck_assert_str_eq(c.errors[0], want);
	gnetd_config_free(&c);
}
END_TEST

START_TEST(test_loops_auto)
{
	gnetd_config_t c;
	const char *path = write_conf("auto.conf", "loops auto\n");

	load_expecting(&c, path, (const char *[]){ NULL });
	ck_assert_int_eq(c.loops, GNETD_LOOPS_AUTO);
	ck_assert_int_eq(gnetd_config_loops(&c, 4), 4);
	ck_assert_int_eq(gnetd_config_loops(&c, 1), 1);
	ck_assert_int_eq(gnetd_config_loops(&c, -1), 1);  /* sysconf failed */
	ck_assert_int_eq(gnetd_config_loops(&c, 0), 1);
	ck_assert_int_eq(gnetd_config_loops(&c, 200), 64);
	c.loops = 3;
	ck_assert_int_eq(gnetd_config_loops(&c, 8), 3);
	gnetd_config_free(&c);
}
END_TEST

/* ------------------------------------------------------------------------
 * The command line.
 */

/* The brief's example: two modules, each with its arguments. */
START_TEST(test_cli_modules)
{
	gnetd_config_t c;
	int rc = cli(&c, (const char *[]){ "gnetd", "--loops", "2",
	    "--loadmodule", "build/http.so", "listen=tcp://127.0.0.1:8080",
	    "--loadmodule", "echo.so", "listen=tcp://127.0.0.1:9000", "x",
	    "--pidfile", "run/g.pid", "--linger-ms", "100", NULL });

	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(c.nerrors, 0);
	ck_assert_int_eq(c.action, GNETD_RUN);
	ck_assert_int_eq(c.loops, 2);
	ck_assert_int_eq(c.nmodules, 2);
	/* Command-line paths are as written: relative to the working dir. */
	ck_assert_str_eq(c.modules[0].path, "build/http.so");
	ck_assert_str_eq(c.modules[0].where, "command line");
	assert_args(&c.modules[0], (const char *[]){
	    "listen=tcp://127.0.0.1:8080", NULL });
	ck_assert_str_eq(c.modules[1].path, "echo.so");
	assert_args(&c.modules[1], (const char *[]){
	    "listen=tcp://127.0.0.1:9000", "x", NULL });
	ck_assert_str_eq(c.pidfile, "run/g.pid");
	ck_assert_int_eq(c.linger_ms, 100);
	ck_assert_ptr_null(c.config_file);
	gnetd_config_free(&c);
}
END_TEST

/* Options override the file wherever they stand; modules of the command
 * line come after the file's. */
START_TEST(test_cli_overrides_file)
{
	gnetd_config_t c;
	char want[256];
	const char *path = write_conf("gnetd.conf",
	    "loops 4\npidfile file.pid\nloadmodule a.so one\nloglevel error\n");
	int rc = cli(&c, (const char *[]){ "gnetd", "--loops", "2",
	    "--loadmodule", "b.so", "two", "--config", path, "--pidfile", "",
	    NULL });

	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(c.nerrors, 0);
	ck_assert_str_eq(c.config_file, path);
	ck_assert_int_eq(c.loops, 2);
	ck_assert_ptr_null(c.pidfile);
	ck_assert_int_eq(c.loglevel, GNETD_LOG_ERROR);
	ck_assert_int_eq(c.nmodules, 2);
	snprintf(want, sizeof(want), "%s/a.so", dir.path);
	ck_assert_str_eq(c.modules[0].path, want);
	ck_assert_str_eq(c.modules[1].path, "b.so");
	assert_args(&c.modules[1], (const char *[]){ "two", NULL });
	gnetd_config_free(&c);

	/* The file as the one positional argument, after a fixed-size option
	 * (which takes only its word) or before the options. */
	rc = cli(&c, (const char *[]){ "gnetd", "--loops", "auto", path, NULL });
	ck_assert_int_eq(rc, 0);
	ck_assert_str_eq(c.config_file, path);
	ck_assert_int_eq(c.loops, GNETD_LOOPS_AUTO);
	ck_assert_int_eq(c.nmodules, 1);
	gnetd_config_free(&c);
	rc = cli(&c, (const char *[]){ "gnetd", path, "--loglevel", "info",
	    NULL });
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(c.loglevel, GNETD_LOG_INFO);
	gnetd_config_free(&c);

	/* After --loadmodule every word up to the next option is its own. */
	rc = cli(&c, (const char *[]){ "gnetd", "--loadmodule", "m.so", path,
	    NULL });
	ck_assert_int_eq(rc, 0);
	ck_assert_ptr_null(c.config_file);
	assert_args(&c.modules[0], (const char *[]){ path, NULL });
	gnetd_config_free(&c);
}
END_TEST

START_TEST(test_cli_actions)
{
	gnetd_config_t c;
	const char *path = write_conf("gnetd.conf", "loadmodule a.so\n");

	ck_assert_int_eq(cli(&c, (const char *[]){ "gnetd", "--check-config",
	    path, NULL }), 0);
	ck_assert_int_eq(c.action, GNETD_CHECK_CONFIG);
	ck_assert_int_eq(c.nmodules, 1);
	gnetd_config_free(&c);

	ck_assert_int_eq(cli(&c, (const char *[]){ "gnetd", "--help-module",
	    "x.so", NULL }), 0);
	ck_assert_int_eq(c.action, GNETD_HELP_MODULE);
	ck_assert_str_eq(c.help_module, "x.so");
	gnetd_config_free(&c);

	ck_assert_int_eq(cli(&c, (const char *[]){ "gnetd", "--version", NULL }),
	    0);
	ck_assert_int_eq(c.action, GNETD_VERSION);
	gnetd_config_free(&c);

	/* --help wins, whatever else is wrong. */
	ck_assert_int_eq(cli(&c, (const char *[]){ "gnetd", "--bogus", "--loops",
	    "x", "--help", NULL }), 0);
	ck_assert_int_eq(c.action, GNETD_HELP);
	gnetd_config_free(&c);
	ck_assert_int_eq(cli(&c, (const char *[]){ "gnetd", "-h", NULL }), 0);
	ck_assert_int_eq(c.action, GNETD_HELP);
	gnetd_config_free(&c);
}
END_TEST

/* A wrong command line is a usage error (64), each line saying what. */
START_TEST(test_cli_usage_errors)
{
	static const struct {
		const char *argv[8];
		const char *error;
	} cases[] = {
		{ { "gnetd", NULL }, "command line: nothing to do: give a config "
		    "file or --loadmodule" },
		{ { "gnetd", "--bogus", "1", "--loadmodule", "a.so", NULL },
		    "command line: --bogus: unknown option" },
		{ { "gnetd", "--loops", "x", "--loadmodule", "a.so", NULL },
		    "command line: --loops: \"x\" is not a number from 1 to 64 (or "
		    "auto)" },
		{ { "gnetd", "--loops", "--loadmodule", "a.so", NULL },
		    "command line: --loops: wants 1 argument (a number from 1 to "
		    "64, or auto), got 0 arguments" },
		{ { "gnetd", "--loadmodule", NULL },
		    "command line: --loadmodule: wants a module path and the "
		    "module's arguments, got 0 arguments" },
		{ { "gnetd", "--reuseport", "--loadmodule", "a.so", NULL },
		    "command line: --reuseport: wants 1 argument (yes or no), got "
		    "0 arguments" },
		{ { "gnetd", "--config", NULL },
		    "command line: --config: wants a config file" },
		{ { "gnetd", "--config", "--loops", "2", NULL },
		    "command line: --config: wants a config file" },
		{ { "gnetd", "--help-module", NULL },
		    "command line: --help-module: wants a module path" },
		{ { "gnetd", "a.conf", "b.conf", NULL },
		    "command line: \"b.conf\": a second config file (the first is "
		    "\"a.conf\")" },
		{ { "gnetd", "a.conf", "--config", "b.conf", NULL },
		    "command line: --config: a config file is given twice" },
	};
	gnetd_config_t c;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = cli(&c, cases[i].argv);
		ck_assert_msg(rc == GNETD_EXIT_USAGE, "case %zu: status %d", i, rc);
		ck_assert_msg(c.nerrors == 1 && c.usage_errors == 1,
		    "case %zu: %d errors (%s)", i, c.nerrors,
		    c.nlines > 0 ? c.errors[0] : "");
		ck_assert_str_eq(c.errors[0], cases[i].error);
		gnetd_config_free(&c);
	}
}
END_TEST

/* A wrong file is a config error (78); with a wrong command line too, the
 * command line's status wins, and both are listed. */
START_TEST(test_cli_file_errors)
{
	gnetd_config_t c;
	char want[256];
	const char *bad = write_conf("bad.conf", "loadmodule a.so\nloops x\n");
	const char *none = write_conf("none.conf", "# nothing\nloops 2\n");

	ck_assert_int_eq(cli(&c, (const char *[]){ "gnetd", bad, NULL }),
	    GNETD_EXIT_CONFIG);
	ck_assert_int_eq(c.nerrors, 1);
	ck_assert_int_eq(c.usage_errors, 0);
	snprintf(want, sizeof(want), "%s:2: loops: \"x\" is not a number from 1 "
	    "to 64 (or auto)", bad);
	ck_assert_str_eq(c.errors[0], want);
	gnetd_config_free(&c);

	ck_assert_int_eq(cli(&c, (const char *[]){ "gnetd", bad, "--loglevel",
	    "loud", NULL }), GNETD_EXIT_USAGE);
	ck_assert_int_eq(c.nerrors, 2);
	ck_assert_str_eq(c.errors[0], want);
	ck_assert_str_eq(c.errors[1], "command line: --loglevel: \"loud\" is not "
	    "one of error, warning, info");
	gnetd_config_free(&c);

	/* Nothing to serve is a config error, naming the file. */
	ck_assert_int_eq(cli(&c, (const char *[]){ "gnetd", "--check-config",
	    none, NULL }), GNETD_EXIT_CONFIG);
	snprintf(want, sizeof(want), "%s: no module to load: add a loadmodule "
	    "directive", none);
	ck_assert_str_eq(c.errors[0], want);
	gnetd_config_free(&c);
	ck_assert_int_eq(cli(&c, (const char *[]){ "gnetd", "--loops", "2",
	    NULL }), GNETD_EXIT_CONFIG);
	ck_assert_str_eq(c.errors[0], "command line: no module to load: add a "
	    "loadmodule directive");
	gnetd_config_free(&c);

	/* A config file that is not there. */
	ck_assert_int_eq(cli(&c, (const char *[]){ "gnetd", "--config",
	    "/nonexistent/gnetd.conf", NULL }), GNETD_EXIT_CONFIG);
	snprintf(want, sizeof(want), "/nonexistent/gnetd.conf: cannot read: %s",
	    strerror(ENOENT));
	ck_assert_str_eq(c.errors[0], want);
	ck_assert_int_eq(c.nerrors, 1);
	gnetd_config_free(&c);
}
END_TEST

static Suite *
gnetd_config_suite(void)
{
	Suite *s = suite_create("gnetd_config");
	TCase *words = tn_tcase("words", TCASE_TIMEOUT_S);
	TCase *file = tn_tcase("file", TCASE_TIMEOUT_S);
	TCase *cmdline = tn_tcase("cli", TCASE_TIMEOUT_S);

	tcase_add_test(words, test_words_plain);
	tcase_add_test(words, test_words_quotes);
	tcase_add_test(words, test_words_errors);
	tcase_add_test(words, test_words_copy);
	tcase_add_checked_fixture(file, setup, teardown);
	tcase_add_test(file, test_defaults);
	tcase_add_test(file, test_file_every_directive);
	tcase_add_test(file, test_file_last_wins);
	tcase_add_test(file, test_file_errors);
	tcase_add_test(file, test_file_missing);
	tcase_add_test(file, test_file_include);
	tcase_add_test(file, test_loops_auto);
	tcase_add_checked_fixture(cmdline, setup, teardown);
	tcase_add_test(cmdline, test_cli_modules);
	tcase_add_test(cmdline, test_cli_overrides_file);
	tcase_add_test(cmdline, test_cli_actions);
	tcase_add_test(cmdline, test_cli_usage_errors);
	tcase_add_test(cmdline, test_cli_file_errors);
	suite_add_tcase(s, words);
	suite_add_tcase(s, file);
	suite_add_tcase(s, cmdline);
	return s;
}

int
main(void)
{
	return tn_run_suite(gnetd_config_suite());
}
