/* engine/conn_internal.h -- the connection object, shared by the driver
 * (conn.c) and the two state machines (client.c, server.c). Not public.
 *
 * Division of labour:
 *   conn.c    bytes in/out, records, reassembly, decryption, CCS and alert
 *             records, key installation, the one abort path (rule -> alert);
 *   client.c  one function per client state: consumes a parsed message,
 *             decides, builds the next messages as td_msg, sets the state;
 *   server.c  the same for the server.
 * The state machines never touch records or I/O: they call td_conn_send_msg
 * and the td_conn_set_*_keys functions, and fail with TD_FAIL on &c->diag
 * naming a catalogue rule; the driver turns that into the alert. */
#ifndef TD_CONN_INTERNAL_H
#define TD_CONN_INTERNAL_H

#include "tlsdrill/conn.h"
#include "tlsdrill/keysched.h"
#include "tlsdrill/record.h"

/* The handshake states and the message order, as one table (RFC 8446 §4,
 * Appendix A; s2n-tls keeps its state machine as data the same way).
 * Client and server share one enum so the driver can name them.
 *
 *   X(name, takes, client handler, server handler, rule, text)
 *
 * takes: the message types the state accepts (TD_TAKES(type) | ...), or
 *   TD_TAKES_ANY where the state decides late (after the handshake, and
 *   START, CLOSED, FAILED): a malformed message of a type the state does
 *   not take is out of order before it is malformed;
 * handlers: the state function of that role (NULL: not a state of that
 *   role); the driver (conn.c) calls it only with a type the state takes,
 *   so a state function never checks the type;
 * rule, text: another type is out of order: the driver aborts with
 *   unexpected_message naming |rule| (after the specific cases of conn.c's
 *   k_misplaced), the message's type name followed by |text| (NULL: " in
 *   state <name>").
 * CLOSED and FAILED: the driver drops what comes (a malformed message still
 * fails first). */
