/*
 * check_backend.c -- suite "backend": the two pollers a loop can wait in
 * (kernel/poller.h), and how an engine picks one.
 *
 * gnet waits on epoll or on io_uring (kernel/poller_epoll.c,
 * kernel/poller_uring.c) and promises the layers above the same
 * behaviour from both. Three groups of cases hold it to that:
 *
 *   - selection: the option wins, GNET_BACKEND chooses when the option is
 *     left at auto, auto takes io_uring exactly where this machine lets a
 *     process set up a ring (asked of the kernel here, independently of
 *     gnet), and a bad variable or an out-of-range option is refused;
 *   - fallback: in a child whose seccomp filter refuses io_uring_setup, as
 *     container runtimes commonly do, auto falls back to epoll, says why in
 *     the log and serves an echo on it, while asking for io_uring by name
 *     fails with the kernel's GNET_EPERM;
 *   - semantics: one body per property, run against each backend's ops
 *     table directly on the test's thread -- level and edge reports,
 *     merging, mod, del (no stale report for a reused number, the
 *     descriptor let go), the waker, RDHUP and HUP, the ctl errors --
 *     so that a difference between the backends fails here, named,
 *     rather than as a stalled connection somewhere above.
 *
 * Where this machine refuses io_uring, the io_uring halves are skipped
 * with a message and selection checks the epoll side. A wait that must
 * report uses READY_MS (it returns as soon as it has something); one that
 * must report nothing uses QUIET_MS. Nothing sleeps to synchronise.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/io_uring.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gnet.h"
#include "kernel/poller.h"
#include "support/testnet.h"

#define TCASE_TIMEOUT_S 30
#define READY_MS 1000           /* a wait that must report */
#define QUIET_MS 50             /* a wait that must report nothing */
#define IO_MS 5000              /* the fallback child's echo, each way */
#define CHILD_MS 20000          /* the fallback child, start to exit */

/* Tags are actor handles: loop, slot and generation fill all 64 bits,
 * and all of them must come back. */
#define TAG_A 0x0500000700000009ull
#define TAG_B 0x0600000b0000000dull
#define TAG_C 0x3f00ffff7fffffffull

/* ------------------------------------------------------------------------
 * What the kernel says, and what gnet logs.
 */

/* Can this process set up a ring with what the io_uring backend needs
 * (waits with a timeout and multishot polls: the features ring_init
 * requires)? 0, a negated errno, or GNET_ENOTSUP. Asked with the raw
 * system call, not through gnet, so that selection is checked against an
 * answer gnet did not give. */
static int
uring_probe(void)
{
	struct io_uring_params pa;
	int fd;

	memset(&pa, 0, sizeof(pa));
	fd = (int)syscall(__NR_io_uring_setup, 4, &pa);
	if (fd < 0)
		return -errno;
	close(fd);
	if (!(pa.features & IORING_FEAT_EXT_ARG) ||
	    !(pa.features & IORING_FEAT_RSRC_TAGS))
		return GNET_ENOTSUP;
	return 0;
}

/* The log hook's lines. It may be called from any thread. */
#define LOG_LINES 16
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
	int level;
	char msg[256];
} log_lines[LOG_LINES];
static int log_count;

static void
log_hook(int level, const char *msg)
{
	pthread_mutex_lock(&log_mu);
	if (log_count < LOG_LINES) {
		log_lines[log_count].level = level;
		snprintf(log_lines[log_count].msg,
		    sizeof(log_lines[log_count].msg), "%s", msg);
		log_count++;
	}
	pthread_mutex_unlock(&log_mu);
}

static void
log_reset(void)
{
	pthread_mutex_lock(&log_mu);
	log_count = 0;
	pthread_mutex_unlock(&log_mu);
}

/* The first line logged at `level` (-1: any) that contains needle. */
static const char *
logged(int level, const char *needle)
{
	const char *found = NULL;
	int i;

	pthread_mutex_lock(&log_mu);
	for (i = 0; i < log_count && found == NULL; i++)
		if ((level < 0 || log_lines[i].level == level) &&
		    strstr(log_lines[i].msg, needle) != NULL)
			found = log_lines[i].msg;
	pthread_mutex_unlock(&log_mu);
	return found;
}

/* The backend an engine gets with `backend` in its options and
 * GNET_BACKEND set to env (NULL: unset): "epoll" or "io_uring", or NULL
 * when gnet_engine_new fails, with its error in *err. Free of Check, for
 * the fallback child. */
static const char *
chosen(gnet_backend_t backend, const char *env, int *err)
{
	static char name[32];
	gnet_events_t ev = { .size = sizeof(ev) };
	gnet_options_t o = { .size = sizeof(o), .backend = backend };
	gnet_engine_t *eng = NULL;

	if (env != NULL ? setenv("GNET_BACKEND", env, 1) :
	    unsetenv("GNET_BACKEND")) {
		*err = -errno;
		return NULL;
	}
	*err = gnet_engine_new(&eng, &ev, &o, NULL);
	if (*err != 0)
		return NULL;
	snprintf(name, sizeof(name), "%s", gnet_engine_backend(eng));
	gnet_engine_free(eng);
	return name;
}

/* chosen() that must succeed: a macro, so a failure names the line. */
#define ASSERT_CHOSEN(backend, env, want) \
	do { \
		int err_; \
		const char *got_ = chosen((backend), (env), &err_); \
		ck_assert_msg(got_ != NULL, \
		    "backend %d, GNET_BACKEND=%s: gnet_engine_new: %s", \
		    (int)(backend), (env) ? (env) : "(unset)", \
		    gnet_strerror(err_)); \
		ck_assert_msg(strcmp(got_, (want)) == 0, \
		    "backend %d, GNET_BACKEND=%s: got %s, want %s", \
		    (int)(backend), (env) ? (env) : "(unset)", got_, (want)); \
	} while (0)

/* chosen() that must fail with err. */
#define ASSERT_REFUSED(backend, env, want_err) \
	do { \
		int err_; \
		const char *got_ = chosen((backend), (env), &err_); \
		ck_assert_msg(got_ == NULL && err_ == (want_err), \
		    "backend %d, GNET_BACKEND=%s: got %s (%s), want %s", \
		    (int)(backend), (env) ? (env) : "(unset)", \
		    got_ ? got_ : "no engine", gnet_strerror(err_), \
		    gnet_strerror(want_err)); \
	} while (0)

