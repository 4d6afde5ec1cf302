/* check-layers.sh --self-test fixture: kernel/ calls its own folder, including
 * its header by the name beside it. */
#include "loop.h"
int gnet__timer_fire(void) { return gnet__loop_run(); }
