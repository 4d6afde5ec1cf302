/*
 * Error strings and the log hook. The library never prints by itself.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "gnet.h"
#include "base/log.h"

/* Linux's errno values stay below this (the kernel's MAX_ERRNO). */
#define GNET__ERRNO_MAX 4096
/* One log line; a longer message is cut, never allocated for. */
#define LOG_LINE_MAX 256

static gnet_log_fn log_fn;

void
gnet_log_set(gnet_log_fn fn)
{
	log_fn = fn;
}

void
gnet__log(int level, const char *fmt, ...)
{
	char buf[LOG_LINE_MAX];
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
	/* gnet's words for the system codes it returns itself. */
	case GNET_EINVAL: return "invalid argument";
	case GNET_ENOMEM: return "out of memory";
	case GNET_EAGAIN: return "full for now, try again";
	case GNET_ETIMEDOUT: return "timed out";
	case GNET_ENOTSUP: return "not supported";
	/* gnet's own conditions. */
	case GNET_ESCHEME: return "unsupported address scheme";
	case GNET_EADDR: return "invalid network address";
	case GNET_ESTALE: return "stale handle: the actor or connection is gone";
	case GNET_ECLOSED: return "connection closed";
	case GNET_ESTATE: return "engine in the wrong state for this call";
	case GNET_ETHREAD: return "called from a thread that does not own the object";
	case GNET_ESHUTDOWN: return "engine shutting down";
	case GNET_ELINGER: return "close gave up: the peer took no output for linger_ms";
	case GNET_EABORTED: return "connection aborted";
	case GNET_EEOF: return "peer closed the connection";
	case GNET_EINBOUND: return "too much unconsumed inbound data";
	case GNET_EOUTBOUND: return "too much pending outbound data";
	case GNET_EBUDGET: return "the engine's buffer budget was exceeded";
	case GNET_ELIMIT: return "limit reached";
	case GNET_EFRAMESIZE: return "frame longer than the codec allows";
	case GNET_EBADFRAME: return "malformed frame";
	case GNET_ETRUNCATED: return "peer closed in the middle of a frame";
	default:
		/* Every other code is a negated errno (the rule in gnet.h).
		 * strerrordesc_np, unlike strerror, never formats into a
		 * shared buffer, so this stays safe on any thread. */
		if (err < 0 && err > -GNET__ERRNO_MAX) {
			const char *d = strerrordesc_np(-err);
			if (d != NULL)
				return d;
		}
		return "unknown error";
	}
}
