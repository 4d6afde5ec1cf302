/*
 * The loop's hot syscalls, issued through syscall(2) instead of glibc's
 * wrappers. Not a public header.
 *
 * Why: read, send, sendmsg, epoll_wait, recvmmsg and sendmmsg are POSIX
 * cancellation points, and in a process with more than one thread (every
 * gnet engine: the loops run on threads of their own) glibc brackets each
 * of them with __pthread_enable_asynccancel / _disable_asynccancel, two
 * atomic read-modify-writes on the thread's cancel state per call. A loop
 * is never cancelled (the engine stops it by message), so that work buys
 * nothing; measured, it was 1.6% of an echo server's CPU at 64 connections
 * x 64 B x depth 16 (perf, cpu-clock), more than all of gnet's own code.
 *
 * Same return convention as the libc calls: -1 with errno set on failure.
 * Where a syscall number is missing (an architecture that lacks it), the
 * libc function is used.
 *
 * Sanitizer builds keep the libc calls: the sanitizers intercept them,
 * ASan to check the buffers the kernel fills, TSan to see the
 * synchronisation through epoll and a thread blocked in it.
 */
#ifndef GNET_KERNEL_SYS_H
#define GNET_KERNEL_SYS_H

#include <signal.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>
#include "base/sanitizer.h"

#if defined(GNET__TSAN) || defined(GNET__ASAN)
#define GNET__SYS_LIBC 1
#endif

static inline ssize_t
gnet__sys_read(int fd, void *buf, size_t n)
{
#ifndef GNET__SYS_LIBC
	return (ssize_t)syscall(SYS_read, fd, buf, n);
#else
	return read(fd, buf, n);
#endif
}

/* send(2) is sendto(2) without an address on every Linux port. */
static inline ssize_t
gnet__sys_send(int fd, const void *buf, size_t n, int flags)
{
#if defined(SYS_sendto) && !defined(GNET__SYS_LIBC)
	return (ssize_t)syscall(SYS_sendto, fd, buf, n, flags, NULL, 0);
#else
	return send(fd, buf, n, flags);
#endif
}

static inline ssize_t
gnet__sys_sendmsg(int fd, const struct msghdr *mh, int flags)
{
#if defined(SYS_sendmsg) && !defined(GNET__SYS_LIBC)
	return (ssize_t)syscall(SYS_sendmsg, fd, mh, flags);
#else
	return sendmsg(fd, mh, flags);
#endif
}

/* epoll_pwait with no mask is epoll_wait, and exists on every port (some,
 * arm64 among them, have no plain epoll_wait). */
static inline int
gnet__sys_epoll_wait(int epfd, struct epoll_event *ev, int max, int timeout)
{
#if defined(SYS_epoll_pwait) && !defined(GNET__SYS_LIBC)
	return (int)syscall(SYS_epoll_pwait, epfd, ev, max, timeout, NULL,
	    (size_t)(_NSIG / 8));
#else
	return epoll_wait(epfd, ev, max, timeout);
#endif
}

/* No timeout argument: gnet never passes one, and so never meets the
 * 32/64-bit timespec split of the newer ports. */
static inline int
gnet__sys_recvmmsg(int fd, struct mmsghdr *v, unsigned n, int flags)
{
#if defined(SYS_recvmmsg) && defined(__LP64__) && !defined(GNET__SYS_LIBC)
	return (int)syscall(SYS_recvmmsg, fd, v, n, flags, NULL);
#else
	return recvmmsg(fd, v, n, flags, NULL);
#endif
}

static inline int
gnet__sys_sendmmsg(int fd, struct mmsghdr *v, unsigned n, int flags)
{
#if defined(SYS_sendmmsg) && !defined(GNET__SYS_LIBC)
	return (int)syscall(SYS_sendmmsg, fd, v, n, flags);
#else
	return sendmmsg(fd, v, n, flags);
#endif
}

#endif
