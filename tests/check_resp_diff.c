/*
 * check_resp_diff.c -- suite "resp_diff": the RESP server module must
 * answer byte for byte as Debian's redis-server 7.0.15 does.
 *
 * Every case of the corpus (tests/resp_corpus/, format in
 * support/resp_corpus.h) and the few built here (values too large for a
 * file) runs on a fresh connection to each of two servers, after
 * FLUSHALL on a control connection, so cases are independent; the
 * replies are compared after the case's masks (support/resp_diff.h).
 * A difference prints the case, its file and line and both replies
 * escaped, and every case runs before the test fails, so one run shows
 * all that differs.
 *
 * The reference is always redis-server. The tested server is
 *   - redis-server again ("second", or what $GNET_RESP_SECOND names:
 *     redis, gnetd:N): this proves the harness -- a corpus that does not
 *     agree with itself, or masks that hide nothing, would fail here;
 *   - gnetd with the resp module on 1 loop and on 2 loops (keys spread
 *     over two shards); skipped, saying so, while BUILD/modules/resp.so
 *     does not exist.
 * $GNET_RESP_CASES=TEXT runs only the cases whose name contains TEXT;
 * $GNET_RESP_SHOW=1 prints what the reference answered to each case (to
 * review the corpus: that an error case gets an error, say).
 *
 *   make build/release/tests/check_resp_diff && build/release/tests/check_resp_diff
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support/child.h"
#include "support/redis_peer.h"
#include "support/resp_corpus.h"
#include "support/resp_diff.h"
#include "support/resp_server.h"
#include "support/testnet.h"

#define TCASE_TIMEOUT_S 300
#define CONTROL_MS 5000        /* FLUSHALL and PING on the control link */
#define MIB (1024 * 1024)
#define BIG_BYTES MIB
#define HUGE_BYTES (64 * MIB)  /* redis takes bulks up to 512 MiB */
#define HUGE_MS 60000          /* 64 MiB out and back, twice, under ASan */
#define PIPELINE_CMDS 100
#define CASES_ENV "GNET_RESP_CASES"
#define SHOW_ENV "GNET_RESP_SHOW"    /* set: print every reference reply */
#define SHOW_BYTES 2000

/* ------------------------------------------------------------------------
 * Cases built in code.
 */

static void
cmd(tn_resp_case_t *k, int argc, const char *const *argv)
{
	size_t lens[8];

	ck_assert(argc <= 8);
	for (int i = 0; i < argc; i++)
		lens[i] = strlen(argv[i]);
	tn_resp_case_cmd(k, argc, argv, lens);
}

/* SET, GET, APPEND and STRLEN of a value of n bytes (every byte value,
 * CR and LF included, from a fixed seed). */
static void
add_big(tn_resp_corpus_t *c, const char *name, size_t n, int get_after_append,
    int timeout_ms)
{
	tn_resp_case_t *k = tn_resp_case_add(c, name, __FILE__);
	char *v = malloc(n);

	ck_assert(v != NULL);
	tn_fill_random(v, n, n);
	tn_resp_case_cmd(k, 3, (const char *[]){ "SET", "big", v },
	    (size_t[]){ 3, 3, n });
	cmd(k, 2, (const char *[]){ "STRLEN", "big" });
	cmd(k, 2, (const char *[]){ "GET", "big" });
	if (get_after_append) {
		tn_resp_case_cmd(k, 3, (const char *[]){ "APPEND", "big", v },
		    (size_t[]){ 6, 3, n });
		cmd(k, 2, (const char *[]){ "STRLEN", "big" });
		cmd(k, 2, (const char *[]){ "GET", "big" });
	}
	k->timeout_ms = timeout_ms;
	free(v);
}

/* One write of PIPELINE_CMDS mixed commands over as many keys, so with
 * two loops most of them run on the other loop's shard. */
