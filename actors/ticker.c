/*
 * The ticker: an actor on loop 0 driven by that loop's timers. Each tick
 * is a timer message to itself, so on_tick runs between the loop's other
 * events, never concurrently with them, and needs no thread of its own.
 */
#include <stdlib.h>
#include "actors/actors.h"

/* First delay offered to on_tick, before it has chosen one. */
#define TICK_DEFAULT_NS GNET__NS_PER_S

typedef struct ticker {
	gnet_engine_t *eng;
	gnet_handle_t self;
	uint64_t delay_ns;
} ticker_t;

static int
schedule(gnet__loop_t *l, const ticker_t *t, uint64_t at_ns)
{
	gnet_msg_t m = { .to = t->self, .from = t->self, .type = GNET__MSG_TICK };

	return gnet__loop_timer(l, at_ns, &m);
}

static void
ticker_receive(gnet__loop_t *l, void *obj, const gnet_msg_t *m)
{
	ticker_t *t = obj;
	gnet_engine_t *eng = t->eng;

	if (m->type != GNET__MSG_TICK || atomic_load(&eng->stop_requested))
		return;
	if (eng->ev.on_tick(eng, &t->delay_ns, eng->udata) == GNET_SHUTDOWN) {
		gnet_engine_stop(eng);
		return;
	}
	if (schedule(l, t, gnet__now_ns() + t->delay_ns) != 0)
		gnet__log(0, "ticker: out of memory, ticks stop");
}

static void
ticker_stop(gnet__loop_t *l, void *obj)
{
	ticker_t *t = obj;

	gnet__slot_free(l, gnet__handle_slot(t->self));
	free(t);
}

static const gnet__kind_t ticker_kind = {
	.name = "ticker",
	.receive = ticker_receive,
	.stop = ticker_stop,
};

static const gnet__msgtype_t tick_type = { .name = "tick", .timer = true };

static int
ticker_engine_init(gnet_engine_t *eng, void **state)
{
	(void)state;
	return gnet__msgtypes_claim(eng, GNET__MSG_TICK, 1, &tick_type);
}

static int
ticker_start(gnet_engine_t *eng)
{
	gnet__loop_t *l = eng->loops[0];
	ticker_t *t;
	int rc;

	if (eng->ev.on_tick == NULL)
		return 0;
	t = malloc(sizeof(*t));
	if (t == NULL)
		return GNET_ENOMEM;
	t->eng = eng;
	t->delay_ns = TICK_DEFAULT_NS;
	rc = gnet__slot_alloc(l, &ticker_kind, t, &t->self);
	if (rc != 0) {
		free(t);
		return rc;
	}
	/* The loop has not started: its timers are still ours to touch.
	 * Due at once, so the first tick comes right after start. */
	rc = schedule(l, t, 0);
	if (rc != 0)
		ticker_stop(l, t);
	return rc;
}

const gnet__ext_t gnet__ticker_ext = {
	.name = "ticker",
	.engine_init = ticker_engine_init,
	.start = ticker_start,
};
