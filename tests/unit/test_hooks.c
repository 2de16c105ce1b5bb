/* tests/unit/test_hooks.c -- the hooks of the connection driver
 * (engine/conn.c), our client against our server in memory:
 *   - the outgoing-message hook (td_config.msg_hook) editing ClientHello,
 *     HelloRetryRequest, ServerHello, EncryptedExtensions, NewSessionTicket
 *     and KeyUpdate, the four PSK binder modes after an edit (with and
 *     without HelloRetryRequest), and hooks that fail;
 *   - the record hook (td_config.record_hook) flipping, dropping, splitting,
 *     extending and surrounding records (0-RTT ones too), a failing record
 *     hook, and the pair interceptor adding records;
 *   - for every abort: the rule, the alert (one the rule allows: the fuzz
 *     oracle's invariant), the status of both sides, the alert record's
 *     protection (AL-KEYS), silence afterwards, and determinism (each case
 *     runs twice and must put the same bytes on the wire). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "td_test.h"

#include "conn_internal.h"
#include "td_pair_fixture.h"

static td_crypto *g_crypto;
static pair_fx g_fx;
static td_session g_sess; /* a ticket of a full handshake, for the PSK cases */
static bool g_have_sess;

/* ---- the outgoing-message hook ---- */

typedef enum msg_act {
    MA_NONE,
    MA_ADD_EXT,        /* add |ext| (before pre_shared_key if it is last) */
    MA_REVERSE_SUITES, /* ClientHello: cipher suites in reverse order */
    MA_FAIL,           /* return |fail| */
    MA_KU_REQUEST,     /* KeyUpdate: request_update = |ext| */
    MA_REMOVE_EXT,     /* remove |ext| */
} msg_act;

typedef struct msg_edit {
    msg_act act;
    uint8_t type;             /* the message type edited */
    int nth;                  /* which message of that type (0: the first) */
    bool every;               /* edit every message of |type| (a ClientHello2 must
                               * repeat ClientHello1's changes, §4.1.2), |nth| only
                               * selects the one that gets |mode| */
    uint16_t ext;
    const uint8_t *body;
    size_t body_len;
    bool at_end;              /* MA_ADD_EXT: append even after pre_shared_key */
    td_binder_mode mode;      /* for the edited ClientHello */
    td_binder_mode other_mode; /* for the other ClientHellos */
    td_err fail;
    int seen, applied;        /* reset for every run */
} msg_edit;

static td_exts *exts_of(td_msg *m)
{
    switch (m->type) {
    case TD_MSG_CLIENT_HELLO: return &m->u.ch.exts;
    case TD_MSG_SERVER_HELLO: return &m->u.sh.exts;
    case TD_MSG_ENCRYPTED_EXTENSIONS: return &m->u.ee.exts;
    case TD_MSG_CERTIFICATE_REQUEST: return &m->u.cr.exts;
    case TD_MSG_NEW_SESSION_TICKET: return &m->u.nst.exts;
    case TD_MSG_END_OF_EARLY_DATA:
    case TD_MSG_CERTIFICATE:
    case TD_MSG_CERTIFICATE_VERIFY:
    case TD_MSG_FINISHED:
    case TD_MSG_KEY_UPDATE:
    case TD_MSG_MESSAGE_HASH:
        break;
    }
    return NULL;
}

static td_err msg_hook(void *arg, td_conn *c, td_msg *m, td_binder_mode *mode)
{
    msg_edit *e = arg;
    (void)c;
    if (m->type != e->type)
        return TD_OK;
    bool target = e->seen++ == e->nth;
    *mode = target ? e->mode : e->other_mode;
    if (!target && !e->every)
        return TD_OK;
    e->applied++;
    switch (e->act) {
    case MA_NONE:
        break;
    case MA_ADD_EXT: {
        td_exts *x = exts_of(m);
        if (x == NULL)
            return TD_ERR_ARG;
        size_t at = x->num;
        if (!e->at_end && at > 0 && x->list[at - 1].type == TD_EXT_PRE_SHARED_KEY)
            at--;
        td_cbs body;
        td_cbs_init(&body, e->body, e->body_len);
        return td_exts_insert_raw(x, at, e->ext, body);
    }
    case MA_REVERSE_SUITES: {
        td_client_hello *ch = &m->u.ch;
        for (size_t i = 0; i < ch->num_cipher_suites / 2; i++) {
            uint16_t t = ch->cipher_suites[i];
            ch->cipher_suites[i] = ch->cipher_suites[ch->num_cipher_suites - 1 - i];
            ch->cipher_suites[ch->num_cipher_suites - 1 - i] = t;
        }
        break;
    }
    case MA_FAIL:
        return e->fail;
    case MA_KU_REQUEST:
        m->u.ku.request_update = (uint8_t)e->ext;
        break;
    case MA_REMOVE_EXT: {
        td_exts *x = exts_of(m);
        int at = x != NULL ? td_exts_index(x, e->ext) : -1;
        return at >= 0 ? td_exts_remove(x, (size_t)at) : TD_ERR_ARG;
    }
    }
    return TD_OK;
}

/* ---- the record hook ---- */

typedef enum rec_act {
    RA_NONE,
    RA_FLIP,       /* flip the last byte (of the AEAD tag, when protected) */
    RA_DROP,       /* send nothing */
    RA_SPLIT,      /* one record becomes two, |extra| (a whole record) between them */
    RA_BEFORE,     /* |extra| (a whole record) goes first */
    RA_AFTER,      /* |extra| follows */
    RA_APPEND,     /* |extra| is appended to the record's fragment */
    RA_FAIL,       /* the hook fails (TD_ERR_IO): our side aborts */
} rec_act;

