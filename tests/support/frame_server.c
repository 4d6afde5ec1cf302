/*
 * frame_server.c -- the frame echo server of the live codec suites and
 * the client side of its exchanges (see frame_server.h).
 */
#include "frame_server.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#define LOOP_CHECK(fs, cond) TN_LOOP_CHECK(&(fs)->errs, cond)

void
frame_server_init(frame_server_t *fs, frame_server_mode_t mode)
{
	/* Zero is a valid state for these lock-free atomics on Linux. */
	memset(fs, 0, sizeof *fs);
	fs->mode = mode;
}

uint64_t
frame_hash(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = 1469598103934665603ull ^ (uint64_t)n;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 1099511628211ull;
	}
	return h;
}

static void
write_limits(frame_server_t *fs, gnet_conn_t *c)
{
	atomic_store(&fs->wl_rc[0], gnet_conn_write(c, fs->wl_ok, fs->wl_ok_len));
	atomic_store(&fs->wl_out[0], gnet_conn_outbound_len(c));
	atomic_store(&fs->wl_rc[1], gnet_conn_write(c, fs->wl_bad,
	    fs->wl_bad_len));
	atomic_store(&fs->wl_out[1], gnet_conn_outbound_len(c));
	size_t half = fs->wl_bad_len / 2;
	struct iovec iov[2] = {
		{ (void *)(uintptr_t)fs->wl_bad, half },
		{ (void *)(uintptr_t)(fs->wl_bad + half), fs->wl_bad_len - half },
	};
	atomic_store(&fs->wl_rc[2], gnet_conn_writev(c, iov, 2));
	atomic_store(&fs->wl_out[2], gnet_conn_outbound_len(c));
	atomic_store(&fs->wl_rc[3], gnet_conn_write(c, fs->wl_ok2,
	    fs->wl_ok2_len));
}

static gnet_action_t
frame_server_on_open(gnet_conn_t *c, void *udata)
{
	frame_server_t *fs = udata;
	tn_conn_entry_t *e = tn_conn_log_open(&fs->log, c);

	LOOP_CHECK(fs, e != NULL);
	if (e == NULL)
		return GNET_CLOSE;
	if (fs->open_codec[e->idx] != NULL)
		LOOP_CHECK(fs, gnet_conn_set_codec(c, fs->open_codec[e->idx]) == 0);
	if (fs->mode == FS_WRITE_LIMITS)
		write_limits(fs, c);
	tn_conn_log_ready(e);
	/* Last: the test thread waits on this counter. */
	atomic_fetch_add(&fs->opens, 1);
	return GNET_NONE;
}

/* Count one frame and add its hash. */
static void
note_frame(frame_server_t *fs, tn_conn_entry_t *e, const void *p, size_t n)
{
	if (fs->frame_len != 0)
		LOOP_CHECK(fs, n == fs->frame_len);
	atomic_fetch_add(&fs->hash_sum, frame_hash(p, n));
	atomic_fetch_add(&e->frames, 1);
	atomic_fetch_add(&fs->frames, 1);
}

static void
echo_frame(frame_server_t *fs, gnet_conn_t *c, tn_conn_entry_t *e)
{
	const void *data = NULL;
	size_t n = gnet_conn_peek(c, &data);

	LOOP_CHECK(fs, n == gnet_conn_inbound_len(c));
	LOOP_CHECK(fs, data != NULL || n == 0);
	if (data == NULL)
		data = "";
	note_frame(fs, e, data, n);
	LOOP_CHECK(fs, gnet_conn_write(c, data, n) == (long)n);
	LOOP_CHECK(fs, gnet_conn_discard(c, n) == (long)n);
	LOOP_CHECK(fs, gnet_conn_inbound_len(c) == 0);
}

/* Echo the whole frame but consume none, some or all of it; what is left
 * must be dropped by the library when on_traffic returns. */
