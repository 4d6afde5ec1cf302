/*
 * testnet.c -- shared helpers for the network integration suites: an engine
 * on a background thread, client sockets with deadlines, deterministic
 * random payloads and a poll()-driven multi-client pump. See testnet.h.
 */
#include "testnet.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

/* Largest single send/recv the helpers issue. */
#define TN_IO_CHUNK (64 * 1024)
/* Longest single poll() so deadlines are re-checked often. */
#define TN_POLL_SLICE_MS 100

void tn_nap(void)
{
	struct timespec ts = { 0, TN_NAP_NS };
	nanosleep(&ts, NULL);
}

void tn_atomic_max(atomic_size_t *max, size_t v)
{
	size_t cur = atomic_load(max);
	while (v > cur && !atomic_compare_exchange_weak(max, &cur, v))
		;
}

/* Milliseconds left before `deadline`, clamped to [0, TN_POLL_SLICE_MS]. */
static int slice_left(int64_t deadline)
{
	int64_t left = deadline - tn_now_ms();
	if (left < 0)
		return 0;
	return left > TN_POLL_SLICE_MS ? TN_POLL_SLICE_MS : (int)left;
}

int tn_ld(atomic_int *p)
{
	return atomic_load(p);
}

long tn_ldl(atomic_long *p)
{
	return atomic_load(p);
}

uint64_t tn_ld64(atomic_uint_least64_t *p)
{
	return atomic_load(p);
}

size_t tn_ldz(atomic_size_t *p)
{
	return atomic_load(p);
}

void tn_loop_error(tn_loop_errors_t *e, const char *file, int line)
{
	const char *none = NULL;

	/* The file wins the race, then its line: both name one check. */
	if (atomic_compare_exchange_strong(&e->first_file, &none, file))
		atomic_store(&e->first_line, line);
	atomic_fetch_add(&e->count, 1);
}

void tn_loop_errors_reset(tn_loop_errors_t *e)
{
	atomic_store(&e->count, 0);
	atomic_store(&e->first_file, NULL);
	atomic_store(&e->first_line, 0);
}

const char *tn_loop_errors_where(tn_loop_errors_t *e)
{
	static _Thread_local char where[256];
	const char *file = atomic_load(&e->first_file);

	snprintf(where, sizeof where, "%s:%d", file != NULL ? file : "?",
	    atomic_load(&e->first_line));
	return where;
}

/* ------------------------------------------------------------------------
 * Engine on a background thread.
 */
static void *server_main(void *arg)
{
	tn_server_t *s = arg;
	s->run_rc = gnet_engine_run(s->eng);
	atomic_store(&s->run_done, 1);
	return NULL;
}

int tn_addr_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return -1;
}

socklen_t tn_server_addr(tn_server_t *s, int index, struct sockaddr_storage *ss)
{
	socklen_t len = sizeof *ss;
	memset(ss, 0, sizeof *ss);
	int rc = gnet_engine_addr(s->eng, index, ss, &len);
	ck_assert_msg(rc == 0, "gnet_engine_addr(%d): %d (%s)", index, rc,
	    gnet_strerror(rc));
	return len;
}

void tn_server_new(tn_server_t *s, const gnet_events_t *ev,
    const gnet_options_t *opts, void *udata)
{
	memset(s, 0, sizeof *s);
	atomic_init(&s->run_done, 0);

	int rc = gnet_engine_new(&s->eng, ev, opts, udata);
	ck_assert_msg(rc == 0, "gnet_engine_new: %d (%s)", rc, gnet_strerror(rc));
}

void tn_server_listen(tn_server_t *s, const char *addr)
{
	int rc = gnet_engine_listen(s->eng, addr);
	ck_assert_msg(rc == 0, "gnet_engine_listen(%s): %d (%s)", addr, rc,
	    gnet_strerror(rc));
}

void tn_server_run(tn_server_t *s)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	memset(&ss, 0, sizeof ss);
	if (gnet_engine_addr(s->eng, 0, &ss, &len) == 0)
		s->port = tn_addr_port(&ss);

	int rc = pthread_create(&s->thread, NULL, server_main, s);
	ck_assert_msg(rc == 0, "pthread_create: %s", strerror(rc));

	/* Running, or already returned (an early error is reported below). */
	TN_WAIT_UNTIL(gnet_engine_is_running(s->eng) || atomic_load(&s->run_done),
	    TN_START_TIMEOUT_MS);
	if (atomic_load(&s->run_done) && !gnet_engine_is_running(s->eng)) {
		tn_server_join(s, TN_JOIN_TIMEOUT_MS);
		ck_abort_msg("gnet_engine_run returned %d (%s) before serving",
		    s->run_rc, gnet_strerror(s->run_rc));
	}
	ck_assert_msg(gnet_engine_is_running(s->eng),
	    "engine not running %d ms after gnet_engine_run", TN_START_TIMEOUT_MS);
}

