/* check-layers.sh --self-test fixture: a base/ header (rank 1). */
#include "gnet.h"
int gnet__buf_len(void);
