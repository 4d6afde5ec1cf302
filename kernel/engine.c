/*
 * The engine: options, loops, listeners, run and stop.
 *
 * gnet_engine_run starts one pinned thread per loop and waits for them.
 * gnet_engine_stop only raises a flag and wakes every loop; each loop then
 * stops accepting, closes its connections gracefully (bounded by linger)
 * and exits. When all have exited, whatever is still in flight -- in rings
 * or overflow FIFOs -- is dropped through the same path as a stale message,
 * so async-write callbacks still hear GNET_ECLOSED and nothing leaks.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "kernel/kernel.h"
#include "net/conn.h"

static void
fill_defaults(gnet_options_t *o)
{
	long ncpu;

	if (o->num_loops <= 0) {
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		o->num_loops = (o->multicore && ncpu > 0) ? (int)ncpu : 1;
	}
	if (o->num_loops > GNET_MAX_LOOPS)
		o->num_loops = GNET_MAX_LOOPS;
	if (o->read_buffer_cap == 0)
		o->read_buffer_cap = GNET__DEFAULT_READ_CAP;
	if (o->write_high_watermark == 0)
		o->write_high_watermark = GNET__DEFAULT_HIGH_WM;
	if (o->write_low_watermark == 0)
		o->write_low_watermark = o->write_high_watermark < GNET__DEFAULT_LOW_WM * 2
		    ? o->write_high_watermark / 4 : GNET__DEFAULT_LOW_WM;
	if (o->max_inbound == 0)
		o->max_inbound = GNET__DEFAULT_MAX_INBOUND;
	if (o->linger_ms == 0)
		o->linger_ms = GNET__DEFAULT_LINGER_MS;
	if (o->backlog <= 0)
		o->backlog = GNET__DEFAULT_BACKLOG;
	if (o->mailbox_ring_size == 0)
		o->mailbox_ring_size = GNET__DEFAULT_RING;
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
	if (!gnet__ring_valid_size(o->mailbox_ring_size))
		return GNET_EINVAL;
	if (o->send_policy != GNET_SEND_WAIT && o->send_policy != GNET_SEND_NOWAIT)
		return GNET_EINVAL;
	if (o->read_buffer_cap > (1u << 30) || o->sndbuf < 0 || o->rcvbuf < 0)
		return GNET_EINVAL;
	if (o->lb != GNET_LB_ROUND_ROBIN && o->lb != GNET_LB_LEAST_CONNECTIONS &&
	    o->lb != GNET_LB_SOURCE_HASH)
		return GNET_EINVAL;
	if (o->workers < 0 || o->workers > GNET__MAX_WORKERS ||
	    o->udp_max_datagram > 65535 || o->tcp_keepalive_intvl_s < 0 ||
	    o->tcp_keepalive_cnt < 0)
		return GNET_EINVAL;
	return 0;
}

int
gnet_engine_new(gnet_engine_t **out, const gnet_events_t *events,
    const gnet_options_t *opts, void *udata)
{
	gnet_engine_t *eng;
	int i, rc;

	if (out == NULL || events == NULL)
		return GNET_EINVAL;
	*out = NULL;
	eng = calloc(1, sizeof(*eng));
	if (eng == NULL)
		return GNET_ENOMEM;
	rc = gnet__struct_in(&eng->ev, sizeof(eng->ev),
	    GNET__SIZE_THROUGH(gnet_events_t, on_dial_error), events);
	if (rc == 0 && opts != NULL)
		rc = gnet__struct_in(&eng->opt, sizeof(eng->opt),
		    GNET__SIZE_THROUGH(gnet_options_t, codec), opts);
	else
		eng->opt.size = sizeof(eng->opt);
	eng->udata = udata;
	fill_defaults(&eng->opt);
	if (rc == 0)
		rc = check_options(&eng->opt);
	if (rc != 0) {
		free(eng);
		return rc;
	}
	eng->nloops = eng->opt.num_loops;
	atomic_init(&eng->state, GNET__ENG_NEW);
	atomic_init(&eng->stop_requested, 0);
	atomic_init(&eng->senders, 0);
	eng->loops = calloc((size_t)eng->nloops, sizeof(*eng->loops));
	eng->inboxes = calloc((size_t)eng->nloops, sizeof(*eng->inboxes));
	if (eng->loops == NULL || eng->inboxes == NULL) {
		gnet_engine_free(eng);
		return GNET_ENOMEM;
	}
	for (i = 0; i < eng->nloops; i++) {
		rc = gnet__loop_new(eng, i, &eng->loops[i]);
		if (rc != 0) {
			gnet_engine_free(eng);
			return rc;
		}
		eng->inboxes[i] = &eng->loops[i]->inbox;
	}
	*out = eng;
	return 0;
}

static void
drop_cb(void *ctx, const gnet_msg_t *m)
{
	gnet__msg_dropped(ctx, NULL, m);
}

/* After every loop has exited: drop what is still in flight. */
static void
drain_leftovers(gnet_engine_t *eng)
{
	uint64_t was_full;
	bool more;
	int i;

	/* Wait out foreign senders that got past the state check. */
	while (atomic_load(&eng->senders) != 0)
		sched_yield();
	for (i = 0; i < eng->nloops; i++) {
		gnet__loop_t *l = eng->loops[i];
		if (l == NULL)
			continue;
		gnet__outbox_discard(&l->outbox, &l->pool, drop_cb, eng);
	}
	for (i = 0; i < eng->nloops; i++) {
		gnet__loop_t *l = eng->loops[i];
		gnet_msg_t m;
		if (l == NULL)
			continue;
		do {
			gnet__inbox_drain(&l->inbox, UINT32_MAX, drop_cb, eng,
			    &more, &was_full);
		} while (more);
		/* Timers are messages too (linger timers carry nothing). */
		while (gnet__timers_pop_due(&l->timers, UINT64_MAX, &m))
			gnet__msg_dropped(eng, NULL, &m);
	}
}

