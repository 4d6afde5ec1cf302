/*
 * The bridge: Redis's main thread as an actor of gnet's engine.
 *
 * Loops never call into Redis. A module's GnetModule_RedisCall (on a
 * loop) copies its commands into one record and sends the record to a
 * port (gnet.h) -- the main thread's mailbox. The port's eventfd is
 * registered in Redis's event loop, which only wakes it; the mail is
 * drained in the server's before-sleep event, with a real context and a
 * budget, where each record's commands run through RedisModule_Call
 * (commands.c) and their RESP replies are appended to the record, which
 * then goes back to the caller's loop as a GNETMODULE_MSG_REDIS_REPLY
 * message.
 *
 * A record is one allocation, made on a loop and freed wherever its
 * journey ends: by the module (GnetModule_RedisReplyFree), by the host
 * when its message cannot be delivered (bridge_dropped), or by the
 * bridge when the engine is gone (bridge_stop). `live` counts them, so
 * an unload can tell that none leaked.
 */
#ifndef GNET_REDIS_BRIDGE_H
#define GNET_REDIS_BRIDGE_H

#include <stdatomic.h>
#include "gnet.h"
#include "gnethost.h"
#include "gnetmodule.h"
#include "redis/rm_api.h"

/* The record's message type on its way to the main thread. */
#define BRIDGE_MSG_CALL 0xFFFFFF01u

typedef struct bridge_call {
	GnetRedisReply reply;   /* first: what the module is handed */
	gnet_handle_t reply_to;
	const int *argc;        /* [reply.ncmds], in this allocation */
	const GnetRespArg *argv;
	const char *user;       /* copy, or NULL: "default" */
	char *out;              /* reply bytes (main thread's allocation) */
	size_t out_cap;
	char *user_after;       /* AUTH's new user, when it changed */
} bridge_call_t;

typedef struct bridge {
	gnet_engine_t *eng;
	gnet_port_t *port;
	int fd_registered;
	atomic_long live;       /* records not yet freed */
	/* Main thread only: whether the "default" user needs AUTH, and when
	 * that was last asked (ACL rules change at run time). */
	int default_needs_auth;
	uint64_t default_checked_ms;
	uint64_t calls, commands; /* handled, for the log at unload */
} bridge_t;

/* The one bridge of this load: GnetModule_RedisCall finds it here. */
extern bridge_t *bridge_current;

/* Create the port (before the engine runs) and register it with Redis's
 * event loop. Main thread. Returns 0 or a negative code. */
int bridge_start(bridge_t *b, gnet_engine_t *eng);
/* Before-sleep: run up to `budget` records. Main thread. */
void bridge_drain(bridge_t *b, RedisModuleCtx *ctx, unsigned budget);
/* While the engine stops (its loops may still send): answer every record
 * with status GNETMODULE_ESHUTDOWN, running nothing. Main thread. */
void bridge_refuse(bridge_t *b);
/* After the engine stopped: free what is left in the port, unregister
 * the fd. Main thread. */
void bridge_stop(bridge_t *b);
/* gnet_host_options_t.on_dropped. Any thread. */
void bridge_dropped(const gnet_msg_t *m, void *udata);

/* The functions modules are given (gnet_host_provide). */
int bridge_redis_call(GnetModuleCtx *ctx, GnetHandle reply_to,
    const GnetRedisCall *call);
void bridge_reply_free(GnetRedisReply *r);

/* CLOCK_MONOTONIC in milliseconds. Any thread. */
uint64_t bridge_now_ms(void);

/* commands.c: run a record's commands on the main thread, appending
 * their replies to it. */
void commands_run(bridge_t *b, RedisModuleCtx *ctx, bridge_call_t *c);
/* Append n bytes of RESP to the record's reply. */
void call_append(bridge_call_t *c, const char *p, size_t n);

#endif
