/* check-layers.sh --self-test fixture: the public header (rank 0). */
#ifndef GNET_H
#define GNET_H
int gnet_version(void);
#endif
