/* tlsdrill/sut.h -- the SUT adapter API: a TLS library in process, driven
 * over memory buffers, as the system under test of the scenario runner
 * (`tlsdrill run --peer openssl|gnutls-lib|wolfssl`) and of the sut_* fuzz
 * targets. One adapter per library (engine/peers/openssl.c, gnutls.c,
 * wolfssl.c); the exchange with our side (td_sut_exchange) and the
 * scenario peer made from an adapter (td_sut_scn_peer) are shared
 * (engine/peers/sut.c), so an adapter is only "configure, feed, step,
 * drain, status".
 *
 * Life cycle: keep_new() once per peer or fuzz process (what outlives one
 * connection: an SSL_CTX cache, a client's kept session, the fixed ticket
 * key); conn_new() per connection, configured from the SUT's td_config
 * (its role included) as far as the library can express it, otherwise
 * TD_ERR_UNSUPPORTED with the reason; then feed()/step()/drain() until
 * quiet; conn_free(). reset() makes the same connection fresh again (the
 * fuzz targets, once per input) without redoing the configuration.
 *
 * Randomness: the libraries draw their own randoms (key shares, ticket
 * nonces), so the bytes on the wire differ between runs; what the verdict
 * depends on (which messages, which alert) does not. */
#ifndef TLSDRILL_SUT_H
#define TLSDRILL_SUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tlsdrill/pair.h"
#include "tlsdrill/peer_stream.h"
#include "tlsdrill/scenario.h"

typedef enum td_sut_state {
    TD_SUT_HANDSHAKE, /* in the handshake (waiting for bytes) */
    TD_SUT_CONNECTED, /* the library says its handshake is complete */
    TD_SUT_FAILED,    /* it gave up (with an alert or not) */
    TD_SUT_CLOSED,    /* it received close_notify / the connection was shut down */
} td_sut_state;

typedef struct td_sut_status {
    td_sut_state state;
    bool completed; /* it was CONNECTED at some point (stays true after a later failure) */
    bool resumed;   /* the library says the PSK / ticket was accepted */
    /* The alert it says it sent (when the library tells: alert_desc -1 = not known; the
     * runner judges by the alert our side decrypted, this is for the record). */
    int alert_desc;
    /* A client SUT: the keep holds a session from this connection (for `resume ticket`),
     * with the suite it was made with. */
    bool has_session;
    uint16_t session_suite;
    /* What the library said when it failed ("" if nothing): its error string. */
    char error[96];
} td_sut_status;

typedef struct td_sut_adapter {
    const char *name;    /* "openssl", "gnutls-lib", "wolfssl": the --peer spec */
    const char *library; /* "OpenSSL libssl", "GnuTLS", "wolfSSL" */
    void (*version)(char *buf, size_t len); /* "OpenSSL 3.0.19 ...", "GnuTLS 3.7.9" */
    td_err (*keep_new)(void **out);
    void (*keep_free)(void *keep);
    /* One connection of role sut->role. |ours| is our side's configuration (the key shares
     * it will send: forcing an HRR). Both borrowed for the connection's life. Unsupported:
     * TD_ERR_UNSUPPORTED, the reason in |why|. */
    td_err (*conn_new)(void *keep, const td_config *sut, const td_config *ours, void **out,
                       char *why, size_t why_len);
    td_err (*reset)(void *conn);
    /* Our bytes to the library (copied). */
    td_err (*feed)(void *conn, const uint8_t *p, size_t n);
    /* Lets the library process what it has; *out_changed: its state moved. Protocol
     * failures are the status, not errors of this call. */
    td_err (*step)(void *conn, bool *out_changed);
    /* What the library wrote since the last drain; the view stays valid until the next
     * call on |conn|. */
    void (*drain)(void *conn, const uint8_t **out, size_t *out_len);
    void (*status)(void *conn, td_sut_status *out);
    /* The NSS key log of the current connection (NULL: the library gives none). */
    const char *(*keylog)(void *conn, size_t *out_len);
    void (*conn_free)(void *conn);
    /* The SUT runs on our virtual clock (the engine adapter): the ticket ages our side
     * sends are virtual too. false (every library): it keeps real time, so a resuming
     * client's ticket age is the real time since the ticket came (fuzz/sut.c). */
    bool virtual_clock;
} td_sut_adapter;

/* Every adapter built in (the libraries CMake found), in `tlsdrill peers` order. */
const td_sut_adapter *const *td_sut_adapters(size_t *out_num);
/* One of those by name, or "engine": our own engine behind this API
 * (engine_sut.c), the planted SUT of the sut_engine_* fuzz targets, not a
 * scenario peer (`--peer engine` is the td_pair peer). */
const td_sut_adapter *td_sut_find(const char *name);

/* ---- the exchange (shared by the scenario peer and the fuzz targets) ---- */

