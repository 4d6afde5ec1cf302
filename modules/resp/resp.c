/*
 * resp -- a Redis-protocol (RESP2) server module whose keyspace is split
 * into shards, one per loop, each served by an actor of that loop:
 *
 *     gnetd --loops 2 --loadmodule modules/resp.so listen=tcp://127.0.0.1:6380
 *
 * redis-cli, redis-benchmark and Redis client libraries work against it.
 * Replies are Redis 7.0's, byte for byte, for the commands it has
 * (command.h lists them; admin.c says where it differs on purpose). A
 * key belongs to the shard shard_of() names; a connection on any loop
 * reaches it by message, without locks (resp.h, route.c). Only database
 * 0 exists; nothing is persisted.
 *
 * Configs (name=value; `gnetd --help-module` lists them): listen,
 * maxmemory (writes refused with Redis's OOM error above it; 0: none),
 * proto-max-bulk-len, proto-max-multibulk-len, proto-inline-max-size,
 * client-query-buffer-limit (the codec's limits, gnet.h's
 * gnet_resp_limits_t), max-pending (replies a connection may owe before
 * its reading pauses), hz (active expiry cycles per second).
 *
 * Several loads (different ports) each have their own keyspace: what a
 * load configures lives in its resp_server_t, found again at unload
 * through the context.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "resp.h"

/* Keys with a time looked at per active expiry cycle of one shard. */
#define RESP_EXPIRE_BUDGET 200

static const char *const stat_names[RST_COUNT] = {
	[RST_COMMANDS] = "commands",
	[RST_REMOTE] = "remote",
	[RST_SCATTERED] = "scattered",
	[RST_SERVED] = "served_for_other_loops",
	[RST_ERRORS] = "error_replies",
	[RST_PROTOCOL_ERRORS] = "protocol_errors",
	[RST_CONNS_OPENED] = "connections_opened",
	[RST_CONNS_OPEN] = "connections_open",
	[RST_PAUSED] = "reads_paused",
};

uint64_t
resp_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t
resp_used_memory(const resp_server_t *srv)
{
	uint64_t sum = 0;

	for (int i = 0; i < srv->nloops; i++)
		sum += shard_used_memory(srv->loops[i].shard);
	return sum;
}

uint64_t *
resp_loop_row(resp_loop_t *lp)
{
	if (lp->row == NULL) {
		lp->row = GnetModule_StatsRow(lp->srv->stats, lp->index);
		if (lp->row == NULL)
			lp->row = lp->spare_row;
	}
	return lp->row;
}

static void
expire_tick(int loop, void *udata)
{
	resp_server_t *srv = udata;

	if (loop >= 0 && loop < srv->nloops)
		shard_expire_cycle(srv->loops[loop].shard, resp_now_ms(),
		    RESP_EXPIRE_BUDGET);
}

/* ------------------------------------------------------------------------
 * Configs.
 */
static int
check_listen(const void *value, char *err, size_t errlen)
{
	const char *s = value;

	if (strncmp(s, "tcp://", 6) == 0 || strncmp(s, "unix://", 7) == 0)
		return 0;
	snprintf(err, errlen, "RESP needs a stream: tcp://HOST:PORT or "
	    "unix://PATH, not \"%s\"", s);
	return 1;
}

