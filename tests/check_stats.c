/*
 * check_stats.c -- the stats segment as an inspector reads it
 * (gnetstats.h): what an engine publishes must be the truth about its
 * mailboxes, its loops and its connections, and reading it must cost the
 * engine nothing.
 *
 * Every engine here publishes under a name of its own and a short stats
 * interval (STATS_MS), and is attached to as another process would: by
 * name, through the library's reader.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gnet.h"
#include "gnetstats.h"
#include "kernel/stats.h"
#include "support/child.h"
#include "support/engine_stats.h"
#include "support/testnet.h"

#define STATS_MS 50
#define MAX_ROWS 256

static void
stats_opts(gnet_options_t *o, const char *name, int loops)
{
	memset(o, 0, sizeof(*o));
	o->size = sizeof(*o);
	o->num_loops = loops;
	o->no_pin = 1;
	o->name = name;
	o->stats_interval_ms = STATS_MS;
}

/* A name unique to this test process, so parallel suites never meet. */
static const char *
unique(const char *base)
{
	static char buf[8][GNET_STATS_NAME_MAX];
	static int k;
	char *b = buf[k++ % 8];

	snprintf(b, GNET_STATS_NAME_MAX, "%s-%d", base, (int)getpid());
	return b;
}

static void top_json(const char *name, const char *kind, char *out,
    size_t cap);

static gnet_stats_t *
attach(const char *who)
{
	gnet_stats_t *s = NULL;
	int rc = gnet_stats_attach(&s, who);

	ck_assert_msg(rc == 0, "attach %s: %s", who, gnet_strerror(rc));
	return s;
}

/* gnet_stats_list into found[max], each entry's size set as the API
 * asks. */
static int
list_engines(gnet_stats_engine_t *found, int max)
{
	int i;

	for (i = 0; i < max; i++)
		found[i].size = sizeof(found[i]);
	return gnet_stats_list(found, max);
}

/* The row of actor h, copied into *out: 1, or 0 when it is not listed. */
static int
actor_row(gnet_stats_t *s, gnet_handle_t h, gnet_stats_actor_t *out)
{
	static gnet_stats_actor_t rows[MAX_ROWS];
	int n = gnet_stats_actors(s, -1, rows, MAX_ROWS), i;

	for (i = 0; i < n && i < MAX_ROWS; i++)
		if (rows[i].handle == h) {
			*out = rows[i];
			return 1;
		}
	return 0;
}

/* ---- mailbox truth ---- */

typedef struct sink {
	atomic_int handled;
} sink_t;

static void
sink_receive(gnet_actor_t *self, const gnet_msg_t *m)
{
	sink_t *k = gnet_actor_state(self);

	(void)m;
	atomic_fetch_add(&k->handled, 1);
}

static gnet_handle_t
spawn_sink(gnet_engine_t *eng, int loop, sink_t *k, const char *name)
{
	gnet_actor_def_t def = { .size = sizeof(def), .receive = sink_receive,
	    .state = k, .name = name };
	gnet_handle_t h;

	ck_assert_int_eq(gnet_actor_spawn(eng, loop, &def, &h), 0);
	return h;
}

static int
row_mailbox(gnet_stats_t *s, gnet_handle_t h, uint32_t want)
{
	gnet_stats_actor_t a;

	return actor_row(s, h, &a) && a.mailbox == want;
}

/* Stop actor h taking messages, send it n, and wait until its row
 * shows them waiting. */
static void
hold_messages(gnet_engine_t *eng, gnet_stats_t *s, gnet_handle_t h, int n)
{
	int i;

	ck_assert_int_eq(gnet_actor_set_receiving_async(eng, h, 0), 0);
	for (i = 0; i < n; i++) {
		gnet_msg_t m = { .type = GNET_MSG_USER, .a = (uint64_t)i };
		ck_assert_int_eq(gnet_actor_send(eng, h, &m), 0);
	}
	TN_WAIT_UNTIL(row_mailbox(s, h, (uint32_t)n), 5000);
}

START_TEST(mailbox_depth_is_exact)
{
	enum { N = 300 };
	const char *name = unique("mbox");
	gnet_events_t ev = { .size = sizeof(ev) };
	gnet_options_t o;
	tn_server_t srv;
	sink_t k = { 0 };
	gnet_stats_actor_t a;
	gnet_stats_t *s;
	gnet_handle_t h;

	stats_opts(&o, name, 2);
	tn_server_new(&srv, &ev, &o, NULL);
	h = spawn_sink(srv.eng, 1, &k, "sink");
	tn_server_run(&srv);
	s = attach(name);
	/* Stop draining: what is sent from now on waits in the mailbox. */
	hold_messages(srv.eng, s, h, N);
	ck_assert_int_eq(actor_row(s, h, &a), 1);
	ck_assert_uint_eq(a.mailbox, N);
	ck_assert_uint_eq(a.mailbox_hwm, N);
	ck_assert_str_eq(a.kind, "sink");
	ck_assert_int_eq(a.loop, 1);
	ck_assert(a.flags & GNET_STATS_A_MUTED);
	ck_assert_int_eq(atomic_load(&k.handled), 0);
	/* Drain: the row falls back to 0 and counts what was handled. */
	ck_assert_int_eq(gnet_actor_set_receiving_async(srv.eng, h, 1), 0);
	TN_WAIT_UNTIL(row_mailbox(s, h, 0) && actor_row(s, h, &a) &&
	    a.handled == N, 5000);
	ck_assert_int_eq(actor_row(s, h, &a), 1);
	ck_assert_uint_eq(a.mailbox, 0);
	ck_assert_uint_eq(a.handled, N);
	ck_assert(!(a.flags & GNET_STATS_A_MUTED));
	ck_assert_int_eq(atomic_load(&k.handled), N);
	gnet_stats_detach(s);
	tn_server_close(&srv);
}
END_TEST

