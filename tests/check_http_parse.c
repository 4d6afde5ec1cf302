/*
 * check_http_parse -- unit suite "http_parse": the http module's request
 * parser (modules/http/parse.h) on byte streams, no sockets, plus its
 * routes and response formatting (route.h, response.h).
 *
 * A stream is fed as a connection would deliver it: in reads, each call
 * seeing exactly the bytes not consumed so far (in a heap buffer of that
 * size, so ASan catches a read past it), until the parser needs more or
 * fails. What it reports -- requests with their method, target, version,
 * keep-alive and decoded body, the final result, the bytes left -- must
 * be the same for the stream in one read and split anywhere.
 *
 * Covers: a complete request, the same split at every byte boundary and
 * byte by byte, pipelined requests, empty lines before a request, bare LF
 * line ends, bad request lines (400, 505), bad fields (400, 501), the
 * head limit (431) exactly at its edge, Content-Length bodies and their
 * limit (413), chunked bodies (extensions, trailers, split chunks, bad
 * chunk sizes and line ends, oversize chunks and sums, long lines),
 * HTTP/1.0 and 1.1 keep-alive rules, Connection lists, HEAD, Expect:
 * 100-continue; then route
 * matching, the IMF-fixdate, formatted responses and a loop's answers.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "modules/http/answers.h"
#include "modules/http/parse.h"
#include "modules/http/response.h"
#include "modules/http/route.h"
#include "support/testnet.h"

#define TCASE_TIMEOUT_S 60

#define MAX_REQS 16
#define MAX_BODY_REC 4096      /* decoded body bytes recorded per request */
#define MAX_STEPS 100000       /* parse calls per feed: more is a loop */

#define GET_REQ "GET / HTTP/1.1\r\nHost: a\r\n\r\n"

static const http_limits_t default_limits = { 8192, 1 << 20 };

/* What the parser reported for one request. */
typedef struct req_rec {
	int method;
	char method_name[32];
	char target[256];
	int version_minor;
	int keep_alive;
	int body_follows;
	int expect_continue;
	int ended;               /* END seen (only with a body) */
	size_t body_len;
	char body[MAX_BODY_REC];
} req_rec_t;

/* What one feed of a stream came to. */
typedef struct run {
	int nreqs;
	req_rec_t reqs[MAX_REQS];
	int last;                /* HTTP_PARSE_AGAIN or HTTP_PARSE_ERROR */
	int status;              /* after an error */
	size_t pending;          /* stream bytes never consumed */
	int in_head;             /* a head was unfinished at the end */
} run_t;

static void
record(run_t *r, const http_parser_t *p, int ev, const http_event_t *e)
{
	req_rec_t *q;

	switch (ev) {
	case HTTP_PARSE_HEAD:
		ck_assert_int_lt(r->nreqs, MAX_REQS);
		q = &r->reqs[r->nreqs++];
		q->method = p->method;
		ck_assert_uint_lt(e->method_len, sizeof q->method_name);
		memcpy(q->method_name, e->method_name, e->method_len);
		ck_assert_uint_lt(e->target_len, sizeof q->target);
		memcpy(q->target, e->target, e->target_len);
		q->version_minor = p->version_minor;
		q->keep_alive = p->keep_alive;
		q->body_follows = http_parser_body_follows(p);
		q->expect_continue = p->expect_continue;
		ck_assert_uint_gt(e->consumed, 0);
		break;
	case HTTP_PARSE_BODY:
		ck_assert_int_gt(r->nreqs, 0);
		q = &r->reqs[r->nreqs - 1];
		ck_assert_msg(q->body_follows && !q->ended, "body out of place");
		ck_assert_uint_gt(e->body_len, 0);
		ck_assert_uint_le(q->body_len + e->body_len, MAX_BODY_REC);
		memcpy(q->body + q->body_len, e->body, e->body_len);
		q->body_len += e->body_len;
		break;
	case HTTP_PARSE_END:
		ck_assert_int_gt(r->nreqs, 0);
		q = &r->reqs[r->nreqs - 1];
		ck_assert_msg(q->body_follows && !q->ended, "END out of place");
		q->ended = 1;
		/* What the request said still holds at its END. */
		ck_assert_int_eq(p->keep_alive, q->keep_alive);
		ck_assert_int_eq(p->method, q->method);
		break;
	default:
		ck_abort_msg("unexpected event %d", ev);
	}
}

/* Feed s[0..n) in reads ending at cuts[0] < cuts[1] < ... (then at n),
 * parsing after each read until more bytes are needed or it fails. */
