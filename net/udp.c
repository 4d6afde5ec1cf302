/*
 * UDP sockets as connection objects. A bound UDP socket is one actor on
 * one loop: each datagram is an on_traffic call with the sender as the
 * remote address, and writes become datagrams queued in the outbound
 * buffer. Both directions are batched -- recvmmsg fills up to UDP_BATCH
 * datagrams per call, and the end-of-iteration flush sends every queued
 * reply with sendmmsg -- so a busy socket costs far fewer syscalls than
 * one per datagram.
 *
 * Queued datagrams are records in the outbound buffer:
 *   [udp_rec_t header][payload][padding to 8 bytes]
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "net/sys.h"
#include "net/conn.h"

/* Datagrams per recvmmsg/sendmmsg: 32 amortises the syscall well (the
 * gains flatten beyond that) while keeping one batch's buffers modest. */
#define UDP_BATCH 32
/* recvmmsg rounds per readiness event before the loop does other work. */
#define UDP_READ_ROUNDS 4
/* iovecs per sendmmsg: room for every entry to be a full GSO run of
 * small datagrams would be 32 x 64; 512 covers the common runs. */
#define UDP_SEND_IOV 512
/* A GSO run: the kernel's segment limit (UDP_MAX_SEGMENTS, 64 on older
 * kernels) and a payload that stays below the 64 KiB IP packet with the
 * headers of either family. */
#define UDP_GSO_SEGS 64
#define UDP_GSO_BYTES 65000u
/* Largest IPv4 UDP payload: 65535 - 8 (UDP) - 20 (IP) bytes. */
#define UDP_MAX_PAYLOAD 65507u

typedef struct udp_rec {
	uint32_t len;            /* payload bytes */
	uint32_t addrlen;
	struct sockaddr_in6 addr; /* large enough for IPv4 and IPv6 */
} udp_rec_t;

#define REC_ALIGN 8
#define REC_HDR ((sizeof(udp_rec_t) + REC_ALIGN - 1) & ~(size_t)(REC_ALIGN - 1))

struct gnet__udp_batch {
	struct mmsghdr msgs[UDP_BATCH];
	struct iovec iov[UDP_BATCH];
	struct sockaddr_storage addrs[UDP_BATCH];
	size_t slot;             /* bytes per receive buffer */
	struct mmsghdr smsgs[UDP_BATCH];    /* the send side's entries */
	struct iovec siov[UDP_SEND_IOV];
	unsigned char *bufs;     /* UDP_BATCH * slot */
};

static size_t
rec_size(size_t len)
{
	return REC_HDR + ((len + REC_ALIGN - 1) & ~(size_t)(REC_ALIGN - 1));
}

int
gnet__udp_prepare(gnet__net_loop_t *nl)
{
	struct gnet__udp_batch *b;
	size_t slot = nl->net->opt->udp_max_datagram;

	if (nl->udp != NULL)
		return 0;
	b = calloc(1, sizeof(*b));
	if (b == NULL)
		return GNET_ENOMEM;
	/* One byte more than the largest accepted datagram, so a bigger one
	 * shows up as MSG_TRUNC instead of passing as a cut-off message. */
	b->slot = slot + 1;
	b->bufs = malloc(UDP_BATCH * b->slot);
	if (b->bufs == NULL) {
		free(b);
		return GNET_ENOMEM;
	}
	nl->udp = b;
	return 0;
}

void
gnet__udp_free_batch(gnet__net_loop_t *nl)
{
	if (nl->udp == NULL)
		return;
	free(nl->udp->bufs);
	free(nl->udp);
	nl->udp = NULL;
}

int
gnet__udp_attach(gnet__net_loop_t *nl, int fd, int listener,
    gnet_handle_t *out)
{
	gnet_conn_t *c;
	int rc = gnet__udp_prepare(nl);

	if (rc != 0) {
		close(fd);
		return rc;
	}
	c = gnet__conn_new(nl, &nl->net->listeners[listener].bh, fd, GNET__C_UDP,
	    GNET__CS_OPEN);
	if (c == NULL) {
		close(fd);
		return GNET_ENOMEM;
	}
	gnet__conn_fetch_addr(c, GNET__ADDR_LOCAL);
	*out = c->handle;
	return 0;
}

