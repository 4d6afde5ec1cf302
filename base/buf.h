/*
 * A growable byte buffer with a read offset, used for a connection's
 * inbound and outbound bytes and as a codec's output sink. Not public.
 */
#ifndef GNET_NET_BUF_H
#define GNET_NET_BUF_H

#include <stddef.h>

/* Bytes live in [off, off + len) of data[0..cap). */
typedef struct gnet__buf {
	unsigned char *data;
	size_t off, len, cap;
} gnet__buf_t;

/* Blocks of the smallest size that a thread keeps for reuse. */
#define GNET__BLOCKCACHE_MAX 256

/*
 * A loop's stack of free one-block buffers. A connection gives its
 * outbound block back as soon as it drains (idle connections then hold
 * no buffer), and takes one again at its next write. Straight to malloc,
 * a loop that serves a batch of connections per wait allocates a block
 * for each in a row and then frees them all, which overruns jemalloc's
 * per-thread cache for the size (about 20 blocks) and takes its arena
 * lock in both directions. 256 covers a full batch of events
 * (GNET__POLL_BATCH) for at most 1 MiB per loop.
 */
typedef struct gnet__blockcache {
	unsigned n;
	/* Bytes of larger blocks freed since the owner last trimmed: the
	 * allocator keeps such pages (see base/trim.h) until told. */
	size_t freed_large;
	/* Bytes of the blocks in use that this thread's buffers hold
	 * (capacity: what they cost), and the owner's budget hook: grown
	 * runs, on this thread, when held rises above check_at. */
	size_t held, check_at;
	void (*grown)(void *arg);
	void *grown_arg;
	void *blocks[GNET__BLOCKCACHE_MAX];
} gnet__blockcache_t;

/* Route this thread's one-block allocations through bc (NULL: plain
 * malloc/free again). A loop binds its cache while it runs. Blocks are
 * ordinary malloc blocks: a buffer may be released on any thread. */
void gnet__blockcache_bind(gnet__blockcache_t *bc);
/* Free every cached block. */
void gnet__blockcache_drain(gnet__blockcache_t *bc);

int gnet__buf_append(gnet__buf_t *b, const void *p, size_t n);
/* Drop bytes from the end so that len becomes n (n <= len). */
void gnet__buf_truncate(gnet__buf_t *b, size_t n);
/* Free b's block (to the loop's cache when it has room) and empty b. */
void gnet__buf_free_block(gnet__buf_t *b);

/* The two helpers every read and write calls are inline: as calls into
 * another file they could not be inlined, and they run per message. */

/* Drop the first n bytes (all of them when n >= len). */
static inline void
gnet__buf_consume(gnet__buf_t *b, size_t n)
{
	if (n >= b->len) {
		b->off = 0;
		b->len = 0;
	} else {
		b->off += n;
		b->len -= n;
	}
}

/* Give the block back. Most releases are of a buffer that holds none (a
 * drained buffer gives its block back at once): those cost a test. A
 * buffer without a block has off, len and cap 0 already. */
static inline void
gnet__buf_release(gnet__buf_t *b)
{
	if (b->data != NULL)
		gnet__buf_free_block(b);
}

#endif
