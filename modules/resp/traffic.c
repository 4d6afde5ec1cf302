/*
 * A connection's commands: its buffered bytes read as a batch of
 * commands, each checked against the command table as Redis checks it
 * (unknown name, arity, maxmemory), then run where it belongs -- by the
 * connection itself, by its own loop's shard at once, or sent away in an
 * envelope (route.c). Replies go out in request order (resp.h).
 *
 * Why batches: with a pipeline, most of a command's time on its own
 * shard is the memory waits of the key's lookup (bucket, entry, value,
 * each likely a cache miss in a large keyspace). Reading up to
 * RESP_BATCH commands first, then asking the CPU for every key's bucket,
 * then every first entry, then every value, lets those waits overlap;
 * the commands then run in order as before. A batch ends early at an
 * inline command (its arguments are unquoted into the loop's one
 * scratch buffer), at a protocol error, or when the argument array is
 * full; whatever follows is read again, from its first byte, for the
 * next batch (the decoder keeps no state between whole commands).
 *
 * The fast path, a command for the own shard with nothing owed, writes
 * its reply at once and allocates nothing: arguments point into the
 * connection's input, the reply is made in the loop's reused buffer.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "resp.h"

/* Arguments the loop's array keeps room for between reads. */
#define RESP_ARGV_KEEP 4096

int
resp_traffic_init_api(GnetModuleCtx *ctx)
{
	return GnetModule_InitApi(ctx);
}

