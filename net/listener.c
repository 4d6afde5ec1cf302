/*
 * Listeners and the acceptor.
 *
 * Stream listeners (tcp://, unix://) normally live on loop 0, which
 * accepts and hands each new socket to a loop chosen by the load balancer:
 * as a direct adoption when the choice is itself, otherwise as an ADOPT
 * message to that loop's dialer actor through the loop-to-loop ring. With reuseport every loop has its
 * own listening socket on the same address and the kernel spreads
 * connections; each loop then adopts what it accepts.
 *
 * A UDP listener is a bound socket wrapped in a connection object
 * (net/udp.c), one per loop with reuseport, otherwise one on a single loop.
 */
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "base/fault.h"
#include "net/addr.h"
#include "net/conn.h"

/* Connections accepted per readiness event before the loop turns to its
 * other work: bounds the time an accept storm can hold the acceptor. */
#define ACCEPT_BATCH 64
/* Out of descriptors: the pending connection stays readable, and a
 * level-triggered listener would be reported on every wait, spinning the
 * loop. So the listener sleeps this long (ms) before trying again. */
#define ACCEPT_RETRY_MS 100

/* Interest in connections: a completion backend accepts them itself
 * (GNET__POLL_ACCEPT), in the wait's own system call. */
static uint32_t
accepting(const gnet__loop_t *l)
{
	return l->poller.caps & GNET__POLLER_COMPLETION ?
	    GNET__POLL_IN | GNET__POLL_ACCEPT : GNET__POLL_IN;
}

static void
listener_watch(gnet__loop_t *l, int fd, gnet_handle_t h, uint32_t events)
{
	gnet__poller_mod(&l->poller, fd, h, events);
}

/* The socket of listener ls that loop l serves, or -1. */
static int
socket_of(const gnet__listener_t *ls, const gnet__loop_t *l)
{
	int k;

	for (k = 0; k < ls->nfds; k++)
		if (ls->loop_of[k] == l->index)
			return k;
	return -1;
}

/* Stop watching the listener and set a timer to watch it again later:
 * a message to itself. */
static void
listener_back_off(gnet__loop_t *l, gnet__listener_t *ls, int k)
{
	gnet_msg_t m = { .to = ls->handles[k], .type = GNET__MSG_LISTEN_RETRY };

	listener_watch(l, ls->fds[k], ls->handles[k], 0);
	if (gnet__loop_timer(l, gnet__now_ns() + ACCEPT_RETRY_MS * GNET__NS_PER_MS,
	    &m) != 0)
		listener_watch(l, ls->fds[k], ls->handles[k], accepting(l));
}

/* The listener kind's messages: only its own retry timer. The slot's
 * object is the listener; the loop's socket of it is socket_of's. A
 * listener closed meanwhile has freed its slot, so the timer never
 * arrives. */
static void
listener_receive(gnet__loop_t *l, void *obj, const gnet_msg_t *m)
{
	gnet__listener_t *ls = obj;
	int k = socket_of(ls, l);

	if (m->type == GNET__MSG_LISTEN_RETRY && k >= 0 && ls->fds[k] >= 0 &&
	    !l->stopping)
		listener_watch(l, ls->fds[k], ls->handles[k], accepting(l));
}

/* A unix:// path already taken: a socket nobody accepts on is a leftover
 * of a dead server and is removed; anything else is in use. */
