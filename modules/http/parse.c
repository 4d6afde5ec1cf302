/*
 * parse.c -- the HTTP/1.1 request parser (see parse.h for what it
 * accepts and the events it reports).
 *
 * A head is parsed line by line as lines become whole: each line is read
 * once, what it says is kept in the parser (flags, lengths, offsets), and
 * the blank line turns that into the request. Lines are found with
 * memchr, which scans many bytes per step; the bytes of a line are then
 * looked at once each, so the cost of a head is about one pass over it.
 */
#include <string.h>
#include "parse.h"

/* What the head's fields said so far (http_parser_t.fields). */
enum {
	HTTP_F_HOST = 1 << 0,
	HTTP_F_LENGTH = 1 << 1,      /* Content-Length seen */
	HTTP_F_TE = 1 << 2,          /* Transfer-Encoding seen */
	HTTP_F_CHUNKED = 1 << 3,     /* ... and "chunked" was its last coding */
	HTTP_F_TE_OTHER = 1 << 4,    /* ... with a coding we do not decode */
	HTTP_F_CLOSE = 1 << 5,       /* Connection: close */
	HTTP_F_KEEP_ALIVE = 1 << 6,  /* Connection: keep-alive */
	HTTP_F_EXPECT_CONTINUE = 1 << 7 /* Expect: 100-continue */
};

/* tchar (RFC 9110 5.6.2): the bytes of a method or field name. */
static const unsigned char tchar[256] = {
	0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
	0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
	0,1,0,1,1,1,1,1,0,0,1,1,0,1,1,0,   /*  !"#$%&'()*+,-./ */
	1,1,1,1,1,1,1,1,1,1,0,0,0,0,0,0,   /* 0-9 :;<=>?       */
	0,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,   /* @A-O             */
	1,1,1,1,1,1,1,1,1,1,1,0,0,0,1,1,   /* P-Z [\]^_        */
	1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,   /* `a-o             */
	1,1,1,1,1,1,1,1,1,1,1,0,1,0,1,0,   /* p-z {|}~ DEL     */
};

/* A request-target byte: visible ASCII, no space. */
static inline int
target_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f;
}

/* A byte a field value may not hold: a control byte other than HTAB,
 * DEL included (RFC 9110 5.5). */
static inline int
ctl_byte(unsigned char c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

static int
ctl_bytes(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ctl_byte(s[i]))
			return 1;
	return 0;
}

#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

/* Whether all 8 bytes of w are in 0x20..0x7e. Nonzero high bits mark a
 * byte below 0x20 (w - 0x20 borrows into it) or above 0x7e (w + 1 sets
 * it); a borrow or carry crossing into a neighbour only happens from a
 * byte that is marked itself, so the answer is exact. */
static inline int
plain_word(uint64_t w)
{
	return (((w - ONES * 0x20) & ~w) | ((w + ONES) | w)) & HIGHS ? 0 : 1;
}

static inline uint64_t
load_word(const unsigned char *s)
{
	uint64_t w;

	memcpy(&w, s, sizeof w);
	return w;
}

/* Whether s[from..end) holds a byte ctl_byte refuses. Values are mostly
 * plain ASCII, so 8 bytes are checked at a time and only a word that is
 * not plain is looked at byte by byte. The bytes before `from` are part
 * of the line and valid (name, colon, blanks), so a short value is
 * checked as the word ending at `end` when the line is long enough, and
 * the last word of a long one may overlap the one before. */
static inline int
has_ctl(const unsigned char *s, size_t from, size_t end)
{
	size_t i;

	if (end - from < 8) {
		if (end < 8)
			return ctl_bytes(s + from, end - from);
		from = end - 8;
	}
	for (i = from; i + 8 <= end; i += 8)
		if (!plain_word(load_word(s + i)) && ctl_bytes(s + i, 8))
			return 1;
	return i < end && !plain_word(load_word(s + end - 8)) &&
	    ctl_bytes(s + end - 8, 8);
}

static inline int
is_ows(unsigned char c)
{
	return c == ' ' || c == '\t';
}

#define CASE_BITS UINT64_C(0x2020202020202020)

/* Whether the n bytes at s are, ignoring ASCII case, the lower-case
 * literal `lower` (letters, digits, '-'). OR-ing 0x20 into a byte lowers
 * a letter and keeps a digit or '-'; the only other bytes it maps onto
 * one of those are control bytes, which the names and values compared
 * here do not hold. So whole words can be compared at once. */
