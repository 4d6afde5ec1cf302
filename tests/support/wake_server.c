/*
 * wake_server.c -- a server that shows what each wake-up delivered (see
 * wake_server.h).
 */
#include "wake_server.h"

#include <check.h>
#include <pthread.h>
#include <string.h>

void
wake_server_init(wake_server_t *w, tn_loop_errors_t *errs)
{
	memset(w, 0, sizeof *w);
	w->errs = errs;
}

static gnet_action_t
wake_server_on_open(gnet_conn_t *c, void *udata)
{
	wake_server_t *w = udata;

	atomic_store(&w->last_handle, gnet_conn_handle(c));
	atomic_fetch_add(&w->opens, 1);
	return GNET_NONE;
}

static gnet_action_t
wake_server_on_traffic(gnet_conn_t *c, void *udata)
{
	wake_server_t *w = udata;
	const void *data = NULL;
	size_t n = gnet_conn_peek(c, &data);
	int k = atomic_load(&w->calls);

	if (k < WAKE_MAX_CALLS) {
		wake_call_t *r = &w->rec[k];
		r->len = n;
		if (n > 0) /* an empty view may be NULL */
			memcpy(r->bytes, data,
			    n < sizeof r->bytes ? n : sizeof r->bytes);
	}
	if (atomic_load(&w->consume) && n > 0) {
		TN_LOOP_CHECK(w->errs, gnet_conn_write(c, data, n) == (long)n);
		TN_LOOP_CHECK(w->errs, gnet_conn_discard(c, n) == (long)n);
	}
	atomic_store(&w->calls, k + 1);
	return GNET_NONE;
}

static void
wake_server_on_close(gnet_conn_t *c, int reason, void *udata)
{
	wake_server_t *w = udata;
	(void)c;
	(void)reason;

	atomic_fetch_add(&w->closes, 1);
}

const gnet_events_t wake_server_events = { .size = sizeof(gnet_events_t),
	.on_open = wake_server_on_open,
	.on_traffic = wake_server_on_traffic,
	.on_close = wake_server_on_close,
};

typedef struct waker_arg {
	gnet_engine_t *eng;
	gnet_handle_t h;
	int rc;
	int loop;                      /* gnet_loop_current() on that thread */
} waker_arg_t;

static void *
waker_main(void *arg)
{
	waker_arg_t *w = arg;

	w->loop = gnet_loop_current();
	w->rc = gnet_conn_wake_async(w->eng, w->h);
	return NULL;
}

int
wake_from_foreign_thread(gnet_engine_t *eng, gnet_handle_t h)
{
	waker_arg_t w = { .eng = eng, .h = h, .rc = 1, .loop = 99 };
	pthread_t th;

	ck_assert_int_eq(pthread_create(&th, NULL, waker_main, &w), 0);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert_int_eq(w.loop, -1);
	return w.rc;
}