/* ------------------------------------------------------------------------
 * Selection. Each case sets the variable itself, so an environment that
 * runs the suites with GNET_BACKEND set (to test one backend) changes
 * nothing here; the fixture puts it back for runs without fork mode.
 */
static char *saved_env;

static void
env_setup(void)
{
	const char *v = getenv("GNET_BACKEND");

	saved_env = v != NULL ? strdup(v) : NULL;
	unsetenv("GNET_BACKEND");
	log_reset();
	gnet_log_set(log_hook);
}

static void
env_teardown(void)
{
	gnet_log_set(NULL);
	if (saved_env != NULL)
		setenv("GNET_BACKEND", saved_env, 1);
	else
		unsetenv("GNET_BACKEND");
	free(saved_env);
	saved_env = NULL;
}

START_TEST(test_auto_follows_the_kernel)
{
	int probe = uring_probe();

	if (probe == 0) {
		fprintf(stderr, "selection: io_uring works here: checking "
		    "that auto picks io_uring\n");
		ASSERT_CHOSEN(GNET_BACKEND_AUTO, NULL, "io_uring");
		ck_assert_ptr_null(logged(-1, "io_uring unavailable"));
		/* The option set, the variable is not read. */
		ASSERT_CHOSEN(GNET_BACKEND_AUTO, "epoll", "io_uring");
	} else {
		fprintf(stderr, "selection: io_uring_setup refused here (%s): "
		    "checking that auto falls back to epoll\n",
		    gnet_strerror(probe));
		ASSERT_CHOSEN(GNET_BACKEND_AUTO, NULL, "epoll");
		ck_assert_ptr_nonnull(logged(1, "io_uring unavailable"));
		ASSERT_CHOSEN(GNET_BACKEND_AUTO, "epoll", "epoll");
	}
}
END_TEST

START_TEST(test_option_wins_over_environment)
{
	ASSERT_CHOSEN(GNET_BACKEND_EPOLL, "uring", "epoll");
	/* The variable is not even read: a bad one is no error here. */
	ASSERT_CHOSEN(GNET_BACKEND_EPOLL, "bogus", "epoll");
	if (uring_probe() == 0)
		ASSERT_CHOSEN(GNET_BACKEND_URING, "epoll", "io_uring");
	else
		fprintf(stderr, "option over environment: io_uring refused "
		    "here, GNET_BACKEND_URING not checked\n");
}
END_TEST

START_TEST(test_environment_chooses_at_auto)
{
	int probe = uring_probe();

	/* Neither option nor variable: epoll, the measured floor. */
	ASSERT_CHOSEN(GNET_BACKEND_DEFAULT, NULL, "epoll");
	ASSERT_CHOSEN(GNET_BACKEND_DEFAULT, "epoll", "epoll");
	if (probe == 0) {
		ASSERT_CHOSEN(GNET_BACKEND_DEFAULT, "uring", "io_uring");
		ASSERT_CHOSEN(GNET_BACKEND_DEFAULT, "io_uring", "io_uring");
		ASSERT_CHOSEN(GNET_BACKEND_DEFAULT, "auto", "io_uring");
	} else {
		/* By name, io_uring or nothing: no quiet fallback. */
		fprintf(stderr, "environment: io_uring refused here (%s): "
		    "checking that GNET_BACKEND=uring fails\n",
		    gnet_strerror(probe));
		ASSERT_REFUSED(GNET_BACKEND_DEFAULT, "uring", probe);
		ASSERT_CHOSEN(GNET_BACKEND_DEFAULT, "auto", "epoll");
	}
}
END_TEST

START_TEST(test_bad_environment_refused)
{
	const char *line;

	ASSERT_REFUSED(GNET_BACKEND_DEFAULT, "bogus", GNET_EINVAL);
	/* The program's author learns which setting to fix. */
	line = logged(-1, "GNET_BACKEND");
	ck_assert_msg(line != NULL, "no log line names GNET_BACKEND");
	ck_assert_msg(strstr(line, "bogus") != NULL,
	    "the log line does not quote the value: %s", line);
}
END_TEST

START_TEST(test_out_of_range_refused)
{
	ASSERT_REFUSED((gnet_backend_t)4, NULL, GNET_EINVAL);
	ASSERT_REFUSED((gnet_backend_t)-1, NULL, GNET_EINVAL);
	/* A valid variable does not rescue an invalid option. */
	ASSERT_REFUSED((gnet_backend_t)99, "epoll", GNET_EINVAL);
}
END_TEST

/* ------------------------------------------------------------------------
 * Fallback under a seccomp filter, in a forked child: a filter cannot be
 * lifted, and it must not reach the other cases. The child does no Check
 * assertions; it reports its first failure through a pipe and its exit
 * status, and the parent asserts.
 */
enum { CHILD_OK = 0, CHILD_FAILED = 1, CHILD_SKIPPED = 77 };

#if defined(__x86_64__)
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

#ifdef NATIVE_AUDIT_ARCH
/* io_uring_setup fails with EPERM, everything else is allowed: what a
 * container's profile does to io_uring. 0 or a negated errno. */
