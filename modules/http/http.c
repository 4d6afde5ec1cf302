/*
 * http -- an HTTP/1.1 server module: TechEmpower's plaintext and JSON
 * tests, with keep-alive, pipelining, limits and a header timeout.
 *
 *     gnetd --loadmodule modules/http.so listen=tcp://127.0.0.1:8080
 *
 * What it answers (route.h, parse.h):
 *   GET or HEAD /, /plaintext  200 text/plain "Hello, World!"
 *   GET or HEAD /json          200 application/json
 *                              {"message":"Hello, World!"}
 *   any other path             404
 *   another method on those    405 with "Allow: GET, HEAD". Its body
 *                              (say a POST's) is read and dropped first,
 *                              and the connection stays open.
 * Every answer carries Server, Date and Content-Length; a HEAD gets the
 * GET's headers without the body; a request with a body and "Expect:
 * 100-continue" is told "100 Continue" first.
 *
 * These refuse the request and close the connection after the answer,
 * since where the next request would start is then unknown: 400 a
 * malformed request line or field, 431 a head over max-header-bytes, 413
 * a body over max-body-bytes (Content-Length, or chunked, which is
 * decoded), 501 a transfer coding other than chunked, 505 an HTTP major
 * version other than 1, and 408 a head begun but not whole within
 * header-timeout-ms. Idle keep-alive connections (no byte of a next
 * request yet) are not timed out, nor are bodies arriving slowly.
 *
 * Configs (name=value): listen, max-header-bytes, max-body-bytes,
 * header-timeout-ms, server-name; `gnetd --help-module` lists them.
 *
 * The request path is kept as lean as the library-level example
 * (examples/http.c): requests are parsed straight out of the connection's
 * buffered input, nothing is allocated per request, the usual answers
 * are formatted once a second per loop (with their Date) and copied, and
 * the answers to one read go out in one write.
 *
 * Several loads of this module (different ports, limits) share the
 * shared object's statics, so everything a load configures lives in its
 * own http_server_t, passed to the callbacks as the listener's udata and
 * found again at unload through the context.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gnetmodule.h"
#include "answers.h"
#include "keys.h"
#include "parse.h"
#include "response.h"
#include "route.h"

/* Answers gathered before one write. TechEmpower's pipelined load sends
 * 16 requests per read, about 2.5 KiB of answers; this holds several
 * times that on the stack, and a larger batch is written in pieces. */
#define HTTP_BATCH_BYTES (16 * 1024)
/* How often each loop looks at the clock for its Date: the Date it sends
 * is at most this late, and is formatted again only when the second
 * changed. */
#define HTTP_DATE_TICK_MS 100
/* Apart on cache lines of this size, loops never write next to each
 * other (x86-64's line; a bigger one only costs some sharing). */
#define HTTP_CACHE_LINE 64
/* The header timeout's timer message, sent by a connection to itself. */
#define HTTP_MSG_HEADER_TIMEOUT (GNETMODULE_MSG_USER + 1)

#define NS_PER_MS 1000000ull
#define MS_PER_S 1000ull

/* The "http" stats section, one row per loop. */
enum {
	ST_REQUESTS,          /* request heads parsed */
	ST_RESPONSES_2XX,
	ST_RESPONSES_4XX,
	ST_RESPONSES_5XX,
	ST_HEADER_TIMEOUTS,   /* 408s */
	ST_BYTES_IN,          /* request bytes consumed */
	ST_BYTES_OUT,         /* response bytes written */
	ST_COUNT
};
static const char *const stat_names[ST_COUNT] = {
	[ST_REQUESTS] = "requests",
	[ST_RESPONSES_2XX] = "responses_2xx",
	[ST_RESPONSES_4XX] = "responses_4xx",
	[ST_RESPONSES_5XX] = "responses_5xx",
	[ST_HEADER_TIMEOUTS] = "header_timeouts",
	[ST_BYTES_IN] = "bytes_in",
	[ST_BYTES_OUT] = "bytes_out",
};

/* What one loop reads and writes on its own: nothing here is shared
 * between threads, and the alignment keeps neighbours off its cache
 * lines. */
typedef struct http_loop {
	_Alignas(HTTP_CACHE_LINE) http_answers_t answers;
	uint64_t *row;                  /* its stats row, once asked for */
	uint64_t spare_row[ST_COUNT];   /* the row if the host has none */
} http_loop_t;

