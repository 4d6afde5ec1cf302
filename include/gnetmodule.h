/*
 * gnetmodule.h -- the one header a gnet module needs.
 *
 * A module is protocol logic a host loads: gnetd, a program that embeds
 * libgnet, or gnet_redis.so inside redis-server. It never links libgnet.
 * It reaches the host only through function pointers it asks for by name:
 *
 *     #include "gnetmodule.h"
 *
 *     int GnetModule_OnLoad(GnetModuleCtx *ctx, const char **argv, int argc)
 *     {
 *             if (GnetModule_Init(ctx, "hello", 1) != GNETMODULE_OK)
 *                     return GNETMODULE_ERR;
 *             ...declare configs, apply them, listen, spawn...
 *             return GNETMODULE_OK;
 *     }
 *
 * GnetModule_Init asks the host for every function this header lists. A
 * host that lacks one the module may call makes the load fail with a
 * message naming it and the host, so a module never finds a NULL where a
 * function should be. The few functions marked optional below are left
 * NULL instead when the host lacks them; test with GNETMODULE_HAS().
 *
 * Compatibility. The API grows only by adding names; a name once given
 * keeps its signature and meaning. Every struct passed to the host starts
 * with `size_t size` (set it to sizeof the struct you were compiled
 * with), so a struct can grow at its end and an older host can tell a
 * field it does not know. GNETMODULE_ABI_VERSION changes only if that
 * promise ever has to be broken; a host refuses a module built for an ABI
 * it does not speak.
 *
 * Threads. OnLoad and OnUnload run on the host's control thread, before
 * the loops start or while they run; the callbacks a module registers run
 * on loop threads, each connection's and actor's always on the same loop,
 * one at a time. Each function below states where it may be called:
 *   "load"  inside OnLoad (with the ctx OnLoad was given);
 *   "loop"  on a loop thread, inside a callback of the module;
 *   "conn"  on the loop that owns the connection, inside its callbacks;
 *   "any"   any thread.
 * A call made where it may not be returns GNETMODULE_ETHREAD (or the empty
 * value documented) and does nothing.
 *
 * Unload. The host closes the module's listeners and connections (their
 * on_close runs), stops its actors and ticks, waits until no loop can call
 * into the module, then calls GnetModule_OnUnload and dlclose()s it.
 *
 * One translation unit. The function pointers are static: each .c file
 * that calls the API calls GnetModule_Init (or is given the pointers). A
 * module built to be linked into a program rather than loaded as a .so
 * is compiled with -DGNETMODULE_STATIC_NAME=<name>: its entry points
 * become <name>_GnetModule_OnLoad and <name>_GnetModule_OnUnload, so
 * several modules can be linked into one program.
 */
#ifndef GNETMODULE_H
#define GNETMODULE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef GNETMODULE_ABI_VERSION
#define GNETMODULE_ABI_VERSION 1
#endif

#define GNETMODULE_OK 0
#define GNETMODULE_ERR (-1)

/* Negative codes the host returns; other negative values are -errno
 * (GnetModule_Strerror names any of them). */
#define GNETMODULE_EINVAL   (-22)     /* -EINVAL */
#define GNETMODULE_EAGAIN   (-11)     /* -EAGAIN */
#define GNETMODULE_ECLOSED  (-10005)  /* the connection is closing */
#define GNETMODULE_ESTATE   (-10008)  /* not now: e.g. listen after load */
#define GNETMODULE_ETHREAD  (-10009)  /* called from the wrong thread */
#define GNETMODULE_ESHUTDOWN (-10010) /* close reason: host stopping or
                                       * the module unloading */

/* What a connection callback returns. */
#define GNETMODULE_CONTINUE 0
#define GNETMODULE_CLOSE 1           /* close it, after pending output */

/* Log levels. */
#define GNETMODULE_LOG_ERROR 0
#define GNETMODULE_LOG_WARNING 1
#define GNETMODULE_LOG_INFO 2

typedef struct GnetModuleCtx GnetModuleCtx;
/* The host's objects, opaque to the module. */
typedef struct gnet_conn GnetConn;
typedef struct gnet_actor GnetActor;
typedef struct gnet_codec GnetCodec;
typedef struct GnetModuleStats GnetModuleStats;
typedef uint64_t GnetHandle;        /* a connection or actor; 0 is none */

