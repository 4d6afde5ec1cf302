/*
 * net/'s part of an engine: what it keeps per engine and per loop, its
 * message types, and the actor kinds it registers. Not a public header.
 *
 * net/ plugs into the kernel as one engine extension (gnet__net_ext,
 * net/engine.c) and owns four kinds of actor:
 *   connection  a TCP or Unix stream, accepted, dialled or adopted
 *               (net/conn.c);
 *   udp         a UDP socket, bound (a listener) or connected (dialled):
 *               the connection object with a datagram read path
 *               (net/udp.c);
 *   listener    a listening stream socket; its events accept
 *               (net/listener.c);
 *   dialer      one per loop: opens the connections handed to that loop
 *               -- accepted on another loop, dialled, or adopted
 *               (net/dial.c).
 *
 * Ownership: a gnet__net_loop_t is its loop's, like the loop itself; the
 * only fields other threads touch are `live` (the balancer reads it, the
 * acceptor raises it) and the published `stats`.
 */
#ifndef GNET_NET_NET_H
#define GNET_NET_NET_H

#include <netinet/in.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include "kernel/kernel.h"
#include "base/buf.h"

/* ---- message types: [GNET__NET_MSG_FIRST, GNET__NET_MSG_END) ---- */
enum {
	GNET__NET_MSG_FIRST = 16,
	GNET__MSG_ADOPT = GNET__NET_MSG_FIRST, /* to a dialer: a = fd,
	                                        * b = listener index */
	GNET__MSG_DIAL,            /* to a dialer: a = (gnet__dial_req_t *) */
	GNET__MSG_ASYNC_WRITE,     /* to a conn: a = (gnet__async_write_t *) */
	GNET__MSG_CLOSE,           /* to a conn */
	GNET__MSG_ABORT,           /* to a conn */
	GNET__MSG_WAKE,            /* to a conn: run on_traffic again */
	GNET__MSG_LINGER,          /* timer to a closing conn */
	GNET__MSG_IDLE,            /* timer to a conn: the idle check */
	GNET__MSG_CONNECT_TIMEOUT, /* timer to a dialling conn */
	GNET__MSG_LISTEN_RETRY,    /* timer to a listener: watch again */
	GNET__MSG_SOFT_LIMIT,      /* timer to a conn over outbound_soft_limit */
	GNET__MSG_DEADLINE,        /* timer to a conn: its deadline may be due */
	GNET__NET_MSG_END
};

/* ---- defaults of the options net/ reads (gnet_options_t has them) ---- */
#define GNET__DEFAULT_READ_CAP (64u * 1024)
#define GNET__DEFAULT_HIGH_WM (1024u * 1024)
#define GNET__DEFAULT_LOW_WM (256u * 1024)
#define GNET__DEFAULT_MAX_INBOUND (64u * 1024 * 1024)
#define GNET__DEFAULT_MAX_OUTBOUND (256u * 1024 * 1024)
/* Redis's soft limit time for pub/sub clients. */
#define GNET__DEFAULT_SOFT_MS 60000u
/* max_buffered: a quarter of the machine's memory, not below this. */
#define GNET__MIN_DEFAULT_BUFFERED ((size_t)64 * 1024 * 1024)
#define GNET__DEFAULT_BACKLOG 1024
/* 64 Ki parked messages is ~4 MiB of nodes per loop: deep enough to ride
 * out a peer loop's burst, small enough to bound memory. */
#define GNET__DEFAULT_MAX_PARKED 65536u
/* Largest IPv4 UDP payload (65535 - 8 - 20): any datagram fits whole. */
#define GNET__DEFAULT_UDP_DATAGRAM 65507u
/* Largest read buffer an engine may ask for. */
#define GNET__MAX_READ_CAP (1u << 30)
/* Parked readers resume when the backlog falls to this fraction of
 * max_parked, so they do not flap at the limit. */
#define GNET__PARKED_RESUME_DIVISOR 4

#define GNET__MAX_LISTENERS 16

/* What gnet_conn_write_async carries to the connection's loop. */
typedef struct gnet__async_write {
	gnet_write_cb cb;
	void *cbdata;
	socklen_t tolen;             /* gnet_conn_sendto_async: the address; else 0 */
	struct sockaddr_in6 to;      /* (IPv4 or IPv6: all UDP sends to) */
	size_t len;
	unsigned char data[];
} gnet__async_write_t;

/* How connections behave: a listener's own (gnet_listen_options_t), or
 * the engine's for every other connection. Never changes once a
 * connection points at it. */
typedef struct gnet__behaviour {
	gnet_events_t ev;
	void *udata;
	const gnet_codec_t *codec;
	size_t state_size;       /* gnet_conn_state bytes */
	struct gnet_group *group;
	/* A listener's: its connections open or on their way to a loop
	 * (+1 at accept, -1 when they close or are refused), and its
	 * max_conns (0: none). NULL and 0 for dialled connections. */
	atomic_uint *conns;
	unsigned max_conns;
} gnet__behaviour_t;

