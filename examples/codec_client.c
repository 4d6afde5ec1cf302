/*
 * codec_client -- the client for codec_server: plain blocking sockets for
 * the I/O, and the library's codec only as an encoder/decoder
 * (gnet_codec_encode, gnet_codec_decode), which is how a program that
 * does its own I/O reuses a gnet codec.
 *
 *   codec_client [--addr tcp://HOST:PORT | --port N] [--frames N]
 *                [--size BYTES] [--conns N]
 *
 * Each of --conns connections sends --frames frames of --size bytes (a
 * 4-byte big-endian length, then the payload) and reads every echo back,
 * decodes it and checks it byte for byte. The content depends on the
 * connection and frame number, so an echo delivered to the wrong
 * connection or out of order is caught, not just a corrupted one.
 * Connections take turns, one frame in flight each: memory stays at one
 * frame per connection whatever --frames is, and the server sees every
 * connection busy at once (spread over its loops with --multicore).
 *
 * Prints "codec_client: F frames x S bytes over C connection(s) verified"
 * and exits 0, or prints what went wrong and exits 1. Every socket wait
 * (connect, send, recv) gives up after 5 s.
 *
 * Try it:  codec_server --port 9000 &
 *          codec_client --port 9000 --frames 1000 --size 1024 --conns 10
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <gnet.h>
#include "flags.h"

#define LENGTH_FIELD_BYTES 4
#define IO_TIMEOUT_S 5
#define MAX_SIZE ((size_t)1 << 30) /* 1 GiB: well past any server's max */
#define MAX_CONNS 1000

typedef struct conn {
	int fd;
	void *state;         /* the decoder's per-stream state */
	unsigned char *rx;   /* received bytes not yet decoded */
	size_t rlen;
} conn_t;

/* The byte at offset i of frame f on connection c: a cheap integer hash
 * (so no two connections or frames share a payload) that the checker can
 * recompute instead of keeping what was sent. */
static unsigned char
pattern(unsigned c, unsigned f, size_t i)
{
	uint32_t x = (uint32_t)c * 2654435761u ^ (uint32_t)f * 40503u ^
	    (uint32_t)i * 2246822519u;

	x ^= x >> 15;
	x *= 2246822519u;
	x ^= x >> 13;
	return (unsigned char)x;
}

static void
usage(void)
{
	fprintf(stderr, "usage: codec_client [--addr tcp://HOST:PORT | --port N]"
	    " [--frames N] [--size BYTES] [--conns N]\n");
	exit(2);
}

/* Split "tcp://HOST:PORT" (HOST may be "[v6]") into host and port. */
static int
parse_addr(const char *addr, char *host, size_t hcap, char *port, size_t pcap)
{
	const char *p, *colon;
	size_t hlen;

	if (strncmp(addr, "tcp://", 6) != 0)
		return -1;
	p = addr + 6;
	if (*p == '[') {
		const char *close = strchr(p, ']');
		if (close == NULL || close[1] != ':')
			return -1;
		hlen = (size_t)(close - p - 1);
		p++;
		colon = close + 1;
	} else {
		colon = strrchr(p, ':');
		if (colon == NULL)
			return -1;
		hlen = (size_t)(colon - p);
	}
	if (hlen == 0 || hlen >= hcap || strlen(colon + 1) == 0 ||
	    strlen(colon + 1) >= pcap)
		return -1;
	memcpy(host, p, hlen);
	host[hlen] = '\0';
	strcpy(port, colon + 1);
	return 0;
}

/* A blocking socket whose every wait is bounded: on Linux SO_SNDTIMEO
 * also bounds connect(), SO_RCVTIMEO bounds recv(). */
