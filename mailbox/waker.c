/*
 * eventfd wakeups; see waker.h for the protocol.
 */
#include <errno.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include "mailbox/waker.h"

int
gnet__waker_init(gnet__waker_t *w)
{
	atomic_init(&w->sleeping, 0);
	w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	return w->efd < 0 ? -errno : 0;
}

void
gnet__waker_destroy(gnet__waker_t *w)
{
	if (w->efd >= 0)
		close(w->efd);
	w->efd = -1;
}

void
gnet__waker_drain(gnet__waker_t *w)
{
	uint64_t v;

	/* Non-blocking: a spurious readiness costs one EAGAIN. */
	while (read(w->efd, &v, sizeof(v)) < 0 && errno == EINTR)
		;
}

static void
write_efd(gnet__waker_t *w)
{
	uint64_t one = 1;

	/* EAGAIN means the counter is saturated: the loop will wake anyway. */
	while (write(w->efd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}

bool
gnet__waker_wake(gnet__waker_t *w)
{
	/* Orders the enqueue's slot and counter stores before the load of
	 * `sleeping` (mfence on x86). */
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&w->sleeping, memory_order_relaxed) == 0)
		return false;
	if (atomic_exchange_explicit(&w->sleeping, 0, memory_order_seq_cst) == 0)
		return false;
	write_efd(w);
	return true;
}

void
gnet__waker_force(gnet__waker_t *w)
{
	write_efd(w);
}