/* The context's first member is the resolver every other function is
 * found with: *out gets the function called `name`, or the call returns
 * GNETMODULE_ERR and the host remembers the name for its error. */
struct GnetModuleCtx {
	int (*GetApi)(GnetModuleCtx *ctx, const char *name, void **out);
};

/* A message between actors: copied by value, no allocation. Types below
 * GNETMODULE_MSG_USER are the host's. */
#define GNETMODULE_MSG_USER 1024u
/* The host's own message struct (gnet.h's gnet_msg_t), declared here too
 * so it is one type wherever both headers meet. */
#ifndef GNET__MSG_STRUCT
#define GNET__MSG_STRUCT
struct gnet_msg {
	uint64_t to;        /* set by the send */
	uint64_t from;
	uint32_t type;
	uint32_t flags;
	uint64_t a;         /* payload words, as sender and receiver agree */
	uint64_t b;
};
#endif
typedef struct gnet_msg GnetMsg;

/* RESP2 (Redis's protocol): limits of the request codec and one argument
 * of a command: gnet.h's gnet_resp_limits_t and gnet_resp_arg_t, one C
 * type each wherever both headers meet. Limits left 0 take Redis's defaults. */
#ifndef GNET__RESP_LIMITS_STRUCT
#define GNET__RESP_LIMITS_STRUCT
struct gnet_resp_limits {
	size_t size;             /* sizeof(GnetRespLimits) */
	size_t max_bulk_len;     /* 512 MiB */
	size_t max_args;         /* INT_MAX */
	size_t max_inline_len;   /* 64 KiB */
	size_t max_frame;        /* 1 GiB */
};
#endif
typedef struct gnet_resp_limits GnetRespLimits;
#ifndef GNET__RESP_ARG_STRUCT
#define GNET__RESP_ARG_STRUCT
struct gnet_resp_arg {
	const char *ptr;
	size_t len;
};
#endif
typedef struct gnet_resp_arg GnetRespArg;
/* One frame a codec decoded (gnet.h's gnet_frame_t): the payload, and
 * how many input bytes it used. */
#ifndef GNET__FRAME_STRUCT
#define GNET__FRAME_STRUCT
struct gnet_frame {
	const void *data;
	size_t len;
	size_t consumed;
};
#endif
typedef struct gnet_frame GnetFrame;

/* A listener: an address and how its connections behave. Callbacks run
 * on the connection's loop; `udata` is the listener's. Unset ones are
 * skipped. Returning GNETMODULE_CLOSE closes the connection. */
typedef struct GnetModuleListener {
	size_t size;             /* sizeof(GnetModuleListener) */
	const char *addr;        /* "tcp://127.0.0.1:8080", "unix://path",
	                          * "tcp://[::1]:0", "udp://..." */
	int (*on_open)(GnetConn *c, void *udata);
	/* Bytes (or, with a codec, one frame) are readable: GnetModule_Peek,
	 * _Read, _Discard. Unconsumed bytes are offered again with more. */
	int (*on_traffic)(GnetConn *c, void *udata);
	/* Exactly once per opened connection; reason 0 when the module
	 * closed it, else a negative code (GnetModule_Strerror). */
	void (*on_close)(GnetConn *c, int reason, void *udata);
	/* A message (type >= GNETMODULE_MSG_USER) sent to the connection's
	 * handle, or a timer set with GnetModule_SendAfter. */
	int (*on_message)(GnetConn *c, const GnetMsg *m, void *udata);
	/* Output rose above the high watermark (paused = 1: reading stops)
	 * or drained below the low one (0: reading resumes). */
	void (*on_backpressure)(GnetConn *c, int paused, void *udata);
	/* Bytes of per-connection state, zeroed at open, freed after
	 * on_close: GnetModule_ConnState. At most 64 KiB. */
	size_t conn_state_size;
	const GnetCodec *codec;  /* frame codec of its connections, or NULL */
	void *udata;
} GnetModuleListener;

