/*
 * check_codec_live.c -- integration suite "codec_live": frame codecs on a
 * real engine on loopback, driven by plain client sockets that encode with
 * gnet_codec_encode and check every reply byte for byte.
 *
 * One echo server fixture, parameterised by codec (line, delimiter "\r\n\r\n"
 * and "|", fixed, length field 1/2/3/4/8 bytes in both byte orders), echoes
 * each frame with gnet_conn_write, so the reply is the re-encoded frame. The
 * server also counts frames and sums a hash of every frame it was handed,
 * so a codec that silently fell back to raw bytes cannot pass.
 *
 * Covers:
 *   - round trips, 10 concurrent clients x several frames, 1 and 4 loops;
 *   - frames split across reads: read_buffer_cap 1, 3 and 7, and one frame
 *     sent in two writes split at every byte boundary;
 *   - 200 frames pipelined in one write: 200 on_traffic calls, in order;
 *   - frame sizes 64 B .. 1 MiB (length field, and line with max 2 MiB);
 *   - a handler that leaves part of a frame: the rest is dropped;
 *   - gnet_conn_set_codec from on_open (engine codec NULL) and switching
 *     codec inside on_traffic (line/length field/raw, either way) for bytes
 *     of the same read: answered without waiting for more input, and not
 *     lost when a FIN follows them;
 *   - the max_frame boundary: exactly max_frame passes, one byte more is
 *     GNET_EFRAMESIZE, whole or read byte by byte;
 *   - bad input: over max_frame (and 1 GiB declared) closes promptly with
 *     GNET_EFRAMESIZE on the header alone, negative adjusted length and
 *     length overflow give GNET_EBADFRAME, a peer leaving mid-frame gives
 *     GNET_ETRUNCATED, random garbage ends exactly as the reference decoder
 *     says, a 32 MiB line with max 64 KiB is refused with bounded memory;
 *     replies to frames before a bad one still arrive, and a well-behaved
 *     neighbour on the same engine keeps its echo before and after;
 *   - gnet_conn_write_async from a foreign thread is encoded as one frame, and
 *     writes the codec refuses (GNET_EFRAMESIZE / GNET_EINVAL) write nothing.
 *
 * Server callbacks only record into atomics; the test thread asserts, with
 * bounded waits. No sleep is used to synchronise with the engine.
 */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "gnet.h"
#include "support/testnet.h"

#define TCASE_TIMEOUT_S 60
#define WAIT_MS 5000            /* for a callback to be observed */
#define IO_MS 10000             /* for a single client exchange */
#define PUMP_MS 30000           /* for a multi-client exchange */
#define PROMPT_MS 2000          /* "promptly": a bad header closes by then */

#define MAX_CONNS 32

/* Round trips. */
#define RT_CLIENTS 10
#define RT_FRAMES 8             /* frames per client (scaled, at least 2) */
#define RT_FRAME_LEN 1024
#define RT_FIXED_LEN 1024

/* Split reads and writes. */
#define SPLIT_FIXED_LEN 48      /* the fixed codec's frame in split tests */
#define SPLIT_LEN 48            /* payload of the two-write split frame */
#define FIXED_SPLIT_FRAMES 4

/* Pipelining. */
#define PIPE_FRAMES 200
#define PIPE_FIXED_LEN 64

/* Large frames. */
#define BIG_LINE_MAX ((size_t)2 << 20)
#define MIB ((size_t)1 << 20)

/* Partial consumption. */
#define PART_FRAMES 30
#define PART_READ 3             /* bytes a "partial" handler reads */
#define PART_MAX_LEN 1024

/* Bad input. */
#define BAD_LF_MAX 4096         /* length-field max_frame (whole frame) */
#define BAD_LINE_MAX 64
#define NEG_ADJ 8               /* length_adjustment -8, encode +8 */
#define GOOD_FRAMES 3           /* good frames before a bad one */
#define GARBAGE_MAX 300         /* max_frame in the garbage tests */
#define GARBAGE_FIXED 100
#define GARBAGE_BYTES 4096
#define GARBAGE_SEEDS 3
#define FLOOD_MAX ((size_t)64 * 1024)
#define FLOOD_BYTES ((size_t)32 * 1024 * 1024)
#define FLOOD_SENT_LIMIT ((size_t)16 * 1024 * 1024)
#define FLOOD_CHUNK ((size_t)64 * 1024)
#define RSS_LIMIT_KB (64L * 1024)

/* Async writes. */
#define ASYNC_MSGS 200

/* ------------------------------------------------------------------------
 * Codec table.
 */
enum codec_kind { K_LINE, K_DELIM, K_FIXED, K_LF };

typedef struct codec_spec {
	const char *name;
	enum codec_kind kind;
	const char *delim;      /* K_DELIM */
	size_t dlen;
	int width;              /* K_LF: length field bytes */
	int little;             /* K_LF: little endian */
} codec_spec_t;

enum {
	S_LINE, S_CRLF2, S_PIPE, S_FIXED, S_LF1, S_LF2LE, S_LF3, S_LF4, S_LF8LE,
	N_SPECS
};

static const codec_spec_t specs[N_SPECS] = {
	[S_LINE] = { "line", K_LINE, NULL, 0, 0, 0 },
	[S_CRLF2] = { "delim \\r\\n\\r\\n", K_DELIM, "\r\n\r\n", 4, 0, 0 },
	[S_PIPE] = { "delim |", K_DELIM, "|", 1, 0, 0 },
	[S_FIXED] = { "fixed", K_FIXED, NULL, 0, 0, 0 },
	[S_LF1] = { "length field 1", K_LF, NULL, 0, 1, 0 },
	[S_LF2LE] = { "length field 2 le", K_LF, NULL, 0, 2, 1 },
	[S_LF3] = { "length field 3", K_LF, NULL, 0, 3, 0 },
	[S_LF4] = { "length field 4", K_LF, NULL, 0, 4, 0 },
	[S_LF8LE] = { "length field 8 le", K_LF, NULL, 0, 8, 1 },
};

/* A codec built from a spec, and what it can carry. */
typedef struct codec_inst {
	const codec_spec_t *sp;
	gnet_codec_t *codec;
	size_t fixed_len;       /* K_FIXED */
	size_t max_payload;     /* largest payload it encodes and decodes */
} codec_inst_t;

/* max_frame 0: the default. For the length field it bounds the whole frame
 * (header included), for line/delimiter the payload. `adj` is the length
 * field's length_adjustment (the encoder compensates). */
static void inst_init_adj(codec_inst_t *ci, int spec, size_t fixed_len,
    size_t max_frame, long adj)
{
	const codec_spec_t *sp = &specs[spec];
	int rc = GNET_EINVAL;

	memset(ci, 0, sizeof *ci);
	ci->sp = sp;
	ci->fixed_len = fixed_len;
	size_t maxf = max_frame != 0 ? max_frame : GNET_CODEC_MAX_FRAME;
	switch (sp->kind) {
	case K_LINE:
		rc = gnet_codec_new_line(&ci->codec, max_frame);
		ci->max_payload = maxf;
		break;
	case K_DELIM:
		rc = gnet_codec_new_delimiter(&ci->codec, sp->delim, sp->dlen, max_frame);
		ci->max_payload = maxf;
		break;
	case K_FIXED:
		rc = gnet_codec_new_fixed(&ci->codec, fixed_len);
		ci->max_payload = fixed_len;
		break;
	case K_LF: {
		gnet_length_field_config_t cfg = { .size = sizeof(gnet_length_field_config_t),
			.field_length = sp->width,
			.little_endian = sp->little,
			.length_adjustment = adj,
			.strip = (size_t)sp->width,
			.encode_adjustment = -adj,
			.max_frame = max_frame,
		};
		rc = gnet_codec_new_length_field(&ci->codec, &cfg);
		ci->max_payload = maxf - (size_t)sp->width;
		if (sp->width < 8) {
			uint64_t field_max = ((uint64_t)1 << (8 * sp->width)) - 1;
			if (adj < 0)
				field_max -= (uint64_t)-adj;
			if (ci->max_payload > field_max)
				ci->max_payload = (size_t)field_max;
		}
		break;
	}
	}
	ck_assert_msg(rc == 0 && ci->codec != NULL, "codec %s: %d (%s)", sp->name,
	    rc, gnet_strerror(rc));
}

static void inst_init(codec_inst_t *ci, int spec, size_t fixed_len,
    size_t max_frame)
{
	inst_init_adj(ci, spec, fixed_len, max_frame, 0);
}

static void inst_free(codec_inst_t *ci)
{
	gnet_codec_free(ci->codec);
	ci->codec = NULL;
}

/* The payload length to use for a wanted one: fixed frames have one size,
 * a narrow length field caps it. */
static size_t inst_len(const codec_inst_t *ci, size_t want)
{
	if (ci->sp->kind == K_FIXED)
		return ci->fixed_len;
	return want < ci->max_payload ? want : ci->max_payload;
}

/* Is byte b part of the spec's delimiter (or a line's "\r\n")? */
static int is_delim_byte(const codec_spec_t *sp, uint8_t b)
{
	if (sp->kind == K_LINE)
		return b == '\n' || b == '\r';
	if (sp->kind == K_DELIM)
		return memchr(sp->delim, b, sp->dlen) != NULL;
	return 0;
}

/* Random payload free of the delimiter's bytes, so no delimiter can occur
 * inside it or straddle its end. */
static void inst_payload(const codec_inst_t *ci, uint8_t *p, size_t n,
    uint64_t seed)
{
	tn_fill_random(p, n, seed);
	for (size_t i = 0; i < n; i++)
		while (is_delim_byte(ci->sp, p[i]))
			p[i] = (uint8_t)(p[i] + 1);
}

/* ------------------------------------------------------------------------
 * Growable byte buffers and frame encoding.
 */
