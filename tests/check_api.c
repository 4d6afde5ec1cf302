/*
 * check_api.c -- suite "api": the rules of the public API as a whole.
 *
 *   - errors: one code per meaning. A system condition's code is its
 *     negated errno; gnet's own codes lie outside every errno; every code
 *     has a description.
 *   - structs: each struct passed in or filled carries its size, and the
 *     library reads an older (smaller) struct with defaults for what it
 *     lacks, accepts a newer one whose unknown tail is zero, and refuses
 *     one that sets a field it does not know, or a size that cannot be.
 *   - threads: a loop-only call made off its loop reports GNET_ETHREAD
 *     (or the documented empty value) and changes nothing.
 *   - version: the library reports the version of the header.
 */
#include <check.h>
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gnet.h"
#include "support/testnet.h"

#define TCASE_TIMEOUT_S 30
#define WAIT_MS 5000

/* ------------------------------------------------------------------------
 * Errors.
 */
static const int named_codes[] = {
	GNET_EINVAL, GNET_ENOMEM, GNET_EAGAIN, GNET_ETIMEDOUT, GNET_ENOTSUP,
	GNET_ECONNREFUSED, GNET_ECONNRESET, GNET_ECONNABORTED, GNET_EPIPE,
	GNET_ENOENT, GNET_EACCES, GNET_EPERM, GNET_EADDRINUSE,
	GNET_EADDRNOTAVAIL, GNET_ENETUNREACH, GNET_EHOSTUNREACH, GNET_EMFILE,
	GNET_ESCHEME, GNET_EADDR, GNET_ESTALE, GNET_ECLOSED, GNET_ESTATE,
	GNET_ETHREAD, GNET_ESHUTDOWN, GNET_ELINGER, GNET_EABORTED, GNET_EEOF,
	GNET_EINBOUND, GNET_ELIMIT, GNET_EFRAMESIZE, GNET_EBADFRAME,
	GNET_ETRUNCATED, GNET_EOUTBOUND, GNET_EBUDGET,
};
#define N_NAMED ((int)(sizeof named_codes / sizeof named_codes[0]))

START_TEST(test_system_codes_are_negated_errno)
{
	ck_assert_int_eq(GNET_EINVAL, -EINVAL);
	ck_assert_int_eq(GNET_ENOMEM, -ENOMEM);
	ck_assert_int_eq(GNET_EAGAIN, -EAGAIN);
	ck_assert_int_eq(GNET_ETIMEDOUT, -ETIMEDOUT);
	ck_assert_int_eq(GNET_ENOTSUP, -EOPNOTSUPP);
	ck_assert_int_eq(GNET_ECONNREFUSED, -ECONNREFUSED);
	ck_assert_int_eq(GNET_ECONNRESET, -ECONNRESET);
	ck_assert_int_eq(GNET_EPIPE, -EPIPE);
	ck_assert_int_eq(GNET_EADDRINUSE, -EADDRINUSE);
}
END_TEST

START_TEST(test_codes_distinct_and_described)
{
	for (int i = 0; i < N_NAMED; i++) {
		const char *d = gnet_strerror(named_codes[i]);
		ck_assert_int_lt(named_codes[i], 0);
		ck_assert_ptr_nonnull(d);
		ck_assert_msg(strcmp(d, "unknown error") != 0,
		    "code %d has no description", named_codes[i]);
		for (int j = 0; j < i; j++)
			ck_assert_msg(named_codes[i] != named_codes[j],
			    "codes %d and %d are equal", i, j);
		/* gnet's own codes never collide with an errno. */
		if (i >= 17)
			ck_assert_int_lt(named_codes[i], -4095);
	}
	/* Any other negated errno is named too, and nonsense is not NULL. */
	ck_assert_str_eq(gnet_strerror(-ENOSPC), strerror(ENOSPC));
	ck_assert_str_eq(gnet_strerror(-99999), "unknown error");
	ck_assert_str_eq(gnet_strerror(12345), "unknown error");
	ck_assert_str_eq(gnet_strerror(0), "success");
}
END_TEST

/* ------------------------------------------------------------------------
 * Struct sizes, through calls that read a struct and need no engine run.
 */
static int
new_engine(const gnet_events_t *ev, const gnet_options_t *opt)
{
	gnet_engine_t *eng = NULL;
	int rc = gnet_engine_new(&eng, ev, opt, NULL);

	if (rc == 0) {
		ck_assert_ptr_nonnull(eng);
		gnet_engine_free(eng);
	} else {
		ck_assert_ptr_null(eng);
	}
	return rc;
}

/* A struct as a newer program would send it: ours, then `extra` bytes
 * (a field this library does not know), zero or set. */
typedef struct {
	gnet_options_t opt;
	uint64_t newer_field;
} newer_options_t;

