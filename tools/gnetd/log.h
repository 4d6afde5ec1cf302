/*
 * log.h -- gnetd's log: its own lines and the host's (the modules'), one
 * record a line:
 *
 *   2026-12-06T19:40:34.123Z [4242] info echo: loaded (echo.so, version 1)
 *
 * to stderr, or appended to the logfile. Any thread may log at any time:
 * each line is built whole and written with one write(2) on a descriptor
 * opened O_APPEND, so lines from several loops never interleave. SIGHUP
 * reopens the file (after logrotate moved it) by dup2()ing the new file
 * over the same descriptor, which a writer on another thread can never
 * see closed.
 */
#ifndef GNETD_LOG_H
#define GNETD_LOG_H

#include <stddef.h>

/* Lines go to `path` (NULL: stderr) when their level is at most `level`
 * (GNETD_LOG_*). Returns 0, or -errno with why in err. */
int gnetd_log_open(const char *path, int level, char *err, size_t errlen);

/* Open the logfile again at its path (SIGHUP). Returns 0 (also when
 * logging to stderr), or -errno with why in err: lines then keep going
 * to the file that was open. */
int gnetd_log_reopen(char *err, size_t errlen);

/* One record from `who` (gnetd, or a module's name; NULL: none). */
void gnetd_log(int level, const char *who, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The host's log hook (gnet_host_options_t.log). */
void gnetd_log_host(int level, const char *module, const char *msg,
    void *udata);

/* 1 when lines go to a logfile, 0 when to stderr. */
int gnetd_log_to_file(void);

/* Close the logfile; later lines go to stderr. */
void gnetd_log_close(void);

#endif