typedef struct bytes {
	uint8_t *p;
	size_t len, cap;
} bytes_t;

static void bytes_reserve(bytes_t *b, size_t extra)
{
	if (b->len + extra <= b->cap)
		return;
	size_t ncap = b->cap ? b->cap : 256;
	while (ncap < b->len + extra)
		ncap *= 2;
	uint8_t *np = realloc(b->p, ncap);
	ck_assert_ptr_nonnull(np);
	b->p = np;
	b->cap = ncap;
}

static void bytes_add(bytes_t *b, const void *p, size_t n)
{
	bytes_reserve(b, n);
	if (n != 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void bytes_free(bytes_t *b)
{
	free(b->p);
	memset(b, 0, sizeof *b);
}

/* Append the encoding of one frame; fails the test if encoding fails, so
 * no test passes on an empty exchange. Returns the encoded length. */
static size_t bytes_add_frame(bytes_t *b, const gnet_codec_t *codec,
    const void *payload, size_t n)
{
	long need = gnet_codec_encode(codec, payload, n, NULL, 0);
	ck_assert_msg(need > 0 && (size_t)need >= n,
	    "gnet_codec_encode(%zu bytes) = %ld (%s)", n, need,
	    need < 0 ? gnet_strerror((int)need) : "nothing");
	bytes_reserve(b, (size_t)need);
	long got = gnet_codec_encode(codec, payload, n, b->p + b->len,
	    (size_t)need);
	ck_assert_int_eq(got, need);
	b->len += (size_t)need;
	return (size_t)need;
}

/* FNV-1a over a frame, seeded with its length: the server sums these for
 * every frame it is handed, the test sums them for every frame it sent. */
static uint64_t frame_hash(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = 1469598103934665603ull ^ (uint64_t)n;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 1099511628211ull;
	}
	return h;
}

/* Write a length field by hand (for headers no encoder would produce). */
static void put_field(uint8_t *p, int width, int little, uint64_t v)
{
	for (int i = width - 1; i >= 0; i--) {
		p[little ? width - 1 - i : i] = (uint8_t)(v & 0xff);
		v >>= 8;
	}
}

/* First differing byte, for messages. */
static size_t first_diff(const uint8_t *a, const uint8_t *b, size_t n)
{
	size_t i = 0;
	while (i < n && a[i] == b[i])
		i++;
	return i;
}

/* ------------------------------------------------------------------------
 * The echo server fixture.
 */
enum srv_mode {
	MODE_ECHO = 0,          /* echo each frame, consume it */
	MODE_PARTIAL,           /* frame i: consume none / PART_READ / all */
	MODE_HANDSHAKE,         /* "HELLO" -> "OK", switch codec, then echo */
	MODE_WRITE_LIMITS       /* on_open: writes the codec must refuse */
};

/* One record per opened connection, in open order; the connection's
 * context points at it. */
typedef struct conn_rec {
	atomic_int closes;
	atomic_int reason;
	atomic_long close_ms;
	atomic_int frames;            /* on_traffic calls */
	atomic_int switched;          /* MODE_HANDSHAKE: codec switched */
	atomic_uint_least64_t handle;
} conn_rec_t;

typedef struct srv {
	/* behaviour, set before the engine starts */
	enum srv_mode mode;
	const gnet_codec_t *open_codec[MAX_CONNS]; /* set in on_open if not NULL */
	const gnet_codec_t *next_codec;  /* MODE_HANDSHAKE: codec after HELLO */
	int handshake_raw;               /* MODE_HANDSHAKE: HELLO comes unframed */
	size_t frame_len;                /* > 0: every frame must be this long */
	/* MODE_WRITE_LIMITS */
	const uint8_t *wl_ok;
	size_t wl_ok_len;
	const uint8_t *wl_bad;
	size_t wl_bad_len;
	const uint8_t *wl_ok2;
	size_t wl_ok2_len;

	/* observations from loop threads */
	atomic_int next_idx;
	atomic_int opens, closes;
	atomic_int frames;
	atomic_uint_least64_t hash_sum;
	tn_loop_errors_t errs;      /* unexpected results on loop threads */
	atomic_long wl_rc[4];            /* write, write bad, writev bad, write */
	atomic_size_t wl_out[3];         /* outbound after each of the first 3 */
	atomic_int cb_calls, cb_ok, cb_efs, cb_other;
	conn_rec_t conns[MAX_CONNS];
} srv_t;

#define LOOP_CHECK(ctx, cond) TN_LOOP_CHECK(&(ctx)->errs, cond)
#define assert_no_loop_errors(ctx) TN_ASSERT_NO_LOOP_ERRORS(&(ctx)->errs)

static void srv_init(srv_t *ctx, enum srv_mode mode)
{
	/* Zero is a valid state for these lock-free atomics on Linux. */
	memset(ctx, 0, sizeof *ctx);
	ctx->mode = mode;
}

static void write_limits(srv_t *ctx, gnet_conn_t *c)
{
	atomic_store(&ctx->wl_rc[0], gnet_conn_write(c, ctx->wl_ok, ctx->wl_ok_len));
	atomic_store(&ctx->wl_out[0], gnet_conn_outbound_len(c));
	atomic_store(&ctx->wl_rc[1], gnet_conn_write(c, ctx->wl_bad,
	    ctx->wl_bad_len));
	atomic_store(&ctx->wl_out[1], gnet_conn_outbound_len(c));
	size_t half = ctx->wl_bad_len / 2;
	struct iovec iov[2] = {
		{ (void *)(uintptr_t)ctx->wl_bad, half },
		{ (void *)(uintptr_t)(ctx->wl_bad + half), ctx->wl_bad_len - half },
	};
	atomic_store(&ctx->wl_rc[2], gnet_conn_writev(c, iov, 2));
	atomic_store(&ctx->wl_out[2], gnet_conn_outbound_len(c));
	atomic_store(&ctx->wl_rc[3], gnet_conn_write(c, ctx->wl_ok2,
	    ctx->wl_ok2_len));
}

static gnet_action_t on_open(gnet_conn_t *c, void *udata)
{
	srv_t *ctx = udata;
	int idx = atomic_fetch_add(&ctx->next_idx, 1);
	LOOP_CHECK(ctx, idx < MAX_CONNS);
	if (idx >= MAX_CONNS)
		return GNET_CLOSE;
	conn_rec_t *rec = &ctx->conns[idx];
	gnet_conn_set_context(c, rec);
	atomic_store(&rec->handle, gnet_conn_handle(c));
	if (ctx->open_codec[idx] != NULL)
		LOOP_CHECK(ctx, gnet_conn_set_codec(c, ctx->open_codec[idx]) == 0);
	if (ctx->mode == MODE_WRITE_LIMITS)
		write_limits(ctx, c);
	/* Last: the test thread waits on this counter. */
	atomic_fetch_add(&ctx->opens, 1);
	return GNET_NONE;
}

/* Count one frame and add its hash. */
static void note_frame(srv_t *ctx, conn_rec_t *rec, const void *p, size_t n)
{
	if (ctx->frame_len != 0)
		LOOP_CHECK(ctx, n == ctx->frame_len);
	atomic_fetch_add(&ctx->hash_sum, frame_hash(p, n));
	atomic_fetch_add(&rec->frames, 1);
	atomic_fetch_add(&ctx->frames, 1);
}

static void echo_frame(srv_t *ctx, gnet_conn_t *c, conn_rec_t *rec)
{
	const void *data = NULL;
	size_t n = gnet_conn_peek(c, &data);
	LOOP_CHECK(ctx, n == gnet_conn_inbound_len(c));
	LOOP_CHECK(ctx, data != NULL || n == 0);
	if (data == NULL)
		data = "";
	note_frame(ctx, rec, data, n);
	LOOP_CHECK(ctx, gnet_conn_write(c, data, n) == (long)n);
	LOOP_CHECK(ctx, gnet_conn_discard(c, n) == (long)n);
	LOOP_CHECK(ctx, gnet_conn_inbound_len(c) == 0);
}

/* Echo the whole frame but consume none, some or all of it; what is left
 * must be dropped by the library when on_traffic returns. */
static void partial_frame(srv_t *ctx, gnet_conn_t *c, conn_rec_t *rec)
{
	int how = atomic_load(&rec->frames) % 3;
	const void *view = NULL;
	size_t n = gnet_conn_peek(c, &view);
	const uint8_t *data = view != NULL ? view : (const uint8_t *)"";
	uint8_t head[PART_MAX_LEN];
	LOOP_CHECK(ctx, n <= sizeof head);
	if (n > sizeof head)
		return;
	note_frame(ctx, rec, data, n);
	if (how == 0) {
		/* Consume nothing. */
		LOOP_CHECK(ctx, gnet_conn_write(c, data, n) == (long)n);
	} else {
		size_t k = how == 1 ? (n < PART_READ ? n : PART_READ) : n;
		LOOP_CHECK(ctx, gnet_conn_read(c, head, k) == (long)k);
		LOOP_CHECK(ctx, memcmp(head, data, k) == 0);
		const void *rest = NULL;
		size_t m = gnet_conn_peek(c, &rest);
		LOOP_CHECK(ctx, m == n - k);
		LOOP_CHECK(ctx, gnet_conn_inbound_len(c) == n - k);
		LOOP_CHECK(ctx, m == 0 || rest == data + k);
		/* writev gathers both pieces into one frame. */
		struct iovec iov[2] = {
			{ head, k },
			{ (void *)(uintptr_t)(rest != NULL ? rest : ""), m },
		};
		LOOP_CHECK(ctx, gnet_conn_writev(c, iov, 2) == (long)n);
	}
}

static void handshake(srv_t *ctx, gnet_conn_t *c, conn_rec_t *rec)
{
	const void *view = NULL;
	size_t n = gnet_conn_peek(c, &view);
	const uint8_t *data = view;
	size_t used = n;

	if (ctx->handshake_raw) {
		/* No codec yet: find the line ourselves. */
		const uint8_t *nl = n != 0 ? memchr(data, '\n', n) : NULL;
		if (nl == NULL)
			return; /* wait for the rest of the line */
		used = (size_t)(nl - data) + 1;
		n = used - 1;
	}
	LOOP_CHECK(ctx, n == 5 && memcmp(data, "HELLO", 5) == 0);
	LOOP_CHECK(ctx, gnet_conn_discard(c, used) == (long)used);
	if (ctx->handshake_raw)
		LOOP_CHECK(ctx, gnet_conn_write(c, "OK\n", 3) == 3);
	else
		LOOP_CHECK(ctx, gnet_conn_write(c, "OK", 2) == 2);
	LOOP_CHECK(ctx, gnet_conn_set_codec(c, ctx->next_codec) == 0);
	atomic_store(&rec->switched, 1);
}

static gnet_action_t on_traffic(gnet_conn_t *c, void *udata)
{
	srv_t *ctx = udata;
	conn_rec_t *rec = gnet_conn_context(c);
	LOOP_CHECK(ctx, rec != NULL);
	if (rec == NULL)
		return GNET_CLOSE;
	switch (ctx->mode) {
	case MODE_PARTIAL:
		partial_frame(ctx, c, rec);
		break;
	case MODE_HANDSHAKE:
		if (!atomic_load(&rec->switched)) {
			handshake(ctx, c, rec);
		} else if (ctx->next_codec == NULL) {
			/* Switched to raw bytes: echo them as they come. */
			const void *data = NULL;
			size_t n = gnet_conn_peek(c, &data);
			LOOP_CHECK(ctx, gnet_conn_write(c, data, n) == (long)n);
			LOOP_CHECK(ctx, gnet_conn_discard(c, n) == (long)n);
		} else {
			echo_frame(ctx, c, rec);
		}
		break;
	default:
		echo_frame(ctx, c, rec);
		break;
	}
	return GNET_NONE;
}

static void on_close(gnet_conn_t *c, int reason, void *udata)
{
	srv_t *ctx = udata;
	conn_rec_t *rec = gnet_conn_context(c);
	LOOP_CHECK(ctx, rec != NULL);
	if (rec == NULL)
		return;
	atomic_store(&rec->close_ms, (long)tn_now_ms());
	atomic_store(&rec->reason, reason);
	atomic_fetch_add(&rec->closes, 1);
	/* Last: the test thread waits on this counter. */
	atomic_fetch_add(&ctx->closes, 1);
}

static const gnet_events_t srv_events = { .size = sizeof(gnet_events_t),
	.on_open = on_open,
	.on_traffic = on_traffic,
	.on_close = on_close,
};

/* Completion of gnet_conn_write_async: runs on the connection's loop. */
static void write_cb(gnet_conn_t *c, int status, void *cbdata)
{
	srv_t *ctx = cbdata;
	if (status == 0 && c != NULL)
		atomic_fetch_add(&ctx->cb_ok, 1);
	else if (status == GNET_EFRAMESIZE)
		atomic_fetch_add(&ctx->cb_efs, 1);
	else
		atomic_fetch_add(&ctx->cb_other, 1);
	atomic_fetch_add(&ctx->cb_calls, 1);
}

/* ------------------------------------------------------------------------
 * Test-side helpers.
 */

/* Start an engine with `codec` for every connection (NULL: none). */
static void start_srv(tn_server_t *s, srv_t *ctx, const gnet_codec_t *codec,
    int loops, size_t read_cap)
{
	gnet_options_t opts = { .size = sizeof(gnet_options_t),
		.num_loops = loops,
		.read_buffer_cap = read_cap,
		.codec = codec,
	};
	tn_server_start(s, &srv_events, &opts, ctx);
}

/* Connect client number `idx` (open order) and wait until the server has
 * opened it, so records match connect order even on several loops. */
static int connect_nth(tn_server_t *s, srv_t *ctx, int idx)
{
	int fd = tn_connect(s->port);
	ck_assert_msg(fd >= 0, "connect %d: %s", idx, strerror(errno));
	TN_WAIT_UNTIL(atomic_load(&ctx->opens) > idx, WAIT_MS);
	ck_assert_msg(atomic_load(&ctx->opens) > idx,
	    "connection %d not opened within %d ms", idx, WAIT_MS);
	return fd;
}

static void wait_closed(srv_t *ctx, int idx, int timeout_ms)
{
	TN_WAIT_UNTIL(atomic_load(&ctx->conns[idx].closes) == 1, timeout_ms);
	ck_assert_msg(atomic_load(&ctx->conns[idx].closes) == 1,
	    "connection %d: %d on_close calls within %d ms, want 1", idx,
	    atomic_load(&ctx->conns[idx].closes), timeout_ms);
}

static void assert_reason(srv_t *ctx, int idx, int want, const char *what)
{
	int got = atomic_load(&ctx->conns[idx].reason);
	ck_assert_msg(got == want, "%s: close reason %d (%s), want %d (%s)", what,
	    got, gnet_strerror(got), want, gnet_strerror(want));
}

/* Send `tx` (one write as far as the socket takes it) and read exactly
 * `want` back within timeout_ms. */
static void exchange_within(int fd, const bytes_t *tx, const bytes_t *want,
    const char *what, int timeout_ms)
{
	ck_assert_msg(tn_send_all(fd, tx->p, tx->len, IO_MS) == tx->len,
	    "%s: send failed", what);
	uint8_t *got = malloc(want->len ? want->len : 1);
	ck_assert_ptr_nonnull(got);
	size_t n = tn_read_exact(fd, got, want->len, timeout_ms);
	ck_assert_msg(n == want->len, "%s: received %zu of %zu bytes", what, n,
	    want->len);
	ck_assert_msg(n == 0 || memcmp(got, want->p, n) == 0,
	    "%s: reply differs at byte %zu of %zu", what,
	    first_diff(got, want->p, n), n);
	free(got);
}

static void exchange(int fd, const bytes_t *tx, const bytes_t *want,
    const char *what)
{
	exchange_within(fd, tx, want, what, IO_MS);
}

/* The well-behaved neighbour: a few frames, echoed exactly. */
static void good_exchange(int fd, const codec_inst_t *ci, uint64_t seed,
    const char *when)
{
	bytes_t tx = { 0 };
	uint8_t payload[256];
	for (int i = 0; i < 3; i++) {
		size_t n = inst_len(ci, 40 + 17 * (size_t)i);
		ck_assert_uint_le(n, sizeof payload);
		inst_payload(ci, payload, n, seed + (uint64_t)i);
		bytes_add_frame(&tx, ci->codec, payload, n);
	}
	char what[96];
	snprintf(what, sizeof what, "good client %s (%s)", when, ci->sp->name);
	exchange(fd, &tx, &tx, what);
	bytes_free(&tx);
}

/* Close the neighbour and check it ended as a clean EOF. */
static void close_good(srv_t *ctx, int *fd, int idx)
{
	tn_close(fd);
	wait_closed(ctx, idx, WAIT_MS);
	assert_reason(ctx, idx, GNET_EEOF, "good client");
}

/* Read exactly `want` (the replies to the frames before the bad bytes),
 * then the server's FIN with nothing more. */
static void expect_replies_then_eof(int fd, const bytes_t *want,
    const char *what)
{
	uint8_t *got = malloc(want->len ? want->len : 1);
	ck_assert_ptr_nonnull(got);
	size_t n = tn_read_exact(fd, got, want->len, IO_MS);
	ck_assert_msg(n == want->len, "%s: received %zu of %zu reply bytes "
	    "before the close", what, n, want->len);
	ck_assert_msg(n == 0 || memcmp(got, want->p, n) == 0,
	    "%s: reply differs at byte %zu of %zu", what,
	    first_diff(got, want->p, n), n);
	free(got);
	size_t extra = 0;
	int eof = tn_wait_eof(fd, IO_MS, &extra);
	ck_assert_msg(eof == 1 && extra == 0,
	    "%s: tn_wait_eof = %d with %zu extra bytes, want a clean EOF", what,
	    eof, extra);
}

static uint64_t loop_iterations(gnet_engine_t *eng)
{
	uint64_t sum = 0;
	for (int i = 0; i < gnet_engine_num_loops(eng); i++) {
		gnet_loop_stats_t st = { .size = sizeof(gnet_loop_stats_t) };
		ck_assert_int_eq(gnet_engine_loop_stats(eng, i, &st), 0);
		sum += st.iterations;
	}
	return sum;
}

/* ------------------------------------------------------------------------
 * Round trips: 10 clients x RT_FRAMES frames of 1 KiB, all at once, for
 * every codec, on 1 and on 4 loops. The one-byte length field carries at
 * most 255 bytes, so its frames are 255 bytes.
 */
START_TEST(test_round_trip)
{
	int spec = _i % N_SPECS;
	int loops = _i < N_SPECS ? 1 : 4;
	codec_inst_t ci;
	inst_init(&ci, spec, RT_FIXED_LEN, 0);
	size_t flen = inst_len(&ci, RT_FRAME_LEN);
	unsigned frames = tn_scaled(RT_FRAMES);
	if (frames < 2)
		frames = 2;

	srv_t ctx;
	srv_init(&ctx, MODE_ECHO);
	ctx.frame_len = flen;
	tn_server_t s;
	start_srv(&s, &ctx, ci.codec, loops, 0);
	ck_assert_int_eq(gnet_engine_num_loops(s.eng), loops);

	bytes_t tx[RT_CLIENTS];
	tn_client_t cl[RT_CLIENTS];
	uint8_t *payload = malloc(flen);
	ck_assert_ptr_nonnull(payload);
	uint64_t want_hash = 0;
	for (int i = 0; i < RT_CLIENTS; i++) {
		memset(&tx[i], 0, sizeof tx[i]);
		for (unsigned f = 0; f < frames; f++) {
			inst_payload(&ci, payload, flen, 1000 * (uint64_t)(i + 1) + f);
			bytes_add_frame(&tx[i], ci.codec, payload, flen);
			want_hash += frame_hash(payload, flen);
		}
		int fd = tn_connect(s.port);
		ck_assert_msg(fd >= 0, "connect: %s", strerror(errno));
		/* The echo is the re-encoded frame: the same bytes. */
		tn_client_init(&cl[i], fd, tx[i].p, tx[i].len, NULL, 0);
	}
	free(payload);

	int failed = tn_pump(cl, RT_CLIENTS, PUMP_MS);
	ck_assert_msg(failed == 0, "%s, %d loop(s): %d client(s) failed; %s",
	    ci.sp->name, loops, failed, tn_pump_error(cl, RT_CLIENTS));
	ck_assert_int_eq(atomic_load(&ctx.frames), RT_CLIENTS * (int)frames);
	ck_assert_msg(atomic_load(&ctx.hash_sum) == want_hash,
	    "frames handed to on_traffic differ from the frames sent");

	for (int i = 0; i < RT_CLIENTS; i++) {
		tn_close(&cl[i].fd);
		bytes_free(&tx[i]);
	}
	TN_WAIT_UNTIL(atomic_load(&ctx.closes) == RT_CLIENTS, WAIT_MS);
	ck_assert_int_eq(atomic_load(&ctx.closes), RT_CLIENTS);
	for (int i = 0; i < RT_CLIENTS; i++) {
		ck_assert_int_eq(atomic_load(&ctx.conns[i].frames), (int)frames);
		assert_reason(&ctx, i, GNET_EEOF, "round-trip client");
	}
	tn_server_close(&s);
	assert_no_loop_errors(&ctx);
	inst_free(&ci);
}
END_TEST

/* ------------------------------------------------------------------------
 * Frames split across reads: read_buffer_cap 1, 3 and 7, so the server
 * reads every frame (empty ones too) a few bytes at a time.
 */
static const size_t split_caps[] = { 1, 3, 7 };
#define N_SPLIT_CAPS (sizeof split_caps / sizeof split_caps[0])
static const size_t split_sizes[] = { 0, 1, 2, 3, 5, 8, 13, 100, 255, 300 };
#define N_SPLIT_SIZES (sizeof split_sizes / sizeof split_sizes[0])

START_TEST(test_split_read_cap)
{
	int spec = _i % N_SPECS;
	size_t cap = split_caps[_i / N_SPECS];
	codec_inst_t ci;
	inst_init(&ci, spec, SPLIT_FIXED_LEN, 0);

	srv_t ctx;
	srv_init(&ctx, MODE_ECHO);
	tn_server_t s;
	start_srv(&s, &ctx, ci.codec, 1, cap);

	bytes_t tx = { 0 };
	uint8_t payload[512];
	uint64_t want_hash = 0;
	int nframes = 0;
	size_t count = ci.sp->kind == K_FIXED ? FIXED_SPLIT_FRAMES : N_SPLIT_SIZES;
	for (size_t i = 0; i < count; i++) {
		size_t n = inst_len(&ci, split_sizes[i]);
		inst_payload(&ci, payload, n, 77 + i);
		bytes_add_frame(&tx, ci.codec, payload, n);
		want_hash += frame_hash(payload, n);
		nframes++;
	}

	int fd = connect_nth(&s, &ctx, 0);
	uint64_t it0 = loop_iterations(s.eng);
	char what[96];
	snprintf(what, sizeof what, "%s, read_buffer_cap %zu", ci.sp->name, cap);
	exchange(fd, &tx, &tx, what);
	ck_assert_int_eq(atomic_load(&ctx.frames), nframes);
	ck_assert_msg(atomic_load(&ctx.hash_sum) == want_hash,
	    "%s: frames handed to on_traffic differ from the frames sent", what);
	/* One read of at most `cap` + 1 bytes per wakeup (the one byte more
	 * tells a drained socket, gnet.h): the cap was in force. */
	uint64_t it = loop_iterations(s.eng) - it0;
	ck_assert_msg(it >= tx.len / (cap + 1), "%s: %llu loop iterations for %zu bytes",
	    what, (unsigned long long)it, tx.len);

	close_good(&ctx, &fd, 0);
	tn_server_close(&s);
	assert_no_loop_errors(&ctx);
	bytes_free(&tx);
	inst_free(&ci);
}
END_TEST

/* One frame sent in two writes split at every byte boundary k, on one
 * connection, without sleeps: whether TCP merges the two writes or not,
 * the echo must be exact. */
START_TEST(test_split_two_writes)
{
	codec_inst_t ci;
	inst_init(&ci, _i, SPLIT_FIXED_LEN, 0);
	size_t plen = inst_len(&ci, SPLIT_LEN);

	srv_t ctx;
	srv_init(&ctx, MODE_ECHO);
	ctx.frame_len = plen;
	tn_server_t s;
	start_srv(&s, &ctx, ci.codec, 1, 0);
	int fd = connect_nth(&s, &ctx, 0);

	uint8_t payload[SPLIT_LEN];
	uint64_t want_hash = 0;
	int nframes = 0;
	size_t flen = 0;
	for (size_t k = 1;; k++) {
		bytes_t tx = { 0 };
		inst_payload(&ci, payload, plen, 500 + k);
		flen = bytes_add_frame(&tx, ci.codec, payload, plen);
		if (k >= flen) {
			bytes_free(&tx);
			break;
		}
		want_hash += frame_hash(payload, plen);
		nframes++;
		ck_assert_uint_eq(tn_send_all(fd, tx.p, k, IO_MS), k);
		ck_assert_uint_eq(tn_send_all(fd, tx.p + k, flen - k, IO_MS), flen - k);
		uint8_t got[SPLIT_LEN + 16];
		size_t n = tn_read_exact(fd, got, flen, IO_MS);
		ck_assert_msg(n == flen && memcmp(got, tx.p, flen) == 0,
		    "%s, split at %zu of %zu: received %zu bytes, differ at %zu",
		    ci.sp->name, k, flen, n, first_diff(got, tx.p, n));
		bytes_free(&tx);
	}
	ck_assert_int_eq(nframes, (int)flen - 1);
	ck_assert_int_eq(atomic_load(&ctx.frames), nframes);
	ck_assert_msg(atomic_load(&ctx.hash_sum) == want_hash,
	    "frames handed to on_traffic differ from the frames sent");

	close_good(&ctx, &fd, 0);
	tn_server_close(&s);
	assert_no_loop_errors(&ctx);
	inst_free(&ci);
}
END_TEST

/* ------------------------------------------------------------------------
 * 200 frames in a single write: 200 on_traffic calls, 200 echoes in order.
 */
START_TEST(test_pipelined_200)
{
	codec_inst_t ci;
	inst_init(&ci, _i, PIPE_FIXED_LEN, 0);

	srv_t ctx;
	srv_init(&ctx, MODE_ECHO);
	tn_server_t s;
	start_srv(&s, &ctx, ci.codec, 1, 0);

	bytes_t tx = { 0 };
	uint8_t payload[256];
	uint64_t want_hash = 0;
	for (int i = 0; i < PIPE_FRAMES; i++) {
		size_t n = inst_len(&ci, (size_t)(i * 7) % 200);
		inst_payload(&ci, payload, n, 9000 + (uint64_t)i);
		bytes_add_frame(&tx, ci.codec, payload, n);
		want_hash += frame_hash(payload, n);
	}
	ck_assert_uint_le(tx.len, 64 * 1024); /* one send, one read */

	int fd = connect_nth(&s, &ctx, 0);
	ssize_t w = send(fd, tx.p, tx.len, MSG_NOSIGNAL);
	ck_assert_msg(w == (ssize_t)tx.len, "single write: %zd of %zu bytes", w,
	    tx.len);
	bytes_t none = { 0 };
	bytes_t *want = &tx;
	char what[64];
	snprintf(what, sizeof what, "%s, 200 pipelined", ci.sp->name);
	exchange(fd, &none, want, what);
	ck_assert_int_eq(atomic_load(&ctx.frames), PIPE_FRAMES);
	ck_assert_int_eq(atomic_load(&ctx.conns[0].frames), PIPE_FRAMES);
	ck_assert_msg(atomic_load(&ctx.hash_sum) == want_hash,
	    "frames handed to on_traffic differ from the frames sent");

	close_good(&ctx, &fd, 0);
	tn_server_close(&s);
	assert_no_loop_errors(&ctx);
	bytes_free(&tx);
	inst_free(&ci);
}
END_TEST

/* ------------------------------------------------------------------------
 * Frame sizes 64 B .. 1 MiB, length field (4 bytes) and line (max 2 MiB).
 */
static const size_t big_sizes[] = { 64, 4096, 65536, MIB };
#define N_BIG_SIZES (sizeof big_sizes / sizeof big_sizes[0])

START_TEST(test_frame_sizes)
{
	codec_inst_t ci;
	if (_i == 0)
		inst_init(&ci, S_LF4, 0, 0);
	else
		inst_init(&ci, S_LINE, 0, BIG_LINE_MAX);

	srv_t ctx;
	srv_init(&ctx, MODE_ECHO);
	tn_server_t s;
	start_srv(&s, &ctx, ci.codec, 1, 0);

	bytes_t tx = { 0 };
	uint8_t *payload = malloc(MIB);
	ck_assert_ptr_nonnull(payload);
	uint64_t want_hash = 0;
	for (size_t i = 0; i < N_BIG_SIZES; i++) {
		ck_assert_uint_eq(inst_len(&ci, big_sizes[i]), big_sizes[i]);
		inst_payload(&ci, payload, big_sizes[i], 31 + i);
		bytes_add_frame(&tx, ci.codec, payload, big_sizes[i]);
		want_hash += frame_hash(payload, big_sizes[i]);
	}
	free(payload);

	int fd = connect_nth(&s, &ctx, 0);
	tn_client_t cl;
	tn_client_init(&cl, fd, tx.p, tx.len, NULL, 0);
	ck_assert_msg(tn_pump(&cl, 1, PUMP_MS) == 0, "%s: %s", ci.sp->name,
	    tn_pump_error(&cl, 1));
	ck_assert_int_eq(atomic_load(&ctx.frames), (int)N_BIG_SIZES);
	ck_assert_msg(atomic_load(&ctx.hash_sum) == want_hash,
	    "frames handed to on_traffic differ from the frames sent");

	close_good(&ctx, &cl.fd, 0);
	tn_server_close(&s);
	assert_no_loop_errors(&ctx);
	bytes_free(&tx);
	inst_free(&ci);
}
END_TEST

/* ------------------------------------------------------------------------
 * A handler that leaves part of a frame: the rest of that frame is
 * dropped, the next frame is delivered intact. Frames arrive together in
 * one read (default cap) or spread over 7-byte reads.
 */
START_TEST(test_partial_consume)
{
	int spec = _i % N_SPECS;
	size_t cap = _i < N_SPECS ? 0 : 7;
	codec_inst_t ci;
	inst_init(&ci, spec, SPLIT_FIXED_LEN, 0);

	srv_t ctx;
	srv_init(&ctx, MODE_PARTIAL);
	tn_server_t s;
	start_srv(&s, &ctx, ci.codec, 1, cap);

	bytes_t tx = { 0 };
	uint8_t payload[PART_MAX_LEN];
	uint64_t want_hash = 0;
	for (int i = 0; i < PART_FRAMES; i++) {
		size_t n = inst_len(&ci, 1 + (size_t)(i * 37) % 250);
		inst_payload(&ci, payload, n, 4200 + (uint64_t)i);
		bytes_add_frame(&tx, ci.codec, payload, n);
		want_hash += frame_hash(payload, n);
	}
	int fd = connect_nth(&s, &ctx, 0);
	char what[96];
	snprintf(what, sizeof what, "%s, read_buffer_cap %zu", ci.sp->name, cap);
	exchange(fd, &tx, &tx, what);
	ck_assert_int_eq(atomic_load(&ctx.frames), PART_FRAMES);
	ck_assert_msg(atomic_load(&ctx.hash_sum) == want_hash,
	    "%s: frames handed to on_traffic differ from the frames sent", what);

	close_good(&ctx, &fd, 0);
	tn_server_close(&s);
	assert_no_loop_errors(&ctx);
	bytes_free(&tx);
	inst_free(&ci);
}
END_TEST

/* ------------------------------------------------------------------------
 * gnet_conn_set_codec in on_open with no engine codec: connection i gets
 * codec i (every kind in the table), all served at once on 2 loops.
 */
START_TEST(test_set_codec_on_open)
{
	codec_inst_t ci[N_SPECS];
	srv_t ctx;
	srv_init(&ctx, MODE_ECHO);
	for (int i = 0; i < N_SPECS; i++) {
		inst_init(&ci[i], i, RT_FIXED_LEN, 0);
		ctx.open_codec[i] = ci[i].codec;
	}
	tn_server_t s;
	start_srv(&s, &ctx, NULL, 2, 0);

	bytes_t tx[N_SPECS];
	tn_client_t cl[N_SPECS];
	uint8_t payload[RT_FRAME_LEN];
	uint64_t want_hash = 0;
	for (int i = 0; i < N_SPECS; i++) {
		memset(&tx[i], 0, sizeof tx[i]);
		for (int f = 0; f < 4; f++) {
			size_t n = inst_len(&ci[i], RT_FRAME_LEN - 100 * (size_t)f);
			inst_payload(&ci[i], payload, n, 60 + (uint64_t)(i * 10 + f));
			bytes_add_frame(&tx[i], ci[i].codec, payload, n);
			want_hash += frame_hash(payload, n);
		}
		/* Connected one by one so open order is table order. */
		int fd = connect_nth(&s, &ctx, i);
		tn_client_init(&cl[i], fd, tx[i].p, tx[i].len, NULL, 0);
	}
	int failed = tn_pump(cl, N_SPECS, PUMP_MS);
	ck_assert_msg(failed == 0, "%d client(s) failed; %s", failed,
	    tn_pump_error(cl, N_SPECS));
	for (int i = 0; i < N_SPECS; i++)
		ck_assert_msg(atomic_load(&ctx.conns[i].frames) == 4,
		    "%s: %d frames, want 4", ci[i].sp->name,
		    atomic_load(&ctx.conns[i].frames));
	ck_assert_msg(atomic_load(&ctx.hash_sum) == want_hash,
	    "frames handed to on_traffic differ from the frames sent");

	for (int i = 0; i < N_SPECS; i++) {
		close_good(&ctx, &cl[i].fd, i);
		bytes_free(&tx[i]);
	}
	tn_server_close(&s);
	assert_no_loop_errors(&ctx);
	for (int i = 0; i < N_SPECS; i++)
		inst_free(&ci[i]);
}
END_TEST

/* ------------------------------------------------------------------------
 * Switching codec inside on_traffic: a "HELLO" handshake, then frames of
 * another codec, all sent in one write (so they arrive in the same read
 * as the handshake). The client then either waits for the replies, or
 * shuts down its side at once: the frames it sent were complete, so they
 * are answered and the close says GNET_EEOF.
 */
typedef struct switch_case {
	const char *name;
	int from;               /* spec, or -1: raw bytes (no codec) */
	int to;                 /* spec, or -1: raw bytes */
} switch_case_t;

static const switch_case_t switch_cases[] = {
	{ "line -> length field 4", S_LINE, S_LF4 },
	{ "length field 2 le -> line", S_LF2LE, S_LINE },
	{ "line -> raw", S_LINE, -1 },
	{ "raw -> length field 4", -1, S_LF4 },
};
#define N_SWITCH (sizeof switch_cases / sizeof switch_cases[0])

START_TEST(test_switch_codec_in_traffic)
{
	const switch_case_t *sc = &switch_cases[_i % N_SWITCH];
	int shut = _i >= (int)N_SWITCH;
	codec_inst_t from, to;
	memset(&from, 0, sizeof from);
	memset(&to, 0, sizeof to);
	if (sc->from >= 0)
		inst_init(&from, sc->from, 0, 0);
	if (sc->to >= 0)
		inst_init(&to, sc->to, 0, 0);

	srv_t ctx;
	srv_init(&ctx, MODE_HANDSHAKE);
	ctx.next_codec = to.codec;
	ctx.handshake_raw = sc->from < 0;
	tn_server_t s;
	start_srv(&s, &ctx, from.codec, 1, 0);

	bytes_t tx = { 0 }, want = { 0 };
	if (sc->from >= 0) {
		bytes_add_frame(&tx, from.codec, "HELLO", 5);
		bytes_add_frame(&want, from.codec, "OK", 2);
	} else {
		bytes_add(&tx, "HELLO\n", 6);
		bytes_add(&want, "OK\n", 3);
	}
	uint8_t payload[200];
	uint64_t want_hash = 0;
	for (int i = 0; i < 3; i++) {
		size_t n = 50 + 30 * (size_t)i;
		if (sc->to >= 0) {
			inst_payload(&to, payload, n, 300 + (uint64_t)i);
			bytes_add_frame(&tx, to.codec, payload, n);
			bytes_add_frame(&want, to.codec, payload, n);
			want_hash += frame_hash(payload, n);
		} else {
			tn_fill_random(payload, n, 300 + (uint64_t)i);
			bytes_add(&tx, payload, n);
			bytes_add(&want, payload, n);
		}
	}

	int fd = connect_nth(&s, &ctx, 0);
	ssize_t w = send(fd, tx.p, tx.len, MSG_NOSIGNAL);
	ck_assert_msg(w == (ssize_t)tx.len, "single write: %zd of %zu bytes", w,
	    tx.len);
	char what[96];
	snprintf(what, sizeof what, "%s%s", sc->name, shut ? ", then SHUT_WR" : "");
	if (shut) {
		ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
		expect_replies_then_eof(fd, &want, what);
		wait_closed(&ctx, 0, WAIT_MS);
		assert_reason(&ctx, 0, GNET_EEOF, what);
	} else {
		/* Nothing more is sent: the reply must not wait for more. */
		bytes_t none = { 0 };
		exchange_within(fd, &none, &want, what, WAIT_MS);
	}
	ck_assert_int_eq(atomic_load(&ctx.conns[0].switched), 1);
	if (sc->to >= 0) {
		ck_assert_int_eq(atomic_load(&ctx.frames), 3);
		ck_assert_msg(atomic_load(&ctx.hash_sum) == want_hash,
		    "%s: frames handed to on_traffic differ from those sent",
		    what);
	}

	if (shut)
		tn_close(&fd);
	else
		close_good(&ctx, &fd, 0);
	tn_server_close(&s);
	assert_no_loop_errors(&ctx);
	bytes_free(&tx);
	bytes_free(&want);
	if (from.codec != NULL)
		inst_free(&from);
	if (to.codec != NULL)
		inst_free(&to);
}
END_TEST

/* ------------------------------------------------------------------------
 * Bad frames. Each case runs a misbehaving client next to a well-behaved
 * one on the same engine (same loop), which must keep its echo before and
 * after. Good frames sent in the same write before the bad bytes must be
 * answered before the close.
 */
enum bad_kind {
	BAD_HEADER,             /* a length field declaring `declared` */
	BAD_LONG_LINE,          /* max_frame + 1 bytes, then the delimiter */
	BAD_NO_DELIM            /* 4 x max_frame bytes without a delimiter */
};

typedef struct bad_case {
	const char *name;
	int spec;
	size_t max_frame;       /* 0: default */
	long adj;               /* length field: length_adjustment */
	int good_before;        /* good frames in the same write first */
	enum bad_kind kind;
	uint64_t declared;      /* BAD_HEADER */
	int reason;             /* expected close reason */
} bad_case_t;

static const bad_case_t bad_cases[] = {
	{ "lf4 over max_frame, header only", S_LF4, BAD_LF_MAX, 0, 0,
	  BAD_HEADER, BAD_LF_MAX + 1, GNET_EFRAMESIZE },
	{ "lf4 over max_frame after good frames", S_LF4, BAD_LF_MAX, 0,
	  GOOD_FRAMES, BAD_HEADER, BAD_LF_MAX, GNET_EFRAMESIZE },
	{ "lf4 1 GiB, default max", S_LF4, 0, 0, GOOD_FRAMES, BAD_HEADER,
	  (uint64_t)1 << 30, GNET_EFRAMESIZE },
	{ "lf8 le 1 GiB, default max, header only", S_LF8LE, 0, 0, 0,
	  BAD_HEADER, (uint64_t)1 << 30, GNET_EFRAMESIZE },
	{ "lf4 negative adjusted length", S_LF4, 0, -NEG_ADJ, GOOD_FRAMES,
	  BAD_HEADER, NEG_ADJ - 1, GNET_EBADFRAME },
	{ "lf4 negative adjusted length, header only", S_LF4, 0, -NEG_ADJ, 0,
	  BAD_HEADER, 0, GNET_EBADFRAME },
	{ "lf8 le length over INT64_MAX", S_LF8LE, 0, 0, GOOD_FRAMES,
	  BAD_HEADER, UINT64_MAX, GNET_EBADFRAME },
	{ "line over max_frame, delimited", S_LINE, BAD_LINE_MAX, 0,
	  GOOD_FRAMES, BAD_LONG_LINE, 0, GNET_EFRAMESIZE },
	{ "line over max_frame, no delimiter", S_LINE, BAD_LINE_MAX, 0,
	  GOOD_FRAMES, BAD_NO_DELIM, 0, GNET_EFRAMESIZE },
	{ "delim \\r\\n\\r\\n over max_frame, no delimiter", S_CRLF2,
	  BAD_LINE_MAX, 0, GOOD_FRAMES, BAD_NO_DELIM, 0, GNET_EFRAMESIZE },
	{ "delim | over max_frame, delimited", S_PIPE, BAD_LINE_MAX, 0,
	  GOOD_FRAMES, BAD_LONG_LINE, 0, GNET_EFRAMESIZE },
};
#define N_BAD (sizeof bad_cases / sizeof bad_cases[0])

START_TEST(test_bad_frame)
{
	const bad_case_t *bc = &bad_cases[_i];
	const codec_spec_t *sp = &specs[bc->spec];
	codec_inst_t ci;
	inst_init_adj(&ci, bc->spec, 0, bc->max_frame, bc->adj);

	srv_t ctx;
	srv_init(&ctx, MODE_ECHO);
	tn_server_t s;
	start_srv(&s, &ctx, ci.codec, 1, 0);

	int good = connect_nth(&s, &ctx, 0);
	good_exchange(good, &ci, 1, "before");

	/* Good frames, then the bad bytes, in one write. */
	bytes_t tx = { 0 }, want = { 0 };
	uint8_t payload[64];
	for (int i = 0; i < bc->good_before; i++) {
		size_t n = inst_len(&ci, 20 + (size_t)i);
		inst_payload(&ci, payload, n, 70 + (uint64_t)i);
		bytes_add_frame(&tx, ci.codec, payload, n);
		bytes_add_frame(&want, ci.codec, payload, n);
	}
	if (bc->kind == BAD_HEADER) {
		uint8_t hdr[8];
		put_field(hdr, sp->width, sp->little, bc->declared);
		bytes_add(&tx, hdr, (size_t)sp->width);
	} else {
		size_t n = bc->kind == BAD_LONG_LINE ? bc->max_frame + 1 :
		    4 * bc->max_frame;
		uint8_t *body = malloc(n);
		ck_assert_ptr_nonnull(body);
		inst_payload(&ci, body, n, 99);
		bytes_add(&tx, body, n);
		if (bc->kind == BAD_LONG_LINE)
			bytes_add(&tx, sp->kind == K_LINE ? "\n" : sp->delim,
			    sp->kind == K_LINE ? 1 : sp->dlen);
		free(body);
	}

	int bad = connect_nth(&s, &ctx, 1);
	long t0 = (long)tn_now_ms();
	ssize_t w = send(bad, tx.p, tx.len, MSG_NOSIGNAL);
	ck_assert_msg(w == (ssize_t)tx.len, "single write: %zd of %zu bytes", w,
	    tx.len);
	/* No body follows a bad header: the header alone must close it. */
	expect_replies_then_eof(bad, &want, bc->name);
	wait_closed(&ctx, 1, WAIT_MS);
	assert_reason(&ctx, 1, bc->reason, bc->name);
	long took = atomic_load(&ctx.conns[1].close_ms) - t0;
	ck_assert_msg(took <= PROMPT_MS, "%s: closed after %ld ms", bc->name, took);
	ck_assert_int_eq(atomic_load(&ctx.conns[1].frames), bc->good_before);
	tn_close(&bad);

	/* The neighbour is untouched. */
	ck_assert_int_eq(atomic_load(&ctx.conns[0].closes), 0);
	good_exchange(good, &ci, 2, "after");
	close_good(&ctx, &good, 0);
	tn_server_close(&s);
	assert_no_loop_errors(&ctx);
	bytes_free(&tx);
	bytes_free(&want);
	inst_free(&ci);
}
END_TEST

/* ------------------------------------------------------------------------
 * The max_frame boundary, read whole or byte by byte: a frame of exactly
 * max_frame is echoed (for the line codec also with a "\r\n" ending, the
 * "\r" being dropped), one byte more closes with GNET_EFRAMESIZE. The
 * length field's max_frame counts its header.
 */
static const int boundary_specs[] = {
	S_LINE, S_CRLF2, S_PIPE, S_LF1, S_LF2LE, S_LF3, S_LF4, S_LF8LE
};
#define N_BOUNDARY (sizeof boundary_specs / sizeof boundary_specs[0])

START_TEST(test_max_frame_boundary)
{
	int spec = boundary_specs[_i % N_BOUNDARY];
	size_t cap = _i < (int)N_BOUNDARY ? 0 : 1;
	codec_inst_t ci;
	inst_init(&ci, spec, 0, BAD_LINE_MAX);
	size_t max = ci.max_payload;
	ck_assert_uint_eq(max, ci.sp->kind == K_LF ?
	    BAD_LINE_MAX - (size_t)ci.sp->width : BAD_LINE_MAX);

	srv_t ctx;
	srv_init(&ctx, MODE_ECHO);
	tn_server_t s;
	start_srv(&s, &ctx, ci.codec, 1, cap);

	/* Exactly max_frame: accepted. */
	uint8_t payload[BAD_LINE_MAX + 1];
	bytes_t tx = { 0 }, want = { 0 };
	inst_payload(&ci, payload, max + 1, 42);
	bytes_add_frame(&tx, ci.codec, payload, max);
	bytes_add_frame(&want, ci.codec, payload, max);
	if (ci.sp->kind == K_LINE) {
		bytes_add(&tx, payload, max);
		bytes_add(&tx, "\r\n", 2);
		bytes_add_frame(&want, ci.codec, payload, max);
	}
	int good = connect_nth(&s, &ctx, 0);
	char what[96];
	snprintf(what, sizeof what, "%s, %zu-byte frame, read_buffer_cap %zu",
	    ci.sp->name, max, cap);
	exchange(good, &tx, &want, what);

	/* One byte more: refused. */
	bytes_t over = { 0 }, none = { 0 };
	bytes_add_frame(&over, ci.codec, payload, max + 1);
	int bad = connect_nth(&s, &ctx, 1);
	ck_assert_uint_eq(tn_send_all(bad, over.p, over.len, IO_MS), over.len);
	snprintf(what, sizeof what, "%s, %zu-byte frame, read_buffer_cap %zu",
	    ci.sp->name, max + 1, cap);
	expect_replies_then_eof(bad, &none, what);
	wait_closed(&ctx, 1, WAIT_MS);
	assert_reason(&ctx, 1, GNET_EFRAMESIZE, what);
	ck_assert_int_eq(atomic_load(&ctx.conns[1].frames), 0);
	tn_close(&bad);

	ck_assert_int_eq(atomic_load(&ctx.conns[0].closes), 0);
	good_exchange(good, &ci, 11, "after");
	close_good(&ctx, &good, 0);
	tn_server_close(&s);
	assert_no_loop_errors(&ctx);
	bytes_free(&tx);
	bytes_free(&want);
	bytes_free(&over);
	inst_free(&ci);
}
END_TEST

/* ------------------------------------------------------------------------
 * A peer that leaves mid-frame (shutdown SHUT_WR): GNET_ETRUNCATED, after
 * the replies to its complete frames. Cut after 1 byte, at half, and one
 * byte short of the frame (e.g. inside a delimiter or a header).
 */
START_TEST(test_truncated)
{
	int spec = _i % N_SPECS;
	int cut_kind = _i / N_SPECS;
	codec_inst_t ci;
	inst_init(&ci, spec, SPLIT_FIXED_LEN, 0);

	srv_t ctx;
	srv_init(&ctx, MODE_ECHO);
	tn_server_t s;
	start_srv(&s, &ctx, ci.codec, 1, 0);
	int good = connect_nth(&s, &ctx, 0);
	good_exchange(good, &ci, 3, "before");

	bytes_t tx = { 0 }, want = { 0 }, last = { 0 };
	uint8_t payload[64];
	for (int i = 0; i < 2; i++) {
		size_t n = inst_len(&ci, 30 + (size_t)i);
		inst_payload(&ci, payload, n, 80 + (uint64_t)i);
		bytes_add_frame(&tx, ci.codec, payload, n);
		bytes_add_frame(&want, ci.codec, payload, n);
	}
	size_t n = inst_len(&ci, 40);
	inst_payload(&ci, payload, n, 90);
	size_t flen = bytes_add_frame(&last, ci.codec, payload, n);
	size_t cut = cut_kind == 0 ? 1 : cut_kind == 1 ? flen / 2 : flen - 1;
	bytes_add(&tx, last.p, cut);

	int bad = connect_nth(&s, &ctx, 1);
	ck_assert_uint_eq(tn_send_all(bad, tx.p, tx.len, IO_MS), tx.len);
	ck_assert_int_eq(shutdown(bad, SHUT_WR), 0);
	char what[96];
	snprintf(what, sizeof what, "%s, cut at %zu of %zu", ci.sp->name, cut, flen);
	expect_replies_then_eof(bad, &want, what);
	wait_closed(&ctx, 1, WAIT_MS);
	assert_reason(&ctx, 1, GNET_ETRUNCATED, what);
	ck_assert_int_eq(atomic_load(&ctx.conns[1].frames), 2);
	tn_close(&bad);

	ck_assert_int_eq(atomic_load(&ctx.conns[0].closes), 0);
	good_exchange(good, &ci, 4, "after");
	/* Complete frames then EOF: GNET_EEOF, not GNET_ETRUNCATED. */
	close_good(&ctx, &good, 0);
	tn_server_close(&s);
	assert_no_loop_errors(&ctx);
	bytes_free(&tx);
	bytes_free(&want);
	bytes_free(&last);
	inst_free(&ci);
}
END_TEST

/* ------------------------------------------------------------------------
 * Garbage: random bytes (fixed seeds) into every codec, max_frame 300,
 * read in chunks of 64 KiB, 7 or 61 bytes. The standalone decoder over the
 * whole input is the reference: the engine must echo exactly the frames it
 * finds before its first error and close with the reason it gives (the
 * error, GNET_ETRUNCATED for a partial frame at the end, else GNET_EEOF).
 */
static const size_t garbage_caps[GARBAGE_SEEDS] = { 0, 7, 61 };

static int reference_replies(const codec_inst_t *ci, const uint8_t *in,
    size_t n, bytes_t *out, int *frames)
{
	size_t ssz = gnet_codec_state_size(ci->codec);
	void *st = calloc(1, ssz ? ssz : 1);
	ck_assert_ptr_nonnull(st);
	size_t off = 0;
	int reason;
	*frames = 0;
	for (;;) {
		gnet_frame_t f;
		if (off == n) {
			reason = GNET_EEOF;
			break;
		}
		int r = gnet_codec_decode(ci->codec, st, in + off, n - off, &f);
		if (r < 0) {
			reason = r;
			break;
		}
		if (r == 0) {
			reason = GNET_ETRUNCATED;
			break;
		}
		bytes_add_frame(out, ci->codec, f.data != NULL ? f.data : "", f.len);
		off += f.consumed;
		(*frames)++;
	}
	free(st);
	return reason;
}

START_TEST(test_garbage)
{
	int spec = _i % N_SPECS;
	int seed = _i / N_SPECS;
	codec_inst_t ci;
	inst_init(&ci, spec, GARBAGE_FIXED, GARBAGE_MAX);

	size_t len = GARBAGE_BYTES + 123 * (size_t)seed;
	uint8_t *junk = malloc(len);
	ck_assert_ptr_nonnull(junk);
	tn_fill_random(junk, len, 0xBAD0 + (uint64_t)(spec * 16 + seed));
	bytes_t want = { 0 };
	int frames = 0;
	int reason = reference_replies(&ci, junk, len, &want, &frames);
	ck_assert_msg(reason == GNET_EEOF || reason == GNET_ETRUNCATED ||
	    reason == GNET_EFRAMESIZE || reason == GNET_EBADFRAME,
	    "reference decoder: undocumented result %d (%s)", reason,
	    gnet_strerror(reason));

	srv_t ctx;
	srv_init(&ctx, MODE_ECHO);
	tn_server_t s;
	start_srv(&s, &ctx, ci.codec, 1, garbage_caps[seed]);
	int good = connect_nth(&s, &ctx, 0);
	good_exchange(good, &ci, 5, "before");

	int bad = connect_nth(&s, &ctx, 1);
	ck_assert_uint_eq(tn_send_all(bad, junk, len, IO_MS), len);
	ck_assert_int_eq(shutdown(bad, SHUT_WR), 0);
	char what[128];
	snprintf(what, sizeof what, "%s, seed %d, cap %zu (%d frames, then %s)",
	    ci.sp->name, seed, garbage_caps[seed], frames, gnet_strerror(reason));
	expect_replies_then_eof(bad, &want, what);
	wait_closed(&ctx, 1, WAIT_MS);
	assert_reason(&ctx, 1, reason, what);
	ck_assert_int_eq(atomic_load(&ctx.conns[1].frames), frames);
	tn_close(&bad);

	ck_assert_int_eq(atomic_load(&ctx.conns[0].closes), 0);
	good_exchange(good, &ci, 6, "after");
	close_good(&ctx, &good, 0);
	tn_server_close(&s);
	assert_no_loop_errors(&ctx);
	bytes_free(&want);
	free(junk);
	inst_free(&ci);
}
END_TEST

/* ------------------------------------------------------------------------
 * A line codec with max_frame 64 KiB and a client streaming 32 MiB with no
 * newline: GNET_EFRAMESIZE, the client could send only what max_frame and
 * the socket buffers hold, and the process did not buffer the stream.
 */
static long vm_rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	ck_assert_ptr_nonnull(f);
	char line[256];
	long kb = -1;
	while (fgets(line, sizeof line, f) != NULL) {
		if (strncmp(line, "VmRSS:", 6) == 0) {
			kb = strtol(line + 6, NULL, 10);
			break;
		}
	}
	fclose(f);
	ck_assert_msg(kb > 0, "no VmRSS in /proc/self/status");
	return kb;
}

