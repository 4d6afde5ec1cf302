/*
 * gnetstats.h -- reading the stats segment of a running gnet engine.
 *
 * Every engine publishes its counters in a shared-memory segment,
 * /dev/shm/gnet.<name>.<pid> (mode 0600: only the engine's user can open
 * it), from its creation until gnet_engine_run returns. Inspectors --
 * gnet-top, tests, a program's own monitoring -- attach to it from any
 * process of that user and read it without the engine's knowledge: a
 * reader takes no lock the engine waits for and makes no call into it,
 * so a reader that stops or dies mid-read changes nothing for the engine.
 *
 * What is published:
 *   - the engine: its name, pid, start time, loops, stats interval and
 *     the poller backend its loops wait in, "epoll" or "io_uring"
 *     (gnet_stats_engine);
 *   - one row per loop, live: the kernel's counters (iterations, messages,
 *     wakeups), inbox depths, and whether the loop is waiting for events
 *     or is in a turn -- a loop a reader keeps seeing in the same turn is
 *     stalled (gnet_stats_loop_t.turn_ns);
 *   - named counter sections, one row per loop, live: "net" (connections,
 *     bytes, syscalls) and any a module registers;
 *   - one row per actor (connections, listeners, user actors, ticker,
 *     pool...), republished by the owner loop every stats interval
 *     (gnet_options_t.stats_interval_ms, default 1 s) while a reader
 *     watches: mailbox depth, messages handled, time spent, and for
 *     connections the peer, the buffered bytes and the paused or closing
 *     state. Reading actor rows (gnet_stats_actors) is what tells the
 *     engine someone watches (it stops after 5 s, or three intervals, without a
 *     look), so rows appear within one interval of the first look and an
 *     engine nobody inspects spends nothing on them. A reader that opened
 *     the segment read-only sees only rows another reader asked for.
 *
 * A reader writes one field of the segment, that "someone watches" time;
 * everything else it only reads.
 *
 * The segment's layout is gnet's own and versioned; read it through these
 * functions (docs/ARCHITECTURE.md describes it for other languages).
 * Structs filled here start with `size_t size` as in gnet.h.
 *
 * Thread: any, for every function; a gnet_stats_t is used by one thread
 * at a time.
 */
#ifndef GNETSTATS_H
#define GNETSTATS_H

#include "gnet.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Where segments live, and the longest engine name (gnet_options_t.name). */
#define GNET_STATS_DIR "/dev/shm"
#define GNET_STATS_NAME_MAX 48

typedef struct gnet_stats gnet_stats_t;

/* One engine's segment, as gnet_stats_list finds it. */
typedef struct gnet_stats_engine {
	size_t size;            /* sizeof(gnet_stats_engine_t) */
	char name[GNET_STATS_NAME_MAX];
	char path[128];         /* the segment file */
	int pid;
	int alive;              /* 1: the engine runs; 0: its process is gone
	                         * (a segment left by a crash) or it stopped */
	int nloops;
	int version;            /* layout version of the segment */
	uint64_t started_unix_ms; /* when the engine was created */
	unsigned interval_ms;   /* its stats interval (actor rows) */
	char backend[16];       /* the poller its loops wait in
	                         * (gnet_engine_backend): "epoll",
	                         * "io_uring", or "" for a segment whose
	                         * engine predates the field or has not
	                         * opened its loops yet */
} gnet_stats_engine_t;

/* Up to max engines found in GNET_STATS_DIR that this user can read,
 * sorted by name then pid. out[0].size is the caller's
 * sizeof(gnet_stats_engine_t), so the array's stride: each entry is
 * filled to that size (and its size set). Returns how many were found
 * (which may exceed max: only max are filled) or a negative GNET_E*
 * code. */
GNET_API int gnet_stats_list(gnet_stats_engine_t *out, int max);

/* Attach to an engine's segment. `who` is a pid ("1234"), an engine name
 * ("gnetd": the live engine of that name; GNET_EINVAL names the choice if
 * several run), "name.pid", or a segment file's path. Returns 0,
 * GNET_ENOENT (no such engine), GNET_EACCES (another user's), GNET_ENOTSUP
 * (not a segment of a layout this library reads), or GNET_EINVAL. */
GNET_API int gnet_stats_attach(gnet_stats_t **out, const char *who);
GNET_API void gnet_stats_detach(gnet_stats_t *s);

/* The attached engine (alive is re-checked on every call). */
GNET_API int gnet_stats_engine(gnet_stats_t *s, gnet_stats_engine_t *out);

/* Inbox rings a loop reports: one per peer loop, then the foreign ring. */
#define GNET_STATS_MAX_RINGS (GNET_MAX_LOOPS + 1)

enum gnet_stats_loop_state {
	GNET_STATS_LOOP_STARTING = 0, /* not yet running */
	GNET_STATS_LOOP_WAITING,      /* asleep in the poller */
	GNET_STATS_LOOP_RUNNING,      /* in a turn */
	GNET_STATS_LOOP_STOPPED       /* its thread has exited */
};

