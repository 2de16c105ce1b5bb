/* fuzz/client_hello.c -- fuzz target "client_hello" (and "client_hello_fm" with -DTD_FUZZ_FM=1):
 * see fuzz/README.md and the registry in fuzz/harness.c. */
#define TD_FUZZ_TARGET "client_hello"
#define TD_FUZZ_RAW_RECORDS 1
#include "target_main.h"
