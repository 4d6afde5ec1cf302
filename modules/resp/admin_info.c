/*
 * INFO: Redis's text format ("# Section", "field:value" lines, sections
 * apart by a blank line), with the sections and fields clients and
 * redis-cli --stat read, gnet's own beside them. The keyspace's numbers
 * come from every shard (resp_info_part, gathered by route.c when there
 * are several); the rest from the loops' stats rows.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin.h"
#include "util.h"

enum { INFO_KEYS, INFO_EXPIRES, INFO_MEMORY, INFO_HITS, INFO_MISSES,
	INFO_EXPIRED, INFO_NUMBERS };

/* A shard's numbers for INFO, in INFO_* order. */
static void
info_numbers(shard_t *sh, long long n[INFO_NUMBERS])
{
	uint64_t now = resp_now_ms();
	shard_stats_t st;

	shard_get_stats(sh, &st);
	n[INFO_KEYS] = (long long)shard_keys(sh, now);
	n[INFO_EXPIRES] = (long long)shard_expires(sh, now);
	n[INFO_MEMORY] = (long long)shard_used_memory(sh);
	n[INFO_HITS] = (long long)st.keyspace_hits;
	n[INFO_MISSES] = (long long)st.keyspace_misses;
	n[INFO_EXPIRED] = (long long)st.expired_keys;
}

/* On each shard of several: the numbers as an array, summed by route.c. */
static void
info_part_exec(shard_t *sh, const GnetRespArg *argv, int argc, reply_t *out)
{
	long long n[INFO_NUMBERS];

	(void)argv;
	(void)argc;
	info_numbers(sh, n);
	reply_array(out, INFO_NUMBERS);
	for (int i = 0; i < INFO_NUMBERS; i++)
		reply_int(out, n[i]);
}

const resp_cmd_t resp_info_part = {
	.name = "info", .arity = -1, .flags = CMD_ALL_SHARDS,
	.gather = GATHER_INFO, .exec = info_part_exec,
};

typedef struct text {
	char buf[4096];
	size_t len;
	int sections;
} text_t;

static void __attribute__((format(printf, 2, 3)))
line(text_t *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->len >= sizeof t->buf)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->len, sizeof t->buf - t->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		t->len += (size_t)n;
	if (t->len > sizeof t->buf)
		t->len = sizeof t->buf;
}

/* Is `name` asked for? No argument, "default", "all" and "everything"
 * ask for every section. */
static int
wanted(const GnetRespArg *argv, int argc, const char *name)
{
	if (argc == 1)
		return 1;
	for (int i = 1; i < argc; i++)
		if (ks_arg_is(&argv[i], name) || ks_arg_is(&argv[i], "default") ||
		    ks_arg_is(&argv[i], "all") || ks_arg_is(&argv[i], "everything"))
			return 1;
	return 0;
}

static int
section(text_t *t, const GnetRespArg *argv, int argc, const char *key,
    const char *title)
{
	if (!wanted(argv, argc, key))
		return 0;
	if (t->sections++ != 0)
		line(t, "\r\n");
	line(t, "# %s\r\n", title);
	return 1;
}

static void
human(char *buf, size_t cap, double bytes)
{
	const char *units = "BKMGT";
	int u = 0;

	while (bytes >= 1024 && u < 4) {
		bytes /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, cap, "%.0fB", bytes);
	else
		snprintf(buf, cap, "%.2f%c", bytes, units[u]);
}

static uint64_t
stat_total(const resp_server_t *srv, int i)
{
	uint64_t sum = 0;

	for (int l = 0; l < srv->nloops; l++) {
		const uint64_t *row = srv->loops[l].row;

		if (row != NULL)
			sum += __atomic_load_n(&row[i], __ATOMIC_RELAXED);
	}
	return sum;
}

