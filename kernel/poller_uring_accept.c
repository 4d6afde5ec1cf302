/*
 * The io_uring backend's accepts (GNET__POLL_ACCEPT): a listening
 * descriptor keeps up to URING_ACCEPTS accept requests in the ring, so
 * the wait's own system call takes the connections that arrived -- no
 * accept4 per connection, and none that finds the backlog empty.
 *
 * Not a multishot accept: one request writes every connection's peer
 * address into the same place, and the kernel takes all the waiting
 * connections before the loop reads any, so each but the last would
 * need a getpeername -- the system call saved, spent again. One-shot
 * requests each have their own slot, made again by the wait after their
 * completion; the kernel wakes one of them per connection (accepts wait
 * exclusively), so they do not all run for one arrival.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "base/vec.h"
#include "kernel/poller_uring.h"

static bool
accepts(const uring_fd_t *e)
{
	return e != NULL && (e->want & (GNET__POLL_ACCEPT | GNET__POLL_IN)) ==
	    (GNET__POLL_ACCEPT | GNET__POLL_IN);
}

/* A result the caller does not hear of: a withdrawn request, or a
 * handshake aborted (or a wait interrupted) before the accept took it.
 * The slot is simply made again. */
static bool
quiet(int32_t res)
{
	return res == -ECANCELED || res == -ECONNABORTED || res == -EINTR ||
	    res == -EAGAIN;
}

static size_t
find(const uring_t *u, int fd)
{
	size_t i;

	for (i = 0; i < u->nacc; i++)
		if (u->acc[i]->fd == fd)
			break;
	return i;
}

/* fd's accepts, made if asked; NULL if none (or out of memory). */
static uring_accepts_t *
accepts_of(uring_t *u, int fd, bool make)
{
	size_t i = find(u, fd);
	uring_accepts_t *a, **v;

	if (i < u->nacc || !make)
		return i < u->nacc ? u->acc[i] : NULL;
	v = gnet__vec_room(u->acc, u->nacc, &u->cap_acc, sizeof(*v));
	if (v == NULL)
		return NULL;
	u->acc = v;
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return NULL;
	a->fd = fd;
	u->acc[u->nacc++] = a;
	u->fds[fd].has_accepts = 1;
	return a;
}

/* No request of a's is live or owed and fd no longer accepts: a goes. */
static void
maybe_free(uring_t *u, uring_accepts_t *a, const uring_fd_t *e)
{
	size_t i;

	if (a->owed != 0 || a->armed != 0 || accepts(e))
		return;
	i = find(u, a->fd);
	u->acc[i] = u->acc[--u->nacc];
	u->fds[a->fd].has_accepts = 0;
	free(a);
}

int
gnet__uring_arm_accepts(uring_t *u, uring_fd_t *e, int fd)
{
	uring_accepts_t *a = accepts_of(u, fd, accepts(e));
	struct io_uring_sqe *sqe;
	unsigned i;

	if (a == NULL)
		return accepts(e) ? -ENOMEM : 0;
	for (i = 0; i < URING_ACCEPTS; i++) {
		uint16_t bit = (uint16_t)(1u << i);
		if (accepts(e) ? (a->owed & bit) != 0 : !(a->armed & bit))
			continue;
		sqe = gnet__uring_sqe(u);
		if (sqe == NULL)
			return -EBUSY;
		if (!accepts(e)) {
			/* Its completion still comes: a connection it took
			 * before the cancel is reported. */
			io_uring_prep_cancel64(sqe,
			    uring_user_data(URING_ACCEPT, e, (uint16_t)i, fd), 0);
			io_uring_sqe_set_data64(sqe, URING_IGNORE);
			a->armed &= (uint16_t)~bit;
			continue;
		}
		a->slot[i].len = sizeof(a->slot[i].ss);
		io_uring_prep_accept(sqe, fd, (struct sockaddr *)&a->slot[i].ss,
		    &a->slot[i].len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		io_uring_sqe_set_data64(sqe, uring_user_data(URING_ACCEPT, e,
		    (uint16_t)i, fd));
		a->armed |= bit;
		a->owed |= bit;
	}
	maybe_free(u, a, e);
	return 0;
}

int
gnet__uring_withdraw_accepts(uring_t *u, uring_fd_t *e, int fd)
{
	uring_accepts_t *a = accepts_of(u, fd, false);
	bool live = a != NULL && a->armed != 0;

	/* e->want is 0 by now: this cancels what is live. */
	if (a != NULL && gnet__uring_arm_accepts(u, e, fd) != 0)
		return -EBUSY;
	return live;
}

int
gnet__uring_took_accept(uring_t *u, const struct io_uring_cqe *cqe,
    gnet__pevent_t *out, int32_t *res, int n)
{
	uint64_t ud = io_uring_cqe_get_data64(cqe);
	int fd = (int)(uint32_t)ud;
	unsigned i = (unsigned)(ud >> 32) & 0xffffu;
	uring_accepts_t *a = accepts_of(u, fd, false);
	uring_fd_t *e = fd >= 0 && (size_t)fd < u->nfds ? &u->fds[fd] : NULL;
	bool current = e != NULL && e->want != 0 &&
	    ((ud >> 48) & URING_LIFE_MASK) == (e->life & URING_LIFE_MASK);

	if (a != NULL && i < URING_ACCEPTS) {
		a->owed &= (uint16_t)~(1u << i);
		a->armed &= (uint16_t)~(1u << i);
	}
	/* Made again by the next wait -- also a slot whose withdrawn request
	 * ended after the descriptor wanted accepts again. */
	if (accepts(e) && (cqe->res >= 0 || quiet(cqe->res)))
		gnet__uring_queue_arm(u, e, fd);
	if (!current) {
		/* Its listener is gone: nobody will take the connection. */
		if (cqe->res >= 0)
			close(cqe->res);
		if (a != NULL)
			maybe_free(u, a, e);
		return n;
	}
	if (a == NULL || i >= URING_ACCEPTS || quiet(cqe->res))
		return n;
	out[n].events = GNET__POLL_DONE | GNET__POLL_IN |
	    (uint32_t)i << GNET__POLL_BUF_SHIFT;
	out[n].tag = e->tag;
	res[n] = cqe->res;
	return n + 1;
}

const struct sockaddr *
gnet__uring_accepted(gnet__poller_t *p, int fd, uint32_t events,
    socklen_t *len)
{
	uring_accepts_t *a = accepts_of(p->priv, fd, false);
	unsigned i = (events & GNET__POLL_BUF_MASK) >> GNET__POLL_BUF_SHIFT;

	if (a == NULL || i >= URING_ACCEPTS) {
		*len = 0;
		return NULL;
	}
	*len = a->slot[i].len;
	return (const struct sockaddr *)&a->slot[i].ss;
}

void
gnet__uring_close_unreaped(uring_t *u)
{
	struct io_uring_cqe *cqe;
	unsigned head, seen = 0;

	io_uring_for_each_cqe(&u->ring, head, cqe) {
		uint64_t ud = io_uring_cqe_get_data64(cqe);
		if (ud != URING_WAKER && ud != URING_IGNORE &&
		    (ud >> 62) == URING_ACCEPT && cqe->res >= 0)
			close(cqe->res);
		seen++;
	}
	io_uring_cq_advance(&u->ring, seen);
}

void
gnet__uring_accepts_free(uring_t *u)
{
	size_t i;

	for (i = 0; i < u->nacc; i++)
		free(u->acc[i]);
	free(u->acc);
	u->acc = NULL;
	u->nacc = u->cap_acc = 0;
}
