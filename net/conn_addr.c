/*
 * A connection's local and peer addresses: inline when they are IPv4 or
 * IPv6 (every TCP and UDP connection), in one allocation beside the
 * object when longer (Unix socket paths). See struct gnet_conn.
 */
#include <stdlib.h>
#include <string.h>
#include "net/conn.h"

static socklen_t *
len_of(gnet_conn_t *c, int which)
{
	return which == GNET__ADDR_LOCAL ? &c->llen : &c->plen;
}

int
gnet__conn_store_addr_long(gnet_conn_t *c, int which, const void *sa,
    socklen_t len)
{
	if (len > sizeof(struct sockaddr_storage))
		len = sizeof(struct sockaddr_storage);
	if (c->long_addrs == NULL) {
		c->long_addrs = calloc(2, sizeof(*c->long_addrs));
		if (c->long_addrs == NULL) {
			*len_of(c, which) = 0;
			return GNET_ENOMEM;
		}
	}
	memcpy(&c->long_addrs[which], sa, len);
	*len_of(c, which) = len;
	return 0;
}

const struct sockaddr *
gnet__conn_addr(const gnet_conn_t *c, int which, socklen_t *len)
{
	socklen_t n = which == GNET__ADDR_LOCAL ? c->llen : c->plen;
	const void *inl = which == GNET__ADDR_LOCAL ? (const void *)&c->laddr :
	    (const void *)&c->paddr;

	if (n == 0)
		return NULL;
	if (len != NULL)
		*len = n;
	return n <= sizeof(struct sockaddr_in6) ? inl :
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
		*len_of(c, which) = 0;
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
