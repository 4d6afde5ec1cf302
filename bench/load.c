/*
 * load -- the benchmark load generator: one thread, one epoll set, N
 * non-blocking client connections to an echo (or HTTP) server.
 *
 *   load [--addr tcp://HOST:PORT | unix://PATH] --conns N --size BYTES
 *        --depth D --duration SEC --warmup SEC [--cpu K] [--label TEXT]
 *        [--mode echo|http|idle] [--hold SEC]
 *
 * Method.
 *
 * All N connections are opened first, in batches of non-blocking connects
 * (at most CONNECT_BATCH outstanding), within CONNECT_TIMEOUT; TCP sockets
 * get TCP_NODELAY.  Then every connection keeps D messages in flight: a new
 * message is written as soon as an earlier one has come back completely, so
 * the server always has D * BYTES bytes per connection to work on.  Writes
 * batch every message the window allows into one send().
 *
 * echo: message s of connection c is BYTES bytes taken from a random
 *   pattern at an offset chosen by a hash of (c, s), its first 8 bytes
 *   XORed with that hash; so content differs per connection and per message
 *   and nothing is stored per message.  Every echoed byte is compared with
 *   the content regenerated from (c, s, offset); a mismatch, a byte that was
 *   never sent, or a closed connection ends the run with exit status 1.
 * http: each message is "GET / HTTP/1.1\r\nHost: x\r\n\r\n"; responses are
 *   parsed (status line, headers, Content-Length body); non-2xx responses
 *   are counted as errors.  A fallback for when wrk cannot be used.
 * idle: one echo round trip per connection (verified as in echo mode),
 *   then "idle: holding N connections" on stderr and --hold seconds with no
 *   traffic, so a script can read the server's RSS; any event then (data or
 *   close) is an error.
 *
 * What is measured.  The run lasts --warmup then --duration seconds.  A
 * message counts when its last reply byte arrives inside the measured
 * window [start + warmup, start + warmup + duration), so the window is
 * exactly --duration seconds.  Latency of a message = time from the return
 * of the send() that wrote its last byte to the return of the recv() that
 * read its last reply byte (CLOCK_MONOTONIC); it goes into a log-linear
 * histogram (HDR style: 128 linear sub-buckets per power of two, relative
 * error < 0.8%, fixed size, no allocation per message); percentiles report
 * the upper bound of their bucket.  MB/s is reply payload bytes (echo:
 * messages * BYTES; http: whole responses) per second, 1 MB = 10^6 bytes.
 *
 * Output: human-readable lines on stderr; on success exactly one line on
 * stdout:
 *   RESULT label= mode= conns= size= depth= secs= msgs= msgs_per_s=
 *          mb_per_s= p50_us= p99_us= p999_us= errors=
 * (idle: secs is --hold, msgs the verified round trips, rates are 0).
 * Exit status: 0 success, 1 any error (no RESULT line, except for non-2xx
 * HTTP responses, which are reported in errors=), 2 bad arguments.
 * Every wait is bounded: connects (CONNECT_TIMEOUT), the idle round trips
 * (CONNECT_TIMEOUT), and traffic (no reply byte for STALL_TIMEOUT is an
 * error).
 *
 * Build: cc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -o load bench/load.c
 */
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define NS_PER_S	1000000000ull
#define CONNECT_BATCH	256		/* connects outstanding at once */
#define CONNECT_TIMEOUT	(10 * NS_PER_S)
#define STALL_TIMEOUT	(5 * NS_PER_S)
#define PATTERN_SLACK	4096		/* message start offsets; power of 2 */
#define TAG_BYTES	8		/* leading bytes XORed with the tag */
#define IO_BUF		(256 * 1024)
#define MAX_EVENTS	1024
#define HTTP_LINE_MAX	4096
#define MAX_SIZE	(64L * 1024 * 1024)

#define HIST_SUB_BITS	7
#define HIST_SUB	(1u << HIST_SUB_BITS)
#define HIST_BUCKETS	((64 - HIST_SUB_BITS + 1) * HIST_SUB)

