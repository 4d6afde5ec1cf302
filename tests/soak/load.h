/*
 * What the soak's load files share (tests/soak/load.c, client.c,
 * sessions.c): the kinds of client, a client thread, and the calls a
 * session makes. Not part of the soak's interface (soak.h).
 */
#ifndef TESTS_SOAK_LOAD_H
#define TESTS_SOAK_LOAD_H

#include <pthread.h>
#include "soak.h"

/* Every socket call of a client may wait this long (SO_RCVTIMEO,
 * SO_SNDTIMEO). */
#define SOAK_IO_TIMEOUT_S 10

/* Room a client thread has for what it sends and receives. */
#define MAX_ECHO (256 * 1024)
#define MAX_FRAME (64 * 1024)
#define FRAMES_MAX 8
#define SLOW_BYTES (512 * 1024)

enum kind {
	K_ECHO, K_PROXY, K_CODEC, K_HTTP, K_SLOW, K_RESET, K_GARBAGE,
	K_NONREAD, K_IDLE, NKINDS
};

typedef struct worker {
	soak_t *s;
	enum kind kind;
	uint64_t rng;
	pthread_t thread;
} worker_t;

/* tests/soak/client.c: sockets with a timeout on every call, and
 * whether the soak is over. */
bool soak_over(const soak_t *s);
int soak_connect(int port, int rcvbuf);
void soak_close_rst(int fd);
bool soak_send_all(int fd, const void *p, size_t n);
bool soak_recv_exact(int fd, void *p, size_t n);

/* tests/soak/load.c: the tally of w's kind, and what a session tells it. */
soak_tally_t *soak_tally(const worker_t *w);
void soak_cut_short(worker_t *w, const char *what);
void soak_wrong_bytes(worker_t *w, const char *what);
void soak_verified(worker_t *w, size_t bytes);

/* tests/soak/sessions.c: one session of each kind. */
void soak_session_echo(worker_t *w, int port, uint8_t *tx, uint8_t *rx);
void soak_session_codec(worker_t *w, int port, uint8_t *tx, uint8_t *rx);
void soak_session_http(worker_t *w, int port, char *buf, size_t cap);
void soak_session_slow(worker_t *w, int port, uint8_t *tx, uint8_t *rx);
void soak_session_reset(worker_t *w, uint8_t *tx);
void soak_session_garbage(worker_t *w, char *buf, size_t cap);
void soak_session_nonread(worker_t *w, uint8_t *tx);
/* The idle kind's one long session. */
void soak_run_idle(worker_t *w, char *buf, size_t cap);

#endif
