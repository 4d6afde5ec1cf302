/*
 * check_gnetd.c -- integration suite "gnetd": the module host daemon
 * (BUILD/tools/gnetd) run as a child process with the shipped echo module
 * (BUILD/modules/echo.so), exactly as an operator runs it, and driven by
 * socat and raw sockets.
 *
 * Modules listen on port 0 and the test reads the ports from gnetd's
 * "gnetd: NAME listening on tcp://127.0.0.1:PORT" lines, so suites running
 * in parallel never fight over a port. Every wait has a deadline; children
 * die with the test process and the teardown kills any a failed test
 * left. A test that needs socat is skipped, with a message, only when
 * socat is not installed.
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gnet.h"
#include "support/child.h"
#include "support/gnetd_child.h"
#include "support/module_host.h"
#include "support/sockets.h"
#include "support/testnet.h"
#include "support/tmpdir.h"

#define TCASE_TIMEOUT_S 120
#define IO_MS 10000           /* one client exchange */
#define RUN_MS 20000          /* one gnetd run that ends by itself */
#define ECHO_BYTES (1024 * 1024)
/* A client that does not read sends this much at a time until more than
 * HOLD_MIN of its echo waits in gnetd. gnetd reads at most 64 KiB of a
 * connection per turn and flushes what it wrote at the turn's end, so at
 * most that much of what the test sees held can be on its way to the
 * socket; the rest is stuck behind the client's closed window. Both stay
 * far below the engine's high watermark (1 MiB), so gnetd never stops
 * reading the client... */
#define HOLD_CHUNK (64 * 1024)
#define HOLD_MIN (256 * 1024)
/* ...and at most this much: what the kernel's socket buffers take. */
#define HOLD_CAP (32 * 1024 * 1024)
#define CLIENT_RCVBUF 4096

static tn_tmpdir_t dir;
static char paths[8][PATH_MAX];
static int npaths;

static void
setup(void)
{
	tn_tmpdir_make(&dir, "gnetd");
	npaths = 0;
}

/* Remove what the test made in its folder, then the folder. */
static void
teardown(void)
{
	for (int i = npaths - 1; i >= 0; i--)
		if (unlink(paths[i]) != 0 && errno == EISDIR)
			rmdir(paths[i]);
	rmdir(dir.path);
}

/* dir/name, removed by the teardown. */
static const char *
tmp_path(const char *name)
{
	ck_assert(npaths < 8);
	tn_tmpdir_file(&dir, name, paths[npaths], sizeof paths[0]);
	return paths[npaths++];
}

static const char *
write_file(const char *name, const char *text)
{
	const char *path = tmp_path(name);
	FILE *f = fopen(path, "w");

	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	ck_assert(fputs(text, f) >= 0);
	ck_assert(fclose(f) == 0);
	return path;
}

