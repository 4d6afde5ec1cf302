/*
 * The connection actor's side of resp: one frame (one command) per
 * on_traffic, checked against the command table as Redis checks it --
 * unknown name, arity, maxmemory -- then run where it belongs: by the
 * connection itself, by its own loop's shard at once, or sent away in an
 * envelope (route.c). Replies go out in request order (resp.h).
 *
 * The fast path, a command for the own shard with nothing owed, writes
 * its reply at once and allocates nothing: arguments point into the
 * frame, the reply is made in the loop's reused buffer.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "resp.h"

int
resp_conn_init_api(GnetModuleCtx *ctx)
{
	return GnetModule_InitApi(ctx);
}

static resp_loop_t *
loop_of(resp_server_t *srv, GnetConn *c)
{
	int i = GnetModule_ConnLoop(c);

	return i >= 0 && i < srv->nloops ? &srv->loops[i] : NULL;
}

int
resp_on_open(GnetConn *c, void *udata)
{
	resp_server_t *srv = udata;
	resp_conn_t *rc = GnetModule_ConnState(c);
	resp_loop_t *lp = loop_of(srv, c);

	if (rc == NULL || lp == NULL)
		return GNETMODULE_CLOSE;
	rc->id = __atomic_add_fetch(&srv->next_client_id, 1, __ATOMIC_RELAXED);
	RESP_COUNT(lp, RST_CONNS_OPENED, 1);
	RESP_COUNT(lp, RST_CONNS_OPEN, 1);
	return GNETMODULE_CONTINUE;
}

void
resp_on_close(GnetConn *c, int reason, void *udata)
{
	resp_server_t *srv = udata;
	resp_conn_t *rc = GnetModule_ConnState(c);
	resp_loop_t *lp = loop_of(srv, c);
	envelope_t *e, *next;

	(void)reason;
	if (rc == NULL)
		return;
	/* Envelopes still travelling are freed when they come back; the
	 * rest go now. */
	for (e = rc->head; e != NULL; e = next) {
		next = e->next;
		e->next = NULL;
		e->rc = NULL;
		e->conn = NULL;
		if (e->ready)
			resp_envelope_free(e);
	}
	rc->head = rc->tail = NULL;
	rc->owed = 0;
	free(rc->name);
	rc->name = NULL;
	if (lp != NULL)
		RESP_COUNT(lp, RST_CONNS_OPEN, (uint64_t)-1);
}

void
resp_conn_enqueue(resp_loop_t *lp, resp_conn_t *rc, GnetConn *c,
    envelope_t *e)
{
	e->next = NULL;
	if (rc->tail != NULL)
		rc->tail->next = e;
	else
		rc->head = e;
	rc->tail = e;
	rc->owed++;
	/* Replies owed are memory the peer's reading does not bound (they
	 * are not in the outbound buffer yet): stop taking commands until
	 * they drain. */
	if (!rc->paused && rc->owed >= (uint32_t)lp->srv->max_pending) {
		rc->paused = 1;
		GnetModule_SetReading(c, 0);
		RESP_COUNT(lp, RST_PAUSED, 1);
	}
}

int
resp_conn_emit(resp_loop_t *lp, resp_conn_t *rc, GnetConn *c, const char *p,
    size_t n)
{
	envelope_t *e;

	if (rc->head == NULL) {
		GnetModule_Write(c, p, n);
		return 0;
	}
	e = calloc(1, sizeof *e + n);
	if (e == NULL)
		return -1;
	e->kind = ENV_HELD;
	e->rc = rc;
	e->conn = c;
	e->home = lp;
	e->ready = 1;
	e->reply = (char *)(e + 1);
	memcpy(e->reply, p, n);
	e->reply_len = n;
	resp_conn_enqueue(lp, rc, c, e);
	return 0;
}

