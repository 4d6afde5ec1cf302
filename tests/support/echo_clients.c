/*
 * echo_clients.c -- stream and datagram clients that check their echo
 * (see echo_clients.h).
 */
#include "echo_clients.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testnet.h"

#define UDP_STALL_MS 5000       /* no reply for this long: datagrams were lost */
#define UDP_CLIENT_RCVBUF (1024 * 1024)

void
echo_streams(const struct sockaddr *sa, socklen_t len, int k, size_t bytes,
    uint64_t seed, const char *what)
{
	uint8_t **payload = calloc((size_t)k, sizeof *payload);
	tn_client_t *cl = calloc((size_t)k, sizeof *cl);

	ck_assert_ptr_nonnull(payload);
	ck_assert_ptr_nonnull(cl);
	for (int i = 0; i < k; i++) {
		payload[i] = malloc(bytes);
		ck_assert_ptr_nonnull(payload[i]);
		tn_fill_random(payload[i], bytes, seed + (uint64_t)i);
		int fd = tn_connect_addr(sa, len, 0);
		ck_assert_msg(fd >= 0, "%s: connect %d: %s", what, i, strerror(errno));
		tn_client_init(&cl[i], fd, payload[i], bytes, NULL, 0);
	}
	int failed = tn_pump(cl, (size_t)k, ECHO_CLIENTS_MS);
	ck_assert_msg(failed == 0, "%s: %d of %d client(s) failed; %s", what,
	    failed, k, tn_pump_error(cl, (size_t)k));
	for (int i = 0; i < k; i++) {
		tn_close(&cl[i].fd);
		free(payload[i]);
	}
	free(payload);
	free(cl);
}

__attribute__((format(printf, 2, 3)))
static void
udp_fail(udp_client_t *c, const char *fmt, ...)
{
	va_list ap;

	if (c->error[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(c->error, sizeof c->error, fmt, ap);
	va_end(ap);
}

static void
udp_fill(uint8_t *buf, size_t len, unsigned id, unsigned seq)
{
	tn_fill_random(buf, len, (((uint64_t)id << 32) | seq) + 1);
	memcpy(buf, &id, 4);
	memcpy(buf + 4, &seq, 4);
}

int
udp_socket(const struct sockaddr *sa, socklen_t len)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int rcv = UDP_CLIENT_RCVBUF;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
	if (sa != NULL) {
		if (connect(fd, sa, len) == 0)
			return fd;
	} else {
		struct sockaddr_in sin = { .sin_family = AF_INET };
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (bind(fd, (struct sockaddr *)&sin, sizeof sin) == 0)
			return fd;
	}
	close(fd);
	return -1;
}

udp_client_t *
udp_clients_open(const struct sockaddr *sa, socklen_t len, size_t k,
    unsigned total)
{
	udp_client_t *cl = calloc(k, sizeof *cl);

	ck_assert_ptr_nonnull(cl);
	for (size_t i = 0; i < k; i++) {
		cl[i].fd = udp_socket(sa, len);
		ck_assert_msg(cl[i].fd >= 0, "udp client %zu: %s", i,
		    strerror(errno));
		cl[i].id = (unsigned)i;
		cl[i].total = total;
		cl[i].seen = calloc(total, 1);
		ck_assert_ptr_nonnull(cl[i].seen);
	}
	return cl;
}

void
udp_clients_close(udp_client_t *cl, size_t k)
{
	for (size_t i = 0; i < k; i++) {
		tn_close(&cl[i].fd);
		free(cl[i].seen);
	}
	free(cl);
}

void
udp_clients_send_window(udp_client_t *cl, size_t k, size_t dlen,
    unsigned window, uint8_t *buf)
{
	for (size_t i = 0; i < k; i++) {
		udp_client_t *c = &cl[i];
		while (c->error[0] == '\0' && c->sent < c->total &&
		    c->sent - c->recvd < window) {
			udp_fill(buf, dlen, c->id, c->sent);
			ssize_t w = send(c->fd, buf, dlen, MSG_DONTWAIT);
			if (w == (ssize_t)dlen) {
				c->sent++;
				continue;
			}
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				break;
			udp_fail(c, "send #%u: %s", c->sent,
			    w < 0 ? strerror(errno) : "short write");
		}
	}
}

/* Take every reply waiting for c; returns 1 if there was any. */
static int
udp_recv_ready(udp_client_t *c, size_t dlen, uint8_t *rx, uint8_t *want)
{
	int progress = 0;

	while (c->error[0] == '\0') {
		ssize_t r = recv(c->fd, rx, UDP_RX_CAP, MSG_DONTWAIT | MSG_TRUNC);
		unsigned id, seq;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				udp_fail(c, "recv after %u replies: %s", c->recvd,
				    strerror(errno));
			break;
		}
		if ((size_t)r != dlen) {
			udp_fail(c, "reply of %zd bytes, want %zu", r, dlen);
			break;
		}
		memcpy(&id, rx, 4);
		memcpy(&seq, rx + 4, 4);
		if (id != c->id || seq >= c->sent || c->seen[seq]) {
			udp_fail(c, "unexpected reply: id %u seq %u (sent %u)", id,
			    seq, c->sent);
			break;
		}
		udp_fill(want, dlen, id, seq);
		if (memcmp(rx, want, dlen) != 0) {
			udp_fail(c, "reply %u differs from datagram sent", seq);
			break;
		}
		c->seen[seq] = 1;
		c->recvd++;
		progress = 1;
	}
	return progress;
}

