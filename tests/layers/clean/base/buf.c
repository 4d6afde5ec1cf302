/* check-layers.sh --self-test fixture: base/ (rank 1) uses nothing above it. */
#include "base/buf.h"
int gnet__buf_len(void) { return 0; }
int gnet_version(void) { return 1; }
