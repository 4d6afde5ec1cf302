/*
 * Error strings and the log hook. The library never prints by itself.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "kernel/kernel.h"

static gnet_log_fn log_fn;

void
gnet_set_log(gnet_log_fn fn)
{
	log_fn = fn;
}

void
gnet__log(int level, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	if (log_fn == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_fn(level, buf);
}

const char *
gnet_strerror(int err)
{
	switch (err) {
	case GNET_OK: return "success";
	case GNET_EINVAL: return "invalid argument";
	case GNET_ESCHEME: return "unsupported address scheme";
	case GNET_EADDR: return "invalid network address";
	case GNET_ESTALE: return "stale handle: the actor or connection is gone";
	case GNET_ECLOSED: return "connection closed";
	case GNET_EAGAIN: return "mailbox full, try again";
	case GNET_ENOMEM: return "out of memory";
	case GNET_ESTATE: return "engine in the wrong state for this call";
	case GNET_ETHREAD: return "called from a thread that does not own the object";
	case GNET_ESHUTDOWN: return "engine shutting down";
	case GNET_ELINGER: return "close timed out with output still pending";
	case GNET_EABORTED: return "connection aborted";
	case GNET_EEOF: return "peer closed the connection";
	case GNET_EINBOUND: return "too much unconsumed inbound data";
	case GNET_ENOTSUP: return "not supported";
	case GNET_ELIMIT: return "limit reached";
	case GNET_EFRAMESIZE: return "frame longer than the codec allows";
	case GNET_EBADFRAME: return "malformed frame";
	case GNET_ETRUNCATED: return "peer closed in the middle of a frame";
	case GNET_ETIMEDOUT: return "connection idle for too long";
	default:
		/* strerror() returns a static string for known values on
		 * glibc; negated errno values are the only others we emit. */
		if (err < 0 && err > -4096)
			return strerror(-err);
		return "unknown error";
	}
}
