/*
 * The actor table of a loop and its scheduler.
 *
 * Slots are indexed by the handle's slot field; a free list recycles them
 * and each free bumps the generation. A message that reaches a loop is
 * appended to its actor's mailbox (a FIFO of pooled nodes) and the actor
 * joins the run queue once; gnet__run_actors then gives each queued actor up
 * to GNET__ACTOR_BUDGET messages per turn.
 */
#include <stdlib.h>
#include <string.h>
#include "kernel/kernel.h"
#include "net/conn.h"

int
gnet__slot_alloc(gnet__loop_t *l, uint8_t kind, void *obj, gnet_handle_t *out)
{
	uint32_t i;
	gnet__slot_t *s;

	if (l->free_head != GNET__NO_SLOT) {
		i = l->free_head;
		l->free_head = l->slots[i].next;
	} else {
		if (l->nslots == l->cap_slots) {
			uint32_t ncap = l->cap_slots ? l->cap_slots * 2 : 64;
			gnet__slot_t *ns;
			if (ncap > GNET__MAX_SLOTS)
				ncap = GNET__MAX_SLOTS;
			if (ncap == l->cap_slots)
				return GNET_ELIMIT;
			ns = realloc(l->slots, ncap * sizeof(*ns));
			if (ns == NULL)
				return GNET_ENOMEM;
			l->slots = ns;
			l->cap_slots = ncap;
		}
		i = l->nslots++;
		memset(&l->slots[i], 0, sizeof(l->slots[i]));
		l->slots[i].gen = 1;
	}
	s = &l->slots[i];
	s->kind = kind;
	s->obj = obj;
	s->next = GNET__NO_SLOT;
	s->read_fd = -1;
	*out = gnet__handle_make((unsigned)l->index, i, s->gen);
	return 0;
}

/* Frees the slot and drops whatever is still in its mailbox. The slot may
 * still sit on the run queue; it is skipped there (queued belongs to the
 * slot, not the occupant). */
void
gnet__slot_free(gnet__loop_t *l, uint32_t i)
{
	gnet__slot_t *s = &l->slots[i];
	gnet__node_t *n;

	s->kind = GNET__SLOT_FREE;
	s->obj = NULL;
	s->read_fd = -1;
	/* Generation 0 is never used, so handle 0 is never valid. */
	if (++s->gen == 0)
		s->gen = 1;
	while ((n = gnet__fifo_pop(&s->mbox)) != NULL) {
		gnet_msg_t m = n->msg;
		gnet__msgpool_put(&l->pool, n);
		gnet__msg_dropped(l->eng, l, &m);
	}
	/* A queued slot's `next` is its run-queue link: leave it intact (the
	 * actors behind it must still run) and let gnet__run_actors return
	 * the slot to the free list when it reaches it. */
	if (!s->queued) {
		s->next = l->free_head;
		l->free_head = i;
	}
}

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
	gnet__slot_t *s = gnet__slot_lookup(l, m->to);
	gnet__node_t *n;

	if (s == NULL) {
		gnet__msg_dropped(l->eng, l, m);
		return;
	}
	if (s->kind == GNET__SLOT_LOOP) {
		/* Kernel messages to the loop itself need no mailbox. */
		if (m->type == GNET__MSG_ADOPT)
			gnet__conn_adopt(l, (int)m->a, (int)m->b, NULL, 0);
		else if (m->type == GNET__MSG_LISTEN_RETRY)
			gnet__listener_resume(l, (int)m->a, (int)m->b);
		else if (m->type == GNET__MSG_DIAL)
			gnet__dial_receive(l, (void *)(uintptr_t)m->a);
		return;
	}
	n = gnet__msgpool_get(&l->pool);
	if (n == NULL) {
		gnet__log(0, "loop %d: out of memory queueing a message", l->index);
		gnet__msg_dropped(l->eng, l, m);
		return;
	}
	n->msg = *m;
	gnet__fifo_push(&s->mbox, n);
	GNET__STAT_ADD(l, msgs_in, 1);
	if (s->mbox.len > GNET__STAT_GET(l, mailbox_hwm))
		GNET__STAT_SET(l, mailbox_hwm, s->mbox.len);
	if (!s->queued)
		runq_push(l, (uint32_t)(s - l->slots));
}

