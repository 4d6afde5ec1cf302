/*
 * Loading and unloading modules. A shared object and a module linked into
 * the program go through the same steps once their entry points are
 * found, so they behave the same.
 *
 * A load that fails leaves nothing behind: what the module registered
 * before failing belongs to its group, which is closed and waited for
 * (the engine is not running yet, so at once) before the object is
 * released.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "host/host.h"

void
module_vfail(gnet_module_t *m, const char *fmt, va_list ap)
{
	if (m->err[0] == '\0')
		vsnprintf(m->err, sizeof(m->err), fmt, ap);
}

void
module_fail(gnet_module_t *m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	module_vfail(m, fmt, ap);
	va_end(ap);
}

static void
set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void
set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static void
free_args(gnet_module_t *m)
{
	int i;

	for (i = 0; i < m->argc; i++)
		free((char *)m->argv[i]);
	free(m->argv);
	m->argv = NULL;
	m->argc = 0;
}

static int
copy_args(gnet_module_t *m, const char *const *argv, int argc)
{
	int i;

	m->argv = calloc((size_t)argc + 1, sizeof(*m->argv));
	if (m->argv == NULL)
		return GNET_ENOMEM;
	for (i = 0; i < argc; i++) {
		m->argv[i] = strdup(argv[i] != NULL ? argv[i] : "");
		if (m->argv[i] == NULL)
			return GNET_ENOMEM;
		m->argc = i + 1;
	}
	return 0;
}

static gnet_module_t *
module_new(gnet_host_t *h, const char *name)
{
	gnet_module_t *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	if (gnet_group_new(h->eng, &m->group) != 0) {
		free(m);
		return NULL;
	}
	m->ctx.GetApi = api_get;
	m->host = h;
	m->state = MODULE_LOADING;
	snprintf(m->name, sizeof(m->name), "%s", name);
	return m;
}

/* End what the module has in the engine and free the module. Its group
 * must be empty, or close at once (the engine not running). */
static void
module_free(gnet_module_t *m)
{
	owned_free(m);
	config_free(m);
	free_args(m);
	(void)gnet_group_free(m->group);
	if (m->dl != NULL)
		dlclose(m->dl);
	free(m);
}

static void
module_discard(gnet_module_t *m)
{
	(void)gnet_group_close(m->group);
	(void)gnet_group_wait(m->group, -1);
	module_free(m);
}

/* The file name without folders and ".so": the module's name until it
 * gives its own. */
static void
name_from_path(const char *path, char *out, size_t cap)
{
	const char *base = strrchr(path, '/');
	size_t n;

	base = base != NULL ? base + 1 : path;
	n = strcspn(base, ".");
	snprintf(out, cap, "%.*s", (int)n, base);
}

/* Why the load failed, in one line; the code to return. */
static int
load_error(gnet_module_t *m, int rc, const char *where, char *err,
    size_t errlen)
{
	gnet_host_t *h = m->host;

	if (m->missing[0] != '\0') {
		set_err(err, errlen, "module %s (%s) needs %s, which %s does not "
		    "provide", m->name, where, m->missing, h->name);
		return GNET_ENOTSUP;
	}
	if (m->abi != 0 && (m->abi < HOST_ABI_MIN || m->abi > HOST_ABI_MAX)) {
		set_err(err, errlen, "module %s (%s) was built for gnetmodule ABI "
		    "%d; %s speaks ABI %d to %d", m->name, where, m->abi, h->name,
		    HOST_ABI_MIN, HOST_ABI_MAX);
		return GNET_ENOTSUP;
	}
	if (m->err[0] != '\0')
		set_err(err, errlen, "module %s (%s): %s", m->name, where, m->err);
	else
		set_err(err, errlen, "module %s (%s): GnetModule_OnLoad failed "
		    "(returned %d)", m->name, where, rc);
	return rc < 0 && rc != GNETMODULE_ERR ? rc : GNET_EINVAL;
}

