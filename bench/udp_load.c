/*
 * udp_load -- a small UDP load generator for the UDP echo benchmark.
 *
 * P peers, each its own connected UDP socket, each keeping W datagrams of
 * B bytes in flight against an echo server. Every datagram carries the
 * peer number, a sequence number and its send time, and the rest of it is
 * a pattern derived from those; every echo is checked byte for byte (a
 * mismatch counts as an error). UDP may drop: a peer that hears nothing
 * for LOSS_MS with datagrams outstanding writes them off as lost (late
 * echoes of those are ignored) and sends a fresh window.
 *
 * After --warmup seconds the counters are reset; after --duration more
 * seconds one line is printed:
 *
 *   RESULT label=L mode=udp conns=P size=B depth=W secs=S msgs=N
 *          msgs_per_s=X mb_per_s=X p50_us=X p99_us=X p999_us=X errors=E lost=D
 *
 * (one line; MB/s counts echoed payload bytes, 1 MB = 10^6 bytes).
 *
 *   udp_load [--addr udp://127.0.0.1:PORT] --conns P --size B --depth W
 *            --duration SEC --warmup SEC [--cpu K] [--label TEXT]
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* sched_setaffinity */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HDR 24                  /* peer u32, pad u32, seq u64, sent_ns u64 */
#define MAX_SIZE 65000
#define LOSS_MS 50
#define HIST_US 100000          /* 1 us buckets up to 100 ms, then one more */

typedef struct peer {
	int fd;
	uint32_t id;
	uint64_t next_seq;      /* sequence of the next datagram to send */
	uint64_t base_seq;      /* older sequences were written off */
	int in_flight;
	uint64_t last_rx_ns;    /* last echo (or window start) */
} peer_t;

static struct {
	struct sockaddr_in addr;
	int conns, size, depth, cpu;
	double duration, warmup;
	const char *label;
} cfg = { .conns = 64, .size = 1024, .depth = 4, .cpu = -1,
	  .duration = 5, .warmup = 1, .label = "udp" };

static uint64_t msgs, errors, lost;
static uint64_t hist[HIST_US + 1];
static char *sbuf, *rbuf;

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
usage(void)
{
	fprintf(stderr, "usage: udp_load [--addr udp://127.0.0.1:PORT] --conns P "
	    "--size B --depth W --duration SEC --warmup SEC [--cpu K] [--label TEXT]\n");
	exit(2);
}

static void
parse_addr(const char *s)
{
	char host[64];
	const char *colon;
	size_t hl;

	if (strncmp(s, "udp://", 6) == 0)
		s += 6;
	colon = strrchr(s, ':');
	if (colon == NULL || (hl = (size_t)(colon - s)) >= sizeof(host))
		usage();
	memcpy(host, s, hl);
	host[hl] = '\0';
	memset(&cfg.addr, 0, sizeof(cfg.addr));
	cfg.addr.sin_family = AF_INET;
	cfg.addr.sin_port = htons((unsigned short)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &cfg.addr.sin_addr) != 1)
		usage();
}

static void
parse_args(int argc, char **argv)
{
	parse_addr("udp://127.0.0.1:9000");
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (v == NULL)
			usage();
		i++;
		if (strcmp(a, "--addr") == 0)
			parse_addr(v);
		else if (strcmp(a, "--conns") == 0)
			cfg.conns = atoi(v);
		else if (strcmp(a, "--size") == 0)
			cfg.size = atoi(v);
		else if (strcmp(a, "--depth") == 0)
			cfg.depth = atoi(v);
		else if (strcmp(a, "--duration") == 0)
			cfg.duration = atof(v);
		else if (strcmp(a, "--warmup") == 0)
			cfg.warmup = atof(v);
		else if (strcmp(a, "--cpu") == 0)
			cfg.cpu = atoi(v);
		else if (strcmp(a, "--label") == 0)
			cfg.label = v;
		else
			usage();
	}
	if (cfg.conns < 1 || cfg.depth < 1 || cfg.size < HDR || cfg.size > MAX_SIZE ||
	    cfg.duration <= 0 || cfg.warmup < 0)
		usage();
}

/* The payload after the header: a byte pattern from peer and sequence. */
static void
fill(char *p, uint32_t id, uint64_t seq)
{
	uint8_t x = (uint8_t)(id * 31u + seq * 7u);

	for (int i = HDR; i < cfg.size; i++)
		p[i] = (char)(x + (uint8_t)i);
}

static void
send_one(peer_t *p)
{
	uint64_t t = now_ns();

	memcpy(sbuf, &p->id, 4);
	memset(sbuf + 4, 0, 4);
	memcpy(sbuf + 8, &p->next_seq, 8);
	memcpy(sbuf + 16, &t, 8);
	fill(sbuf, p->id, p->next_seq);
	if (send(p->fd, sbuf, (size_t)cfg.size, 0) == cfg.size) {
		p->next_seq++;
		p->in_flight++;
	} else {
		/* The local buffer is full: this one counts as lost, and the
		 * loss timer brings the window back. */
		p->next_seq++;
		lost++;
	}
}