START_TEST(test_struct_size_rules)
{
	gnet_events_t ev = { .size = sizeof ev };
	gnet_options_t opt = { .size = sizeof opt, .num_loops = 2 };
	newer_options_t newer;

	ck_assert_int_eq(new_engine(&ev, &opt), 0);
	ck_assert_int_eq(new_engine(&ev, NULL), 0);

	/* Size 0 (a struct written for an older API, or forgotten) and a
	 * garbage size are refused, for each struct. */
	opt.size = 0;
	ck_assert_int_eq(new_engine(&ev, &opt), GNET_EINVAL);
	opt.size = (size_t)1 << 40;
	ck_assert_int_eq(new_engine(&ev, &opt), GNET_EINVAL);
	opt.size = sizeof opt;
	ev.size = 0;
	ck_assert_int_eq(new_engine(&ev, &opt), GNET_EINVAL);
	ev.size = sizeof ev;

	/* A newer struct: accepted while its unknown tail is zero. */
	memset(&newer, 0, sizeof newer);
	newer.opt.size = sizeof newer;
	newer.opt.num_loops = 1;
	ck_assert_int_eq(new_engine(&ev, &newer.opt), 0);
	newer.newer_field = 7;
	ck_assert_int_eq(new_engine(&ev, &newer.opt), GNET_ENOTSUP);
}
END_TEST

START_TEST(test_struct_options_read)
{
	/* The options are read, not ignored: an invalid value in them is
	 * refused, and the same value past the struct's size is not seen. */
	gnet_events_t ev = { .size = sizeof ev };
	gnet_options_t opt = { .size = sizeof opt, .mailbox_ring_size = 3 };

	ck_assert_int_eq(new_engine(&ev, &opt), GNET_EINVAL);
	opt.mailbox_ring_size = 4;
	ck_assert_int_eq(new_engine(&ev, &opt), 0);
	/* A size that ends inside the first published struct is no
	 * struct of any release: refused outright. */
	opt.size = offsetof(gnet_options_t, codec);
	ck_assert_int_eq(new_engine(&ev, &opt), GNET_EINVAL);
}
END_TEST

START_TEST(test_struct_codec_defs)
{
	gnet_codec_t *c = NULL;
	gnet_length_field_config_t lf = { .size = sizeof lf, .field_length = 2 };
	gnet_length_field_config_t lf0 = { .field_length = 2 };

	ck_assert_int_eq(gnet_codec_new_length_field(&c, &lf), 0);
	gnet_codec_free(c);
	ck_assert_int_eq(gnet_codec_new_length_field(&c, &lf0), GNET_EINVAL);
	ck_assert_ptr_null(c);
}
END_TEST

static void
noop_receive(gnet_actor_t *self, const gnet_msg_t *m)
{
	(void)self;
	(void)m;
}

START_TEST(test_struct_actor_def_and_stats)
{
	gnet_events_t ev = { .size = sizeof ev };
	gnet_options_t opt = { .size = sizeof opt, .num_loops = 1 };
	gnet_actor_def_t def = { .size = sizeof def, .receive = noop_receive };
	gnet_actor_def_t def0 = { .receive = noop_receive };
	gnet_loop_stats_t st = { .size = sizeof st };
	gnet_loop_stats_t st0 = { .size = 0 };
	gnet_engine_t *eng;
	gnet_handle_t h = GNET_HANDLE_NONE;

	ck_assert_int_eq(gnet_engine_new(&eng, &ev, &opt, NULL), 0);
	ck_assert_int_eq(gnet_actor_spawn(eng, 0, &def0, &h), GNET_EINVAL);
	ck_assert_int_eq(gnet_actor_spawn(eng, 0, &def, &h), 0);
	ck_assert_int_eq(gnet_engine_loop_stats(eng, 0, &st), 0);
	ck_assert_uint_eq(st.size, sizeof st);
	ck_assert_uint_eq(st.actors, 1);
	ck_assert_int_eq(gnet_engine_loop_stats(eng, 0, &st0), GNET_EINVAL);
	/* An older caller's smaller struct is filled only as far as it
	 * reaches: nothing past its size is written. */
	{
		struct {
			gnet_loop_stats_t st;
			uint64_t guard;
		} small;
		memset(&small, 0xA5, sizeof small);
		small.st.size = offsetof(gnet_loop_stats_t, syscalls_io) +
		    sizeof(uint64_t);
		ck_assert_int_eq(gnet_engine_loop_stats(eng, 0, &small.st), 0);
		ck_assert_uint_eq(small.st.actors, 1);
		ck_assert_uint_eq(small.guard, 0xA5A5A5A5A5A5A5A5ull);
	}
	gnet_engine_free(eng);
}
END_TEST

/* ------------------------------------------------------------------------
 * Thread rule: a connection pointer used off its loop.
 */
typedef struct thread_ctx {
	gnet_conn_t *_Atomic conn;
	atomic_int opened;
	atomic_int ctx_changed;
	atomic_int messages;
	atomic_uint_least64_t handle;
	tn_loop_errors_t errs;
} thread_ctx_t;

