/*
 * The stats segment's life: made when the engine is created, its file
 * removed when the engine stops, unmapped when it is freed
 * (kernel/stats.h has the layout).
 *
 * The file is sized for its largest extent at once and left sparse: a
 * page of tmpfs is only allocated when a row on it is first written, so
 * a loop with a thousand actors holds a thousand rows' pages, not the
 * rows it could hold. The mapping never moves, so the loops keep plain
 * pointers into it.
 *
 * A file that cannot be made (no /dev/shm, a full tmpfs, options.stats
 * < 0) gives a private mapping of the same layout instead: everything
 * counts the same way, nobody else sees it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "gnetstats.h"
#include "kernel/kernel.h"
#include "kernel/stats_proc.h"

#define DEFAULT_INTERVAL_MS 1000
#define DEFAULT_ACTOR_ROWS 65536u
#define PAGE 4096u
/* Engines of one name in one process: gnet.NAME.PID, then .PID.2 ... */
#define MAX_SAME_NAME 64

static size_t
align_up(size_t n, size_t a)
{
	return (n + a - 1) / a * a;
}

static bool
name_ok(const char *n)
{
	size_t i;

	for (i = 0; n[i] != '\0'; i++)
		if (!((n[i] >= 'a' && n[i] <= 'z') || (n[i] >= 'A' &&
		    n[i] <= 'Z') || (n[i] >= '0' && n[i] <= '9') ||
		    n[i] == '_' || n[i] == '-'))
			return false;
	return i > 0 && i < GNET__SEG_NAME_MAX;
}

int
gnet__seg_options(gnet_options_t *o)
{
	const char *env = getenv("GNET_STATS");

	if (o->name != NULL && !name_ok(o->name))
		return GNET_EINVAL;
	/* GNET_STATS=off turns the segment off without a rebuild, e.g. to
	 * measure a server with and without it. */
	if (env != NULL && (strcmp(env, "off") == 0 || strcmp(env, "0") == 0))
		o->stats = -1;
	if (o->stats_interval_ms == 0)
		o->stats_interval_ms = DEFAULT_INTERVAL_MS;
	if (o->stats_actor_rows == 0)
		o->stats_actor_rows = DEFAULT_ACTOR_ROWS;
	if (o->stats_actor_rows > GNET__MAX_SLOTS)
		o->stats_actor_rows = GNET__MAX_SLOTS;
	return 0;
}

/* The program's name with what a segment name may not hold replaced. */
static void
default_name(char *out, size_t cap)
{
	extern char *program_invocation_short_name;
	const char *p = program_invocation_short_name;
	size_t i;

	for (i = 0; p != NULL && p[i] != '\0' && i + 1 < cap; i++)
		out[i] = name_ok((char[]){ p[i], '\0' }) ? p[i] : '_';
	out[i] = '\0';
	if (i == 0)
		snprintf(out, cap, "gnet");
}

/* Remove the segments of `name` whose engine's process is gone: a
 * restarted server cleans up after its crashed predecessor. */