/* The loop's argument array, grown to hold `more` beyond `used`. */
static int
argv_room(resp_loop_t *lp, size_t used, size_t more)
{
	GnetRespArg *a;
	size_t cap = lp->argv_cap;

	if (used + more <= cap)
		return 0;
	while (cap < used + more)
		cap = cap != 0 ? cap * 2 : 256;
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

/* The reply in the loop's buffer, in its turn. */
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

/* ------------------------------------------------------------------------
 * Reading a batch.
 */

/* What the reading found at the end of a batch. */
enum { READ_MORE, READ_WAIT, READ_STOP, READ_TOO_BIG };

/* Decode commands from in[*pos..n) into lp->batch. Returns with *pos
 * after the last command taken and *k commands: READ_MORE when the batch
 * ended early with whole commands still there, READ_WAIT when the rest
 * is an unfinished command, READ_STOP after a protocol error (the last
 * entry) or on a frame this cannot split, READ_TOO_BIG for a command over
 * the codec's max frame. */
static int
read_batch(resp_loop_t *lp, resp_conn_t *rc, const unsigned char *in,
    size_t n, size_t *pos, int *k)
{
	size_t used = 0;

	*k = 0;
	while (*k < RESP_BATCH) {
		resp_pending_t *p = &lp->batch[*k];
		GnetFrame f;
		long argc;
		int r, inl;

		if (*pos == n)
			return READ_WAIT;
		r = GnetModule_CodecDecode(lp->srv->codec, rc->dec, in + *pos,
		    n - *pos, &f);
		if (r == 0)
			return READ_WAIT;
		if (r < 0)
			return READ_TOO_BIG;
		if (f.len == 0) {
			*pos += f.consumed;
			p->why = GnetModule_RespError(rc->dec);
			if (p->why == NULL)
				continue;     /* input Redis skips */
			p->argc = 0;
			(*k)++;
			return READ_STOP;
		}
		inl = *(const char *)f.data != '*';
		if (inl && (*k > 0 || scratch_room(lp, f.len) != 0))
			return *k > 0 ? READ_MORE : READ_STOP;
		argc = GnetModule_RespArgs(f.data, f.len, lp->argv + used,
		    lp->argv_cap - used, inl ? lp->scratch : NULL,
		    inl ? lp->scratch_cap : 0);
		if (argc > 0 && (size_t)argc > lp->argv_cap - used) {
			if (*k > 0)
				return READ_MORE;
			if (argv_room(lp, used, (size_t)argc) != 0)
				return READ_STOP;
			argc = GnetModule_RespArgs(f.data, f.len, lp->argv + used,
			    lp->argv_cap - used, inl ? lp->scratch : NULL,
			    inl ? lp->scratch_cap : 0);
		}
		if (argc < 0)
			return READ_STOP;
		*pos += f.consumed;
		if (argc == 0)
			continue;
		p->why = NULL;
		p->argv_at = used;
		p->argc = (int)argc;
		used += (size_t)argc;
		(*k)++;
		if (inl)
			return READ_MORE;
	}
	return READ_MORE;
}

/* Look each command up, find where it runs, and for those on this loop's
 * shard fetch their keys' memory, a level at a time over the batch. */
static void
plan_batch(resp_loop_t *lp, int k)
{
	resp_server_t *srv = lp->srv;
	int local = 0;

	for (int i = 0; i < k; i++) {
		resp_pending_t *p = &lp->batch[i];
		const GnetRespArg *argv = lp->argv + p->argv_at;

		p->cmd = NULL;
		p->shard = -1;
		if (p->why != NULL)
			continue;
		p->cmd = cmd_lookup(argv[0].ptr, argv[0].len);
		if (p->cmd == NULL || !check_arity(p->cmd, p->argc) ||
		    (p->cmd->flags & CMD_CONN))
			continue;
		if (p->cmd->flags & CMD_ALL_SHARDS)
			p->shard = srv->nloops == 1 ? 0 : -1;
		else
			p->shard = command_shard(srv, p->cmd, argv, p->argc);
		if (p->shard == lp->index && p->cmd->first_key > 0 &&
		    !(p->cmd->flags & CMD_ALL_SHARDS)) {
			p->hash = shard_key_hash(argv[p->cmd->first_key].ptr,
			    argv[p->cmd->first_key].len);
			shard_prefetch(lp->shard, p->hash, 0);
			local++;
		} else {
			p->hash = 0;
		}
	}
	if (local < 2)
		return;  /* nothing to overlap */
	for (int stage = 1; stage <= 2; stage++)
		for (int i = 0; i < k; i++)
			if (lp->batch[i].hash != 0)
				shard_prefetch(lp->shard, lp->batch[i].hash,
				    stage);
}

/* ------------------------------------------------------------------------
 * Running.
 */
static int
run_command(resp_loop_t *lp, resp_conn_t *rc, GnetConn *c,
    const resp_pending_t *p)
{
	resp_server_t *srv = lp->srv;
	const GnetRespArg *argv = lp->argv + p->argv_at;
	const resp_cmd_t *cmd = p->cmd;
	int argc = p->argc;

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
	if (p->shard == lp->index) {
		shard_exec(lp->shard, cmd, argv, argc, resp_now_ms(), &lp->out);
		return emit_out(lp, rc, c);
	}
	if (p->shard >= 0) {
		RESP_COUNT(lp, RST_REMOTE, 1);
		return resp_route_remote(lp, rc, c, cmd, argv, argc, p->shard);
	}
	RESP_COUNT(lp, RST_SCATTERED, 1);
	return resp_route_scatter(lp, rc, c, cmd, argv, argc);
}

/* A protocol error: answered in its turn, then the connection closes. */
static void
protocol_error(resp_loop_t *lp, resp_conn_t *rc, GnetConn *c,
    const char *why)
{
	reply_errorf(&lp->out, "ERR %s", why);
	RESP_COUNT(lp, RST_PROTOCOL_ERRORS, 1);
	rc->closing = 1;
	(void)emit_out(lp, rc, c);
}

/* Run the batch in order; -1 when the connection must close at once. */
static int
run_batch(resp_loop_t *lp, resp_conn_t *rc, GnetConn *c, int k)
{
	for (int i = 0; i < k && !rc->closing; i++) {
		const resp_pending_t *p = &lp->batch[i];

		if (p->why != NULL)
			protocol_error(lp, rc, c, p->why);
		else if (run_command(lp, rc, c, p) != 0)
			return -1;
	}
	return 0;
}

int
resp_on_traffic(GnetConn *c, void *udata)
{
	resp_server_t *srv = udata;
	resp_conn_t *rc = GnetModule_ConnState(c);
	resp_loop_t *lp = resp_loop_of(srv, c);
	const void *view;
	size_t n = GnetModule_Peek(c, &view), pos = 0;
	int k, how = READ_MORE;

	if (rc == NULL || lp == NULL)
		return GNETMODULE_CLOSE;
	/* After QUIT or a protocol error, input is dropped. */
	while (!rc->closing && how == READ_MORE) {
		how = read_batch(lp, rc, view, n, &pos, &k);
		plan_batch(lp, k);
		if (run_batch(lp, rc, c, k) != 0) {
			GnetModule_Discard(c, n);
			return GNETMODULE_CLOSE;
		}
		if (how == READ_STOP && !rc->closing) {
			/* A frame the splitter refused, or no memory to
			 * split it: nothing after it can be trusted. */
			GnetModule_Discard(c, n);
			return GNETMODULE_CLOSE;
		}
	}
	/* A command over the max frame closes the connection without a
	 * reply, as Redis closes a client over its query buffer limit. */
	if (how == READ_TOO_BIG) {
		GnetModule_Discard(c, n);
		return GNETMODULE_CLOSE;
	}
	/* Whole commands are consumed; an unfinished one stays buffered
	 * and is read again, with the decoder's state, when more comes. */
	GnetModule_Discard(c, rc->closing ? n : pos);
	/* An array grown for one huge command (an MSET of a million keys)
	 * is given back rather than kept by the loop for good. */
	if (lp->argv_cap > RESP_ARGV_KEEP) {
		free(lp->argv);
		lp->argv = NULL;
		lp->argv_cap = 0;
	}
	if (rc->closing && rc->head == NULL)
		return GNETMODULE_CLOSE;
	return GNETMODULE_CONTINUE;
}
