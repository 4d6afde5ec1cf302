/*
 * The reader's side of the stats segment (gnetstats.h): find segments,
 * map one read-only, and copy rows out of it.
 *
 * A reader trusts nothing it maps: every offset and count is checked
 * against the file's size before use, and an actor row whose sequence
 * stays odd (a writer that died mid-row) is skipped after a bounded
 * number of tries rather than waited for. The mapping is the reader's
 * own, so the engine removing its file or exiting leaves it readable:
 * the last values stay, and `alive` says the engine is gone.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "gnetstats.h"
#include "base/abi.h"
#include "kernel/kernel.h"
#include "kernel/stats_proc.h"

/* Reads of a row being rewritten before it is skipped: a sweep writes a
 * row in well under a microsecond. */
#define ROW_TRIES 10000

struct gnet_stats {
	unsigned char *base;
	size_t len;
	const gnet__seg_header_t *h;
	/* The header again, writable, for the one field readers write
	 * (watched_ns); NULL when the file could only be opened read-only. */
	gnet__seg_header_t *h_rw;
	char path[128];
	/* What this reader last saw of each loop in a turn: a loop seen
	 * RUNNING at the same iteration count since `since_ns` has spent
	 * that long in one turn. */
	struct {
		bool running;
		uint64_t iterations, since_ns;
	} seen[GNET_MAX_LOOPS];
};

static bool
header_ok(const gnet__seg_header_t *h, size_t len)
{
	uint64_t loops_end, actors_end;

	if (len < GNET__SEG_HEADER || h->magic != GNET__SEG_MAGIC ||
	    h->version != GNET__SEG_VERSION || h->nloops == 0 ||
	    h->nloops > GNET_MAX_LOOPS || h->loop_row_size <
	    sizeof(gnet__loop_stats_t) || h->actor_row_size <
	    sizeof(gnet__seg_actor_t) || h->cycles_per_ms == 0)
		return false;
	loops_end = h->loops_off + (uint64_t)h->loop_row_size * h->nloops;
	actors_end = h->actors_off + (uint64_t)h->actor_row_size *
	    h->actor_rows * h->nloops;
	return h->loops_off >= GNET__SEG_HEADER && loops_end <= len &&
	    h->sections_off + h->sections_size <= len &&
	    h->actors_off <= len && actors_end <= len;
}

static bool
is_alive(const gnet__seg_header_t *h)
{
	return atomic_load_explicit(&((gnet__seg_header_t *)h)->state,
	    memory_order_acquire) == GNET__SEG_LIVE &&
	    gnet__proc_alive(h->pid, h->proc_start);
}

/* The backend's name, or "" until the engine has published it (or when
 * its engine predates the field: the header's spare room is zero). */
static void
fill_backend(const gnet__seg_header_t *h, char *out, size_t cap)
{
	uint32_t len = atomic_load_explicit(
	    &((gnet__seg_header_t *)h)->backend_len, memory_order_acquire);

	if (len >= sizeof(h->backend) || len >= cap)
		len = 0;
	memcpy(out, h->backend, len);
	out[len] = '\0';
}

static void
fill_engine(const gnet__seg_header_t *h, const char *path,
    gnet_stats_engine_t *e)
{
	memset(e, 0, sizeof(*e));
	e->size = sizeof(*e);
	memcpy(e->name, h->name, sizeof(e->name));
	e->name[sizeof(e->name) - 1] = '\0';
	snprintf(e->path, sizeof(e->path), "%s", path);
	e->pid = h->pid;
	e->alive = is_alive(h);
	e->nloops = (int)h->nloops;
	e->version = (int)h->version;
	e->started_unix_ms = h->started_unix_ms;
	e->interval_ms = h->interval_ms;
	fill_backend(h, e->backend, sizeof(e->backend));
}

/* ---- finding segments ---- */

int
gnet__seg_peek(const char *path, gnet__seg_header_t *h)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), rc = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    pread(fd, h, sizeof(*h), 0) != (ssize_t)sizeof(*h) ||
	    !header_ok(h, (size_t)st.st_size))
		rc = GNET_ENOTSUP;
	close(fd);
	return rc;
}

