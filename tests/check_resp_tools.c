/*
 * check_resp_tools.c -- suite "resp_tools": Redis's own clients against
 * a RESP server: redis-cli one-shot, fed through stdin, and --pipe mass
 * insert; redis-benchmark pipelined and not. Each tool's result is
 * judged by what it printed and by what it left in the keyspace.
 *
 * Every test runs on each server of `specs` (support/resp_server.h):
 * redis-server first, which proves the tests themselves, then gnetd with
 * the resp module on 1 and 2 loops, skipped (saying so) until
 * BUILD/modules/resp.so exists. A test whose tool is not installed is
 * skipped with a message. Tools run as children with a deadline
 * (tn_run_tool kills one that overruns and fails the test).
 *
 * What the clients need of a server, learnt from running them against
 * redis-server 7.0: redis-cli sends COMMAND DOCS first (any reply does);
 * --pipe ends with an ECHO of 20 random bytes and waits for it;
 * redis-benchmark asks CONFIG GET save and CONFIG GET appendonly at
 * start and hangs unanswered. With -t ... it writes key:__rand_int__
 * (SET, MSET), counter:__rand_int__ (INCR: n times), mylist (LPUSH and
 * RPUSH n each, LPOP and RPOP n each, n more for LRANGE: n left),
 * myhash (one field) and myset (SADD of one member, then SPOP: empty).
 *
 *   make build/release/tests/check_resp_tools && build/release/tests/check_resp_tools
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support/child.h"
#include "support/redis_peer.h"
#include "support/resp_server.h"
#include "support/testnet.h"
#include "support/tmpdir.h"

#define TCASE_TIMEOUT_S 300
#define CLI_MS 10000             /* one redis-cli run */
#define PIPE_MS 60000            /* 100,000 SETs through --pipe */
#define BENCH_MS 120000          /* one redis-benchmark run (ASan: slow) */
#define CALL_MS 5000
#define PIPE_KEYS 100000
#define BENCH_N_PIPELINED 20000  /* -P 16: seconds even on 2 shared cores */
#define BENCH_N_SINGLE 5000      /* -P 1: one round trip a request */
#define BENCH_TESTS "ping,set,get,incr,lpush,rpush,lpop,rpop,sadd,hset," \
	"spop,lrange,mset"

static const char *const specs[] = { "redis", "gnetd:1", "gnetd:2" };
#define NSPECS ((int)(sizeof specs / sizeof specs[0]))

static tn_resp_server_t srv;
static char port[16];

/* Start the server of this iteration; 0 when it is skipped. */
static int
start(int i, const char *tool)
{
	if (TN_SKIP_WITHOUT(tool, specs[i]))
		return 0;
	if (!tn_resp_server_start(&srv, specs[i]))
		return 0;
	snprintf(port, sizeof port, "%d", srv.port);
	return 1;
}

/* One command on a fresh connection; its reply, NUL-terminated. */
static const char *
call(int argc, const char *const *argv)
{
	static char reply[4096];
	int fd = tn_connect(srv.port);

	ck_assert_msg(fd >= 0, "connect: %s", strerror(errno));
	ck_assert_msg(tn_resp_call(fd, argc, argv, reply, sizeof reply,
	    CALL_MS) > 0, "%s: no reply", argv[0]);
	close(fd);
	return reply;
}

#define CALL(...) \
	call((int)(sizeof (const char *[]){ __VA_ARGS__ } / sizeof(char *)), \
	    (const char *[]){ __VA_ARGS__ })

static void
cli(tn_tool_run_t *t, const char *cmd, const char *arg1, const char *arg2,
    const char *want)
{
	const char *argv[] = { "redis-cli", "-p", port, cmd, arg1, arg2, NULL };

	tn_run_tool(t, argv, NULL, 1, CLI_MS);
	tn_assert_tool_ok(t, cmd);
	ck_assert_msg(strcmp(t->out, want) == 0, "redis-cli %s on %s: "
	    "\"%s\", want \"%s\"", cmd, srv.spec, t->out, want);
}