static inline int
lower_eq(const unsigned char *s, const char *lower, size_t n)
{
	const unsigned char *l = (const unsigned char *)lower;
	uint32_t a, b;
	size_t i;

	if (n >= 8) {
		for (i = 0; i + 8 < n; i += 8)
			if ((load_word(s + i) | CASE_BITS) != load_word(l + i))
				return 0;
		return (load_word(s + n - 8) | CASE_BITS) == load_word(l + n - 8);
	}
	if (n >= 4) {
		memcpy(&a, s, 4);
		memcpy(&b, l, 4);
		if ((a | (uint32_t)CASE_BITS) != b)
			return 0;
		memcpy(&a, s + n - 4, 4);
		memcpy(&b, l + n - 4, 4);
		return (a | (uint32_t)CASE_BITS) == b;
	}
	for (i = 0; i < n; i++)
		if ((s[i] | 0x20) != l[i])
			return 0;
	return 1;
}

static int
fail(http_parser_t *p, int status)
{
	p->phase = HTTP_PHASE_ERROR;
	p->status = (uint16_t)status;
	return HTTP_PARSE_ERROR;
}

/* A line's length without its "\n" and one "\r" before it. */
static inline size_t
line_len(const unsigned char *start, const unsigned char *lf)
{
	size_t len = (size_t)(lf - start);

	return len != 0 && lf[-1] == '\r' ? len - 1 : len;
}

/* ------------------------------------------------------------------------
 * The head.
 */
/* METHOD SP TARGET SP HTTP/d.d -- the first line of the head, at in[0]. */
static int
request_line(http_parser_t *p, const unsigned char *in, size_t len)
{
	size_t i = 0, t;

	/* What nearly every request starts with, in one compare. */
	if (len > 4 && memcmp(in, "GET ", 4) == 0) {
		i = 3;
		p->method = HTTP_METHOD_GET;
	} else {
		while (i < len && tchar[in[i]])
			i++;
		if (i == 0 || i == len || in[i] != ' ')
			return 400;
		p->method = HTTP_METHOD_OTHER;
		if (i == 4 && memcmp(in, "HEAD", 4) == 0)
			p->method = HTTP_METHOD_HEAD;
		else if (i == 4 && memcmp(in, "POST", 4) == 0)
			p->method = HTTP_METHOD_POST;
	}
	p->method_len = (uint32_t)i;
	t = ++i;
	while (i < len && target_char(in[i]))
		i++;
	if (i == t || i == len || in[i] != ' ')
		return 400;
	p->target_off = (uint32_t)t;
	p->target_len = (uint32_t)(i - t);
	in += i + 1;
	len -= i + 1;
	if (len == 8 && memcmp(in, "HTTP/1.1", 8) == 0) {
		p->version_minor = 1;
		return 0;
	}
	/* The methods are case-sensitive, the version name too (2.3). */
	if (len != 8 || memcmp(in, "HTTP/", 5) != 0 || in[5] < '0' ||
	    in[5] > '9' || in[6] != '.' || in[7] < '0' || in[7] > '9')
		return 400;
	if (in[5] != '1')
		return 505;
	/* A later 1.x is answered as 1.1, its highest minor we speak. */
	p->version_minor = in[7] == '0' ? 0 : 1;
	return 0;
}

/* Calls fn(token, len, arg) for each element of a comma-separated list,
 * empty elements skipped (RFC 9110 5.6.1); stops at a nonzero return. */
static int
each_token(const unsigned char *v, size_t n,
    int (*fn)(http_parser_t *p, const unsigned char *tok, size_t len),
    http_parser_t *p)
{
	size_t i = 0;

	while (i < n) {
		size_t start, end;
		int rc;
		while (i < n && (v[i] == ',' || is_ows(v[i])))
			i++;
		start = i;
		while (i < n && v[i] != ',')
			i++;
		end = i;
		while (end > start && is_ows(v[end - 1]))
			end--;
		if (end > start && (rc = fn(p, v + start, end - start)) != 0)
			return rc;
	}
	return 0;
}

static int
connection_token(http_parser_t *p, const unsigned char *tok, size_t len)
{
	if (len == 5 && lower_eq(tok, "close", 5))
		p->fields |= HTTP_F_CLOSE;
	else if (len == 10 && lower_eq(tok, "keep-alive", 10))
		p->fields |= HTTP_F_KEEP_ALIVE;
	return 0;
}

