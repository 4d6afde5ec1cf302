/*
 * check_gnet_top.c -- integration suite "gnet_top": the inspector
 * (BUILD/tools/gnet-top) run as a child against real engines, as a person
 * or a script runs it.
 *
 * Two kinds of engine are watched: gnetd with the echo module (a child
 * process, as an operator runs it), and a probe engine inside the test
 * process whose handler can be told to stall (block its loop until the
 * test releases it) or to hold what a client sends unconsumed (buffered
 * bytes on one connection and not another). gnet-top attaches by pid, so
 * engines of other suites or people never get in the way.
 *
 * Output is checked as text: JSON is parsed by a syntax check
 * (support/json_check) and its fields found in gnet-top's compact output;
 * the screen is driven in a tmux pane (support/tmux_pane) by its keys.
 * Every wait polls a condition with a deadline. The screen tests are
 * skipped, with a message, only when tmux is not installed.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gnet.h"
#include "support/child.h"
#include "support/gnetd_child.h"
#include "support/json_check.h"
#include "support/module_host.h"
#include "support/sockets.h"
#include "support/testnet.h"
#include "support/tmpdir.h"
#include "support/tmux_pane.h"

#define TCASE_TIMEOUT_S 120
#define RUN_MS 20000            /* one gnet-top run that ends by itself */
#define WAIT_MS 20000           /* a screen or an engine to show a change */
#define IO_MS 10000
#define OUT_CAP (512 * 1024)
#define MAX_ARGS 24
#define STALL_BOUND_MS 30000    /* a stalled handler gives up by itself */
#define HOLD_BYTES 4096         /* held unconsumed: "4.0K" on the screen */
#define PANE_COLS 220
#define PANE_ROWS 50
#define LINE_CAP 1024           /* one line of gnet-top's output */

/* ------------------------------------------------------------------------
 * gnet-top as a child.
 */
typedef struct top_run {
	int status;
	char out[OUT_CAP];
	char err[OUT_CAP];
} top_run_t;

static void
top_path(char *out, size_t cap)
{
	tn_build_path("tools", "gnet-top", out, cap);
}


/* Fork gnet-top with args; stdout and stderr to out and err. */
static pid_t
top_spawn(const char *const *args, int out, int err)
{
	char path[PATH_MAX];

	top_path(path, sizeof path);
	return tn_spawn_to(path, args, out, err);
}


/* Run gnet-top with args to its end (within RUN_MS). */
static top_run_t *
top_run(const char *const *args)
{
	top_run_t *r = malloc(sizeof *r);
	int out = tn_memory_file("top-out"), err = tn_memory_file("top-err");
	pid_t pid;

	ck_assert(r != NULL);
	pid = top_spawn(args, out, err);
	if (!tn_reap(pid, &r->status, RUN_MS)) {
		kill(pid, SIGKILL);
		tn_reap(pid, &r->status, TN_CHILD_STOP_MS);
		tn_memory_read(err, r->err, sizeof r->err);
		ck_abort_msg("gnet-top did not finish within %d ms; stderr:\n%s",
		    RUN_MS, r->err);
	}
	tn_memory_read(out, r->out, sizeof r->out);
	tn_memory_read(err, r->err, sizeof r->err);
	close(out);
	close(err);
	return r;
}

/* Run gnet-top with args until its output holds needle (actor rows are
 * published a stats interval after activity) or WAIT_MS passed; each run
 * must exit 0. Returns the last run. */
static top_run_t *
top_run_until(const char *const *args, const char *needle)
{
	int64_t deadline = tn_now_ms() + WAIT_MS;
	top_run_t *r = NULL;

	do {
		free(r);
		r = top_run(args);
		ck_assert_msg(WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0,
		    "gnet-top %s: %s; stderr:\n%s", args[0],
		    tn_describe_status(r->status), r->err);
	} while (strstr(r->out, needle) == NULL && tn_now_ms() < deadline);
	return r;
}

static void
assert_status(const top_run_t *r, int want, const char *what)
{
	ck_assert_msg(WIFEXITED(r->status) && WEXITSTATUS(r->status) == want,
	    "%s: %s (want exit status %d); stdout:\n%.2000s\nstderr:\n%s", what,
	    tn_describe_status(r->status), want, r->out, r->err);
}

static void
assert_has(const char *text, const char *want, const char *what)
{
	ck_assert_msg(strstr(text, want) != NULL, "%s: no \"%s\" in:\n%.4000s",
	    what, want, text);
}

/* Every line of out is one valid JSON value; returns how many lines. */
static int
json_lines(const char *out)
{
	char err[160];
	int n = 0;

	for (const char *p = out; *p != '\0';) {
		const char *nl = strchr(p, '\n');

		ck_assert_msg(nl != NULL, "JSON line %d has no newline", n + 1);
		ck_assert_msg(tn_json_valid(p, (size_t)(nl - p), err, sizeof err),
		    "JSON line %d: %s:\n%.*s", n + 1, err, (int)(nl - p), p);
		n++;
		p = nl + 1;
	}
	return n;
}

/* The line of text holding needle, 0-based, or -1. */
static int
line_of(const char *text, const char *needle)
{
	return tn_screen_row(text, needle);
}

static void
pid_arg(char *buf, size_t cap, pid_t pid)
{
	snprintf(buf, cap, "%ld", (long)pid);
}

/* ------------------------------------------------------------------------
 * gnetd with the echo module on 2 loops.
 */