START_TEST(redis_cli_one_shot)
{
	static tn_tool_run_t t;

	if (!start(_i, "redis-cli"))
		return;
	cli(&t, "ping", NULL, NULL, "PONG\n");
	cli(&t, "set", "a", "b", "OK\n");
	cli(&t, "get", "a", NULL, "b\n");
	cli(&t, "get", "nosuchkey", NULL, "\n");
	ck_assert_str_eq(CALL("GET", "a"), "$1\r\nb\r\n");
	tn_resp_server_stop(&srv);
}
END_TEST

/* A session on stdin: what redis-cli does at a terminal (COMMAND DOCS
 * first, then a command a line) with the replies printed raw; an error
 * is followed by an empty line. */
START_TEST(redis_cli_stdin_session)
{
	static tn_tool_run_t t;
	const char *argv[] = { "redis-cli", "-p", port, NULL };

	if (!start(_i, "redis-cli"))
		return;
	tn_run_tool(&t, argv, "set x 1\nincr x\nget x\nlpush l a b\n"
	    "lrange l 0 -1\nincr l\n", 1, CLI_MS);
	tn_assert_tool_ok(&t, "redis-cli session");
	ck_assert_msg(strcmp(t.out, "OK\n2\n2\n2\nb\na\nWRONGTYPE Operation "
	    "against a key holding the wrong kind of value\n\n") == 0,
	    "session printed:\n%s", t.out);
	ck_assert_str_eq(CALL("GET", "x"), "$1\r\n2\r\n");
	tn_resp_server_stop(&srv);
}
END_TEST

/* 100,000 SETs as RESP in a file, through --pipe, which ends with an
 * ECHO of 20 random bytes and waits for it. */
START_TEST(redis_cli_pipe_mass_insert)
{
	static tn_tool_run_t t;
	tn_tmpdir_t dir;
	char path[128], sh[256], want[64];

	if (!start(_i, "redis-cli"))
		return;
	tn_tmpdir_make(&dir, "resp-pipe");
	tn_tmpdir_file(&dir, "mass.resp", path, sizeof path);
	FILE *f = fopen(path, "w");
	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	for (int i = 0; i < PIPE_KEYS; i++) {
		char k[32], v[32];
		int kn = snprintf(k, sizeof k, "key:%d", i);
		int vn = snprintf(v, sizeof v, "value:%d", i);
		fprintf(f, "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", kn,
		    k, vn, v);
	}
	ck_assert(fclose(f) == 0);
	snprintf(sh, sizeof sh, "exec redis-cli -p %s --pipe < %s", port, path);
	tn_run_tool(&t, (const char *[]){ "sh", "-c", sh, NULL }, NULL, 1,
	    PIPE_MS);
	unlink(path);
	tn_tmpdir_remove(&dir);
	tn_assert_tool_ok(&t, "redis-cli --pipe");
	snprintf(want, sizeof want, "errors: 0, replies: %d", PIPE_KEYS);
	ck_assert_msg(strstr(t.out, want) != NULL, "--pipe printed:\n%s",
	    t.out);
	snprintf(want, sizeof want, ":%d\r\n", PIPE_KEYS);
	ck_assert_str_eq(CALL("DBSIZE"), want);
	ck_assert_str_eq(CALL("GET", "key:0"), "$7\r\nvalue:0\r\n");
	ck_assert_str_eq(CALL("GET", "key:99999"), "$11\r\nvalue:99999\r\n");
	tn_resp_server_stop(&srv);
}
END_TEST

/* What redis-benchmark -q prints for each test of BENCH_TESTS. */
static const char *const bench_lines[] = {
	"PING_INLINE: ", "PING_MBULK: ", "SET: ", "GET: ", "INCR: ",
	"LPUSH: ", "RPUSH: ", "LPOP: ", "RPOP: ", "SADD: ", "HSET: ",
	"SPOP: ", "LRANGE_100 (first 100 elements): ",
	"LRANGE_300 (first 300 elements): ",
	"LRANGE_500 (first 500 elements): ",
	"LRANGE_600 (first 600 elements): ", "MSET (10 keys): ",
};