static const char http_request[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

enum mode { MODE_ECHO, MODE_HTTP, MODE_IDLE };
static const char *const mode_names[] = { "echo", "http", "idle" };

enum conn_state { CONN_IDLE, CONN_CONNECTING, CONN_OPEN };

struct options {
	const char *addr;
	const char *label;
	enum mode mode;
	long conns, size, depth, cpu;
	double duration, warmup, hold;
};

/* Incremental HTTP response parser, one per connection (http mode). */
struct http_rx {
	char line[HTTP_LINE_MAX];	/* the header line being assembled */
	size_t len;
	int status;			/* 0 until the status line is parsed */
	int chunked;
	long long content_length;	/* -1 when absent */
	uint64_t body_left;
	int in_body;
	uint64_t bytes;			/* size of the response so far */
};

struct conn {
	int fd;
	uint32_t id;
	enum conn_state state;
	int want_out;			/* EPOLLOUT is registered */
	uint64_t tx_bytes;		/* bytes written so far */
	uint64_t rx_bytes;		/* reply bytes read so far */
	uint64_t rx_done;		/* replies completed so far */
	uint64_t *sent_ns;		/* ring of depth send times, by seq */
	struct http_rx *http;
};

struct hist {
	uint64_t count;
	uint64_t bucket[HIST_BUCKETS];
};

static struct options opt = {
	.addr = "tcp://127.0.0.1:9000", .label = NULL, .mode = MODE_ECHO,
	.conns = 64, .size = 64, .depth = 1, .cpu = -1,
	.duration = 5, .warmup = 1, .hold = 5,
};

static struct sockaddr_storage peer;
static socklen_t peer_len;
static int peer_tcp;

static int epfd = -1;
static struct conn *conns;
static long conns_open, conns_pending;
static uint64_t msg_len;		/* bytes per request */
static uint64_t max_msgs = UINT64_MAX;	/* per connection (idle: 1) */
static uint8_t *pattern;		/* echo content source */
static uint8_t txbuf[IO_BUF], rxbuf[IO_BUF];

static uint64_t win_start, win_end;	/* measured window, ns */
static uint64_t last_rx_ns;		/* for stall detection */
static uint64_t win_msgs, win_bytes, http_errors, replies_total;
static struct hist hist;

/* ---- utilities ------------------------------------------------------ */

static _Noreturn void
die(const char *fmt, ...)
{
	va_list ap;

	fputs("load: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static uint64_t
min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t
secs_to_ns(double s)
{
	return (uint64_t)(s * 1e9 + 0.5);
}

/* splitmix64's finaliser: a cheap, well-mixed 64-bit hash. */
static uint64_t
mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* ---- histogram ------------------------------------------------------ */

static unsigned
hist_index(uint64_t v)
{
	unsigned msb, shift;

	if (v < HIST_SUB)
		return (unsigned)v;
	msb = 63u - (unsigned)__builtin_clzll(v);
	shift = msb - HIST_SUB_BITS;
	return ((shift + 1) << HIST_SUB_BITS) |
	    (unsigned)((v >> shift) & (HIST_SUB - 1));
}

/* The largest value that lands in bucket i. */
static uint64_t
hist_upper(unsigned i)
{
	unsigned hi = i >> HIST_SUB_BITS, lo = i & (HIST_SUB - 1), shift;

	if (hi == 0)
		return lo;
	shift = hi - 1;
	return (((uint64_t)(HIST_SUB | lo)) << shift) + ((1ull << shift) - 1);
}

static void
hist_record(struct hist *h, uint64_t v)
{
	h->bucket[hist_index(v)]++;
	h->count++;
}

/* Value at percentile p (0..100), in nanoseconds; 0 when empty. */
static uint64_t
hist_percentile(const struct hist *h, double p)
{
	uint64_t want, seen = 0;
	unsigned i;

	if (h->count == 0)
		return 0;
	want = (uint64_t)(p / 100.0 * (double)h->count + 0.999999);
	if (want < 1)
		want = 1;
	for (i = 0; i < HIST_BUCKETS; i++) {
		seen += h->bucket[i];
		if (seen >= want)
			return hist_upper(i);
	}
	return hist_upper(HIST_BUCKETS - 1);
}

/* ---- message content ------------------------------------------------ */

static uint64_t
msg_tag(uint32_t conn, uint64_t seq)
{
	return mix64(mix64(conn) ^ seq);
}

static void
pattern_init(void)
{
	uint64_t x = 0x6c6f6164;	/* fixed seed: runs are repeatable */
	size_t i, n = (size_t)opt.size + PATTERN_SLACK;

	pattern = malloc(n);
	if (pattern == NULL)
		die("out of memory");
	for (i = 0; i < n; i++) {
		x = mix64(x);
		pattern[i] = (uint8_t)x;
	}
}

/* Bytes [off, off + len) of echo message seq of connection conn. */
static void
echo_fill(uint32_t conn, uint64_t seq, uint64_t off, uint8_t *dst, size_t len)
{
	uint64_t tag = msg_tag(conn, seq), i;

	memcpy(dst, pattern + (tag & (PATTERN_SLACK - 1)) + off, len);
	for (i = off; i < TAG_BYTES && i < off + len; i++)
		dst[i - off] ^= (uint8_t)(tag >> (8 * i));
}

/* Index of the first byte of src that differs from echo message content
 * [off, off + len), or -1 when all match. */
static long
echo_check(uint32_t conn, uint64_t seq, uint64_t off, const uint8_t *src,
    size_t len)
{
	uint8_t want[TAG_BYTES];
	uint64_t tag = msg_tag(conn, seq);
	const uint8_t *body = pattern + (tag & (PATTERN_SLACK - 1)) + off;
	size_t head = off < TAG_BYTES ? (size_t)min_u64(TAG_BYTES - off, len) : 0;
	size_t i;

	if (head != 0) {
		echo_fill(conn, seq, off, want, head);
		if (memcmp(src, want, head) != 0)
			for (i = 0; i < head; i++)
				if (src[i] != want[i])
					return (long)i;
	}
	if (memcmp(src + head, body + head, len - head) == 0)
		return -1;
	for (i = head; i < len; i++)
		if (src[i] != body[i])
			return (long)i;
	return -1;
}

/* Request bytes [off, off + len) of message seq, for either mode. */
static void
msg_fill(const struct conn *c, uint64_t seq, uint64_t off, uint8_t *dst,
    size_t len)
{
	if (opt.mode == MODE_HTTP)
		memcpy(dst, http_request + off, len);
	else
		echo_fill(c->id, seq, off, dst, len);
}

/* The request stream of c from byte from to byte to, into dst. */
static size_t
stream_fill(const struct conn *c, uint64_t from, uint64_t to, uint8_t *dst)
{
	size_t n = 0, len;

	while (from < to) {
		len = (size_t)min_u64(msg_len - from % msg_len, to - from);
		msg_fill(c, from / msg_len, from % msg_len, dst + n, len);
		n += len;
		from += len;
	}
	return n;
}

/* ---- replies -------------------------------------------------------- */

/* The reply to message c->rx_done is complete at time t. */
static void
reply_done(struct conn *c, uint64_t t, uint64_t bytes)
{
	uint64_t sent = c->sent_ns[c->rx_done % (uint64_t)opt.depth];

	c->rx_done++;
	replies_total++;
	if (t < win_start || t >= win_end)
		return;
	hist_record(&hist, t - sent);
	win_msgs++;
	win_bytes += bytes;
}

static void
echo_rx(struct conn *c, const uint8_t *p, size_t n, uint64_t t)
{
	uint64_t seq, off;
	size_t len;
	long bad;

	if (c->rx_bytes + n > c->tx_bytes)
		die("conn %u: received %llu bytes that were never sent", c->id,
		    (unsigned long long)(c->rx_bytes + n - c->tx_bytes));
	while (n != 0) {
		seq = c->rx_bytes / msg_len;
		off = c->rx_bytes % msg_len;
		len = (size_t)min_u64(msg_len - off, n);
		bad = echo_check(c->id, seq, off, p, len);
		if (bad >= 0) {
			uint8_t want;

			echo_fill(c->id, seq, off + (uint64_t)bad, &want, 1);
			die("conn %u: message %llu byte %llu: sent 0x%02x, "
			    "echoed 0x%02x", c->id, (unsigned long long)seq,
			    (unsigned long long)(off + (uint64_t)bad), want, p[bad]);
		}
		c->rx_bytes += len;
		p += len;
		n -= len;
		if (off + len == msg_len)
			reply_done(c, t, msg_len);
	}
}

static void
http_reset(struct http_rx *h)
{
	h->len = 0;
	h->status = 0;
	h->chunked = 0;
	h->content_length = -1;
	h->body_left = 0;
	h->in_body = 0;
	h->bytes = 0;
}

static int
header_is(const char *line, const char *name, const char **value)
{
	size_t n = strlen(name);

	if (strncasecmp(line, name, n) != 0 || line[n] != ':')
		return 0;
	*value = line + n + 1;
	while (**value == ' ' || **value == '\t')
		(*value)++;
	return 1;
}

static void
http_response_done(struct conn *c, uint64_t t)
{
	struct http_rx *h = c->http;

	if ((c->rx_done + 1) * msg_len > c->tx_bytes)
		die("conn %u: response to a request not sent", c->id);
	if (h->status / 100 != 2)
		http_errors++;
	reply_done(c, t, h->bytes);
	http_reset(h);
}

/* End of the header block: decide how long the body is. */
static void
http_headers_done(struct conn *c, uint64_t t)
{
	struct http_rx *h = c->http;

	if (h->chunked)
		die("conn %u: chunked responses are not supported", c->id);
	if (h->status / 100 == 1)
		die("conn %u: interim %d responses are not supported", c->id,
		    h->status);
	if (h->status == 204 || h->status == 304)
		h->content_length = 0;
	if (h->content_length < 0)
		die("conn %u: response without Content-Length", c->id);
	h->body_left = (uint64_t)h->content_length;
	h->in_body = 1;
	if (h->body_left == 0)
		http_response_done(c, t);
}

/* One complete header line (CRLF stripped) of the current response. */
static void
http_line(struct conn *c, uint64_t t)
{
	struct http_rx *h = c->http;
	const char *v;
	char *end;

	while (h->len > 0 && (h->line[h->len - 1] == '\n' ||
	    h->line[h->len - 1] == '\r'))
		h->len--;
	h->line[h->len] = '\0';
	if (h->status == 0) {
		if (strncmp(h->line, "HTTP/1.", 7) != 0 || h->len < 12 ||
		    h->line[8] != ' ' || (h->status = atoi(h->line + 9)) < 100 ||
		    h->status > 999)
			die("conn %u: bad status line \"%.80s\"", c->id, h->line);
	} else if (h->len == 0) {
		http_headers_done(c, t);
	} else if (header_is(h->line, "content-length", &v)) {
		errno = 0;
		h->content_length = strtoll(v, &end, 10);
		if (errno != 0 || end == v || h->content_length < 0)
			die("conn %u: bad Content-Length \"%.40s\"", c->id, v);
	} else if (header_is(h->line, "transfer-encoding", &v)) {
		h->chunked = strcasestr(v, "chunked") != NULL;
	}
	h->len = 0;
}

static void
http_rx(struct conn *c, const uint8_t *p, size_t n, uint64_t t)
{
	struct http_rx *h = c->http;
	const uint8_t *nl;
	size_t k;

	while (n != 0) {
		if (h->in_body) {
			k = (size_t)min_u64(n, h->body_left);
			h->body_left -= k;
			h->bytes += k;
			p += k;
			n -= k;
			if (h->body_left == 0)
				http_response_done(c, t);
			continue;
		}
		nl = memchr(p, '\n', n);
		k = nl != NULL ? (size_t)(nl - p) + 1 : n;
		if (h->len + k >= sizeof(h->line))
			die("conn %u: header line longer than %d bytes", c->id,
			    HTTP_LINE_MAX);
		memcpy(h->line + h->len, p, k);
		h->len += k;
		h->bytes += k;
		p += k;
		n -= k;
		if (nl != NULL)
			http_line(c, t);
	}
}

/* ---- connections ---------------------------------------------------- */

static void
epoll_set(struct conn *c, int op, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	if (epoll_ctl(epfd, op, c->fd, &ev) != 0)
		die("conn %u: epoll_ctl: %s", c->id, strerror(errno));
}

static void
want_out(struct conn *c, int on)
{
	if (c->want_out == on)
		return;
	c->want_out = on;
	epoll_set(c, EPOLL_CTL_MOD, EPOLLIN | (on ? EPOLLOUT : 0));
}

/* Record time t as the send time of every message whose last byte lies in
 * the stream range (from, to]. */
static void
stamp_sent(struct conn *c, uint64_t from, uint64_t to, uint64_t t)
{
	uint64_t seq;

	for (seq = from / msg_len; (seq + 1) * msg_len <= to; seq++)
		c->sent_ns[seq % (uint64_t)opt.depth] = t;
}

/* Write as much as the window (depth messages in flight) allows. */
static void
conn_send(struct conn *c)
{
	uint64_t limit, to;
	size_t n;
	ssize_t w;

	limit = min_u64(c->rx_done + (uint64_t)opt.depth, max_msgs) * msg_len;
	while (c->tx_bytes < limit) {
		to = min_u64(limit, c->tx_bytes + sizeof(txbuf));
		n = stream_fill(c, c->tx_bytes, to, txbuf);
		w = send(c->fd, txbuf, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			die("conn %u: send: %s", c->id, strerror(errno));
		}
		stamp_sent(c, c->tx_bytes, c->tx_bytes + (uint64_t)w, now_ns());
		c->tx_bytes += (uint64_t)w;
		if ((size_t)w < n)
			break;
	}
	want_out(c, c->tx_bytes < limit);
}

static void
conn_readable(struct conn *c)
{
	ssize_t r;
	uint64_t t;

	for (;;) {
		r = recv(c->fd, rxbuf, sizeof(rxbuf), 0);
		if (r == 0)
			die("conn %u: closed by the server", c->id);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			die("conn %u: recv: %s", c->id, strerror(errno));
		}
		t = now_ns();
		last_rx_ns = t;
		if (opt.mode == MODE_HTTP)
			http_rx(c, rxbuf, (size_t)r, t);
		else
			echo_rx(c, rxbuf, (size_t)r, t);
		if ((size_t)r < sizeof(rxbuf))
			break;
	}
	conn_send(c);
}

static void
conn_opened(struct conn *c)
{
	c->state = CONN_OPEN;
	conns_open++;
}

static void
conn_connect_done(struct conn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	if (err != 0)
		die("conn %u: connect to %s: %s", c->id, opt.addr, strerror(err));
	conns_pending--;
	epoll_set(c, EPOLL_CTL_MOD, EPOLLIN);
	conn_opened(c);
}

/* Start a non-blocking connect; 0 when the listen queue is full (Unix
 * sockets say EAGAIN) and it should be retried later. */
static int
conn_start(struct conn *c)
{
	int one = 1;

	c->fd = socket(peer.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		die("socket: %s (conn %u)", strerror(errno), c->id);
	if (peer_tcp && setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one,
	    sizeof(one)) != 0)
		die("TCP_NODELAY: %s", strerror(errno));
	if (connect(c->fd, (struct sockaddr *)&peer, peer_len) == 0) {
		epoll_set(c, EPOLL_CTL_ADD, EPOLLIN);
		conn_opened(c);
		return 1;
	}
	if (errno == EINPROGRESS) {
		epoll_set(c, EPOLL_CTL_ADD, EPOLLOUT);
		c->state = CONN_CONNECTING;
		conns_pending++;
		return 1;
	}
	if (errno == EAGAIN) {
		close(c->fd);
		c->fd = -1;
		return 0;
	}
	die("conn %u: connect to %s: %s", c->id, opt.addr, strerror(errno));
}

static void
conn_event(struct conn *c, uint32_t ev)
{
	if (c->state == CONN_CONNECTING) {
		conn_connect_done(c);
		return;
	}
	if (ev & EPOLLERR) {
		int err = 0;
		socklen_t len = sizeof(err);

		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		die("conn %u: socket error: %s", c->id, strerror(err));
	}
	if (ev & (EPOLLIN | EPOLLHUP | EPOLLRDHUP))
		conn_readable(c);
	else if (ev & EPOLLOUT)
		conn_send(c);
}

/* Wait up to timeout_ns for events and handle them. */
static void
poll_once(uint64_t timeout_ns)
{
	struct epoll_event ev[MAX_EVENTS];
	int n, i, ms = (int)((min_u64(timeout_ns, 60 * NS_PER_S) + 999999) /
	    1000000);

	n = epoll_wait(epfd, ev, MAX_EVENTS, ms);
	if (n < 0 && errno != EINTR)
		die("epoll_wait: %s", strerror(errno));
	for (i = 0; i < n; i++)
		conn_event(ev[i].data.ptr, ev[i].events);
}

/* ---- phases --------------------------------------------------------- */

static void
connect_all(void)
{
	uint64_t t0 = now_ns(), deadline = t0 + CONNECT_TIMEOUT, t;
	long next = 0;

	while (conns_open < opt.conns) {
		while (next < opt.conns && conns_pending < CONNECT_BATCH &&
		    conn_start(&conns[next]))
			next++;
		t = now_ns();
		if (t >= deadline)
			die("only %ld of %ld connections to %s established "
			    "within %llu s", conns_open, opt.conns, opt.addr,
			    CONNECT_TIMEOUT / NS_PER_S);
		if (conns_open < opt.conns)
			poll_once(conns_pending ? deadline - t : 1000000);
	}
	fprintf(stderr, "load: %ld connections to %s open in %.1f ms\n",
	    opt.conns, opt.addr, (double)(now_ns() - t0) / 1e6);
}

static void
start_sending(void)
{
	long i;

	last_rx_ns = now_ns();
	for (i = 0; i < opt.conns; i++)
		conn_send(&conns[i]);
}

/* Traffic until the end of the measured window. */
static void
run_traffic(void)
{
	uint64_t t = now_ns(), next;
	int measuring = 0;

	win_start = t + secs_to_ns(opt.warmup);
	win_end = win_start + secs_to_ns(opt.duration);
	fprintf(stderr, "load: warm-up %.1f s, then measuring %.1f s\n",
	    opt.warmup, opt.duration);
	start_sending();
	while ((t = now_ns()) < win_end) {
		if (!measuring && t >= win_start) {
			measuring = 1;
			fprintf(stderr, "load: measuring\n");
		}
		if (t - last_rx_ns >= STALL_TIMEOUT)
			die("no reply byte for %llu s: server stalled",
			    STALL_TIMEOUT / NS_PER_S);
		next = min_u64(measuring ? win_end : win_start,
		    last_rx_ns + STALL_TIMEOUT);
		poll_once(next > t ? next - t : 0);
	}
	fprintf(stderr, "load: measured window done\n");
}

/* One verified round trip per connection, then hold them idle. */
static void
run_idle(void)
{
	uint64_t t = now_ns(), deadline = t + CONNECT_TIMEOUT, end;

	win_start = 0;
	win_end = UINT64_MAX;
	max_msgs = 1;
	start_sending();
	while (replies_total < (uint64_t)opt.conns) {
		if ((t = now_ns()) >= deadline)
			die("only %llu of %ld idle round trips done within %llu s",
			    (unsigned long long)replies_total, opt.conns,
			    CONNECT_TIMEOUT / NS_PER_S);
		poll_once(deadline - t);
	}
	fprintf(stderr, "load: %ld round trips verified; holding %.1f s\n",
	    opt.conns, opt.hold);
	fprintf(stderr, "idle: holding %ld connections\n", opt.conns);
	fflush(stderr);
	end = now_ns() + secs_to_ns(opt.hold);
	while ((t = now_ns()) < end)
		poll_once(end - t);	/* any event is an error */
}

/* ---- set-up ---------------------------------------------------------- */

static void
usage(void)
{
	fprintf(stderr,
	    "usage: load [--addr tcp://HOST:PORT | unix://PATH] --conns N "
	    "--size BYTES\n"
	    "            --depth D --duration SEC --warmup SEC [--cpu K] "
	    "[--label TEXT]\n"
	    "            [--mode echo|http|idle] [--hold SEC]\n");
	exit(2);
}

static double
parse_num(const char *name, const char *s, double lo, double hi, int integer)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi ||
	    (integer && v != (double)(long)v)) {
		fprintf(stderr, "load: %s: bad value \"%s\" (%s %g..%g)\n", name,
		    s, integer ? "an integer" : "a number", lo, hi);
		exit(2);
	}
	return v;
}