/* Nobody watching: the loops publish no actor rows (no sweep time, no
 * tmpfs pages); the first look at them starts the publishing. */
START_TEST(actor_rows_only_while_watched)
{
	const char *name = unique("watch");
	gnet_events_t ev = { .size = sizeof(ev) };
	gnet_options_t o;
	tn_server_t srv;
	sink_t k = { 0 };
	gnet_stats_loop_t r = { .size = sizeof(r) };
	gnet_stats_actor_t a;
	gnet_stats_t *s;
	gnet_handle_t h;

	stats_opts(&o, name, 1);
	tn_server_new(&srv, &ev, &o, NULL);
	h = spawn_sink(srv.eng, 0, &k, "watched");
	tn_server_run(&srv);
	s = attach(name);
	/* Several intervals pass -- an idle loop wakes once an interval,
	 * so each is a turn -- and not one row is written. */
	ck_assert_int_eq(gnet_stats_loop(s, 0, &r), 0);
	{
		uint64_t it0 = r.iterations;
		TN_WAIT_UNTIL(gnet_stats_loop(s, 0, &r) == 0 &&
		    r.iterations >= it0 + 4, 5000);
		ck_assert_uint_ge(r.iterations, it0 + 4);
	}
	ck_assert_uint_eq(r.sweeps, 0);
	ck_assert_uint_eq(r.actor_rows, 0);
	/* A look: rows within an interval or two. */
	TN_WAIT_UNTIL(actor_row(s, h, &a), 5000);
	ck_assert_int_eq(actor_row(s, h, &a), 1);
	ck_assert_str_eq(a.kind, "watched");
	ck_assert_int_eq(gnet_stats_loop(s, 0, &r), 0);
	ck_assert_uint_ge(r.actor_rows, 2); /* the sink and the dialer */
	gnet_stats_detach(s);
	tn_server_close(&srv);
}
END_TEST

/* gnet-top's snapshot of an engine: `gnet-top --once --json ARGS...`
 * run to its end, its output in out. */
static void
top_json(const char *name, const char *kind, char *out, size_t cap)
{
	char path[4096];
	const char *args[] = { "--once", "--json", "--kind", kind, name, NULL };
	int fo = tn_memory_file("top-out"), fe = tn_memory_file("top-err");
	int st = 0;
	pid_t pid;

	tn_build_path("tools", "gnet-top", path, sizeof(path));
	pid = tn_spawn_to(path, args, fo, fe);
	ck_assert_msg(tn_reap(pid, &st, 20000), "gnet-top did not finish");
	tn_memory_read(fo, out, cap);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "gnet-top: %s: %s",
	    tn_describe_status(st), out);
	close(fo);
	close(fe);
}

/* The same truth through gnet-top, as a script would read it. */
START_TEST(gnet_top_json_shows_the_mailbox)
{
	enum { N = 120 };
	const char *name = unique("topjson");
	gnet_events_t ev = { .size = sizeof(ev) };
	gnet_options_t o;
	tn_server_t srv;
	sink_t k = { 0 };
	static char out[64 * 1024];
	char want[64];
	gnet_stats_t *s;
	gnet_handle_t h;

	stats_opts(&o, name, 2);
	tn_server_new(&srv, &ev, &o, NULL);
	h = spawn_sink(srv.eng, 1, &k, "jsonsink");
	tn_server_run(&srv);
	s = attach(name);
	hold_messages(srv.eng, s, h, N);
	top_json(name, "jsonsink", out, sizeof(out));
	snprintf(want, sizeof(want), "\"handle\":\"0x%016llx\"",
	    (unsigned long long)h);
	ck_assert_msg(strstr(out, want) != NULL, "no %s in %s", want, out);
	snprintf(want, sizeof(want), "\"mailbox\":%d,", N);
	ck_assert_msg(strstr(out, want) != NULL, "no %s in %s", want, out);
	ck_assert_int_eq(gnet_actor_set_receiving_async(srv.eng, h, 1), 0);
	TN_WAIT_UNTIL(row_mailbox(s, h, 0), 5000);
	top_json(name, "jsonsink", out, sizeof(out));
	ck_assert_msg(strstr(out, "\"mailbox\":0,") != NULL, "%s", out);
	gnet_stats_detach(s);
	tn_server_close(&srv);
}
END_TEST

/* A muted actor is still stopped by gnet_actor_stop_async, after the
 * messages before the stop. */
