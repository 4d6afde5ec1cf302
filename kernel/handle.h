/*
 * Actor handles: loop index (8 bits) | slot (24 bits) | generation (32).
 * The generation changes every time a slot is freed, so a handle outlives
 * its actor safely: lookups compare generations and refuse stale handles.
 */
#ifndef GNET_KERNEL_HANDLE_H
#define GNET_KERNEL_HANDLE_H

#include <stdint.h>
#include "gnet.h"

#define GNET__SLOT_BITS 24
#define GNET__MAX_SLOTS (1u << GNET__SLOT_BITS)

static inline gnet_handle_t
gnet__handle_make(unsigned loop, uint32_t slot, uint32_t gen)
{
	return ((uint64_t)loop << 56) | ((uint64_t)slot << 32) | gen;
}

static inline unsigned
gnet__handle_loop(gnet_handle_t h)
{
	return (unsigned)(h >> 56);
}

static inline uint32_t
gnet__handle_slot(gnet_handle_t h)
{
	return (uint32_t)(h >> 32) & (GNET__MAX_SLOTS - 1);
}

static inline uint32_t
gnet__handle_gen(gnet_handle_t h)
{
	return (uint32_t)h;
}

#endif