/* Send up to `total` bytes of 'x' from one small buffer until the peer
 * refuses (reset, EPIPE) or timeout_ms passes; returns the bytes sent. */
static size_t stream_no_newline(int fd, size_t total, int timeout_ms,
    int *err)
{
	uint8_t *chunk = malloc(FLOOD_CHUNK);
	ck_assert_ptr_nonnull(chunk);
	memset(chunk, 'x', FLOOD_CHUNK);
	size_t sent = 0;
	int64_t deadline = tn_now_ms() + timeout_ms;
	*err = 0;
	while (sent < total) {
		size_t want = total - sent < FLOOD_CHUNK ? total - sent : FLOOD_CHUNK;
		ssize_t w = send(fd, chunk, want, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0) {
			sent += (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			*err = errno;
			break;
		}
		if (tn_now_ms() >= deadline)
			break;
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };
		poll(&pfd, 1, 100);
	}
	free(chunk);
	return sent;
}

START_TEST(test_line_flood_bounded)
{
	codec_inst_t ci;
	inst_init(&ci, S_LINE, 0, FLOOD_MAX);

	srv_t ctx;
	srv_init(&ctx, MODE_ECHO);
	tn_server_t s;
	start_srv(&s, &ctx, ci.codec, 1, 0);
	int good = connect_nth(&s, &ctx, 0);
	good_exchange(good, &ci, 7, "before");

	long rss0 = vm_rss_kb();
	int bad = connect_nth(&s, &ctx, 1);
	long t0 = (long)tn_now_ms();
	int err = 0;
	size_t sent = stream_no_newline(bad, FLOOD_BYTES, IO_MS, &err);
	wait_closed(&ctx, 1, WAIT_MS);
	assert_reason(&ctx, 1, GNET_EFRAMESIZE, "32 MiB without a newline");
	long took = atomic_load(&ctx.conns[1].close_ms) - t0;
	ck_assert_msg(took <= PROMPT_MS, "closed %ld ms after the stream began",
	    took);
	ck_assert_msg(sent < FLOOD_SENT_LIMIT,
	    "client sent %zu bytes (send error %d) of a line limited to %zu",
	    sent, err, FLOOD_MAX);
	ck_assert_int_eq(atomic_load(&ctx.conns[1].frames), 0);
	long grew = vm_rss_kb() - rss0;
	ck_assert_msg(grew < RSS_LIMIT_KB, "VmRSS grew by %ld KiB", grew);
	tn_close(&bad);

	ck_assert_int_eq(atomic_load(&ctx.conns[0].closes), 0);
	good_exchange(good, &ci, 8, "after");
	close_good(&ctx, &good, 0);
	tn_server_close(&s);
	assert_no_loop_errors(&ctx);
	inst_free(&ci);
}
END_TEST