static int
refuse_io_uring_setup(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		    offsetof(struct seccomp_data, arch)),
		/* Another ABI's numbers mean other calls: allow them. */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_AUDIT_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		    offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
		BPF_STMT(BPF_RET | BPF_K,
		    SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {
		.len = (unsigned short)(sizeof(f) / sizeof(f[0])),
		.filter = f,
	};

	/* Without it an unprivileged process may not install a filter. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return -errno;
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
		return -errno;
	return 0;
}
#endif

/* In the child: tell the parent why, and end. _exit: on a failure the
 * engine's threads may still run, and nothing of this process matters. */
static void __attribute__((noreturn, format(printf, 4, 5)))
child_end(int out, int status, int line, const char *fmt, ...)
{
	char msg[512];
	int len = snprintf(msg, sizeof(msg), "line %d: ", line);
	va_list ap;
	ssize_t w;

	va_start(ap, fmt);
	vsnprintf(msg + len, sizeof(msg) - (size_t)len, fmt, ap);
	va_end(ap);
	w = write(out, msg, strlen(msg));
	(void)w;
	_exit(status);
}

#define CHILD_CHECK(out, cond, ...) \
	do { \
		if (!(cond)) \
			child_end((out), CHILD_FAILED, __LINE__, \
			    __VA_ARGS__); \
	} while (0)

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

/* One message through an engine, from a client thread, which then stops
 * the engine: the engine's run returns whether the echo worked or not. */
typedef struct echo_run {
	gnet_engine_t *eng;
	int port;
	int ok;
	char why[160];
} echo_run_t;

static void *
echo_client(void *arg)
{
	static const char msg[] = "one message over the fallback";
	echo_run_t *r = arg;
	char back[sizeof(msg)];
	int fd = tn_connect(r->port);

	if (fd < 0)
		snprintf(r->why, sizeof(r->why), "connect: %s",
		    strerror(errno));
	else if (tn_send_all(fd, msg, sizeof(msg), IO_MS) != sizeof(msg))
		snprintf(r->why, sizeof(r->why), "send did not complete");
	else if (tn_read_exact(fd, back, sizeof(back), IO_MS) != sizeof(back))
		snprintf(r->why, sizeof(r->why), "no echo within %d ms",
		    IO_MS);
	else if (memcmp(back, msg, sizeof(msg)) != 0)
		snprintf(r->why, sizeof(r->why), "the echo differs");
	else
		r->ok = 1;
	tn_close(&fd);
	gnet_engine_stop(r->eng);
	return NULL;
}

static void __attribute__((noreturn))
fallback_child(int out)
{
	gnet_events_t ev = { .size = sizeof(ev), .on_traffic = echo_traffic };
	gnet_options_t o = { .size = sizeof(o), .backend = GNET_BACKEND_AUTO };
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	echo_run_t run = { .eng = NULL };
	pthread_t th;
	int rc, err;

#ifndef NATIVE_AUDIT_ARCH
	child_end(out, CHILD_SKIPPED, __LINE__, "no seccomp filter written "
	    "for this architecture");
#else
	rc = refuse_io_uring_setup();
	if (rc == -EINVAL || rc == -ENOSYS)
		child_end(out, CHILD_SKIPPED, __LINE__, "seccomp filters "
		    "unavailable here (%s)", strerror(-rc));
	CHILD_CHECK(out, rc == 0, "installing the filter: %s", strerror(-rc));
#endif
	/* The filter is in force: without this the case could pass on a
	 * machine that refuses io_uring anyway, proving nothing. */
	rc = uring_probe();
	CHILD_CHECK(out, rc == -EPERM, "io_uring_setup under the filter: %s",
	    gnet_strerror(rc));
	unsetenv("GNET_BACKEND");
	gnet_log_set(log_hook);

	/* By name: the kernel's refusal, not a fallback. */
	CHILD_CHECK(out, chosen(GNET_BACKEND_URING, NULL, &err) == NULL &&
	    err == GNET_EPERM, "GNET_BACKEND_URING: got %s, want %s",
	    gnet_strerror(err), gnet_strerror(GNET_EPERM));

	/* Auto: epoll, and the log says why. */
	log_reset();
	rc = gnet_engine_new(&run.eng, &ev, &o, NULL);
	CHILD_CHECK(out, rc == 0, "auto: gnet_engine_new: %s",
	    gnet_strerror(rc));
	CHILD_CHECK(out, strcmp(gnet_engine_backend(run.eng), "epoll") == 0,
	    "auto under the filter runs on %s", gnet_engine_backend(run.eng));
	CHILD_CHECK(out, logged(1, "io_uring unavailable") != NULL,
	    "no warning containing \"io_uring unavailable\"");

	/* And the fallback serves. */
	rc = gnet_engine_listen(run.eng, "tcp://127.0.0.1:0");
	CHILD_CHECK(out, rc == 0, "listen: %s", gnet_strerror(rc));
	rc = gnet_engine_addr(run.eng, 0, &ss, &len);
	CHILD_CHECK(out, rc == 0, "gnet_engine_addr: %s", gnet_strerror(rc));
	run.port = tn_addr_port(&ss);
	CHILD_CHECK(out, pthread_create(&th, NULL, echo_client, &run) == 0,
	    "pthread_create");
	rc = gnet_engine_run(run.eng);
	pthread_join(th, NULL);
	CHILD_CHECK(out, rc == 0, "gnet_engine_run: %s", gnet_strerror(rc));
	CHILD_CHECK(out, run.ok, "echo on the fallback: %s", run.why);
	gnet_engine_free(run.eng);
	gnet_log_set(NULL);
	/* exit, not _exit: under ASan the leak check runs on this child. */
	exit(CHILD_OK);
}

/* Read what the child says until it closes the pipe (it exits), then reap
 * it; both within CHILD_MS, after which it is killed and the test fails.
 * Returns its wait status. */
static int
child_result(pid_t pid, int in, char *msg, size_t cap)
{
	int64_t deadline = tn_now_ms() + CHILD_MS;
	size_t len = 0;
	pid_t r = 0;
	int st = 0;

	for (;;) {
		struct pollfd pfd = { .fd = in, .events = POLLIN };
		int64_t left = deadline - tn_now_ms();
		ssize_t n;
		int ready;

		if (left <= 0)
			break;
		ready = poll(&pfd, 1, (int)left);
		if (ready < 0 && errno == EINTR)
			continue;
		if (ready <= 0)
			break;
		n = read(in, msg + len, cap - 1 - len);
		if (n > 0)
			len += (size_t)n;
		else if (n == 0 || errno != EINTR)
			break;
	}
	msg[len] = '\0';
	TN_WAIT_UNTIL((r = waitpid(pid, &st, WNOHANG)) != 0, deadline -
	    tn_now_ms());
	if (r == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		ck_abort_msg("the fallback child did not finish within %d ms "
		    "(it said: %s)", CHILD_MS, msg);
	}
	ck_assert_int_eq(r, pid);
	return st;
}

START_TEST(test_fallback_under_seccomp)
{
	char msg[512];
	int pfd[2], st;
	pid_t pid;

	ck_assert_int_eq(pipe2(pfd, O_CLOEXEC), 0);
	/* What stdio holds would otherwise be written twice. */
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(pfd[0]);
		fallback_child(pfd[1]);
	}
	close(pfd[1]);
	st = child_result(pid, pfd[0], msg, sizeof(msg));
	close(pfd[0]);
	if (WIFEXITED(st) && WEXITSTATUS(st) == CHILD_SKIPPED) {
		fprintf(stderr, "fallback under seccomp: skipped: %s\n", msg);
		return;
	}
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == CHILD_OK &&
	    msg[0] == '\0', "fallback child: %s %d: %s",
	    WIFEXITED(st) ? "exit status" : "signal",
	    WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st), msg);
}
END_TEST