/* "chunked" must be the last coding and come once; a coding after it
 * leaves the body's end unknown (6.1): 400. */
static int
transfer_coding(http_parser_t *p, const unsigned char *tok, size_t len)
{
	if (p->fields & HTTP_F_CHUNKED)
		return 400;
	if (len == 7 && lower_eq(tok, "chunked", 7))
		p->fields |= HTTP_F_CHUNKED;
	else
		p->fields |= HTTP_F_TE_OTHER;
	return 0;
}

static int
content_length(http_parser_t *p, const unsigned char *v, size_t n)
{
	uint64_t value = 0;

	if (n == 0)
		return 400;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return 400;
		/* Saturate: any length this long is over every limit. */
		if (value > (UINT64_MAX - 9) / 10)
			value = UINT64_MAX;
		else
			value = value * 10 + (uint64_t)(v[i] - '0');
	}
	/* Two different lengths would let an intermediary and us disagree
	 * on where the next request starts (6.3). */
	if ((p->fields & HTTP_F_LENGTH) && value != p->content_length)
		return 400;
	p->fields |= HTTP_F_LENGTH;
	p->content_length = value;
	return 0;
}

/* name ":" OWS value OWS. Returns 0 or the error status; with `interpret`
 * the fields that frame the request are taken in. */
static int
field_line(http_parser_t *p, const unsigned char *line, size_t len,
    int interpret)
{
	size_t i = 0, v, e;

	while (i < len && tchar[line[i]])
		i++;
	/* Also refuses a line starting with a blank (obsolete folding,
	 * 5.2) and a blank before the colon (5.1). */
	if (i == 0 || i == len || line[i] != ':')
		return 400;
	v = i + 1;
	e = len;
	while (v < e && is_ows(line[v]))
		v++;
	while (e > v && is_ows(line[e - 1]))
		e--;
	if (has_ctl(line, v, e))
		return 400;
	if (!interpret)
		return 0;
	/* Only the fields that frame the request or the connection matter;
	 * the name's length picks the candidate. */
	switch (i) {
	case 4:
		if (lower_eq(line, "host", 4)) {
			if (p->fields & HTTP_F_HOST)
				return 400; /* more than one Host (3.2) */
			p->fields |= HTTP_F_HOST;
		}
		break;
	case 6:
		if (lower_eq(line, "expect", 6) && e - v == 12 &&
		    lower_eq(line + v, "100-continue", 12))
			p->fields |= HTTP_F_EXPECT_CONTINUE;
		break;
	case 10:
		if (lower_eq(line, "connection", 10))
			return each_token(line + v, e - v, connection_token, p);
		break;
	case 14:
		if (lower_eq(line, "content-length", 14))
			return content_length(p, line + v, e - v);
		break;
	case 17:
		if (lower_eq(line, "transfer-encoding", 17)) {
			p->fields |= HTTP_F_TE;
			return each_token(line + v, e - v, transfer_coding, p);
		}
		break;
	}
	return 0;
}

/* The blank line: decide how the body is framed and whether the
 * connection stays. Returns 0 or the error status. */
static int
head_done(http_parser_t *p, const http_limits_t *lim)
{
	uint16_t f = p->fields;

	if (p->version_minor == 1 && !(f & HTTP_F_HOST))
		return 400;
	if (f & HTTP_F_TE) {
		/* Both framings at once, or chunked from a 1.0 client that
		 * cannot send it: the body's end is in doubt (6.1, 6.3). */
		if ((f & HTTP_F_LENGTH) || p->version_minor == 0)
			return 400;
		if (f & HTTP_F_TE_OTHER)
			return 501;
		if (!(f & HTTP_F_CHUNKED))
			return 400; /* an empty list */
		p->phase = HTTP_PHASE_CHUNK_SIZE;
		p->body_bytes = 0;
	} else if (p->content_length != 0) {
		if (p->content_length > lim->max_body_bytes)
			return 413;
		p->phase = HTTP_PHASE_BODY;
		p->left = p->content_length;
	}
	if (p->version_minor == 1)
		p->keep_alive = !(f & HTTP_F_CLOSE);
	else
		p->keep_alive = (f & HTTP_F_KEEP_ALIVE) && !(f & HTTP_F_CLOSE);
	/* Only a 1.1 client waits for "100 Continue", and only a body is
	 * worth waiting for (RFC 9110 10.1.1). */
	p->expect_continue = (f & HTTP_F_EXPECT_CONTINUE) &&
	    p->version_minor == 1 && p->phase != HTTP_PHASE_HEAD;
	return 0;
}

