/*
 * Kernel internals: the engine, its loops (actor schedulers) and the
 * per-loop actor table. Shared by kernel/ and net/; not a public header.
 *
 * Ownership: everything in a gnet__loop_t except its inbox producer side,
 * its waker and its published stats is touched only by the loop's own
 * thread. Other threads reach a loop only through gnet__send().
 */
#ifndef GNET_KERNEL_KERNEL_H
#define GNET_KERNEL_KERNEL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "gnet.h"
#include "base/abi.h"
#include "base/log.h"
#include "mailbox/inbox.h"
#include "mailbox/msg.h"
#include "mailbox/outbox.h"
#include "mailbox/waker.h"
#include "kernel/handle.h"
#include "kernel/timer_heap.h"

/* ---- tunables, each with the reason for its value ---- */

/* Messages an actor handles per turn before the next actor runs: keeps one
 * chatty actor from starving the rest (Pony uses 100, BEAM ~4000
 * reductions; 64 keeps a turn well under a microsecond per message). */
#define GNET__ACTOR_BUDGET 64
/* Messages drained from each inbox ring per iteration, so I/O is polled
 * again soon even under a message flood. */
#define GNET__INBOX_BUDGET 256
/* Default SPSC ring slots (255 usable); the foreign MPSC ring is 4x. */
#define GNET__DEFAULT_RING 256u
/* epoll events per wait (h2o uses 256). */
#define GNET__MAX_EVENTS 256
/* A consumer that drains a full ring wakes its producer, so parked
 * overflow moves as soon as there is room; this re-poll interval (ms) is
 * only a backstop should a wakeup ever be missed. */
#define GNET__OVERFLOW_RETRY_MS 1
/* Default option values (gnet_options_t documents them). */
#define GNET__DEFAULT_READ_CAP (64u * 1024)
#define GNET__DEFAULT_HIGH_WM (1024u * 1024)
#define GNET__DEFAULT_LOW_WM (256u * 1024)
#define GNET__DEFAULT_MAX_INBOUND (64u * 1024 * 1024)
#define GNET__DEFAULT_LINGER_MS 5000
#define GNET__DEFAULT_BACKLOG 1024
/* 64 Ki parked messages is ~4 MiB of nodes per loop: deep enough to ride
 * out a peer loop's burst, small enough to bound memory. */
#define GNET__DEFAULT_MAX_PARKED 65536u
/* Largest IPv4 UDP payload (65535 - 8 - 20): any datagram fits whole. */
#define GNET__DEFAULT_UDP_DATAGRAM 65507u
/* Worker threads an engine may ask for: a pool is for blocking calls, and
 * more threads than this only thrash. */
#define GNET__MAX_WORKERS 1024

/* Kernel message types (below GNET_MSG_USER). */
enum {
	GNET__MSG_ADOPT = 1,   /* to a loop: a = fd, b = listener index */
	GNET__MSG_ASYNC_WRITE, /* to a conn: a = (gnet__async_write_t *) */
	GNET__MSG_CLOSE,       /* to a conn */
	GNET__MSG_ABORT,       /* to a conn */
	GNET__MSG_STOP,        /* to an actor */
	GNET__MSG_LINGER,      /* timer to a conn */
	GNET__MSG_LISTEN_RETRY, /* timer to a loop: a = listener index, b = fd */
	GNET__MSG_WAKE,        /* to a conn: run on_traffic again */
	GNET__MSG_IDLE,        /* timer to a conn: check the idle timeout */
	GNET__MSG_POOL_RESUME, /* to a conn: the worker pool has room again */
	GNET__MSG_TICK,        /* to the ticker actor */
	GNET__MSG_DIAL,        /* to a loop: a = (gnet__dial_req_t *) */
	GNET__MSG_CONNECT_TIMEOUT /* timer to a dialling conn */
};

typedef struct gnet__async_write {
	gnet_write_cb cb;
	void *cbdata;
	socklen_t tolen;             /* gnet_conn_sendto_async: the address; else 0 */
	struct sockaddr_in6 to;      /* (IPv4 or IPv6: all UDP sends to) */
	size_t len;
	unsigned char data[];
} gnet__async_write_t;

enum gnet__slot_kind {
	GNET__SLOT_FREE = 0,
	GNET__SLOT_LOOP,     /* slot 0: the loop itself (kernel messages) */
	GNET__SLOT_ACTOR,    /* a user actor */
	GNET__SLOT_CONN,     /* a connection actor */
	GNET__SLOT_LISTENER  /* a listening socket (epoll target only) */
};