static void
partial_frame(frame_server_t *fs, gnet_conn_t *c, tn_conn_entry_t *e)
{
	int how = atomic_load(&e->frames) % 3;
	const void *view = NULL;
	size_t n = gnet_conn_peek(c, &view);
	const uint8_t *data = view != NULL ? view : (const uint8_t *)"";
	uint8_t head[FS_PART_MAX_LEN];

	LOOP_CHECK(fs, n <= sizeof head);
	if (n > sizeof head)
		return;
	note_frame(fs, e, data, n);
	if (how == 0) {
		/* Consume nothing. */
		LOOP_CHECK(fs, gnet_conn_write(c, data, n) == (long)n);
	} else {
		size_t k = how == 1 ? (n < FS_PART_READ ? n : FS_PART_READ) : n;
		LOOP_CHECK(fs, gnet_conn_read(c, head, k) == (long)k);
		LOOP_CHECK(fs, memcmp(head, data, k) == 0);
		const void *rest = NULL;
		size_t m = gnet_conn_peek(c, &rest);
		LOOP_CHECK(fs, m == n - k);
		LOOP_CHECK(fs, gnet_conn_inbound_len(c) == n - k);
		LOOP_CHECK(fs, m == 0 || rest == data + k);
		/* writev gathers both pieces into one frame. */
		struct iovec iov[2] = {
			{ head, k },
			{ (void *)(uintptr_t)(rest != NULL ? rest : ""), m },
		};
		LOOP_CHECK(fs, gnet_conn_writev(c, iov, 2) == (long)n);
	}
}

static void
handshake(frame_server_t *fs, gnet_conn_t *c, tn_conn_entry_t *e)
{
	const void *view = NULL;
	size_t n = gnet_conn_peek(c, &view);
	const uint8_t *data = view;
	size_t used = n;

	if (fs->handshake_raw) {
		/* No codec yet: find the line ourselves. */
		const uint8_t *nl = n != 0 ? memchr(data, '\n', n) : NULL;
		if (nl == NULL)
			return; /* wait for the rest of the line */
		used = (size_t)(nl - data) + 1;
		n = used - 1;
	}
	LOOP_CHECK(fs, n == 5 && memcmp(data, "HELLO", 5) == 0);
	LOOP_CHECK(fs, gnet_conn_discard(c, used) == (long)used);
	if (fs->handshake_raw)
		LOOP_CHECK(fs, gnet_conn_write(c, "OK\n", 3) == 3);
	else
		LOOP_CHECK(fs, gnet_conn_write(c, "OK", 2) == 2);
	LOOP_CHECK(fs, gnet_conn_set_codec(c, fs->next_codec) == 0);
	atomic_store(&fs->switched[e->idx], 1);
}

static gnet_action_t
frame_server_on_traffic(gnet_conn_t *c, void *udata)
{
	frame_server_t *fs = udata;
	tn_conn_entry_t *e = gnet_conn_context(c);

	LOOP_CHECK(fs, e != NULL);
	if (e == NULL)
		return GNET_CLOSE;
	switch (fs->mode) {
	case FS_PARTIAL:
		partial_frame(fs, c, e);
		break;
	case FS_HANDSHAKE:
		if (!atomic_load(&fs->switched[e->idx])) {
			handshake(fs, c, e);
		} else if (fs->next_codec == NULL) {
			/* Switched to raw bytes: echo them as they come. */
			const void *data = NULL;
			size_t n = gnet_conn_peek(c, &data);
			LOOP_CHECK(fs, gnet_conn_write(c, data, n) == (long)n);
			LOOP_CHECK(fs, gnet_conn_discard(c, n) == (long)n);
		} else {
			echo_frame(fs, c, e);
		}
		break;
	default:
		echo_frame(fs, c, e);
		break;
	}
	return GNET_NONE;
}

static void
frame_server_on_close(gnet_conn_t *c, int reason, void *udata)
{
	frame_server_t *fs = udata;

	LOOP_CHECK(fs, tn_conn_log_close(c, reason) != NULL);
	/* Last: the test thread waits on this counter. */
	atomic_fetch_add(&fs->closes, 1);
}

const gnet_events_t frame_server_events = { .size = sizeof(gnet_events_t),
	.on_open = frame_server_on_open,
	.on_traffic = frame_server_on_traffic,
	.on_close = frame_server_on_close,
};

