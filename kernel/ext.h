/*
 * Engine extensions: how a layer above the kernel plugs into an engine.
 *
 * The kernel runs loops of actors and knows nothing of sockets, workers or
 * tickers. Each layer that does (net/, actors/, later the module host)
 * describes itself with one gnet__ext_t; the code that composes an engine
 * (net/engine.c) passes the list to gnet__engine_create, and the kernel
 * calls each extension at the points of the engine's and its loops' lives
 * where it has work, in list order (stop-side hooks too). Per-engine
 * state an extension creates is kept for it and found with
 * gnet__engine_ext; per-loop state is kept in its loop (l->ext[i], i the
 * extension's place in the list) and handed to its turn hooks as their
 * argument.
 *
 * Work an extension has on every loop turn (flushing output, re-reading a
 * socket) goes through turn hooks (kernel/loop.h), not through this table,
 * so a turn costs nothing for extensions with nothing to do.
 *
 * Every hook may be NULL.
 */
#ifndef GNET_KERNEL_EXT_H
#define GNET_KERNEL_EXT_H

#include <stdbool.h>
#include "gnet.h"

struct gnet__loop;

/* Extensions an engine can hold. */
#define GNET__MAX_EXTS 4

typedef struct gnet__ext {
	const char *name;

	/* Thread: setup (gnet_engine_new), in list order. */
	/* Check the options this extension reads, fill in their defaults
	 * (in the engine's copy, gnet__engine_options), claim message types
	 * and create per-engine state. Runs before any loop exists. Returns
	 * 0 or an error code, which fails the engine's creation. */
	int (*engine_init)(gnet_engine_t *eng, void **state);
	/* Create per-loop state for loop l, e.g. actors it keeps on every
	 * loop and its turn hooks. */
	int (*loop_init)(struct gnet__loop *l, void **state);

	/* Thread: the one running gnet_engine_run. */
	/* Before the loops start: e.g. start threads, spawn actors. An
	 * error stops the start; the extensions already started get
	 * `stopped`. */
	int (*start)(gnet_engine_t *eng);
	/* After every loop has exited, before messages still in flight are
	 * dropped: e.g. join threads that might still send. */
	void (*stopped)(gnet_engine_t *eng);

	/* Thread: the loop's own. */
	/* The loop's thread starts, or is about to exit. */
	void (*thread_enter)(struct gnet__loop *l);
	void (*thread_exit)(struct gnet__loop *l);
	/* The engine is stopping: end what this extension holds on loop l,
	 * gracefully (stop accepting, close connections). */
	void (*stop_begin)(struct gnet__loop *l);
	/* The stop's grace period (options.linger_ms) is over: end what is
	 * left at once. */
	void (*stop_force)(struct gnet__loop *l);
	/* May the stopping loop exit, as far as this extension is
	 * concerned? */
	bool (*stop_done)(struct gnet__loop *l);
	/* The loop republishes its stats (kernel/stats_sweep.c): write the
	 * counters kept privately -- those that change on every byte --
	 * to their published rows. */
	void (*stats_publish)(struct gnet__loop *l);
	/* Once a stats interval, after the sweep, busy or idle: upkeep too
	 * costly for every turn (net/ trims its allocator arena). */
	void (*interval)(struct gnet__loop *l);

	/* Thread: the one freeing the engine, after the loops stopped (or
	 * never ran) and in-flight messages were dropped; loop_free before
	 * engine_free. */
	void (*loop_free)(struct gnet__loop *l, void *state);
	void (*engine_free)(gnet_engine_t *eng, void *state);
} gnet__ext_t;

/* The state ext created for eng; NULL if it made none or eng does not
 * hold ext. Thread: any, once created. */
void *gnet__engine_ext(const gnet_engine_t *eng, const gnet__ext_t *ext);

/* Create an engine of the kernel and the extensions exts[0..n): events
 * and options as gnet_engine_new takes them. Thread: any. */
int gnet__engine_create(gnet_engine_t **out, const gnet_events_t *events,
    const gnet_options_t *opts, void *udata, const gnet__ext_t *const *exts,
    int n);

/* The engine's copy of the options, for engine_init to fill in defaults.
 * Thread: setup. */
gnet_options_t *gnet__engine_options(gnet_engine_t *eng);

#endif