static void
gnetd_start(tn_gnetd_t *g, char *pid, size_t cap)
{
	char echo[PATH_MAX];

	tn_module_path("echo", echo, sizeof echo);
	const char *args[] = { "--loops", "2", "--loadmodule", echo,
		"listen=tcp://127.0.0.1:0", NULL };
	tn_gnetd_start(g, args);
	pid_arg(pid, cap, g->pid);
}

/* ------------------------------------------------------------------------
 * The probe: an engine in this process. A client's first byte says what
 * its connection does: 'S' stalls the loop (until released), 'H' holds
 * everything it receives unconsumed, anything else is echoed. It counts
 * echoes and holds in a counter section of its own, "probe", as a
 * module would.
 */
typedef struct probe {
	tn_server_t srv;
	int started;
	atomic_int stalls;      /* handlers that entered a stall */
	atomic_int stalls_done; /* ... and returned */
	atomic_int release;
	gnet_counters_t *counters; /* section "probe": echoes, holds */
	tn_tmpdir_t dir;        /* for a unix listener, when there is one */
	char sock[108];
	int fds[4];
	int nfds;
} probe_t;

static probe_t probe;

static void
stall(void)
{
	int64_t deadline = tn_now_ms() + STALL_BOUND_MS;

	atomic_fetch_add(&probe.stalls, 1);
	while (!atomic_load(&probe.release) && tn_now_ms() < deadline)
		tn_nap();
	atomic_fetch_add(&probe.stalls_done, 1);
}

static void
probe_count(gnet_conn_t *c, int counter)
{
	uint64_t *row = gnet_counters_row(probe.counters,
	    gnet_conn_loop_index(c));

	if (row != NULL)
		GNET_COUNTER_ADD(row, counter, 1);
}

static gnet_action_t
probe_traffic(gnet_conn_t *c, void *udata)
{
	const void *data;
	size_t n = gnet_conn_peek(c, &data);

	(void)udata;
	if (n == 0)
		return GNET_NONE;
	if (((const char *)data)[0] == 'H') {
		probe_count(c, 1);
		return GNET_NONE;       /* held: counted in in_bytes */
	}
	if (((const char *)data)[0] == 'S') {
		stall();
	} else {
		gnet_conn_write(c, data, n);
		probe_count(c, 0);
	}
	gnet_conn_discard(c, n);
	return GNET_NONE;
}

static void
probe_setup(void)
{
	memset(&probe, 0, sizeof probe);
	for (int i = 0; i < 4; i++)
		probe.fds[i] = -1;
}

/* The probe on tcp://127.0.0.1:0 (listener 0), and on unix://unix_path
 * too unless it is NULL. */
static void
probe_start_at(int loops, const char *unix_path)
{
	static const gnet_events_t ev = {
		.size = sizeof ev,
		.on_traffic = probe_traffic,
	};
	gnet_options_t opts = {
		.size = sizeof opts,
		.num_loops = loops,
		.name = "gnet-top-probe",
		/* Actor rows follow activity within 50 ms, not a second. */
		.stats_interval_ms = 50,
	};

	static const char *const names[] = { "echoes", "holds" };

	tn_server_new(&probe.srv, &ev, &opts, &probe);
	ck_assert_int_eq(gnet_counters_new(probe.srv.eng, "probe", names, 2,
	    &probe.counters), 0);
	tn_server_listen(&probe.srv, "tcp://127.0.0.1:0");
	if (unix_path != NULL) {
		char addr[160];

		snprintf(addr, sizeof addr, "unix://%s", unix_path);
		tn_server_listen(&probe.srv, addr);
	}
	tn_server_run(&probe.srv);
	probe.started = 1;      /* from here on the teardown stops it */
}

static void
probe_start(int loops)
{
	probe_start_at(loops, NULL);
}

/* A client of the probe that has been echoed "x": open and served. */
static int
probe_client(void)
{
	char c = 0;
	int fd = tn_connect(probe.srv.port);

	ck_assert_msg(fd >= 0, "connect: %s", strerror(errno));
	ck_assert(probe.nfds < 4);
	probe.fds[probe.nfds++] = fd;
	ck_assert(tn_send_all(fd, "x", 1, IO_MS) == 1);
	ck_assert(tn_read_exact(fd, &c, 1, IO_MS) == 1 && c == 'x');
	return fd;
}

static void
probe_hold(int fd)
{
	char buf[HOLD_BYTES];

	memset(buf, 'h', sizeof buf);
	buf[0] = 'H';
	ck_assert(tn_send_all(fd, buf, sizeof buf, IO_MS) == sizeof buf);
}

static void
probe_stall(int fd)
{
	ck_assert(tn_send_all(fd, "S", 1, IO_MS) == 1);
	TN_WAIT_UNTIL(atomic_load(&probe.stalls) == 1, IO_MS);
	ck_assert_msg(atomic_load(&probe.stalls) == 1, "the probe's handler "
	    "did not stall");
}

static void
probe_release(void)
{
	atomic_store(&probe.release, 1);
	TN_WAIT_UNTIL(atomic_load(&probe.stalls_done) ==
	    atomic_load(&probe.stalls), IO_MS);
	ck_assert(atomic_load(&probe.stalls_done) == atomic_load(&probe.stalls));
}

static void
probe_teardown(void)
{
	atomic_store(&probe.release, 1);
	for (int i = 0; i < probe.nfds; i++)
		tn_close(&probe.fds[i]);
	if (probe.started) {
		tn_server_stop(&probe.srv);
		if (probe.counters != NULL)
			gnet_counters_free(probe.counters);
		tn_server_free(&probe.srv);
	}
	probe.started = 0;
	if (probe.dir.path[0] != '\0') {
		unlink(probe.sock);     /* the engine removes it; a failed
		                         * test may not have stopped it */
		rmdir(probe.dir.path);
	}
}

