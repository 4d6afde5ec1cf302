/*
 * The bridge between gnet's loops and Redis's main thread; see bridge.h.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "redis/bridge.h"

/* A record holds at most this many commands, and each command at least
 * one argument: bounds a module's mistake, not its traffic. */
#define CALL_MAX_CMDS 4096

bridge_t *bridge_current;

static void
call_free(bridge_t *b, bridge_call_t *c)
{
	free(c->out);
	free(c->user_after);
	free(c);
	atomic_fetch_sub_explicit(&b->live, 1, memory_order_relaxed);
}

void
bridge_reply_free(GnetRedisReply *r)
{
	if (r != NULL && bridge_current != NULL)
		call_free(bridge_current, (bridge_call_t *)r);
}

/* ------------------------------------------------------------------------
 * The loop's side.
 */

/* The record's size for `call`, or 0 when it is malformed. */
static size_t
call_size(const GnetRedisCall *call, size_t *nargs)
{
	size_t bytes = 0, i, k = 0;
	int j;

	*nargs = 0;
	for (j = 0; j < call->ncmds; j++) {
		if (call->argc[j] < 1)
			return 0;
		for (i = 0; i < (size_t)call->argc[j]; i++, k++) {
			if (call->argv[k].ptr == NULL && call->argv[k].len != 0)
				return 0;
			bytes += call->argv[k].len;
		}
	}
	*nargs = k;
	return sizeof(bridge_call_t) + (size_t)call->ncmds * sizeof(int) +
	    k * sizeof(GnetRespArg) + bytes +
	    (call->user != NULL ? strlen(call->user) + 1 : 0);
}

int
bridge_redis_call(GnetModuleCtx *ctx, GnetHandle reply_to,
    const GnetRedisCall *call)
{
	bridge_t *b = bridge_current;
	gnet_msg_t m = { .type = BRIDGE_MSG_CALL };
	size_t nargs, size, k;
	bridge_call_t *c;
	GnetRespArg *argv;
	int *argc;
	char *p;
	int rc;

	(void)ctx;
	if (gnet_loop_current() < 0)
		return GNETMODULE_ETHREAD;
	if (b == NULL || call == NULL || call->size < sizeof(GnetRedisCall) ||
	    call->ncmds < 1 || call->ncmds > CALL_MAX_CMDS ||
	    call->argc == NULL || call->argv == NULL || call->db < 0 ||
	    reply_to == 0)
		return GNETMODULE_EINVAL;
	size = call_size(call, &nargs);
	if (size == 0)
		return GNETMODULE_EINVAL;
	c = malloc(size);
	if (c == NULL)
		return -12; /* -ENOMEM */
	memset(c, 0, sizeof(*c));
	/* The arguments first: they need the pointer alignment the record
	 * has, which the counts after them would break. */
	argv = (GnetRespArg *)(c + 1);
	argc = (int *)(argv + nargs);
	p = (char *)(argc + call->ncmds);
	memcpy(argc, call->argc, (size_t)call->ncmds * sizeof(int));
	for (k = 0; k < nargs; k++) {
		argv[k].ptr = p;
		argv[k].len = call->argv[k].len;
		if (argv[k].len != 0)
			memcpy(p, call->argv[k].ptr, argv[k].len);
		p += argv[k].len;
	}
	if (call->user != NULL) {
		strcpy(p, call->user);
		c->user = p;
	}
	c->argc = argc;
	c->argv = argv;
	c->reply_to = reply_to;
	c->reply.tag = call->tag;
	c->reply.ncmds = call->ncmds;
	c->reply.db = call->db;
	c->reply.user = c->user;
	atomic_fetch_add_explicit(&b->live, 1, memory_order_relaxed);
	m.a = (uint64_t)(uintptr_t)c;
	rc = gnet_actor_send(b->eng,
	    gnet_port_handle(b->port), &m);
	if (rc != 0) {
		call_free(b, c);
		return rc == GNET_ESHUTDOWN ? GNETMODULE_ESHUTDOWN : rc;
	}
	return GNETMODULE_OK;
}

