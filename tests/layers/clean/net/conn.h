/* check-layers.sh --self-test fixture: a net/ header (rank 5). */
#include "kernel/loop.h"
void gnet__conn_adopt(int fd);
