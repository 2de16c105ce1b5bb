/* fuzz/record.c -- fuzz target "record" (and "record_fm" with -DTD_FUZZ_FM=1):
 * see fuzz/README.md and the registry in fuzz/harness.c. */
#define TD_FUZZ_TARGET "record"
#define TD_FUZZ_RAW_RECORDS 1
#include "target_main.h"
