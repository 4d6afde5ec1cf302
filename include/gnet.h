/*
 * gnet.h -- the public API of gnet, an event-driven networking framework
 * built as an actor microkernel.
 *
 * An engine runs N event loops, each a thread pinned to a core. Every
 * connection is an actor owned by exactly one loop: its callbacks run only on
 * that loop's thread, so its state needs no lock. Other threads talk to a
 * connection (or to any actor) by sending it a message through a lock-free
 * mailbox; they never touch its state.
 *
 * Conventions:
 *   - Names are gnet_<object>_<verb>: the object is what the call acts on
 *     (engine, conn, actor, pool, codec, loop, log), and a call that acts
 *     on a connection or actor by its handle, from any thread, as a
 *     message, is the loop-only call's name with _async
 *     (gnet_conn_close / gnet_conn_close_async). gnet_run, gnet_strerror
 *     and gnet_version are the library's own verbs.
 *   - Functions return 0 (or a count) on success and a negative GNET_E* code
 *     on failure (see "Errors" for the one rule); gnet_strerror() names it.
 *   - Every function states its thread rule:
 *       "Thread: any"         callable from any thread, at any time;
 *       "Thread: owner loop"  only from the loop that owns the object, i.e.
 *                              from inside a callback the engine made for it;
 *       "Thread: setup"       before gnet_engine_run() or from on_boot.
 *     A loop-only function called from another thread returns GNET_ETHREAD
 *     and does nothing (those returning a size or pointer return 0/NULL).
 *   - Structs the program passes in (options, events, definitions) or has
 *     filled (stats) start with `size_t size`, set to the sizeof the
 *     program was compiled with:
 *         gnet_options_t opt = { .size = sizeof opt, .multicore = 1 };
 *     Fields are only ever appended, so a library built later reads a
 *     struct compiled against an older gnet.h (the fields it lacks read
 *     as zero: their defaults), and an older library refuses a newer
 *     struct only when it sets a field the library does not know
 *     (GNET_ENOTSUP). A size of 0, or one below the struct's first
 *     release, is GNET_EINVAL.
 *   - A gnet_conn_t pointer is valid from on_open until on_close returns and
 *     only on its owner loop. Keep a gnet_handle_t to refer to a connection
 *     from elsewhere or later: a handle to a closed connection is detected
 *     (GNET_ESTALE), never confused with a new connection on a reused slot.
 */
#ifndef GNET_H
#define GNET_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What libgnet.so exports: the functions below and nothing else (the
 * library is built with -fvisibility=hidden). */
#if defined(__GNUC__) || defined(__clang__)
#define GNET_API __attribute__((visibility("default")))
#else
#define GNET_API
#endif

/* The version, in this one place: the Makefile reads it for the shared
 * library's name and gnet.pc. */
#define GNET_VERSION_MAJOR 0
#define GNET_VERSION_MINOR 5
#define GNET_VERSION_PATCH 0
#define GNET_VERSION_NUMBER \
	(GNET_VERSION_MAJOR * 1000000 + GNET_VERSION_MINOR * 1000 + GNET_VERSION_PATCH)

/* ------------------------------------------------------------------------
 * Errors. One rule, libuv's on Unix: every error is a negative GNET_E*
 * code, and where the system has an errno of that meaning the code *is*
 * the negated errno (GNET_ECONNREFUSED == -ECONNREFUSED). A failure the
 * kernel reports therefore needs no translation, and one meaning never
 * has two codes (a connect timeout and an idle timeout are both
 * GNET_ETIMEDOUT). Conditions of gnet's own take codes below -10000,
 * outside every errno (Linux's stop at 4095). An errno gnet has no name
 * for still arrives as its negated value; gnet_strerror names every code.
 */
#define GNET__ERRNO(e) (-(e))
enum {
	GNET_OK = 0,
	/* System conditions (negated errno values). */
	GNET_EINVAL = GNET__ERRNO(EINVAL),   /* invalid argument (NULL, zero
	                                      * length, bad option or struct size) */
	GNET_ENOMEM = GNET__ERRNO(ENOMEM),   /* out of memory */
	GNET_EAGAIN = GNET__ERRNO(EAGAIN),   /* full for now (a mailbox,
	    the worker
	                                      * queue, a unix listener's backlog) */
	GNET_ETIMEDOUT = GNET__ERRNO(ETIMEDOUT), /* timed out: a connect, or a
	                                      * connection idle past idle_timeout_ms */
	GNET_ENOTSUP = GNET__ERRNO(EOPNOTSUPP), /* not supported (yet),
	    or a struct
	                                      * field this library does not know */
	GNET_ECONNREFUSED = GNET__ERRNO(ECONNREFUSED),
	GNET_ECONNRESET = GNET__ERRNO(ECONNRESET),
	GNET_ECONNABORTED = GNET__ERRNO(ECONNABORTED),
	GNET_EPIPE = GNET__ERRNO(EPIPE),
	GNET_ENOENT = GNET__ERRNO(ENOENT),
	GNET_EACCES = GNET__ERRNO(EACCES),
	GNET_EPERM = GNET__ERRNO(EPERM),
	GNET_EADDRINUSE = GNET__ERRNO(EADDRINUSE),
	GNET_EADDRNOTAVAIL = GNET__ERRNO(EADDRNOTAVAIL),
	GNET_ENETUNREACH = GNET__ERRNO(ENETUNREACH),
	GNET_EHOSTUNREACH = GNET__ERRNO(EHOSTUNREACH),
	GNET_EMFILE = GNET__ERRNO(EMFILE),
	/* gnet's own conditions. */
	GNET_ESCHEME = -10002,
	     /* address scheme not supported ("http://...") */
	GNET_EADDR = -10003,    /* malformed address: host, port or syntax */
	GNET_ESTALE = -10004,   /* handle names an actor that no longer exists */
	GNET_ECLOSED = -10005,  /* connection is closed or closing */
	GNET_ESTATE = -10008,   /* engine in the wrong state for this call */
	GNET_ETHREAD = -10009,  /* loop-only function called from another thread */
	GNET_ESHUTDOWN = -10010, /* engine is stopping: close reason / send refused */
	GNET_ELINGER = -10011,  /* close gave up: peer took nothing for linger_ms */
	GNET_EABORTED = -10012,
	    /* connection aborted by the program (RST sent) */
	GNET_EEOF = -10013,     /* close reason: the peer closed its side */
	GNET_EINBOUND = -10014, /* close reason: unconsumed inbound data over limit */
	GNET_ELIMIT = -10016,   /* a configured limit (connections,
	    actors) reached */
	GNET_EFRAMESIZE = -10017, /* frame longer than the codec's max frame length,
	                         * or a payload too long for the length field */
	GNET_EBADFRAME = -10018, /* malformed frame: negative adjusted length,
	                         * length overflow, or rejected by a custom codec */
	GNET_ETRUNCATED = -10019, /* close reason: peer closed in the middle of
	                         * a frame */
	GNET_EOUTBOUND = -10020, /* close reason / write refused: pending output
	                         * over max_outbound, or over
	                         * outbound_soft_limit for outbound_soft_ms */
	GNET_EBUDGET = -10021   /* close reason: the engine's buffers were over
	                         * max_buffered and this connection held the
	                         * most on its loop */
};

/* A short, static, human-readable description of any error code (a
 * GNET_E* name, or any other negative errno value). Never returns NULL.
 * Thread: any. */
GNET_API const char *gnet_strerror(int err);

/* The version of the library in use, which may differ from the header's
 * GNET_VERSION_NUMBER when the program was built against another
 * release: major * 1000000 + minor * 1000 + patch. Thread: any. */
GNET_API int gnet_version(void);
/* The same as "MAJOR.MINOR.PATCH". Thread: any. */
GNET_API const char *gnet_version_string(void);

/* ------------------------------------------------------------------------
 * Handles and messages.
 *
 * A handle is 64 bits: loop index (8) | slot (24) | generation (32). A slot
 * is reused after its actor stops, but with a new generation, so a message
 * or call carrying an old handle is dropped (and counted), never delivered
 * to the new occupant. 0 is never a valid handle.
 */
