/*
 * The commands a connection answers itself, with Redis 7.0's replies:
 * PING, ECHO, QUIT, SELECT (only database 0 exists), HELLO (protocol 2
 * only: RESP3 is refused as a Redis refuses a version it does not speak),
 * CLIENT SETNAME/GETNAME/ID, and Redis's reply to an unknown command;
 * COMMAND, CONFIG GET and INFO have files of their own (admin.h).
 *
 * What differs from Redis, on purpose: HELLO names this server (server
 * "gnet", version the Redis whose replies it follows).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "util.h"

/* Redis's words for a subcommand it does not know: the subcommand as
 * given, the command in capitals. */
void
admin_unknown_subcommand(reply_t *out, const GnetRespArg *argv)
{
	char cmd[32];
	size_t n = argv[0].len < sizeof cmd - 1 ? argv[0].len : sizeof cmd - 1;

	for (size_t i = 0; i < n; i++)
		cmd[i] = (char)((argv[0].ptr[i] >= 'a' && argv[0].ptr[i] <= 'z') ?
		    argv[0].ptr[i] - 'a' + 'A' : argv[0].ptr[i]);
	cmd[n] = '\0';
	reply_errorf(out, "ERR unknown subcommand '%.*s'. Try %s HELP.",
	    admin_cstr_len(&argv[1], 128), argv[1].ptr, cmd);
}

void
admin_subcommand_arity(reply_t *out, const char *cmd, const char *sub)
{
	reply_errorf(out, "ERR wrong number of arguments for '%s|%s' command",
	    cmd, sub);
}

/* Printed as C strings, as Redis prints them: an argument stops at its
 * first NUL byte. */
int
admin_cstr_len(const GnetRespArg *a, int max)
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
		    admin_cstr_len(&argv[i], 128 - (int)used), argv[i].ptr);

		if (n < 0)
			break;
		used += (size_t)n;
		if (used >= sizeof args)
			used = sizeof args - 1;
	}
	reply_errorf(out, "ERR unknown command '%.*s', with args beginning "
	    "with: %s", admin_cstr_len(&argv[0], 128), argv[0].ptr, args);
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

static void
select_db(reply_t *out, const GnetRespArg *argv)
{
	long long db;

	if (!ks_string2ll(argv[1].ptr, argv[1].len, &db) || db < -2147483648LL ||
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
		if (!ks_string2ll(argv[1].ptr, argv[1].len, &ver)) {
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

		if (ks_arg_is(&argv[i], "auth") && more >= 2) {
			reply_error(out, "ERR AUTH <password> called without "
			    "any password configured for the default user. "
			    "Are you sure your configuration is correct?");
			return;
		} else if (ks_arg_is(&argv[i], "setname") && more >= 1) {
			name = &argv[++i];
			if (!valid_client_name(name)) {
				reply_error(out, "ERR Client names cannot "
				    "contain spaces, newlines or special "
				    "characters.");
				return;
			}
		} else {
			reply_errorf(out, "ERR Syntax error in HELLO option "
			    "'%.*s'", admin_cstr_len(&argv[i], 128), argv[i].ptr);
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
	if (ks_arg_is(&argv[1], "id")) {
		if (argc != 2)
			admin_subcommand_arity(out, "client", "id");
		else
			reply_int(out, (long long)rc->id);
	} else if (ks_arg_is(&argv[1], "getname")) {
		if (argc != 2)
			admin_subcommand_arity(out, "client", "getname");
		else if (rc->name == NULL)
			reply_nil(out);
		else
			reply_bulk_cstr(out, rc->name);
	} else if (ks_arg_is(&argv[1], "setname")) {
		if (argc != 3)
			admin_subcommand_arity(out, "client", "setname");
		else if (!valid_client_name(&argv[2]))
			reply_error(out, "ERR Client names cannot contain "
			    "spaces, newlines or special characters.");
		else if (set_name(rc, &argv[2]) != 0)
			reply_error(out, "ERR out of memory");
		else
			reply_status(out, "OK");
	} else {
		admin_unknown_subcommand(out, argv);
	}
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
		admin_command(out, argv, argc);
	} else if (strcmp(name, "config") == 0) {
		admin_config(lp->srv, out, argv, argc);
	} else if (strcmp(name, "info") == 0) {
		return admin_info(lp, rc, c, argv, argc);
	} else {
		resp_reply_unknown(out, argv, argc);
	}
	return 0;
}
