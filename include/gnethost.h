/*
 * gnethost.h -- hosting gnet modules (gnetmodule.h) in a program.
 *
 * A host owns one engine and loads modules into it: from a shared object
 * (gnet_host_load, what gnetd does) or linked into the program
 * (gnet_host_load_static); both go through the same steps and behave the
 * same. Each module's listeners, connections, actors, ticks, codecs and
 * stats belong to it, and gnet_host_unload ends them all before the
 * module's code is released.
 *
 *     gnet_host_t *h;
 *     gnet_host_options_t o = { .size = sizeof(o), .name = "myapp" };
 *     char err[256];
 *     const char *args[] = { "listen=tcp://127.0.0.1:9000" };
 *     gnet_host_new(&h, &o);
 *     if (gnet_host_load(h, "modules/echo.so", args, 1, NULL, err,
 *         sizeof(err)) != 0)
 *             fprintf(stderr, "%s\n", err);
 *     gnet_host_run(h);          // until gnet_host_stop
 *     gnet_host_free(h);
 *
 * Threads: every function here is for the host's control thread (the one
 * that created the host), except gnet_host_stop and the gnet_module_*
 * readers, which any thread may call. None may be called from a module's
 * callbacks (a loop thread): GNET_ETHREAD.
 */
#ifndef GNETHOST_H
#define GNETHOST_H

#include <stdio.h>
#include "gnet.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gnet_host gnet_host_t;
typedef struct gnet_module gnet_module_t;
struct GnetModuleCtx;

/* A module's entry points (gnetmodule.h). */
typedef int (*gnet_module_onload_fn)(struct GnetModuleCtx *ctx,
    const char **argv, int argc);
typedef void (*gnet_module_onunload_fn)(struct GnetModuleCtx *ctx);

/* Declare the entry points of a module compiled with
 * -DGNETMODULE_STATIC_NAME=name, for gnet_host_load_static. */
#define GNET_MODULE_STATIC(name)                                           \
	int name##_GnetModule_OnLoad(struct GnetModuleCtx *ctx,            \
	    const char **argv, int argc);                                      \
	void name##_GnetModule_OnUnload(struct GnetModuleCtx *ctx)         \
	    __attribute__((weak))
/* ...and the arguments gnet_host_load_static takes for it. */
#define GNET_MODULE_ENTRY(name) \
	#name, name##_GnetModule_OnLoad, name##_GnetModule_OnUnload

/* Where a module's log lines go: level as GNETMODULE_LOG_*, the module's
 * name. Runs on any thread, possibly several at once. */
typedef void (*gnet_host_log_fn)(int level, const char *module,
    const char *msg, void *udata);

typedef struct gnet_host_options {
	size_t size;                /* sizeof(gnet_host_options_t) */
	const char *name;           /* the host as errors name it, e.g.
	                             * "gnetd 0.4.0"; default "gnet host" */
	const gnet_options_t *engine; /* the engine's options; NULL: defaults */
	gnet_host_log_fn log;       /* NULL: lines go to stderr */
	void *log_udata;
	/* 1: a check, not a service (gnetd --check-config): modules load and
	 * their arguments are checked, listen addresses are parsed but not
	 * bound, and the host cannot run (gnet_host_run: GNET_ESTATE). */
	int dry_run;
	/* A message of type >= GNET_MSG_USER that could not be delivered (its
	 * actor or connection was gone, or the engine stopped with it in
	 * flight): for a host that sends modules messages carrying memory
	 * of its own (gnet_host_provide), so it can free it. Thread: any. */
	void (*on_dropped)(const gnet_msg_t *m, void *udata);
	void *dropped_udata;
} gnet_host_options_t;

/* Create a host and its engine. Returns 0, GNET_EINVAL or GNET_ENOMEM. */
GNET_API int gnet_host_new(gnet_host_t **out, const gnet_host_options_t *o);

/* The host's engine, e.g. for gnet_engine_loop_stats. */
GNET_API gnet_engine_t *gnet_host_engine(gnet_host_t *h);

