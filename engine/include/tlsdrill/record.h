/* tlsdrill/record.h -- the TLS 1.3 record layer (RFC 8446 §5): framing,
 * AEAD protection, handshake message reassembly, record writing.
 *
 * The record layer knows no handshake state beyond the keys it is given:
 * the driver decides which direction is protected, feeds records in, and
 * enforces what needs the state (REC-KEY-CHANGE-ALIGN through
 * td_hs_reasm_pending, REC-UNPROTECTED-APPDATA, CCS windows).
 *
 * Parsing never allocates: a td_record is a view into the caller's bytes.
 * Every protocol check fills the caller's td_diag with a catalogue rule and
 * the byte offset into the input. */
#ifndef TLSDRILL_RECORD_H
#define TLSDRILL_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tlsdrill/bytes.h"
#include "tlsdrill/crypto.h"
#include "tlsdrill/err.h"

/* §5.1 ContentType. */
#define TD_CT_INVALID 0
#define TD_CT_CHANGE_CIPHER_SPEC 20
#define TD_CT_ALERT 21
#define TD_CT_HANDSHAKE 22
#define TD_CT_APPLICATION_DATA 23

#define TD_REC_HEADER_LEN 5
#define TD_REC_MAX_PLAINTEXT 16384u                          /* §5.1: 2^14 */
#define TD_REC_MAX_CIPHERTEXT (TD_REC_MAX_PLAINTEXT + 256u)  /* §5.2: 2^14 + 256 */
#define TD_REC_MAX_INNER (TD_REC_MAX_PLAINTEXT + 1u)         /* §5.4: 2^14 + 1 */
#define TD_REC_VERSION_TLS10 0x0301
#define TD_REC_VERSION_TLS12 0x0303

/* "change_cipher_spec" for 20, NULL for a type RFC 8446 does not define. */
const char *td_content_type_name(unsigned type);

/* ---- §5.1, §5.2 framing ---- */

/* A record as read: views into the caller's input. */
typedef struct td_record {
    uint8_t type;              /* TLSPlaintext.type / TLSCiphertext.opaque_type */
    uint16_t version;          /* legacy_record_version, as received */
    const uint8_t *header;     /* the 5 header bytes (the AEAD additional data) */
    const uint8_t *fragment;   /* the |length| bytes after the header */
    size_t fragment_len;
    size_t total_len;          /* TD_REC_HEADER_LEN + fragment_len: bytes consumed */
} td_record;

/* Raw framing, without any check: for code that cuts a byte stream into
 * the records it holds as they were sent (the in-memory pair, captures,
 * corpora, fuzz inputs). A view into the caller's bytes. */
typedef struct td_rec_frame {
    uint8_t type;
    uint16_t version;
    const uint8_t *body; /* the bytes after the header */
    size_t body_len;     /* the header's length field */
    size_t avail_len;    /* of those, how many |in| holds: whole when == body_len */
} td_rec_frame;

/* Reads the header at the front of |in|; false when |in_len| is shorter
 * than a header. The record takes TD_REC_HEADER_LEN + body_len bytes. */
bool td_rec_frame_read(const uint8_t *in, size_t in_len, td_rec_frame *out);

/* Reads one record from the front of |in|. |read_protected| says whether
 * the reading direction has keys installed: then an application_data record
 * is a TLSCiphertext (length <= 2^14 + 256), otherwise every record is a
 * TLSPlaintext (length <= 2^14). Length limits are checked from the header,
 * before waiting for the body.
 *   TD_ERR_WANT_MORE       the record is not complete yet (nothing consumed)
 *   TD_ERR_UNEXPECTED      REC-UNKNOWN-TYPE
 *   TD_ERR_RECORD_OVERFLOW REC-PLAINTEXT-OVERFLOW / REC-CIPHERTEXT-OVERFLOW */
td_err td_rec_parse(const uint8_t *in, size_t in_len, bool read_protected, td_record *out,
                    td_diag *diag) TD_WUR;

/* §5: a plaintext change_cipher_spec record must be the single byte 0x01
 * (REC-CCS-BAD-VALUE, TD_ERR_UNEXPECTED, offset into the record); whether
 * it may arrive at all (REC-CCS-OUT-OF-WINDOW) is the driver's call. */
td_err td_rec_check_ccs(const td_record *rec, td_diag *diag) TD_WUR;

/* ---- §5.2, §5.3 protection ---- */

/* One direction's protection state. Caller storage; owns its AEAD; wiped
 * by td_rec_cipher_cleanup. |seq| is the next record's sequence number. */