typedef uint64_t gnet_handle_t;
#define GNET_HANDLE_NONE ((gnet_handle_t)0)

/* Message types below GNET_MSG_USER are reserved for the kernel. */
#define GNET_MSG_USER 1024u

/* A message is a small value copied into the receiver's mailbox: no
 * allocation per message. If it carries a pointer, ownership of what it
 * points to moves with the message; see gnet_events_t.on_dropped for the
 * case where it cannot be delivered. */
/* gnetmodule.h declares the same struct for modules (GnetMsg), so a
 * message is one type on both sides; whichever header comes first defines
 * it. */
#ifndef GNET__MSG_STRUCT
#define GNET__MSG_STRUCT
struct gnet_msg {
	uint64_t to;        /* destination actor (set by gnet_actor_send) */
	uint64_t from;      /* sender's handle, or GNET_HANDLE_NONE */
	uint32_t type;      /* >= GNET_MSG_USER for user messages */
	uint32_t flags;     /* free for the user */
	uint64_t a;         /* payload words: integers, or a pointer and a */
	uint64_t b;         /* length, as the sender and receiver agree   */
};
#endif
typedef struct gnet_msg gnet_msg_t;

typedef struct gnet_engine gnet_engine_t;
typedef struct gnet_conn gnet_conn_t;
typedef struct gnet_actor gnet_actor_t;
typedef struct gnet_codec gnet_codec_t;
typedef struct gnet_group gnet_group_t;

/* ------------------------------------------------------------------------
 * Events. Every callback runs on a loop thread (on_boot and on_shutdown on
 * the thread that called gnet_engine_run). `udata` is the pointer given to
 * gnet_engine_new. Unset callbacks are skipped.
 */
typedef enum gnet_action {
	GNET_NONE = 0,     /* carry on */
	GNET_CLOSE = 1,
	       /* close this connection (pending output is flushed) */
	GNET_SHUTDOWN = 2  /* stop the whole engine */
} gnet_action_t;

typedef struct gnet_events {
	size_t size;        /* sizeof(gnet_events_t): see "Structs" above */
	/* The engine is listening; loops are about to start. A good place to
	 * spawn actors. GNET_SHUTDOWN stops the engine before it serves. */
	gnet_action_t (*on_boot)(gnet_engine_t *eng, void *udata);
	/* A connection was accepted. Writes made here go out before any reply
	 * to the peer's data. */
	gnet_action_t (*on_open)(gnet_conn_t *c, void *udata);
	/* Inbound bytes are available: see gnet_conn_peek/read/discard. Bytes
	 * left unconsumed stay buffered and are presented again, with the
	 * next bytes, on the next call. With a codec (gnet_options_t.codec,
	 * gnet_conn_set_codec) it is called once per decoded frame instead:
	 * peek/read/discard see exactly that frame, and whatever of it is
	 * left unconsumed is dropped when the call returns. */
	gnet_action_t (*on_traffic)(gnet_conn_t *c, void *udata);
	/* The connection is gone. Called exactly once per opened connection,
	 * before its descriptor is closed. `reason` is 0 when the program
	 * closed it, otherwise GNET_EEOF, GNET_ESHUTDOWN, GNET_ELINGER,
	 * GNET_EABORTED, GNET_EINBOUND or another code such as
	 * GNET_ECONNRESET. The connection can no longer be written. */
	void (*on_close)(gnet_conn_t *c, int reason, void *udata);
	/* The engine has stopped: all loops have exited and every connection
	 * has been closed. */
	void (*on_shutdown)(gnet_engine_t *eng, void *udata);
	/* A user message (type >= GNET_MSG_USER) sent to a connection's
	 * handle. */
	gnet_action_t (*on_message)(gnet_conn_t *c, const gnet_msg_t *m,
	    void *udata);
	/* Backpressure: `paused` is 1 when the outbound buffer rose above the
	 * high watermark and reading stopped, 0 when it drained below the low
	 * watermark and reading resumed. Called whoever wrote past the
	 * watermark (a tick, a message, another connection's callback): a
	 * program that writes unasked should stop producing for c until
	 * paused = 0, or max_outbound will end it. */
	void (*on_backpressure)(gnet_conn_t *c, int paused, void *udata);
	/* A user message could not be delivered (its actor is gone or the
	 * engine stopped). Free what it owns here. Runs on a loop thread, a
	 * worker-pool thread or, at shutdown, on the thread that called
	 * gnet_engine_run. */
	void (*on_dropped)(gnet_engine_t *eng, const gnet_msg_t *m,
	    void *udata);
	/* The ticker: when set, it runs on loop 0 right after the loops start
	 * and then again after *delay_ns nanoseconds (preset to the previous
	 * delay, 1 s the first time). It runs between that loop's other
	 * events, never concurrently with them. GNET_SHUTDOWN stops the
	 * engine. */
	gnet_action_t (*on_tick)(gnet_engine_t *eng, uint64_t *delay_ns,
	    void *udata);
	/* An outbound connection (gnet_engine_dial) failed before it opened:
	 * GNET_ECONNREFUSED, GNET_ETIMEDOUT (connect_timeout_ms passed),
	 * GNET_ENOENT (no unix socket), GNET_ESHUTDOWN... `ctx` is the dial's
	 * context; the handle is dead. Runs on the loop the dial was made
	 * for. */
	void (*on_dial_error)(gnet_engine_t *eng, gnet_handle_t h, void *ctx,
	    int err, void *udata);
	/* The connection's deadline (gnet_conn_set_deadline) passed. Return
	 * GNET_CLOSE after writing a goodbye (an HTTP 408), or GNET_NONE to
	 * keep it. NULL: the connection is closed, on_close(GNET_ETIMEDOUT). */
	gnet_action_t (*on_deadline)(gnet_conn_t *c, void *udata);
} gnet_events_t;

/* ------------------------------------------------------------------------
 * Options. A struct with only its size set gives the documented defaults.
 */
typedef enum gnet_send_policy {
	GNET_SEND_WAIT = 0,
	     /* a foreign thread waits (with backoff) for room */
	GNET_SEND_NOWAIT = 1 /* a foreign thread gets GNET_EAGAIN when full */
} gnet_send_policy_t;

/* How the acceptor picks the loop for a new connection (not used with
 * reuseport, where each loop accepts its own). */
typedef enum gnet_lb {
	GNET_LB_ROUND_ROBIN = 0,   /* loops in turn */
	GNET_LB_LEAST_CONNECTIONS, /* the loop with the fewest live connections
	                            * at the moment of the hand-off */
	GNET_LB_SOURCE_HASH        /* hash of the client IP (not the port): one
	                            * client always lands on the same loop */
} gnet_lb_t;

/* The kernel interface the loops wait in (gnet_options_t.backend). Both
 * give every behaviour of this header the same; they differ in cost. */
typedef enum gnet_backend {
	GNET_BACKEND_DEFAULT = 0, /* epoll -- measured the cheaper of the two
	                         * for gnet's workloads (bench/README.md) --
	                         * unless the environment variable
	                         * GNET_BACKEND (epoll, uring or io_uring,
	                         * auto) chooses: a program can be run on
	                         * either unchanged */
	GNET_BACKEND_AUTO,      /* io_uring where the kernel offers what gnet
	                         * needs and lets this process use it, else
	                         * epoll, with the reason logged */
	GNET_BACKEND_EPOLL,
	GNET_BACKEND_URING      /* io_uring or nothing: gnet_engine_new fails
	                         * with the kernel's reason (e.g. GNET_EPERM,
	                         * GNET_ENOTSUP) where it is unavailable */
} gnet_backend_t;