typedef struct rec_edit {
    rec_act act;
    uint8_t outer;            /* the outer content type of the target record */
    int nth;                  /* which record of that type (0: the first) */
    const uint8_t *extra;
    size_t extra_len;
    int seen, applied;
} rec_edit;

static bool put_header(td_cbb *out, uint8_t type, const uint8_t *version, size_t len)
{
    return td_cbb_add_u8(out, type) && td_cbb_add_bytes(out, version, 2) &&
           td_cbb_add_u16(out, (uint16_t)len);
}

static td_err record_hook(void *arg, td_conn *c, uint8_t inner, const uint8_t *rec, size_t len,
                          td_cbb *out)
{
    rec_edit *e = arg;
    (void)c, (void)inner;
    bool ok = true;
    if (rec[0] != e->outer || e->seen++ != e->nth)
        return td_cbb_add_bytes(out, rec, len) ? TD_OK : TD_ERR_NOMEM;
    e->applied++;
    const uint8_t *frag = rec + TD_REC_HEADER_LEN;
    size_t frag_len = len - TD_REC_HEADER_LEN, half = frag_len / 2;
    switch (e->act) {
    case RA_NONE:
        ok = td_cbb_add_bytes(out, rec, len);
        break;
    case RA_FLIP:
        ok = td_cbb_add_bytes(out, rec, len - 1) && td_cbb_add_u8(out, rec[len - 1] ^ 0x01);
        break;
    case RA_DROP:
        break;
    case RA_SPLIT:
        ok = put_header(out, rec[0], rec + 1, half) && td_cbb_add_bytes(out, frag, half) &&
             td_cbb_add_bytes(out, e->extra, e->extra_len) &&
             put_header(out, rec[0], rec + 1, frag_len - half) &&
             td_cbb_add_bytes(out, frag + half, frag_len - half);
        break;
    case RA_BEFORE:
        ok = td_cbb_add_bytes(out, e->extra, e->extra_len) && td_cbb_add_bytes(out, rec, len);
        break;
    case RA_AFTER:
        ok = td_cbb_add_bytes(out, rec, len) && td_cbb_add_bytes(out, e->extra, e->extra_len);
        break;
    case RA_FAIL:
        return TD_ERR_IO;
    case RA_APPEND:
        ok = put_header(out, rec[0], rec + 1, frag_len + e->extra_len) &&
             td_cbb_add_bytes(out, frag, frag_len) && td_cbb_add_bytes(out, e->extra, e->extra_len);
        break;
    }
    return ok ? TD_OK : TD_ERR_NOMEM;
}

/* ---- one case ---- */

typedef struct hook_case {
    const char *name;
    td_role hooked;           /* the side whose hooks are installed */
    bool resume;              /* the client offers g_sess */
    bool hrr;                 /* the server always sends a HelloRetryRequest */
    msg_edit m;
    rec_edit r;
    /* Outcome: connected (resumed or not), stuck, or an abort. */
    enum { OK, OK_RESUMED, STUCK, ABORT } outcome;
    abort_want want;
    /* 0-RTT (with resume): 1 offered and accepted, 2 offered and rejected. */
    int early;
    /* status.record_index of the failing side + 1 (0: not checked). */
    int rec_idx;
} hook_case;

typedef struct hooks {
    msg_edit m;
    rec_edit r;
} hooks;

static void hooks_reset(void *arg)
{
    hooks *h = arg;
    h->m.seen = h->m.applied = 0;
    h->r.seen = h->r.applied = 0;
}

static void run_case(const hook_case *hc)
{
    td_test_current = hc->name;
    td_config cc = g_fx.ccfg, sc = g_fx.scfg;
    hooks h = {hc->m, hc->r};
    td_config *hooked = hc->hooked == TD_ROLE_CLIENT ? &cc : &sc;
    if (hc->m.act != MA_NONE || hc->m.mode != TD_BINDER_RECOMPUTE) {
        hooked->msg_hook = msg_hook;
        hooked->msg_hook_arg = &h.m;
    }
    if (hc->r.act != RA_NONE) {
        hooked->record_hook = record_hook;
        hooked->record_hook_arg = &h.r;
    }
    if (hc->resume) {
        TD_REQUIRE(g_have_sess);
        cc.resume = &g_sess;
    }
    if (hc->hrr)
        sc.hrr = TD_HRR_ALWAYS;
    static const uint8_t early[] = "0-RTT";
    if (hc->early) {
        cc.early_data = early;
        cc.early_data_len = sizeof(early);
        sc.accept_early_data = hc->early == 1;
    }
    td_pair *p = fx_run_twice(&cc, &sc, NULL, NULL, hooks_reset, &h);
    TD_REQUIRE(p != NULL);
    /* The edit happened (a hook that never fires proves nothing). */
    if (hooked->msg_hook != NULL)
        TD_EXPECT_EQ(h.m.applied, hc->m.every && hc->hrr ? 2 : 1);
    if (hooked->record_hook != NULL)
        TD_EXPECT_EQ(h.r.applied, 1);
    const td_status *cs = td_conn_status(td_pair_client(p)), *ss = td_conn_status(td_pair_server(p));
    switch (hc->outcome) {
    case OK:
    case OK_RESUMED:
        show_failure("client", td_pair_client(p));
        show_failure("server", td_pair_server(p));
        TD_EXPECT_EQ(cs->phase, TD_PHASE_CONNECTED);
        TD_EXPECT_EQ(ss->phase, TD_PHASE_CONNECTED);
        TD_EXPECT_EQ(ss->resumed, hc->outcome == OK_RESUMED);
        TD_EXPECT_EQ(cs->resumed, hc->outcome == OK_RESUMED);
        TD_EXPECT_EQ(cs->hrr, hc->hrr);
        TD_EXPECT_EQ(ss->early_data_accepted, hc->early == 1);
        TD_EXPECT(!cs->alert_sent && !ss->alert_sent);
        break;
    case STUCK:
        /* Nothing moves any more: both wait, neither is connected, no alert. */
        TD_EXPECT_EQ(cs->phase, TD_PHASE_HANDSHAKE);
        TD_EXPECT_EQ(ss->phase, TD_PHASE_HANDSHAKE);
        TD_EXPECT(!cs->alert_sent && !ss->alert_sent);
        TD_EXPECT(!cs->alert_received && !ss->alert_received);
        TD_EXPECT(td_pair_rounds(p) <= 3);
        break;
    case ABORT:
        fx_expect_abort(p, &hc->want);
        if (hc->rec_idx > 0) {
            td_conn *f = hc->want.side == TD_ROLE_CLIENT ? td_pair_client(p) : td_pair_server(p);
            TD_EXPECT_EQ(td_conn_status(f)->record_index, hc->rec_idx - 1);
        }
        break;
    }
    td_pair_free(p);
}

