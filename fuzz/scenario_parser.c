/* fuzz/scenario_parser.c -- fuzz target "scenario_parser":
 * see fuzz/README.md and the registry in fuzz/harness.c. */
#define TD_FUZZ_TARGET "scenario_parser"
#include "target_main.h"
