/* tlsdrill/scenario.h -- the scenario language (*.scn): parse + lint, and a
 * runner that plays each case against a peer under test and judges the
 * outcome against the RFC 8446 rule catalogue.
 *
 * Grammar: scenarios/README.md. A file holds one or more cases; a case
 * starts with `scenario NAME` and holds header lines (rule, sut, client /
 * server config, bug, resume, matrix), steps (`send MESSAGE` with indented
 * edits) and one `expect`. A `matrix VAR = v1 v2 ...` line expands the case
 * once per value (several matrices: the cartesian product), substituting
 * `$VAR` in every word.
 *
 * The library never exits and never prints on its own: parsing returns the
 * cases it could build plus a list of diagnostics (file:line:col, message,
 * the source line), which td_scn_diags_print formats compiler-style. */
#ifndef TLSDRILL_SCENARIO_H
#define TLSDRILL_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tlsdrill/conn.h"
#include "tlsdrill/mutate.h"
#include "tlsdrill/rules.h"

/* ---- diagnostics ---- */

typedef struct td_scn_diag {
    char *file;     /* owned */
    int line, col;  /* 1-based */
    char *message;  /* owned */
    char *source;   /* owned: the source line without its newline; a long line only
                     * around the column, cut ends marked "..." */
    int source_col; /* 1-based: where |col| is in |source| */
} td_scn_diag;

typedef struct td_scn_diags {
    td_scn_diag *list; /* owned */
    size_t num, cap;
    size_t dedup_from; /* the parser's: identical diagnostics are looked for from here on */
} td_scn_diags;

void td_scn_diags_cleanup(td_scn_diags *diags);
/* "file:line:col: error: message\n  source\n  ^\n" for each. */
void td_scn_diags_print(const td_scn_diags *diags, FILE *out);

/* ---- parsed cases ---- */

#define TD_SCN_MAX_LIST 32
#define TD_SCN_MAX_RULES 8
#define TD_SCN_MAX_ALPN 8

typedef enum td_scn_edit_kind {
    TD_SCN_EDIT_REMOVE,         /* remove EXT */
    TD_SCN_EDIT_ADD,            /* add EXT [HEX] (typed empty/default when no bytes) */
    TD_SCN_EDIT_RAW,            /* raw EXT HEX: replace the body */
    TD_SCN_EDIT_DUPLICATE,      /* duplicate EXT */
    TD_SCN_EDIT_MOVE,           /* move EXT first|last|N */
    TD_SCN_EDIT_REVERSE,        /* reverse (the extension block) */
    TD_SCN_EDIT_LIST,           /* LIST remove|add|prepend|clear VALUE */
    TD_SCN_EDIT_KEY_SHARE_ADD,  /* key_share add GROUP HEX */
    TD_SCN_EDIT_SET,            /* set FIELD VALUE */
    TD_SCN_EDIT_BINDER_MODE,    /* binder recompute|stale|corrupt|wrong-transcript */
    TD_SCN_EDIT_BINDER_XOR,     /* binder N xor HEX (after the binders are computed) */
    TD_SCN_EDIT_BINDER_LENGTH,  /* binder N length L */
    TD_SCN_EDIT_BINDER_ADD,     /* binder add L */
    TD_SCN_EDIT_BINDER_REMOVE,  /* binder remove N */
    TD_SCN_EDIT_IDENTITY_ADD,   /* psk_identity add HEX [AGE] */
    TD_SCN_EDIT_IDENTITY_SET,   /* psk_identity N raw HEX */
    TD_SCN_EDIT_IDENTITY_INSERT, /* psk_identity N insert HEX [AGE] */
    TD_SCN_EDIT_IDENTITY_AGE,   /* psk_identity N age VALUE */
    TD_SCN_EDIT_RECORD_BEFORE,  /* record-before HEX / ccs-before [BODY]: raw bytes sent
                                 * before the record that carries the message */
    TD_SCN_EDIT_RECORD_VERSION, /* record-version V: legacy_record_version of that record */
    TD_SCN_EDIT_DROP,           /* drop: our side does not send the message at all */
    TD_SCN_EDIT_INJECT,         /* inject-before HEX: a raw handshake message (header
                                 * included) queued before it, under the same keys */
    TD_SCN_EDIT_SEALED,         /* sealed-before TYPE HEX [PAD]: one record of inner type
                                 * TYPE under our current write keys, before it */
    TD_SCN_EDIT_RECORD_AFTER,   /* record-after HEX: raw bytes after the first record
                                 * carrying the message (between its fragments) */
    TD_SCN_EDIT_RECORD_APPEND,  /* record-append HEX: bytes at the end of the plaintext record
                                 * carrying the message (record length fixed, handshake
                                 * lengths not: data left over at a key change) */
    TD_SCN_EDIT_APPEND,         /* append HEX: bytes after the message body (lengths fixed;
                                 * plaintext messages: ClientHello, ServerHello, HRR) */
} td_scn_edit_kind;

