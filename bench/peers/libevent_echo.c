/*
 * libevent_echo -- the libevent peer for the echo benchmark, single loop,
 * written the way the libevent book writes an echo server: an
 * evconnlistener, one bufferevent per connection, and a read callback that
 * moves the whole input buffer to the output buffer with
 * evbuffer_add_buffer (no copy: the chains move). bufferevent does the
 * reading, writing and buffering.
 *
 *   libevent_echo [--port N]
 */
#include "peer.h"
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

static void
on_read(struct bufferevent *bev, void *arg)
{
	(void)arg;
	evbuffer_add_buffer(bufferevent_get_output(bev), bufferevent_get_input(bev));
}

static void
on_event(struct bufferevent *bev, short events, void *arg)
{
	(void)arg;
	if (events & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		bufferevent_free(bev);
}

static void
on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct event_base *base = evconnlistener_get_base(l);
	struct bufferevent *bev;

	(void)sa;
	(void)salen;
	(void)arg;
	peer_nodelay(fd);
	bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		evutil_closesocket(fd);
		return;
	}
	bufferevent_setcb(bev, on_read, NULL, on_event, NULL);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

int
main(int argc, char **argv)
{
	int port = peer_port(argc, argv, "libevent_echo");
	struct event_base *base;
	struct evconnlistener *l;
	int fd;

	peer_signals();
	base = event_base_new();
	if (base == NULL) {
		fprintf(stderr, "libevent_echo: event_base_new failed\n");
		return 1;
	}
	fd = peer_bind(SOCK_STREAM, port);
	l = evconnlistener_new(base, on_accept, NULL, LEV_OPT_CLOSE_ON_FREE, -1, fd);
	if (l == NULL) {
		fprintf(stderr, "libevent_echo: evconnlistener_new failed\n");
		return 1;
	}
	peer_announce("libevent_echo", "tcp", fd);
	return event_base_dispatch(base) == 0 ? 0 : 1;
}
