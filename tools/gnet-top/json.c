/*
 * json.c -- a sample as one line of JSON (JSON Lines with -n), and the
 * engine list. docs/gnet-top.md is the schema: a field there is never
 * renamed or given another unit, only new fields are added, so a
 * consumer that ignores what it does not know keeps working. Handles are
 * strings ("0x..."): as JSON numbers they would lose their low bits in
 * most parsers (above 2^53).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "top.h"

void
top_json_string(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', f);
	for (; *p != '\0'; p++) {
		switch (*p) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			/* Bytes from 0x80 pass as they are: names and paths
			 * are UTF-8 on any system gnet runs on. */
			if (*p < 0x20 || *p == 0x7f)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

/* A number, or null when unknown; at most 3 decimals. */
static void
num(FILE *f, double v)
{
	char buf[64];
	size_t len;

	if (isnan(v) || isinf(v)) {
		fputs("null", f);
		return;
	}
	snprintf(buf, sizeof buf, "%.3f", v);
	len = strlen(buf);
	while (len > 0 && buf[len - 1] == '0')
		buf[--len] = '\0';
	if (len > 0 && buf[len - 1] == '.')
		buf[--len] = '\0';
	if (strcmp(buf, "-0") == 0)
		strcpy(buf, "0");
	fputs(buf, f);
}

static void
key(FILE *f, int *first, const char *k)
{
	if (!*first)
		fputc(',', f);
	*first = 0;
	top_json_string(f, k);
	fputc(':', f);
}

static void
kv_u64(FILE *f, int *first, const char *k, uint64_t v)
{
	key(f, first, k);
	fprintf(f, "%llu", (unsigned long long)v);
}

static void
kv_int(FILE *f, int *first, const char *k, long long v)
{
	key(f, first, k);
	fprintf(f, "%lld", v);
}

static void
kv_num(FILE *f, int *first, const char *k, double v)
{
	key(f, first, k);
	num(f, v);
}

static void
kv_str(FILE *f, int *first, const char *k, const char *v)
{
	key(f, first, k);
	top_json_string(f, v);
}

static void
kv_bool(FILE *f, int *first, const char *k, int v)
{
	key(f, first, k);
	fputs(v ? "true" : "false", f);
}

/* A net counter of a loop, null without the net section. */
static void
kv_net(FILE *f, int *first, const char *k, const top_loop_t *l, uint64_t v)
{
	if (l->have_net) {
		kv_u64(f, first, k, v);
	} else {
		key(f, first, k);
		fputs("null", f);
	}
}

static void
rates(FILE *f, const top_loop_t *l)
{
	int first = 1;

	fputc('{', f);
	kv_num(f, &first, "iterations", l->r_iter);
	kv_num(f, &first, "msgs_in", l->r_in);
	kv_num(f, &first, "msgs_out", l->r_out);
	kv_num(f, &first, "msgs_dropped", l->r_drop);
	kv_num(f, &first, "overflowed", l->r_overflow);
	kv_num(f, &first, "wakeups", l->r_wake);
	kv_num(f, &first, "accepted", l->have_net ? l->r_accept : NAN);
	kv_num(f, &first, "bytes_in", l->have_net ? l->r_bin : NAN);
	kv_num(f, &first, "bytes_out", l->have_net ? l->r_bout : NAN);
	kv_num(f, &first, "syscalls_io", l->have_net ? l->r_sys : NAN);
	fputc('}', f);
}