/* Offer modules one more function, `name` ("GnetModule_..."), beyond
 * what gnetmodule.h lists: a host of a particular kind gives its modules
 * what only it can (gnet_redis.so: GnetModule_RedisCall). A module asks
 * for it by name (GNETMODULE_GET_API); in a host without it the load
 * fails naming the function and the host. Call before loading modules.
 * Returns 0, GNET_EINVAL (a name not starting "GnetModule_", or NULL),
 * GNET_ELIMIT (16 at most). */
GNET_API int gnet_host_provide(gnet_host_t *h, const char *name, void *fn);

/* Load the module in the shared object at `path` with its arguments
 * (argv[0..argc), usually "name=value" configs). On failure nothing of
 * the module is left (its listeners are closed, the object unloaded), a
 * message naming the cause is written into err[0..errlen) -- a missing
 * file, a file that is not a module, a function the host lacks, an ABI
 * the host does not speak, a bad argument, the module's own reason -- and
 * a negative code is returned: GNET_ENOENT (no such file), GNET_EINVAL
 * (not a module, bad arguments, the module refused), GNET_ENOTSUP (a
 * missing function or ABI), or its listen's error (GNET_EADDRINUSE...).
 * Modules load before gnet_host_run (GNET_ESTATE after). *out, when out is
 * not NULL, gets the module. */
GNET_API int gnet_host_load(gnet_host_t *h, const char *path,
    const char *const *argv, int argc, gnet_module_t **out, char *err,
    size_t errlen);

/* The same for a module linked into the program (GNET_MODULE_STATIC):
 *     gnet_host_load_static(h, GNET_MODULE_ENTRY(echo), argv, argc, ...) */
GNET_API int gnet_host_load_static(gnet_host_t *h, const char *name,
    gnet_module_onload_fn onload, gnet_module_onunload_fn onunload,
    const char *const *argv, int argc, gnet_module_t **out, char *err,
    size_t errlen);

/* Describe a module's configuration options without loading it for
 * real: its OnLoad runs with no arguments up to GnetModule_ApplyConfig,
 * and each declared option is written to `out` as "  name=<type>
 * (default ...) help". `path` is a shared object, or NULL with onload
 * for a static module. Returns 0 or as gnet_host_load. */
GNET_API int gnet_host_describe(gnet_host_t *h, const char *path,
    gnet_module_onload_fn onload, FILE *out, char *err, size_t errlen);

/* Unload a module, whether the engine runs or not: its listeners stop
 * accepting, its connections close (output flushed within the engine's
 * linger_ms, on_close with GNET_ESHUTDOWN), its actors and ticks stop;
 * once no loop can call into it, OnUnload runs and the object is
 * dlclose()d. Returns 0, or GNET_ETIMEDOUT when its connections did not
 * finish within timeout_ms (< 0: wait as long as it takes); the module
 * then stays loaded, ending, and a later call may finish the unload. */
GNET_API int gnet_host_unload(gnet_host_t *h, gnet_module_t *m,
    int timeout_ms);

/* Run the engine until gnet_host_stop (or a fatal engine error). */
GNET_API int gnet_host_run(gnet_host_t *h);

/* Drain and stop: every listener stops accepting, connections close
 * gracefully within linger_ms, then gnet_host_run returns. Idempotent.
 * Thread: any, including a signal-handling thread. */
GNET_API int gnet_host_stop(gnet_host_t *h);

/* Unload every module (last loaded first) and free the host. The engine
 * must not be running. */
GNET_API void gnet_host_free(gnet_host_t *h);

/* Readers. Thread: any, while the module is loaded. */
GNET_API const char *gnet_module_name(const gnet_module_t *m);
/* The bound address of the module's listener `index` (in its listen
 * order): GNET_EINVAL past the last. */
GNET_API int gnet_module_listener_addr(const gnet_module_t *m, int index,
    struct sockaddr_storage *out, socklen_t *len);
/* What of the module is still in the engine: listening sockets,
 * connections, actors (ticks are actors). */
GNET_API int gnet_module_live(const gnet_module_t *m);
/* A stats counter of the module summed over the loops: 0 and *value, or
 * GNET_ENOENT for an unknown section or name. */
GNET_API int gnet_module_stat(const gnet_module_t *m, const char *section,
    const char *name, uint64_t *value);

#ifdef __cplusplus
}
#endif
#endif /* GNETHOST_H */
