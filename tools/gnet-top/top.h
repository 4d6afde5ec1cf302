/*
 * top.h -- gnet-top's pieces and what they share: a sample (everything
 * read from an engine's stats segment at one moment, with the rates
 * against the sample before it), the options, and the ways of showing a
 * sample (JSON Lines, plain text, the ncurses screen). Only gnet.h and
 * gnetstats.h are used: gnet-top is an ordinary reader of the segment.
 */
#ifndef GNET_TOP_H
#define GNET_TOP_H

#include <stdint.h>
#include <stdio.h>

#include "gnet.h"
#include "gnetstats.h"

/* Exit statuses, sysexits.h's, listed in --help and docs/gnet-top.md. */
#define TOP_EXIT_OK 0
#define TOP_EXIT_USAGE 64       /* bad command line, or an engine to name */
#define TOP_EXIT_NOENGINE 66    /* no such engine, or none running */
#define TOP_EXIT_GONE 69        /* the engine is not running (any more) */
#define TOP_EXIT_SOFTWARE 70    /* out of memory, an unexpected error */
#define TOP_EXIT_OSERR 71       /* the terminal, or writing the output */
#define TOP_EXIT_PROTOCOL 76    /* a segment layout this build cannot read */
#define TOP_EXIT_NOPERM 77      /* another user's engine */

#define TOP_NAME_MAX 64         /* section and counter names kept */
#define TOP_MAX_SECTIONS 64

/* What actors and loops can be ordered by. */
typedef enum top_sort {
	TOP_SORT_NATURAL = 0,   /* loop index; actors by loop then handle */
	TOP_SORT_MAILBOX,       /* inbox depth / mailbox depth */
	TOP_SORT_RATE,          /* messages per second */
	TOP_SORT_BYTES,         /* buffered bytes, in + out */
	TOP_SORT_BUSY,          /* CPU% / time spent handling */
	TOP_SORT_COUNT
} top_sort_t;

typedef enum top_view {
	TOP_VIEW_LOOPS = 0,
	TOP_VIEW_ACTORS
} top_view_t;

typedef struct top_options {
	const char *who;        /* the engine as named on the command line */
	int list;
	int json;
	int batch;              /* -b: plain text even on a terminal */
	int once;
	long count;             /* samples to show; 0: until stopped */
	double delay_s;         /* between samples */
	int delay_given;
	unsigned stall_ms;
	char kind[24];          /* actors of this kind only; "" all */
	top_sort_t sort;
	top_view_t view;
} top_options_t;

/* One counter of a section: its value on each loop and summed. */
typedef struct top_counter {
	char name[TOP_NAME_MAX];
	uint64_t total;
	uint64_t per_loop[GNET_MAX_LOOPS];
	double rate;            /* change of total per second; NAN unknown */
} top_counter_t;

typedef struct top_section {
	char name[TOP_NAME_MAX];
	int ncounters;
	top_counter_t *c;
} top_section_t;

/* A loop's row and what is derived from it. Rates are per second since
 * the previous sample; NAN before there is one. */
typedef struct top_loop {
	gnet_stats_loop_t s;
	int stalled;            /* RUNNING, and the turn is past --stall-ms */
	uint64_t inbox_depth;   /* summed over its rings */
	uint64_t inbox_hwm;     /* the deepest any one ring has been */
	int have_net;           /* the "net" section is there */
	uint64_t conns, accepted, bytes_in, bytes_out, syscalls;
	uint64_t buffered;      /* in + out bytes of its actor rows */
	double r_iter, r_in, r_out, r_drop, r_wake, r_overflow;
	double r_accept, r_bin, r_bout, r_sys;
	double cpu_pct;         /* NAN unknown (no cpu_ns, or first sample) */
} top_loop_t;

/* An actor's row. Its rates are measured between two publications of
 * the row by its loop, not between samples: rows are republished only
 * every stats interval. */
typedef struct top_actor {
	gnet_stats_actor_t a;
	int64_t published_ms;   /* CLOCK_MONOTONIC ms when it was written */
	double rate;            /* handled per second; NAN unknown */
	double busy_pct;        /* of one CPU; NAN unknown */
} top_actor_t;

typedef struct top_sample {
	int64_t mono_ns;        /* CLOCK_MONOTONIC when taken */
	int64_t unix_ms;        /* CLOCK_REALTIME when taken */
	double window_s;        /* since the previous sample; 0 none */
	gnet_stats_engine_t eng;
	int nloops;
	top_loop_t loops[GNET_MAX_LOOPS];
	top_loop_t sum;         /* the loops summed (index -1) */
	int nstalled;
	int nsections;
	top_section_t sections[TOP_MAX_SECTIONS];
	int nactors;            /* rows read, sorted by handle */
	int actors_cap;
	top_actor_t *actors;
	uint64_t unlisted;      /* live actors the segment had no room for */
} top_sample_t;

/* sample.c */
/* Read the attached engine into *cur, with rates against prev (NULL for
 * none). cur's memory is reused from an earlier take; zero it first.
 * Returns 0, or a GNET_E* code (GNET_ENOMEM). */