static void
count_stop(gnet_actor_t *self)
{
	sink_t *k = gnet_actor_state(self);

	atomic_fetch_add(&k->handled, 1000);
}

START_TEST(muted_actor_can_be_stopped)
{
	gnet_events_t ev = { .size = sizeof(ev) };
	gnet_options_t o;
	tn_server_t srv;
	sink_t k = { 0 };
	gnet_actor_def_t def = { .size = sizeof(def), .receive = sink_receive,
	    .on_stop = count_stop, .state = &k };
	gnet_msg_t m = { .type = GNET_MSG_USER };
	gnet_handle_t h;

	stats_opts(&o, unique("mute"), 1);
	tn_server_new(&srv, &ev, &o, NULL);
	ck_assert_int_eq(gnet_actor_spawn(srv.eng, 0, &def, &h), 0);
	tn_server_run(&srv);
	ck_assert_int_eq(gnet_actor_set_receiving_async(srv.eng, h, 0), 0);
	ck_assert_int_eq(gnet_actor_send(srv.eng, h, &m), 0);
	ck_assert_int_eq(gnet_actor_send(srv.eng, h, &m), 0);
	ck_assert_int_eq(gnet_actor_stop_async(srv.eng, h), 0);
	TN_WAIT_UNTIL(atomic_load(&k.handled) == 1002, 5000);
	ck_assert_int_eq(atomic_load(&k.handled), 1002);
	tn_server_close(&srv);
}
END_TEST

/* ---- loop rows ---- */

START_TEST(loop_rows_match_engine_stats)
{
	const char *name = unique("totals");
	gnet_events_t ev = { .size = sizeof(ev) };
	gnet_options_t o;
	tn_server_t srv;
	sink_t k = { 0 };
	gnet_stats_t *s;
	gnet_handle_t h;
	char buf[64];
	int i, fd;

	stats_opts(&o, name, 2);
	tn_server_new(&srv, &ev, &o, NULL);
	tn_server_listen(&srv, "tcp://127.0.0.1:0");
	h = spawn_sink(srv.eng, 1, &k, NULL);
	tn_server_run(&srv);
	s = attach(name);
	/* Traffic of both sorts: a connection, and messages. */
	fd = tn_connect(srv.port);
	ck_assert_int_ge(fd, 0);
	memset(buf, 'x', sizeof(buf));
	ck_assert_uint_eq(tn_send_all(fd, buf, sizeof(buf), 2000), sizeof(buf));
	for (i = 0; i < 20; i++) {
		gnet_msg_t m = { .type = GNET_MSG_USER };
		ck_assert_int_eq(gnet_actor_send(srv.eng, h, &m), 0);
	}
	TN_WAIT_UNTIL(atomic_load(&k.handled) == 20, 2000);
	/* The server has the bytes before it stops, whichever loop took the
	 * connection. */
	TN_WAIT_UNTIL(tn_loop_stats_sum(srv.eng).bytes_in == sizeof(buf),
	    2000);
	tn_close(&fd);
	tn_server_stop(&srv);
	/* Stopped: nothing moves any more, and the segment this reader
	 * mapped still holds the last values. */
	for (i = 0; i < 2; i++) {
		gnet_loop_stats_t e = { .size = sizeof(e) };
		gnet_stats_loop_t r = { .size = sizeof(r) };
		uint64_t v;

		ck_assert_int_eq(gnet_engine_loop_stats(srv.eng, i, &e), 0);
		ck_assert_int_eq(gnet_stats_loop(s, i, &r), 0);
		ck_assert_int_eq(r.state, GNET_STATS_LOOP_STOPPED);
		ck_assert_uint_eq(r.iterations, e.iterations);
		ck_assert_uint_eq(r.msgs_in, e.msgs_in);
		ck_assert_uint_eq(r.msgs_out, e.msgs_out);
		ck_assert_uint_eq(r.msgs_dropped, e.msgs_dropped);
		ck_assert_uint_eq(r.wakeups, e.wakeups);
		ck_assert_uint_eq(r.mailbox_hwm, e.mailbox_hwm);
		if (i == 1)
			ck_assert_uint_ge(r.msgs_in, 20);
		ck_assert_int_eq(gnet_stats_counter_get(s, "net", "accepted", i,
		    &v), 0);
		ck_assert_uint_eq(v, e.accepted);
		ck_assert_int_eq(gnet_stats_counter_get(s, "net", "bytes_in", i,
		    &v), 0);
		ck_assert_uint_eq(v, e.bytes_in);
		ck_assert_int_eq(gnet_stats_counter_get(s, "net", "syscalls_io",
		    i, &v), 0);
		ck_assert_uint_eq(v, e.syscalls_io);
	}
	{
		uint64_t total;
		ck_assert_int_eq(gnet_stats_counter_get(s, "net", "accepted", -1,
		    &total), 0);
		ck_assert_uint_eq(total, 1);
		ck_assert_int_eq(gnet_stats_counter_get(s, "net", "bytes_in", -1,
		    &total), 0);
		ck_assert_uint_eq(total, sizeof(buf));
	}
	gnet_stats_detach(s);
	tn_server_free(&srv);
}
END_TEST

/* ---- a wedged loop ---- */

