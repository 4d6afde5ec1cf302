/*
 * custom_codec -- your own wire protocol as a gnet codec: the Go gnet
 * seed's custom-protocol example, written as a gnet_codec_def_t. Read it
 * as the worked example of the custom-codec contract (gnet.h, "Custom
 * codecs"): what decode and encode must return, what state and max_frame
 * are for, and who owns what.
 *
 *   custom_codec --server [--port N] [--multicore]    serve (default port 9000)
 *   custom_codec --client [--port N] [--frames N]     talk to a server
 *   custom_codec [--port N] [--frames N] [--multicore]
 *                 both in one process: the server, plus the client on a
 *                 thread against it (port 0 by default: any free port)
 *
 * The protocol, every field big-endian:
 *
 *   offset 0        2              4              8
 *          | version | action type | data length | data (data length bytes)
 *
 * version is always PROTO_VERSION; the server answers each frame with a
 * frame of the same action type and data. The client sends frames of
 * varying action types and sizes (0-length data included), checks every
 * reply, prints "custom_codec: N frames ... verified" and exits 0, or says
 * what went wrong and exits 1. Its socket waits are bounded (5 s).
 *
 * Try it:  custom_codec                      (self-contained demo)
 *          custom_codec --server --port 9001 &
 *          custom_codec --client --port 9001 --frames 100
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <gnet.h>
#include "flags.h"

#define PROTO_VERSION 0x8001u        /* the seed's protocol version */
#define PROTO_HDR 8                  /* version + action type + data length */
#define PROTO_ACTION_BYTES 2
#define PROTO_MAX_FRAME ((size_t)1 << 20) /* 1 MiB, header included */
#define IO_TIMEOUT_S 5

/* ------------------------------------------------------------------------
 * Big-endian fields.
 */
