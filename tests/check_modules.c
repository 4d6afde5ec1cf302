/*
 * check_modules.c -- suite "modules": the module host (gnethost.h) loading
 * modules through the ABI (gnetmodule.h), with real sockets.
 *
 * Loads that must fail -- a function the host lacks, an ABI it does not
 * speak, a module that refuses, a missing file, a file that is no module,
 * bad arguments -- must say why, naming the cause, and leave the host as
 * it was: nothing bound, and the next module loads and serves. Loads that
 * work must give each load its own listeners and configuration, static
 * and .so alike. Unloading a module with connections open must close
 * them (clients see their echo, then EOF) and return only once no loop
 * can call into it; under ASan (make test-asan) a call into the
 * dlclose()d object would be reported.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "gnethost.h"
#include "support/module_host.h"
#include "support/sockets.h"
#include "support/testnet.h"

GNET_MODULE_STATIC(echo);

#define IO_MS 10000
#define UNLOAD_MS 10000
#define OPEN_CLIENTS 8

/* One round trip of n random bytes through the echo on port. */
static void
round_trip(int port, size_t n, uint64_t seed)
{
	unsigned char *tx = malloc(n), *rx = malloc(n);
	int fd = tn_connect(port);

	ck_assert(tx != NULL && rx != NULL);
	ck_assert_msg(fd >= 0, "connect to %d: %s", port, strerror(errno));
	tn_fill_random(tx, n, seed);
	ck_assert_uint_eq(tn_send_all(fd, tx, n, IO_MS), n);
	ck_assert_uint_eq(tn_read_exact(fd, rx, n, IO_MS), n);
	ck_assert_msg(memcmp(tx, rx, n) == 0, "echo differs at byte %zu",
	    tn_first_diff(tx, rx, n));
	tn_close(&fd);
	free(tx);
	free(rx);
}

/* Loading NAME fails with code `want`, and the message holds both
 * needles (the second may be NULL). */
static void
expect_refused(tn_host_t *t, const char *name, const char *const *args,
    int want, const char *needle, const char *needle2)
{
	int rc;

	ck_assert_ptr_null(tn_host_try(t, name, args, &rc));
	ck_assert_msg(rc == want, "load %s: %d, not %d (%s)", name, rc, want,
	    t->err);
	ck_assert_msg(strstr(t->err, needle) != NULL &&
	    (needle2 == NULL || strstr(t->err, needle2) != NULL),
	    "load %s: \"%s\" lacks \"%s\"", name, t->err, needle);
}

/* After a failed load the host still loads and serves. */
static void
host_still_serves(tn_host_t *t)
{
	static const char *const args[] = { "listen=tcp://127.0.0.1:0", NULL };
	gnet_module_t *m = tn_host_load(t, "echo", args);

	tn_host_run(t);
	round_trip(tn_module_port(m, 0), 4096, 1);
}

START_TEST(test_missing_function_named)
{
	tn_host_t t;

	tn_host_new(&t, 2, 0);
	expect_refused(&t, "tests/needs_teleport", NULL, GNET_ENOTSUP,
	    "GnetModule_Teleport", "test host");
	host_still_serves(&t);
	tn_host_end(&t);
}
END_TEST

START_TEST(test_wrong_abi_refused)
{
	tn_host_t t;

	tn_host_new(&t, 1, 0);
	expect_refused(&t, "tests/abi_future", NULL, GNET_ENOTSUP, "ABI 99",
	    NULL);
	host_still_serves(&t);
	tn_host_end(&t);
}
END_TEST

START_TEST(test_onload_error_undone)
{
	static const char *const args[] = { "listen=tcp://127.0.0.1:0", NULL };
	tn_host_t t;
	int port;

	tn_host_new(&t, 2, 0);
	expect_refused(&t, "tests/refuses", args, GNET_EINVAL,
	    "refusing on purpose", "module refuses");
	/* The listener it made is gone: the port it was given (the message
	 * names it) is free. */
	{
		const char *p = strstr(t.err, "on port ");
		ck_assert_msg(p != NULL, "error: %s", t.err);
		port = atoi(p + strlen("on port "));
	}
	ck_assert_int_gt(port, 0);
	ck_assert_msg(tn_port_free(SOCK_STREAM, port),
	    "port %d still bound after the failed load", port);
	host_still_serves(&t);
	tn_host_end(&t);
}
END_TEST

