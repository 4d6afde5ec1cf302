/*
 * Cache geometry the layout of shared structures is planned around. A
 * field another thread writes (a ring's counters, a loop's waker, its
 * published stats) keeps to lines of its own so that it does not drag
 * its neighbours between cores; two lines, since the prefetcher fetches
 * an adjacent pair. Not a public header.
 */
#ifndef GNET_BASE_CACHELINE_H
#define GNET_BASE_CACHELINE_H

#define GNET__CACHE_LINE 64
#define GNET__CACHE_PAIR 128

#endif
