/* check-layers.sh --self-test fixture: kernel/ (rank 3) calls net/ (rank 5)
 * through a forward declaration, with no include to show it. */
#include "loop.h"
void gnet__conn_adopt(int fd);
int gnet__timer_fire(void) { gnet__conn_adopt(-1); return gnet__loop_run(); }
