/*
 * Commands that leave the connection's loop (resp.h has the ownership
 * rules): one command for another loop's shard travels in an envelope
 * and comes back with its reply; a command whose keys live on several
 * shards (MSET, MGET, DEL, EXISTS) or that every shard must run (DBSIZE,
 * FLUSHDB, INFO's numbers) is split into one part per shard -- the same
 * command over that shard's keys -- and the parts' replies are gathered
 * into the one Redis would give.
 *
 * What is atomic: each part runs at once on its shard, between that
 * shard's other commands, so a command whose keys share a shard is
 * atomic as in Redis; across shards it is not. Another client may see
 * an MSET's keys on one shard set and on another not yet, and an MGET
 * reads each shard at a slightly different moment. Replies still leave
 * in request order, so one connection sees its own commands in order.
 */
#include <stdlib.h>
#include <string.h>

#include "resp.h"

/* A reply up to this size travels inside its envelope. */
#define ENVELOPE_SMALL_REPLY 48

typedef struct envelope_block {
	envelope_t e;
	char small[ENVELOPE_SMALL_REPLY];
} envelope_block_t;

int
resp_route_init_api(GnetModuleCtx *ctx)
{
	return GnetModule_InitApi(ctx);
}

/* An envelope with its own copy of the arguments. */
static envelope_t *
envelope_new(resp_loop_t *lp, int kind, const resp_cmd_t *cmd,
    const GnetRespArg *argv, int argc)
{
	size_t bytes = 0;
	envelope_block_t *b;
	envelope_t *e;
	char *p;

	for (int i = 0; i < argc; i++)
		bytes += argv[i].len;
	b = malloc(sizeof *b + (size_t)argc * sizeof(GnetRespArg) + bytes);
	if (b == NULL)
		return NULL;
	e = &b->e;
	memset(e, 0, sizeof *e);
	e->kind = kind;
	e->home = lp;
	e->cmd = cmd;
	e->argc = argc;
	e->argv = (GnetRespArg *)(b + 1);
	p = (char *)(e->argv + argc);
	for (int i = 0; i < argc; i++) {
		memcpy(p, argv[i].ptr, argv[i].len);
		e->argv[i].ptr = p;
		e->argv[i].len = argv[i].len;
		p += argv[i].len;
	}
	/* Parts go with their gather. */
	if (kind == ENV_REMOTE || kind == ENV_GATHER) {
		e->travel_next = lp->travelling;
		if (lp->travelling != NULL)
			lp->travelling->travel_prev = e;
		lp->travelling = e;
	}
	return e;
}

static void
travel_end(envelope_t *e)
{
	if (e->kind != ENV_REMOTE && e->kind != ENV_GATHER)
		return;
	if (e->travel_prev != NULL)
		e->travel_prev->travel_next = e->travel_next;
	else
		e->home->travelling = e->travel_next;
	if (e->travel_next != NULL)
		e->travel_next->travel_prev = e->travel_prev;
}

void
resp_envelopes_free_left(resp_loop_t *lp)
{
	while (lp->travelling != NULL)
		resp_envelope_free(lp->travelling);
}

static int
reply_is_inline(const envelope_t *e)
{
	return e->reply == ((const envelope_block_t *)e)->small ||
	    (e->kind == ENV_HELD && e->reply == (const char *)(e + 1));
}

void
resp_envelope_free(envelope_t *e)
{
	if (e == NULL)
		return;
	travel_end(e);
	if (e->parts != NULL) {
		for (int i = 0; i < e->nparts; i++)
			resp_envelope_free(e->parts[i]);
		free(e->parts);
	}
	if (e->reply != NULL && !reply_is_inline(e))
		free(e->reply);
	free(e->key_shard);
	free(e);
}

/* Keep a copy of the reply made in `out`, then empty it. Run by
 * whichever loop holds the envelope; `ready` is left to its home loop,
 * the only one that reads it. */
static void
take_reply(envelope_t *e, reply_t *out)
{
	static const char oom[] = "-ERR out of memory\r\n";
	const char *src = out->failed ? oom : out->buf;
	size_t n = out->failed ? sizeof oom - 1 : out->len;

	if (e->kind != ENV_HELD && n <= ENVELOPE_SMALL_REPLY)
		e->reply = ((envelope_block_t *)e)->small;
	else if ((e->reply = malloc(n)) == NULL) {
		src = oom;
		n = sizeof oom - 1;
		e->reply = ((envelope_block_t *)e)->small;
	}
	memcpy(e->reply, src, n);
	e->reply_len = n;
	reply_reset(out);
}

static void
fail_envelope(envelope_t *e, reply_t *out)
{
	reply_error(out, "ERR the shard could not be reached");
	take_reply(e, out);
	e->ready = 1;
}

static int
send_run(resp_loop_t *lp, envelope_t *e)
{
	GnetMsg m = { .type = RESP_MSG_RUN, .a = (uint64_t)(uintptr_t)e };

	return GnetModule_Send(lp->srv->ctx, lp->srv->loops[e->shard].actor,
	    &m);
}