typedef struct gnet_stats_loop {
	size_t size;            /* sizeof(gnet_stats_loop_t) */
	int index;
	int tid;                /* its thread (0 before it starts) */
	int cpu;                /* the CPU it is pinned to, or -1 */
	int state;              /* enum gnet_stats_loop_state */
	/* RUNNING: how long this reader has seen the loop in the same turn
	 * (running, its iteration count unchanged): 0 at the first look, so
	 * a reader looks twice. A turn is microseconds; one lasting long is
	 * a loop stuck in a handler. (The loop publishes no clock: a clock
	 * read every turn would cost more than the rest of its stats.) */
	uint64_t turn_ns;
	uint64_t cpu_ns;        /* CPU time of its thread (busy, user and
	                         * kernel; 0 if the kernel does not say) */
	uint64_t iterations;
	uint64_t msgs_in, msgs_out, msgs_dropped;
	uint64_t mailbox_hwm;   /* deepest actor mailbox seen */
	uint64_t overflowed;    /* sends parked because a ring was full */
	uint64_t parked;        /* messages parked now */
	uint64_t wakeups;
	uint64_t actors;        /* live user actors */
	uint64_t sweeps;        /* times its actor rows were republished
	                         * (only while a reader watches) */
	uint64_t actor_rows;    /* actor rows it publishes now */
	uint64_t actor_rows_unlisted; /* live actors past the segment's room */
	/* Inbox: ring[i] for messages from loop i (i < nloops; its own is
	 * always 0), ring[nloops] from other threads. depth is what the
	 * loop's last drain of the ring left waiting (0 unless more came
	 * than a turn takes; a stalled loop drains nothing, see state), hwm
	 * the most a drain ever found. */
	int nrings;
	struct {
		uint32_t depth, hwm;
	} ring[GNET_STATS_MAX_RINGS];
} gnet_stats_loop_t;

/* Loop i's row. Returns 0, GNET_EINVAL (no such loop). */
GNET_API int gnet_stats_loop(gnet_stats_t *s, int i, gnet_stats_loop_t *out);

/* Named counters: section "net" holds conns, accepted, bytes_in,
 * bytes_out, syscalls_io, udp_in, udp_out, udp_dropped, buffered,
 * budget_closes, conns_refused; modules add
 * theirs. gnet_stats_section_name gives section k's name and number of
 * counters (k from 0; GNET_ENOENT past the last), gnet_stats_counter_name
 * counter j's name, and gnet_stats_counter its value on loop i (loop -1:
 * the sum over loops). */
GNET_API int gnet_stats_section_name(gnet_stats_t *s, int k,
    const char **name, int *ncounters);
GNET_API const char *gnet_stats_counter_name(gnet_stats_t *s, int k, int j);
GNET_API int gnet_stats_counter(gnet_stats_t *s, int k, int j, int loop,
    uint64_t *value);
/* By names: 0 and *value, or GNET_ENOENT. */
GNET_API int gnet_stats_counter_get(gnet_stats_t *s, const char *section,
    const char *counter, int loop, uint64_t *value);

/* Actor rows: flags. */
enum {
	GNET_STATS_A_PAUSED = 1u << 0,  /* reading paused: output above the
	                                 * high watermark */
	GNET_STATS_A_READ_OFF = 1u << 1, /* reading off for another reason
	                                 * (the program, a full pool or outbox,
	                                 * the peer's EOF) */
	GNET_STATS_A_CLOSING = 1u << 2, /* close begun, output draining */
	GNET_STATS_A_OUTBOUND = 1u << 3, /* dialled by the program */
	GNET_STATS_A_MUTED = 1u << 4,   /* an actor not taking messages
	                                 * (gnet_actor_set_receiving) */
	GNET_STATS_A_CONNECTING = 1u << 5
};

typedef struct gnet_stats_actor {
	size_t size;            /* sizeof(gnet_stats_actor_t) */
	int loop;
	gnet_handle_t handle;
	char kind[24];          /* "connection", "listener", "udp", "dialer",
	                         * "actor", "ticker", "pool", or an actor's
	                         * own name (gnet_actor_def_t.name) */
	uint32_t mailbox;       /* messages waiting in its mailbox */
	uint32_t mailbox_hwm;   /* the most that ever waited */
	uint64_t handled;       /* messages and I/O events handled (kept in
	                         * 32 bits between looks: an actor that
	                         * handles over 4 billion while nobody watches
	                         * shows the count modulo 2^32) */
	uint64_t busy_ns;       /* time spent handling them */
	uint64_t age_ms;        /* since it was first published */
	uint64_t idle_ms;       /* since it last handled something (to the
	                         * stats interval) */
	/* Connections: */
	char peer[64];          /* "127.0.0.1:5000", "[::1]:80", a path, "" */
	uint64_t in_bytes;      /* received, not yet consumed */
	uint64_t out_bytes;     /* written, not yet sent */
	unsigned flags;         /* GNET_STATS_A_* */
	uint64_t published_ms_ago; /* when the owner loop wrote this row (a
	                         * row of an engine nobody watched lately is
	                         * as old as that look) */
} gnet_stats_actor_t;

/* Copy up to max actor rows of loop i (loop -1: every loop) into out.
 * Returns how many rows there are (which may exceed max) or a negative
 * GNET_E* code. */
GNET_API int gnet_stats_actors(gnet_stats_t *s, int loop,
    gnet_stats_actor_t *out, int max);

#ifdef __cplusplus
}
#endif

#endif
