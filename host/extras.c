/*
 * What a module registers beside listeners and configs: codecs made for
 * it, ticks, stats sections. All of it is the module's, kept on one list
 * and freed at unload once no loop can use it.
 *
 * A tick is an actor of the module's group on its loop that calls the
 * module's function and sets a timer to itself for the next period.
 *
 * A stats section is the engine's counter table of that name
 * (gnet_counters_new), so it is published in the stats segment beside
 * the engine's own and gnet-top shows it: one row per loop, each on cache
 * lines of its own; a loop adds to its row with relaxed stores
 * (GNETMODULE_STAT_ADD), sharing nothing with the other loops, and
 * readers sum the rows with relaxed loads, seeing each counter whole, if
 * a moment old.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "host/host.h"

#define TICK_MSG (GNET_MSG_USER + 1)
#define STATS_MAX_COUNTERS 256

enum owned_kind { OWNED_CODEC, OWNED_TICK, OWNED_STATS };

typedef struct tick {
	void (*fn)(int loop, void *udata);
	void *udata;
	uint64_t period_ms;
	gnet_engine_t *eng;
	char name[HOST_NAME_CAP + 8]; /* "MODULE.tick", for gnet-top */
} tick_t;

struct GnetModuleStats {
	char *section;
	char **names;
	int n;
	int nloops;
	gnet_counters_t *counters;
};

struct host_owned {
	enum owned_kind kind;
	union {
		gnet_codec_t *codec;
		tick_t *tick;
		GnetModuleStats *stats;
	} u;
	struct host_owned *next;
};

static int
own(gnet_module_t *m, enum owned_kind kind, void *p)
{
	host_owned_t *o = calloc(1, sizeof(*o));

	if (o == NULL)
		return GNET_ENOMEM;
	o->kind = kind;
	if (kind == OWNED_CODEC)
		o->u.codec = p;
	else if (kind == OWNED_TICK)
		o->u.tick = p;
	else
		o->u.stats = p;
	o->next = m->owned;
	m->owned = o;
	return 0;
}

int
owned_codec(gnet_module_t *m, gnet_codec_t *codec)
{
	return own(m, OWNED_CODEC, codec);
}

/* ---- ticks ---- */

static void
tick_receive(gnet_actor_t *self, const gnet_msg_t *msg)
{
	tick_t *t = gnet_actor_state(self);
	gnet_msg_t next = { .type = TICK_MSG };

	if (msg->type != TICK_MSG)
		return;
	t->fn(gnet_loop_current(), t->udata);
	(void)gnet_actor_send_after(t->eng, gnet_actor_handle(self), &next,
	    t->period_ms);
}

static int
tick_on(gnet_module_t *m, int loop, tick_t *proto)
{
	gnet_actor_def_t d = { .size = sizeof(d), .receive = tick_receive,
	    .group = m->group };
	gnet_msg_t first = { .type = TICK_MSG };
	gnet_handle_t h;
	tick_t *t = malloc(sizeof(*t));
	int rc;

	if (t == NULL)
		return GNET_ENOMEM;
	*t = *proto;
	snprintf(t->name, sizeof(t->name), "%s.tick", m->name);
	d.name = t->name;
	rc = own(m, OWNED_TICK, t);
	if (rc != 0) {
		free(t);
		return rc;
	}
	d.state = t;
	rc = gnet_actor_spawn(m->host->eng, loop, &d, &h);
	/* The first tick as the loop starts: queued now, delivered on its
	 * first turn. */
	if (rc == 0)
		rc = gnet_actor_send(m->host->eng, h, &first);
	return rc;
}

