/*
 * What connections and listeners tell inspectors (the kind's describe
 * hook, called by the loop's stats sweep): the peer, bytes waiting on
 * each side, and why a connection is not reading.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <sys/un.h>
#include "gnetstats.h"
#include "net/conn.h"

/* "1.2.3.4:80", "[::1]:80", a Unix path, or "" when unknown. */
static void
format_addr(const struct sockaddr *sa, socklen_t len, char *out, size_t cap)
{
	char host[INET6_ADDRSTRLEN];

	out[0] = '\0';
	if (sa == NULL || len == 0)
		return;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		snprintf(out, cap, "%s:%u", host, ntohs(in->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		snprintf(out, cap, "[%s]:%u", host, ntohs(in6->sin6_port));
	} else if (sa->sa_family == AF_UNIX &&
	    len > offsetof(struct sockaddr_un, sun_path)) {
		const struct sockaddr_un *un = (const void *)sa;
		size_t n = len - offsetof(struct sockaddr_un, sun_path);
		/* An abstract name starts with NUL: shown with '@'. */
		if (un->sun_path[0] == '\0' && n > 1)
			snprintf(out, cap, "@%.*s", (int)(n - 1), un->sun_path + 1);
		else
			snprintf(out, cap, "%.*s", (int)n, un->sun_path);
	}
}

void
gnet__conn_describe(gnet__loop_t *l, void *obj, gnet__actor_desc_t *d)
{
	gnet_conn_t *c = obj;
	socklen_t len = 0;
	const struct sockaddr *sa;

	(void)l;
	if (d->peer != NULL) {
		/* A UDP socket's peer is the last datagram's: show where it
		 * listens instead. */
		sa = gnet__conn_addr(c, (c->flags & GNET__C_UDP) ?
		    GNET__ADDR_LOCAL : GNET__ADDR_PEER, &len);
		format_addr(sa, len, d->peer, d->peer_cap);
	}
	d->in_bytes = c->in.len;
	d->out_bytes = c->out.len;
	if (c->flags & GNET__C_PAUSED)
		d->flags |= GNET_STATS_A_PAUSED;
	if (c->flags & (GNET__C_READ_BLOCKERS & ~GNET__C_PAUSED))
		d->flags |= GNET_STATS_A_READ_OFF;
	if (c->state == GNET__CS_CONNECTING)
		d->flags |= GNET_STATS_A_CONNECTING;
	if (gnet__conn_closing(c))
		d->flags |= GNET_STATS_A_CLOSING;
	if (c->flags & GNET__C_OUTBOUND)
		d->flags |= GNET_STATS_A_OUTBOUND;
}

void
gnet__listener_describe(gnet__loop_t *l, void *obj, gnet__actor_desc_t *d)
{
	gnet__listener_t *ls = obj;

	(void)l;
	if (d->peer != NULL)
		format_addr((const struct sockaddr *)&ls->addr, ls->addrlen,
		    d->peer, d->peer_cap);
}
