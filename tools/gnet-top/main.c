/*
 * gnet-top -- a live view of a running gnet engine: its loops, their
 * counters and stalls, its actors and their mailboxes and buffers, read
 * from the engine's stats segment (gnetstats.h) without disturbing it.
 * This file is the command line; `gnet-top --help` lists the options and
 * exit statuses, docs/gnet-top.md has the rest and the JSON schema.
 *
 *   gnet-top                  the one running engine (or the list)
 *   gnet-top gnetd --once -b  one plain-text sample, with rates
 *   gnet-top 4242 --json -n 10 -d 0.5
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "top.h"

#define DEFAULT_DELAY_S 1.0
#define ONCE_DELAY_S 0.2        /* --once: the interval its rates span */
#define DEFAULT_STALL_MS 500

static const char usage_text[] =
"usage: gnet-top [OPTION]... [PID|NAME|NAME.PID|SEGMENT]\n"
"       gnet-top --list [--json]\n"
"\n"
"Shows a running gnet engine live: its loops (state, messages, inbox,\n"
"connections, bytes, CPU, stalls), its counter sections and its actors\n"
"(mailboxes, buffered bytes, flags). With no engine named it watches the\n"
"one that runs, or lists them when none or several do. On a terminal it\n"
"is interactive (press ? for the keys). Otherwise, or with -b, --once,\n"
"-n or --json, it prints samples: N with -n, one with --once, else until\n"
"it is stopped or the engine stops.\n"
"\n"
"  -l, --list             list the engines and exit\n"
"  -p, --pid PID          the engine of process PID\n"
"  -1, --once             one sample, then exit; its rates span -d\n"
"                         (default 0.2 s)\n"
"  -n, --count N          N samples, then exit\n"
"  -d, --delay SECONDS    between samples (default 1; decimals: 0.2)\n"
"  -b, --batch            plain text, also on a terminal\n"
"  -j, --json             one JSON object per sample, one per line\n"
"                         (schema: docs/gnet-top.md)\n"
"  -k, --kind KIND        only actors of this kind (connection,\n"
"                         listener, udp, actor, or an actor's name)\n"
"  -s, --sort KEY         natural, mailbox, rate, bytes or busy\n"
"  -a, --actors           start in the actors view (screen)\n"
"      --stall-ms MS      a loop in one turn longer than this is\n"
"                         STALLED (default 500)\n"
"  -h, --help, --version\n"
"\n"
"Exit status: 0 done (or q); 64 bad command line, or several engines\n"
"and none named; 66 no such engine, or none running; 69 the engine is\n"
"not running, or stopped while watched; 70 out of memory or an\n"
"unexpected error; 71 the terminal or the output failed; 76 a stats\n"
"segment of a layout this gnet-top cannot read; 77 another user's\n"
"engine.\n";