typedef struct td_scn_edit {
    td_scn_edit_kind kind;
    int line;
    uint16_t ext; /* extension type */
    int index;    /* move target (-1 last) / binder index */
    td_mut_list list;
    td_mut_op op;
    td_mut_field field;
    uint32_t value;
    uint8_t *bytes; /* owned; NULL when none */
    size_t len;
    td_binder_mode binder;
    uint16_t count; /* `... count N`: add EXT / LIST add|prepend N times over consecutive
                     * code points from ext / value (0 = once) */
} td_scn_edit;

typedef struct td_scn_step {
    uint8_t msg_type; /* td_msg_type */
    bool hrr;         /* HelloRetryRequest (type 2 with the HRR random) */
    unsigned nth;     /* 1 = the first such message we send */
    int line;
    td_scn_edit *edits; /* owned */
    size_t num_edits;
} td_scn_step;

typedef enum td_scn_expect_kind {
    TD_SCN_EXPECT_RULE,                /* an alert the case's rule(s) allow */
    TD_SCN_EXPECT_ALERT,               /* one of the listed alerts */
    TD_SCN_EXPECT_HANDSHAKE,           /* both sides complete the handshake */
    TD_SCN_EXPECT_RESUMED,             /* ... and it resumed a PSK */
    TD_SCN_EXPECT_NO_ALERT,            /* tolerance: the SUT sends no alert and does not fail */
    TD_SCN_EXPECT_CLOSED,              /* the SUT ends the connection (with or without an alert) */
    TD_SCN_EXPECT_MESSAGE,             /* the SUT sent this message (msg_type / msg_hrr) */
    TD_SCN_EXPECT_EARLY_DATA,          /* handshake completes with 0-RTT accepted */
    TD_SCN_EXPECT_EARLY_DATA_REJECTED, /* handshake completes, 0-RTT rejected (not an abort) */
} td_scn_expect_kind;

/* Configuration of one side, as written (names resolved to wire values). */
typedef struct td_scn_side {
    uint16_t suites[TD_SCN_MAX_LIST];
    size_t num_suites;
    uint16_t groups[TD_SCN_MAX_LIST];
    size_t num_groups;
    uint16_t shares[TD_SCN_MAX_LIST];
    size_t num_shares;
    bool no_shares; /* `key-shares none` */
    uint16_t sigalgs[TD_SCN_MAX_LIST];
    size_t num_sigalgs;
    char *alpn[TD_SCN_MAX_ALPN]; /* owned */
    size_t num_alpn;
    char *cert;     /* owned: name under the cert dir (p256, rsa2048, ...), or a chain
                     * file when cert_key is set; NULL = default */
    char *cert_key; /* owned: key file of `cert CHAIN KEY`; NULL = by name */
    char *trust;    /* owned: trust anchor file under the cert dir; NULL = ca.pem */
    char *sni;      /* owned; client: server_name ("none" = omit) */
    td_client_auth client_auth;
    td_client_auth post_handshake_auth; /* `post-handshake-auth`: client: offer it (any value
                                         * but none); server: request|require after the
                                         * handshake (RFC 8446 §4.6.2) */
    td_hrr_mode hrr;
    bool cookie;
    unsigned tickets;
    bool has_tickets;
    uint32_t early_data; /* client: bytes of 0-RTT data; server: max_early_data (accepts) */
    bool psk_ke, psk_ke_only;
    bool compat;
    uint32_t record_size; /* largest record payload this side sends; 0 = 2^14 */
    uint8_t *psk_id;      /* owned: `psk IDENTITY KEY [SUITE]`, an external PSK; NULL = none */
    size_t psk_id_len;
    uint8_t *psk_key; /* owned */
    size_t psk_key_len;
    uint16_t psk_suite; /* the suite whose hash the PSK is for */
} td_scn_side;

