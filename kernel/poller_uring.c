/*
 * The io_uring backend of the poller seam (kernel/poller.h), on liburing:
 * every registered descriptor has a poll request in the loop's ring, and
 * one io_uring_enter per wait both submits what changed since the last
 * wait and collects what became ready.
 *
 *   - Edge-triggered interest (GNET__POLL_EDGE) is a multishot poll: the
 *     kernel posts a completion at each wakeup of the descriptor, as
 *     EPOLLET reports each change, and the request stays armed.
 *   - Level-triggered interest is a one-shot poll that the next wait arms
 *     again after each report: a descriptor still ready then is reported
 *     again, as epoll's level mode would.
 *   - A change of interest (mod) replaces the armed request. Arming
 *     evaluates readiness at once, so, as with EPOLL_CTL_MOD, what is
 *     already waiting is reported.
 *   - A completion names its request by user_data = generation << 32 | fd.
 *     Every arm takes a new generation, so the completion of a request
 *     since replaced or removed -- its descriptor may be closed and the
 *     number reused -- is recognised and dropped.
 *
 * Arming waits for the next wait: add and mod only record the interest,
 * so several changes in one turn cost one request, and descriptors can
 * be registered before the loop's thread runs. That matters because the
 * ring is created disabled and enabled by the loop's thread at its first
 * wait, which makes that thread its single issuer (the kernel then runs
 * completion work only inside our io_uring_enter, never by interrupting
 * the loop). A del removes at once, while the request is still known; the
 * removal goes to the kernel with the next wait, before the loop sleeps.
 *
 * Wakeups of one descriptor that land in the same wait are merged into
 * one event, as epoll reports a ready descriptor once per wait.
 */
#include <errno.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include "base/fault.h"
#include "base/log.h"
#include "gnet.h"
#include "kernel/poller.h"

/* Submission slots: enough for a turn's re-arms; a fuller turn submits
 * early. Completion slots: a multishot poll whose completion finds the
 * queue full is ended by the kernel, and armed again here, so a deeper
 * queue only saves those re-arms. */
#define URING_SQ_ENTRIES 1024
#define URING_CQ_ENTRIES 8192

/* The user_data of requests whose completion says nothing (removals). */
#define URING_IGNORE UINT64_MAX
#define URING_GEN_MASK 0x7fffffffu

/* What the backend knows of one descriptor, indexed by its number. */
typedef struct uring_fd {
	uint64_t tag;
	uint32_t want;          /* GNET__POLL_* asked for; 0: not registered */
	uint32_t gen;           /* generation of the request last armed */
	uint32_t batch;         /* the reap that last reported it */
	uint16_t index;         /* its event's index in that reap */
	uint8_t armed;          /* a request of generation gen is live */
	uint8_t queued;         /* on the arm list */
} uring_fd_t;

typedef struct uring {
	struct io_uring ring;
	bool enabled;           /* the loop's thread enabled the ring */
	uint32_t batch;         /* reaps so far */
	uring_fd_t *fds;
	size_t nfds;
	int *arm;               /* descriptors to arm at the next wait */
	size_t narm, cap_arm;
} uring_t;

static uint64_t
user_data(const uring_fd_t *e, int fd)
{
	return (uint64_t)e->gen << 32 | (uint32_t)fd;
}

static uring_fd_t *
fd_entry(uring_t *u, int fd)
{
	if (fd < 0)
		return NULL;
	if ((size_t)fd >= u->nfds) {
		size_t n = u->nfds ? u->nfds : 64;
		uring_fd_t *v;
		while (n <= (size_t)fd)
			n *= 2;
		v = realloc(u->fds, n * sizeof(*v));
		if (v == NULL)
			return NULL;
		memset(v + u->nfds, 0, (n - u->nfds) * sizeof(*v));
		u->fds = v;
		u->nfds = n;
	}
	return &u->fds[fd];
}

/* A free submission slot; a full queue is submitted first, which only the
 * loop's thread does (arming and removal run there). */
static struct io_uring_sqe *
sqe_get(uring_t *u)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);

	if (sqe == NULL) {
		io_uring_submit(&u->ring);
		sqe = io_uring_get_sqe(&u->ring);
	}
	return sqe;
}

/* Withdraw fd's live request; its completions are dropped from now on. */
static int
disarm(uring_t *u, uring_fd_t *e, int fd)
{
	struct io_uring_sqe *sqe;

	if (!e->armed)
		return 0;
	sqe = sqe_get(u);
	if (sqe == NULL)
		return -EBUSY;
	io_uring_prep_poll_remove(sqe, user_data(e, fd));
	io_uring_sqe_set_data64(sqe, URING_IGNORE);
	e->armed = 0;
	e->gen = (e->gen + 1) & URING_GEN_MASK;
	return 0;
}