typedef struct gnet__slot {
	uint32_t gen;
	uint8_t kind;
	uint8_t queued;      /* on the run queue */
	uint32_t next;       /* free list or run queue link */
	/* A connection's socket when its next readable event may read it
	 * before the connection object is touched (net/conn.c keeps it;
	 * gnet__conn_event), else -1. It sits in what was padding. */
	int read_fd;
	gnet__fifo_t mbox;   /* the actor's mailbox */
	void *obj;           /* gnet_actor_t*, gnet_conn_t* or listener */
} gnet__slot_t;

struct gnet_actor {
	gnet_actor_def_t def;
	gnet_handle_t handle;
	struct gnet__loop *loop;
	bool stopping;
};

/* Counters written by the owner loop only (relaxed atomic stores, so a
 * reader on another thread never tears a value and TSan agrees). */
typedef struct gnet__stats {
	_Atomic uint64_t iterations, msgs_in, msgs_out, msgs_dropped,
	    mailbox_hwm, overflowed, wakeups, conns, actors, accepted,
	    udp_in, udp_out, udp_dropped, syscalls_io;
} __attribute__((aligned(128))) gnet__stats_t;

#define GNET__STAT_ADD(loop, field, n)                                     \
	atomic_store_explicit(&(loop)->stats.field,                        \
	    atomic_load_explicit(&(loop)->stats.field, memory_order_relaxed) \
	    + (n), memory_order_relaxed)
#define GNET__STAT_SET(loop, field, v) \
	atomic_store_explicit(&(loop)->stats.field, (v), memory_order_relaxed)
#define GNET__STAT_GET(loop, field) \
	atomic_load_explicit(&(loop)->stats.field, memory_order_relaxed)

typedef struct gnet__loop {
	gnet_engine_t *eng;
	int index;
	int epfd;
	pthread_t thread;
	int cpu;                 /* pinned CPU or -1 */

	gnet__waker_t waker;     /* touched by producers */
	gnet__inbox_t inbox;     /* producers push, this loop pops */
	gnet__stats_t stats;     /* this loop writes, anyone reads */

	gnet__outbox_t outbox;
	gnet__msgpool_t pool;
	gnet__timer_heap_t timers;

	gnet__slot_t *slots;
	uint32_t nslots, cap_slots;
	uint32_t free_head;      /* UINT32_MAX: none */
	uint32_t runq_head, runq_tail;

	unsigned char *scratch;  /* the shared read buffer */
	size_t scratch_cap;
	struct gnet_conn *dirty; /* conns with output or a close to finish */
	/* A handler's write held by reference to its bytes in scratch,
	 * sent right after the read's handlers return (net/conn_write.c). */
	struct {
		struct gnet_conn *conn; /* NULL: nothing held */
		const unsigned char *p;
		size_t len;
		bool open;              /* a read's handlers are running */
	} held;
	/* Connections that stopped reading because this loop's outbox held
	 * max_parked messages; handles, since they may close meanwhile. */
	gnet_handle_t *parked_readers;
	size_t n_parked_readers, cap_parked_readers;
	/* Stream connections whose last read took its whole byte budget:
	 * edge-triggered, they get no new event for bytes already waiting,
	 * so the loop reads them again next iteration (net/conn.c). */
	gnet_handle_t *rereads;
	size_t n_rereads, cap_rereads;

	/* Free one-block buffers for reuse (base/buf.h), bound while the
	 * loop's thread runs. */
	struct gnet__blockcache *blocks;
	/* recvmmsg batch buffers, allocated when the loop serves UDP. */
	struct gnet__udp_batch *udp;
	/* Connections handed to this loop and not yet closed: written by the
	 * acceptor (+1 at hand-off) and by this loop (-1 at close), read by
	 * the least-connections balancer. */
	atomic_int live;

	uint64_t now_ns;
	bool stopping;           /* draining connections before exit */
	uint64_t stop_deadline_ns;
} gnet__loop_t;

#define GNET__NO_SLOT UINT32_MAX

enum gnet__engine_state {
	GNET__ENG_NEW = 0,
	GNET__ENG_RUNNING,
	GNET__ENG_STOPPING,
	GNET__ENG_STOPPED
};

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
} gnet__listener_t;

#define GNET__MAX_LISTENERS 16

struct gnet_engine {
	gnet_events_t ev;
	gnet_options_t opt;      /* with defaults filled in */
	void *udata;
	int nloops;
	gnet__loop_t **loops;
	gnet__inbox_t **inboxes; /* [nloops], for outbox flushes */

	gnet__listener_t listeners[GNET__MAX_LISTENERS];
	int nlisteners;
	unsigned rr_next;        /* acceptor loop only */
	struct gnet__pool *pool; /* blocking workers, or NULL */
	atomic_uint dial_rr;     /* round-robin for dials from other threads */
	gnet_handle_t ticker;    /* the ticker actor, or GNET_HANDLE_NONE */

