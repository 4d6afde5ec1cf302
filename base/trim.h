/*
 * Giving freed memory back to the kernel.
 *
 * jemalloc keeps the pages of freed blocks ("dirty") for reuse and
 * returns them to the kernel only as later allocations tick its decay
 * clock. A loop that grew buffers for stalled peers and then went quiet
 * would hold those pages in its RSS indefinitely: a connection stuck at
 * the high watermark cost half as much again as the bytes it buffered,
 * the blocks its buffer grew through. Not public.
 */
#ifndef GNET_BASE_TRIM_H
#define GNET_BASE_TRIM_H

/* Return the calling thread's arena's unused dirty pages to the kernel
 * (madvise). Costs a few system calls per freed extent and the page
 * faults of reusing them, so a loop calls it rarely: once a stats
 * interval at most, and only after it freed large blocks. Without
 * jemalloc (sanitizer builds) it does nothing. Thread: any. */
void gnet__trim_thread_arena(void);

#endif