/* ------------------------------------------------------------------------
 * Semantics: the ops tables driven directly, as a loop drives them, with
 * an eventfd as the waker. Every call is made on the test's thread: the
 * io_uring backend's ring takes submissions only from the thread that
 * first waited.
 */
static const gnet__poller_ops_t *const backends[] = {
	&gnet__poller_epoll,
	&gnet__poller_uring,
};
#define N_BACKENDS ((int)(sizeof(backends) / sizeof(backends[0])))

typedef struct ptest {
	gnet__poller_t p;
	int wake;
	int n;                  /* events of the last wait */
	gnet__pevent_t ev[GNET__POLL_BATCH];
	int32_t res[GNET__POLL_BATCH];
} ptest_t;

/* Open backend i (the loop test's _i): 1, or 0 when it is io_uring and
 * this machine refuses it (the case then says so and passes). */
static int
ptest_open(ptest_t *t, int i, const char *what)
{
	int rc;

	memset(t, 0, sizeof(*t));
	if (backends[i] == &gnet__poller_uring && (rc = uring_probe()) != 0) {
		fprintf(stderr, "%s on io_uring: skipped, io_uring_setup "
		    "refused here (%s)\n", what, gnet_strerror(rc));
		return 0;
	}
	t->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ck_assert_int_ge(t->wake, 0);
	t->p.ops = backends[i];
	t->p.fd = -1;
	rc = t->p.ops->open(&t->p, t->wake);
	ck_assert_msg(rc == 0, "%s: open: %s", t->p.ops->name,
	    gnet_strerror(rc));
	return 1;
}

static void
ptest_close(ptest_t *t)
{
	t->p.ops->close(&t->p);
	close(t->wake);
}

/* One wait for at most max events; an error fails the test (-EINTR, a
 * signal, is waited again, as the loop does). Returns the count. */
static int
pwait_max(ptest_t *t, int max, int timeout_ms)
{
	int n;

	do
		n = t->p.ops->wait(&t->p, t->ev, t->res, max, timeout_ms);
	while (n == -EINTR);
	ck_assert_msg(n >= 0 && n <= max, "%s: wait: %d (%s)",
	    t->p.ops->name, n, gnet_strerror(n));
	t->n = n;
	return n;
}

static int
pwait(ptest_t *t, int timeout_ms)
{
	return pwait_max(t, GNET__POLL_BATCH, timeout_ms);
}

/* The last wait's events, for messages. */
static const char *
reported(const ptest_t *t)
{
	static char buf[512];
	size_t len = 0;
	int i;

	buf[0] = '\0';
	if (t->n == 0)
		return "nothing";
	for (i = 0; i < t->n && len < sizeof(buf) - 64; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len,
		    "%s[tag %#llx events %#x]", i ? " " : "",
		    (unsigned long long)t->ev[i].tag,
		    (unsigned)t->ev[i].events);
	return buf;
}

/* Events of the last wait under tag; their bits OR-ed into *bits. */
static int
tagged(const ptest_t *t, uint64_t tag, uint32_t *bits)
{
	int i, k = 0;

	*bits = 0;
	for (i = 0; i < t->n; i++)
		if (t->ev[i].tag == tag) {
			*bits |= t->ev[i].events;
			k++;
		}
	return k;
}

/* Macros, so that a failure names the case's line and the backend. */
#define EXPECT_NONE(t) \
	ck_assert_msg((t)->n == 0, "%s: expected nothing, got %s", \
	    (t)->p.ops->name, reported(t))
/* Exactly one event, under tag, with every bit of `all` and none of
 * `none`. */
#define EXPECT_ONE(t, tg, all, none) \
	ck_assert_msg((t)->n == 1 && (t)->ev[0].tag == (tg) && \
	    ((t)->ev[0].events & (all)) == (all) && \
	    ((t)->ev[0].events & (none)) == 0, \
	    "%s: expected one event under %#llx with %#x, without %#x; " \
	    "got %s", (t)->p.ops->name, (unsigned long long)(tg), \
	    (unsigned)(all), (unsigned)(none), reported(t))
/* Exactly k events under tag in the last wait (others may be there). */
#define EXPECT_TAGGED(t, tg, k) \
	do { \
		uint32_t bits_; \
		ck_assert_msg(tagged((t), (tg), &bits_) == (k), \
		    "%s: expected %d event(s) under %#llx, got %s", \
		    (t)->p.ops->name, (k), (unsigned long long)(tg), \
		    reported(t)); \
	} while (0)
