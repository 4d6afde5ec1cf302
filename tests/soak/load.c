/*
 * The soak's clients: one thread per client, looping over sessions of
 * its kind until the soak ends. Blocking sockets with a timeout on every
 * call, so a server that stops answering fails a session instead of
 * hanging the soak.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include "soak.h"

#define IO_TIMEOUT_S 10
#define MAX_ECHO (256 * 1024)
#define MAX_FRAME (64 * 1024)
#define FRAMES_MAX 8
#define SLOW_BYTES (512 * 1024)
#define SLOW_CHUNK (32 * 1024)
#define SLOW_PAUSE_MS 20
#define NONREAD_MAX ((size_t)16 * 1024 * 1024)
#define NONREAD_STALL_MS 500
#define NONREAD_HOLD_MS 1000
#define IDLE_ECHO 50
#define IDLE_CHECK_MS 5000
#define HTTP_BODY "Hello, World!"
#define HTTP_REQ "GET / HTTP/1.1\r\nHost: soak\r\n\r\n"
#define HTTP_HEAD_LATE_MS 10000
/* Between two reset or garbage sessions: hostile, not a connect flood
 * that would take the CPU from every other kind. */
#define HOSTILE_PAUSE_MS 2

enum kind {
	K_ECHO, K_PROXY, K_CODEC, K_HTTP, K_SLOW, K_RESET, K_GARBAGE,
	K_NONREAD, K_IDLE, NKINDS
};

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

typedef struct worker {
	soak_t *s;
	enum kind kind;
	uint64_t rng;
	pthread_t thread;
} worker_t;

static worker_t *workers;
static int nworkers;

soak_tally_t *
soak_tallies(void)
{
	return tallies;
}

static uint64_t
next(uint64_t *r)
{
	*r ^= *r >> 12;
	*r ^= *r << 25;
	*r ^= *r >> 27;
	return *r * 2685821657736338717ull;
}

static void
fill(uint8_t *p, size_t n, uint64_t seed)
{
	uint64_t r = seed | 1;

	for (size_t i = 0; i < n; i++) {
		if ((i & 7) == 0)
			r = next(&r) | 1;
		p[i] = (uint8_t)(r >> ((i & 7) * 8));
	}
}

static bool
over(const soak_t *s)
{
	return atomic_load(&s->stop) || soak_now_ms() >= s->end_ms;
}

static int
connect_port(int port, int rcvbuf)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
		.sin_port = htons((uint16_t)port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timeval tv = { .tv_sec = IO_TIMEOUT_S };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (connect(fd, (struct sockaddr *)&sin, sizeof sin) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
close_rst(int fd)
{
	struct linger lg = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	close(fd);
}

static bool
send_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n > 0) {
		ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		b += w;
		n -= (size_t)w;
	}
	return true;
}

