/*
 * The loop's hot syscalls, issued through syscall(2) instead of glibc's
 * wrappers. Not a public header.
 *
 * Why: read, send, sendmsg, recvmmsg and sendmmsg are POSIX
 * cancellation points, and in a process with more than one thread (every
 * gnet engine: the loops run on threads of their own) glibc brackets each
 * of them with __pthread_enable_asynccancel / _disable_asynccancel, two
 * atomic read-modify-writes on the thread's cancel state per call. A loop
 * is never cancelled (the engine stops it by message), so that work buys
 * nothing, and it weighed more than all of gnet's own code per message.
 *
 * Same return convention as the libc calls: -1 with errno set on failure.
 * Where a syscall number is missing (an architecture that lacks it), the
 * libc function is used.
 *
 * Sanitizer builds keep the libc calls: the sanitizers intercept them,
 * ASan to check the buffers the kernel fills, TSan to see the
 * synchronisation of the threads around them. (The poller's wait does the
 * same, in kernel/poller_epoll.h.) There the calls also pass through
 * fault injection (base/fault.h), inert unless GNET_FAULTS is set.
 */
#ifndef GNET_NET_SYS_H
#define GNET_NET_SYS_H

#include <errno.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>
#include "base/fault.h"
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
	if (gnet__fault_fails(GNET__FAULT_READ))
		return -1;
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
	if (gnet__fault_fails(GNET__FAULT_SEND))
		return -1;
	return send(fd, buf, gnet__fault_short(n), flags);
#endif
}

static inline ssize_t
gnet__sys_sendmsg(int fd, const struct msghdr *mh, int flags)
{
#if defined(SYS_sendmsg) && !defined(GNET__SYS_LIBC)
	return (ssize_t)syscall(SYS_sendmsg, fd, mh, flags);
#else
	if (gnet__fault_fails(GNET__FAULT_SEND))
		return -1;
	return sendmsg(fd, mh, flags);
#endif
}

/* A completion backend's receive, made by the kernel: the fault a read
 * would have met. Only the reset has a counterpart (the receive's bytes
 * become ECONNRESET); an EINTR there would be retried, so it is none. */
static inline int
gnet__sys_received(int res)
{
#ifdef GNET__SYS_LIBC
	if (res > 0 && gnet__fault(GNET__FAULT_READ) == ECONNRESET)
		return -ECONNRESET;
#endif
	return res;
}

/* No timeout argument: gnet never passes one, and so never meets the
 * 32/64-bit timespec split of the newer ports. */
static inline int
gnet__sys_recvmmsg(int fd, struct mmsghdr *v, unsigned n, int flags)
{
#if defined(SYS_recvmmsg) && defined(__LP64__) && !defined(GNET__SYS_LIBC)
	return (int)syscall(SYS_recvmmsg, fd, v, n, flags, NULL);
#else
	if (gnet__fault_fails(GNET__FAULT_SEND))
		return -1;
	return recvmmsg(fd, v, n, flags, NULL);
#endif
}

static inline int
gnet__sys_sendmmsg(int fd, struct mmsghdr *v, unsigned n, int flags)
{
#if defined(SYS_sendmmsg) && !defined(GNET__SYS_LIBC)
	return (int)syscall(SYS_sendmmsg, fd, v, n, flags);
#else
	if (gnet__fault_fails(GNET__FAULT_SEND))
		return -1;
	return sendmmsg(fd, v, n, flags);
#endif
}

#endif