/* An add, mod or del returned want (0 or a negated errno). */
#define EXPECT_CTL(t, call, want) \
	do { \
		int rc_ = (call); \
		ck_assert_msg(rc_ == (want), "%s: %s returned %d, want %d", \
		    (t)->p.ops->name, #call, rc_, (want)); \
	} while (0)
#define ADD(t, fd, tag, ev) (t)->p.ops->add(&(t)->p, (fd), (tag), (ev))
#define MOD(t, fd, tag, ev) (t)->p.ops->mod(&(t)->p, (fd), (tag), (ev))
#define DEL(t, fd) (t)->p.ops->del(&(t)->p, (fd))

/* Descriptor pairs: [0] is watched, [1] is the peer that writes. */
static void
new_pipe(int fds[2])
{
	ck_assert_int_eq(pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
}

static void
new_socketpair(int fds[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0, fds), 0);
}

static void
close_pair(int fds[2])
{
	tn_close(&fds[0]);
	tn_close(&fds[1]);
}

static void
put(int fd, const char *s)
{
	ck_assert_int_eq(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

/* Read everything there is; returns the count. */
static size_t
drain(int fd)
{
	char buf[256];
	size_t total = 0;
	ssize_t r;

	while ((r = read(fd, buf, sizeof(buf))) > 0)
		total += (size_t)r;
	return total;
}

static int
unread(int fd)
{
	int n = -1;

	ck_assert_int_eq(ioctl(fd, FIONREAD, &n), 0);
	return n;
}

/* a. Level-triggered: reported at every wait while there is something
 * to read, on a pipe and on a socket alike; not once drained. */
START_TEST(test_level_reports_until_drained)
{
	ptest_t t;
	int fds[2], kind, k;

	if (!ptest_open(&t, _i, "level"))
		return;
	for (kind = 0; kind < 2; kind++) {
		if (kind == 0)
			new_pipe(fds);
		else
			new_socketpair(fds);
		EXPECT_CTL(&t, ADD(&t, fds[0], TAG_A, GNET__POLL_IN), 0);
		pwait(&t, QUIET_MS);
		EXPECT_NONE(&t);
		put(fds[1], "abc");
		for (k = 0; k < 3; k++) {
			pwait(&t, READY_MS);
			EXPECT_ONE(&t, TAG_A, GNET__POLL_IN, GNET__POLL_OUT);
		}
		/* Partly read is still readable. */
		ck_assert_int_eq(read(fds[0], (char[1]){ 0 }, 1), 1);
		pwait(&t, READY_MS);
		EXPECT_ONE(&t, TAG_A, GNET__POLL_IN, 0);
		ck_assert_uint_eq(drain(fds[0]), 2);
		pwait(&t, QUIET_MS);
		EXPECT_NONE(&t);
		pwait(&t, QUIET_MS);
		EXPECT_NONE(&t);
		EXPECT_CTL(&t, DEL(&t, fds[0]), 0);
		close_pair(fds);
	}
	ptest_close(&t);
}
END_TEST

/* b. Edge-triggered: a write is reported once; bytes left unread are not
 * reported again until something new arrives. The socket layer wakes
 * its waiters at every arrival (a pipe does so only since Linux 5.16),
 * so a socket pair carries the case. */
START_TEST(test_edge_reports_each_arrival_once)
{
	ptest_t t;
	int sp[2];

	if (!ptest_open(&t, _i, "edge"))
		return;
	new_socketpair(sp);
	EXPECT_CTL(&t, ADD(&t, sp[0], TAG_A, GNET__POLL_IN |
	    GNET__POLL_EDGE), 0);
	pwait(&t, QUIET_MS);
	EXPECT_NONE(&t);
	put(sp[1], "x");
	pwait(&t, READY_MS);
	EXPECT_ONE(&t, TAG_A, GNET__POLL_IN, GNET__POLL_OUT);
	/* Nothing new: nothing reported, though the byte is still there. */
	pwait(&t, QUIET_MS);
	EXPECT_NONE(&t);
	pwait(&t, QUIET_MS);
	EXPECT_NONE(&t);
	ck_assert_int_eq(unread(sp[0]), 1);
	put(sp[1], "y");
	pwait(&t, READY_MS);
	EXPECT_ONE(&t, TAG_A, GNET__POLL_IN, 0);
	pwait(&t, QUIET_MS);
	EXPECT_NONE(&t);
	ck_assert_int_eq(unread(sp[0]), 2);
	EXPECT_CTL(&t, DEL(&t, sp[0]), 0);
	close_pair(sp);
	ptest_close(&t);
}
END_TEST

/* c. Several arrivals before one wait are one event per descriptor in
 * that wait -- a loop runs an actor once per event, and expects one
 * event per actor per turn. */
START_TEST(test_arrivals_merge_into_one_event)
{
	ptest_t t;
	int a[2], b[2], k;
	uint64_t x, y;

	if (!ptest_open(&t, _i, "merge"))
		return;
	/* Edge and level, both in the same wait. */
	new_socketpair(a);
	new_pipe(b);
	EXPECT_CTL(&t, ADD(&t, a[0], TAG_A, GNET__POLL_IN |
	    GNET__POLL_EDGE), 0);
	EXPECT_CTL(&t, ADD(&t, b[0], TAG_B, GNET__POLL_IN), 0);
	pwait(&t, QUIET_MS);
	EXPECT_NONE(&t);
	for (k = 0; k < 3; k++) {
		put(a[1], "a");
		put(b[1], "b");
	}
	pwait(&t, READY_MS);
	ck_assert_msg(t.n == 2, "%s: expected 2 events, got %s", t.p.ops->name,
	    reported(&t));
	EXPECT_TAGGED(&t, TAG_A, 1);
	EXPECT_TAGGED(&t, TAG_B, 1);
	ck_assert_uint_eq(drain(b[0]), 3);
	EXPECT_CTL(&t, DEL(&t, b[0]), 0);
	close_pair(b);

	/* A report left in the poller by a wait that took fewer events than
	 * were ready, and another arrival on that descriptor before the next
	 * wait: still one event. */
	new_socketpair(b);
	EXPECT_CTL(&t, ADD(&t, b[0], TAG_B, GNET__POLL_IN |
	    GNET__POLL_EDGE), 0);
	pwait(&t, QUIET_MS);
	EXPECT_NONE(&t);
	put(a[1], "a");
	put(b[1], "b");
	pwait_max(&t, 1, READY_MS);
	ck_assert_msg(t.n == 1 && (t.ev[0].tag == TAG_A ||
	    t.ev[0].tag == TAG_B), "%s: expected one of two, got %s",
	    t.p.ops->name, reported(&t));
	x = t.ev[0].tag;
	y = x == TAG_A ? TAG_B : TAG_A;
	put(y == TAG_A ? a[1] : b[1], "again");
	pwait(&t, READY_MS);
	EXPECT_ONE(&t, y, GNET__POLL_IN, 0);
	pwait(&t, QUIET_MS);
	EXPECT_NONE(&t);
	EXPECT_CTL(&t, DEL(&t, a[0]), 0);
	EXPECT_CTL(&t, DEL(&t, b[0]), 0);
	close_pair(a);
	close_pair(b);
	ptest_close(&t);
}
END_TEST

/* d. mod: a change of interest reports what is already waiting, under the
 * tag it now names; re-registering an edge-triggered descriptor reports
 * its unread bytes again (what a reader that stopped early relies on). */
START_TEST(test_mod_reports_what_is_waiting)
{
	ptest_t t;
	int sp[2];

	if (!ptest_open(&t, _i, "mod"))
		return;
	new_socketpair(sp);
	EXPECT_CTL(&t, ADD(&t, sp[0], TAG_A, GNET__POLL_OUT), 0);
	pwait(&t, READY_MS);
	EXPECT_ONE(&t, TAG_A, GNET__POLL_OUT, GNET__POLL_IN);
	/* Bytes arrive while only OUT is asked for: not reported as IN. */
	put(sp[1], "x");
	pwait(&t, READY_MS);
	EXPECT_ONE(&t, TAG_A, GNET__POLL_OUT, GNET__POLL_IN);
	EXPECT_CTL(&t, MOD(&t, sp[0], TAG_A, GNET__POLL_IN), 0);
	pwait(&t, READY_MS);
	EXPECT_ONE(&t, TAG_A, GNET__POLL_IN, GNET__POLL_OUT);
	/* Another tag: the report names it, and only it. */
	EXPECT_CTL(&t, MOD(&t, sp[0], TAG_B, GNET__POLL_IN), 0);
	pwait(&t, READY_MS);
	EXPECT_ONE(&t, TAG_B, GNET__POLL_IN, GNET__POLL_OUT);
	ck_assert_uint_eq(drain(sp[0]), 1);
	pwait(&t, QUIET_MS);
	EXPECT_NONE(&t);

	/* Edge-triggered, nothing waiting: a mod reports nothing. */
	EXPECT_CTL(&t, MOD(&t, sp[0], TAG_C, GNET__POLL_IN |
	    GNET__POLL_EDGE), 0);
	pwait(&t, QUIET_MS);
	EXPECT_NONE(&t);
	put(sp[1], "y");
	pwait(&t, READY_MS);
	EXPECT_ONE(&t, TAG_C, GNET__POLL_IN, 0);
	pwait(&t, QUIET_MS);
	EXPECT_NONE(&t);
	/* The same interest again: the unread byte is reported again, once. */
	EXPECT_CTL(&t, MOD(&t, sp[0], TAG_C, GNET__POLL_IN |
	    GNET__POLL_EDGE), 0);
	pwait(&t, READY_MS);
	EXPECT_ONE(&t, TAG_C, GNET__POLL_IN, 0);
	pwait(&t, QUIET_MS);
	EXPECT_NONE(&t);
	EXPECT_CTL(&t, DEL(&t, sp[0]), 0);
	close_pair(sp);
	ptest_close(&t);
}
END_TEST

/* e. del: no report after it, and none reaches whoever registers the
 * descriptor's number next -- a connection closed and a new one accepted
 * onto the same number must not be handed the old one's readiness. */
START_TEST(test_del_leaves_no_stale_event)
{
	ptest_t t;
	int x[2], old[2], nw[2], k, number;

	if (!ptest_open(&t, _i, "del"))
		return;
	/* A readable descriptor, still open: del silences it. */
	new_pipe(old);
	EXPECT_CTL(&t, ADD(&t, old[0], TAG_A, GNET__POLL_IN), 0);
	put(old[1], "o");
	pwait(&t, READY_MS);
	EXPECT_ONE(&t, TAG_A, GNET__POLL_IN, 0);
	EXPECT_CTL(&t, DEL(&t, old[0]), 0);
	pwait(&t, QUIET_MS);
	EXPECT_NONE(&t);
	close_pair(old);

	/* Now with a report pending inside the poller when del comes. Two
	 * readable descriptors, waits of one event each until x's comes out:
	 * old's is then still queued (on epoll's ready list, in io_uring's
	 * completion queue). */
	new_pipe(x);
	new_pipe(old);
	EXPECT_CTL(&t, ADD(&t, x[0], TAG_B, GNET__POLL_IN), 0);
	EXPECT_CTL(&t, ADD(&t, old[0], TAG_A, GNET__POLL_IN), 0);
	put(x[1], "x");
	put(old[1], "o");
	for (k = 0; k < 4; k++) {
		pwait_max(&t, 1, READY_MS);
		ck_assert_msg(t.n == 1, "%s: expected one event, got %s",
		    t.p.ops->name, reported(&t));
		if (t.ev[0].tag == TAG_B)
			break;
	}
	ck_assert_msg(k < 4, "%s: x never reported in 4 waits",
	    t.p.ops->name);
	ck_assert_uint_eq(drain(x[0]), 1);
	EXPECT_CTL(&t, DEL(&t, old[0]), 0);
	number = old[0];
	close_pair(old);
	/* The same number, another descriptor, another tag. */
	new_pipe(nw);
	if (nw[0] != number) {
		ck_assert_int_eq(dup2(nw[0], number), number);
		close(nw[0]);
		nw[0] = number;
	}
	EXPECT_CTL(&t, ADD(&t, nw[0], TAG_C, GNET__POLL_IN), 0);
	/* It has nothing to read: any report now is the old one's. */
	pwait(&t, QUIET_MS);
	EXPECT_NONE(&t);
	put(nw[1], "n");
	pwait(&t, READY_MS);
	EXPECT_ONE(&t, TAG_C, GNET__POLL_IN, 0);
	ck_assert_uint_eq(drain(nw[0]), 1);
	pwait(&t, QUIET_MS);
	EXPECT_NONE(&t);
	EXPECT_CTL(&t, DEL(&t, nw[0]), 0);
	EXPECT_CTL(&t, DEL(&t, x[0]), 0);
	close_pair(nw);
	close_pair(x);
	ptest_close(&t);
}
END_TEST

/* e'. del lets the descriptor go: once the poller has handed the kernel
 * what del left for it (the next wait, or quiesce when the loop leaves),
 * closing the socket closes it -- a request that still held it would
 * keep the peer from ever seeing the end of the stream. */
START_TEST(test_del_releases_the_descriptor)
{
	ptest_t t;
	int sp[2], how;

	if (!ptest_open(&t, _i, "del releases"))
		return;
	for (how = 0; how < 2; how++) {
		new_socketpair(sp);
		EXPECT_CTL(&t, ADD(&t, sp[0], TAG_A, how == 0 ?
		    GNET__POLL_IN : GNET__POLL_IN | GNET__POLL_EDGE), 0);
		pwait(&t, QUIET_MS);
		EXPECT_NONE(&t);
		EXPECT_CTL(&t, DEL(&t, sp[0]), 0);
		tn_close(&sp[0]);
		if (how == 0) {
			pwait(&t, QUIET_MS);
			EXPECT_NONE(&t);
		} else if (t.p.ops->quiesce != NULL) {
			t.p.ops->quiesce(&t.p);
		}
		ck_assert_msg(tn_wait_eof(sp[1], READY_MS, NULL) == 1,
		    "%s: the peer saw no end of stream after del, close and "
		    "%s", t.p.ops->name, how == 0 ? "a wait" : "quiesce");
		tn_close(&sp[1]);
	}
	ptest_close(&t);
}
END_TEST

/* f. The waker: a write to the eventfd is reported under tag 0, until the
 * loop drains it; it also ends a wait with no time limit (bounded by the
 * case's timeout: a broken waker hangs the loop, and this case). A
 * backend that reads the waker itself (io_uring with completion) reports
 * it done, once per wakeup, with the eventfd's 8 bytes read and nothing
 * left to drain. */
static void
waker_read_by_backend(ptest_t *t)
{
	eventfd_t v;
	int i;

	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(eventfd_write(t->wake, 1), 0);
		pwait(t, i == 2 ? -1 : READY_MS);
		EXPECT_ONE(t, GNET__POLL_WAKER_TAG,
		    GNET__POLL_DONE | GNET__POLL_IN, 0);
		ck_assert_int_eq(t->res[0], (int32_t)sizeof(v));
		pwait(t, QUIET_MS);
		EXPECT_NONE(t);
	}
}

START_TEST(test_waker_reports_tag_zero)
{
	ptest_t t;
	eventfd_t v;

	if (!ptest_open(&t, _i, "waker"))
		return;
	pwait(&t, QUIET_MS);
	EXPECT_NONE(&t);
	if (t.p.caps & GNET__POLLER_COMPLETION) {
		waker_read_by_backend(&t);
		ptest_close(&t);
		return;
	}
	ck_assert_int_eq(eventfd_write(t.wake, 1), 0);
	pwait(&t, READY_MS);
	EXPECT_ONE(&t, GNET__POLL_WAKER_TAG, GNET__POLL_IN, 0);
	pwait(&t, READY_MS);
	EXPECT_ONE(&t, GNET__POLL_WAKER_TAG, GNET__POLL_IN, 0);
	ck_assert_int_eq(eventfd_read(t.wake, &v), 0);
	ck_assert_uint_eq(v, 1);
	pwait(&t, QUIET_MS);
	EXPECT_NONE(&t);
	ck_assert_int_eq(eventfd_write(t.wake, 1), 0);
	pwait(&t, -1);
	EXPECT_ONE(&t, GNET__POLL_WAKER_TAG, GNET__POLL_IN, 0);
	ptest_close(&t);
}
END_TEST

/* g. A peer's shutdown of its writing side is RDHUP (with IN: the end of
 * the stream is readable), not HUP; its close is HUP. Level, then edge as
 * net/ registers connections. */
START_TEST(test_rdhup_and_hup)
{
	ptest_t t;
	int sp[2];

	if (!ptest_open(&t, _i, "rdhup"))
		return;
	new_socketpair(sp);
	EXPECT_CTL(&t, ADD(&t, sp[0], TAG_A, GNET__POLL_IN |
	    GNET__POLL_RDHUP), 0);
	pwait(&t, QUIET_MS);
	EXPECT_NONE(&t);
	ck_assert_int_eq(shutdown(sp[1], SHUT_WR), 0);
	pwait(&t, READY_MS);
	EXPECT_ONE(&t, TAG_A, GNET__POLL_IN | GNET__POLL_RDHUP,
	    GNET__POLL_HUP);
	tn_close(&sp[1]);
	pwait(&t, READY_MS);
	EXPECT_ONE(&t, TAG_A, GNET__POLL_RDHUP | GNET__POLL_HUP, 0);
	EXPECT_CTL(&t, DEL(&t, sp[0]), 0);
	close_pair(sp);

	new_socketpair(sp);
	EXPECT_CTL(&t, ADD(&t, sp[0], TAG_B, GNET__POLL_IN |
	    GNET__POLL_RDHUP | GNET__POLL_EDGE), 0);
	pwait(&t, QUIET_MS);
	EXPECT_NONE(&t);
	ck_assert_int_eq(shutdown(sp[1], SHUT_WR), 0);
	pwait(&t, READY_MS);
	EXPECT_ONE(&t, TAG_B, GNET__POLL_RDHUP, GNET__POLL_HUP);
	pwait(&t, QUIET_MS);
	EXPECT_NONE(&t);
	EXPECT_CTL(&t, DEL(&t, sp[0]), 0);
	close_pair(sp);
	ptest_close(&t);
}
END_TEST

/* h. The errors of add, mod and del are epoll_ctl's on both. */
START_TEST(test_ctl_errors_agree)
{
	ptest_t t;
	int fds[2];

	if (!ptest_open(&t, _i, "ctl errors"))
		return;
	new_pipe(fds);
	EXPECT_CTL(&t, ADD(&t, fds[0], TAG_A, GNET__POLL_IN), 0);
	EXPECT_CTL(&t, ADD(&t, fds[0], TAG_B, GNET__POLL_IN), -EEXIST);
	EXPECT_CTL(&t, MOD(&t, fds[1], TAG_B, GNET__POLL_OUT), -ENOENT);
	EXPECT_CTL(&t, DEL(&t, fds[1]), -ENOENT);
	pwait(&t, QUIET_MS);
	EXPECT_NONE(&t);
	EXPECT_CTL(&t, DEL(&t, fds[0]), 0);
	EXPECT_CTL(&t, DEL(&t, fds[0]), -ENOENT);
	EXPECT_CTL(&t, MOD(&t, fds[0], TAG_A, GNET__POLL_IN), -ENOENT);
	/* Deleted, it may be added again. */
	EXPECT_CTL(&t, ADD(&t, fds[0], TAG_B, GNET__POLL_IN), 0);
	put(fds[1], "z");
	pwait(&t, READY_MS);
	EXPECT_ONE(&t, TAG_B, GNET__POLL_IN, 0);
	EXPECT_CTL(&t, DEL(&t, fds[0]), 0);
	close_pair(fds);
	ptest_close(&t);
}
END_TEST

/* j. Accepts in the ring (GNET__POLL_ACCEPT, completion backends): each
 * connection comes as its own done event, with a descriptor that is
 * nonblocking and close-on-exec and the peer's address; none while
 * interest in IN is dropped (the connection stays in the backlog); and
 * no accepted descriptor is left open after del and close. */
static int
listening_socket(struct sockaddr_in *sa)
{
	socklen_t len = sizeof(*sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)sa, sizeof(*sa)), 0);
	ck_assert_int_eq(listen(fd, 16), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)sa, &len), 0);
	return fd;
}