void tn_server_start(tn_server_t *s, const gnet_events_t *ev,
    const gnet_options_t *opts, void *udata)
{
	tn_server_new(s, ev, opts, udata);
	tn_server_listen(s, "tcp://127.0.0.1:0");
	tn_server_run(s);
	ck_assert_msg(s->port > 0, "bound port %d", s->port);
}

void tn_server_start_at(tn_server_t *s, const gnet_events_t *ev,
    const gnet_options_t *opts, void *udata, const char *addr)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;

	tn_server_new(s, ev, opts, udata);
	tn_server_listen(s, addr);
	ck_assert_int_eq(gnet_engine_addr(s->eng, 0, &ss, &len), 0);
	tn_server_run(s);
}

void tn_server_join(tn_server_t *s, int timeout_ms)
{
	if (s->joined)
		return;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	int rc = pthread_timedjoin_np(s->thread, NULL, &ts);
	/* Cannot free an engine whose loop may still run: fail loudly. */
	ck_assert_msg(rc == 0, "gnet_engine_run did not return within %d ms (%s)",
	    timeout_ms, strerror(rc));
	s->joined = 1;
}

void tn_server_stop(tn_server_t *s)
{
	int rc = gnet_engine_stop(s->eng);
	ck_assert_msg(rc == 0, "gnet_engine_stop: %d (%s)", rc, gnet_strerror(rc));
	tn_server_join(s, TN_JOIN_TIMEOUT_MS);
}

void tn_server_free(tn_server_t *s)
{
	ck_assert_msg(s->joined, "tn_server_free before the run thread was joined");
	gnet_engine_free(s->eng);
	s->eng = NULL;
}

void tn_server_close(tn_server_t *s)
{
	tn_server_stop(s);
	ck_assert_msg(s->run_rc == 0, "gnet_engine_run returned %d (%s)",
	    s->run_rc, gnet_strerror(s->run_rc));
	tn_server_free(s);
}

/* ------------------------------------------------------------------------
 * Client sockets.
 */
int tn_set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return -1;
	return fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

int tn_set_linger_rst(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	return setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
}

void tn_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

