/*
 * Running a record's commands on Redis's main thread.
 *
 * Each command goes through RedisModule_Call with "!EM": propagated to
 * the AOF and replicas, errors returned as error replies, maxmemory
 * respected -- after the server's ACL has said the connection's user may
 * run it (ACLCheckCommandPermissions), as it checks a client's. The reply's
 * RESP bytes (CallReplyProto) are copied as they are.
 *
 * What RedisModule_Call cannot do for a client is answered here instead,
 * with an error naming the limitation: transactions (each call stands
 * alone), blocking commands (a module's call may not block), and
 * commands that need a client connection of Redis's own. SELECT and AUTH
 * change the record's database and user for the commands after them.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "redis/bridge.h"

/* Arguments passed on the stack below this; a longer command allocates. */
#define STACK_ARGS 64
/* How long an answer to "does the default user need AUTH?" is reused:
 * ACL rules can change at run time, and asking costs a command. */
#define DEFAULT_USER_RECHECK_MS 100

typedef struct {
	const char *name;
	size_t len;
	const char *why;
} refusal_t;

#define REFUSE(lit, why) { lit, sizeof(lit) - 1, why }

/* name (len bytes) is the literal `lit`, in any case. The length is
 * compared first: this runs for every command, and most names differ in
 * it. */
#define NAME_IS(name, len, lit) \
	((len) == sizeof(lit) - 1 && strncasecmp((name), (lit), (len)) == 0)

static const refusal_t refused[] = {
	REFUSE("MULTI", "its commands run one at a time through RedisModule_Call"),
	REFUSE("EXEC", "its commands run one at a time through RedisModule_Call"),
	REFUSE("DISCARD", "its commands run one at a time through RedisModule_Call"),
	REFUSE("WATCH", "its commands run one at a time through RedisModule_Call"),
	REFUSE("UNWATCH", "its commands run one at a time through RedisModule_Call"),
	REFUSE("BLPOP", "RedisModule_Call cannot block"),
	REFUSE("BRPOP", "RedisModule_Call cannot block"),
	REFUSE("BRPOPLPUSH", "RedisModule_Call cannot block"),
	REFUSE("BLMOVE", "RedisModule_Call cannot block"),
	REFUSE("BLMPOP", "RedisModule_Call cannot block"),
	REFUSE("BZPOPMIN", "RedisModule_Call cannot block"),
	REFUSE("BZPOPMAX", "RedisModule_Call cannot block"),
	REFUSE("BZMPOP", "RedisModule_Call cannot block"),
	REFUSE("WAIT", "RedisModule_Call cannot block"),
	REFUSE("SUBSCRIBE", "it needs a connection of Redis's own"),
	REFUSE("PSUBSCRIBE", "it needs a connection of Redis's own"),
	REFUSE("SSUBSCRIBE", "it needs a connection of Redis's own"),
	REFUSE("UNSUBSCRIBE", "it needs a connection of Redis's own"),
	REFUSE("PUNSUBSCRIBE", "it needs a connection of Redis's own"),
	REFUSE("SUNSUBSCRIBE", "it needs a connection of Redis's own"),
	REFUSE("MONITOR", "it needs a connection of Redis's own"),
	REFUSE("SYNC", "it needs a connection of Redis's own"),
	REFUSE("PSYNC", "it needs a connection of Redis's own"),
	REFUSE("REPLCONF", "it needs a connection of Redis's own"),
	REFUSE("RESET", "it needs a connection of Redis's own"),
	REFUSE("CLIENT", "it needs a connection of Redis's own"),
	REFUSE("HELLO", "a gnet port speaks RESP2 only"),
};

/* The state a batch runs in, changed by SELECT and AUTH. */
typedef struct {
	bridge_t *b;
	RedisModuleCtx *ctx;
	bridge_call_t *c;
	int db;
	const char *user;          /* NULL: "default" */
	RedisModuleUser *u;        /* the user's handle, or NULL if gone */
	int needs_auth;
	/* A read-only replica: writes are refused, as a client's are. */
	int readonly;
} batch_t;

static void
append_str(bridge_call_t *c, const char *s)
{
	call_append(c, s, strlen(s));
}