/* One listen address. Stream listeners have one socket on loop 0 (the
 * acceptor) or, with reuseport, one per loop; a UDP listener has one
 * socket served by one loop, or one per loop with reuseport, each wrapped
 * in a connection object. */
typedef struct gnet__listener {
	int net;                 /* enum gnet__net */
	int nfds;                /* sockets in use: 1, or nloops (reuseport) */
	int fds[GNET_MAX_LOOPS];
	int loop_of[GNET_MAX_LOOPS]; /* serving loop of each socket */
	gnet_handle_t handles[GNET_MAX_LOOPS]; /* slot on that loop */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	/* unix:// -- the file we created, removed at close if unchanged. */
	char path[108];
	unsigned long long dev, ino;
	gnet__behaviour_t bh;    /* its connections' */
	atomic_uint conns;       /* bh.conns points here */
} gnet__listener_t;

/* net/'s published row of a loop (kernel/stats.h's rules): its row of
 * the "net" counter section (gnet_counters_new), in the order of
 * GNET__NET_COUNTER_NAMES. */
typedef struct gnet__net_stats {
	_Atomic uint64_t conns, accepted, udp_in, udp_out, udp_dropped,
	    syscalls_io, bytes_in, bytes_out, buffered, budget_closes,
	    conns_refused;
} gnet__net_stats_t;
#define GNET__NET_COUNTER_NAMES { "conns", "accepted", "udp_in", "udp_out", \
	"udp_dropped", "syscalls_io", "bytes_in", "bytes_out", "buffered", \
	"budget_closes", "conns_refused" }

/* net/'s state of one engine. */
typedef struct gnet__net_engine {
	gnet_engine_t *eng;
	const gnet_options_t *opt;
	gnet__behaviour_t bh;    /* connections of no listener's own */
	gnet__listener_t listeners[GNET__MAX_LISTENERS];
	int nlisteners;
	unsigned rr_next;        /* the acceptor's round robin (loop 0 only) */
	atomic_uint dial_rr;     /* round robin for dials from other threads */
	gnet_counters_t *counters; /* the "net" section: each loop's stats */
} gnet__net_t;

struct gnet_conn;

/* net/'s state of one loop. */
typedef struct gnet__net_loop {
	gnet__loop_t *loop;
	gnet__net_t *net;

	unsigned char *scratch;  /* the shared read buffer */
	size_t scratch_cap;
	struct gnet_conn *dirty; /* conns with output or a close to finish */
	/* A handler's write held by reference to its bytes in the read's
	 * buffer (scratch, or with a completion backend the receive's),
	 * sent right after the read's handlers return (net/conn_write.c). */
	struct {
		struct gnet_conn *conn; /* NULL: nothing held */
		const unsigned char *p;
		size_t len;
		const unsigned char *lo; /* the read's buffer */
		size_t cap;
		bool open;              /* a read's handlers are running */
	} held;
	/* Ring mode: held writes handed to the poller's send, until their
	 * completion says how much of them went (net/conn_write.c). */
	struct gnet__held_send {
		gnet_handle_t h;
		const unsigned char *p;
		size_t len;
	} *held_sends;
	size_t n_held_sends, cap_held_sends;
	/* Connections that stopped reading because this loop's outbox held
	 * max_parked messages; handles, since they may close meanwhile. */
	gnet_handle_t *parked_readers;
	size_t n_parked_readers, cap_parked_readers;
	/* Stream connections whose last read took its whole byte budget:
	 * edge-triggered, they get no new event for bytes already waiting,
	 * so the loop reads them again next iteration (net/conn.c). */
	gnet_handle_t *rereads;
	size_t n_rereads, cap_rereads;
	/* The loop's poller receives and sends itself (a completion
	 * backend, kernel/poller.h): streams read from its buffers, and
	 * their output is sent through it, gathered in sends until the
	 * flush pass ends (net/conn_flush.c). */
	bool ring;
	gnet_handle_t *sends;
	size_t n_sends, cap_sends;
	/* Ring mode: connections holding bytes received while they were not
	 * reading, with how many of their buffered bytes (the last ones) the
	 * handler has not seen yet (net/conn_read.c). */
	struct gnet__unseen {
		gnet_handle_t h;
		size_t n;
	} *unseen;
	size_t n_unseen, cap_unseen;
	/* The turn hooks' bits (kernel/kernel.h). */
	uint32_t flush_bit, reread_bit, parked_bit, budget_bit;
	uint64_t max_parked;     /* options.max_parked, read on every event */

	/* Free one-block buffers for reuse (base/buf.h), bound while the
	 * loop's thread runs. */
	gnet__blockcache_t *blocks;
	/* recvmmsg batch buffers, allocated when the loop serves UDP. */
	struct gnet__udp_batch *udp;
	gnet_handle_t dialer;    /* this loop's dialer actor */
	/* Connections handed to this loop and not yet closed: written by the
	 * acceptor (+1 at hand-off) and by this loop (-1 at close), read by
	 * the least-connections balancer. */
	atomic_int live;
	gnet__net_stats_t *stats; /* this loop writes, anyone reads */
	/* Counted privately (a plain add on every read and send) and
	 * published to stats at each stats sweep. */
	uint64_t bytes_in, bytes_out;
} __attribute__((aligned(GNET__CACHE_PAIR))) gnet__net_loop_t;

