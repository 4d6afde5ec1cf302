/*
 * check_module_resp -- integration suite "module_resp": the resp module's
 * connection side (modules/resp/conn.c, route.c, admin.c) in a host run
 * by the test, with the module linked in so its stats can be read. Where
 * the differential suites (check_resp_diff) compare reply bytes with
 * redis-server, this one checks what only a sharded server has:
 *
 *   - a pipeline mixing every shard gets its replies in request order,
 *     and the stats show the commands really crossed loops;
 *   - batches: inline and multibulk commands mixed in one read, an MSET
 *     too big for a batch's argument array, a protocol error past the
 *     first batch, a command over client-query-buffer-limit;
 *   - MSET/MGET/DEL/EXISTS split over shards and gathered in key order;
 *     DBSIZE, FLUSHALL and INFO's keyspace summed over shards;
 *   - a protocol error, or QUIT, after commands still out on other
 *     shards: their replies first, then the error or +OK, then EOF;
 *   - a connection owing max-pending replies stops reading and resumes
 *     (stat reads_paused), answering everything in order;
 *   - a client that closes with thousands of commands out: the server
 *     frees them as they come back (ASan's leak check) and serves on;
 *   - maxmemory: writes refused with Redis's OOM error, reads and DEL
 *     served; CONFIG GET shows the module's options;
 *   - unload while connections are open and commands are out.
 *
 * Keys are chosen per shard with the module's own shard_of, so a test
 * knows which commands cross loops. Every wait has a deadline.
 */
#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gnet.h"
#include "gnethost.h"
#include "support/module_host.h"
#include "support/redis_peer.h"
#include "support/testnet.h"

GNET_MODULE_STATIC(resp);

/* The module's own key placement (modules/resp/shard.h). */
unsigned shard_of(const void *key, size_t len, unsigned nshards);

#define TCASE_TIMEOUT_S 120
#define IO_MS 10000
#define UNLOAD_MS 10000

typedef struct server {
	tn_host_t host;
	gnet_module_t *m;
	int port;
	int loops;
} server_t;

static server_t *
server_start(int loops, const char *const *extra)
{
	const char *args[16] = { "listen=tcp://127.0.0.1:0" };
	server_t *s = calloc(1, sizeof *s);
	int argc = 1, rc;

	ck_assert_ptr_nonnull(s);
	for (; extra != NULL && *extra != NULL && argc < 15; extra++)
		args[argc++] = *extra;
	tn_host_new(&s->host, loops, 0);
	rc = gnet_host_load_static(s->host.h, GNET_MODULE_ENTRY(resp), args,
	    argc, &s->m, s->host.err, sizeof s->host.err);
	ck_assert_msg(rc == 0, "load resp: %d: %s", rc, s->host.err);
	tn_host_run(&s->host);
	s->port = tn_module_port(s->m, 0);
	s->loops = loops;
	return s;
}

static void
server_stop(server_t *s)
{
	tn_host_end(&s->host);
	free(s);
}

static uint64_t
stat_of(const server_t *s, const char *name)
{
	uint64_t v = 0;

	ck_assert_msg(gnet_module_stat(s->m, "resp", name, &v) == 0,
	    "no stat resp.%s", name);
	return v;
}

/* A key named after `stem` that lives on shard `shard` of n. */
static void
key_on(char *out, size_t cap, const char *stem, int i, int shard, int n)
{
	for (int salt = 0;; salt++) {
		snprintf(out, cap, "%s:%d:%d", stem, i, salt);
		if ((int)shard_of(out, strlen(out), (unsigned)n) == shard)
			return;
	}
}

/* ------------------------------------------------------------------------
 * RESP text.
 */
typedef struct text {
	char *p;
	size_t len, cap;
} text_t;

