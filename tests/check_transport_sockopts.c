/*
 * check_transport_sockopts.c -- integration suite "transport_sockopts": the
 * socket options an engine applies to the sockets it accepts and listens
 * on.
 *
 * Covers TCP_NODELAY (on by default, off with -1), keepalive (idle,
 * interval, count), SO_SNDBUF/SO_RCVBUF, SO_LINGER, each read back from an
 * accepted socket, which must still echo; and bind_device, on the TCP and
 * the UDP socket alike (or -EPERM without CAP_NET_RAW), with a missing
 * device refused at listen.
 *
 * The server (support/transport_server) reads the options in on_open; the
 * test thread asserts, with bounded waits.
 */
#include <check.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "gnet.h"
#include "support/echo_clients.h"
#include "support/testnet.h"
#include "support/transport_server.h"

#define TCASE_TIMEOUT_S 120
#define WAIT_MS 5000            /* for a callback to be observed */
#define IO_MS 10000             /* for a single client exchange */

#define MULTI_BYTES (64u * 1024)

#define assert_no_loop_errors(ctx) TN_ASSERT_NO_LOOP_ERRORS(&(ctx)->errs)

/* ------------------------------------------------------------------------
 * Socket options of accepted sockets.
 */
typedef struct sockopt_case {
	const char *name;
	gnet_options_t opts;
	int nodelay;              /* TCP_NODELAY expected on (1) or off (0) */
	int keepidle, keepintvl, keepcnt; /* keepidle 0: SO_KEEPALIVE off;
	                           * keepcnt 0: the kernel's, not checked */
	int sndbuf, rcvbuf;       /* requested bytes: the kernel reports twice
	                           * that (0: not checked) */
	int linger_on, linger_s;  /* SO_LINGER expected */
} sockopt_case_t;

/* Twice these stays below what the kernel gives a loopback connection by
 * itself (its send buffer grows to megabytes, the receive buffer starts at
 * tcp_rmem[1], 128 KiB), so an option left unapplied shows. */
#define OPT_SNDBUF_REQ (48 * 1024)
#define OPT_RCVBUF_REQ (40 * 1000)

static const sockopt_case_t sockopt_cases[] = {
	{ "defaults", { 0 }, 1, 0, 0, 0, 0, 0, 0, 0 },
	{ "tcp_nodelay 1", { .tcp_nodelay = 1 }, 1, 0, 0, 0, 0, 0, 0, 0 },
	{ "tcp_nodelay -1", { .tcp_nodelay = -1 }, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "keepalive 7/3/4", { .tcp_keepalive_s = 7, .tcp_keepalive_intvl_s = 3,
	    .tcp_keepalive_cnt = 4 }, 1, 7, 3, 4, 0, 0, 0, 0 },
	{ "keepalive 9", { .tcp_keepalive_s = 9 }, 1, 9, 9, 0, 0, 0, 0, 0 },
	{ "sndbuf/rcvbuf", { .sndbuf = OPT_SNDBUF_REQ, .rcvbuf = OPT_RCVBUF_REQ },
	    1, 0, 0, 0, OPT_SNDBUF_REQ, OPT_RCVBUF_REQ, 0, 0 },
	{ "so_linger -1", { .so_linger = -1 }, 1, 0, 0, 0, 0, 0, 1, 0 },
	{ "so_linger 3", { .so_linger = 3 }, 1, 0, 0, 0, 0, 0, 1, 3 },
};

#define N_SOCKOPT_CASES ((int)(sizeof sockopt_cases / sizeof sockopt_cases[0]))

