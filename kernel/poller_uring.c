/*
 * The io_uring backend of the poller seam (kernel/poller.h), on liburing:
 * one io_uring_enter per wait both submits what the turn asked for --
 * polls, receives, sends, their withdrawals -- and collects what the
 * kernel completed. kernel/poller_uring_fd.c makes each descriptor's
 * requests; kernel/poller_uring_bufs.c keeps the buffers receives use.
 *
 * The ring is created disabled and enabled by the loop's thread at its
 * first wait, which makes that thread its single issuer: the kernel then
 * runs completion work only inside our io_uring_enter (DEFER_TASKRUN),
 * never by interrupting the loop.
 *
 * Completion (receives and sends, GNET__POLLER_COMPLETION) is offered on
 * kernels that take that set-up (Linux 6.1) and a buffer ring; older
 * ones (5.13 and up) get readiness only, through polls. With completion,
 * the loop's waker is read through the ring too: a read of its eventfd
 * waits in the ring, so a message from another thread completes it and
 * ends the wait, with no read left for the loop to make.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include "base/fault.h"
#include "base/log.h"
#include "gnet.h"
#include "kernel/poller_uring.h"

/* Submission slots: enough for a turn's requests; a fuller turn submits
 * early. Completion slots: a multishot request whose completion finds the
 * queue full is ended by the kernel and armed again here, so a deeper
 * queue only saves those re-arms. */
#define URING_SQ_ENTRIES 1024
#define URING_CQ_ENTRIES 8192

int
gnet__uring_submit(uring_t *u)
{
	u->submits++;
	return io_uring_submit(&u->ring);
}

struct io_uring_sqe *
gnet__uring_sqe(uring_t *u)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);

	if (sqe == NULL && u->enabled) {
		gnet__uring_submit(u);
		sqe = io_uring_get_sqe(&u->ring);
	}
	return sqe;
}

/* The waker's read: armed at each wait after it completed. The eventfd
 * is made blocking so that the read waits in the ring instead of failing
 * with EAGAIN; nothing else reads it (the loop drains only what is not
 * reported done). */
static void
arm_waker(uring_t *u)
{
	struct io_uring_sqe *sqe;

	if (u->wake_armed || (sqe = gnet__uring_sqe(u)) == NULL)
		return;
	io_uring_prep_read(sqe, u->wake_fd, &u->wake_value,
	    sizeof(u->wake_value), 0);
	io_uring_sqe_set_data64(sqe, URING_WAKER);
	u->wake_armed = true;
}

static int
took(uring_t *u, const struct io_uring_cqe *cqe, gnet__pevent_t *out,
    int32_t *res, int n)
{
	if (io_uring_cqe_get_data64(cqe) != URING_WAKER)
		return gnet__uring_took(u, cqe, out, res, n);
	u->wake_armed = false;
	/* Failed or not, the loop looks at its mail; the next wait reads
	 * again. */
	out[n].events = GNET__POLL_DONE | GNET__POLL_IN;
	out[n].tag = GNET__POLL_WAKER_TAG;
	res[n] = cqe->res;
	return n + 1;
}

