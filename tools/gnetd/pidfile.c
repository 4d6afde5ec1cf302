/*
 * pidfile.c -- gnetd's pidfile (pidfile.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pidfile.h"

/* Attempts at replacing a stale file before giving up: another gnetd
 * may be replacing it at the same moment. */
#define PIDFILE_TRIES 3

/* The pid in the file: > 0, 0 when it holds no number, -errno. */
static long
read_pid(const char *path)
{
	char buf[32];
	ssize_t n;
	long pid = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	if (sscanf(buf, "%ld", &pid) != 1 || pid <= 0)
		return 0;
	return pid;
}

int
gnetd_pidfile_holder(const char *path, pid_t *holder)
{
	long pid = read_pid(path);

	if (pid < 0)
		return (int)pid;
	if (pid == 0 || pid == (long)getpid())
		return 0;
	/* EPERM: it lives, as another user's process. */
	if (kill((pid_t)pid, 0) == 0 || errno == EPERM) {
		*holder = (pid_t)pid;
		return 1;
	}
	return 0;
}

int
gnetd_pidfile_write(const char *path, pid_t *holder, char *err,
    size_t errlen)
{
	char tmp[4096], text[32];
	int fd, n, rc, tries, e;

	n = snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		snprintf(err, errlen, "pidfile %s: path too long", path);
		return -ENAMETOOLONG;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		e = errno;
		snprintf(err, errlen, "pidfile %s: %s", tmp, strerror(e));
		return -e;
	}
	n = snprintf(text, sizeof(text), "%ld\n", (long)getpid());
	errno = EIO; /* what a short write reports */
	e = write(fd, text, (size_t)n) == n ? 0 : errno;
	if (close(fd) != 0 && e == 0)
		e = errno;
	if (e != 0) {
		snprintf(err, errlen, "pidfile %s: %s", tmp, strerror(e));
		unlink(tmp);
		return -e;
	}
	for (tries = 1;; tries++) {
		if (link(tmp, path) == 0) {
			rc = 0;
			break;
		}
		if (errno != EEXIST) {
			rc = -errno;
			break;
		}
		rc = gnetd_pidfile_holder(path, holder);
		if (rc != 0)
			break; /* a live holder, or a file we cannot read */
		if (tries == PIDFILE_TRIES) {
			rc = -EEXIST;
			break;
		}
		/* Stale, or naming us: replace it. */
		if (unlink(path) != 0 && errno != ENOENT) {
			rc = -errno;
			break;
		}
	}
	if (rc < 0)
		snprintf(err, errlen, "pidfile %s: %s", path, strerror(-rc));
	else if (rc == 1)
		snprintf(err, errlen, "pidfile %s names process %ld, which is "
		    "running", path, (long)*holder);
	unlink(tmp);
	return rc;
}

void
gnetd_pidfile_remove(const char *path)
{
	if (read_pid(path) == (long)getpid())
		unlink(path);
}
