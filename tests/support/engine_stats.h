/*
 * engine_stats.h -- an engine's per-loop counters (gnet_loop_stats_t), as
 * the suites assert on them.
 *
 * Both calls fail the current test if the library refuses to report, so
 * an assertion on a counter never compares against an unfilled struct.
 * They may be called from any thread, also while the engine runs.
 */
#ifndef TESTS_SUPPORT_ENGINE_STATS_H
#define TESTS_SUPPORT_ENGINE_STATS_H

#include "gnet.h"

/* The counters of loop `loop`. */
gnet_loop_stats_t tn_loop_stats(const gnet_engine_t *eng, int loop);
/* Every loop's counters added up (mailbox_hwm: the deepest of them). */
gnet_loop_stats_t tn_loop_stats_sum(const gnet_engine_t *eng);

#endif
