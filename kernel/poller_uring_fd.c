/*
 * The io_uring backend's requests for each descriptor.
 *
 *   - Readiness: edge-triggered interest (GNET__POLL_EDGE) is a multishot
 *     poll -- the kernel posts a completion at each wakeup, as EPOLLET
 *     reports each change, and the request stays armed; level-triggered
 *     interest is a one-shot poll that the next wait arms again after
 *     each report, so a descriptor still ready is reported again, as
 *     epoll's level mode would. A change of interest replaces the poll;
 *     arming evaluates readiness at once, so, as with EPOLL_CTL_MOD, what
 *     is already waiting is reported.
 *   - Receives (GNET__POLL_RECV with GNET__POLL_IN): one receive at a
 *     time, of at most recv_len bytes into a buffer the kernel takes from
 *     the loop's ring, armed again by the wait after its completion while
 *     IN is still wanted. Not multishot: a multishot receive drains the
 *     socket into buffers as fast as bytes come, so a connection that
 *     stops reading (its output above the high watermark) would still
 *     take in a socket buffer's worth -- megabytes -- before the cancel
 *     lands, where one receive per wait bounds that to one buffer, as
 *     epoll's one read per event does. Re-arming rides the wait's own
 *     system call. A completion carries the peer's bytes, so it is
 *     delivered as long as the descriptor stays registered -- also after
 *     interest in IN was dropped and the receive cancelled -- and dropped
 *     only after del.
 *   - Sends: one at a time per descriptor, with MSG_DONTWAIT, so that the
 *     kernel completes it while the wait submits it -- sending what the
 *     socket takes -- rather than holding the caller's bytes and sending
 *     them later (kernel/poller.h states the contract).
 *
 * Arming waits for the next wait: add and mod only record the interest,
 * so several changes in one turn cost one request, and descriptors can be
 * registered before the loop's thread runs. A del withdraws at once,
 * while the requests are still known.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "base/vec.h"
#include "kernel/poller_uring.h"

/* The bits that are not interest in readiness. */
#define NOT_POLLED (GNET__POLL_EDGE | GNET__POLL_RECV | GNET__POLL_ACCEPT | \
	GNET__POLL_ERR | GNET__POLL_HUP)

static bool
receives(const uring_fd_t *e)
{
	return (e->want & (GNET__POLL_RECV | GNET__POLL_IN)) ==
	    (GNET__POLL_RECV | GNET__POLL_IN);
}

/* The readiness e needs a poll for (ERR and HUP come with any), 0 for
 * none: while the descriptor receives, its bytes and its end come as
 * receives. */
static unsigned
poll_mask(const uring_fd_t *e)
{
	unsigned m = e->want & ~(unsigned)NOT_POLLED;

	if (receives(e))
		m &= ~(unsigned)(GNET__POLL_IN | GNET__POLL_RDHUP);
	if (e->want & GNET__POLL_ACCEPT)
		m &= ~(unsigned)GNET__POLL_IN;
	return m;
}

static uring_fd_t *
fd_entry(uring_t *u, int fd)
{
	if (fd < 0)
		return NULL;
	if ((size_t)fd >= u->nfds) {
		size_t n = u->nfds ? u->nfds : 64;
		uring_fd_t *v;
		while (n <= (size_t)fd)
			n *= 2;
		v = realloc(u->fds, n * sizeof(*v));
		if (v == NULL)
			return NULL;
		memset(v + u->nfds, 0, (n - u->nfds) * sizeof(*v));
		for (size_t i = u->nfds; i < n; i++)
			v[i].send_buf = -1;
		u->fds = v;
		u->nfds = n;
	}
	return &u->fds[fd];
}

static uring_fd_t *
registered(uring_t *u, int fd)
{
	uring_fd_t *e = fd >= 0 && (size_t)fd < u->nfds ? &u->fds[fd] : NULL;

	return e != NULL && e->want != 0 ? e : NULL;
}

