/*
 * raw_udp_echo -- the baseline for the UDP echo benchmark: a plain,
 * single-threaded epoll loop doing one recvfrom and one sendto per
 * datagram, with no batching. gnet's udp_echo (recvmmsg/sendmmsg) has to
 * spend less CPU per datagram than this.
 *
 * On each readiness event the socket is drained until EAGAIN; a reply the
 * socket buffer cannot take is dropped, as UDP allows.
 *
 *   raw_udp_echo [--port N]
 */
#include "peer.h"
#include <sys/epoll.h>

#define MAX_DGRAM 65536

int
main(int argc, char **argv)
{
	static char buf[MAX_DGRAM];
	struct epoll_event evs[8], ev = { .events = EPOLLIN };
	int port = peer_port(argc, argv, "raw_udp_echo");
	int fd, ep, n;

	peer_signals();
	fd = peer_bind(SOCK_DGRAM, port);
	ep = epoll_create1(EPOLL_CLOEXEC);
	ev.data.fd = fd;
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
		perror("epoll");
		return 1;
	}
	peer_announce("raw_udp_echo", "udp", fd);
	for (;;) {
		n = epoll_wait(ep, evs, 8, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("epoll_wait");
			return 1;
		}
		for (;;) {
			struct sockaddr_storage from;
			socklen_t flen = sizeof(from);
			ssize_t r = recvfrom(fd, buf, sizeof(buf), 0,
			    (struct sockaddr *)&from, &flen);
			if (r < 0)
				break; /* EAGAIN: wait for the next datagram */
			sendto(fd, buf, (size_t)r, 0, (struct sockaddr *)&from, flen);
		}
	}
}
