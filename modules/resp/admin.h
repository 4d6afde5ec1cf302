/*
 * What the files of the connection's own commands share (admin.c,
 * admin_command.c, admin_config.c, admin_info.c). Thread: the calling
 * loop's.
 */
#ifndef RESP_ADMIN_H
#define RESP_ADMIN_H

#include "resp.h"

/* The Redis release whose replies the module follows (HELLO, INFO). */
#define RESP_REDIS_VERSION "7.0.15"

/* Redis's words for a subcommand it does not know: the subcommand as
 * given, the command in capitals ("Try CONFIG HELP."). */
void admin_unknown_subcommand(reply_t *out, const GnetRespArg *argv);
/* "wrong number of arguments for 'cmd|sub' command". */
void admin_subcommand_arity(reply_t *out, const char *cmd, const char *sub);
/* The length an argument prints with as a C string, at most max: Redis
 * formats arguments with %s, which stops at a NUL byte. */
int admin_cstr_len(const GnetRespArg *a, int max);

void admin_command(reply_t *out, const GnetRespArg *argv, int argc);
void admin_config(const resp_server_t *srv, reply_t *out,
    const GnetRespArg *argv, int argc);
/* Returns as resp_admin_exec (1: gathered from several shards). */
int admin_info(resp_loop_t *lp, resp_conn_t *rc, GnetConn *c,
    const GnetRespArg *argv, int argc);

#endif
