/*
 * check_redis_host -- gnet_redis.so inside Debian's redis-server: real
 * clients on the gnet port (redis-cli, redis-benchmark, curl on the HTTP
 * module hosted there), the AOF written from it, a BGSAVE child that must
 * not keep gnet's listener, MODULE UNLOAD and LOAD cycles that leave no
 * thread or descriptor behind, and SHUTDOWN NOSAVE with clients on.
 *
 * Under ASan and TSan the server runs with the sanitizer's runtime
 * preloaded (tests/support/redis_peer.c), so gnet's code is checked in
 * the real server.
 */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/sanitizer.h"
#include "support/child.h"
#include "support/redis_peer.h"
#include "support/sockets.h"
#include "support/testnet.h"

#define WAIT_MS 20000
#define BENCH_N "200000"

static tn_redis_t srv;
static char so[512], http_so[512];
static char gport[16], hport[16], nport[16];
static char gaddr[64], haddr[64];

static int
free_port(int from)
{
	for (int p = from; p < from + 2000; p++)
		if (tn_port_free(SOCK_STREAM, p))
			return p;
	ck_abort_msg("no free port");
	return -1;
}

static const char *const *
module_args(void)
{
	static const char *args[] = { "--appendonly", "yes",
	    "--enable-module-command", "yes",
	    "--auto-aof-rewrite-percentage", "0",
	    "--loadmodule", so, "loops", "2", "listen", gaddr,
	    "loadmodule", http_so, haddr, "keys=yes", NULL };

	return args;
}

static void
cli(tn_tool_run_t *t, const char *port, const char *const *words)
{
	const char *argv[32] = { "redis-cli", "-p", port };
	int n = 3;

	while (*words != NULL && n < 31)
		argv[n++] = *words++;
	argv[n] = NULL;
	tn_run_tool(t, argv, NULL, 1, WAIT_MS);
}

#define CLI(port, expect, ...) do {                                        \
	tn_tool_run_t t_;                                                  \
	cli(&t_, port, (const char *const[]){ __VA_ARGS__, NULL });        \
	ck_assert_msg(strstr(t_.out, expect) != NULL,                      \
	    "redis-cli -p %s %s: wanted \"%s\", got \"%s\"", port,         \
	    #__VA_ARGS__, expect, t_.out);                                 \
} while (0)

static void
await_gnet_port(void)
{
	int64_t deadline = tn_now_ms() + WAIT_MS;
	char reply[64];

	while (tn_now_ms() < deadline) {
		int fd = tn_connect(atoi(gport));
		if (fd >= 0) {
			ssize_t n = tn_resp_call(fd, 1, (const char *[]){ "PING" },
			    reply, sizeof reply, 2000);
			close(fd);
			if (n > 0 && strcmp(reply, "+PONG\r\n") == 0)
				return;
		}
		tn_nap();
	}
	ck_abort_msg("the gnet port never answered; log:\n%s",
	    tn_redis_log(&srv));
}

static int
skip(void)
{
	return !tn_redis_available("gnet_redis.so") ||
	    TN_SKIP_WITHOUT("redis-cli", "gnet_redis.so");
}

static void
start(void)
{
	tn_build_path("redis", "gnet_redis.so", so, sizeof so);
	tn_build_path("modules", "http.so", http_so, sizeof http_so);
	snprintf(gport, sizeof gport, "%d", free_port(
	    20000 + (int)(getpid() % 20000)));
	snprintf(hport, sizeof hport, "%d", free_port(atoi(gport) + 1));
	snprintf(gaddr, sizeof gaddr, "tcp://127.0.0.1:%s", gport);
	snprintf(haddr, sizeof haddr, "listen=tcp://127.0.0.1:%s", hport);
	tn_redis_start_with(&srv, module_args());
	snprintf(nport, sizeof nport, "%d", srv.port);
	await_gnet_port();
}

static void
no_crash_report(void)
{
	const char *log = tn_redis_log(&srv);

	ck_assert_msg(strstr(log, "BUG REPORT") == NULL &&
	    strstr(log, "crashed") == NULL, "redis-server log:\n%s", log);
	ck_assert_msg(strstr(log, "were not freed") == NULL, "log:\n%s", log);
}