typedef struct wedge {
	atomic_int blocking;
	atomic_int released;
} wedge_t;

static void
wedge_receive(gnet_actor_t *self, const gnet_msg_t *m)
{
	wedge_t *w = gnet_actor_state(self);
	struct timespec ts = { .tv_sec = 0, .tv_nsec = 10 * 1000 * 1000 };
	int64_t end = tn_now_ms() + (int64_t)m->a;

	/* A handler that blocks: m->a milliseconds. */
	atomic_store(&w->blocking, 1);
	while (tn_now_ms() < end)
		nanosleep(&ts, NULL);
	atomic_store(&w->released, 1);
}

START_TEST(wedged_loop_is_flagged_and_cleared)
{
	const char *name = unique("wedge");
	gnet_events_t ev = { .size = sizeof(ev) };
	gnet_options_t o;
	tn_server_t srv;
	wedge_t w = { 0 };
	sink_t k = { 0 };
	gnet_actor_def_t def = { .size = sizeof(def), .receive = wedge_receive,
	    .state = &w };
	gnet_msg_t block = { .type = GNET_MSG_USER, .a = 3000 };
	gnet_stats_loop_t r = { .size = sizeof(r) };
	gnet_stats_t *s;
	gnet_handle_t wh, sh;
	uint64_t it0, it1;
	int64_t t0;
	int i;

	stats_opts(&o, name, 2);
	tn_server_new(&srv, &ev, &o, NULL);
	ck_assert_int_eq(gnet_actor_spawn(srv.eng, 0, &def, &wh), 0);
	sh = spawn_sink(srv.eng, 1, &k, NULL);
	tn_server_run(&srv);
	s = attach(name);
	ck_assert_int_eq(gnet_actor_send(srv.eng, wh, &block), 0);
	TN_WAIT_UNTIL(atomic_load(&w.blocking), 2000);
	t0 = tn_now_ms();
	/* Flagged within a second: in a turn, for longer than 500 ms. */
	TN_WAIT_UNTIL(gnet_stats_loop(s, 0, &r) == 0 &&
	    r.state == GNET_STATS_LOOP_RUNNING && r.turn_ns > 500000000ull,
	    1500);
	ck_assert_int_eq(r.state, GNET_STATS_LOOP_RUNNING);
	ck_assert_uint_gt(r.turn_ns, 500000000ull);
	ck_assert_int_le(tn_now_ms() - t0, 1000);
	ck_assert_int_eq(atomic_load(&w.released), 0);
	/* Mail for the wedged loop piles up in its ring from other threads:
	 * its first drain will find all of it. */
	for (i = 0; i < 50; i++) {
		gnet_msg_t m = { .type = GNET_MSG_USER, .a = 0 };
		ck_assert_int_eq(gnet_actor_send(srv.eng, wh, &m), 0);
	}
	/* Meanwhile loop 1 lives on: its row keeps moving. */
	ck_assert_int_eq(gnet_stats_loop(s, 1, &r), 0);
	it0 = r.iterations;
	for (i = 0; i < 10; i++) {
		gnet_msg_t m = { .type = GNET_MSG_USER };
		ck_assert_int_eq(gnet_actor_send(srv.eng, sh, &m), 0);
	}
	TN_WAIT_UNTIL(atomic_load(&k.handled) == 10, 2000);
	ck_assert_int_eq(gnet_stats_loop(s, 1, &r), 0);
	it1 = r.iterations;
	ck_assert_uint_gt(it1, it0);
	ck_assert_int_ne(r.state, GNET_STATS_LOOP_STOPPED);
	ck_assert_uint_lt(r.turn_ns, 500000000ull);
	/* The handler returns: the flag clears. */
	TN_WAIT_UNTIL(atomic_load(&w.released), 5000);
	TN_WAIT_UNTIL(gnet_stats_loop(s, 0, &r) == 0 &&
	    r.turn_ns < 500000000ull, 1000);
	ck_assert_uint_lt(r.turn_ns, 500000000ull);
	/* The foreign ring (after the two loops' own) found the 50. */
	TN_WAIT_UNTIL(gnet_stats_loop(s, 0, &r) == 0 && r.ring[2].hwm >= 50 &&
	    r.ring[2].depth == 0, 2000);
	ck_assert_int_eq(r.nrings, 3);
	ck_assert_uint_ge(r.ring[2].hwm, 50);
	ck_assert_uint_eq(r.ring[2].depth, 0);
	gnet_stats_detach(s);
	tn_server_close(&srv);
}
END_TEST

/* ---- a backed-up connection ---- */

static gnet_action_t
echo_traffic(gnet_conn_t *c, void *udata)
{
	const void *p;
	size_t n = gnet_conn_peek(c, &p);

	(void)udata;
	gnet_conn_write(c, p, n);
	gnet_conn_discard(c, n);
	return GNET_NONE;
}

/* The server-side row of the only connection, if listed. */
static int
conn_row(gnet_stats_t *s, gnet_stats_actor_t *out)
{
	static gnet_stats_actor_t rows[MAX_ROWS];
	int n = gnet_stats_actors(s, -1, rows, MAX_ROWS), i;

	for (i = 0; i < n && i < MAX_ROWS; i++)
		if (strcmp(rows[i].kind, "connection") == 0) {
			*out = rows[i];
			return 1;
		}
	return 0;
}

