/*
 * resp_diff.h -- one corpus case run on a server, and two runs compared
 * byte for byte after the case's masks.
 *
 * A run uses a fresh connection. It sends each segment in one write,
 * reads the segment's replies, and, unless the case ends with the
 * connection closing, sends a last PING whose +PONG proves that no reply
 * was missing or extra and the connection still works. Every wait is
 * bounded by the case's timeout; a run that ran out of time is a
 * difference, never a pass.
 */
#ifndef TESTS_SUPPORT_RESP_DIFF_H
#define TESTS_SUPPORT_RESP_DIFF_H

#include <stddef.h>
#include <stdint.h>

#include "redis_peer.h"
#include "resp_corpus.h"

typedef struct tn_resp_run {
	tn_resp_in_t in;          /* every reply byte of the case */
	int closed;               /* the server closed the connection */
	int timed_out;            /* a read ran out of time */
	int want;                 /* replies expected (-1: until close) */
	char sync[64];            /* what came for the last PING ("" none) */
	char error[160];          /* a failure of the run itself, or "" */
} tn_resp_run_t;

void tn_resp_run_case(const tn_resp_case_t *k, int port, tn_resp_run_t *run);
void tn_resp_run_free(tn_resp_run_t *run);

/* Compare a run on the reference (a) with one on the server under test
 * (b; b_ours: gnetd+resp, so the case's "ours:" replies apply). 1 when
 * they agree; else 0 and *report (malloc'd, the caller frees) says in
 * what, with both sides escaped. */
int tn_resp_compare(const tn_resp_case_t *k, const tn_resp_run_t *a,
    const tn_resp_run_t *b, int b_ours, char **report);

/* Bytes escaped for a message (\r \n \xHH), cut after `max` input bytes
 * with the full length noted; returns out. */
char *tn_resp_escape(const uint8_t *p, size_t n, size_t max, char *out,
    size_t cap);

#endif