/* Ready for the next request's head. */
static void
next_request(http_parser_t *p)
{
	p->phase = HTTP_PHASE_HEAD;
	p->fields = 0;
	p->line = 0;
	p->scanned = 0;
	p->content_length = 0;
}

static int
parse_head(http_parser_t *p, const http_limits_t *lim,
    const unsigned char *in, size_t n, http_event_t *ev)
{
	size_t avail, line, from, skip = 0;
	const unsigned char *lf;
	int rc;

	/* Empty lines before a request line are skipped (2.2) and consumed
	 * at once: they are no part of the head and its limit. */
	if (p->line == 0 && p->scanned == 0) {
		while (skip < n && (in[skip] == '\n' || in[skip] == '\r')) {
			if (in[skip] == '\n')
				skip++;
			else if (skip + 1 == n)
				break;
			else if (in[skip + 1] == '\n')
				skip += 2;
			else
				return fail(p, 400); /* a bare CR */
		}
		ev->consumed += skip;
		if (skip < n && in[skip] == '\r')
			return HTTP_PARSE_AGAIN; /* its "\n" is on the way */
		in += skip;
		n -= skip;
	}
	/* The head must end within the limit: nothing beyond it is looked
	 * at, so an endless head costs at most max_header_bytes. */
	avail = n < lim->max_header_bytes ? n : lim->max_header_bytes;
	line = p->line;
	from = p->scanned > line ? p->scanned : line;
	for (;;) {
		size_t len;

		/* The blank line is looked for at once after a field: it
		 * saves a search per request. */
		if (line == from && line != 0 && from + 1 < avail &&
		    in[from] == '\r' && in[from + 1] == '\n') {
			lf = in + from + 1;
			break;
		}
		lf = from < avail ? memchr(in + from, '\n', avail - from) : NULL;
		if (lf == NULL) {
			if (avail == lim->max_header_bytes)
				return fail(p, 431);
			p->line = (uint32_t)line;
			p->scanned = (uint32_t)avail;
			return HTTP_PARSE_AGAIN;
		}
		len = line_len(in + line, lf);
		if (line == 0)
			rc = request_line(p, in, len);
		else if (len == 0)
			break;
		else
			rc = field_line(p, in + line, len, 1);
		if (rc != 0)
			return fail(p, rc);
		line = from = (size_t)(lf - in) + 1;
	}
	if ((rc = head_done(p, lim)) != 0)
		return fail(p, rc);
	ev->consumed += (size_t)(lf - in) + 1;
	ev->method_name = (const char *)in;
	ev->method_len = p->method_len;
	ev->target = (const char *)in + p->target_off;
	ev->target_len = p->target_len;
	p->line = 0;
	p->scanned = 0;
	p->fields = 0;
	/* Without a body the request is complete: ready for the next. */
	return HTTP_PARSE_HEAD;
}

/* ------------------------------------------------------------------------
 * The body.
 */
/* Body bytes of the Content-Length body or the current chunk. */
static int
body_bytes(http_parser_t *p, const unsigned char *in, size_t n,
    http_event_t *ev, int next_phase)
{
	size_t k = n;

	if (k == 0)
		return HTTP_PARSE_AGAIN;
	if (k > p->left)
		k = (size_t)p->left;
	p->left -= k;
	if (p->left == 0)
		p->phase = (uint8_t)next_phase;
	ev->body = (const char *)in;
	ev->body_len = k;
	ev->consumed += k;
	return HTTP_PARSE_BODY;
}

/* The next whole line of a chunked body (a chunk-size or trailer line),
 * looked for within `limit` bytes. Returns its "\n", or NULL: more bytes
 * are needed, or (*over set) the line is longer than the limit. */
static const unsigned char *
body_line(http_parser_t *p, const unsigned char *in, size_t n, size_t limit,
    int *over)
{
	size_t avail = n < limit ? n : limit;
	size_t from = p->scanned;
	const unsigned char *lf;

	lf = from < avail ? memchr(in + from, '\n', avail - from) : NULL;
	if (lf == NULL) {
		*over = avail == limit;
		p->scanned = (uint32_t)avail;
		return NULL;
	}
	p->scanned = 0;
	return lf;
}

