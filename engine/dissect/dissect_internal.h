/* dissect_internal.h -- shared by the dissector's files (not public):
 * handshake message decoding into tree nodes (dissect_msg.c), used by the
 * record layer of td_dis_conn (dissect_tls.c). */
#ifndef TLSDRILL_DISSECT_INTERNAL_H
#define TLSDRILL_DISSECT_INTERNAL_H

#include "tlsdrill/dissect.h"
#include "tlsdrill/msg.h"

/* What the connection layer needs from a decoded handshake message. */
typedef struct dis_hs_info {
    uint8_t type;
    bool has_random; /* ClientHello: its random */
    uint8_t random[TD_RANDOM_LEN];
    bool has_suite; /* ServerHello (not HRR): the selected cipher suite */
    uint16_t suite;
    bool is_hrr;
    bool key_update; /* a well-formed KeyUpdate */
} dis_hs_info;

/* Scratch space for decoding (the parsed message and a typed extension
 * view are several KB: allocated once per connection). */
typedef struct dis_scratch {
    td_msg msg;
    td_ext_data ext;
    td_exts exts;
} dis_scratch;

/* Appends a `handshake` node for the whole message |msg| (|len| bytes, the
 * 4-byte header included) to |parent|. |hash_len| is the negotiated hash
 * length (0: not known yet; a Finished is then read as all its body).
 * Only TD_ERR_NOMEM is an error: malformed messages become `error` fields. */
td_err dis_handshake(td_dis_node *parent, const uint8_t *msg, size_t len, size_t hash_len,
                     size_t max_hex, dis_scratch *scratch, dis_hs_info *info) TD_WUR;

/* Value names with the number: "x25519 (0x001d)", "GREASE (0x0a0a)". */
void dis_group(uint16_t v, char *out, size_t cap);
void dis_sigalg(uint16_t v, char *out, size_t cap);
void dis_suite(uint16_t v, char *out, size_t cap);
/* |len| bytes as text, non-printable bytes as \xNN (for names, ALPN). */
void dis_printable(const uint8_t *p, size_t len, char *out, size_t cap);

#endif