void
resp_info_reply(resp_loop_t *lp, const GnetRespArg *argv, int argc,
    const long long *sums, int nsums, reply_t *out)
{
	const resp_server_t *srv = lp->srv;
	uint64_t up = (resp_now_ms() - srv->started_ms) / 1000;
	long long n[INFO_NUMBERS] = { 0 };
	char used[32], max[32];
	text_t t = { .len = 0 };

	for (int i = 0; i < nsums && i < INFO_NUMBERS; i++)
		n[i] = sums[i];
	if (section(&t, argv, argc, "server", "Server")) {
		line(&t, "redis_version:%s\r\n", RESP_REDIS_VERSION);
		line(&t, "redis_mode:standalone\r\n");
		line(&t, "gnet_module:resp\r\n");
		line(&t, "gnet_loops:%d\r\n", srv->nloops);
		line(&t, "arch_bits:%d\r\n", (int)(sizeof(void *) * 8));
		line(&t, "multiplexing_api:epoll\r\n");
		line(&t, "process_id:%ld\r\n", (long)getpid());
		line(&t, "uptime_in_seconds:%llu\r\n", (unsigned long long)up);
		line(&t, "uptime_in_days:%llu\r\n",
		    (unsigned long long)(up / 86400));
		line(&t, "hz:%lld\r\n", srv->hz);
	}
	if (section(&t, argv, argc, "clients", "Clients")) {
		line(&t, "connected_clients:%llu\r\n", (unsigned long long)
		    stat_total(srv, RST_CONNS_OPEN));
		line(&t, "blocked_clients:0\r\n");
	}
	if (section(&t, argv, argc, "memory", "Memory")) {
		human(used, sizeof used, (double)n[INFO_MEMORY]);
		human(max, sizeof max, (double)srv->maxmemory);
		line(&t, "used_memory:%lld\r\n", n[INFO_MEMORY]);
		line(&t, "used_memory_human:%s\r\n", used);
		line(&t, "maxmemory:%lld\r\n", srv->maxmemory);
		line(&t, "maxmemory_human:%s\r\n", max);
		line(&t, "maxmemory_policy:noeviction\r\n");
		line(&t, "mem_allocator:jemalloc\r\n");
	}
	if (section(&t, argv, argc, "persistence", "Persistence")) {
		line(&t, "loading:0\r\n");
		line(&t, "rdb_bgsave_in_progress:0\r\n");
		line(&t, "aof_enabled:0\r\n");
		line(&t, "aof_rewrite_in_progress:0\r\n");
	}
	if (section(&t, argv, argc, "stats", "Stats")) {
		line(&t, "total_connections_received:%llu\r\n",
		    (unsigned long long)stat_total(srv, RST_CONNS_OPENED));
		line(&t, "total_commands_processed:%llu\r\n",
		    (unsigned long long)stat_total(srv, RST_COMMANDS));
		line(&t, "expired_keys:%lld\r\n", n[INFO_EXPIRED]);
		line(&t, "keyspace_hits:%lld\r\n", n[INFO_HITS]);
		line(&t, "keyspace_misses:%lld\r\n", n[INFO_MISSES]);
		line(&t, "cross_shard_commands:%llu\r\n", (unsigned long long)
		    stat_total(srv, RST_REMOTE));
		line(&t, "scattered_commands:%llu\r\n", (unsigned long long)
		    stat_total(srv, RST_SCATTERED));
		line(&t, "total_error_replies:%llu\r\n", (unsigned long long)
		    stat_total(srv, RST_ERRORS));
	}
	if (section(&t, argv, argc, "replication", "Replication")) {
		line(&t, "role:master\r\n");
		line(&t, "connected_slaves:0\r\n");
	}
	if (section(&t, argv, argc, "keyspace", "Keyspace") &&
	    n[INFO_KEYS] > 0)
		line(&t, "db0:keys=%lld,expires=%lld,avg_ttl=0\r\n",
		    n[INFO_KEYS], n[INFO_EXPIRES]);
	reply_bulk(out, t.buf, t.len);
}

int
admin_info(resp_loop_t *lp, resp_conn_t *rc, GnetConn *c, const GnetRespArg *argv,
    int argc)
{
	long long sums[INFO_NUMBERS];

	if (lp->srv->nloops > 1)
		return resp_route_scatter(lp, rc, c, &resp_info_part, argv,
		    argc) == 0 ? 1 : -1;
	/* One shard: its numbers are the sums. */
	info_numbers(lp->shard, sums);
	resp_info_reply(lp, argv, argc, sums, INFO_NUMBERS, &lp->out);
	return 0;
}