/* net/engine.c composes every engine of these extensions, in this order
 * (which is the order of their hooks). net/ knows its own place, so it
 * finds its state with one load even on the read path. */
enum { GNET__EXT_TICKER, GNET__EXT_POOL, GNET__EXT_NET, GNET__EXTS };
extern const gnet__ext_t gnet__net_ext;
static inline gnet__net_t *
gnet__net_of(const gnet_engine_t *eng)
{
	return eng->ext[GNET__EXT_NET];
}
static inline gnet__net_loop_t *
gnet__net_loop(const gnet__loop_t *l)
{
	return l->ext[GNET__EXT_NET];
}
/* Do readers wait, as this loop holds max_parked messages for peer loops
 * that are not keeping up? */
static inline bool
gnet__net_readers_parked(const gnet__loop_t *l, const gnet__net_loop_t *nl)
{
	return gnet__loop_backlog(l) >= nl->max_parked;
}

/* The kinds. */
extern const gnet__kind_t gnet__conn_kind;     /* net/conn.c */
extern const gnet__kind_t gnet__udp_kind;      /* net/udp.c */
extern const gnet__kind_t gnet__listener_kind; /* net/listener.c */
extern const gnet__kind_t gnet__dialer_kind;   /* net/dial.c */

/* net/conn.c: the loop-wide side of connections */
/* The kinds' shared parts: a message for a connection or UDP socket, and
 * the end of one whose loop is ending (kernel/kind.h). */
void gnet__conn_receive(gnet__loop_t *l, void *obj, const gnet_msg_t *m);
void gnet__conn_stop(gnet__loop_t *l, void *obj);
/* The kind's group_close: a connection of group g closes gracefully
 * (GNET_ESHUTDOWN); before the engine runs (a UDP listener) it ends at
 * once. */
void gnet__conn_group_close(gnet__loop_t *l, void *obj, struct gnet_group *g);
void gnet__conns_flush(gnet__loop_t *l, void *nl);
void gnet__conns_reread(gnet__loop_t *l, void *nl);
void gnet__conns_resume_parked(gnet__loop_t *l, void *nl);
/* A connection of a listener with this behaviour is gone (closed, or
 * refused on its way): it no longer counts against max_conns. */
static inline void
gnet__listener_conn_gone(const gnet__behaviour_t *bh)
{
	/* Relaxed: a count, ordered with nothing else; the acceptor's
	 * fetch_add sees every earlier decrement in the variable's own
	 * modification order. */
	if (bh->conns != NULL)
		atomic_fetch_sub_explicit(bh->conns, 1, memory_order_relaxed);
}

/* net/budget.c: hook the loop's buffers (base/buf.h, grown) to its
 * budget check, and the FLUSH hook that checks max_buffered. */
void gnet__budget_init(gnet__net_loop_t *nl);
void gnet__budget_check(gnet__loop_t *l, void *arg);

/* Close (reason) every connection of loop l; GNET_ELINGER aborts. */
void gnet__conns_close_all(gnet__loop_t *l, int reason);
/* Open the connection accepted on fd by listener `listener`. peer is
 * accept4's address when the accepting loop adopts it, else NULL. */
void gnet__conn_adopt(gnet__net_loop_t *nl, int fd, int listener,
    const struct sockaddr *peer, socklen_t peer_len);

/* net/udp.c */
/* Wrap a bound UDP socket of listener `listener` in a connection object
 * on loop l (setup time). */
int gnet__udp_attach(gnet__net_loop_t *nl, int fd, int listener,
    gnet_handle_t *out);
void gnet__udp_free_batch(gnet__net_loop_t *nl);

/* net/listener.c */
/* Close the listening sockets served by loop l (all, when l is NULL:
 * after the loops have exited or when none ran). */
void gnet__listeners_close(gnet__net_t *net, gnet__loop_t *l);

/* net/dial.c */
void gnet__dialer_dropped(gnet_engine_t *eng, gnet__loop_t *l,
    const gnet_msg_t *m);

#endif