START_TEST(backed_up_connection_shows_paused)
{
	enum { HWM = 256 * 1024, READ_CAP = 16 * 1024 };
	const char *name = unique("backed");
	gnet_events_t ev = { .size = sizeof(ev), .on_traffic = echo_traffic };
	gnet_options_t o;
	tn_server_t srv;
	gnet_stats_actor_t a;
	gnet_stats_t *s;
	static char chunk[64 * 1024];
	char peer[64];
	struct sockaddr_in me;
	socklen_t len = sizeof(me);
	int fd, i;

	stats_opts(&o, name, 1);
	o.write_high_watermark = HWM;
	o.write_low_watermark = HWM / 4;
	o.read_buffer_cap = READ_CAP;
	tn_server_start(&srv, &ev, &o, NULL);
	s = attach(name);
	/* A peer that sends and never reads: its small receive window fills,
	 * then the server's outbox up to the watermark. */
	fd = tn_connect_rcvbuf(srv.port, 4096);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(tn_set_nonblock(fd), 0);
	for (i = 0; i < 400; i++) {
		ssize_t n = send(fd, chunk, sizeof(chunk), MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN)
			break;
		if (n < 0) {
			if (conn_row(s, &a) && (a.flags & GNET_STATS_A_PAUSED))
				break;
			tn_nap();
		}
	}
	TN_WAIT_UNTIL(conn_row(s, &a) && (a.flags & GNET_STATS_A_PAUSED), 5000);
	ck_assert_int_eq(conn_row(s, &a), 1);
	ck_assert_msg(a.flags & GNET_STATS_A_PAUSED, "flags %#x", a.flags);
	/* Near the watermark: at or over it, by at most one read. */
	ck_assert_uint_ge(a.out_bytes, HWM);
	ck_assert_uint_le(a.out_bytes, HWM + READ_CAP + 1);
	ck_assert(getsockname(fd, (struct sockaddr *)&me, &len) == 0);
	snprintf(peer, sizeof(peer), "127.0.0.1:%u", ntohs(me.sin_port));
	ck_assert_str_eq(a.peer, peer);
	/* And so says gnet-top. */
	{
		static char out[64 * 1024];
		char want[96];
		top_json(name, "connection", out, sizeof(out));
		ck_assert_msg(strstr(out, "\"PAUSED\"") != NULL, "%s", out);
		snprintf(want, sizeof(want), "\"peer\":\"%s\"", peer);
		ck_assert_msg(strstr(out, want) != NULL, "no %s in %s", want, out);
	}
	tn_close(&fd);
	gnet_stats_detach(s);
	tn_server_close(&srv);
}
END_TEST

/* ---- readers cannot hurt the engine ---- */

/* A child that reads the segment in a tight loop until killed or stopped. */
static pid_t
spawn_reader(const char *name)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		static gnet_stats_actor_t rows[MAX_ROWS];
		gnet_stats_t *s;
		if (gnet_stats_attach(&s, name) != 0)
			_exit(2);
		for (;;) {
			gnet_stats_loop_t r = { .size = sizeof(r) };
			gnet_stats_loop(s, 0, &r);
			gnet_stats_actors(s, -1, rows, MAX_ROWS);
		}
	}
	return pid;
}

static void
echo_round_trip(int port)
{
	char out[32] = "round trip through the engine", in[32];
	int fd = tn_connect(port);

	ck_assert_int_ge(fd, 0);
	ck_assert_uint_eq(tn_send_all(fd, out, sizeof(out), 2000), sizeof(out));
	ck_assert_uint_eq(tn_read_exact(fd, in, sizeof(in), 2000), sizeof(in));
	ck_assert_int_eq(memcmp(in, out, sizeof(in)), 0);
	tn_close(&fd);
}

START_TEST(stopped_or_killed_reader_changes_nothing)
{
	const char *name = unique("readers");
	gnet_events_t ev = { .size = sizeof(ev), .on_traffic = echo_traffic };
	gnet_options_t o;
	tn_server_t srv;
	char path[160];
	pid_t stopped, killed;
	int st;

	stats_opts(&o, name, 2);
	tn_server_start(&srv, &ev, &o, NULL);
	snprintf(path, sizeof(path), "%s/gnet.%s.%d", GNET_STATS_DIR, name,
	    (int)getpid());
	ck_assert_int_eq(access(path, F_OK), 0);
	/* gnet-top itself, sampling as fast as it will, and a reader of
	 * our own that never pauses. */
	{
		char top[4096];
		const char *args[] = { "--json", "-n", "1000000", "-d", "0.01",
		    name, NULL };
		int fo = tn_memory_file("top-out");
		tn_build_path("tools", "gnet-top", top, sizeof(top));
		stopped = tn_spawn_to(top, args, fo, fo);
		close(fo);
	}
	killed = spawn_reader(name);
	echo_round_trip(srv.port);
	/* One frozen (kill -STOP gnet-top), one killed, mid-read. */
	ck_assert_int_eq(kill(stopped, SIGSTOP), 0);
	ck_assert_int_eq(kill(killed, SIGKILL), 0);
	ck_assert_int_eq(waitpid(killed, &st, 0), killed);
	ck_assert(WIFSIGNALED(st));
	echo_round_trip(srv.port);
	echo_round_trip(srv.port);
	/* The engine stops as it would alone; its segment goes with it. */
	tn_server_close(&srv);
	ck_assert_int_eq(access(path, F_OK), -1);
	ck_assert_int_eq(errno, ENOENT);
	kill(stopped, SIGKILL);
	waitpid(stopped, &st, 0);
}
END_TEST

