/*
 * A loop's actor table. Slots are indexed by the handle's slot field; a
 * free list recycles them and each free bumps the generation, so a handle
 * to an ended actor never reaches the slot's next occupant.
 */
#include <stdlib.h>
#include <string.h>
#include "kernel/kernel.h"

/* First table size; it doubles from there up to GNET__MAX_SLOTS. */
#define TABLE_INITIAL_SLOTS 64

int
gnet__slot_alloc(gnet__loop_t *l, const gnet__kind_t *kind, void *obj,
    gnet_handle_t *out)
{
	uint32_t i;
	gnet__slot_t *s;

	if (l->free_head != GNET__NO_SLOT) {
		i = l->free_head;
		l->free_head = l->slots[i].next;
	} else {
		if (l->nslots == l->cap_slots) {
			uint32_t ncap = l->cap_slots ? l->cap_slots * 2 :
			    TABLE_INITIAL_SLOTS;
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
	s->muted = 0;
	s->busy = 0;
	s->handled = 0;
	s->mbox_hwm = 0;
	s->next = GNET__NO_SLOT;
	s->io_fd = -1;
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

	s->kind = NULL;
	s->obj = NULL;
	s->io_fd = -1;
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

void
gnet__slots_stop_all(gnet__loop_t *l)
{
	uint32_t i;

	/* A stop may allocate or free other slots; the table is indexed
	 * afresh each time. */
	for (i = 0; i < l->nslots; i++) {
		gnet__slot_t *s = &l->slots[i];
		if (s->kind != NULL && s->kind->stop != NULL)
			s->kind->stop(l, s->obj);
	}
}