/* Its final line for a test (progress lines end in \r, not \n). */
static int
bench_reported(const char *out, const char *test)
{
	for (const char *p = out; (p = strstr(p, test)) != NULL; p++) {
		const char *nl = strchr(p, '\n'), *rps;
		if ((p == out || p[-1] == '\n' || p[-1] == '\r') &&
		    (rps = strstr(p, " requests per second")) != NULL &&
		    (nl == NULL || rps < nl))
			return 1;
	}
	return 0;
}

static void
benchmark(int pipeline, int n)
{
	static tn_tool_run_t t;
	char np[16], nn[16], want[32];
	const char *argv[] = { "redis-benchmark", "-p", port, "-t",
		BENCH_TESTS, "-n", nn, "-c", "50", "-P", np, "-q", NULL };

	snprintf(np, sizeof np, "%d", pipeline);
	snprintf(nn, sizeof nn, "%d", n);
	ck_assert_str_eq(CALL("FLUSHALL"), "+OK\r\n");
	tn_run_tool(&t, argv, NULL, 1, BENCH_MS);
	tn_assert_tool_ok(&t, "redis-benchmark");
	ck_assert_msg(strstr(t.out, "rror") == NULL && strstr(t.out, "ERR")
	    == NULL, "redis-benchmark -P %d printed an error:\n%s", pipeline,
	    t.out);
	for (size_t i = 0; i < sizeof bench_lines / sizeof bench_lines[0]; i++)
		ck_assert_msg(bench_reported(t.out, bench_lines[i]),
		    "redis-benchmark -P %d: no result for %s; output:\n%s",
		    pipeline, bench_lines[i], t.out);
	/* What it wrote is there. */
	ck_assert_str_eq(CALL("EXISTS", "key:__rand_int__",
	    "counter:__rand_int__", "mylist", "myhash"), ":4\r\n");
	snprintf(want, sizeof want, "$%zu\r\n%d\r\n", strlen(nn), n);
	ck_assert_str_eq(CALL("GET", "counter:__rand_int__"), want);
	snprintf(want, sizeof want, ":%d\r\n", n);
	ck_assert_str_eq(CALL("LLEN", "mylist"), want);
	ck_assert_str_eq(CALL("HLEN", "myhash"), ":1\r\n");
	ck_assert_str_eq(CALL("HGET", "myhash", "element:__rand_int__"),
	    "$3\r\nVXK\r\n");
	ck_assert_str_eq(CALL("EXISTS", "myset"), ":0\r\n");
	ck_assert_str_eq(CALL("STRLEN", "key:__rand_int__"), ":3\r\n");
	ck_assert_str_eq(CALL("DBSIZE"), ":4\r\n");
}

START_TEST(redis_benchmark_pipelined)
{
	if (!start(_i, "redis-benchmark"))
		return;
	benchmark(16, BENCH_N_PIPELINED);
	tn_resp_server_stop(&srv);
}
END_TEST

START_TEST(redis_benchmark_one_at_a_time)
{
	if (!start(_i, "redis-benchmark"))
		return;
	benchmark(1, BENCH_N_SINGLE);
	tn_resp_server_stop(&srv);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("resp_tools");
	TCase *tc = tn_tcase("tools", TCASE_TIMEOUT_S);

	tcase_add_checked_fixture(tc, NULL, tn_kill_strays);
	tcase_add_loop_test(tc, redis_cli_one_shot, 0, NSPECS);
	tcase_add_loop_test(tc, redis_cli_stdin_session, 0, NSPECS);
	tcase_add_loop_test(tc, redis_cli_pipe_mass_insert, 0, NSPECS);
	tcase_add_loop_test(tc, redis_benchmark_pipelined, 0, NSPECS);
	tcase_add_loop_test(tc, redis_benchmark_one_at_a_time, 0, NSPECS);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tn_run_child_suite(suite());
}
