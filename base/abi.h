/*
 * Extensible structs: how the library reads a struct the program passed
 * in (options, events, definitions) or fills one it passed out (stats),
 * when the program was compiled against an older or a newer gnet.h than
 * the library was built with -- as a module built apart from its host
 * will be.
 *
 * Each such struct starts with `size_t size`, which the program sets to
 * the sizeof it knows. Fields are only ever appended, so the first
 * min(size, ours) bytes mean the same to both sides. Reading one in:
 *   - a size below the struct's first published size (a size left 0
 *     among them) is not such a struct: GNET_EINVAL;
 *   - a size up to ours is copied, and the fields the program's header
 *     lacked read as zero: their documented defaults;
 *   - a size above ours is accepted only when every byte this library
 *     does not know is zero: a program that set a field this library
 *     lacks must hear so (GNET_ENOTSUP) rather than have it ignored.
 * Linux reads the structs of its newer system calls (clone3, openat2) by
 * the same rule. Not a public header.
 */
#ifndef GNET_BASE_ABI_H
#define GNET_BASE_ABI_H

#include <stddef.h>

/* The size of T up to and including member m: a struct's first
 * published size, which fields appended after m do not change. */
#define GNET__SIZE_THROUGH(T, m) (offsetof(T, m) + sizeof(((T *)0)->m))

/* No struct of the API comes near this: a larger size is garbage (an
 * unset field), and reading that far could run off the program's memory. */
#define GNET__STRUCT_SIZE_MAX 4096

/* Copy the program's struct at src (its size in its first member) into
 * dst (ours: dst_size bytes, whose first member is set to dst_size).
 * min_size is the first published size. Returns 0, GNET_EINVAL or
 * GNET_ENOTSUP; on error dst is left zeroed but for its size. */
int gnet__struct_in(void *dst, size_t dst_size, size_t min_size,
    const void *src);

/* Fill the program's struct at dst (its size in its first member, which
 * is kept) from ours at src: the first min(its size, src_size) bytes.
 * Returns 0, or GNET_EINVAL when its size is below min_size. */
int gnet__struct_out(void *dst, size_t min_size, const void *src,
    size_t src_size);

#endif
