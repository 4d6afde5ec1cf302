/*
 * Fuzz target for the http module's request parser (modules/http/parse.h).
 * Requests come from peers in arbitrary read sizes, so the parser's
 * resumable scan (it remembers where an unfinished head or line stopped)
 * and its limits are where a bug would hide.
 *
 * Input: 2 bytes max_header_bytes - 1 and 2 bytes max_body_bytes (both
 * little endian; 0xffff: 2^62), then the read sizes and stream as
 * fuzz_common.h describes. The stream is parsed (a) in one go and (b) in
 * reads, each call seeing exactly the unconsumed bytes in a heap buffer of
 * that size, as the module sees them. Checks: results are events or the
 * statuses parse.h lists; a call consumes at most what it was given; a
 * head consumes something, and its method and target lie in its bytes,
 * are tokens and visible ASCII, and it ends at a blank line within
 * max_header_bytes of its first byte; body pieces lie in their bytes and
 * are not empty; a Content-Length body ends with exactly that many bytes,
 * a chunked one within max_body_bytes; what is left unconsumed when more
 * is needed is below the head limit (an endless head must fail, not
 * pile up); an error repeats and consumes nothing; and (a) and (b) agree
 * on every request, every body byte, the final result and the bytes left.
 */
#include "fuzz/fuzz_common.h"
#include "modules/http/parse.h"

/* Requests recorded per run; a stream with more stops being compared
 * beyond them (the checks on each call still run). */
#define FH_MAX_REQS 256

typedef struct fh_req {
	size_t head_at, head_len;       /* stream offsets */
	size_t method_at, method_len, target_at, target_len;
	int method, version_minor, keep_alive, body_follows, ended;
	int chunked;
	uint64_t content_length;
	size_t body_len;
} fh_req_t;

typedef struct fh_run {
	fh_req_t reqs[FH_MAX_REQS];
	size_t nreqs;                   /* may exceed FH_MAX_REQS */
	unsigned char *body;            /* every body byte, in order */
	size_t body_len;
	int last, status;
	size_t pending;
} fh_run_t;

static const unsigned char tchars[] = "!#$%&'*+-.^_`|~";

static int
is_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ||
	    (c != 0 && memchr(tchars, c, sizeof tchars - 1) != NULL);
}

static fh_req_t *
cur_req(fh_run_t *r)
{
	return r->nreqs != 0 && r->nreqs <= FH_MAX_REQS ?
	    &r->reqs[r->nreqs - 1] : NULL;
}