static void
put(text_t *t, const void *p, size_t n)
{
	if (t->len + n + 1 > t->cap) {
		t->cap = (t->len + n + 1) * 2;
		t->p = realloc(t->p, t->cap);
		ck_assert_ptr_nonnull(t->p);
	}
	memcpy(t->p + t->len, p, n);
	t->len += n;
	t->p[t->len] = '\0';
}

static void
putf(text_t *t, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	ck_assert(n > 0 && (size_t)n < sizeof buf);
	put(t, buf, (size_t)n);
}

/* A command as a multibulk; args separated by '\x01' would need
 * escaping, so they are given as an array. */
static void
cmdv(text_t *t, int argc, const char *const *argv)
{
	putf(t, "*%d\r\n", argc);
	for (int i = 0; i < argc; i++) {
		putf(t, "$%zu\r\n", strlen(argv[i]));
		put(t, argv[i], strlen(argv[i]));
		put(t, "\r\n", 2);
	}
}

#define CMD(t, ...) do {                                                 \
	const char *const a_[] = { __VA_ARGS__ };                        \
	cmdv((t), (int)(sizeof a_ / sizeof a_[0]), a_);                  \
} while (0)

static void
bulk(text_t *t, const char *s)
{
	putf(t, "$%zu\r\n%s\r\n", strlen(s), s);
}

/* Send all of `req`, read replies until `want` arrived (or EOF when want
 * is -1), and compare them with `expect` byte for byte. */
static void
exchange(int fd, const text_t *req, int want, const text_t *expect,
    int expect_eof, const char *what)
{
	tn_resp_in_t in = { 0 };

	ck_assert_uint_eq(tn_send_all(fd, req->p, req->len, IO_MS), req->len);
	tn_resp_read(fd, expect_eof ? -1 : want, IO_MS, &in);
	ck_assert_msg(!in.timed_out && !in.malformed, "%s: %d of %d replies "
	    "(timed out %d, malformed %d)", what, in.replies, want,
	    in.timed_out, in.malformed);
	ck_assert_msg(in.replies == want, "%s: %d replies, want %d", what,
	    in.replies, want);
	ck_assert_msg(in.len == expect->len &&
	    memcmp(in.buf, expect->p, expect->len) == 0,
	    "%s: replies differ (got %zu bytes, want %zu)", what, in.len,
	    expect->len);
	if (expect_eof)
		ck_assert_msg(in.closed, "%s: no EOF", what);
	tn_resp_in_free(&in);
}

static void
text_free(text_t *t)
{
	free(t->p);
	memset(t, 0, sizeof *t);
}

/* ------------------------------------------------------------------------
 * Order across shards.
 */
START_TEST(pipeline_mixing_shards_keeps_order)
{
	server_t *s = server_start(2, NULL);
	text_t req = { 0 }, want = { 0 };
	char key[64], val[32];
	int fd = tn_connect(s->port), n = 0;

	/* Each key is set, read, appended to and measured; every other
	 * key lives on the other loop's shard, and PINGs (answered by the
	 * connection itself) sit between them. */
	for (int i = 0; i < 400; i++) {
		key_on(key, sizeof key, "k", i, i % 2, 2);
		snprintf(val, sizeof val, "v%d", i);
		CMD(&req, "SET", key, val);
		putf(&want, "+OK\r\n");
		CMD(&req, "GET", key);
		bulk(&want, val);
		CMD(&req, "APPEND", key, "x");
		putf(&want, ":%zu\r\n", strlen(val) + 1);
		CMD(&req, "PING");
		putf(&want, "+PONG\r\n");
		CMD(&req, "INCR", key);
		putf(&want, "-ERR value is not an integer or out of "
		    "range\r\n");
		n += 5;
	}
	exchange(fd, &req, n, &want, 0, "mixed pipeline");
	ck_assert_msg(stat_of(s, "remote") >= 800, "only %llu commands "
	    "crossed loops", (unsigned long long)stat_of(s, "remote"));
	close(fd);
	text_free(&req);
	text_free(&want);
	server_stop(s);
}
END_TEST

