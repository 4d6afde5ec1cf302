/*
 * check_addr.c -- integration suite "addr": bad input at the API edge.
 *
 * Listen addresses (the table below is the documented list: keep it in
 * step with the README), gnet_strerror, stale and garbage handles from loop
 * and foreign threads, invalid send/async-write arguments, and loop-only
 * functions called from a foreign thread. Bad input must give the
 * documented error, never a crash or a silent success.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "gnet.h"
#include "support/testnet.h"

#define TCASE_TIMEOUT_S 60
#define WAIT_MS 5000
#define IO_MS 10000
#define SMALL_BYTES 1024
#define USER_MSG_TYPE (GNET_MSG_USER + 1)
#define DROPPED_MSG_VALUE 77
#define GARBAGE_LOOP 200u           /* no engine has that many loops */
#define GARBAGE_SLOT 0xFFFFFFu      /* the highest 24-bit slot */

/* A handle from its documented parts: loop (8) | slot (24) | generation (32). */
static gnet_handle_t make_handle(unsigned loop, unsigned slot, uint32_t gen)
{
	return ((gnet_handle_t)(loop & 0xFFu) << 56) |
	    ((gnet_handle_t)(slot & 0xFFFFFFu) << 32) | gen;
}

/* ------------------------------------------------------------------------
 * Listen addresses.
 */
struct addr_case {
	const char *addr;
	int want;       /* 0: must listen; otherwise the exact error */
};

static const struct addr_case addr_table[] = {
	{ NULL, GNET_EINVAL },
	{ "", GNET_EADDR },
	{ "127.0.0.1:9000", GNET_EADDR },         /* no scheme */
	{ "http://127.0.0.1:80", GNET_ESCHEME },
	{ "tulip://x", GNET_ESCHEME },
	{ "tcp://", GNET_EADDR },
	{ "tcp://127.0.0.1", GNET_EADDR },        /* no port */
	{ "tcp://127.0.0.1:", GNET_EADDR },       /* empty port */
	{ "tcp://127.0.0.1:99999", GNET_EADDR },  /* port out of range */
	{ "tcp://127.0.0.1:80x", GNET_EADDR },    /* trailing junk */
	{ "tcp://256.1.1.1:80", GNET_EADDR },     /* octet out of range */
	{ "tcp://::1:80", GNET_EADDR },           /* IPv6 needs brackets */
	{ "tcp://[::1:80", GNET_EADDR },          /* unclosed bracket */
	{ "tcp://[::1]:80/path", GNET_EADDR },    /* no path allowed */
	{ "tcp://host name:80", GNET_EADDR },
	{ "tcp://example.com:80", GNET_EADDR },   /* numeric or localhost only */
	{ "udp://127.0.0.1", GNET_EADDR },        /* no port */
	{ "unix://", GNET_EADDR },                /* empty path */
	/* valid */
	{ "udp://127.0.0.1:0", 0 },
	{ "udp://[::1]:0", 0 },
	{ "tcp://127.0.0.1:0", 0 },
	{ "tcp://:0", 0 },
	{ "tcp://[::1]:0", 0 },
	{ "tcp://localhost:0", 0 },
};

#define ADDR_CASES (sizeof addr_table / sizeof addr_table[0])