static void
feed_cuts(run_t *r, const http_limits_t *lim, const char *s, size_t n,
    const size_t *cuts, int ncuts)
{
	http_parser_t p;
	size_t base = 0, got = 0;
	int steps = 0, ev = HTTP_PARSE_AGAIN;

	memset(&p, 0, sizeof p);
	memset(r, 0, sizeof *r);
	for (int c = 0; c <= ncuts && ev != HTTP_PARSE_ERROR; c++) {
		size_t end = c < ncuts ? cuts[c] : n, pend, off = 0;
		char *buf;

		ck_assert_uint_le(end, n);
		got = end > got ? end : got;
		pend = got - base;
		buf = malloc(pend != 0 ? pend : 1);
		ck_assert_ptr_nonnull(buf);
		memcpy(buf, s + base, pend);
		for (;;) {
			http_event_t e;
			ck_assert_int_lt(++steps, MAX_STEPS);
			memset(&e, 0xa5, sizeof e);
			ev = http_parse(&p, lim, buf + off, pend - off, &e);
			ck_assert_uint_le(e.consumed, pend - off);
			off += e.consumed;
			if (ev == HTTP_PARSE_AGAIN || ev == HTTP_PARSE_ERROR)
				break;
			record(r, &p, ev, &e);
		}
		base += off;
		free(buf);
	}
	r->last = ev;
	r->status = ev == HTTP_PARSE_ERROR ? p.status : 0;
	r->pending = n - base;
	r->in_head = ev == HTTP_PARSE_AGAIN && http_parser_in_head(&p) &&
	    r->pending > 0;
}

static void
feed(run_t *r, const http_limits_t *lim, const char *s, size_t n)
{
	feed_cuts(r, lim, s, n, NULL, 0);
}

static void
feed_str(run_t *r, const char *s)
{
	feed(r, &default_limits, s, strlen(s));
}

static void
runs_equal(const run_t *a, const run_t *b, const char *what)
{
	ck_assert_msg(a->nreqs == b->nreqs, "%s: %d requests vs %d", what,
	    a->nreqs, b->nreqs);
	ck_assert_msg(a->last == b->last && a->status == b->status &&
	    a->pending == b->pending, "%s: ended %d/%d with %zu left vs "
	    "%d/%d with %zu left", what, a->last, a->status, a->pending,
	    b->last, b->status, b->pending);
	for (int i = 0; i < a->nreqs; i++) {
		const req_rec_t *x = &a->reqs[i], *y = &b->reqs[i];
		ck_assert_msg(x->method == y->method &&
		    strcmp(x->method_name, y->method_name) == 0 &&
		    strcmp(x->target, y->target) == 0 &&
		    x->version_minor == y->version_minor &&
		    x->keep_alive == y->keep_alive &&
		    x->body_follows == y->body_follows && x->ended == y->ended &&
		    x->expect_continue == y->expect_continue &&
		    x->body_len == y->body_len &&
		    memcmp(x->body, y->body, x->body_len) == 0,
		    "%s: request %d differs", what, i);
	}
}

/* The stream in one read, cut once at every offset, and byte by byte:
 * all the same. Returns the one-read run in *whole. */
static void
feed_every_split(run_t *whole, const http_limits_t *lim, const char *s,
    size_t n)
{
	run_t *split = malloc(sizeof *split);
	size_t *bytes = malloc((n + 1) * sizeof *bytes);
	char what[64];

	ck_assert(split != NULL && bytes != NULL);
	feed(whole, lim, s, n);
	for (size_t k = 0; k <= n; k++) {
		feed_cuts(split, lim, s, n, &k, 1);
		snprintf(what, sizeof what, "cut at %zu of %zu", k, n);
		runs_equal(whole, split, what);
		bytes[k] = k;
	}
	feed_cuts(split, lim, s, n, bytes, (int)n);
	runs_equal(whole, split, "byte by byte");
	free(bytes);
	free(split);
}

static void
expect_error(const char *s, int status)
{
	run_t r;

	feed_str(&r, s);
	ck_assert_msg(r.last == HTTP_PARSE_ERROR && r.status == status,
	    "\"%s\": result %d status %d, want error %d", s, r.last, r.status,
	    status);
}

/* ------------------------------------------------------------------------
 * Heads.
 */
START_TEST(test_complete_get)
{
	run_t r;

	feed_str(&r, GET_REQ);
	ck_assert_int_eq(r.nreqs, 1);
	ck_assert_int_eq(r.last, HTTP_PARSE_AGAIN);
	ck_assert_uint_eq(r.pending, 0);
	ck_assert_int_eq(r.reqs[0].method, HTTP_METHOD_GET);
	ck_assert_str_eq(r.reqs[0].method_name, "GET");
	ck_assert_str_eq(r.reqs[0].target, "/");
	ck_assert_int_eq(r.reqs[0].version_minor, 1);
	ck_assert_int_eq(r.reqs[0].keep_alive, 1);
	ck_assert_int_eq(r.reqs[0].body_follows, 0);

	/* What wrk sends under TechEmpower's script. */
	feed_str(&r, "GET /plaintext HTTP/1.1\r\nHost: 10.0.0.1:8080\r\n"
	    "Accept: text/plain,text/html;q=0.9,application/xhtml+xml;q=0.9,"
	    "application/xml;q=0.8,*/*;q=0.7\r\nConnection: keep-alive\r\n\r\n");
	ck_assert_int_eq(r.nreqs, 1);
	ck_assert_str_eq(r.reqs[0].target, "/plaintext");
	ck_assert_int_eq(r.reqs[0].keep_alive, 1);
	ck_assert_uint_eq(r.pending, 0);
}
END_TEST

