/*
 * resp_diff.c -- a corpus case run on a server, and two runs compared
 * (resp_diff.h).
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "resp_diff.h"
#include "testnet.h"

#define SYNC_MS 2000            /* the closing PING's answer */
#define SHOW_BYTES 600          /* of a reply, in a report */
#define MASKED "<masked>\r\n"

/* ------------------------------------------------------------------------
 * Running.
 */

static int
left_ms(int64_t deadline)
{
	int64_t left = deadline - tn_now_ms();

	return left > 0 ? (int)left : 0;
}

/* Poll EXISTS key until :0 (lazy expiry deleted it) or the deadline. */
static int
await_gone(int fd, const char *key, int64_t deadline)
{
	char reply[64];

	while (tn_now_ms() < deadline) {
		if (tn_resp_call(fd, 2, (const char *[]){ "EXISTS", key },
		    reply, sizeof reply, left_ms(deadline)) < 0)
			return 0;
		if (strcmp(reply, ":0\r\n") == 0)
			return 1;
		tn_nap();
	}
	return 0;
}

void
tn_resp_run_case(const tn_resp_case_t *k, int port, tn_resp_run_t *run)
{
	int64_t deadline = tn_now_ms() + k->timeout_ms;
	int fd = tn_connect(port), total = 0, until_close = 0;

	memset(run, 0, sizeof *run);
	if (fd < 0) {
		snprintf(run->error, sizeof run->error, "connect to port %d: %s",
		    port, strerror(errno));
		return;
	}
	for (int i = 0; i < k->nseg && !run->in.closed; i++) {
		const tn_resp_segment_t *s = &k->seg[i];
		int r = tn_resp_segment_replies(s);

		if (s->await_gone[0] != '\0' &&
		    !await_gone(fd, s->await_gone, deadline)) {
			snprintf(run->error, sizeof run->error, "key %s still "
			    "there after %d ms", s->await_gone, k->timeout_ms);
			break;
		}
		/* A short send is no failure: the server may close first
		 * (protocol errors); the replies tell. */
		if (s->len > 0)
			tn_send_all(fd, s->tx, s->len, left_ms(deadline));
		if (i == k->nseg - 1 && k->halfclose)
			shutdown(fd, SHUT_WR);
		if (r == TN_RESP_UNTIL_CLOSE)
			until_close = 1;
		else
			total += r;
		tn_resp_read(fd, until_close ? -1 : total, left_ms(deadline),
		    &run->in);
		if (run->in.timed_out) {
			run->timed_out = 1;
			break;
		}
	}
	run->closed = run->in.closed;
	run->want = until_close ? -1 : total;
	if (!run->closed && !run->timed_out && !k->halfclose &&
	    run->error[0] == '\0' && tn_resp_call(fd, 1,
	    (const char *[]){ "PING" }, run->sync, sizeof run->sync,
	    SYNC_MS) < 0 && run->sync[0] == '\0')
		snprintf(run->sync, sizeof run->sync, "(no reply)");
	close(fd);
}

void
tn_resp_run_free(tn_resp_run_t *run)
{
	tn_resp_in_free(&run->in);
}

/* ------------------------------------------------------------------------
 * Masks.
 */

typedef struct span {
	const uint8_t *p;
	size_t n;
} span_t;

/* The replies of a run, in order; *n of them (the caller frees). */
static span_t *
split_replies(const tn_resp_in_t *in, int *n)
{
	span_t *v = calloc((size_t)in->replies + 1, sizeof *v);
	size_t off = 0;

	ck_assert(v != NULL);
	*n = 0;
	while (off < in->complete && *n < in->replies) {
		ssize_t k = tn_resp_reply_len(in->buf + off, in->complete - off);
		ck_assert(k > 0);
		v[(*n)++] = (span_t){ in->buf + off, (size_t)k };
		off += (size_t)k;
	}
	return v;
}

/* The elements of an aggregate reply, after its header line; NULL for
 * a scalar or a nil. */
