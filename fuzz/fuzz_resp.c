/*
 * Fuzz target for the RESP2 request codec (gnet_codec_new_resp) and
 * gnet_resp_args, checked against a model written here: a plain parser
 * that reads the command at the start of the buffer from scratch on every
 * call, byte by byte, with Redis 7.0's rules as the codec's header states
 * them. The codec keeps state between calls to read each byte once; the
 * model keeps none, so any state the codec carries wrongly from one read
 * to the next shows as a disagreement.
 *
 * Input: 1 byte max_inline_len (0: the default, 64 KiB), 2 bytes
 * max_frame (little endian, 0: the default), 1 byte max_bulk_len (0: the
 * default), 1 byte max_args (0: the default), then the read sizes and
 * stream described in fuzz_common.h.
 *
 * The stream is decoded in one go and in reads, as fuzz_common.h's
 * driver does, and every call's result must be the model's for exactly
 * the bytes that call was given: a frame of the same length using the same
 * bytes, "need more", the same protocol error (a zero-length frame using
 * the whole input, and the same gnet_resp_error text, on this call and
 * every later one) or GNET_EFRAMESIZE. Then both runs must give the same
 * frames and the same end -- except that a "too big" error depends, as in
 * Redis, on how much was buffered when the line end was still missing:
 * reads may stop there while one go goes on. Each command frame must
 * split (gnet_resp_args, with a full and a short array) into the model's
 * arguments, and encode to itself.
 */
#include "fuzz/fuzz_common.h"

/* Config bytes that say "default" map to Redis's values. */
#define DEF_INLINE ((size_t)64 << 10)
#define DEF_FRAME ((size_t)1 << 30)
#define DEF_BULK ((size_t)512 << 20)
#define DEF_ARGS ((size_t)2147483647)

typedef struct model_cfg {
	size_t max_inline, max_frame, max_bulk, max_args;
} model_cfg_t;

enum m_kind { M_NEED, M_FRAME, M_ERROR, M_TOO_LONG };

typedef struct m_arg {
	const unsigned char *p;  /* NULL: the bytes are in text[] */
	size_t off, len;         /* in the frame, or in text[] */
} m_arg_t;

typedef struct m_result {
	enum m_kind kind;
	size_t len, used;        /* M_FRAME */
	char msg[64];            /* M_ERROR */
	int too_big;             /* M_ERROR: one of the "too big" errors */
	size_t argc;             /* M_FRAME with len > 0 */
	m_arg_t *argv;           /* room for n + 1 */
	unsigned char *text;     /* n bytes: unquoted inline arguments */
} m_result_t;

static void
m_error(m_result_t *m, const char *msg, int too_big)
{
	m->kind = M_ERROR;
	m->too_big = too_big;
	snprintf(m->msg, sizeof(m->msg), "Protocol error: %s", msg);
}

/* string2ll's grammar, checked the long way: the digits' value computed
 * in 128 bits, then held against the range of a long long. */
static int
m_number(const unsigned char *s, size_t len, int64_t *v)
{
	__int128 x = 0;
	size_t i, first;

	if (len == 0 || len >= 21)
		return 0;
	first = s[0] == '-' ? 1 : 0;
	if (first == len)
		return 0;
	for (i = first; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	/* A leading zero only as the whole of "0". */
	if (s[first] == '0' && !(len == 1))
		return 0;
	for (i = first; i < len; i++)
		x = x * 10 + (s[i] - '0');
	if (first)
		x = -x;
	if (x > INT64_MAX || x < INT64_MIN)
		return 0;
	*v = (int64_t)x;
	return 1;
}

static int
m_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' ||
	    c == '\r';
}

static int
m_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

static unsigned
m_hexval(unsigned char c)
{
	return c <= '9' ? (unsigned)(c - '0') : (unsigned)((c | 0x20) - 'a' + 10);
}

/* sdssplitargs as a state machine over the bytes: -1 for unbalanced
 * quotes, else the argument count (arguments into m->argv / m->text). */