/* One event of a call that was given stream[at..at+n) in buf. */
static void
fh_event(fh_run_t *r, const http_parser_t *p, const http_limits_t *lim,
    int ev, const http_event_t *e, const unsigned char *buf, size_t at)
{
	const unsigned char *lo = buf, *hi = buf + e->consumed;
	fh_req_t *q = cur_req(r);
	size_t i;

	switch (ev) {
	case HTTP_PARSE_HEAD: {
		const unsigned char *m = (const unsigned char *)e->method_name;
		const unsigned char *t = (const unsigned char *)e->target;
		FZ_CHECK(e->consumed > 0, "head consumed nothing");
		FZ_CHECK(m >= lo && e->method_len > 0 && m + e->method_len <= hi,
		    "method outside the head");
		FZ_CHECK(t >= lo && e->target_len > 0 && t + e->target_len <= hi,
		    "target outside the head");
		for (i = 0; i < e->method_len; i++)
			FZ_CHECK(is_tchar(m[i]), "method byte 0x%02x", m[i]);
		for (i = 0; i < e->target_len; i++)
			FZ_CHECK(t[i] > 0x20 && t[i] < 0x7f, "target byte 0x%02x",
			    t[i]);
		FZ_CHECK(hi[-1] == '\n' && e->consumed >= 2 &&
		    (hi[-2] == '\n' || (hi[-2] == '\r' && e->consumed >= 3 &&
		    hi[-3] == '\n')), "head does not end at a blank line");
		/* From the method on: empty lines before it are not counted. */
		FZ_CHECK((size_t)(hi - m) <= lim->max_header_bytes,
		    "head of %zu bytes over the limit %zu", (size_t)(hi - m),
		    lim->max_header_bytes);
		FZ_CHECK(p->version_minor <= 1 && p->keep_alive <= 1,
		    "version %d keep_alive %d", p->version_minor, p->keep_alive);
		r->nreqs++;
		if ((q = cur_req(r)) == NULL)
			break;
		memset(q, 0, sizeof *q);
		q->head_at = at + (size_t)(m - lo);
		q->head_len = (size_t)(hi - m);
		q->method_at = at + (size_t)(m - lo);
		q->method_len = e->method_len;
		q->target_at = at + (size_t)(t - lo);
		q->target_len = e->target_len;
		q->method = p->method;
		q->version_minor = p->version_minor;
		q->keep_alive = p->keep_alive;
		q->body_follows = http_parser_body_follows(p);
		q->chunked = p->phase == HTTP_PHASE_CHUNK_SIZE;
		q->content_length = p->content_length;
		FZ_CHECK(!q->body_follows || q->chunked ||
		    (p->phase == HTTP_PHASE_BODY && p->content_length > 0 &&
		    p->content_length <= lim->max_body_bytes),
		    "body follows in phase %d, length %llu", p->phase,
		    (unsigned long long)p->content_length);
		break;
	}
	case HTTP_PARSE_BODY: {
		const unsigned char *b = (const unsigned char *)e->body;
		FZ_CHECK(b >= lo && e->body_len > 0 && b + e->body_len <= hi,
		    "body piece outside its bytes");
		FZ_CHECK(r->nreqs > 0, "body before any head");
		if (q == NULL)
			break;
		FZ_CHECK(q->body_follows && !q->ended, "body out of place");
		q->body_len += e->body_len;
		FZ_CHECK(q->body_len <= lim->max_body_bytes,
		    "body of %zu bytes over the limit", q->body_len);
		FZ_CHECK(q->chunked || q->body_len <= q->content_length,
		    "body of %zu bytes past its Content-Length %llu",
		    q->body_len, (unsigned long long)q->content_length);
		memcpy(r->body + r->body_len, b, e->body_len);
		r->body_len += e->body_len;
		break;
	}
	case HTTP_PARSE_END:
		FZ_CHECK(r->nreqs > 0, "END before any head");
		if (q == NULL)
			break;
		FZ_CHECK(q->body_follows && !q->ended, "END out of place");
		FZ_CHECK(q->chunked || q->body_len == q->content_length,
		    "END after %zu of %llu body bytes", q->body_len,
		    (unsigned long long)q->content_length);
		FZ_CHECK(p->keep_alive == q->keep_alive && p->method == q->method,
		    "the request changed before its END");
		q->ended = 1;
		break;
	default:
		FZ_CHECK(0, "result %d", ev);
	}
}

/* Parse until more is needed or it fails; buf holds stream[at..at+n).
 * Returns the bytes consumed. */
static size_t
fh_parse(fh_run_t *r, http_parser_t *p, const http_limits_t *lim,
    const unsigned char *buf, size_t n, size_t at, int *last)
{
	size_t off = 0, steps = 0;
	http_event_t e;
	int ev;

	for (;;) {
		FZ_CHECK(++steps <= 3 * n + 8, "%zu calls for %zu bytes", steps, n);
		memset(&e, 0xa5, sizeof e);
		ev = http_parse(p, lim, (const char *)buf + off, n - off, &e);
		FZ_CHECK(e.consumed <= n - off, "consumed %zu of %zu", e.consumed,
		    n - off);
		if (ev == HTTP_PARSE_ERROR) {
			int status = p->status;
			FZ_CHECK(status == 400 || status == 413 || status == 431 ||
			    status == 501 || status == 505, "status %d", status);
			/* The error sticks and takes nothing. */
			ev = http_parse(p, lim, (const char *)buf + off, n - off, &e);
			FZ_CHECK(ev == HTTP_PARSE_ERROR && e.consumed == 0 &&
			    p->status == status, "error did not stick");
			*last = HTTP_PARSE_ERROR;
			return off; /* what an error call consumed is moot */
		}
		off += e.consumed;
		if (ev == HTTP_PARSE_AGAIN) {
			/* An unfinished head or line waits below the limit;
			 * a lone CR may wait for its LF whatever the limit. */
			FZ_CHECK(n - off < lim->max_header_bytes || n - off <= 1,
			    "%zu bytes left unconsumed, limit %zu", n - off,
			    lim->max_header_bytes);
			*last = HTTP_PARSE_AGAIN;
			return off;
		}
		fh_event(r, p, lim, ev, &e, buf + off - e.consumed,
		    at + off - e.consumed);
	}
}

