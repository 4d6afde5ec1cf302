/*
 * signals.c -- gnetd's signal thread (signals.h).
 *
 * The thread ends when gnetd_signals_stop raises `quitting` and sends it
 * SIGNAL_QUIT, a real-time signal nothing else uses; the same signal from
 * outside, with `quitting` not raised, is ignored.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "signals.h"

#define SIGNAL_QUIT SIGRTMIN

static pthread_t thread;
static int started;
static atomic_int quitting;
static pthread_mutex_t host_lock = PTHREAD_MUTEX_INITIALIZER;
static gnet_host_t *host; /* under host_lock: NULL once being freed */

static void
handled(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGNAL_QUIT);
}

int
gnetd_signals_block(void)
{
	struct sigaction ign;
	sigset_t set;
	int rc;

	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &ign, NULL) != 0)
		return -errno;
	handled(&set);
	rc = pthread_sigmask(SIG_BLOCK, &set, NULL);
	return -rc;
}

static void
stop_host(int sig, int count)
{
	const char *name = sig == SIGTERM ? "SIGTERM" : "SIGINT";

	if (count > 1) {
		gnetd_log(GNETD_LOG_WARNING, "gnetd", "%s again: exiting at once",
		    name);
		_exit(1);
	}
	gnetd_log(GNETD_LOG_INFO, "gnetd", "%s: stopping -- no new "
	    "connections, open ones flushed and closed", name);
	pthread_mutex_lock(&host_lock);
	if (host != NULL)
		gnet_host_stop(host);
	pthread_mutex_unlock(&host_lock);
}

static void
reopen_log(void)
{
	char err[512];

	if (gnetd_log_reopen(err, sizeof(err)) != 0)
		gnetd_log(GNETD_LOG_ERROR, "gnetd", "%s", err);
	else
		gnetd_log(GNETD_LOG_INFO, "gnetd", "SIGHUP: logfile reopened");
}

static void *
signal_main(void *arg)
{
	sigset_t set;
	int sig, stops = 0;

	(void)arg;
	handled(&set);
	while (!atomic_load(&quitting)) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGTERM || sig == SIGINT)
			stop_host(sig, ++stops);
		else if (sig == SIGHUP)
			reopen_log();
	}
	return NULL;
}

int
gnetd_signals_start(gnet_host_t *h)
{
	int rc;

	host = h;
	rc = pthread_create(&thread, NULL, signal_main, NULL);
	started = rc == 0;
	return -rc;
}

void
gnetd_signals_forget_host(void)
{
	pthread_mutex_lock(&host_lock);
	host = NULL;
	pthread_mutex_unlock(&host_lock);
}

void
gnetd_signals_stop(void)
{
	if (!started)
		return;
	atomic_store(&quitting, 1);
	pthread_kill(thread, SIGNAL_QUIT);
	pthread_join(thread, NULL);
	started = 0;
}