/* Extension bodies and records the cases add. */
static const uint8_t k_unknown_body[] = {0xde, 0xad};
static const uint8_t k_heartbeat_body[] = {0x01};   /* peer_allowed_to_send */
static const uint8_t k_oid_filters_body[] = {0x00, 0x00};
static const uint8_t k_key_share_body[] = {0x00, 0x1d};
static const uint8_t k_ccs_ok[] = {20, 3, 3, 0, 1, 1};
static const uint8_t k_ccs_bad[] = {20, 3, 3, 0, 1, 2};
static const uint8_t k_ccs_empty[] = {20, 3, 3, 0, 0};
static const uint8_t k_ccs_two[] = {20, 3, 3, 0, 2, 1, 1};
static const uint8_t k_unknown_type[] = {0x63, 3, 3, 0, 1, 0};
static const uint8_t k_alert_3[] = {21, 3, 3, 0, 3, 1, 90, 0};
static const uint8_t k_alert_warn[] = {21, 3, 3, 0, 2, 1, 90};
static const uint8_t k_hs_empty[] = {22, 3, 1, 0, 0};
static const uint8_t k_alert_empty[] = {21, 3, 3, 0, 0};
static const uint8_t k_plain_appdata[] = {23, 3, 3, 0, 1, 'x'};
static const uint8_t k_partial_ee[] = {8, 0, 0, 2, 0}; /* EE header and 1 of 2 bytes */
static uint8_t k_overflow[TD_REC_HEADER_LEN + TD_REC_MAX_PLAINTEXT + 1];

#define CH TD_MSG_CLIENT_HELLO
#define SRV TD_ROLE_SERVER
#define CLI TD_ROLE_CLIENT
#define ADD(type_, ext_, body_) \
    .act = MA_ADD_EXT, .type = (type_), .ext = (ext_), .body = (body_), .body_len = sizeof(body_)
#define WANT(side_, rule_, alert_, msg_, plain_, off_) \
    .outcome = ABORT, .want = {(side_), (rule_), (alert_), (msg_), (plain_), (off_)}
#define REC(act_, outer_, extra_) \
    .r = {.act = (act_), .outer = (outer_), .extra = (extra_), .extra_len = sizeof(extra_)}