static int count_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	ck_assert_ptr_nonnull(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* Connect to the loopback of the bound family on the bound port: proves
 * the listener is real (the kernel backlog accepts without a running
 * engine). */
static int connect_bound(const struct sockaddr_storage *ss)
{
	int port = tn_addr_port(ss);
	if (ss->ss_family == AF_INET6) {
		struct sockaddr_in6 s6;
		memset(&s6, 0, sizeof s6);
		s6.sin6_family = AF_INET6;
		s6.sin6_port = htons((uint16_t)port);
		s6.sin6_addr = in6addr_loopback;
		return tn_connect_addr((const struct sockaddr *)&s6, sizeof s6, 0);
	}
	return tn_connect(port);
}

START_TEST(test_listen_address_table)
{
	static const gnet_events_t no_events = { .size = sizeof(gnet_events_t) };
	/* Failed and successful listens alike must leave no descriptor behind
	 * once the engine is freed. */
	int fds_before = count_open_fds();

	for (size_t i = 0; i < ADDR_CASES; i++) {
		const struct addr_case *tc = &addr_table[i];
		const char *shown = tc->addr ? tc->addr : "(NULL)";
		gnet_engine_t *eng = NULL;
		int rc = gnet_engine_new(&eng, &no_events, NULL, NULL);
		ck_assert_msg(rc == 0, "gnet_engine_new: %d", rc);

		rc = gnet_engine_listen(eng, tc->addr);
		ck_assert_msg(rc == tc->want, "listen \"%s\": got %d (%s), want %d (%s)",
		    shown, rc, gnet_strerror(rc), tc->want, gnet_strerror(tc->want));

		if (tc->want == 0) {
			struct sockaddr_storage ss;
			socklen_t len = sizeof ss;
			memset(&ss, 0, sizeof ss);
			rc = gnet_engine_addr(eng, 0, &ss, &len);
			ck_assert_msg(rc == 0, "addr of \"%s\": %d", shown, rc);
			ck_assert_msg(tn_addr_port(&ss) > 0, "\"%s\": port %d", shown,
			    tn_addr_port(&ss));
			if (strchr(tc->addr, '['))
				ck_assert_msg(ss.ss_family == AF_INET6,
				    "\"%s\": family %d, want AF_INET6", shown, ss.ss_family);
			else if (strcmp(tc->addr, "tcp://localhost:0") != 0)
				ck_assert_msg(ss.ss_family == AF_INET,
				    "\"%s\": family %d, want AF_INET", shown, ss.ss_family);
			/* UDP has nothing to connect to; its bound port is
			 * proved by the UDP suites. */
			if (strncmp(tc->addr, "udp", 3) == 0) {
				gnet_engine_free(eng);
				continue;
			}
			int fd = connect_bound(&ss);
			ck_assert_msg(fd >= 0, "\"%s\": connect to port %d: %s", shown,
			    tn_addr_port(&ss), strerror(errno));
			tn_close(&fd);
		}
		gnet_engine_free(eng);
	}
	ck_assert_int_eq(count_open_fds(), fds_before);
}
END_TEST

/* ------------------------------------------------------------------------
 * gnet_strerror.
 */
static const int gnet_codes[] = {
	GNET_EINVAL, GNET_ESCHEME, GNET_EADDR, GNET_ESTALE, GNET_ECLOSED,
	GNET_EAGAIN, GNET_ENOMEM, GNET_ESTATE, GNET_ETHREAD, GNET_ESHUTDOWN,
	GNET_ELINGER, GNET_EABORTED, GNET_EEOF, GNET_EINBOUND, GNET_ENOTSUP,
	GNET_ELIMIT, GNET_EFRAMESIZE, GNET_EBADFRAME, GNET_ETRUNCATED, GNET_EOUTBOUND,
	GNET_EBUDGET,
	GNET_ETIMEDOUT,
};

#define N_CODES (sizeof gnet_codes / sizeof gnet_codes[0])

START_TEST(test_strerror)
{
	for (size_t i = 0; i < N_CODES; i++) {
		const char *s = gnet_strerror(gnet_codes[i]);
		ck_assert_msg(s != NULL && s[0] != '\0', "code %d: empty", gnet_codes[i]);
		for (size_t j = 0; j < i; j++)
			ck_assert_msg(strcmp(s, gnet_strerror(gnet_codes[j])) != 0,
			    "codes %d and %d share \"%s\"", gnet_codes[i], gnet_codes[j], s);
	}
	/* A negated errno reads like strerror. */
	const char *s = gnet_strerror(-ECONNRESET);
	ck_assert_ptr_nonnull(s);
	ck_assert_msg(strcmp(s, strerror(ECONNRESET)) == 0 ||
	    strcasestr(s, "reset") != NULL,
	    "-ECONNRESET gives \"%s\"", s);
	for (size_t i = 0; i < N_CODES; i++)
		ck_assert_str_ne(s, gnet_strerror(gnet_codes[i]));
	/* Never NULL, whatever the value. */
	const int odd[] = { 0, 1, 12345, -4095, -99999 };
	for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++)
		ck_assert_msg(gnet_strerror(odd[i]) != NULL, "%d gives NULL", odd[i]);
}
END_TEST

