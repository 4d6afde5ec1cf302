/*
 * The RESP listener of gnet_redis.so: Redis's protocol on a port of
 * gnet's, with the keyspace of the redis-server it runs in.
 *
 * It is an ordinary gnet module (gnetmodule.h), linked into
 * gnet_redis.so and loaded there like any other, that uses the one API
 * only this host has: GnetModule_RedisCall. Sockets and parsing stay on
 * gnet's loops; each read's whole commands, up to BATCH_CMDS, go to the
 * main thread as one call, and its replies come back as one message and
 * are written as they are. Replies keep request order because a
 * connection's calls travel one ring to the main thread, which runs them
 * in order, and its replies one ring back.
 *
 * Per connection, only the connection's loop touches its state: the
 * database and ACL user its commands run as -- changed by SELECT and
 * AUTH, which end a batch and hold the next until their reply says what
 * the connection now is -- and how many calls are out. Past max-pending
 * calls out it stops reading (bounded memory for a client that pipelines
 * without reading replies); a reply resumes it.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "gnetmodule.h"

#define BATCH_CMDS 64
/* A batch ends once it holds this many argument bytes, so one call's
 * copy stays small unless a single command is large. */
#define BATCH_BYTES (256u * 1024)
#define ARGS_INITIAL 1024
#define INLINE_SCRATCH (64u * 1024 + 64)   /* the codec's inline limit, and its CRLF */
#define ERR_CAP 128

typedef struct {
	GnetModuleCtx *ctx;
	const GnetCodec *codec;
	size_t dec_size;
	const char *listen;
	long long max_pending;
	int nloops;
	struct port_loop *loops;   /* [nloops] */
} port_t;

/* What one loop reuses from batch to batch. */
typedef struct port_loop {
	GnetRespArg *argv;
	size_t argv_cap;
	int argc[BATCH_CMDS];
	char scratch[INLINE_SCRATCH];
} port_loop_t;

typedef struct {
	int db;
	char *user;                 /* NULL: "default" */
	unsigned out;               /* calls sent, replies not back */
	unsigned char held;         /* a SELECT/AUTH is out: wait for it */
	unsigned char quitting;     /* QUIT: close once its reply is out */
	unsigned char paused;       /* reading off (max-pending) */
	char error[ERR_CAP];        /* a protocol error, written after the
	                             * replies owed, then the close */
	/* the codec's state, aligned as any object */
	_Alignas(max_align_t) unsigned char dec[];
} conn_t;

static port_t *port_of(void *udata) { return udata; }

static int
name_is(const GnetRespArg *a, const char *s)
{
	size_t n = strlen(s);

	return a->len == n && strncasecmp(a->ptr, s, n) == 0;
}

/* Room for n more arguments after `used`. */
static int
argv_room(port_loop_t *lp, size_t used, size_t n)
{
	size_t cap = lp->argv_cap;
	GnetRespArg *a;

	if (used + n <= cap)
		return 0;
	while (cap < used + n)
		cap *= 2;
	a = realloc(lp->argv, cap * sizeof(*a));
	if (a == NULL)
		return -1;
	lp->argv = a;
	lp->argv_cap = cap;
	return 0;
}

/* Cut whole commands from in[0..n) into a batch. Returns the bytes
 * taken; *k commands, *hold when the last one changes the connection
 * (SELECT, AUTH) or ends it (QUIT). A protocol error is left in
 * rc->error. */
