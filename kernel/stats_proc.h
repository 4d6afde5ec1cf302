/*
 * What the stats segment needs from /proc and the clocks: a process's
 * start time (to tell a live engine from a dead one whose pid was
 * reused), a thread's CPU time, and the cycle counter's rate.
 */
#ifndef GNET_KERNEL_STATS_PROC_H
#define GNET_KERNEL_STATS_PROC_H

#include <stdbool.h>
#include <stdint.h>

/* Process pid's start time in clock ticks since boot, or 0 if unknown. */
uint64_t gnet__proc_start(int pid);
/* Does process pid run, and is it the one that started at `start` (0:
 * any)? A process of another user counts as running. */
bool gnet__proc_alive(int pid, uint64_t start);
/* CPU time (ns) thread tid of process pid has run, from schedstat; 0 if
 * unknown. */
uint64_t gnet__thread_cpu_ns(int pid, int tid);
/* A pair of readings of gnet__cycles() and CLOCK_MONOTONIC, and the
 * cycles per millisecond. Measured once per process (about 2 ms). */
void gnet__cycles_calibrate(uint64_t *cycles, uint64_t *ns,
    uint64_t *per_ms);

#endif
