/*
 * A loop's sweep: republish its actor rows in the stats segment.
 *
 * Actor state changes on every message and event; writing it to the
 * segment each time would put stores to a shared line on every path.
 * Instead the slots keep their accounting privately and the owner loop
 * copies it out, each row under its sequence lock, once a stats interval
 * (the loop wakes at least that often: kernel/loop.c) -- and only while
 * a reader has looked lately (watched_ns), so an engine nobody inspects
 * touches no row: no sweep time, no tmpfs pages. A row therefore shows
 * an actor as it was up to one interval ago; the loop rows, written as
 * things happen, are live.
 *
 * Row i is slot i, so a row remembers its occupant between sweeps: a new
 * handle starts a new row (its age counts from then, its peer is
 * formatted once), and a row whose count of handled messages moved was
 * active in the last interval.
 */
#include <string.h>
#include "gnetstats.h"
#include "kernel/kernel.h"

static void
clear_row(gnet__seg_actor_t *row)
{
	ck_sequence_write_begin(&row->seq);
	row->handle = 0;
	ck_sequence_write_end(&row->seq);
}

static void
publish(gnet__loop_t *l, uint32_t i, gnet__seg_actor_t *row, uint64_t now_ns)
{
	gnet__slot_t *s = &l->slots[i];
	gnet_handle_t h = gnet__handle_make((unsigned)l->index, i, s->gen);
	gnet__actor_desc_t d;
	bool fresh = row->handle != h;
	uint32_t moved;

	memset(&d, 0, sizeof(d));
	if (fresh) {
		d.peer = row->peer;
		d.peer_cap = sizeof(row->peer);
	}
	ck_sequence_write_begin(&row->seq);
	if (fresh) {
		row->peer[0] = '\0';
		row->handle = h;
		row->handled = 0;
		row->handled_seen = 0;
		row->born_ns = now_ns;
		row->active_ns = now_ns;
	}
	if (s->kind->describe != NULL)
		s->kind->describe(l, s->obj, &d);
	if (fresh || d.name != NULL)
		strncpy(row->kind, d.name != NULL ? d.name : s->kind->name,
		    sizeof(row->kind) - 1);
	moved = s->handled - row->handled_seen;
	if (moved != 0)
		row->active_ns = now_ns;
	row->handled += moved;
	row->handled_seen = s->handled;
	row->mailbox = s->mbox.len;
	row->mailbox_hwm = s->mbox_hwm;
	row->busy_cycles = s->busy;
	row->in_bytes = d.in_bytes;
	row->out_bytes = d.out_bytes;
	row->flags = d.flags | (s->muted ? GNET_STATS_A_MUTED : 0);
	row->published_ns = now_ns;
	ck_sequence_write_end(&row->seq);
}

/* Has a reader looked at the rows lately? */
static bool
watched(const gnet__seg_t *seg, uint64_t now_ns)
{
	uint64_t seen = atomic_load_explicit(
	    &((gnet__seg_header_t *)seg->hdr)->watched_ns, memory_order_relaxed);
	uint64_t window = (uint64_t)GNET__SEG_WATCH_MS;

	if (window < 3ull * seg->hdr->interval_ms)
		window = 3ull * seg->hdr->interval_ms;
	return seen != 0 && now_ns - seen < window * GNET__NS_PER_MS;
}

void
gnet__stats_sweep(gnet__loop_t *l, uint64_t now)
{
	gnet__seg_t *seg = &l->eng->seg;
	uint32_t cap = seg->hdr->actor_rows, n = l->nslots, i, listed = 0;
	uint64_t now_ns = gnet__now_ns(), unlisted = 0;
	int k;

	if (!watched(seg, now_ns))
		n = 0;
	for (i = 0; i < n; i++) {
		gnet__seg_actor_t *row = i < cap ? &l->actor_rows[i] : NULL;

		if (l->slots[i].kind == NULL) {
			if (row != NULL && row->handle != 0)
				clear_row(row);
		} else if (row == NULL) {
			unlisted++;
		} else {
			publish(l, i, row, now_ns);
			listed++;
		}
	}
	for (k = 0; k < l->eng->nexts; k++)
		if (l->eng->exts[k]->stats_publish != NULL)
			l->eng->exts[k]->stats_publish(l);
	GNET__STAT_SET(l, parked, gnet__loop_backlog(l));
	if (n != 0) {
		GNET__STAT_SET(l, actor_rows, listed);
		GNET__STAT_SET(l, actor_rows_unlisted, unlisted);
		GNET__STAT_SET(l, actor_extent, n < cap ? n : cap);
		GNET__STAT_ADD(l, sweeps, 1);
	}
	/* Due again a little before a whole interval: the loop's wake-up
	 * once an interval comes a hair early as often as late, and must
	 * not wait for the next one. */
	l->next_sweep = now + seg->interval_cycles / 8 * 7;
}
