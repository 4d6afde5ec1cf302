/*
 * Growable arrays: the lists a loop keeps of what it must come back to
 * (connections to re-read, sends to hand over, descriptors to arm). Not
 * a public header.
 */
#ifndef GNET_BASE_VEC_H
#define GNET_BASE_VEC_H

#include <stddef.h>

/* The array v, n of whose *cap elements of elem bytes are in use, with
 * room for one more: v itself, or v moved to twice the room (16 the
 * first time), *cap updated; NULL when it cannot grow, v then untouched.
 * Thread: the array's owner. */
void *gnet__vec_room(void *v, size_t n, size_t *cap, size_t elem);

#endif