static void
add_pipeline(tn_resp_corpus_t *c)
{
	tn_resp_case_t *k = tn_resp_case_add(c, "pipeline-100-mixed", __FILE__);
	char a[32], b[32], n[16];

	for (int i = 0; i < PIPELINE_CMDS; i++) {
		snprintf(a, sizeof a, "key:%d", i);
		snprintf(b, sizeof b, "key:%d", i / 2);
		snprintf(n, sizeof n, "%d", i);
		switch (i % 8) {
		case 0: cmd(k, 3, (const char *[]){ "SET", a, n }); break;
		case 1: cmd(k, 2, (const char *[]){ "GET", b }); break;
		case 2: cmd(k, 3, (const char *[]){ "INCRBY", a, n }); break;
		case 3: cmd(k, 4, (const char *[]){ "RPUSH", a, n, b }); break;
		case 4: cmd(k, 3, (const char *[]){ "SADD", a, n }); break;
		case 5: cmd(k, 4, (const char *[]){ "HSET", a, "f", n }); break;
		case 6: cmd(k, 4, (const char *[]){ "EXISTS", a, b, "key:0" }); break;
		default: cmd(k, 3, (const char *[]){ "DEL", b, a }); break;
		}
	}
	tn_resp_case_cut(k);
	/* What the batch left, read back in a second write. */
	cmd(k, 1, (const char *[]){ "DBSIZE" });
	for (int i = 0; i < PIPELINE_CMDS; i += 8) {
		snprintf(a, sizeof a, "key:%d", i);
		cmd(k, 2, (const char *[]){ "GET", a });
	}
}

static void
add_generated(tn_resp_corpus_t *c)
{
	add_big(c, "big-1mib-set-get-append", BIG_BYTES, 1, TN_RESP_CASE_MS);
	add_big(c, "big-64mib-set-strlen-get", HUGE_BYTES, 0, HUGE_MS);
	add_pipeline(c);
}

/* ------------------------------------------------------------------------
 * The runner.
 */

/* A command on a server's control connection; a server that no longer
 * answers fails the test with what it printed (a crash's report). */
static void
control(tn_resp_server_t *s, int fd, const char *what, const char *want)
{
	char reply[128];

	ck_assert_msg(tn_resp_call(fd, 1, (const char *[]){ what }, reply,
	    sizeof reply, CONTROL_MS) > 0 && strcmp(reply, want) == 0,
	    "%s on %s: got \"%s\", want \"%s\"; its output:\n%s", what,
	    s->spec, reply, want, tn_resp_server_log(s));
}

static int
selected(const tn_resp_case_t *k)
{
	const char *only = getenv(CASES_ENV);

	return only == NULL || *only == '\0' || strstr(k->name, only) != NULL;
}

/* The corpus on redis-server and on the server `spec`. */
static void
run_corpus(const char *spec)
{
	tn_resp_server_t ref, tested;
	tn_resp_corpus_t corpus = { 0 };
	char dir[4096], names[1024] = "";
	int ca, cb, ran = 0, differ = 0;
	int64_t t0 = tn_now_ms();

	if (!tn_resp_server_start(&ref, "redis"))
		return;
	if (!tn_resp_server_start(&tested, spec)) {
		tn_resp_server_stop(&ref);
		return;
	}
	tn_resp_corpus_dir(dir, sizeof dir);
	tn_resp_corpus_load(&corpus, dir);
	add_generated(&corpus);
	ca = tn_connect(ref.port);
	cb = tn_connect(tested.port);
	ck_assert(ca >= 0 && cb >= 0);
	for (int i = 0; i < corpus.n; i++) {
		const tn_resp_case_t *k = &corpus.cases[i];
		tn_resp_run_t ra, rb;
		char *report = NULL;

		if (!selected(k))
			continue;
		control(&ref, ca, "FLUSHALL", "+OK\r\n");
		control(&tested, cb, "FLUSHALL", "+OK\r\n");
		tn_resp_run_case(k, ref.port, &ra);
		tn_resp_run_case(k, tested.port, &rb);
		ran++;
		if (getenv(SHOW_ENV) != NULL) {
			static char buf[SHOW_BYTES * 4 + 64];
			printf("%s: %s\n", k->name, tn_resp_escape(ra.in.buf,
			    ra.in.len, SHOW_BYTES, buf, sizeof buf));
		}
		if (!tn_resp_compare(k, &ra, &rb, tested.ours, &report)) {
			differ++;
			fprintf(stderr, "resp_diff [redis vs %s] %s", spec, report);
			if (strlen(names) + strlen(k->name) + 2 < sizeof names)
				strcat(strcat(names, " "), k->name);
		}
		free(report);
		tn_resp_run_free(&ra);
		tn_resp_run_free(&rb);
	}
	/* Whatever the cases did, both servers still serve. */
	control(&ref, ca, "PING", "+PONG\r\n");
	control(&tested, cb, "PING", "+PONG\r\n");
	close(ca);
	close(cb);
	printf("resp_diff [redis vs %s]: %d cases in %lld ms, %d differ\n",
	    spec, ran, (long long)(tn_now_ms() - t0), differ);
	fflush(stdout);
	tn_resp_corpus_free(&corpus);
	tn_resp_server_stop(&tested);
	tn_resp_server_stop(&ref);
	ck_assert_msg(ran > 0, "no case selected (%s=%s)", CASES_ENV,
	    getenv(CASES_ENV));
	ck_assert_msg(differ == 0, "redis vs %s: %d of %d cases differ "
	    "(details on stderr):%s", spec, differ, ran, names);
}

