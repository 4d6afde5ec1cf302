/*
 * The engine's buffer budget (options.max_buffered): the bytes that all
 * connections' buffers hold, inbound and outbound (a codec's partial
 * frame is inbound bytes), across every loop. Each limit of a single
 * connection can be within bounds while their sum is not: twenty
 * connections each a byte short of a 16 MiB frame hold 320 MiB.
 *
 * Each loop counts the blocks its buffers hold (base/buf.h, held) and
 * publishes the count in its net stats row ("buffered"). A loop checks
 * the sum when its own count has grown by a step since its last check,
 * and once a stats interval whatever happened. Over the budget, a loop
 * holding more than its share (max_buffered / loops) aborts its largest
 * connections, GNET_EBUDGET, until it is within its share: the loops that
 * hold the most give up the connections that hold the most, and no loop
 * closes anything of a neighbour's. A loop within its share closes
 * nothing; the loops over theirs act at their next growth or interval,
 * so the sum can stand above the budget for at most one stats interval.
 */
#include "net/conn.h"

/* Checks come at most this often, in steps of the loop's share. */
#define BUDGET_STEPS_PER_SHARE 8

static size_t
share_of(const gnet__net_loop_t *nl)
{
	return nl->net->opt->max_buffered / (size_t)nl->loop->eng->nloops;
}

/* Where the next check falls: a step above what the loop holds now. */
static void
next_check(gnet__net_loop_t *nl)
{
	size_t step = share_of(nl) / BUDGET_STEPS_PER_SHARE;

	nl->blocks->check_at = nl->blocks->held + (step != 0 ? step : 1);
}

static size_t
engine_buffered(const gnet__net_loop_t *self)
{
	gnet_engine_t *eng = self->loop->eng;
	size_t total = 0;
	int i;

	for (i = 0; i < eng->nloops; i++) {
		gnet__net_loop_t *nl = gnet__net_loop(eng->loops[i]);
		total += nl == self ? self->blocks->held :
		    (size_t)GNET__STAT_GET(nl, buffered);
	}
	return total;
}

static size_t
conn_held(const gnet_conn_t *c)
{
	return c->in.cap + c->out.cap;
}

/* This loop's open connection holding the most, or NULL. Aborted ones
 * still hold their blocks until their flush: they are skipped. */
static gnet_conn_t *
largest_conn(gnet__loop_t *l)
{
	gnet_conn_t *best = NULL;
	uint32_t i;

	for (i = 0; i < l->nslots; i++) {
		gnet_conn_t *c = gnet__conn_live(l, gnet__handle_make(
		    (unsigned)l->index, i, l->slots[i].gen));
		if (c == NULL || c->state == GNET__CS_ABORTING ||
		    (c->flags & GNET__C_UDP))
			continue;
		if (best == NULL || conn_held(c) > conn_held(best))
			best = c;
	}
	return best;
}

void
gnet__budget_check(gnet__loop_t *l, void *arg)
{
	gnet__net_loop_t *nl = arg;
	size_t held = nl->blocks->held, share = share_of(nl);
	size_t budget = nl->net->opt->max_buffered;

	gnet__loop_not_due(l, nl->budget_bit);
	GNET__STAT_SET(nl, buffered, held);
	if (budget == SIZE_MAX || held <= share ||
	    engine_buffered(nl) <= budget) {
		next_check(nl);
		return;
	}
	/* Blocks are freed at the victims' flush: count them off here. */
	while (held > share) {
		gnet_conn_t *c = largest_conn(l);
		if (c == NULL || conn_held(c) == 0)
			break;
		held -= conn_held(c) < held ? conn_held(c) : held;
		gnet__conn_abort(c, GNET_EBUDGET);
		GNET__STAT_ADD(nl, budget_closes, 1);
	}
	next_check(nl);
}

/* base/buf.c's call when the loop's held blocks pass check_at. */
static void
budget_grown(void *arg)
{
	gnet__net_loop_t *nl = arg;

	nl->blocks->check_at = SIZE_MAX;  /* once until the check */
	gnet__loop_due(nl->loop, nl->budget_bit);
}

void
gnet__budget_init(gnet__net_loop_t *nl)
{
	nl->blocks->grown = budget_grown;
	nl->blocks->grown_arg = nl;
	next_check(nl);
}