static int
queue_arm(uring_t *u, uring_fd_t *e, int fd)
{
	if (e->queued)
		return 0;
	if (u->narm == u->cap_arm) {
		size_t n = u->cap_arm ? u->cap_arm * 2 : 64;
		int *v = realloc(u->arm, n * sizeof(*v));
		if (v == NULL)
			return -ENOMEM;
		u->arm = v;
		u->cap_arm = n;
	}
	u->arm[u->narm++] = fd;
	e->queued = 1;
	return 0;
}

/* Arm what add, mod and level reports asked for since the last wait. A
 * descriptor the queue had no room for stays queued for the next one. */
static void
arm_queued(uring_t *u)
{
	size_t i, n = u->narm;

	if (n == 0)
		return;
	for (i = 0; i < n; i++) {
		int fd = u->arm[i];
		uring_fd_t *e = &u->fds[fd];
		struct io_uring_sqe *sqe;
		unsigned mask = e->want & ~GNET__POLL_EDGE;

		e->queued = 0;
		if (e->want == 0)
			continue;
		if (disarm(u, e, fd) != 0 || (sqe = sqe_get(u)) == NULL) {
			queue_arm(u, e, fd);
			continue;
		}
		if (e->want & GNET__POLL_EDGE)
			io_uring_prep_poll_multishot(sqe, fd, mask);
		else
			io_uring_prep_poll_add(sqe, fd, mask);
		e->gen = (e->gen + 1) & URING_GEN_MASK;
		io_uring_sqe_set_data64(sqe, user_data(e, fd));
		e->armed = 1;
	}
	memmove(u->arm, u->arm + n, (u->narm - n) * sizeof(*u->arm));
	u->narm -= n;
}

static int
ur_add(gnet__poller_t *p, int fd, uint64_t tag, uint32_t events)
{
	uring_t *u = p->priv;
	uring_fd_t *e = fd_entry(u, fd);

	if (e == NULL)
		return fd < 0 ? -EBADF : -ENOMEM;
	if (e->want != 0)
		return -EEXIST;
	e->tag = tag;
	e->want = events | GNET__POLL_ERR | GNET__POLL_HUP;
	return queue_arm(u, e, fd);
}

static int
ur_mod(gnet__poller_t *p, int fd, uint64_t tag, uint32_t events)
{
	uring_t *u = p->priv;
	uring_fd_t *e = fd >= 0 && (size_t)fd < u->nfds ? &u->fds[fd] : NULL;

	if (e == NULL || e->want == 0)
		return -ENOENT;
	e->tag = tag;
	e->want = events | GNET__POLL_ERR | GNET__POLL_HUP;
	return queue_arm(u, e, fd);
}

static int
ur_del(gnet__poller_t *p, int fd)
{
	uring_t *u = p->priv;
	uring_fd_t *e = fd >= 0 && (size_t)fd < u->nfds ? &u->fds[fd] : NULL;

	if (e == NULL || e->want == 0)
		return -ENOENT;
	e->want = 0;
	return disarm(u, e, fd);
}

/* One completion: an event in out (merged into fd's event of this reap,
 * if it has one), and the request armed again when it has ended. */
static int
took_cqe(uring_t *u, const struct io_uring_cqe *cqe, gnet__pevent_t *out,
    int n)
{
	uint64_t ud = io_uring_cqe_get_data64(cqe);
	int fd = (int)(uint32_t)ud;
	uring_fd_t *e;
	uint32_t ev;

	if (ud == URING_IGNORE || (size_t)fd >= u->nfds)
		return n;
	e = &u->fds[fd];
	if (!e->armed || e->gen != (uint32_t)(ud >> 32))
		return n; /* a request since replaced or removed */
	if (!(cqe->flags & IORING_CQE_F_MORE)) {
		e->armed = 0;
		if (e->want != 0)
			queue_arm(u, e, fd);
	}
	if (cqe->res == -ECANCELED)
		return n;
	ev = cqe->res < 0 ? GNET__POLL_ERR :
	    (uint32_t)cqe->res & e->want & ~GNET__POLL_EDGE;
	if (ev == 0)
		return n;
	if (e->batch == u->batch) {
		out[e->index].events |= ev;
		return n;
	}
	e->batch = u->batch;
	e->index = (uint16_t)n;
	out[n].events = ev;
	out[n].tag = e->tag;
	return n + 1;
}

static int
reap(uring_t *u, gnet__pevent_t *out, int max)
{
	struct io_uring_cqe *cqe;
	unsigned head, seen = 0;
	int n = 0;

	u->batch++;
	io_uring_for_each_cqe(&u->ring, head, cqe) {
		if (n == max)
			break;
		n = took_cqe(u, cqe, out, n);
		seen++;
	}
	io_uring_cq_advance(&u->ring, seen);
	return n;
}

