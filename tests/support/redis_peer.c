/*
 * redis_peer.c -- redis-server as a child, and the RESP reply reader
 * (redis_peer.h).
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/sanitizer.h"
#include "child.h"
#include "redis_peer.h"
#include "sockets.h"
#include "testnet.h"

#define START_TRIES 8          /* ports tried: another suite may take one */
#define PORT_BASE 20000        /* ports tried lie in [BASE, BASE + SPAN) */
#define PORT_SPAN 30000
#define LOG_CAP (64 * 1024)
#define PING_MS 500            /* one PING of the start-up poll */
#define READ_CHUNK (64 * 1024)

const char *
tn_redis_server_path(void)
{
	const char *env = getenv(TN_REDIS_SERVER_ENV);

	return env != NULL && *env != '\0' ? env : TN_REDIS_SERVER;
}

int
tn_redis_available(const char *what)
{
	if (access(tn_redis_server_path(), X_OK) == 0)
		return 1;
	printf("skipped: no redis-server (%s: %s is not installed)\n", what,
	    tn_redis_server_path());
	fflush(stdout);
	return 0;
}

const char *
tn_redis_log(tn_redis_t *r)
{
	static char buf[LOG_CAP];
	size_t len = 0;

	while (len < sizeof buf - 1) {
		ssize_t n = pread(r->log, buf + len, sizeof buf - 1 - len,
		    (off_t)len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	return buf;
}

/* A port nobody holds now, spread by pid and attempt so suites running
 * at once rarely pick the same one. */
static int
pick_port(int attempt)
{
	for (int i = 0; i < 1000; i++) {
		int port = PORT_BASE + (int)(((unsigned)getpid() * 7919u +
		    (unsigned)(attempt * 1000 + i) * 104729u) % PORT_SPAN);
		if (tn_port_free(SOCK_STREAM, port))
			return port;
	}
	ck_abort_msg("no free port for redis-server");
	return -1;
}

#if defined(GNET__ASAN) || defined(GNET__TSAN)
#ifdef GNET__ASAN
#define SANITIZER_RUNTIME "libasan.so"
#define SANITIZER_OPTIONS "ASAN_OPTIONS"
#define SANITIZER_SERVER_OPTIONS "detect_leaks=0:abort_on_error=1"
#else
#define SANITIZER_RUNTIME "libtsan.so"
#define SANITIZER_OPTIONS "TSAN_OPTIONS"
#define SANITIZER_SERVER_OPTIONS "halt_on_error=1:abort_on_error=1"
#endif
/* The sanitizer runtime this test runs with, from its own maps. */
static const char *
sanitizer_runtime(void)
{
	static char path[512];
	char line[768];
	FILE *f = fopen("/proc/self/maps", "r");

	path[0] = '\0';
	while (f != NULL && fgets(line, sizeof line, f) != NULL) {
		char *p = strchr(line, '/');
		if (p != NULL && strstr(p, SANITIZER_RUNTIME) != NULL) {
			p[strcspn(p, "\n")] = '\0';
			snprintf(path, sizeof path, "%s", p);
			break;
		}
	}
	if (f != NULL)
		fclose(f);
	return path[0] != '\0' ? path : NULL;
}
#endif

/* A sanitized module (a redis-server started with extra arguments loads
 * one) needs its runtime in the server: preloaded, its first error fatal
 * (and ASan's leak check off: the server frees little at exit). The
 * server's own code is not instrumented, so what is checked is gnet's,
 * in the real server. */
static void
sanitizer_env(tn_redis_t *r, int on)
{
#if defined(GNET__ASAN) || defined(GNET__TSAN)
	static char saved[1024];
	const char *rt = sanitizer_runtime();
	const char *old = getenv(SANITIZER_OPTIONS);

	if (r->extra == NULL || rt == NULL)
		return;
	if (on) {
		snprintf(saved, sizeof saved, "%s", old != NULL ? old : "");
		setenv("LD_PRELOAD", rt, 1);
		setenv(SANITIZER_OPTIONS, SANITIZER_SERVER_OPTIONS, 1);
	} else {
		unsetenv("LD_PRELOAD");
		setenv(SANITIZER_OPTIONS, saved, 1);
	}
#else
	(void)r;
	(void)on;
#endif
}

static pid_t
spawn(tn_redis_t *r)
{
	char port[16];
	const char *args[TN_SPAWN_MAX_ARGS + 1] = { "--port", port, "--bind",
	    "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no",
	    "--dir", r->dir.path, NULL };
	int n = 12;

	for (int i = 0; r->extra != NULL && r->extra[i] != NULL; i++) {
		ck_assert_msg(n < TN_SPAWN_MAX_ARGS, "too many redis-server "
		    "arguments");
		args[n++] = r->extra[i];
	}
	args[n] = NULL;
	snprintf(port, sizeof port, "%d", r->port);
	ck_assert(ftruncate(r->log, 0) == 0);
	sanitizer_env(r, 1);
	pid_t pid = tn_spawn_to(tn_redis_server_path(), args, r->log, r->log);
	sanitizer_env(r, 0);
	return pid;
}

/* Poll until it answers PING (1), exits (0) or the bound passes (-1). */
static int
await_pong(tn_redis_t *r)
{
	int64_t deadline = tn_now_ms() + TN_REDIS_START_MS;
	char reply[64];
	int st;

	while (tn_now_ms() < deadline) {
		if (tn_reap(r->pid, &st, 0)) {
			r->pid = 0;
			return 0;
		}
		int fd = tn_connect(r->port);
		if (fd >= 0) {
			ssize_t n = tn_resp_call(fd, 1, (const char *[]){ "PING" },
			    reply, sizeof reply, PING_MS);
			close(fd);
			if (n > 0 && strcmp(reply, "+PONG\r\n") == 0)
				return 1;
		}
		tn_nap();
	}
	return -1;
}

void
tn_redis_start(tn_redis_t *r)
{
	tn_redis_start_with(r, NULL);
}

void
tn_redis_start_with(tn_redis_t *r, const char *const *extra)
{
	memset(r, 0, sizeof *r);
	r->extra = extra;
	tn_tmpdir_make(&r->dir, "redis");
	r->log = memfd_create("redis-server", MFD_CLOEXEC);
	ck_assert_msg(r->log >= 0, "memfd_create: %s", strerror(errno));
	for (int attempt = 0; attempt < START_TRIES; attempt++) {
		r->port = pick_port(attempt);
		r->pid = spawn(r);
		int up = await_pong(r);
		if (up == 1)
			return;
		ck_assert_msg(up == 0, "redis-server on port %d did not answer "
		    "PING within %d ms; output:\n%s", r->port,
		    TN_REDIS_START_MS, tn_redis_log(r));
		/* It exited: someone took the port between the check and
		 * its bind. Anything else is a failure. */
		ck_assert_msg(strstr(tn_redis_log(r), "in use") != NULL,
		    "redis-server exited at start; output:\n%s",
		    tn_redis_log(r));
	}
	ck_abort_msg("redis-server found no free port in %d tries",
	    START_TRIES);
}

/* Remove what a server may leave in its --dir despite --save '': an
 * empty folder is what tn_tmpdir_remove requires. */
static void
clean_dir(tn_redis_t *r)
{
	char path[128];

	tn_tmpdir_file(&r->dir, "dump.rdb", path, sizeof path);
	unlink(path);
	/* An append-only server's folder of files. */
	tn_tmpdir_file(&r->dir, "appendonlydir", path, sizeof path);
	DIR *d = opendir(path);
	if (d != NULL) {
		struct dirent *e;
		char file[512];

		while ((e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			snprintf(file, sizeof file, "%s/%s", path, e->d_name);
			unlink(file);
		}
		closedir(d);
		rmdir(path);
	}
}

void
tn_redis_stop(tn_redis_t *r)
{
	int st = 0;

	if (r->pid > 0) {
		kill(r->pid, SIGTERM);
		int done = tn_reap(r->pid, &st, TN_REDIS_STOP_MS);
		if (!done) {
			kill(r->pid, SIGKILL);
			tn_reap(r->pid, &st, TN_REDIS_STOP_MS);
		}
		r->pid = 0;
		ck_assert_msg(done, "redis-server did not exit within %d ms "
		    "of SIGTERM", TN_REDIS_STOP_MS);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		    "redis-server: %s; output:\n%s", tn_describe_status(st),
		    tn_redis_log(r));
	}
	clean_dir(r);
	tn_tmpdir_remove(&r->dir);
	if (r->log >= 0)
		close(r->log);
	r->log = -1;
}

/* ------------------------------------------------------------------------
 * Replies.
 */

/* The line at p (up to CRLF): its length with the CRLF, 0 when the CRLF
 * has not arrived, -1 when a CR is followed by something else. */
static ssize_t
line_len(const uint8_t *p, size_t n)
{
	const uint8_t *cr = memchr(p, '\r', n);

	if (cr == NULL || (size_t)(cr - p) + 1 >= n)
		return 0;
	if (cr[1] != '\n')
		return -1;
	return cr - p + 2;
}

/* The decimal number in p[1..end-2) (after the type byte, before CRLF). */
static int
line_number(const uint8_t *p, ssize_t len, long long *v)
{
	char tmp[32];
	char *end;
	ssize_t k = len - 3;

	if (k <= 0 || k >= (ssize_t)sizeof tmp)
		return -1;
	memcpy(tmp, p + 1, (size_t)k);
	tmp[k] = '\0';
	errno = 0;
	*v = strtoll(tmp, &end, 10);
	return *end == '\0' && errno == 0 ? 0 : -1;
}

ssize_t
tn_resp_reply_len(const uint8_t *p, size_t n)
{
	ssize_t ll;
	long long v;
	size_t off;
	int per = 1;

	if (n == 0)
		return 0;
	ll = line_len(p, n);
	if (ll <= 0)
		return ll;
	switch (p[0]) {
	case '+': case '-': case ':': case '_': case ',': case '#': case '(':
		return ll;
	case '$': case '!': case '=':
		if (line_number(p, ll, &v) != 0 || v < -1)
			return -1;
		if (v == -1)
			return ll;
		if (n - (size_t)ll < (size_t)v + 2)
			return 0;
		if (p[ll + v] != '\r' || p[ll + v + 1] != '\n')
			return -1;
		return ll + (ssize_t)v + 2;
	case '%': case '|':
		per = 2;
		/* fall through */
	case '*': case '~': case '>':
		if (line_number(p, ll, &v) != 0 || v < -1)
			return -1;
		off = (size_t)ll;
		for (long long i = 0; i < v * per; i++) {
			ssize_t e = tn_resp_reply_len(p + off, n - off);
			if (e <= 0)
				return e;
			off += (size_t)e;
		}
		return (ssize_t)off;
	default:
		return -1;
	}
}

static void
in_reserve(tn_resp_in_t *in, size_t more)
{
	if (in->cap - in->len >= more)
		return;
	size_t cap = in->cap ? in->cap : READ_CHUNK;
	while (cap - in->len < more)
		cap *= 2;
	in->buf = realloc(in->buf, cap);
	ck_assert_msg(in->buf != NULL, "out of memory (%zu bytes)", cap);
	in->cap = cap;
}

/* Count the replies completed by the bytes that came. */
static void
in_scan(tn_resp_in_t *in)
{
	while (!in->malformed) {
		ssize_t k = tn_resp_reply_len(in->buf + in->complete,
		    in->len - in->complete);
		if (k < 0)
			in->malformed = 1;
		if (k <= 0)
			break;
		in->complete += (size_t)k;
		in->replies++;
	}
}

int
tn_resp_read(int fd, int want, int timeout_ms, tn_resp_in_t *in)
{
	int64_t deadline = tn_now_ms() + timeout_ms;

	in->timed_out = 0;
	while (!in->closed && !in->malformed &&
	    (want < 0 || in->replies < want)) {
		int64_t left = deadline - tn_now_ms();
		if (left <= 0) {
			in->timed_out = 1;
			break;
		}
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		in_reserve(in, READ_CHUNK);
		ssize_t r = recv(fd, in->buf + in->len, in->cap - in->len,
		    MSG_DONTWAIT);
		if (r > 0) {
			in->len += (size_t)r;
			in_scan(in);
		} else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
			in->closed = 1; /* EOF, or a reset after the data */
		}
	}
	return in->replies;
}

void
tn_resp_in_free(tn_resp_in_t *in)
{
	free(in->buf);
	memset(in, 0, sizeof *in);
}

ssize_t
tn_resp_call(int fd, int argc, const char *const *argv, char *out,
    size_t cap, int timeout_ms)
{
	char cmd[4096];
	int len = snprintf(cmd, sizeof cmd, "*%d\r\n", argc);
	tn_resp_in_t in = { 0 };
	ssize_t got = -1;

	for (int i = 0; i < argc; i++) {
		ck_assert((size_t)len < sizeof cmd);
		len += snprintf(cmd + len, sizeof cmd - (size_t)len,
		    "$%zu\r\n%s\r\n", strlen(argv[i]), argv[i]);
	}
	ck_assert_msg((size_t)len < sizeof cmd, "command too long");
	out[0] = '\0';
	if (tn_send_all(fd, cmd, (size_t)len, timeout_ms) != (size_t)len)
		return -1;
	if (tn_resp_read(fd, 1, timeout_ms, &in) == 1) {
		size_t k = in.complete < cap - 1 ? in.complete : cap - 1;
		memcpy(out, in.buf, k);
		out[k] = '\0';
		got = (ssize_t)in.complete;
	}
	tn_resp_in_free(&in);
	return got;
}
