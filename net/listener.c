/*
 * TCP listeners and the acceptor. All listeners live on loop 0, which
 * accepts and hands each new socket to a loop in round-robin order: as a
 * direct adoption when the turn is its own, otherwise as an ADOPT message
 * through the loop-to-loop ring.
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>
#include "kernel/kernel.h"
#include "net/addr.h"

/* Connections accepted per readiness event before the loop turns to its
 * other work: bounds the time an accept storm can hold the acceptor. */
#define ACCEPT_BATCH 64
/* Out of descriptors: the pending connection stays readable, and a
 * level-triggered listener would be reported on every wait, spinning the
 * loop. So the listener sleeps this long (ms) before trying again. */
#define ACCEPT_RETRY_MS 100

static void
listener_watch(gnet__loop_t *l, gnet__listener_t *ls, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.u64 = ls->handle };

	epoll_ctl(l->epfd, EPOLL_CTL_MOD, ls->fd, &ev);
}

/* Stop watching the listener and ask the timer heap to wake it later. */
static void
listener_back_off(gnet__loop_t *l, gnet__listener_t *ls)
{
	gnet_msg_t m = {
		.to = gnet__loop_handle(l),
		.type = GNET__MSG_LISTEN_RETRY,
		.a = (uint64_t)(ls - l->eng->listeners),
	};

	listener_watch(l, ls, 0);
	if (gnet__timers_add(&l->timers, gnet__now_ns() +
	    ACCEPT_RETRY_MS * 1000000ull, &m) != 0)
		listener_watch(l, ls, EPOLLIN); /* no timer: keep trying */
}

void
gnet__listener_resume(gnet__loop_t *l, int index)
{
	gnet__listener_t *ls = &l->eng->listeners[index];

	if (ls->fd >= 0 && !l->stopping)
		listener_watch(l, ls, EPOLLIN);
}

int
gnet_engine_listen(gnet_engine_t *eng, const char *addr)
{
	gnet__addr_t a;
	gnet__listener_t *ls;
	gnet__loop_t *acceptor;
	struct epoll_event ev;
	int fd, one = 1, rc;

	if (eng == NULL)
		return GNET_EINVAL;
	rc = gnet__addr_parse(addr, &a);
	if (rc != 0)
		return rc;
	if (a.net != GNET__NET_TCP)
		return GNET_ENOTSUP;
	if (atomic_load(&eng->state) != GNET__ENG_NEW)
		return GNET_ESTATE;
	if (eng->nlisteners == GNET__MAX_LISTENERS)
		return GNET_ELIMIT;
	fd = socket(a.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* [::] means IPv6 only; listen on tcp://:port for IPv4 too. */
	if (a.ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a.ss, a.len) < 0 ||
	    listen(fd, eng->opt.backlog) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	ls = &eng->listeners[eng->nlisteners];
	ls->fd = fd;
	ls->addrlen = sizeof(ls->addr);
	getsockname(fd, (struct sockaddr *)&ls->addr, &ls->addrlen);
	acceptor = eng->loops[0];
	rc = gnet__slot_alloc(acceptor, GNET__SLOT_LISTENER, ls, &ls->handle);
	if (rc != 0) {
		close(fd);
		ls->fd = -1;
		return rc;
	}
	ev.events = EPOLLIN;
	ev.data.u64 = ls->handle;
	if (epoll_ctl(acceptor->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		rc = -errno;
		gnet__slot_free(acceptor, gnet__handle_slot(ls->handle));
		close(fd);
		ls->fd = -1;
		return rc;
	}
	eng->nlisteners++;
	return 0;
}

int
gnet_engine_addr(gnet_engine_t *eng, int index, struct sockaddr_storage *out,
    socklen_t *outlen)
{
	if (eng == NULL || out == NULL || index < 0 || index >= eng->nlisteners)
		return GNET_EINVAL;
	memcpy(out, &eng->listeners[index].addr, eng->listeners[index].addrlen);
	if (outlen != NULL)
		*outlen = eng->listeners[index].addrlen;
	return 0;
}

void
gnet__listener_accept(gnet__loop_t *l, gnet__listener_t *ls)
{
	gnet_engine_t *eng = l->eng;
	int i, fd;

	for (i = 0; i < ACCEPT_BATCH; i++) {
		unsigned dst;

		fd = accept4(ls->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				gnet__log(1, "accept: %s; retrying in %d ms",
				    strerror(errno), ACCEPT_RETRY_MS);
				listener_back_off(l, ls);
			} else if (errno != EAGAIN && errno != EWOULDBLOCK) {
				gnet__log(1, "accept: %s", strerror(errno));
			}
			return;
		}
		dst = eng->rr_next++ % (unsigned)eng->nloops;
		if ((int)dst == l->index) {
			gnet__conn_adopt(l, fd, (int)(ls - eng->listeners));
		} else {
			gnet_msg_t m = {
				.to = gnet__loop_handle(eng->loops[dst]),
				.type = GNET__MSG_ADOPT,
				.a = (uint64_t)fd,
				.b = (uint64_t)(ls - eng->listeners),
			};
			if (gnet__send(eng, &m) != 0)
				close(fd);
		}
	}
}

void
gnet__listeners_close(gnet_engine_t *eng)
{
	gnet__loop_t *acceptor = eng->loops != NULL ? eng->loops[0] : NULL;
	int i;

	for (i = 0; i < eng->nlisteners; i++) {
		gnet__listener_t *ls = &eng->listeners[i];
		if (ls->fd < 0)
			continue;
		if (acceptor != NULL) {
			epoll_ctl(acceptor->epfd, EPOLL_CTL_DEL, ls->fd, NULL);
			if (gnet__slot_lookup(acceptor, ls->handle) != NULL)
				gnet__slot_free(acceptor, gnet__handle_slot(ls->handle));
		}
		close(ls->fd);
		ls->fd = -1;
	}
}