int
resp_route_remote(resp_loop_t *lp, resp_conn_t *rc, GnetConn *c,
    const resp_cmd_t *cmd, const GnetRespArg *argv, int argc, int shard)
{
	envelope_t *e = envelope_new(lp, ENV_REMOTE, cmd, argv, argc);

	if (e == NULL)
		return -1;
	e->rc = rc;
	e->conn = c;
	e->shard = shard;
	resp_conn_enqueue(lp, rc, c, e);
	if (send_run(lp, e) != GNETMODULE_OK) {
		fail_envelope(e, &lp->out);
		resp_conn_drain(lp, rc, c);
	}
	return 0;
}

/* ------------------------------------------------------------------------
 * Gathering.
 */

/* Length of the RESP2 element at p[0..n) (a line, or a bulk with its
 * header), or n when it is cut short: parts come from our own shards,
 * so this only guards against reading past the end. */
static size_t
element_len(const char *p, size_t n)
{
	const char *eol = memchr(p, '\n', n);
	size_t head;
	long long blen;

	if (eol == NULL)
		return n;
	head = (size_t)(eol - p) + 1;
	if (p[0] != '$')
		return head;
	blen = strtoll(p + 1, NULL, 10);
	if (blen < 0)
		return head;
	if ((unsigned long long)blen + 2 > n - head)
		return n;
	return head + (size_t)blen + 2;
}

/* A part's reply, skipping its "*n" header when it is an array. */
static const char *
array_body(const envelope_t *part, size_t *len)
{
	const char *p = part->reply;
	const char *eol;

	*len = part->reply_len;
	if (*len == 0 || p[0] != '*')
		return p;
	eol = memchr(p, '\n', *len);
	if (eol == NULL)
		return p + *len;
	*len -= (size_t)(eol - p) + 1;
	return eol + 1;
}

static const envelope_t *
first_error(const envelope_t *g)
{
	for (int s = 0; s < g->nparts; s++) {
		const envelope_t *part = g->parts[s];

		if (part != NULL && part->reply_len != 0 &&
		    part->reply[0] == '-')
			return part;
	}
	return NULL;
}

static void
gather_array(const envelope_t *g, reply_t *out)
{
	size_t left[64], off[64];
	const char *body[64];

	for (int s = 0; s < g->nparts && s < 64; s++) {
		left[s] = off[s] = 0;
		body[s] = NULL;
		if (g->parts[s] != NULL)
			body[s] = array_body(g->parts[s], &left[s]);
	}
	reply_array(out, g->nkeys);
	for (int k = 0; k < g->nkeys; k++) {
		int s = g->key_shard[k];
		size_t n;

		if (body[s] == NULL || left[s] == 0) {
			reply_nil(out);
			continue;
		}
		n = element_len(body[s] + off[s], left[s]);
		reply_raw(out, body[s] + off[s], n);
		off[s] += n;
		left[s] -= n;
	}
}

/* Each part of INFO's numbers is an array of integers: summed. */
static void
gather_info(resp_loop_t *lp, const envelope_t *g, reply_t *out)
{
	long long sums[16] = { 0 };
	int nsums = 0;

	for (int s = 0; s < g->nparts; s++) {
		const envelope_t *part = g->parts[s];
		size_t left, n;
		const char *p;
		int i = 0;

		if (part == NULL)
			continue;
		p = array_body(part, &left);
		while (left != 0 && i < 16) {
			n = element_len(p, left);
			if (p[0] == ':')
				sums[i] += strtoll(p + 1, NULL, 10);
			i++;
			p += n;
			left -= n;
		}
		if (i > nsums)
			nsums = i;
	}
	resp_info_reply(lp, g->argv, g->argc, sums, nsums, out);
}

static void
gather(resp_loop_t *lp, envelope_t *g)
{
	const envelope_t *err = first_error(g);
	long long sum = 0;

	if (g->failed) {
		reply_error(&lp->out, "ERR out of memory");
	} else if (g->cmd->gather == GATHER_INFO) {
		gather_info(lp, g, &lp->out);
	} else if (err != NULL && g->cmd->gather != GATHER_ARRAY) {
		reply_raw(&lp->out, err->reply, err->reply_len);
	} else if (g->cmd->gather == GATHER_SUM) {
		for (int s = 0; s < g->nparts; s++)
			if (g->parts[s] != NULL)
				sum += strtoll(g->parts[s]->reply + 1, NULL,
				    10);
		reply_int(&lp->out, sum);
	} else if (g->cmd->gather == GATHER_ARRAY) {
		gather_array(g, &lp->out);
	} else {
		reply_status(&lp->out, "OK");
	}
	take_reply(g, &lp->out);
	g->ready = 1;
}

/* ------------------------------------------------------------------------
 * Scattering.
 */

/* The part of `cmd` for shard s: the command name, then each key of s
 * with the arguments that go with it (MSET's value). */
