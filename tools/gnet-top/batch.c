/*
 * batch.c -- gnet-top without a screen: samples printed as plain text
 * (top -b) or as JSON Lines, COUNT of them or until the engine stops.
 * Every sample printed has rates: a first reading is taken without being
 * printed, and each printed one is measured against the one before.
 * Samples are spaced on a fixed schedule, so slow output does not make
 * the interval drift.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "top.h"

/* The wait before the first printed sample of an open-ended run: rates
 * need two readings, and a person should not wait a whole delay. */
#define FIRST_WAIT_S 0.2
/* How often a last sample looks again at a loop seen in one turn, or
 * for rows not yet published. */
#define RECHECK_NS 25000000
/* The longest a last sample waits for actor rows. */
#define ROWS_WAIT_MAX_MS 4000

/* Loops publish actor rows only while a reader watches (gnetstats.h),
 * so at a first look the rows may be missing or old. What the first
 * reading saw, to tell when every loop has swept its rows since. */
typedef struct rows_watch {
	int64_t until_ns;       /* wait no longer than this for them */
	int fresh;              /* the rows were current at the first look
	                         * (another reader watches) */
	uint64_t sweeps[GNET_MAX_LOOPS];
} rows_watch_t;

static void
nap_until(int64_t mono_ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(mono_ns / 1000000000),
		.tv_nsec = (long)(mono_ns % 1000000000),
	};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
	    EINTR)
		;
}

/* A long wait keeps telling the engine it is watched. */
static void
sleep_until(gnet_stats_t *s, int64_t mono_ns)
{
	while (mono_ns - top_now_ns() > TOP_WATCH_EVERY_NS) {
		nap_until(top_now_ns() + TOP_WATCH_EVERY_NS);
		top_sample_watch(s);
	}
	nap_until(mono_ns);
}

static void
rows_watch_start(rows_watch_t *w, const top_sample_t *first)
{
	/* A loop sweeps when an interval has passed since its last sweep
	 * and it wakes, which it does at least once an interval: up to two
	 * intervals after a look. */
	int64_t wait_ms = (int64_t)first->eng.interval_ms * 5 / 2 + 200;
	int i;

	if (wait_ms > ROWS_WAIT_MAX_MS)
		wait_ms = ROWS_WAIT_MAX_MS;
	w->until_ns = first->mono_ns + wait_ms * 1000000;
	w->fresh = first->nactors > 0;
	for (i = 0; i < first->nactors; i++)
		if (first->actors[i].a.published_ms_ago >
		    (uint64_t)first->eng.interval_ms + 100)
			w->fresh = 0;
	for (i = 0; i < first->nloops; i++)
		w->sweeps[i] = first->loops[i].s.sweeps;
}

/* A loop that could sweep and has not since the first look. */
static int
rows_pending(const rows_watch_t *w, const top_sample_t *cur)
{
	int i;

	if (w->fresh)
		return 0;
	for (i = 0; i < cur->nloops; i++) {
		const top_loop_t *l = &cur->loops[i];

		if (l->s.state == GNET_STATS_LOOP_WAITING ||
		    (l->s.state == GNET_STATS_LOOP_RUNNING && !l->stalled))
			if (l->s.sweeps == w->sweeps[i])
				return 1;
	}
	return 0;
}

static void
print_text(FILE *f, const top_sample_t *cur, const top_options_t *o)
{
	char lines[GNET_MAX_LOOPS + 16][TOP_LINE_MAX], line[TOP_LINE_MAX];
	char (*sec)[TOP_LINE_MAX];
	char when[32];
	const top_actor_t **shown = NULL;
	int order[GNET_MAX_LOOPS], n, i, k, nshown = 0, nsec = 1;
	time_t t = (time_t)(cur->unix_ms / 1000);
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL ||
	    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(when, sizeof when, "?");
	fprintf(f, "gnet-top %s.%03d\n", when, (int)(cur->unix_ms % 1000));
	n = top_view_summary(cur, o, lines, (int)(sizeof lines / sizeof *lines));
	for (i = 0; i < n; i++)
		fprintf(f, "%s\n", lines[i]);

	fputc('\n', f);
	top_view_loop_header(line, sizeof line);
	fprintf(f, "%s\n", line);
	top_sort_loops(cur, o->sort, order);
	for (i = 0; i < cur->nloops; i++) {
		top_view_loop_row(cur, &cur->loops[order[i]], line, sizeof line);
		fprintf(f, "%s\n", line);
	}
	top_view_loop_row(cur, &cur->sum, line, sizeof line);
	fprintf(f, "%s\n", line);

	/* Every counter of every section: a module may have 256. */
	for (k = 0; k < cur->nsections; k++)
		nsec += cur->sections[k].ncounters;
	if ((sec = calloc((size_t)nsec, sizeof(*sec))) != NULL) {
		n = top_view_sections(cur, TOP_LINE_MAX - 1, sec, nsec);
		if (n > 0)
			fputc('\n', f);
		for (i = 0; i < n; i++)
			fprintf(f, "%s\n", sec[i]);
		free(sec);
	}

	if (cur->nactors > 0) {
		shown = calloc((size_t)cur->nactors, sizeof(*shown));
		if (shown != NULL)
			nshown = top_select_actors(cur, o->kind, o->sort, shown);
	}
	top_view_actor_title(cur, o, nshown, line, sizeof line);
	fprintf(f, "\n%s\n", line);
	top_view_actor_header(line, sizeof line);
	fprintf(f, "%s\n", line);
	for (i = 0; i < nshown; i++) {
		top_view_actor_row(shown[i], line, sizeof line);
		fprintf(f, "%s\n", line);
	}
	fputc('\n', f);
	free(shown);
}

