/*
 * The connection actor: state shared by net/conn.c (I/O, close) and
 * net/conn_api.c (the public functions). Not a public header.
 */
#ifndef GNET_NET_CONN_H
#define GNET_NET_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include "base/buf.h"
#include "codecs/codec.h"
#include "kernel/group.h"
#include "net/net.h"

/*
 * A connection's life. It only ever moves down this list, and only along
 * the arrows:
 *
 *   CONNECTING --connected--> OPEN --close--> CLOSING --drained--> CLOSED
 *        |                      |                |                   ^
 *        +--fail, close---------+--abort---------+--> ABORTING ------+
 *
 *   CONNECTING  dialled or adopted, not yet open: only writability is
 *               watched, and writes wait
 *   OPEN        reading and writing (a UDP socket is OPEN all its life)
 *   CLOSING     close begun: writes refused, output draining within
 *               linger_ms
 *   ABORTING    output given up: at the next flush the connection is reset
 *               (or a dial that never connected ends)
 *   CLOSED      its end is reported; the object is freed at once
 * Each transition is made in one function: gnet__conn_connected,
 * gnet__conn_begin_close, gnet__conn_abort, gnet__conn_finish -- but for
 * a send that finds the peer gone, which aborts and finishes on the spot
 * (net/conn_flush.c), as nothing more can be delivered.
 */
enum gnet__conn_state {
	GNET__CS_CONNECTING,
	GNET__CS_OPEN,
	GNET__CS_CLOSING,
	GNET__CS_ABORTING,
	GNET__CS_CLOSED
};

/* Everything else a connection is, by group. */
enum {
	/* What it is. */
	GNET__C_UDP = 1u << 0,          /* a UDP socket, not a stream */
	GNET__C_OUTBOUND = 1u << 1,     /* dialled or adopted by the program */
	/* on_open ran (so on_close is owed, and it counts in stats.conns). A
	 * UDP listener and a dial that failed never open. */
	GNET__C_OPENED = 1u << 2,
	/* Why an OPEN connection is not reading (GNET__C_READ_BLOCKERS). */
	GNET__C_PAUSED = 1u << 3,       /* output above the high watermark */
	GNET__C_USER_PAUSED = 1u << 4,  /* gnet_conn_set_reading(c, 0) */
	GNET__C_PARKED = 1u << 5,       /* the loop's outbox to peers is full */
	GNET__C_POOL_WAIT = 1u << 6,    /* the worker queue was full */
	GNET__C_PEER_EOF = 1u << 7,     /* the peer shut down its write side */
	/* Output is waiting for the socket: writability is watched. */
	GNET__C_OUT_ARMED = 1u << 8,
	/* Lists and timers it is on. */
	GNET__C_DIRTY = 1u << 9,        /* the loop's dirty list (a flush owed) */
	GNET__C_REREAD = 1u << 10,      /* the loop's re-read list */
	GNET__C_LINGER_SET = 1u << 11,  /* the linger timer */
	GNET__C_IDLE_SET = 1u << 12,    /* the idle timer */
	/* What its readable view (rp, rlen) shows. */
	GNET__C_VIEW_SCRATCH = 1u << 13, /* the loop's scratch buffer */
	GNET__C_IN_FRAME = 1u << 14,    /* one decoded frame or datagram */
	/* How its socket is watched and used. */
	GNET__C_LEVEL = 1u << 15,       /* level-triggered after all (net/conn.c) */
	GNET__C_HUP_SEEN = 1u << 16,    /* the poller saw the peer shut down or fail */
	GNET__C_NO_GSO = 1u << 17,      /* UDP: the kernel refused a GSO send */
	/* The outbound soft limit (net/conn_write.c): its timer is set, and
	 * the output has been at or below the limit since. */
	GNET__C_SOFT_SET = 1u << 18,
	GNET__C_SOFT_DIPPED = 1u << 19,
	/* gnet_conn_set_deadline (net/conn_api.c): a deadline is set, and a
	 * timer for it is on the loop's heap. */
	GNET__C_DEADLINE_SET = 1u << 20,
	GNET__C_DEADLINE_TIMER = 1u << 21,
	/* A completion backend (net/conn_read.c, conn_flush.c): bytes were
	 * received while the connection was not reading, kept in `in`
	 * unseen by its handler; and a send is in the ring, owed a
	 * completion. */
	GNET__C_RECV_HELD = 1u << 22,
	GNET__C_SEND_PENDING = 1u << 23,
	/* The peer's FIN came behind such unseen bytes: it is acted on once
	 * the handler has seen them. */
	GNET__C_FIN_HELD = 1u << 24,
	/* Its send in the ring is a held write (nl->held_sends), not the
	 * outbound buffer's bytes. */
	GNET__C_SEND_HELD = 1u << 25
};