/* ------------------------------------------------------------------------
 * The main thread's side.
 */

/* Send the record back to its caller's loop; a stopped engine takes
 * nothing more, so the record ends here. */
static void
answer(bridge_t *b, bridge_call_t *c)
{
	gnet_msg_t m = { .type = GNETMODULE_MSG_REDIS_REPLY };

	c->reply.data = c->out;
	m.a = (uint64_t)(uintptr_t)c;
	m.b = c->reply.tag;
	if (gnet_port_send(b->port, c->reply_to, &m) != 0)
		call_free(b, c);
}

typedef struct {
	bridge_t *b;
	RedisModuleCtx *ctx;
} drain_ctx_t;

static void
run_one(void *udata, const gnet_msg_t *m)
{
	drain_ctx_t *d = udata;
	bridge_call_t *c = (bridge_call_t *)(uintptr_t)m->a;

	if (m->type != BRIDGE_MSG_CALL)
		return;
	commands_run(d->b, d->ctx, c);
	d->b->calls++;
	d->b->commands += (uint64_t)c->reply.ncmds;
	answer(d->b, c);
}

void
bridge_drain(bridge_t *b, RedisModuleCtx *ctx, unsigned budget)
{
	drain_ctx_t d = { b, ctx };

	if (b->port != NULL)
		gnet_port_drain(b->port, budget, run_one, &d);
}

static void
refuse_one(void *udata, const gnet_msg_t *m)
{
	bridge_t *b = udata;
	bridge_call_t *c = (bridge_call_t *)(uintptr_t)m->a;

	if (m->type != BRIDGE_MSG_CALL)
		return;
	c->reply.status = GNETMODULE_ESHUTDOWN;
	c->reply.len = 0;
	answer(b, c);
}

void
bridge_refuse(bridge_t *b)
{
	if (b->port != NULL)
		gnet_port_drain(b->port, 1024, refuse_one, b);
}

static void
free_left(void *udata, const gnet_msg_t *m)
{
	if (m->type == BRIDGE_MSG_CALL ||
	    m->type == GNETMODULE_MSG_REDIS_REPLY)
		call_free(udata, (bridge_call_t *)(uintptr_t)m->a);
}

static void
on_port_fd(int fd, void *udata, int mask)
{
	(void)fd;
	(void)mask;
	gnet_port_ack(((bridge_t *)udata)->port);
}

int
bridge_start(bridge_t *b, gnet_engine_t *eng)
{
	int rc = gnet_port_new(eng, &b->port);

	b->eng = eng;
	if (rc != 0)
		return rc;
	if (rm_EventLoopAdd(gnet_port_fd(b->port), RM_EVENTLOOP_READABLE,
	    on_port_fd, b) != RM_OK)
		return GNET_EINVAL;
	b->fd_registered = 1;
	return 0;
}

void
bridge_stop(bridge_t *b)
{
	if (b->port == NULL)
		return;
	/* Out of Redis's event loop before the fd is closed. */
	if (b->fd_registered)
		rm_EventLoopDel(gnet_port_fd(b->port), RM_EVENTLOOP_READABLE);
	b->fd_registered = 0;
	gnet_port_free(b->port, free_left, b);
	b->port = NULL;
}

void
bridge_dropped(const gnet_msg_t *m, void *udata)
{
	free_left(udata, m);
}

uint64_t
bridge_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void
call_append(bridge_call_t *c, const char *p, size_t n)
{
	size_t need = c->reply.len + n;

	if (need > c->out_cap) {
		size_t cap = c->out_cap != 0 ? c->out_cap : 256;
		char *q;

		while (cap < need)
			cap *= 2;
		q = realloc(c->out, cap);
		if (q == NULL)
			abort(); /* as Redis does when it cannot allocate */
		c->out = q;
		c->out_cap = cap;
	}
	memcpy(c->out + c->reply.len, p, n);
	c->reply.len = need;
}