void
resp_conn_drain(resp_loop_t *lp, resp_conn_t *rc, GnetConn *c)
{
	envelope_t *e;

	while ((e = rc->head) != NULL && e->ready) {
		rc->head = e->next;
		if (rc->head == NULL)
			rc->tail = NULL;
		rc->owed--;
		GnetModule_Write(c, e->reply, e->reply_len);
		resp_envelope_free(e);
	}
	if (rc->paused && rc->owed <= (uint32_t)lp->srv->max_pending / 2) {
		rc->paused = 0;
		GnetModule_SetReading(c, 1);
	}
	if (rc->closing && rc->head == NULL)
		GnetModule_Close(c);
}

/* ------------------------------------------------------------------------
 * Commands.
 */

/* The loop's argument array, grown to hold argc. */
static int
argv_room(resp_loop_t *lp, size_t argc)
{
	GnetRespArg *a;
	size_t cap = lp->argv_cap;

	if (argc <= cap)
		return 0;
	while (cap < argc)
		cap = cap != 0 ? cap * 2 : 64;
	a = realloc(lp->argv, cap * sizeof *a);
	if (a == NULL)
		return -1;
	lp->argv = a;
	lp->argv_cap = cap;
	return 0;
}

/* Room to unquote an inline command of n bytes. */
static int
scratch_room(resp_loop_t *lp, size_t n)
{
	char *s;

	if (n <= lp->scratch_cap)
		return 0;
	s = realloc(lp->scratch, n);
	if (s == NULL)
		return -1;
	lp->scratch = s;
	lp->scratch_cap = n;
	return 0;
}

/* Redis closes, without a word, a connection whose "command" shows it is
 * someone else's protocol (an HTTP request sent to the port). */
static int
is_cross_protocol(const GnetRespArg *name)
{
	return (name->len == 4 && strncasecmp(name->ptr, "post", 4) == 0) ||
	    (name->len == 5 && strncasecmp(name->ptr, "host:", 5) == 0);
}

static int
check_arity(const resp_cmd_t *cmd, int argc)
{
	return cmd->arity > 0 ? argc == cmd->arity : argc >= -cmd->arity;
}

/* Where a command with keys runs: its shard, or -1 when its keys are on
 * several shards (or it has none to look at). */
static int
command_shard(const resp_server_t *srv, const resp_cmd_t *cmd,
    const GnetRespArg *argv, int argc)
{
	int last, step = cmd->key_step > 0 ? cmd->key_step : 1;
	unsigned first_shard, s;

	if (cmd->first_key <= 0 || cmd->first_key >= argc)
		return -1;
	if (srv->nloops == 1)
		return 0;  /* one shard: no key need be hashed to find it */
	last = cmd->last_key < 0 ? argc + cmd->last_key : cmd->last_key;
	if (last >= argc)
		last = argc - 1;
	first_shard = shard_of(argv[cmd->first_key].ptr,
	    argv[cmd->first_key].len, (unsigned)srv->nloops);
	for (int i = cmd->first_key + step; i <= last; i += step) {
		s = shard_of(argv[i].ptr, argv[i].len, (unsigned)srv->nloops);
		if (s != first_shard)
			return -1;
	}
	return (int)first_shard;
}

static int
over_maxmemory(const resp_server_t *srv, const resp_cmd_t *cmd)
{
	return srv->maxmemory > 0 && (cmd->flags & CMD_DENYOOM) &&
	    resp_used_memory(srv) > (uint64_t)srv->maxmemory;
}

/* An error reply from the loop's buffer, in its turn. */
static int
emit_out(resp_loop_t *lp, resp_conn_t *rc, GnetConn *c)
{
	int rc_emit;

	if (lp->out.failed)
		rc_emit = -1;
	else
		rc_emit = resp_conn_emit(lp, rc, c, lp->out.buf, lp->out.len);
	reply_reset(&lp->out);
	return rc_emit;
}