static void __attribute__((format(printf, 2, 3)))
append_errorf(bridge_call_t *c, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);

	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	/* An error line may not hold a line break of its own. */
	for (int i = 0; i < n; i++)
		if (line[i] == '\r' || line[i] == '\n')
			line[i] = ' ';
	call_append(c, line, (size_t)n);
	call_append(c, "\r\n", 2);
}

static int
reply_is(RedisModuleCallReply *r, const char *s)
{
	size_t len;
	const char *p = rm_CallReplyStringPtr(r, &len);

	return p != NULL && len == strlen(s) && strncasecmp(p, s, len) == 0;
}

/* Is the "default" user off or password-protected? Then a connection
 * that has not authenticated may run nothing but AUTH. */
static int
default_needs_auth(batch_t *bt)
{
	bridge_t *b = bt->b;
	RedisModuleCallReply *r, *flags;
	uint64_t now = bridge_now_ms();
	size_t i, j, n;
	int on = 0, nopass = 0;

	if (b->default_checked_ms != 0 &&
	    now - b->default_checked_ms < DEFAULT_USER_RECHECK_MS)
		return b->default_needs_auth;
	r = rm_Call(bt->ctx, "ACL", "cc", "GETUSER", "default");
	if (r != NULL && rm_CallReplyType(r) == RM_REPLY_ARRAY) {
		n = rm_CallReplyLength(r);
		for (i = 0; i + 1 < n; i += 2) {
			if (!reply_is(rm_CallReplyArrayElement(r, i), "flags"))
				continue;
			flags = rm_CallReplyArrayElement(r, i + 1);
			for (j = 0; j < rm_CallReplyLength(flags); j++) {
				RedisModuleCallReply *f =
				    rm_CallReplyArrayElement(flags, j);
				on |= reply_is(f, "on");
				nopass |= reply_is(f, "nopass");
			}
		}
	}
	if (r != NULL)
		rm_FreeCallReply(r);
	b->default_needs_auth = !(on && nopass);
	b->default_checked_ms = now;
	return b->default_needs_auth;
}

static RedisModuleUser *
user_handle(RedisModuleCtx *ctx, const char *name)
{
	const char *n = name != NULL ? name : "default";
	RedisModuleString *s = rm_CreateString(ctx, n, strlen(n));
	RedisModuleUser *u = rm_GetModuleUserFromUserName(s);

	rm_FreeString(ctx, s);
	return u;
}

static void
set_user(batch_t *bt, const char *name)
{
	if (bt->u != NULL)
		rm_FreeModuleUser(bt->u);
	bt->user = name;
	bt->u = user_handle(bt->ctx, name);
}

/* Copy a reply's bytes into the record, or say why there is none. */
static void
append_reply(bridge_call_t *c, RedisModuleCallReply *r, const char *name)
{
	const char *p;
	size_t len;

	if (r == NULL) {
		append_errorf(c, "-ERR %s failed on the gnet port", name);
		return;
	}
	p = rm_CallReplyProto(r, &len);
	if (p != NULL)
		call_append(c, p, len);
	rm_FreeCallReply(r);
}

/* Call argv[0] with argv[1..n) as its arguments, flags as
 * RedisModule_Call takes them, ending in "v". With a user, the server's
 * ACL first decides whether that user may (command, keys, channels):
 * NULL with *denied set when not. The check is made here rather than by
 * RedisModule_Call's "C", whose refusal path in 7.0 logs the context
 * client's user, which a module's context does not have. */
static RedisModuleCallReply *
call_argv(RedisModuleCtx *ctx, const char *name, const char *flags,
    const GnetRespArg *argv, int n, RedisModuleUser *u, int *denied)
{
	RedisModuleString *stack[STACK_ARGS], **vec = stack;
	RedisModuleCallReply *r = NULL;
	int i;

	*denied = 0;
	if (n > STACK_ARGS) {
		vec = malloc(sizeof(*vec) * (size_t)n);
		if (vec == NULL)
			return NULL;
	}
	for (i = 0; i < n; i++)
		vec[i] = rm_CreateString(ctx, argv[i].ptr, argv[i].len);
	/* ENOENT: no such command, which the call itself reports. */
	errno = 0;
	if (u != NULL && rm_ACLCheckCommandPermissions(u, vec, n) != RM_OK &&
	    errno != ENOENT)
		*denied = 1;
	else
		r = rm_Call(ctx, name, flags, vec + 1, (size_t)(n - 1));
	for (i = 0; i < n; i++)
		rm_FreeString(ctx, vec[i]);
	if (vec != stack)
		free(vec);
	return r;
}

