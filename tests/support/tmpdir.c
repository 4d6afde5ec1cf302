/*
 * tmpdir.c -- per-test directories for socket files (see tmpdir.h).
 */
#include "tmpdir.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

void
tn_tmpdir_make(tn_tmpdir_t *d, const char *tag)
{
	int n = snprintf(d->path, sizeof d->path, "/tmp/gnet-%s-XXXXXX", tag);

	ck_assert(n > 0 && (size_t)n < sizeof d->path);
	ck_assert_msg(mkdtemp(d->path) != NULL, "mkdtemp: %s", strerror(errno));
}

void
tn_tmpdir_file(const tn_tmpdir_t *d, const char *name, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s/%s", d->path, name);

	ck_assert(n > 0 && (size_t)n < cap);
}

void
tn_tmpdir_remove(tn_tmpdir_t *d)
{
	ck_assert_msg(rmdir(d->path) == 0, "rmdir %s: %s (a file left behind?)",
	    d->path, strerror(errno));
}

int
tn_path_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

int
tn_sun_fill(struct sockaddr_un *sun, const char *path)
{
	memset(sun, 0, sizeof *sun);
	sun->sun_family = AF_UNIX;
	ck_assert(strlen(path) < sizeof sun->sun_path);
	strcpy(sun->sun_path, path);
	return (int)sizeof *sun;
}