static bool
recv_exact(int fd, void *p, size_t n)
{
	uint8_t *b = p;

	while (n > 0) {
		ssize_t r = recv(fd, b, n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		b += r;
		n -= (size_t)r;
	}
	return true;
}

/* A session ended before its exchanges were done: expected under
 * visible faults (lenient), a failure otherwise. */
static void
cut_short(worker_t *w, const char *what)
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

static void
wrong_bytes(worker_t *w, const char *what)
{
	atomic_fetch_add(&tallies[w->kind].failures, 1);
	fprintf(stderr, "soak: %s: WRONG BYTES: %s\n", tallies[w->kind].name,
	    what);
}

static void
verified(worker_t *w, size_t bytes)
{
	atomic_fetch_add(&tallies[w->kind].exchanges, 1);
	atomic_fetch_add(&tallies[w->kind].bytes, bytes);
}

/* Echo (direct or through the proxy): exchanges of random sizes. */
static void
session_echo(worker_t *w, int port, uint8_t *tx, uint8_t *rx)
{
	int fd = connect_port(port, 0), k, n = 1 + (int)(next(&w->rng) % 20);

	atomic_fetch_add(&tallies[w->kind].sessions, 1);
	if (fd < 0) {
		cut_short(w, "connect");
		return;
	}
	for (k = 0; k < n && !over(w->s); k++) {
		size_t len = 1 + next(&w->rng) % MAX_ECHO;
		fill(tx, len, next(&w->rng));
		if (!send_all(fd, tx, len) || !recv_exact(fd, rx, len)) {
			cut_short(w, "exchange");
			break;
		}
		if (memcmp(tx, rx, len) != 0) {
			wrong_bytes(w, "echo differs");
			break;
		}
		verified(w, len);
	}
	close(fd);
}

/* codec_server: frames pipelined, then read back. */
static void
session_codec(worker_t *w, int port, uint8_t *tx, uint8_t *rx)
{
	int fd = connect_port(port, 0), k;
	int n = 1 + (int)(next(&w->rng) % FRAMES_MAX);
	size_t lens[FRAMES_MAX], off = 0, total = 0;
	uint64_t seed = next(&w->rng);

	atomic_fetch_add(&tallies[w->kind].sessions, 1);
	if (fd < 0) {
		cut_short(w, "connect");
		return;
	}
	for (k = 0; k < n; k++) {
		uint32_t be;
		lens[k] = next(&w->rng) % MAX_FRAME;
		be = htonl((uint32_t)lens[k]);
		memcpy(tx + off, &be, 4);
		fill(tx + off + 4, lens[k], seed + (uint64_t)k);
		off += 4 + lens[k];
	}
	if (!send_all(fd, tx, off)) {
		cut_short(w, "send frames");
		close(fd);
		return;
	}
	for (k = 0; k < n; k++) {
		uint32_t be;
		if (!recv_exact(fd, &be, 4)) {
			cut_short(w, "read a frame header");
			break;
		}
		if ((size_t)ntohl(be) != lens[k]) {
			wrong_bytes(w, "frame length differs");
			break;
		}
		if (!recv_exact(fd, rx, lens[k])) {
			cut_short(w, "read a frame");
			break;
		}
		fill(tx, lens[k], seed + (uint64_t)k);
		if (memcmp(tx, rx, lens[k]) != 0) {
			wrong_bytes(w, "frame differs");
			break;
		}
		total += lens[k];
	}
	if (k == n)
		verified(w, total);
	close(fd);
}

/* One HTTP response from fd, through buf (holding *have bytes): 1 when
 * it is a 200 with the example's body, 0 on a wrong one, -1 when cut. */
static int
http_response(int fd, char *buf, size_t cap, size_t *have)
{
	char *end, *cl;
	size_t head, body;

	for (;;) {
		buf[*have] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (end != NULL)
			break;
		ssize_t r = recv(fd, buf + *have, cap - 1 - *have, 0);
		if (r <= 0)
			return -1;
		*have += (size_t)r;
	}
	head = (size_t)(end - buf) + 4;
	cl = strstr(buf, "Content-Length: ");
	if (strncmp(buf, "HTTP/1.1 200 ", 13) != 0 || cl == NULL || cl > end)
		return 0;
	body = strtoul(cl + 16, NULL, 10);
	while (*have < head + body) {
		ssize_t r = recv(fd, buf + *have, cap - 1 - *have, 0);
		if (r <= 0)
			return -1;
		*have += (size_t)r;
	}
	if (body != strlen(HTTP_BODY) || memcmp(buf + head, HTTP_BODY, body) != 0)
		return 0;
	memmove(buf, buf + head + body, *have - head - body);
	*have -= head + body;
	return 1;
}

static void
session_http(worker_t *w, int port, char *buf, size_t cap)
{
	int fd = connect_port(port, 0), k, n = 1 + (int)(next(&w->rng) % 10);
	size_t have = 0;
	char req[10 * sizeof(HTTP_REQ)];

	atomic_fetch_add(&tallies[w->kind].sessions, 1);
	if (fd < 0) {
		cut_short(w, "connect");
		return;
	}
	for (k = 0; k < n; k++)
		memcpy(req + (size_t)k * (sizeof(HTTP_REQ) - 1), HTTP_REQ,
		    sizeof(HTTP_REQ) - 1);
	if (!send_all(fd, req, (size_t)n * (sizeof(HTTP_REQ) - 1))) {
		cut_short(w, "send requests");
		close(fd);
		return;
	}
	for (k = 0; k < n; k++) {
		int rc = http_response(fd, buf, cap, &have);
		if (rc < 0) {
			cut_short(w, "read responses");
			break;
		}
		if (rc == 0) {
			wrong_bytes(w, "not the example's 200");
			break;
		}
		verified(w, strlen(HTTP_BODY));
	}
	close(fd);
}

/* Sends, then takes the echo back SLOW_CHUNK at a time. */
static void
session_slow(worker_t *w, int port, uint8_t *tx, uint8_t *rx)
{
	int fd = connect_port(port, 16 * 1024);
	size_t got;

	atomic_fetch_add(&tallies[w->kind].sessions, 1);
	if (fd < 0) {
		cut_short(w, "connect");
		return;
	}
	fill(tx, SLOW_BYTES, next(&w->rng));
	if (!send_all(fd, tx, SLOW_BYTES)) {
		cut_short(w, "send");
		close(fd);
		return;
	}
	for (got = 0; got < SLOW_BYTES; got += SLOW_CHUNK) {
		if (!recv_exact(fd, rx + got, SLOW_CHUNK)) {
			cut_short(w, "slow read");
			close(fd);
			return;
		}
		poll(NULL, 0, SLOW_PAUSE_MS);
	}
	if (memcmp(tx, rx, SLOW_BYTES) != 0)
		wrong_bytes(w, "slow echo differs");
	else
		verified(w, SLOW_BYTES);
	close(fd);
}

/* Connects anywhere, sends a little, resets. */
static void
session_reset(worker_t *w, uint8_t *tx)
{
	int srv = (int)(next(&w->rng) % NSERVERS);
	int fd = connect_port(w->s->port[srv], 0);
	size_t len = next(&w->rng) % 4096;

	atomic_fetch_add(&tallies[w->kind].sessions, 1);
	if (fd < 0)
		return;
	fill(tx, len, next(&w->rng));
	(void)send_all(fd, tx, len);
	close_rst(fd);
	verified(w, 0);
}

/* Garbage the codec and HTTP servers must refuse by closing. */
static void
session_garbage(worker_t *w, char *buf, size_t cap)
{
	static const uint8_t huge[4] = { 0x7f, 0xff, 0xff, 0xff };
	static const char junk[] = "BLAH\r\n\r\n";
	bool http = next(&w->rng) & 1;
	int fd = connect_port(w->s->port[http ? SRV_HTTP : SRV_CODEC], 0);
	ssize_t r;

	atomic_fetch_add(&tallies[w->kind].sessions, 1);
	if (fd < 0) {
		cut_short(w, "connect");
		return;
	}
	if (!(http ? send_all(fd, junk, sizeof junk - 1) :
	    send_all(fd, huge, sizeof huge))) {
		close(fd);
		return;
	}
	/* An answer (HTTP 400) may come first; then the end. */
	while ((r = recv(fd, buf, cap - 1, 0)) > 0)
		;
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		atomic_fetch_add(&tallies[w->kind].failures, 1);
		fprintf(stderr, "soak: garbage was not refused in %d s\n",
		    IO_TIMEOUT_S);
	} else {
		atomic_fetch_add(&tallies[w->kind].cut, 1);
		verified(w, 0);
	}
	close(fd);
}

