/*
 * fmt.c -- numbers, durations and flags in the short forms the text
 * columns have room for. Counts and rates use powers of 1000 (k, M, G),
 * bytes powers of 1024 (K, M, G), as top and ss do; the JSON output
 * carries the exact values.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "top.h"

static const char *const flag_names[] = {
	"PAUSED", "READ_OFF", "CLOSING", "OUTBOUND", "MUTED", "CONNECTING"
};

static const char *const state_names[] = {
	"starting", "waiting", "running", "stopped"
};

/* v scaled by `step` until it fits 4 digits, with one decimal below 10. */
static char *
scaled(char *buf, size_t cap, double v, double step, const char *units)
{
	int u = 0;

	while (v >= 999.5 && units[u + 1] != '\0') {
		v /= step;
		u++;
	}
	if (u == 0 && v == floor(v))
		snprintf(buf, cap, "%.0f", v);
	else if (v < 9.95)
		snprintf(buf, cap, "%.1f%c", v, units[u]);
	else
		snprintf(buf, cap, "%.0f%c", v, units[u]);
	/* The unit of 1 is a space in the table: drop it. */
	if (u == 0 && buf[0] != '\0' && buf[strlen(buf) - 1] == ' ')
		buf[strlen(buf) - 1] = '\0';
	return buf;
}

char *
top_fmt_count(char *buf, size_t cap, uint64_t n)
{
	return scaled(buf, cap, (double)n, 1000, " kMGTPE");
}

char *
top_fmt_rate(char *buf, size_t cap, double r)
{
	if (isnan(r)) {
		snprintf(buf, cap, "-");
		return buf;
	}
	if (r < 0) {
		/* A gauge going down: its sign matters more than digits. */
		scaled(buf + 1, cap - 1, -r, 1000, " kMGTPE");
		buf[0] = '-';
		return buf;
	}
	return scaled(buf, cap, r, 1000, " kMGTPE");
}

char *
top_fmt_bytes(char *buf, size_t cap, uint64_t n)
{
	return scaled(buf, cap, (double)n, 1024, " KMGTPE");
}

char *
top_fmt_ms(char *buf, size_t cap, uint64_t ms)
{
	uint64_t s = ms / 1000;

	if (ms < 1000)
		snprintf(buf, cap, "%lums", (unsigned long)ms);
	else if (ms < 10000)
		snprintf(buf, cap, "%.1fs", (double)ms / 1000.0);
	else if (s < 60)
		snprintf(buf, cap, "%lus", (unsigned long)s);
	else if (s < 3600)
		snprintf(buf, cap, "%lum%02lus", (unsigned long)(s / 60),
		    (unsigned long)(s % 60));
	else if (s < 86400)
		snprintf(buf, cap, "%luh%02lum", (unsigned long)(s / 3600),
		    (unsigned long)(s / 60 % 60));
	else
		snprintf(buf, cap, "%lud%02luh", (unsigned long)(s / 86400),
		    (unsigned long)(s / 3600 % 24));
	return buf;
}

char *
top_fmt_pct(char *buf, size_t cap, double pct)
{
	if (isnan(pct))
		snprintf(buf, cap, "-");
	else
		snprintf(buf, cap, "%.1f", pct < 0 ? 0.0 : pct);
	return buf;
}

const char *
top_flag_name(int bit)
{
	if (bit < 0 || bit >= (int)(sizeof flag_names / sizeof *flag_names))
		return NULL;
	return flag_names[bit];
}

char *
top_fmt_flags(char *buf, size_t cap, unsigned flags)
{
	size_t len = 0;
	int bit;

	buf[0] = '\0';
	for (bit = 0; bit < 32; bit++) {
		const char *name;
		int n;

		if (!(flags & (1u << bit)))
			continue;
		name = top_flag_name(bit);
		if (name != NULL)
			n = snprintf(buf + len, cap - len, "%s%s",
			    len ? "," : "", name);
		else            /* a flag newer than this gnet-top */
			n = snprintf(buf + len, cap - len, "%sbit%d",
			    len ? "," : "", bit);
		if (n < 0 || (size_t)n >= cap - len)
			break;
		len += (size_t)n;
	}
	if (len == 0)
		snprintf(buf, cap, "-");
	return buf;
}

const char *
top_state_name(int state)
{
	if (state < 0 || state >= (int)(sizeof state_names / sizeof *state_names))
		return "unknown";
	return state_names[state];
}

char *
top_fmt_clean(char *buf, size_t cap, const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 1 < cap; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	buf[i] = '\0';
	return buf;
}

char *
top_backend(char *buf, size_t cap, const gnet_stats_engine_t *e)
{
	if (e->backend[0] == '\0')
		snprintf(buf, cap, "-");
	else
		top_fmt_clean(buf, cap, e->backend);
	return buf;
}
