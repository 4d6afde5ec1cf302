/*
 * The host: one engine, the modules loaded into it, and where their log
 * lines go.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "host/host.h"

#define HOST_LINE_CAP 1024

bool
host_control_thread(void)
{
	/* Module callbacks run on loop threads; the host's control calls
	 * would wait there for the very loop they run on. */
	return gnet_loop_current() < 0;
}

static void
log_stderr(int level, const char *module, const char *msg)
{
	static const char *const names[] = { "error", "warning", "info" };

	fprintf(stderr, "gnet host: %s%s%s: %s\n", module ? module : "",
	    module ? ": " : "", names[level < 0 || level > 2 ? 2 : level], msg);
}

void
host_vlog(gnet_host_t *h, int level, const char *module, const char *fmt,
    va_list ap)
{
	char line[HOST_LINE_CAP];

	vsnprintf(line, sizeof(line), fmt, ap);
	if (h->log != NULL)
		h->log(level, module, line, h->log_udata);
	else
		log_stderr(level, module, line);
}

void
host_log(gnet_host_t *h, int level, const char *module, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	host_vlog(h, level, module, fmt, ap);
	va_end(ap);
}

static void host_dropped(gnet_engine_t *eng, const gnet_msg_t *m,
    void *udata);

int
gnet_host_new(gnet_host_t **out, const gnet_host_options_t *o)
{
	gnet_host_options_t opt = { 0 };
	gnet_events_t ev = { .size = sizeof(ev) };
	gnet_host_t *h;
	int rc;

	if (out == NULL || o == NULL || o->size == 0)
		return GNET_EINVAL;
	/* A struct from a newer header: its fields past ours must be unset. */
	if (o->size > sizeof(opt)) {
		const unsigned char *p = (const unsigned char *)o;
		size_t i;
		for (i = sizeof(opt); i < o->size; i++)
			if (p[i] != 0)
				return GNET_ENOTSUP;
	}
	memcpy(&opt, o, o->size < sizeof(opt) ? o->size : sizeof(opt));
	if (!host_control_thread())
		return GNET_ETHREAD;
	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return GNET_ENOMEM;
	snprintf(h->name, sizeof(h->name), "%s",
	    opt.name != NULL ? opt.name : "gnet host");
	h->log = opt.log;
	h->log_udata = opt.log_udata;
	h->dry_run = opt.dry_run != 0;
	h->owner = pthread_self();
	h->on_dropped = opt.on_dropped;
	h->dropped_udata = opt.dropped_udata;
	ev.on_dropped = host_dropped;
	rc = gnet_engine_new(&h->eng, &ev, opt.engine, h);
	if (rc != 0) {
		free(h);
		return rc;
	}
	*out = h;
	return 0;
}

static void
host_dropped(gnet_engine_t *eng, const gnet_msg_t *m, void *udata)
{
	gnet_host_t *h = udata;

	(void)eng;
	if (h->on_dropped != NULL)
		h->on_dropped(m, h->dropped_udata);
}

gnet_engine_t *
gnet_host_engine(gnet_host_t *h)
{
	return h != NULL ? h->eng : NULL;
}

int
gnet_host_run(gnet_host_t *h)
{
	if (h == NULL)
		return GNET_EINVAL;
	if (h->dry_run)
		return GNET_ESTATE;
	if (!host_control_thread())
		return GNET_ETHREAD;
	return gnet_engine_run(h->eng);
}

int
gnet_host_stop(gnet_host_t *h)
{
	return h != NULL ? gnet_engine_stop(h->eng) : GNET_EINVAL;
}

void
gnet_host_free(gnet_host_t *h)
{
	if (h == NULL || !host_control_thread())
		return;
	/* The list is newest first: the last loaded is unloaded first. */
	while (h->modules != NULL)
		if (gnet_host_unload(h, h->modules, -1) != 0)
			break;
	gnet_engine_free(h->eng);
	free(h);
}