/* An unfinished head is not consumed, and is reported as one. */
START_TEST(test_partial_head)
{
	run_t r;

	feed(&r, &default_limits, GET_REQ, strlen(GET_REQ) - 1);
	ck_assert_int_eq(r.nreqs, 0);
	ck_assert_int_eq(r.last, HTTP_PARSE_AGAIN);
	ck_assert_uint_eq(r.pending, strlen(GET_REQ) - 1);
	ck_assert_int_eq(r.in_head, 1);
}
END_TEST

static const char *const split_streams[] = {
	GET_REQ,
	"GET /json HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n\r\n" GET_REQ
	    "HEAD /x?y HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
	"\r\n\r\n\n" GET_REQ,
	"POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 18\r\n\r\n"
	    "GET / HTTP/1.1\r\n\r\n" GET_REQ,
	"PUT /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "5\r\nhello\r\n1;ext=1\r\n \r\nA\r\n0123456789\r\n0\r\n"
	    "X-Trailer: t\r\n\r\n" GET_REQ,
	"GET / HTTP/1.1\nHost: a\n\nPOST / HTTP/1.1\nHost: a\n"
	    "Transfer-Encoding: chunked\n\n3\nabc\n0\n\n",
	GET_REQ "GET / HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n" GET_REQ,
	GET_REQ "GET / HTTP/1.1\r\nHost: a\r\nX: y",
};

START_TEST(test_split_everywhere)
{
	run_t *whole = malloc(sizeof *whole);
	const char *s = split_streams[_i];

	ck_assert_ptr_nonnull(whole);
	feed_every_split(whole, &default_limits, s, strlen(s));
	/* Spot checks of the one-read result each split had to match. */
	switch (_i) {
	case 1:
		ck_assert_int_eq(whole->nreqs, 3);
		ck_assert_str_eq(whole->reqs[0].target, "/json");
		ck_assert_int_eq(whole->reqs[2].method, HTTP_METHOD_HEAD);
		ck_assert_str_eq(whole->reqs[2].target, "/x?y");
		ck_assert_int_eq(whole->reqs[2].version_minor, 0);
		ck_assert_int_eq(whole->reqs[2].keep_alive, 1);
		break;
	case 3:
		ck_assert_int_eq(whole->nreqs, 2);
		ck_assert_uint_eq(whole->reqs[0].body_len, 18);
		ck_assert_int_eq(whole->reqs[0].ended, 1);
		break;
	case 4:
		ck_assert_int_eq(whole->nreqs, 2);
		ck_assert_uint_eq(whole->reqs[0].body_len, 16);
		ck_assert(memcmp(whole->reqs[0].body, "hello 0123456789", 16) == 0);
		ck_assert_int_eq(whole->reqs[0].ended, 1);
		break;
	case 5:
		ck_assert_int_eq(whole->nreqs, 2);
		ck_assert_uint_eq(whole->reqs[1].body_len, 3);
		ck_assert_int_eq(whole->reqs[1].ended, 1);
		break;
	case 6:
		ck_assert_int_eq(whole->nreqs, 1);
		ck_assert_int_eq(whole->status, 400);
		break;
	case 7:
		ck_assert_int_eq(whole->nreqs, 1);
		ck_assert_int_eq(whole->in_head, 1);
		break;
	}
	ck_assert_int_eq(whole->last, _i == 6 ? HTTP_PARSE_ERROR :
	    HTTP_PARSE_AGAIN);
	free(whole);
}
END_TEST

START_TEST(test_pipelined)
{
	char buf[1024];
	size_t n = 0;
	run_t r;

	for (int i = 0; i < 16; i++) {
		n += (size_t)snprintf(buf + n, sizeof buf - n,
		    "GET /%d HTTP/1.1\r\nHost: a\r\n\r\n", i);
	}
	feed(&r, &default_limits, buf, n);
	ck_assert_int_eq(r.nreqs, 16);
	for (int i = 0; i < 16; i++) {
		char want[16];
		snprintf(want, sizeof want, "/%d", i);
		ck_assert_str_eq(r.reqs[i].target, want);
	}
	ck_assert_uint_eq(r.pending, 0);
}
END_TEST

