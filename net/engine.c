/*
 * A gnet engine is the kernel plus three extensions: the ticker, the
 * worker pool (actors/) and networking (this folder). This file composes
 * them (gnet_engine_new) and is net/'s extension: its options, message
 * types, per-loop state and turn hooks, and its part of a stop.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "actors/actors.h"
#include "base/trim.h"
#include "net/addr.h"
#include "net/conn.h"

static const gnet__ext_t *const engine_exts[GNET__EXTS] = {
	[GNET__EXT_TICKER] = &gnet__ticker_ext,
	[GNET__EXT_POOL] = &gnet__pool_ext,
	[GNET__EXT_NET] = &gnet__net_ext,
};

int
gnet_engine_new(gnet_engine_t **out, const gnet_events_t *events,
    const gnet_options_t *opts, void *udata)
{
	return gnet__engine_create(out, events, opts, udata, engine_exts,
	    GNET__EXTS);
}

int
gnet_run(const char *addr, const gnet_events_t *events,
    const gnet_options_t *opts, void *udata)
{
	gnet_engine_t *eng;
	int rc = gnet_engine_new(&eng, events, opts, udata);

	if (rc != 0)
		return rc;
	rc = gnet_engine_listen(eng, addr);
	if (rc == 0)
		rc = gnet_engine_run(eng);
	gnet_engine_free(eng);
	return rc;
}

/* ---- options ---- */

static size_t
default_max_buffered(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
	size_t quarter = pages > 0 && size > 0 ?
	    (size_t)pages / 4 * (size_t)size : 0;

	return quarter > GNET__MIN_DEFAULT_BUFFERED ? quarter :
	    GNET__MIN_DEFAULT_BUFFERED;
}

static void
fill_defaults(gnet_options_t *o)
{
	if (o->read_buffer_cap == 0)
		o->read_buffer_cap = GNET__DEFAULT_READ_CAP;
	if (o->write_high_watermark == 0)
		o->write_high_watermark = GNET__DEFAULT_HIGH_WM;
	if (o->write_low_watermark == 0)
		o->write_low_watermark = o->write_high_watermark < GNET__DEFAULT_LOW_WM * 2
		    ? o->write_high_watermark / 4 : GNET__DEFAULT_LOW_WM;
	if (o->max_inbound == 0)
		o->max_inbound = GNET__DEFAULT_MAX_INBOUND;
	if (o->max_outbound == 0)
		o->max_outbound = GNET__DEFAULT_MAX_OUTBOUND;
	if (o->outbound_soft_ms == 0)
		o->outbound_soft_ms = GNET__DEFAULT_SOFT_MS;
	if (o->max_buffered == 0)
		o->max_buffered = default_max_buffered();
	if (o->backlog <= 0)
		o->backlog = GNET__DEFAULT_BACKLOG;
	if (o->max_parked == 0)
		o->max_parked = GNET__DEFAULT_MAX_PARKED;
	if (o->udp_max_datagram == 0)
		o->udp_max_datagram = GNET__DEFAULT_UDP_DATAGRAM;
}

static int
check_options(const gnet_options_t *o)
{
	if (o->write_low_watermark > o->write_high_watermark)
		return GNET_EINVAL;
	/* A soft limit at or above the hard one could never be held. */
	if (o->outbound_soft_limit >= o->max_outbound)
		return GNET_EINVAL;
	if (o->read_buffer_cap > GNET__MAX_READ_CAP || o->sndbuf < 0 ||
	    o->rcvbuf < 0)
		return GNET_EINVAL;
	if (o->lb != GNET_LB_ROUND_ROBIN && o->lb != GNET_LB_LEAST_CONNECTIONS &&
	    o->lb != GNET_LB_SOURCE_HASH)
		return GNET_EINVAL;
	if (o->udp_max_datagram > 65535 || o->tcp_keepalive_intvl_s < 0 ||
	    o->tcp_keepalive_cnt < 0)
		return GNET_EINVAL;
	return 0;
}

