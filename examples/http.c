/*
 * http -- a minimal HTTP/1.1 server that answers every request with
 * "Hello, World!", with keep-alive and pipelining.
 *
 * Shows request parsing over the buffered input: one read may hold several
 * pipelined requests, or part of one; whole requests are answered and
 * consumed, a partial one stays buffered (unconsumed) until the rest
 * arrives. All answers to one read go out in one write. Request bodies
 * (Content-Length) are skipped as they arrive, so a large upload never
 * piles up in memory. A header block over 8 KiB gets 431 and the
 * connection is closed.
 *
 * A request head must be complete within --head-timeout (default 10 s) of
 * the connection opening or of the previous answer: a deadline
 * (gnet_conn_set_deadline), which no trickle of bytes moves, so a client
 * sending a byte a second cannot hold a descriptor (slowloris). When it
 * passes, the client gets 408 and the connection is closed. The same
 * deadline ends a keep-alive connection idle that long.
 *
 * The Date header is refreshed by the ticker (on_tick runs on loop 0).
 * The other loops must not read a buffer loop 0 writes, so the ticker
 * only publishes the current second in an atomic; each loop keeps its own
 * formatted copy (thread-local) and reformats it when that second changed,
 * i.e. at most once per second per loop. Nothing is shared but one atomic
 * integer: race-free, and no time() call per request.
 *
 *   http [--port N] [--multicore] [--loops N] [--reuseport]
 *        [--head-timeout MS] [--max-conns N]
 *
 * Try it:  curl -i http://127.0.0.1:9000/
 *          wrk -t2 -c64 -d5s http://127.0.0.1:9000/
 */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <gnet.h>
#include "flags.h"

#define MAX_HEADER (8 * 1024)     /* request line + headers + blank line */
#define BATCH_BYTES (16 * 1024)   /* answers gathered before one write */
#define MAX_BODY ((uint64_t)1 << 40) /* a larger Content-Length is refused */

static const char hello[] = "Hello, World!";

/* Per-connection parser state, between reads. */
typedef struct http_conn {
	int pending;        /* a request's header was parsed; answer it once
	                     * its body has been skipped */
	int close_after;    /* that request asked to close after the answer */
	uint64_t body_left; /* body bytes of that request still to skip */
} http_conn_t;

static gnet_engine_t *engine;
static unsigned head_timeout_ms = 10000;

/* The current second, published by the ticker for every loop. */
static atomic_llong clock_sec;
/* Each loop's own copy of the 200 answer and the second its Date header
 * was formatted for: formatting it once a second, not once per read, keeps
 * printf off the request path. */
static _Thread_local long long answer_sec = -1;
static _Thread_local char answer_text[256];
static _Thread_local size_t answer_len;

static const char *
http_answer(size_t *len)
{
	long long now = atomic_load_explicit(&clock_sec, memory_order_relaxed);
	time_t t = (time_t)now;
	char date[40];
	struct tm tm;
	int n;

	if (now != answer_sec) {
		gmtime_r(&t, &tm);
		strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
		n = snprintf(answer_text, sizeof(answer_text),
		    "HTTP/1.1 200 OK\r\nServer: gnet\r\n"
		    "Content-Type: text/plain\r\nDate: %s\r\n"
		    "Content-Length: %zu\r\n\r\n%s", date, sizeof(hello) - 1,
		    hello);
		answer_len = n > 0 && (size_t)n < sizeof(answer_text) ? (size_t)n : 0;
		answer_sec = now;
	}
	*len = answer_len;
	return answer_text;
}

/* Loop 0, between its other events. Ticking on the second boundary keeps
 * the published second at most a few milliseconds late. */
static gnet_action_t
on_tick(gnet_engine_t *eng, uint64_t *delay_ns, void *udata)
{
	struct timespec ts;

	(void)eng;
	(void)udata;
	clock_gettime(CLOCK_REALTIME, &ts);
	atomic_store_explicit(&clock_sec, (long long)ts.tv_sec,
	    memory_order_relaxed);
	*delay_ns = 1000000000ull - (uint64_t)ts.tv_nsec;
	return GNET_NONE;
}