/* ------------------------------------------------------------------------
 * gnet_conn_write_async from a foreign thread to a connection with a codec:
 * each payload is one frame. With a 1-byte length field, payloads over 255
 * bytes are refused (callback status GNET_EFRAMESIZE) and write nothing.
 */
typedef struct async_job {
	gnet_engine_t *eng;
	gnet_handle_t h;
	srv_t *ctx;
	const uint8_t *pool;
	const size_t *off, *len;
	int failures, first_rc;
} async_job_t;

static void *async_main(void *arg)
{
	async_job_t *j = arg;
	for (int i = 0; i < ASYNC_MSGS; i++) {
		int rc = gnet_conn_write_async(j->eng, j->h, j->pool + j->off[i], j->len[i],
		    write_cb, j->ctx);
		if (rc != 0 && j->failures++ == 0)
			j->first_rc = rc;
	}
	return NULL;
}

static const int async_specs[] = { S_LF4, S_LINE, S_LF1 };
#define N_ASYNC (sizeof async_specs / sizeof async_specs[0])

START_TEST(test_async_write_encoded)
{
	codec_inst_t ci;
	inst_init(&ci, async_specs[_i], 0, 0);

	srv_t ctx;
	srv_init(&ctx, MODE_ECHO);
	tn_server_t s;
	start_srv(&s, &ctx, ci.codec, 2, 0);
	int fd = connect_nth(&s, &ctx, 0);
	gnet_handle_t h = atomic_load(&ctx.conns[0].handle);
	ck_assert_uint_ne(h, GNET_HANDLE_NONE);

	size_t off[ASYNC_MSGS], len[ASYNC_MSGS];
	bytes_t pool = { 0 }, want = { 0 };
	uint8_t payload[400];
	int refused = 0;
	for (int i = 0; i < ASYNC_MSGS; i++) {
		len[i] = 1 + (size_t)(i * 37) % 300;
		off[i] = pool.len;
		inst_payload(&ci, payload, len[i], 1234 + (uint64_t)i);
		bytes_add(&pool, payload, len[i]);
	}
	for (int i = 0; i < ASYNC_MSGS; i++) {
		if (len[i] > ci.max_payload) {
			/* The encoder itself must refuse it too. */
			ck_assert_int_eq(gnet_codec_encode(ci.codec, pool.p + off[i],
			    len[i], NULL, 0), GNET_EFRAMESIZE);
			refused++;
			continue;
		}
		bytes_add_frame(&want, ci.codec, pool.p + off[i], len[i]);
	}
	if (ci.sp->width == 1)
		ck_assert_int_gt(refused, 0);

	async_job_t job = { .eng = s.eng, .h = h, .ctx = &ctx, .pool = pool.p,
	    .off = off, .len = len };
	pthread_t th;
	ck_assert_int_eq(pthread_create(&th, NULL, async_main, &job), 0);
	uint8_t *got = malloc(want.len);
	ck_assert_ptr_nonnull(got);
	size_t n = tn_read_exact(fd, got, want.len, IO_MS);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert_msg(job.failures == 0, "%d gnet_conn_write_async calls failed, first "
	    "%d (%s)", job.failures, job.first_rc, gnet_strerror(job.first_rc));
	ck_assert_msg(n == want.len && memcmp(got, want.p, n) == 0,
	    "%s: received %zu of %zu bytes, differ at %zu", ci.sp->name, n,
	    want.len, first_diff(got, want.p, n));
	free(got);
	TN_WAIT_UNTIL(atomic_load(&ctx.cb_calls) == ASYNC_MSGS, WAIT_MS);
	ck_assert_int_eq(atomic_load(&ctx.cb_calls), ASYNC_MSGS);
	ck_assert_int_eq(atomic_load(&ctx.cb_ok), ASYNC_MSGS - refused);
	ck_assert_int_eq(atomic_load(&ctx.cb_efs), refused);

	/* Nothing stray was written: the next echo follows at once. */
	good_exchange(fd, &ci, 9, "after the async writes");
	close_good(&ctx, &fd, 0);
	tn_server_close(&s);
	assert_no_loop_errors(&ctx);
	bytes_free(&pool);
	bytes_free(&want);
	inst_free(&ci);
}
END_TEST