/* Any of these keeps an OPEN connection from reading. */
#define GNET__C_READ_BLOCKERS (GNET__C_PAUSED | GNET__C_USER_PAUSED | \
	GNET__C_PARKED | GNET__C_POOL_WAIT | GNET__C_PEER_EOF)
/* What a flush must look at even when no output is queued: armed
 * writability to disarm, a reason to stop or resume reading, or a UDP
 * socket's own flush (flush_is_noop in net/conn.c). */
#define GNET__C_FLUSH_WORK (GNET__C_OUT_ARMED | GNET__C_UDP | \
	GNET__C_READ_BLOCKERS)

struct gnet_conn {
	/* What every read and write touches comes first, in the first two
	 * cache lines of the object (jemalloc's 256-byte class is 256-byte
	 * aligned): with 1000 connections the hot set is what stays cached. */
	gnet__loop_t *loop;
	gnet__net_loop_t *nl;   /* net/'s state of that loop */
	const gnet__behaviour_t *bh; /* its callbacks, udata, state size */
	gnet_handle_t handle;
	int fd;
	unsigned flags;
	uint16_t ev_mask;       /* GNET__POLL_IN/OUT registered with the poller */
	uint8_t state;          /* enum gnet__conn_state */
	int close_reason;

	/* The readable view: either the loop's scratch buffer (during
	 * on_traffic, when nothing was buffered before) or `in`. */
	const unsigned char *rp;
	size_t rlen;
	gnet__buf_t in;         /* unconsumed inbound bytes; freed when empty */
	gnet__buf_t out;        /* pending outbound bytes */
	const gnet_codec_t *codec;
	uint64_t last_io_ns;    /* last read or write, for the idle timeout */

	struct gnet_conn *dirty_next;
	void *ctx;
	/* The codec stage: decoder state inline when small (built-ins), so
	 * attaching one allocates nothing. */
	void *codec_state;
	uint64_t codec_inline[GNET__CODEC_INLINE_STATE / sizeof(uint64_t)];

	/* The local and peer addresses (net/conn_addr.c). Inline room holds
	 * any IPv4 or IPv6 address, all that TCP and UDP have; a longer one
	 * (a Unix socket path) goes to long_addrs, allocated for it. Two
	 * sockaddr_storage inline made the object 440 bytes, in jemalloc's
	 * 448-byte class; this way it is 256, jemalloc's 256-byte class. */
	uint16_t addr_len[2];   /* by GNET__ADDR_LOCAL/_PEER; 0: unknown */
	/* gnet_conn_set_deadline's time, in milliseconds of the monotonic
	 * clock cut to 32 bits (compared modulo 2^32: deadlines are far
	 * shorter than the 49 days that wraps in). Room made by addr_len's
	 * 16 bits. */
	uint32_t deadline_ms;
	struct sockaddr_in6 addr[2];
	struct sockaddr_storage *long_addrs; /* the same two, or NULL */
};

_Static_assert(sizeof(struct gnet_conn) <= 256,
    "a connection fills jemalloc's 256-byte class: a field more moves every "
    "connection to the 320-byte class");

/* Where a connection's gnet_conn_state begins, in the same allocation. */
#define GNET__CONN_STATE_OFFSET ((sizeof(struct gnet_conn) + 15) & ~(size_t)15)