/* ------------------------------------------------------------------------
 * Answers, gathered per read so a pipelined batch costs one write.
 */
typedef struct batch {
	size_t len;
	char buf[BATCH_BYTES];
} batch_t;

static void
batch_add(gnet_conn_t *c, batch_t *b, const char *p, size_t n)
{
	if (b->len + n > sizeof(b->buf)) {
		gnet_conn_write(c, b->buf, b->len);
		b->len = 0;
	}
	memcpy(b->buf + b->len, p, n); /* every answer is far below the size */
	b->len += n;
}

static void
batch_add_str(gnet_conn_t *c, batch_t *b, const char *s)
{
	batch_add(c, b, s, strlen(s));
}

/* ------------------------------------------------------------------------
 * Request header parsing. The block is not NUL-terminated: every helper
 * takes a length.
 */
enum { PARSE_OK = 0, PARSE_BAD = 400, PARSE_UNSUPPORTED = 501 };

/* "Name:" at the start of a header line, case-insensitively; returns the
 * value with surrounding blanks trimmed, or NULL. */
static const char *
header_value(const char *line, size_t len, const char *name, size_t *vlen)
{
	size_t nlen = strlen(name);
	const char *v, *end = line + len;

	if (len <= nlen || line[nlen] != ':' || strncasecmp(line, name, nlen) != 0)
		return NULL;
	v = line + nlen + 1;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*vlen = (size_t)(end - v);
	return v;
}

/* Whether the comma-separated value list holds `token`, case-insensitively
 * ("keep-alive, Upgrade"). */
