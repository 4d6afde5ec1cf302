/*
 * gnet_redis.so: gnet's loops and modules inside redis-server.
 *
 *   redis-server --loadmodule gnet_redis.so loops 2 \
 *       listen tcp://127.0.0.1:7379 \
 *       [loadmodule path/to/module.so args...]...
 *
 * Arguments (before the first loadmodule; each loadmodule takes the words
 * up to the next as its module's arguments):
 *   loops N            gnet's loops (threads); default one per CPU but
 *                      one, which Redis's main thread needs (at least 1)
 *   listen ADDR        the RESP port; "none" for no RESP port
 *   max-pending N      calls a RESP connection may have out (16)
 *   name NAME          the stats segment's name, for gnet-top (gnet-redis)
 *
 * This file is the host's life: OnLoad resolves Redis's API, creates a
 * gnet host (gnethost.h) with the bridge's port (bridge.h), loads the
 * RESP listener and the modules named, and starts the engine on a thread
 * of its own with every signal blocked (Redis's handlers stay on its
 * threads). SHUTDOWN and MODULE UNLOAD end it the same way: the engine
 * stops while the main thread answers what is still coming (without
 * running it), every thread is joined, the port leaves Redis's event
 * loop, and the modules are unloaded -- before Redis dlclose()s this.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "gnet.h"
#include "gnethost.h"
#include "redis/bridge.h"
#include "redis/fork_child.h"
#include "redis/rm_api.h"

GNET_MODULE_STATIC(redisport);

#define MAX_ARGS 256
/* Before-sleep budget: records (each up to 64 commands) per turn of
 * Redis's loop, so its own clients are served between. */
#define DRAIN_BUDGET 64
/* How long an unload waits for the engine beyond its linger. */
#define STOP_GRACE_MS 10000

typedef struct {
	gnet_host_t *host;
	bridge_t bridge;
	pthread_t runner;
	int running;
	atomic_int run_done;
	int linger_ms;
} redis_host_t;

static redis_host_t self;

static void
host_log(int level, const char *module, const char *msg, void *udata)
{
	static const char *const levels[] = { "warning", "warning", "notice" };

	(void)udata;
	rm_Log(NULL, levels[level >= 0 && level <= 2 ? level : 0], "gnet%s%s: %s",
	    module != NULL ? " " : "", module != NULL ? module : "", msg);
}

static void *
run_engine(void *arg)
{
	redis_host_t *h = arg;
	int rc = gnet_host_run(h->host);

	if (rc != 0)
		rm_Log(NULL, "warning", "gnet: the engine stopped: %s",
		    gnet_strerror(rc));
	atomic_store(&h->run_done, 1);
	return NULL;
}

static void
on_event_loop(RedisModuleCtx *ctx, rm_event_t e, uint64_t sub, void *data)
{
	(void)e;
	(void)data;
	if (sub == RM_SUBEVENT_EVENTLOOP_BEFORE_SLEEP)
		bridge_drain(&self.bridge, ctx, DRAIN_BUDGET);
}

/* Stop the engine and wait for its thread. Returns 0, or -1 when it did
 * not stop in time (the code must then stay loaded). */
static int
stop_engine(redis_host_t *h)
{
	uint64_t deadline;

	if (!h->running)
		return 0;
	gnet_host_stop(h->host);
	deadline = bridge_now_ms() + (uint64_t)h->linger_ms + STOP_GRACE_MS;
	while (!atomic_load(&h->run_done) && bridge_now_ms() < deadline) {
		struct pollfd p = { .fd = gnet_port_fd(h->bridge.port),
			.events = POLLIN };

		/* Loops may be waiting on calls: answer, run nothing. */
		bridge_refuse(&h->bridge);
		if (poll(&p, 1, 5) == 1)
			gnet_port_ack(h->bridge.port);
	}
	if (!atomic_load(&h->run_done))
		return -1;
	pthread_join(h->runner, NULL);
	h->running = 0;
	return 0;
}

static void
unsubscribe(RedisModuleCtx *ctx)
{
	rm_event_t loop = { RM_EVENT_EVENTLOOP, 1 };
	rm_event_t shutdown = { RM_EVENT_SHUTDOWN, 1 };

	rm_SubscribeToServerEvent(ctx, loop, NULL);
	rm_SubscribeToServerEvent(ctx, shutdown, NULL);
}

/* Everything after the engine stopped. */
static void
free_host(redis_host_t *h)
{
	long live;

	fork_child_forget();
	bridge_stop(&h->bridge);
	gnet_host_free(h->host);
	h->host = NULL;
	bridge_current = NULL;
	live = atomic_load(&h->bridge.live);
	if (live != 0)
		rm_Log(NULL, "warning", "gnet: %ld calls were not freed", live);
	rm_Log(NULL, "notice", "gnet: stopped after %llu calls (%llu commands)",
	    (unsigned long long)h->bridge.calls,
	    (unsigned long long)h->bridge.commands);
}

