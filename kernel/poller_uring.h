/*
 * The io_uring backend's state, shared by its three files:
 *
 *   kernel/poller_uring.c       the ring: open, the wait, completions
 *   kernel/poller_uring_fd.c    each descriptor's requests: interest,
 *                               receives, sends
 *   kernel/poller_uring_bufs.c  the buffers receives land in
 *
 * Not a public header. Thread: the owner loop's, or set-up before it runs.
 */
#ifndef GNET_KERNEL_POLLER_URING_H
#define GNET_KERNEL_POLLER_URING_H

#include <liburing.h>
#include <stdbool.h>
#include <stdint.h>
#include "kernel/poller.h"

/*
 * A request's user_data names its descriptor and which request it was:
 *
 *   bits 63-62  kind (URING_POLL, URING_RECV, URING_SEND, URING_ACCEPT)
 *   bits 61-48  the descriptor's registration (life), which del changes:
 *               a completion of an earlier registration -- the number
 *               may since have been closed and reused -- is dropped
 *   bits 47-32  the request's generation within its kind: replacing a
 *               poll or a receive takes a new one, so the ending of the
 *               old is not taken for the ending of the new; for an
 *               accept, its address slot (one request per slot at a time)
 *   bits 31-0   the descriptor
 * Requests whose completion says nothing (removals, cancels) carry
 * URING_IGNORE.
 */
enum { URING_POLL = 0, URING_RECV = 1, URING_SEND = 2, URING_ACCEPT = 3 };
#define URING_IGNORE UINT64_MAX
/* The read of the loop's waker (kernel/poller_uring.c): no descriptor
 * has the number 2^32 - 1. */
#define URING_WAKER ((uint64_t)URING_ACCEPT << 62 | UINT32_MAX)
#define URING_LIFE_MASK 0x3fffu

/* What the backend knows of one descriptor, indexed by its number. */
typedef struct uring_fd {
	uint64_t tag;
	uint32_t want;          /* GNET__POLL_* asked for; 0: not registered */
	uint32_t send_submit;   /* uring_t.submits when its send was made */
	uint32_t batch;         /* the reap that last reported its readiness */
	uint16_t index;         /* that event's index in the reap */
	uint16_t life;
	uint16_t poll_gen, recv_gen;
	uint8_t poll_armed;     /* a poll of generation poll_gen is live */
	uint8_t recv_armed;     /* a receive of generation recv_gen is live */
	uint8_t send_pending;   /* a send's completion is owed */
	uint8_t queued;         /* on the arm list */
	uint8_t has_accepts;    /* an accepts record exists for this number */
	int16_t send_buf;       /* the receive buffer its send reads, or -1 */
} uring_fd_t;

/* A listening descriptor's accepts (GNET__POLL_ACCEPT): URING_ACCEPTS
 * requests at most, each writing its peer's address into its own slot.
 * A slot is made again only once its last request's completion came
 * (owed), so no two requests write one slot. Kept per listening
 * descriptor, not per descriptor: there are few. */
#define URING_ACCEPTS 16
typedef struct uring_accepts {
	int fd;
	uint16_t armed;         /* slot i's request is live (not withdrawn) */
	uint16_t owed;          /* slot i's request has yet to complete */
	struct uring_accept_slot {
		struct sockaddr_storage ss;
		socklen_t len;
	} slot[URING_ACCEPTS];
} uring_accepts_t;

/* The receive buffers (kernel/poller_uring_bufs.c). */
#define URING_BUFS 256          /* a power of two; at most 8192 */
#define URING_BUFS_FIRST 8     /* in the ring at first, and per growth */
#define URING_BUF_SIZE 65536
#define URING_BUF_GROUP 0

typedef struct uring {
	struct io_uring ring;
	bool enabled;           /* the loop's thread enabled the ring */
	uint32_t submits;       /* submissions so far */
	uint32_t batch;         /* reaps so far */
	uring_fd_t *fds;
	size_t nfds;
	int *arm;               /* descriptors to arm at the next wait */
	size_t narm, cap_arm;
	uring_accepts_t **acc;  /* listening descriptors' accepts */
	size_t nacc, cap_acc;
	/* Receives, when the kernel offers them (GNET__POLLER_COMPLETION). */
	struct io_uring_buf_ring *br;
	unsigned char *bufs;
	uint16_t lent[URING_BUFS]; /* buffers handed out, back at the next wait */
	unsigned nlent;
	/* Buffers a send reads from (a handler's echo of what it received):
	 * not given back until the send's completion has been handled, as
	 * the caller may copy the part the socket did not take from them. */
	uint8_t pinned[URING_BUFS];
	unsigned br_added;      /* buffers given back since the last advance */
	uint32_t recv_len;      /* bytes one receive may take */
	/* The waker, read through the ring where completion is offered:
	 * its descriptor, whether the read is in the ring, and its value. */
	int wake_fd;
	bool wake_armed;
	uint64_t wake_value;
	unsigned nbufs;         /* buffers put in circulation so far */
	bool bufs_short;        /* a receive of this reap found none */
} uring_t;