static void
pin(gnet__loop_t *l)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t set;

	if (l->eng->opt.no_pin || ncpu <= 0)
		return;
	l->cpu = l->index % (int)ncpu;
	CPU_ZERO(&set);
	CPU_SET(l->cpu, &set);
	/* Best effort: a restricted cpuset just leaves the thread unpinned. */
	if (pthread_setaffinity_np(l->thread, sizeof(set), &set) != 0)
		l->cpu = -1;
}

int
gnet_engine_run(gnet_engine_t *eng)
{
	int expected = GNET__ENG_NEW;
	int i, started = 0, rc = 0;

	if (eng == NULL)
		return GNET_EINVAL;
	if (atomic_load(&eng->state) != GNET__ENG_NEW)
		return GNET_ESTATE;
	if (eng->ev.on_boot != NULL &&
	    eng->ev.on_boot(eng, eng->udata) == GNET_SHUTDOWN)
		atomic_store(&eng->stop_requested, 1);
	rc = gnet__ticker_spawn(eng);
	if (rc == 0)
		rc = gnet__pool_start(eng);
	if (rc != 0) {
		gnet__pool_free(eng);
		return rc;
	}
	if (!atomic_compare_exchange_strong(&eng->state, &expected,
	    GNET__ENG_RUNNING))
		return GNET_ESTATE;
	for (i = 0; i < eng->nloops; i++) {
		gnet__loop_t *l = eng->loops[i];
		rc = pthread_create(&l->thread, NULL, gnet__loop_main, l);
		if (rc != 0) {
			rc = -rc;
			gnet_engine_stop(eng);
			break;
		}
		pin(l);
		started++;
	}
	for (i = 0; i < started; i++)
		pthread_join(eng->loops[i]->thread, NULL);
	atomic_store(&eng->state, GNET__ENG_STOPPED);
	/* Jobs still running finish; their replies find the engine stopped
	 * and are dropped. Queued jobs are cancelled. */
	gnet__pool_stop(eng);
	drain_leftovers(eng);
	gnet__listeners_close(eng, NULL);
	if (eng->ev.on_shutdown != NULL)
		eng->ev.on_shutdown(eng, eng->udata);
	return rc;
}

