/*
 * echo_client -- a gnet client: an engine with no listener that dials out.
 *
 * Shows gnet_engine_dial from on_boot (tcp://, udp:// and unix:// addresses), a
 * dialled connection being the same connection actor as an accepted one
 * (on_open, on_traffic, on_close), on_dial_error, and a foreign thread
 * (the stdin reader) talking to a connection with gnet_conn_write_async and
 * gnet_actor_send.
 *
 *   echo_client [--addr tcp://HOST:PORT | udp://HOST:PORT | unix://PATH]
 *               [--load N --size B [--conns C] [--loops L]] [--timeout MS]
 *
 * Default (stdin) mode: every line of stdin is sent (one datagram per line
 * over udp://) and every reply is printed; after stdin's EOF it waits up to
 * 5 s for the remaining replies, then exits 0 (1 when they do not come).
 * Load mode (--load): N messages of B bytes over C connections, every
 * echoed byte verified, then one summary line; exit 1 on any mismatch,
 * dial error or timeout (--timeout, default 30000 ms), reason on stderr.
 *
 * Try it:  ./echo --port 9000 &
 *          printf 'a\nb\n' | ./echo_client --addr tcp://127.0.0.1:9000
 *          ./echo_client --addr tcp://127.0.0.1:9000 --load 1000 --size 1024 --conns 10
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <gnet.h>
#include "flags.h"

#define MSG_STDIN_EOF (GNET_MSG_USER + 1)
#define STDIN_GRACE_MS 5000     /* replies after stdin's EOF */
#define MAX_UDP_PAYLOAD 65507

typedef struct client {
	unsigned index;
	gnet_handle_t h;
	uint64_t msgs;          /* messages this connection sends */
	uint64_t sent_msgs;
	uint64_t recvd;         /* bytes echoed back and verified */
	unsigned char *msg;     /* scratch for one message */
	int done;
} client_t;

static gnet_engine_t *engine;
static const char *addr = "tcp://127.0.0.1:9000";
static int is_udp;
static uint64_t load, size;     /* load mode when load > 0 */
static unsigned nconns = 1;
static int64_t timeout_ms = 30000;
static client_t *clients;

static atomic_int exit_code = 1;
static atomic_uint conns_done;
static atomic_int finished;
static int64_t start_ms;

/* stdin mode: the reader thread and what it has sent */
static pthread_t reader;
static atomic_int reader_started;
static int stop_pipe[2] = { -1, -1 };
static atomic_ullong stdin_sent;
static atomic_int stdin_eof;
static atomic_llong stdin_eof_ms;

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* End the run once: 0 for success, 1 with a reason on stderr. */
static void
finish(int code, const char *why)
{
	if (atomic_exchange(&finished, 1))
		return;
	if (why != NULL)
		fprintf(stderr, "echo_client: %s: %s\n", addr, why);
	atomic_store(&exit_code, code);
	gnet_engine_stop(engine);
}

/* ------------------------------------------------------------------------
 * Load mode.
 */

/* The byte at stream offset k of connection i. */
static unsigned char
pattern(unsigned i, uint64_t k)
{
	uint64_t x = k * 0x9E3779B97F4A7C15ull + (i + 1) * 0xBF58476D1CE4E5B9ull;

	x ^= x >> 31;
	return (unsigned char)(x >> 11);
}

/* Messages in flight per connection: small enough for a UDP socket
 * buffer, enough to keep a stream busy. */
static uint64_t
window(void)
{
	uint64_t w = (is_udp ? 64 * 1024 : 256 * 1024) / size;

	return w < 1 ? 1 : (w > 64 ? 64 : w);
}

static void
send_more(gnet_conn_t *c, client_t *cl)
{
	while (cl->sent_msgs < cl->msgs &&
	    cl->sent_msgs * size - cl->recvd < window() * size) {
		uint64_t base = cl->sent_msgs * size;
		for (uint64_t k = 0; k < size; k++)
			cl->msg[k] = pattern(cl->index, base + k);
		if (gnet_conn_write(c, cl->msg, size) < 0)
			return;
		cl->sent_msgs++;
	}
}

static gnet_action_t
conn_finished(client_t *cl)
{
	cl->done = 1;
	if (atomic_fetch_add(&conns_done, 1) + 1 == nconns) {
		printf("echo_client: %llu messages x %llu bytes over %u "
		    "connection(s) verified in %lld ms\n",
		    (unsigned long long)load, (unsigned long long)size, nconns,
		    (long long)(now_ms() - start_ms));
		fflush(stdout);
		finish(0, NULL);
	}
	return GNET_NONE;
}

