/*
 * check_groups.c -- suite "groups": several behaviours in one engine, and
 * ending what one owner put into it, through the library API alone (no
 * module host).
 *
 *   - listeners of their own (gnet_engine_listen_with): each accepted
 *     connection, on whichever loop it lands, calls its own listener's
 *     events with its udata -- on_open, on_traffic, on_message, on_close
 *     -- and a plain listener's the engine's; the call returns the index;
 *   - per-connection state (conn_state_size, gnet_conn_state): zeroed,
 *     as large as asked, one per connection, kept across callbacks, NULL
 *     without it and off the owner loop; sizes and structs refused by the
 *     rules of base/abi.h;
 *   - per-listener codecs: only that listener's connections decode and
 *     encode with it;
 *   - groups: gnet_group_live counts listening sockets, connections and
 *     actors; gnet_group_close on a running engine stops the listener,
 *     flushes and closes the connections (GNET_ESHUTDOWN), stops the
 *     actors, and leaves other groups and group-less members serving;
 *     gnet_group_wait returns once no loop can call into the group's
 *     callbacks any more (every on_close and on_stop has returned), or
 *     GNET_ETIMEDOUT while a lingering connection holds it; a closed
 *     group takes no new member; before the engine runs the close is
 *     done at once; loop threads may neither close nor wait;
 *   - gnet_addr_check agrees with gnet_engine_listen without binding.
 *
 * Callbacks only record into atomics (TN_LOOP_CHECK for what must hold
 * there); the test thread asserts, with bounded waits.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "gnet.h"
#include "support/sockets.h"
#include "support/testnet.h"
#include "support/tmpdir.h"

#define TCASE_TIMEOUT_S 30
#define WAIT_MS 5000            /* for a callback to be observed */
#define IO_MS 10000             /* for one client exchange */
#define SHORT_MS 30             /* a wait that must time out */

#define ANY_PORT "tcp://127.0.0.1:0"
#define MSG_PING (GNET_MSG_USER + 1)
#define MSG_SPAWN (GNET_MSG_USER + 2)

/* The bound port of listener `index`. */
static int
port_of(gnet_engine_t *eng, int index)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;

	ck_assert_int_eq(gnet_engine_addr(eng, index, &ss, &len), 0);
	return tn_addr_port(&ss);
}

/* A connected client, or the test fails. */
static int
client(int port)
{
	int fd = tn_connect(port);

	ck_assert_msg(fd >= 0, "connect to port %d: %s", port, strerror(errno));
	return fd;
}

/* Send `out`, then expect exactly `want` back. */
static void
exchange(int fd, const char *out, const char *want)
{
	size_t n = strlen(want);
	char buf[256];

	ck_assert_uint_lt(n, sizeof buf);
	ck_assert_uint_eq(tn_send_all(fd, out, strlen(out), IO_MS), strlen(out));
	memset(buf, 0, sizeof buf);
	ck_assert_msg(tn_read_exact(fd, buf, n, IO_MS) == n,
	    "sent \"%s\", got \"%s\", want \"%s\"", out, buf, want);
	ck_assert_str_eq(buf, want);
}

/* Is a TCP connect to 127.0.0.1:port refused (nobody listens)? */
static int
refused(int port)
{
	int fd = tn_connect(port), err = errno;

	if (fd >= 0) {
		close(fd);
		return 0;
	}
	return err == ECONNREFUSED;
}

/* One datagram to 127.0.0.1:port, and its echo. */
static void
udp_echo(int port, const char *text)
{
	struct sockaddr_in sin = tn_loopback(port);
	struct timeval tv = { IO_MS / 1000, 0 };
	char buf[64] = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	ck_assert_int_eq(send(fd, text, strlen(text), 0), (ssize_t)strlen(text));
	n = recv(fd, buf, sizeof buf - 1, 0);
	close(fd);
	ck_assert_msg(n == (ssize_t)strlen(text), "udp echo: %zd bytes (%s)", n,
	    n < 0 ? strerror(errno) : buf);
	ck_assert_str_eq(buf, text);
}

static void
send_msg(gnet_engine_t *eng, gnet_handle_t to, uint32_t type, uint64_t a)
{
	gnet_msg_t m = { .type = type, .a = a };
	int rc = gnet_actor_send(eng, to, &m);

	ck_assert_msg(rc == 0, "gnet_actor_send: %d (%s)", rc, gnet_strerror(rc));
}

/* ------------------------------------------------------------------------
 * Listener behaviour: three sets of events, told apart by a letter in
 * every reply, and three udata, told apart by a digit. Each callback
 * checks that it got the udata meant for its set.
 */
typedef struct side {
	char fn;                /* the events set this udata belongs to */
	char tag;               /* this udata's mark in replies */
	atomic_int opens, traffic, messages, closes, eofs;
	atomic_int loops;       /* bit i: a connection opened on loop i */
	atomic_int state_seen;  /* gnet_conn_state was not NULL */
	_Atomic gnet_handle_t last; /* the latest connection's handle */
	tn_loop_errors_t errs;
} side_t;

static void
side_init(side_t *s, char fn, char tag)
{
	memset(s, 0, sizeof *s);
	s->fn = fn;
	s->tag = tag;
}

static gnet_action_t
beh_open(gnet_conn_t *c, void *udata, char fn)
{
	side_t *s = udata;

	TN_LOOP_CHECK(&s->errs, s->fn == fn);
	if (gnet_conn_state(c) != NULL)
		atomic_store(&s->state_seen, 1);
	atomic_fetch_or(&s->loops, 1 << gnet_conn_loop_index(c));
	atomic_store(&s->last, gnet_conn_handle(c));
	atomic_fetch_add(&s->opens, 1);
	return GNET_NONE;
}

/* Reply "<fn><tag>" and the bytes. */
static gnet_action_t
beh_traffic(gnet_conn_t *c, void *udata, char fn)
{
	side_t *s = udata;
	char head[2] = { fn, s->tag }, buf[64];
	long n = gnet_conn_read(c, buf, sizeof buf);

	TN_LOOP_CHECK(&s->errs, s->fn == fn);
	TN_LOOP_CHECK(&s->errs, n > 0);
	gnet_conn_write(c, head, 2);
	if (n > 0)
		gnet_conn_write(c, buf, (size_t)n);
	atomic_fetch_add(&s->traffic, 1);
	return GNET_NONE;
}

/* Reply "m<fn><tag>" and the message's byte. */
static gnet_action_t
beh_message(gnet_conn_t *c, const gnet_msg_t *m, void *udata, char fn)
{
	side_t *s = udata;
	char r[4] = { 'm', fn, s->tag, (char)m->a };

	TN_LOOP_CHECK(&s->errs, s->fn == fn);
	TN_LOOP_CHECK(&s->errs, m->type == MSG_PING);
	gnet_conn_write(c, r, sizeof r);
	atomic_fetch_add(&s->messages, 1);
	return GNET_NONE;
}

static void
beh_close(gnet_conn_t *c, int reason, void *udata, char fn)
{
	side_t *s = udata;

	(void)c;
	TN_LOOP_CHECK(&s->errs, s->fn == fn);
	if (reason == GNET_EEOF)
		atomic_fetch_add(&s->eofs, 1);
	atomic_fetch_add(&s->closes, 1);
}

#define BEH_EVENTS(x, letter) \
	static gnet_action_t x##_open(gnet_conn_t *c, void *u) \
	{ return beh_open(c, u, letter); } \
	static gnet_action_t x##_traffic(gnet_conn_t *c, void *u) \
	{ return beh_traffic(c, u, letter); } \
	static gnet_action_t x##_message(gnet_conn_t *c, const gnet_msg_t *m, \
	    void *u) \
	{ return beh_message(c, m, u, letter); } \
	static void x##_close(gnet_conn_t *c, int r, void *u) \
	{ beh_close(c, r, u, letter); } \
	static const gnet_events_t x##_events = { .size = sizeof(gnet_events_t), \
	    .on_open = x##_open, .on_traffic = x##_traffic, \
	    .on_message = x##_message, .on_close = x##_close };

