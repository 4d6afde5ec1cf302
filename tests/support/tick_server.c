/*
 * tick_server.c -- a ticker that records its timing and placement (see
 * tick_server.h).
 */
#include "tick_server.h"

#include <string.h>

/* on_traffic holds "in callback" this long: long enough for an overlap
 * to be seen if the ticker ran on another thread. */
#define TRAFFIC_SPIN_NS 100000

void
tick_server_init(tick_server_t *t, int stop_after, uint64_t delay_ns,
    tn_loop_errors_t *errs)
{
	memset(t, 0, sizeof *t);
	t->stop_after = stop_after;
	t->delay_ns = delay_ns;
	t->errs = errs;
	atomic_store(&t->min_gap_ns, UINT64_MAX);
}

static gnet_action_t
tick_server_on_tick(gnet_engine_t *eng, uint64_t *delay_ns, void *udata)
{
	tick_server_t *t = udata;
	uint64_t now = tn_now_ns();
	(void)eng;

	atomic_store(&t->in_tick, 1);
	if (atomic_load(&t->in_traffic))
		atomic_fetch_add(&t->overlaps, 1);
	if (gnet_loop_current() != 0)
		atomic_fetch_add(&t->off_loop0, 1);

	int n = atomic_load(&t->ticks) + 1;
	if (n == 1) {
		atomic_store(&t->first_preset, *delay_ns);
		atomic_store(&t->first_ns, now);
	} else {
		uint64_t gap = now - atomic_load(&t->last_ns);
		if (gap < atomic_load(&t->min_gap_ns))
			atomic_store(&t->min_gap_ns, gap);
		/* Preset to the previous delay. */
		if (*delay_ns != t->delay_ns)
			atomic_fetch_add(&t->bad_preset, 1);
	}
	atomic_store(&t->last_ns, now);

	long tc = atomic_load(&t->traffic_calls);
	if (n > 1 && tc != t->traffic_at_last_tick)
		atomic_fetch_add(&t->busy_ticks, 1);
	t->traffic_at_last_tick = tc;

	*delay_ns = t->delay_ns;
	atomic_store(&t->in_tick, 0);
	/* Last: the test thread reads the fields above after seeing it. */
	atomic_store(&t->ticks, n);
	return n == t->stop_after ? GNET_SHUTDOWN : GNET_NONE;
}

static gnet_action_t
tick_server_on_traffic(gnet_conn_t *c, void *udata)
{
	tick_server_t *t = udata;
	const void *data;

	atomic_store(&t->in_traffic, 1);
	if (atomic_load(&t->in_tick))
		atomic_fetch_add(&t->overlaps, 1);
	uint64_t until = tn_now_ns() + TRAFFIC_SPIN_NS;
	while (tn_now_ns() < until)
		if (atomic_load(&t->in_tick))
			atomic_fetch_add(&t->overlaps, 1);
	size_t n = gnet_conn_peek(c, &data);
	TN_LOOP_CHECK(t->errs, gnet_conn_discard(c, n) == (long)n);
	atomic_fetch_add(&t->traffic_calls, 1);
	atomic_store(&t->in_traffic, 0);
	return GNET_NONE;
}

static void
tick_server_on_close(gnet_conn_t *c, int reason, void *udata)
{
	tick_server_t *t = udata;
	(void)c;

	atomic_store(&t->close_reason, reason);
	atomic_fetch_add(&t->closes, 1);
}

const gnet_events_t tick_server_events = { .size = sizeof(gnet_events_t),
	.on_tick = tick_server_on_tick,
	.on_traffic = tick_server_on_traffic,
	.on_close = tick_server_on_close,
};