static inline gnet_engine_t *
gnet__conn_eng(const gnet_conn_t *c)
{
	return c->loop->eng;
}

static inline const gnet_options_t *
gnet__conn_opt(const gnet_conn_t *c)
{
	return c->nl->net->opt;
}

/* The connection (or UDP socket) handle h names on loop l, or NULL once
 * it has closed. */
static inline gnet_conn_t *
gnet__conn_live(gnet__loop_t *l, gnet_handle_t h)
{
	gnet__slot_t *s = gnet__slot_lookup(l, h);

	return s != NULL && (s->kind == &gnet__conn_kind ||
	    s->kind == &gnet__udp_kind) ? s->obj : NULL;
}

/* Has its close begun (CLOSING, ABORTING or CLOSED)? Writes are refused
 * from then on. */
static inline bool
gnet__conn_closing(const gnet_conn_t *c)
{
	return c->state >= GNET__CS_CLOSING;
}

/* Should it be reading now? Decided here only. */
static inline bool
gnet__conn_reads(const gnet_conn_t *c)
{
	return c->state == GNET__CS_OPEN && !(c->flags & GNET__C_READ_BLOCKERS);
}

/* net/conn_describe.c: the kinds' describe hooks (kernel/kind.h). */
void gnet__conn_describe(gnet__loop_t *l, void *obj, gnet__actor_desc_t *d);
void gnet__listener_describe(gnet__loop_t *l, void *obj,
    gnet__actor_desc_t *d);

/* net/conn_addr.c */
enum { GNET__ADDR_LOCAL = 0, GNET__ADDR_PEER = 1 };

/* Store len bytes at sa as c's local or peer address. An address that
 * does not fit inline takes the allocation; without memory for it the
 * address is unknown (length 0) and GNET_ENOMEM is returned. */
int gnet__conn_store_addr_long(gnet_conn_t *c, int which, const void *sa,
    socklen_t len);
static inline int
gnet__conn_store_addr(gnet_conn_t *c, int which, const void *sa, socklen_t len)
{
	if (len > sizeof(c->addr[which]))
		return gnet__conn_store_addr_long(c, which, sa, len);
	memcpy(&c->addr[which], sa, len);
	c->addr_len[which] = (uint16_t)len;
	return 0;
}
/* c's local or peer address (its length in *len when len is not NULL),
 * or NULL when it is unknown. */
const struct sockaddr *gnet__conn_addr(const gnet_conn_t *c, int which,
    socklen_t *len);
/* Ask the kernel for the local (getsockname) or peer (getpeername)
 * address of c's socket and store it; unknown if that fails. */
void gnet__conn_fetch_addr(gnet_conn_t *c, int which);
/* The address family of c's local address, AF_UNSPEC when unknown. */
int gnet__conn_family(const gnet_conn_t *c);
/* Free what the addresses allocated (at release). */
void gnet__conn_free_addrs(gnet_conn_t *c);

/* Allocate a connection object for fd on nl's loop (slot, poller, the
 * behaviour's codec and state) in state OPEN or CONNECTING, a member of
 * the behaviour's group; NULL on failure, fd left open. */
gnet_conn_t *gnet__conn_new(gnet__net_loop_t *nl, const gnet__behaviour_t *bh,
    int fd, unsigned flags, enum gnet__conn_state state);
/* Register interest matching the flags (reading paused or not, output). */
void gnet__conn_sync_events(gnet_conn_t *c);
/* The end of a connection: on_close (streams), descriptor, memory. */
void gnet__conn_finish(gnet_conn_t *c);
/* net/conn_read.c */
/* Present the readable view (rp/rlen) to the handler: frames with a
 * codec, raw bytes otherwise; keeps what is left. A wake call runs the
 * raw handler even with nothing buffered. */
void gnet__conn_present(gnet_conn_t *c, int wake_call);
/* The wake message: run the handler again over what is buffered. */
void gnet__conn_wake(gnet_conn_t *c);
/* The connection kind's io: the poller's event for a stream. */
void gnet__conn_io(gnet__loop_t *l, gnet__slot_t *s, uint32_t events,
    int32_t res);
