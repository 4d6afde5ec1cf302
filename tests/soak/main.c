/*
 * soak main: start the servers, run the load, watch the servers, judge.
 *
 *   soak [--seconds N] [--examples DIR] [--logs DIR] [--lenient]
 *        [--rss-limit-mb N]
 *
 * --examples: the example binaries (default: BUILD/examples, as the
 * build lays them out next to BUILD/tests/soak/soak); --logs: where the
 * servers' stderr goes, NAME.log (default: next to this program). Exits
 * 0 when every check held, 1 otherwise, 2 on bad arguments.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include "soak.h"

#define SAMPLE_MS 10000
#define FD_LIMIT 1024            /* far above what the clients hold */
#define FD_SETTLE_MS 10000       /* for descriptors to fall back */
#define FD_SLACK 2
#define STOP_MS 20000
#define START_MS 20000

static const char *const names[NSERVERS] = {
	[SRV_ECHO] = "echo", [SRV_HTTP] = "http",
	[SRV_CODEC] = "codec_server", [SRV_PROXY] = "proxy",
};

typedef struct watch {
	long peak_rss_kb;
	int fds_start, peak_fds, fds_end;
} watch_t;

static void
usage(void)
{
	fprintf(stderr, "usage: soak [--seconds N] [--examples DIR] "
	    "[--logs DIR] [--lenient] [--rss-limit-mb N]\n");
	exit(2);
}

static long
number(const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		usage();
	return v;
}

/* Where each server's stderr goes: its closes are logged there, one
 * line per hostile client, and read back at the end for sanitizer
 * reports and the fault counts. */
static char log_dir[PATH_MAX - 64];

static void
log_path(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s.log", log_dir, name);
}

/* Start DIR/name with args; read its "listening on ...:PORT" line. */
static pid_t
start_server(const char *dir, const char *name, char *const args[],
    int *port)
{
	char path[PATH_MAX], line[512], logp[PATH_MAX];
	int out[2];
	pid_t pid, parent = getpid();
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	log_path(logp, sizeof logp, name);
	if (pipe(out) != 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		int err = open(logp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		    0644);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent || err < 0)
			_exit(127);
		dup2(err, STDERR_FILENO);
		dup2(out[1], STDOUT_FILENO);
		close(out[0]);
		close(out[1]);
		execv(path, args);
		_exit(127);
	}
	close(out[1]);
	f = fdopen(out[0], "r");
	if (pid < 0 || f == NULL || fgets(line, sizeof line, f) == NULL) {
		fprintf(stderr, "soak: %s did not start\n", path);
		return -1;
	}
	/* The first address is the server's own (proxy names its backend
	 * after it). */
	char *at = strstr(line, "127.0.0.1:");
	*port = at != NULL ? atoi(at + strlen("127.0.0.1:")) : 0;
	/* The rest of its output is not read: a closed pipe must not kill
	 * it, so keep the descriptor open for the child's lifetime. */
	(void)f;
	fprintf(stderr, "soak: %s", line);
	return *port > 0 ? pid : -1;
}

static int
start_all(soak_t *s, const char *dir)
{
	char echo_backend[64];
	char *echo[] = { "echo", "--port", "0", "--loops", "2", NULL };
	char *http[] = { "http", "--port", "0", "--loops", "2",
		"--head-timeout", "2000", NULL };
	char *codec[] = { "codec_server", "--port", "0", "--loops", "2",
		"--max-frame", "1048576", NULL };
	char *proxy[] = { "proxy", "--port", "0", "--loops", "2",
		"--backend", echo_backend, NULL };

	s->pid[SRV_ECHO] = start_server(dir, "echo", echo, &s->port[SRV_ECHO]);
	if (s->pid[SRV_ECHO] < 0)
		return -1;
	snprintf(echo_backend, sizeof echo_backend, "127.0.0.1:%d",
	    s->port[SRV_ECHO]);
	s->pid[SRV_HTTP] = start_server(dir, "http", http, &s->port[SRV_HTTP]);
	s->pid[SRV_CODEC] = start_server(dir, "codec_server", codec,
	    &s->port[SRV_CODEC]);
	s->pid[SRV_PROXY] = start_server(dir, "proxy", proxy,
	    &s->port[SRV_PROXY]);
	for (int k = 0; k < NSERVERS; k++)
		if (s->pid[k] < 0)
			return -1;
	return 0;
}