BEH_EVENTS(beh_a, 'a')
BEH_EVENTS(beh_b, 'b')
BEH_EVENTS(beh_e, 'e')

/* Two clients of one listener, each echoed, the second also messaged by
 * handle; both stay open (returned in fds). */
static void
two_clients(gnet_engine_t *eng, int port, side_t *s, int fds[2])
{
	char want[8];
	int opens = tn_ld(&s->opens);

	for (int i = 0; i < 2; i++) {
		fds[i] = client(port);
		TN_WAIT_UNTIL(tn_ld(&s->opens) == opens + i + 1, WAIT_MS);
		ck_assert_int_eq(tn_ld(&s->opens), opens + i + 1);
		snprintf(want, sizeof want, "%c%cx", s->fn, s->tag);
		exchange(fds[i], "x", want);
	}
	send_msg(eng, atomic_load(&s->last), MSG_PING, '!');
	char r[5] = { 0 };
	ck_assert_uint_eq(tn_read_exact(fds[1], r, 4, IO_MS), 4);
	snprintf(want, sizeof want, "m%c%c!", s->fn, s->tag);
	ck_assert_str_eq(r, want);
}

START_TEST(test_listeners_own_events_and_udata)
{
	gnet_options_t opt = { .size = sizeof opt, .num_loops = 2 };
	side_t sa, sb, se;
	gnet_listen_options_t la = { .size = sizeof la, .events = &beh_a_events,
	    .udata = &sa };
	gnet_listen_options_t lb = { .size = sizeof lb, .events = &beh_b_events,
	    .udata = &sb };
	tn_server_t s;
	int fds[4][2];

	side_init(&sa, 'a', '1');
	side_init(&sb, 'b', '2');
	side_init(&se, 'e', '3');
	tn_server_new(&s, &beh_e_events, &opt, &se);
	/* The index of each listener, in listen order; a plain listen
	 * returns 0 but takes an index too. */
	ck_assert_int_eq(gnet_engine_listen_with(s.eng, ANY_PORT, &la), 0);
	ck_assert_int_eq(gnet_engine_listen_with(s.eng, ANY_PORT, &lb), 1);
	ck_assert_int_eq(gnet_engine_listen(s.eng, ANY_PORT), 0);
	/* No options: the engine's behaviour. */
	ck_assert_int_eq(gnet_engine_listen_with(s.eng, ANY_PORT, NULL), 3);
	tn_server_run(&s);

	/* One listener after the other, two clients each: the acceptor's
	 * round robin puts one on each loop, so every behaviour is seen
	 * both on the acceptor's loop and handed to the other. */
	two_clients(s.eng, port_of(s.eng, 0), &sa, fds[0]);
	two_clients(s.eng, port_of(s.eng, 1), &sb, fds[1]);
	two_clients(s.eng, port_of(s.eng, 2), &se, fds[2]);
	two_clients(s.eng, port_of(s.eng, 3), &se, fds[3]);
	ck_assert_int_eq(tn_ld(&sa.loops), 3);
	ck_assert_int_eq(tn_ld(&sb.loops), 3);
	ck_assert_int_eq(tn_ld(&se.loops), 3);

	for (int i = 0; i < 4; i++) {
		tn_close(&fds[i][0]);
		tn_close(&fds[i][1]);
	}
	TN_WAIT_UNTIL(tn_ld(&sa.closes) == 2 && tn_ld(&sb.closes) == 2 &&
	    tn_ld(&se.closes) == 4, WAIT_MS);
	ck_assert_int_eq(tn_ld(&sa.closes), 2);
	ck_assert_int_eq(tn_ld(&sb.closes), 2);
	ck_assert_int_eq(tn_ld(&se.closes), 4);
	ck_assert_int_eq(tn_ld(&sa.eofs), 2);
	ck_assert_int_eq(tn_ld(&sb.eofs), 2);
	ck_assert_int_eq(tn_ld(&se.eofs), 4);
	/* Every callback ran once per event, through its own set only. */
	ck_assert_int_eq(tn_ld(&sa.opens), 2);
	ck_assert_int_eq(tn_ld(&sa.traffic), 2);
	ck_assert_int_eq(tn_ld(&sa.messages), 1);
	ck_assert_int_eq(tn_ld(&sb.opens), 2);
	ck_assert_int_eq(tn_ld(&sb.traffic), 2);
	ck_assert_int_eq(tn_ld(&sb.messages), 1);
	ck_assert_int_eq(tn_ld(&se.opens), 4);
	ck_assert_int_eq(tn_ld(&se.traffic), 4);
	ck_assert_int_eq(tn_ld(&se.messages), 2);
	/* None of them asked for state. */
	ck_assert_int_eq(tn_ld(&sa.state_seen) + tn_ld(&sb.state_seen) +
	    tn_ld(&se.state_seen), 0);
	TN_ASSERT_NO_LOOP_ERRORS(&sa.errs);
	TN_ASSERT_NO_LOOP_ERRORS(&sb.errs);
	TN_ASSERT_NO_LOOP_ERRORS(&se.errs);
	tn_server_close(&s);
}
END_TEST

/* ------------------------------------------------------------------------
 * Per-connection state. Each connection's state is checked zero at
 * on_open, then filled with FILL but for byte 0 (the connection's id)
 * and byte 1 (its on_traffic count); on_traffic replies those two bytes
 * after checking the fill is intact. A side of size 0 expects NULL and
 * replies two zeros.
 */
#define STATE_SIZE 1000
#define FILL 0xA5
#define MAX_IDS 8

typedef struct st_side {
	size_t size;            /* the listener's conn_state_size */
	atomic_int ids, closes;
	_Atomic(unsigned char *) ptr[MAX_IDS]; /* state of connection id */
	_Atomic(gnet_conn_t *) conn;           /* the latest connection */
	_Atomic gnet_handle_t handle;          /* and its handle */
	tn_loop_errors_t errs;
} st_side_t;

static int
all_are(const unsigned char *p, size_t from, size_t to, unsigned char v)
{
	for (size_t i = from; i < to; i++)
		if (p[i] != v)
			return 0;
	return 1;
}

static gnet_action_t
st_open(gnet_conn_t *c, void *udata)
{
	st_side_t *s = udata;
	unsigned char *p = gnet_conn_state(c);
	int id;

	atomic_store(&s->conn, c);
	atomic_store(&s->handle, gnet_conn_handle(c));
	if (s->size == 0) {
		TN_LOOP_CHECK(&s->errs, p == NULL);
		return GNET_NONE;
	}
	TN_LOOP_CHECK(&s->errs, p != NULL);
	if (p == NULL)
		return GNET_CLOSE;
	TN_LOOP_CHECK(&s->errs, all_are(p, 0, s->size, 0));
	memset(p, FILL, s->size);
	id = atomic_fetch_add(&s->ids, 1) + 1;
	TN_LOOP_CHECK(&s->errs, id < MAX_IDS);
	p[0] = (unsigned char)id;
	p[1] = 0;
	atomic_store(&s->ptr[id % MAX_IDS], p);
	gnet_conn_set_context(c, p);
	return GNET_NONE;
}

