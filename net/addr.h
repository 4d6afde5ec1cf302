/*
 * Network address parsing: "scheme://host:port" and "unix://path".
 */
#ifndef GNET_NET_ADDR_H
#define GNET_NET_ADDR_H

#include <sys/socket.h>

enum gnet__net { GNET__NET_TCP = 1, GNET__NET_UDP, GNET__NET_UNIX };

typedef struct gnet__addr {
	int net;                   /* enum gnet__net */
	struct sockaddr_storage ss;
	socklen_t len;
} gnet__addr_t;

/* Returns 0, GNET_EINVAL (NULL), GNET_ESCHEME or GNET_EADDR. Never does a
 * DNS lookup: hosts are numeric literals or "localhost". */
int gnet__addr_parse(const char *s, gnet__addr_t *out);

#endif