/* One sample of every server; returns the number of bounds broken. */
static int
sample(soak_t *s, watch_t *w, long rss_limit_kb, int64_t t0)
{
	int bad = 0;

	fprintf(stderr, "soak: %5.0f s:", (double)(tn_now_ms() - t0) / 1000);
	for (int k = 0; k < NSERVERS; k++) {
		long kb = tn_proc_rss_kb(s->pid[k]);
		int fds = tn_proc_count(s->pid[k], "fd");
		fprintf(stderr, "  %s %ld KiB %d fds", names[k], kb, fds);
		if (kb < 0 || fds < 0) {
			fprintf(stderr, " (GONE)");
			bad++;
			continue;
		}
		w[k].peak_rss_kb = kb > w[k].peak_rss_kb ? kb : w[k].peak_rss_kb;
		w[k].peak_fds = fds > w[k].peak_fds ? fds : w[k].peak_fds;
		if (kb > rss_limit_kb || fds > FD_LIMIT) {
			fprintf(stderr, " (OVER)");
			bad++;
		}
	}
	fprintf(stderr, "\n");
	return bad;
}

/* After the load: descriptors back to where they began, then a clean
 * exit on SIGTERM. Returns the number of servers that failed. */
static int
settle_and_stop(soak_t *s, watch_t *w)
{
	int bad = 0;

	for (int k = 0; k < NSERVERS; k++) {
		int64_t until = tn_now_ms() + FD_SETTLE_MS;
		do {
			w[k].fds_end = tn_proc_count(s->pid[k], "fd");
			if (w[k].fds_end <= w[k].fds_start + FD_SLACK)
				break;
			usleep(100 * 1000);
		} while (tn_now_ms() < until);
		if (w[k].fds_end > w[k].fds_start + FD_SLACK) {
			fprintf(stderr, "soak: %s holds %d descriptors after the "
			    "load, %d before it\n", names[k], w[k].fds_end,
			    w[k].fds_start);
			bad++;
		}
	}
	for (int k = NSERVERS - 1; k >= 0; k--) {
		int st = 0;
		pid_t r = 0;
		kill(s->pid[k], SIGTERM);
		for (int64_t until = tn_now_ms() + STOP_MS;
		    (r = waitpid(s->pid[k], &st, WNOHANG)) == 0 &&
		    tn_now_ms() < until;)
			usleep(50 * 1000);
		if (r != s->pid[k] || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "soak: %s did not exit 0 on SIGTERM "
			    "(status %#x)\n", names[k], r == s->pid[k] ? st : -1);
			if (r != s->pid[k])
				kill(s->pid[k], SIGKILL);
			bad++;
		}
	}
	return bad;
}

/* A server's log: sanitizer reports fail the soak; the fault counts
 * are shown. Returns the number of reports. */
static int
scan_log(const char *name)
{
	char path[PATH_MAX], line[1024];
	int reports = 0;
	FILE *f;

	log_path(path, sizeof path, name);
	f = fopen(path, "r");
	if (f == NULL)
		return 1;
	while (fgets(line, sizeof line, f) != NULL) {
		if (strstr(line, "Sanitizer") != NULL ||
		    strstr(line, "runtime error:") != NULL) {
			fprintf(stderr, "soak: %s: %s", name, line);
			reports++;
		}
		if (strncmp(line, "gnet faults injected:", 21) == 0)
			printf("%s: %s", name, line);
	}
	fclose(f);
	return reports;
}