static int
has_token(const char *v, size_t vlen, const char *token)
{
	size_t tlen = strlen(token), i = 0;

	while (i < vlen) {
		size_t start, end;
		while (i < vlen && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		start = i;
		while (i < vlen && v[i] != ',')
			i++;
		end = i;
		while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t'))
			end--;
		if (end - start == tlen && strncasecmp(v + start, token, tlen) == 0)
			return 1;
	}
	return 0;
}

/* Parse a header block that ends with "\r\n\r\n": the body length and
 * whether the connection closes after the answer. */
static int
parse_request(const char *p, size_t len, uint64_t *body, int *close_after)
{
	const char *end = p + len, *line = p, *nl, *v;
	int http10, keep_alive = 0, has_length = 0;
	size_t llen, vlen, i;

	*body = 0;
	*close_after = 0;
	/* Request line: METHOD SP TARGET SP HTTP/1.x */
	nl = memchr(line, '\n', (size_t)(end - line));
	llen = (size_t)(nl - line);
	if (llen < 10 || line[llen - 1] != '\r' ||
	    memcmp(line + llen - 10, " HTTP/1.", 8) != 0)
		return PARSE_BAD;
	http10 = line[llen - 2] == '0';
	for (line = nl + 1; line < end; line = nl + 1) {
		nl = memchr(line, '\n', (size_t)(end - line));
		llen = (size_t)(nl - line);
		if (llen > 0 && line[llen - 1] == '\r')
			llen--;
		if (llen == 0)
			break; /* the blank line */
		/* Only Content-Length, Connection and Transfer-Encoding
		 * matter here: skip any other header on its first letter. */
		if ((line[0] | 0x20) != 'c' && (line[0] | 0x20) != 't')
			continue;
		if ((v = header_value(line, llen, "Content-Length", &vlen)) != NULL) {
			uint64_t n = 0;
			if (vlen == 0)
				return PARSE_BAD;
			for (i = 0; i < vlen; i++) {
				if (v[i] < '0' || v[i] > '9' || n > MAX_BODY)
					return PARSE_BAD;
				n = n * 10 + (uint64_t)(v[i] - '0');
			}
			/* Two different lengths would let a proxy and us
			 * disagree on where the next request starts. */
			if (n > MAX_BODY || (has_length && n != *body))
				return PARSE_BAD;
			*body = n;
			has_length = 1;
		} else if (header_value(line, llen, "Transfer-Encoding", &vlen) != NULL) {
			/* Chunked bodies are not parsed here: refusing them
			 * beats reading a body as the next request. */
			return PARSE_UNSUPPORTED;
		} else if ((v = header_value(line, llen, "Connection", &vlen)) != NULL) {
			if (has_token(v, vlen, "close"))
				*close_after = 1;
			if (has_token(v, vlen, "keep-alive"))
				keep_alive = 1;
		}
	}
	/* HTTP/1.0 closes unless asked to keep the connection. */
	if (http10 && !keep_alive)
		*close_after = 1;
	return PARSE_OK;
}

/* ------------------------------------------------------------------------
 * Connection events.
 */
static gnet_action_t
on_open(gnet_conn_t *c, void *udata)
{
	http_conn_t *hc = calloc(1, sizeof(*hc));

	(void)udata;
	if (hc == NULL)
		return GNET_CLOSE;
	gnet_conn_set_context(c, hc);
	/* The first request head is due within the timeout. */
	if (gnet_conn_set_deadline(c, head_timeout_ms) != 0)
		return GNET_CLOSE;
	return GNET_NONE;
}

/* The head was not complete in time. */
static gnet_action_t
on_deadline(gnet_conn_t *c, void *udata)
{
	static const char timeout[] = "HTTP/1.1 408 Request Timeout\r\n"
	    "Content-Length: 0\r\nConnection: close\r\n\r\n";

	(void)udata;
	(void)gnet_conn_write(c, timeout, sizeof(timeout) - 1);
	return GNET_CLOSE;
}

static void
on_close(gnet_conn_t *c, int reason, void *udata)
{
	(void)reason;
	(void)udata;
	free(gnet_conn_context(c));
}

static gnet_action_t
on_traffic(gnet_conn_t *c, void *udata)
{
	http_conn_t *hc = gnet_conn_context(c);
	gnet_action_t action = GNET_NONE;
	const void *data;
	const char *in, *hdr_end;
	size_t n = gnet_conn_peek(c, &data), off = 0, avail, window, hlen;
	const char *ok;
	size_t ok_len;
	int rc;
	batch_t out;

	(void)udata;
	if (hc == NULL)
		return GNET_CLOSE; /* on_open ran out of memory */
	in = data;
	out.len = 0;
	/* The answer is the same for every request of this read. */
	ok = http_answer(&ok_len);
	for (;;) {
		if (hc->pending) {
			/* Skip the body as far as it has arrived. */
			size_t k = n - off;
			if (k > hc->body_left)
				k = (size_t)hc->body_left;
			off += k;
			hc->body_left -= k;
			if (hc->body_left != 0)
				break;
			batch_add(c, &out, ok, ok_len);
			hc->pending = 0;
			if (hc->close_after) {
				action = GNET_CLOSE;
				break;
			}
			continue;
		}
		/* Empty lines before a request are allowed (RFC 9112 2.2). */
		while (off < n && (in[off] == '\r' || in[off] == '\n'))
			off++;
		if (off == n)
			break;
		/* The header block must end within MAX_HEADER bytes; looking
		 * no further bounds the scan of a slowly arriving header. */
		avail = n - off;
		window = avail < MAX_HEADER ? avail : MAX_HEADER;
		hdr_end = memmem(in + off, window, "\r\n\r\n", 4);
		if (hdr_end == NULL) {
			if (avail >= MAX_HEADER) {
				batch_add_str(c, &out, "HTTP/1.1 431 Request Header "
				    "Fields Too Large\r\nContent-Length: 0\r\n"
				    "Connection: close\r\n\r\n");
				action = GNET_CLOSE;
			}
			break; /* else: the rest of the header is on its way */
		}
		hlen = (size_t)(hdr_end - (in + off)) + 4;
		rc = parse_request(in + off, hlen, &hc->body_left, &hc->close_after);
		off += hlen;
		if (rc != PARSE_OK) {
			batch_add_str(c, &out, rc == PARSE_UNSUPPORTED ?
			    "HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\n"
			    "Connection: close\r\n\r\n" :
			    "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
			    "Connection: close\r\n\r\n");
			action = GNET_CLOSE;
			break;
		}
		hc->pending = 1;
	}
	if (out.len != 0)
		gnet_conn_write(c, out.buf, out.len);
	/* A head complete: its body has no deadline (an upload may be
	 * slow). Answered and waiting for the next head: due again. */
	if (hc->pending)
		(void)gnet_conn_set_deadline(c, 0);
	else if (out.len != 0 && action == GNET_NONE &&
	    gnet_conn_set_deadline(c, head_timeout_ms) != 0)
		action = GNET_CLOSE;
	/* Whole requests (and skipped body bytes) are consumed; a partial
	 * header stays buffered and is offered again with the next bytes. */
	gnet_conn_discard(c, off);
	return action;
}

static gnet_action_t
on_boot(gnet_engine_t *eng, void *udata)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	(void)udata;
	/* The bound port, not the flag: --port 0 picks a free one. */
	if (gnet_engine_addr(eng, 0, &ss, &len) != 0 || ss.ss_family != AF_INET)
		return GNET_SHUTDOWN;
	printf("http: listening on tcp://127.0.0.1:%d (%d loops)\n",
	    ntohs(((struct sockaddr_in *)&ss)->sin_port),
	    gnet_engine_num_loops(eng));
	fflush(stdout);
	return GNET_NONE;
}

