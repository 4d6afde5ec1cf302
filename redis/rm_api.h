/*
 * The part of Redis's module ABI gnet_redis.so uses, declared here from
 * the documented API (Redis 7.0): Debian ships no redismodule.h.
 *
 * A module reaches the server only through function pointers it asks for
 * by name: the context Redis passes to RedisModule_OnLoad starts with
 * the resolver, int (*)(const char *name, void *out). rm_api_resolve
 * fills every rm_<Name> below from "RedisModule_<Name>" and names the
 * first one the server lacks, so an older server refuses the load with
 * a clear line instead of leaving a NULL to be called later.
 *
 * Threads: every rm_ function is for Redis's main thread, with the
 * server's lock held -- inside a callback Redis made. gnet's loops never
 * call one (redis/bridge.c is where they are called).
 */
#ifndef GNET_REDIS_RM_API_H
#define GNET_REDIS_RM_API_H

#include <stddef.h>
#include <stdint.h>

#define RM_OK 0
#define RM_ERR 1
#define RM_APIVER_1 1

#define RM_REPLY_STRING 0
#define RM_REPLY_ERROR 1
#define RM_REPLY_INTEGER 2
#define RM_REPLY_ARRAY 3

#define RM_EVENTLOOP_READABLE 1

/* RedisModule_GetContextFlags: a replica, and a read-only one. */
#define RM_CTX_FLAGS_SLAVE (1 << 3)
#define RM_CTX_FLAGS_READONLY (1 << 4)

/* Server events (RedisModuleEvent ids) and the subevents used. */
#define RM_EVENT_SHUTDOWN 5
#define RM_EVENT_EVENTLOOP 15
#define RM_SUBEVENT_EVENTLOOP_BEFORE_SLEEP 0

typedef struct RedisModuleCtx RedisModuleCtx;
typedef struct RedisModuleString RedisModuleString;
typedef struct RedisModuleCallReply RedisModuleCallReply;
typedef struct RedisModuleUser RedisModuleUser;
typedef struct rm_event {
	uint64_t id;
	uint64_t dataver;
} rm_event_t;
typedef void (*rm_event_fn)(RedisModuleCtx *ctx, rm_event_t e,
    uint64_t subevent, void *data);
typedef void (*rm_fd_fn)(int fd, void *udata, int mask);

/* X(return type, Name, (arguments)): one line per function resolved. */
#define RM_API_LIST(X)                                                     \
	X(void, SetModuleAttribs, (RedisModuleCtx *ctx, const char *name,  \
	    int ver, int apiver))                                          \
	X(int, IsModuleNameBusy, (const char *name))                       \
	X(void, Log, (RedisModuleCtx *ctx, const char *level,              \
	    const char *fmt, ...))                                         \
	X(const char *, StringPtrLen, (const RedisModuleString *s,         \
	    size_t *len))                                                  \
	X(RedisModuleString *, CreateString, (RedisModuleCtx *ctx,         \
	    const char *ptr, size_t len))                                  \
	X(void, FreeString, (RedisModuleCtx *ctx, RedisModuleString *s))   \
	X(RedisModuleCallReply *, Call, (RedisModuleCtx *ctx,              \
	    const char *cmd, const char *fmt, ...))                        \
	X(const char *, CallReplyProto, (RedisModuleCallReply *r,          \
	    size_t *len))                                                  \
	X(int, CallReplyType, (RedisModuleCallReply *r))                   \
	X(size_t, CallReplyLength, (RedisModuleCallReply *r))              \
	X(RedisModuleCallReply *, CallReplyArrayElement,                   \
	    (RedisModuleCallReply *r, size_t i))                           \
	X(const char *, CallReplyStringPtr, (RedisModuleCallReply *r,      \
	    size_t *len))                                                  \
	X(void, FreeCallReply, (RedisModuleCallReply *r))                  \
	X(int, SelectDb, (RedisModuleCtx *ctx, int db))                    \
	X(int, GetContextFlags, (RedisModuleCtx *ctx))                     \
	X(RedisModuleUser *, GetModuleUserFromUserName,                    \
	    (RedisModuleString *name))                                     \
	X(void, FreeModuleUser, (RedisModuleUser *u))                      \
	X(int, ACLCheckCommandPermissions, (RedisModuleUser *u,            \
	    RedisModuleString **argv, int argc))                           \
	X(void, ThreadSafeContextLock, (RedisModuleCtx *ctx))              \
	X(void, ThreadSafeContextUnlock, (RedisModuleCtx *ctx))            \
	X(int, EventLoopAdd, (int fd, int mask, rm_fd_fn fn, void *udata)) \
	X(int, EventLoopDel, (int fd, int mask))                           \
	X(int, SubscribeToServerEvent, (RedisModuleCtx *ctx, rm_event_t e, \
	    rm_event_fn fn))

#define RM__DECLARE(ret, name, args) extern ret (*rm_##name) args;
RM_API_LIST(RM__DECLARE)
#undef RM__DECLARE

/* Resolve every function above through ctx's first member. Returns 0, or
 * -1 with the first missing name written into missing[0..len). */
int rm_api_resolve(RedisModuleCtx *ctx, char *missing, size_t len);

#endif