#define TD_TAKES(type) ((uint32_t)1 << TD_MSG_##type)
#define TD_TAKES_ANY UINT32_MAX
#define TD_HS_STATE_LIST(X)                                                                       \
    X(START, TD_TAKES_ANY, NULL, NULL, TD_RULE_GEN_UNEXPECTED_ORDER, NULL)                        \
    /* §4: only a ServerHello (or HRR) answers a ClientHello (C18). */                            \
    X(C_WAIT_SH, TD_TAKES(SERVER_HELLO), td_client_do_wait_sh, NULL, TD_RULE_GEN_UNEXPECTED_ORDER, \
      " while waiting for ServerHello")                                                           \
    /* §4.3.1: EncryptedExtensions comes right after ServerHello (C31). */                        \
    X(C_WAIT_EE, TD_TAKES(ENCRYPTED_EXTENSIONS), td_client_do_wait_ee, NULL,                      \
      TD_RULE_EE_NOT_AFTER_SH, NULL)                                                              \
    /* §4.3.2, §4.4.2: a CertificateRequest or the Certificate; otherwise out of order. */        \
    X(C_WAIT_CERT_CR, TD_TAKES(CERTIFICATE) | TD_TAKES(CERTIFICATE_REQUEST),                      \
      td_client_do_wait_cert_cr, NULL, TD_RULE_GEN_UNEXPECTED_ORDER, NULL)                        \
    /* §4.4.2, §4: after a CertificateRequest the Certificate must come (C33). */                 \
    X(C_WAIT_CERT, TD_TAKES(CERTIFICATE), td_client_do_wait_cert, NULL,                           \
      TD_RULE_GEN_UNEXPECTED_ORDER, NULL)                                                         \
    /* §4.4.3: a non-empty Certificate is followed by CertificateVerify (C35). */                 \
    X(C_WAIT_CV, TD_TAKES(CERTIFICATE_VERIFY), td_client_do_wait_cv, NULL, TD_RULE_CV_MISSING,    \
      NULL)                                                                                       \
    /* §4: the server's Finished comes next (C40). */                                             \
    X(C_WAIT_FINISHED, TD_TAKES(FINISHED), td_client_do_wait_finished, NULL,                      \
      TD_RULE_GEN_UNEXPECTED_ORDER, NULL)                                                         \
    /* §4, Appendix A.2: the first message a server accepts is ClientHello. */                    \
    X(S_WAIT_CH, TD_TAKES(CLIENT_HELLO), NULL, td_server_do_wait_ch, TD_RULE_GEN_UNEXPECTED_ORDER, \
      " instead of ClientHello")                                                                  \
    /* §4.1.4, Appendix A.2: after an HRR only a ClientHello is valid (S19). */                   \
    X(S_WAIT_CH2, TD_TAKES(CLIENT_HELLO), NULL, td_server_do_wait_ch2,                            \
      TD_RULE_GEN_UNEXPECTED_ORDER, " instead of the second ClientHello")                         \
    /* §4.5, Appendix A.2: under early keys only EndOfEarlyData may come. */                      \
    X(S_WAIT_EOED, TD_TAKES(END_OF_EARLY_DATA), NULL, td_server_do_wait_eoed,                     \
      TD_RULE_GEN_UNEXPECTED_ORDER, " before EndOfEarlyData")                                     \
    /* §4.4.2, Appendix A.2: after our CertificateRequest the client MUST send a                  \
     * Certificate (S32). */                                                                      \
    X(S_WAIT_CERT, TD_TAKES(CERTIFICATE), NULL, td_server_do_wait_cert,                           \
      TD_RULE_GEN_UNEXPECTED_ORDER, " instead of the client Certificate")                         \
    /* §4.4.3: a non-empty Certificate is immediately followed by CertificateVerify (S34). */     \
    X(S_WAIT_CV, TD_TAKES(CERTIFICATE_VERIFY), NULL, td_server_do_wait_cv, TD_RULE_CV_MISSING,    \
      " instead of the client CertificateVerify")                                                 \
    /* §4, Appendix A.2 (S39). */                                                                 \
    X(S_WAIT_FINISHED, TD_TAKES(FINISHED), NULL, td_server_do_wait_finished,                      \
      TD_RULE_GEN_UNEXPECTED_ORDER, " instead of the client Finished")                            \
    /* Takes every type and has both handlers: the dispatch never finds a message out of order \
     * here; the post-handshake handlers name PH-UNEXPECTED-MSG themselves (client.c, server.c). */ \
    X(CONNECTED, TD_TAKES_ANY, td_client_post_handshake, td_server_post_handshake, TD_RULE_NONE,  \
      NULL)                                                                                       \
    /* §4.6.2: the client's Certificate, CertificateVerify and Finished of a                   \
     * post-handshake authentication come consecutively, "without intervening other messages". */ \
    X(S_WAIT_PHA_CV, TD_TAKES(CERTIFICATE_VERIFY), NULL, td_server_do_wait_cv,                    \
      TD_RULE_PH_AUTH_CONSECUTIVE, " between the client's post-handshake Certificate and "        \
      "CertificateVerify")                                                                        \
    X(S_WAIT_PHA_FINISHED, TD_TAKES(FINISHED), NULL, td_server_do_pha_wait_finished,              \
      TD_RULE_PH_AUTH_CONSECUTIVE, " before the client's post-handshake Finished")               \
    X(CLOSED, TD_TAKES_ANY, NULL, NULL, TD_RULE_NONE, NULL)                                       \
    X(FAILED, TD_TAKES_ANY, NULL, NULL, TD_RULE_NONE, NULL)

typedef enum td_hs_state {
#define TD_HS_STATE_ENUM_(name, takes, client, server, rule, text) TD_HS_##name,
    TD_HS_STATE_LIST(TD_HS_STATE_ENUM_)
#undef TD_HS_STATE_ENUM_
    TD_HS_NUM_STATES
} td_hs_state;

const char *td_hs_state_name(td_hs_state state);

#define TD_MAX_OUR_SHARES 4

struct td_conn {
    const td_config *cfg;      /* borrowed */
    td_crypto *crypto;         /* borrowed from cfg */
    td_role role;
    td_drbg drbg;
    td_clock clock;
    td_hs_state state;
    td_status status;

    /* Input: bytes not yet consumed as whole records. */
    uint8_t *in;
    size_t in_len, in_cap;
    /* Output: bytes ready for td_conn_drain. */
    uint8_t *out;
    size_t out_len, out_cap, out_drained;
    /* Handshake bytes queued under the current write keys, not yet framed. */
    uint8_t *hs_out;
    size_t hs_out_len, hs_out_cap;
    /* The buffer our handshake messages are built in (td_conn_send_msg),
     * kept from one message to the next: once large enough, building a
     * message allocates nothing. */
    uint8_t *msg_buf;
    size_t msg_buf_cap;
    /* Received application data not yet read. */
    uint8_t *app_in;
    size_t app_in_len, app_in_cap;
    /* A protected record's plaintext (handle_protected), kept from one record to the next. */
    uint8_t *open_buf;
    size_t open_cap;
    int records_in;            /* records received so far */

