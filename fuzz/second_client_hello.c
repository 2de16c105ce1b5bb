/* fuzz/second_client_hello.c -- fuzz target "second_client_hello" (and "second_client_hello_fm"
 * with -DTD_FUZZ_FM=1): see fuzz/README.md and the registry in fuzz/harness.c. */
#define TD_FUZZ_TARGET "second_client_hello"
#include "target_main.h"