/* The whole of a small file, NUL-terminated ("" when it is missing). */
static const char *
file_text(const char *path)
{
	static char buf[64 * 1024];
	FILE *f = fopen(path, "r");
	size_t n = 0;

	if (f != NULL) {
		n = fread(buf, 1, sizeof buf - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return buf;
}

static int
file_has(const char *path, const char *text)
{
	return strstr(file_text(path), text) != NULL;
}

static void
assert_exit(int status, int want, const char *what, const char *err)
{
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == want,
	    "%s: %s, want exit status %d; stderr:\n%s", what,
	    tn_describe_status(status), want, err);
}

/* "listen=tcp://127.0.0.1:PORT" in a static buffer. */
static const char *
listen_arg(int port)
{
	static char buf[8][48];
	static int next;
	char *b = buf[next++ % 8];

	snprintf(b, sizeof buf[0], "listen=tcp://127.0.0.1:%d", port);
	return b;
}

/* ------------------------------------------------------------------------
 * Clients.
 */

/* 1 MiB through a raw socket, checked byte for byte. */
static void
echo_mib(int port, uint64_t seed)
{
	uint8_t *payload = malloc(ECHO_BYTES);
	tn_client_t cl;
	int fd = tn_connect(port);

	ck_assert_msg(fd >= 0, "connect %d: %s", port, strerror(errno));
	ck_assert_ptr_nonnull(payload);
	tn_fill_random(payload, ECHO_BYTES, seed);
	tn_client_init(&cl, fd, payload, ECHO_BYTES, NULL, 0);
	ck_assert_msg(tn_pump(&cl, 1, IO_MS) == 0, "%s", tn_pump_error(&cl, 1));
	tn_close(&cl.fd);
	free(payload);
}

/* What socat gets back for "hello\n" (skipped without socat). */
static void
socat_hello(int port)
{
	tn_tool_run_t *t;
	char target[64];

	if (TN_SKIP_WITHOUT("socat", "gnetd echo via socat"))
		return;
	t = malloc(sizeof *t);
	ck_assert_ptr_nonnull(t);
	snprintf(target, sizeof target, "TCP:127.0.0.1:%d", port);
	const char *argv[] = { "socat", "-", target, NULL };
	tn_run_tool(t, argv, "hello\n", 0, IO_MS);
	tn_assert_tool_ok(t, "socat");
	ck_assert_str_eq(t->out, "hello\n");
	free(t);
}

/* The queues of the TCP socket bound to 127.0.0.1:local and connected to
 * port `remote`, as the kernel shows them in /proc/net/tcp: bytes sent and
 * not yet acknowledged (tx), bytes received and not yet read (rx).
 * Returns 1, or 0 when there is no such socket. */
static int
tcp_queues(int local, int remote, long *tx, long *rx)
{
	char line[512];
	unsigned laddr, lport, raddr, rport, st;
	unsigned long t, r;
	int found = 0;
	FILE *f = fopen("/proc/net/tcp", "r");

	ck_assert_msg(f != NULL, "/proc/net/tcp: %s", strerror(errno));
	while (!found && fgets(line, sizeof line, f) != NULL) {
		if (sscanf(line, " %*u: %8X:%4X %8X:%4X %2X %8lX:%8lX", &laddr,
		    &lport, &raddr, &rport, &st, &t, &r) == 7 &&
		    (int)lport == local && (int)rport == remote) {
			*tx = (long)t;
			*rx = (long)r;
			found = 1;
		}
	}
	fclose(f);
	return found;
}

/* Bytes of the echo still inside gnetd, once gnetd has read everything
 * the client sent (nothing unacknowledged on the client, nothing unread
 * on gnetd's socket); -1 until then. */
static long
echo_held_in_gnetd(int fd, int port, size_t sent, size_t read)
{
	int outq = -1, inq = -1, self = tn_sock_port(fd);
	long srv_tx, srv_rx;

	if (ioctl(fd, SIOCOUTQ, &outq) != 0 || outq != 0 ||
	    ioctl(fd, FIONREAD, &inq) != 0 ||
	    !tcp_queues(port, self, &srv_tx, &srv_rx) || srv_rx != 0)
		return -1;
	return (long)sent - (long)read - inq - srv_tx;
}

/* A client of echo that reads nothing, with a small receive buffer: it
 * sends buf a chunk at a time, each read by gnetd before the next, until
 * more than HOLD_MIN of the echo is held in gnetd -- which a stop must
 * then flush. Returns the socket; *sent and *held say how much. */
static int
connect_holding_client(int port, const uint8_t *buf, size_t *sent,
    long *held)
{
	int fd = tn_connect_rcvbuf(port, CLIENT_RCVBUF);

	ck_assert_msg(fd >= 0, "connect: %s", strerror(errno));
	for (*sent = 0, *held = 0; *held <= HOLD_MIN;) {
		ck_assert_msg(*sent + HOLD_CHUNK <= HOLD_CAP, "gnetd held only %ld "
		    "bytes of the echo of %zu", *held, *sent);
		ck_assert(tn_send_all(fd, buf + *sent, HOLD_CHUNK, IO_MS) ==
		    HOLD_CHUNK);
		*sent += HOLD_CHUNK;
		TN_WAIT_UNTIL((*held = echo_held_in_gnetd(fd, port, *sent, 0)) >= 0,
		    IO_MS);
		ck_assert_msg(*held >= 0, "gnetd did not read %zu bytes within %d "
		    "ms", *sent, IO_MS);
	}
	return fd;
}

/* Read until EOF: how many bytes, each checked against buf. Fails on a
 * reset: a stopping gnetd closes with FIN after its flush. */
static size_t
read_to_eof(int fd, const uint8_t *buf, size_t max)
{
	static uint8_t scratch[256 * 1024];
	size_t got = 0;
	int64_t deadline = tn_now_ms() + IO_MS;

	for (;;) {
		ssize_t r = recv(fd, scratch, sizeof scratch, MSG_DONTWAIT);
		if (r == 0)
			return got;
		if (r > 0) {
			ck_assert_msg(got + (size_t)r <= max, "more echoed than sent");
			ck_assert_msg(memcmp(scratch, buf + got, (size_t)r) == 0,
			    "echo differs near byte %zu", got + tn_first_diff(
			    scratch, buf + got, (size_t)r));
			got += (size_t)r;
			continue;
		}
		ck_assert_msg(errno == EAGAIN, "after %zu bytes: %s (want EOF)",
		    got, strerror(errno));
		ck_assert_msg(tn_now_ms() < deadline, "no EOF within %d ms (%zu "
		    "bytes)", IO_MS, got);
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		poll(&pfd, 1, 100);
	}
}

/* ------------------------------------------------------------------------
 * Serving.
 */

/* The brief's command line: modules from --loadmodule, two loops. */
START_TEST(test_echo_command_line)
{
	char echo[PATH_MAX], want[128];
	tn_gnetd_t g;

	tn_module_path("echo", echo, sizeof echo);
	tn_gnetd_start(&g, (const char *[]){ "--loops", "2", "--loadmodule",
	    echo, "listen=tcp://127.0.0.1:0", NULL });
	ck_assert_int_eq(g.nlisteners, 1);
	snprintf(want, sizeof want, "gnetd: echo listening on "
	    "tcp://127.0.0.1:%d", g.ports[0]);
	ck_assert_str_eq(g.lines[0], want);
	ck_assert_msg(strstr(g.ready, "1 module on 2 loops") != NULL, "%s",
	    g.ready);
	socat_hello(g.ports[0]);
	echo_mib(g.ports[0], 1);
	tn_gnetd_stop(&g, SIGTERM, 0);
}
END_TEST

/* One module loaded twice, each with its own port, both serving. */
START_TEST(test_module_twice)
{
	char echo[PATH_MAX];
	tn_gnetd_t g;

	tn_module_path("echo", echo, sizeof echo);
	tn_gnetd_start(&g, (const char *[]){ "--loadmodule", echo,
	    "listen=tcp://127.0.0.1:0", "--loadmodule", echo,
	    "listen=tcp://127.0.0.1:0", NULL });
	ck_assert_int_eq(g.nlisteners, 2);
	ck_assert_str_eq(g.names[0], "echo");
	ck_assert_str_eq(g.names[1], "echo");
	ck_assert_int_ne(g.ports[0], g.ports[1]);
	ck_assert_msg(strstr(g.ready, "2 modules") != NULL, "%s", g.ready);
	socat_hello(g.ports[0]);
	socat_hello(g.ports[1]);
	echo_mib(g.ports[0], 2);
	echo_mib(g.ports[1], 3);
	tn_gnetd_stop(&g, SIGINT, 0);
}
END_TEST

/* A config file, started from another working directory: its relative
 * paths (the module, the pidfile, the logfile) are the file's folder's;
 * an option on the command line overrides the file. */
START_TEST(test_config_file)
{
	char echo[PATH_MAX], conf[512], pid[32];
	tn_gnetd_t g;

	tn_module_path("echo", echo, sizeof echo);
	ck_assert(mkdir(tmp_path("mods"), 0700) == 0);
	ck_assert(symlink(echo, tmp_path("mods/echo.so")) == 0);
	const char *pidfile = tmp_path("gnetd.pid");
	const char *logfile = tmp_path("gnetd.log");
	snprintf(conf, sizeof conf,
	    "# gnetd under test\n"
	    "loops 2\n"
	    "loadmodule mods/echo.so \"listen=tcp://127.0.0.1:0\"\n"
	    "pidfile gnetd.pid\n"
	    "logfile gnetd.log\n"
	    "linger-ms 1000\n");
	const char *path = write_file("gnetd.conf", conf);
	ck_assert_str_ne(getcwd(conf, sizeof conf), dir.path);

	tn_gnetd_start(&g, (const char *[]){ path, "--loops", "1", NULL });
	ck_assert_msg(strstr(g.ready, "1 module on 1 loop,") != NULL, "%s",
	    g.ready);
	/* Written before the listening lines. */
	snprintf(pid, sizeof pid, "%ld\n", (long)g.pid);
	ck_assert_str_eq(file_text(pidfile), pid);
	ck_assert_msg(file_has(logfile, " info echo: loaded ("), "log:\n%s",
	    file_text(logfile));
	/* The log went to the file, not to stderr. */
	ck_assert_msg(strstr(tn_gnetd_stderr(&g), "loaded") == NULL, "stderr:\n%s",
	    tn_gnetd_stderr(&g));
	socat_hello(g.ports[0]);
	echo_mib(g.ports[0], 4);
	tn_gnetd_stop(&g, SIGTERM, 0);
	ck_assert_msg(!tn_path_exists(pidfile), "pidfile left after the stop");
	ck_assert_msg(file_has(logfile, " info gnetd: SIGTERM: stopping"),
	    "log:\n%s", file_text(logfile));
	ck_assert_msg(file_has(logfile, " info gnetd: stopped\n"), "log:\n%s",
	    file_text(logfile));
}
END_TEST

/* ------------------------------------------------------------------------
 * Stopping.
 */

/* SIGTERM drains: a connection's echo already in its socket arrives, one
 * whose echo is still held in gnetd gets all of it flushed, both end with
 * FIN (EOF, not a reset); then exit 0, no pidfile. */
START_TEST(test_sigterm_drains)
{
	char echo[PATH_MAX];
	const char *pidfile = tmp_path("gnetd.pid");
	uint8_t *payload = malloc(HOLD_CAP), hello[6];
	tn_gnetd_t g;
	int avail = 0;
	size_t sent;
	long held;

	ck_assert_ptr_nonnull(payload);
	tn_fill_random(payload, HOLD_CAP, 5);
	tn_module_path("echo", echo, sizeof echo);
	tn_gnetd_start(&g, (const char *[]){ "--pidfile", pidfile,
	    "--loadmodule", echo, "listen=tcp://127.0.0.1:0", NULL });
	ck_assert(tn_path_exists(pidfile));

	int small = tn_connect(g.ports[0]);
	ck_assert(small >= 0);
	ck_assert(tn_send_all(small, "hello\n", 6, IO_MS) == 6);
	TN_WAIT_UNTIL(ioctl(small, FIONREAD, &avail) == 0 && avail == 6, IO_MS);
	ck_assert_int_eq(avail, 6);
	int big = connect_holding_client(g.ports[0], payload, &sent, &held);

	ck_assert(kill(g.pid, SIGTERM) == 0);
	ck_assert(tn_read_exact(small, hello, 6, IO_MS) == 6);
	ck_assert(memcmp(hello, "hello\n", 6) == 0);
	ck_assert_int_eq(tn_wait_eof(small, IO_MS, NULL), 1);
	size_t got = read_to_eof(big, payload, sent);
	ck_assert_msg(got == sent, "%zu of %zu bytes echoed (%ld held in gnetd "
	    "at the stop)", got, sent, held);
	tn_gnetd_stop(&g, 0, 0); /* signal 0: already sent */
	ck_assert_msg(!tn_path_exists(pidfile), "pidfile left after the stop");
	tn_close(&small);
	tn_close(&big);
	free(payload);
}
END_TEST

/* A second SIGTERM while draining exits at once with status 1. */
START_TEST(test_second_sigterm)
{
	char echo[PATH_MAX];
	uint8_t *payload = malloc(HOLD_CAP);
	tn_gnetd_t g;
	size_t sent;
	long held;
	int st;

	ck_assert_ptr_nonnull(payload);
	tn_fill_random(payload, HOLD_CAP, 6);
	tn_module_path("echo", echo, sizeof echo);
	/* A minute of linger: only the second signal can end it in time. */
	tn_gnetd_start(&g, (const char *[]){ "--linger-ms", "60000",
	    "--loadmodule", echo, "listen=tcp://127.0.0.1:0", NULL });
	int fd = connect_holding_client(g.ports[0], payload, &sent, &held);

	ck_assert(kill(g.pid, SIGTERM) == 0);
	ck_assert_msg(tn_gnetd_wait_stderr(&g, "SIGTERM: stopping", IO_MS),
	    "stderr:\n%s", tn_gnetd_stderr(&g));
	ck_assert_msg(waitpid(g.pid, &st, WNOHANG) == 0, "gnetd ended its "
	    "drain with %ld bytes unread: %s", held, tn_describe_status(st));
	st = tn_gnetd_signal(&g, SIGTERM, TN_CHILD_STOP_MS);
	assert_exit(st, 1, "second SIGTERM", tn_gnetd_stderr(&g));
	ck_assert(strstr(tn_gnetd_stderr(&g), "SIGTERM again: exiting at once"));
	tn_close(&g.err);
	tn_close(&fd);
	free(payload);
}
END_TEST

/* SIGHUP reopens the logfile at its path, as after logrotate moved it. */
START_TEST(test_sighup_reopens_log)
{
	char echo[PATH_MAX];
	const char *logfile = tmp_path("gnetd.log");
	const char *rotated = tmp_path("gnetd.log.1");
	tn_gnetd_t g;

	tn_module_path("echo", echo, sizeof echo);
	tn_gnetd_start(&g, (const char *[]){ "--logfile", logfile,
	    "--loadmodule", echo, "listen=tcp://127.0.0.1:0", NULL });
	ck_assert(file_has(logfile, "info echo: loaded"));
	ck_assert(rename(logfile, rotated) == 0);
	ck_assert(kill(g.pid, SIGHUP) == 0);
	TN_WAIT_UNTIL(file_has(logfile, "info gnetd: SIGHUP: logfile reopened"),
	    IO_MS);
	ck_assert_msg(file_has(logfile, "info gnetd: SIGHUP: logfile reopened"),
	    "new log:\n%s", file_text(logfile));
	ck_assert(!file_has(rotated, "SIGHUP"));
	echo_mib(g.ports[0], 7); /* still serving */
	tn_gnetd_stop(&g, SIGTERM, 0);
	ck_assert(file_has(logfile, "info gnetd: stopped\n"));
	ck_assert(!file_has(rotated, "stopped"));
}
END_TEST

/* A pidfile naming a live process: refused before anything listens,
 * the file left alone. A stale one is replaced. */
START_TEST(test_pidfile)
{
	char echo[PATH_MAX], mine[32], text[64];
	const char *pidfile = tmp_path("gnetd.pid");
	tn_gnetd_run_t *r = malloc(sizeof *r);
	tn_gnetd_t g;
	pid_t dead;
	int st;

	ck_assert_ptr_nonnull(r);
	tn_module_path("echo", echo, sizeof echo);
	snprintf(mine, sizeof mine, "%ld\n", (long)getpid());
	write_file("gnetd.pid", mine);
	tn_gnetd_run(r, (const char *[]){ "--pidfile", pidfile, "--loadmodule",
	    echo, "listen=tcp://127.0.0.1:0", NULL }, RUN_MS);
	assert_exit(r->status, 71, "live pidfile", r->err);
	snprintf(text, sizeof text, "names process %ld, which is running",
	    (long)getpid());
	ck_assert_msg(strstr(r->err, text) != NULL, "stderr:\n%s", r->err);
	ck_assert_msg(strstr(r->out, "listening") == NULL, "stdout:\n%s", r->out);
	/* Refused before loading: no module bound a port to let go of. */
	ck_assert_msg(strstr(r->err, "loaded") == NULL, "stderr:\n%s", r->err);
	ck_assert_str_eq(file_text(pidfile), mine);

	/* A process that has exited and been reaped. */
	dead = fork();
	ck_assert(dead >= 0);
	if (dead == 0)
		_exit(0);
	ck_assert(waitpid(dead, &st, 0) == dead);
	snprintf(text, sizeof text, "%ld\n", (long)dead);
	write_file("gnetd.pid", text);
	tn_gnetd_start(&g, (const char *[]){ "--pidfile", pidfile,
	    "--loadmodule", echo, "listen=tcp://127.0.0.1:0", NULL });
	snprintf(text, sizeof text, "%ld\n", (long)g.pid);
	ck_assert_str_eq(file_text(pidfile), text);
	tn_gnetd_stop(&g, SIGTERM, 0);
	ck_assert(!tn_path_exists(pidfile));
	free(r);
}
END_TEST

/* ------------------------------------------------------------------------
 * Configuration errors and the other actions.
 */

START_TEST(test_config_error)
{
	tn_gnetd_run_t *r = malloc(sizeof *r);
	char want[PATH_MAX + 128];

	ck_assert_ptr_nonnull(r);
	const char *path = write_file("bad.conf", "# a mistake on line 3\n\n"
	    "loops x\nloadmodule echo.so\n");
	tn_gnetd_run(r, (const char *[]){ path, NULL }, RUN_MS);
	assert_exit(r->status, 78, "bad config", r->err);
	snprintf(want, sizeof want, "%s:3: loops: \"x\" is not a number from 1 "
	    "to 64 (or auto)\n", path);
	ck_assert_str_eq(r->err, want);
	ck_assert_str_eq(r->out, "");

	/* The same mistake on the command line is a usage error. */
	tn_gnetd_run(r, (const char *[]){ "--loops", "x", "--bogus", NULL },
	    RUN_MS);
	assert_exit(r->status, 64, "bad command line", r->err);
	ck_assert_str_eq(r->err, "command line: --loops: \"x\" is not a number "
	    "from 1 to 64 (or auto)\ncommand line: --bogus: unknown option\n"
	    "gnetd --help lists the options\n");
	free(r);
}
END_TEST

/* A check loads every module but binds nothing: a port in use is fine. */
START_TEST(test_check_config_ok)
{
	char echo[PATH_MAX], conf[PATH_MAX + 128];
	tn_gnetd_run_t *r = malloc(sizeof *r);
	int port, busy = tn_tcp_bound(1, 0, &port);

	ck_assert_ptr_nonnull(r);
	tn_module_path("echo", echo, sizeof echo);
	snprintf(conf, sizeof conf, "loadmodule %s %s\nloops auto\n", echo,
	    listen_arg(port));
	const char *path = write_file("gnetd.conf", conf);
	tn_gnetd_run(r, (const char *[]){ "--check-config", path, NULL },
	    RUN_MS);
	assert_exit(r->status, 0, "--check-config", r->err);
	ck_assert_str_eq(r->out, "configuration OK\n");
	ck_assert_str_eq(r->err, "");
	close(busy);
	free(r);
}
END_TEST

/* A check lists every module that does not load, each with its line. */
START_TEST(test_check_config_bad)
{
	char echo[PATH_MAX], conf[3 * PATH_MAX], want[2 * PATH_MAX];
	tn_gnetd_run_t *r = malloc(sizeof *r);

	ck_assert_ptr_nonnull(r);
	tn_module_path("echo", echo, sizeof echo);
	snprintf(conf, sizeof conf,
	    "loadmodule %s listen=bogus://x\n"
	    "loadmodule %s listen=tcp://127.0.0.1:0\n"
	    "loadmodule missing.so\n", echo, echo);
	const char *path = write_file("gnetd.conf", conf);
	tn_gnetd_run(r, (const char *[]){ "--check-config", path, NULL },
	    RUN_MS);
	assert_exit(r->status, 78, "--check-config", r->err);
	snprintf(want, sizeof want, "%s:1: loadmodule: module echo (%s): listen "
	    "bogus://x: %s\n%s:3: loadmodule: cannot load module %s/missing.so: "
	    "%s\n", path, echo, gnet_strerror(GNET_ESCHEME), path, dir.path,
	    strerror(ENOENT));
	ck_assert_str_eq(r->err, want);
	ck_assert_str_eq(r->out, "");
	free(r);
}
END_TEST

/* Serving stops before it starts when a module does not load: status 78
 * with the host's reason and where the module was named. */
START_TEST(test_module_load_failure)
{
	char echo[PATH_MAX], conf[3 * PATH_MAX], want[2 * PATH_MAX];
	tn_gnetd_run_t *r = malloc(sizeof *r);
	int port, busy = tn_tcp_bound(16, 0, &port);

	ck_assert_ptr_nonnull(r);
	tn_module_path("echo", echo, sizeof echo);
	tn_gnetd_run(r, (const char *[]){ "--loadmodule", echo, "nosuch=1",
	    NULL }, RUN_MS);
	assert_exit(r->status, 78, "unknown module option", r->err);
	snprintf(want, sizeof want, "command line: loadmodule: module echo (%s): "
	    "unknown option \"nosuch\" (see gnetd --help-module)\n", echo);
	/* Its last line: after the log's "starting". */
	ck_assert_msg(strlen(r->err) >= strlen(want) && strcmp(r->err +
	    strlen(r->err) - strlen(want), want) == 0, "stderr:\n%swant at its "
	    "end:\n%s", r->err, want);
	ck_assert_str_eq(r->out, "");

	/* The second module's port is taken: the first, listening already,
	 * must not be served either. */
	snprintf(conf, sizeof conf, "loadmodule %s listen=tcp://127.0.0.1:0\n"
	    "loadmodule %s %s\n", echo, echo, listen_arg(port));
	const char *path = write_file("gnetd.conf", conf);
	tn_gnetd_run(r, (const char *[]){ path, NULL }, RUN_MS);
	assert_exit(r->status, 78, "port in use", r->err);
	snprintf(want, sizeof want, "%s:2: loadmodule: module echo (%s): listen "
	    "tcp://127.0.0.1:%d: %s\n", path, echo, port,
	    gnet_strerror(GNET_EADDRINUSE));
	ck_assert_msg(strstr(r->err, want) != NULL, "stderr:\n%s\nwant:\n%s",
	    r->err, want);
	ck_assert_str_eq(r->out, "");
	close(busy);
	free(r);
}
END_TEST

START_TEST(test_help_module)
{
	char echo[PATH_MAX];
	tn_gnetd_run_t *r = malloc(sizeof *r);

	ck_assert_ptr_nonnull(r);
	tn_module_path("echo", echo, sizeof echo);
	tn_gnetd_run(r, (const char *[]){ "--help-module", echo, NULL }, RUN_MS);
	assert_exit(r->status, 0, "--help-module", r->err);
	ck_assert_str_eq(r->out, "module echo, options (name=value):\n"
	    "  listen=<string> (default tcp://127.0.0.1:9000)\n"
	    "      address to serve\n");

	tn_gnetd_run(r, (const char *[]){ "--help-module", "/nonexistent.so",
	    NULL }, RUN_MS);
	assert_exit(r->status, 78, "--help-module of no module", r->err);
	ck_assert_msg(strstr(r->err, "cannot load module /nonexistent.so") != NULL,
	    "stderr:\n%s", r->err);
	free(r);
}
END_TEST

START_TEST(test_help_version)
{
	tn_gnetd_run_t *r = malloc(sizeof *r);
	char want[64];

	ck_assert_ptr_nonnull(r);
	tn_gnetd_run(r, (const char *[]){ "--version", NULL }, RUN_MS);
	assert_exit(r->status, 0, "--version", r->err);
	snprintf(want, sizeof want, "gnetd %s\n", gnet_version_string());
	ck_assert_str_eq(r->out, want);

	tn_gnetd_run(r, (const char *[]){ "--help", NULL }, RUN_MS);
	assert_exit(r->status, 0, "--help", r->err);
	/* The exit statuses a service manager relies on are documented. */
	const char *const statuses[] = { "0 stopped cleanly", "64 bad command line",
		"70 the engine", "71 a system error", "78 bad config" };
	for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
		ck_assert_msg(strstr(r->out, statuses[i]) != NULL, "--help lacks "
		    "\"%s\":\n%s", statuses[i], r->out);

	tn_gnetd_run(r, (const char *[]){ NULL }, RUN_MS);
	assert_exit(r->status, 64, "no arguments", r->err);
	free(r);
}
END_TEST

/* tools/gnetd/gnetd.conf: every directive in it is valid; each module
 * loads, unless this build has not got it (the sample names the release
 * build's modules). */
START_TEST(test_sample_config)
{
	char sample[PATH_MAX];
	tn_gnetd_run_t *r = malloc(sizeof *r);

	ck_assert_ptr_nonnull(r);
	tn_build_path("../../tools/gnetd", "gnetd.conf", sample, sizeof sample);
	tn_gnetd_run(r, (const char *[]){ "--check-config", sample, NULL },
	    RUN_MS);
	if (WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0) {
		ck_assert_str_eq(r->out, "configuration OK\n");
	} else {
		assert_exit(r->status, 78, "sample config", r->err);
		/* Only missing modules, and they are missing indeed. */
		for (char *line = strtok(r->err, "\n"); line != NULL;
		    line = strtok(NULL, "\n")) {
			const char *so = strstr(line, ": loadmodule: cannot load "
			    "module ");
			ck_assert_msg(so != NULL, "sample config: %s", line);
			so += strlen(": loadmodule: cannot load module ");
			char path[PATH_MAX];
			snprintf(path, sizeof path, "%.*s",
			    (int)strcspn(so, ":"), so);
			ck_assert_msg(!tn_path_exists(path), "sample config: %s",
			    line);
			fprintf(stderr, "NOTE sample config: %s is not built\n",
			    path);
		}
	}
	free(r);
}
END_TEST

static Suite *
gnetd_suite(void)
{
	Suite *s = suite_create("gnetd");
	TCase *serve = tn_tcase("serve", TCASE_TIMEOUT_S);
	TCase *stop = tn_tcase("stop", TCASE_TIMEOUT_S);
	TCase *conf = tn_tcase("config", TCASE_TIMEOUT_S);

	tcase_add_checked_fixture(serve, setup, teardown);
	tcase_add_checked_fixture(serve, NULL, tn_kill_strays);
	tcase_add_test(serve, test_echo_command_line);
	tcase_add_test(serve, test_module_twice);
	tcase_add_test(serve, test_config_file);
	tcase_add_checked_fixture(stop, setup, teardown);
	tcase_add_checked_fixture(stop, NULL, tn_kill_strays);
	tcase_add_test(stop, test_sigterm_drains);
	tcase_add_test(stop, test_second_sigterm);
	tcase_add_test(stop, test_sighup_reopens_log);
	tcase_add_test(stop, test_pidfile);
	tcase_add_checked_fixture(conf, setup, teardown);
	tcase_add_checked_fixture(conf, NULL, tn_kill_strays);
	tcase_add_test(conf, test_config_error);
	tcase_add_test(conf, test_check_config_ok);
	tcase_add_test(conf, test_check_config_bad);
	tcase_add_test(conf, test_module_load_failure);
	tcase_add_test(conf, test_help_module);
	tcase_add_test(conf, test_help_version);
	tcase_add_test(conf, test_sample_config);
	suite_add_tcase(s, serve);
	suite_add_tcase(s, stop);
	suite_add_tcase(s, conf);
	return s;
}

int
main(void)
{
	return tn_run_child_suite(gnetd_suite());
}
