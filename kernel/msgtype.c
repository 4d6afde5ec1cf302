/*
 * Library message types and the path of an undeliverable message
 * (kernel/msgtype.h).
 */
#include "kernel/kernel.h"

/* The kernel's own range, [1, GNET__MSG_KERNEL_END); what is unnamed
 * is held free for the kernel's later types. */
static const gnet__msgtype_t kernel_types[GNET__MSG_KERNEL_END - 1] = {
	[GNET__MSG_STOP - 1] = { .name = "stop" },
	/* Undelivered only when the engine stops first, which ends what
	 * the call was for (a group's members) by itself. */
	[GNET__MSG_LOOP_CALL - 1] = { .name = "loop call" },
	[GNET__MSG_RECEIVING - 1] = { .name = "receiving" },
};

int
gnet__msgtypes_claim(gnet_engine_t *eng, uint32_t first, uint32_t n,
    const gnet__msgtype_t *defs)
{
	int i;

	if (first == 0 || n == 0 || first + n > GNET_MSG_USER || defs == NULL)
		return GNET_EINVAL;
	for (i = 0; i < eng->nmsgtypes; i++) {
		const gnet__msgtype_range_t *r = &eng->msgtypes[i];
		if (first < r->first + r->n && r->first < first + n)
			return GNET_EINVAL;
	}
	if (eng->nmsgtypes == GNET__MSGTYPE_RANGES)
		return GNET_ELIMIT;
	eng->msgtypes[eng->nmsgtypes].first = first;
	eng->msgtypes[eng->nmsgtypes].n = n;
	eng->msgtypes[eng->nmsgtypes].defs = defs;
	eng->nmsgtypes++;
	return 0;
}

int
gnet__msgtypes_claim_kernel(gnet_engine_t *eng)
{
	return gnet__msgtypes_claim(eng, 1, GNET__MSG_KERNEL_END - 1,
	    kernel_types);
}

const gnet__msgtype_t *
gnet__msgtype(const gnet_engine_t *eng, uint32_t t)
{
	int i;

	for (i = 0; i < eng->nmsgtypes; i++) {
		const gnet__msgtype_range_t *r = &eng->msgtypes[i];
		if (t >= r->first && t - r->first < r->n)
			return &r->defs[t - r->first];
	}
	return NULL;
}

void
gnet__msg_dropped(gnet_engine_t *eng, gnet__loop_t *l, const gnet_msg_t *m)
{
	const gnet__msgtype_t *t = NULL;

	if (m->type < GNET_MSG_USER)
		t = gnet__msgtype(eng, m->type);
	if (l != NULL && (t == NULL || !t->timer))
		GNET__STAT_ADD(l, msgs_dropped, 1);
	if (t != NULL) {
		if (t->drop != NULL)
			t->drop(eng, l, m);
	} else if (m->type >= GNET_MSG_USER && eng->ev.on_dropped != NULL) {
		eng->ev.on_dropped(eng, m, eng->udata);
	}
}