    td_hs_reasm reasm;
    td_transcript transcript;
    td_keysched ks;
    bool ks_ready;             /* ks initialised (suite known) */
    const td_suite *suite;

    td_rec_cipher read, write;
    bool read_protected, write_protected;
    bool read_early;           /* server: reading under client_early_traffic_secret */
    size_t early_data_skip_left; /* server: bytes of rejected 0-RTT still skippable (§4.2.10) */

    /* Secrets of this handshake (hash_len bytes each). */
    uint8_t c_early[TD_MAX_HASH_LEN], c_hs[TD_MAX_HASH_LEN], s_hs[TD_MAX_HASH_LEN];
    uint8_t c_ap[TD_MAX_HASH_LEN], s_ap[TD_MAX_HASH_LEN], exporter[TD_MAX_HASH_LEN];
    uint8_t res_master[TD_MAX_HASH_LEN];

    /* Hello state. */
    uint8_t client_random[TD_RANDOM_LEN], server_random[TD_RANDOM_LEN];
    uint8_t session_id[32];
    size_t session_id_len;
    td_kex *shares[TD_MAX_OUR_SHARES];  /* client: one per offered share; server: its one */
    size_t num_shares;
    bool hrr_done;             /* an HRR was sent / received */
    bool skip_msg;             /* set by the msg hook (td_conn_skip_message): do not send it */
    bool ccs_sent, ccs_seen;   /* compat-mode CCS sent / a CCS received */
    bool peer_finished;        /* the peer's Finished was accepted (CCS window closed) */

    /* Client memory of what it offered (for the ServerHello/HRR checks).
     * The CH bytes are kept: views in ch1 point into them. */
    uint8_t *ch_bytes;
    size_t ch_len;
    td_msg ch;                 /* the last ClientHello sent (client) / received (server) */
    uint8_t *ch1_bytes;        /* server: ClientHello1 kept for CH2-NOT-CONFORMANT */
    size_t ch1_len;
    td_msg ch1;
    uint16_t hrr_group;        /* group selected by the HRR, 0 = none */
    uint16_t hrr_suite;

    /* Client auth / certificates. */
    const td_cert_key *our_cert;   /* chosen certificate (server) / client cert */
    td_pkey *peer_key;             /* owned: public key of the peer's end-entity cert */
    td_der *chain_scratch;         /* owned: views of the peer's chain (td_conn_chain_scratch) */
    size_t chain_scratch_cap;
    bool cert_requested;           /* server: sent CR / client: received CR */
    uint8_t cr_context[255];
    size_t cr_context_len;

    /* PSK. */
    bool psk_offered, psk_accepted, psk_dhe;
    uint8_t psk[TD_MAX_HASH_LEN];
    size_t psk_len;
    uint16_t psk_index;
    bool early_data_offered;
    td_session session;        /* client: last ticket received */
    bool has_session;
    uint32_t tickets_sent;
    uint8_t ticket_key[32];
    uint64_t early_data_received;
    uint8_t binder_key[TD_MAX_HASH_LEN]; /* client: binder key of the offered PSK */

    /* Message log (cfg->log_messages): bytes back to back, one entry each. */
    uint8_t *log;
    size_t log_len, log_cap;
    struct td_log_entry {
        bool sent;
        size_t offset, len;
    } *log_entries;
    size_t num_log, cap_log;
    td_msg_record *log_views;  /* td_conn_messages' array, cap_views entries */
    size_t cap_views;

    td_msg msg_in;             /* the message being processed (views into the reassembler) */

    /* Server (server*.c). */
    uint8_t hrr_cookie[512];   /* the cookie our HRR carried (CH2 must echo it) */
    size_t hrr_cookie_len;
    uint32_t early_data_max;   /* accepted 0-RTT: max_early_data_size (ED-TOO-MUCH) */
    bool peer_cert_empty;      /* the client answered our CertificateRequest with no certificate */
    uint16_t peer_record_limit; /* RFC 8449 record_size_limit the peer sent (0 = none) */
    bool tickets_wanted;       /* the client sent psk_key_exchange_modes (§4.2.9) */
    bool peer_sent_protected;  /* a record of the peer was decrypted (plaintext alerts end) */
    bool close_sent;           /* our close_notify went out (the peer's may have come first) */