static gnet_action_t
load_traffic(gnet_conn_t *c, client_t *cl)
{
	const unsigned char *p;
	size_t n = gnet_conn_peek(c, (const void **)&p);
	char why[160];

	if (cl->done) {
		gnet_conn_discard(c, n);
		return GNET_NONE;
	}
	if (is_udp && n != size) {
		snprintf(why, sizeof why, "connection %u: datagram of %zu bytes, "
		    "want %llu", cl->index, n, (unsigned long long)size);
		finish(1, why);
		return GNET_CLOSE;
	}
	if (cl->recvd + n > cl->sent_msgs * size) {
		snprintf(why, sizeof why, "connection %u: more bytes back than "
		    "sent", cl->index);
		finish(1, why);
		return GNET_CLOSE;
	}
	for (size_t k = 0; k < n; k++) {
		if (p[k] != pattern(cl->index, cl->recvd + k)) {
			snprintf(why, sizeof why, "connection %u: byte %llu "
			    "differs", cl->index,
			    (unsigned long long)(cl->recvd + k));
			finish(1, why);
			return GNET_CLOSE;
		}
	}
	cl->recvd += n;
	gnet_conn_discard(c, n);
	if (cl->recvd == cl->msgs * size)
		return conn_finished(cl);
	send_more(c, cl);
	return GNET_NONE;
}

/* ------------------------------------------------------------------------
 * stdin mode: a thread reads lines and hands them to the connection with
 * gnet_conn_write_async (copied, delivered on the connection's loop in order).
 */
static int
send_line(gnet_handle_t h, const char *p, size_t n)
{
	int rc;

	atomic_fetch_add(&stdin_sent, n);
	rc = gnet_conn_write_async(engine, h, p, n, NULL, NULL);
	if (rc != 0)
		finish(1, gnet_strerror(rc));
	return rc;
}

