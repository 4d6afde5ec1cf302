/*
 * pool_server.h -- a server that hands requests to the blocking-worker
 * pool (gnet_conn_submit) and records everything the pool did with them.
 *
 * Protocol: 8 ASCII bytes, a kind letter and a 7-digit id. "J<id>" asks
 * for a job that sleeps job_ms on a pool thread and replies "R<id>";
 * "E<id>" is echoed at once by the loop. A submit refused with
 * GNET_EAGAIN leaves the request buffered (the connection is woken for
 * it later); the retry is counted. A reply owns a heap copy of its text,
 * freed by on_message or on_dropped, so ASan sees a leak or a double.
 *
 * Unexpected results on loop and pool threads go to *errs. Counters a
 * test waits on are updated last.
 */
#ifndef TESTS_SUPPORT_POOL_SERVER_H
#define TESTS_SUPPORT_POOL_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "gnet.h"
#include "testnet.h"

#define POOL_REQ_LEN 8
#define POOL_KIND_JOB 'J'       /* ask for a job, reply "R<id>" */
#define POOL_KIND_ECHO 'E'      /* echoed back at once */
#define POOL_KIND_REPLY 'R'
#define POOL_REPLY_TYPE (GNET_MSG_USER + 11)
#define POOL_MAX_IDS 128

typedef struct pool_server {
	int job_ms;                    /* set before start */
	atomic_int submits_ok, submits_eagain;
	atomic_int jobs_started, jobs_done, cancels;
	atomic_int inflight;
	atomic_size_t max_inflight;
	atomic_int replies;            /* on_message deliveries */
	atomic_int dropped;            /* on_dropped calls */
	atomic_int dropped_ok;         /* ... with the expected type/payload */
	atomic_int dropped_id;
	atomic_uint_least64_t dropped_to;
	atomic_uint_least64_t last_handle;
	atomic_int opens, closes;
	atomic_int per_id_submits[POOL_MAX_IDS];
	atomic_int per_id_eagain[POOL_MAX_IDS];
	atomic_int per_id_retries[POOL_MAX_IDS];
	atomic_int per_id_replies[POOL_MAX_IDS];
	tn_loop_errors_t *errs;
} pool_server_t;

typedef struct pool_job {
	pool_server_t *ps;
	int id;
} pool_job_t;

extern const gnet_events_t pool_server_events;

void pool_server_init(pool_server_t *ps, int job_ms, tn_loop_errors_t *errs);

/* A message of the protocol: kind and id into out (NUL-ended). */
void pool_fmt_msg(char out[POOL_REQ_LEN + 1], char kind, unsigned id);
/* The id of an 8-byte message, or -1 if the digits are malformed. */
int pool_parse_id(const char *p);

/* The job for request `id` (NULL when out of memory), and the functions
 * to submit it with: the job sleeps and replies, the cancel counts. Both
 * free the job. */
pool_job_t *pool_job_new(pool_server_t *ps, int id);
void pool_job_fn(void *arg, gnet_msg_t *reply);
void pool_cancel_fn(void *arg);

/* Connect k clients whose request is "J<i>" and expected reply "R<i>",
 * ready for tn_pump; tx and rx hold the texts. */
void pool_job_clients(tn_client_t *cl, char (*tx)[POOL_REQ_LEN + 1],
    char (*rx)[POOL_REQ_LEN + 1], int k, int port);

/* A client on its own thread that echoes "E<n>" in a loop and keeps the
 * worst round trip. The caller connects fd, starts pool_prober_main on
 * `thread` and sets `stop` to end it. */
typedef struct pool_prober {
	int fd;
	pthread_t thread;
	atomic_int stop;
	atomic_int rounds;
	atomic_int failures;
	atomic_long max_rtt_us;
} pool_prober_t;

void *pool_prober_main(void *arg);

#endif