static int
declare_configs(GnetModuleCtx *ctx, resp_server_t *srv)
{
	const GnetModuleConfig defs[] = {
		{ .size = sizeof(GnetModuleConfig), .name = "listen",
		    .type = GNETMODULE_CONFIG_STRING,
		    .default_value = "tcp://127.0.0.1:6380",
		    .help = "address to serve (tcp:// or unix://)",
		    .target = &srv->listen_addr, .validate = check_listen },
		{ .size = sizeof(GnetModuleConfig), .name = "maxmemory",
		    .type = GNETMODULE_CONFIG_BYTES, .default_value = "0",
		    .help = "bytes of keys and values above which writes are "
		    "refused (0: no limit)", .min = 0,
		    .max = (long long)1 << 50, .target = &srv->maxmemory },
		{ .size = sizeof(GnetModuleConfig),
		    .name = "proto-max-bulk-len",
		    .type = GNETMODULE_CONFIG_BYTES, .default_value = "512m",
		    .help = "longest argument", .min = 1,
		    .max = 0xffffffffLL, .target = &srv->max_bulk_len },
		{ .size = sizeof(GnetModuleConfig),
		    .name = "proto-max-multibulk-len",
		    .type = GNETMODULE_CONFIG_INT, .default_value = "2147483647",
		    .help = "most arguments in one command", .min = 1,
		    .max = 2147483647LL, .target = &srv->max_args },
		{ .size = sizeof(GnetModuleConfig),
		    .name = "proto-inline-max-size",
		    .type = GNETMODULE_CONFIG_BYTES, .default_value = "64k",
		    .help = "longest inline command or count line", .min = 16,
		    .max = (long long)1 << 30, .target = &srv->max_inline_len },
		{ .size = sizeof(GnetModuleConfig),
		    .name = "client-query-buffer-limit",
		    .type = GNETMODULE_CONFIG_BYTES, .default_value = "1g",
		    .help = "longest whole command; the connection closes "
		    "beyond", .min = 1024, .max = 0xffffffffLL,
		    .target = &srv->query_buffer_limit },
		{ .size = sizeof(GnetModuleConfig), .name = "max-pending",
		    .type = GNETMODULE_CONFIG_INT, .default_value = "1024",
		    .help = "replies a connection may owe before it stops "
		    "reading", .min = 2, .max = 1 << 20,
		    .target = &srv->max_pending },
		{ .size = sizeof(GnetModuleConfig), .name = "hz",
		    .type = GNETMODULE_CONFIG_INT, .default_value = "10",
		    .help = "active expiry cycles per second per shard",
		    .min = 1, .max = 500, .target = &srv->hz },
	};

	for (size_t i = 0; i < sizeof defs / sizeof defs[0]; i++)
		if (GnetModule_Config(ctx, &defs[i]) != GNETMODULE_OK)
			return GNETMODULE_ERR;
	return GnetModule_ApplyConfig(ctx);
}

/* ------------------------------------------------------------------------
 * Load and unload.
 */
static void
server_free(resp_server_t *srv)
{
	if (srv->loops != NULL) {
		for (int i = 0; i < srv->nloops; i++) {
			resp_loop_t *lp = &srv->loops[i];

			resp_envelopes_free_left(lp);
			shard_free(lp->shard);
			reply_free(&lp->out);
			free(lp->argv);
			free(lp->scratch);
		}
		free(srv->loops);
	}
	free(srv);
}

static int
make_codec(GnetModuleCtx *ctx, resp_server_t *srv)
{
	GnetRespLimits lim = { .size = sizeof lim,
	    .max_bulk_len = (size_t)srv->max_bulk_len,
	    .max_args = (size_t)srv->max_args,
	    .max_inline_len = (size_t)srv->max_inline_len,
	    .max_frame = (size_t)srv->query_buffer_limit };
	int rc = GnetModule_CodecResp(ctx, &lim, &srv->codec);

	if (rc != GNETMODULE_OK)
		return GnetModule_SetError(ctx, "the RESP codec: %s",
		    GnetModule_Strerror(rc));
	if (GnetModule_CodecStateSize(srv->codec) > RESP_DECODER_STATE)
		return GnetModule_SetError(ctx, "the RESP decoder keeps %zu "
		    "bytes a connection, more than the %d kept for it",
		    GnetModule_CodecStateSize(srv->codec), RESP_DECODER_STATE);
	return GNETMODULE_OK;
}