/* Write all of buf to fd (blocking). */
static void
send_all(int fd, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, buf, n);
		ck_assert_msg(w > 0, "write: %s", strerror(errno));
		buf += w;
		n -= (size_t)w;
	}
}

static void
send_str(int fd, const char *s)
{
	send_all(fd, s, strlen(s));
}

START_TEST(clients_on_the_gnet_port)
{
	static const char bin[] = "a\0b\r\nc";
	size_t big = 10u << 20, cmd_len;
	tn_resp_in_t in = { 0 };
	char *cmd, head[128];
	int fd, h;

	if (skip())
		return;
	start();
	CLI(gport, "OK", "set", "k", "v");
	CLI(gport, "v", "get", "k");
	CLI(nport, "v", "get", "k");
	CLI(gport, "1", "incr", "n");
	CLI(gport, "2", "lpush", "l", "a", "b");
	CLI(gport, "b\na", "lrange", "l", "0", "-1");
	/* Errors: Redis's own, and the port's limits by name. */
	CLI(gport, "unknown command", "nosuchcommand");
	CLI(gport, "wrong number of arguments", "get");
	CLI(gport, "MULTI is not supported on a gnet port", "multi");
	CLI(gport, "BLPOP is not supported on a gnet port", "blpop", "l", "0");
	CLI(gport, "SUBSCRIBE is not supported on a gnet port", "subscribe", "c");
	CLI(gport, "WRONGTYPE", "get", "l");
	/* SELECT is the connection's. */
	CLI(gport, "OK", "-n", "3", "set", "in3", "x");
	CLI(nport, "x", "-n", "3", "get", "in3");
	CLI(nport, "", "get", "in3");
	CLI(gport, "out of range", "select", "99");
	/* AUTH maps to the ACL user. */
	CLI(nport, "OK", "acl", "setuser", "alice", "on", ">pw", "~*", "+@all");
	CLI(nport, "OK", "acl", "setuser", "bob", "on", ">pw2", "~*", "+@read");
	CLI(gport, "OK", "--user", "alice", "--pass", "pw", "set", "a", "1");
	CLI(gport, "NOPERM", "--user", "bob", "--pass", "pw2", "set", "b", "1");
	CLI(gport, "WRONGPASS", "--user", "bob", "--pass", "nope", "get", "a");

	/* Binary-safe: NUL, CR and LF inside a value. */
	fd = tn_connect(atoi(gport));
	ck_assert_int_ge(fd, 0);
	h = snprintf(head, sizeof head, "*3\r\n$3\r\nSET\r\n$3\r\nbin\r\n$%zu\r\n",
	    sizeof bin - 1);
	send_all(fd, head, (size_t)h);
	send_all(fd, bin, sizeof bin - 1);
	send_str(fd, "\r\n*2\r\n$3\r\nGET\r\n$3\r\nbin\r\n");
	ck_assert_int_eq(tn_resp_read(fd, 2, WAIT_MS, &in), 2);
	ck_assert(memcmp(in.buf, "+OK\r\n$6\r\n", 9) == 0);
	ck_assert(memcmp(in.buf + 9, bin, sizeof bin - 1) == 0);
	tn_resp_in_free(&in);

	/* Inline commands and multibulk ones mixed in one write: replies
	 * in order. */
	send_str(fd, "SET inl \"a b\"\r\nGET inl\r\n*2\r\n$3\r\nGET\r\n"
	    "$3\r\ninl\r\nINCR inlc\r\nINCR inlc\r\n");
	memset(&in, 0, sizeof in);
	ck_assert_int_eq(tn_resp_read(fd, 5, WAIT_MS, &in), 5);
	ck_assert_int_eq(in.len, strlen("+OK\r\n$3\r\na b\r\n$3\r\na b\r\n:1\r\n:2\r\n"));
	ck_assert(memcmp(in.buf, "+OK\r\n$3\r\na b\r\n$3\r\na b\r\n:1\r\n:2\r\n",
	    in.len) == 0);
	tn_resp_in_free(&in);

	/* A 10 MiB value, there and back. */
	cmd = malloc(big + 128);
	ck_assert_ptr_nonnull(cmd);
	cmd_len = (size_t)sprintf(cmd, "*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$%zu\r\n",
	    big);
	for (size_t i = 0; i < big; i++)
		cmd[cmd_len + i] = (char)('a' + i % 23);
	memcpy(cmd + cmd_len + big, "\r\n", 2);
	send_all(fd, cmd, cmd_len + big + 2);
	send_str(fd, "*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n");
	memset(&in, 0, sizeof in);
	ck_assert_int_eq(tn_resp_read(fd, 2, WAIT_MS, &in), 2);
	h = snprintf(head, sizeof head, "+OK\r\n$%zu\r\n", big);
	ck_assert(memcmp(in.buf, head, (size_t)h) == 0);
	ck_assert(memcmp(in.buf + h, cmd + cmd_len, big) == 0);
	tn_resp_in_free(&in);
	free(cmd);
	close(fd);
	CLI(nport, "10485760", "strlen", "big");
	no_crash_report();
	tn_redis_stop(&srv);
}
END_TEST

