/*
 * The functions a module resolves by name (gnetmodule.h's list). Those
 * that act on a connection or an actor are libgnet's own functions, given
 * as they are: a module's call costs what a program's does. Those that
 * need the module (its engine, its group, what it registered) take its
 * context and are defined here.
 *
 * Each name's function is checked against the header's type at compile
 * time (the API_TYPE_CHECK below), so the table cannot drift from the
 * header.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "host/host.h"

_Static_assert(sizeof(GnetMsg) == sizeof(gnet_msg_t), "one message struct");
_Static_assert(GNETMODULE_MSG_USER == GNET_MSG_USER, "user message types");
_Static_assert(GNETMODULE_ETHREAD == GNET_ETHREAD &&
    GNETMODULE_ESTATE == GNET_ESTATE && GNETMODULE_ECLOSED == GNET_ECLOSED &&
    GNETMODULE_ESHUTDOWN == GNET_ESHUTDOWN && GNETMODULE_EINVAL ==
    GNET_EINVAL && GNETMODULE_EAGAIN == GNET_EAGAIN, "error codes");
_Static_assert(GNETMODULE_CONTINUE == GNET_NONE &&
    GNETMODULE_CLOSE == GNET_CLOSE, "callback results");
/* A module's callbacks return int where gnet_events_t's return
 * gnet_action_t: the same values in the same register. */
_Static_assert(sizeof(gnet_action_t) == sizeof(int), "action is an int");

/* ---- load ---- */

static int
api_SetInfo(GnetModuleCtx *ctx, const char *name, int version,
    int abi_version)
{
	gnet_module_t *m = module_of(ctx);

	if (m->state != MODULE_LOADING)
		return GNETMODULE_ESTATE;
	m->abi = abi_version;
	m->version = version;
	if (name != NULL && name[0] != '\0')
		snprintf(m->name, sizeof(m->name), "%s", name);
	return abi_version >= HOST_ABI_MIN && abi_version <= HOST_ABI_MAX ?
	    GNETMODULE_OK : GNETMODULE_ERR;
}

static int
api_Config(GnetModuleCtx *ctx, const GnetModuleConfig *def)
{
	return config_declare(module_of(ctx), def);
}

static int
api_ApplyConfig(GnetModuleCtx *ctx)
{
	return config_apply(module_of(ctx));
}

static int
api_SetError(GnetModuleCtx *ctx, const char *fmt, ...)
{
	va_list ap;

	if (fmt != NULL) {
		va_start(ap, fmt);
		module_vfail(module_of(ctx), fmt, ap);
		va_end(ap);
	}
	return GNETMODULE_ERR;
}

static int
api_Listen(GnetModuleCtx *ctx, const GnetModuleListener *def)
{
	gnet_module_t *m = module_of(ctx);
	gnet_host_t *h = m->host;
	GnetModuleListener l = { 0 };
	gnet_events_t ev = { .size = sizeof(ev) };
	gnet_listen_options_t o = { .size = sizeof(o) };
	int rc;

	if (m->state != MODULE_LOADING)
		return GNETMODULE_ESTATE;
	if (def == NULL || def->size < sizeof(l) || def->addr == NULL) {
		module_fail(m, "GnetModule_Listen: no address or a bad struct "
		    "size");
		return GNETMODULE_EINVAL;
	}
	memcpy(&l, def, sizeof(l));
	if (m->nlisteners == HOST_MAX_MODULE_LISTENERS) {
		module_fail(m, "listen %s: a module has at most %d listeners",
		    l.addr, HOST_MAX_MODULE_LISTENERS);
		return GNET_ELIMIT;
	}
	if (h->dry_run) {
		rc = gnet_addr_check(l.addr);
		if (rc != 0)
			module_fail(m, "listen %s: %s", l.addr, gnet_strerror(rc));
		return rc != 0 ? rc : m->nlisteners++;
	}
	ev.on_open = (gnet_action_t (*)(gnet_conn_t *, void *))l.on_open;
	ev.on_traffic = (gnet_action_t (*)(gnet_conn_t *, void *))l.on_traffic;
	ev.on_close = l.on_close;
	ev.on_message = (gnet_action_t (*)(gnet_conn_t *, const gnet_msg_t *,
	    void *))l.on_message;
	ev.on_backpressure = l.on_backpressure;
	o.events = &ev;
	o.udata = l.udata;
	o.codec = l.codec;
	o.conn_state_size = l.conn_state_size;
	o.group = m->group;
	rc = gnet_engine_listen_with(h->eng, l.addr, &o);
	if (rc < 0) {
		module_fail(m, "listen %s: %s", l.addr, gnet_strerror(rc));
		return rc;
	}
	m->listeners[m->nlisteners] = rc;
	return m->nlisteners++;
}