START_TEST(multi_key_commands_gather_in_key_order)
{
	server_t *s = server_start(2, NULL);
	text_t req = { 0 }, want = { 0 };
	char keys[40][64];
	const char *mset[81], *mget[42], *del[41];
	int fd = tn_connect(s->port);

	mset[0] = "MSET";
	for (int i = 0; i < 40; i++) {
		key_on(keys[i], sizeof keys[i], "m", i, (i / 3) % 2, 2);
		mset[1 + 2 * i] = keys[i];
		mset[2 + 2 * i] = keys[i];   /* each key's value is its name */
	}
	cmdv(&req, 81, mset);
	putf(&want, "+OK\r\n");
	/* Backwards, with a missing key in the middle and at the end. */
	mget[0] = "MGET";
	for (int i = 0; i < 40; i++)
		mget[1 + i] = keys[39 - i];
	mget[20] = "missing:a";
	mget[41] = "missing:b";
	cmdv(&req, 42, mget);
	putf(&want, "*41\r\n");
	for (int i = 1; i <= 41; i++) {
		if (i == 20 || i == 41)
			putf(&want, "$-1\r\n");
		else
			bulk(&want, mget[i]);
	}
	CMD(&req, "EXISTS", keys[0], keys[1], keys[0], "missing:c", keys[5]);
	putf(&want, ":4\r\n");
	CMD(&req, "DBSIZE");
	putf(&want, ":40\r\n");
	del[0] = "DEL";
	for (int i = 0; i < 40; i++)
		del[1 + i] = keys[i];
	del[40] = "missing:d";
	cmdv(&req, 41, del);
	putf(&want, ":39\r\n");
	CMD(&req, "DBSIZE");
	putf(&want, ":1\r\n");
	CMD(&req, "FLUSHALL");
	putf(&want, "+OK\r\n");
	CMD(&req, "DBSIZE");
	putf(&want, ":0\r\n");
	exchange(fd, &req, 8, &want, 0, "scatter and gather");
	ck_assert_uint_ge(stat_of(s, "scattered"), 6);
	close(fd);
	text_free(&req);
	text_free(&want);
	server_stop(s);
}
END_TEST

START_TEST(info_sums_every_shard)
{
	server_t *s = server_start(2, NULL);
	char key[64], out[4096];
	const char *set[] = { "SET", key, "v" };
	const char *ex[] = { "EXPIRE", key, "1000" };
	const char *info[] = { "INFO", "keyspace" };
	const char *all[] = { "INFO" };
	int fd = tn_connect(s->port);

	for (int i = 0; i < 30; i++) {
		key_on(key, sizeof key, "i", i, i % 2, 2);
		ck_assert_int_gt(tn_resp_call(fd, 3, set, out, sizeof out,
		    IO_MS), 0);
		if (i < 7)
			ck_assert_int_gt(tn_resp_call(fd, 3, ex, out,
			    sizeof out, IO_MS), 0);
	}
	ck_assert_int_gt(tn_resp_call(fd, 2, info, out, sizeof out, IO_MS), 0);
	ck_assert_msg(strstr(out, "# Keyspace\r\ndb0:keys=30,expires=7,"
	    "avg_ttl=0\r\n") != NULL, "INFO keyspace: %s", out);
	ck_assert_msg(strstr(out, "# Server") == NULL, "INFO keyspace "
	    "gave other sections: %s", out);
	ck_assert_int_gt(tn_resp_call(fd, 1, all, out, sizeof out, IO_MS), 0);
	ck_assert_msg(strstr(out, "connected_clients:1\r\n") != NULL &&
	    strstr(out, "total_commands_processed:") != NULL &&
	    strstr(out, "used_memory:") != NULL &&
	    strstr(out, "gnet_loops:2\r\n") != NULL, "INFO: %s", out);
	close(fd);
	server_stop(s);
}
END_TEST

