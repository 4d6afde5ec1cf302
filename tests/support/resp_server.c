/*
 * resp_server.c -- redis-server or gnetd+resp, by spec (resp_server.h).
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "child.h"
#include "resp_server.h"

#define MAX_LOOPS 64

static int
start_gnetd(tn_resp_server_t *s, int loops)
{
	char so[PATH_MAX], nloops[16];

	/* `make tests` builds the modules too: a missing one is a broken
	 * build, not a reason to skip. */
	ck_assert_msg(tn_build_find("modules", "resp.so", so, sizeof so) == 0,
	    "%s is not built", so);
	snprintf(nloops, sizeof nloops, "%d", loops);
	tn_gnetd_start(&s->gnetd, (const char *[]){ "--loops", nloops,
	    "--loadmodule", so, "listen=tcp://127.0.0.1:0", NULL });
	for (int i = 0; i < s->gnetd.nlisteners; i++)
		if (strcmp(s->gnetd.names[i], "resp") == 0)
			s->port = s->gnetd.ports[i];
	ck_assert_msg(s->port > 0, "gnetd printed no \"resp listening on\" "
	    "line; stderr:\n%s", tn_gnetd_stderr(&s->gnetd));
	s->pid = s->gnetd.pid;
	s->ours = 1;
	return 1;
}

int
tn_resp_server_start(tn_resp_server_t *s, const char *spec)
{
	memset(s, 0, sizeof *s);
	snprintf(s->spec, sizeof s->spec, "%s", spec);
	if (strcmp(spec, "redis") == 0) {
		if (!tn_redis_available(spec))
			return 0;
		tn_redis_start(&s->redis);
		s->port = s->redis.port;
		s->pid = s->redis.pid;
		return 1;
	}
	if (strncmp(spec, "gnetd:", 6) == 0) {
		char *end;
		long loops = strtol(spec + 6, &end, 10);
		ck_assert_msg(*end == '\0' && loops >= 1 && loops <= MAX_LOOPS,
		    "bad server spec \"%s\"", spec);
		return start_gnetd(s, (int)loops);
	}
	ck_abort_msg("bad server spec \"%s\": redis or gnetd:N", spec);
	return 0;
}

void
tn_resp_server_stop(tn_resp_server_t *s)
{
	if (s->ours)
		tn_gnetd_stop(&s->gnetd, SIGTERM, 0);
	else if (s->pid > 0)
		tn_redis_stop(&s->redis);
	s->pid = 0;
}

const char *
tn_resp_server_log(tn_resp_server_t *s)
{
	return s->ours ? tn_gnetd_stderr(&s->gnetd) : tn_redis_log(&s->redis);
}