void
frame_server_write_cb(gnet_conn_t *c, int status, void *cbdata)
{
	frame_server_t *fs = cbdata;

	if (status == 0 && c != NULL)
		atomic_fetch_add(&fs->cb_ok, 1);
	else if (status == GNET_EFRAMESIZE)
		atomic_fetch_add(&fs->cb_efs, 1);
	else
		atomic_fetch_add(&fs->cb_other, 1);
	atomic_fetch_add(&fs->cb_calls, 1);
}

/* ------------------------------------------------------------------------
 * Test side.
 */
void
frame_server_start(tn_server_t *s, frame_server_t *fs,
    const gnet_codec_t *codec, int loops, size_t read_cap)
{
	gnet_options_t opts = { .size = sizeof(gnet_options_t),
		.num_loops = loops,
		.read_buffer_cap = read_cap,
		.codec = codec,
	};
	tn_server_start(s, &frame_server_events, &opts, fs);
}

int
frame_server_connect(tn_server_t *s, frame_server_t *fs, int idx)
{
	int fd = tn_connect(s->port);

	ck_assert_msg(fd >= 0, "connect %d: %s", idx, strerror(errno));
	tn_conn_log_wait_ready(&fs->log, idx, FS_WAIT_MS);
	return fd;
}

void
frame_server_close_good(frame_server_t *fs, int *fd, int idx)
{
	tn_close(fd);
	tn_conn_log_wait_closed(&fs->log, idx, FS_WAIT_MS);
	tn_conn_log_assert_reason(&fs->log, idx, GNET_EEOF, "good client");
}

void
exchange_within(int fd, const bytes_t *tx, const bytes_t *want,
    const char *what, int timeout_ms)
{
	ck_assert_msg(tn_send_all(fd, tx->p, tx->len, FS_IO_MS) == tx->len,
	    "%s: send failed", what);
	uint8_t *got = malloc(want->len ? want->len : 1);
	ck_assert_ptr_nonnull(got);
	size_t n = tn_read_exact(fd, got, want->len, timeout_ms);
	ck_assert_msg(n == want->len, "%s: received %zu of %zu bytes", what, n,
	    want->len);
	ck_assert_msg(n == 0 || memcmp(got, want->p, n) == 0,
	    "%s: reply differs at byte %zu of %zu", what,
	    tn_first_diff(got, want->p, n), n);
	free(got);
}

void
exchange(int fd, const bytes_t *tx, const bytes_t *want, const char *what)
{
	exchange_within(fd, tx, want, what, FS_IO_MS);
}

void
good_exchange(int fd, const codec_inst_t *ci, uint64_t seed, const char *when)
{
	bytes_t tx = { 0 };
	uint8_t payload[256];

	for (int i = 0; i < 3; i++) {
		size_t n = codec_inst_len(ci, 40 + 17 * (size_t)i);
		ck_assert_uint_le(n, sizeof payload);
		codec_inst_payload(ci, payload, n, seed + (uint64_t)i);
		bytes_add_frame(&tx, ci->codec, payload, n);
	}
	char what[96];
	snprintf(what, sizeof what, "good client %s (%s)", when, ci->sp->name);
	exchange(fd, &tx, &tx, what);
	bytes_free(&tx);
}

void
expect_replies_then_eof(int fd, const bytes_t *want, const char *what)
{
	uint8_t *got = malloc(want->len ? want->len : 1);

	ck_assert_ptr_nonnull(got);
	size_t n = tn_read_exact(fd, got, want->len, FS_IO_MS);
	ck_assert_msg(n == want->len, "%s: received %zu of %zu reply bytes "
	    "before the close", what, n, want->len);
	ck_assert_msg(n == 0 || memcmp(got, want->p, n) == 0,
	    "%s: reply differs at byte %zu of %zu", what,
	    tn_first_diff(got, want->p, n), n);
	free(got);
	size_t extra = 0;
	int eof = tn_wait_eof(fd, FS_IO_MS, &extra);
	ck_assert_msg(eof == 1 && extra == 0,
	    "%s: tn_wait_eof = %d with %zu extra bytes, want a clean EOF", what,
	    eof, extra);
}