/* One load of the module. */
typedef struct http_server {
	GnetModuleCtx *ctx;
	/* Configs. */
	const char *listen_addr;
	const char *server_name;
	long long max_header_bytes;
	long long max_body_bytes;
	long long header_timeout_ms;
	http_limits_t limits;
	GnetModuleStats *stats;
	int keys;                  /* serve /keys/NAME (gnet_redis.so) */
	int nloops;
	http_loop_t *loops;        /* nloops of them */
} http_server_t;

/* Per connection (the listener's conn_state_size), zeroed at open. */
typedef struct http_conn {
	http_parser_t parser;
	uint64_t head_began_ms;    /* monotonic time the first bytes of an
	                            * unfinished head arrived; 0: none */
	uint8_t route;             /* of the request whose body is read */
	uint8_t timer_armed;       /* a header-timeout message is on its way */
	/* A /keys/ lookup is out: requests after it wait, so answers keep
	 * request order. How to answer it when it comes back: */
	uint8_t key_waiting;
	uint8_t key_conn;          /* enum http_conn_header */
	uint8_t key_head;          /* HEAD: no body */
} http_conn_t;

#define HTTP_ROUTE_KEYS (HTTP_ROUTE_NONE + 1)

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * MS_PER_S + (uint64_t)ts.tv_nsec / NS_PER_MS;
}

/* ------------------------------------------------------------------------
 * The Date: each loop, every HTTP_DATE_TICK_MS, remakes its own answers
 * when the second changed.
 */
static void
http_tick(int loop, void *udata)
{
	http_server_t *srv = udata;
	time_t now = time(NULL);

	if (loop >= 0 && loop < srv->nloops)
		http_answers_refresh(&srv->loops[loop].answers, now);
}

/* ------------------------------------------------------------------------
 * Answers, gathered per read.
 */
typedef struct http_batch {
	GnetConn *c;
	uint64_t *row;             /* the loop's stats */
	int failed;                /* a write failed: the connection is gone */
	size_t len;
	char buf[HTTP_BATCH_BYTES];
} http_batch_t;

/* The calling loop's stats row, asked for once, on the loop itself. */
static uint64_t *
loop_row(const http_server_t *srv, http_loop_t *lp, int loop)
{
	if (lp->row == NULL) {
		lp->row = GnetModule_StatsRow(srv->stats, loop);
		if (lp->row == NULL)
			lp->row = lp->spare_row;
	}
	return lp->row;
}

/* Counter i of the calling loop's row: a relaxed store, so readers on
 * other threads see whole values at the cost of a plain add. */
#define COUNT(row, i, n) GNETMODULE_STAT_ADD(row, i, n)

static void
batch_flush(http_batch_t *b)
{
	if (b->len == 0)
		return;
	if (GnetModule_Write(b->c, b->buf, b->len) < 0)
		b->failed = 1;
	COUNT(b->row, ST_BYTES_OUT, b->len);
	b->len = 0;
}

static inline void
batch_add(http_batch_t *b, const char *p, size_t n)
{
	if (n > sizeof b->buf - b->len)
		batch_flush(b);
	memcpy(b->buf + b->len, p, n); /* n <= HTTP_RESPONSE_MAX */
	b->len += n;
}

static void
count_status(http_batch_t *b, int status)
{
	COUNT(b->row, status < 300 ? ST_RESPONSES_2XX : status < 500 ?
	    ST_RESPONSES_4XX : ST_RESPONSES_5XX, 1);
}

static void
batch_status(http_batch_t *b, const http_answers_t *a, int status,
    int connection, int head_only)
{
	if (sizeof b->buf - b->len < HTTP_RESPONSE_MAX)
		batch_flush(b);
	b->len += http_answers_status(a, b->buf + b->len, status, connection,
	    head_only);
	count_status(b, status);
}

