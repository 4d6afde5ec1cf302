/*
 * soak -- hours of mixed, partly hostile load against the example
 * servers (echo, http, codec_server, and proxy in front of echo), run by
 * `make soak` (SOAK_SECONDS, default 300) and for 60 s by .ci/run.
 *
 * Clients of every kind run at once, each kind on threads of its own:
 * churning echo, proxy and codec exchanges, pipelined HTTP, a slow
 * reader, clients that reset, send garbage, never read, or sit idle.
 * Every completed exchange is checked byte for byte; every 10 s the
 * servers' resident memory and descriptors are sampled and held to
 * bounds; at the end their descriptors must fall back and each must exit
 * 0 on SIGTERM (under ASan: no leak). With GNET_FAULTS set (sanitizer
 * builds, base/fault.h) the servers run under injected faults; --lenient
 * then counts an exchange cut by a visible fault instead of failing it,
 * while a wrong byte still fails.
 */
#ifndef TESTS_SOAK_SOAK_H
#define TESTS_SOAK_SOAK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "support/standalone.h"

enum soak_server { SRV_ECHO, SRV_HTTP, SRV_CODEC, SRV_PROXY, NSERVERS };

/* What the load threads count, per kind of client. */
typedef struct soak_tally {
	const char *name;
	atomic_ulong sessions;     /* connections made */
	atomic_ulong exchanges;    /* completed and verified */
	atomic_ulong bytes;        /* verified bytes */
	atomic_ulong cut;          /* sessions ended early by the server
	                            * (expected for hostile kinds) */
	atomic_ulong failures;     /* wrong bytes, or cut where not allowed */
} soak_tally_t;

typedef struct soak {
	int port[NSERVERS];
	pid_t pid[NSERVERS];
	int64_t end_ms;            /* the load stops then */
	bool lenient;              /* faults may cut any session */
	atomic_bool stop;
} soak_t;

/* tests/soak/load.c: start every load thread; join them. */
int soak_load_start(soak_t *s);
void soak_load_join(void);
/* The tallies, NULL-ended, for the report. */
soak_tally_t *soak_tallies(void);

/* The clock, random bytes and /proc readings are the test support's:
 * tests/support/standalone.h. */

#endif
