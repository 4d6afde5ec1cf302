/*
 * check_port -- ports: a thread the engine does not run (the test thread
 * here, redis-server's main thread in gnet_redis.so) takes requests from
 * loops and foreign threads and answers them, through rings of 4 slots
 * so both overflow paths carry traffic: the loops' outboxes toward the
 * port, the port's parked replies toward the loops. Every request is
 * answered once, in order per sender; the fd is readable exactly while
 * mail waits; leftovers reach gnet_port_free's function.
 */
#include <check.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "gnet.h"
#include "gnetstats.h"
#include "support/testnet.h"

#define MSG_GO (GNET_MSG_USER + 1)
#define MSG_REQ (GNET_MSG_USER + 2)
#define MSG_REPLY (GNET_MSG_USER + 3)

#define LOOPS 2
#define REQS 20000             /* per loop actor and per thread */
#define WAIT_MS 60000

typedef struct {
	gnet_handle_t port;
	unsigned source, sent, next_reply;
	atomic_uint replies;
	atomic_int bad;
} asker_t;

static asker_t askers[LOOPS];
static gnet_handle_t asker_h[LOOPS];

static void
asker_receive(gnet_actor_t *self, const gnet_msg_t *m)
{
	asker_t *a = gnet_actor_state(self);
	gnet_msg_t req = { .type = MSG_REQ, .a = a->source };
	unsigned i, n = tn_scaled(REQS);

	if (m->type == MSG_GO) {
		req.from = gnet_actor_handle(self);
		/* All at once: most of these park in the outbox. */
		for (i = 0; i < n; i++) {
			req.b = i;
			ck_assert_int_eq(gnet_actor_send(gnet_actor_engine(self),
			    a->port, &req), 0);
		}
		return;
	}
	if (m->type != MSG_REPLY || m->b != a->next_reply)
		atomic_fetch_add(&a->bad, 1);
	a->next_reply++;
	atomic_fetch_add(&a->replies, 1);
}

/* The owner's side: per-source order of requests, one reply each. */
typedef struct {
	gnet_port_t *port;
	unsigned next[LOOPS + 1];
	unsigned handled;
	int bad;
	int parked_seen;
} owner_t;

static void
owner_handle(void *udata, const gnet_msg_t *m)
{
	owner_t *o = udata;
	gnet_msg_t reply = { .type = MSG_REPLY, .b = m->b };

	if (m->type != MSG_REQ || m->a > LOOPS || m->b != o->next[m->a]) {
		o->bad++;
		return;
	}
	o->next[m->a]++;
	o->handled++;
	/* The thread's requests come from no actor: nothing to answer. */
	if (m->a < LOOPS)
		ck_assert_int_eq(gnet_port_send(o->port, m->from, &reply), 0);
}

typedef struct {
	gnet_engine_t *eng;
	gnet_handle_t port;
	int rc;
} thread_asker_t;

static void *
thread_ask(void *arg)
{
	thread_asker_t *t = arg;
	gnet_msg_t req = { .type = MSG_REQ, .a = LOOPS };
	unsigned i, n = tn_scaled(REQS);

	for (i = 0; i < n && t->rc == 0; i++) {
		req.b = i;
		t->rc = gnet_actor_send(t->eng, t->port, &req);
	}
	return NULL;
}

static int
fd_readable(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, timeout_ms) == 1;
}

static gnet_options_t
tiny_rings(void)
{
	gnet_options_t o = { .size = sizeof(gnet_options_t) };
	static char name[32];

	/* Named by pid, for the reader to find this engine's segment. */
	snprintf(name, sizeof name, "check-port-%d", (int)getpid());
	o.name = name;
	o.num_loops = LOOPS;
	o.mailbox_ring_size = 4;
	return o;
}

