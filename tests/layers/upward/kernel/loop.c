/* check-layers.sh --self-test fixture: kernel/ (rank 3) includes net/ (rank 5). */
#include "kernel/loop.h"
#include "base/buf.h"
#include "net/conn.h"
int gnet__loop_run(void) { return gnet__buf_len(); }
