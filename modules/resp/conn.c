/*
 * A connection's life and its replies: open (its CLIENT ID), the queue
 * of replies it owes in request order (resp.h), and close, which orphans
 * the envelopes still out. Its commands are read and run in traffic.c.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "resp.h"

int
resp_conn_init_api(GnetModuleCtx *ctx)
{
	return GnetModule_InitApi(ctx);
}

int
resp_on_open(GnetConn *c, void *udata)
{
	resp_server_t *srv = udata;
	resp_conn_t *rc = GnetModule_ConnState(c);
	resp_loop_t *lp = resp_loop_of(srv, c);

	if (rc == NULL || lp == NULL)
		return GNETMODULE_CLOSE;
	rc->id = __atomic_add_fetch(&srv->next_client_id, 1, __ATOMIC_RELAXED);
	RESP_COUNT(lp, RST_CONNS_OPENED, 1);
	RESP_COUNT(lp, RST_CONNS_OPEN, 1);
	return GNETMODULE_CONTINUE;
}

void
resp_on_close(GnetConn *c, int reason, void *udata)
{
	resp_server_t *srv = udata;
	resp_conn_t *rc = GnetModule_ConnState(c);
	resp_loop_t *lp = resp_loop_of(srv, c);
	envelope_t *e, *next;

	(void)reason;
	if (rc == NULL)
		return;
	/* Envelopes still travelling are freed when they come back; the
	 * rest go now. */
	for (e = rc->head; e != NULL; e = next) {
		next = e->next;
		e->next = NULL;
		e->rc = NULL;
		e->conn = NULL;
		if (e->ready)
			resp_envelope_free(e);
	}
	rc->head = rc->tail = NULL;
	rc->owed = 0;
	free(rc->name);
	rc->name = NULL;
	if (lp != NULL)
		RESP_COUNT(lp, RST_CONNS_OPEN, (uint64_t)-1);
}

void
resp_conn_enqueue(resp_loop_t *lp, resp_conn_t *rc, GnetConn *c,
    envelope_t *e)
{
	e->next = NULL;
	if (rc->tail != NULL)
		rc->tail->next = e;
	else
		rc->head = e;
	rc->tail = e;
	rc->owed++;
	/* Replies owed are memory the peer's reading does not bound (they
	 * are not in the outbound buffer yet): stop taking commands until
	 * they drain. */
	if (!rc->paused && rc->owed >= (uint32_t)lp->srv->max_pending) {
		rc->paused = 1;
		GnetModule_SetReading(c, 0);
		RESP_COUNT(lp, RST_PAUSED, 1);
	}
}

int
resp_conn_emit(resp_loop_t *lp, resp_conn_t *rc, GnetConn *c, const char *p,
    size_t n)
{
	envelope_t *e;

	if (rc->head == NULL) {
		GnetModule_Write(c, p, n);
		return 0;
	}
	e = calloc(1, sizeof *e + n);
	if (e == NULL)
		return -1;
	e->kind = ENV_HELD;
	e->rc = rc;
	e->conn = c;
	e->home = lp;
	e->ready = 1;
	e->reply = (char *)(e + 1);
	memcpy(e->reply, p, n);
	e->reply_len = n;
	resp_conn_enqueue(lp, rc, c, e);
	return 0;
}

void
resp_conn_drain(resp_loop_t *lp, resp_conn_t *rc, GnetConn *c)
{
	envelope_t *e;

	while ((e = rc->head) != NULL && e->ready) {
		rc->head = e->next;
		if (rc->head == NULL)
			rc->tail = NULL;
		rc->owed--;
		GnetModule_Write(c, e->reply, e->reply_len);
		resp_envelope_free(e);
	}
	if (rc->paused && rc->owed <= (uint32_t)lp->srv->max_pending / 2) {
		rc->paused = 0;
		GnetModule_SetReading(c, 1);
	}
	if (rc->closing && rc->head == NULL)
		GnetModule_Close(c);
}