/* A premise of a case: what must hold of the SUT for the case to test
 * anything. The runner checks it from the SUT's own messages in that run
 * and grades n/a (with the reason) when it does not hold. */
typedef enum td_scn_premise_kind {
    TD_SCN_PREMISE_RECOGNISES,    /* `premise recognises EXT`: the SUT implements EXT (a client
                                   * SUT offers it in its ClientHello; a server SUT that goes
                                   * on answers it in ServerHello/EncryptedExtensions):
                                   * RFC 8446 §4.2 binds an endpoint only for extensions it
                                   * recognises */
    TD_SCN_PREMISE_NOT_REQUESTED, /* `premise not-requested EXT`: the SUT's ClientHello did not
                                   * carry EXT, so a response carrying it is unsolicited */
    TD_SCN_PREMISE_NO_HRR,        /* `premise no-hrr`: the SUT answers our (edited) first
                                   * ClientHello without a HelloRetryRequest; otherwise it never
                                   * used the edited key share */
    TD_SCN_PREMISE_SENDS_APPDATA, /* `premise sends-application-data`: the SUT sent application
                                   * data after the handshake (RFC 8446 §4.6.3: an answering
                                   * KeyUpdate is due only "prior to sending its next Application
                                   * Data record") */
    TD_SCN_PREMISE_PSK_ACCEPTED,  /* `premise psk-accepted`: a server SUT that goes on selects
                                   * our PSK (pre_shared_key in its ServerHello); one that
                                   * declines it (a full handshake) never had to validate its
                                   * binder: RFC 8446 §4.2.11 wants the binder validated "Prior
                                   * to accepting PSK key establishment" */
    TD_SCN_PREMISE_PSK_DHE_ONLY,  /* `premise psk-dhe-ke-only`: a client SUT's ClientHello
                                   * lists psk_dhe_ke and not psk_ke; with psk_ke offered a
                                   * ServerHello without key_share is a valid psk_ke choice
                                   * (RFC 8446 §4.2.9, §4.2.11) */
    TD_SCN_PREMISE_ED_ACCEPTED,   /* `premise early-data-accepted`: a server SUT accepts our
                                   * 0-RTT (early_data in its EncryptedExtensions); RFC 8446
                                   * §4.2.10 lets a server reject it */
    TD_SCN_PREMISE_HRR_GROUP_NEW, /* `premise hrr-group-not-shared`: our HelloRetryRequest
                                   * names a group the client SUT sent no key share for;
                                   * otherwise our HRR is the one at fault (RFC 8446 §4.2.8:
                                   * the client MUST abort with illegal_parameter) */
} td_scn_premise_kind;

#define TD_SCN_MAX_PREMISES 4

typedef struct td_scn_premise {
    td_scn_premise_kind kind;
    uint16_t ext; /* RECOGNISES, NOT_REQUESTED */
} td_scn_premise;

