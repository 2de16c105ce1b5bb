/* fuzz/target_main.c -- the libFuzzer/AFL++ entry of every target of
 * fuzz/targets.txt: CMake compiles it once per target with
 * TD_FUZZ_NAME="<name>" and, for targets flagged raw-records,
 * TD_FUZZ_RAW_RECORDS=1 (their raw inputs are TLS records: they get the
 * structure-aware custom mutator when it is built in). */
#include <stddef.h>
#include <stdint.h>

#include "fuzz.h"

#ifndef TD_FUZZ_NAME
#error "TD_FUZZ_NAME (the target's name in fuzz/targets.txt) is set by CMake"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return td_fz_one(TD_FUZZ_NAME, data, size);
}

/* ---- structure-aware mutation of raw-record inputs ----
 * The custom mutator library (fuzz/mutator.{h,c}, built in when present:
 * CMake defines TD_FUZZ_HAVE_MUTATOR) parses a raw input as records and
 * messages and applies the mutate.c operators; it returns 0 when it did
 * not handle the input, and libFuzzer's byte mutation takes over. Program
 * inputs ("TDP1") are left to byte mutation: every byte string is a
 * program. Only with a fuzzing engine (not in the replay executables). */
#if defined(TD_FUZZ_RAW_RECORDS) && defined(TD_FUZZ_HAVE_MUTATOR) && defined(TD_FUZZ_ENGINE)
#include <string.h>

#include "mutator.h"

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    size_t mlen = sizeof(TD_FZ_MAGIC) - 1;
    bool program = size >= mlen && memcmp(data, TD_FZ_MAGIC, mlen) == 0;
    if (!program) {
        size_t n = td_fz_mutate_records(data, size, max_size, seed);
        if (n != 0)
            return n;
    }
    return LLVMFuzzerMutate(data, size, max_size);
}

size_t LLVMFuzzerCustomCrossOver(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len,
                                 uint8_t *out, size_t max_out, unsigned int seed);

/* Crossover of extensions between two inputs' ClientHellos (raw inputs);
 * otherwise the head of one and the tail of the other. */
size_t LLVMFuzzerCustomCrossOver(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len,
                                 uint8_t *out, size_t max_out, unsigned int seed)
{
    size_t n = td_fz_crossover_records(a, a_len, b, b_len, out, max_out, seed);
    if (n != 0)
        return n;
    size_t cut_a = a_len == 0 ? 0 : seed % (a_len + 1);
    size_t cut_b = b_len == 0 ? 0 : (seed / 7) % (b_len + 1);
    if (cut_a > max_out)
        cut_a = max_out;
    if (cut_a > 0)
        memcpy(out, a, cut_a);
    size_t tail = b_len - cut_b;
    if (tail > max_out - cut_a)
        tail = max_out - cut_a;
    if (tail > 0)
        memcpy(out + cut_a, b + cut_b, tail);
    return cut_a + tail;
}
#endif