static uint16_t
get16(const unsigned char *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static void
put16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* ------------------------------------------------------------------------
 * The codec.
 *
 * What a frame looks like to the program, in each direction:
 *
 *   decoded (what on_traffic peeks): the whole frame, header included,
 *     already checked -- right version, data length within max_frame,
 *     every data byte present. msg_parse() reads the action type and
 *     the data out of it without copying.
 *   encoded (what the program writes): the action type (2 bytes,
 *     big-endian) followed by the data, in one gnet_conn_write or
 *     gathered by gnet_conn_writev; the codec adds the version and the
 *     data length, the two fields a handler could get wrong.
 *
 * Why not hand on_traffic the data alone? A decoded frame
 * (gnet_frame_t) is one contiguous view, and here the action type and
 * the data are not adjacent (the length sits between them): "data only"
 * would lose the action type. The codec's per-connection state cannot
 * carry it either, because that state is private to the codec --
 * on_traffic has no way to read it -- and copying action type and data
 * together would cost a copy of every frame. Handing over the checked
 * frame costs nothing, and the handler reads two fields.
 */
typedef struct proto_cfg {
	size_t max_frame; /* whole frame, header included */
} proto_cfg_t;

/* The decoded view of one frame. */
typedef struct msg {
	uint16_t action;
	const unsigned char *data;
	size_t len;
} msg_t;

/*
 * decode: look at in[0..n), the bytes received and not yet consumed, and
 * return
 *   1  a whole frame is there: f->data/f->len is what on_traffic will see
 *      (here the frame itself; it may point into `in` or into `state`),
 *      f->consumed how many input bytes the frame used (> 0, <= n);
 *   0  more bytes are needed: the same bytes are offered again later
 *      with more appended, so decode must be repeatable;
 *  <0  the stream is broken: the connection is closed with this code as
 *      on_close's reason (replies already written are still flushed,
 *      unread input is dropped).
 * It runs on the connection's loop thread, inline: no locks, no blocking,
 * and `cfg` is shared by every connection, so it is only read.
 *
 * `state` is this connection's state_size bytes, zeroed when the codec is
 * attached. This protocol needs none (state_size 0): re-reading an 8-byte
 * header when more bytes arrive costs nothing. A codec that scans, e.g.
 * for a delimiter, would keep how far it already looked there.
 */
static int
proto_decode(void *cfg, void *state, const unsigned char *in, size_t n,
    gnet_frame_t *f)
{
	const proto_cfg_t *pc = cfg;
	uint32_t dlen;

	(void)state;
	/* Refuse a stranger as soon as its first two bytes are in rather
	 * than waiting for a header that may never come. */
	if (n >= 2 && get16(in) != PROTO_VERSION)
		return GNET_EBADFRAME;
	if (n < PROTO_HDR)
		return 0;
	dlen = get32(in + 4);
	/* Fail fast: a frame announcing more than max_frame is refused at
	 * its header. The library's own check (def.max_frame below) would
	 * only trip once max_frame bytes had been buffered. */
	if (dlen > pc->max_frame - PROTO_HDR)
		return GNET_EFRAMESIZE;
	if (n - PROTO_HDR < dlen)
		return 0;
	f->data = in;
	f->len = PROTO_HDR + (size_t)dlen;
	f->consumed = f->len;
	return 1;
}

/*
 * encode: one gnet_conn_write (or writev) is one frame whose payload is
 * iov[0..iovcnt), len bytes in all, split wherever the caller split it.
 * Write the encoded bytes to `out` and return 0, or return a negative
 * code: the write fails with it and nothing written to `out` is kept.
 */
static int
proto_encode(void *cfg, gnet_codec_sink_t *out, const struct iovec *iov,
    int iovcnt, size_t len)
{
	const proto_cfg_t *pc = cfg;
	unsigned char hdr[PROTO_HDR];
	size_t got = 0, skip = PROTO_ACTION_BYTES, dlen;
	int i, rc;

	if (len < PROTO_ACTION_BYTES)
		return GNET_EINVAL; /* no action type */
	dlen = len - PROTO_ACTION_BYTES;
	/* Never send what our own decoder (or a peer with the same limit)
	 * would refuse. */
	if (dlen > UINT32_MAX || dlen > pc->max_frame - PROTO_HDR)
		return GNET_EFRAMESIZE;
	/* The action type may straddle iovecs. */
	for (i = 0; i < iovcnt && got < PROTO_ACTION_BYTES; i++) {
		size_t take = PROTO_ACTION_BYTES - got;
		if (take > iov[i].iov_len)
			take = iov[i].iov_len;
		if (take != 0)
			memcpy(hdr + 2 + got, iov[i].iov_base, take);
		got += take;
	}
	put16(hdr, PROTO_VERSION);
	put32(hdr + 4, (uint32_t)dlen);
	rc = gnet_codec_sink_write(out, hdr, sizeof(hdr));
	/* Then the data: the payload minus the action type already used. */
	for (i = 0; i < iovcnt && rc == 0; i++) {
		const unsigned char *p = iov[i].iov_base;
		size_t n = iov[i].iov_len;

		if (skip >= n) {
			skip -= n;
			continue;
		}
		rc = gnet_codec_sink_write(out, p + skip, n - skip);
		skip = 0;
	}
	return rc;
}

/* Build the codec. The gnet_codec_t copies the def but not *cfg: cfg is
 * ours, handed over here and released by free_cfg from gnet_codec_free.
 * The codec is immutable from now on, so one object serves every loop
 * and connection, and the client's own gnet_codec_encode/decode calls. */
static int
proto_codec_new(size_t max_frame, gnet_codec_t **out)
{
	proto_cfg_t *pc = malloc(sizeof(*pc));
	gnet_codec_def_t def = { .size = sizeof(gnet_codec_def_t),
		.decode = proto_decode,
		.encode = proto_encode,
		.free_cfg = free,
		.cfg = pc,
		.state_size = 0,
		/* Also the library's bound on an incomplete frame, and what
		 * gnet_codec_max_frame reports. */
		.max_frame = max_frame,
	};
	int rc;

	*out = NULL;
	if (pc == NULL)
		return GNET_ENOMEM;
	if (max_frame < PROTO_HDR) {
		free(pc);
		return GNET_EINVAL;
	}
	pc->max_frame = max_frame;
	rc = gnet_codec_new_custom(out, &def);
	if (rc != 0)
		free(pc); /* not handed over: still ours */
	return rc;
}

/* Read the fields of a frame the decoder accepted. */
static void
msg_parse(const void *frame, size_t n, msg_t *m)
{
	const unsigned char *p = frame;

	(void)n; /* == PROTO_HDR + data length: the decoder checked */
	m->action = get16(p + 2);
	m->data = p + PROTO_HDR;
	m->len = get32(p + 4);
}

/* ------------------------------------------------------------------------
 * Server.
 */
typedef struct app {
	int self_test;      /* run the client on a thread once listening */
	unsigned frames;
	pthread_t client;
	int client_started;
	int client_status;  /* the client's exit status */
} app_t;

static gnet_engine_t *engine;
static int client_run(int port, unsigned frames);

static gnet_action_t
on_traffic(gnet_conn_t *c, void *udata)
{
	const void *frame;
	size_t n = gnet_conn_peek(c, &frame);
	unsigned char action[PROTO_ACTION_BYTES];
	struct iovec iov[2];
	msg_t m;
	long rc;

	(void)udata;
	msg_parse(frame, n, &m);
	/* Reply: same action type, same data. writev gathers the pieces
	 * into one frame, so the data is not copied into a reply buffer. */
	put16(action, m.action);
	iov[0] = (struct iovec){ action, sizeof(action) };
	iov[1] = (struct iovec){ (void *)(uintptr_t)m.data, m.len };
	rc = gnet_conn_writev(c, iov, 2);
	if (rc < 0) {
		fprintf(stderr, "custom_codec: reply to action 0x%04x failed: %s\n",
		    m.action, gnet_strerror((int)rc));
		return GNET_CLOSE;
	}
	return GNET_NONE;
}

/* A peer hanging up and our own stop are normal; a wrong version
 * (malformed frame), an oversized frame, a peer leaving mid-frame or a
 * reset are logged. */
static void
on_close(gnet_conn_t *c, int reason, void *udata)
{
	socklen_t len;
	const struct sockaddr *sa = gnet_conn_remote_addr(c, &len);
	char host[INET_ADDRSTRLEN] = "?";
	int port = 0;

	(void)udata;
	if (reason == 0 || reason == GNET_EEOF || reason == GNET_ESHUTDOWN)
		return;
	if (sa != NULL && sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)sa;
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		port = ntohs(sin->sin_port);
	}
	fprintf(stderr, "custom_codec: closed %s:%d: %s\n", host, port,
	    gnet_strerror(reason));
}