/* ---- message types ---- */

static void
async_write_dropped(gnet_engine_t *eng, gnet__loop_t *l, const gnet_msg_t *m)
{
	gnet__async_write_t *w = (gnet__async_write_t *)(uintptr_t)m->a;

	(void)eng;
	(void)l;
	if (w->cb != NULL)
		w->cb(NULL, GNET_ECLOSED, w->cbdata);
	free(w);
}

/* A connection handed to a loop that is gone: close it so the descriptor
 * does not leak, and uncount it. */
static void
adopt_dropped(gnet_engine_t *eng, gnet__loop_t *l, const gnet_msg_t *m)
{
	unsigned dst = gnet__handle_loop(m->to);

	gnet__net_t *net = gnet__net_of(eng);

	(void)l;
	close((int)m->a);
	if (dst < (unsigned)eng->nloops)
		atomic_fetch_sub_explicit(&gnet__net_loop(eng->loops[dst])->live,
		    1, memory_order_relaxed);
	if (m->b < (uint64_t)net->nlisteners) {
		gnet__listener_conn_gone(&net->listeners[m->b].bh);
		gnet__group_leave(net->listeners[m->b].bh.group);
	}
}

static const gnet__msgtype_t
    net_types[GNET__NET_MSG_END - GNET__NET_MSG_FIRST] = {
#define T(type) [GNET__MSG_##type - GNET__NET_MSG_FIRST]
	T(ADOPT) = { .name = "adopt", .drop = adopt_dropped },
	T(DIAL) = { .name = "dial", .drop = gnet__dialer_dropped },
	T(ASYNC_WRITE) = { .name = "async write", .drop = async_write_dropped },
	T(CLOSE) = { .name = "close" },
	T(ABORT) = { .name = "abort" },
	T(WAKE) = { .name = "wake" },
	T(LINGER) = { .name = "linger timer", .timer = true },
	T(IDLE) = { .name = "idle timer", .timer = true },
	T(CONNECT_TIMEOUT) = { .name = "connect timer" },
	T(LISTEN_RETRY) = { .name = "listen retry timer", .timer = true },
	T(SOFT_LIMIT) = { .name = "outbound soft limit timer", .timer = true },
	T(DEADLINE) = { .name = "deadline timer", .timer = true },
#undef T
};

/* ---- the extension ---- */

static int
net_engine_init(gnet_engine_t *eng, void **state)
{
	gnet_options_t *o = gnet__engine_options(eng);
	gnet__net_t *net;
	int rc;

	fill_defaults(o);
	rc = check_options(o);
	if (rc == 0)
		rc = gnet__msgtypes_claim(eng, GNET__NET_MSG_FIRST,
		    GNET__NET_MSG_END - GNET__NET_MSG_FIRST, net_types);
	if (rc != 0)
		return rc;
	net = calloc(1, sizeof(*net));
	if (net == NULL)
		return GNET_ENOMEM;
	net->eng = eng;
	net->opt = o;
	net->bh.ev = eng->ev;
	net->bh.udata = eng->udata;
	net->bh.codec = o->codec;
	*state = net;
	return gnet_counters_new(eng, "net",
	    (const char *const[])GNET__NET_COUNTER_NAMES,
	    (int)(sizeof(gnet__net_stats_t) / sizeof(uint64_t)), &net->counters);
}