/* ------------------------------------------------------------------------
 * Writes the codec refuses write nothing: from on_open, a valid frame,
 * then a payload the codec cannot encode (gnet_conn_write and writev; a
 * 1-byte length field cannot say 256, a fixed codec takes whole frames
 * only), then another valid frame. The outbound length stays as it was
 * and the client receives exactly the two valid frames.
 */
typedef struct limit_case {
	const char *name;
	int spec;
	size_t fixed_len;
	size_t ok_len, bad_len, ok2_len;
	long rc;
} limit_case_t;

static const limit_case_t limit_cases[] = {
	{ "length field 1, 256 bytes", S_LF1, 0, 10, 256, 255, GNET_EFRAMESIZE },
	{ "length field 1, 64 KiB", S_LF1, 0, 1, 65536, 0, GNET_EFRAMESIZE },
	{ "fixed 16, 17 bytes", S_FIXED, 16, 16, 17, 32, GNET_EINVAL },
};
#define N_LIMIT (sizeof limit_cases / sizeof limit_cases[0])

START_TEST(test_write_refused)
{
	const limit_case_t *lc = &limit_cases[_i];
	codec_inst_t ci;
	inst_init(&ci, lc->spec, lc->fixed_len, 0);

	uint8_t *bad = calloc(1, lc->bad_len);
	uint8_t ok[64], ok2[256];
	ck_assert_ptr_nonnull(bad);
	ck_assert_uint_le(lc->ok_len, sizeof ok);
	ck_assert_uint_le(lc->ok2_len, sizeof ok2);
	tn_fill_random(ok, sizeof ok, 1);
	tn_fill_random(ok2, sizeof ok2, 2);

	srv_t ctx;
	srv_init(&ctx, MODE_WRITE_LIMITS);
	ctx.wl_ok = ok;
	ctx.wl_ok_len = lc->ok_len;
	ctx.wl_bad = bad;
	ctx.wl_bad_len = lc->bad_len;
	ctx.wl_ok2 = ok2;
	ctx.wl_ok2_len = lc->ok2_len;
	tn_server_t s;
	start_srv(&s, &ctx, ci.codec, 1, 0);
	int fd = connect_nth(&s, &ctx, 0);

	ck_assert_int_eq(atomic_load(&ctx.wl_rc[0]), (long)lc->ok_len);
	ck_assert_msg(atomic_load(&ctx.wl_rc[1]) == lc->rc,
	    "%s: gnet_conn_write = %ld (%s), want %ld", lc->name,
	    atomic_load(&ctx.wl_rc[1]),
	    gnet_strerror((int)atomic_load(&ctx.wl_rc[1])), lc->rc);
	ck_assert_msg(atomic_load(&ctx.wl_rc[2]) == lc->rc,
	    "%s: gnet_conn_writev = %ld (%s), want %ld", lc->name,
	    atomic_load(&ctx.wl_rc[2]),
	    gnet_strerror((int)atomic_load(&ctx.wl_rc[2])), lc->rc);
	ck_assert_int_eq(atomic_load(&ctx.wl_rc[3]), (long)lc->ok2_len);
	size_t out0 = atomic_load(&ctx.wl_out[0]);
	ck_assert_uint_gt(out0, 0);
	ck_assert_uint_eq(atomic_load(&ctx.wl_out[1]), out0);
	ck_assert_uint_eq(atomic_load(&ctx.wl_out[2]), out0);

	bytes_t want = { 0 }, none = { 0 };
	bytes_add_frame(&want, ci.codec, ok, lc->ok_len);
	bytes_add_frame(&want, ci.codec, ok2, lc->ok2_len);
	exchange(fd, &none, &want, lc->name);
	/* And nothing after them: the next echo follows at once. */
	good_exchange(fd, &ci, 10, "after the refused writes");
	close_good(&ctx, &fd, 0);
	tn_server_close(&s);
	assert_no_loop_errors(&ctx);
	bytes_free(&want);
	free(bad);
	inst_free(&ci);
}
END_TEST

