/*
 * Purging a thread's jemalloc arena, when jemalloc is the allocator.
 */
#include <stdio.h>
#include "base/trim.h"

/* jemalloc's control call, declared here (Debian's jemalloc has no
 * prefix). Weak: sanitizer builds link no jemalloc, and a program may
 * use libgnet with another allocator; the call is then absent. */
extern int mallctl(const char *name, void *oldp, size_t *oldlenp,
    void *newp, size_t newlen) __attribute__((weak));

void
gnet__trim_thread_arena(void)
{
	unsigned arena;
	size_t len = sizeof(arena);
	char name[48];

	if (mallctl == NULL)
		return;
	/* Blocks up to the thread cache's limit wait in it, not in the
	 * arena: flush them there first. */
	(void)mallctl("thread.tcache.flush", NULL, NULL, NULL, 0);
	if (mallctl("thread.arena", &arena, &len, NULL, 0) != 0)
		return;
	snprintf(name, sizeof(name), "arena.%u.purge", arena);
	(void)mallctl(name, NULL, NULL, NULL, 0);
}