typedef struct td_sut_link {
    const td_sut_adapter *a;
    void *conn;    /* the adapter's connection (borrowed) */
    td_conn *ours; /* our side (borrowed), started by td_sut_exchange */
    td_role ours_role;
    td_pair_intercept intercept; /* NULL, or edits our side's flights before the SUT gets them */
    void *intercept_arg;
    td_scn_post_fn post; /* NULL, or called once when both sides are connected */
    void *post_arg;
    unsigned max_rounds; /* 0 = 32 */
    /* Results. c2s/s2c: both directions as they crossed (what the SUT received and sent). */
    td_peer_stream *c2s, *s2c;
    bool completed;     /* our side reached CONNECTED */
    bool confirmed;     /* the SUT reached CONNECTED */
    bool aborted;       /* our side failed without having received an alert (its own abort) */
    size_t in_at_abort; /* bytes of the SUT's stream fed to our side before that abort */
    bool runaway;       /* the round bound ended it with bytes still moving */
} td_sut_link;

/* Starts |l->ours| and moves bytes between it and the SUT until both are quiet, at most
 * max_rounds*2 rounds. The streams are appended to |l->c2s|/|l->s2c| (both required). */
td_err td_sut_exchange(td_sut_link *l) TD_WUR;

/* The scenario peer of adapter |a| (state owned by out->arg; free with td_sut_scn_peer_free). */
td_err td_sut_scn_peer(const td_sut_adapter *a, td_scn_peer *out) TD_WUR;
void td_sut_scn_peer_free(td_scn_peer *peer);

/* ---- helpers for adapters ---- */

/* |key| as PKCS#8 DER (every library imports that). Returns owned: free with
 * td_sut_secret_free(*out, *out_len) (wiped). */
td_err td_sut_key_der(const td_pkey *key, uint8_t **out, size_t *out_len) TD_WUR;
/* |der| as one PEM block "-----BEGIN |label|-----" appended to |pem| (NUL-terminated). */
td_err td_sut_pem_add(td_peer_stream *pem, const char *label, const uint8_t *der,
                      size_t len) TD_WUR;
void td_sut_secret_free(void *p, size_t len);
/* An NSS key log line "LABEL <client_random hex> <secret hex>\n" appended to |log|. */
td_err td_sut_keylog_add(td_peer_stream *log, const char *label, const uint8_t *client_random,
                         const uint8_t *secret, size_t secret_len) TD_WUR;
/* |log| wiped and freed (a key log holds secrets). */
void td_sut_keylog_free(td_peer_stream *log);

/* The memory transport of a library that reads and writes through callbacks (GnuTLS,
 * wolfSSL): our bytes not yet read, its bytes not yet drained, and the last drain. Zero is
 * empty. */
typedef struct td_sut_pipe {
    td_peer_stream in;
    size_t in_at;
    td_peer_stream out, drained;
} td_sut_pipe;

/* What every adapter's connection begins with: the two configurations (borrowed for the
 * connection's life), during conn_new only the caller's buffer for the reason of
 * TD_ERR_UNSUPPORTED, and the memory transport of a library that reads and writes through
 * callbacks (unused by one that has its own, like OpenSSL's BIO pairs). */
typedef struct td_sut_conn_head {
    const td_config *sut, *ours;
    char *why;
    size_t why_len;
    td_sut_pipe io;
} td_sut_conn_head;

/* conn_new's frame: a zeroed connection of |size| bytes (a struct that begins with a
 * td_sut_conn_head), the head filled, then |setup|(conn, keep) configures the library;
 * when that fails, |conn_free| frees it and its error is returned. */
td_err td_sut_conn_new(size_t size, void *keep, const td_config *sut, const td_config *ours,
                       char *why, size_t why_len, td_err (*setup)(void *conn, void *keep),
                       void (*conn_free)(void *conn), void **out) TD_WUR;
/* TD_ERR_UNSUPPORTED, the reason written to the head's |why| (if any). */
td_err td_sut_unsupported(td_sut_conn_head *h, const char *fmt, ...) TD_PRINTF(2, 3);

/* A server SUT's groups for `hrr always`: libraries send a HelloRetryRequest only when no
 * key share of the client is in their groups (RFC 8446 4.1.1), so these are |groups| (|num|)
 * less those our side sends a share for (its share_groups, else the first of its groups;
 * |defaults| stand for a NULL groups list), kept only if our side offers them. Written to
 * |out| (room for |cap|); returns how many: 0 when every group both sides share has a key
 * share (the library would not ask again). */
size_t td_sut_hrr_groups(const td_config *ours, const uint16_t *groups, size_t num,
                         const uint16_t *defaults, size_t num_defaults, uint16_t *out, size_t cap);

/* Up to |n| of our bytes into |buf|; returns how many (0: none waiting). */
size_t td_sut_pipe_read(td_sut_pipe *p, uint8_t *buf, size_t n);
/* The adapter's drain(): what the library wrote since the last drain; the view stays valid
 * until the next drain. */
void td_sut_pipe_drain(td_sut_pipe *p, const uint8_t **out, size_t *out_len);
/* Empties the three streams (a fresh connection), keeping their memory. */
void td_sut_pipe_clear(td_sut_pipe *p);
void td_sut_pipe_free(td_sut_pipe *p);
/* The feed() and drain() of an adapter whose library uses the head's |io|. */
td_err td_sut_feed(void *conn, const uint8_t *p, size_t n) TD_WUR;
void td_sut_drain(void *conn, const uint8_t **out, size_t *out_len);
#endif
