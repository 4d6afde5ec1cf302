/*
 * backend: can this machine run gnet's io_uring backend? Creates an engine
 * asking for it by name and says what happened -- "io_uring", exit 0; or
 * the reason it was refused, exit 1. scripts/run-tests.sh asks it before
 * running the suites on io_uring, so a machine without io_uring (an old
 * kernel, kernel.io_uring_disabled, a seccomp filter) skips that pass
 * with the reason instead of failing every test.
 */
#include <stdio.h>
#include "gnet.h"

int
main(void)
{
	gnet_events_t ev = { .size = sizeof(ev) };
	gnet_options_t o = { .size = sizeof(o), .backend = GNET_BACKEND_URING,
	    .stats = -1 };
	gnet_engine_t *eng;
	int rc = gnet_engine_new(&eng, &ev, &o, NULL);

	if (rc != 0) {
		printf("io_uring unavailable: %s\n", gnet_strerror(rc));
		return 1;
	}
	printf("%s\n", gnet_engine_backend(eng));
	gnet_engine_free(eng);
	return 0;
}