static enum mode
parse_mode(const char *s)
{
	size_t i;

	for (i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++)
		if (strcmp(s, mode_names[i]) == 0)
			return (enum mode)i;
	fprintf(stderr, "load: --mode: unknown mode \"%s\"\n", s);
	exit(2);
}

static void
parse_args(int argc, char **argv)
{
	const char *k, *v;
	int i;

	for (i = 1; i < argc; i += 2) {
		k = argv[i];
		if (strcmp(k, "-h") == 0 || strcmp(k, "--help") == 0 ||
		    i + 1 >= argc)
			usage();
		v = argv[i + 1];
		if (strcmp(k, "--addr") == 0)
			opt.addr = v;
		else if (strcmp(k, "--label") == 0)
			opt.label = v;
		else if (strcmp(k, "--mode") == 0)
			opt.mode = parse_mode(v);
		else if (strcmp(k, "--conns") == 0)
			opt.conns = (long)parse_num(k, v, 1, 1000000, 1);
		else if (strcmp(k, "--size") == 0)
			opt.size = (long)parse_num(k, v, 1, MAX_SIZE, 1);
		else if (strcmp(k, "--depth") == 0)
			opt.depth = (long)parse_num(k, v, 1, 65536, 1);
		else if (strcmp(k, "--cpu") == 0)
			opt.cpu = (long)parse_num(k, v, 0, CPU_SETSIZE - 1, 1);
		else if (strcmp(k, "--duration") == 0)
			opt.duration = parse_num(k, v, 0.001, 86400, 0);
		else if (strcmp(k, "--warmup") == 0)
			opt.warmup = parse_num(k, v, 0, 86400, 0);
		else if (strcmp(k, "--hold") == 0)
			opt.hold = parse_num(k, v, 0, 86400, 0);
		else
			usage();
	}
	if (opt.label == NULL)
		opt.label = mode_names[opt.mode];
}