static span_t *
split_elements(span_t r, size_t *hdr, int *count)
{
	const uint8_t *crlf = memchr(r.p, '\n', r.n);
	long long v = atoll((const char *)r.p + 1);
	span_t *e;
	size_t off;

	if ((r.p[0] != '*' && r.p[0] != '%' && r.p[0] != '~') || v <= 0)
		return NULL;
	if (r.p[0] == '%')
		v *= 2;
	*hdr = off = (size_t)(crlf - r.p) + 1;
	e = calloc((size_t)v, sizeof *e);
	ck_assert(e != NULL);
	for (long long i = 0; i < v; i++) {
		ssize_t k = tn_resp_reply_len(r.p + off, r.n - off);
		ck_assert(k > 0);
		e[i] = (span_t){ r.p + off, (size_t)k };
		off += (size_t)k;
	}
	*count = (int)v;
	return e;
}

/* A bulk or simple string's text. */
static int
text_is(span_t e, const char *word)
{
	const uint8_t *p = e.p;
	size_t n = strlen(word);

	if (p[0] == '+')
		return e.n == n + 3 && memcmp(p + 1, word, n) == 0;
	if (p[0] != '$')
		return 0;
	const uint8_t *nl = memchr(p, '\n', e.n);
	return nl != NULL && e.n - (size_t)(nl + 1 - p) == n + 2 &&
	    memcmp(nl + 1, word, n) == 0;
}

static int
span_cmp(const void *a, const void *b)
{
	const span_t *x = a, *y = b;
	size_t n = x->n < y->n ? x->n : y->n;
	int c = memcmp(x->p, y->p, n);

	return c != 0 ? c : (x->n > y->n) - (x->n < y->n);
}

static const tn_resp_mask_t *
mask_for(const tn_resp_case_t *k, int reply, int kind)
{
	for (int i = 0; i < k->nmasks; i++)
		if (k->masks[i].reply == reply && k->masks[i].kind == kind)
			return &k->masks[i];
	return NULL;
}

/* Does any mask apply to reply idx? */
static int
masked(const tn_resp_case_t *k, int idx)
{
	if (k->nfields > 0)
		return 1;
	for (int i = 0; i < k->nmasks; i++)
		if (k->masks[i].reply == idx)
			return 1;
	return 0;
}

/* Reply `idx` of a run as it is compared: masked fields replaced,
 * unordered elements (or pairs) sorted. Appended to f. */
static void
normalise(const tn_resp_case_t *k, int idx, span_t r, FILE *f)
{
	size_t hdr = 0;
	int n = 0, unit = 1;
	span_t *e;

	if (mask_for(k, idx, TN_MASK_REPLY) != NULL) {
		fprintf(f, "%c%s", r.p[0], MASKED);
		return;
	}
	e = split_elements(r, &hdr, &n);
	if (e == NULL) {
		fwrite(r.p, 1, r.n, f);
		return;
	}
	for (int i = 0; i + 1 < n; i++)
		for (int j = 0; j < k->nfields; j++)
			if (text_is(e[i], k->fields[j]))
				e[i + 1] = (span_t){ (const uint8_t *)MASKED,
				    strlen(MASKED) };
	fwrite(r.p, 1, hdr, f);
	if (mask_for(k, idx, TN_MASK_UNORDERED_PAIRS) != NULL && n % 2 == 0)
		unit = 2;
	else if (mask_for(k, idx, TN_MASK_UNORDERED) == NULL)
		unit = 0;
	if (unit == 0) {
		for (int i = 0; i < n; i++)
			fwrite(e[i].p, 1, e[i].n, f);
	} else {
		/* A pair sorts as one unit: its two parts are adjacent
		 * unless a field mask replaced one, so join them first. */
		span_t *u = calloc((size_t)n, sizeof *u);
		char **keep = calloc((size_t)n, sizeof *keep);
		ck_assert(u != NULL && keep != NULL);
		for (int i = 0; i < n; i += unit) {
			size_t len = 0;
			FILE *g = open_memstream(&keep[i], &len);
			for (int j = 0; j < unit; j++)
				fwrite(e[i + j].p, 1, e[i + j].n, g);
			fclose(g);
			u[i / unit] = (span_t){ (const uint8_t *)keep[i], len };
		}
		qsort(u, (size_t)(n / unit), sizeof *u, span_cmp);
		for (int i = 0; i < n / unit; i++)
			fwrite(u[i].p, 1, u[i].n, f);
		for (int i = 0; i < n; i++)
			free(keep[i]);
		free(keep);
		free(u);
	}
	free(e);
}

/* ------------------------------------------------------------------------
 * Comparing.
 */

