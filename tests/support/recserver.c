/*
 * recserver.c -- the recording echo server (see recserver.h).
 */
#include "recserver.h"

#include <stdio.h>
#include <string.h>

#define LOOP_CHECK(rs, cond) TN_LOOP_CHECK((rs)->errs, cond)

/* Close modes echo in several writes, so a close has several to flush. */
#define RS_ECHO_CHUNK (32 * 1024)

void
recserver_init(recserver_t *rs, tn_loop_errors_t *errs)
{
	/* Zero is a valid state for these lock-free atomics on Linux. */
	memset(rs, 0, sizeof *rs);
	rs->errs = errs != NULL ? errs : &rs->own_errs;
}

static gnet_action_t
recserver_on_open(gnet_conn_t *c, void *udata)
{
	recserver_t *rs = udata;
	tn_conn_entry_t *e;

	atomic_fetch_add(&rs->opens, 1);
	e = tn_conn_log_open(&rs->log, c);
	LOOP_CHECK(rs, e != NULL);
	atomic_store(&rs->last_handle, gnet_conn_handle(c));
	LOOP_CHECK(rs, gnet_conn_handle(c) != GNET_HANDLE_NONE);
	LOOP_CHECK(rs, gnet_loop_current() == gnet_conn_loop_index(c));
	if (rs->accepted_only)
		LOOP_CHECK(rs, gnet_conn_is_outbound(c) == 0);
	if (rs->greeting) {
		size_t n = strlen(rs->greeting);
		LOOP_CHECK(rs, gnet_conn_write(c, rs->greeting, n) == (long)n);
	}
	if (e != NULL)
		tn_conn_log_ready(e);
	return rs->open_action;
}

/* Echo `n` bytes in RS_ECHO_CHUNK writes. */
static void
echo_chunked(recserver_t *rs, gnet_conn_t *c, const uint8_t *p, size_t n)
{
	for (size_t off = 0; off < n; off += RS_ECHO_CHUNK) {
		size_t len = n - off < RS_ECHO_CHUNK ? n - off : RS_ECHO_CHUNK;
		LOOP_CHECK(rs, gnet_conn_write(c, p + off, len) == (long)len);
	}
}

static gnet_action_t
recserver_on_traffic(gnet_conn_t *c, void *udata)
{
	recserver_t *rs = udata;
	const void *data = NULL;
	size_t n = gnet_conn_peek(c, &data);

	LOOP_CHECK(rs, n == gnet_conn_inbound_len(c));
	if (rs->accepted_only)
		LOOP_CHECK(rs, gnet_conn_is_outbound(c) == 0);
	if (rs->frame_len > 0)
		LOOP_CHECK(rs, n == rs->frame_len);

	if (rs->mode != RS_ECHO) {
		/* Leave bytes buffered until the whole payload is in: they are
		 * presented again with the next ones. */
		if (n < rs->close_after)
			return GNET_NONE;
		echo_chunked(rs, c, data, n);
		atomic_fetch_add(&rs->bytes_in, (long)n);
		LOOP_CHECK(rs, gnet_conn_discard(c, n) == (long)n);
		if (rs->mode == RS_ECHO_THEN_ACTION)
			return GNET_CLOSE;
		LOOP_CHECK(rs, gnet_conn_close(c) == 0);
		/* Documented: no writes once close has begun. */
		LOOP_CHECK(rs, gnet_conn_write(c, "x", 1) == GNET_ECLOSED);
		return GNET_NONE;
	}

	if (n > 0) {
		LOOP_CHECK(rs, gnet_conn_write(c, data, n) == (long)n);
		/* A datagram is gone with its callback. */
		if (gnet_conn_is_udp(c))
			atomic_fetch_add(&rs->dgrams, 1);
		else
			LOOP_CHECK(rs, gnet_conn_discard(c, n) == (long)n);
		atomic_fetch_add(&rs->bytes_in, (long)n);
	}
	return rs->traffic_action;
}

static void
recserver_on_close(gnet_conn_t *c, int reason, void *udata)
{
	recserver_t *rs = udata;

	if (rs->accepted_only)
		LOOP_CHECK(rs, gnet_conn_is_outbound(c) == 0);
	LOOP_CHECK(rs, tn_conn_log_close(c, reason) != NULL);
	/* Documented: the connection can no longer be written. */
	LOOP_CHECK(rs, gnet_conn_write(c, "x", 1) < 0);

	atomic_store(&rs->last_reason, reason);
	if (reason == 0)
		atomic_fetch_add(&rs->close_zero, 1);
	else if (reason == GNET_EEOF)
		atomic_fetch_add(&rs->close_eof, 1);
	else if (reason == GNET_ESHUTDOWN)
		atomic_fetch_add(&rs->close_shutdown, 1);
	else if (reason < 0 && reason > -4096)
		atomic_fetch_add(&rs->close_errno, 1);
	else
		atomic_fetch_add(&rs->close_other, 1);
	/* Last: the test thread waits on this counter. */
	atomic_fetch_add(&rs->closes, 1);
}

static void
recserver_on_shutdown(gnet_engine_t *eng, void *udata)
{
	recserver_t *rs = udata;

	(void)eng;
	atomic_fetch_add(&rs->shutdowns, 1);
}

static gnet_action_t
recserver_on_message(gnet_conn_t *c, const gnet_msg_t *m, void *udata)
{
	recserver_t *rs = udata;
	char line[32];
	int n;

	LOOP_CHECK(rs, m->type == RS_PING_TYPE);
	LOOP_CHECK(rs, m->a == RS_PING_VALUE);
	LOOP_CHECK(rs, m->to == gnet_conn_handle(c));
	n = snprintf(line, sizeof line, "pong %llu\n", (unsigned long long)m->a);
	LOOP_CHECK(rs, gnet_conn_write(c, line, (size_t)n) == n);
	atomic_fetch_add(&rs->msgs, 1);
	return GNET_NONE;
}

const gnet_events_t recserver_events = { .size = sizeof(gnet_events_t),
	.on_open = recserver_on_open,
	.on_traffic = recserver_on_traffic,
	.on_close = recserver_on_close,
	.on_shutdown = recserver_on_shutdown,
	.on_message = recserver_on_message,
};

void
recserver_write_cb(gnet_conn_t *c, int status, void *cbdata)
{
	recserver_t *rs = cbdata;

	/* Completions run on the connection's loop. */
	LOOP_CHECK(rs, gnet_loop_current() >= 0);
	if (status == 0 && c != NULL) {
		LOOP_CHECK(rs, gnet_conn_loop_index(c) == gnet_loop_current());
		atomic_fetch_add(&rs->cb_ok, 1);
	} else if (status == GNET_ECLOSED && c == NULL) {
		atomic_fetch_add(&rs->cb_closed, 1);
	} else {
		atomic_fetch_add(&rs->cb_bad, 1);
	}
	atomic_fetch_add(&rs->cb_calls, 1);
}