static void
on_shutdown(RedisModuleCtx *ctx, rm_event_t e, uint64_t sub, void *data)
{
	(void)e;
	(void)sub;
	(void)data;
	if (self.host == NULL)
		return;
	if (stop_engine(&self) != 0) {
		rm_Log(ctx, "warning", "gnet: the engine did not stop in time");
		return;
	}
	/* Still subscribed: Redis is walking this event's listeners, and
	 * unsubscribing now would free the one it stands on. The server
	 * exits past this event (it fires once exiting is certain), and the
	 * before-sleep listener finds no port to drain. */
	free_host(&self);
}

/* ------------------------------------------------------------------------
 * Arguments.
 */

typedef struct {
	int loops;
	const char *listen;
	const char *max_pending;
	const char *name;
	/* loadmodule entries: index of the path in words, and its count */
	int mod_at[32], mod_n[32], nmods;
	const char *words[MAX_ARGS];
	int nwords;
} args_t;

/* A core for Redis's main thread, the rest for gnet's loops: on two
 * cores one loop serves more than two, which would take the main
 * thread's turns. */
static int
default_loops(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN) - 1;

	return n < 1 ? 1 : n > 32 ? 32 : (int)n;
}

static int
parse_args(RedisModuleString **argv, int argc, args_t *a, char *err,
    size_t errlen)
{
	int i;

	memset(a, 0, sizeof(*a));
	a->loops = default_loops();
	a->listen = "tcp://127.0.0.1:7379";
	a->name = "gnet-redis";
	if (argc > MAX_ARGS) {
		snprintf(err, errlen, "more than %d arguments", MAX_ARGS);
		return -1;
	}
	for (i = 0; i < argc; i++)
		a->words[i] = rm_StringPtrLen(argv[i], NULL);
	a->nwords = argc;
	for (i = 0; i < argc; i++) {
		const char *w = a->words[i];
		int more = i + 1 < argc;

		if (strcasecmp(w, "loadmodule") == 0) {
			int j;

			if (!more) {
				snprintf(err, errlen, "loadmodule needs a path");
				return -1;
			}
			if (a->nmods == 32) {
				snprintf(err, errlen, "more than 32 modules");
				return -1;
			}
			for (j = i + 2; j < argc &&
			    strcasecmp(a->words[j], "loadmodule") != 0; j++)
				;
			a->mod_at[a->nmods] = i + 1;
			a->mod_n[a->nmods++] = j - (i + 1);
			i = j - 1;
			continue;
		}
		if (!more) {
			snprintf(err, errlen, "'%s' needs a value", w);
			return -1;
		}
		if (strcasecmp(w, "loops") == 0) {
			char *end;
			long n = strtol(a->words[i + 1], &end, 10);

			if (*end != '\0' || n < 1 || n > 32) {
				snprintf(err, errlen, "loops must be 1..32, not "
				    "'%s'", a->words[i + 1]);
				return -1;
			}
			a->loops = (int)n;
		} else if (strcasecmp(w, "listen") == 0) {
			a->listen = a->words[i + 1];
		} else if (strcasecmp(w, "max-pending") == 0) {
			a->max_pending = a->words[i + 1];
		} else if (strcasecmp(w, "name") == 0) {
			a->name = a->words[i + 1];
		} else {
			snprintf(err, errlen, "unknown argument '%s' (loops, "
			    "listen, max-pending, name, loadmodule)", w);
			return -1;
		}
		i++;
	}
	return 0;
}

/* Tell the fork handler about every address the module listens on. */
static void
watch_listeners(gnet_module_t *m)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int i;

	for (i = 0; len = sizeof(ss),
	    gnet_module_listener_addr(m, i, &ss, &len) == 0; i++)
		if (fork_child_watch(&ss, len) != 0)
			rm_Log(NULL, "warning", "gnet: too many listeners for "
			    "the fork handler to close in BGSAVE children");
}

static int
load_modules(redis_host_t *h, const args_t *a, char *err, size_t errlen)
{
	gnet_module_t *m;
	int i;

	if (strcasecmp(a->listen, "none") != 0) {
		char listen[512], pending[64];
		const char *args[2] = { listen, pending };

		/* max-pending only when given: the listener's default stands. */
		snprintf(listen, sizeof(listen), "listen=%s", a->listen);
		snprintf(pending, sizeof(pending), "max-pending=%s",
		    a->max_pending != NULL ? a->max_pending : "");
		if (gnet_host_load_static(h->host, GNET_MODULE_ENTRY(redisport),
		    args, a->max_pending != NULL ? 2 : 1, &m, err, errlen) != 0)
			return -1;
		watch_listeners(m);
	}
	for (i = 0; i < a->nmods; i++) {
		const char *const *words = a->words + a->mod_at[i];

		if (gnet_host_load(h->host, words[0], words + 1,
		    a->mod_n[i] - 1, &m, err, errlen) != 0)
			return -1;
		watch_listeners(m);
	}
	return 0;
}

