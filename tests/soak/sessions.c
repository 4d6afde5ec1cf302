/*
 * One session of each kind of soak client. Each checks what it can:
 * echoes and frames byte for byte, HTTP answers whole, hostile clients
 * that the server ends them.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>
#include "load.h"

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

/* A new session of w's kind, counted: the connection, or -1 (counted
 * as cut short). */
static int
open_session(worker_t *w, int port, int rcvbuf)
{
	int fd = soak_connect(port, rcvbuf);

	atomic_fetch_add(&soak_tally(w)->sessions, 1);
	if (fd < 0)
		soak_cut_short(w, "connect");
	return fd;
}

/* Echo (direct or through the proxy): exchanges of random sizes. */
void
soak_session_echo(worker_t *w, int port, uint8_t *tx, uint8_t *rx)
{
	int fd = open_session(w, port, 0), k;
	int n = 1 + (int)(tn_rng_next(&w->rng) % 20);

	if (fd < 0)
		return;
	for (k = 0; k < n && !soak_over(w->s); k++) {
		size_t len = 1 + tn_rng_next(&w->rng) % MAX_ECHO;
		tn_fill_random(tx, len, tn_rng_next(&w->rng));
		if (!soak_send_all(fd, tx, len) || !soak_recv_exact(fd, rx, len)) {
			soak_cut_short(w, "exchange");
			break;
		}
		if (memcmp(tx, rx, len) != 0) {
			soak_wrong_bytes(w, "echo differs");
			break;
		}
		soak_verified(w, len);
	}
	close(fd);
}

/* codec_server: frames pipelined, then read back. */
void
soak_session_codec(worker_t *w, int port, uint8_t *tx, uint8_t *rx)
{
	int fd = open_session(w, port, 0), k;
	int n = 1 + (int)(tn_rng_next(&w->rng) % FRAMES_MAX);
	size_t lens[FRAMES_MAX], off = 0, total = 0;
	uint64_t seed = tn_rng_next(&w->rng);

	if (fd < 0)
		return;
	for (k = 0; k < n; k++) {
		uint32_t be;
		lens[k] = tn_rng_next(&w->rng) % MAX_FRAME;
		be = htonl((uint32_t)lens[k]);
		memcpy(tx + off, &be, 4);
		tn_fill_random(tx + off + 4, lens[k], seed + (uint64_t)k);
		off += 4 + lens[k];
	}
	if (!soak_send_all(fd, tx, off)) {
		soak_cut_short(w, "send frames");
		close(fd);
		return;
	}
	for (k = 0; k < n; k++) {
		uint32_t be;
		if (!soak_recv_exact(fd, &be, 4)) {
			soak_cut_short(w, "read a frame header");
			break;
		}
		if ((size_t)ntohl(be) != lens[k]) {
			soak_wrong_bytes(w, "frame length differs");
			break;
		}
		if (!soak_recv_exact(fd, rx, lens[k])) {
			soak_cut_short(w, "read a frame");
			break;
		}
		tn_fill_random(tx, lens[k], seed + (uint64_t)k);
		if (memcmp(tx, rx, lens[k]) != 0) {
			soak_wrong_bytes(w, "frame differs");
			break;
		}
		total += lens[k];
	}
	if (k == n)
		soak_verified(w, total);
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

void
soak_session_http(worker_t *w, int port, char *buf, size_t cap)
{
	int fd = open_session(w, port, 0), k;
	int n = 1 + (int)(tn_rng_next(&w->rng) % 10);
	size_t have = 0;
	char req[10 * sizeof(HTTP_REQ)];

	if (fd < 0)
		return;
	for (k = 0; k < n; k++)
		memcpy(req + (size_t)k * (sizeof(HTTP_REQ) - 1), HTTP_REQ,
		    sizeof(HTTP_REQ) - 1);
	if (!soak_send_all(fd, req, (size_t)n * (sizeof(HTTP_REQ) - 1))) {
		soak_cut_short(w, "send requests");
		close(fd);
		return;
	}
	for (k = 0; k < n; k++) {
		int rc = http_response(fd, buf, cap, &have);
		if (rc < 0) {
			soak_cut_short(w, "read responses");
			break;
		}
		if (rc == 0) {
			soak_wrong_bytes(w, "not the example's 200");
			break;
		}
		soak_verified(w, strlen(HTTP_BODY));
	}
	close(fd);
}

/* Sends, then takes the echo back SLOW_CHUNK at a time. */
void
soak_session_slow(worker_t *w, int port, uint8_t *tx, uint8_t *rx)
{
	int fd = open_session(w, port, 16 * 1024);
	size_t got;

	if (fd < 0)
		return;
	tn_fill_random(tx, SLOW_BYTES, tn_rng_next(&w->rng));
	if (!soak_send_all(fd, tx, SLOW_BYTES)) {
		soak_cut_short(w, "send");
		close(fd);
		return;
	}
	for (got = 0; got < SLOW_BYTES; got += SLOW_CHUNK) {
		if (!soak_recv_exact(fd, rx + got, SLOW_CHUNK)) {
			soak_cut_short(w, "slow read");
			close(fd);
			return;
		}
		poll(NULL, 0, SLOW_PAUSE_MS);
	}
	if (memcmp(tx, rx, SLOW_BYTES) != 0)
		soak_wrong_bytes(w, "slow echo differs");
	else
		soak_verified(w, SLOW_BYTES);
	close(fd);
}

/* Connects anywhere, sends a little, resets. */
void
soak_session_reset(worker_t *w, uint8_t *tx)
{
	int srv = (int)(tn_rng_next(&w->rng) % NSERVERS);
	int fd = soak_connect(w->s->port[srv], 0);
	size_t len = tn_rng_next(&w->rng) % 4096;

	atomic_fetch_add(&soak_tally(w)->sessions, 1);
	if (fd < 0)
		return;
	tn_fill_random(tx, len, tn_rng_next(&w->rng));
	(void)soak_send_all(fd, tx, len);
	soak_close_rst(fd);
	soak_verified(w, 0);
}

/* Garbage the codec and HTTP servers must refuse by closing. */
void
soak_session_garbage(worker_t *w, char *buf, size_t cap)
{
	static const uint8_t huge[4] = { 0x7f, 0xff, 0xff, 0xff };
	static const char junk[] = "BLAH\r\n\r\n";
	bool http = tn_rng_next(&w->rng) & 1;
	int fd = open_session(w, w->s->port[http ? SRV_HTTP : SRV_CODEC], 0);
	ssize_t r;

	if (fd < 0)
		return;
	if (!(http ? soak_send_all(fd, junk, sizeof junk - 1) :
	    soak_send_all(fd, huge, sizeof huge))) {
		close(fd);
		return;
	}
	/* An answer (HTTP 400) may come first; then the end. */
	while ((r = recv(fd, buf, cap - 1, 0)) > 0)
		;
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		atomic_fetch_add(&soak_tally(w)->failures, 1);
		fprintf(stderr, "soak: garbage was not refused in %d s\n",
		    SOAK_IO_TIMEOUT_S);
	} else {
		atomic_fetch_add(&soak_tally(w)->cut, 1);
		soak_verified(w, 0);
	}
	close(fd);
}