/*
 * Each write reaches the AOF and the replicas alone.
 *
 * Redis propagates what a module context wrote when the outermost
 * context is freed, and several writes together as one MULTI/EXEC. All
 * of a drain runs in the before-sleep event's one context, so without
 * more its writes would reach the AOF wrapped in a transaction nobody
 * asked for. Releasing the server lock is the other point where Redis
 * propagates what is pending (RedisModule_ThreadSafeContextUnlock), so
 * after each command the lock is released and taken back:
 *
 *   - the main thread holds the lock throughout beforeSleep (it is
 *     released at its end and taken back after the sleep), and inside a
 *     server event exactly one module context is open, which is the
 *     nesting Unlock requires; Lock restores it;
 *   - between the two, a thread of another module may take the lock, as
 *     it could during the sleep: that is the lock's purpose;
 *   - the pending list then holds this one command, and one command is
 *     propagated as itself.
 *
 * It costs an uncontended unlock and lock per command.
 */
static void
propagate_alone(RedisModuleCtx *ctx)
{
	rm_ThreadSafeContextUnlock(ctx);
	rm_ThreadSafeContextLock(ctx);
}

static void
run_auth(batch_t *bt, const GnetRespArg *argv, int argc)
{
	RedisModuleCallReply *r;
	bridge_call_t *c = bt->c;
	int denied;
	char *who;

	if (argc != 2 && argc != 3) {
		append_str(c, "-ERR wrong number of arguments for 'auth' command\r\n");
		return;
	}
	/* The server checks the password against its own ACL: AUTH runs on
	 * a client of the module's, which is reset after the call. */
	r = call_argv(bt->ctx, "AUTH", "Ev", argv, argc, NULL, &denied);
	if (r == NULL || rm_CallReplyType(r) == RM_REPLY_ERROR) {
		append_reply(c, r, "AUTH");
		return;
	}
	rm_FreeCallReply(r);
	who = argc == 3 ? strndup(argv[1].ptr, argv[1].len) : NULL;
	if (argc == 3 && who == NULL) {
		append_str(c, "-ERR out of memory\r\n");
		return;
	}
	free(c->user_after);
	c->user_after = who;
	set_user(bt, who);
	bt->needs_auth = 0;
	append_str(c, "+OK\r\n");
}

static void
run_select(batch_t *bt, const GnetRespArg *argv, int argc)
{
	char digits[24], *end;
	long db;

	if (argc != 2) {
		append_str(bt->c, "-ERR wrong number of arguments for 'select' command\r\n");
		return;
	}
	if (argv[1].len == 0 || argv[1].len >= sizeof(digits)) {
		append_str(bt->c, "-ERR value is not an integer or out of range\r\n");
		return;
	}
	memcpy(digits, argv[1].ptr, argv[1].len);
	digits[argv[1].len] = '\0';
	db = strtol(digits, &end, 10);
	if (*end != '\0' || db < 0 || db > 0x7fffffff) {
		append_str(bt->c, db < 0 && *end == '\0' ?
		    "-ERR DB index is out of range\r\n" :
		    "-ERR value is not an integer or out of range\r\n");
		return;
	}
	if (rm_SelectDb(bt->ctx, (int)db) != RM_OK) {
		rm_SelectDb(bt->ctx, bt->db);
		append_str(bt->c, "-ERR DB index is out of range\r\n");
		return;
	}
	bt->db = (int)db;
	append_str(bt->c, "+OK\r\n");
}

static const refusal_t *
refusal(const char *name, size_t len, const GnetRespArg *argv, int argc)
{
	static const refusal_t block = { NULL, 0,
	    "RedisModule_Call cannot block" };
	size_t i;

	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		if (refused[i].len == len &&
		    strncasecmp(name, refused[i].name, len) == 0)
			return &refused[i];
	/* XREAD and XREADGROUP block only when asked to. */
	if (NAME_IS(name, len, "XREAD") || NAME_IS(name, len, "XREADGROUP"))
		for (i = 1; i < (size_t)argc; i++)
			if (argv[i].len == 5 &&
			    strncasecmp(argv[i].ptr, "BLOCK", 5) == 0)
				return &block;
	return NULL;
}

