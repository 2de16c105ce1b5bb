/* tlsdrill/conn.h -- one TLS 1.3 endpoint (client or server), driven by bytes.
 *
 * The connection never does I/O. The caller feeds the peer's bytes in with
 * td_conn_feed and takes our bytes out with td_conn_drain; td_conn_status
 * says where the handshake is, what was negotiated and, when it failed,
 * which rule of the catalogue failed, the alert sent, the byte offset and
 * the source line of the check.
 *
 * Determinism: every random value comes from the connection's td_drbg
 * (seeded from td_config.seed and the role), every time from its virtual
 * clock. Same config + same input bytes => byte-identical output.
 *
 * Failures of the peer's input are not API errors: td_conn_feed returns
 * TD_OK, the connection sends the rule's alert and moves to
 * TD_PHASE_FAILED, and td_conn_status tells the story. API errors
 * (TD_ERR_ARG, TD_ERR_NOMEM, ...) are returned. */
#ifndef TLSDRILL_CONN_H
#define TLSDRILL_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tlsdrill/bugs.h"
#include "tlsdrill/crypto.h"
#include "tlsdrill/drbg.h"
#include "tlsdrill/err.h"
#include "tlsdrill/msg.h"

typedef struct td_conn td_conn;

typedef enum td_role { TD_ROLE_CLIENT, TD_ROLE_SERVER } td_role;

/* A certificate chain and its private key (server, or client for client
 * authentication). Borrowed by the config. */
typedef struct td_cert_key {
    const td_der *chain;      /* chain[0] is the end-entity certificate */
    size_t num_chain;
    const td_pkey *key;       /* private key of chain[0] */
    const char *sni;          /* server: serve this chain for this SNI only; NULL = any */
} td_cert_key;

/* A ticket a client can resume with (RFC 8446 §4.6.1). Plain value type
 * (copy it freely). A ticket longer than TD_MAX_TICKET_LEN is not stored
 * (the status records it). */
#define TD_MAX_TICKET_LEN 4096
typedef struct td_session {
    uint16_t suite;
    uint8_t psk[TD_MAX_HASH_LEN];
    size_t psk_len;
    uint8_t ticket[TD_MAX_TICKET_LEN];
    size_t ticket_len;
    uint32_t lifetime_s;
    uint32_t age_add;
    uint32_t max_early_data;
    uint64_t received_ms;     /* virtual clock of the client when it arrived */
    char alpn[256];           /* negotiated ALPN of the original connection ("" = none) */
    bool external;            /* an external PSK (RFC 8446 4.2.11): |ticket| is its identity,
                                 binders use "ext binder", obfuscated_ticket_age is 0 and
                                 there is no lifetime */
} td_session;

typedef enum td_hrr_mode {
    TD_HRR_AUTO,              /* only when no usable key share (RFC 8446 §4.1.1) */
    TD_HRR_ALWAYS,            /* always send one (on demand) */
} td_hrr_mode;

typedef enum td_client_auth {
    TD_CLIENT_AUTH_NONE,
    TD_CLIENT_AUTH_REQUEST,   /* CertificateRequest; an empty Certificate is fine */
    TD_CLIENT_AUTH_REQUIRE,   /* an empty Certificate fails (CT-CLIENT-EMPTY / certificate_required) */
} td_client_auth;

/* Binder treatment after the outgoing-message hook. */
typedef enum td_binder_mode {
    TD_BINDER_RECOMPUTE,      /* compute binders over the (edited) ClientHello: valid */
    TD_BINDER_STALE,          /* keep the binder bytes the hook left */
    TD_BINDER_CORRUPT,        /* compute, then flip a bit of each */
    TD_BINDER_WRONG_TRANSCRIPT, /* compute over a transcript without the prior messages (after HRR) or with one byte changed */
} td_binder_mode;

/* Called for every handshake message we are about to send, after it is
 * built as a td_msg and before it is serialised. The hook may edit |msg|
 * (td_exts_* functions, fields; set from_typed on edited extensions) and
 * choose |*binder_mode| for a ClientHello with pre_shared_key. Return
 * TD_OK to send, anything else aborts our side with that error. */
typedef td_err (*td_msg_hook)(void *arg, td_conn *conn, td_msg *msg, td_binder_mode *binder_mode);

/* Called for every outgoing record (header included, protected if keys are
 * on) with its inner content type. The hook writes what is really sent to
 * |out| (nothing: the record is dropped). Return non-OK to abort. */
typedef td_err (*td_record_hook)(void *arg, td_conn *conn, uint8_t inner_type,
                                 const uint8_t *record, size_t len, td_cbb *out);