static void
remove_dead(const char *name)
{
	char prefix[GNET__SEG_NAME_MAX + 8], path[300];
	struct dirent *d;
	DIR *dir;

	snprintf(prefix, sizeof(prefix), "gnet.%s.", name);
	dir = opendir(GNET_STATS_DIR);
	if (dir == NULL)
		return;
	while ((d = readdir(dir)) != NULL) {
		gnet__seg_header_t h;

		if (strncmp(d->d_name, prefix, strlen(prefix)) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", GNET_STATS_DIR, d->d_name);
		if (gnet__seg_peek(path, &h) == 0 &&
		    !gnet__proc_alive(h.pid, h.proc_start))
			unlink(path);
	}
	closedir(dir);
}

/* Create the file: gnet.NAME.PID, or with a suffix when this process
 * already has an engine of that name. Returns the fd or -errno. */
static int
create_file(gnet__seg_t *seg, const char *name)
{
	int k, fd;

	remove_dead(name);
	for (k = 1; k <= MAX_SAME_NAME; k++) {
		if (k == 1)
			snprintf(seg->path, sizeof(seg->path), "%s/gnet.%s.%d",
			    GNET_STATS_DIR, name, (int)getpid());
		else
			snprintf(seg->path, sizeof(seg->path), "%s/gnet.%s.%d.%d",
			    GNET_STATS_DIR, name, (int)getpid(), k);
		fd = open(seg->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC |
		    O_NOFOLLOW, 0600);
		if (fd >= 0 || errno != EEXIST)
			return fd >= 0 ? fd : -errno;
	}
	return -EEXIST;
}

static int
map_segment(gnet_engine_t *eng, size_t len, const char *name)
{
	gnet__seg_t *seg = &eng->seg;
	int fd = -1, rc;

	if (eng->opt.stats >= 0) {
		fd = create_file(seg, name);
		if (fd >= 0 && ftruncate(fd, (off_t)len) != 0) {
			rc = -errno;
			close(fd);
			unlink(seg->path);
			fd = rc;
		}
		if (fd < 0)
			gnet__log(1, "stats: no segment at %s (%s): counters "
			    "stay private", seg->path, gnet_strerror(fd));
	}
	if (fd >= 0) {
		seg->base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED,
		    fd, 0);
		close(fd);
		if (seg->base == MAP_FAILED) {
			unlink(seg->path);
			seg->base = NULL;
		} else {
			seg->shared = true;
		}
	}
	if (seg->base == NULL) {
		seg->base = mmap(NULL, len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (seg->base == MAP_FAILED) {
			seg->base = NULL;
			return GNET_ENOMEM;
		}
	}
	seg->len = len;
	return 0;
}

int
gnet__seg_open(gnet_engine_t *eng)
{
	gnet__seg_t *seg = &eng->seg;
	gnet__seg_header_t *h;
	size_t loops_off = GNET__SEG_HEADER;
	size_t sections_off = align_up(loops_off +
	    sizeof(gnet__loop_stats_t) * (size_t)eng->nloops, PAGE);
	size_t actors_off = sections_off + GNET__SEG_SECTIONS;
	size_t len = actors_off + (size_t)GNET__SEG_ACTOR_ROW *
	    eng->opt.stats_actor_rows * (size_t)eng->nloops;
	char name[GNET__SEG_NAME_MAX];
	struct timespec rt;
	int rc, i;

	pthread_mutex_init(&seg->lock, NULL);
	if (eng->opt.name != NULL)
		snprintf(name, sizeof(name), "%s", eng->opt.name);
	else
		default_name(name, sizeof(name));
	rc = map_segment(eng, len, name);
	if (rc != 0)
		return rc;
	h = seg->hdr = (gnet__seg_header_t *)seg->base;
	h->version = GNET__SEG_VERSION;
	h->header_size = GNET__SEG_HEADER;
	h->loop_row_size = sizeof(gnet__loop_stats_t);
	h->actor_row_size = GNET__SEG_ACTOR_ROW;
	h->nloops = (uint32_t)eng->nloops;
	h->actor_rows = eng->opt.stats_actor_rows;
	h->loops_off = loops_off;
	h->sections_off = sections_off;
	h->sections_size = GNET__SEG_SECTIONS;
	h->actors_off = actors_off;
	h->pid = (int32_t)getpid();
	h->interval_ms = eng->opt.stats_interval_ms;
	clock_gettime(CLOCK_REALTIME, &rt);
	h->started_unix_ms = (uint64_t)rt.tv_sec * 1000 +
	    (uint64_t)rt.tv_nsec / 1000000;
	h->proc_start = gnet__proc_start(h->pid);
	gnet__cycles_calibrate(&h->t0_cycles, &h->t0_ns, &h->cycles_per_ms);
	seg->interval_cycles = h->cycles_per_ms * eng->opt.stats_interval_ms;
	snprintf(h->name, sizeof(h->name), "%s", name);
	for (i = 0; i < eng->nloops; i++) {
		gnet__loop_stats_t *row = gnet__seg_loop(eng, i);
		atomic_store_explicit(&row->cpu, -1, memory_order_relaxed);
		atomic_store_explicit(&row->nrings, (uint32_t)eng->nloops + 1,
		    memory_order_relaxed);
	}
	atomic_store_explicit(&h->state, GNET__SEG_LIVE, memory_order_relaxed);
	/* The magic last: a reader that sees it sees the header filled. */
	atomic_thread_fence(memory_order_release);
	h->magic = GNET__SEG_MAGIC;
	return 0;
}

void
gnet__seg_backend(gnet_engine_t *eng, const char *name)
{
	gnet__seg_header_t *h = eng->seg.hdr;
	size_t len = strnlen(name, sizeof(h->backend) - 1);

	memcpy(h->backend, name, len);
	h->backend[len] = '\0';
	atomic_store_explicit(&h->backend_len, (uint32_t)len,
	    memory_order_release);
}

gnet__loop_stats_t *
gnet__seg_loop(gnet_engine_t *eng, int i)
{
	return (gnet__loop_stats_t *)(eng->seg.base + eng->seg.hdr->loops_off) +
	    i;
}

gnet__seg_actor_t *
gnet__seg_actors(gnet_engine_t *eng, int i)
{
	return (gnet__seg_actor_t *)(eng->seg.base + eng->seg.hdr->actors_off +
	    (size_t)i * eng->seg.hdr->actor_rows * GNET__SEG_ACTOR_ROW);
}

void
gnet__seg_stopped(gnet_engine_t *eng)
{
	gnet__seg_t *seg = &eng->seg;

	if (seg->hdr == NULL)
		return;
	atomic_store_explicit(&seg->hdr->state, GNET__SEG_STOPPED,
	    memory_order_release);
	if (seg->shared && !seg->removed) {
		unlink(seg->path);
		seg->removed = true;
	}
}

void
gnet__seg_close(gnet_engine_t *eng)
{
	gnet__seg_t *seg = &eng->seg;

	if (seg->base == NULL)
		return;
	gnet__seg_stopped(eng);
	munmap(seg->base, seg->len);
	seg->base = NULL;
	seg->hdr = NULL;
	pthread_mutex_destroy(&seg->lock);
}
