/*
 * close_server.c -- handlers that end connections in the ways the "close"
 * suite examines (see close_server.h).
 */
#include "close_server.h"

#include <string.h>
#include <sys/uio.h>

#define LOOP_CHECK(cs, cond) TN_LOOP_CHECK(&(cs)->errs, cond)

enum conn_role { ROLE_UNKNOWN = 0, ROLE_HOARD, ROLE_ECHO };

void
close_server_init(close_server_t *cs, close_server_mode_t mode)
{
	/* Zero is a valid state for these lock-free atomics on Linux. */
	memset(cs, 0, sizeof *cs);
	cs->mode = mode;
}

static gnet_action_t
close_server_on_boot(gnet_engine_t *eng, void *udata)
{
	close_server_t *cs = udata;

	(void)eng;
	atomic_fetch_add(&cs->boots, 1);
	return GNET_NONE;
}

static gnet_action_t
close_server_on_open(gnet_conn_t *c, void *udata)
{
	close_server_t *cs = udata;
	tn_conn_entry_t *e;

	atomic_fetch_add(&cs->opens, 1);
	e = tn_conn_log_open(&cs->log, c);
	LOOP_CHECK(cs, e != NULL);
	if (e == NULL)
		return GNET_CLOSE;

	if (cs->mode == CS_GREET_CLOSE) {
		size_t n = strlen(cs->greeting);
		LOOP_CHECK(cs, gnet_conn_write(c, cs->greeting, n) == (long)n);
		atomic_store(&cs->close_begun_ms, (long)tn_now_ms());
		tn_conn_log_ready(e);
		return GNET_CLOSE;
	}
	tn_conn_log_ready(e);
	return GNET_NONE;
}

/* CS_HOARD_OR_ECHO: the first byte of a connection decides its role. */
static gnet_action_t
hoard_or_echo(close_server_t *cs, gnet_conn_t *c, int idx, const uint8_t *data,
    size_t n)
{
	if (cs->role[idx] == ROLE_UNKNOWN)
		cs->role[idx] = data[0] == CS_TAG_HOARD ? ROLE_HOARD : ROLE_ECHO;
	if (cs->role[idx] == ROLE_HOARD) {
		/* Never consume: everything stays buffered in the library. */
		tn_atomic_max(&cs->max_hoard_view, n);
		return GNET_NONE;
	}
	LOOP_CHECK(cs, gnet_conn_write(c, data, n) == (long)n);
	LOOP_CHECK(cs, gnet_conn_discard(c, n) == (long)n);
	return GNET_NONE;
}

static gnet_action_t
close_server_on_traffic(gnet_conn_t *c, void *udata)
{
	close_server_t *cs = udata;
	tn_conn_entry_t *e = gnet_conn_context(c);
	const void *view = NULL;
	size_t n = gnet_conn_peek(c, &view);
	const uint8_t *data = view;

	LOOP_CHECK(cs, e != NULL && n > 0 && data != NULL);
	if (e == NULL || n == 0 || data == NULL)
		return GNET_NONE;

	if (cs->mode == CS_HOARD_OR_ECHO)
		return hoard_or_echo(cs, c, e->idx, data, n);

	uint8_t first = data[0];
	LOOP_CHECK(cs, gnet_conn_discard(c, n) == (long)n);
	/* Every other mode acts once, on the first request. */
	if (cs->served[e->idx])
		return GNET_NONE;
	cs->served[e->idx] = 1;

	switch (cs->mode) {
	case CS_FLOOD_CLOSE:
		LOOP_CHECK(cs, gnet_conn_write(c, cs->flood, cs->flood_len) ==
		    (long)cs->flood_len);
		atomic_store(&cs->close_begun_ms, (long)tn_now_ms());
		return GNET_CLOSE;
	case CS_WRITE_ABORT: {
		uint8_t junk[CS_ABORT_BYTES];
		memset(junk, 'a', sizeof junk);
		LOOP_CHECK(cs, gnet_conn_write(c, junk, sizeof junk) ==
		    (long)sizeof junk);
		LOOP_CHECK(cs, gnet_conn_abort(c) == 0);
		/* An abort begins the close: no writes after it. */
		LOOP_CHECK(cs, gnet_conn_write(c, junk, 1) == GNET_ECLOSED);
		return GNET_NONE;
	}
	case CS_REPLY:
		LOOP_CHECK(cs, first < cs->nreplies);
		if (first >= cs->nreplies)
			return GNET_CLOSE;
		LOOP_CHECK(cs, gnet_conn_write(c, cs->replies[first],
		    cs->reply_len) == (long)cs->reply_len);
		/* Last: the test thread stops the engine once all are queued. */
		atomic_fetch_add(&cs->replies_queued, 1);
		return GNET_NONE;
	case CS_CLOSE_THEN_WRITE: {
		size_t len = strlen(cs->reply);
		LOOP_CHECK(cs, gnet_conn_write(c, cs->reply, len) == (long)len);
		atomic_store(&cs->close_rc, gnet_conn_close(c));
		atomic_store(&cs->write_after_close_rc,
		    gnet_conn_write(c, "late", 4));
		struct iovec iov = { .iov_base = "late", .iov_len = 4 };
		atomic_store(&cs->writev_after_close_rc,
		    gnet_conn_writev(c, &iov, 1));
		return GNET_NONE;
	}
	default:
		return GNET_NONE;
	}
}

static void
close_server_on_close(gnet_conn_t *c, int reason, void *udata)
{
	close_server_t *cs = udata;
	tn_conn_entry_t *e = gnet_conn_context(c);

	LOOP_CHECK(cs, e != NULL);
	if (e == NULL)
		return;
	/* Documented: the connection can no longer be written. */
	atomic_store(&cs->close_write_rc[e->idx], gnet_conn_write(c, "x", 1));
	tn_conn_log_close(c, reason);
	/* Last: the test thread waits on this counter. */
	atomic_fetch_add(&cs->closes, 1);
}

static void
close_server_on_shutdown(gnet_engine_t *eng, void *udata)
{
	close_server_t *cs = udata;

	(void)eng;
	atomic_fetch_add(&cs->shutdowns, 1);
}

const gnet_events_t close_server_events = { .size = sizeof(gnet_events_t),
	.on_boot = close_server_on_boot,
	.on_open = close_server_on_open,
	.on_traffic = close_server_on_traffic,
	.on_close = close_server_on_close,
	.on_shutdown = close_server_on_shutdown,
};
