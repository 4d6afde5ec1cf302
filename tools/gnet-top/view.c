/*
 * view.c -- a sample as lines of text: the summary at the top, the loop
 * table, the section counters and the actor table. Plain text output
 * prints these lines and the screen draws the same ones, so what a test
 * reads from `gnet-top -b` is what a person sees.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "top.h"

#define LOOP_FMT "%4s %7s %3s %-8s %6s %6s %6s %5s %6s %6s %5s %6s %6s %6s " \
	"%7s %7s %7s %5s"
#define ACTOR_FMT "%4s %-18s %-12s %6s %6s %6s %5s %6s %6s %6s %-20s %6s %6s %s"

static char *
rate_bytes(char *buf, size_t cap, double r)
{
	if (isnan(r) || r < 0)
		return top_fmt_rate(buf, cap, r);
	return top_fmt_bytes(buf, cap, (uint64_t)(r + 0.5));
}

/* Appends to line i if it exists; returns the next line's index. */
static int __attribute__((format(printf, 4, 5)))
add_line(char lines[][TOP_LINE_MAX], int i, int max, const char *fmt, ...)
{
	va_list ap;

	if (i >= max)
		return i;
	va_start(ap, fmt);
	vsnprintf(lines[i], TOP_LINE_MAX, fmt, ap);
	va_end(ap);
	return i + 1;
}

int
top_view_summary(const top_sample_t *cur, const top_options_t *o,
    char lines[][TOP_LINE_MAX], int max)
{
	const top_loop_t *t = &cur->sum;
	char name[GNET_STATS_NAME_MAX], up[16], a[16], b[16], c[16], d[16];
	char e[16], f[16], g[16], h[16], backend[sizeof cur->eng.backend];
	int64_t up_ms = cur->unix_ms - (int64_t)cur->eng.started_unix_ms;
	int n = 0, i;

	n = add_line(lines, n, max, "engine %s  pid %d  %s  up %s  loops %d  "
	    "backend %s  conns %lu  actors %d  (layout %d, actor rows every "
	    "%ums)", top_fmt_clean(name, sizeof name, cur->eng.name),
	    cur->eng.pid, cur->eng.alive ? "running" : "NOT RUNNING",
	    top_fmt_ms(up, sizeof up, up_ms > 0 ? (uint64_t)up_ms : 0),
	    cur->nloops, top_backend(backend, sizeof backend, &cur->eng),
	    (unsigned long)t->conns, cur->nactors, cur->eng.version,
	    cur->eng.interval_ms);
	n = add_line(lines, n, max, "per second: msgs in %s out %s dropped "
	    "%s  bytes in %s out %s  accepts %s  syscalls %s  cpu %s%%",
	    top_fmt_rate(a, sizeof a, t->r_in),
	    top_fmt_rate(b, sizeof b, t->r_out),
	    top_fmt_rate(c, sizeof c, t->r_drop),
	    rate_bytes(d, sizeof d, t->r_bin),
	    rate_bytes(e, sizeof e, t->r_bout),
	    top_fmt_rate(f, sizeof f, t->r_accept),
	    top_fmt_rate(g, sizeof g, t->r_sys),
	    top_fmt_pct(h, sizeof h, t->cpu_pct));
	n = add_line(lines, n, max, "totals: msgs in %s out %s dropped %s  "
	    "bytes in %s out %s  accepted %s  parked %lu  buffered %s",
	    top_fmt_count(a, sizeof a, t->s.msgs_in),
	    top_fmt_count(b, sizeof b, t->s.msgs_out),
	    top_fmt_count(c, sizeof c, t->s.msgs_dropped),
	    top_fmt_bytes(d, sizeof d, t->bytes_in),
	    top_fmt_bytes(e, sizeof e, t->bytes_out),
	    top_fmt_count(f, sizeof f, t->accepted),
	    (unsigned long)t->s.parked,
	    top_fmt_bytes(g, sizeof g, t->buffered));
	if (!cur->eng.alive)
		n = add_line(lines, n, max, "WARNING: the engine is not "
		    "running: these are its last numbers");
	for (i = 0; i < cur->nloops; i++) {
		const top_loop_t *l = &cur->loops[i];

		if (l->stalled)
			n = add_line(lines, n, max, "WARNING: loop %d STALLED: "
			    "seen in one turn for %s (thread %d); over %ums "
			    "is a stall", i, top_fmt_ms(a, sizeof a,
			    l->s.turn_ns / 1000000), l->s.tid, o->stall_ms);
		else if (l->s.state == GNET_STATS_LOOP_STOPPED &&
		    cur->eng.alive)
			n = add_line(lines, n, max, "WARNING: loop %d has "
			    "stopped", i);
	}
	if (!isnan(t->r_drop) && t->r_drop > 0)
		n = add_line(lines, n, max, "WARNING: %s messages dropped per "
		    "second", top_fmt_rate(a, sizeof a, t->r_drop));
	if (cur->unlisted > 0)
		n = add_line(lines, n, max, "WARNING: %lu actors not listed: "
		    "the segment has no room for their rows",
		    (unsigned long)cur->unlisted);
	return n;
}