START_TEST(redis_vs_second)
{
	const char *spec = getenv(TN_RESP_SECOND_ENV);

	run_corpus(spec != NULL && *spec != '\0' ? spec : "redis");
}
END_TEST

START_TEST(redis_vs_gnetd_1_loop)
{
	run_corpus("gnetd:1");
}
END_TEST

START_TEST(redis_vs_gnetd_2_loops)
{
	run_corpus("gnetd:2");
}
END_TEST

/* ------------------------------------------------------------------------
 * The harness itself: a comparison that cannot fail proves nothing.
 */

/* Two cases that differ in one byte of one value are told apart, and a
 * mask hides exactly what it names. */
START_TEST(compare_sees_a_difference)
{
	tn_resp_server_t s;
	tn_resp_corpus_t c = { 0 };
	tn_resp_run_t r[4];
	char *report = NULL;

	if (!tn_resp_server_start(&s, "redis"))
		return;
	tn_resp_case_t *k = tn_resp_case_add(&c, "x", __FILE__);
	cmd(k, 3, (const char *[]){ "SET", "k", "value1" });
	cmd(k, 2, (const char *[]){ "GET", "k" });
	cmd(k, 2, (const char *[]){ "CLIENT", "ID" });
	k = tn_resp_case_add(&c, "y", __FILE__);
	cmd(k, 3, (const char *[]){ "SET", "k", "value2" });
	cmd(k, 2, (const char *[]){ "GET", "k" });
	cmd(k, 2, (const char *[]){ "CLIENT", "ID" });
	tn_resp_run_case(&c.cases[0], s.port, &r[0]);
	tn_resp_run_case(&c.cases[1], s.port, &r[1]);
	tn_resp_run_case(&c.cases[0], s.port, &r[2]);
	ck_assert_int_eq(r[0].in.replies, 3);
	ck_assert_str_eq(r[0].sync, "+PONG\r\n");
	/* Different values: a difference, the report naming reply 2. */
	ck_assert(!tn_resp_compare(&c.cases[0], &r[0], &r[1], 0, &report));
	ck_assert_ptr_nonnull(strstr(report, "reply 2 differs"));
	free(report);
	/* Same commands, other connection: only the CLIENT ID differs... */
	ck_assert(!tn_resp_compare(&c.cases[0], &r[0], &r[2], 0, &report));
	ck_assert_ptr_nonnull(strstr(report, "reply 3 differs"));
	free(report);
	/* ...which a mask on reply 3 hides. */
	c.cases[0].masks[c.cases[0].nmasks++] =
	    (tn_resp_mask_t){ .kind = TN_MASK_REPLY, .reply = 3 };
	ck_assert(tn_resp_compare(&c.cases[0], &r[0], &r[2], 0, &report));
	ck_assert_ptr_null(report);
	/* A run that got fewer replies than the case wants is a failure
	 * even when both sides agree. */
	c.cases[1].seg[0].replies = 4;
	c.cases[1].timeout_ms = 300;
	tn_resp_run_case(&c.cases[1], s.port, &r[3]);
	ck_assert(r[3].timed_out);
	ck_assert(!tn_resp_compare(&c.cases[1], &r[3], &r[3], 0, &report));
	free(report);
	for (int i = 0; i < 4; i++)
		tn_resp_run_free(&r[i]);
	tn_resp_corpus_free(&c);
	tn_resp_server_stop(&s);
}
END_TEST

/* An "ours:" reply is what a gnetd+resp run must answer, and only such
 * a run: against redis-server the replies are compared as they are. */