static int
dial(const char *host, const char *port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res, *ai;
	struct timeval tv = { .tv_sec = IO_TIMEOUT_S };
	int fd = -1, one = 1, rc, err = 0;

	rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0) {
		fprintf(stderr, "codec_client: %s:%s: %s\n", host, port,
		    gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		err = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		fprintf(stderr, "codec_client: connect %s:%s: %s\n", host, port,
		    err == EINPROGRESS ? "timed out" : strerror(err));
		return -1;
	}
	/* Small frames go out at once instead of waiting for Nagle. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* Send all n bytes; 0, or -1 with a message. */
static int
send_all(int fd, const unsigned char *p, size_t n, unsigned ci, unsigned fi)
{
	while (n > 0) {
		/* MSG_NOSIGNAL: a server that hung up is an error to report,
		 * not a SIGPIPE that kills us silently. */
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			fprintf(stderr, "codec_client: connection %u, frame %u: send: %s%s\n",
			    ci, fi, errno == EAGAIN || errno == EWOULDBLOCK ?
			    "timed out (server not reading)" : strerror(errno),
			    errno == EPIPE || errno == ECONNRESET ?
			    " (the server closed the connection)" : "");
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Receive until one whole frame decodes; *f points into c->rx. */
static int
recv_frame(const gnet_codec_t *codec, conn_t *c, size_t cap, unsigned ci,
    unsigned fi, gnet_frame_t *f)
{
	for (;;) {
		int r = gnet_codec_decode(codec, c->state, c->rx, c->rlen, f);
		ssize_t got;

		if (r == 1)
			return 0;
		if (r < 0) {
			/* The decoder's max frame is what we sent, so a longer
			 * echo is refused at its header. */
			fprintf(stderr, "codec_client: connection %u, frame %u: bad echo: %s\n",
			    ci, fi, gnet_strerror(r));
			return -1;
		}
		if (c->rlen == cap) {
			fprintf(stderr, "codec_client: connection %u, frame %u: echo does not fit %zu bytes\n",
			    ci, fi, cap);
			return -1;
		}
		got = recv(c->fd, c->rx + c->rlen, cap - c->rlen, 0);
		if (got < 0 && errno == EINTR)
			continue;
		if (got == 0) {
			fprintf(stderr, "codec_client: connection %u, frame %u: server closed the connection (%zu bytes of the echo received)\n",
			    ci, fi, c->rlen);
			return -1;
		}
		if (got < 0) {
			fprintf(stderr, "codec_client: connection %u, frame %u: recv: %s\n",
			    ci, fi, errno == EAGAIN || errno == EWOULDBLOCK ?
			    "timed out waiting for the echo" : strerror(errno));
			return -1;
		}
		c->rlen += (size_t)got;
	}
}

/* 0 if the echo is frame fi of connection ci, else -1 with a message. */
static int
verify(const gnet_frame_t *f, size_t size, unsigned ci, unsigned fi)
{
	const unsigned char *p = f->data;
	size_t i;

	if (f->len != size) {
		fprintf(stderr, "codec_client: connection %u, frame %u: echo has %zu bytes, sent %zu\n",
		    ci, fi, f->len, size);
		return -1;
	}
	for (i = 0; i < size; i++) {
		unsigned char want = pattern(ci, fi, i);
		if (p[i] != want) {
			fprintf(stderr, "codec_client: connection %u, frame %u: byte %zu is 0x%02x, sent 0x%02x\n",
			    ci, fi, i, p[i], want);
			return -1;
		}
	}
	return 0;
}

int
main(int argc, char **argv)
{
	const char *addr = "tcp://127.0.0.1:9000";
	char addrbuf[64], host[256], port[16];
	unsigned frames = 10, nconns = 1, ci, fi;
	size_t size = 1024, wire, i;
	gnet_length_field_config_t lf = { .size = sizeof(gnet_length_field_config_t),
		.field_length = LENGTH_FIELD_BYTES,
		.strip = LENGTH_FIELD_BYTES,
	};
	gnet_codec_t *codec = NULL;
	unsigned char *payload = NULL, *tx = NULL;
	conn_t *conns = NULL;
	int rc, status = 1;

	for (int a = 1; a < argc; a++) {
		if (strcmp(argv[a], "--addr") == 0 && a + 1 < argc) {
			addr = argv[++a];
		} else if (strcmp(argv[a], "--port") == 0 && a + 1 < argc) {
			snprintf(addrbuf, sizeof(addrbuf), "tcp://127.0.0.1:%u",
			    (unsigned)flag_number(argv[++a], 1, 65535, usage));
			addr = addrbuf;
		} else if (strcmp(argv[a], "--frames") == 0 && a + 1 < argc) {
			frames = (unsigned)flag_number(argv[++a], 0, UINT32_MAX, usage);
		} else if (strcmp(argv[a], "--size") == 0 && a + 1 < argc) {
			size = (size_t)flag_number(argv[++a], 0, MAX_SIZE, usage);
		} else if (strcmp(argv[a], "--conns") == 0 && a + 1 < argc) {
			nconns = (unsigned)flag_number(argv[++a], 1, MAX_CONNS, usage);
		} else {
			usage();
		}
	}
	if (parse_addr(addr, host, sizeof(host), port, sizeof(port)) != 0) {
		fprintf(stderr, "codec_client: bad address %s (want tcp://HOST:PORT)\n",
		    addr);
		return 2;
	}

	/* The same framing as the server; the max frame is exactly what we
	 * send, so the decoder itself rejects an echo of the wrong size. */
	wire = LENGTH_FIELD_BYTES + size;
	lf.max_frame = wire;
	rc = gnet_codec_new_length_field(&codec, &lf);
	if (rc != 0) {
		fprintf(stderr, "codec_client: length-field codec: %s\n",
		    gnet_strerror(rc));
		return 1;
	}
	payload = malloc(size ? size : 1);
	tx = malloc(wire);
	conns = calloc(nconns, sizeof(*conns));
	if (payload == NULL || tx == NULL || conns == NULL) {
		fprintf(stderr, "codec_client: out of memory\n");
		goto out;
	}
	for (ci = 0; ci < nconns; ci++)
		conns[ci].fd = -1;
	for (ci = 0; ci < nconns; ci++) {
		size_t ss = gnet_codec_state_size(codec);
		conns[ci].rx = malloc(wire);
		/* Decoder state is per stream and must start zeroed. */
		conns[ci].state = ss != 0 ? calloc(1, ss) : NULL;
		if (conns[ci].rx == NULL || (ss != 0 && conns[ci].state == NULL)) {
			fprintf(stderr, "codec_client: out of memory\n");
			goto out;
		}
		conns[ci].fd = dial(host, port);
		if (conns[ci].fd < 0)
			goto out;
	}

	for (fi = 0; fi < frames; fi++) {
		/* Every connection sends frame fi, then every echo is read:
		 * all connections are in flight together. */
		for (ci = 0; ci < nconns; ci++) {
			long n;

			for (i = 0; i < size; i++)
				payload[i] = pattern(ci, fi, i);
			n = gnet_codec_encode(codec, payload, size, tx, wire);
			if (n < 0 || (size_t)n != wire) {
				fprintf(stderr, "codec_client: encode: %s\n",
				    n < 0 ? gnet_strerror((int)n) : "unexpected length");
				goto out;
			}
			if (send_all(conns[ci].fd, tx, wire, ci, fi) != 0)
				goto out;
		}
		for (ci = 0; ci < nconns; ci++) {
			conn_t *c = &conns[ci];
			gnet_frame_t f;

			if (recv_frame(codec, c, wire, ci, fi, &f) != 0 ||
			    verify(&f, size, ci, fi) != 0)
				goto out;
			/* Keep whatever followed the frame (nothing, from a
			 * correct server: it would show up as the next echo). */
			memmove(c->rx, c->rx + f.consumed, c->rlen - f.consumed);
			c->rlen -= f.consumed;
		}
	}
	printf("codec_client: %u frames x %zu bytes over %u connection(s) verified\n",
	    frames, size, nconns);
	status = 0;
out:
	if (conns != NULL) {
		for (ci = 0; ci < nconns; ci++) {
			if (conns[ci].fd >= 0)
				close(conns[ci].fd);
			free(conns[ci].rx);
			free(conns[ci].state);
		}
	}
	free(conns);
	free(tx);
	free(payload);
	gnet_codec_free(codec);
	return status;
}