/* The common part: run OnLoad for m and keep it, or undo it. */
static int
load_entry(gnet_module_t *m, gnet_module_onload_fn onload,
    gnet_module_onunload_fn onunload, const char *where,
    const char *const *argv, int argc, gnet_module_t **out, char *err,
    size_t errlen)
{
	gnet_host_t *h = m->host;
	int rc;

	m->onunload = onunload;
	if (argc < 0 || (argc > 0 && argv == NULL)) {
		set_err(err, errlen, "module %s: bad argument list", m->name);
		module_discard(m);
		return GNET_EINVAL;
	}
	if (copy_args(m, argv, argc) != 0) {
		set_err(err, errlen, "module %s: out of memory", m->name);
		module_discard(m);
		return GNET_ENOMEM;
	}
	rc = onload(&m->ctx, m->argv, m->argc);
	if (m->describe != NULL) {
		/* Describing stops at ApplyConfig, by design. */
		rc = m->described ? 0 : load_error(m, rc, where, err, errlen);
		module_discard(m);
		return rc;
	}
	if (rc != GNETMODULE_OK || m->err[0] != '\0' || m->missing[0] != '\0' ||
	    m->abi == 0) {
		if (rc == GNETMODULE_OK && m->abi == 0)
			module_fail(m, "GnetModule_OnLoad returned without "
			    "calling GnetModule_Init");
		rc = load_error(m, rc, where, err, errlen);
		module_discard(m);
		return rc;
	}
	m->state = MODULE_LOADED;
	m->next = h->modules;
	h->modules = m;
	host_log(h, GNETMODULE_LOG_INFO, m->name, "loaded (%s, version %d)",
	    where, m->version);
	if (out != NULL)
		*out = m;
	return 0;
}

static int
check_host(gnet_host_t *h, char *err, size_t errlen)
{
	if (h == NULL)
		return GNET_EINVAL;
	if (!host_control_thread()) {
		set_err(err, errlen, "modules load on the host's control thread, "
		    "not a loop");
		return GNET_ETHREAD;
	}
	if (gnet_engine_is_running(h->eng)) {
		set_err(err, errlen, "modules load before the host runs");
		return GNET_ESTATE;
	}
	return 0;
}

/* dlopen path, found as given: a bare file name means the current
 * folder, never the system's library path. */
static void *
open_object(const char *path, char *err, size_t errlen, int *rc)
{
	char buf[4096];
	void *dl;

	if (strchr(path, '/') == NULL) {
		snprintf(buf, sizeof(buf), "./%s", path);
		path = buf;
	}
	if (access(path, R_OK) != 0) {
		*rc = -errno;
		set_err(err, errlen, "cannot load module %s: %s", path,
		    strerror(errno));
		return NULL;
	}
	dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (dl == NULL) {
		*rc = GNET_EINVAL;
		set_err(err, errlen, "cannot load module %s: %s", path, dlerror());
	}
	return dl;
}

static int
load_path(gnet_host_t *h, const char *path, FILE *describe,
    const char *const *argv, int argc, gnet_module_t **out, char *err,
    size_t errlen)
{
	char name[HOST_NAME_CAP];
	gnet_module_onload_fn onload;
	gnet_module_t *m;
	void *dl, *sym;
	int rc = check_host(h, err, errlen);

	if (rc != 0)
		return rc;
	if (path == NULL) {
		set_err(err, errlen, "no module path");
		return GNET_EINVAL;
	}
	dl = open_object(path, err, errlen, &rc);
	if (dl == NULL)
		return rc;
	sym = dlsym(dl, "GnetModule_OnLoad");
	if (sym == NULL) {
		set_err(err, errlen, "%s is not a gnet module: it has no "
		    "GnetModule_OnLoad", path);
		dlclose(dl);
		return GNET_EINVAL;
	}
	name_from_path(path, name, sizeof(name));
	m = module_new(h, name);
	if (m == NULL) {
		set_err(err, errlen, "module %s: out of memory", name);
		dlclose(dl);
		return GNET_ENOMEM;
	}
	m->dl = dl;
	m->describe = describe;
	*(void **)&onload = sym;
	return load_entry(m, onload,
	    (gnet_module_onunload_fn)dlsym(dl, "GnetModule_OnUnload"), path,
	    argv, argc, out, err, errlen);
}

