/*
 * Extensible structs (base/abi.h).
 */
#include <string.h>
#include "gnet.h"
#include "base/abi.h"

int
gnet__struct_in(void *dst, size_t dst_size, size_t min_size, const void *src)
{
	const unsigned char *p = src;
	size_t size, i;

	memset(dst, 0, dst_size);
	memcpy(dst, &dst_size, sizeof(dst_size));
	memcpy(&size, src, sizeof(size));
	if (size < min_size || size > GNET__STRUCT_SIZE_MAX)
		return GNET_EINVAL;
	for (i = dst_size; i < size; i++)
		if (p[i] != 0)
			return GNET_ENOTSUP;
	memcpy((unsigned char *)dst + sizeof(size), p + sizeof(size),
	    (size < dst_size ? size : dst_size) - sizeof(size));
	return 0;
}

int
gnet__struct_out(void *dst, size_t min_size, const void *src, size_t src_size)
{
	size_t size;

	memcpy(&size, dst, sizeof(size));
	if (size < min_size || size > GNET__STRUCT_SIZE_MAX)
		return GNET_EINVAL;
	memcpy((unsigned char *)dst + sizeof(size),
	    (const unsigned char *)src + sizeof(size),
	    (size < src_size ? size : src_size) - sizeof(size));
	return 0;
}
