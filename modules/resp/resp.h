/*
 * The resp module's connection side: what one load of the module keeps,
 * what each loop keeps, what each connection keeps, and the envelopes
 * that carry a command to another loop's shard and its reply back.
 *
 * Where a command runs. Every loop owns one shard (shard.h) and one
 * actor that serves it. A connection runs a command for a key of its own
 * loop's shard at once, in its callback; a command for another shard
 * travels in an envelope, as a message to that shard's actor, which runs
 * it and sends the envelope back to the actor of the connection's loop.
 * Replies leave in request order: while any envelope of a connection is
 * out, later replies wait in its queue behind it (conn.c).
 *
 * Ownership. An envelope belongs to the loop of the connection that made
 * it, except while it travels: between the send and the return message
 * only the shard's loop touches it. A connection that closes with
 * envelopes out marks them orphaned; their return frees them. So no
 * field of an envelope is ever touched by two threads at once, and the
 * messages' release/acquire is the only synchronisation.
 *
 * Thread: every function here runs on a loop, on the data of that loop
 * (or on an envelope it holds, as said above).
 */
#ifndef RESP_RESP_H
#define RESP_RESP_H

#include <stddef.h>
#include <stdint.h>
#include "gnetmodule.h"
#include "command.h"
#include "reply.h"
#include "shard.h"

/* INFO's gather: resp_info_part's integers summed into INFO's text. */
#define GATHER_INFO 100

/* Messages between the loops' actors. */
#define RESP_MSG_RUN (GNETMODULE_MSG_USER + 1)   /* a = envelope, to a shard */
#define RESP_MSG_DONE (GNETMODULE_MSG_USER + 2)  /* a = envelope, back home */

/* Commands read before any of them runs (traffic.c): enough for a
 * pipeline's keys to be fetched together, few enough that the batch's
 * bookkeeping stays in cache. */
#define RESP_BATCH 32
/* Bytes of the decoder's state kept per connection (the RESP codec's is
 * smaller; checked at load). */
#define RESP_DECODER_STATE 16

/* Cache line size of x86-64: loops' data never share one. */
#define RESP_CACHE_LINE 64

/* The "resp" stats section, one row per loop. */
enum {
	RST_COMMANDS,          /* commands run for this loop's connections */
	RST_REMOTE,            /* of which sent to another loop's shard */
	RST_SCATTERED,         /* of which split over several shards */
	RST_SERVED,            /* commands this loop's shard ran for others */
	RST_ERRORS,            /* error replies */
	RST_PROTOCOL_ERRORS,   /* connections closed for a protocol error */
	RST_CONNS_OPENED,
	RST_CONNS_OPEN,        /* a gauge: opened minus closed */
	RST_PAUSED,            /* reads paused for too many replies owed */
	RST_COUNT
};

typedef struct resp_server resp_server_t;
typedef struct envelope envelope_t;

/* A command of the batch being read (traffic.c). */
typedef struct resp_pending {
	const resp_cmd_t *cmd;      /* NULL: unknown, or a protocol error */
	const char *why;            /* the protocol error, or NULL */
	size_t argv_at;             /* its arguments: loop's argv from here */
	int argc;
	int shard;                  /* where it runs; -1: several shards */
	uint64_t hash;              /* its key's, when it runs on this loop's
	                             * shard (prefetched); 0: none */
} resp_pending_t;

/* What one loop keeps: used only by that loop. */
typedef struct resp_loop {
	_Alignas(RESP_CACHE_LINE) resp_server_t *srv;
	int index;
	shard_t *shard;
	GnetHandle actor;           /* serves the shard and takes returns */
	reply_t out;                /* the reply being made, reused */
	GnetRespArg *argv;          /* the batch's arguments, reused */
	size_t argv_cap;
	resp_pending_t batch[RESP_BATCH];
	char *scratch;              /* inline commands are unquoted here */
	size_t scratch_cap;
	uint64_t *row;              /* its stats row */
	uint64_t spare_row[RST_COUNT];
	/* Envelopes that travel (ENV_REMOTE, ENV_GATHER with its parts) and
	 * are not freed yet. A message carrying one can be dropped -- its
	 * shard's actor stopped first at an unload -- and then nothing would
	 * free it: the unload frees what is left here, once no loop runs
	 * the module. Linked and unlinked by this loop only. */
	envelope_t *travelling;
} resp_loop_t;

/* One load of the module. */
struct resp_server {
	GnetModuleCtx *ctx;
	/* Configs. */
	const char *listen_addr;
	long long maxmemory;
	long long max_bulk_len;
	long long max_args;
	long long max_inline_len;
	long long query_buffer_limit;
	long long max_pending;
	long long hz;
	int nloops;
	resp_loop_t *loops;
	const GnetCodec *codec;
	GnetModuleStats *stats;
	uint64_t started_ms;        /* wall clock at load, for INFO */
	uint64_t next_client_id;    /* CLIENT ID; atomic, any loop */
};

/* Per connection (the listener's conn_state_size), zeroed at open. */
typedef struct resp_conn {
	unsigned char dec[RESP_DECODER_STATE]; /* the RESP decoder's state */
	envelope_t *head, *tail;    /* replies owed, in request order */
	uint32_t owed;              /* envelopes in the queue */
	uint8_t closing;            /* QUIT or a protocol error: close once
	                             * every reply owed is written */
	uint8_t paused;             /* reading stopped: too many owed */
	uint64_t id;                /* CLIENT ID */
	char *name;                 /* CLIENT SETNAME, or NULL */
} resp_conn_t;