static void
parse_tcp_addr(const char *hostport)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
	char host[256];
	const char *colon = strrchr(hostport, ':');
	size_t n;
	int rc;

	if (colon == NULL || colon[1] == '\0')
		die("--addr %s: expected tcp://HOST:PORT", opt.addr);
	n = (size_t)(colon - hostport);
	if (n > 1 && hostport[0] == '[' && hostport[n - 1] == ']') {
		hostport++;	/* tcp://[::1]:PORT */
		n -= 2;
	}
	if (n == 0 || n >= sizeof(host))
		die("--addr %s: bad host", opt.addr);
	memcpy(host, hostport, n);
	host[n] = '\0';
	rc = getaddrinfo(host, colon + 1, &hints, &res);
	if (rc != 0)
		die("--addr %s: %s", opt.addr, gai_strerror(rc));
	memcpy(&peer, res->ai_addr, res->ai_addrlen);
	peer_len = res->ai_addrlen;
	peer_tcp = 1;
	freeaddrinfo(res);
}

static void
parse_unix_addr(const char *path)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)&peer;

	if (path[0] == '\0' || strlen(path) >= sizeof(sun->sun_path))
		die("--addr %s: bad or too long socket path", opt.addr);
	sun->sun_family = AF_UNIX;
	strcpy(sun->sun_path, path);
	peer_len = (socklen_t)sizeof(*sun);
}

