/* tests/fuzzctl_fixture/fx_oracle.c -- fuzzctl test fixture: an oracle
 * failure in the contract's format (one `==tlsdrill-oracle== ` line on stderr,
 * then abort()) for inputs that start with "OR". The rule depends on nothing
 * but the magic, so every such input is one bucket. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size >= 2 && data[0] == 'O' && data[1] == 'R') {
        fprintf(stderr,
                "==tlsdrill-oracle== fx_oracle: wrong-alert: rule FX-RULE-1 alert decode_error: "
                "expected illegal_parameter for a %zu-byte input\n",
                size);
        abort();
    }
    return 0;
}
