/*
 * The commands a connection answers itself, with Redis 7.0's replies:
 * PING, ECHO, QUIT, SELECT (only database 0 exists), HELLO (protocol 2
 * only: RESP3 is refused as a Redis without it refuses a version it does
 * not speak), CLIENT SETNAME/GETNAME/ID, COMMAND (COUNT, INFO, DOCS),
 * CONFIG GET, INFO; and Redis's reply to an unknown command.
 *
 * What differs from Redis, on purpose: HELLO and INFO name this server
 * (server "gnet", redis_version the Redis whose replies it follows, plus
 * gnet's own fields); COMMAND describes only the commands this module
 * has, without ACL categories, tips or key specs; COMMAND DOCS has no
 * docs (redis-cli then shows no hints).
 */
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "resp.h"

/* The Redis release whose replies the module follows. */
#define RESP_REDIS_VERSION "7.0.15"

static int
arg_is(const GnetRespArg *a, const char *s)
{
	size_t n = strlen(s);

	return a->len == n && strncasecmp(a->ptr, s, n) == 0;
}

/* Redis's words for a subcommand it does not know: the subcommand as
 * given, the command in capitals. */
static void
unknown_subcommand(reply_t *out, const GnetRespArg *argv)
{
	char cmd[32];
	size_t n = argv[0].len < sizeof cmd - 1 ? argv[0].len : sizeof cmd - 1;

	for (size_t i = 0; i < n; i++)
		cmd[i] = (char)((argv[0].ptr[i] >= 'a' && argv[0].ptr[i] <= 'z') ?
		    argv[0].ptr[i] - 'a' + 'A' : argv[0].ptr[i]);
	cmd[n] = '\0';
	reply_errorf(out, "ERR unknown subcommand '%.*s'. Try %s HELP.",
	    (int)(argv[1].len < 128 ? argv[1].len : 128), argv[1].ptr, cmd);
}

static void
subcommand_arity(reply_t *out, const char *cmd, const char *sub)
{
	reply_errorf(out, "ERR wrong number of arguments for '%s|%s' command",
	    cmd, sub);
}

/* Printed as C strings, as Redis prints them: an argument stops at its
 * first NUL byte. */
static int
cstr_len(const GnetRespArg *a, int max)
{
	const char *nul = memchr(a->ptr, '\0', a->len);
	size_t n = nul != NULL ? (size_t)(nul - a->ptr) : a->len;

	return (int)(n < (size_t)max ? n : (size_t)max);
}

void
resp_reply_unknown(reply_t *out, const GnetRespArg *argv, int argc)
{
	char args[160];
	size_t used = 0;

	args[0] = '\0';
	for (int i = 1; i < argc && used < 128; i++) {
		int n = snprintf(args + used, sizeof args - used, "'%.*s' ",
		    cstr_len(&argv[i], 128 - (int)used), argv[i].ptr);

		if (n < 0)
			break;
		used += (size_t)n;
		if (used >= sizeof args)
			used = sizeof args - 1;
	}
	reply_errorf(out, "ERR unknown command '%.*s', with args beginning "
	    "with: %s", cstr_len(&argv[0], 128), argv[0].ptr, args);
}

/* ------------------------------------------------------------------------
 * Connection commands.
 */
static void
ping(reply_t *out, const GnetRespArg *argv, int argc)
{
	if (argc > 2)
		reply_error(out, "ERR wrong number of arguments for 'ping' "
		    "command");
	else if (argc == 2)
		reply_bulk(out, argv[1].ptr, argv[1].len);
	else
		reply_status(out, "PONG");
}

static int
parse_ll(const GnetRespArg *a, long long *v)
{
	char buf[32], *end;

	if (a->len == 0 || a->len >= sizeof buf)
		return -1;
	memcpy(buf, a->ptr, a->len);
	buf[a->len] = '\0';
	if (buf[0] == ' ' || buf[0] == '+' ||
	    (buf[0] == '0' && a->len > 1) ||
	    (buf[0] == '-' && (a->len == 1 || buf[1] == '0')))
		return -1;
	*v = strtoll(buf, &end, 10);
	return *end == '\0' ? 0 : -1;
}