/* The AOF's incremental file, whole. */
static char *
read_aof(void)
{
	char dir[512], path[1024];
	struct dirent *e;
	char *buf = NULL;
	DIR *d;

	tn_tmpdir_file(&srv.dir, "appendonlydir", dir, sizeof dir);
	d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL) {
		FILE *f;
		long n;

		if (strstr(e->d_name, ".incr.aof") == NULL)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		f = fopen(path, "rb");
		ck_assert_ptr_nonnull(f);
		fseek(f, 0, SEEK_END);
		n = ftell(f);
		fseek(f, 0, SEEK_SET);
		buf = malloc((size_t)n + 1);
		ck_assert_ptr_nonnull(buf);
		ck_assert_int_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
		buf[n] = '\0';
		/* NULs of binary values would end the string early. */
		for (long i = 0; i < n; i++)
			if (buf[i] == '\0')
				buf[i] = ' ';
		fclose(f);
	}
	closedir(d);
	ck_assert_msg(buf != NULL, "no AOF file");
	return buf;
}

static int
count_of(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

START_TEST(benchmark_and_the_aof)
{
	const char *argv[] = { "redis-benchmark", "-p", gport, "-t",
	    "ping,set,get,incr,lpush,mset", "-P", "16", "-n", BENCH_N, "-q",
	    NULL };
	tn_tool_run_t t;
	int64_t deadline;
	char *aof = NULL;

	if (skip() || TN_SKIP_WITHOUT("redis-benchmark", "benchmark"))
		return;
	start();
	tn_run_tool(&t, argv, NULL, 1, 240000);
	ck_assert_msg(t.status == 0, "redis-benchmark: %s\n%s",
	    tn_describe_status(t.status), t.out);
	ck_assert_msg(strstr(t.out, "ERR") == NULL, "%s", t.out);
	CLI(gport, "OK", "set", "aof:marker", "from-gnet");
	/* Every write reached the AOF, each on its own. */
	deadline = tn_now_ms() + WAIT_MS;
	for (;;) {
		free(aof);
		aof = read_aof();
		if (strstr(aof, "aof:marker") != NULL || tn_now_ms() > deadline)
			break;
		tn_nap();
	}
	ck_assert_msg(strstr(aof, "aof:marker") != NULL, "marker not in AOF");
	ck_assert(strstr(aof, "key:__rand_int__") != NULL);
	ck_assert(strstr(aof, "counter:__rand_int__") != NULL);
	ck_assert(strstr(aof, "mylist") != NULL);
	/* Each write alone: no MULTI wrapped around them. */
	ck_assert_msg(count_of(aof, "MULTI") == 0 && count_of(aof, "EXEC") == 0,
	    "a MULTI/EXEC in the AOF (%d)", count_of(aof, "MULTI"));
	free(aof);
	/* The counters agree with what the benchmark sent. */
	CLI(nport, BENCH_N, "llen", "mylist");
	no_crash_report();
	tn_redis_stop(&srv);
}
END_TEST

/* The pid of srv's child (a BGSAVE), or 0. */
static pid_t
child_of(pid_t parent)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	pid_t found = 0;

	while (d != NULL && (e = readdir(d)) != NULL && found == 0) {
		char path[300], buf[512], *p;
		FILE *f;
		int ppid;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		if (fgets(buf, sizeof buf, f) != NULL &&
		    (p = strrchr(buf, ')')) != NULL &&
		    sscanf(p + 2, "%*c %d", &ppid) == 1 && ppid == parent)
			found = atoi(e->d_name);
		fclose(f);
	}
	if (d != NULL)
		closedir(d);
	return found;
}

