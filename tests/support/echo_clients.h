/*
 * echo_clients.h -- clients that send their own pseudo-random data to an
 * echo server and check every byte that comes back.
 *
 *   echo_streams: k stream sockets (tcp or unix) at once under tn_pump;
 *   echo_dgrams:  k UDP sockets, each keeping a window of datagrams
 *                 unanswered; nothing is resent, so a lost datagram
 *                 stalls its client and is reported as lost.
 *
 * Both fail the current test, with the first client's problem, unless
 * every client got exactly its data back within ECHO_CLIENTS_MS. The UDP
 * clients are also available step by step (udp_clients_*) for tests that
 * time or stage the exchange. A datagram is: client id (4 bytes),
 * sequence number (4 bytes), pseudo-random bytes.
 */
#ifndef TESTS_SUPPORT_ECHO_CLIENTS_H
#define TESTS_SUPPORT_ECHO_CLIENTS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define ECHO_CLIENTS_MS 60000   /* for one whole multi-client exchange */
#define UDP_RX_CAP 65536u       /* a receive buffer for any datagram */

/* k stream clients each echo `bytes` of their own data (seed + i). */
void echo_streams(const struct sockaddr *sa, socklen_t len, int k,
    size_t bytes, uint64_t seed, const char *what);
/* k UDP clients exchange `total` datagrams of dlen bytes each with sa,
 * at most `window` unanswered per client. */
void echo_dgrams(const struct sockaddr *sa, socklen_t len, size_t k,
    unsigned total, size_t dlen, unsigned window, const char *what);

/* A UDP socket with a roomy receive buffer, connected to sa when not NULL
 * (else bound to 127.0.0.1:0), or -1. */
int udp_socket(const struct sockaddr *sa, socklen_t len);

typedef struct udp_client {
	int fd;
	unsigned id;
	unsigned total;         /* datagrams to exchange */
	unsigned sent, recvd;
	uint8_t *seen;          /* per sequence number */
	char error[192];
} udp_client_t;

/* k clients connected to sa, each to exchange `total` datagrams. */
udp_client_t *udp_clients_open(const struct sockaddr *sa, socklen_t len,
    size_t k, unsigned total);
void udp_clients_close(udp_client_t *cl, size_t k);
/* Send until each client has `window` datagrams unanswered (or all sent);
 * buf holds dlen bytes. */
void udp_clients_send_window(udp_client_t *cl, size_t k, size_t dlen,
    unsigned window, uint8_t *buf);
/* Run every client to completion. Returns the number that failed; their
 * error says why (a stall means lost datagrams). */
int udp_clients_pump(udp_client_t *cl, size_t k, size_t dlen,
    unsigned window, int timeout_ms);
/* The first client error as "client i: ...", or "". */
const char *udp_clients_error(const udp_client_t *cl, size_t k);

#endif
