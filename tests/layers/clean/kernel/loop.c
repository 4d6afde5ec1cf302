/* check-layers.sh --self-test fixture: kernel/ (rank 3) includes and calls base/ below it. */
#include "kernel/loop.h"
#include "base/buf.h"
int gnet__loop_run(void) { return gnet__buf_len(); }