/* The inode of the socket listening on 127.0.0.1:port (/proc/net/tcp). */
static unsigned long
listening_inode(int port)
{
	FILE *f = fopen("/proc/net/tcp", "r");
	char line[512];
	unsigned long ino = 0;

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof line, f) != NULL) {
		unsigned lport, st;
		unsigned long i;

		if (sscanf(line, " %*d: %*x:%x %*x:%*x %x %*s %*s %*s %*s %*s %lu",
		    &lport, &st, &i) == 3 && (int)lport == port && st == 0x0A)
			ino = i;
	}
	fclose(f);
	return ino;
}

static int
holds_inode(pid_t pid, unsigned long ino)
{
	char dir[64], path[600], link[64], want[64];
	struct dirent *e;
	int found = 0;
	DIR *d;

	snprintf(dir, sizeof dir, "/proc/%d/fd", (int)pid);
	snprintf(want, sizeof want, "socket:[%lu]", ino);
	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		ssize_t n;

		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		n = readlink(path, link, sizeof link - 1);
		if (n > 0) {
			link[n] = '\0';
			found |= strcmp(link, want) == 0;
		}
	}
	closedir(d);
	return found;
}

/* Entries of /proc/PID/what: the server must still be there. */
static int
count_entries(pid_t pid, const char *what)
{
	int n = tn_proc_count(pid, what);

	ck_assert_msg(n >= 0, "/proc/%d/%s: %s", (int)pid, what,
	    strerror(errno));
	return n;
}

#define CYCLES 6
/* What CYCLES - 1 load/unload cycles may add to the server's memory:
 * the allocator's caches settle, a leak of each cycle's engine (its
 * loops' rings and tables are megabytes) would not fit. */
#define CYCLE_RSS_SLACK_KIB 4096

