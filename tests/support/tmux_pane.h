/*
 * tmux_pane.h -- a full-screen program driven in a tmux pane of known
 * size, for suites that test a terminal interface (gnet-top's screen) as
 * a person uses it: keys in, the screen's text out.
 *
 * Each pane has its own tmux server (a socket in a fresh directory, no
 * config file), so a test never meets the user's tmux or another suite's.
 * The program runs under `sh -c`, which after it exits prints
 * "EXITED <status>" and stays (sleeping, for a minute) so the pane, with
 * what the program left on it and the terminal modes it left, can still
 * be read. Every wait is bounded; tn_pane_close kills the server. A
 * failed check ends a forked test at once, without its teardown, and a
 * tmux server is no child of the test's to die with it: tn_pane_sweep,
 * an unchecked teardown, kills what the suite's tests left.
 */
#ifndef TESTS_SUPPORT_TMUX_PANE_H
#define TESTS_SUPPORT_TMUX_PANE_H

#include <stddef.h>

#define TN_PANE_TEXT_CAP (64 * 1024)

typedef struct tn_pane {
	char dir[64];           /* the server's directory */
	char sock[96];          /* its socket */
	int open;
	char text[TN_PANE_TEXT_CAP]; /* the last capture */
} tn_pane_t;

/* Start argv (NULL-terminated; argv[0] a path) in a detached session of
 * cols x rows. Fails the test if tmux cannot start it. */
void tn_pane_start(tn_pane_t *p, int cols, int rows,
    const char *const *argv);

/* The screen's text now, one line per row (trailing blanks trimmed):
 * p->text, valid until the next capture. */
const char *tn_pane_capture(tn_pane_t *p);

/* Capture until pred(screen, arg) holds: 1, or 0 after timeout_ms (the
 * last capture is in p->text for the message). */
int tn_pane_wait(tn_pane_t *p, int (*pred)(const char *screen, void *arg),
    void *arg, int timeout_ms);
/* The same for "the screen contains text" / "does not". */
int tn_pane_wait_text(tn_pane_t *p, const char *text, int timeout_ms);
int tn_pane_wait_gone(tn_pane_t *p, const char *text, int timeout_ms);

/* Type keys, as tmux send-keys names them ("q", "Tab", "Enter"). */
void tn_pane_keys(tn_pane_t *p, const char *keys);
/* Type text literally (send-keys -l). */
void tn_pane_type(tn_pane_t *p, const char *text);

/* A tmux format of the pane ("#{alternate_on}") into out. */
void tn_pane_format(tn_pane_t *p, const char *fmt, char *out, size_t cap);

/* The program's exit status once it exited (the "EXITED N" line),
 * waiting up to timeout_ms; -1 if it did not exit in time. */
int tn_pane_exit_status(tn_pane_t *p, int timeout_ms);

/* Kill the server and remove its directory (also when not started). */
void tn_pane_close(tn_pane_t *p);

/* An unchecked setup and teardown of a suite's case (they run in the
 * suite's process): the first names the panes after that process, the
 * second kills every server and removes every folder its tests left. */
void tn_pane_owner_setup(void);
void tn_pane_sweep(void);

/* The row (0-based) of the first screen line containing text, or -1. */
int tn_screen_row(const char *screen, const char *text);

#endif