int
gnet_engine_stop(gnet_engine_t *eng)
{
	int i, expected = GNET__ENG_RUNNING;

	if (eng == NULL)
		return GNET_EINVAL;
	atomic_store_explicit(&eng->stop_requested, 1, memory_order_release);
	atomic_compare_exchange_strong(&eng->state, &expected, GNET__ENG_STOPPING);
	for (i = 0; i < eng->nloops; i++)
		gnet__waker_force(&eng->loops[i]->waker);
	return 0;
}

void
gnet_engine_free(gnet_engine_t *eng)
{
	int i;

	if (eng == NULL)
		return;
	gnet__listeners_close(eng, NULL);
	if (eng->loops != NULL) {
		/* An engine that never ran may still hold actors and sent
		 * messages. */
		if (atomic_load(&eng->state) == GNET__ENG_NEW) {
			atomic_store(&eng->state, GNET__ENG_STOPPED);
			for (i = 0; i < eng->nloops; i++)
				if (eng->loops[i] != NULL)
					gnet__stop_all_actors(eng->loops[i]);
			drain_leftovers(eng);
		}
		for (i = 0; i < eng->nloops; i++)
			gnet__loop_free(eng->loops[i]);
	}
	gnet__pool_free(eng);
	free(eng->loops);
	free(eng->inboxes);
	free(eng);
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

int
gnet_engine_num_loops(const gnet_engine_t *eng)
{
	return eng != NULL ? eng->nloops : GNET_EINVAL;
}

int
gnet_engine_is_running(const gnet_engine_t *eng)
{
	return eng != NULL && atomic_load(&((gnet_engine_t *)eng)->state) == GNET__ENG_RUNNING;
}

int
gnet_engine_conn_count(const gnet_engine_t *eng)
{
	uint64_t n = 0;
	int i;

	if (eng == NULL)
		return GNET_EINVAL;
	for (i = 0; i < eng->nloops; i++)
		n += GNET__STAT_GET(eng->loops[i], conns);
	return (int)n;
}

int
gnet_engine_loop_stats(const gnet_engine_t *eng, int index, gnet_loop_stats_t *out)
{
	gnet__loop_t *l;
	gnet_loop_stats_t st = { .size = sizeof(st) };

	if (eng == NULL || out == NULL || index < 0 || index >= eng->nloops)
		return GNET_EINVAL;
	l = eng->loops[index];
	st.iterations = GNET__STAT_GET(l, iterations);
	st.msgs_in = GNET__STAT_GET(l, msgs_in);
	st.msgs_out = GNET__STAT_GET(l, msgs_out);
	st.msgs_dropped = GNET__STAT_GET(l, msgs_dropped);
	st.mailbox_hwm = GNET__STAT_GET(l, mailbox_hwm);
	st.overflowed = GNET__STAT_GET(l, overflowed);
	st.wakeups = GNET__STAT_GET(l, wakeups);
	st.conns = GNET__STAT_GET(l, conns);
	st.actors = GNET__STAT_GET(l, actors);
	st.accepted = GNET__STAT_GET(l, accepted);
	st.udp_in = GNET__STAT_GET(l, udp_in);
	st.udp_out = GNET__STAT_GET(l, udp_out);
	st.udp_dropped = GNET__STAT_GET(l, udp_dropped);
	st.syscalls_io = GNET__STAT_GET(l, syscalls_io);
	return gnet__struct_out(out,
	    GNET__SIZE_THROUGH(gnet_loop_stats_t, syscalls_io), &st, sizeof(st));
}