typedef struct td_scn_case {
    char *name; /* owned, after matrix expansion */
    char *file; /* one copy shared by every case of its td_scn_file (freed with it) */
    int line;   /* of `scenario` */
    td_rule rules[TD_SCN_MAX_RULES];
    size_t num_rules;
    td_role sut;
    td_scn_side client, server;
    td_bugs bugs;       /* our side's knobs */
    bool resume;        /* prerequisite handshake for a ticket */
    td_scn_step *steps; /* owned */
    size_t num_steps;
    td_scn_expect_kind expect;
    uint32_t alerts;  /* TD_SCN_EXPECT_ALERT: TD_AB-style bit set (rules.h indices) */
    uint8_t msg_type; /* TD_SCN_EXPECT_MESSAGE */
    bool msg_hrr;
    td_scn_premise premises[TD_SCN_MAX_PREMISES];
    size_t num_premises;
    /* `allow ID` (a case without a rule): the alert another RFC requires of a
     * SUT that implements it passes too (allowances.md, "Case allowances"). */
    const td_case_allowance *allow;
} td_scn_case;

typedef struct td_scn_file {
    td_scn_case *cases; /* owned */
    size_t num_cases;
} td_scn_file;

/* Parses and lints |text| (|len| bytes) named |path| in diagnostics.
 * Appends diagnostics to |diags| and returns the cases in |*out| (owned,
 * free with td_scn_file_free) even when there are diagnostics: callers
 * should refuse to run a file with any. TD_ERR_NOMEM/TD_ERR_ARG only. */
td_err td_scn_parse(const char *path, const char *text, size_t len, td_scn_file **out,
                    td_scn_diags *diags) TD_WUR;
/* Reads |path| and parses it; TD_ERR_IO if it cannot be read (a diagnostic says why). */
td_err td_scn_parse_file(const char *path, td_scn_file **out, td_scn_diags *diags) TD_WUR;
void td_scn_file_free(td_scn_file *file);

/* ---- peers ---- */

/* How the SUT ended a connection, as the peer observed it (td_scn_outcome.end). */
typedef enum td_scn_end {
    TD_SCN_END_NONE,         /* nothing ended it: the SUT kept the connection open through the
                              * observation window (or the peer cannot tell) */
    TD_SCN_END_CLOSE_NOTIFY, /* it sent close_notify (RFC 8446 §6.1): a clean close */
    TD_SCN_END_ALERT,        /* it sent an error alert (ours.alert_received_desc) */
    TD_SCN_END_EOF,          /* it closed the transport (or, in process, gave up) without an alert */
    TD_SCN_END_RESET,        /* the transport was reset */
    TD_SCN_END_TIMEOUT,      /* it stalled: our side waited for it until the deadline, or it
                              * said nothing in the window after our side completed (a server
                              * that never confirmed our Finished) */
    TD_SCN_END_GARBAGE,      /* its bytes were not TLS records */
} td_scn_end;

/* "none", "close_notify", "alert", "eof", "reset", "timeout", "garbage". */
const char *td_scn_end_name(td_scn_end e);

#define TD_SCN_PEER_LOG 2048

/* What one connection between our side and the SUT ended as.
 *
 * Observation (every peer kind): the peer watches the connection to its
 * end, not only to our side's handshake. After the SUT's error alert it
 * keeps reading until EOF or a quiet time (linger) so that bytes sent after
 * the alert are always counted (ours.bytes_after_alert, AL-CLOSE-AFTER-FATAL);
 * once our side completed and did its post-handshake steps, it sends
 * close_notify and reads until EOF or the quiet time. |ours| is our side's
 * status as it was before that close_notify (so ours.phase CONNECTED means
 * our side completed and the SUT had not ended the connection); |completed|,
 * |sut_confirmed| and |end| tell the rest:
 *   - completed && sut_confirmed && end in {none, close_notify, eof}:
 *     both sides completed, then the connection ended cleanly (a client
 *     such as s_client that closes after its handshake, a tcp: server that
 *     answers our close_notify);
 *   - completed && end == alert: the SUT refused after our side completed
 *     (e.g. a server rejecting our Finished, a SUT refusing a post-handshake
 *     message); ours.alert_received_desc names it;
 *   - completed && !sut_confirmed && end == timeout: our side completed but
 *     the SUT never showed it did (it was still waiting for bytes): a stall,
 *     not a handshake.
 * |end| is set by every peer kind; |ended| keeps its older meaning (the
 * transport ended before our side completed). */