/* ------------------------------------------------------------------------
 * Stale and garbage handles.
 */
#define MAX_OPENS 4

typedef struct lk_srv {
	atomic_int opens, closes;
	atomic_uint_least64_t handles[MAX_OPENS];  /* by open order */
	/* probes, set by the test thread before it triggers them */
	atomic_uint_least64_t probe_stale;
	/* results of the lookups made on the loop (in on_traffic) */
	atomic_int probed;
	atomic_int r_stale, r_self, r_none, r_garbage_loop, r_garbage_slot;
	atomic_int r_send_stale;
	atomic_int self_matches;      /* lookup of its own handle gave c */
	/* on_dropped */
	atomic_int dropped;
	atomic_uint_least64_t dropped_a;
	/* async write completions */
	atomic_int cb_calls, cb_ok;
} lk_srv_t;

static gnet_action_t lk_open(gnet_conn_t *c, void *udata)
{
	lk_srv_t *ctx = udata;
	int i = atomic_fetch_add(&ctx->opens, 1);
	if (i < MAX_OPENS)
		atomic_store(&ctx->handles[i], gnet_conn_handle(c));
	return GNET_NONE;
}

/* 'L' runs the lookup probes on this loop and answers "done\n"; any other
 * bytes are echoed. */
static gnet_action_t lk_traffic(gnet_conn_t *c, void *udata)
{
	lk_srv_t *ctx = udata;
	gnet_engine_t *eng = gnet_conn_engine(c);
	const void *data = NULL;
	size_t n = gnet_conn_peek(c, &data);
	if (n == 0)
		return GNET_NONE;
	if (((const char *)data)[0] != 'L') {
		gnet_conn_write(c, data, n);
		gnet_conn_discard(c, n);
		return GNET_NONE;
	}
	gnet_conn_discard(c, n);

	gnet_conn_t *out = NULL;
	gnet_handle_t self = gnet_conn_handle(c);
	atomic_store(&ctx->r_self, gnet_conn_lookup(eng, self, &out));
	atomic_store(&ctx->self_matches, out == c);
	atomic_store(&ctx->r_stale,
	    gnet_conn_lookup(eng, atomic_load(&ctx->probe_stale), &out));
	atomic_store(&ctx->r_none, gnet_conn_lookup(eng, GNET_HANDLE_NONE, &out));
	atomic_store(&ctx->r_garbage_loop,
	    gnet_conn_lookup(eng, make_handle(GARBAGE_LOOP, 1, 1), &out));
	atomic_store(&ctx->r_garbage_slot,
	    gnet_conn_lookup(eng, make_handle((unsigned)(self >> 56), GARBAGE_SLOT,
	    0xDEADu), &out));
	/* Documented: a send to a gone actor of the calling loop is refused. */
	gnet_msg_t m = { .type = USER_MSG_TYPE };
	atomic_store(&ctx->r_send_stale,
	    gnet_actor_send(eng, atomic_load(&ctx->probe_stale), &m));
	atomic_store(&ctx->probed, 1);
	gnet_conn_write(c, "done\n", 5);
	return GNET_NONE;
}

static void lk_close(gnet_conn_t *c, int reason, void *udata)
{
	lk_srv_t *ctx = udata;
	(void)c;
	(void)reason;
	atomic_fetch_add(&ctx->closes, 1);
}

static void lk_dropped(gnet_engine_t *eng, const gnet_msg_t *m, void *udata)
{
	lk_srv_t *ctx = udata;
	(void)eng;
	atomic_store(&ctx->dropped_a, m->a);
	atomic_fetch_add(&ctx->dropped, 1);
}

static void lk_write_cb(gnet_conn_t *c, int status, void *cbdata)
{
	lk_srv_t *ctx = cbdata;
	if (status == 0 && c != NULL)
		atomic_fetch_add(&ctx->cb_ok, 1);
	atomic_fetch_add(&ctx->cb_calls, 1);
}

static const gnet_events_t lk_events = { .size = sizeof(gnet_events_t),
	.on_open = lk_open,
	.on_traffic = lk_traffic,
	.on_close = lk_close,
	.on_dropped = lk_dropped,
};