static long
m_split(m_result_t *m, const unsigned char *s, size_t len)
{
	enum { GAP, WORD, DQ, SQ, AFTER_QUOTE } st = GAP;
	size_t i = 0, w = 0, start = 0;
	long argc = 0;

	while (i <= len) {
		int end = i == len;
		unsigned char c = end ? 0 : s[i];

		switch (st) {
		case GAP:
			if (end)
				return argc;
			if (m_space(c)) {
				i++;
				break;
			}
			start = w;
			st = WORD;
			break;
		case WORD:
			if (end || c == ' ' || c == '\t' || c == '\n' || c == '\r') {
				m->argv[argc++] = (m_arg_t){ NULL, start, w - start };
				st = GAP;
				break;
			}
			if (c == '"')
				st = DQ;
			else if (c == '\'')
				st = SQ;
			else
				m->text[w++] = c;
			i++;
			break;
		case DQ:
			if (end)
				return -1;
			if (c == '\\' && i + 3 < len && s[i + 1] == 'x' &&
			    m_hex(s[i + 2]) && m_hex(s[i + 3])) {
				m->text[w++] = (unsigned char)(m_hexval(s[i + 2]) * 16 +
				    m_hexval(s[i + 3]));
				i += 4;
			} else if (c == '\\' && i + 1 < len) {
				unsigned char e = s[i + 1];

				m->text[w++] = e == 'n' ? '\n' : e == 'r' ? '\r' :
				    e == 't' ? '\t' : e == 'b' ? '\b' :
				    e == 'a' ? '\a' : e;
				i += 2;
			} else if (c == '"') {
				st = AFTER_QUOTE;
				i++;
			} else {
				m->text[w++] = c;
				i++;
			}
			break;
		case SQ:
			if (end)
				return -1;
			if (c == '\\' && i + 1 < len && s[i + 1] == '\'') {
				m->text[w++] = '\'';
				i += 2;
			} else if (c == '\'') {
				st = AFTER_QUOTE;
				i++;
			} else {
				m->text[w++] = c;
				i++;
			}
			break;
		case AFTER_QUOTE:
			if (!end && !m_space(c))
				return -1;
			m->argv[argc++] = (m_arg_t){ NULL, start, w - start };
			st = GAP;
			break;
		}
	}
	return argc;
}

/* Where the line starting at `from` ends: 1 with *cr the offset of its
 * first "\r" and a byte after it; else the result is set. */
static int
m_line(const model_cfg_t *c, const unsigned char *in, size_t n, size_t from,
    const char *too_big, size_t *cr, m_result_t *m)
{
	size_t i;

	for (i = from; i < n && in[i] != '\r'; i++)
		;
	if (i == n || i + 1 == n) {
		if (n >= c->max_frame)
			m->kind = M_TOO_LONG;
		else if (i == n && n - from > c->max_inline)
			m_error(m, too_big, 1);
		else
			m->kind = M_NEED;
		return 0;
	}
	if (i + 2 > c->max_frame) {
		m->kind = M_TOO_LONG;
		return 0;
	}
	*cr = i;
	return 1;
}

/* The model: what the codec must answer for in[0..n), n > 0, from a
 * fresh start. */
