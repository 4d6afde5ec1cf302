/* check-layers.sh --self-test fixture: actors/ (rank 4) includes and calls
 * codecs/, the same rank; the include goes through ../, which the compiler
 * resolves beside this file. kernel/ below is allowed. */
#include "../codecs/codec.h"
#include "kernel/loop.h"
int gnet__ticker_spawn(void) { return gnet__codec_new() + gnet__loop_run(); }