/* "127.0.0.1:PORT" of a client, as gnet-top shows the peer, with what
 * ends it in text ("\n": the last column) or JSON ("\""). */
static void
peer_of(int fd, const char *end, char *out, size_t cap)
{
	snprintf(out, cap, "127.0.0.1:%d%s", tn_sock_port(fd), end);
}

/* ------------------------------------------------------------------------
 * Listing and attaching.
 */
START_TEST(test_list)
{
	tn_gnetd_t g;
	char pid[16], want[64];

	gnetd_start(&g, pid, sizeof pid);
	const char *a1[] = { "--list", NULL };
	top_run_t *r = top_run(a1);
	assert_status(r, 0, "--list");
	snprintf(want, sizeof want, " %s running ", pid);
	assert_has(r->out, "gnetd", "--list");
	assert_has(r->out, want, "--list");
	free(r);

	const char *a2[] = { "--list", "--json", NULL };
	r = top_run(a2);
	assert_status(r, 0, "--list --json");
	ck_assert_int_eq(json_lines(r->out), 1);
	snprintf(want, sizeof want, "\"name\":\"gnetd\",\"pid\":%s,"
	    "\"alive\":true", pid);
	assert_has(r->out, want, "--list --json");
	free(r);

	/* With no engine named, only the one engine or the list: whatever
	 * else runs on this machine, never a hang or a crash. */
	const char *a3[] = { "-b", "-n", "1", "-d", "0.05", NULL };
	r = top_run(a3);
	ck_assert_msg(WIFEXITED(r->status) && (WEXITSTATUS(r->status) == 0 ||
	    WEXITSTATUS(r->status) == 64), "no engine named: %s; stderr:\n%s",
	    tn_describe_status(r->status), r->err);
	if (WEXITSTATUS(r->status) == 64)
		assert_has(r->err, "engines are running: name one", "no engine");
	free(r);
	tn_gnetd_stop(&g, SIGTERM, 0);
}
END_TEST

/* PID, -p PID, NAME.PID and the segment's path all name the engine. */
START_TEST(test_attach_forms)
{
	tn_gnetd_t g;
	char pid[16], dotted[64], path[128], want[64];

	gnetd_start(&g, pid, sizeof pid);
	snprintf(dotted, sizeof dotted, "gnetd.%s", pid);
	snprintf(path, sizeof path, "/dev/shm/gnet.gnetd.%s", pid);
	snprintf(want, sizeof want, "\"name\":\"gnetd\",\"pid\":%s,", pid);
	const char *forms[][4] = {
		{ pid, NULL }, { "-p", pid, NULL }, { dotted, NULL },
		{ path, NULL },
	};
	for (size_t i = 0; i < sizeof forms / sizeof *forms; i++) {
		const char *args[8] = { "--once", "--json", "-d", "0.05" };
		int n = 4;
		for (int k = 0; forms[i][k] != NULL; k++)
			args[n++] = forms[i][k];
		args[n] = NULL;
		top_run_t *r = top_run(args);
		assert_status(r, 0, forms[i][0]);
		assert_has(r->out, want, forms[i][0]);
		free(r);
	}
	tn_gnetd_stop(&g, SIGTERM, 0);
}
END_TEST

/* ------------------------------------------------------------------------
 * JSON and plain text.
 */
START_TEST(test_once_json)
{
	tn_gnetd_t g;
	char pid[16], want[96];
	int fd;

	gnetd_start(&g, pid, sizeof pid);
	fd = tn_connect(g.ports[0]);
	ck_assert(fd >= 0);
	/* One run: a last sample waits for the loops to publish their
	 * actor rows, which they start to at its first look. */
	const char *args[] = { "--once", "--json", pid, NULL };
	top_run_t *r = top_run(args);
	assert_status(r, 0, "--once --json");
	ck_assert_int_eq(json_lines(r->out), 1);
	ck_assert_msg(r->err[0] == '\0', "stderr: %s", r->err);
	snprintf(want, sizeof want, "\"engine\":{\"name\":\"gnetd\",\"pid\":%s,"
	    "\"alive\":true,", pid);
	assert_has(r->out, want, "engine");
	static const char *const fields[] = {
		"{\"ts_ms\":", "\"window_ms\":", "\"uptime_ms\":",
		"\"loops\":2,", "\"version\":", "\"stats_interval_ms\":",
		"\"stalled_loops\":0,", "\"warnings\":[]", "\"totals\":{",
		"\"loops\":[{\"index\":0,", "{\"index\":1,", "\"tid\":",
		"\"state\":\"", "\"turn_ms\":", "\"stalled\":false",
		"\"cpu_pct\":", "\"iterations\":", "\"msgs_in\":",
		"\"msgs_out\":", "\"msgs_dropped\":", "\"mailbox_hwm\":",
		"\"overflowed\":", "\"parked\":", "\"wakeups\":",
		"\"inbox_depth\":", "\"inbox_hwm\":", "\"rings\":[{\"depth\":",
		"\"rates\":{\"iterations\":", "\"bytes_in\":",
		"\"sections\":{\"net\":{", "\"conns\":{\"total\":1,",
		"\"per_loop\":[", "\"accepted\":{\"total\":1,",
		"\"actors_total\":", "\"kind\":null", "\"sort\":\"natural\"",
		"\"actors\":[{\"loop\":", "\"handle\":\"0x",
		"\"kind\":\"listener\"", "\"kind\":\"connection\"",
		"\"mailbox\":", "\"handled\":",
		"\"busy_ms\":", "\"age_ms\":", "\"idle_ms\":", "\"peer\":",
		"\"in_bytes\":", "\"out_bytes\":", "\"flags\":[",
	};
	for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
		assert_has(r->out, fields[i], "--once --json");
	/* --once reports rates: a window of about 200 ms. */
	ck_assert_msg(strstr(r->out, "\"window_ms\":null") == NULL,
	    "--once without rates: %.400s", r->out);
	free(r);
	tn_close(&fd);
	tn_gnetd_stop(&g, SIGTERM, 0);
}
END_TEST