static int
report(const watch_t *w, int seconds)
{
	soak_tally_t *t = soak_tallies();
	int failures = 0;

	printf("\nsoak: %d s\n\n", seconds);
	printf("| clients | sessions | exchanges verified | bytes verified "
	    "| ended by server | failures |\n|---|---|---|---|---|---|\n");
	for (; t->name != NULL; t++) {
		printf("| %s | %lu | %lu | %lu | %lu | %lu |\n", t->name,
		    atomic_load(&t->sessions), atomic_load(&t->exchanges),
		    atomic_load(&t->bytes), atomic_load(&t->cut),
		    atomic_load(&t->failures));
		failures += (int)atomic_load(&t->failures);
	}
	printf("\n| server | peak RSS KiB | fds at start | peak fds | fds at "
	    "end |\n|---|---|---|---|---|\n");
	for (int k = 0; k < NSERVERS; k++)
		printf("| %s | %ld | %d | %d | %d |\n", names[k],
		    w[k].peak_rss_kb, w[k].fds_start, w[k].peak_fds,
		    w[k].fds_end);
	printf("\n");
	for (int k = 0; k < NSERVERS; k++)
		failures += scan_log(names[k]);
	fflush(stdout);
	return failures;
}

int
main(int argc, char **argv)
{
	static soak_t s;
	watch_t w[NSERVERS] = { { 0 } };
	char dir[PATH_MAX] = "", self[PATH_MAX - 128];
	long seconds = 300, rss_limit_kb = 256 * 1024;
	int bad = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
			seconds = number(argv[++i], 1, 7 * 24 * 3600);
		else if (strcmp(argv[i], "--examples") == 0 && i + 1 < argc)
			snprintf(dir, sizeof dir, "%s", argv[++i]);
		else if (strcmp(argv[i], "--logs") == 0 && i + 1 < argc)
			snprintf(log_dir, sizeof log_dir, "%s", argv[++i]);
		else if (strcmp(argv[i], "--lenient") == 0)
			s.lenient = true;
		else if (strcmp(argv[i], "--rss-limit-mb") == 0 && i + 1 < argc)
			rss_limit_kb = number(argv[++i], 1, 1L << 20) * 1024;
		else
			usage();
	}
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0)
		return 2;
	self[n] = '\0';
	*strrchr(self, '/') = '\0';                  /* BUILD/tests/soak */
	if (log_dir[0] == '\0')
		snprintf(log_dir, sizeof log_dir, "%s", self);
	*strrchr(self, '/') = '\0';                  /* BUILD/tests */
	*strrchr(self, '/') = '\0';                  /* BUILD */
	if (dir[0] == '\0')
		snprintf(dir, sizeof dir, "%s/examples", self);
	signal(SIGPIPE, SIG_IGN);
	if (start_all(&s, dir) != 0)
		return 1;
	for (int k = 0; k < NSERVERS; k++)
		w[k].fds_start = tn_proc_count(s.pid[k], "fd");
	int64_t t0 = tn_now_ms();
	s.end_ms = t0 + seconds * 1000;
	if (soak_load_start(&s) != 0) {
		fprintf(stderr, "soak: cannot start the clients\n");
		atomic_store(&s.stop, true);
		bad++;
	}
	while (tn_now_ms() < s.end_ms && bad == 0) {
		int64_t next = tn_now_ms() + SAMPLE_MS;
		while (tn_now_ms() < next && tn_now_ms() < s.end_ms)
			usleep(100 * 1000);
		bad += sample(&s, w, rss_limit_kb, t0);
	}
	atomic_store(&s.stop, true);
	soak_load_join();
	bad += settle_and_stop(&s, w);
	bad += report(w, (int)seconds);
	printf("\nsoak: %s\n", bad == 0 ? "passed" : "FAILED");
	return bad == 0 ? 0 : 1;
}
