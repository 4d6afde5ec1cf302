/*
 * conn_log.c -- per-connection records in open order (see conn_log.h).
 */
#include "conn_log.h"

#include <check.h>

#include "testnet.h"

tn_conn_entry_t *
tn_conn_log_open(tn_conn_log_t *log, gnet_conn_t *c)
{
	int idx = atomic_fetch_add(&log->taken, 1);
	tn_conn_entry_t *e;

	if (idx >= TN_CONN_LOG_MAX)
		return NULL;
	e = &log->conn[idx];
	e->idx = idx;
	gnet_conn_set_context(c, e);
	atomic_store(&e->handle, gnet_conn_handle(c));
	return e;
}

void
tn_conn_log_ready(tn_conn_entry_t *e)
{
	atomic_store(&e->ready, 1);
}

tn_conn_entry_t *
tn_conn_log_close(gnet_conn_t *c, int reason)
{
	tn_conn_entry_t *e = gnet_conn_context(c);

	if (e == NULL)
		return NULL;
	atomic_store(&e->close_ms, (long)tn_now_ms());
	atomic_store(&e->reason, reason);
	/* Last: the test thread waits on this counter. */
	atomic_fetch_add(&e->closes, 1);
	return e;
}

gnet_handle_t
tn_conn_log_wait_ready(tn_conn_log_t *log, int idx, int timeout_ms)
{
	ck_assert_int_lt(idx, TN_CONN_LOG_MAX);
	TN_WAIT_UNTIL(atomic_load(&log->conn[idx].ready), timeout_ms);
	ck_assert_msg(atomic_load(&log->conn[idx].ready),
	    "connection %d not opened within %d ms", idx, timeout_ms);
	return atomic_load(&log->conn[idx].handle);
}

void
tn_conn_log_wait_closed(tn_conn_log_t *log, int idx, int timeout_ms)
{
	TN_WAIT_UNTIL(atomic_load(&log->conn[idx].closes) == 1, timeout_ms);
	ck_assert_msg(atomic_load(&log->conn[idx].closes) == 1,
	    "connection %d: %d on_close calls within %d ms, want 1", idx,
	    atomic_load(&log->conn[idx].closes), timeout_ms);
}

void
tn_conn_log_assert_reason(tn_conn_log_t *log, int idx, int want,
    const char *what)
{
	int got = atomic_load(&log->conn[idx].reason);

	ck_assert_msg(got == want, "%s: close reason %d (%s), want %d (%s)", what,
	    got, gnet_strerror(got), want, gnet_strerror(want));
}

void
tn_conn_log_assert_closed_once(tn_conn_log_t *log)
{
	int n = atomic_load(&log->taken);

	for (int i = 0; i < n && i < TN_CONN_LOG_MAX; i++)
		ck_assert_msg(atomic_load(&log->conn[i].closes) == 1,
		    "connection %d: on_close ran %d times, want exactly once", i,
		    atomic_load(&log->conn[i].closes));
}