/* -n 3 -d 0.2: three lines, 200 ms apart, each with rates. */
START_TEST(test_count_delay)
{
	tn_gnetd_t g;
	char pid[16];
	long long ts[3];

	gnetd_start(&g, pid, sizeof pid);
	const char *args[] = { "-n", "3", "-d", "0.2", "--json", pid, NULL };
	top_run_t *r = top_run(args);
	assert_status(r, 0, "-n 3 -d 0.2");
	ck_assert_int_eq(json_lines(r->out), 3);
	const char *p = r->out;
	for (int i = 0; i < 3; i++) {
		ck_assert(sscanf(p, "{\"ts_ms\":%lld,", &ts[i]) == 1);
		ck_assert_msg(strncmp(strstr(p, "\"window_ms\":"),
		    "\"window_ms\":null", 16) != 0, "sample %d has no rates", i);
		p = strchr(p, '\n') + 1;
	}
	ck_assert_msg(ts[1] - ts[0] >= 150 && ts[2] - ts[1] >= 150,
	    "samples %lld, %lld, %lld ms: not 200 ms apart", ts[0], ts[1], ts[2]);
	free(r);
	tn_gnetd_stop(&g, SIGTERM, 0);
}
END_TEST

START_TEST(test_batch_text)
{
	tn_gnetd_t g;
	char pid[16], want[64];

	gnetd_start(&g, pid, sizeof pid);
	/* Activity, after which the loops publish their actor rows. */
	int fd = tn_connect(g.ports[0]);
	ck_assert(fd >= 0);
	/* Not a terminal: plain text without -b too. */
	const char *args[] = { "-n", "1", "-d", "0.1", pid, NULL };
	top_run_t *r = top_run(args);
	assert_status(r, 0, "-n 1");
	snprintf(want, sizeof want, "engine gnetd  pid %s  running", pid);
	static const char *const lines[] = {
		"per second: msgs in ", "totals: msgs in ", "\nLOOP ",
		" CPU%\n", "\n   0 ", "\n   1 ", "\n all ", "\nSECTION ",
		"\nnet        conns ", "\nactors: ", "\nLOOP HANDLE ",
		" listener ",
	};
	assert_has(r->out, "gnet-top ", "-n 1");
	assert_has(r->out, want, "-n 1");
	for (size_t i = 0; i < sizeof lines / sizeof *lines; i++)
		assert_has(r->out, lines[i], "-n 1");
	ck_assert_msg(strstr(r->out, "\"engine\"") == NULL, "JSON in text");
	free(r);
	tn_close(&fd);
	tn_gnetd_stop(&g, SIGTERM, 0);
}
END_TEST

/* --kind keeps the actors of that kind, in JSON and text. */
START_TEST(test_kind_filter)
{
	tn_gnetd_t g;
	char pid[16];
	int fd;

	gnetd_start(&g, pid, sizeof pid);
	fd = tn_connect(g.ports[0]);
	ck_assert(fd >= 0);
	const char *all[] = { "--once", "--json", "-d", "0.05", pid, NULL };
	top_run_t *r = top_run_until(all, "\"kind\":\"connection\"");
	assert_has(r->out, "\"kind\":\"connection\"", "all kinds");
	free(r);

	const char *one[] = { "--once", "--json", "--kind", "listener", pid,
		NULL };
	r = top_run(one);
	assert_status(r, 0, "--kind listener");
	assert_has(r->out, "\"kind\":\"listener\"", "--kind listener");
	ck_assert_msg(strstr(r->out, "\"kind\":\"connection\"") == NULL,
	    "--kind listener shows a connection: %.2000s", r->out);
	free(r);

	const char *text[] = { "--once", "-b", "-k", "connection", pid, NULL };
	r = top_run(text);
	assert_status(r, 0, "-k connection");
	assert_has(r->out, " connection ", "-k connection");
	assert_has(r->out, "kind connection", "-k connection");
	ck_assert_msg(strstr(r->out, " listener ") == NULL,
	    "-k connection shows a listener:\n%s", r->out);
	free(r);
	tn_close(&fd);
	tn_gnetd_stop(&g, SIGTERM, 0);
}
END_TEST

/* ------------------------------------------------------------------------
 * Bad input: a message on stderr and the documented status, no crash.
 */
