/*
 * The ticker: an actor on loop 0 driven by that loop's timer heap. Each
 * tick is a message to itself, so on_tick runs between the loop's other
 * events, never concurrently with them, and needs no thread of its own
 * (gnet's Go ticker ran on a separate goroutine).
 */
#include <stdlib.h>
#include "kernel/kernel.h"

/* First delay offered to on_tick, before it has chosen one. */
#define TICK_DEFAULT_NS 1000000000ull

typedef struct ticker_state {
	gnet_engine_t *eng;
	uint64_t delay_ns;
} ticker_state_t;

static int
schedule(gnet__loop_t *l, gnet_handle_t self, uint64_t at_ns)
{
	gnet_msg_t m = { .to = self, .from = self, .type = GNET__MSG_TICK };

	return gnet__timers_add(&l->timers, at_ns, &m);
}

static void
ticker_receive(gnet_actor_t *self, const gnet_msg_t *m)
{
	ticker_state_t *st = gnet_actor_state(self);
	gnet_engine_t *eng = st->eng;

	if (m->type != GNET__MSG_TICK || atomic_load(&eng->stop_requested))
		return;
	if (eng->ev.on_tick(eng, &st->delay_ns, eng->udata) == GNET_SHUTDOWN) {
		gnet_engine_stop(eng);
		return;
	}
	if (schedule(gnet__tls_loop, gnet_actor_handle(self),
	    gnet__now_ns() + st->delay_ns) != 0)
		gnet__log(0, "ticker: out of memory, ticks stop");
}

static void
ticker_stop(gnet_actor_t *self)
{
	free(gnet_actor_state(self));
}

int
gnet__ticker_spawn(gnet_engine_t *eng)
{
	gnet_actor_def_t def = { .size = sizeof(def), .receive = ticker_receive, .on_stop = ticker_stop };
	ticker_state_t *st;
	int rc;

	if (eng->ev.on_tick == NULL)
		return 0;
	st = malloc(sizeof(*st));
	if (st == NULL)
		return GNET_ENOMEM;
	st->eng = eng;
	st->delay_ns = TICK_DEFAULT_NS;
	def.state = st;
	rc = gnet_actor_spawn(eng, 0, &def, &eng->ticker);
	if (rc != 0) {
		free(st);
		return rc;
	}
	/* The loop has not started: its timer heap is still ours to touch.
	 * Due at once, so the first tick comes right after start. */
	rc = schedule(eng->loops[0], eng->ticker, 0);
	if (rc != 0)
		gnet_actor_stop_async(eng, eng->ticker);
	return rc;
}