/* ---- the engine ---- */

/* The engine's entry in gnet_stats_list: 1, or 0 when it is not listed. */
static int
listed(const char *name, gnet_stats_engine_t *out)
{
	static gnet_stats_engine_t found[64];
	int n = list_engines(found, 64), i;

	for (i = 0; i < n && i < 64; i++)
		if (strcmp(found[i].name, name) == 0 &&
		    found[i].pid == (int)getpid()) {
			*out = found[i];
			return 1;
		}
	return 0;
}

/* What the segment says of the engine's backend, through each reader:
 * gnet_stats_engine, gnet_stats_list and gnet-top's JSON (null for
 * none). */
static void
assert_backend(const char *name, const char *want)
{
	gnet_stats_engine_t e = { .size = sizeof(e) };
	gnet_stats_t *s = attach(name);
	static char out[64 * 1024];
	char field[64];

	ck_assert_int_eq(gnet_stats_engine(s, &e), 0);
	ck_assert_str_eq(e.backend, want);
	memset(&e, 0, sizeof(e));
	ck_assert_int_eq(listed(name, &e), 1);
	ck_assert_str_eq(e.backend, want);
	top_json(name, "none", out, sizeof(out));
	if (*want != '\0')
		snprintf(field, sizeof(field), "\"backend\":\"%s\",", want);
	else
		snprintf(field, sizeof(field), "\"backend\":null,");
	ck_assert_msg(strstr(out, field) != NULL, "no %s in %s", field, out);
	gnet_stats_detach(s);
}

/* Take the backend's publication back: its length 0, as in the segment
 * of an engine older than the field (spare header room, zero) or of one
 * whose loops are not open yet. The name's bytes stay: the length alone
 * says whether they are published. */
static void
unpublish_backend(const char *path)
{
	uint32_t zero = 0;
	off_t off = (off_t)offsetof(gnet__seg_header_t, backend_len);
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, &zero, sizeof(zero), off),
	    (ssize_t)sizeof(zero));
	close(fd);
}

/* The backend is the engine's, whichever the test runs on
 * (GNET_BACKEND); a segment whose backend is not published (an older
 * engine's) names none. */
START_TEST(engine_names_its_backend)
{
	const char *name = unique("backend");
	gnet_events_t ev = { .size = sizeof(ev) };
	gnet_options_t o;
	gnet_engine_t *eng;
	char path[160];

	stats_opts(&o, name, 2);
	ck_assert_int_eq(gnet_engine_new(&eng, &ev, &o, NULL), 0);
	ck_assert_msg(strcmp(gnet_engine_backend(eng), "epoll") == 0 ||
	    strcmp(gnet_engine_backend(eng), "io_uring") == 0, "backend %s",
	    gnet_engine_backend(eng));
	assert_backend(name, gnet_engine_backend(eng));
	snprintf(path, sizeof(path), "%s/gnet.%s.%d", GNET_STATS_DIR, name,
	    (int)getpid());
	unpublish_backend(path);
	assert_backend(name, "");
	gnet_engine_free(eng);
}
END_TEST

/* sizeof(gnet_stats_engine_t) in a program built against a gnetstats.h
 * without `backend`: through interval_ms, padded to the alignment. */
#define ENGINE_ALIGN _Alignof(gnet_stats_engine_t)
#define OLD_ENGINE_SIZE                                                   \
	((offsetof(gnet_stats_engine_t, interval_ms) + sizeof(unsigned) + \
	ENGINE_ALIGN - 1) / ENGINE_ALIGN * ENGINE_ALIGN)

/* Whether bytes [from, to) of buf all still hold 0xa5. */
static int
untouched(const unsigned char *buf, size_t from, size_t to)
{
	for (; from < to; from++)
		if (buf[from] != 0xa5)
			return 0;
	return 1;
}

/* A program built before the backend field passes a shorter struct:
 * it is filled to its size and no further, and gnet_stats_list steps
 * through its array by that size. */