typedef struct td_rec_cipher {
    const td_suite *suite;
    td_aead *aead;             /* owned */
    uint8_t iv[TD_AEAD_NONCE_LEN];
    uint64_t seq;
    bool exhausted;            /* sequence number 2^64-1 has been used */
    bool null;                 /* fuzzer mode's protection (td_rec_cipher_init_null): no AEAD */
    bool null_early;           /* ... under 0-RTT keys */
} td_rec_cipher;

/* Derives key and IV from |secret| (§7.3) and keys the AEAD. |cipher| must
 * be zeroed or cleaned up; on failure it is left clean. */
td_err td_rec_cipher_init(td_rec_cipher *cipher, td_crypto *crypto, const td_suite *suite,
                          const uint8_t *secret) TD_WUR;
/* With an explicit key and IV (the self-check and tests). */
td_err td_rec_cipher_init_raw(td_rec_cipher *cipher, td_crypto *crypto, const td_suite *suite,
                              const uint8_t *key, const uint8_t iv[TD_AEAD_NONCE_LEN]) TD_WUR;
void td_rec_cipher_cleanup(td_rec_cipher *cipher);
/* |dst| (zeroed or cleaned up) becomes a copy of |src| with its own AEAD:
 * same key, IV and sequence number. On failure it is left clean. */
td_err td_rec_cipher_copy(td_rec_cipher *dst, const td_rec_cipher *src) TD_WUR;

/* Fuzzer mode's protection (td_config.fuzzer_mode; as in BoringSSL's and
 * NSS's fuzzer builds, records are plaintext): the TLSCiphertext framing is
 * unchanged (TLSInnerPlaintext with its content type and padding, then a
 * TD_AEAD_TAG_LEN-byte "tag", so every length and limit is the same) but
 * nothing is encrypted and the tag is not checked: it is zeros, its first
 * byte TD_REC_NULL_EARLY_MARK under 0-RTT keys (|early|). The one tag check
 * left: a record so marked does not open under other keys, as a real 0-RTT
 * record would not, which a server that rejected 0-RTT needs to skip it
 * (§4.2.10). Everything after the "decryption" (td_rec_open's inner
 * plaintext checks, the sequence number) is as with an AEAD. */
#define TD_REC_NULL_EARLY_MARK 0xed
td_err td_rec_cipher_init_null(td_rec_cipher *cipher, const td_suite *suite, bool early) TD_WUR;

/* §5.3: the per-record nonce for sequence number |seq|. */
void td_rec_nonce(const td_rec_cipher *cipher, uint64_t seq, uint8_t out[TD_AEAD_NONCE_LEN]);

/* Flags for td_rec_seal. */
#define TD_REC_SEAL_NO_LIMITS 1u   /* skip the sender-side size limits (misbehaviour, tests) */

/* Writes one protected record (§5.2) to |out|: header application_data /
 * 0x0303 / length, then AEAD(TLSInnerPlaintext = content || type ||
 * |pad_len| zeros). Sender limits (§5.2, §5.4): content <= 2^14,
 * TLSInnerPlaintext <= 2^14 + 1, else TD_ERR_ARG; |pad_len| bytes of zero
 * padding are the caller's choice. REC-SEQ-WRAP (TD_ERR_LIMIT) once the
 * sequence number is exhausted. Advances the sequence number. */
td_err td_rec_seal(td_rec_cipher *cipher, td_cbb *out, uint8_t type, const uint8_t *content,
                   size_t content_len, size_t pad_len, unsigned flags, td_diag *diag) TD_WUR;

/* Decrypts |rec| (a TLSCiphertext, type application_data) into |buf|
 * (|cap| >= rec->fragment_len) and returns the inner content type and a
 * view of the content inside |buf|. Advances the sequence number.
 *   TD_ERR_BAD_RECORD_MAC   REC-BAD-MAC (also a record shorter than the tag)
 *   TD_ERR_UNEXPECTED       REC-NO-CONTENT-TYPE, REC-UNKNOWN-TYPE,
 *                           REC-CCS-PROTECTED, REC-ZERO-LENGTH
 *   TD_ERR_RECORD_OVERFLOW  REC-INNER-OVERFLOW, REC-INNER-PADDING-OVERFLOW
 *   TD_ERR_LIMIT            REC-SEQ-WRAP
 * Offsets in |diag| are into the record (header included). */
td_err td_rec_open(td_rec_cipher *cipher, const td_record *rec, uint8_t *buf, size_t cap,
                   uint8_t *out_type, td_cbs *out_content, td_diag *diag) TD_WUR;

/* ---- §5.1 writing plaintext, fragmentation ---- */

