/*
 * response.c -- formatting HTTP/1.1 responses and the Date header (see
 * response.h).
 *
 * The date is written from tables rather than with strftime, whose day
 * and month names follow the locale; HTTP wants the English ones always.
 */
#include <string.h>
#include "response.h"

static const char days[7][4] = {
	"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
};
static const char months[12][4] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

static char *
two_digits(char *p, int v)
{
	*p++ = (char)('0' + v / 10 % 10);
	*p++ = (char)('0' + v % 10);
	return p;
}

void
http_date_format(char *out, time_t t)
{
	struct tm tm;
	char *p = out;

	if (gmtime_r(&t, &tm) == NULL) {
		t = 0; /* beyond struct tm: never for a clock's time */
		gmtime_r(&t, &tm);
	}
	memcpy(p, days[tm.tm_wday], 3);
	p += 3;
	*p++ = ',';
	*p++ = ' ';
	p = two_digits(p, tm.tm_mday);
	*p++ = ' ';
	memcpy(p, months[tm.tm_mon], 3);
	p += 3;
	*p++ = ' ';
	p = two_digits(p, (tm.tm_year + 1900) / 100);
	p = two_digits(p, (tm.tm_year + 1900) % 100);
	*p++ = ' ';
	p = two_digits(p, tm.tm_hour);
	*p++ = ':';
	p = two_digits(p, tm.tm_min);
	*p++ = ':';
	p = two_digits(p, tm.tm_sec);
	memcpy(p, " GMT", 5);
}

const char *
http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 413: return "Content Too Large";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

/* Appending to a fixed buffer: past cap only the length grows, so one
 * check at the end tells whether everything fit. */
typedef struct out {
	char *buf;
	size_t cap, len;
} out_t;

static void
put(out_t *o, const char *s, size_t n)
{
	if (o->len + n <= o->cap)
		memcpy(o->buf + o->len, s, n);
	o->len += n;
}

static void
put_str(out_t *o, const char *s)
{
	put(o, s, strlen(s));
}

static void
put_uint(out_t *o, unsigned long long v)
{
	char digits[20];
	size_t i = sizeof digits;

	do {
		digits[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	put(o, digits + i, sizeof digits - i);
}

size_t
http_response_format(char *buf, size_t cap, const http_response_t *r,
    size_t *head_len)
{
	out_t o = { buf, cap, 0 };

	put_str(&o, "HTTP/1.1 ");
	put_uint(&o, (unsigned)r->status);
	put(&o, " ", 1);
	put_str(&o, http_reason(r->status));
	put_str(&o, "\r\nServer: ");
	put_str(&o, r->server);
	put_str(&o, "\r\nDate: ");
	put(&o, r->date, HTTP_DATE_LEN);
	if (r->content_type != NULL) {
		put_str(&o, "\r\nContent-Type: ");
		put_str(&o, r->content_type);
	}
	put_str(&o, "\r\nContent-Length: ");
	put_uint(&o, r->body_len);
	if (r->connection == HTTP_CONN_CLOSE)
		put_str(&o, "\r\nConnection: close");
	else if (r->connection == HTTP_CONN_KEEP_ALIVE)
		put_str(&o, "\r\nConnection: keep-alive");
	put_str(&o, "\r\n");
	if (r->extra != NULL)
		put_str(&o, r->extra);
	put_str(&o, "\r\n");
	if (head_len != NULL)
		*head_len = o.len;
	if (!r->head_only && r->body_len != 0)
		put(&o, r->body, r->body_len);
	return o.len <= cap ? o.len : 0;
}
