/*
 * pidfile.h -- the file that tells a service manager (and a second gnetd)
 * which process serves.
 *
 * gnetd checks the file before it loads anything, so a second instance is
 * refused before it touches a port, and writes it once every module
 * listens. The write cannot race another gnetd: the pid goes into a
 * private temporary file that is then link()ed to the path, which fails
 * if the path exists -- so a reader never sees a half-written file and
 * two instances never both win. A file naming a process that is gone is
 * stale and replaced. At exit the file is removed only if it still names
 * this process.
 */
#ifndef GNETD_PIDFILE_H
#define GNETD_PIDFILE_H

#include <stddef.h>
#include <sys/types.h>

/* 0 when no live process holds path (no file, a stale one, or one naming
 * this very process, as after a restart in a container where the pid is
 * always 1); 1 with *holder when one does; -errno when the file cannot be
 * read. */
int gnetd_pidfile_holder(const char *path, pid_t *holder);

/* Write this process's pid to path. Returns 0; 1 with *holder when a
 * live process holds it; or -errno, with why in err. */
int gnetd_pidfile_write(const char *path, pid_t *holder, char *err,
    size_t errlen);

/* Remove path if it names this process. */
void gnetd_pidfile_remove(const char *path);

#endif