static void
parse_addr(void)
{
	if (strncmp(opt.addr, "tcp://", 6) == 0)
		parse_tcp_addr(opt.addr + 6);
	else if (strncmp(opt.addr, "unix://", 7) == 0)
		parse_unix_addr(opt.addr + 7);
	else
		die("--addr %s: expected tcp://HOST:PORT or unix://PATH",
		    opt.addr);
}

/* 1000+ connections need more descriptors than the usual soft limit. */
static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		die("getrlimit: %s", strerror(errno));
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ? 1048576 : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0 && getrlimit(RLIMIT_NOFILE,
	    &rl) != 0)
		die("setrlimit: %s", strerror(errno));
	if (rl.rlim_cur < (rlim_t)opt.conns + 16)
		die("RLIMIT_NOFILE is %llu: too low for %ld connections",
		    (unsigned long long)rl.rlim_cur, opt.conns);
}

static void
pin_cpu(void)
{
	cpu_set_t set;

	if (opt.cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET((int)opt.cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) != 0)
		die("--cpu %ld: sched_setaffinity: %s", opt.cpu,
		    strerror(errno));
}

static void
conns_init(void)
{
	uint64_t *rings;
	struct http_rx *http = NULL;
	long i;

	conns = calloc((size_t)opt.conns, sizeof(*conns));
	rings = calloc((size_t)opt.conns * (size_t)opt.depth, sizeof(*rings));
	if (opt.mode == MODE_HTTP)
		http = calloc((size_t)opt.conns, sizeof(*http));
	if (conns == NULL || rings == NULL ||
	    (opt.mode == MODE_HTTP && http == NULL))
		die("out of memory for %ld connections", opt.conns);
	for (i = 0; i < opt.conns; i++) {
		conns[i].fd = -1;
		conns[i].id = (uint32_t)i;
		conns[i].sent_ns = rings + i * opt.depth;
		if (http != NULL) {
			conns[i].http = &http[i];
			http_reset(&http[i]);
		}
	}
}

