/*
 * codec_server -- a length-field echo server, the Go gnet seed's
 * "length field based frame codec" example: the framing lives in a codec,
 * so the handler sees whole messages and never counts bytes itself.
 *
 *   codec_server [--port N] [--multicore] [--loops N] [--max-frame BYTES]
 *
 * Wire format, both ways: a 4-byte big-endian payload length, then the
 * payload. The codec strips the header before on_traffic sees a frame and
 * writes the same header in front of every gnet_conn_write, so echoing a
 * frame is one peek and one write. --max-frame bounds a whole frame,
 * header included (default 16 MiB); a peer announcing more is cut off as
 * soon as its header arrives, before any of the body is buffered.
 * --port 0 lets the kernel pick a port; the line printed once listening
 * names the real one.
 *
 * Try it:  codec_server --port 9000 &
 *          codec_client --port 9000 --frames 100 --size 4096 --conns 4
 *   or by hand:  printf '\0\0\0\5hello' | socat - TCP:127.0.0.1:9000 | xxd
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <gnet.h>
#include "flags.h"

#define LENGTH_FIELD_BYTES 4

static gnet_engine_t *engine;

/* Port of listener 0 as bound, so "--port 0" reports the port the kernel
 * chose rather than 0. */
static int
bound_port(gnet_engine_t *eng)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (gnet_engine_addr(eng, 0, &ss, &len) != 0)
		return -1;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return -1;
}

/* "address:port" of the peer, for log lines. */
static const char *
peer_name(gnet_conn_t *c, char *buf, size_t cap)
{
	socklen_t len;
	const struct sockaddr *sa = gnet_conn_remote_addr(c, &len);
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	if (sa != NULL && sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)sa;
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		port = ntohs(sin->sin_port);
	} else if (sa != NULL && sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)sa;
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		port = ntohs(sin6->sin6_port);
	}
	snprintf(buf, cap, "%s:%d", host, port);
	return buf;
}

/* Called once per decoded frame: peek sees exactly that frame's payload,
 * header already stripped. Nothing needs to be discarded: whatever of the
 * frame is left unconsumed is dropped when this returns. */
static gnet_action_t
on_traffic(gnet_conn_t *c, void *udata)
{
	const void *frame;
	size_t n = gnet_conn_peek(c, &frame);
	long rc;

	(void)udata;
	/* One write is one frame: the codec puts the length header back. */
	rc = gnet_conn_write(c, frame, n);
	if (rc < 0) {
		char peer[INET6_ADDRSTRLEN + 8];
		fprintf(stderr, "codec_server: %s: echo of %zu bytes failed: %s\n",
		    peer_name(c, peer, sizeof(peer)), n, gnet_strerror((int)rc));
		return GNET_CLOSE;
	}
	return GNET_NONE;
}

/* A peer hanging up (GNET_EEOF) and our own stop (GNET_ESHUTDOWN) are the
 * normal ends of a connection; anything else -- an oversized or
 * malformed frame, a peer leaving mid-frame, a reset -- is worth a line. */
static void
on_close(gnet_conn_t *c, int reason, void *udata)
{
	char peer[INET6_ADDRSTRLEN + 8];

	(void)udata;
	if (reason == 0 || reason == GNET_EEOF || reason == GNET_ESHUTDOWN)
		return;
	fprintf(stderr, "codec_server: closed %s: %s\n",
	    peer_name(c, peer, sizeof(peer)), gnet_strerror(reason));
}

static gnet_action_t
on_boot(gnet_engine_t *eng, void *udata)
{
	(void)udata;
	/* Printed only now, when connections can be served: scripts and the
	 * tests wait for this line before starting clients. */
	printf("codec_server: listening on tcp://127.0.0.1:%d (%d loops)\n",
	    bound_port(eng), gnet_engine_num_loops(eng));
	fflush(stdout);
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

static void
usage(void)
{
	fprintf(stderr, "usage: codec_server [--port N] [--multicore] [--loops N]"
	    " [--max-frame BYTES]\n"
	    "  --max-frame  largest whole frame, 4-byte header included"
	    " (default 16 MiB)\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	gnet_events_t ev = { .size = sizeof(gnet_events_t),
		.on_boot = on_boot,
		.on_traffic = on_traffic,
		.on_close = on_close,
	};
	gnet_options_t opt = { .size = sizeof(gnet_options_t) };
	/* netty's LengthFieldBasedFrameDecoder(max, 0, 4, 0, 4) paired with
	 * LengthFieldPrepender(4): the field counts the payload only. */
	gnet_length_field_config_t lf = { .size = sizeof(gnet_length_field_config_t),
		.field_length = LENGTH_FIELD_BYTES,
		.little_endian = 0,
		.field_offset = 0,
		.length_adjustment = 0,
		.strip = LENGTH_FIELD_BYTES,
		.encode_includes_header = 0,
		.max_frame = 0, /* 0: GNET_CODEC_MAX_FRAME */
	};
	gnet_codec_t *codec = NULL;
	int port = 9000;
	char addr[64];
	int i, rc;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
			port = (int)flag_number(argv[++i], 0, 65535, usage);
		else if (strcmp(argv[i], "--multicore") == 0)
			opt.multicore = 1;
		else if (strcmp(argv[i], "--loops") == 0 && i + 1 < argc)
			opt.num_loops = (int)flag_number(argv[++i], 1, GNET_MAX_LOOPS, usage);
		else if (strcmp(argv[i], "--max-frame") == 0 && i + 1 < argc)
			lf.max_frame = (size_t)flag_number(argv[++i], 1, (size_t)1 << 40, usage);
		else
			usage();
	}

	rc = gnet_codec_new_length_field(&codec, &lf);
	if (rc != 0) {
		fprintf(stderr, "codec_server: length-field codec: %s\n",
		    gnet_strerror(rc));
		return 1;
	}
	/* Every connection of the engine gets the codec; it must outlive
	 * the engine, so it is freed last. */
	opt.codec = codec;

	snprintf(addr, sizeof(addr), "tcp://127.0.0.1:%d", port);
	rc = gnet_engine_new(&engine, &ev, &opt, NULL);
	if (rc == 0)
		rc = gnet_engine_listen(engine, addr);
	if (rc != 0) {
		fprintf(stderr, "codec_server: %s: %s\n", addr, gnet_strerror(rc));
		gnet_engine_free(engine);
		gnet_codec_free(codec);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	rc = gnet_engine_run(engine);
	gnet_engine_free(engine);
	gnet_codec_free(codec);
	if (rc != 0) {
		fprintf(stderr, "codec_server: %s\n", gnet_strerror(rc));
		return 1;
	}
	return 0;
}