static int
run_command(resp_loop_t *lp, resp_conn_t *rc, GnetConn *c,
    const GnetRespArg *argv, int argc)
{
	resp_server_t *srv = lp->srv;
	const resp_cmd_t *cmd = cmd_lookup(argv[0].ptr, argv[0].len);
	int shard;

	RESP_COUNT(lp, RST_COMMANDS, 1);
	if (cmd == NULL) {
		if (is_cross_protocol(&argv[0]))
			return -1;
		resp_reply_unknown(&lp->out, argv, argc);
		RESP_COUNT(lp, RST_ERRORS, 1);
		return emit_out(lp, rc, c);
	}
	if (!check_arity(cmd, argc)) {
		reply_errorf(&lp->out, "ERR wrong number of arguments for '%s' "
		    "command", cmd->name);
		RESP_COUNT(lp, RST_ERRORS, 1);
		return emit_out(lp, rc, c);
	}
	if (over_maxmemory(srv, cmd)) {
		reply_error(&lp->out, RESP_ERR_OOM);
		RESP_COUNT(lp, RST_ERRORS, 1);
		return emit_out(lp, rc, c);
	}
	if (cmd->flags & CMD_CONN) {
		int routed = resp_admin_exec(lp, rc, c, cmd, argv, argc);

		return routed != 0 ? (routed < 0 ? -1 : 0) :
		    emit_out(lp, rc, c);
	}
	if (cmd->flags & CMD_ALL_SHARDS)
		shard = srv->nloops == 1 ? 0 : -1;
	else
		shard = command_shard(srv, cmd, argv, argc);
	if (shard == lp->index) {
		shard_exec(lp->shard, cmd, argv, argc, resp_now_ms(), &lp->out);
		return emit_out(lp, rc, c);
	}
	if (shard >= 0) {
		RESP_COUNT(lp, RST_REMOTE, 1);
		return resp_route_remote(lp, rc, c, cmd, argv, argc, shard);
	}
	RESP_COUNT(lp, RST_SCATTERED, 1);
	return resp_route_scatter(lp, rc, c, cmd, argv, argc);
}

/* A protocol error: answered in its turn, then the connection closes. */
static int
protocol_error(resp_loop_t *lp, resp_conn_t *rc, GnetConn *c,
    const char *why)
{
	reply_errorf(&lp->out, "ERR %s", why);
	RESP_COUNT(lp, RST_PROTOCOL_ERRORS, 1);
	rc->closing = 1;
	if (emit_out(lp, rc, c) != 0 || rc->head == NULL)
		return GNETMODULE_CLOSE;
	return GNETMODULE_CONTINUE;
}

int
resp_on_traffic(GnetConn *c, void *udata)
{
	resp_server_t *srv = udata;
	resp_conn_t *rc = GnetModule_ConnState(c);
	resp_loop_t *lp = loop_of(srv, c);
	const void *frame;
	size_t len = GnetModule_Peek(c, &frame);
	long argc;
	const char *why;

	if (rc == NULL || lp == NULL)
		return GNETMODULE_CLOSE;
	/* After QUIT or a protocol error, input is dropped (the frame is
	 * consumed when this returns). */
	if (rc->closing)
		return GNETMODULE_CONTINUE;
	if (len == 0) {
		why = GnetModule_RespError(c);
		return why != NULL ? protocol_error(lp, rc, c, why) :
		    GNETMODULE_CONTINUE;
	}
	/* Only an inline command is unquoted into scratch; a multibulk
	 * one's arguments point into the frame. */
	if (*(const char *)frame != '*' && scratch_room(lp, len) != 0)
		return GNETMODULE_CLOSE;
	argc = GnetModule_RespArgs(frame, len, lp->argv, lp->argv_cap,
	    lp->scratch, lp->scratch_cap);
	if (argc > 0 && (size_t)argc > lp->argv_cap) {
		if (argv_room(lp, (size_t)argc) != 0)
			return GNETMODULE_CLOSE;
		argc = GnetModule_RespArgs(frame, len, lp->argv, lp->argv_cap,
		    lp->scratch, lp->scratch_cap);
	}
	if (argc < 0)
		return GNETMODULE_CLOSE;
	if (argc == 0)
		return GNETMODULE_CONTINUE;
	if (run_command(lp, rc, c, lp->argv, (int)argc) != 0)
		return GNETMODULE_CLOSE;
	if (rc->closing && rc->head == NULL)
		return GNETMODULE_CLOSE;
	return GNETMODULE_CONTINUE;
}
