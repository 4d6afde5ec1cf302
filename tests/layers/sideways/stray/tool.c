/* check-layers.sh --self-test fixture: C code in a folder with no rank. */
int stray_tool(void) { return 0; }
