/* check-layers.sh --self-test fixture: a user (rank 6) includes base/, which
 * is lower but not public. */
#include <gnet.h>
#include "base/buf.h"
int main(void) { return gnet_version() + gnet__buf_len() == 1 ? 0 : 1; }