static int
client_of(const struct sockaddr_in *sa, struct sockaddr_in *self)
{
	socklen_t len = sizeof(*self);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(connect(fd, (const struct sockaddr *)sa,
	    sizeof(*sa)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)self, &len), 0);
	return fd;
}

static int
open_fds(void)
{
	int fd, n = 0;

	for (fd = 0; fd < 4096; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			n++;
	return n;
}

/* Wait until `want` accepts came; each is checked against the client
 * whose port it names, and closed. */
static void
expect_accepts(ptest_t *t, int lfd, const struct sockaddr_in *clients,
    int nclients, int want)
{
	int got = 0, rounds, i, c;

	for (rounds = 0; got < want && rounds < 20; rounds++) {
		pwait(t, READY_MS);
		for (i = 0; i < t->n; i++) {
			socklen_t len = 0, rlen = sizeof(struct sockaddr_in);
			const struct sockaddr_in *peer;
			struct sockaddr_in real;
			int fd = t->res[i];
			ck_assert_msg(t->ev[i].tag == TAG_A &&
			    (t->ev[i].events & (GNET__POLL_DONE | GNET__POLL_IN)) ==
			    (GNET__POLL_DONE | GNET__POLL_IN),
			    "%s: not an accept: %s", t->p.ops->name, reported(t));
			ck_assert_msg(fd >= 0, "%s: accept failed: %s",
			    t->p.ops->name, gnet_strerror(fd));
			ck_assert(fcntl(fd, F_GETFL) & O_NONBLOCK);
			ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
			peer = (const struct sockaddr_in *)t->p.ops->accepted(
			    &t->p, lfd, t->ev[i].events, &len);
			ck_assert_ptr_nonnull(peer);
			ck_assert_uint_eq(len, sizeof(*peer));
			ck_assert_int_eq(getpeername(fd, (struct sockaddr *)&real,
			    &rlen), 0);
			ck_assert_msg(real.sin_port == peer->sin_port,
			    "%s: accept %d: its address names port %u, its "
			    "socket's peer is at %u", t->p.ops->name, got,
			    ntohs(peer->sin_port), ntohs(real.sin_port));
			for (c = 0; c < nclients; c++)
				if (clients[c].sin_port == peer->sin_port)
					break;
			ck_assert_msg(c < nclients && peer->sin_addr.s_addr ==
			    clients[c].sin_addr.s_addr, "%s: accept %d names "
			    "no client (port %u)", t->p.ops->name, got,
			    ntohs(peer->sin_port));
			close(fd);
			got++;
		}
	}
	ck_assert_msg(got == want, "%s: %d of %d connections accepted",
	    t->p.ops->name, got, want);
}

START_TEST(test_accepts_in_the_ring)
{
	ptest_t t;
	struct sockaddr_in sa, self[6];
	int lfd, cl[6], i, before = open_fds(), backlogged;

	if (!ptest_open(&t, _i, "accepts"))
		return;
	if (!(t.p.caps & GNET__POLLER_COMPLETION)) {
		ptest_close(&t);
		return;
	}
	lfd = listening_socket(&sa);
	EXPECT_CTL(&t, ADD(&t, lfd, TAG_A, GNET__POLL_IN | GNET__POLL_ACCEPT),
	    0);
	for (i = 0; i < 3; i++)
		cl[i] = client_of(&sa, &self[i]);
	expect_accepts(&t, lfd, self, 3, 3);
	pwait(&t, QUIET_MS);
	EXPECT_NONE(&t);

	/* Interest dropped: the next connection waits in the backlog. */
	EXPECT_CTL(&t, MOD(&t, lfd, TAG_A, GNET__POLL_ACCEPT), 0);
	pwait(&t, QUIET_MS);
	cl[3] = client_of(&sa, &self[3]);
	pwait(&t, QUIET_MS);
	EXPECT_NONE(&t);
	backlogged = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	ck_assert_msg(backlogged >= 0, "%s: the connection made without "
	    "interest was not in the backlog: %s", t.p.ops->name,
	    strerror(errno));
	close(backlogged);

	/* And back. */
	EXPECT_CTL(&t, MOD(&t, lfd, TAG_A, GNET__POLL_IN | GNET__POLL_ACCEPT),
	    0);
	cl[4] = client_of(&sa, &self[4]);
	expect_accepts(&t, lfd, &self[4], 1, 1);

	/* A connection the ring accepted (quiesce runs the kernel's side
	 * of the ring, and reaps nothing), then del before any wait reported
	 * it: nobody will take that descriptor. */
	cl[5] = client_of(&sa, &self[5]);
	t.p.ops->quiesce(&t.p);
	EXPECT_CTL(&t, DEL(&t, lfd), 0);
	tn_close(&lfd);
	pwait(&t, QUIET_MS);
	EXPECT_NONE(&t);
	for (i = 0; i < 6; i++)
		tn_close(&cl[i]);
	ptest_close(&t);
	ck_assert_msg(open_fds() == before, "%s: %d descriptors open after, "
	    "%d before", t.p.ops->name, open_fds(), before);
}
END_TEST

static Suite *
backend_suite(void)
{
	Suite *s = suite_create("backend");
	TCase *tc = tn_tcase("selection", TCASE_TIMEOUT_S);

	tcase_add_checked_fixture(tc, env_setup, env_teardown);
	tcase_add_test(tc, test_auto_follows_the_kernel);
	tcase_add_test(tc, test_option_wins_over_environment);
	tcase_add_test(tc, test_environment_chooses_at_auto);
	tcase_add_test(tc, test_bad_environment_refused);
	tcase_add_test(tc, test_out_of_range_refused);
	suite_add_tcase(s, tc);

	tc = tn_tcase("fallback", TCASE_TIMEOUT_S);
	tcase_add_checked_fixture(tc, env_setup, env_teardown);
	tcase_add_test(tc, test_fallback_under_seccomp);
	suite_add_tcase(s, tc);

	/* _i: 0 epoll, 1 io_uring (backends[]). */
	tc = tn_tcase("semantics", TCASE_TIMEOUT_S);
	tcase_add_loop_test(tc, test_level_reports_until_drained, 0,
	    N_BACKENDS);
	tcase_add_loop_test(tc, test_edge_reports_each_arrival_once, 0,
	    N_BACKENDS);
	tcase_add_loop_test(tc, test_arrivals_merge_into_one_event, 0,
	    N_BACKENDS);
	tcase_add_loop_test(tc, test_mod_reports_what_is_waiting, 0,
	    N_BACKENDS);
	tcase_add_loop_test(tc, test_del_leaves_no_stale_event, 0,
	    N_BACKENDS);
	tcase_add_loop_test(tc, test_del_releases_the_descriptor, 0,
	    N_BACKENDS);
	tcase_add_loop_test(tc, test_waker_reports_tag_zero, 0, N_BACKENDS);
	tcase_add_loop_test(tc, test_rdhup_and_hup, 0, N_BACKENDS);
	tcase_add_loop_test(tc, test_ctl_errors_agree, 0, N_BACKENDS);
	tcase_add_loop_test(tc, test_accepts_in_the_ring, 0, N_BACKENDS);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tn_run_suite(backend_suite());
}