START_TEST(test_bad_arguments)
{
	static const struct {
		const char *args[6];
		int status;
		const char *says;
	} cases[] = {
		{ { "--bogus", NULL }, 64, "unknown option --bogus" },
		{ { "-x", NULL }, 64, "unknown option -x" },
		{ { "-n", NULL }, 64, "wants a value" },
		{ { "-n", "0", "1", NULL }, 64, "-n: \"0\"" },
		{ { "-n", "3x", "1", NULL }, 64, "-n: \"3x\"" },
		{ { "-n", "-2", "1", NULL }, 64, "-n: \"-2\"" },
		{ { "-d", "abc", "1", NULL }, 64, "-d: \"abc\"" },
		{ { "-d", "-1", "1", NULL }, 64, "-d: \"-1\"" },
		{ { "-d", "0", "1", NULL }, 64, "-d: \"0\"" },
		{ { "-d", "1e3", "1", NULL }, 64, "-d: \"1e3\"" },
		{ { "-d", "inf", "1", NULL }, 64, "-d: \"inf\"" },
		{ { "-p", "abc", NULL }, 64, "-p: \"abc\" is not a pid" },
		{ { "-p", "12", "13", NULL }, 64, "already named" },
		{ { "1", "2", NULL }, 64, "one engine at a time" },
		{ { "--sort", "size", "1", NULL }, 64, "--sort: \"size\"" },
		{ { "--stall-ms", "0", "1", NULL }, 64, "--stall-ms" },
		{ { "--kind", "", "1", NULL }, 64, "--kind" },
		{ { "--list", "1", NULL }, 64, "--list takes no engine" },
		{ { "--once", "-n", "2", "1", NULL }, 64, "choose one" },
		{ { "no-such-engine-here", "--once", NULL }, 66,
		  "no engine \"no-such-engine-here\"" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		top_run_t *r = top_run(cases[i].args);
		char what[96];

		snprintf(what, sizeof what, "gnet-top %s %s", cases[i].args[0],
		    cases[i].args[1] ? cases[i].args[1] : "");
		assert_status(r, cases[i].status, what);
		assert_has(r->err, cases[i].says, what);
		ck_assert_msg(r->out[0] == '\0', "%s: stdout: %s", what, r->out);
		free(r);
	}
	/* A pid with no engine: this test process's. */
	char self[16];
	pid_arg(self, sizeof self, getpid());
	const char *nopid[] = { "--once", "-p", self, NULL };
	top_run_t *r = top_run(nopid);
	assert_status(r, 66, "-p (no engine)");
	assert_has(r->err, "gnet-top --list", "-p (no engine)");
	free(r);

	const char *help[] = { "--help", NULL };
	r = top_run(help);
	assert_status(r, 0, "--help");
	assert_has(r->out, "usage: gnet-top", "--help");
	assert_has(r->out, "Exit status: 0", "--help");
	free(r);
}
END_TEST

/* The engine stops while watched: the last sample, a message, 69. */
START_TEST(test_engine_gone_batch)
{
	tn_gnetd_t g;
	char pid[16];
	int out = tn_memory_file("top-out"), err = tn_memory_file("top-err"), st;
	char *text = malloc(OUT_CAP);

	ck_assert(text != NULL);
	gnetd_start(&g, pid, sizeof pid);
	const char *args[] = { "-b", "-d", "0.1", pid, NULL };
	pid_t top = top_spawn(args, out, err);
	/* Watching: its first sample is out. */
	TN_WAIT_UNTIL((tn_memory_read(out, text, OUT_CAP), strstr(text, "\nLOOP ")
	    != NULL), WAIT_MS);
	assert_has(text, "\nLOOP ", "before the stop");
	tn_gnetd_stop(&g, SIGTERM, 0);
	ck_assert_msg(tn_reap(top, &st, RUN_MS), "gnet-top did not exit after "
	    "its engine stopped");
	tn_memory_read(err, text, OUT_CAP);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 69, "gnet-top: %s "
	    "(want 69); stderr:\n%s", tn_describe_status(st), text);
	assert_has(text, "is not running", "stderr");
	close(out);
	close(err);
	free(text);
}
END_TEST

/* ------------------------------------------------------------------------
 * The probe: stalls and buffered bytes.
 */
START_TEST(test_stall_flag)
{
	char self[16];
	int fd;

	probe_start(2);
	fd = probe_client();
	pid_arg(self, sizeof self, getpid());
	const char *args[] = { "--once", "--json", "--stall-ms", "100", self,
		NULL };
	top_run_t *r = top_run(args);
	assert_status(r, 0, "before the stall");
	assert_has(r->out, "\"name\":\"gnet-top-probe\"", "probe");
	assert_has(r->out, "\"stalled_loops\":0,", "before the stall");
	ck_assert(strstr(r->out, "\"stalled\":true") == NULL);
	/* The probe's own section, beside net: one echo so far. */
	assert_has(r->out, "\"probe\":{\"echoes\":{\"total\":1,",
	    "the probe's section");
	free(r);

	probe_stall(fd);
	r = top_run(args);
	assert_status(r, 0, "stalled");
	ck_assert_int_eq(json_lines(r->out), 1);
	assert_has(r->out, "\"stalled_loops\":1,", "stalled");
	assert_has(r->out, "\"state\":\"running\"", "stalled");
	assert_has(r->out, "\"stalled\":true", "stalled");
	assert_has(r->out, "STALLED", "stalled: the warning");
	free(r);

	/* The default threshold (500 ms) is longer than --once's window
	 * (200 ms): a loop seen in one turn is watched until it is decided. */
	const char *dflt[] = { "--once", "--json", self, NULL };
	r = top_run(dflt);
	assert_status(r, 0, "stalled, default threshold");
	assert_has(r->out, "\"stalled_loops\":1,", "stalled, default "
	    "threshold");
	free(r);

	const char *text[] = { "--once", "-b", "--stall-ms", "100", self, NULL };
	r = top_run(text);
	assert_status(r, 0, "stalled, text");
	assert_has(r->out, "WARNING: loop ", "stalled, text");
	assert_has(r->out, " STALLED ", "stalled, text: the row");
	assert_has(r->out, "\nprobe      echoes ", "the probe's section");
	free(r);

	/* The turn ends: the flag goes. */
	probe_release();
	r = top_run(args);
	assert_status(r, 0, "after the stall");
	assert_has(r->out, "\"stalled_loops\":0,", "after the stall");
	ck_assert_msg(strstr(r->out, "\"stalled\":true") == NULL &&
	    strstr(r->out, "STALLED") == NULL, "still stalled: %.2000s", r->out);
	free(r);
}
END_TEST

