/*
 * Fault injection for tests, after SQLite's practice: chosen system calls
 * and allocations fail at random points, so the paths that handle
 * failure run as often as the ones that do not. Not a public header.
 *
 * Compiled into the sanitizer builds only (their system calls already go
 * through libc: net/sys.h), and inert there unless the environment asks:
 *
 *   GNET_FAULTS="eintr:0.05,short:0.2,seed:7"
 *
 * Each class is a probability per call at its sites:
 *
 *   eintr   EINTR from read, send, sendmsg, recvmmsg, sendmmsg, accept4
 *           and epoll_wait, and io_uring's wait once it has submitted
 *           (transparent: gnet retries)
 *   short   send takes only part of its bytes         (transparent)
 *           (with io_uring, so does a send through the ring)
 *   eagain  EAGAIN from accept4 (a level-triggered listener is reported
 *           again)                                     (transparent)
 *   emfile  EMFILE from accept4 (the listener backs off; the connection
 *           waits in the backlog)       (transparent, slower)
 *           (io_uring accepts in its ring, where neither reaches:
 *           check_close fills the descriptor table for that path)
 *   reset   ECONNRESET from read (with io_uring: a receive's bytes
 *           become ECONNRESET): the connection closes with
 *           GNET_ECONNRESET             (visible)
 *   enomem  a buffer block cannot be allocated: the connection closes
 *           with GNET_ENOMEM            (visible)
 *
 * EAGAIN is not injected into reads and sends: with edge-triggered
 * polling no event would follow one the kernel would never have given,
 * and a test would hang on an impossible situation rather than find a
 * bug. The transparent classes must leave every test's outcome as it
 * is; the visible ones must only ever close connections, with the right
 * reason, losing no byte already accepted and leaking nothing. At exit a
 * configured process prints what it injected, per class, to stderr.
 */
#ifndef GNET_BASE_FAULT_H
#define GNET_BASE_FAULT_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include "base/sanitizer.h"

enum gnet__fault_site {
	GNET__FAULT_READ,       /* read */
	GNET__FAULT_SEND,       /* send, sendmsg, sendmmsg, recvmmsg */
	GNET__FAULT_ACCEPT,     /* accept4 */
	GNET__FAULT_WAIT,       /* epoll_wait */
	GNET__FAULT_ALLOC       /* a buffer block */
};

#if defined(GNET__ASAN) || defined(GNET__TSAN)
#define GNET__FAULTS 1
/* 0, or the errno the call at this site fails with now. Thread: any. */
int gnet__fault(enum gnet__fault_site site);
/* Does the call at this site fail now? Then errno is set, and the
 * caller returns -1 as the system call would have. Thread: any. */
static inline bool
gnet__fault_fails(enum gnet__fault_site site)
{
	int e = gnet__fault(site);

	if (e != 0)
		errno = e;
	return e != 0;
}
/* How many of n bytes a send takes now (n, or fewer but at least 1).
 * Thread: any. */
size_t gnet__fault_short(size_t n);
#else
static inline int
gnet__fault(enum gnet__fault_site site)
{
	(void)site;
	return 0;
}
static inline size_t
gnet__fault_short(size_t n)
{
	return n;
}
static inline bool
gnet__fault_fails(enum gnet__fault_site site)
{
	(void)site;
	return false;
}
#endif

#endif
