/*
 * Named counter tables in the stats segment (gnet_counters_new): net/'s
 * per-loop counters and the modules' stats sections.
 *
 * A table is appended to the segment's sections area under the engine's
 * lock -- tables are made at setup or module load, never per message --
 * and published by advancing sections_used with release order after the
 * record is complete. A freed table is marked dead, not reclaimed: the
 * area is bounded, and a table that does not fit is kept in private
 * memory, counted the same, shown nowhere.
 */
#include <stdlib.h>
#include <string.h>
#include "kernel/kernel.h"

#define MAX_COUNTERS 256

struct gnet_counters {
	gnet__seg_section_t *rec; /* NULL: private */
	uint64_t *rows;
	size_t stride;            /* counters per row, cache-line padded */
	int nloops;
	gnet_engine_t *eng;
};

static bool
label_ok(const char *s)
{
	return s != NULL && s[0] != '\0' && strlen(s) < GNET__SEG_COUNTER_NAME;
}

/* Append a record for c to the segment, or leave c->rec NULL. */
static void
append(gnet_engine_t *eng, struct gnet_counters *c, const char *section,
    const char *const *names, int n)
{
	gnet__seg_header_t *h = eng->seg.hdr;
	size_t rows_off = (sizeof(gnet__seg_section_t) +
	    (size_t)n * GNET__SEG_COUNTER_NAME + GNET__CACHE_LINE - 1) &
	    ~(size_t)(GNET__CACHE_LINE - 1);
	size_t size = rows_off + c->stride * sizeof(uint64_t) * (size_t)c->nloops;
	uint32_t used;
	gnet__seg_section_t *rec;
	char *p;
	int i;

	pthread_mutex_lock(&eng->seg.lock);
	used = atomic_load_explicit(&h->sections_used, memory_order_relaxed);
	if (used + size > h->sections_size) {
		pthread_mutex_unlock(&eng->seg.lock);
		gnet__log(1, "stats: no room in the segment for section %s",
		    section);
		return;
	}
	rec = (gnet__seg_section_t *)(eng->seg.base + h->sections_off + used);
	rec->size = (uint32_t)size;
	rec->ncounters = (uint32_t)n;
	rec->nloops = (uint32_t)c->nloops;
	rec->stride = (uint32_t)(c->stride * sizeof(uint64_t));
	rec->rows_off = (uint32_t)rows_off;
	atomic_store_explicit(&rec->live, 1, memory_order_relaxed);
	memcpy(rec->name, section, strlen(section) + 1);
	p = (char *)(rec + 1);
	for (i = 0; i < n; i++)
		memcpy(p + (size_t)i * GNET__SEG_COUNTER_NAME, names[i],
		    strlen(names[i]) + 1);
	c->rec = rec;
	c->rows = (uint64_t *)((char *)rec + rows_off);
	atomic_store_explicit(&h->sections_used, used + (uint32_t)size,
	    memory_order_release);
	pthread_mutex_unlock(&eng->seg.lock);
}

int
gnet_counters_new(gnet_engine_t *eng, const char *section,
    const char *const *names, int n, gnet_counters_t **out)
{
	size_t per_line = GNET__CACHE_LINE / sizeof(uint64_t);
	struct gnet_counters *c;
	int i;

	if (eng == NULL || out == NULL || names == NULL || n <= 0 ||
	    n > MAX_COUNTERS || !label_ok(section))
		return GNET_EINVAL;
	for (i = 0; i < n; i++)
		if (!label_ok(names[i]))
			return GNET_EINVAL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return GNET_ENOMEM;
	c->eng = eng;
	c->nloops = eng->nloops;
	/* Rows on lines of their own: loops never share a written line. */
	c->stride = ((size_t)n + per_line - 1) / per_line * per_line;
	if (eng->seg.hdr != NULL)
		append(eng, c, section, names, n);
	if (c->rec == NULL) {
		c->rows = aligned_alloc(GNET__CACHE_LINE,
		    c->stride * sizeof(uint64_t) * (size_t)c->nloops);
		if (c->rows == NULL) {
			free(c);
			return GNET_ENOMEM;
		}
		memset(c->rows, 0, c->stride * sizeof(uint64_t) *
		    (size_t)c->nloops);
	}
	*out = c;
	return 0;
}

uint64_t *
gnet_counters_row(gnet_counters_t *c, int loop)
{
	if (c == NULL || loop < 0 || loop >= c->nloops)
		return NULL;
	return &c->rows[(size_t)loop * c->stride];
}

void
gnet_counters_free(gnet_counters_t *c)
{
	if (c == NULL)
		return;
	if (c->rec != NULL)
		atomic_store_explicit(&c->rec->live, 0, memory_order_release);
	else
		free(c->rows);
	free(c);
}