int
gnet_host_load(gnet_host_t *h, const char *path, const char *const *argv,
    int argc, gnet_module_t **out, char *err, size_t errlen)
{
	return load_path(h, path, NULL, argv, argc, out, err, errlen);
}

static int
load_static(gnet_host_t *h, const char *name, gnet_module_onload_fn onload,
    gnet_module_onunload_fn onunload, FILE *describe,
    const char *const *argv, int argc, gnet_module_t **out, char *err,
    size_t errlen)
{
	gnet_module_t *m;
	int rc = check_host(h, err, errlen);

	if (rc != 0)
		return rc;
	if (onload == NULL) {
		set_err(err, errlen, "module %s: no GnetModule_OnLoad",
		    name != NULL ? name : "?");
		return GNET_EINVAL;
	}
	m = module_new(h, name != NULL ? name : "static");
	if (m == NULL) {
		set_err(err, errlen, "module %s: out of memory", name);
		return GNET_ENOMEM;
	}
	m->describe = describe;
	return load_entry(m, onload, onunload, "linked in", argv, argc, out,
	    err, errlen);
}

int
gnet_host_load_static(gnet_host_t *h, const char *name,
    gnet_module_onload_fn onload, gnet_module_onunload_fn onunload,
    const char *const *argv, int argc, gnet_module_t **out, char *err,
    size_t errlen)
{
	return load_static(h, name, onload, onunload, NULL, argv, argc, out,
	    err, errlen);
}

int
gnet_host_describe(gnet_host_t *h, const char *path,
    gnet_module_onload_fn onload, FILE *outf, char *err, size_t errlen)
{
	if (outf == NULL)
		return GNET_EINVAL;
	if (path != NULL)
		return load_path(h, path, outf, NULL, 0, NULL, err, errlen);
	return load_static(h, NULL, onload, NULL, outf, NULL, 0, NULL, err,
	    errlen);
}

int
gnet_host_unload(gnet_host_t *h, gnet_module_t *m, int timeout_ms)
{
	gnet_module_t **pp;
	int rc;

	if (h == NULL || m == NULL)
		return GNET_EINVAL;
	if (!host_control_thread())
		return GNET_ETHREAD;
	for (pp = &h->modules; *pp != NULL && *pp != m; pp = &(*pp)->next)
		;
	if (*pp == NULL)
		return GNET_EINVAL;
	m->state = MODULE_ENDING;
	(void)gnet_group_close(m->group);
	rc = gnet_group_wait(m->group, timeout_ms);
	if (rc != 0) {
		host_log(h, GNETMODULE_LOG_WARNING, m->name, "unload: "
		    "%d members still ending after %d ms",
		    gnet_group_live(m->group), timeout_ms);
		return rc;
	}
	/* No loop can call into the module any more. */
	*pp = m->next;
	if (m->onunload != NULL)
		m->onunload(&m->ctx);
	host_log(h, GNETMODULE_LOG_INFO, m->name, "unloaded");
	module_free(m);
	return 0;
}

/* ---- readers ---- */

const char *
gnet_module_name(const gnet_module_t *m)
{
	return m != NULL ? m->name : NULL;
}

int
gnet_module_listener_addr(const gnet_module_t *m, int index,
    struct sockaddr_storage *out, socklen_t *len)
{
	if (m == NULL || index < 0 || index >= m->nlisteners)
		return GNET_EINVAL;
	return gnet_engine_addr(m->host->eng, m->listeners[index], out, len);
}

int
gnet_module_live(const gnet_module_t *m)
{
	return m != NULL ? gnet_group_live(m->group) : GNET_EINVAL;
}

int
gnet_module_stat(const gnet_module_t *m, const char *section,
    const char *name, uint64_t *value)
{
	if (m == NULL || section == NULL || name == NULL || value == NULL)
		return GNET_EINVAL;
	return stats_sum(m, section, name, value);
}
