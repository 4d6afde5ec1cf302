/*
 * check_module_http -- integration suite "module_http": the http module
 * (modules/http/) in a host run by the test (support/module_host), driven
 * by real clients: curl for every status, wrk with and without
 * pipelining, raw sockets where a test must see every byte or time a
 * client.
 *
 * The module is linked in (GNET_MODULE_STATIC) and loaded with small
 * limits so they are cheap to reach: max-header-bytes=1k,
 * max-body-bytes=64k, header-timeout-ms=1000; the two-loads test loads
 * the .so twice instead. Every wait has a deadline.
 *
 * Covers: 200 for /, /plaintext and /json with TechEmpower's headers
 * (Server, a current IMF-fixdate Date that changes, Content-Type,
 * Content-Length), HEAD, 404, 405 with Allow, 400, 431, 413 (by
 * Content-Length and by chunks), 501, 505, 408, each refusal closing the
 * connection after the answers before it; keep-alive, Connection: close,
 * HTTP/1.0 with and without keep-alive; pipelined requests answered in
 * order, past one write's batch; bodies read and dropped (Content-Length,
 * chunked in pieces, exactly at the limit, Expect: 100-continue); the
 * header timeout against a client trickling a head while another is
 * answered promptly, re-armed for a head that began later, and not
 * applied to idle connections; wrk at depth 1 and 16 with no errors, and
 * the stats it leaves; two loads of the .so with their own settings,
 * one unloaded while the other serves; bad configurations refused with
 * the option named.
 *
 * A sub-check that needs curl or wrk is skipped, with a message on
 * stderr, only when that tool is not installed.
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "gnet.h"
#include "gnethost.h"
#include "support/child.h"
#include "support/http_client.h"
#include "support/module_host.h"
#include "support/testnet.h"

GNET_MODULE_STATIC(http);

#define TCASE_TIMEOUT_S 120
#define IO_MS 10000          /* one exchange */
#define TOOL_MS 30000        /* one curl or wrk run */
#define UNLOAD_MS 10000

/* The limits the suite loads the module with (its args below). */
#define MAX_HEADER 1024
#define MAX_BODY (64 * 1024)
#define HEADER_TIMEOUT_MS 1000
/* How early a timer may fire, and how late a 408 may come, measured by
 * the client: generous, so a loaded machine does not fail the test. */
#define TIMER_EARLY_MS 50
#define TIMER_LATE_MS 1500

#define HELLO "Hello, World!"
#define HELLO_JSON "{\"message\":\"Hello, World!\"}"
#define GET_PLAIN "GET /plaintext HTTP/1.1\r\nHost: a\r\n\r\n"
#define GET_JSON "GET /json HTTP/1.1\r\nHost: a\r\n\r\n"
#define PROBE "BAD\r\n\r\n"     /* a malformed request: 400, then EOF */

static const char *const suite_args[] = {
	"listen=tcp://127.0.0.1:0", "max-header-bytes=1k",
	"max-body-bytes=64k", "header-timeout-ms=1000", NULL
};

typedef struct server {
	tn_host_t host;
	gnet_module_t *m;
	int port;
} server_t;

/* The module linked in, in a host of `loops` loops, running. */
static server_t *
server_start(int loops)
{
	server_t *s = calloc(1, sizeof *s);
	int rc;

	ck_assert_ptr_nonnull(s);
	tn_host_new(&s->host, loops, 0);
	rc = gnet_host_load_static(s->host.h, GNET_MODULE_ENTRY(http),
	    suite_args, 4, &s->m, s->host.err, sizeof s->host.err);
	ck_assert_msg(rc == 0, "load http: %d: %s", rc, s->host.err);
	tn_host_run(&s->host);
	s->port = tn_module_port(s->m, 0);
	return s;
}

static void
server_stop(server_t *s)
{
	tn_host_end(&s->host);
	free(s);
}

static uint64_t
stat_of(const gnet_module_t *m, const char *name)
{
	uint64_t v = 0;

	ck_assert_msg(gnet_module_stat(m, "http", name, &v) == 0,
	    "no stat http.%s", name);
	return v;
}

/* ------------------------------------------------------------------------
 * Checks on responses.
 */
