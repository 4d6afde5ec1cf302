/* check-layers.sh --self-test fixture: net/ (rank 5) calls kernel/ below it. */
#include "net/conn.h"
void gnet__conn_adopt(int fd) { (void)fd; gnet__loop_run(); }
