/*
 * echo: every byte a client sends comes back to it.
 *
 *     gnetd --loadmodule modules/echo.so listen=tcp://127.0.0.1:9000
 */
#include "gnetmodule.h"

static const char *listen_addr;

static int
echo_traffic(GnetConn *c, void *udata)
{
	const void *p;
	size_t n = GnetModule_Peek(c, &p);

	if (GnetModule_Write(c, p, n) < 0)
		return GNETMODULE_CLOSE;
	GnetModule_Discard(c, n);
	return GNETMODULE_CONTINUE;
}

int
GnetModule_OnLoad(GnetModuleCtx *ctx, const char **argv, int argc)
{
	GnetModuleConfig listen = { .size = sizeof(listen), .name = "listen",
	    .type = GNETMODULE_CONFIG_STRING,
	    .default_value = "tcp://127.0.0.1:9000",
	    .help = "address to serve", .target = &listen_addr };
	GnetModuleListener l = { .size = sizeof(l), .on_traffic = echo_traffic };

	if (GnetModule_Init(ctx, "echo", 1) != GNETMODULE_OK ||
	    GnetModule_Config(ctx, &listen) != GNETMODULE_OK ||
	    GnetModule_ApplyConfig(ctx) != GNETMODULE_OK)
		return GNETMODULE_ERR;
	l.addr = listen_addr;
	return GnetModule_Listen(ctx, &l) < 0 ? GNETMODULE_ERR : GNETMODULE_OK;
}