START_TEST(test_socket_options)
{
	const sockopt_case_t *tc = &sockopt_cases[_i];
	gnet_options_t opts = tc->opts;
	transport_server_t *ctx = transport_server_new();
	ctx->record_opts = 1;
	tn_server_t s;
	opts.size = sizeof opts;
	transport_engine_new(&s, &opts, ctx);
	tn_server_listen(&s, "tcp://127.0.0.1:0");
	tn_server_run(&s);

	int fd = tn_connect(s.port);
	ck_assert_int_ge(fd, 0);
	TN_WAIT_UNTIL(atomic_load(&ctx->opts_seen) == 1, WAIT_MS);
	ck_assert_int_eq(tn_ld(&ctx->opts_seen), 1);
	int v[TS_OPT_COUNT];
	for (int i = 0; i < TS_OPT_COUNT; i++)
		v[i] = atomic_load(&ctx->opt[i]);

	ck_assert_msg((v[TS_OPT_NODELAY] != 0) == tc->nodelay,
	    "%s: TCP_NODELAY %d, want %s", tc->name, v[TS_OPT_NODELAY],
	    tc->nodelay ? "on" : "off");
	ck_assert_msg((v[TS_OPT_KEEPALIVE] != 0) == (tc->keepidle > 0),
	    "%s: SO_KEEPALIVE %d", tc->name, v[TS_OPT_KEEPALIVE]);
	if (tc->keepidle > 0) {
		ck_assert_msg(v[TS_OPT_KEEPIDLE] == tc->keepidle,
		    "%s: TCP_KEEPIDLE %d, want %d", tc->name, v[TS_OPT_KEEPIDLE],
		    tc->keepidle);
		ck_assert_msg(v[TS_OPT_KEEPINTVL] == tc->keepintvl,
		    "%s: TCP_KEEPINTVL %d, want %d", tc->name, v[TS_OPT_KEEPINTVL],
		    tc->keepintvl);
		if (tc->keepcnt > 0)
			ck_assert_msg(v[TS_OPT_KEEPCNT] == tc->keepcnt,
			    "%s: TCP_KEEPCNT %d, want %d", tc->name, v[TS_OPT_KEEPCNT],
			    tc->keepcnt);
	}
	/* The kernel doubles a requested buffer size for its bookkeeping. */
	if (tc->sndbuf > 0)
		ck_assert_msg(v[TS_OPT_SNDBUF] >= tc->sndbuf &&
		    v[TS_OPT_SNDBUF] <= 2 * tc->sndbuf,
		    "%s: SO_SNDBUF %d, want %d..%d", tc->name, v[TS_OPT_SNDBUF],
		    tc->sndbuf, 2 * tc->sndbuf);
	if (tc->rcvbuf > 0)
		ck_assert_msg(v[TS_OPT_RCVBUF] >= tc->rcvbuf &&
		    v[TS_OPT_RCVBUF] <= 2 * tc->rcvbuf,
		    "%s: SO_RCVBUF %d, want %d..%d", tc->name, v[TS_OPT_RCVBUF],
		    tc->rcvbuf, 2 * tc->rcvbuf);
	ck_assert_msg((v[TS_OPT_LINGER_ON] != 0) == tc->linger_on,
	    "%s: SO_LINGER l_onoff %d, want %d", tc->name, v[TS_OPT_LINGER_ON],
	    tc->linger_on);
	if (tc->linger_on)
		ck_assert_msg(v[TS_OPT_LINGER_S] == tc->linger_s,
		    "%s: SO_LINGER l_linger %d, want %d", tc->name, v[TS_OPT_LINGER_S],
		    tc->linger_s);

	/* And the connection works. */
	uint8_t payload[512];
	tn_fill_random(payload, sizeof payload, 3);
	tn_client_t cl;
	tn_client_init(&cl, fd, payload, sizeof payload, NULL, 0);
	ck_assert_msg(tn_pump(&cl, 1, IO_MS) == 0, "%s: %s", tc->name,
	    tn_pump_error(&cl, 1));
	tn_close(&cl.fd);
	TN_WAIT_UNTIL(atomic_load(&ctx->closes) == 1, WAIT_MS);
	ck_assert_int_eq(tn_ld(&ctx->closes), 1);
	tn_server_close(&s);
	assert_no_loop_errors(ctx);
	free(ctx);
}
END_TEST

START_TEST(test_bind_device)
{
	transport_server_t *ctx = transport_server_new();
	ctx->record_opts = 1;
	gnet_options_t opts = { .size = sizeof(gnet_options_t), .bind_device = "lo" };
	tn_server_t s;
	transport_engine_new(&s, &opts, ctx);
	int rc = gnet_engine_listen(s.eng, "tcp://127.0.0.1:0");
	ck_assert_msg(rc == 0 || rc == -EPERM,
	    "listen with bind_device lo: %d (%s), want 0 or -EPERM", rc,
	    gnet_strerror(rc));
	if (rc == -EPERM) {
		printf("bind_device: -EPERM (no CAP_NET_RAW), accepted\n");
		gnet_engine_free(s.eng);
	} else {
		tn_server_listen(&s, "udp://127.0.0.1:0");
		struct sockaddr_storage tss, uss;
		socklen_t tlen = tn_server_addr(&s, 0, &tss), ulen = tn_server_addr(&s, 1, &uss);
		tn_server_run(&s);
		echo_streams((struct sockaddr *)&tss, tlen, 1, MULTI_BYTES, 5,
		    "bind_device tcp");
		echo_dgrams((struct sockaddr *)&uss, ulen, 1, 4, 64, 1,
		    "bind_device udp");
		TN_WAIT_UNTIL(atomic_load(&ctx->closes) == 1, WAIT_MS);
		/* Both sockets carry the device. */
		ck_assert_int_eq(tn_ld(&ctx->opts_seen), 1);
		ck_assert_msg(atomic_load(&ctx->opt[TS_OPT_DEV_LO]) == 1,
		    "accepted socket not bound to lo");
		ck_assert_msg(atomic_load(&ctx->udp_dev_lo) == 1,
		    "UDP socket not bound to lo (%d)", atomic_load(&ctx->udp_dev_lo));
		tn_server_close(&s);
	}

	/* A device that does not exist: the option is applied, so it fails. */
	opts.bind_device = "gnetnodev0";
	transport_engine_new(&s, &opts, ctx);
	rc = gnet_engine_listen(s.eng, "tcp://127.0.0.1:0");
	ck_assert_msg(rc == -ENODEV || rc == -EPERM,
	    "listen with a missing bind_device: %d (%s), want -ENODEV or -EPERM",
	    rc, gnet_strerror(rc));
	gnet_engine_free(s.eng);
	assert_no_loop_errors(ctx);
	free(ctx);
}
END_TEST

/* ------------------------------------------------------------------------
 */
static Suite *transport_sockopts_suite(void)
{
	Suite *s = suite_create("transport_sockopts");
	TCase *tc;

	tc = tn_tcase("sockopts", TCASE_TIMEOUT_S);
	tcase_add_loop_test(tc, test_socket_options, 0, N_SOCKOPT_CASES);
	tcase_add_test(tc, test_bind_device);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tn_run_suite(transport_sockopts_suite());
}