/* The answer to a complete request. */
static void
batch_answer(http_batch_t *b, const http_answers_t *a,
    const http_parser_t *p, int route)
{
	int head = p->method == HTTP_METHOD_HEAD;
	int conn = !p->keep_alive ? HTTP_CONN_CLOSE :
	    p->version_minor == 0 ? HTTP_CONN_KEEP_ALIVE : HTTP_CONN_DEFAULT;
	const char *text;
	size_t len;

	if (route == HTTP_ROUTE_NONE) {
		batch_status(b, a, 404, conn, head);
	} else if (p->method != HTTP_METHOD_GET && !head) {
		batch_status(b, a, 405, conn, 0);
	} else {
		text = http_answers_ok(a, route, conn, head, &len);
		batch_add(b, text, len);
		COUNT(b->row, ST_RESPONSES_2XX, 1);
	}
}

/* ------------------------------------------------------------------------
 * The header timeout: a connection whose head has begun sends itself a
 * message header-timeout-ms later; if a head is still unfinished then
 * and began that long ago, it gets 408. One message is in flight at
 * most; a head that began later re-arms it for the rest of its time.
 */
static int
arm_header_timer(const http_server_t *srv, GnetConn *c, http_conn_t *hc,
    uint64_t delay_ms)
{
	GnetMsg m = { .type = HTTP_MSG_HEADER_TIMEOUT };

	if (GnetModule_SendAfter(srv->ctx, GnetModule_ConnHandle(c), &m,
	    delay_ms) != GNETMODULE_OK)
		return -1;
	hc->timer_armed = 1;
	return 0;
}

static int key_answered(GnetConn *c, http_server_t *srv, http_conn_t *hc,
    GnetRedisReply *r);

static int
http_message(GnetConn *c, const GnetMsg *m, void *udata)
{
	http_server_t *srv = udata;
	http_conn_t *hc = GnetModule_ConnState(c);
	int loop = GnetModule_ConnLoop(c);
	uint64_t waited, timeout = (uint64_t)srv->header_timeout_ms;
	uint64_t *row;
	char text[HTTP_RESPONSE_MAX];
	size_t n;

	if (m->type == GNETMODULE_MSG_REDIS_REPLY && hc != NULL)
		return key_answered(c, srv, hc, (GnetRedisReply *)(uintptr_t)m->a);
	if (m->type != HTTP_MSG_HEADER_TIMEOUT || hc == NULL)
		return GNETMODULE_CONTINUE;
	hc->timer_armed = 0;
	if (hc->head_began_ms == 0)
		return GNETMODULE_CONTINUE; /* finished in time */
	waited = now_ms() - hc->head_began_ms;
	if (waited < timeout)
		return arm_header_timer(srv, c, hc, timeout - waited) == 0 ?
		    GNETMODULE_CONTINUE : GNETMODULE_CLOSE;
	if (loop < 0 || loop >= srv->nloops)
		return GNETMODULE_CLOSE;
	n = http_answers_status(&srv->loops[loop].answers, text, 408,
	    HTTP_CONN_CLOSE, 0);
	row = loop_row(srv, &srv->loops[loop], loop);
	COUNT(row, ST_RESPONSES_4XX, 1);
	COUNT(row, ST_HEADER_TIMEOUTS, 1);
	COUNT(row, ST_BYTES_OUT, n);
	GnetModule_Write(c, text, n);
	return GNETMODULE_CLOSE;
}

/* Bytes of a head are buffered, its end is not: start its clock. */
static int
head_begun(const http_server_t *srv, GnetConn *c, http_conn_t *hc)
{
	if (srv->header_timeout_ms == 0 || hc->head_began_ms != 0)
		return GNETMODULE_CONTINUE;
	hc->head_began_ms = now_ms() | 1; /* never 0, which means none */
	if (hc->timer_armed)
		return GNETMODULE_CONTINUE; /* it re-arms itself for this one */
	return arm_header_timer(srv, c, hc,
	    (uint64_t)srv->header_timeout_ms) == 0 ?
	    GNETMODULE_CONTINUE : GNETMODULE_CLOSE;
}

/* ------------------------------------------------------------------------
 * /keys/NAME: a GET through the host's Redis, when it has one.
 */
static int http_serve(GnetConn *c, void *udata);

/* Send the GET; its reply comes back to the connection. */
static int
key_ask(http_server_t *srv, GnetConn *c, const char *target, size_t len)
{
	char name[HTTP_KEYS_MAX_NAME];
	long n = http_keys_name(target, len, name, sizeof name);
	GnetRespArg argv[2] = { { "GET", 3 }, { name, 0 } };
	int argc = 2;
	GnetRedisCall call = { .size = sizeof(call), .ncmds = 1,
	    .argc = &argc, .argv = argv };

	if (n < 0)
		return -1;
	argv[1].len = (size_t)n;
	return GnetModule_RedisCall(srv->ctx, GnetModule_ConnHandle(c),
	    &call) == GNETMODULE_OK ? 0 : -1;
}