/* Append h to a growable array of handles; GNET_ENOMEM if it cannot grow.
 * The loop keeps connections it must come back to this way (parked
 * readers, re-reads, ring sends): a handle, not a pointer, since one may
 * close first. net/conn_read.c. */
int gnet__handles_push(gnet_handle_t **v, size_t *n, size_t *cap,
    gnet_handle_t h);
/* Put c on the loop's re-read list: read it (or, with a completion
 * backend, show its handler what it received meanwhile) next iteration. */
void gnet__conn_schedule_reread(gnet_conn_t *c);
/* c closes: forget its unseen bytes (GNET__C_RECV_HELD). */
void gnet__conn_forget_unseen(gnet_conn_t *c);
/* net/conn_flush.c: write what is pending; finish a close when nothing
 * is left (c may be freed). */
void gnet__conn_flush_one(gnet__net_loop_t *nl, gnet_conn_t *c);
/* net/conn_flush.c, with a completion backend: a send of c's output
 * completed with res (bytes taken, or a negated errno); c may be freed. */
void gnet__conn_sent(gnet__net_loop_t *nl, gnet_conn_t *c, int32_t res);
/* net/conn_flush.c: the linger timer of a closing connection: abort it
 * (GNET_ELINGER) if the peer took no bytes for linger_ms, else wait on. */
void gnet__conn_linger_due(gnet_conn_t *c);
/* net/conn.c: stop (1) or resume (0) reading for the high watermark, and
 * tell on_backpressure. */
void gnet__conn_set_paused(gnet_conn_t *c, int paused);

/* Socket options for a stream socket (accepted or dialled). */
void gnet__conn_apply_options(int fd, int family, const gnet_options_t *o);
/* A dialled socket connected: open it (on_open). */
void gnet__conn_connected(gnet_conn_t *c);
/* The start of every event of a connection or UDP socket: nothing for a
 * closed one, the connect's outcome for one connecting, and output to
 * flush when writable. Returns true when the event is fully handled. */
bool gnet__conn_io_start(gnet_conn_t *c, uint32_t events);
/* Stop reading from c until this loop's backlog for its peers drains
 * (GNET__PARKED_RESUME_DIVISOR), instead of producing more messages
 * without bound. */
void gnet__conn_park_reader(gnet_conn_t *c);

/* net/udp.c */
/* The loop's batch buffers, made when it first serves UDP. */
int gnet__udp_prepare(gnet__net_loop_t *nl);
void gnet__udp_flush(gnet_conn_t *c);
int gnet__udp_queue(gnet_conn_t *c, const struct sockaddr *to, socklen_t tolen,
    const struct iovec *iov, int iovcnt, size_t len);

/*
 * The small steps every message takes (consume, mark dirty, the
 * watermark test, the action after a callback) are inline: as calls
 * across files they could not be inlined, and they run on every read.
 */

/* Consume n bytes of the readable view. */
static inline void
gnet__conn_consume(gnet_conn_t *c, size_t n)
{
	if (n > c->rlen)
		n = c->rlen;
	c->rp += n;
	c->rlen -= n;
	if (!(c->flags & (GNET__C_VIEW_SCRATCH | GNET__C_IN_FRAME)))
		gnet__buf_consume(&c->in, n);
}

/* Mark for the end-of-iteration flush (the loop's FLUSH hook). */
static inline void
gnet__conn_mark_dirty(gnet_conn_t *c)
{
	gnet__net_loop_t *nl = c->nl;

	if (c->flags & GNET__C_DIRTY)
		return;
	c->flags |= GNET__C_DIRTY;
	c->dirty_next = nl->dirty;
	nl->dirty = c;
	gnet__loop_due(c->loop, nl->flush_bit);
}
void gnet__conn_begin_close(gnet_conn_t *c, int reason);
void gnet__conn_abort(gnet_conn_t *c, int reason);
/* Attach (or with NULL detach) a codec, with fresh decoder state. */
int gnet__conn_attach_codec(gnet_conn_t *c, const gnet_codec_t *codec);
/* net/conn_write.c */
/* Append one outbound frame (encoded when a codec is attached), or hold
 * it by reference (see conn_write.c). */