START_TEST(test_missing_and_non_module_files)
{
	tn_host_t t;

	tn_host_new(&t, 1, 0);
	expect_refused(&t, "tests/no_such_module", NULL, GNET_ENOENT,
	    "no_such_module.so", "No such file");
	expect_refused(&t, "tests/not_a_module", NULL, GNET_EINVAL,
	    "not a gnet module", NULL);
	host_still_serves(&t);
	tn_host_end(&t);
}
END_TEST

START_TEST(test_same_module_twice)
{
	static const char *const a1[] = { "listen=tcp://127.0.0.1:0", NULL };
	static const char *const a2[] = { "listen=tcp://[::1]:0", NULL };
	tn_host_t t;
	gnet_module_t *m1, *m2;
	int p1, p2;

	tn_host_new(&t, 2, 0);
	m1 = tn_host_load(&t, "echo", a1);
	m2 = tn_host_load(&t, "echo", a2);
	ck_assert_ptr_ne(m1, m2);
	p1 = tn_module_port(m1, 0);
	p2 = tn_module_port(m2, 0);
	ck_assert_int_ne(p1, p2);
	tn_host_run(&t);
	round_trip(p1, 64 * 1024, 2);
	/* The second load listens on ::1 only: its own argument. */
	{
		struct sockaddr_in6 s6 = { .sin6_family = AF_INET6,
		    .sin6_port = htons((uint16_t)p2), .sin6_addr = IN6ADDR_LOOPBACK_INIT };
		unsigned char tx[1000], rx[1000];
		int fd = tn_connect_addr((struct sockaddr *)&s6, sizeof(s6), 0);
		ck_assert_msg(fd >= 0, "connect [::1]:%d: %s", p2, strerror(errno));
		tn_fill_random(tx, sizeof(tx), 3);
		ck_assert_uint_eq(tn_send_all(fd, tx, sizeof(tx), IO_MS), sizeof(tx));
		ck_assert_uint_eq(tn_read_exact(fd, rx, sizeof(rx), IO_MS), sizeof(rx));
		ck_assert(memcmp(tx, rx, sizeof(tx)) == 0);
		tn_close(&fd);
	}
	/* Unloading one leaves the other serving. */
	ck_assert_int_eq(gnet_host_unload(t.h, m1, UNLOAD_MS), 0);
	ck_assert_msg(tn_port_free(SOCK_STREAM, p1), "port %d still bound after unload", p1);
	/* Its listening socket, once the client's connection has ended. */
	TN_WAIT_UNTIL(gnet_module_live(m2) == 1, IO_MS);
	tn_host_end(&t);
}
END_TEST

START_TEST(test_unload_with_open_connections)
{
	static const char *const args[] = { "name=unload", NULL };
	static const char *const echo_args[] = { "listen=tcp://127.0.0.1:0",
	    NULL };
	tn_host_t t;
	gnet_module_t *m, *other;
	int fds[OPEN_CLIENTS], i, port;
	unsigned char tx[4096], rx[4096];

	tn_host_new(&t, 2, 0);
	other = tn_host_load(&t, "echo", echo_args);
	m = tn_host_load(&t, "tests/probe", args);
	port = tn_module_port(m, 0);
	tn_host_run(&t);
	for (i = 0; i < OPEN_CLIENTS; i++) {
		fds[i] = tn_connect(port);
		ck_assert_msg(fds[i] >= 0, "connect: %s", strerror(errno));
		tn_fill_random(tx, sizeof(tx), (uint64_t)i);
		ck_assert_uint_eq(tn_send_all(fds[i], tx, sizeof(tx), IO_MS),
		    sizeof(tx));
		ck_assert_uint_eq(tn_read_exact(fds[i], rx, sizeof(rx), IO_MS),
		    sizeof(rx));
		ck_assert(memcmp(tx, rx, sizeof(tx)) == 0);
	}
	ck_assert_msg(tn_host_log_wait(&t, "probe: open", OPEN_CLIENTS, IO_MS),
	    "%d opens logged", tn_host_log_count(&t, "probe: open"));
	/* The last client's bytes are still on their way when the unload
	 * begins: they come back before the EOF, or not at all, never cut. */
	tn_send_all(fds[OPEN_CLIENTS - 1], tx, sizeof(tx), IO_MS);
	ck_assert_int_eq(gnet_host_unload(t.h, m, UNLOAD_MS), 0);
	/* Returned only after every connection's on_close, and OnUnload. */
	ck_assert_int_eq(tn_host_log_count(&t, "probe: close"), OPEN_CLIENTS);
	ck_assert_int_eq(tn_host_log_count(&t, "probe: unload same ctx"), 1);
	for (i = 0; i < OPEN_CLIENTS; i++) {
		size_t extra = 0;
		ck_assert_msg(tn_wait_eof(fds[i], IO_MS, &extra) == 1,
		    "client %d saw no EOF", i);
		ck_assert_msg(extra == 0 || extra == sizeof(tx),
		    "client %d got %zu bytes of a %zu-byte echo", i, extra,
		    sizeof(tx));
		tn_close(&fds[i]);
	}
	ck_assert_msg(tn_port_free(SOCK_STREAM, port), "port %d still bound after unload",
	    port);
	/* The host goes on: another module serves. */
	round_trip(tn_module_port(other, 0), 4096, 9);
	tn_host_end(&t);
}
END_TEST

