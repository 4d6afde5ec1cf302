/*
 * The program's own actors: one more kind of actor (gnet_actor_spawn),
 * and the public functions every actor uses.
 *
 * A program actor receives only the program's messages (>= GNET_MSG_USER)
 * and the kernel's STOP; it ends after the message that stopped it, and
 * its mailbox's rest is dropped through on_dropped.
 */
#include <stdlib.h>
#include "kernel/group.h"
#include "kernel/kernel.h"

struct gnet_actor {
	gnet_actor_def_t def;
	gnet_handle_t handle;
	gnet__loop_t *loop;
	bool stopping;
};

static void
actor_end(gnet__loop_t *l, void *obj)
{
	gnet_actor_t *a = obj;
	gnet_group_t *g = a->def.group;

	if (a->def.on_stop != NULL)
		a->def.on_stop(a);
	gnet__slot_free(l, gnet__handle_slot(a->handle));
	GNET__STAT_ADD(l, actors, (uint64_t)-1);
	free(a);
	gnet__group_leave(g);
}

static void
actor_group_close(gnet__loop_t *l, void *obj, gnet_group_t *g)
{
	gnet_actor_t *a = obj;

	if (a->def.group == g)
		actor_end(l, a);
}

static void
actor_receive(gnet__loop_t *l, void *obj, const gnet_msg_t *m)
{
	gnet_actor_t *a = obj;

	if (m->type == GNET__MSG_STOP)
		a->stopping = true;
	else if (m->type >= GNET_MSG_USER)
		a->def.receive(a, m);
	if (a->stopping)
		actor_end(l, a);
}

static void
actor_describe(gnet__loop_t *l, void *obj, gnet__actor_desc_t *d)
{
	gnet_actor_t *a = obj;

	d->name = a->def.name;
}

static const gnet__kind_t actor_kind = {
	.name = "actor",
	.receive = actor_receive,
	.stop = actor_end,
	.group_close = actor_group_close,
	.describe = actor_describe,
};

int
gnet_actor_spawn(gnet_engine_t *eng, int loop_index,
    const gnet_actor_def_t *def,
    gnet_handle_t *out)
{
	gnet__loop_t *self, *l;
	gnet_actor_def_t d;
	gnet_actor_t *a;
	int rc, state;

	if (eng == NULL || def == NULL || out == NULL)
		return GNET_EINVAL;
	rc = gnet__struct_in(&d, sizeof(d),
	    GNET__SIZE_THROUGH(gnet_actor_def_t, state), def);
	if (rc != 0)
		return rc;
	if (d.receive == NULL || (d.group != NULL && d.group->eng != eng))
		return GNET_EINVAL;
	if (gnet__group_closing(d.group))
		return GNET_ESHUTDOWN;
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
	rc = gnet__slot_alloc(l, &actor_kind, a, &a->handle);
	if (rc != 0) {
		free(a);
		return rc;
	}
	GNET__STAT_ADD(l, actors, 1);
	gnet__group_join(d.group);
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

void
gnet_actor_set_receiving(gnet_actor_t *self, int on)
{
	gnet__loop_t *l = self->loop;

	gnet__slot_set_receiving(l, &l->slots[gnet__handle_slot(self->handle)],
	    on != 0);
}

int
gnet_actor_set_receiving_async(gnet_engine_t *eng, gnet_handle_t actor, int on)
{
	gnet_msg_t m = { .to = actor, .type = GNET__MSG_RECEIVING,
	    .a = on != 0 };

	if (eng == NULL)
		return GNET_EINVAL;
	return gnet__send(eng, &m);
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