static int
by_name_pid(const void *a, const void *b)
{
	const gnet_stats_engine_t *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c != 0 ? c : (x->pid > y->pid) - (x->pid < y->pid);
}

/* Every readable segment, allocated into *out (free it). */
static int
scan(gnet_stats_engine_t **out)
{
	gnet_stats_engine_t *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *d;
	DIR *dir = opendir(GNET_STATS_DIR);

	*out = NULL;
	if (dir == NULL)
		return errno == ENOENT ? 0 : -errno;
	while ((d = readdir(dir)) != NULL) {
		gnet__seg_header_t h;
		char path[sizeof(v->path)];

		if (strncmp(d->d_name, "gnet.", 5) != 0 ||
		    strlen(GNET_STATS_DIR) + 1 + strlen(d->d_name) >= sizeof(path))
			continue;
		/* Length checked above: the copy is whole. */
		memcpy(path, GNET_STATS_DIR "/", sizeof(GNET_STATS_DIR));
		strcpy(path + sizeof(GNET_STATS_DIR), d->d_name);
		if (gnet__seg_peek(path, &h) != 0)
			continue;
		if (n == cap) {
			gnet_stats_engine_t *nv;
			cap = cap ? cap * 2 : 16;
			nv = realloc(v, cap * sizeof(*v));
			if (nv == NULL) {
				free(v);
				closedir(dir);
				return GNET_ENOMEM;
			}
			v = nv;
		}
		fill_engine(&h, path, &v[n++]);
	}
	closedir(dir);
	if (n > 1)
		qsort(v, n, sizeof(*v), by_name_pid);
	*out = v;
	return (int)n;
}

/* The caller's sizeof(gnet_stats_engine_t), from out[0]: the stride of
 * its array, which a program built against an older gnetstats.h has
 * shorter than ours. 0 when it is not a size of this struct. */
static size_t
list_stride(const gnet_stats_engine_t *out)
{
	size_t size = out->size;

	if (size < GNET__SIZE_THROUGH(gnet_stats_engine_t, interval_ms) ||
	    size > GNET__STRUCT_SIZE_MAX ||
	    size % _Alignof(gnet_stats_engine_t) != 0)
		return 0;
	return size;
}

int
gnet_stats_list(gnet_stats_engine_t *out, int max)
{
	gnet_stats_engine_t *v;
	size_t stride = 0;
	int n, i;

	if ((out == NULL && max != 0) ||
	    (max > 0 && (stride = list_stride(out)) == 0))
		return GNET_EINVAL;
	n = scan(&v);
	if (n < 0)
		return n;
	for (i = 0; i < n && i < max; i++) {
		gnet_stats_engine_t *e = (gnet_stats_engine_t *)(
		    (unsigned char *)out + (size_t)i * stride);

		e->size = stride;
		gnet__struct_out(e, GNET__SIZE_THROUGH(gnet_stats_engine_t,
		    interval_ms), &v[i], sizeof(v[i]));
	}
	free(v);
	return n;
}