/* ------------------------------------------------------------------------
 * Batches: a read is taken as batches of commands (traffic.c), which end
 * early at an inline command, a full argument array or a protocol error,
 * and go on from the next byte.
 */
START_TEST(batches_end_and_resume_anywhere)
{
	server_t *s = server_start(2, NULL);
	text_t req = { 0 }, want = { 0 };
	const char **mset = calloc(1 + 2 * 3000, sizeof *mset);
	char (*keys)[32] = calloc(3000, sizeof *keys);
	char key[64];
	int fd = tn_connect(s->port), n = 0;

	ck_assert(mset != NULL && keys != NULL);
	/* 200 commands in one write: every seventh inline (quoted), the
	 * rest multibulk, on both shards, with blank lines Redis skips. */
	for (int i = 0; i < 200; i++) {
		key_on(key, sizeof key, "b", i, i % 2, 2);
		if (i % 7 == 0) {
			putf(&req, "SET %s \"v %d\"\r\n\r\n", key, i);
			putf(&want, "+OK\r\n");
		} else {
			CMD(&req, "INCRBY", key, "2");
			putf(&want, ":2\r\n");
		}
		n++;
	}
	/* An MSET of 3000 pairs after small commands: more arguments than
	 * the batch's array holds, so the batch ends before it. */
	CMD(&req, "PING");
	putf(&want, "+PONG\r\n");
	mset[0] = "MSET";
	for (int i = 0; i < 3000; i++) {
		snprintf(keys[i], sizeof keys[i], "many:%d", i);
		mset[1 + 2 * i] = keys[i];
		mset[2 + 2 * i] = keys[i];
	}
	cmdv(&req, 1 + 2 * 3000, mset);
	putf(&want, "+OK\r\n");
	CMD(&req, "GET", "many:2999");
	bulk(&want, "many:2999");
	/* Each inline SET kept its own value (they share one buffer). */
	for (int i = 0; i < 200; i += 7) {
		char val[32];

		key_on(key, sizeof key, "b", i, i % 2, 2);
		snprintf(val, sizeof val, "v %d", i);
		CMD(&req, "GET", key);
		bulk(&want, val);
		n++;
	}
	CMD(&req, "DBSIZE");
	putf(&want, ":3200\r\n");
	n += 4;
	exchange(fd, &req, n, &want, 0, "batches");
	close(fd);
	text_free(&req);
	text_free(&want);
	free(mset);
	free(keys);
	server_stop(s);
}
END_TEST

START_TEST(protocol_error_deep_in_a_pipeline)
{
	static const char bad[] = "*2\r\n$3\r\nGET\r\n!";
	server_t *s = server_start(1, NULL);
	text_t req = { 0 }, want = { 0 };
	char key[32];
	int fd = tn_connect(s->port);

	/* Past the first batch, and the error in the middle of another. */
	for (int i = 0; i < 45; i++) {
		snprintf(key, sizeof key, "d%d", i);
		CMD(&req, "SET", key, "v");
		putf(&want, "+OK\r\n");
	}
	put(&req, bad, sizeof bad - 1);
	CMD(&req, "PING");
	putf(&want, "-ERR Protocol error: expected '$', got '!'\r\n");
	exchange(fd, &req, 46, &want, 1, "error after 45 commands");
	close(fd);
	text_free(&req);
	text_free(&want);
	server_stop(s);
}
END_TEST

START_TEST(command_over_query_buffer_limit_closes)
{
	const char *extra[] = { "client-query-buffer-limit=4k", NULL };
	server_t *s = server_start(1, extra);
	text_t req = { 0 }, want = { 0 };
	char big[8192];
	int fd = tn_connect(s->port), fd2;
	char out[64];
	const char *ping[] = { "PING" };

	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	CMD(&req, "SET", "a", "1");
	putf(&want, "+OK\r\n");
	CMD(&req, "SET", "b", big);
	exchange(fd, &req, 1, &want, 1, "over the limit");
	/* The server itself goes on. */
	fd2 = tn_connect(s->port);
	ck_assert_int_gt(tn_resp_call(fd2, 1, ping, out, sizeof out, IO_MS),
	    0);
	ck_assert_str_eq(out, "+PONG\r\n");
	close(fd);
	close(fd2);
	text_free(&req);
	text_free(&want);
	server_stop(s);
}
END_TEST