static gnet_action_t
st_traffic(gnet_conn_t *c, void *udata)
{
	st_side_t *s = udata;
	unsigned char *p = gnet_conn_state(c);
	unsigned char r[2] = { 0, 0 };

	gnet_conn_discard(c, gnet_conn_inbound_len(c));
	if (s->size == 0) {
		TN_LOOP_CHECK(&s->errs, p == NULL);
	} else {
		/* The same memory every call, and nobody else wrote it. */
		TN_LOOP_CHECK(&s->errs, p != NULL && p == gnet_conn_context(c));
		if (p == NULL)
			return GNET_CLOSE;
		TN_LOOP_CHECK(&s->errs, all_are(p, 2, s->size, FILL));
		p[1]++;
		r[0] = p[0];
		r[1] = p[1];
	}
	gnet_conn_write(c, r, 2);
	return GNET_NONE;
}

static void
st_close(gnet_conn_t *c, int reason, void *udata)
{
	st_side_t *s = udata;

	(void)reason;
	/* Still there in on_close: freed after it. */
	if (s->size != 0)
		TN_LOOP_CHECK(&s->errs, gnet_conn_state(c) == gnet_conn_context(c));
	atomic_fetch_add(&s->closes, 1);
}

static const gnet_events_t st_events = { .size = sizeof(gnet_events_t),
	.on_open = st_open, .on_traffic = st_traffic, .on_close = st_close };

/* One on_traffic round trip; returns the two reply bytes as id << 8 | n. */
static int
st_poke(int fd)
{
	unsigned char r[2];

	ck_assert_uint_eq(tn_send_all(fd, "x", 1, IO_MS), 1);
	ck_assert_uint_eq(tn_read_exact(fd, r, 2, IO_MS), 2);
	return r[0] << 8 | r[1];
}

/* gnet_listen_options_t as a newer program would send it. */
typedef struct {
	gnet_listen_options_t o;
	uint64_t newer_field;
} newer_listen_t;

START_TEST(test_conn_state)
{
	gnet_options_t opt = { .size = sizeof opt, .num_loops = 2 };
	st_side_t plain, s1, smax, s0;
	gnet_listen_options_t l1 = { .size = sizeof l1, .events = &st_events,
	    .udata = &s1, .conn_state_size = STATE_SIZE };
	gnet_listen_options_t l0 = { .size = sizeof l0, .events = &st_events,
	    .udata = &s0 };
	gnet_listen_options_t bad;
	gnet_events_t ev0 = { .size = 0 };
	newer_listen_t newer;
	gnet_engine_t *other;
	gnet_group_t *other_g;
	tn_server_t s;
	int c1, c2, c3, cmax, cplain, c0;

	memset(&plain, 0, sizeof plain);
	memset(&s1, 0, sizeof s1);
	memset(&smax, 0, sizeof smax);
	memset(&s0, 0, sizeof s0);
	s1.size = STATE_SIZE;
	smax.size = GNET_MAX_CONN_STATE;
	tn_server_new(&s, &st_events, &opt, &plain);
	ck_assert_int_eq(gnet_engine_listen(s.eng, ANY_PORT), 0);

	/* Refused options take no listener index: the next good one is 1. */
	bad = l1;
	bad.conn_state_size = GNET_MAX_CONN_STATE + 1;
	ck_assert_int_eq(gnet_engine_listen_with(s.eng, ANY_PORT, &bad), GNET_EINVAL);
	bad = l1;
	bad.size = 0;
	ck_assert_int_eq(gnet_engine_listen_with(s.eng, ANY_PORT, &bad), GNET_EINVAL);
	bad.size = offsetof(gnet_listen_options_t, group);
	ck_assert_int_eq(gnet_engine_listen_with(s.eng, ANY_PORT, &bad), GNET_EINVAL);
	bad = l1;
	bad.events = &ev0;
	ck_assert_int_eq(gnet_engine_listen_with(s.eng, ANY_PORT, &bad), GNET_EINVAL);
	memset(&newer, 0, sizeof newer);
	newer.o = l1;
	newer.o.size = sizeof newer;
	newer.newer_field = 1;
	ck_assert_int_eq(gnet_engine_listen_with(s.eng, ANY_PORT, &newer.o),
	    GNET_ENOTSUP);
	/* A group of another engine. */
	ck_assert_int_eq(gnet_engine_new(&other, &st_events, NULL, NULL), 0);
	ck_assert_int_eq(gnet_group_new(other, &other_g), 0);
	bad = l1;
	bad.group = other_g;
	ck_assert_int_eq(gnet_engine_listen_with(s.eng, ANY_PORT, &bad), GNET_EINVAL);
	ck_assert_int_eq(gnet_group_free(other_g), 0);
	gnet_engine_free(other);

	ck_assert_int_eq(gnet_engine_listen_with(s.eng, ANY_PORT, &l1), 1);
	/* A newer struct whose unknown tail is zero is read; the largest
	 * state allowed. */
	newer.newer_field = 0;
	newer.o.udata = &smax;
	newer.o.conn_state_size = GNET_MAX_CONN_STATE;
	ck_assert_int_eq(gnet_engine_listen_with(s.eng, ANY_PORT, &newer.o), 2);
	ck_assert_int_eq(gnet_engine_listen_with(s.eng, ANY_PORT, &l0), 3);
	tn_server_run(&s);

	/* Two connections at once: each its own state, kept across calls. */
	c1 = client(port_of(s.eng, 1));
	TN_WAIT_UNTIL(tn_ld(&s1.ids) == 1, WAIT_MS);
	c2 = client(port_of(s.eng, 1));
	TN_WAIT_UNTIL(tn_ld(&s1.ids) == 2, WAIT_MS);
	ck_assert_int_eq(tn_ld(&s1.ids), 2);
	ck_assert_int_eq(st_poke(c1), 1 << 8 | 1);
	ck_assert_int_eq(st_poke(c1), 1 << 8 | 2);
	ck_assert_int_eq(st_poke(c2), 2 << 8 | 1);
	ck_assert_int_eq(st_poke(c1), 1 << 8 | 3);
	ck_assert_int_eq(st_poke(c2), 2 << 8 | 2);
	{
		unsigned char *p1 = atomic_load(&s1.ptr[1]);
		unsigned char *p2 = atomic_load(&s1.ptr[2]);
		ck_assert_ptr_nonnull(p1);
		ck_assert_ptr_nonnull(p2);
		ck_assert_msg(p1 + STATE_SIZE <= p2 || p2 + STATE_SIZE <= p1,
		    "the states of two connections overlap");
	}
	/* Off its loop a connection's state is not handed out. */
	ck_assert_ptr_nonnull(atomic_load(&s1.conn));
	ck_assert_ptr_null(gnet_conn_state(atomic_load(&s1.conn)));

	/* A state freed with its connection is zeroed for the next one
	 * (on_open checks), however dirty the last one left it. c2 is
	 * closed by handle: the message orders the foreign look at it above
	 * before its end (for TSan). */
	tn_close(&c1);
	ck_assert_int_eq(gnet_conn_close_async(s.eng, atomic_load(&s1.handle)), 0);
	ck_assert_int_eq(tn_wait_eof(c2, IO_MS, NULL), 1);
	tn_close(&c2);
	TN_WAIT_UNTIL(tn_ld(&s1.closes) == 2, WAIT_MS);
	ck_assert_int_eq(tn_ld(&s1.closes), 2);
	c3 = client(port_of(s.eng, 1));
	ck_assert_int_eq(st_poke(c3), 3 << 8 | 1);

	cmax = client(port_of(s.eng, 2));
	ck_assert_int_eq(st_poke(cmax), 1 << 8 | 1);
	ck_assert_int_eq(st_poke(cmax), 1 << 8 | 2);

	/* No state: NULL (checked on the loop), for a listener without it
	 * and for the engine's. */
	cplain = client(port_of(s.eng, 0));
	ck_assert_int_eq(st_poke(cplain), 0);
	c0 = client(port_of(s.eng, 3));
	ck_assert_int_eq(st_poke(c0), 0);

	TN_ASSERT_NO_LOOP_ERRORS(&s1.errs);
	TN_ASSERT_NO_LOOP_ERRORS(&smax.errs);
	TN_ASSERT_NO_LOOP_ERRORS(&s0.errs);
	TN_ASSERT_NO_LOOP_ERRORS(&plain.errs);
	tn_close(&c3);
	tn_close(&cmax);
	tn_close(&cplain);
	tn_close(&c0);
	tn_server_close(&s);
	/* on_close's checks too. */
	TN_ASSERT_NO_LOOP_ERRORS(&s1.errs);
	TN_ASSERT_NO_LOOP_ERRORS(&smax.errs);
}
END_TEST

