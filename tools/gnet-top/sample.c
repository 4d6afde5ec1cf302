/*
 * sample.c -- one reading of an engine through gnetstats.h, and the
 * rates against the reading before. The segment holds totals only;
 * everything "per second" here is a difference of two samples, so the
 * first sample of a run has totals and no rates (NAN).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "top.h"

int64_t
top_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t
top_unix_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Per second, from two readings of a counter; a counter that went back
 * (a gauge, or a restarted count) gives a negative rate, which is what
 * happened. */
static double
per_s(uint64_t now, uint64_t before, double window_s)
{
	return (double)(int64_t)(now - before) / window_s;
}

/* The sections and their counters, totals and per loop. */
static int
read_sections(gnet_stats_t *s, top_sample_t *cur)
{
	int k, j, i, n;

	for (k = 0; k < TOP_MAX_SECTIONS; k++) {
		top_section_t *sec = &cur->sections[k];
		const char *name = NULL;
		int rc = gnet_stats_section_name(s, k, &name, &n);

		if (rc == GNET_ENOENT)
			break;
		if (rc != 0)
			return rc;
		if (n < 0)
			n = 0;
		snprintf(sec->name, sizeof sec->name, "%s", name ? name : "?");
		if (n > sec->ncounters || sec->c == NULL) {
			top_counter_t *c = realloc(sec->c, (size_t)(n ? n : 1) *
			    sizeof(*c));
			if (c == NULL)
				return GNET_ENOMEM;
			sec->c = c;
		}
		sec->ncounters = n;
		for (j = 0; j < n; j++) {
			top_counter_t *c = &sec->c[j];
			const char *cn = gnet_stats_counter_name(s, k, j);

			memset(c, 0, sizeof *c);
			snprintf(c->name, sizeof c->name, "%s", cn ? cn : "?");
			c->rate = NAN;
			for (i = 0; i < cur->nloops; i++)
				gnet_stats_counter(s, k, j, i, &c->per_loop[i]);
			/* Summed here rather than with loop -1: the total
			 * then always matches the per-loop values shown. */
			for (i = 0; i < cur->nloops; i++)
				c->total += c->per_loop[i];
		}
	}
	cur->nsections = k;
	return 0;
}

static uint64_t
net_value(const top_sample_t *cur, const char *name, int loop)
{
	const top_counter_t *c = top_sample_counter(cur, "net", name);

	return c == NULL ? 0 : loop < 0 ? c->total : c->per_loop[loop];
}

/* The loops' rows and what follows from them alone. */
static int
read_loops(gnet_stats_t *s, top_sample_t *cur, unsigned stall_ms)
{
	int i, r, have_net = top_sample_counter(cur, "net", "conns") != NULL;

	cur->nstalled = 0;
	for (i = 0; i < cur->nloops; i++) {
		top_loop_t *l = &cur->loops[i];
		int rc;

		memset(l, 0, sizeof *l);
		l->s.size = sizeof l->s;
		if ((rc = gnet_stats_loop(s, i, &l->s)) != 0)
			return rc;
		if (l->s.nrings < 0 || l->s.nrings > GNET_STATS_MAX_RINGS)
			l->s.nrings = l->s.nrings < 0 ? 0 : GNET_STATS_MAX_RINGS;
		for (r = 0; r < l->s.nrings; r++) {
			l->inbox_depth += l->s.ring[r].depth;
			if (l->s.ring[r].hwm > l->inbox_hwm)
				l->inbox_hwm = l->s.ring[r].hwm;
		}
		l->stalled = l->s.state == GNET_STATS_LOOP_RUNNING &&
		    l->s.turn_ns >= (uint64_t)stall_ms * 1000000u;
		cur->nstalled += l->stalled;
		l->have_net = have_net;
		l->conns = net_value(cur, "conns", i);
		l->accepted = net_value(cur, "accepted", i);
		l->bytes_in = net_value(cur, "bytes_in", i);
		l->bytes_out = net_value(cur, "bytes_out", i);
		l->syscalls = net_value(cur, "syscalls_io", i);
		cur->unlisted += l->s.actor_rows_unlisted;
	}
	return 0;
}

static int
by_handle(const void *a, const void *b)
{
	gnet_handle_t x = ((const top_actor_t *)a)->a.handle;
	gnet_handle_t y = ((const top_actor_t *)b)->a.handle;

	return x < y ? -1 : x > y;
}

/* Every actor row. The count can grow between asking and copying, so
 * the copy is retried with more room a few times. */