typedef struct gnet_options {
	size_t size;            /* sizeof(gnet_options_t): see "Structs" above */
	int multicore;          /* 1: one loop per online CPU (default 0: one loop) */
	int num_loops;          /* > 0 overrides multicore; at most GNET_MAX_LOOPS */
	int no_pin;             /* 1: do not pin loop threads to CPUs */
	size_t read_buffer_cap; /* bytes read per readable event (and one more,
	                         * to tell a drained socket); default 64 KiB */
	size_t write_high_watermark; /* stop reading above this; default 1 MiB */
	size_t write_low_watermark;  /* resume reading below this; default 256 KiB */
	size_t max_inbound;     /* unconsumed inbound bytes before the connection
	                         * is closed with GNET_EINBOUND; default 64 MiB */
	int linger_ms;          /* how long a close waits for a peer that takes
	                         * no bytes before resetting it (GNET_ELINGER);
	                         * a reader making progress is never cut off.
	                         * Default 5000; < 0: do not wait, drop output */
	int tcp_nodelay;        /* 0 default (on), 1 on,
	    -1 off (Nagle enabled) */
	int tcp_keepalive_s;    /* > 0: enable keepalive with this idle time */
	int tcp_keepalive_intvl_s; /* probe interval (default: tcp_keepalive_s) */
	int tcp_keepalive_cnt;  /* probes before the peer is dropped (0: kernel's) */
	int sndbuf, rcvbuf;     /* > 0: SO_SNDBUF / SO_RCVBUF in bytes */
	int so_linger;          /* 0: not set; < 0: SO_LINGER 0 (the kernel resets
	                         * instead of a FIN at close); > 0: SO_LINGER of
	                         * that many seconds -- close() may then block the
	                         * loop while the kernel still holds unsent data */
	int reuseaddr;          /* 0 default: SO_REUSEADDR on listeners; -1 off */
	int reuseport;          /* 1: SO_REUSEPORT, one listener per loop, each
	                         * loop accepts its own connections; several
	                         * engines or processes can share the port.
	                         * (Unix sockets have no reuseport: ignored.) */
	gnet_lb_t lb;           /* acceptor's load balancing; default round-robin */
	const char *bind_device; /* SO_BINDTODEVICE for listeners, e.g. "lo";
	                         * Linux may require CAP_NET_RAW (GNET_EPERM) */
	int backlog;            /* listen backlog; default 1024 */
	unsigned idle_timeout_ms; /* > 0: close a connection that neither read
	                         * nor wrote for this long (GNET_ETIMEDOUT) */
	int workers;            /* threads of the blocking-worker pool (0: none) */
	unsigned worker_queue;  /* jobs the pool may hold before gnet_pool_submit
	                         * returns GNET_EAGAIN; default 1024 */
	size_t udp_max_datagram; /* largest datagram received whole; default
	                         * 65507 (bigger ones are dropped and counted) */
	unsigned mailbox_ring_size; /* slots per inbox ring, a power of two >= 4;
	                         * default 256 (loop to loop), 4x that for the
	                         * foreign-thread ring. Tiny values are for tests. */
	gnet_send_policy_t send_policy; /* foreign threads on a full mailbox */
	unsigned max_parked;    /* messages a loop may hold for full peer rings
	                         * before its connections stop reading (they
	                         * resume at a quarter of it); default 65536 */
	const gnet_codec_t *codec; /* frame codec for every connection (NULL:
	                         * raw bytes); must outlive the engine */
	/* The stats segment (gnetstats.h): what inspectors such as gnet-top
	 * read, /dev/shm/gnet.<name>.<pid>, mode 0600, removed when
	 * gnet_engine_run returns. */
	const char *name;       /* the engine's name: letters, digits, '_' and
	                         * '-', at most 47 (default: the program's
	                         * name); others are GNET_EINVAL */
	int stats;              /* 0 default: publish; < 0: no segment (the
	                         * counters stay private); the environment
	                         * variable GNET_STATS=off does the same */
	unsigned stats_interval_ms; /* how often a loop republishes its actor
	                         * rows while it is active, and once more
	                         * after; default 1000 */
	unsigned stats_actor_rows; /* actor rows per loop (later actors are
	                         * counted, not listed); default 65536 */
	/* Outbound limits (Redis's client-output-buffer-limit): for a server
	 * that pushes, where the high watermark pauses nothing. A connection
	 * over either is aborted (pending output dropped, RST) with
	 * GNET_EOUTBOUND; the write that crossed the hard limit returns it. */
	size_t max_outbound;    /* hard: pending outbound bytes a write may not
	                         * take past; default 256 MiB (a reply may be
	                         * bigger than max_inbound), SIZE_MAX: none */
	size_t outbound_soft_limit; /* soft: pending bytes that may not stay
	                         * above it for outbound_soft_ms; 0: none */
	unsigned outbound_soft_ms; /* default 60000 */
	/* The engine's buffer budget: bytes that all connections' buffers
	 * may hold together, inbound (codecs' partial frames included) and
	 * outbound. Over it, the loops holding more than their share abort
	 * their largest connections with GNET_EBUDGET (counted:
	 * budget_closes). Default: a quarter of the machine's memory, at
	 * least 64 MiB; SIZE_MAX: none. */
	size_t max_buffered;
	gnet_backend_t backend; /* default: GNET_BACKEND_DEFAULT */
} gnet_options_t;

#define GNET_MAX_LOOPS 64

/* ------------------------------------------------------------------------
 * Engine.
 */

/* Create an engine. `events` and `opts` are copied; `opts` may be NULL.
 * Returns 0 and sets *out, or GNET_EINVAL / GNET_ENOMEM. Thread: any. */
GNET_API int gnet_engine_new(gnet_engine_t **out, const gnet_events_t *events,
    const gnet_options_t *opts, void *udata);

/* Listen on an address: "tcp://host:port", "tcp://:port" (all IPv4
 * interfaces), "tcp://[::1]:port", "udp://host:port", "unix://path"
 * (relative to the working directory, or absolute: "unix:///run/x.sock").
 * Host is a numeric IPv4/IPv6 literal or "localhost" (the library never
 * blocks on DNS). Port 0 picks a free port, see gnet_engine_addr. An
 * engine may listen on up to 16 addresses of any kinds.
 *
 * Unix sockets: a socket file left by a dead server is removed (after a
 * connect to it is refused); a live server's socket or any other file at
 * that path gives GNET_EADDRINUSE. The file is removed when the engine stops.
 *
 * UDP: each datagram is one on_traffic call on the UDP socket's
 * connection object (no on_open/on_close: UDP has no connections);
 * gnet_conn_remote_addr is that datagram's sender and gnet_conn_write
 * replies to it; gnet_conn_sendto sends anywhere (gnet_conn_sendto_async from
 * another thread). Datagrams are received and sent in batches
 * (recvmmsg/sendmmsg; consecutive replies to one address with one size
 * as one UDP_SEGMENT send). Without reuseport the socket is served by one
 * loop (listener index modulo the number of loops).
 *
 * Returns GNET_ESCHEME for an unknown scheme, GNET_EADDR for a malformed
 * address, GNET_ELIMIT past 16 listeners, or a negative errno from
 * socket/bind/listen. Thread: setup (before gnet_engine_run). */
GNET_API int gnet_engine_listen(gnet_engine_t *eng, const char *addr);

/* Is addr an address gnet_engine_listen would accept, as far as can be
 * told without binding it? 0, GNET_ESCHEME or GNET_EADDR. Thread: any. */
GNET_API int gnet_addr_check(const char *addr);

/* A listener of its own kind: its connections use these events, udata,
 * codec and per-connection state instead of the engine's, and belong to
 * `group`. This is how several protocols (modules) share one engine. */