void
top_view_loop_header(char *buf, size_t cap)
{
	snprintf(buf, cap, LOOP_FMT, "LOOP", "TID", "CPU", "STATE", "IT/s",
	    "IN/s", "OUT/s", "DROP", "INBOX", "IN_HWM", "PARK", "WAKE/s",
	    "CONNS", "ACCEPT", "BIN/s", "BOUT/s", "SYS/s", "CPU%");
}

void
top_view_loop_row(const top_sample_t *cur, const top_loop_t *l, char *buf,
    size_t cap)
{
	char idx[8], tid[16], cpu[8], it[16], in[16], out[16], drop[16];
	char inbox[16], hwm[16], park[16], wake[16], conns[16], acc[16];
	char bin[16], bout[16], sys[16], pct[16], turn[16];
	int all = l == &cur->sum;
	size_t len;

	snprintf(idx, sizeof idx, all ? "all" : "%d", l->s.index);
	snprintf(tid, sizeof tid, all ? "-" : "%d", l->s.tid);
	snprintf(cpu, sizeof cpu, all || l->s.cpu < 0 ? "-" : "%d", l->s.cpu);
	snprintf(conns, sizeof conns, "-");
	snprintf(acc, sizeof acc, "-");
	if (l->have_net) {
		top_fmt_count(conns, sizeof conns, l->conns);
		top_fmt_count(acc, sizeof acc, l->accepted);
	}
	snprintf(buf, cap, LOOP_FMT, idx, tid, cpu,
	    all ? "-" : l->stalled ? "STALLED" : top_state_name(l->s.state),
	    top_fmt_rate(it, sizeof it, l->r_iter),
	    top_fmt_rate(in, sizeof in, l->r_in),
	    top_fmt_rate(out, sizeof out, l->r_out),
	    top_fmt_count(drop, sizeof drop, l->s.msgs_dropped),
	    top_fmt_count(inbox, sizeof inbox, l->inbox_depth),
	    top_fmt_count(hwm, sizeof hwm, l->inbox_hwm),
	    top_fmt_count(park, sizeof park, l->s.parked),
	    top_fmt_rate(wake, sizeof wake, l->r_wake), conns, acc,
	    l->have_net ? rate_bytes(bin, sizeof bin, l->r_bin) : "-",
	    l->have_net ? rate_bytes(bout, sizeof bout, l->r_bout) : "-",
	    l->have_net ? top_fmt_rate(sys, sizeof sys, l->r_sys) : "-",
	    top_fmt_pct(pct, sizeof pct, l->cpu_pct));
	len = strlen(buf);
	if (l->stalled && len < cap)
		snprintf(buf + len, cap - len, "  STALLED %s",
		    top_fmt_ms(turn, sizeof turn, l->s.turn_ns / 1000000));
}