/* Did "W" refuse a write? (Its error names no error code of its own.) */
static int
refused_write(RedisModuleCallReply *r)
{
	size_t len;
	const char *p;

	if (rm_CallReplyType(r) != RM_REPLY_ERROR)
		return 0;
	p = rm_CallReplyStringPtr(r, &len);
	return p != NULL && len > 14 && strncmp(p, "ERR Write command", 17) == 0;
}

static void
run_command(batch_t *bt, const GnetRespArg *argv, int argc)
{
	bridge_call_t *c = bt->c;
	RedisModuleCallReply *r;
	const refusal_t *no;
	char name[64];
	size_t len;
	int denied;

	if (argv[0].len == 0 || argv[0].len >= sizeof(name) ||
	    memchr(argv[0].ptr, '\0', argv[0].len) != NULL) {
		append_str(c, "-ERR unknown command\r\n");
		return;
	}
	memcpy(name, argv[0].ptr, argv[0].len);
	name[argv[0].len] = '\0';
	len = argv[0].len;
	if (NAME_IS(name, len, "AUTH")) {
		run_auth(bt, argv, argc);
		return;
	}
	if (NAME_IS(name, len, "QUIT")) {
		append_str(c, "+OK\r\n");
		return;
	}
	if (bt->needs_auth) {
		append_str(c, "-NOAUTH Authentication required.\r\n");
		return;
	}
	if (bt->u == NULL) {
		append_errorf(c, "-ERR the connection's user '%s' no longer "
		    "exists", bt->user != NULL ? bt->user : "default");
		return;
	}
	if (NAME_IS(name, len, "SELECT")) {
		run_select(bt, argv, argc);
		return;
	}
	no = refusal(name, len, argv, argc);
	if (no != NULL) {
		for (char *q = name; *q != '\0'; q++)
			if (*q >= 'a' && *q <= 'z')
				*q = (char)(*q - 'a' + 'A');
		append_errorf(c, "-ERR %s is not supported on a gnet port: %s",
		    name, no->why);
		return;
	}
	r = call_argv(bt->ctx, name, bt->readonly ? "!EMWv" : "!EMv", argv,
	    argc, bt->u, &denied);
	if (denied) {
		for (char *q = name; *q != '\0'; q++)
			if (*q >= 'A' && *q <= 'Z')
				*q = (char)(*q - 'A' + 'a');
		append_errorf(c, "-NOPERM this user has no permissions to run "
		    "the '%s' command or its keys", name);
		return;
	}
	if (bt->readonly && r != NULL && refused_write(r)) {
		rm_FreeCallReply(r);
		append_str(c, "-READONLY You can't write against a read only "
		    "replica.\r\n");
		return;
	}
	append_reply(c, r, name);
	propagate_alone(bt->ctx);
}

void
commands_run(bridge_t *b, RedisModuleCtx *ctx, bridge_call_t *c)
{
	batch_t bt = { .b = b, .ctx = ctx, .c = c, .db = c->reply.db };
	const GnetRespArg *argv = c->argv;
	int j;

	c->reply.len = 0;
	if (rm_SelectDb(ctx, bt.db) != RM_OK) {
		/* Only SELECT sets a database, and it checks the index. */
		bt.db = 0;
		rm_SelectDb(ctx, 0);
	}
	set_user(&bt, c->user);
	bt.readonly = (rm_GetContextFlags(ctx) &
	    (RM_CTX_FLAGS_SLAVE | RM_CTX_FLAGS_READONLY)) ==
	    (RM_CTX_FLAGS_SLAVE | RM_CTX_FLAGS_READONLY);
	bt.needs_auth = c->user == NULL && default_needs_auth(&bt);
	for (j = 0; j < c->reply.ncmds; j++) {
		run_command(&bt, argv, c->argc[j]);
		argv += c->argc[j];
	}
	if (bt.u != NULL)
		rm_FreeModuleUser(bt.u);
	c->reply.db = bt.db;
	c->reply.user = bt.user;
	c->reply.data = c->out;
}