static int
api_ListenerAddr(GnetModuleCtx *ctx, int index, struct sockaddr_storage *out,
    socklen_t *len)
{
	return gnet_module_listener_addr(module_of(ctx), index, out, len);
}

static int
api_NumLoops(GnetModuleCtx *ctx)
{
	return gnet_engine_num_loops(module_of(ctx)->host->eng);
}

static void
api_SetModuleData(GnetModuleCtx *ctx, void *data)
{
	module_of(ctx)->data = data;
}

static void *
api_ModuleData(GnetModuleCtx *ctx)
{
	return module_of(ctx)->data;
}

/* A codec made for the module is freed with it. rc and c are the
 * constructor's result and codec, so the constructor must have run
 * before this is called (not in its argument list: C leaves the order
 * of arguments unspecified). */
static int
keep_codec(gnet_module_t *m, int rc, gnet_codec_t *c, const GnetCodec **out)
{
	if (rc == 0 && owned_codec(m, c) != 0) {
		gnet_codec_free(c);
		rc = GNET_ENOMEM;
	}
	if (rc != 0) {
		module_fail(m, "codec: %s", gnet_strerror(rc));
		return rc;
	}
	*out = c;
	return 0;
}

static int
api_CodecLine(GnetModuleCtx *ctx, size_t max_frame, const GnetCodec **out)
{
	gnet_codec_t *c = NULL;
	int rc;

	if (out == NULL)
		return GNETMODULE_EINVAL;
	rc = gnet_codec_new_line(&c, max_frame);
	return keep_codec(module_of(ctx), rc, c, out);
}

static int
api_CodecDelimiter(GnetModuleCtx *ctx, const void *delim, size_t len,
    size_t max_frame, const GnetCodec **out)
{
	gnet_codec_t *c = NULL;
	int rc;

	if (out == NULL)
		return GNETMODULE_EINVAL;
	rc = gnet_codec_new_delimiter(&c, delim, len, max_frame);
	return keep_codec(module_of(ctx), rc, c, out);
}

static int
api_CodecFixed(GnetModuleCtx *ctx, size_t frame_len, const GnetCodec **out)
{
	gnet_codec_t *c = NULL;
	int rc;

	if (out == NULL)
		return GNETMODULE_EINVAL;
	rc = gnet_codec_new_fixed(&c, frame_len);
	return keep_codec(module_of(ctx), rc, c, out);
}

static int
api_CodecResp(GnetModuleCtx *ctx, const GnetRespLimits *lim,
    const GnetCodec **out)
{
	gnet_codec_t *c = NULL;
	int rc;

	if (out == NULL)
		return GNETMODULE_EINVAL;
	rc = gnet_codec_new_resp(&c, lim);
	return keep_codec(module_of(ctx), rc, c, out);
}

/* ---- actors ---- */

static int
api_Spawn(GnetModuleCtx *ctx, int loop, const GnetModuleActor *def,
    GnetHandle *out)
{
	gnet_module_t *m = module_of(ctx);
	gnet_actor_def_t d = { .size = sizeof(d) };

	/* A module built before `name` was added passes a smaller struct. */
	if (def == NULL || def->size < offsetof(GnetModuleActor, name) ||
	    out == NULL)
		return GNETMODULE_EINVAL;
	if (m->state == MODULE_ENDING)
		return GNETMODULE_ESHUTDOWN;
	d.receive = (void (*)(gnet_actor_t *, const gnet_msg_t *))def->receive;
	d.on_stop = def->on_stop;
	d.state = def->state;
	d.group = m->group;
	d.name = def->size >= sizeof(GnetModuleActor) && def->name != NULL ?
	    def->name : m->name;
	return gnet_actor_spawn(m->host->eng, loop, &d, out);
}

static int
api_Send(GnetModuleCtx *ctx, GnetHandle to, const GnetMsg *msg)
{
	return gnet_actor_send(module_of(ctx)->host->eng, to, msg);
}

static int
api_SendAfter(GnetModuleCtx *ctx, GnetHandle to, const GnetMsg *msg,
    uint64_t delay_ms)
{
	return gnet_actor_send_after(module_of(ctx)->host->eng, to, msg,
	    delay_ms);
}

