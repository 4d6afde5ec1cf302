/* check-layers.sh --self-test fixture: codecs/ (rank 4) calls base/ below it. */
#include "codecs/codec.h"
int gnet__codec_new(void) { return gnet__buf_len(); }