typedef struct gnet_listen_options {
	size_t size;             /* sizeof(gnet_listen_options_t) */
	/* Its connections' callbacks: on_open, on_traffic, on_close,
	 * on_message and on_backpressure are taken from here (the
	 * engine-wide ones -- on_boot, on_tick... -- stay the engine's).
	 * NULL: the engine's events and udata. */
	const gnet_events_t *events;
	void *udata;             /* passed to those callbacks */
	const gnet_codec_t *codec; /* NULL: options.codec */
	/* Bytes of zeroed state allocated with each of its connections
	 * (gnet_conn_state), freed after on_close; at most
	 * GNET_MAX_CONN_STATE. */
	size_t conn_state_size;
	gnet_group_t *group;     /* NULL: none */
	/* > 0: at most this many of its connections open at once. One more
	 * is accepted and closed at once (FIN, no on_open; counted in the
	 * net section's conns_refused), so a client learns promptly and the
	 * backlog does not fill with connections nobody will serve.
	 * 0: no limit but the descriptors'. */
	unsigned max_conns;
} gnet_listen_options_t;
#define GNET_MAX_CONN_STATE (64 * 1024)

/* gnet_engine_listen with options. Returns the listener's index (>= 0) or
 * an error as gnet_engine_listen, GNET_EINVAL for bad options and
 * GNET_ESHUTDOWN for a group that is closing. Thread: setup. */
GNET_API int gnet_engine_listen_with(gnet_engine_t *eng, const char *addr,
    const gnet_listen_options_t *opts);

/* The bound address of listener `index` (in listen order). Thread: any,
 * once gnet_engine_listen has returned. */
GNET_API int gnet_engine_addr(gnet_engine_t *eng, int index,
    struct sockaddr_storage *out, socklen_t *outlen);

/* Run the engine: start the loops and block until the engine stops.
 * Returns 0 after a clean stop. Thread: any one thread, once (on_boot and
 * on_shutdown run on it). */
GNET_API int gnet_engine_run(gnet_engine_t *eng);

/* Ask the engine to stop. Connections are closed (on_close with
 * GNET_ESHUTDOWN), actors stopped, then gnet_engine_run returns.
 * Idempotent. Thread: any, including loop callbacks. */
GNET_API int gnet_engine_stop(gnet_engine_t *eng);

/* Free an engine that is not running. Thread: the creating thread. */
GNET_API void gnet_engine_free(gnet_engine_t *eng);

/* Convenience: new + listen + run + free. Thread: any. */
GNET_API int gnet_run(const char *addr, const gnet_events_t *events,
    const gnet_options_t *opts, void *udata);

GNET_API int gnet_engine_num_loops(const gnet_engine_t *eng);  /* Thread: any */
/* The backend the loops wait in: "epoll" or "io_uring". Thread: any. */
GNET_API const char *gnet_engine_backend(const gnet_engine_t *eng);
GNET_API int gnet_engine_conn_count(const gnet_engine_t *eng); /* Thread: any */
GNET_API int gnet_engine_is_running(const gnet_engine_t *eng); /* Thread: any */

/* Per-loop counters, published by the owner loop with plain stores. */
typedef struct gnet_loop_stats {
	size_t size;            /* set by the caller: sizeof(gnet_loop_stats_t) */
	uint64_t iterations;    /* loop turns */
	uint64_t msgs_in;       /* messages delivered to actors of this loop */
	uint64_t msgs_out;      /* messages this loop sent to other loops */
	uint64_t msgs_dropped;  /* stale-handle or shutdown drops */
	uint64_t mailbox_hwm;   /* deepest actor mailbox seen */
	uint64_t overflowed;    /* sends that went to the overflow FIFO */
	uint64_t wakeups;       /* eventfd wakeups received */
	uint64_t conns;         /* live connections */
	uint64_t actors;        /* live user actors */
	uint64_t accepted;      /* connections opened on this loop */
	uint64_t udp_in;        /* datagrams received */
	uint64_t udp_out;       /* datagrams sent */
	uint64_t udp_dropped;   /* datagrams dropped: truncated on receive,
	                         * or refused by the kernel on send */
	uint64_t syscalls_io;   /* recv/send-family calls (for batching stats) */
	uint64_t bytes_in;      /* bytes received (streams and datagrams) */
	uint64_t bytes_out;     /* bytes sent; these two are published every
	                         * options.stats_interval_ms while the loop is
	                         * active, and when it stops */
	uint64_t buffered;      /* bytes its connections' buffers hold, as of
	                         * its last budget check */
	uint64_t budget_closes; /* connections aborted for max_buffered */
	uint64_t conns_refused; /* accepted and closed at a listener's
	                         * max_conns */
} gnet_loop_stats_t;

/* Copy loop `index`'s counters. Values are a consistent-enough snapshot for
 * monitoring, not a transaction. Thread: any. */
GNET_API int gnet_engine_loop_stats(const gnet_engine_t *eng, int index,
    gnet_loop_stats_t *out);

/* A named table of counters, one row per loop, published in the stats
 * segment beside the engine's own (gnet-top shows them; a module's stats
 * section is one). A loop adds to its own row only, with relaxed
 * load-and-store (GNET_COUNTER_ADD): one writer needs no locked add, and
 * readers see whole values. section: up to 31 bytes; names: n (1..256)
 * counter names of up to 31 bytes. Returns 0, GNET_EINVAL or GNET_ENOMEM;
 * a segment with no room left keeps the table private (still counted,
 * not shown). Thread: any. */
typedef struct gnet_counters gnet_counters_t;
GNET_API int gnet_counters_new(gnet_engine_t *eng, const char *section,
    const char *const *names, int n, gnet_counters_t **out);
/* Loop `loop`'s row: n counters, or NULL for a bad loop. Thread: any (to
 * get it); write it from that loop only. */
GNET_API uint64_t *gnet_counters_row(gnet_counters_t *c, int loop);
/* Remove the table from the segment and free it; no loop may use its rows
 * any more. Thread: any. */
GNET_API void gnet_counters_free(gnet_counters_t *c);
#define GNET_COUNTER_ADD(row, i, n)                                        \
	__atomic_store_n(&(row)[i], __atomic_load_n(&(row)[i],             \
	    __ATOMIC_RELAXED) + (uint64_t)(n), __ATOMIC_RELAXED)

/* ------------------------------------------------------------------------
 * Connections. Thread: owner loop, unless marked otherwise.
 */

/* All buffered inbound bytes as one contiguous view, valid until the
 * callback returns or the next read/discard. Returns the length. */
GNET_API size_t gnet_conn_peek(gnet_conn_t *c, const void **data);
/* Copy up to n bytes out and consume them; returns the count (>= 0) or an
 * error. */
GNET_API long gnet_conn_read(gnet_conn_t *c, void *buf, size_t n);
/* Consume n bytes (all if n exceeds what is buffered); returns the count. */
GNET_API long gnet_conn_discard(gnet_conn_t *c, size_t n);
GNET_API size_t gnet_conn_inbound_len(const gnet_conn_t *c);

/* Queue bytes for the connection; they are sent before the loop next
 * sleeps. Two kinds of write skip the copy into the outbound buffer: one
 * of 2 KiB or more with nothing queued ahead of it is sent at once (only
 * what the socket refuses is queued), and a raw handler's smaller write
 * of bytes gnet_conn_peek showed it is sent from the loop's read buffer
 * right after the handler returns. Either way the caller's memory is not
 * used after the call. With a codec, one call is one frame: the bytes are
 * encoded (writev gathers its pieces into one frame). Returns n (the
 * payload length), GNET_ECLOSED once close has begun, the codec's error
 * (e.g. GNET_EFRAMESIZE), in which case nothing was written, or
 * GNET_EOUTBOUND when the write would take pending output past
 * max_outbound (the connection is then aborted). */
GNET_API long gnet_conn_write(gnet_conn_t *c, const void *data, size_t n);
GNET_API long gnet_conn_writev(gnet_conn_t *c, const struct iovec *iov,
    int iovcnt);
GNET_API size_t gnet_conn_outbound_len(const gnet_conn_t *c);

/* Graceful close: stop reading, flush pending output (a peer that takes
 * nothing for linger_ms is reset instead: GNET_ELINGER), shut down the
 * write side, then on_close(reason 0). */
GNET_API int gnet_conn_close(gnet_conn_t *c);
/* Abortive close: drop output still queued, send RST, on_close(GNET_EABORTED).
 * Bytes the kernel already took are not recalled: a write of 2 KiB or more
 * made while nothing was queued goes to the socket at once (as libuv's
 * try-write does), so it may reach the peer before the reset. */