static int
net_loop_init(gnet__loop_t *l, void **state)
{
	gnet__net_t *net = gnet__net_of(l->eng);
	gnet__net_loop_t *nl;

	nl = aligned_alloc(GNET__CACHE_PAIR, sizeof(*nl));
	if (nl == NULL)
		return GNET_ENOMEM;
	memset(nl, 0, sizeof(*nl));
	*state = nl;
	nl->loop = l;
	nl->net = net;
	nl->stats = (gnet__net_stats_t *)(void *)gnet_counters_row(net->counters,
	    l->index);
	/* One byte over the budget: a read that stops short of the buffer
	 * proves the socket drained, so a peer that sent exactly the budget
	 * (64 KiB: 16 x 4 KiB pipelined) costs no second read to learn that
	 * (net/conn.c, took_read). */
	nl->scratch_cap = net->opt->read_buffer_cap + 1;
	nl->ring = (l->poller.caps & GNET__POLLER_COMPLETION) != 0;
	/* A receive takes what a read would (read_buffer_cap and the one
	 * byte more). */
	l->poller.recv_len = nl->scratch_cap > UINT32_MAX ? UINT32_MAX :
	    (uint32_t)nl->scratch_cap;
	nl->max_parked = net->opt->max_parked;
	nl->scratch = malloc(nl->scratch_cap);
	nl->blocks = calloc(1, sizeof(*nl->blocks));
	if (nl->scratch == NULL || nl->blocks == NULL)
		return GNET_ENOMEM;
	nl->flush_bit = gnet__loop_hook(l, GNET__PHASE_FLUSH,
	    gnet__conns_flush, nl);
	nl->reread_bit = gnet__loop_hook(l, GNET__PHASE_POLLED,
	    gnet__conns_reread, nl);
	nl->parked_bit = gnet__loop_hook(l, GNET__PHASE_START,
	    gnet__conns_resume_parked, nl);
	/* After the flush: what the flush freed is not held any more. */
	nl->budget_bit = gnet__loop_hook(l, GNET__PHASE_FLUSH,
	    gnet__budget_check, nl);
	if (nl->flush_bit == 0 || nl->reread_bit == 0 || nl->parked_bit == 0 ||
	    nl->budget_bit == 0)
		return GNET_ELIMIT;
	gnet__budget_init(nl);
	/* Only idle timeouts stamp I/O with the time (last_io_ns). */
	if (net->opt->idle_timeout_ms > 0)
		l->stamp_wakeups = true;
	return gnet__slot_alloc(l, &gnet__dialer_kind, nl, &nl->dialer);
}

static void
net_loop_free(gnet__loop_t *l, void *state)
{
	gnet__net_loop_t *nl = state;

	(void)l;
	if (nl == NULL)
		return;
	free(nl->scratch);
	gnet__blockcache_drain(nl->blocks);
	free(nl->blocks);
	free(nl->parked_readers);
	free(nl->rereads);
	free(nl->sends);
	free(nl->unseen);
	free(nl->held_sends);
	gnet__udp_free_batch(nl);
	free(nl);
}

static void
net_thread_enter(gnet__loop_t *l)
{
	gnet__blockcache_bind(gnet__net_loop(l)->blocks);
}

static void
net_thread_exit(gnet__loop_t *l)
{
	(void)l;
	gnet__blockcache_bind(NULL);
}

static void
net_stats_publish(gnet__loop_t *l)
{
	gnet__net_loop_t *nl = gnet__net_loop(l);

	GNET__STAT_SET(nl, bytes_in, nl->bytes_in);
	GNET__STAT_SET(nl, bytes_out, nl->bytes_out);
}

/* Blocks that buffers grew through, or that stalled peers held, were
 * freed since the last interval: give their pages back (base/trim.h). */
#define TRIM_AFTER_BYTES ((size_t)1024 * 1024)

static void
net_interval(gnet__loop_t *l)
{
	gnet__net_loop_t *nl = gnet__net_loop(l);
	gnet__blockcache_t *bc = nl->blocks;

	/* A loop over its budget share that is not growing still checks. */
	gnet__budget_check(l, nl);
	if (bc->freed_large < TRIM_AFTER_BYTES)
		return;
	bc->freed_large = 0;
	gnet__trim_thread_arena();
}

