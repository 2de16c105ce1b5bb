/* engine/server_internal.h -- shared by the server state machine
 * (server.c: states and ClientHello negotiation), its flight builders
 * (server_flight.c) and its PSK/ticket/cookie code (server_psk.c). Not public. */
#ifndef TD_SERVER_INTERNAL_H
#define TD_SERVER_INTERNAL_H

#include "conn_internal.h"

#define TD_VERSION_TLS13 0x0304
#define TD_FALLBACK_SCSV 0x5600
#define TD_PSK_MODE_KE 0
#define TD_PSK_MODE_DHE_KE 1
/* RFC 8446 §4.6.1: "Servers MUST NOT use any value greater than 604800
 * seconds (7 days)". */
#define TD_MAX_TICKET_LIFETIME_S 604800u

/* The contents of a PSK the server can use: one of its own sealed tickets,
 * or an entry of cfg->psks. */
typedef struct td_srv_psk {
    uint16_t suite;
    uint8_t psk[TD_MAX_HASH_LEN];
    size_t psk_len;
    bool resumption; /* "res binder"; ticket lifetime and age apply */
    uint64_t issued_ms;
    uint32_t lifetime_s, age_add, max_early_data;
    char alpn[256];
} td_srv_psk;

/* What the server decided from one ClientHello (RFC 8446 §4.1.1). */
typedef struct td_srv_hello {
    const td_suite *suite;
    uint16_t group;                  /* (EC)DHE group; 0 for psk_ke */
    const td_key_share_entry *share; /* the client's share for |group| (NULL: none sent) */
    uint16_t hrr_group;              /* mutually supported group without a share */
    bool psk, psk_dhe;
    uint16_t psk_index;
    td_srv_psk psk_data;
    bool early; /* 0-RTT accepted */
    const td_cert_key *cert;
    uint16_t sigalg;
    bool sni; /* the client sent server_name */
} td_srv_hello;

/* ---- server_psk.c ---- */

/* §4.2.11: tries the first cfg->max_psk_identities identities of the
 * ClientHello |msg| (parsed from |raw|, header included); fills h->psk*
 * for the first usable one after verifying its binder (PSK-BINDER-INVALID
 * on failure). Unknown, undecryptable, expired or hash-incompatible
 * identities are skipped (TOL-UNKNOWN-PSK). */
td_err td_srv_choose_psk(td_conn *c, const td_msg *msg, const uint8_t *raw, size_t raw_len,
                         td_srv_hello *h) TD_WUR;
/* §4.2.10: whether the client's ticket age is within the tolerance. */
bool td_srv_ticket_age_ok(td_conn *c, const td_client_hello *ch, const td_srv_hello *h);
/* Seals a ticket for |p| into |out| (cap bytes). */
td_err td_srv_seal_ticket(td_conn *c, const td_srv_psk *p, uint8_t *out, size_t cap,
                          size_t *out_len) TD_WUR;
/* §4.2.2: a cookie carrying Hash(ClientHello1), the suite and the HRR group,
 * sealed with the ticket key. */
td_err td_srv_make_cookie(td_conn *c, const uint8_t *ch1_hash, size_t hash_len, uint16_t group,
                          uint8_t *out, size_t cap, size_t *out_len) TD_WUR;
/* True if |cookie| is ours and carries Hash(ClientHello1) = |ch1_hash|. */
bool td_srv_cookie_ok(td_conn *c, const uint8_t *cookie, size_t len, const uint8_t *ch1_hash,
                      size_t hash_len);

/* ---- server_flight.c ---- */

td_err td_srv_send_hrr(td_conn *c, const td_client_hello *ch, const td_srv_hello *h) TD_WUR;
td_err td_srv_send_server_hello(td_conn *c, const td_client_hello *ch, const td_srv_hello *h,
                                const uint8_t *share, size_t share_len) TD_WUR;
td_err td_srv_send_encrypted_extensions(td_conn *c, const td_client_hello *ch,
                                        const td_srv_hello *h) TD_WUR;
td_err td_srv_send_certificate_request(td_conn *c) TD_WUR;
/* §4.6.2: a post-handshake CertificateRequest carrying |context|. */
td_err td_srv_send_pha_certificate_request(td_conn *c, const uint8_t *context,
                                           size_t context_len) TD_WUR;
td_err td_srv_send_certificate(td_conn *c, const td_srv_hello *h) TD_WUR;
td_err td_srv_send_certificate_verify(td_conn *c, const td_srv_hello *h) TD_WUR;
td_err td_srv_send_finished(td_conn *c) TD_WUR;
td_err td_srv_send_tickets(td_conn *c) TD_WUR;

#endif
