/*
 * engine_stats.c -- per-loop and summed engine counters (see
 * engine_stats.h).
 */
#include "engine_stats.h"

#include <check.h>

gnet_loop_stats_t
tn_loop_stats(const gnet_engine_t *eng, int loop)
{
	gnet_loop_stats_t st = { .size = sizeof(gnet_loop_stats_t) };

	ck_assert_int_eq(gnet_engine_loop_stats(eng, loop, &st), 0);
	return st;
}

gnet_loop_stats_t
tn_loop_stats_sum(const gnet_engine_t *eng)
{
	gnet_loop_stats_t sum = { .size = sizeof(gnet_loop_stats_t) };

	for (int i = 0; i < gnet_engine_num_loops(eng); i++) {
		gnet_loop_stats_t st = tn_loop_stats(eng, i);
		sum.iterations += st.iterations;
		sum.msgs_in += st.msgs_in;
		sum.msgs_out += st.msgs_out;
		sum.msgs_dropped += st.msgs_dropped;
		if (st.mailbox_hwm > sum.mailbox_hwm)
			sum.mailbox_hwm = st.mailbox_hwm;
		sum.overflowed += st.overflowed;
		sum.wakeups += st.wakeups;
		sum.conns += st.conns;
		sum.actors += st.actors;
		sum.accepted += st.accepted;
		sum.udp_in += st.udp_in;
		sum.udp_out += st.udp_out;
		sum.udp_dropped += st.udp_dropped;
		sum.syscalls_io += st.syscalls_io;
	}
	return sum;
}
