/*
 * module_host.h -- a gnet module host (gnethost.h) run by a test: modules
 * loaded from this build's .so files or linked in, the engine on a
 * background thread (testnet's tn_server), and every log line the host
 * and its modules write kept for the test to search.
 *
 * Module files are found from /proc/self/exe: this suite lives in
 * BUILD/tests/, shipped modules in BUILD/modules/NAME.so, the loader's
 * test modules in BUILD/tests/modules/NAME.so.
 */
#ifndef TESTS_SUPPORT_MODULE_HOST_H
#define TESTS_SUPPORT_MODULE_HOST_H

#include <pthread.h>
#include "gnethost.h"
#include "testnet.h"

#define TN_HOST_LOG_LINES 256
#define TN_HOST_LOG_LINE 256
#define TN_HOST_ERR 1024

typedef struct tn_host {
	gnet_host_t *h;
	tn_server_t srv;          /* the engine's thread, once running */
	int running;
	char err[TN_HOST_ERR];    /* the last load's error */
	pthread_mutex_t lock;     /* guards the log */
	int nlines;
	char lines[TN_HOST_LOG_LINES][TN_HOST_LOG_LINE]; /* "module: msg" */
} tn_host_t;

/* A host named "test host" of `loops` loops (dry_run as gnethost.h). */
void tn_host_new(tn_host_t *t, int loops, int dry_run);
/* The path of module NAME: "tests/NAME" is a loader test module. */
void tn_module_path(const char *name, char *out, size_t cap);
/* Load NAME with args (NULL-terminated); the module, or NULL with t->err
 * set and *rc (when not NULL) the code. */
gnet_module_t *tn_host_try(tn_host_t *t, const char *name,
    const char *const *args, int *rc);
/* The same, failing the test when the load fails. */
gnet_module_t *tn_host_load(tn_host_t *t, const char *name,
    const char *const *args);
/* Run the engine on a thread; wait until it runs. */
void tn_host_run(tn_host_t *t);
/* Stop (if running), join, free the host. */
void tn_host_end(tn_host_t *t);
/* Port of the module's listener `index`. */
int tn_module_port(const gnet_module_t *m, int index);
/* Log lines containing `needle`, so far. */
int tn_host_log_count(tn_host_t *t, const char *needle);
/* Wait (bounded) until at least n lines contain `needle`. */
int tn_host_log_wait(tn_host_t *t, const char *needle, int n, int timeout_ms);

#endif