/* §4.2.11.2 binders after the hook edited the ClientHello. */
static const hook_case k_binder_cases[] = {
    {"psk-edit-recompute", CLI, true, false,
     {ADD(CH, 0x1234, k_unknown_body), .mode = TD_BINDER_RECOMPUTE}, {0}, .outcome = OK_RESUMED},
    {"psk-reorder-recompute", CLI, true, false,
     {.act = MA_REVERSE_SUITES, .type = CH, .mode = TD_BINDER_RECOMPUTE}, {0}, .outcome = OK_RESUMED},
    {"psk-edit-stale", CLI, true, false,
     {ADD(CH, 0x1234, k_unknown_body), .mode = TD_BINDER_STALE}, {0},
     WANT(SRV, "PSK-BINDER-INVALID", TD_ALERT_decrypt_error, CH, 1, -1)},
    {"psk-reorder-stale", CLI, true, false,
     {.act = MA_REVERSE_SUITES, .type = CH, .mode = TD_BINDER_STALE}, {0},
     WANT(SRV, "PSK-BINDER-INVALID", TD_ALERT_decrypt_error, CH, 1, -1)},
    {"psk-edit-corrupt", CLI, true, false,
     {ADD(CH, 0x1234, k_unknown_body), .mode = TD_BINDER_CORRUPT}, {0},
     WANT(SRV, "PSK-BINDER-INVALID", TD_ALERT_decrypt_error, CH, 1, -1)},
    {"psk-corrupt", CLI, true, false, {.type = CH, .mode = TD_BINDER_CORRUPT}, {0},
     WANT(SRV, "PSK-BINDER-INVALID", TD_ALERT_decrypt_error, CH, 1, -1)},
    {"psk-wrong-transcript", CLI, true, false, {.type = CH, .mode = TD_BINDER_WRONG_TRANSCRIPT},
     {0}, WANT(SRV, "PSK-BINDER-INVALID", TD_ALERT_decrypt_error, CH, 1, -1)},
    {"psk-edit-wrong-transcript", CLI, true, false,
     {ADD(CH, 0x1234, k_unknown_body), .mode = TD_BINDER_WRONG_TRANSCRIPT}, {0},
     WANT(SRV, "PSK-BINDER-INVALID", TD_ALERT_decrypt_error, CH, 1, -1)},
    /* Binder modes mean nothing without a PSK; a PSK the hook removed is
     * not offered: a full handshake. */
    {"no-psk-corrupt", CLI, false, false, {.type = CH, .mode = TD_BINDER_CORRUPT}, {0}, .outcome = OK},
    {"psk-removed", CLI, true, false,
     {.act = MA_REMOVE_EXT, .type = CH, .ext = TD_EXT_PRE_SHARED_KEY, .mode = TD_BINDER_CORRUPT},
     {0}, .outcome = OK},
    /* §4.2.11: pre_shared_key must stay last, whatever the binders say. */
    {"psk-ext-after-psk", CLI, true, false,
     {ADD(CH, 0x1234, k_unknown_body), .at_end = true, .mode = TD_BINDER_RECOMPUTE}, {0},
     WANT(SRV, "PSK-NOT-LAST", TD_ALERT_illegal_parameter, CH, 1, -1)},
    /* After a HelloRetryRequest: the second ClientHello's binders cover
     * message_hash(CH1) and the HRR too. */
    {"psk-hrr-edit-recompute", CLI, true, true,
     {ADD(CH, 0x1234, k_unknown_body), .nth = 1, .every = true, .mode = TD_BINDER_RECOMPUTE}, {0},
     .outcome = OK_RESUMED},
    {"psk-hrr-reorder-recompute", CLI, true, true,
     {.act = MA_REVERSE_SUITES, .type = CH, .nth = 1, .every = true, .mode = TD_BINDER_RECOMPUTE},
     {0}, .outcome = OK_RESUMED},
    /* §4.1.2: an edit of ClientHello2 alone is a change the HRR did not ask for. */
    {"psk-hrr-edit-ch2-only", CLI, true, true,
     {ADD(CH, 0x1234, k_unknown_body), .nth = 1, .mode = TD_BINDER_RECOMPUTE}, {0},
     WANT(SRV, "CH2-NOT-CONFORMANT", TD_ALERT_illegal_parameter, CH, 1, -1)},
    {"psk-hrr-wrong-transcript", CLI, true, true,
     {.type = CH, .nth = 1, .mode = TD_BINDER_WRONG_TRANSCRIPT}, {0},
     WANT(SRV, "PSK-BINDER-INVALID", TD_ALERT_decrypt_error, CH, 1, -1)},
    {"psk-hrr-edit-stale", CLI, true, true,
     {ADD(CH, 0x1234, k_unknown_body), .nth = 1, .every = true, .mode = TD_BINDER_STALE}, {0},
     WANT(SRV, "PSK-BINDER-INVALID", TD_ALERT_decrypt_error, CH, 1, -1)},
    {"psk-hrr-corrupt", CLI, true, true, {.type = CH, .nth = 1, .mode = TD_BINDER_CORRUPT}, {0},
     WANT(SRV, "PSK-BINDER-INVALID", TD_ALERT_decrypt_error, CH, 1, -1)},
};