static bool
all_digits(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* Does segment e answer to `who` (pid, name or name.pid)? */
static bool
matches(const gnet_stats_engine_t *e, const char *who)
{
	const char *dot = strrchr(who, '.');
	size_t len;

	if (all_digits(who))
		return e->pid == atoi(who);
	if (dot != NULL && all_digits(dot + 1)) {
		len = (size_t)(dot - who);
		return e->pid == atoi(dot + 1) && strlen(e->name) == len &&
		    strncmp(e->name, who, len) == 0;
	}
	return strcmp(e->name, who) == 0;
}

/* The path of the one live engine `who` names. */
static int
resolve(const char *who, char *path, size_t cap)
{
	gnet_stats_engine_t *v;
	int n = scan(&v), i, found = 0;

	if (n < 0)
		return n;
	for (i = 0; i < n; i++) {
		if (!v[i].alive || !matches(&v[i], who))
			continue;
		if (found++ == 0)
			snprintf(path, cap, "%s", v[i].path);
	}
	free(v);
	if (found == 0)
		return GNET_ENOENT;
	return found == 1 ? 0 : GNET_EINVAL;
}

/* ---- attaching ---- */

/* Tell the loops someone is looking at their actor rows: they publish
 * them only then (kernel/stats_sweep.c). */
static void
watch(gnet_stats_t *s)
{
	if (s->h_rw != NULL)
		atomic_store_explicit(&s->h_rw->watched_ns, gnet__now_ns(),
		    memory_order_relaxed);
}

int
gnet_stats_attach(gnet_stats_t **out, const char *who)
{
	char path[128];
	struct stat st;
	gnet_stats_t *s;
	void *base;
	int fd, rc;


	if (out == NULL || who == NULL || *who == '\0')
		return GNET_EINVAL;
	*out = NULL;
	if (strchr(who, '/') != NULL) {
		if (strlen(who) >= sizeof(path))
			return GNET_EINVAL;
		snprintf(path, sizeof(path), "%s", who);
	} else if ((rc = resolve(who, path, sizeof(path))) != 0) {
		return rc;
	}
	fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == EACCES)
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (size_t)st.st_size < GNET__SEG_HEADER) {
		close(fd);
		return GNET_ENOTSUP;
	}
	base = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED) {
		rc = -errno;
		close(fd);
		return rc;
	}
	if (!header_ok(base, (size_t)st.st_size) ||
	    (s = calloc(1, sizeof(*s))) == NULL) {
		rc = header_ok(base, (size_t)st.st_size) ? GNET_ENOMEM :
		    GNET_ENOTSUP;
		munmap(base, (size_t)st.st_size);
		close(fd);
		return rc;
	}
	s->base = base;
	s->len = (size_t)st.st_size;
	s->h = base;
	s->h_rw = mmap(NULL, GNET__SEG_HEADER, PROT_READ | PROT_WRITE,
	    MAP_SHARED, fd, 0);
	if (s->h_rw == MAP_FAILED)
		s->h_rw = NULL;
	close(fd);
	snprintf(s->path, sizeof(s->path), "%s", path);
	*out = s;
	return 0;
}

void
gnet_stats_detach(gnet_stats_t *s)
{
	if (s == NULL)
		return;
	if (s->h_rw != NULL)
		munmap(s->h_rw, GNET__SEG_HEADER);
	munmap(s->base, s->len);
	free(s);
}

int
gnet_stats_engine(gnet_stats_t *s, gnet_stats_engine_t *out)
{
	gnet_stats_engine_t e;

	if (s == NULL || out == NULL)
		return GNET_EINVAL;
	fill_engine(s->h, s->path, &e);
	return gnet__struct_out(out, GNET__SIZE_THROUGH(gnet_stats_engine_t,
	    interval_ms), &e, sizeof(e));
}

/* ---- loops ---- */

static uint64_t
cycles_to_ns(const gnet__seg_header_t *h, uint64_t cycles)
{
	return (uint64_t)((unsigned __int128)cycles * GNET__NS_PER_MS /
	    h->cycles_per_ms);
}

#define LOAD(p) atomic_load_explicit(&(p), memory_order_relaxed)