/* ------------------------------------------------------------------------
 * Per-listener codecs: every on_traffic replies "[" + what it was given
 * + "]" as one write, so a line-codec connection answers "ab\n" with
 * "[ab]\n" and a raw one with "[ab\n]".
 */
typedef struct cd_side {
	atomic_int calls;
} cd_side_t;

static gnet_action_t
cd_traffic(gnet_conn_t *c, void *udata)
{
	cd_side_t *s = udata;
	const void *d;
	size_t n = gnet_conn_peek(c, &d);
	struct iovec iov[3] = { { "[", 1 }, { (void *)d, n }, { "]", 1 } };

	gnet_conn_writev(c, iov, 3);
	gnet_conn_discard(c, n);
	atomic_fetch_add(&s->calls, 1);
	return GNET_NONE;
}

static const gnet_events_t cd_events = { .size = sizeof(gnet_events_t),
	.on_traffic = cd_traffic };

START_TEST(test_codec_per_listener)
{
	gnet_codec_t *line;
	cd_side_t raw, framed;
	gnet_listen_options_t lo = { .size = sizeof lo, .events = &cd_events,
	    .udata = &framed };
	tn_server_t s;
	int fl, fr;

	memset(&raw, 0, sizeof raw);
	memset(&framed, 0, sizeof framed);
	ck_assert_int_eq(gnet_codec_new_line(&line, 0), 0);
	lo.codec = line;
	tn_server_new(&s, &cd_events, NULL, &raw);
	ck_assert_int_eq(gnet_engine_listen_with(s.eng, ANY_PORT, &lo), 0);
	ck_assert_int_eq(gnet_engine_listen(s.eng, ANY_PORT), 0);
	tn_server_run(&s);

	fl = client(port_of(s.eng, 0));
	fr = client(port_of(s.eng, 1));
	/* Two frames: two calls, each reply encoded as a line. */
	exchange(fl, "ab\ncd\n", "[ab]\n[cd]\n");
	ck_assert_int_eq(tn_ld(&framed.calls), 2);
	/* The engine's connections have no codec. */
	exchange(fr, "ab\n", "[ab\n]");
	ck_assert_int_eq(tn_ld(&raw.calls), 1);
	tn_close(&fl);
	tn_close(&fr);
	tn_server_close(&s);
	gnet_codec_free(line);
}
END_TEST

START_TEST(test_codec_overrides_engine)
{
	gnet_codec_t *line, *semi;
	cd_side_t eng_side, own, inherit;
	gnet_options_t opt = { .size = sizeof opt };
	gnet_listen_options_t lo = { .size = sizeof lo, .events = &cd_events,
	    .udata = &own };
	gnet_listen_options_t li = { .size = sizeof li, .events = &cd_events,
	    .udata = &inherit };
	tn_server_t s;
	int f0, f1, f2;

	memset(&eng_side, 0, sizeof eng_side);
	memset(&own, 0, sizeof own);
	memset(&inherit, 0, sizeof inherit);
	ck_assert_int_eq(gnet_codec_new_line(&line, 0), 0);
	ck_assert_int_eq(gnet_codec_new_delimiter(&semi, ";", 1, 0), 0);
	opt.codec = line;
	lo.codec = semi;
	tn_server_new(&s, &cd_events, &opt, &eng_side);
	ck_assert_int_eq(gnet_engine_listen_with(s.eng, ANY_PORT, &lo), 0);
	ck_assert_int_eq(gnet_engine_listen_with(s.eng, ANY_PORT, &li), 1);
	ck_assert_int_eq(gnet_engine_listen(s.eng, ANY_PORT), 0);
	tn_server_run(&s);

	f0 = client(port_of(s.eng, 0));
	f1 = client(port_of(s.eng, 1));
	f2 = client(port_of(s.eng, 2));
	/* Its own codec, not the engine's. */
	exchange(f0, "ab;cd\n;", "[ab];[cd\n];");
	ck_assert_int_eq(tn_ld(&own.calls), 2);
	/* No codec of its own: the engine's, as for a plain listener. */
	exchange(f1, "ab\nc;\n", "[ab]\n[c;]\n");
	ck_assert_int_eq(tn_ld(&inherit.calls), 2);
	exchange(f2, "ab\n", "[ab]\n");
	ck_assert_int_eq(tn_ld(&eng_side.calls), 1);
	tn_close(&f0);
	tn_close(&f1);
	tn_close(&f2);
	tn_server_close(&s);
	gnet_codec_free(line);
	gnet_codec_free(semi);
}
END_TEST

/* ------------------------------------------------------------------------
 * Groups. The server echoes; a 'B' is answered with BULK_LEN bytes of
 * `bulk` instead (far more than the socket buffers take, so most of it
 * waits in the outbound buffer). A user message MSG_SPAWN makes the
 * connection spawn one actor in each of two groups on its loop.
 */
#define BULK_LEN ((size_t)1024 * 1024)
#define BULK_SEED 0xB01Cull
#define SMALL_SNDBUF (16 * 1024)
#define SMALL_RCVBUF (8 * 1024)
#define LINGER_MS 300
#define CLOSE_NAP_NS 30000000L  /* 30 ms: see grp_close */

static unsigned char bulk[BULK_LEN];

typedef struct act {
	atomic_int received, stopped;
	atomic_int stop_loop;   /* gnet_loop_current() in on_stop */
} act_t;

static void
act_receive(gnet_actor_t *self, const gnet_msg_t *m)
{
	act_t *a = gnet_actor_state(self);

	(void)m;
	atomic_fetch_add(&a->received, 1);
}

static void
act_stop(gnet_actor_t *self)
{
	act_t *a = gnet_actor_state(self);

	atomic_store(&a->stop_loop, gnet_loop_current());
	atomic_fetch_add(&a->stopped, 1);
}

static act_t *
act_new(void)
{
	act_t *a = calloc(1, sizeof *a);

	ck_assert_ptr_nonnull(a);
	atomic_store(&a->stop_loop, -2);
	return a;
}

static gnet_handle_t
spawn(gnet_engine_t *eng, int loop, gnet_group_t *g, act_t *a)
{
	gnet_actor_def_t def = { .size = sizeof def, .receive = act_receive,
	    .on_stop = act_stop, .state = a, .group = g };
	gnet_handle_t h = GNET_HANDLE_NONE;
	int rc = gnet_actor_spawn(eng, loop, &def, &h);

	ck_assert_msg(rc == 0, "gnet_actor_spawn: %d (%s)", rc, gnet_strerror(rc));
	return h;
}

typedef struct grp_side {
	atomic_int opens, closes, bad_reasons;
	atomic_int want_reason;     /* every on_close must say this */
	atomic_int loop_opens[2];
	_Atomic gnet_handle_t last;
	atomic_long bulk_pending;   /* outbound bytes after the bulk write */
	int nap_in_close;           /* on_close naps CLOSE_NAP_NS first */
	/* MSG_SPAWN: the groups and actors to spawn, and what came of it */
	gnet_group_t *spawn_in[2];
	act_t *spawn_act[2];
	atomic_int spawn_rc[2];
	atomic_int spawned;
	tn_loop_errors_t errs;
} grp_side_t;