/* A command's trip, or a reply held in order (see the top comment). */
enum {
	ENV_REMOTE,    /* one command, run by another loop's shard */
	ENV_HELD,      /* a reply made at once, waiting for earlier ones */
	ENV_GATHER,    /* a command split over shards: waits for parts */
	ENV_PART       /* one shard's part of a gather */
};

struct envelope {
	envelope_t *next;           /* in the connection's queue */
	envelope_t *travel_prev, *travel_next; /* in home->travelling */
	resp_conn_t *rc;            /* its connection; NULL once orphaned */
	GnetConn *conn;
	resp_loop_t *home;          /* the loop that made it */
	envelope_t *parent;         /* ENV_PART: its gather */
	const resp_cmd_t *cmd;
	int kind;
	int shard;                  /* where it runs */
	int ready;                  /* the reply is in `reply`: set and
	                             * read by the home loop only */
	int failed;                 /* ENV_GATHER: a part could not be made */
	int parts_left;             /* ENV_GATHER: parts not back yet */
	int nparts;
	envelope_t **parts;         /* ENV_GATHER: by shard, or NULL */
	uint16_t *key_shard;        /* ENV_GATHER: each key's shard, in order */
	int nkeys;
	int argc;
	GnetRespArg *argv;          /* into the bytes after the envelope */
	char *reply;
	size_t reply_len;
};

/* Each file that calls the host has its own pointers to resolve
 * (gnetmodule.h's GnetModule_InitApi): OnLoad calls these. */
int resp_conn_init_api(GnetModuleCtx *ctx);
int resp_route_init_api(GnetModuleCtx *ctx);
int resp_traffic_init_api(GnetModuleCtx *ctx);

/* The loop data of c's loop, or NULL for a loop index out of range.
 * Inline, so it uses the including file's API pointers (resolved by its
 * init function). */
static inline resp_loop_t *
resp_loop_of(resp_server_t *srv, const GnetConn *c)
{
	int i = GnetModule_ConnLoop(c);

	return i >= 0 && i < srv->nloops ? &srv->loops[i] : NULL;
}

/* conn.c and traffic.c: the listener's callbacks. */
int resp_on_open(GnetConn *c, void *udata);
int resp_on_traffic(GnetConn *c, void *udata);
void resp_on_close(GnetConn *c, int reason, void *udata);
/* Write what is ready at the head of rc's queue; close when a closing
 * connection owes nothing more. */
void resp_conn_drain(resp_loop_t *lp, resp_conn_t *rc, GnetConn *c);
/* Give a reply its place: written at once if nothing is owed before it,
 * else held in the queue. Returns 0, or -1 when out of memory. */
int resp_conn_emit(resp_loop_t *lp, resp_conn_t *rc, GnetConn *c,
    const char *p, size_t n);
/* Append an envelope to rc's queue (pausing reads when too many are
 * owed). */
void resp_conn_enqueue(resp_loop_t *lp, resp_conn_t *rc, GnetConn *c,
    envelope_t *e);

/* route.c: commands that leave the loop. Each queues an envelope on rc
 * and returns 0, or returns -1 (out of memory: nothing queued). */
int resp_route_remote(resp_loop_t *lp, resp_conn_t *rc, GnetConn *c,
    const resp_cmd_t *cmd, const GnetRespArg *argv, int argc, int shard);
int resp_route_scatter(resp_loop_t *lp, resp_conn_t *rc, GnetConn *c,
    const resp_cmd_t *cmd, const GnetRespArg *argv, int argc);
/* The loops' actor: runs envelopes for other loops, takes returns. */
void resp_actor_receive(GnetActor *self, const GnetMsg *m);
void resp_envelope_free(envelope_t *e);
/* Free the envelopes of lp still travelling (at unload, when no loop
 * runs the module any more). */
void resp_envelopes_free_left(resp_loop_t *lp);

/* admin.c: the commands a connection runs itself (CMD_CONN). Returns 0
 * with the reply appended to lp->out, 1 when the command was routed
 * (INFO over several shards: its reply comes in its turn), -1 when out
 * of memory. Sets rc->closing for QUIT. */
int resp_admin_exec(resp_loop_t *lp, resp_conn_t *rc, GnetConn *c,
    const resp_cmd_t *cmd, const GnetRespArg *argv, int argc);
/* Redis's reply to a command it does not know. */
void resp_reply_unknown(reply_t *out, const GnetRespArg *argv, int argc);
/* INFO's numbers from every shard: an internal command run on each,
 * replying an array of integers, summed over the shards and formatted
 * by resp_info_reply. */
extern const resp_cmd_t resp_info_part;
void resp_info_reply(resp_loop_t *lp, const GnetRespArg *argv, int argc,
    const long long *sums, int nsums, reply_t *out);

/* resp.c */
uint64_t resp_now_ms(void);
uint64_t resp_used_memory(const resp_server_t *srv);
/* The calling loop's stats row. */
uint64_t *resp_loop_row(resp_loop_t *lp);
#define RESP_COUNT(lp, i, n) GNETMODULE_STAT_ADD(resp_loop_row(lp), i, n)

#endif
