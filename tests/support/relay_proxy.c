/*
 * relay_proxy.c -- a proxy whose accepted connections dial their backend
 * from on_open (see relay_proxy.h).
 */
#include "relay_proxy.h"

#include <stdlib.h>

#define LOOP_CHECK(px, cond) TN_LOOP_CHECK((px)->errs, cond)

/* The context of both legs of one relayed connection. */
typedef struct relay_pair {
	gnet_handle_t front, back;
	int loop;
	int refs;               /* connections still holding the pair */
} relay_pair_t;

static gnet_action_t
relay_on_open(gnet_conn_t *c, void *udata)
{
	relay_proxy_t *px = udata;
	gnet_engine_t *eng = gnet_conn_engine(c);
	int loop = gnet_conn_loop_index(c);

	if (!gnet_conn_is_outbound(c)) {
		relay_pair_t *p = calloc(1, sizeof *p);
		LOOP_CHECK(px, p != NULL);
		if (p == NULL)
			return GNET_CLOSE;
		p->front = gnet_conn_handle(c);
		p->loop = loop;
		p->refs = 2;
		gnet_conn_set_context(c, p);
		/* Hold the client until the backend is there. */
		LOOP_CHECK(px, gnet_conn_set_reading(c, 0) == 0);
		gnet_dial_options_t o = { .size = sizeof(gnet_dial_options_t),
			.loop = -1, .ctx = p };
		int rc = gnet_engine_dial(eng, px->backend, &o, &p->back);
		LOOP_CHECK(px, rc == 0);
		/* On a loop, loop -1 means this loop: the handle is known now. */
		LOOP_CHECK(px, p->back != GNET_HANDLE_NONE);
		if (rc != 0) {
			p->refs = 1;
			return GNET_CLOSE;
		}
		atomic_fetch_add(&px->fronts, 1);
		return GNET_NONE;
	}
	relay_pair_t *p = gnet_conn_context(c);
	gnet_conn_t *front = NULL;
	LOOP_CHECK(px, p != NULL);
	if (p == NULL)
		return GNET_CLOSE;
	LOOP_CHECK(px, gnet_conn_handle(c) == p->back);
	if (loop == p->loop)
		atomic_fetch_add(&px->same_loop, 1);
	if (loop >= 0 && loop < GNET_MAX_LOOPS)
		atomic_fetch_add(&px->loop_backs[loop], 1);
	if (gnet_conn_lookup(eng, p->front, &front) == 0)
		LOOP_CHECK(px, gnet_conn_set_reading(front, 1) == 0);
	atomic_fetch_add(&px->backs, 1);
	return GNET_NONE;
}

static gnet_action_t
relay_on_traffic(gnet_conn_t *c, void *udata)
{
	relay_proxy_t *px = udata;
	relay_pair_t *p = gnet_conn_context(c);
	gnet_conn_t *other = NULL;
	const void *data = NULL;
	size_t n = gnet_conn_peek(c, &data);

	if (p != NULL && n > 0 && gnet_conn_lookup(gnet_conn_engine(c),
	    gnet_conn_is_outbound(c) ? p->front : p->back, &other) == 0)
		LOOP_CHECK(px, gnet_conn_write(other, data, n) == (long)n);
	gnet_conn_discard(c, n);
	return GNET_NONE;
}

static void
relay_unref(relay_pair_t *p)
{
	if (--p->refs == 0)
		free(p);
}

static void
relay_on_close(gnet_conn_t *c, int reason, void *udata)
{
	relay_proxy_t *px = udata;
	relay_pair_t *p = gnet_conn_context(c);
	gnet_conn_t *other = NULL;
	(void)reason;

	if (p != NULL) {
		if (gnet_conn_lookup(gnet_conn_engine(c),
		    gnet_conn_is_outbound(c) ? p->front : p->back, &other) == 0)
			gnet_conn_close(other);
		relay_unref(p);
	}
	atomic_fetch_add(&px->closes, 1);
}

static void
relay_on_dial_error(gnet_engine_t *eng, gnet_handle_t h, void *ctx, int err,
    void *udata)
{
	relay_proxy_t *px = udata;
	relay_pair_t *p = ctx;
	gnet_conn_t *front = NULL;
	(void)h;
	(void)err;

	atomic_fetch_add(&px->dial_errors, 1);
	if (p == NULL)
		return;
	if (gnet_conn_lookup(eng, p->front, &front) == 0)
		gnet_conn_close(front);
	relay_unref(p);
}

const gnet_events_t relay_proxy_events = { .size = sizeof(gnet_events_t),
	.on_open = relay_on_open,
	.on_traffic = relay_on_traffic,
	.on_close = relay_on_close,
	.on_dial_error = relay_on_dial_error,
};