/* chunk-size [ chunk-ext ]: hex digits, then nothing, or blanks and ";"
 * extensions (7.1.1), which are ignored. Returns 0 or the error status. */
static int
chunk_size(http_parser_t *p, const http_limits_t *lim,
    const unsigned char *s, size_t len)
{
	uint64_t size = 0, room = lim->max_body_bytes - p->body_bytes;
	size_t i = 0;

	for (; i < len; i++) {
		unsigned d;
		if (s[i] >= '0' && s[i] <= '9')
			d = (unsigned)(s[i] - '0');
		else if ((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'f')
			d = (unsigned)((s[i] | 0x20) - 'a' + 10);
		else
			break;
		/* Past the body's room it is refused however long it is,
		 * which also keeps the shift from overflowing. */
		if (size > room >> 4)
			return 413;
		size = size << 4 | d;
		if (size > room)
			return 413;
	}
	if (i == 0)
		return 400;
	while (i < len && is_ows(s[i]))
		i++;
	if (i < len && (s[i] != ';' || has_ctl(s, i, len)))
		return 400;
	p->body_bytes += size;
	p->left = size;
	p->phase = size != 0 ? HTTP_PHASE_CHUNK_DATA : HTTP_PHASE_TRAILER;
	p->trailer_bytes = 0;
	return 0;
}

/* The CRLF (or LF) that ends a chunk's data. */
static int
chunk_crlf(http_parser_t *p, const unsigned char *in, size_t n,
    http_event_t *ev)
{
	size_t k;

	if (n == 0 || (in[0] == '\r' && n == 1))
		return HTTP_PARSE_AGAIN;
	if (in[0] == '\n')
		k = 1;
	else if (in[0] == '\r' && in[1] == '\n')
		k = 2;
	else
		return fail(p, 400);
	ev->consumed += k;
	p->phase = HTTP_PHASE_CHUNK_SIZE;
	return -1; /* no event: go on */
}

/* ------------------------------------------------------------------------
 * One step.
 */
int
http_parse(http_parser_t *p, const http_limits_t *lim, const char *data,
    size_t n, http_event_t *ev)
{
	const unsigned char *in = (const unsigned char *)data, *lf;
	int rc, over;

	ev->consumed = 0;
	/* The call that ends every read: nothing left, nothing owed. */
	if (n == 0 && p->phase == HTTP_PHASE_HEAD)
		return HTTP_PARSE_AGAIN;
	for (;;) {
		size_t used = ev->consumed;
		const unsigned char *at = in + used;
		size_t left = n - used;

		switch (p->phase) {
		case HTTP_PHASE_HEAD:
			return parse_head(p, lim, at, left, ev);
		case HTTP_PHASE_BODY:
			return body_bytes(p, at, left, ev, HTTP_PHASE_BODY_DONE);
		case HTTP_PHASE_BODY_DONE:
			next_request(p);
			return HTTP_PARSE_END;
		case HTTP_PHASE_CHUNK_DATA:
			return body_bytes(p, at, left, ev, HTTP_PHASE_CHUNK_CRLF);
		case HTTP_PHASE_CHUNK_CRLF:
			if ((rc = chunk_crlf(p, at, left, ev)) >= 0)
				return rc;
			break;
		case HTTP_PHASE_CHUNK_SIZE:
			lf = body_line(p, at, left, lim->max_header_bytes, &over);
			if (lf == NULL)
				return over ? fail(p, 400) : HTTP_PARSE_AGAIN;
			if ((rc = chunk_size(p, lim, at, line_len(at, lf))) != 0)
				return fail(p, rc);
			ev->consumed += (size_t)(lf - at) + 1;
			break;
		case HTTP_PHASE_TRAILER:
			lf = body_line(p, at, left,
			    lim->max_header_bytes - p->trailer_bytes, &over);
			if (lf == NULL)
				return over ? fail(p, 431) : HTTP_PARSE_AGAIN;
			ev->consumed += (size_t)(lf - at) + 1;
			if (line_len(at, lf) == 0) {
				next_request(p);
				return HTTP_PARSE_END;
			}
			if ((rc = field_line(p, at, line_len(at, lf), 0)) != 0)
				return fail(p, rc);
			p->trailer_bytes += (uint32_t)(lf - at) + 1;
			break;
		default:
			return HTTP_PARSE_ERROR;
		}
	}
}
