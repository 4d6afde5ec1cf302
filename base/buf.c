/*
 * Connection byte buffers. Appends compact before they grow, so a buffer
 * that is drained as fast as it fills never moves to a bigger block.
 */
#include <stdlib.h>
#include <string.h>
#include "gnet.h"
#include "base/sanitizer.h"
#include "base/buf.h"

/* Smallest block worth allocating: one typical write fits. */
#define BUF_MIN_CAP 4096

/* Cached blocks are poisoned under AddressSanitizer, so a buffer used
 * after its release is still reported. */
#ifdef GNET__ASAN
#include <sanitizer/asan_interface.h>
#define BLOCK_POISON(p) ASAN_POISON_MEMORY_REGION((p), BUF_MIN_CAP)
#define BLOCK_UNPOISON(p) ASAN_UNPOISON_MEMORY_REGION((p), BUF_MIN_CAP)
#else
#define BLOCK_POISON(p) ((void)(p))
#define BLOCK_UNPOISON(p) ((void)(p))
#endif

/* initial-exec: see gnet__tls_loop in kernel/kernel.h. */
static _Thread_local gnet__blockcache_t *tls_blocks
    __attribute__((tls_model("initial-exec")));

void
gnet__blockcache_bind(gnet__blockcache_t *bc)
{
	tls_blocks = bc;
}

void
gnet__blockcache_drain(gnet__blockcache_t *bc)
{
	while (bc != NULL && bc->n != 0) {
		void *p = bc->blocks[--bc->n];
		BLOCK_UNPOISON(p);
		free(p);
	}
}

static unsigned char *
block_alloc(size_t cap)
{
	gnet__blockcache_t *bc = tls_blocks;

	if (cap == BUF_MIN_CAP && bc != NULL && bc->n != 0) {
		unsigned char *p = bc->blocks[--bc->n];
		BLOCK_UNPOISON(p);
		return p;
	}
	return malloc(cap);
}

static void
block_free(unsigned char *p, size_t cap)
{
	gnet__blockcache_t *bc = tls_blocks;

	/* A buffer's first block replaces none: no call into the
	 * allocator for that (free(NULL) was 0.5% of an echo server's CPU
	 * at one connection, when releases of empty buffers came here). */
	if (p == NULL)
		return;
	if (cap == BUF_MIN_CAP && bc != NULL && bc->n < GNET__BLOCKCACHE_MAX) {
		BLOCK_POISON(p);
		bc->blocks[bc->n++] = p;
		return;
	}
	free(p);
}

int
gnet__buf_append(gnet__buf_t *b, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	if (b->off + b->len + n > b->cap) {
		if (b->len + n <= b->cap && b->off >= b->len) {
			/* Enough room once the consumed prefix is dropped,
			 * and the copy is no bigger than what was consumed. */
			memmove(b->data, b->data + b->off, b->len);
			b->off = 0;
		} else {
			size_t need = b->len + n, ncap = b->cap ? b->cap : BUF_MIN_CAP;
			unsigned char *nd;
			while (ncap < need)
				ncap *= 2;
			nd = block_alloc(ncap);
			if (nd == NULL)
				return GNET_ENOMEM;
			if (b->len != 0)
				memcpy(nd, b->data + b->off, b->len);
			block_free(b->data, b->cap);
			b->data = nd;
			b->cap = ncap;
			b->off = 0;
		}
	}
	memcpy(b->data + b->off + b->len, p, n);
	b->len += n;
	return 0;
}

void
gnet__buf_truncate(gnet__buf_t *b, size_t n)
{
	if (n < b->len)
		b->len = n;
	if (b->len == 0)
		b->off = 0;
}

void
gnet__buf_free_block(gnet__buf_t *b)
{
	block_free(b->data, b->cap);
	b->data = NULL;
	b->off = b->len = b->cap = 0;
}