static int
bound_port(gnet_engine_t *eng)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (gnet_engine_addr(eng, 0, &ss, &len) != 0 || ss.ss_family != AF_INET)
		return -1;
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* The self-test's client: runs off the loops, like any foreign client,
 * and stops the engine when it is done (gnet_engine_stop: any thread). */
static void *
client_thread(void *arg)
{
	app_t *app = arg;

	app->client_status = client_run(bound_port(engine), app->frames);
	gnet_engine_stop(engine);
	return NULL;
}

static gnet_action_t
on_boot(gnet_engine_t *eng, void *udata)
{
	app_t *app = udata;
	int rc;

	printf("custom_codec: listening on tcp://127.0.0.1:%d (%d loops)\n",
	    bound_port(eng), gnet_engine_num_loops(eng));
	fflush(stdout);
	if (!app->self_test)
		return GNET_NONE;
	/* The client starts only now that the server can answer. */
	rc = pthread_create(&app->client, NULL, client_thread, app);
	if (rc != 0) {
		fprintf(stderr, "custom_codec: pthread_create: %s\n", strerror(rc));
		return GNET_SHUTDOWN;
	}
	app->client_started = 1;
	return GNET_NONE;
}

static void
on_signal(int sig)
{
	(void)sig;
	/* gnet_engine_stop only stores a flag and writes an eventfd: both
	 * are async-signal-safe. */
	gnet_engine_stop(engine);
}

/* Serve until a signal (server mode) or until the self-test's client is
 * done. The engine runs on this, its creating, thread as gnet.h asks;
 * in the self-test the client is the one on a thread. */