int
top_view_sections(const top_sample_t *cur, int width,
    char lines[][TOP_LINE_MAX], int max)
{
	int n = 0, k, j, i, len;
	char total[16], rate[16], v[16];

	if (cur->nsections == 0 || max < 1)
		return 0;
	len = snprintf(lines[n], TOP_LINE_MAX, "%-10s %-20s %8s %8s",
	    "SECTION", "COUNTER", "TOTAL", "RATE/s");
	for (i = 0; i < cur->nloops && len + 7 <= width &&
	    len + 7 < TOP_LINE_MAX; i++)
		len += snprintf(lines[n] + len, (size_t)(TOP_LINE_MAX - len),
		    " %6s", (snprintf(v, sizeof v, "L%d", i), v));
	n++;
	for (k = 0; k < cur->nsections; k++) {
		const top_section_t *sec = &cur->sections[k];

		for (j = 0; j < sec->ncounters && n < max; j++) {
			const top_counter_t *c = &sec->c[j];

			len = snprintf(lines[n], TOP_LINE_MAX,
			    "%-10.10s %-20.20s %8s %8s", sec->name, c->name,
			    top_fmt_count(total, sizeof total, c->total),
			    top_fmt_rate(rate, sizeof rate, c->rate));
			for (i = 0; i < cur->nloops && len + 7 <= width &&
			    len + 7 < TOP_LINE_MAX; i++)
				len += snprintf(lines[n] + len,
				    (size_t)(TOP_LINE_MAX - len), " %6s",
				    top_fmt_count(v, sizeof v, c->per_loop[i]));
			n++;
		}
	}
	return n;
}

void
top_view_actor_title(const top_sample_t *cur, const top_options_t *o,
    int shown, char *buf, size_t cap)
{
	/* A young engine has not swept yet: say so rather than show an
	 * engine without actors. */
	snprintf(buf, cap, "actors: %d shown of %d, kind %s, sort %s%s", shown,
	    cur->nactors, o->kind[0] ? o->kind : "all", top_sort_name(o->sort),
	    cur->nactors == 0 ? " (none published yet: loops publish their "
	    "rows within a stats interval of a reader's first look)" : "");
}

void
top_view_actor_header(char *buf, size_t cap)
{
	snprintf(buf, cap, ACTOR_FMT, "LOOP", "HANDLE", "KIND", "MBOX",
	    "MB_HWM", "MSG/s", "BUSY%", "BUSY", "IN", "OUT", "FLAGS", "AGE",
	    "IDLE", "PEER");
}

void
top_view_actor_row(const top_actor_t *a, char *buf, size_t cap)
{
	char loop[8], handle[24], kind[24], mbox[16], hwm[16], rate[16];
	char pct[16], busy[16], in[16], out[16], flags[96], age[16], idle[16];
	char peer[sizeof a->a.peer];

	snprintf(loop, sizeof loop, "%d", a->a.loop);
	snprintf(handle, sizeof handle, "0x%016llx",
	    (unsigned long long)a->a.handle);
	snprintf(buf, cap, ACTOR_FMT, loop, handle,
	    top_fmt_clean(kind, sizeof kind, a->a.kind),
	    top_fmt_count(mbox, sizeof mbox, a->a.mailbox),
	    top_fmt_count(hwm, sizeof hwm, a->a.mailbox_hwm),
	    top_fmt_rate(rate, sizeof rate, a->rate),
	    top_fmt_pct(pct, sizeof pct, a->busy_pct),
	    top_fmt_ms(busy, sizeof busy, a->a.busy_ns / 1000000),
	    top_fmt_bytes(in, sizeof in, a->a.in_bytes),
	    top_fmt_bytes(out, sizeof out, a->a.out_bytes),
	    top_fmt_flags(flags, sizeof flags, a->a.flags),
	    top_fmt_ms(age, sizeof age, a->a.age_ms),
	    top_fmt_ms(idle, sizeof idle, a->a.idle_ms),
	    a->a.peer[0] ? top_fmt_clean(peer, sizeof peer, a->a.peer) : "-");
}