static void
model(const model_cfg_t *c, const unsigned char *in, size_t n, m_result_t *m)
{
	size_t i, cr, pos, k;
	int64_t count, len;
	long argc;

	m->kind = M_NEED;
	m->argc = 0;
	if (in[0] != '*') {
		for (i = 0; i < n && in[i] != '\n'; i++)
			;
		if (i == n) {
			if (n >= c->max_frame)
				m->kind = M_TOO_LONG;
			else if (n > c->max_inline)
				m_error(m, "too big inline request", 1);
			return;
		}
		if (i + 1 > c->max_frame) {
			m->kind = M_TOO_LONG;
			return;
		}
		argc = m_split(m, in, i > 0 && in[i - 1] == '\r' ? i - 1 : i);
		if (argc < 0) {
			m_error(m, "unbalanced quotes in request", 0);
			return;
		}
		m->kind = M_FRAME;
		m->len = argc > 0 ? i + 1 : 0;
		m->used = i + 1;
		m->argc = (size_t)argc;
		return;
	}
	if (!m_line(c, in, n, 0, "too big mbulk count string", &cr, m))
		return;
	if (!m_number(in + 1, cr - 1, &count) || count > 2147483647 ||
	    count > (int64_t)c->max_args) {
		m_error(m, "invalid multibulk length", 0);
		return;
	}
	pos = cr + 2;
	if (count <= 0) {
		m->kind = M_FRAME;
		m->len = 0;
		m->used = pos;
		return;
	}
	for (k = 0; k < (size_t)count; k++) {
		if (!m_line(c, in, n, pos, "too big bulk count string", &cr, m))
			return;
		if (in[pos] != '$') {
			char msg[40];

			snprintf(msg, sizeof(msg), "expected '$', got '%c'", in[pos]);
			m_error(m, msg, 0);
			return;
		}
		if (!m_number(in + pos + 1, cr - pos - 1, &len) || len < 0 ||
		    (uint64_t)len > c->max_bulk) {
			m_error(m, "invalid bulk length", 0);
			return;
		}
		if (cr + 2 + (uint64_t)len + 2 > c->max_frame) {
			m->kind = M_TOO_LONG;
			return;
		}
		if (cr + 2 + (size_t)len + 2 > n) {
			m->kind = M_NEED;
			return;
		}
		m->argv[k] = (m_arg_t){ in, cr + 2, (size_t)len };
		pos = cr + 2 + (size_t)len + 2;
	}
	m->kind = M_FRAME;
	m->len = m->used = pos;
	m->argc = (size_t)count;
}

/* ------------------------------------------------------------------------
 * Running the codec against the model.
 */
typedef struct run {
	fz_frame_t *frames;    /* room for stream length + 1 */
	size_t nframes;
	int closed;            /* GNET_EFRAMESIZE, or 0 */
	char err[64];          /* gnet_resp_error at the end, or "" */
	int too_big;
} run_t;

typedef struct ctx {
	const gnet_codec_t *codec;
	model_cfg_t cfg;
	m_result_t m;
	gnet_resp_arg_t *argv;
	char *scratch;
} ctx_t;

static void
check_args(ctx_t *x, const unsigned char *in, size_t len)
{
	const m_result_t *m = &x->m;
	size_t i, half = m->argc / 2;
	long argc;

	argc = gnet_resp_args(in, len, x->argv, m->argc, x->scratch, len);
	FZ_CHECK(argc >= 0 && (size_t)argc == m->argc,
	    "gnet_resp_args gave %ld, the model %zu arguments", argc, m->argc);
	for (i = 0; i < m->argc; i++) {
		const unsigned char *want = m->argv[i].p != NULL ?
		    m->argv[i].p + m->argv[i].off : m->text + m->argv[i].off;

		FZ_CHECK(x->argv[i].len == m->argv[i].len &&
		    memcmp(x->argv[i].ptr, want, m->argv[i].len) == 0,
		    "argument %zu: %zu bytes, the model's %zu", i, x->argv[i].len,
		    m->argv[i].len);
		if (m->argv[i].p != NULL)
			FZ_CHECK(x->argv[i].ptr == (const char *)want,
			    "argument %zu does not point into the frame", i);
	}
	argc = gnet_resp_args(in, len, x->argv, half, x->scratch, len);
	FZ_CHECK(argc >= 0 && (size_t)argc == m->argc,
	    "with room for %zu, gnet_resp_args gave %ld", half, argc);
	if (len > 0 && in[0] != '*')
		FZ_CHECK(gnet_resp_args(in, len, x->argv, m->argc, x->scratch,
		    len - 1) == GNET_EINVAL, "a short scratch was accepted");
}

static void
check_encode(const gnet_codec_t *codec, const unsigned char *p, size_t len)
{
	unsigned char *out = fz_alloc(len);
	long got = gnet_codec_encode(codec, p, len, out, len);

	FZ_CHECK(got == (long)len && memcmp(out, p, len) == 0,
	    "encoding %zu bytes gave %ld bytes, or others", len, got);
	free(out);
}

/* One decode of in[0..n) (a buffer ending at its last byte), checked
 * against the model; the frame is recorded at stream offset `at`.
 * Returns 1 to go on with the rest of this input, 0 to wait for more, -1
 * when the run is over. */