static void
select_db(reply_t *out, const GnetRespArg *argv)
{
	long long db;

	if (parse_ll(&argv[1], &db) != 0 || db < -2147483648LL ||
	    db > 2147483647LL)
		reply_error(out, RESP_ERR_NOT_INT);
	else if (db != 0)
		reply_error(out, "ERR DB index is out of range");
	else
		reply_status(out, "OK");
}

static int
valid_client_name(const GnetRespArg *a)
{
	for (size_t i = 0; i < a->len; i++)
		if (a->ptr[i] < '!' || a->ptr[i] > '~')
			return 0;
	return 1;
}

static int
set_name(resp_conn_t *rc, const GnetRespArg *a)
{
	char *name = NULL;

	if (a->len != 0) {
		if ((name = malloc(a->len + 1)) == NULL)
			return -1;
		memcpy(name, a->ptr, a->len);
		name[a->len] = '\0';
	}
	free(rc->name);
	rc->name = name;
	return 0;
}

static void
hello_map(reply_t *out, const resp_conn_t *rc)
{
	reply_array(out, 14);
	reply_bulk_cstr(out, "server");
	reply_bulk_cstr(out, "gnet");
	reply_bulk_cstr(out, "version");
	reply_bulk_cstr(out, RESP_REDIS_VERSION);
	reply_bulk_cstr(out, "proto");
	reply_int(out, 2);
	reply_bulk_cstr(out, "id");
	reply_int(out, (long long)rc->id);
	reply_bulk_cstr(out, "mode");
	reply_bulk_cstr(out, "standalone");
	reply_bulk_cstr(out, "role");
	reply_bulk_cstr(out, "master");
	reply_bulk_cstr(out, "modules");
	reply_array(out, 0);
}

/* HELLO [protover [AUTH user pass] [SETNAME name]] */
static void
hello(reply_t *out, resp_conn_t *rc, const GnetRespArg *argv, int argc)
{
	long long ver;
	const GnetRespArg *name = NULL;

	if (argc >= 2) {
		if (parse_ll(&argv[1], &ver) != 0) {
			reply_error(out, "ERR Protocol version is not an "
			    "integer or out of range");
			return;
		}
		if (ver != 2) {
			reply_error(out, "NOPROTO unsupported protocol "
			    "version");
			return;
		}
	}
	for (int i = 2; i < argc; i++) {
		int more = argc - i - 1;

		if (arg_is(&argv[i], "AUTH") && more >= 2) {
			reply_error(out, "ERR AUTH <password> called without "
			    "any password configured for the default user. "
			    "Are you sure your configuration is correct?");
			return;
		} else if (arg_is(&argv[i], "SETNAME") && more >= 1) {
			name = &argv[++i];
			if (!valid_client_name(name)) {
				reply_error(out, "ERR Client names cannot "
				    "contain spaces, newlines or special "
				    "characters.");
				return;
			}
		} else {
			reply_errorf(out, "ERR Syntax error in HELLO option "
			    "'%.*s'", cstr_len(&argv[i], 128), argv[i].ptr);
			return;
		}
	}
	if (name != NULL && set_name(rc, name) != 0) {
		reply_error(out, "ERR out of memory");
		return;
	}
	hello_map(out, rc);
}

static void
client(reply_t *out, resp_conn_t *rc, const GnetRespArg *argv, int argc)
{
	if (arg_is(&argv[1], "ID")) {
		if (argc != 2)
			subcommand_arity(out, "client", "id");
		else
			reply_int(out, (long long)rc->id);
	} else if (arg_is(&argv[1], "GETNAME")) {
		if (argc != 2)
			subcommand_arity(out, "client", "getname");
		else if (rc->name == NULL)
			reply_nil(out);
		else
			reply_bulk_cstr(out, rc->name);
	} else if (arg_is(&argv[1], "SETNAME")) {
		if (argc != 3)
			subcommand_arity(out, "client", "setname");
		else if (!valid_client_name(&argv[2]))
			reply_error(out, "ERR Client names cannot contain "
			    "spaces, newlines or special characters.");
		else if (set_name(rc, &argv[2]) != 0)
			reply_error(out, "ERR out of memory");
		else
			reply_status(out, "OK");
	} else {
		unknown_subcommand(out, argv);
	}
}

