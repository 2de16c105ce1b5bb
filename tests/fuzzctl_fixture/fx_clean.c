/* tests/fuzzctl_fixture/fx_clean.c -- fuzzctl test fixture: no bug, a few
 * byte-compare branches so that corpus merging has coverage to tell inputs
 * apart ("A", "AB", "ABC" each add an edge; anything else adds none). */
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    volatile int depth = 0;
    if (size > 0 && data[0] == 'A') {
        depth++;
        if (size > 1 && data[1] == 'B') {
            depth++;
            if (size > 2 && data[2] == 'C')
                depth++;
        }
    }
    return depth == 4;
}
