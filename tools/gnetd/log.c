/*
 * log.c -- gnetd's log (log.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gnetmodule.h"
#include "config.h"
#include "log.h"

_Static_assert(GNETD_LOG_ERROR == GNETMODULE_LOG_ERROR &&
    GNETD_LOG_WARNING == GNETMODULE_LOG_WARNING &&
    GNETD_LOG_INFO == GNETMODULE_LOG_INFO,
    "gnetd's log levels are the modules' levels");

/* A record longer than this is cut: one write(2) of a line this size to
 * an O_APPEND file is not split by the kernel. */
#define LOG_LINE_CAP 2048

/* The descriptor lines go to; stays the same number for the whole run
 * (reopen dup2()s over it), so writers need no lock. */
static atomic_int log_fd = STDERR_FILENO;
static atomic_int log_level = GNETD_DEFAULT_LOGLEVEL;
static char *log_path;      /* NULL: stderr; set and read on the main and
                             * signal threads, never while both can */

static int
open_append(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

int
gnetd_log_open(const char *path, int level, char *err, size_t errlen)
{
	int fd;

	atomic_store(&log_level, level);
	if (path == NULL)
		return 0;
	if ((fd = open_append(path)) < 0) {
		int e = errno;
		snprintf(err, errlen, "logfile %s: %s", path, strerror(e));
		return -e;
	}
	if ((log_path = strdup(path)) == NULL) {
		close(fd);
		snprintf(err, errlen, "logfile %s: out of memory", path);
		return -ENOMEM;
	}
	atomic_store(&log_fd, fd);
	return 0;
}

int
gnetd_log_reopen(char *err, size_t errlen)
{
	int fd, e;

	if (log_path == NULL)
		return 0;
	if ((fd = open_append(log_path)) < 0) {
		e = errno;
		snprintf(err, errlen, "reopening logfile %s: %s", log_path,
		    strerror(e));
		return -e;
	}
	/* dup3 swaps the file under the descriptor in one step; close the
	 * spare number it came in on. */
	if (dup3(fd, atomic_load(&log_fd), O_CLOEXEC) < 0) {
		e = errno;
		close(fd);
		snprintf(err, errlen, "reopening logfile %s: %s", log_path,
		    strerror(e));
		return -e;
	}
	close(fd);
	return 0;
}

int
gnetd_log_to_file(void)
{
	return atomic_load(&log_fd) != STDERR_FILENO;
}

void
gnetd_log_close(void)
{
	int fd = atomic_exchange(&log_fd, STDERR_FILENO);

	if (fd != STDERR_FILENO)
		close(fd);
	free(log_path);
	log_path = NULL;
}

/* Everything before the message: time (UTC, milliseconds), pid, level,
 * who. Returns its length. */
static size_t
line_prefix(char *line, size_t cap, int level, const char *who)
{
	struct timespec ts = { 0 };
	struct tm tm;
	char when[32] = "?";
	int n;

	if (clock_gettime(CLOCK_REALTIME, &ts) == 0 &&
	    gmtime_r(&ts.tv_sec, &tm) != NULL)
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line, cap, "%s.%03ldZ [%ld] %s %s%s", when,
	    ts.tv_nsec / 1000000, (long)getpid(), gnetd_loglevel_name(level),
	    who != NULL ? who : "", who != NULL ? ": " : "");
	return n < 0 ? 0 : (size_t)n >= cap ? cap - 1 : (size_t)n;
}

static void
write_record(int level, const char *who, const char *fmt, va_list ap)
{
	char line[LOG_LINE_CAP];
	size_t len, i, start;
	int n;

	if (level > atomic_load(&log_level))
		return;
	start = len = line_prefix(line, sizeof(line) - 1, level, who);
	n = vsnprintf(line + len, sizeof(line) - 1 - len, fmt, ap);
	if (n > 0)
		len += (size_t)n < sizeof(line) - 1 - len ? (size_t)n :
		    sizeof(line) - 2 - len;
	/* One record, one line: a newline in a message would let it forge
	 * the next record. */
	for (i = start; i < len; i++)
		if ((unsigned char)line[i] < 0x20)
			line[i] = ' ';
	line[len++] = '\n';
	while (write(atomic_load(&log_fd), line, len) < 0 && errno == EINTR)
		;
}

void
gnetd_log(int level, const char *who, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	write_record(level, who, fmt, ap);
	va_end(ap);
}

void
gnetd_log_host(int level, const char *module, const char *msg, void *udata)
{
	(void)udata;
	if (level < GNETD_LOG_ERROR)
		level = GNETD_LOG_ERROR;
	if (level > GNETD_LOG_INFO)
		level = GNETD_LOG_INFO;
	gnetd_log(level, module, "%s", msg);
}