/* The request is whole: stop reading until its answer is written. */
static void
key_wait(GnetConn *c, http_conn_t *hc)
{
	const http_parser_t *p = &hc->parser;

	hc->key_waiting = 1;
	hc->key_head = p->method == HTTP_METHOD_HEAD;
	hc->key_conn = !p->keep_alive ? HTTP_CONN_CLOSE :
	    p->version_minor == 0 ? HTTP_CONN_KEEP_ALIVE : HTTP_CONN_DEFAULT;
	GnetModule_SetReading(c, 0);
}

static int
key_answered(GnetConn *c, http_server_t *srv, http_conn_t *hc,
    GnetRedisReply *r)
{
	int loop = GnetModule_ConnLoop(c);
	http_loop_t *lp = &srv->loops[loop];
	uint64_t *row = loop_row(srv, lp, loop);
	http_response_t resp = { .server = srv->server_name,
	    .date = lp->answers.date, .content_type = "application/octet-stream",
	    .connection = hc->key_conn, .head_only = 1 };
	char head[HTTP_RESPONSE_MAX];
	const char *body = NULL;
	size_t n, len = 0;

	resp.status = r->status != 0 ? 503 :
	    http_keys_status(r->data, r->len, &body, &len);
	if (resp.status != 200)
		resp.content_type = "text/plain";
	resp.body = body;
	resp.body_len = len;
	n = http_response_format(head, sizeof head, &resp, NULL);
	COUNT(row, resp.status < 300 ? ST_RESPONSES_2XX : resp.status < 500 ?
	    ST_RESPONSES_4XX : ST_RESPONSES_5XX, 1);
	COUNT(row, ST_BYTES_OUT, n + (hc->key_head ? 0 : len));
	GnetModule_Write(c, head, n);
	if (!hc->key_head && len != 0)
		GnetModule_Write(c, body, len);
	GnetModule_RedisReplyFree(r);
	hc->key_waiting = 0;
	if (hc->key_conn == HTTP_CONN_CLOSE)
		return GNETMODULE_CLOSE;
	GnetModule_SetReading(c, 1);
	return http_serve(c, srv);
}

/* ------------------------------------------------------------------------
 * Requests.
 */
static int
http_traffic(GnetConn *c, void *udata)
{
	if (((http_conn_t *)GnetModule_ConnState(c))->key_waiting)
		return GNETMODULE_CONTINUE;
	return http_serve(c, udata);
}

