/*
 * Address parsing. Strict on purpose: a server that silently listens
 * somewhere other than asked is worse than one that refuses to start, and
 * a library must never block a caller on DNS.
 *
 *   tcp://127.0.0.1:9000   tcp://:9000 (all IPv4)   tcp://[::1]:9000
 *   tcp://localhost:9000   tcp4:// tcp6:// udp:// udp4:// udp6://
 *   unix:///abs/path.sock  unix://relative.sock
 */
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/un.h>
#include "gnet.h"
#include "net/addr.h"

#define MAX_HOST 128

static int
parse_port(const char *p, unsigned *port)
{
	unsigned v = 0;
	int digits = 0;

	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || ++digits > 5)
			return GNET_EADDR;
		v = v * 10 + (unsigned)(*p - '0');
	}
	if (digits == 0 || v > 65535)
		return GNET_EADDR;
	*port = v;
	return 0;
}

static int
parse_v6(const char *host, unsigned port, struct sockaddr_in6 *sa)
{
	char buf[MAX_HOST];
	char *zone;

	if (strlen(host) >= sizeof(buf))
		return GNET_EADDR;
	strcpy(buf, host);
	memset(sa, 0, sizeof(*sa));
	zone = strchr(buf, '%');
	if (zone != NULL) {
		*zone++ = '\0';
		sa->sin6_scope_id = if_nametoindex(zone);
		if (sa->sin6_scope_id == 0)
			return GNET_EADDR;
	}
	if (inet_pton(AF_INET6, buf, &sa->sin6_addr) != 1)
		return GNET_EADDR;
	sa->sin6_family = AF_INET6;
	sa->sin6_port = htons((uint16_t)port);
	return 0;
}

static int
parse_inet(const char *rest, int family_hint, gnet__addr_t *out)
{
	char host[MAX_HOST];
	const char *colon, *port_s;
	unsigned port;
	size_t hlen;
	int v6 = 0;

	if (strpbrk(rest, "/?#@ \t") != NULL)
		return GNET_EADDR;
	if (rest[0] == '[') {
		const char *end = strchr(rest, ']');
		if (end == NULL || end[1] != ':')
			return GNET_EADDR;
		hlen = (size_t)(end - rest - 1);
		if (hlen == 0 || hlen >= sizeof(host))
			return GNET_EADDR;
		memcpy(host, rest + 1, hlen);
		host[hlen] = '\0';
		port_s = end + 2;
		v6 = 1;
	} else {
		colon = strrchr(rest, ':');
		if (colon == NULL)
			return GNET_EADDR;
		hlen = (size_t)(colon - rest);
		if (hlen >= sizeof(host))
			return GNET_EADDR;
		memcpy(host, rest, hlen);
		host[hlen] = '\0';
		/* An IPv6 literal needs brackets: "::1:80" is ambiguous. */
		if (strchr(host, ':') != NULL)
			return GNET_EADDR;
		port_s = colon + 1;
	}
	if (parse_port(port_s, &port) != 0)
		return GNET_EADDR;
	if (v6) {
		if (family_hint == AF_INET)
			return GNET_EADDR;
		if (parse_v6(host, port, (struct sockaddr_in6 *)&out->ss) != 0)
			return GNET_EADDR;
		out->len = sizeof(struct sockaddr_in6);
		return 0;
	}
	if (host[0] == '\0' && family_hint == AF_INET6) {
		struct sockaddr_in6 *sa = (struct sockaddr_in6 *)&out->ss;
		memset(sa, 0, sizeof(*sa));
		sa->sin6_family = AF_INET6;
		sa->sin6_addr = in6addr_any;
		sa->sin6_port = htons((uint16_t)port);
		out->len = sizeof(*sa);
		return 0;
	}
	if (family_hint == AF_INET6)
		return GNET_EADDR;
	{
		struct sockaddr_in *sa = (struct sockaddr_in *)&out->ss;
		memset(sa, 0, sizeof(*sa));
		sa->sin_family = AF_INET;
		sa->sin_port = htons((uint16_t)port);
		if (host[0] == '\0')
			sa->sin_addr.s_addr = htonl(INADDR_ANY);
		else if (strcmp(host, "localhost") == 0)
			sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		else if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
			return GNET_EADDR;
		out->len = sizeof(*sa);
	}
	return 0;
}

static int
parse_unix(const char *path, gnet__addr_t *out)
{
	struct sockaddr_un *sa = (struct sockaddr_un *)&out->ss;
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(sa->sun_path))
		return GNET_EADDR;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, path, n);
	out->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	return 0;
}

int
gnet__addr_parse(const char *s, gnet__addr_t *out)
{
	static const struct { const char *name; int net; int family; } schemes[] = {
		{ "tcp", GNET__NET_TCP, AF_UNSPEC }, { "tcp4", GNET__NET_TCP, AF_INET },
		{ "tcp6", GNET__NET_TCP, AF_INET6 }, { "udp", GNET__NET_UDP, AF_UNSPEC },
		{ "udp4", GNET__NET_UDP, AF_INET }, { "udp6", GNET__NET_UDP, AF_INET6 },
		{ "unix", GNET__NET_UNIX, AF_UNIX },
	};
	const char *sep;
	size_t slen, i;

	if (s == NULL || out == NULL)
		return GNET_EINVAL;
	memset(out, 0, sizeof(*out));
	sep = strstr(s, "://");
	if (sep == NULL || sep == s)
		return GNET_EADDR;
	slen = (size_t)(sep - s);
	for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		if (strlen(schemes[i].name) == slen &&
		    strncmp(schemes[i].name, s, slen) == 0) {
			out->net = schemes[i].net;
			if (out->net == GNET__NET_UNIX)
				return parse_unix(sep + 3, out);
			return parse_inet(sep + 3, schemes[i].family, out);
		}
	}
	return GNET_ESCHEME;
}

int
gnet_addr_check(const char *addr)
{
	gnet__addr_t a;

	return gnet__addr_parse(addr, &a);
}
