/*
 * signals.h -- gnetd's signals, handled on a thread of their own.
 *
 * The signals are blocked in every thread (gnetd_signals_block runs before
 * the host creates its loops, which inherit the mask), and one thread
 * takes them with sigwait, so what a signal does is ordinary code -- it
 * may log and call gnet_host_stop -- instead of what a handler may do:
 *
 *   SIGTERM, SIGINT  the first: gnet_host_stop -- stop accepting, flush,
 *                    close within linger-ms, and gnet_host_run returns;
 *                    the second: exit at once with status 1
 *   SIGHUP           reopen the logfile (logrotate)
 *   SIGPIPE          ignored: a peer that went away is an error code
 */
#ifndef GNETD_SIGNALS_H
#define GNETD_SIGNALS_H

#include "gnethost.h"

/* Ignore SIGPIPE and block the handled signals in the calling thread (and
 * every thread it creates afterwards). Returns 0 or -errno. */
int gnetd_signals_block(void);

/* Start the signal thread for host h. Returns 0 or -errno. */
int gnetd_signals_start(gnet_host_t *h);

/* The host is about to be freed: a signal from now on no longer stops it
 * (a second SIGTERM still exits). */
void gnetd_signals_forget_host(void);

/* End the signal thread. */
void gnetd_signals_stop(void);

#endif