static int
clear_stale_unix(const struct sockaddr_un *sa, socklen_t len)
{
	struct stat st;
	int fd, rc;

	if (lstat(sa->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EADDRINUSE;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	rc = connect(fd, (const struct sockaddr *)sa, len);
	if (rc == 0 || (errno != ECONNREFUSED && errno != ENOENT)) {
		close(fd);
		return -EADDRINUSE;
	}
	close(fd);
	if (unlink(sa->sun_path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

static int
set_int(int fd, int level, int name, int v)
{
	return setsockopt(fd, level, name, &v, sizeof(v)) < 0 ? -errno : 0;
}

/* One socket bound to a: listening for streams, or a bound UDP socket. */
static int
open_socket(const gnet_options_t *o, const gnet__addr_t *a, int *out)
{
	int type = a->net == GNET__NET_UDP ? SOCK_DGRAM : SOCK_STREAM;
	int fd, rc = 0;

	fd = socket(a->ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (a->net != GNET__NET_UNIX) {
		if (o->reuseaddr >= 0)
			rc = set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1);
		if (rc == 0 && o->reuseport)
			rc = set_int(fd, SOL_SOCKET, SO_REUSEPORT, 1);
		/* [::] means IPv6 only; listen on tcp://:port for IPv4 too. */
		if (rc == 0 && a->ss.ss_family == AF_INET6)
			rc = set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1);
		if (rc == 0 && o->bind_device != NULL &&
		    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, o->bind_device,
		    (socklen_t)strlen(o->bind_device)) < 0)
			rc = -errno;
		if (rc == 0 && type == SOCK_DGRAM && o->sndbuf > 0)
			rc = set_int(fd, SOL_SOCKET, SO_SNDBUF, o->sndbuf);
		if (rc == 0 && type == SOCK_DGRAM && o->rcvbuf > 0)
			rc = set_int(fd, SOL_SOCKET, SO_RCVBUF, o->rcvbuf);
	}
	if (rc == 0 && bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0)
		rc = -errno;
	else if (rc == 0 && type == SOCK_STREAM && listen(fd, o->backlog) < 0) {
		rc = -errno;
		/* bind created the file: do not leave it behind. */
		if (a->net == GNET__NET_UNIX)
			unlink(((const struct sockaddr_un *)&a->ss)->sun_path);
	}
	if (rc != 0) {
		close(fd);
		return rc;
	}
	*out = fd;
	return 0;
}

/* Register socket k of ls with the loop that serves it. */
static int
attach_socket(gnet__net_t *net, gnet__listener_t *ls, int k)
{
	gnet__loop_t *l = net->eng->loops[ls->loop_of[k]];
	int index = (int)(ls - net->listeners);
	int rc;

	if (ls->net == GNET__NET_UDP)
		return gnet__udp_attach(gnet__net_loop(l), ls->fds[k], index,
		    &ls->handles[k]);
	rc = gnet__slot_alloc(l, &gnet__listener_kind, ls, &ls->handles[k]);
	if (rc != 0)
		return rc;
	rc = gnet__poller_add(&l->poller, ls->fds[k], ls->handles[k],
	    accepting(l));
	if (rc != 0) {
		gnet__slot_free(l, gnet__handle_slot(ls->handles[k]));
		ls->handles[k] = GNET_HANDLE_NONE;
		return rc;
	}
	/* Each listening socket is a member of the listener's group until it
	 * closes (a UDP socket is, as its connection object). */
	gnet__group_join(ls->bh.group);
	return 0;
}

static void
close_socket(gnet__net_t *net, gnet__listener_t *ls, int k)
{
	gnet__loop_t *l = net->eng->loops != NULL ?
	    net->eng->loops[ls->loop_of[k]] : NULL;

	if (ls->fds[k] < 0)
		return;
	if (l != NULL && ls->handles[k] != GNET_HANDLE_NONE) {
		gnet__slot_t *s = gnet__slot_lookup(l, ls->handles[k]);
		if (s != NULL && s->kind == &gnet__listener_kind) {
			gnet__poller_del(&l->poller, ls->fds[k]);
			gnet__slot_free(l, gnet__handle_slot(ls->handles[k]));
		}
	}
	/* A UDP socket belongs to its connection object, which closes it. */
	if (ls->net != GNET__NET_UDP) {
		close(ls->fds[k]);
		if (ls->handles[k] != GNET_HANDLE_NONE)
			gnet__group_leave(ls->bh.group);
	}
	ls->fds[k] = -1;
	ls->handles[k] = GNET_HANDLE_NONE;
}

static void
remove_unix_file(gnet__listener_t *ls)
{
	struct stat st;

	/* Only our own file: another server may have replaced it since. */
	if (ls->path[0] != '\0' && lstat(ls->path, &st) == 0 &&
	    (unsigned long long)st.st_dev == ls->dev &&
	    (unsigned long long)st.st_ino == ls->ino)
		unlink(ls->path);
	ls->path[0] = '\0';
}

static void
remember_unix_file(gnet__listener_t *ls, const gnet__addr_t *a)
{
	const char *p = ((const struct sockaddr_un *)&a->ss)->sun_path;
	struct stat st;

	memcpy(&ls->addr, &a->ss, a->len);
	ls->addrlen = a->len;
	memcpy(ls->path, p, strlen(p) + 1);
	if (lstat(p, &st) == 0) {
		ls->dev = (unsigned long long)st.st_dev;
		ls->ino = (unsigned long long)st.st_ino;
	}
}

/* The behaviour opts describe, on top of the engine's. */
static int
behaviour_of(gnet_engine_t *eng, const gnet_listen_options_t *opts,
    gnet__behaviour_t *bh)
{
	gnet_listen_options_t o;
	int rc;

	*bh = gnet__net_of(eng)->bh;
	if (opts == NULL)
		return 0;
	rc = gnet__struct_in(&o, sizeof(o),
	    GNET__SIZE_THROUGH(gnet_listen_options_t, group), opts);
	if (rc != 0)
		return rc;
	if (o.conn_state_size > GNET_MAX_CONN_STATE ||
	    (o.group != NULL && o.group->eng != eng))
		return GNET_EINVAL;
	if (gnet__group_closing(o.group))
		return GNET_ESHUTDOWN;
	if (o.events != NULL) {
		rc = gnet__struct_in(&bh->ev, sizeof(bh->ev),
		    GNET__SIZE_THROUGH(gnet_events_t, on_dial_error), o.events);
		if (rc != 0)
			return rc;
		bh->udata = o.udata;
	}
	if (o.codec != NULL)
		bh->codec = o.codec;
	bh->state_size = o.conn_state_size;
	bh->group = o.group;
	bh->max_conns = o.max_conns;
	return 0;
}

int
gnet_engine_listen(gnet_engine_t *eng, const char *addr)
{
	int rc = gnet_engine_listen_with(eng, addr, NULL);

	return rc < 0 ? rc : 0;
}

int
gnet_engine_listen_with(gnet_engine_t *eng, const char *addr,
    const gnet_listen_options_t *opts)
{
	gnet__net_t *net;
	gnet__addr_t a;
	gnet__behaviour_t bh;
	gnet__listener_t *ls;
	int rc, k, index;

	if (eng == NULL)
		return GNET_EINVAL;
	net = gnet__net_of(eng);
	rc = gnet__addr_parse(addr, &a);
	if (rc == 0)
		rc = behaviour_of(eng, opts, &bh);
	if (rc != 0)
		return rc;
	if (atomic_load(&eng->state) != GNET__ENG_NEW)
		return GNET_ESTATE;
	if (net->nlisteners == GNET__MAX_LISTENERS)
		return GNET_ELIMIT;
	index = net->nlisteners;
	ls = &net->listeners[index];
	memset(ls, 0, sizeof(*ls));
	ls->bh = bh;
	atomic_init(&ls->conns, 0);
	if (a.net != GNET__NET_UDP)
		ls->bh.conns = &ls->conns;
	ls->net = a.net;
	if (a.net == GNET__NET_UNIX) {
		rc = clear_stale_unix((struct sockaddr_un *)&a.ss, a.len);
		if (rc != 0)
			return rc;
	}
	/* Unix sockets have no SO_REUSEPORT: one acceptor serves them. */
	ls->nfds = (net->opt->reuseport && a.net != GNET__NET_UNIX) ? eng->nloops : 1;
	for (k = 0; k < ls->nfds; k++) {
		ls->fds[k] = -1;
		ls->loop_of[k] = ls->nfds > 1 ? k :
		    (a.net == GNET__NET_UDP ? index % eng->nloops : 0);
	}
	for (k = 0; k < ls->nfds && rc == 0; k++) {
		rc = open_socket(net->opt, &a, &ls->fds[k]);
		/* Port 0: the other loops' sockets join the port the first
		 * one was given. */
		if (rc == 0 && k == 0) {
			ls->addrlen = sizeof(ls->addr);
			getsockname(ls->fds[0], (struct sockaddr *)&ls->addr, &ls->addrlen);
			if (a.net == GNET__NET_UNIX)
				remember_unix_file(ls, &a);
			else {
				memcpy(&a.ss, &ls->addr, ls->addrlen);
				a.len = ls->addrlen;
			}
		}
		if (rc == 0)
			rc = attach_socket(net, ls, k);
	}
	if (rc != 0) {
		for (k = 0; k < ls->nfds; k++) {
			if (ls->net == GNET__NET_UDP && ls->handles[k] != GNET_HANDLE_NONE) {
				gnet__loop_t *l = eng->loops[ls->loop_of[k]];
				gnet__slot_t *s = gnet__slot_lookup(l, ls->handles[k]);
				if (s != NULL && s->kind == &gnet__udp_kind)
					gnet__conn_finish(s->obj);
				ls->fds[k] = -1;
				ls->handles[k] = GNET_HANDLE_NONE;
				continue;
			}
			close_socket(net, ls, k);
		}
		remove_unix_file(ls);
		return rc;
	}
	net->nlisteners++;
	return index;
}

int
gnet_engine_addr(gnet_engine_t *eng, int index, struct sockaddr_storage *out,
    socklen_t *outlen)
{
	gnet__net_t *net;

	if (eng == NULL || out == NULL || index < 0)
		return GNET_EINVAL;
	net = gnet__net_of(eng);
	if (index >= net->nlisteners)
		return GNET_EINVAL;
	memcpy(out, &net->listeners[index].addr, net->listeners[index].addrlen);
	if (outlen != NULL)
		*outlen = net->listeners[index].addrlen;
	return 0;
}

/* FNV-1a over the client's IP only: the port changes with every
 * connection, and affinity is per client. */
static unsigned
source_hash(const struct sockaddr_storage *ss)
{
	const unsigned char *p = NULL;
	size_t n = 0, i;
	uint32_t h = 2166136261u;

	if (ss->ss_family == AF_INET) {
		p = (const unsigned char *)&((const struct sockaddr_in *)ss)->sin_addr;
		n = 4;
	} else if (ss->ss_family == AF_INET6) {
		p = (const unsigned char *)&((const struct sockaddr_in6 *)ss)->sin6_addr;
		n = 16;
	}
	for (i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

/* peer may be NULL (not known): the source hash is then that of no
 * address. */
static unsigned
pick_loop(gnet__net_t *net, const struct sockaddr *peer)
{
	static const struct sockaddr_storage unknown;
	gnet_engine_t *eng = net->eng;
	unsigned n = (unsigned)eng->nloops, best = 0, i;
	int min;

	switch (net->opt->lb) {
	case GNET_LB_LEAST_CONNECTIONS:
		min = atomic_load_explicit(&gnet__net_loop(eng->loops[0])->live,
		    memory_order_relaxed);
		for (i = 1; i < n; i++) {
			int v = atomic_load_explicit(
			    &gnet__net_loop(eng->loops[i])->live,
			    memory_order_relaxed);
			if (v < min) {
				min = v;
				best = i;
			}
		}
		return best;
	case GNET_LB_SOURCE_HASH:
		return source_hash(peer != NULL ?
		    (const struct sockaddr_storage *)(const void *)peer :
		    &unknown) % n;
	default:
		return net->rr_next++ % n;
	}
}

/* Out of descriptors or memory: the connection stays in the backlog
 * and the listener sleeps (ACCEPT_RETRY_MS); any other failure is
 * logged and accepting goes on. */
static void
accept_failed(gnet__loop_t *l, gnet__listener_t *ls, int k, int err)
{
	if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
		gnet__log(1, "accept: %s; retrying in %d ms", strerror(err),
		    ACCEPT_RETRY_MS);
		listener_back_off(l, ls, k);
	} else if (err != EAGAIN && err != EWOULDBLOCK) {
		gnet__log(1, "accept: %s", strerror(err));
	}
}

/* A connection accepted on socket k of ls: refused at max_conns, else
 * handed to the loop the balancer picks. */
static void
hand_off(gnet__loop_t *l, gnet__listener_t *ls, int fd,
    const struct sockaddr *peer, socklen_t plen)
{
	gnet__net_loop_t *nl = gnet__net_loop(l), *dnl;
	gnet__net_t *net = nl->net;
	gnet_engine_t *eng = l->eng;
	int index = (int)(ls - net->listeners);
	unsigned dst, open_before;

	/* At max_conns: accepted only to be closed, so the client hears at
	 * once instead of waiting in the backlog. Counted first, so
	 * acceptors of several loops (reuseport) cannot both take the last
	 * place. */
	open_before = atomic_fetch_add_explicit(&ls->conns, 1,
	    memory_order_relaxed);
	if (ls->bh.max_conns != 0 && open_before >= ls->bh.max_conns) {
		/* Counted before the close: a client that saw its end sees
		 * the count. */
		GNET__STAT_ADD(nl, conns_refused, 1);
		gnet__listener_conn_gone(&ls->bh);
		close(fd);
		return;
	}
	/* With reuseport the kernel already balanced: keep it here. */
	dst = ls->nfds > 1 ? (unsigned)l->index : pick_loop(net, peer);
	dnl = gnet__net_loop(eng->loops[dst]);
	atomic_fetch_add_explicit(&dnl->live, 1, memory_order_relaxed);
	/* On its way to its loop the socket is a member of the listener's
	 * group: gnet__conn_adopt (or the ADOPT message's drop) leaves for
	 * it. */
	gnet__group_join(ls->bh.group);
	if (dnl == nl) {
		gnet__conn_adopt(nl, fd, index, peer, plen);
	} else {
		gnet_msg_t m = {
			.to = dnl->dialer,
			.type = GNET__MSG_ADOPT,
			.a = (uint64_t)fd,
			.b = (uint64_t)index,
		};
		if (gnet__send(eng, &m) != 0) {
			atomic_fetch_sub_explicit(&dnl->live, 1,
			    memory_order_relaxed);
			gnet__listener_conn_gone(&ls->bh);
			close(fd);
			gnet__group_leave(ls->bh.group);
		}
	}
}

/* The listener kind's io: a connection the poller accepted (res: its
 * descriptor, or a negated errno), or readiness: accept what is
 * pending, up to a batch. */
static void
listener_io(gnet__loop_t *l, gnet__slot_t *s, uint32_t events,
    int32_t res)
{
	gnet__listener_t *ls = s->obj;
	int i, fd, k = socket_of(ls, l);

	if (k < 0) {
		if ((events & GNET__POLL_DONE) && res >= 0)
			close(res);
		return;
	}
	if (events & GNET__POLL_DONE) {
		socklen_t plen = 0;
		const struct sockaddr *peer;
		if (res < 0) {
			accept_failed(l, ls, k, -res);
			return;
		}
		peer = l->poller.ops->accepted(&l->poller, ls->fds[k], events,
		    &plen);
		hand_off(l, ls, res, peer, plen);
		return;
	}
	for (i = 0; i < ACCEPT_BATCH; i++) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);

		fd = gnet__fault_fails(GNET__FAULT_ACCEPT) ? -1 :
		    accept4(ls->fds[k], (struct sockaddr *)&peer, &plen,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			accept_failed(l, ls, k, errno);
			return;
		}
		hand_off(l, ls, fd, (const struct sockaddr *)&peer, plen);
	}
}

void
gnet__listeners_close(gnet__net_t *net, gnet__loop_t *l)
{
	int i, k;

	/* Each loop touches only its own sockets: no locking needed. A
	 * unix listener has a single socket, so its loop owns the file. */
	for (i = 0; i < net->nlisteners; i++) {
		gnet__listener_t *ls = &net->listeners[i];
		for (k = 0; k < ls->nfds; k++) {
			if (l != NULL && ls->loop_of[k] != l->index)
				continue;
			/* UDP sockets close with their connection objects. */
			if (ls->net == GNET__NET_UDP && l != NULL)
				continue;
			close_socket(net, ls, k);
			if (ls->net == GNET__NET_UNIX)
				remove_unix_file(ls);
		}
	}
}

/* gnet_group_close: this loop's socket of a listener of group g closes.
 * A UDP listener's socket is a connection object, which its own kind
 * closes. */
static void
listener_group_close(gnet__loop_t *l, void *obj, struct gnet_group *g)
{
	gnet__listener_t *ls = obj;
	gnet__net_t *net = gnet__net_loop(l)->net;
	int k = socket_of(ls, l);

	if (ls->bh.group != g || k < 0)
		return;
	close_socket(net, ls, k);
	if (ls->net == GNET__NET_UNIX)
		remove_unix_file(ls);
}

const gnet__kind_t gnet__listener_kind = {
	.name = "listener",
	.receive = listener_receive,
	.io = listener_io,
	.group_close = listener_group_close,
	.describe = gnet__listener_describe,
};
