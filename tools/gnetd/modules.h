/*
 * modules.h -- the host gnetd runs, and the modules of its config loaded
 * into it: shared by serving and by --check-config, so a check loads
 * modules exactly as a run would (only nothing is bound).
 */
#ifndef GNETD_MODULES_H
#define GNETD_MODULES_H

#include <stdio.h>
#include "gnethost.h"
#include "config.h"

/* "gnetd 0.4.0": how the host names itself in modules' errors. */
const char *gnetd_name(void);

/* Create the host for c: its engine's loops, linger, reuseport and idle
 * timeout from c; a dry run for --check-config (nothing bound, nothing
 * runs). Returns 0 or a GNET_E* code. */
int gnetd_host_create(const gnetd_config_t *c, int dry_run,
    gnet_host_t **out);

/* Load c's modules in order into h; mods[i] gets the i-th. A failure is
 * reported on stderr (and in the logfile, if there is one) as
 * "WHERE: loadmodule: <the host's reason>". With keep_going every module
 * is tried (a check lists every failure), else loading stops at the
 * first. Returns the failures. */
int gnetd_load_modules(gnet_host_t *h, const gnetd_config_t *c,
    gnet_module_t **mods, int keep_going);

/* One line per listener of m: "gnetd: NAME listening on tcp://A:P". */
void gnetd_print_listeners(FILE *out, const gnet_module_t *m);

#endif