int
gnet_stats_loop(gnet_stats_t *s, int i, gnet_stats_loop_t *out)
{
	const gnet__loop_stats_t *r;
	gnet_stats_loop_t v;
	uint64_t now = gnet__now_ns();
	int k;

	if (s == NULL || out == NULL || i < 0 || i >= (int)s->h->nloops)
		return GNET_EINVAL;
	r = (const gnet__loop_stats_t *)(s->base + s->h->loops_off +
	    (size_t)i * s->h->loop_row_size);
	memset(&v, 0, sizeof(v));
	v.size = sizeof(v);
	v.index = i;
	v.tid = LOAD(r->tid);
	v.cpu = LOAD(r->cpu);
	v.state = (int)LOAD(r->state);
	v.iterations = LOAD(r->iterations);
	if (atomic_load_explicit(&((gnet__seg_header_t *)s->h)->state,
	    memory_order_acquire) != GNET__SEG_LIVE ||
	    !gnet__proc_alive(s->h->pid, s->h->proc_start))
		v.state = GNET_STATS_LOOP_STOPPED;
	if (v.state != GNET_STATS_LOOP_RUNNING) {
		s->seen[i].running = false;
	} else if (!s->seen[i].running ||
	    s->seen[i].iterations != v.iterations) {
		s->seen[i].running = true;
		s->seen[i].iterations = v.iterations;
		s->seen[i].since_ns = now;
	} else {
		v.turn_ns = now - s->seen[i].since_ns;
	}
	if (v.tid > 0)
		v.cpu_ns = gnet__thread_cpu_ns(s->h->pid, v.tid);
	v.msgs_in = LOAD(r->msgs_in);
	v.msgs_out = LOAD(r->msgs_out);
	v.msgs_dropped = LOAD(r->msgs_dropped);
	v.mailbox_hwm = LOAD(r->mailbox_hwm);
	v.overflowed = LOAD(r->overflowed);
	v.parked = LOAD(r->parked);
	v.wakeups = LOAD(r->wakeups);
	v.actors = LOAD(r->actors);
	v.sweeps = LOAD(r->sweeps);
	v.actor_rows = LOAD(r->actor_rows);
	v.actor_rows_unlisted = LOAD(r->actor_rows_unlisted);
	v.nrings = (int)LOAD(r->nrings);
	if (v.nrings < 0 || v.nrings > GNET_STATS_MAX_RINGS)
		v.nrings = 0;
	for (k = 0; k < v.nrings; k++) {
		v.ring[k].depth = LOAD(r->ring[k].depth);
		v.ring[k].hwm = LOAD(r->ring[k].hwm);
	}
	return gnet__struct_out(out, GNET__SIZE_THROUGH(gnet_stats_loop_t,
	    ring), &v, sizeof(v));
}

/* ---- counter sections ---- */

/* The k-th live section, or NULL. */
static const gnet__seg_section_t *
section(gnet_stats_t *s, int k)
{
	uint32_t used = atomic_load_explicit(
	    &((gnet__seg_header_t *)s->h)->sections_used, memory_order_acquire);
	const unsigned char *area = s->base + s->h->sections_off;
	uint32_t off = 0;

	if (k < 0 || used > s->h->sections_size)
		return NULL;
	while (off + sizeof(gnet__seg_section_t) <= used) {
		const gnet__seg_section_t *r = (const void *)(area + off);
		if (r->size < sizeof(*r) || r->size > used - off ||
		    r->rows_off + (uint64_t)r->stride * r->nloops > r->size ||
		    r->nloops > s->h->nloops ||
		    (uint64_t)r->ncounters * sizeof(uint64_t) > r->stride ||
		    sizeof(*r) + (uint64_t)r->ncounters *
		    GNET__SEG_COUNTER_NAME > r->rows_off)
			return NULL;
		if (LOAD(((gnet__seg_section_t *)r)->live) && k-- == 0)
			return r;
		off += r->size;
	}
	return NULL;
}

int
gnet_stats_section_name(gnet_stats_t *s, int k, const char **name,
    int *ncounters)
{
	const gnet__seg_section_t *r;

	if (s == NULL)
		return GNET_EINVAL;
	r = section(s, k);
	if (r == NULL)
		return GNET_ENOENT;
	if (name != NULL)
		*name = r->name;
	if (ncounters != NULL)
		*ncounters = (int)r->ncounters;
	return 0;
}

const char *
gnet_stats_counter_name(gnet_stats_t *s, int k, int j)
{
	const gnet__seg_section_t *r = s != NULL ? section(s, k) : NULL;

	if (r == NULL || j < 0 || j >= (int)r->ncounters)
		return NULL;
	return (const char *)(r + 1) + (size_t)j * GNET__SEG_COUNTER_NAME;
}

int
gnet_stats_counter(gnet_stats_t *s, int k, int j, int loop, uint64_t *value)
{
	const gnet__seg_section_t *r = s != NULL ? section(s, k) : NULL;
	uint64_t sum = 0;
	int i;

	if (r == NULL || value == NULL || j < 0 || j >= (int)r->ncounters ||
	    loop < -1 || loop >= (int)r->nloops)
		return r == NULL ? GNET_ENOENT : GNET_EINVAL;
	for (i = 0; i < (int)r->nloops; i++) {
		const uint64_t *row = (const uint64_t *)((const char *)r +
		    r->rows_off + (size_t)i * r->stride);
		if (loop == -1 || loop == i)
			sum += __atomic_load_n(&row[j], __ATOMIC_RELAXED);
	}
	*value = sum;
	return 0;
}