static int
part_args(const resp_cmd_t *cmd, const GnetRespArg *argv, int argc,
    const uint16_t *key_shard, int s, GnetRespArg *out)
{
	int step = cmd->key_step > 0 ? cmd->key_step : 1;
	int n = 0, k = 0;

	out[n++] = argv[0];
	for (int i = cmd->first_key; i + step - 1 < argc; i += step, k++) {
		if (key_shard[k] != s)
			continue;
		for (int j = 0; j < step; j++)
			out[n++] = argv[i + j];
	}
	return n;
}

static int
add_part(resp_loop_t *lp, envelope_t *g, int s, const GnetRespArg *argv,
    int argc)
{
	envelope_t *part = envelope_new(lp, ENV_PART, g->cmd, argv, argc);

	if (part == NULL)
		return -1;
	part->parent = g;
	part->shard = s;
	g->parts[s] = part;
	if (s == lp->index) {
		shard_exec(lp->shard, part->cmd, part->argv, part->argc,
		    resp_now_ms(), &lp->out);
		take_reply(part, &lp->out);
		part->ready = 1;
	} else if (send_run(lp, part) != GNETMODULE_OK) {
		fail_envelope(part, &lp->out);
	} else {
		g->parts_left++;
	}
	return 0;
}

int
resp_route_scatter(resp_loop_t *lp, resp_conn_t *rc, GnetConn *c,
    const resp_cmd_t *cmd, const GnetRespArg *argv, int argc)
{
	resp_server_t *srv = lp->srv;
	int all = (cmd->flags & CMD_ALL_SHARDS) != 0;
	int step = cmd->key_step > 0 ? cmd->key_step : 1;
	int nkeys = all ? 0 : (argc - cmd->first_key) / step;
	GnetRespArg *sub = NULL;
	envelope_t *g;

	g = envelope_new(lp, ENV_GATHER, cmd, argv, argc);
	if (g == NULL)
		return -1;
	g->nparts = srv->nloops;
	g->nkeys = nkeys;
	g->parts = calloc((size_t)g->nparts, sizeof *g->parts);
	g->key_shard = calloc((size_t)nkeys + 1, sizeof *g->key_shard);
	if (!all)
		sub = malloc((size_t)argc * sizeof *sub);
	if (g->parts == NULL || g->key_shard == NULL || (!all && sub == NULL))
		goto fail;
	for (int k = 0; k < nkeys; k++) {
		const GnetRespArg *key = &argv[cmd->first_key + k * step];

		g->key_shard[k] = (uint16_t)shard_of(key->ptr, key->len,
		    (unsigned)srv->nloops);
	}
	g->rc = rc;
	g->conn = c;
	for (int s = 0; s < g->nparts; s++) {
		int n = argc;

		if (!all) {
			n = part_args(cmd, argv, argc, g->key_shard, s, sub);
			if (n == 1)
				continue; /* no key of this shard */
		}
		if (add_part(lp, g, s, all ? argv : sub, n) != 0)
			goto fail;
	}
	free(sub);
	resp_conn_enqueue(lp, rc, c, g);
	if (g->parts_left == 0) {
		gather(lp, g);
		resp_conn_drain(lp, rc, c);
	}
	return 0;
fail:
	/* Parts already sent come back to a gather that must still exist:
	 * answer the command with an error instead of dropping it. */
	free(sub);
	if (g->parts_left != 0) {
		g->rc = rc;
		g->conn = c;
		g->failed = 1;
		resp_conn_enqueue(lp, rc, c, g);
		return 0;
	}
	resp_envelope_free(g);
	return -1;
}

/* ------------------------------------------------------------------------
 * The loops' actor.
 */
static void
run_for_other_loop(resp_loop_t *lp, envelope_t *e)
{
	GnetMsg m = { .type = RESP_MSG_DONE, .a = (uint64_t)(uintptr_t)e };

	shard_exec(lp->shard, e->cmd, e->argv, e->argc, resp_now_ms(),
	    &lp->out);
	take_reply(e, &lp->out);
	RESP_COUNT(lp, RST_SERVED, 1);
	/* Loop to loop sends do not fail while the engine runs; at stop
	 * the envelope goes with the engine's memory. */
	(void)GnetModule_Send(lp->srv->ctx, e->home->actor, &m);
}

static void
returned(resp_loop_t *lp, envelope_t *e)
{
	envelope_t *g = e;

	e->ready = 1;
	if (e->kind == ENV_PART) {
		g = e->parent;
		if (--g->parts_left != 0)
			return;
		if (g->rc != NULL)
			gather(lp, g);
		else
			g->ready = 1;
	}
	if (g->rc == NULL) {
		resp_envelope_free(g);
		return;
	}
	resp_conn_drain(lp, g->rc, g->conn);
}

void
resp_actor_receive(GnetActor *self, const GnetMsg *m)
{
	resp_loop_t *lp = GnetModule_ActorState(self);
	envelope_t *e = (envelope_t *)(uintptr_t)m->a;

	if (lp == NULL || e == NULL)
		return;
	if (m->type == RESP_MSG_RUN)
		run_for_other_loop(lp, e);
	else if (m->type == RESP_MSG_DONE)
		returned(lp, e);
}