START_TEST(bgsave_unload_load_and_shutdown)
{
	const char *load[16] = { "module", "load", so, "loops", "2", "listen",
	    gaddr, "loadmodule", http_so, haddr, "keys=yes" };
	unsigned long ino;
	int64_t deadline;
	int fds = 0, threads = 0, conn[3], st, i;
	long rss = 0;
	pid_t child = 0;
	char reply[64];

	if (skip())
		return;
	start();
	for (i = 0; i < 3; i++) {
		conn[i] = tn_connect(atoi(gport));
		ck_assert_int_ge(conn[i], 0);
	}
	/* A BGSAVE child that lives long enough to look at. */
	for (i = 0; i < 10; i++) {
		char key[16];
		snprintf(key, sizeof key, "bg%d", i);
		CLI(gport, "OK", "set", key, "v");
	}
	CLI(nport, "OK", "config", "set", "rdb-key-save-delay", "100000");
	CLI(nport, "Background saving started", "bgsave");
	deadline = tn_now_ms() + WAIT_MS;
	while ((child = child_of(srv.pid)) == 0 && tn_now_ms() < deadline)
		tn_nap();
	ck_assert_msg(child != 0, "no BGSAVE child");
	ino = listening_inode(atoi(gport));
	ck_assert_msg(ino != 0, "the gnet port is not listening");
	ck_assert_msg(holds_inode(srv.pid, ino), "the server lost its listener");
	ck_assert_msg(!holds_inode(child, ino),
	    "the BGSAVE child holds gnet's listening socket");
	/* gnet serves on while the child saves. */
	for (i = 0; i < 3; i++)
		ck_assert_int_gt(tn_resp_call(conn[i], 1, (const char *[]){ "PING" },
		    reply, sizeof reply, WAIT_MS), 0);
	CLI(nport, "OK", "config", "set", "rdb-key-save-delay", "0");
	for (i = 0; i < 3; i++)
		close(conn[i]);

	/* Clients that pipeline and leave without reading: their replies
	 * find the connections gone, and are freed all the same (the log
	 * would say "calls were not freed" at the unload). */
	for (i = 0; i < 20; i++) {
		int fd = tn_connect(atoi(gport));
		char burst[200 * 32];
		size_t n = 0;

		ck_assert_int_ge(fd, 0);
		for (int k = 0; k < 200; k++)
			n += (size_t)snprintf(burst + n, sizeof burst - n,
			    "SET gone%d %d\r\n", k, k);
		send_all(fd, burst, n);
		close(fd);
	}

	/* Unload and load again: the port goes and comes back; nothing is
	 * left behind across cycles. The first unload comes with a
	 * benchmark running against the port. */
	for (int cycle = 0; cycle < CYCLES; cycle++) {
		pid_t bench = 0;

		if (cycle == 0 && tn_have_tool("redis-benchmark")) {
			const char *bargs[] = { "-p", gport, "-t", "set,get",
			    "-P", "16", "-n", "100000000", "-q", NULL };
			int null = open("/dev/null", O_WRONLY);

			bench = tn_spawn_to("/usr/bin/redis-benchmark", bargs, null,
			    null);
			close(null);
			/* Under way: its key exists. */
			int64_t until = tn_now_ms() + WAIT_MS;
			tn_tool_run_t t;

			do {
				cli(&t, nport, (const char *const[]){ "exists",
				    "key:__rand_int__", NULL });
			} while (strstr(t.out, "1") == NULL &&
			    tn_now_ms() < until);
			ck_assert_msg(strstr(t.out, "1") != NULL,
			    "the benchmark never wrote");
		}
		CLI(nport, "OK", "module", "unload", "gnet");
		if (bench > 0) {
			int bst;
			kill(bench, SIGTERM);
			ck_assert(tn_reap(bench, &bst, WAIT_MS));
		}
		ck_assert_int_lt(tn_connect(atoi(gport)), 0);
		{
			tn_tool_run_t t;
			cli(&t, nport, load);
			ck_assert_msg(strstr(t.out, "OK") != NULL, "module load: "
			    "%s\n%s", t.out, tn_redis_log(&srv));
		}
		await_gnet_port();
		CLI(gport, "v", "get", "bg1");
		if (cycle == 0) {
			fds = count_entries(srv.pid, "fd");
			threads = count_entries(srv.pid, "task");
			rss = tn_rss_kb(srv.pid);
		}
	}
	/* The last client's socket may still be closing: wait (bounded) for
	 * the counts to settle back. */
	deadline = tn_now_ms() + WAIT_MS;
	while ((count_entries(srv.pid, "fd") > fds ||
	    count_entries(srv.pid, "task") > threads) && tn_now_ms() < deadline)
		tn_nap();
	ck_assert_int_le(count_entries(srv.pid, "fd"), fds);
	ck_assert_int_le(count_entries(srv.pid, "task"), threads);
	ck_assert_msg(tn_rss_kb(srv.pid) - rss < CYCLE_RSS_SLACK_KIB,
	    "%d cycles grew the server from %ld to %ld KiB", CYCLES - 1, rss,
	    tn_rss_kb(srv.pid));

	/* SHUTDOWN NOSAVE with clients on: a clean exit. */
	for (i = 0; i < 3; i++)
		conn[i] = tn_connect(atoi(gport));
	CLI(nport, "", "shutdown", "nosave");
	ck_assert_msg(tn_reap(srv.pid, &st, WAIT_MS), "no exit after SHUTDOWN");
	srv.pid = 0;
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s\n%s",
	    tn_describe_status(st), tn_redis_log(&srv));
	for (i = 0; i < 3; i++)
		if (conn[i] >= 0)
			close(conn[i]);
	no_crash_report();
	tn_redis_stop(&srv);
}
END_TEST

