/*
 * The epoll backend's wait, inline: the loop calls it directly when its
 * poller is epoll, so the common backend costs what a hand-written epoll
 * loop costs. Not a public header.
 */
#ifndef GNET_KERNEL_POLLER_EPOLL_H
#define GNET_KERNEL_POLLER_EPOLL_H

#include <errno.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "base/fault.h"
#include "base/sanitizer.h"
#include "kernel/poller.h"

/*
 * epoll_pwait with no mask is epoll_wait and exists on every port (arm64,
 * among others, has no plain epoll_wait). Issued through syscall(2): the
 * libc wrapper is a cancellation point, which brackets every call with two
 * atomic read-modify-writes of the thread's cancel state, and a loop is
 * never cancelled. Sanitizer builds keep the wrapper, which TSan
 * intercepts to see the synchronisation through a thread blocked in it.
 */
static inline int
gnet__sys_epoll_wait(int epfd, struct epoll_event *ev, int max, int timeout)
{
#if defined(SYS_epoll_pwait) && !defined(GNET__TSAN) && !defined(GNET__ASAN)
	return (int)syscall(SYS_epoll_pwait, epfd, ev, max, timeout, NULL,
	    (size_t)(_NSIG / 8));
#else
	if (gnet__fault_fails(GNET__FAULT_WAIT))
		return -1;
	return epoll_wait(epfd, ev, max, timeout);
#endif
}

/* Readiness only: res is not touched. The kernel fills the seam's events
 * directly; they have struct epoll_event's layout (kernel/poller.h). */
static inline int
gnet__epoll_wait(gnet__poller_t *p, gnet__pevent_t *out, int max,
    int timeout_ms)
{
	int n = gnet__sys_epoll_wait(p->fd, (struct epoll_event *)(void *)out,
	    max, timeout_ms);

	return n < 0 ? -errno : n;
}

#endif