/* The line of text holding needle, copied to out ("" when none does). */
static void
line_with(const char *text, const char *needle, char *out, size_t cap)
{
	const char *at = strstr(text, needle), *start, *end;

	out[0] = '\0';
	if (at == NULL)
		return;
	for (start = at; start > text && start[-1] != '\n'; start--)
		;
	end = strchr(at, '\n');
	snprintf(out, cap, "%.*s", (int)((end ? end : at + strlen(at)) - start),
	    start);
}

/* The backend the probe runs on (GNET_BACKEND), wherever gnet-top names
 * the engine: the list, the JSON engine object, the text summary. */
START_TEST(test_backend)
{
	const char *backend, *at;
	char self[16], want[96], line[LINE_CAP];

	probe_start(2);
	backend = gnet_engine_backend(probe.srv.eng);
	pid_arg(self, sizeof self, getpid());

	const char *list[] = { "--list", NULL };
	top_run_t *r = top_run(list);
	assert_status(r, 0, "--list");
	assert_has(r->out, " BACKEND ", "--list: the header");
	snprintf(want, sizeof want, " %s running ", self);
	line_with(r->out, want, line, sizeof line);
	snprintf(want, sizeof want, " %s ", backend);
	assert_has(line, want, "--list: the probe's line");
	free(r);

	const char *list_json[] = { "--list", "--json", NULL };
	r = top_run(list_json);
	assert_status(r, 0, "--list --json");
	snprintf(want, sizeof want, "\"name\":\"gnet-top-probe\",\"pid\":%s,",
	    self);
	assert_has(r->out, want, "--list --json");
	/* The probe's object, among the engines of the machine. */
	at = strstr(r->out, want);
	snprintf(line, sizeof line, "%.*s", (int)strcspn(at, "}"), at);
	snprintf(want, sizeof want, "\"loops\":2,\"backend\":\"%s\",", backend);
	assert_has(line, want, "--list --json: the probe's engine");
	free(r);

	/* A sample's engine object is the same. */
	const char *json[] = { "--once", "--json", "-d", "0.05", self, NULL };
	r = top_run(json);
	assert_status(r, 0, "--once --json");
	assert_has(r->out, want, "--once --json");
	free(r);

	const char *text[] = { "--once", "-b", "-d", "0.05", self, NULL };
	r = top_run(text);
	assert_status(r, 0, "--once -b");
	snprintf(want, sizeof want, "  loops 2  backend %s  ", backend);
	line_with(r->out, "engine gnet-top-probe  ", line, sizeof line);
	assert_has(line, want, "--once -b: the summary");
	free(r);
}
END_TEST

/* Rows of the connections a and b in text output: a's before b's? */
static int
comes_before(const char *text, const char *a, const char *b)
{
	int ra = line_of(text, a), rb = line_of(text, b);

	ck_assert_msg(ra >= 0 && rb >= 0, "rows \"%s\" and \"%s\" not both "
	    "in:\n%s", a, b, text);
	return ra < rb;
}

/* --sort bytes puts the connection holding bytes first, whatever the
 * natural order had. */
START_TEST(test_sort_bytes_batch)
{
	char self[16], pa[48], pb[48], held[96];
	int a, b, tmp;

	probe_start(2);
	a = probe_client();
	b = probe_client();
	pid_arg(self, sizeof self, getpid());
	peer_of(a, "\n", pa, sizeof pa);
	peer_of(b, "\n", pb, sizeof pb);
	const char *natural[] = { "--once", "-b", "-d", "0.05", "-k",
		"connection", self, NULL };
	top_run_t *r = top_run_until(natural, pa);
	free(r);
	r = top_run_until(natural, pb);
	/* b is the one after a in the natural order. */
	if (!comes_before(r->out, pa, pb)) {
		tmp = a, a = b, b = tmp;
		peer_of(a, "\n", pa, sizeof pa);
		peer_of(b, "\n", pb, sizeof pb);
	}
	free(r);
	r = NULL;

	probe_hold(b);
	peer_of(b, "\",\"in_bytes\":", held, sizeof held);
	snprintf(held + strlen(held), sizeof held - strlen(held), "%d",
	    HOLD_BYTES);
	const char *json[] = { "--once", "--json", "-d", "0.05", self, NULL };
	r = top_run_until(json, held);
	assert_has(r->out, held, "held bytes");
	free(r);

	r = top_run(natural);
	ck_assert_msg(comes_before(r->out, pa, pb), "natural order changed "
	    "by the held bytes:\n%s", r->out);
	free(r);
	const char *bytes[] = { "--once", "-b", "-d", "0.05", "--sort",
		"bytes", self, NULL };
	r = top_run(bytes);
	assert_status(r, 0, "--sort bytes");
	assert_has(r->out, "sort bytes", "--sort bytes");
	ck_assert_msg(comes_before(r->out, pb, pa), "--sort bytes: the "
	    "connection holding %d bytes is not first:\n%s", HOLD_BYTES,
	    r->out);
	free(r);
}
END_TEST

