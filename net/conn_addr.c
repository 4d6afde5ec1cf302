/*
 * A connection's local and peer addresses: inline when they are IPv4 or
 * IPv6 (every TCP and UDP connection), in one allocation beside the
 * object when longer (Unix socket paths). See struct gnet_conn.
 */
#include <stdlib.h>
#include <string.h>
#include "net/conn.h"

int
gnet__conn_store_addr_long(gnet_conn_t *c, int which, const void *sa,
    socklen_t len)
{
	if (len > sizeof(struct sockaddr_storage))
		len = sizeof(struct sockaddr_storage);
	if (c->long_addrs == NULL) {
		c->long_addrs = calloc(2, sizeof(*c->long_addrs));
		if (c->long_addrs == NULL) {
			c->addr_len[which] = 0;
			return GNET_ENOMEM;
		}
	}
	memcpy(&c->long_addrs[which], sa, len);
	c->addr_len[which] = (uint16_t)len;
	return 0;
}

const struct sockaddr *
gnet__conn_addr(const gnet_conn_t *c, int which, socklen_t *len)
{
	socklen_t n = c->addr_len[which];

	if (n == 0)
		return NULL;
	if (len != NULL)
		*len = n;
	return n <= sizeof(c->addr[which]) ?
	    (const struct sockaddr *)&c->addr[which] :
	    (const struct sockaddr *)&c->long_addrs[which];
}

void
gnet__conn_fetch_addr(gnet_conn_t *c, int which)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int rc = which == GNET__ADDR_LOCAL ?
	    getsockname(c->fd, (struct sockaddr *)&ss, &len) :
	    getpeername(c->fd, (struct sockaddr *)&ss, &len);

	if (rc < 0 || len == 0) {
		c->addr_len[which] = 0;
		return;
	}
	/* Out of memory for a long address: it stays unknown. */
	(void)gnet__conn_store_addr(c, which, &ss, len);
}

int
gnet__conn_family(const gnet_conn_t *c)
{
	const struct sockaddr *sa = gnet__conn_addr(c, GNET__ADDR_LOCAL, NULL);

	return sa != NULL ? sa->sa_family : AF_UNSPEC;
}

void
gnet__conn_free_addrs(gnet_conn_t *c)
{
	free(c->long_addrs);
	c->long_addrs = NULL;
}
