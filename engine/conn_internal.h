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

/* Handshake states. Client and server share one enum so the driver can name
 * them; each machine's switch lists all of its own and has no default. */
#define TD_HS_STATE_LIST(X)             \
    X(START)                            \
    X(C_WAIT_SH)                        \
    X(C_WAIT_EE)                        \
    X(C_WAIT_CERT_CR)                   \
    X(C_WAIT_CERT)                      \
    X(C_WAIT_CV)                        \
    X(C_WAIT_FINISHED)                  \
    X(S_WAIT_CH)                        \
    X(S_WAIT_CH2)                       \
    X(S_WAIT_EOED)                      \
    X(S_WAIT_CERT)                      \
    X(S_WAIT_CV)                        \
    X(S_WAIT_FINISHED)                  \
    X(CONNECTED)                        \
    X(CLOSED)                           \
    X(FAILED)

typedef enum td_hs_state {
#define TD_HS_STATE_ENUM_(name) TD_HS_##name,
    TD_HS_STATE_LIST(TD_HS_STATE_ENUM_)
#undef TD_HS_STATE_ENUM_
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
    /* Received application data not yet read. */
    uint8_t *app_in;
    size_t app_in_len, app_in_cap;
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
    td_msg_record *log_views;

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
td_err td_conn_set_read_keys(td_conn *c, const uint8_t *secret) TD_WUR;
/* Adds a received handshake message to the transcript. */
td_err td_conn_transcript_add(td_conn *c, const uint8_t *msg, size_t len) TD_WUR;
/* Room for |n| td_der views of the peer's certificate chain (a chain has
 * no length limit of ours, §4.4.2); owned by |c|, valid until the next
 * call. NULL if out of memory. */
td_der *td_conn_chain_scratch(td_conn *c, size_t n);
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

/* The state machines: process one whole handshake message (parsed as
 * |msg|, raw bytes |raw| with header) in the current state. On failure
 * they return the td_err after TD_FAIL(&c->status.diag, ...). */
td_err td_client_start(td_conn *c) TD_WUR;
td_err td_client_handle(td_conn *c, const td_msg *msg, const uint8_t *raw, size_t raw_len) TD_WUR;
td_err td_server_handle(td_conn *c, const td_msg *msg, const uint8_t *raw, size_t raw_len) TD_WUR;
/* Post-handshake messages go to these (they call td_conn_handle_key_update
 * for KeyUpdate; the client handles NewSessionTicket). */
td_err td_client_post_handshake(td_conn *c, const td_msg *msg, const uint8_t *raw, size_t raw_len) TD_WUR;
td_err td_server_post_handshake(td_conn *c, const td_msg *msg, const uint8_t *raw, size_t raw_len) TD_WUR;

/* The one place where failing check sites meet the catalogue. */
#define TD_ABORT(c, err, rule, offset, ...) TD_FAIL(&(c)->status.diag, (err), (rule), (offset), __VA_ARGS__)

#endif