typedef struct td_scn_outcome {
    td_status ours; /* our side's status (alert_received = the SUT's alert, decrypted) */
    td_status sut;  /* the SUT's own status, when the peer can tell (has_sut_status) */
    bool has_sut_status;
    td_session session; /* the client's ticket (for `resume ticket`) */
    bool has_session;
    uint8_t digest[32]; /* SHA-256 over both directions' bytes (determinism) */
    /* Handshake messages our side received from the SUT, in order (with
     * ours->log_messages set): type, and whether a ServerHello was an HRR. */
    uint8_t received[32];
    bool received_hrr[32];
    size_t num_received;
    uint64_t bytes; /* bytes exchanged */
    char note[160]; /* run() returned TD_ERR_UNSUPPORTED: what the peer cannot be configured for
                     * (or, with another error, what went wrong with the peer) */
    char ended[16]; /* network peers: how the transport ended before the handshake did, when
                     * that is the story: "timeout", "closed" or "garbage" (else "") */
    /* ---- the whole connection (see above) ---- */
    bool completed;     /* our side completed the handshake (was CONNECTED), whatever came after */
    bool sut_confirmed; /* the SUT showed it completed too: its own status (engine, libssl), a
                         * client SUT whose Finished our server verified, or a server SUT that
                         * sent close_notify after our side completed (a ticket is no proof:
                         * RFC 8446 §4.6.1 lets a server send one before the client's Finished) */
    td_scn_end end;     /* how the SUT ended the connection; none when our side aborted first
                         * (what the SUT did then answers our alert, not the case), unless
                         * its own alert came before ours (read with its key log) */
    bool end_after_completed; /* |end| came after our side completed (post-handshake) */
    bool we_closed;     /* our side sent close_notify once it was done (|end| is then what the
                         * SUT did within the window after it) */
    bool end_alert_known;   /* |end| is alert and the peer read which one (network peers: an
                             * alert after the snapshot |ours| was taken, e.g. one answering our
                             * close_notify) */
    uint8_t end_alert_desc; /* its description */
    unsigned window_ms; /* the quiet time of the observation windows (network peers; 0 in process) */
    /* The SUT's alert was read with the SUT's own key log (exec: TD_KEYLOG, in process: the
     * library's key log callback), because our side could not decrypt it (keys the SUT derived
     * differently, a plaintext alert where our side expected 0-RTT keys ...): ours.alert_received
     * and alert_received_desc are then set from it, and our own abort (ours.alert_sent) came
     * after. */
    bool alert_from_sut_keylog;
    bool sut_keylog; /* the SUT's key log was there to read (exec: the shim wrote TD_KEYLOG) */
    /* A client SUT's first ClientHello as it was sent (premises that depend on it): */
    bool sut_hello_seen;   /* it was parsed */
    uint8_t sut_psk_modes; /* its psk_key_exchange_modes as bits (1 << mode); 0: it sent none */
    /* The peer could not be reached at all (connection refused, a command that cannot be
     * executed): run() returns TD_ERR_IO with the reason in |note|; the runner stops. */
    bool unreachable;
    /* The peer's own diagnostics (exec: what the shim wrote to stderr up to the end of this
     * connection, its beginning and end if longer), "" if none: for reports, -v, FAIL/ERROR. */
    char peer_log[TD_SCN_PEER_LOG];
} td_scn_outcome;

/* The outcome's |bytes| and |digest|: SHA-256 over both directions' lengths
 * (8 bytes each, big-endian, C2S first), then the C2S bytes, then the S2C
 * bytes -- one definition for every peer, so runs compare across peers. */
td_err td_scn_outcome_digest(td_crypto *crypto, const uint8_t *c2s, size_t c2s_len,
                             const uint8_t *s2c, size_t s2c_len, td_scn_outcome *out) TD_WUR;

/* Called once when the handshake is complete on both sides, with our
 * connection: post-handshake actions of our side (KeyUpdate ...); the peer
 * then delivers what it queued and the answers. */
typedef td_err (*td_scn_post_fn)(void *arg, td_conn *ours);

