/*
 * The library's log line: handed to the program's hook (gnet_log_set),
 * dropped when there is none. The library never prints by itself.
 * Not a public header.
 */
#ifndef GNET_BASE_LOG_H
#define GNET_BASE_LOG_H

/* level: 0 error, 1 warning, 2 info. Thread: any. */
void gnet__log(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