START_TEST(requests_and_replies_through_full_rings)
{
	gnet_events_t ev = { .size = sizeof(gnet_events_t) };
	gnet_options_t opt = tiny_rings();
	gnet_msg_t go = { .type = MSG_GO };
	gnet_loop_stats_t st = { .size = sizeof(gnet_loop_stats_t) };
	unsigned n = tn_scaled(REQS), total = n * (LOOPS + 1), i;
	uint64_t overflowed = 0;
	thread_asker_t ta;
	pthread_t th;
	owner_t own;
	tn_server_t srv;
	int64_t deadline;

	memset(&own, 0, sizeof(own));
	memset(askers, 0, sizeof(askers));
	tn_server_new(&srv, &ev, &opt, NULL);
	ck_assert_int_eq(gnet_port_new(srv.eng, &own.port), 0);
	for (i = 0; i < LOOPS; i++) {
		gnet_actor_def_t d = { .size = sizeof(d), .receive = asker_receive,
			.state = &askers[i] };
		askers[i].port = gnet_port_handle(own.port);
		askers[i].source = i;
		ck_assert_int_eq(gnet_actor_spawn(srv.eng, (int)i, &d, &asker_h[i]), 0);
	}
	tn_server_run(&srv);
	/* Created only before the run. */
	{
		gnet_port_t *late;
		ck_assert_int_eq(gnet_port_new(srv.eng, &late), GNET_ESTATE);
	}
	for (i = 0; i < LOOPS; i++)
		ck_assert_int_eq(gnet_actor_send(srv.eng, asker_h[i], &go), 0);
	ta = (thread_asker_t){ srv.eng, gnet_port_handle(own.port), 0 };
	ck_assert_int_eq(pthread_create(&th, NULL, thread_ask, &ta), 0);

	/* The owner's loop: wait on the fd, ack, drain a budget's worth. */
	deadline = tn_now_ms() + WAIT_MS;
	while (own.handled < total && tn_now_ms() < deadline) {
		if (fd_readable(gnet_port_fd(own.port), 100))
			gnet_port_ack(own.port);
		gnet_port_drain(own.port, 64, owner_handle, &own);
		if (gnet_port_waiting(own.port) != 0)
			own.parked_seen = 1;
	}
	pthread_join(th, NULL);
	ck_assert_int_eq(ta.rc, 0);
	ck_assert_int_eq(own.bad, 0);
	ck_assert_uint_eq(own.handled, total);
	/* Parked replies move on later drains: keep draining until the
	 * askers have them all. */
	deadline = tn_now_ms() + WAIT_MS;
	for (i = 0; i < LOOPS; i++)
		while (atomic_load(&askers[i].replies) < n && tn_now_ms() < deadline) {
			if (fd_readable(gnet_port_fd(own.port), 10))
				gnet_port_ack(own.port);
			gnet_port_drain(own.port, 64, owner_handle, &own);
		}
	for (i = 0; i < LOOPS; i++) {
		ck_assert_uint_eq(atomic_load(&askers[i].replies), n);
		ck_assert_int_eq(atomic_load(&askers[i].bad), 0);
		ck_assert_int_eq(gnet_engine_loop_stats(srv.eng, (int)i, &st), 0);
		overflowed += st.overflowed;
	}
	/* Both overflow paths really carried traffic. */
	ck_assert_uint_gt(overflowed, 0);
	ck_assert_int_eq(own.parked_seen, 1);
	ck_assert_uint_eq(gnet_port_waiting(own.port), 0);
	/* gnet-top's view: the port's section counts what it took and sent. */
	{
		gnet_stats_t *st_seg;
		uint64_t v;
		char who[64];

		snprintf(who, sizeof who, "%s", opt.name);
		ck_assert_int_eq(gnet_stats_attach(&st_seg, who), 0);
		ck_assert_int_eq(gnet_stats_counter_get(st_seg, "port0",
		    "received", 0, &v), 0);
		ck_assert_uint_eq(v, total);
		ck_assert_int_eq(gnet_stats_counter_get(st_seg, "port0", "sent",
		    0, &v), 0);
		ck_assert_uint_eq(v, n * LOOPS);
		ck_assert_int_eq(gnet_stats_counter_get(st_seg, "port0",
		    "parked", 0, &v), 0);
		ck_assert_uint_eq(v, 0);
		gnet_stats_detach(st_seg);
	}
	tn_server_stop(&srv);
	gnet_port_free(own.port, NULL, NULL);
	tn_server_free(&srv);
}
END_TEST

typedef struct {
	unsigned got;
	uint64_t last_b;
} count_t;

static void
count_msg(void *udata, const gnet_msg_t *m)
{
	count_t *c = udata;

	c->got++;
	c->last_b = m->b;
}