/* An actor: a behaviour plus state, on one loop, one message at a time. */
typedef struct GnetModuleActor {
	size_t size;             /* sizeof(GnetModuleActor) */
	void (*receive)(GnetActor *self, const GnetMsg *m);
	void (*on_stop)(GnetActor *self); /* optional */
	void *state;             /* GnetModule_ActorState */
	/* What gnet-top calls it ("resp.shard"); NULL: the module's name.
	 * Must outlive the actor. */
	const char *name;
} GnetModuleActor;

/* A typed configuration option, given to the module as "name=value" in
 * its arguments. Declared during load, then GnetModule_ApplyConfig parses
 * the arguments against every declaration: an unknown name or a value
 * that does not parse or validate fails the load with a message naming
 * it. `gnetd --help-module PATH` lists the declarations. */
enum {
	GNETMODULE_CONFIG_INT = 1,   /* long long, within [min, max] */
	GNETMODULE_CONFIG_BYTES,     /* long long, "64k", "8m", "1g" accepted */
	GNETMODULE_CONFIG_BOOL,      /* int 0/1: yes/no, on/off, true/false, 1/0 */
	GNETMODULE_CONFIG_STRING     /* const char *, valid until unload */
};
typedef struct GnetModuleConfig {
	size_t size;             /* sizeof(GnetModuleConfig) */
	const char *name;        /* [a-z0-9-]+ */
	int type;                /* GNETMODULE_CONFIG_* */
	const char *default_value; /* text, parsed as an argument would be;
	                          * NULL: the option is required */
	const char *help;        /* one line */
	long long min, max;      /* INT and BYTES (both 0: no bound) */
	void *target;            /* long long *, int * or const char ** */
	/* Optional extra check of the parsed value (STRING: the text; else a
	 * pointer to the number). Return 0, or nonzero after writing why into
	 * err[0..errlen). */
	int (*validate)(const void *value, char *err, size_t errlen);
} GnetModuleConfig;

/* ----------------------------------------------------------------------
 * The API. Each entry is GNETMODULE_FN(return, name, arguments).
 */