static void
grp_side_init(grp_side_t *s, int want_reason)
{
	memset(s, 0, sizeof *s);
	atomic_store(&s->want_reason, want_reason);
	atomic_store(&s->bulk_pending, -1);
}

static gnet_action_t
grp_open(gnet_conn_t *c, void *udata)
{
	grp_side_t *s = udata;
	int l = gnet_conn_loop_index(c);

	TN_LOOP_CHECK(&s->errs, l == 0 || l == 1);
	if (l == 0 || l == 1)
		atomic_fetch_add(&s->loop_opens[l], 1);
	atomic_store(&s->last, gnet_conn_handle(c));
	atomic_fetch_add(&s->opens, 1);
	return GNET_NONE;
}

static gnet_action_t
grp_traffic(gnet_conn_t *c, void *udata)
{
	grp_side_t *s = udata;
	const unsigned char *d;
	size_t n = gnet_conn_peek(c, (const void **)&d);

	if (n > 0 && d[0] == 'B') {
		TN_LOOP_CHECK(&s->errs, gnet_conn_write(c, bulk, BULK_LEN) ==
		    (long)BULK_LEN);
		atomic_store(&s->bulk_pending, (long)gnet_conn_outbound_len(c));
	} else {
		gnet_conn_write(c, d, n);
	}
	gnet_conn_discard(c, n);
	return GNET_NONE;
}

static gnet_action_t
grp_message(gnet_conn_t *c, const gnet_msg_t *m, void *udata)
{
	grp_side_t *s = udata;

	if (m->type == MSG_SPAWN) {
		for (int i = 0; i < 2; i++) {
			gnet_actor_def_t def = { .size = sizeof def,
			    .receive = act_receive, .on_stop = act_stop,
			    .state = s->spawn_act[i], .group = s->spawn_in[i] };
			gnet_handle_t h;
			atomic_store(&s->spawn_rc[i],
			    gnet_actor_spawn(gnet_conn_engine(c), -1, &def, &h));
		}
		atomic_store(&s->spawned, 1);
	}
	gnet_conn_write(c, "s", 1);
	return GNET_NONE;
}

static void
grp_close(gnet_conn_t *c, int reason, void *udata)
{
	grp_side_t *s = udata;

	(void)c;
	/* Not a synchronisation: a window. A group that let go of a
	 * connection before its on_close returned would let
	 * gnet_group_wait return inside it, and the test, asserting the
	 * count at once, sees it short. */
	if (s->nap_in_close) {
		struct timespec ts = { 0, CLOSE_NAP_NS };
		nanosleep(&ts, NULL);
	}
	if (reason != atomic_load(&s->want_reason))
		atomic_fetch_add(&s->bad_reasons, 1);
	atomic_fetch_add(&s->closes, 1);
}

static const gnet_events_t grp_events = { .size = sizeof(gnet_events_t),
	.on_open = grp_open, .on_traffic = grp_traffic,
	.on_message = grp_message, .on_close = grp_close };

static int
listen_at(gnet_engine_t *eng, const char *addr, gnet_group_t *g,
    grp_side_t *s)
{
	gnet_listen_options_t lo = { .size = sizeof lo, .events = &grp_events,
	    .udata = s, .group = g };
	int rc = gnet_engine_listen_with(eng, addr, &lo);

	ck_assert_msg(rc >= 0, "gnet_engine_listen_with: %d (%s)", rc,
	    gnet_strerror(rc));
	return rc;
}

static int
listen_in(gnet_engine_t *eng, gnet_group_t *g, grp_side_t *s)
{
	return listen_at(eng, ANY_PORT, g, s);
}

/* Read the whole bulk reply and check it. */
static void
read_bulk(int fd)
{
	unsigned char *rx = malloc(BULK_LEN);
	size_t got;

	ck_assert_ptr_nonnull(rx);
	got = tn_read_exact(fd, rx, BULK_LEN, IO_MS);
	ck_assert_msg(got == BULK_LEN, "bulk reply: %zu of %zu bytes", got,
	    BULK_LEN);
	ck_assert_msg(memcmp(rx, bulk, BULK_LEN) == 0,
	    "bulk reply differs at byte %zu", tn_first_diff(rx, bulk, BULK_LEN));
	free(rx);
}