static void
send_window(peer_t *p)
{
	while (p->in_flight < cfg.depth)
		send_one(p);
}

/* Checks one echo; 1 if it was ours and in the window. */
static int
check(peer_t *p, ssize_t n, uint64_t now)
{
	uint32_t id;
	uint64_t seq, sent, us;
	int i;

	if (n != cfg.size) {
		errors++;
		return 0;
	}
	memcpy(&id, rbuf, 4);
	memcpy(&seq, rbuf + 8, 8);
	memcpy(&sent, rbuf + 16, 8);
	if (id != p->id || seq >= p->next_seq) {
		errors++;
		return 0;
	}
	if (seq < p->base_seq)
		return 0; /* written off already: late, not wrong */
	fill(sbuf, id, seq);
	for (i = HDR; i < cfg.size; i++)
		if (sbuf[i] != rbuf[i]) {
			errors++;
			return 0;
		}
	us = (now - sent) / 1000;
	hist[us < HIST_US ? us : HIST_US]++;
	return 1;
}

static void
on_readable(peer_t *p)
{
	for (;;) {
		ssize_t n = recv(p->fd, rbuf, MAX_SIZE, MSG_DONTWAIT);
		uint64_t now;

		if (n < 0)
			break;
		now = now_ns();
		if (check(p, n, now)) {
			msgs++;
			p->in_flight--;
			p->last_rx_ns = now;
		}
	}
	send_window(p);
}

static double
percentile(double q)
{
	uint64_t total = 0, seen = 0, want;
	int i;

	for (i = 0; i <= HIST_US; i++)
		total += hist[i];
	if (total == 0)
		return 0;
	want = (uint64_t)(q * (double)total);
	for (i = 0; i <= HIST_US; i++) {
		seen += hist[i];
		if (seen > want)
			return i;
	}
	return HIST_US;
}

int
main(int argc, char **argv)
{
	struct epoll_event evs[256];
	uint64_t start, measure_at, end, now, last_scan = 0, loss_ns = LOSS_MS * 1000000ull;
	peer_t *peers;
	int ep, i, n, measuring = 0;
	double secs;

	parse_args(argc, argv);
	if (cfg.cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(cfg.cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set) != 0)
			perror("udp_load: sched_setaffinity");
	}
	sbuf = malloc(MAX_SIZE);
	rbuf = malloc(MAX_SIZE);
	peers = calloc((size_t)cfg.conns, sizeof(*peers));
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (sbuf == NULL || rbuf == NULL || peers == NULL || ep < 0) {
		perror("udp_load");
		return 1;
	}
	start = now_ns();
	for (i = 0; i < cfg.conns; i++) {
		peer_t *p = &peers[i];
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = p };
		p->id = (uint32_t)i;
		p->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (p->fd < 0 || connect(p->fd, (struct sockaddr *)&cfg.addr,
		    sizeof(cfg.addr)) != 0 || epoll_ctl(ep, EPOLL_CTL_ADD, p->fd, &ev) != 0) {
			perror("udp_load: socket");
			return 1;
		}
		p->last_rx_ns = start;
		send_window(p);
	}
	measure_at = start + (uint64_t)(cfg.warmup * 1e9);
	end = measure_at + (uint64_t)(cfg.duration * 1e9);
	for (;;) {
		n = epoll_wait(ep, evs, 256, 10);
		if (n < 0 && errno != EINTR) {
			perror("udp_load: epoll_wait");
			return 1;
		}
		for (i = 0; i < n; i++)
			on_readable(evs[i].data.ptr);
		now = now_ns();
		if (!measuring && now >= measure_at) {
			msgs = errors = lost = 0;
			memset(hist, 0, sizeof(hist));
			measure_at = now;
			end = now + (uint64_t)(cfg.duration * 1e9);
			measuring = 1;
		}
		if (measuring && now >= end)
			break;
		/* A quiet peer with datagrams out has lost them (looked at
		 * every 10 ms, busy or not). */
		if (now - last_scan < 10000000u)
			continue;
		last_scan = now;
		for (i = 0; i < cfg.conns; i++) {
			peer_t *p = &peers[i];
			if (p->in_flight > 0 && now - p->last_rx_ns > loss_ns) {
				lost += (uint64_t)p->in_flight;
				p->in_flight = 0;
				p->base_seq = p->next_seq;
				p->last_rx_ns = now;
				send_window(p);
			}
		}
	}
	secs = (double)(now - measure_at) / 1e9;
	printf("RESULT label=%s mode=udp conns=%d size=%d depth=%d secs=%.3f msgs=%llu "
	    "msgs_per_s=%.0f mb_per_s=%.2f p50_us=%.0f p99_us=%.0f p999_us=%.0f "
	    "errors=%llu lost=%llu\n", cfg.label, cfg.conns, cfg.size, cfg.depth, secs,
	    (unsigned long long)msgs, (double)msgs / secs,
	    (double)msgs * cfg.size / secs / 1e6, percentile(0.50), percentile(0.99),
	    percentile(0.999), (unsigned long long)errors, (unsigned long long)lost);
	return 0;
}