static size_t
cut_batch(port_t *p, port_loop_t *lp, conn_t *rc, const char *in, size_t n,
    int *k, int *hold)
{
	size_t pos = 0, used = 0, bytes = 0, scratch = 0;

	*k = 0;
	*hold = 0;
	while (*k < BATCH_CMDS && pos < n && bytes < BATCH_BYTES) {
		GnetFrame f;
		long argc;
		int r, inl;

		r = GnetModule_CodecDecode(p->codec, rc->dec, in + pos, n - pos,
		    &f);
		if (r == 0)
			break;
		if (r < 0 || f.len == 0) {
			const char *why = r < 0 ? "Protocol error: too big request" :
			    GnetModule_RespError(rc->dec);

			if (r >= 0 && why == NULL) {
				pos += f.consumed;   /* what Redis skips */
				continue;
			}
			strncpy(rc->error, why, ERR_CAP - 1);
			break;
		}
		inl = *(const char *)f.data != '*';
		/* An inline command's arguments are unquoted into the
		 * scratch, never longer than its line: the next one goes
		 * after it, and one that may not fit waits for the next
		 * batch (a first one gets the whole scratch, which the
		 * codec's inline limit fits). */
		if (inl && *k > 0 && f.len > sizeof(lp->scratch) - scratch)
			break;
		argc = GnetModule_RespArgs(f.data, f.len, lp->argv + used,
		    lp->argv_cap - used, inl ? lp->scratch + scratch : NULL,
		    inl ? sizeof(lp->scratch) - scratch : 0);
		if (argc > 0 && (size_t)argc > lp->argv_cap - used) {
			if (argv_room(lp, used, (size_t)argc) != 0) {
				strncpy(rc->error, "ERR out of memory", ERR_CAP - 1);
				break;
			}
			argc = GnetModule_RespArgs(f.data, f.len,
			    lp->argv + used, lp->argv_cap - used,
			    inl ? lp->scratch + scratch : NULL,
			    inl ? sizeof(lp->scratch) - scratch : 0);
		}
		if (inl)
			scratch += f.len;
		if (argc < 0) {
			strncpy(rc->error, "ERR Protocol error: bad inline "
			    "request", ERR_CAP - 1);
			break;
		}
		pos += f.consumed;
		bytes += f.consumed;
		if (argc == 0)
			continue;
		lp->argc[(*k)++] = (int)argc;
		if (name_is(&lp->argv[used], "SELECT") ||
		    name_is(&lp->argv[used], "AUTH"))
			*hold = 1;
		if (name_is(&lp->argv[used], "QUIT"))
			*hold = 2;
		used += (size_t)argc;
		if (*hold)
			break;
	}
	return pos;
}

static void
set_paused(GnetConn *c, conn_t *rc, int paused)
{
	if (rc->paused == paused)
		return;
	rc->paused = (unsigned char)paused;
	GnetModule_SetReading(c, !paused);
}

/* Send what the input holds, as far as the connection may. Returns
 * GNETMODULE_CLOSE when it is finished. */
static int
serve(GnetConn *c, port_t *p)
{
	conn_t *rc = GnetModule_ConnState(c);
	port_loop_t *lp = &p->loops[GnetModule_ConnLoop(c)];

	while (!rc->held && !rc->quitting && rc->error[0] == '\0' &&
	    rc->out < (unsigned)p->max_pending) {
		GnetRedisCall call = { .size = sizeof(call) };
		const void *in;
		size_t n = GnetModule_Peek(c, &in), took;
		int k, hold, err;

		if (n == 0)
			break;
		took = cut_batch(p, lp, rc, in, n, &k, &hold);
		if (k > 0) {
			call.ncmds = k;
			call.argc = lp->argc;
			call.argv = lp->argv;
			call.db = rc->db;
			call.user = rc->user;
			err = GnetModule_RedisCall(p->ctx, GnetModule_ConnHandle(c),
			    &call);
			if (err != GNETMODULE_OK)
				return GNETMODULE_CLOSE;
			rc->out++;
			rc->held = hold == 1;
			rc->quitting = hold == 2;
		}
		GnetModule_Discard(c, took);
		if (k == 0 && took == 0)
			break;
	}
	if (rc->out == 0 && rc->error[0] != '\0') {
		GnetModule_Write(c, "-", 1);
		GnetModule_Write(c, rc->error, strlen(rc->error));
		GnetModule_Write(c, "\r\n", 2);
		return GNETMODULE_CLOSE;
	}
	set_paused(c, rc, rc->out >= (unsigned)p->max_pending || rc->held ||
	    rc->quitting);
	return GNETMODULE_CONTINUE;
}

static int
on_traffic(GnetConn *c, void *udata)
{
	return serve(c, port_of(udata));
}

/* Take the reply's news about the connection: its database and user. */
static int
take_session(conn_t *rc, const GnetRedisReply *r)
{
	rc->db = r->db;
	if (r->user == NULL) {
		free(rc->user);
		rc->user = NULL;
	} else if (rc->user == NULL || strcmp(rc->user, r->user) != 0) {
		char *u = strdup(r->user);

		if (u == NULL)
			return -1;
		free(rc->user);
		rc->user = u;
	}
	return 0;
}

