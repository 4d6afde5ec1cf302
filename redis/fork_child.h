/*
 * Closing gnet's listening sockets in a forked child (fork_child.c).
 * Thread: Redis's main thread, at load and unload.
 */
#ifndef GNET_REDIS_FORK_CHILD_H
#define GNET_REDIS_FORK_CHILD_H

#include <sys/socket.h>

#define FORK_CHILD_MAX_ADDRS 64

/* Close sockets listening on this address in every child forked from
 * now on. Returns 0, or -1 past FORK_CHILD_MAX_ADDRS. */
int fork_child_watch(const struct sockaddr_storage *ss, socklen_t len);
/* Watch nothing any more (the listeners are closed). */
void fork_child_forget(void);

#endif
