/*
 * Resolving the Redis module API by name; see rm_api.h.
 */
#include <stdio.h>
#include "redis/rm_api.h"

#define RM__DEFINE(ret, name, args) ret (*rm_##name) args;
RM_API_LIST(RM__DEFINE)
#undef RM__DEFINE

int
rm_api_resolve(RedisModuleCtx *ctx, char *missing, size_t len)
{
	/* The context's first member: Redis's RM_GetApi. */
	int (*get)(const char *, void *) =
	    (int (*)(const char *, void *))((void **)ctx)[0];

#define RM__RESOLVE(ret, name, args)                                       \
	if (get("RedisModule_" #name, (void *)&rm_##name) != RM_OK ||      \
	    rm_##name == NULL) {                                           \
		snprintf(missing, len, "RedisModule_%s", #name);           \
		return -1;                                                 \
	}
	RM_API_LIST(RM__RESOLVE)
#undef RM__RESOLVE
	return 0;
}