/* ------------------------------------------------------------------------
 * COMMAND.
 */
static void
command_entry(reply_t *out, const resp_cmd_t *cmd)
{
	static const struct {
		unsigned flag;
		const char *name;
	} flags[] = {
		{ CMD_WRITE, "write" }, { CMD_READONLY, "readonly" },
		{ CMD_DENYOOM, "denyoom" }, { CMD_FAST, "fast" },
	};
	int n = 0;

	for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
		n += (cmd->flags & flags[i].flag) != 0;
	reply_array(out, 10);
	reply_bulk_cstr(out, cmd->name);
	reply_int(out, cmd->arity);
	reply_array(out, n);
	for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
		if (cmd->flags & flags[i].flag)
			reply_status(out, flags[i].name);
	reply_int(out, cmd->first_key);
	reply_int(out, cmd->last_key);
	reply_int(out, cmd->key_step);
	reply_array(out, 0);   /* ACL categories */
	reply_array(out, 0);   /* tips */
	reply_array(out, 0);   /* key specs */
	reply_array(out, 0);   /* subcommands */
}

static void
command(reply_t *out, const GnetRespArg *argv, int argc)
{
	size_t n;
	const resp_cmd_t *table = cmd_table(&n), *cmd;

	if (argc == 1) {
		reply_array(out, (long long)n);
		for (size_t i = 0; i < n; i++)
			command_entry(out, &table[i]);
	} else if (arg_is(&argv[1], "COUNT")) {
		if (argc != 2)
			subcommand_arity(out, "command", "count");
		else
			reply_int(out, (long long)n);
	} else if (arg_is(&argv[1], "INFO")) {
		reply_array(out, argc - 2);
		for (int i = 2; i < argc; i++) {
			cmd = cmd_lookup(argv[i].ptr, argv[i].len);
			if (cmd == NULL)
				reply_nil(out);
			else
				command_entry(out, cmd);
		}
	} else if (arg_is(&argv[1], "DOCS")) {
		reply_array(out, 0);
	} else {
		unknown_subcommand(out, argv);
	}
}

/* ------------------------------------------------------------------------
 * CONFIG GET.
 */
static void
config_value(const resp_server_t *srv, int i, char *buf, size_t cap)
{
	switch (i) {
	case 0: snprintf(buf, cap, "%s", ""); break;
	case 1: snprintf(buf, cap, "no"); break;
	case 2: snprintf(buf, cap, "%lld", srv->maxmemory); break;
	case 3: snprintf(buf, cap, "noeviction"); break;
	case 4: snprintf(buf, cap, "%lld", srv->max_bulk_len); break;
	case 5: snprintf(buf, cap, "%lld", srv->query_buffer_limit); break;
	case 6: snprintf(buf, cap, "%lld", srv->hz); break;
	default: snprintf(buf, cap, "1"); break;
	}
}

static const char *const config_names[] = {
	"save", "appendonly", "maxmemory", "maxmemory-policy",
	"proto-max-bulk-len", "client-query-buffer-limit", "hz", "databases",
};
#define CONFIG_COUNT (sizeof config_names / sizeof config_names[0])