/* Receives NSS key log lines ("LABEL client_random secret\n"). */
typedef void (*td_keylog_fn)(void *arg, const char *line);

/* Sees every byte of the connection as it crosses the wire: |sent| true for
 * what td_conn_drain hands out, false for what td_conn_feed is given (before
 * it is processed, even after a failure). Observes only (captures). */
typedef void (*td_wire_fn)(void *arg, bool sent, const uint8_t *bytes, size_t len);

/* Values that replace what the DRBG would draw, so that a fixed trace (the
 * RFC 8448 examples) can be reproduced byte for byte. Every pointer may be
 * NULL (draw as usual). Borrowed. */
typedef struct td_inject {
    const uint8_t *random;          /* 32 bytes: ClientHello/ServerHello.random */
    const uint8_t *session_id;      /* client legacy_session_id (compat mode) */
    size_t session_id_len;
    const uint8_t *const *share_private; /* per entry of the key shares we generate, in order */
    const size_t *share_private_len;
    size_t num_share_private;
    const uint8_t *sig_random;      /* randomness for our CertificateVerify (PSS salt / ECDSA k) */
    size_t sig_random_len;
    const uint8_t *ticket;          /* server: the ticket bytes of the first NewSessionTicket */
    size_t ticket_len;
    const uint8_t *ticket_nonce;
    size_t ticket_nonce_len;
    uint32_t ticket_age_add;
    bool has_ticket_age_add;
    const uint8_t *hrr_cookie;      /* server: the cookie of our HelloRetryRequest (echo checked byte for byte) */
    size_t hrr_cookie_len;
} td_inject;

/* Server: a PSK known by its identity (RFC 8446 §4.2.11) besides the tickets
 * the server sealed itself: an external PSK, or a ticket issued elsewhere
 * (e.g. the RFC 8448 trace's). Borrowed. */
typedef struct td_psk_entry {
    const uint8_t *identity;
    size_t identity_len;
    const uint8_t *psk;
    size_t psk_len;                 /* the hash length of |suite| */
    uint16_t suite;                 /* the PSK's hash is this suite's */
    bool resumption;                /* binder key "res binder" and ticket-age checks; false: external ("ext binder", age ignored) */
    uint32_t max_early_data;        /* > 0: 0-RTT allowed with this PSK */
    const char *alpn;               /* ALPN of the original connection (NULL = none) */
    uint32_t age_add;               /* resumption: the ticket's ticket_age_add */
    uint64_t issued_ms;             /* resumption: server clock when the ticket was issued */
    uint32_t lifetime_s;            /* resumption: ticket_lifetime */
} td_psk_entry;

/* Configuration. Caller storage, borrowed by every connection made from it
 * (it and everything it points to must outlive them). Zero is a usable
 * default for every field except role. */