    /* Post-handshake client authentication (§4.6.2). */
    td_hash_ctx *pha_base;     /* owned: the transcript hash at the client Finished (§4.4) */
    struct td_pha_request {    /* server: CertificateRequests not yet answered */
        uint8_t context[8];
        td_hash_ctx *hash;     /* owned: pha_base + this CertificateRequest */
    } pha_pending[TD_MAX_PHA_PENDING];
    size_t num_pha_pending;
    uint32_t pha_requests;     /* server: CertificateRequests sent after the handshake */
    uint8_t *pha_contexts;     /* client: contexts of the requests so far, each length-prefixed */
    size_t pha_contexts_len;

    /* A callback of the config (hook, key log, wire) is running: the
     * connection is mid-operation and td_conn_clone refuses it. */
    unsigned in_callback;
};

/* ---- services of conn.c for the state machines ---- */

/* Sends |msg|: runs cfg->msg_hook, serialises (computing PSK binders for a
 * ClientHello per the binder mode), adds the bytes to the transcript,
 * queues them under the current write keys. If |out_bytes| is not NULL it
 * receives a view of the serialised message valid until the next send. */
td_err td_conn_send_msg(td_conn *c, td_msg *msg, td_cbs *out_bytes) TD_WUR;
/* Queues a raw handshake message (already serialised, header included),
 * adding it to the transcript. Used after a hook-free build. */
td_err td_conn_send_raw_hs(td_conn *c, const uint8_t *msg, size_t len) TD_WUR;
/* Frames everything queued into records (under the current write keys). */
td_err td_conn_flush(td_conn *c) TD_WUR;
/* Sends the dummy change_cipher_spec record (§D.4). */
td_err td_conn_send_ccs(td_conn *c) TD_WUR;
/* Installs keys for a direction from a traffic secret of the current suite.
 * Write: flushes queued handshake bytes first. Read: fails with
 * REC-KEY-CHANGE-ALIGN if handshake bytes are still buffered (§5.1). */
td_err td_conn_set_write_keys(td_conn *c, const uint8_t *secret) TD_WUR;
/* Back to plaintext writing (the 0-RTT keys are dropped after an HRR, §4.2.10). */
void td_conn_clear_write_keys(td_conn *c);
td_err td_conn_set_read_keys(td_conn *c, const uint8_t *secret) TD_WUR;
/* Adds a received handshake message to the transcript. */
td_err td_conn_transcript_add(td_conn *c, const uint8_t *msg, size_t len) TD_WUR;
/* Room for |n| td_der views of the peer's certificate chain (a chain has
 * no length limit of ours, §4.4.2); owned by |c|, valid until the next
 * call. NULL if out of memory. */
td_der *td_conn_chain_scratch(td_conn *c, size_t n);
/* A client's parsed ClientHellos, kept by its td_crypto for the next
 * clients (conn.c). td_conn_hello_stash: c->ch and c->ch_bytes go there
 * when c->ch is our own whole ClientHello parsed from them, else they are
 * freed; c holds neither after. td_conn_hello_reuse (c holding none): when
 * a parse of |bytes| is kept, c->ch and c->ch_bytes become it (equal bytes,
 * not |bytes| itself, which the caller still owns) and true. */
void td_conn_hello_stash(td_conn *c);
bool td_conn_hello_reuse(td_conn *c, const uint8_t *bytes, size_t len);
/* Hands a key log line to cfg->keylog if set. */
void td_conn_keylog(td_conn *c, td_keylog_label label, const uint8_t *secret);
/* Draws |len| random bytes (the inject override is the caller's job). */
void td_conn_random(td_conn *c, uint8_t *out, size_t len);
/* Fixes the suite: transcript hash and key schedule. */
td_err td_conn_set_suite(td_conn *c, const td_suite *suite) TD_WUR;
/* Computes our Finished verify_data from |base_secret| over the transcript
 * so far; |out| gets hash_len bytes. */
td_err td_conn_finished(td_conn *c, const uint8_t *base_secret, uint8_t *out) TD_WUR;
/* CertificateVerify content of §4.4.3 over the current transcript hash. */
td_err td_conn_cv_content(td_conn *c, bool server, uint8_t *out, size_t cap,
                          size_t *out_len) TD_WUR;
/* Client: sends |data| as application_data records under the current
 * write keys (0-RTT data under client_early_traffic_secret, §4.2.10). */
td_err td_conn_send_early_data(td_conn *c, const uint8_t *data, size_t len) TD_WUR;
/* Records the negotiated application data for td_conn_read. */
td_err td_conn_app_data_in(td_conn *c, const uint8_t *data, size_t len) TD_WUR;