START_TEST(test_typed_config)
{
	static const char *const good[] = { "number=9", "size=64k",
	    "flag=on", "name=x y", NULL };
	static const struct { const char *arg, *want; } bad[] = {
		{ "number=11", "option number: 11 is not from 1 to 10" },
		{ "number=7", "option number: \"7\": seven is refused" },
		{ "number=ten", "option number: \"ten\" is not a number" },
		{ "size=12q", "option size: \"12q\" is not a size" },
		{ "flag=maybe", "option flag: \"maybe\" is not yes or no" },
		{ "colour=red", "unknown option \"colour\"" },
		{ "lonely", "argument \"lonely\" is not name=value" },
	};
	tn_host_t t;
	gnet_module_t *m;
	size_t i;

	tn_host_new(&t, 1, 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *args[] = { "name=n", bad[i].arg, NULL };
		expect_refused(&t, "tests/probe", args, GNET_EINVAL, bad[i].want,
		    NULL);
	}
	expect_refused(&t, "tests/probe", NULL, GNET_EINVAL,
	    "option name is required", NULL);
	m = tn_host_load(&t, "tests/probe", good);
	ck_assert_int_eq(tn_host_log_count(&t,
	    "config number=9 size=65536 flag=1 name=x y"), 1);
	/* Defaults, and the last value given winning. */
	{
		const char *args[] = { "name=a", "name=b", NULL };
		tn_host_load(&t, "tests/probe", args);
		ck_assert_int_eq(tn_host_log_count(&t,
		    "config number=5 size=8192 flag=0 name=b"), 1);
	}
	(void)m;
	tn_host_end(&t);
}
END_TEST

/* The same module, linked in and as a .so: the same behaviour, the same
 * description, the same errors. */
START_TEST(test_static_and_so_alike)
{
	static const char *const args[] = { "listen=tcp://127.0.0.1:0", NULL };
	static const char *const bad[] = { "listen=tcp://127.0.0.1:0",
	    "speed=9", NULL };
	char path[4096], d1[2048] = "", d2[2048] = "", e1[512], e2[512];
	const char *t1, *t2;
	tn_host_t t;
	gnet_module_t *ms, *md;
	FILE *f;
	int rc;

	tn_host_new(&t, 2, 0);
	tn_module_path("echo", path, sizeof(path));
	ms = NULL;
	rc = gnet_host_load_static(t.h, GNET_MODULE_ENTRY(echo), args, 1, &ms,
	    e1, sizeof(e1));
	ck_assert_msg(rc == 0, "static: %s", e1);
	md = tn_host_load(&t, "echo", args);
	ck_assert_str_eq(gnet_module_name(ms), gnet_module_name(md));
	/* Errors: the same text after the "(where)". */
	rc = gnet_host_load_static(t.h, GNET_MODULE_ENTRY(echo), bad, 2, NULL,
	    e1, sizeof(e1));
	ck_assert_int_eq(rc, GNET_EINVAL);
	rc = gnet_host_load(t.h, path, bad, 2, NULL, e2, sizeof(e2));
	ck_assert_int_eq(rc, GNET_EINVAL);
	t1 = strstr(e1, "): ");
	t2 = strstr(e2, "): ");
	ck_assert_msg(t1 != NULL && t2 != NULL && strcmp(t1, t2) == 0,
	    "static \"%s\" vs .so \"%s\"", e1, e2);
	/* Descriptions. */
	f = fmemopen(d1, sizeof(d1) - 1, "w");
	ck_assert_int_eq(gnet_host_describe(t.h, NULL, echo_GnetModule_OnLoad,
	    f, e1, sizeof(e1)), 0);
	fclose(f);
	f = fmemopen(d2, sizeof(d2) - 1, "w");
	ck_assert_int_eq(gnet_host_describe(t.h, path, NULL, f, e2, sizeof(e2)),
	    0);
	fclose(f);
	ck_assert_msg(strstr(d1, "listen=<string> (default tcp://127.0.0.1:9000)")
	    != NULL, "description: %s", d1);
	ck_assert_str_eq(d1, d2);
	/* Serving. */
	tn_host_run(&t);
	round_trip(tn_module_port(ms, 0), 100000, 4);
	round_trip(tn_module_port(md, 0), 100000, 4);
	tn_host_end(&t);
}
END_TEST

