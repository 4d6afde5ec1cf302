/* Listens, then refuses to load: the host must undo the listener. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include "gnetmodule.h"

static const char *listen_addr;

int
GnetModule_OnLoad(GnetModuleCtx *ctx, const char **argv, int argc)
{
	GnetModuleConfig c = { .size = sizeof(c), .name = "listen",
	    .type = GNETMODULE_CONFIG_STRING, .default_value = "tcp://127.0.0.1:0",
	    .target = &listen_addr };
	GnetModuleListener l = { .size = sizeof(l) };
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (GnetModule_Init(ctx, "refuses", 1) != GNETMODULE_OK ||
	    GnetModule_Config(ctx, &c) != GNETMODULE_OK ||
	    GnetModule_ApplyConfig(ctx) != GNETMODULE_OK)
		return GNETMODULE_ERR;
	l.addr = listen_addr;
	if (GnetModule_Listen(ctx, &l) < 0 ||
	    GnetModule_ListenerAddr(ctx, 0, &ss, &len) != 0)
		return GNETMODULE_ERR;
	return GnetModule_SetError(ctx, "refusing on purpose after listening "
	    "on port %d", ntohs(((struct sockaddr_in *)&ss)->sin_port));
}