GNET_API int gnet_conn_abort(gnet_conn_t *c);

GNET_API void *gnet_conn_context(const gnet_conn_t *c);
/* The connection's state of its listener's conn_state_size bytes, or
 * NULL when it has none. Thread: owner loop. */
GNET_API void *gnet_conn_state(const gnet_conn_t *c);
/* Returns 0, or GNET_ETHREAD off the owner loop (nothing is set). */
GNET_API int gnet_conn_set_context(gnet_conn_t *c, void *ctx);
/* Off the owner loop these return GNET_HANDLE_NONE, NULL, GNET_ETHREAD,
 * GNET_ETHREAD. */
GNET_API gnet_handle_t gnet_conn_handle(const gnet_conn_t *c);
GNET_API gnet_engine_t *gnet_conn_engine(const gnet_conn_t *c);
GNET_API int gnet_conn_fd(const gnet_conn_t *c);
GNET_API int gnet_conn_loop_index(const gnet_conn_t *c);
GNET_API const struct sockaddr *gnet_conn_local_addr(const gnet_conn_t *c,
    socklen_t *len);
GNET_API const struct sockaddr *gnet_conn_remote_addr(const gnet_conn_t *c,
    socklen_t *len);

/* Send one datagram to `to` from a UDP socket's connection object (e.g.
 * inside on_traffic, or from on_message). Returns n, GNET_EINVAL (not a
 * UDP socket, bad address), GNET_EFRAMESIZE (over 65507 bytes).
 * Thread: owner loop. */
GNET_API long gnet_conn_sendto(gnet_conn_t *c, const struct sockaddr *to,
    socklen_t tolen, const void *data, size_t n);
/* 1 for a UDP socket's connection object, 0 for a stream connection (and
 * off the owner loop). */
GNET_API int gnet_conn_is_udp(const gnet_conn_t *c);

/* Ask a connection to run on_traffic again with what it has buffered
 * (possibly nothing), e.g. after a worker finished or a handler stopped
 * early. With a codec, buffered whole frames are delivered. Returns 0
 * when queued; a stale handle is dropped and counted. Thread: any. */
GNET_API int gnet_conn_wake_async(gnet_engine_t *eng, gnet_handle_t conn);

/* Use `codec` (NULL: none) for this connection from now on: bytes not yet
 * handed to on_traffic are decoded with it, and later writes are encoded
 * with it. Typically called in on_open; calling it from on_traffic
 * switches protocols after the current frame (e.g. after a handshake).
 * The codec must outlive the connection. Returns 0, GNET_ENOMEM, or
 * GNET_ECLOSED. Thread: owner loop. */
GNET_API int gnet_conn_set_codec(gnet_conn_t *c, const gnet_codec_t *codec);
/* This connection's decoder state (the codec's state_size bytes), or NULL:
 * lets on_traffic read what a custom decode recorded about the frame it is
 * delivering (e.g. a header field kept out of the payload view).
 * Thread: owner loop. */
GNET_API void *gnet_conn_codec_state(gnet_conn_t *c);

/* Resolve a handle to a live connection on the calling loop. Returns
 * GNET_ESTALE for a closed connection, GNET_ETHREAD when called off the
 * owning loop, GNET_EINVAL for a non-connection handle. */
GNET_API int gnet_conn_lookup(gnet_engine_t *eng, gnet_handle_t h,
    gnet_conn_t **out);

/* Completion of an asynchronous write, run on the connection's loop:
 * status 0 when the bytes were appended to the outbound buffer (c is the
 * connection), GNET_ECLOSED when the connection was gone (c is NULL), or
 * a refusal, nothing written and c the connection: the codec's (e.g.
 * GNET_EFRAMESIZE), GNET_EINVAL for gnet_conn_write_async to a listening UDP
 * socket or gnet_conn_sendto_async to anything but a UDP socket. */
typedef void (*gnet_write_cb)(gnet_conn_t *c, int status, void *cbdata);

/* Write to a connection from any thread: the bytes are copied now and
 * handed to the connection's actor as a message. `cb` may be NULL.
 * Returns 0 when queued (the callback reports the outcome), or
 * GNET_EINVAL / GNET_ENOMEM / GNET_ESHUTDOWN / GNET_EAGAIN, or
 * GNET_ESTALE when called on the connection's own loop after it closed;
 * when it returns an error the callback is not called. Thread: any. */
GNET_API int gnet_conn_write_async(gnet_engine_t *eng, gnet_handle_t conn,
    const void *data, size_t n, gnet_write_cb cb, void *cbdata);

/* Send one datagram to `to` from a UDP socket, from any thread (e.g. a
 * worker's reply to the client whose request it took): gnet_conn_sendto
 * by handle, with the bytes and the address copied now. A listening UDP
 * socket serves every peer, so gnet_conn_write_async to it has no destination
 * and is refused (status GNET_EINVAL); this is the call for it. Returns
 * as gnet_conn_write_async, and GNET_EINVAL at once for a missing or non-IP
 * address; the callback reports GNET_EINVAL for a socket that is not UDP
 * and GNET_EFRAMESIZE over 65507 bytes. Thread: any. */
GNET_API int gnet_conn_sendto_async(gnet_engine_t *eng, gnet_handle_t conn,
    const struct sockaddr *to, socklen_t tolen, const void *data, size_t n,
    gnet_write_cb cb, void *cbdata);

/* Close or abort a connection by handle, as a message. Returns 0 when
 * queued; a handle found stale on arrival is dropped and counted. Called
 * on the connection's own loop, a stale handle is reported at once as
 * GNET_ESTALE. Thread: any. */
GNET_API int gnet_conn_close_async(gnet_engine_t *eng, gnet_handle_t conn);
GNET_API int gnet_conn_abort_async(gnet_engine_t *eng, gnet_handle_t conn);

/* ------------------------------------------------------------------------
 * Outbound connections. A dialled connection is the same connection actor
 * as an accepted one -- same events, codecs, async writes, watermarks and
 * close semantics -- on a loop of the same engine, so a server connection
 * can open a backend connection on its own loop (a proxy) and talk to it
 * with plain function calls. The connect never blocks a loop: it
 * completes on the loop (EPOLLOUT + SO_ERROR) and is reported as on_open,
 * or as on_dial_error.
 */
typedef struct gnet_dial_options {
	size_t size;            /* sizeof(gnet_dial_options_t) */
	int loop;               /* loop index, or -1 for automatic (see
	                         * gnet_engine_dial); opts == NULL means automatic */
	int connect_timeout_ms; /* 0: 10 s; < 0: no timeout */
	const gnet_codec_t *codec; /* codec for this connection (NULL: the
	                         * engine's option codec) */
	void *ctx;              /* initial gnet_conn_context, and the ctx of
	                         * on_dial_error */
} gnet_dial_options_t;

/* Dial "tcp://host:port", "udp://host:port" (a connected UDP socket: each
 * datagram is one on_traffic, each write one datagram) or "unix://path".
 * `opts` may be NULL. The connection lives on opts->loop; called on a
 * loop with loop < 0 it stays on the calling loop, and from another
 * thread loop < 0 picks loops round-robin. *out (may be NULL) receives
 * the handle when known at once, i.e. when called on the chosen loop.
 * Returns 0 when the dial started (the outcome is on_open or
 * on_dial_error), or GNET_EADDR / GNET_ESCHEME / GNET_EINVAL (loop out of
 * range) / GNET_ESHUTDOWN. Called on the chosen loop, a connect that
 * fails at once (GNET_ECONNREFUSED, or GNET_ENOENT for a unix socket,
 * GNET_EAGAIN for a unix listener whose backlog is full) is returned here
 * rather than through on_dial_error. Writes made before on_open are kept and sent
 * once connected (dropped if the dial fails). Thread: any, from on_boot
 * on, until the engine stops. */
GNET_API int gnet_engine_dial(gnet_engine_t *eng, const char *addr,
    const gnet_dial_options_t *opts, gnet_handle_t *out);