/* Sends until the echo server stops taking bytes, holds, resets. */
static void
session_nonread(worker_t *w, uint8_t *tx)
{
	int fd = connect_port(w->s->port[SRV_ECHO], 8192);
	size_t sent = 0;

	atomic_fetch_add(&tallies[w->kind].sessions, 1);
	if (fd < 0) {
		cut_short(w, "connect");
		return;
	}
	memset(tx, 'n', MAX_ECHO);
	while (sent < NONREAD_MAX) {
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };
		if (poll(&pfd, 1, NONREAD_STALL_MS) != 1)
			break;
		ssize_t n = send(fd, tx, MAX_ECHO, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n <= 0 && errno != EAGAIN)
			break;
		sent += n > 0 ? (size_t)n : 0;
	}
	if (sent >= NONREAD_MAX) {
		atomic_fetch_add(&tallies[w->kind].failures, 1);
		fprintf(stderr, "soak: echo took %zu bytes from a client that "
		    "reads nothing\n", sent);
	} else {
		verified(w, 0);
	}
	poll(NULL, 0, NONREAD_HOLD_MS);
	close_rst(fd);
}

/* Idle echo connections held all along (echo has no idle timeout: they
 * must stay), and idle HTTP ones, which the head timeout must end. */
static void
run_idle(worker_t *w, char *buf, size_t cap)
{
	int fds[IDLE_ECHO], i;

	for (i = 0; i < IDLE_ECHO; i++) {
		fds[i] = connect_port(w->s->port[SRV_ECHO], 0);
		atomic_fetch_add(&tallies[w->kind].sessions, 1);
	}
	while (!over(w->s)) {
		int64_t t0 = soak_now_ms();
		int fd = connect_port(w->s->port[SRV_HTTP], 0);
		ssize_t r;
		if (fd >= 0) {
			atomic_fetch_add(&tallies[w->kind].sessions, 1);
			r = recv(fd, buf, cap - 1, 0);
			if (r > 0 && strncmp(buf, "HTTP/1.1 408 ", 13) == 0 &&
			    soak_now_ms() - t0 < HTTP_HEAD_LATE_MS)
				atomic_fetch_add(&tallies[w->kind].cut, 1);
			else
				cut_short(w, "idle http not ended by 408");
			close(fd);
		}
		for (i = 0; i < IDLE_ECHO; i++) {
			if (fds[i] < 0)
				continue;
			r = recv(fds[i], buf, 1, MSG_DONTWAIT);
			if (r == 0 || (r < 0 && errno != EAGAIN)) {
				cut_short(w, "idle echo connection closed");
				close(fds[i]);
				fds[i] = -1;
			}
		}
		for (int64_t until = soak_now_ms() + IDLE_CHECK_MS;
		    soak_now_ms() < until && !over(w->s);)
			poll(NULL, 0, 100);
	}
	for (i = 0; i < IDLE_ECHO; i++) {
		if (fds[i] >= 0) {
			verified(w, 0);
			close(fds[i]);
		}
	}
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
		run_idle(w, (char *)rx, cap);
		goto out;
	}
	while (!over(w->s)) {
		switch (w->kind) {
		case K_ECHO:
			session_echo(w, w->s->port[SRV_ECHO], tx, rx);
			break;
		case K_PROXY:
			session_echo(w, w->s->port[SRV_PROXY], tx, rx);
			break;
		case K_CODEC:
			session_codec(w, w->s->port[SRV_CODEC], tx, rx);
			break;
		case K_HTTP:
			session_http(w, w->s->port[SRV_HTTP], (char *)rx, cap);
			break;
		case K_SLOW:
			session_slow(w, w->s->port[SRV_ECHO], tx, rx);
			break;
		case K_RESET:
			session_reset(w, tx);
			poll(NULL, 0, HOSTILE_PAUSE_MS);
			break;
		case K_GARBAGE:
			session_garbage(w, (char *)rx, cap);
			poll(NULL, 0, HOSTILE_PAUSE_MS);
			break;
		case K_NONREAD:
			session_nonread(w, tx);
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