int
udp_clients_pump(udp_client_t *cl, size_t k, size_t dlen, unsigned window,
    int timeout_ms)
{
	uint8_t *tx = malloc(dlen), *rx = malloc(UDP_RX_CAP), *want = malloc(dlen);
	struct pollfd *pfd = calloc(k, sizeof *pfd);
	size_t *idx = calloc(k, sizeof *idx);

	ck_assert_msg(tx && rx && want && pfd && idx, "udp_pump: out of memory");
	ck_assert_uint_ge(dlen, 8);
	int64_t deadline = tn_now_ms() + timeout_ms, last = tn_now_ms();
	int stalled = 0;

	for (;;) {
		size_t n = 0;
		udp_clients_send_window(cl, k, dlen, window, tx);
		for (size_t i = 0; i < k; i++) {
			if (cl[i].error[0] != '\0' || cl[i].recvd == cl[i].total)
				continue;
			pfd[n] = (struct pollfd){ .fd = cl[i].fd, .events = POLLIN };
			idx[n++] = i;
		}
		if (n == 0)
			break;
		int64_t now = tn_now_ms();
		if (now >= deadline)
			break;
		if (now - last >= UDP_STALL_MS) {
			stalled = 1;
			break;
		}
		if (poll(pfd, n, 50) <= 0)
			continue;
		for (size_t j = 0; j < n; j++)
			if (pfd[j].revents != 0 &&
			    udp_recv_ready(&cl[idx[j]], dlen, rx, want))
				last = tn_now_ms();
	}

	int failed = 0;
	for (size_t i = 0; i < k; i++) {
		udp_client_t *c = &cl[i];
		if (c->error[0] == '\0' && c->recvd == c->total)
			continue;
		if (stalled)
			udp_fail(c, "%u of %u replies, %u sent: %u datagram(s) lost "
			    "(no reply for %d ms)", c->recvd, c->total, c->sent,
			    c->sent - c->recvd, UDP_STALL_MS);
		else
			udp_fail(c, "timeout: %u of %u replies, %u sent", c->recvd,
			    c->total, c->sent);
		failed++;
	}
	free(tx);
	free(rx);
	free(want);
	free(pfd);
	free(idx);
	return failed;
}

const char *
udp_clients_error(const udp_client_t *cl, size_t k)
{
	static _Thread_local char msg[256];

	msg[0] = '\0';
	for (size_t i = 0; i < k; i++) {
		if (cl[i].error[0] != '\0') {
			snprintf(msg, sizeof msg, "client %zu: %s", i, cl[i].error);
			break;
		}
	}
	return msg;
}

void
echo_dgrams(const struct sockaddr *sa, socklen_t len, size_t k,
    unsigned total, size_t dlen, unsigned window, const char *what)
{
	udp_client_t *cl = udp_clients_open(sa, len, k, total);
	int failed = udp_clients_pump(cl, k, dlen, window, ECHO_CLIENTS_MS);

	ck_assert_msg(failed == 0, "%s: %d of %zu udp client(s) failed; %s", what,
	    failed, k, udp_clients_error(cl, k));
	udp_clients_close(cl, k);
}