/* A peer with a quote, a backslash and a tab (a unix listener's path):
 * JSON escapes them and stays valid, text shows the tab as '?'. */
START_TEST(test_json_escapes)
{
	char self[16], want[256];

	tn_tmpdir_make(&probe.dir, "top");
	tn_tmpdir_file(&probe.dir, "q\"b\\s\tt.sock", probe.sock,
	    sizeof probe.sock);
	probe_start_at(1, probe.sock);
	probe_client();
	pid_arg(self, sizeof self, getpid());
	snprintf(want, sizeof want, "\"peer\":\"%s/q\\\"b\\\\s\\tt.sock\"",
	    probe.dir.path);
	const char *json[] = { "--once", "--json", "-d", "0.05", "--kind",
		"listener", self, NULL };
	top_run_t *r = top_run_until(json, want);
	assert_has(r->out, want, "escaped peer");
	ck_assert_int_eq(json_lines(r->out), 1);
	free(r);

	snprintf(want, sizeof want, " %s/q\"b\\s?t.sock\n", probe.dir.path);
	const char *text[] = { "--once", "-b", "-d", "0.05", "--kind",
		"listener", self, NULL };
	r = top_run(text);
	assert_status(r, 0, "text");
	assert_has(r->out, want, "peer in text");
	free(r);
}
END_TEST

/* ------------------------------------------------------------------------
 * The screen, in tmux.
 */
static tn_pane_t pane;

static void
pane_teardown(void)
{
	tn_pane_close(&pane);
}