static int
http_serve(GnetConn *c, void *udata)
{
	http_server_t *srv = udata;
	http_conn_t *hc = GnetModule_ConnState(c);
	int loop = GnetModule_ConnLoop(c), action = GNETMODULE_CONTINUE;
	const void *view;
	size_t n = GnetModule_Peek(c, &view), off = 0;
	const char *in = view;
	http_loop_t *lp;
	http_batch_t b;
	http_event_t ev;

	if (hc == NULL || loop < 0 || loop >= srv->nloops)
		return GNETMODULE_CLOSE;
	lp = &srv->loops[loop];
	b.c = c;
	b.failed = 0;
	b.len = 0;
	b.row = loop_row(srv, lp, loop);
	for (;;) {
		int r = http_parse(&hc->parser, &srv->limits, in + off, n - off,
		    &ev);

		off += ev.consumed;
		if (r == HTTP_PARSE_AGAIN)
			break;
		if (r == HTTP_PARSE_BODY)
			continue; /* read and dropped */
		if (r == HTTP_PARSE_ERROR) {
			batch_status(&b, &lp->answers, hc->parser.status,
			    HTTP_CONN_CLOSE, 0);
			action = GNETMODULE_CLOSE;
			break;
		}
		if (r == HTTP_PARSE_HEAD) {
			COUNT(b.row, ST_REQUESTS, 1);
			hc->route = (uint8_t)http_route_find(ev.target,
			    ev.target_len);
			if (srv->keys && ev.target_len > 6 &&
			    memcmp(ev.target, HTTP_KEYS_PREFIX, 6) == 0) {
				hc->route = HTTP_ROUTE_KEYS;
				if (key_ask(srv, c, ev.target,
				    ev.target_len) != 0)
					hc->route = HTTP_ROUTE_NONE;
			}
			if (http_parser_body_follows(&hc->parser)) {
				/* The client holds the body back until
				 * told to send it. */
				if (hc->parser.expect_continue)
					batch_add(&b, HTTP_CONTINUE,
					    sizeof HTTP_CONTINUE - 1);
				continue; /* answered at its END */
			}
		}
		if (hc->route == HTTP_ROUTE_KEYS) {
			/* Answered when the key comes back; what follows
			 * waits for it. */
			batch_flush(&b);
			key_wait(c, hc);
			break;
		}
		batch_answer(&b, &lp->answers, &hc->parser, hc->route);
		if (!hc->parser.keep_alive) {
			action = GNETMODULE_CLOSE;
			break;
		}
	}
	batch_flush(&b);
	COUNT(b.row, ST_BYTES_IN, off);
	/* Whole requests and body bytes are consumed; an unfinished head
	 * stays buffered and is offered again with the next bytes. */
	GnetModule_Discard(c, off);
	if (b.failed)
		return GNETMODULE_CLOSE;
	if (action == GNETMODULE_CONTINUE && off < n &&
	    http_parser_in_head(&hc->parser))
		return head_begun(srv, c, hc);
	hc->head_began_ms = 0;
	return action;
}

/* ------------------------------------------------------------------------
 * Configs.
 */
static int
check_listen(const void *value, char *err, size_t errlen)
{
	const char *s = value;

	if (strncmp(s, "tcp://", 6) == 0 || strncmp(s, "unix://", 7) == 0)
		return 0;
	snprintf(err, errlen, "HTTP needs a stream: tcp://HOST:PORT or "
	    "unix://PATH, not \"%s\"", s);
	return 1;
}

static int
check_server_name(const void *value, char *err, size_t errlen)
{
	const char *s = value;
	size_t n = strlen(s);

	if (n == 0 || n > HTTP_SERVER_NAME_MAX || s[0] == ' ' ||
	    s[n - 1] == ' ') {
		snprintf(err, errlen, "1 to %d characters, no blank at either "
		    "end", HTTP_SERVER_NAME_MAX);
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e) {
			snprintf(err, errlen, "printable ASCII only");
			return 1;
		}
	}
	return 0;
}

static int
declare_configs(GnetModuleCtx *ctx, http_server_t *srv)
{
	const GnetModuleConfig defs[] = {
		{ .size = sizeof(GnetModuleConfig), .name = "listen",
		    .type = GNETMODULE_CONFIG_STRING,
		    .default_value = "tcp://127.0.0.1:8080",
		    .help = "address to serve (tcp:// or unix://)",
		    .target = &srv->listen_addr, .validate = check_listen },
		/* At least a request line and a Host field; at most what
		 * a connection may hold unparsed (the parser's offsets are
		 * 32-bit, far above this). */
		{ .size = sizeof(GnetModuleConfig), .name = "max-header-bytes",
		    .type = GNETMODULE_CONFIG_BYTES, .default_value = "8k",
		    .help = "largest request head (line, fields, blank line); "
		    "431 beyond", .min = 64, .max = 1 << 20,
		    .target = &srv->max_header_bytes },
		{ .size = sizeof(GnetModuleConfig), .name = "max-body-bytes",
		    .type = GNETMODULE_CONFIG_BYTES, .default_value = "1m",
		    .help = "largest request body, read and dropped; 413 "
		    "beyond", .min = 0, .max = (long long)1 << 62,
		    .target = &srv->max_body_bytes },
		{ .size = sizeof(GnetModuleConfig), .name = "header-timeout-ms",
		    .type = GNETMODULE_CONFIG_INT, .default_value = "10000",
		    .help = "a request head begun must be whole within this, "
		    "else 408 (0: no limit)", .min = 0, .max = 3600 * 1000,
		    .target = &srv->header_timeout_ms },
		{ .size = sizeof(GnetModuleConfig), .name = "keys",
		    .type = GNETMODULE_CONFIG_BOOL, .default_value = "no",
		    .help = "serve GET /keys/NAME from the keyspace of the "
		    "redis-server hosting gnet (gnet_redis.so only)",
		    .target = &srv->keys },
		{ .size = sizeof(GnetModuleConfig), .name = "server-name",
		    .type = GNETMODULE_CONFIG_STRING, .default_value = "gnet",
		    .help = "value of the Server header",
		    .target = &srv->server_name,
		    .validate = check_server_name },
	};

	for (size_t i = 0; i < sizeof defs / sizeof defs[0]; i++)
		if (GnetModule_Config(ctx, &defs[i]) != GNETMODULE_OK)
			return GNETMODULE_ERR;
	return GnetModule_ApplyConfig(ctx);
}

