/*
 * Growable arrays (base/vec.h).
 */
#include <stdlib.h>
#include "base/vec.h"

void *
gnet__vec_room(void *v, size_t n, size_t *cap, size_t elem)
{
	size_t ncap;

	if (n < *cap)
		return v;
	ncap = *cap ? *cap * 2 : 16;
	v = realloc(v, ncap * elem);
	if (v != NULL)
		*cap = ncap;
	return v;
}