int
gnet_stats_counter_get(gnet_stats_t *s, const char *sec, const char *counter,
    int loop, uint64_t *value)
{
	const char *name;
	int k, j, n;

	if (s == NULL || sec == NULL || counter == NULL)
		return GNET_EINVAL;
	for (k = 0; gnet_stats_section_name(s, k, &name, &n) == 0; k++) {
		if (strcmp(name, sec) != 0)
			continue;
		for (j = 0; j < n; j++)
			if (strcmp(gnet_stats_counter_name(s, k, j), counter) == 0)
				return gnet_stats_counter(s, k, j, loop, value);
	}
	return GNET_ENOENT;
}

/* ---- actors ---- */

/* Copy a row whole: retry while a sweep rewrites it; false if it never
 * settles. */
static bool
read_row(const gnet__seg_actor_t *row, gnet__seg_actor_t *copy)
{
	int tries;

	for (tries = 0; tries < ROW_TRIES; tries++) {
		unsigned v = ck_pr_load_uint(&row->seq.sequence);
		if (v & 1) {
			ck_pr_stall();
			continue;
		}
		ck_pr_fence_load();
		memcpy(copy, row, sizeof(*copy));
		if (!ck_sequence_read_retry((ck_sequence_t *)&row->seq, v))
			return true;
	}
	return false;
}

static void
fill_actor(const gnet__seg_header_t *h, int loop, const gnet__seg_actor_t *r,
    uint64_t now_ns, gnet_stats_actor_t *a)
{
	memset(a, 0, sizeof(*a));
	a->size = sizeof(*a);
	a->loop = loop;
	a->handle = r->handle;
	memcpy(a->kind, r->kind, sizeof(a->kind));
	a->kind[sizeof(a->kind) - 1] = '\0';
	a->mailbox = r->mailbox;
	a->mailbox_hwm = r->mailbox_hwm;
	a->handled = r->handled;
	a->busy_ns = cycles_to_ns(h, r->busy_cycles);
	a->age_ms = now_ns > r->born_ns ? (now_ns - r->born_ns) /
	    GNET__NS_PER_MS : 0;
	a->idle_ms = now_ns > r->active_ns ? (now_ns - r->active_ns) /
	    GNET__NS_PER_MS : 0;
	memcpy(a->peer, r->peer, sizeof(a->peer));
	a->peer[sizeof(a->peer) - 1] = '\0';
	a->in_bytes = r->in_bytes;
	a->out_bytes = r->out_bytes;
	a->flags = r->flags;
	a->published_ms_ago = now_ns > r->published_ns ?
	    (now_ns - r->published_ns) / GNET__NS_PER_MS : 0;
}

int
gnet_stats_actors(gnet_stats_t *s, int loop, gnet_stats_actor_t *out, int max)
{
	uint64_t now_ns = gnet__now_ns();
	int i, n = 0;

	if (s == NULL || loop < -1 || loop >= (int)s->h->nloops ||
	    max < 0 || (out == NULL && max != 0))
		return GNET_EINVAL;
	watch(s);
	for (i = 0; i < (int)s->h->nloops; i++) {
		const gnet__loop_stats_t *lr = (const gnet__loop_stats_t *)(
		    s->base + s->h->loops_off + (size_t)i * s->h->loop_row_size);
		const unsigned char *rows = s->base + s->h->actors_off +
		    (size_t)i * s->h->actor_rows * s->h->actor_row_size;
		uint64_t extent = LOAD(lr->actor_extent), r;

		if (loop != -1 && loop != i)
			continue;
		if (extent > s->h->actor_rows)
			extent = s->h->actor_rows;
		for (r = 0; r < extent; r++) {
			gnet__seg_actor_t copy;
			if (!read_row((const gnet__seg_actor_t *)(rows +
			    r * s->h->actor_row_size), &copy) || copy.handle == 0)
				continue;
			if (n < max)
				fill_actor(s->h, i, &copy, now_ns, &out[n]);
			n++;
		}
	}
	return n;
}
