/* fuzz/server_hello.c -- fuzz target "server_hello" (and "server_hello_fm" with -DTD_FUZZ_FM=1):
 * see fuzz/README.md and the registry in fuzz/harness.c. */
#define TD_FUZZ_TARGET "server_hello"
#include "target_main.h"
