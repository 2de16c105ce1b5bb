/* tlsdrill/mutate.h -- structured mutation operators on handshake messages.
 *
 * Shared by the scenario runner (applied in td_config.msg_hook / record_hook
 * on our side's outgoing messages) and, later, the fuzzers. Each operator
 * edits a td_msg in place through the msg.h editing functions; raw bodies
 * passed in are borrowed views and must outlive the message's serialisation.
 * An operator that cannot apply (extension absent, list empty, index out of
 * range) returns TD_ERR_ARG and leaves the message unchanged. */
#ifndef TLSDRILL_MUTATE_H
#define TLSDRILL_MUTATE_H

#include <stddef.h>
#include <stdint.h>

#include "tlsdrill/err.h"
#include "tlsdrill/msg.h"

/* Removes the first extension of |type|. */
td_err td_mut_ext_remove(td_msg *msg, uint16_t type) TD_WUR;
/* Inserts an extension with the raw body |body| (borrowed) at |index|
 * (-1 = append). */
td_err td_mut_ext_add_raw(td_msg *msg, uint16_t type, const uint8_t *body, size_t len,
                          int index) TD_WUR;
/* Appends a recognised extension encoded from the message's typed data
 * (e.g. an empty early_data); TD_ERR_ARG if it has no typed form here. */
td_err td_mut_ext_add_typed(td_msg *msg, uint16_t type) TD_WUR;
/* Replaces the body of the first extension of |type| with raw bytes. */
td_err td_mut_ext_set_raw(td_msg *msg, uint16_t type, const uint8_t *body, size_t len) TD_WUR;
/* Inserts a copy of the first extension of |type| right after it. */
td_err td_mut_ext_duplicate(td_msg *msg, uint16_t type) TD_WUR;
/* Moves the first extension of |type| to |index| (-1 = last). */
td_err td_mut_ext_move(td_msg *msg, uint16_t type, int index) TD_WUR;
/* Reverses the order of the extension block. */
td_err td_mut_ext_reverse(td_msg *msg) TD_WUR;

/* Vectors inside a message that element edits address. */
typedef enum td_mut_list {
    TD_MUT_LIST_CIPHER_SUITES, /* ClientHello.cipher_suites */
    TD_MUT_LIST_GROUPS,        /* supported_groups */
    TD_MUT_LIST_SIGALGS,       /* signature_algorithms */
    TD_MUT_LIST_VERSIONS,      /* supported_versions (ClientHello form) */
    TD_MUT_LIST_KEY_SHARES,    /* key_share entries, addressed by group */
    TD_MUT_LIST_PSK_MODES,     /* psk_key_exchange_modes */
} td_mut_list;

typedef enum td_mut_op {
    TD_MUT_OP_REMOVE,  /* every element equal to the value */
    TD_MUT_OP_ADD,     /* append the value (key shares: an empty key_exchange
                        * unless td_mut_key_share_add gives bytes) */
    TD_MUT_OP_PREPEND, /* insert the value first */
    TD_MUT_OP_CLEAR,   /* empty the list (value ignored) */
} td_mut_op;

/* Edits one vector; extension-borne lists are re-encoded from the typed data. */
td_err td_mut_list_edit(td_msg *msg, td_mut_list list, td_mut_op op, uint16_t value) TD_WUR;
/* Appends a key share for |group| with |key_exchange| (borrowed). */
td_err td_mut_key_share_add(td_msg *msg, uint16_t group, const uint8_t *key_exchange,
                            size_t len) TD_WUR;

/* Message-level fields. Numeric fields take |value|, byte fields |bytes|
 * (borrowed). */
typedef enum td_mut_field {
    TD_MUT_FIELD_LEGACY_VERSION,    /* CH / SH / HRR */
    TD_MUT_FIELD_RANDOM,            /* CH / SH: 32 bytes */
    TD_MUT_FIELD_SESSION_ID,        /* CH legacy_session_id / SH echo */
    TD_MUT_FIELD_COMPRESSION,       /* CH: bytes of legacy_compression_methods; SH: value */
    TD_MUT_FIELD_CIPHER_SUITE,      /* SH / HRR */
    TD_MUT_FIELD_SELECTED_VERSION,  /* SH / HRR supported_versions */
    TD_MUT_FIELD_SELECTED_GROUP,    /* HRR key_share selected_group; SH key_share group */
    TD_MUT_FIELD_SELECTED_IDENTITY, /* SH pre_shared_key */
    TD_MUT_FIELD_COOKIE,            /* CH / HRR cookie body */
    TD_MUT_FIELD_TICKET_LIFETIME,   /* NewSessionTicket */
    TD_MUT_FIELD_CONTEXT, /* Certificate / CertificateRequest certificate_request_context */
    TD_MUT_FIELD_ENTRY_EXTENSIONS, /* Certificate: the first entry's extensions block (contents) */
    TD_MUT_FIELD_CV_ALGORITHM,     /* CertificateVerify.algorithm */
    TD_MUT_FIELD_CV_SIGNATURE,     /* CertificateVerify.signature bytes */
    TD_MUT_FIELD_VERIFY_DATA,      /* Finished.verify_data bytes */
    TD_MUT_FIELD_REQUEST_UPDATE,   /* KeyUpdate.request_update */
} td_mut_field;

td_err td_mut_set_field(td_msg *msg, td_mut_field field, uint32_t value, const uint8_t *bytes,
                        size_t len) TD_WUR;

/* ClientHello pre_shared_key (typed form). Binder contents are placeholders
 * here (zeros): the connection fills every binder after the hook, up to
 * the suite's hash length, according to the binder mode. */
/* Sets binder |index| to |len| bytes (0..255): truncated or extended binders. */
td_err td_mut_psk_binder_length(td_msg *msg, size_t index, size_t len) TD_WUR;
/* Appends a binder of |len| bytes (more binders than identities). */
td_err td_mut_psk_binder_add(td_msg *msg, size_t len) TD_WUR;
td_err td_mut_psk_binder_remove(td_msg *msg, size_t index) TD_WUR;
/* Appends an identity (|identity| borrowed) with |obfuscated_age|; no binder. */
td_err td_mut_psk_identity_add(td_msg *msg, const uint8_t *identity, size_t len,
                               uint32_t obfuscated_age) TD_WUR;
/* Inserts an identity (|identity| borrowed) before identity |index|
 * (|index| == count appends). The binders stay as they are, and binders are
 * paired with identities by position (RFC 8446 §4.2.11: "one for each value
 * in the identities list and in the same order"): from |index| on each
 * identity gets the binder of the one it displaced, and the last none. */
td_err td_mut_psk_identity_insert(td_msg *msg, size_t index, const uint8_t *identity, size_t len,
                                  uint32_t obfuscated_age) TD_WUR;
/* Replaces identity |index|'s bytes (|identity| borrowed). */
td_err td_mut_psk_identity_set(td_msg *msg, size_t index, const uint8_t *identity,
                               size_t len) TD_WUR;
td_err td_mut_psk_identity_age(td_msg *msg, size_t index, uint32_t obfuscated_age) TD_WUR;

/* Post-serialisation: XORs |x| into PSK binder |index| of the serialised
 * ClientHello |ch| (whole handshake message, header included), from the
 * binder's first byte; bytes past the binder's end are ignored. TD_ERR_ARG
 * if |ch| is not a parsable ClientHello with that binder. */
td_err td_mut_ch_binder_xor(uint8_t *ch, size_t len, size_t index, const uint8_t *x,
                            size_t x_len) TD_WUR;

#endif