/* The config's lists, or the defaults of td_config. */
const uint16_t *td_conn_suites(const td_conn *c, size_t *out_num);
const uint16_t *td_conn_groups(const td_conn *c, size_t *out_num);
const uint16_t *td_conn_sigalgs(const td_conn *c, size_t *out_num);
/* A KeyUpdate received after the handshake (§4.6.3), for either role. */
td_err td_conn_handle_key_update(td_conn *c, const td_msg *msg) TD_WUR;

/* The state machines: one function per state of TD_HS_STATE_LIST, called
 * by the driver with one whole handshake message of a type the state takes
 * (parsed as |msg|, raw bytes |raw| with header). On failure they return
 * the td_err after TD_FAIL(&c->status.diag, ...). */
typedef td_err (*td_hs_handler)(td_conn *c, const td_msg *msg, const uint8_t *raw, size_t raw_len);
td_err td_client_start(td_conn *c) TD_WUR;
td_err td_client_do_wait_sh(td_conn *c, const td_msg *msg, const uint8_t *raw, size_t raw_len) TD_WUR;
td_err td_client_do_wait_ee(td_conn *c, const td_msg *msg, const uint8_t *raw, size_t raw_len) TD_WUR;
td_err td_client_do_wait_cert_cr(td_conn *c, const td_msg *msg, const uint8_t *raw, size_t raw_len) TD_WUR;
td_err td_client_do_wait_cert(td_conn *c, const td_msg *msg, const uint8_t *raw, size_t raw_len) TD_WUR;
td_err td_client_do_wait_cv(td_conn *c, const td_msg *msg, const uint8_t *raw, size_t raw_len) TD_WUR;
td_err td_client_do_wait_finished(td_conn *c, const td_msg *msg, const uint8_t *raw, size_t raw_len) TD_WUR;
td_err td_server_do_wait_ch(td_conn *c, const td_msg *msg, const uint8_t *raw, size_t raw_len) TD_WUR;
td_err td_server_do_wait_ch2(td_conn *c, const td_msg *msg, const uint8_t *raw, size_t raw_len) TD_WUR;
td_err td_server_do_wait_eoed(td_conn *c, const td_msg *msg, const uint8_t *raw, size_t raw_len) TD_WUR;
td_err td_server_do_wait_cert(td_conn *c, const td_msg *msg, const uint8_t *raw, size_t raw_len) TD_WUR;
td_err td_server_do_wait_cv(td_conn *c, const td_msg *msg, const uint8_t *raw, size_t raw_len) TD_WUR;
td_err td_server_do_wait_finished(td_conn *c, const td_msg *msg, const uint8_t *raw, size_t raw_len) TD_WUR;
td_err td_server_do_pha_wait_finished(td_conn *c, const td_msg *msg, const uint8_t *raw, size_t raw_len) TD_WUR;
/* Server: sends a post-handshake CertificateRequest (td_conn_request_client_auth). */
td_err td_srv_request_client_auth(td_conn *c) TD_WUR;
/* Both: keeps the transcript hash at the client Finished for later
 * post-handshake authentications (only when one can happen). */
td_err td_conn_keep_pha_base(td_conn *c) TD_WUR;
/* After the handshake (they call td_conn_handle_key_update for KeyUpdate;
 * the client handles NewSessionTicket). */
td_err td_client_post_handshake(td_conn *c, const td_msg *msg, const uint8_t *raw, size_t raw_len) TD_WUR;
td_err td_server_post_handshake(td_conn *c, const td_msg *msg, const uint8_t *raw, size_t raw_len) TD_WUR;

/* The row of TD_HS_STATE_LIST for |state| (for the driver and the tests). */
typedef struct td_hs_state_info {
    const char *name;
    uint32_t takes;                      /* TD_TAKES() set, or TD_TAKES_ANY */
    td_hs_handler client, server;        /* NULL: not a state of that role */
    td_rule rule;                        /* another type is out of order: this rule */
    const char *text;                    /* NULL: " in state <name>" */
} td_hs_state_info;
const td_hs_state_info *td_hs_state_get(td_hs_state state);
bool td_hs_state_takes(td_hs_state state, unsigned type);

/* The one place where failing check sites meet the catalogue. */
/* Test-only: whether this side was told to skip its check for |rule|
 * (td_config.plant_skip). */
static inline bool td_conn_plant_skips(const td_conn *c, td_rule rule)
{
    return rule != TD_RULE_NONE && c->cfg->plant_skip == rule;
}

#define TD_ABORT(c, err, rule, offset, ...) TD_FAIL(&(c)->status.diag, (err), (rule), (offset), __VA_ARGS__)

#endif