static int
read_actors(gnet_stats_t *s, top_sample_t *cur)
{
	gnet_stats_actor_t *rows = NULL;
	int n = 0, cap = cur->actors_cap > 64 ? cur->actors_cap : 64;
	int tries, i;

	for (tries = 0; tries < 4; tries++) {
		gnet_stats_actor_t *p = realloc(rows, (size_t)cap * sizeof(*p));

		if (p == NULL) {
			free(rows);
			return GNET_ENOMEM;
		}
		rows = p;
		for (i = 0; i < cap; i++)
			rows[i].size = sizeof rows[i];
		n = gnet_stats_actors(s, -1, rows, cap);
		if (n < 0) {
			free(rows);
			return n;
		}
		if (n <= cap)
			break;
		cap = n + n / 4 + 16;
	}
	if (n > cap)
		n = cap;
	if (n > cur->actors_cap || cur->actors == NULL) {
		top_actor_t *a = realloc(cur->actors, (size_t)(n ? n : 1) *
		    sizeof(*a));
		if (a == NULL) {
			free(rows);
			return GNET_ENOMEM;
		}
		cur->actors = a;
		cur->actors_cap = n;
	}
	for (i = 0; i < n; i++) {
		top_actor_t *a = &cur->actors[i];

		a->a = rows[i];
		a->a.kind[sizeof a->a.kind - 1] = '\0';
		a->a.peer[sizeof a->a.peer - 1] = '\0';
		a->published_ms = cur->mono_ns / 1000000 -
		    (int64_t)a->a.published_ms_ago;
		a->rate = NAN;
		a->busy_pct = NAN;
		if (a->a.loop >= 0 && a->a.loop < cur->nloops)
			cur->loops[a->a.loop].buffered += a->a.in_bytes +
			    a->a.out_bytes;
	}
	cur->nactors = n;
	free(rows);
	qsort(cur->actors, (size_t)n, sizeof(*cur->actors), by_handle);
	return 0;
}

static void
loop_rates(top_loop_t *l, const top_loop_t *p, double w)
{
	l->r_iter = per_s(l->s.iterations, p->s.iterations, w);
	l->r_in = per_s(l->s.msgs_in, p->s.msgs_in, w);
	l->r_out = per_s(l->s.msgs_out, p->s.msgs_out, w);
	l->r_drop = per_s(l->s.msgs_dropped, p->s.msgs_dropped, w);
	l->r_wake = per_s(l->s.wakeups, p->s.wakeups, w);
	l->r_overflow = per_s(l->s.overflowed, p->s.overflowed, w);
	l->r_accept = per_s(l->accepted, p->accepted, w);
	l->r_bin = per_s(l->bytes_in, p->bytes_in, w);
	l->r_bout = per_s(l->bytes_out, p->bytes_out, w);
	l->r_sys = per_s(l->syscalls, p->syscalls, w);
	/* cpu_ns 0: the kernel does not say, which is no 0%. */
	l->cpu_pct = l->s.cpu_ns != 0 && p->s.cpu_ns != 0 ?
	    per_s(l->s.cpu_ns, p->s.cpu_ns, w) / 1e7 : NAN;
}

static void
no_rates(top_loop_t *l)
{
	l->r_iter = l->r_in = l->r_out = l->r_drop = l->r_wake = NAN;
	l->r_overflow = l->r_accept = l->r_bin = l->r_bout = l->r_sys = NAN;
	l->cpu_pct = NAN;
}

/* The loops summed, into cur->sum (index -1). */
static void
sum_loops(top_sample_t *cur)
{
	top_loop_t *t = &cur->sum;
	int i, have_cpu = 0;

	memset(t, 0, sizeof *t);
	t->s.index = -1;
	t->s.cpu = -1;
	t->have_net = cur->nloops > 0 && cur->loops[0].have_net;
	t->r_iter = t->r_in = t->r_out = t->r_drop = t->r_wake = 0;
	t->r_overflow = t->r_accept = t->r_bin = t->r_bout = t->r_sys = 0;
	t->cpu_pct = 0;
	for (i = 0; i < cur->nloops; i++) {
		const top_loop_t *l = &cur->loops[i];

#define ADD(f) t->f += l->f
		ADD(s.iterations); ADD(s.msgs_in); ADD(s.msgs_out);
		ADD(s.msgs_dropped); ADD(s.overflowed); ADD(s.parked);
		ADD(s.wakeups); ADD(s.actors); ADD(s.cpu_ns);
		ADD(s.actor_rows); ADD(s.actor_rows_unlisted); ADD(s.sweeps);
		ADD(inbox_depth); ADD(conns); ADD(accepted); ADD(bytes_in);
		ADD(bytes_out); ADD(syscalls); ADD(buffered);
		ADD(r_iter); ADD(r_in); ADD(r_out); ADD(r_drop); ADD(r_wake);
		ADD(r_overflow); ADD(r_accept); ADD(r_bin); ADD(r_bout);
		ADD(r_sys);
#undef ADD
		if (l->s.mailbox_hwm > t->s.mailbox_hwm)
			t->s.mailbox_hwm = l->s.mailbox_hwm;
		if (l->inbox_hwm > t->inbox_hwm)
			t->inbox_hwm = l->inbox_hwm;
		if (!isnan(l->cpu_pct)) {
			t->cpu_pct += l->cpu_pct;
			have_cpu = 1;
		}
	}
	if (!have_cpu)
		t->cpu_pct = NAN;
}