typedef struct td_config {
    td_role role;
    td_crypto *crypto;              /* borrowed: fetched algorithms, shared by connections */

    /* Determinism. */
    const uint8_t *seed;            /* DRBG seed; the stream label is the role ("client"/"server") plus |stream| */
    size_t seed_len;
    const char *stream;             /* extra stream label, e.g. "conn/3" */
    uint64_t clock_start_ms;

    /* Both sides. Lists in preference order; NULL/0 = the defaults
     * (suites 1301 1302 1303; groups x25519 secp256r1 secp384r1;
     * sigalgs ecdsa_p256 ecdsa_p384 rsa_pss_rsae_256/384/512 ed25519). */
    const uint16_t *suites;
    size_t num_suites;
    const uint16_t *groups;
    size_t num_groups;
    const uint16_t *sigalgs;
    size_t num_sigalgs;
    const char *const *alpn;        /* client: offered; server: acceptable, in server preference */
    size_t num_alpn;
    const td_cert_key *certs;       /* server: candidates; client: for client auth (first used) */
    size_t num_certs;
    const uint8_t *trust_anchor;    /* DER certificate the peer's chain must reach */
    size_t trust_anchor_len;
    bool no_verify;                 /* don't check the peer's chain (CertificateVerify still checked) */
    size_t max_fragment;            /* largest record payload we send; 0 = 2^14 */
    size_t max_handshake_msg;       /* largest handshake message accepted; 0 = 64 KiB */

    /* Client. */
    const char *server_name;        /* SNI host_name; NULL = no server_name */
    const char *verify_name;        /* the DNS name or IP address the server's certificate must
                                     * name (RFC 6125); NULL = no name check. Checked only when
                                     * the chain is (not with no_verify) */
    const uint16_t *share_groups;   /* groups to send key shares for; NULL = the first group */
    size_t num_share_groups;
    const td_session *resume;       /* offer this ticket */
    bool psk_ke;                    /* offer psk_ke (as well as psk_dhe_ke) */
    bool psk_ke_only;               /* offer only psk_ke */
    bool compat_mode;               /* non-empty legacy_session_id and dummy CCS (§D.4) */
    const uint8_t *early_data;      /* sent as 0-RTT when resuming a ticket that allows it */
    size_t early_data_len;
    /* ClientHello shape. The RFC 8448 traces were made by NSS, which sends
     * these legacy/optional extensions; the client places every extension
     * in NSS's order, so with these set (and the trace's values injected)
     * it reproduces the traces byte for byte. */
    bool renegotiation_info;        /* send an empty renegotiation_info (RFC 5746 §3.4) */
    bool session_ticket_ext;        /* send an empty session_ticket extension (RFC 5077 §3.2) */
    uint16_t record_size_limit;     /* > 0: advertise record_size_limit (RFC 8449); the engine
                                       itself never sends records above 2^14, so only values
                                       >= 2^14 + 1 are honoured by our side */
    bool ch_padding;                /* padding extension (RFC 7685) bringing a ClientHello of
                                       256..511 bytes to 512, as NSS and BoringSSL do */
    bool offer_post_handshake_auth; /* send post_handshake_auth (RFC 8446 §4.2.6) and answer a
                                       post-handshake CertificateRequest (§4.6.2) with certs[0]
                                       when it can sign with a scheme the request lists, else
                                       with an empty Certificate */

    /* Server. */
    td_hrr_mode hrr;
    bool hrr_cookie;                /* put a cookie in HRRs (stateless style: it carries the CH1 hash) */
    td_client_auth client_auth;
    /* §4.6.2: REQUEST/REQUIRE: once the handshake is complete (after the
     * tickets), one CertificateRequest if the client offered
     * post_handshake_auth (more with td_conn_request_client_auth); REQUIRE: an
     * empty Certificate in answer fails (CT-CLIENT-EMPTY, certificate_required). */
    td_client_auth post_handshake_auth;
    unsigned num_tickets;           /* NewSessionTickets after the handshake; 0 = none */
    uint32_t ticket_lifetime_s;     /* 0 = 7 days (the §4.6.1 maximum) */
    uint32_t max_early_data;        /* > 0: tickets allow 0-RTT up to this many bytes */
    bool accept_early_data;         /* accept 0-RTT when offered with a valid ticket */
    unsigned max_psk_identities;    /* identities tried; 0 = 8 */
    const uint8_t *ticket_key;      /* 32 bytes sealing our tickets; NULL = derived from the seed */
    uint32_t ticket_age_tolerance_ms; /* 0 = 10000 */
    const td_psk_entry *psks;       /* PSKs known by identity, tried before our own tickets */
    size_t num_psks;

    td_bugs bugs;                   /* deliberate misbehaviour of our side (bugs.def) */
    /* Test-only (tlsdrill run --plant-wrong-alert): when this side aborts
     * for |plant_rule|, it sends an alert that rule does not allow, so that
     * a conformance suite can be shown to catch a wrong alert. */
    bool plant_wrong_alert;
    td_rule plant_rule;
    /* Test-only (tlsdrill run --plant-skip RULE): this side skips its check
     * for |plant_skip| as if it passed (only the sites that ask
     * td_conn_plant_skips: KS-GROUP-NOT-IN-SUPPORTED, CH-COMPRESSION), so
     * that the runner's grades for a check not made can be shown. */
    td_rule plant_skip;
    const struct td_inject *inject; /* replay of fixed traces (RFC 8448): values that replace random draws */
    td_msg_hook msg_hook;
    void *msg_hook_arg;
    td_record_hook record_hook;
    void *record_hook_arg;
    bool log_messages;              /* keep every handshake message sent and received (td_conn_messages) */
    /* Fuzzer mode (BoringSSL's FUZZER_MODE, NSS's fuzz_tls, as a runtime
     * switch; set only by the fuzz harness, fuzz/harness.c -- no CLI
     * option, scenario or peer can turn it on): what a fuzzer cannot forge
     * is neither made nor checked, so that it can write every message.
     *  - Records (both directions): plaintext, with the same framing -- the
     *    TLSInnerPlaintext (content type, padding) and a zero tag of the
     *    AEAD's size, not checked (td_rec_cipher_init_null); every length
     *    limit and inner-plaintext check stays.
     *  - Finished: ours is zeros; the peer's verify_data is not checked (its
     *    length is, by the parser).
     *  - PSK binders: ours are zeros; the server checks their length only.
     *  - Tickets and HRR cookies (server): not encrypted (nonce, plaintext,
     *    zero tag); their contents are still checked.
     *  - The CertificateVerify signature and the peer's certificate chain
     *    are not checked (as with no_verify, the end-entity key must still
     *    parse).
     * Both ends of a connection must be in it (records differ). Everything
     * else (parsing, negotiation, message order, the other checks) is
     * unchanged and deterministic. */
    bool fuzzer_mode;
    /* Fuzz harness speed (fuzz/harness.c): our CertificateVerify carries a
     * fixed signature of the right shape (td_sign_dummy) instead of a real
     * one -- only for a peer that does not verify it (fuzzer_mode, or
     * peer_is_self). */
    bool dummy_signatures;
    /* The peer is this engine (a fuzz target's counterpart talking to the
     * side under test): the peer's certificate chain and CertificateVerify
     * signature, which our own engine built, are not checked again (the end-entity key is
     * still read, so the scheme-fits-key check stays); every other check stays. */
    bool peer_is_self;
    td_keylog_fn keylog;
    void *keylog_arg;
    td_wire_fn wire;                /* optional tap on the bytes in and out */
    void *wire_arg;
} td_config;