START_TEST(compare_expected_difference)
{
	static const char refused[] = "-ERR DB index is out of range\r\n";
	static const char ok[] = "+OK\r\n";
	tn_resp_corpus_t c = { 0 };
	tn_resp_run_t ref = { .want = 1 }, ours = { .want = 1 };
	char *report = NULL;

	tn_resp_case_t *k = tn_resp_case_add(&c, "select-1", __FILE__);
	cmd(k, 2, (const char *[]){ "SELECT", "1" });
	k->masks[k->nmasks++] = (tn_resp_mask_t){ .kind = TN_MASK_OURS,
	    .reply = 1, .bytes = (uint8_t *)strdup(refused),
	    .len = strlen(refused) };
	ref.in = (tn_resp_in_t){ .buf = (uint8_t *)strdup(ok), .len = 5,
	    .complete = 5, .replies = 1 };
	ours.in = (tn_resp_in_t){ .buf = (uint8_t *)strdup(refused),
	    .len = strlen(refused), .complete = strlen(refused), .replies = 1 };
	strcpy(ref.sync, "+PONG\r\n");
	strcpy(ours.sync, "+PONG\r\n");
	ck_assert(tn_resp_compare(k, &ref, &ours, 1, &report));
	ck_assert_ptr_null(report);
	/* The same answer from a server that is not ours is a difference. */
	ck_assert(!tn_resp_compare(k, &ref, &ours, 0, &report));
	free(report);
	/* And ours answering as Redis does is one too. */
	ck_assert(!tn_resp_compare(k, &ref, &ref, 1, &report));
	ck_assert_ptr_nonnull(strstr(report, "ours:"));
	free(report);
	tn_resp_run_free(&ref);
	tn_resp_run_free(&ours);
	tn_resp_corpus_free(&c);
}
END_TEST

/* The reader counts nested, nil and RESP3 replies, and waits for the
 * bytes that complete one. */
START_TEST(reply_reader_counts)
{
	static const struct {
		const char *bytes;
		ssize_t want;
	} t[] = {
		{ "+OK\r\n", 5 }, { "-ERR x\r\n", 8 }, { ":-1\r\n", 5 },
		{ "$-1\r\n", 5 }, { "$3\r\na\r\n\r\n", 9 }, { "$3\r\nab", 0 },
		{ "*-1\r\n", 5 }, { "*0\r\n", 4 },
		{ "*2\r\n*1\r\n:1\r\n$-1\r\n", 17 }, { "*2\r\n:1\r\n", 0 },
		{ "%1\r\n+a\r\n_\r\n", 11 }, { "+OK\r", 0 }, { "+OK\rx", -1 },
		{ "?\r\n", -1 }, { "$x\r\n", -1 }, { "$2\r\nabcd", -1 },
	};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		ck_assert_msg(tn_resp_reply_len((const uint8_t *)t[i].bytes,
		    strlen(t[i].bytes)) == t[i].want, "case %zu", i);
}
END_TEST

/* Escapes of the corpus format, repeats included. */
START_TEST(corpus_escapes)
{
	uint8_t out[64];

	ck_assert_int_eq(tn_resp_unescape("a\\r\\n\\0\\x7F\\{3}z", 16, out,
	    sizeof out), 8);
	ck_assert(memcmp(out, "a\r\n\0\x7fzzz", 8) == 0);
	ck_assert_int_eq(tn_resp_unescape("\\q", 2, out, sizeof out), -1);
	ck_assert_int_eq(tn_resp_unescape("\\x4", 3, out, sizeof out), -1);
	ck_assert_int_eq(tn_resp_unescape("\\{100}a", 7, out, sizeof out), -1);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("resp_diff");
	TCase *tc = tn_tcase("harness", 60);

	tcase_add_checked_fixture(tc, NULL, tn_kill_strays);
	tcase_add_test(tc, reply_reader_counts);
	tcase_add_test(tc, corpus_escapes);
	tcase_add_test(tc, compare_sees_a_difference);
	tcase_add_test(tc, compare_expected_difference);
	suite_add_tcase(s, tc);
	tc = tn_tcase("corpus", TCASE_TIMEOUT_S);
	tcase_add_checked_fixture(tc, NULL, tn_kill_strays);
	tcase_add_test(tc, redis_vs_second);
	tcase_add_test(tc, redis_vs_gnetd_1_loop);
	tcase_add_test(tc, redis_vs_gnetd_2_loops);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tn_run_child_suite(suite());
}
