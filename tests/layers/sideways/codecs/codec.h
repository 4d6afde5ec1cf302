/* check-layers.sh --self-test fixture: a codecs/ header (rank 4). */
#include "base/buf.h"
int gnet__codec_new(void);