START_TEST(test_stale_and_garbage_handles)
{
	lk_srv_t ctx;
	memset(&ctx, 0, sizeof ctx);
	/* One loop: both connections live there, so the stale lookup is made
	 * on the owning loop and must say GNET_ESTALE (not GNET_ETHREAD). */
	gnet_options_t opts = { .size = sizeof(gnet_options_t), .num_loops = 1 };
	tn_server_t s;
	tn_server_start(&s, &lk_events, &opts, &ctx);
	gnet_engine_t *eng = s.eng;

	/* Connection A opens and closes: its handle goes stale. */
	int fd = tn_connect(s.port);
	ck_assert_int_ge(fd, 0);
	TN_WAIT_UNTIL(atomic_load(&ctx.opens) == 1, WAIT_MS);
	ck_assert_int_eq(atomic_load(&ctx.opens), 1);
	gnet_handle_t stale = atomic_load(&ctx.handles[0]);
	ck_assert_uint_ne(stale, GNET_HANDLE_NONE);
	tn_close(&fd);
	TN_WAIT_UNTIL(atomic_load(&ctx.closes) == 1, WAIT_MS);
	ck_assert_int_eq(atomic_load(&ctx.closes), 1);

	/* Connection B stays open (it may reuse A's slot). */
	fd = tn_connect(s.port);
	ck_assert_int_ge(fd, 0);
	TN_WAIT_UNTIL(atomic_load(&ctx.opens) == 2, WAIT_MS);
	ck_assert_int_eq(atomic_load(&ctx.opens), 2);
	gnet_handle_t live = atomic_load(&ctx.handles[1]);
	ck_assert_uint_ne(live, GNET_HANDLE_NONE);
	ck_assert_uint_ne(live, stale);

	/* From this foreign thread a lookup is always the wrong thread. */
	gnet_conn_t *out = NULL;
	ck_assert_int_eq(gnet_conn_lookup(eng, stale, &out), GNET_ETHREAD);
	ck_assert_int_eq(gnet_conn_lookup(eng, live, &out), GNET_ETHREAD);
	ck_assert_int_lt(gnet_conn_lookup(eng, GNET_HANDLE_NONE, &out), 0);
	ck_assert_int_lt(gnet_conn_lookup(eng, make_handle(GARBAGE_LOOP, 1, 1), &out), 0);

	/* On the loop, inside B's on_traffic. */
	atomic_store(&ctx.probe_stale, stale);
	ck_assert_uint_eq(tn_send_all(fd, "L", 1, IO_MS), 1);
	char buf[8] = { 0 };
	ck_assert_uint_eq(tn_read_exact(fd, buf, 5, IO_MS), 5);
	ck_assert_str_eq(buf, "done\n");
	ck_assert_int_eq(atomic_load(&ctx.probed), 1);
	ck_assert_int_eq(atomic_load(&ctx.r_self), 0);
	ck_assert_int_eq(atomic_load(&ctx.self_matches), 1);
	ck_assert_msg(atomic_load(&ctx.r_stale) == GNET_ESTALE,
	    "lookup of a closed conn on its loop: %d (%s), want GNET_ESTALE",
	    atomic_load(&ctx.r_stale), gnet_strerror(atomic_load(&ctx.r_stale)));
	ck_assert_int_lt(atomic_load(&ctx.r_none), 0);
	ck_assert_int_lt(atomic_load(&ctx.r_garbage_loop), 0);
	ck_assert_int_lt(atomic_load(&ctx.r_garbage_slot), 0);
	ck_assert_msg(atomic_load(&ctx.r_send_stale) == GNET_ESTALE,
	    "gnet_actor_send to a gone conn of the calling loop: %d (%s), want GNET_ESTALE",
	    atomic_load(&ctx.r_send_stale),
	    gnet_strerror(atomic_load(&ctx.r_send_stale)));

	/* gnet_actor_send: no loop behind the handle, or a reserved type. */
	gnet_msg_t m = { .type = USER_MSG_TYPE };
	ck_assert_int_eq(gnet_actor_send(eng, GNET_HANDLE_NONE, &m), GNET_EINVAL);
	ck_assert_int_eq(gnet_actor_send(eng, make_handle(GARBAGE_LOOP, 1, 1), &m),
	    GNET_EINVAL);
	gnet_msg_t reserved = { .type = GNET_MSG_USER - 1 };
	ck_assert_int_eq(gnet_actor_send(eng, live, &reserved), GNET_EINVAL);

	/* From a foreign thread a send to a gone actor is queued, then dropped
	 * through on_dropped. */
	gnet_msg_t late = { .type = USER_MSG_TYPE, .a = DROPPED_MSG_VALUE };
	int rc = gnet_actor_send(eng, stale, &late);
	ck_assert_msg(rc == 0, "foreign gnet_actor_send to a stale handle: %d (%s)", rc,
	    gnet_strerror(rc));
	TN_WAIT_UNTIL(atomic_load(&ctx.dropped) == 1, WAIT_MS);
	ck_assert_int_eq(atomic_load(&ctx.dropped), 1);
	ck_assert_uint_eq(atomic_load(&ctx.dropped_a), DROPPED_MSG_VALUE);

	/* gnet_conn_write_async: no data or no length is invalid, no callback. */
	ck_assert_int_eq(gnet_conn_write_async(eng, live, NULL, 4, lk_write_cb, &ctx),
	    GNET_EINVAL);
	ck_assert_int_eq(gnet_conn_write_async(eng, live, "abcd", 0, lk_write_cb, &ctx),
	    GNET_EINVAL);
	ck_assert_int_lt(gnet_conn_write_async(eng, GNET_HANDLE_NONE, "abcd", 4,
	    lk_write_cb, &ctx), 0);
	/* A valid write after them: in-order delivery means any callback of
	 * the refused ones would have run before this one's. */
	ck_assert_int_eq(gnet_conn_write_async(eng, live, "ok\n", 3, lk_write_cb, &ctx), 0);
	memset(buf, 0, sizeof buf);
	ck_assert_uint_eq(tn_read_exact(fd, buf, 3, IO_MS), 3);
	ck_assert_str_eq(buf, "ok\n");
	TN_WAIT_UNTIL(atomic_load(&ctx.cb_calls) >= 1, WAIT_MS);
	ck_assert_int_eq(atomic_load(&ctx.cb_calls), 1);
	ck_assert_int_eq(atomic_load(&ctx.cb_ok), 1);

	tn_close(&fd);
	TN_WAIT_UNTIL(atomic_load(&ctx.closes) == 2, WAIT_MS);
	ck_assert_int_eq(atomic_load(&ctx.closes), 2);
	tn_server_close(&s);
}
END_TEST