static void
net_stop_begin(gnet__loop_t *l)
{
	/* Stop accepting before the connections drain. */
	gnet__listeners_close(gnet__net_of(l->eng), l);
	gnet__conns_close_all(l, GNET_ESHUTDOWN);
}

/* Connections that outlive the grace period are aborted; their on_close
 * says GNET_ELINGER. */
static void
net_stop_force(gnet__loop_t *l)
{
	gnet__conns_close_all(l, GNET_ELINGER);
}

static bool
net_stop_done(gnet__loop_t *l)
{
	return GNET__STAT_GET(gnet__net_loop(l), conns) == 0;
}

static void
net_stopped(gnet_engine_t *eng)
{
	gnet__listeners_close(gnet__net_of(eng), NULL);
}

static void
net_engine_free(gnet_engine_t *eng, void *state)
{
	gnet__net_t *net = state;

	(void)eng;
	if (net == NULL)
		return;
	gnet__listeners_close(net, NULL);
	gnet_counters_free(net->counters);
	free(net);
}

const gnet__ext_t gnet__net_ext = {
	.name = "net",
	.engine_init = net_engine_init,
	.loop_init = net_loop_init,
	.stopped = net_stopped,
	.thread_enter = net_thread_enter,
	.thread_exit = net_thread_exit,
	.stop_begin = net_stop_begin,
	.stop_force = net_stop_force,
	.stop_done = net_stop_done,
	.loop_free = net_loop_free,
	.engine_free = net_engine_free,
	.stats_publish = net_stats_publish,
	.interval = net_interval,
};

/* ---- engine-wide readings ---- */

int
gnet_engine_conn_count(const gnet_engine_t *eng)
{
	uint64_t n = 0;
	int i;

	if (eng == NULL)
		return GNET_EINVAL;
	for (i = 0; i < eng->nloops; i++)
		n += GNET__STAT_GET(gnet__net_loop(eng->loops[i]), conns);
	return (int)n;
}

int
gnet_engine_loop_stats(const gnet_engine_t *eng, int index,
    gnet_loop_stats_t *out)
{
	gnet__loop_t *l;
	gnet__net_loop_t *nl;
	gnet_loop_stats_t st = { .size = sizeof(st) };

	if (eng == NULL || out == NULL || index < 0 || index >= eng->nloops)
		return GNET_EINVAL;
	l = eng->loops[index];
	nl = gnet__net_loop(l);
	st.iterations = GNET__STAT_GET(l, iterations);
	st.msgs_in = GNET__STAT_GET(l, msgs_in);
	st.msgs_out = GNET__STAT_GET(l, msgs_out);
	st.msgs_dropped = GNET__STAT_GET(l, msgs_dropped);
	st.mailbox_hwm = GNET__STAT_GET(l, mailbox_hwm);
	st.overflowed = GNET__STAT_GET(l, overflowed);
	st.wakeups = GNET__STAT_GET(l, wakeups);
	st.actors = GNET__STAT_GET(l, actors);
	st.conns = GNET__STAT_GET(nl, conns);
	st.accepted = GNET__STAT_GET(nl, accepted);
	st.udp_in = GNET__STAT_GET(nl, udp_in);
	st.udp_out = GNET__STAT_GET(nl, udp_out);
	st.udp_dropped = GNET__STAT_GET(nl, udp_dropped);
	st.syscalls_io = GNET__STAT_GET(nl, syscalls_io);
	st.bytes_in = GNET__STAT_GET(nl, bytes_in);
	st.bytes_out = GNET__STAT_GET(nl, bytes_out);
	st.buffered = GNET__STAT_GET(nl, buffered);
	st.budget_closes = GNET__STAT_GET(nl, budget_closes);
	st.conns_refused = GNET__STAT_GET(nl, conns_refused);
	return gnet__struct_out(out,
	    GNET__SIZE_THROUGH(gnet_loop_stats_t, syscalls_io), &st,
	    sizeof(st));
}