#define GNETMODULE_API_LIST(REQ, OPT)                                      \
	/* Load ("load"). Called by GnetModule_Init: the module's name,  */    \
	/* its own version, and the ABI it was built for.                */    \
	REQ(int, SetInfo, (GnetModuleCtx *ctx, const char *name,            \
	    int version, int abi_version))                                     \
	REQ(int, Config, (GnetModuleCtx *ctx, const GnetModuleConfig *def))    \
	/* Parse the module's arguments into the declared configs. Returns */  \
	/* GNETMODULE_ERR (with the reason set) on bad arguments, and also */  \
	/* when the host only wants the declarations (--help-module): the */   \
	/* module then returns GNETMODULE_ERR from OnLoad at once.       */    \
	REQ(int, ApplyConfig, (GnetModuleCtx *ctx))                            \
	/* Fail the load with this reason ("load"). Returns GNETMODULE_ERR. */ \
	REQ(int, SetError, (GnetModuleCtx *ctx, const char *fmt, ...))         \
	/* This load's own pointer ("any"): set in OnLoad, found again in  */ \
	/* OnUnload, so loads of one module (other ports, other settings) */ \
	/* keep their state apart without a list of their own.            */ \
	REQ(void, SetModuleData, (GnetModuleCtx *ctx, void *data))             \
	REQ(void *, ModuleData, (GnetModuleCtx *ctx))                          \
	/* Listen ("load"). Returns the listener's index or a negative code. */\
	REQ(int, Listen, (GnetModuleCtx *ctx, const GnetModuleListener *l))    \
	/* The bound address of the module's listener `index` ("any"). */      \
	REQ(int, ListenerAddr, (GnetModuleCtx *ctx, int index,                 \
	    struct sockaddr_storage *out, socklen_t *len))                     \
	REQ(int, NumLoops, (GnetModuleCtx *ctx))                               \
	/* Codecs ("load"); freed by the host at unload. */                   \
	REQ(int, CodecLine, (GnetModuleCtx *ctx, size_t max_frame,             \
	    const GnetCodec **out))                                            \
	REQ(int, CodecDelimiter, (GnetModuleCtx *ctx, const void *delim,       \
	    size_t len, size_t max_frame, const GnetCodec **out))              \
	REQ(int, CodecFixed, (GnetModuleCtx *ctx, size_t frame_len,            \
	    const GnetCodec **out))                                            \
	/* RESP2 requests: a frame is one command (gnet.h's               */ \
	/* gnet_codec_new_resp); RespArgs splits it (gnet_resp_args) and   */ \
	/* RespError names a zero-length frame's protocol error, or NULL,  */ \
	/* given the decoder's state (gnet_resp_error).                    */ \
	REQ(int, CodecResp, (GnetModuleCtx *ctx, const GnetRespLimits *lim,    \
	    const GnetCodec **out))                                            \
	REQ(long, RespArgs, (const void *frame, size_t len, GnetRespArg *argv, \
	    size_t max, char *scratch, size_t scratch_len))                    \
	REQ(const char *, RespError, (const void *state))                      \
	/* A codec outside the connection ("any"): for a module that reads */ \
	/* its connections' bytes itself and decodes them in batches      */ \
	/* (gnet_codec_decode, gnet_codec_state_size: the state is that   */ \
	/* many zeroed bytes the module keeps per connection).            */ \
	REQ(int, CodecDecode, (const GnetCodec *codec, void *state,            \
	    const void *in, size_t n, GnetFrame *f))                           \
	REQ(size_t, CodecStateSize, (const GnetCodec *codec))                  \
	/* Connections ("conn"). As gnet.h's gnet_conn_* functions.        */ \
	REQ(size_t, Peek, (GnetConn *c, const void **data))                    \
	REQ(long, Read, (GnetConn *c, void *buf, size_t n))                    \
	REQ(long, Discard, (GnetConn *c, size_t n))                            \
	REQ(size_t, InboundLen, (const GnetConn *c))                           \
	REQ(long, Write, (GnetConn *c, const void *data, size_t n))            \
	REQ(long, Writev, (GnetConn *c, const struct iovec *iov, int iovcnt))  \
	REQ(size_t, OutboundLen, (const GnetConn *c))                          \
	REQ(int, Close, (GnetConn *c))                                         \
	REQ(int, Abort, (GnetConn *c))                                         \
	REQ(void *, ConnState, (const GnetConn *c))                            \
	REQ(GnetHandle, ConnHandle, (const GnetConn *c))                       \
	REQ(int, ConnLoop, (const GnetConn *c))                                \
	REQ(const struct sockaddr *, RemoteAddr, (const GnetConn *c,           \
	    socklen_t *len))                                                   \
	REQ(int, SetReading, (GnetConn *c, int on))                            \
	REQ(int, SetCodec, (GnetConn *c, const GnetCodec *codec))              \
	/* Actors. Spawn: "load" (any loop) or "loop" (its own loop, -1). */  \
	REQ(int, Spawn, (GnetModuleCtx *ctx, int loop,                         \
	    const GnetModuleActor *def, GnetHandle *out))                      \
	/* Send to any actor or connection ("any"). */                        \
	REQ(int, Send, (GnetModuleCtx *ctx, GnetHandle to, const GnetMsg *m))  \
	/* Deliver m to an actor or connection of the calling loop after   */ \
	/* delay_ms: a timer ("loop").                                     */ \
	REQ(int, SendAfter, (GnetModuleCtx *ctx, GnetHandle to,                \
	    const GnetMsg *m, uint64_t delay_ms))                              \
	REQ(void *, ActorState, (const GnetActor *self))                       \
	REQ(GnetHandle, ActorHandle, (const GnetActor *self))                  \
	REQ(void, ActorStop, (GnetActor *self))                                \
	/* Call fn(loop, udata) every period_ms on each loop (loop = -1) or */\
	/* on one, starting when the loops start ("load").                 */ \
	REQ(int, Tick, (GnetModuleCtx *ctx, int loop, uint64_t period_ms,      \
	    void (*fn)(int loop, void *udata), void *udata))                   \
	/* Stats: a named section of counters, one row per loop. A loop    */ \
	/* adds to its own row (GNETMODULE_STAT_ADD); readers (gnet-top)   */ \
	/* see them live. ("load" to register, "loop" for the row.)        */ \
	REQ(int, RegisterStats, (GnetModuleCtx *ctx, const char *section,      \
	    const char *const *names, int n, GnetModuleStats **out))           \
	REQ(uint64_t *, StatsRow, (GnetModuleStats *s, int loop))              \
	/* Misc ("any"). */                                                   \
	REQ(void, Log, (GnetModuleCtx *ctx, int level, const char *fmt, ...))  \
	REQ(const char *, Strerror, (int err))                                 \
	REQ(int, CurrentLoop, (void))                                          \
	/* Optional: the name and version of the host ("any"). */             \
	OPT(const char *, HostName, (GnetModuleCtx *ctx))