/* ------------------------------------------------------------------------
 * Loop-only functions from a foreign thread.
 */
typedef struct fo_srv {
	gnet_conn_t *_Atomic conn;   /* captured in on_open, for misuse */
	atomic_uint_least64_t handle;
	atomic_int closes;
	atomic_int messages;
} fo_srv_t;

static gnet_action_t fo_open(gnet_conn_t *c, void *udata)
{
	fo_srv_t *ctx = udata;
	atomic_store(&ctx->handle, gnet_conn_handle(c));
	atomic_store(&ctx->conn, c);
	return GNET_NONE;
}

static gnet_action_t fo_traffic(gnet_conn_t *c, void *udata)
{
	(void)udata;
	const void *data = NULL;
	size_t n = gnet_conn_peek(c, &data);
	gnet_conn_write(c, data, n);
	gnet_conn_discard(c, n);
	return GNET_NONE;
}

static void fo_close(gnet_conn_t *c, int reason, void *udata)
{
	fo_srv_t *ctx = udata;
	(void)c;
	(void)reason;
	atomic_fetch_add(&ctx->closes, 1);
}

static gnet_action_t fo_message(gnet_conn_t *c, const gnet_msg_t *m,
    void *udata)
{
	fo_srv_t *ctx = udata;
	(void)c;
	(void)m;
	atomic_fetch_add(&ctx->messages, 1);
	return GNET_NONE;
}

static void fo_receive(gnet_actor_t *self, const gnet_msg_t *m)
{
	(void)self;
	(void)m;
}

static const gnet_events_t fo_events = { .size = sizeof(gnet_events_t),
	.on_open = fo_open,
	.on_traffic = fo_traffic,
	.on_close = fo_close,
	.on_message = fo_message,
};