/* Adopt a connected stream socket (TCP or Unix) into loop `loop` (-1:
 * round-robin) as a connection actor; on_open follows. The engine owns
 * fd from then on, even when this fails. Returns 0, GNET_EINVAL or
 * GNET_ESHUTDOWN. Thread: any, once the engine runs. */
GNET_API int gnet_engine_adopt(gnet_engine_t *eng, int fd, int loop, void *ctx);

/* 1 when the connection was dialled or adopted by the program, 0 when a
 * listener accepted it. Thread: owner loop. */
GNET_API int gnet_conn_is_outbound(const gnet_conn_t *c);

/* Stop (0) or resume (1) reading from c, independently of the watermarks:
 * e.g. a proxy pausing the client while the backend's output is above
 * its high watermark. Thread: owner loop. */
GNET_API int gnet_conn_set_reading(gnet_conn_t *c, int on);

/* A deadline ms milliseconds from now, after which on_deadline runs (or,
 * without it, the connection closes with GNET_ETIMEDOUT) -- however much
 * traffic arrives meanwhile, unlike idle_timeout_ms, which every byte
 * restarts. So a peer trickling a byte a second cannot hold the
 * connection past it (slowloris). Setting it again replaces the previous
 * one; ms = 0 clears it. One per connection. Returns 0, GNET_ECLOSED
 * once close has begun, GNET_EINVAL for ms over INT32_MAX, or
 * GNET_ENOMEM. Thread: owner loop. */
GNET_API int gnet_conn_set_deadline(gnet_conn_t *c, unsigned ms);

/* ------------------------------------------------------------------------
 * The blocking-worker pool: options.workers threads that may block (disk,
 * DNS, a database driver) so the loops never do. A job is a function run
 * on a pool thread; its result comes back as a message to the actor that
 * asked, typically a connection, which then writes it from on_message.
 */

/* Runs on a pool thread. Fill `reply` (type >= GNET_MSG_USER; type 0 is
 * turned into GNET_MSG_USER) -- it is sent to reply_to when fn returns.
 * If reply_to is gone by then the reply is dropped, counted and passed to
 * on_dropped, so free what it carries there too. */
typedef void (*gnet_job_fn)(void *arg, gnet_msg_t *reply);
/* Called instead of fn for a job still queued when the engine stops, so
 * arg can be freed. May be NULL. */
typedef void (*gnet_job_cancel_fn)(void *arg);

/* Queue a job. Never blocks and takes no lock, so a loop may call it
 * freely. Returns 0, GNET_EAGAIN when worker_queue jobs are already
 * waiting, GNET_ENOTSUP when the engine has no pool, GNET_ESTATE before
 * gnet_engine_run started it, GNET_ESHUTDOWN when it is stopping,
 * GNET_EINVAL for a NULL fn. Thread: any. */
GNET_API int gnet_pool_submit(gnet_engine_t *eng, gnet_handle_t reply_to,
    gnet_job_fn fn,
    gnet_job_cancel_fn cancel, void *arg);

/* gnet_pool_submit on behalf of connection c, with backpressure: when the
 * queue is full it returns GNET_EAGAIN and c stops reading until the pool
 * has room again, then c is woken (on_traffic runs again with its
 * buffered input, so leave the request unconsumed and retry there).
 * Thread: owner loop. */
GNET_API int gnet_conn_submit(gnet_conn_t *c, gnet_job_fn fn,
    gnet_job_cancel_fn cancel,
    void *arg);

/* ------------------------------------------------------------------------
 * Codecs. A codec turns a byte stream into frames and frames back into
 * bytes. It runs inline on the connection's loop as a stage of the
 * connection actor (a function call, never a message hop): decoding works
 * in place over the bytes read, copying only a partial frame that must
 * wait for more data, and each connection keeps its own decoder state.
 *
 * A gnet_codec_t is an immutable configuration: create it once, share it
 * between engines, loops and connections, and free it after the last
 * engine using it is freed. Thread: any, for every function below.
 *
 * Every codec has a max frame length (default GNET_CODEC_MAX_FRAME). A
 * frame above it, a negative adjusted length or a length that overflows
 * closes that connection: pending replies are still flushed, unread input
 * is dropped, and on_close receives GNET_EFRAMESIZE or GNET_EBADFRAME. A
 * peer that closes with part of a frame buffered gets GNET_ETRUNCATED.
 */
#define GNET_CODEC_MAX_FRAME ((size_t)16 << 20) /* 16 MiB */

/* Line based: frames end with "\n"; a "\r" before it is dropped too.
 * Encoding appends "\n". max_frame bounds the line without its ending
 * (0: the default). */
GNET_API int gnet_codec_new_line(gnet_codec_t **out, size_t max_frame);

/* Delimiter based: frames end with the byte sequence delim[0..dlen)
 * (1..64 bytes), which is stripped; encoding appends it. */
GNET_API int gnet_codec_new_delimiter(gnet_codec_t **out, const void *delim,
    size_t dlen,
    size_t max_frame);

/* Fixed length: every frame is exactly frame_len (> 0) bytes. Encoding
 * passes a payload through if its length is a multiple of frame_len and
 * returns GNET_EINVAL otherwise. */
GNET_API int gnet_codec_new_fixed(gnet_codec_t **out, size_t frame_len);

/* Length field based, with netty's LengthFieldBasedFrameDecoder and
 * LengthFieldPrepender semantics. Decoding: the frame is
 *   field_offset bytes | length field | adjusted length bytes
 * where adjusted length = field value + length_adjustment; the first
 * `strip` bytes of the frame are removed before on_traffic sees it.
 * Encoding writes the length field, then the payload; the field holds
 * payload length + encode_adjustment (+ field_length when
 * encode_includes_header). As with netty's prepender, encoding checks only
 * that the length fits the field, not max_frame (which bounds what this
 * side accepts). */
typedef struct gnet_length_field_config {
	size_t size;             /* sizeof(gnet_length_field_config_t) */
	int field_length;        /* 1, 2, 3, 4 or 8 bytes */
	int little_endian;       /* 0: big endian (network order), 1: little */
	size_t field_offset;     /* bytes before the length field */
	long length_adjustment;  /* added to the field value on decode */
	size_t strip;            /* initial bytes to strip from each frame,
	                          * at most the header (offset + field +
	                          * a positive adjustment) */
	int encode_includes_header;  /* the written length counts the field */
	long encode_adjustment;  /* added to the written length */
	size_t max_frame;        /* whole frame, header included; 0: default.
	                          * The header (offset + field + a positive
	                          * adjustment) must fit in it. */
} gnet_length_field_config_t;

GNET_API int gnet_codec_new_length_field(gnet_codec_t **out,
    const gnet_length_field_config_t *cfg);

/* RESP2 requests, as Redis reads them: multibulk arrays
 * ("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n") and inline commands ("GET k\n",
 * split at blanks, with Redis's quoting). A frame is one whole command's
 * bytes, to be split with gnet_resp_args. Encoding passes bytes through:
 * replies are RESP the caller already formatted.
 *
 * Two kinds of frame have length 0 and carry no command: input Redis
 * skips (an empty inline line, "*0", a negative count), which the caller
 * ignores too, and a protocol error, which gnet_resp_error names. After
 * an error every later decode consumes the whole input as another
 * zero-length frame, so the caller replies once, in its turn after the
 * replies it owes, and closes. The decoder keeps how far it parsed an
 * incomplete command in the connection's codec state (16 bytes), so a
 * command arriving in many reads is parsed once, and a bulk's payload is
 * counted, never scanned. One difference from Redis: a NUL is an
 * ordinary byte, where Redis's strchr would wait for a line end forever.
 * Limits (0 in a field: Redis's default): */
