/*
 * The scheduler of a loop: mailboxes and the run queue.
 *
 * A message that reaches a loop is appended to its actor's mailbox (a
 * FIFO of pooled nodes) and the actor joins the run queue once;
 * gnet__run_actors then gives each queued actor up to GNET__ACTOR_BUDGET
 * messages per turn, handing each to the actor's kind.
 */
#include "kernel/kernel.h"

static void
runq_push(gnet__loop_t *l, uint32_t i)
{
	l->slots[i].queued = 1;
	l->slots[i].next = GNET__NO_SLOT;
	if (l->runq_tail == GNET__NO_SLOT)
		l->runq_head = i;
	else
		l->slots[l->runq_tail].next = i;
	l->runq_tail = i;
}

void
gnet__deliver_local(gnet__loop_t *l, const gnet_msg_t *m)
{
	gnet__slot_t *s;
	gnet__node_t *n;

	if (m->type == GNET__MSG_LOOP_CALL) {
		((gnet__hook_fn)(uintptr_t)m->a)(l, (void *)(uintptr_t)m->b);
		return;
	}
	s = gnet__slot_lookup(l, m->to);
	if (s == NULL) {
		gnet__msg_dropped(l->eng, l, m);
		return;
	}
	if (m->type == GNET__MSG_RECEIVING) {
		gnet__slot_set_receiving(l, s, m->a != 0);
		return;
	}
	/* A stop is handled in its turn even by a muted actor: muting must
	 * not make an actor unstoppable. */
	if (m->type == GNET__MSG_STOP && s->muted)
		s->muted = 0;
	n = gnet__msgpool_get(&l->pool);
	if (n == NULL) {
		gnet__log(0, "loop %d: out of memory queueing a message", l->index);
		gnet__msg_dropped(l->eng, l, m);
		return;
	}
	n->msg = *m;
	gnet__fifo_push(&s->mbox, n);
	GNET__STAT_ADD(l, msgs_in, 1);
	if (s->mbox.len > s->mbox_hwm) {
		s->mbox_hwm = s->mbox.len;
		if (s->mbox.len > GNET__STAT_GET(l, mailbox_hwm))
			GNET__STAT_SET(l, mailbox_hwm, s->mbox.len);
	}
	if (!s->queued && !s->muted)
		runq_push(l, (uint32_t)(s - l->slots));
}

void
gnet__slot_set_receiving(gnet__loop_t *l, gnet__slot_t *s, bool on)
{
	s->muted = !on;
	if (on && s->mbox.len != 0 && !s->queued)
		runq_push(l, (uint32_t)(s - l->slots));
}

/* Runs every actor that was queued when the call began; actors that get
 * new messages meanwhile run again on the next iteration, so the loop keeps
 * polling I/O between turns. */
void
gnet__run_actors(gnet__loop_t *l)
{
	uint32_t last = l->runq_tail;

	while (l->runq_head != GNET__NO_SLOT) {
		uint32_t i = l->runq_head;
		gnet__slot_t *s = &l->slots[i];
		uint32_t gen = s->gen;
		bool was_last = (i == last);
		unsigned n;

		l->runq_head = s->next;
		if (l->runq_head == GNET__NO_SLOT)
			l->runq_tail = GNET__NO_SLOT;
		s->queued = 0;
		if (s->kind == NULL) {
			/* Freed while queued: now it can be reused. */
			s->next = l->free_head;
			l->free_head = i;
		} else {
			uint64_t start = gnet__cycles();

			for (n = 0; n < GNET__ACTOR_BUDGET; n++) {
				gnet__node_t *node;
				gnet_msg_t m;

				/* The slot array may move (an actor spawned)
				 * and the actor may end or mute itself:
				 * re-read it every message. */
				s = &l->slots[i];
				if (s->gen != gen || s->kind == NULL || s->muted)
					break;
				node = gnet__fifo_pop(&s->mbox);
				if (node == NULL)
					break;
				m = node->msg;
				gnet__msgpool_put(&l->pool, node);
				s->kind->receive(l, s->obj, &m);
			}
			s = &l->slots[i];
			s->handled += n;
			s->busy += gnet__cycles() - start;
			if (s->gen == gen && s->kind != NULL &&
			    s->mbox.len != 0 && !s->queued && !s->muted)
				runq_push(l, i);
		}
		if (was_last)
			break;
	}
}
