/* A module that needs a function no host has: its load must fail naming
 * GnetModule_Teleport. */
#include "gnetmodule.h"

static int (*GnetModule_Teleport)(GnetModuleCtx *ctx);

int
GnetModule_OnLoad(GnetModuleCtx *ctx, const char **argv, int argc)
{
	if (GnetModule_Init(ctx, "needs_teleport", 1) != GNETMODULE_OK ||
	    GNETMODULE_GET_API(ctx, "GnetModule_Teleport",
	    &GnetModule_Teleport) != GNETMODULE_OK)
		return GNETMODULE_ERR;
	return GnetModule_Teleport(ctx);
}