#ifndef GNET__RESP_LIMITS_STRUCT
#define GNET__RESP_LIMITS_STRUCT
struct gnet_resp_limits {
	size_t size;            /* sizeof(gnet_resp_limits_t) */
	size_t max_bulk_len;    /* longest argument, up to 4 GiB - 1;
	                         * 512 MiB, as Redis's proto-max-bulk-len */
	size_t max_args;        /* most arguments in one command, up to
	                         * INT_MAX (the default) */
	size_t max_inline_len;  /* most bytes buffered for an inline line or
	                         * a count line without its end ("too big"
	                         * errors), up to 4 GiB - 1; 64 KiB */
	size_t max_frame;       /* longest whole command, up to 4 GiB - 1;
	                         * 1 GiB, as client-query-buffer-limit. Over
	                         * it the connection closes with
	                         * GNET_EFRAMESIZE, without a reply, as Redis
	                         * closes a client over the limit -- as soon
	                         * as a header or the bytes buffered show it. */
};
#endif
typedef struct gnet_resp_limits gnet_resp_limits_t;

/* limits may be NULL (all defaults). Returns 0, GNET_EINVAL (a bad size
 * or a limit above what the codec can count), GNET_ENOMEM. */
GNET_API int gnet_codec_new_resp(gnet_codec_t **out,
    const gnet_resp_limits_t *limits);

/* One argument of a command. */
#ifndef GNET__RESP_ARG_STRUCT
#define GNET__RESP_ARG_STRUCT
struct gnet_resp_arg {
	const char *ptr;
	size_t len;
};
#endif
typedef struct gnet_resp_arg gnet_resp_arg_t;

/* Split a command frame decoded by the RESP codec into its arguments:
 * argv[0..min(argc, max)) are filled and argc is returned, so a caller
 * whose array was short can call again with a longer one. A multibulk
 * command's arguments point into the frame; an inline command's are
 * unquoted into scratch, which then needs `len` bytes (a short or NULL
 * scratch gives GNET_EINVAL). Returns 0 for a zero-length frame (and for
 * a blank line or a count <= 0, which the codec skips), and
 * GNET_EBADFRAME for bytes the codec would not produce as one command:
 * every header is checked, the limits are not. */
GNET_API long gnet_resp_args(const void *frame, size_t len,
    gnet_resp_arg_t *argv, size_t max, char *scratch, size_t scratch_len);

/* The protocol error the decoder found, as Redis words it without its
 * "-ERR " ("Protocol error: invalid bulk length"), or NULL (also for a
 * NULL state). `state` is the connection's codec state
 * (gnet_conn_codec_state). The string is static. In "expected '$', got
 * 'X'" X is the byte as it came: as Redis does when it sends an error,
 * turn a "\r" or "\n" in it into a space before replying (a NUL ends the
 * string there). */
GNET_API const char *gnet_resp_error(const void *state);

/* Custom codecs. A codec writes encoded bytes through a sink. */
typedef struct gnet_codec_sink gnet_codec_sink_t;
GNET_API int gnet_codec_sink_write(gnet_codec_sink_t *s, const void *p,
    size_t n);
GNET_API int gnet_codec_sink_writev(gnet_codec_sink_t *s,
    const struct iovec *iov,
    int iovcnt);

/* One decoded frame: the payload to hand to on_traffic and how many input
 * bytes the frame used (header, payload and trailer). */
#ifndef GNET__FRAME_STRUCT
#define GNET__FRAME_STRUCT
struct gnet_frame {
	const void *data; /* points into the input (or into decoder state) */
	size_t len;
	size_t consumed;  /* > 0, <= the input length */
};
#endif
typedef struct gnet_frame gnet_frame_t;

typedef struct gnet_codec_def {
	size_t size;        /* sizeof(gnet_codec_def_t) */
	/* Look for one frame at the start of in[0..n). Return 1 and fill *f
	 * when a whole frame is there, 0 when more bytes are needed, or a
	 * negative error code (GNET_EBADFRAME, GNET_EFRAMESIZE, ...), which
	 * closes the connection with that reason. `state` is this
	 * connection's state_size bytes, zeroed when the codec is attached;
	 * it keeps e.g. how far an incomplete frame was already scanned. The
	 * same input may be offered again with more bytes appended. */
	int (*decode)(void *cfg, void *state, const unsigned char *in, size_t n,
	    gnet_frame_t *f);
	/* Encode one frame whose payload is iov[0..iovcnt) (len bytes in all)
	 * by writing to `out`. Return 0 or a negative error code; on error
	 * everything written to `out` is discarded. */
	int (*encode)(void *cfg, gnet_codec_sink_t *out,
	    const struct iovec *iov,
	    int iovcnt, size_t len);
	/* Called by gnet_codec_free for cfg; may be NULL. */
	void (*free_cfg)(void *cfg);
	void *cfg;
	size_t state_size;  /* per-connection state bytes, 0..4096 */
	size_t max_frame;   /* 0: default. A frame that consumes more than
	                     * max_frame bytes, or a decode that still needs
	                     * more while more than max_frame are buffered,
	                     * fails with GNET_EFRAMESIZE. */
} gnet_codec_def_t;

/* Returns 0, GNET_EINVAL or GNET_ENOMEM. On failure def->cfg still
 * belongs to the caller (free_cfg is not called). */
GNET_API int gnet_codec_new_custom(gnet_codec_t **out,
    const gnet_codec_def_t *def);

/* Free a codec (and its cfg through free_cfg). NULL is ignored. */
GNET_API void gnet_codec_free(gnet_codec_t *codec);

/* The codec outside an engine: for tests, tools and clients that do their
 * own I/O. `state` must be gnet_codec_state_size() zeroed bytes kept per
 * stream. gnet_codec_decode returns as def.decode does, with the max frame
 * check applied. gnet_codec_encode writes the encoded frame into
 * out[0..cap) if it fits and returns its full length (like snprintf), or
 * a negative error code. */
GNET_API size_t gnet_codec_state_size(const gnet_codec_t *codec);
GNET_API size_t gnet_codec_max_frame(const gnet_codec_t *codec);
GNET_API int gnet_codec_decode(const gnet_codec_t *codec, void *state,
    const void *in,
    size_t n, gnet_frame_t *f);
GNET_API long gnet_codec_encode(const gnet_codec_t *codec, const void *payload,
    size_t n, void *out, size_t cap);

/* ------------------------------------------------------------------------
 * Actors. An actor is a behaviour plus state, owned by one loop. Its
 * receive function runs on that loop, one message at a time, in the order
 * each sender sent them. Connections are actors too: gnet_actor_send to a
 * connection handle reaches events.on_message.
 */
typedef struct gnet_actor_def {
	size_t size;        /* sizeof(gnet_actor_def_t) */
	void (*receive)(gnet_actor_t *self, const gnet_msg_t *m);
	/* Optional; runs once on the owner loop when the actor stops (by
	 * gnet_actor_stop, gnet_actor_stop_async or engine stop). */
	void (*on_stop)(gnet_actor_t *self);
	void *state;
	gnet_group_t *group;  /* the group it belongs to, or NULL */
	const char *name;     /* what inspectors call it (gnet-top's kind
	                       * column; at most 23 bytes shown); NULL: "actor".
	                       * Must outlive the actor. */
} gnet_actor_def_t;

/* Spawn an actor on loop `loop_index` and return its handle in *out.
 * Thread: setup (any loop index), or a loop thread spawning on its own
 * loop (loop_index = the calling loop, or -1 for "this loop"). Otherwise
 * GNET_ETHREAD. */
GNET_API int gnet_actor_spawn(gnet_engine_t *eng, int loop_index,
    const gnet_actor_def_t *def, gnet_handle_t *out);

/* Send a message to any actor or connection. The message is copied; its
 * `to` is set from `to`. Returns 0 when queued, GNET_ESTALE when the
 * destination is on the calling loop and already gone, GNET_EINVAL for a
 * handle of no loop or a type below GNET_MSG_USER, GNET_ESHUTDOWN when the
 * engine is not running, GNET_EAGAIN (foreign thread, NOWAIT policy, full
 * mailbox). A message to an actor that dies before delivery is dropped and
 * counted (see on_dropped). Messages from one sender to one receiver
 * arrive in order. Thread: any. */