/* One shard and one actor per loop. */
static int
make_loops(GnetModuleCtx *ctx, resp_server_t *srv)
{
	srv->nloops = GnetModule_NumLoops(ctx);
	if (srv->nloops <= 0 || srv->nloops > 64)
		return GnetModule_SetError(ctx, "%d loops: resp shards over "
		    "1 to 64", srv->nloops);
	srv->loops = aligned_alloc(_Alignof(resp_loop_t),
	    (size_t)srv->nloops * sizeof(resp_loop_t));
	if (srv->loops == NULL)
		return GnetModule_SetError(ctx, "out of memory");
	memset(srv->loops, 0, (size_t)srv->nloops * sizeof(resp_loop_t));
	for (int i = 0; i < srv->nloops; i++) {
		resp_loop_t *lp = &srv->loops[i];
		GnetModuleActor def = { .size = sizeof def,
		    .receive = resp_actor_receive, .state = lp,
		    .name = "resp.shard" };
		int rc;

		lp->srv = srv;
		lp->index = i;
		reply_init(&lp->out);
		if ((lp->shard = shard_new(i)) == NULL)
			return GnetModule_SetError(ctx, "out of memory");
		rc = GnetModule_Spawn(ctx, i, &def, &lp->actor);
		if (rc != GNETMODULE_OK)
			return GnetModule_SetError(ctx, "shard actor: %s",
			    GnetModule_Strerror(rc));
	}
	return GNETMODULE_OK;
}

static int
server_start(GnetModuleCtx *ctx, resp_server_t *srv)
{
	GnetModuleListener l = { .size = sizeof(l),
	    .on_open = resp_on_open, .on_traffic = resp_on_traffic,
	    .on_close = resp_on_close,
	    .conn_state_size = sizeof(resp_conn_t), .udata = srv };
	int rc;

	srv->started_ms = resp_now_ms();
	if (make_codec(ctx, srv) != GNETMODULE_OK ||
	    make_loops(ctx, srv) != GNETMODULE_OK)
		return GNETMODULE_ERR;
	rc = GnetModule_RegisterStats(ctx, "resp", stat_names, RST_COUNT,
	    &srv->stats);
	if (rc != GNETMODULE_OK)
		return GnetModule_SetError(ctx, "stats: %s",
		    GnetModule_Strerror(rc));
	rc = GnetModule_Tick(ctx, -1, (uint64_t)(1000 / srv->hz), expire_tick,
	    srv);
	if (rc != GNETMODULE_OK)
		return GnetModule_SetError(ctx, "tick: %s",
		    GnetModule_Strerror(rc));
	/* No codec on the listener: traffic.c decodes a batch at a time. */
	l.addr = srv->listen_addr;
	rc = GnetModule_Listen(ctx, &l);
	if (rc < 0)
		return GnetModule_SetError(ctx, "listen %s: %s",
		    srv->listen_addr, GnetModule_Strerror(rc));
	return GNETMODULE_OK;
}

int
GnetModule_OnLoad(GnetModuleCtx *ctx, const char **argv, int argc)
{
	resp_server_t *srv;

	(void)argv;
	(void)argc;
	if (GnetModule_Init(ctx, "resp", 1) != GNETMODULE_OK ||
	    resp_conn_init_api(ctx) != GNETMODULE_OK ||
	    resp_route_init_api(ctx) != GNETMODULE_OK ||
	    resp_traffic_init_api(ctx) != GNETMODULE_OK)
		return GNETMODULE_ERR;
	if ((srv = calloc(1, sizeof *srv)) == NULL)
		return GnetModule_SetError(ctx, "out of memory");
	srv->ctx = ctx;
	/* On failure the host undoes what was registered (the actors
	 * included) before anything ran: the state can go at once. */
	if (declare_configs(ctx, srv) != GNETMODULE_OK ||
	    server_start(ctx, srv) != GNETMODULE_OK) {
		server_free(srv);
		return GNETMODULE_ERR;
	}
	GnetModule_SetModuleData(ctx, srv);
	return GNETMODULE_OK;
}

void
GnetModule_OnUnload(GnetModuleCtx *ctx)
{
	resp_server_t *srv = GnetModule_ModuleData(ctx);

	if (srv != NULL)
		server_free(srv);
}