static void
udp_read(gnet_conn_t *c)
{
	gnet__net_loop_t *nl = c->nl;
	struct gnet__udp_batch *b = nl->udp;
	int round, i, n;

	for (round = 0; round < UDP_READ_ROUNDS; round++) {
		for (i = 0; i < UDP_BATCH; i++) {
			b->iov[i].iov_base = b->bufs + (size_t)i * b->slot;
			b->iov[i].iov_len = b->slot;
			memset(&b->msgs[i].msg_hdr, 0, sizeof(b->msgs[i].msg_hdr));
			b->msgs[i].msg_hdr.msg_iov = &b->iov[i];
			b->msgs[i].msg_hdr.msg_iovlen = 1;
			b->msgs[i].msg_hdr.msg_name = &b->addrs[i];
			b->msgs[i].msg_hdr.msg_namelen = sizeof(b->addrs[i]);
		}
		n = gnet__sys_recvmmsg(c->fd, b->msgs, UDP_BATCH, MSG_DONTWAIT);
		GNET__STAT_ADD(nl, syscalls_io, 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* EAGAIN: drained. Anything else (an ICMP error
			 * reported on the socket) concerns a past datagram,
			 * not the socket: try again at the next event. */
			return;
		}
		c->last_io_ns = c->loop->now_ns;
		for (i = 0; i < n; i++) {
			gnet_action_t a = GNET_NONE;
			if ((b->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) ||
			    b->msgs[i].msg_len > nl->net->opt->udp_max_datagram) {
				GNET__STAT_ADD(nl, udp_dropped, 1);
				continue;
			}
			GNET__STAT_ADD(nl, udp_in, 1);
			nl->bytes_in += b->msgs[i].msg_len;
			(void)gnet__conn_store_addr(c, GNET__ADDR_PEER, &b->addrs[i],
			    b->msgs[i].msg_hdr.msg_namelen);
			/* The datagram is the whole view; what the handler
			 * leaves is dropped, as a datagram is self-contained. */
			c->flags |= GNET__C_IN_FRAME;
			c->rp = b->iov[i].iov_base;
			c->rlen = b->msgs[i].msg_len;
			if (c->bh->ev.on_traffic != NULL)
				a = c->bh->ev.on_traffic(c, c->bh->udata);
			c->flags &= ~(unsigned)GNET__C_IN_FRAME;
			c->rp = NULL;
			c->rlen = 0;
			gnet__conn_after_callback(c, a);
			if (gnet__conn_closing(c) || (c->flags & GNET__C_PAUSED))
				return;
		}
		if (n < UDP_BATCH)
			return;
	}
}

int
gnet__udp_queue(gnet_conn_t *c, const struct sockaddr *to, socklen_t tolen,
    const struct iovec *iov, int iovcnt, size_t len)
{
	udp_rec_t rec;
	size_t start = c->out.len, pad;
	static const unsigned char zeros[REC_ALIGN];
	unsigned char hdr[REC_HDR];
	int i, rc = 0;

	if (to == NULL || tolen == 0 || tolen > sizeof(rec.addr) ||
	    (to->sa_family != AF_INET && to->sa_family != AF_INET6))
		return GNET_EINVAL;
	if (len > UDP_MAX_PAYLOAD)
		return GNET_EFRAMESIZE;
	memset(&rec, 0, sizeof(rec));
	rec.len = (uint32_t)len;
	rec.addrlen = tolen;
	memcpy(&rec.addr, to, tolen);
	memset(hdr, 0, sizeof(hdr));
	memcpy(hdr, &rec, sizeof(rec));
	rc = gnet__buf_append(&c->out, hdr, sizeof(hdr));
	for (i = 0; i < iovcnt && rc == 0; i++)
		rc = gnet__buf_append(&c->out, iov[i].iov_base, iov[i].iov_len);
	pad = rec_size(len) - REC_HDR - len;
	if (rc == 0 && pad != 0)
		rc = gnet__buf_append(&c->out, zeros, pad);
	if (rc != 0) {
		gnet__buf_truncate(&c->out, start);
		return rc;
	}
	gnet__conn_mark_dirty(c);
	return 0;
}

