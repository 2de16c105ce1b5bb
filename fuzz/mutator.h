/* fuzz/mutator.h -- structure-aware mutation of a client's raw TLS record
 * stream, for LLVMFuzzerCustomMutator / LLVMFuzzerCustomCrossOver (libFuzzer
 * and AFL++'s libFuzzer driver).
 *
 * The input is parsed as records (RFC 8446 §5.1), runs of handshake records
 * are reassembled into handshake messages, a ClientHello is read into a
 * td_msg (leniently: duplicate extensions, PSK not last and unknown values are
 * kept, so a mutated input stays mutable), one operator of engine/mutate.c or
 * of the record layer is applied, and the stream is re-serialised and
 * re-framed. What does not parse as records gets byte-level mutation
 * (LLVMFuzzerMutate when the fuzzing engine provides it, else our own).
 *
 * Inputs starting with "TDP1" are the fuzz core's mutation programs: not
 * handled here (the functions return 0, the caller mutates them itself).
 *
 * Determinism: the output depends only on the input bytes and |seed| (no
 * global state), except that the byte-level fallback is libFuzzer's own
 * mutator when linked with libFuzzer (seeded by libFuzzer's -seed).
 * Memory: every function borrows its buffers, allocates scratch space only
 * for the duration of the call and never writes more than |max_size| /
 * |max_out| bytes. */
#ifndef TD_FUZZ_MUTATOR_H
#define TD_FUZZ_MUTATOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The operators. TD_FZ_MUT_NONE (0) = "pick one at random". */
#define TD_FZ_MUT_LIST(X)                                                                         \
    /* record layer */                                                                             \
    X(REC_FRAGMENT, "rec-fragment", false)     /* split a record (a part may be empty) */          \
    X(REC_COALESCE, "rec-coalesce", false)     /* merge two adjacent records of one type */        \
    X(REC_CCS_INJECT, "rec-ccs-inject", false) /* change_cipher_spec record somewhere */           \
    X(REC_INJECT, "rec-inject", false)         /* alert / application_data / empty record */       \
    X(REC_VERSION, "rec-version", false)       /* legacy_record_version */                         \
    X(REC_TYPE, "rec-type", false)             /* content type */                                  \
    X(REC_LENGTH_LIE, "rec-length-lie", false) /* record length field */                           \
    X(REC_DUPLICATE, "rec-duplicate", false)                                                       \
    X(REC_DROP, "rec-drop", false)                                                                 \
    X(REC_SWAP, "rec-swap", false)                                                                 \
    /* handshake messages */                                                                       \
    X(HS_TYPE, "hs-type", false)             /* msg_type byte */                                   \
    X(HS_LENGTH_LIE, "hs-length-lie", false) /* uint24 length */                                   \
    X(HS_DUPLICATE, "hs-duplicate", false)   /* the message twice */                               \
    X(HS_APPEND, "hs-append", false)         /* a small message after it in the same run */        \
    /* ClientHello (td_msg + engine/mutate.c) */                                                   \
    X(CH_EXT_DROP, "ch-ext-drop", true)                                                            \
    X(CH_EXT_DUPLICATE, "ch-ext-duplicate", true)                                                  \
    X(CH_EXT_REORDER, "ch-ext-reorder", true)                                                      \
    X(CH_EXT_INSERT_UNKNOWN, "ch-ext-insert-unknown", true)                                        \
    X(CH_EXT_ADD_TYPED, "ch-ext-add-typed", true)                                                  \
    X(CH_EXT_BODY, "ch-ext-body", true)   /* raw body: truncated, extended, replaced */            \
    X(CH_LIST_EDIT, "ch-list-edit", true) /* suites/groups/sigalgs/versions/shares/modes */        \
    X(CH_LEGACY_VERSION, "ch-legacy-version", true)                                                \
    X(CH_SESSION_ID, "ch-session-id", true)                                                        \
    X(CH_COMPRESSION, "ch-compression", true)                                                      \
    X(CH_RANDOM, "ch-random", true)                                                                \
    X(CH_KEY_SHARE, "ch-key-share", true) /* swap, regroup, truncate, add */                       \
    X(CH_PSK_IDENTITY, "ch-psk-identity", true)                                                    \
    X(CH_PSK_BINDER, "ch-psk-binder", true)   /* remove, add, truncate, extend */                  \
    X(CH_BINDER_FLIP, "ch-binder-flip", true) /* XOR into a serialised binder */                   \
    X(CH_COOKIE, "ch-cookie", true)                                                                \
    X(CH_LENGTH_LIE, "ch-length-lie", false) /* a vector length inside the ClientHello */          \
    X(CH_TRAILER, "ch-trailer", false)       /* bytes after the extensions / no extensions */      \
    /* no structure */                                                                             \
    X(BYTES, "bytes", false)

/* The third column says whether the output's ClientHello still has its
 * framing intact (records, handshake header and every vector length
 * consistent): the operator changes content, not syntax. */
typedef enum td_fz_mut_op {
    TD_FZ_MUT_NONE = 0,
#define TD_FZ_MUT_ENUM_(e, name, keeps) TD_FZ_MUT_##e,
    TD_FZ_MUT_LIST(TD_FZ_MUT_ENUM_)
#undef TD_FZ_MUT_ENUM_
        TD_FZ_MUT_NUM_OPS
} td_fz_mut_op;

/* "ch-ext-drop"; "none" for TD_FZ_MUT_NONE; "unknown" out of range. */
const char *td_fz_mut_op_name(td_fz_mut_op op);
/* True if |op| keeps the ClientHello's syntax intact (column 3). */
bool td_fz_mut_op_keeps_syntax(td_fz_mut_op op);

/* One mutation of |data| (|size| bytes, capacity |max_size|) in place:
 * one to a few operators chosen from |seed|. Returns the new size
 * (1..max_size), or 0 if the input is a "TDP1" program (left untouched). */
size_t td_fz_mutate_records(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

/* Applies exactly operator |op| (not NONE). Returns the new size, or 0 if
 * the operator does not apply to this input (no ClientHello, no PSK, no
 * second record ...), in which case |data| is unchanged. */
size_t td_fz_mutate_op(uint8_t *data, size_t size, size_t max_size, unsigned int seed,
                         td_fz_mut_op op);

/* Crossover of two record streams into |out| (capacity |max_out|): an
 * extension (or the extension list, or the cipher suites) of |b|'s
 * ClientHello moved into |a|'s; records of |a| then records of |b| when
 * there is no ClientHello in both; a byte splice when they are not records.
 * Returns the output size, 0 if either input is a "TDP1" program or
 * |max_out| is 0. */
size_t td_fz_crossover_records(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len,
                                 uint8_t *out, size_t max_out, unsigned int seed);

/* Inspection for tests and tools: true if |data| is a whole number of
 * records (no trailing bytes). |*out_ch_ok| (may be NULL) is set when the
 * first ClientHello of the stream has consistent framing (the lenient
 * reading the mutator uses succeeds with nothing left over). */
bool td_fz_records_parse(const uint8_t *data, size_t size, bool *out_ch_ok);

#endif