static int
enable(uring_t *u)
{
	/* io_uring_register itself: Debian's liburing 2.3 does not export
	 * io_uring_enable_rings from its shared library. */
	int rc = io_uring_register((unsigned)u->ring.ring_fd,
	    IORING_REGISTER_ENABLE_RINGS, NULL, 0);

	if (rc < 0)
		return rc;
	u->enabled = true;
	return 0;
}

static int
ur_wait(gnet__poller_t *p, gnet__pevent_t *out, int32_t *res, int max,
    int timeout_ms)
{
	uring_t *u = p->priv;
	struct io_uring_cqe *cqe;
	int rc, n;

	(void)res;
	if (!u->enabled && (rc = enable(u)) != 0)
		return rc;
	arm_queued(u);
	if (gnet__fault_fails(GNET__FAULT_WAIT))
		return -errno;
	if (timeout_ms == 0 || io_uring_cq_ready(&u->ring) != 0) {
		rc = io_uring_submit_and_get_events(&u->ring);
	} else if (timeout_ms < 0) {
		rc = io_uring_submit_and_wait(&u->ring, 1);
	} else {
		struct __kernel_timespec ts = {
			.tv_sec = timeout_ms / 1000,
			.tv_nsec = (long long)(timeout_ms % 1000) * 1000000
		};
		rc = io_uring_submit_and_wait_timeout(&u->ring, &cqe, 1, &ts,
		    NULL);
	}
	n = reap(u, out, max);
	if (n == 0 && rc < 0 && rc != -ETIME && rc != -EBUSY)
		return rc; /* -EINTR among them: the loop waits again */
	return n;
}

/* Submit the removals of the descriptors closed in the loop's last turn,
 * and let the kernel run their completions, which drop its references
 * to the sockets. */
static void
ur_quiesce(gnet__poller_t *p)
{
	uring_t *u = p->priv;

	if (u->enabled)
		io_uring_submit_and_get_events(&u->ring);
}

static void
ur_close(gnet__poller_t *p)
{
	uring_t *u = p->priv;

	if (u == NULL)
		return;
	io_uring_queue_exit(&u->ring);
	free(u->fds);
	free(u->arm);
	free(u);
	p->priv = NULL;
	p->fd = -1;
}

/*
 * Ring set-up, newest kernel first: a single issuer whose completion work
 * waits for its own io_uring_enter (6.1), cooperative task work (5.19),
 * or plain. A kernel refuses flags it does not know with EINVAL.
 */
static int
ring_init(uring_t *u)
{
	static const unsigned tries[] = {
		IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
		    IORING_SETUP_R_DISABLED,
		IORING_SETUP_COOP_TASKRUN,
		0
	};
	size_t i;
	int rc = -EINVAL;

	for (i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		struct io_uring_params pa;
		memset(&pa, 0, sizeof(pa));
		pa.flags = tries[i] | IORING_SETUP_CQSIZE |
		    IORING_SETUP_SUBMIT_ALL;
		pa.cq_entries = URING_CQ_ENTRIES;
		rc = io_uring_queue_init_params(URING_SQ_ENTRIES, &u->ring,
		    &pa);
		if (rc != -EINVAL)
			break;
	}
	if (rc < 0)
		return rc;
	u->enabled = !(u->ring.flags & IORING_SETUP_R_DISABLED);
	/* A wait with a timeout and no timeout request (5.11), and multishot
	 * polls (5.13, the kernel that brought resource tags). */
	if (!(u->ring.features & IORING_FEAT_EXT_ARG) ||
	    !(u->ring.features & IORING_FEAT_RSRC_TAGS)) {
		gnet__log(2, "io_uring: the kernel lacks multishot polls or "
		    "waits with a timeout (Linux 5.13 has both)");
		io_uring_queue_exit(&u->ring);
		return GNET_ENOTSUP;
	}
	return 0;
}

static int
ur_open(gnet__poller_t *p, int wake_fd)
{
	uring_t *u = calloc(1, sizeof(*u));
	int rc;

	if (u == NULL)
		return -ENOMEM;
	rc = ring_init(u);
	if (rc != 0) {
		free(u);
		return rc;
	}
	p->priv = u;
	p->fd = u->ring.ring_fd;
	/* The waker is level-triggered: it is drained when reported. */
	rc = ur_add(p, wake_fd, GNET__POLL_WAKER_TAG, GNET__POLL_IN);
	if (rc != 0)
		ur_close(p);
	return rc;
}

const gnet__poller_ops_t gnet__poller_uring = {
	.name = "io_uring",
	.open = ur_open,
	.close = ur_close,
	.add = ur_add,
	.mod = ur_mod,
	.del = ur_del,
	.wait = ur_wait,
	.quiesce = ur_quiesce,
};