/* ------------------------------------------------------------------------
 */
static Suite *codec_live_suite(void)
{
	Suite *s = suite_create("codec_live");
	TCase *tc;

	tc = tn_tcase("round_trip", TCASE_TIMEOUT_S);
	tcase_add_loop_test(tc, test_round_trip, 0, 2 * N_SPECS);
	tcase_add_loop_test(tc, test_pipelined_200, 0, N_SPECS);
	tcase_add_loop_test(tc, test_frame_sizes, 0, 2);
	suite_add_tcase(s, tc);

	tc = tn_tcase("split", TCASE_TIMEOUT_S);
	tcase_add_loop_test(tc, test_split_read_cap, 0,
	    (int)(N_SPECS * N_SPLIT_CAPS));
	tcase_add_loop_test(tc, test_split_two_writes, 0, N_SPECS);
	suite_add_tcase(s, tc);

	tc = tn_tcase("handler", TCASE_TIMEOUT_S);
	tcase_add_loop_test(tc, test_partial_consume, 0, 2 * N_SPECS);
	tcase_add_test(tc, test_set_codec_on_open);
	tcase_add_loop_test(tc, test_switch_codec_in_traffic, 0,
	    2 * (int)N_SWITCH);
	suite_add_tcase(s, tc);

	tc = tn_tcase("bad_input", TCASE_TIMEOUT_S);
	tcase_add_loop_test(tc, test_bad_frame, 0, (int)N_BAD);
	tcase_add_loop_test(tc, test_max_frame_boundary, 0, 2 * (int)N_BOUNDARY);
	tcase_add_loop_test(tc, test_truncated, 0, 3 * N_SPECS);
	tcase_add_loop_test(tc, test_garbage, 0, GARBAGE_SEEDS * N_SPECS);
	tcase_add_test(tc, test_line_flood_bounded);
	suite_add_tcase(s, tc);

	tc = tn_tcase("writes", TCASE_TIMEOUT_S);
	tcase_add_loop_test(tc, test_async_write_encoded, 0, (int)N_ASYNC);
	tcase_add_loop_test(tc, test_write_refused, 0, (int)N_LIMIT);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tn_run_suite(codec_live_suite());
}