	atomic_int state;
	atomic_int stop_requested;
	atomic_int senders;      /* foreign sends in flight (see gnet__send) */
};

/* Thread-local: the loop this thread runs, or NULL. Every connection
 * call checks it (the thread rule), so it uses the initial-exec TLS model:
 * one %fs-relative load, where libgnet.so's default model called
 * __tls_get_addr (base/buf.c's block cache pointer does the same). The
 * price is a few bytes of static TLS, which glibc reserves for exactly
 * this even when the library is loaded with dlopen. */
#define GNET__TLS_IE __attribute__((tls_model("initial-exec")))
extern _Thread_local gnet__loop_t *gnet__tls_loop GNET__TLS_IE;

static inline gnet__loop_t *
gnet__self_loop(const gnet_engine_t *eng)
{
	gnet__loop_t *l = gnet__tls_loop;
	return (l != NULL && l->eng == eng) ? l : NULL;
}

static inline uint64_t
gnet__loop_handle(const gnet__loop_t *l)
{
	return gnet__handle_make((unsigned)l->index, 0, 1);
}

/* kernel/loop.c */
int gnet__loop_new(gnet_engine_t *eng, int index, gnet__loop_t **out);
void gnet__loop_free(gnet__loop_t *l);
void *gnet__loop_main(void *arg);
uint64_t gnet__now_ns(void);

/* kernel/actor.c: the actor table */
int gnet__slot_alloc(gnet__loop_t *l, uint8_t kind, void *obj, gnet_handle_t *out);
void gnet__slot_free(gnet__loop_t *l, uint32_t slot);
/* The live slot a handle names, or NULL (freed, reused, out of range).
 * Inline: every I/O event looks its connection up. */
static inline gnet__slot_t *
gnet__slot_lookup(gnet__loop_t *l, gnet_handle_t h)
{
	uint32_t i = gnet__handle_slot(h);

	if (i >= l->nslots)
		return NULL;
	if (l->slots[i].gen != gnet__handle_gen(h) ||
	    l->slots[i].kind == GNET__SLOT_FREE)
		return NULL;
	return &l->slots[i];
}
void gnet__deliver_local(gnet__loop_t *l, const gnet_msg_t *m);
void gnet__run_actors(gnet__loop_t *l);
void gnet__stop_all_actors(gnet__loop_t *l);

/* kernel/send.c */
int gnet__send(gnet_engine_t *eng, const gnet_msg_t *m);
void gnet__msg_dropped(gnet_engine_t *eng, gnet__loop_t *l, const gnet_msg_t *m);


/* net/ hooks the kernel calls */
void gnet__conn_receive(struct gnet_conn *c, const gnet_msg_t *m);
void gnet__conn_event(gnet__loop_t *l, gnet__slot_t *s, uint32_t events);
/* Open the connection accepted on fd by listener `listener`. peer is
 * accept4's address when the accepting loop adopts it, else NULL. */
void gnet__conn_adopt(gnet__loop_t *l, int fd, int listener,
    const struct sockaddr *peer, socklen_t peer_len);
/* Wrap a bound UDP socket of listener `listener` in a connection object on
 * loop l (setup time). */
int gnet__udp_attach(gnet__loop_t *l, int fd, int listener, gnet_handle_t *out);
void gnet__udp_free_batch(gnet__loop_t *l);
/* net/dial.c: a DIAL message reached loop l; and one that was dropped. */
void gnet__dial_receive(gnet__loop_t *l, void *req);
void gnet__dial_dropped(gnet_engine_t *eng, void *req);
void gnet__conns_flush(gnet__loop_t *l);
void gnet__conns_close_all(gnet__loop_t *l, int reason);
/* Free connection objects left on a loop that never ran. */
void gnet__conns_destroy(gnet__loop_t *l);
void gnet__conns_resume_parked(gnet__loop_t *l);
/* Read again the connections whose last read used its whole budget. */
void gnet__conns_reread(gnet__loop_t *l);
void gnet__listener_accept(gnet__loop_t *l, gnet__listener_t *ls);
void gnet__listener_resume(gnet__loop_t *l, int index, int fd);
/* Close the listening sockets served by loop l (all, when l is NULL:
 * after the loops have exited). */
void gnet__listeners_close(gnet_engine_t *eng, gnet__loop_t *l);

/* actors/ hooks */
int gnet__pool_start(gnet_engine_t *eng);
void gnet__pool_stop(gnet_engine_t *eng);
void gnet__pool_free(gnet_engine_t *eng);
int gnet__ticker_spawn(gnet_engine_t *eng);
void gnet__pool_pass_on(gnet_engine_t *eng);
void gnet__pool_forget(gnet_engine_t *eng, gnet_handle_t h);

#endif