/* Sends until the echo server stops taking bytes, holds, resets. */
void
soak_session_nonread(worker_t *w, uint8_t *tx)
{
	int fd = open_session(w, w->s->port[SRV_ECHO], 8192);
	size_t sent = 0;

	if (fd < 0)
		return;
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
		atomic_fetch_add(&soak_tally(w)->failures, 1);
		fprintf(stderr, "soak: echo took %zu bytes from a client that "
		    "reads nothing\n", sent);
	} else {
		soak_verified(w, 0);
	}
	poll(NULL, 0, NONREAD_HOLD_MS);
	soak_close_rst(fd);
}

/* Idle echo connections held all along (echo has no idle timeout: they
 * must stay), and idle HTTP ones, which the head timeout must end. */
void
soak_run_idle(worker_t *w, char *buf, size_t cap)
{
	int fds[IDLE_ECHO], i;

	for (i = 0; i < IDLE_ECHO; i++) {
		fds[i] = soak_connect(w->s->port[SRV_ECHO], 0);
		atomic_fetch_add(&soak_tally(w)->sessions, 1);
	}
	while (!soak_over(w->s)) {
		int64_t t0 = tn_now_ms();
		int fd = soak_connect(w->s->port[SRV_HTTP], 0);
		ssize_t r;
		if (fd >= 0) {
			atomic_fetch_add(&soak_tally(w)->sessions, 1);
			r = recv(fd, buf, cap - 1, 0);
			if (r > 0 && strncmp(buf, "HTTP/1.1 408 ", 13) == 0 &&
			    tn_now_ms() - t0 < HTTP_HEAD_LATE_MS)
				atomic_fetch_add(&soak_tally(w)->cut, 1);
			else
				soak_cut_short(w, "idle http not ended by 408");
			close(fd);
		}
		for (i = 0; i < IDLE_ECHO; i++) {
			if (fds[i] < 0)
				continue;
			r = recv(fds[i], buf, 1, MSG_DONTWAIT);
			if (r == 0 || (r < 0 && errno != EAGAIN)) {
				soak_cut_short(w, "idle echo connection closed");
				close(fds[i]);
				fds[i] = -1;
			}
		}
		for (int64_t until = tn_now_ms() + IDLE_CHECK_MS;
		    tn_now_ms() < until && !soak_over(w->s);)
			poll(NULL, 0, 100);
	}
	for (i = 0; i < IDLE_ECHO; i++) {
		if (fds[i] >= 0) {
			soak_verified(w, 0);
			close(fds[i]);
		}
	}
}