/* Withdraw e's live request of this kind (URING_POLL or URING_RECV): a
 * removal or cancel, whose own completion says nothing. Completions of
 * the withdrawn request are told apart by its generation. */
static int
withdraw(uring_t *u, uring_fd_t *e, int fd, unsigned kind)
{
	uint8_t *armed = kind == URING_POLL ? &e->poll_armed : &e->recv_armed;
	struct io_uring_sqe *sqe;
	uint64_t ud;

	if (!*armed)
		return 0;
	sqe = gnet__uring_sqe(u);
	if (sqe == NULL)
		return -EBUSY;
	ud = uring_user_data(kind, e,
	    kind == URING_POLL ? e->poll_gen : e->recv_gen, fd);
	if (kind == URING_POLL)
		io_uring_prep_poll_remove(sqe, ud);
	else
		io_uring_prep_cancel64(sqe, ud, 0);
	io_uring_sqe_set_data64(sqe, URING_IGNORE);
	*armed = 0;
	return 0;
}

int
gnet__uring_queue_arm(uring_t *u, uring_fd_t *e, int fd)
{
	int *v;

	if (e->queued)
		return 0;
	v = gnet__vec_room(u->arm, u->narm, &u->cap_arm, sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	u->arm = v;
	u->arm[u->narm++] = fd;
	e->queued = 1;
	return 0;
}

static int
arm_poll(uring_t *u, uring_fd_t *e, int fd)
{
	unsigned mask = poll_mask(e);
	struct io_uring_sqe *sqe;

	if (withdraw(u, e, fd, URING_POLL) != 0)
		return -EBUSY;
	if (mask == 0)
		return 0;
	sqe = gnet__uring_sqe(u);
	if (sqe == NULL)
		return -EBUSY;
	mask |= GNET__POLL_ERR | GNET__POLL_HUP;
	if (e->want & GNET__POLL_EDGE)
		io_uring_prep_poll_multishot(sqe, fd, mask);
	else
		io_uring_prep_poll_add(sqe, fd, mask);
	e->poll_gen++;
	io_uring_sqe_set_data64(sqe, uring_user_data(URING_POLL, e,
	    e->poll_gen, fd));
	e->poll_armed = 1;
	return 0;
}

static int
arm_recv(uring_t *u, uring_fd_t *e, int fd)
{
	struct io_uring_sqe *sqe;

	if (!receives(e))
		return withdraw(u, e, fd, URING_RECV);
	if (e->recv_armed)
		return 0;
	sqe = gnet__uring_sqe(u);
	if (sqe == NULL)
		return -EBUSY;
	io_uring_prep_recv(sqe, fd, NULL, u->recv_len, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = URING_BUF_GROUP;
	e->recv_gen++;
	io_uring_sqe_set_data64(sqe, uring_user_data(URING_RECV, e,
	    e->recv_gen, fd));
	e->recv_armed = 1;
	return 0;
}

void
gnet__uring_arm_queued(uring_t *u)
{
	size_t i, n = u->narm;

	for (i = 0; i < n; i++) {
		int fd = u->arm[i];
		uring_fd_t *e = &u->fds[fd];

		e->queued = 0;
		if (e->want == 0)
			continue;
		/* A full queue whose submission failed: try again at the
		 * next wait (queue_arm appends past n). */
		if (arm_poll(u, e, fd) != 0 || arm_recv(u, e, fd) != 0 ||
		    ((e->has_accepts || (e->want & GNET__POLL_ACCEPT)) &&
		    gnet__uring_arm_accepts(u, e, fd) != 0))
			gnet__uring_queue_arm(u, e, fd);
	}
	if (n == 0)
		return;
	memmove(u->arm, u->arm + n, (u->narm - n) * sizeof(*u->arm));
	u->narm -= n;
}

/* Record fd's interest (add or mod), armed at the next wait. */
static int
set_want(gnet__poller_t *p, uring_fd_t *e, int fd, uint64_t tag,
    uint32_t events)
{
	if ((events & (GNET__POLL_RECV | GNET__POLL_ACCEPT)) &&
	    !(p->caps & GNET__POLLER_COMPLETION))
		return -EINVAL;
	e->tag = tag;
	e->want = events | GNET__POLL_ERR | GNET__POLL_HUP;
	return gnet__uring_queue_arm(p->priv, e, fd);
}

int
gnet__uring_add(gnet__poller_t *p, int fd, uint64_t tag, uint32_t events)
{
	uring_fd_t *e = fd_entry(p->priv, fd);

	if (e == NULL)
		return fd < 0 ? -EBADF : -ENOMEM;
	if (e->want != 0)
		return -EEXIST;
	return set_want(p, e, fd, tag, events);
}

int
gnet__uring_mod(gnet__poller_t *p, int fd, uint64_t tag, uint32_t events)
{
	uring_fd_t *e = registered(p->priv, fd);

	return e != NULL ? set_want(p, e, fd, tag, events) : -ENOENT;
}

int
gnet__uring_del(gnet__poller_t *p, int fd)
{
	uring_t *u = p->priv;
	uring_fd_t *e = registered(u, fd);
	bool armed;
	int rc;

	if (e == NULL)
		return -ENOENT;
	e->want = 0;
	armed = e->poll_armed || e->recv_armed ||
	    (e->send_pending && e->send_submit == u->submits);
	rc = withdraw(u, e, fd, URING_POLL);
	if (withdraw(u, e, fd, URING_RECV) != 0)
		rc = -EBUSY;
	if (e->has_accepts) {
		int w = gnet__uring_withdraw_accepts(u, e, fd);
		if (w != 0)
			armed = true;
		if (w < 0)
			rc = -EBUSY;
	}
	/* Its completion will be dropped: the buffer it read goes back. */
	if (e->send_pending)
		gnet__uring_bufs_unpin(u, e->send_buf);
	e->send_buf = -1;
	e->send_pending = 0;
	e->life++;
	/* The requests hold the socket open, and the caller closes it next:
	 * as with epoll, a closed socket must be closed -- its FIN or reset
	 * sent, its port's share given up (SO_REUSEPORT) -- when close
	 * returns, not at the loop's next wait. So the withdrawals, and a
	 * send not yet submitted (it names the descriptor by number, which
	 * may be reused), go to the kernel now, and the kernel runs their
	 * completions, which drop its references. One system call, as
	 * EPOLL_CTL_DEL is. */
	if (armed && u->enabled) {
		u->submits++;
		io_uring_submit_and_get_events(&u->ring);
	}
	return rc;
}

int
gnet__uring_send(gnet__poller_t *p, int fd, const void *buf, size_t len)
{
	uring_t *u = p->priv;
	uring_fd_t *e = registered(u, fd);
	struct io_uring_sqe *sqe;

	if (e == NULL)
		return -ENOENT;
	if (e->send_pending)
		return -EBUSY;
	sqe = gnet__uring_sqe(u);
	if (sqe == NULL)
		return -EBUSY;
	/* The count comes back in 32 bits. */
	if (len > (size_t)1 << 30)
		len = (size_t)1 << 30;
	io_uring_prep_send(sqe, fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	io_uring_sqe_set_data64(sqe, uring_user_data(URING_SEND, e, 0, fd));
	e->send_buf = (int16_t)gnet__uring_bufs_pin(u, buf, len);
	e->send_pending = 1;
	e->send_submit = u->submits;
	return 0;
}

/* Readiness: merged into the descriptor's event of this reap. */
static int
took_poll(uring_t *u, uring_fd_t *e, int fd, const struct io_uring_cqe *cqe,
    uint16_t gen, gnet__pevent_t *out, int n)
{
	uint32_t ev;

	if (!e->poll_armed || gen != e->poll_gen)
		return n; /* a poll since replaced or removed */
	if (!(cqe->flags & IORING_CQE_F_MORE)) {
		e->poll_armed = 0;
		/* A poll the kernel refused (not a descriptor it can poll)
		 * is reported once as an error, not armed again each wait. */
		if (cqe->res >= 0 || cqe->res == -ECANCELED)
			gnet__uring_queue_arm(u, e, fd);
	}
	if (cqe->res == -ECANCELED)
		return n;
	ev = cqe->res < 0 ? GNET__POLL_ERR :
	    (uint32_t)cqe->res & e->want & ~(uint32_t)NOT_POLLED;
	ev |= (uint32_t)(cqe->res > 0 ? cqe->res : 0) &
	    (GNET__POLL_ERR | GNET__POLL_HUP);
	if (ev == 0)
		return n;
	if (e->batch == u->batch) {
		out[e->index].events |= ev;
		return n;
	}
	e->batch = u->batch;
	e->index = (uint16_t)n;
	out[n].events = ev;
	out[n].tag = e->tag;
	return n + 1;
}

/* A receive: bytes, the FIN or an error, each an event of its own. */
static int
took_recv(uring_t *u, uring_fd_t *e, int fd, const struct io_uring_cqe *cqe,
    uint16_t gen, gnet__pevent_t *out, int32_t *res, int n)
{
	uint32_t ev = GNET__POLL_DONE | GNET__POLL_IN;

	if (gen == e->recv_gen && e->recv_armed) {
		e->recv_armed = 0;
		/* Bytes: receive again. Out of buffers: the bytes wait in
		 * the socket until the next wait has given buffers back. The
		 * FIN and errors end receiving. */
		if (cqe->res > 0 || cqe->res == -ENOBUFS)
			gnet__uring_queue_arm(u, e, fd);
	}
	if (cqe->res == -ENOBUFS)
		u->bufs_short = true;
	if (cqe->res == -ECANCELED || cqe->res == -ENOBUFS)
		return n;
	if (cqe->flags & IORING_CQE_F_BUFFER) {
		unsigned id = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
		gnet__uring_bufs_lend(u, id);
		ev |= id << GNET__POLL_BUF_SHIFT;
	}
	out[n].events = ev;
	out[n].tag = e->tag;
	res[n] = cqe->res;
	return n + 1;
}

int
gnet__uring_took(uring_t *u, const struct io_uring_cqe *cqe,
    gnet__pevent_t *out, int32_t *res, int n)
{
	uint64_t ud = io_uring_cqe_get_data64(cqe);
	unsigned kind = (unsigned)(ud >> 62);
	int fd = (int)(uint32_t)ud;
	uint16_t gen = (uint16_t)(ud >> 32);
	uring_fd_t *e = registered(u, fd);

	if (ud == URING_IGNORE)
		return n;
	if (kind == URING_ACCEPT)
		return gnet__uring_took_accept(u, cqe, out, res, n);
	if (e == NULL || ((ud >> 48) & URING_LIFE_MASK) !=
	    (e->life & URING_LIFE_MASK)) {
		/* An earlier registration's: its buffer goes back. */
		if (cqe->flags & IORING_CQE_F_BUFFER)
			gnet__uring_bufs_give_back(u,
			    cqe->flags >> IORING_CQE_BUFFER_SHIFT);
		return n;
	}
	switch (kind) {
	case URING_POLL:
		return took_poll(u, e, fd, cqe, gen, out, n);
	case URING_RECV:
		return took_recv(u, e, fd, cqe, gen, out, res, n);
	case URING_SEND:
		if (!e->send_pending)
			return n;
		e->send_pending = 0;
		gnet__uring_bufs_unpin(u, e->send_buf);
		e->send_buf = -1;
		out[n].events = GNET__POLL_DONE | GNET__POLL_OUT;
		out[n].tag = e->tag;
		res[n] = cqe->res;
		return n + 1;
	}
	return n;
}
