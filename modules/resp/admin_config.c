/*
 * CONFIG GET: the settings a Redis client or tool asks for (save and
 * appendonly, which redis-benchmark reads at start, say nothing is
 * persisted) and the module's own limits, matched with glob patterns
 * case-insensitively, several patterns at once, as Redis 7.0 does.
 * CONFIG's other subcommands are unknown here.
 */
#include <fnmatch.h>
#include <stdio.h>

#include "admin.h"
#include "util.h"

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

void
admin_config(const resp_server_t *srv, reply_t *out, const GnetRespArg *argv,
    int argc)
{
	int matched[CONFIG_COUNT] = { 0 }, n = 0;
	char pattern[256], value[64];

	if (!ks_arg_is(&argv[1], "get")) {
		admin_unknown_subcommand(out, argv);
		return;
	}
	if (argc < 3) {
		admin_subcommand_arity(out, "config", "get");
		return;
	}
	for (int a = 2; a < argc; a++) {
		snprintf(pattern, sizeof pattern, "%.*s", admin_cstr_len(&argv[a],
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

