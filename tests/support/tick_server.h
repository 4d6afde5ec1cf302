/*
 * tick_server.h -- a server with an on_tick that records when and where
 * it ran, and an on_traffic that stays "in callback" a while, so a test
 * can prove the ticker runs on loop 0 between that loop's other events,
 * never alongside them.
 *
 * The tick with number stop_after returns GNET_SHUTDOWN; every tick asks
 * for delay_ns until the next. Fields are published by `ticks`, which
 * on_tick stores last. Unexpected results go to *errs.
 */
#ifndef TESTS_SUPPORT_TICK_SERVER_H
#define TESTS_SUPPORT_TICK_SERVER_H

#include <stdatomic.h>
#include <stdint.h>

#include "gnet.h"
#include "testnet.h"

typedef struct tick_server {
	/* behaviour, set before the engine starts */
	int stop_after;                /* this tick returns GNET_SHUTDOWN */
	uint64_t delay_ns;             /* what every tick asks for */

	/* observations from loop 0 */
	atomic_int ticks;
	atomic_int off_loop0;          /* on_tick not on loop 0 */
	atomic_int overlaps;           /* one callback saw the other running */
	atomic_int in_traffic, in_tick;
	atomic_long traffic_calls;
	long traffic_at_last_tick;     /* on_tick only (loop 0) */
	atomic_int busy_ticks;         /* ticks with traffic since the last */
	atomic_uint_least64_t first_preset;
	atomic_int bad_preset;         /* later presets != the delay we set */
	atomic_uint_least64_t first_ns, last_ns, min_gap_ns;
	atomic_int closes;
	atomic_int close_reason;
	tn_loop_errors_t *errs;
} tick_server_t;

extern const gnet_events_t tick_server_events;

void tick_server_init(tick_server_t *t, int stop_after, uint64_t delay_ns,
    tn_loop_errors_t *errs);

#endif