/* The hook on other messages, and a hook that fails. */
static const hook_case k_msg_cases[] = {
    /* §4.2: a response extension the client did not offer (C32). The client
     * has handshake keys by then: its alert is protected (AL-KEYS). */
    {"ee-unsolicited", SRV, false, false,
     {ADD(TD_MSG_ENCRYPTED_EXTENSIONS, TD_EXT_HEARTBEAT, k_heartbeat_body)}, {0},
     WANT(CLI, "EXT-UNSOLICITED", TD_ALERT_unsupported_extension, TD_MSG_ENCRYPTED_EXTENSIONS, 0, -1)},
    {"ee-unknown-unsolicited", SRV, false, false,
     {ADD(TD_MSG_ENCRYPTED_EXTENSIONS, 0x1234, k_unknown_body)}, {0},
     WANT(CLI, "EXT-UNSOLICITED", TD_ALERT_unsupported_extension, TD_MSG_ENCRYPTED_EXTENSIONS, 0, -1)},
    /* §4.1.4: the HRR may only hold extensions the client offered. */
    {"hrr-unsolicited", SRV, false, true, {ADD(TD_MSG_SERVER_HELLO, 0x1234, k_unknown_body)}, {0},
     WANT(CLI, "HRR-EXT-UNSOLICITED", TD_ALERT_unsupported_extension, TD_MSG_SERVER_HELLO, 1, -1)},
    /* ... and the ServerHello after it too (§4.2: EXT-UNSOLICITED). */
    {"sh-after-hrr-unsolicited", SRV, false, true,
     {ADD(TD_MSG_SERVER_HELLO, 0x1234, k_unknown_body), .nth = 1}, {0},
     WANT(CLI, "EXT-UNSOLICITED", TD_ALERT_unsupported_extension, TD_MSG_SERVER_HELLO, 1, -1)},
    /* §4.3.1: key_share may not appear in EncryptedExtensions. */
    {"ee-forbidden", SRV, false, false,
     {ADD(TD_MSG_ENCRYPTED_EXTENSIONS, TD_EXT_KEY_SHARE, k_key_share_body)}, {0},
     WANT(CLI, "EE-FORBIDDEN-EXT", TD_ALERT_illegal_parameter, TD_MSG_ENCRYPTED_EXTENSIONS, 0, -1)},
    /* §4.2: the rule allows illegal_parameter or unsupported_extension; the
     * alert must be one of them (-1: any the rule allows). The client fails
     * on the ServerHello before it has keys: plaintext alert. */
    {"sh-wrong-message", SRV, false, false,
     {ADD(TD_MSG_SERVER_HELLO, TD_EXT_SIGNATURE_ALGORITHMS, k_oid_filters_body)}, {0},
     WANT(CLI, "EXT-WRONG-MESSAGE", -1, TD_MSG_SERVER_HELLO, 1, -1)},
    {"ch-wrong-message", CLI, false, false, {ADD(CH, TD_EXT_OID_FILTERS, k_oid_filters_body)}, {0},
     WANT(SRV, "EXT-WRONG-MESSAGE", -1, CH, 1, -1)},
    {"ch-wrong-message-psk", CLI, true, false, {ADD(CH, TD_EXT_OID_FILTERS, k_oid_filters_body)},
     {0}, WANT(SRV, "EXT-WRONG-MESSAGE", -1, CH, 1, -1)},
    /* After the handshake: the client fails on a NewSessionTicket and
     * alerts under the application keys. */
    {"nst-wrong-message", SRV, false, false,
     {ADD(TD_MSG_NEW_SESSION_TICKET, TD_EXT_KEY_SHARE, k_key_share_body)}, {0},
     WANT(CLI, "EXT-WRONG-MESSAGE", -1, TD_MSG_NEW_SESSION_TICKET, 0, -1)},
    /* An unknown extension in the ClientHello is ignored (§4.2). */
    {"ch-unknown-ext", CLI, false, false, {ADD(CH, 0x1234, k_unknown_body)}, {0}, .outcome = OK},
    /* A failing hook aborts our side with internal_error (LOCAL-INTERNAL). */
    {"client-hook-fails", CLI, false, false,
     {.act = MA_FAIL, .type = CH, .fail = TD_ERR_ARG}, {0},
     WANT(CLI, "LOCAL-INTERNAL", TD_ALERT_internal_error, 0, 1, -1)},
    {"server-hook-fails-sh", SRV, false, false,
     {.act = MA_FAIL, .type = TD_MSG_SERVER_HELLO, .fail = TD_ERR_CRYPTO}, {0},
     WANT(SRV, "LOCAL-INTERNAL", TD_ALERT_internal_error, CH, 1, -1)},
    {"server-hook-fails-cert", SRV, false, false,
     {.act = MA_FAIL, .type = TD_MSG_CERTIFICATE, .fail = TD_ERR_CRYPTO}, {0},
     WANT(SRV, "LOCAL-INTERNAL", TD_ALERT_internal_error, CH, 0, -1)},
    {"client-hook-fails-finished", CLI, false, false,
     {.act = MA_FAIL, .type = TD_MSG_FINISHED, .fail = TD_ERR_ARG}, {0},
     WANT(CLI, "LOCAL-INTERNAL", TD_ALERT_internal_error, TD_MSG_FINISHED, 0, -1)},
};