typedef enum td_phase {
    TD_PHASE_HANDSHAKE,   /* in progress */
    TD_PHASE_CONNECTED,   /* handshake complete, application data flows */
    TD_PHASE_CLOSED,      /* close_notify sent or received */
    TD_PHASE_FAILED,      /* an alert was sent or received, or a local error */
} td_phase;

typedef struct td_status {
    td_phase phase;
    bool completed;                 /* the handshake completed (stays true after a close or a
                                       later failure: phase says what happened since) */
    const char *state;              /* current state machine state, e.g. "WAIT_FINISHED" */
    /* Negotiated (0 / false until known). */
    uint16_t version;
    uint16_t suite;
    uint16_t group;                 /* 0 for psk_ke */
    uint16_t sigalg;                /* the scheme of the server's CertificateVerify */
    uint16_t client_sigalg;         /* the client's, with client auth */
    bool hrr;
    bool resumed;                   /* a PSK was accepted */
    bool early_data_accepted;
    bool client_authenticated;      /* in the handshake or after it (§4.6.2) */
    bool post_handshake_auth;       /* the client offered post_handshake_auth (§4.2.6) */
    unsigned post_handshake_auths;  /* post-handshake authentications done (§4.6.2): server:
                                       responses accepted (an empty Certificate counts);
                                       client: responses sent */
    char alpn[256];
    char sni[256];                  /* server: the server_name the client sent */
    /* The end of the story. */
    bool alert_sent;
    uint8_t alert_sent_level, alert_sent_desc;
    bool alert_received;
    uint8_t alert_received_level, alert_received_desc;
    td_diag diag;                   /* rule, error class, offset, file:line, text of the abort */
    uint8_t msg_type;               /* handshake message being processed when it failed (0: none) */
    int record_index;               /* index of the record (from 0, ours not counted) that failed; -1 */
    uint64_t bytes_in, bytes_out;
    uint32_t app_data_records_in; /* application data records received after the handshake
                                   * (not 0-RTT) */
    bool alert_unreadable; /* this side aborted on an alert record of the peer that it could
                            * not read (not one two-byte alert, plaintext under keys, or a
                            * protected record of an alert's length that does not
                            * authenticate): the peer was refusing, with an alert that
                            * cannot be named */
    uint64_t bytes_after_alert;     /* peer bytes that came after its error alert: never read
                                       (§6: it MUST close at once, AL-CLOSE-AFTER-FATAL) */
} td_status;

/* Returns owned (free with td_conn_free). |cfg| is borrowed. */
td_err td_conn_new(const td_config *cfg, td_conn **out) TD_WUR;
void td_conn_free(td_conn *conn);
/* Snapshot: an owned deep copy of |src| (free with td_conn_free) that,
 * given the same calls, produces the same bytes and the same status as
 * |src| would: buffers, key shares, transcript, key schedule, record
 * protection (its own AEADs at the same sequence numbers), DRBG and clock
 * are copied; the config (and its crypto context, certificates, hooks) stays
 * borrowed, so it must outlive the copy as it outlives |src|. Either may be
 * freed first. TD_ERR_ARG when called from inside one of |src|'s
 * callbacks (a hook, the key log, the wire tap): mid-operation, there is no
 * state to copy. */
td_err td_conn_clone(const td_conn *src, td_conn **out) TD_WUR;
/* The same into an existing connection: |dst| (any connection, e.g. an
 * earlier copy) releases what it held and becomes a copy of |src|, keeping
 * its allocation (a fuzz target restores a snapshot per input). On failure
 * |dst| is left empty: only td_conn_free it. TD_ERR_ARG as td_conn_clone,
 * or when |dst| is |src|. */