static int
api_Tick(GnetModuleCtx *ctx, int loop, uint64_t period_ms,
    void (*fn)(int, void *), void *udata)
{
	gnet_module_t *m = module_of(ctx);

	if (m->state != MODULE_LOADING)
		return GNETMODULE_ESTATE;
	return tick_start(m, loop, period_ms, fn, udata);
}

/* ---- stats, log, misc ---- */

static int
api_RegisterStats(GnetModuleCtx *ctx, const char *section,
    const char *const *names, int n, GnetModuleStats **out)
{
	gnet_module_t *m = module_of(ctx);

	if (m->state != MODULE_LOADING)
		return GNETMODULE_ESTATE;
	return stats_register(m, section, names, n, out);
}

static void
api_Log(GnetModuleCtx *ctx, int level, const char *fmt, ...)
{
	gnet_module_t *m = module_of(ctx);
	va_list ap;

	if (fmt == NULL)
		return;
	va_start(ap, fmt);
	host_vlog(m->host, level, m->name, fmt, ap);
	va_end(ap);
}

static const char *
api_HostName(GnetModuleCtx *ctx)
{
	return module_of(ctx)->host->name;
}

/* Libgnet's own, as they are. */
#define api_Peek gnet_conn_peek
#define api_Read gnet_conn_read
#define api_Discard gnet_conn_discard
#define api_InboundLen gnet_conn_inbound_len
#define api_Write gnet_conn_write
#define api_Writev gnet_conn_writev
#define api_OutboundLen gnet_conn_outbound_len
#define api_Close gnet_conn_close
#define api_Abort gnet_conn_abort
#define api_ConnState gnet_conn_state
#define api_ConnHandle gnet_conn_handle
#define api_ConnLoop gnet_conn_loop_index
#define api_RemoteAddr gnet_conn_remote_addr
#define api_SetReading gnet_conn_set_reading
#define api_SetCodec gnet_conn_set_codec
#define api_RespArgs gnet_resp_args
#define api_RespError gnet_resp_error
#define api_CodecStateSize gnet_codec_state_size
#define api_CodecDecode gnet_codec_decode
#define api_ActorState gnet_actor_state
#define api_ActorHandle gnet_actor_handle
#define api_ActorStop gnet_actor_stop
#define api_Strerror gnet_strerror
#define api_CurrentLoop gnet_loop_current
#define api_StatsRow stats_row

/* Every function has the header's type: an incompatible one fails to
 * compile here. */
#define API_TYPE_CHECK(ret, name, args) \
	static ret (*const check_##name) args __attribute__((unused)) = api_##name;
GNETMODULE_API_LIST(API_TYPE_CHECK, API_TYPE_CHECK)
#undef API_TYPE_CHECK

static const struct api_entry {
	const char *name;
	void *fn;
} api_table[] = {
#define API_ENTRY(ret, name, args) { "GnetModule_" #name, (void *)api_##name },
	GNETMODULE_API_LIST(API_ENTRY, API_ENTRY)
#undef API_ENTRY
};

int
api_get(GnetModuleCtx *ctx, const char *name, void **out)
{
	gnet_module_t *m = module_of(ctx);
	bool optional = name != NULL && name[0] == '?';
	size_t i;

	if (name == NULL || out == NULL)
		return GNETMODULE_ERR;
	if (optional)
		name++;
	for (i = 0; i < sizeof(api_table) / sizeof(api_table[0]); i++) {
		if (strcmp(api_table[i].name, name) == 0) {
			*out = api_table[i].fn;
			return GNETMODULE_OK;
		}
	}
	for (i = 0; i < (size_t)m->host->nprovided; i++) {
		if (strcmp(m->host->provided[i].name, name) == 0) {
			*out = m->host->provided[i].fn;
			return GNETMODULE_OK;
		}
	}
	if (!optional && m->missing[0] == '\0')
		snprintf(m->missing, sizeof(m->missing), "%s", name);
	return GNETMODULE_ERR;
}

int
gnet_host_provide(gnet_host_t *h, const char *name, void *fn)
{
	if (h == NULL || name == NULL || fn == NULL ||
	    strncmp(name, "GnetModule_", 11) != 0 ||
	    strlen(name) >= HOST_NAME_CAP)
		return GNET_EINVAL;
	if (!host_control_thread())
		return GNET_ETHREAD;
	if (h->nprovided == HOST_MAX_PROVIDED)
		return GNET_ELIMIT;
	snprintf(h->provided[h->nprovided].name,
	    sizeof(h->provided[h->nprovided].name), "%s", name);
	h->provided[h->nprovided].fn = fn;
	h->nprovided++;
	return 0;
}