static gnet_action_t
tr_open(gnet_conn_t *c, void *udata)
{
	thread_ctx_t *t = udata;

	TN_LOOP_CHECK(&t->errs, gnet_conn_set_context(c, t) == 0);
	atomic_store(&t->handle, gnet_conn_handle(c));
	atomic_store(&t->conn, c);
	atomic_store(&t->opened, 1);
	return GNET_NONE;
}

static gnet_action_t
tr_traffic(gnet_conn_t *c, void *udata)
{
	thread_ctx_t *t = udata;

	/* The foreign thread's set_context must not have landed. */
	if (gnet_conn_context(c) != t)
		atomic_store(&t->ctx_changed, 1);
	gnet_conn_discard(c, gnet_conn_inbound_len(c));
	gnet_conn_write(c, "k", 1);
	return GNET_NONE;
}

static gnet_action_t
tr_message(gnet_conn_t *c, const gnet_msg_t *m, void *udata)
{
	thread_ctx_t *t = udata;

	(void)c;
	(void)m;
	atomic_fetch_add(&t->messages, 1);
	return GNET_NONE;
}

START_TEST(test_loop_only_calls_off_loop)
{
	thread_ctx_t t;
	gnet_events_t ev = { .size = sizeof ev, .on_open = tr_open,
	    .on_traffic = tr_traffic, .on_message = tr_message };
	tn_server_t s;
	char b;

	memset(&t, 0, sizeof t);
	tn_server_start(&s, &ev, NULL, &t);
	int fd = tn_connect(s.port);
	ck_assert_int_ge(fd, 0);
	TN_WAIT_UNTIL(atomic_load(&t.opened), WAIT_MS);
	gnet_conn_t *c = atomic_load(&t.conn);
	ck_assert_ptr_nonnull(c);

	/* Setters and actions report GNET_ETHREAD; queries give their
	 * documented empty value. None of them touches the connection. */
	ck_assert_int_eq(gnet_conn_set_context(c, &b), GNET_ETHREAD);
	ck_assert_int_eq(gnet_conn_close(c), GNET_ETHREAD);
	ck_assert_int_eq(gnet_conn_set_reading(c, 0), GNET_ETHREAD);
	ck_assert_int_eq(gnet_conn_write(c, "x", 1), GNET_ETHREAD);
	ck_assert_int_eq(gnet_conn_loop_index(c), GNET_ETHREAD);
	ck_assert_int_eq(gnet_conn_fd(c), GNET_ETHREAD);
	ck_assert_int_eq(gnet_conn_is_udp(c), 0);
	ck_assert_int_eq(gnet_conn_is_outbound(c), 0);
	ck_assert_ptr_null(gnet_conn_context(c));
	ck_assert_ptr_null(gnet_conn_engine(c));
	ck_assert_uint_eq(gnet_conn_handle(c), GNET_HANDLE_NONE);
	ck_assert_uint_eq(gnet_conn_outbound_len(c), 0);
	/* This thread read the connection above; a message the loop has
	 * handled orders those reads before whatever the loop does next --
	 * freeing the connection at its close among them -- as TSan sees it
	 * (io_uring's receives leave it no other edge). */
	gnet_msg_t sync = { .type = GNET_MSG_USER };
	ck_assert_int_eq(gnet_actor_send(s.eng, atomic_load(&t.handle), &sync),
	    0);
	TN_WAIT_UNTIL(atomic_load(&t.messages) == 1, WAIT_MS);
	ck_assert_int_eq(atomic_load(&t.messages), 1);

	/* The connection still works, and kept its context. */
	ck_assert_uint_eq(tn_send_all(fd, "x", 1, WAIT_MS), 1);
	ck_assert_uint_eq(tn_read_exact(fd, &b, 1, WAIT_MS), 1);
	ck_assert_int_eq(b, 'k');
	ck_assert_int_eq(atomic_load(&t.ctx_changed), 0);
	TN_ASSERT_NO_LOOP_ERRORS(&t.errs);
	close(fd);
	tn_server_close(&s);
}
END_TEST

/* ------------------------------------------------------------------------
 * Version.
 */
START_TEST(test_version)
{
	char want[32];

	ck_assert_int_eq(gnet_version(), GNET_VERSION_NUMBER);
	snprintf(want, sizeof want, "%d.%d.%d", GNET_VERSION_MAJOR,
	    GNET_VERSION_MINOR, GNET_VERSION_PATCH);
	ck_assert_str_eq(gnet_version_string(), want);
}
END_TEST

static Suite *
api_suite(void)
{
	Suite *s = suite_create("api");
	TCase *tc = tn_tcase("api", TCASE_TIMEOUT_S);

	tcase_add_test(tc, test_system_codes_are_negated_errno);
	tcase_add_test(tc, test_codes_distinct_and_described);
	tcase_add_test(tc, test_struct_size_rules);
	tcase_add_test(tc, test_struct_options_read);
	tcase_add_test(tc, test_struct_codec_defs);
	tcase_add_test(tc, test_struct_actor_def_and_stats);
	tcase_add_test(tc, test_loop_only_calls_off_loop);
	tcase_add_test(tc, test_version);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tn_run_suite(api_suite());
}
