/*
 * A BGSAVE or BGREWRITEAOF child must not keep gnet's listening sockets.
 *
 * redis-server forks without exec and closes only its own listeners in
 * the child, so a child that lives for minutes would hold gnet's ports
 * open: connections queue there unanswered, and a restarted server
 * cannot bind them. A pthread_atfork child handler closes, in the child,
 * every listening socket bound to an address gnet listens on. The child
 * has only the forking thread, so no gnet code runs there otherwise.
 *
 * The handler is registered once per load; glibc drops it when the
 * object is dlclose()d (it is tied to the object's handle), so an
 * unloaded module leaves no handler behind. Accepted connections stay
 * open in the child, as Redis's own clients do.
 */
#include <pthread.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include "redis/fork_child.h"

static struct sockaddr_storage listening[FORK_CHILD_MAX_ADDRS];
static socklen_t listening_len[FORK_CHILD_MAX_ADDRS];
static int nlistening;
static int registered;

static int
ours(const struct sockaddr_storage *ss, socklen_t len)
{
	int i;

	for (i = 0; i < nlistening; i++)
		if (listening_len[i] == len &&
		    memcmp(&listening[i], ss, len) == 0)
			return 1;
	return 0;
}

/* Async-signal-safe calls only: the child of a threaded process. */
static void
close_listeners_in_child(void)
{
	struct rlimit rl;
	int fd, max = 65536;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)max)
		max = (int)rl.rlim_cur;
	for (fd = 0; fd < max && nlistening > 0; fd++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int on = 0;
		socklen_t olen = sizeof(on);

		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &olen) != 0 ||
		    !on)
			continue;
		memset(&ss, 0, sizeof(ss));
		if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0 &&
		    ours(&ss, len))
			close(fd);
	}
}

int
fork_child_watch(const struct sockaddr_storage *ss, socklen_t len)
{
	if (nlistening == FORK_CHILD_MAX_ADDRS)
		return -1;
	memset(&listening[nlistening], 0, sizeof(listening[0]));
	memcpy(&listening[nlistening], ss, len);
	listening_len[nlistening] = len;
	nlistening++;
	if (!registered &&
	    pthread_atfork(NULL, NULL, close_listeners_in_child) != 0)
		return -1;
	registered = 1;
	return 0;
}

void
fork_child_forget(void)
{
	/* The handler stays until dlclose; with nothing to watch it does
	 * nothing. */
	nlistening = 0;
}