START_TEST(test_loop_only_from_foreign_thread)
{
	fo_srv_t ctx;
	memset(&ctx, 0, sizeof ctx);
	tn_server_t s;
	tn_server_start(&s, &fo_events, NULL, &ctx);

	int fd = tn_connect(s.port);
	ck_assert_int_ge(fd, 0);
	TN_WAIT_UNTIL(atomic_load(&ctx.conn) != NULL, WAIT_MS);
	gnet_conn_t *c = atomic_load(&ctx.conn);
	ck_assert_ptr_nonnull(c);
	gnet_handle_t h = atomic_load(&ctx.handle);

	/* The peer is connected and silent: the connection is certainly
	 * alive, only this thread is wrong. */
	char buf[8];
	struct iovec iov = { .iov_base = "x", .iov_len = 1 };
	ck_assert_int_eq(gnet_conn_write(c, "x", 1), GNET_ETHREAD);
	ck_assert_int_eq(gnet_conn_writev(c, &iov, 1), GNET_ETHREAD);
	ck_assert_int_eq(gnet_conn_read(c, buf, sizeof buf), GNET_ETHREAD);
	ck_assert_int_eq(gnet_conn_discard(c, 1), GNET_ETHREAD);
	ck_assert_int_eq(gnet_conn_close(c), GNET_ETHREAD);
	ck_assert_int_eq(gnet_conn_abort(c), GNET_ETHREAD);
	gnet_conn_t *out = NULL;
	ck_assert_int_eq(gnet_conn_lookup(s.eng, h, &out), GNET_ETHREAD);
	gnet_msg_t m = { .type = USER_MSG_TYPE };
	ck_assert_int_eq(gnet_actor_send_after(s.eng, h, &m, 10), GNET_ETHREAD);
	gnet_actor_def_t def = { .size = sizeof(gnet_actor_def_t), .receive = fo_receive };
	gnet_handle_t ah = GNET_HANDLE_NONE;
	ck_assert_int_eq(gnet_actor_spawn(s.eng, 0, &def, &ah), GNET_ETHREAD);
	/* This thread read the connection above; a message the loop has
	 * handled orders those reads before whatever the loop does next --
	 * freeing the connection at its close among them -- as TSan sees it
	 * (io_uring's receives leave it no other edge). */
	gnet_msg_t sync = { .type = USER_MSG_TYPE };
	ck_assert_int_eq(gnet_actor_send(s.eng, h, &sync), 0);
	TN_WAIT_UNTIL(atomic_load(&ctx.messages) == 1, WAIT_MS);
	ck_assert_int_eq(atomic_load(&ctx.messages), 1);

	/* None of it touched the connection: it echoes exactly, still open. */
	uint8_t payload[SMALL_BYTES];
	tn_fill_random(payload, sizeof payload, 17);
	tn_client_t cl;
	tn_client_init(&cl, fd, payload, sizeof payload, NULL, 0);
	ck_assert_msg(tn_pump(&cl, 1, IO_MS) == 0, "%s", tn_pump_error(&cl, 1));
	ck_assert_int_eq(atomic_load(&ctx.closes), 0);
	ck_assert_int_eq(gnet_engine_conn_count(s.eng), 1);

	tn_close(&cl.fd);
	TN_WAIT_UNTIL(atomic_load(&ctx.closes) == 1, WAIT_MS);
	ck_assert_int_eq(atomic_load(&ctx.closes), 1);
	tn_server_close(&s);
}
END_TEST

/* ------------------------------------------------------------------------
 */
static Suite *addr_suite(void)
{
	Suite *s = suite_create("addr");
	TCase *tc;

	tc = tn_tcase("listen", TCASE_TIMEOUT_S);
	tcase_add_test(tc, test_listen_address_table);
	tcase_add_test(tc, test_strerror);
	suite_add_tcase(s, tc);

	tc = tn_tcase("handles", TCASE_TIMEOUT_S);
	tcase_add_test(tc, test_stale_and_garbage_handles);
	tcase_add_test(tc, test_loop_only_from_foreign_thread);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tn_run_suite(addr_suite());
}