static int
take_failed(gnet_stats_t *s, int rc)
{
	gnet_stats_engine_t e = { .size = sizeof e };
	char label[GNET_STATS_NAME_MAX + 32] = "the engine";

	if (gnet_stats_engine(s, &e) == 0)
		top_engine_label(&e, label, sizeof label);
	fprintf(stderr, "gnet-top: cannot read %s: %s\n", label,
	    gnet_strerror(rc));
	return rc == GNET_ENOMEM ? TOP_EXIT_SOFTWARE : TOP_EXIT_GONE;
}

/* After a sample of an engine that is not running. */
static int
engine_gone(const top_sample_t *cur)
{
	char label[GNET_STATS_NAME_MAX + 32];

	fprintf(stderr, "gnet-top: engine %s is not running\n",
	    top_engine_label(&cur->eng, label, sizeof label));
	return TOP_EXIT_GONE;
}

/* A loop seen in the same turn as at the reading before, not yet for
 * --stall-ms: a stall or a long turn, which only more watching tells
 * apart (the reader, not the loop, measures turns: turn_ns). */
static int
undecided(const top_sample_t *cur)
{
	int i;

	for (i = 0; i < cur->nloops; i++)
		if (cur->loops[i].s.state == GNET_STATS_LOOP_RUNNING &&
		    cur->loops[i].s.turn_ns > 0 && !cur->loops[i].stalled)
			return 1;
	return 0;
}

/* The last sample of a run has no later one to show a stall or the
 * actor rows in: it keeps reading while a loop is undecided (up to
 * --stall-ms after the reading before) or rows are still owed (up to
 * about one stats interval after the first look). Returns 0 or a
 * GNET_E* code. */
static int
settle(gnet_stats_t *s, top_sample_t *cur, const top_sample_t *prev,
    const rows_watch_t *w, const top_options_t *o)
{
	int64_t stall_until = prev->mono_ns + (int64_t)o->stall_ms * 1000000 +
	    RECHECK_NS;
	int rc = 0;

	while ((undecided(cur) && top_now_ns() < stall_until) ||
	    (rows_pending(w, cur) && top_now_ns() < w->until_ns)) {
		nap_until(top_now_ns() + RECHECK_NS);
		if ((rc = top_sample_take(s, cur, prev, o->stall_ms)) != 0)
			break;
	}
	return rc;
}

static int
show(const top_sample_t *cur, const top_options_t *o)
{
	if (o->json)
		top_json_sample(stdout, cur, o);
	else
		print_text(stdout, cur, o);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "gnet-top: writing the output: %s\n",
		    strerror(errno));
		return TOP_EXIT_OSERR;
	}
	return TOP_EXIT_OK;
}

int
top_batch_run(gnet_stats_t *s, const top_options_t *o)
{
	top_sample_t *prev = calloc(1, sizeof *prev);
	top_sample_t *cur = calloc(1, sizeof *cur), *t;
	int64_t delay_ns = (int64_t)(o->delay_s * 1e9), next;
	rows_watch_t rows;
	long shown = 0;
	int rc = TOP_EXIT_OK, trc;

	if (prev == NULL || cur == NULL) {
		fprintf(stderr, "gnet-top: out of memory\n");
		rc = TOP_EXIT_SOFTWARE;
		goto out;
	}
	/* The look first: a sweep counted in the first reading then
	 * already knew it was watched. */
	top_sample_watch(s);
	if ((trc = top_sample_take(s, prev, NULL, o->stall_ms)) != 0) {
		rc = take_failed(s, trc);
		goto out;
	}
	if (!prev->eng.alive) {
		/* Its last numbers are still worth a look (a crash). */
		if ((rc = show(prev, o)) == TOP_EXIT_OK)
			rc = engine_gone(prev);
		goto out;
	}
	rows_watch_start(&rows, prev);
	next = prev->mono_ns + (o->once || o->delay_s < FIRST_WAIT_S ?
	    delay_ns : (int64_t)(FIRST_WAIT_S * 1e9));
	for (;;) {
		sleep_until(s, next);
		trc = top_sample_take(s, cur, prev, o->stall_ms);
		if (trc == 0 && o->count > 0 && shown + 1 >= o->count)
			trc = settle(s, cur, prev, &rows, o);
		if (trc != 0) {
			rc = take_failed(s, trc);
			break;
		}
		if ((rc = show(cur, o)) != TOP_EXIT_OK)
			break;
		if (!cur->eng.alive) {
			rc = engine_gone(cur);
			break;
		}
		if (++shown >= o->count && o->count > 0)
			break;
		t = prev;
		prev = cur;
		cur = t;
		next += delay_ns;
		if (next < top_now_ns())
			next = top_now_ns() + delay_ns;
	}
out:
	if (prev != NULL)
		top_sample_free(prev);
	if (cur != NULL)
		top_sample_free(cur);
	free(prev);
	free(cur);
	return rc;
}