START_TEST(http_module_reads_the_keyspace)
{
	tn_tool_run_t t;
	char url[128];

	if (skip() || TN_SKIP_WITHOUT("curl", "http"))
		return;
	start();
	CLI(gport, "OK", "set", "greeting", "hello over resp");
	snprintf(url, sizeof url, "http://127.0.0.1:%s/keys/greeting", hport);
	tn_run_tool(&t, (const char *[]){ "curl", "-s", "-i", url, NULL }, NULL,
	    0, WAIT_MS);
	ck_assert_msg(strstr(t.out, "200 OK") != NULL &&
	    strstr(t.out, "\r\n\r\nhello over resp") != NULL, "%s", t.out);
	snprintf(url, sizeof url, "http://127.0.0.1:%s/keys/nothing", hport);
	tn_run_tool(&t, (const char *[]){ "curl", "-s", "-o", "/dev/null",
	    "-w", "%{http_code}", url, NULL }, NULL, 0, WAIT_MS);
	ck_assert_str_eq(t.out, "404");
	no_crash_report();
	tn_redis_stop(&srv);
}
END_TEST

/* Writes from the gnet port reach a replica; a read-only replica's gnet
 * port refuses writes as the replica does. */
START_TEST(replication)
{
	tn_redis_t rep;
	char rport[16], r_gport[16], r_gaddr[64];
	const char *args[] = { "--replicaof", "127.0.0.1", nport,
	    "--loadmodule", so, "loops", "1", "listen", r_gaddr, NULL };
	int64_t deadline;
	tn_tool_run_t t;

	if (skip())
		return;
	start();
	snprintf(r_gport, sizeof r_gport, "%d", free_port(atoi(hport) + 1));
	snprintf(r_gaddr, sizeof r_gaddr, "tcp://127.0.0.1:%s", r_gport);
	tn_redis_start_with(&rep, args);
	snprintf(rport, sizeof rport, "%d", rep.port);
	CLI(gport, "OK", "set", "replicated", "yes");
	CLI(gport, "3", "rpush", "rlist", "a", "b", "c");
	deadline = tn_now_ms() + WAIT_MS;
	do {
		cli(&t, rport, (const char *const[]){ "lrange", "rlist", "0", "-1",
		    NULL });
		if (strstr(t.out, "a\nb\nc") != NULL)
			break;
		tn_nap();
	} while (tn_now_ms() < deadline);
	ck_assert_msg(strstr(t.out, "a\nb\nc") != NULL, "replica: %s", t.out);
	CLI(rport, "yes", "get", "replicated");
	CLI(r_gport, "yes", "get", "replicated");
	CLI(r_gport, "READONLY", "set", "replicated", "no");
	CLI(rport, "yes", "get", "replicated");
	tn_redis_stop(&rep);
	no_crash_report();
	tn_redis_stop(&srv);
}
END_TEST

START_TEST(gnetd_refuses_a_module_that_needs_redis)
{
	char gnetd[512];
	tn_tool_run_t t;

	tn_build_path("modules", "http.so", http_so, sizeof http_so);
	tn_build_path("tools", "gnetd", gnetd, sizeof gnetd);
	tn_run_tool(&t, (const char *[]){ gnetd, "--check-config",
	    "--loadmodule", http_so, "keys=yes", NULL }, NULL, 1, WAIT_MS);
	ck_assert_msg(WIFEXITED(t.status) && WEXITSTATUS(t.status) == 78,
	    "%s: %s", tn_describe_status(t.status), t.out);
	ck_assert_msg(strstr(t.out, "needs GnetModule_RedisCall") != NULL, "%s",
	    t.out);
}
END_TEST

static Suite *
redis_host_suite(void)
{
	Suite *s = suite_create("redis_host");
	TCase *tc = tn_tcase("redis_host", 300);

	tcase_add_test(tc, clients_on_the_gnet_port);
	tcase_add_test(tc, benchmark_and_the_aof);
	tcase_add_test(tc, bgsave_unload_load_and_shutdown);
	tcase_add_test(tc, http_module_reads_the_keyspace);
	tcase_add_test(tc, replication);
	tcase_add_test(tc, gnetd_refuses_a_module_that_needs_redis);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tn_run_child_suite(redis_host_suite());
}