START_TEST(test_group_close_running)
{
	gnet_options_t opt = { .size = sizeof opt, .num_loops = 2,
	    .sndbuf = SMALL_SNDBUF };
	gnet_group_t *g, *h;
	grp_side_t sg, sh, se;
	act_t *ag0 = act_new(), *ag1 = act_new(), *ah = act_new(), *an = act_new();
	act_t *late_g = act_new(), *late_h = act_new();
	gnet_handle_t hah, han, hp1;
	tn_server_t s;
	int pg, ph, pp, pu, g1, g2, h1, h2, p1, p2;
	size_t extra = 0;

	tn_fill_random(bulk, BULK_LEN, BULK_SEED);
	grp_side_init(&sg, GNET_ESHUTDOWN);
	grp_side_init(&sh, GNET_ESHUTDOWN);
	grp_side_init(&se, GNET_ESHUTDOWN);
	sg.nap_in_close = 1;
	tn_server_new(&s, &grp_events, &opt, &se);
	ck_assert_int_eq(gnet_group_new(s.eng, &g), 0);
	ck_assert_int_eq(gnet_group_new(s.eng, &h), 0);
	ck_assert_int_eq(gnet_group_live(g), 0);
	ck_assert_int_eq(listen_in(s.eng, g, &sg), 0);
	ck_assert_int_eq(listen_in(s.eng, h, &sh), 1);
	ck_assert_int_eq(gnet_engine_listen(s.eng, ANY_PORT), 0);
	/* A UDP socket is a listener too (a connection object). */
	ck_assert_int_eq(listen_at(s.eng, "udp://127.0.0.1:0", g, &sg), 3);
	spawn(s.eng, 0, g, ag0);
	spawn(s.eng, 1, g, ag1);
	hah = spawn(s.eng, 1, h, ah);
	han = spawn(s.eng, 0, NULL, an);
	/* Two listening sockets and two actors; a socket and an actor. */
	ck_assert_int_eq(gnet_group_live(g), 4);
	ck_assert_int_eq(gnet_group_live(h), 2);
	tn_server_run(&s);
	pg = port_of(s.eng, 0);
	ph = port_of(s.eng, 1);
	pp = port_of(s.eng, 2);
	pu = port_of(s.eng, 3);
	udp_echo(pu, "u");

	g1 = tn_connect_rcvbuf(pg, SMALL_RCVBUF);
	ck_assert_int_ge(g1, 0);
	g2 = client(pg);
	h1 = client(ph);
	p1 = client(pp);
	exchange(g2, "x", "x");
	exchange(h1, "y", "y");
	exchange(p1, "z", "z");
	hp1 = atomic_load(&se.last);
	TN_WAIT_UNTIL(tn_ld(&sg.opens) == 2, WAIT_MS);
	ck_assert_int_eq(tn_ld(&sg.opens), 2);
	/* Connections count as members from on_open on. */
	ck_assert_int_eq(gnet_group_live(g), 6);
	ck_assert_int_eq(gnet_group_live(h), 3);
	/* Not closed: nothing to wait for yet. */
	ck_assert_int_eq(gnet_group_wait(g, SHORT_MS), GNET_ETIMEDOUT);

	/* g1's reply is mostly still queued when the close begins. */
	ck_assert_uint_eq(tn_send_all(g1, "B", 1, IO_MS), 1);
	TN_WAIT_UNTIL(atomic_load(&sg.bulk_pending) >= 0, WAIT_MS);
	ck_assert_int_gt(atomic_load(&sg.bulk_pending), 0);

	ck_assert_int_eq(gnet_group_close(g), 0);
	ck_assert_int_eq(gnet_group_close(g), 0); /* idempotent */
	/* Graceful: the whole pending reply, then EOF. */
	read_bulk(g1);
	ck_assert_int_eq(tn_wait_eof(g1, IO_MS, &extra), 1);
	ck_assert_uint_eq(extra, 0);
	ck_assert_int_eq(tn_wait_eof(g2, IO_MS, &extra), 1);
	ck_assert_uint_eq(extra, 0);

	ck_assert_int_eq(gnet_group_wait(g, WAIT_MS), 0);
	/* Everything ended before the wait returned: no waiting here. */
	ck_assert_int_eq(gnet_group_live(g), 0);
	ck_assert_int_eq(tn_ld(&sg.closes), 2);
	ck_assert_int_eq(tn_ld(&sg.bad_reasons), 0);
	ck_assert_int_eq(tn_ld(&ag0->stopped), 1);
	ck_assert_int_eq(tn_ld(&ag1->stopped), 1);
	/* Each actor stopped on its own loop. */
	ck_assert_int_eq(tn_ld(&ag0->stop_loop), 0);
	ck_assert_int_eq(tn_ld(&ag1->stop_loop), 1);
	ck_assert_int_eq(gnet_group_wait(g, 0), 0);
	/* The listeners are closed. */
	ck_assert_msg(refused(pg), "a connect to the closed group's port: %s",
	    strerror(errno));
	ck_assert_msg(tn_port_free(SOCK_DGRAM, pu), "UDP port %d still bound", pu);

	/* The other group and the group-less are untouched, and serve:
	 * the old connections, new ones, and the actors. */
	ck_assert_int_eq(gnet_group_live(h), 3);
	ck_assert_int_eq(tn_ld(&sh.closes) + tn_ld(&se.closes), 0);
	ck_assert_int_eq(tn_ld(&ah->stopped) + tn_ld(&an->stopped), 0);
	exchange(h1, "again", "again");
	exchange(p1, "again", "again");
	h2 = client(ph);
	exchange(h2, "new", "new");
	p2 = client(pp);
	exchange(p2, "new", "new");
	send_msg(s.eng, hah, MSG_PING, 0);
	send_msg(s.eng, han, MSG_PING, 0);
	TN_WAIT_UNTIL(tn_ld(&ah->received) == 1 && tn_ld(&an->received) == 1,
	    WAIT_MS);
	ck_assert_int_eq(tn_ld(&ah->received), 1);
	ck_assert_int_eq(tn_ld(&an->received), 1);

	/* A closed group takes no new member: not from this thread, and
	 * not from a loop, which may spawn into another group. */
	{
		gnet_actor_def_t def = { .size = sizeof def,
		    .receive = act_receive, .state = late_g, .group = g };
		gnet_handle_t x;
		ck_assert_int_eq(gnet_actor_spawn(s.eng, 0, &def, &x),
		    GNET_ESHUTDOWN);
	}
	se.spawn_in[0] = g;
	se.spawn_act[0] = late_g;
	se.spawn_in[1] = h;
	se.spawn_act[1] = late_h;
	send_msg(s.eng, hp1, MSG_SPAWN, 0);
	{
		char r;
		ck_assert_uint_eq(tn_read_exact(p1, &r, 1, IO_MS), 1);
	}
	ck_assert_int_eq(tn_ld(&se.spawned), 1);
	ck_assert_int_eq(tn_ld(&se.spawn_rc[0]), GNET_ESHUTDOWN);
	ck_assert_int_eq(tn_ld(&se.spawn_rc[1]), 0);
	ck_assert_int_eq(gnet_group_live(g), 0);
	ck_assert_int_eq(gnet_group_live(h), 5);

	/* Free: not while members are left. */
	ck_assert_int_eq(gnet_group_free(h), GNET_ESTATE);
	ck_assert_int_eq(gnet_group_free(g), 0);

	/* The engine's stop ends the other group's members. */
	tn_server_stop(&s);
	ck_assert_int_eq(gnet_group_live(h), 0);
	ck_assert_int_eq(tn_ld(&ah->stopped), 1);
	ck_assert_int_eq(tn_ld(&late_h->stopped), 1);
	ck_assert_int_eq(tn_ld(&late_g->stopped), 0);
	ck_assert_int_eq(tn_ld(&sh.closes), 2);
	ck_assert_int_eq(tn_ld(&sh.bad_reasons), 0);
	ck_assert_int_eq(tn_ld(&se.closes), 2);
	ck_assert_int_eq(tn_ld(&se.bad_reasons), 0);
	/* Closing a group of a stopped engine: nothing left to end. */
	ck_assert_int_eq(gnet_group_close(h), 0);
	ck_assert_int_eq(gnet_group_wait(h, 0), 0);
	tn_server_free(&s);
	/* A group may outlive its engine. */
	ck_assert_int_eq(gnet_group_free(h), 0);

	tn_close(&g1);
	tn_close(&g2);
	tn_close(&h1);
	tn_close(&h2);
	tn_close(&p1);
	tn_close(&p2);
	TN_ASSERT_NO_LOOP_ERRORS(&sg.errs);
	TN_ASSERT_NO_LOOP_ERRORS(&sh.errs);
	TN_ASSERT_NO_LOOP_ERRORS(&se.errs);
	free(ag0);
	free(ag1);
	free(ah);
	free(an);
	free(late_g);
	free(late_h);
}
END_TEST

START_TEST(test_group_close_before_run)
{
	gnet_options_t opt = { .size = sizeof opt, .num_loops = 2 };
	gnet_group_t *g;
	grp_side_t sg, se;
	act_t *ag0 = act_new(), *ag1 = act_new(), *an = act_new();
	act_t *late = act_new();
	gnet_handle_t han;
	tn_server_t s;
	int pg, pp, pu, fd;

	grp_side_init(&sg, GNET_ESHUTDOWN);
	grp_side_init(&se, GNET_ESHUTDOWN);
	tn_server_new(&s, &grp_events, &opt, &se);
	ck_assert_int_eq(gnet_group_new(s.eng, &g), 0);
	ck_assert_int_eq(listen_in(s.eng, g, &sg), 0);
	ck_assert_int_eq(gnet_engine_listen(s.eng, ANY_PORT), 0);
	ck_assert_int_eq(listen_at(s.eng, "udp://127.0.0.1:0", g, &sg), 2);
	spawn(s.eng, 0, g, ag0);
	spawn(s.eng, 1, g, ag1);
	han = spawn(s.eng, 1, NULL, an);
	pg = port_of(s.eng, 0);
	pp = port_of(s.eng, 1);
	pu = port_of(s.eng, 2);
	ck_assert_int_eq(gnet_group_live(g), 4);
	ck_assert_int_eq(tn_port_free(SOCK_STREAM, pg), 0);
	ck_assert_int_eq(tn_port_free(SOCK_DGRAM, pu), 0);

	/* No loop runs: done before the call returns. */
	ck_assert_int_eq(gnet_group_close(g), 0);
	ck_assert_int_eq(gnet_group_live(g), 0);
	ck_assert_int_eq(tn_ld(&ag0->stopped), 1);
	ck_assert_int_eq(tn_ld(&ag1->stopped), 1);
	ck_assert_int_eq(tn_ld(&an->stopped), 0);
	ck_assert_msg(tn_port_free(SOCK_STREAM, pg), "port %d still bound after the close", pg);
	ck_assert_msg(tn_port_free(SOCK_DGRAM, pu), "UDP port %d still bound after the close",
	    pu);
	ck_assert_int_eq(gnet_group_wait(g, 0), 0);
	/* Nothing joins a closed group. */
	{
		gnet_listen_options_t lo = { .size = sizeof lo,
		    .events = &grp_events, .udata = &sg, .group = g };
		gnet_actor_def_t def = { .size = sizeof def,
		    .receive = act_receive, .state = late, .group = g };
		gnet_handle_t x;
		ck_assert_int_eq(gnet_engine_listen_with(s.eng, ANY_PORT, &lo),
		    GNET_ESHUTDOWN);
		ck_assert_int_eq(gnet_actor_spawn(s.eng, 0, &def, &x),
		    GNET_ESHUTDOWN);
	}
	ck_assert_int_eq(gnet_group_live(g), 0);
	ck_assert_int_eq(gnet_group_free(g), 0);

	/* The engine runs and serves the rest. */
	tn_server_run(&s);
	fd = client(pp);
	exchange(fd, "hello", "hello");
	send_msg(s.eng, han, MSG_PING, 0);
	TN_WAIT_UNTIL(tn_ld(&an->received) == 1, WAIT_MS);
	ck_assert_int_eq(tn_ld(&an->received), 1);
	ck_assert_int_eq(tn_ld(&sg.opens), 0);
	tn_close(&fd);
	tn_server_close(&s);
	/* The stop did not end the group's actors twice. */
	ck_assert_int_eq(tn_ld(&ag0->stopped), 1);
	ck_assert_int_eq(tn_ld(&ag1->stopped), 1);
	ck_assert_int_eq(tn_ld(&an->stopped), 1);
	TN_ASSERT_NO_LOOP_ERRORS(&se.errs);
	free(ag0);
	free(ag1);
	free(an);
	free(late);
}
END_TEST