static int
reap(uring_t *u, gnet__pevent_t *out, int32_t *res, int max)
{
	struct io_uring_cqe *cqe;
	unsigned head, seen = 0;
	int n = 0;

	/* Merging compares each descriptor's stamp with this count: at the
	 * wrap, stamps start again from nothing. */
	if (++u->batch == 0) {
		size_t i;
		for (i = 0; i < u->nfds; i++)
			u->fds[i].batch = 0;
		u->batch = 1;
	}
	io_uring_for_each_cqe(&u->ring, head, cqe) {
		if (n == max)
			break;
		n = took(u, cqe, out, res, n);
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

/*
 * Has everything queued reached the kernel? The wait's own call submits
 * it first, but a call that failed before submitting (rc, its result)
 * would leave sends queued past the wait, whose bytes the loop is then
 * free to move (kernel/poller.h): those are submitted now, and a ring
 * that takes none of them is broken -- false, and the loop stops rather
 * than send moved bytes.
 */
static bool
submitted(uring_t *u, int rc)
{
	int tries;

	for (tries = 0; io_uring_sq_ready(&u->ring) != 0 && tries < 8;
	    tries++) {
		if (rc == -EBUSY || rc == -EAGAIN)
			io_uring_submit_and_get_events(&u->ring);
		rc = gnet__uring_submit(u);
		if (rc < 0 && rc != -EINTR && rc != -EBUSY && rc != -EAGAIN)
			break;
	}
	if (io_uring_sq_ready(&u->ring) == 0)
		return true;
	gnet__log(0, "io_uring: %u requests cannot be submitted: %s",
	    io_uring_sq_ready(&u->ring), gnet_strerror(rc < 0 ? rc : -EIO));
	return false;
}

static int
ur_wait(gnet__poller_t *p, gnet__pevent_t *out, int32_t *res, int max,
    int timeout_ms)
{
	uring_t *u = p->priv;
	struct io_uring_cqe *cqe;
	int rc, n, fault;

	if (!u->enabled) {
		rc = enable(u);
		if (rc != 0)
			return rc;
		u->recv_len = p->recv_len != 0 && p->recv_len < URING_BUF_SIZE ?
		    p->recv_len : URING_BUF_SIZE;
	}
	if (max > GNET__POLL_BATCH)
		max = GNET__POLL_BATCH; /* the buffers one reap may lend */
	if (u->br != NULL) {
		gnet__uring_bufs_reclaim(u);
		if (u->bufs_short)
			gnet__uring_bufs_grow(u);
		u->bufs_short = false;
	}
	gnet__uring_arm_queued(u);
	if (u->wake_fd >= 0)
		arm_waker(u);
	u->submits++;
	/* An injected signal (base/fault.h) comes where a real one would:
	 * after io_uring_enter submitted, during its wait. */
	fault = gnet__fault(GNET__FAULT_WAIT);
	if (fault != 0) {
		rc = io_uring_submit(&u->ring);
		if (!submitted(u, rc))
			return rc < 0 ? rc : -EIO;
		return -fault;
	}
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
	n = reap(u, out, res, max);
	if (!submitted(u, rc))
		return rc < 0 ? rc : -EIO;
	if (n == 0 && rc < 0 && rc != -ETIME && rc != -EBUSY)
		return rc; /* -EINTR among them: the loop waits again */
	return n;
}

/* Submit the withdrawals of the descriptors closed in the loop's last
 * turn, and let the kernel run their completions, which drop its
 * references to the sockets. */
static void
ur_quiesce(gnet__poller_t *p)
{
	uring_t *u = p->priv;

	if (!u->enabled)
		return;
	u->submits++;
	io_uring_submit_and_get_events(&u->ring);
}

static void
ur_close(gnet__poller_t *p)
{
	uring_t *u = p->priv;

	if (u == NULL)
		return;
	gnet__uring_close_unreaped(u);
	io_uring_queue_exit(&u->ring);
	gnet__uring_accepts_free(u);
	gnet__uring_bufs_close(u);
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

/* Receives and sends through the ring: on a 6.1 ring (multishot receives
 * came in 6.0) with a buffer ring registered. GNET_URING_IO=poll in the
 * environment turns them off, to compare or to rule them out. */
static void
offer_completion(gnet__poller_t *p, uring_t *u)
{
	const char *env = getenv("GNET_URING_IO");
	int rc;

	if (!(u->ring.flags & IORING_SETUP_DEFER_TASKRUN) ||
	    (env != NULL && strcmp(env, "poll") == 0))
		return;
	rc = gnet__uring_bufs_open(u);
	if (rc != 0) {
		gnet__log(2, "io_uring: no buffer ring (%s): readiness only",
		    gnet_strerror(rc));
		return;
	}
	p->caps |= GNET__POLLER_COMPLETION;
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
	p->caps = 0;
	u->wake_fd = -1;
	offer_completion(p, u);
	if (p->caps & GNET__POLLER_COMPLETION) {
		int fl = fcntl(wake_fd, F_GETFL);
		if (fl >= 0 && fcntl(wake_fd, F_SETFL, fl & ~O_NONBLOCK) == 0) {
			u->wake_fd = wake_fd;
			return 0;
		}
	}
	/* Otherwise polled, level-triggered: drained when reported. */
	rc = gnet__uring_add(p, wake_fd, GNET__POLL_WAKER_TAG, GNET__POLL_IN);
	if (rc != 0)
		ur_close(p);
	return rc;
}

const gnet__poller_ops_t gnet__poller_uring = {
	.name = "io_uring",
	.open = ur_open,
	.close = ur_close,
	.add = gnet__uring_add,
	.mod = gnet__uring_mod,
	.del = gnet__uring_del,
	.wait = ur_wait,
	.quiesce = ur_quiesce,
	.received = gnet__uring_received,
	.send = gnet__uring_send,
	.accepted = gnet__uring_accepted,
};