static int
start_host(RedisModuleCtx *ctx, redis_host_t *h, const args_t *a, char *err,
    size_t errlen)
{
	gnet_options_t eo = { .size = sizeof(eo) };
	gnet_host_options_t ho = { .size = sizeof(ho) };
	rm_event_t loop = { RM_EVENT_EVENTLOOP, 1 };
	rm_event_t shutdown = { RM_EVENT_SHUTDOWN, 1 };
	sigset_t all, old;
	int rc;

	eo.num_loops = a->loops;
	/* Redis shares these cores, and its service unit forbids pinning. */
	eo.no_pin = 1;
	eo.name = a->name;
	ho.name = "gnet_redis.so";
	ho.engine = &eo;
	ho.log = host_log;
	ho.on_dropped = bridge_dropped;
	ho.dropped_udata = &h->bridge;
	rc = gnet_host_new(&h->host, &ho);
	if (rc != 0) {
		snprintf(err, errlen, "cannot create the engine: %s",
		    gnet_strerror(rc));
		return -1;
	}
	h->linger_ms = 5000;
	bridge_current = &h->bridge;
	rc = bridge_start(&h->bridge, gnet_host_engine(h->host));
	if (rc == 0)
		rc = gnet_host_provide(h->host, "GnetModule_RedisCall",
		    (void *)bridge_redis_call);
	if (rc == 0)
		rc = gnet_host_provide(h->host, "GnetModule_RedisReplyFree",
		    (void *)bridge_reply_free);
	if (rc != 0) {
		snprintf(err, errlen, "cannot reach the main thread: %s",
		    gnet_strerror(rc));
		return -1;
	}
	if (load_modules(h, a, err, errlen) != 0)
		return -1;
	if (rm_SubscribeToServerEvent(ctx, loop, on_event_loop) != RM_OK ||
	    rm_SubscribeToServerEvent(ctx, shutdown, on_shutdown) != RM_OK) {
		snprintf(err, errlen, "cannot subscribe to server events");
		return -1;
	}
	/* gnet's threads take no signal: Redis's handlers expect its own. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	atomic_store(&h->run_done, 0);
	rc = pthread_create(&h->runner, NULL, run_engine, h);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start a thread: %s", strerror(rc));
		return -1;
	}
	h->running = 1;
	return 0;
}

__attribute__((visibility("default"))) int
RedisModule_OnLoad(RedisModuleCtx *ctx, RedisModuleString **argv, int argc)
{
	char missing[96], err[512];
	args_t *a;

	if (rm_api_resolve(ctx, missing, sizeof(missing)) != 0) {
		/* The log itself is resolved early; without it, stderr. */
		if (rm_Log != NULL)
			rm_Log(ctx, "warning", "gnet: this server lacks %s; "
			    "gnet_redis.so needs Redis 7.0 or later", missing);
		else
			fprintf(stderr, "gnet_redis.so: this server lacks %s; "
			    "it needs Redis 7.0 or later\n", missing);
		return RM_ERR;
	}
	if (rm_IsModuleNameBusy("gnet")) {
		rm_Log(ctx, "warning", "gnet: a module named gnet is loaded "
		    "already");
		return RM_ERR;
	}
	rm_SetModuleAttribs(ctx, "gnet", GNET_VERSION_MAJOR * 10000 +
	    GNET_VERSION_MINOR * 100 + GNET_VERSION_PATCH, RM_APIVER_1);
	a = malloc(sizeof(*a));
	if (a == NULL)
		return RM_ERR;
	if (parse_args(argv, argc, a, err, sizeof(err)) != 0 ||
	    start_host(ctx, &self, a, err, sizeof(err)) != 0) {
		rm_Log(ctx, "warning", "gnet: %s", err);
		free(a);
		if (self.host != NULL) {
			unsubscribe(ctx);
			free_host(&self);
		}
		return RM_ERR;
	}
	rm_Log(ctx, "notice", "gnet %s: %d loops, RESP port %s; watch it: "
	    "gnet-top %s", gnet_version_string(), a->loops, a->listen, a->name);
	free(a);
	return RM_OK;
}

__attribute__((visibility("default"))) int
RedisModule_OnUnload(RedisModuleCtx *ctx)
{
	if (self.host == NULL)
		return RM_OK;
	if (stop_engine(&self) != 0) {
		rm_Log(ctx, "warning", "gnet: the engine did not stop in time; "
		    "staying loaded");
		return RM_ERR;
	}
	unsubscribe(ctx);
	free_host(&self);
	return RM_OK;
}
