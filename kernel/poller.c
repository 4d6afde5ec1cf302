/*
 * Which backend a loop's poller gets (kernel/poller.h).
 */
#include <errno.h>
#include <stdio.h>
#include "base/log.h"
#include "gnet.h"
#include "kernel/poller.h"

/* Why io_uring may be refused, for the log line: the administrator's
 * switch (/proc/sys/kernel/io_uring_disabled, Linux 6.6) or, failing
 * that, a seccomp filter (containers commonly refuse io_uring). */
static const char *
refusal_hint(int rc)
{
	FILE *f;
	int disabled = 0;

	if (rc != GNET_EPERM && rc != -ENOSYS)
		return "";
	f = fopen("/proc/sys/kernel/io_uring_disabled", "r");
	if (f != NULL) {
		if (fscanf(f, "%d", &disabled) != 1)
			disabled = 0;
		fclose(f);
	}
	return disabled != 0 ? " (kernel.io_uring_disabled is set)" :
	    " (a seccomp filter or an old kernel may refuse it)";
}

int
gnet__poller_open(gnet__poller_t *p, int wake_fd, int backend)
{
	int rc;

	if (backend != GNET_BACKEND_EPOLL) {
		p->ops = &gnet__poller_uring;
		rc = p->ops->open(p, wake_fd);
		if (rc == 0 || backend == GNET_BACKEND_URING)
			return rc;
		gnet__log(1, "io_uring unavailable: %s%s; using epoll",
		    gnet_strerror(rc), refusal_hint(rc));
	}
	p->ops = &gnet__poller_epoll;
	return p->ops->open(p, wake_fd);
}
