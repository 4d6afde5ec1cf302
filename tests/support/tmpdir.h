/*
 * tmpdir.h -- a fresh directory under /tmp for the socket files of one
 * test, and the small file checks that go with it.
 *
 * tn_tmpdir_remove fails the test if anything is left inside: a socket
 * file the library should have removed shows up there.
 */
#ifndef TESTS_SUPPORT_TMPDIR_H
#define TESTS_SUPPORT_TMPDIR_H

#include <stddef.h>
#include <sys/un.h>

typedef struct tn_tmpdir {
	char path[64];
} tn_tmpdir_t;

/* mkdtemp /tmp/gnet-<tag>-XXXXXX; fails the test if it cannot. */
void tn_tmpdir_make(tn_tmpdir_t *d, const char *tag);
/* dir/name into out (a sun_path-sized buffer). */
void tn_tmpdir_file(const tn_tmpdir_t *d, const char *name, char *out,
    size_t cap);
/* rmdir, which must succeed: the directory is empty again. */
void tn_tmpdir_remove(tn_tmpdir_t *d);

/* 1 when something (even a dangling link) is at path. */
int tn_path_exists(const char *path);
/* A Unix socket address for path; returns its length. */
int tn_sun_fill(struct sockaddr_un *sun, const char *path);

#endif