/* One sendmmsg entry: a datagram, or a run of datagrams sent as one
 * UDP_SEGMENT (GSO) send. */
typedef struct udp_send {
	size_t bytes;            /* record bytes to consume once sent */
	unsigned dgrams;         /* datagrams it carries */
	union {                  /* the UDP_SEGMENT control message */
		char buf[CMSG_SPACE(sizeof(uint16_t))];
		struct cmsghdr align;
	} ctl;
} udp_send_t;

/* Can rec join the GSO run that starts with first (run_dgrams datagrams,
 * run_bytes of payload so far)? A run goes to one address, and every
 * datagram of it but the last has the first one's size; the last may be
 * shorter (the kernel cuts the payload every first->len bytes). */
static int
gso_joins(const udp_rec_t *rec, const udp_rec_t *first, size_t run_bytes,
    unsigned run_dgrams)
{
	return run_dgrams < UDP_GSO_SEGS && rec->len != 0 &&
	    rec->len <= first->len && run_bytes + rec->len <= UDP_GSO_BYTES &&
	    rec->addrlen == first->addrlen &&
	    memcmp(&rec->addr, &first->addr, rec->addrlen) == 0;
}

/* Fill up to UDP_BATCH sendmmsg entries from the queued records; returns
 * how many. With GSO allowed, consecutive datagrams to one address with
 * one size become a single entry carrying a UDP_SEGMENT control message:
 * the kernel then builds, routes and passes down one buffer and cuts it
 * into datagrams at the device (or the loopback receiver) instead of
 * doing all of that once per datagram. */
static int
udp_fill_batch(struct gnet__udp_batch *b, gnet_conn_t *c, udp_send_t *sends)
{
	size_t off = 0;
	int k = 0, v = 0;
	int gso = !(c->flags & GNET__C_NO_GSO);

	while (k < UDP_BATCH && v < UDP_SEND_IOV && off < c->out.len) {
		unsigned char *p = c->out.data + c->out.off + off;
		struct msghdr *h = &b->smsgs[k].msg_hdr;
		udp_rec_t first, rec;
		size_t run_bytes;

		memcpy(&first, p, sizeof(first));
		memset(h, 0, sizeof(*h));
		h->msg_name = p + offsetof(udp_rec_t, addr);
		h->msg_namelen = first.addrlen;
		h->msg_iov = &b->siov[v];
		sends[k].bytes = 0;
		sends[k].dgrams = 0;
		run_bytes = 0;
		for (;;) {
			memcpy(&rec, p, sizeof(rec));
			b->siov[v].iov_base = p + REC_HDR;
			b->siov[v].iov_len = rec.len;
			v++;
			h->msg_iovlen++;
			run_bytes += rec.len;
			sends[k].bytes += rec_size(rec.len);
			sends[k].dgrams++;
			off += rec_size(rec.len);
			p += rec_size(rec.len);
			/* A shorter datagram ends the run; so does the end of
			 * the queue or of the iovec space. */
			if (!gso || rec.len < first.len || off >= c->out.len ||
			    v >= UDP_SEND_IOV)
				break;
			memcpy(&rec, p, sizeof(rec));
			if (!gso_joins(&rec, &first, run_bytes, sends[k].dgrams))
				break;
		}
		if (sends[k].dgrams > 1) {
			struct cmsghdr *cm;
			uint16_t seg = (uint16_t)first.len;

			h->msg_control = sends[k].ctl.buf;
			h->msg_controllen = sizeof(sends[k].ctl.buf);
			cm = CMSG_FIRSTHDR(h);
			cm->cmsg_level = SOL_UDP;
			cm->cmsg_type = UDP_SEGMENT;
			cm->cmsg_len = CMSG_LEN(sizeof(seg));
			memcpy(CMSG_DATA(cm), &seg, sizeof(seg));
		}
		k++;
	}
	return k;
}

