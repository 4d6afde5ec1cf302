/* check-layers.sh --self-test fixture: a user (rank 6) of the public header. */
#include <gnet.h>
int main(void) { return gnet_version() == 1 ? 0 : 1; }