int gnet__conn_append(gnet_conn_t *c, const struct iovec *iov, int iovcnt,
    size_t len);
/* Bytes c has to send: its outbound buffer and a held write. */
static inline size_t
gnet__conn_out_len(const gnet_conn_t *c)
{
	return c->out.len + (c->nl->held.conn == c ? c->nl->held.len : 0);
}
/* A read filled the scratch buffer: its handlers' writes may be held. */
static inline void
gnet__conn_open_held(gnet__net_loop_t *nl)
{
	nl->held.open = true;
	nl->held.lo = nl->scratch;
	nl->held.cap = nl->scratch_cap;
}
/* The same for a completion backend's receive of n bytes at data (valid
 * until the loop's next wait, which sends a held write first). */
static inline void
gnet__conn_open_held_at(gnet__net_loop_t *nl, const unsigned char *data,
    size_t n)
{
	nl->held.open = true;
	nl->held.lo = data;
	nl->held.cap = n;
}
/* After the handlers of a read: send c's held write (c may be NULL; what
 * the socket does not take is queued, for the caller to flush), settle
 * any other (copied and marked dirty), and hold no more until the next
 * read. */
void gnet__conn_send_held(gnet__net_loop_t *nl, gnet_conn_t *c);
/* Copy a held write into its connection's outbound buffer. */
void gnet__conn_settle_held(gnet__net_loop_t *nl);
/* Ring mode: c's held send completed having sent `sent` of its bytes (or
 * failed): the rest goes to the front of c's outbound buffer, unless
 * failed, and the record goes. Returns GNET_ENOMEM if it cannot. */
int gnet__conn_held_sent(gnet_conn_t *c, size_t sent, bool failed);
/* Decode and hand to on_traffic every whole frame in the readable view;
 * returns the last handler action. */
gnet_action_t gnet__conn_deliver_frames(gnet_conn_t *c);
/* Free the decoder state (on close). */
void gnet__conn_release_codec(gnet_conn_t *c);
/* Pause reading and tell on_backpressure (see gnet__conn_check_high). */
void gnet__conn_pause_high(gnet_conn_t *c);
/* Pause reading (and tell on_backpressure) once the outbound buffer is
 * above the high watermark, whoever wrote to it. */
static inline void
gnet__conn_check_high(gnet_conn_t *c)
{
	if (!(c->flags & GNET__C_PAUSED) && !gnet__conn_closing(c) &&
	    gnet__conn_out_len(c) > c->nl->net->opt->write_high_watermark)
		gnet__conn_pause_high(c);
}
/* Deliver a timer message of this type to c at at_ns (the monotonic
 * clock); 0, or GNET_ENOMEM when the loop's heap cannot grow. */
static inline int
gnet__conn_timer(gnet_conn_t *c, int type, uint64_t at_ns)
{
	gnet_msg_t m = { .to = c->handle, .type = type };

	return gnet__loop_timer(c->loop, at_ns, &m);
}
/* net/conn_api.c: a deadline timer fired. */
void gnet__conn_deadline_due(gnet_conn_t *c);
/* net/conn_write.c: the outbound soft limit's timer, and what a flush
 * tells it (the output fell to the limit or below). */
void gnet__conn_soft_limit_due(gnet_conn_t *c);
static inline void
gnet__conn_soft_limit_flushed(gnet_conn_t *c)
{
	if ((c->flags & GNET__C_SOFT_SET) &&
	    c->out.len <= c->nl->net->opt->outbound_soft_limit)
		c->flags |= GNET__C_SOFT_DIPPED;
}
/* Carry out a handler's action other than GNET_NONE. */
void gnet__conn_act(gnet_conn_t *c, gnet_action_t a);
/* Apply a handler's action and watermark checks after a callback. */
static inline void
gnet__conn_after_callback(gnet_conn_t *c, gnet_action_t a)
{
	if (a != GNET_NONE)
		gnet__conn_act(c, a);
	gnet__conn_check_high(c);
}

#endif