/* (a): all of it in one buffer. */
static void
fh_whole(fh_run_t *r, const http_limits_t *lim, const unsigned char *s,
    size_t n)
{
	unsigned char *buf = fz_alloc(n);
	http_parser_t p;
	size_t used;

	memset(&p, 0, sizeof p);
	memcpy(buf, s, n);
	used = fh_parse(r, &p, lim, buf, n, 0, &r->last);
	r->status = r->last == HTTP_PARSE_ERROR ? p.status : 0;
	r->pending = n - used;
	free(buf);
}

/* (b): reads of sizes[i % nsizes] bytes (1 when nsizes is 0), parsing all
 * unconsumed bytes after each. */
static void
fh_reads(fh_run_t *r, const http_limits_t *lim, const unsigned char *s,
    size_t n, const uint8_t *sizes, size_t nsizes)
{
	http_parser_t p;
	size_t got = 0, base = 0, i = 0;

	memset(&p, 0, sizeof p);
	r->last = HTTP_PARSE_AGAIN;
	while (got < n && r->last != HTTP_PARSE_ERROR) {
		size_t k = nsizes != 0 ? (size_t)sizes[i++ % nsizes] + 1 : 1;
		unsigned char *buf;

		if (k > n - got)
			k = n - got;
		got += k;
		buf = fz_alloc(got - base);
		memcpy(buf, s + base, got - base);
		base += fh_parse(r, &p, lim, buf, got - base, base, &r->last);
		free(buf);
	}
	r->status = r->last == HTTP_PARSE_ERROR ? p.status : 0;
	r->pending = n - base;
}

static void
fh_compare(const fh_run_t *a, const fh_run_t *b)
{
	size_t i, n = a->nreqs < FH_MAX_REQS ? a->nreqs : FH_MAX_REQS;

	FZ_CHECK(a->last == b->last && a->status == b->status,
	    "in one go: result %d status %d; in reads: %d status %d", a->last,
	    a->status, b->last, b->status);
	FZ_CHECK(a->nreqs == b->nreqs, "%zu requests in one go, %zu in reads",
	    a->nreqs, b->nreqs);
	/* After an error what the failing call consumed is not compared. */
	FZ_CHECK(a->last == HTTP_PARSE_ERROR || a->pending == b->pending,
	    "%zu bytes left in one go, %zu in reads", a->pending, b->pending);
	for (i = 0; i < n; i++)
		FZ_CHECK(memcmp(&a->reqs[i], &b->reqs[i], sizeof a->reqs[i]) == 0,
		    "request %zu differs (head at %zu / %zu)", i,
		    a->reqs[i].head_at, b->reqs[i].head_at);
	FZ_CHECK(a->body_len == b->body_len &&
	    memcmp(a->body, b->body, a->body_len) == 0,
	    "body bytes differ: %zu in one go, %zu in reads", a->body_len,
	    b->body_len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_in_t in = { data, size };
	unsigned hdr, body, k = 0;
	uint8_t sizes[15];
	http_limits_t lim;
	fh_run_t *a, *b;
	size_t n;

	if (!fz_u16(&in, &hdr) || !fz_u16(&in, &body))
		return 0;
	lim.max_header_bytes = (size_t)hdr + 1;
	lim.max_body_bytes = body == 0xffff ? (uint64_t)1 << 62 : body;
	snprintf(fz_cfg_desc, sizeof(fz_cfg_desc),
	    "http max_header_bytes=%zu max_body_bytes=%llu",
	    lim.max_header_bytes, (unsigned long long)lim.max_body_bytes);
	if (fz_u8(&in, &k))
		k &= 15;
	if (!fz_take(&in, sizes, k))
		k = 0;
	n = in.n < FZ_MAX_STREAM ? in.n : FZ_MAX_STREAM;
	a = calloc(1, sizeof *a);
	b = calloc(1, sizeof *b);
	FZ_CHECK(a != NULL && b != NULL, "out of memory");
	a->body = fz_alloc(n);
	b->body = fz_alloc(n);
	fh_whole(a, &lim, in.p, n);
	fh_reads(b, &lim, in.p, n, sizes, k);
	fh_compare(a, b);
	free(a->body);
	free(b->body);
	free(a);
	free(b);
	return 0;
}
