/*
 * The poller seam: how a loop learns that its descriptors need attention.
 *
 * A loop owns one poller. Layers above register a descriptor under a tag
 * (the handle of the actor that owns it), change or drop that interest,
 * and the loop waits for events, each naming its tag. Tag 0 is the loop's
 * waker (mailbox/waker.h), which no handle can equal.
 *
 * The interface is shaped for both kinds of backend:
 *   - readiness (epoll, kernel/poller_epoll.c): an event says the
 *     descriptor can be read or written (GNET__POLL_IN/OUT/...); the
 *     actor then makes the syscall itself. Its result is 0.
 *   - completion: an actor would submit the operation (read into a
 *     buffer, write, accept) through an op this table gains then, and
 *     the event reports it done: GNET__POLL_DONE, with the result (bytes,
 *     or a negated errno) in the wait's result array. Actor kinds receive
 *     both the bits and the result, so they can take either.
 * Two backends exist: epoll (kernel/poller_epoll.c), readiness only, and
 * io_uring (kernel/poller_uring.c), readiness through poll requests in
 * its ring and, where the kernel allows, completion: receives into its
 * own buffers and sends (GNET__POLL_RECV, send below). Only this seam
 * calls epoll_* or io_uring; nothing above it names a backend.
 *
 * Thread: every function on the owner loop, or during setup before the
 * loop runs.
 */
#ifndef GNET_KERNEL_POLLER_H
#define GNET_KERNEL_POLLER_H

#include <stdint.h>
#include <sys/socket.h>

/* Event bits. They are poll(2)'s values, which epoll shares, so the
 * epoll backend passes them through untranslated. */
#define GNET__POLL_IN 0x001u
#define GNET__POLL_OUT 0x004u
#define GNET__POLL_ERR 0x008u
#define GNET__POLL_HUP 0x010u
#define GNET__POLL_RDHUP 0x2000u
/* Registration only: report changes, not states (epoll's EPOLLET). A
 * backend without it reports states; the caller's reads must then stop
 * at EAGAIN as they do anyway. */
#define GNET__POLL_EDGE (1u << 31)
/* Reported only, by completion backends: a submitted operation is done. */
#define GNET__POLL_DONE (1u << 30)
/* Registration only, with a backend that has GNET__POLLER_COMPLETION:
 * while GNET__POLL_IN is asked for, the backend receives on the
 * descriptor itself. Each arrival is reported as GNET__POLL_DONE |
 * GNET__POLL_IN with the byte count in the wait's result (0: the peer's
 * FIN; < 0: a negated errno; after either, receiving has stopped), the
 * bytes -- at most recv_len, one receive per descriptor per wait -- in the
 * backend's buffer that received() names; GNET__POLL_IN and
 * GNET__POLL_RDHUP are then not reported as readiness. Without
 * GNET__POLL_IN, RDHUP is watched as readiness, as without this flag. An
 * arrival already taken from the socket when interest in IN is dropped
 * is still reported: it is the peer's bytes. */
#define GNET__POLL_RECV (1u << 29)
/* Registration only, with a backend that has GNET__POLLER_COMPLETION, on
 * a listening stream socket: while GNET__POLL_IN is asked for, the
 * backend accepts on it itself, keeping several accepts in its ring so a
 * wait takes several connections. Each is reported as GNET__POLL_DONE |
 * GNET__POLL_IN with the new descriptor (nonblocking, close-on-exec) in
 * the wait's result and its peer's address from accepted(); a failure as
 * a negated errno, after which that accept is not made again until the
 * next add or mod (the caller backs off, as from accept4's EMFILE).
 * Aborted handshakes are not reported. A connection accepted when
 * interest in IN is dropped is still reported: the peer is real. One
 * accepted after del is closed by the backend. GNET__POLL_IN is then not
 * reported as readiness. */
#define GNET__POLL_ACCEPT (1u << 15)
/* In a receive's event: which of the backend's buffers holds its bytes;
 * in an accept's, which of its address slots. */
#define GNET__POLL_BUF_SHIFT 16
#define GNET__POLL_BUF_MASK (0x1fffu << GNET__POLL_BUF_SHIFT)

/* The tag of the loop's own waker. A backend may read the waker itself:
 * it then reports it with GNET__POLL_DONE, and the loop has nothing to
 * drain. */
#define GNET__POLL_WAKER_TAG 0

/* Events per wait (h2o uses 256). */
#define GNET__POLL_BATCH 256

/* One event, laid out as Linux's struct epoll_event (packed on x86-64,
 * as it is there), so that the epoll backend reads events straight into
 * an array of these rather than copying each into another shape on the
 * hottest path there is. kernel/poller_epoll.c checks the layout. */