/* ------------------------------------------------------------------------
 * Endings in their turn.
 */
START_TEST(protocol_error_after_remote_commands)
{
	server_t *s = server_start(2, NULL);
	text_t req = { 0 }, want = { 0 };
	char key[64];
	int fd = tn_connect(s->port);

	for (int i = 0; i < 200; i++) {
		key_on(key, sizeof key, "p", i, 1, 2);
		CMD(&req, "SET", key, "v");
		putf(&want, "+OK\r\n");
	}
	put(&req, "*1\r\n$x\r\n", 8);
	CMD(&req, "PING");       /* after the error: never answered */
	putf(&want, "-ERR Protocol error: invalid bulk length\r\n");
	exchange(fd, &req, 201, &want, 1, "protocol error in turn");
	ck_assert_uint_eq(stat_of(s, "protocol_errors"), 1);
	close(fd);
	text_free(&req);
	text_free(&want);
	server_stop(s);
}
END_TEST

START_TEST(quit_after_remote_commands)
{
	server_t *s = server_start(2, NULL);
	text_t req = { 0 }, want = { 0 };
	char key[64];
	int fd = tn_connect(s->port);

	for (int i = 0; i < 100; i++) {
		key_on(key, sizeof key, "q", i, i % 2, 2);
		CMD(&req, "INCRBY", key, "5");
		putf(&want, ":5\r\n");
	}
	CMD(&req, "QUIT");
	putf(&want, "+OK\r\n");
	CMD(&req, "PING");
	exchange(fd, &req, 101, &want, 1, "QUIT in turn");
	close(fd);
	text_free(&req);
	text_free(&want);
	server_stop(s);
}
END_TEST

/* ------------------------------------------------------------------------
 * Bounds.
 */
START_TEST(owing_max_pending_pauses_reading)
{
	const char *extra[] = { "max-pending=4", NULL };
	server_t *s = server_start(2, extra);
	text_t req = { 0 }, want = { 0 };
	char key[64];
	int fd = tn_connect(s->port);

	key_on(key, sizeof key, "far", 0, 1, 2);
	for (int i = 0; i < 3000; i++) {
		CMD(&req, "INCR", key);
		putf(&want, ":%d\r\n", i + 1);
	}
	exchange(fd, &req, 3000, &want, 0, "paused and resumed");
	ck_assert_uint_gt(stat_of(s, "reads_paused"), 0);
	close(fd);
	text_free(&req);
	text_free(&want);
	server_stop(s);
}
END_TEST

START_TEST(close_with_commands_out)
{
	server_t *s = server_start(2, NULL);
	text_t req = { 0 };
	char key[64], out[256];
	const char *ping[] = { "PING" };
	const char *get[] = { "GET", key };

	for (int i = 0; i < 5000; i++) {
		key_on(key, sizeof key, "c", i % 50, 1, 2);
		CMD(&req, "SET", key, "value");
	}
	for (int round = 0; round < 20; round++) {
		int fd = tn_connect(s->port);

		tn_send_all(fd, req.p, req.len, IO_MS);
		tn_set_linger_rst(fd);
		close(fd);
	}
	/* The server went on: a new client is served, on every shard. */
	int fd = tn_connect(s->port);

	ck_assert_int_gt(tn_resp_call(fd, 1, ping, out, sizeof out, IO_MS), 0);
	ck_assert_str_eq(out, "+PONG\r\n");
	key_on(key, sizeof key, "c", 0, 1, 2);
	ck_assert_int_gt(tn_resp_call(fd, 2, get, out, sizeof out, IO_MS), 0);
	ck_assert_str_eq(out, "$5\r\nvalue\r\n");
	close(fd);
	text_free(&req);
	server_stop(s);
}
END_TEST