/* What loops and the totals share. */
static void
loop_counts(FILE *f, int *first, const top_loop_t *l)
{
	kv_num(f, first, "cpu_pct", l->cpu_pct);
	kv_u64(f, first, "cpu_ns", l->s.cpu_ns);
	kv_u64(f, first, "iterations", l->s.iterations);
	kv_u64(f, first, "msgs_in", l->s.msgs_in);
	kv_u64(f, first, "msgs_out", l->s.msgs_out);
	kv_u64(f, first, "msgs_dropped", l->s.msgs_dropped);
	kv_u64(f, first, "mailbox_hwm", l->s.mailbox_hwm);
	kv_u64(f, first, "overflowed", l->s.overflowed);
	kv_u64(f, first, "parked", l->s.parked);
	kv_u64(f, first, "wakeups", l->s.wakeups);
	kv_u64(f, first, "actors", l->s.actors);
	kv_u64(f, first, "actor_rows", l->s.actor_rows);
	kv_u64(f, first, "actor_rows_unlisted", l->s.actor_rows_unlisted);
	kv_u64(f, first, "inbox_depth", l->inbox_depth);
	kv_u64(f, first, "inbox_hwm", l->inbox_hwm);
	kv_net(f, first, "conns", l, l->conns);
	kv_net(f, first, "accepted", l, l->accepted);
	kv_net(f, first, "bytes_in", l, l->bytes_in);
	kv_net(f, first, "bytes_out", l, l->bytes_out);
	kv_net(f, first, "syscalls_io", l, l->syscalls);
	kv_u64(f, first, "buffered_bytes", l->buffered);
	key(f, first, "rates");
	rates(f, l);
}

static void
loop_object(FILE *f, const top_loop_t *l)
{
	int first = 1, r;

	fputc('{', f);
	kv_int(f, &first, "index", l->s.index);
	kv_int(f, &first, "tid", l->s.tid);
	kv_int(f, &first, "cpu", l->s.cpu);
	kv_str(f, &first, "state", top_state_name(l->s.state));
	kv_num(f, &first, "turn_ms", l->s.state == GNET_STATS_LOOP_RUNNING ?
	    (double)l->s.turn_ns / 1e6 : 0);
	kv_bool(f, &first, "stalled", l->stalled);
	loop_counts(f, &first, l);
	kv_u64(f, &first, "sweeps", l->s.sweeps);
	key(f, &first, "rings");
	fputc('[', f);
	for (r = 0; r < l->s.nrings; r++)
		fprintf(f, "%s{\"depth\":%u,\"hwm\":%u}", r ? "," : "",
		    (unsigned)l->s.ring[r].depth, (unsigned)l->s.ring[r].hwm);
	fputc(']', f);
	fputc('}', f);
}

static void
sections(FILE *f, const top_sample_t *cur)
{
	int k, j, i, kfirst = 1;

	fputc('{', f);
	for (k = 0; k < cur->nsections; k++) {
		const top_section_t *sec = &cur->sections[k];
		int cfirst = 1;

		key(f, &kfirst, sec->name);
		fputc('{', f);
		for (j = 0; j < sec->ncounters; j++) {
			const top_counter_t *c = &sec->c[j];
			int first = 1;

			key(f, &cfirst, c->name);
			fputc('{', f);
			kv_u64(f, &first, "total", c->total);
			kv_num(f, &first, "rate", c->rate);
			key(f, &first, "per_loop");
			fputc('[', f);
			for (i = 0; i < cur->nloops; i++)
				fprintf(f, "%s%llu", i ? "," : "",
				    (unsigned long long)c->per_loop[i]);
			fputs("]}", f);
		}
		fputc('}', f);
	}
	fputc('}', f);
}

static void
actor_object(FILE *f, const top_actor_t *a)
{
	char handle[24];
	int first = 1, bit, nflags = 0;

	snprintf(handle, sizeof handle, "0x%016llx",
	    (unsigned long long)a->a.handle);
	fputc('{', f);
	kv_int(f, &first, "loop", a->a.loop);
	kv_str(f, &first, "handle", handle);
	kv_str(f, &first, "kind", a->a.kind);
	kv_u64(f, &first, "mailbox", a->a.mailbox);
	kv_u64(f, &first, "mailbox_hwm", a->a.mailbox_hwm);
	kv_u64(f, &first, "handled", a->a.handled);
	kv_num(f, &first, "rate", a->rate);
	kv_num(f, &first, "busy_ms", (double)a->a.busy_ns / 1e6);
	kv_num(f, &first, "busy_pct", a->busy_pct);
	kv_u64(f, &first, "age_ms", a->a.age_ms);
	kv_u64(f, &first, "idle_ms", a->a.idle_ms);
	kv_u64(f, &first, "published_ms_ago", a->a.published_ms_ago);
	kv_str(f, &first, "peer", a->a.peer);
	kv_u64(f, &first, "in_bytes", a->a.in_bytes);
	kv_u64(f, &first, "out_bytes", a->a.out_bytes);
	key(f, &first, "flags");
	fputc('[', f);
	for (bit = 0; bit < 32; bit++) {
		char other[16];
		const char *name = top_flag_name(bit);

		if (!(a->a.flags & (1u << bit)))
			continue;
		if (name == NULL) {
			snprintf(other, sizeof other, "bit%d", bit);
			name = other;
		}
		if (nflags++)
			fputc(',', f);
		top_json_string(f, name);
	}
	fputc(']', f);
	fputc('}', f);
}