int
tick_start(gnet_module_t *m, int loop, uint64_t period_ms,
    void (*fn)(int, void *), void *udata)
{
	tick_t proto = { .fn = fn, .udata = udata, .period_ms = period_ms,
	    .eng = m->host->eng };
	int nloops = gnet_engine_num_loops(m->host->eng), i, rc = 0;

	if (fn == NULL || period_ms == 0 || loop < -1 || loop >= nloops) {
		module_fail(m, "GnetModule_Tick: needs a function, a period and "
		    "a loop from -1 to %d", nloops - 1);
		return GNETMODULE_EINVAL;
	}
	if (m->host->dry_run)
		return 0;
	for (i = loop < 0 ? 0 : loop; i < (loop < 0 ? nloops : loop + 1) &&
	    rc == 0; i++)
		rc = tick_on(m, i, &proto);
	if (rc != 0)
		module_fail(m, "GnetModule_Tick: %s", gnet_strerror(rc));
	return rc;
}

/* ---- stats ---- */

static void
stats_free(GnetModuleStats *s)
{
	int i;

	if (s == NULL)
		return;
	for (i = 0; s->names != NULL && i < s->n; i++)
		free(s->names[i]);
	free(s->names);
	free(s->section);
	gnet_counters_free(s->counters);
	free(s);
}

int
stats_register(gnet_module_t *m, const char *section,
    const char *const *names, int n, GnetModuleStats **out)
{
	GnetModuleStats *s;
	int i, rc;

	if (section == NULL || names == NULL || out == NULL || n <= 0 ||
	    n > STATS_MAX_COUNTERS) {
		module_fail(m, "GnetModule_RegisterStats: needs a section and "
		    "1 to %d counter names", STATS_MAX_COUNTERS);
		return GNETMODULE_EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return GNET_ENOMEM;
	s->nloops = gnet_engine_num_loops(m->host->eng);
	s->section = strdup(section);
	s->names = calloc((size_t)n, sizeof(*s->names));
	if (s->section == NULL || s->names == NULL) {
		stats_free(s);
		return GNET_ENOMEM;
	}
	rc = gnet_counters_new(m->host->eng, section, names, n, &s->counters);
	if (rc != 0) {
		stats_free(s);
		if (rc == GNET_EINVAL)
			module_fail(m, "GnetModule_RegisterStats: a section name "
			    "and counter names of 1 to 31 bytes");
		return rc;
	}
	for (i = 0; i < n; i++) {
		s->names[i] = strdup(names[i] != NULL ? names[i] : "");
		if (s->names[i] == NULL) {
			s->n = i;
			stats_free(s);
			return GNET_ENOMEM;
		}
	}
	s->n = n;
	if (own(m, OWNED_STATS, s) != 0) {
		stats_free(s);
		return GNET_ENOMEM;
	}
	*out = s;
	return 0;
}

uint64_t *
stats_row(GnetModuleStats *s, int loop)
{
	if (s == NULL)
		return NULL;
	return gnet_counters_row(s->counters, loop);
}

int
stats_sum(const gnet_module_t *m, const char *section, const char *name,
    uint64_t *value)
{
	const host_owned_t *o;
	int i, loop;

	for (o = m->owned; o != NULL; o = o->next) {
		const GnetModuleStats *s = o->u.stats;
		if (o->kind != OWNED_STATS || strcmp(s->section, section) != 0)
			continue;
		for (i = 0; i < s->n; i++) {
			uint64_t sum = 0;
			if (strcmp(s->names[i], name) != 0)
				continue;
			for (loop = 0; loop < s->nloops; loop++)
				sum += __atomic_load_n(&gnet_counters_row(
				    s->counters, loop)[i], __ATOMIC_RELAXED);
			*value = sum;
			return 0;
		}
	}
	return GNET_ENOENT;
}

void
owned_free(gnet_module_t *m)
{
	while (m->owned != NULL) {
		host_owned_t *o = m->owned;
		m->owned = o->next;
		if (o->kind == OWNED_CODEC)
			gnet_codec_free(o->u.codec);
		else if (o->kind == OWNED_TICK)
			free(o->u.tick);
		else
			stats_free(o->u.stats);
		free(o);
	}
}
