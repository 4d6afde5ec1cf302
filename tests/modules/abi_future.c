/* A module built for an ABI no host speaks yet. */
#define GNETMODULE_ABI_VERSION 99
#include "gnetmodule.h"

int
GnetModule_OnLoad(GnetModuleCtx *ctx, const char **argv, int argc)
{
	return GnetModule_Init(ctx, "abi_future", 1);
}