int top_sample_take(gnet_stats_t *s, top_sample_t *cur,
    const top_sample_t *prev, unsigned stall_ms);
void top_sample_free(top_sample_t *cur);
/* Tell the engine it is watched, between samples: loops publish actor
 * rows only for a few seconds after a reader last read them. */
void top_sample_watch(gnet_stats_t *s);
/* How often to do so while waiting. */
#define TOP_WATCH_EVERY_NS 1000000000
/* Section "name"'s counter "counter", or NULL. */
const top_counter_t *top_sample_counter(const top_sample_t *cur,
    const char *section, const char *counter);
int64_t top_now_ns(void);       /* CLOCK_MONOTONIC */
int64_t top_unix_ms(void);      /* CLOCK_REALTIME */

/* sort.c */
const char *top_sort_name(top_sort_t k);
/* "mailbox", "rate"... or "natural"/"loop": -1 when unknown. */
int top_sort_parse(const char *word);
/* Loop indexes into order[] (nloops entries), sorted by key. */
void top_sort_loops(const top_sample_t *cur, top_sort_t key, int *order);
/* The actors of kind ("" all) sorted by key into out[] (room for
 * cur->nactors). Returns how many. */
int top_select_actors(const top_sample_t *cur, const char *kind,
    top_sort_t key, const top_actor_t **out);
/* The kind after `kind` among the actors' kinds in name order, "" after
 * the last (and for "" the first): what the `k` key cycles through. */
void top_next_kind(const top_sample_t *cur, char *kind, size_t cap);

/* fmt.c: short human forms, the text views' columns. Each returns buf. */
char *top_fmt_count(char *buf, size_t cap, uint64_t n);   /* 12.3k */
char *top_fmt_rate(char *buf, size_t cap, double r);      /* 12.3k, "-" */
char *top_fmt_bytes(char *buf, size_t cap, uint64_t n);   /* 1.5M */
char *top_fmt_ms(char *buf, size_t cap, uint64_t ms);     /* 1.2s, 3m05s */
char *top_fmt_pct(char *buf, size_t cap, double pct);     /* 12.5, "-" */
char *top_fmt_flags(char *buf, size_t cap, unsigned flags);
const char *top_flag_name(int bit);   /* GNET_STATS_A_* bit i, or NULL */
const char *top_state_name(int state);  /* "waiting"... */
/* s with control characters (and what is not printable) as '?'. */
char *top_fmt_clean(char *buf, size_t cap, const char *s);
/* The engine's poller backend, "-" when its segment does not say. */
char *top_backend(char *buf, size_t cap, const gnet_stats_engine_t *e);

/* view.c: the text rows, shared by batch output and the screen. */
#define TOP_LINE_MAX 512
/* Summary lines at the top: returns how many (at most max); each ends
 * without a newline. Warnings are the lines starting "WARNING". */
int top_view_summary(const top_sample_t *cur, const top_options_t *o,
    char lines[][TOP_LINE_MAX], int max);
void top_view_loop_header(char *buf, size_t cap);
void top_view_loop_row(const top_sample_t *cur, const top_loop_t *l,
    char *buf, size_t cap);
/* Section lines: one header then one per counter; returns how many
 * (at most max), each fitting `width` (per-loop values that do not fit
 * are left out). */
int top_view_sections(const top_sample_t *cur, int width,
    char lines[][TOP_LINE_MAX], int max);
/* "actors: N shown of M, kind K, sort S", and why there are none yet. */
void top_view_actor_title(const top_sample_t *cur, const top_options_t *o,
    int shown, char *buf, size_t cap);
void top_view_actor_header(char *buf, size_t cap);
void top_view_actor_row(const top_actor_t *a, char *buf, size_t cap);

/* json.c: one sample as one line of JSON. */
void top_json_sample(FILE *f, const top_sample_t *cur,
    const top_options_t *o);
/* The engines of gnet_stats_list as one line. */
void top_json_engines(FILE *f, const gnet_stats_engine_t *e, int n,
    int64_t now_unix_ms);
/* s as a JSON string, quotes included. */
void top_json_string(FILE *f, const char *s);

/* batch.c: samples as plain text until the count is reached or the
 * engine stops; returns the exit status. */
int top_batch_run(gnet_stats_t *s, const top_options_t *o);

/* tui.c: the interactive screen; returns the exit status. */
int top_tui_run(gnet_stats_t *s, top_options_t *o);

/* engines.c: listing the engines, and which one to attach. */
void top_list_print(FILE *f, const gnet_stats_engine_t *e, int n,
    int64_t now_unix_ms);
/* gnet_stats_list into a fresh array (*out, freed by the caller).
 * Returns the count, or a GNET_E* code. */
int top_list_engines(gnet_stats_engine_t **out);
/* Attach to o->who, or with none to the one live engine (listing them
 * when there is not exactly one). Returns TOP_EXIT_OK and *s, or the
 * exit status after saying why on stderr. */
int top_attach(const top_options_t *o, gnet_stats_t **s);
/* The engine as "NAME (pid N)" for messages. */
const char *top_engine_label(const gnet_stats_engine_t *e, char *buf,
    size_t cap);

#endif