static void
engine_object(FILE *f, const gnet_stats_engine_t *e, int64_t now_unix_ms)
{
	int64_t up = now_unix_ms - (int64_t)e->started_unix_ms;
	int first = 1;

	fputc('{', f);
	kv_str(f, &first, "name", e->name);
	kv_int(f, &first, "pid", e->pid);
	kv_bool(f, &first, "alive", e->alive);
	kv_int(f, &first, "uptime_ms", up > 0 ? up : 0);
	kv_u64(f, &first, "started_unix_ms", e->started_unix_ms);
	kv_int(f, &first, "loops", e->nloops);
	key(f, &first, "backend");
	if (e->backend[0] != '\0')
		top_json_string(f, e->backend);
	else
		fputs("null", f);
	kv_int(f, &first, "version", e->version);
	kv_u64(f, &first, "stats_interval_ms", e->interval_ms);
	kv_str(f, &first, "segment", e->path);
	fputc('}', f);
}

void
top_json_sample(FILE *f, const top_sample_t *cur, const top_options_t *o)
{
	char lines[GNET_MAX_LOOPS + 16][TOP_LINE_MAX];
	const top_actor_t **shown = NULL;
	int first = 1, i, n, nshown = 0, w = 0;

	if (cur->nactors > 0 &&
	    (shown = calloc((size_t)cur->nactors, sizeof(*shown))) != NULL)
		nshown = top_select_actors(cur, o->kind, o->sort, shown);
	fputc('{', f);
	kv_u64(f, &first, "ts_ms", (uint64_t)cur->unix_ms);
	kv_num(f, &first, "window_ms", cur->window_s > 0 ?
	    cur->window_s * 1000 : NAN);
	key(f, &first, "engine");
	engine_object(f, &cur->eng, cur->unix_ms);
	kv_int(f, &first, "stall_ms", o->stall_ms);
	kv_int(f, &first, "stalled_loops", cur->nstalled);
	key(f, &first, "warnings");
	fputc('[', f);
	n = top_view_summary(cur, o, lines, (int)(sizeof lines / sizeof *lines));
	for (i = 0; i < n; i++) {
		if (strncmp(lines[i], "WARNING: ", 9) != 0)
			continue;
		if (w++)
			fputc(',', f);
		top_json_string(f, lines[i] + 9);
	}
	fputc(']', f);
	key(f, &first, "totals");
	{
		int tfirst = 1;

		fputc('{', f);
		loop_counts(f, &tfirst, &cur->sum);
		fputc('}', f);
	}
	key(f, &first, "loops");
	fputc('[', f);
	for (i = 0; i < cur->nloops; i++) {
		if (i)
			fputc(',', f);
		loop_object(f, &cur->loops[i]);
	}
	fputc(']', f);
	key(f, &first, "sections");
	sections(f, cur);
	kv_int(f, &first, "actors_total", cur->nactors);
	kv_u64(f, &first, "actors_unlisted", cur->unlisted);
	key(f, &first, "kind");
	if (o->kind[0] != '\0')
		top_json_string(f, o->kind);
	else
		fputs("null", f);
	kv_str(f, &first, "sort", top_sort_name(o->sort));
	key(f, &first, "actors");
	fputc('[', f);
	for (i = 0; i < nshown; i++) {
		if (i)
			fputc(',', f);
		actor_object(f, shown[i]);
	}
	fputc(']', f);
	fputs("}\n", f);
	free(shown);
}

void
top_json_engines(FILE *f, const gnet_stats_engine_t *e, int n,
    int64_t now_unix_ms)
{
	int i;

	fputs("{\"engines\":[", f);
	for (i = 0; i < n; i++) {
		if (i)
			fputc(',', f);
		engine_object(f, &e[i], now_unix_ms);
	}
	fputs("]}\n", f);
}