/* The errors with which the kernel refuses a UDP_SEGMENT send itself (no
 * support, a segment over the route's MTU, a device that cannot checksum
 * it), as opposed to refusing the destination. */
static int
gso_refused(int err)
{
	return err == EINVAL || err == EIO || err == EMSGSIZE ||
	    err == ENOPROTOOPT || err == EOPNOTSUPP;
}

/* Send queued datagrams, UDP_BATCH entries per sendmmsg, until the socket
 * buffer is full. A datagram the kernel refuses (EMSGSIZE, an unreachable
 * address) is dropped and counted: UDP promises no delivery, and one bad
 * destination must not block the others. A GSO run the kernel refuses as
 * such is not dropped: the socket stops using GSO (an old kernel, a device
 * or route that cannot segment) and the run goes out again one datagram at
 * a time. */
void
gnet__udp_flush(gnet_conn_t *c)
{
	gnet__net_loop_t *nl = c->nl;
	struct gnet__udp_batch *b = nl->udp;
	udp_send_t sends[UDP_BATCH];

	while (c->out.len != 0) {
		int k = udp_fill_batch(b, c, sends), n, i;

		n = gnet__sys_sendmmsg(c->fd, b->smsgs, (unsigned)k, MSG_NOSIGNAL);
		GNET__STAT_ADD(nl, syscalls_io, 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (sends[0].dgrams > 1 && gso_refused(errno)) {
				c->flags |= GNET__C_NO_GSO;
				continue;
			}
			/* The first entry's destination refused it (every
			 * datagram of a run shares that destination). */
			n = 0;
			GNET__STAT_ADD(nl, udp_dropped, sends[0].dgrams);
			gnet__buf_consume(&c->out, sends[0].bytes);
		}
		for (i = 0; i < n; i++) {
			gnet__buf_consume(&c->out, sends[i].bytes);
			GNET__STAT_ADD(nl, udp_out, sends[i].dgrams);
			nl->bytes_out += sends[i].bytes;
		}
		if (n > 0)
			c->last_io_ns = c->loop->now_ns;
	}
}

long
gnet_conn_sendto(gnet_conn_t *c, const struct sockaddr *to, socklen_t tolen,
    const void *data, size_t n)
{
	struct iovec iov = { (void *)(uintptr_t)data, n };
	int rc;

	if (c == NULL || (data == NULL && n != 0))
		return GNET_EINVAL;
	if (gnet__tls_loop != c->loop)
		return GNET_ETHREAD;
	if (!(c->flags & GNET__C_UDP))
		return GNET_EINVAL;
	if (gnet__conn_closing(c))
		return GNET_ECLOSED;
	rc = gnet__udp_queue(c, to, tolen, &iov, 1, n);
	return rc != 0 ? rc : (long)n;
}

int
gnet_conn_is_udp(const gnet_conn_t *c)
{
	return c != NULL && gnet__tls_loop == c->loop &&
	    (c->flags & GNET__C_UDP) != 0;
}

/* The poller's event for a UDP socket (the kind's io). */
static void
udp_kind_io(gnet__loop_t *l, gnet__slot_t *s, uint32_t events,
    int32_t res)
{
	gnet_conn_t *c = s->obj;

	(void)res;
	if (gnet__conn_io_start(c, events))
		return;
	/* An error on a UDP socket is an ICMP report about some past
	 * datagram; the next receive returns and clears it. */
	if (!(events & (GNET__POLL_IN | GNET__POLL_ERR)) ||
	    !(c->ev_mask & GNET__POLL_IN))
		return;
	if (gnet__net_readers_parked(l, c->nl))
		gnet__conn_park_reader(c);
	else
		udp_read(c);
}

const gnet__kind_t gnet__udp_kind = {
	.name = "udp",
	.receive = gnet__conn_receive,
	.io = udp_kind_io,
	.stop = gnet__conn_stop,
	.group_close = gnet__conn_group_close,
	.describe = gnet__conn_describe,
};