static int
step(ctx_t *x, void *st, const unsigned char *in, size_t n, size_t at,
    run_t *res, size_t *used)
{
	const char *before = gnet_resp_error(st), *e;
	m_result_t *m = &x->m;
	gnet_frame_t f;
	int r;

	memset(&f, 0xa5, sizeof(f));
	r = gnet_codec_decode(x->codec, st, in, n, &f);
	e = gnet_resp_error(st);
	if (before != NULL) {
		FZ_CHECK(r == 1 && f.len == 0 && f.consumed == n &&
		    e != NULL && strcmp(e, before) == 0,
		    "after an error: r=%d len=%zu consumed=%zu of %zu", r,
		    r == 1 ? f.len : 0, r == 1 ? f.consumed : 0, n);
		return -1;
	}
	model(&x->cfg, in, n, m);
	switch (m->kind) {
	case M_NEED:
		FZ_CHECK(r == 0 && e == NULL, "need more bytes (%zu buffered), "
		    "got r=%d error %s", n, r, e != NULL ? e : "none");
		return 0;
	case M_TOO_LONG:
		FZ_CHECK(r == GNET_EFRAMESIZE, "command over the max frame in "
		    "%zu bytes, got r=%d error %s", n, r, e != NULL ? e : "none");
		res->closed = r;
		return -1;
	case M_ERROR:
		FZ_CHECK(r == 1 && f.data == (const void *)in && f.len == 0 &&
		    f.consumed == n && e != NULL && strcmp(e, m->msg) == 0,
		    "error '%s' in %zu bytes, got r=%d len=%zu consumed=%zu "
		    "error '%s'", m->msg, n, r, r == 1 ? f.len : 0,
		    r == 1 ? f.consumed : 0, e != NULL ? e : "none");
		res->frames[res->nframes++] = (fz_frame_t){ at, 0, n };
		snprintf(res->err, sizeof(res->err), "%s", e);
		res->too_big = m->too_big;
		*used = n;
		return -1;
	case M_FRAME:
		FZ_CHECK(r == 1 && f.data == (const void *)in && f.len == m->len &&
		    f.consumed == m->used && e == NULL, "frame %zu/%zu in %zu "
		    "bytes, got r=%d len=%zu consumed=%zu error %s", m->len,
		    m->used, n, r, r == 1 ? f.len : 0, r == 1 ? f.consumed : 0,
		    e != NULL ? e : "none");
		if (f.len != 0)
			check_args(x, in, f.len);
		else
			FZ_CHECK(gnet_resp_args(in, 0, NULL, 0, NULL, 0) == 0,
			    "args of a zero-length frame");
		check_encode(x->codec, in, f.len);
		res->frames[res->nframes++] = (fz_frame_t){ at, f.len,
		    f.consumed };
		*used = f.consumed;
		return 1;
	}
	return -1;
}

/* Reads of sizes[i % nsizes] + 1 bytes (0 sizes: all at once); after each
 * one, decode the unconsumed bytes until more are needed. */
static void
run(ctx_t *x, const unsigned char *s, size_t n, const uint8_t *sizes,
    size_t nsizes, int whole, run_t *res)
{
	void *st = fz_state_new(x->codec);
	size_t got = 0, base = 0, i = 0;
	int over = 0;

	res->nframes = 0;
	res->closed = 0;
	res->err[0] = '\0';
	res->too_big = 0;
	while (got < n && !over) {
		size_t k = whole ? n : nsizes != 0 ?
		    (size_t)sizes[i++ % nsizes] + 1 : 1;
		size_t pend, off = 0, used = 0;
		unsigned char *buf;
		int r = 1;

		got += k < n - got ? k : n - got;
		pend = got - base;
		buf = fz_alloc(pend);
		memcpy(buf, s + base, pend);
		while (off < pend && r == 1) {
			r = step(x, st, buf + off, pend - off, base + off, res,
			    &used);
			if (r != 0 && res->closed == 0)
				off += used;
			if (r < 0)
				over = 1;
		}
		/* An error leaves the state failed: the next call must say
		 * so again, whatever it is given. */
		if (over && res->err[0] != '\0') {
			step(x, st, buf, pend, base, res, &used);
		}
		base += off;
		free(buf);
	}
	free(st);
}