START_TEST(maxmemory_refuses_writes_only)
{
	const char *extra[] = { "maxmemory=1m", NULL };
	server_t *s = server_start(1, extra);
	size_t big_len = 2u << 20;
	char *big = malloc(big_len + 1);
	text_t req = { 0 }, want = { 0 };
	int fd = tn_connect(s->port);

	ck_assert_ptr_nonnull(big);
	memset(big, 'b', big_len);
	big[big_len] = '\0';
	CMD(&req, "SET", "small", "v");
	putf(&want, "+OK\r\n");
	/* Under the limit when it starts: allowed, as Redis allows it. */
	CMD(&req, "SET", "big", big);
	putf(&want, "+OK\r\n");
	CMD(&req, "SET", "small", "w");
	putf(&want, "-OOM command not allowed when used memory > "
	    "'maxmemory'.\r\n");
	CMD(&req, "APPEND", "small", "w");
	putf(&want, "-OOM command not allowed when used memory > "
	    "'maxmemory'.\r\n");
	CMD(&req, "GET", "small");
	bulk(&want, "v");
	CMD(&req, "DEL", "big");
	putf(&want, ":1\r\n");
	CMD(&req, "SET", "small", "w");
	putf(&want, "+OK\r\n");
	CMD(&req, "CONFIG", "GET", "maxmemory");
	putf(&want, "*2\r\n$9\r\nmaxmemory\r\n$7\r\n1048576\r\n");
	exchange(fd, &req, 8, &want, 0, "maxmemory");
	close(fd);
	free(big);
	text_free(&req);
	text_free(&want);
	server_stop(s);
}
END_TEST

/* ------------------------------------------------------------------------
 * Unload.
 */
START_TEST(unload_with_connections_open)
{
	server_t *s = server_start(2, NULL);
	text_t req = { 0 };
	char key[64];
	int fds[4];

	for (int i = 0; i < 2000; i++) {
		key_on(key, sizeof key, "u", i % 10, i % 2, 2);
		CMD(&req, "INCR", key);
	}
	for (int i = 0; i < 4; i++) {
		fds[i] = tn_connect(s->port);
		tn_send_all(fds[i], req.p, req.len, IO_MS);
	}
	ck_assert_int_eq(gnet_host_unload(s->host.h, s->m, UNLOAD_MS), 0);
	/* Each connection ends: EOF, or a reset where the peer still had
	 * commands unread when the socket closed (the kernel's rule). */
	for (int i = 0; i < 4; i++) {
		size_t extra = 0;
		int r = tn_wait_eof(fds[i], IO_MS, &extra);

		ck_assert_msg(r == 1 || r == -ECONNRESET, "connection %d did "
		    "not end: %d", i, r);
		close(fds[i]);
	}
	text_free(&req);
	server_stop(s);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("module_resp");
	TCase *tc = tcase_create("module_resp");

	tcase_set_timeout(tc, TCASE_TIMEOUT_S);
	tcase_add_test(tc, pipeline_mixing_shards_keeps_order);
	tcase_add_test(tc, multi_key_commands_gather_in_key_order);
	tcase_add_test(tc, info_sums_every_shard);
	tcase_add_test(tc, batches_end_and_resume_anywhere);
	tcase_add_test(tc, protocol_error_deep_in_a_pipeline);
	tcase_add_test(tc, command_over_query_buffer_limit_closes);
	tcase_add_test(tc, protocol_error_after_remote_commands);
	tcase_add_test(tc, quit_after_remote_commands);
	tcase_add_test(tc, owing_max_pending_pauses_reading);
	tcase_add_test(tc, close_with_commands_out);
	tcase_add_test(tc, maxmemory_refuses_writes_only);
	tcase_add_test(tc, unload_with_connections_open);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tn_run_suite(suite());
}
