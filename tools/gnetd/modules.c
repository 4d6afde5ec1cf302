/*
 * modules.c -- the host and its modules (modules.h).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "modules.h"

/* What a module may say about why it did not load. */
#define LOAD_ERR_CAP 1024

const char *
gnetd_name(void)
{
	static char name[32];

	if (name[0] == '\0')
		snprintf(name, sizeof(name), "gnetd %s", gnet_version_string());
	return name;
}

int
gnetd_host_create(const gnetd_config_t *c, int dry_run, gnet_host_t **out)
{
	gnet_options_t eng = { .size = sizeof(eng) };
	gnet_host_options_t ho = { .size = sizeof(ho) };
	static char name[GNETD_NAME_MAX];

	eng.num_loops = gnetd_config_loops(c, sysconf(_SC_NPROCESSORS_ONLN));
	/* gnetd's "linger-ms 0" means "do not wait"; the engine's 0 means
	 * its default and a negative value means do not wait. */
	eng.linger_ms = c->linger_ms > 0 ? c->linger_ms : -1;
	eng.reuseport = c->reuseport;
	eng.idle_timeout_ms = (unsigned)c->idle_timeout_ms;
	/* The stats segment gnet-top attaches to; a check publishes none. */
	eng.name = gnetd_config_name(c, name);
	eng.stats = dry_run ? -1 : 0;
	ho.name = gnetd_name();
	ho.engine = &eng;
	ho.log = gnetd_log_host;
	ho.dry_run = dry_run;
	return gnet_host_new(out, &ho);
}

int
gnetd_load_modules(gnet_host_t *h, const gnetd_config_t *c,
    gnet_module_t **mods, int keep_going)
{
	char err[LOAD_ERR_CAP];
	int i, failed = 0;

	for (i = 0; i < c->nmodules && (keep_going || failed == 0); i++) {
		const gnetd_module_spec_t *s = &c->modules[i];

		mods[i] = NULL;
		err[0] = '\0';
		if (gnet_host_load(h, s->path, (const char *const *)s->args.v,
		    s->args.n, &mods[i], err, sizeof(err)) == 0)
			continue;
		failed++;
		fprintf(stderr, "%s: loadmodule: %s\n", s->where, err);
		if (gnetd_log_to_file())
			gnetd_log(GNETD_LOG_ERROR, "gnetd", "%s: loadmodule: %s",
			    s->where, err);
	}
	return failed;
}

/* A bound address as a listen address reads: tcp://127.0.0.1:8080,
 * tcp://[::1]:8080, unix:///run/x.sock. The host gives the address, not
 * its transport, so an inet listener is shown as tcp:// (udp:// too). */
static void
format_addr(const struct sockaddr_storage *ss, socklen_t len, char *out,
    size_t cap)
{
	char host[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		snprintf(out, cap, "tcp://%s:%u", host, ntohs(in->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		snprintf(out, cap, "tcp://[%s]:%u", host, ntohs(in6->sin6_port));
	} else if (ss->ss_family == AF_UNIX &&
	    len > (socklen_t)offsetof(struct sockaddr_un, sun_path)) {
		const struct sockaddr_un *un = (const struct sockaddr_un *)ss;
		snprintf(out, cap, "unix://%.*s",
		    (int)(len - offsetof(struct sockaddr_un, sun_path)),
		    un->sun_path);
	} else {
		snprintf(out, cap, "(address family %d)", ss->ss_family);
	}
}

void
gnetd_print_listeners(FILE *out, const gnet_module_t *m)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char addr[160];
	int i;

	for (i = 0; gnet_module_listener_addr(m, i, &ss, &len) == 0;
	    i++, len = sizeof(ss)) {
		format_addr(&ss, len, addr, sizeof(addr));
		fprintf(out, "gnetd: %s listening on %s\n", gnet_module_name(m),
		    addr);
		gnetd_log(GNETD_LOG_INFO, gnet_module_name(m), "listening on %s",
		    addr);
	}
}