/* A Date header in IMF-fixdate, within a few seconds of now. */
static void
check_date(const char *date)
{
	struct tm tm;
	const char *end;
	time_t t;

	memset(&tm, 0, sizeof tm);
	end = strptime(date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	ck_assert_msg(end != NULL && *end == '\0' && strlen(date) == 29,
	    "Date \"%s\" is not an IMF-fixdate", date);
	t = timegm(&tm);
	ck_assert_msg(llabs((long long)(t - time(NULL))) <= 3,
	    "Date \"%s\" is not now", date);
}

/* The headers every answer carries. */
static void
check_common(const http_reply_t *x)
{
	ck_assert_str_eq(x->server, "gnet");
	check_date(x->date);
	ck_assert_msg(x->has_length, "no Content-Length");
}

static void
check_hello(const http_reply_t *x, int json, int head)
{
	const char *body = json ? HELLO_JSON : HELLO;

	ck_assert_int_eq(x->status, 200);
	check_common(x);
	ck_assert_str_eq(x->content_type, json ? "application/json" :
	    "text/plain");
	ck_assert_uint_eq(x->content_length, strlen(body));
	if (!head)
		ck_assert_str_eq(x->body, body);
}

static void
reply(http_reader_t *r, int head, http_reply_t *x, const char *what)
{
	ck_assert_msg(http_read_reply(r, head, x, IO_MS), "%s: no response",
	    what);
}

static void
expect_status(http_reader_t *r, int status, const char *what)
{
	http_reply_t x;

	reply(r, 0, &x, what);
	ck_assert_msg(x.status == status, "%s: status %d, want %d", what,
	    x.status, status);
	check_common(&x);
}

/* Nothing more: the connection ends with no byte after what was read. */
static void
expect_eof(http_reader_t *r, const char *what)
{
	size_t extra = 0;

	ck_assert_msg(r->len == 0, "%s: %zu bytes after the last response",
	    what, r->len);
	ck_assert_msg(tn_wait_eof(r->fd, IO_MS, &extra) == 1 && extra == 0,
	    "%s: no clean EOF (%zu more bytes)", what, extra);
}

/* No answer was skipped or doubled: a malformed probe gets the very next
 * answer, a 400, then the connection ends. */
static void
expect_probe_end(http_reader_t *r, const char *what)
{
	http_reply_t x;

	http_send(r, PROBE, strlen(PROBE));
	reply(r, 0, &x, what);
	ck_assert_msg(x.status == 400, "%s: status %d where the probe's 400 "
	    "was due", what, x.status);
	ck_assert_str_eq(x.connection, "close");
	expect_eof(r, what);
}

/* ------------------------------------------------------------------------
 * curl.
 */
/* --noproxy: an http_proxy in the environment must not reroute loopback. */
#define CURL "curl", "-sS", "-i", "--noproxy", "*", "--max-time", "10", \
	"-w", "\n%{http_code}"

/* The status curl reported (its last line) and the header block. */
static int
curl_run(tn_tool_run_t *t, const char *const *argv, const char *what)
{
	const char *nl;

	tn_run_tool(t, argv, NULL, 0, TOOL_MS);
	tn_assert_tool_ok(t, what);
	nl = strrchr(t->out, '\n');
	ck_assert_msg(nl != NULL, "%s: output \"%s\"", what, t->out);
	return atoi(nl + 1);
}

static void
curl_expect(tn_tool_run_t *t, const char *const *argv, int status,
    const char *what, const char *const *contains)
{
	int got = curl_run(t, argv, what);

	ck_assert_msg(got == status, "%s: status %d, want %d\n%s", what, got,
	    status, t->out);
	ck_assert_msg(strstr(t->out, "\r\nServer: gnet\r\n") != NULL &&
	    strstr(t->out, "\r\nDate: ") != NULL &&
	    strstr(t->out, "\r\nContent-Length: ") != NULL,
	    "%s: Server, Date or Content-Length missing\n%s", what, t->out);
	for (int i = 0; contains != NULL && contains[i] != NULL; i++)
		ck_assert_msg(strstr(t->out, contains[i]) != NULL,
		    "%s: no \"%s\" in\n%s", what, contains[i], t->out);
}

static void
write_file(const char *path, char byte, size_t n)
{
	FILE *f = fopen(path, "w");

	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	for (size_t i = 0; i < n; i++)
		fputc(byte, f);
	ck_assert_int_eq(fclose(f), 0);
}

START_TEST(test_curl_statuses)
{
	server_t *s = server_start(_i + 1);
	tn_tool_run_t *t = malloc(sizeof *t);
	char root[64], plain[64], json[64], nope[64], big[64], hdr[1200];
	char dir[] = "/tmp/gnet-http-XXXXXX";

	ck_assert_ptr_nonnull(t);
	if (TN_SKIP_WITHOUT("curl", "the http module via curl"))
		goto out;
	snprintf(root, sizeof root, "http://127.0.0.1:%d/", s->port);
	snprintf(plain, sizeof plain, "http://127.0.0.1:%d/plaintext", s->port);
	snprintf(json, sizeof json, "http://127.0.0.1:%d/json", s->port);
	snprintf(nope, sizeof nope, "http://127.0.0.1:%d/nope", s->port);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(big, sizeof big, "@%s/big", dir);
	write_file(big + 1, 'z', MAX_BODY + 1);
	snprintf(hdr, sizeof hdr, "X-Long: %0*d", MAX_HEADER, 0);
	{
		const char *const a[] = { CURL, plain, NULL };
		const char *const want[] = { "\r\nContent-Type: text/plain\r\n",
			"\r\nContent-Length: 13\r\n", "\r\n\r\n" HELLO "\n", NULL };
		curl_expect(t, a, 200, "GET /plaintext", want);
	}
	{
		const char *const a[] = { CURL, json, NULL };
		const char *const want[] = {
			"\r\nContent-Type: application/json\r\n",
			"\r\nContent-Length: 27\r\n", "\r\n\r\n" HELLO_JSON "\n",
			NULL };
		curl_expect(t, a, 200, "GET /json", want);
	}
	{
		const char *const a[] = { CURL, root, NULL };
		const char *const want[] = { "\r\n\r\n" HELLO "\n", NULL };
		curl_expect(t, a, 200, "GET /", want);
	}
	{
		/* HEAD: the GET's Content-Length, nothing after the head. */
		const char *const a[] = { CURL, "-I", json, NULL };
		const char *const want[] = { "\r\nContent-Length: 27\r\n",
			"\r\n\r\n\n200", NULL };
		curl_expect(t, a, 200, "HEAD /json", want);
	}
	{
		const char *const a[] = { CURL, nope, NULL };
		curl_expect(t, a, 404, "GET /nope", NULL);
	}
	{
		const char *const a[] = { CURL, "-d", "x=1", json, NULL };
		const char *const want[] = { "\r\nAllow: GET, HEAD\r\n", NULL };
		curl_expect(t, a, 405, "POST /json", want);
	}
	{
		const char *const a[] = { CURL, "-X", "DELETE", plain, NULL };
		curl_expect(t, a, 405, "DELETE /plaintext", NULL);
	}
	{
		/* A chunked body is read: a misread one would not leave a
		 * 405 behind it. */
		const char *const a[] = { CURL, "-H", "Transfer-Encoding: chunked",
			"-d", "hello, chunks", json, NULL };
		curl_expect(t, a, 405, "chunked POST /json", NULL);
	}
	{
		const char *const a[] = { CURL, "-H", "Connection: close", plain,
			NULL };
		const char *const want[] = { "\r\nConnection: close\r\n", NULL };
		curl_expect(t, a, 200, "GET, Connection: close", want);
	}
	{
		const char *const a[] = { CURL, "-0", plain, NULL };
		const char *const want[] = { "\r\nConnection: close\r\n", NULL };
		curl_expect(t, a, 200, "HTTP/1.0 GET", want);
	}
	{
		const char *const a[] = { CURL, "--request-target", "/a b", root,
			NULL };
		curl_expect(t, a, 400, "bad request line", NULL);
	}
	{
		const char *const a[] = { CURL, "-H", "Bad Name: x", root, NULL };
		curl_expect(t, a, 400, "bad field name", NULL);
	}
	{
		const char *const a[] = { CURL, "-H", hdr, root, NULL };
		curl_expect(t, a, 431, "head over max-header-bytes", NULL);
	}
	{
		const char *const a[] = { CURL, "--data-binary", big, json, NULL };
		curl_expect(t, a, 413, "body over max-body-bytes", NULL);
	}
	{
		const char *const a[] = { CURL, "-H",
			"Transfer-Encoding: gzip, chunked",
			"-d", "x", json, NULL };
		curl_expect(t, a, 501, "gzip transfer coding", NULL);
	}
	unlink(big + 1);
	rmdir(dir);
out:
	free(t);
	server_stop(s);
}
END_TEST

/* ------------------------------------------------------------------------
 * Raw clients.
 */
/* Requests of several kinds in one write come back in order. */
START_TEST(test_pipelining)
{
	static const char reqs[] = GET_PLAIN GET_JSON
	    "HEAD /plaintext HTTP/1.1\r\nHost: a\r\n\r\n"
	    "GET /nope HTTP/1.1\r\nHost: a\r\n\r\n"
	    "POST /json HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nbody"
	    "HEAD /json HTTP/1.1\r\nHost: a\r\n\r\n" GET_JSON;
	enum { MANY = 200 };       /* answers: several batches' worth */
	server_t *s = server_start(_i + 1);
	http_reader_t *r = http_open(s->port);
	char *many = malloc(MANY * sizeof GET_PLAIN);
	http_reply_t x;
	size_t n = 0;

	ck_assert_ptr_nonnull(many);
	http_send(r, reqs, strlen(reqs));
	reply(r, 0, &x, "1");
	check_hello(&x, 0, 0);
	reply(r, 0, &x, "2");
	check_hello(&x, 1, 0);
	reply(r, 1, &x, "3");
	check_hello(&x, 0, 1);
	expect_status(r, 404, "4");
	expect_status(r, 405, "5");
	reply(r, 1, &x, "6");
	check_hello(&x, 1, 1);
	reply(r, 0, &x, "7");
	check_hello(&x, 1, 0);
	expect_probe_end(r, "7 pipelined requests");
	http_close(r);

	/* More answers than one write's batch holds. */
	for (int i = 0; i < MANY; i++) {
		memcpy(many + n, GET_PLAIN, strlen(GET_PLAIN));
		n += strlen(GET_PLAIN);
	}
	r = http_open(s->port);
	http_send(r, many, n);
	for (int i = 0; i < MANY; i++) {
		reply(r, 0, &x, "many");
		ck_assert_msg(x.status == 200, "answer %d: %d", i, x.status);
		ck_assert_str_eq(x.body, HELLO);
	}
	expect_probe_end(r, "200 pipelined GETs");
	http_close(r);

	/* A request cut inside its head: one answer once it is whole. */
	r = http_open(s->port);
	http_send(r, GET_JSON, 10);
	http_send(r, &GET_JSON[10], strlen(GET_JSON) - 10);
	reply(r, 0, &x, "split GET");
	check_hello(&x, 1, 0);
	expect_probe_end(r, "split GET");
	http_close(r);
	free(many);
	server_stop(s);
}
END_TEST

START_TEST(test_keep_alive_and_close)
{
	server_t *s = server_start(1);
	http_reader_t *r = http_open(s->port);
	http_reply_t x;

	/* HTTP/1.1 stays open, without a Connection header. */
	for (int i = 0; i < 3; i++) {
		http_send(r, GET_PLAIN, strlen(GET_PLAIN));
		reply(r, 0, &x, "keep-alive");
		check_hello(&x, 0, 0);
		ck_assert_str_eq(x.connection, "");
	}
	http_close(r);

	/* Connection: close is answered, then the connection ends; what was
	 * pipelined after it is not answered. */
	r = http_open(s->port);
	http_send(r, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
	    GET_PLAIN, strlen("GET / HTTP/1.1\r\nHost: a\r\nConnection: "
	    "close\r\n\r\n" GET_PLAIN));
	reply(r, 0, &x, "Connection: close");
	check_hello(&x, 0, 0);
	ck_assert_str_eq(x.connection, "close");
	expect_eof(r, "after Connection: close");
	http_close(r);

	/* HTTP/1.0 closes unless asked to keep the connection. */
	r = http_open(s->port);
	http_send(r, "GET /json HTTP/1.0\r\n\r\n", 22);
	reply(r, 0, &x, "HTTP/1.0");
	check_hello(&x, 1, 0);
	ck_assert_str_eq(x.connection, "close");
	expect_eof(r, "after HTTP/1.0");
	http_close(r);

	r = http_open(s->port);
	for (int i = 0; i < 2; i++) {
		static const char ka[] = "GET / HTTP/1.0\r\n"
		    "Connection: keep-alive\r\n\r\n";
		http_send(r, ka, strlen(ka));
		reply(r, 0, &x, "HTTP/1.0 keep-alive");
		check_hello(&x, 0, 0);
		ck_assert_str_eq(x.connection, "keep-alive");
	}
	expect_probe_end(r, "HTTP/1.0 keep-alive");
	http_close(r);
	server_stop(s);
}
END_TEST

/* Requests the module refuses: the answer, then the connection ends --
 * after the answers to the requests before it. */
static const struct {
	const char *what;
	const char *req;        /* NULL: built by refusal_request */
	int status;
} refusals[] = {
	{ "bad request line", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
	{ "bad field", "GET / HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n", 400 },
	{ "folded field", "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", 400 },
	{ "no Host", "GET / HTTP/1.1\r\n\r\n", 400 },
	{ "head over max-header-bytes", NULL, 431 },
	{ "Content-Length over max-body-bytes", "POST / HTTP/1.1\r\nHost: a\r\n"
	    "Content-Length: 65537\r\n\r\n", 413 },
	{ "chunk over max-body-bytes", "POST / HTTP/1.1\r\nHost: a\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n10001\r\n", 413 },
	{ "chunks summing over max-body-bytes", NULL, 413 },
	{ "bad chunk size", "POST / HTTP/1.1\r\nHost: a\r\n"
	    "Transfer-Encoding: chunked\r\n\r\nzz\r\n", 400 },
	{ "chunk without its line end", "POST / HTTP/1.1\r\nHost: a\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n", 400 },
	{ "Content-Length and chunked", "POST / HTTP/1.1\r\nHost: a\r\n"
	    "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400 },
	{ "gzip transfer coding", "POST / HTTP/1.1\r\nHost: a\r\n"
	    "Transfer-Encoding: gzip\r\n\r\n", 501 },
	{ "HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505 },
};

/* The requests too big to write out: into a malloc'd buffer. */
static char *
refusal_request(int i, size_t *len)
{
	char *p = malloc(2 * MAX_BODY);
	int n;

	ck_assert_ptr_nonnull(p);
	if (refusals[i].req != NULL) {
		n = snprintf(p, 2 * MAX_BODY, "%s", refusals[i].req);
	} else if (refusals[i].status == 431) {
		n = snprintf(p, 2 * MAX_BODY, "GET / HTTP/1.1\r\nHost: a\r\n"
		    "X-Long: %0*d\r\n\r\n", MAX_HEADER, 0);
	} else {
		/* 0x8000 + 0x8001 = one byte over the 64 KiB. */
		n = snprintf(p, 2 * MAX_BODY, "POST / HTTP/1.1\r\nHost: a\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n8000\r\n");
		memset(p + n, 'c', 0x8000);
		n += 0x8000;
		n += snprintf(p + n, 2 * MAX_BODY - (size_t)n, "\r\n8001\r\n");
	}
	*len = (size_t)n;
	return p;
}

START_TEST(test_refusals)
{
	server_t *s = server_start(1);
	http_reader_t *r = http_open(s->port);
	size_t len;
	char *req = refusal_request(_i, &len);
	char *both = malloc(len + sizeof GET_PLAIN);
	http_reply_t x;

	/* One write, so the server reads it all before it answers and
	 * closes: the close is a FIN, not an RST racing the answer. */
	ck_assert_ptr_nonnull(both);
	memcpy(both, GET_PLAIN, strlen(GET_PLAIN));
	memcpy(both + strlen(GET_PLAIN), req, len);
	http_send(r, both, strlen(GET_PLAIN) + len);
	reply(r, 0, &x, refusals[_i].what);
	check_hello(&x, 0, 0);
	reply(r, 0, &x, refusals[_i].what);
	ck_assert_msg(x.status == refusals[_i].status, "%s: status %d, want %d",
	    refusals[_i].what, x.status, refusals[_i].status);
	check_common(&x);
	ck_assert_str_eq(x.connection, "close");
	expect_eof(r, refusals[_i].what);
	http_close(r);
	free(both);
	free(req);
	server_stop(s);
}
END_TEST

START_TEST(test_bodies)
{
	/* The body looks like a request: parsed as one, it would be
	 * answered. */
	static const char post[] = "POST /json HTTP/1.1\r\nHost: x\r\n"
	    "content-length: 18\r\n\r\nGET / HTTP/1.1\r\n\r\n";
	static const char chunked[] = "POST /nope HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n";
	static const char expect[] = "POST /plaintext HTTP/1.1\r\nHost: x\r\n"
	    "Expect: 100-continue\r\nContent-Length: 5\r\n\r\n";
	server_t *s = server_start(1);
	http_reader_t *r = http_open(s->port);
	char *big = malloc(MAX_BODY + 128);
	http_reply_t x;
	int n;

	ck_assert_ptr_nonnull(big);
	http_send(r, post, strlen(post));
	http_send(r, GET_PLAIN, strlen(GET_PLAIN));
	expect_status(r, 405, "POST with a body");
	reply(r, 0, &x, "GET after the body");
	check_hello(&x, 0, 0);
	expect_probe_end(r, "POST with a body");
	http_close(r);

	/* Chunks arriving in pieces, the next request glued to the last. */
	r = http_open(s->port);
	http_send(r, chunked, strlen(chunked));
	http_send(r, "5\r\nhel", 6);
	http_send(r, "lo\r\n1", 5);
	http_send(r, "0;x=y\r\n0123456789abcdef\r\n0\r\nTrailer: t\r\n", 40);
	http_send(r, "\r\n" GET_JSON, 2 + strlen(GET_JSON));
	expect_status(r, 404, "chunked body");
	reply(r, 0, &x, "GET after the chunks");
	check_hello(&x, 1, 0);
	expect_probe_end(r, "chunked body");
	http_close(r);

	/* A body of exactly max-body-bytes is read. */
	r = http_open(s->port);
	n = snprintf(big, 128, "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: "
	    "%d\r\n\r\n", MAX_BODY);
	memset(big + n, 'b', MAX_BODY);
	http_send(r, big, (size_t)n + MAX_BODY);
	http_send(r, GET_PLAIN, strlen(GET_PLAIN));
	expect_status(r, 405, "body at the limit");
	reply(r, 0, &x, "GET after the body at the limit");
	check_hello(&x, 0, 0);
	expect_probe_end(r, "body at the limit");
	http_close(r);

	/* Expect: 100-continue -- told to send, then answered. */
	r = http_open(s->port);
	http_send(r, expect, strlen(expect));
	reply(r, 0, &x, "100 Continue");
	ck_assert_int_eq(x.status, 100);
	http_send(r, "hello", 5);
	expect_status(r, 405, "after 100 Continue");
	expect_probe_end(r, "Expect: 100-continue");
	http_close(r);
	free(big);
	server_stop(s);
}
END_TEST

/* ------------------------------------------------------------------------
 * The header timeout.
 */
static void
nap_until(int64_t when_ms)
{
	int64_t left;

	while ((left = when_ms - tn_now_ms()) > 0) {
		struct timespec ts = { left / 1000, (left % 1000) * 1000000 };
		nanosleep(&ts, NULL);
	}
}

/* Wait for the 408 and the end of the connection; returns when the 408
 * came, in ms since `t0`. */
static int64_t
await_408(http_reader_t *r, int64_t t0, const char *what)
{
	http_reply_t x;

	reply(r, 0, &x, what);
	ck_assert_msg(x.status == 408, "%s: status %d", what, x.status);
	check_common(&x);
	ck_assert_str_eq(x.connection, "close");
	expect_eof(r, what);
	return tn_now_ms() - t0;
}

/* A client sends a head one byte every 200 ms -- never idle, never done:
 * it gets 408 one timeout after its first byte. Another client, all
 * the while, gets every answer promptly. */
START_TEST(test_header_timeout)
{
	static const char slow[] = "GET / HTTP/1.1\r\nHost: a\r\nX-Slow: "
	    "trickling along, far longer than the timeout allows\r\n\r\n";
	server_t *s = server_start(1);
	http_reader_t *r = http_open(s->port), *fast = http_open(s->port);
	struct pollfd pfd = { .fd = r->fd, .events = POLLIN };
	http_reply_t x;
	int64_t t0 = tn_now_ms(), at, took;
	size_t sent = 0;
	int answered = 0;

	/* Until the slow one hears back; its head would take 18 s. */
	while (poll(&pfd, 1, 0) == 0) {
		ck_assert_msg(sent < sizeof slow - 1, "head sent whole, no 408");
		if (tn_now_ms() >= t0 + (int64_t)sent * 200) {
			http_send(r, slow + sent, 1);
			sent++;
		}
		at = tn_now_ms();
		http_send(fast, GET_PLAIN, strlen(GET_PLAIN));
		reply(fast, 0, &x, "fast client");
		check_hello(&x, 0, 0);
		took = tn_now_ms() - at;
		ck_assert_msg(took < HEADER_TIMEOUT_MS / 2, "an answer took "
		    "%lld ms while a slow client trickled", (long long)took);
		answered++;
		nap_until(at + 20);
	}
	at = await_408(r, t0, "slow head");
	ck_assert_msg(at >= HEADER_TIMEOUT_MS - TIMER_EARLY_MS &&
	    at <= HEADER_TIMEOUT_MS + TIMER_LATE_MS, "408 after %lld ms, "
	    "timeout %d ms", (long long)at, HEADER_TIMEOUT_MS);
	ck_assert_int_gt(answered, 10);
	ck_assert_uint_eq(stat_of(s->m, "header_timeouts"), 1);
	http_close(r);
	expect_probe_end(fast, "fast client");
	http_close(fast);
	server_stop(s);
}
END_TEST

/* The timer of a head that finished in time must not cut short the next
 * one: a head begun later gets its own full timeout. */
START_TEST(test_header_timeout_rearmed)
{
	server_t *s = server_start(1);
	http_reader_t *r = http_open(s->port);
	http_reply_t x;
	int64_t t0 = tn_now_ms(), second, at;

	http_send(r, "GET / HTTP/1.1\r\n", 16);
	nap_until(t0 + 600);
	http_send(r, "Host: a\r\n\r\n", 11);
	reply(r, 0, &x, "head finished at 600 ms");
	check_hello(&x, 0, 0);
	nap_until(t0 + 800);
	second = tn_now_ms();
	http_send(r, "GET / HT", 8);
	at = await_408(r, second, "second head");
	ck_assert_msg(at >= HEADER_TIMEOUT_MS - TIMER_EARLY_MS &&
	    at <= HEADER_TIMEOUT_MS + TIMER_LATE_MS, "408 %lld ms after the "
	    "second head began, timeout %d ms", (long long)at,
	    HEADER_TIMEOUT_MS);
	http_close(r);
	server_stop(s);
}
END_TEST

/* Idle connections, fresh or kept alive, have no head begun: no 408. */
START_TEST(test_idle_not_timed_out)
{
	server_t *s = server_start(1);
	http_reader_t *fresh = http_open(s->port), *kept = http_open(s->port);
	http_reply_t x;

	http_send(kept, GET_PLAIN, strlen(GET_PLAIN));
	reply(kept, 0, &x, "before idling");
	check_hello(&x, 0, 0);
	nap_until(tn_now_ms() + HEADER_TIMEOUT_MS + 500);
	http_send(fresh, GET_PLAIN, strlen(GET_PLAIN));
	reply(fresh, 0, &x, "fresh after idling");
	check_hello(&x, 0, 0);
	http_send(kept, GET_JSON, strlen(GET_JSON));
	reply(kept, 0, &x, "kept alive after idling");
	check_hello(&x, 1, 0);
	ck_assert_uint_eq(stat_of(s->m, "header_timeouts"), 0);
	http_close(fresh);
	http_close(kept);
	server_stop(s);
}
END_TEST

/* ------------------------------------------------------------------------
 * Date.
 */
static void
get_date(int port, char *date, size_t cap)
{
	http_reader_t *r = http_open(port);
	http_reply_t x;

	http_send(r, GET_PLAIN, strlen(GET_PLAIN));
	reply(r, 0, &x, "date");
	ck_assert_int_eq(x.status, 200);
	check_date(x.date);
	snprintf(date, cap, "%s", x.date);
	http_close(r);
}

/* TechEmpower's check: the Date is cached, not frozen -- it moves on
 * with the clock (here within 2.5 s rather than its 3). */
START_TEST(test_date_changes)
{
	server_t *s = server_start(2);
	char first[48], now[48];
	int64_t deadline = tn_now_ms() + 2500;

	get_date(s->port, first, sizeof first);
	do {
		nap_until(tn_now_ms() + 100);
		get_date(s->port, now, sizeof now);
	} while (strcmp(first, now) == 0 && tn_now_ms() < deadline);
	ck_assert_msg(strcmp(first, now) != 0, "Date stuck at \"%s\"", first);
	server_stop(s);
}
END_TEST

/* ------------------------------------------------------------------------
 * wrk.
 */
static void
pipeline_script(char *out, size_t cap)
{
	char exe[PATH_MAX - 64], *slash;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);

	/* BUILD/tests/check_x -> the source tree three folders up, or the
	 * tree the suite runs in. */
	ck_assert(n > 0);
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	ck_assert_ptr_nonnull(slash);
	*slash = '\0';
	snprintf(out, cap, "%s/../../../bench/pipeline.lua", exe);
	if (access(out, R_OK) != 0)
		snprintf(out, cap, "bench/pipeline.lua");
	ck_assert_msg(access(out, R_OK) == 0, "bench/pipeline.lua not found");
}

static uint64_t
wrk_run(tn_tool_run_t *t, const char *const *argv, const char *what)
{
	const char *line;

	tn_run_tool(t, argv, NULL, 1, TOOL_MS);
	tn_assert_tool_ok(t, what);
	ck_assert_msg(strstr(t->out, "Non-2xx") == NULL, "%s: non-2xx "
	    "responses:\n%s", what, t->out);
	ck_assert_msg(strstr(t->out, "Socket errors") == NULL, "%s: socket "
	    "errors:\n%s", what, t->out);
	line = strstr(t->out, " requests in ");
	ck_assert_msg(line != NULL, "%s: no request count:\n%s", what, t->out);
	while (line > t->out && line[-1] >= '0' && line[-1] <= '9')
		line--;
	ck_assert_msg(strtoull(line, NULL, 10) > 0, "%s: no requests:\n%s",
	    what, t->out);
	return strtoull(line, NULL, 10);
}

START_TEST(test_wrk)
{
	server_t *s = server_start(_i + 1);
	tn_tool_run_t *t = malloc(sizeof *t);
	char url[64], script[PATH_MAX];
	uint64_t done = 0;

	ck_assert_ptr_nonnull(t);
	if (TN_SKIP_WITHOUT("wrk", "the http module under wrk"))
		goto out;
	pipeline_script(script, sizeof script);
	snprintf(url, sizeof url, "http://127.0.0.1:%d/plaintext", s->port);
	{
		const char *const a[] = { "wrk", "-t1", "-c8", "-d1s", url, NULL };
		done += wrk_run(t, a, "wrk");
	}
	snprintf(url, sizeof url, "http://127.0.0.1:%d/", s->port);
	{
		const char *const a[] = { "wrk", "-t1", "-c8", "-d1s", "-s",
			script, url, "--", "16", NULL };
		done += wrk_run(t, a, "wrk, pipelined 16 deep");
	}
	/* Every answer wrk counted was a counted 200 of a counted request;
	 * nothing was refused (wrk's idle extra connection included). */
	ck_assert_uint_ge(stat_of(s->m, "requests"), done);
	ck_assert_uint_ge(stat_of(s->m, "responses_2xx"), done);
	ck_assert_uint_eq(stat_of(s->m, "responses_4xx"), 0);
	ck_assert_uint_eq(stat_of(s->m, "responses_5xx"), 0);
	ck_assert_uint_gt(stat_of(s->m, "bytes_in"), 0);
	ck_assert_uint_gt(stat_of(s->m, "bytes_out"), 0);
out:
	free(t);
	server_stop(s);
}
END_TEST

/* ------------------------------------------------------------------------
 * Two loads of the shared object: their own settings and state.
 */
static void
get_server(int port, const char *extra, int status, const char *server)
{
	char req[2048];
	http_reader_t *r = http_open(port);
	http_reply_t x;
	int n = snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: a\r\n%s\r\n",
	    extra);

	http_send(r, req, (size_t)n);
	reply(r, 0, &x, server);
	ck_assert_msg(x.status == status, "%s: status %d, want %d", server,
	    x.status, status);
	ck_assert_str_eq(x.server, server);
	http_close(r);
}

START_TEST(test_two_loads)
{
	static const char *const alpha[] = { "listen=tcp://127.0.0.1:0",
		"server-name=alpha", "max-header-bytes=1k", NULL };
	static const char *const beta[] = { "listen=tcp://127.0.0.1:0",
		"server-name=beta/2.0 (test)", "max-header-bytes=4k", NULL };
	tn_host_t *t = malloc(sizeof *t);
	gnet_module_t *a, *b;
	char big[1600], first[48], now[48];
	int64_t deadline;
	int pa, pb;

	ck_assert_ptr_nonnull(t);
	snprintf(big, sizeof big, "X-Big: %0*d\r\n", 1500, 0);
	tn_host_new(t, 2, 0);
	a = tn_host_load(t, "http", alpha);
	b = tn_host_load(t, "http", beta);
	tn_host_run(t);
	pa = tn_module_port(a, 0);
	pb = tn_module_port(b, 0);
	deadline = tn_now_ms() + 2500;
	get_server(pa, "", 200, "alpha");
	get_server(pb, "", 200, "beta/2.0 (test)");
	/* Still their own once the answers were made again for a new
	 * second's Date. */
	get_date(pa, first, sizeof first);
	do {
		nap_until(tn_now_ms() + 100);
		get_date(pa, now, sizeof now);
	} while (strcmp(first, now) == 0 && tn_now_ms() < deadline);
	ck_assert_msg(strcmp(first, now) != 0, "Date stuck at \"%s\"", first);
	get_server(pa, "", 200, "alpha");
	get_server(pb, "", 200, "beta/2.0 (test)");
	/* 1.5 KiB of head: over alpha's limit, within beta's. */
	get_server(pa, big, 431, "alpha");
	get_server(pb, big, 200, "beta/2.0 (test)");
	ck_assert_uint_eq(stat_of(b, "requests"), 3);
	/* One goes, the other serves on. */
	ck_assert_int_eq(gnet_host_unload(t->h, a, UNLOAD_MS), 0);
	ck_assert_int_lt(tn_connect(pa), 0);
	get_server(pb, "", 200, "beta/2.0 (test)");
	tn_host_end(t);
	free(t);
}
END_TEST

/* Bad configuration fails the load with the option named. */
START_TEST(test_bad_configs)
{
	static const char *const bad[][3] = {
		{ "listen=udp://127.0.0.1:0", NULL },
		{ "max-header-bytes=10", NULL },
		{ "max-header-bytes=2m", NULL },
		{ "header-timeout-ms=-1", NULL },
		{ "server-name=", NULL },
		{ "server-name=a\tb", NULL },
		{ "no-such-option=1", NULL },
	};
	tn_host_t *t = malloc(sizeof *t);

	ck_assert_ptr_nonnull(t);
	tn_host_new(t, 1, 0);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char name[64];
		int rc = gnet_host_load_static(t->h, GNET_MODULE_ENTRY(http),
		    bad[i], 1, NULL, t->err, sizeof t->err);
		snprintf(name, sizeof name, "%.*s", (int)strcspn(bad[i][0], "="),
		    bad[i][0]);
		ck_assert_msg(rc != 0, "%s: loaded", bad[i][0]);
		ck_assert_msg(strstr(t->err, name) != NULL, "%s: error \"%s\" "
		    "does not name it", bad[i][0], t->err);
	}
	tn_host_end(t);
	free(t);
}
END_TEST

static Suite *
module_http_suite(void)
{
	Suite *s = suite_create("module_http");
	TCase *tc;

	tc = tn_tcase("curl", TCASE_TIMEOUT_S);
	tcase_add_checked_fixture(tc, NULL, tn_kill_strays);
	tcase_add_loop_test(tc, test_curl_statuses, 0, 2);
	suite_add_tcase(s, tc);

	tc = tn_tcase("raw", TCASE_TIMEOUT_S);
	tcase_add_loop_test(tc, test_pipelining, 0, 2);
	tcase_add_test(tc, test_keep_alive_and_close);
	tcase_add_loop_test(tc, test_refusals, 0,
	    (int)(sizeof refusals / sizeof refusals[0]));
	tcase_add_test(tc, test_bodies);
	suite_add_tcase(s, tc);

	tc = tn_tcase("timeout", TCASE_TIMEOUT_S);
	tcase_add_test(tc, test_header_timeout);
	tcase_add_test(tc, test_header_timeout_rearmed);
	tcase_add_test(tc, test_idle_not_timed_out);
	suite_add_tcase(s, tc);

	tc = tn_tcase("load", TCASE_TIMEOUT_S);
	tcase_add_checked_fixture(tc, NULL, tn_kill_strays);
	tcase_add_loop_test(tc, test_wrk, 0, 2);
	tcase_add_test(tc, test_date_changes);
	suite_add_tcase(s, tc);

	tc = tn_tcase("loads", TCASE_TIMEOUT_S);
	tcase_add_test(tc, test_two_loads);
	tcase_add_test(tc, test_bad_configs);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tn_run_child_suite(module_http_suite());
}