GNET_API int gnet_actor_send(gnet_engine_t *eng, gnet_handle_t to,
    const gnet_msg_t *m);

/* Deliver m to an actor of the calling loop after delay_ms milliseconds,
 * through the loop's timer heap. Thread: owner loop of `to`. */
GNET_API int gnet_actor_send_after(gnet_engine_t *eng, gnet_handle_t to,
    const gnet_msg_t *m, uint64_t delay_ms);

/* Stop an actor by handle, as a message (on_stop runs on its loop).
 * Returns as gnet_conn_close_async does. Thread: any. */
GNET_API int gnet_actor_stop_async(gnet_engine_t *eng, gnet_handle_t actor);

/* Inside receive: */
/* Thread: owner loop, for these three. */
GNET_API void *gnet_actor_state(const gnet_actor_t *self);
GNET_API gnet_handle_t gnet_actor_handle(const gnet_actor_t *self);
GNET_API gnet_engine_t *gnet_actor_engine(const gnet_actor_t *self);
/* Stop this actor after the current message; later messages are dropped.
 * Thread: owner loop. */
GNET_API void gnet_actor_stop(gnet_actor_t *self);

/* Stop (on = 0) or resume (on = 1) taking messages: while off, messages
 * sent to the actor wait in its mailbox, in order, and are handled when it
 * resumes -- e.g. an actor waiting for a reply before it serves more
 * requests (Pony's muting, Akka's stash). The mailbox is not bounded
 * meanwhile: the senders' protocol must be. gnet_actor_stop_async
 * resumes a muted actor (its stop comes after the messages before it).
 * Takes effect after the
 * current message. gnet_actor_set_receiving: Thread: owner loop;
 * _async, by handle, as a message that overtakes the mailbox (a muted
 * actor cannot receive its own resume): Thread: any, returns as
 * gnet_actor_send. */
GNET_API void gnet_actor_set_receiving(gnet_actor_t *self, int on);
GNET_API int gnet_actor_set_receiving_async(gnet_engine_t *eng,
    gnet_handle_t actor, int on);

/* ------------------------------------------------------------------------
 * Ports. A port is an actor address for a thread the engine does not run
 * -- the main thread of another event loop, such as redis-server's -- so
 * loops can hand it work as messages and it can answer the same way,
 * without either side ever blocking on the other:
 *
 *     gnet_port_new(eng, &port);               // before gnet_engine_run
 *     watch gnet_port_fd(port) in the other loop; when it is readable:
 *         gnet_port_ack(port);
 *     and whenever that loop is about to wait (and after the ack):
 *         gnet_port_drain(port, 256, handle_one, ctx);
 *     handle_one answers with gnet_port_send(port, m->from, &reply);
 *
 * Messages reach the port as they reach any actor (gnet_actor_send to
 * gnet_port_handle, from a loop or any thread), from each sender in
 * order. The owner -- the thread that drains it -- is the only caller of
 * _ack, _drain and _send. Nothing is dropped on either side: a loop whose
 * ring to the port is full parks its messages (as between loops), and a
 * reply whose loop's ring is full waits in the port until a later drain.
 * An engine has at most 4 ports, and only while its loops plus its ports
 * number at most 64. Port k publishes the stats section "port<k>" (its
 * row 0): received, sent, waiting, parked -- what gnet-top shows of it.
 */
typedef struct gnet_port gnet_port_t;

/* Create a port of eng. Returns 0, GNET_ESTATE once gnet_engine_run
 * began, GNET_ELIMIT past the engine's ports, GNET_ENOMEM, or -errno from
 * eventfd. Thread: the engine's setup thread. */
GNET_API int gnet_port_new(gnet_engine_t *eng, gnet_port_t **out);

/* The port's handle, for senders. Thread: any. */
GNET_API gnet_handle_t gnet_port_handle(const gnet_port_t *p);

/* An eventfd, readable while mail may be waiting (level: it stays
 * readable until gnet_port_ack). Thread: any. */
GNET_API int gnet_port_fd(const gnet_port_t *p);

/* The fd was readable: clear it. The mail itself waits for the next
 * gnet_port_drain, so the owner chooses when work runs. Thread: owner. */
GNET_API void gnet_port_ack(gnet_port_t *p);

/* Hand up to `budget` waiting messages to fn, oldest first per sender,
 * and retry replies that found no room before. Cheap when nothing waits
 * (no system call), so it may run at every turn of the owner's loop. When
 * mail is left over -- past the budget, or replies still waiting for room
 * -- the fd is made readable again, so the owner comes back soon. Returns
 * the number of messages handed to fn. Thread: owner. */
typedef void (*gnet_port_fn)(void *udata, const gnet_msg_t *m);
GNET_API unsigned gnet_port_drain(gnet_port_t *p, unsigned budget,
    gnet_port_fn fn, void *udata);

/* Send m (type >= GNET_MSG_USER) to an actor or connection of a loop,
 * from the owner. Never blocks: when the loop's ring is full the message
 * waits in the port, in order, and goes with a later gnet_port_drain.
 * Returns 0, GNET_EINVAL (not a loop's handle, or a library type),
 * GNET_ESHUTDOWN once the engine stopped (m was not sent: free what it
 * carries), GNET_ENOMEM. Thread: owner. */
GNET_API int gnet_port_send(gnet_port_t *p, gnet_handle_t to,
    const gnet_msg_t *m);

/* Messages waiting in the port, both ways: undrained mail in, replies
 * not yet taken by their loops out. Thread: owner. */
GNET_API size_t gnet_port_waiting(const gnet_port_t *p);

/* Free a port of an engine that is not running (before gnet_engine_run,
 * or after it returned). Every message still in it, either way, is
 * handed to fn first (NULL: dropped), so what they carry can be freed.
 * gnet_engine_free frees the ports left, without a function. Thread:
 * owner. */
GNET_API void gnet_port_free(gnet_port_t *p, gnet_port_fn fn, void *udata);

/* ------------------------------------------------------------------------
 * Groups. A group gathers what one owner -- a module, for a host -- put
 * into an engine: listeners (gnet_listen_options_t.group), the
 * connections they accept, actors (gnet_actor_def_t.group). Closing it
 * ends them all, and waiting on it tells when no loop can call code the
 * owner gave any more: the point at which a host may unload a module.
 */

/* Create an empty group of eng. Thread: setup or the engine's control
 * thread (not a loop). */
GNET_API int gnet_group_new(gnet_engine_t *eng, gnet_group_t **out);

/* Begin ending every member: listeners stop accepting, connections close
 * as gnet_conn_close does (output flushed within linger_ms; on_close with
 * GNET_ESHUTDOWN), actors stop (on_stop runs), and nothing new joins.
 * When the engine is not running this is done before it returns.
 * Idempotent. Returns 0, or GNET_ETHREAD on a loop thread. Thread: any
 * but a loop. */
GNET_API int gnet_group_close(gnet_group_t *g);

/* Wait until the group is closed and no member is left, so no loop will
 * call into what the owner gave. Returns 0, or GNET_ETIMEDOUT after
 * timeout_ms (< 0: no limit). Thread: any but a loop. */
GNET_API int gnet_group_wait(gnet_group_t *g, int timeout_ms);

/* Members left (listening sockets, connections, actors). Thread: any. */
GNET_API int gnet_group_live(const gnet_group_t *g);

/* Free a group with no member left: GNET_ESTATE otherwise. A group may
 * outlive its engine, but then this is the only call it may take.
 * Thread: the one that created it. */
GNET_API int gnet_group_free(gnet_group_t *g);

/* Index of the loop the calling thread runs, or -1 for a foreign thread.
 * Thread: any. */
GNET_API int gnet_loop_current(void);

/* Optional log hook: the library never prints. level: 0 error, 1 warning,
 * 2 info. Thread: set before creating engines; called from any thread. */
typedef void (*gnet_log_fn)(int level, const char *msg);
GNET_API void gnet_log_set(gnet_log_fn fn);

#ifdef __cplusplus
}
#endif
#endif /* GNET_H */