START_TEST(test_empty_lines_and_lf)
{
	run_t r;

	/* Empty lines before a request are skipped and consumed even if
	 * nothing follows yet. */
	feed_str(&r, "\r\n\n\r\n");
	ck_assert_int_eq(r.nreqs, 0);
	ck_assert_uint_eq(r.pending, 0);
	ck_assert_int_eq(r.in_head, 0);
	feed_str(&r, "\r\n\r");
	ck_assert_uint_eq(r.pending, 1);
	feed_str(&r, "GET / HTTP/1.1\nHost: a\n\n");
	ck_assert_int_eq(r.nreqs, 1);
	ck_assert_uint_eq(r.pending, 0);
	expect_error("\r\rGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
}
END_TEST

static const char *const bad_request_lines[] = {
	"GET\r\nHost: a\r\n\r\n",
	"GET /\r\nHost: a\r\n\r\n",
	"GET / \r\nHost: a\r\n\r\n",
	" GET / HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET /  HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET / HTTP/1.1 \r\nHost: a\r\n\r\n",
	"GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET / http/1.1\r\nHost: a\r\n\r\n",
	"GET / HTTP/1.\r\nHost: a\r\n\r\n",
	"GET / HTTP/11\r\nHost: a\r\n\r\n",
	"GET / HTTP/1.10\r\nHost: a\r\n\r\n",
	"GET / HTTP/x.1\r\nHost: a\r\n\r\n",
	"G(T / HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET / HTTP/1.1\r\r\nHost: a\r\n\r\n",
	"GET /\r HTTP/1.1\r\nHost: a\r\n\r\n",
	"BAD\r\n\r\n",
	"\x16\x03\x01\x02\x01\xfc\x03\x03\r\n\r\n",
};

START_TEST(test_bad_request_line)
{
	expect_error(bad_request_lines[_i], 400);
}
END_TEST

START_TEST(test_versions)
{
	run_t r;

	expect_error("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505);
	expect_error("GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505);
	/* A later 1.x is read as 1.1. */
	feed_str(&r, "GET / HTTP/1.7\r\nHost: a\r\n\r\n");
	ck_assert_int_eq(r.nreqs, 1);
	ck_assert_int_eq(r.reqs[0].version_minor, 1);
	/* Other methods are tokens, reported by name. */
	feed_str(&r, "PATCH /x HTTP/1.1\r\nHost: a\r\n\r\n"
	    "get / HTTP/1.1\r\nHost: a\r\n\r\n");
	ck_assert_int_eq(r.nreqs, 2);
	ck_assert_int_eq(r.reqs[0].method, HTTP_METHOD_OTHER);
	ck_assert_str_eq(r.reqs[0].method_name, "PATCH");
	ck_assert_int_eq(r.reqs[1].method, HTTP_METHOD_OTHER); /* case matters */
}
END_TEST

static const struct {
	const char *req;
	int status;
} bad_fields[] = {
	{ "GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", 400 },
	{ "GET / HTTP/1.1\r\nHost: a\r\nName : v\r\n\r\n", 400 },
	{ "GET / HTTP/1.1\r\nHost: a\r\n: v\r\n\r\n", 400 },
	{ "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n  folded\r\n\r\n", 400 },
	{ "GET / HTTP/1.1\r\nHost: a\r\n\tX: a\r\n\r\n", 400 },
	{ "GET / HTTP/1.1\r\nHost: a\r\nX: a\x01z\r\n\r\n", 400 },
	{ "GET / HTTP/1.1\r\nHost: a\r\nX: a\rz\r\n\r\n", 400 },
	{ "GET / HTTP/1.1\r\nHost: a\r\nX: a\x7f\r\n\r\n", 400 },
	{ "GET / HTTP/1.1\r\nHost: a\r\nX(y): a\r\n\r\n", 400 },
	{ "GET / HTTP/1.1\r\n\r\n", 400 },                       /* no Host */
	{ "GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", 400 },
	{ "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n", 400 },
	{ "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400 },
	{ "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\n", 400 },
	{ "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", 400 },
	{ "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 1\r\n\r\nx", 400 },
	{ "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
	    "Content-Length: 2\r\n\r\nxx", 400 },
	{ "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", 400 },
	{ "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400 },
	{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 501 },
	{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n"
	    "\r\n", 501 },
	{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n"
	    "\r\n", 400 },
	{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", 400 },
	{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ,\r\n\r\n", 400 },
};

START_TEST(test_bad_fields)
{
	expect_error(bad_fields[_i].req, bad_fields[_i].status);
}
END_TEST

START_TEST(test_fields_accepted)
{
	run_t r;

	/* Blanks around values, empty values, obs-text, any case of the
	 * names that matter, the same Content-Length twice. */
	feed_str(&r, "POST / HTTP/1.1\r\nhOsT:a\r\nX-Empty:\r\n"
	    "X-Text: caf\xc3\xa9 \t \r\ncontent-length:  3 \r\n"
	    "CONTENT-LENGTH: 3\r\n\r\nabc" GET_REQ);
	ck_assert_int_eq(r.last, HTTP_PARSE_AGAIN);
	ck_assert_int_eq(r.nreqs, 2);
	ck_assert_uint_eq(r.reqs[0].body_len, 3);
	/* HTTP/1.0 needs no Host. */
	feed_str(&r, "GET / HTTP/1.0\r\n\r\n");
	ck_assert_int_eq(r.nreqs, 1);
	/* Transfer-Encoding in any case, with blanks and empty elements. */
	feed_str(&r, "POST / HTTP/1.1\r\nHost: a\r\ntransfer-encoding: , "
	    "CHUNKED \r\n\r\n0\r\n\r\n");
	ck_assert_int_eq(r.nreqs, 1);
	ck_assert_int_eq(r.reqs[0].ended, 1);
}
END_TEST

/* The head may be exactly max_header_bytes, not one more. */
START_TEST(test_header_limit)
{
	const http_limits_t lim = { 64, 1 << 20 };
	char req[128];
	size_t base = strlen("GET / HTTP/1.1\r\nHost: a\r\nX: \r\n\r\n");
	run_t r;

	memset(req, 0, sizeof req);
	snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: a\r\nX: %.*s\r\n\r\n",
	    (int)(64 - base), "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy");
	ck_assert_uint_eq(strlen(req), 64);
	feed_every_split(&r, &lim, req, 64);
	ck_assert_int_eq(r.nreqs, 1);
	ck_assert_int_eq(r.last, HTTP_PARSE_AGAIN);

	snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: a\r\nX: %.*s\r\n\r\n",
	    (int)(65 - base), "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy");
	feed_every_split(&r, &lim, req, 65);
	ck_assert_int_eq(r.last, HTTP_PARSE_ERROR);
	ck_assert_int_eq(r.status, 431);

	/* An endless head fails as soon as the limit is reached, without
	 * waiting for a line end. */
	memset(req, 'a', 64);
	memcpy(req, "GET /", 5);
	feed(&r, &lim, req, 63);
	ck_assert_int_eq(r.last, HTTP_PARSE_AGAIN);
	feed(&r, &lim, req, 64);
	ck_assert_int_eq(r.last, HTTP_PARSE_ERROR);
	ck_assert_int_eq(r.status, 431);

	/* Empty lines before the request do not count. */
	memcpy(req, "\r\n\r\n", 4);
	snprintf(req + 4, sizeof req - 4,
	    "GET / HTTP/1.1\r\nHost: a\r\nX: %.*s\r\n\r\n", (int)(64 - base),
	    "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy");
	feed(&r, &lim, req, 68);
	ck_assert_int_eq(r.nreqs, 1);
}
END_TEST

/* ------------------------------------------------------------------------
 * Bodies.
 */
START_TEST(test_content_length_body)
{
	const http_limits_t lim = { 8192, 10 };
	run_t r;

	feed(&r, &lim, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n"
	    "0123456789" GET_REQ, strlen("POST / HTTP/1.1\r\nHost: a\r\n"
	    "Content-Length: 10\r\n\r\n0123456789" GET_REQ));
	ck_assert_int_eq(r.nreqs, 2);
	ck_assert_int_eq(r.reqs[0].body_follows, 1);
	ck_assert_int_eq(r.reqs[0].ended, 1);
	ck_assert_uint_eq(r.reqs[0].body_len, 10);
	ck_assert(memcmp(r.reqs[0].body, "0123456789", 10) == 0);

	/* A body still arriving is consumed as it comes. */
	feed(&r, &lim, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n"
	    "01234", strlen("POST / HTTP/1.1\r\nHost: a\r\n"
	    "Content-Length: 10\r\n\r\n01234"));
	ck_assert_int_eq(r.nreqs, 1);
	ck_assert_uint_eq(r.reqs[0].body_len, 5);
	ck_assert_int_eq(r.reqs[0].ended, 0);
	ck_assert_uint_eq(r.pending, 0);
	ck_assert_int_eq(r.in_head, 0);

	/* Content-Length: 0 is no body. */
	feed_str(&r, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n");
	ck_assert_int_eq(r.reqs[0].body_follows, 0);

	/* Over the limit: refused at the head, before any body byte. */
	feed(&r, &lim, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n",
	    strlen("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n"));
	ck_assert_int_eq(r.last, HTTP_PARSE_ERROR);
	ck_assert_int_eq(r.status, 413);
	expect_error("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: "
	    "99999999999999999999999999\r\n\r\n", 413);
}
END_TEST

static const char chunked_head[] =
    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";

static void
feed_chunked(run_t *r, const http_limits_t *lim, const char *body)
{
	char buf[2048];
	int n = snprintf(buf, sizeof buf, "%s%s", chunked_head, body);

	ck_assert(n > 0 && (size_t)n < sizeof buf);
	feed(r, lim, buf, (size_t)n);
}

START_TEST(test_chunked_body)
{
	const http_limits_t lim = { 8192, 16 };
	run_t r;

	feed_chunked(&r, &lim, "5\r\nhello\r\nB\r\n, world! :)\r\n0\r\n\r\n"
	    GET_REQ);
	ck_assert_int_eq(r.nreqs, 2);
	ck_assert_int_eq(r.reqs[0].ended, 1);
	ck_assert_uint_eq(r.reqs[0].body_len, 16);
	ck_assert(memcmp(r.reqs[0].body, "hello, world! :)", 16) == 0);
	ck_assert_uint_eq(r.pending, 0);

	/* Leading zeros, lower- and upper-case hex, extensions with blanks
	 * and quoted values, trailer fields. */
	feed_chunked(&r, &lim, "0005 ; a=1;b=\"x y\"\r\nhello\r\na\r\n0123456789"
	    "\r\n000\r\nX-T: 1\r\nY-T: 2\r\n\r\n");
	ck_assert_int_eq(r.reqs[0].ended, 1);
	ck_assert_uint_eq(r.reqs[0].body_len, 15);

	/* A chunk in pieces: each piece reported as it comes. */
	feed_chunked(&r, &lim, "a\r\n01234");
	ck_assert_uint_eq(r.reqs[0].body_len, 5);
	ck_assert_int_eq(r.reqs[0].ended, 0);
	ck_assert_uint_eq(r.pending, 0);
	/* An unfinished size line waits, unconsumed. */
	feed_chunked(&r, &lim, "5\r\nhello\r\n1");
	ck_assert_uint_eq(r.reqs[0].body_len, 5);
	ck_assert_uint_eq(r.pending, 1);
	ck_assert_int_eq(r.in_head, 0);
}
END_TEST

static const struct {
	const char *body;
	int status;
} bad_chunks[] = {
	{ "x\r\n", 400 },                     /* no digit */
	{ "\r\n", 400 },
	{ "-1\r\n", 400 },
	{ "5 x\r\nhello\r\n", 400 },          /* junk after the size */
	{ "5\x01\r\nhello\r\n", 400 },
	{ "5;\x01\r\nhello\r\n", 400 },       /* control byte in an extension */
	{ "5\r\nhelloX\r\n", 400 },           /* data longer than its size */
	{ "5\r\nhello\rX", 400 },
	{ "5\r\nhello\r\n0\r\nbad trailer\r\n\r\n", 400 },
	{ "5\r\nhello\r\n0\r\n\r\r\n", 400 },
	{ "11\r\n", 413 },                    /* 17 > 16 */
	{ "8\r\n01234567\r\n9\r\n", 413 },    /* 8 + 9 > 16 */
	{ "ffffffffffffffffffffffffff\r\n", 413 },
	{ "10000000000000000\r\n", 413 },     /* 2^64: no wrap to 0 */
};

START_TEST(test_bad_chunks)
{
	const http_limits_t lim = { 8192, 16 };
	run_t r;

	feed_chunked(&r, &lim, bad_chunks[_i].body);
	ck_assert_msg(r.last == HTTP_PARSE_ERROR &&
	    r.status == bad_chunks[_i].status, "\"%s\": result %d status %d",
	    bad_chunks[_i].body, r.last, r.status);
}
END_TEST

/* A chunk-size line and the trailer section are bounded too. */
START_TEST(test_chunk_lines_limited)
{
	const http_limits_t lim = { 64, 1 << 20 };
	char body[256];
	run_t r;

	/* 63 bytes of size line + "\n": fits; one more does not. */
	memset(body, 0, sizeof body);
	memcpy(body, "1;", 2);
	memset(body + 2, 'e', 60);
	memcpy(body + 62, "\r\nx\r\n0\r\n\r\n", 10);
	feed_chunked(&r, &lim, body);
	ck_assert_int_eq(r.reqs[0].ended, 1);
	memset(body + 2, 'e', 61);
	memcpy(body + 63, "\r\nx\r\n0\r\n\r\n", 10);
	feed_chunked(&r, &lim, body);
	ck_assert_int_eq(r.last, HTTP_PARSE_ERROR);
	ck_assert_int_eq(r.status, 400);

	/* Two fields and the blank line: 64 bytes fit, 65 do not. */
	memset(body, 0, sizeof body);
	snprintf(body, sizeof body, "0\r\nA: %.*s\r\nB: %.*s\r\n\r\n", 26,
	    "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv", 26,
	    "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv");
	feed_chunked(&r, &lim, body);
	ck_assert_int_eq(r.reqs[0].ended, 1);
	snprintf(body, sizeof body, "0\r\nA: %.*s\r\nB: %.*s\r\n\r\n", 26,
	    "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv", 27,
	    "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv");
	feed_chunked(&r, &lim, body);
	ck_assert_int_eq(r.last, HTTP_PARSE_ERROR);
	ck_assert_int_eq(r.status, 431);
}
END_TEST

/* ------------------------------------------------------------------------
 * Connections.
 */
static const struct {
	const char *req;
	int keep_alive;
} keep_alive_cases[] = {
	{ "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 1 },
	{ "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 0 },
	{ "GET / HTTP/1.1\r\nHost: a\r\nConnection: CLOSE\r\n\r\n", 0 },
	{ "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, close\r\n\r\n", 0 },
	{ "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\n", 1 },
	{ "GET / HTTP/1.1\r\nHost: a\r\nConnection: closed\r\n\r\n", 1 },
	{ "GET / HTTP/1.0\r\n\r\n", 0 },
	{ "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 1 },
	{ "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", 1 },
	{ "GET / HTTP/1.0\r\nConnection: x ,keep-alive\r\n\r\n", 1 },
	{ "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", 0 },
	{ "GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n"
	    "\r\n", 0 },
};

START_TEST(test_keep_alive)
{
	run_t r;

	feed_str(&r, keep_alive_cases[_i].req);
	ck_assert_int_eq(r.nreqs, 1);
	ck_assert_msg(r.reqs[0].keep_alive == keep_alive_cases[_i].keep_alive,
	    "\"%s\": keep_alive %d", keep_alive_cases[_i].req,
	    r.reqs[0].keep_alive);
}
END_TEST

START_TEST(test_head_method)
{
	run_t r;

	feed_str(&r, "HEAD /plaintext HTTP/1.1\r\nHost: a\r\n\r\n" GET_REQ);
	ck_assert_int_eq(r.nreqs, 2);
	ck_assert_int_eq(r.reqs[0].method, HTTP_METHOD_HEAD);
	ck_assert_str_eq(r.reqs[0].target, "/plaintext");
	ck_assert_int_eq(r.reqs[0].body_follows, 0);
	ck_assert_int_eq(r.reqs[1].method, HTTP_METHOD_GET);
}
END_TEST

/* "Expect: 100-continue" is reported for an HTTP/1.1 request with a
 * body, whatever its case; not without a body, not for HTTP/1.0. */
START_TEST(test_expect_continue)
{
	run_t r;

	feed_str(&r, "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\n"
	    "Content-Length: 1\r\n\r\nx"
	    "POST / HTTP/1.1\r\nHost: a\r\nexpect: 100-continue\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
	    "GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n"
	    "POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n"
	    "Connection: keep-alive\r\n\r\nx"
	    "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continuex\r\n"
	    "Content-Length: 1\r\n\r\nx");
	ck_assert_int_eq(r.nreqs, 5);
	ck_assert_int_eq(r.reqs[0].expect_continue, 1);
	ck_assert_int_eq(r.reqs[1].expect_continue, 1);
	ck_assert_int_eq(r.reqs[2].expect_continue, 0);
	ck_assert_int_eq(r.reqs[3].expect_continue, 0);
	ck_assert_int_eq(r.reqs[4].expect_continue, 0);
}
END_TEST

/* Once failed, always failed: the stream cannot be resynchronised. */
START_TEST(test_error_sticks)
{
	http_parser_t p;
	http_event_t e;

	memset(&p, 0, sizeof p);
	ck_assert_int_eq(http_parse(&p, &default_limits, "BAD\r\n\r\n", 7, &e),
	    HTTP_PARSE_ERROR);
	ck_assert_int_eq(http_parse(&p, &default_limits, GET_REQ,
	    strlen(GET_REQ), &e), HTTP_PARSE_ERROR);
	ck_assert_uint_eq(e.consumed, 0);
	ck_assert_int_eq(p.status, 400);
}
END_TEST

/* ------------------------------------------------------------------------
 * Routes and responses.
 */
static const struct {
	const char *target;
	int route;
} routes[] = {
	{ "/", HTTP_ROUTE_PLAINTEXT },
	{ "/plaintext", HTTP_ROUTE_PLAINTEXT },
	{ "/plaintext?x=1", HTTP_ROUTE_PLAINTEXT },
	{ "/?", HTTP_ROUTE_PLAINTEXT },
	{ "/json", HTTP_ROUTE_JSON },
	{ "http://example.com/json", HTTP_ROUTE_JSON },
	{ "http://example.com", HTTP_ROUTE_PLAINTEXT },
	{ "http://example.com?q", HTTP_ROUTE_PLAINTEXT },
	{ "/json/", HTTP_ROUTE_NONE },
	{ "/JSON", HTTP_ROUTE_NONE },
	{ "/plaintextx", HTTP_ROUTE_NONE },
	{ "/x", HTTP_ROUTE_NONE },
	{ "*", HTTP_ROUTE_NONE },
	{ "example.com:443", HTTP_ROUTE_NONE },
};

START_TEST(test_routes)
{
	ck_assert_int_eq(http_route_find(routes[_i].target,
	    strlen(routes[_i].target)), routes[_i].route);
}
END_TEST

START_TEST(test_date)
{
	char d[HTTP_DATE_LEN + 1];

	/* RFC 9110's example, and a leap day. */
	http_date_format(d, 784111777);
	ck_assert_str_eq(d, "Sun, 06 Nov 1994 08:49:37 GMT");
	http_date_format(d, 951782400);
	ck_assert_str_eq(d, "Tue, 29 Feb 2000 00:00:00 GMT");
	ck_assert_uint_eq(strlen(d), HTTP_DATE_LEN);
}
END_TEST

START_TEST(test_response_format)
{
	char buf[HTTP_RESPONSE_MAX];
	size_t head, n;
	http_response_t r = { .status = 200, .server = "gnet",
	    .date = "Sun, 06 Nov 1994 08:49:37 GMT",
	    .content_type = "text/plain", .body = "Hello, World!",
	    .body_len = 13 };
	static const char want[] = "HTTP/1.1 200 OK\r\nServer: gnet\r\n"
	    "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Type: text/plain\r\n"
	    "Content-Length: 13\r\n\r\nHello, World!";

	n = http_response_format(buf, sizeof buf, &r, &head);
	ck_assert_uint_eq(n, strlen(want));
	ck_assert(memcmp(buf, want, n) == 0);
	ck_assert_uint_eq(head, n - 13);

	/* HEAD: the same headers, no body. */
	r.head_only = 1;
	r.connection = HTTP_CONN_KEEP_ALIVE;
	r.status = 405;
	r.extra = "Allow: GET, HEAD\r\n";
	n = http_response_format(buf, sizeof buf, &r, &head);
	ck_assert_uint_eq(n, head);
	buf[n] = '\0';
	ck_assert_str_eq(buf, "HTTP/1.1 405 Method Not Allowed\r\nServer: gnet\r\n"
	    "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Type: text/plain\r\n"
	    "Content-Length: 13\r\nConnection: keep-alive\r\n"
	    "Allow: GET, HEAD\r\n\r\n");

	/* Too small a buffer: 0, nothing written past it. */
	memset(buf, 'z', sizeof buf);
	r.head_only = 0;
	ck_assert_uint_eq(http_response_format(buf, 20, &r, NULL), 0);
	ck_assert_int_eq(buf[20], 'z');
}
END_TEST

/* A loop's answers: ready 200s for each resource and Connection header,
 * remade only when the second changes. */
START_TEST(test_answers)
{
	static const char want[] = "HTTP/1.1 200 OK\r\nServer: gnet\r\n"
	    "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
	    "Content-Type: application/json\r\nContent-Length: 27\r\n"
	    "Connection: close\r\n\r\n{\"message\":\"Hello, World!\"}";
	http_answers_t *a = malloc(sizeof *a);
	char buf[HTTP_RESPONSE_MAX];
	const char *p;
	size_t len, head, n;

	ck_assert_ptr_nonnull(a);
	http_answers_init(a, "gnet", 784111777);
	p = http_answers_ok(a, HTTP_ROUTE_JSON, HTTP_CONN_CLOSE, 0, &len);
	ck_assert_uint_eq(len, strlen(want));
	ck_assert(memcmp(p, want, len) == 0);
	p = http_answers_ok(a, HTTP_ROUTE_JSON, HTTP_CONN_CLOSE, 1, &head);
	ck_assert_uint_eq(head, len - 27);
	p = http_answers_ok(a, HTTP_ROUTE_PLAINTEXT, HTTP_CONN_DEFAULT, 0, &len);
	ck_assert(len > 13 && memcmp(p + len - 13, "Hello, World!", 13) == 0);
	ck_assert_ptr_null(memmem(p, len, "Connection", 10));

	/* The same second: untouched; the next: a new Date everywhere. */
	http_answers_refresh(a, 784111777);
	ck_assert_str_eq(a->date, "Sun, 06 Nov 1994 08:49:37 GMT");
	http_answers_refresh(a, 784111778);
	ck_assert_str_eq(a->date, "Sun, 06 Nov 1994 08:49:38 GMT");
	p = http_answers_ok(a, HTTP_ROUTE_PLAINTEXT, HTTP_CONN_KEEP_ALIVE, 0,
	    &len);
	ck_assert_ptr_nonnull(memmem(p, len, "08:49:38 GMT\r\n", 14));
	ck_assert_ptr_nonnull(memmem(p, len, "Connection: keep-alive\r\n", 24));

	n = http_answers_status(a, buf, 405, HTTP_CONN_DEFAULT, 0);
	buf[n] = '\0';
	ck_assert_str_eq(buf, "HTTP/1.1 405 Method Not Allowed\r\n"
	    "Server: gnet\r\nDate: Sun, 06 Nov 1994 08:49:38 GMT\r\n"
	    "Content-Type: text/plain\r\nContent-Length: 19\r\n"
	    "Allow: GET, HEAD\r\n\r\nMethod Not Allowed\n");
	free(a);
}
END_TEST

static Suite *
http_parse_suite(void)
{
	Suite *s = suite_create("http_parse");
	TCase *tc;

	tc = tn_tcase("head", TCASE_TIMEOUT_S);
	tcase_add_test(tc, test_complete_get);
	tcase_add_test(tc, test_partial_head);
	tcase_add_loop_test(tc, test_split_everywhere, 0,
	    (int)(sizeof split_streams / sizeof split_streams[0]));
	tcase_add_test(tc, test_pipelined);
	tcase_add_test(tc, test_empty_lines_and_lf);
	tcase_add_loop_test(tc, test_bad_request_line, 0,
	    (int)(sizeof bad_request_lines / sizeof bad_request_lines[0]));
	tcase_add_test(tc, test_versions);
	tcase_add_loop_test(tc, test_bad_fields, 0,
	    (int)(sizeof bad_fields / sizeof bad_fields[0]));
	tcase_add_test(tc, test_fields_accepted);
	tcase_add_test(tc, test_header_limit);
	suite_add_tcase(s, tc);

	tc = tn_tcase("body", TCASE_TIMEOUT_S);
	tcase_add_test(tc, test_content_length_body);
	tcase_add_test(tc, test_chunked_body);
	tcase_add_loop_test(tc, test_bad_chunks, 0,
	    (int)(sizeof bad_chunks / sizeof bad_chunks[0]));
	tcase_add_test(tc, test_chunk_lines_limited);
	suite_add_tcase(s, tc);

	tc = tn_tcase("connection", TCASE_TIMEOUT_S);
	tcase_add_loop_test(tc, test_keep_alive, 0,
	    (int)(sizeof keep_alive_cases / sizeof keep_alive_cases[0]));
	tcase_add_test(tc, test_head_method);
	tcase_add_test(tc, test_expect_continue);
	tcase_add_test(tc, test_error_sticks);
	suite_add_tcase(s, tc);

	tc = tn_tcase("response", TCASE_TIMEOUT_S);
	tcase_add_loop_test(tc, test_routes, 0,
	    (int)(sizeof routes / sizeof routes[0]));
	tcase_add_test(tc, test_date);
	tcase_add_test(tc, test_response_format);
	tcase_add_test(tc, test_answers);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tn_run_suite(http_parse_suite());
}
