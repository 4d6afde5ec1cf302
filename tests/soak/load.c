/*
 * The soak's load: one thread per client, looping over sessions of its
 * kind until the soak ends, and the tallies they keep.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include "load.h"

/* Between two reset or garbage sessions: hostile, not a connect flood
 * that would take the CPU from every other kind. */
#define HOSTILE_PAUSE_MS 2

static soak_tally_t tallies[NKINDS + 1] = {
	[K_ECHO] = { .name = "echo churn" },
	[K_PROXY] = { .name = "proxy churn" },
	[K_CODEC] = { .name = "codec frames" },
	[K_HTTP] = { .name = "http pipelined" },
	[K_SLOW] = { .name = "slow reader" },
	[K_RESET] = { .name = "resets" },
	[K_GARBAGE] = { .name = "garbage" },
	[K_NONREAD] = { .name = "non-readers" },
	[K_IDLE] = { .name = "idle" },
};

/* Threads per kind. */
static const int threads_of[NKINDS] = {
	[K_ECHO] = 4, [K_PROXY] = 2, [K_CODEC] = 2, [K_HTTP] = 2,
	[K_SLOW] = 1, [K_RESET] = 1, [K_GARBAGE] = 1, [K_NONREAD] = 1,
	[K_IDLE] = 1,
};

static worker_t *workers;
static int nworkers;

soak_tally_t *
soak_tally(const worker_t *w)
{
	return &tallies[w->kind];
}

soak_tally_t *
soak_tallies(void)
{
	return tallies;
}

/* A session ended before its exchanges were done: expected under
 * visible faults (lenient), a failure otherwise. */
void
soak_cut_short(worker_t *w, const char *what)
{
	soak_tally_t *t = &tallies[w->kind];

	if (w->s->lenient) {
		atomic_fetch_add(&t->cut, 1);
	} else {
		atomic_fetch_add(&t->failures, 1);
		fprintf(stderr, "soak: %s: %s: %s\n", t->name, what,
		    strerror(errno));
	}
}

void
soak_wrong_bytes(worker_t *w, const char *what)
{
	atomic_fetch_add(&tallies[w->kind].failures, 1);
	fprintf(stderr, "soak: %s: WRONG BYTES: %s\n", tallies[w->kind].name,
	    what);
}

void
soak_verified(worker_t *w, size_t bytes)
{
	atomic_fetch_add(&tallies[w->kind].exchanges, 1);
	atomic_fetch_add(&tallies[w->kind].bytes, bytes);
}

static void *
run(void *arg)
{
	worker_t *w = arg;
	size_t cap = FRAMES_MAX * (MAX_FRAME + 4);
	uint8_t *tx = malloc(cap > SLOW_BYTES ? cap : SLOW_BYTES);
	uint8_t *rx = malloc(cap > SLOW_BYTES ? cap : SLOW_BYTES);

	if (tx == NULL || rx == NULL) {
		atomic_fetch_add(&tallies[w->kind].failures, 1);
		goto out;
	}
	if (w->kind == K_IDLE) {
		soak_run_idle(w, (char *)rx, cap);
		goto out;
	}
	while (!soak_over(w->s)) {
		switch (w->kind) {
		case K_ECHO:
			soak_session_echo(w, w->s->port[SRV_ECHO], tx, rx);
			break;
		case K_PROXY:
			soak_session_echo(w, w->s->port[SRV_PROXY], tx, rx);
			break;
		case K_CODEC:
			soak_session_codec(w, w->s->port[SRV_CODEC], tx, rx);
			break;
		case K_HTTP:
			soak_session_http(w, w->s->port[SRV_HTTP], (char *)rx, cap);
			break;
		case K_SLOW:
			soak_session_slow(w, w->s->port[SRV_ECHO], tx, rx);
			break;
		case K_RESET:
			soak_session_reset(w, tx);
			poll(NULL, 0, HOSTILE_PAUSE_MS);
			break;
		case K_GARBAGE:
			soak_session_garbage(w, (char *)rx, cap);
			poll(NULL, 0, HOSTILE_PAUSE_MS);
			break;
		case K_NONREAD:
			soak_session_nonread(w, tx);
			break;
		default:
			break;
		}
	}
out:
	free(tx);
	free(rx);
	return NULL;
}

int
soak_load_start(soak_t *s)
{
	int k, i, n = 0;

	for (k = 0; k < NKINDS; k++)
		nworkers += threads_of[k];
	workers = calloc((size_t)nworkers, sizeof(*workers));
	if (workers == NULL)
		return -1;
	for (k = 0; k < NKINDS; k++) {
		for (i = 0; i < threads_of[k]; i++, n++) {
			workers[n] = (worker_t){ .s = s, .kind = (enum kind)k,
				.rng = 0x50A4ull * (uint64_t)(n + 1) + 1 };
			if (pthread_create(&workers[n].thread, NULL, run,
			    &workers[n]) != 0)
				return -1;
		}
	}
	return 0;
}

void
soak_load_join(void)
{
	for (int n = 0; n < nworkers; n++)
		pthread_join(workers[n].thread, NULL);
	free(workers);
}