static int
same_frame(const fz_frame_t *a, const fz_frame_t *b)
{
	return a->off == b->off && a->len == b->len && a->consumed == b->consumed;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_in_t in = { data, size };
	gnet_codec_t *codec = FZ_NOT_SET;
	unsigned inl, frame, bulk, args, k = 0;
	uint8_t sizes[15];
	gnet_resp_limits_t lim;
	ctx_t x;
	run_t a, b;
	size_t n, i;
	int rc;

	if (!fz_u8(&in, &inl) || !fz_u16(&in, &frame) || !fz_u8(&in, &bulk) ||
	    !fz_u8(&in, &args))
		return 0;
	snprintf(fz_cfg_desc, sizeof(fz_cfg_desc), "resp max_inline_len=%u "
	    "max_frame=%u max_bulk_len=%u max_args=%u (0: default)", inl, frame,
	    bulk, args);
	lim = (gnet_resp_limits_t){ .size = sizeof(lim), .max_inline_len = inl,
	    .max_frame = frame, .max_bulk_len = bulk, .max_args = args };
	rc = gnet_codec_new_resp(&codec, &lim);
	FZ_CHECK(rc == 0 && codec != NULL, "valid limits refused: %d", rc);
	x.codec = codec;
	x.cfg = (model_cfg_t){ inl != 0 ? inl : DEF_INLINE,
	    frame != 0 ? frame : DEF_FRAME, bulk != 0 ? bulk : DEF_BULK,
	    args != 0 ? args : DEF_ARGS };
	FZ_CHECK(gnet_codec_max_frame(codec) == x.cfg.max_frame,
	    "max frame %zu", gnet_codec_max_frame(codec));
	if (fz_u8(&in, &k))
		k &= 15;
	if (!fz_take(&in, sizes, k))
		k = 0;
	n = in.n < FZ_MAX_STREAM ? in.n : FZ_MAX_STREAM;
	x.m.argv = fz_alloc((n + 1) * sizeof(m_arg_t));
	x.m.text = fz_alloc(n);
	x.argv = fz_alloc((n + 1) * sizeof(gnet_resp_arg_t));
	x.scratch = fz_alloc(n);
	a.frames = fz_alloc((n + 2) * sizeof(fz_frame_t));
	b.frames = fz_alloc((n + 2) * sizeof(fz_frame_t));
	run(&x, in.p, n, NULL, 0, 1, &a);
	run(&x, in.p, n, sizes, k, 0, &b);

	if (b.too_big) {
		/* Reads stopped at a line still missing its end; in one go
		 * the same frames come first. */
		FZ_CHECK(a.nframes >= b.nframes - 1, "reads stopped after %zu "
		    "frames ('%s'), one go gave only %zu", b.nframes, b.err,
		    a.nframes);
		for (i = 0; i + 1 < b.nframes; i++)
			FZ_CHECK(same_frame(&a.frames[i], &b.frames[i]),
			    "frame %zu differs before a too-big error", i);
	} else {
		FZ_CHECK(a.nframes == b.nframes && a.closed == b.closed &&
		    strcmp(a.err, b.err) == 0, "in one go: %zu frames, closed "
		    "%d, error '%s'; in reads: %zu frames, closed %d, error '%s'",
		    a.nframes, a.closed, a.err, b.nframes, b.closed, b.err);
		/* An error frame uses what was buffered then. */
		for (i = 0; i < a.nframes; i++)
			FZ_CHECK(same_frame(&a.frames[i], &b.frames[i]) ||
			    (i + 1 == a.nframes && a.err[0] != '\0' &&
			    a.frames[i].off == b.frames[i].off),
			    "frame %zu: at %zu, %zu/%zu in one go; at %zu, %zu/%zu "
			    "in reads", i, a.frames[i].off, a.frames[i].len,
			    a.frames[i].consumed, b.frames[i].off, b.frames[i].len,
			    b.frames[i].consumed);
	}
	free(a.frames);
	free(b.frames);
	free(x.m.argv);
	free(x.m.text);
	free(x.argv);
	free(x.scratch);
	gnet_codec_free(codec);
	return 0;
}
