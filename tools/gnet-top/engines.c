/*
 * engines.c -- which engines there are and which one gnet-top watches.
 * With no engine named, the one live engine is the obvious choice; with
 * none or several, guessing would show the wrong process, so the list is
 * printed and the user names one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "top.h"

int
top_list_engines(gnet_stats_engine_t **out)
{
	gnet_stats_engine_t *e = NULL;
	int n, cap = 16, i;

	/* The list can grow between two calls: ask again with room. */
	for (;;) {
		gnet_stats_engine_t *p = realloc(e, (size_t)cap * sizeof(*p));

		if (p == NULL) {
			free(e);
			return GNET_ENOMEM;
		}
		e = p;
		for (i = 0; i < cap; i++) {
			memset(&e[i], 0, sizeof e[i]);
			e[i].size = sizeof e[i];
		}
		n = gnet_stats_list(e, cap);
		if (n < 0) {
			free(e);
			return n;
		}
		if (n <= cap)
			break;
		cap = n + 16;
	}
	*out = e;
	return n;
}

const char *
top_engine_label(const gnet_stats_engine_t *e, char *buf, size_t cap)
{
	char name[GNET_STATS_NAME_MAX];

	snprintf(buf, cap, "%s (pid %d)",
	    top_fmt_clean(name, sizeof name, e->name), e->pid);
	return buf;
}

void
top_list_print(FILE *f, const gnet_stats_engine_t *e, int n,
    int64_t now_unix_ms)
{
	char name[GNET_STATS_NAME_MAX], up[16], backend[sizeof e->backend];
	int i;

	fprintf(f, "%-24s %8s %-8s %5s %-8s %9s  %s\n", "NAME", "PID",
	    "STATE", "LOOPS", "BACKEND", "UP", "SEGMENT");
	for (i = 0; i < n; i++) {
		int64_t ms = now_unix_ms - (int64_t)e[i].started_unix_ms;

		fprintf(f, "%-24s %8d %-8s %5d %-8s %9s  %s\n",
		    top_fmt_clean(name, sizeof name, e[i].name), e[i].pid,
		    e[i].alive ? "running" : "gone", e[i].nloops,
		    top_backend(backend, sizeof backend, &e[i]),
		    e[i].alive ? top_fmt_ms(up, sizeof up, ms > 0 ?
		    (uint64_t)ms : 0) : "-", e[i].path);
	}
}

/* Why an attach failed, and the exit status that says so. */
static int
attach_failed(const char *who, int rc)
{
	switch (rc) {
	case GNET_ENOENT:
		fprintf(stderr, "gnet-top: no engine \"%s\" (gnet-top --list "
		    "shows the engines)\n", who);
		return TOP_EXIT_NOENGINE;
	case GNET_EACCES:
		fprintf(stderr, "gnet-top: engine \"%s\": permission denied "
		    "(it runs as another user)\n", who);
		return TOP_EXIT_NOPERM;
	case GNET_ENOTSUP:
		fprintf(stderr, "gnet-top: engine \"%s\": its stats segment "
		    "has a layout this gnet-top cannot read (built with gnet "
		    "%s)\n", who, gnet_version_string());
		return TOP_EXIT_PROTOCOL;
	case GNET_EINVAL:
		fprintf(stderr, "gnet-top: \"%s\" names several engines or "
		    "none: give NAME.PID or the pid (gnet-top --list shows "
		    "them)\n", who);
		return TOP_EXIT_USAGE;
	default:
		fprintf(stderr, "gnet-top: engine \"%s\": %s\n", who,
		    gnet_strerror(rc));
		return TOP_EXIT_SOFTWARE;
	}
}

/* No engine named: the one that runs, or the list. */
static int
pick_engine(char *path, size_t cap, int64_t now_unix_ms)
{
	gnet_stats_engine_t *e;
	int n = top_list_engines(&e), live = 0, i, one = -1;

	if (n < 0) {
		fprintf(stderr, "gnet-top: cannot list the engines in %s: %s\n",
		    GNET_STATS_DIR, gnet_strerror(n));
		return TOP_EXIT_SOFTWARE;
	}
	for (i = 0; i < n; i++)
		if (e[i].alive) {
			live++;
			one = i;
		}
	if (live == 1) {
		snprintf(path, cap, "%s", e[one].path);
		free(e);
		return TOP_EXIT_OK;
	}
	if (n > 0)
		top_list_print(stderr, e, n, now_unix_ms);
	free(e);
	if (live == 0) {
		fprintf(stderr, "gnet-top: no gnet engine is running (none "
		    "found in %s)\n", GNET_STATS_DIR);
		return TOP_EXIT_NOENGINE;
	}
	fprintf(stderr, "gnet-top: %d engines are running: name one "
	    "(gnet-top PID, NAME or NAME.PID)\n", live);
	return TOP_EXIT_USAGE;
}

int
top_attach(const top_options_t *o, gnet_stats_t **s)
{
	char path[sizeof(((gnet_stats_engine_t *)0)->path)];
	const char *who = o->who;
	int rc;

	if (who == NULL) {
		rc = pick_engine(path, sizeof path, top_unix_ms());
		if (rc != TOP_EXIT_OK)
			return rc;
		who = path;
	}
	if ((rc = gnet_stats_attach(s, who)) != 0)
		return attach_failed(who, rc);
	return TOP_EXIT_OK;
}