START_TEST(fd_is_readable_while_mail_waits)
{
	gnet_events_t ev = { .size = sizeof(gnet_events_t) };
	gnet_options_t opt = tiny_rings();
	gnet_msg_t m = { .type = MSG_REQ };
	gnet_port_t *p;
	count_t c = { 0, 0 };
	tn_server_t srv;
	int fd, i;

	tn_server_new(&srv, &ev, &opt, NULL);
	ck_assert_int_eq(gnet_port_new(srv.eng, &p), 0);
	tn_server_run(&srv);
	fd = gnet_port_fd(p);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fd_readable(fd, 0), 0);
	ck_assert_uint_eq(gnet_port_drain(p, 64, count_msg, &c), 0);
	for (i = 0; i < 3; i++) {
		m.b = (uint64_t)i;
		ck_assert_int_eq(gnet_actor_send(srv.eng, gnet_port_handle(p), &m), 0);
	}
	ck_assert_int_eq(fd_readable(fd, 5000), 1);
	gnet_port_ack(p);
	ck_assert_int_eq(fd_readable(fd, 0), 0);
	/* A budget of 1 per ring leaves two: the fd says so again. */
	ck_assert_uint_eq(gnet_port_drain(p, 1, count_msg, &c), 1);
	ck_assert_uint_eq(c.last_b, 0);
	ck_assert_int_eq(fd_readable(fd, 0), 1);
	gnet_port_ack(p);
	ck_assert_uint_eq(gnet_port_drain(p, 64, count_msg, &c), 2);
	ck_assert_uint_eq(c.last_b, 2);
	/* All taken: not readable, and a drain finds nothing. */
	ck_assert_int_eq(fd_readable(fd, 0), 0);
	ck_assert_uint_eq(gnet_port_drain(p, 64, count_msg, &c), 0);
	ck_assert_uint_eq(c.got, 3);
	tn_server_close(&srv);
}
END_TEST

START_TEST(rules_and_leftovers)
{
	gnet_events_t ev = { .size = sizeof(gnet_events_t) };
	gnet_options_t opt = tiny_rings();
	gnet_msg_t m = { .type = MSG_REQ }, lib = { .type = 1 };
	gnet_port_t *p[5];
	gnet_handle_t h;
	count_t c = { 0, 0 };
	tn_server_t srv;
	int i;

	tn_server_new(&srv, &ev, &opt, NULL);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(gnet_port_new(srv.eng, &p[i]), 0);
	ck_assert_int_eq(gnet_port_new(srv.eng, &p[4]), GNET_ELIMIT);
	ck_assert(gnet_port_handle(p[0]) != gnet_port_handle(p[1]));
	{
		gnet_actor_def_t d = { .size = sizeof(d), .receive = asker_receive,
			.state = &askers[0] };
		ck_assert_int_eq(gnet_actor_spawn(srv.eng, 0, &d, &asker_h[0]), 0);
	}
	tn_server_run(&srv);
	h = gnet_port_handle(p[0]);
	/* A port sends only to loops' actors, and only user types. */
	ck_assert_int_eq(gnet_port_send(p[0], h, &m), GNET_EINVAL);
	ck_assert_int_eq(gnet_port_send(p[0], GNET_HANDLE_NONE, &m), GNET_EINVAL);
	ck_assert_int_eq(gnet_actor_send(srv.eng, h, &lib), GNET_EINVAL);
	/* A handle that looks like a port's but is not. */
	ck_assert_int_eq(gnet_actor_send(srv.eng, h + 1, &m), GNET_EINVAL);
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(gnet_actor_send(srv.eng, h, &m), 0);
	tn_server_stop(&srv);
	/* Stopped: replies are refused, and what was never drained goes to
	 * the free's function. */
	ck_assert_int_eq(gnet_port_send(p[0], asker_h[0], &m), GNET_ESHUTDOWN);
	gnet_port_free(p[0], count_msg, &c);
	ck_assert_uint_eq(c.got, 5);
	gnet_port_free(p[1], NULL, NULL);
	/* Sends to a freed port are refused, not a crash. */
	ck_assert_int_ne(gnet_actor_send(srv.eng, h, &m), 0);
	/* The rest go with the engine. */
	tn_server_free(&srv);
}
END_TEST

static Suite *
port_suite(void)
{
	Suite *s = suite_create("port");
	TCase *tc = tn_tcase("port", 120);

	tcase_add_test(tc, requests_and_replies_through_full_rings);
	tcase_add_test(tc, fd_is_readable_while_mail_waits);
	tcase_add_test(tc, rules_and_leftovers);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tn_run_suite(port_suite());
}