static void
on_signal(int sig)
{
	(void)sig;
	/* Async-signal-safe: a flag and eventfd writes. */
	gnet_engine_stop(engine);
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: http [--port N] [--multicore] [--loops N] [--reuseport]\n"
	    "            [--head-timeout MS] [--max-conns N]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	gnet_events_t ev = { .size = sizeof(gnet_events_t), .on_boot = on_boot, .on_tick = on_tick,
	    .on_open = on_open, .on_close = on_close, .on_traffic = on_traffic,
	    .on_deadline = on_deadline };
	gnet_listen_options_t lo = { .size = sizeof(gnet_listen_options_t) };
	gnet_options_t opt = { .size = sizeof(gnet_options_t) };
	int port = 9000;
	char addr[64];
	int i, rc;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
			port = flag_number(argv[++i], 0, 65535, usage);
		else if (strcmp(argv[i], "--multicore") == 0)
			opt.multicore = 1;
		else if (strcmp(argv[i], "--loops") == 0 && i + 1 < argc)
			opt.num_loops = flag_number(argv[++i], 0, GNET_MAX_LOOPS, usage);
		else if (strcmp(argv[i], "--reuseport") == 0)
			opt.reuseport = 1;
		else if (strcmp(argv[i], "--head-timeout") == 0 && i + 1 < argc)
			head_timeout_ms = (unsigned)flag_number(argv[++i], 1,
			    INT32_MAX, usage);
		else if (strcmp(argv[i], "--max-conns") == 0 && i + 1 < argc)
			lo.max_conns = (unsigned)flag_number(argv[++i], 1,
			    UINT32_MAX, usage);
		else
			usage();
	}
	/* Valid before the first tick, which comes right after start. */
	atomic_store(&clock_sec, (long long)time(NULL));
	snprintf(addr, sizeof(addr), "tcp://127.0.0.1:%d", port);
	rc = gnet_engine_new(&engine, &ev, &opt, NULL);
	if (rc == 0)
		rc = gnet_engine_listen_with(engine, addr, &lo);
	if (rc != 0) {
		fprintf(stderr, "http: %s: %s\n", addr, gnet_strerror(rc));
		gnet_engine_free(engine);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	rc = gnet_engine_run(engine);
	gnet_engine_free(engine);
	if (rc != 0) {
		fprintf(stderr, "http: %s\n", gnet_strerror(rc));
		return 1;
	}
	return 0;
}
