/* fuzz/psk_binders.c -- fuzz target "psk_binders" (and "psk_binders_fm" with -DTD_FUZZ_FM=1):
 * see fuzz/README.md and the registry in fuzz/harness.c. */
#define TD_FUZZ_TARGET "psk_binders"
#include "target_main.h"
