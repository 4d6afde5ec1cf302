/*
 * Connection byte buffers. Appends compact before they grow, so a buffer
 * that is drained as fast as it fills never moves to a bigger block.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "gnet.h"
#include "base/fault.h"
#include "base/sanitizer.h"
#include "base/buf.h"

/* Smallest block worth allocating: one typical write fits. */
#define BUF_MIN_CAP 4096
/*
 * Blocks from this size on are mappings of their own, not malloc blocks.
 * Only a buffer that outgrew the default high watermark gets one: a
 * stalled peer's, or a big frame's. As a malloc block it would cost more
 * than it holds: the allocator rounds such sizes up by as much as a
 * fifth, and a block it hands out again from freed pages is resident to
 * its end, where a fresh mapping is resident only where written. A
 * mapping grows with mremap, which moves page tables rather than bytes,
 * by a sixteenth at a time, and munmap gives it back to the kernel at
 * once.
 */
#define BUF_MAP_MIN ((size_t)1024 * 1024)
#define PAGE_ROUND(n) (((n) + 4095) & ~(size_t)4095)

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

/* Count cap more (or fewer) bytes held by this thread's buffers. */
static void
count_held(gnet__blockcache_t *bc, size_t add, size_t sub)
{
	if (bc == NULL)
		return;
	/* A block allocated where no cache was bound is not counted in. */
	bc->held -= sub < bc->held ? sub : bc->held;
	bc->held += add;
	if (bc->held > bc->check_at && bc->grown != NULL)
		bc->grown(bc->grown_arg);
}

static unsigned char *
block_alloc(size_t cap)
{
	gnet__blockcache_t *bc = tls_blocks;
	unsigned char *p;

	if (cap >= BUF_MAP_MIN) {
		p = mmap(NULL, cap, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return NULL;
	} else if (cap == BUF_MIN_CAP && bc != NULL && bc->n != 0) {
		p = bc->blocks[--bc->n];
		BLOCK_UNPOISON(p);
	} else {
		p = gnet__fault_fails(GNET__FAULT_ALLOC) ? NULL : malloc(cap);
		if (p == NULL)
			return NULL;
	}
	count_held(bc, cap, 0);
	return p;
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
	count_held(bc, 0, cap);
	if (cap >= BUF_MAP_MIN) {
		munmap(p, cap);
		return;
	}
	if (cap == BUF_MIN_CAP && bc != NULL && bc->n < GNET__BLOCKCACHE_MAX) {
		BLOCK_POISON(p);
		bc->blocks[bc->n++] = p;
		return;
	}
	if (bc != NULL && cap > BUF_MIN_CAP)
		bc->freed_large += cap;
	free(p);
}

/* The block size for need bytes: doubling while blocks come from malloc,
 * so a buffer reaches its working size in a few copies; a sixteenth more
 * at a time once mapped, so a connection stuck with a large buffer is
 * given little more than it holds. */
static size_t
next_cap(size_t cap, size_t need)
{
	size_t ncap = cap != 0 ? cap : BUF_MIN_CAP;

	while (ncap < need)
		ncap = ncap < BUF_MAP_MIN ? ncap * 2 : ncap + ncap / 16;
	return ncap >= BUF_MAP_MIN ? PAGE_ROUND(ncap) : ncap;
}

/* A bigger block for at least need live bytes, which start at offset 0
 * afterwards. */
static int
grow(gnet__buf_t *b, size_t need)
{
	size_t ncap = next_cap(b->cap, need);
	unsigned char *nd;

	if (b->cap >= BUF_MAP_MIN) {
		if (b->off != 0) {
			memmove(b->data, b->data + b->off, b->len);
			b->off = 0;
		}
		nd = mremap(b->data, b->cap, ncap, MREMAP_MAYMOVE);
		if (nd == MAP_FAILED)
			return GNET_ENOMEM;
		count_held(tls_blocks, ncap, b->cap);
	} else {
		nd = block_alloc(ncap);
		if (nd == NULL)
			return GNET_ENOMEM;
		if (b->len != 0)
			memcpy(nd, b->data + b->off, b->len);
		block_free(b->data, b->cap);
	}
	b->data = nd;
	b->cap = ncap;
	b->off = 0;
	return 0;
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
		} else if (grow(b, b->len + n) != 0) {
			return GNET_ENOMEM;
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
