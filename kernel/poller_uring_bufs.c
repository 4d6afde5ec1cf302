/*
 * The buffers receives land in: one ring of URING_BUFS buffers per loop,
 * registered with the kernel (a provided-buffer ring), from which each
 * receive takes one as bytes arrive. So no connection owns a read buffer
 * while it waits: an idle connection holds none, whatever its count.
 *
 * A buffer a reap reported is lent to the loop until its next wait (the
 * readers copy whatever they keep), and that wait gives it back before it
 * submits, so the kernel has it again for the receives it is about to
 * run. One whose completion was dropped goes back at once. One a send
 * reads from (an echo held by reference) is pinned: it comes back only
 * at the wait after the send's completion, which the loop handles by
 * copying what the socket did not take -- out of this buffer.
 *
 * The memory is an anonymous mapping: pages are touched only as receives
 * first use them, and go back to the system at close. The kernel takes
 * buffers from the ring in turn, so every buffer in it gets touched; the
 * ring therefore starts with URING_BUFS_FIRST of them and takes in
 * URING_BUFS_FIRST more at a wait after receives found none left
 * (ENOBUFS; they are armed again), so a loop's resident buffers follow
 * the demand it has met, not the ring's size.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "kernel/poller_uring.h"

_Static_assert((URING_BUFS & (URING_BUFS - 1)) == 0 &&
    URING_BUFS <= (GNET__POLL_BUF_MASK >> GNET__POLL_BUF_SHIFT) + 1,
    "buffer ids fit an event's buffer field, in a power-of-two ring");

static void
give(uring_t *u, unsigned id)
{
	io_uring_buf_ring_add(u->br, u->bufs + (size_t)id * URING_BUF_SIZE,
	    URING_BUF_SIZE, (unsigned short)id,
	    io_uring_buf_ring_mask(URING_BUFS), (int)u->br_added);
	u->br_added++;
}

/* Publish the buffers given since the last advance to the kernel. */
static void
advance(uring_t *u)
{
	if (u->br_added == 0)
		return;
	io_uring_buf_ring_advance(u->br, (int)u->br_added);
	u->br_added = 0;
}

int
gnet__uring_bufs_open(uring_t *u)
{
	size_t ring_bytes = URING_BUFS * sizeof(struct io_uring_buf);
	struct io_uring_buf_reg reg;
	unsigned i;
	int rc;

	u->br = mmap(NULL, ring_bytes, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (u->br == MAP_FAILED) {
		u->br = NULL;
		return -errno;
	}
	u->bufs = mmap(NULL, (size_t)URING_BUFS * URING_BUF_SIZE,
	    PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (u->bufs == MAP_FAILED) {
		u->bufs = NULL;
		gnet__uring_bufs_close(u);
		return -errno;
	}
	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (uint64_t)(uintptr_t)u->br;
	reg.ring_entries = URING_BUFS;
	reg.bgid = URING_BUF_GROUP;
	rc = io_uring_register_buf_ring(&u->ring, &reg, 0);
	if (rc != 0) {
		gnet__uring_bufs_close(u);
		return rc;
	}
	io_uring_buf_ring_init(u->br);
	for (i = 0; i < URING_BUFS_FIRST; i++)
		give(u, i);
	u->nbufs = URING_BUFS_FIRST;
	advance(u);
	return 0;
}

void
gnet__uring_bufs_grow(uring_t *u)
{
	unsigned i, to = u->nbufs + URING_BUFS_FIRST;

	if (to > URING_BUFS)
		to = URING_BUFS;
	for (i = u->nbufs; i < to; i++)
		give(u, i);
	u->nbufs = to;
	advance(u);
}

void
gnet__uring_bufs_close(uring_t *u)
{
	/* The ring's exit unregisters the group with it. */
	if (u->bufs != NULL)
		munmap(u->bufs, (size_t)URING_BUFS * URING_BUF_SIZE);
	if (u->br != NULL)
		munmap(u->br, URING_BUFS * sizeof(struct io_uring_buf));
	u->bufs = NULL;
	u->br = NULL;
}

void
gnet__uring_bufs_lend(uring_t *u, unsigned id)
{
	u->lent[u->nlent++] = (uint16_t)id;
}

void
gnet__uring_bufs_give_back(uring_t *u, unsigned id)
{
	give(u, id);
	advance(u);
}

int
gnet__uring_bufs_pin(uring_t *u, const void *buf, size_t len)
{
	uintptr_t p = (uintptr_t)buf, lo = (uintptr_t)u->bufs;
	size_t id;

	if (u->bufs == NULL || p < lo ||
	    p - lo >= (size_t)URING_BUFS * URING_BUF_SIZE)
		return -1;
	id = (p - lo) / URING_BUF_SIZE;
	(void)len; /* a receive's bytes never cross a buffer's end */
	u->pinned[id] = 1;
	return (int)id;
}

void
gnet__uring_bufs_unpin(uring_t *u, int id)
{
	if (id < 0 || !u->pinned[id])
		return;
	u->pinned[id] = 0;
	gnet__uring_bufs_lend(u, (unsigned)id);
}

void
gnet__uring_bufs_reclaim(uring_t *u)
{
	unsigned i;

	/* A pinned buffer comes back through unpin, lent anew. */
	for (i = 0; i < u->nlent; i++)
		if (!u->pinned[u->lent[i]])
			give(u, u->lent[i]);
	u->nlent = 0;
	advance(u);
}

const unsigned char *
gnet__uring_received(gnet__poller_t *p, uint32_t events)
{
	const uring_t *u = p->priv;
	unsigned id = (events & GNET__POLL_BUF_MASK) >> GNET__POLL_BUF_SHIFT;

	return u->bufs + (size_t)id * URING_BUF_SIZE;
}
