/*
 * Fault injection (base/fault.h): the configuration, read once, and the
 * per-thread random draws.
 */
#include "base/fault.h"

#ifdef GNET__FAULTS
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { EINTR_C, SHORT_C, EAGAIN_C, EMFILE_C, RESET_C, ENOMEM_C, NCLASSES };
static const char *const class_names[NCLASSES] = {
	"eintr", "short", "eagain", "emfile", "reset", "enomem"
};

/* Written once under pthread_once, read-only afterwards. */
static double rates[NCLASSES];
static uint64_t seed = 1;
static bool active;
static pthread_once_t once = PTHREAD_ONCE_INIT;
/* Counts only: nothing is ordered by them. */
static atomic_ulong injected[NCLASSES];
static atomic_ulong threads;

static void
report(void)
{
	int k;

	fprintf(stderr, "gnet faults injected:");
	for (k = 0; k < NCLASSES; k++)
		fprintf(stderr, " %s=%lu", class_names[k],
		    atomic_load_explicit(&injected[k], memory_order_relaxed));
	fprintf(stderr, "\n");
}

static void
configure(void)
{
	const char *env = getenv("GNET_FAULTS");
	char buf[256], *save = NULL, *item;
	int k;

	if (env == NULL || env[0] == '\0')
		return;
	snprintf(buf, sizeof(buf), "%s", env);
	for (item = strtok_r(buf, ",", &save); item != NULL;
	    item = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(item, ':');
		if (colon == NULL)
			continue;
		*colon = '\0';
		if (strcmp(item, "seed") == 0)
			seed = strtoull(colon + 1, NULL, 10) | 1;
		for (k = 0; k < NCLASSES; k++)
			if (strcmp(item, class_names[k]) == 0)
				rates[k] = atof(colon + 1);
	}
	active = true;
	atexit(report);
}

/* xorshift64*, one stream per thread, each seeded apart. */
static _Thread_local uint64_t rng;

static double
draw(void)
{
	if (rng == 0)
		rng = (seed + 0x9E3779B97F4A7C15ull * (atomic_fetch_add_explicit(
		    &threads, 1, memory_order_relaxed) + 1)) | 1;
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (double)((rng * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

static bool
hit(int k)
{
	if (rates[k] <= 0 || draw() >= rates[k])
		return false;
	atomic_fetch_add_explicit(&injected[k], 1, memory_order_relaxed);
	return true;
}

int
gnet__fault(enum gnet__fault_site site)
{
	pthread_once(&once, configure);
	if (!active)
		return 0;
	switch (site) {
	case GNET__FAULT_READ:
		if (hit(EINTR_C))
			return EINTR;
		return hit(RESET_C) ? ECONNRESET : 0;
	case GNET__FAULT_SEND:
	case GNET__FAULT_WAIT:
		return hit(EINTR_C) ? EINTR : 0;
	case GNET__FAULT_ACCEPT:
		if (hit(EINTR_C))
			return EINTR;
		if (hit(EAGAIN_C))
			return EAGAIN;
		return hit(EMFILE_C) ? EMFILE : 0;
	case GNET__FAULT_ALLOC:
		return hit(ENOMEM_C) ? ENOMEM : 0;
	}
	return 0;
}

size_t
gnet__fault_short(size_t n)
{
	pthread_once(&once, configure);
	if (!active || n < 2 || !hit(SHORT_C))
		return n;
	return 1 + (size_t)(draw() * (double)(n - 1));
}
#endif
