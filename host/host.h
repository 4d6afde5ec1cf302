/*
 * The module host inside libgnet (include/gnethost.h): its objects,
 * shared by the files of host/. Not a public header.
 *
 * host/ is built on the public API alone -- gnet.h for the engine, its
 * listeners (gnet_engine_listen_with) and groups, gnetmodule.h for what
 * modules see -- so everything a module does, a program could do too.
 *
 *   host.c    the host: engine, run, stop, free, the log
 *   load.c    loading (a .so or linked in), failing cleanly, unloading
 *   api.c     the functions a module resolves by name
 *   config.c  typed configuration options and the module's arguments
 *   extras.c  what a module registers beside listeners: ticks, stats
 */
#ifndef GNET_HOST_HOST_H
#define GNET_HOST_HOST_H

#include <stdarg.h>
#include <stdbool.h>
#include <pthread.h>
#include "gnet.h"
#include "gnethost.h"
#include "gnetmodule.h"

/* The ABI versions this host speaks. */
#define HOST_ABI_MIN 1
#define HOST_ABI_MAX 1

#define HOST_ERR_CAP 512
#define HOST_NAME_CAP 64
#define HOST_MAX_MODULE_LISTENERS 16
#define HOST_MAX_PROVIDED 16

enum module_state {
	MODULE_LOADING,          /* inside OnLoad: may listen, spawn, ... */
	MODULE_LOADED,
	MODULE_ENDING            /* unload began, not finished */
};

typedef struct host_config host_config_t;   /* config.c */
typedef struct host_owned host_owned_t;     /* extras.c */

struct gnet_module {
	/* First: the module is given &ctx, and GetApi finds its module
	 * from it. */
	GnetModuleCtx ctx;
	gnet_host_t *host;
	enum module_state state;
	char name[HOST_NAME_CAP];    /* SetInfo's, or the file's until then */
	int version, abi;
	void *dl;                    /* dlopen handle; NULL when linked in */
	gnet_module_onunload_fn onunload;
	void *data;                  /* SetModuleData's */
	gnet_group_t *group;         /* its listeners, connections, actors */
	const char **argv;           /* its arguments (copies) */
	int argc;
	/* Describing (gnet_host_describe): ApplyConfig prints and stops. */
	FILE *describe;
	bool described;
	/* The first failure while loading, and the first function asked for
	 * that the host lacks. */
	char err[HOST_ERR_CAP];
	char missing[HOST_NAME_CAP * 2];
	host_config_t *configs;
	int nconfigs;
	int listeners[HOST_MAX_MODULE_LISTENERS]; /* engine listener indices */
	int nlisteners;
	host_owned_t *owned;         /* codecs, stats, ticks: freed at unload */
	struct gnet_module *next;    /* the host's list, newest first */
};

struct gnet_host {
	gnet_engine_t *eng;
	char name[HOST_NAME_CAP];
	gnet_host_log_fn log;
	void *log_udata;
	bool dry_run;
	pthread_t owner;             /* the control thread */
	gnet_module_t *modules;
	/* Functions this host gives beyond the table (gnet_host_provide). */
	struct {
		char name[HOST_NAME_CAP];
		void *fn;
	} provided[HOST_MAX_PROVIDED];
	int nprovided;
	void (*on_dropped)(const gnet_msg_t *m, void *udata);
	void *dropped_udata;
};

static inline gnet_module_t *
module_of(GnetModuleCtx *ctx)
{
	return (gnet_module_t *)ctx;
}

/* host.c */
void host_log(gnet_host_t *h, int level, const char *module, const char *fmt,
    ...) __attribute__((format(printf, 4, 5)));
void host_vlog(gnet_host_t *h, int level, const char *module,
    const char *fmt, va_list ap);
/* Is the caller a thread the host's control functions may run on? */
bool host_control_thread(void);

/* load.c: record the load's first failure. */
void module_fail(gnet_module_t *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void module_vfail(gnet_module_t *m, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* api.c */
int api_get(GnetModuleCtx *ctx, const char *name, void **out);

/* config.c */
int config_declare(gnet_module_t *m, const GnetModuleConfig *def);
int config_apply(gnet_module_t *m);
void config_free(gnet_module_t *m);

/* extras.c */
int owned_codec(gnet_module_t *m, gnet_codec_t *codec);
int tick_start(gnet_module_t *m, int loop, uint64_t period_ms,
    void (*fn)(int, void *), void *udata);
int stats_register(gnet_module_t *m, const char *section,
    const char *const *names, int n, GnetModuleStats **out);
uint64_t *stats_row(GnetModuleStats *s, int loop);
int stats_sum(const gnet_module_t *m, const char *section, const char *name,
    uint64_t *value);
/* After the module's group is empty: free what it owned. */
void owned_free(gnet_module_t *m);

#endif