/* The record hook. */
static const hook_case k_record_cases[] = {
    /* §5.2: a flipped tag bit (C1 / S1): bad_record_mac. */
    {"rec-flip-s2c", SRV, false, false, {0}, {.act = RA_FLIP, .outer = 23},
     WANT(CLI, "REC-BAD-MAC", TD_ALERT_bad_record_mac, 0, 0, -1), .rec_idx = 2},
    {"rec-flip-c2s", CLI, false, false, {0}, {.act = RA_FLIP, .outer = 23},
     WANT(SRV, "REC-BAD-MAC", TD_ALERT_bad_record_mac, 0, 0, -1), .rec_idx = 2},
    /* §4.2.10: accepted 0-RTT that does not decrypt (ED-BAD-MAC); rejected
     * 0-RTT is skipped unread, bad or not (TOL-EARLY-DATA-REJECT). */
    {"rec-flip-0rtt-accepted", CLI, true, false, {0}, {.act = RA_FLIP, .outer = 23},
     WANT(SRV, "ED-BAD-MAC", TD_ALERT_bad_record_mac, 0, 0, -1), .early = 1},
    {"rec-flip-0rtt-rejected", CLI, true, false, {0}, {.act = RA_FLIP, .outer = 23},
     .outcome = OK_RESUMED, .early = 2},
    /* A lost flight: both wait, td_pair_run stops. */
    {"rec-drop-s2c", SRV, false, false, {0}, {.act = RA_DROP, .outer = 23}, .outcome = STUCK},
    {"rec-drop-ch", CLI, false, false, {0}, {.act = RA_DROP, .outer = 22}, .outcome = STUCK},
    /* §5.1: one message over two records is legal (TOL-HS-FRAGMENTATION). */
    {"rec-split-ch", CLI, false, false, {0}, {.act = RA_SPLIT, .outer = 22}, .outcome = OK},
    {"rec-split-sh", SRV, false, false, {0}, {.act = RA_SPLIT, .outer = 22}, .outcome = OK},
    {"rec-split-ch-psk", CLI, true, false, {0}, {.act = RA_SPLIT, .outer = 22},
     .outcome = OK_RESUMED},
    /* §5: a change_cipher_spec other than 0x01. */
    {"rec-ccs-bad-value", CLI, false, false, {0}, REC(RA_AFTER, 22, k_ccs_bad),
     WANT(SRV, "REC-CCS-BAD-VALUE", TD_ALERT_unexpected_message, 0, 0, TD_REC_HEADER_LEN),
     .rec_idx = 2},
    /* §5: a CCS before the first ClientHello. */
    {"rec-ccs-before-ch", CLI, false, false, {0}, REC(RA_BEFORE, 22, k_ccs_ok),
     WANT(SRV, "REC-CCS-OUT-OF-WINDOW", TD_ALERT_unexpected_message, 0, 1, -1), .rec_idx = 1},
    {"rec-ccs-empty", CLI, false, false, {0}, REC(RA_AFTER, 22, k_ccs_empty),
     WANT(SRV, "REC-CCS-BAD-VALUE", TD_ALERT_unexpected_message, 0, 0, -1)},
    {"rec-ccs-two-bytes", SRV, false, false, {0}, REC(RA_AFTER, 22, k_ccs_two),
     WANT(CLI, "REC-CCS-BAD-VALUE", TD_ALERT_unexpected_message, 0, 0, TD_REC_HEADER_LEN)},
    /* §5: an unknown record type (found from the header). */
    {"rec-unknown-type", CLI, false, false, {0}, REC(RA_BEFORE, 22, k_unknown_type),
     WANT(SRV, "REC-UNKNOWN-TYPE", TD_ALERT_unexpected_message, 0, 1, -1), .rec_idx = 1},
    /* TOL-CCS: one after the ClientHello is dropped, also before the ServerHello. */
    {"rec-ccs-before-sh", SRV, false, false, {0}, REC(RA_BEFORE, 22, k_ccs_ok), .outcome = OK},
    {"rec-ccs-after-ch", CLI, false, false, {0}, REC(RA_AFTER, 22, k_ccs_ok), .outcome = OK},
    {"rec-ccs-after-sh", SRV, false, false, {0}, REC(RA_AFTER, 22, k_ccs_ok), .outcome = OK},
    /* §5.1, §6: an alert record holds one two-byte alert. */
    {"rec-alert-3-bytes", CLI, false, false, {0}, REC(RA_BEFORE, 22, k_alert_3),
     WANT(SRV, "AL-ONE-PER-RECORD", -1, 0, 1, -1)},
    /* §5.1: nothing between the fragments of one handshake message. */
    {"rec-interleave-ccs", CLI, false, false, {0}, REC(RA_SPLIT, 22, k_ccs_ok),
     WANT(SRV, "REC-HS-INTERLEAVED", TD_ALERT_unexpected_message, 0, 1, -1), .rec_idx = 2},
    {"rec-interleave-alert", CLI, false, false, {0}, REC(RA_SPLIT, 22, k_alert_warn),
     WANT(SRV, "REC-HS-INTERLEAVED", TD_ALERT_unexpected_message, 0, 1, -1)},
    {"rec-interleave-sh", SRV, false, false, {0}, REC(RA_SPLIT, 22, k_ccs_ok),
     WANT(CLI, "REC-HS-INTERLEAVED", TD_ALERT_unexpected_message, 0, 1, -1)},
    /* §5.1: the ServerHello record carries the start of another message:
     * the key change is not on a record boundary. */
    {"rec-sh-extra-bytes", SRV, false, false, {0}, REC(RA_APPEND, 22, k_partial_ee),
     WANT(CLI, "REC-KEY-CHANGE-ALIGN", TD_ALERT_unexpected_message, TD_MSG_SERVER_HELLO, 1, -1)},
    /* The server has sent its ServerHello and switched to its handshake
     * keys when it installs the client's: its alert is protected. */
    {"rec-ch-extra-bytes", CLI, false, false, {0}, REC(RA_APPEND, 22, k_partial_ee),
     WANT(SRV, "REC-KEY-CHANGE-ALIGN", TD_ALERT_unexpected_message, CH, 0, -1)},
    /* A failing record hook aborts our side with internal_error; the alert
     * still reaches the peer (under the keys and sequence number it expects). */
    {"rec-hook-fails-ch", CLI, false, false, {0}, {.act = RA_FAIL, .outer = 22},
     WANT(CLI, "LOCAL-INTERNAL", TD_ALERT_internal_error, 0, 1, -1)},
    {"rec-hook-fails-client-finished", CLI, false, false, {0}, {.act = RA_FAIL, .outer = 23},
     WANT(CLI, "LOCAL-INTERNAL", TD_ALERT_internal_error, TD_MSG_FINISHED, 0, -1)},
    {"rec-hook-fails-server-flight", SRV, false, false, {0}, {.act = RA_FAIL, .outer = 23},
     WANT(SRV, "LOCAL-INTERNAL", TD_ALERT_internal_error, CH, 0, -1)},
    /* §5.1: no zero-length handshake fragments. */
    {"rec-hs-zero-length", CLI, false, false, {0}, REC(RA_BEFORE, 22, k_hs_empty),
     WANT(SRV, "REC-ZERO-LENGTH-FRAGMENT", TD_ALERT_unexpected_message, 0, 1, -1)},
    {"rec-alert-empty", CLI, false, false, {0}, REC(RA_BEFORE, 22, k_alert_empty),
     WANT(SRV, "AL-ONE-PER-RECORD", -1, 0, 1, -1)},
    /* §5.1, §6.2: application data before any keys. */
    {"rec-plaintext-appdata", CLI, false, false, {0}, REC(RA_BEFORE, 22, k_plain_appdata),
     WANT(SRV, "REC-UNPROTECTED-APPDATA", TD_ALERT_unexpected_message, 0, 1, -1)},
    /* §5.1: a TLSPlaintext of 2^14 + 1 bytes (the length field is at offset 3). */
    {"rec-plaintext-overflow", CLI, false, false, {0}, REC(RA_BEFORE, 22, k_overflow),
     WANT(SRV, "REC-PLAINTEXT-OVERFLOW", TD_ALERT_record_overflow, 0, 1, 3), .rec_idx = 1},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_binder_modes(void)
{
    for (size_t i = 0; i < N(k_binder_cases); i++)
        run_case(&k_binder_cases[i]);
}

static void test_msg_hook(void)
{
    for (size_t i = 0; i < N(k_msg_cases); i++)
        run_case(&k_msg_cases[i]);
}

static void test_record_hook(void)
{
    for (size_t i = 0; i < N(k_record_cases); i++)
        run_case(&k_record_cases[i]);
}

/* The edited ClientHello is what the server saw (the extension reached it,
 * before pre_shared_key) and what both transcripts hold. */
static void test_edit_reaches_peer(void)
{
    td_config cc = g_fx.ccfg, sc = g_fx.scfg;
    hooks h = {{ADD(CH, 0x1234, k_unknown_body), .mode = TD_BINDER_RECOMPUTE}, {0}};
    TD_REQUIRE(g_have_sess);
    cc.resume = &g_sess;
    cc.msg_hook = msg_hook;
    cc.msg_hook_arg = &h.m;
    td_pair *p = fx_run_twice(&cc, &sc, NULL, NULL, hooks_reset, &h);
    TD_REQUIRE(p != NULL);
    TD_EXPECT(td_conn_status(td_pair_server(p))->resumed);
    size_t n;
    const td_pair_record *r = td_pair_records(p, &n);
    TD_REQUIRE(n > 0 && r[0].dir == TD_DIR_C2S);
    td_msg ch;
    td_msg_ctx ctx = {.hash_len = 32, .sh_mode = TD_SH_AUTO};
    TD_REQUIRE(td_msg_parse_handshake(r[0].bytes + TD_REC_HEADER_LEN, r[0].len - TD_REC_HEADER_LEN,
                                      &ctx, &ch, NULL) == TD_OK);
    const td_exts *x = &ch.u.ch.exts;
    TD_EXPECT_EQ(td_exts_index(x, 0x1234), (int)x->num - 2);
    TD_EXPECT_EQ(x->list[x->num - 1].type, TD_EXT_PRE_SHARED_KEY);
    td_pair_free(p);
}

/* ---- the pair interceptor ---- */

/* Appends |extra| to the first flight of |dir| sent once |who| is connected. */
typedef struct icpt_add {
    td_pair *pair;
    td_dir dir;
    const uint8_t *extra;
    size_t extra_len;
    bool done;
} icpt_add;

static td_err append_when_connected(void *arg, td_dir dir, const uint8_t *bytes, size_t len,
                                    td_cbb *out)
{
    icpt_add *a = arg;
    bool ok = td_cbb_add_bytes(out, bytes, len);
    td_conn *from = dir == TD_DIR_C2S ? td_pair_client(a->pair) : td_pair_server(a->pair);
    if (dir == a->dir && !a->done && td_conn_status(from)->phase == TD_PHASE_CONNECTED) {
        a->done = true;
        ok = ok && td_cbb_add_bytes(out, a->extra, a->extra_len);
    }
    return ok ? TD_OK : TD_ERR_NOMEM;
}

/* §5: a CCS after the peer's Finished is outside the window (both roles). */
static void run_ccs_after_finished(td_dir dir, const abort_want *w)
{
    td_pair *p[2] = {NULL, NULL};
    for (int run = 0; run < 2; run++) {
        icpt_add a = {NULL, dir, k_ccs_ok, sizeof(k_ccs_ok), false};
        TD_REQUIRE(td_pair_new(&g_fx.ccfg, &g_fx.scfg, &p[run]) == TD_OK);
        a.pair = p[run];
        td_pair_set_intercept(p[run], append_when_connected, &a);
        TD_EXPECT(td_pair_run(p[run], 0) == TD_OK);
        TD_EXPECT(a.done);
        td_pair_set_intercept(p[run], NULL, NULL);
    }
    for (int d = 0; d < 2; d++) {
        size_t n0, n1;
        const uint8_t *s0 = td_pair_stream(p[0], (td_dir)d, &n0);
        const uint8_t *s1 = td_pair_stream(p[1], (td_dir)d, &n1);
        TD_EXPECT_MEM(s0, n0, s1, n1);
    }
    fx_expect_abort(p[1], w);
    td_pair_free(p[0]);
    td_pair_free(p[1]);
}

static void test_ccs_after_finished(void)
{
    /* The client's CCS rides with its Finished: the server has just
     * accepted that Finished; its alert goes under its application keys. */
    td_test_current = "ccs-after-client-finished";
    run_ccs_after_finished(TD_DIR_C2S, &(abort_want){SRV, "REC-CCS-OUT-OF-WINDOW",
                                                     TD_ALERT_unexpected_message, 0, 0, -1});
    /* The server's rides with its NewSessionTicket. */
    td_test_current = "ccs-after-server-finished";
    run_ccs_after_finished(TD_DIR_S2C, &(abort_want){CLI, "REC-CCS-OUT-OF-WINDOW",
                                                     TD_ALERT_unexpected_message, 0, 0, -1});
}

/* ---- after the handshake: the hook on KeyUpdate ---- */

static void run_ku_hook(const char *name, td_role hooked, msg_act act, uint16_t value,
                        const abort_want *w)
{
    td_test_current = name;
    td_config cc = g_fx.ccfg, sc = g_fx.scfg;
    hooks h = {{.act = act, .type = TD_MSG_KEY_UPDATE, .ext = value, .fail = TD_ERR_ARG}, {0}};
    td_config *hc = hooked == CLI ? &cc : &sc;
    hc->msg_hook = msg_hook;
    hc->msg_hook_arg = &h.m;
    td_pair *p = fx_run_twice(&cc, &sc, NULL, NULL, hooks_reset, &h);
    TD_REQUIRE(p != NULL);
    td_conn *from = hooked == CLI ? td_pair_client(p) : td_pair_server(p);
    TD_EXPECT_EQ(td_conn_status(from)->phase, TD_PHASE_CONNECTED);
    TD_EXPECT(td_conn_key_update(from, false) == TD_OK);
    TD_EXPECT(td_pair_step(p, NULL) == TD_OK);
    TD_EXPECT(td_pair_step(p, NULL) == TD_OK);
    TD_EXPECT_EQ(h.m.applied, 1);
    fx_expect_abort(p, w);
    td_pair_free(p);
}

static void test_key_update_hook(void)
{
    /* §4.6.3: request_update other than 0 or 1: illegal_parameter. */
    run_ku_hook("ku-bad-request-s2c", SRV, MA_KU_REQUEST, 2,
                &(abort_want){CLI, "KU-BAD-REQUEST", TD_ALERT_illegal_parameter, TD_MSG_KEY_UPDATE, 0, -1});
    run_ku_hook("ku-bad-request-c2s", CLI, MA_KU_REQUEST, 0xff,
                &(abort_want){SRV, "KU-BAD-REQUEST", TD_ALERT_illegal_parameter, TD_MSG_KEY_UPDATE, 0, -1});
    /* A hook failing on our KeyUpdate: internal_error, under the old keys. */
    run_ku_hook("ku-hook-fails", CLI, MA_FAIL, 0,
                &(abort_want){CLI, "LOCAL-INTERNAL", TD_ALERT_internal_error, -1, 0, -1});
}

/* ---- 0-RTT: the client's alert before it knows the server's answer ---- */

static void test_early_data_alert(void)
{
    static const uint8_t early[] = "0-RTT request";
    for (int accept = 1; accept >= 0; accept--) {
        td_test_current = accept ? "0rtt-accepted-ee-unsolicited" : "0rtt-rejected-ee-unsolicited";
        td_config cc = g_fx.ccfg, sc = g_fx.scfg;
        hooks h = {{ADD(TD_MSG_ENCRYPTED_EXTENSIONS, TD_EXT_HEARTBEAT, k_heartbeat_body)}, {0}};
        TD_REQUIRE(g_have_sess && g_sess.max_early_data > 0);
        cc.resume = &g_sess;
        cc.early_data = early;
        cc.early_data_len = sizeof(early);
        sc.accept_early_data = accept;
        sc.msg_hook = msg_hook;
        sc.msg_hook_arg = &h.m;
        td_pair *p = fx_run_twice(&cc, &sc, NULL, NULL, hooks_reset, &h);
        fx_expect_abort(p, &(abort_want){CLI, "EXT-UNSOLICITED", TD_ALERT_unsupported_extension,
                                         TD_MSG_ENCRYPTED_EXTENSIONS, 0, -1});
        td_pair_free(p);
    }
}

/* ---- setup ---- */

static bool get_session(void)
{
    td_pair *p = NULL;
    bool ok = td_pair_new(&g_fx.ccfg, &g_fx.scfg, &p) == TD_OK && td_pair_run(p, 0) == TD_OK &&
              td_conn_session(td_pair_client(p), &g_sess);
    td_pair_free(p);
    return ok;
}

int main(void)
{
    if (td_crypto_new(&g_crypto) != TD_OK || !fx_init(&g_fx, g_crypto))
        return 1;
    memset(k_overflow, 0, sizeof(k_overflow));
    k_overflow[0] = 22, k_overflow[1] = 3, k_overflow[2] = 3;
    k_overflow[3] = (TD_REC_MAX_PLAINTEXT + 1) >> 8, k_overflow[4] = (TD_REC_MAX_PLAINTEXT + 1) & 0xff;
    g_have_sess = get_session();
    TD_RUN(test_binder_modes);
    TD_RUN(test_edit_reaches_peer);
    TD_RUN(test_msg_hook);
    TD_RUN(test_record_hook);
    TD_RUN(test_ccs_after_finished);
    TD_RUN(test_early_data_alert);
    TD_RUN(test_key_update_hook);
    printf("test_hooks: %d aborts checked against their rule's alerts\n", td_fx_aborts_checked);
    fx_cleanup(&g_fx);
    td_crypto_free(g_crypto);
    return td_test_report("test_hooks");
}