/* A system under test. run() plays one connection: our side with |ours|
 * (hooks set), the SUT configured from |sut| as far as the peer can be;
 * |post| (may be NULL) runs after the handshake. A configuration the peer
 * cannot express: TD_ERR_UNSUPPORTED with the reason in out->note (the
 * runner's `unsupported` verdict). */
typedef struct td_scn_peer {
    const char *name;
    void *arg;
    td_err (*run)(void *arg, const td_config *ours, const td_config *sut, unsigned max_rounds,
                  td_scn_post_fn post, void *post_arg, td_scn_outcome *out);
} td_scn_peer;

/* The peers themselves (the engine, libssl, network and exec peers) are in
 * the library tlsdrill_peers: tlsdrill/peers.h. */

/* ---- runner ---- */

/* The grade of a case: from the level of the case's rule(s) (rules.def:
 * MUST, SHOULD, MAY, sender-only) and what the SUT did. Every grade but
 * unsupported/error is a verdict on the SUT; `--strict` fails a run on
 * FAIL and ALERT_DIFFERS, `--lenient` on FAIL only (and both on ERROR). */
typedef enum td_scn_verdict {
    TD_SCN_PASS,          /* the SUT did what the rule requires: an alert it allows (or an
                           * allowance of the catalogue grants), the expected completion ... */
    TD_SCN_ALERT_DIFFERS, /* the SUT refused, but with another alert, or closed without one
                           * (RFC 8446 §6.2 permits that): a deviation in the alert only */
    TD_SCN_FAIL,          /* a MUST broken: the SUT went on, crashed, hung, or wrote after its
                           * fatal alert */
    TD_SCN_ADVISORY,      /* a SHOULD/MAY rule, or one that binds the sender only, not
                           * followed: shown, never failing */
    TD_SCN_NA,            /* the case's premise does not hold for this SUT (reason says why) */
    TD_SCN_UNSUPPORTED,   /* the peer cannot be configured for the case (not a verdict on it) */
    TD_SCN_ERROR,         /* the case did not run as written (an edit that cannot apply ...) */
} td_scn_verdict;
#define TD_SCN_NUM_VERDICTS 7

/* Observes our side of every connection the runner makes (captures: the
 * CLI's --pcap/--keylog). begin() is called before each connection of a
 * case with its number (0, then 1 for the resumed connection after a
 * `resume ticket` prerequisite); then |wire| sees every byte our side sends
 * and receives and |keylog| every NSS key log line of that connection.
 * Every member may be NULL; all get |arg|. A non-OK begin() makes the case
 * an ERROR. Independent of the peer: only our td_conn is observed. */
typedef struct td_scn_tap {
    void *arg;
    td_err (*begin)(void *arg, const td_scn_case *c, unsigned conn);
    td_wire_fn wire;
    td_keylog_fn keylog;
} td_scn_tap;

typedef struct td_scn_opts {
    td_crypto *crypto;       /* borrowed */
    const td_scn_peer *peer; /* borrowed; required to run cases (tlsdrill/peers.h makes them);
                              * NULL: td_scn_run_case gives TD_ERR_ARG (side configs only) */
    const char *cert_dir;    /* server-NAME.chain.pem / .key, client-NAME.*, ca.pem */
    const td_scn_tap *tap;   /* borrowed; NULL = none: sees every connection (captures) */
    uint64_t seed;
    unsigned max_rounds; /* 0 = 32 */
    /* Test-only: the engine as SUT answers |plant_rule| with a wrong alert
     * (td_config.plant_wrong_alert), to test the verdicts themselves. */
    bool plant_wrong_alert;
    td_rule plant_rule;
    /* Test-only plants on the engine as SUT, to show every grade
     * (tests/test_verdicts.py): skip its check for |plant_skip| (a MAY
     * check: advisory; a MUST check: fail); answer every ClientHello with a
     * HelloRetryRequest (|plant_hrr|: the edited share never used, n/a);
     * leave extension |plant_drop_ext| out of its ClientHello (a client
     * that does not implement it, n/a); 0 / false = off. */
    td_rule plant_skip;
    bool plant_hrr;
    uint16_t plant_drop_ext;
    /* Test-only: the engine as SUT does not send its handshake message of
     * type |plant_skip_msg| (e.g. 11, Certificate: a server breaking RFC 8446
     * §4.4.2, which our side's abort proves); 0 = off. */
    uint8_t plant_skip_msg;
    /* Test-only (run --check-edits): build every message our edits changed and
     * parse it back; a malformed one in a case whose rules do not allow
     * decode_error makes the case an ERROR (it would test the parser). */
    bool check_edits;
} td_scn_opts;