/* Writes one TLSPlaintext record. |legacy_version| is 0x0301 for an initial
 * ClientHello and 0x0303 otherwise (§5.1). TD_ERR_ARG if |len| > 2^14 or
 * the type is not defined (use td_rec_write_raw for deliberate misbehaviour). */
td_err td_rec_write_plain(td_cbb *out, uint8_t type, uint16_t legacy_version,
                          const uint8_t *fragment, size_t len) TD_WUR;
/* Any header values (|len| <= 0xffff): for tests and misbehaviour knobs. */
td_err td_rec_write_raw(td_cbb *out, uint8_t type, uint16_t version, const uint8_t *fragment,
                        size_t len) TD_WUR;

/* Splits |payload| into TLSPlaintext records of at most |max_fragment|
 * (1..2^14) bytes each. An empty payload is one empty record, except for
 * handshake data, where §5.1 forbids zero-length fragments (TD_ERR_ARG). */
td_err td_rec_write_plain_fragments(td_cbb *out, uint8_t type, uint16_t legacy_version,
                                    const uint8_t *payload, size_t len,
                                    size_t max_fragment) TD_WUR;
/* The same, protected: each fragment sealed with |pad_len| bytes of padding. */
td_err td_rec_seal_fragments(td_rec_cipher *cipher, td_cbb *out, uint8_t type,
                             const uint8_t *payload, size_t len, size_t max_fragment,
                             size_t pad_len, td_diag *diag) TD_WUR;

/* ---- §5.1 handshake reassembly ---- */

/* Collects handshake fragments and yields complete messages. Caller
 * storage; owns its buffer (free with td_hs_reasm_cleanup). */
typedef struct td_hs_reasm {
    uint8_t *buf;
    size_t len;                /* bytes in |buf| */
    size_t pos;                /* bytes of |buf| already handed out */
    size_t cap;
    size_t max_msg;            /* largest message body accepted; 0: by type (below) */
    size_t base;               /* stream offset of buf[0], for diagnostics */
} td_hs_reasm;

/* A message of a type that is not a TLS 1.3 handshake message (refused
 * when whole, GEN-UNEXPECTED-ORDER) is collected up to this many bytes. */
#define TD_HS_DEFAULT_MAX_MSG (1u << 16)

/* |max_msg| > 0: a limit of the caller's on every message body (a policy:
 * larger messages are TD_ERR_LIMIT). 0: no limit of ours: each type's own
 * structural maximum (td_msg_max_body, RFC 8446 §4) is the bound. */
void td_hs_reasm_init(td_hs_reasm *r, size_t max_msg);
void td_hs_reasm_cleanup(td_hs_reasm *r);
/* |dst| (zeroed or cleaned up, or holding only a buffer to reuse: kept if
 * large enough, else freed) becomes a copy of |src| with its own buffer.
 * On failure it is left clean. */
td_err td_hs_reasm_copy(td_hs_reasm *dst, const td_hs_reasm *src) TD_WUR;

/* Appends the fragment of one handshake record. Messages handed out by
 * td_hs_reasm_next stay valid until the next call to this function.
 *   TD_ERR_UNEXPECTED REC-ZERO-LENGTH for an empty fragment (§5.1)
 *   TD_ERR_LIMIT      more buffered than one maximal message plus one record */
td_err td_hs_reasm_add(td_hs_reasm *r, const uint8_t *fragment, size_t len,
                       td_diag *diag) TD_WUR;
/* The next complete message (4-byte header included) as a view.
 * TD_ERR_WANT_MORE when no complete message is buffered; TD_ERR_LIMIT when
 * a message header announces more than |max_msg| bytes; with |max_msg| 0,
 * TD_ERR_DECODE GEN-DECODE when it announces more than its type's structure
 * can hold (the offset is the message's position in the handshake stream). */
td_err td_hs_reasm_next(td_hs_reasm *r, td_cbs *out_msg, td_diag *diag) TD_WUR;
/* Whether part of a message is still buffered (after draining with
 * td_hs_reasm_next). The driver uses it for REC-KEY-CHANGE-ALIGN. */
bool td_hs_reasm_pending(const td_hs_reasm *r);
/* §5.1: a record of |content_type| arrived; if it is not a handshake record
 * while a message is partly buffered, REC-HS-INTERLEAVED (TD_ERR_UNEXPECTED). */
td_err td_hs_reasm_check_interleave(const td_hs_reasm *r, uint8_t content_type,
                                    td_diag *diag) TD_WUR;
/* §5.1: the keys are about to change; data still buffered is
 * REC-KEY-CHANGE-ALIGN (TD_ERR_UNEXPECTED). */
td_err td_hs_reasm_check_key_change(const td_hs_reasm *r, td_diag *diag) TD_WUR;

#endif
