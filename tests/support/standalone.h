/*
 * standalone.h -- the test support that needs no Check: the clock,
 * deterministic random bytes, and what /proc tells of a process. The
 * Check suites see it through testnet.h; the soak (tests/soak/), which is
 * not a Check program, links it alone.
 */
#ifndef TESTS_SUPPORT_STANDALONE_H
#define TESTS_SUPPORT_STANDALONE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

int64_t tn_now_ms(void); /* CLOCK_MONOTONIC in milliseconds */
uint64_t tn_now_ns(void); /* CLOCK_MONOTONIC in nanoseconds */

/* Deterministic pseudo-random bytes (xorshift64*); seed 0 is remapped. */
void tn_fill_random(void *buf, size_t n, uint64_t seed);
/* One xorshift64* step: the next value of the sequence in *state (which
 * must not be 0), the generator behind tn_fill_random. */
uint64_t tn_rng_next(uint64_t *state);

/* Resident set size of process pid (0: this one) in KiB; -1 when its
 * status cannot be read (the process is gone) or has no VmRSS line. */
long tn_proc_rss_kb(pid_t pid);
/* Entries of /proc/PID/what ("fd", "task"), or -1 when it cannot be
 * read (the process is gone). */
int tn_proc_count(pid_t pid, const char *what);

#endif