typedef struct td_scn_result {
    td_scn_verdict verdict; /* the grade */
    char level[32];         /* the requirement level the grade was judged under: "MUST",
                             * "SHOULD", "MAY", "sender-only" (a rule that binds only the
                             * sender), "SHOULD (alert choice)" (RFC 8446 §6.2: the rule
                             * names no alert), "-" (no rule: a baseline) */
    char expected[512];     /* "decrypt_error", "illegal_parameter|decode_error", "handshake", ... */
    char actual[96];        /* "alert decrypt_error", "handshake", "closed", ... */
    char sut_rule[48];      /* the SUT's rule ID ("-" if none or unknown) */
    char sut_where[96];     /* file:line of the SUT's check */
    char premise[192];      /* the case's premises and what this run showed ("" when none) */
    char sut_broke[48];     /* the rule our side aborted with when that proves the SUT sent what
                             * the RFC forbids it to send (rules.h td_rule_sender_must): the
                             * grade is then fail under that rule's sentence; "" otherwise */
    char reason[512];       /* one line */
    uint8_t digest[32];
    bool probed;            /* a baseline probe (`premise recognises`) ran during this case: its
                             * connection came after the case's own, so it is the case's last
                             * capture stream, and the digest is not of it */
    char peer_log[TD_SCN_PEER_LOG]; /* the peer's own diagnostics (td_scn_outcome.peer_log) */
    bool sut_keylog;                /* td_scn_outcome.sut_keylog of the last connection */
    /* What the peer observed of the last connection (td_scn_outcome), as words:
     * "completed", "confirmed", "end=<td_scn_end_name>", "after" (the end came after our side
     * completed), "we-closed", "sut-keylog-alert"; e.g. "completed confirmed end=close_notify
     * after we-closed". */
    char observed[96];
} td_scn_result;

typedef struct td_scn_runner td_scn_runner;

/* Returns owned (free with td_scn_runner_free). |opts| is copied; what it
 * points to is borrowed. */
td_err td_scn_runner_new(const td_scn_opts *opts, td_scn_runner **out) TD_WUR;
void td_scn_runner_free(td_scn_runner *runner);
/* Plays |c| and judges it. Returns TD_OK with the verdict in |out| (an
 * ERROR verdict says why in |out->reason|). A peer that cannot be reached
 * at all (td_scn_outcome.unreachable): TD_ERR_IO with the reason in
 * |out->reason|: the caller stops the run (no case can run). */
td_err td_scn_run_case(td_scn_runner *runner, const td_scn_case *c, td_scn_result *out) TD_WUR;

/* The configuration of side |role| of case |c| as the runner builds it
 * (header lines; certificates from the cert dir; no hooks, bugs or steps),
 * e.g. for `tlsdrill serve --scenario`. |*out| points into |*out_owner|
 * (returns owned: free() it; the certificates stay owned by |r|). */
td_err td_scn_runner_side_config(td_scn_runner *r, const td_scn_case *c, td_role role,
                                 td_config **out, void **out_owner) TD_WUR;

/* "pass", "alert-differs", "fail", "advisory", "n/a", "unsupported", "error". */
const char *td_scn_verdict_name(td_scn_verdict v);
/* Whether |v| fails a run: FAIL and ERROR always, ALERT_DIFFERS unless |lenient|. */
bool td_scn_verdict_fails(td_scn_verdict v, bool lenient);
/* "rule", "alert", "handshake", "resumed", "no-alert", "closed", "message",
 * "early-data", "early-data-rejected". */
const char *td_scn_expect_name(td_scn_expect_kind k);

#endif