char *
tn_resp_escape(const uint8_t *p, size_t n, size_t max, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n && i < max && o + 8 < cap; i++) {
		uint8_t c = p[i];
		if (c == '\r')
			o += (size_t)snprintf(out + o, cap - o, "\\r");
		else if (c == '\n')
			o += (size_t)snprintf(out + o, cap - o, "\\n");
		else if (c == '\\')
			o += (size_t)snprintf(out + o, cap - o, "\\\\");
		else if (c < 0x20 || c >= 0x7f)
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	out[o] = '\0';
	if (n > max && o + 40 < cap)
		snprintf(out + o, cap - o, "... (%zu bytes)", n);
	return out;
}

static void
show(FILE *f, const char *label, const void *p, size_t n)
{
	static char buf[SHOW_BYTES * 4 + 64];

	fprintf(f, "  %s: \"%s\"\n", label,
	    tn_resp_escape(p, n, SHOW_BYTES, buf, sizeof buf));
}

static void
show_run(FILE *f, const char *label, const tn_resp_run_t *r)
{
	char head[96];

	snprintf(head, sizeof head, "%s (%d replies%s%s%s)", label,
	    r->in.replies, r->closed ? ", closed" : "",
	    r->timed_out ? ", timed out" : "",
	    r->in.malformed ? ", malformed" : "");
	show(f, head, r->in.buf, r->in.len);
}

int
tn_resp_compare(const tn_resp_case_t *k, const tn_resp_run_t *a,
    const tn_resp_run_t *b, int b_ours, char **report)
{
	char *text = NULL;
	size_t text_len = 0;
	FILE *f = open_memstream(&text, &text_len);
	int same = 1, na = 0, nb = 0;
	span_t *ra = split_replies(&a->in, &na), *rb = split_replies(&b->in, &nb);

	fprintf(f, "case %s (%s):\n", k->name, k->where);
	if (a->error[0] || b->error[0] || a->timed_out || b->timed_out ||
	    a->in.malformed || b->in.malformed || na != nb ||
	    a->closed != b->closed || strcmp(a->sync, b->sync) != 0 ||
	    (a->sync[0] != '\0' && strcmp(a->sync, "+PONG\r\n") != 0) ||
	    (a->want >= 0 && na != a->want)) {
		same = 0;
		if (a->error[0] || b->error[0])
			fprintf(f, "  run error: reference \"%s\", tested \"%s\"\n",
			    a->error, b->error);
		fprintf(f, "  expected %d replies%s\n", a->want,
		    a->want < 0 ? " (until close)" : "");
		show_run(f, "reference", a);
		show_run(f, "tested   ", b);
		show(f, "final PING, reference", a->sync, strlen(a->sync));
		show(f, "final PING, tested   ", b->sync, strlen(b->sync));
	}
	for (int i = 0; same && i < na; i++) {
		const tn_resp_mask_t *ours = mask_for(k, i + 1, TN_MASK_OURS);
		char *x = NULL, *y = NULL;
		size_t xn = 0, yn = 0;
		FILE *fx = open_memstream(&x, &xn), *fy = open_memstream(&y, &yn);

		if (ours != NULL && b_ours) {
			fwrite(ours->bytes, 1, ours->len, fx);
			fwrite(rb[i].p, 1, rb[i].n, fy);
		} else if (!masked(k, i + 1) && ra[i].n == rb[i].n &&
		    memcmp(ra[i].p, rb[i].p, ra[i].n) == 0) {
			/* Equal as they came: no copies (64 MiB replies). */
		} else {
			normalise(k, i + 1, ra[i], fx);
			normalise(k, i + 1, rb[i], fy);
		}
		fclose(fx);
		fclose(fy);
		if (xn != yn || memcmp(x, y, xn) != 0) {
			same = 0;
			fprintf(f, "  reply %d differs at byte %zu%s\n", i + 1,
			    tn_first_diff(x, y, xn < yn ? xn : yn),
			    ours != NULL && b_ours ? " (expected: the case's "
			    "\"ours:\")" : " (after masks)");
			show(f, "reference", x, xn);
			show(f, "tested   ", y, yn);
		}
		free(x);
		free(y);
	}
	fclose(f);
	free(ra);
	free(rb);
	if (same) {
		free(text);
		text = NULL;
	}
	*report = text;
	return same;
}