static void
config(const resp_server_t *srv, reply_t *out, const GnetRespArg *argv,
    int argc)
{
	int matched[CONFIG_COUNT] = { 0 }, n = 0;
	char pattern[256], value[64];

	if (!arg_is(&argv[1], "GET")) {
		unknown_subcommand(out, argv);
		return;
	}
	if (argc < 3) {
		subcommand_arity(out, "config", "get");
		return;
	}
	for (int a = 2; a < argc; a++) {
		snprintf(pattern, sizeof pattern, "%.*s", cstr_len(&argv[a],
		    (int)sizeof pattern - 1), argv[a].ptr);
		for (size_t i = 0; i < CONFIG_COUNT; i++) {
			if (!matched[i] && fnmatch(pattern, config_names[i],
			    FNM_CASEFOLD) == 0) {
				matched[i] = ++n;
			}
		}
	}
	reply_array(out, 2LL * n);
	for (int k = 1; k <= n; k++) {
		for (size_t i = 0; i < CONFIG_COUNT; i++) {
			if (matched[i] != k)
				continue;
			config_value(srv, (int)i, value, sizeof value);
			reply_bulk_cstr(out, config_names[i]);
			reply_bulk_cstr(out, value);
		}
	}
}

/* ------------------------------------------------------------------------
 * INFO.
 */
enum { INFO_KEYS, INFO_EXPIRES, INFO_MEMORY, INFO_HITS, INFO_MISSES,
	INFO_EXPIRED, INFO_NUMBERS };

static void
info_part_exec(shard_t *sh, const GnetRespArg *argv, int argc, reply_t *out)
{
	uint64_t now = resp_now_ms();
	shard_stats_t st;

	(void)argv;
	(void)argc;
	shard_get_stats(sh, &st);
	reply_array(out, INFO_NUMBERS);
	reply_int(out, (long long)shard_keys(sh, now));
	reply_int(out, (long long)shard_expires(sh, now));
	reply_int(out, (long long)shard_used_memory(sh));
	reply_int(out, (long long)st.keyspace_hits);
	reply_int(out, (long long)st.keyspace_misses);
	reply_int(out, (long long)st.expired_keys);
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
		if (arg_is(&argv[i], name) || arg_is(&argv[i], "default") ||
		    arg_is(&argv[i], "all") || arg_is(&argv[i], "everything"))
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

static int
info(resp_loop_t *lp, resp_conn_t *rc, GnetConn *c, const GnetRespArg *argv,
    int argc)
{
	reply_t *out = &lp->out;
	size_t mark;
	long long sums[INFO_NUMBERS];

	if (lp->srv->nloops > 1)
		return resp_route_scatter(lp, rc, c, &resp_info_part, argv,
		    argc) == 0 ? 1 : -1;
	/* One shard: its numbers at once. */
	mark = out->len;
	info_part_exec(lp->shard, argv, argc, out);
	for (int i = 0; i < INFO_NUMBERS; i++) {
		const char *p = memchr(out->buf + mark, ':', out->len - mark);

		sums[i] = p != NULL ? strtoll(p + 1, NULL, 10) : 0;
		mark = p != NULL ? (size_t)(p - out->buf) + 1 : out->len;
	}
	out->len = 0;
	resp_info_reply(lp, argv, argc, sums, INFO_NUMBERS, out);
	return 0;
}

int
resp_admin_exec(resp_loop_t *lp, resp_conn_t *rc, GnetConn *c,
    const resp_cmd_t *cmd, const GnetRespArg *argv, int argc)
{
	reply_t *out = &lp->out;
	const char *name = cmd->name;

	if (strcmp(name, "ping") == 0) {
		ping(out, argv, argc);
	} else if (strcmp(name, "echo") == 0) {
		reply_bulk(out, argv[1].ptr, argv[1].len);
	} else if (strcmp(name, "quit") == 0) {
		reply_status(out, "OK");
		rc->closing = 1;
	} else if (strcmp(name, "select") == 0) {
		select_db(out, argv);
	} else if (strcmp(name, "hello") == 0) {
		hello(out, rc, argv, argc);
	} else if (strcmp(name, "client") == 0) {
		client(out, rc, argv, argc);
	} else if (strcmp(name, "command") == 0) {
		command(out, argv, argc);
	} else if (strcmp(name, "config") == 0) {
		config(lp->srv, out, argv, argc);
	} else if (strcmp(name, "info") == 0) {
		return info(lp, rc, c, argv, argc);
	} else {
		resp_reply_unknown(out, argv, argc);
	}
	return 0;
}