int tn_connect_addr(const struct sockaddr *sa, socklen_t len, int rcvbuf)
{
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
	/* Loopback connect completes at once (the backlog accepts for us). */
	if (connect(fd, sa, len) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

struct sockaddr_in tn_loopback(int port)
{
	struct sockaddr_in sin;
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sin;
}

int tn_connect_rcvbuf(int port, int rcvbuf)
{
	struct sockaddr_in sin = tn_loopback(port);
	return tn_connect_addr((const struct sockaddr *)&sin, sizeof sin, rcvbuf);
}

int tn_connect(int port)
{
	return tn_connect_rcvbuf(port, 0);
}

int tn_connect_nb(int port)
{
	int fd = tn_connect(port);
	if (fd >= 0 && tn_set_nonblock(fd) != 0)
		tn_close(&fd);
	return fd;
}

size_t tn_send_all(int fd, const void *buf, size_t n, int timeout_ms)
{
	const uint8_t *p = buf;
	size_t done = 0;
	int64_t deadline = tn_now_ms() + timeout_ms;
	while (done < n) {
		size_t want = n - done < TN_IO_CHUNK ? n - done : TN_IO_CHUNK;
		ssize_t w = send(fd, p + done, want, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0) {
			done += (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			break;
		if (tn_now_ms() >= deadline)
			break;
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };
		poll(&pfd, 1, slice_left(deadline));
	}
	return done;
}

size_t tn_read_exact(int fd, void *buf, size_t n, int timeout_ms)
{
	uint8_t *p = buf;
	size_t done = 0;
	int64_t deadline = tn_now_ms() + timeout_ms;
	while (done < n) {
		ssize_t r = recv(fd, p + done, n - done, MSG_DONTWAIT);
		if (r > 0) {
			done += (size_t)r;
			continue;
		}
		if (r == 0)
			break; /* EOF */
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			break;
		if (tn_now_ms() >= deadline)
			break;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		poll(&pfd, 1, slice_left(deadline));
	}
	return done;
}

int tn_wait_eof(int fd, int timeout_ms, size_t *extra)
{
	uint8_t scratch[4096];
	int64_t deadline = tn_now_ms() + timeout_ms;
	if (extra)
		*extra = 0;
	for (;;) {
		ssize_t r = recv(fd, scratch, sizeof scratch, MSG_DONTWAIT);
		if (r == 0)
			return 1;
		if (r > 0) {
			if (extra)
				*extra += (size_t)r;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		if (tn_now_ms() >= deadline)
			return 0;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		poll(&pfd, 1, slice_left(deadline));
	}
}

int tn_read_line(tn_line_reader_t *r, char *line, size_t cap, int timeout_ms)
{
	int64_t deadline = tn_now_ms() + timeout_ms;

	for (;;) {
		char *nl = memchr(r->buf, '\n', r->len);
		if (nl != NULL) {
			size_t n = (size_t)(nl - r->buf);
			if (n >= cap)
				n = cap - 1;
			memcpy(line, r->buf, n);
			line[n] = '\0';
			r->len -= (size_t)(nl + 1 - r->buf);
			memmove(r->buf, nl + 1, r->len);
			return 1;
		}
		if (r->len == sizeof r->buf)
			return 0;
		int64_t left = deadline - tn_now_ms();
		if (left <= 0)
			return 0;
		struct pollfd pfd = { .fd = r->fd, .events = POLLIN };
		poll(&pfd, 1, left > 100 ? 100 : (int)left);
		ssize_t n = recv(r->fd, r->buf + r->len, sizeof r->buf - r->len,
		    MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return 0;
		if (n > 0)
			r->len += (size_t)n;
	}
}

size_t tn_first_diff(const void *a, const void *b, size_t n)
{
	const uint8_t *x = a, *y = b;
	size_t i = 0;

	while (i < n && x[i] == y[i])
		i++;
	return i;
}

/* ------------------------------------------------------------------------
 * Multi-client pump.
 */
void tn_client_init(tn_client_t *cl, int fd, const uint8_t *tx, size_t tx_len,
    const uint8_t *expect, size_t expect_len)
{
	memset(cl, 0, sizeof *cl);
	cl->fd = fd;
	cl->tx = tx;
	cl->tx_len = tx_len;
	cl->expect = expect;
	cl->expect_len = expect_len;
}

static const uint8_t *client_expect(const tn_client_t *cl, size_t *len)
{
	if (cl->expect) {
		*len = cl->expect_len;
		return cl->expect;
	}
	*len = cl->tx_len;
	return cl->tx;
}

static void client_fail(tn_client_t *cl, const char *fmt, size_t a, size_t b)
{
	if (cl->error[0] == '\0')
		snprintf(cl->error, sizeof cl->error, fmt, a, b);
}

/* Everything sent (and shut down if asked), everything expected received,
 * EOF seen if asked. */
static int client_complete(const tn_client_t *cl)
{
	size_t elen;
	client_expect(cl, &elen);
	return cl->sent == cl->tx_len && cl->recvd == elen &&
	    (!cl->want_eof || cl->eof);
}

/* Send what the socket takes now. */
static void client_send(tn_client_t *cl)
{
	while (cl->sent < cl->tx_len) {
		size_t want = cl->tx_len - cl->sent;
		if (want > TN_IO_CHUNK)
			want = TN_IO_CHUNK;
		ssize_t w = send(cl->fd, cl->tx + cl->sent, want,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0) {
			cl->sent += (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		client_fail(cl, "send failed after %zu bytes (errno %zu)", cl->sent,
		    (size_t)errno);
		return;
	}
	if (cl->shut_wr && shutdown(cl->fd, SHUT_WR) != 0)
		client_fail(cl, "shutdown(SHUT_WR) failed after %zu bytes (errno %zu)",
		    cl->sent, (size_t)errno);
	cl->shut_wr = 0; /* done: never shut down twice */
}

/* Read what is there now and check it against the expected bytes. */
static void client_recv(tn_client_t *cl, uint8_t *scratch)
{
	size_t elen;
	const uint8_t *exp = client_expect(cl, &elen);
	for (;;) {
		ssize_t r = recv(cl->fd, scratch, TN_IO_CHUNK, MSG_DONTWAIT);
		if (r > 0) {
			size_t n = (size_t)r;
			if (cl->recvd + n > elen) {
				client_fail(cl, "%zu bytes beyond the %zu expected",
				    cl->recvd + n - elen, elen);
				return;
			}
			if (memcmp(scratch, exp + cl->recvd, n) != 0) {
				size_t i = 0;
				while (scratch[i] == exp[cl->recvd + i])
					i++;
				client_fail(cl, "byte %zu differs (of %zu expected)",
				    cl->recvd + i, elen);
				return;
			}
			cl->recvd += n;
			continue;
		}
		if (r == 0) {
			cl->eof = 1;
			if (cl->recvd < elen)
				client_fail(cl, "EOF after %zu of %zu expected bytes",
				    cl->recvd, elen);
			return;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			client_fail(cl, "recv failed after %zu bytes (errno %zu)",
			    cl->recvd, (size_t)errno);
		return;
	}
}

int tn_pump(tn_client_t *cl, size_t k, int timeout_ms)
{
	struct pollfd *pfd = calloc(k, sizeof *pfd);
	size_t *idx = calloc(k, sizeof *idx);
	uint8_t *scratch = malloc(TN_IO_CHUNK);
	ck_assert_msg(pfd && idx && scratch, "tn_pump: out of memory");
	int64_t deadline = tn_now_ms() + timeout_ms;

	for (size_t i = 0; i < k; i++) {
		if (tn_set_nonblock(cl[i].fd) != 0)
			client_fail(&cl[i], "bad fd %zu (errno %zu)", (size_t)cl[i].fd,
			    (size_t)errno);
		/* Nothing to send: shut down (if asked) right away. */
		if (cl[i].tx_len == 0 && cl[i].error[0] == '\0')
			client_send(&cl[i]);
	}

	for (;;) {
		size_t n = 0;
		for (size_t i = 0; i < k; i++) {
			tn_client_t *c = &cl[i];
			if (c->done || c->error[0])
				continue;
			if (client_complete(c)) {
				c->done = 1;
				continue;
			}
			short ev = 0;
			if (c->sent < c->tx_len)
				ev |= POLLOUT;
			/* Always read while active: the peer may send early. */
			ev |= POLLIN;
			pfd[n] = (struct pollfd){ .fd = c->fd, .events = ev };
			idx[n++] = i;
		}
		if (n == 0 || tn_now_ms() >= deadline)
			break;
		int pr = poll(pfd, n, slice_left(deadline));
		if (pr <= 0)
			continue;
		for (size_t j = 0; j < n; j++) {
			tn_client_t *c = &cl[idx[j]];
			if (pfd[j].revents & POLLOUT)
				client_send(c);
			if (pfd[j].revents & (POLLIN | POLLHUP | POLLERR))
				client_recv(c, scratch);
		}
	}

	int failed = 0;
	for (size_t i = 0; i < k; i++) {
		tn_client_t *c = &cl[i];
		if (c->done)
			continue;
		size_t elen;
		client_expect(c, &elen);
		if (c->error[0] == '\0') {
			snprintf(c->error, sizeof c->error,
			    "timeout: sent %zu/%zu, received %zu/%zu%s", c->sent,
			    c->tx_len, c->recvd, elen,
			    c->want_eof && !c->eof ? ", no EOF" : "");
		}
		failed++;
	}
	free(pfd);
	free(idx);
	free(scratch);
	return failed;
}

const char *tn_pump_error(const tn_client_t *cl, size_t k)
{
	static _Thread_local char msg[256];
	msg[0] = '\0';
	for (size_t i = 0; i < k; i++) {
		if (cl[i].error[0]) {
			snprintf(msg, sizeof msg, "client %zu: %s", i, cl[i].error);
			break;
		}
	}
	return msg;
}

long tn_rss_kb(pid_t pid)
{
	long kb = tn_proc_rss_kb(pid);

	ck_assert_msg(kb >= 0, "no resident size for process %d", (int)pid);
	return kb;
}

unsigned
tn_scaled(unsigned n)
{
	const char *s = getenv("GNET_STRESS_SCALE");
	int div = s != NULL ? atoi(s) : 1;

	return div > 1 ? n / (unsigned)div : n;
}

unsigned
tn_scaled_min(unsigned n, unsigned min)
{
	unsigned v = tn_scaled(n);

	return v < min ? min : v;
}

int
tn_run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

TCase *
tn_tcase(const char *name, int timeout_s)
{
	TCase *tc = tcase_create(name);

	tcase_set_timeout(tc, timeout_s);
	return tc;
}