static const top_actor_t *
find_actor(const top_sample_t *prev, gnet_handle_t h)
{
	top_actor_t key;

	key.a.handle = h;
	return bsearch(&key, prev->actors, (size_t)prev->nactors,
	    sizeof(*prev->actors), by_handle);
}

/* An actor's rates come from two publications of its row. Between
 * them, a row that was not written again keeps the rates it had while
 * the loop may still republish it (activity within the last interval);
 * once a row is older than that the actor has been idle: 0. */
static void
actor_rates(top_sample_t *cur, const top_sample_t *prev)
{
	int64_t fresh_ms = (int64_t)cur->eng.interval_ms * 3 / 2 + 100;
	int i;

	for (i = 0; i < cur->nactors; i++) {
		top_actor_t *a = &cur->actors[i];
		const top_actor_t *p = find_actor(prev, a->a.handle);
		int64_t dt;

		if (p == NULL)
			continue;
		dt = a->published_ms - p->published_ms;
		if (a->a.handled < p->a.handled)
			continue;       /* not the same actor after all */
		if (dt > 1) {
			a->rate = (double)(a->a.handled - p->a.handled) *
			    1000.0 / (double)dt;
			a->busy_pct = (double)(int64_t)(a->a.busy_ns -
			    p->a.busy_ns) / 1e4 / (double)dt;
		} else if ((int64_t)a->a.published_ms_ago > fresh_ms) {
			a->rate = 0;
			a->busy_pct = 0;
		} else {
			a->rate = p->rate;
			a->busy_pct = p->busy_pct;
		}
	}
}

static void
counter_rates(top_sample_t *cur, const top_sample_t *prev, double w)
{
	int k, j;

	for (k = 0; k < cur->nsections; k++) {
		top_section_t *sec = &cur->sections[k];

		for (j = 0; j < sec->ncounters; j++) {
			const top_counter_t *p = top_sample_counter(prev,
			    sec->name, sec->c[j].name);
			if (p != NULL)
				sec->c[j].rate = per_s(sec->c[j].total,
				    p->total, w);
		}
	}
}

int
top_sample_take(gnet_stats_t *s, top_sample_t *cur, const top_sample_t *prev,
    unsigned stall_ms)
{
	int rc, i;

	cur->eng.size = sizeof cur->eng;
	if ((rc = gnet_stats_engine(s, &cur->eng)) != 0)
		return rc;
	cur->mono_ns = top_now_ns();
	cur->unix_ms = top_unix_ms();
	cur->nloops = cur->eng.nloops;
	if (cur->nloops < 0)
		cur->nloops = 0;
	if (cur->nloops > GNET_MAX_LOOPS)
		cur->nloops = GNET_MAX_LOOPS;
	cur->unlisted = 0;
	if ((rc = read_sections(s, cur)) != 0 ||
	    (rc = read_loops(s, cur, stall_ms)) != 0 ||
	    (rc = read_actors(s, cur)) != 0)
		return rc;
	cur->window_s = 0;
	if (prev != NULL && prev->eng.pid == cur->eng.pid &&
	    cur->mono_ns > prev->mono_ns)
		cur->window_s = (double)(cur->mono_ns - prev->mono_ns) / 1e9;
	for (i = 0; i < cur->nloops; i++) {
		if (cur->window_s > 0 && i < prev->nloops)
			loop_rates(&cur->loops[i], &prev->loops[i],
			    cur->window_s);
		else
			no_rates(&cur->loops[i]);
	}
	if (cur->window_s > 0) {
		counter_rates(cur, prev, cur->window_s);
		actor_rates(cur, prev);
	}
	sum_loops(cur);
	if (cur->window_s <= 0)
		no_rates(&cur->sum);
	return 0;
}

const top_counter_t *
top_sample_counter(const top_sample_t *cur, const char *section,
    const char *counter)
{
	int k, j;

	for (k = 0; k < cur->nsections; k++) {
		const top_section_t *sec = &cur->sections[k];

		if (strcmp(sec->name, section) != 0)
			continue;
		for (j = 0; j < sec->ncounters; j++)
			if (strcmp(sec->c[j].name, counter) == 0)
				return &sec->c[j];
	}
	return NULL;
}

void
top_sample_watch(gnet_stats_t *s)
{
	/* No rows wanted: the read itself is the sign of life. */
	gnet_stats_actors(s, -1, NULL, 0);
}

void
top_sample_free(top_sample_t *cur)
{
	int k;

	for (k = 0; k < TOP_MAX_SECTIONS; k++)
		free(cur->sections[k].c);
	free(cur->actors);
	memset(cur, 0, sizeof *cur);
}