/* The pointers themselves: GnetModule_<name>. */
#define GNETMODULE__DECLARE(ret, name, args) \
	static ret (*GnetModule_##name) args __attribute__((unused));
GNETMODULE_API_LIST(GNETMODULE__DECLARE, GNETMODULE__DECLARE)
#undef GNETMODULE__DECLARE

/* Add n to counter i of a stats row (GnetModule_StatsRow of the calling
 * loop: only that loop writes it). A relaxed load and store, not a locked
 * add -- one writer needs none -- so it costs a plain increment, while
 * readers on other threads see whole values. */
#define GNETMODULE_STAT_ADD(row, i, n)                                     \
	__atomic_store_n(&(row)[i], __atomic_load_n(&(row)[i],             \
	    __ATOMIC_RELAXED) + (uint64_t)(n), __ATOMIC_RELAXED)

/* Is an optional function there? */
#define GNETMODULE_HAS(fn) ((fn) != NULL)

/* Ask the host for one more function by name, for a module that needs
 * something this header does not list (a newer host's): the load fails
 * naming it if the host lacks it. */
#define GNETMODULE_GET_API(ctx, name, ptr) \
	((ctx)->GetApi((ctx), (name), (void **)(ptr)))

/* Resolve every function listed above into this file's pointers. They
 * are static, one set per source file, so a module never exports them and
 * several modules link into one program without clashing; a module of
 * several files therefore calls this once in each file that uses the API
 * (GnetModule_Init does it for the file with OnLoad), e.g. from an init
 * function of that file which OnLoad calls. Returns GNETMODULE_OK, or
 * GNETMODULE_ERR when the host lacks a required function (it names it in
 * its error). */
static inline int
GnetModule_InitApi(GnetModuleCtx *ctx)
{
	int rc = GNETMODULE_OK;

#define GNETMODULE__REQ(ret, fn, args)                                     \
	if (ctx->GetApi(ctx, "GnetModule_" #fn,                            \
	    (void **)&GnetModule_##fn) != GNETMODULE_OK)                       \
		rc = GNETMODULE_ERR;
#define GNETMODULE__OPT(ret, fn, args)                                     \
	{                                                                  \
		void *p = NULL;                                            \
		if (ctx->GetApi(ctx, "?GnetModule_" #fn, &p) ==            \
		    GNETMODULE_OK)                                         \
			*(void **)&GnetModule_##fn = p;                    \
	}
	GNETMODULE_API_LIST(GNETMODULE__REQ, GNETMODULE__OPT)
#undef GNETMODULE__REQ
#undef GNETMODULE__OPT
	return rc;
}

/* Resolve the API for this file, then tell the host who we are. Returns
 * GNETMODULE_OK, or GNETMODULE_ERR when the host lacks a required
 * function (it names it in its error) or refuses the ABI version. */
static inline int
GnetModule_Init(GnetModuleCtx *ctx, const char *name, int version)
{
	if (GnetModule_InitApi(ctx) != GNETMODULE_OK)
		return GNETMODULE_ERR;
	return GnetModule_SetInfo(ctx, name, version, GNETMODULE_ABI_VERSION);
}

/* ----------------------------------------------------------------------
 * Redis. Only gnet_redis.so -- gnet inside redis-server -- provides these:
 * a module asks for them with GnetModule_InitRedis, and in any other host
 * its load fails naming GnetModule_RedisCall and the host.
 *
 * GnetModule_RedisCall runs commands on the server's main thread, in
 * order, through RedisModule_Call: written to the AOF and replicas,
 * checked against the ACL user and maxmemory, errors as error replies.
 * Commands that need a client connection of their own (MULTI/EXEC,
 * blocking commands, SUBSCRIBE, MONITOR...) get an error naming that.
 * SELECT and AUTH change the database and user for the commands after
 * them, and the reply says where the batch ended, so a connection can
 * keep them (gnet_redis's RESP listener does).
 */
#define GNETMODULE_MSG_REDIS_REPLY 0xFFFFFF00u  /* the reply's type */

typedef struct GnetRedisCall {
	size_t size;              /* sizeof(GnetRedisCall) */
	int ncmds;                /* commands, run in this order */
	const int *argc;          /* [ncmds]: each one's argument count */
	const GnetRespArg *argv;  /* every command's arguments, in turn */
	int db;                   /* database to run in (SELECT's index) */
	const char *user;         /* ACL user to run as; NULL: "default" */
	uint64_t tag;             /* handed back in the reply */
} GnetRedisCall;

typedef struct GnetRedisReply {
	uint64_t tag;
	int status;               /* 0; GNETMODULE_ESHUTDOWN: not run, the
	                           * server or the module is stopping */
	int ncmds;
	const char *data;         /* one RESP reply per command, in order */
	size_t len;
	int db;                   /* the database after the batch */
	const char *user;         /* the user after it; NULL: "default" */
} GnetRedisReply;

/* ("loop") Copy `call` and run it on Redis's main thread. reply_to -- an
 * actor or connection of the calling loop -- gets a message of type
 * GNETMODULE_MSG_REDIS_REPLY whose `a` is the GnetRedisReply; free it
 * with GnetModule_RedisReplyFree. If reply_to is gone by then, the host
 * frees it. Returns GNETMODULE_OK, GNETMODULE_EINVAL, GNETMODULE_ETHREAD,
 * GNETMODULE_ESHUTDOWN, or -ENOMEM. */
static int (*GnetModule_RedisCall)(GnetModuleCtx *ctx, GnetHandle reply_to,
    const GnetRedisCall *call) __attribute__((unused));
/* ("any") */
static void (*GnetModule_RedisReplyFree)(GnetRedisReply *r)
    __attribute__((unused));

/* Resolve the two for this file (as GnetModule_InitApi does the rest):
 * GNETMODULE_ERR in a host that is not gnet_redis.so. */
static inline int
GnetModule_InitRedis(GnetModuleCtx *ctx)
{
	if (GNETMODULE_GET_API(ctx, "GnetModule_RedisCall",
	    &GnetModule_RedisCall) != GNETMODULE_OK)
		return GNETMODULE_ERR;
	return GNETMODULE_GET_API(ctx, "GnetModule_RedisReplyFree",
	    &GnetModule_RedisReplyFree);
}

/* The entry points a module defines. */
#ifdef GNETMODULE_STATIC_NAME
#define GNETMODULE__PASTE2(a, b) a##_##b
#define GNETMODULE__PASTE(a, b) GNETMODULE__PASTE2(a, b)
#define GnetModule_OnLoad GNETMODULE__PASTE(GNETMODULE_STATIC_NAME, GnetModule_OnLoad)
#define GnetModule_OnUnload GNETMODULE__PASTE(GNETMODULE_STATIC_NAME, GnetModule_OnUnload)
#define GNETMODULE_EXPORT
#else
#define GNETMODULE_EXPORT __attribute__((visibility("default")))
#endif
/* Load: declare, configure, listen, spawn. Return GNETMODULE_OK, or
 * GNETMODULE_ERR after GnetModule_SetError (or let Init's error stand);
 * what the module registered is then undone by the host. */
GNETMODULE_EXPORT int GnetModule_OnLoad(GnetModuleCtx *ctx, const char **argv,
    int argc);
/* Optional: the module's listeners, connections, actors and ticks are
 * gone; free what OnLoad allocated. */
GNETMODULE_EXPORT void GnetModule_OnUnload(GnetModuleCtx *ctx);

#ifdef __cplusplus
}
#endif
#endif /* GNETMODULE_H */