static void
setup(void)
{
	raise_nofile();
	pin_cpu();
	parse_addr();
	msg_len = opt.mode == MODE_HTTP ? sizeof(http_request) - 1 :
	    (uint64_t)opt.size;
	if (opt.mode != MODE_HTTP)
		pattern_init();
	conns_init();
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		die("epoll_create1: %s", strerror(errno));
}

/* ---- report ---------------------------------------------------------- */

/* The label goes into a space-separated line: no blanks in it. */
static void
print_label(void)
{
	const char *p;

	for (p = opt.label; *p != '\0'; p++)
		putchar(*p == ' ' || *p == '\t' || *p == '\n' ? '_' : *p);
}

static void
report(void)
{
	int idle = opt.mode == MODE_IDLE;
	double secs = idle ? opt.hold : (double)(win_end - win_start) / 1e9;
	double mps = idle ? 0 : (double)win_msgs / secs;
	double mbps = idle ? 0 : (double)win_bytes / secs / 1e6;
	double p50 = (double)hist_percentile(&hist, 50) / 1e3;
	double p99 = (double)hist_percentile(&hist, 99) / 1e3;
	double p999 = (double)hist_percentile(&hist, 99.9) / 1e3;

	fprintf(stderr, "load: %s %s conns=%ld size=%ld depth=%ld: %llu msgs "
	    "in %.3f s, %.0f msgs/s, %.2f MB/s, latency p50 %.1f us, "
	    "p99 %.1f us, p99.9 %.1f us, %llu errors\n", opt.label,
	    mode_names[opt.mode], opt.conns, opt.size, opt.depth,
	    (unsigned long long)win_msgs, secs, mps, mbps, p50, p99, p999,
	    (unsigned long long)http_errors);
	fputs("RESULT label=", stdout);
	print_label();
	printf(" mode=%s conns=%ld size=%ld depth=%ld secs=%.3f msgs=%llu "
	    "msgs_per_s=%.1f mb_per_s=%.3f p50_us=%.1f p99_us=%.1f "
	    "p999_us=%.1f errors=%llu\n", mode_names[opt.mode], opt.conns,
	    opt.size, opt.depth, secs, (unsigned long long)win_msgs, mps, mbps,
	    p50, p99, p999, (unsigned long long)http_errors);
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	parse_args(argc, argv);
	setup();
	connect_all();
	if (opt.mode == MODE_IDLE) {
		run_idle();
		win_msgs = replies_total;
	} else {
		run_traffic();
		if (win_msgs == 0)
			die("no reply completed in the measured window");
	}
	report();
	if (http_errors != 0) {
		fprintf(stderr, "load: error: %llu non-2xx responses\n",
		    (unsigned long long)http_errors);
		return 1;
	}
	return 0;
}