static inline uint64_t
uring_user_data(unsigned kind, const uring_fd_t *e, uint16_t gen, int fd)
{
	return (uint64_t)kind << 62 | (uint64_t)(e->life & URING_LIFE_MASK) << 48 |
	    (uint64_t)gen << 32 | (uint32_t)fd;
}

/* Submit what is queued (counted in submits); liburing's result. */
int gnet__uring_submit(uring_t *u);
/* A free submission slot, submitting a full queue first; NULL when even
 * that fails. */
struct io_uring_sqe *gnet__uring_sqe(uring_t *u);

/* kernel/poller_uring_fd.c */
int gnet__uring_add(gnet__poller_t *p, int fd, uint64_t tag, uint32_t events);
int gnet__uring_mod(gnet__poller_t *p, int fd, uint64_t tag, uint32_t events);
int gnet__uring_del(gnet__poller_t *p, int fd);
int gnet__uring_send(gnet__poller_t *p, int fd, const void *buf, size_t len);
const struct sockaddr *gnet__uring_accepted(gnet__poller_t *p, int fd,
    uint32_t events, socklen_t *len);
/* Hand the kernel the requests add, mod and ended requests asked for. */
void gnet__uring_arm_queued(uring_t *u);
/* Put fd on the list gnet__uring_arm_queued arms. 0 or -ENOMEM. */
int gnet__uring_queue_arm(uring_t *u, uring_fd_t *e, int fd);

/* kernel/poller_uring_accept.c */
/* Make fd's missing accepts while it wants them, else cancel the live
 * ones. 0, -ENOMEM or -EBUSY (no submission slot: try again). */
int gnet__uring_arm_accepts(uring_t *u, uring_fd_t *e, int fd);
/* At del (e->want already 0): cancel fd's live accepts, as withdraw
 * does a poll or a receive. 1 when some were live (their cancels are
 * queued), 0 when none, -EBUSY when a cancel found no submission slot
 * (those before it are queued). */
int gnet__uring_withdraw_accepts(uring_t *u, uring_fd_t *e, int fd);
/* An accept's completion, as gnet__uring_took. */
int gnet__uring_took_accept(uring_t *u, const struct io_uring_cqe *cqe,
    gnet__pevent_t *out, int32_t *res, int n);
/* A completion of a request on a registered descriptor, as an event in
 * out/res (merged into the descriptor's readiness event of this reap, if
 * it has one); returns the new count. */
int gnet__uring_took(uring_t *u, const struct io_uring_cqe *cqe,
    gnet__pevent_t *out, int32_t *res, int n);
/* The ring is closing: completions nobody will reap may hold accepted
 * descriptors, which are closed. */
void gnet__uring_close_unreaped(uring_t *u);
void gnet__uring_accepts_free(uring_t *u);

/* kernel/poller_uring_bufs.c */
/* Register the buffer ring; 0, or why receives are not offered. */
int gnet__uring_bufs_open(uring_t *u);
void gnet__uring_bufs_close(uring_t *u);
/* A completion carried buffer id: lend it to the loop until the next
 * wait (lend) or give it straight back (give_back). */
void gnet__uring_bufs_lend(uring_t *u, unsigned id);
void gnet__uring_bufs_give_back(uring_t *u, unsigned id);
/* Receives of the last reap found the ring empty: put more buffers in
 * circulation (once per reap, however many found none). */
void gnet__uring_bufs_grow(uring_t *u);
/* A send reads len bytes at buf: if they lie in a receive buffer, keep
 * that buffer (its id, or -1) until unpinned. */
int gnet__uring_bufs_pin(uring_t *u, const void *buf, size_t len);
/* The send is done and handled after the next wait: lend the buffer
 * until then. */
void gnet__uring_bufs_unpin(uring_t *u, int id);
/* At the wait: take back what the last reap lent. */
void gnet__uring_bufs_reclaim(uring_t *u);
const unsigned char *gnet__uring_received(gnet__poller_t *p, uint32_t events);

#endif
