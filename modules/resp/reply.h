/*
 * A reply under construction: RESP2 bytes appended to a growable buffer.
 * Each loop keeps one and reuses it, so a reply allocates only while the
 * buffer grows past what earlier replies needed. Thread: the owner's.
 */
#ifndef RESP_REPLY_H
#define RESP_REPLY_H

#include <stddef.h>

typedef struct reply {
	char *buf;
	size_t len, cap;
	int failed;             /* an allocation failed: the bytes are cut */
} reply_t;

void reply_init(reply_t *r);
void reply_free(reply_t *r);
/* Empty it; a buffer grown past a large reply is given back. */
void reply_reset(reply_t *r);

void reply_raw(reply_t *r, const void *p, size_t n);
/* "+OK\r\n" from "OK". */
void reply_status(reply_t *r, const char *s);
/* "-ERR ...\r\n" from "ERR ...": the text is used as given, after CR and
 * LF are turned into blanks, as Redis does, so the reply stays one line. */
void reply_error(reply_t *r, const char *s);
void reply_errorf(reply_t *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void reply_int(reply_t *r, long long v);
void reply_bulk(reply_t *r, const void *p, size_t n);
void reply_bulk_cstr(reply_t *r, const char *s);
void reply_nil(reply_t *r);              /* "$-1\r\n" */
void reply_array(reply_t *r, long long n);  /* "*n\r\n" */
void reply_nil_array(reply_t *r);        /* "*-1\r\n" */

/* Redis's common errors, word for word. */
#define RESP_ERR_WRONGTYPE \
	"WRONGTYPE Operation against a key holding the wrong kind of value"
#define RESP_ERR_NOT_INT "ERR value is not an integer or out of range"
#define RESP_ERR_SYNTAX "ERR syntax error"
#define RESP_ERR_OVERFLOW "ERR increment or decrement would overflow"
#define RESP_ERR_OOM \
	"OOM command not allowed when used memory > 'maxmemory'."

#endif
