/*
 * The library's own version, for a program to compare with the header it
 * was built against (GNET_VERSION_NUMBER).
 */
#include "gnet.h"

#define STR_(x) #x
#define STR(x) STR_(x)

int
gnet_version(void)
{
	return GNET_VERSION_NUMBER;
}

const char *
gnet_version_string(void)
{
	return STR(GNET_VERSION_MAJOR) "." STR(GNET_VERSION_MINOR) "."
	    STR(GNET_VERSION_PATCH);
}