static void
pane_start(const char *const *args)
{
	char path[PATH_MAX];
	const char *argv[MAX_ARGS];
	int n = 0;

	top_path(path, sizeof path);
	argv[n++] = path;
	for (int i = 0; args[i] != NULL; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	tn_pane_start(&pane, PANE_COLS, PANE_ROWS, argv);
}

static void
pane_wait_text(const char *text, const char *what)
{
	ck_assert_msg(tn_pane_wait_text(&pane, text, WAIT_MS), "%s: no \"%s\" "
	    "on the screen within %d ms:\n%s", what, text, WAIT_MS, pane.text);
}

static void
pane_wait_gone(const char *text, const char *what)
{
	ck_assert_msg(tn_pane_wait_gone(&pane, text, WAIT_MS), "%s: \"%s\" "
	    "still on the screen after %d ms:\n%s", what, text, WAIT_MS,
	    pane.text);
}

/* The screen once the program exited: status, terminal given back. */
static void
pane_assert_exit(int want, const char *what)
{
	char alt[16], cursor[16];
	int st = tn_pane_exit_status(&pane, WAIT_MS);

	ck_assert_msg(st == want, "%s: exit status %d (want %d; -1: still "
	    "running); screen:\n%s", what, st, want, pane.text);
	tn_pane_format(&pane, "#{alternate_on}", alt, sizeof alt);
	tn_pane_format(&pane, "#{cursor_flag}", cursor, sizeof cursor);
	ck_assert_msg(strcmp(alt, "0") == 0, "%s: the terminal is left in the "
	    "alternate screen", what);
	ck_assert_msg(strcmp(cursor, "1") == 0, "%s: the cursor is left "
	    "hidden", what);
}

/* Two rows a and b on the screen: is a's above b's? */
struct order {
	const char *first, *second;
	const char *also;       /* and this on the screen */
};

static int
in_order(const char *screen, void *arg)
{
	const struct order *o = arg;
	int r1 = tn_screen_row(screen, o->first);
	int r2 = tn_screen_row(screen, o->second);

	return r1 >= 0 && r2 >= 0 && r1 < r2 &&
	    (o->also == NULL || strstr(screen, o->also) != NULL);
}

static void
pane_wait_order(const char *first, const char *second, const char *also,
    const char *what)
{
	struct order o = { first, second, also };

	ck_assert_msg(tn_pane_wait(&pane, in_order, &o, WAIT_MS), "%s: \"%s\" "
	    "is not above \"%s\"%s%s within %d ms:\n%s", what, first, second,
	    also ? " with " : "", also ? also : "", WAIT_MS, pane.text);
}

/* The held connection's row shows its bytes. */
struct held_row {
	const char *peer;
	const char *bytes;
};

static int
row_shows(const char *screen, void *arg)
{
	const struct held_row *h = arg;
	const char *at = strstr(screen, h->peer), *start;

	if (at == NULL)
		return 0;
	for (start = at; start > screen && start[-1] != '\n'; start--)
		;
	return memmem(start, (size_t)(at - start), h->bytes,
	    strlen(h->bytes)) != NULL;
}

START_TEST(test_screen)
{
	char self[16], pa[48], pb[48], backend[48];
	int a, b, tmp;

	if (TN_SKIP_WITHOUT("tmux", "the gnet-top screen test"))
		return;
	probe_start(2);
	a = probe_client();
	b = probe_client();
	pid_arg(self, sizeof self, getpid());
	const char *args[] = { "-a", "-d", "0.1", "--stall-ms", "100", self,
		NULL };
	pane_start(args);
	pane_wait_text("engine gnet-top-probe", "header");
	snprintf(backend, sizeof backend, "  backend %s  ",
	    gnet_engine_backend(probe.srv.eng));
	pane_wait_text(backend, "header: the backend");
	pane_wait_text("view: actors", "status line");
	pane_wait_text("LOOP HANDLE ", "actor table");

	/* Which connection the natural order lists second: b. */
	peer_of(a, "\n", pa, sizeof pa);
	peer_of(b, "\n", pb, sizeof pb);
	pane_wait_text(pa, "first client's row");
	pane_wait_text(pb, "second client's row");
	if (tn_screen_row(pane.text, pa) > tn_screen_row(pane.text, pb)) {
		tmp = a, a = b, b = tmp;
		peer_of(a, "\n", pa, sizeof pa);
		peer_of(b, "\n", pb, sizeof pb);
	}

	/* b holds bytes; the natural order does not move it... */
	probe_hold(b);
	struct held_row h = { pb, " 4.0K " };
	ck_assert_msg(tn_pane_wait(&pane, row_shows, &h, WAIT_MS), "the held "
	    "bytes do not show on b's row:\n%s", pane.text);
	pane_wait_order(pa, pb, "sort: natural", "natural order");
	/* ...sorting by buffered bytes does, and back. */
	tn_pane_keys(&pane, "b");
	pane_wait_order(pb, pa, "sort: bytes", "b (sort by bytes)");
	tn_pane_keys(&pane, "i");
	pane_wait_order(pa, pb, "sort: natural", "i (natural order)");

	/* The kind filter, typed. */
	tn_pane_keys(&pane, "/");
	pane_wait_text("kind (Enter: apply", "the kind prompt");
	tn_pane_type(&pane, "listener");
	tn_pane_keys(&pane, "Enter");
	pane_wait_text("kind: listener", "the kind filter");
	pane_wait_gone(pa, "the kind filter");
	ck_assert(strstr(pane.text, " listener ") != NULL);
	tn_pane_keys(&pane, "K");
	pane_wait_text(pa, "all kinds again");

	/* The loops view flags a stall, and clears it when the turn ends. */
	tn_pane_keys(&pane, "l");
	pane_wait_text("view: loops", "l (loops view)");
	pane_wait_text("SECTION ", "the sections");
	pane_wait_text("\nnet        conns ", "the net section");
	pane_wait_text("\nprobe      holds ", "the probe's section");
	probe_stall(a);
	pane_wait_text("WARNING: loop ", "the stall warning");
	pane_wait_text("STALLED ", "the stalled row");
	probe_release();
	pane_wait_gone("STALLED", "the end of the stall");

	/* Help, then any key back; q quits and gives the terminal back. */
	tn_pane_keys(&pane, "?");
	pane_wait_text("gnet-top keys", "? (help)");
	tn_pane_keys(&pane, "x");
	pane_wait_text("view: loops", "leaving the help");
	tn_pane_keys(&pane, "q");
	pane_assert_exit(0, "q");
}
END_TEST

/* The engine stops while the screen shows it: a message, not a crash. */
START_TEST(test_screen_engine_gone)
{
	tn_gnetd_t g;
	char pid[16];

	if (TN_SKIP_WITHOUT("tmux", "the gnet-top screen test"))
		return;
	gnetd_start(&g, pid, sizeof pid);
	const char *args[] = { "-d", "0.1", pid, NULL };
	pane_start(args);
	pane_wait_text("engine gnetd", "header");
	pane_wait_text("\n all ", "loop table");
	tn_gnetd_stop(&g, SIGTERM, 0);
	pane_assert_exit(69, "engine gone");
	assert_has(pane.text, "is not running any more", "engine gone");
}
END_TEST

static Suite *
gnet_top_suite(void)
{
	Suite *s = suite_create("gnet_top");
	TCase *cli = tn_tcase("cli", TCASE_TIMEOUT_S);
	TCase *out = tn_tcase("output", TCASE_TIMEOUT_S);
	TCase *prb = tn_tcase("probe", TCASE_TIMEOUT_S);
	TCase *scr = tn_tcase("screen", TCASE_TIMEOUT_S);

	tcase_add_checked_fixture(cli, NULL, tn_kill_strays);
	tcase_add_test(cli, test_list);
	tcase_add_test(cli, test_attach_forms);
	tcase_add_test(cli, test_bad_arguments);
	tcase_add_checked_fixture(out, NULL, tn_kill_strays);
	tcase_add_test(out, test_once_json);
	tcase_add_test(out, test_count_delay);
	tcase_add_test(out, test_batch_text);
	tcase_add_test(out, test_kind_filter);
	tcase_add_test(out, test_engine_gone_batch);
	tcase_add_checked_fixture(prb, probe_setup, probe_teardown);
	tcase_add_checked_fixture(prb, NULL, tn_kill_strays);
	tcase_add_test(prb, test_stall_flag);
	tcase_add_test(prb, test_sort_bytes_batch);
	tcase_add_test(prb, test_json_escapes);
	tcase_add_test(prb, test_backend);
	/* In the suite's process, around the whole case: what a failed
	 * test left in tmux goes. */
	tcase_add_unchecked_fixture(scr, tn_pane_owner_setup, tn_pane_sweep);
	tcase_add_checked_fixture(scr, probe_setup, probe_teardown);
	tcase_add_checked_fixture(scr, NULL, pane_teardown);
	tcase_add_checked_fixture(scr, NULL, tn_kill_strays);
	tcase_add_test(scr, test_screen);
	tcase_add_test(scr, test_screen_engine_gone);
	suite_add_tcase(s, cli);
	suite_add_tcase(s, out);
	suite_add_tcase(s, prb);
	suite_add_tcase(s, scr);
	return s;
}

int
main(void)
{
	return tn_run_child_suite(gnet_top_suite());
}
