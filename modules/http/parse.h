/*
 * parse.h -- an incremental HTTP/1.1 request parser (RFC 9112) that
 * allocates nothing and copies nothing.
 *
 * It reads straight out of the connection's buffered input. Each call
 * gets the bytes not consumed so far, reports at most one event and says
 * how many bytes it used (ev->consumed); the caller drops those and, on
 * the next call, presents what is left followed by whatever arrived
 * since. A request's head is consumed only once it is whole, so an
 * incomplete head stays in the caller's buffer (bounded by
 * max_header_bytes); body bytes are consumed as they arrive, so a large
 * body is never held. The parser remembers where it stopped, so a head
 * trickling in is scanned once, not once per read.
 *
 * Events, in the order a request produces them:
 *
 *   HTTP_PARSE_HEAD   the request line and fields, in ev (method, target)
 *                     and the parser (version, keep_alive). If
 *                     http_parser_body_follows() is 0 the request is
 *                     complete here; otherwise BODY events follow and
 *                     then END.
 *   HTTP_PARSE_BODY   decoded body bytes (Content-Length or chunked) in
 *                     ev->body; may come in many pieces.
 *   HTTP_PARSE_END    the body was read completely (and, chunked, its
 *                     trailer section): the request is complete.
 *   HTTP_PARSE_AGAIN  more bytes are needed; nothing else to report.
 *   HTTP_PARSE_ERROR  the request is refused: p->status is the status to
 *                     answer (400, 413, 431, 501, 505), after which the
 *                     connection must close -- where the next request
 *                     would start is unknown. Every later call repeats it.
 *
 * A zeroed http_parser_t is a parser waiting for a request.
 *
 * What is accepted (RFC 9112 and 9110):
 *  - empty lines before a request line are skipped (2.2);
 *  - lines end in CRLF or a bare LF (2.2); any other CR is an error;
 *  - request line: token SP target SP "HTTP/" DIGIT "." DIGIT, single
 *    spaces; the target is visible ASCII; major version 1 only (else
 *    505), a minor above 1 is read as 1.1;
 *  - fields: token ":" OWS value OWS, no space before the colon, no
 *    obsolete line folding; values may hold HTAB, SP, visible ASCII and
 *    bytes >= 0x80, no other control byte;
 *  - HTTP/1.1 needs exactly one Host field (3.2);
 *  - Content-Length: digits; repeated only with the same value;
 *  - Transfer-Encoding: "chunked" last and once; another coding is 501;
 *    with Content-Length, or in an HTTP/1.0 request, 400 (6.1, 6.3);
 *  - chunk-size lines may carry extensions (ignored), trailer fields are
 *    checked as fields and ignored;
 *  - Connection: "close" and "keep-alive" tokens; HTTP/1.1 keeps the
 *    connection unless "close", HTTP/1.0 only with "keep-alive" (9.3);
 *  - Expect: "100-continue" is reported (expect_continue) for an HTTP/1.1
 *    request with a body; other expectations are ignored.
 *
 * Limits: the head (request line to blank line) may be at most
 * max_header_bytes (431 beyond); so may a chunk-size line (400) and a
 * trailer section (431). A body larger than max_body_bytes is refused
 * with 413: at the head for Content-Length, at the chunk-size line that
 * would pass it for chunked.
 */
#ifndef GNET_HTTP_PARSE_H
#define GNET_HTTP_PARSE_H

#include <stddef.h>
#include <stdint.h>

typedef struct http_limits {
	size_t max_header_bytes;  /* head, chunk-size line, trailer section */
	uint64_t max_body_bytes;  /* decoded body of one request */
} http_limits_t;

enum http_parse_result {
	HTTP_PARSE_AGAIN = 0,
	HTTP_PARSE_HEAD,
	HTTP_PARSE_BODY,
	HTTP_PARSE_END,
	HTTP_PARSE_ERROR
};

enum http_method {
	HTTP_METHOD_OTHER = 0,     /* any other token: the name is in ev */
	HTTP_METHOD_GET,
	HTTP_METHOD_HEAD,
	HTTP_METHOD_POST
};

/* Where the parser is; internal, but a caller may read it. */
enum http_phase {
	HTTP_PHASE_HEAD = 0,       /* waiting for or reading a head */
	HTTP_PHASE_BODY,           /* Content-Length bytes left */
	HTTP_PHASE_BODY_DONE,      /* all read; END not reported yet */
	HTTP_PHASE_CHUNK_SIZE,     /* a chunk-size line */
	HTTP_PHASE_CHUNK_DATA,     /* chunk bytes left */
	HTTP_PHASE_CHUNK_CRLF,     /* the line end after a chunk's data */
	HTTP_PHASE_TRAILER,        /* trailer fields up to the blank line */
	HTTP_PHASE_ERROR
};

typedef struct http_parser {
	uint8_t phase;            /* enum http_phase */
	/* The current request, valid at its HEAD and END events: */
	uint8_t method;           /* enum http_method */
	uint8_t version_minor;    /* 0: HTTP/1.0, 1: HTTP/1.1 */
	uint8_t keep_alive;       /* the connection stays open after it */
	uint8_t expect_continue;  /* a body follows and the client waits
	                           * for "100 Continue" before sending it */
	uint16_t status;          /* after HTTP_PARSE_ERROR */
	uint16_t fields;          /* HTTP_F_* seen in the head so far */
	/* Offsets into the unconsumed input of a head or line in progress: */
	uint32_t line;            /* start of the first line not parsed */
	uint32_t scanned;         /* bytes before it searched for "\n" */
	uint32_t target_off, target_len, method_len;
	uint32_t trailer_bytes;   /* trailer lines consumed so far */
	uint64_t content_length;
	uint64_t left;            /* of the Content-Length body or the chunk */
	uint64_t body_bytes;      /* chunked: announced so far */
} http_parser_t;

typedef struct http_event {
	size_t consumed;          /* input bytes used by this call */
	/* HTTP_PARSE_HEAD: pointers into the input, valid until the caller
	 * drops those bytes. */
	const char *method_name;
	size_t method_len;
	const char *target;
	size_t target_len;
	/* HTTP_PARSE_BODY */
	const char *body;
	size_t body_len;
} http_event_t;

/* One step; see the top of the file. */
int http_parse(http_parser_t *p, const http_limits_t *lim, const char *in,
    size_t n, http_event_t *ev);

/* After HTTP_PARSE_HEAD: 1 when BODY events and an END follow. */
static inline int
http_parser_body_follows(const http_parser_t *p)
{
	return p->phase != HTTP_PHASE_HEAD;
}

/* 1 when part of a head is buffered but not yet whole (bytes left
 * unconsumed after HTTP_PARSE_AGAIN in the head phase). */
static inline int
http_parser_in_head(const http_parser_t *p)
{
	return p->phase == HTTP_PHASE_HEAD;
}

#endif