START_TEST(older_callers_get_their_size)
{
	static union {
		gnet_stats_engine_t align;
		unsigned char b[4 * sizeof(gnet_stats_engine_t)];
	} buf;
	const char *name = unique("oldsize");
	gnet_events_t ev = { .size = sizeof(ev) };
	gnet_options_t o;
	gnet_engine_t *eng, *e2;
	gnet_stats_engine_t e;
	gnet_stats_t *s;
	size_t old = OLD_ENGINE_SIZE;
	int i;

	ck_assert_uint_lt(old, sizeof(gnet_stats_engine_t));
	stats_opts(&o, name, 1);
	ck_assert_int_eq(gnet_engine_new(&eng, &ev, &o, NULL), 0);
	stats_opts(&o, unique("oldsize2"), 1);
	ck_assert_int_eq(gnet_engine_new(&e2, &ev, &o, NULL), 0);
	s = attach(name);
	memset(buf.b, 0xa5, sizeof(buf.b));
	memcpy(buf.b, &old, sizeof(old));
	ck_assert_int_eq(gnet_stats_engine(s, &buf.align), 0);
	memset(&e, 0, sizeof(e));
	memcpy(&e, buf.b, old);
	ck_assert_uint_eq(e.size, old);
	ck_assert_str_eq(e.name, name);
	ck_assert(untouched(buf.b, old, sizeof(buf.b)));
	/* Two entries of the old size: both filled, nothing past them. */
	memset(buf.b, 0xa5, sizeof(buf.b));
	memcpy(buf.b, &old, sizeof(old));
	ck_assert_int_ge(gnet_stats_list(&buf.align, 2), 2);
	for (i = 0; i < 2; i++) {
		memset(&e, 0, sizeof(e));
		memcpy(&e, buf.b + (size_t)i * old, old);
		ck_assert_uint_eq(e.size, old);
		ck_assert_msg(strncmp(e.path, GNET_STATS_DIR "/gnet.",
		    strlen(GNET_STATS_DIR "/gnet.")) == 0, "entry %d: %s", i,
		    e.path);
	}
	ck_assert(untouched(buf.b, 2 * old, sizeof(buf.b)));
	/* A size that is none of this struct's: refused, nothing written. */
	memset(buf.b, 0, sizeof(buf.b));
	ck_assert_int_eq(gnet_stats_list(&buf.align, 2), GNET_EINVAL);
	ck_assert_uint_eq(buf.align.size, 0);
	ck_assert_str_eq(buf.align.name, "");
	ck_assert_int_ge(gnet_stats_list(NULL, 0), 2);
	gnet_stats_detach(s);
	gnet_engine_free(e2);
	gnet_engine_free(eng);
}
END_TEST

/* ---- the segment's file ---- */

START_TEST(segment_is_private_to_its_user)
{
	const char *name = unique("private");
	gnet_events_t ev = { .size = sizeof(ev) };
	gnet_options_t o;
	tn_server_t srv;
	struct stat sb;
	char path[160];
	pid_t pid;
	int st;

	stats_opts(&o, name, 1);
	tn_server_start(&srv, &ev, &o, NULL);
	snprintf(path, sizeof(path), "%s/gnet.%s.%d", GNET_STATS_DIR, name,
	    (int)getpid());
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0600);
	ck_assert_uint_eq(sb.st_uid, geteuid());
	/* Another user: a child that drops to nobody cannot attach. */
	if (geteuid() == 0) {
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			gnet_stats_t *s;
			if (setgid(65534) != 0 || setuid(65534) != 0)
				_exit(3);
			_exit(gnet_stats_attach(&s, path) == GNET_EACCES ? 0 : 1);
		}
		ck_assert_int_eq(waitpid(pid, &st, 0), pid);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		    "another user's attach: status %d", st);
	}
	tn_server_close(&srv);
}
END_TEST

START_TEST(dead_engine_segment_is_recognised_and_replaced)
{
	const char *name = unique("dead");
	gnet_stats_engine_t found[64];
	char path[160];
	pid_t pid;
	int st, n, i, seen = 0;

	/* A process that creates an engine and dies without stopping it. */
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		gnet_events_t ev = { .size = sizeof(ev) };
		gnet_options_t o;
		gnet_engine_t *eng;
		stats_opts(&o, name, 1);
		if (gnet_engine_new(&eng, &ev, &o, NULL) != 0)
			_exit(2);
		raise(SIGKILL);
		_exit(3);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFSIGNALED(st));
	snprintf(path, sizeof(path), "%s/gnet.%s.%d", GNET_STATS_DIR, name,
	    (int)pid);
	ck_assert_int_eq(access(path, F_OK), 0);
	n = list_engines(found, 64);
	for (i = 0; i < n && i < 64; i++)
		if (strcmp(found[i].name, name) == 0) {
			ck_assert_int_eq(found[i].pid, pid);
			ck_assert_int_eq(found[i].alive, 0);
			seen++;
		}
	ck_assert_int_eq(seen, 1);
	/* Attaching by name looks for a live engine only. */
	{
		gnet_stats_t *s;
		ck_assert_int_eq(gnet_stats_attach(&s, name), GNET_ENOENT);
	}
	/* The next engine of that name clears it away. */
	{
		gnet_events_t ev = { .size = sizeof(ev) };
		gnet_options_t o;
		gnet_engine_t *eng;
		stats_opts(&o, name, 1);
		ck_assert_int_eq(gnet_engine_new(&eng, &ev, &o, NULL), 0);
		ck_assert_int_eq(access(path, F_OK), -1);
		gnet_engine_free(eng);
	}
}
END_TEST