/* A connection whose peer does not read holds the group until its
 * linger runs out. */
START_TEST(test_group_wait_timeout)
{
	gnet_options_t opt = { .size = sizeof opt, .linger_ms = LINGER_MS,
	    .sndbuf = SMALL_SNDBUF };
	gnet_group_t *g;
	grp_side_t sg, se;
	tn_server_t s;
	int64_t t0, waited;
	int fd;

	tn_fill_random(bulk, BULK_LEN, BULK_SEED);
	grp_side_init(&sg, GNET_ELINGER);
	grp_side_init(&se, 0);
	tn_server_new(&s, &grp_events, &opt, &se);
	ck_assert_int_eq(gnet_group_new(s.eng, &g), 0);
	ck_assert_int_eq(listen_in(s.eng, g, &sg), 0);
	tn_server_run(&s);
	fd = tn_connect_rcvbuf(port_of(s.eng, 0), SMALL_RCVBUF);
	ck_assert_int_ge(fd, 0);
	ck_assert_uint_eq(tn_send_all(fd, "B", 1, IO_MS), 1);
	TN_WAIT_UNTIL(atomic_load(&sg.bulk_pending) >= 0, WAIT_MS);
	ck_assert_int_gt(atomic_load(&sg.bulk_pending), 0);

	t0 = tn_now_ms();
	ck_assert_int_eq(gnet_group_close(g), 0);
	ck_assert_int_eq(gnet_group_wait(g, SHORT_MS), GNET_ETIMEDOUT);
	ck_assert_int_ge(gnet_group_live(g), 1);
	ck_assert_int_eq(tn_ld(&sg.closes), 0);
	ck_assert_int_eq(gnet_group_wait(g, WAIT_MS), 0);
	waited = tn_now_ms() - t0;
	/* Not before the linger ran out (less a clock tick). */
	ck_assert_int_ge(waited, LINGER_MS - 2);
	ck_assert_int_eq(gnet_group_live(g), 0);
	ck_assert_int_eq(tn_ld(&sg.closes), 1);
	ck_assert_int_eq(tn_ld(&sg.bad_reasons), 0);
	ck_assert_int_eq(gnet_group_free(g), 0);
	tn_close(&fd);
	tn_server_close(&s);
}
END_TEST

/* ------------------------------------------------------------------------
 * Loop threads may neither close nor wait (nor create a group).
 */
typedef struct th_ctx {
	gnet_group_t *g;
	atomic_int rc_close, rc_wait, rc_new, live, done;
} th_ctx_t;

static gnet_action_t
th_traffic(gnet_conn_t *c, void *udata)
{
	th_ctx_t *t = udata;
	gnet_group_t *other = NULL;

	gnet_conn_discard(c, gnet_conn_inbound_len(c));
	atomic_store(&t->rc_close, gnet_group_close(t->g));
	atomic_store(&t->rc_wait, gnet_group_wait(t->g, 0));
	atomic_store(&t->rc_new, gnet_group_new(gnet_conn_engine(c), &other));
	if (other != NULL)
		gnet_group_free(other);
	atomic_store(&t->live, gnet_group_live(t->g));
	atomic_fetch_add(&t->done, 1);
	gnet_conn_write(c, "k", 1);
	return GNET_NONE;
}

static const gnet_events_t th_events = { .size = sizeof(gnet_events_t),
	.on_traffic = th_traffic };

START_TEST(test_group_calls_on_loop)
{
	th_ctx_t t;
	gnet_listen_options_t lo = { .size = sizeof lo, .events = &th_events,
	    .udata = &t };
	tn_server_t s;
	size_t extra = 0;
	int fd;

	memset(&t, 0, sizeof t);
	tn_server_new(&s, &th_events, NULL, &t);
	ck_assert_int_eq(gnet_group_new(s.eng, &t.g), 0);
	lo.group = t.g;
	ck_assert_int_eq(gnet_engine_listen_with(s.eng, ANY_PORT, &lo), 0);
	tn_server_run(&s);
	fd = client(port_of(s.eng, 0));
	exchange(fd, "t", "k");
	ck_assert_int_eq(tn_ld(&t.rc_close), GNET_ETHREAD);
	ck_assert_int_eq(tn_ld(&t.rc_wait), GNET_ETHREAD);
	ck_assert_int_eq(tn_ld(&t.rc_new), GNET_ETHREAD);
	/* gnet_group_live is for any thread: the socket and this one. */
	ck_assert_int_eq(tn_ld(&t.live), 2);
	/* Nothing was closed: the connection serves, the group waits. */
	exchange(fd, "t", "k");
	ck_assert_int_eq(gnet_group_wait(t.g, SHORT_MS), GNET_ETIMEDOUT);
	ck_assert_int_eq(gnet_group_live(t.g), 2);
	/* From this thread it works. */
	ck_assert_int_eq(gnet_group_close(t.g), 0);
	ck_assert_int_eq(tn_wait_eof(fd, IO_MS, &extra), 1);
	ck_assert_int_eq(gnet_group_wait(t.g, WAIT_MS), 0);
	ck_assert_int_eq(gnet_group_free(t.g), 0);
	tn_close(&fd);
	tn_server_close(&s);
}
END_TEST

/* ------------------------------------------------------------------------
 * gnet_addr_check.
 */