td_err td_conn_restore(td_conn *dst, const td_conn *src) TD_WUR;

/* Client: builds and queues the first flight (ClientHello, early data).
 * Server: nothing to do (it waits for the ClientHello). */
td_err td_conn_start(td_conn *conn) TD_WUR;
/* Processes the peer's bytes (any split: partial records are kept). */
td_err td_conn_feed(td_conn *conn, const uint8_t *data, size_t len) TD_WUR;
/* Hands out the bytes queued for the peer: |*out| points into the
 * connection and stays valid until the next call on it; *out_len may be 0. */
void td_conn_drain(td_conn *conn, const uint8_t **out, size_t *out_len);
const td_status *td_conn_status(const td_conn *conn);

/* The traffic secrets (RFC 8446 §7.1), for tools that seal records on a
 * connection's behalf (the fuzz harness); all zero until derived. Borrowed
 * from |conn|: td_conn_suite's hash length of them are meaningful. */
typedef enum td_traffic_secret {
    TD_SECRET_CLIENT_HS,
    TD_SECRET_SERVER_HS,
    TD_SECRET_CLIENT_AP,
    TD_SECRET_SERVER_AP,
} td_traffic_secret;
const uint8_t *td_conn_traffic_secret(const td_conn *conn, td_traffic_secret which);
/* The negotiated cipher suite; NULL before the ServerHello. */
const td_suite *td_conn_suite(const td_conn *conn);

/* Application data (connected only; client early data goes through config). */
td_err td_conn_write(td_conn *conn, const uint8_t *data, size_t len) TD_WUR;
/* Takes up to |cap| bytes of received application data. */
size_t td_conn_read(td_conn *conn, uint8_t *out, size_t cap);
/* Sends KeyUpdate (§4.6.3), optionally requesting the peer's. */
td_err td_conn_key_update(td_conn *conn, bool request) TD_WUR;
/* Sends close_notify (§6.1), once; also after the peer's close_notify
 * (phase CLOSED), not after a failure. */
td_err td_conn_close(td_conn *conn) TD_WUR;
/* Server: sends a post-handshake CertificateRequest now (RFC 8446 §4.6.2)
 * with a fresh certificate_request_context; the answer is checked as it
 * arrives (td_status.post_handshake_auths counts the accepted ones).
 * TD_ERR_ARG unless the connection is a connected server whose client
 * offered post_handshake_auth; TD_ERR_LIMIT with TD_MAX_PHA_PENDING
 * requests unanswered. */
#define TD_MAX_PHA_PENDING 4
td_err td_conn_request_client_auth(td_conn *conn) TD_WUR;
/* Client: the last ticket received (false if none). Copies into |out|. */
bool td_conn_session(const td_conn *conn, td_session *out);
/* The virtual clock, for tests that age tickets. */
td_clock *td_conn_clock(td_conn *conn);
/* The role and config it was made from. */
const td_config *td_conn_config(const td_conn *conn);

/* One handshake message as sent or received (4-byte header included). */
typedef struct td_msg_record {
    bool sent;                      /* by us (true) or received from the peer */
    uint8_t type;
    const uint8_t *bytes;
    size_t len;
} td_msg_record;

/* With cfg->log_messages: every handshake message this connection sent and
 * received, in order, in plaintext (received ones as reassembled, before
 * they were checked). The views stay valid until the next call that feeds,
 * sends or frees; |*out_num| is 0 when logging is off. */
const td_msg_record *td_conn_messages(td_conn *conn, size_t *out_num);

/* Misbehaviour for scenarios and fuzzers, called from our msg_hook:
 * td_conn_skip_message drops the message being sent (never serialised, not
 * in the transcript); td_conn_inject_handshake queues a raw handshake
 * message (header included) before it, as if we had built it (transcript
 * included), under the keys it goes out with; td_conn_inject_record flushes
 * what is queued, then sends one record of |inner_type| with |content| and
 * |pad_len| zero bytes of padding under our current write keys (plaintext
 * before they are on), without the sender's size limits and bypassing the
 * record hook once protected. */
void td_conn_skip_message(td_conn *conn);
td_err td_conn_inject_handshake(td_conn *conn, const uint8_t *msg, size_t len) TD_WUR;
td_err td_conn_inject_record(td_conn *conn, uint8_t inner_type, const uint8_t *content, size_t len,
                             size_t pad_len) TD_WUR;

const char *td_phase_name(td_phase phase);

#endif
