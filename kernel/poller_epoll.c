/*
 * The epoll backend of the poller seam (kernel/poller.h); with
 * kernel/poller_epoll.h, the only code that calls epoll_*.
 */
#include <errno.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <unistd.h>
#include "gnet.h"
#include "kernel/poller.h"
#include "kernel/poller_epoll.h"

_Static_assert(sizeof(gnet__pevent_t) == sizeof(struct epoll_event) &&
    offsetof(gnet__pevent_t, events) == offsetof(struct epoll_event, events) &&
    offsetof(gnet__pevent_t, tag) == offsetof(struct epoll_event, data),
    "the poller's events are laid out as epoll's");
_Static_assert(GNET__POLL_IN == EPOLLIN && GNET__POLL_OUT == EPOLLOUT &&
    GNET__POLL_ERR == EPOLLERR && GNET__POLL_HUP == EPOLLHUP &&
    GNET__POLL_RDHUP == EPOLLRDHUP && GNET__POLL_EDGE == EPOLLET,
    "the poller's event bits are epoll's");

static int
ctl(gnet__poller_t *p, int op, int fd, uint64_t tag, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.u64 = tag };

	return epoll_ctl(p->fd, op, fd, &ev) == 0 ? 0 : -errno;
}

static int
ep_add(gnet__poller_t *p, int fd, uint64_t tag, uint32_t events)
{
	return ctl(p, EPOLL_CTL_ADD, fd, tag, events);
}

static int
ep_mod(gnet__poller_t *p, int fd, uint64_t tag, uint32_t events)
{
	return ctl(p, EPOLL_CTL_MOD, fd, tag, events);
}

static int
ep_del(gnet__poller_t *p, int fd)
{
	return epoll_ctl(p->fd, EPOLL_CTL_DEL, fd, NULL) == 0 ? 0 : -errno;
}

static void
ep_close(gnet__poller_t *p)
{
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
}

static int
ep_open(gnet__poller_t *p, int wake_fd)
{
	int rc;

	p->fd = epoll_create1(EPOLL_CLOEXEC);
	if (p->fd < 0)
		return -errno;
	/* The waker stays level-triggered: it is drained when reported. */
	rc = ep_add(p, wake_fd, GNET__POLL_WAKER_TAG, EPOLLIN);
	if (rc != 0)
		ep_close(p);
	return rc;
}

static int
ep_wait(gnet__poller_t *p, gnet__pevent_t *out, int32_t *res, int max,
    int timeout_ms)
{
	(void)res;
	return gnet__epoll_wait(p, out, max, timeout_ms);
}

const gnet__poller_ops_t gnet__poller_epoll = {
	.name = "epoll",
	.open = ep_open,
	.close = ep_close,
	.add = ep_add,
	.mod = ep_mod,
	.del = ep_del,
	.wait = ep_wait,
};
