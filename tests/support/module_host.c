/*
 * module_host.c -- a module host for tests (module_host.h).
 */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "module_host.h"

static void
keep_line(int level, const char *module, const char *msg, void *udata)
{
	tn_host_t *t = udata;

	(void)level;
	pthread_mutex_lock(&t->lock);
	if (t->nlines < TN_HOST_LOG_LINES)
		snprintf(t->lines[t->nlines++], TN_HOST_LOG_LINE, "%s: %s",
		    module != NULL ? module : "-", msg);
	pthread_mutex_unlock(&t->lock);
}

void
tn_host_new(tn_host_t *t, int loops, int dry_run)
{
	gnet_options_t eo = { .size = sizeof(eo), .num_loops = loops,
	    .no_pin = 1, .linger_ms = 2000 };
	gnet_host_options_t o = { .size = sizeof(o), .name = "test host",
	    .engine = &eo, .log = keep_line, .log_udata = t,
	    .dry_run = dry_run };
	int rc;

	memset(t, 0, sizeof(*t));
	pthread_mutex_init(&t->lock, NULL);
	rc = gnet_host_new(&t->h, &o);
	ck_assert_msg(rc == 0, "gnet_host_new: %s", gnet_strerror(rc));
}

void
tn_module_path(const char *name, char *out, size_t cap)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	ck_assert_msg(n > 0, "readlink /proc/self/exe");
	exe[n] = '\0';
	/* BUILD/tests/check_x -> BUILD/tests */
	slash = strrchr(exe, '/');
	ck_assert(slash != NULL);
	*slash = '\0';
	if (strncmp(name, "tests/", 6) == 0)
		snprintf(out, cap, "%s/modules/%s.so", exe, name + 6);
	else
		snprintf(out, cap, "%s/../modules/%s.so", exe, name);
}

static int
count_args(const char *const *args)
{
	int n = 0;

	while (args != NULL && args[n] != NULL)
		n++;
	return n;
}

gnet_module_t *
tn_host_try(tn_host_t *t, const char *name, const char *const *args, int *rc)
{
	char path[PATH_MAX];
	gnet_module_t *m = NULL;
	int r;

	tn_module_path(name, path, sizeof(path));
	t->err[0] = '\0';
	r = gnet_host_load(t->h, path, args, count_args(args), &m, t->err,
	    sizeof(t->err));
	if (rc != NULL)
		*rc = r;
	return r == 0 ? m : NULL;
}

gnet_module_t *
tn_host_load(tn_host_t *t, const char *name, const char *const *args)
{
	int rc;
	gnet_module_t *m = tn_host_try(t, name, args, &rc);

	ck_assert_msg(m != NULL, "load %s: %d: %s", name, rc, t->err);
	return m;
}

void
tn_host_run(tn_host_t *t)
{
	t->srv.eng = gnet_host_engine(t->h);
	tn_server_run(&t->srv);
	t->running = 1;
}

void
tn_host_end(tn_host_t *t)
{
	if (t->h == NULL)
		return;
	if (t->running)
		tn_server_stop(&t->srv);
	gnet_host_free(t->h);
	t->h = NULL;
	pthread_mutex_destroy(&t->lock);
}

int
tn_module_port(const gnet_module_t *m, int index)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int rc = gnet_module_listener_addr(m, index, &ss, &len);

	ck_assert_msg(rc == 0, "listener %d of %s: %s", index,
	    gnet_module_name(m), gnet_strerror(rc));
	return tn_addr_port(&ss);
}

int
tn_host_log_count(tn_host_t *t, const char *needle)
{
	int i, n = 0;

	pthread_mutex_lock(&t->lock);
	for (i = 0; i < t->nlines; i++)
		if (strstr(t->lines[i], needle) != NULL)
			n++;
	pthread_mutex_unlock(&t->lock);
	return n;
}

int
tn_host_log_wait(tn_host_t *t, const char *needle, int n, int timeout_ms)
{
	int64_t deadline = tn_now_ms() + timeout_ms;

	while (tn_host_log_count(t, needle) < n) {
		if (tn_now_ms() > deadline)
			return 0;
		tn_nap();
	}
	return 1;
}