START_TEST(test_ticks_and_stats)
{
	static const char *const args[] = { "name=ticks", NULL };
	tn_host_t t;
	gnet_module_t *m;
	uint64_t ticks = 0, bytes = 0;

	tn_host_new(&t, 2, 0);
	m = tn_host_load(&t, "tests/probe", args);
	ck_assert_int_eq(gnet_module_stat(m, "probe", "nope", &ticks),
	    GNET_ENOENT);
	tn_host_run(&t);
	/* Ticks every 5 ms on both loops. */
	TN_WAIT_UNTIL(gnet_module_stat(m, "probe", "ticks", &ticks) == 0 &&
	    ticks >= 10, IO_MS);
	round_trip(tn_module_port(m, 0), 5000, 5);
	TN_WAIT_UNTIL(gnet_module_stat(m, "probe", "bytes", &bytes) == 0 &&
	    bytes == 5000, IO_MS);
	/* Its listening socket and a tick actor per loop, once the client's
	 * connection has ended. */
	TN_WAIT_UNTIL(gnet_module_live(m) == 3, IO_MS);
	ck_assert_int_eq(gnet_host_unload(t.h, m, UNLOAD_MS), 0);
	tn_host_end(&t);
}
END_TEST

START_TEST(test_dry_run_checks_without_binding)
{
	static const char *const priv[] = { "listen=tcp://127.0.0.1:1", NULL };
	static const char *const bad[] = { "listen=tcp://nohost:1", NULL };
	tn_host_t t;
	int rc;

	tn_host_new(&t, 1, 1);
	/* Port 1 cannot be bound by this user; a check does not try. */
	ck_assert_ptr_nonnull(tn_host_try(&t, "echo", priv, &rc));
	ck_assert_ptr_null(tn_host_try(&t, "echo", bad, &rc));
	ck_assert_msg(strstr(t.err, "listen tcp://nohost:1") != NULL,
	    "error: %s", t.err);
	ck_assert_int_eq(gnet_host_run(t.h), GNET_ESTATE);
	tn_host_end(&t);
}
END_TEST

START_TEST(test_no_load_while_running)
{
	static const char *const args[] = { "listen=tcp://127.0.0.1:0", NULL };
	tn_host_t t;
	int rc;

	tn_host_new(&t, 1, 0);
	tn_host_load(&t, "echo", args);
	tn_host_run(&t);
	ck_assert_ptr_null(tn_host_try(&t, "echo", args, &rc));
	ck_assert_int_eq(rc, GNET_ESTATE);
	ck_assert_msg(strstr(t.err, "before the host runs") != NULL, "%s", t.err);
	tn_host_end(&t);
}
END_TEST

static Suite *
modules_suite(void)
{
	Suite *s = suite_create("modules");
	TCase *tc = tn_tcase("loader", 60);

	tcase_add_test(tc, test_missing_function_named);
	tcase_add_test(tc, test_wrong_abi_refused);
	tcase_add_test(tc, test_onload_error_undone);
	tcase_add_test(tc, test_missing_and_non_module_files);
	tcase_add_test(tc, test_same_module_twice);
	tcase_add_test(tc, test_unload_with_open_connections);
	tcase_add_test(tc, test_typed_config);
	tcase_add_test(tc, test_static_and_so_alike);
	tcase_add_test(tc, test_ticks_and_stats);
	tcase_add_test(tc, test_dry_run_checks_without_binding);
	tcase_add_test(tc, test_no_load_while_running);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tn_run_suite(modules_suite());
}