static int
usage_error(const char *fmt, const char *arg)
{
	fputs("gnet-top: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("\ngnet-top --help lists the options\n", stderr);
	return TOP_EXIT_USAGE;
}

/* A decimal integer in [min, max] and nothing else. */
static int
parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	v = strtol(s, &end, 10);
	if (*end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Seconds as digits with an optional fraction ("2", "0.25", ".5"): no
 * sign, exponent, hex or inf that strtod would take. */
static int
parse_seconds(const char *s, double *out)
{
	double v = 0, scale = 1;
	int digits = 0, dot = 0;
	const char *p;

	for (p = s; *p != '\0'; p++) {
		if (*p == '.' && !dot) {
			dot = 1;
		} else if (*p >= '0' && *p <= '9') {
			digits++;
			if (dot) {
				scale /= 10;
				v += (*p - '0') * scale;
			} else {
				v = v * 10 + (*p - '0');
			}
			if (v > 86400)
				return -1;
		} else {
			return -1;
		}
	}
	if (digits == 0 || v < 0.01)
		return -1;
	*out = v;
	return 0;
}

static const struct option long_options[] = {
	{ "list", no_argument, NULL, 'l' },
	{ "pid", required_argument, NULL, 'p' },
	{ "once", no_argument, NULL, '1' },
	{ "count", required_argument, NULL, 'n' },
	{ "delay", required_argument, NULL, 'd' },
	{ "batch", no_argument, NULL, 'b' },
	{ "json", no_argument, NULL, 'j' },
	{ "kind", required_argument, NULL, 'k' },
	{ "sort", required_argument, NULL, 's' },
	{ "actors", no_argument, NULL, 'a' },
	{ "stall-ms", required_argument, NULL, 'S' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

/* argv into o: TOP_EXIT_OK, TOP_EXIT_USAGE after saying why, or -1 for
 * --help / --version (done). */
static int
parse(top_options_t *o, int argc, char **argv)
{
	long v;
	int c, k;

	opterr = 0;     /* our own messages, which name the option */
	while ((c = getopt_long(argc, argv, ":lp:1n:d:bjk:s:ah", long_options,
	    NULL)) != -1) {
		switch (c) {
		case 'l': o->list = 1; break;
		case 'p':
			if (parse_long(optarg, 1, INT_MAX, &v) != 0)
				return usage_error("-p: \"%s\" is not a pid",
				    optarg);
			if (o->who != NULL)
				return usage_error("-p %s: an engine is "
				    "already named", optarg);
			o->who = optarg;
			break;
		case '1': o->once = 1; break;
		case 'n':
			if (parse_long(optarg, 1, 1000000000, &o->count) != 0)
				return usage_error("-n: \"%s\" is not a count "
				    "from 1", optarg);
			break;
		case 'd':
			if (parse_seconds(optarg, &o->delay_s) != 0)
				return usage_error("-d: \"%s\" is not a number "
				    "of seconds from 0.01 to 86400 (like 1 or "
				    "0.2)", optarg);
			o->delay_given = 1;
			break;
		case 'b': o->batch = 1; break;
		case 'j': o->json = 1; break;
		case 'k':
			if (optarg[0] == '\0' ||
			    strlen(optarg) >= sizeof o->kind)
				return usage_error("--kind: \"%s\" is not an "
				    "actor kind", optarg);
			snprintf(o->kind, sizeof o->kind, "%s", optarg);
			break;
		case 's':
			if ((k = top_sort_parse(optarg)) < 0)
				return usage_error("--sort: \"%s\": use natural, "
				    "mailbox, rate, bytes or busy", optarg);
			o->sort = (top_sort_t)k;
			break;
		case 'a': o->view = TOP_VIEW_ACTORS; break;
		case 'S':
			if (parse_long(optarg, 1, 86400000, &v) != 0)
				return usage_error("--stall-ms: \"%s\" is not a "
				    "number of milliseconds from 1", optarg);
			o->stall_ms = (unsigned)v;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return -1;
		case 'V':
			printf("gnet-top (gnet %s)\n", gnet_version_string());
			return -1;
		case ':':
			return usage_error("%s: wants a value",
			    argv[optind - 1]);
		default:
			if (optopt != 0) {
				char opt[3] = { '-', (char)optopt, '\0' };
				return usage_error("unknown option %s", opt);
			}
			return usage_error("unknown option %s",
			    argv[optind - 1]);
		}
	}
	if (optind < argc) {
		if (o->who != NULL)
			return usage_error("\"%s\": an engine is already named",
			    argv[optind]);
		if (argv[optind][0] == '\0')
			return usage_error("\"%s\": an empty engine name",
			    argv[optind]);
		o->who = argv[optind++];
	}
	if (optind < argc)
		return usage_error("\"%s\": one engine at a time",
		    argv[optind]);
	if (o->list && o->who != NULL)
		return usage_error("--list takes no engine (\"%s\")", o->who);
	if (o->once && o->count > 1)
		return usage_error("%s", "--once and -n N: choose one");
	return TOP_EXIT_OK;
}

static int
list(const top_options_t *o)
{
	gnet_stats_engine_t *e;
	int n = top_list_engines(&e);

	if (n < 0) {
		fprintf(stderr, "gnet-top: cannot list the engines in %s: %s\n",
		    GNET_STATS_DIR, gnet_strerror(n));
		return TOP_EXIT_SOFTWARE;
	}
	if (o->json)
		top_json_engines(stdout, e, n, top_unix_ms());
	else if (n == 0)
		printf("no gnet engine found in %s\n", GNET_STATS_DIR);
	else
		top_list_print(stdout, e, n, top_unix_ms());
	free(e);
	return fflush(stdout) == 0 ? TOP_EXIT_OK : TOP_EXIT_OSERR;
}

int
main(int argc, char **argv)
{
	top_options_t o = {
		.delay_s = DEFAULT_DELAY_S,
		.stall_ms = DEFAULT_STALL_MS,
	};
	gnet_stats_t *s = NULL;
	int rc;

	if ((rc = parse(&o, argc, argv)) != TOP_EXIT_OK)
		return rc < 0 ? TOP_EXIT_OK : rc;
	if (o.list)
		return list(&o);
	if (o.once) {
		o.count = 1;
		if (!o.delay_given)
			o.delay_s = ONCE_DELAY_S;
	}
	if ((rc = top_attach(&o, &s)) != TOP_EXIT_OK)
		return rc;
	if (o.json || o.batch || o.count > 0 || !isatty(STDOUT_FILENO))
		rc = top_batch_run(s, &o);
	else
		rc = top_tui_run(s, &o);
	gnet_stats_detach(s);
	return rc;
}