static int
server_run(int port, int multicore, app_t *app)
{
	gnet_events_t ev = { .size = sizeof(gnet_events_t),
		.on_boot = on_boot,
		.on_traffic = on_traffic,
		.on_close = on_close,
	};
	gnet_options_t opt = { .size = sizeof(gnet_options_t), .multicore = multicore };
	gnet_codec_t *codec;
	char addr[64];
	int rc;

	rc = proto_codec_new(PROTO_MAX_FRAME, &codec);
	if (rc != 0) {
		fprintf(stderr, "custom_codec: codec: %s\n", gnet_strerror(rc));
		return 1;
	}
	opt.codec = codec; /* outlives the engine: freed after it */
	snprintf(addr, sizeof(addr), "tcp://127.0.0.1:%d", port);
	rc = gnet_engine_new(&engine, &ev, &opt, app);
	if (rc == 0)
		rc = gnet_engine_listen(engine, addr);
	if (rc != 0) {
		fprintf(stderr, "custom_codec: %s: %s\n", addr, gnet_strerror(rc));
		gnet_engine_free(engine);
		gnet_codec_free(codec);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	rc = gnet_engine_run(engine);
	if (app->client_started)
		pthread_join(app->client, NULL);
	gnet_engine_free(engine);
	gnet_codec_free(codec);
	if (rc != 0) {
		fprintf(stderr, "custom_codec: %s\n", gnet_strerror(rc));
		return 1;
	}
	if (app->self_test)
		return app->client_started ? app->client_status : 1;
	return 0;
}

/* ------------------------------------------------------------------------
 * Client: plain blocking sockets, the same codec through
 * gnet_codec_encode / gnet_codec_decode.
 */

/* Data sizes, cycled: empty, tiny, around the header size, and larger
 * than a socket buffer. */
static const size_t data_sizes[] = { 0, 1, 7, 8, 100, 1024, 0, 4096, 65536,
	100000 };
#define NUM_SIZES (sizeof(data_sizes) / sizeof(data_sizes[0]))
#define MAX_DATA 100000

static uint16_t
action_for(unsigned i)
{
	return (uint16_t)(1 + i * 40503u); /* 0x0001 first, as in the seed */
}

static unsigned char
data_byte(unsigned frame, size_t i)
{
	return (unsigned char)((frame * 131u) ^ (i * 7u) ^ (i >> 8));
}

/* A blocking socket to 127.0.0.1:port; SO_SNDTIMEO bounds connect and
 * send, SO_RCVTIMEO bounds recv. */
static int
dial(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
	    .sin_port = htons((uint16_t)port),
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timeval tv = { .tv_sec = IO_TIMEOUT_S };
	int fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static const char *
io_error(int e)
{
	return e == EAGAIN || e == EWOULDBLOCK ? "timed out" : strerror(e);
}

/* 0 when every reply matched, else 1 with a message. */
static int
client_run(int port, unsigned frames)
{
	size_t cap = PROTO_HDR + MAX_DATA;
	unsigned char *payload = malloc(PROTO_ACTION_BYTES + MAX_DATA);
	unsigned char *tx = malloc(cap), *rx = malloc(cap);
	size_t rlen = 0, largest = 0;
	gnet_codec_t *codec = NULL;
	int fd = -1, status = 1, rc;
	unsigned i;

	if (payload == NULL || tx == NULL || rx == NULL) {
		fprintf(stderr, "custom_codec: out of memory\n");
		goto out;
	}
	rc = proto_codec_new(PROTO_MAX_FRAME, &codec);
	if (rc != 0) {
		fprintf(stderr, "custom_codec: codec: %s\n", gnet_strerror(rc));
		goto out;
	}
	fd = dial(port);
	if (fd < 0) {
		fprintf(stderr, "custom_codec: connect 127.0.0.1:%d: %s\n", port,
		    io_error(errno));
		goto out;
	}
	for (i = 0; i < frames; i++) {
		uint16_t action = action_for(i);
		size_t dlen = data_sizes[i % NUM_SIZES], j, off = 0;
		gnet_frame_t f;
		msg_t m;
		long n;

		/* Payload as the encoder wants it: action type, then data. */
		put16(payload, action);
		for (j = 0; j < dlen; j++)
			payload[PROTO_ACTION_BYTES + j] = data_byte(i, j);
		n = gnet_codec_encode(codec, payload, PROTO_ACTION_BYTES + dlen, tx,
		    cap);
		if (n != (long)(PROTO_HDR + dlen)) {
			fprintf(stderr, "custom_codec: frame %u: encode: %s\n", i,
			    n < 0 ? gnet_strerror((int)n) : "unexpected length");
			goto out;
		}
		while (off < (size_t)n) {
			ssize_t w = send(fd, tx + off, (size_t)n - off, MSG_NOSIGNAL);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				fprintf(stderr, "custom_codec: frame %u: send: %s\n", i,
				    io_error(errno));
				goto out;
			}
			off += (size_t)w;
		}

		/* Read until the reply decodes. The codec state is NULL:
		 * this codec's state_size is 0. */
		while ((rc = gnet_codec_decode(codec, NULL, rx, rlen, &f)) == 0) {
			ssize_t r;

			if (rlen == cap) {
				fprintf(stderr, "custom_codec: frame %u: reply larger than %zu bytes\n",
				    i, cap);
				goto out;
			}
			r = recv(fd, rx + rlen, cap - rlen, 0);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				fprintf(stderr, "custom_codec: frame %u: waiting for the reply: %s\n",
				    i, r == 0 ? "server closed the connection" :
				    io_error(errno));
				goto out;
			}
			rlen += (size_t)r;
		}
		if (rc < 0) {
			fprintf(stderr, "custom_codec: frame %u: bad reply: %s\n", i,
			    gnet_strerror(rc));
			goto out;
		}
		msg_parse(f.data, f.len, &m);
		if (m.action != action || m.len != dlen) {
			fprintf(stderr, "custom_codec: frame %u: reply has action 0x%04x and %zu data bytes, sent 0x%04x and %zu\n",
			    i, m.action, m.len, action, dlen);
			goto out;
		}
		for (j = 0; j < dlen; j++) {
			if (m.data[j] != data_byte(i, j)) {
				fprintf(stderr, "custom_codec: frame %u: data byte %zu is 0x%02x, sent 0x%02x\n",
				    i, j, m.data[j], data_byte(i, j));
				goto out;
			}
		}
		memmove(rx, rx + f.consumed, rlen - f.consumed);
		rlen -= f.consumed;
		if (dlen > largest)
			largest = dlen;
	}
	printf("custom_codec: %u frames (varying action types, 0..%zu data bytes) verified\n",
	    frames, largest);
	fflush(stdout);
	status = 0;
out:
	if (fd >= 0)
		close(fd);
	gnet_codec_free(codec);
	free(payload);
	free(tx);
	free(rx);
	return status;
}

/* ------------------------------------------------------------------------
 * Modes.
 */
static void
usage(void)
{
	fprintf(stderr,
	    "usage: custom_codec --server [--port N] [--multicore]\n"
	    "       custom_codec --client [--port N] [--frames N]\n"
	    "       custom_codec [--port N] [--frames N] [--multicore]   (both)\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	app_t app = { .frames = 10 };
	int server = 0, client = 0, multicore = 0, port = -1, i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--server") == 0)
			server = 1;
		else if (strcmp(argv[i], "--client") == 0)
			client = 1;
		else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
			port = (int)flag_number(argv[++i], 0, 65535, usage);
		else if (strcmp(argv[i], "--frames") == 0 && i + 1 < argc)
			app.frames = (unsigned)flag_number(argv[++i], 0, 1000000000, usage);
		else if (strcmp(argv[i], "--multicore") == 0)
			multicore = 1;
		else
			usage();
	}
	if ((server && client) || (client && port == 0))
		usage();
	if (client)
		return client_run(port > 0 ? port : 9000, app.frames);
	if (server)
		return server_run(port >= 0 ? port : 9000, multicore, &app);
	app.self_test = 1;
	return server_run(port >= 0 ? port : 0, multicore, &app);
}