static void
actor_finish(gnet__loop_t *l, gnet_actor_t *a)
{
	uint32_t i = gnet__handle_slot(a->handle);

	if (a->def.on_stop != NULL)
		a->def.on_stop(a);
	gnet__slot_free(l, i);
	GNET__STAT_ADD(l, actors, (uint64_t)-1);
	free(a);
}

static void
actor_receive(gnet__loop_t *l, gnet_actor_t *a, const gnet_msg_t *m)
{
	if (m->type == GNET__MSG_STOP)
		a->stopping = true;
	else if ((m->type >= GNET_MSG_USER || m->type == GNET__MSG_TICK) &&
	    a->def.receive != NULL)
		a->def.receive(a, m);
	if (a->stopping)
		actor_finish(l, a);
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
		if (s->kind == GNET__SLOT_FREE) {
			/* Freed while queued: now it can be reused. */
			s->next = l->free_head;
			l->free_head = i;
		} else {
			for (n = 0; n < GNET__ACTOR_BUDGET; n++) {
				gnet__node_t *node;
				gnet_msg_t m;

				/* The slot array may move (spawn) and the actor
				 * may stop: re-read it every message. */
				s = &l->slots[i];
				if (s->gen != gen || s->kind == GNET__SLOT_FREE)
					break;
				node = gnet__fifo_pop(&s->mbox);
				if (node == NULL)
					break;
				m = node->msg;
				gnet__msgpool_put(&l->pool, node);
				if (s->kind == GNET__SLOT_CONN)
					gnet__conn_receive(s->obj, &m);
				else
					actor_receive(l, s->obj, &m);
			}
			s = &l->slots[i];
			if (s->gen == gen && s->kind != GNET__SLOT_FREE &&
			    s->mbox.len != 0 && !s->queued)
				runq_push(l, i);
		}
		if (was_last)
			break;
	}
}

void
gnet__stop_all_actors(gnet__loop_t *l)
{
	uint32_t i;

	for (i = 0; i < l->nslots; i++)
		if (l->slots[i].kind == GNET__SLOT_ACTOR)
			actor_finish(l, l->slots[i].obj);
}

/* ---- public actor API ---- */

int
gnet_actor_spawn(gnet_engine_t *eng, int loop_index, const gnet_actor_def_t *def,
    gnet_handle_t *out)
{
	gnet__loop_t *self, *l;
	gnet_actor_t *a;
	int rc, state;

	gnet_actor_def_t d;

	if (eng == NULL || def == NULL || out == NULL)
		return GNET_EINVAL;
	rc = gnet__struct_in(&d, sizeof(d),
	    GNET__SIZE_THROUGH(gnet_actor_def_t, state), def);
	if (rc != 0)
		return rc;
	if (d.receive == NULL)
		return GNET_EINVAL;
	self = gnet__self_loop(eng);
	if (loop_index < 0) {
		if (self == NULL)
			return GNET_EINVAL;
		loop_index = self->index;
	}
	if (loop_index >= eng->nloops)
		return GNET_EINVAL;
	l = eng->loops[loop_index];
	state = atomic_load(&eng->state);
	/* Before run (setup) nobody else touches the table; afterwards only
	 * its own loop may. */
	if (state != GNET__ENG_NEW && self != l)
		return state == GNET__ENG_STOPPED ? GNET_ESHUTDOWN : GNET_ETHREAD;
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return GNET_ENOMEM;
	a->def = d;
	a->loop = l;
	rc = gnet__slot_alloc(l, GNET__SLOT_ACTOR, a, &a->handle);
	if (rc != 0) {
		free(a);
		return rc;
	}
	GNET__STAT_ADD(l, actors, 1);
	*out = a->handle;
	return 0;
}

void *
gnet_actor_state(const gnet_actor_t *self)
{
	return self->def.state;
}

gnet_handle_t
gnet_actor_handle(const gnet_actor_t *self)
{
	return self->handle;
}

gnet_engine_t *
gnet_actor_engine(const gnet_actor_t *self)
{
	return self->loop->eng;
}

void
gnet_actor_stop(gnet_actor_t *self)
{
	self->stopping = true;
}

int
gnet_actor_stop_async(gnet_engine_t *eng, gnet_handle_t actor)
{
	gnet_msg_t m = { .to = actor, .type = GNET__MSG_STOP };

	if (eng == NULL)
		return GNET_EINVAL;
	return gnet__send(eng, &m);
}

int
gnet_loop_current(void)
{
	return gnet__tls_loop != NULL ? gnet__tls_loop->index : -1;
}
