/*
 * COMMAND, COMMAND COUNT, COMMAND INFO and COMMAND DOCS over the module's
 * command table. Entries have Redis 7.0's shape (name, arity, flags, key
 * positions, then ACL categories, tips, key specs and subcommands, left
 * empty); COMMAND DOCS has no docs, so redis-cli shows no hints.
 */
#include "admin.h"
#include "util.h"

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

void
admin_command(reply_t *out, const GnetRespArg *argv, int argc)
{
	size_t n;
	const resp_cmd_t *table = cmd_table(&n), *cmd;

	if (argc == 1) {
		reply_array(out, (long long)n);
		for (size_t i = 0; i < n; i++)
			command_entry(out, &table[i]);
	} else if (ks_arg_is(&argv[1], "count")) {
		if (argc != 2)
			admin_subcommand_arity(out, "command", "count");
		else
			reply_int(out, (long long)n);
	} else if (ks_arg_is(&argv[1], "info")) {
		reply_array(out, argc - 2);
		for (int i = 2; i < argc; i++) {
			cmd = cmd_lookup(argv[i].ptr, argv[i].len);
			if (cmd == NULL)
				reply_nil(out);
			else
				command_entry(out, cmd);
		}
	} else if (ks_arg_is(&argv[1], "docs")) {
		reply_array(out, 0);
	} else {
		admin_unknown_subcommand(out, argv);
	}
}

