/*
 * child.h -- run the example programs and client tools (socat, curl, wrk,
 * echo_client) as child processes from a Check suite.
 *
 * Every child is tracked until reaped, dies with the test process
 * (PR_SET_PDEATHSIG), and tn_kill_strays (a checked teardown) kills any a
 * failed test left. Examples, tools and modules are found next to the
 * test binary: BUILD/tests/NAME -> BUILD/examples/NAME, BUILD/tools/NAME,
 * BUILD/modules/NAME.so. Every wait has a deadline.
 */
#ifndef TESTS_SUPPORT_CHILD_H
#define TESTS_SUPPORT_CHILD_H

#include <stddef.h>
#include <sys/types.h>

#define TN_MAX_CHILDREN 8          /* children alive at once */
#define TN_TOOL_OUT_CAP (64 * 1024) /* output kept of one tool run */
#define TN_CHILD_START_MS 20000    /* until the listening line (ASan start-up is slow) */
#define TN_CHILD_STOP_MS 20000     /* from a stop signal to exit */

typedef struct tn_example {
	const char *name;
	pid_t pid;
	int out;            /* read end of its stdout */
	char line[512];     /* what it printed first: "NAME: listening on ..." */
	int port;           /* parsed from the line; -1 for a Unix socket */
} tn_example_t;
typedef struct tn_tool_run {
	int status;               /* wait status; -1 when killed on timeout */
	size_t len;
	char out[TN_TOOL_OUT_CAP];   /* stdout (and stderr if merged), NUL-ended */
} tn_tool_run_t;

/* Track a child forked by another harness module, until tn_reap reaps
 * it (or tn_kill_strays kills it). */
void tn_track_child(pid_t pid);

/* Checked teardown: kill and reap every tracked child. */
void tn_kill_strays(void);
/* main() of a suite that runs children: a tool that exits before reading
 * all its input must not kill the suite with SIGPIPE (children get the
 * default back), and strays die with the process also without fork. */
struct Suite;
int tn_run_child_suite(struct Suite *s);
/* In a freshly forked child: die with the test, default signal state
 * (also for SIGINT and SIGTERM, which a shell may have set to ignored). */
void tn_child_prepare(pid_t parent);
/* Wait (bounded) for pid to exit; returns 1 and its status, or 0. */
int tn_reap(pid_t pid, int *status, int timeout_ms);
/* "exit status N", "signal N": a static buffer. */
const char *tn_describe_status(int st);

/* Fork the program at path with args (NULL-ended, without argv[0]; at
 * most TN_SPAWN_MAX_ARGS), its stdin /dev/null, stdout to out, stderr to
 * err; tracked (tn_track_child). Fails the test if it cannot fork. */
#define TN_SPAWN_MAX_ARGS 30
pid_t tn_spawn_to(const char *path, const char *const *args, int out,
    int err);
/* A memory file (memfd) for a child's output, and everything written to
 * it so far as a NUL-ended string (cut to cap - 1); returns the length. */
int tn_memory_file(const char *name);
size_t tn_memory_read(int fd, char *buf, size_t cap);

/* BUILD/SUB/NAME of this build (SUB: examples, tools, modules...): 0, or
 * -1 with errno set (ENOENT when it is not built, ENAMETOOLONG). */
int tn_build_find(const char *sub, const char *name, char *out, size_t cap);
/* The same, failing the test when it is missing. */
void tn_build_path(const char *sub, const char *name, char *out, size_t cap);

/* The path of example NAME of this build; fails the test if missing. */
void tn_example_path(const char *name, char *out, size_t cap);
/* The same without failing: 0, or -1 with errno set (ENOENT when the
 * example is not built, ENAMETOOLONG). */
int tn_example_find(const char *name, char *out, size_t cap);
/* Start example NAME with args (NULL-terminated) and wait for its
 * "NAME: listening on ..." line; ex->port is parsed from it (-1 if none). */
void tn_example_start(tn_example_t *ex, const char *name,
    const char *const *args);
/* Send sig and require exit status 0 within TN_CHILD_STOP_MS. */
void tn_example_stop(tn_example_t *ex, int sig);

/* 1 when `name` is an executable in PATH. */
int tn_have_tool(const char *name);
#define TN_SKIP_WITHOUT(tool, what) \
	(tn_have_tool(tool) ? 0 : \
	    (fprintf(stderr, "SKIP %s: %s is not installed\n", what, tool), 1))

/* Run argv (searched in PATH) with `in` on its stdin and collect its
 * stdout (and stderr when merge_stderr), all within timeout_ms. */
void tn_run_tool(tn_tool_run_t *t, const char *const *argv, const char *in,
    int merge_stderr, int timeout_ms);
/* Fail the test unless the tool exited with status 0. */
void tn_assert_tool_ok(const tn_tool_run_t *t, const char *what);

#endif