/* ------------------------------------------------------------------------
 * Load and unload.
 */
static void
server_free(http_server_t *srv)
{
	free(srv->loops);
	free(srv);
}

/* Everything after the configs: per-loop answers, stats, the Date tick,
 * the listener. */
static int
server_start(GnetModuleCtx *ctx, http_server_t *srv)
{
	GnetModuleListener l = { .size = sizeof(l),
	    .on_traffic = http_traffic, .on_message = http_message,
	    .conn_state_size = sizeof(http_conn_t), .udata = srv };
	time_t now = time(NULL);
	int rc;

	srv->limits.max_header_bytes = (size_t)srv->max_header_bytes;
	srv->limits.max_body_bytes = (uint64_t)srv->max_body_bytes;
	srv->nloops = GnetModule_NumLoops(ctx);
	if (srv->nloops <= 0)
		return GnetModule_SetError(ctx, "the host reports %d loops",
		    srv->nloops);
	srv->loops = aligned_alloc(_Alignof(http_loop_t),
	    (size_t)srv->nloops * sizeof(http_loop_t));
	if (srv->loops == NULL)
		return GnetModule_SetError(ctx, "out of memory");
	memset(srv->loops, 0, (size_t)srv->nloops * sizeof(http_loop_t));
	/* The loops do not run yet: their answers are made here, then
	 * only by their own ticks. */
	for (int i = 0; i < srv->nloops; i++)
		http_answers_init(&srv->loops[i].answers, srv->server_name,
		    now);
	rc = GnetModule_RegisterStats(ctx, "http", stat_names, ST_COUNT,
	    &srv->stats);
	if (rc != GNETMODULE_OK)
		return GnetModule_SetError(ctx, "stats: %s",
		    GnetModule_Strerror(rc));
	rc = GnetModule_Tick(ctx, -1, HTTP_DATE_TICK_MS, http_tick, srv);
	if (rc != GNETMODULE_OK)
		return GnetModule_SetError(ctx, "tick: %s",
		    GnetModule_Strerror(rc));
	l.addr = srv->listen_addr;
	rc = GnetModule_Listen(ctx, &l);
	if (rc < 0)
		return GnetModule_SetError(ctx, "listen %s: %s",
		    srv->listen_addr, GnetModule_Strerror(rc));
	return GNETMODULE_OK;
}

int
GnetModule_OnLoad(GnetModuleCtx *ctx, const char **argv, int argc)
{
	http_server_t *srv;

	(void)argv;
	(void)argc;
	if (GnetModule_Init(ctx, "http", 1) != GNETMODULE_OK)
		return GNETMODULE_ERR;
	if ((srv = calloc(1, sizeof *srv)) == NULL)
		return GnetModule_SetError(ctx, "out of memory");
	srv->ctx = ctx;
	/* On failure the host undoes what was registered; nothing can call
	 * into this load, so its state goes at once. */
	/* /keys/ needs a host with Redis: elsewhere the load fails
	 * naming GnetModule_RedisCall. */
	if (declare_configs(ctx, srv) != GNETMODULE_OK ||
	    (srv->keys && GnetModule_InitRedis(ctx) != GNETMODULE_OK) ||
	    server_start(ctx, srv) != GNETMODULE_OK) {
		server_free(srv);
		return GNETMODULE_ERR;
	}
	GnetModule_SetModuleData(ctx, srv);
	return GNETMODULE_OK;
}

void
GnetModule_OnUnload(GnetModuleCtx *ctx)
{
	http_server_t *srv = GnetModule_ModuleData(ctx);

	if (srv != NULL)
		server_free(srv);
}
