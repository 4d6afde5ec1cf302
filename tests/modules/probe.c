/*
 * A module that shows what it was given and when it is called: every
 * typed config, echoed as a log line at load; an echo listener whose
 * opens and closes are logged ("open", "close REASON"); a tick on every
 * loop counting into stats section "probe" counter "ticks"; a counter
 * "bytes" of bytes echoed; and a log line from OnUnload.
 */
#include <string.h>
#include "gnetmodule.h"

static const char *listen_addr, *name;
static long long number, size;
static int flag;
static GnetModuleStats *stats;
static GnetModuleCtx *the_ctx;

static int
refuse_seven(const void *value, char *err, size_t errlen)
{
	if (*(const long long *)value != 7)
		return 0;
	strncpy(err, "seven is refused", errlen - 1);
	return 1;
}

static int
probe_open(GnetConn *c, void *udata)
{
	GnetModule_Log(udata, GNETMODULE_LOG_INFO, "open");
	return GNETMODULE_CONTINUE;
}

static int
probe_traffic(GnetConn *c, void *udata)
{
	const void *p;
	size_t n = GnetModule_Peek(c, &p);

	if (GnetModule_Write(c, p, n) < 0)
		return GNETMODULE_CLOSE;
	GnetModule_Discard(c, n);
	GNETMODULE_STAT_ADD(GnetModule_StatsRow(stats, GnetModule_ConnLoop(c)),
	    1, n);
	return GNETMODULE_CONTINUE;
}

static void
probe_close(GnetConn *c, int reason, void *udata)
{
	GnetModule_Log(udata, GNETMODULE_LOG_INFO, "close %d", reason);
}

static void
probe_tick(int loop, void *udata)
{
	GNETMODULE_STAT_ADD(GnetModule_StatsRow(stats, loop), 0, 1);
}

int
GnetModule_OnLoad(GnetModuleCtx *ctx, const char **argv, int argc)
{
	static const char *const counters[] = { "ticks", "bytes" };
	GnetModuleConfig defs[] = {
		{ .size = sizeof(GnetModuleConfig), .name = "listen",
		  .type = GNETMODULE_CONFIG_STRING,
		  .default_value = "tcp://127.0.0.1:0", .target = &listen_addr },
		{ .size = sizeof(GnetModuleConfig), .name = "number",
		  .type = GNETMODULE_CONFIG_INT, .default_value = "5",
		  .min = 1, .max = 10, .target = &number,
		  .validate = refuse_seven, .help = "1 to 10, but not 7" },
		{ .size = sizeof(GnetModuleConfig), .name = "size",
		  .type = GNETMODULE_CONFIG_BYTES, .default_value = "8k",
		  .target = &size },
		{ .size = sizeof(GnetModuleConfig), .name = "flag",
		  .type = GNETMODULE_CONFIG_BOOL, .default_value = "no",
		  .target = &flag },
		{ .size = sizeof(GnetModuleConfig), .name = "name",
		  .type = GNETMODULE_CONFIG_STRING, .target = &name,
		  .help = "required" },
	};
	GnetModuleListener l = { .size = sizeof(l), .on_open = probe_open,
	    .on_traffic = probe_traffic, .on_close = probe_close, .udata = ctx };
	size_t i;

	if (GnetModule_Init(ctx, "probe", 3) != GNETMODULE_OK)
		return GNETMODULE_ERR;
	for (i = 0; i < sizeof(defs) / sizeof(defs[0]); i++)
		if (GnetModule_Config(ctx, &defs[i]) != GNETMODULE_OK)
			return GNETMODULE_ERR;
	if (GnetModule_ApplyConfig(ctx) != GNETMODULE_OK)
		return GNETMODULE_ERR;
	GnetModule_Log(ctx, GNETMODULE_LOG_INFO,
	    "config number=%lld size=%lld flag=%d name=%s", number, size, flag,
	    name);
	if (GnetModule_RegisterStats(ctx, "probe", counters, 2, &stats) != 0 ||
	    GnetModule_Tick(ctx, -1, 5, probe_tick, NULL) != 0)
		return GNETMODULE_ERR;
	l.addr = listen_addr;
	the_ctx = ctx;
	return GnetModule_Listen(ctx, &l) < 0 ? GNETMODULE_ERR : GNETMODULE_OK;
}

void
GnetModule_OnUnload(GnetModuleCtx *ctx)
{
	GnetModule_Log(ctx, GNETMODULE_LOG_INFO, "unload %s",
	    ctx == the_ctx ? "same ctx" : "other ctx");
}