static int
on_message(GnetConn *c, const GnetMsg *m, void *udata)
{
	conn_t *rc = GnetModule_ConnState(c);
	GnetRedisReply *r = (GnetRedisReply *)(uintptr_t)m->a;
	int close = 0;

	if (m->type != GNETMODULE_MSG_REDIS_REPLY)
		return GNETMODULE_CONTINUE;
	rc->out--;
	if (r->status != 0 || take_session(rc, r) != 0) {
		close = 1;
	} else {
		GnetModule_Write(c, r->data, r->len);
		rc->held = 0;
	}
	GnetModule_RedisReplyFree(r);
	if (close || (rc->quitting && rc->out == 0))
		return GNETMODULE_CLOSE;
	return serve(c, port_of(udata));
}

static void
on_close(GnetConn *c, int reason, void *udata)
{
	conn_t *rc = GnetModule_ConnState(c);

	(void)reason;
	(void)udata;
	/* Calls still out come back to a closed handle: the host frees
	 * their replies. */
	free(rc->user);
	rc->user = NULL;
}

static void
loops_free(port_t *p)
{
	int i;

	for (i = 0; p->loops != NULL && i < p->nloops; i++)
		free(p->loops[i].argv);
	free(p->loops);
	free(p);
}

int
GnetModule_OnLoad(GnetModuleCtx *ctx, const char **argv, int argc)
{
	GnetModuleConfig listen = { .size = sizeof(listen), .name = "listen",
		.type = GNETMODULE_CONFIG_STRING,
		.default_value = "tcp://127.0.0.1:7379",
		.help = "address of the RESP port" };
	GnetModuleConfig pending = { .size = sizeof(pending),
		.name = "max-pending", .type = GNETMODULE_CONFIG_INT,
		.default_value = "16", .min = 1, .max = 1024,
		.help = "calls a connection may have out before it stops reading" };
	GnetModuleListener l = { .size = sizeof(l) };
	port_t *p;
	int i;

	(void)argv;
	(void)argc;
	if (GnetModule_Init(ctx, "redis-port", 1) != GNETMODULE_OK)
		return GNETMODULE_ERR;
	if (GnetModule_InitRedis(ctx) != GNETMODULE_OK)
		return GNETMODULE_ERR;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return GnetModule_SetError(ctx, "out of memory");
	listen.target = &p->listen;
	pending.target = &p->max_pending;
	if (GnetModule_Config(ctx, &listen) != GNETMODULE_OK ||
	    GnetModule_Config(ctx, &pending) != GNETMODULE_OK ||
	    GnetModule_ApplyConfig(ctx) != GNETMODULE_OK) {
		free(p);
		return GNETMODULE_ERR;
	}
	p->ctx = ctx;
	p->nloops = GnetModule_NumLoops(ctx);
	p->loops = calloc((size_t)p->nloops, sizeof(*p->loops));
	if (p->loops == NULL) {
		loops_free(p);
		return GnetModule_SetError(ctx, "out of memory");
	}
	for (i = 0; i < p->nloops; i++) {
		p->loops[i].argv_cap = ARGS_INITIAL;
		p->loops[i].argv = malloc(ARGS_INITIAL * sizeof(GnetRespArg));
		if (p->loops[i].argv == NULL) {
			loops_free(p);
			return GnetModule_SetError(ctx, "out of memory");
		}
	}
	if (GnetModule_CodecResp(ctx, NULL, &p->codec) != GNETMODULE_OK) {
		loops_free(p);
		return GNETMODULE_ERR;
	}
	p->dec_size = GnetModule_CodecStateSize(p->codec);
	l.addr = p->listen;
	l.on_traffic = on_traffic;
	l.on_message = on_message;
	l.on_close = on_close;
	l.conn_state_size = sizeof(conn_t) + p->dec_size;
	l.udata = p;
	if (GnetModule_Listen(ctx, &l) < 0) {
		loops_free(p);
		return GNETMODULE_ERR;
	}
	GnetModule_SetModuleData(ctx, p);
	return GNETMODULE_OK;
}

void
GnetModule_OnUnload(GnetModuleCtx *ctx)
{
	loops_free(GnetModule_ModuleData(ctx));
}