START_TEST(options_name_and_off)
{
	gnet_events_t ev = { .size = sizeof(ev) };
	gnet_options_t o;
	gnet_engine_t *eng;
	gnet_stats_t *s;
	const char *bad[] = { "", "has space", "dot.ted", "slash/x",
	    "0123456789012345678901234567890123456789012345678" };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		stats_opts(&o, bad[i], 1);
		ck_assert_int_eq(gnet_engine_new(&eng, &ev, &o, NULL), GNET_EINVAL);
	}
	/* stats < 0: no segment, counters still counted. */
	stats_opts(&o, unique("off"), 1);
	o.stats = -1;
	ck_assert_int_eq(gnet_engine_new(&eng, &ev, &o, NULL), 0);
	ck_assert_int_eq(gnet_stats_attach(&s, o.name), GNET_ENOENT);
	gnet_engine_free(eng);
	/* Two engines of one name in one process both publish. */
	{
		gnet_engine_t *e2;
		gnet_stats_engine_t found[64];
		int n, seen = 0;
		stats_opts(&o, unique("twice"), 1);
		ck_assert_int_eq(gnet_engine_new(&eng, &ev, &o, NULL), 0);
		ck_assert_int_eq(gnet_engine_new(&e2, &ev, &o, NULL), 0);
		n = list_engines(found, 64);
		for (i = 0; i < (size_t)n && i < 64; i++)
			seen += strcmp(found[i].name, o.name) == 0;
		ck_assert_int_eq(seen, 2);
		/* By name alone it is ambiguous; by path it is not. */
		ck_assert_int_eq(gnet_stats_attach(&s, o.name), GNET_EINVAL);
		gnet_engine_free(e2);
		gnet_engine_free(eng);
	}
	ck_assert_int_eq(gnet_stats_attach(NULL, "x"), GNET_EINVAL);
	ck_assert_int_eq(gnet_stats_attach(&s, "/nonexistent/gnet.x.1"),
	    GNET_ENOENT);
}
END_TEST

START_TEST(counter_sections_are_published)
{
	const char *name = unique("counters");
	const char *names[] = { "requests", "errors" };
	gnet_events_t ev = { .size = sizeof(ev) };
	gnet_options_t o;
	gnet_engine_t *eng;
	gnet_counters_t *c;
	gnet_stats_t *s;
	uint64_t v;

	stats_opts(&o, name, 2);
	ck_assert_int_eq(gnet_engine_new(&eng, &ev, &o, NULL), 0);
	ck_assert_int_eq(gnet_counters_new(eng, "mine", names, 2, &c), 0);
	GNET_COUNTER_ADD(gnet_counters_row(c, 0), 0, 5);
	GNET_COUNTER_ADD(gnet_counters_row(c, 1), 0, 7);
	GNET_COUNTER_ADD(gnet_counters_row(c, 1), 1, 1);
	ck_assert_ptr_null(gnet_counters_row(c, 2));
	s = attach(name);
	ck_assert_int_eq(gnet_stats_counter_get(s, "mine", "requests", -1, &v), 0);
	ck_assert_uint_eq(v, 12);
	ck_assert_int_eq(gnet_stats_counter_get(s, "mine", "requests", 1, &v), 0);
	ck_assert_uint_eq(v, 7);
	ck_assert_int_eq(gnet_stats_counter_get(s, "mine", "errors", -1, &v), 0);
	ck_assert_uint_eq(v, 1);
	ck_assert_int_eq(gnet_stats_counter_get(s, "mine", "nope", -1, &v),
	    GNET_ENOENT);
	gnet_counters_free(c);
	ck_assert_int_eq(gnet_stats_counter_get(s, "mine", "requests", -1, &v),
	    GNET_ENOENT);
	/* Bad tables are refused. */
	ck_assert_int_eq(gnet_counters_new(eng, "", names, 2, &c), GNET_EINVAL);
	ck_assert_int_eq(gnet_counters_new(eng, "x", names, 0, &c), GNET_EINVAL);
	ck_assert_int_eq(gnet_counters_new(eng,
	    "a-section-name-of-more-than-31-bytes", names, 2, &c), GNET_EINVAL);
	gnet_stats_detach(s);
	gnet_engine_free(eng);
}
END_TEST

static Suite *
stats_suite(void)
{
	Suite *s = suite_create("stats");
	TCase *tc = tcase_create("segment");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, mailbox_depth_is_exact);
	tcase_add_test(tc, muted_actor_can_be_stopped);
	tcase_add_test(tc, actor_rows_only_while_watched);
	tcase_add_test(tc, gnet_top_json_shows_the_mailbox);
	tcase_add_test(tc, loop_rows_match_engine_stats);
	tcase_add_test(tc, wedged_loop_is_flagged_and_cleared);
	tcase_add_test(tc, backed_up_connection_shows_paused);
	tcase_add_test(tc, stopped_or_killed_reader_changes_nothing);
	tcase_add_test(tc, segment_is_private_to_its_user);
	tcase_add_test(tc, dead_engine_segment_is_recognised_and_replaced);
	tcase_add_test(tc, options_name_and_off);
	tcase_add_test(tc, counter_sections_are_published);
	tcase_add_test(tc, engine_names_its_backend);
	tcase_add_test(tc, older_callers_get_their_size);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(stats_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