static void *
read_stdin(void *arg)
{
	gnet_handle_t h = *(gnet_handle_t *)arg;
	char buf[65536];
	size_t len = 0;
	gnet_msg_t m = { .type = MSG_STDIN_EOF };

	for (;;) {
		struct pollfd pfd[2] = { { .fd = STDIN_FILENO, .events = POLLIN },
			{ .fd = stop_pipe[0], .events = POLLIN } };
		ssize_t r;
		char *nl;

		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			return NULL;
		if (pfd[1].revents != 0)
			return NULL; /* the engine stopped */
		if (pfd[0].revents == 0)
			continue;
		r = read(STDIN_FILENO, buf + len, sizeof buf - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
		/* One write per line (one datagram per line over UDP); a line
		 * longer than the buffer goes out in pieces. */
		while ((nl = memchr(buf, '\n', len)) != NULL || len == sizeof buf) {
			size_t n = nl != NULL ? (size_t)(nl + 1 - buf) : len;
			if (send_line(h, buf, n) != 0)
				return NULL;
			len -= n;
			memmove(buf, buf + n, len);
		}
	}
	if (len > 0 && send_line(h, buf, len) != 0)
		return NULL;
	atomic_store(&stdin_eof_ms, now_ms());
	atomic_store(&stdin_eof, 1);
	/* The loop decides whether every reply is in already. */
	gnet_actor_send(engine, h, &m);
	return NULL;
}

static void
stdin_check_done(void)
{
	if (atomic_load(&stdin_eof) &&
	    clients[0].recvd >= atomic_load(&stdin_sent))
		finish(0, NULL);
}

static gnet_action_t
stdin_traffic(gnet_conn_t *c, client_t *cl)
{
	const void *p;
	size_t n = gnet_conn_peek(c, &p);

	fwrite(p, 1, n, stdout);
	fflush(stdout);
	cl->recvd += n;
	gnet_conn_discard(c, n);
	stdin_check_done();
	return GNET_NONE;
}

/* ------------------------------------------------------------------------
 * Events.
 */
static gnet_action_t
on_boot(gnet_engine_t *eng, void *udata)
{
	(void)udata;
	start_ms = now_ms();
	for (unsigned i = 0; i < nconns; i++) {
		gnet_dial_options_t o = { .size = sizeof(gnet_dial_options_t), .loop = -1, .connect_timeout_ms = 5000,
			.ctx = &clients[i] };
		/* From the boot thread the outcome always comes later, as
		 * on_open or on_dial_error. */
		int rc = gnet_engine_dial(eng, addr, &o, NULL);
		if (rc != 0) {
			fprintf(stderr, "echo_client: %s: %s\n", addr,
			    gnet_strerror(rc));
			return GNET_SHUTDOWN;
		}
	}
	return GNET_NONE;
}

static gnet_action_t
on_open(gnet_conn_t *c, void *udata)
{
	client_t *cl = gnet_conn_context(c);

	(void)udata;
	cl->h = gnet_conn_handle(c);
	if (load == 0) {
		if (pthread_create(&reader, NULL, read_stdin, &cl->h) != 0) {
			finish(1, "cannot start the stdin thread");
			return GNET_CLOSE;
		}
		atomic_store(&reader_started, 1);
		return GNET_NONE;
	}
	if (cl->msgs == 0)
		return conn_finished(cl);
	send_more(c, cl);
	return GNET_NONE;
}

static gnet_action_t
on_traffic(gnet_conn_t *c, void *udata)
{
	client_t *cl = gnet_conn_context(c);

	(void)udata;
	return load > 0 ? load_traffic(c, cl) : stdin_traffic(c, cl);
}

static gnet_action_t
on_message(gnet_conn_t *c, const gnet_msg_t *m, void *udata)
{
	(void)c;
	(void)udata;
	if (m->type == MSG_STDIN_EOF)
		stdin_check_done();
	return GNET_NONE;
}

static void
on_close(gnet_conn_t *c, int reason, void *udata)
{
	client_t *cl = gnet_conn_context(c);
	char why[160];

	(void)udata;
	if (reason == GNET_ESHUTDOWN || atomic_load(&finished))
		return;
	if (load > 0 && cl->done)
		return;
	snprintf(why, sizeof why, "connection closed before every reply "
	    "arrived: %s", reason == 0 ? "closed" : gnet_strerror(reason));
	finish(1, why);
}

static void
on_dial_error(gnet_engine_t *eng, gnet_handle_t h, void *ctx, int err,
    void *udata)
{
	(void)eng;
	(void)h;
	(void)ctx;
	(void)udata;
	finish(1, gnet_strerror(err));
}

/* The deadlines: the whole load run, or the grace after stdin's EOF. */
static gnet_action_t
on_tick(gnet_engine_t *eng, uint64_t *delay_ns, void *udata)
{
	char why[160];

	(void)eng;
	(void)udata;
	*delay_ns = 50 * 1000000ull;
	if (load > 0 && now_ms() - start_ms > timeout_ms) {
		snprintf(why, sizeof why, "timeout: %u of %u connection(s) "
		    "done after %lld ms", atomic_load(&conns_done), nconns,
		    (long long)timeout_ms);
		finish(1, why);
	} else if (load == 0 && atomic_load(&stdin_eof) &&
	    now_ms() - atomic_load(&stdin_eof_ms) > STDIN_GRACE_MS) {
		finish(1, "timeout: replies missing 5 s after the end of stdin");
	}
	return GNET_NONE;
}

static void
on_signal(int sig)
{
	(void)sig;
	gnet_engine_stop(engine);
}

static void
usage(void)
{
	fprintf(stderr, "usage: echo_client [--addr tcp://HOST:PORT|udp://HOST:PORT|"
	    "unix://PATH] [--load N --size B [--conns C] [--loops L]] "
	    "[--timeout MS]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	gnet_events_t ev = { .size = sizeof(gnet_events_t), .on_boot = on_boot, .on_open = on_open,
		.on_traffic = on_traffic, .on_close = on_close,
		.on_message = on_message, .on_dial_error = on_dial_error,
		.on_tick = on_tick };
	gnet_options_t opt = { .size = sizeof(gnet_options_t) };
	int rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--addr") == 0 && i + 1 < argc)
			addr = argv[++i];
		else if (strcmp(argv[i], "--load") == 0 && i + 1 < argc)
			load = flag_number(argv[++i], 1, UINT32_MAX, usage);
		else if (strcmp(argv[i], "--size") == 0 && i + 1 < argc)
			size = flag_number(argv[++i], 1, 64u << 20, usage);
		else if (strcmp(argv[i], "--conns") == 0 && i + 1 < argc)
			nconns = (unsigned)flag_number(argv[++i], 1, 100000, usage);
		else if (strcmp(argv[i], "--loops") == 0 && i + 1 < argc)
			opt.num_loops = (int)flag_number(argv[++i], 1, GNET_MAX_LOOPS, usage);
		else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc)
			timeout_ms = (int64_t)flag_number(argv[++i], 1, 3600000, usage);
		else
			usage();
	}
	is_udp = strncmp(addr, "udp://", 6) == 0;
	if ((load > 0) != (size > 0))
		usage();
	if (load == 0) {
		nconns = 1; /* stdin mode: one connection */
		opt.num_loops = 1;
	} else if (is_udp && size > MAX_UDP_PAYLOAD) {
		fprintf(stderr, "echo_client: --size over %d does not fit a "
		    "datagram\n", MAX_UDP_PAYLOAD);
		return 2;
	}
	clients = calloc(nconns, sizeof(*clients));
	if (clients == NULL || pipe(stop_pipe) != 0) {
		fprintf(stderr, "echo_client: out of memory\n");
		return 1;
	}
	for (unsigned i = 0; i < nconns; i++) {
		clients[i].index = i;
		clients[i].msgs = load / nconns + (i < load % nconns);
		if (load > 0 && (clients[i].msg = malloc(size)) == NULL) {
			fprintf(stderr, "echo_client: out of memory\n");
			return 1;
		}
	}
	rc = gnet_engine_new(&engine, &ev, &opt, NULL);
	if (rc != 0) {
		fprintf(stderr, "echo_client: %s\n", gnet_strerror(rc));
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	rc = gnet_engine_run(engine);
	/* The reader may still wait on stdin: wake it and let it go before
	 * the engine it writes to is freed. */
	if (write(stop_pipe[1], "x", 1) < 0)
		perror("echo_client: write");
	if (atomic_load(&reader_started))
		pthread_join(reader, NULL);
	gnet_engine_free(engine);
	close(stop_pipe[0]);
	close(stop_pipe[1]);
	for (unsigned i = 0; i < nconns; i++)
		free(clients[i].msg);
	free(clients);
	if (rc != 0) {
		fprintf(stderr, "echo_client: %s\n", gnet_strerror(rc));
		return 1;
	}
	return atomic_load(&exit_code);
}