static const struct {
	const char *addr;
	int want;
} addr_cases[] = {
	{ "tcp://127.0.0.1:80", 0 },
	{ "tcp://:8080", 0 },
	{ "tcp://[::1]:0", 0 },
	{ "tcp://localhost:1", 0 },
	{ "tcp4://127.0.0.1:0", 0 },
	{ "udp://127.0.0.1:53", 0 },
	{ "unix://relative.sock", 0 },
	{ "unix:///tmp/x.sock", 0 },
	{ "http://127.0.0.1:80", GNET_ESCHEME },
	{ "tulip://x", GNET_ESCHEME },
	{ "sctp://127.0.0.1:80", GNET_ESCHEME },
	{ "", GNET_EADDR },
	{ "127.0.0.1:80", GNET_EADDR },
	{ "tcp://", GNET_EADDR },
	{ "tcp://127.0.0.1", GNET_EADDR },
	{ "tcp://127.0.0.1:99999", GNET_EADDR },
	{ "tcp://127.0.0.1:80x", GNET_EADDR },
	{ "tcp://256.1.1.1:80", GNET_EADDR },
	{ "tcp://[::1:80", GNET_EADDR },
	{ "tcp://example.com:80", GNET_EADDR },
	{ "udp://127.0.0.1", GNET_EADDR },
	{ "unix://", GNET_EADDR },
};

START_TEST(test_addr_check)
{
	gnet_engine_t *eng;
	gnet_events_t ev = { .size = sizeof ev };
	tn_tmpdir_t dir;
	char path[108], addr[160];
	int lfd, port;
	struct sockaddr_in sin = tn_loopback(0);
	socklen_t len = sizeof sin;

	for (size_t i = 0; i < sizeof addr_cases / sizeof addr_cases[0]; i++) {
		int rc = gnet_addr_check(addr_cases[i].addr);
		ck_assert_msg(rc == addr_cases[i].want,
		    "gnet_addr_check(\"%s\"): %d (%s), want %d (%s)",
		    addr_cases[i].addr, rc, gnet_strerror(rc), addr_cases[i].want,
		    gnet_strerror(addr_cases[i].want));
		/* The listen refuses it for the same reason. */
		if (addr_cases[i].want != 0) {
			ck_assert_int_eq(gnet_engine_new(&eng, &ev, NULL, NULL), 0);
			ck_assert_int_eq(gnet_engine_listen(eng, addr_cases[i].addr),
			    addr_cases[i].want);
			gnet_engine_free(eng);
		}
	}
	ck_assert_int_lt(gnet_addr_check(NULL), 0);

	/* A check binds nothing: an address in use passes, a socket file is
	 * not created, a directory that does not exist is not looked at. */
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sin, sizeof sin), 0);
	ck_assert_int_eq(listen(lfd, 1), 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sin, &len), 0);
	port = ntohs(sin.sin_port);
	snprintf(addr, sizeof addr, "tcp://127.0.0.1:%d", port);
	ck_assert_int_eq(gnet_addr_check(addr), 0);
	close(lfd);
	tn_tmpdir_make(&dir, "groups");
	tn_tmpdir_file(&dir, "s.sock", path, sizeof path);
	snprintf(addr, sizeof addr, "unix://%s", path);
	ck_assert_int_eq(gnet_addr_check(addr), 0);
	ck_assert_int_eq(tn_path_exists(path), 0);
	tn_tmpdir_remove(&dir);
	ck_assert_int_eq(gnet_addr_check("unix:///nonexistent-gnet-dir/s.sock"), 0);
}
END_TEST

/* ------------------------------------------------------------------------
 * Many connections on two loops, and several threads waiting.
 */
#define MANY 50
#define WAITERS 4

#define WAKE_MS 2000            /* a waiter's return after the group ended */

typedef struct waiter {
	pthread_t thread;
	gnet_group_t *g;
	atomic_int *started;
	int rc;
} waiter_t;

static void *
waiter_main(void *arg)
{
	waiter_t *w = arg;

	atomic_fetch_add(w->started, 1);
	w->rc = gnet_group_wait(w->g, IO_MS);
	return NULL;
}

/* Join a waiter that must be returning already. */
static void
join_waiter(waiter_t *w, int i)
{
	struct timespec ts;
	int rc;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += WAKE_MS / 1000;
	rc = pthread_timedjoin_np(w->thread, NULL, &ts);
	ck_assert_msg(rc == 0, "waiter %d still waits %d ms after the group "
	    "ended: %s", i, WAKE_MS, strerror(rc));
	ck_assert_msg(w->rc == 0, "waiter %d: %d (%s)", i, w->rc,
	    gnet_strerror(w->rc));
}

START_TEST(test_group_close_many)
{
	gnet_options_t opt = { .size = sizeof opt, .num_loops = 2 };
	gnet_group_t *g;
	grp_side_t sg, se;
	waiter_t w[WAITERS];
	atomic_int started = 0;
	tn_server_t s;
	int fds[MANY], port;

	grp_side_init(&sg, GNET_ESHUTDOWN);
	grp_side_init(&se, 0);
	tn_server_new(&s, &grp_events, &opt, &se);
	ck_assert_int_eq(gnet_group_new(s.eng, &g), 0);
	ck_assert_int_eq(listen_in(s.eng, g, &sg), 0);
	tn_server_run(&s);
	port = port_of(s.eng, 0);
	for (int i = 0; i < MANY; i++)
		fds[i] = client(port);
	TN_WAIT_UNTIL(tn_ld(&sg.opens) == MANY, WAIT_MS);
	ck_assert_int_eq(tn_ld(&sg.opens), MANY);
	ck_assert_int_gt(tn_ld(&sg.loop_opens[0]), 0);
	ck_assert_int_gt(tn_ld(&sg.loop_opens[1]), 0);
	ck_assert_int_eq(gnet_group_live(g), MANY + 1);

	for (int i = 0; i < WAITERS; i++) {
		w[i].g = g;
		w[i].started = &started;
		w[i].rc = 1;
		ck_assert_int_eq(pthread_create(&w[i].thread, NULL, waiter_main,
		    &w[i]), 0);
	}
	/* Waiting, or about to: they race the close and each other. */
	TN_WAIT_UNTIL(tn_ld(&started) == WAITERS, WAIT_MS);
	ck_assert_int_eq(gnet_group_close(g), 0);
	for (int i = 0; i < MANY; i++) {
		size_t extra = 0;
		ck_assert_msg(tn_wait_eof(fds[i], IO_MS, &extra) == 1,
		    "client %d: no EOF", i);
		ck_assert_uint_eq(extra, 0);
		tn_close(&fds[i]);
	}
	ck_assert_int_eq(gnet_group_wait(g, WAIT_MS), 0);
	ck_assert_int_eq(tn_ld(&sg.closes), MANY);
	ck_assert_int_eq(tn_ld(&sg.bad_reasons), 0);
	ck_assert_int_eq(gnet_group_live(g), 0);
	/* Every waiter is woken, not just one of them. */
	for (int i = 0; i < WAITERS; i++)
		join_waiter(&w[i], i);
	ck_assert_int_eq(gnet_group_free(g), 0);
	TN_ASSERT_NO_LOOP_ERRORS(&sg.errs);
	tn_server_close(&s);
}
END_TEST

static Suite *
groups_suite(void)
{
	Suite *s = suite_create("groups");
	TCase *tc;

	tc = tn_tcase("listeners", TCASE_TIMEOUT_S);
	tcase_add_test(tc, test_listeners_own_events_and_udata);
	tcase_add_test(tc, test_conn_state);
	tcase_add_test(tc, test_codec_per_listener);
	tcase_add_test(tc, test_codec_overrides_engine);
	suite_add_tcase(s, tc);

	tc = tn_tcase("groups", TCASE_TIMEOUT_S);
	tcase_add_test(tc, test_group_close_running);
	tcase_add_test(tc, test_group_close_before_run);
	tcase_add_test(tc, test_group_wait_timeout);
	tcase_add_test(tc, test_group_calls_on_loop);
	tcase_add_test(tc, test_group_close_many);
	suite_add_tcase(s, tc);

	tc = tn_tcase("addr", TCASE_TIMEOUT_S);
	tcase_add_test(tc, test_addr_check);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tn_run_suite(groups_suite());
}