#if defined(__x86_64__)
#define GNET__PEVENT_PACKED __attribute__((packed))
#else
#define GNET__PEVENT_PACKED
#endif
typedef struct gnet__pevent {
	uint32_t events;  /* GNET__POLL_* */
	uint64_t tag;     /* what the descriptor was registered under */
} GNET__PEVENT_PACKED gnet__pevent_t;

typedef struct gnet__poller gnet__poller_t;

typedef struct gnet__poller_ops {
	const char *name;
	/* Set up p, watching wake_fd (readable = woken) under tag 0.
	 * Returns 0 or a negative error code. */
	int (*open)(gnet__poller_t *p, int wake_fd);
	void (*close)(gnet__poller_t *p);
	/* Interest in fd's events (GNET__POLL_IN/OUT/RDHUP, EDGE), reported
	 * under tag. 0 or a negated errno. */
	int (*add)(gnet__poller_t *p, int fd, uint64_t tag, uint32_t events);
	int (*mod)(gnet__poller_t *p, int fd, uint64_t tag, uint32_t events);
	/* No more events for fd; call it before closing fd, as a forked
	 * child may hold the descriptor open. */
	int (*del)(gnet__poller_t *p, int fd);
	/* Wait up to timeout_ms (-1: no limit, 0: do not block) and fill up
	 * to max events, and for each GNET__POLL_DONE event its result in
	 * res[i] (others' res[i] are left as they are). Returns the count,
	 * or a negated errno (-EINTR: a signal came; wait again). */
	int (*wait)(gnet__poller_t *p, gnet__pevent_t *out, int32_t *res,
	    int max, int timeout_ms);
	/* The loop is leaving: hand the kernel what del and the rest left
	 * for the next wait, which will not come -- a backend whose requests
	 * hold descriptors open would otherwise keep closed sockets alive
	 * until the poller closes. NULL when there is nothing to do. */
	void (*quiesce)(gnet__poller_t *p);

	/* Completion backends only (GNET__POLLER_COMPLETION), else NULL. */
	/* The bytes of a receive reported with `events`. They stay valid
	 * until the next wait, which takes the buffer back. */
	const unsigned char *(*received)(gnet__poller_t *p, uint32_t events);
	/* Send len bytes at buf on fd, a registered descriptor: submitted
	 * with the next wait and reported by it, or a later one, as
	 * GNET__POLL_DONE | GNET__POLL_OUT with the count taken (possibly
	 * short) or a negated errno (-EAGAIN: the socket is full; watch
	 * writability). It never waits for room: the kernel takes what it
	 * can while the wait submits it, so the bytes are read by then and
	 * may change after the wait returns. Until that wait they must stay
	 * as they are. Bytes from received() may be sent: their buffer then
	 * stays valid until the wait after the send's completion. One send
	 * per descriptor at a time (-EBUSY). A del before the wait submits
	 * it at once. 0 or a negated errno. */
	int (*send)(gnet__poller_t *p, int fd, const void *buf, size_t len);
	/* The peer address of a connection accepted on fd and reported with
	 * `events` (GNET__POLL_ACCEPT), *len its length. Valid until the
	 * next wait. */
	const struct sockaddr *(*accepted)(gnet__poller_t *p, int fd,
	    uint32_t events, socklen_t *len);
} gnet__poller_ops_t;

/* gnet__poller_t.caps */
#define GNET__POLLER_COMPLETION 1u /* receives (GNET__POLL_RECV), send,
                                    * accepts (GNET__POLL_ACCEPT) */

struct gnet__poller {
	const gnet__poller_ops_t *ops;
	int fd;          /* the backend's own descriptor, or -1 */
	void *priv;      /* the backend's own state */
	unsigned caps;   /* GNET__POLLER_*, set by open */
	/* Completion: the most bytes one receive takes (at most the
	 * backend's buffer); 0: a whole buffer. Set before the loop runs. */
	uint32_t recv_len;
};

/* The backends. */
extern const gnet__poller_ops_t gnet__poller_epoll;
extern const gnet__poller_ops_t gnet__poller_uring;

/* Open p watching wake_fd with the backend asked for (GNET_BACKEND_*):
 * epoll, io_uring, or for auto io_uring and, where that fails, epoll,
 * logging why. 0 or a negative error code (uring's own when it was asked
 * for by name). kernel/poller.c. */
int gnet__poller_open(gnet__poller_t *p, int wake_fd, int backend);

static inline int
gnet__poller_add(gnet__poller_t *p, int fd, uint64_t tag, uint32_t events)
{
	return p->ops->add(p, fd, tag, events);
}

static inline int
gnet__poller_mod(gnet__poller_t *p, int fd, uint64_t tag, uint32_t events)
{
	return p->ops->mod(p, fd, tag, events);
}

static inline int
gnet__poller_del(gnet__poller_t *p, int fd)
{
	return p->ops->del(p, fd);
}

#endif
