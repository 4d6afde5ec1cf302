/* check-layers.sh --self-test fixture: a kernel/ header (rank 3). */
int gnet__loop_run(void);
