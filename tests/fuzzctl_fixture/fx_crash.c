/* tests/fuzzctl_fixture/fx_crash.c -- fuzzctl test fixture: a planted heap
 * overflow behind a three-byte magic ("FUZ"), reachable from the seed "FUa"
 * in a few seconds. Every input that starts with the magic overflows at the
 * same site, so all of them fall into one deduplication bucket. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fx_planted_overflow(const uint8_t *data, size_t size)
{
    volatile uint8_t *buf = malloc(4);
    if (buf == NULL)
        return;
    /* The bug: writes one byte past a 4-byte heap block. */
    buf[4] = data[size - 1];
    free((void *)buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size >= 3 && data[0] == 'F' && data[1] == 'U' && data[2] == 'Z')
        fx_planted_overflow(data, size);
    return 0;
}
